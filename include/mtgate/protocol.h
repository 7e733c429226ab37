/*
 * mtgate wire protocol, version 1: the constants and wire structs of
 * docs/protocol.md, which is the specification; this header mirrors it.
 *
 * Every struct here has the size and field order of its wire form, with
 * explicit pad fields and no implicit padding (pinned by _Static_assert).
 * The structs are the in-memory form of a message: the bytes on the wire
 * are little-endian, and the codec (engine/proto/codec.c) is the one place
 * that converts between the two. Never copy a struct onto the wire directly.
 */
#ifndef MTGATE_PROTOCOL_H
#define MTGATE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTGATE_PROTO_MAGIC        0x474Du /* bytes 4D 47, "MG" */
#define MTGATE_PROTO_VERSION      1
#define MTGATE_PROTO_HEADER_LEN   24
#define MTGATE_FRAME_BODY_MAX     (1u << 20)
#define MTGATE_PROTO_BATCH_MAX    16384
#define MTGATE_PROTO_KEY_MAX      128
#define MTGATE_HELLO_FAILURES_MAX 3
#define MTGATE_DEFAULT_PORT       7411
/* Reminders one REMINDERS_DUE answer holds: what fits one frame after its
 * 8-byte head, 32 bytes each. */
#define MTGATE_PROTO_REMINDERS_MAX ((MTGATE_FRAME_BODY_MAX - 8) / 32)
/* Rows one IMPORT or DEACT_LIST carries. */
#define MTGATE_PROTO_BULK_MAX 16384

/* Header flag bits. */
#define MTGATE_FLAG_RESPONSE 0x0001u

/* Opcodes. (MTGATE_OPC_: the engine's mtgate_op names consent changes.) */
enum mtgate_opcode {
	MTGATE_OPC_HELLO = 0x01,
	MTGATE_OPC_PING = 0x02,
	MTGATE_OPC_GATE = 0x10,
	MTGATE_OPC_GATE_BATCH = 0x11,
	MTGATE_OPC_OPTIN = 0x20,
	MTGATE_OPC_OPTOUT = 0x21,
	MTGATE_OPC_DEACTIVATE = 0x22,
	MTGATE_OPC_QUERY = 0x30,
	MTGATE_OPC_PROGRAM_PUT = 0x40,
	MTGATE_OPC_PROGRAM_GET = 0x41,
	MTGATE_OPC_PROGRAM_LIST = 0x42,
	MTGATE_OPC_TENANT_ADD = 0x50,
	MTGATE_OPC_STATS = 0x60,
	MTGATE_OPC_CLOCK = 0x70,
	/* the consent rules: 0x80 .. 0x8F */
	MTGATE_OPC_MO = 0x80,
	MTGATE_OPC_DOI_REQUEST = 0x81,
	MTGATE_OPC_DOI_RENOTIFY = 0x82,
	MTGATE_OPC_REMINDERS_DUE = 0x83,
	MTGATE_OPC_BILL_CHECK = 0x84,
	MTGATE_OPC_BILL_RESULT = 0x85,
	MTGATE_OPC_SHORTCODE_SET = 0x86,
	/* the bulk paths and the audit trail */
	MTGATE_OPC_IMPORT = 0x90,
	MTGATE_OPC_DEACT_LIST = 0x91,
	MTGATE_OPC_AUDIT = 0x92,
	MTGATE_OPC_EXPORT = 0x93,
	MTGATE_OPC_SUMMARY = 0x94,
	MTGATE_OPC_FEED_READ = 0x95,
	MTGATE_OPC_FEED_ACK = 0x96,
	MTGATE_OPC_MAX = 0x100
};

