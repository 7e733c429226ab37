/*
 * Programs: define, update, look up, load.
 *
 * A program version is immutable once published; an update publishes a new
 * version with a release store into eng->progs[id], so a gate on any thread
 * reads a whole version without a lock. Old versions stay allocated until
 * engine close (updates are rare admin actions; each version is a few KB).
 * Define, update, find and list serialise on eng->prog_lock: that lock is
 * never taken on the gate path.
 *
 * Index: (short code, keyword) -> id, keyed by xxh64 of "SC\0KW" with the
 * keyword in upper case; a hit is confirmed by comparing the strings.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "internal.h"
#include "util/assert.h"

static bool alnum_text(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !isalnum((unsigned char)s[i]))
			return false;
	return true;
}

static bool alpha_text(const char *s, size_t len)
{
	if (strnlen(s, len + 1) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !isalpha((unsigned char)s[i]))
			return false;
	return true;
}

static bool text_ok(const char *s)
{
	return s == NULL || strnlen(s, MTGATE_TEXT_MAX + 1) <= MTGATE_TEXT_MAX;
}

static uint64_t index_key(const char *sc, const char *kw)
{
	char buf[MTGATE_SHORTCODE_MAX + MTGATE_KEYWORD_MAX + 2];
	size_t a = strlen(sc), b = strlen(kw);
	uint64_t h;

	memcpy(buf, sc, a);
	buf[a] = '\0';
	for (size_t i = 0; i < b; i++)
		buf[a + 1 + i] = (char)toupper((unsigned char)kw[i]);
	h = XXH64(buf, a + 1 + b, 0);
	return h ? h : 1;
}

/* Every check of a definition; nothing is stored when one fails. */
static int def_check(const mtgate_program_def *d, char *tz_id)
{
	const char *texts[] = {d->welcome_text, d->help_text, d->quit_text,
			       d->confirm_text};

	if (!alnum_text(d->short_code, MTGATE_SHORTCODE_MAX))
		return MTGATE_ESHORTCODE;
	if (!alnum_text(d->keyword, MTGATE_KEYWORD_MAX))
		return MTGATE_EKEYWORD;
	if (d->name == NULL || d->name[0] == '\0' ||
	    strnlen(d->name, MTGATE_NAME_MAX + 1) > MTGATE_NAME_MAX)
		return MTGATE_ENAME;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!text_ok(texts[i]))
			return MTGATE_ETEXT_LONG;
	if (d->kind == MTGATE_KIND_RECURRING) {
		if (d->limit < 1 || d->limit > MTGATE_LIMIT_MAX)
			return MTGATE_ELIMIT;
		if (d->period < MTGATE_PERIOD_DAY ||
		    d->period > MTGATE_PERIOD_MONTH)
			return MTGATE_EPERIOD;
	} else if (d->kind == MTGATE_KIND_ONE_OFF) {
		if (d->period != MTGATE_PERIOD_NONE)
			return MTGATE_EPERIOD;
	} else {
		return MTGATE_EKIND;
	}
	if (d->tz != NULL && strnlen(d->tz, MTGATE_TZ_MAX + 1) > MTGATE_TZ_MAX)
		return MTGATE_ETZ;
	if ((unsigned)d->interval >= MTGATE_INTERVAL_MAX ||
	    (d->currency && d->currency[0] &&
	     !alpha_text(d->currency, MTGATE_CURRENCY_MAX)) ||
	    d->price_cents > MTGATE_PRICE_MAX)
		return MTGATE_EPRICE;
	return period_tz_resolve(d->tz, tz_id, PERIOD_TZ_ID_MAX);
}

/* A new immutable version holding copies of every string of d. */
static prog_version *version_new(const mtgate_program_def *d, uint32_t id,
				 const char *tz_id)
{
	const char *src[9] = {
		d->short_code,   d->keyword,
		d->name,         d->tz && d->tz[0] ? d->tz : "UTC",
		d->welcome_text, d->help_text,
		d->quit_text,    d->confirm_text,
		d->currency};
	const char **dst[9];
	size_t total = 0, off = 0;
	prog_version *p;

	for (int i = 0; i < 9; i++)
		total += (src[i] ? strlen(src[i]) : 0) + 1;
	p = calloc(1, sizeof(*p) + total);
	if (p == NULL)
		return NULL;
	p->def = *d;
	p->def.id = id;
	p->def.limit = d->kind == MTGATE_KIND_ONE_OFF ? 0 : d->limit;
	dst[0] = &p->def.short_code;
	dst[1] = &p->def.keyword;
	dst[2] = &p->def.name;
	dst[3] = &p->def.tz;
	dst[4] = &p->def.welcome_text;
	dst[5] = &p->def.help_text;
	dst[6] = &p->def.quit_text;
	dst[7] = &p->def.confirm_text;
	dst[8] = &p->def.currency;
	for (int i = 0; i < 9; i++) {
		size_t n = src[i] ? strlen(src[i]) : 0;
		memcpy(p->strs + off, src[i] ? src[i] : "", n);
		p->strs[off + n] = '\0';
		*dst[i] = p->strs + off;
		off += n + 1;
	}
	for (char *k = (char *)p->def.keyword; *k; k++)
		*k = (char)toupper((unsigned char)*k);
	for (char *k = (char *)p->def.currency; *k; k++)
		*k = (char)toupper((unsigned char)*k);
	snprintf(p->tz_id, sizeof(p->tz_id), "%s", tz_id);
	return p;
}

