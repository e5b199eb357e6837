#!/usr/bin/env bash
# Installs the system packages and binaries the test suite talks to. Idempotent; installs only what is
# missing. Nothing here is optional: a binary that cannot be installed fails the run.
# --lab: only what `make lab` runs (no browser, no PostgreSQL client).
set -euo pipefail
cd "$(dirname "$0")/.."
lab=0
[ "${1:-}" = "--lab" ] && lab=1

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have prometheus || need+=(prometheus)
have promtool || need+=(prometheus)
have prometheus-alertmanager || have alertmanager || need+=(prometheus-alertmanager)
have amtool || need+=(prometheus-alertmanager)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have ssh-keygen || need+=(openssh-client)
have prometheus-node-exporter || need+=(prometheus-node-exporter)
have go || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] || need+=(golang-github-vmware-govmomi-dev)
have msgfmt || need+=(gettext)
if [ "$lab" = 0 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # A Hangul font for the browser tests' Korean screenshots (the pages name system fonts only: docs/i18n.md).
  [ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || need+=(fonts-nanum)
  have psql || need+=(postgresql-client)
fi

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "installing system packages: ${need[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "installing them needs root: run 'sudo $0 $*' once, then again without sudo" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Package maintainer scripts must not start daemons: the tests start their own on loopback ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Helpers built from source for the tests (e.g. vcsim) register themselves here.
for build in tests/*/build.sh; do
  [ -x "$build" ] && "$build"
done
exit 0
