/*
 * Record layout in RocksDB. This file owns the byte order of everything the
 * engine stores: keys are big-endian so that one number's records form one
 * prefix range in number order; values are little-endian and start with a
 * version byte. Decoders check every length and return MTGATE_ECORRUPT on a
 * short or unknown record; they never read past the input.
 *
 *   column family   key (big-endian)              value
 *   programs        id u32                        codec_program
 *   consents        number u64, program u32       codec_consent
 *   counters        seq u64                       counter log chunk
 *   deactivations   number u64                    codec_deact
 *   audit           number u64, at u64, seq u64   codec_audit
 *   feed            tenant u32, seq u64           audit key + codec_audit
 *                   tenant u32, 0 u64             acknowledged seq u64
 */
#ifndef MTGATE_PERSIST_CODEC_H
#define MTGATE_PERSIST_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"

#define CODEC_KEY_CONSENT 12
#define CODEC_KEY_NUMBER  8
#define CODEC_KEY_PROGRAM 4

/* consent value: ver u8, state u8, channel u8, voided_by u8,
 * changed_at i64, granted u16, cause u8, doi_flags u8, doi_channel u8,
 * doi_at i64, price_cents u32, interval u8, bill_day u32, bill_fails u8,
 * bill_credits u16, source_len u8, source bytes */
#define CODEC_CONSENT_FIXED 38
#define CODEC_CONSENT_MAX   (CODEC_CONSENT_FIXED + MTGATE_SOURCE_MAX)

/* Why a consent last changed, beyond its state (DOI events, expiries). */
enum codec_cause {
	CODEC_CAUSE_NONE = 0,
	CODEC_CAUSE_CONFIRMED,     /* DOI-4: YES */
	CODEC_CAUSE_DECLINED,      /* DOI-6: NO */
	CODEC_CAUSE_FAILED,        /* DOI-5: another reply */
	CODEC_CAUSE_EXPIRED,       /* DOI-5: no answer in 24 h */
	CODEC_CAUSE_SCOPE_TIMEOUT, /* STOP-4: no answer in 30 minutes */
	CODEC_CAUSE_MAX
};

#define CODEC_DOI_RENOTIFIED 0x01 /* doi_flags: the one re-notify is used */

typedef struct codec_consent {
	uint8_t state;     /* mtgate_state */
	uint8_t channel;   /* mtgate_channel */
	uint8_t voided_by; /* mtgate_deact_reason */
	int64_t changed_at_ms;
	uint16_t granted; /* one-off credits granted */
	uint8_t cause;    /* codec_cause */
	uint8_t doi_flags;
	uint8_t doi_channel;   /* where the double opt-in was asked */
	int64_t doi_at_ms;     /* asked (PENDING) or declined (DOI-6) */
	uint32_t price_cents;  /* confirmed price (PENDING: the one asked) */
	uint8_t interval;      /* confirmed charge interval */
	uint32_t bill_day;     /* UTC day of bill_fails */
	uint8_t bill_fails;    /* failed billing attempts that day (BILL-2) */
	uint16_t bill_credits; /* one-off: confirmed requests not billed yet */
	uint8_t source_len;
	char source[MTGATE_SOURCE_MAX + 1];
} codec_consent;

/*
 * The number's record of one short code (family "scopes", key = number
 * u64, sc id u32 as a consent key): ver u8, open u8 (the STOP-4 question),
 * opened_at i64, n u16, then n program ids u32 (the latest opt-out on the
 * short code, OPTIN-4), then, when the question is open, m u16 and m
 * program ids u32: the programs the question covers (those active when it
 * was asked). A record without the second list (written before it
 * existed) covers every program active on the short code.
 */
#define CODEC_SCOPE_FIXED 12
#define CODEC_SCOPE_MAX(n, m)                                                  \
	(CODEC_SCOPE_FIXED + 4 * (size_t)(n) + 2 + 4 * (size_t)(m))

typedef struct codec_scope {
	bool open;
	int64_t opened_at_ms;
	uint32_t n_lastout, n_asked;
	bool has_asked; /* the record lists the programs asked */
} codec_scope;

size_t codec_scope_encode(unsigned char *out, const codec_scope *sc,
			  const uint32_t *lastout, const uint32_t *asked);
/* The ids are read into lastout and asked (cap of each). */
int codec_scope_decode(const char *v, size_t len, codec_scope *sc,
		       uint32_t *lastout, uint32_t *asked, uint32_t cap);

/*
 * Counter log. Counters are persisted as a log of chunks, not a key per
 * counter: key = seq u64 (big-endian, so key order is write order); value =
 * ver u8, n u32, then n entries of number u64, program u32, period u16,
 * count u16. Replaying the chunks in key order and keeping the last entry of
 * each (number, program) gives every counter's newest persisted value.
 */
#define CODEC_KEY_CTRLOG   8
#define CODEC_CTRLOG_HEAD  5
#define CODEC_CTRLOG_ENTRY 16

