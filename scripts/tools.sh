#!/usr/bin/env bash
# Builds goship's pinned tools from the Go module proxy, from the Go
# modules under tools/:
#   bundle      trivy (and the scan tests' fixture-DB writer), golangci-lint,
#               task and Caddy: one dependency set, so a dependency they
#               share compiles once (a cold machine's longest step)
#   cosign      cosign v2, alone: the interop tests need it as released.
#               Built with cosign v3's dependency set, its verify against a
#               registry without the referrers API hung for 180 s
#   cosign3     cosign v3, alone: it needs k8s.io/api v0.36, which trivy's
#               kubectl scheme cannot take
#   actionlint  alone: with the bundle's YAML library it does not compile
# Binaries are cached by the hash of their module's go.mod and go.sum: a
# warm machine rebuilds nothing.
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

# Each module's build environment, the same for all its tools (a different
# one would compile the shared packages again). Static (CGO_ENABLED=0):
# Caddy runs on an empty base, trivy and golangci-lint go into the engine
# kit's images, and the standard library then compiles as the kits compile
# it. trivy v0.69 imports encoding/json/v2, which Go 1.26 gates behind the
# jsonv2 experiment.
declare -A module_env=(
  [bundle]="CGO_ENABLED=0 GOEXPERIMENT=jsonv2"
  [cosign]="CGO_ENABLED=0"
  [cosign3]="CGO_ENABLED=0"
  [actionlint]="CGO_ENABLED=0"
)

build() { # module name package
  local module=$1 name=$2 pkg=$3 dir="$root/tools/$1" key
  key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
  local out="$cache/$module-$key"
  if [ ! -x "$out/$name" ]; then
    echo "tools: building $name from tools/$module (first run on this machine: minutes)" >&2
    mkdir -p "$out"
    # -s -w: no symbol table or DWARF, which nothing here reads; it
    # halves each link (trivy's: 42 s of CPU down to 24 s).
    # shellcheck disable=SC2086 # module_env holds several words
    (cd "$dir" && env GOFLAGS=-mod=readonly ${module_env[$module]} \
      go build -trimpath -ldflags="-s -w" -o "$out/$name.tmp" "$pkg")
    mv "$out/$name.tmp" "$out/$name"
  fi
  ln -sf "$out/$name" "$bin/$name"
}

build bundle golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint
build bundle task github.com/go-task/task/v3/cmd/task
build bundle trivy github.com/aquasecurity/trivy/cmd/trivy
# Writes offline Trivy DBs for the scan tests, with trivy's own trivy-db.
build bundle trivy-fixturedb ./fixturedb
# The blue-green proxy, for the test world's proxy image
# (pipeline/testworld/proxy.go).
build bundle caddy github.com/caddyserver/caddy/v2/cmd/caddy
# Both cosign majors: the signing interop matrix runs each against
# goship's output, and goship's verify against theirs.
build cosign cosign github.com/sigstore/cosign/v2/cmd/cosign
build cosign3 cosign3 github.com/sigstore/cosign/v3/cmd/cosign
build actionlint actionlint github.com/rhysd/actionlint/cmd/actionlint
echo "$bin"
