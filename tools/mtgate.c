/*
 * mtgate: the command-line client of mtgated.
 *
 * This file reads the global flags (server and key), picks the command and
 * runs it; each command group lives in tools/cli/ (see cli/cli.h for the
 * output contract and exit codes). Flags win over the environment
 * (MTGATE_SERVER, MTGATE_KEY), which wins over the defaults (127.0.0.1:7411
 * and ./mtgate-data/operator.key when it is readable).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
	"usage: mtgate [--server HOST:PORT] [--key KEY | --key-file FILE]\n"
	"              <command> [arguments]\n"
	"\n"
	"The command-line client of mtgated, the MT gating server.\n"
	"\n"
	"Global options (before the command):\n"
	"  --server HOST:PORT  the server (default $MTGATE_SERVER, else\n"
	"                      127.0.0.1:7411; IPv6 as [ADDRESS]:PORT)\n"
	"  --key KEY           the key to authenticate with (default\n"
	"                      $MTGATE_KEY)\n"
	"  --key-file FILE     read the key from FILE\n"
	"  Without either, ./mtgate-data/operator.key is used if readable.\n"
	"\n"
	"Commands:\n"
	"  ping [--wait SECONDS]           is the server up? (needs no key)\n"
	"  tenant add NAME                 create a tenant, print its key\n"
	"  program add|list|show           define, list and show programs\n"
	"  check NUMBER SC:KW [--dry-run]  may an MT go out? ALLOW or DENY\n"
	"  optin NUMBER SC:KW              record an opt-in\n"
	"  optout NUMBER SC:KW|SC:ALL      record an opt-out\n"
	"  deactivate NUMBER --reason R    record a disconnect or a port\n"
	"  query NUMBER                    a number's consents\n"
	"  status NUMBER SC:KW             one consent, in one line\n"
	"  import FILE [--program SC:KW]   opt-ins from a CSV file\n"
	"  deactivate-list FILE --reason R a carrier's disconnect or port "
	"list\n"
	"  audit NUMBER                    a number's audit trail (CSV)\n"
	"  export SC:KW [--out FILE]       a program's opt-ins (CSV, as "
	"import\n"
	"                                  reads it)\n"
	"  summary [--date YYYY-MM-DD]     the daily subscription summary "
	"(CSV)\n"
	"  feed [--from POS] [--follow]    the change feed (CSV)\n"
	"  mo NUMBER SC TEXT               apply an MO: replies and changes\n"
	"  doi request|renotify            double opt-in requests\n"
	"  bill check|result               the billing gate of premium "
	"programs\n"
	"  reminders due [--at TIME]       subscriptions owed a reminder\n"
	"  shortcode set SC --help-text T  a short code's generic help text\n"
	"  clock get|set|advance           the server's test clock\n"
	"  stats                           the server's counters\n"
	"\n"
	"Run 'mtgate <command> --help' for a command's options and output.\n"
	"NUMBER is E.164 (+15551234567); 10 digits alone are taken as +1.\n"
	"Times are RFC 3339 (2026-11-23T13:11:44Z). Errors go to stderr as\n"
	"'error: <message>'. Exit status: 0 done (check, bill check: ALLOW),\n"
	"1 check denied (import, deactivate-list: some lines rejected), 2\n"
	"error.\n";

static const cli_cmd commands[] = {
	{"ping", cli_cmd_ping},
	{"tenant", cli_cmd_tenant},
	{"program", cli_cmd_program},
	{"check", cli_cmd_check},
	{"optin", cli_cmd_optin},
	{"optout", cli_cmd_optout},
	{"deactivate", cli_cmd_deactivate},
	{"query", cli_cmd_query},
	{"status", cli_cmd_status},
	{"import", cli_cmd_import},
	{"deactivate-list", cli_cmd_deactivate_list},
	{"audit", cli_cmd_audit},
	{"export", cli_cmd_export},
	{"summary", cli_cmd_summary},
	{"feed", cli_cmd_feed},
	{"mo", cli_cmd_mo},
	{"doi", cli_cmd_doi},
	{"bill", cli_cmd_bill},
	{"reminders", cli_cmd_reminders},
	{"shortcode", cli_cmd_shortcode},
	{"clock", cli_cmd_clock},
	{"stats", cli_cmd_stats},
};

/* The global flags given on the command line. */
typedef struct global_flags {
	const char *server, *key, *key_file;
	bool help;
} global_flags;

