/*
 * mo_bench: MOs handled per second by one owner thread of the engine
 * (issue 4: at least 1 M MOs/s per core for a mix of keyword, STOP and HELP
 * on the in-memory path, without fsync; reported with durable writes too).
 *
 * Set-up (one engine per durability, made on first use and kept)
 *   shards=1 and external_owners (notify is a no-op): the benchmark thread
 *   owns shard 0 and calls mtgate_owner_mo itself, so the CPU-time figure is
 *   one core's work (tokenize, the rule step, the plan, the pend node, and
 *   on reaping the store update); the committer and RocksDB run on the
 *   other core. One short code with 4 recurring programs (keywords DEALS,
 *   NEWS, ALERTS, CLUB, each with its welcome, help and quit texts). N = 1 M
 *   numbers ($MTGATE_MO_BENCH_NUMBERS for profiling); number i uses program
 *   i % 4 only, so a STOP is one program's opt-out (the scope question of
 *   STOP-4 is for numbers on several programs).
 *
 * The mix
 *   MO k goes to number i = k mod N and is, by the phase (k / N + i) mod 3:
 *   the program's keyword in mixed case ("Deals"), "HELP" or "stop". So the
 *   stream is one third each, every number cycles keyword, HELP, STOP, and
 *   every keyword and STOP is a real, durable change (opt-in of an opted-out
 *   number, opt-out of an opted-in one) with its reply text; HELP changes
 *   nothing and answers the program's help text. An untimed warm-up opts
 *   every number in, then out again where its first MO is its keyword.
 *
 * Benchmarks
 *   BM_MORules       the pure rules on the mix: rules_tokenize and
 *                    rules_mo_step for the number's program, no store.
 *   BM_MO/0/16384    the engine, durable=false: RocksDB writes without
 *                    fsync, 16384 MOs in flight.
 *   BM_MO/1/16384    durable=true: each commit fsynced, group commit taking
 *                    what has arrived.
 *   items_per_second is per CPU second of the owner thread (its polling
 *   included); ns_in_mo is the wall time inside mtgate_owner_mo per MO (the
 *   owner's work per MO before the write; 1e9 / ns_in_mo is what one core
 *   would handle if the writes kept up); mos_per_s_real is MOs completed
 *   (durable when durable=1) per wall-clock second, which the committer's
 *   RocksDB inserts bound. After each run every MO must have completed
 *   without error, every keyword and STOP must have changed its consent,
 *   and a DRY_RUN gate on 4096 sampled numbers must match the state the mix
 *   left; a mismatch fails the benchmark.
 *
 * Run
 *   build/bench/mo_bench --benchmark_repetitions=5 \
 *       --benchmark_report_aggregates_only=true
 *   The data directory is a mkdtemp under $MTGATE_BENCH_DIR or /tmp and is
 *   removed at exit.
 */
#include <benchmark/benchmark.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_common.h"
#include "mtgate/engine.h"
extern "C" {
#include "rules/rules.h"
}

