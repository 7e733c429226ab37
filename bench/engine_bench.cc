/*
 * engine_bench: what one owner thread of the embeddable engine does per
 * second, on a store of 1 M and 10 M consents.
 *
 * Set-up (once per table size, shared by every benchmark of that size)
 *   One engine with shards=1 and external_owners (notify is a no-op): the
 *   benchmark thread itself owns shard 0 and polls it, so every figure is one
 *   core with no hand-off between threads (the committer and RocksDB's
 *   background jobs run on the other core). durable=true, as in production.
 *   N consents are loaded with mtgate_apply_many in chunks of 65536: N
 *   distinct random 11-digit numbers (1XXXXXXXXXX, fixed seed), one consent
 *   each, spread round-robin over 4 recurring programs (limit 65535 a month,
 *   so no request meets the limit); 90% opted in, 10% opted out. The load
 *   time goes to stderr. Requests are pre-generated (a ring of random loaded
 *   consents at least N long), so the random generator is not measured.
 *
 * Benchmarks (argument: the table size N)
 *   BM_HashProbeAnchor  the anchor: one lookup per item in a plain
 *                       open-addressing table of 16-byte slots at the
 *                       engine's load (3/4), same keys, same xxh64 and
 *                       fastrange, no prefetch. Quote the engine's speed as
 *                       a ratio to this figure from the same run.
 *   BM_Gate             mtgate_owner_gate_batch with n=1, COUNT mode.
 *   BM_GateBatch        256 requests per call, COUNT mode; also reports
 *                       bytes_per_consent (store_bytes / consents) and
 *                       consents from mtgate_engine_stats.
 *   BM_GateDryRun       as BM_GateBatch in DRY_RUN mode (nothing counted).
 *   BM_OptinDurable     fsynced consent changes: about 16384 in flight
 *                       (a server with that many clients waiting on a
 *                       change; group commit takes what has arrived) with
 *                       mtgate_owner_submit, each an opt-out of an opted-in
 *                       consent or an opt-in of an opted-out one (so each is
 *                       a real change and the store keeps N consents), reaped
 *                       with mtgate_shard_poll (sleeping 50 us when there is
 *                       nothing to reap, as an owner would block). Real time.
 *   BM_Recovery         mtgate_engine_close + mtgate_engine_open of the
 *                       loaded store (the reopen sizes its table from
 *                       RocksDB's key estimate: expected_consents=0).
 *                       Real time, three iterations; items = consents
 *                       recovered; recovery_s, close_s, open_s, and of
 *                       open_s consents_s (the scan) and counters_s (the
 *                       counter log replay). Registered last, so it runs after
 *                       the other benchmarks of its size.
 *   Gates poll the shard (counter flush, stats) and read the clock once per
 *   16384 decisions, as an owner loop would between batches. After each
 *   benchmark a DRY_RUN sample of 4096 loaded consents (and 64 unknown
 *   numbers) is checked against the state the benchmark expects; a wrong
 *   answer fails the benchmark with the first mismatch.
 *
 * Run
 *   build/bench/engine_bench --benchmark_filter='/1000000' \
 *       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
 *   (the whole set without the filter; the 10 M load takes a minute or two).
 *   The data directory is a mkdtemp under $MTGATE_BENCH_DIR or /tmp and is
 *   removed at exit.
 */
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_common.h"
#include "mtgate/engine.h"

namespace
{

constexpr uint64_t kSeed = 0x6d74676174650001ULL;
constexpr size_t kBatch = 256;           /* requests per gate call */
constexpr uint64_t kPollEvery = 16384;   /* decisions between polls */
constexpr size_t kLoadChunk = 65536;     /* changes per mtgate_apply_many */
constexpr uint64_t kInflight = 16384;    /* durable changes in flight */
constexpr size_t kToggleRing = 1u << 20; /* pre-drawn consents to change */
constexpr size_t kVerify = 4096;         /* sampled requests checked */
constexpr int kPrograms = 4;

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0)
{
	return std::chrono::duration<double>(clock_type::now() - t0).count();
}

uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t fastrange(uint64_t h, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)h * n) >> 64);
}

void notify_noop(void *, unsigned)
{
}

