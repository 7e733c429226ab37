/*
 * CLI program commands: program add, program list, program show.
 *
 * Limits are written "N/day", "N/week" or "N/month" (N 1..65535) or
 * "one-off", in and out; charge intervals once, daily, weekly, monthly
 * (none for a standard-rate program), prices in cents. Short codes and keywords are checked here as the
 * engine checks them, so a typo is named before anything is sent; names,
 * texts and time zones are the server's to judge.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *const period_names[] = {
	[MTGATE_PERIOD_NONE] = "none",
	[MTGATE_PERIOD_DAY] = "day",
	[MTGATE_PERIOD_WEEK] = "week",
	[MTGATE_PERIOD_MONTH] = "month",
};

static const char program_usage[] =
	"usage: mtgate program <command>\n"
	"\n"
	"Commands:\n"
	"  add ...        define a program\n"
	"  list           list the programs, one line each\n"
	"  show SC:KW     print every field of one program\n"
	"\n"
	"Run 'mtgate program <command> --help' for one command.\n";

static const char add_usage[] =
	"usage: mtgate program add --short-code SC --keyword KW --name NAME\n"
	"                          (--limit N/day|N/week|N/month | --one-off)\n"
	"                          [--tz ZONE] [--double-opt-in] "
	"[--allow-pos]\n"
	"                          [--welcome TEXT] [--help-text TEXT]\n"
	"                          [--quit-text TEXT] [--confirm-text TEXT]\n"
	"                          [--price CENTS --currency CODE\n"
	"                           --interval once|daily|weekly|monthly]\n"
	"                          [--tenant ID]\n"
	"\n"
	"Define a program. Prints: program <ID> <SC>:<KW>\n"
	"\n"
	"The server checks the definition against the PROG rules first and\n"
	"refuses one that breaks a rule, naming it (error: PROG-1: welcome\n"
	"text lacks \"Max 4 msgs/mo\"); nothing is stored then. A recurring\n"
	"program's welcome text states \"Msg&Data rates may apply\", its\n"
	"frequency (\"Max 4 msgs/mo\", msgs/wk, msgs/day), STOP and HELP; its\n"
	"help text a web address or toll-free number and the frequency; its\n"
	"quit text names the program and confirms the quit. Each text fits\n"
	"one SMS (160 GSM-7 characters, 70 when it needs UCS-2).\n"
	"\n"
	"Options:\n"
	"  --short-code SC    1 to 15 letters or digits\n"
	"  --keyword KW       1 to 32 letters or digits (kept upper case)\n"
	"  --name NAME        1 to 128 bytes\n"
	"  --limit N/PERIOD   at most N MTs (1 to 65535) per day, week or\n"
	"                     month\n"
	"  --one-off          one MT per accepted request instead of a limit\n"
	"  --tz ZONE          IANA zone or offset the periods follow\n"
	"                     (default UTC)\n"
	"  --double-opt-in    an opt-in waits for a confirmation\n"
	"  --allow-pos        the program takes point-of-sale opt-ins\n"
	"  --welcome TEXT, --help-text TEXT, --quit-text TEXT,\n"
	"  --confirm-text TEXT\n"
	"                     the program's texts; the confirm text is the\n"
	"                     double opt-in's confirmation request (for a\n"
	"                     premium program: the service, price and charge\n"
	"                     frequency)\n"
	"  --price CENTS      a premium program: the price of one charge, in\n"
	"                     cents (at most the server's maximum)\n"
	"  --currency CODE    its ISO 4217 currency (ZAR, USD)\n"
	"  --interval I       how often it charges: once, daily, weekly or\n"
	"                     monthly\n"
	"  --tenant ID        the owning tenant (operator only; default 0,\n"
	"                     the operator)\n";

static const char list_usage[] =
	"usage: mtgate program list\n"
	"\n"
	"List the programs you may see, one line each:\n"
	"  <ID> <SC>:<KW> <LIMIT> <TZ> <NAME>\n"
	"LIMIT is N/day, N/week, N/month or one-off.\n";

static const char show_usage[] =
	"usage: mtgate program show SC:KW\n"
	"\n"
	"Print every field of a program, one 'key: value' line each (id,\n"
	"tenant, short_code, keyword, name, kind, limit, tz, double_opt_in,\n"
	"allow_pos, welcome_text, help_text, quit_text, confirm_text,\n"
	"price_cents, currency, interval). Line breaks and tabs inside texts\n"
	"are written \\n and \\t. interval is none for a standard-rate\n"
	"program, else once, daily, weekly or monthly.\n";

/* "N/day", "N/week", "N/month". */
static int limit_parse(const char *s, mtgate_program_def *d)
{
	const char *slash = strchr(s, '/');
	unsigned long n;
	char *end;

	if (slash == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || end != slash || n < 1 || n > MTGATE_LIMIT_MAX)
		return -1;
	for (int p = MTGATE_PERIOD_DAY; p <= MTGATE_PERIOD_MONTH; p++) {
		if (strcmp(slash + 1, period_names[p]) == 0) {
			d->kind = MTGATE_KIND_RECURRING;
			d->limit = (uint32_t)n;
			d->period = (mtgate_period)p;
			return 0;
		}
	}
	return -1;
}

