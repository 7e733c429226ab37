/* Error strings and reason tokens: the one table each. */
#include "mtgate/client.h"
#include "mtgate/engine.h"
#include "mtgate/protocol.h"

static const char *const errs[] = {
	[MTGATE_EINVAL - MTGATE_ERR_FIRST] = "invalid argument",
	[MTGATE_ENOMEM - MTGATE_ERR_FIRST] = "out of memory",
	[MTGATE_ENUMBER_EMPTY - MTGATE_ERR_FIRST] = "number is empty",
	[MTGATE_ENUMBER_LONG - MTGATE_ERR_FIRST] =
		"number has more than 15 digits",
	[MTGATE_ENUMBER_CHAR - MTGATE_ERR_FIRST] =
		"number contains a letter or a character that is not a digit",
	[MTGATE_ENUMBER_CC0 - MTGATE_ERR_FIRST] =
		"number's country code starts with 0",
	[MTGATE_ESHORTCODE - MTGATE_ERR_FIRST] =
		"short code must be 1 to 15 letters or digits",
	[MTGATE_EKEYWORD - MTGATE_ERR_FIRST] =
		"keyword must be 1 to 32 letters or digits",
	[MTGATE_ENAME - MTGATE_ERR_FIRST] =
		"program name must be 1 to 128 bytes",
	[MTGATE_ETEXT_LONG - MTGATE_ERR_FIRST] =
		"program text is longer than 1024 bytes",
	[MTGATE_EKIND - MTGATE_ERR_FIRST] =
		"program kind must be recurring or one-off",
	[MTGATE_ELIMIT - MTGATE_ERR_FIRST] =
		"limit must be 1 to 65535 messages per period",
	[MTGATE_EPERIOD - MTGATE_ERR_FIRST] =
		"period must be day, week or month (none for one-off)",
	[MTGATE_ETZ - MTGATE_ERR_FIRST] = "unknown time zone",
	[MTGATE_EPROGRAM_DUP - MTGATE_ERR_FIRST] =
		"a program with this short code and keyword already exists",
	[MTGATE_ENOPROGRAM - MTGATE_ERR_FIRST] = "unknown program",
	[MTGATE_EPROGRAM_FULL - MTGATE_ERR_FIRST] = "program table is full",
	[MTGATE_ESOURCE_LONG - MTGATE_ERR_FIRST] =
		"source reference is longer than 255 bytes",
	[MTGATE_ECHANNEL - MTGATE_ERR_FIRST] = "unknown channel",
	[MTGATE_EREASON - MTGATE_ERR_FIRST] =
		"deactivation reason must be disconnect or port",
	[MTGATE_EOP - MTGATE_ERR_FIRST] = "unknown change operation",
	[MTGATE_EVOID - MTGATE_ERR_FIRST] =
		"opt-in is dated at or before the number's deactivation",
	[MTGATE_ENOTPENDING - MTGATE_ERR_FIRST] =
		"no double opt-in is pending for this number and program",
	[MTGATE_EFUTURE - MTGATE_ERR_FIRST] = "date lies in the future",
	[MTGATE_ECREDITS - MTGATE_ERR_FIRST] =
		"one-off program: too many unused credits",
	[MTGATE_EREADONLY - MTGATE_ERR_FIRST] =
		"storage failed earlier; writes are refused",
	[MTGATE_ESTORAGE - MTGATE_ERR_FIRST] = "storage error",
	[MTGATE_ECORRUPT - MTGATE_ERR_FIRST] = "stored record is corrupt",
	[MTGATE_ECLOSED - MTGATE_ERR_FIRST] = "engine is closing",
	[MTGATE_ENOTOWNER - MTGATE_ERR_FIRST] =
		"called off the shard's owner thread",
	[MTGATE_ETENANT_DUP - MTGATE_ERR_FIRST] =
		"a tenant with this name already exists",
	[MTGATE_EPROGRAM_RULE - MTGATE_ERR_FIRST] =
		"the program definition breaks a consent rule",
	[MTGATE_EPRICE - MTGATE_ERR_FIRST] =
		"price, currency or charge interval is invalid",
	[MTGATE_EMO_LONG - MTGATE_ERR_FIRST] =
		"MO text is longer than 1600 bytes",
	[MTGATE_EMO_UTF8 - MTGATE_ERR_FIRST] = "MO text is not valid UTF-8",
	[MTGATE_ENOTDOI - MTGATE_ERR_FIRST] =
		"the program does not use double opt-in",
	[MTGATE_EDOI_PENDING - MTGATE_ERR_FIRST] =
		"a double opt-in is already pending for the number",
	[MTGATE_EDOI_COOLDOWN - MTGATE_ERR_FIRST] =
		"the number declined this program less than 24 hours ago",
	[MTGATE_ESUBSCRIBED - MTGATE_ERR_FIRST] =
		"the number is subscribed to this program already",
	[MTGATE_ERENOTIFY - MTGATE_ERR_FIRST] =
		"no re-notify left: one per request, none for web requests",
	[MTGATE_ENOPOS - MTGATE_ERR_FIRST] =
		"the program takes no point-of-sale opt-ins",
};

