package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
)

func TestStatusShowsMaintenanceAndHTTPS(t *testing.T) {
	st := &compose.State{Release: host.Record{Name: "r1"}, Container: "running", Health: "healthy", Matches: true, Strategy: "blue-green, color blue"}
	plainSt := *st
	st.Proxy = &proxy.AppStatus{Port: 443, Maintenance: true, Since: time.Now(),
		TLS: &proxy.RouteTLS{Names: []string{"app.example.com"}, NotAfter: time.Now().Add(5 * 24 * time.Hour), RedirectFrom: 80}}
	one, err := FormatHostStatus([]HostView{{Host: "a", State: st}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proxy: MAINTENANCE ON since", "https on port 443 for app.example.com", "EXPIRES SOON", "http on port 80 redirects"} {
		if !strings.Contains(one, want) {
			t.Errorf("one host's status lacks %q:\n%s", want, one)
		}
	}
	many, _ := FormatHostStatus([]HostView{{Host: "a", State: st}, {Host: "b", State: &plainSt}})
	if lines := strings.Split(many, "\n"); !strings.Contains(lines[1], "OK, MAINTENANCE") || strings.Contains(lines[2], "MAINTENANCE") {
		t.Errorf("a fleet's verdicts:\n%s", many)
	}
	if plain, _ := FormatHostStatus([]HostView{{Host: "a", State: &plainSt}}); strings.Contains(plain, "proxy:") {
		t.Errorf("a recreate app has no proxy line:\n%s", plain)
	}
}
