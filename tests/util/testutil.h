/*
 * Test helpers shared by every cmocka test: temporary directories, an
 * injectable clock and UTC date building. Nothing here touches the network.
 */
#ifndef MTGATE_TESTUTIL_H
#define MTGATE_TESTUTIL_H

#include <stdatomic.h>
#include <stdint.h>

/* mkdtemp under $TMPDIR (or /tmp). Returns a malloc'd path the caller frees;
 * aborts the test run when no directory can be made. */
char *tu_tmpdir(const char *tag);
/* rm -rf path. Safe on NULL. */
void tu_rmrf(const char *path);

/* An injected clock: pass tu_clock_now as opts.clock and &clk as clock_ctx. */
typedef struct tu_clock {
	_Atomic int64_t now_ms;
} tu_clock;
int64_t tu_clock_now(void *ctx);

/* Milliseconds since the epoch of a UTC calendar time. */
int64_t tu_utc(int year, int month, int day, int hour, int min, int sec);

#define TU_MINUTE_MS (60 * 1000LL)
#define TU_HOUR_MS   (60 * TU_MINUTE_MS)
#define TU_DAY_MS    (24 * TU_HOUR_MS)

#endif
