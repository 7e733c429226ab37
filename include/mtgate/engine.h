/*
 * mtgate engine: the embeddable MT gating engine.
 *
 * What it is
 *   An in-memory consent store and per-(number, program) message counters,
 *   split into shards, backed by RocksDB. It answers "may this MT go out?"
 *   (mtgate_gate) and records consent changes durably (mtgate_apply).
 *
 * Threads and ownership (docs/design.md has the whole story)
 *   - A number belongs to shard xxh64(number) % shards. Every consent of one
 *     number lives in that shard.
 *   - Each shard is owned by exactly one thread. Only the owner touches the
 *     shard's memory; there is no lock on the gate path.
 *   - By default the engine starts one owner thread per shard. With
 *     opts.external_owners the embedding program supplies them instead: a
 *     thread calls mtgate_shard_attach() for the shards it owns and then calls
 *     mtgate_shard_poll() whenever opts.notify says that shard has work.
 *   - Functions named mtgate_owner_* must run on the owner thread of the
 *     shard they touch. Every other function may be called from any thread;
 *     when the caller does not own the target shard the request is posted to
 *     the owner's mailbox and the caller waits for the answer.
 *
 * Errors
 *   Functions return 0 (MTGATE_OK) or a negative mtgate error code from the
 *   range [MTGATE_ERR_FIRST, MTGATE_ERR_LAST]. They never set errno.
 *   mtgate_strerror() names the problem. No function crashes on bad input.
 *
 * Memory
 *   Strings passed in are borrowed for the duration of the call; the engine
 *   copies what it keeps. Anything the engine hands out states its lifetime
 *   where the function is declared.
 *
 * Time
 *   All times are int64 milliseconds since the Unix epoch, UTC. The engine
 *   reads time only through opts.clock, so tests inject it.
 */
#ifndef MTGATE_ENGINE_H
#define MTGATE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------------- */

enum {
	MTGATE_OK = 0,
	MTGATE_ERR_FIRST = -7400,
	MTGATE_EINVAL = MTGATE_ERR_FIRST, /* argument out of range */
	MTGATE_ENOMEM,                    /* out of memory */
	MTGATE_ENUMBER_EMPTY,             /* number is empty */
	MTGATE_ENUMBER_LONG,              /* number has more than 15 digits */
	MTGATE_ENUMBER_CHAR, /* number contains a letter or symbol */
	MTGATE_ENUMBER_CC0,  /* country code starts with 0 */
	MTGATE_ESHORTCODE, /* short code empty, too long or not alphanumeric */
	MTGATE_EKEYWORD,   /* keyword empty, too long or not alphanumeric */
	MTGATE_ENAME,      /* program name empty or too long */
	MTGATE_ETEXT_LONG, /* a program text exceeds MTGATE_TEXT_MAX bytes */
	MTGATE_EKIND,      /* program kind is neither recurring nor one-off */
	MTGATE_ELIMIT,     /* limit outside 1..MTGATE_LIMIT_MAX */
	MTGATE_EPERIOD,    /* period is not day, week or month */
	MTGATE_ETZ,        /* unknown time zone */
	MTGATE_EPROGRAM_DUP,  /* short code and keyword already defined */
	MTGATE_ENOPROGRAM,    /* unknown program */
	MTGATE_EPROGRAM_FULL, /* program table full (MTGATE_PROGRAMS_MAX) */
	MTGATE_ESOURCE_LONG,  /* source reference exceeds MTGATE_SOURCE_MAX */
	MTGATE_ECHANNEL,      /* unknown channel */
	MTGATE_EREASON,       /* unknown deactivation reason */
	MTGATE_EOP,           /* unknown change operation */
	MTGATE_EVOID, /* opt-in dated at or before the number's deactivation */
	MTGATE_ENOTPENDING,   /* confirm without a pending double opt-in */
	MTGATE_EFUTURE,       /* date lies in the future */
	MTGATE_ECREDITS,      /* one-off program: too many unused credits */
	MTGATE_EREADONLY,     /* storage failed earlier; writes are refused */
	MTGATE_ESTORAGE,      /* RocksDB reported an error (see the log) */
	MTGATE_ECORRUPT,      /* a stored record could not be decoded */
	MTGATE_ECLOSED,       /* engine is closing */
	MTGATE_ENOTOWNER,     /* mtgate_owner_* called off the owner thread */
	MTGATE_ETENANT_DUP,   /* a tenant with this name already exists */
	MTGATE_EPROGRAM_RULE, /* the definition breaks a PROG rule (the text:
			       * mtgate_program_check) */
	MTGATE_EPRICE,        /* price, currency or charge interval invalid */
	MTGATE_EMO_LONG,      /* MO text over MTGATE_MO_MAX bytes */
	MTGATE_EMO_UTF8,      /* MO text is not valid UTF-8 */
	MTGATE_ENOTDOI,       /* the program does not use double opt-in */
	MTGATE_EDOI_PENDING,  /* a double opt-in is pending already (DOI-2) */
	MTGATE_EDOI_COOLDOWN, /* declined less than 24 hours ago (DOI-6) */
	MTGATE_ESUBSCRIBED,   /* subscribed already (DOI-8) */
	MTGATE_ERENOTIFY,     /* no re-notify left: used, or a web request
			       * (DOI-3) */
	MTGATE_ENOPOS,        /* the program takes no point-of-sale opt-in
			       * (OPTIN-1) */
	MTGATE_ERR_LAST
};

