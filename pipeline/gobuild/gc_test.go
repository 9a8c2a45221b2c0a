package gobuild

import (
	"slices"
	"testing"
)

func TestToolGCEnv(t *testing.T) {
	meminfo := []byte("MemTotal:       16384000 kB\nMemFree:         8000000 kB\n")
	for _, c := range []struct {
		name, meminfo, cgroup string
		want                  []string
	}{
		{"a quarter of the machine, a power of two GiB", string(meminfo), "max", []string{"GOGC=400", "GOMEMLIMIT=2048MiB"}},
		{"a quarter of a smaller cgroup limit", string(meminfo), "4294967296\n", []string{"GOGC=400", "GOMEMLIMIT=1024MiB"}},
		{"a cgroup limit above the machine", string(meminfo), "99999999999999", []string{"GOGC=400", "GOMEMLIMIT=2048MiB"}},
		{"no meminfo, a cgroup limit", "", "2147483648", []string{"GOGC=400", "GOMEMLIMIT=1024MiB"}},
		{"a big machine", "MemTotal:       131072000 kB\n", "max", []string{"GOGC=400", "GOMEMLIMIT=16384MiB"}},
		{"nothing readable", "garbage", "", []string{"GOGC=400"}},
	} {
		if got := ToolGCEnv([]byte(c.meminfo), c.cgroup); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
