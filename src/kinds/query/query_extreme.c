/*
 * query_extreme.c - MIN and MAX of the query kind (docs/protocols/query.md,
 * "MIN and MAX"): they cannot be summed, so each owner keeps its
 * per-group extreme of every MIN/MAX argument over its kept rows, sends
 * them to the release party after secure aggregation (JSON: per MIN/MAX
 * aggregate, per group, the value or null), and the release party takes
 * the extreme of the parties' extremes.  The SQL rules allow MIN/MAX only
 * on columns whose policies allow `reveal`, and never under DP.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "kinds/query/query.h"
#include "store/value.h"
#include "base/banned.h"

struct q_ext *q_ext_new(const struct q_layout *L)
{
	size_t n = L->nexts * L->ngroups;

	return sr_calloc(n ? n : 1, sizeof(struct q_ext));
}

void q_ext_free(const struct q_layout *L, struct q_ext *ext)
{
	for (size_t i = 0; ext && i < L->nexts * L->ngroups; i++)
		sr_free(ext[i].s);
	sr_free(ext);
}

/* <0, 0, >0 as a is below, equal to or above b (both set, same type). */
static int ext_cmp(enum sr_type t, const struct q_ext *a, const struct q_ext *b)
{
	switch (t) {
	case SR_TYPE_FLOAT64:
		return (a->f > b->f) - (a->f < b->f);
	case SR_TYPE_STRING: {
		/* SQLite's BINARY collation: bytes, then length. */
		size_t n = a->len < b->len ? a->len : b->len;
		int c = n ? memcmp(a->s, b->s, n) : 0;
		return c ? c : (a->len > b->len) - (a->len < b->len);
	}
	default:
		return (a->i > b->i) - (a->i < b->i);
	}
}

/* Keep cand in *cell if it is the new extreme (cand's string is copied). */
static int ext_offer(const struct q_layout *L, size_t e, struct q_ext *cell,
		     const struct q_ext *cand, struct sr_err *err)
{
	enum sr_type t = L->v->aggs[L->exts[e].agg].arg_type;
	int c;

	if (cell->has) {
		c = ext_cmp(t, cand, cell);
		if (L->exts[e].is_max ? c <= 0 : c >= 0)
			return SR_OK;
	}
	if (t == SR_TYPE_STRING) {
		char *s = sr_malloc(cand->len + 1);
		if (!s)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		if (cand->len)
			memcpy(s, cand->s, cand->len);
		s[cand->len] = '\0';
		sr_free(cell->s);
		cell->s = s;
		cell->len = cand->len;
	}
	cell->i = cand->i;
	cell->f = cand->f;
	cell->has = 1;
	return SR_OK;
}

int q_ext_add(const struct q_layout *L, struct q_ext *ext, size_t e, size_t group,
	      const struct sr_vec *x, size_t r, struct sr_err *err)
{
	struct q_ext cand = { 1, 0, 0, NULL, 0 };

	switch (x->type) {
	case SR_TYPE_INT64: cand.i = x->v.i64[r]; break;
	case SR_TYPE_DATE: cand.i = x->v.date[r]; break;
	case SR_TYPE_FLOAT64:
		cand.f = x->v.f64[r];
		if (isnan(cand.f))
			return SR_OK;
		break;
	case SR_TYPE_STRING:
		cand.s = (char *)x->bytes.data + x->offsets[r];
		cand.len = x->offsets[r + 1] - x->offsets[r];
		break;
	default:
		return sr_fail(err, SR_EINTERNAL, "%s: not a MIN/MAX type",
			       L->v->aggs[L->exts[e].agg].text);
	}
	return ext_offer(L, e, &ext[e * L->ngroups + group], &cand, err);
}

