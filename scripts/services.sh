#!/usr/bin/env bash
# Starts PostgreSQL and Redis on loopback when they are not running, and creates the CI database.
set -euo pipefail
# Every Prometheus the tests start holds inotify instances (file_sd watchers); the kernel default of 128 per
# user is shared with everything else on the machine. Raise it when we may (root); harmless otherwise.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 1024)" -lt 1024 ]; then
  sysctl -q -w fs.inotify.max_user_instances=1024 2>/dev/null || echo "note: could not raise fs.inotify.max_user_instances" >&2
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp \
    --logfile /tmp/redis-ixnode.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ixnode_ci'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE ixnode_ci" >/dev/null
