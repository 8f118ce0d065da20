/*
 * train_hgbdt.c - the `train` kind's horizontal GBDT (train.h, issue 12
 * §3): parties with the same schema grow gradient-boosted trees over
 * public equal-width bins, with secure aggregation of their integer
 * gradient histograms (src/ml/hgbdt.c).  Protocol and leakage statement:
 * docs/protocols/train.md, "Horizontal GBDT".
 *
 * Rows: as for LR (train_load): features clamped to the widest policy
 * bounds and scaled to [0, 1], stratified test split; a NULL feature is
 * a missing value (the missing bin), not an error.  Bins: `bins`
 * equal-width bins over [0, 1] of the scaled values (over [lo, hi] of
 * the raw ones).  Early stopping (early_stopping_rounds) is on the test
 * split's pooled loss.
 *
 * run          load this party's rows, then sr_ml_hgbdt_run; the first
 *              receiver aggregates.
 * run_central  sr_ml_hgbdt_central on the rows of every input, pooled in
 *              party order (each party's own subsample stream): the same
 *              trees node for node, the same evaluation.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "kinds/train/train.h"
#include "ml/hgbdt.h"
#include "base/banned.h"

/* Rows of every input owned by party `party` appended to train and test. */
static int load_party(const struct sr_kind_ctx *c, const struct train_spec *s, size_t party,
		      struct train_table *train, struct train_table *test, struct sr_err *err)
{
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++)
		if (sr_kind_party_of_input(c, i) == party)
			rc = train_load(c, i, s, train, test, err);
	return rc;
}

/* The public bins of the scaled features: [0, 1], or [0, 0] for a
 * feature whose bounds are one value (scaled to 0). */
static int public_bins(const struct train_spec *s, struct sr_ml_bins *bins, struct sr_err *err)
{
	double *lo = sr_calloc(s->nfeatures, sizeof(double));
	double *hi = sr_calloc(s->nfeatures, sizeof(double));
	int rc;

	if (!lo || !hi) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	} else {
		for (size_t f = 0; f < s->nfeatures; f++)
			hi[f] = s->hi[f] > s->lo[f] ? 1 : 0;
		rc = sr_ml_bins_uniform(s->nfeatures, lo, hi, s->gbdt.max_bins, bins, err);
	}
	sr_free(lo);
	sr_free(hi);
	return rc;
}

int train_hgbdt_check(const struct train_spec *s, struct sr_err *err)
{
	if (s->first_tree_active_only)
		return sr_fail(err, SR_EINVAL,
			       "spec.first_tree_active_only: only in vertical mode (horizontal parties hold every feature)");
	return SR_OK;
}

static int set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

/* The result envelope: one row per node, the parameters and evaluation. */
static json_t *hgbdt_result(const struct train_spec *s, const struct sr_ml_hgbdt_result *r,
			    const struct sr_ml_hgbdt_stats *st)
{
	const struct sr_ml_gbdt *m = &r->model;
	const struct sr_ml_gbdt_params *p = &s->gbdt;
	json_t *rows = json_array(), *scaling = json_object(), *importance = json_object();
	json_t *meta = json_object();
	double *gain = sr_calloc(s->nfeatures, sizeof(double));
	int bad = !rows || !scaling || !importance || !meta || !gain;

	for (size_t t = 0; !bad && t < m->ntrees; t++)
		for (size_t i = 0; !bad && i < m->trees[t].nnodes; i++) {
			const struct sr_ml_node *n = &m->trees[t].nodes[i];
			bad = json_array_append_new(rows, n->left ?
				json_pack("[I,I,s,f,s,I,I,n,f,f]", (json_int_t)t, (json_int_t)i,
					  s->features[n->feature], n->threshold,
					  n->missing_left ? "left" : "right", (json_int_t)n->left,
					  (json_int_t)n->right, n->cover, n->gain) :
				json_pack("[I,I,n,n,n,n,n,f,f,n]", (json_int_t)t, (json_int_t)i,
					  n->value, n->cover)) != 0;
		}
	if (!bad)
		sr_ml_gbdt_importance(m, gain);
	for (size_t f = 0; !bad && f < s->nfeatures; f++)
		bad = set(scaling, s->features[f], json_pack("[f,f]", s->lo[f], s->hi[f])) ||
		      set(importance, s->features[f], json_real(gain[f]));
	sr_free(gain);
	if (!bad)
		bad = set(meta, "model", json_string("gbdt")) ||
		      set(meta, "mode", json_string("horizontal")) ||
		      set(meta, "loss", json_string(p->loss == SR_ML_LOGISTIC ? "logistic" : "squared")) ||
		      set(meta, "trees", json_integer((json_int_t)m->ntrees)) ||
		      set(meta, "best_trees", json_integer((json_int_t)m->best_trees)) ||
		      set(meta, "depth", json_integer(p->depth)) ||
		      set(meta, "learning_rate", json_real(p->learning_rate)) ||
		      set(meta, "lambda", json_real(p->tree.lambda)) ||
		      set(meta, "gamma", json_real(p->tree.gamma)) ||
		      set(meta, "min_child_weight", json_real(p->tree.min_child_weight)) ||
		      set(meta, "subsample", json_real(p->subsample)) ||
		      set(meta, "seed", json_integer((json_int_t)p->seed)) ||
		      set(meta, "bins", json_integer(p->max_bins)) ||
		      set(meta, "early_stopping_rounds", json_integer(p->early_stopping_rounds)) ||
		      set(meta, "grad_frac_bits", json_integer(p->grad_frac_bits)) ||
		      set(meta, "base_margin", json_real(m->base_margin)) ||
		      set(meta, "train_rows", json_integer((json_int_t)r->train_rows)) ||
		      set(meta, "test_rows", json_integer((json_int_t)r->test_rows)) ||
		      set(meta, "scaling", json_incref(scaling)) ||
		      set(meta, "importance", json_incref(importance)) ||
		      set(meta, "evaluation", p->loss == SR_ML_LOGISTIC ? train_eval_json(&r->eval) :
			  json_pack("{s:f,s:f,s:I}", "rmse", r->reg.rmse, "mae", r->reg.mae,
				    "rows", (json_int_t)r->reg.rows));
	if (!bad && st)
		bad = set(meta, "train_secagg",
			  json_pack("{s:I,s:I,s:I,s:f,s:f}",
				    "aggregations", (json_int_t)st->aggregations,
				    "bytes_sent", (json_int_t)st->bytes_sent,
				    "bytes_received", (json_int_t)st->bytes_received,
				    "seconds", (double)st->total_ns / 1e9,
				    "secagg_seconds", (double)st->secagg_ns / 1e9));
	json_decref(scaling);
	json_decref(importance);
	if (bad) {
		json_decref(rows);
		json_decref(meta);
		return NULL;
	}
	return sr_kind_envelope(json_pack("[s,s,s,s,s,s,s,s,s,s]", "tree", "node", "feature",
					  "threshold", "missing", "left", "right", "value",
					  "cover", "gain"),
				rows, meta);
}

