/*
 * train_spec.c - the `train` spec (train.h): one parser for the checker
 * and the runner, so both read the same parameters.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "kinds/train/train.h"
#include "ml/secureboost.h"
#include "ml/vlr.h"
#include "base/banned.h"

#define ROUNDS_DEFAULT 20
#define ROUNDS_MAX 10000
#define LEARNING_RATE_DEFAULT 0.5
#define TEST_RATIO_DEFAULT 0.2
#define FRAC_BITS_DEFAULT 32
#define GBDT_TREES_MAX 10000
#define SR_TRAIN_PASSIVE_MAX SR_ML_SB_PASSIVE_MAX
#define GBDT_DEPTH_MAX 16
#define GBDT_REG_MAX 1e6        /* lambda, gamma, min_child_weight */
#define VLR_EPOCHS_DEFAULT 10
#define VLR_EPOCHS_MAX 10000
#define VLR_BATCH_DEFAULT 1024
#define VLR_LEARNING_RATE_DEFAULT 0.1

void train_spec_release(struct train_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->vin && i < s->nvin; i++)
		sr_free(s->vin[i].features);
	sr_free(s->vin);
	sr_free(s->order);
	sr_free(s->features);
	sr_free(s->lo);
	sr_free(s->hi);
	memset(s, 0, sizeof(*s));
}

/* spec.key as a number in [lo, hi] (or (lo, hi] when open_lo), default dflt. */
static int number(const json_t *spec, const char *key, double lo, double hi, int open_lo,
		  double dflt, double *out, struct sr_err *err)
{
	const json_t *v = json_object_get(spec, key);
	char path[32];

	*out = dflt;
	if (!v)
		return SR_OK;
	snprintf(path, sizeof(path), "%s", key);
	if (sr_policy_number(v, "spec", path, out, err) != SR_OK ||
	    !(open_lo ? *out > lo : *out >= lo) || !(*out <= hi))
		return sr_failx(err, SR_EINVAL,
				"spec.%s: expected a number in %s%g, %g] (an integer or a decimal string such as \"0.5\")",
				key, open_lo ? "(" : "[", lo, hi);
	return SR_OK;
}

static int integer(const json_t *spec, const char *key, long lo, long hi, long dflt,
		   long *out, struct sr_err *err)
{
	const json_t *v = json_object_get(spec, key);

	*out = dflt;
	if (!v)
		return SR_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return sr_fail(err, SR_EINVAL, "spec.%s: expected an integer from %ld to %ld",
			       key, lo, hi);
	*out = (long)json_integer_value(v);
	return SR_OK;
}

static int string_or(const json_t *spec, const char *key, const char *dflt,
		     const char **out, struct sr_err *err)
{
	const json_t *v = json_object_get(spec, key);

	*out = dflt;
	if (!v)
		return SR_OK;
	if (!json_is_string(v))
		return sr_fail(err, SR_EINVAL, "spec.%s: expected a string", key);
	*out = json_string_value(v);
	return SR_OK;
}

int train_spec_gbdt(const json_t *spec, struct train_spec *out, struct sr_err *err)
{
	struct sr_ml_gbdt_params *p = &out->gbdt;
	const char *loss;
	long trees, depth, seed, bins, early;
	int first = 0, rc;

	sr_ml_gbdt_params_init(p);
	if ((rc = integer(spec, "trees", 1, GBDT_TREES_MAX, (long)p->trees, &trees, err)) ||
	    (rc = integer(spec, "depth", 1, GBDT_DEPTH_MAX, (long)p->depth, &depth, err)) ||
	    (rc = number(spec, "learning_rate", 0, 1, 1, p->learning_rate, &p->learning_rate,
			 err)) ||
	    (rc = number(spec, "lambda", 0, GBDT_REG_MAX, 0, p->tree.lambda, &p->tree.lambda,
			 err)) ||
	    (rc = number(spec, "gamma", 0, GBDT_REG_MAX, 0, p->tree.gamma, &p->tree.gamma,
			 err)) ||
	    (rc = number(spec, "min_child_weight", 0, GBDT_REG_MAX, 0, p->tree.min_child_weight,
			 &p->tree.min_child_weight, err)) ||
	    (rc = number(spec, "subsample", 0, 1, 1, p->subsample, &p->subsample, err)) ||
	    (rc = integer(spec, "seed", 0, (long)INT32_MAX, 0, &seed, err)) ||
	    (rc = integer(spec, "bins", 2, SR_ML_BINS_MAX, (long)p->max_bins, &bins, err)) ||
	    (rc = integer(spec, "early_stopping_rounds", 0, GBDT_TREES_MAX, 0, &early, err)) ||
	    (rc = string_or(spec, "loss", "logistic", &loss, err)) ||
	    (rc = sr_json_get_bool(spec, "spec", "first_tree_active_only", 0, &first, err)))
		return rc;
	if (strcmp(loss, "logistic") == 0)
		p->loss = SR_ML_LOGISTIC;
	else if (strcmp(loss, "squared") == 0)
		p->loss = SR_ML_SQUARED;
	else
		return sr_fail(err, SR_EINVAL, "spec.loss: '%s', expected \"logistic\" or \"squared\"",
			       loss);
	p->trees = (unsigned)trees;
	p->depth = (unsigned)depth;
	p->seed = (uint64_t)seed;
	p->max_bins = (unsigned)bins;
	p->early_stopping_rounds = (unsigned)early;
	p->grad_frac_bits = TRAIN_GBDT_FRAC_BITS;
	out->first_tree_active_only = first != 0;
	return sr_ml_gbdt_params_check(p, err);
}

