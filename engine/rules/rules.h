/*
 * rules: the consent rules of RULES.md as pure functions, with no engine
 * state, no I/O and no allocation, so that each can be tested and fuzzed on
 * its own. The engine (engine/store/rules_glue.c) gathers what a step
 * needs from its store, calls the step, and turns its plan into one
 * durable change.
 *
 *   rules_tokenize     MO text -> words (STOP-1 folding: case, accents,
 *                      punctuation)
 *   rules_mo_step      words + the number's state on one short code ->
 *                      what to change and what to answer (OPTIN-2..4,
 *                      STOP-1..6, HELP-1..3, DOI-4..6)
 *   rules_check_program a program definition -> the first rule it breaks
 *                      (PROG-1..6)
 *
 * Bounds: an MO is at most RULES_MO_MAX bytes and RULES_WORDS_MAX words of
 * at most RULES_WORD_MAX bytes each (longer words are cut, and still never
 * match a reserved word or keyword); a step sees at most RULES_PROGS_MAX
 * programs of one short code.
 */
#ifndef MTGATE_RULES_H
#define MTGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"

#define RULES_MO_MAX    1600 /* bytes of MO text (MTGATE_MO_MAX) */
#define RULES_WORDS_MAX 64   /* words kept from one MO */
#define RULES_WORD_MAX  32   /* bytes of one folded word (MTGATE_KEYWORD_MAX) */
#define RULES_PROGS_MAX 256  /* programs on one short code a step sees */
#define RULES_TEXT_MAX  640  /* bytes of one built reply text */

/* ---- tokenizing (STOP-1, HELP-1) ------------------------------------------- */

/*
 * An MO as words: Unicode case folding and accents stripped (utf8proc:
 * NFKD, case fold, marks stripped), then split on everything that is not a
 * letter or a digit, so punctuation never joins or splits a word and
 * "ARRÊT!" is the word "arret". Words are lower-case UTF-8, in order.
 */
typedef struct rules_words {
	uint32_t n;
	/* strlen(w[i]); RULES_WORD_MAX + 1 for a word cut to RULES_WORD_MAX
	 * bytes, which then never equals a reserved word or keyword */
	uint8_t len[RULES_WORDS_MAX];
	char w[RULES_WORDS_MAX][RULES_WORD_MAX + 1]; /* NUL-terminated */
} rules_words;

/* 0, MTGATE_EMO_LONG (over RULES_MO_MAX bytes) or MTGATE_EMO_UTF8 (not
 * valid UTF-8). Words past RULES_WORDS_MAX are dropped. */
int rules_tokenize(const char *text, size_t len, rules_words *out);

/* ---- one MO on one short code ----------------------------------------------------- */

/* What the store holds for the number and one program of the short code. */
typedef struct rules_prog {
	uint32_t id;
	const char *keyword; /* as defined: upper case */
	const char *name;
	const char *welcome_text, *help_text, *quit_text, *confirm_text;
	bool double_opt_in;
	mtgate_state state;    /* the number's consent now */
	bool voided;           /* opted out by a number deactivation */
	bool last_optout;      /* covered by the latest opt-out on this short
			       * code (OPTIN-4) */
	bool pending_expired;  /* PENDING for 24 h or more (DOI-5) */
	bool decline_cooldown; /* declined less than 24 h ago (DOI-6) */
} rules_prog;

typedef struct rules_mo_in {
	const rules_words *words;
	const rules_prog *progs; /* every program of the short code the
				  * sender may act on, ids ascending */
	uint32_t n_progs;
	bool scope_open;          /* the STOP-4 question is open and younger
				  * than 30 minutes */
	const char *sc_help_text; /* the short code's generic help (HELP-3);
				  * NULL or "" when none */
} rules_mo_in;

/* What the step decides for one program. */
typedef enum rules_change {
	RULES_NONE = 0,
	RULES_OPTIN,   /* OPTED_IN (single opt-in, START, repeat) */
	RULES_PENDING, /* a double opt-in starts: PENDING (DOI-1) */
	RULES_CONFIRM, /* PENDING -> OPTED_IN (DOI-4) */
	RULES_DECLINE, /* PENDING -> declined, 24 h cooldown (DOI-6) */
	RULES_FAIL,    /* PENDING -> failed (DOI-5) */
	RULES_OPTOUT,  /* OPTED_OUT (STOP-2..5) */
	RULES_CHANGE_MAX
} rules_change;

