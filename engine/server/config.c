/*
 * mtgated's configuration: built-in defaults, then the config file (INI,
 * read with libinih) named by --config, then the command line, which wins.
 * Every bad value is refused with a message that names the flag or the file
 * and line, and the server does not start.
 */
#include <errno.h>
#include <ini.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define MAX_CHARGE_CENTS_MAX 10000000u /* R100 000: a sanity bound */

static const char usage[] =
	"usage: mtgated [options]\n"
	"\n"
	"  --listen HOST:PORT        listen address (default 127.0.0.1:7411)\n"
	"  --data DIR                RocksDB data directory (default "
	"./mtgate-data)\n"
	"  --threads N               core threads (default: number of cores)\n"
	"  --config FILE             INI file with the same settings\n"
	"                            (listen, data, threads, test_clock,\n"
	"                            max_connections, operator_key_file,\n"
	"                            counter_flush_ms, max_charge_cents), in\n"
	"                            the [mtgated] section or none; the\n"
	"                            command line wins\n"
	"  --test-clock              time is frozen and moved only by the "
	"CLOCK\n"
	"                            request (tests)\n"
	"  --max-connections N       default 10240\n"
	"  --operator-key-file FILE  the operator key (default "
	"DATA/operator.key,\n"
	"                            created at first start)\n"
	"  --counter-flush-ms N      counters persisted this often (default "
	"1000)\n"
	"  --max-charge-cents N      the largest single charge a premium "
	"program\n"
	"                            may ask, in cents (default 5000, 1 to\n"
	"                            10000000; PROG-5)\n"
	"  --help                    this text\n";

static void defaults(srv_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:%d",
		 MTGATE_DEFAULT_PORT);
	snprintf(c->data, sizeof(c->data), "./mtgate-data");
	c->max_connections = 10240;
	c->counter_flush_ms = 1000;
	c->max_charge_cents = MTGATE_MAX_CHARGE_DEFAULT;
}

