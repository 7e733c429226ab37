/*
 * CLI commands about the server itself: ping, tenant add, clock, stats.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

#define PING_WAIT_MAX_S  86400.0
#define PING_RETRY_MS    100
#define PING_ATTEMPT_MIN 200 /* ms: the shortest connect attempt */

/* ---- ping --------------------------------------------------------------------- */

static const char ping_usage[] =
	"usage: mtgate ping [--wait SECONDS]\n"
	"\n"
	"Ask the server whether it is up. PING needs no key. Prints PONG.\n"
	"\n"
	"Options:\n"
	"  --wait SECONDS  keep trying until the server answers or SECONDS\n"
	"                  pass (default 0: one try; decimals allowed)\n";

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ping_once(cli_ctx *cx, int timeout_ms)
{
	int rc;

	mtgate_c_close(cx->conn);
	cx->conn = NULL;
	rc = mtgate_c_connect(cx->server, NULL, timeout_ms, &cx->conn);
	if (rc == 0)
		rc = mtgate_c_ping(cx->conn);
	return rc;
}

int cli_cmd_ping(cli_ctx *cx, int argc, char **argv)
{
	const char *wait = NULL, *pos[1];
	const cli_opt opts[] = {{"--wait", &wait, NULL}, {NULL, NULL, NULL}};
	const cli_spec spec = {"ping", ping_usage, opts, 0, 0, ""};
	double wait_s = 0;
	int64_t end, left;
	int npos, rc;
	char *e;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (wait != NULL) {
		wait_s = strtod(wait, &e);
		if (e == wait || *e != '\0' || !isfinite(wait_s) ||
		    wait_s < 0 || wait_s > PING_WAIT_MAX_S)
			return cli_usage_error("ping",
					       "bad --wait '%s': expected "
					       "seconds, 0 to 86400",
					       wait);
	}
	end = mono_ms() + (int64_t)(wait_s * 1000);
	for (;;) {
		/* One try has the whole timeout; while waiting, a try ends
		 * with the wait (but is not cut too short to connect). */
		left = end - mono_ms();
		if (left < PING_ATTEMPT_MIN)
			left = PING_ATTEMPT_MIN;
		rc = ping_once(cx, wait_s > 0 && left < cx->timeout_ms
					   ? (int)left
					   : cx->timeout_ms);
		if (rc == 0 || rc == MTGATE_EADDR ||
		    (left = end - mono_ms()) <= 0)
			break;
		left = left < PING_RETRY_MS ? left : PING_RETRY_MS;
		nanosleep(&(struct timespec){0, (long)left * 1000000L}, NULL);
	}
	if (rc < 0)
		return cx->conn ? cli_fail(cx, rc) : cli_connect_error(cx, rc);
	puts("PONG");
	return CLI_OK;
}

/* ---- tenant ------------------------------------------------------------------------ */

static const char tenant_usage[] =
	"usage: mtgate tenant <command>\n"
	"\n"
	"Commands:\n"
	"  add NAME   create a tenant (operator only) and print its key\n"
	"\n"
	"Run 'mtgate tenant <command> --help' for one command.\n";

static const char tenant_add_usage[] =
	"usage: mtgate tenant add NAME\n"
	"\n"
	"Create a tenant (operator only). Prints two lines:\n"
	"  tenant: <ID>\n"
	"  key: <KEY>\n"
	"The key is shown this once; the server keeps only its digest.\n";

static int tenant_add(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"tenant add", tenant_add_usage, NULL, 1, 1,
			       "NAME"};
	char key[MTGATE_PROTO_KEY_MAX + 1];
	const char *pos[1];
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_tenant_add(cx->conn, pos[0], &id, key)) < 0)
		return cli_fail(cx, rc);
	printf("tenant: %u\nkey: %s\n", id, key);
	return CLI_OK;
}

int cli_cmd_tenant(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {{"add", tenant_add}};

	return cli_dispatch(cx, "tenant", tenant_usage, cmds, 1, argc, argv);
}

/* ---- clock -------------------------------------------------------------------------- */

static const char clock_usage[] =
	"usage: mtgate clock <command>\n"
	"\n"
	"The server's test clock; works only when mtgated runs with\n"
	"--test-clock. Each command prints the clock's time afterwards, in\n"
	"RFC 3339 UTC (2026-11-23T13:11:44Z).\n"
	"\n"
	"Commands:\n"
	"  get                print the time\n"
	"  set TIME           set it to TIME (RFC 3339, Z or an offset)\n"
	"  advance DURATION   move it forward: 90s, 30m, 24h, 31d, 2w, 1h30m\n"
	"\n"
	"Run 'mtgate clock <command> --help' for one command.\n";

