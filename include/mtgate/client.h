/*
 * libmtgate: the client library of mtgated's binary protocol
 * (docs/protocol.md).
 *
 * A connection (mtgate_conn) is one TCP connection to one server,
 * authenticated with one key. It is not thread-safe: use one per thread.
 *
 * Two ways to talk:
 *   - blocking calls, one per opcode (mtgate_c_gate, mtgate_c_optin, ...):
 *     send one request, wait for its answer;
 *   - the pipeline: mtgate_c_send_* queue requests (tagged), mtgate_c_flush
 *     writes them, mtgate_c_recv reads one answer at a time, in whatever
 *     order the server sends them (match by tag).
 *
 * Errors: every function returns 0 or a negative code. Codes come from
 * three ranges, all named by mtgate_strerror():
 *   - the engine's (MTGATE_ENOPROGRAM, MTGATE_EVOID, ...), when the server
 *     refused a request for an engine reason;
 *   - MTGATE_ESTATUS(s), when the server answered protocol status s
 *     (MTGATE_ST_FORBIDDEN, ...);
 *   - this library's own (MTGATE_ECONNECT, MTGATE_EIO, ...).
 * After a server error, mtgate_c_last_error() gives the server's text.
 * After MTGATE_EIO, MTGATE_EDISCONNECTED or MTGATE_EPROTO the connection is
 * unusable: close it.
 *
 * Memory: strings passed in are borrowed for the call. Results that hold
 * strings state who owns them.
 *
 * Details of this implementation (engine/client/):
 *   - A blocking call first flushes requests queued with mtgate_c_send_*,
 *     and drops answers with other tags that arrive before its own: read
 *     the answers of pipelined requests before making a blocking call.
 *     Blocking calls use tags counting up from 1.
 *   - A fatal status (BAD_MAGIC, TOO_MANY_CONNECTIONS, SHUTTING_DOWN, ...)
 *     ends a blocking call whatever its tag (the server sends tag 0 when it
 *     could not read the request's header).
 *   - timeout_ms bounds each operation as a whole: the connect, one
 *     blocking call, one flush, one mtgate_c_recv. A timeout does not break
 *     the connection (unsent bytes stay queued).
 *   - Every answer is checked: header (magic, version, RESPONSE flag,
 *     body_len), opcode, exact body length, and values that become enums
 *     (reasons, states, channels, deactivation reasons, program kinds,
 *     charge intervals, MO action kinds, billing reasons, audit states
 *     and causes, row statuses) and the counts the protocol bounds (MO
 *     replies and actions, reminders, bulk rows, records no more than
 *     asked for).
 *     Bytes past what v1 defines are MTGATE_EPROTO, as is a status outside
 *     the status table.
 *   - The server's error text is kept up to 1024 bytes.
 *   - Sockets are written with MSG_NOSIGNAL: a server that went away
 *     gives MTGATE_EDISCONNECTED, never SIGPIPE. errno is not part of the
 *     API.
 */
#ifndef MTGATE_CLIENT_H
#define MTGATE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"
#include "mtgate/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	MTGATE_CLIENT_ERR_FIRST = -7300,
	MTGATE_EADDR = MTGATE_CLIENT_ERR_FIRST, /* bad HOST:PORT */
	MTGATE_ECONNECT,                        /* could not connect */
	MTGATE_EIO,           /* socket read or write failed */
	MTGATE_EDISCONNECTED, /* the server closed the connection */
	MTGATE_EPROTO,        /* the server sent a malformed frame */
	MTGATE_ETIMEOUT,      /* no answer in time */
	MTGATE_ENOKEY,        /* no key given and none readable */
	MTGATE_ETOOBIG,       /* request over the protocol's limits */
	MTGATE_CLIENT_ERR_LAST
};

/* A protocol status s (1 .. MTGATE_ST_PROTO_MAX - 1) answered by the
 * server. Engine errors come back as the engine's own codes. */
#define MTGATE_ESTATUS_BASE (-7200)
#define MTGATE_ESTATUS(s)   (MTGATE_ESTATUS_BASE + (int)(s))

