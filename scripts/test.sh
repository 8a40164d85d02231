#!/usr/bin/env bash
# What `npm test` runs: build, typecheck, lint (biome: formatting and rules; a finding fails the
# run), start the real services (installing them if needed), run the suite against them, and stop
# the services again unless HUBCAST_KEEP_SERVICES=1.
# Extra arguments are path substrings passed to scripts/run-tests.mjs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npm run build
npm run typecheck
npm run lint

# Only the services this run started are stopped: ones already running belong to someone else
# (a developer's `services.sh start`, a concurrent test run) and stay up.
STARTED=()
for s in postgres redis rabbitmq; do
  bash scripts/services.sh status "$s" >/dev/null || STARTED+=("$s")
done
stop_services() {
  local rc=$?
  if [[ ${HUBCAST_KEEP_SERVICES:-} != 1 ]] && (( ${#STARTED[@]} )); then
    bash scripts/services.sh stop "${STARTED[@]}" || echo "[test] warning: stopping services failed" >&2
  fi
  exit "$rc"
}
# Installed before start so a half-started set of services is torn down too.
trap stop_services EXIT

# --adopt: services already running (checked above) are used and left running.
bash scripts/services.sh start --adopt
bash scripts/services.sh tools
eval "$(bash scripts/services.sh env)"
node scripts/run-tests.mjs "$@"
