/*
 * rules_mo_step: one MO on one short code -> the changes to make and the
 * replies to send (OPTIN-2..4, STOP-1..6, HELP-1..3, DOI-4..6).
 *
 * Pure: reads *in, writes *out, no allocation,
 * no I/O, work bounded by RULES_WORDS_MAX * RULES_PROGS_MAX comparisons.
 *
 * Words and programs
 *  - The words are rules_tokenize's: folded lower case. A word "names" a
 *    program when it equals the program's keyword, ASCII case-insensitive.
 *    A cut word (len > RULES_WORD_MAX) names nothing and is no reserved
 *    word. A NULL or empty keyword is named by nothing.
 *  - active  = state OPTED_IN, or PENDING and !pending_expired.
 *    pending = PENDING and !pending_expired.
 *  - Reserved words (whole words only, anywhere in the MO):
 *      quit   stop end quit cancel unsubscribe revoke optout arret fin,
 *             and the two words "opt" "out" in a row (STOP-1)
 *      global stopall endall quitall cancelall, or a quit word (also
 *             "opt out") followed at once by "all" (STOP-5)
 *      help   help info aide (HELP-1)
 *      yes    yes;  no  no;  start  start unstop
 *
 * Precedence: the first rule that applies decides the whole MO.
 *  1. STOP, when the MO holds a quit or global word:
 *     a. global: every active program is opted out (STOP-5).
 *     b. else qualified, when some word names a program (either order,
 *        anywhere): each named active program is opted out; a named
 *        program that is not active is not changed but its quit text is
 *        still sent (STOP-2).
 *     c. else unqualified: with the scope question open, every active
 *        program is opted out (STOP-4); else with one active program it
 *        is opted out (STOP-3); with two or more nothing changes, the
 *        scope question opens (out->scope_open) and is the only reply:
 *        "Multiple keywords active. Reply with one of KWA STOP, KWB STOP
 *        or with STOP ALL to quit all." naming the active programs in
 *        progs order, as many as fit in RULES_TEXT_MAX (every one when
 *        keywords are at most RULES_WORD_MAX bytes and at most 14 are
 *        active), built in out->built[0], action SCOPE_QUESTION on
 *        UINT32_MAX; with none active, nothing at all.
 *     An opt-out is change OPTOUT, action OPTED_OUT and the program's quit
 *     text (STOP-6). a and b, and c with the question open, close the
 *     question (out->scope_close) when it is open. The question's 30
 *     minutes are the engine's: it passes scope_open only while the
 *     question is younger, and opts out of all when it times out.
 *  2. HELP, when the MO holds a help word (HELP-1). No state changes. The
 *     answer is the first non-empty one of: the help texts of the named
 *     programs (HELP-2); of the programs in state OPTED_IN (HELP-3); the
 *     short code's generic help (action HELP on UINT32_MAX); the help
 *     texts of every program. Each program answered (non-empty help text)
 *     gets action HELP, even when its text equals an earlier reply. So
 *     HELP is always answered when any text exists.
 *  3. YES/NO, when the MO holds "yes" or "no" and some program is
 *     pending. "Named" here means named and pending.
 *     - "no" (it wins over "yes" in the same MO: a confirmation must be
 *       unambiguous, CC-8/CC-10): the named programs, or every pending
 *       one when none is named, are declined: change DECLINE, action
 *       DECLINED, no reply (DOI-6).
 *     - "yes": the named programs are confirmed; else the only pending
 *       one; with several pending and none named, nothing changes and the
 *       one reply asks "Reply YES KWA or YES KWB to confirm." ("Reply YES
 *       KWA, YES KWB or YES KWC to confirm." for three or more, as many as
 *       fit), built in out->built[1], with no action. Confirm is change CONFIRM, action CONFIRMED and the welcome
 *       text (DOI-4).
 *     With nothing pending, "yes" counts as a start word and "no" as an
 *     ordinary word: the MO goes on to rules 4..6.
 *  4. START, when the MO holds a start word (or "yes"): every program in
 *     state OPTED_OUT with last_optout, not voided and not in its decline
 *     cooldown is opted in again (OPTIN-4). With none, nothing (START still
 *     decides the MO: "KWA START" does not opt in to KWA).
 *  5. Keyword, when the FIRST word names a program (OPTIN-2): opted in ->
 *     change OPTIN with repeat set, action OPTED_IN, welcome text (OPTIN-3);
 *     pending -> nothing (DOI-2); decline cooldown -> nothing (DOI-6);
 *     otherwise it is opted in (a voided program too: a new opt-in after
 *     a deactivation is valid, NUM-3). Keywords are unique on a short
 *     code; were two equal, both programs would be handled.
 *  6. Otherwise every pending program fails: change FAIL, action FAILED,
 *     no reply (DOI-5). HELP, START and keyword MOs are not answers to a
 *     pending request and leave it pending.
 *  "Opted in" is: double opt-in -> change PENDING, action PENDING, confirm
 *  text (DOI-1); else change OPTIN, action OPTED_IN, welcome text.
 *  Then, whatever rule decided: each PENDING program with pending_expired
 *  that the MO did not change fails (change FAIL, action FAILED): it is
 *  never confirmed (DOI-5). A keyword MO may re-request it (PENDING).
 *
 * Output bounds
 *  - change[i] and repeat[i] are set for every i < n_progs (RULES_NONE,
 *    false by default); at most one change per program.
 *  - Actions are in the order the rule decides, programs in progs order,
 *    expired failures last; at most two per program (HELP then FAILED)
 *    plus one on UINT32_MAX, so never more than RULES_ACTIONS_MAX.
 *  - Replies point into the texts of in->progs, in->sc_help_text or
 *    out->built. Empty and NULL texts are skipped, a text equal to an
 *    earlier reply is not sent twice, and past RULES_REPLIES_MAX replies
 *    are dropped (the actions stay).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rules.h"
#include "util/assert.h"

#define W_QUIT   RULES_W_QUIT
#define W_GLOBAL RULES_W_GLOBAL
#define W_ALL    RULES_W_ALL
#define W_OPT    RULES_W_OPT
#define W_OUT    RULES_W_OUT
#define W_HELP   RULES_W_HELP
#define W_YES    RULES_W_YES
#define W_NO     RULES_W_NO
#define W_START  RULES_W_START

/* match[] bits: some word names the program; the first word does. */
#define M_ANY   1
#define M_FIRST 2