typedef struct mtgate_conn mtgate_conn; /* opaque */

/*
 * Connect to "HOST:PORT" (NULL: "127.0.0.1:7411") and send HELLO with key
 * (NULL: connect without authenticating; only PING works then).
 * timeout_ms bounds connect and every later wait (0: no limit).
 * *out is freed by mtgate_c_close. On a failed HELLO the error is returned
 * and nothing is left open.
 * HOST is an IPv4 or IPv6 literal or a name; write IPv6 as "[::1]:7411".
 * A bare "HOST" means port 7411. MTGATE_EADDR when malformed, else
 * MTGATE_ECONNECT when no address of HOST accepts a connection in time.
 */
int mtgate_c_connect(const char *addr, const char *key, int timeout_ms,
		     mtgate_conn **out);
void mtgate_c_close(mtgate_conn *c);

/* The server's text of the last error answer (empty if none). Owned by c,
 * valid until the next call on c. */
const char *mtgate_c_last_error(const mtgate_conn *c);

/* What HELLO answered. */
const mtgate_wire_hello_resp *mtgate_c_hello(const mtgate_conn *c);

/* The file descriptor (for poll). */
int mtgate_c_fd(const mtgate_conn *c);

/* ---- blocking calls ---------------------------------------------------------- */

int mtgate_c_ping(mtgate_conn *c);
int mtgate_c_gate(mtgate_conn *c, uint64_t number, uint32_t program,
		  mtgate_mode mode, mtgate_reason *reason_out);
/* n <= MTGATE_PROTO_BATCH_MAX; out[i] answers reqs[i]. n 0 is
 * MTGATE_EINVAL, n over the maximum MTGATE_ETOOBIG. */
int mtgate_c_gate_batch(mtgate_conn *c, const mtgate_gate_req *reqs, uint32_t n,
			mtgate_mode mode, mtgate_reason *out);

/* Counts of consents the request changed and found already so. */
typedef struct mtgate_c_changes {
	uint32_t changed;
	uint32_t unchanged;
} mtgate_c_changes;

/* at_ms 0 = now; source may be NULL. */
int mtgate_c_optin(mtgate_conn *c, uint64_t number, uint32_t program,
		   mtgate_channel channel, const char *source, int64_t at_ms,
		   mtgate_c_changes *out);
/* program 0 with short_code: every program of the caller on it (SC:ALL).
 * With a program, short_code is ignored (may be NULL). */
int mtgate_c_optout(mtgate_conn *c, uint64_t number, uint32_t program,
		    const char *short_code, mtgate_channel channel,
		    const char *source, mtgate_c_changes *out);
int mtgate_c_deactivate(mtgate_conn *c, uint64_t number,
			mtgate_deact_reason reason, int64_t at_ms,
			const char *source, mtgate_c_changes *out);

/* QUERY: up to cap records into recs (caller-owned; source is copied),
 * *n_out the total. deact may be NULL. */
int mtgate_c_query(mtgate_conn *c, uint64_t number, mtgate_consent *recs,
		   size_t cap, size_t *n_out, mtgate_deactivation *deact);

/*
 * A program as the client sees it: the engine's definition (every field,
 * the premium ones too: price_cents, currency, interval, allow_pos), with
 * strings owned by the mtgate_c_program (freed by mtgate_c_program_free).
 */
typedef struct mtgate_c_program {
	mtgate_program_def def;
	char *mem; /* backing store of def's strings */
} mtgate_c_program;
void mtgate_c_program_free(mtgate_c_program *p);

/* Define (def->id 0) or replace (def->id set); *id_out gets the id. A
 * definition that breaks a PROG rule is MTGATE_EPROGRAM_RULE, and
 * mtgate_c_last_error() names the rule and the part (`PROG-1: welcome
 * text lacks "Max 4 msgs/mo"`); nothing of it is stored. */
int mtgate_c_program_put(mtgate_conn *c, const mtgate_program_def *def,
			 uint32_t *id_out);
