#!/usr/bin/env bash
# The whole state of a Dagger engine (its compiled modules, pulled images,
# cached results and every cache volume) as one compressed archive, for a
# CI runner whose engine would otherwise start empty: restore before the
# engine starts, save after the last dagger call. The engine must run with
# a named state volume, e.g.
#
#   export _EXPERIMENTAL_DAGGER_RUNNER_HOST='docker-image://registry.dagger.io/engine:v0.21.0?container=dagger-engine-goship&volume=dagger-engine-goship'
#
#   scripts/engine-state.sh key <project>   the cache key of the state: what feeds it (the project's go.sum and Go
#                                           toolchain, goship's version, the engine image); outputs key and prefix,
#                                           and caches-key and caches-prefix for goship's own caches (the fallback)
#   scripts/engine-state.sh restore <dir>   before the first dagger call: fill the volume from <dir>/engine-state.tar.zst;
#                                           outputs engine=warm, or engine=cold when there was nothing to restore,
#                                           and save=true when save would save, save=false when it would skip
#   scripts/engine-state.sh save <dir>      after the last one: bound the cache, stop the engine, archive its volume into
#                                           <dir>; outputs saved=true, or saved=false when nothing that feeds it changed
#
# Outputs go to $GITHUB_OUTPUT when it is set (GitHub Actions), else to
# stdout; `key` also puts GOSHIP_ENGINE_STATE_KEY into $GITHUB_ENV, for
# save.
#
# Saved only when it matters: save skips (saved=false) when the state it
# restored carries the same key, was not made by a run that started cold,
# and is younger than GOSHIP_ENGINE_STATE_REFRESH_DAYS (default 7: the
# build cache of a project whose go.sum does not change still follows its
# code). A cold start's run may have seeded goship's cache volumes from
# its caches (--cache-from=$GOSHIP_CACHE_FROM), and in Dagger v0.21 a
# volume seeded from a directory is another volume than the one an empty
# directory gives: so the next run, which restores the state and passes
# the empty directory, saves again. restore creates $GOSHIP_CACHE_FROM
# (--cache-from needs the directory, even empty).
#
# Bounded: before it stops a running engine, save prunes the engine's cache
# to GOSHIP_ENGINE_STATE_MAX (default 6GB; least recently used entries go
# first, so a run's own entries stay while older runs' leave). Keep it well
# above one run's working set: below it, the compiled module goes too.
#
# Fail safe: an archive that is missing or of another engine image is not
# restored, and one that fails zstd's frame checksum or tar's extraction
# leaves no volume behind: the engine starts cold, never from a wrong state.
#
# The archive streams through a FIFO in <dir> between tar in the engine
# image (the state belongs to root and holds overlay snapshots the host's
# user may not read) and the host's zstd: docker's own stdout stream
# carried 3 GB in 135 s here, the FIFO in 16 s.
#
# Environment: GOSHIP_ENGINE_CONTAINER, GOSHIP_ENGINE_VOLUME (default
# dagger-engine-goship), GOSHIP_ENGINE_IMAGE (default
# registry.dagger.io/engine:v0.21.0), GOSHIP_ENGINE_STATE_MAX (default 6GB),
# GOSHIP_MODULE (goship's module: a reference such as
# github.com/org/goship@v0.4.0, or a local checkout, hashed; default the
# checkout this script is in), GOSHIP_CACHE_FROM, GOSHIP_ENGINE_STATE_KEY,
# GOSHIP_ENGINE_STATE_REFRESH_DAYS.
# Needs docker and zstd on the host (GitHub's Ubuntu runners have both),
# and the dagger CLI for the prune (skipped, with a note, without it).
set -euo pipefail
container=${GOSHIP_ENGINE_CONTAINER:-dagger-engine-goship}
volume=${GOSHIP_ENGINE_VOLUME:-dagger-engine-goship}
image=${GOSHIP_ENGINE_IMAGE:-registry.dagger.io/engine:v0.21.0}
max=${GOSHIP_ENGINE_STATE_MAX:-6GB}

