/*
 * train_kind.c - the `train` job kind (DESIGN §17, issue 12 §3),
 * horizontal mode: parties with the same schema train a logistic
 * regression by federated averaging with secure aggregation of
 * fixed-point updates (src/ml/horizontal.c), or gradient-boosted trees
 * ("model": "gbdt", train_hgbdt.c).  Protocol and leakage statement:
 * docs/protocols/train.md.
 *
 * Spec:
 *   { "kind": "train", "mode": "horizontal", "model": "lr",
 *     "features": ["age", "bmi", ...], "label": "readmitted",
 *     "rounds": 20, "learning_rate": "0.5", "l2": "0.001",
 *     "test_ratio": "0.2", "frac_bits": 32,
 *     "inputs": [ { "dataset": "a.visits" }, { "dataset": "b.visits" } ],
 *     "receivers": [ "org_…" ] }
 *
 * check        the spec (train_spec.c); a `feature` usage per feature and
 *              a `label` usage per input; the kind's rules (below).
 * run          load and split this party's rows, then sr_ml_hlr_run; the
 *              first receiver aggregates.
 * run_central  sr_ml_hlr_central on the pooled rows of every input, split
 *              per input the same way: the same weights bit for bit.
 * release      fewer training or test rows than min_group_size: refused.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "kinds/train/train.h"
#include "base/banned.h"

#define TRAIN_CHANNEL 1

static int numeric(const struct sr_policy_column *col)
{
	return col && (col->type == SR_TYPE_INT64 || col->type == SR_TYPE_FLOAT64);
}

/* The kind's rules for input d with these features and label (NULL: none
 * here); bounded: features need bounds (horizontal scaling); binary: the
 * label must be 0/1. */
static int rules_of_input(struct sr_check *c, const struct sr_check_dataset *d,
			  const char *const *features, size_t nfeatures, const char *label_name,
			  int bounded, int binary, struct sr_err *err)
{
	const struct sr_policy_column *label = label_name ? sr_policy_column(d->policy, label_name) :
							     NULL;
	int rc = SR_OK;

	for (size_t f = 0; rc == SR_OK && f < nfeatures; f++) {
		const struct sr_policy_column *col = sr_policy_column(d->policy, features[f]);
		if (!col)
			continue;   /* unknown-column, from the generic rules */
		if (!numeric(col))
			rc = sr_check_violation(c, d->name, features[f], "feature", "train-not-numeric",
						err, "%s.%s is not numeric", d->name, features[f]);
		else if (bounded && !col->has_bounds)
			rc = sr_check_violation(c, d->name, features[f], "feature",
						"train-feature-unbounded", err,
						"%s.%s has no bounds: horizontal training scales features by their public bounds",
						d->name, features[f]);
	}
	if (rc == SR_OK && label && !numeric(label))
		rc = sr_check_violation(c, d->name, label_name, "label", "train-not-numeric", err,
					"%s.%s is not numeric (the label must be %s)", d->name,
					label_name, binary ? "0 or 1" : "a number");
	if (rc == SR_OK && binary && label && label->domain) {
		const json_t *v;
		size_t k;
		json_array_foreach(label->domain, k, v) {
			double x = json_number_value(v);
			if (!json_is_number(v) || (x != 0 && x != 1)) {
				rc = sr_check_violation(c, d->name, label_name, "label",
							"train-label-not-binary", err,
							"%s.%s has values other than 0 and 1 in its domain",
							d->name, label_name);
				break;
			}
		}
	}
	if (rc == SR_OK && d->policy->dp.enabled)
		rc = sr_check_violation(c, d->name, NULL, NULL, "train-no-dp", err,
					"%s has a differential-privacy budget, which train jobs cannot charge yet",
					d->name);
	return rc;
}

/* Vertical: one input per party; the active party is a receiver (it
 * learns the model and scores the test rows). */
