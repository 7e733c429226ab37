/*
 * progcheck: the PROG rules of RULES.md, checked on a program definition
 * before it is stored (rules_check_program), and the words no keyword may
 * be (rules_word_reserved).
 *
 * Rules, in the order they are checked; the first one broken is reported
 * as "PROG-n: <the missing or offending part>":
 *   PROG-4  the keyword, folded, is not a reserved word (quit, help and
 *           confirmation words, START, UNSTOP, the ALL forms).
 *   PROG-5  billed (price > 0): a charge interval, a price at most the
 *           operator maximum, a 3-letter currency, and a service text (the
 *           confirm text) naming the service, the price and the charge
 *           frequency, with no "free" variant, URL or profanity in it or in
 *           the name. Standard rate (price 0): no interval, no currency.
 *   PROG-1  welcome: rates phrase, "Max N msgs/<period>" matching limit
 *           and period, STOP and HELP (recurring); rates phrase and HELP
 *           (one-off).
 *   PROG-2  help: a toll-free number or a web address; recurring programs
 *           also the frequency.
 *   PROG-3  quit: names the program and confirms the quit.
 *   PROG-6  each non-empty text fits one SMS: 160 GSM-7 characters
 *           (extension characters count 2), else 70 UCS-2 code units.
 *
 * Matching. Fixed phrases are found in the raw UTF-8 text with ASCII case
 * folding (pat_at: ' ' in a pattern matches one or more spaces, '~' zero or
 * more). Names and forbidden words are compared after a Unicode fold
 * (fold: NFKD, case fold, marks stripped, via utf8proc), so "Joe’s" names
 * the program "JOE'S" and "ＦＲＥＥ" is "free". The accepted variants are
 * the tables below.
 *
 * Bounds. Texts are read up to MTGATE_TEXT_MAX + 1 bytes, the name up to
 * MTGATE_NAME_MAX, the keyword up to PC_KEYWORD_SCAN, never past a NUL;
 * NULL strings are "". A fold stops at its buffer (FOLD_TEXT_MAX bytes), so
 * a pathological text is matched on its prefix. Work is linear in the text
 * times the (constant) pattern tables. No allocation; under 5 KiB of stack.
 * Invalid UTF-8 never crashes a check: folds skip the bad byte and PROG-6
 * rejects the text.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "rules/rules.h"

#define PC_KEYWORD_SCAN 64   /* bytes of a keyword looked at */
#define FOLD_TEXT_MAX   2048 /* bytes of a folded text */
/* A folded name never fills this: NFKD + case fold grows UTF-8 at most 11
 * times (U+FDFA: 3 bytes become 18 code points, 33 bytes). */
#define FOLD_NAME_MAX (12 * MTGATE_NAME_MAX + 1)
#define DECOMP_MAX    32 /* code points of one decomposed character (18) */
#define PAT_MAX       64 /* bytes of one built pattern */

#define GSM7_MAX 160
#define UCS2_MAX 70

/* A text as read: at most the scan bound, never past its NUL. */
typedef struct pc_text {
	const char *s;
	size_t len;
} pc_text;

static pc_text text_of(const char *s, size_t max)
{
	pc_text t = {"", 0};

	if (s != NULL) {
		t.s = s;
		t.len = strnlen(s, max);
	}
	return t;
}

/* ---- the report ---------------------------------------------------------- */

/* Cut a UTF-8 string of len bytes back to a whole last character. */
static void utf8_cut(char *s, size_t len)
{
	size_t j = len, need;
	unsigned char lead;

	while (j > 0 && ((unsigned char)s[j - 1] & 0xC0) == 0x80)
		j--;
	if (j == 0)
		return;
	lead = (unsigned char)s[j - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (j - 1 + need > len)
		s[j - 1] = '\0';
}

static int fail(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write the reason into why (cut to cap bytes on a character boundary) and
 * return MTGATE_EPROGRAM_RULE. why may be NULL or cap 0. */
static int fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why == NULL || cap == 0)
		return MTGATE_EPROGRAM_RULE;
	va_start(ap, fmt);
	n = vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
	else if ((size_t)n >= cap)
		utf8_cut(why, cap - 1);
	return MTGATE_EPROGRAM_RULE;
}

