#include "persist/codec.h"

#include <stdlib.h>
#include <string.h>

enum { CODEC_VERSION = 1 };

static void be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}
static void be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}
static uint64_t rd_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}
static uint32_t rd_be32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}
static void le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}
static void le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd_le32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t rd_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static uint16_t rd_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

void codec_key_consent(unsigned char out[CODEC_KEY_CONSENT], uint64_t number,
		       uint32_t program)
{
	be64(out, number);
	be32(out + 8, program);
}

void codec_key_number(unsigned char out[CODEC_KEY_NUMBER], uint64_t number)
{
	be64(out, number);
}

void codec_key_program(unsigned char out[CODEC_KEY_PROGRAM], uint32_t id)
{
	be32(out, id);
}

int codec_key_consent_decode(const char *k, size_t len, uint64_t *number,
			     uint32_t *program)
{
	if (len != CODEC_KEY_CONSENT)
		return MTGATE_ECORRUPT;
	*number = rd_be64((const unsigned char *)k);
	*program = rd_be32((const unsigned char *)k + 8);
	return 0;
}

int codec_key_number_decode(const char *k, size_t len, uint64_t *number)
{
	if (len != CODEC_KEY_NUMBER)
		return MTGATE_ECORRUPT;
	*number = rd_be64((const unsigned char *)k);
	return 0;
}

int codec_key_program_decode(const char *k, size_t len, uint32_t *id)
{
	if (len != CODEC_KEY_PROGRAM)
		return MTGATE_ECORRUPT;
	*id = rd_be32((const unsigned char *)k);
	return 0;
}

size_t codec_consent_encode(unsigned char *out, const codec_consent *c)
{
	out[0] = CODEC_VERSION;
	out[1] = c->state;
	out[2] = c->channel;
	out[3] = c->voided_by;
	le64(out + 4, (uint64_t)c->changed_at_ms);
	le16(out + 12, c->granted);
	out[14] = c->cause;
	out[15] = c->doi_flags;
	out[16] = c->doi_channel;
	le64(out + 17, (uint64_t)c->doi_at_ms);
	le32(out + 25, c->price_cents);
	out[29] = c->interval;
	le32(out + 30, c->bill_day);
	out[34] = c->bill_fails;
	le16(out + 35, c->bill_credits);
	out[37] = c->source_len;
	memcpy(out + CODEC_CONSENT_FIXED, c->source, c->source_len);
	return CODEC_CONSENT_FIXED + c->source_len;
}

int codec_consent_peek(const char *v, size_t len, codec_consent *out)
{
	const unsigned char *p = (const unsigned char *)v;

	if (len < CODEC_CONSENT_FIXED || p[0] != CODEC_VERSION)
		return MTGATE_ECORRUPT;
	out->state = p[1];
	out->channel = p[2];
	out->voided_by = p[3];
	out->granted = rd_le16(p + 12);
	out->cause = p[14];
	out->doi_flags = p[15];
	out->doi_channel = p[16];
	out->doi_at_ms = (int64_t)rd_le64(p + 17);
	out->source_len = p[37];
	if (out->state > MTGATE_STATE_PENDING ||
	    out->channel >= MTGATE_CHANNEL_MAX ||
	    out->voided_by >= MTGATE_DEACT_MAX ||
	    out->cause >= CODEC_CAUSE_MAX ||
	    out->doi_channel >= MTGATE_CHANNEL_MAX ||
	    p[29] >= MTGATE_INTERVAL_MAX ||
	    len != (size_t)CODEC_CONSENT_FIXED + out->source_len)
		return MTGATE_ECORRUPT;
	out->price_cents = rd_le32(p + 25);
	out->interval = p[29];
	return 0;
}

int codec_consent_decode(const char *v, size_t len, codec_consent *out)
{
	const unsigned char *p = (const unsigned char *)v;
	int rc = codec_consent_peek(v, len, out);

	if (rc < 0)
		return rc;
	out->changed_at_ms = (int64_t)rd_le64(p + 4);
	out->bill_day = rd_le32(p + 30);
	out->bill_fails = p[34];
	out->bill_credits = rd_le16(p + 35);
	memcpy(out->source, p + CODEC_CONSENT_FIXED, out->source_len);
	out->source[out->source_len] = '\0';
	return 0;
}

void codec_key_ctrlog(unsigned char out[CODEC_KEY_CTRLOG], uint64_t seq)
{
	be64(out, seq);
}

