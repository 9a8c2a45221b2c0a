#!/usr/bin/env bash
# Builds goship's pinned tools (golangci-lint, trivy, task, actionlint,
# cosign v2 and v3) from the Go module proxy, one module per tool under tools/, so
# each keeps the dependency set its authors tested. Binaries are cached by
# the hash of the tool's go.mod and go.sum: a warm machine rebuilds nothing.
#
#   scripts/tools.sh            build what is missing, print the bin dir
#   GOSHIP_TOOLS_CACHE=dir      where the cache lives (default ~/.cache/goship-tools)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GOSHIP_TOOLS_CACHE:-$HOME/.cache/goship-tools}
bin="$cache/bin"
mkdir -p "$bin"
# One build at a time: setup.sh, test.sh and engine.sh all call this, and a
# second caller waits for the first instead of building into its directory.
exec 9>"$cache/.lock"
flock 9

build() { # name module-dir package [env…]
  local name=$1 dir="$root/tools/$2" pkg=$3 key
  shift 3
  key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
  local out="$cache/$name-$key"
  if [ ! -x "$out/$name" ]; then
    echo "tools: building $name (first run on this machine: minutes)" >&2
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    # -s -w: no symbol table or DWARF, which nothing here reads; it
    # halves each link (trivy's: 42 s of CPU down to 24 s).
    (cd "$dir" && env GOFLAGS=-mod=readonly "$@" go build -trimpath -ldflags="-s -w" -o "$out.tmp/$name" "$pkg")
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  ln -sf "$out/$name" "$bin/$name"
}

# trivy v0.69 imports encoding/json/v2, which Go 1.26 gates behind this
# experiment; the others build the same either way.
build golangci-lint golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint GOEXPERIMENT=jsonv2
build task task github.com/go-task/task/v3/cmd/task GOEXPERIMENT=jsonv2
build actionlint actionlint github.com/rhysd/actionlint/cmd/actionlint GOEXPERIMENT=jsonv2
build trivy trivy github.com/aquasecurity/trivy/cmd/trivy GOEXPERIMENT=jsonv2
# Writes offline Trivy DBs for the scan tests, with trivy's own trivy-db.
build trivy-fixturedb trivy ./fixturedb GOEXPERIMENT=jsonv2
# cosign, to prove in the signing tests that cosign's own verifier accepts
# goship's signatures and attestations.
build cosign cosign github.com/sigstore/cosign/v2/cmd/cosign
# cosign v3 (Sigstore bundles as OCI referrers), as cosign3: the signing
# interop matrix runs both majors against goship's output and goship's
# verify against theirs.
build cosign3 cosign3 github.com/sigstore/cosign/v3/cmd/cosign
# Caddy, the blue-green proxy, for the test world's proxy image: static (it
# runs on an empty base), in the cache path pipeline/testworld/proxy.go
# reads.
build caddy caddy github.com/caddyserver/caddy/v2/cmd/caddy CGO_ENABLED=0
echo "$bin"