/* Response statuses. */
enum mtgate_status {
	MTGATE_ST_OK = 0,
	MTGATE_ST_BAD_MAGIC = 1,       /* fatal */
	MTGATE_ST_BAD_VERSION = 2,     /* fatal */
	MTGATE_ST_FRAME_TOO_LARGE = 3, /* fatal */
	MTGATE_ST_TRUNCATED = 4,       /* fatal */
	MTGATE_ST_BAD_HEADER = 5,
	MTGATE_ST_BAD_OPCODE = 6,
	MTGATE_ST_BAD_BODY = 7,
	MTGATE_ST_BATCH_TOO_LARGE = 8,
	MTGATE_ST_BAD_NUMBER = 9,
	MTGATE_ST_NOT_AUTHENTICATED = 10,
	MTGATE_ST_AUTH_FAILED = 11,
	MTGATE_ST_FORBIDDEN = 12,
	MTGATE_ST_CLOCK_DISABLED = 13,
	MTGATE_ST_TOO_MANY_CONNECTIONS = 14, /* fatal */
	MTGATE_ST_SHUTTING_DOWN = 15,        /* fatal */
	MTGATE_ST_INTERNAL = 16,
	MTGATE_ST_PROTO_MAX,
	/* 256 + (engine error - MTGATE_ERR_FIRST) */
	MTGATE_ST_ENGINE = 256,
};

/* Roles in HELLO's answer. */
enum { MTGATE_ROLE_OPERATOR = 0, MTGATE_ROLE_TENANT = 1 };

/* CLOCK operations. */
enum { MTGATE_CLOCK_READ = 0, MTGATE_CLOCK_SET = 1, MTGATE_CLOCK_ADVANCE = 2 };

/* STATS counters, in wire order. New ones are only appended. */
enum mtgate_stat {
	MTGATE_STAT_CONSENTS,
	MTGATE_STAT_STORE_BYTES,
	MTGATE_STAT_COMMITS,
	MTGATE_STAT_CHANGES,
	MTGATE_STAT_COUNTER_FLUSHES,
	MTGATE_STAT_GATES,
	MTGATE_STAT_CONNECTIONS,
	MTGATE_STAT_FRAMES_IN,
	MTGATE_STAT_FRAMES_OUT,
	MTGATE_STAT_PROTOCOL_ERRORS,
	MTGATE_STAT_UPTIME_MS,
	MTGATE_STAT_READONLY,
	MTGATE_STAT_RECOVERED,
	MTGATE_STAT_RECOVERY_MS,
	MTGATE_STAT_MAX
};

/* ---- the header ---------------------------------------------------------- */

typedef struct mtgate_wire_header {
	uint16_t magic;
	uint8_t version;
	uint8_t opcode;
	uint16_t flags;
	uint16_t status;
	uint64_t tag;
	uint32_t body_len;
	uint32_t reserved;
} mtgate_wire_header;
_Static_assert(sizeof(mtgate_wire_header) == MTGATE_PROTO_HEADER_LEN,
	       "header is 24 bytes");

/* ---- fixed parts of bodies ------------------------------------------------- */

/* HELLO request: u16 version, u16 key_len, then the key. */
typedef struct mtgate_wire_hello_req {
	uint16_t version;
	uint16_t key_len;
} mtgate_wire_hello_req;
_Static_assert(sizeof(mtgate_wire_hello_req) == 4, "hello_req");

typedef struct mtgate_wire_hello_resp {
	uint32_t credential;
	uint8_t role;
	uint8_t test_clock;
	uint16_t threads;
	uint32_t frame_body_max;
	uint32_t batch_max;
} mtgate_wire_hello_resp;
_Static_assert(sizeof(mtgate_wire_hello_resp) == 16, "hello_resp");

typedef struct mtgate_wire_gate_req {
	uint64_t number;
	uint32_t program;
	uint8_t mode;
	uint8_t pad[3];
} mtgate_wire_gate_req;
_Static_assert(sizeof(mtgate_wire_gate_req) == 16, "gate_req");

typedef struct mtgate_wire_gate_resp {
	uint8_t reason;
	uint8_t pad[3];
} mtgate_wire_gate_resp;
_Static_assert(sizeof(mtgate_wire_gate_resp) == 4, "gate_resp");

typedef struct mtgate_wire_batch_req {
	uint32_t count;
	uint8_t mode;
	uint8_t pad[3];
} mtgate_wire_batch_req;
_Static_assert(sizeof(mtgate_wire_batch_req) == 8, "batch_req");

