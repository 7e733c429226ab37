/*
 * Checks libmtgate's calls for the bulk paths and the audit trail
 * (engine/client/bulk.c):
 *
 *   - against a real mtgated (--test-clock): mtgate_c_import and
 *     mtgate_c_deact_list with their row statuses and counts (NUM-1,
 *     NUM-3), the pipelined forms answered out of order and matched by
 *     tag (mtgate_c_decode_bulk); AUDIT, EXPORT and FEED_READ paged with
 *     a small max (skip, next_after, next), SUMMARY with less room than
 *     programs, FEED_ACK; the arguments refused before anything is sent
 *     (counts 0 and over MTGATE_PROTO_BULK_MAX, a frame over
 *     MTGATE_FRAME_BODY_MAX, no room).
 *   - against a fake server on loopback that answers one request with a
 *     crafted frame: every answer that breaks a bound is MTGATE_EPROTO
 *     (a state, cause, channel or status out of range, more records than
 *     asked, a source too long or with a NUL, numbers or positions that
 *     do not ascend, a next that would not move on, counts that do not
 *     add up), and mtgate_c_decode_bulk's own checks.
 */
#include "srvutil.h"

#include <pthread.h>

#define SC "72001"
#define N1 15572000001ULL

/* ---- a real server ------------------------------------------------------------ */

typedef struct fx {
	su_server *s;
	mtgate_conn *op;
	uint32_t p1, p2;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	mtgate_program_def d1 = su_recurring(SC, "ONE", 4, MTGATE_PERIOD_MONTH),
			   d2 = su_recurring(SC, "TWO", 4, MTGATE_PERIOD_MONTH);

	if (f == NULL)
		return -1;
	*state = f;
	f->s = su_start_clocked("srv-bulk-client", &f->op);
	f->p1 = su_program_put(f->op, &d1);
	f->p2 = su_program_put(f->op, &d2);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	su_done(f->s, f->op);
	free(f);
	return 0;
}

static mtgate_c_import_row row_of(uint64_t number, uint32_t program,
				  int64_t at_ms, const char *src)
{
	return (mtgate_c_import_row){.number = number,
				     .program = program,
				     .channel = MTGATE_CHANNEL_WEB,
				     .at_ms = at_ms,
				     .source = src,
				     .source_len = src ? strlen(src) : 0};
}

/* NUM-1, NUM-3 through the blocking calls: statuses per row, counts. */
static void test_bulk_client_num_3_import_and_deact_list(void **state)
{
	fx *f = *state;
	mtgate_wire_deact_entry e[2] = {{N1, SU_T0 - TU_DAY_MS}, {N1 + 9, 0}};
	mtgate_c_import_row rows[4] = {
		row_of(N1, f->p1, SU_T0 - 2 * TU_DAY_MS, "a"),
		row_of(N1 + 1, f->p1, 0, NULL),
		row_of(0, f->p1, 0, "x"),       /* BAD_NUMBER */
		row_of(N1 + 2, 999999, 0, "y"), /* ENOPROGRAM */
	};
	mtgate_wire_bulk_resp r;
	uint16_t st[4];

	assert_int_equal(mtgate_c_import(f->op, rows, 4, st, &r), 0);
	assert_int_equal(r.count, 4);
	assert_int_equal(r.changed, 2);
	assert_int_equal(r.unchanged, 0);
	assert_int_equal(r.rejected, 2);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], 0);
	assert_int_equal(st[2], MTGATE_ST_BAD_NUMBER);
	assert_int_equal(mtgate_c_status_error(st[3]), MTGATE_ENOPROGRAM);

	/* a disconnect dated a day ago voids the opt-in of two days ago */
	assert_int_equal(mtgate_c_deact_list(f->op, MTGATE_DEACT_DISCONNECT,
					     "list.csv", 8, e, 2, st, &r),
			 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.changed, 1);   /* matched */
	assert_int_equal(r.unchanged, 1); /* voided */
	assert_int_equal(r.rejected, 0);
	assert_int_equal(mtgate_c_deact_list(f->op, MTGATE_DEACT_DISCONNECT,
					     "list.csv", 8, e, 2, NULL, &r),
			 0);
	assert_int_equal(r.unchanged, 0); /* NUM-1: nothing more */

	/* NUM-3: before the date void, after it good; NULL status and out */
	rows[0].at_ms = SU_T0 - 3 * TU_DAY_MS;
	rows[1] = row_of(N1, f->p1, SU_T0 - TU_HOUR_MS, "after");
	assert_int_equal(mtgate_c_import(f->op, rows, 2, st, NULL), 0);
	assert_int_equal(mtgate_c_status_error(st[0]), MTGATE_EVOID);
	assert_int_equal(st[1], 0);
	assert_int_equal(mtgate_c_import(f->op, rows + 1, 1, NULL, &r), 0);
	assert_int_equal(r.unchanged, 1);
}

