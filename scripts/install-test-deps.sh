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
  # The PostgreSQL run of CI and the database-down tests need the server binaries (pg_ctl, initdb); Redis is the
  # django-q2 broker of production setups. scripts/services.sh starts both on loopback.
  have pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
  have redis-server || need+=(redis-server)
  # Alertmanager's own example and test configs (config/testdata, ...): Debian ships them in its source package.
  [ -d /usr/share/gocode/src/github.com/prometheus/alertmanager/config/testdata ] || \
    need+=(golang-github-prometheus-alertmanager-dev)
  have dpkg-source || need+=(dpkg-dev)
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

# Prometheus' example and test configs (config/testdata, cmd/promtool/testdata, documentation/examples) of the
# installed version, for tests/artifacts/test_merge_corpus.py. Debian has no -dev package of Prometheus, so its
# source package is fetched with apt's own client (no root needed), from deb-src twins of this machine's Debian
# sources kept in a private apt state (the system's apt configuration is not touched); only those folders are kept.
upstream="${IXNODE_UPSTREAM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ixnode-tests/upstream}"
prom_version="$(dpkg-query -W -f='${Version}' prometheus)"
prom_dir="$upstream/prometheus-$prom_version"
if [ "${lab:-0}" = 0 ] && [ ! -d "$prom_dir" ]; then
  echo "fetching the Debian source of prometheus $prom_version (its example and test configs) into $upstream"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$work/sources.list.d/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] && sed -n 's/^deb /deb-src /p' "$f" > "$work/sources.list.d/$(basename "$f")"
  done
  apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources.list.d"
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=$(id -un)")
  apt-get "${apt_opts[@]}" update -q >/dev/null
  (cd "$work/src" && apt-get "${apt_opts[@]}" source -q "prometheus=$prom_version" >/dev/null 2>&1)
  src="$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'prometheus-*' | head -n 1)"
  [ -n "$src" ] || { echo "apt-get source prometheus=$prom_version gave no source tree" >&2; exit 1; }
  mkdir -p "$upstream"
  rm -rf "$prom_dir.tmp"
  for sub in config/testdata cmd/promtool/testdata documentation/examples; do
    mkdir -p "$prom_dir.tmp/$sub"
    cp -a "$src/$sub/." "$prom_dir.tmp/$sub/"
  done
  mv "$prom_dir.tmp" "$prom_dir"
  rm -rf "$work"
  trap - EXIT
fi

# Helpers built from source for the tests (e.g. vcsim) register themselves here.
for build in tests/*/build.sh; do
  [ -x "$build" ] && "$build"
done
exit 0