/* One decision of a batch: u64 number, u32 program, packed (12 bytes, so
 * the fields are byte arrays here; the codec reads them). */
typedef struct mtgate_wire_batch_entry {
	uint8_t number[8];
	uint8_t program[4];
} mtgate_wire_batch_entry;
_Static_assert(sizeof(mtgate_wire_batch_entry) == 12, "batch_entry");

typedef struct mtgate_wire_batch_resp {
	uint32_t count;
	uint32_t pad;
} mtgate_wire_batch_resp;
_Static_assert(sizeof(mtgate_wire_batch_resp) == 8, "batch_resp");

typedef struct mtgate_wire_optin_req {
	uint64_t number;
	uint32_t program;
	uint8_t channel;
	uint8_t pad;
	uint16_t source_len;
	int64_t at_ms;
} mtgate_wire_optin_req;
_Static_assert(sizeof(mtgate_wire_optin_req) == 24, "optin_req");

typedef struct mtgate_wire_optout_req {
	uint64_t number;
	uint32_t program; /* 0: every program of the caller on the short code */
	uint8_t channel;
	uint8_t sc_len;
	uint16_t source_len;
} mtgate_wire_optout_req;
_Static_assert(sizeof(mtgate_wire_optout_req) == 16, "optout_req");

typedef struct mtgate_wire_deact_req {
	uint64_t number;
	uint8_t reason;
	uint8_t pad;
	uint16_t source_len;
	uint32_t pad2;
	int64_t at_ms;
} mtgate_wire_deact_req;
_Static_assert(sizeof(mtgate_wire_deact_req) == 24, "deact_req");

typedef struct mtgate_wire_change_resp {
	uint32_t changed;
	uint32_t unchanged;
} mtgate_wire_change_resp;
_Static_assert(sizeof(mtgate_wire_change_resp) == 8, "change_resp");

typedef struct mtgate_wire_query_req {
	uint64_t number;
} mtgate_wire_query_req;
_Static_assert(sizeof(mtgate_wire_query_req) == 8, "query_req");

typedef struct mtgate_wire_query_resp {
	uint8_t deact_reason;
	uint8_t pad[3];
	uint32_t count;
	int64_t deact_at_ms;
} mtgate_wire_query_resp;
_Static_assert(sizeof(mtgate_wire_query_resp) == 16, "query_resp");

typedef struct mtgate_wire_consent_rec {
	uint32_t program;
	uint8_t state;
	uint8_t channel;
	uint8_t voided_by;
	uint8_t pad;
	int64_t changed_at_ms;
	uint32_t used;
	uint32_t limit;
	uint16_t source_len;
	uint16_t pad2;
	uint32_t pad3;
} mtgate_wire_consent_rec;
_Static_assert(sizeof(mtgate_wire_consent_rec) == 32, "consent_rec");

/* Followed by 9 strings (u16 len + bytes): short code, keyword, name, time
 * zone, welcome, help, quit, confirm, currency. */
typedef struct mtgate_wire_program_rec {
	uint32_t id;
	uint32_t tenant;
	uint8_t kind;
	uint8_t period;
	uint8_t double_opt_in;
	uint8_t pad;
	uint32_t limit;
	uint32_t price_cents; /* 0: standard rate */
	uint8_t interval;     /* mtgate_interval */
	uint8_t allow_pos;
	uint16_t pad2;
} mtgate_wire_program_rec;
_Static_assert(sizeof(mtgate_wire_program_rec) == 24, "program_rec");
#define MTGATE_PROGRAM_STRINGS 9

typedef struct mtgate_wire_program_get_req {
	uint32_t id;
	uint8_t sc_len;
	uint8_t kw_len;
	uint16_t pad;
} mtgate_wire_program_get_req;
_Static_assert(sizeof(mtgate_wire_program_get_req) == 8, "program_get_req");

