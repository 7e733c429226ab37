/*
 * Checks the wire codec (engine/proto/codec.c) against the specification:
 * the byte-exact examples of docs/protocol.md (PING, GATE, a BAD_BODY,
 * GATE_BATCH, MO, BILL_CHECK) are read from the document itself and must
 * equal what the codec encodes; every wire struct survives an encode and
 * decode unchanged; a decoder never reads past its input (a short body
 * sets `bad`, a long one is not `done`); a program definition maps to its
 * wire form and back, field for field; and the server's header check gives
 * each malformed header its documented status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"

/* ---- the examples of docs/protocol.md ------------------------------------- */

#define EX_MAX   16
#define EX_BYTES 512

typedef struct example {
	uint8_t b[EX_BYTES];
	size_t n;
} example;

/* Hex pairs, and "quoted text" taken byte for byte. */
static void parse_line(const char *l, example *e)
{
	while (*l) {
		unsigned v;
		if (*l == '"') {
			for (l++; *l && *l != '"'; l++)
				e->b[e->n++] = (uint8_t)*l;
			l += *l == '"';
		} else if (isxdigit((unsigned char)l[0]) &&
			   isxdigit((unsigned char)l[1]) &&
			   sscanf(l, "%2x", &v) == 1) {
			e->b[e->n++] = (uint8_t)v;
			l += 2;
		} else {
			l++;
		}
		assert_true(e->n < EX_BYTES);
	}
}

/* Every fenced block after "## Examples", in order. */
static size_t read_examples(example *ex)
{
	FILE *f = fopen(MTGATE_SOURCE_DIR "/docs/protocol.md", "r");
	char line[512];
	bool in_examples = false, in_block = false;
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3))
			in_examples = !strncmp(line, "## Examples", 11);
		if (!in_examples)
			continue;
		if (!strncmp(line, "```", 3)) {
			in_block = !in_block;
			if (in_block) {
				assert_true(n < EX_MAX);
				memset(&ex[n++], 0, sizeof(ex[0]));
			}
			continue;
		}
		if (in_block)
			parse_line(line, &ex[n - 1]);
	}
	fclose(f);
	return n;
}

/* A frame: header then body, as the server or a client would send it. */
static size_t frame(uint8_t *out, uint8_t opcode, uint16_t flags,
		    uint16_t status, const uint8_t *body, uint32_t len)
{
	mtgate_wire_header h = {MTGATE_PROTO_MAGIC,
				MTGATE_PROTO_VERSION,
				opcode,
				flags,
				status,
				7,
				len,
				0};

	proto_header_enc(out, &h);
	if (len > 0)
		memcpy(out + MTGATE_PROTO_HEADER_LEN, body, len);
	return MTGATE_PROTO_HEADER_LEN + len;
}

static void expect_example(const example *e, const uint8_t *a, size_t an,
			   const uint8_t *b, size_t bn)
{
	assert_int_equal(e->n, an + bn);
	assert_memory_equal(e->b, a, an);
	assert_memory_equal(e->b + an, b, bn);
}

