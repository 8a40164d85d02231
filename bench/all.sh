#!/usr/bin/env bash
# Every benchmark, one after another (they pin CPUs and must not overlap), with
# the peers of issue 4 in the same runs. Installs what it needs (uWS from npm
# outside the project, nginx + Nchan with apt-get, the services of
# scripts/services.sh for e2e). ~15-18 minutes on the 2-core machine.
#   BENCH_PEERS=hubcast,uws   fewer peers
#   BENCH_PRIVATE_SERVICES=1  e2e and photo on services of their own (other test runs restart the shared ones)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run build --silent || exit 1
PEERS=${BENCH_PEERS:-hubcast,naive-ws,socketio,uws,nchan}
SSE_PEERS=$(tr ',' '\n' <<<"$PEERS" | grep -xE 'hubcast|nchan' | paste -sd, -)
failed=()
run() { local name=$1; shift; echo; echo "=== $name: $*"; local t=$SECONDS; "$@" || failed+=("$name"); echo "=== $name: $((SECONDS - t)) s"; }
# 8 publishes in flight (saturate), 1 in flight (single), 10 events/s for 10 s at 5k (rate).
FANOUT=(--n 1000,5000,9000 --phases saturate,single,rate --events 400 --max-seconds 6 --rate 10 --seconds 10 --rate-n 5000)
run fanout-ws node --import tsx bench/fanout.ts --transport ws --servers "$PEERS" "${FANOUT[@]}" "$@"
run fanout-sse node --import tsx bench/fanout.ts --transport sse --servers "$SSE_PEERS" "${FANOUT[@]}" "$@"
run connections node --import tsx bench/connections.ts --servers "$PEERS" --n 10000,19000
run e2e-1000/s-10-subscribers node --import tsx bench/e2e.ts --rates 1000 --subscribers 10
run e2e-100/s-1000-subscribers node --import tsx bench/e2e.ts --rates 100 --subscribers 1000
# Photo HITs, MISSes and 304s against nginx serving the same files (~1 min).
run photo node --import tsx bench/photo.ts
echo
if ((${#failed[@]})); then echo "bench:all: FAILED: ${failed[*]} (total $SECONDS s)"; exit 1; fi
echo "bench:all: done in $SECONDS s"