/* Actions, as `mtgate mo` prints them (ACTION <KIND> SC[:KW]). */
typedef enum rules_action_kind {
	RULES_ACT_OPTED_IN = 1,
	RULES_ACT_OPTED_OUT,
	RULES_ACT_PENDING,
	RULES_ACT_CONFIRMED,
	RULES_ACT_DECLINED,
	RULES_ACT_FAILED,
	RULES_ACT_SCOPE_QUESTION,
	RULES_ACT_HELP,
	RULES_ACT_MAX
} rules_action_kind;

typedef struct rules_action {
	rules_action_kind kind;
	uint32_t prog; /* index into in->progs; UINT32_MAX: the short code */
} rules_action;

#define RULES_REPLIES_MAX 16
#define RULES_ACTIONS_MAX (2 * RULES_PROGS_MAX + 2)

typedef struct rules_mo_out {
	/* per program (index as in->progs): the change to make */
	rules_change change[RULES_PROGS_MAX];
	bool repeat[RULES_PROGS_MAX]; /* an opt-in that changes nothing but is
				       * recorded (OPTIN-3) */
	/* the scope question: open it (STOP-4), or close it */
	bool scope_open, scope_close;
	/* replies in order: a program's text (points into in->progs), or a
	 * built text (scope question, YES question) in built[] */
	uint32_t n_replies;
	const char *reply[RULES_REPLIES_MAX];
	uint32_t n_actions;
	rules_action action[RULES_ACTIONS_MAX];
	char built[2][RULES_TEXT_MAX];
} rules_mo_out;

/*
 * Decide one MO. Pure: reads in, writes out, nothing else. Only what the
 * decision holds is written: change[] and repeat[] below in->n_progs, the
 * scope flags, the replies and actions, and a built[] text a reply points
 * to; the rest of *out is left as it was. The order of
 * precedence (STOP before HELP before YES/NO before START before keywords)
 * and every rule it applies are in docs/rules.md.
 */
void rules_mo_step(const rules_mo_in *in, rules_mo_out *out);

/* ---- program definitions (PROG-1..6) ----------------------------------------------- */

/*
 * 0 when def keeps every PROG rule; else MTGATE_EPROGRAM_RULE with why
 * (cap bytes, NUL-terminated) naming the rule and the missing or offending
 * part, e.g. `PROG-1: welcome text lacks "Max 4 msgs/mo"`.
 * max_charge_cents is the operator's maximum single charge (PROG-5).
 */
int rules_check_program(const mtgate_program_def *def,
			uint32_t max_charge_cents, char *why, size_t cap);

/* ---- reserved words (engine/rules/words.c) ----------------------------------- */

/* What a word means to the rules; 0 for an ordinary word. */
enum rules_word_class {
	RULES_W_QUIT = 1 << 0,   /* stop end quit cancel unsubscribe revoke
				  * optout arret fin (STOP-1) */
	RULES_W_GLOBAL = 1 << 1, /* stopall endall quitall cancelall (STOP-5) */
	RULES_W_ALL = 1 << 2,    /* all: global after a quit word (STOP-5) */
	RULES_W_OPT = 1 << 3,    /* opt, out: "opt out" is a quit word */
	RULES_W_OUT = 1 << 4,
	RULES_W_HELP = 1 << 5,  /* help info aide (HELP-1) */
	RULES_W_YES = 1 << 6,   /* DOI-4 */
	RULES_W_NO = 1 << 7,    /* DOI-6 */
	RULES_W_START = 1 << 8, /* start unstop (OPTIN-4) */
};

/* The class bits of a folded word of len bytes (as rules_tokenize gives
 * it: lower case); 0 when it is no reserved word. */
uint32_t rules_word_class(const char *w, size_t len);

/* True when word (any ASCII case) is reserved and may not be a keyword
 * (PROG-4): the quit, global, ALL, help, yes, no and start words; "opt"
 * and "out" alone are not. */
bool rules_word_reserved(const char *word);

#endif