typedef struct step {
	const rules_mo_in *in;
	rules_mo_out *out;
	uint32_t any; /* union of the words' classes */
	bool quit;    /* STOP-1 */
	bool global;  /* STOP-5 */
	bool named;   /* some word names some program */
	uint8_t match[RULES_PROGS_MAX];
} step;

typedef bool (*prog_pred)(const rules_prog *p);

static bool is_pending(const rules_prog *p)
{
	return p->state == MTGATE_STATE_PENDING && !p->pending_expired;
}

static bool is_active(const rules_prog *p)
{
	return p->state == MTGATE_STATE_OPTED_IN || is_pending(p);
}

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	while (n < max && s[n])
		n++;
	return n;
}

/* Classify the words: quit (STOP-1, "opt out" included) and global
 * (STOP-5: a global word, or a quit word followed at once by "all"). */
static void scan_words(step *s)
{
	const rules_words *w = s->in->words;
	uint32_t prev = 0, cls;
	bool quit_ends = false; /* the previous word ends a quit word */

	for (uint32_t j = 0; j < w->n; j++) {
		cls = rules_word_class(w->w[j], w->len[j]);
		s->any |= cls;
		if ((cls & W_ALL) && quit_ends)
			s->global = true;
		quit_ends = (cls & W_QUIT) || ((cls & W_OUT) && (prev & W_OPT));
		if (quit_ends || (cls & W_GLOBAL))
			s->quit = true;
		if (cls & W_GLOBAL)
			s->global = true;
		prev = cls;
	}
}

static bool names(const rules_words *w, uint32_t j, const char *kw,
		  size_t kwlen)
{
	if (w->len[j] != kwlen)
		return false;
	for (size_t k = 0; k < kwlen; k++) {
		char c = kw[k];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != w->w[j][k])
			return false;
	}
	return true;
}

