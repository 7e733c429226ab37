/*
 * Checks the consent rules end to end in the engine (RULES.md OPTIN, STOP,
 * HELP, DOI, BILL): MOs through mtgate_mo change what the gate answers and
 * what a restart brings back, on a real engine over a real RocksDB in a
 * temporary directory, with the clock injected, so 30-minute and 24-hour
 * windows pass without sleeping (mtgate_sweep stands in for the owners'
 * once-a-second sweep). The rule step's word handling is checked on its
 * own in test_mo_rules.c; here it is the state, the replies, the actions,
 * the gate and durability.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtgate/engine.h"
#include "testutil.h"

#define SC  "55123"
#define NUM 15557000001ULL
#define T0  tu_utc(2026, 3, 10, 12, 0, 0)

typedef struct fx {
	char *dir;
	tu_clock clk;
	mtgate_engine *eng;
	mtgate_mo_result r;
} fx;

static void fx_open(fx *f)
{
	mtgate_options o;

	mtgate_options_init(&o);
	o.path = f->dir;
	o.shards = 2;
	o.clock = tu_clock_now;
	o.clock_ctx = &f->clk;
	assert_int_equal(mtgate_engine_open(&o, &f->eng), 0);
}

static void fx_reopen(fx *f)
{
	assert_int_equal(mtgate_engine_close(f->eng), 0);
	fx_open(f);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_tmpdir("rules");
	atomic_init(&f->clk.now_ms, T0);
	fx_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f->eng != NULL)
		mtgate_engine_close(f->eng);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void advance(fx *f, int64_t ms)
{
	atomic_fetch_add(&f->clk.now_ms, ms);
}

/* ---- programs ---------------------------------------------------------------- */

typedef struct prog {
	uint32_t id;
	char kw[16], welcome[160], help[160], quit[160], confirm[160];
} prog;

static uint32_t define(fx *f, prog *p, const char *kw, bool doi, uint32_t price)
{
	mtgate_program_def d = {
		.short_code = SC,
		.keyword = kw,
		.name = kw,
		.kind = MTGATE_KIND_RECURRING,
		.limit = 4,
		.period = MTGATE_PERIOD_MONTH,
		.double_opt_in = doi,
		.welcome_text = p->welcome,
		.help_text = p->help,
		.quit_text = p->quit,
		.confirm_text = p->confirm,
		.price_cents = price,
		.currency = price ? "ZAR" : NULL,
		.interval =
			price ? MTGATE_INTERVAL_MONTHLY : MTGATE_INTERVAL_NONE,
	};

	snprintf(p->kw, sizeof(p->kw), "%s", kw);
	snprintf(p->welcome, sizeof(p->welcome), "welcome %s", kw);
	snprintf(p->help, sizeof(p->help), "help %s", kw);
	snprintf(p->quit, sizeof(p->quit), "quit %s", kw);
	snprintf(p->confirm, sizeof(p->confirm), "confirm %s", kw);
	assert_int_equal(mtgate_program_define(f->eng, &d, &p->id), 0);
	return p->id;
}

static void price(fx *f, const prog *p, uint32_t cents)
{
	mtgate_program_def d;

	assert_int_equal(mtgate_program_get(f->eng, p->id, &d), 0);
	d.price_cents = cents;
	assert_int_equal(mtgate_program_update(f->eng, &d), 0);
}

/* Change one field of p's definition: its owner, or its kind. */
static void set_tenant(fx *f, const prog *p, uint32_t tenant)
{
	mtgate_program_def d;

	assert_int_equal(mtgate_program_get(f->eng, p->id, &d), 0);
	d.tenant = tenant;
	assert_int_equal(mtgate_program_update(f->eng, &d), 0);
}

static void set_one_off(fx *f, const prog *p)
{
	mtgate_program_def d;

	assert_int_equal(mtgate_program_get(f->eng, p->id, &d), 0);
	d.kind = MTGATE_KIND_ONE_OFF;
	d.limit = 0;
	d.period = MTGATE_PERIOD_NONE;
	assert_int_equal(mtgate_program_update(f->eng, &d), 0);
}

/* ---- asking ---------------------------------------------------------------------- */

static void mo_as(fx *f, uint32_t tenant, const char *text)
{
	assert_int_equal(
		mtgate_mo(f->eng, tenant, NUM, SC, text, strlen(text), &f->r),
		0);
}

