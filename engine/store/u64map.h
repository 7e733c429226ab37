/*
 * u64map: a small open-addressing map from a non-zero uint64 key to a uint64
 * value. Linear probing, backward-shift deletion (no tombstones), grows at
 * 3/4 load. Used per shard for number deactivations and for the overlay of
 * changes that are not durable yet. Owner-thread only.
 */
#ifndef MTGATE_STORE_U64MAP_H
#define MTGATE_STORE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct u64map_ent {
	uint64_t key; /* 0 = empty */
	uint64_t val;
} u64map_ent;

typedef struct u64map {
	u64map_ent *ents;
	uint64_t mask; /* cap - 1, cap a power of two */
	uint64_t used;
} u64map;

int u64map_init(u64map *m, uint64_t expected);
void u64map_free(u64map *m);
/* Pointer to the value of key, or NULL. Stale after put/del. */
uint64_t *u64map_get(const u64map *m, uint64_t key);
/* Insert or replace. Returns 0 or -1 when out of memory. */
int u64map_put(u64map *m, uint64_t key, uint64_t val);
bool u64map_del(u64map *m, uint64_t key);
size_t u64map_bytes(const u64map *m);

#endif