/* Static string naming the error; never NULL. */
const char *mtgate_strerror(int err);

/* ---- numbers -------------------------------------------------------------- */

/*
 * Parse E.164 text into its digits as an integer: "+1 555-123-4567",
 * "15551234567" and "+15551234567" all give 15551234567.
 * Spaces, '-', '.', '(' and ')' between digits are ignored; one leading '+'
 * is allowed. A number of exactly 10 digits written without '+' is national:
 * default_cc (1..999, 0 for none) is put in front of it.
 * Errors: MTGATE_ENUMBER_EMPTY, _LONG (more than 15 digits), _CHAR (a letter
 * or any other character), _CC0 (first digit 0).
 */
int mtgate_number_parse(const char *text, size_t len, unsigned default_cc,
			uint64_t *number_out);

/* The largest number: 15 digits. Numbers are 1..MTGATE_NUMBER_MAX. */
#define MTGATE_NUMBER_MAX 999999999999999ULL

/* Writes "+<digits>" and a NUL into buf (at least 17 bytes). Returns length. */
int mtgate_number_format(uint64_t number, char *buf, size_t buflen);

/* ---- programs ------------------------------------------------------------- */

#define MTGATE_SHORTCODE_MAX 15    /* bytes, [A-Za-z0-9] */
#define MTGATE_KEYWORD_MAX   32    /* bytes, [A-Za-z0-9], stored upper case */
#define MTGATE_NAME_MAX      128   /* bytes, UTF-8 */
#define MTGATE_TEXT_MAX      1024  /* bytes per text, UTF-8 */
#define MTGATE_TZ_MAX        64    /* bytes */
#define MTGATE_LIMIT_MAX     65535 /* MTs per period */
#define MTGATE_SOURCE_MAX    255   /* bytes of a source reference */
#define MTGATE_PROGRAMS_MAX  (1u << 20) /* program ids are 1..MAX-1 */

typedef enum mtgate_kind {
	MTGATE_KIND_RECURRING = 1, /* limit MTs per period */
	MTGATE_KIND_ONE_OFF = 2,   /* one MT per accepted request */
} mtgate_kind;

/* The charge interval of a premium (billed) program (PROG-5). */
typedef enum mtgate_interval {
	MTGATE_INTERVAL_NONE = 0, /* not billed: standard rate */
	MTGATE_INTERVAL_ONCE = 1,
	MTGATE_INTERVAL_DAILY = 2,
	MTGATE_INTERVAL_WEEKLY = 3,
	MTGATE_INTERVAL_MONTHLY = 4,
	MTGATE_INTERVAL_MAX
} mtgate_interval;

#define MTGATE_CURRENCY_MAX       3          /* ISO 4217: "ZAR", "USD" */
#define MTGATE_PRICE_MAX          100000000u /* cents, a sanity bound */
#define MTGATE_MAX_CHARGE_DEFAULT 5000       /* cents: R50 (PROG-5, CC-6) */

typedef enum mtgate_period {
	MTGATE_PERIOD_NONE = 0, /* one-off programs */
	MTGATE_PERIOD_DAY = 1,
	MTGATE_PERIOD_WEEK = 2,  /* weeks start Monday 00:00 local time */
	MTGATE_PERIOD_MONTH = 3, /* calendar month, local time */
} mtgate_period;

/*
 * A program definition. On define and update every pointer is borrowed for the
 * call; NULL texts mean empty. From mtgate_program_get the pointers point into
 * an immutable copy owned by the engine that stays valid until
 * mtgate_engine_close (program versions are kept until then).
 */
typedef struct mtgate_program_def {
	uint32_t id;     /* assigned by define; names the program on update */
	uint32_t tenant; /* owning tenant id (0 = operator) */
	const char *short_code;
	const char *keyword; /* case-insensitive; stored upper case */
	const char *name;
	mtgate_kind kind;
	uint32_t limit; /* recurring: MTs per period, 1..MTGATE_LIMIT_MAX */
	mtgate_period period; /* recurring: day, week or month */
	const char *tz;       /* IANA name ("America/New_York") or fixed offset
			      * ("+05:30", "UTC-8"); NULL or "" = UTC */
	bool double_opt_in;
	bool allow_pos; /* takes point-of-sale opt-ins (OPTIN-1) */
	const char *welcome_text;
	const char *help_text;
	const char *quit_text;
	const char *confirm_text; /* the double opt-in's confirmation request */
	/* premium (billed) programs; price 0 = standard rate */
	uint32_t price_cents;     /* per charge, at most the operator maximum */
	const char *currency;     /* ISO 4217, NULL or "" when not billed */
	mtgate_interval interval; /* once, daily, weekly or monthly */
} mtgate_program_def;