int codec_key_ctrlog_decode(const char *k, size_t len, uint64_t *seq)
{
	if (len != CODEC_KEY_CTRLOG)
		return MTGATE_ECORRUPT;
	*seq = rd_be64((const unsigned char *)k);
	return 0;
}

void codec_ctrlog_head(unsigned char out[CODEC_CTRLOG_HEAD], uint32_t n)
{
	out[0] = CODEC_VERSION;
	le32(out + 1, n);
}

void codec_ctrlog_entry(unsigned char out[CODEC_CTRLOG_ENTRY], uint64_t number,
			uint32_t program, uint16_t period, uint16_t count)
{
	le64(out, number);
	le32(out + 8, program);
	le16(out + 12, period);
	le16(out + 14, count);
}

int codec_ctrlog_decode(const char *v, size_t len, uint32_t *n_out,
			const unsigned char **entries)
{
	const unsigned char *p = (const unsigned char *)v;
	uint32_t n;

	if (len < CODEC_CTRLOG_HEAD || p[0] != CODEC_VERSION)
		return MTGATE_ECORRUPT;
	n = rd_le32(p + 1);
	if ((len - CODEC_CTRLOG_HEAD) / CODEC_CTRLOG_ENTRY != n ||
	    (len - CODEC_CTRLOG_HEAD) % CODEC_CTRLOG_ENTRY != 0)
		return MTGATE_ECORRUPT;
	*n_out = n;
	*entries = p + CODEC_CTRLOG_HEAD;
	return 0;
}

void codec_ctrlog_entry_decode(const unsigned char *e, uint64_t *number,
			       uint32_t *program, uint16_t *period,
			       uint16_t *count)
{
	*number = rd_le64(e);
	*program = rd_le32(e + 8);
	*period = rd_le16(e + 12);
	*count = rd_le16(e + 14);
}

size_t codec_deact_encode(unsigned char *out, uint8_t reason, int64_t at_ms,
			  const char *source, size_t source_len)
{
	out[0] = CODEC_VERSION;
	out[1] = reason;
	le64(out + 2, (uint64_t)at_ms);
	out[10] = (unsigned char)source_len;
	if (source_len > 0)
		memcpy(out + CODEC_DEACT_FIXED, source, source_len);
	return CODEC_DEACT_FIXED + source_len;
}

int codec_deact_decode(const char *v, size_t len, uint8_t *reason,
		       int64_t *at_ms)
{
	const unsigned char *p = (const unsigned char *)v;

	if (len < CODEC_DEACT_FIXED || p[0] != CODEC_VERSION ||
	    len != (size_t)CODEC_DEACT_FIXED + p[10] || p[1] == 0 ||
	    p[1] >= MTGATE_DEACT_MAX)
		return MTGATE_ECORRUPT;
	*reason = p[1];
	*at_ms = (int64_t)rd_le64(p + 2);
	return 0;
}

/* Program value: ver u8, tenant u32 LE, kind u8, period u8, limit u32 LE,
 * doi u8, allow_pos u8, interval u8, price_cents u32 LE, then nine strings,
 * each u16 LE length + bytes, in the order of prog_string(). */
#define PROGRAM_FIXED 18
#define PROGRAM_NSTR  9

static const char **prog_string(mtgate_program_def *d, int i)
{
	const char **f[PROGRAM_NSTR] = {
		&d->short_code, &d->keyword,      &d->name,
		&d->tz,         &d->welcome_text, &d->help_text,
		&d->quit_text,  &d->confirm_text, &d->currency,
	};
	return f[i];
}

int codec_program_encode(const mtgate_program_def *def, unsigned char **out,
			 size_t *len)
{
	mtgate_program_def d = *def;
	size_t n = PROGRAM_FIXED;
	unsigned char *p, *buf;

	for (int i = 0; i < PROGRAM_NSTR; i++) {
		const char *s = *prog_string(&d, i);
		n += 2 + (s ? strlen(s) : 0);
	}
	buf = malloc(n);
	if (buf == NULL)
		return MTGATE_ENOMEM;
	buf[0] = CODEC_VERSION;
	for (int i = 0; i < 4; i++)
		buf[1 + i] = (unsigned char)(d.tenant >> (8 * i));
	buf[5] = (unsigned char)d.kind;
	buf[6] = (unsigned char)d.period;
	for (int i = 0; i < 4; i++)
		buf[7 + i] = (unsigned char)(d.limit >> (8 * i));
	buf[11] = d.double_opt_in ? 1 : 0;
	buf[12] = d.allow_pos ? 1 : 0;
	buf[13] = (unsigned char)d.interval;
	for (int i = 0; i < 4; i++)
		buf[14 + i] = (unsigned char)(d.price_cents >> (8 * i));
	p = buf + PROGRAM_FIXED;
	for (int i = 0; i < PROGRAM_NSTR; i++) {
		const char *s = *prog_string(&d, i);
		size_t sl = s ? strlen(s) : 0;
		if (sl > 0xFFFF) {
			free(buf);
			return MTGATE_ETEXT_LONG;
		}
		le16(p, (uint16_t)sl);
		memcpy(p + 2, s ? s : "", sl);
		p += 2 + sl;
	}
	*out = buf;
	*len = n;
	return 0;
}