/* Pipelined IMPORT and DEACT_LIST, matched by tag. */
static void test_bulk_client_pipelined(void **state)
{
	fx *f = *state;
	mtgate_c_import_row rows[3] = {row_of(N1 + 20, f->p2, 0, "p"),
				       row_of(N1 + 21, f->p2, 0, "q"),
				       row_of(N1 + 22, f->p2, 0, NULL)};
	mtgate_wire_deact_entry e = {N1 + 21, 0};
	bool seen[3] = {false, false, false};
	mtgate_wire_bulk_resp r;
	mtgate_wire_header h;
	const uint8_t *body;
	uint16_t st[3];

	assert_int_equal(mtgate_c_send_import(f->op, 101, rows, 2), 0);
	assert_int_equal(mtgate_c_send_import(f->op, 102, rows + 2, 1), 0);
	assert_int_equal(mtgate_c_flush(f->op), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mtgate_c_recv(f->op, &h, &body), 0);
		assert_true(h.tag == 101 || h.tag == 102);
		assert_false(seen[h.tag - 101]);
		seen[h.tag - 101] = true;
		/* room for fewer rows than it holds: EINVAL, count set */
		if (h.tag == 101) {
			assert_int_equal(
				mtgate_c_decode_bulk(&h, body, &r, st, 1),
				MTGATE_EINVAL);
			assert_int_equal(r.count, 2);
		}
		assert_int_equal(mtgate_c_decode_bulk(&h, body, &r, st, 3), 0);
		assert_int_equal(r.count, h.tag == 101 ? 2 : 1);
		assert_int_equal(r.changed, r.count);
	}
	assert_int_equal(mtgate_c_send_deact_list(f->op, 103, MTGATE_DEACT_PORT,
						  "p", 1, &e, 1),
			 0);
	assert_int_equal(mtgate_c_recv(f->op, &h, &body), 0);
	assert_int_equal(h.tag, 103);
	assert_int_equal(mtgate_c_decode_bulk(&h, body, &r, st, 3), 0);
	assert_int_equal(r.changed, 1);
	assert_int_equal(r.unchanged, 1);
	/* an answer of another opcode is not a bulk answer */
	h.opcode = MTGATE_OPC_GATE;
	assert_int_equal(mtgate_c_decode_bulk(&h, body, &r, st, 3),
			 MTGATE_EINVAL);
}

