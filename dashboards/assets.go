package dashboards

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// assetFiles are the files the pages load: echarts (vendored, Apache-2.0, with its
// licence files), our stylesheet and the small script that draws charts from their JSON
// options. They are embedded so that the binary serves everything a page needs: hospital
// networks often block CDNs, and no page may make a request that leaves the server.
//
//go:embed assets/dashboards.css assets/dashboards.js assets/echarts/echarts.min.js assets/echarts/LICENSE assets/echarts/LICENSE-d3 assets/echarts/NOTICE assets/echarts/SOURCE.md
var assetFiles embed.FS

// assetsVersion is a digest of every embedded asset. Asset URLs carry it
// (static/<version>/…), so they can be cached for a year: a new build with changed
// assets has new URLs.
var assetsVersion = digestAssets()

// Asset URLs, relative to the pages (every page lives one level below the mount prefix),
// so they work under any prefix and behind any proxy without knowing the host.
var (
	staticBase        = "static/" + assetsVersion + "/"
	echartsAssetsHost = staticBase + "echarts/"
	appScript         = staticBase + "dashboards.js"
	appStyle          = staticBase + "dashboards.css"
)

func digestAssets() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(assetFiles, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, err := assetFiles.ReadFile(n)
		if err != nil {
			panic(err) // an embedded file that cannot be read is a build defect
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// contentTypes of the files we serve; anything else is not served.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".md":  "text/plain; charset=utf-8",
	"":     "text/plain; charset=utf-8", // LICENSE, NOTICE
}

// gzipped holds compressed copies of the larger assets, made once on first request
// (echarts.min.js shrinks from about 1 MB to about 330 KB).
var gzipped sync.Map // name -> []byte

const gzipMinSize = 1024

// staticHandler serves the embedded assets at static/<version>/<file>, relative to the
// mount prefix it is given. Unknown versions and files are 404: an asset URL names one
// immutable file, which is what makes the year-long cache safe.
func staticHandler(prefix string) http.Handler {
	base := strings.TrimSuffix(prefix, "/") + "/static/" + assetsVersion + "/"
	modTime := time.Unix(0, 0)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rel, ok := strings.CutPrefix(r.URL.Path, base)
		if !ok || rel == "" || strings.Contains(rel, "..") {
			http.NotFound(w, r)
			return
		}
		name := path.Join("assets", path.Clean("/" + rel)[1:])
		ctype, known := contentTypes[path.Ext(name)]
		data, err := assetFiles.ReadFile(name)
		if !known || err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Add("Vary", "Accept-Encoding")
		if len(data) >= gzipMinSize && acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			http.ServeContent(w, r, "", modTime, bytes.NewReader(gzipOf(name, data)))
			return
		}
		http.ServeContent(w, r, "", modTime, bytes.NewReader(data))
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func gzipOf(name string, data []byte) []byte {
	if v, ok := gzipped.Load(name); ok {
		return v.([]byte)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	v, _ := gzipped.LoadOrStore(name, buf.Bytes())
	return v.([]byte)
}
