/*
 * plan.c - what each party computes and what is revealed to whom
 * (sr_sql_plan), as JSON, and the same as text for people
 * (sr_sql_plan_text).  docs/internals/sql.md, "Plan", has the format.
 *
 * The plan describes the horizontal execution of issue 10 §3 (each party
 * aggregates locally over a group domain; the parties' vectors are summed
 * securely; the release step sees only the sums) and says plainly when a
 * query cannot run yet (JOIN).  It is built from the bound query alone:
 * two runs on the same query give the same plan.
 */
#include "sql/sql.h"
#include "sql/sql_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

/* How many domain values the text form shows before "...". */
#define TEXT_DOMAIN_SHOWN 12

static json_t *number(double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* json_object_set_new that remembers a failure in *bad. */
static void set(json_t *obj, const char *key, json_t *value, int *bad)
{
	if (!obj || !value || json_object_set_new(obj, key, value))
		*bad = 1;
}

static void append(json_t *arr, json_t *value, int *bad)
{
	if (!arr || !value || json_array_append_new(arr, value))
		*bad = 1;
}

/* Add accumulator {name, of, clamp?} to list unless it is there. */
static void add_acc(json_t *list, const char *name, const char *of, int clamp,
		    double lo, double hi, int *bad)
{
	json_t *acc, *v;
	size_t i;

	json_array_foreach(list, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		const char *o = json_string_value(json_object_get(v, "of"));
		if (n && strcmp(n, name) == 0 && ((!o && !of) || (o && of && strcmp(o, of) == 0)))
			return;
	}
	acc = json_object();
	set(acc, "name", json_string(name), bad);
	if (of)
		set(acc, "of", json_string(of), bad);
	if (clamp) {
		json_t *c = json_array();
		append(c, number(lo), bad);
		append(c, number(hi), bad);
		set(acc, "clamp", c, bad);
	}
	append(list, acc, bad);
}

/* The accumulators input i keeps per group. */
static json_t *accumulators(const struct sr_sql *q, size_t input, int *bad)
{
	json_t *list = json_array();
	const char *id = sr_sql_id_column(q, input);

	for (size_t g = 0; g < q->naggs; g++) {
		const struct sr_sql_agg *agg = &q->aggs[g];
		const char *of = agg->arg_text;
		double lo = 0, hi = 0;
		int clamp = sr_sql_agg_bounds(q, g, input, &lo, &hi) == SR_OK;

		if (agg->inputs && !(agg->inputs & SR_SQL_INPUT_BIT(input)))
			continue;   /* (JOIN) another input's aggregate */
		switch (agg->kind) {
		case SR_SQL_COUNT_ROWS:
			add_acc(list, "rows", NULL, 0, 0, 0, bad);
			break;
		case SR_SQL_COUNT:
			add_acc(list, "count", of, 0, 0, 0, bad);
			break;
		case SR_SQL_COUNT_DISTINCT:
			add_acc(list, "distinct", of, 0, 0, 0, bad);
			break;
		case SR_SQL_MIN:
			add_acc(list, "min", of, 0, 0, 0, bad);
			break;
		case SR_SQL_MAX:
			add_acc(list, "max", of, 0, 0, 0, bad);
			break;
		default:
			add_acc(list, "count", of, 0, 0, 0, bad);
			add_acc(list, "sum", of, clamp, lo, hi, bad);
			if (agg->kind != SR_SQL_SUM && agg->kind != SR_SQL_AVG)
				add_acc(list, "sum_squares", of, clamp, lo, hi, bad);
		}
	}
	/* What the release threshold counts. */
	if (q->aggregated)
		add_acc(list, id ? "identities" : "rows", id, 0, 0, 0, bad);
	return list;
}

static json_t *plan_inputs(const struct sr_sql *q, int *bad)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < q->ninputs; i++) {
		const struct sr_sql_input *in = &q->inputs[i];
		json_t *o = json_object(), *where = json_array();
		set(o, "dataset", json_string(in->name), bad);
		set(o, "owner", json_string(in->owner), bad);
		if (in->alias)
			set(o, "alias", json_string(in->alias), bad);
		set(o, "row_filter", json_boolean(q->sources[i].policy->row_filter != NULL), bad);
		for (size_t f = 0; f < q->nfilters; f++)
			if (q->filters[f].inputs & SR_SQL_INPUT_BIT(i))
				append(where, json_string(q->filters[f].text), bad);
		set(o, "where", where, bad);
		if (q->aggregated)
			set(o, "accumulators", accumulators(q, i, bad), bad);
		append(arr, o, bad);
	}
	return arr;
}

