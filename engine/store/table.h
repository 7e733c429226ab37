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
 *           bits 32..47  period          recurring: period index of count
 *                                        one-off: credits granted
 *           bits 48..63  count           recurring: MTs counted in period
 *                                        one-off: credits used
 *
 * The home slot depends on the number only (fastrange of xxh64(number)), so
 * all consents of one number sit in one probe run: query and deactivation
 * walk that run. Slots are never deleted (an opt-out is a state), so there
 * are no tombstones. The table grows by 3/2 when 7/8 full; with a size hint
 * it is sized once. Memory: 16 bytes / load factor per consent, which is
 * 18.3 to 27.4 bytes.
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

#define SLOT_PROG_MASK 0xFFFFFULL
#define SLOT_STATE_SHIFT 20
#define SLOT_STATE_MASK (7ULL << SLOT_STATE_SHIFT)
#define SLOT_DIRTY (1ULL << 23)
#define SLOT_PERIOD_SHIFT 32
#define SLOT_COUNT_SHIFT 48

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
	store_slot *slots;
	uint64_t cap;     /* slots */
	uint64_t used;    /* occupied slots */
	uint64_t grow_at; /* grow when used reaches this (7/8 of cap) */
	uint64_t grows;   /* times the table was rebuilt (dirty indexes moved) */
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

/* The slot of (number, program), or NULL. */
static inline store_slot *table_find(store_table *t, uint64_t hash,
				     uint64_t number, uint32_t program)
{
	uint64_t i = table_home(t, hash);

	for (;;) {
		store_slot *s = &t->slots[i];
		if (s->number == number && slot_program(s->meta) == program)
			return s;
		if (s->number == 0)
			return NULL;
		if (++i == t->cap)
			i = 0;
	}
}

/* The slot of (number, program), inserted in state NONE if absent. May grow
 * the table, which moves every slot: pointers from before are stale.
 * Returns NULL only when memory runs out. */
store_slot *table_upsert(store_table *t, uint64_t hash, uint64_t number,
			 uint32_t program);

/* Index of the first slot of number's probe run (walk until an empty slot,
 * wrapping at cap, and match number). */
static inline uint64_t table_run_start(const store_table *t, uint64_t hash)
{
	return table_home(t, hash);
}

size_t table_bytes(const store_table *t);

/* xxh64 of the number, the one hash used for shard choice and home slot. */
uint64_t store_hash(uint64_t number);

#endif
