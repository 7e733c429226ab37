/*
 * Checks rules_check_program and rules_word_reserved (engine/rules/
 * progcheck.c), the PROG rules of RULES.md: for each of PROG-1..6 the
 * forms that pass (the TextPower seed texts, the accepted spelling
 * variants) and the ones that fail, each with its exact reason; that the
 * rules are applied in the order PROG-4, 5, 1, 2, 3, 6 and the first
 * failure is the one reported; and that no input crashes or overruns:
 * NULL definitions and fields, out-of-range enums and numbers, invalid
 * UTF-8, texts over MTGATE_TEXT_MAX, a reason buffer too small.
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
#include "rules/rules.h"

/* ---- fixtures ------------------------------------------------------------ */

/* The TextPower example (seed 001), with a plain apostrophe: a curly one
 * makes every text UCS-2 and too long (test_prog_6_seed_curly_apostrophe). */
#define JOE_NAME "Joe's Discount Club"
#define JOE_WELCOME                                                            \
	"Thank you for joining Joe's Discount Club. Msg&Data rates may "       \
	"apply. Max 4 msgs/mo. For more, go to joesclub.com. STOP2Quit, "      \
	"HELP4More"
#define JOE_HELP                                                               \
	"Joe's Discount Club: Max 4 msgs/mo. Help at joesclub.com or "         \
	"1-800-555-1234. STOP2Quit"
#define JOE_QUIT                                                               \
	"This message confirms that you have quit Joe's Discount Club. No "    \
	"more messages will be sent. HELP4More"

static mtgate_program_def joe(void)
{
	mtgate_program_def d = {
		.short_code = "12345",
		.keyword = "JOE",
		.name = JOE_NAME,
		.kind = MTGATE_KIND_RECURRING,
		.limit = 4,
		.period = MTGATE_PERIOD_MONTH,
		.welcome_text = JOE_WELCOME,
		.help_text = JOE_HELP,
		.quit_text = JOE_QUIT,
	};
	return d;
}

/* A billed double opt-in program (seed 003): R5.00 a day. */
static mtgate_program_def jokes(void)
{
	mtgate_program_def d = {
		.short_code = "31234",
		.keyword = "JOKES",
		.name = "Jokes Club",
		.kind = MTGATE_KIND_RECURRING,
		.limit = 1,
		.period = MTGATE_PERIOD_DAY,
		.double_opt_in = true,
		.welcome_text = "Welcome to Jokes Club. Msg&Data rates may "
				"apply. Max 1 msg/day. Reply STOP to quit, "
				"HELP for help.",
		.help_text = "Jokes Club: Max 1 msg/day at R5.00/day. Help: "
			     "dailyjokes.co.za. Reply STOP to quit.",
		.quit_text = "You have unsubscribed from Jokes Club. No more "
			     "messages will be sent.",
		.confirm_text = "Jokes Club costs R5.00 per day. Reply YES to "
				"subscribe or NO to decline.",
		.price_cents = 500,
		.currency = "ZAR",
		.interval = MTGATE_INTERVAL_DAILY,
	};
	return d;
}

/* A one-off program: rates and HELP in the welcome, no frequency. */
static mtgate_program_def coupon(void)
{
	mtgate_program_def d = joe();

	d.keyword = "COUPON";
	d.kind = MTGATE_KIND_ONE_OFF;
	d.limit = 0;
	d.period = MTGATE_PERIOD_NONE;
	d.welcome_text = "Your Joe's Discount Club coupon: 2 off. Msg&Data "
			 "rates may apply. HELP4More";
	d.help_text = "Joe's Discount Club coupons. Help at joesclub.com";
	return d;
}

/* rc and reason of def against max; want NULL means it passes. */
static void check(const mtgate_program_def *d, uint32_t max, const char *want)
{
	char why[256];
	int rc;

	memset(why, 'x', sizeof why);
	rc = rules_check_program(d, max, why, sizeof why);
	if (want == NULL) {
		assert_string_equal(why, "");
		assert_int_equal(rc, 0);
	} else {
		assert_string_equal(why, want);
		assert_int_equal(rc, MTGATE_EPROGRAM_RULE);
	}
}

#define expect_ok(d)        check((d), 0, NULL)
#define expect_why(d, want) check((d), 0, (want))

/* n copies of unit into buf (cap bytes), NUL-terminated. */
static const char *repeat(char *buf, size_t cap, const char *unit, size_t n)
{
	size_t u = strlen(unit);

	assert_true(n * u < cap);
	for (size_t k = 0; k < n; k++)
		memcpy(buf + k * u, unit, u);
	buf[n * u] = '\0';
	return buf;
}

static void welcome_is(const char *text, const char *want)
{
	mtgate_program_def d = joe();

	d.welcome_text = text;
	expect_why(&d, want);
}

#define JOE_LACKS_FREQ "PROG-1: welcome text lacks \"Max 4 msgs/mo\""

/* ---- PROG-1: welcome ----------------------------------------------------- */

static void test_prog_1_seed_programs_pass(void **state)
{
	mtgate_program_def d = joe(), p = jokes(), c = coupon();

	(void)state;
	expect_ok(&d);
	expect_ok(&p);
	expect_ok(&c);
}

