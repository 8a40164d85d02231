#!/usr/bin/env bash
# Installs, starts, health-checks and stops the real services the test suite needs:
# PostgreSQL 15, Redis and RabbitMQ (with the management plugin), all on loopback,
# all state under one directory, no systemd.
#
#   bash scripts/services.sh start   [--adopt] [redis|postgres|rabbitmq ...]   (default: all three)
#                                    a service already running on its port is refused unless --adopt
#                                    (HUBCAST_SERVICES_ADOPT=1): then it is used, and `stop` stops it
#   bash scripts/services.sh stop    [service ...]
#   bash scripts/services.sh restart [service ...]
#   bash scripts/services.sh status  [service ...]   exit 0 only when every named service is healthy
#   bash scripts/services.sh env                     shell `export` lines for the tests (HUBCAST_TEST_*)
#   bash scripts/services.sh env --app               the same URLs as DATABASE_URL, BROKER_URL, REDIS_URL for hubcast
#   bash scripts/services.sh tools                   install the test clients: chromium, nginx (when missing)
#
# Environment (defaults in brackets):
#   HUBCAST_SERVICES_DIR [/tmp/hubcast-services]   state, logs, sockets; must be traversable by `postgres`
#   HUBCAST_PG_PORT [55432]  HUBCAST_REDIS_PORT [56379]  HUBCAST_AMQP_PORT [55672]
#   HUBCAST_RABBITMQ_DIST_PORT [55673]  HUBCAST_RABBITMQ_MGMT_PORT [55674]
#   HUBCAST_RABBITMQ_CTL_PORT_MIN [55675]  HUBCAST_RABBITMQ_CTL_PORT_MAX [55685]  (CLI tool distribution ports)
#   HUBCAST_EPMD_PORT [4369]
#   HUBCAST_SERVICES_TIMEOUT [90]  seconds to wait for a service to become healthy
#   HUBCAST_SERVICES_STALE_MINUTES [120]  `start` drops test databases/vhosts older than this
#
# `start --adopt` reuses a healthy running instance; `stop` on a stopped service is a no-op.
# Concurrent invocations are serialized with a lock file, so parallel test runs may all call `start`.
set -euo pipefail

SELF=$(readlink -f "$0")
# Daemons inherit the working directory: start them from one that cannot be
# deleted under them (an Erlang node whose cwd is gone can no longer spawn
# helpers, and RabbitMQ's management API then fails with 500s).
cd /
DIR=${HUBCAST_SERVICES_DIR:-/tmp/hubcast-services}
PG_PORT=${HUBCAST_PG_PORT:-55432}
REDIS_PORT=${HUBCAST_REDIS_PORT:-56379}
AMQP_PORT=${HUBCAST_AMQP_PORT:-55672}
DIST_PORT=${HUBCAST_RABBITMQ_DIST_PORT:-55673}
MGMT_PORT=${HUBCAST_RABBITMQ_MGMT_PORT:-55674}
CTL_PORT_MIN=${HUBCAST_RABBITMQ_CTL_PORT_MIN:-55675}
CTL_PORT_MAX=${HUBCAST_RABBITMQ_CTL_PORT_MAX:-55685}
EPMD_PORT=${HUBCAST_EPMD_PORT:-4369}
TIMEOUT=${HUBCAST_SERVICES_TIMEOUT:-90}
ADOPT=${HUBCAST_SERVICES_ADOPT:-0}

PG_BIN=/usr/lib/postgresql/15/bin
RABBIT_BIN=/usr/lib/rabbitmq/bin
ALL_SERVICES=(postgres redis rabbitmq)

