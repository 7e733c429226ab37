/*
 * Short codes: the sending addresses that programs live on, with what the
 * rules need of each as a whole — the programs on it (the MO rules read
 * them all), and its generic help text (HELP-3).
 *
 * A short code gets a small id (1..MTGATE_PROGRAMS_MAX-1) at its first
 * program or setting; the id names it in the number's short-code record of
 * the consent table (a scope question, the latest opt-out). Like programs,
 * a short code's state is an immutable version published with a release
 * store (eng->scs[id]); readers on any thread load it without a lock, and
 * old versions are kept until close. Changes serialise on eng->prog_lock.
 *
 * Storage: family "shortcodes", key = the short code's text, value = ver
 * u8, id u32, help_len u16, help text. The list of programs is not stored:
 * it is rebuilt from the programs at open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "internal.h"
#include "util/assert.h"

#define SC_VALUE_FIXED 7

static uint64_t sc_key(const char *code)
{
	uint64_t h = XXH64(code, strlen(code), 0x5c);
	return h ? h : 1;
}

/* A new version: code, help, and the program ids (ascending). */
static sc_version *sc_version_new(uint32_t id, const char *code,
				  const char *help, const uint32_t *progs,
				  uint32_t n)
{
	size_t hl = help ? strlen(help) : 0;
	sc_version *v = calloc(1, sizeof(*v) + n * sizeof(uint32_t) + hl + 1);

	if (v == NULL)
		return NULL;
	v->id = id;
	snprintf(v->code, sizeof(v->code), "%s", code);
	v->n_progs = n;
	v->progs = (uint32_t *)(v + 1);
	if (n > 0)
		memcpy(v->progs, progs, n * sizeof(uint32_t));
	v->help = (char *)(v->progs + n);
	memcpy(v->help, help ? help : "", hl + 1);
	return v;
}

static void sc_publish(mtgate_engine *eng, sc_version *v)
{
	v->older = eng->sc_versions;
	eng->sc_versions = v;
	atomic_store_explicit(&eng->scs[v->id], v, memory_order_release);
}

/* The id of code, or 0. Caller holds prog_lock. */
static uint32_t sc_find_locked(mtgate_engine *eng, const char *code)
{
	uint64_t *id = u64map_get(&eng->sc_index, sc_key(code));
	const sc_version *v;

	if (id == NULL)
		return 0;
	v = sc_get(eng, (uint32_t)*id);
	return v && strcmp(v->code, code) == 0 ? (uint32_t)*id : 0;
}

static int sc_persist(mtgate_engine *eng, const sc_version *v)
{
	unsigned char val[SC_VALUE_FIXED + MTGATE_TEXT_MAX];
	size_t hl = strlen(v->help);

	val[0] = 1;
	for (int i = 0; i < 4; i++)
		val[1 + i] = (unsigned char)(v->id >> (8 * i));
	val[5] = (unsigned char)hl;
	val[6] = (unsigned char)(hl >> 8);
	memcpy(val + SC_VALUE_FIXED, v->help, hl);
	return engine_put_durable(eng, DB_CF_SHORTCODES, v->code,
				  strlen(v->code), val, SC_VALUE_FIXED + hl);
}

/* The programs now on short code id, ascending, into a fresh array. */
static uint32_t *sc_collect(mtgate_engine *eng, const char *code,
			    uint32_t *n_out)
{
	uint32_t *ids = malloc(64 * sizeof(*ids)), cap = 64, n = 0;

	for (uint32_t pid = 1; ids != NULL && pid < eng->next_prog_id; pid++) {
		const prog_version *p = prog_get(eng, pid);
		if (p == NULL || strcmp(p->def.short_code, code) != 0)
			continue;
		if (n == cap) {
			uint32_t *more = realloc(ids, 2 * cap * sizeof(*ids));
			if (more == NULL) {
				free(ids);
				return NULL;
			}
			ids = more;
			cap *= 2;
		}
		ids[n++] = pid;
	}
	*n_out = n;
	return ids;
}

