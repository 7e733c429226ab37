/*
 * store_table: the consent store of one shard.
 *
 * Open addressing with linear probing over 16-byte slots, four to a cache
 * line. A slot holds one (number, program) consent with its state and its
 * counter, so a gate touches one line in the common case.
 *
 *   word 0  number                       0 = empty slot
 *   word 1  bits  0..19  program id      (MTGATE_PROGRAMS_MAX = 2^20)
 *           bits 20..22  state           (STORE_ST_*)
 *           bit  23      dirty           counter changed since last flush
 *           bits 24..26  flags           SLOT_LASTOUT, SLOT_SCOPE, SLOT_SC
 *           bits 32..47  period          recurring: period index of count
 *                                        one-off: credits granted
 *           bits 48..63  count           recurring: MTs counted in period
 *                                        one-off: credits used
 *
 * The home slot depends on the number only (fastrange of xxh64(number)), so
 * all consents of one number sit in one probe run: query and deactivation
 * walk that run. Slots are never deleted (an opt-out is a state), so there
 * are no tombstones.
 *
 * Load: sized at 5/8 for a known count (recovery, a size hint); grows by 7/5
 * when 3/4 full, so the load stays between 15/28 and 3/4. Memory: 16 bytes
 * / load per consent, 21.3 to 29.9 bytes (25.6 after a restart), under the
 * 32-byte bar with the shard's dirty list. Speed: a gate's cost is its probe
 * length, which grows fast with the load (linear probing: 1.8 slots at 5/8,
 * 2.5 at 3/4, 4.5 at 7/8 for a hit); at 10 M consents a gate at 5/8 load is
 * about an eighth faster than at 3/4 (engine_bench, BM_GateDryRun).
 *
 * Owner: the shard's owner thread. Nothing here is thread-safe.
 */
#ifndef MTGATE_STORE_TABLE_H
#define MTGATE_STORE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_state {
	STORE_ST_NONE = 0,
	STORE_ST_IN = 1,
	STORE_ST_OUT = 2,
	STORE_ST_PENDING = 3,
	STORE_ST_VOID = 4, /* opted out by a number deactivation */
	STORE_ST_MAX
};

typedef struct store_slot {
	uint64_t number;
	uint64_t meta;
} store_slot;

_Static_assert(sizeof(store_slot) == 16, "slot is 16 bytes");

#define SLOT_PROG_MASK   0xFFFFFULL
#define SLOT_STATE_SHIFT 20
#define SLOT_STATE_MASK  (7ULL << SLOT_STATE_SHIFT)
#define SLOT_DIRTY       (1ULL << 23)
/* Flags (bits 24..31), kept by every rewrite of a slot's state: */
#define SLOT_FLAG_SHIFT 24
#define SLOT_LASTOUT                                                           \
	(1ULL << 24) /* in the latest opt-out on its short
				      * code (OPTIN-4: START) */
#define SLOT_SCOPE                                                             \
	(1ULL << 25) /* its short code's STOP-4 question is
				      * open: the gate asks the record */
#define SLOT_SC                                                                \
	(1ULL << 26) /* not a consent: the number's record
				      * of a short code; program = sc id,
				      * state 1 = question open, period and
				      * count = the second it opened */
#define SLOT_FLAGS        (SLOT_LASTOUT | SLOT_SCOPE)
#define SLOT_KEY_MASK     (SLOT_PROG_MASK | SLOT_SC)
#define SLOT_PERIOD_SHIFT 32
#define SLOT_COUNT_SHIFT  48

static inline uint32_t slot_program(uint64_t meta)
{
	return (uint32_t)(meta & SLOT_PROG_MASK);
}
static inline unsigned slot_state(uint64_t meta)
{
	return (unsigned)((meta & SLOT_STATE_MASK) >> SLOT_STATE_SHIFT);
}
static inline uint16_t slot_period(uint64_t meta)
{
	return (uint16_t)(meta >> SLOT_PERIOD_SHIFT);
}
static inline uint16_t slot_count(uint64_t meta)
{
	return (uint16_t)(meta >> SLOT_COUNT_SHIFT);
}
static inline uint64_t slot_meta(uint32_t program, unsigned state, bool dirty,
				 uint16_t period, uint16_t count)
{
	return (uint64_t)program | ((uint64_t)state << SLOT_STATE_SHIFT) |
	       (dirty ? SLOT_DIRTY : 0) |
	       ((uint64_t)period << SLOT_PERIOD_SHIFT) |
	       ((uint64_t)count << SLOT_COUNT_SHIFT);
}