# ---------------------------------------------------------------- helpers

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# Prints the tail of a log file to stderr, so a failed start explains itself. Only what was
# written since `mark_log FILE` (if called), so the tail is about this attempt, not an older one.
declare -A LOG_FROM=()
mark_log() { LOG_FROM[$1]=$(stat -c %s "$1" 2>/dev/null || echo 0); }
show_log() {
  local file=$1 from=${LOG_FROM[$1]:-0} size
  size=$(stat -c %s "$file" 2>/dev/null || echo 0)
  (( size >= from )) || from=0
  if (( size > from )); then
    printf '[services] --- last lines of %s ---\n' "$file" >&2
    tail -c +"$(( from + 1 ))" "$file" | tail -n 40 >&2 || true
    printf '[services] ---\n' >&2
  else
    printf '[services] (nothing new in %s)\n' "$file" >&2
  fi
}

# now_ms, wait_for, port_open/closed, pid_alive/gone, read_pid
source "$(dirname "$SELF")/lib/proc.sh"

STALE_MINUTES=${HUBCAST_SERVICES_STALE_MINUTES:-120}

# is_stale NAME: true when NAME (`<prefix><base36 ms timestamp>_<hex>`, as test/helpers/services.ts
# makes them) is older than STALE_MINUTES: left behind by a test that crashed before its drop().
is_stale() {
  local ts=${1##*[-_]test[-_]}
  ts=${ts%%_*}
  [[ $ts =~ ^[0-9a-z]{6,12}$ ]] || return 1
  (( $(now_ms) - 36#$ts > STALE_MINUTES * 60000 ))
}

APT_UPDATED=0
# apt_install PKG...: installs only the given (missing) packages. Waits for a dpkg lock held by a
# concurrent apt run instead of failing, and keeps postinst scripts from starting system-wide daemons.
apt_install() {
  local pkgs=("$@")
  (( ${#pkgs[@]} )) || return 0
  command -v apt-get >/dev/null || die "apt-get not found; cannot install ${pkgs[*]}"
  local t0; t0=$(now_ms)
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    # Without systemd, invoke-rc.d would start redis/rabbitmq on their public default ports.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && created_policy=1
  fi
  : >"$DIR/apt.log"
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local rc=0
  local need_update=0
  local p
  for p in "${pkgs[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
  done
  if (( need_update && ! APT_UPDATED )); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$DIR/apt.log" 2>&1 || rc=$?
    APT_UPDATED=1
  fi
  if (( rc == 0 )); then
    log "installing ${pkgs[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >>"$DIR/apt.log" 2>&1 || rc=$?
    if (( rc != 0 && ! APT_UPDATED )); then
      # Stale package lists name versions the mirror no longer has: refresh once and retry.
      log "apt-get install failed; apt-get update and retry"
      rc=0
      APT_UPDATED=1
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$DIR/apt.log" 2>&1 || rc=$?
      (( rc != 0 )) || DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >>"$DIR/apt.log" 2>&1 || rc=$?
    fi
  fi
  (( created_policy )) && rm -f /usr/sbin/policy-rc.d
  if (( rc != 0 )); then
    show_log "$DIR/apt.log"
    die "apt-get install ${pkgs[*]} failed (exit $rc)"
  fi
  log "installed ${pkgs[*]} in $(( $(now_ms) - t0 )) ms"
}

ensure_dir() {
  install -d -m 0755 "$DIR"
  # PostgreSQL runs as `postgres` and must reach its data directory through every parent.
  if ! runuser -u postgres -- test -x "$DIR" 2>/dev/null; then
    die "HUBCAST_SERVICES_DIR=$DIR is not traversable by the postgres user (put it under /tmp, not /root)"
  fi
}

# Serializes start/stop/restart across concurrent invocations (parallel test runs, chaos tests):
# re-runs this script under `flock -o`, so the lock is held by flock itself and never inherited by
# the daemons we start (an inherited lock fd would outlive this script and block every later call).
run_locked() {
  if [[ ${HUBCAST_SERVICES_LOCKED:-} == "$DIR" ]]; then return 0; fi
  local rc=0
  HUBCAST_SERVICES_LOCKED=$DIR flock -o -E 75 -w 600 "$DIR/.lock" bash "$SELF" "$@" || rc=$?
  (( rc != 75 )) || die "timed out after 600 s waiting for the lock on $DIR/.lock"
  exit $rc
}

# ---------------------------------------------------------------- PostgreSQL

PG_DIR="$DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"

pg() { runuser -u postgres -- "$PG_BIN/$1" "${@:2}"; }
psql_admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

postgres_healthy() {
  "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d hubcast -c 'select 1' 2>/dev/null | grep -qx 1
}

postgres_install() {
  [[ -x $PG_BIN/pg_ctl ]] || apt_install postgresql-15
}

postgres_start() {
  if postgres_healthy; then adopt_or_die postgres "127.0.0.1:$PG_PORT"; return 0; fi
  postgres_install
  install -d -m 0755 -o postgres -g postgres "$PG_DIR" "$PG_RUN"
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    rm -rf "$PG_DATA"
    log "postgres: initdb $PG_DATA"
    if ! pg initdb -D "$PG_DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1; then
      show_log "$PG_DIR/initdb.log"; rm -rf "$PG_DATA"; die "postgres: initdb failed"
    fi
  fi
  # A server from this data directory on another port (env changed) would block the start: stop it.
  if pg pg_ctl -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres: running but not healthy on port $PG_PORT; restarting it"
    pg pg_ctl -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if port_open "$PG_PORT"; then die "postgres: port $PG_PORT is taken by another process (set HUBCAST_PG_PORT)"; fi
  log "postgres: starting on 127.0.0.1:$PG_PORT"
  local opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_RUN -c fsync=off -c synchronous_commit=off"
  opts+=" -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
  mark_log "$PG_LOG"
  if ! pg pg_ctl -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start -o "$opts" >/dev/null 2>&1; then
    show_log "$PG_LOG"; die "postgres: failed to start (log: $PG_LOG)"
  fi
  if ! psql_admin -d postgres -Atc "select 1 from pg_database where datname = 'hubcast'" | grep -qx 1; then
    psql_admin -d postgres -c 'create database hubcast owner postgres' >/dev/null \
      || { show_log "$PG_LOG"; die "postgres: could not create database hubcast"; }
  fi
  wait_for "$TIMEOUT" postgres_healthy || { show_log "$PG_LOG"; die "postgres: not healthy after ${TIMEOUT}s"; }
}

# Drops test databases that outlived their test (see is_stale).
postgres_clean() {
  local name n=0
  while read -r name; do
    [[ -n $name ]] && is_stale "$name" || continue
    psql_admin -d postgres -c "drop database if exists \"$name\" with (force)" >/dev/null && n=$(( n + 1 ))
  done < <(psql_admin -d postgres -Atc "select datname from pg_database where datname like 'hubcast\_test\_%'")
  (( n == 0 )) || log "postgres: dropped $n stale test database(s)"
}

postgres_stop() {
  if [[ -s $PG_DATA/PG_VERSION ]] && pg pg_ctl -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres: stopping"
    pg pg_ctl -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || pg pg_ctl -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || { show_log "$PG_LOG"; die "postgres: failed to stop"; }
  else
    log "postgres: not running"
  fi
}

postgres_status() {
  if postgres_healthy; then echo "postgres: running  127.0.0.1:$PG_PORT  (data $PG_DATA)"; return 0; fi
  echo "postgres: stopped"; return 1
}

# ---------------------------------------------------------------- Redis

REDIS_DIR="$DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

redis_healthy() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_start() {
  if command -v redis-cli >/dev/null && redis_healthy; then adopt_or_die redis "127.0.0.1:$REDIS_PORT"; return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server
  install -d -m 0755 "$REDIS_DIR"
  if port_open "$REDIS_PORT"; then die "redis: port $REDIS_PORT is taken by another process (set HUBCAST_REDIS_PORT)"; fi
  log "redis: starting on 127.0.0.1:$REDIS_PORT"
  : >"$REDIS_LOG"
  rm -f "$REDIS_PID"
  # Persistence as production runs it: an append-only file fsynced every second. Without it a
  # restarted Redis comes back empty and every client resuming across it is told recovery_failed
  # (docs/cluster.md); with it, a crash loses at most the last second (a graceful stop nothing).
  if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' --appendonly yes --appendfsync everysec \
      --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --maxclients 10000 >/dev/null 2>&1; then
    show_log "$REDIS_LOG"; die "redis: failed to start (log: $REDIS_LOG)"
  fi
  wait_for "$TIMEOUT" redis_healthy || { show_log "$REDIS_LOG"; die "redis: not healthy after ${TIMEOUT}s"; }
}

redis_stop() {
  local pid; pid=$(read_pid "$REDIS_PID")
  if command -v redis-cli >/dev/null && redis_healthy; then
    log "redis: stopping"
    pid=${pid:-$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')}
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  elif pid_alive "$pid"; then
    log "redis: not answering; killing pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
  else
    log "redis: not running"; rm -f "$REDIS_PID"; return 0
  fi
  if [[ -n $pid ]] && ! wait_for 20 pid_gone "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait_for 20 port_closed "$REDIS_PORT" || die "redis: port $REDIS_PORT still open after stop"
  rm -f "$REDIS_PID"
}

redis_status() {
  if command -v redis-cli >/dev/null && redis_healthy; then echo "redis: running  127.0.0.1:$REDIS_PORT  (pid $(read_pid "$REDIS_PID"))"; return 0; fi
  echo "redis: stopped"; return 1
}

# ---------------------------------------------------------------- RabbitMQ

RMQ_DIR="$DIR/rabbitmq"
RMQ_PID="$RMQ_DIR/rabbit.pid"
RMQ_LOG_DIR="$RMQ_DIR/log"
# One node name per port: a second instance (a benchmark's private services) on the same
# machine shares epmd, and two nodes registered under one name break each other.
RMQ_NODE="hubcast-$AMQP_PORT@localhost"
RMQ_LOG="$RMQ_LOG_DIR/$RMQ_NODE.log"
MGMT_URL="http://127.0.0.1:$MGMT_PORT"

# Everything the node and the CLI tools must agree on; set before the first CLI call (MACHINE.md).
rabbit_env() {
  export HOME="$RMQ_DIR/home"
  export RABBITMQ_NODENAME=$RMQ_NODE
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT
  # The CLI's own distribution ports default to DIST_PORT+10000.., past 65535 with our dist port.
  export RABBITMQ_CTL_DIST_PORT_MIN=$CTL_PORT_MIN
  export RABBITMQ_CTL_DIST_PORT_MAX=$CTL_PORT_MAX
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT=$EPMD_PORT
  # +sbwt none…: no scheduler busy-waiting. On a small machine shared with the gateway, spinning
  # schedulers take CPU the gateway needs (RabbitMQ runtime tuning guide).
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_LOG_DIR"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_PID_FILE="$RMQ_PID"
  export RABBITMQ_ALLOW_INPUT=false
}

rabbitmqctl() { "$RABBIT_BIN/rabbitmqctl" "$@"; }

mgmt_get() { curl -fsS --max-time 5 -u guest:guest "$MGMT_URL$1"; }

# Healthy = the management API answers and its aliveness test round-trips a message over AMQP.
rabbitmq_healthy() {
  command -v curl >/dev/null || return 1
  port_open "$AMQP_PORT" || return 1
  mgmt_get /api/aliveness-test/%2F 2>/dev/null | grep -q '"status":"ok"'
}

rabbitmq_install() {
  local missing=()
  [[ -x $RABBIT_BIN/rabbitmq-server ]] || missing+=(rabbitmq-server)
  command -v curl >/dev/null || missing+=(curl)
  apt_install "${missing[@]}"
}

rabbitmq_write_config() {
  install -d -m 0755 "$RMQ_DIR" "$RMQ_LOG_DIR" "$RMQ_DIR/mnesia"
  install -d -m 0700 "$RMQ_DIR/home"
  local cookie="$RMQ_DIR/home/.erlang.cookie"
  if [[ ! -s $cookie ]]; then
    local value; value=$(od -An -N20 -tx1 /dev/urandom | tr -dc '0-9a-f')
    printf '%s' "${value^^}" >"$cookie"
  fi
  chmod 0400 "$cookie"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  # The management collectors run at the smallest sample interval of these policies (default 5 s),
  # however small collect_statistics_interval is; 1 s keeps queueInfo() within ~1.5 s of the truth.
  cat >"$RMQ_DIR/advanced.config" <<'EOF'
[{rabbitmq_management_agent,
  [{sample_retention_policies, [{global, [{60, 1}]}, {basic, [{60, 1}]}, {detailed, [{60, 1}]}]}]}].
EOF
  printf '[rabbitmq_management].\n' >"$RMQ_DIR/enabled_plugins"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/services.sh; rewritten on every start.
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
# Queue counters in the management API refresh at this interval (default 5 s): tests poll them.
collect_statistics_interval = 500
disk_free_limit.absolute = 50MB
log.file.level = info
log.console = false
EOF
}

rabbitmq_start() {
  if rabbitmq_healthy; then adopt_or_die rabbitmq "127.0.0.1:$AMQP_PORT (management $MGMT_PORT)"; return 0; fi
  rabbitmq_install
  rabbitmq_write_config
  rabbit_env
  local pid; pid=$(read_pid "$RMQ_PID")
  if pid_alive "$pid"; then
    log "rabbitmq: node (pid $pid) running but not healthy; stopping it first"
    rabbitmq_stop
  fi
  local p
  for p in "$AMQP_PORT" "$DIST_PORT" "$MGMT_PORT"; do
    port_open "$p" && die "rabbitmq: port $p is taken by another process (see HUBCAST_*_PORT)"
  done
  log "rabbitmq: starting on 127.0.0.1:$AMQP_PORT (management $MGMT_PORT)"
  rm -f "$RMQ_PID"
  mark_log "$RMQ_LOG"
  # -detached forks the VM; its stdout is useless, the node logs to $RMQ_LOG.
  if ! "$RABBIT_BIN/rabbitmq-server" -detached >"$RMQ_DIR/startup.log" 2>&1; then
    show_log "$RMQ_DIR/startup.log"; die "rabbitmq: rabbitmq-server -detached failed"
  fi
  # `wait <pidfile>` first: before the node writes its pid file, await_startup fails at once.
  if ! rabbitmqctl -q wait --timeout "$TIMEOUT" "$RMQ_PID" >>"$RMQ_DIR/startup.log" 2>&1 \
      || ! rabbitmqctl -q await_startup --timeout "$TIMEOUT" >>"$RMQ_DIR/startup.log" 2>&1; then
    show_log "$RMQ_DIR/startup.log"; show_log "$RMQ_LOG"; die "rabbitmq: failed to start (log: $RMQ_LOG)"
  fi
  wait_for "$TIMEOUT" rabbitmq_healthy \
    || { show_log "$RMQ_LOG"; die "rabbitmq: management API not healthy on $MGMT_URL after ${TIMEOUT}s"; }
}

# Deletes test vhosts that outlived their test (see is_stale); each idle vhost still costs the
# node message-store processes and slows every start and stop.
rabbitmq_clean() {
  local name n=0
  while read -r name; do
    [[ -n $name ]] && is_stale "$name" || continue
    curl -fsS --max-time 30 -u guest:guest -X DELETE "$MGMT_URL/api/vhosts/$name" >/dev/null && n=$(( n + 1 ))
  done < <(mgmt_get '/api/vhosts?columns=name' | grep -o '"name":"hubcast-test-[a-z0-9_]*"' | cut -d'"' -f4)
  (( n == 0 )) || log "rabbitmq: deleted $n stale test vhost(s)"
}

redis_clean() { :; }

rabbitmq_stop() {
  rabbit_env
  local pid; pid=$(read_pid "$RMQ_PID")
  if [[ -x $RABBIT_BIN/rabbitmqctl ]] && { pid_alive "$pid" || port_open "$AMQP_PORT"; }; then
    log "rabbitmq: stopping"
    # 3.10's management event handler, removed during shutdown, calls the application controller
    # while that one is busy stopping apps, and waits out a 5 s timeout. Removed first, it doesn't.
    timeout 20 "$RABBIT_BIN/rabbitmqctl" -q eval \
      'gen_event:delete_handler(rabbit_event, rabbit_mgmt_db_handler, []).' >"$RMQ_DIR/shutdown.log" 2>&1 || true
    # `stop` + our own 100 ms poll on the pid: `shutdown` polls the pid too, but more slowly.
    if ! timeout 60 "$RABBIT_BIN/rabbitmqctl" -q stop >>"$RMQ_DIR/shutdown.log" 2>&1; then
      if pid_alive "$pid"; then
        log "rabbitmq: rabbitmqctl stop failed; killing pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
        wait_for 20 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    [[ -z $pid ]] || wait_for 30 pid_gone "$pid" || die "rabbitmq: node pid $pid did not exit"
  else
    log "rabbitmq: not running"
  fi
  rm -f "$RMQ_PID"
  # Every CLI call starts epmd and it outlives the node; stop it only when no
  # other node (another instance of this script on other ports) still uses it.
  if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then
    epmd -kill >/dev/null 2>&1 || true
  fi
  local p
  for p in "$AMQP_PORT" "$MGMT_PORT"; do
    wait_for 20 port_closed "$p" || die "rabbitmq: port $p still open after stop"
  done
}

rabbitmq_status() {
  if rabbitmq_healthy; then
    echo "rabbitmq: running  127.0.0.1:$AMQP_PORT  management $MGMT_URL  (pid $(read_pid "$RMQ_PID"))"; return 0
  fi
  echo "rabbitmq: stopped"; return 1
}

# ---------------------------------------------------------------- commands

services_from_args() {
  SERVICES=()
  local s
  for s in "$@"; do
    case $s in
      --adopt) ADOPT=1 ;;
      postgres|postgresql|pg) SERVICES+=(postgres) ;;
      redis) SERVICES+=(redis) ;;
      rabbitmq|rabbit|amqp) SERVICES+=(rabbitmq) ;;
      *) die "unknown service '$s' (expected: redis, postgres, rabbitmq)" ;;
    esac
  done
  (( ${#SERVICES[@]} )) || SERVICES=("${ALL_SERVICES[@]}")
}

# A healthy service already on the port was started by someone else (or an earlier `start`):
# using it means a later `stop` stops it for them too, so it takes --adopt.
adopt_or_die() {
  local name=$1 where=$2
  if [[ $ADOPT == 1 ]]; then log "$name: already running on $where; adopting it (--adopt)"; return 0; fi
  die "$name: already running on $where, not started by this command. Use it with --adopt (then 'stop' stops it for everyone), or run your own set on other ports and a directory of your own: HUBCAST_SERVICES_DIR=/tmp/hc-mine HUBCAST_PG_PORT=... HUBCAST_REDIS_PORT=... HUBCAST_AMQP_PORT=... (see --help)"
}

# Services that must be installed, collected first so apt runs once for all of them.
preinstall() {
  local missing=() s
  for s in "$@"; do
    case $s in
      postgres) [[ -x $PG_BIN/pg_ctl ]] || missing+=(postgresql-15) ;;
      redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
      rabbitmq) [[ -x $RABBIT_BIN/rabbitmq-server ]] || missing+=(rabbitmq-server)
                command -v curl >/dev/null || missing+=(curl) ;;
    esac
  done
  apt_install "${missing[@]}"
}

# The default ports lie inside Linux's ephemeral range (32768-60999): an outgoing connection (or a
# client reconnecting to a stopped service, by TCP self-connect) may be given one of them, and a
# (re)start then fails with eaddrinuse. Reserved ports are never handed out as ephemeral ports;
# explicit binds still work. Best effort: without a writable /proc/sys, starts work as before.
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports cur
  [[ -w $f ]] || return 0
  cur=$(cat "$f" 2>/dev/null) || return 0
  { echo "${cur:+$cur,}$PG_PORT,$REDIS_PORT,$AMQP_PORT,$DIST_PORT,$MGMT_PORT,$CTL_PORT_MIN-$CTL_PORT_MAX" >"$f"; } 2>/dev/null \
    || log "warning: could not reserve the service ports (ip_local_reserved_ports); a restart may hit eaddrinuse"
}

cmd_start() {
  services_from_args "$@"
  (( EUID == 0 )) || die "must run as root (it installs packages and runs PostgreSQL via runuser)"
  ensure_dir; run_locked start "$@"
  reserve_ports
  preinstall "${SERVICES[@]}"
  local s t0
  for s in "${SERVICES[@]}"; do
    t0=$(now_ms)
    "${s}_start"
    log "$s: ready in $(( $(now_ms) - t0 )) ms"
    "${s}_clean" || log "$s: warning: could not remove stale test data"
  done
}

cmd_stop() {
  services_from_args "$@"
  [[ -d $DIR ]] || { log "nothing to stop ($DIR does not exist)"; return 0; }
  run_locked stop "$@"
  local s
  for s in "${SERVICES[@]}"; do "${s}_stop"; done
}

cmd_restart() {
  services_from_args "$@"
  (( EUID == 0 )) || die "must run as root (it installs packages and runs PostgreSQL via runuser)"
  ensure_dir; run_locked restart "$@"
  reserve_ports
  preinstall "${SERVICES[@]}"
  local s t0
  for s in "${SERVICES[@]}"; do
    t0=$(now_ms)
    "${s}_stop"
    "${s}_start"
    log "$s: restarted in $(( $(now_ms) - t0 )) ms"
  done
}

cmd_status() {
  services_from_args "$@"
  local s rc=0
  for s in "${SERVICES[@]}"; do "${s}_status" || rc=3; done
  return $rc
}

cmd_env() {
  if [[ ${1:-} == --app ]]; then
    # The names the gateway and the generator read.
    cat <<EOF
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/hubcast
export BROKER_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
EOF
    return
  fi
  [[ -z ${1:-} ]] || die "env: unknown option '$1' (expected --app or nothing)"
  cat <<EOF
export HUBCAST_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/hubcast
export HUBCAST_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export HUBCAST_TEST_BROKER_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT
export HUBCAST_TEST_RABBITMQ_MGMT=http://guest:guest@127.0.0.1:$MGMT_PORT
EOF
}

# tools: the clients and peers tests drive the product with (headless Chromium for the pages,
# nginx for the cluster tests, python3 libraries for the Python client), installed only when missing.
cmd_tools() {
  ensure_dir
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  # The Python client's tests run on Debian's python3 with Debian's packages of its libraries.
  local p
  for p in python3-websockets python3-httpx python3-pytest python3-pytest-asyncio python3-mypy; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  apt_install "${missing[@]}"
}

usage() {
  sed -n '2,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

cmd=${1:-}
(( $# )) && shift
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  restart) cmd_restart "$@" ;;
  status) cmd_status "$@" ;;
  env) cmd_env "$@" ;;
  tools) cmd_tools ;;
  -h|--help|help) usage ;;
  '') usage ;;
  *) printf '[services] error: unknown command %s\n' "$cmd" >&2; usage ;;
esac
