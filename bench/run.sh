#!/usr/bin/env bash
# The benchmark, in one run: build release, seed the dataset through the real API, start
# the server and a raw baseline, measure, print the table and write
# bench/results/<date>-<backend>.json (with -<commit> when that day's file exists). See
# "Benchmarks" in the README.
#
#   bench/run.sh                 # embedded default: SQLite files, in-process bus
#   bench/run.sh --servers       # PostgreSQL (127.0.0.1:5432, user postgres) + Redis (127.0.0.1:6379)
#
# Options: --reuse-seed (measure the data seeded by an earlier run of the same backend),
#          --duration N (seconds per measurement, default 15), --quick (a small dataset
#          and 5 s measurements, to try the script; its figures are not the benchmark's).
# Environment: GERAK_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432),
#              GERAK_BENCH_POSTGRES_QUERY (appended to the databases' URLs, default
#              ?sslmode=disable: on loopback TLS only burns the shared cores),
#              GERAK_BENCH_REDIS (default redis://127.0.0.1:6379),
#              GERAK_BENCH_DIR (work files, default target/bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BACKEND=embedded
REUSE=0
DURATION=15
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --servers) BACKEND=servers ;;
    --reuse-seed) REUSE=1 ;;
    --duration) DURATION=$2; shift ;;
    --quick) QUICK=1; DURATION=5 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

