/*
 * Checks engine/rules/token.c and engine/rules/mo_step.c: how an MO text
 * becomes words (case, accents, compatibility forms, punctuation, NUL
 * bytes, invalid UTF-8, the length, word-count and word-length bounds) and
 * what one MO does on a short code: every STOP, HELP, OPTIN and DOI rule
 * the step applies, the exact built texts (scope question, YES question),
 * the precedence between the rules, the expiry of pending requests, and
 * the output bounds (replies, actions, built texts). Each test runs the
 * real tokenizer and step on in-memory programs; nothing is stored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rules/rules.h"

#define IN   MTGATE_STATE_OPTED_IN
#define OUT  MTGATE_STATE_OPTED_OUT
#define PEND MTGATE_STATE_PENDING
#define NEW  MTGATE_STATE_NONE

#define FX_PROGS 24
#define SC       UINT32_MAX

/* ---- fixture: programs of one short code and one MO ------------------------ */

typedef struct fx {
	uint32_t n;
	rules_prog p[FX_PROGS];
	char kw[FX_PROGS][RULES_WORD_MAX + 1];
	char txt[FX_PROGS][4][48]; /* welcome, help, quit, confirm */
	bool scope_open;
	const char *sc_help;
	rules_words w;
	rules_mo_out out;
} fx;

static fx fixture;

static fx *fx_new(void)
{
	memset(&fixture, 0, sizeof(fixture));
	return &fixture;
}

/* A program with texts "<KW> welcome", "<KW> help", "<KW> quit" and
 * "<KW> confirm". Returns its index. */
static uint32_t add(fx *f, const char *kw, mtgate_state st, bool doi)
{
	uint32_t i = f->n++;
	rules_prog *p = &f->p[i];

	assert_true(i < FX_PROGS);
	snprintf(f->kw[i], sizeof(f->kw[i]), "%s", kw);
	snprintf(f->txt[i][0], sizeof(f->txt[i][0]), "%s welcome", kw);
	snprintf(f->txt[i][1], sizeof(f->txt[i][1]), "%s help", kw);
	snprintf(f->txt[i][2], sizeof(f->txt[i][2]), "%s quit", kw);
	snprintf(f->txt[i][3], sizeof(f->txt[i][3]), "%s confirm", kw);
	p->id = i + 1;
	p->keyword = f->kw[i];
	p->name = f->kw[i];
	p->welcome_text = f->txt[i][0];
	p->help_text = f->txt[i][1];
	p->quit_text = f->txt[i][2];
	p->confirm_text = f->txt[i][3];
	p->double_opt_in = doi;
	p->state = st;
	return i;
}

static const rules_mo_out *mo(fx *f, const char *text)
{
	rules_mo_in in = {
		.words = &f->w,
		.progs = f->p,
		.n_progs = f->n,
		.scope_open = f->scope_open,
		.sc_help_text = f->sc_help,
	};

	assert_int_equal(rules_tokenize(text, strlen(text), &f->w), 0);
	memset(&f->out, 0xa5, sizeof(f->out)); /* the step sets it all */
	rules_mo_step(&in, &f->out);
	assert_true(f->out.n_replies <= RULES_REPLIES_MAX);
	assert_true(f->out.n_actions <= RULES_ACTIONS_MAX);
	return &f->out;
}

/* Replies, exactly, in order; the list ends with NULL. */
static void expect_replies(const rules_mo_out *o, ...)
{
	const char *want;
	uint32_t n = 0;
	va_list ap;

	va_start(ap, o);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(n < o->n_replies);
		assert_string_equal(o->reply[n], want);
		n++;
	}
	va_end(ap);
	assert_int_equal(o->n_replies, n);
}

/* Actions, exactly, in order: (kind, prog) pairs ending with kind 0. */
static void expect_actions(const rules_mo_out *o, ...)
{
	uint32_t n = 0;
	va_list ap;
	int kind;

	va_start(ap, o);
	while ((kind = va_arg(ap, int)) != 0) {
		uint32_t prog = va_arg(ap, uint32_t);

		assert_true(n < o->n_actions);
		assert_int_equal(o->action[n].kind, kind);
		assert_int_equal(o->action[n].prog, prog);
		n++;
	}
	va_end(ap);
	assert_int_equal(o->n_actions, n);
}

/* Changes of programs 0..n-1, as a string: '.' none, 'I' OPTIN, 'P'
 * PENDING, 'C' CONFIRM, 'D' DECLINE, 'F' FAIL, 'O' OPTOUT, 'R' repeat. */