/* By id, or with id 0 by short code and keyword. */
int mtgate_c_program_get(mtgate_conn *c, uint32_t id, const char *short_code,
			 const char *keyword, mtgate_c_program *out);
/* Every program the caller may see, ids ascending. *out is an array of *n
 * programs, freed with mtgate_c_program_list_free (NULL when *n is 0).
 * Follows the server's pages (several PROGRAM_LIST requests). */
int mtgate_c_program_list(mtgate_conn *c, mtgate_c_program **out, size_t *n);
void mtgate_c_program_list_free(mtgate_c_program *list, size_t n);

/* Operator only. key_out gets the new tenant's key (a NUL-terminated
 * string of at most MTGATE_PROTO_KEY_MAX bytes). */
int mtgate_c_tenant_add(mtgate_conn *c, const char *name, uint32_t *id_out,
			char key_out[MTGATE_PROTO_KEY_MAX + 1]);

/* vals[i] for i < MTGATE_STAT_MAX (enum mtgate_stat); *n_out the count the
 * server sent (later servers may send more; extra ones are dropped). */
int mtgate_c_stats(mtgate_conn *c, uint64_t vals[MTGATE_STAT_MAX],
		   size_t *n_out);

/* op: MTGATE_CLOCK_READ, _SET (value = time), _ADVANCE (value = ms). */
int mtgate_c_clock(mtgate_conn *c, int op, int64_t value_ms, int64_t *now_out);

/* ---- the consent rules ------------------------------------------------------------ */

/*
 * MO: a message from number to short_code (len bytes of UTF-8 text, at
 * most MTGATE_MO_MAX) for the server to apply the rules to. *out is the
 * engine's result struct, owned by the caller (about 21 KiB: put it on the
 * heap in small stacks): the reply texts to send back, in order, and the
 * state changes made. out->reply[i] point into out->text and live as long
 * as *out; nothing else refers to c. A malformed answer (more than
 * MTGATE_MO_REPLIES_MAX replies, a reply over MTGATE_TEXT_MAX bytes or
 * holding a NUL, more than MTGATE_MO_ACTIONS_MAX actions, an unknown
 * action kind) is MTGATE_EPROTO.
 */
int mtgate_c_mo(mtgate_conn *c, uint64_t number, const char *short_code,
		const char *text, size_t len, mtgate_mo_result *out);

/* A double opt-in request for program from channel (DOI-1), or its one
 * re-notify (DOI-3). text_out (may be NULL) gets the confirmation request
 * to send, NUL-terminated: the program's confirm text. source may be
 * NULL. */
int mtgate_c_doi_request(mtgate_conn *c, uint64_t number, uint32_t program,
			 mtgate_channel channel, const char *source,
			 char text_out[MTGATE_TEXT_MAX + 1]);
int mtgate_c_doi_renotify(mtgate_conn *c, uint64_t number, uint32_t program,
			  char text_out[MTGATE_TEXT_MAX + 1]);

/* The reminders due on the UTC day of at_ms (0: the server's now), DOI-9:
 * up to cap into out (caller-owned; one answer holds at most
 * MTGATE_PROTO_REMINDERS_MAX, so a larger cap asks for that many), the
 * count into *n_out; *more_out (may be NULL) is true when the server had
 * more than it sent. cap 0 is MTGATE_EINVAL. */
int mtgate_c_reminders_due(mtgate_conn *c, int64_t at_ms, mtgate_reminder *out,
			   size_t cap, size_t *n_out, bool *more_out);

/* May number be charged amount_cents for program now (BILL-1, BILL-2,
 * DOI-7)? *reason_out gets MTGATE_BILL_ALLOW or why not. Counts nothing. */
int mtgate_c_bill_check(mtgate_conn *c, uint64_t number, uint32_t program,
			uint32_t amount_cents, mtgate_bill_reason *reason_out);
/* Record a charge's result: ok, or failed (BILL-2 counts failures). */
int mtgate_c_bill_result(mtgate_conn *c, uint64_t number, uint32_t program,
			 bool ok, mtgate_c_changes *out);

/* Operator only: the short code's generic help text (HELP-3); NULL or ""
 * clears it. */
