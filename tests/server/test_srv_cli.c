/*
 * Checks the mtgate CLI (tools/mtgate.c, tools/cli/) as a person or a
 * script runs it: the real binary (MTGATE_CLI_PATH) in a child process,
 * its stdout, stderr and exit status read back, against a real mtgated
 * started with --test-clock for the whole file (one without it, and one
 * started late on a known port, where a test needs them).
 *
 *   - README.md "A first session" word for word: program add, optin, five
 *     checks (ALLOW four times, then DENY MSG_LIMIT_EXCEEDED), query.
 *   - check's exit codes: 0 ALLOW, 1 DENY (NO_OPTIN, UNKNOWN_PROGRAM,
 *     OPTED_OUT, ...), 2 an error (server unreachable, key refused).
 *   - check --dry-run counts nothing; optout SC:KW and SC:ALL;
 *     deactivate --reason disconnect|port (--at), then DENY DEACTIVATED;
 *     tenant add prints a key that works and sees only its own programs.
 *   - clock set/get/advance (30m, 24h, 31d, 1h30m) move the day and month
 *     windows; without --test-clock every clock command fails, exit 2.
 *   - where the key and the server come from: --key, --key-file,
 *     MTGATE_KEY, ./mtgate-data/operator.key; --server, MTGATE_SERVER;
 *     which wins.
 *   - ping, ping --wait against a running, a dead and a late server.
 *   - bad input of every kind: exit 2, one "error: ..." line on stderr
 *     naming the problem, nothing on stdout, no change on the server.
 *   - --help at every level: exit 0, the usage on stdout.
 *   - stats: its fourteen "name value" lines, counting what was done.
 *   - the consent rules' words: mo (REPLY <text>, ACTION <KIND> <SC:KW|SC>),
 *     shortcode set (OK), doi request|renotify (PENDING, REPLY <text>; the
 *     engine's refusals exit 2), bill check (ALLOW exit 0, DENY <REASON>
 *     exit 1) and bill result (RECORDED), reminders due (NUMBER SC:KW SINCE
 *     DUE); program add refused by a PROG rule prints exactly
 *     "error: PROG-n: ..." and stores nothing; program show's premium
 *     fields.
 *
 * Output goes to files, never pipes, so a CLI can never block on them;
 * every run is bounded (CLI_RUN_MS) and every child is reaped.
 */
#include "cliutil.h"

#include <ctype.h>

static int group_setup(void **state)
{
	return cu_group_setup(state, "srv-cli");
}

/* ---- the README ------------------------------------------------------------------- */

/*
 * README.md "A first session", command for command: no --server and no
 * --key, as there; the CLI finds the key in ./mtgate-data/operator.key of
 * its working directory, and the server (not on 7411 here) through
 * MTGATE_SERVER.
 */
static void test_srv_cli_readme_first_session(void **state)
{
	fx *f = *state;
	char env_server[96], key[MTGATE_PROTO_KEY_MAX + 2];
	const char *dir;

	clock_set(f, T0_TEXT);
	snprintf(env_server, sizeof(env_server), "MTGATE_SERVER=%s",
		 f->s->addr);
	snprintf(key, sizeof(key), "%s\n", f->s->key);
	dir = work_dir(f, key);

	CLI_RAW(f, dir, ARGV(env_server), "program", "add", "--short-code",
		"12345", "--keyword", "JOES", "--name", "Joe's Discount Club",
		"--limit", "4/month", "--tz", "America/New_York", "--welcome",
		"Joe's Discount Club: 4 deals a month. Max 4 msgs/mo. "
		"Msg&Data rates may apply. Reply HELP for help, STOP to "
		"cancel.",
		"--help-text",
		"Joe's Discount Club: joesclub.com or 1-800-555-0100. Max 4 "
		"msgs/mo.",
		"--quit-text",
		"You have quit Joe's Discount Club. No more messages will be "
		"sent.");
	EXPECT_PROGRAM(f, "12345:JOES");

	CLI_RAW(f, dir, ARGV(env_server), "optin", "+15551234567", "12345:JOES",
		"--channel", "web", "--source", "signup-form-17");
	EXPECT(f, 0, "OPTED_IN\n");

	for (int i = 0; i < 4; i++) {
		CLI_RAW(f, dir, ARGV(env_server), "check", "+15551234567",
			"12345:JOES");
		EXPECT(f, 0, "ALLOW\n");
	}
	CLI_RAW(f, dir, ARGV(env_server), "check", "+15551234567",
		"12345:JOES");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");

	CLI_RAW(f, dir, ARGV(env_server), "query", "+15551234567");
	EXPECT(f, 0, "12345:JOES OPTED_IN web " T0_TEXT " 4/4\n");

	/* What was defined reads back as given. */
	CLI(f, "program", "show", "12345:JOES");
	if (f->status != 0 ||
	    strstr(f->out, "\nname: Joe's Discount Club\n") == NULL ||
	    strstr(f->out, "\nkind: recurring\nlimit: 4/month\n"
			   "tz: America/New_York\n") == NULL ||
	    strstr(f->out, "\nwelcome_text: Joe's Discount Club: 4 deals a "
			   "month. Max 4 msgs/mo.") == NULL)
		run_failed(f, __LINE__, "program show does not match");
	CLI(f, "program", "list");
	if (f->status != 0 ||
	    strstr(f->out, " 12345:JOES 4/month America/New_York Joe's "
			   "Discount Club\n") == NULL)
		run_failed(f, __LINE__, "program list lacks 12345:JOES");
}

/* ---- check -------------------------------------------------------------------------- */

static void test_srv_cli_check_exit_codes(void **state)
{
	fx *f = *state;

	clock_set(f, T0_TEXT);
	program_add(f, "23456", "CODES", "10/day", "UTC");
	CLI(f, "optin", "+15552000001", "23456:CODES");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", "+15552000001", "23456:CODES");
	EXPECT(f, 0, "UNCHANGED\n");

	/* 0: ALLOW; ten digits alone are +1; keywords in any case. */
	CLI(f, "check", "+15552000001", "23456:CODES");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "check", "5552000001", "23456:codes");
	EXPECT(f, 0, "ALLOW\n");

	/* 1: DENY and the reason. */
	CLI(f, "check", "+15552000002", "23456:CODES");
	EXPECT(f, 1, "DENY NO_OPTIN\n");
	CLI(f, "check", "+15552000001", "99999:NOSUCH");
	EXPECT(f, 1, "DENY UNKNOWN_PROGRAM\n");

	/* 2: an error, nothing on stdout. */
	dead_port(f);
	CLI_RAW(f, NULL, NULL, "--server", f->dead, "--key", f->s->key, "check",
		"+15552000001", "23456:CODES");
	EXPECT_ERROR(f, "could not connect to the server at");
	if (strstr(f->err, f->dead) == NULL)
		run_failed(f, __LINE__, "the error names no address");
	CLI_KEY(f, "mtk_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"check", "+15552000001", "23456:CODES");
	EXPECT_ERROR(f, "authentication failed");
	{
		su_texts t;
		texts_for_limit(&t, "again", "1/day");
		CLI(f, "program", "add", "--short-code", "23456", "--keyword",
		    "CODES", "--name", "again", "--limit", "1/day", "--welcome",
		    t.welcome, "--help-text", t.help, "--quit-text", t.quit);
		EXPECT_ERROR(f, "already exists");
	}
}