static void expect_changes(const fx *f, const char *want)
{
	static const char code[RULES_CHANGE_MAX] = {
		[RULES_NONE] = '.',    [RULES_OPTIN] = 'I',
		[RULES_PENDING] = 'P', [RULES_CONFIRM] = 'C',
		[RULES_DECLINE] = 'D', [RULES_FAIL] = 'F',
		[RULES_OPTOUT] = 'O',
	};
	char got[FX_PROGS + 1];

	assert_int_equal(strlen(want), f->n);
	for (uint32_t i = 0; i < f->n; i++) {
		assert_true(f->out.change[i] < RULES_CHANGE_MAX);
		got[i] = code[f->out.change[i]];
		if (f->out.repeat[i]) {
			assert_int_equal(f->out.change[i], RULES_OPTIN);
			got[i] = 'R';
		}
	}
	got[f->n] = '\0';
	assert_string_equal(got, want);
}

static void expect_nothing(const fx *f)
{
	char none[FX_PROGS + 1];

	memset(none, '.', f->n);
	none[f->n] = '\0';
	expect_changes(f, none);
	assert_int_equal(f->out.n_replies, 0);
	assert_int_equal(f->out.n_actions, 0);
	assert_false(f->out.scope_open);
	assert_false(f->out.scope_close);
}

/* Words of text, joined with '|'. */
static void expect_words(const char *text, size_t len, const char *want)
{
	char got[RULES_WORDS_MAX * (RULES_WORD_MAX + 1) + 1] = "";
	rules_words w;

	assert_int_equal(rules_tokenize(text, len, &w), 0);
	for (uint32_t i = 0; i < w.n; i++) {
		assert_true(w.len[i] >= 1 && w.len[i] <= RULES_WORD_MAX);
		assert_int_equal(strlen(w.w[i]), w.len[i]);
		if (i)
			strcat(got, "|");
		strcat(got, w.w[i]);
	}
	assert_string_equal(got, want);
}

#define WORDS(text, want) expect_words(text, sizeof(text) - 1, want)

/* ---- tokenizer ----------------------------------------------------------- */

static void test_stop_1_tokenize_case_accents_and_canadian_words(void **state)
{
	(void)state;
	WORDS("ARRÊT!", "arret");
	WORDS("Arre\xcc\x82t", "arret"); /* e + U+0302 combining circumflex */
	WORDS("arrêt", "arret");
	WORDS("FIN.", "fin");
	WORDS("StOp", "stop");
	WORDS("ＳＴＯＰ", "stop"); /* fullwidth: compatibility form */
	WORDS("ﬁn", "fin");        /* U+FB01 ligature */
	WORDS("Straße", "strasse");
	WORDS("ΣΤΟΠ", "στοπ");
	WORDS("ÀÉÎÕÜ", "aeiou");
}

static void test_stop_1_tokenize_punctuation_splits(void **state)
{
	(void)state;
	WORDS("Opt-Out", "opt|out");
	WORDS("  stop,kwa...HELP?! ", "stop|kwa|help");
	WORDS("STOP2Quit", "stop2quit");
	WORDS("kwa\tstop\r\n", "kwa|stop");
	WORDS("stop\xc2\xa0kwa", "stop|kwa");     /* U+00A0 no-break space */
	WORDS("stop\xe2\x80\x94kwa", "stop|kwa"); /* U+2014 em dash */
	WORDS("«stop»", "stop");
	WORDS("stop😀kwa", "stop|kwa"); /* emoji: a symbol */
	WORDS("３stop", "3stop");      /* fullwidth digit */
	WORDS("٣stop", "٣stop");       /* Arabic-Indic digit */
	WORDS("½", "1|2");             /* 1 U+2044 2 */
	WORDS("!!! ... ???", "");
	WORDS("", "");
}

static void test_tokenize_nul_bytes_separate(void **state)
{
	(void)state;
	WORDS("kwa\0stop", "kwa|stop");
	WORDS("\0\0STOP\0", "stop");
}

static void test_tokenize_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\x80",             /* stray continuation */
		"stop \xc3",        /* truncated */
		"\xc3(",            /* missing continuation */
		"\xc0\xaf",         /* overlong '/' */
		"\xe0\x80\xaf",     /* overlong, 3 bytes */
		"\xed\xa0\x80",     /* surrogate U+D800 */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf5\x80\x80\x80", /* bad lead byte */
		"\xff",
		"\xe2\x82", /* truncated 3-byte */
	};
	char text[400] = "";
	rules_words w;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.n = 7;
		assert_int_equal(rules_tokenize(bad[i], strlen(bad[i]), &w),
				 MTGATE_EMO_UTF8);
		assert_int_equal(w.n, 0);
	}
	/* Checked past the last kept word too. */
	for (int i = 0; i < 70; i++)
		strcat(text, "a ");
	strcat(text, "\x80");
	assert_int_equal(rules_tokenize(text, strlen(text), &w),
			 MTGATE_EMO_UTF8);
	/* The largest code points of each length are fine. */
	WORDS("\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", "");
}