static int vertical_rules(struct sr_check *c, const struct train_spec *s, size_t i,
			  struct sr_err *err)
{
	const struct sr_check_dataset *d = sr_check_input(c, i);
	int rc = SR_OK, found = 0;

	if (!d)
		return SR_OK;
	for (size_t j = 0; rc == SR_OK && j < i; j++) {
		const struct sr_check_dataset *o = sr_check_input(c, j);
		if (o && strcmp(o->owner, d->owner) == 0)
			rc = sr_check_violation(c, d->name, NULL, NULL, "train-vertical-one-input-per-party",
						err,
						"%s and %s have the same owner: vertical training takes one input per party",
						o->name, d->name);
	}
	if (rc == SR_OK && i == s->active) {
		for (size_t k = 0; k < sr_check_nreceivers(c); k++)
			found |= strcmp(sr_check_receiver(c, k), d->owner) == 0;
		if (!found)
			rc = sr_check_violation(c, d->name, s->label, "label", "train-active-not-receiver",
						err,
						"%s (owner of %s, which holds the label) must be a receiver: the active party learns the model and the evaluation",
						d->owner, d->name);
	}
	return rc;
}

static int train_check(struct sr_check *c, struct sr_err *err)
{
	size_t n = sr_check_ninputs(c);
	const struct sr_policy **policies = sr_calloc(n ? n : 1, sizeof(*policies));
	struct train_spec s;
	int rc;

	if (!policies)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		policies[i] = sr_check_input(c, i) ? sr_check_input(c, i)->policy : NULL;
	rc = train_spec_parse(sr_check_spec(c), policies, n, &s, err);
	sr_free(policies);
	if (rc)
		return rc;
	if (s.mode == TRAIN_HORIZONTAL && s.model == TRAIN_GBDT &&
	    (rc = train_hgbdt_check(&s, err))) {
		train_spec_release(&s);
		return rc;
	}
	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		const struct sr_check_dataset *d = sr_check_input(c, i);
		if (s.mode == TRAIN_VERTICAL) {
			const struct train_vinput *v = &s.vin[i];
			const char *label = i == s.active ? s.label : NULL;
			rc = sr_check_use(c, i, v->key, SR_USE_JOIN, err);
			for (size_t f = 0; rc == SR_OK && f < v->nfeatures; f++)
				rc = sr_check_use(c, i, v->features[f], SR_USE_FEATURE, err);
			if (rc == SR_OK && label)
				rc = sr_check_use(c, i, label, SR_USE_LABEL, err);
			if (rc == SR_OK && d)
				rc = rules_of_input(c, d, v->features, v->nfeatures, label, 0,
						    s.gbdt.loss == SR_ML_LOGISTIC, err);
			rc = rc ? rc : vertical_rules(c, &s, i, err);
		} else {
			for (size_t f = 0; rc == SR_OK && f < s.nfeatures; f++)
				rc = sr_check_use(c, i, s.features[f], SR_USE_FEATURE, err);
			if (rc == SR_OK)
				rc = sr_check_use(c, i, s.label, SR_USE_LABEL, err);
			if (rc == SR_OK && d)
				rc = rules_of_input(c, d, s.features, s.nfeatures, s.label, 1, 1, err);
		}
		/* Horizontal: every party learns the weights of every round
		 * (they compute the next gradient on them).  Vertical: the
		 * aligned-mode PSI tells each party which of its rows the others
		 * hold too.  So each owner must be a receiver every other input
		 * allows. */
		for (size_t j = 0; rc == SR_OK && d && j < n; j++) {
			const struct sr_check_dataset *o = sr_check_input(c, j);
			int allowed;
			if (!o || strcmp(o->owner, d->owner) == 0)
				continue;
			allowed = 0;
			for (size_t k = 0; k < d->policy->nreceivers; k++)
				allowed |= strcmp(d->policy->receivers[k], o->owner) == 0;
			if (!allowed)
				rc = sr_check_violation(c, d->name, NULL, NULL, "train-party-not-receiver",
							err,
							s.mode == TRAIN_VERTICAL ?
							"%s (owner of %s) learns which rows of %s are aligned (PSI), but %s does not allow it as a receiver" :
							"%s (owner of %s) learns the model of every round, but %s does not allow it as a receiver%s",
							o->owner, o->name, d->name,
							s.mode == TRAIN_VERTICAL ? d->name : "");
		}
	}
	train_spec_release(&s);
	return rc;
}