static void test_srv_cli_check_dry_run_counts_nothing(void **state)
{
	fx *f = *state;

	clock_set(f, T0_TEXT);
	program_add(f, "23456", "DRY", "1/day", "UTC");
	CLI(f, "optin", "+15552000101", "23456:DRY", "--channel", "ivr");
	EXPECT(f, 0, "OPTED_IN\n");
	for (int i = 0; i < 3; i++) {
		CLI(f, "check", "+15552000101", "23456:DRY", "--dry-run");
		EXPECT(f, 0, "ALLOW\n");
	}
	CLI(f, "query", "+15552000101");
	EXPECT(f, 0, "23456:DRY OPTED_IN ivr " T0_TEXT " 0/1\n");

	CLI(f, "check", "+15552000101", "23456:DRY");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "check", "--dry-run", "+15552000101", "23456:DRY");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");
	CLI(f, "check", "+15552000101", "23456:DRY");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");
	CLI(f, "query", "+15552000101");
	EXPECT(f, 0, "23456:DRY OPTED_IN ivr " T0_TEXT " 1/1\n");
}

/* ---- consent changes --------------------------------------------------------------- */

static void test_srv_cli_optout_program_and_all(void **state)
{
	fx *f = *state;
	const char *n = "+15553000001";

	clock_set(f, T0_TEXT);
	program_add(f, "34567", "ALPHA", "5/month", "UTC");
	program_add(f, "34567", "BETA", "5/month", "UTC");
	program_add(f, "34568", "GAMMA", "5/month", "UTC");
	CLI(f, "optin", n, "34567:ALPHA", "--channel", "web");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", n, "34567:BETA", "--channel", "ivr");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", n, "34568:GAMMA", "--channel", "import");
	EXPECT(f, 0, "OPTED_IN\n");

	CLI(f, "optout", n, "34567:ALPHA");
	EXPECT(f, 0, "OPTED_OUT 1\n");
	CLI(f, "optout", n, "34567:ALPHA");
	EXPECT(f, 0, "OPTED_OUT 0\n");
	CLI(f, "check", n, "34567:ALPHA");
	EXPECT(f, 1, "DENY OPTED_OUT\n");
	CLI(f, "check", n, "34567:BETA");
	EXPECT(f, 0, "ALLOW\n");

	/* SC:ALL: every program on 34567 (ALPHA already was), not 34568. */
	CLI(f, "optout", n, "34567:all", "--channel", "mo", "--source", "STOP");
	EXPECT(f, 0, "OPTED_OUT 1\n");
	CLI(f, "check", n, "34567:BETA");
	EXPECT(f, 1, "DENY OPTED_OUT\n");
	CLI(f, "check", n, "34568:GAMMA");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "query", n);
	EXPECT(f, 0,
	       "34567:ALPHA OPTED_OUT api " T0_TEXT " 0/5\n"
	       "34567:BETA OPTED_OUT mo " T0_TEXT " 1/5\n"
	       "34568:GAMMA OPTED_IN import " T0_TEXT " 1/5\n");

	/* A short code without programs, a program nobody defined. */
	CLI(f, "optout", n, "34569:ALL");
	EXPECT_ERROR(f, "program");
	CLI(f, "optout", n, "34567:NOSUCH");
	EXPECT_ERROR(f, "unknown program 34567:NOSUCH");
}

static void test_srv_cli_deactivate_disconnect_and_port(void **state)
{
	fx *f = *state;

	clock_set(f, "2026-05-10T09:00:00Z");
	program_add(f, "45678", "DEACT", "9/week", "UTC");
	CLI(f, "optin", "+15554000001", "45678:DEACT");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", "+15554000002", "45678:DEACT");
	EXPECT(f, 0, "OPTED_IN\n");

	/* A disconnect: DENY DEACTIVATED; a second one changes nothing. */
	CLI(f, "deactivate", "+15554000001", "--reason", "disconnect");
	EXPECT(f, 0, "DEACTIVATED 1\n");
	CLI(f, "check", "+15554000001", "45678:DEACT");
	EXPECT(f, 1, "DENY DEACTIVATED\n");
	CLI(f, "deactivate", "+15554000001", "--reason", "disconnect");
	EXPECT(f, 0, "UNCHANGED\n");
	CLI(f, "query", "+15554000001");
	EXPECT(f, 0,
	       "45678:DEACT OPTED_OUT carrier 2026-05-10T09:00:00Z 0/9\n"
	       "DEACTIVATED disconnect 2026-05-10T09:00:00Z\n");

	/* A port, dated with an offset: the opt-in before it is void, and a
	 * new one dated at it is refused; one after it counts again. */
	CLI(f, "deactivate", "+15554000002", "--reason=port", "--at",
	    "2026-05-10T05:00:00-04:00", "--source", "port-file-3");
	EXPECT(f, 0, "DEACTIVATED 1\n");
	CLI(f, "check", "+15554000002", "45678:DEACT");
	EXPECT(f, 1, "DENY DEACTIVATED\n");
	CLI(f, "query", "+15554000002");
	EXPECT(f, 0,
	       "45678:DEACT OPTED_OUT carrier 2026-05-10T09:00:00Z 0/9\n"
	       "DEACTIVATED port 2026-05-10T09:00:00Z\n");
	CLI(f, "optin", "+15554000002", "45678:DEACT");
	EXPECT_ERROR(f, "deactivation");
	CLI(f, "clock", "advance", "1h");
	EXPECT(f, 0, "2026-05-10T10:00:00Z\n");
	CLI(f, "optin", "+15554000002", "45678:DEACT", "--channel", "mo");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "check", "+15554000002", "45678:DEACT");
	EXPECT(f, 0, "ALLOW\n");

	/* A port dated before the opt-in leaves it standing. */
	CLI(f, "optin", "+15554000003", "45678:DEACT");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "deactivate", "+15554000003", "--reason", "port", "--at",
	    "2026-05-01T00:00:00Z");
	if (f->status != 0 || f->err[0] != '\0')
		run_failed(f, __LINE__, "deactivate --at failed");
	CLI(f, "check", "+15554000003", "45678:DEACT");
	EXPECT(f, 0, "ALLOW\n");
}

/*
 * `deactivate --help`: "Prints DEACTIVATED <n>, n the consents it voided"
 * (docs/protocol.md: change_resp counts consents). A number opted in to two
 * programs loses both. A regression test: DEACTIVATE once answered 1
 * whatever the number of consents it voided.
 */
static void test_srv_cli_deactivate_counts_consents(void **state)
{
	fx *f = *state;
	char said[256];

	clock_set(f, "2026-05-10T09:00:00Z");
	program_add(f, "45679", "ONE", "9/week", "UTC");
	program_add(f, "45679", "TWO", "9/week", "UTC");
	CLI(f, "optin", "+15554000101", "45679:ONE");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", "+15554000101", "45679:TWO");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "deactivate", "+15554000101", "--reason", "disconnect");
	snprintf(said, sizeof(said), "%s", f->out);
	CLI(f, "query", "+15554000101");
	EXPECT(f, 0,
	       "45679:ONE OPTED_OUT carrier 2026-05-10T09:00:00Z 0/9\n"
	       "45679:TWO OPTED_OUT carrier 2026-05-10T09:00:00Z 0/9\n"
	       "DEACTIVATED disconnect 2026-05-10T09:00:00Z\n");
	if (strcmp(said, "DEACTIVATED 2\n") != 0)
		fail_msg("deactivate voided 2 consents and printed [%s], "
			 "wanted [DEACTIVATED 2\\n]",
			 said);
}

/* ---- tenants --------------------------------------------------------------------------- */