static void test_tokenize_too_long(void **state)
{
	char text[RULES_MO_MAX + 1];
	rules_words w;

	(void)state;
	memset(text, 'a', sizeof(text));
	w.n = 7;
	assert_int_equal(rules_tokenize(text, RULES_MO_MAX + 1, &w),
			 MTGATE_EMO_LONG);
	assert_int_equal(w.n, 0);
	memset(text, ' ', sizeof(text));
	memcpy(text + RULES_MO_MAX - 4, "STOP", 4);
	assert_int_equal(rules_tokenize(text, RULES_MO_MAX, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.w[0], "stop");
	assert_int_equal(rules_tokenize(NULL, 0, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_tokenize_word_limit(void **state)
{
	char text[RULES_MO_MAX];
	rules_words w;
	size_t len = 0;

	(void)state;
	for (int i = 0; i < 300; i++)
		len += (size_t)sprintf(text + len, "w%d ", i);
	assert_int_equal(rules_tokenize(text, len, &w), 0);
	assert_int_equal(w.n, RULES_WORDS_MAX);
	assert_string_equal(w.w[0], "w0");
	assert_string_equal(w.w[RULES_WORDS_MAX - 1], "w63");
}

static void test_tokenize_long_words_cut(void **state)
{
	char text[200];
	rules_words w;

	(void)state;
	memset(text, 'A', 40);
	memcpy(text + 40, " stop", 5);
	assert_int_equal(rules_tokenize(text, 45, &w), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(strlen(w.w[0]), RULES_WORD_MAX);
	assert_int_equal(w.len[0], RULES_WORD_MAX + 1); /* cut */
	assert_string_equal(w.w[1], "stop");

	/* Exactly RULES_WORD_MAX bytes is not cut. */
	memset(text, 'b', RULES_WORD_MAX);
	assert_int_equal(rules_tokenize(text, RULES_WORD_MAX, &w), 0);
	assert_int_equal(w.len[0], RULES_WORD_MAX);

	/* Cut on a code point boundary: 11 x U+4E2D (3 bytes) -> 10. */
	text[0] = '\0';
	for (int i = 0; i < 11; i++)
		strcat(text, "中");
	assert_int_equal(rules_tokenize(text, strlen(text), &w), 0);
	assert_int_equal(strlen(w.w[0]), 30);
	assert_int_equal(w.len[0], RULES_WORD_MAX + 1);
	/* 17 x U+0436 (2 bytes) -> 16, 32 bytes. */
	text[0] = '\0';
	for (int i = 0; i < 17; i++)
		strcat(text, "Ж");
	assert_int_equal(rules_tokenize(text, strlen(text), &w), 0);
	assert_int_equal(strlen(w.w[0]), 32);
	assert_int_equal(w.len[0], RULES_WORD_MAX + 1);
}

/* A cut word never names a program, even one whose keyword is its prefix. */
static void test_stop_2_cut_word_names_nothing(void **state)
{
	char kw[RULES_WORD_MAX + 1], text[64];
	fx *f = fx_new();

	(void)state;
	memset(kw, 'K', RULES_WORD_MAX);
	kw[RULES_WORD_MAX] = '\0';
	add(f, kw, IN, false);
	add(f, "KWB", IN, false);
	snprintf(text, sizeof(text), "%sk stop", kw); /* 33 letters */
	mo(f, text);
	expect_changes(f, "..");
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, 0);
	snprintf(text, sizeof(text), "%s stop", kw); /* 32 letters */
	mo(f, text);
	expect_changes(f, "O.");
}

/* ---- STOP ------------------------------------------------------------------ */

static void test_stop_1_quit_words_any_case_and_accents(void **state)
{
	static const char *const quits[] = {
		"STOP",
		"stop",
		"Stop.",
		"end",
		"Quit",
		"CANCEL",
		"unsubscribe",
		"REVOKE",
		"OptOut",
		"OPT OUT",
		"opt-out",
		"ARRÊT",
		"arret",
		"Fin",
		"please stop now",
		"Don't send more. STOP!",
		"kw STOP",
		"ＳＴＯＰ",
	};
	static const char *const not_quits[] = {
		"stopping",   "STOP2Quit", "nonstop", "opt",   "out opt",
		"opt in out", "finish",    "ending",  "st op",
	};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", OUT, false);
	for (size_t i = 0; i < sizeof(quits) / sizeof(quits[0]); i++) {
		mo(f, quits[i]);
		expect_changes(f, "O.");
		expect_replies(&f->out, "KWA quit", NULL);
		expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0, 0);
	}
	for (size_t i = 0; i < sizeof(not_quits) / sizeof(not_quits[0]); i++) {
		mo(f, not_quits[i]);
		expect_nothing(f);
	}
}

static void test_stop_2_qualified_either_order(void **state)
{
	static const char *const mos[] = {
		"kwa stop",     "STOP KWA",  "please stop Kwa now",
		"KWA: opt out", "kwa-arrêt",
	};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", IN, false);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, "O.");
		expect_replies(&f->out, "KWA quit", NULL);
		expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0, 0);
		assert_false(f->out.scope_open);
		assert_false(f->out.scope_close);
	}
	mo(f, "kwb kwa stop");
	expect_changes(f, "OO");
	expect_replies(&f->out, "KWA quit", "KWB quit", NULL);
}

static void test_stop_2_qualified_not_active_still_confirms(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", OUT, false);
	add(f, "KWB", IN, false);
	add(f, "KWC", NEW, false);
	mo(f, "kwa stop");
	expect_changes(f, "...");
	expect_replies(&f->out, "KWA quit", NULL);
	expect_actions(&f->out, 0);
	mo(f, "stop kwc kwb");
	expect_changes(f, ".O.");
	expect_replies(&f->out, "KWB quit", "KWC quit", NULL);
	expect_actions(&f->out, RULES_ACT_OPTED_OUT, 1, 0);
}

static void test_stop_3_single_active(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", OUT, false);
	add(f, "KWB", IN, false);
	add(f, "KWC", NEW, false);
	mo(f, "stop");
	expect_changes(f, ".O.");
	expect_replies(&f->out, "KWB quit", NULL);
	expect_actions(&f->out, RULES_ACT_OPTED_OUT, 1, 0);
	assert_false(f->out.scope_open);

	/* A pending request is active: STOP ends it. */
	f = fx_new();
	add(f, "KWA", OUT, false);
	add(f, "KWC", PEND, true);
	mo(f, "STOP");
	expect_changes(f, ".O");
	expect_replies(&f->out, "KWC quit", NULL);
}

static void test_stop_3_none_active_does_nothing(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", OUT, false);
	add(f, "KWB", NEW, false);
	mo(f, "stop");
	expect_nothing(f);
	f = fx_new();
	mo(f, "stop all");
	expect_nothing(f);
}

static void test_stop_4_scope_question_text(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "OFF", OUT, false);
	add(f, "kwb", PEND, true); /* pending is active; keyword upper-cased */
	mo(f, "Stop");
	expect_changes(f, "...");
	expect_replies(&f->out,
		       "Multiple keywords active. Reply with one of KWA STOP, "
		       "KWB STOP or with STOP ALL to quit all.",
		       NULL);
	assert_ptr_equal(f->out.reply[0], f->out.built[0]);
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, 0);
	assert_true(f->out.scope_open);
	assert_false(f->out.scope_close);

	add(f, "KWC", IN, false);
	add(f, "EXP", PEND, true);
	f->p[4].pending_expired = true; /* not active */
	mo(f, "end");
	expect_changes(f, "....F");
	expect_replies(&f->out,
		       "Multiple keywords active. Reply with one of KWA STOP, "
		       "KWB STOP, KWC STOP or with STOP ALL to quit all.",
		       NULL);
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, RULES_ACT_FAILED,
		       4, 0);
}