int mtgate_c_shortcode_set(mtgate_conn *c, const char *short_code,
			   const char *help_text);

/* ---- the bulk paths and the audit trail ----------------------------------------------- */

/* One row of an IMPORT: an opt-in collected elsewhere. source is
 * source_len bytes, not NUL-terminated (NULL when source_len is 0),
 * borrowed for the call; the server takes at most MTGATE_SOURCE_MAX bytes
 * and no NUL (a row over that is rejected by its status). */
typedef struct mtgate_c_import_row {
	uint64_t number;
	uint32_t program;
	mtgate_channel channel; /* WEB, IVR, POS, IMPORT, API, MO, USSD, WAP,
				 * MMS */
	int64_t at_ms;          /* when it was given; 0 = now */
	const char *source;
	size_t source_len;
} mtgate_c_import_row;

/*
 * IMPORT n rows (1 .. MTGATE_PROTO_BULK_MAX; n 0 is MTGATE_EINVAL, more
 * MTGATE_ETOOBIG, as is a frame over MTGATE_FRAME_BODY_MAX: 8 bytes, 24
 * a row and the sources). status[i] (may be NULL: not copied) gets row
 * i's status: 0 opted in, else the protocol status a single OPTIN of it
 * would get (MTGATE_ST_BAD_NUMBER, MTGATE_ST_ENGINE + k, ...; the error
 * code is mtgate_c_status_error of it). *out (may be NULL) the counts.
 * The answer comes once every accepted row is durable.
 */
int mtgate_c_import(mtgate_conn *c, const mtgate_c_import_row *rows, uint32_t n,
		    uint16_t *status, mtgate_wire_bulk_resp *out);

/*
 * DEACT_LIST (operator only): n numbers (1 .. MTGATE_PROTO_BULK_MAX) of a
 * carrier's disconnect or port list, each deactivated at its at_ms (0 =
 * now); source (source_len bytes, the list's name) is recorded with each.
 * out->changed counts the numbers matched, out->unchanged the consents
 * voided; status[i] (may be NULL) as for mtgate_c_import.
 */
int mtgate_c_deact_list(mtgate_conn *c, mtgate_deact_reason reason,
			const char *source, size_t source_len,
			const mtgate_wire_deact_entry *e, uint32_t n,
			uint16_t *status, mtgate_wire_bulk_resp *out);

/*
 * The number's audit trail, oldest first (AUD-1, AUD-2): skip records
 * passed over, then at most max (0: as many as fit one frame) and at most
 * cap (1 or more) records into out (caller-owned; each record's source is
 * copied and NUL-terminated, tenant is 0: it is not on the wire); *n_out
 * how many, *more whether records remain (ask again with skip + *n_out).
 */
int mtgate_c_audit(mtgate_conn *c, uint64_t number, uint32_t skip, uint32_t max,
		   mtgate_audit_rec *out, size_t cap, size_t *n_out,
		   bool *more);

/*
 * The program's current opt-ins with their evidence (AUD-3), numbers
 * ascending after after_number (0: from the start): at most max (0: as
 * many as fit one frame) and at most cap (1 or more) into out; *more
 * whether more may follow, *next_after the after_number to ask with
 * next. The server holds nothing between calls.
 */
int mtgate_c_export(mtgate_conn *c, uint32_t program, uint64_t after_number,
		    uint32_t max, mtgate_export_rec *out, size_t cap,
		    size_t *n_out, bool *more, uint64_t *next_after);

/*
 * The caller's daily summary (AUD-4) for the UTC day holding day_ms (0:
 * the server's today): one record per program of the caller, ids
 * ascending; up to cap into out (may be NULL when cap is 0), the count
 * into *n_out (more than cap: only cap were copied). *day_start (may be
 * NULL) gets the day's 00:00 UTC.
 */
int mtgate_c_summary(mtgate_conn *c, int64_t day_ms, mtgate_summary_rec *out,
		     size_t cap, size_t *n_out, int64_t *day_start);