static void test_proto_examples_match_the_document(void **state)
{
	example ex[EX_MAX];
	uint8_t a[256], b[256], body[128];
	const uint64_t num = 15551234567ULL;
	const char *text = "GATE body must be 16 bytes, got 12";
	const char *quit = "You have quit Joe's Discount Club. No more "
			   "messages will be sent.";
	mtgate_gate_req reqs[2] = {{num, 1}, {num + 1, 1}};
	size_t an, bn;
	proto_wr w;

	(void)state;
	assert_int_equal(read_examples(ex), 6);

	/* PING and its answer */
	an = frame(a, MTGATE_OPC_PING, 0, 0, NULL, 0);
	bn = frame(b, MTGATE_OPC_PING, MTGATE_FLAG_RESPONSE, 0, NULL, 0);
	expect_example(&ex[0], a, an, b, bn);

	/* GATE, answered MSG_LIMIT_EXCEEDED */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_gate_req(&w, &(mtgate_wire_gate_req){num, 1, 0, {0}});
	an = frame(a, MTGATE_OPC_GATE, 0, 0, body, 16);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_gate_resp(&w, &(mtgate_wire_gate_resp){7, {0}});
	bn = frame(b, MTGATE_OPC_GATE, MTGATE_FLAG_RESPONSE, 0, body, 4);
	expect_example(&ex[1], a, an, b, bn);

	/* GATE with 12 bytes, answered BAD_BODY */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_gate_req(&w, &(mtgate_wire_gate_req){num, 1, 0, {0}});
	an = frame(a, MTGATE_OPC_GATE, 0, 0, body, 12);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_error(&w, text);
	bn = frame(b, MTGATE_OPC_GATE, MTGATE_FLAG_RESPONSE, MTGATE_ST_BAD_BODY,
		   body, (uint32_t)(2 + strlen(text)));
	expect_example(&ex[2], a, an, b, bn);

	/* GATE_BATCH of two, dry run: ALLOW and NO_OPTIN */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_batch_req(&w, &(mtgate_wire_batch_req){2, 1, {0}});
	proto_enc_batch_entries(body + 8, reqs, 2);
	an = frame(a, MTGATE_OPC_GATE_BATCH, 0, 0, body, 8 + 24);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_batch_resp(&w, &(mtgate_wire_batch_resp){2, 0});
	proto_wr_u8(&w, MTGATE_ALLOW);
	proto_wr_u8(&w, MTGATE_DENY_NO_OPTIN);
	bn = frame(b, MTGATE_OPC_GATE_BATCH, MTGATE_FLAG_RESPONSE, 0, body, 10);
	expect_example(&ex[3], a, an, b, bn);

	/* MO "STOP" to 12345: one quit text, one opt-out of program 1 */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_mo_req(&w, &(mtgate_wire_mo_req){num, 5, 0, 4, 0});
	proto_wr_bytes(&w, "12345", 5);
	proto_wr_bytes(&w, "STOP", 4);
	an = frame(a, MTGATE_OPC_MO, 0, 0, body, 25);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_mo_resp(&w, &(mtgate_wire_mo_resp){1, 1, 0});
	proto_wr_str(&w, quit, strlen(quit));
	proto_enc_mo_action(
		&w, &(mtgate_wire_mo_action){MTGATE_ACT_OPTED_OUT, {0}, 1});
	assert_false(w.bad);
	bn = frame(b, MTGATE_OPC_MO, MTGATE_FLAG_RESPONSE, 0, body,
		   (uint32_t)(w.p - body));
	expect_example(&ex[4], a, an, b, bn);

	/* BILL_CHECK of 500 cents, answered PRICE_ABOVE_CONFIRMED */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_bill_check_req(&w,
				 &(mtgate_wire_bill_check_req){num, 2, 500});
	an = frame(a, MTGATE_OPC_BILL_CHECK, 0, 0, body, 16);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_bill_check_resp(
		&w, &(mtgate_wire_bill_check_resp){
			    MTGATE_BILL_PRICE_ABOVE_CONFIRMED, {0}});
	bn = frame(b, MTGATE_OPC_BILL_CHECK, MTGATE_FLAG_RESPONSE, 0, body, 4);
	expect_example(&ex[5], a, an, b, bn);
}

/* ---- round trips and bounds ------------------------------------------------------ */

#define ROUND_TRIP(name, ...)                                                  \
	do {                                                                   \
		mtgate_wire_##name in = __VA_ARGS__, out;                      \
		uint8_t buf[sizeof(in) + 8];                                   \
		proto_wr w;                                                    \
		proto_rd r;                                                    \
		memset(&out, 0xAA, sizeof(out));                               \
		proto_wr_init(&w, buf, sizeof(in));                            \
		proto_enc_##name(&w, &in);                                     \
		assert_false(w.bad);                                           \
		assert_ptr_equal(w.p, buf + sizeof(in));                       \
		proto_rd_init(&r, buf, sizeof(in));                            \
		proto_dec_##name(&r, &out);                                    \
		assert_true(proto_rd_done(&r));                                \
		assert_memory_equal(&in, &out, sizeof(in));                    \
		/* one byte short: bad, and no read past the end */            \
		proto_rd_init(&r, buf, sizeof(in) - 1);                        \
		proto_dec_##name(&r, &out);                                    \
		assert_true(r.bad);                                            \
		/* one byte long: not done */                                  \
		proto_rd_init(&r, buf, sizeof(in) + 1);                        \
		proto_dec_##name(&r, &out);                                    \
		assert_false(proto_rd_done(&r));                               \
		/* no room to write: bad */                                    \
		proto_wr_init(&w, buf, sizeof(in) - 1);                        \
		proto_enc_##name(&w, &in);                                     \
		assert_true(w.bad);                                            \
	} while (0)