static void publish(mtgate_engine *eng, prog_version *p)
{
	p->older = eng->prog_versions;
	eng->prog_versions = p;
	atomic_store_explicit(&eng->progs[p->def.id], p, memory_order_release);
}

/* The id holding (sc, kw), or 0. Caller holds prog_lock. */
static uint32_t index_find(mtgate_engine *eng, const char *sc, const char *kw)
{
	uint64_t *v = u64map_get(&eng->prog_index, index_key(sc, kw));
	const prog_version *p;

	if (v == NULL)
		return 0;
	p = prog_get(eng, (uint32_t)*v);
	if (p && strcmp(p->def.short_code, sc) == 0 &&
	    strcasecmp(p->def.keyword, kw) == 0)
		return (uint32_t)*v;
	return 0;
}

static int persist(mtgate_engine *eng, const prog_version *p)
{
	unsigned char key[CODEC_KEY_PROGRAM], *val = NULL;
	size_t vlen;
	int rc = codec_program_encode(&p->def, &val, &vlen);

	if (rc < 0)
		return rc;
	codec_key_program(key, p->def.id);
	rc = engine_put_durable(eng, DB_CF_PROGRAMS, key, sizeof(key), val,
				vlen);
	free(val);
	return rc;
}
static int define_locked(mtgate_engine *eng, const mtgate_program_def *def,
			 uint32_t *id_out)
{
	char tz_id[PERIOD_TZ_ID_MAX];
	prog_version *p;
	uint32_t id, sc_id;
	int rc;

	if ((rc = def_check(def, tz_id)) < 0)
		return rc;
	if (index_find(eng, def->short_code, def->keyword) != 0)
		return MTGATE_EPROGRAM_DUP;
	if (eng->next_prog_id >= MTGATE_PROGRAMS_MAX)
		return MTGATE_EPROGRAM_FULL;
	if ((rc = sc_ensure_locked(eng, def->short_code, &sc_id)) < 0)
		return rc;
	id = eng->next_prog_id;
	p = version_new(def, id, tz_id);
	if (p == NULL)
		return MTGATE_ENOMEM;
	p->sc_id = sc_id;
	if ((rc = persist(eng, p)) < 0 ||
	    (u64map_put(&eng->prog_index,
			index_key(p->def.short_code, p->def.keyword), id) < 0 &&
	     (rc = MTGATE_ENOMEM))) {
		free(p);
		return rc;
	}
	eng->next_prog_id++;
	publish(eng, p);
	*id_out = id;
	return sc_programs_changed_locked(eng, sc_id);
}

int mtgate_program_define(mtgate_engine *eng, const mtgate_program_def *def,
			  uint32_t *id_out)
{
	int rc;

	if (eng == NULL || def == NULL || id_out == NULL)
		return MTGATE_EINVAL;
	pthread_mutex_lock(&eng->prog_lock);
	rc = define_locked(eng, def, id_out);
	pthread_mutex_unlock(&eng->prog_lock);
	return rc;
}

static int update_locked(mtgate_engine *eng, const mtgate_program_def *def)
{
	const prog_version *old = prog_get(eng, def->id);
	char tz_id[PERIOD_TZ_ID_MAX];
	uint32_t other, sc_id, old_sc;
	prog_version *p;
	int rc;

	if (old == NULL)
		return MTGATE_ENOPROGRAM;
	if ((rc = def_check(def, tz_id)) < 0)
		return rc;
	other = index_find(eng, def->short_code, def->keyword);
	if (other != 0 && other != def->id)
		return MTGATE_EPROGRAM_DUP;
	if ((rc = sc_ensure_locked(eng, def->short_code, &sc_id)) < 0)
		return rc;
	p = version_new(def, def->id, tz_id);
	if (p == NULL)
		return MTGATE_ENOMEM;
	p->sc_id = sc_id;
	old_sc = old->sc_id;
	if ((rc = persist(eng, p)) < 0) {
		free(p);
		return rc;
	}
	u64map_del(&eng->prog_index,
		   index_key(old->def.short_code, old->def.keyword));
	MTG_ASSERT(u64map_put(&eng->prog_index,
			      index_key(p->def.short_code, p->def.keyword),
			      def->id) == 0);
	publish(eng, p);
	if (old_sc != sc_id &&
	    (rc = sc_programs_changed_locked(eng, old_sc)) < 0)
		return rc;
	return sc_programs_changed_locked(eng, sc_id);
}

