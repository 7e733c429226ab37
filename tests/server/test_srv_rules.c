/*
 * Checks the consent rules on the wire (docs/protocol.md, opcodes 0x80 ..
 * 0x86, and PROGRAM_PUT's rule check) through a real mtgated (--threads 2,
 * --test-clock, --max-charge-cents 1000), with libmtgate for what a client
 * sends and raw frames for what it never would:
 *   - MO: a keyword opts in with the welcome (OPTIN-2); STOP with two
 *     programs active asks the one scope question, for the short code as
 *     a whole, and denies both until a qualified reply (STOP-4); HELP from
 *     a number on no program gets the short code's help text set by
 *     SHORTCODE_SET (HELP-3), from numbers on both threads' shards (such an
 *     MO changes nothing and is answered inside the engine call); YES
 *     confirms a pending double opt-in (DOI-4).
 *   - DOI_REQUEST and DOI_RENOTIFY answer the program's confirm text;
 *     a second request is EDOI_PENDING (DOI-2), a second re-notify and any
 *     for a web request ERENOTIFY (DOI-3), NO starts a 24 h cooldown moved
 *     past with CLOCK (DOI-6), a subscribed number ESUBSCRIBED (DOI-8), a
 *     program without double opt-in ENOTDOI, POS without allow_pos ENOPOS.
 *   - BILL_CHECK: NOT_CONFIRMED, ALLOW up to the confirmed price, then
 *     PRICE_ABOVE_CONFIRMED (BILL-1), also when the price went up (DOI-7);
 *     three BILL_RESULT failures deny the rest of the day, the next day
 *     allows (BILL-2).
 *   - REMINDERS_DUE: 30 days after the confirmation, not 29 (DOI-9); at_ms
 *     0 is now; max; a tenant sees its own programs' reminders only.
 *   - PROGRAM_PUT refuses a definition that breaks a PROG rule with the
 *     engine status of EPROGRAM_RULE and the rule's own text, stores
 *     nothing and keeps an updated program's old version; the premium
 *     fields (price, currency, interval, allow_pos) round-trip; the price
 *     maximum is the server's --max-charge-cents (PROG-1, -4, -5).
 *   - Tenant scope (TEN-1): a tenant's MO acts on its own programs only,
 *     double opt-in and billing on another tenant's program are
 *     ENOPROGRAM, SHORTCODE_SET is FORBIDDEN.
 *   - Every malformed body of every new opcode: its exact BAD_BODY text
 *     (or the engine's error for a value it refuses), and the connection
 *     goes on with nothing changed.
 * Time moves only forward, by CLOCK; nothing sleeps.
 */
#include "srvutil.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define SC     "84001" /* the operator's JOES, NEWS, VIP; tenant A's ACME */
#define SC_A   "84002" /* tenant A's AVIP */

typedef struct fx {
	su_server *s;
	mtgate_conn *op, *a, *b; /* the operator, tenants A and B */
	uint32_t joes, news, vip, acme, avip, up, rem;
	mtgate_mo_result *mo; /* results, on the heap: about 21 KiB */
} fx;

/* ---- programs ------------------------------------------------------------------ */

static char vip_texts[8][SU_SMS_MAX + 1];
static int vip_next;

/* A premium double-opt-in program: price_cents a month, in ZAR, with a
 * service text that names it, the price and the frequency (PROG-5). */
static mtgate_program_def premium(const char *sc, const char *kw,
				  const char *name, uint32_t price_cents)
{
	mtgate_program_def d = su_program(sc, kw, name, 4, MTGATE_PERIOD_MONTH);
	char *confirm = vip_texts[vip_next++ % 8];

	snprintf(confirm, SU_SMS_MAX + 1,
		 "%s costs R%u.%02u per month. Reply YES to join, NO to "
		 "decline.",
		 name, price_cents / 100, price_cents % 100);
	d.double_opt_in = true;
	d.price_cents = price_cents;
	d.currency = "ZAR";
	d.interval = MTGATE_INTERVAL_MONTHLY;
	d.confirm_text = confirm;
	return d;
}

static const char *confirm_text(fx *f, uint32_t id, char *buf, size_t cap)
{
	mtgate_c_program p;

	assert_int_equal(mtgate_c_program_get(f->op, id, NULL, NULL, &p), 0);
	snprintf(buf, cap, "%s", p.def.confirm_text);
	mtgate_c_program_free(&p);
	return buf;
}

