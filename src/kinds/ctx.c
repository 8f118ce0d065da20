/*
 * ctx.c - the helpers every kind uses on its context (kind.h).
 */
#include "kinds/kind.h"

#include <sodium.h>

#include "base/alloc.h"

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

int sr_kind_owner_key(const struct sr_kind_ctx *c, size_t input, const char *label,
		      uint8_t key[32], struct sr_err *err)
{
	crypto_generichash_state st;
	uint8_t secret[32];
	json_t *spec;
	char *text;
	int rc;

	if (strncmp(label, "sealroom ", 9) != 0 || strlen(label) > 128)
		return sr_fail(err, SR_EINVAL, "owner key: a label must start \"sealroom \"");
	if (input >= c->ninputs)
		return sr_fail(err, SR_EINVAL, "owner key: no input %zu", input);
	if (c->owner_key)
		return c->owner_key(c->impl, input, label, key, err);
	if (!c->mask_key)
		return sr_fail(err, SR_EINTERNAL, "owner key: this runner has no owner's secret");
	rc = c->mask_key(c->impl, input, c->inputs[input].dataset, "", secret, err);
	if (rc)
		return rc;
	spec = json_deep_copy(c->spec);
	if (spec)
		json_object_del(spec, "tee");
	text = spec ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(spec);
	if (!text) {
		sodium_memzero(secret, sizeof(secret));
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	crypto_generichash_init(&st, secret, sizeof(secret), 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label) + 1);
	crypto_generichash_update(&st, (const uint8_t *)text, strlen(text));
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(secret, sizeof(secret));
	sr_free(text);
	return SR_OK;
}

int sr_kind_charge(const struct sr_kind_ctx *c, size_t input, double epsilon,
		   struct sr_err *err)
{
	return c->charge ? c->charge(c->impl, input, epsilon, err) : SR_OK;
}
