package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		broken bool
		want   int
	}{
		{"healthy", false, http.StatusOK},
		{"broken release", true, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := get(t, New(Options{Broken: tt.broken}), "/healthz")
			if code != tt.want {
				t.Fatalf("GET /healthz = %d, want %d", code, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	h := New(Options{Info: Info{Version: "v1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}})
	if code, body := get(t, h, "/version"); code != http.StatusOK || strings.TrimSpace(body) != "v1.2.3" {
		t.Fatalf("GET /version = %d %q, want 200 v1.2.3", code, body)
	}
	_, body := get(t, h, "/version?format=json")
	var info Info
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatalf("decode /version json: %v", err)
	}
	if info.Commit != "abc1234" {
		t.Fatalf("commit = %q, want abc1234", info.Commit)
	}
}

func TestUnknownPath(t *testing.T) {
	if code, _ := get(t, New(Options{}), "/nope"); code != http.StatusNotFound {
		t.Fatalf("GET /nope = %d, want 404", code)
	}
}

func TestHealthzFailsAfterFailAfter(t *testing.T) {
	h := New(Options{FailAfter: 50 * time.Millisecond})
	// The clock starts at the first healthy answer, not at New.
	time.Sleep(60 * time.Millisecond)
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz before FailAfter = %d, want 200", code)
	}
	time.Sleep(60 * time.Millisecond)
	if code, _ := get(t, h, "/healthz"); code != http.StatusInternalServerError {
		t.Fatalf("GET /healthz after FailAfter = %d, want 500", code)
	}
}

func TestSlow(t *testing.T) {
	h := New(Options{Info: Info{Version: "v9"}})
	start := time.Now()
	if code, body := get(t, h, "/slow?d=50ms"); code != http.StatusOK || strings.TrimSpace(body) != "v9" {
		t.Fatalf("GET /slow?d=50ms = %d %q, want 200 v9", code, body)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("GET /slow?d=50ms answered after %s", took)
	}
	for _, d := range []string{"", "soon", "-1s", "31s"} {
		if code, _ := get(t, h, "/slow?d="+d); code != http.StatusBadRequest {
			t.Errorf("GET /slow?d=%s = %d, want 400", d, code)
		}
	}
}