static int setup(void **state)
{
	char ka[MTGATE_PROTO_KEY_MAX + 1], kb[MTGATE_PROTO_KEY_MAX + 1];
	fx *f = calloc(1, sizeof(*f));
	mtgate_program_def d;
	uint32_t ida, idb;

	if (f == NULL || (f->mo = malloc(sizeof(*f->mo))) == NULL)
		return -1;
	*state = f;
	f->s = su_new("srv-rules", "--threads", "2", "--test-clock",
		      "--max-charge-cents", "1000", NULL);
	su_start(f->s);
	f->op = su_operator(f->s);
	su_clock(f->op, MTGATE_CLOCK_SET, SU_T0);
	assert_int_equal(mtgate_c_tenant_add(f->op, "acme", &ida, ka), 0);
	assert_int_equal(mtgate_c_tenant_add(f->op, "beta", &idb, kb), 0);
	f->a = su_connect(f->s, ka);
	f->b = su_connect(f->s, kb);

	d = su_program(SC, "JOES", "Joe's Discount Club", 4,
		       MTGATE_PERIOD_MONTH);
	f->joes = su_program_put(f->op, &d);
	d = su_program(SC, "NEWS", "News Flash", 4, MTGATE_PERIOD_MONTH);
	f->news = su_program_put(f->op, &d);
	d = premium(SC, "VIP", "VIP Club", 500);
	f->vip = su_program_put(f->op, &d);
	d = premium(SC, "UP", "Up Club", 300);
	f->up = su_program_put(f->op, &d);
	d = su_program(SC, "REM", "Reminder Club", 4, MTGATE_PERIOD_MONTH);
	d.double_opt_in = true;
	d.confirm_text = "Reminder Club: reply YES to join.";
	f->rem = su_program_put(f->op, &d);
	d = su_program(SC, "ACME", "Acme deals", 2, MTGATE_PERIOD_WEEK);
	f->acme = su_program_put(f->a, &d);
	d = premium(SC_A, "AVIP", "Acme VIP", 800);
	f->avip = su_program_put(f->a, &d);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	mtgate_c_close(f->op);
	mtgate_c_close(f->a);
	mtgate_c_close(f->b);
	su_free(f->s);
	free(f->mo);
	free(f);
	return 0;
}

/* ---- calls --------------------------------------------------------------------- */

/* An MO that must succeed; the result in f->mo. */
static const mtgate_mo_result *mo(fx *f, mtgate_conn *c, uint64_t number,
				  const char *sc, const char *text)
{
	int rc = mtgate_c_mo(c, number, sc, text, strlen(text), f->mo);

	if (rc != 0)
		fail_msg("MO %llu %s '%s': %s (%s)", (unsigned long long)number,
			 sc, text, mtgate_strerror(rc), mtgate_c_last_error(c));
	return f->mo;
}

static void expect_action(const mtgate_mo_result *m, uint32_t i,
			  mtgate_mo_action_kind kind, uint32_t program)
{
	assert_true(i < m->n_actions);
	if (m->action[i].kind != kind || m->action[i].program != program)
		fail_msg("action %u: %s program %u, want %s program %u", i,
			 mtgate_mo_action_name(m->action[i].kind),
			 m->action[i].program, mtgate_mo_action_name(kind),
			 program);
}

static const char *doi(mtgate_conn *c, uint64_t n, uint32_t program,
		       mtgate_channel ch, int want)
{
	static char text[MTGATE_TEXT_MAX + 1];
	int rc;

	text[0] = '\0';
	rc = mtgate_c_doi_request(c, n, program, ch, "form-9", text);
	if (rc != want)
		fail_msg("DOI_REQUEST %llu/%u: %s (%s), want %s",
			 (unsigned long long)n, program, mtgate_strerror(rc),
			 mtgate_c_last_error(c), mtgate_strerror(want));
	return text;
}

static mtgate_bill_reason bill(mtgate_conn *c, uint64_t n, uint32_t program,
			       uint32_t cents)
{
	mtgate_bill_reason r = MTGATE_BILL_REASON_MAX;

	assert_int_equal(mtgate_c_bill_check(c, n, program, cents, &r), 0);
	return r;
}

/* A double opt-in by the API, confirmed by an MO YES: subscribed. */
static void subscribe(fx *f, mtgate_conn *c, uint64_t n, const char *sc,
		      uint32_t program)
{
	const mtgate_mo_result *m;

	doi(c, n, program, MTGATE_CHANNEL_WEB, 0);
	m = mo(f, c, n, sc, "yes");
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_CONFIRMED, program);
}

/* A raw frame on c; its answer must have status st and, for an error,
 * exactly the text want (when not NULL). */
static void raw_expect(mtgate_conn *c, uint8_t opcode, const void *body,
		       uint32_t len, unsigned st, const char *want)
{
	mtgate_wire_header h;
	const uint8_t *rb;
	const uint8_t *t;
	uint16_t tl = 0;
	proto_rd r;

	su_call_raw(c, opcode, body, len, &h, &rb);
	if (h.status != st)
		fail_msg("opcode 0x%02x: status %u (%s: %s), want %u", opcode,
			 h.status, mtgate_status_name(h.status),
			 mtgate_c_last_error(c), st);
	if (st == MTGATE_ST_OK || want == NULL)
		return;
	proto_rd_init(&r, rb, h.body_len);
	t = proto_rd_str(&r, &tl);
	assert_true(proto_rd_done(&r));
	if (tl != strlen(want) || memcmp(t, want, tl) != 0)
		fail_msg("opcode 0x%02x: text '%.*s', want '%s'", opcode,
			 (int)tl, (const char *)t, want);
}

static int64_t now_ms(fx *f)
{
	return su_clock(f->op, MTGATE_CLOCK_READ, 0);
}

/* ---- MO -------------------------------------------------------------------------- */