int train_spec_vlr(const json_t *spec, struct train_spec *out, struct sr_err *err)
{
	static const char *const others[] = { "rounds", "frac_bits", "trees", "depth", "lambda",
					      "gamma", "min_child_weight", "subsample", "seed",
					      "bins", "loss", "first_tree_active_only", NULL };
	long epochs, batch, early;
	int rc;

	for (size_t k = 0; others[k]; k++)
		if (json_object_get(spec, others[k]))
			return sr_fail(err, SR_EINVAL,
				       "spec.%s: not a key of vertical lr (its keys: epochs, batch, learning_rate, l2, early_stopping_rounds, test_ratio)",
				       others[k]);
	sr_ml_lr_params_init(&out->lr);
	if ((rc = integer(spec, "epochs", 1, VLR_EPOCHS_MAX, VLR_EPOCHS_DEFAULT, &epochs, err)) ||
	    (rc = integer(spec, "batch", 0, SR_ML_VLR_BATCH_MAX, VLR_BATCH_DEFAULT, &batch, err)) ||
	    (rc = number(spec, "learning_rate", 0, 100, 1, VLR_LEARNING_RATE_DEFAULT,
			 &out->lr.learning_rate, err)) ||
	    (rc = number(spec, "l2", 0, 1000, 0, 0, &out->lr.l2, err)) ||
	    (rc = integer(spec, "early_stopping_rounds", 0, VLR_EPOCHS_MAX, 0, &early, err)))
		return rc;
	out->lr.epochs = (unsigned)epochs;
	out->lr.batch = (size_t)batch;
	out->lr.early_stopping_rounds = (unsigned)early;
	out->lr.frac_bits = 0;
	out->gbdt.loss = SR_ML_LOGISTIC;        /* labels 0/1, a stratified split */
	return SR_OK;
}

/* A column-name array at path (1 to SR_DATASET_COLUMNS_MAX distinct names). */
static int names(const json_t *a, const char *path, const char ***out, size_t *n,
		 struct sr_err *err)
{
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_EINVAL, "%s: expected an array of 1 to %d column names", path,
			       SR_DATASET_COLUMNS_MAX);
	*n = json_array_size(a);
	if (!(*out = sr_calloc(*n, sizeof(**out))))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t f = 0; f < *n; f++) {
		const json_t *v = json_array_get(a, f);
		if (!json_is_string(v))
			return sr_fail(err, SR_EINVAL, "%s[%zu]: expected a column name", path, f);
		(*out)[f] = json_string_value(v);
		for (size_t k = 0; k < f; k++)
			if (strcmp((*out)[k], (*out)[f]) == 0)
				return sr_fail(err, SR_EINVAL, "%s[%zu]: '%s' is listed twice", path, f,
					       (*out)[f]);
	}
	return SR_OK;
}