void codec_key_ctrlog(unsigned char out[CODEC_KEY_CTRLOG], uint64_t seq);
int codec_key_ctrlog_decode(const char *k, size_t len, uint64_t *seq);
void codec_ctrlog_head(unsigned char out[CODEC_CTRLOG_HEAD], uint32_t n);
void codec_ctrlog_entry(unsigned char out[CODEC_CTRLOG_ENTRY], uint64_t number,
			uint32_t program, uint16_t period, uint16_t count);
/* Checks the head and the length; *n_out gets the entry count and *entries
 * points at the first entry inside v. */
int codec_ctrlog_decode(const char *v, size_t len, uint32_t *n_out,
			const unsigned char **entries);
void codec_ctrlog_entry_decode(const unsigned char *e, uint64_t *number,
			       uint32_t *program, uint16_t *period,
			       uint16_t *count);
/* deactivation value: ver u8, reason u8, at i64, source_len u8, source */
#define CODEC_DEACT_FIXED 11
#define CODEC_DEACT_MAX   (CODEC_DEACT_FIXED + MTGATE_SOURCE_MAX)

void codec_key_consent(unsigned char out[CODEC_KEY_CONSENT], uint64_t number,
		       uint32_t program);
void codec_key_number(unsigned char out[CODEC_KEY_NUMBER], uint64_t number);
void codec_key_program(unsigned char out[CODEC_KEY_PROGRAM], uint32_t id);
int codec_key_consent_decode(const char *k, size_t len, uint64_t *number,
			     uint32_t *program);
int codec_key_number_decode(const char *k, size_t len, uint64_t *number);
int codec_key_program_decode(const char *k, size_t len, uint32_t *id);

/* Returns the encoded length (<= CODEC_CONSENT_MAX). */
size_t codec_consent_encode(unsigned char *out, const codec_consent *c);
int codec_consent_decode(const char *v, size_t len, codec_consent *out);
/* The same checks, but only state, channel, voided_by, granted and
 * source_len are filled in (the recovery scan needs no more). */
int codec_consent_peek(const char *v, size_t len, codec_consent *out);

size_t codec_deact_encode(unsigned char *out, uint8_t reason, int64_t at_ms,
			  const char *source, size_t source_len);
int codec_deact_decode(const char *v, size_t len, uint8_t *reason,
		       int64_t *at_ms);

/*
 * The audit trail (AUD-1). One record per change of a consent's state, in
 * the "audit" family under (number, at, seq) and again in the "feed"
 * family under (tenant, seq), its value prefixed with the audit key. seq
 * is assigned by the committer, in the order changes become durable: the
 * owner writes the audit key with seq 0 and the committer fills it in
 * (codec_key_audit_set_seq). The feed key (tenant, 0) holds the tenant's
 * acknowledged position. The newest seq is kept under CODEC_META_AUDIT_SEQ
 * in the default family, written with every batch that assigns one.
 *
 * value: ver u8, tenant u32, program u32, old u8, new u8, channel u8,
 * voided_by u8, cause u8, actor u32, changed_at i64, source_len u8, source
 */
#define CODEC_KEY_AUDIT      24
#define CODEC_KEY_FEED       12
#define CODEC_AUDIT_FIXED    28
#define CODEC_AUDIT_MAX      (CODEC_AUDIT_FIXED + MTGATE_SOURCE_MAX)
#define CODEC_META_AUDIT_SEQ "audit_seq"

void codec_key_audit(unsigned char out[CODEC_KEY_AUDIT], uint64_t number,
		     int64_t at_ms, uint64_t seq);
void codec_key_audit_set_seq(unsigned char key[CODEC_KEY_AUDIT], uint64_t seq);
int codec_key_audit_decode(const char *k, size_t len, uint64_t *number,
			   int64_t *at_ms, uint64_t *seq);
void codec_key_feed(unsigned char out[CODEC_KEY_FEED], uint32_t tenant,
		    uint64_t seq);
int codec_key_feed_decode(const char *k, size_t len, uint32_t *tenant,
			  uint64_t *seq);
/* The tenant of an encoded audit value (len checked by the caller). */
uint32_t codec_audit_tenant(const unsigned char *v);
/* r's fields but seq, at_ms and number (they are the key). */
size_t codec_audit_encode(unsigned char *out, const mtgate_audit_rec *r);
int codec_audit_decode(const char *v, size_t len, mtgate_audit_rec *r);
/* A feed value: the audit key, then the audit value. Fills every field. */
int codec_feed_decode(const char *v, size_t len, mtgate_audit_rec *r);
void codec_u64_encode(unsigned char out[8], uint64_t v);
int codec_u64_decode(const char *v, size_t len, uint64_t *out);

/* Program: every field of def. The encoded form is malloc'd into *out
 * (caller frees) with its length in *len. */
int codec_program_encode(const mtgate_program_def *def, unsigned char **out,
			 size_t *len);
/* Decodes into def whose strings point into v (which must outlive def).
 * Strings are not NUL-terminated in v, so they are copied into strbuf
 * (cap bytes) and def points there. */
int codec_program_decode(const char *v, size_t len, mtgate_program_def *def,
			 char *strbuf, size_t cap);

#endif