/* Keys, and where the groups come from. */
static int plan_groups(const struct sr_sql *q, json_t *plan, int *bad,
		       struct sr_err *err)
{
	int from_domains = q->nparties > 1 || sr_sql_under_dp(q);
	json_t *g = json_object(), *keys = json_array();
	uint64_t count = 1;
	int rc = SR_OK;

	for (size_t k = 0; k < q->nkeys; k++) {
		json_t *key = json_object(), *dom = NULL;
		set(key, "key", json_string(q->keys[k].text), bad);
		set(key, "type", json_string(sr_type_name(q->keys[k].type)), bad);
		if (from_domains) {
			rc = sr_sql_key_domain(q, k, &dom, err);
			if (rc == SR_ENOTFOUND || rc == SR_ELIMIT) {
				/* The rules refuse it; the plan says so. */
				sr_err_clear(err);
				rc = SR_OK;
				count = 0;
			}
			if (rc) {
				json_decref(key);
				json_decref(keys);
				json_decref(g);
				return rc;
			}
			if (dom && count) {
				count *= json_array_size(dom) + 1;
				if (count > SR_SQL_GROUPS_MAX)
					count = 0;
			}
		}
		set(key, "domain", dom ? dom : json_null(), bad);
		append(keys, key, bad);
	}
	set(g, "keys", keys, bad);
	if (!q->aggregated)
		set(g, "from", json_string("none: the query does not aggregate"), bad);
	else if (q->nkeys == 0)
		set(g, "from", json_string("none: one group of every row"), bad);
	else if (from_domains)
		set(g, "from", json_string(count ? "the public domains (each key's values and NULL)" :
					   "the public domains, which the policies do not give (refused)"),
		    bad);
	else
		set(g, "from", json_string("the keys found in the data"), bad);
	if (q->aggregated && (q->nkeys == 0 || (from_domains && count)))
		set(g, "count", json_integer((json_int_t)(q->nkeys ? count : 1)), bad);
	set(plan, "groups", g, bad);
	return SR_OK;
}

/* How an aggregate's value comes from the accumulators. */
static int agg_derivation(const struct sr_sql *q, size_t g, struct sr_buf *out)
{
	const char *of = q->aggs[g].arg_text;
	enum sr_sql_agg_kind k = q->aggs[g].kind;

	switch (k) {
	case SR_SQL_COUNT_ROWS:
		return sr_buf_addstr(out, "rows");
	case SR_SQL_COUNT:
		return sr_buf_addf(out, "count(%s)", of);
	case SR_SQL_COUNT_DISTINCT:
		return sr_buf_addf(out, q->nparties > 1 ? "the sum of the parties' distinct(%s)" :
				   "distinct(%s)", of);
	case SR_SQL_SUM:
		return sr_buf_addf(out, "sum(%s), NULL when count(%s) is 0", of, of);
	case SR_SQL_AVG:
		return sr_buf_addf(out, "sum(%s) / count(%s)", of, of);
	case SR_SQL_VAR_POP:
	case SR_SQL_STDDEV_POP:
	case SR_SQL_VAR_SAMP:
	case SR_SQL_STDDEV_SAMP:
		return sr_buf_addf(out, "%s(sum_squares(%s) - sum(%s)^2 / count(%s)) / %scount(%s)%s",
				   k == SR_SQL_STDDEV_POP || k == SR_SQL_STDDEV_SAMP ? "the square root of " : "",
				   of, of, of,
				   k == SR_SQL_VAR_SAMP || k == SR_SQL_STDDEV_SAMP ? "(" : "", of,
				   k == SR_SQL_VAR_SAMP || k == SR_SQL_STDDEV_SAMP ? " - 1)" : "");
	default:
		return sr_buf_addf(out, "the %s of the parties' %s(%s)",
				   k == SR_SQL_MIN ? "least" : "greatest",
				   k == SR_SQL_MIN ? "min" : "max", of);
	}
}

