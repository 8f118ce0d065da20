/*
 * ctx.c - the helpers every kind uses on its context (kind.h).
 */
#include "kinds/kind.h"

#include <string.h>

#include "base/banned.h"

int sr_rows_next(struct sr_rows *r, const struct sr_vec **cols,
		 const uint64_t **row_ids, size_t *rows, int *eof,
		 struct sr_err *err)
{
	return r->next(r->impl, cols, row_ids, rows, eof, err);
}

void sr_rows_close(struct sr_rows *r)
{
	if (r->close)
		r->close(r->impl);
	memset(r, 0, sizeof(*r));
}

int sr_kind_scan(const struct sr_kind_ctx *c, size_t input,
		 const char *const *columns, size_t ncolumns,
		 struct sr_rows *out, struct sr_err *err)
{
	memset(out, 0, sizeof(*out));
	if (input >= c->ninputs)
		return sr_fail(err, SR_EINVAL, "input %zu: the job has %zu inputs",
			       input, c->ninputs);
	if (!c->inputs[input].local)
		return sr_fail(err, SR_EPERM,
			       "input %zu (%s) belongs to another organization",
			       input, c->inputs[input].dataset);
	return c->scan(c->impl, input, columns, ncolumns, out, err);
}

int sr_kind_pipe(const struct sr_kind_ctx *c, const char *peer,
		 uint32_t channel, struct sr_pipe *out, struct sr_err *err)
{
	return c->pipe(c->impl, peer, channel, out, err);
}

void sr_kind_progress(const struct sr_kind_ctx *c, const char *phase,
		      uint64_t done, uint64_t total)
{
	if (c->progress)
		c->progress(c->impl, phase, done, total);
}

size_t sr_kind_party_of_input(const struct sr_kind_ctx *c, size_t input)
{
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], c->inputs[input].owner) == 0)
			return i;
	return SIZE_MAX;
}

int64_t sr_kind_min_group_size(const struct sr_kind_ctx *c)
{
	int64_t m = 1;

	for (size_t i = 0; i < c->ninputs; i++)
		if (c->inputs[i].policy && c->inputs[i].policy->min_group_size > m)
			m = c->inputs[i].policy->min_group_size;
	return m;
}

json_t *sr_kind_envelope(json_t *columns, json_t *rows, json_t *meta)
{
	if (!meta)
		meta = json_object();
	if (!columns || !rows || !meta) {
		json_decref(columns);
		json_decref(rows);
		json_decref(meta);
		return NULL;
	}
	return json_pack("{s:o,s:o,s:o}", "columns", columns, "rows", rows,
			 "meta", meta);
}

int sr_kind_charge(const struct sr_kind_ctx *c, size_t input, double epsilon,
		   struct sr_err *err)
{
	return c->charge ? c->charge(c->impl, input, epsilon, err) : SR_OK;
}