/* ---- ASCII phrase matching ----------------------------------------------- */

static unsigned char ch(const pc_text *t, size_t i)
{
	return i < t->len ? (unsigned char)t->s[i] : 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static unsigned char lower(unsigned char c)
{
	return is_upper(c) ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Bytes of the whitespace character at i (space, tab, CR, LF or U+00A0
 * no-break space), 0 when there is none. */
static size_t ws_at(const pc_text *t, size_t i)
{
	unsigned char c = ch(t, i);

	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 1;
	if (c == 0xC2 && ch(t, i + 1) == 0xA0)
		return 2;
	return 0;
}

/*
 * Does pat match t at i? Letters match in either case, ' ' matches one or
 * more whitespace characters, '~' zero or more, any other byte itself. On
 * a match *end gets the index after it.
 */
static bool pat_at(const pc_text *t, size_t i, const char *pat, size_t *end)
{
	for (; *pat; pat++) {
		if (*pat == ' ' || *pat == '~') {
			size_t n, seen = 0;

			while ((n = ws_at(t, i)) > 0) {
				i += n;
				seen++;
			}
			if (*pat == ' ' && seen == 0)
				return false;
			continue;
		}
		if (i >= t->len ||
		    lower(ch(t, i)) != lower((unsigned char)*pat))
			return false;
		i++;
	}
	*end = i;
	return true;
}

/*
 * Is pat somewhere in t? As a whole word (word): a pattern that starts
 * (ends) with a letter or digit must not have one just before (after) it;
 * else as a plain substring ("STOP2Quit" holds "stop").
 */
static bool text_has(const pc_text *t, const char *pat, bool word)
{
	size_t plen = strlen(pat), end;
	bool word_start = word && is_alnum((unsigned char)pat[0]);
	bool word_end = word && plen && is_alnum((unsigned char)pat[plen - 1]);

	for (size_t i = 0; i < t->len; i++) {
		if (word_start && i > 0 && is_alnum(ch(t, i - 1)))
			continue;
		if (!pat_at(t, i, pat, &end))
			continue;
		if (word_end && is_alnum(ch(t, end)))
			continue;
		return true;
	}
	return false;
}

/* Index of the first pattern of the NULL-terminated list in t, or -1. */
static int text_has_any(const pc_text *t, const char *const *pats, bool word)
{
	for (int k = 0; pats[k] != NULL; k++)
		if (text_has(t, pats[k], word))
			return k;
	return -1;
}

/* ---- Unicode folding (names, forbidden words) ---------------------------- */

typedef enum fold_mode {
	FOLD_NAME,  /* punctuation dropped: "Joe’s Club" -> "joes club" */
	FOLD_WORDS, /* punctuation splits words: "joe s club" */
} fold_mode;

typedef struct fold_out {
	char *buf;
	size_t cap, len;
	bool space; /* a space is due before the next letter */
	bool full;
} fold_out;

/* The class of a folded code point: 'a' letter or digit, ' ' whitespace,
 * '.' anything else. U+02BC (modifier letter apostrophe) is punctuation. */
static char fold_class(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return 'a';
	case UTF8PROC_CATEGORY_LM:
		return cp == 0x02BC ? '.' : 'a';
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return ' ';
	case UTF8PROC_CATEGORY_CC:
		return (cp >= 0x09 && cp <= 0x0D) ? ' ' : '.';
	default:
		return '.';
	}
}

static void fold_emit(fold_out *o, utf8proc_int32_t cp, fold_mode mode)
{
	utf8proc_uint8_t enc[4];
	utf8proc_ssize_t n;
	char cls = fold_class(cp);

	if (cls == ' ' || (cls == '.' && mode == FOLD_WORDS)) {
		o->space = o->len > 0;
		return;
	}
	if (cls == '.')
		return;
	n = utf8proc_encode_char(cp, enc);
	if (o->len + (size_t)o->space + (size_t)n + 1 > o->cap) {
		o->full = true;
		return;
	}
	if (o->space)
		o->buf[o->len++] = ' ';
	o->space = false;
	memcpy(o->buf + o->len, enc, (size_t)n);
	o->len += (size_t)n;
}

/*
 * Fold t into out (cap bytes, NUL-terminated): NFKD, case fold, marks
 * stripped; letters and digits kept; whitespace collapsed to one space,
 * none at the ends; other characters and invalid bytes dropped (FOLD_NAME)
 * or made a space (FOLD_WORDS). Stops when out is full (*full set).
 * Returns the length.
 */
static size_t fold(const pc_text *t, fold_mode mode, char *out, size_t cap,
		   bool *full)
{
	const utf8proc_option_t opts = UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE |
				       UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK;
	fold_out o = {out, cap, 0, false, false};
	size_t i = 0;

	while (i < t->len && !o.full) {
		utf8proc_int32_t cp, d[DECOMP_MAX];
		utf8proc_ssize_t step, nd = -1;
		int bound = 0;

		step = utf8proc_iterate((const utf8proc_uint8_t *)t->s + i,
					(utf8proc_ssize_t)(t->len - i), &cp);
		if (step > 0)
			nd = utf8proc_decompose_char(cp, d, DECOMP_MAX, opts,
						     &bound);
		i += step > 0 ? (size_t)step : 1;
		if (nd < 0 || nd > DECOMP_MAX) {
			fold_emit(&o, '.', mode); /* as punctuation */
			continue;
		}
		for (utf8proc_ssize_t k = 0; k < nd && !o.full; k++)
			fold_emit(&o, d[k], mode);
	}
	out[o.len] = '\0';
	if (full != NULL)
		*full = o.full;
	return o.len;
}

/* Is the folded phrase w (non-empty) in the folded text f as whole words? */
static bool folded_has(const char *f, size_t flen, const char *w, size_t wlen)
{
	if (wlen == 0 || wlen > flen)
		return false;
	for (size_t i = 0; i + wlen <= flen; i++) {
		if (i > 0 && f[i - 1] != ' ')
			continue;
		if (i + wlen < flen && f[i + wlen] != ' ')
			continue;
		if (memcmp(f + i, w, wlen) == 0)
			return true;
	}
	return false;
}

/* Does t name the program: the folded name, as whole words, in the folded
 * text? A name that folds to nothing is never named. */
static bool names_program(const pc_text *t, const char *name)
{
	pc_text n = text_of(name, MTGATE_NAME_MAX);
	char fn[FOLD_NAME_MAX], ft[FOLD_TEXT_MAX];
	size_t nlen = fold(&n, FOLD_NAME, fn, sizeof fn, NULL);
	size_t tlen = fold(t, FOLD_NAME, ft, sizeof ft, NULL);

	return folded_has(ft, tlen, fn, nlen);
}

/* The name as given, for a message: at most MTGATE_NAME_MAX bytes. */
static int name_len(const char *name)
{
	return name ? (int)strnlen(name, MTGATE_NAME_MAX) : 0;
}

/* ---- PROG-4: keywords ---------------------------------------------------- */

static int check_keyword(const mtgate_program_def *def, char *why, size_t cap)
{
	pc_text kw = text_of(def->keyword, PC_KEYWORD_SCAN);
	char f[RULES_WORD_MAX + 1], w[RULES_WORD_MAX + 1];
	bool full;
	size_t flen = fold(&kw, FOLD_NAME, f, sizeof f, &full), n = 0;

	/* Too long for any reserved word. Spaces out: "OPT OUT" is "optout". */
	if (full)
		return 0;
	for (size_t i = 0; i < flen; i++)
		if (f[i] != ' ')
			w[n++] = f[i];
	w[n] = '\0';
	if (!rules_word_reserved(w))
		return 0;
	return fail(why, cap, "PROG-4: keyword \"%.*s\" is a reserved word",
		    (int)kw.len, kw.s);
}

/* ---- shared detectors: frequency, web address, toll-free number ---------- */

/* The forms of a period after "/": the first is the one a message shows. */
static const char *const period_forms[][4] = {
	[MTGATE_PERIOD_NONE] = {"?", NULL},
	[MTGATE_PERIOD_DAY] = {"day", "dy", "d", NULL},
	[MTGATE_PERIOD_WEEK] = {"wk", "week", NULL},
	[MTGATE_PERIOD_MONTH] = {"mo", "mon", "month", NULL},
};

static const char *const *period_of(mtgate_period p)
{
	unsigned k = (unsigned)p;

	if (k >= sizeof period_forms / sizeof period_forms[0])
		k = MTGATE_PERIOD_NONE;
	return period_forms[k];
}

/* Does t state "Max <limit> msgs/<period>"? "msg", "message(s)" for
 * "msgs", "per" for "/"; spaces optional; any case. */
static bool has_frequency(const pc_text *t, uint32_t limit, mtgate_period p)
{
	static const char *const units[] = {"msgs", "msg", "messages",
					    "message", NULL};
	static const char *const seps[] = {"~/~", " per ", NULL};
	const char *const *forms = period_of(p);
	char pat[PAT_MAX];

	if (forms == period_forms[MTGATE_PERIOD_NONE])
		return false;
	for (int u = 0; units[u]; u++)
		for (int s = 0; seps[s]; s++)
			for (int f = 0; forms[f]; f++) {
				snprintf(pat, sizeof pat,
					 "max~%" PRIu32 "~%s%s%s", limit,
					 units[u], seps[s], forms[f]);
				if (text_has(t, pat, true))
					return true;
			}
	return false;
}

static int fail_frequency(char *why, size_t cap, const char *part,
			  const mtgate_program_def *def)
{
	return fail(why, cap, "%s lacks \"Max %" PRIu32 " %s/%s\"", part,
		    def->limit, def->limit == 1 ? "msg" : "msgs",
		    period_of(def->period)[0]);
}

/*
 * A web address: "http://", "https://", "www.", or a domain: a letter or
 * digit, '.', a top-level domain of 2+ letters not followed by a letter,
 * digit or '-' ("joesclub.com", "example.co.za"). A capitalised word after
 * the dot ("apply.Max") starts a sentence, not a domain.
 */
static bool has_web_address(const pc_text *t)
{
	static const char *const prefixes[] = {"http://", "https://", "www.",
					       NULL};

	if (text_has_any(t, prefixes, false) >= 0)
		return true;
	for (size_t i = 1; i < t->len; i++) {
		size_t k = 0;
		unsigned char after;

		if (ch(t, i) != '.' || !is_alnum(ch(t, i - 1)))
			continue;
		while (is_alpha(ch(t, i + 1 + k)))
			k++;
		after = ch(t, i + 1 + k);
		if (k < 2 || is_alnum(after) || after == '-')
			continue;
		if (is_upper(ch(t, i + 1)) && !is_upper(ch(t, i + 2)))
			continue;
		return true;
	}
	return false;
}

static bool digits_at(const pc_text *t, size_t i, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!is_digit(ch(t, i + k)))
			return false;
	return true;
}