/* Output i is key or aggregate col of the result as it is. */
static int ast_is_plain(const struct sr_sql *q, size_t i, size_t col)
{
	const struct sr_ast *a = col < q->nkeys ? q->key_ast[col] : q->agg_ast[col - q->nkeys];

	return sr_sql_ast_equal(q, q->output_ast[i], a);
}

static json_t *plan_outputs(const struct sr_sql *q, int *bad)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < q->noutputs; i++) {
		const struct sr_sql_output *o = &q->outputs[i];
		json_t *obj = json_object();
		struct sr_buf from;
		size_t col = SIZE_MAX;
		int rc;

		sr_buf_init(&from, SR_BUF_UNBOUNDED);   /* bounded by the query text */
		if (sr_expr_ncolumns_used(o->expr) == 1 && q->aggregated)
			col = sr_expr_column_used(o->expr, 0);
		if (!q->aggregated)
			rc = sr_buf_addstr(&from, "the rows' values, as they are");
		else if (col < q->nkeys && ast_is_plain(q, i, col))
			rc = sr_buf_addf(&from, "group key %s", q->keys[col].text);
		else if (col != SIZE_MAX && col >= q->nkeys && ast_is_plain(q, i, col))
			rc = agg_derivation(q, col - q->nkeys, &from);
		else
			rc = sr_buf_addstr(&from, "computed from the group's keys and aggregates");
		if (rc)
			*bad = 1;
		set(obj, "name", json_string(o->name), bad);
		set(obj, "type", json_string(sr_type_name(o->type)), bad);
		set(obj, "from", json_string(from.data), bad);
		append(arr, obj, bad);
		sr_buf_release(&from);
	}
	return arr;
}

/* "the spec's receivers", "org_a", "org_a, org_b" */
static json_t *receivers_text(const char *const *receivers, size_t n)
{
	struct sr_buf who;
	json_t *v;
	int rc = SR_OK;

	if (n == 0)
		return json_string("the spec's receivers");
	sr_buf_init(&who, SR_BUF_UNBOUNDED);   /* the spec's receivers, bounded by it */
	for (size_t i = 0; rc == SR_OK && i < n; i++)
		rc = sr_buf_addf(&who, "%s%s", i ? ", " : "", receivers[i]);
	v = rc ? NULL : json_string(who.data);
	sr_buf_release(&who);
	return v;
}

static json_t *revealed(const struct sr_sql *q, const char *const *receivers,
			size_t nreceivers, int *bad)
{
	json_t *arr = json_array(), *r;
	int min_max = 0;

	for (size_t g = 0; g < q->naggs; g++)
		min_max |= q->aggs[g].kind == SR_SQL_MIN || q->aggs[g].kind == SR_SQL_MAX;
	if (q->aggregated && q->stmt->from_kind == SR_SQL_FROM_JOIN) {
		r = json_object();
		set(r, "to", json_string("the dimension holder (the GROUP BY dataset's party)"), bad);
		set(r, "what", json_string("per group, the number of matched keys and rows, before the threshold (allowed by the value holder's join_reveals_group_counts); the group totals of the value holder's accumulators"),
		    bad);
		append(arr, r, bad);
	}
	if (q->aggregated && q->nparties > 1 && q->stmt->from_kind != SR_SQL_FROM_JOIN) {
		r = json_object();
		set(r, "to", json_string("the release step"), bad);
		set(r, "what", json_string("per group, the sums of the accumulators over every party; no party's own vector"),
		    bad);
		append(arr, r, bad);
		if (min_max) {
			r = json_object();
			set(r, "to", json_string("the release step"), bad);
			set(r, "what", json_string("per group, each party's min and max (they cannot be summed)"),
			    bad);
			append(arr, r, bad);
		}
	}
	r = json_object();
	set(r, "to", receivers_text(receivers, nreceivers), bad);
	set(r, "what", json_string(q->aggregated ?
				   "the released groups: the output columns of every group that passes the threshold, then HAVING, ORDER BY and LIMIT; the number of groups suppressed" :
				   "the rows' values"),
	    bad);
	append(arr, r, bad);
	return arr;
}

