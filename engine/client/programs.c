/*
 * libmtgate programs: PROGRAM_PUT, PROGRAM_GET and PROGRAM_LIST.
 *
 * A program_rec carries nine strings (short code, keyword, name, time
 * zone, welcome, help, quit, confirm, currency; the codec maps them to a
 * definition's fields). A received program becomes an mtgate_c_program:
 * one allocation (mem) holds the nine strings, each NUL-terminated, and
 * def's pointers point into it. PROGRAM_LIST is paged
 * by the server (one frame's worth per answer); mtgate_c_program_list
 * follows `more` with ids strictly ascending, so it always ends, and it
 * never holds more than MTGATE_PROGRAMS_MAX programs.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

void mtgate_c_program_free(mtgate_c_program *p)
{
	if (p == NULL)
		return;
	free(p->mem);
	memset(p, 0, sizeof(*p));
}

void mtgate_c_program_list_free(mtgate_c_program *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i].mem);
	free(list);
}

/* A decoded record as an mtgate_c_program owning its strings; values that
 * become enums or flags are checked (MTGATE_EPROTO). */
static int program_from_wire(const proto_program *pp, mtgate_c_program *out)
{
	const char **dst[MTGATE_PROGRAM_STRINGS];
	size_t total = 0, off = 0;
	char *mem;

	if (pp->rec.kind != MTGATE_KIND_RECURRING &&
	    pp->rec.kind != MTGATE_KIND_ONE_OFF)
		return MTGATE_EPROTO;
	if (pp->rec.period > MTGATE_PERIOD_MONTH ||
	    pp->rec.interval >= MTGATE_INTERVAL_MAX ||
	    pp->rec.double_opt_in > 1 || pp->rec.allow_pos > 1)
		return MTGATE_EPROTO;
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		total += (size_t)pp->len[i] + 1;
	if ((mem = malloc(total)) == NULL)
		return MTGATE_ENOMEM;
	memset(out, 0, sizeof(*out));
	proto_program_def_fields(pp, &out->def);
	proto_program_def_slots(&out->def, dst);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++) {
		memcpy(mem + off, pp->str[i], pp->len[i]);
		mem[off + pp->len[i]] = '\0';
		*dst[i] = mem + off;
		off += (size_t)pp->len[i] + 1;
	}
	out->mem = mem;
	return 0;
}

int mtgate_c_program_put(mtgate_conn *c, const mtgate_program_def *def,
			 uint32_t *id_out)
{
	mtgate_program_def copy;
	const char **s[MTGATE_PROGRAM_STRINGS];
	proto_program pp;
	uint64_t tag;
	size_t len;
	proto_wr w;
	proto_rd r;
	uint32_t id;
	int rc;

	if (c == NULL || def == NULL || (unsigned)def->kind > UINT8_MAX ||
	    (unsigned)def->period > UINT8_MAX ||
	    (unsigned)def->interval > UINT8_MAX)
		return MTGATE_EINVAL;
	copy = *def;
	proto_program_def_slots(&copy, s);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		if ((rc = cl_strlen(*s[i], UINT16_MAX, &len)) < 0)
			return rc;
	proto_program_of_def(def, &pp);
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_PROGRAM_PUT, tag, proto_program_size(&pp),
		      &w);
	if (rc < 0)
		return rc;
	proto_enc_program(&w, &pp);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_PROGRAM_PUT, &r)) < 0)
		return rc;
	id = proto_rd_u32(&r);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (id_out != NULL)
		*id_out = id;
	return 0;
}

int mtgate_c_program_get(mtgate_conn *c, uint32_t id, const char *short_code,
			 const char *keyword, mtgate_c_program *out)
{
	mtgate_wire_program_get_req req = {.id = id};
	size_t sc_len = 0, kw_len = 0;
	proto_program pp;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL)
		return MTGATE_EINVAL;
	if (id == 0 && cl_strlen(short_code, UINT8_MAX, &sc_len) < 0)
		return MTGATE_ESHORTCODE;
	if (id == 0 && cl_strlen(keyword, UINT8_MAX, &kw_len) < 0)
		return MTGATE_EKEYWORD;
	req.sc_len = (uint8_t)sc_len;
	req.kw_len = (uint8_t)kw_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_PROGRAM_GET, tag,
		      sizeof(req) + sc_len + kw_len, &w);
	if (rc < 0)
		return rc;
	proto_enc_program_get_req(&w, &req);
	proto_wr_bytes(&w, short_code, sc_len);
	proto_wr_bytes(&w, keyword, kw_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_PROGRAM_GET, &r)) < 0)
		return rc;
	proto_dec_program(&r, &pp);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	rc = program_from_wire(&pp, out);
	return rc == MTGATE_EPROTO ? cl_fail(c, rc) : rc;
}

/* A growable array of programs. */
typedef struct prog_list {
	mtgate_c_program *v;
	size_t n, cap;
} prog_list;

/* Decode one record of a PROGRAM_LIST answer onto l; ids must ascend. */
static int list_add(prog_list *l, proto_rd *r, uint32_t *after)
{
	mtgate_c_program *v;
	proto_program pp;
	size_t cap;
	int rc;

	proto_dec_program(r, &pp);
	if (r->bad || pp.rec.id <= *after || pp.rec.id >= MTGATE_PROGRAMS_MAX)
		return MTGATE_EPROTO;
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return MTGATE_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if ((rc = program_from_wire(&pp, &l->v[l->n])) < 0)
		return rc;
	l->n++;
	*after = pp.rec.id;
	return 0;
}

/* One PROGRAM_LIST request for the ids above *after. */
static int list_page(mtgate_conn *c, prog_list *l, uint32_t *after, bool *more)
{
	mtgate_wire_program_list_req req = {.after_id = *after, .max = 0};
	mtgate_wire_program_list_resp resp;
	uint64_t tag = cl_tag(c);
	proto_wr w;
	proto_rd r;
	int rc;

	rc = cl_begin(c, MTGATE_OPC_PROGRAM_LIST, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_program_list_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_PROGRAM_LIST, &r)) < 0)
		return rc;
	proto_dec_program_list_resp(&r, &resp);
	for (uint32_t i = 0; i < resp.count; i++) {
		if ((rc = list_add(l, &r, after)) < 0)
			return rc == MTGATE_EPROTO ? cl_fail(c, rc) : rc;
	}
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	/* An answer that promises more but gives none would loop forever. */
	if (resp.more > 1 || (resp.more && resp.count == 0))
		return cl_fail(c, MTGATE_EPROTO);
	*more = resp.more != 0;
	return 0;
}

int mtgate_c_program_list(mtgate_conn *c, mtgate_c_program **out, size_t *n)
{
	prog_list l = {0};
	uint32_t after = 0;
	bool more = true;
	int rc = 0;

	if (c == NULL || out == NULL || n == NULL)
		return MTGATE_EINVAL;
	*out = NULL;
	*n = 0;
	while (more && rc == 0)
		rc = list_page(c, &l, &after, &more);
	if (rc < 0) {
		mtgate_c_program_list_free(l.v, l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