static void test_prog_1_rates_phrase_variants(void **state)
{
	static const char *const ok[] = {
		"Msg&Data rates may apply. Max 4 msgs/mo. STOP2Quit, HELP",
		"Msg & Data rates may apply. Max 4 msgs/mo. STOP2Quit HELP",
		"msg&data rates may apply. Max 4 msgs/mo. STOP2Quit HELP",
		"MSG&DATA RATES MAY APPLY. Max 4 msgs/mo. STOP2Quit HELP",
		"Msg and Data rates may apply. Max 4 msgs/mo. STOP HELP",
		"Message and data rates may apply. Max 4 msgs/mo. STOP HELP",
		"Std Msg &Data rates  may\napply. Max 4 msgs/mo. STOP HELP",
	};
	static const char *const bad[] = {
		"Msg rates may apply. Max 4 msgs/mo. STOP2Quit, HELP4More",
		"Data rates may apply. Max 4 msgs/mo. STOP2Quit, HELP4More",
		"Msg&Data rates apply. Max 4 msgs/mo. STOP2Quit, HELP4More",
		"Msg&Datarates may apply. Max 4 msgs/mo. STOP2Quit, HELP",
		"Max 4 msgs/mo. STOP2Quit, HELP4More",
	};
	const char *lacks = "PROG-1: welcome text lacks \"Msg&Data rates may "
			    "apply\"";

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
		welcome_is(ok[k], NULL);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		welcome_is(bad[k], lacks);
	welcome_is(NULL, lacks);
	welcome_is("", lacks);
}

static void test_prog_1_frequency_variants(void **state)
{
	static const char *const ok[] = {
		"Msg&Data rates may apply. Max 4 msgs/mo. STOP HELP",
		"Msg&Data rates may apply. max 4 msgs/month STOP HELP",
		"Msg&Data rates may apply. MAX 4 MSGS / MON. STOP HELP",
		"Msg&Data rates may apply. Max 4 msg/mo STOP HELP",
		"Msg&Data rates may apply. Max4msgs/mo STOP HELP",
		"Msg&Data rates may apply. Max 4 messages per month STOP HELP",
	};
	static const char *const bad[] = {
		"Msg&Data rates may apply. Max 5 msgs/mo. STOP HELP",
		"Msg&Data rates may apply. Max 40 msgs/mo. STOP HELP",
		"Msg&Data rates may apply. Max 14 msgs/mo. STOP HELP",
		"Msg&Data rates may apply. Max 4 msgs/wk. STOP HELP",
		"Msg&Data rates may apply. Max 4 msgs/moon. STOP HELP",
		"Msg&Data rates may apply. 4 msgs/mo. STOP HELP",
		"Msg&Data rates may apply. Max 4/mo. STOP HELP",
	};

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
		welcome_is(ok[k], NULL);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		welcome_is(bad[k], JOE_LACKS_FREQ);
}

static void test_prog_1_frequency_per_period(void **state)
{
	static const char *const day_forms[] = {"day", "dy", "d"};
	mtgate_program_def d = joe();

	(void)state;
	d.help_text = "Help at joesclub.com. Max 2 msgs/wk";
	d.limit = 2;
	d.period = MTGATE_PERIOD_WEEK;
	d.welcome_text = "Msg&Data rates may apply. Max 2 msgs/wk STOP HELP";
	expect_ok(&d);
	d.welcome_text = "Msg&Data rates may apply. Max 2 msgs/week STOP HELP";
	expect_ok(&d);
	d.welcome_text = "Msg&Data rates may apply. Max 2 msgs/mo STOP HELP";
	expect_why(&d, "PROG-1: welcome text lacks \"Max 2 msgs/wk\"");

	d.limit = 1;
	d.period = MTGATE_PERIOD_DAY;
	d.help_text = "Help at joesclub.com. Max 1 msg/d";
	for (size_t k = 0; k < sizeof day_forms / sizeof day_forms[0]; k++) {
		char w[128];

		snprintf(w, sizeof w,
			 "Msg&Data rates may apply. Max 1 msg/%s STOP HELP",
			 day_forms[k]);
		d.welcome_text = w;
		expect_ok(&d);
	}
	d.welcome_text = "Msg&Data rates may apply. Max 1 msg/wk STOP HELP";
	expect_why(&d, "PROG-1: welcome text lacks \"Max 1 msg/day\"");
}

static void test_prog_1_stop_and_help(void **state)
{
	(void)state;
	/* Substrings, as the seed writes them. */
	welcome_is("Msg&Data rates may apply. Max 4 msgs/mo. STOP2Quit, "
		   "HELP4More",
		   NULL);
	welcome_is("Msg&Data rates may apply. Max 4 msgs/mo. Reply stop to "
		   "end, help for help",
		   NULL);
	welcome_is("Msg&Data rates may apply. Max 4 msgs/mo. HELP4More",
		   "PROG-1: welcome text lacks a STOP instruction");
	welcome_is("Msg&Data rates may apply. Max 4 msgs/mo. STOP2Quit",
		   "PROG-1: welcome text lacks a HELP instruction");
}

