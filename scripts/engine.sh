#!/usr/bin/env bash
# The local Dagger v0.21.0 engine for the e2e suite, from the kit beside the
# project (../shared/engine, read-only). A cold build takes 10-17 minutes,
# so `start` runs it in the background while other work goes on, and
# `ready` waits for it, adds the golangci-lint and trivy images from the
# binaries scripts/tools.sh built (instead of building them again), and
# prints the export lines to use.
#
#   scripts/engine.sh start     begin bringing the engine up, in the background
#   scripts/engine.sh ready     wait until it is up; print its export lines (exit 1 if the kit failed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${GOSHIP_ENGINE_KIT:-$root/../shared/engine}
state=${GOSHIP_ENGINE_STATE:-/var/tmp/goship-engine-up}
mkdir -p "$state"
log=$state/up.log

case "${1:-}" in
start)
  if [ -s "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then exit 0; fi
  [ -x "$kit/up.sh" ] || { echo "engine: no kit at $kit" > "$log"; echo 1 > "$state/rc"; exit 0; }
  rm -f "$state/rc"
  # The tool images wait for `ready`, which has the binaries.
  ( set +e; echo "== up.sh at $(date -u +%FT%TZ)"; GOSHIP_TOOLS=skip bash "$kit/up.sh" 2>&1; echo $? > "$state/rc" ) >> "$log" 2>&1 &
  echo $! > "$state/pid"
  ;;
ready)
  "$0" start # no-op while a start runs; warm, a new start takes seconds
  while [ ! -s "$state/rc" ]; do sleep 2; done
  [ "$(cat "$state/rc")" = 0 ] || exit 1
  bin=$("$root/scripts/tools.sh")
  if ! GOSHIP_LINT_BIN=$(readlink -f "$bin/golangci-lint") GOSHIP_TRIVY_BIN=$(readlink -f "$bin/trivy") \
      bash "$kit/up.sh" --tools >> "$log" 2>&1; then
    exit 1
  fi
  # Warm, up.sh only checks and prints how to reach the engine.
  bash "$kit/up.sh" 2>> "$log" | grep '^export ' || exit 1
  ;;
log)
  tail -n "${2:-40}" "$log" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 start|ready|log [lines]" >&2
  exit 2
  ;;
esac