static void test_proto_structs_round_trip(void **state)
{
	(void)state;
	ROUND_TRIP(hello_req, {1, 56});
	ROUND_TRIP(hello_resp, {9, 1, 1, 2, MTGATE_FRAME_BODY_MAX, 16384});
	ROUND_TRIP(gate_req, {999999999999999ULL, 0xFFFFF, 1, {0}});
	ROUND_TRIP(gate_resp, {7, {0}});
	ROUND_TRIP(batch_req, {16384, 1, {0}});
	ROUND_TRIP(batch_resp, {3, 0});
	ROUND_TRIP(optin_req, {15551234567ULL, 4, 2, 0, 17, -5});
	ROUND_TRIP(optout_req, {15551234567ULL, 0, 1, 5, 9});
	ROUND_TRIP(deact_req, {15551234567ULL, 2, 0, 3, 0, 1700000000000});
	ROUND_TRIP(change_resp, {1, 2});
	ROUND_TRIP(query_req, {1});
	ROUND_TRIP(query_resp, {1, {0}, 3, 1700000000000});
	ROUND_TRIP(consent_rec,
		   {5, 1, 2, 0, 0, 1700000000000, 3, 4, 255, 0, 0});
	ROUND_TRIP(program_rec, {1, 2, 1, 3, 1, 0, 4, 500, 4, 1, 0});
	ROUND_TRIP(program_get_req, {0, 5, 4, 0});
	ROUND_TRIP(program_list_req, {10, 100});
	ROUND_TRIP(program_list_resp, {100, 1});
	ROUND_TRIP(tenant_resp, {3, 56, 0});
	ROUND_TRIP(stats_resp, {14, 0});
	ROUND_TRIP(clock_req, {2, {0}, 86400000});
	ROUND_TRIP(clock_resp, {1700000000000});
	ROUND_TRIP(mo_req, {15551234567ULL, 5, 0, 1600, 0});
	ROUND_TRIP(mo_resp, {16, 514, 0});
	ROUND_TRIP(mo_action, {MTGATE_ACT_HELP, {0}, 0xFFFFF});
	ROUND_TRIP(doi_req, {15551234567ULL, 7, MTGATE_CHANNEL_MMS, 0, 255});
	ROUND_TRIP(renotify_req, {15551234567ULL, 7, 0});
	ROUND_TRIP(reminders_req, {1700000000000, 100, 0});
	ROUND_TRIP(reminders_resp, {MTGATE_PROTO_REMINDERS_MAX, 1});
	ROUND_TRIP(reminder_rec,
		   {15551234567ULL, 7, 0, 1700000000000, 1702592000000});
	ROUND_TRIP(bill_check_req, {15551234567ULL, 7, 5000});
	ROUND_TRIP(bill_check_resp,
		   {MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED, {0}});
	ROUND_TRIP(bill_result_req, {15551234567ULL, 7, 1, {0}});
	ROUND_TRIP(shortcode_req, {5, 0, 1024});
}

static void test_proto_program_strings(void **state)
{
	proto_program in = {.rec = {1, 0, 1, 3, 1, 0, 4, 500, 4, 1, 0}}, out;
	const char *s[MTGATE_PROGRAM_STRINGS] = {
		"12345", "JOES", "Joe's", "", "w", "h", "q", "c", "ZAR"};
	uint8_t buf[256];
	proto_wr w;
	proto_rd r;
	size_t n;

	(void)state;
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++) {
		in.str[i] = (const uint8_t *)s[i];
		in.len[i] = (uint16_t)strlen(s[i]);
	}
	n = proto_program_size(&in);
	proto_wr_init(&w, buf, n);
	proto_enc_program(&w, &in);
	assert_false(w.bad);
	proto_rd_init(&r, buf, n);
	proto_dec_program(&r, &out);
	assert_true(proto_rd_done(&r));
	assert_memory_equal(&out.rec, &in.rec, sizeof(in.rec));
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++) {
		assert_int_equal(out.len[i], in.len[i]);
		assert_memory_equal(out.str[i], s[i], in.len[i]);
	}
	/* a string length past the end of the body */
	proto_rd_init(&r, buf, n - 1);
	proto_dec_program(&r, &out);
	assert_true(r.bad);
}

