#!/usr/bin/env bash
# Make this machine ready for `make test`: start RabbitMQ, PostgreSQL and Redis where nothing listens
# on their ports, and install with apt what some tests drive when it is missing: Debian's Chromium
# and its driver (tests/browser), wrk (tests/bench) and HAProxy (tests/deployment, which runs the
# shipped haproxy.cfg in front of live gateways). Each action is announced in one line.
set -euo pipefail

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq "$tries"); do
    if "$@"; then return 0; fi
    sleep 1
  done
  echo "prepare: $what did not come up" >&2
  return 1
}

as_root() {
  if [ "$(id -u)" -ne 0 ] && command -v sudo > /dev/null; then
    sudo "$@"
  else
    "$@"
  fi
}

if ! port_open 5672; then
  echo "prepare: starting RabbitMQ (nothing listens on 127.0.0.1:5672)"
  rabbitmq-server -detached
  wait_for "RabbitMQ" 60 rabbitmqctl -q await_startup
  wait_for "RabbitMQ" 60 port_open 5672
fi

if ! port_open 5432; then
  echo "prepare: starting PostgreSQL (nothing listens on 127.0.0.1:5432)"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for "PostgreSQL" 60 port_open 5432
fi

if ! port_open 6379; then
  echo "prepare: starting Redis (nothing listens on 127.0.0.1:6379)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for "Redis" 30 port_open 6379
fi

# The browser tests drive /usr/bin/chromium and never download a browser of their own.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v wrk > /dev/null || missing+=(wrk)
# Debian's default haproxy.cfg binds no port, so its service clashes with nothing if it starts.
command -v haproxy > /dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get > /dev/null; then
    echo "prepare: ${missing[*]} missing and no apt-get here to install them; install them first" >&2
    exit 1
  fi
  echo "prepare: installing ${missing[*]} with apt-get"
  # Only apt's errors are shown: its progress would bury the one line above.
  as_root apt-get update -qq > /dev/null
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