static void test_srv_cli_tenant_key(void **state)
{
	fx *f = *state;
	char key[MTGATE_PROTO_KEY_MAX + 1] = "";
	unsigned id = 0;
	int end = 0;

	clock_set(f, T0_TEXT);
	program_add(f, "56789", "OPS", "5/month", "UTC");
	CLI(f, "optin", "+15555000001", "56789:OPS");
	EXPECT(f, 0, "OPTED_IN\n");

	CLI(f, "tenant", "add", "Acme Retail");
	/* A tenant's key has the operator key's shape. */
	if (f->status != 0 || f->err[0] != '\0' ||
	    sscanf(f->out, "tenant: %u\nkey: %n", &id, &end) != 1 || end == 0 ||
	    strlen(f->out + end) != strlen(f->s->key) + 1 ||
	    f->out[strlen(f->out) - 1] != '\n')
		run_failed(f, __LINE__,
			   "wanted 'tenant: <ID>\\nkey: <KEY>\\n'");
	memcpy(key, f->out + end, strlen(f->s->key));
	key[strlen(f->s->key)] = '\0';
	assert_true(id > 0);
	CLI(f, "tenant", "add", "Acme Retail");
	EXPECT_ERROR(f, "already exists");

	/* The key works; the operator's program is not there for it. */
	CLI_KEY(f, key, "program", "list");
	EXPECT(f, 0, "");
	CLI_KEY(f, key, "check", "+15555000001", "56789:OPS");
	EXPECT(f, 1, "DENY UNKNOWN_PROGRAM\n");
	CLI_KEY(f, key, "optin", "+15555000001", "56789:OPS");
	EXPECT_ERROR(f, "unknown program 56789:OPS");
	CLI_KEY(f, key, "query", "+15555000001");
	EXPECT(f, 0, "");

	/* Operator-only commands are refused. */
	CLI_KEY(f, key, "deactivate", "+15555000001", "--reason", "port");
	EXPECT_ERROR(f, "forbidden");
	CLI_KEY(f, key, "tenant", "add", "Another");
	EXPECT_ERROR(f, "forbidden");

	/* Its own program works as the operator's does. */
	{
		su_texts t;
		texts_for_limit(&t, "Acme deals", "2/week");
		CLI_KEY(f, key, "program", "add", "--short-code", "56789",
			"--keyword", "TEN", "--name", "Acme deals", "--limit",
			"2/week", "--welcome", t.welcome, "--help-text", t.help,
			"--quit-text", t.quit);
		EXPECT_PROGRAM(f, "56789:TEN");
	}
	CLI_KEY(f, key, "optin", "+15555000001", "56789:TEN");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI_KEY(f, key, "check", "+15555000001", "56789:TEN");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "check", "+15555000001", "56789:OPS");
	EXPECT(f, 0, "ALLOW\n");
}

/* ---- the test clock ----------------------------------------------------------------- */

static void test_srv_cli_clock_moves_windows(void **state)
{
	fx *f = *state;
	const char *n = "+15556000001";

	CLI(f, "clock", "set", "2026-03-15T08:00:00-04:00");
	EXPECT(f, 0, T0_TEXT "\n");
	CLI(f, "clock", "get");
	EXPECT(f, 0, T0_TEXT "\n");
	program_add(f, "67890", "MONTH", "4/month", "America/New_York");
	program_add(f, "67890", "DAY", "1/day", "UTC");
	CLI(f, "optin", n, "67890:MONTH");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", n, "67890:DAY");
	EXPECT(f, 0, "OPTED_IN\n");
	for (int i = 0; i < 4; i++) {
		CLI(f, "check", n, "67890:MONTH");
		EXPECT(f, 0, "ALLOW\n");
	}
	CLI(f, "check", n, "67890:MONTH");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");
	CLI(f, "check", n, "67890:DAY");
	EXPECT(f, 0, "ALLOW\n");

	/* 30 minutes: the same day. */
	CLI(f, "clock", "advance", "30m");
	EXPECT(f, 0, "2026-03-15T12:30:00Z\n");
	CLI(f, "check", n, "67890:DAY");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");

	/* 24 hours: the next day, the same month. */
	CLI(f, "clock", "advance", "24h");
	EXPECT(f, 0, "2026-03-16T12:30:00Z\n");
	CLI(f, "check", n, "67890:DAY");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "check", n, "67890:MONTH");
	EXPECT(f, 1, "DENY MSG_LIMIT_EXCEEDED\n");

	/* 31 days: April; the fifth MT goes out. */
	CLI(f, "clock", "advance", "31d");
	EXPECT(f, 0, "2026-04-16T12:30:00Z\n");
	CLI(f, "check", n, "67890:MONTH");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "query", n);
	EXPECT(f, 0,
	       "67890:MONTH OPTED_IN api " T0_TEXT " 1/4\n"
	       "67890:DAY OPTED_IN api " T0_TEXT " 0/1\n");

	CLI(f, "clock", "advance", "1h30m");
	EXPECT(f, 0, "2026-04-16T14:00:00Z\n");
	CLI(f, "clock", "set", "2026-04-30T23:59:59.999Z");
	EXPECT(f, 0, "2026-04-30T23:59:59Z\n");
}

static void test_srv_cli_clock_without_test_clock(void **state)
{
	fx *f = *state;
	const char *const cmds[][3] = {
		{"clock", "get", NULL},      {"clock", "set", T0_TEXT},
		{"clock", "advance", "30m"}, {"clock", "advance", "24h"},
		{"clock", "advance", "31d"},
	};

	f->other = su_new("srv-cli-plain", "--threads", "1", NULL);
	su_start(f->other);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *args[] = {cmds[i][0], cmds[i][1], cmds[i][2], NULL};
		cli_as(f, f->other, f->other->key, args);
		EXPECT_ERROR(f, "not running with --test-clock");
	}
	/* Everything else works there. */
	cli_as(f, f->other, f->other->key, ARGV("ping"));
	EXPECT(f, 0, "PONG\n");
	cli_as(f, f->other, f->other->key,
	       ARGV("check", "+15556000101", "1:X"));
	EXPECT(f, 1, "DENY UNKNOWN_PROGRAM\n");
}

/* ---- where the key and the server come from --------------------------------------------------- */