static size_t sep_at(const pc_text *t, size_t i)
{
	unsigned char c = ch(t, i);

	return c == ' ' || c == '-' || c == '.';
}

/*
 * A North American toll-free number starting at i: [+1 | 1][sep]
 * 8XX or (8XX), [sep] 3 digits, [sep] 4 digits, with XX one of 00 33 44
 * 55 66 77 88, no digit just before or after; sep is one ' ', '-', '.'.
 */
static bool tollfree_at(const pc_text *t, size_t i)
{
	bool paren;

	if (i > 0 && is_digit(ch(t, i - 1)))
		return false;
	if (ch(t, i) == '+' && ch(t, i + 1) != '1')
		return false;
	i += ch(t, i) == '+';
	if (ch(t, i) == '1') {
		i++;
		i += sep_at(t, i);
	}
	paren = ch(t, i) == '(';
	i += paren;
	if (!digits_at(t, i, 3) || ch(t, i) != '8' ||
	    ch(t, i + 1) != ch(t, i + 2) || !strchr("0345678", ch(t, i + 1)))
		return false;
	i += 3;
	if (paren && ch(t, i++) != ')')
		return false;
	i += sep_at(t, i);
	if (!digits_at(t, i, 3))
		return false;
	i += 3;
	i += sep_at(t, i);
	return digits_at(t, i, 4) && !is_digit(ch(t, i + 4));
}