PG=${GERAK_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
# sqlx's default (sslmode=prefer) encrypts every round trip when the server offers TLS, as
# Debian's does; server, PostgreSQL and load share the cores here, and the raw baseline
# gets the same URL.
PG_QUERY=${GERAK_BENCH_POSTGRES_QUERY-?sslmode=disable}
REDIS=${GERAK_BENCH_REDIS:-redis://127.0.0.1:6379}
WORK=${GERAK_BENCH_DIR:-$ROOT/target/bench}/$BACKEND
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DATE=$(date -u +%Y-%m-%d)
RUN=$WORK/run-$STAMP
TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/gerak-bench
mkdir -p "$WORK" "$RUN" "$ROOT/bench/results" "$TOOLS"
SERVER_ADDR=127.0.0.1:18080
RAW_ADDR=127.0.0.1:18090
URL=http://$SERVER_ADDR
RAW_URL=http://$RAW_ADDR
STATE=$WORK/seed-state.json
RATE=1000
CONNECTIONS=64
log() { printf '\n== %s\n' "$*" >&2; }

# --- tools ------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
OHA=$(command -v oha || true)
if [ -z "$OHA" ] && [ ! -x "$TOOLS/bin/oha" ]; then
  log "installing oha 1.16.0 (crates.io) into $TOOLS"
  cargo install --locked --quiet --root "$TOOLS" oha@1.16.0
fi
OHA=${OHA:-$TOOLS/bin/oha}

log "building release (gerak, gerak-bench)"
cargo build --release --quiet -p gerak-server -p gerak-bench
GERAK=$ROOT/target/release/gerak
BENCH=$ROOT/target/release/gerak-bench

# --- the server's settings --------------------------------------------------------------
export GERAK_ADDR=$SERVER_ADDR
export GERAK_DATA_DIR=$WORK/data
export GERAK_JWT_SECRET=gerak-bench-secret-gerak-bench-secret-0123
export GERAK_ACCESS_TOKEN_TTL=604800   # the seeder's tokens outlive the run
export GERAK_LOG=warn
# Load comes from one address and a few accounts: the rate limits would refuse it.
for rule in ANONYMOUS USER LOGIN_ACCOUNT LOGIN_IP REGISTER DONATE; do export "GERAK_RATE_$rule=off"; done
export GERAK_ADMIN_PASSWORD="bench admin password"
ADMIN_EMAIL=admin@bench.gerak.id
DOMAINS="users campaigns challenges donations reports"
if [ "$BACKEND" = servers ]; then
  for d in $DOMAINS; do
    upper=$(echo "$d" | tr a-z A-Z)
    export "GERAK_${upper}_DATABASE_URL=$PG/gerak_bench_$d$PG_QUERY"
  done
  export GERAK_REDIS_URL=$REDIS
  export GERAK_REDIS_PREFIX=gerak-bench
  CAMPAIGNS_DB=$PG/gerak_bench_campaigns$PG_QUERY
  BUS=redis
else
  unset GERAK_REDIS_URL || true
  CAMPAIGNS_DB="sqlite://$WORK/data/campaigns.db"
  BUS=in-process
fi

# A server or baseline left running on these ports (an earlier run killed midway) would
# answer in place of this run's and be measured instead: refuse to start.
for addr in "$SERVER_ADDR" "$RAW_ADDR"; do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
    echo "something already listens on $addr (an earlier run's server or baseline?); stop it first" >&2
    exit 1
  fi
done

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

SERVER_PID=
start_server() {
  "$GERAK" serve >>"$RUN/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 300); do
    if curl -fsS "$URL/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "the server died; see $RUN/server.log" >&2; exit 1; fi
    sleep 0.2
  done
  echo "the server did not get ready; see $RUN/server.log" >&2; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
# Until the events of earlier writes (the seed's, an overloaded run's) are applied: the
# outbox relays empty and, over Redis, no consumer group lagging or holding pending
# entries, for 3 s in a row. Measured before that, pages would share the machine with the
# consumers and keep missing the response cache that every applied event clears.
wait_drained() {
  local quiet=0 waited=0 backlog lag
  while [ "$quiet" -lt 3 ]; do
    backlog=$(curl -fsS "$URL/metrics" 2>/dev/null | awk '/^gerak_outbox_backlog/{s+=$2} END{print s+0}')
    lag=0
    if [ "$BACKEND" = servers ]; then
      # By name: redis-cli 7.0 (Debian 12's) has no `--scan --type`.
      for stream in $(redis-cli -u "$REDIS" --scan --pattern 'gerak-bench:stream:*'); do
        lag=$((lag + $(redis-cli -u "$REDIS" --raw XINFO GROUPS "$stream" |
          awk 'prev=="lag"||prev=="pending"{s+=($0==""?0:$0)} {prev=$0} END{print s+0}')))
      done
    fi
    if [ "$backlog" = 0 ] && [ "$lag" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    if [ "$waited" -ge 900 ]; then
      echo "still not drained after 900 s (outbox backlog $backlog, consumer lag $lag); measuring anyway" >&2
      return 0
    fi
    sleep 1
    waited=$((waited + 1))
  done
  [ "$waited" -le 3 ] || log "waited ${waited} s for the events to be applied"
}
# This machine's PostgreSQL runs with autovacuum off (a CI setting): every update of a
# campaign's totals would leave a dead row behind for the rest of the run, and each run
# would measure the bloat of the ones before. Vacuum what autovacuum would have.
vacuum_servers() {
  [ "$BACKEND" = servers ] || return 0
  for d in $DOMAINS; do psql "$PG/gerak_bench_$d" -qc "VACUUM ANALYZE" >/dev/null; done
}
# The server's peak RSS so far (VmHWM, kB), after each phase: where memory grew.
mark_rss() { echo "$1 $(awk '/^VmHWM/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)" >>"$RUN/rss-phases.txt"; }

# --- seed -------------------------------------------------------------------------------
if [ "$REUSE" = 1 ] && [ -f "$STATE" ]; then
  log "reusing the data seeded earlier ($STATE)"
else
  log "fresh databases"
  rm -rf "$WORK/data" "$STATE" "$WORK/mixed-cursor"
  if [ "$BACKEND" = servers ]; then
    for d in $DOMAINS; do
      psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gerak_bench_$d WITH (FORCE)" -c "CREATE DATABASE gerak_bench_$d" >/dev/null
    done
    redis-cli -u "$REDIS" --scan --pattern 'gerak-bench*' | xargs -r redis-cli -u "$REDIS" del >/dev/null
  fi
  "$GERAK" migrate >>"$RUN/server.log" 2>&1
  "$GERAK" create-admin --email "$ADMIN_EMAIL" >>"$RUN/server.log" 2>&1
  start_server
  if [ "$QUICK" = 1 ]; then
    SIZE=(--campaigns 10 --users 100 --sponsors 5 --participations 2000 --donations 2000)
  else
    SIZE=()
  fi
  log "seeding through the GraphQL API"
  SEED_START=$(date +%s)
  "$BENCH" seed --url "$URL" --state "$STATE" --admin-email "$ADMIN_EMAIL" "${SIZE[@]}"
  echo "$(( $(date +%s) - SEED_START ))" >"$WORK/seed-seconds"
  stop_server
fi

# --- measure ----------------------------------------------------------------------------
log "starting the server on the seeded data, and the raw baseline"
start_server
"$BENCH" raw --addr "$RAW_ADDR" --database-url "$CAMPAIGNS_DB" >>"$RUN/raw.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -fsS -XPOST "$RAW_URL/json" >/dev/null 2>&1 && break; sleep 0.2; done
sleep 3
wait_drained
vacuum_servers
"$BENCH" rss --pid "$SERVER_PID" --out "$RUN/rss-idle.json"
"$BENCH" rss --pid "$SERVER_PID" --duration 100000 --interval-ms 100 --out "$RUN/rss-load.json" &
RSS_PID=$!
PIDS+=("$RSS_PID")

target_url() { case "$1" in raw-json) echo "$RAW_URL/json" ;; raw-sql) echo "$RAW_URL/sql" ;; *) echo "$URL/graphql" ;; esac; }
target_base() { case "$1" in raw-*) echo "$RAW_URL" ;; *) echo "$URL" ;; esac; }