static void test_srv_cli_key_sources(void **state)
{
	fx *f = *state;
	const char *bad =
		"mtk_00000000_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
	char env_key[MTGATE_PROTO_KEY_MAX + 16], env_bad[128], file[800],
		empty[800], nokey[800];
	char text[MTGATE_PROTO_KEY_MAX + 16];
	const char *dir;

	snprintf(env_key, sizeof(env_key), "MTGATE_KEY=%s", f->s->key);
	snprintf(env_bad, sizeof(env_bad), "MTGATE_KEY=%s", bad);
	dir = work_dir(f, NULL);
	snprintf(file, sizeof(file), "%s/op.key", dir);
	snprintf(text, sizeof(text), "  %s \n\n", f->s->key);
	write_file(file, text);
	snprintf(empty, sizeof(empty), "%s/empty.key", dir);
	write_file(empty, " \n");
	snprintf(nokey, sizeof(nokey), "%s/nokey", dir);
	assert_int_equal(mkdir(nokey, 0700), 0);

	/* Each source alone. */
	CLI(f, "clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, nokey, NULL, "--server", f->s->addr, "--key-file", file,
		"clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, nokey, ARGV(env_key), "--server", f->s->addr, "clock",
		"get");
	assert_int_equal(f->status, 0);
	snprintf(text, sizeof(text), "%s\n", f->s->key);
	dir = work_dir(f, text); /* ./mtgate-data/operator.key */
	CLI_RAW(f, dir, NULL, "--server", f->s->addr, "clock", "get");
	assert_int_equal(f->status, 0);
	if (f->err[0] != '\0')
		run_failed(f, __LINE__, "stderr not empty");

	/* None: the error says where a key may come from. */
	CLI_RAW(f, nokey, NULL, "--server", f->s->addr, "clock", "get");
	EXPECT_ERROR(f, "no key: give --key, --key-file or MTGATE_KEY");

	/* Which wins: flags over MTGATE_KEY over the default file. */
	CLI_RAW(f, nokey, ARGV(env_bad), "--server", f->s->addr, "--key",
		f->s->key, "clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, nokey, ARGV(env_bad), "--server", f->s->addr, "--key-file",
		file, "clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, dir, ARGV(env_bad), "--server", f->s->addr, "clock", "get");
	EXPECT_ERROR(f, "authentication failed");
	dir = work_dir(f, bad);
	CLI_RAW(f, dir, ARGV(env_key), "--server", f->s->addr, "clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, dir, NULL, "--server", f->s->addr, "clock", "get");
	EXPECT_ERROR(f, "authentication failed");

	/* Refused keys and key files. */
	CLI_KEY(f, "not-a-key", "clock", "get");
	EXPECT_ERROR(f, "authentication failed");
	CLI_RAW(f, NULL, NULL, "--server", f->s->addr, "--key-file", empty,
		"clock", "get");
	EXPECT_ERROR(f, "is empty");
	CLI_RAW(f, NULL, NULL, "--server", f->s->addr, "--key", f->s->key,
		"--key-file", file, "clock", "get");
	EXPECT_ERROR(f, "not both");
}

static void test_srv_cli_server_sources(void **state)
{
	fx *f = *state;
	char env_server[96], env_dead[96], eq[96];

	dead_port(f);
	snprintf(env_server, sizeof(env_server), "MTGATE_SERVER=%s",
		 f->s->addr);
	snprintf(env_dead, sizeof(env_dead), "MTGATE_SERVER=%s", f->dead);
	snprintf(eq, sizeof(eq), "--server=%s", f->s->addr);

	CLI_RAW(f, NULL, ARGV(env_server), "--key", f->s->key, "clock", "get");
	assert_int_equal(f->status, 0);
	CLI_RAW(f, NULL, ARGV(env_server), "ping");
	EXPECT(f, 0, "PONG\n");
	CLI_RAW(f, NULL, NULL, eq, "ping");
	EXPECT(f, 0, "PONG\n");

	/* --server wins over MTGATE_SERVER, both ways round. */
	CLI_RAW(f, NULL, ARGV(env_dead), "--server", f->s->addr, "ping");
	EXPECT(f, 0, "PONG\n");
	CLI_RAW(f, NULL, ARGV(env_server), "--server", f->dead, "--key",
		f->s->key, "clock", "get");
	EXPECT_ERROR(f, f->dead);
	if (strstr(f->err, "could not connect") == NULL)
		run_failed(f, __LINE__, "wanted 'could not connect'");
}

/* ---- ping ----------------------------------------------------------------------------------- */

static void test_srv_cli_ping_wait(void **state)
{
	fx *f = *state;
	int64_t started;

	/* Up: PONG, with or without --wait, with no key anywhere. */
	CLI_RAW(f, work_dir(f, NULL), NULL, "--server", f->s->addr, "ping");
	EXPECT(f, 0, "PONG\n");
	CLI_RAW(f, f->work, NULL, "--server", f->s->addr, "ping", "--wait",
		"1");
	EXPECT(f, 0, "PONG\n");

	/* Down: one try fails at once; --wait 1 tries for a second. */
	dead_port(f);
	CLI_RAW(f, NULL, NULL, "--server", f->dead, "ping");
	EXPECT_ERROR(f, "could not connect to the server at");
	CLI_RAW(f, NULL, NULL, "--server", f->dead, "ping", "--wait", "1");
	EXPECT_ERROR(f, "could not connect to the server at");
	if (f->run_ms < 900 || f->run_ms > 3000)
		fail_msg("ping --wait 1 on a dead port took %lld ms, wanted 1 "
			 "to 3 s",
			 (long long)f->run_ms);

	/* Late: the server comes up on that port while ping waits. */
	snprintf(f->other_listen, sizeof(f->other_listen), "%s", f->dead);
	close(f->dead_fd);
	f->dead_fd = -1;
	started = su_mono_ms();
	cli_spawn(f, NULL, NULL,
		  ARGV("--server", f->other_listen, "ping", "--wait", "20"));
	f->other = su_new("srv-cli-late", "--threads", "1", "--listen",
			  f->other_listen, NULL);
	su_start(f->other);
	cli_wait(f, started);
	EXPECT(f, 0, "PONG\n");
}

/* ---- the consent rules ------------------------------------------------------------------------ */

static void test_srv_cli_mo_words(void **state)
{
	fx *f = *state;
	const char *n = "+15558100001";
	static char long_text[MTGATE_MO_MAX + 2];

	clock_set(f, T0_TEXT);
	program_add_named(f, "81001", "ALPHA", "Alpha Club", "4/month", "UTC");
	program_add_named(f, "81001", "BETA", "Beta Club", "4/month", "UTC");
	CLI(f, "mo", n, "81001", "alpha");
	EXPECT(f, 0,
	       "REPLY Alpha Club: Msg&Data rates may apply. Max 4 msgs/mo. "
	       "Reply STOP to cancel, HELP for help.\n"
	       "ACTION OPTED_IN 81001:ALPHA\n");
	CLI(f, "mo", n, "81001", "BETA");
	EXPECT(f, 0,
	       "REPLY Beta Club: Msg&Data rates may apply. Max 4 msgs/mo. "
	       "Reply STOP to cancel, HELP for help.\n"
	       "ACTION OPTED_IN 81001:BETA\n");
	CLI(f, "query", n);
	EXPECT(f, 0,
	       "81001:ALPHA OPTED_IN mo " T0_TEXT " 0/4\n"
	       "81001:BETA OPTED_IN mo " T0_TEXT " 0/4\n");

	/* STOP-4: the scope question concerns the short code as a whole */
	CLI(f, "mo", n, "81001", "STOP");
	EXPECT(f, 0,
	       "REPLY Multiple keywords active. Reply with one of ALPHA STOP, "
	       "BETA STOP or with STOP ALL to quit all.\n"
	       "ACTION SCOPE_QUESTION 81001\n");
	CLI(f, "check", n, "81001:ALPHA");
	EXPECT(f, 1, "DENY SCOPE_QUESTION_OPEN\n");
	CLI(f, "mo", n, "81001", "stop all");
	EXPECT(f, 0,
	       "REPLY You have quit Alpha Club. No more messages will be "
	       "sent.\n"
	       "REPLY You have quit Beta Club. No more messages will be "
	       "sent.\n"
	       "ACTION OPTED_OUT 81001:ALPHA\n"
	       "ACTION OPTED_OUT 81001:BETA\n");

	/* HELP-3: the short code's help, for a number on none of them; a
	 * line break in a reply is written \n */
	CLI(f, "shortcode", "set", "81001", "--help-text",
	    "81001 help:\nexample.com");
	EXPECT(f, 0, "OK\n");
	CLI(f, "mo", "+15558100002", "81001", "help");
	EXPECT(f, 0,
	       "REPLY 81001 help:\\nexample.com\n"
	       "ACTION HELP 81001\n");

	/* the engine's refusals */
	memset(long_text, 'a', MTGATE_MO_MAX + 1);
	CLI(f, "mo", n, "81001", long_text);
	EXPECT_ERROR(f, "MO text is longer than 1600 bytes");
	CLI(f, "mo", n, "81001", "\xff stop");
	EXPECT_ERROR(f, "MO text is not valid UTF-8");
	CLI(f, "query", n);
	EXPECT(f, 0,
	       "81001:ALPHA OPTED_OUT mo " T0_TEXT " 0/4\n"
	       "81001:BETA OPTED_OUT mo " T0_TEXT " 0/4\n");
}

/* A premium double-opt-in program VIP on sc (the operator's). */
static void vip_add(fx *f, const char *sc, const char *interval)
{
	char label[32];
	su_texts t;

	texts_for_limit(&t, "VIP Club", "4/month");
	snprintf(label, sizeof(label), "%s:VIP", sc);
	CLI(f, "program", "add", "--short-code", sc, "--keyword", "VIP",
	    "--name", "VIP Club", "--limit", "4/month", "--double-opt-in",
	    "--price", "500", "--currency", "ZAR", "--interval", interval,
	    "--welcome", t.welcome, "--help-text", t.help, "--quit-text",
	    t.quit, "--confirm-text",
	    "VIP Club costs R5.00 per month. Reply YES to join, NO to "
	    "decline.");
	EXPECT_PROGRAM(f, label);
}

#define VIP_CONFIRM                                                            \
	"VIP Club costs R5.00 per month. Reply YES to join, NO to decline."

static void test_srv_cli_doi_bill_reminders(void **state)
{
	fx *f = *state;
	const char *n = "+15558300001";

	clock_set(f, "2026-06-01T10:00:00Z");
	vip_add(f, "83001", "monthly");
	program_add(f, "83001", "PLAIN", "4/month", "UTC");

	/* DOI-1..3 */
	CLI(f, "doi", "request", n, "83001:VIP", "--channel", "ussd",
	    "--source", "ussd-session-4");
	EXPECT(f, 0, "PENDING\nREPLY " VIP_CONFIRM "\n");
	CLI(f, "doi", "request", n, "83001:vip");
	EXPECT_ERROR(f, "a double opt-in is already pending for the number");
	CLI(f, "doi", "renotify", n, "83001:VIP");
	EXPECT(f, 0, "REPLY " VIP_CONFIRM "\n");
	CLI(f, "doi", "renotify", n, "83001:VIP");
	EXPECT_ERROR(f, "no re-notify left");
	CLI(f, "query", n);
	EXPECT(f, 0, "83001:VIP PENDING ussd 2026-06-01T10:00:00Z 0/4\n");
	CLI(f, "bill", "check", n, "83001:VIP", "500");
	EXPECT(f, 1, "DENY NOT_CONFIRMED\n");

	/* DOI-4: YES by MO */
	CLI(f, "mo", n, "83001", "yes");
	EXPECT(f, 0,
	       "REPLY VIP Club: Msg&Data rates may apply. Max 4 msgs/mo. "
	       "Reply STOP to cancel, HELP for help.\n"
	       "ACTION CONFIRMED 83001:VIP\n");

	/* BILL-1, BILL-2 */
	CLI(f, "bill", "check", n, "83001:VIP", "500");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "bill", "check", n, "83001:VIP", "501");
	EXPECT(f, 1, "DENY PRICE_ABOVE_CONFIRMED\n");
	for (int i = 0; i < 3; i++) {
		CLI(f, "bill", "result", n, "83001:VIP", "failed");
		EXPECT(f, 0, "RECORDED\n");
	}
	CLI(f, "bill", "check", n, "83001:VIP", "500");
	EXPECT(f, 1, "DENY FAILED_ATTEMPTS_EXCEEDED\n");
	CLI(f, "bill", "check", "+15558300009", "83001:VIP", "500");
	EXPECT(f, 1, "DENY NOT_CONFIRMED\n");
	CLI(f, "clock", "advance", "24h");
	EXPECT(f, 0, "2026-06-02T10:00:00Z\n");
	CLI(f, "bill", "check", n, "83001:VIP", "500");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "bill", "result", n, "83001:VIP", "ok");
	EXPECT(f, 0, "RECORDED\n");

	/* DOI-9: 30 days after the confirmation */
	CLI(f, "reminders", "due", "--at", "2026-06-30T23:59:59Z");
	EXPECT(f, 0, "");
	CLI(f, "reminders", "due", "--at", "2026-07-01T00:00:00Z");
	EXPECT(f, 0,
	       "+15558300001 83001:VIP 2026-06-01T10:00:00Z "
	       "2026-07-01T10:00:00Z\n");
	CLI(f, "clock", "set", "2026-07-01T08:00:00Z");
	EXPECT(f, 0, "2026-07-01T08:00:00Z\n");
	CLI(f, "reminders", "due");
	EXPECT(f, 0,
	       "+15558300001 83001:VIP 2026-06-01T10:00:00Z "
	       "2026-07-01T10:00:00Z\n");

	/* a web request has no re-notify; NO declines for 24 hours */
	CLI(f, "doi", "request", "+15558300002", "83001:VIP", "--channel",
	    "web");
	EXPECT(f, 0, "PENDING\nREPLY " VIP_CONFIRM "\n");
	CLI(f, "doi", "renotify", "+15558300002", "83001:VIP");
	EXPECT_ERROR(f, "none for web requests");
	CLI(f, "mo", "+15558300003", "83001", "VIP");
	EXPECT(f, 0, "REPLY " VIP_CONFIRM "\nACTION PENDING 83001:VIP\n");
	CLI(f, "mo", "+15558300003", "83001", "No");
	if (f->status != 0 || f->err[0] != '\0' ||
	    strstr(f->out, "ACTION DECLINED 83001:VIP\n") == NULL)
		run_failed(f, __LINE__, "wanted ACTION DECLINED 83001:VIP");
	CLI(f, "doi", "request", "+15558300003", "83001:VIP");
	EXPECT_ERROR(f, "declined this program less than 24 hours ago");

	/* the programs it needs */
	CLI(f, "doi", "request", n, "83001:PLAIN");
	EXPECT_ERROR(f, "the program does not use double opt-in");
	CLI(f, "doi", "request", n, "83001:NOPE");
	EXPECT_ERROR(f, "unknown program 83001:NOPE");
	CLI(f, "bill", "result", n, "83001:NOPE", "ok");
	EXPECT_ERROR(f, "unknown program 83001:NOPE");
}