/* Set-up failures end the program; the data directory is left for a look. */
[[noreturn]] void die(const char *what, int rc)
{
	fprintf(stderr, "engine_bench: %s: %s (%d)\n", what,
		rc < 0 ? mtgate_strerror(rc) : "failed", rc);
	exit(2);
}

/* ---- the data: numbers and request rings (no engine) ------------------------ */

/* Consent i: number numbers[i], program index i % 4, loaded opted out when
 * (i / 4) % 10 == 9 (10% of each program). */
struct numbers {
	size_t n = 0;
	std::vector<uint64_t> num;
	std::vector<uint32_t> ring_idx; /* consent index of each ring entry */
	size_t ring_mask = 0;
};

/* n distinct 11-digit numbers 1XXXXXXXXXX in a fixed pseudo-random order. */
std::vector<uint64_t> draw_numbers(size_t n)
{
	std::vector<uint64_t> v;
	uint64_t s = kSeed;

	v.reserve(n + n / 64 + 64);
	do {
		while (v.size() < n + n / 100 + 64)
			v.push_back(10000000000ULL +
				    splitmix64(&s) % 10000000000ULL);
		std::sort(v.begin(), v.end());
		v.erase(std::unique(v.begin(), v.end()), v.end());
	} while (v.size() < n);
	std::shuffle(v.begin(), v.end(), std::mt19937_64(kSeed));
	v.resize(n);
	return v;
}

numbers *get_numbers(size_t n)
{
	static std::map<size_t, std::unique_ptr<numbers>> cache;
	auto &slot = cache[n];
	size_t ring = 1;
	uint64_t s = kSeed ^ n;

	if (slot)
		return slot.get();
	slot = std::make_unique<numbers>();
	slot->n = n;
	slot->num = draw_numbers(n);
	while (ring < n) /* at least N requests: every consent can be hit */
		ring <<= 1;
	slot->ring_idx.resize(ring);
	for (auto &i : slot->ring_idx)
		i = (uint32_t)fastrange(splitmix64(&s), n);
	slot->ring_mask = ring - 1;
	return slot.get();
}

/* ---- the loaded engine ------------------------------------------------------ */

struct loaded {
	numbers *nums = nullptr;
	std::string path;
	mtgate_options opts;
	mtgate_engine *eng = nullptr;
	uint32_t prog[kPrograms] = {};
	std::vector<mtgate_gate_req> ring; /* requests, parallel to ring_idx */
	std::vector<uint8_t> in;           /* consent i opted in now */
	std::vector<uint32_t> toggles; /* consents BM_OptinDurable changes */
	size_t gate_pos = 0, toggle_pos = 0;
	double load_s = 0;
	bool broken = false; /* a benchmark failed: later ones skip */
};

std::map<size_t, std::unique_ptr<loaded>> &engines()
{
	static std::map<size_t, std::unique_ptr<loaded>> cache;
	return cache;
}

void define_programs(loaded *L)
{
	static const char *const kw[kPrograms] = {"DEALS", "NEWS", "ALERTS",
						  "CLUB"};
	for (int p = 0; p < kPrograms; p++) {
		mtgate_program_def d;
		int rc;
		memset(&d, 0, sizeof(d));
		d.short_code = "12345";
		d.keyword = kw[p];
		d.name = kw[p];
		d.kind = MTGATE_KIND_RECURRING;
		d.limit = MTGATE_LIMIT_MAX;
		d.period = MTGATE_PERIOD_MONTH;
		d.tz = "America/New_York";
		if ((rc = mtgate_program_define(L->eng, &d, &L->prog[p])) < 0)
			die("program define", rc);
	}
}

void load_consents(loaded *L)
{
	const numbers &N = *L->nums;
	std::vector<mtgate_change> chg(kLoadChunk);
	std::vector<int> res(kLoadChunk);
	std::vector<mtgate_outcome> oc(kLoadChunk);

	for (size_t base = 0; base < N.n; base += kLoadChunk) {
		size_t k = std::min(kLoadChunk, N.n - base);
		int rc;
		for (size_t j = 0; j < k; j++) {
			size_t i = base + j;
			mtgate_change &c = chg[j];
			memset(&c, 0, sizeof(c));
			c.op = L->in[i] ? MTGATE_OP_OPTIN : MTGATE_OP_OPTOUT;
			c.number = N.num[i];
			c.program = L->prog[i % kPrograms];
			c.channel = MTGATE_CHANNEL_IMPORT;
			c.source = "bench-import";
		}
		rc = mtgate_apply_many(L->eng, chg.data(), k, res.data(),
				       oc.data());
		if (rc < 0)
			die("apply_many", rc);
		for (size_t j = 0; j < k; j++) {
			if (res[j] < 0)
				die("load change", res[j]);
			if (oc[j] != MTGATE_CHANGED)
				die("load change not CHANGED", -1);
		}
	}
}

