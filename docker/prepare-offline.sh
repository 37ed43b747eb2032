#!/usr/bin/env bash
# Makes docker/deno-dir.tar: a DENO_DIR holding every dependency in deno.lock, fetched here on the host
# (`DENO_DIR=… deno install --frozen`), so that the image builds with no network:
#
#   docker/prepare-offline.sh
#   DENO_DIR_SEED=docker/deno-dir.tar docker compose build
#
# It is an archive, not a directory, because `deno check .` and `deno test` would walk into a directory of
# npm packages inside the project. Its files are owned by uid 1993 (the images' deno user). Skipped when the
# archive is newer than deno.json and deno.lock; --force rebuilds it.
set -euo pipefail
cd "$(dirname "$0")/.."

out=docker/deno-dir.tar
if [ "${1:-}" != "--force" ] && [ -f "$out" ] && [ "$out" -nt deno.lock ] && [ "$out" -nt deno.json ]; then
  echo "prepare-offline: $out is up to date" >&2
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DENO_DIR="$tmp/deno-dir" DENO_NO_UPDATE_CHECK=1 deno install --frozen
# Only the downloaded dependencies; the caches of local files are rebuilt inside the image.
tar -C "$tmp/deno-dir" --owner=1993 --group=1993 --numeric-owner --sort=name -cf "$tmp/seed.tar" npm
mv "$tmp/seed.tar" "$out"
echo "prepare-offline: wrote $out ($(du -h "$out" | cut -f1))" >&2