int mtgate_program_update(mtgate_engine *eng, const mtgate_program_def *def)
{
	int rc;

	if (eng == NULL || def == NULL)
		return MTGATE_EINVAL;
	pthread_mutex_lock(&eng->prog_lock);
	rc = update_locked(eng, def);
	pthread_mutex_unlock(&eng->prog_lock);
	return rc;
}

int mtgate_program_get(mtgate_engine *eng, uint32_t id, mtgate_program_def *out)
{
	const prog_version *p;

	if (eng == NULL || out == NULL)
		return MTGATE_EINVAL;
	p = prog_get(eng, id);
	if (p == NULL)
		return MTGATE_ENOPROGRAM;
	*out = p->def;
	return 0;
}

int mtgate_program_find(mtgate_engine *eng, const char *short_code,
			const char *keyword, uint32_t *id_out)
{
	uint32_t id;

	if (eng == NULL || id_out == NULL)
		return MTGATE_EINVAL;
	if (!alnum_text(short_code, MTGATE_SHORTCODE_MAX))
		return MTGATE_ESHORTCODE;
	if (!alnum_text(keyword, MTGATE_KEYWORD_MAX))
		return MTGATE_EKEYWORD;
	pthread_mutex_lock(&eng->prog_lock);
	id = index_find(eng, short_code, keyword);
	pthread_mutex_unlock(&eng->prog_lock);
	if (id == 0)
		return MTGATE_ENOPROGRAM;
	*id_out = id;
	return 0;
}

int mtgate_program_list(mtgate_engine *eng, uint32_t *ids, size_t cap,
			size_t *n_out)
{
	size_t n = 0;

	if (eng == NULL || n_out == NULL || (ids == NULL && cap > 0))
		return MTGATE_EINVAL;
	pthread_mutex_lock(&eng->prog_lock);
	for (uint32_t id = 1; id < eng->next_prog_id; id++) {
		if (prog_get(eng, id) == NULL)
			continue;
		if (n < cap)
			ids[n] = id;
		n++;
	}
	pthread_mutex_unlock(&eng->prog_lock);
	*n_out = n;
	return 0;
}

int programs_init(mtgate_engine *eng)
{
	eng->progs = calloc(MTGATE_PROGRAMS_MAX, sizeof(*eng->progs));
	if (eng->progs == NULL || u64map_init(&eng->prog_index, 0) < 0)
		return MTGATE_ENOMEM;
	pthread_mutex_init(&eng->prog_lock, NULL);
	eng->next_prog_id = 1;
	return 0;
}

void programs_free(mtgate_engine *eng)
{
	prog_version *p = eng->prog_versions;

	while (p != NULL) {
		prog_version *older = p->older;
		free(p);
		p = older;
	}
	eng->prog_versions = NULL;
	free(eng->progs);
	eng->progs = NULL;
	u64map_free(&eng->prog_index);
	pthread_mutex_destroy(&eng->prog_lock);
}

static int load_one(mtgate_engine *eng, const char *k, size_t kl, const char *v,
		    size_t vl)
{
	static _Thread_local char strbuf[9 * (MTGATE_TEXT_MAX + 1)];
	mtgate_program_def def;
	char tz_id[PERIOD_TZ_ID_MAX];
	uint32_t id;
	prog_version *p;
	int rc;

	if ((rc = codec_key_program_decode(k, kl, &id)) < 0 ||
	    (rc = codec_program_decode(v, vl, &def, strbuf, sizeof(strbuf))) <
		    0)
		return rc;
	if (id == 0 || id >= MTGATE_PROGRAMS_MAX || def_check(&def, tz_id) < 0)
		return MTGATE_ECORRUPT;
	p = version_new(&def, id, tz_id);
	if (p == NULL)
		return MTGATE_ENOMEM;
	if ((rc = sc_ensure_locked(eng, p->def.short_code, &p->sc_id)) < 0) {
		free(p);
		return rc;
	}
	if (u64map_put(&eng->prog_index,
		       index_key(p->def.short_code, p->def.keyword), id) < 0) {
		free(p);
		return MTGATE_ENOMEM;
	}
	publish(eng, p);
	if (id >= eng->next_prog_id)
		eng->next_prog_id = id + 1;
	return 0;
}

int programs_load(mtgate_engine *eng)
{
	rocksdb_iterator_t *it =
		db_iter(&eng->db, DB_CF_PROGRAMS, NULL, 0, false);
	int rc = 0;

	if (it == NULL)
		return MTGATE_ENOMEM;
	for (; rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		rc = load_one(eng, k, kl, v, vl);
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, it);
	rocksdb_iter_destroy(it);
	return rc;
}