void open_engine(loaded *L)
{
	int rc = mtgate_engine_open(&L->opts, &L->eng);
	if (rc < 0)
		die("engine open", rc);
	if ((rc = mtgate_shard_attach(L->eng, 0)) < 0)
		die("shard attach", rc);
}

loaded *get_engine(size_t n)
{
	auto &slot = engines()[n];
	clock_type::time_point t0;

	if (slot)
		return slot.get();
	slot = std::make_unique<loaded>();
	loaded *L = slot.get();
	L->nums = get_numbers(n);
	L->path = bench::root("engine_bench") + "/n" + std::to_string(n);
	mtgate_options_init(&L->opts);
	L->opts.path = L->path.c_str();
	L->opts.shards = 1;
	L->opts.external_owners = true;
	L->opts.notify = notify_noop;
	L->opts.expected_consents = n;
	L->opts.durable = true;
	L->in.resize(n);
	for (size_t i = 0; i < n; i++)
		L->in[i] = (i / kPrograms) % 10 != 9;
	open_engine(L);
	define_programs(L);
	L->ring.resize(L->nums->ring_idx.size());
	for (size_t r = 0; r < L->ring.size(); r++) {
		uint32_t i = L->nums->ring_idx[r];
		L->ring[r].number = L->nums->num[i];
		L->ring[r].program = L->prog[i % kPrograms];
	}
	{
		uint64_t s = kSeed ^ (n << 1);
		L->toggles.resize(kToggleRing);
		for (auto &i : L->toggles)
			i = (uint32_t)fastrange(splitmix64(&s), n);
	}
	t0 = clock_type::now();
	load_consents(L);
	L->load_s = seconds_since(t0);
	mtgate_shard_poll(L->eng, 0);
	mtgate_stats st;
	mtgate_engine_stats(L->eng, &st);
	fprintf(stderr,
		"engine_bench: loaded %zu consents in %.2f s (%.0f/s, %llu "
		"commits), store %.1f bytes/consent\n",
		n, L->load_s, (double)n / L->load_s,
		(unsigned long long)st.commits,
		st.consents ? (double)st.store_bytes / (double)st.consents
			    : 0.0);
	return L;
}

/* ---- checks ----------------------------------------------------------------- */

mtgate_reason expected(const loaded *L, uint32_t i)
{
	return L->in[i] ? MTGATE_ALLOW : MTGATE_DENY_OPTED_OUT;
}

/* DRY_RUN a sample of the ring and some unknown numbers; on a wrong answer
 * fail the benchmark with the first mismatch. Not timed: runs after the
 * benchmark loop. */
bool verify(benchmark::State &state, loaded *L)
{
	static char msg[256];
	std::vector<mtgate_gate_req> reqs(kVerify + 64);
	std::vector<mtgate_reason> out(reqs.size());
	std::vector<mtgate_reason> want(reqs.size());
	size_t start = (L->gate_pos + 7919) & L->nums->ring_mask;
	int rc;

	for (size_t k = 0; k < kVerify; k++) {
		size_t r = (start + k) & L->nums->ring_mask;
		reqs[k] = L->ring[r];
		want[k] = expected(L, L->nums->ring_idx[r]);
	}
	for (size_t k = kVerify; k < reqs.size(); k++) {
		reqs[k].number = 20000000000ULL + k; /* never loaded */
		reqs[k].program = L->prog[k % kPrograms];
		want[k] = MTGATE_DENY_NO_OPTIN;
	}
	rc = mtgate_owner_gate_batch(L->eng, reqs.data(), reqs.size(),
				     MTGATE_MODE_DRY_RUN, mtgate_now(L->eng),
				     out.data());
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "verify gate: %s",
			 mtgate_strerror(rc));
		state.SkipWithError(msg);
		L->broken = true;
		return false;
	}
	for (size_t k = 0; k < reqs.size(); k++) {
		if (out[k] == want[k])
			continue;
		snprintf(
			msg, sizeof(msg),
			"wrong answer: number %llu program %u: got %s, want %s",
			(unsigned long long)reqs[k].number, reqs[k].program,
			mtgate_reason_token(out[k]),
			mtgate_reason_token(want[k]));
		state.SkipWithError(msg);
		L->broken = true;
		return false;
	}
	return true;
}