static int spec_of(const struct sr_kind_ctx *c, struct train_spec *s, struct sr_err *err)
{
	const struct sr_policy **policies = sr_calloc(c->ninputs ? c->ninputs : 1,
						      sizeof(*policies));
	int rc;

	if (!policies)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->ninputs; i++)
		policies[i] = c->inputs[i].policy;
	rc = train_spec_parse(c->spec, policies, c->ninputs, s, err);
	sr_free(policies);
	return rc;
}

/* Rows of every input this party may scan (all of them centrally). */
static int load_all(const struct sr_kind_ctx *c, const struct train_spec *s, int central,
		    struct train_table *train, struct train_table *test, struct sr_err *err)
{
	int rc = SR_OK;

	memset(train, 0, sizeof(*train));
	memset(test, 0, sizeof(*test));
	train->cols = test->cols = s->nfeatures;
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++)
		if (central || c->inputs[i].local)
			rc = train_load(c, i, s, train, test, err);
	if (rc == SR_OK)
		rc = train_table_finish(train, err);
	if (rc == SR_OK)
		rc = train_table_finish(test, err);
	return rc;
}

static size_t party_index(const struct sr_kind_ctx *c, const char *org)
{
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], org) == 0)
			return i;
	return SIZE_MAX;
}

int train_mesh(const struct sr_kind_ctx *c, struct sr_pipe **pipes, unsigned char **receiver,
	       size_t *aggregator, struct sr_err *err)
{
	size_t agg = party_index(c, c->receivers[0]);
	int rc = SR_OK;

	*pipes = sr_calloc(c->nparties, sizeof(**pipes));
	*receiver = sr_calloc(c->nparties, 1);
	*aggregator = agg;
	if (agg == SIZE_MAX || !*pipes || !*receiver)
		return sr_fail(err, agg == SIZE_MAX ? SR_EINVAL : SR_ENOMEM,
			       agg == SIZE_MAX ? "train: the receiver is not a party" : "out of memory");
	for (size_t r = 0; r < c->nreceivers; r++)
		if (party_index(c, c->receivers[r]) != SIZE_MAX)
			(*receiver)[party_index(c, c->receivers[r])] = 1;
	for (size_t j = 0; rc == SR_OK && j < c->nparties; j++)
		if (j != c->self_index)
			rc = sr_kind_pipe(c, c->parties[j], TRAIN_CHANNEL, &(*pipes)[j], err);
	return rc;
}

static int train_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	struct train_spec s;
	struct train_table train = { 0 }, test = { 0 };
	struct sr_ml_hlr_result out = { 0 };
	struct sr_ml_hlr_params p;
	struct sr_ml_hlr_stats stats = { 0 };
	struct sr_ml_data dtr, dte;
	struct sr_pipe *pipes = NULL;
	unsigned char *receiver = NULL;
	size_t agg;
	int rc;

	*result = NULL;
	if ((rc = spec_of(c, &s, err)))
		return rc;
	if (s.mode == TRAIN_VERTICAL) {
		rc = train_vertical_run(c, &s, result, err);
		goto out;
	}
	if (s.model == TRAIN_GBDT) {
		rc = train_hgbdt_run(c, &s, result, err);
		goto out;
	}
	if ((rc = load_all(c, &s, 0, &train, &test, err)))
		goto out;
	dtr = train_table_view(&train);
	dte = train_table_view(&test);
	if (c->nparties == 1) {
		rc = sr_ml_hlr_central(&s.lr, &dtr, &dte, &out, err);
		goto done;
	}
	if ((rc = train_mesh(c, &pipes, &receiver, &agg, err)))
		goto out;
	memset(&p, 0, sizeof(p));
	p.lr = s.lr;
	p.run_id = c->session_id;
	p.run_id_len = c->session_id_len;
	p.parties = (uint32_t)c->nparties;
	p.self = (uint32_t)c->self_index;
	p.aggregator = (uint32_t)agg;
	p.receiver = receiver;
	sr_kind_progress(c, "federated training", 0, s.lr.epochs);
	rc = sr_ml_hlr_run(&p, pipes, &dtr, &dte, &out, &stats, err);