/* With too many keywords for RULES_TEXT_MAX, as many as fit are listed. */
static void test_stop_4_scope_question_bounded(void **state)
{
	char kw[RULES_WORD_MAX + 1];
	fx *f = fx_new();
	const char *q;

	(void)state;
	for (int i = 0; i < FX_PROGS; i++) {
		snprintf(kw, sizeof(kw), "K%031d", i);
		add(f, kw, IN, false);
	}
	mo(f, "stop");
	q = f->out.reply[0];
	assert_true(strlen(q) < RULES_TEXT_MAX);
	assert_non_null(strstr(q, "Reply with one of K00"));
	assert_non_null(strstr(q, "00013 STOP or with STOP ALL to quit all."));
	assert_null(strstr(q, "00014"));
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, 0);
}

static void test_stop_4_second_unqualified_ends_all(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", IN, false);
	add(f, "KWC", OUT, false);
	f->scope_open = true;
	mo(f, "quit");
	expect_changes(f, "OO.");
	expect_replies(&f->out, "KWA quit", "KWB quit", NULL);
	expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0, RULES_ACT_OPTED_OUT, 1,
		       0);
	assert_true(f->out.scope_close);
	assert_false(f->out.scope_open);
}

static void test_stop_4_qualified_reply_closes_question(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", IN, false);
	f->scope_open = true;
	mo(f, "KWB STOP");
	expect_changes(f, ".O");
	expect_replies(&f->out, "KWB quit", NULL);
	assert_true(f->out.scope_close);
	/* Not a quit: the question stays open (the engine times it out). */
	mo(f, "hello");
	expect_nothing(f);
}

