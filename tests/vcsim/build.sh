#!/usr/bin/env bash
# Builds tests/vcsim/bin/vcsim (govmomi's vCenter simulator with IXNode's test extensions) from Debian's
# golang-go and golang-github-vmware-govmomi-dev, in GOPATH mode. Rebuilds only when the source is newer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/bin/vcsim"
if [ -x "$bin" ] && [ "$bin" -nt "$here/main.go" ] && [ "$bin" -nt "$here/build.sh" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "vcsim: 'go' not found: install golang-go (scripts/install-test-deps.sh does)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] || {
  echo "vcsim: govmomi sources missing: install golang-github-vmware-govmomi-dev" >&2; exit 1; }
mkdir -p "$here/bin"
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS=
# A writable build cache even when HOME is unset or read-only (CI).
if [ -z "${GOCACHE:-}" ]; then
  if [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache/go-build" 2>/dev/null && [ -w "$HOME/.cache/go-build" ]; then
    export GOCACHE="$HOME/.cache/go-build"
  else
    export GOCACHE="$here/bin/.gocache"
  fi
fi
echo "building tests/vcsim/bin/vcsim"
cd "$here"
go build -o "$bin.tmp" main.go
mv -f "$bin.tmp" "$bin"
