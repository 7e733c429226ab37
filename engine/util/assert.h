/*
 * Invariant checks. A broken invariant is a bug, never bad input: it prints
 * file and line and aborts, in every build (redis serverAssert).
 */
#ifndef MTGATE_UTIL_ASSERT_H
#define MTGATE_UTIL_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define MTG_ASSERT(cond)                                                       \
	do {                                                                   \
		if (__builtin_expect(!(cond), 0)) {                            \
			fprintf(stderr,                                        \
				"mtgate: assertion failed: %s at %s:%d\n",     \
				#cond, __FILE__, __LINE__);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