static void test_stop_5_global_forms(void **state)
{
	static const char *const mos[] = {
		"STOP ALL",     "stop all",          "StopAll",
		"ENDALL",       "QUITALL",           "CANCELALL",
		"end all",      "opt out all",       "Arrêt all",
		"kwa stop all", "please, stop-all!", "unsubscribe ALL",
	};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", IN, false);
	add(f, "KWC", PEND, true);
	add(f, "KWD", OUT, false);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		f->scope_open = i % 2;
		mo(f, mos[i]);
		expect_changes(f, "OOO.");
		expect_replies(&f->out, "KWA quit", "KWB quit", "KWC quit",
			       NULL);
		expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0,
			       RULES_ACT_OPTED_OUT, 1, RULES_ACT_OPTED_OUT, 2,
			       0);
		assert_int_equal(f->out.scope_close, f->scope_open);
	}
	/* "all" must follow the quit word at once. */
	f->scope_open = false;
	mo(f, "all stop");
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, 0);
	mo(f, "stop it all");
	expect_actions(&f->out, RULES_ACT_SCOPE_QUESTION, SC, 0);
}

static void test_stop_6_quit_texts_of_each_ended(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", IN, false);
	add(f, "KWC", IN, false);
	add(f, "KWD", IN, false);
	f->p[1].quit_text = "";                /* skipped */
	f->p[3].quit_text = f->p[0].quit_text; /* sent once */
	mo(f, "stopall");
	expect_changes(f, "OOOO");
	expect_replies(&f->out, "KWA quit", "KWC quit", NULL);
	expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0, RULES_ACT_OPTED_OUT, 1,
		       RULES_ACT_OPTED_OUT, 2, RULES_ACT_OPTED_OUT, 3, 0);
}

/* More opt-outs than RULES_REPLIES_MAX: replies are capped, actions not. */
static void test_stop_6_replies_bounded(void **state)
{
	char kw[16];
	fx *f = fx_new();

	(void)state;
	for (unsigned i = 0; i < 20; i++) {
		snprintf(kw, sizeof(kw), "KW%u", i);
		add(f, kw, IN, false);
	}
	mo(f, "STOP ALL");
	assert_int_equal(f->out.n_replies, RULES_REPLIES_MAX);
	assert_int_equal(f->out.n_actions, 20);
	assert_string_equal(f->out.reply[15], "KW15 quit");
}

/* ---- HELP ------------------------------------------------------------------ */

static void test_help_1_reserved_words(void **state)
{
	static const char *const mos[] = {
		"HELP", "help", "info", "AIDE", "Help?", "I need INFO please"};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", OUT, false);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, "..");
		expect_replies(&f->out, "KWA help", NULL);
		expect_actions(&f->out, RULES_ACT_HELP, 0, 0);
	}
	mo(f, "helpful");
	expect_nothing(f);
}