static bool has_tollfree(const pc_text *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (tollfree_at(t, i))
			return true;
	return false;
}

/* ---- PROG-5: billed programs --------------------------------------------- */

static const char *const interval_names[] = {
	[MTGATE_INTERVAL_ONCE] = "once",
	[MTGATE_INTERVAL_DAILY] = "daily",
	[MTGATE_INTERVAL_WEEKLY] = "weekly",
	[MTGATE_INTERVAL_MONTHLY] = "monthly",
};

/* Whole-word phrases that state each charge frequency. */
static const char *const interval_phrases[][12] = {
	[MTGATE_INTERVAL_ONCE] = {"once", "one-off", "one off", "per request",
				  "one-time", "one time", NULL},
	[MTGATE_INTERVAL_DAILY] = {"daily", "per day", "~/~day", "a day",
				   "each day", "every day", NULL},
	[MTGATE_INTERVAL_WEEKLY] = {"weekly", "per week", "~/~week", "~/~wk",
				    "a week", "each week", "every week", NULL},
	[MTGATE_INTERVAL_MONTHLY] = {"monthly", "per month", "~/~month",
				     "~/~mo", "a month", "each month",
				     "every month", NULL},
};

/* Folded whole words that offer something for nothing (CC-4). */
static const char *const free_words[] = {
	"free",          "freebie",   "freebies", "mahala",      "gratis",
	"complimentary", "no charge", "no cost",  "for nothing", NULL};

