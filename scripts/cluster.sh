#!/usr/bin/env bash
# A local hubcast cluster in one command: PostgreSQL, RabbitMQ and Redis (scripts/services.sh),
# a fresh database, vhost and Redis namespace, N gateway nodes, the event generator, and nginx in
# front of the nodes (deploy/nginx.conf). Everything it starts is recorded under one directory and
# `down` removes all of it again.
#
#   bash scripts/cluster.sh up [--nodes N] [--rate R]   start it all; prints the URL
#   bash scripts/cluster.sh status                      what runs, where, and is it ready
#   bash scripts/cluster.sh down                        stop everything `up` started, drop its data
#   bash scripts/cluster.sh stop|kill|start NODE        drain (SIGTERM) / crash (SIGKILL) / start node NODE (1..N)
#   bash scripts/cluster.sh logs [NODE|generator|nginx] follow a log
#   bash scripts/cluster.sh install-nginx               install nginx if missing (used by the tests)
#   bash scripts/cluster.sh render-nginx PREFIX LISTEN PORT...   print deploy/nginx.conf filled in
#
# Environment (defaults in brackets):
#   HUBCAST_CLUSTER_DIR [/tmp/hubcast-cluster]   state, logs, nginx prefix, node data dirs
#   HUBCAST_CLUSTER_PORT [8080]                  nginx's public port (127.0.0.1)
#   HUBCAST_CLUSTER_NODE_PORT [8101]             first node's port; node i listens on NODE_PORT+i-1
#   HUBCAST_CLUSTER_NODES [3]  HUBCAST_CLUSTER_RATE [2]  (generator events per second)
#   Any hubcast variable (HISTORY_SIZE, LOG_LEVEL, JWT_SECRET, …) is passed on to the nodes.
# Services are shared with the test suite (scripts/services.sh, same ports); `down` stops only the
# ones `up` had to start. Needs root (services.sh installs packages and runs PostgreSQL via runuser).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${HUBCAST_CLUSTER_DIR:-/tmp/hubcast-cluster}
PUBLIC_PORT=${HUBCAST_CLUSTER_PORT:-8080}
NODE_PORT=${HUBCAST_CLUSTER_NODE_PORT:-8101}
NODES=${HUBCAST_CLUSTER_NODES:-3}
RATE=${HUBCAST_CLUSTER_RATE:-2}
STATE="$DIR/cluster.env"
SERVICES="$ROOT/scripts/services.sh"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }
# now_ms, wait_for, port_open/closed, pid_alive/gone, read_pid
source "$ROOT/scripts/lib/proc.sh"
http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }

# ---------------------------------------------------------------- nginx

install_nginx() {
  command -v nginx >/dev/null && return 0
  command -v apt-get >/dev/null || die "nginx is not installed and apt-get is not available"
  (( EUID == 0 )) || die "nginx is not installed; run as root (or apt-get install nginx) first"
  log "installing nginx (apt-get)"
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    # Without systemd, the package's postinst would start a system nginx on port 80.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && created_policy=1
  fi
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local rc=0
  mkdir -p "$DIR"
  if ! apt-cache show nginx >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >"$DIR/apt.log" 2>&1 || rc=$?
  fi
  (( rc != 0 )) || DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends nginx >>"$DIR/apt.log" 2>&1 || rc=$?
  (( created_policy )) && rm -f /usr/sbin/policy-rc.d
  (( rc == 0 )) || { tail -n 20 "$DIR/apt.log" >&2; die "apt-get install nginx failed (exit $rc)"; }
}

# render_nginx PREFIX LISTEN PORT...: deploy/nginx.conf with its placeholders filled in.
render_nginx() {
  local prefix=$1 listen=$2; shift 2
  local servers="" p
  for p in "$@"; do servers+="server 127.0.0.1:$p max_fails=0;\\n        "; done
  # Comment lines are left alone: they name the placeholders too.
  sed -e "/^[[:space:]]*#/!{s|__PREFIX__|$prefix|g; s|__LISTEN__|$listen|g; s|__UPSTREAM_SERVERS__|$servers|}" "$ROOT/deploy/nginx.conf"
}