typedef struct store_table {
	store_slot *slots; /* anonymous mapping of map_len bytes */
	size_t map_len;
	uint64_t cap;     /* slots */
	uint64_t used;    /* occupied slots */
	uint64_t grow_at; /* grow when used reaches this (3/4 of cap) */
	uint64_t grows; /* times the table was rebuilt (dirty indexes moved) */
} store_table;

int table_init(store_table *t, uint64_t expected);
void table_free(store_table *t);

static inline uint64_t table_home(const store_table *t, uint64_t hash)
{
	return (uint64_t)(((unsigned __int128)hash * t->cap) >> 64);
}

static inline void table_prefetch(const store_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slots[table_home(t, hash)], 1, 3);
}

/* The slot of (number, key), or NULL. key is a program id, or a short
 * code id | SLOT_SC for the number's record of that short code. */
static inline store_slot *table_find_key(store_table *t, uint64_t hash,
					 uint64_t number, uint64_t key)
{
	uint64_t i = table_home(t, hash);

	for (;;) {
		store_slot *s = &t->slots[i];
		if (s->number == number && (s->meta & SLOT_KEY_MASK) == key)
			return s;
		if (s->number == 0)
			return NULL;
		if (++i == t->cap)
			i = 0;
	}
}

/* The consent of (number, program), or NULL. */
static inline store_slot *table_find(store_table *t, uint64_t hash,
				     uint64_t number, uint32_t program)
{
	return table_find_key(t, hash, number, program);
}

/* The slot of (number, key), inserted in state NONE if absent. May grow
 * the table, which moves every slot: pointers from before are stale.
 * Returns NULL only when memory runs out. */
store_slot *table_upsert_key(store_table *t, uint64_t hash, uint64_t number,
			     uint64_t key);

static inline store_slot *table_upsert(store_table *t, uint64_t hash,
				       uint64_t number, uint32_t program)
{
	return table_upsert_key(t, hash, number, program);
}

/* Insert n slots whose (number, program) is not in the table yet (the
 * recovery scan). Returns -1 only when memory runs out. */
int table_load(store_table *t, const store_slot *src, size_t n);

/* After a bulk load sized from an estimate: rebuild at load 5/8 if the
 * table came out emptier than the growth policy allows (15/28). Returns -1
 * only when memory runs out. */
int table_fit(store_table *t);

/* Index of the first slot of number's probe run (walk until an empty slot,
 * wrapping at cap, and match number). */
static inline uint64_t table_run_start(const store_table *t, uint64_t hash)
{
	return table_home(t, hash);
}

size_t table_bytes(const store_table *t);

/*
 * xxh64 of the number as 8 little-endian bytes, seed 0: the one hash used for
 * shard choice and home slot, stable across builds and machines, so a
 * number's shard never changes with the binary.
 *
 * This is XXH64 written out for exactly one 8-byte lane (the library's
 * general path: one round, one merge, the avalanche), because the library
 * call, and even its inlined form, spent a tenth of a gate in its length
 * dispatch. tests/engine/test_number.c checks it against libxxhash's XXH64
 * on a million inputs.
 */
static inline uint64_t store_rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t store_hash(uint64_t number)
{
	const uint64_t p1 = 0x9E3779B185EBCA87ULL, p2 = 0xC2B2AE3D27D4EB4FULL,
		       p3 = 0x165667B19E3779F9ULL, p4 = 0x85EBCA77C2B2AE63ULL,
		       p5 = 0x27D4EB2F165667C5ULL;
	uint64_t h = p5 + 8; /* seed 0, length 8 */
	uint64_t k = store_rotl64(number * p2, 31) * p1;

	h ^= k;
	h = store_rotl64(h, 27) * p1 + p4;
	h ^= h >> 33;
	h *= p2;
	h ^= h >> 29;
	h *= p3;
	h ^= h >> 32;
	return h;
}

#endif
