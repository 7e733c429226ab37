/*
 * Tenants: the accounts that own programs. The engine only stores them
 * (column family "tenants": key id u32 big-endian; value ver u8, key digest
 * [32], name_len u8, name); the server authenticates with them and keeps
 * its own copy in memory. Writes are rare admin actions and durable before
 * they return; reads scan the family.
 */
#include <string.h>

#include "internal.h"

#define TENANT_VERSION 1
#define TENANT_FIXED   (1 + MTGATE_TENANT_DIGEST + 1)

static void key_enc(unsigned char k[4], uint32_t id)
{
	for (int i = 0; i < 4; i++)
		k[i] = (unsigned char)(id >> (24 - 8 * i));
}

int mtgate_tenant_put(mtgate_engine *eng, const mtgate_tenant *t)
{
	unsigned char k[4], v[TENANT_FIXED + MTGATE_NAME_MAX];
	size_t nl;

	if (eng == NULL || t == NULL || t->id == 0 || t->id == UINT32_MAX)
		return MTGATE_EINVAL;
	nl = strnlen(t->name, sizeof(t->name));
	if (nl == 0 || nl > MTGATE_NAME_MAX)
		return MTGATE_ENAME;
	key_enc(k, t->id);
	v[0] = TENANT_VERSION;
	memcpy(v + 1, t->key_digest, MTGATE_TENANT_DIGEST);
	v[1 + MTGATE_TENANT_DIGEST] = (unsigned char)nl;
	memcpy(v + TENANT_FIXED, t->name, nl);
	return engine_put_durable(eng, DB_CF_TENANTS, k, sizeof(k), v,
				  TENANT_FIXED + nl);
}

static int tenant_dec(const char *k, size_t kl, const char *v, size_t vl,
		      mtgate_tenant *t)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t nl;

	if (kl != 4 || vl < TENANT_FIXED || p[0] != TENANT_VERSION)
		return MTGATE_ECORRUPT;
	nl = p[1 + MTGATE_TENANT_DIGEST];
	if (nl == 0 || nl > MTGATE_NAME_MAX || vl != TENANT_FIXED + nl)
		return MTGATE_ECORRUPT;
	t->id = 0;
	for (int i = 0; i < 4; i++)
		t->id = t->id << 8 | (unsigned char)k[i];
	memcpy(t->key_digest, p + 1, MTGATE_TENANT_DIGEST);
	memcpy(t->name, p + TENANT_FIXED, nl);
	t->name[nl] = '\0';
	return 0;
}

int mtgate_tenant_list(mtgate_engine *eng, mtgate_tenant *out, size_t cap,
		       size_t *n_out)
{
	db_range r;
	size_t n = 0;
	int rc;

	if (eng == NULL || n_out == NULL || (cap > 0 && out == NULL))
		return MTGATE_EINVAL;
	rc = db_range_open(&eng->db, &r, DB_CF_TENANTS, NULL, 0, NULL, 0);
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		mtgate_tenant t;
		if ((rc = tenant_dec(k, kl, v, vl, &t)) == 0 && n < cap)
			out[n] = t;
		n++;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	*n_out = n;
	return rc;
}
