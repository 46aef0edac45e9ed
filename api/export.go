package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/warehouse"
)

// ReleaseExporter writes analyst exports of stored releases: only the stored release
// values, never row-level data or exact counts.
type ReleaseExporter interface {
	ExportRelease(ctx context.Context, id string, format warehouse.ExportFormat, w io.Writer) (warehouse.ExportMeta, error)
}

// exportRelease serves a published release's values as a file (CSV, Parquet, Arrow IPC
// stream or XLSX) for analysts and admins. The file is built in memory first (a release
// is a few megabytes at most) so that a failure is still a proper error answer, then sent
// with its length. Parquet, Arrow and XLSX embed the metadata; for every format the
// X-Release-SHA256 header names the stored release the values derive from, and the Link
// header points at that release (GET /releases/{id}), which carries every parameter.
func (s *Server) exportRelease(c *gin.Context) {
	f, err := warehouse.ParseExportFormat(c.DefaultQuery("format", string(warehouse.ExportCSV)))
	if err != nil {
		writeError(c, err)
		return
	}
	var buf bytes.Buffer
	meta, err := s.wh.ExportRelease(c.Request.Context(), c.Param("id"), f, &buf)
	if err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "release.export", "release/"+meta.ReleaseID, fmt.Sprintf("format %s, %d rows", f, meta.Rows))
	h := c.Writer.Header()
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, exportFilename(meta.ReleaseID, f)))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Release-SHA256", meta.BodySHA256)
	h.Set("Link", fmt.Sprintf(`</api/v1/releases/%s>; rel="describedby"`, exportFilenamePart(meta.ReleaseID)))
	c.Data(http.StatusOK, f.ContentType(), buf.Bytes())
}

// exportFilename names an export after its release. The ID is one the warehouse knows,
// but it is still reduced to [A-Za-z0-9._-] (no separators, no leading dot) so that a
// header or a saved file can never be steered elsewhere.
func exportFilename(id string, f warehouse.ExportFormat) string {
	return "hcztmm-release-" + exportFilenamePart(id) + "." + f.Ext()
}

func exportFilenamePart(id string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r == '.':
			return '.'
		}
		return '_'
	}, id)
	s = strings.ReplaceAll(s, "..", "__")
	s = strings.TrimLeft(s, ".")
	if s == "" {
		s = "release"
	}
	return s
}
