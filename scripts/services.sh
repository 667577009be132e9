#!/usr/bin/env bash
# Starts the services the full test suite talks to (PostgreSQL, NATS with
# JetStream, Redis) when they are not already running, and Chromium for the
# browser tests, installing them from
# Debian's packages when they are missing. Safe to run again and again.
set -euo pipefail

say() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds
  for _ in $(seq 1 "$(( $3 * 10 ))"); do
    port_open "$1" && return 0
    sleep 0.1
  done
  say "$2 did not start listening on 127.0.0.1:$1"
  return 1
}

apt_install() {
  command -v apt-get >/dev/null || { say "cannot install $*: no apt-get"; return 1; }
  say "installing $*"
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if ! port_open 5432; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      apt_install postgresql
      ver=$(ls /etc/postgresql | head -1)
      sed -i 's/^\(host\|local\).*/\1 all all 127.0.0.1\/32 trust/' "/etc/postgresql/$ver/main/pg_hba.conf" || true
      printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > "/etc/postgresql/$ver/main/pg_hba.conf"
    fi
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_port 5432 PostgreSQL 30
  fi
  # The tests work in a database named test, one schema per test.
  if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -Atc 'CREATE DATABASE test' >/dev/null
  fi
}

# PostGIS is only the peer of the dispatch index's nearest-unit benchmark;
# without it that comparison falls back to plain SQL, so failing to install
# it is not an error.
ensure_postgis() {
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 && return 0
  apt_install "postgresql-$(ls /etc/postgresql | head -1)-postgis-3" || say "PostGIS not installed; the peer benchmark uses plain SQL"
}

ensure_nats() {
  port_open 4222 && return 0
  [ -x /usr/sbin/nats-server ] || apt_install nats-server
  say "starting NATS with JetStream"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222 NATS 30
}

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 Redis 30
}

# The console's browser tests drive Debian's Chromium; the CJK fonts let
# its screenshots show Chinese.
ensure_chromium() {
  # grep reads to the end (no -q): under pipefail an early exit would fail
  # fc-list with SIGPIPE and the fonts would seem missing.
  command -v chromium >/dev/null && fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null && return 0
  apt_install chromium fonts-noto-cjk
}

ensure_postgres
ensure_chromium
ensure_postgis
ensure_nats
ensure_redis