static void test_optin_2_mo_keyword_opts_in(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400001ULL;
	const mtgate_mo_result *m;
	su_texts t;

	su_texts_for(&t, "Joe's Discount Club", 4, MTGATE_PERIOD_MONTH);
	m = mo(f, f->op, n, SC, "joes");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], t.welcome);
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_OPTED_IN, f->joes);
	assert_int_equal(su_consent(f->op, n, f->joes).state,
			 MTGATE_STATE_OPTED_IN);
	assert_int_equal(su_consent(f->op, n, f->joes).channel,
			 MTGATE_CHANNEL_MO);
	assert_int_equal(su_gate(f->op, n, f->joes, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	/* a short code nothing lives on: no replies, no actions */
	m = mo(f, f->op, n, "99999", "JOES");
	assert_int_equal(m->n_replies, 0);
	assert_int_equal(m->n_actions, 0);
}

static void test_stop_4_scope_question_then_qualified_reply(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400002ULL;
	const mtgate_mo_result *m;
	su_texts t;

	mo(f, f->op, n, SC, "JOES");
	mo(f, f->op, n, SC, "News");
	m = mo(f, f->op, n, SC, "Stop");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0],
			    "Multiple keywords active. Reply with one of JOES "
			    "STOP, NEWS STOP or with STOP ALL to quit all.");
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_SCOPE_QUESTION, 0);
	assert_int_equal(su_gate(f->op, n, f->joes, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_SCOPE_QUESTION_OPEN);
	assert_int_equal(su_gate(f->op, n, f->news, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_SCOPE_QUESTION_OPEN);

	/* the qualified reply ends NEWS only; JOES resumes (STOP-2) */
	su_texts_for(&t, "News Flash", 4, MTGATE_PERIOD_MONTH);
	m = mo(f, f->op, n, SC, "news stop");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], t.quit);
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_OPTED_OUT, f->news);
	assert_int_equal(su_gate(f->op, n, f->news, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(f->op, n, f->joes, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
}

static void test_help_3_short_code_help_text(void **state)
{
	fx *f = *state;
	const char *generic = SC ": help at example.com or 1-800-555-0100.";
	const mtgate_mo_result *m;
	su_texts t;

	assert_int_equal(mtgate_c_shortcode_set(f->op, SC, generic), 0);
	/* numbers on both shards: each HELP changes nothing and is answered
	 * at once, inline on the connection's thread or by the other */
	for (uint64_t i = 0; i < 8; i++) {
		m = mo(f, f->op, 15558400100ULL + i, SC, "HELP");
		assert_int_equal(m->n_replies, 1);
		assert_string_equal(m->reply[0], generic);
		assert_int_equal(m->n_actions, 1);
		expect_action(m, 0, MTGATE_ACT_HELP, 0);
	}
	/* a qualified HELP answers the program's help text (HELP-2) */
	su_texts_for(&t, "Joe's Discount Club", 4, MTGATE_PERIOD_MONTH);
	m = mo(f, f->op, 15558400100ULL, SC, "joes help");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], t.help);
	expect_action(m, 0, MTGATE_ACT_HELP, f->joes);
	/* nothing of it is a consent */
	assert_int_equal(su_consent(f->op, 15558400100ULL, f->joes).state,
			 MTGATE_STATE_NONE);
	/* set on a short code without programs, and cleared */
	assert_int_equal(mtgate_c_shortcode_set(f->op, "84999", "x.com"), 0);
	m = mo(f, f->op, 15558400100ULL, "84999", "info");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], "x.com");
	assert_int_equal(mtgate_c_shortcode_set(f->op, "84999", ""), 0);
	m = mo(f, f->op, 15558400100ULL, "84999", "info");
	assert_int_equal(m->n_replies, 0);
	/* the engine's refusals */
	assert_int_equal(mtgate_c_shortcode_set(f->op, "84-99", "x"),
			 MTGATE_ESHORTCODE);
}

/* ---- double opt-in ------------------------------------------------------------------ */

