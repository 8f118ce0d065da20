/*
 * query_kind.c - the `query` job kind (DESIGN §10, §16; issue 10): a
 * federated SQL aggregate over the UNION ALL of same-schema datasets of
 * several parties (or one dataset), with secure aggregation, thresholds
 * and differential privacy.  Protocol and leakage statement:
 * docs/protocols/query.md.
 *
 * Spec:
 *   { "kind": "query",
 *     "sql": "SELECT region, COUNT(*), AVG(cost) FROM a.visits UNION ALL b.visits GROUP BY region",
 *     "inputs": [ { "dataset": "a.visits", "version_id": "…" }, … ],   one per FROM table
 *     "receivers": [ "org_…" ],                                         exactly one
 *     "epsilon": 1.0, "delta": 1e-6 }                                   DP (required under a dp policy)
 *
 * check   compiles the SQL against the published schemas (src/sql),
 *         declares its usages, adds the SQL rules and the kind's own
 *         (below), then builds the whole execution layout so that a query
 *         the runner could not execute is refused before approval.
 * run     each owner aggregates its local inputs (WHERE and row_filter
 *         pushed down) into one vector over the public group domain,
 *         adds its DP noise share, and secure aggregation (src/secagg)
 *         sums the vectors at the receiver, which keeps the totals.
 * release thresholds, HAVING, outputs, ORDER BY, LIMIT (query_release.c).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "kinds/query/query.h"
#include "secagg/secagg.h"
#include "base/banned.h"

#define QUERY_CHANNEL 1
#define QUERY_EXTREMES_CHANNEL 2

/* ---- check ----------------------------------------------------------------- */

struct check_view {
	struct sr_kind_input *inputs;
	const char **receivers;
	struct sr_kind_ctx ctx;       /* only spec, inputs and receivers are set */
};

static void view_release(struct check_view *cv)
{
	sr_free(cv->inputs);
	sr_free(cv->receivers);
}

/* A context for q_layout_build from the check in progress: the layout
 * needs the spec, the inputs' names, owners and policies, the receivers. */
static int check_view(struct sr_check *c, struct check_view *cv, int *complete,
		      struct sr_err *err)
{
	size_t n = sr_check_ninputs(c), nr = sr_check_nreceivers(c);

	memset(cv, 0, sizeof(*cv));
	*complete = 1;
	cv->inputs = sr_calloc(n ? n : 1, sizeof(*cv->inputs));
	cv->receivers = sr_calloc(nr ? nr : 1, sizeof(*cv->receivers));
	if (!cv->inputs || !cv->receivers)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct sr_check_dataset *d = sr_check_input(c, i);
		if (!d) {
			*complete = 0;          /* not published: already reported */
			continue;
		}
		cv->inputs[i].dataset = d->name;
		cv->inputs[i].owner = d->owner;
		cv->inputs[i].policy = d->policy;
		cv->inputs[i].spec = json_array_get(json_object_get(sr_check_spec(c), "inputs"), i);
		cv->inputs[i].local = 1;
	}
	for (size_t i = 0; i < nr; i++)
		cv->receivers[i] = sr_check_receiver(c, i);
	cv->ctx.spec = sr_check_spec(c);
	cv->ctx.inputs = cv->inputs;
	cv->ctx.ninputs = n;
	cv->ctx.receivers = cv->receivers;
	cv->ctx.nreceivers = nr;
	return SR_OK;
}

/* spec.key as a number (an integer, or a decimal string: events hold
 * no JSON reals) strictly between lo and hi; *out 0 when absent. */
static int spec_number(const json_t *spec, const char *key, double lo, double hi,
		       double *out, struct sr_err *err)
{
	const json_t *v = json_object_get(spec, key);
	char path[32];

	*out = 0;
	if (!v)
		return SR_OK;
	snprintf(path, sizeof(path), "%s", key);
	if (sr_policy_number(v, "spec", path, out, err) != SR_OK || !(*out > lo) || !(*out < hi))
		return sr_fail(err, SR_EINVAL,
			       "spec.%s: expected a number above %g and below %g (an integer or a decimal string such as \"0.5\")",
			       key, lo, hi);
	return SR_OK;
}