static void test_srv_cli_program_rules(void **state)
{
	fx *f = *state;
	su_texts t;

	/* PROG-1: exactly the rule's words, exit 2, nothing stored */
	texts_for_limit(&t, "Joe's Discount Club", "4/month");
	CLI(f, "program", "add", "--short-code", "83500", "--keyword", "RULE",
	    "--name", "Joe's Discount Club", "--limit", "4/month", "--welcome",
	    "Joe's Discount Club: Msg&Data rates may apply. Max 5 msgs/mo. "
	    "Reply STOP to cancel, HELP for help.",
	    "--help-text", t.help, "--quit-text", t.quit);
	if (f->status != 2 || f->out[0] != '\0' ||
	    strcmp(f->err,
		   "error: PROG-1: welcome text lacks \"Max 4 msgs/mo\"\n") !=
		    0)
		run_failed(f, __LINE__,
			   "wanted exactly 'error: PROG-1: welcome text lacks "
			   "\"Max 4 msgs/mo\"'");
	CLI(f, "program", "show", "83500:RULE");
	EXPECT_ERROR(f, "unknown program 83500:RULE");
	CLI(f, "program", "add", "--short-code", "83500", "--keyword", "RULE",
	    "--name", "Joe's Discount Club", "--limit", "4/month");
	if (f->status != 2 || f->out[0] != '\0' ||
	    strcmp(f->err, "error: PROG-1: welcome text lacks \"Msg&Data "
			   "rates may apply\"\n") != 0)
		run_failed(f, __LINE__, "wanted the PROG-1 rates error");
	CLI(f, "program", "add", "--short-code", "83500", "--keyword", "RULE",
	    "--name", "Joe's Discount Club", "--limit", "4/month", "--welcome",
	    t.welcome, "--quit-text", t.quit);
	if (f->status != 2 ||
	    strcmp(f->err, "error: PROG-2: help text lacks a toll-free "
			   "number or a web address\n") != 0)
		run_failed(f, __LINE__, "wanted the PROG-2 error");

	/* PROG-5: the server's default maximum, 5000 cents */
	texts_for_limit(&t, "Gold Club", "4/week");
	CLI(f, "program", "add", "--short-code", "83500", "--keyword", "GOLD",
	    "--name", "Gold Club", "--limit", "4/week", "--double-opt-in",
	    "--price", "6000", "--currency", "ZAR", "--interval", "weekly",
	    "--welcome", t.welcome, "--help-text", t.help, "--quit-text",
	    t.quit, "--confirm-text",
	    "Gold Club costs R60.00 per week. Reply YES to join.");
	if (f->status != 2 ||
	    strcmp(f->err, "error: PROG-5: price 6000 cents is over the "
			   "operator maximum of 5000\n") != 0)
		run_failed(f, __LINE__, "wanted the PROG-5 error");
	CLI(f, "program", "add", "--short-code", "83500", "--keyword", "GOLD",
	    "--name", "Gold Club", "--limit", "4/week", "--double-opt-in",
	    "--allow-pos", "--price", "5000", "--currency", "ZAR", "--interval",
	    "weekly", "--welcome", t.welcome, "--help-text", t.help,
	    "--quit-text", t.quit, "--confirm-text",
	    "Gold Club costs R50.00 per week. Reply YES to join.");
	EXPECT_PROGRAM(f, "83500:GOLD");
	CLI(f, "program", "show", "83500:GOLD");
	if (f->status != 0 || strstr(f->out, "\nlimit: 4/week\n") == NULL ||
	    strstr(f->out, "\ndouble_opt_in: yes\nallow_pos: yes\n") == NULL ||
	    strstr(f->out, "\nconfirm_text: Gold Club costs R50.00 per week. "
			   "Reply YES to join.\nprice_cents: 5000\n"
			   "currency: ZAR\ninterval: weekly\n") == NULL)
		run_failed(f, __LINE__,
			   "program show lacks the premium fields");
	program_add(f, "83500", "STD", "1/day", "UTC");
	CLI(f, "program", "show", "83500:STD");
	if (f->status != 0 || strstr(f->out, "\nallow_pos: no\n") == NULL ||
	    strstr(f->out, "\nprice_cents: 0\ncurrency: \ninterval: none\n") ==
		    NULL)
		run_failed(f, __LINE__, "program show of a standard program");
}

