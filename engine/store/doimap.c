#include "store/doimap.h"

#include <stdlib.h>
#include <string.h>

#include "store/table.h"

static size_t home(const doimap *m, uint64_t number, uint32_t program)
{
	uint64_t h = store_hash(number ^ ((uint64_t)program << 50));
	return (size_t)(((unsigned __int128)h * m->cap) >> 64);
}

int doimap_init(doimap *m)
{
	m->cap = 64;
	m->used = 0;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	return m->slots ? 0 : -1;
}

void doimap_free(doimap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static doimap_slot *find(doimap *m, uint64_t number, uint32_t program)
{
	size_t i = home(m, number, program);

	for (;;) {
		doimap_slot *s = &m->slots[i];
		if (s->number == 0)
			return s;
		if (s->number == number && s->program == program)
			return s;
		if (++i == m->cap)
			i = 0;
	}
}

doi_entry *doimap_get(doimap *m, uint64_t number, uint32_t program)
{
	doimap_slot *s = find(m, number, program);
	return s->number ? &s->e : NULL;
}

static int grow(doimap *m)
{
	doimap old = *m;

	m->cap = old.cap * 2;
	m->used = 0;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (m->slots == NULL) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].number != 0)
			*find(m, old.slots[i].number, old.slots[i].program) =
				old.slots[i];
	m->used = old.used;
	free(old.slots);
	return 0;
}

int doimap_put(doimap *m, uint64_t number, uint32_t program, const doi_entry *e)
{
	doimap_slot *s = find(m, number, program);

	if (s->number == 0) {
		if ((m->used + 1) * 4 > m->cap * 3) {
			if (grow(m) < 0)
				return -1;
			s = find(m, number, program);
		}
		m->used++;
		s->number = number;
		s->program = program;
	}
	s->e = *e;
	return 0;
}

/* Backward-shift deletion: move later members of the run into the hole
 * when their home is at or before it, so lookups never meet a gap. */
void doimap_del(doimap *m, uint64_t number, uint32_t program)
{
	doimap_slot *s = find(m, number, program);
	size_t hole, j;

	if (s->number == 0)
		return;
	hole = (size_t)(s - m->slots);
	j = hole;
	for (;;) {
		size_t h;
		if (++j == m->cap)
			j = 0;
		if (m->slots[j].number == 0)
			break;
		h = home(m, m->slots[j].number, m->slots[j].program);
		/* j may move to hole when h is not in (hole, j] cyclically */
		if ((j > hole && (h <= hole || h > j)) ||
		    (j < hole && h <= hole && h > j)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
	m->used--;
}

size_t doimap_bytes(const doimap *m)
{
	return m->cap * sizeof(*m->slots);
}