/* Which programs the words name (ASCII case-insensitive, whole words). */
static void match_progs(step *s)
{
	const rules_words *w = s->in->words;

	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const char *kw = s->in->progs[i].keyword;
		size_t kwlen = bounded_len(kw, RULES_WORD_MAX + 1);

		s->match[i] = 0;
		if (kwlen == 0 || kwlen > RULES_WORD_MAX)
			continue;
		for (uint32_t j = 0; j < w->n; j++) {
			if (!names(w, j, kw, kwlen))
				continue;
			s->match[i] |= M_ANY | (j == 0 ? M_FIRST : 0);
			s->named = true;
		}
	}
}

/* ---- output --------------------------------------------------------------- */

static void reply(step *s, const char *text)
{
	rules_mo_out *o = s->out;

	if (!text || !text[0])
		return;
	for (uint32_t r = 0; r < o->n_replies; r++) {
		if (o->reply[r] == text || strcmp(o->reply[r], text) == 0)
			return;
	}
	if (o->n_replies < RULES_REPLIES_MAX)
		o->reply[o->n_replies++] = text;
}

static void act(step *s, rules_action_kind kind, uint32_t prog)
{
	rules_mo_out *o = s->out;

	MTG_ASSERT(o->n_actions < RULES_ACTIONS_MAX);
	MTG_ASSERT(kind > 0 && kind < RULES_ACT_MAX);
	o->action[o->n_actions].kind = kind;
	o->action[o->n_actions].prog = prog;
	o->n_actions++;
}

static void set_change(step *s, uint32_t i, rules_change c,
		       rules_action_kind kind, const char *text)
{
	MTG_ASSERT(i < s->in->n_progs);
	MTG_ASSERT(s->out->change[i] == RULES_NONE);
	s->out->change[i] = c;
	act(s, kind, i);
	reply(s, text);
}

static void opt_out(step *s, uint32_t i)
{
	set_change(s, i, RULES_OPTOUT, RULES_ACT_OPTED_OUT,
		   s->in->progs[i].quit_text);
}

/* A new opt-in: PENDING for double opt-in (DOI-1), else OPTED_IN. */
static void opt_in(step *s, uint32_t i)
{
	const rules_prog *p = &s->in->progs[i];

	if (p->double_opt_in)
		set_change(s, i, RULES_PENDING, RULES_ACT_PENDING,
			   p->confirm_text);
	else
		set_change(s, i, RULES_OPTIN, RULES_ACT_OPTED_IN,
			   p->welcome_text);
}

static uint32_t count(const step *s, prog_pred pred)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->in->n_progs; i++)
		n += pred(&s->in->progs[i]);
	return n;
}

/* ---- built texts ---------------------------------------------------------- */

/* head item (sep item)* (last_sep item) tail; item = pre KEYWORD post. */
typedef struct list_fmt {
	const char *head, *pre, *post, *sep, *last_sep, *tail;
} list_fmt;

static const list_fmt scope_fmt = {
	"Multiple keywords active. Reply with one of ",
	"",
	" STOP",
	", ",
	", ",
	" or with STOP ALL to quit all.",
};

static const list_fmt yes_fmt = {
	"Reply ", "YES ", "", ", ", " or ", " to confirm.",
};

static size_t put(char *buf, size_t at, const char *str, size_t n)
{
	MTG_ASSERT(at + n < RULES_TEXT_MAX);
	memcpy(buf + at, str, n);
	return at + n;
}

static size_t put_upper(char *buf, size_t at, const char *str, size_t n)
{
	MTG_ASSERT(at + n < RULES_TEXT_MAX);
	for (size_t k = 0; k < n; k++) {
		char c = str[k];

		buf[at + k] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	return at + n;
}

/* How many of the programs pred picks (with a keyword) fit in one text. */
static uint32_t list_fit(const step *s, const list_fmt *f, prog_pred pred)
{
	size_t fixed = strlen(f->head) + strlen(f->tail) + 1;
	size_t items = 0, seps, kwlen;
	uint32_t k = 0;

	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const rules_prog *p = &s->in->progs[i];

		kwlen = bounded_len(p->keyword, RULES_TEXT_MAX);
		if (!pred(p) || kwlen == 0)
			continue;
		items += strlen(f->pre) + kwlen + strlen(f->post);
		seps = k == 0 ? 0
			      : (k - 1) * strlen(f->sep) + strlen(f->last_sep);
		if (fixed + items + seps > RULES_TEXT_MAX)
			break;
		k++;
	}
	return k;
}

