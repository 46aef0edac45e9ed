package dashboards

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-echarts/go-echarts/v2/charts"
)

// The vendored echarts is exactly the npm release SOURCE.md names, and the version
// go-echarts v2.6.7 is built for.
func TestEchartsAssetIsTheVendoredRelease(t *testing.T) {
	js, err := assetFiles.ReadFile("assets/echarts/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	src, err := assetFiles.ReadFile("assets/echarts/SOURCE.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), hex.EncodeToString(sum[:])) {
		t.Fatalf("echarts.min.js digest %x is not the one SOURCE.md records", sum)
	}
	if !bytes.Contains(js, []byte(`version="5.4.3"`)) && !bytes.Contains(js, []byte(`"5.4.3"`)) {
		t.Fatal("echarts.min.js is not 5.4.3")
	}
	for _, f := range []string{"assets/echarts/LICENSE", "assets/echarts/NOTICE", "assets/echarts/LICENSE-d3"} {
		if _, err := assetFiles.ReadFile(f); err != nil {
			t.Errorf("licence file %s not embedded: %v", f, err)
		}
	}
}

func TestStaticAssetsServedWithLongCache(t *testing.T) {
	e := newTestPages(t, defaultName)
	base := "/dashboards/" + staticBase
	for file, ctype := range map[string]string{
		"echarts/echarts.min.js": "text/javascript; charset=utf-8",
		"dashboards.js":          "text/javascript; charset=utf-8",
		"dashboards.css":         "text/css; charset=utf-8",
		"echarts/LICENSE":        "text/plain; charset=utf-8",
	} {
		rec := e.get(t, nil, base+file)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", file, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q", file, got)
		}
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", file, got)
		}
	}
	// Compressed when the browser accepts it, and the same bytes once inflated.
	req := httptest.NewRequest(http.MethodGet, base+"echarts/echarts.min.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatal("echarts not served compressed")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := assetFiles.ReadFile("assets/echarts/echarts.min.js")
	if !bytes.Equal(plain, want) {
		t.Fatal("compressed echarts differs from the embedded file")
	}
	// Nothing else is served: other versions, directories, traversal, other methods.
	for _, p := range []string{
		"/dashboards/static/000000000000/dashboards.js",
		base, base + "echarts/", base + "../../../go.mod", base + "echarts/../dashboards.js/../../x",
		base + "nothing.js", base + "echarts/SOURCE.mdx",
	} {
		if rec := e.get(t, nil, p); rec.Code == http.StatusOK {
			t.Errorf("%s served", p)
		}
	}
	post := httptest.NewRecorder()
	e.handler.ServeHTTP(post, httptest.NewRequest(http.MethodPost, base+"dashboards.js", nil))
	if post.Code == http.StatusOK {
		t.Error("POST to an asset succeeded")
	}
}

// Every chart asks go-echarts for echarts under our relative assets host, and the page
// loads exactly that.
func TestChartsUseTheEmbeddedAssetsHost(t *testing.T) {
	b := charts.NewBar()
	b.SetGlobalOptions(initOpts("chart-test"))
	b.Validate()
	got := b.GetAssets().JSAssets.Values
	if len(got) != 1 || got[0] != staticBase+"echarts/echarts.min.js" || strings.HasPrefix(got[0], "/") || strings.Contains(got[0], "//") {
		t.Fatalf("go-echarts assets %v", got)
	}
	e := newTestPages(t, defaultName)
	body := e.get(t, researcher(), "/dashboards/findings").Body.String()
	if !strings.Contains(body, `<script src="`+staticBase+`echarts/echarts.min.js" defer></script>`) {
		t.Fatal("the page does not load the embedded echarts")
	}
	if rec := e.get(t, nil, "/dashboards/"+staticBase+"echarts/echarts.min.js"); rec.Code != http.StatusOK {
		t.Fatal("the echarts URL the page names is not served")
	}
}