static void test_doi_1_request_renotify_confirm(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400201ULL;
	char want[MTGATE_TEXT_MAX + 1], text[MTGATE_TEXT_MAX + 1];
	const mtgate_mo_result *m;
	mtgate_consent c;

	confirm_text(f, f->vip, want, sizeof(want));
	assert_string_equal(doi(f->op, n, f->vip, MTGATE_CHANNEL_USSD, 0),
			    want);
	c = su_consent(f->op, n, f->vip);
	assert_int_equal(c.state, MTGATE_STATE_PENDING);
	assert_int_equal(c.channel, MTGATE_CHANNEL_USSD);
	assert_string_equal(c.source, "form-9");
	assert_int_equal(su_gate(f->op, n, f->vip, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_PENDING_CONFIRMATION);
	/* DOI-2: one pending at a time */
	doi(f->op, n, f->vip, MTGATE_CHANNEL_WAP, MTGATE_EDOI_PENDING);
	/* DOI-3: one re-notify, with the same text */
	assert_int_equal(mtgate_c_doi_renotify(f->op, n, f->vip, text), 0);
	assert_string_equal(text, want);
	assert_int_equal(mtgate_c_doi_renotify(f->op, n, f->vip, text),
			 MTGATE_ERENOTIFY);
	/* DOI-4: YES confirms */
	m = mo(f, f->op, n, SC, "YES");
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_CONFIRMED, f->vip);
	assert_int_equal(su_gate(f->op, n, f->vip, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	/* DOI-8: subscribed once */
	doi(f->op, n, f->vip, MTGATE_CHANNEL_MMS, MTGATE_ESUBSCRIBED);
	assert_int_equal(mtgate_c_doi_renotify(f->op, n, f->vip, text),
			 MTGATE_ENOTPENDING);

	/* a web request gets no re-notify; POS needs allow_pos; a program
	 * without double opt-in takes no request; unknown programs */
	doi(f->op, n + 1, f->vip, MTGATE_CHANNEL_WEB, 0);
	assert_int_equal(mtgate_c_doi_renotify(f->op, n + 1, f->vip, NULL),
			 MTGATE_ERENOTIFY);
	doi(f->op, n + 2, f->vip, MTGATE_CHANNEL_POS, MTGATE_ENOPOS);
	doi(f->op, n + 2, f->joes, MTGATE_CHANNEL_MO, MTGATE_ENOTDOI);
	doi(f->op, n + 2, 999999, MTGATE_CHANNEL_MO, MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_doi_renotify(f->op, n + 2, 999999, NULL),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(su_consent(f->op, n + 2, f->vip).state,
			 MTGATE_STATE_NONE);
}

/* The request by MO: the keyword of a double-opt-in program answers the
 * confirmation request (OPTIN-2, DOI-1). */
static void test_doi_1_request_by_mo_keyword(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400211ULL;
	char want[MTGATE_TEXT_MAX + 1];
	const mtgate_mo_result *m;

	confirm_text(f, f->vip, want, sizeof(want));
	m = mo(f, f->op, n, SC, "VIP");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], want);
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_PENDING, f->vip);
}

static void test_doi_6_decline_then_cooldown(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400301ULL;
	const mtgate_mo_result *m;

	doi(f->op, n, f->vip, MTGATE_CHANNEL_IVR, 0);
	m = mo(f, f->op, n, SC, "no");
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_DECLINED, f->vip);
	doi(f->op, n, f->vip, MTGATE_CHANNEL_IVR, MTGATE_EDOI_COOLDOWN);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, DAY_MS - 1);
	doi(f->op, n, f->vip, MTGATE_CHANNEL_IVR, MTGATE_EDOI_COOLDOWN);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 1);
	doi(f->op, n, f->vip, MTGATE_CHANNEL_IVR, 0);
	assert_int_equal(su_consent(f->op, n, f->vip).state,
			 MTGATE_STATE_PENDING);
}

/* ---- billing ------------------------------------------------------------------------------ */

static void test_bill_1_only_confirmed_up_to_the_price(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400401ULL;
	mtgate_program_def d;

	assert_int_equal(bill(f->op, n, f->vip, 500),
			 MTGATE_BILL_NOT_CONFIRMED);
	doi(f->op, n, f->vip, MTGATE_CHANNEL_MO, 0);
	assert_int_equal(bill(f->op, n, f->vip, 500),
			 MTGATE_BILL_NOT_CONFIRMED); /* pending */
	mo(f, f->op, n, SC, "yes");
	assert_int_equal(bill(f->op, n, f->vip, 500), MTGATE_BILL_ALLOW);
	assert_int_equal(bill(f->op, n, f->vip, 1), MTGATE_BILL_ALLOW);
	assert_int_equal(bill(f->op, n, f->vip, 501),
			 MTGATE_BILL_PRICE_ABOVE_CONFIRMED);
	assert_int_equal(mtgate_c_bill_check(f->op, n, 999999, 1,
					     &(mtgate_bill_reason){0}),
			 MTGATE_ENOPROGRAM);

	/* DOI-7: the price went up; the confirmed one no longer bills */
	subscribe(f, f->op, n, SC, f->up);
	assert_int_equal(bill(f->op, n, f->up, 300), MTGATE_BILL_ALLOW);
	d = premium(SC, "UP", "Up Club", 400);
	d.id = f->up;
	assert_int_equal(su_program_put(f->op, &d), f->up);
	assert_int_equal(bill(f->op, n, f->up, 300),
			 MTGATE_BILL_PRICE_ABOVE_CONFIRMED);
}