static void mo(fx *f, const char *text)
{
	mo_as(f, MTGATE_TENANT_ANY, text);
}

static bool replied(const fx *f, const char *text)
{
	for (uint32_t i = 0; i < f->r.n_replies; i++)
		if (strcmp(f->r.reply[i], text) == 0)
			return true;
	return false;
}

static bool acted(const fx *f, mtgate_mo_action_kind k, uint32_t program)
{
	for (uint32_t i = 0; i < f->r.n_actions; i++)
		if (f->r.action[i].kind == k &&
		    f->r.action[i].program == program)
			return true;
	return false;
}

static mtgate_reason gate(fx *f, const prog *p)
{
	mtgate_reason r = MTGATE_REASON_MAX;

	assert_int_equal(mtgate_gate(f->eng, NUM, p->id, MTGATE_MODE_DRY_RUN,
				     mtgate_now(f->eng), &r),
			 0);
	return r;
}

#define EXPECT_GATE(f, p, want)                                                \
	assert_string_equal(mtgate_reason_token(gate(f, p)),                   \
			    mtgate_reason_token(want))

static int change(fx *f, mtgate_op op, const prog *p, mtgate_channel ch)
{
	mtgate_change c = {.op = op,
			   .number = NUM,
			   .program = p->id,
			   .channel = ch,
			   .source = "test"};
	return mtgate_apply(f->eng, &c, NULL);
}

static mtgate_bill_reason bill(fx *f, const prog *p, uint32_t cents)
{
	mtgate_bill_reason r = MTGATE_BILL_REASON_MAX;

	assert_int_equal(mtgate_bill_check(f->eng, NUM, p->id, cents,
					   mtgate_now(f->eng), &r),
			 0);
	return r;
}

static void bill_result(fx *f, const prog *p, bool ok)
{
	mtgate_change c = {.op = MTGATE_OP_BILL_RESULT,
			   .number = NUM,
			   .program = p->id,
			   .bill_ok = ok};
	assert_int_equal(mtgate_apply(f->eng, &c, NULL), 0);
}

/* ---- OPTIN ------------------------------------------------------------------------ */

static void test_optin_1_pos_only_where_allowed(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "SHOP", false, 0);
	assert_int_equal(change(f, MTGATE_OP_OPTIN, &a, MTGATE_CHANNEL_POS),
			 MTGATE_ENOPOS);
	EXPECT_GATE(f, &a, MTGATE_DENY_NO_OPTIN);
	assert_int_equal(change(f, MTGATE_OP_OPTIN, &a, MTGATE_CHANNEL_IVR), 0);
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
}

static void test_optin_2_keyword_mo_opts_in_and_lasts(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "JOES", false, 0);
	mo(f, "joes");
	assert_true(replied(f, a.welcome));
	assert_true(acted(f, MTGATE_ACT_OPTED_IN, a.id));
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
	fx_reopen(f);
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
}

static void test_optin_3_repeat_answers_welcome_again(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "JOES", false, 0);
	mo(f, "JOES");
	mo(f, "Joes");
	assert_true(replied(f, a.welcome));
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
}