typedef struct mtgate_wire_program_list_req {
	uint32_t after_id;
	uint32_t max;
} mtgate_wire_program_list_req;
_Static_assert(sizeof(mtgate_wire_program_list_req) == 8, "program_list_req");

typedef struct mtgate_wire_program_list_resp {
	uint32_t count;
	uint32_t more;
} mtgate_wire_program_list_resp;
_Static_assert(sizeof(mtgate_wire_program_list_resp) == 8, "program_list_resp");

typedef struct mtgate_wire_tenant_resp {
	uint32_t tenant;
	uint16_t key_len;
	uint16_t pad;
} mtgate_wire_tenant_resp;
_Static_assert(sizeof(mtgate_wire_tenant_resp) == 8, "tenant_resp");

typedef struct mtgate_wire_stats_resp {
	uint32_t count;
	uint32_t pad;
} mtgate_wire_stats_resp;
_Static_assert(sizeof(mtgate_wire_stats_resp) == 8, "stats_resp");

typedef struct mtgate_wire_clock_req {
	uint8_t op;
	uint8_t pad[7];
	int64_t value_ms;
} mtgate_wire_clock_req;
_Static_assert(sizeof(mtgate_wire_clock_req) == 16, "clock_req");

typedef struct mtgate_wire_clock_resp {
	int64_t now_ms;
} mtgate_wire_clock_resp;
_Static_assert(sizeof(mtgate_wire_clock_resp) == 8, "clock_resp");

/* ---- the consent rules (0x80 .. 0x8F) --------------------------------------- */

/* MO: then sc_len bytes of short code and text_len bytes of UTF-8 text. */
typedef struct mtgate_wire_mo_req {
	uint64_t number;
	uint8_t sc_len;
	uint8_t pad;
	uint16_t text_len;
	uint32_t pad2;
} mtgate_wire_mo_req;
_Static_assert(sizeof(mtgate_wire_mo_req) == 16, "mo_req");

/* MO answer: then n_replies strings (u16 len + text), then n_actions
 * mtgate_wire_mo_action. */
typedef struct mtgate_wire_mo_resp {
	uint16_t n_replies;
	uint16_t n_actions;
	uint32_t pad;
} mtgate_wire_mo_resp;
_Static_assert(sizeof(mtgate_wire_mo_resp) == 8, "mo_resp");

typedef struct mtgate_wire_mo_action {
	uint8_t kind; /* mtgate_mo_action_kind */
	uint8_t pad[3];
	uint32_t program; /* 0: the short code as a whole */
} mtgate_wire_mo_action;
_Static_assert(sizeof(mtgate_wire_mo_action) == 8, "mo_action");

/* DOI_REQUEST: then source_len bytes of source. Answered with a string
 * (u16 len + text): the program's confirm text. */
typedef struct mtgate_wire_doi_req {
	uint64_t number;
	uint32_t program;
	uint8_t channel;
	uint8_t pad;
	uint16_t source_len;
} mtgate_wire_doi_req;
_Static_assert(sizeof(mtgate_wire_doi_req) == 16, "doi_req");

/* DOI_RENOTIFY; answered as DOI_REQUEST is. */
typedef struct mtgate_wire_renotify_req {
	uint64_t number;
	uint32_t program;
	uint32_t pad;
} mtgate_wire_renotify_req;
_Static_assert(sizeof(mtgate_wire_renotify_req) == 16, "renotify_req");

typedef struct mtgate_wire_reminders_req {
	int64_t at_ms; /* 0: now */
	uint32_t max;  /* 0: as many as fit in one frame */
	uint32_t pad;
} mtgate_wire_reminders_req;
_Static_assert(sizeof(mtgate_wire_reminders_req) == 16, "reminders_req");

/* Then count mtgate_wire_reminder_rec. */
typedef struct mtgate_wire_reminders_resp {
	uint32_t count;
	uint32_t more;
} mtgate_wire_reminders_resp;
_Static_assert(sizeof(mtgate_wire_reminders_resp) == 8, "reminders_resp");

