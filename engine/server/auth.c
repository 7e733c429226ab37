/*
 * Credentials (TEN-1, TEN-2).
 *
 * A key is "mtk_" + the credential id in 8 hex digits + "_" + 43 base64url
 * characters (32 random bytes from libsodium). Id 0 is the operator; other
 * ids are tenants. The id in the key picks the one digest to compare, so a
 * check is one SHA-256 and one constant-time comparison (sodium_memcmp).
 * Only digests are kept: the operator's in memory (its key lives in the key
 * file, mode 0600), the tenants' in the engine's "tenants" family. Keys are
 * never logged, and a failed check says nothing about why.
 *
 * The tenant table is read by every core thread on HELLO and changed only
 * by TENANT_ADD: each change publishes a new immutable table (release
 * store); old ones are kept until close, as the engine does with programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server.h"

typedef struct tenant_tab {
	struct tenant_tab *older;
	size_t n;
	mtgate_tenant t[]; /* ids ascending */
} tenant_tab;

struct srv_auth {
	mtgate_engine *eng;
	uint8_t operator_digest[crypto_hash_sha256_BYTES];
	_Atomic(tenant_tab *) tab;
	pthread_mutex_t add_lock; /* TENANT_ADD only */
};

_Static_assert(crypto_hash_sha256_BYTES == MTGATE_TENANT_DIGEST,
	       "tenant digests are SHA-256");

#define KEY_PREFIX "mtk_"
#define KEY_SECRET 32