/* Vertical: per input its key, features and (one input) the label. */
static int parse_vertical(const json_t *spec, struct train_spec *out, struct sr_err *err)
{
	const json_t *inputs = json_object_get(spec, "inputs");
	size_t n = json_array_size(inputs), total = 0, k = 0;
	char path[64];
	int rc;

	if (json_object_get(spec, "features") || json_object_get(spec, "label"))
		return sr_fail(err, SR_EINVAL,
			       "spec.%s: in vertical mode each input names its own (inputs[i].features, inputs[i].key, and inputs[i].label at the label holder)",
			       json_object_get(spec, "features") ? "features" : "label");
	if (n < 2 || n > 1 + SR_TRAIN_PASSIVE_MAX)
		return sr_fail(err, SR_EINVAL,
			       "spec.inputs: vertical training takes 2 to %d inputs, one per party",
			       1 + SR_TRAIN_PASSIVE_MAX);
	out->nvin = n;
	out->active = SIZE_MAX;
	out->vin = sr_calloc(n, sizeof(*out->vin));
	out->order = sr_calloc(n, sizeof(*out->order));
	if (!out->vin || !out->order)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *in = json_array_get(inputs, i);
		const char *label = NULL;
		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		if ((rc = sr_json_get_string(in, path, "key", 1, &out->vin[i].key, err)) ||
		    (rc = sr_json_get_string(in, path, "label", 0, &label, err)))
			return rc;
		snprintf(path, sizeof(path), "spec.inputs[%zu].features", i);
		if ((rc = names(json_object_get(in, "features"), path, &out->vin[i].features,
				&out->vin[i].nfeatures, err)))
			return rc;
		if (label && out->active != SIZE_MAX)
			return sr_fail(err, SR_EINVAL,
				       "spec.inputs[%zu].label: inputs[%zu] has the label already; exactly one input (the active party) holds it",
				       i, out->active);
		for (size_t f = 0; f < out->vin[i].nfeatures; f++)
			if (strcmp(out->vin[i].features[f], out->vin[i].key) == 0 ||
			    (label && strcmp(out->vin[i].features[f], label) == 0))
				return sr_fail(err, SR_EINVAL, "%s[%zu]: '%s' is the %s", path, f,
					       out->vin[i].features[f],
					       label && strcmp(out->vin[i].features[f], label) == 0 ? "label" : "key");
		if (label) {
			if (strcmp(label, out->vin[i].key) == 0)
				return sr_fail(err, SR_EINVAL, "spec.inputs[%zu].label: '%s' is the key",
					       i, label);
			out->active = i;
			out->label = label;
		}
		total += out->vin[i].nfeatures;
	}
	if (out->active == SIZE_MAX)
		return sr_fail(err, SR_EINVAL,
			       "spec.inputs: no input names a label; exactly one (the active party) must (inputs[i].label)");
	if (total > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_EINVAL, "spec.inputs: %zu features in all, at most %d", total,
			       SR_DATASET_COLUMNS_MAX);
	out->order[k++] = out->active;
	for (size_t i = 0; i < n; i++)
		if (i != out->active)
			out->order[k++] = i;
	out->nfeatures = total;
	out->features = sr_calloc(total, sizeof(*out->features));
	out->lo = sr_calloc(total, sizeof(*out->lo));
	out->hi = sr_calloc(total, sizeof(*out->hi));
	if (!out->features || !out->lo || !out->hi)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	total = 0;
	for (size_t j = 0; j < n; j++) {
		struct train_vinput *v = &out->vin[out->order[j]];
		v->first = total;
		for (size_t f = 0; f < v->nfeatures; f++) {
			out->features[total] = v->features[f];
			out->lo[total] = out->hi[total] = NAN;   /* not scaled: binned */
			total++;
		}
	}
	return SR_OK;
}

