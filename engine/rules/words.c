/*
 * The reserved words of the rules (STOP-1, STOP-5, HELP-1, DOI-4, DOI-6,
 * OPTIN-4): one table for the rule step, which classifies MO words, and for
 * the program checks, which refuse them as keywords (PROG-4).
 */
#include <string.h>

#include "rules/rules.h"

/* Whole folded words, by length (the step looks one length up). */
static const struct {
	char w[12];
	uint8_t len;
	uint16_t cls;
} reserved[] = {
	{"no", 2, RULES_W_NO},
	{"end", 3, RULES_W_QUIT},
	{"fin", 3, RULES_W_QUIT},
	{"all", 3, RULES_W_ALL},
	{"opt", 3, RULES_W_OPT},
	{"out", 3, RULES_W_OUT},
	{"yes", 3, RULES_W_YES},
	{"stop", 4, RULES_W_QUIT},
	{"quit", 4, RULES_W_QUIT},
	{"help", 4, RULES_W_HELP},
	{"info", 4, RULES_W_HELP},
	{"aide", 4, RULES_W_HELP},
	{"arret", 5, RULES_W_QUIT},
	{"start", 5, RULES_W_START},
	{"cancel", 6, RULES_W_QUIT},
	{"revoke", 6, RULES_W_QUIT},
	{"optout", 6, RULES_W_QUIT},
	{"endall", 6, RULES_W_GLOBAL},
	{"unstop", 6, RULES_W_START},
	{"stopall", 7, RULES_W_GLOBAL},
	{"quitall", 7, RULES_W_GLOBAL},
	{"cancelall", 9, RULES_W_GLOBAL},
	{"unsubscribe", 11, RULES_W_QUIT},
};

#define N_RESERVED (sizeof(reserved) / sizeof(reserved[0]))
#define LEN_MAX    11 /* "unsubscribe" */

/* first[len]: the first entry of that length; first[len + 1] ends it. */
static const uint8_t first[LEN_MAX + 2] = {0,  0,  0,  1,  7,  12, 14,
					   19, 21, 21, 22, 22, 23};

_Static_assert(N_RESERVED == 23, "update first[] with the table");

uint32_t rules_word_class(const char *w, size_t len)
{
	if (len > LEN_MAX)
		return 0; /* a cut word (len > RULES_WORD_MAX) too */
	for (unsigned r = first[len]; r < first[len + 1]; r++)
		if (memcmp(w, reserved[r].w, len) == 0)
			return reserved[r].cls;
	return 0;
}

bool rules_word_reserved(const char *word)
{
	char low[LEN_MAX + 1];
	size_t len;

	if (word == NULL || (len = strnlen(word, LEN_MAX + 1)) > LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)(word[i] >= 'A' && word[i] <= 'Z'
					? word[i] - 'A' + 'a'
					: word[i]);
	/* "opt" and "out" alone are ordinary words; "optout" is reserved. */
	return (rules_word_class(low, len) &
		(uint32_t) ~(RULES_W_OPT | RULES_W_OUT)) != 0;
}