static void test_prog_1_one_off_needs_rates_and_help(void **state)
{
	mtgate_program_def d = coupon();

	(void)state;
	d.welcome_text = "Msg&Data rates may apply. HELP4More";
	expect_ok(&d);
	d.welcome_text = "Msg&Data rates may apply.";
	expect_why(&d, "PROG-1: welcome text lacks a HELP instruction");
	d.welcome_text = "Your coupon. HELP4More";
	expect_why(&d, "PROG-1: welcome text lacks \"Msg&Data rates may "
		       "apply\"");
}

/* ---- PROG-2: help -------------------------------------------------------- */

static void help_is(const mtgate_program_def *base, const char *text,
		    const char *want)
{
	mtgate_program_def d = *base;

	d.help_text = text;
	expect_why(&d, want);
}

static void test_prog_2_tollfree_forms(void **state)
{
	static const char *const ok[] = {
		"1-800-555-1234",   "800-555-1234",     "(800) 555-1234",
		"800.555.1234",     "18005551234",      "+1 800 555 1234",
		"1-833-555-1234",   "1-844-555-1234",   "1-855-555-1234",
		"1-866-555-1234",   "1-877-555-1234",   "1-888-555-1234",
		"call 8005551234.", "1 (888) 555-1234",
	};
	static const char *const bad[] = {
		"1-900-555-1234", "1-811-555-1234",   "1-899-555-1234",
		"800-555-123",    "1-800-555-12345",  "21800-555-1234",
		"800--555-1234",  "no number at all",
	};
	mtgate_program_def c = coupon();
	char text[128];

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		snprintf(text, sizeof text, "Coupons: %s", ok[k]);
		help_is(&c, text, NULL);
	}
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		snprintf(text, sizeof text, "Coupons: %s", bad[k]);
		help_is(&c, text,
			"PROG-2: help text lacks a toll-free number or a web "
			"address");
	}
}

static void test_prog_2_web_address_forms(void **state)
{
	static const char *const ok[] = {
		"see http://joes",        "see https://x",
		"see www.joes",           "see joesclub.com",
		"example.co.za",          "JOESCLUB.COM",
		"see joes-club.net/help", "mail help@joesclub.com",
	};
	static const char *const bad[] = {
		"Coupons apply.Max savings",
		"e.g. this",
		"R5.00 each",
		"v1.2 coupons",
		"joesclub .com",
		"joesclub.c",
		"HELP4More.Msg&Data",
		"",
	};
	mtgate_program_def c = coupon();

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
		help_is(&c, ok[k], NULL);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		help_is(&c, bad[k],
			"PROG-2: help text lacks a toll-free number or a web "
			"address");
	help_is(&c, NULL,
		"PROG-2: help text lacks a toll-free number or a web address");
}

static void test_prog_2_recurring_needs_frequency(void **state)
{
	mtgate_program_def d = joe(), c = coupon();

	(void)state;
	help_is(&d, "Help at joesclub.com or 1-800-555-1234",
		"PROG-2: help text lacks \"Max 4 msgs/mo\"");
	help_is(&d, "Help at 1-800-555-1234. Max 4 msgs/month", NULL);
	help_is(&d, "Help at joesclub.com. Max 5 msgs/mo",
		"PROG-2: help text lacks \"Max 4 msgs/mo\"");
	/* One-off programs state no frequency. */
	help_is(&c, "Help at joesclub.com or 1-800-555-1234", NULL);
}

/* ---- PROG-3: quit -------------------------------------------------------- */

static void quit_is(const char *text, const char *want)
{
	mtgate_program_def d = joe();

	d.quit_text = text;
	expect_why(&d, want);
}

#define JOE_NOT_NAMED                                                          \
	"PROG-3: quit text does not name the program \"Joe's Discount Club\""
#define JOE_NOT_CONFIRMED "PROG-3: quit text does not confirm the quit"

static void test_prog_3_names_the_program_folded(void **state)
{
	(void)state;
	/* Curly apostrophe (U+2019), as in the seed. */
	quit_is("You have quit Joe\u2019s Discount Club. HELP4More", NULL);
	quit_is("You have quit JOE'S DISCOUNT CLUB.", NULL);
	quit_is("You have quit Joes  Discount\nClub.", NULL);
	quit_is("You have quit J\u00f6e's Disc\u00f3unt Club!", NULL);
	quit_is("Joe's Discount Club: you have quit.", NULL);
	quit_is("You have quit Joe's Discount.", JOE_NOT_NAMED);
	quit_is("You have quit Joe's Discount Clubhouse.", JOE_NOT_NAMED);
	quit_is("You have quit Joe's-Discount-Club.", JOE_NOT_NAMED);
	quit_is("You have quit.", JOE_NOT_NAMED);
	quit_is("", JOE_NOT_NAMED);
	quit_is(NULL, JOE_NOT_NAMED);
}

static void test_prog_3_name_is_whole_words(void **state)
{
	mtgate_program_def d = joe();

	(void)state;
	d.name = "Art";
	d.quit_text = "You will not start again: quit.";
	expect_why(&d, "PROG-3: quit text does not name the program \"Art\"");
	d.quit_text = "You have quit ART.";
	expect_ok(&d);
	/* A name that folds to nothing is never named. */
	d.name = "!!!";
	d.quit_text = "You have quit !!!";
	expect_why(&d, "PROG-3: quit text does not name the program \"!!!\"");
	d.name = NULL;
	expect_why(&d, "PROG-3: quit text does not name the program \"\"");
}