static void limit_print(const mtgate_program_def *d)
{
	if (d->kind == MTGATE_KIND_ONE_OFF)
		fputs("one-off", stdout);
	else
		printf("%u/%s", d->limit,
		       (unsigned)d->period <= MTGATE_PERIOD_MONTH
			       ? period_names[d->period]
			       : "?");
}

static const char *const interval_names[MTGATE_INTERVAL_MAX] = {
	[MTGATE_INTERVAL_NONE] = "none",
	[MTGATE_INTERVAL_ONCE] = "once",
	[MTGATE_INTERVAL_DAILY] = "daily",
	[MTGATE_INTERVAL_WEEKLY] = "weekly",
	[MTGATE_INTERVAL_MONTHLY] = "monthly",
};

/* once, daily, weekly, monthly (not "none": no --interval is that). */
static int interval_parse(const char *s, mtgate_interval *out)
{
	for (int i = MTGATE_INTERVAL_ONCE; i < MTGATE_INTERVAL_MAX; i++) {
		if (strcmp(s, interval_names[i]) == 0) {
			*out = (mtgate_interval)i;
			return 0;
		}
	}
	return -1;
}

/* Cents: digits only, 0 .. MTGATE_PRICE_MAX. */
static int price_parse(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > MTGATE_PRICE_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int tenant_parse(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The options of program add, collected. */
typedef struct add_args {
	const char *sc, *kw, *name, *limit, *tz, *tenant;
	const char *welcome, *help, *quit, *confirm;
	const char *price, *currency, *interval;
	bool one_off, double_opt_in, allow_pos;
} add_args;

/* Check a and fill d; prints the first problem. */
static int add_def(const add_args *a, mtgate_program_def *d)
{
	if (a->sc == NULL || a->kw == NULL || a->name == NULL)
		return cli_usage_error("program add",
				       "--short-code, --keyword and --name are "
				       "required");
	if ((a->limit != NULL) == a->one_off)
		return cli_usage_error("program add",
				       "give either --limit N/day|N/week|"
				       "N/month or --one-off");
	if (!cli_alnum(a->sc, MTGATE_SHORTCODE_MAX))
		return cli_usage_error("program add",
				       "bad --short-code '%s': %s", a->sc,
				       mtgate_strerror(MTGATE_ESHORTCODE));
	if (!cli_alnum(a->kw, MTGATE_KEYWORD_MAX))
		return cli_usage_error("program add", "bad --keyword '%s': %s",
				       a->kw, mtgate_strerror(MTGATE_EKEYWORD));
	*d = (mtgate_program_def){.short_code = a->sc,
				  .keyword = a->kw,
				  .name = a->name,
				  .kind = MTGATE_KIND_ONE_OFF,
				  .tz = a->tz,
				  .double_opt_in = a->double_opt_in,
				  .allow_pos = a->allow_pos,
				  .welcome_text = a->welcome,
				  .help_text = a->help,
				  .quit_text = a->quit,
				  .confirm_text = a->confirm,
				  .currency = a->currency};
	if (a->limit != NULL && limit_parse(a->limit, d) < 0)
		return cli_usage_error("program add",
				       "bad --limit '%s': expected N/day, "
				       "N/week or N/month, N 1 to 65535",
				       a->limit);
	if (a->tenant != NULL && tenant_parse(a->tenant, &d->tenant) < 0)
		return cli_usage_error(
			"program add",
			"bad --tenant '%s': expected a tenant id", a->tenant);
	if (a->price != NULL && price_parse(a->price, &d->price_cents) < 0)
		return cli_usage_error("program add",
				       "bad --price '%s': expected cents, 0 to "
				       "%u",
				       a->price, MTGATE_PRICE_MAX);
	if (a->interval != NULL &&
	    interval_parse(a->interval, &d->interval) < 0)
		return cli_usage_error("program add",
				       "bad --interval '%s': expected once, "
				       "daily, weekly or monthly",
				       a->interval);
	return 0;
}

static int program_add(cli_ctx *cx, int argc, char **argv)
{
	add_args a = {0};
	const cli_opt opts[] = {
		{"--short-code", &a.sc, NULL},
		{"--keyword", &a.kw, NULL},
		{"--name", &a.name, NULL},
		{"--limit", &a.limit, NULL},
		{"--one-off", NULL, &a.one_off},
		{"--tz", &a.tz, NULL},
		{"--double-opt-in", NULL, &a.double_opt_in},
		{"--welcome", &a.welcome, NULL},
		{"--help-text", &a.help, NULL},
		{"--quit-text", &a.quit, NULL},
		{"--confirm-text", &a.confirm, NULL},
		{"--price", &a.price, NULL},
		{"--currency", &a.currency, NULL},
		{"--interval", &a.interval, NULL},
		{"--allow-pos", NULL, &a.allow_pos},
		{"--tenant", &a.tenant, NULL},
		{NULL, NULL, NULL},
	};
	const cli_spec spec = {"program add", add_usage, opts, 0, 0, ""};
	mtgate_program_def def;
	const char *pos[1];
	int npos, rc;
	uint32_t id;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (add_def(&a, &def) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_program_put(cx->conn, &def, &id)) < 0)
		return cli_fail(cx, rc);
	printf("program %u %s:", id, a.sc);
	for (const char *k = a.kw; *k != '\0'; k++)
		putchar(toupper((unsigned char)*k));
	putchar('\n');
	return CLI_OK;
}

static int program_list(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"program list", list_usage, NULL, 0, 0, ""};
	mtgate_c_program *list;
	const char *pos[1];
	int npos, rc;
	size_t n;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_program_list(cx->conn, &list, &n)) < 0)
		return cli_fail(cx, rc);
	for (size_t i = 0; i < n; i++) {
		const mtgate_program_def *d = &list[i].def;

		printf("%u %s:%s ", d->id, d->short_code, d->keyword);
		limit_print(d);
		printf(" %s ", d->tz[0] != '\0' ? d->tz : "UTC");
		cli_put_text(stdout, d->name);
		putchar('\n');
	}
	mtgate_c_program_list_free(list, n);
	return CLI_OK;
}

