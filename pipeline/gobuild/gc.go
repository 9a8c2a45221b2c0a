package gobuild

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ToolGOGC is the GOGC goship runs Go tools with (golangci-lint and the
// compiler, never the tests, whose behaviour it would change). Fewer
// collections: golangci-lint spends ~20% less CPU on a one-file change
// than at Go's default of 100.
const ToolGOGC = "400"

// ToolGCEnv is GOGC and GOMEMLIMIT for a Go tool on a machine whose
// /proc/meminfo is meminfo and whose cgroup allows cgroupLimit ("" or
// "max" for none). The limit is per process (golangci-lint, each
// compile): a quarter of the memory, rounded down to a power of two GiB
// so that machines of about the same size share cache keys, keeps the
// larger GOGC from growing a big project's heap past what the machine has
// (near the limit the collector works harder instead). Without a readable
// MemTotal only GOGC is set.
func ToolGCEnv(meminfo []byte, cgroupLimit string) []string {
	env := []string{"GOGC=" + ToolGOGC}
	total := memTotal(meminfo)
	if limit, err := strconv.ParseUint(strings.TrimSpace(cgroupLimit), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
		total = limit
	}
	if total == 0 {
		return env
	}
	quarter := total / 4
	limit := uint64(1) << 30
	for limit*2 <= quarter {
		limit *= 2
	}
	return append(env, fmt.Sprintf("GOMEMLIMIT=%dMiB", limit>>20))
}

// memTotal is MemTotal of /proc/meminfo, in bytes; 0 when absent.
func memTotal(meminfo []byte) uint64 {
	s := bufio.NewScanner(bytes.NewReader(meminfo))
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