/* "mtk_XXXXXXXX_" + 43 characters of base64url of 32 random bytes. */
static void key_new(uint32_t id, char out[SRV_KEY_LEN + 1])
{
	unsigned char secret[KEY_SECRET];
	int n = snprintf(out, SRV_KEY_LEN + 1, KEY_PREFIX "%08x_", id);

	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(out + n, SRV_KEY_LEN + 1 - (size_t)n, secret,
			  sizeof(secret),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
}

/* The id of a well-formed key, or -1. */
static int64_t key_id(const uint8_t *k, size_t len)
{
	uint32_t id = 0;

	if (len != SRV_KEY_LEN || memcmp(k, KEY_PREFIX, 4) != 0 || k[12] != '_')
		return -1;
	for (int i = 4; i < 12; i++) {
		int d = k[i] >= '0' && k[i] <= '9'   ? k[i] - '0'
			: k[i] >= 'a' && k[i] <= 'f' ? k[i] - 'a' + 10
						     : -1;
		if (d < 0)
			return -1;
		id = id << 4 | (uint32_t)d;
	}
	return id;
}

static void digest(const uint8_t *k, size_t len,
		   uint8_t out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(out, k, len);
}

/* ---- the operator key ------------------------------------------------------------ */

static int read_key(const char *path, char out[SRV_KEY_LEN + 1])
{
	char buf[SRV_KEY_LEN + 64];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "mtgated: operator key %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 &&
	       (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (key_id((const uint8_t *)buf, n) != 0) {
		fprintf(stderr,
			"mtgated: operator key %s: not an operator key "
			"(mtk_00000000_ and 43 characters)\n",
			path);
		return -1;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

/* First start: a new key, in a file only the owner may read. */
static int write_key(const char *path, char out[SRV_KEY_LEN + 1])
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t w;

	if (fd < 0) {
		fprintf(stderr, "mtgated: operator key %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	key_new(0, out);
	out[SRV_KEY_LEN] = '\n';
	w = write(fd, out, SRV_KEY_LEN + 1);
	out[SRV_KEY_LEN] = '\0';
	if (w != SRV_KEY_LEN + 1 || fsync(fd) != 0) {
		fprintf(stderr, "mtgated: operator key %s: write failed\n",
			path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int operator_key(srv_auth *a, const srv_config *c)
{
	char path[600], key[SRV_KEY_LEN + 1];
	struct stat st;
	int rc;

	if (c->operator_key_file[0] != '\0')
		rc = read_key(c->operator_key_file, key);
	else {
		snprintf(path, sizeof(path), "%s/operator.key", c->data);
		rc = stat(path, &st) == 0 ? read_key(path, key)
					  : write_key(path, key);
	}
	if (rc == 0)
		digest((const uint8_t *)key, SRV_KEY_LEN, a->operator_digest);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* ---- tenants --------------------------------------------------------------------- */

static int load_tenants(srv_auth *a)
{
	size_t n = 0, got = 0;
	tenant_tab *t;
	int rc = mtgate_tenant_list(a->eng, NULL, 0, &n);

	if (rc < 0)
		return rc;
	t = calloc(1, sizeof(*t) + n * sizeof(t->t[0]));
	if (t == NULL)
		return MTGATE_ENOMEM;
	if (n > 0 && (rc = mtgate_tenant_list(a->eng, t->t, n, &got)) < 0) {
		free(t);
		return rc;
	}
	t->n = got < n ? got : n;
	atomic_store_explicit(&a->tab, t, memory_order_release);
	return 0;
}

static const mtgate_tenant *tenant_find(const tenant_tab *t, uint32_t id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (t->t[m].id == id)
			return &t->t[m];
		if (t->t[m].id < id)
			lo = m + 1;
		else
			hi = m;
	}
	return NULL;
}

int64_t srv_auth_check(srv_auth *a, const uint8_t *key, size_t len)
{
	uint8_t d[crypto_hash_sha256_BYTES];
	const uint8_t *want;
	int64_t id = key_id(key, len);
	const tenant_tab *t;

	if (id < 0)
		return -1;
	if (id == 0) {
		want = a->operator_digest;
	} else {
		const mtgate_tenant *tn;
		t = atomic_load_explicit(&a->tab, memory_order_acquire);
		tn = tenant_find(t, (uint32_t)id);
		if (tn == NULL)
			return -1;
		want = tn->key_digest;
	}
	digest(key, len, d);
	return sodium_memcmp(d, want, sizeof(d)) == 0 ? id : -1;
}

int64_t srv_auth_add_tenant(srv_auth *a, const char *name, size_t name_len,
			    char key_out[SRV_KEY_LEN + 1])
{
	tenant_tab *old, *t;
	mtgate_tenant nt = {0};
	int64_t rc;

	if (name_len == 0 || name_len > MTGATE_NAME_MAX)
		return MTGATE_ENAME;
	pthread_mutex_lock(&a->add_lock);
	old = atomic_load_explicit(&a->tab, memory_order_relaxed);
	for (size_t i = 0; i < old->n; i++)
		if (strlen(old->t[i].name) == name_len &&
		    memcmp(old->t[i].name, name, name_len) == 0) {
			rc = MTGATE_ETENANT_DUP;
			goto out;
		}
	nt.id = old->n ? old->t[old->n - 1].id + 1 : 1;
	memcpy(nt.name, name, name_len);
	key_new(nt.id, key_out);
	digest((const uint8_t *)key_out, SRV_KEY_LEN, nt.key_digest);
	t = malloc(sizeof(*t) + (old->n + 1) * sizeof(t->t[0]));
	if (t == NULL) {
		rc = MTGATE_ENOMEM;
		goto out;
	}
	if ((rc = mtgate_tenant_put(a->eng, &nt)) < 0) {
		free(t);
		goto out;
	}
	memcpy(t->t, old->t, old->n * sizeof(t->t[0]));
	t->t[old->n] = nt;
	t->n = old->n + 1;
	t->older = old;
	atomic_store_explicit(&a->tab, t, memory_order_release);
	rc = nt.id;
out:
	pthread_mutex_unlock(&a->add_lock);
	if (rc < 0)
		sodium_memzero(key_out, SRV_KEY_LEN + 1);
	return rc;
}

int srv_auth_open(srv_auth **out, mtgate_engine *eng, const srv_config *c)
{
	srv_auth *a;

	if (sodium_init() < 0) {
		fprintf(stderr, "mtgated: libsodium failed to start\n");
		return -1;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -1;
	a->eng = eng;
	pthread_mutex_init(&a->add_lock, NULL);
	if (operator_key(a, c) < 0 || load_tenants(a) < 0) {
		srv_auth_close(a);
		return -1;
	}
	*out = a;
	return 0;
}

void srv_auth_close(srv_auth *a)
{
	tenant_tab *t;

	if (a == NULL)
		return;
	t = atomic_load(&a->tab);
	while (t != NULL) {
		tenant_tab *older = t->older;
		free(t);
		t = older;
	}
	pthread_mutex_destroy(&a->add_lock);
	sodium_memzero(a->operator_digest, sizeof(a->operator_digest));
	free(a);
}

bool srv_auth_tenant_exists(srv_auth *a, uint32_t id)
{
	return tenant_find(atomic_load_explicit(&a->tab, memory_order_acquire),
			   id) != NULL;
}
