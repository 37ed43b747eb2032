#!/usr/bin/env bash
# Builds the two base images the compose e2e test uses where nothing can be pulled, from files on this
# machine (no registry, no network):
#
#   kubelab-test/deno:<version>   the npm deno binary + the shared libraries ldd lists for it + CA bundle,
#                                 user deno (uid 1993, as in denoland/deno), /deno-dir owned by it, /tmp,
#                                 and bash (which the Debian-based denoland/deno has too: compose.yaml's
#                                 healthchecks are bash builtins). No /bin/sh: kubelab's Dockerfile must
#                                 build without one.
#   kubelab-test/nats:<version>   Debian's /usr/sbin/nats-server + its libraries + busybox-static (a shell
#                                 and the wget that compose.yaml's NATS healthcheck uses, as nats:*-alpine has).
#
# Each image is a `docker import` of a root filesystem assembled here, labelled with the sha256 of the
# binary it came from; an image whose label matches is kept, so repeated runs cost nothing.
# Prints the two image references as NAME=ref lines (DENO_IMAGE=…, NATS_IMAGE=…) on stdout.
# Needs: docker, ldd, tar, sha256sum; deno (npm package or any glibc build); nats-server and busybox-static
# (`apt-get install -y nats-server busybox-static`).
set -euo pipefail

log() { echo "build-test-images: $*" >&2; }
die() { log "$*"; exit 1; }

command -v docker >/dev/null || die "docker is not on PATH"

# The npm package keeps the real binary in node_modules/@deno/linux-x64-glibc/deno; `deno` on PATH is
# usually a link to it. Any dynamically or statically linked glibc deno works.
find_deno() {
  local root
  if root=$(npm root -g 2>/dev/null); then
    for c in "$root/deno/node_modules/@deno/linux-x64-glibc/deno" "$root/@deno/linux-x64-glibc/deno" \
      "$root/deno/deno"; do
      [ -x "$c" ] && { echo "$c"; return; }
    done
  fi
  command -v deno >/dev/null && readlink -f "$(command -v deno)" && return
  return 1
}
DENO_BIN=${DENO_BIN:-$(find_deno)} || die "cannot find a deno binary (npm install -g deno@2.9.6)"
NATS_BIN=${NATS_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
[ -x "$NATS_BIN" ] || die "cannot find nats-server (apt-get install -y nats-server)"
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
# Debian's busybox-static, not a dynamically linked busybox whose libraries we would also need.
{ [ -x "$BUSYBOX_BIN" ] && ! ldd "$BUSYBOX_BIN" >/dev/null 2>&1; } ||
  die "need a static busybox at $BUSYBOX_BIN (apt-get install -y busybox-static)"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

deno_version=$("$DENO_BIN" --version | awk 'NR==1 {print $2}')
nats_version=$("$NATS_BIN" --version | sed -E 's/.*v([0-9.]+).*/\1/')
DENO_IMAGE=${DENO_IMAGE:-kubelab-test/deno:$deno_version}
NATS_IMAGE=${NATS_IMAGE:-kubelab-test/nats:$nats_version}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Copies a binary and every shared library ldd lists for it into a root filesystem, keeping their paths.
add_binary() {
  local rootfs=$1 bin=$2 dest=$3 lib
  install -D -m 0755 "$bin" "$rootfs$dest"
  for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

# A root filesystem's common part: passwd/group with root and deno, /tmp, CA certificates.
base_rootfs() {
  local rootfs=$1
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\ndeno:x:1993:1993:deno:/home/deno:/sbin/nologin\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\ndeno:x:1993:\n' >"$rootfs/etc/group"
  [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  return 0
}

# Whether REF is missing or was imported from other sources than those hashing to SHA.
stale() {
  [ "$(docker image inspect "$1" --format '{{ index .Config.Labels "kubelab.source-sha256" }}' \
    2>/dev/null || true)" != "$2" ]
}

# import_image REF SHA ROOTFS CHANGE…: docker-imports the ROOTFS folder as REF, labelled with SHA.
import_image() {
  local ref=$1 sha=$2 rootfs=$3 c
  shift 3
  local args=(--change "LABEL kubelab.source-sha256=$sha")
  for c in "$@"; do args+=(--change "$c"); done
  log "importing $ref"
  tar --numeric-owner -C "$rootfs" -c . | docker import "${args[@]}" - "$ref" >/dev/null
}

# --- deno: like denoland/deno (bash, no /bin/sh) ---
BASH_BIN=${BASH_BIN:-/bin/bash}
deno_sha=$(cat "$DENO_BIN" "$BASH_BIN" "$0" | sha256sum | cut -c1-64)
if stale "$DENO_IMAGE" "$deno_sha"; then
  r=$work/deno
  base_rootfs "$r"
  add_binary "$r" "$DENO_BIN" /usr/bin/deno
  add_binary "$r" "$BASH_BIN" /bin/bash
  mkdir -p "$r/deno-dir" "$r/home/deno"
  chown 1993:1993 "$r/deno-dir" "$r/home/deno"
  import_image "$DENO_IMAGE" "$deno_sha" "$r" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV DENO_DIR=/deno-dir/' \
    'ENV DENO_INSTALL_ROOT=/usr/local' \
    'ENTRYPOINT ["deno"]' \
    'CMD ["eval", "console.log(\"Welcome to Deno!\")"]'
else
  log "$DENO_IMAGE is up to date"
fi

# --- nats: like nats:*-alpine, nats-server as the entrypoint so that `command: ["-js", …]` are its flags ---
nats_sha=$(cat "$NATS_BIN" "$BUSYBOX_BIN" "$0" | sha256sum | cut -c1-64)
if stale "$NATS_IMAGE" "$nats_sha"; then
  r=$work/nats
  base_rootfs "$r"
  add_binary "$r" "$NATS_BIN" /usr/local/bin/nats-server
  install -D -m 0755 "$BUSYBOX_BIN" "$r/bin/busybox"
  for applet in sh wget ls cat ps; do ln -s busybox "$r/bin/$applet"; done
  mkdir -p "$r/data"
  import_image "$NATS_IMAGE" "$nats_sha" "$r" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'EXPOSE 4222 6222 8222' \
    'ENTRYPOINT ["nats-server"]' \
    'CMD ["-js"]'
else
  log "$NATS_IMAGE is up to date"
fi

echo "DENO_IMAGE=$DENO_IMAGE"
echo "NATS_IMAGE=$NATS_IMAGE"