/* ---- tenants ------------------------------------------------------------- */

/*
 * A tenant owns programs (mtgate_program_def.tenant). The engine stores
 * tenants for the server, which authenticates them: the digest of a
 * tenant's key is kept, never the key.
 */
#define MTGATE_TENANT_DIGEST 32
typedef struct mtgate_tenant {
	uint32_t id; /* 1 .. UINT32_MAX - 1 */
	uint8_t key_digest[MTGATE_TENANT_DIGEST];
	char name[MTGATE_NAME_MAX + 1];
} mtgate_tenant;

/* ---- consent -------------------------------------------------------------- */

typedef enum mtgate_state {
	MTGATE_STATE_NONE = 0,
	MTGATE_STATE_OPTED_IN = 1,
	MTGATE_STATE_OPTED_OUT = 2,
	MTGATE_STATE_PENDING = 3, /* double opt-in asked, not yet confirmed */
} mtgate_state;

typedef enum mtgate_channel {
	MTGATE_CHANNEL_NONE = 0,
	MTGATE_CHANNEL_MO = 1,
	MTGATE_CHANNEL_WEB = 2,
	MTGATE_CHANNEL_IVR = 3,
	MTGATE_CHANNEL_POS = 4,
	MTGATE_CHANNEL_IMPORT = 5,
	MTGATE_CHANNEL_API = 6,
	MTGATE_CHANNEL_CARRIER = 7, /* carrier disconnect or port list */
	MTGATE_CHANNEL_USSD = 8,    /* double opt-in channels (CC-2) */
	MTGATE_CHANNEL_WAP = 9,
	MTGATE_CHANNEL_MMS = 10,
	MTGATE_CHANNEL_MAX
} mtgate_channel;

typedef enum mtgate_deact_reason {
	MTGATE_DEACT_NONE = 0,
	MTGATE_DEACT_DISCONNECT = 1, /* carrier disconnect list (NUM-1) */
	MTGATE_DEACT_PORT = 2,       /* port or reassignment (NUM-2) */
	MTGATE_DEACT_MAX
} mtgate_deact_reason;

typedef enum mtgate_op {
	MTGATE_OP_OPTIN = 1,   /* opt in; on a double-opt-in program: PENDING */
	MTGATE_OP_OPTOUT = 2,  /* opt out */
	MTGATE_OP_CONFIRM = 3, /* PENDING -> OPTED_IN */
	MTGATE_OP_DEACTIVATE = 4,  /* per number: voids every opt-in dated at or
				   * before at_ms, across all programs */
	MTGATE_OP_DOI_REQUEST = 5, /* start a double opt-in: PENDING for 24 h
				    * (DOI-1, -2, -6, -8); channel as asked */
	MTGATE_OP_DOI_RENOTIFY = 6, /* remind of a pending one (DOI-3) */
	MTGATE_OP_BILL_RESULT = 7,  /* a billing attempt's result (bill_ok):
				     * a failure counts against BILL-2, a
				     * success uses a one-off's confirmed
				     * request (BILL-1) */
	MTGATE_OP_MAX
} mtgate_op;

/* One consent change. Borrowed for the call. */
typedef struct mtgate_change {
	mtgate_op op;
	uint64_t number;
	uint32_t program; /* unused for DEACTIVATE */
	mtgate_channel channel;
	mtgate_deact_reason reason; /* DEACTIVATE only */
	int64_t at_ms;              /* when the consent was given or the number
				     * deactivated; 0 = now. Not in the future. */
	const char *source;         /* form id, call id, MO text, file name;
				     * NULL = none; at most MTGATE_SOURCE_MAX */
	bool bill_ok;               /* BILL_RESULT: the charge went through */
	uint32_t actor;             /* the credential that asked, for the audit
				     * trail: 0 the operator (the default),
				     * else a tenant id */
} mtgate_change;

/* What a change did. */
typedef enum mtgate_outcome {
	MTGATE_CHANGED = 1,   /* state changed and is durable */
	MTGATE_UNCHANGED = 2, /* already in that state (a repeat opt-in) */
} mtgate_outcome;

/* A change made without waiting (mtgate_owner_submit, mtgate_owner_mo) is
 * done: status 0 or an error; consents is how many consent records it
 * changed (a deactivation or an MO may change several; 0 when unchanged or
 * failed). */