/* Folded whole words: a short list of common English profanity. */
static const char *const profanity[] = {
	"fuck",     "fucking", "fucker",  "motherfucker", "shit", "bullshit",
	"bitch",    "bastard", "asshole", "arsehole",     "cunt", "wanker",
	"bollocks", "twat",    "whore",   "slut",         NULL};

static bool is_decsep(unsigned char c)
{
	return c == '.' || c == ',';
}

/*
 * Does t state the price as a number token: for 500 cents "5", "5.00" or
 * "5,00"; for 550 "5.50" or "5,50". A currency prefix ("R5", "ZAR 5",
 * "$5") is allowed; a digit just before, or a fraction ("0.5"), is not.
 */
static bool states_price(const pc_text *t, uint32_t cents)
{
	char major[16], minor[3];
	size_t mlen;

	mlen = (size_t)snprintf(major, sizeof major, "%" PRIu32, cents / 100);
	snprintf(minor, sizeof minor, "%02" PRIu32, cents % 100);
	for (size_t i = 0; i < t->len; i++) {
		size_t a = i;

		if (!is_digit(ch(t, i)) || (i > 0 && is_digit(ch(t, i - 1))))
			continue;
		if (i >= 2 && is_decsep(ch(t, i - 1)) && is_digit(ch(t, i - 2)))
			continue;
		while (is_digit(ch(t, a)))
			a++;
		if (a - i != mlen || memcmp(t->s + i, major, mlen) != 0)
			continue;
		if (is_decsep(ch(t, a)) && is_digit(ch(t, a + 1))) {
			if (ch(t, a + 1) == (unsigned char)minor[0] &&
			    ch(t, a + 2) == (unsigned char)minor[1] &&
			    !is_digit(ch(t, a + 3)))
				return true;
		} else if (cents % 100 == 0) {
			return true;
		}
	}
	return false;
}

/* A "free" variant, a URL or profanity in t; part names t in the message. */
static int check_forbidden(const pc_text *t, const char *part, char *why,
			   size_t cap)
{
	char f[FOLD_TEXT_MAX];
	size_t flen = fold(t, FOLD_WORDS, f, sizeof f, NULL);

	for (int k = 0; free_words[k]; k++)
		if (folded_has(f, flen, free_words[k], strlen(free_words[k])))
			return fail(why, cap, "PROG-5: %s contains \"%s\"",
				    part, free_words[k]);
	if (has_web_address(t))
		return fail(why, cap, "PROG-5: %s contains a URL", part);
	for (int k = 0; profanity[k]; k++)
		if (folded_has(f, flen, profanity[k], strlen(profanity[k])))
			return fail(why, cap, "PROG-5: %s contains profanity",
				    part);
	return 0;
}