static void test_bill_2_three_failures_a_day(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400501ULL;
	mtgate_c_changes ch;

	subscribe(f, f->op, n, SC, f->vip);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(bill(f->op, n, f->vip, 500),
				 MTGATE_BILL_ALLOW);
		assert_int_equal(
			mtgate_c_bill_result(f->op, n, f->vip, false, &ch), 0);
	}
	assert_int_equal(bill(f->op, n, f->vip, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, DAY_MS);
	assert_int_equal(bill(f->op, n, f->vip, 500), MTGATE_BILL_ALLOW);
	assert_int_equal(mtgate_c_bill_result(f->op, n, f->vip, true, &ch), 0);
	assert_int_equal(bill(f->op, n, f->vip, 500), MTGATE_BILL_ALLOW);
	/* no record to record it on; an unknown program */
	assert_int_equal(mtgate_c_bill_result(f->op, n + 1, f->vip, false, &ch),
			 MTGATE_ENOTPENDING);
	assert_int_equal(mtgate_c_bill_result(f->op, n, 999999, true, &ch),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(bill(f->op, n + 1, f->vip, 500),
			 MTGATE_BILL_NOT_CONFIRMED);
}

/* ---- reminders -------------------------------------------------------------------------- */

/* REMINDERS_DUE at at_ms: is (number, program) listed, with since and due
 * (when found)? */
static bool reminder_of(mtgate_conn *c, int64_t at_ms, uint64_t number,
			uint32_t program, int64_t *since, int64_t *due)
{
	static mtgate_reminder list[256];
	size_t n = 0;
	bool more = true;

	assert_int_equal(mtgate_c_reminders_due(c, at_ms, list, 256, &n, &more),
			 0);
	assert_false(more);
	assert_true(n <= 256);
	for (size_t i = 0; i < n; i++) {
		if (list[i].number == number && list[i].program == program) {
			*since = list[i].since_ms;
			*due = list[i].due_ms;
			return true;
		}
	}
	return false;
}

static void test_doi_9_reminders_due(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400601ULL;
	mtgate_reminder one[1];
	int64_t t, since = 0, due = 0;
	size_t count = 0;
	bool more = false;

	subscribe(f, f->op, n, SC, f->rem);
	subscribe(f, f->a, n, SC_A, f->avip);
	t = now_ms(f);
	assert_false(reminder_of(f->op, t, n, f->rem, &since, &due));
	assert_false(
		reminder_of(f->op, t + 29 * DAY_MS, n, f->rem, &since, &due));
	assert_true(
		reminder_of(f->op, t + 30 * DAY_MS, n, f->rem, &since, &due));
	assert_int_equal(since, t);
	assert_int_equal(due, t + 30 * DAY_MS);
	assert_false(
		reminder_of(f->op, t + 31 * DAY_MS, n, f->rem, &since, &due));
	assert_true(
		reminder_of(f->op, t + 60 * DAY_MS, n, f->rem, &since, &due));
	assert_int_equal(due, t + 60 * DAY_MS);

	/* TEN-1: the tenant sees its own program's reminder, not the
	 * operator's; the operator sees both */
	assert_true(
		reminder_of(f->a, t + 30 * DAY_MS, n, f->avip, &since, &due));
	assert_false(
		reminder_of(f->a, t + 30 * DAY_MS, n, f->rem, &since, &due));
	assert_false(
		reminder_of(f->b, t + 30 * DAY_MS, n, f->avip, &since, &due));
	assert_true(
		reminder_of(f->op, t + 30 * DAY_MS, n, f->avip, &since, &due));

	/* max: one of (at least) two, and `more` */
	assert_int_equal(mtgate_c_reminders_due(f->op, t + 30 * DAY_MS, one, 1,
						&count, &more),
			 0);
	assert_int_equal(count, 1);
	assert_true(more);

	/* at_ms 0 is the server's now */
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 30 * DAY_MS);
	assert_true(reminder_of(f->op, 0, n, f->rem, &since, &due));
	assert_int_equal(since, t);
}

/* ---- PROGRAM_PUT and the PROG rules ---------------------------------------------------- */

static void put_refused(fx *f, mtgate_conn *c, const mtgate_program_def *d,
			const char *why)
{
	uint32_t id = 0;
	int rc = mtgate_c_program_put(c, d, &id);

	if (rc != MTGATE_EPROGRAM_RULE)
		fail_msg("PROGRAM_PUT %s:%s: %s (%s), want the rule '%s'",
			 d->short_code, d->keyword, mtgate_strerror(rc),
			 mtgate_c_last_error(c), why);
	assert_string_equal(mtgate_c_last_error(c), why);
	(void)f;
}

static void test_prog_1_program_put_refuses_with_the_rule(void **state)
{
	fx *f = *state;
	mtgate_program_def d = su_program(
		"84100", "RULE", "Joe's Discount Club", 4, MTGATE_PERIOD_MONTH);
	mtgate_c_program got;
	uint8_t body[2048];
	proto_program p;
	proto_wr w;

	d.welcome_text = "Joe's Discount Club: Msg&Data rates may apply. Max "
			 "5 msgs/mo. Reply STOP to cancel, HELP for help.";
	put_refused(f, f->op, &d,
		    "PROG-1: welcome text lacks \"Max 4 msgs/mo\"");
	put_refused(f, f->a, &d,
		    "PROG-1: welcome text lacks \"Max 4 msgs/mo\"");
	/* on the wire: the engine status of EPROGRAM_RULE, the rule's text */
	proto_program_of_def(&d, &p);
	proto_wr_init(&w, body, proto_program_size(&p));
	proto_enc_program(&w, &p);
	assert_false(w.bad);
	raw_expect(f->op, MTGATE_OPC_PROGRAM_PUT, body,
		   (uint32_t)proto_program_size(&p),
		   256 + (MTGATE_EPROGRAM_RULE - MTGATE_ERR_FIRST),
		   "PROG-1: welcome text lacks \"Max 4 msgs/mo\"");
	/* nothing stored */
	assert_int_equal(mtgate_c_program_get(f->op, 0, "84100", "RULE", &got),
			 MTGATE_ENOPROGRAM);

	/* an update that breaks a rule keeps the old version */
	d = su_program(SC, "JOES", "Joe's Discount Club", 4,
		       MTGATE_PERIOD_MONTH);
	d.id = f->joes;
	d.quit_text = "Bye.";
	put_refused(f, f->op, &d,
		    "PROG-3: quit text does not name the program \"Joe's "
		    "Discount Club\"");
	assert_int_equal(mtgate_c_program_get(f->op, f->joes, NULL, NULL, &got),
			 0);
	assert_string_equal(got.def.quit_text, "You have quit Joe's Discount "
					       "Club. No more messages will be "
					       "sent.");
	mtgate_c_program_free(&got);
}