static void test_prog_3_confirms_the_quit(void **state)
{
	static const char *const ok[] = {
		"quit",       "unsubscribed",     "opted out",    "opted-out",
		"stopped",    "cancelled",        "canceled",     "QUIT",
		"Opted  Out", "no more messages", "No more msgs",
	};
	char text[128];

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		snprintf(text, sizeof text, "Joe's Discount Club: %s.", ok[k]);
		quit_is(text, NULL);
	}
	quit_is("Joe's Discount Club: see you soon.", JOE_NOT_CONFIRMED);
	/* "STOP2Quit" is an instruction, not a confirmation. */
	quit_is("Joe's Discount Club. STOP2Quit", JOE_NOT_CONFIRMED);
	quit_is("Joe's Discount Club: quitting is easy", JOE_NOT_CONFIRMED);
}

/* ---- PROG-4: keywords ---------------------------------------------------- */

static void test_prog_4_reserved_words(void **state)
{
	static const char *const reserved[] = {
		"stop",   "end",     "quit",      "cancel", "unsubscribe",
		"revoke", "optout",  "arret",     "fin",    "stopall",
		"endall", "quitall", "cancelall", "all",    "help",
		"info",   "aide",    "yes",       "no",     "start",
		"unstop",
	};
	static const char *const free_to_use[] = {
		"stops",  "stopp", "opt", "out", "join", "joe",
		"helpme", "yess",  "",    "st",  "alll",
	};

	(void)state;
	for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
		assert_true(rules_word_reserved(reserved[k]));
	for (size_t k = 0; k < sizeof free_to_use / sizeof free_to_use[0]; k++)
		assert_false(rules_word_reserved(free_to_use[k]));
	assert_false(rules_word_reserved(NULL));
	assert_false(
		rules_word_reserved("stopstopstopstopstopstopstopstopstop"));
}

static void keyword_is(const char *kw, const char *want)
{
	mtgate_program_def d = joe();

	d.keyword = kw;
	expect_why(&d, want);
}

static void test_prog_4_keyword_checked_any_case(void **state)
{
	static const char *const kws[] = {
		"STOP",      "Stop",        "stop",   "END",    "QUIT",
		"CANCEL",    "UNSUBSCRIBE", "REVOKE", "OPTOUT", "ARRET",
		"FIN",       "STOPALL",     "ALL",    "HELP",   "INFO",
		"AIDE",      "YES",         "NO",     "START",  "UNSTOP",
		"CANCELALL",
	};
	char want[128];

	(void)state;
	for (size_t k = 0; k < sizeof kws / sizeof kws[0]; k++) {
		snprintf(want, sizeof want,
			 "PROG-4: keyword \"%s\" is a reserved word", kws[k]);
		keyword_is(kws[k], want);
	}
	/* Folded as an MO word would be. */
	keyword_is("ARR\u00caT",
		   "PROG-4: keyword \"ARR\u00caT\" is a reserved word");
	keyword_is("OPT-OUT", "PROG-4: keyword \"OPT-OUT\" is a reserved word");
	keyword_is("JOIN", NULL);
	keyword_is("STOPS", NULL);
	keyword_is("JOESTOP", NULL);
	keyword_is(NULL, NULL);
	keyword_is("", NULL);
}

static void test_prog_4_checked_first(void **state)
{
	mtgate_program_def d = {.keyword = "STOP", .price_cents = 99999};

	(void)state;
	expect_why(&d, "PROG-4: keyword \"STOP\" is a reserved word");
}

/* ---- PROG-5: billed programs --------------------------------------------- */

static void confirm_is(const mtgate_program_def *base, const char *text,
		       const char *want)
{
	mtgate_program_def d = *base;

	d.confirm_text = text;
	expect_why(&d, want);
}

static void test_prog_5_charge_interval(void **state)
{
	mtgate_program_def d = jokes();
	const char *need = "PROG-5: a billed program needs a charge interval "
			   "(once, daily, weekly or monthly)";

	(void)state;
	d.interval = MTGATE_INTERVAL_NONE;
	expect_why(&d, need);
	d.interval = MTGATE_INTERVAL_MAX;
	expect_why(&d, need);
	d.interval = (mtgate_interval)99;
	expect_why(&d, need);
	d.interval = (mtgate_interval)-1;
	expect_why(&d, need);
}

static void test_prog_5_price_at_most_operator_maximum(void **state)
{
	mtgate_program_def d = jokes();

	(void)state;
	d.price_cents = 6000;
	d.confirm_text = "Jokes Club costs R60 per day.";
	check(&d, 0,
	      "PROG-5: price 6000 cents is over the operator maximum "
	      "of 5000");
	check(&d, 5999,
	      "PROG-5: price 6000 cents is over the operator maximum of 5999");
	check(&d, 6000, NULL);
	d.price_cents = 5000;
	d.confirm_text = "Jokes Club costs R50 per day.";
	check(&d, 0, NULL);
	d.price_cents = UINT32_MAX;
	d.confirm_text = "Jokes Club costs R42949672.95 per day.";
	check(&d, 0,
	      "PROG-5: price 4294967295 cents is over the operator "
	      "maximum of 5000");
	check(&d, UINT32_MAX, NULL);
}

