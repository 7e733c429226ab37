#!/usr/bin/env bash
# bulk_bench.sh: the bulk paths end to end, through the CLI against a
# running mtgated (issue "bulk paths and the audit trail").
#
#   bash bench/bulk_bench.sh [--rows N] [--list N] [--threads T]
#
# 1. Generates a CSV of N opt-ins (default 10 000 000) in the import format
#    (number,program,channel,opted_in_at,source; random distinct numbers,
#    one program) and a disconnect list of M numbers (default 1 000 000),
#    half of them in the CSV.
# 2. Starts a private mtgated (temporary data directory, loopback, T core
#    threads, default all cores), defines the program, then times with the
#    wall clock:
#      mtgate import FILE             (every row durable when it reports)
#      mtgate import FILE             again: nothing changes (idempotent)
#      mtgate deactivate-list FILE --reason disconnect
#      mtgate export SC:KW --out FILE
# The last lines are
#   import_rows_per_s=<f> reimport_rows_per_s=<f>
#   deactivate_list_s=<f> deactivate_numbers_per_s=<f>
#   export_rows_per_s=<f>
# Everything it starts and creates is removed on exit, failed or not.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
MTGATED=$BUILD/mtgated
CLI=$BUILD/mtgate
ROWS=10000000
LIST=1000000
THREADS=0
SC=40404
KW=BULK
TMP=""
MTGATED_PID=""

log() { echo "bulk_bench: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cleanup() {
	local rc=$?
	if [ -n "$MTGATED_PID" ] && kill -0 "$MTGATED_PID" 2>/dev/null; then
		kill -TERM "$MTGATED_PID" 2>/dev/null || true
		wait "$MTGATED_PID" 2>/dev/null || true
	fi
	[ -z "$TMP" ] || rm -rf "$TMP"
	exit "$rc"
}

while [ $# -gt 0 ]; do
	case $1 in
	--rows) ROWS=${2:?--rows wants a value}; shift 2 ;;
	--list) LIST=${2:?--list wants a value}; shift 2 ;;
	--threads) THREADS=${2:?--threads wants a value}; shift 2 ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "--rows wants a positive integer"
[[ $LIST =~ ^[1-9][0-9]*$ ]] || die "--list wants a positive integer"
[[ $THREADS =~ ^[0-9]+$ ]] || die "--threads wants an integer"

log "building mtgated and mtgate"
bash "$ROOT/tools/deps.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target mtgated mtgate_cli >/dev/null

TMP=$(mktemp -d /tmp/mtgate-bulk.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

awk_() { if command -v mawk >/dev/null; then mawk "$@"; else awk "$@"; fi; }
now() { date +%s.%N; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.3f", t1 - t0 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }

# Numbers +1 2XX XXX XXXX: 2000000000 + i * 7919 mod 8e9 stays distinct for
# i < 8e9 / gcd, so every row is another number, in no useful order
# (printed with %.0f: awk's %d stops at 2^31).
t0=$(now)
awk_ -v n="$ROWS" -v prog="$SC:$KW" 'BEGIN {
	print "number,program,channel,opted_in_at,source"
	for (i = 0; i < n; i++)
		printf "+1%.0f,%s,web,2026-01-%02dT10:00:00Z,form-%d\n",
			2000000000 + (i * 7919) % 8000000000, prog, i % 28 + 1, i % 1000
}' >"$TMP/optins.csv"
awk_ -v n="$LIST" -v rows="$ROWS" 'BEGIN {
	for (i = 0; i < n; i++) {
		k = (i % 2 == 0 && i < rows) ? i : rows + i
		printf "+1%.0f,2026-02-01T00:00:00Z\n", 2000000000 + (k * 7919) % 8000000000
	}
}' >"$TMP/disconnects.csv"
log "generated $ROWS rows ($(du -h "$TMP/optins.csv" | cut -f1)) and a list of $LIST in $(since "$t0") s"

port=$((20000 + RANDOM % 40000))
ADDR=127.0.0.1:$port
targs=()
[ "$THREADS" = 0 ] || targs=(--threads "$THREADS")
"$MTGATED" --listen "$ADDR" --data "$TMP/data" "${targs[@]}" 2>"$TMP/mtgated.log" &
MTGATED_PID=$!
for _ in $(seq 600); do
	grep -q "mtgated ready" "$TMP/mtgated.log" 2>/dev/null && break
	kill -0 "$MTGATED_PID" 2>/dev/null || die "mtgated exited: $(tail -n 3 "$TMP/mtgated.log")"
	sleep 0.1
done
grep -q "mtgated ready" "$TMP/mtgated.log" || die "mtgated did not become ready"
cli() { "$CLI" --server "$ADDR" --key-file "$TMP/data/operator.key" "$@"; }

cli program add --short-code "$SC" --keyword "$KW" --name "Bulk list" \
	--limit 4/month \
	--welcome "Bulk list: 4 msgs. Max 4 msgs/mo. Msg&Data rates may apply. Reply HELP for help, STOP to cancel." \
	--help-text "Bulk list: example.com or 1-800-555-0100. Max 4 msgs/mo." \
	--quit-text "You have quit Bulk list. No more messages will be sent." >/dev/null

# mtgate "$@" timed; its last stdout line into LAST, seconds into SECS, its peak
# RSS (kB, sampled) into PEAK_KB.
timed() {
	local t pid rc=0 hwm
	t=$(now)
	PEAK_KB=0
	"$CLI" --server "$ADDR" --key-file "$TMP/data/operator.key" "$@" \
		>"$TMP/out" 2>"$TMP/err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[ -z "$hwm" ] || [ "$hwm" -le "$PEAK_KB" ] || PEAK_KB=$hwm
		sleep 0.2
	done
	wait "$pid" || rc=$?
	# import exits 1 when some lines were rejected; that is a result
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || die "$* failed ($rc): $(tail -n 3 "$TMP/err")"
	SECS=$(since "$t")
	LAST=$(tail -n 1 "$TMP/out")
}

timed import "$TMP/optins.csv"
log "import: $LAST in $SECS s (the CLI's peak RSS $PEAK_KB kB)"
IMPORT_RPS=$(rate "$ROWS" "$SECS")
grep -q "^imported=$ROWS rejected=0 " <<<"$LAST" || die "import did not take every row: $LAST"
grep -q "^changed=$ROWS " "$TMP/out" || die "import did not change every row: $(head -n 1 "$TMP/out")"
timed import "$TMP/optins.csv"
log "import again: $(head -n 1 "$TMP/out") $LAST in $SECS s"
REIMPORT_RPS=$(rate "$ROWS" "$SECS")
grep -q "^changed=0 " "$TMP/out" || die "the second import changed something"
timed deactivate-list "$TMP/disconnects.csv" --reason disconnect
log "deactivate-list: $LAST in $SECS s"
DEACT_S=$SECS
DEACT_RPS=$(rate "$LIST" "$SECS")
timed export "$SC:$KW" --out "$TMP/export.csv"
EXPORTED=$(($(wc -l <"$TMP/export.csv") - 1))
log "export: $EXPORTED rows in $SECS s"
EXPORT_RPS=$(rate "$EXPORTED" "$SECS")
log "mtgated RSS at the end: $(awk '/VmRSS/ { print $2, $3 }' "/proc/$MTGATED_PID/status")"

echo "import_rows_per_s=$IMPORT_RPS reimport_rows_per_s=$REIMPORT_RPS"
echo "deactivate_list_s=$DEACT_S deactivate_numbers_per_s=$DEACT_RPS"
echo "export_rows_per_s=$EXPORT_RPS"