int codec_program_decode(const char *v, size_t len, mtgate_program_def *def,
			 char *strbuf, size_t cap)
{
	const unsigned char *p = (const unsigned char *)v, *end = p + len;
	size_t used = 0;

	if (len < PROGRAM_FIXED || p[0] != CODEC_VERSION)
		return MTGATE_ECORRUPT;
	memset(def, 0, sizeof(*def));
	for (int i = 0; i < 4; i++) {
		def->tenant |= (uint32_t)p[1 + i] << (8 * i);
		def->limit |= (uint32_t)p[7 + i] << (8 * i);
		def->price_cents |= (uint32_t)p[14 + i] << (8 * i);
	}
	def->allow_pos = p[12] != 0;
	def->interval = (mtgate_interval)p[13];
	if (p[13] >= MTGATE_INTERVAL_MAX)
		return MTGATE_ECORRUPT;
	def->kind = (mtgate_kind)p[5];
	def->period = (mtgate_period)p[6];
	def->double_opt_in = p[11] != 0;
	p += PROGRAM_FIXED;
	for (int i = 0; i < PROGRAM_NSTR; i++) {
		size_t sl;
		if (end - p < 2)
			return MTGATE_ECORRUPT;
		sl = rd_le16(p);
		p += 2;
		if ((size_t)(end - p) < sl || used + sl + 1 > cap)
			return MTGATE_ECORRUPT;
		memcpy(strbuf + used, p, sl);
		strbuf[used + sl] = '\0';
		*prog_string(def, i) = strbuf + used;
		used += sl + 1;
		p += sl;
	}
	return p == end ? 0 : MTGATE_ECORRUPT;
}

size_t codec_scope_encode(unsigned char *out, const codec_scope *sc,
			  const uint32_t *lastout, const uint32_t *asked)
{
	size_t at = CODEC_SCOPE_FIXED;

	out[0] = CODEC_VERSION;
	out[1] = sc->open;
	le64(out + 2, (uint64_t)sc->opened_at_ms);
	le16(out + 10, (uint16_t)sc->n_lastout);
	for (uint32_t i = 0; i < sc->n_lastout; i++, at += 4)
		le32(out + at, lastout[i]);
	if (!sc->open)
		return at;
	le16(out + at, (uint16_t)sc->n_asked);
	at += 2;
	for (uint32_t i = 0; i < sc->n_asked; i++, at += 4)
		le32(out + at, asked[i]);
	return at;
}

int codec_scope_decode(const char *v, size_t len, codec_scope *sc,
		       uint32_t *lastout, uint32_t *asked, uint32_t cap)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t at = CODEC_SCOPE_FIXED;

	if (len < CODEC_SCOPE_FIXED || p[0] != CODEC_VERSION || p[1] > 1)
		return MTGATE_ECORRUPT;
	sc->open = p[1];
	sc->opened_at_ms = (int64_t)rd_le64(p + 2);
	sc->n_lastout = rd_le16(p + 10);
	sc->n_asked = 0;
	sc->has_asked = false;
	if (sc->n_lastout > cap || len < at + 4 * (size_t)sc->n_lastout)
		return MTGATE_ECORRUPT;
	for (uint32_t i = 0; i < sc->n_lastout; i++, at += 4)
		lastout[i] = rd_le32(p + at);
	if (len == at)
		return 0;
	if (!sc->open || len < at + 2)
		return MTGATE_ECORRUPT;
	sc->n_asked = rd_le16(p + at);
	at += 2;
	if (sc->n_asked > cap || len != at + 4 * (size_t)sc->n_asked)
		return MTGATE_ECORRUPT;
	for (uint32_t i = 0; i < sc->n_asked; i++, at += 4)
		asked[i] = rd_le32(p + at);
	sc->has_asked = true;
	return 0;
}

