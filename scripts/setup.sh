#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for goship's test suite:
# the real servers the tests start (dockerd, sshd, registry, docker-compose),
# the pinned Go tools, and (in the background) the local Dagger engine the
# e2e suite runs on, and the Kubernetes cluster. Idempotent: a warm machine does nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(docker.io openssh-server docker-registry docker-compose iproute2 procps git zstd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends "${missing[@]}"
fi

# dockerd: the deploy target's docker in the tests. Its default address
# pools hold 31 networks; the parallel compose tests, plus what an
# interrupted run left behind, exhaust them ("could not find an available,
# non-overlapping IPv4 address pool"). 1024 /24s clear of the kits' ranges
# (10.87/16 engine, 10.244.0/24 pods, 10.96/16 services) leave room.
if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  mkdir -p /var/log
  (dockerd --default-address-pool base=10.200.0.0/14,size=24 >/var/log/goship-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/goship-dockerd.log; echo "setup: dockerd did not start" >&2; exit 1; }
fi

# The Dagger engine for the e2e suite (cold: 10-17 minutes) and the
# Kubernetes cluster for the cluster tests (first build: about 25 minutes idle, at low priority; GOSHIP_CLUSTER_TESTS=0 leaves it out)
# come up in the background while the tools build and the engine-free
# suite runs.
"$root/scripts/engine.sh" start
if [ "${GOSHIP_CLUSTER_TESTS:-1}" = 1 ]; then "$root/scripts/cluster.sh" start; fi
"$root/scripts/tools.sh" >/dev/null
echo "setup: ready (the Dagger engine may still be coming up: scripts/engine.sh ready)"