/* A definition survives proto_program_of_def and back, every field. */
static void test_proto_program_def_mapping(void **state)
{
	mtgate_program_def d = {.id = 9,
				.tenant = 3,
				.short_code = "12345",
				.keyword = "VIP",
				.name = "VIP Club",
				.kind = MTGATE_KIND_RECURRING,
				.limit = 4,
				.period = MTGATE_PERIOD_MONTH,
				.tz = "UTC",
				.double_opt_in = true,
				.allow_pos = true,
				.welcome_text = "w",
				.help_text = "h",
				.quit_text = "q",
				.confirm_text = "c",
				.price_cents = 500,
				.currency = "ZAR",
				.interval = MTGATE_INTERVAL_MONTHLY},
			   back = {0};
	const char **slot[MTGATE_PROGRAM_STRINGS];
	proto_program p;

	(void)state;
	proto_program_of_def(&d, &p);
	assert_int_equal(p.rec.price_cents, 500);
	assert_int_equal(p.rec.interval, MTGATE_INTERVAL_MONTHLY);
	assert_int_equal(p.rec.allow_pos, 1);
	assert_int_equal(p.len[PROTO_STR_CURRENCY], 3);
	proto_program_def_fields(&p, &back);
	proto_program_def_slots(&back, slot);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		*slot[i] = (const char *)p.str[i]; /* NUL-terminated here */
	assert_int_equal(back.id, d.id);
	assert_int_equal(back.tenant, d.tenant);
	assert_int_equal(back.kind, d.kind);
	assert_int_equal(back.limit, d.limit);
	assert_int_equal(back.period, d.period);
	assert_true(back.double_opt_in && back.allow_pos);
	assert_int_equal(back.price_cents, d.price_cents);
	assert_int_equal(back.interval, d.interval);
	assert_string_equal(back.short_code, d.short_code);
	assert_string_equal(back.keyword, d.keyword);
	assert_string_equal(back.name, d.name);
	assert_string_equal(back.tz, d.tz);
	assert_string_equal(back.welcome_text, d.welcome_text);
	assert_string_equal(back.help_text, d.help_text);
	assert_string_equal(back.quit_text, d.quit_text);
	assert_string_equal(back.confirm_text, d.confirm_text);
	assert_string_equal(back.currency, d.currency);
	/* NULL strings are empty */
	d.currency = NULL;
	proto_program_of_def(&d, &p);
	assert_int_equal(p.len[PROTO_STR_CURRENCY], 0);
}

static void test_proto_header_checks(void **state)
{
	mtgate_wire_header
		ok = {MTGATE_PROTO_MAGIC, 1, MTGATE_OPC_GATE, 0, 0, 1, 16, 0},
		h;
	const char *why;

	(void)state;
	assert_int_equal(proto_header_check(&ok, &why), MTGATE_ST_OK);
	h = ok;
	h.magic = 0x5858;
	assert_int_equal(proto_header_check(&h, &why), MTGATE_ST_BAD_MAGIC);
	assert_non_null(why);
	h = ok;
	h.version = 2;
	assert_int_equal(proto_header_check(&h, &why), MTGATE_ST_BAD_VERSION);
	h = ok;
	h.body_len = MTGATE_FRAME_BODY_MAX + 1;
	assert_int_equal(proto_header_check(&h, &why),
			 MTGATE_ST_FRAME_TOO_LARGE);
	h = ok;
	h.body_len = MTGATE_FRAME_BODY_MAX;
	assert_int_equal(proto_header_check(&h, &why), MTGATE_ST_OK);
	h = ok;
	h.reserved = 1;
	assert_int_equal(proto_header_check(&h, &why), MTGATE_ST_BAD_HEADER);
	h = ok;
	h.flags = MTGATE_FLAG_RESPONSE;
	assert_int_equal(proto_header_check(&h, &why), MTGATE_ST_BAD_HEADER);
	assert_true(proto_status_fatal(MTGATE_ST_BAD_MAGIC));
	assert_false(proto_status_fatal(MTGATE_ST_BAD_BODY));
	assert_string_equal(mtgate_status_name(MTGATE_ST_BATCH_TOO_LARGE),
			    "BATCH_TOO_LARGE");
	assert_string_equal(mtgate_status_name(999), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_examples_match_the_document),
		cmocka_unit_test(test_proto_structs_round_trip),
		cmocka_unit_test(test_proto_program_strings),
		cmocka_unit_test(test_proto_program_def_mapping),
		cmocka_unit_test(test_proto_header_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