for w in raw-json raw-sql typename campaign explore; do
  "$BENCH" load --workload "$w" --state "$STATE" --print-body >"$RUN/body-$w.json"
  log "$w: saturation (wrk -t2 -c$CONNECTIONS, bodies checked by bench/wrk/graphql.lua)"
  BODY_FILE=$RUN/body-$w.json wrk -t2 -c"$CONNECTIONS" -d3s -s bench/wrk/graphql.lua "$(target_url "$w")" >/dev/null
  BODY_FILE=$RUN/body-$w.json wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/wrk/graphql.lua "$(target_url "$w")" | tee "$RUN/wrk-$w.txt" | sed -n 's/^WRKJSON //p' >"$RUN/wrk-$w.json"
  grep -E 'Requests/sec|WRKJSON' "$RUN/wrk-$w.txt" >&2
done
mark_rss saturation

for w in raw-json raw-sql typename campaign explore; do
  log "$w: $RATE req/s open loop (oha -q $RATE --latency-correction; bodies sampled by gerak-bench load)"
  "$BENCH" load --workload "$w" --url "$(target_base "$w")" --state "$STATE" --rate 20 --duration "$DURATION" --out "$RUN/check-$w.json" &
  CHECK_PID=$!
  "$OHA" -z "${DURATION}s" -q "$RATE" -c "$CONNECTIONS" --latency-correction --no-tui --output-format json \
    -m POST -H 'content-type: application/json' -D "$RUN/body-$w.json" "$(target_url "$w")" >"$RUN/rate-$w.json"
  wait "$CHECK_PID"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["latencyPercentiles"]; print("oha: %.0f req/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, status %s" % (d["summary"]["requestsPerSec"], p["p50"]*1e3, p["p99"]*1e3, p["p99.9"]*1e3, d["statusCodeDistribution"]))' "$RUN/rate-$w.json" >&2 || true
done
mark_rss fixed-rate

log "mixed: saturation (closed loop, $CONNECTIONS in flight) and $RATE ops/s open loop"
"$BENCH" load --workload mixed --url "$URL" --state "$STATE" --connections "$CONNECTIONS" --warmup 3 --duration "$DURATION" --cursor-file "$WORK/mixed-cursor" --out "$RUN/load-mixed-saturation.json"
mark_rss mixed-saturation
"$BENCH" load --workload mixed --url "$URL" --state "$STATE" --rate "$RATE" --duration "$DURATION" --cursor-file "$WORK/mixed-cursor" --out "$RUN/rate-mixed.json"
mark_rss mixed-fixed-rate

wait_drained   # the backlog of the overloaded runs
vacuum_servers
log "event path: recordPayment → donationReceived at $RATE events/s over the $BUS bus"
"$BENCH" events --url "$URL" --state "$STATE" --rate "$RATE" --duration 10 --bus "$BUS" --out "$RUN/events.json"
mark_rss events

kill "$RSS_PID" 2>/dev/null || true
stop_server

MACHINE="$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/{print $2}') GB, $(uname -sr)"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SEEDED=$(cat "$WORK/seed-seconds" 2>/dev/null || echo 0)
python3 - "$RUN/meta.json" <<PY
import json, sys
json.dump({"date": "$DATE", "stamp": "$STAMP", "backend": "$BACKEND", "bus": "$BUS", "machine": "$MACHINE",
           "commit": "$COMMIT", "duration_s": $DURATION, "rate": $RATE, "connections": $CONNECTIONS,
           "quick": $QUICK == 1, "seed_seconds": $SEEDED}, open(sys.argv[1], "w"), indent=2)
PY
SUFFIX=$([ "$QUICK" = 1 ] && echo "-quick" || true)
OUT=$ROOT/bench/results/$DATE-$BACKEND$SUFFIX
# A later run of the same day keeps the earlier one's file: it takes its commit's name.
if [ -e "$OUT.json" ]; then OUT=$OUT-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo again); fi
if [ -e "$OUT.json" ]; then OUT=$OUT-$(date -u +%H%M%S); fi
"$BENCH" report --run "$RUN" --out "$OUT.json" --table "$RUN/table.md"
