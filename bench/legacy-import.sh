#!/usr/bin/env bash
# Measures `gerak import-legacy` (release build) on the generator's --scale 100 (about
# 2.3M legacy rows) into SQLite files and into PostgreSQL, and prints rows/s for each.
#
#   bench/legacy-import.sh                 # SCALE=100, PostgreSQL at 127.0.0.1:5432 (user postgres)
#   SCALE=10 bench/legacy-import.sh        # quicker
#   GERAK_BENCH_POSTGRES=postgres://user:pw@host:5432 bench/legacy-import.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${SCALE:-100}
WORK=${WORK:-/tmp/gerak-legacy-bench}
PG=${GERAK_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
GEN=${GERAK_LEGACY_GENERATOR:-$ROOT/../shared/legacy/make_legacy_db.py}
[ -f "$GEN" ] || GEN=/work/shared/legacy/make_legacy_db.py
mkdir -p "$WORK"

(cd "$ROOT" && cargo build --release -p gerak-server)
GERAK="$ROOT/target/release/gerak"

LEGACY="$WORK/legacy-scale$SCALE.sqlite"
if [ ! -f "$LEGACY" ]; then
  echo "generating the legacy database (scale $SCALE)..."
  python3 "$GEN" --out "$LEGACY" --scale "$SCALE"
fi

run() { # label, then the environment for the five target databases
  local label=$1; shift
  echo "== $label"
  local start end rows
  start=$(date +%s.%N)
  env "$@" "$GERAK" --log warn --data-dir "$WORK/data-$label" import-legacy \
    --from "sqlite://$LEGACY" --rejects "$WORK/rejects-$label.jsonl" --report "$WORK/report-$label.json" \
    > "$WORK/summary-$label.txt"
  end=$(date +%s.%N)
  grep -E "rows/s|BALANCED" "$WORK/summary-$label.txt"
  # The whole command, start to exit (migrations, index builds and the summary included).
  rows=$(grep -oE "^[0-9]+ legacy rows" "$WORK/summary-$label.txt" | grep -oE "^[0-9]+")
  awk -v r="$rows" -v s="$start" -v e="$end" \
    'BEGIN { printf "command wall time: %.1f s, %.0f legacy rows/s\n", e - s, r / (e - s) }'
}

rm -rf "$WORK/data-sqlite"
run sqlite GERAK_PROFILE=development

DOMAINS="users campaigns challenges donations reports"
for d in $DOMAINS; do
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS gerak_import_bench_$d WITH (FORCE)" -c "CREATE DATABASE gerak_import_bench_$d"
done
run postgres \
  GERAK_USERS_DATABASE_URL="$PG/gerak_import_bench_users" GERAK_CAMPAIGNS_DATABASE_URL="$PG/gerak_import_bench_campaigns" \
  GERAK_CHALLENGES_DATABASE_URL="$PG/gerak_import_bench_challenges" GERAK_DONATIONS_DATABASE_URL="$PG/gerak_import_bench_donations" \
  GERAK_REPORTS_DATABASE_URL="$PG/gerak_import_bench_reports"

echo "== catch-up run on SQLite (nothing changed)"
run sqlite GERAK_PROFILE=development