static json_t *release(const struct sr_sql *q, int *bad)
{
	json_t *o = json_object(), *order = json_array();
	int64_t min_group = 1;
	const char *id = NULL;
	int all_ids = 1, dp = sr_sql_under_dp(q);
	char counts[SR_ERR_MSG_MAX];

	for (size_t i = 0; i < q->ninputs; i++) {
		const char *c = sr_sql_id_column(q, i);
		if (q->sources[i].policy->min_group_size > min_group)
			min_group = q->sources[i].policy->min_group_size;
		if (!c)
			all_ids = 0;
		else if (!id)
			id = c;
	}
	set(o, "min_group_size", json_integer(min_group), bad);
	if (all_ids && id)
		snprintf(counts, sizeof(counts), "distinct identities (%s)", id);
	else
		snprintf(counts, sizeof(counts), "rows (an input has no id column: each row counts as one individual)");
	set(o, "counts", json_string(counts), bad);
	set(o, "suppressed", json_string("a group under min_group_size is suppressed, never merged into another; the output says how many were"),
	    bad);
	if (dp)
		set(o, "dp", json_string("noise is added to every released count and sum inside the computation (epsilon from the spec, sensitivity from the bounds)"),
		    bad);
	if (q->having_ast)
		set(o, "having", json_stringn(q->text + q->having_ast->start,
					      q->having_ast->end - q->having_ast->start), bad);
	for (size_t i = 0; i < q->norder; i++) {
		json_t *item = json_object();
		set(item, "by", json_string(q->order[i].text), bad);
		set(item, "desc", json_boolean(q->order[i].desc), bad);
		append(order, item, bad);
	}
	set(o, "order_by", order, bad);
	if (q->stmt->has_limit)
		set(o, "limit", json_integer(q->stmt->limit), bad);
	return o;
}

