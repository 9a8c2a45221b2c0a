#!/usr/bin/env bash
# The whole state of a Dagger engine (its compiled modules, pulled images,
# cached results and every cache volume) as one archive, for a CI runner
# whose engine would otherwise start empty: restore before the engine
# starts, save after it stopped. The engine must run with a named state
# volume, e.g.
#
#   export _EXPERIMENTAL_DAGGER_RUNNER_HOST='docker-image://registry.dagger.io/engine:v0.21.0?container=dagger-engine-goship&volume=dagger-engine-goship'
#
#   scripts/engine-state.sh restore <dir>   before the first dagger call: fill the volume from <dir>/engine-state.tar
#   scripts/engine-state.sh save <dir>      after the last one: stop the engine, archive its volume into <dir>
#
# Fail safe: an archive that is missing, of another engine version, or
# whose checksum does not match is not restored, and a restore that fails
# half-way leaves an empty volume: the engine starts cold, never from a
# wrong state. The size is bounded by the engine's own GC settings
# (engine.json "gc": {"maxUsedSpace": …}), not by this script.
#
# Environment: GOSHIP_ENGINE_CONTAINER, GOSHIP_ENGINE_VOLUME (default
# dagger-engine-goship), GOSHIP_ENGINE_IMAGE (default
# registry.dagger.io/engine:v0.21.0; its tar does the archiving).
set -euo pipefail
container=${GOSHIP_ENGINE_CONTAINER:-dagger-engine-goship}
volume=${GOSHIP_ENGINE_VOLUME:-dagger-engine-goship}
image=${GOSHIP_ENGINE_IMAGE:-registry.dagger.io/engine:v0.21.0}

usage() { echo "usage: $0 save|restore <dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
dir=$(mkdir -p "$2" && cd "$2" && pwd)
archive=$dir/engine-state.tar
manifest=$dir/engine-state.txt

running() { [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ]; }
# tar inside the engine image: the state belongs to root and holds
# overlay snapshots, which the host's user may not read.
intar() { docker run --rm --entrypoint tar -v "$volume:/var/lib/dagger" -v "$dir:/state" "$image" "$@"; }

case "$1" in
save)
  if running; then
    # A stopped engine has flushed its metadata: a live one's files may
    # be half-written.
    docker stop -t 120 "$container" >/dev/null
  fi
  docker volume inspect "$volume" >/dev/null 2>&1 || { echo "engine-state: no volume $volume: nothing to save" >&2; exit 1; }
  rm -f "$archive" "$manifest"
  intar -C /var/lib/dagger -cf /state/engine-state.tar .
  {
    echo "image=$image"
    echo "sha256=$(sha256sum "$archive" | cut -d' ' -f1)"
    echo "bytes=$(stat -c %s "$archive")"
  } > "$manifest"
  echo "engine-state: saved $(du -h "$archive" | cut -f1) of $volume to $archive"
  ;;
restore)
  if running; then
    echo "engine-state: $container is running; restore only before the engine starts" >&2
    exit 1
  fi
  cold() { echo "engine-state: $1; the engine starts cold" >&2; exit 0; }
  [ -s "$archive" ] && [ -s "$manifest" ] || cold "no archive in $dir"
  grep -qxF "image=$image" "$manifest" || cold "the archive is of another engine ($(grep '^image=' "$manifest" || echo unknown))"
  want=$(sed -n 's/^sha256=//p' "$manifest")
  [ "$(sha256sum "$archive" | cut -d' ' -f1)" = "$want" ] || cold "the archive does not match its checksum"
  if docker volume inspect "$volume" >/dev/null 2>&1; then
    echo "engine-state: volume $volume exists already and is kept as it is" >&2
    exit 0
  fi
  docker volume create "$volume" >/dev/null
  if ! intar -C /var/lib/dagger -xf /state/engine-state.tar; then
    docker volume rm -f "$volume" >/dev/null
    cold "the archive did not extract"
  fi
  echo "engine-state: restored $volume from $archive"
  ;;
*) usage ;;
esac