/* AUDIT, EXPORT and FEED_READ one record a page; SUMMARY short of room. */
static void test_bulk_client_pages(void **state)
{
	fx *f = *state;
	mtgate_c_import_row rows[3] = {row_of(N1 + 30, f->p2, 0, "r1"),
				       row_of(N1 + 31, f->p2, 0, "r2"),
				       row_of(N1 + 32, f->p2, 0, "r3")};
	mtgate_audit_rec ar[4];
	mtgate_export_rec xr[4];
	mtgate_summary_rec sr[1];
	uint64_t after = 0, next, from = 0, seq = 0;
	uint32_t skip = 0;
	bool more = true;
	size_t n, total = 0;
	int64_t day;

	assert_int_equal(mtgate_c_import(f->op, rows, 3, NULL, NULL), 0);
	su_optout(f->op, N1 + 30, f->p2);

	/* the trail of N1 + 30: its opt-in then its opt-out, a page each */
	while (more) {
		assert_int_equal(mtgate_c_audit(f->op, N1 + 30, skip, 1, ar, 4,
						&n, &more),
				 0);
		assert_true(n <= 1);
		if (n == 1) {
			assert_true(ar[0].seq > seq);
			seq = ar[0].seq;
			assert_int_equal(ar[0].tenant, 0);
			assert_int_equal(ar[0].new_state,
					 skip == 0 ? MTGATE_AUDIT_OPTED_IN
						   : MTGATE_AUDIT_OPTED_OUT);
		}
		skip += (uint32_t)n;
	}
	assert_int_equal(skip, 2);
	assert_string_equal(ar[0].source, "STOP");

	/* the export of p2, two at a time: 20, 22, 31, 32 (21 voided, 30
	 * opted out) */
	do {
		assert_int_equal(mtgate_c_export(f->op, f->p2, after, 2, xr, 4,
						 &n, &more, &next),
				 0);
		assert_true(n <= 2);
		total += n;
		after = next;
	} while (more);
	assert_int_equal(total, 4);

	/* the feed, a record at a time, from the start */
	total = 0;
	do {
		assert_int_equal(mtgate_c_feed_read(f->op, from == 0 ? 1 : from,
						    1, ar, 4, &n, &next),
				 0);
		assert_true(n <= 1);
		total += n;
		from = next;
	} while (n > 0);
	assert_true(total >= 8);
	assert_int_equal(mtgate_c_feed_ack(f->op, from - 1), 0);

	/* two programs, room for one: the count says two */
	assert_int_equal(mtgate_c_summary(f->op, 0, sr, 1, &n, &day), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sr[0].program, f->p1);
	assert_int_equal(day, SU_T0 - SU_T0 % TU_DAY_MS);
	assert_int_equal(mtgate_c_summary(f->op, 0, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 2);
}

/* What is refused before anything is sent. */
static void test_bulk_client_arguments(void **state)
{
	fx *f = *state;
	static mtgate_c_import_row rows[MTGATE_PROTO_BULK_MAX + 1];
	static char src[UINT16_MAX + 1];
	mtgate_wire_deact_entry e = {N1, 0};
	mtgate_audit_rec ar[1];
	mtgate_export_rec xr[1];
	uint64_t next;
	size_t n;
	bool more;

	for (size_t i = 0; i < MTGATE_PROTO_BULK_MAX + 1; i++)
		rows[i] = row_of(N1 + 100 + i, f->p1, 0, NULL);
	assert_int_equal(mtgate_c_import(f->op, rows, 0, NULL, NULL),
			 MTGATE_EINVAL);
	assert_int_equal(mtgate_c_import(f->op, rows, MTGATE_PROTO_BULK_MAX + 1,
					 NULL, NULL),
			 MTGATE_ETOOBIG);
	/* 16 rows of 65535-byte sources: over one frame */
	memset(src, 's', sizeof(src));
	for (int i = 0; i < 16; i++) {
		rows[i].source = src;
		rows[i].source_len = UINT16_MAX;
	}
	assert_int_equal(mtgate_c_import(f->op, rows, 16, NULL, NULL),
			 MTGATE_ETOOBIG);
	rows[0].source_len = UINT16_MAX + 1;
	assert_int_equal(mtgate_c_import(f->op, rows, 1, NULL, NULL),
			 MTGATE_ETOOBIG);
	rows[0].source = NULL;
	rows[0].source_len = 1;
	assert_int_equal(mtgate_c_import(f->op, rows, 1, NULL, NULL),
			 MTGATE_EINVAL);
	assert_int_equal(mtgate_c_deact_list(f->op, MTGATE_DEACT_PORT, NULL, 0,
					     &e, 0, NULL, NULL),
			 MTGATE_EINVAL);
	assert_int_equal(mtgate_c_deact_list(f->op, MTGATE_DEACT_PORT, NULL, 0,
					     &e, MTGATE_PROTO_BULK_MAX + 1,
					     NULL, NULL),
			 MTGATE_ETOOBIG);
	assert_int_equal(mtgate_c_audit(f->op, N1, 0, 0, ar, 0, &n, &more),
			 MTGATE_EINVAL);
	assert_int_equal(
		mtgate_c_export(f->op, f->p1, 0, 0, xr, 0, &n, &more, &next),
		MTGATE_EINVAL);
	assert_int_equal(mtgate_c_feed_read(f->op, 0, 0, ar, 0, &n, &next),
			 MTGATE_EINVAL);
	/* the connection is still good */
	assert_int_equal(mtgate_c_ping(f->op), 0);
}

/* ---- a fake server ------------------------------------------------------------------ */

/* Accepts one connection, reads one request and answers it with body
 * (its tag and opcode), then waits for the client to close. */
typedef struct fake {
	int lfd;
	char addr[64];
	uint8_t body[4096];
	size_t len;
	pthread_t th;
} fake;

static void *fake_run(void *arg)
{
	fake *fk = arg;
	uint8_t hb[MTGATE_PROTO_HEADER_LEN], junk[256];
	mtgate_wire_header h, a;
	int fd = accept(fk->lfd, NULL, NULL);

	if (fd < 0 || su_raw_read(fd, hb, sizeof(hb)) != 1)
		goto out;
	proto_header_dec(hb, &h);
	for (uint32_t left = h.body_len; left > 0;) {
		uint32_t k = left < sizeof(junk) ? left : sizeof(junk);
		if (su_raw_read(fd, junk, k) != 1)
			goto out;
		left -= k;
	}
	a = (mtgate_wire_header){.magic = MTGATE_PROTO_MAGIC,
				 .version = MTGATE_PROTO_VERSION,
				 .opcode = h.opcode,
				 .flags = MTGATE_FLAG_RESPONSE,
				 .tag = h.tag,
				 .body_len = (uint32_t)fk->len};
	proto_header_enc(hb, &a);
	if (send(fd, hb, sizeof(hb), MSG_NOSIGNAL) == sizeof(hb) && fk->len > 0)
		(void)send(fd, fk->body, fk->len, MSG_NOSIGNAL);
	while (recv(fd, junk, sizeof(junk), 0) > 0)
		;
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A client connected to a fake that answers with the body in w. */
static mtgate_conn *fake_start(fake *fk, const proto_wr *w)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	mtgate_conn *c = NULL;

	assert_false(w->bad);
	fk->len = (size_t)(w->p - fk->body);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fk->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk->lfd, 1), 0);
	assert_int_equal(getsockname(fk->lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(fk->addr, sizeof(fk->addr), "127.0.0.1:%d",
		 ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&fk->th, NULL, fake_run, fk), 0);
	assert_int_equal(mtgate_c_connect(fk->addr, NULL, SU_IO_MS, &c), 0);
	return c;
}

