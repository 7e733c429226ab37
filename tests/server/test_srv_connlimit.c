/*
 * Checks --max-connections on a real mtgated (--max-connections 4, with
 * --threads 1 and --threads 2, where the limit is shared by the threads):
 * four connections are served; a fifth gets TOO_MANY_CONNECTIONS (with a
 * text) and is closed, also when it comes through libmtgate; the four are
 * still served; once one of them closes a new connection is accepted, and
 * the limit holds again after that. STATS counts the open connections.
 */
#include "srvutil.h"

#define LIMIT 4

typedef struct fx {
	su_server *s;
	mtgate_conn *c[LIMIT];
} fx;

static int setup(void **state, const char *threads)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->s = su_new("srv-conn", "--threads", threads, "--max-connections",
		      "4", NULL);
	su_start(f->s);
	*state = f;
	return 0;
}

static int setup_t1(void **state)
{
	return setup(state, "1");
}

static int setup_t2(void **state)
{
	return setup(state, "2");
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	for (int i = 0; i < LIMIT; i++)
		mtgate_c_close(f->c[i]);
	su_free(f->s);
	free(f);
	return 0;
}

/* A connection over the limit: TOO_MANY_CONNECTIONS, then the end. */
static void refused(fx *f)
{
	int fd = su_raw_connect(f->s);
	mtgate_wire_header h;
	uint8_t body[256];
	mtgate_conn *c = NULL;

	su_raw_recv(fd, &h, body, sizeof(body));
	assert_int_equal(h.status, MTGATE_ST_TOO_MANY_CONNECTIONS);
	assert_int_equal(h.tag, 0);
	assert_true(strlen(su_err_text(&h, body)) > 0);
	su_raw_expect_closed(fd);
	close(fd);

	assert_int_equal(mtgate_c_connect(f->s->addr, f->s->key, SU_IO_MS, &c),
			 MTGATE_ESTATUS(MTGATE_ST_TOO_MANY_CONNECTIONS));
	assert_null(c);
}

static uint64_t connections(mtgate_conn *c)
{
	uint64_t v[MTGATE_STAT_MAX];
	size_t n = 0;

	assert_int_equal(mtgate_c_stats(c, v, &n), 0);
	return v[MTGATE_STAT_CONNECTIONS];
}

static void test_srv_max_connections(void **state)
{
	fx *f = *state;
	int64_t deadline;
	int rc, tries = 0;

	for (int i = 0; i < LIMIT; i++) {
		f->c[i] = su_operator(f->s);
		assert_int_equal(mtgate_c_ping(f->c[i]), 0);
	}
	assert_int_equal(connections(f->c[0]), LIMIT);

	refused(f);
	refused(f);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(mtgate_c_ping(f->c[i]), 0);
	assert_int_equal(connections(f->c[1]), LIMIT);

	/* one closes: a new one gets in (once the server has seen the
	 * close) */
	mtgate_c_close(f->c[0]);
	f->c[0] = NULL;
	deadline = su_mono_ms() + 5000;
	while ((rc = mtgate_c_connect(f->s->addr, f->s->key, SU_IO_MS,
				      &f->c[0])) != 0) {
		assert_int_equal(
			rc, MTGATE_ESTATUS(MTGATE_ST_TOO_MANY_CONNECTIONS));
		assert_true(su_mono_ms() < deadline);
		tries++;
		su_nap_ms(10);
	}
	assert_int_equal(mtgate_c_ping(f->c[0]), 0);
	assert_int_equal(connections(f->c[0]), LIMIT);
	print_message("    accepted again after %d refusals\n", tries);

	/* and the limit holds again */
	refused(f);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(mtgate_c_ping(f->c[i]), 0);
	su_stop(f->s); /* with the four still open: exit 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_srv_max_connections,
						setup_t1, teardown),
		cmocka_unit_test_setup_teardown(test_srv_max_connections,
						setup_t2, teardown),
	};

	return cmocka_run_group_tests_name("srv_connlimit", tests, NULL, NULL);
}