/* Publish a new version of short code id with its programs as they are
 * now and the help text given. Caller holds prog_lock. */
static int sc_refresh(mtgate_engine *eng, uint32_t id, const char *code,
		      const char *help)
{
	uint32_t n = 0, *ids = sc_collect(eng, code, &n);
	sc_version *v;

	if (ids == NULL)
		return MTGATE_ENOMEM;
	v = sc_version_new(id, code, help, ids, n);
	free(ids);
	if (v == NULL)
		return MTGATE_ENOMEM;
	sc_publish(eng, v);
	return 0;
}

int sc_ensure_locked(mtgate_engine *eng, const char *code, uint32_t *id_out)
{
	uint32_t id = sc_find_locked(eng, code);
	sc_version *v;
	int rc;

	if (id != 0) {
		*id_out = id;
		return 0;
	}
	if (eng->next_sc_id >= MTGATE_PROGRAMS_MAX)
		return MTGATE_EPROGRAM_FULL;
	id = eng->next_sc_id;
	v = sc_version_new(id, code, "", NULL, 0);
	if (v == NULL)
		return MTGATE_ENOMEM;
	if ((rc = sc_persist(eng, v)) < 0 ||
	    (u64map_put(&eng->sc_index, sc_key(code), id) < 0 &&
	     (rc = MTGATE_ENOMEM))) {
		free(v);
		return rc;
	}
	eng->next_sc_id++;
	sc_publish(eng, v);
	*id_out = id;
	return 0;
}

int sc_programs_changed_locked(mtgate_engine *eng, uint32_t id)
{
	const sc_version *v = sc_get(eng, id);

	MTG_ASSERT(v != NULL);
	return sc_refresh(eng, id, v->code, v->help);
}

static bool code_ok(const char *code)
{
	size_t n = code ? strnlen(code, MTGATE_SHORTCODE_MAX + 1) : 0;

	if (n == 0 || n > MTGATE_SHORTCODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((code[i] >= '0' && code[i] <= '9') ||
		      (code[i] >= 'A' && code[i] <= 'Z') ||
		      (code[i] >= 'a' && code[i] <= 'z')))
			return false;
	return true;
}

int mtgate_shortcode_set_help(mtgate_engine *eng, const char *short_code,
			      const char *help_text)
{
	const sc_version *v;
	sc_version *nv;
	uint32_t id;
	int rc;

	if (eng == NULL || !code_ok(short_code))
		return eng == NULL ? MTGATE_EINVAL : MTGATE_ESHORTCODE;
	if (help_text &&
	    strnlen(help_text, MTGATE_TEXT_MAX + 1) > MTGATE_TEXT_MAX)
		return MTGATE_ETEXT_LONG;
	pthread_mutex_lock(&eng->prog_lock);
	if ((rc = sc_ensure_locked(eng, short_code, &id)) == 0) {
		v = sc_get(eng, id);
		nv = sc_version_new(id, v->code, help_text, v->progs,
				    v->n_progs);
		if (nv == NULL)
			rc = MTGATE_ENOMEM;
		else if ((rc = sc_persist(eng, nv)) < 0)
			free(nv);
		else
			sc_publish(eng, nv);
	}
	pthread_mutex_unlock(&eng->prog_lock);
	return rc;
}

int mtgate_shortcode_get_help(mtgate_engine *eng, const char *short_code,
			      char *out, size_t cap)
{
	const sc_version *v;
	uint32_t id;

	if (eng == NULL || out == NULL || cap == 0)
		return MTGATE_EINVAL;
	if (!code_ok(short_code))
		return MTGATE_ESHORTCODE;
	pthread_mutex_lock(&eng->prog_lock);
	id = sc_find_locked(eng, short_code);
	pthread_mutex_unlock(&eng->prog_lock);
	v = id ? sc_get(eng, id) : NULL;
	snprintf(out, cap, "%s", v ? v->help : "");
	return 0;
}