/* ---- bad input -------------------------------------------------------------------------------- */

typedef struct bad_case {
	const char *args[16]; /* ends with NULL: at most 15 */
	const char *needle;   /* in the error line */
} bad_case;

#define N_BAD "+15559990000" /* never given a consent */

static const bad_case bad_cases[] = {
	/* commands, options, arguments */
	{{NULL}, "no command given"},
	{{"frobnicate"}, "unknown command 'frobnicate'"},
	{{"program", "frob"}, "program: unknown subcommand 'frob'"},
	{{"program"}, "program: missing subcommand"},
	{{"clock", "rewind"}, "clock: unknown subcommand 'rewind'"},
	{{"tenant", "remove", "x"}, "tenant: unknown subcommand 'remove'"},
	{{"check", "--frob", N_BAD, "1:A"}, "check: unknown option '--frob'"},
	{{"check", "-x", N_BAD, "1:A"}, "check: unknown option '-x'"},
	{{"check", "--dry-run=yes", N_BAD, "1:A"}, "takes no value"},
	{{"check", N_BAD}, "check: missing arguments: expected NUMBER SC:KW"},
	{{"check"}, "check: missing arguments: expected NUMBER SC:KW"},
	{{"check", N_BAD, "1:A", "extra"}, "unexpected argument 'extra'"},
	{{"optin", N_BAD, "1:A", "--channel"},
	 "option '--channel' needs a value"},
	{{"optin", N_BAD, "1:A", "--source", "--at", "x"},
	 "option '--source' needs a value"},
	{{"optin", N_BAD, "1:A", "--channel", "web", "--channel", "mo"},
	 "option '--channel' is given twice"},
	{{"query"}, "query: missing arguments: expected NUMBER"},
	{{"optout", N_BAD}, "optout: missing arguments"},
	{{"deactivate"}, "deactivate: missing arguments: expected NUMBER"},
	{{"tenant", "add"}, "tenant add: missing arguments: expected NAME"},
	{{"clock", "set"}, "clock set: missing arguments: expected TIME"},
	{{"clock", "advance"}, "expected DURATION"},
	{{"clock", "get", "now"}, "unexpected argument 'now'"},
	{{"stats", "all"}, "unexpected argument 'all'"},
	{{"program", "add", "--short-code", "1"},
	 "--short-code, --keyword and --name are required"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n"},
	 "give either --limit"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "1/day", "--one-off"},
	 "give either --limit"},
	/* NUMBER */
	{{"check", "abc", "1:A"}, "check: bad number 'abc'"},
	{{"check", "+1555123456a", "1:A"}, "bad number '+1555123456a'"},
	{{"check", "1234567890123456", "1:A"},
	 "bad number '1234567890123456': number has more than 15 digits"},
	{{"check", "", "1:A"}, "bad number '': number is empty"},
	{{"check", "+05551234567", "1:A"},
	 "bad number '+05551234567': number's country code starts with 0"},
	{{"optin", "abc", "1:A"}, "optin: bad number 'abc'"},
	{{"optout", "", "1:ALL"}, "optout: bad number ''"},
	{{"deactivate", "+0", "--reason", "port"}, "deactivate: bad number"},
	{{"query", "555-CALL-NOW"}, "query: bad number '555-CALL-NOW'"},
	/* SC:KW */
	{{"check", N_BAD, "12345JOES"},
	 "bad program '12345JOES': expected SHORTCODE:KEYWORD"},
	{{"check", N_BAD, ":JOES"}, "bad program ':JOES'"},
	{{"check", N_BAD, "12345:"}, "bad program '12345:'"},
	{{"check", N_BAD, ":"}, "bad program ':'"},
	{{"optin", N_BAD, "12-45:JOES"}, "optin: bad program '12-45:JOES'"},
	{{"optout", N_BAD, "12345:JO ES"}, "bad program '12345:JO ES'"},
	{{"check", N_BAD, "1234567890123456:A"},
	 "bad program '1234567890123456:A'"},
	{{"program", "show", "JOES"}, "program show: bad program 'JOES'"},
	/* program add values */
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "0/month"},
	 "bad --limit '0/month'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/year"},
	 "bad --limit '4/year'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "abc"},
	 "bad --limit 'abc'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "65536/day"},
	 "bad --limit '65536/day'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "-4/day"},
	 "bad --limit '-4/day'"},
	{{"program", "add", "--short-code", "1-2", "--keyword", "A", "--name",
	  "n", "--limit", "4/day"},
	 "bad --short-code '1-2'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A B", "--name",
	  "n", "--limit", "4/day"},
	 "bad --keyword 'A B'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/day", "--tenant", "x"},
	 "bad --tenant 'x'"},
	/* --channel, --reason */
	{{"optin", N_BAD, "1:A", "--channel", "fax"}, "bad --channel 'fax'"},
	{{"optin", N_BAD, "1:A", "--channel", "carrier"},
	 "bad --channel 'carrier'"},
	{{"optout", N_BAD, "1:A", "--channel", "WEB"}, "bad --channel 'WEB'"},
	{{"deactivate", N_BAD, "--reason", "stolen"},
	 "--reason must be disconnect or port"},
	{{"deactivate", N_BAD}, "--reason must be disconnect or port"},
	/* TIME */
	{{"clock", "set", "yesterday"}, "clock set: bad time 'yesterday'"},
	{{"clock", "set", "2026-13-01T00:00:00Z"},
	 "bad time '2026-13-01T00:00:00Z'"},
	{{"clock", "set", "2026-02-30T00:00:00Z"},
	 "bad time '2026-02-30T00:00:00Z'"},
	{{"clock", "set", "2026-03-15T12:00:00"},
	 "bad time '2026-03-15T12:00:00'"},
	{{"clock", "set", "2026-03-15"}, "bad time '2026-03-15'"},
	{{"clock", "set", "1773576000000"}, "bad time '1773576000000'"},
	{{"deactivate", N_BAD, "--reason", "port", "--at", "nope"},
	 "deactivate: bad --at 'nope'"},
	{{"optin", N_BAD, "1:A", "--at", "2026-03-15T25:00:00Z"},
	 "optin: bad --at '2026-03-15T25:00:00Z'"},
	/* DURATION */
	{{"clock", "advance", "5x"}, "clock advance: bad duration '5x'"},
	{{"clock", "advance", ""}, "bad duration ''"},
	{{"clock", "advance", "30"}, "bad duration '30'"},
	{{"clock", "advance", "m"}, "bad duration 'm'"},
	{{"clock", "advance", "1h30"}, "bad duration '1h30'"},
	{{"clock", "advance", "1.5h"}, "bad duration '1.5h'"},
	{{"clock", "advance", "99999999d"}, "bad duration '99999999d'"},
	{{"clock", "advance", "-3m"}, "unknown option '-3m'"},
	/* ping --wait */
	{{"ping", "--wait", "abc"}, "ping: bad --wait 'abc'"},
	{{"ping", "--wait", "-1"}, "bad --wait '-1'"},
	{{"ping", "--wait", "90000"}, "bad --wait '90000'"},
	{{"ping", "--wait", "nan"}, "bad --wait 'nan'"},
	/* unknown programs where one must exist */
	{{"optin", N_BAD, "99999:NOPE"}, "unknown program 99999:NOPE"},
	{{"program", "show", "99999:NOPE"}, "unknown program 99999:NOPE"},
	{{"doi", "request", N_BAD, "99999:NOPE"}, "unknown program 99999:NOPE"},
	{{"bill", "check", N_BAD, "99999:NOPE", "5"},
	 "unknown program 99999:NOPE"},
	/* program add's premium values */
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/day", "--price", "abc"},
	 "program add: bad --price 'abc'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/day", "--price", "100000001"},
	 "bad --price '100000001'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/day", "--interval", "yearly"},
	 "program add: bad --interval 'yearly'"},
	{{"program", "add", "--short-code", "1", "--keyword", "A", "--name",
	  "n", "--limit", "4/day", "--allow-pos=yes"},
	 "option '--allow-pos' takes no value"},
	/* mo */
	{{"mo", N_BAD, "1"}, "mo: missing arguments: expected NUMBER SC TEXT"},
	{{"mo", "abc", "1", "STOP"}, "mo: bad number 'abc'"},
	{{"mo", N_BAD, "1-2", "STOP"}, "mo: bad short code '1-2'"},
	{{"mo", N_BAD, "1", "STOP", "ALL"}, "mo: unexpected argument 'ALL'"},
	/* doi */
	{{"doi"}, "doi: missing subcommand"},
	{{"doi", "frob"}, "doi: unknown subcommand 'frob'"},
	{{"doi", "request", N_BAD},
	 "doi request: missing arguments: expected NUMBER SC:KW"},
	{{"doi", "request", N_BAD, "1:A", "--channel", "fax"},
	 "doi request: bad --channel 'fax'"},
	{{"doi", "request", N_BAD, "1:A", "--channel", "api"},
	 "bad --channel 'api'"},
	{{"doi", "request", N_BAD, "1A"}, "doi request: bad program '1A'"},
	{{"doi", "renotify", "abc", "1:A"}, "doi renotify: bad number 'abc'"},
	/* bill */
	{{"bill"}, "bill: missing subcommand"},
	{{"bill", "check", N_BAD, "1:A"},
	 "bill check: missing arguments: expected NUMBER SC:KW AMOUNT"},
	{{"bill", "check", N_BAD, "1:A", "5.00"},
	 "bill check: bad amount '5.00'"},
	{{"bill", "check", N_BAD, "1:A", "4294967296"},
	 "bad amount '4294967296'"},
	{{"bill", "check", N_BAD, "1:A", "-5"}, "unknown option '-5'"},
	{{"bill", "result", N_BAD, "1:A", "maybe"},
	 "bill result: bad result 'maybe'"},
	{{"bill", "result", N_BAD, "1:A"},
	 "bill result: missing arguments: expected NUMBER SC:KW ok|failed"},
	/* reminders */
	{{"reminders"}, "reminders: missing subcommand"},
	{{"reminders", "due", "--at", "soon"},
	 "reminders due: bad --at 'soon'"},
	{{"reminders", "due", "x"}, "unexpected argument 'x'"},
	/* shortcode */
	{{"shortcode", "set"}, "shortcode set: missing arguments: expected SC"},
	{{"shortcode", "set", "1"}, "shortcode set: --help-text is required"},
	{{"shortcode", "set", "1-2", "--help-text", "x"},
	 "shortcode set: bad short code '1-2'"},
	{{"shortcode", "get", "1"}, "shortcode: unknown subcommand 'get'"},
};