_Static_assert(sizeof(errs) / sizeof(errs[0]) ==
		       MTGATE_ERR_LAST - MTGATE_ERR_FIRST,
	       "every error code has a string");

/* The client library's own codes (include/mtgate/client.h). */
static const char *const client_errs[] = {
	[MTGATE_EADDR - MTGATE_CLIENT_ERR_FIRST] =
		"bad server address (expected HOST:PORT)",
	[MTGATE_ECONNECT - MTGATE_CLIENT_ERR_FIRST] =
		"could not connect to the server",
	[MTGATE_EIO - MTGATE_CLIENT_ERR_FIRST] =
		"reading from or writing to the server failed",
	[MTGATE_EDISCONNECTED - MTGATE_CLIENT_ERR_FIRST] =
		"the server closed the connection",
	[MTGATE_EPROTO - MTGATE_CLIENT_ERR_FIRST] =
		"the server sent a malformed frame",
	[MTGATE_ETIMEOUT - MTGATE_CLIENT_ERR_FIRST] =
		"the server did not answer in time",
	[MTGATE_ENOKEY - MTGATE_CLIENT_ERR_FIRST] =
		"no key: give --key, --key-file or MTGATE_KEY",
	[MTGATE_ETOOBIG - MTGATE_CLIENT_ERR_FIRST] =
		"request is over the protocol's limits",
};

_Static_assert(sizeof(client_errs) / sizeof(client_errs[0]) ==
		       MTGATE_CLIENT_ERR_LAST - MTGATE_CLIENT_ERR_FIRST,
	       "every client error code has a string");

/* Protocol statuses the server answered (MTGATE_ESTATUS(s)). */
static const char *const status_errs[MTGATE_ST_PROTO_MAX] = {
	[MTGATE_ST_BAD_MAGIC] = "server: bad magic",
	[MTGATE_ST_BAD_VERSION] = "server: unsupported protocol version",
	[MTGATE_ST_FRAME_TOO_LARGE] = "server: frame too large",
	[MTGATE_ST_TRUNCATED] = "server: truncated frame",
	[MTGATE_ST_BAD_HEADER] = "server: bad frame header",
	[MTGATE_ST_BAD_OPCODE] = "server: unknown opcode",
	[MTGATE_ST_BAD_BODY] = "server: bad request body",
	[MTGATE_ST_BATCH_TOO_LARGE] = "server: batch too large",
	[MTGATE_ST_BAD_NUMBER] = "server: bad number",
	[MTGATE_ST_NOT_AUTHENTICATED] = "server: not authenticated",
	[MTGATE_ST_AUTH_FAILED] = "authentication failed",
	[MTGATE_ST_FORBIDDEN] = "forbidden: operator only",
	[MTGATE_ST_CLOCK_DISABLED] =
		"the server is not running with --test-clock",
	[MTGATE_ST_TOO_MANY_CONNECTIONS] = "server: too many connections",
	[MTGATE_ST_SHUTTING_DOWN] = "server: shutting down",
	[MTGATE_ST_INTERNAL] = "server: internal error",
};