done:
	if (rc == SR_OK && c->receiver) {
		if (!(*result = train_result(&s, &out)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		else if (json_object_set_new(json_object_get(*result, "meta"), "train_secagg",
					     json_pack("{s:I,s:I,s:f,s:f}",
						       "bytes_sent", (json_int_t)stats.bytes_sent,
						       "bytes_received", (json_int_t)stats.bytes_received,
						       "seconds", (double)stats.total_ns / 1e9,
						       "secagg_seconds", (double)stats.secagg_ns / 1e9)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
out:
	sr_ml_hlr_result_release(&out);
	train_table_release(&train);
	train_table_release(&test);
	train_spec_release(&s);
	sr_free(pipes);
	sr_free(receiver);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}

static int train_run_central(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	struct train_spec s;
	struct train_table train = { 0 }, test = { 0 };
	struct sr_ml_hlr_result out = { 0 };
	struct sr_ml_data dtr, dte;
	int rc;

	*result = NULL;
	if ((rc = spec_of(c, &s, err)))
		return rc;
	if (s.mode == TRAIN_VERTICAL || s.model == TRAIN_GBDT) {
		rc = s.mode == TRAIN_VERTICAL ? train_vertical_central(c, &s, result, err) :
			train_hgbdt_central(c, &s, result, err);
		train_spec_release(&s);
		return rc;
	}
	rc = load_all(c, &s, 1, &train, &test, err);
	dtr = train_table_view(&train);
	dte = train_table_view(&test);
	if (rc == SR_OK)
		rc = sr_ml_hlr_central(&s.lr, &dtr, &dte, &out, err);
	if (rc == SR_OK && !(*result = train_result(&s, &out)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	sr_ml_hlr_result_release(&out);
	train_table_release(&train);
	train_table_release(&test);
	train_spec_release(&s);
	return rc;
}

static int train_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	const json_t *meta = json_object_get(result, "meta");
	json_int_t train_rows = json_integer_value(json_object_get(meta, "train_rows"));
	json_int_t test_rows = json_integer_value(json_object_get(meta, "test_rows"));
	int64_t k = sr_kind_min_group_size(c);

	if (train_rows < k || test_rows < k)
		return sr_fail(err, SR_EPOLICY,
			       "train: %lld training and %lld test rows, fewer than the min_group_size %lld: not released",
			       (long long)train_rows, (long long)test_rows, (long long)k);
	return SR_OK;
}

static const char *const train_spec_keys[] = { "mode", "model", "features", "label", "rounds",
					       "learning_rate", "l2", "test_ratio", "frac_bits",
					       "trees", "depth", "lambda", "gamma",
					       "min_child_weight", "subsample", "seed", "bins",
					       "loss", "early_stopping_rounds",
					       "first_tree_active_only", "epochs", "batch", NULL };
static const char *const train_input_keys[] = { "key", "features", "label", NULL };

const struct sr_job_kind sr_kind_train = {
	.name = "train",
	.policy_bit = SR_JOB_TRAIN,
	.flags = SR_KIND_ROW_FILTER,
	.summary = "joint model training: horizontal logistic regression and GBDT with secure aggregation, vertical SecureBoost and Paillier logistic regression",
	.spec_keys = train_spec_keys,
	.input_keys = train_input_keys,
	.check = train_check,
	.run = train_run,
	.run_central = train_run_central,
	.release = train_release,
};