/* Every benchmark starts from a quiet engine: the counter batches an
 * earlier COUNT benchmark left to the committer are written first (the
 * committer is FIFO, so this also waits for them), outside the timing. A
 * long wait is reported: it is how far counter persistence lagged. */
loaded *setup(benchmark::State &state, const char *bench)
{
	loaded *L = get_engine((size_t)state.range(0));
	clock_type::time_point t0 = clock_type::now();
	double waited;
	int rc;

	if (L->broken || L->eng == nullptr) {
		state.SkipWithError("engine of this size failed earlier");
		return nullptr;
	}
	mtgate_shard_attach(L->eng, 0); /* same thread; cheap, and explicit */
	if ((rc = mtgate_flush_counters(L->eng)) < 0) {
		state.SkipWithError(mtgate_strerror(rc));
		L->broken = true;
		return nullptr;
	}
	waited = seconds_since(t0);
	if (waited > 0.1)
		fprintf(stderr,
			"engine_bench: %s/%lld: waited %.2f s for the "
			"counter backlog\n",
			bench, (long long)state.range(0), waited);
	return L;
}

void report_store(benchmark::State &state, loaded *L)
{
	mtgate_stats st;

	mtgate_shard_poll(L->eng, 0);
	if (mtgate_engine_stats(L->eng, &st) < 0 || st.consents == 0)
		return;
	state.counters["bytes_per_consent"] =
		(double)st.store_bytes / (double)st.consents;
	state.counters["consents"] = (double)st.consents;
}

/* ---- the anchor -------------------------------------------------------------- */

struct anchor_slot {
	uint64_t key, val;
};

struct anchor_table {
	anchor_slot *slots = nullptr;
	uint64_t cap = 0;
	std::vector<uint64_t> keys; /* ring of lookups (numbers) */
	size_t pos = 0;
};

uint64_t anchor_hash(uint64_t key)
{
	return XXH64(&key, sizeof(key), 0); /* = store_hash on little endian */
}

anchor_table *get_anchor(size_t n)
{
	static std::map<size_t, std::unique_ptr<anchor_table>> cache;
	auto &slot = cache[n];
	numbers *N;
	size_t bytes;

	if (slot)
		return slot.get();
	N = get_numbers(n);
	slot = std::make_unique<anchor_table>();
	anchor_table *A = slot.get();
	A->cap = n + n / 3; /* the engine's table at load: 3/4 full */
	bytes = (A->cap * sizeof(anchor_slot) + 63) & ~(size_t)63;
	A->slots = static_cast<anchor_slot *>(aligned_alloc(64, bytes));
	if (A->slots == nullptr)
		die("anchor table", -1);
	memset(A->slots, 0, bytes);
	for (size_t i = 0; i < n; i++) {
		uint64_t j = fastrange(anchor_hash(N->num[i]), A->cap);
		while (A->slots[j].key != 0)
			if (++j == A->cap)
				j = 0;
		A->slots[j] = anchor_slot{N->num[i], i + 1};
	}
	A->keys.resize(N->ring_idx.size());
	for (size_t r = 0; r < A->keys.size(); r++)
		A->keys[r] = N->num[N->ring_idx[r]];
	return A;
}

void BM_HashProbeAnchor(benchmark::State &state)
{
	anchor_table *A = get_anchor((size_t)state.range(0));
	const anchor_slot *slots = A->slots;
	const uint64_t cap = A->cap;
	const size_t mask = A->keys.size() - 1;
	size_t pos = A->pos;
	uint64_t sum = 0, miss = 0;

	for (auto _ : state) {
		const uint64_t *k = &A->keys[pos];
		for (size_t b = 0; b < kBatch; b++) {
			uint64_t key = k[b];
			uint64_t j = fastrange(anchor_hash(key), cap);
			while (slots[j].key != key && slots[j].key != 0)
				if (++j == cap)
					j = 0;
			sum += slots[j].val;
			miss += slots[j].key == 0;
		}
		benchmark::DoNotOptimize(sum);
		pos = (pos + kBatch) & mask;
	}
	A->pos = pos;
	if (miss != 0)
		state.SkipWithError("anchor: a loaded key was not found");
	state.SetItemsProcessed((int64_t)(state.iterations() * kBatch));
}

