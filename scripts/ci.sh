#!/usr/bin/env bash
# goship's main job on this machine: `dagger call … ci` on the sample
# service, on the local Dagger engine (scripts/engine.sh; no Docker Hub,
# no egress). The image overrides are tag-only because that engine's
# Docker Hub mirror holds locally built images that digest pins cannot
# name. Trivy's vulnerability DB cannot be downloaded here, so the scan
# runs the secret scanner unless GOSHIP_CI_ARGS says otherwise (for
# example --trivy-db-repository=<mirror> --registry-ca=<ca.pem>).
#
#   bash scripts/ci.sh [extra dagger call args before ci]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exports=$(scripts/engine.sh ready) || { scripts/engine.sh log 40; echo "ENGINE UNAVAILABLE" >&2; exit 1; }
eval "$exports"
engine_args="--go-image=golang:1.26-bookworm --lint-image=golangci/golangci-lint:v2 --trivy-image=aquasec/trivy:0.69.3 --goproxy=http://10.87.0.1:8765"
# shellcheck disable=SC2086 # word splitting of the argument lists is intended
exec dagger call --source=examples/hello-service $engine_args ${GOSHIP_CI_ARGS:---scanners=secret} "$@" ci