static void test_prog_5_currency(void **state)
{
	static const char *const bad[] = {NULL, "", "ZA", "ZARR", "Z1R", "R$ "};
	mtgate_program_def d = jokes();

	(void)state;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		d.currency = bad[k];
		expect_why(&d, "PROG-5: currency must be a 3-letter code");
	}
	d.currency = "zar";
	expect_ok(&d);
	d.currency = "USD";
	expect_ok(&d);
}

static void test_prog_5_service_text_names_service(void **state)
{
	mtgate_program_def d = jokes();
	const char *want = "PROG-5: service text does not name the service "
			   "\"Jokes Club\"";

	(void)state;
	confirm_is(&d, "JOKES CLUB: R5.00 per day. Reply YES.", NULL);
	confirm_is(&d, "Jokes cost R5.00 per day. Reply YES.", want);
	confirm_is(&d, "", want);
	confirm_is(&d, NULL, want);
}

static void test_prog_5_service_text_states_price(void **state)
{
	static const char *const ok[] = {
		"R5",    "R 5.00", "ZAR 5", "$5",     "5.00",
		"R5,00", "R5.",    "(R5)",  "5 rand",
	};
	static const char *const bad[] = {
		"R50",   "R15",   "R0.5", "R5.0", "R5.001",
		"R5.50", "R500c", "R 55", "R1.5", "five rand",
	};
	mtgate_program_def d = jokes();
	char text[128];

	(void)state;
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		snprintf(text, sizeof text, "Jokes Club: %s per day.", ok[k]);
		confirm_is(&d, text, NULL);
	}
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		snprintf(text, sizeof text, "Jokes Club: %s per day.", bad[k]);
		confirm_is(&d, text,
			   "PROG-5: service text does not state the price "
			   "5.00");
	}
	d.price_cents = 550;
	confirm_is(&d, "Jokes Club: R5.50 per day.", NULL);
	confirm_is(&d, "Jokes Club: R5,50 per day.", NULL);
	confirm_is(&d, "Jokes Club: R5 per day.",
		   "PROG-5: service text does not state the price 5.50");
	d.price_cents = 7;
	confirm_is(&d, "Jokes Club: R0.07 per day.", NULL);
	confirm_is(&d, "Jokes Club: 7c per day.",
		   "PROG-5: service text does not state the price 0.07");
}

static void test_prog_5_service_text_states_frequency(void **state)
{
	static const struct {
		mtgate_interval iv;
		const char *ok[8];
		const char *name;
	} cases[] = {
		{MTGATE_INTERVAL_ONCE,
		 {"once", "once-off", "one-off", "per request", "one time"},
		 "once"},
		{MTGATE_INTERVAL_DAILY,
		 {"daily", "per day", "/day", "a day", "every day"},
		 "daily"},
		{MTGATE_INTERVAL_WEEKLY,
		 {"weekly", "per week", "/week", "/ wk", "a week"},
		 "weekly"},
		{MTGATE_INTERVAL_MONTHLY,
		 {"monthly", "per month", "/month", "/mo", "a month"},
		 "monthly"},
	};
	char text[128], want[128];

	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		mtgate_program_def d = jokes();

		d.interval = cases[c].iv;
		for (size_t k = 0; cases[c].ok[k]; k++) {
			snprintf(text, sizeof text, "Jokes Club: R5 %s.",
				 cases[c].ok[k]);
			confirm_is(&d, text, NULL);
		}
		snprintf(want, sizeof want,
			 "PROG-5: service text does not state the charge "
			 "frequency (%s)",
			 cases[c].name);
		confirm_is(&d, "Jokes Club: R5. Reply YES.", want);
	}
}

static void test_prog_5_no_free_variant(void **state)
{
	static const struct {
		const char *text, *word;
	} cases[] = {
		{"FREE first day!", "free"},
		{"free-of-charge trial", "free"},
		{"Get freebies", "freebies"},
		{"A freebie", "freebie"},
		{"Mahala!", "mahala"},
		{"Gratis trial", "gratis"},
		{"Complimentary first joke", "complimentary"},
		{"First joke at no  charge", "no charge"},
		{"No-cost trial", "no cost"},
		{"Jokes for nothing", "for nothing"},
		{"\uff26\uff32\uff25\uff25 trial", "free"}, /* fullwidth */
	};
	mtgate_program_def d = jokes();
	char text[160], want[128];

	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		snprintf(text, sizeof text, "Jokes Club: R5 per day. %s",
			 cases[k].text);
		snprintf(want, sizeof want,
			 "PROG-5: service text contains \"%s\"", cases[k].word);
		confirm_is(&d, text, want);
	}
	confirm_is(&d, "Jokes Club: R5 per day. Carefree fun.", NULL);
	d.name = "Free Jokes";
	confirm_is(&d, "Free Jokes: R5 per day.",
		   "PROG-5: service text contains \"free\"");
}

static void test_prog_5_no_url(void **state)
{
	mtgate_program_def d = jokes();
	const char *want = "PROG-5: service text contains a URL";

	(void)state;
	confirm_is(&d, "Jokes Club: R5 per day. See jokes.co.za", want);
	confirm_is(&d, "Jokes Club: R5 per day. www.jokes", want);
	confirm_is(&d, "Jokes Club: R5 per day. https://j", want);
	/* A sentence after a full stop is not a domain. */
	confirm_is(&d, "Jokes Club: R5 per day.Reply YES", NULL);
	d.name = "jokes.com";
	confirm_is(&d, "jokes.com: R5 per day.", want);
}