int sr_sql_plan(const struct sr_sql *q, const char *const *receivers,
		size_t nreceivers, json_t **out, struct sr_err *err)
{
	static const char *const shapes[] = {
		[SR_SQL_FROM_ONE] = "one dataset", [SR_SQL_FROM_UNION] = "union all",
		[SR_SQL_FROM_JOIN] = "join",
	};
	int join = q->stmt->from_kind == SR_SQL_FROM_JOIN, bad = 0, rc;
	json_t *plan = json_object();
	const char *combine;

	*out = NULL;
	set(plan, "query", json_stringn(q->text, q->len), &bad);
	set(plan, "shape", json_string(shapes[q->stmt->from_kind]), &bad);
	set(plan, "parties", json_integer((json_int_t)q->nparties), &bad);
	set(plan, "executable", json_true(), &bad);
	set(plan, "inputs", plan_inputs(q, &bad), &bad);
	rc = plan_groups(q, plan, &bad, err);
	if (rc) {
		json_decref(plan);
		return rc;
	}
	if (join)
		combine = "intersection-sum (docs/protocols/query-join.md): the dimension holder's keys blinded per group, the value holder's per-key values under its own Paillier key; homomorphic sums per group, masked, opened by the value holder, unmasked by the dimension holder (the receiver)";
	else if (q->nparties == 1)
		combine = "local: the one party computes every group itself";
	else
		combine = "secure aggregation: the parties' vectors (one entry per group and accumulator) are summed under pairwise masks, mod 2^64 on fixed-point values, so only the sum is seen; a party that drops out fails the job";
	set(plan, "combine", json_string(combine), &bad);
	set(plan, "revealed", revealed(q, receivers, nreceivers, &bad), &bad);
	if (q->aggregated)
		set(plan, "release", release(q, &bad), &bad);
	set(plan, "outputs", plan_outputs(q, &bad), &bad);
	if (bad) {
		json_decref(plan);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	*out = plan;
	return SR_OK;
}

/* ---- text ----------------------------------------------------------------- */

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* A JSON scalar as text: strings quoted. */
static int add_value(struct sr_buf *out, const json_t *v)
{
	if (json_is_string(v))
		return sr_buf_addf(out, "'%s'", json_string_value(v));
	if (json_is_integer(v))
		return sr_buf_addf(out, "%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return sr_buf_addf(out, "%.17g", json_real_value(v));
	if (json_is_boolean(v))
		return sr_buf_addstr(out, json_is_true(v) ? "TRUE" : "FALSE");
	return sr_buf_addstr(out, "NULL");
}

static int text_accumulators(const json_t *list, struct sr_buf *out)
{
	const json_t *acc;
	size_t i;
	int rc = sr_buf_addstr(out, "    per group:");

	json_array_foreach(list, i, acc) {
		const json_t *clamp = json_object_get(acc, "clamp");
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "%s %s", i ? ";" : "", str(acc, "name"));
		if (rc == SR_OK && json_object_get(acc, "of"))
			rc = sr_buf_addf(out, "(%s)", str(acc, "of"));
		if (rc == SR_OK && clamp) {
			rc = sr_buf_addstr(out, " clamped to [");
			if (rc == SR_OK)
				rc = add_value(out, json_array_get(clamp, 0));
			if (rc == SR_OK)
				rc = sr_buf_addstr(out, ", ");
			if (rc == SR_OK)
				rc = add_value(out, json_array_get(clamp, 1));
			if (rc == SR_OK)
				rc = sr_buf_addch(out, ']');
		}
	}
	return rc ? rc : sr_buf_addch(out, '\n');
}

static int text_inputs(const json_t *plan, struct sr_buf *out)
{
	const json_t *in;
	size_t i;
	int rc = sr_buf_addstr(out, "each party, over its rows that pass its dataset's row_filter and the WHERE pushed down to it:\n");

	json_array_foreach(json_object_get(plan, "inputs"), i, in) {
		const json_t *where = json_object_get(in, "where"), *w;
		size_t k;
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "  %s (party %s%s%s)%s\n", str(in, "dataset"),
					 str(in, "owner"), json_object_get(in, "alias") ? ", as " : "",
					 str(in, "alias"),
					 json_is_true(json_object_get(in, "row_filter")) ?
					 ": its row_filter first" : "");
		if (rc == SR_OK)
			rc = sr_buf_addstr(out, "    where: ");
		json_array_foreach(where, k, w)
			if (rc == SR_OK)
				rc = sr_buf_addf(out, "%s%s", k ? " AND " : "", json_string_value(w));
		if (rc == SR_OK)
			rc = sr_buf_addstr(out, json_array_size(where) ? "\n" : "every row\n");
		if (rc == SR_OK && json_object_get(in, "accumulators"))
			rc = text_accumulators(json_object_get(in, "accumulators"), out);
	}
	return rc;
}

static int text_groups(const json_t *plan, struct sr_buf *out)
{
	const json_t *g = json_object_get(plan, "groups"), *key;
	size_t i;
	int rc = sr_buf_addf(out, "groups: from %s", str(g, "from"));

	if (rc == SR_OK && json_object_get(g, "count"))
		rc = sr_buf_addf(out, ", %lld group%s", (long long)json_integer_value(json_object_get(g, "count")),
				 json_integer_value(json_object_get(g, "count")) == 1 ? "" : "s");
	if (rc == SR_OK)
		rc = sr_buf_addch(out, '\n');
	json_array_foreach(json_object_get(g, "keys"), i, key) {
		const json_t *dom = json_object_get(key, "domain"), *v;
		size_t k;
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "  %s (%s)", str(key, "key"), str(key, "type"));
		if (rc == SR_OK && json_is_array(dom)) {
			rc = sr_buf_addf(out, ": %zu value%s and NULL:", json_array_size(dom),
					 json_array_size(dom) == 1 ? "" : "s");
			json_array_foreach(dom, k, v) {
				if (rc || k == TEXT_DOMAIN_SHOWN)
					break;
				rc = sr_buf_addch(out, ' ');
				if (rc == SR_OK)
					rc = add_value(out, v);
			}
			if (rc == SR_OK && json_array_size(dom) > TEXT_DOMAIN_SHOWN)
				rc = sr_buf_addstr(out, " ...");
		}
		if (rc == SR_OK)
			rc = sr_buf_addch(out, '\n');
	}
	return rc;
}