/* ---- the audit trail ------------------------------------------------------------ */

void codec_key_audit(unsigned char out[CODEC_KEY_AUDIT], uint64_t number,
		     int64_t at_ms, uint64_t seq)
{
	be64(out, number);
	be64(out + 8, at_ms < 0 ? 0 : (uint64_t)at_ms);
	be64(out + 16, seq);
}

void codec_key_audit_set_seq(unsigned char key[CODEC_KEY_AUDIT], uint64_t seq)
{
	be64(key + 16, seq);
}

int codec_key_audit_decode(const char *k, size_t len, uint64_t *number,
			   int64_t *at_ms, uint64_t *seq)
{
	const unsigned char *p = (const unsigned char *)k;

	if (len != CODEC_KEY_AUDIT)
		return MTGATE_ECORRUPT;
	*number = rd_be64(p);
	*at_ms = (int64_t)rd_be64(p + 8);
	*seq = rd_be64(p + 16);
	return 0;
}

void codec_key_feed(unsigned char out[CODEC_KEY_FEED], uint32_t tenant,
		    uint64_t seq)
{
	be32(out, tenant);
	be64(out + 4, seq);
}

int codec_key_feed_decode(const char *k, size_t len, uint32_t *tenant,
			  uint64_t *seq)
{
	const unsigned char *p = (const unsigned char *)k;

	if (len != CODEC_KEY_FEED)
		return MTGATE_ECORRUPT;
	*tenant = rd_be32(p);
	*seq = rd_be64(p + 4);
	return 0;
}

uint32_t codec_audit_tenant(const unsigned char *v)
{
	return rd_le32(v + 1);
}

size_t codec_audit_encode(unsigned char *out, const mtgate_audit_rec *r)
{
	size_t sl = strlen(r->source);

	out[0] = CODEC_VERSION;
	le32(out + 1, r->tenant);
	le32(out + 5, r->program);
	out[9] = r->old_state;
	out[10] = r->new_state;
	out[11] = r->channel;
	out[12] = r->voided_by;
	out[13] = r->cause;
	le32(out + 14, r->actor);
	le64(out + 18, (uint64_t)r->changed_at_ms);
	out[26] = (unsigned char)sl;
	out[27] = 0;
	memcpy(out + CODEC_AUDIT_FIXED, r->source, sl);
	return CODEC_AUDIT_FIXED + sl;
}

int codec_audit_decode(const char *v, size_t len, mtgate_audit_rec *r)
{
	const unsigned char *p = (const unsigned char *)v;

	if (len < CODEC_AUDIT_FIXED || p[0] != CODEC_VERSION ||
	    len != (size_t)CODEC_AUDIT_FIXED + p[26] ||
	    p[9] >= MTGATE_AUDIT_STATE_MAX || p[10] >= MTGATE_AUDIT_STATE_MAX ||
	    p[11] >= MTGATE_CHANNEL_MAX || p[12] >= MTGATE_DEACT_MAX ||
	    p[13] >= MTGATE_CAUSE_MAX)
		return MTGATE_ECORRUPT;
	r->tenant = rd_le32(p + 1);
	r->program = rd_le32(p + 5);
	r->old_state = p[9];
	r->new_state = p[10];
	r->channel = p[11];
	r->voided_by = p[12];
	r->cause = p[13];
	r->actor = rd_le32(p + 14);
	r->changed_at_ms = (int64_t)rd_le64(p + 18);
	memcpy(r->source, p + CODEC_AUDIT_FIXED, p[26]);
	r->source[p[26]] = '\0';
	return 0;
}

int codec_feed_decode(const char *v, size_t len, mtgate_audit_rec *r)
{
	if (len < CODEC_KEY_AUDIT ||
	    codec_key_audit_decode(v, CODEC_KEY_AUDIT, &r->number, &r->at_ms,
				   &r->seq) < 0)
		return MTGATE_ECORRUPT;
	return codec_audit_decode(v + CODEC_KEY_AUDIT, len - CODEC_KEY_AUDIT,
				  r);
}

void codec_u64_encode(unsigned char out[8], uint64_t v)
{
	le64(out, v);
}

int codec_u64_decode(const char *v, size_t len, uint64_t *out)
{
	if (len != 8)
		return MTGATE_ECORRUPT;
	*out = rd_le64((const unsigned char *)v);
	return 0;
}