/* CC-4, CC-5: the service text (the confirm text) and the name. */
static int check_service_text(const mtgate_program_def *def, char *why,
			      size_t cap)
{
	pc_text t = text_of(def->confirm_text, MTGATE_TEXT_MAX + 1);
	pc_text name = text_of(def->name, MTGATE_NAME_MAX);
	int rc;

	if (!names_program(&t, def->name))
		return fail(why, cap,
			    "PROG-5: service text does not name the service "
			    "\"%.*s\"",
			    name_len(def->name), name.s);
	if (!states_price(&t, def->price_cents))
		return fail(why, cap,
			    "PROG-5: service text does not state the price "
			    "%" PRIu32 ".%02" PRIu32,
			    def->price_cents / 100, def->price_cents % 100);
	if (text_has_any(&t, interval_phrases[def->interval], true) < 0)
		return fail(why, cap,
			    "PROG-5: service text does not state the charge "
			    "frequency (%s)",
			    interval_names[def->interval]);
	rc = check_forbidden(&t, "service text", why, cap);
	if (rc == 0)
		rc = check_forbidden(&name, "service name", why, cap);
	return rc;
}

static bool currency_ok(const char *c)
{
	return c != NULL &&
	       strnlen(c, MTGATE_CURRENCY_MAX + 1) == MTGATE_CURRENCY_MAX &&
	       is_alpha((unsigned char)c[0]) && is_alpha((unsigned char)c[1]) &&
	       is_alpha((unsigned char)c[2]);
}

static int check_billing(const mtgate_program_def *def,
			 uint32_t max_charge_cents, char *why, size_t cap)
{
	int iv = (int)def->interval;
	bool has_currency = def->currency != NULL && def->currency[0] != '\0';

	if (def->price_cents == 0) {
		if (iv != MTGATE_INTERVAL_NONE || has_currency)
			return fail(why, cap,
				    "PROG-5: a standard-rate program has no "
				    "charge interval or currency");
		return 0;
	}
	if (iv <= MTGATE_INTERVAL_NONE || iv >= MTGATE_INTERVAL_MAX)
		return fail(why, cap,
			    "PROG-5: a billed program needs a charge interval "
			    "(once, daily, weekly or monthly)");
	if (max_charge_cents == 0)
		max_charge_cents = MTGATE_MAX_CHARGE_DEFAULT;
	if (def->price_cents > max_charge_cents)
		return fail(why, cap,
			    "PROG-5: price %" PRIu32 " cents is over the "
			    "operator maximum of %" PRIu32,
			    def->price_cents, max_charge_cents);
	if (!currency_ok(def->currency))
		return fail(why, cap,
			    "PROG-5: currency must be a 3-letter code");
	return check_service_text(def, why, cap);
}

/* ---- PROG-1, PROG-2, PROG-3: welcome, help, quit ------------------------- */

static const char *const rates_phrases[] = {"msg~&~data rates may apply",
					    "msgs~&~data rates may apply",
					    "msg and data rates may apply",
					    "msgs and data rates may apply",
					    "message~&~data rates may apply",
					    "messages~&~data rates may apply",
					    "message and data rates may apply",
					    "messages and data rates may apply",
					    NULL};

static int check_welcome(const mtgate_program_def *def, char *why, size_t cap)
{
	pc_text t = text_of(def->welcome_text, MTGATE_TEXT_MAX + 1);
	bool recurring = def->kind == MTGATE_KIND_RECURRING;

	if (text_has_any(&t, rates_phrases, true) < 0)
		return fail(why, cap,
			    "PROG-1: welcome text lacks \"Msg&Data rates may "
			    "apply\"");
	if (recurring && !has_frequency(&t, def->limit, def->period))
		return fail_frequency(why, cap, "PROG-1: welcome text", def);
	if (recurring && !text_has(&t, "stop", false))
		return fail(why, cap,
			    "PROG-1: welcome text lacks a STOP instruction");
	if (!text_has(&t, "help", false))
		return fail(why, cap,
			    "PROG-1: welcome text lacks a HELP instruction");
	return 0;
}

static int check_help(const mtgate_program_def *def, char *why, size_t cap)
{
	pc_text t = text_of(def->help_text, MTGATE_TEXT_MAX + 1);

	if (!has_tollfree(&t) && !has_web_address(&t))
		return fail(why, cap,
			    "PROG-2: help text lacks a toll-free number or a "
			    "web address");
	if (def->kind == MTGATE_KIND_RECURRING &&
	    !has_frequency(&t, def->limit, def->period))
		return fail_frequency(why, cap, "PROG-2: help text", def);
	return 0;
}