static void test_help_2_qualified(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", NEW, false);
	add(f, "KWC", OUT, false);
	mo(f, "kwb help");
	expect_changes(f, "...");
	expect_replies(&f->out, "KWB help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 1, 0);
	mo(f, "HELP KWC KWA");
	expect_replies(&f->out, "KWA help", "KWC help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 0, RULES_ACT_HELP, 2, 0);
}

static void test_help_3_active_programs_or_generic(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", PEND, true); /* not opted in: not answered */
	add(f, "KWC", IN, false);
	f->sc_help = "SC help";
	mo(f, "help");
	expect_changes(f, "...");
	expect_replies(&f->out, "KWA help", "KWC help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 0, RULES_ACT_HELP, 2, 0);

	/* None opted in: the short code's generic help. */
	f->p[0].state = OUT;
	f->p[2].state = NEW;
	mo(f, "help");
	expect_changes(f, "...");
	expect_replies(&f->out, "SC help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, SC, 0);

	/* No generic help either: every program's help, never silence. */
	f->sc_help = "";
	f->p[1].help_text = NULL;
	mo(f, "help");
	expect_replies(&f->out, "KWA help", "KWC help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 0, RULES_ACT_HELP, 2, 0);

	/* Identical help texts are sent once, both programs answered. */
	f->p[0].state = IN;
	f->p[2].state = IN;
	f->p[2].help_text = "KWA help";
	mo(f, "info");
	expect_replies(&f->out, "KWA help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 0, RULES_ACT_HELP, 2, 0);
}

/* ---- OPTIN ----------------------------------------------------------------- */

static void test_optin_2_keyword_first_word_any_case(void **state)
{
	static const char *const mos[] = {"JOES", "joes", "Joes!",
					  "JOES please", "  joes kwb"};
	fx *f = fx_new();

	(void)state;
	add(f, "KWB", NEW, false);
	add(f, "JOES", NEW, false);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, ".I");
		expect_replies(&f->out, "JOES welcome", NULL);
		expect_actions(&f->out, RULES_ACT_OPTED_IN, 1, 0);
	}
	mo(f, "please joes"); /* not the first word */
	expect_nothing(f);
	mo(f, "joeskwb");
	expect_nothing(f);
	f->p[1].state = OUT; /* after an opt-out, the keyword opts in again */
	f->p[1].voided = true;
	mo(f, "joes");
	expect_changes(f, ".I");
}

static void test_optin_2_double_opt_in_starts_pending(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", NEW, true);
	mo(f, "game");
	expect_changes(f, ".P");
	expect_replies(&f->out, "GAME confirm", NULL);
	expect_actions(&f->out, RULES_ACT_PENDING, 1, 0);
}

static void test_doi_2_second_request_while_pending_refused(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	mo(f, "GAME");
	expect_nothing(f);
}

static void test_doi_6_cooldown_refuses_keyword_and_start(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", NEW, true);
	f->p[0].decline_cooldown = true;
	mo(f, "game");
	expect_nothing(f);
	f->p[0].state = OUT;
	f->p[0].last_optout = true;
	mo(f, "START");
	expect_nothing(f);
}

static void test_optin_3_repeat_is_recorded(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", IN, true);
	mo(f, "KWA");
	expect_changes(f, "R.");
	expect_replies(&f->out, "KWA welcome", NULL);
	expect_actions(&f->out, RULES_ACT_OPTED_IN, 0, 0);
	mo(f, "game"); /* subscribed once (DOI-8): no new request */
	expect_changes(f, ".R");
	expect_replies(&f->out, "GAME welcome", NULL);
}

static void test_optin_4_start_reopts_last_optout(void **state)
{
	static const char *const mos[] = {"START", "unstop", "Start please",
					  "YES"};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", OUT, false);
	add(f, "KWB", OUT, false);  /* not covered by the last opt-out */
	add(f, "GAME", OUT, true);  /* double opt-in: asks again */
	add(f, "JOES", OUT, false); /* voided by a deactivation */
	add(f, "KWE", IN, false);
	f->p[0].last_optout = true;
	f->p[2].last_optout = true;
	f->p[3].last_optout = true;
	f->p[3].voided = true;
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, "I.P..");
		expect_replies(&f->out, "KWA welcome", "GAME confirm", NULL);
		expect_actions(&f->out, RULES_ACT_OPTED_IN, 0,
			       RULES_ACT_PENDING, 2, 0);
	}
	/* START decides the MO even when it covers nothing. */
	f->p[0].last_optout = false;
	f->p[2].last_optout = false;
	mo(f, "kwb start");
	expect_nothing(f);
}

/* ---- DOI ------------------------------------------------------------------- */

static void test_doi_4_yes_confirms(void **state)
{
	static const char *const mos[] = {"YES", "yes", "Yes!", "yes please"};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", PEND, true);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, ".C");
		expect_replies(&f->out, "GAME welcome", NULL);
		expect_actions(&f->out, RULES_ACT_CONFIRMED, 1, 0);
	}
	mo(f, "yesss"); /* not YES: fails it (DOI-5) */
	expect_changes(f, ".F");
}

static void test_doi_4_bare_yes_with_several_pending_asks(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", PEND, true);
	add(f, "TUNE", PEND, true);
	mo(f, "yes");
	expect_changes(f, "...");
	expect_replies(&f->out, "Reply YES GAME or YES TUNE to confirm.", NULL);
	assert_ptr_equal(f->out.reply[0], f->out.built[1]);
	expect_actions(&f->out, 0);
	add(f, "FUN", PEND, true);
	mo(f, "YES");
	expect_replies(&f->out,
		       "Reply YES GAME, YES TUNE or YES FUN to confirm.", NULL);
}

static void test_doi_4_yes_kwa_picks_one(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	add(f, "TUNE", PEND, true);
	mo(f, "yes tune");
	expect_changes(f, ".C");
	expect_replies(&f->out, "TUNE welcome", NULL);
	expect_actions(&f->out, RULES_ACT_CONFIRMED, 1, 0);
	mo(f, "GAME YES"); /* the keyword first: still a confirmation */
	expect_changes(f, "C.");
	mo(f, "yes game tune");
	expect_changes(f, "CC");
}

static void test_doi_4_expired_is_never_confirmed(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	f->p[0].pending_expired = true;
	mo(f, "YES");
	expect_changes(f, "F");
	expect_replies(&f->out, NULL);
	expect_actions(&f->out, RULES_ACT_FAILED, 0, 0);
	mo(f, "yes game");
	expect_changes(f, "F");
}

static void test_doi_5_other_reply_fails(void **state)
{
	static const char *const mos[] = {"hello", "ok", "Y", "...", "kwz"};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", PEND, true);
	add(f, "TUNE", PEND, true);
	for (size_t i = 0; i < sizeof(mos) / sizeof(mos[0]); i++) {
		mo(f, mos[i]);
		expect_changes(f, ".FF");
		expect_replies(&f->out, NULL);
		expect_actions(&f->out, RULES_ACT_FAILED, 1, RULES_ACT_FAILED,
			       2, 0);
	}
	/* Nothing pending: nothing at all. */
	f->p[1].state = OUT;
	f->p[2].state = OUT;
	mo(f, "hello");
	expect_nothing(f);
}

/* An expired request fails with any MO, beside what the MO does, unless
 * the MO changes it (a new request). */
static void test_doi_5_expired_fails_with_any_mo(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", PEND, true);
	f->p[1].pending_expired = true;
	mo(f, "help");
	expect_changes(f, ".F");
	expect_replies(&f->out, "KWA help", NULL);
	expect_actions(&f->out, RULES_ACT_HELP, 0, RULES_ACT_FAILED, 1, 0);
	mo(f, "stop");
	expect_changes(f, "OF");
	expect_actions(&f->out, RULES_ACT_OPTED_OUT, 0, RULES_ACT_FAILED, 1, 0);
	mo(f, "game");
	expect_changes(f, ".P");
	expect_replies(&f->out, "GAME confirm", NULL);
	expect_actions(&f->out, RULES_ACT_PENDING, 1, 0);
}

static void test_doi_6_no_declines(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "GAME", PEND, true);
	add(f, "TUNE", PEND, true);
	mo(f, "No");
	expect_changes(f, ".DD");
	expect_replies(&f->out, NULL);
	expect_actions(&f->out, RULES_ACT_DECLINED, 1, RULES_ACT_DECLINED, 2,
		       0);
	mo(f, "no tune");
	expect_changes(f, "..D");
	expect_actions(&f->out, RULES_ACT_DECLINED, 2, 0);
	mo(f, "yes no"); /* not a clear YES: declined */
	expect_changes(f, ".DD");
	mo(f, "no kwa"); /* names no pending program: unqualified */
	expect_changes(f, ".DD");
}