nginx_start() {
  local prefix="$DIR/nginx" ports=() i
  for (( i = 1; i <= NODES; i++ )); do ports+=("$(( NODE_PORT + i - 1 ))"); done
  mkdir -p "$prefix/tmp"
  render_nginx "$prefix" "127.0.0.1:$PUBLIC_PORT" "${ports[@]}" >"$prefix/nginx.conf"
  nginx -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>>"$prefix/error.log" \
    || { tail -n 5 "$prefix/error.log" >&2; die "nginx: the rendered config is invalid ($prefix/nginx.conf)"; }
  nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
    || { tail -n 5 "$prefix/error.log" >&2; die "nginx: failed to start"; }
  wait_for 10 port_open "$PUBLIC_PORT" || die "nginx: not listening on $PUBLIC_PORT"
}

nginx_stop() {
  local pid; pid=$(read_pid "$DIR/nginx/nginx.pid")
  pid_alive "$pid" || return 0
  log "nginx: stopping (pid $pid)"
  kill -QUIT "$pid" 2>/dev/null || true
  wait_for 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- nodes and generator

# The environment every hubcast process of the cluster gets (cluster.env holds the URLs).
hubcast_env() {
  # shellcheck disable=SC1090
  source "$STATE"
  export DATABASE_URL BROKER_URL REDIS_URL REDIS_PREFIX
  # Behind nginx every client arrives from 127.0.0.1: the per-address limit would cap the cluster.
  export REALTIME_MAX_CONNECTIONS_PER_IP=${REALTIME_MAX_CONNECTIONS_PER_IP:-0}
  # Resume needs history covering the longest outage a client may have; 1000 per channel is only
  # a few seconds of a busy `products` channel.
  export HISTORY_SIZE=${HISTORY_SIZE:-50000}
  # Quick SSE reconnects after a node dies (the EventSource waits this long before retrying).
  export SSE_RETRY_MS=${SSE_RETRY_MS:-500}
  export LOG_LEVEL=${LOG_LEVEL:-info}
}

node_port() { echo $(( NODE_PORT + $1 - 1 )); }

node_start() {
  local i=$1 port; port=$(node_port "$i")
  local pid; pid=$(read_pid "$DIR/node-$i.pid")
  if pid_alive "$pid"; then log "node $i: already running (pid $pid)"; return 0; fi
  port_open "$port" && die "node $i: port $port is taken by another process (set HUBCAST_CLUSTER_NODE_PORT)"
  mkdir -p "$DIR/node-$i"
  (
    hubcast_env
    export PORT=$port HOST=127.0.0.1 NODE_ID="node-$i" DATA_DIR="$DIR/node-$i"
    cd "$DIR/node-$i"
    # setsid: the node outlives this shell and gets no SIGINT from the terminal that ran `up`.
    setsid node "$ROOT/dist/cli.js" gateway >>"$DIR/node-$i.log" 2>&1 </dev/null &
    echo $! >"$DIR/node-$i.pid"
  )
  log "node $i: starting on 127.0.0.1:$port (pid $(read_pid "$DIR/node-$i.pid"), log $DIR/node-$i.log)"
}

node_wait_ready() {
  local i=$1 port; port=$(node_port "$i")
  if ! wait_for 60 http_ok "http://127.0.0.1:$port/readyz"; then
    tail -n 20 "$DIR/node-$i.log" >&2
    die "node $i: not ready on port $port after 60 s (log $DIR/node-$i.log)"
  fi
}

# node_signal NODE SIGNAL: SIGTERM drains (clients get 1012 / end of stream and reconnect elsewhere).
node_signal() {
  local i=$1 sig=$2 pid; pid=$(read_pid "$DIR/node-$i.pid")
  pid_alive "$pid" || { log "node $i: not running"; return 0; }
  log "node $i: $sig (pid $pid)"
  kill "-$sig" "$pid" 2>/dev/null || true
  wait_for 15 pid_gone "$pid" || { log "node $i: still running after 15 s; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$DIR/node-$i.pid"
}

generator_start() {
  (
    hubcast_env
    export DATA_DIR="$DIR/generator"
    mkdir -p "$DATA_DIR"
    cd "$DATA_DIR"
    setsid node "$ROOT/dist/cli.js" generator --rate "$RATE" >>"$DIR/generator.log" 2>&1 </dev/null &
    echo $! >"$DIR/generator.pid"
  )
  log "generator: $RATE events/s (pid $(read_pid "$DIR/generator.pid"), log $DIR/generator.log)"
}

generator_stop() {
  local pid; pid=$(read_pid "$DIR/generator.pid")
  pid_alive "$pid" || return 0
  log "generator: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  wait_for 15 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/generator.pid"
}

# ---------------------------------------------------------------- data: database, vhost, Redis keys

PSQL=/usr/lib/postgresql/15/bin/psql
psql_admin() { PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB_URL" "$@"; }

data_create() {
  local name=$1
  eval "$(bash "$SERVICES" env)"
  ADMIN_DB_URL="${HUBCAST_TEST_DATABASE_URL%/*}/postgres"
  psql_admin -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null \
    || die "postgres: could not create database $name"
  local mgmt=${HUBCAST_TEST_RABBITMQ_MGMT#http://guest:guest@}
  curl -fsS -u guest:guest -X DELETE "http://$mgmt/api/vhosts/$name" >/dev/null 2>&1 || true
  curl -fsS -u guest:guest -X PUT "http://$mgmt/api/vhosts/$name" >/dev/null || die "rabbitmq: could not create vhost $name"
  curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' -d '{"configure":".*","write":".*","read":".*"}' \
    "http://$mgmt/api/permissions/$name/guest" >/dev/null || die "rabbitmq: could not grant guest on vhost $name"
  cat >"$STATE" <<EOF
CLUSTER_NAME=$name
NODES=$NODES
NODE_PORT=$NODE_PORT
PUBLIC_PORT=$PUBLIC_PORT
RATE=$RATE
DATABASE_URL=${HUBCAST_TEST_DATABASE_URL%/*}/$name
BROKER_URL=$HUBCAST_TEST_BROKER_URL/$name
REDIS_URL=$HUBCAST_TEST_REDIS_URL
REDIS_PREFIX=$name:
ADMIN_DB_URL=$ADMIN_DB_URL
RABBITMQ_MGMT=http://$mgmt
STARTED_SERVICES="${STARTED_SERVICES[*]}"
EOF
}

data_drop() {
  # shellcheck disable=SC1090
  source "$STATE"
  if bash "$SERVICES" status postgres >/dev/null 2>&1; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$CLUSTER_NAME\" WITH (FORCE)" >/dev/null || log "warning: could not drop database $CLUSTER_NAME"
  fi
  if bash "$SERVICES" status rabbitmq >/dev/null 2>&1; then
    curl -fsS -u guest:guest -X DELETE "$RABBITMQ_MGMT/api/vhosts/$CLUSTER_NAME" >/dev/null 2>&1 || log "warning: could not delete vhost $CLUSTER_NAME"
  fi
  if bash "$SERVICES" status redis >/dev/null 2>&1; then
    local hostport=${REDIS_URL#redis://}
    redis-cli -h "${hostport%:*}" -p "${hostport##*:}" --scan --pattern "$REDIS_PREFIX*" \
      | xargs -r -n 500 redis-cli -h "${hostport%:*}" -p "${hostport##*:}" DEL >/dev/null || log "warning: could not delete Redis keys $REDIS_PREFIX*"
  fi
}

# ---------------------------------------------------------------- commands

ensure_built() {
  command -v node >/dev/null || die "node is not installed (Node >= 20 needed)"
  if [[ ! -d $ROOT/node_modules ]]; then
    log "npm ci (first run)"
    (cd "$ROOT" && npm ci --no-audit --no-fund >"$DIR/npm.log" 2>&1) || { tail -n 20 "$DIR/npm.log" >&2; die "npm ci failed"; }
  fi
  if [[ ! -f $ROOT/dist/cli.js ]] || [[ -n $(find "$ROOT/src" -newer "$ROOT/dist/cli.js" -name '*.ts' -print -quit) ]]; then
    log "building (npm run build)"
    (cd "$ROOT" && npm run build --silent >"$DIR/build.log" 2>&1) || { tail -n 20 "$DIR/build.log" >&2; die "npm run build failed (log $DIR/build.log)"; }
  fi
}

cmd_up() {
  while (( $# )); do
    case $1 in
      --nodes) NODES=${2:?--nodes needs a number}; shift 2 ;;
      --nodes=*) NODES=${1#*=}; shift ;;
      --rate) RATE=${2:?--rate needs a number}; shift 2 ;;
      --rate=*) RATE=${1#*=}; shift ;;
      *) die "unknown option $1 (usage: cluster.sh up [--nodes N] [--rate R])" ;;
    esac
  done
  [[ $NODES =~ ^[1-9][0-9]?$ ]] || die "--nodes: expected 1..99 (got $NODES)"
  (( EUID == 0 )) || die "must run as root (scripts/services.sh installs packages and runs PostgreSQL via runuser)"
  if [[ -f $STATE ]]; then
    die "a cluster is already up (state in $DIR); run: bash scripts/cluster.sh status  or  bash scripts/cluster.sh down"
  fi
  local t0; t0=$(now_ms)
  mkdir -p "$DIR"
  port_open "$PUBLIC_PORT" && die "port $PUBLIC_PORT is taken (set HUBCAST_CLUSTER_PORT)"
  local i
  for (( i = 1; i <= NODES; i++ )); do
    port_open "$(node_port "$i")" && die "port $(node_port "$i") (node $i) is taken (set HUBCAST_CLUSTER_NODE_PORT)"
  done
  # If anything below fails, take down what was started so far.
  trap 'rc=$?; if (( rc != 0 )) && [[ -f $STATE ]]; then log "up failed; tearing down"; cmd_down; fi; exit $rc' EXIT

  ensure_built
  install_nginx
  STARTED_SERVICES=()
  local s
  for s in postgres redis rabbitmq; do bash "$SERVICES" status "$s" >/dev/null 2>&1 || STARTED_SERVICES+=("$s"); done
  bash "$SERVICES" start
  # Named after the public port: two clusters (two checkouts, two DIRs) never share data.
  data_create "hubcast_cluster_$PUBLIC_PORT"
  for (( i = 1; i <= NODES; i++ )); do node_start "$i"; done
  for (( i = 1; i <= NODES; i++ )); do node_wait_ready "$i"; done
  generator_start
  nginx_start
  wait_for 10 http_ok "http://127.0.0.1:$PUBLIC_PORT/readyz" || die "nginx answers but /readyz through it does not"
  trap - EXIT
  # Later commands need the same settings when they are not the defaults.
  local again=""
  [[ $DIR == /tmp/hubcast-cluster ]] || again+="HUBCAST_CLUSTER_DIR=$DIR "
  cat <<EOF

hubcast cluster up in $(( ($(now_ms) - t0) / 1000 )) s: $NODES gateway nodes behind nginx, generator at $RATE events/s.

  URL            http://127.0.0.1:$PUBLIC_PORT/            (live catalog dashboard)
  SSE            http://127.0.0.1:$PUBLIC_PORT/realtime/events?channels=products
  WebSocket      ws://127.0.0.1:$PUBLIC_PORT/realtime/ws
  SSE test page  http://127.0.0.1:$PUBLIC_PORT/realtime/sse-test
  nodes          $(for (( i = 1; i <= NODES; i++ )); do printf 'http://127.0.0.1:%s ' "$(node_port "$i")"; done)
  logs           $DIR/*.log

  try            node examples/echo-sse.js http://127.0.0.1:$PUBLIC_PORT
  status         ${again}bash scripts/cluster.sh status
  crash a node   ${again}bash scripts/cluster.sh kill 2 && ${again}bash scripts/cluster.sh start 2
  drain a node   ${again}bash scripts/cluster.sh stop 3 && ${again}bash scripts/cluster.sh start 3
  stop it all    ${again}bash scripts/cluster.sh down
EOF
}

cmd_down() {
  if [[ ! -f $STATE ]]; then log "no cluster is up ($STATE missing)"; return 0; fi
  # shellcheck disable=SC1090
  source "$STATE"
  nginx_stop
  generator_stop
  local i
  for (( i = 1; i <= NODES; i++ )); do node_signal "$i" TERM; done
  data_drop
  # shellcheck disable=SC2206
  local started=($STARTED_SERVICES)
  if (( ${#started[@]} )); then bash "$SERVICES" stop "${started[@]}" || log "warning: stopping ${started[*]} failed"; fi
  rm -rf "$DIR"
  log "cluster down"
}

cmd_status() {
  if [[ ! -f $STATE ]]; then echo "cluster: down"; return 3; fi
  # shellcheck disable=SC1090
  source "$STATE"
  local rc=0 i pid port ready
  echo "cluster: $NODES nodes, state in $DIR"
  pid=$(read_pid "$DIR/nginx/nginx.pid")
  if pid_alive "$pid" && http_ok "http://127.0.0.1:$PUBLIC_PORT/healthz"; then
    echo "nginx:     running  http://127.0.0.1:$PUBLIC_PORT  (pid $pid)"
  else
    echo "nginx:     DOWN"; rc=3
  fi
  for (( i = 1; i <= NODES; i++ )); do
    pid=$(read_pid "$DIR/node-$i.pid"); port=$(node_port "$i")
    if pid_alive "$pid"; then
      ready=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
      echo "node $i:    running  http://127.0.0.1:$port  (pid $pid, readyz $ready)"
      [[ $ready == 200 ]] || rc=3
    else
      echo "node $i:    DOWN     (port $port)"; rc=3
    fi
  done
  pid=$(read_pid "$DIR/generator.pid")
  if pid_alive "$pid"; then echo "generator: running  $RATE events/s  (pid $pid)"; else echo "generator: DOWN"; rc=3; fi
  bash "$SERVICES" status || rc=3
  return $rc
}

cmd_node() {
  local action=$1 i=${2:-}
  [[ -f $STATE ]] || die "no cluster is up"
  # shellcheck disable=SC1090
  source "$STATE"
  [[ $i =~ ^[0-9]+$ ]] && (( i >= 1 && i <= NODES )) || die "$action: expected a node number 1..$NODES"
  case $action in
    stop) node_signal "$i" TERM ;;
    kill) node_signal "$i" KILL ;;
    start) node_start "$i"; node_wait_ready "$i"; log "node $i: ready" ;;
  esac
}

cmd_logs() {
  [[ -d $DIR ]] || die "no cluster is up"
  case ${1:-} in
    '') tail -n 20 -F "$DIR"/*.log ;;
    generator) tail -n 50 -F "$DIR/generator.log" ;;
    nginx) tail -n 50 -F "$DIR/nginx/error.log" ;;
    *) tail -n 50 -F "$DIR/node-$1.log" ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

cmd=${1:-}
(( $# )) && shift
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  stop|kill|start) cmd_node "$cmd" "$@" ;;
  logs) cmd_logs "$@" ;;
  install-nginx) install_nginx ;;
  render-nginx) render_nginx "$@" ;;
  -h|--help|help|'') usage ;;
  *) printf '[cluster] error: unknown command %s\n' "$cmd" >&2; usage ;;
esac
