#!/usr/bin/env bash
# goship's test suite, engine-free: formatting, vet, the Dagger module
# type-check, golangci-lint, every Go test (against the real registry,
# sshd, dockerd, trivy started by the tests), the e2e suite's compile
# check, actionlint and the Taskfile. Run scripts/setup.sh first on a fresh
# machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PATH="$("$root/scripts/tools.sh"):$PATH"
export PATH

# The root package is the Dagger module: it needs engine-generated bindings
# and is checked by modcheck instead of plain vet/test.
pkgs=(./pipeline/... ./ci/... ./internal/...)
[ -d bench ] && pkgs+=(./bench/...)

step() { printf '\n== %s\n' "$*"; }

step gofmt
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "not gofmt'ed:"; echo "$unformatted"; exit 1; }

step "go vet"
go vet "${pkgs[@]}"
[ -d e2e ] && go vet -tags e2e ./e2e/...
go vet -tags world ./internal/testworld
(cd examples/hello-service && go vet ./...)

step "Dagger module type-check (modcheck)"
go run ./internal/cmd/modcheck .

step golangci-lint
golangci-lint run "${pkgs[@]}"
[ -d e2e ] && golangci-lint run --build-tags e2e ./e2e/...

step actionlint
if compgen -G ".github/workflows/*.yml" >/dev/null; then actionlint .github/workflows/*.yml; fi

step "task --list"
[ -f Taskfile.yml ] && task --list >/dev/null

step "go test"
(cd examples/hello-service && go test -race -count=1 ./...)
go test -race -count=1 -timeout 30m "${pkgs[@]}"