static int text_release(const json_t *plan, struct sr_buf *out)
{
	const json_t *r = json_object_get(plan, "release"), *o;
	size_t i;
	int rc;

	if (!r)
		return SR_OK;
	rc = sr_buf_addf(out, "release: groups with fewer than %lld %s are suppressed (never merged), and the output says how many\n",
			 (long long)json_integer_value(json_object_get(r, "min_group_size")),
			 str(r, "counts"));
	if (rc == SR_OK && json_object_get(r, "dp"))
		rc = sr_buf_addf(out, "  differential privacy: %s\n", str(r, "dp"));
	if (rc == SR_OK && json_object_get(r, "having"))
		rc = sr_buf_addf(out, "  then HAVING %s\n", str(r, "having"));
	if (rc == SR_OK && json_array_size(json_object_get(r, "order_by"))) {
		rc = sr_buf_addstr(out, "  then ORDER BY");
		json_array_foreach(json_object_get(r, "order_by"), i, o)
			if (rc == SR_OK)
				rc = sr_buf_addf(out, "%s %s%s", i ? "," : "", str(o, "by"),
						 json_is_true(json_object_get(o, "desc")) ? " DESC" : "");
		if (rc == SR_OK)
			rc = sr_buf_addch(out, '\n');
	}
	if (rc == SR_OK && json_object_get(r, "limit"))
		rc = sr_buf_addf(out, "  then LIMIT %lld\n",
				 (long long)json_integer_value(json_object_get(r, "limit")));
	return rc;
}

int sr_sql_plan_text(const json_t *plan, struct sr_buf *out, struct sr_err *err)
{
	const json_t *v;
	size_t i;
	int rc;

	rc = sr_buf_addf(out, "query: %s\nshape: %s over %lld part%s\n", str(plan, "query"),
			 str(plan, "shape"),
			 (long long)json_integer_value(json_object_get(plan, "parties")),
			 json_integer_value(json_object_get(plan, "parties")) == 1 ? "y" : "ies");
	if (rc == SR_OK && !json_is_true(json_object_get(plan, "executable")))
		rc = sr_buf_addf(out, "not executable: %s\n", str(plan, "not_executable"));
	if (rc == SR_OK)
		rc = text_inputs(plan, out);
	if (rc == SR_OK)
		rc = text_groups(plan, out);
	if (rc == SR_OK)
		rc = sr_buf_addf(out, "combine: %s\nrevealed:\n", str(plan, "combine"));
	json_array_foreach(json_object_get(plan, "revealed"), i, v)
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "  to %s: %s\n", str(v, "to"), str(v, "what"));
	if (rc == SR_OK)
		rc = text_release(plan, out);
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, "outputs:\n");
	json_array_foreach(json_object_get(plan, "outputs"), i, v)
		if (rc == SR_OK)
			rc = sr_buf_addf(out, "  %s (%s): %s\n", str(v, "name"), str(v, "type"),
					 str(v, "from"));
	if (rc)
		return sr_fail(err, rc, rc == SR_ELIMIT ? "plan: longer than the buffer's cap" :
			       "out of memory");
	return SR_OK;
}

size_t sr_sql_output_column(const struct sr_sql *q, size_t i)
{
	if (i >= q->noutputs || !q->aggregated)
		return SIZE_MAX;
	for (size_t col = 0; col < q->nkeys + q->naggs; col++)
		if (ast_is_plain(q, i, col))
			return col;
	return SIZE_MAX;
}