/* The kind's DP rules: epsilon and delta present and within every dp
 * input's policy. */
static int rule_dp(struct sr_check *c, struct sr_err *err)
{
	const json_t *spec = sr_check_spec(c);
	int has_eps = json_object_get(spec, "epsilon") != NULL;
	int has_delta = json_object_get(spec, "delta") != NULL;
	double eps, delta;
	int rc;

	if ((rc = spec_number(spec, "epsilon", 0, SR_DPMECH_EPSILON_MAX, &eps, err)) != SR_OK ||
	    (rc = spec_number(spec, "delta", 0, 1, &delta, err)) != SR_OK)
		return rc;

	for (size_t i = 0; rc == SR_OK && i < sr_check_ninputs(c); i++) {
		const struct sr_check_dataset *d = sr_check_input(c, i);
		const struct sr_policy_dp *dp = d ? &d->policy->dp : NULL;

		if (!dp || !dp->enabled)
			continue;
		if (!has_eps || !has_delta)
			rc = sr_check_violation(c, d->name, NULL, NULL, "query-dp-parameters", err,
				"%s has differential privacy: the spec needs \"epsilon\" (at most %g) and \"delta\" (the noise is Skellam, (epsilon, delta)-DP)",
				d->name, dp->epsilon_max_per_job);
		else if (eps > dp->epsilon_max_per_job)
			rc = sr_check_violation(c, d->name, NULL, NULL, "query-dp-epsilon", err,
				"epsilon %g is above the epsilon_max_per_job %g of %s",
				eps, dp->epsilon_max_per_job, d->name);
		else if (delta > dp->delta && dp->delta == 0)
			rc = sr_check_violation(c, d->name, NULL, NULL, "query-dp-delta", err,
				"delta %g: the policy of %s allows only pure DP (delta 0), and the query kind's noise (Skellam shares inside the secure sum) needs delta > 0",
				delta, d->name);
		else if (delta > dp->delta)
			rc = sr_check_violation(c, d->name, NULL, NULL, "query-dp-delta", err,
				"delta %g is above the delta %g of %s's policy",
				delta, dp->delta, d->name);
	}
	return rc;
}

/* The kind's rules for a JOIN (docs/protocols/query-join.md): the
 * dimension holder receives, and no differential privacy (it learns the
 * per-group match counts un-noised while matching). */
static int join_rules(struct sr_check *c, const struct sr_sql *q, const struct check_view *cv,
		      struct sr_err *err)
{
	size_t d, v;
	int rc = SR_OK;

	if (sr_sql_join_roles(q, &d, &v) != SR_OK)
		return SR_OK;   /* the SQL rules said why */
	if (strcmp(cv->receivers[0], cv->inputs[d].owner) != 0)
		rc = sr_check_violation(c, NULL, NULL, NULL, "query-join-receiver", err,
			"the receiver of a join must be the dimension holder (the owner of %s, which holds the GROUP BY columns): it unmasks the sums; a value holder or third-party receiver is not executed",
			cv->inputs[d].dataset);
	if (rc == SR_OK && (sr_sql_under_dp(q) || json_object_get(sr_check_spec(c), "epsilon")))
		rc = sr_check_violation(c, NULL, NULL, NULL, "query-join-dp", err,
			"differential privacy over a join is not executed: the dimension holder %s, which receives, learns each group's match count un-noised while matching",
			cv->inputs[d].dataset);
	return rc;
}