/* Build the list text of the programs pred picks into buf; returns buf. */
static const char *list_build(const step *s, const list_fmt *f, prog_pred pred,
			      char *buf)
{
	uint32_t fit = list_fit(s, f, pred), k = 0;
	size_t at = 0, kwlen;

	at = put(buf, at, f->head, strlen(f->head));
	for (uint32_t i = 0; i < s->in->n_progs && k < fit; i++) {
		const rules_prog *p = &s->in->progs[i];
		const char *sep = k + 1 == fit ? f->last_sep : f->sep;

		kwlen = bounded_len(p->keyword, RULES_TEXT_MAX);
		if (!pred(p) || kwlen == 0)
			continue;
		if (k > 0)
			at = put(buf, at, sep, strlen(sep));
		at = put(buf, at, f->pre, strlen(f->pre));
		at = put_upper(buf, at, p->keyword, kwlen);
		at = put(buf, at, f->post, strlen(f->post));
		k++;
	}
	at = put(buf, at, f->tail, strlen(f->tail));
	buf[at] = '\0';
	return buf;
}

/* ---- 1. STOP -------------------------------------------------------------- */

static void opt_out_active(step *s)
{
	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		if (is_active(&s->in->progs[i]))
			opt_out(s, i);
	}
}

static void step_stop(step *s)
{
	const rules_mo_in *in = s->in;
	rules_mo_out *o = s->out;
	uint32_t n_active;

	if (s->global || (!s->named && in->scope_open)) {
		opt_out_active(s); /* STOP-5, STOP-4 second unqualified */
		o->scope_close = in->scope_open;
		return;
	}
	if (s->named) { /* STOP-2 */
		for (uint32_t i = 0; i < in->n_progs; i++) {
			if (!(s->match[i] & M_ANY))
				continue;
			if (is_active(&in->progs[i]))
				opt_out(s, i);
			else
				reply(s, in->progs[i].quit_text);
		}
		o->scope_close = in->scope_open;
		return;
	}
	n_active = count(s, is_active);
	if (n_active == 1) { /* STOP-3 */
		opt_out_active(s);
	} else if (n_active > 1) { /* STOP-4: ask the scope */
		reply(s, list_build(s, &scope_fmt, is_active, o->built[0]));
		o->scope_open = true;
		act(s, RULES_ACT_SCOPE_QUESTION, UINT32_MAX);
	}
}

/* ---- 2. HELP -------------------------------------------------------------- */

enum help_pick { HELP_NAMED, HELP_OPTED_IN, HELP_ALL };

static uint32_t help_progs(step *s, enum help_pick pick)
{
	const rules_prog *p;
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		p = &s->in->progs[i];
		if (pick == HELP_NAMED && !(s->match[i] & M_ANY))
			continue;
		if (pick == HELP_OPTED_IN && p->state != MTGATE_STATE_OPTED_IN)
			continue;
		if (!p->help_text || !p->help_text[0])
			continue;
		reply(s, p->help_text);
		act(s, RULES_ACT_HELP, i);
		n++;
	}
	return n;
}

static void step_help(step *s)
{
	const char *generic = s->in->sc_help_text;

	if (s->named && help_progs(s, HELP_NAMED)) /* HELP-2 */
		return;
	if (help_progs(s, HELP_OPTED_IN)) /* HELP-3 */
		return;
	if (generic && generic[0]) {
		reply(s, generic);
		act(s, RULES_ACT_HELP, UINT32_MAX);
		return;
	}
	help_progs(s, HELP_ALL); /* HELP is always answered */
}

/* ---- 3. YES / NO ---------------------------------------------------------- */

/* The pending programs the MO names, or every pending one if it names none
 * of them: each gets change c. Returns how many did. */
static uint32_t pending_each(step *s, bool named_only, rules_change c,
			     rules_action_kind kind, bool welcome)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const rules_prog *p = &s->in->progs[i];

		if (!is_pending(p) || (named_only && !(s->match[i] & M_ANY)))
			continue;
		set_change(s, i, c, kind, welcome ? p->welcome_text : NULL);
		n++;
	}
	return n;
}

