#!/usr/bin/env bash
# The local Kubernetes v1.35 cluster for the cluster tests, from the kit
# beside the project (../shared/k8s, read-only). Its first build takes
# about 25 minutes (the Kubernetes binaries from the Go module proxy), so
# `start` runs it in the background while other work goes on, and `ready`
# waits for it and prints the export lines to use. After the first build
# it starts in seconds.
#
#   scripts/cluster.sh start     begin bringing the cluster up, in the background
#   scripts/cluster.sh ready     wait until it is up (at most GOSHIP_K8S_WAIT s); print its export lines (exit 1 if the kit failed)
#   scripts/cluster.sh log [n]   the kit's log tail
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${GOSHIP_K8S_KIT:-$root/../shared/k8s}
state=${GOSHIP_K8S_UP_STATE:-/var/tmp/goship-k8s-up}
mkdir -p "$state"
log=$state/up.log

case "${1:-}" in
start)
  if [ -s "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then exit 0; fi
  [ -x "$kit/up.sh" ] || { echo "cluster: no kit at $kit" > "$log"; echo 1 > "$state/rc"; exit 0; }
  rm -f "$state/rc"
  # The kit prints only export lines on stdout, progress on stderr.
  # setsid: in a session of its own the kit is its own scheduling group
  # (Linux autogroup), so the nice 19 of its first build weighs only
  # within that group. In the run's session it got almost no CPU beside
  # the tools and tests, and was still building when the cluster tests
  # were due.
  ( set +e; echo "== up.sh at $(date -u +%FT%TZ)" >&2; setsid --wait bash "$kit/up.sh" > "$state/exports"; echo $? > "$state/rc" ) 2>> "$log" &
  echo $! > "$state/pid"
  ;;
ready)
  "$0" start # no-op while a start runs; warm, a new start takes seconds
  # Bounded: a first build on a slow machine must not hold the tests up
  # forever (GOSHIP_K8S_WAIT seconds, default 45 minutes).
  waited=0
  while [ ! -s "$state/rc" ]; do
    if [ "$waited" -ge "${GOSHIP_K8S_WAIT:-2700}" ]; then
      echo "cluster: not up after ${waited}s; still building (see the log)" >> "$log"
      exit 1
    fi
    sleep 5; waited=$((waited + 5))
  done
  if [ "$(cat "$state/rc")" != 0 ]; then exit 1; fi
  # A cluster that came up earlier may have stopped since: up.sh restarts
  # what died (a no-op, about 1 s, when all runs).
  bash "$kit/up.sh" 2>> "$log" > "$state/exports" || exit 1
  grep '^export ' "$state/exports"
  ;;
log)
  tail -n "${2:-40}" "$log" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 start|ready|log [lines]" >&2
  exit 2
  ;;
esac