static const char *const quit_phrases[] = {"quit",         "unsubscribed",
					   "opted out",    "opted-out",
					   "stopped",      "cancelled",
					   "canceled",     "no more messages",
					   "no more msgs", NULL};

static int check_quit(const mtgate_program_def *def, char *why, size_t cap)
{
	pc_text t = text_of(def->quit_text, MTGATE_TEXT_MAX + 1);

	if (!names_program(&t, def->name))
		return fail(why, cap,
			    "PROG-3: quit text does not name the program "
			    "\"%.*s\"",
			    name_len(def->name), def->name ? def->name : "");
	if (text_has_any(&t, quit_phrases, true) < 0)
		return fail(why, cap,
			    "PROG-3: quit text does not confirm the quit");
	return 0;
}

/* ---- PROG-6: one SMS each ------------------------------------------------ */

/* Non-ASCII characters of the GSM 03.38 default alphabet. */
static const uint16_t gsm7_latin[] = {
	0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5,
	0x00C6, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF,
	0x00E0, 0x00E4, 0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1,
	0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393, 0x0394, 0x0398,
	0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
};

/* Septets of cp in GSM-7: 1 (default alphabet), 2 (escape to the extension
 * table: form feed ^ { } \ [ ~ ] | €), or 0 when it has none. */
static int gsm7_cost(utf8proc_int32_t cp)
{
	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '\f' || cp == 0x20AC)
		return 2;
	if (cp < 0x20 || cp == 0x7F || cp == '`')
		return 0;
	if (cp < 0x80)
		return strchr("^{}\\[~]|", (int)cp) ? 2 : 1;
	for (size_t k = 0; k < sizeof gsm7_latin / sizeof gsm7_latin[0]; k++)
		if (gsm7_latin[k] == cp)
			return 1;
	return 0;
}

static const char *const text_names[] = {"welcome", "help", "quit", "confirm"};

static int check_length(const char *s, const char *part, char *why, size_t cap)
{
	pc_text t = text_of(s, MTGATE_TEXT_MAX + 1);
	size_t gsm = 0, ucs2 = 0, i = 0;
	bool all_gsm = true;

	if (t.len > MTGATE_TEXT_MAX)
		return fail(why, cap, "PROG-6: %s text is over %d bytes", part,
			    MTGATE_TEXT_MAX);
	while (i < t.len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t step;
		int cost;

		step = utf8proc_iterate((const utf8proc_uint8_t *)t.s + i,
					(utf8proc_ssize_t)(t.len - i), &cp);
		if (step <= 0)
			return fail(why, cap,
				    "PROG-6: %s text is not valid UTF-8", part);
		i += (size_t)step;
		cost = gsm7_cost(cp);
		all_gsm = all_gsm && cost > 0;
		gsm += (size_t)cost;
		ucs2 += cp > 0xFFFF ? 2 : 1;
	}
	if (all_gsm && gsm > GSM7_MAX)
		return fail(why, cap,
			    "PROG-6: %s text is %zu GSM-7 characters, over %d",
			    part, gsm, GSM7_MAX);
	if (!all_gsm && ucs2 > UCS2_MAX)
		return fail(why, cap,
			    "PROG-6: %s text is %zu UCS-2 characters, over %d",
			    part, ucs2, UCS2_MAX);
	return 0;
}

static int check_lengths(const mtgate_program_def *def, char *why, size_t cap)
{
	const char *texts[] = {def->welcome_text, def->help_text,
			       def->quit_text, def->confirm_text};
	int rc;

	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		rc = check_length(texts[k], text_names[k], why, cap);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the whole definition ------------------------------------------------ */

int rules_check_program(const mtgate_program_def *def,
			uint32_t max_charge_cents, char *why, size_t cap)
{
	int rc;

	if (why != NULL && cap > 0)
		why[0] = '\0';
	if (def == NULL)
		return MTGATE_EINVAL;
	rc = check_keyword(def, why, cap);
	if (rc == 0)
		rc = check_billing(def, max_charge_cents, why, cap);
	if (rc == 0)
		rc = check_welcome(def, why, cap);
	if (rc == 0)
		rc = check_help(def, why, cap);
	if (rc == 0)
		rc = check_quit(def, why, cap);
	if (rc == 0)
		rc = check_lengths(def, why, cap);
	return rc;
}
