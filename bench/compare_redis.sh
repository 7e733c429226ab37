#!/usr/bin/env bash
# compare_redis.sh: mtgated against the anchor, Redis, on the same machine in
# one run, doing the same decision: "may this MT go to this number for this
# program?" (consent lookup, then count the MT against the period's limit).
#
#   bash bench/compare_redis.sh [--numbers N] [--duration S]
#
# 1. Starts a private redis-server (no persistence) and loads N consents:
#    hash c:<number> with field BENCH:GATE = 1 (opted in) or 0 (opted out),
#    90% opted in, through redis-cli --pipe. Measures the gate as a Redis
#    function (bench/redis_gate.lua: HGET, then HINCRBY of the period's
#    counter when opted in) driven by redis-benchmark, 50 clients, pipeline
#    64, random loaded numbers. Then stops Redis.
# 2. Starts a private mtgated (--threads 1, temporary data directory),
#    loads N consents with mtgate-bench (same 90%) and measures it with
#    mtgate-bench: 4 connections, batches of 256, 16 frames in flight on
#    each (a platform pipelining its sends), counting.
# The servers run on core 0 and the load generators on core 1 (taskset, when
# there are two cores or more). The last lines are
#   redis_gate_ops_per_s=<f>
#   mtgate_decisions_per_s=<f>
#   ratio_mtgate_over_redis=<f>
# Needs root on a fresh Debian 12 only to install redis-server and the build
# dependencies when they are missing. Everything it starts and creates is
# removed on exit, failed or not.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
MTGATED=$BUILD/mtgated
BENCH=$BUILD/bench/mtgate-bench
LUA=$ROOT/bench/redis_gate.lua

NUMBERS=1000000
DURATION=10
OPTIN_PER_MILLE=900 # 90% opted in, mtgate-bench's --optin-ratio default
PROGRAM=BENCH:GATE  # mtgate-bench's --program default
LIMIT=65535         # per month, as mtgate-bench defines BENCH:GATE
REDIS_CLIENTS=50
REDIS_PIPELINE=64
MTGATE_CONNECTIONS=4
MTGATE_BATCH=256
MTGATE_INFLIGHT=16  # frames in flight per connection: enough to keep one core busy
FORCE_EVAL=0 # --redis-eval: use EVALSHA even when FUNCTION exists

TMP=""
REDIS_PID=""
MTGATED_PID=""
SERVER_CPU=()
CLIENT_CPU=()

usage() {
	cat <<EOF
usage: bash bench/compare_redis.sh [--numbers N] [--duration S] [--redis-eval]
  --numbers N    consents loaded into each server (default 1000000)
  --duration S   seconds each server is measured (default 10)
  --redis-eval   gate Redis with EVALSHA of a script instead of a function
EOF
}

log() {
	echo "compare_redis: $*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# Stop what we started and remove the temporary directory.
cleanup() {
	local rc=$?
	stop_pid "$MTGATED_PID"
	stop_pid "$REDIS_PID"
	if [ -n "$TMP" ]; then
		rm -rf "$TMP"
	fi
	exit "$rc"
}

# Send TERM, wait up to 10 s, then KILL.
stop_pid() {
	local pid=$1 _
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--numbers)
			[ $# -ge 2 ] || die "--numbers wants a value"
			NUMBERS=$2
			shift 2
			;;
		--duration)
			[ $# -ge 2 ] || die "--duration wants a value"
			DURATION=$2
			shift 2
			;;
		--redis-eval)
			FORCE_EVAL=1
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		*)
			usage >&2
			die "unknown argument: $1"
			;;
		esac
	done
	if ! [[ $NUMBERS =~ ^[1-9][0-9]{0,8}$ ]] || [ "$NUMBERS" -gt 100000000 ]; then
		die "--numbers wants an integer from 1 to 100000000"
	fi
	[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration wants whole seconds (1 or more)"
}

# Servers on core 0, load generators on core 1, when there are two cores.
pick_cpus() {
	if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
		SERVER_CPU=(taskset -c 0)
		CLIENT_CPU=(taskset -c 1)
	else
		log "fewer than 2 cores (or no taskset): servers and clients share"
	fi
}