/* ---- gates ------------------------------------------------------------------- */

void BM_Gate(benchmark::State &state)
{
	loaded *L = setup(state, "BM_Gate");
	if (L == nullptr)
		return;
	mtgate_engine *eng = L->eng;
	const mtgate_gate_req *ring = L->ring.data();
	const size_t mask = L->nums->ring_mask;
	size_t pos = L->gate_pos;
	uint64_t until_poll = kPollEvery;
	int64_t now = mtgate_now(eng);
	int err = 0;

	for (auto _ : state) {
		mtgate_reason r;
		int rc = mtgate_owner_gate_batch(eng, &ring[pos], 1,
						 MTGATE_MODE_COUNT, now, &r);
		benchmark::DoNotOptimize(r);
		if (__builtin_expect(rc != 0, 0)) {
			err = rc;
			break;
		}
		pos = (pos + 1) & mask;
		if (--until_poll == 0) {
			until_poll = kPollEvery;
			mtgate_shard_poll(eng, 0);
			now = mtgate_now(eng);
		}
	}
	L->gate_pos = pos;
	if (err != 0) {
		state.SkipWithError(mtgate_strerror(err));
		L->broken = true;
		return;
	}
	state.SetItemsProcessed(state.iterations());
	verify(state, L);
}

void gate_batches(benchmark::State &state, mtgate_mode mode, const char *bench)
{
	loaded *L = setup(state, bench);
	if (L == nullptr)
		return;
	mtgate_engine *eng = L->eng;
	const mtgate_gate_req *ring = L->ring.data();
	const size_t mask =
		L->nums->ring_mask; /* ring is a multiple of kBatch */
	size_t pos = L->gate_pos & ~(kBatch - 1);
	uint64_t until_poll = kPollEvery / kBatch;
	int64_t now = mtgate_now(eng);
	mtgate_reason out[kBatch];
	int err = 0;

	for (auto _ : state) {
		int rc = mtgate_owner_gate_batch(eng, &ring[pos], kBatch, mode,
						 now, out);
		benchmark::DoNotOptimize(out);
		if (__builtin_expect(rc != 0, 0)) {
			err = rc;
			break;
		}
		pos = (pos + kBatch) & mask;
		if (--until_poll == 0) {
			until_poll = kPollEvery / kBatch;
			mtgate_shard_poll(eng, 0);
			now = mtgate_now(eng);
		}
	}
	L->gate_pos = pos;
	if (err != 0) {
		state.SkipWithError(mtgate_strerror(err));
		L->broken = true;
		return;
	}
	state.SetItemsProcessed((int64_t)(state.iterations() * kBatch));
	report_store(state, L);
	verify(state, L);
}

void BM_GateBatch(benchmark::State &state)
{
	gate_batches(state, MTGATE_MODE_COUNT, "BM_GateBatch");
}

void BM_GateDryRun(benchmark::State &state)
{
	gate_batches(state, MTGATE_MODE_DRY_RUN, "BM_GateDryRun");
}

/* ---- durable changes ----------------------------------------------------------- */

using bench::reap_until;
using bench::reaper;