json_t *q_ext_json(const struct q_layout *L, const struct q_ext *ext)
{
	json_t *out = json_array();

	for (size_t e = 0; out && e < L->nexts; e++) {
		enum sr_type t = L->v->aggs[L->exts[e].agg].arg_type;
		json_t *arr = json_array();

		for (size_t gi = 0; arr && gi < L->ngroups; gi++) {
			const struct q_ext *c = &ext[e * L->ngroups + gi];
			json_t *v = !c->has ? json_null() :
				t == SR_TYPE_FLOAT64 ? json_real(c->f) :
				t == SR_TYPE_STRING ? json_stringn(c->s, c->len) :
				json_integer((json_int_t)c->i);
			if (!v || json_array_append_new(arr, v)) {
				json_decref(arr);
				arr = NULL;
			}
		}
		if (!arr || json_array_append_new(out, arr)) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

int q_ext_merge_json(const struct q_layout *L, struct q_ext *ext, const json_t *j,
		     struct sr_err *err)
{
	if (!json_is_array(j) || json_array_size(j) != L->nexts)
		return sr_fail(err, SR_EPROTO, "query: the extremes have %zu aggregates, expected %zu",
			       json_array_size(j), L->nexts);
	for (size_t e = 0; e < L->nexts; e++) {
		const json_t *arr = json_array_get(j, e);
		enum sr_type t = L->v->aggs[L->exts[e].agg].arg_type;

		if (!json_is_array(arr) || json_array_size(arr) != L->ngroups)
			return sr_fail(err, SR_EPROTO, "query: the extremes of %s have %zu groups, expected %zu",
				       L->v->aggs[L->exts[e].agg].text, json_array_size(arr), L->ngroups);
		for (size_t gi = 0; gi < L->ngroups; gi++) {
			const json_t *v = json_array_get(arr, gi);
			struct q_ext cand = { 1, 0, 0, NULL, 0 };
			int ok;

			if (json_is_null(v))
				continue;
			ok = t == SR_TYPE_FLOAT64 ? json_is_number(v) :
			     t == SR_TYPE_STRING ? json_is_string(v) : json_is_integer(v);
			if (!ok)
				return sr_fail(err, SR_EPROTO, "query: extreme %zu of %s is not a %s",
					       gi, L->v->aggs[L->exts[e].agg].text, sr_type_name(t));
			if (t == SR_TYPE_FLOAT64)
				cand.f = json_number_value(v);
			else if (t == SR_TYPE_STRING) {
				cand.s = (char *)json_string_value(v);
				cand.len = json_string_length(v);
			} else {
				cand.i = (int64_t)json_integer_value(v);
			}
			if (ext_offer(L, e, &ext[e * L->ngroups + gi], &cand, err) != SR_OK)
				return SR_ENOMEM;
		}
	}
	return SR_OK;
}

int q_ext_append(const struct q_layout *L, const json_t *exts, size_t e, size_t group,
		 struct sr_vec *out, struct sr_err *err)
{
	const json_t *v = json_array_get(json_array_get(exts, e), group);
	struct sr_buf text;
	int rc;

	if (!v || json_is_null(v))
		return sr_vec_append_null(out);
	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	switch (out->type) {
	case SR_TYPE_FLOAT64: rc = sr_value_format_float64(&text, json_number_value(v)); break;
	case SR_TYPE_DATE: rc = sr_value_format_date(&text, (int32_t)json_integer_value(v)); break;
	case SR_TYPE_STRING: rc = sr_buf_add(&text, json_string_value(v), json_string_length(v)); break;
	default: rc = sr_value_format_int64(&text, (int64_t)json_integer_value(v)); break;
	}
	if (rc == SR_OK)
		rc = sr_vec_append_text(out, text.data ? text.data : "", text.len);
	sr_buf_release(&text);
	if (rc)
		return sr_fail(err, rc == SR_ENOMEM ? rc : SR_EPROTO, "query: extreme of %s does not fit its type",
			       L->v->aggs[L->exts[e].agg].text);
	return SR_OK;
}
