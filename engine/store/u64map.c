#include "store/u64map.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "util/assert.h"

static inline uint64_t mix(uint64_t k)
{
	/* murmur3 fmix64 */
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

int u64map_init(u64map *m, uint64_t expected)
{
	uint64_t cap = 16;
	while (cap < expected + expected / 3)
		cap <<= 1;
	m->ents = calloc(cap, sizeof(*m->ents));
	if (m->ents == NULL)
		return -1;
	m->mask = cap - 1;
	m->used = 0;
	return 0;
}

void u64map_free(u64map *m)
{
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

uint64_t *u64map_get(const u64map *m, uint64_t key)
{
	for (uint64_t i = mix(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->ents[i].key == key)
			return &m->ents[i].val;
		if (m->ents[i].key == 0)
			return NULL;
	}
}

static void place(u64map_ent *ents, uint64_t mask, uint64_t key, uint64_t val)
{
	uint64_t i = mix(key) & mask;
	while (ents[i].key != 0)
		i = (i + 1) & mask;
	ents[i].key = key;
	ents[i].val = val;
}

static int grow(u64map *m)
{
	uint64_t cap = (m->mask + 1) * 2;
	u64map_ent *ents = calloc(cap, sizeof(*ents));
	if (ents == NULL)
		return -1;
	for (uint64_t i = 0; i <= m->mask; i++)
		if (m->ents[i].key != 0)
			place(ents, cap - 1, m->ents[i].key, m->ents[i].val);
	free(m->ents);
	m->ents = ents;
	m->mask = cap - 1;
	return 0;
}

int u64map_put(u64map *m, uint64_t key, uint64_t val)
{
	uint64_t *v;

	MTG_ASSERT(key != 0);
	v = u64map_get(m, key);
	if (v != NULL) {
		*v = val;
		return 0;
	}
	if ((m->used + 1) * 4 > (m->mask + 1) * 3 && grow(m) < 0)
		return -1;
	place(m->ents, m->mask, key, val);
	m->used++;
	return 0;
}

bool u64map_del(u64map *m, uint64_t key)
{
	uint64_t i = mix(key) & m->mask;

	while (m->ents[i].key != key) {
		if (m->ents[i].key == 0)
			return false;
		i = (i + 1) & m->mask;
	}
	/* Backward shift: pull later entries of the cluster into the hole
	 * when their home does not lie cyclically in (hole, j]. */
	for (uint64_t j = (i + 1) & m->mask; m->ents[j].key != 0;
	     j = (j + 1) & m->mask) {
		uint64_t home = mix(m->ents[j].key) & m->mask;
		bool stays = (i <= j) ? (i < home && home <= j)
				      : (i < home || home <= j);
		if (!stays) {
			m->ents[i] = m->ents[j];
			i = j;
		}
	}
	m->ents[i].key = 0;
	m->ents[i].val = 0;
	m->used--;
	return true;
}

size_t u64map_bytes(const u64map *m)
{
	return m->ents ? malloc_usable_size(m->ents) : 0;
}