typedef struct mtgate_wire_reminder_rec {
	uint64_t number;
	uint32_t program;
	uint32_t pad;
	int64_t since_ms;
	int64_t due_ms;
} mtgate_wire_reminder_rec;
_Static_assert(sizeof(mtgate_wire_reminder_rec) == 32, "reminder_rec");

typedef struct mtgate_wire_bill_check_req {
	uint64_t number;
	uint32_t program;
	uint32_t amount_cents;
} mtgate_wire_bill_check_req;
_Static_assert(sizeof(mtgate_wire_bill_check_req) == 16, "bill_check_req");

typedef struct mtgate_wire_bill_check_resp {
	uint8_t reason; /* mtgate_bill_reason */
	uint8_t pad[3];
} mtgate_wire_bill_check_resp;
_Static_assert(sizeof(mtgate_wire_bill_check_resp) == 4, "bill_check_resp");

/* BILL_RESULT; answered with mtgate_wire_change_resp. */
typedef struct mtgate_wire_bill_result_req {
	uint64_t number;
	uint32_t program;
	uint8_t ok; /* 1 charged, 0 failed */
	uint8_t pad[3];
} mtgate_wire_bill_result_req;
_Static_assert(sizeof(mtgate_wire_bill_result_req) == 16, "bill_result_req");

/* SHORTCODE_SET: then sc_len bytes of short code and help_len bytes of
 * help text. Answered with an empty body. */
typedef struct mtgate_wire_shortcode_req {
	uint8_t sc_len;
	uint8_t pad;
	uint16_t help_len;
} mtgate_wire_shortcode_req;
_Static_assert(sizeof(mtgate_wire_shortcode_req) == 4, "shortcode_req");

/* ---- bulk paths and the audit trail (0x90 .. 0x96) ---------------------------- */

/* IMPORT: then count import_row, then the rows' sources in row order.
 * Answered with mtgate_wire_bulk_resp and count u16 statuses. */
typedef struct mtgate_wire_import_req {
	uint32_t count;
	uint32_t pad;
} mtgate_wire_import_req;
_Static_assert(sizeof(mtgate_wire_import_req) == 8, "import_req");

typedef struct mtgate_wire_import_row {
	uint64_t number;
	uint32_t program;
	uint8_t channel;
	uint8_t pad;
	uint16_t source_len;
	int64_t at_ms; /* opted in at; 0: now */
} mtgate_wire_import_row;
_Static_assert(sizeof(mtgate_wire_import_row) == 24, "import_row");

/* IMPORT: changed/unchanged rows. DEACT_LIST: changed = numbers matched,
 * unchanged = consents voided. */
typedef struct mtgate_wire_bulk_resp {
	uint32_t count;
	uint32_t changed;
	uint32_t unchanged;
	uint32_t rejected;
} mtgate_wire_bulk_resp;
_Static_assert(sizeof(mtgate_wire_bulk_resp) == 16, "bulk_resp");

/* DEACT_LIST: then source_len bytes of source, then count deact_entry. */
typedef struct mtgate_wire_deact_list_req {
	uint32_t count;
	uint8_t reason; /* mtgate_deact_reason */
	uint8_t pad;
	uint16_t source_len;
} mtgate_wire_deact_list_req;
_Static_assert(sizeof(mtgate_wire_deact_list_req) == 8, "deact_list_req");

typedef struct mtgate_wire_deact_entry {
	uint64_t number;
	int64_t at_ms; /* 0: now */
} mtgate_wire_deact_entry;
_Static_assert(sizeof(mtgate_wire_deact_entry) == 16, "deact_entry");

typedef struct mtgate_wire_audit_req {
	uint64_t number;
	uint32_t skip;
	uint32_t max; /* 0: as many as fit one frame */
} mtgate_wire_audit_req;
_Static_assert(sizeof(mtgate_wire_audit_req) == 16, "audit_req");

/* Then count (audit_rec + source). */
typedef struct mtgate_wire_audit_resp {
	uint32_t count;
	uint32_t more;
} mtgate_wire_audit_resp;
_Static_assert(sizeof(mtgate_wire_audit_resp) == 8, "audit_resp");