typedef void (*mtgate_done_fn)(void *arg, int status, mtgate_outcome outcome,
			       uint32_t consents);

/* A consent record as returned by mtgate_query. Owned by the caller. */
typedef struct mtgate_consent {
	uint64_t number;
	uint32_t program;
	mtgate_state state;
	mtgate_channel channel; /* channel of the last change */
	mtgate_deact_reason
		voided_by;     /* set when a deactivation opted it out */
	int64_t changed_at_ms; /* time the state was given or changed */
	uint32_t used;         /* recurring: MTs counted this period;
				     * one-off: MTs sent on granted credits */
	uint32_t limit;        /* recurring: limit; one-off: credits granted */
	char source[MTGATE_SOURCE_MAX + 1];
} mtgate_consent;

typedef struct mtgate_deactivation {
	mtgate_deact_reason reason; /* NONE: never deactivated */
	int64_t at_ms;
} mtgate_deactivation;

/* ---- the gate ------------------------------------------------------------- */

typedef enum mtgate_mode {
	MTGATE_MODE_COUNT = 0,   /* an allowed MT is counted */
	MTGATE_MODE_DRY_RUN = 1, /* answer as COUNT would, count nothing */
} mtgate_mode;

typedef enum mtgate_reason {
	MTGATE_ALLOW = 0,
	MTGATE_DENY_NO_OPTIN = 1,
	MTGATE_DENY_OPTED_OUT = 2,
	MTGATE_DENY_PENDING_CONFIRMATION = 3,
	MTGATE_DENY_DEACTIVATED = 4,
	MTGATE_DENY_SCOPE_QUESTION_OPEN = 5,
	MTGATE_DENY_UNKNOWN_PROGRAM = 6,
	MTGATE_DENY_MSG_LIMIT_EXCEEDED = 7,
	MTGATE_REASON_MAX
} mtgate_reason;

/* "ALLOW", "NO_OPTIN", ... "MSG_LIMIT_EXCEEDED". Static. */
const char *mtgate_reason_token(mtgate_reason r);
/* Carrier status text: NULL for ALLOW, "Not Sent:Msg Limit Exceeded" for
 * MSG_LIMIT_EXCEEDED, "Not Sent:No Opt-In" for every other deny. Static. */
const char *mtgate_reason_carrier_status(mtgate_reason r);

typedef struct mtgate_gate_req {
	uint64_t number;
	uint32_t program;
} mtgate_gate_req;

/* ---- the engine ------------------------------------------------------------ */

typedef struct mtgate_engine mtgate_engine; /* opaque */

typedef int64_t (*mtgate_clock_fn)(void *ctx);
typedef void (*mtgate_notify_fn)(void *ctx, unsigned shard);
typedef void (*mtgate_log_fn)(void *ctx, const char *msg);

typedef struct mtgate_options {
	const char *path;        /* RocksDB directory, created if missing */
	unsigned shards;         /* 0 = number of online cores */
	bool external_owners;    /* see "Threads" above */
	mtgate_notify_fn notify; /* external owners: shard has work; called
				     * from any thread, must not block */
	void *notify_ctx;
	mtgate_clock_fn clock; /* NULL = CLOCK_REALTIME */
	void *clock_ctx;
	mtgate_log_fn log; /* NULL = stderr */
	void *log_ctx;
	uint32_t
		counter_flush_ms; /* counters persisted this often; default 1000 */
	uint64_t counter_log_min; /* the counter log is rewritten once it holds
				     * more entries than this and than twice the
				     * consents; 0 = 1048576 */
	uint64_t expected_consents; /* initial table size hint; 0 = small */
	bool durable;               /* fsync each commit; default true. false is
				     * for benchmarks only: a crash may then lose
				     * acknowledged changes. */
	uint32_t max_charge_cents;  /* largest single charge a premium program
				     * may ask (PROG-5); 0 = R50 (5000) */
} mtgate_options;

/* Fills opts with defaults (path NULL must be set by the caller). */
void mtgate_options_init(mtgate_options *opts);

/*
 * Open the engine: create or open the RocksDB at opts->path, rebuild the
 * in-memory store and start the threads. *out is owned by the caller and
 * freed by mtgate_engine_close. opts is copied.
 */
int mtgate_engine_open(const mtgate_options *opts, mtgate_engine **out);

/*
 * Close: finish writes in flight, persist the counters, stop the threads,
 * close RocksDB and free everything. With external owners, call it after the
 * owner threads have stopped polling. Returns the first storage error seen
 * while closing, or 0.
 */
int mtgate_engine_close(mtgate_engine *eng);

unsigned mtgate_engine_shards(const mtgate_engine *eng);
/* xxh64(number) % shards. */
unsigned mtgate_shard_of(const mtgate_engine *eng, uint64_t number);

/* The engine's clock. */
int64_t mtgate_now(const mtgate_engine *eng);