# redis-server, redis-cli and redis-benchmark from Debian's packages.
need_redis() {
	local cmd missing=0
	for cmd in redis-server redis-cli redis-benchmark; do
		command -v "$cmd" >/dev/null || missing=1
	done
	[ "$missing" = 1 ] || return 0
	[ "$(id -u)" = 0 ] || die "redis-server and redis-tools are missing; install them as root"
	log "installing redis-server and redis-tools"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
}

# build/mtgated and build/bench/mtgate-bench, brought up to date (a no-op
# when nothing changed), so a stale binary is never measured.
need_mtgate() {
	log "building mtgated and mtgate-bench"
	bash "$ROOT/tools/deps.sh"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target mtgated mtgate_bench_tool >/dev/null
	if [ ! -x "$MTGATED" ] || [ ! -x "$BENCH" ]; then
		die "the build did not produce $MTGATED and $BENCH"
	fi
}

# A loopback TCP port nobody listens on.
free_port() {
	local port _
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free loopback port found"
}

# Wait until "$@" succeeds, for up to $1 seconds, while pid $2 lives.
wait_until() {
	local secs=$1 pid=$2 _
	shift 2
	for _ in $(seq $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---- Redis ----------------------------------------------------------------

start_redis() {
	REDIS_PORT=$(free_port)
	"${SERVER_CPU[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
		--save '' --appendonly no --dir "$TMP" --daemonize no \
		--logfile "$TMP/redis.log" &
	REDIS_PID=$!
	wait_until 10 "$REDIS_PID" redis-cli -p "$REDIS_PORT" ping ||
		die "redis-server did not start (see its log: $(tail -n 3 "$TMP/redis.log" 2>/dev/null))"
	log "redis-server $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT"
}

rcli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

# N numbers 1<12-digit index> (so redis-benchmark's __rand_int__, a 12-digit
# zero-padded number below N, names a loaded one), HSET as RESP.
load_redis() {
	local t0 out
	t0=$(date +%s.%N)
	out=$(mawk_or_awk -v n="$NUMBERS" -v prog="$PROGRAM" -v cut="$OPTIN_PER_MILLE" 'BEGIN {
		for (i = 0; i < n; i++) {
			k = sprintf("c:1%012d", i)
			printf "*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\n%d\r\n",
				length(k), k, length(prog), prog, (i % 1000 < cut)
		}
	}' | "${CLIENT_CPU[@]}" redis-cli -p "$REDIS_PORT" --pipe)
	grep -q "errors: 0, replies: $NUMBERS" <<<"$out" || die "redis-cli --pipe: $out"
	[ "$(rcli dbsize)" = "$NUMBERS" ] || die "Redis holds $(rcli dbsize) keys, not $NUMBERS"
	log "redis: loaded $NUMBERS consents in $(elapsed "$t0") s"
}

mawk_or_awk() {
	if command -v mawk >/dev/null; then mawk "$@"; else awk "$@"; fi
}

elapsed() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }'
}

# The gate command for redis-benchmark: FCALL of the function, or EVALSHA
# of the same logic as a script where FUNCTION is unavailable.
redis_gate_cmd() {
	local period sha
	period=$(date -u +%Y-%m)
	# redis-cli exits 0 on an error reply: look at what it answered. The
	# probe key holds no consent, so nothing is counted.
	if [ "$FORCE_EVAL" = 0 ] &&
		[ "$(rcli FUNCTION LOAD REPLACE "$(cat "$LUA")" 2>&1)" = mtgate_gate ] &&
		[ "$(rcli FCALL gate 1 c:probe "$PROGRAM" "$period" "$LIMIT" 2>&1)" = 1 ]; then
		log "redis: gate is a function (FCALL)"
		REDIS_HOW=FCALL
		REDIS_CMD=(FCALL gate 1 "c:1__rand_int__" "$PROGRAM" "$period" "$LIMIT")
	else
		sha=$(rcli SCRIPT LOAD "$(sed -e '1d' -e '/^redis.register_function/d' "$LUA"
			echo 'return gate(KEYS, ARGV)')")
		[[ $sha =~ ^[0-9a-f]{40}$ ]] || die "SCRIPT LOAD failed: $sha"
		[ "$(rcli EVALSHA "$sha" 1 c:probe "$PROGRAM" "$period" "$LIMIT" 2>&1)" = 1 ] ||
			die "the gate script does not answer as expected"
		log "redis: gate is a script (EVALSHA)"
		REDIS_HOW=EVALSHA
		REDIS_CMD=(EVALSHA "$sha" 1 "c:1__rand_int__" "$PROGRAM" "$period" "$LIMIT")
	fi
}