static void test_prog_5_premium_fields_and_the_maximum(void **state)
{
	fx *f = *state;
	mtgate_program_def d = premium("84100", "GOLD", "Gold Club", 1500);
	mtgate_c_program got;
	uint32_t id;

	/* --max-charge-cents 1000 */
	put_refused(f, f->op, &d,
		    "PROG-5: price 1500 cents is over the operator maximum "
		    "of 1000");
	d = premium("84100", "GOLD", "Gold Club", 1000);
	d.allow_pos = true;
	id = su_program_put(f->op, &d);
	assert_int_equal(mtgate_c_program_get(f->op, id, NULL, NULL, &got), 0);
	assert_int_equal(got.def.price_cents, 1000);
	assert_string_equal(got.def.currency, "ZAR");
	assert_int_equal(got.def.interval, MTGATE_INTERVAL_MONTHLY);
	assert_true(got.def.allow_pos);
	assert_true(got.def.double_opt_in);
	assert_string_equal(got.def.confirm_text, d.confirm_text);
	mtgate_c_program_free(&got);
	/* allow_pos: a point-of-sale request is taken */
	doi(f->op, 15558400701ULL, id, MTGATE_CHANNEL_POS, 0);

	/* PROG-4 and PROG-5's words */
	d = su_program("84100", "STOP", "Stop Club", 4, MTGATE_PERIOD_MONTH);
	put_refused(f, f->op, &d,
		    "PROG-4: keyword \"STOP\" is a reserved word");
	d = premium("84100", "FREE", "Free Club", 500);
	put_refused(f, f->op, &d, "PROG-5: service text contains \"free\"");
}

/* ---- tenants (TEN-1) --------------------------------------------------------------------- */