usage() { echo "usage: $0 key <project>|save <dir>|restore <dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
case "$1" in key | save | restore) ;; *) usage ;; esac

# output name value: a step output for GitHub Actions, else a line on stdout.
output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >> "$GITHUB_OUTPUT"; else echo "$1=$2"; fi
}

if [ "$1" = key ]; then
  project=$2
  [ -f "$project/go.mod" ] || { echo "engine-state: no go.mod in $project" >&2; exit 1; }
  # The Go toolchain the project builds with: go.mod's toolchain line, else its go line.
  toolchain=$(awk '$1 == "toolchain" { t = $2 } $1 == "go" { g = "go" $2 } END { print (t != "" ? t : g) }' "$project/go.mod")
  module=${GOSHIP_MODULE:-$(cd "$(dirname "$0")/.." && pwd)}
  if [ -d "$module" ]; then
    # A checkout: its module source (go.sum, dagger.json, every Go file
    # outside the tests, examples and tools) by content.
    goship=$(cd "$module" && { sha256sum go.sum dagger.json; git ls-files -s -- '*.go' ':!e2e' ':!examples' ':!bench' ':!tools'; } | sha256sum | cut -c1-16)
  else
    goship=$module
  fi
  sums=$( { [ -f "$project/go.sum" ] && sha256sum < "$project/go.sum" || echo no-go.sum; } | cut -c1-64)
  tag=$(printf '%s' "${image##*/}" | tr -c 'A-Za-z0-9._-' '-')
  prefix="goship-engine-state-${RUNNER_OS:-$(uname -s)}-$tag-"
  key=$prefix$(printf '%s\n' "$toolchain" "$goship" "$sums" "$image" | sha256sum | cut -c1-16)
  output key "$key"
  output prefix "$prefix"
  output caches-key "goship-caches-${key#goship-engine-state-}"
  output caches-prefix "goship-caches-${prefix#goship-engine-state-}"
  [ -z "${GITHUB_ENV:-}" ] || echo "GOSHIP_ENGINE_STATE_KEY=$key" >> "$GITHUB_ENV"
  exit 0
fi

command -v zstd >/dev/null || { echo "engine-state: zstd is not installed (apt-get install zstd)" >&2; exit 1; }
dir=$(mkdir -p "$2" && cd "$2" && pwd)
archive=$dir/engine-state.tar.zst
manifest=$dir/engine-state.txt
fifo_name=.engine-state.fifo
fifo=$dir/$fifo_name # /state/$fifo_name in the tar container

running() { [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ]; }

# stream save|restore joins zstd on the host and tar in the engine image
# through the FIFO. If tar fails before it opened its end, zstd is stopped
# in its own open, so neither waits forever on the other.
stream() {
  rm -f "$fifo"
  mkfifo "$fifo"
  local targs
  if [ "$1" = save ]; then
    zstd -q -T0 -3 -c <"$fifo" >"$archive" &
    targs=(-cf "/state/$fifo_name" .)
  else
    zstd -q -d -c <"$archive" >"$fifo" &
    targs=(-xf "/state/$fifo_name")
  fi
  local zpid=$! trc=0 zrc=0
  docker run --rm --entrypoint tar -v "$volume:/var/lib/dagger" -v "$dir:/state" "$image" -C /var/lib/dagger "${targs[@]}" || trc=$?
  [ "$trc" = 0 ] || kill "$zpid" 2>/dev/null || true
  wait "$zpid" || zrc=$?
  rm -f "$fifo"
  [ "$trc" = 0 ] && [ "$zrc" = 0 ]
}

start=$dir/engine-state.start # warm or cold: how this job's engine started