void BM_OptinDurable(benchmark::State &state)
{
	loaded *L = setup(state, "BM_OptinDurable");
	if (L == nullptr)
		return;
	mtgate_engine *eng = L->eng;
	const numbers &N = *L->nums;
	size_t pos = L->toggle_pos;
	uint64_t submitted = 0, done_in_loop;
	reaper r;
	mtgate_change c;
	int err = 0;

	mtgate_stats st0, st1;
	mtgate_engine_stats(eng, &st0);
	memset(&c, 0, sizeof(c));
	c.channel = MTGATE_CHANNEL_WEB;
	c.source = "bench-web-form";
	for (auto _ : state) {
		uint32_t i = L->toggles[pos];
		reap_until(eng, r, submitted, kInflight - 1);
		c.op = L->in[i] ? MTGATE_OP_OPTOUT : MTGATE_OP_OPTIN;
		c.number = N.num[i];
		c.program = L->prog[i % kPrograms];
		int rc = mtgate_owner_submit(eng, &c, bench::reap_done, &r);
		if (__builtin_expect(rc != 0, 0)) {
			err = rc;
			break;
		}
		L->in[i] ^= 1; /* the engine plans against changes in flight */
		submitted++;
		pos = (pos + 1) & (kToggleRing - 1);
	}
	done_in_loop = r.completed;
	reap_until(eng, r, submitted, 0); /* untimed: after the loop */
	L->toggle_pos = pos;
	if (err != 0 || r.failed != 0 || r.unchanged != 0) {
		static char msg[160];
		snprintf(msg, sizeof(msg),
			 "submit: %s; %llu failed (first: %s); %llu unchanged",
			 err ? mtgate_strerror(err) : "ok",
			 (unsigned long long)r.failed,
			 r.failed ? mtgate_strerror(r.first_err) : "-",
			 (unsigned long long)r.unchanged);
		state.SkipWithError(msg);
		L->broken = true;
		return;
	}
	state.SetItemsProcessed((int64_t)done_in_loop);
	mtgate_engine_stats(eng, &st1);
	if (st1.commits > st0.commits) /* group commit: changes per fsync */
		state.counters["changes_per_commit"] =
			(double)(st1.changes - st0.changes) /
			(double)(st1.commits - st0.commits);
	verify(state, L);
}

/* ---- recovery -------------------------------------------------------------------- */

void BM_Recovery(benchmark::State &state)
{
	loaded *L = setup(state, "BM_Recovery");
	if (L == nullptr)
		return;
	double close_s = 0, open_s = 0, scan_s = 0, ctr_s = 0;
	uint64_t recovered = 0;
	mtgate_stats st;

	L->opts.expected_consents = 0; /* size from what is on disk */
	for (auto _ : state) {
		clock_type::time_point t0 = clock_type::now();
		int rc = mtgate_engine_close(L->eng);
		L->eng = nullptr;
		if (rc < 0)
			die("engine close", rc);
		close_s += seconds_since(t0);
		t0 = clock_type::now();
		open_engine(L);
		open_s += seconds_since(t0);
		mtgate_engine_stats(L->eng, &st);
		recovered += st.consents;
		scan_s += (double)(st.recovery_ms - st.recovery_counters_ms) /
			  1e3;
		ctr_s += (double)st.recovery_counters_ms / 1e3;
	}
	double iters = (double)state.iterations();
	state.SetItemsProcessed((int64_t)recovered);
	state.counters["recovery_s"] = (close_s + open_s) / iters;
	state.counters["close_s"] = close_s / iters;
	state.counters["open_s"] = open_s / iters;
	state.counters["consents_s"] = scan_s / iters; /* of open_s */
	state.counters["counters_s"] = ctr_s / iters;  /* of open_s */
	report_store(state, L);
	verify(state, L);
}

} // namespace

BENCHMARK(BM_HashProbeAnchor)->Arg(1000000)->Arg(10000000);
BENCHMARK(BM_Gate)->Arg(1000000)->Arg(10000000);
BENCHMARK(BM_GateBatch)->Arg(1000000)->Arg(10000000);
BENCHMARK(BM_GateDryRun)->Arg(1000000)->Arg(10000000);
BENCHMARK(BM_OptinDurable)
	->Arg(1000000)
	->Arg(10000000)
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Recovery)
	->Arg(1000000)
	->Arg(10000000)
	->UseRealTime()
	->Iterations(3)
	->Unit(benchmark::kMillisecond);

/* Like BENCHMARK_MAIN, then close the engines and remove the data. */
int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	int rc = 0;
	for (auto &e : engines()) {
		if (e.second->eng == nullptr)
			continue;
		int cr = mtgate_engine_close(e.second->eng);
		if (cr < 0) {
			fprintf(stderr, "engine_bench: close: %s\n",
				mtgate_strerror(cr));
			rc = 1;
		}
	}
	rc |= bench::remove_root("engine_bench");
	return rc;
}
