package registry

import (
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in       string
		edition  Edition
		region   string
		instance string
		vpc      bool
		wantErr  string
	}{
		{in: "registry.cn-hangzhou.aliyuncs.com", edition: ACRPersonalClassic, region: "cn-hangzhou"},
		{in: "registry-vpc.cn-shanghai.aliyuncs.com", edition: ACRPersonalClassic, region: "cn-shanghai", vpc: true},
		{in: "registry.ap-southeast-1.aliyuncs.com", edition: ACRPersonalClassic, region: "ap-southeast-1"},
		{in: "crpi-abc123xyz.cn-hangzhou.personal.cr.aliyuncs.com", edition: ACRPersonal, region: "cn-hangzhou", instance: "crpi-abc123xyz"},
		{in: "crpi-abc123xyz-vpc.cn-beijing.personal.cr.aliyuncs.com", edition: ACRPersonal, region: "cn-beijing", instance: "crpi-abc123xyz", vpc: true},
		{in: "myco-registry.cn-shenzhen.cr.aliyuncs.com", edition: ACREnterprise, region: "cn-shenzhen", instance: "myco"},
		{in: "my-co-registry-vpc.cn-shenzhen.cr.aliyuncs.com", edition: ACREnterprise, region: "cn-shenzhen", instance: "my-co", vpc: true},
		{in: "127.0.0.1:5000", edition: Generic},
		{in: "ghcr.io", edition: Generic},
		{in: "harbor.internal.example:8443", edition: Generic},
		{in: "  registry.cn-hangzhou.aliyuncs.com ", edition: ACRPersonalClassic, region: "cn-hangzhou"},

		{in: "cr.cn-hangzhou.aliyuncs.com", wantErr: "API endpoint"},
		{in: "https://registry.cn-hangzhou.aliyuncs.com", wantErr: "drop the scheme"},
		{in: "registry.cn-hangzhou.aliyuncs.com/ns", wantErr: "only the host"},
		{in: "Registry.cn-hangzhou.aliyuncs.com", wantErr: "lower case"},
		{in: "registry.hangzhou.aliyuncs.com", wantErr: "not an ACR registry address"},
		{in: "ecs.cn-hangzhou.aliyuncs.com", wantErr: "not an ACR registry address"},
		{in: "crpi-.cn-hangzhou.personal.cr.aliyuncs.com", wantErr: "not an ACR registry address"},
		{in: "", wantErr: "empty"},
		{in: "bad_host:5000", wantErr: "not a valid host"},
		{in: "host:99999999", wantErr: "not a valid host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, err := ParseHost(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHost(%q) err = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHost(%q): %v", tt.in, err)
			}
			if h.Edition != tt.edition || h.Region != tt.region || h.Instance != tt.instance || h.VPC != tt.vpc {
				t.Fatalf("ParseHost(%q) = %+v", tt.in, h)
			}
			if tt.vpc && len(h.Warnings()) == 0 {
				t.Fatal("a VPC endpoint must warn")
			}
		})
	}
}

func TestNewRepository(t *testing.T) {
	personal, _ := ParseHost("registry.cn-hangzhou.aliyuncs.com")
	enterprise, _ := ParseHost("myco-registry.cn-hangzhou.cr.aliyuncs.com")
	generic, _ := ParseHost("127.0.0.1:5000")
	tests := []struct {
		name      string
		host      Host
		namespace string
		repo      string
		want      string
		wantErr   string
	}{
		{"personal", personal, "team-a", "hello", "registry.cn-hangzhou.aliyuncs.com/team-a/hello", ""},
		{"enterprise multi-level", enterprise, "team", "svc/api", "myco-registry.cn-hangzhou.cr.aliyuncs.com/team/svc/api", ""},
		{"generic without namespace", generic, "", "hello", "127.0.0.1:5000/hello", ""},
		{"personal multi-level", personal, "team", "svc/api", "", "single-level"},
		{"namespace too short", personal, "a", "hello", "", "2-120"},
		{"namespace delimiter at end", personal, "team-", "hello", "", "not at either end"},
		{"namespace upper case", personal, "Team", "hello", "", "lower-case"},
		{"namespace double dot", generic, "my..team", "hello", "", "between letters or digits"},
		{"namespace dot underscore", personal, "my._team", "hello", "", "between letters or digits"},
		{"namespace double underscore and dashes", personal, "my__team--a", "hello", "registry.cn-hangzhou.aliyuncs.com/my__team--a/hello", ""},
		{"ACR without namespace", personal, "", "hello", "", "needs a namespace"},
		{"repo upper case", generic, "", "Hello", "", "lower-case"},
		{"repo empty", generic, "ns", "", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRepository(tt.host, tt.namespace, tt.repo)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.want {
				t.Fatalf("String() = %q, want %q", r.String(), tt.want)
			}
		})
	}
}

func TestValidateTag(t *testing.T) {
	for _, good := range []string{"v1", "1.2.3", "latest", "_x", "20260101000000-abcdef01", strings.Repeat("a", 128)} {
		if err := ValidateTag(good); err != nil {
			t.Errorf("ValidateTag(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a/b", "a:b", "a b", strings.Repeat("a", 129)} {
		if err := ValidateTag(bad); err == nil {
			t.Errorf("ValidateTag(%q) accepted", bad)
		}
	}
}

// Whatever ParseHost accepts must be a host go-containerregistry can
// address, and must never carry a scheme or path.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"registry.cn-hangzhou.aliyuncs.com", "crpi-x.cn-x.personal.cr.aliyuncs.com", "127.0.0.1:5000", "a-registry-vpc.cn-a.cr.aliyuncs.com", "http://x", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHost(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(h.Name, "/ \t\n") || strings.Contains(h.Name, "://") {
			t.Fatalf("ParseHost(%q) accepted %q", s, h.Name)
		}
		if _, err := NewRepository(h, "ns", "app"); err != nil {
			t.Fatalf("accepted host %q cannot hold a repository: %v", h.Name, err)
		}
	})
}