namespace
{

constexpr int kPrograms = 4;
constexpr size_t kVerify = 4096;
constexpr const char *kShortCode = "12345";

const char *const kKeyword[kPrograms] = {"DEALS", "NEWS", "ALERTS", "CLUB"};
const char *const kMixed[kPrograms] = {"Deals", "news", "Alerts", "club"};

/* Numbers in the mix: 1 M, or $MTGATE_MO_BENCH_NUMBERS (for profiling). */
size_t kNumbers = 1000000;

using clock_type = std::chrono::steady_clock;

[[noreturn]] void die(const char *what, int rc)
{
	fprintf(stderr, "mo_bench: %s: %s (%d)\n", what,
		rc < 0 ? mtgate_strerror(rc) : "failed", rc);
	exit(2);
}

void notify_noop(void *, unsigned)
{
}

using bench::reaper;

struct bench_engine {
	std::string path;
	mtgate_engine *eng = nullptr;
	uint32_t prog[kPrograms] = {};
	std::vector<uint64_t> num;
	std::vector<uint8_t> in; /* number i opted in now */
	uint64_t k = 0;          /* the next MO of the mix */
	reaper r;
	uint64_t submitted = 0, writes = 0; /* writes: keyword and STOP MOs */
	bool broken = false;                /* a run failed: later runs skip */
	mtgate_mo_result res;
};

void define_programs(bench_engine *B)
{
	for (int p = 0; p < kPrograms; p++) {
		std::string kw = kKeyword[p];
		std::string welcome =
			"Welcome to " + kw +
			"! Max 4 msgs/mo. Msg&data rates may apply. Reply HELP "
			"for help, STOP to cancel.";
		std::string help = kw + ": Max 4 msgs/mo. Msg&data rates may "
					"apply. Help at 0800 123 456. Reply "
					"STOP to cancel.";
		std::string quit = "You have been unsubscribed from " + kw +
				   ". No more messages will be sent.";
		mtgate_program_def d;
		memset(&d, 0, sizeof(d));
		d.short_code = kShortCode;
		d.keyword = kKeyword[p];
		d.name = kKeyword[p];
		d.kind = MTGATE_KIND_RECURRING;
		d.limit = 4;
		d.period = MTGATE_PERIOD_MONTH;
		d.welcome_text = welcome.c_str();
		d.help_text = help.c_str();
		d.quit_text = quit.c_str();
		int rc = mtgate_program_define(B->eng, &d, &B->prog[p]);
		if (rc < 0)
			die("program define", rc);
	}
}

/* The draw of 1 M distinct 11-digit numbers (1XXXXXXXXXX), fixed. */
std::vector<uint64_t> draw_numbers(size_t n)
{
	std::vector<uint64_t> v(n);
	for (size_t i = 0; i < n; i++) /* a bijection on [0, 1e10) */
		v[i] = 10000000000ULL +
		       (i * 7919ULL * 104729ULL) % 10000000000ULL;
	return v;
}

void reap_until(bench_engine *B, uint64_t limit)
{
	bench::reap_until(B->eng, B->r, B->submitted, limit);
}

/* Submit to number i the MO of phase 0 (keyword), 1 (HELP) or 2 (STOP). */
int submit(bench_engine *B, size_t i, unsigned phase)
{
	const char *text;
	switch (phase) {
	case 0:
		text = kMixed[i % kPrograms];
		B->in[i] = 1;
		break;
	case 1:
		text = "HELP";
		break;
	default:
		text = "stop";
		B->in[i] = 0;
		break;
	}
	int rc = mtgate_owner_mo(B->eng, MTGATE_TENANT_ANY, B->num[i],
				 kShortCode, text, strlen(text), &B->res,
				 bench::reap_done, &B->r);
	if (rc == 0) {
		B->submitted++;
		B->writes += phase != 1;
	}
	return rc;
}

/* Submit MO B->k of the mix. */
int submit_next(bench_engine *B)
{
	size_t i = (size_t)(B->k % kNumbers);
	unsigned phase = (unsigned)((B->k / kNumbers + i) % 3);
	B->k++;
	return submit(B, i, phase);
}

bench_engine *make_engine(bool durable)
{
	bench_engine *B = new bench_engine;
	mtgate_options o;

	B->path = bench::root("mo_bench") + "/e" + std::to_string(durable);
	mtgate_options_init(&o);
	o.path = B->path.c_str();
	o.shards = 1;
	o.external_owners = true;
	o.notify = notify_noop;
	o.expected_consents = kNumbers;
	o.durable = durable;
	int rc = mtgate_engine_open(&o, &B->eng);
	if (rc < 0)
		die("engine open", rc);
	if ((rc = mtgate_shard_attach(B->eng, 0)) < 0)
		die("shard attach", rc);
	define_programs(B);
	B->num = draw_numbers(kNumbers);
	B->in.assign(kNumbers, 0);
	/* Warm-up: every number opts in, then those whose first MO of the
	 * mix is their keyword opt out, so every MO of the mix is what its
	 * phase says (pass k / N = 1 comes first). */
	for (size_t i = 0; i < kNumbers; i++) {
		reap_until(B, 16383);
		if ((rc = submit(B, i, 0)) < 0)
			die("warm-up MO", rc);
	}
	for (size_t i = 0; i < kNumbers; i++) {
		reap_until(B, 16383);
		if ((1 + i) % 3 == 0 && (rc = submit(B, i, 2)) < 0)
			die("warm-up MO", rc);
	}
	reap_until(B, 0);
	B->k = kNumbers;
	if (B->r.failed)
		die("warm-up MO failed", B->r.first_err);
	B->r = reaper();
	B->submitted = B->writes = 0;
	return B;
}

void close_engine(bench_engine *B)
{
	int rc = mtgate_engine_close(B->eng);
	if (rc < 0)
		die("engine close", rc);
	delete B;
}

/* A DRY_RUN gate on sampled numbers answers what the mix left. */
bool verify(benchmark::State &state, bench_engine *B)
{
	for (size_t s = 0; s < kVerify; s++) {
		size_t i = (s * 2654435761u) % kNumbers;
		mtgate_reason why = MTGATE_REASON_MAX;
		mtgate_gate_req req = {B->num[i], B->prog[i % kPrograms]};
		int rc = mtgate_owner_gate_batch(B->eng, &req, 1,
						 MTGATE_MODE_DRY_RUN,
						 mtgate_now(B->eng), &why);
		mtgate_reason want =
			B->in[i] ? MTGATE_ALLOW : MTGATE_DENY_OPTED_OUT;
		if (rc < 0 || why != want) {
			static char msg[160];
			snprintf(
				msg, sizeof(msg),
				"verify: number %llu: gate %s, want %s (rc %d)",
				(unsigned long long)B->num[i],
				mtgate_reason_token(why),
				mtgate_reason_token(want), rc);
			state.SkipWithError(msg);
			return false;
		}
	}
	return true;
}

/* One engine per durability, made on first use and kept for every run of
 * its benchmark (Google Benchmark calls a benchmark several times). */
bench_engine *engines[2];

bench_engine *get_engine(bool durable)
{
	if (engines[durable] == nullptr)
		engines[durable] = make_engine(durable);
	return engines[durable];
}

void BM_MO(benchmark::State &state)
{
	bool durable = state.range(0) != 0;
	uint64_t inflight = (uint64_t)state.range(1);
	bench_engine *B = get_engine(durable);
	int err = 0;

	if (B->broken) {
		state.SkipWithError("an earlier run of this engine failed");
		return;
	}
	B->r = reaper();
	B->submitted = B->writes = 0;
	clock_type::time_point t0 = clock_type::now();
	double in_mo_s = 0; /* wall time inside mtgate_owner_mo */
	for (auto _ : state) {
		reap_until(B, inflight - 1);
		clock_type::time_point a = clock_type::now();
		err = submit_next(B);
		in_mo_s += std::chrono::duration<double>(clock_type::now() - a)
				   .count();
		if (__builtin_expect(err < 0, 0))
			break;
	}
	uint64_t done_in_loop = B->r.completed;
	double real_s =
		std::chrono::duration<double>(clock_type::now() - t0).count();
	reap_until(B, 0); /* untimed, after the loop */
	if (err != 0 || B->r.failed != 0 ||
	    B->r.completed - B->r.unchanged != B->writes) {
		static char msg[200];
		snprintf(msg, sizeof(msg),
			 "submit: %s; %llu failed (first: %s); %llu changed of "
			 "%llu keyword/STOP MOs",
			 err ? mtgate_strerror(err) : "ok",
			 (unsigned long long)B->r.failed,
			 B->r.failed ? mtgate_strerror(B->r.first_err) : "-",
			 (unsigned long long)(B->r.completed - B->r.unchanged),
			 (unsigned long long)B->writes);
		state.SkipWithError(msg);
		B->broken = true;
		return;
	}
	state.SetItemsProcessed((int64_t)done_in_loop);
	state.counters["mos_per_s_real"] = (double)done_in_loop / real_s;
	state.counters["ns_in_mo"] = in_mo_s * 1e9 / (double)B->submitted;
	if (!verify(state, B))
		B->broken = true;
}

/* The rules alone on the same mix: rules_tokenize and rules_mo_step for
 * the number's program on the short code (its state as the mix leaves it),
 * no store and no plan: the pure part of every MO. */
void BM_MORules(benchmark::State &state)
{
	static rules_words words;
	static rules_mo_out out;
	std::vector<std::string> welcome, help, quit;
	rules_prog progs[kPrograms];
	uint64_t k = kNumbers, n = 0, changes = 0, writes = 0;

	for (int p = 0; p < kPrograms; p++) {
		welcome.push_back(std::string("Welcome to ") + kKeyword[p] +
				  "! Max 4 msgs/mo. Reply HELP for help, STOP "
				  "to cancel.");
		help.push_back(std::string(kKeyword[p]) +
			       ": Max 4 msgs/mo. Reply STOP to cancel.");
		quit.push_back(std::string("You have left ") + kKeyword[p] +
			       ".");
	}
	for (int p = 0; p < kPrograms; p++)
		progs[p] = rules_prog{};
	for (auto _ : state) {
		size_t i = (size_t)(k % kNumbers);
		unsigned phase = (unsigned)((k / kNumbers + i) % 3);
		const char *text = phase == 0   ? kMixed[i % kPrograms]
				   : phase == 1 ? "HELP"
						: "stop";
		rules_prog &p = progs[i % kPrograms];
		k++;
		p.id = (uint32_t)(i % kPrograms) + 1;
		p.keyword = kKeyword[i % kPrograms];
		p.welcome_text = welcome[i % kPrograms].c_str();
		p.help_text = help[i % kPrograms].c_str();
		p.quit_text = quit[i % kPrograms].c_str();
		p.state = phase == 0 ? MTGATE_STATE_OPTED_OUT
				     : MTGATE_STATE_OPTED_IN;
		p.last_optout = phase == 0;
		rules_mo_in in = {&words, &p, 1, false, nullptr};
		if (rules_tokenize(text, strlen(text), &words) < 0) {
			state.SkipWithError("tokenize failed");
			return;
		}
		rules_mo_step(&in, &out);
		changes += out.change[0] != RULES_NONE;
		writes += phase != 1;
		benchmark::DoNotOptimize(out.n_replies);
		n++;
	}
	/* Every keyword and STOP changed its program; HELP did not. */
	if (changes != writes) {
		state.SkipWithError("the mix did not change what it should");
		return;
	}
	state.SetItemsProcessed((int64_t)n);
}

} // namespace

BENCHMARK(BM_MORules);
BENCHMARK(BM_MO)->Args({0, 16384})->Args({1, 16384});

int main(int argc, char **argv)
{
	const char *n = getenv("MTGATE_MO_BENCH_NUMBERS");
	if (n != nullptr && atol(n) >= 3)
		kNumbers = (size_t)atol(n);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	for (bench_engine *&B : engines)
		if (B != nullptr)
			close_engine(B);
	return bench::remove_root("mo_bench");
}