/* ---- programs (any thread) --------------------------------------------------- */

/* Define a new program; durable before it returns. *id_out gets its id.
 * The PROG rules are not checked here: see mtgate_program_check. */
int mtgate_program_define(mtgate_engine *eng, const mtgate_program_def *def,
			  uint32_t *id_out);
/* Replace every field of program def->id; durable before it returns. */
int mtgate_program_update(mtgate_engine *eng, const mtgate_program_def *def);
/* Fill *out with the current version (see mtgate_program_def lifetime). */
int mtgate_program_get(mtgate_engine *eng, uint32_t id,
		       mtgate_program_def *out);
/* Find by short code and keyword (any case). */
int mtgate_program_find(mtgate_engine *eng, const char *short_code,
			const char *keyword, uint32_t *id_out);
/* Writes up to cap ids in ascending order into ids; *n_out gets the total. */
int mtgate_program_list(mtgate_engine *eng, uint32_t *ids, size_t cap,
			size_t *n_out);

/* ---- tenants (any thread) --------------------------------------------------- */

/* Create or replace tenant t->id; durable before it returns. The name is
 * 1..MTGATE_NAME_MAX bytes (MTGATE_ENAME). */
int mtgate_tenant_put(mtgate_engine *eng, const mtgate_tenant *t);
/* Every tenant, ids ascending: up to cap into out (caller-owned), the total
 * into *n_out. Reads storage. */
int mtgate_tenant_list(mtgate_engine *eng, mtgate_tenant *out, size_t cap,
		       size_t *n_out);

/* ---- gate and consent (any thread) ------------------------------------------ */

/* Decide one MT at time now_ms; *reason_out gets ALLOW or the deny reason. */
int mtgate_gate(mtgate_engine *eng, uint64_t number, uint32_t program,
		mtgate_mode mode, int64_t now_ms, mtgate_reason *reason_out);

/* Decide n MTs (n <= MTGATE_BATCH_MAX); out[i] answers reqs[i]. Requests for
 * the same (number, program) are decided in array order. */
#define MTGATE_BATCH_MAX 65536
int mtgate_gate_batch(mtgate_engine *eng, const mtgate_gate_req *reqs, size_t n,
		      mtgate_mode mode, int64_t now_ms, mtgate_reason *out);

/* Apply one change; returns once it is durable (or failed: nothing of it is
 * kept). *outcome_out may be NULL. */
int mtgate_apply(mtgate_engine *eng, const mtgate_change *chg,
		 mtgate_outcome *outcome_out);

/* Apply n changes with one durable write per shard. results[i] gets the
 * status of chgs[i] (0 or an error); outcomes may be NULL. Returns 0 unless
 * the call itself failed. */
int mtgate_apply_many(mtgate_engine *eng, const mtgate_change *chgs, size_t n,
		      int *results, mtgate_outcome *outcomes);

/* Convenience wrappers over mtgate_apply. */
int mtgate_optin(mtgate_engine *eng, uint64_t number, uint32_t program,
		 mtgate_channel channel, const char *source, int64_t at_ms);
int mtgate_optout(mtgate_engine *eng, uint64_t number, uint32_t program,
		  mtgate_channel channel, const char *source);
int mtgate_deactivate(mtgate_engine *eng, uint64_t number,
		      mtgate_deact_reason reason, int64_t at_ms,
		      const char *source);

/* ---- MO: a message from a subscriber (any thread) --------------------------- */

#define MTGATE_MO_MAX         1600 /* bytes of MO text, UTF-8 (ten SMS parts) */
#define MTGATE_MO_REPLIES_MAX 16
#define MTGATE_MO_ACTIONS_MAX 514

typedef enum mtgate_mo_action_kind {
	MTGATE_ACT_OPTED_IN = 1,
	MTGATE_ACT_OPTED_OUT,
	MTGATE_ACT_PENDING,
	MTGATE_ACT_CONFIRMED,
	MTGATE_ACT_DECLINED,
	MTGATE_ACT_FAILED,
	MTGATE_ACT_SCOPE_QUESTION,
	MTGATE_ACT_HELP,
	MTGATE_ACT_MAX
} mtgate_mo_action_kind;

/* "OPTED_IN", ... "HELP". Static. */
const char *mtgate_mo_action_name(mtgate_mo_action_kind k);

typedef struct mtgate_mo_action {
	mtgate_mo_action_kind kind;
	uint32_t program; /* 0: the short code as a whole */
} mtgate_mo_action;

/*
 * What an MO did: the reply texts to send back, in order (replies to MOs
 * are not gated: STOP-6), and the state changes made, durable when the call
 * returns. Owned by the caller; reply texts point into the result's own
 * buffer and live as long as it.
 */