typedef struct mtgate_wire_audit_rec {
	uint64_t seq;
	int64_t at_ms;
	uint64_t number;
	int64_t changed_at_ms;
	uint32_t program;
	uint32_t actor;
	uint8_t old_state; /* mtgate_audit_state */
	uint8_t new_state;
	uint8_t channel;
	uint8_t voided_by;
	uint8_t cause; /* mtgate_audit_cause */
	uint8_t pad;
	uint16_t source_len;
} mtgate_wire_audit_rec;
_Static_assert(sizeof(mtgate_wire_audit_rec) == 48, "audit_rec");

typedef struct mtgate_wire_export_req {
	uint32_t program;
	uint32_t max; /* 0: as many as fit one frame */
	uint64_t after_number;
} mtgate_wire_export_req;
_Static_assert(sizeof(mtgate_wire_export_req) == 16, "export_req");

/* Then count (export_rec + source). */
typedef struct mtgate_wire_export_resp {
	uint32_t count;
	uint32_t more;
	uint64_t next_after;
} mtgate_wire_export_resp;
_Static_assert(sizeof(mtgate_wire_export_resp) == 16, "export_resp");

typedef struct mtgate_wire_export_rec {
	uint64_t number;
	int64_t changed_at_ms;
	uint8_t channel;
	uint8_t pad;
	uint16_t source_len;
	uint32_t pad2;
} mtgate_wire_export_rec;
_Static_assert(sizeof(mtgate_wire_export_rec) == 24, "export_rec");

typedef struct mtgate_wire_summary_req {
	int64_t day_ms; /* any time in the UTC day; 0: today */
} mtgate_wire_summary_req;
_Static_assert(sizeof(mtgate_wire_summary_req) == 8, "summary_req");

/* Then count summary_rec. */
typedef struct mtgate_wire_summary_resp {
	uint32_t count;
	uint32_t pad;
	int64_t day_start_ms;
} mtgate_wire_summary_resp;
_Static_assert(sizeof(mtgate_wire_summary_resp) == 16, "summary_resp");

typedef struct mtgate_wire_summary_rec {
	uint32_t program;
	uint32_t opted_in;
	uint32_t opted_out;
	uint32_t pending;
	uint32_t voided;
	uint32_t day_optins;
	uint32_t day_optouts;
	uint32_t day_other;
} mtgate_wire_summary_rec;
_Static_assert(sizeof(mtgate_wire_summary_rec) == 32, "summary_rec");

typedef struct mtgate_wire_feed_read_req {
	uint64_t from; /* 0: where the caller's feed stands */
	uint32_t max;  /* 0: as many as fit one frame */
	uint32_t pad;
} mtgate_wire_feed_read_req;
_Static_assert(sizeof(mtgate_wire_feed_read_req) == 16, "feed_read_req");

/* Then count (audit_rec + source). */
typedef struct mtgate_wire_feed_resp {
	uint32_t count;
	uint32_t pad;
	uint64_t next;
} mtgate_wire_feed_resp;
_Static_assert(sizeof(mtgate_wire_feed_resp) == 16, "feed_resp");

typedef struct mtgate_wire_feed_ack_req {
	uint64_t position;
} mtgate_wire_feed_ack_req;
_Static_assert(sizeof(mtgate_wire_feed_ack_req) == 8, "feed_ack_req");

_Static_assert(MTGATE_PROTO_REMINDERS_MAX * sizeof(mtgate_wire_reminder_rec) +
			       sizeof(mtgate_wire_reminders_resp) <=
		       MTGATE_FRAME_BODY_MAX,
	       "a full REMINDERS_DUE answer fits one frame");

/* "OK", "BAD_MAGIC", ... for a status below MTGATE_ST_PROTO_MAX, the engine
 * error's name for MTGATE_ST_ENGINE + k, "UNKNOWN" otherwise. Static. */
const char *mtgate_status_name(unsigned status);

#ifdef __cplusplus
}
#endif
#endif /* MTGATE_PROTOCOL_H */
