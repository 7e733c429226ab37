/*
 * doimap: the double opt-ins a shard is tracking, by (number, program):
 * each request that is PENDING (asked when, from which channel, at what
 * price; whether its one re-notify is used) and each decline younger than
 * 24 hours (DOI-6). It is small next to the consent table (only what is in
 * flight or cooling down) and lets the MO rules and the expiry sweep decide
 * from memory. Rebuilt at recovery from the consent records.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones); grows by 2 at 3/4 load. Owner: the shard's owner thread.
 */
#ifndef MTGATE_STORE_DOIMAP_H
#define MTGATE_STORE_DOIMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOI_RENOTIFIED 0x01 /* the one re-notify is used (DOI-3) */
#define DOI_DECLINED   0x02 /* a NO: at_ms is when (DOI-6) */

typedef struct doi_entry {
	int64_t at_ms;        /* asked, or declined */
	uint32_t price_cents; /* what the request asked */
	uint8_t interval;
	uint8_t channel;
	uint8_t flags; /* DOI_* */
} doi_entry;

typedef struct doimap_slot {
	uint64_t number; /* 0 = empty */
	uint32_t program;
	doi_entry e;
} doimap_slot;

typedef struct doimap {
	doimap_slot *slots;
	size_t cap, used;
} doimap;

int doimap_init(doimap *m);
void doimap_free(doimap *m);
doi_entry *doimap_get(doimap *m, uint64_t number, uint32_t program);
/* Insert or replace; -1 when memory runs out. */
int doimap_put(doimap *m, uint64_t number, uint32_t program,
	       const doi_entry *e);
void doimap_del(doimap *m, uint64_t number, uint32_t program);
size_t doimap_bytes(const doimap *m);

#endif
