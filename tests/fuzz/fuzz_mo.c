/*
 * libFuzzer target for engine/rules/token.c and engine/rules/mo_step.c.
 *
 * Input: 5 header bytes, then the MO text (arbitrary bytes).
 *   byte 0..3  one per program of a fixed short code (KWA, KWB double
 *              opt-in, JOES, GAME double opt-in with no texts):
 *              bits 0-1 state (0 NONE, 1 OPTED_IN, 2 OPTED_OUT, 3 PENDING),
 *              0x04 last_optout, 0x08 pending_expired, 0x40 voided,
 *              0x80 decline_cooldown (0x10, 0x20 unused, so the digits
 *              '0'..'3' are plain states and seeds stay readable)
 *   byte 4     bits 0-2 n_progs (mod 5), 0x08 scope_open, bits 4-5 the
 *              generic help (0 NULL, 1 "", 2-3 a text)
 * A shorter input is all header (zero-padded) and an empty MO.
 *
 * Checks, on every input: the tokenizer's contract (errors, bounds, each
 * word valid, folded and stable under a second tokenize) and the step's
 * (bounds of replies and actions, every index valid, replies non-NULL,
 * non-empty, distinct and NUL-terminated within their buffer, each change
 * allowed by the program's state and matched by exactly one action, the
 * step deterministic). A broken check aborts with file and line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rules.h"
#include "util/assert.h"

#define HDR     5
#define N_PROGS 4

/* a and b are the same decision for n programs (replies into built[]
 * compared by slot and text: the rest of built[] is not part of it). */
static void check_same(uint32_t n, const rules_mo_out *a, const rules_mo_out *b)
{
	MTG_ASSERT(memcmp(a->change, b->change, n * sizeof(a->change[0])) == 0);
	MTG_ASSERT(memcmp(a->repeat, b->repeat, n * sizeof(a->repeat[0])) == 0);
	MTG_ASSERT(a->scope_open == b->scope_open);
	MTG_ASSERT(a->scope_close == b->scope_close);
	MTG_ASSERT(a->n_replies == b->n_replies);
	for (uint32_t r = 0; r < a->n_replies; r++) {
		if (a->reply[r] == a->built[0] || a->reply[r] == a->built[1]) {
			MTG_ASSERT(b->reply[r] ==
				   b->built[a->reply[r] == a->built[1]]);
			MTG_ASSERT(strcmp(a->reply[r], b->reply[r]) == 0);
		} else {
			MTG_ASSERT(a->reply[r] == b->reply[r]);
		}
	}
	MTG_ASSERT(a->n_actions == b->n_actions);
	MTG_ASSERT(memcmp(a->action, b->action,
			  a->n_actions * sizeof(a->action[0])) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rules_prog progs_base[N_PROGS] = {
	{.id = 1,
	 .keyword = "KWA",
	 .name = "A",
	 .welcome_text = "KWA welcome",
	 .help_text = "KWA help",
	 .quit_text = "KWA quit",
	 .confirm_text = "KWA confirm"},
	{.id = 2,
	 .keyword = "KWB",
	 .name = "B",
	 .welcome_text = "KWB welcome",
	 .help_text = "KWB help",
	 .quit_text = "KWA quit", /* shared */
	 .confirm_text = "KWB confirm",
	 .double_opt_in = true},
	{.id = 3,
	 .keyword = "JOES",
	 .name = "J",
	 .welcome_text = "JOES welcome",
	 .help_text = "",
	 .quit_text = "JOES quit",
	 .confirm_text = ""},
	{.id = 4, .keyword = "GAME", .name = "G", .double_opt_in = true},
};

static const char *const sc_helps[4] = {NULL, "", "SC help", "SC help"};

static bool is_pending(const rules_prog *p)
{
	return p->state == MTGATE_STATE_PENDING && !p->pending_expired;
}

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static void check_words(size_t len, int rc, const rules_words *w)
{
	rules_words again;

	MTG_ASSERT(rc == 0 || rc == MTGATE_EMO_LONG || rc == MTGATE_EMO_UTF8);
	MTG_ASSERT((rc == MTGATE_EMO_LONG) == (len > RULES_MO_MAX));
	MTG_ASSERT(rc == 0 || w->n == 0);
	MTG_ASSERT(w->n <= RULES_WORDS_MAX);
	for (uint32_t i = 0; i < w->n; i++) {
		size_t n = bounded_len(w->w[i], RULES_WORD_MAX + 1);

		MTG_ASSERT(n >= 1 && n <= RULES_WORD_MAX);
		MTG_ASSERT(w->len[i] == n || w->len[i] == RULES_WORD_MAX + 1);
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)w->w[i][k];

			MTG_ASSERT(c >= 0x80 || (c >= 'a' && c <= 'z') ||
				   (c >= '0' && c <= '9'));
		}
		/* A folded word is valid UTF-8 and folds to itself. */
		MTG_ASSERT(rules_tokenize(w->w[i], n, &again) == 0);
		MTG_ASSERT(again.n == 1 && again.len[0] == n);
		MTG_ASSERT(memcmp(again.w[0], w->w[i], n + 1) == 0);
	}
}