static void test_doi_6_no_with_nothing_pending_is_ordinary(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", OUT, false);
	f->p[1].last_optout = true;
	mo(f, "no");
	expect_nothing(f);
}

/* ---- precedence ------------------------------------------------------------ */

static void test_precedence_help_stop_is_a_stop(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	mo(f, "HELP STOP");
	expect_changes(f, "O");
	expect_replies(&f->out, "KWA quit", NULL);
	mo(f, "kwa help stop");
	expect_changes(f, "O");
}

static void test_precedence_stop_before_yes_and_start(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	add(f, "KWB", OUT, false);
	f->p[1].last_optout = true;
	mo(f, "yes stop");
	expect_changes(f, "O.");
	mo(f, "start stop");
	expect_changes(f, "O.");
}

static void test_precedence_help_before_yes_keeps_pending(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	mo(f, "yes help");
	expect_changes(f, ".");
	expect_replies(&f->out, "GAME help", NULL); /* everything: HELP-3 */
	expect_actions(&f->out, RULES_ACT_HELP, 0, 0);
}

static void test_precedence_yes_and_start_before_keyword(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	add(f, "KWB", NEW, false);
	mo(f, "kwb yes"); /* names no pending program: confirms the one */
	expect_changes(f, "C.");
	f->p[0].state = OUT;
	mo(f, "kwb start"); /* START (covering nothing) decides */
	expect_nothing(f);
	mo(f, "kwb");
	expect_changes(f, ".I");
}

/* A keyword MO leaves another program's pending request pending. */
static void test_precedence_keyword_leaves_pending(void **state)
{
	fx *f = fx_new();

	(void)state;
	add(f, "GAME", PEND, true);
	add(f, "KWB", NEW, false);
	mo(f, "KWB");
	expect_changes(f, ".I");
	expect_actions(&f->out, RULES_ACT_OPTED_IN, 1, 0);
}

/* ---- output ---------------------------------------------------------------- */