static int query_check(struct sr_check *c, struct sr_err *err)
{
	const json_t *spec = sr_check_spec(c);
	const char *text = NULL;
	struct sr_sql_dataset *ds = NULL;
	struct sr_expr_column **cols = NULL;
	struct sr_sql *q = NULL;
	struct sr_sql_usage *us = NULL;
	struct sr_sql_violation *vs = NULL;
	size_t nus = 0, nvs = 0, n = sr_check_ninputs(c);
	struct check_view cv;
	struct q_layout L;
	int rc, complete, refused = 0;

	memset(&L, 0, sizeof(L));
	rc = sr_json_get_string(spec, "spec", "sql", 1, &text, err);
	if (rc == SR_OK && sr_check_nreceivers(c) != 1)
		rc = sr_fail(err, SR_EINVAL, "spec.receivers: a query job delivers to one receiver, got %zu",
			     sr_check_nreceivers(c));
	if (rc)
		return rc;
	if ((rc = rule_dp(c, err)) != SR_OK)
		return rc;
	if ((rc = check_view(c, &cv, &complete, err)) != SR_OK || !complete)
		goto out;
	if ((rc = q_datasets(spec, cv.inputs, n, &ds, &cols, err)) != SR_OK)
		goto out;
	rc = sr_sql_compile(text, strlen(text), ds, n, &q, err);
	if (rc) {
		if (rc != SR_ENOMEM)
			sr_err_prefix(err, "spec.sql");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sr_sql_query *v = sr_sql_query(q);
		int named = 0;
		for (size_t j = 0; j < v->ninputs; j++)
			named |= v->inputs[j].dataset == i;
		if (!named) {
			rc = sr_fail(err, SR_EINVAL, "spec.inputs[%zu]: %s is not in the FROM of spec.sql",
				     i, cv.inputs[i].dataset);
			goto out;
		}
	}
	if ((rc = sr_sql_usages(q, &us, &nus, err)) != SR_OK)
		goto out;
	for (size_t i = 0; rc == SR_OK && i < nus; i++)
		rc = sr_check_use(c, us[i].dataset, us[i].column, us[i].usage, err);
	if (rc == SR_OK)
		rc = sr_sql_rules(q, 0, &vs, &nvs, err);
	for (size_t i = 0; rc == SR_OK && i < nvs; i++)
		rc = sr_check_violation(c, vs[i].dataset, vs[i].column,
					vs[i].usage ? sr_usage_name(vs[i].usage) : NULL,
					vs[i].rule, err, "%s", vs[i].message);
	refused = nvs > 0;
	if (rc || refused)
		goto out;
	/* Every query the SQL rules accept must also be executable: build
	 * what the runner will build, and refuse it here if that fails. */
	{
		const struct sr_sql_query *v = sr_sql_query(q);
		int thresholded = 0, across = 0;

		for (size_t i = 0; i < n; i++) {
			thresholded |= cv.inputs[i].policy->min_group_size > 1;
			across |= strcmp(cv.inputs[i].owner, cv.inputs[0].owner) != 0;
		}
		if (v->from_kind == SR_SQL_FROM_JOIN)
			rc = join_rules(c, q, &cv, err);
		for (size_t i = 0; rc == SR_OK && thresholded && across && v->from_kind != SR_SQL_FROM_JOIN && i < n; i++)
			if (sr_sql_id_column(q, i) && !cv.inputs[i].policy->ids_partitioned)
				rc = sr_check_violation(c, cv.inputs[i].dataset, sr_sql_id_column(q, i),
					NULL, "query-threshold-ids", err,
					"the threshold counts distinct identities (%s) across parties, which secure aggregation can only sum: %s must declare \"ids_partitioned\": true (each identity at one party only)",
					sr_sql_id_column(q, i), cv.inputs[i].dataset);
		/* The SQL rules refuse MIN/MAX under a dp policy; DP asked for
		 * by the spec alone is refused here: an extreme is released
		 * as it is. */
		for (size_t g = 0; rc == SR_OK && g < v->naggs; g++)
			if ((v->aggs[g].kind == SR_SQL_MIN || v->aggs[g].kind == SR_SQL_MAX) &&
			    json_object_get(spec, "epsilon"))
				rc = sr_check_violation(c, NULL, NULL, NULL, "query-min-max-dp", err,
					"%s cannot be released under differential privacy, which the spec asks for (epsilon): an extreme is one row's value",
					v->aggs[g].text);
	}
	if (rc == SR_OK) {
		struct sr_err lerr;
		int lrc;

		sr_err_clear(&lerr);
		lrc = q_layout_build(&cv.ctx, &L, &lerr);
		if (lrc == SR_ENOMEM)
			rc = sr_fail(err, lrc, "%s", lerr.msg);
		else if (lrc)
			rc = sr_check_violation(c, NULL, NULL, NULL, "query-not-executable", err,
						"%s", lerr.msg);
	}
out:
	q_layout_release(&L);
	sr_free(us);
	sr_free(vs);
	sr_sql_free(q);
	q_datasets_free(ds, cols, n);
	view_release(&cv);
	return rc;
}

