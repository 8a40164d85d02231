# Process and port helpers shared by scripts/services.sh and scripts/cluster.sh (sourced).

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: polls CMD every 100 ms until it succeeds; returns 1 on timeout.
wait_for() {
  local secs=$1; shift
  local deadline=$(( $(now_ms) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.1
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_closed() { ! port_open "$1"; }

pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  # PID 1 reaps late: a zombie counts as gone.
  [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}
pid_gone() { ! pid_alive "$1"; }
read_pid() { [[ -s $1 ]] && head -n1 "$1" | tr -dc '0-9' || true; }