typedef struct mtgate_mo_result {
	uint32_t n_replies, n_actions;
	const char *reply[MTGATE_MO_REPLIES_MAX];
	mtgate_mo_action action[MTGATE_MO_ACTIONS_MAX];
	char text[MTGATE_MO_REPLIES_MAX * (MTGATE_TEXT_MAX + 1)];
} mtgate_mo_result;

/*
 * Apply an MO from number to short_code (RULES.md OPTIN-2..4, STOP,
 * HELP, DOI-4..6), for the programs of tenant on that short code
 * (MTGATE_TENANT_ANY: all of them). Errors: MTGATE_EMO_LONG,
 * MTGATE_EMO_UTF8, MTGATE_ESHORTCODE, and storage errors (nothing changed).
 */
int mtgate_mo(mtgate_engine *eng, uint32_t tenant, uint64_t number,
	      const char *short_code, const char *text, size_t len,
	      mtgate_mo_result *out);
/* The same on the owner thread of number's shard, without waiting: *out is
 * filled when it returns 0, and done runs on this thread once the changes
 * are durable (send the replies only then). */
int mtgate_owner_mo(mtgate_engine *eng, uint32_t tenant, uint64_t number,
		    const char *short_code, const char *text, size_t len,
		    mtgate_mo_result *out, mtgate_done_fn done, void *arg);

/* ---- billing (BILL-1, BILL-2) ---------------------------------------------------- */

typedef enum mtgate_bill_reason {
	MTGATE_BILL_ALLOW = 0,
	MTGATE_BILL_NOT_CONFIRMED = 1,         /* no confirmed subscription or
					       * one-off request */
	MTGATE_BILL_PRICE_ABOVE_CONFIRMED = 2, /* more than the confirmed price
					       * (DOI-7) */
	MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED = 3, /* three failures today */
	MTGATE_BILL_REASON_MAX
} mtgate_bill_reason;

/* "ALLOW", "NOT_CONFIRMED", "PRICE_ABOVE_CONFIRMED",
 * "FAILED_ATTEMPTS_EXCEEDED". Static. */
const char *mtgate_bill_reason_token(mtgate_bill_reason r);

/* May number be charged amount_cents for program at now_ms? Reads only. */
int mtgate_bill_check(mtgate_engine *eng, uint64_t number, uint32_t program,
		      uint32_t amount_cents, int64_t now_ms,
		      mtgate_bill_reason *out);

/* ---- double opt-in reminders (DOI-9) ------------------------------------------------ */

typedef struct mtgate_reminder {
	uint64_t number;
	uint32_t program;
	int64_t since_ms; /* the subscription's start (its confirmation) */
	int64_t due_ms;   /* the reminder's due time */
} mtgate_reminder;

/*
 * Confirmed subscriptions of double-opt-in programs whose reminder falls
 * due on the UTC day of at_ms: 30 days after the start and every 30 days
 * after. Up to cap into out, the total into *n_out. Reads storage.
 */
int mtgate_reminders_due(mtgate_engine *eng, int64_t at_ms,
			 mtgate_reminder *out, size_t cap, size_t *n_out);

/* ---- what nobody answered ------------------------------------------------------- */

/*
 * Each owner ends, about once a second, the double opt-ins unanswered for
 * 24 hours (DOI-5) and applies the opt-out of scope questions unanswered
 * for 30 minutes (STOP-4; the gate denies them before that). This runs that
 * sweep now on every shard and returns once its changes are durable: for
 * tests and a test clock that jumps.
 */
int mtgate_sweep(mtgate_engine *eng);

/* ---- short codes ----------------------------------------------------------------- */

/* The short code's generic help text (HELP-3), answered to HELP when the
 * number is active on none of its programs. Durable. NULL or "" clears. */
int mtgate_shortcode_set_help(mtgate_engine *eng, const char *short_code,
			      const char *help_text);
/* Copies the text (NUL-terminated, cap bytes); "" when none is set. */
int mtgate_shortcode_get_help(mtgate_engine *eng, const char *short_code,
			      char *out, size_t cap);

/* ---- the audit trail and the change feed (AUD-1 .. AUD-5) ------------------------ */

/* The actor of a change the engine makes by itself (an expiry). */
#define MTGATE_ACTOR_ENGINE UINT32_MAX

/* A consent's state in the audit trail: mtgate_state, and VOIDED for an
 * opt-out made by a number deactivation. */
typedef enum mtgate_audit_state {
	MTGATE_AUDIT_NONE = 0,
	MTGATE_AUDIT_OPTED_IN = 1,
	MTGATE_AUDIT_OPTED_OUT = 2,
	MTGATE_AUDIT_PENDING = 3,
	MTGATE_AUDIT_VOIDED = 4,
	MTGATE_AUDIT_STATE_MAX
} mtgate_audit_state;

