#include "store/table.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/assert.h"

uint64_t store_hash(uint64_t number)
{
	/* The number as 8 little-endian bytes, seed 0: stable across builds,
	 * so a number's shard never changes with the binary. */
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(number >> (8 * i));
	return XXH64(b, sizeof(b), 0);
}

static int table_alloc(store_table *t, uint64_t cap)
{
	t->slots = calloc(cap, sizeof(store_slot));
	if (t->slots == NULL)
		return -1;
	t->cap = cap;
	t->used = 0;
	t->grow_at = cap - cap / 8;
	return 0;
}

int table_init(store_table *t, uint64_t expected)
{
	uint64_t cap = expected + expected / 3; /* load 3/4 after a reload */
	memset(t, 0, sizeof(*t));
	if (cap < 64)
		cap = 64;
	return table_alloc(t, cap);
}

void table_free(store_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void table_place(store_table *t, const store_slot *src)
{
	uint64_t i = table_home(t, store_hash(src->number));
	while (t->slots[i].number != 0)
		if (++i == t->cap)
			i = 0;
	t->slots[i] = *src;
	t->used++;
}

/* Rebuild at 3/2 the size. Keeps each number's run contiguous because
 * placement depends on the number alone. */
static int table_grow(store_table *t)
{
	store_table old = *t;
	uint64_t cap = t->cap + t->cap / 2;

	if (table_alloc(t, cap) < 0) {
		*t = old;
		return -1;
	}
	for (uint64_t i = 0; i < old.cap; i++)
		if (old.slots[i].number != 0)
			table_place(t, &old.slots[i]);
	MTG_ASSERT(t->used == old.used);
	t->grows = old.grows + 1;
	free(old.slots);
	return 0;
}

store_slot *table_upsert(store_table *t, uint64_t hash, uint64_t number,
			 uint32_t program)
{
	store_slot *s = table_find(t, hash, number, program);
	uint64_t i;

	if (s != NULL)
		return s;
	if (t->used + 1 >= t->grow_at && table_grow(t) < 0)
		return NULL;
	i = table_home(t, hash);
	while (t->slots[i].number != 0)
		if (++i == t->cap)
			i = 0;
	t->slots[i].number = number;
	t->slots[i].meta = slot_meta(program, STORE_ST_NONE, false, 0, 0);
	t->used++;
	return &t->slots[i];
}

size_t table_bytes(const store_table *t)
{
	return t->slots ? malloc_usable_size(t->slots) : 0;
}