/* The step writes what the decision holds, whatever *out held before:
 * change and repeat of its programs, the flags and the counts. */
static void test_step_sets_every_output(void **state)
{
	rules_words w;
	rules_mo_in in = {.words = &w};
	fx *f = fx_new();

	(void)state;
	add(f, "KWA", IN, false);
	add(f, "KWB", OUT, false);
	mo(f, "hello");
	expect_nothing(f);

	/* Two programs, an MO that changes neither, over a dirty output. */
	assert_int_equal(rules_tokenize("hello", 5, &w), 0);
	in.progs = f->p;
	in.n_progs = 2;
	memset(&f->out, 0xa5, sizeof(f->out));
	rules_mo_step(&in, &f->out);
	assert_int_equal(f->out.n_replies, 0);
	assert_int_equal(f->out.n_actions, 0);
	assert_false(f->out.scope_open);
	assert_false(f->out.scope_close);
	assert_int_equal(f->out.change[0], RULES_NONE);
	assert_int_equal(f->out.change[1], RULES_NONE);
	assert_false(f->out.repeat[0]);
	assert_false(f->out.repeat[1]);

	/* No programs, no words. */
	assert_int_equal(rules_tokenize("", 0, &w), 0);
	in.n_progs = 0;
	memset(&f->out, 0xa5, sizeof(f->out));
	rules_mo_step(&in, &f->out);
	assert_int_equal(f->out.n_replies, 0);
	assert_int_equal(f->out.n_actions, 0);
	assert_false(f->out.scope_open);
	assert_false(f->out.scope_close);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_stop_1_tokenize_case_accents_and_canadian_words),
		cmocka_unit_test(test_stop_1_tokenize_punctuation_splits),
		cmocka_unit_test(test_tokenize_nul_bytes_separate),
		cmocka_unit_test(test_tokenize_invalid_utf8),
		cmocka_unit_test(test_tokenize_too_long),
		cmocka_unit_test(test_tokenize_word_limit),
		cmocka_unit_test(test_tokenize_long_words_cut),
		cmocka_unit_test(test_stop_2_cut_word_names_nothing),
		cmocka_unit_test(test_stop_1_quit_words_any_case_and_accents),
		cmocka_unit_test(test_stop_2_qualified_either_order),
		cmocka_unit_test(
			test_stop_2_qualified_not_active_still_confirms),
		cmocka_unit_test(test_stop_3_single_active),
		cmocka_unit_test(test_stop_3_none_active_does_nothing),
		cmocka_unit_test(test_stop_4_scope_question_text),
		cmocka_unit_test(test_stop_4_scope_question_bounded),
		cmocka_unit_test(test_stop_4_second_unqualified_ends_all),
		cmocka_unit_test(test_stop_4_qualified_reply_closes_question),
		cmocka_unit_test(test_stop_5_global_forms),
		cmocka_unit_test(test_stop_6_quit_texts_of_each_ended),
		cmocka_unit_test(test_stop_6_replies_bounded),
		cmocka_unit_test(test_help_1_reserved_words),
		cmocka_unit_test(test_help_2_qualified),
		cmocka_unit_test(test_help_3_active_programs_or_generic),
		cmocka_unit_test(test_optin_2_keyword_first_word_any_case),
		cmocka_unit_test(test_optin_2_double_opt_in_starts_pending),
		cmocka_unit_test(
			test_doi_2_second_request_while_pending_refused),
		cmocka_unit_test(test_doi_6_cooldown_refuses_keyword_and_start),
		cmocka_unit_test(test_optin_3_repeat_is_recorded),
		cmocka_unit_test(test_optin_4_start_reopts_last_optout),
		cmocka_unit_test(test_doi_4_yes_confirms),
		cmocka_unit_test(test_doi_4_bare_yes_with_several_pending_asks),
		cmocka_unit_test(test_doi_4_yes_kwa_picks_one),
		cmocka_unit_test(test_doi_4_expired_is_never_confirmed),
		cmocka_unit_test(test_doi_5_other_reply_fails),
		cmocka_unit_test(test_doi_5_expired_fails_with_any_mo),
		cmocka_unit_test(test_doi_6_no_declines),
		cmocka_unit_test(
			test_doi_6_no_with_nothing_pending_is_ordinary),
		cmocka_unit_test(test_precedence_help_stop_is_a_stop),
		cmocka_unit_test(test_precedence_stop_before_yes_and_start),
		cmocka_unit_test(test_precedence_help_before_yes_keeps_pending),
		cmocka_unit_test(test_precedence_yes_and_start_before_keyword),
		cmocka_unit_test(test_precedence_keyword_leaves_pending),
		cmocka_unit_test(test_step_sets_every_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