/* With the operator's flags first. */
static void bad_run(fx *f, const bad_case *c)
{
	const char *argv[CLI_ARGS_MAX];
	int n = 0;

	argv[n++] = "--server";
	argv[n++] = f->s->addr;
	argv[n++] = "--key";
	argv[n++] = f->s->key;
	for (int i = 0; c->args[i] != NULL; i++)
		argv[n++] = c->args[i];
	argv[n] = NULL;
	cli_exec(f, NULL, NULL, argv);
}

static void test_srv_cli_bad_input(void **state)
{
	fx *f = *state;
	char keyfile[800];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		bad_run(f, &bad_cases[i]);
		expect_error(f, bad_cases[i].needle, __LINE__);
	}

	/* Global flags and their values. */
	CLI_RAW(f, NULL, NULL, "--frob", "stats");
	EXPECT_ERROR(f, "unknown option '--frob'");
	CLI_RAW(f, NULL, NULL, "--key", f->s->key, "--server");
	EXPECT_ERROR(f, "option '--server' needs a value");
	CLI_RAW(f, NULL, NULL, "--server", f->s->addr, "--key", "", "stats");
	EXPECT_ERROR(f, "--key is empty");
	CLI_RAW(f, NULL, NULL, "--server", "", "ping");
	EXPECT_ERROR(f, "--server is empty");
	snprintf(keyfile, sizeof(keyfile), "%s/no-such.key", f->s->dir);
	CLI_RAW(f, NULL, NULL, "--server", f->s->addr, "--key-file", keyfile,
		"stats");
	EXPECT_ERROR(f, "cannot read key file");
	if (strstr(f->err, keyfile) == NULL)
		run_failed(f, __LINE__, "the error names no file");
	CLI_RAW(f, NULL, NULL, "--server", "nonsense:port", "ping");
	EXPECT_ERROR(f, "bad server address 'nonsense:port'");
	CLI_RAW(f, NULL, NULL, "--server", "127.0.0.1:99999", "--key",
		f->s->key, "stats");
	EXPECT_ERROR(f, "bad server address '127.0.0.1:99999'");

	/* None of it reached the server as a change. */
	CLI(f, "query", N_BAD);
	EXPECT(f, 0, "");
}

/* ---- help ----------------------------------------------------------------------------------------- */

typedef struct help_case {
	const char *args[8];
	const char *usage; /* how stdout begins */
} help_case;