# unchanged: the state this job restored has the key of this job, was made
# unseeded and is young enough, so saving it again would store the same.
unchanged() {
  local want=${GOSHIP_ENGINE_STATE_KEY:-} saved days=${GOSHIP_ENGINE_STATE_REFRESH_DAYS:-7}
  [ -n "$want" ] && [ -s "$manifest" ] && [ "$(cat "$start" 2>/dev/null)" = warm ] || return 1
  grep -qxF "key=$want" "$manifest" && grep -qxF "seed=empty" "$manifest" || return 1
  saved=$(sed -n 's/^saved=//p' "$manifest")
  [ -n "$saved" ] && [ $(($(date +%s) - saved)) -lt $((days * 86400)) ]
}

case "$1" in
save)
  if unchanged; then
    echo "engine-state: nothing that feeds the state changed (key $GOSHIP_ENGINE_STATE_KEY); not saved"
    output saved false
    exit 0
  fi
  seed=empty
  if [ -n "${GOSHIP_CACHE_FROM:-}" ] && [ "$(cat "$start" 2>/dev/null)" != warm ]; then seed=given; fi
  if running; then
    if command -v dagger >/dev/null; then
      # The engine's cache, bounded before it is archived.
      _EXPERIMENTAL_DAGGER_RUNNER_HOST=docker-container://$container DO_NOT_TRACK=1 \
        dagger core engine local-cache prune --max-used-space="$max" --target-space="$max" --progress=plain >/dev/null 2>&1 ||
        echo "engine-state: pruning $container to $max failed; archiving it as it is" >&2
    else
      echo "engine-state: no dagger CLI on PATH: the state is archived without pruning it to $max" >&2
    fi
    # A stopped engine has flushed its metadata: a live one's files may
    # be half-written.
    docker stop -t 120 "$container" >/dev/null
  fi
  docker volume inspect "$volume" >/dev/null 2>&1 || { echo "engine-state: no volume $volume: nothing to save" >&2; exit 1; }
  rm -f "$archive" "$manifest"
  if ! stream save; then
    rm -f "$archive"
    echo "engine-state: archiving $volume failed" >&2
    exit 1
  fi
  {
    echo "image=$image"
    echo "format=tar.zst"
    echo "bytes=$(stat -c %s "$archive")"
    echo "key=${GOSHIP_ENGINE_STATE_KEY:-}"
    echo "seed=$seed"
    echo "saved=$(date +%s)"
  } > "$manifest"
  echo "engine-state: saved $(du -h "$archive" | cut -f1) of $volume to $archive"
  output saved true
  ;;
restore)
  if running; then
    echo "engine-state: $container is running; restore only before the engine starts" >&2
    exit 1
  fi
  [ -z "${GOSHIP_CACHE_FROM:-}" ] || mkdir -p "$GOSHIP_CACHE_FROM"
  warm() {
    echo warm > "$start"
    output engine warm
    if unchanged; then output save false; else output save true; fi
    exit 0
  }
  # A cold start forgets the manifest, so save does not take the state
  # for the one it describes.
  cold() {
    echo "engine-state: $1; the engine starts cold" >&2
    rm -f "$manifest"
    echo cold > "$start"
    output engine cold
    output save true
    exit 0
  }
  [ -s "$archive" ] && [ -s "$manifest" ] || cold "no archive in $dir"
  grep -qxF "image=$image" "$manifest" || cold "the archive is of another engine ($(grep '^image=' "$manifest" || echo unknown))"
  grep -qxF "format=tar.zst" "$manifest" || cold "the archive is of another format"
  if docker volume inspect "$volume" >/dev/null 2>&1; then
    echo "engine-state: volume $volume exists already and is kept as it is" >&2
    warm
  fi
  docker volume create "$volume" >/dev/null
  if ! stream restore; then
    docker volume rm -f "$volume" >/dev/null
    cold "the archive did not extract (damaged or truncated)"
  fi
  echo "engine-state: restored $volume from $archive"
  warm
  ;;
esac
