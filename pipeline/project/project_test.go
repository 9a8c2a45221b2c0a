package project

import (
	"strings"
	"testing"
)

func TestGoVersion(t *testing.T) {
	tests := []struct {
		gomod string
		want  string
		err   string
	}{
		{"module x\n\ngo 1.26\n", "1.26", ""},
		{"module x\n\ngo 1.25.3\n\ntoolchain go1.26.8\n", "1.26.8", ""},
		{"module x\n\ngo 1.22.0\n", "1.22.0", ""},
		{"module x\n", "", "no go line"},
		{"module x\ngo = 1\n", "", "go.mod"},
	}
	for _, tt := range tests {
		got, err := GoVersion([]byte(tt.gomod))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("GoVersion(%q) err = %v, want %q", tt.gomod, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("GoVersion(%q) = %q, %v; want %q", tt.gomod, got, err, tt.want)
		}
	}
}

func TestMainPackage(t *testing.T) {
	tests := []struct {
		files []string
		want  string
		err   string
	}{
		{[]string{"cmd/hello/main.go"}, "./cmd/hello", ""},
		{[]string{"main.go"}, ".", ""},
		{[]string{"main.go", "cmd/tool/main.go"}, "./cmd/tool", ""},
		{[]string{"cmd/a/main.go", "cmd/b/main.go"}, "", "./cmd/a, ./cmd/b"},
		{[]string{"internal/x/main.go", "examples/demo/main.go"}, "", "no main package"},
		{nil, "", "no main package"},
	}
	for _, tt := range tests {
		got, err := MainPackage(tt.files)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("MainPackage(%v) err = %v, want %q", tt.files, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("MainPackage(%v) = %q, %v; want %q", tt.files, got, err, tt.want)
		}
	}
}

func TestAppName(t *testing.T) {
	for _, tt := range []struct{ pkg, mod, want string }{
		{"./cmd/hello", "example.com/svc", "hello"},
		{".", "github.com/acme/Order_Service", "order_service"},
		{".", "example.com/my.app", "my-app"},
	} {
		if got := AppName(tt.pkg, tt.mod); got != tt.want {
			t.Errorf("AppName(%q, %q) = %q, want %q", tt.pkg, tt.mod, got, tt.want)
		}
	}
}
