#include "store/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/assert.h"

/*
 * The slots live in their own anonymous mapping, advised for transparent huge
 * pages. A gate is one random access into a table of hundreds of megabytes:
 * with 4 KiB pages nearly every access also misses the TLB and walks page
 * tables that are not in cache, which costs as much as the slot's own DRAM
 * miss. 2 MiB pages cut that walk to one that usually hits cache. The mapping
 * is zero-filled by the kernel, page by page, on first touch.
 */
#define TABLE_HUGE (2u << 20)

static int table_alloc(store_table *t, uint64_t cap)
{
	size_t len = (size_t)cap * sizeof(store_slot);
	void *p;

	size_t align = len >= TABLE_HUGE ? TABLE_HUGE : 4096;

	len = (len + align - 1) & ~(align - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (align == TABLE_HUGE) /* a hint: fine if refused */
		(void)madvise(p, len, MADV_HUGEPAGE);
	t->slots = p;
	t->map_len = len;
	t->cap = cap;
	t->used = 0;
	t->grow_at = cap - cap / 4;
	return 0;
}

int table_init(store_table *t, uint64_t expected)
{
	uint64_t cap = expected + expected * 3 / 5; /* load 5/8 */
	memset(t, 0, sizeof(*t));
	if (cap < 64)
		cap = 64;
	return table_alloc(t, cap);
}

static void table_unmap(store_slot *slots, size_t len)
{
	if (slots != NULL)
		munmap(slots, len);
}

void table_free(store_table *t)
{
	table_unmap(t->slots, t->map_len);
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

/* Rebuild at cap slots. Keeps each number's run contiguous because
 * placement depends on the number alone. */
static int table_rebuild(store_table *t, uint64_t cap)
{
	store_table old = *t;

	if (table_alloc(t, cap) < 0) {
		*t = old;
		return -1;
	}
	for (uint64_t i = 0; i < old.cap; i++)
		if (old.slots[i].number != 0)
			table_place(t, &old.slots[i]);
	MTG_ASSERT(t->used == old.used);
	t->grows = old.grows + 1;
	table_unmap(old.slots, old.map_len);
	return 0;
}

static int table_grow(store_table *t)
{
	return table_rebuild(t, t->cap + t->cap * 2 / 5);
}

int table_fit(store_table *t)
{
	uint64_t cap = t->used + t->used * 3 / 5;

	if (t->used * 28 >= t->cap * 15 || cap < 64)
		return 0;
	return table_rebuild(t, cap);
}
store_slot *table_upsert_key(store_table *t, uint64_t hash, uint64_t number,
			     uint64_t key)
{
	store_slot *s = table_find_key(t, hash, number, key);
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
	t->slots[i].meta = key; /* state NONE, no flags, no counter */
	t->used++;
	return &t->slots[i];
}

size_t table_bytes(const store_table *t)
{
	return t->slots ? t->map_len : 0;
}

/* Recovery: the keys come from RocksDB, where each (number, program) is one
 * key, so no slot is looked up first. The home line of slot i + 8 is
 * fetched while slot i is placed. */
#define LOAD_AHEAD 8

int table_load(store_table *t, const store_slot *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + LOAD_AHEAD < n)
			table_prefetch(t,
				       store_hash(src[i + LOAD_AHEAD].number));
		if (t->used + 1 >= t->grow_at && table_grow(t) < 0)
			return -1;
		table_place(t, &src[i]);
	}
	return 0;
}