/* A repeat keeps the confirmed terms and the billing counts. */
static void test_optin_3_repeat_keeps_confirmed_terms(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "YES");
	bill_result(f, &a, false);
	bill_result(f, &a, false);
	mo(f, "vids");
	assert_true(acted(f, MTGATE_ACT_OPTED_IN, a.id));
	assert_true(replied(f, a.welcome));
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
	bill_result(f, &a, false); /* the third failure today counts */
	assert_int_equal(bill(f, &a, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	fx_reopen(f);
	assert_int_equal(bill(f, &a, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
}

/* A one-off program's keyword is a request each time, even while the
 * number holds one: one MT for each. */
static void test_gate_3_one_off_keyword_each_request_one_mt(void **state)
{
	fx *f = *state;
	mtgate_reason r;
	prog a;

	define(f, &a, "DEAL", false, 0);
	set_one_off(f, &a);
	mo(f, "DEAL");
	mo(f, "deal");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mtgate_gate(f->eng, NUM, a.id,
					     MTGATE_MODE_COUNT,
					     mtgate_now(f->eng), &r),
				 0);
		assert_int_equal(r, MTGATE_ALLOW);
	}
	EXPECT_GATE(f, &a, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
}

static void test_optin_4_start_brings_back_the_last_optout(void **state)
{
	fx *f = *state;
	prog a, b, c;

	define(f, &a, "KWA", false, 0);
	define(f, &b, "KWB", false, 0);
	define(f, &c, "KWC", false, 0);
	mo(f, "KWA");
	mo(f, "KWB");
	mo(f, "KWC");
	mo(f, "KWC STOP"); /* an older opt-out */
	mo(f, "STOP ALL"); /* the latest: KWA and KWB */
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	fx_reopen(f); /* the latest opt-out is durable */
	mo(f, "START");
	assert_true(acted(f, MTGATE_ACT_OPTED_IN, a.id));
	assert_true(acted(f, MTGATE_ACT_OPTED_IN, b.id));
	assert_false(acted(f, MTGATE_ACT_OPTED_IN, c.id));
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
	EXPECT_GATE(f, &b, MTGATE_ALLOW);
	EXPECT_GATE(f, &c, MTGATE_DENY_OPTED_OUT);
}

/* ---- STOP --------------------------------------------------------------------------- */

static void test_stop_3_single_program_quits_with_its_text(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "JOES", false, 0);
	mo(f, "JOES");
	mo(f, "Stop!");
	assert_true(replied(f, a.quit));
	assert_true(acted(f, MTGATE_ACT_OPTED_OUT, a.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
}

static void two_active(fx *f, prog *a, prog *b)
{
	define(f, a, "KWA", false, 0);
	define(f, b, "KWB", false, 0);
	mo(f, "KWA");
	mo(f, "KWB");
}

static void test_stop_4_question_denies_everything(void **state)
{
	fx *f = *state;
	prog a, b;

	two_active(f, &a, &b);
	mo(f, "stop");
	assert_true(acted(f, MTGATE_ACT_SCOPE_QUESTION, 0));
	assert_true(replied(f, "Multiple keywords active. Reply with one of "
			       "KWA STOP, KWB STOP or with STOP ALL to quit "
			       "all."));
	EXPECT_GATE(f, &a, MTGATE_DENY_SCOPE_QUESTION_OPEN);
	EXPECT_GATE(f, &b, MTGATE_DENY_SCOPE_QUESTION_OPEN);
	fx_reopen(f); /* kept durably */
	EXPECT_GATE(f, &a, MTGATE_DENY_SCOPE_QUESTION_OPEN);
}

static void test_stop_4_qualified_reply_ends_one_the_other_resumes(void **state)
{
	fx *f = *state;
	prog a, b;

	two_active(f, &a, &b);
	mo(f, "STOP");
	advance(f, 5 * TU_MINUTE_MS);
	mo(f, "kwb stop");
	assert_true(replied(f, b.quit));
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
}

static void test_stop_4_second_unqualified_quits_all(void **state)
{
	fx *f = *state;
	prog a, b;

	two_active(f, &a, &b);
	mo(f, "STOP");
	mo(f, "end");
	assert_true(acted(f, MTGATE_ACT_OPTED_OUT, a.id));
	assert_true(acted(f, MTGATE_ACT_OPTED_OUT, b.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
}

static void test_stop_4_thirty_minutes_unanswered_quits_all(void **state)
{
	fx *f = *state;
	prog a, b;

	two_active(f, &a, &b);
	mo(f, "STOP");
	advance(f, 29 * TU_MINUTE_MS);
	EXPECT_GATE(f, &a, MTGATE_DENY_SCOPE_QUESTION_OPEN);
	advance(f, TU_MINUTE_MS);
	/* The gate sees it at once, before any sweep. */
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	fx_reopen(f);
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
	mo(f, "START"); /* the timeout's opt-out is the latest one */
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
	EXPECT_GATE(f, &b, MTGATE_ALLOW);
}

/* The question covers what was active when it was asked: a program opted
 * in while it is open is not ended by its timeout, across a restart too. */
static void test_stop_4_timeout_spares_a_later_optin(void **state)
{
	fx *f = *state;
	prog a, b, c;

	two_active(f, &a, &b);
	define(f, &c, "KWC", false, 0);
	mo(f, "STOP");
	mo(f, "KWC");
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
	fx_reopen(f);
	EXPECT_GATE(f, &a, MTGATE_DENY_SCOPE_QUESTION_OPEN);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
	advance(f, 30 * TU_MINUTE_MS);
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
	fx_reopen(f);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
}

/* Two tenants on one short code: a STOP sent to one tenant asks about its
 * programs only, and the timeout ends those only. */
static void test_stop_4_question_is_the_senders_tenants(void **state)
{
	fx *f = *state;
	mtgate_tenant t1 = {.id = 1, .name = "one"},
		      t2 = {.id = 2, .name = "two"};
	prog a, b, c;

	assert_int_equal(mtgate_tenant_put(f->eng, &t1), 0);
	assert_int_equal(mtgate_tenant_put(f->eng, &t2), 0);
	two_active(f, &a, &b);
	define(f, &c, "KWC", false, 0);
	mo(f, "KWC");
	set_tenant(f, &a, 1);
	set_tenant(f, &b, 1);
	set_tenant(f, &c, 2);
	mo_as(f, 1, "STOP");
	assert_true(acted(f, MTGATE_ACT_SCOPE_QUESTION, 0));
	EXPECT_GATE(f, &a, MTGATE_DENY_SCOPE_QUESTION_OPEN);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
	advance(f, 31 * TU_MINUTE_MS);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
	fx_reopen(f);
	EXPECT_GATE(f, &c, MTGATE_ALLOW);
}

static void test_stop_5_stop_all_quits_every_program(void **state)
{
	fx *f = *state;
	prog a, b;

	two_active(f, &a, &b);
	mo(f, "STOPALL");
	assert_true(replied(f, a.quit));
	assert_true(replied(f, b.quit));
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	EXPECT_GATE(f, &b, MTGATE_DENY_OPTED_OUT);
}

static void test_stop_7_mo_optout_survives_restart(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "JOES", false, 0);
	mo(f, "JOES");
	mo(f, "ARRÊT");
	fx_reopen(f);
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
}

/* ---- HELP ----------------------------------------------------------------------------- */

static void test_help_3_generic_text_for_a_stranger(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "JOES", false, 0);
	assert_int_equal(mtgate_shortcode_set_help(f->eng, SC,
						   "Generic help: example.com"),
			 0);
	mo(f, "HELP");
	assert_true(replied(f, "Generic help: example.com"));
	assert_true(acted(f, MTGATE_ACT_HELP, 0));
	EXPECT_GATE(f, &a, MTGATE_DENY_NO_OPTIN); /* HELP opts nobody in */
	mo(f, "JOES");
	mo(f, "help");
	assert_true(replied(f, a.help));
}

/* ---- DOI ------------------------------------------------------------------------------ */

static void test_doi_1_keyword_asks_for_confirmation(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	assert_true(replied(f, a.confirm));
	assert_true(acted(f, MTGATE_ACT_PENDING, a.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_PENDING_CONFIRMATION);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_NOT_CONFIRMED);
}

static void test_doi_2_second_request_refused(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_USSD), 0);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_USSD),
		MTGATE_EDOI_PENDING);
}