static bool step_yes_no(step *s)
{
	uint32_t n_pending;

	if (!(s->any & (W_YES | W_NO)))
		return false;
	n_pending = count(s, is_pending);
	if (n_pending == 0)
		return false;
	if (s->any & W_NO) { /* DOI-6 */
		if (!pending_each(s, true, RULES_DECLINE, RULES_ACT_DECLINED,
				  false))
			pending_each(s, false, RULES_DECLINE,
				     RULES_ACT_DECLINED, false);
		return true;
	}
	/* DOI-4 */
	if (pending_each(s, true, RULES_CONFIRM, RULES_ACT_CONFIRMED, true))
		return true;
	if (n_pending == 1)
		pending_each(s, false, RULES_CONFIRM, RULES_ACT_CONFIRMED,
			     true);
	else
		reply(s, list_build(s, &yes_fmt, is_pending, s->out->built[1]));
	return true;
}

/* ---- 4. START, 5. keyword, 6. anything else ---------------------------------- */

/* Called when rule 3 did not apply, so "yes" here has nothing pending. */
static bool step_start(step *s)
{
	if (!(s->any & (W_START | W_YES)))
		return false;
	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const rules_prog *p = &s->in->progs[i];

		if (p->state == MTGATE_STATE_OPTED_OUT && p->last_optout &&
		    !p->voided && !p->decline_cooldown)
			opt_in(s, i); /* OPTIN-4 */
	}
	return true;
}

static bool step_keyword(step *s)
{
	rules_mo_out *o = s->out;
	bool applies = false;

	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const rules_prog *p = &s->in->progs[i];

		if (!(s->match[i] & M_FIRST))
			continue;
		applies = true;
		if (p->state == MTGATE_STATE_OPTED_IN) { /* OPTIN-3 */
			o->repeat[i] = true;
			set_change(s, i, RULES_OPTIN, RULES_ACT_OPTED_IN,
				   p->welcome_text);
		} else if (!is_pending(p) && !p->decline_cooldown) {
			opt_in(s, i); /* OPTIN-2; DOI-2, DOI-6: nothing */
		}
	}
	return applies;
}

/* DOI-5: a reply that is not YES or NO fails every pending request. */
static void fail_pending(step *s)
{
	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		if (is_pending(&s->in->progs[i]))
			set_change(s, i, RULES_FAIL, RULES_ACT_FAILED, NULL);
	}
}

/* DOI-5: a request pending for 24 h fails with the next MO. */
static void fail_expired(step *s)
{
	for (uint32_t i = 0; i < s->in->n_progs; i++) {
		const rules_prog *p = &s->in->progs[i];

		if (p->state == MTGATE_STATE_PENDING && p->pending_expired &&
		    s->out->change[i] == RULES_NONE)
			set_change(s, i, RULES_FAIL, RULES_ACT_FAILED, NULL);
	}
}

void rules_mo_step(const rules_mo_in *in, rules_mo_out *out)
{
	step s; /* match[] is set for i < n_progs by match_progs() */

	MTG_ASSERT(in && out && in->words);
	MTG_ASSERT(in->words->n <= RULES_WORDS_MAX);
	MTG_ASSERT(in->n_progs <= RULES_PROGS_MAX);
	MTG_ASSERT(in->progs || in->n_progs == 0);
	/* What is read is set: change and repeat of the programs, the counts
	 * (built[] is written before a reply points into it). */
	memset(out->change, 0, in->n_progs * sizeof(out->change[0]));
	memset(out->repeat, 0, in->n_progs * sizeof(out->repeat[0]));
	out->scope_open = out->scope_close = false;
	out->n_replies = out->n_actions = 0;
	s.in = in;
	s.out = out;
	s.any = 0;
	s.quit = s.global = s.named = false;
	scan_words(&s);
	match_progs(&s);
	if (s.quit)
		step_stop(&s);
	else if (s.any & W_HELP)
		step_help(&s);
	else if (!step_yes_no(&s) && !step_start(&s) && !step_keyword(&s))
		fail_pending(&s);
	fail_expired(&s);
}
