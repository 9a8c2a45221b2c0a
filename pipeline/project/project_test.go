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

func TestAppName(t *testing.T) {
	for _, tt := range []struct{ pkg, mod, want string }{
		{"./cmd/hello", "example.com/svc", "hello"},
		{".", "github.com/acme/Order_Service", "order_service"},
		{".", "example.com/my.app", "my-app"},
		{"", "example.com/lib", "lib"},
		{".", "github.com/acme/svc/v2", "svc"},
		{"", "gopkg.in/yaml.v3", "yaml"},
		{"./cmd/api", "github.com/acme/svc/v2", "api"},
	} {
		if got := AppName(tt.pkg, tt.mod); got != tt.want {
			t.Errorf("AppName(%q, %q) = %q, want %q", tt.pkg, tt.mod, got, tt.want)
		}
	}
}