static void test_prog_5_no_profanity(void **state)
{
	mtgate_program_def d = jokes();
	const char *want = "PROG-5: service text contains profanity";

	(void)state;
	confirm_is(&d, "Jokes Club: R5 per day. Shit jokes.", want);
	confirm_is(&d, "Jokes Club: R5 per day. F*CK-ing fun? no: fucking",
		   want);
	/* Whole words only. */
	confirm_is(&d, "Jokes Club: R5 per day. From Scunthorpe.", NULL);
	confirm_is(&d, "Jokes Club: R5 per day. Dick's jokes.", NULL);
	d.name = "Bastard Jokes";
	confirm_is(&d, "Bastard Jokes: R5 per day.", want);
}

static void test_prog_5_standard_rate_has_no_billing(void **state)
{
	mtgate_program_def d = joe();
	const char *want = "PROG-5: a standard-rate program has no charge "
			   "interval or currency";

	(void)state;
	d.interval = MTGATE_INTERVAL_DAILY;
	expect_why(&d, want);
	d.interval = MTGATE_INTERVAL_NONE;
	d.currency = "ZAR";
	expect_why(&d, want);
	d.currency = "";
	expect_ok(&d);
	/* Standard rate: "free" and URLs are fine in the confirm text. */
	d.double_opt_in = true;
	d.confirm_text = "Reply YES for free Joe's Discount Club deals.";
	expect_ok(&d);
}

static void test_prog_5_before_prog_1(void **state)
{
	mtgate_program_def d = jokes();

	(void)state;
	d.welcome_text = NULL;
	d.price_cents = 9999;
	expect_why(&d, "PROG-5: price 9999 cents is over the operator maximum "
		       "of 5000");
}

/* ---- PROG-6: one SMS each ------------------------------------------------ */

static void test_prog_6_gsm7_limit(void **state)
{
	mtgate_program_def d = joe();
	char buf[1100], pad[200], help[400];

	(void)state;
	d.confirm_text = repeat(buf, sizeof buf, "a", 160);
	expect_ok(&d);
	d.confirm_text = repeat(buf, sizeof buf, "a", 161);
	expect_why(&d,
		   "PROG-6: confirm text is 161 GSM-7 characters, over 160");
	/* GSM-7 letters outside ASCII count one. */
	d.confirm_text =
		repeat(buf, sizeof buf, "\u00e9\u00f1\u0394\u00a3", 40);
	expect_ok(&d);
	d.confirm_text =
		repeat(buf, sizeof buf, "\u00e9\u00f1\u0394\u00a3\u00df", 33);
	expect_why(&d,
		   "PROG-6: confirm text is 165 GSM-7 characters, over 160");
	/* The help text, padded to 171. */
	snprintf(help, sizeof help, "%s %s", JOE_HELP,
		 repeat(pad, sizeof pad, "x", 171 - strlen(JOE_HELP) - 1));
	d.confirm_text = NULL;
	d.help_text = help;
	expect_why(&d, "PROG-6: help text is 171 GSM-7 characters, over 160");
}

static void test_prog_6_gsm7_extension_counts_two(void **state)
{
	mtgate_program_def d = joe();
	char buf[1100];

	(void)state;
	d.confirm_text = repeat(buf, sizeof buf, "{", 80);
	expect_ok(&d);
	d.confirm_text = repeat(buf, sizeof buf, "^{}\\[~]|\u20ac", 9);
	expect_why(&d,
		   "PROG-6: confirm text is 162 GSM-7 characters, over 160");
	d.confirm_text = repeat(buf, sizeof buf, "\u20ac", 81);
	expect_why(&d,
		   "PROG-6: confirm text is 162 GSM-7 characters, over 160");
}

static void test_prog_6_ucs2_limit(void **state)
{
	mtgate_program_def d = joe();
	char buf[1100];

	(void)state;
	d.confirm_text = repeat(buf, sizeof buf, "\u2019", 70);
	expect_ok(&d);
	/* One character outside GSM-7 makes the whole text UCS-2. */
	snprintf(buf, sizeof buf, "%s", "Reply YES \u2019");
	d.confirm_text = buf;
	expect_ok(&d);
	d.confirm_text = repeat(buf, sizeof buf, "a\u00e7", 36); /* c cedilla */
	expect_why(&d, "PROG-6: confirm text is 72 UCS-2 characters, over 70");
	/* A tab is not GSM-7 either. */
	d.confirm_text = repeat(buf, sizeof buf, "abcde\t", 12);
	expect_why(&d, "PROG-6: confirm text is 72 UCS-2 characters, over 70");
	/* Outside the BMP: two UTF-16 units each. */
	d.confirm_text = repeat(buf, sizeof buf, "\U0001F600", 35);
	expect_ok(&d);
	d.confirm_text = repeat(buf, sizeof buf, "\U0001F600", 36);
	expect_why(&d, "PROG-6: confirm text is 72 UCS-2 characters, over 70");
}