static void test_doi_3_one_renotify_none_for_web(void **state)
{
	fx *f = *state;
	prog a, b;

	define(f, &a, "VIDS", true, 500);
	define(f, &b, "TUNES", true, 500);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_MO), 0);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_RENOTIFY, &a, MTGATE_CHANNEL_MO), 0);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_RENOTIFY, &a, MTGATE_CHANNEL_MO),
		MTGATE_ERENOTIFY);
	fx_reopen(f); /* the one re-notify stays used */
	assert_int_equal(
		change(f, MTGATE_OP_DOI_RENOTIFY, &a, MTGATE_CHANNEL_MO),
		MTGATE_ERENOTIFY);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &b, MTGATE_CHANNEL_WEB), 0);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_RENOTIFY, &b, MTGATE_CHANNEL_WEB),
		MTGATE_ERENOTIFY);
}

static void test_doi_4_yes_confirms_and_billing_opens(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "Yes");
	assert_true(acted(f, MTGATE_ACT_CONFIRMED, a.id));
	assert_true(replied(f, a.welcome));
	EXPECT_GATE(f, &a, MTGATE_ALLOW);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
	fx_reopen(f);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
}

static void test_doi_4_bare_yes_with_two_pending_asks(void **state)
{
	fx *f = *state;
	prog a, b;

	define(f, &a, "VIDS", true, 500);
	define(f, &b, "TUNES", true, 300);
	mo(f, "VIDS");
	mo(f, "TUNES");
	mo(f, "YES");
	assert_int_equal(f->r.n_actions, 0);
	assert_int_equal(f->r.n_replies, 1);
	assert_non_null(strstr(f->r.reply[0], "YES VIDS"));
	mo(f, "yes tunes");
	assert_true(acted(f, MTGATE_ACT_CONFIRMED, b.id));
	EXPECT_GATE(f, &b, MTGATE_ALLOW);
	EXPECT_GATE(f, &a, MTGATE_DENY_PENDING_CONFIRMATION);
}