static bool known_text(const rules_mo_in *in, const rules_mo_out *o,
		       const char *r)
{
	for (uint32_t i = 0; i < in->n_progs; i++) {
		const rules_prog *p = &in->progs[i];

		if (r == p->welcome_text || r == p->help_text ||
		    r == p->quit_text || r == p->confirm_text)
			return true;
	}
	if (r == in->sc_help_text)
		return true;
	for (int b = 0; b < 2; b++) {
		if (r == o->built[b])
			return memchr(r, '\0', RULES_TEXT_MAX) != NULL;
	}
	return false;
}

static rules_action_kind kind_of(rules_change c)
{
	static const rules_action_kind k[RULES_CHANGE_MAX] = {
		[RULES_OPTIN] = RULES_ACT_OPTED_IN,
		[RULES_PENDING] = RULES_ACT_PENDING,
		[RULES_CONFIRM] = RULES_ACT_CONFIRMED,
		[RULES_DECLINE] = RULES_ACT_DECLINED,
		[RULES_FAIL] = RULES_ACT_FAILED,
		[RULES_OPTOUT] = RULES_ACT_OPTED_OUT,
	};

	return k[c];
}

/* The change is one the program's state allows. */
static void check_change(const rules_prog *p, rules_change c, bool repeat)
{
	bool active = p->state == MTGATE_STATE_OPTED_IN || is_pending(p);

	MTG_ASSERT(c < RULES_CHANGE_MAX);
	MTG_ASSERT(!repeat ||
		   (c == RULES_OPTIN && p->state == MTGATE_STATE_OPTED_IN));
	if (c == RULES_OPTOUT)
		MTG_ASSERT(active);
	if (c == RULES_CONFIRM || c == RULES_DECLINE)
		MTG_ASSERT(is_pending(p));
	if (c == RULES_FAIL)
		MTG_ASSERT(p->state == MTGATE_STATE_PENDING);
	if (c == RULES_PENDING || (c == RULES_OPTIN && !repeat)) {
		MTG_ASSERT(p->double_opt_in == (c == RULES_PENDING));
		MTG_ASSERT(p->state != MTGATE_STATE_OPTED_IN);
		MTG_ASSERT(!is_pending(p) && !p->decline_cooldown);
	}
	if (p->state == MTGATE_STATE_PENDING && p->pending_expired)
		MTG_ASSERT(c == RULES_FAIL || c == RULES_PENDING ||
			   c == RULES_OPTIN);
}