/* What ended a double opt-in or a scope question, beyond the state. */
typedef enum mtgate_audit_cause {
	MTGATE_CAUSE_NONE = 0,
	MTGATE_CAUSE_CONFIRMED = 1,     /* DOI-4: YES */
	MTGATE_CAUSE_DECLINED = 2,      /* DOI-6: NO */
	MTGATE_CAUSE_FAILED = 3,        /* DOI-5: another reply */
	MTGATE_CAUSE_EXPIRED = 4,       /* DOI-5: no answer in 24 h */
	MTGATE_CAUSE_SCOPE_TIMEOUT = 5, /* STOP-4: no answer in 30 minutes */
	MTGATE_CAUSE_MAX
} mtgate_audit_cause;

/* "NONE", "OPTED_IN", "OPTED_OUT", "PENDING", "VOIDED"; "?" beyond. */
const char *mtgate_audit_state_name(unsigned s);
/* "", "CONFIRMED", "DECLINED", "FAILED", "EXPIRED", "SCOPE_TIMEOUT". */
const char *mtgate_audit_cause_name(unsigned c);

/*
 * One audit record: a change of one consent's state, written in the same
 * atomic, durable write as the change (AUD-1). seq is its position in the
 * change feed: unique, ascending in the order changes became durable.
 */
typedef struct mtgate_audit_rec {
	uint64_t seq;
	int64_t at_ms; /* when the change was made (engine clock) */
	uint64_t number;
	uint32_t program;
	uint32_t tenant;              /* the program's */
	uint8_t old_state, new_state; /* mtgate_audit_state */
	uint8_t channel;              /* mtgate_channel */
	uint8_t voided_by;            /* mtgate_deact_reason */
	uint8_t cause;                /* mtgate_audit_cause */
	int64_t changed_at_ms; /* the consent's own time: when it was given
				* (an imported opt-in's date) */
	uint32_t actor;        /* credential id; MTGATE_ACTOR_ENGINE */
	char source[MTGATE_SOURCE_MAX + 1];
} mtgate_audit_rec;

/* The number's audit trail, oldest first (AUD-2), for the programs of
 * tenant (MTGATE_TENANT_ANY: all): skip records passed over, then up to
 * cap into out; *n_out gets how many were written, *more whether records
 * remain. Reads storage. */
int mtgate_audit_list(mtgate_engine *eng, uint32_t tenant, uint64_t number,
		      uint32_t skip, mtgate_audit_rec *out, size_t cap,
		      size_t *n_out, bool *more);

/* Feed redelivery: records read and not acknowledged for this long are
 * offered again (AUD-5). */
#define MTGATE_FEED_REDELIVER_MS (60 * 60 * 1000LL)

/*
 * The change feed of tenant's programs (AUD-5), in seq order: up to cap
 * records with seq >= from into out. from 0 reads from where the tenant's
 * feed stands at now_ms: after what it has read, or from its first record
 * not acknowledged once read records have gone MTGATE_FEED_REDELIVER_MS
 * unacknowledged. *next_out gets the position to read from next. Reads
 * storage; the delivery state is kept in memory (a restart offers the
 * unacknowledged records again).
 */
int mtgate_feed_read(mtgate_engine *eng, uint32_t tenant, uint64_t from,
		     int64_t now_ms, mtgate_audit_rec *out, size_t cap,
		     size_t *n_out, uint64_t *next_out);
/* Acknowledge tenant's records up to and including position; durable.
 * A position below the current one changes nothing. */
int mtgate_feed_ack(mtgate_engine *eng, uint32_t tenant, uint64_t position);
/* The tenant's acknowledged position (0: none). */
int mtgate_feed_acked(mtgate_engine *eng, uint32_t tenant, uint64_t *out);

/* A current opt-in with its evidence (AUD-3). */
typedef struct mtgate_export_rec {
	uint64_t number;
	int64_t changed_at_ms; /* when it was given */
	uint8_t channel;
	char source[MTGATE_SOURCE_MAX + 1];
} mtgate_export_rec;

/* The opt-ins of program with number > after_number, by number: up to
 * cap into out, *n_out how many, *more whether more may follow (ask again
 * after the last number). Reads storage; holds nothing between calls. */
int mtgate_export(mtgate_engine *eng, uint32_t program, uint64_t after_number,
		  mtgate_export_rec *out, size_t cap, size_t *n_out,
		  bool *more);

/* One program's line of the daily summary (AUD-4). */
typedef struct mtgate_summary_rec {
	uint32_t program;
	uint32_t opted_in, opted_out, pending, voided; /* consents at the
							* day's end (now,
							* for today) */
	uint32_t day_optins;  /* the day's changes into OPTED_IN */
	uint32_t day_optouts; /* ... into OPTED_OUT or VOIDED */
	uint32_t day_other;   /* ... into anything else */
} mtgate_summary_rec;

/* The summary of tenant's programs (MTGATE_TENANT_ANY: all), ids
 * ascending, for the day [day_start_ms, day_start_ms + 24 h): up to cap
 * into out, the number of programs into *n_out. Reads storage. */