static void test_doi_5_other_reply_fails(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "what is this");
	assert_true(acted(f, MTGATE_ACT_FAILED, a.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_NO_OPTIN);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_NOT_CONFIRMED);
}

static void test_doi_5_no_answer_in_24_hours_fails(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	advance(f, 24 * TU_HOUR_MS - TU_MINUTE_MS);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	EXPECT_GATE(f, &a, MTGATE_DENY_PENDING_CONFIRMATION);
	advance(f, TU_MINUTE_MS);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	EXPECT_GATE(f, &a, MTGATE_DENY_NO_OPTIN);
	mo(f, "YES"); /* too late: nothing is pending */
	assert_false(acted(f, MTGATE_ACT_CONFIRMED, a.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_NO_OPTIN);
}

static void test_doi_6_no_declines_for_24_hours(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "NO");
	assert_true(acted(f, MTGATE_ACT_DECLINED, a.id));
	EXPECT_GATE(f, &a, MTGATE_DENY_OPTED_OUT);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB),
		MTGATE_EDOI_COOLDOWN);
	fx_reopen(f);
	advance(f, 23 * TU_HOUR_MS);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB),
		MTGATE_EDOI_COOLDOWN);
	advance(f, TU_HOUR_MS);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB), 0);
}

static void test_doi_7_price_increase_needs_a_new_doi(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "YES");
	price(f, &a, 800);
	assert_int_equal(bill(f, &a, 800), MTGATE_BILL_PRICE_ABOVE_CONFIRMED);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_PRICE_ABOVE_CONFIRMED);
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB), 0);
	mo(f, "YES");
	assert_int_equal(bill(f, &a, 800), MTGATE_BILL_ALLOW);
}

static void test_doi_8_subscribed_once(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "YES");
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB),
		MTGATE_ESUBSCRIBED);
	mo(f, "VIDS STOP");
	assert_int_equal(
		change(f, MTGATE_OP_DOI_REQUEST, &a, MTGATE_CHANNEL_WEB), 0);
}

static void test_doi_9_reminders_every_30_days(void **state)
{
	fx *f = *state;
	mtgate_reminder rem[4];
	size_t n = 9;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "YES");
	assert_int_equal(
		mtgate_reminders_due(f->eng, T0 + 29 * TU_DAY_MS, rem, 4, &n),
		0);
	assert_int_equal(n, 0);
	assert_int_equal(
		mtgate_reminders_due(f->eng, T0 + 30 * TU_DAY_MS, rem, 4, &n),
		0);
	assert_int_equal(n, 1);
	assert_int_equal(rem[0].number, NUM);
	assert_int_equal(rem[0].program, a.id);
	assert_int_equal(
		mtgate_reminders_due(f->eng, T0 + 60 * TU_DAY_MS, rem, 4, &n),
		0);
	assert_int_equal(n, 1);
}

/* ---- BILL ----------------------------------------------------------------------------- */

static void test_bill_1_confirmed_price_only(void **state)
{
	fx *f = *state;
	prog a, s;

	define(f, &a, "VIDS", true, 500);
	define(f, &s, "FREE", false, 0);
	assert_int_equal(change(f, MTGATE_OP_OPTIN, &s, MTGATE_CHANNEL_WEB), 0);
	assert_int_equal(bill(f, &s, 1), MTGATE_BILL_NOT_CONFIRMED);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_NOT_CONFIRMED);
	mo(f, "VIDS");
	mo(f, "YES");
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
	assert_int_equal(bill(f, &a, 501), MTGATE_BILL_PRICE_ABOVE_CONFIRMED);
}