static void check_actions(const rules_mo_in *in, const rules_mo_out *o)
{
	uint32_t per_prog[N_PROGS] = {0};

	MTG_ASSERT(o->n_actions <= RULES_ACTIONS_MAX);
	MTG_ASSERT(o->n_actions <= 2 * in->n_progs + 1);
	for (uint32_t a = 0; a < o->n_actions; a++) {
		const rules_action *x = &o->action[a];

		MTG_ASSERT(x->kind > 0 && x->kind < RULES_ACT_MAX);
		if (x->prog == UINT32_MAX) {
			MTG_ASSERT(x->kind == RULES_ACT_SCOPE_QUESTION ||
				   x->kind == RULES_ACT_HELP);
			continue;
		}
		MTG_ASSERT(x->prog < in->n_progs);
		MTG_ASSERT(x->kind != RULES_ACT_SCOPE_QUESTION);
		if (x->kind == RULES_ACT_HELP)
			continue;
		/* Every other action is the one of its program's change. */
		MTG_ASSERT(kind_of(o->change[x->prog]) == x->kind);
		per_prog[x->prog]++;
	}
	for (uint32_t i = 0; i < in->n_progs; i++)
		MTG_ASSERT(per_prog[i] == (o->change[i] != RULES_NONE));
}

static void check_out(const rules_mo_in *in, const rules_mo_out *o)
{
	MTG_ASSERT(o->n_replies <= RULES_REPLIES_MAX);
	for (uint32_t r = 0; r < o->n_replies; r++) {
		MTG_ASSERT(o->reply[r] != NULL);
		MTG_ASSERT(known_text(in, o, o->reply[r]));
		MTG_ASSERT(o->reply[r][0] != '\0');
		for (uint32_t q = 0; q < r; q++)
			MTG_ASSERT(strcmp(o->reply[q], o->reply[r]) != 0);
	}
	for (uint32_t i = 0; i < in->n_progs; i++)
		check_change(&in->progs[i], o->change[i], o->repeat[i]);
	check_actions(in, o);
	MTG_ASSERT(!o->scope_close || in->scope_open);
	MTG_ASSERT(!(o->scope_open && o->scope_close));
	if (o->scope_open) {
		MTG_ASSERT(o->n_replies == 1 && o->reply[0] == o->built[0]);
		for (uint32_t i = 0; i < in->n_progs; i++)
			MTG_ASSERT(o->change[i] == RULES_NONE ||
				   o->change[i] == RULES_FAIL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rules_words words;
	static rules_mo_out out, out2;
	rules_prog progs[N_PROGS];
	uint8_t hdr[HDR] = {0};
	rules_mo_in in;
	int rc;

	memcpy(hdr, data, size < HDR ? size : HDR);
	data = size < HDR ? data + size : data + HDR;
	size = size < HDR ? 0 : size - HDR;

	memcpy(progs, progs_base, sizeof(progs));
	for (int i = 0; i < N_PROGS; i++) {
		progs[i].state = (mtgate_state)(hdr[i] & 3);
		progs[i].last_optout = hdr[i] & 0x04;
		progs[i].pending_expired = hdr[i] & 0x08;
		progs[i].voided = hdr[i] & 0x40;
		progs[i].decline_cooldown = hdr[i] & 0x80;
	}
	in = (rules_mo_in){
		.words = &words,
		.progs = progs,
		.n_progs = (uint32_t)(hdr[4] & 7) % (N_PROGS + 1),
		.scope_open = hdr[4] & 0x08,
		.sc_help_text = sc_helps[(hdr[4] >> 4) & 3],
	};

	rc = rules_tokenize((const char *)data, size, &words);
	check_words(size, rc, &words);
	rules_mo_step(&in, &out);
	check_out(&in, &out);
	/* The step must not read what it did not write: a second run over a
	 * dirty output decides the same. */
	memset(&out2, 0xA5, sizeof(out2));
	rules_mo_step(&in, &out2);
	check_same(in.n_progs, &out, &out2);
	return 0;
}