int mtgate_summary(mtgate_engine *eng, uint32_t tenant, int64_t day_start_ms,
		   mtgate_summary_rec *out, size_t cap, size_t *n_out);

/* ---- programs ------------------------------------------------------------------------ */

/* 0 when def keeps every PROG rule (RULES.md PROG-1..6) with the engine's
 * maximum charge; else MTGATE_EPROGRAM_RULE with why naming the rule and
 * the part, e.g. `PROG-1: welcome text lacks "Max 4 msgs/mo"`. The server
 * runs it on every PROGRAM_PUT (define and update) before anything is
 * stored; mtgate_program_define and _update do not, so an embedding
 * application that takes definitions from users calls it first. eng may
 * be NULL (default maximum). */
int mtgate_program_check(const mtgate_engine *eng,
			 const mtgate_program_def *def, char *why, size_t cap);

/*
 * All consent records of one number, ordered by program id. Writes up to cap
 * records into out (caller-owned) and the total into *n_out. deact_out may be
 * NULL. Counts reflect the store at time now_ms.
 */
int mtgate_query(mtgate_engine *eng, uint64_t number, int64_t now_ms,
		 mtgate_consent *out, size_t cap, size_t *n_out,
		 mtgate_deactivation *deact_out);

/* ---- owner-thread API (external owners) ------------------------------------ */

/* The calling thread becomes the owner of shard. Call before polling it. */
int mtgate_shard_attach(mtgate_engine *eng, unsigned shard);
/* Do the shard's pending work: mailbox requests, finished commits, the counter
 * flush. Bounded work per call. Returns how many items it handled. */
int mtgate_shard_poll(mtgate_engine *eng, unsigned shard);

/* Gate on the owner thread without any hand-off. Every request must belong to
 * a shard the caller owns; a request that does not is answered with
 * MTGATE_ENOTOWNER in the return value and nothing is decided. */
int mtgate_owner_gate_batch(mtgate_engine *eng, const mtgate_gate_req *reqs,
			    size_t n, mtgate_mode mode, int64_t now_ms,
			    mtgate_reason *out);

/* As mtgate_owner_gate_batch, for one tenant: a request for a program of
 * another tenant is answered MTGATE_DENY_UNKNOWN_PROGRAM, as if the program
 * did not exist. MTGATE_TENANT_ANY checks nothing (the operator). */
#define MTGATE_TENANT_ANY UINT32_MAX
int mtgate_owner_gate_batch_as(mtgate_engine *eng, uint32_t tenant,
			       const mtgate_gate_req *reqs, size_t n,
			       mtgate_mode mode, int64_t now_ms,
			       mtgate_reason *out);

/* Start a change on the owner thread without waiting. done runs later on this
 * thread, from mtgate_shard_poll, once the change is durable or has failed.
 * Returns 0 when queued; an error (and done is not called) otherwise. */
int mtgate_owner_submit(mtgate_engine *eng, const mtgate_change *chg,
			mtgate_done_fn done, void *arg);

/* Does the store hold a consent of number, in any state? On the owner of
 * number's shard only (false elsewhere). */
bool mtgate_owner_known(mtgate_engine *eng, uint64_t number);

/* Run fn(eng, arg) on the owner thread of shard, as soon as it polls. */
typedef void (*mtgate_task_fn)(mtgate_engine *eng, void *arg);
int mtgate_post(mtgate_engine *eng, unsigned shard, mtgate_task_fn fn,
		void *arg);

/* ---- memory and statistics -------------------------------------------------- */

typedef struct mtgate_stats {
	uint64_t consents;            /* records in the in-memory store */
	uint64_t store_bytes;         /* bytes the store holds: tables, index,
				    * counters, per-number data (allocator sizes) */
	uint64_t commits;             /* durable batches written */
	uint64_t changes;             /* changes made durable */
	uint64_t counter_flushes;     /* counter batches persisted */
	uint64_t counter_log_entries; /* entries in the counter log */
	uint64_t counter_rewrites;    /* counter log rewrites finished */
	uint64_t gates;               /* decisions made (all shards, approximate
				    * while owners run) */
	bool readonly;                /* a storage failure stopped writes */
	uint64_t recovered;   /* consents rebuilt from storage at open */
	uint64_t recovery_ms; /* time open spent rebuilding the store */
	uint64_t recovery_counters_ms; /* of which replaying the counter log */
} mtgate_stats;

/* Any thread. Values are read from each shard without stopping it. */
int mtgate_engine_stats(mtgate_engine *eng, mtgate_stats *out);

/* Persist every dirty counter now and wait until it is written. */
int mtgate_flush_counters(mtgate_engine *eng);

#ifdef __cplusplus
}
#endif
#endif /* MTGATE_ENGINE_H */
