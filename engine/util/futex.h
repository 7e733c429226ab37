/*
 * futex wait and wake on a 32-bit atomic word (Linux). Waits may return
 * early (a wake, a signal, a changed value); callers re-check in a loop.
 */
#ifndef MTGATE_UTIL_FUTEX_H
#define MTGATE_UTIL_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *w == val, at most timeout_ms (< 0: no limit). */
static inline void futex_wait_ms(_Atomic uint32_t *w, uint32_t val,
				 int64_t timeout_ms)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
}

static inline void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	futex_wait_ms(w, val, -1);
}

static inline void futex_wake_all(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL,
		NULL, 0);
}

#endif