/* ---- run -------------------------------------------------------------------- */

static size_t party_index(const struct sr_kind_ctx *c, const char *org)
{
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], org) == 0)
			return i;
	return SIZE_MAX;
}

/* This party's vector: its local inputs aggregated, its noise share
 * added if it owns one (total: every input, the whole noise), and its
 * MIN/MAX extremes. */
static int local_vector(const struct sr_kind_ctx *c, const struct q_layout *L, int central,
			uint64_t **out, struct q_ext **ext_out, struct sr_err *err)
{
	uint64_t *cells = sr_calloc(L->ncells, sizeof(*cells));
	struct q_ext *ext = q_ext_new(L);
	struct q_hash seen;
	int rc = SR_OK, owns = 0;

	*out = NULL;
	*ext_out = NULL;
	if (!cells || !ext) {
		sr_free(cells);
		q_ext_free(L, ext);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	q_hash_init(&seen);
	sr_kind_progress(c, "local aggregation", 0, c->ninputs);
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++) {
		if (!central && !c->inputs[i].local)
			continue;
		owns = 1;
		rc = q_aggregate_input(L, c, i, cells, &seen, ext, err);
		if (rc)
			sr_err_prefix(err, "%s", c->inputs[i].dataset);
	}
	q_hash_release(&seen);
	if (rc == SR_OK && owns)
		rc = q_add_noise(L, cells, central, err);
	if (rc) {
		sr_free(cells);
		q_ext_free(L, ext);
		return rc;
	}
	*out = cells;
	*ext_out = ext;
	return SR_OK;
}

/* After secure aggregation: every other party sends its extremes to the
 * aggregator, which merges them into its own (MIN/MAX only). */
static int exchange_extremes(const struct sr_kind_ctx *c, const struct q_layout *L,
			     size_t agg, struct q_ext *ext, struct sr_err *err)
{
	struct sr_buf msg;
	struct sr_pipe p;
	int rc = SR_OK;

	if (!L->nexts || c->nparties < 2)
		return SR_OK;
	sr_buf_init(&msg, SR_QUERY_EXTREMES_BYTES_MAX);
	if (c->self_index != agg) {
		json_t *j = q_ext_json(L, ext);
		rc = j ? sr_json_dump(j, 0, &msg) : SR_ENOMEM;
		json_decref(j);
		if (rc)
			rc = sr_fail(err, rc, rc == SR_ENOMEM ? "out of memory" :
				     "query: the extremes pass %u bytes", (unsigned)SR_QUERY_EXTREMES_BYTES_MAX);
		if (rc == SR_OK)
			rc = sr_kind_pipe(c, c->parties[agg], QUERY_EXTREMES_CHANNEL, &p, err);
		if (rc == SR_OK)
			rc = p.send(p.ctx, (const uint8_t *)msg.data, msg.len, err);
	}
	for (size_t j = 0; rc == SR_OK && c->self_index == agg && j < c->nparties; j++) {
		json_t *doc = NULL;

		if (j == agg)
			continue;
		sr_buf_reset(&msg);
		rc = sr_kind_pipe(c, c->parties[j], QUERY_EXTREMES_CHANNEL, &p, err);
		if (rc == SR_OK)
			rc = p.recv(p.ctx, &msg, SR_QUERY_EXTREMES_BYTES_MAX, err);
		if (rc == SR_OK)
			rc = sr_json_parse(msg.data, msg.len, "query extremes", &doc, err);
		if (rc == SR_OK)
			rc = q_ext_merge_json(L, ext, doc, err);
		json_decref(doc);
		if (rc)
			sr_err_prefix(err, "the MIN/MAX extremes of %s", c->parties[j]);
	}
	sr_buf_release(&msg);
	return rc;
}

