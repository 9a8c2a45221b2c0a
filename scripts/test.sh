#!/usr/bin/env bash
# goship's test suite. First engine-free: formatting, vet, the Dagger
# module type-check, golangci-lint, every Go test (against the real
# registry, sshd, dockerd, trivy started by the tests), actionlint and the
# Taskfile. Then the e2e suite through the dagger CLI on the local Dagger
# engine (scripts/engine.sh) and, beside it, the cluster tests on the
# Kubernetes cluster of the kit (scripts/cluster.sh). Run scripts/setup.sh
# first on a fresh machine.
#
# If the engine or cluster kit itself fails, the tests that need it are
# reported as not run (loudly: ENGINE UNAVAILABLE, CLUSTER UNAVAILABLE);
# if any of goship's tests fails, this fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PATH="$("$root/scripts/tools.sh"):$PATH"
export PATH

# Two Go modules: the root (the Dagger module, ci/, internal/, e2e/,
# bench/) and pipeline/ (the runner's, run with -C pipeline). The root
# package is the Dagger module: it needs engine-generated bindings and is
# checked by modcheck instead of plain vet/test. A developer's go.work
# does not change what runs.
export GOWORK=off
pkgs=(./ci/... ./internal/...)
[ -d bench ] && pkgs+=(./bench/...)

# The run's start and budget, for the bounded wait on the cluster below.
ci_start=${GOSHIP_CI_START:-$(date +%s)}
cluster_tests=${GOSHIP_CLUSTER_TESTS:-1}

# Each stage says when it starts, counted from the run's start: where a
# run's time went is in its log.
step() { printf '\n== %s (at %ds)\n' "$*" "$(( $(date +%s) - ci_start ))"; }

step gofmt
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "not gofmt'ed:"; echo "$unformatted"; exit 1; }

# vet and golangci-lint read their dependencies' export data from Go's
# build cache. With -race they read the very objects the -race tests below
# link, so a cold machine compiles goship and its dependencies once, not
# once for the checks and again for the tests (the analysis is the same).
# The e2e suite's test binary only drives the dagger CLI and runs without
# -race, so it is checked without too.
step "go vet"
go vet -race "${pkgs[@]}"
go vet -C pipeline -race ./...
[ -d e2e ] && go vet -tags e2e ./e2e/...
go vet -C pipeline -race -tags world ./testworld
(cd examples/hello-service && go vet -race ./...)

step "Dagger module type-check, unit tests and go mod tidy (modcheck)"
modcheck=$(mktemp -d)/modcheck
go build -o "$modcheck" ./internal/cmd/modcheck
"$modcheck" .
"$modcheck" test -count=1
"$modcheck" tidy -diff
"$modcheck" engine-tidy
# pipeline/ is its own Go module (the runner's), so a cold engine's module
# load never walks its dependencies.
(cd pipeline && go mod tidy -diff)

step golangci-lint
# GOFLAGS reaches the go list that loads the packages (see go vet above).
GOFLAGS=-race golangci-lint run "${pkgs[@]}"
(cd pipeline && GOFLAGS=-race golangci-lint run ./...)
[ -d e2e ] && golangci-lint run --build-tags e2e ./e2e/...