static void test_bill_2_three_failures_a_day(void **state)
{
	fx *f = *state;
	prog a;

	define(f, &a, "VIDS", true, 500);
	mo(f, "VIDS");
	mo(f, "YES");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
		bill_result(f, &a, false);
	}
	assert_int_equal(bill(f, &a, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	fx_reopen(f);
	assert_int_equal(bill(f, &a, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	advance(f, TU_DAY_MS);
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
}

/* ---- bad input --------------------------------------------------------------------------- */

/* BILL-2's day is the program's: failures at 23:30 local time are
 * forgiven at 00:30 local, though the UTC day is still the same. */
static void test_bill_2_the_day_is_the_programs(void **state)
{
	fx *f = *state;
	mtgate_program_def d;
	prog a;

	define(f, &a, "VIDS", true, 500);
	assert_int_equal(mtgate_program_get(f->eng, a.id, &d), 0);
	d.tz = "+02:00";
	assert_int_equal(mtgate_program_update(f->eng, &d), 0);
	mo(f, "VIDS");
	mo(f, "YES");
	advance(f, 9 * TU_HOUR_MS + 30 * TU_MINUTE_MS); /* 23:30 local */
	for (int i = 0; i < 3; i++)
		bill_result(f, &a, false);
	assert_int_equal(bill(f, &a, 500),
			 MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED);
	advance(f, TU_HOUR_MS); /* 00:30 local, 22:30 UTC */
	assert_int_equal(bill(f, &a, 500), MTGATE_BILL_ALLOW);
}

static void test_rules_mo_bad_input(void **state)
{
	fx *f = *state;
	char big[MTGATE_MO_MAX + 2];
	prog a;

	define(f, &a, "JOES", false, 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(mtgate_mo(f->eng, MTGATE_TENANT_ANY, NUM, SC, big,
				   MTGATE_MO_MAX + 1, &f->r),
			 MTGATE_EMO_LONG);
	assert_int_equal(mtgate_mo(f->eng, MTGATE_TENANT_ANY, NUM, SC,
				   "\xff\xfe", 2, &f->r),
			 MTGATE_EMO_UTF8);
	assert_int_equal(
		mtgate_mo(f->eng, MTGATE_TENANT_ANY, 0, SC, "x", 1, &f->r),
		MTGATE_EINVAL);
	/* a short code with nothing on it: answered, nothing changes */
	assert_int_equal(mtgate_mo(f->eng, MTGATE_TENANT_ANY, NUM, "99999",
				   "STOP", 4, &f->r),
			 0);
	assert_int_equal(f->r.n_actions, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_optin_1_pos_only_where_allowed),
		T(test_optin_2_keyword_mo_opts_in_and_lasts),
		T(test_optin_3_repeat_answers_welcome_again),
		T(test_optin_3_repeat_keeps_confirmed_terms),
		T(test_gate_3_one_off_keyword_each_request_one_mt),
		T(test_optin_4_start_brings_back_the_last_optout),
		T(test_stop_3_single_program_quits_with_its_text),
		T(test_stop_4_question_denies_everything),
		T(test_stop_4_qualified_reply_ends_one_the_other_resumes),
		T(test_stop_4_second_unqualified_quits_all),
		T(test_stop_4_thirty_minutes_unanswered_quits_all),
		T(test_stop_4_timeout_spares_a_later_optin),
		T(test_stop_4_question_is_the_senders_tenants),
		T(test_stop_5_stop_all_quits_every_program),
		T(test_stop_7_mo_optout_survives_restart),
		T(test_help_3_generic_text_for_a_stranger),
		T(test_doi_1_keyword_asks_for_confirmation),
		T(test_doi_2_second_request_refused),
		T(test_doi_3_one_renotify_none_for_web),
		T(test_doi_4_yes_confirms_and_billing_opens),
		T(test_doi_4_bare_yes_with_two_pending_asks),
		T(test_doi_5_other_reply_fails),
		T(test_doi_5_no_answer_in_24_hours_fails),
		T(test_doi_6_no_declines_for_24_hours),
		T(test_doi_7_price_increase_needs_a_new_doi),
		T(test_doi_8_subscribed_once),
		T(test_doi_9_reminders_every_30_days),
		T(test_bill_1_confirmed_price_only),
		T(test_bill_2_three_failures_a_day),
		T(test_bill_2_the_day_is_the_programs),
		T(test_rules_mo_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