static const char clock_get_usage[] = "usage: mtgate clock get\n"
				      "\n"
				      "Print the test clock's time.\n";

static const char clock_set_usage[] =
	"usage: mtgate clock set TIME\n"
	"\n"
	"Set the test clock to TIME, RFC 3339 with Z or an offset\n"
	"(2026-11-23T13:11:44Z, 2026-11-23T08:11:44-05:00). Prints the time.\n";

static const char clock_advance_usage[] =
	"usage: mtgate clock advance DURATION\n"
	"\n"
	"Move the test clock forward by DURATION: a number and a unit (ms,\n"
	"s, m, h, d, w), or several (1h30m). Prints the new time.\n";

static int clock_run(cli_ctx *cx, int op, int64_t value_ms)
{
	char buf[CLI_TIME_SIZE];
	int64_t now;
	int rc;

	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_clock(cx->conn, op, value_ms, &now)) < 0)
		return cli_fail(cx, rc);
	puts(cli_time_format(now, buf));
	return CLI_OK;
}

static int clock_get(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"clock get", clock_get_usage, NULL, 0, 0, ""};
	const char *pos[1];
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	return clock_run(cx, MTGATE_CLOCK_READ, 0);
}

static int clock_set(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"clock set", clock_set_usage, NULL, 1,
			       1,           "TIME"};
	const char *pos[1];
	int npos, rc;
	int64_t t;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_time_parse(pos[0], &t) < 0)
		return cli_usage_error("clock set",
				       "bad time '%s': expected RFC 3339, "
				       "e.g. 2026-11-23T13:11:44Z",
				       pos[0]);
	return clock_run(cx, MTGATE_CLOCK_SET, t);
}

static int clock_advance(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"clock advance", clock_advance_usage, NULL, 1, 1,
			       "DURATION"};
	const char *pos[1];
	int npos, rc;
	int64_t d;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_duration_parse(pos[0], &d) < 0)
		return cli_usage_error("clock advance",
				       "bad duration '%s': expected e.g. 90s, "
				       "30m, 24h, 31d, 2w or 1h30m",
				       pos[0]);
	return clock_run(cx, MTGATE_CLOCK_ADVANCE, d);
}

int cli_cmd_clock(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {
		{"get", clock_get},
		{"set", clock_set},
		{"advance", clock_advance},
	};

	return cli_dispatch(cx, "clock", clock_usage, cmds,
			    sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

/* ---- stats -------------------------------------------------------------------------- */

static const char stats_usage[] =
	"usage: mtgate stats\n"
	"\n"
	"Print the server's counters, one 'name value' line each:\n"
	"consents store_bytes commits changes counter_flushes gates\n"
	"connections frames_in frames_out protocol_errors uptime_ms readonly\n"
	"recovered recovery_ms.\n";

static const char *const stat_names[MTGATE_STAT_MAX] = {
	[MTGATE_STAT_CONSENTS] = "consents",
	[MTGATE_STAT_STORE_BYTES] = "store_bytes",
	[MTGATE_STAT_COMMITS] = "commits",
	[MTGATE_STAT_CHANGES] = "changes",
	[MTGATE_STAT_COUNTER_FLUSHES] = "counter_flushes",
	[MTGATE_STAT_GATES] = "gates",
	[MTGATE_STAT_CONNECTIONS] = "connections",
	[MTGATE_STAT_FRAMES_IN] = "frames_in",
	[MTGATE_STAT_FRAMES_OUT] = "frames_out",
	[MTGATE_STAT_PROTOCOL_ERRORS] = "protocol_errors",
	[MTGATE_STAT_UPTIME_MS] = "uptime_ms",
	[MTGATE_STAT_READONLY] = "readonly",
	[MTGATE_STAT_RECOVERED] = "recovered",
	[MTGATE_STAT_RECOVERY_MS] = "recovery_ms",
};

int cli_cmd_stats(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"stats", stats_usage, NULL, 0, 0, ""};
	uint64_t vals[MTGATE_STAT_MAX];
	const char *pos[1];
	int npos, rc;
	size_t n;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_stats(cx->conn, vals, &n)) < 0)
		return cli_fail(cx, rc);
	for (size_t i = 0; i < n && i < MTGATE_STAT_MAX; i++)
		printf("%s %llu\n", stat_names[i], (unsigned long long)vals[i]);
	return CLI_OK;
}