static void fake_stop(fake *fk, mtgate_conn *c)
{
	mtgate_c_close(c);
	pthread_join(fk->th, NULL);
	close(fk->lfd);
}

/* An audit record with what the tests change. */
static void audit_rec(proto_wr *w, uint64_t seq, uint64_t number, uint8_t state,
		      uint8_t cause, const char *src, uint16_t src_len)
{
	mtgate_wire_audit_rec r = {.seq = seq,
				   .at_ms = SU_T0,
				   .number = number,
				   .program = 1,
				   .new_state = state,
				   .channel = MTGATE_CHANNEL_WEB,
				   .cause = cause,
				   .source_len = src_len};

	proto_enc_audit_rec(w, &r);
	proto_wr_bytes(w, src, src_len);
}

typedef enum {
	A_STATE,
	A_CAUSE,
	A_MORE_THAN_ASKED,
	A_OTHER_NUMBER,
	A_SOURCE_NUL,
	A_SOURCE_LONG,
	A_MORE_FLAG,
	A_SHORT,
	A_GOOD, /* the answer as it should be: taken */
	A_CASES
} audit_case;

static void test_bulk_client_audit_answers_checked(void **state)
{
	static char src[MTGATE_SOURCE_MAX + 1];

	(void)state;
	memset(src, 'x', sizeof(src));
	for (int k = 0; k < A_CASES; k++) {
		mtgate_wire_audit_resp resp = {.count = 1};
		mtgate_audit_rec out[2];
		fake fk = {0};
		proto_wr w;
		mtgate_conn *c;
		size_t n;
		bool more;

		proto_wr_init(&w, fk.body, sizeof(fk.body));
		resp.count = k == A_MORE_THAN_ASKED ? 2 : 1;
		resp.more = k == A_MORE_FLAG ? 2 : 0;
		proto_enc_audit_resp(&w, &resp);
		for (uint32_t i = 0; i < resp.count; i++)
			audit_rec(&w, 5 + i, k == A_OTHER_NUMBER ? N1 + 1 : N1,
				  k == A_STATE ? MTGATE_AUDIT_STATE_MAX
					       : MTGATE_AUDIT_OPTED_IN,
				  k == A_CAUSE ? MTGATE_CAUSE_MAX : 0,
				  k == A_SOURCE_NUL ? "a\0b" : src,
				  k == A_SOURCE_LONG  ? MTGATE_SOURCE_MAX + 1
				  : k == A_SOURCE_NUL ? 3
						      : 2);
		if (k == A_SHORT)
			w.p--;
		c = fake_start(&fk, &w);
		assert_int_equal(mtgate_c_audit(c, N1, 0, 1, out, 2, &n, &more),
				 k == A_GOOD ? 0 : MTGATE_EPROTO);
		if (k == A_GOOD)
			assert_true(n == 1 && out[0].seq == 5 &&
				    strcmp(out[0].source, "xx") == 0);
		fake_stop(&fk, c);
	}
}

