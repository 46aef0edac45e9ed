package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/model"
)

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestHealthAndModel(t *testing.T) {
	base := startServer(t, api.Config{}, api.Deps{Models: model.MustBuiltin()})

	status, hdr, body := get(t, base+"/healthz")
	if status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("/healthz = %d %s", status, body)
	}
	if hdr.Get("X-Request-ID") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("missing request ID or security headers: %v", hdr)
	}

	status, _, body = get(t, base+"/api/v1/model")
	if status != http.StatusOK {
		t.Fatalf("/api/v1/model = %d", status)
	}
	var m struct {
		Version  string `json:"version"`
		Postures []struct {
			Level int    `json:"level"`
			Name  string `json:"name"`
		} `json:"postures"`
		Domains []struct {
			ID           string `json:"id"`
			Capabilities []struct {
				ID     string         `json:"id"`
				Levels map[int]string `json:"levels"`
				Gate   bool           `json:"gate"`
			} `json:"capabilities"`
		} `json:"domains"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != "1.0" || len(m.Domains) != 8 || m.Postures[1].Name != "Structured but Static" {
		t.Fatalf("model = %+v", m)
	}
	if len(m.Domains[0].Capabilities[0].Levels) != 5 {
		t.Errorf("level descriptions missing: %+v", m.Domains[0].Capabilities[0])
	}
}

func TestErrorsAreJSON(t *testing.T) {
	base := startServer(t, api.Config{}, api.Deps{Models: model.MustBuiltin()})
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/models/9.9", http.StatusNotFound, "not_found"},
		{"/api/v1/nothing-here", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		status, hdr, body := get(t, base+tt.path)
		if status != tt.status {
			t.Errorf("%s = %d, want %d", tt.path, status, tt.status)
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s content type %q", tt.path, hdr.Get("Content-Type"))
		}
		var eb api.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.code || eb.Error.Message == "" || eb.Error.Details == nil {
			t.Errorf("%s body %s (%v)", tt.path, body, err)
		}
	}
	resp, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", resp.StatusCode)
	}
}

func TestStatusTable(t *testing.T) {
	tests := []struct {
		kind model.Kind
		want int
	}{
		{model.KindInvalid, 400}, {model.KindUnauthorized, 401}, {model.KindForbidden, 403},
		{model.KindNotFound, 404}, {model.KindConflict, 409}, {model.KindTooLarge, 413},
		{model.KindUnsupportedMedia, 415}, {model.KindBudgetExceeded, 422}, {model.KindRateLimited, 429},
		{model.KindInternal, 500},
	}
	for _, tt := range tests {
		if got := api.StatusOf(&model.Error{Kind: tt.kind}); got != tt.want {
			t.Errorf("%v -> %d, want %d", tt.kind, got, tt.want)
		}
	}
	if got := api.StatusOf(io.EOF); got != 500 {
		t.Errorf("plain error -> %d", got)
	}
}