/*
 * The caller's change feed (AUD-5): records with seq >= from (from 0:
 * where the caller's feed stands), at most max (0: as many as fit one
 * frame) and at most cap (1 or more), seq ascending, into out (as
 * mtgate_c_audit); *next gets the position to read from next.
 */
int mtgate_c_feed_read(mtgate_conn *c, uint64_t from, uint32_t max,
		       mtgate_audit_rec *out, size_t cap, size_t *n_out,
		       uint64_t *next);
/* Acknowledge every feed record up to and including position; durable
 * when it returns. */
int mtgate_c_feed_ack(mtgate_conn *c, uint64_t position);

/* ---- the pipeline ------------------------------------------------------------------ */

/* Queue requests (nothing is sent until mtgate_c_flush, or until the send
 * buffer fills, which flushes). The tag is the caller's. The send buffer
 * holds at most 2 MiB; a flush also reads answers already arriving into
 * the receive buffer, so a long pipeline does not stall on a server that
 * waits for its answers to be read. */
int mtgate_c_send_gate(mtgate_conn *c, uint64_t tag, uint64_t number,
		       uint32_t program, mtgate_mode mode);
int mtgate_c_send_gate_batch(mtgate_conn *c, uint64_t tag,
			     const mtgate_gate_req *reqs, uint32_t n,
			     mtgate_mode mode);
/* Any frame: opcode and body (body_len bytes, already encoded). */
int mtgate_c_send_raw(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		      const void *body, uint32_t body_len);
int mtgate_c_flush(mtgate_conn *c);

/* One answer. Body points into c's buffer, valid until the next call on
 * c. Returns 0 with the header filled in (status may be an error: the
 * frame is still a valid answer), or a negative code. Flushes queued
 * requests first. For an error status, mtgate_c_last_error has its text. */
int mtgate_c_recv(mtgate_conn *c, mtgate_wire_header *hdr,
		  const uint8_t **body);

/* For a received GATE or GATE_BATCH answer: the reasons (n for a batch).
 * An answer of another opcode is MTGATE_EINVAL; an error status gives its
 * code (mtgate_c_status_error). A batch of more than cap reasons is
 * MTGATE_EINVAL with *n_out set to the count. */
int mtgate_c_decode_gate(const mtgate_wire_header *hdr, const uint8_t *body,
			 mtgate_reason *reason);
int mtgate_c_decode_batch(const mtgate_wire_header *hdr, const uint8_t *body,
			  mtgate_reason *out, uint32_t cap, uint32_t *n_out);

/* IMPORT and DEACT_LIST, pipelined: queued as the other mtgate_c_send_*
 * are, with the arguments and limits of mtgate_c_import and
 * mtgate_c_deact_list. */
int mtgate_c_send_import(mtgate_conn *c, uint64_t tag,
			 const mtgate_c_import_row *rows, uint32_t n);
int mtgate_c_send_deact_list(mtgate_conn *c, uint64_t tag,
			     mtgate_deact_reason reason, const char *source,
			     size_t source_len,
			     const mtgate_wire_deact_entry *e, uint32_t n);

/* For a received IMPORT or DEACT_LIST answer: the counts into *out and
 * the row statuses into status (cap of them). An answer of another opcode,
 * or of more rows than cap, is MTGATE_EINVAL (out->count is set); an
 * error status gives its code; a malformed body (shorter than 16 + 2 x
 * count, a count of 0 or over MTGATE_PROTO_BULK_MAX, a status outside the
 * status table, counts that do not add up) is MTGATE_EPROTO; bytes after
 * the statuses are ignored, as in every answer (a later version may add
 * fields). Check that out->count is the number of rows sent. */
int mtgate_c_decode_bulk(const mtgate_wire_header *hdr, const uint8_t *body,
			 mtgate_wire_bulk_resp *out, uint16_t *status,
			 uint32_t cap);

/* ---- helpers shared by the tools ------------------------------------------------------- */

/* The error code of an answer with status st (0 for OK). */
int mtgate_c_status_error(unsigned st);

#ifdef __cplusplus
}
#endif
#endif /* MTGATE_CLIENT_H */