static void test_bulk_client_feed_answers_checked(void **state)
{
	/* positions: ascending, at least from, next past the last */
	static const struct {
		uint64_t from, seq[2], next;
	} cases[] = {
		{0, {7, 7}, 9},  /* not ascending */
		{0, {8, 7}, 9},  /* going back */
		{0, {7, 8}, 8},  /* next not past the last */
		{10, {7, 8}, 9}, /* before from */
		{0, {0, 8}, 9},  /* position 0 */
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		mtgate_wire_feed_resp resp = {.count = 2,
					      .next = cases[k].next};
		mtgate_audit_rec out[2];
		uint64_t next;
		fake fk = {0};
		proto_wr w;
		mtgate_conn *c;
		size_t n;

		proto_wr_init(&w, fk.body, sizeof(fk.body));
		proto_enc_feed_resp(&w, &resp);
		for (int i = 0; i < 2; i++)
			audit_rec(&w, cases[k].seq[i], N1,
				  MTGATE_AUDIT_OPTED_IN, 0, "", 0);
		c = fake_start(&fk, &w);
		assert_int_equal(mtgate_c_feed_read(c, cases[k].from, 0, out, 2,
						    &n, &next),
				 cases[k].next == 12 ? 0 : MTGATE_EPROTO);
		fake_stop(&fk, c);
	}
}

static void test_bulk_client_export_answers_checked(void **state)
{
	/* numbers ascending past after; more must move on */
	static const struct {
		uint64_t after, number[2], next;
		uint32_t more;
		uint8_t channel;
	} cases[] = {
		{0, {N1 + 1, N1}, N1, 0, 2},       /* not ascending */
		{N1, {N1, N1 + 1}, N1 + 1, 0, 2},  /* not past after */
		{0, {N1, N1 + 1}, N1, 1, 2},       /* next behind */
		{0, {N1, N1 + 1}, N1 + 1, 1, 200}, /* channel */
		{0, {0, N1 + 1}, N1 + 1, 0, 2},    /* number 0 */
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		mtgate_wire_export_resp resp = {.count = 2,
						.more = cases[k].more,
						.next_after = cases[k].next};
		mtgate_export_rec out[2];
		uint64_t next;
		fake fk = {0};
		proto_wr w;
		mtgate_conn *c;
		size_t n;
		bool more;

		proto_wr_init(&w, fk.body, sizeof(fk.body));
		proto_enc_export_resp(&w, &resp);
		for (int i = 0; i < 2; i++) {
			mtgate_wire_export_rec r = {
				.number = cases[k].number[i],
				.channel = cases[k].channel};
			proto_enc_export_rec(&w, &r);
		}
		c = fake_start(&fk, &w);
		assert_int_equal(mtgate_c_export(c, 1, cases[k].after, 0, out,
						 2, &n, &more, &next),
				 cases[k].after == 1 ? 0 : MTGATE_EPROTO);
		fake_stop(&fk, c);
	}
}

static void test_bulk_client_summary_answers_checked(void **state)
{
	static const struct {
		uint32_t program[2];
		int64_t day_start;
		uint32_t count;
	} cases[] = {
		{{2, 1}, 0, 2},     /* ids not ascending */
		{{0, 1}, 0, 2},     /* id 0 */
		{{1, 2}, SU_T0, 2}, /* not a day's start */
		{{1, 2}, 0, 3},     /* a record missing */
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		mtgate_wire_summary_resp resp = {.count = cases[k].count,
						 .day_start_ms =
							 cases[k].day_start};
		mtgate_summary_rec out[4];
		fake fk = {0};
		proto_wr w;
		mtgate_conn *c;
		size_t n;

		proto_wr_init(&w, fk.body, sizeof(fk.body));
		proto_enc_summary_resp(&w, &resp);
		for (int i = 0; i < 2; i++) {
			mtgate_wire_summary_rec r = {
				.program = cases[k].program[i]};
			proto_enc_summary_rec(&w, &r);
		}
		c = fake_start(&fk, &w);
		assert_int_equal(mtgate_c_summary(c, 0, out, 4, &n, NULL),
				 cases[k].day_start != 0 &&
						 cases[k].day_start != SU_T0
					 ? 0
					 : MTGATE_EPROTO);
		fake_stop(&fk, c);
	}
}

