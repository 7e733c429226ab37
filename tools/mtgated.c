/*
 * mtgated: the MT gating server. Parses the configuration, opens the engine
 * on the data directory, loads the credentials, starts one core thread per
 * shard (engine/server/) and waits for SIGTERM or SIGINT. Then it stops
 * accepting, answers what is in flight, and closes the engine, which
 * persists the counters and closes RocksDB; it exits 0.
 *
 * Exit codes: 0 after a clean stop (or --help), 1 when the server could not
 * start or the engine reported a storage error at close, 2 for bad
 * arguments or configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

static int64_t test_clock(void *ctx)
{
	srv *s = ctx;
	return atomic_load_explicit(&s->test_now_ms, memory_order_relaxed);
}

/* The engine says a shard has work: wake the thread that owns it. */
static void notify(void *ctx, unsigned shard)
{
	srv *s = ctx;

	if (s->threads != NULL && shard < s->nthreads)
		srv_wake(&s->threads[shard]);
}

static int open_engine(srv *s)
{
	mtgate_options o;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store(&s->test_now_ms,
		     (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	mtgate_options_init(&o);
	o.path = s->cfg.data;
	o.shards = s->nthreads;
	o.external_owners = true;
	o.notify = notify;
	o.notify_ctx = s;
	o.counter_flush_ms = s->cfg.counter_flush_ms;
	o.max_charge_cents = s->cfg.max_charge_cents;
	if (s->cfg.test_clock) {
		o.clock = test_clock;
		o.clock_ctx = s;
	}
	if (mkdir(s->cfg.data, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "mtgated: data directory %s: %s\n", s->cfg.data,
			strerror(errno));
		return -1;
	}
	rc = mtgate_engine_open(&o, &s->eng);
	if (rc < 0) {
		fprintf(stderr, "mtgated: cannot open the engine on %s: %s\n",
			s->cfg.data, mtgate_strerror(rc));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static srv s;
	sigset_t set;
	long cores;
	int sig, rc = srv_config_load(&s.cfg, argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	s.nthreads = s.cfg.threads ? s.cfg.threads
				   : (unsigned)(cores > 0 ? cores : 1);
	if (s.nthreads > SRV_THREADS_MAX)
		s.nthreads = SRV_THREADS_MAX;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it */
	if (open_engine(&s) < 0)
		return 1;
	if (srv_auth_open(&s.auth, s.eng, &s.cfg) < 0 || srv_start(&s) < 0) {
		srv_stop(&s);
		if (s.threads != NULL)
			srv_join(&s);
		srv_auth_close(s.auth);
		mtgate_engine_close(s.eng);
		return 1;
	}
	fprintf(stderr, "mtgated ready %s\n", s.bound);
	fflush(stderr);
	do
		rc = sigwait(&set, &sig);
	while (rc != 0);
	fprintf(stderr, "mtgated: %s, stopping\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	srv_stop(&s);
	srv_join(&s);
	srv_auth_close(s.auth);
	rc = mtgate_engine_close(s.eng);
	if (rc < 0) {
		fprintf(stderr, "mtgated: closing the engine: %s\n",
			mtgate_strerror(rc));
		return 1;
	}
	fprintf(stderr, "mtgated: stopped\n");
	return 0;
}