static int query_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	struct sr_secagg_params p;
	struct sr_secagg_stats stats;
	struct sr_pipe *pipes = NULL;
	uint64_t *cells = NULL;
	struct q_ext *ext = NULL;
	struct q_layout L;
	size_t agg;
	int rc;

	*result = NULL;
	memset(&stats, 0, sizeof(stats));
	if ((rc = q_layout_build(c, &L, err)) != SR_OK)
		return rc;
	if (L.join) {
		rc = q_join_run(c, &L, result, err);
		q_layout_release(&L);
		return rc;
	}
	/* Charge each local dp input's budget before anything computed from
	 * it leaves this party; the runner refunds a job that fails before
	 * its output is released. */
	for (size_t i = 0; rc == SR_OK && L.dp && i < c->ninputs; i++)
		if (c->inputs[i].local && c->inputs[i].policy->dp.enabled)
			rc = sr_kind_charge(c, i, L.epsilon, err);
	if (rc || (rc = local_vector(c, &L, 0, &cells, &ext, err)) != SR_OK)
		goto out;
	agg = party_index(c, c->receivers[0]);
	if (agg == SIZE_MAX) {
		rc = sr_fail(err, SR_EINVAL, "query: the receiver is not a party");
		goto out;
	}
	if (c->nparties > 1) {
		pipes = sr_calloc(c->nparties, sizeof(*pipes));
		if (!pipes) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t j = 0; rc == SR_OK && j < c->nparties; j++)
			if (j != c->self_index)
				rc = sr_kind_pipe(c, c->parties[j], QUERY_CHANNEL, &pipes[j], err);
		if (rc)
			goto out;
		sr_secagg_params_init(&p);
		p.run_id = c->session_id;
		p.run_id_len = c->session_id_len;
		p.parties = (uint32_t)c->nparties;
		p.self = (uint32_t)c->self_index;
		p.aggregator = (uint32_t)agg;
		p.length = L.ncells;
		sr_kind_progress(c, "secure aggregation", 0, L.ncells);
		rc = sr_secagg_run(&p, pipes, cells, c->self_index == agg ? cells : NULL,
				   &stats, err);
		if (rc) {
			sr_err_prefix(err, "secure aggregation");
			goto out;
		}
		if ((rc = exchange_extremes(c, &L, agg, ext, err)) != SR_OK)
			goto out;
	}
	if (c->self_index == agg && !(*result = q_totals_json(&L, cells, ext)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (*result && json_object_set_new(json_object_get(*result, "meta"), "query_secagg", json_pack("{s:I,s:I}",
			"bytes_sent", (json_int_t)stats.bytes_sent,
			"bytes_received", (json_int_t)stats.bytes_received)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	if (cells)
		sodium_memzero(cells, L.ncells * sizeof(*cells));
	sr_free(cells);
	sr_free(pipes);
	q_ext_free(&L, ext);
	q_layout_release(&L);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}

static int query_run_central(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	uint64_t *cells = NULL;
	struct q_ext *ext = NULL;
	struct q_layout L;
	int rc;

	*result = NULL;
	if ((rc = q_layout_build(c, &L, err)) != SR_OK)
		return rc;
	if (L.join) {
		rc = q_join_run_central(c, &L, result, err);
		q_layout_release(&L);
		return rc;
	}
	rc = local_vector(c, &L, 1, &cells, &ext, err);
	if (rc == SR_OK && !(*result = q_totals_json(&L, cells, ext)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	sr_free(cells);
	q_ext_free(&L, ext);
	q_layout_release(&L);
	return rc;
}

static int query_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	struct q_layout L;
	int rc;

	if ((rc = q_layout_build(c, &L, err)) != SR_OK)
		return rc;
	rc = q_release(&L, result, err);
	q_layout_release(&L);
	return rc;
}

static const char *const query_spec_keys[] = { "sql", "epsilon", "delta", NULL };
static const char *const query_input_keys[] = { NULL };

const struct sr_job_kind sr_kind_query = {
	.name = "query",
	.policy_bit = SR_JOB_QUERY,
	.flags = SR_KIND_ROW_FILTER | SR_KIND_DP_CHARGE,
	.summary = "federated SQL aggregate over a UNION ALL of same-schema datasets (secure aggregation, thresholds, DP) or a JOIN of two parties' datasets (blinded keys, Paillier sums)",
	.spec_keys = query_spec_keys,
	.input_keys = query_input_keys,
	.check = query_check,
	.run = query_run,
	.run_central = query_run_central,
	.release = query_release,
};