static void show_field(const char *key, const char *value)
{
	printf("%s: ", key);
	cli_put_text(stdout, value);
	putchar('\n');
}

static void show_def(const mtgate_program_def *d)
{
	printf("id: %u\ntenant: %u\n", d->id, d->tenant);
	show_field("short_code", d->short_code);
	show_field("keyword", d->keyword);
	show_field("name", d->name);
	printf("kind: %s\nlimit: ",
	       d->kind == MTGATE_KIND_ONE_OFF ? "one-off" : "recurring");
	limit_print(d);
	putchar('\n');
	show_field("tz", d->tz[0] != '\0' ? d->tz : "UTC");
	printf("double_opt_in: %s\n", d->double_opt_in ? "yes" : "no");
	printf("allow_pos: %s\n", d->allow_pos ? "yes" : "no");
	show_field("welcome_text", d->welcome_text);
	show_field("help_text", d->help_text);
	show_field("quit_text", d->quit_text);
	show_field("confirm_text", d->confirm_text);
	printf("price_cents: %u\n", d->price_cents);
	show_field("currency", d->currency);
	printf("interval: %s\n", (unsigned)d->interval < MTGATE_INTERVAL_MAX
					 ? interval_names[d->interval]
					 : "?");
}

static int program_show(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"program show", show_usage, NULL, 1, 1, "SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	mtgate_c_program p;
	const char *pos[1];
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_sckw("program show", pos[0], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	rc = mtgate_c_program_get(cx->conn, 0, sc, kw, &p);
	if (rc == MTGATE_ENOPROGRAM)
		return cli_usage_error(NULL, "unknown program %s", pos[0]);
	if (rc < 0)
		return cli_fail(cx, rc);
	show_def(&p.def);
	mtgate_c_program_free(&p);
	return CLI_OK;
}

int cli_cmd_program(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {
		{"add", program_add},
		{"list", program_list},
		{"show", program_show},
	};

	return cli_dispatch(cx, "program", program_usage, cmds,
			    sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