static int set_text(char *dst, size_t cap, const char *v)
{
	if (*v == '\0' || strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_uint(unsigned *dst, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *v == '-' || n < lo ||
	    n > hi)
		return -1;
	*dst = (unsigned)n;
	return 0;
}

static int set_bool(bool *dst, const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*dst = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		*dst = false;
	else
		return -1;
	return 0;
}

/* Set one setting by name (dashes or underscores). Returns 0, -1 for a
 * bad value, -2 for an unknown name; *expect names what is wanted. */
static int set_one(srv_config *c, const char *name, const char *v,
		   const char **expect)
{
	char n[64];
	unsigned u;
	int rc;

	snprintf(n, sizeof(n), "%s", name);
	for (char *p = n; *p; p++)
		if (*p == '-')
			*p = '_';
	if (!strcmp(n, "listen")) {
		*expect = "HOST:PORT";
		return set_text(c->listen, sizeof(c->listen), v);
	}
	if (!strcmp(n, "data")) {
		*expect = "a directory";
		return set_text(c->data, sizeof(c->data), v);
	}
	if (!strcmp(n, "threads")) {
		*expect = "a number of threads from 1 to 256";
		return set_uint(&c->threads, v, 1, 256);
	}
	if (!strcmp(n, "test_clock")) {
		*expect = "true or false";
		return set_bool(&c->test_clock, v);
	}
	if (!strcmp(n, "max_connections")) {
		*expect = "a number from 1 to 1048576";
		return set_uint(&c->max_connections, v, 1, 1u << 20);
	}
	if (!strcmp(n, "operator_key_file")) {
		*expect = "a file";
		return set_text(c->operator_key_file,
				sizeof(c->operator_key_file), v);
	}
	if (!strcmp(n, "counter_flush_ms")) {
		*expect = "milliseconds from 10 to 60000";
		if ((rc = set_uint(&u, v, 10, 60000)) == 0)
			c->counter_flush_ms = u;
		return rc;
	}
	if (!strcmp(n, "max_charge_cents")) {
		*expect = "cents from 1 to 10000000";
		if ((rc = set_uint(&u, v, 1, MAX_CHARGE_CENTS_MAX)) == 0)
			c->max_charge_cents = u;
		return rc;
	}
	return -2;
}

typedef struct ini_ctx {
	srv_config *c;
	char err[256];
} ini_ctx;

static int ini_line(void *user, const char *section, const char *name,
		    const char *value)
{
	ini_ctx *x = user;
	const char *expect = "";
	int rc;

	if (section[0] != '\0' && strcmp(section, "mtgated") != 0) {
		snprintf(x->err, sizeof(x->err), "unknown section [%s]",
			 section);
		return 0;
	}
	rc = set_one(x->c, name, value, &expect);
	if (rc == -2)
		snprintf(x->err, sizeof(x->err), "unknown setting '%s'", name);
	else if (rc < 0)
		snprintf(x->err, sizeof(x->err), "%s: '%s' is not %s", name,
			 value, expect);
	return rc == 0;
}

static int load_file(srv_config *c, const char *path)
{
	ini_ctx x = {.c = c};
	int rc = ini_parse(path, ini_line, &x);

	if (rc == -1) {
		fprintf(stderr, "mtgated: config %s: cannot open: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (rc != 0) {
		fprintf(stderr, "mtgated: config %s line %d: %s\n", path, rc,
			x.err[0] ? x.err : "not a setting (name = value)");
		return -1;
	}
	return 0;
}

/* The value of flag argv[*i] ("--x v" or "--x=v"); NULL when missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq != NULL)
		return eq + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool known(const char *name)
{
	static const char *const flags[] = {
		"listen",
		"data",
		"threads",
		"config",
		"test-clock",
		"max-connections",
		"operator-key-file",
		"counter-flush-ms",
		"max-charge-cents",
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(name, flags[i]))
			return true;
	return false;
}

static int apply_flags(srv_config *c, int argc, char **argv, bool files)
{
	for (int i = 1; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *eq = strchr(a, '='), *v, *expect;
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		int rc;
		if (strncmp(a, "--", 2) != 0 || nl < 3 || nl >= sizeof(name)) {
			fprintf(stderr, "mtgated: unexpected argument '%s'\n",
				a);
			return -1;
		}
		memcpy(name, a + 2, nl - 2);
		name[nl - 2] = '\0';
		if (!known(name)) {
			fprintf(stderr, "mtgated: unknown option --%s\n", name);
			return -1;
		}
		if (!strcmp(name, "test-clock") && eq == NULL) {
			c->test_clock = true;
			continue;
		}
		if ((v = flag_value(argc, argv, &i, eq)) == NULL) {
			fprintf(stderr, "mtgated: --%s needs a value\n", name);
			return -1;
		}
		if (!strcmp(name, "config")) {
			if (files && load_file(c, v) < 0)
				return -1;
			continue;
		}
		if (files)
			continue; /* the config file first, then the flags */
		rc = set_one(c, name, v, &expect);
		if (rc == -2) {
			fprintf(stderr, "mtgated: unknown option --%s\n", name);
			return -1;
		}
		if (rc < 0) {
			fprintf(stderr, "mtgated: --%s: '%s' is not %s\n", name,
				v, expect);
			return -1;
		}
	}
	return 0;
}

int srv_split_addr(const char *a, char *host, size_t hcap, char *port,
		   size_t pcap)
{
	const char *colon = strrchr(a, ':');
	size_t hl;

	if (colon == NULL || colon == a || colon[1] == '\0')
		return -1;
	hl = (size_t)(colon - a);
	if (a[0] == '[' && hl >= 2 && a[hl - 1] == ']') {
		a++;
		hl -= 2;
	}
	if (hl >= hcap || strlen(colon + 1) >= pcap)
		return -1;
	memcpy(host, a, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* --listen: HOST:PORT with a port 0..65535 in digits and a host that
 * resolves, checked before anything is opened. */
static int check_listen(const char *listen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE};
	char host[128], port[16];
	struct addrinfo *ai;
	unsigned p = 0;
	int rc;

	if (srv_split_addr(listen, host, sizeof(host), port, sizeof(port)) <
	    0) {
		fprintf(stderr, "mtgated: --listen '%s' is not HOST:PORT\n",
			listen);
		return -1;
	}
	if (set_uint(&p, port, 0, 65535) < 0) {
		fprintf(stderr,
			"mtgated: --listen '%s': the port must be 0 to 65535\n",
			listen);
		return -1;
	}
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0) {
		fprintf(stderr, "mtgated: --listen '%s': %s\n", listen,
			gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

int srv_config_load(srv_config *c, int argc, char **argv)
{
	defaults(c);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 1;
		}
	if (apply_flags(c, argc, argv, true) < 0 ||
	    apply_flags(c, argc, argv, false) < 0 ||
	    check_listen(c->listen) < 0)
		return -1;
	return 0;
}