int train_spec_parse(const json_t *spec, const struct sr_policy *const *policies,
		     size_t npolicies, struct train_spec *out, struct sr_err *err)
{
	const json_t *features = json_object_get(spec, "features");
	const char *mode, *model;
	long rounds, frac_bits;
	double rate, l2;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = string_or(spec, "mode", "horizontal", &mode, err)) ||
	    (rc = string_or(spec, "model", "lr", &model, err)))
		return rc;
	if (strcmp(mode, "vertical") == 0)
		out->mode = TRAIN_VERTICAL;
	else if (strcmp(mode, "horizontal") == 0)
		out->mode = TRAIN_HORIZONTAL;
	else
		return sr_fail(err, SR_EINVAL,
			       "spec.mode: '%s', expected \"horizontal\" or \"vertical\"", mode);
	if (strcmp(model, "gbdt") == 0)
		out->model = TRAIN_GBDT;
	else if (strcmp(model, "lr") == 0)
		out->model = TRAIN_LR;
	else
		return sr_fail(err, SR_EINVAL, "spec.model: '%s', expected \"lr\" or \"gbdt\"", model);
	if (!(out->mode == TRAIN_VERTICAL && out->model == TRAIN_LR))
		for (size_t k = 0; k < 2; k++)
			if (json_object_get(spec, k ? "batch" : "epochs"))
				return sr_fail(err, SR_EINVAL,
					       "spec.%s: a key of vertical lr only (horizontal lr counts \"rounds\", gbdt \"trees\")",
					       k ? "batch" : "epochs");
	if (out->model == TRAIN_GBDT && (rc = train_spec_gbdt(spec, out, err)))
		return rc;
	if (out->mode == TRAIN_VERTICAL && out->model == TRAIN_LR && (rc = train_spec_vlr(spec, out, err)))
		return rc;
	if (out->mode == TRAIN_VERTICAL) {
		if (out->first_tree_active_only) {
			rc = sr_fail(err, SR_EINVAL,
				     "spec.first_tree_active_only: not available yet (the central oracle, sr_ml_gbdt_train, has no such option)");
			goto out;
		}
		if ((rc = parse_vertical(spec, out, err)) ||
		    (rc = number(spec, "test_ratio", 0, 0.5, 1, TEST_RATIO_DEFAULT, &out->test_ratio,
				 err)))
			goto out;
		return SR_OK;
	}
	for (size_t i = 0; i < json_array_size(json_object_get(spec, "inputs")); i++) {
		const json_t *in = json_array_get(json_object_get(spec, "inputs"), i);
		if (json_object_get(in, "key") || json_object_get(in, "features") ||
		    json_object_get(in, "label"))
			return sr_fail(err, SR_EINVAL,
				       "spec.inputs[%zu]: key, features and label are input keys in vertical mode only",
				       i);
	}
	if (!json_is_array(features) || json_array_size(features) == 0 ||
	    json_array_size(features) > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "spec.features: expected an array of 1 to %d column names",
			       SR_DATASET_COLUMNS_MAX);
	out->nfeatures = json_array_size(features);
	out->features = sr_calloc(out->nfeatures, sizeof(*out->features));
	out->lo = sr_calloc(out->nfeatures, sizeof(*out->lo));
	out->hi = sr_calloc(out->nfeatures, sizeof(*out->hi));
	if (!out->features || !out->lo || !out->hi) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sr_json_get_string(spec, "spec", "label", 1, &out->label, err)))
		goto out;
	for (size_t f = 0; f < out->nfeatures; f++) {
		const json_t *v = json_array_get(features, f);
		if (!json_is_string(v)) {
			rc = sr_fail(err, SR_EINVAL, "spec.features[%zu]: expected a column name", f);
			goto out;
		}
		out->features[f] = json_string_value(v);
		for (size_t k = 0; k < f; k++)
			if (strcmp(out->features[k], out->features[f]) == 0) {
				rc = sr_fail(err, SR_EINVAL, "spec.features[%zu]: '%s' is listed twice",
					     f, out->features[f]);
				goto out;
			}
		if (strcmp(out->features[f], out->label) == 0) {
			rc = sr_fail(err, SR_EINVAL, "spec.features[%zu]: '%s' is the label",
				     f, out->label);
			goto out;
		}
		/* The widest bounds over the inputs: the same public scaling at
		 * every party. */
		out->lo[f] = INFINITY;
		out->hi[f] = -INFINITY;
		for (size_t i = 0; i < npolicies; i++) {
			const struct sr_policy_column *col =
				policies[i] ? sr_policy_column(policies[i], out->features[f]) : NULL;
			if (!col || !col->has_bounds) {
				out->lo[f] = out->hi[f] = NAN;
				break;
			}
			out->lo[f] = fmin(out->lo[f], col->lo);
			out->hi[f] = fmax(out->hi[f], col->hi);
		}
	}
	if ((rc = number(spec, "test_ratio", 0, 0.5, 1, TEST_RATIO_DEFAULT, &out->test_ratio, err)))
		goto out;
	if (out->model != TRAIN_LR)
		goto out;
	sr_ml_lr_params_init(&out->lr);
	if ((rc = integer(spec, "rounds", 1, ROUNDS_MAX, ROUNDS_DEFAULT, &rounds, err)) ||
	    (rc = integer(spec, "frac_bits", 16, 40, FRAC_BITS_DEFAULT, &frac_bits, err)) ||
	    (rc = number(spec, "learning_rate", 0, 100, 1, LEARNING_RATE_DEFAULT, &rate, err)) ||
	    (rc = number(spec, "l2", 0, 1000, 0, 0, &l2, err)))
		goto out;
	out->lr.epochs = (unsigned)rounds;
	out->lr.frac_bits = (unsigned)frac_bits;
	out->lr.learning_rate = rate;
	out->lr.l2 = l2;
	out->lr.batch = 0;
out:
	if (rc)
		train_spec_release(out);
	return rc;
}