static void test_ten_1_rules_scope(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400801ULL;
	const mtgate_mo_result *m;
	mtgate_c_changes ch;
	su_texts t;

	/* N on the operator's JOES and tenant A's ACME, same short code */
	mo(f, f->op, n, SC, "JOES");
	m = mo(f, f->a, n, SC, "acme");
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_OPTED_IN, f->acme);
	/* the operator's keyword is none for tenant A */
	m = mo(f, f->a, n + 1, SC, "JOES");
	assert_int_equal(m->n_actions, 0);
	assert_int_equal(su_consent(f->op, n + 1, f->joes).state,
			 MTGATE_STATE_NONE);
	/* tenant A's STOP: one program active for it, ACME; JOES stays */
	su_texts_for(&t, "Acme deals", 2, MTGATE_PERIOD_WEEK);
	m = mo(f, f->a, n, SC, "STOP");
	assert_int_equal(m->n_replies, 1);
	assert_string_equal(m->reply[0], t.quit);
	assert_int_equal(m->n_actions, 1);
	expect_action(m, 0, MTGATE_ACT_OPTED_OUT, f->acme);
	assert_int_equal(su_gate(f->op, n, f->joes, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	/* tenant B has nothing on the short code */
	m = mo(f, f->b, n, SC, "JOES");
	assert_int_equal(m->n_replies + m->n_actions, 0);

	/* another tenant's program is unknown */
	assert_int_equal(mtgate_c_doi_request(f->a, n, f->vip,
					      MTGATE_CHANNEL_MO, NULL, NULL),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_doi_renotify(f->b, n, f->avip, NULL),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_bill_check(f->b, n, f->avip, 1,
					     &(mtgate_bill_reason){0}),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_bill_result(f->a, n, f->vip, true, &ch),
			 MTGATE_ENOPROGRAM);
	/* its own work */
	doi(f->a, n, f->avip, MTGATE_CHANNEL_WAP, 0);
	assert_int_equal(bill(f->a, n, f->avip, 800),
			 MTGATE_BILL_NOT_CONFIRMED);
	/* operator only */
	assert_int_equal(mtgate_c_shortcode_set(f->a, SC, "mine"),
			 MTGATE_ESTATUS(MTGATE_ST_FORBIDDEN));
}

/* ---- malformed bodies --------------------------------------------------------------------- */

/* A body of the given fixed part and trailing bytes. */
typedef struct body {
	uint8_t b[2048];
	proto_wr w;
} body;

static uint8_t *body_start(body *x)
{
	memset(x->b, 0, sizeof(x->b));
	proto_wr_init(&x->w, x->b, sizeof(x->b));
	return x->b;
}

static uint32_t body_len(const body *x)
{
	assert_false(x->w.bad);
	return (uint32_t)(x->w.p - x->b);
}

static void test_srv_rules_bad_mo(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400901ULL;
	static char long_text[MTGATE_MO_MAX + 2];
	body x;

	/* short, and lengths past the body */
	raw_expect(f->op, MTGATE_OPC_MO, body_start(&x), 15, MTGATE_ST_BAD_BODY,
		   "MO body must be at least 16 bytes, got 15");
	body_start(&x);
	proto_enc_mo_req(&x.w, &(mtgate_wire_mo_req){n, 5, 0, 4, 0});
	proto_wr_bytes(&x.w, SC "STO", 8);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x), MTGATE_ST_BAD_BODY,
		   "MO body must be 25 bytes, got 24");
	proto_wr_bytes(&x.w, "PP", 2);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x), MTGATE_ST_BAD_BODY,
		   "MO body must be 25 bytes, got 26");
	/* values */
	body_start(&x);
	proto_enc_mo_req(&x.w, &(mtgate_wire_mo_req){0, 5, 0, 4, 0});
	proto_wr_bytes(&x.w, SC "STOP", 9);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x),
		   MTGATE_ST_BAD_NUMBER, NULL);
	body_start(&x);
	proto_enc_mo_req(&x.w, &(mtgate_wire_mo_req){n, 0, 0, 4, 0});
	proto_wr_bytes(&x.w, "STOP", 4);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x),
		   su_engine_status(MTGATE_ESHORTCODE),
		   mtgate_strerror(MTGATE_ESHORTCODE));
	body_start(&x);
	proto_enc_mo_req(&x.w, &(mtgate_wire_mo_req){n, 5, 0, 4, 0});
	proto_wr_bytes(&x.w, "84-01STOP", 9);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x),
		   su_engine_status(MTGATE_ESHORTCODE), NULL);
	body_start(&x);
	proto_enc_mo_req(&x.w, &(mtgate_wire_mo_req){n, 5, 0, 2, 0});
	proto_wr_bytes(&x.w, SC "\xff\xfe", 7);
	raw_expect(f->op, MTGATE_OPC_MO, x.b, body_len(&x),
		   su_engine_status(MTGATE_EMO_UTF8),
		   mtgate_strerror(MTGATE_EMO_UTF8));
	memset(long_text, 'a', MTGATE_MO_MAX + 1);
	assert_int_equal(
		mtgate_c_mo(f->op, n, SC, long_text, MTGATE_MO_MAX + 1, f->mo),
		MTGATE_EMO_LONG);
	assert_string_equal(mtgate_c_last_error(f->op),
			    mtgate_strerror(MTGATE_EMO_LONG));
	/* exactly the maximum is an MO (of no keyword) */
	assert_int_equal(
		mtgate_c_mo(f->op, n, SC, long_text, MTGATE_MO_MAX, f->mo), 0);
	assert_int_equal(f->mo->n_actions, 0);
	assert_int_equal(su_consent(f->op, n, f->joes).state,
			 MTGATE_STATE_NONE);
}

static void test_srv_rules_bad_doi_and_bill(void **state)
{
	fx *f = *state;
	const uint64_t n = 15558400902ULL;
	char src[300];
	body x;

	/* DOI_REQUEST */
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, body_start(&x), 15,
		   MTGATE_ST_BAD_BODY,
		   "DOI_REQUEST body must be at least 16 bytes, got 15");
	body_start(&x);
	proto_enc_doi_req(&x.w, &(mtgate_wire_doi_req){n, f->vip, 2, 0, 6});
	proto_wr_bytes(&x.w, "form", 4);
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "DOI_REQUEST body must be 22 bytes, got 20");
	body_start(&x);
	proto_enc_doi_req(&x.w, &(mtgate_wire_doi_req){n, f->vip, 2, 0, 4});
	proto_wr_bytes(&x.w, "fo\0m", 4);
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "source must be at most 255 bytes, without NUL");
	memset(src, 's', sizeof(src));
	body_start(&x);
	proto_enc_doi_req(&x.w, &(mtgate_wire_doi_req){n, f->vip, 2, 0, 256});
	proto_wr_bytes(&x.w, src, 256);
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "source must be at most 255 bytes, without NUL");
	body_start(&x);
	proto_enc_doi_req(&x.w, &(mtgate_wire_doi_req){n, f->vip, 99, 0, 0});
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, x.b, body_len(&x),
		   su_engine_status(MTGATE_ECHANNEL),
		   mtgate_strerror(MTGATE_ECHANNEL));
	body_start(&x);
	proto_enc_doi_req(&x.w, &(mtgate_wire_doi_req){MTGATE_NUMBER_MAX + 1,
						       f->vip, 2, 0, 0});
	raw_expect(f->op, MTGATE_OPC_DOI_REQUEST, x.b, body_len(&x),
		   MTGATE_ST_BAD_NUMBER, NULL);
	/* DOI_RENOTIFY */
	raw_expect(f->op, MTGATE_OPC_DOI_RENOTIFY, body_start(&x), 17,
		   MTGATE_ST_BAD_BODY,
		   "DOI_RENOTIFY body must be 16 bytes, got 17");
	raw_expect(f->op, MTGATE_OPC_DOI_RENOTIFY, body_start(&x), 16,
		   MTGATE_ST_BAD_NUMBER, NULL);
	/* BILL_CHECK */
	raw_expect(f->op, MTGATE_OPC_BILL_CHECK, body_start(&x), 12,
		   MTGATE_ST_BAD_BODY,
		   "BILL_CHECK body must be 16 bytes, got 12");
	raw_expect(f->op, MTGATE_OPC_BILL_CHECK, body_start(&x), 16,
		   MTGATE_ST_BAD_NUMBER, NULL);
	/* BILL_RESULT */
	raw_expect(f->op, MTGATE_OPC_BILL_RESULT, body_start(&x), 20,
		   MTGATE_ST_BAD_BODY,
		   "BILL_RESULT body must be 16 bytes, got 20");
	body_start(&x);
	proto_enc_bill_result_req(
		&x.w, &(mtgate_wire_bill_result_req){n, f->vip, 2, {0}});
	raw_expect(f->op, MTGATE_OPC_BILL_RESULT, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "BILL_RESULT ok must be 0 (failed) or 1 (charged)");
	/* REMINDERS_DUE */
	raw_expect(f->op, MTGATE_OPC_REMINDERS_DUE, body_start(&x), 8,
		   MTGATE_ST_BAD_BODY,
		   "REMINDERS_DUE body must be 16 bytes, got 8");
	body_start(&x);
	proto_enc_reminders_req(&x.w, &(mtgate_wire_reminders_req){-1, 0, 0});
	raw_expect(f->op, MTGATE_OPC_REMINDERS_DUE, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "REMINDERS_DUE at_ms must be 0 (now) or a time");
	/* nothing changed, and the connection goes on */
	assert_int_equal(su_consent(f->op, n, f->vip).state, MTGATE_STATE_NONE);
	assert_int_equal(mtgate_c_ping(f->op), 0);
}