/* "--name VALUE" or "--name=VALUE" at argv[*i] into *out. 1 when arg is
 * not this option, 0 when taken, CLI_ERR after printing a problem. */
static int take_value(const char *name, int argc, char **argv, int *i,
		      const char **out)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 1;
	if (*out != NULL)
		return cli_usage_error(NULL, "option '%s' is given twice",
				       name);
	if (a[n] == '=')
		*out = a + n + 1;
	else if (*i + 1 < argc)
		*out = argv[++*i];
	else
		return cli_usage_error(NULL, "option '%s' needs a value", name);
	return 0;
}

/* Read the global flags; *cmd_at gets the index of the command. */
static int parse_globals(int argc, char **argv, global_flags *g, int *cmd_at)
{
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			g->help = true;
			break;
		}
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((rc = take_value("--server", argc, argv, &i, &g->server)) ==
			    1 &&
		    (rc = take_value("--key-file", argc, argv, &i,
				     &g->key_file)) == 1 &&
		    (rc = take_value("--key", argc, argv, &i, &g->key)) == 1)
			return cli_usage_error(NULL, "unknown option '%s'",
					       argv[i]);
		if (rc != 0)
			return rc;
	}
	*cmd_at = i;
	return 0;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : fallback;
}

/* Settle server and key from flags, environment and defaults. */
static int settle(const global_flags *g, cli_ctx *cx)
{
	cx->server = g->server ? g->server
			       : env_or("MTGATE_SERVER", CLI_DEFAULT_SERVER);
	if (g->key != NULL && g->key_file != NULL)
		return cli_usage_error(NULL,
				       "give --key or --key-file, not both");
	if (g->key != NULL && g->key[0] == '\0')
		return cli_usage_error(NULL, "--key is empty");
	if (g->key_file != NULL && g->key_file[0] == '\0')
		return cli_usage_error(NULL, "--key-file is empty");
	if (cx->server[0] == '\0')
		return cli_usage_error(NULL, "--server is empty");
	cx->key = g->key;
	cx->key_file = g->key_file;
	if (cx->key == NULL && cx->key_file == NULL)
		cx->key = env_or("MTGATE_KEY", NULL);
	if (cx->key == NULL && cx->key_file == NULL) {
		cx->key_file = CLI_DEFAULT_KEYFILE;
		cx->key_file_default = true;
	}
	return 0;
}

static int run(cli_ctx *cx, int argc, char **argv)
{
	global_flags g = {0};
	int at = argc, rc;

	if ((rc = parse_globals(argc, argv, &g, &at)) != 0)
		return rc;
	if (g.help || (at < argc && strcmp(argv[at], "help") == 0)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (at == argc)
		return cli_usage_error(NULL, "no command given (see 'mtgate "
					     "--help')");
	if ((rc = settle(&g, cx)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[at]) == 0)
			return commands[i].run(cx, argc - at, argv + at);
	return cli_usage_error(NULL,
			       "unknown command '%s' (see 'mtgate "
			       "--help')",
			       argv[at]);
}

int main(int argc, char **argv)
{
	cli_ctx cx = {.timeout_ms = CLI_TIMEOUT_MS};
	int rc = run(&cx, argc, argv);

	mtgate_c_close(cx.conn);
	if (fflush(stdout) != 0 && rc != CLI_ERR)
		rc = cli_usage_error(NULL, "could not write the output");
	return rc;
}