# requests/s of one redis-benchmark run of $1 requests.
redis_bench() {
	local n=$1 out
	out=$(timeout $((DURATION * 5 + 120)) "${CLIENT_CPU[@]}" redis-benchmark \
		-p "$REDIS_PORT" -c "$REDIS_CLIENTS" -P "$REDIS_PIPELINE" --threads 1 \
		-n "$n" -r "$NUMBERS" --csv "${REDIS_CMD[@]}") ||
		die "redis-benchmark failed: $out"
	awk -F'"' 'NR == 2 { print $4 }' <<<"$out"
}

# A short run sizes the measured one to last about DURATION seconds.
measure_redis() {
	local rate n
	rate=$(redis_bench 200000)
	n=$(awk -v r="$rate" -v d="$DURATION" 'BEGIN { printf "%d", r * d }')
	[ "$n" -ge 100000 ] || n=100000
	log "redis: warm-up run $rate ops/s; measuring $n requests"
	REDIS_OPS=$(redis_bench "$n")
	[ "$(rcli dbsize)" = "$NUMBERS" ] || die "redis-benchmark touched keys that were not loaded"
	echo "redis gate ($REDIS_HOW, $REDIS_CLIENTS clients, pipeline $REDIS_PIPELINE): $REDIS_OPS ops/s"
}

# ---- mtgate ---------------------------------------------------------------

start_mtgated() {
	local port
	port=$(free_port)
	MTGATE_ADDR=127.0.0.1:$port
	mkdir -p "$TMP/mtgate-data"
	"${SERVER_CPU[@]}" "$MTGATED" --listen "$MTGATE_ADDR" --data "$TMP/mtgate-data" \
		--threads 1 2>"$TMP/mtgated.log" &
	MTGATED_PID=$!
	if ! wait_until 60 "$MTGATED_PID" grep -q "mtgated ready" "$TMP/mtgated.log"; then
		kill -0 "$MTGATED_PID" 2>/dev/null || log "mtgated exited"
		die "mtgated did not become ready: $(tail -n 5 "$TMP/mtgated.log")"
	fi
	[ -r "$TMP/mtgate-data/operator.key" ] || die "mtgated wrote no operator.key"
	log "mtgated on $MTGATE_ADDR"
}

bench_mtgate() {
	timeout $((DURATION * 3 + 600)) "${CLIENT_CPU[@]}" "$BENCH" --server "$MTGATE_ADDR" \
		--key-file "$TMP/mtgate-data/operator.key" --numbers "$NUMBERS" "$@"
}

measure_mtgate() {
	local out
	bench_mtgate --duration 0 >/dev/null || die "mtgate-bench could not load the consents"
	out=$(bench_mtgate --no-load --connections "$MTGATE_CONNECTIONS" \
		--threads 1 --batch "$MTGATE_BATCH" --inflight "$MTGATE_INFLIGHT" \
		--duration "$DURATION") ||
		die "mtgate-bench failed: $(tail -n 3 <<<"$out")"
	printf '%s\n' "$out" >&2
	MTGATE_DPS=$(tail -n 1 <<<"$out" | sed -n 's/^decisions_per_s=\([0-9.]*\) .*/\1/p')
	[ -n "$MTGATE_DPS" ] || die "no decisions_per_s in mtgate-bench's output"
	echo "mtgate gate (GATE_BATCH of $MTGATE_BATCH, $MTGATE_CONNECTIONS connections): $MTGATE_DPS decisions/s"
}

main() {
	parse_args "$@"
	pick_cpus
	need_redis
	need_mtgate
	TMP=$(mktemp -d /tmp/mtgate-compare.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	start_redis
	load_redis
	redis_gate_cmd
	measure_redis
	stop_pid "$REDIS_PID"
	REDIS_PID=""

	start_mtgated
	measure_mtgate
	stop_pid "$MTGATED_PID"
	MTGATED_PID=""

	echo "redis_gate_ops_per_s=$REDIS_OPS"
	echo "mtgate_decisions_per_s=$MTGATE_DPS"
	awk -v m="$MTGATE_DPS" -v r="$REDIS_OPS" \
		'BEGIN { printf "ratio_mtgate_over_redis=%.2f\n", m / r }'
}

main "$@"