step actionlint
if compgen -G ".github/workflows/*.yml" >/dev/null; then actionlint .github/workflows/*.yml; fi

step "task --list"
[ -f Taskfile.yml ] && task --list >/dev/null

step "go test"
"$root/scripts/engine.sh" start # no-op when setup.sh started it
if [ "$cluster_tests" = 1 ]; then "$root/scripts/cluster.sh" start; fi
(cd examples/hello-service && go test -race -count=1 ./...)
# Everything but the cluster tests first, while the cluster comes up.
# internal/modcheck starts no goroutine of its own (it type-checks the
# Dagger SDK from source): under -race its tests took 3.6 times as long
# (131 s against 36 s) for nothing the detector could catch.
go test -race -count=1 -timeout 60m $(go list "${pkgs[@]}" | grep -v '/internal/modcheck$')
go test -count=1 -timeout 20m ./internal/modcheck
(cd pipeline && go test -race -count=1 -timeout 60m $(go list ./... | grep -vE '/pipeline/(kube|ciengine)$'))

# The cluster stage: pipeline/kube's and pipeline/ciengine's tests, then the
# e2e tests of `cluster ...` through the module. It runs beside the e2e
# suite below: its tests mostly wait on the cluster (about 70% of the CPU is
# idle while they run alone), so running it after the e2e suite added its
# whole length to the run.
# The cluster's first build (about 25 minutes idle, much longer beside
# everything above) runs in the background at low priority from setup.sh
# on; the wait for it is bounded so that the whole run stays within
# GOSHIP_CI_BUDGET seconds of GOSHIP_CI_START (.ci/run sets it), leaving the
# cluster tests their own time. If the kit fails or is not up by then, they
# are reported as not run, loudly; a failure in goship's own cluster tests
# fails this script. pipeline/kube's engine-free tests run either way; its
# cluster tests skip without GOSHIP_KUBECONFIG.
cluster_stage() {
  local cluster=0 exports elapsed wait_s
  if [ "$cluster_tests" != 1 ]; then
    echo "cluster tests skipped: GOSHIP_CLUSTER_TESTS=$cluster_tests"
  else
    elapsed=$(( $(date +%s) - ci_start ))
    wait_s=$(( ${GOSHIP_CI_BUDGET:-5100} - elapsed - ${GOSHIP_CLUSTER_TESTS_TIME:-900} ))
    [ "$wait_s" -gt 0 ] || wait_s=0
    if exports=$(GOSHIP_K8S_WAIT=$wait_s "$root/scripts/cluster.sh" ready); then
      eval "$exports"
      export GOSHIP_KUBECONFIG=$KUBECONFIG GOSHIP_K8S_REGISTRY=$GSK8S_REGISTRY
      export GOSHIP_KUBECONFIG_DAGGER=$GSK8S_KUBECONFIG_DAGGER
      cluster=1
    else
      echo "=================================================================="
      echo "CLUSTER UNAVAILABLE: the cluster tests are not run. The Kubernetes kit (../shared/k8s) failed or was not up after ${elapsed}s + ${wait_s}s of this run:"
      "$root/scripts/cluster.sh" log 40
      echo "=================================================================="
    fi
  fi
  go test -C pipeline -race -count=1 -timeout 20m ./kube/ ./ciengine/ || return 1
  if [ "$cluster" = 1 ] && [ "$engine" = 1 ] && ! go test -tags e2e -count=1 -timeout 45m -v -run '^TestCluster' ./e2e/...; then
    echo "e2e FAILED (cluster)"
    return 1
  fi
}

step "e2e on the local Dagger engine, and beside it the cluster tests on the local Kubernetes cluster"
engine=0
if exports=$("$root/scripts/engine.sh" ready); then
  eval "$exports"
  dagger core version
  engine=1
else
  echo "=================================================================="
  echo "ENGINE UNAVAILABLE: e2e not run. The engine kit (../shared/engine) failed:"
  "$root/scripts/engine.sh" log 40
  echo "=================================================================="
fi
cluster_log=$(mktemp -t goship-cluster-stage.XXXXXX)
cluster_stage >"$cluster_log" 2>&1 &
cluster_pid=$!
# An interrupted run stops the cluster stage's tests too.
trap 'pkill -TERM -P "$cluster_pid" 2>/dev/null; kill "$cluster_pid" 2>/dev/null; exit 130' INT TERM
e2e_ok=1
# The cluster's own e2e tests run in the cluster stage.
if [ "$engine" = 1 ] && ! go test -tags e2e -count=1 -timeout 80m -v -skip '^TestCluster' ./e2e/...; then
  e2e_ok=0
fi
cluster_ok=1
wait "$cluster_pid" || cluster_ok=0

step "cluster tests on the local Kubernetes cluster (ran beside the e2e suite)"
cat "$cluster_log"
[ "$e2e_ok" = 1 ] || { echo "e2e FAILED"; exit 1; }
[ "$cluster_ok" = 1 ] || { echo "cluster tests FAILED"; exit 1; }
