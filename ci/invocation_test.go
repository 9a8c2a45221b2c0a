package ci

import (
	"strings"
	"testing"
)

func TestProxyMasksPasswords(t *testing.T) {
	var f Flags
	in := "https://goship:tok123@goproxy.example.com,http://10.87.0.1:8765|direct"
	if got := f.Proxy("goproxy", in); got != in {
		t.Fatalf("Proxy returned %q, want the value as given", got)
	}
	args := strings.Join(f.Args(), " ")
	if strings.Contains(args, "tok123") {
		t.Fatalf("the recorded flag holds the password: %s", args)
	}
	want := "--goproxy=https://goship:xxxxx@goproxy.example.com,http://10.87.0.1:8765|direct"
	if args != want {
		t.Fatalf("recorded %q, want %q", args, want)
	}
	var none Flags
	if none.Proxy("goproxy", "") != "" || len(none.Args()) != 0 {
		t.Fatal("an empty GOPROXY is recorded")
	}
}