static void test_srv_rules_bad_shortcode_set(void **state)
{
	fx *f = *state;
	static char help[MTGATE_TEXT_MAX + 2];
	body x;

	raw_expect(f->op, MTGATE_OPC_SHORTCODE_SET, body_start(&x), 3,
		   MTGATE_ST_BAD_BODY,
		   "SHORTCODE_SET body must be at least 4 bytes, got 3");
	body_start(&x);
	proto_enc_shortcode_req(&x.w, &(mtgate_wire_shortcode_req){5, 0, 9});
	proto_wr_bytes(&x.w, "84777help", 9);
	raw_expect(f->op, MTGATE_OPC_SHORTCODE_SET, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "SHORTCODE_SET body must be 18 bytes, got 13");
	body_start(&x);
	proto_enc_shortcode_req(&x.w, &(mtgate_wire_shortcode_req){5, 0, 4});
	proto_wr_bytes(&x.w, "84777he\0p", 9);
	raw_expect(f->op, MTGATE_OPC_SHORTCODE_SET, x.b, body_len(&x),
		   MTGATE_ST_BAD_BODY,
		   "SHORTCODE_SET help text must not hold a NUL");
	body_start(&x);
	proto_enc_shortcode_req(&x.w, &(mtgate_wire_shortcode_req){16, 0, 0});
	proto_wr_bytes(&x.w, "1234567890123456", 16);
	raw_expect(f->op, MTGATE_OPC_SHORTCODE_SET, x.b, body_len(&x),
		   su_engine_status(MTGATE_ESHORTCODE), NULL);
	memset(help, 'h', MTGATE_TEXT_MAX + 1);
	assert_int_equal(mtgate_c_shortcode_set(f->op, "84777", help),
			 MTGATE_ETEXT_LONG);
	/* a tenant is refused before its body is looked at */
	raw_expect(f->a, MTGATE_OPC_SHORTCODE_SET, body_start(&x), 3,
		   MTGATE_ST_FORBIDDEN,
		   "this request needs the operator's key");
	/* nothing was set */
	assert_int_equal(
		mtgate_c_mo(f->op, 15558400903ULL, "84777", "HELP", 4, f->mo),
		0);
	assert_int_equal(f->mo->n_replies, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optin_2_mo_keyword_opts_in),
		cmocka_unit_test(
			test_stop_4_scope_question_then_qualified_reply),
		cmocka_unit_test(test_help_3_short_code_help_text),
		cmocka_unit_test(test_doi_1_request_renotify_confirm),
		cmocka_unit_test(test_doi_1_request_by_mo_keyword),
		cmocka_unit_test(test_doi_6_decline_then_cooldown),
		cmocka_unit_test(test_bill_1_only_confirmed_up_to_the_price),
		cmocka_unit_test(test_bill_2_three_failures_a_day),
		cmocka_unit_test(test_doi_9_reminders_due),
		cmocka_unit_test(test_prog_1_program_put_refuses_with_the_rule),
		cmocka_unit_test(test_prog_5_premium_fields_and_the_maximum),
		cmocka_unit_test(test_ten_1_rules_scope),
		cmocka_unit_test(test_srv_rules_bad_mo),
		cmocka_unit_test(test_srv_rules_bad_doi_and_bill),
		cmocka_unit_test(test_srv_rules_bad_shortcode_set),
	};

	return cmocka_run_group_tests_name("srv_rules", tests, setup, teardown);
}
