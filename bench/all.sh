#!/usr/bin/env bash
# Every benchmark, one after another (they pin CPUs and must not overlap).
# Needs dist/ (built here) and, for e2e, the services (started by bench/e2e.ts if not running).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run build --silent
PEERS=${BENCH_PEERS:-hubcast,naive-ws,socketio,uws}
node --import tsx bench/fanout.ts --transport ws --servers "$PEERS" --n 1000,5000,9000 --events 400 "$@"
node --import tsx bench/fanout.ts --transport sse --servers hubcast --n 1000,5000,9000 --events 400 "$@"
node --import tsx bench/connections.ts --servers "$PEERS" --n 10000,19000
node --import tsx bench/e2e.ts