const char *mtgate_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= MTGATE_ERR_FIRST && err < MTGATE_ERR_LAST &&
	    errs[err - MTGATE_ERR_FIRST] != NULL)
		return errs[err - MTGATE_ERR_FIRST];
	if (err >= MTGATE_CLIENT_ERR_FIRST && err < MTGATE_CLIENT_ERR_LAST)
		return client_errs[err - MTGATE_CLIENT_ERR_FIRST];
	if (err > MTGATE_ESTATUS_BASE &&
	    err < MTGATE_ESTATUS(MTGATE_ST_PROTO_MAX) &&
	    status_errs[err - MTGATE_ESTATUS_BASE] != NULL)
		return status_errs[err - MTGATE_ESTATUS_BASE];
	return "unknown error";
}

static const char *const tokens[MTGATE_REASON_MAX] = {
	[MTGATE_ALLOW] = "ALLOW",
	[MTGATE_DENY_NO_OPTIN] = "NO_OPTIN",
	[MTGATE_DENY_OPTED_OUT] = "OPTED_OUT",
	[MTGATE_DENY_PENDING_CONFIRMATION] = "PENDING_CONFIRMATION",
	[MTGATE_DENY_DEACTIVATED] = "DEACTIVATED",
	[MTGATE_DENY_SCOPE_QUESTION_OPEN] = "SCOPE_QUESTION_OPEN",
	[MTGATE_DENY_UNKNOWN_PROGRAM] = "UNKNOWN_PROGRAM",
	[MTGATE_DENY_MSG_LIMIT_EXCEEDED] = "MSG_LIMIT_EXCEEDED",
};

const char *mtgate_reason_token(mtgate_reason r)
{
	if ((unsigned)r >= MTGATE_REASON_MAX)
		return "UNKNOWN";
	return tokens[r];
}

static const char *const mo_actions[MTGATE_ACT_MAX] = {
	[MTGATE_ACT_OPTED_IN] = "OPTED_IN",
	[MTGATE_ACT_OPTED_OUT] = "OPTED_OUT",
	[MTGATE_ACT_PENDING] = "PENDING",
	[MTGATE_ACT_CONFIRMED] = "CONFIRMED",
	[MTGATE_ACT_DECLINED] = "DECLINED",
	[MTGATE_ACT_FAILED] = "FAILED",
	[MTGATE_ACT_SCOPE_QUESTION] = "SCOPE_QUESTION",
	[MTGATE_ACT_HELP] = "HELP",
};

const char *mtgate_mo_action_name(mtgate_mo_action_kind k)
{
	if ((unsigned)k >= MTGATE_ACT_MAX || mo_actions[k] == NULL)
		return "UNKNOWN";
	return mo_actions[k];
}

static const char *const bill_tokens[MTGATE_BILL_REASON_MAX] = {
	[MTGATE_BILL_ALLOW] = "ALLOW",
	[MTGATE_BILL_NOT_CONFIRMED] = "NOT_CONFIRMED",
	[MTGATE_BILL_PRICE_ABOVE_CONFIRMED] = "PRICE_ABOVE_CONFIRMED",
	[MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED] = "FAILED_ATTEMPTS_EXCEEDED",
};

const char *mtgate_bill_reason_token(mtgate_bill_reason r)
{
	if ((unsigned)r >= MTGATE_BILL_REASON_MAX)
		return "UNKNOWN";
	return bill_tokens[r];
}

const char *mtgate_reason_carrier_status(mtgate_reason r)
{
	if (r == MTGATE_ALLOW)
		return NULL;
	if (r == MTGATE_DENY_MSG_LIMIT_EXCEEDED)
		return "Not Sent:Msg Limit Exceeded";
	return "Not Sent:No Opt-In";
}

/* ---- the audit trail's names -------------------------------------------------- */

const char *mtgate_audit_state_name(unsigned s)
{
	static const char *const names[MTGATE_AUDIT_STATE_MAX] = {
		"NONE", "OPTED_IN", "OPTED_OUT", "PENDING", "VOIDED"};
	return s < MTGATE_AUDIT_STATE_MAX ? names[s] : "?";
}

const char *mtgate_audit_cause_name(unsigned c)
{
	static const char *const names[MTGATE_CAUSE_MAX] = {
		"",       "CONFIRMED", "DECLINED",
		"FAILED", "EXPIRED",   "SCOPE_TIMEOUT"};
	return c < MTGATE_CAUSE_MAX ? names[c] : "?";
}