static int finish_tables(struct train_table *train, struct train_table *test,
			 struct sr_err *err)
{
	int rc = train_table_finish(train, err);

	return rc ? rc : train_table_finish(test, err);
}

int train_hgbdt_central(const struct sr_kind_ctx *c, const struct train_spec *s,
			json_t **result, struct sr_err *err)
{
	struct train_table train = { 0 }, test = { 0 };
	struct sr_ml_hgbdt_result out = { 0 };
	struct sr_ml_bins bins = { 0 };
	struct sr_ml_data dtr, dte;
	size_t *part_rows = sr_calloc(c->nparties + 1, sizeof(size_t));
	int rc;

	*result = NULL;
	train.cols = test.cols = s->nfeatures;
	if (!part_rows) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = train_hgbdt_check(s, err)) || (rc = public_bins(s, &bins, err)))
		goto out;
	for (size_t j = 0; rc == SR_OK && j < c->nparties; j++) {
		size_t before = train.rows;
		rc = load_party(c, s, j, &train, &test, err);
		part_rows[j] = train.rows - before;
	}
	if (rc || (rc = finish_tables(&train, &test, err)))
		goto out;
	dtr = train_table_view(&train);
	dte = train_table_view(&test);
	if ((rc = sr_ml_hgbdt_central(&s->gbdt, &bins, part_rows, c->nparties, &dtr, &dte, &dte,
				      &out, err)))
		goto out;
	if (!(*result = hgbdt_result(s, &out, NULL)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	sr_ml_hgbdt_result_release(&out);
	sr_ml_bins_release(&bins);
	train_table_release(&train);
	train_table_release(&test);
	sr_free(part_rows);
	return rc;
}

int train_hgbdt_run(const struct sr_kind_ctx *c, const struct train_spec *s,
		    json_t **result, struct sr_err *err)
{
	struct train_table train = { 0 }, test = { 0 };
	struct sr_ml_hgbdt_result out = { 0 };
	struct sr_ml_hgbdt_stats stats = { 0 };
	struct sr_ml_hgbdt_params p;
	struct sr_ml_bins bins = { 0 };
	struct sr_ml_data dtr, dte;
	struct sr_pipe *pipes = NULL;
	unsigned char *receiver = NULL;
	size_t agg;
	int rc;

	*result = NULL;
	if (c->nparties == 1)
		return train_hgbdt_central(c, s, result, err);
	train.cols = test.cols = s->nfeatures;
	if ((rc = train_hgbdt_check(s, err)) || (rc = public_bins(s, &bins, err)) ||
	    (rc = load_party(c, s, c->self_index, &train, &test, err)) ||
	    (rc = finish_tables(&train, &test, err)))
		goto out;
	dtr = train_table_view(&train);
	dte = train_table_view(&test);
	if ((rc = train_mesh(c, &pipes, &receiver, &agg, err)))
		goto out;
	memset(&p, 0, sizeof(p));
	p.gbdt = s->gbdt;
	p.bins = &bins;
	p.run_id = c->session_id;
	p.run_id_len = c->session_id_len;
	p.parties = (uint32_t)c->nparties;
	p.self = (uint32_t)c->self_index;
	p.aggregator = (uint32_t)agg;
	p.receiver = receiver;
	sr_kind_progress(c, "federated gbdt", 0, s->gbdt.trees);
	if ((rc = sr_ml_hgbdt_run(&p, pipes, &dtr, &dte, &dte, &out, &stats, err)))
		goto out;
	if (c->receiver && !(*result = hgbdt_result(s, &out, &stats)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	sr_ml_hgbdt_result_release(&out);
	sr_ml_bins_release(&bins);
	train_table_release(&train);
	train_table_release(&test);
	sr_free(pipes);
	sr_free(receiver);
	return rc;
}