/* mtgate_c_decode_bulk and the blocking import on crafted answers. */
static void test_bulk_client_bulk_answers_checked(void **state)
{
	static const struct {
		uint8_t opcode;
		mtgate_wire_bulk_resp r;
		uint16_t st[2];
		int n_st;
	} cases[] = {
		/* IMPORT: changed + unchanged + rejected == count */
		{MTGATE_OPC_IMPORT, {2, 2, 0, 1}, {0, 9}, 2},
		/* rejected is the statuses not 0 */
		{MTGATE_OPC_IMPORT, {2, 1, 0, 0}, {0, 9}, 2},
		/* a status outside the status table */
		{MTGATE_OPC_IMPORT, {2, 1, 0, 1}, {0, 200}, 2},
		{MTGATE_OPC_IMPORT, {2, 1, 0, 1}, {0, 60000}, 2},
		/* a status missing */
		{MTGATE_OPC_IMPORT, {2, 2, 0, 0}, {0, 0}, 1},
		/* count 0 */
		{MTGATE_OPC_IMPORT, {0, 0, 0, 0}, {0, 0}, 0},
		/* DEACT_LIST: matched only among accepted rows */
		{MTGATE_OPC_DEACT_LIST, {2, 2, 5, 1}, {0, 9}, 2},
	};
	mtgate_c_import_row rows[2] = {row_of(N1, 1, 0, NULL),
				       row_of(N1 + 1, 1, 0, NULL)};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		mtgate_wire_header h = {.opcode = cases[k].opcode,
					.flags = MTGATE_FLAG_RESPONSE};
		mtgate_wire_bulk_resp out;
		uint16_t st[2];
		fake fk = {0};
		proto_wr w;
		mtgate_conn *c;

		proto_wr_init(&w, fk.body, sizeof(fk.body));
		proto_enc_bulk_resp(&w, &cases[k].r);
		for (int i = 0; i < cases[k].n_st; i++)
			proto_wr_u16(&w, cases[k].st[i]);
		h.body_len = (uint32_t)(w.p - fk.body);
		assert_int_equal(mtgate_c_decode_bulk(&h, fk.body, &out, st, 2),
				 MTGATE_EPROTO);
		if (cases[k].opcode != MTGATE_OPC_IMPORT)
			continue;
		c = fake_start(&fk, &w);
		assert_int_equal(mtgate_c_import(c, rows, 2, st, &out),
				 MTGATE_EPROTO);
		fake_stop(&fk, c);
	}
	/* a good one, and an error status as its code */
	{
		mtgate_wire_header h = {.opcode = MTGATE_OPC_DEACT_LIST,
					.flags = MTGATE_FLAG_RESPONSE};
		mtgate_wire_bulk_resp r = {2, 1, 7, 1}, out;
		uint8_t body[32];
		uint16_t st[2];
		proto_wr w;

		proto_wr_init(&w, body, sizeof(body));
		proto_enc_bulk_resp(&w, &r);
		proto_wr_u16(&w, 0);
		proto_wr_u16(&w, (uint16_t)su_engine_status(MTGATE_EFUTURE));
		h.body_len = (uint32_t)(w.p - body);
		assert_int_equal(mtgate_c_decode_bulk(&h, body, &out, st, 2),
				 0);
		assert_int_equal(out.unchanged, 7);
		assert_int_equal(mtgate_c_status_error(st[1]), MTGATE_EFUTURE);
		h.status = MTGATE_ST_FORBIDDEN;
		assert_int_equal(mtgate_c_decode_bulk(&h, body, &out, st, 2),
				 MTGATE_ESTATUS(MTGATE_ST_FORBIDDEN));
	}
}

int main(void)
{
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_bulk_client_num_3_import_and_deact_list),
		cmocka_unit_test(test_bulk_client_pipelined),
		cmocka_unit_test(test_bulk_client_pages),
		cmocka_unit_test(test_bulk_client_arguments),
	};
	const struct CMUnitTest fakes[] = {
		cmocka_unit_test(test_bulk_client_audit_answers_checked),
		cmocka_unit_test(test_bulk_client_feed_answers_checked),
		cmocka_unit_test(test_bulk_client_export_answers_checked),
		cmocka_unit_test(test_bulk_client_summary_answers_checked),
		cmocka_unit_test(test_bulk_client_bulk_answers_checked),
	};
	int failed = cmocka_run_group_tests_name("srv_bulk_client", server,
						 setup, teardown);

	return failed + cmocka_run_group_tests_name("bulk_client_fake", fakes,
						    NULL, NULL);
}