uint32_t sc_find(mtgate_engine *eng, const char *code)
{
	uint32_t id;

	if (!code_ok(code))
		return 0;
	pthread_mutex_lock(&eng->prog_lock);
	id = sc_find_locked(eng, code);
	pthread_mutex_unlock(&eng->prog_lock);
	return id;
}

uint32_t shard_sc_find(shard *s, const char *code)
{
	unsigned h = 0;
	uint32_t id;
	size_t n;

	for (n = 0; n <= MTGATE_SHORTCODE_MAX && code[n] != '\0'; n++)
		h = h * 31 + (unsigned char)code[n];
	if (n > MTGATE_SHORTCODE_MAX)
		return 0;
	h %= sizeof(s->sc_cache) / sizeof(s->sc_cache[0]);
	if (s->sc_cache[h].id != 0 &&
	    memcmp(s->sc_cache[h].code, code, n + 1) == 0)
		return s->sc_cache[h].id;
	if ((id = sc_find(s->eng, code)) != 0) {
		s->sc_cache[h].id = id;
		memcpy(s->sc_cache[h].code, code, n + 1);
	}
	return id;
}

/* ---- open and close ---------------------------------------------------------------- */

static int sc_load_one(mtgate_engine *eng, const char *k, size_t kl,
		       const char *v, size_t vl)
{
	const unsigned char *p = (const unsigned char *)v;
	char code[MTGATE_SHORTCODE_MAX + 1], help[MTGATE_TEXT_MAX + 1];
	uint32_t id = 0;
	size_t hl;
	sc_version *nv;

	if (kl == 0 || kl > MTGATE_SHORTCODE_MAX || vl < SC_VALUE_FIXED ||
	    p[0] != 1)
		return MTGATE_ECORRUPT;
	for (int i = 0; i < 4; i++)
		id |= (uint32_t)p[1 + i] << (8 * i);
	hl = (size_t)p[5] | (size_t)p[6] << 8;
	if (id == 0 || id >= MTGATE_PROGRAMS_MAX || hl > MTGATE_TEXT_MAX ||
	    vl != SC_VALUE_FIXED + hl)
		return MTGATE_ECORRUPT;
	memcpy(code, k, kl);
	code[kl] = '\0';
	memcpy(help, p + SC_VALUE_FIXED, hl);
	help[hl] = '\0';
	if ((nv = sc_version_new(id, code, help, NULL, 0)) == NULL ||
	    u64map_put(&eng->sc_index, sc_key(code), id) < 0) {
		free(nv);
		return MTGATE_ENOMEM;
	}
	sc_publish(eng, nv);
	if (id >= eng->next_sc_id)
		eng->next_sc_id = id + 1;
	return 0;
}

/* Before the programs: every short code with its id and help text. */
int shortcodes_load(mtgate_engine *eng)
{
	db_range r;
	int rc =
		db_range_open(&eng->db, &r, DB_CF_SHORTCODES, NULL, 0, NULL, 0);

	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		rc = sc_load_one(eng, k, kl, v, vl);
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	return rc;
}

/* After the programs: each short code's list of programs. */
int shortcodes_link(mtgate_engine *eng)
{
	int rc = 0;

	for (uint32_t id = 1; rc == 0 && id < eng->next_sc_id; id++) {
		const sc_version *v = sc_get(eng, id);
		if (v != NULL)
			rc = sc_refresh(eng, id, v->code, v->help);
	}
	return rc;
}

int shortcodes_init(mtgate_engine *eng)
{
	eng->scs = calloc(MTGATE_PROGRAMS_MAX, sizeof(*eng->scs));
	if (eng->scs == NULL || u64map_init(&eng->sc_index, 0) < 0)
		return MTGATE_ENOMEM;
	eng->next_sc_id = 1;
	return 0;
}

void shortcodes_free(mtgate_engine *eng)
{
	sc_version *v = eng->sc_versions;

	while (v != NULL) {
		sc_version *older = v->older;
		free(v);
		v = older;
	}
	eng->sc_versions = NULL;
	free(eng->scs);
	eng->scs = NULL;
	u64map_free(&eng->sc_index);
}