static const help_case help_cases[] = {
	{{"--help"}, "usage: mtgate [--server HOST:PORT] [--key KEY"},
	{{"-h"}, "usage: mtgate [--server HOST:PORT] [--key KEY"},
	{{"help"}, "usage: mtgate [--server HOST:PORT] [--key KEY"},
	{{"ping", "--help"}, "usage: mtgate ping [--wait SECONDS]\n"},
	{{"tenant", "--help"}, "usage: mtgate tenant <command>\n"},
	{{"tenant", "help"}, "usage: mtgate tenant <command>\n"},
	{{"tenant", "add", "--help"}, "usage: mtgate tenant add NAME\n"},
	{{"program", "-h"}, "usage: mtgate program <command>\n"},
	{{"program", "add", "--help"}, "usage: mtgate program add "},
	{{"program", "list", "--help"}, "usage: mtgate program list\n"},
	{{"program", "show", "--help"}, "usage: mtgate program show SC:KW\n"},
	{{"check", "--help"}, "usage: mtgate check NUMBER SC:KW [--dry-run]\n"},
	{{"optin", "--help"}, "usage: mtgate optin NUMBER SC:KW "},
	{{"optout", "--help"}, "usage: mtgate optout NUMBER SC:KW|SC:ALL "},
	{{"deactivate", "--help"}, "usage: mtgate deactivate NUMBER --reason "},
	{{"query", "--help"}, "usage: mtgate query NUMBER\n"},
	{{"clock", "--help"}, "usage: mtgate clock <command>\n"},
	{{"clock", "get", "--help"}, "usage: mtgate clock get\n"},
	{{"clock", "set", "--help"}, "usage: mtgate clock set TIME\n"},
	{{"clock", "advance", "--help"}, "usage: mtgate clock advance "},
	{{"stats", "--help"}, "usage: mtgate stats\n"},
	{{"mo", "--help"}, "usage: mtgate mo NUMBER SC TEXT\n"},
	{{"doi", "--help"}, "usage: mtgate doi <command>\n"},
	{{"doi", "request", "--help"},
	 "usage: mtgate doi request NUMBER SC:KW "},
	{{"doi", "renotify", "-h"},
	 "usage: mtgate doi renotify NUMBER SC:KW\n"},
	{{"bill", "help"}, "usage: mtgate bill <command>\n"},
	{{"bill", "check", "--help"},
	 "usage: mtgate bill check NUMBER SC:KW AMOUNT\n"},
	{{"bill", "result", "--help"},
	 "usage: mtgate bill result NUMBER SC:KW ok|failed\n"},
	{{"reminders", "--help"}, "usage: mtgate reminders <command>\n"},
	{{"reminders", "due", "--help"},
	 "usage: mtgate reminders due [--at TIME]\n"},
	{{"shortcode", "--help"}, "usage: mtgate shortcode <command>\n"},
	{{"shortcode", "set", "1", "--help-text", "x", "--help"},
	 "usage: mtgate shortcode set SC --help-text TEXT\n"},
	/* --help wins over every other problem */
	{{"check", "abc", "--help"}, "usage: mtgate check NUMBER SC:KW"},
	{{"program", "add", "--limit", "0/x", "-h"},
	 "usage: mtgate program add "},
	{{"clock", "advance", "5x", "--help"}, "usage: mtgate clock advance "},
};

static void test_srv_cli_help_every_level(void **state)
{
	fx *f = *state;
	const char *argv[12];
	static const char *const commands[] = {
		"\n  ping ",
		"\n  tenant add ",
		"\n  program add|list|show ",
		"\n  check ",
		"\n  optin ",
		"\n  optout ",
		"\n  deactivate ",
		"\n  query ",
		"\n  mo NUMBER SC TEXT ",
		"\n  doi request|renotify ",
		"\n  bill check|result ",
		"\n  reminders due ",
		"\n  shortcode set SC ",
		"\n  clock get|set|advance ",
		"\n  stats ",
	};

	/* No server answers there: help needs none, nor a key. */
	dead_port(f);
	for (size_t i = 0; i < sizeof(help_cases) / sizeof(help_cases[0]);
	     i++) {
		int n = 0;
		argv[n++] = "--server";
		argv[n++] = f->dead;
		for (int k = 0; help_cases[i].args[k] != NULL; k++)
			argv[n++] = help_cases[i].args[k];
		argv[n] = NULL;
		cli_exec(f, work_dir(f, NULL), NULL, argv);
		if (f->status != 0 || f->err[0] != '\0' ||
		    strncmp(f->out, help_cases[i].usage,
			    strlen(help_cases[i].usage)) != 0 ||
		    f->out[strlen(f->out) - 1] != '\n')
			run_failed(f, __LINE__, help_cases[i].usage);
	}
	CLI_RAW(f, NULL, NULL, "--help");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strstr(f->out, commands[i]) == NULL)
			run_failed(f, __LINE__, commands[i]);
	CLI_RAW(f, NULL, NULL, "mo", "--help");
	if (strstr(f->out, "REPLY <text>") == NULL ||
	    strstr(f->out, "ACTION <KIND> <SC:KW|SC>") == NULL ||
	    strstr(f->out, "SCOPE_QUESTION") == NULL)
		run_failed(f, __LINE__, "mo --help lacks its words");
	CLI_RAW(f, NULL, NULL, "check", "--help");
	if (strstr(f->out, "ALLOW") == NULL ||
	    strstr(f->out, "MSG_LIMIT_EXCEEDED") == NULL ||
	    strstr(f->out, "--dry-run") == NULL)
		run_failed(f, __LINE__, "check --help lacks its words");
}

/* ---- stats --------------------------------------------------------------------------------------------- */

static const char *const stat_names[] = {
	"consents",        "store_bytes",     "commits",     "changes",
	"counter_flushes", "gates",           "connections", "frames_in",
	"frames_out",      "protocol_errors", "uptime_ms",   "readonly",
	"recovered",       "recovery_ms",
};
#define N_STATS (sizeof(stat_names) / sizeof(stat_names[0]))

/* Run stats; every line "name value" in order, values into v. */
static void stats_read(fx *f, unsigned long long v[N_STATS])
{
	const char *p;

	CLI(f, "stats");
	if (f->status != 0 || f->err[0] != '\0')
		run_failed(f, __LINE__, "stats failed");
	p = f->out;
	for (size_t i = 0; i < N_STATS; i++) {
		size_t len = strlen(stat_names[i]);
		char *end;
		if (strncmp(p, stat_names[i], len) != 0 || p[len] != ' ' ||
		    !isdigit((unsigned char)p[len + 1]))
			run_failed(f, __LINE__, stat_names[i]);
		v[i] = strtoull(p + len + 1, &end, 10);
		if (*end != '\n')
			run_failed(f, __LINE__, "a line is not 'name value'");
		p = end + 1;
	}
	if (*p != '\0')
		run_failed(f, __LINE__, "more lines than the fourteen");
}

static void test_srv_cli_stats(void **state)
{
	fx *f = *state;
	unsigned long long before[N_STATS], after[N_STATS];

	clock_set(f, T0_TEXT);
	program_add(f, "78901", "STATS", "3/day", "UTC");
	stats_read(f, before);
	CLI(f, "optin", "+15557000001", "78901:STATS");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "check", "+15557000001", "78901:STATS");
	EXPECT(f, 0, "ALLOW\n");
	stats_read(f, after);
	assert_int_equal(after[0], before[0] + 1); /* consents */
	assert_true(after[3] > before[3]);         /* changes */
	assert_int_equal(after[5], before[5] + 1); /* gates */
	assert_true(after[6] >= 1);                /* connections: ours */
	assert_true(after[7] > before[7]);         /* frames_in */
	assert_int_equal(after[11], 0);            /* readonly */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_srv_cli_readme_first_session,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_check_exit_codes,
					  test_teardown),
		cmocka_unit_test_teardown(
			test_srv_cli_check_dry_run_counts_nothing,
			test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_optout_program_and_all,
					  test_teardown),
		cmocka_unit_test_teardown(
			test_srv_cli_deactivate_disconnect_and_port,
			test_teardown),
		cmocka_unit_test_teardown(
			test_srv_cli_deactivate_counts_consents, test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_tenant_key,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_clock_moves_windows,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_clock_without_test_clock,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_key_sources,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_server_sources,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_ping_wait,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_bad_input,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_help_every_level,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_stats, test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_mo_words, test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_doi_bill_reminders,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_cli_program_rules,
					  test_teardown),
	};

	return cmocka_run_group_tests_name("srv_cli", tests, group_setup,
					   group_teardown);
}