static void test_prog_6_seed_curly_apostrophe(void **state)
{
	mtgate_program_def d = joe();

	(void)state;
	/* The seed's texts with "Joe’s" keep PROG-1..3 but are UCS-2. */
	d.welcome_text = "Thank you for joining Joe\u2019s Discount Club. "
			 "Msg&Data rates may apply. Max 4 msgs/mo. For more, "
			 "go to joesclub.com. STOP2Quit, HELP4More";
	expect_why(&d, "PROG-6: welcome text is 134 UCS-2 characters, over 70");
	d = joe();
	d.quit_text = "This message confirms that you have quit Joe\u2019s "
		      "Discount Club. No more messages will be sent. "
		      "HELP4More";
	expect_why(&d, "PROG-6: quit text is 102 UCS-2 characters, over 70");
}

static void test_prog_6_invalid_utf8_and_oversize(void **state)
{
	static const char *const bad[] = {
		"\xff",         "abc\xe2\x80",      "\xc0\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "ok \x80 no",
		"\xe2\x28\xa1",
	};
	mtgate_program_def d = joe();
	char buf[1100];

	(void)state;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		d.confirm_text = bad[k];
		expect_why(&d, "PROG-6: confirm text is not valid UTF-8");
	}
	d.confirm_text = repeat(buf, sizeof buf, "a", MTGATE_TEXT_MAX);
	expect_why(&d,
		   "PROG-6: confirm text is 1024 GSM-7 characters, over 160");
	d.confirm_text = repeat(buf, sizeof buf, "a", MTGATE_TEXT_MAX + 1);
	expect_why(&d, "PROG-6: confirm text is over 1024 bytes");
}

static void test_prog_6_order_and_last(void **state)
{
	mtgate_program_def d = joe();
	char confirm[256], pad[256], quit[512];

	(void)state;
	/* Texts in order welcome, help, quit, confirm. */
	d.confirm_text = repeat(confirm, sizeof confirm, "a", 200);
	snprintf(quit, sizeof quit, "%s %s", JOE_QUIT,
		 repeat(pad, sizeof pad, "b", 200 - strlen(JOE_QUIT) - 1));
	d.quit_text = quit;
	expect_why(&d, "PROG-6: quit text is 200 GSM-7 characters, over 160");
	/* PROG-6 comes after every content rule. */
	d.quit_text = "long but unconfirmed";
	expect_why(&d, JOE_NOT_NAMED);
}

/* ---- whatever comes in --------------------------------------------------- */

static void test_prog_edge_null_def_and_fields(void **state)
{
	mtgate_program_def d = {0};
	char why[64] = "untouched";

	(void)state;
	assert_int_equal(rules_check_program(NULL, 0, why, sizeof why),
			 MTGATE_EINVAL);
	assert_string_equal(why, "");
	/* Every pointer NULL, every number 0, the kind unset. */
	expect_why(&d, "PROG-1: welcome text lacks \"Msg&Data rates may "
		       "apply\"");
	d.kind = MTGATE_KIND_RECURRING;
	d.welcome_text = "Msg&Data rates may apply";
	expect_why(&d, "PROG-1: welcome text lacks \"Max 0 msgs/?\"");
	/* No reason buffer: only the code. */
	assert_int_equal(rules_check_program(&d, 0, NULL, 0),
			 MTGATE_EPROGRAM_RULE);
	assert_int_equal(rules_check_program(&d, 0, why, 0),
			 MTGATE_EPROGRAM_RULE);
}

static void test_prog_edge_huge_and_out_of_range(void **state)
{
	mtgate_program_def d = joe();

	(void)state;
	d.limit = UINT32_MAX;
	expect_why(&d, "PROG-1: welcome text lacks \"Max 4294967295 msgs/mo\"");
	d.welcome_text = "Msg&Data rates may apply. Max 4294967295 msgs/mo "
			 "STOP HELP";
	d.help_text = "joesclub.com Max 4294967295 msgs/mo";
	expect_ok(&d);
	d = joe();
	d.period = (mtgate_period)77;
	expect_why(&d, "PROG-1: welcome text lacks \"Max 4 msgs/?\"");
	d.period = (mtgate_period)-3;
	expect_why(&d, "PROG-1: welcome text lacks \"Max 4 msgs/?\"");
	/* An unknown kind is held to the one-off minimum. */
	d = coupon();
	d.kind = (mtgate_kind)42;
	expect_ok(&d);
}

static void test_prog_edge_invalid_utf8_everywhere(void **state)
{
	mtgate_program_def d = jokes();

	(void)state;
	d.keyword = "\xff\xfe";
	d.name = "Jokes \xc3 Club\xe2";
	d.confirm_text = "Jokes \xc3 Club\xe2 R5 per day \xf0";
	/* The bad bytes fold as punctuation in the name and the text. */
	expect_why(&d, "PROG-6: confirm text is not valid UTF-8");
	d.welcome_text = "\xed\xa0\x80 Msg&Data rates may apply";
	expect_why(&d, "PROG-1: welcome text lacks \"Max 1 msg/day\"");
	d = jokes();
	d.name = "\xe2\x80\x99\xe2\x80\x99";
	d.confirm_text = "\xe2\x80\x99 R5 per day";
	expect_why(&d, "PROG-5: service text does not name the service "
		       "\"\xe2\x80\x99\xe2\x80\x99\"");
}

