package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
)

// uploadFormats maps the media types a bulk upload may declare to a format ("" means
// "tell from the name and content").
var uploadFormats = map[string]ingest.Format{
	"application/json":         "",
	"application/x-ndjson":     ingest.FormatNDJSON,
	"application/ndjson":       ingest.FormatNDJSON,
	"application/jsonl":        ingest.FormatNDJSON,
	"application/x-jsonlines":  ingest.FormatNDJSON,
	"text/csv":                 ingest.FormatCSV,
	"application/csv":          ingest.FormatCSV,
	"application/octet-stream": "",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ingest.FormatXLSX,
}

// upload is a bulk file as received.
type upload struct {
	name   string
	format ingest.Format
	data   []byte
}

// readUpload takes the file from a multipart form (part "file") or the raw body.
func (s *Server) readUpload(c *gin.Context) (upload, error) {
	limit := s.cfg.MaxUploadBytes
	mt := mediaType(c.Request)
	if mt == "multipart/form-data" {
		return s.readMultipart(c, limit)
	}
	format, ok := uploadFormats[mt]
	if !ok {
		return upload{}, model.Errorf(model.KindUnsupportedMedia,
			"a bulk upload is multipart/form-data (part \"file\"), application/json, application/x-ndjson, text/csv, an XLSX workbook or application/octet-stream; not %q", truncate(c.Request.Header.Get("Content-Type")))
	}
	data, err := readBody(c, limit)
	if err != nil {
		return upload{}, err
	}
	return upload{name: uploadName(c.Query("filename")), format: format, data: data}, nil
}

func (s *Server) readMultipart(c *gin.Context, limit int64) (upload, error) {
	// The form's own overhead (boundaries, headers) gets a little room above the limit.
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+64<<10)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return upload{}, model.Invalid("the multipart form cannot be read", model.FieldError{Field: "body", Rule: "invalid_multipart", Message: truncate(err.Error())})
	}
	for {
		part, err := mr.NextPart()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return upload{}, tooLarge(limit)
		case errors.Is(err, io.EOF):
			return upload{}, model.Invalid("the form has no file", model.FieldError{Field: "file", Rule: "required",
				Message: "send the submissions file as the form part named \"file\""})
		case err != nil:
			return upload{}, model.Invalid("the multipart form cannot be read", model.FieldError{Field: "body", Rule: "invalid_multipart", Message: truncate(err.Error())})
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		part.Close()
		if errors.As(err, &mbe) || int64(len(data)) > limit {
			return upload{}, tooLarge(limit)
		}
		if err != nil {
			return upload{}, model.Invalid("the multipart form cannot be read", model.FieldError{Field: "file", Rule: "invalid_multipart", Message: truncate(err.Error())})
		}
		name := uploadName(part.FileName())
		var format ingest.Format
		if pmt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type")); err == nil {
			format = uploadFormats[strings.ToLower(pmt)]
		}
		return upload{name: name, format: format, data: data}, nil
	}
}

// uploadName is the name an upload is reported and audited under: the last element of
// what the client called it, as valid UTF-8 (the audit log cannot store anything else,
// and a record that fails to store is only logged) and short, extension kept for
// sniffing (the report names the file in every problem; a 1 MiB name must not come back
// in the answer).
func uploadName(raw string) string {
	name := path.Base(strings.ReplaceAll(strings.ToValidUTF8(raw, "\uFFFD"), `\`, "/"))
	if name == "." || name == "/" || name == "" {
		return "upload"
	}
	if ext := path.Ext(name); len(name) > 80 && len(ext) <= 8 {
		return truncate(strings.TrimSuffix(name, ext)) + ext
	}
	return truncate(name)
}

// otherOrgIn looks through an upload for an organisation other than org and returns
// where it is ("row 3", "line 2"), or "" if there is none. It reads the text formats
// leniently and skips what it cannot read: ingest reports those problems, and the
// orgGuard still refuses any valid submission of another organisation (the only
// guarantee for XLSX, which is not scanned here).
func otherOrgIn(format ingest.Format, data []byte, org string) string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	docOrg := func(doc []byte) (string, bool) {
		var probe struct {
			Organisation struct {
				ID json.RawMessage `json:"id"`
			} `json:"organisation"`
		}
		if json.Unmarshal(doc, &probe) != nil || len(probe.Organisation.ID) == 0 {
			return "", false
		}
		var id string
		if json.Unmarshal(probe.Organisation.ID, &id) != nil {
			return string(probe.Organisation.ID), true // not a string, and so not ours
		}
		return id, true
	}
	switch format {
	case ingest.FormatJSON:
		if id, ok := docOrg(data); ok && id != org {
			return "the document"
		}
	case ingest.FormatNDJSON:
		for i, line := range bytes.Split(data, []byte("\n")) {
			if id, ok := docOrg(bytes.TrimSpace(line)); ok && id != org {
				return fmt.Sprintf("line %d", i+1)
			}
		}
	case ingest.FormatCSV, ingest.FormatCSVWide, ingest.FormatCSVLong:
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		r.ReuseRecord = true
		header, err := r.Read()
		if err != nil {
			return ""
		}
		col := -1
		for i, h := range header {
			if strings.TrimSpace(h) == model.ColOrgID {
				col = i
			}
		}
		if col < 0 {
			return ""
		}
		for row := 2; ; row++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return ""
			}
			if err != nil {
				continue
			}
			if col < len(rec) {
				if id := strings.TrimSpace(rec[col]); id != "" && id != org {
					return fmt.Sprintf("row %d", row)
				}
			}
		}
	}
	return ""
}