static void test_prog_edge_oversize_inputs(void **state)
{
	static char big[4 * MTGATE_TEXT_MAX];
	mtgate_program_def d = joe();
	char want[256];

	(void)state;
	/* Long runs of one thing: bounded reads, no crash. */
	memset(big, 'S', sizeof big - 1);
	d.keyword = big;
	d.name = big;
	snprintf(want, sizeof want,
		 "PROG-3: quit text does not name the program \"%.*s\"",
		 MTGATE_NAME_MAX, big);
	expect_why(&d, want);
	d = joe();
	d.welcome_text = big;
	expect_why(&d, "PROG-1: welcome text lacks \"Msg&Data rates may "
		       "apply\"");
	/* A text of expanding compatibility characters (U+FDFA folds to 18
	 * letters) is still folded within its buffer. */
	d = joe();
	for (size_t k = 0; k + 3 < sizeof big; k += 3)
		memcpy(big + k, "\xef\xb7\xba", 3);
	big[(sizeof big - 1) / 3 * 3] = '\0';
	d.quit_text = big;
	expect_why(&d, JOE_NOT_NAMED);
}

static void test_prog_edge_reason_is_cut(void **state)
{
	mtgate_program_def d = joe();
	char why[16];

	(void)state;
	d.welcome_text = NULL;
	memset(why, 'x', sizeof why);
	assert_int_equal(rules_check_program(&d, 0, why, 10),
			 MTGATE_EPROGRAM_RULE);
	assert_string_equal(why, "PROG-1: w");
	assert_int_equal(why[10], 'x');
	assert_int_equal(rules_check_program(&d, 0, why, 1),
			 MTGATE_EPROGRAM_RULE);
	assert_string_equal(why, "");
	/* Cut on a character boundary: the name "\u00e9\u00e9" is never
	 * split inside a character. */
	d = joe();
	d.name = "\u00e9\u00e9";
	d.quit_text = "You have quit.";
	{
		const char *pre = "PROG-3: quit text does not name the program "
				  "\"";
		size_t p = strlen(pre);
		char w[64];

		assert_int_equal(rules_check_program(&d, 0, w, p + 4),
				 MTGATE_EPROGRAM_RULE);
		assert_int_equal(strlen(w), p + 2);
		assert_memory_equal(w + p, "\u00e9", 2);
		assert_int_equal(rules_check_program(&d, 0, w, p + 2),
				 MTGATE_EPROGRAM_RULE);
		assert_string_equal(w, pre);
		assert_int_equal(rules_check_program(&d, 0, w, p + 3),
				 MTGATE_EPROGRAM_RULE);
		assert_int_equal(strlen(w), p + 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prog_1_seed_programs_pass),
		cmocka_unit_test(test_prog_1_rates_phrase_variants),
		cmocka_unit_test(test_prog_1_frequency_variants),
		cmocka_unit_test(test_prog_1_frequency_per_period),
		cmocka_unit_test(test_prog_1_stop_and_help),
		cmocka_unit_test(test_prog_1_one_off_needs_rates_and_help),
		cmocka_unit_test(test_prog_2_tollfree_forms),
		cmocka_unit_test(test_prog_2_web_address_forms),
		cmocka_unit_test(test_prog_2_recurring_needs_frequency),
		cmocka_unit_test(test_prog_3_names_the_program_folded),
		cmocka_unit_test(test_prog_3_name_is_whole_words),
		cmocka_unit_test(test_prog_3_confirms_the_quit),
		cmocka_unit_test(test_prog_4_reserved_words),
		cmocka_unit_test(test_prog_4_keyword_checked_any_case),
		cmocka_unit_test(test_prog_4_checked_first),
		cmocka_unit_test(test_prog_5_charge_interval),
		cmocka_unit_test(test_prog_5_price_at_most_operator_maximum),
		cmocka_unit_test(test_prog_5_currency),
		cmocka_unit_test(test_prog_5_service_text_names_service),
		cmocka_unit_test(test_prog_5_service_text_states_price),
		cmocka_unit_test(test_prog_5_service_text_states_frequency),
		cmocka_unit_test(test_prog_5_no_free_variant),
		cmocka_unit_test(test_prog_5_no_url),
		cmocka_unit_test(test_prog_5_no_profanity),
		cmocka_unit_test(test_prog_5_standard_rate_has_no_billing),
		cmocka_unit_test(test_prog_5_before_prog_1),
		cmocka_unit_test(test_prog_6_gsm7_limit),
		cmocka_unit_test(test_prog_6_gsm7_extension_counts_two),
		cmocka_unit_test(test_prog_6_ucs2_limit),
		cmocka_unit_test(test_prog_6_seed_curly_apostrophe),
		cmocka_unit_test(test_prog_6_invalid_utf8_and_oversize),
		cmocka_unit_test(test_prog_6_order_and_last),
		cmocka_unit_test(test_prog_edge_null_def_and_fields),
		cmocka_unit_test(test_prog_edge_huge_and_out_of_range),
		cmocka_unit_test(test_prog_edge_invalid_utf8_everywhere),
		cmocka_unit_test(test_prog_edge_oversize_inputs),
		cmocka_unit_test(test_prog_edge_reason_is_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
