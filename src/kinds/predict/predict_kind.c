/*
 * predict_kind.c - the `predict` kind (docs/protocols/predict.md): score
 * the parties' current rows with a vertical model an earlier `train` job
 * of this project left in parts at its parties.
 *
 *   { "kind": "predict", "model": "<train job id, 64 hex>",
 *     "inputs": [ {"dataset": "bank.applicants", "key": "id",
 *                  "features": ["income", "debt"]},
 *                 {"dataset": "shop.members", "key": "cid",
 *                  "features": ["spend", "visits"]} ],
 *     "receivers": ["org_…bank"] }
 *
 * inputs[0] is the active party's (the owner of the training job's
 * label); every other input is one passive party's.  Each input's
 * features are exactly, in order, those its owner's part was trained on.
 *
 *   check        the keys; a `join` usage of each key, a `feature` usage
 *                of each feature; one input per owner; numeric features;
 *                inputs[0]'s owner a receiver; each owner a receiver every
 *                other input allows (PSI tells it which rows align).
 *   run          every party reads the training job through ctx->load_model
 *                and checks the binding (a finished vertical train job of
 *                this project, same owners, same features, same active
 *                party); the active party A aligns rows by two-party PSI
 *                with each passive party (vertical.h, as train does), in
 *                A's scan order; the parties evaluate their splits
 *                (sr_ml_sb_predict_*); A sends the scores to the other
 *                receivers.
 *   run_central  the same alignment in plaintext, every party's part put
 *                together (sr_ml_sb_to_gbdt), sr_ml_gbdt_predict: the
 *                federated scores equal these bit for bit.
 *   release      fewer aligned rows than min_group_size: refused.
 *
 * A model type is a struct pmodel (the part names it keeps and its three
 * functions): SecureBoost, and vertical LR (sr_ml_vlr_predict_*: masked
 * fixed-point partial scores summed at A; run_central bit-equal).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "kinds/kind.h"
#include "kinds/train/train.h"
#include "kinds/train/vertical.h"
#include "ml/secureboost.h"
#include "ml/vlr.h"
#include "base/banned.h"

#define CH_ALIGN 1              /* PSI, ALIGN, RESULT */
#define CH_PREDICT 2            /* joint prediction */
#define RESULT_MAGIC "pdR1"
#define JOB_HEX_LEN 64

/* ---- the spec -------------------------------------------------------------- */

struct pspec {
	const char *model;              /* the training job's id */
	/* As a vertical train spec, for vertical.h: vin per input, no label
	 * (active = SIZE_MAX), order = the pooled order of the model. */
	struct train_spec ts;
};

static void pspec_release(struct pspec *p)
{
	for (size_t i = 0; p->ts.vin && i < p->ts.nvin; i++)
		sr_free(p->ts.vin[i].features);
	sr_free(p->ts.vin);
	sr_free(p->ts.order);
	memset(p, 0, sizeof(*p));
}

/* The kind's own keys (the checker has refused unknown ones). */
static int pspec_parse(const json_t *spec, struct pspec *p, struct sr_err *err)
{
	const json_t *inputs = json_object_get(spec, "inputs");
	size_t n = json_array_size(inputs);
	int rc;

	memset(p, 0, sizeof(*p));
	p->ts.active = SIZE_MAX;
	p->ts.mode = TRAIN_VERTICAL;
	p->ts.model = TRAIN_GBDT;
	if ((rc = sr_json_get_string(spec, "spec", "model", 1, &p->model, err)))
		return rc;
	if (strlen(p->model) != JOB_HEX_LEN || strspn(p->model, "0123456789abcdef") != JOB_HEX_LEN)
		return sr_fail(err, SR_EINVAL,
			       "spec.model: expected the id of the train job (%d lowercase hex digits)",
			       JOB_HEX_LEN);
	if (n < 2 || n > SR_ML_SB_PASSIVE_MAX + 1)
		return sr_fail(err, SR_EINVAL,
			       "spec.inputs: a vertical model has 2 to %d inputs (one per party), not %zu",
			       SR_ML_SB_PASSIVE_MAX + 1, n);
	p->ts.nvin = n;
	p->ts.vin = sr_calloc(n, sizeof(*p->ts.vin));
	p->ts.order = sr_calloc(n, sizeof(*p->ts.order));
	if (!p->ts.vin || !p->ts.order)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *in = json_array_get(inputs, i), *fs = json_object_get(in, "features");
		struct train_vinput *v = &p->ts.vin[i];
		char path[64];

		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		if ((rc = sr_json_get_string(in, path, "key", 1, &v->key, err)))
			return rc;
		if (!json_is_array(fs) || json_array_size(fs) == 0 ||
		    json_array_size(fs) > SR_DATASET_COLUMNS_MAX)
			return sr_fail(err, SR_EINVAL, "%s.features: expected an array of 1 to %d column names",
				       path, SR_DATASET_COLUMNS_MAX);
		v->nfeatures = json_array_size(fs);
		if (!(v->features = sr_calloc(v->nfeatures, sizeof(*v->features))))
			return sr_fail(err, SR_ENOMEM, "out of memory");
		for (size_t f = 0; f < v->nfeatures; f++) {
			v->features[f] = json_string_value(json_array_get(fs, f));
			if (!v->features[f])
				return sr_fail(err, SR_EINVAL, "%s.features[%zu]: expected a column name",
					       path, f);
			if (strcmp(v->features[f], v->key) == 0)
				return sr_fail(err, SR_EINVAL, "%s.features[%zu]: '%s' is the key", path,
					       f, v->key);
			for (size_t k = 0; k < f; k++)
				if (strcmp(v->features[k], v->features[f]) == 0)
					return sr_fail(err, SR_EINVAL, "%s.features[%zu]: '%s' is listed twice",
						       path, f, v->features[f]);
		}
	}
	return SR_OK;
}

static int same_owner_rule(struct sr_check *c, size_t i, struct sr_err *err)
{
	const struct sr_check_dataset *d = sr_check_input(c, i);
	int rc = SR_OK;

	for (size_t j = 0; rc == SR_OK && d && j < sr_check_ninputs(c); j++) {
		const struct sr_check_dataset *o = sr_check_input(c, j);
		int allowed = 0;
		if (!o || j == i)
			continue;
		if (strcmp(o->owner, d->owner) == 0) {
			if (j < i)
				rc = sr_check_violation(c, d->name, NULL, NULL, "predict-one-input-per-party",
							err,
							"%s and %s have the same owner: a vertical model takes one input per party",
							o->name, d->name);
			continue;
		}
		for (size_t k = 0; k < d->policy->nreceivers; k++)
			allowed |= strcmp(d->policy->receivers[k], o->owner) == 0;
		if (!allowed)
			rc = sr_check_violation(c, d->name, NULL, NULL, "predict-party-not-receiver", err,
						"%s (owner of %s) learns which rows of %s are aligned (PSI), but %s does not allow it as a receiver",
						o->owner, o->name, d->name, d->name);
	}
	return rc;
}

static int predict_check(struct sr_check *c, struct sr_err *err)
{
	struct pspec p;
	int rc = pspec_parse(sr_check_spec(c), &p, err);

	for (size_t i = 0; rc == SR_OK && i < p.ts.nvin; i++) {
		const struct sr_check_dataset *d = sr_check_input(c, i);
		const struct train_vinput *v = &p.ts.vin[i];

		rc = sr_check_use(c, i, v->key, SR_USE_JOIN, err);
		for (size_t f = 0; rc == SR_OK && f < v->nfeatures; f++) {
			const struct sr_policy_column *col;
			rc = sr_check_use(c, i, v->features[f], SR_USE_FEATURE, err);
			col = rc == SR_OK && d ? sr_policy_column(d->policy, v->features[f]) : NULL;
			if (col && col->type != SR_TYPE_INT64 && col->type != SR_TYPE_FLOAT64)
				rc = sr_check_violation(c, d->name, v->features[f], "feature",
							"predict-not-numeric", err, "%s.%s is not numeric",
							d->name, v->features[f]);
		}
		if (rc == SR_OK && d && i == 0) {
			int found = 0;
			for (size_t k = 0; k < sr_check_nreceivers(c); k++)
				found |= strcmp(sr_check_receiver(c, k), d->owner) == 0;
			if (!found)
				rc = sr_check_violation(c, d->name, NULL, NULL, "predict-active-not-receiver",
							err,
							"%s (owner of %s, inputs[0]: the active party) must be a receiver: it computes the scores",
							d->owner, d->name);
		}
		if (rc == SR_OK)
			rc = same_owner_rule(c, i, err);
	}
	pspec_release(&p);
	return rc;
}

/* ---- the model's binding to its training job ---------------------------------- */

/* A model type: what its parts are called at the active and the passive
 * parties, and how it scores. */
struct prun;
struct pmodel {
	const char *name;               /* the train spec's "model" */
	const char *type;               /* the result's meta.model_type */
	const char *active_part, *passive_part;
	int (*active)(struct prun *r, const struct sr_ml_data *d, double *out,
		      struct sr_err *err);
	int (*passive)(struct prun *r, const struct sr_ml_data *d, struct sr_err *err);
	/* d: the pooled columns of the aligned rows. */
	int (*central)(const struct sr_kind_ctx *c, const struct pspec *p,
		       const struct sr_ml_data *d, double *out, struct sr_err *err);
};

static const struct pmodel *pmodel_find(const char *name);

static int not_a_model(const char *job, struct sr_err *err, const char *why)
{
	return sr_fail(err, SR_EINVAL, "predict: job %.16s is not a model predict can use: %s", job,
		       why);
}

/*
 * Read the training job (ctx->load_model, no part) and bind the spec to
 * it: a vertical train job of a known model type with as many inputs,
 * the same owners (inputs[0] the label holder's), each input with
 * exactly the features of its owner's training input.  Sets p->ts.order
 * (pooled position -> predict input) and the features' pooled columns.
 */
static int bind_model(const struct sr_kind_ctx *c, struct pspec *p, const struct pmodel **model,
		      struct sr_err *err)
{
	json_t *train = NULL;
	const json_t *ts, *tin, *owners;
	const char *mode, *mname;
	size_t active = SIZE_MAX, k = 1;
	int rc;

	if (!c->load_model)
		return sr_fail(err, SR_EINVAL,
			       "predict: this runner cannot read model parts (no load_model hook)");
	if ((rc = c->load_model(c->impl, p->model, c->self, NULL, &train, NULL, err)))
		return rc;
	ts = json_object_get(train, "spec");
	tin = json_object_get(ts, "inputs");
	owners = json_object_get(train, "owners");
	mode = json_string_value(json_object_get(ts, "mode"));
	mname = json_string_value(json_object_get(ts, "model"));
	if (!mode || strcmp(mode, "vertical") != 0)
		rc = not_a_model(p->model, err, "it did not train a vertical model");
	else if (!mname || !(*model = pmodel_find(mname)))
		rc = not_a_model(p->model, err, "its model type has no joint prediction");
	else if (json_array_size(tin) != p->ts.nvin || json_array_size(owners) != p->ts.nvin)
		rc = sr_fail(err, SR_EINVAL,
			     "predict: the model of job %.16s has %zu parties, the spec %zu inputs",
			     p->model, json_array_size(tin), p->ts.nvin);
	for (size_t j = 0; rc == SR_OK && j < p->ts.nvin; j++)
		if (json_object_get(json_array_get(tin, j), "label"))
			active = j;
	if (rc == SR_OK && active == SIZE_MAX)
		rc = not_a_model(p->model, err, "no input holds the label");
	/* Pooled order: the label holder's input, then the others in the
	 * training job's input order. */
	for (size_t t = 0; rc == SR_OK && t < p->ts.nvin; t++) {
		const char *owner = json_string_value(json_array_get(owners, t));
		const json_t *fs = json_object_get(json_array_get(tin, t), "features");
		size_t i, j = t == active ? 0 : k++;
		const struct train_vinput *v;

		for (i = 0; i < c->ninputs && (!owner || strcmp(c->inputs[i].owner, owner) != 0); i++)
			;
		if (i == c->ninputs) {
			rc = sr_fail(err, SR_EINVAL,
				     "predict: %s holds a part of the model of job %.16s but owns no input of this job",
				     owner ? owner : "?", p->model);
			break;
		}
		if ((j == 0) != (i == 0)) {
			rc = sr_fail(err, SR_EINVAL,
				     "predict: inputs[0] must be the active party's (%s, which held the label of job %.16s)",
				     owner, p->model);
			break;
		}
		v = &p->ts.vin[i];
		if (json_array_size(fs) != v->nfeatures)
			rc = SR_EINVAL;
		for (size_t f = 0; rc == SR_OK && f < v->nfeatures; f++)
			if (!json_is_string(json_array_get(fs, f)) ||
			    strcmp(json_string_value(json_array_get(fs, f)), v->features[f]) != 0)
				rc = SR_EINVAL;
		if (rc) {
			char *want = json_dumps(fs, JSON_COMPACT);
			rc = sr_fail(err, SR_EINVAL,
				     "predict: spec.inputs[%zu].features must be exactly the features %s's part of model %.16s was trained on, in order: %s",
				     i, owner, p->model, want ? want : "?");
			sr_free(want);
			break;
		}
		p->ts.order[j] = i;
	}
	{
		size_t first = 0;
		for (size_t j = 0; rc == SR_OK && j < p->ts.nvin; j++) {
			p->ts.vin[p->ts.order[j]].first = first;
			first += p->ts.vin[p->ts.order[j]].nfeatures;
		}
		p->ts.nfeatures = first;
	}
	json_decref(train);
	return rc;
}

/* This party's kept part of the model (owner: whose; the node: self). */
static int load_part(const struct sr_kind_ctx *c, const struct pspec *p, const char *owner,
		     const char *name, struct sr_buf *out, struct sr_err *err)
{
	json_t *train = NULL;
	int rc = c->load_model(c->impl, p->model, owner, name, &train, out, err);

	json_decref(train);
	return rc;
}

/* ---- a run -------------------------------------------------------------------- */

struct prun {
	const struct sr_kind_ctx *c;
	const struct pspec *p;
	size_t role;                    /* pooled position, SIZE_MAX: receiver only */
	struct sr_pipe *align, *pred;   /* A: per position j >= 1; others: [0] */
	struct sr_buf part;             /* this party's part, plaintext */
	struct vrows rows;
	struct train_table t;
};

static const char *owner_at(const struct sr_kind_ctx *c, const struct pspec *p, size_t j)
{
	return c->inputs[p->ts.order[j]].owner;
}

static int no_rows(struct sr_err *err)
{
	return sr_fail(err, SR_EINVAL,
		       "predict: zero aligned rows (no key is common to every input): nothing to score");
}

/* ---- SecureBoost ----------------------------------------------------------------- */

static int sb_model_of(const struct pspec *p, const struct sr_buf *b, struct sr_ml_sb_model *m,
		       struct sr_err *err)
{
	int rc = sr_ml_sb_model_decode(b->data, b->len, m, err);

	if (rc == SR_OK && m->parties != p->ts.nvin)
		rc = sr_fail(err, SR_EINVAL, "predict: the model part has %u parties, the spec %zu inputs",
			     m->parties, p->ts.nvin);
	for (size_t j = 0; rc == SR_OK && j < p->ts.nvin; j++)
		if (m->party_cols[j] != p->ts.vin[p->ts.order[j]].nfeatures)
			rc = sr_fail(err, SR_EINVAL,
				     "predict: the model has %zu features at party %zu, the spec %zu",
				     m->party_cols[j], j, p->ts.vin[p->ts.order[j]].nfeatures);
	if (rc)
		sr_err_prefix(err, "predict: the active part of model %.16s", p->model);
	return rc;
}

static int sb_part_of(const struct pspec *p, size_t j, const struct sr_buf *b,
		      struct sr_ml_sb_part *part, struct sr_err *err)
{
	int rc = sr_ml_sb_part_decode(b->data, b->len, part, err);

	if (rc == SR_OK && (part->party != j || part->cols != p->ts.vin[p->ts.order[j]].nfeatures))
		rc = sr_fail(err, SR_EINVAL,
			     "predict: the part is party %u's with %zu features, expected party %zu's with %zu",
			     part->party, part->cols, j, p->ts.vin[p->ts.order[j]].nfeatures);
	if (rc)
		sr_err_prefix(err, "predict: the part of model %.16s", p->model);
	return rc;
}

static int sb_active(struct prun *r, const struct sr_ml_data *d, double *out, struct sr_err *err)
{
	struct sr_ml_sb_model m = { 0 };
	int rc = sb_model_of(r->p, &r->part, &m, err);

	if (rc == SR_OK)
		rc = sr_ml_sb_predict_active(&m, d, r->pred + 1, r->p->ts.nvin - 1, out, err);
	sr_ml_sb_model_release(&m);
	return rc;
}

static int sb_passive(struct prun *r, const struct sr_ml_data *d, struct sr_err *err)
{
	struct sr_ml_sb_part part = { 0 };
	int rc = sb_part_of(r->p, r->role, &r->part, &part, err);

	if (rc == SR_OK)
		rc = sr_ml_sb_predict_passive(&part, d, &r->pred[0], err);
	sr_ml_sb_part_release(&part);
	return rc;
}

static int sb_central(const struct sr_kind_ctx *c, const struct pspec *p,
		      const struct sr_ml_data *d, double *out, struct sr_err *err)
{
	size_t np = p->ts.nvin - 1;
	struct sr_ml_sb_model m = { 0 };
	struct sr_ml_sb_part parts[SR_ML_SB_PASSIVE_MAX];
	struct sr_ml_gbdt g = { 0 };
	struct sr_buf b;
	int rc;

	memset(parts, 0, sizeof(parts));
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	rc = load_part(c, p, owner_at(c, p, 0), "secureboost-model", &b, err);
	if (rc == SR_OK)
		rc = sb_model_of(p, &b, &m, err);
	for (size_t j = 1; rc == SR_OK && j <= np; j++) {
		sr_buf_wipe(&b);
		sr_buf_reset(&b);
		rc = load_part(c, p, owner_at(c, p, j), "secureboost-part", &b, err);
		if (rc == SR_OK)
			rc = sb_part_of(p, j, &b, &parts[j - 1], err);
	}
	if (rc == SR_OK)
		rc = sr_ml_sb_to_gbdt(&m, parts, np, &g, err);
	if (rc == SR_OK)
		sr_ml_gbdt_predict(&g, d, out);
	sr_ml_gbdt_release(&g);
	sr_ml_sb_model_release(&m);
	for (size_t j = 0; j < np; j++)
		sr_ml_sb_part_release(&parts[j]);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}


/* ---- vertical logistic regression ------------------------------------------------- */

/*
 * Party j's lr part (train_vertical.c's vlr_part_encode) as weights, and
 * the columns xs (rows each) put on the part's scale in place (train_vertical.c's
 * scale_columns: [lo, hi] onto [-1, 1], clamped, a constant feature 0).
 * The part must be party j's, on exactly the spec's features.  A NULL
 * feature is refused (the model needs complete rows).
 */
static int lr_part_of(const struct pspec *p, size_t j, const struct sr_buf *b, double *xs,
		      size_t rows, struct sr_ml_lr *m, struct sr_err *err)
{
	const struct train_vinput *v = &p->ts.vin[p->ts.order[j]];
	json_error_t je;
	json_t *o = json_loadb(b->data, b->len, 0, &je);
	const json_t *fs = json_object_get(o, "features"), *ws = json_object_get(o, "weights");
	const json_t *lo = json_object_get(o, "lo"), *hi = json_object_get(o, "hi");
	const char *kind = json_string_value(json_object_get(o, "kind"));
	int rc = SR_OK;

	memset(m, 0, sizeof(*m));
	if (!o || !kind || strcmp(kind, j ? "vlr-passive" : "vlr-active") != 0 ||
	    json_integer_value(json_object_get(o, "party")) != (json_int_t)j ||
	    json_array_size(fs) != v->nfeatures || json_array_size(ws) != v->nfeatures ||
	    json_array_size(lo) != v->nfeatures || json_array_size(hi) != v->nfeatures ||
	    (j == 0 && !json_is_number(json_object_get(o, "intercept"))))
		rc = sr_fail(err, SR_EINVAL,
			     "predict: the part of model %.16s is not party %zu's logistic-regression part on %zu features",
			     p->model, j, v->nfeatures);
	for (size_t f = 0; rc == SR_OK && f < v->nfeatures; f++)
		if (!json_is_string(json_array_get(fs, f)) ||
		    strcmp(json_string_value(json_array_get(fs, f)), v->features[f]) != 0 ||
		    !json_is_number(json_array_get(ws, f)) || !json_is_number(json_array_get(lo, f)) ||
		    !json_is_number(json_array_get(hi, f)))
			rc = sr_fail(err, SR_EINVAL, "predict: the part of model %.16s: feature %zu is not '%s' with a weight and a range",
				     p->model, f, v->features[f]);
	if (rc == SR_OK)
		rc = sr_ml_lr_init(m, v->nfeatures, err);
	if (rc == SR_OK)
		m->bias = j == 0 ? json_number_value(json_object_get(o, "intercept")) : 0;
	for (size_t f = 0; rc == SR_OK && f < v->nfeatures; f++) {
		double a = json_number_value(json_array_get(lo, f));
		double z = json_number_value(json_array_get(hi, f));

		m->w[f] = json_number_value(json_array_get(ws, f));
		for (size_t r = 0; rc == SR_OK && r < rows; r++) {
			double *x = &xs[f * rows + r];
			if (isnan(*x))
				rc = sr_fail(err, SR_EINVAL,
					     "predict: aligned row %zu: %s is NULL; a logistic-regression model needs complete rows",
					     r, v->features[f]);
			else
				*x = z > a ? fmin(1, fmax(-1, 2 * (*x - a) / (z - a) - 1)) : 0;
		}
	}
	json_decref(o);
	if (rc)
		sr_ml_lr_release(m);
	return rc;
}

static int lr_active(struct prun *r, const struct sr_ml_data *d, double *out, struct sr_err *err)
{
	struct sr_ml_data own = *d;
	struct sr_ml_lr m;
	int rc = lr_part_of(r->p, 0, &r->part, r->t.x, r->t.rows, &m, err);

	if (rc == SR_OK)
		rc = sr_ml_vlr_predict_active(&m, &own, r->pred + 1, r->p->ts.nvin - 1, out, err);
	sr_ml_lr_release(&m);
	return rc;
}

static int lr_passive(struct prun *r, const struct sr_ml_data *d, struct sr_err *err)
{
	struct sr_ml_data own = *d;
	struct sr_ml_lr m;
	int rc = lr_part_of(r->p, r->role, &r->part, r->t.x, r->t.rows, &m, err);

	if (rc == SR_OK)
		rc = sr_ml_vlr_predict_passive(&m, &own, &r->pred[0], err);
	sr_ml_lr_release(&m);
	return rc;
}

/* Every party's part (the harness's load_model), each party's block of
 * the pooled columns scaled by it, the protocol's arithmetic. */
static int lr_central(const struct sr_kind_ctx *c, const struct pspec *p,
		      const struct sr_ml_data *d, double *out, struct sr_err *err)

{
	struct sr_ml_lr parts[SR_ML_VLR_PASSIVE_MAX + 1];
	struct sr_buf b;
	size_t nv = p->ts.nvin, col = 0;
	double *x = sr_calloc(d->rows * d->cols + 1, sizeof(*x));
	struct sr_ml_data scaled = { d->rows, d->cols, x, NULL };
	int rc = x ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");

	memset(parts, 0, sizeof(parts));
	if (x)
		memcpy(x, d->x, d->rows * d->cols * sizeof(*x));
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	for (size_t j = 0; rc == SR_OK && j < nv; j++) {
		size_t nf = p->ts.vin[p->ts.order[j]].nfeatures;

		sr_buf_wipe(&b);
		sr_buf_reset(&b);
		rc = load_part(c, p, owner_at(c, p, j), j ? "vlr-part" : "vlr-model", &b, err);
		if (rc == SR_OK)
			rc = lr_part_of(p, j, &b, x + col * d->rows, d->rows, &parts[j], err);
		col += nf;
	}
	if (rc == SR_OK)
		rc = sr_ml_vlr_predict_central(parts, nv, &scaled, out, err);
	sr_free(x);
	for (size_t j = 0; j < nv; j++)
		sr_ml_lr_release(&parts[j]);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

static const struct pmodel models[] = {
	{ "gbdt", "secureboost", "secureboost-model", "secureboost-part", sb_active, sb_passive,
	  sb_central },
	{ "lr", "lr", "vlr-model", "vlr-part", lr_active, lr_passive, lr_central },
};

static const struct pmodel *pmodel_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(*models); i++)
		if (strcmp(models[i].name, name) == 0)
			return &models[i];
	return NULL;
}

/* ---- the result ------------------------------------------------------------------- */

/* [[A's dataset row, score], ...] in A's scan order. */
static json_t *envelope(const struct sr_kind_ctx *c, const struct pspec *p, const char *type,
			const uint64_t *ids, const double *score, size_t n)
{
	json_t *rows = json_array(), *parties = json_array(), *meta;
	int bad = !rows || !parties;

	for (size_t k = 0; !bad && k < n; k++)
		bad = json_array_append_new(rows, json_pack("[I,f]", (json_int_t)ids[k], score[k])) != 0;
	for (size_t j = 0; !bad && j < p->ts.nvin; j++)
		bad = json_array_append_new(parties, json_string(owner_at(c, p, j))) != 0;
	meta = bad ? NULL :
		json_pack("{s:s,s:s,s:s,s:o,s:I}", "model", p->model, "model_type", type,
			  "active", owner_at(c, p, 0), "parties", parties, "aligned_rows",
			  (json_int_t)n);
	if (!meta) {
		if (bad)
			json_decref(parties);
		json_decref(rows);
		return NULL;
	}
	return sr_kind_envelope(json_pack("[s,s]", "row", "score"), rows, meta);
}

static size_t party_index(const struct sr_kind_ctx *c, const char *org)
{
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], org) == 0)
			return i;
	return SIZE_MAX;
}

static int run_active(struct prun *r, const struct pmodel *pm, json_t **result,
		      struct sr_err *err)
{
	const struct sr_kind_ctx *c = r->c;
	size_t n = 0, *idx = NULL;
	uint64_t *ids = NULL;
	uint8_t *zero = NULL;
	double *score = NULL;
	struct sr_ml_data d;
	/* A's rows in every pair's intersection, in A's scan order; the
	 * ALIGN mask unused (all 0). */
	int rc = vertical_align_active(c, &r->p->ts, &r->rows, r->align, NULL, &idx, &zero, &n, err);

	if (rc == SR_OK && n == 0)
		rc = no_rows(err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, NULL, n, 0, 0, &r->t, err);
	if (rc == SR_OK && (!(score = sr_calloc(n, sizeof(*score))) ||
			    !(ids = sr_calloc(n, sizeof(*ids)))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK) {
		d = train_table_view(&r->t);
		d.y = NULL;
		sr_kind_progress(c, "scoring the aligned rows jointly", 0, n);
		rc = pm->active(r, &d, score, err);
	}
	for (size_t k = 0; rc == SR_OK && k < n; k++)
		ids[k] = r->rows.ids[idx[k]];
	if (rc == SR_OK && !(*result = envelope(c, r->p, pm->type, ids, score, n)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		rc = vertical_send_result(c, &r->p->ts, r->align, CH_ALIGN, RESULT_MAGIC, *result, err);
	if (score)
		sodium_memzero(score, n * sizeof(*score));
	sr_free(score);
	sr_free(ids);
	sr_free(idx);
	sr_free(zero);
	return rc;
}

static int run_passive(struct prun *r, const struct pmodel *pm, struct sr_err *err)
{
	const struct sr_kind_ctx *c = r->c;
	uint8_t *mask = NULL;
	size_t *idx = NULL, n = 0;
	struct sr_ml_data d;
	int rc = vertical_align_passive(c, r->role, &r->rows, &r->align[0], &idx, &mask, &n, err);

	if (rc == SR_OK && n == 0)
		rc = no_rows(err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, NULL, n, 0, 0, &r->t, err);
	if (rc == SR_OK) {
		d = train_table_view(&r->t);
		d.y = NULL;
		sr_kind_progress(c, "scoring the aligned rows jointly", 0, n);
		rc = pm->passive(r, &d, err);
	}
	sr_free(mask);
	sr_free(idx);
	return rc;
}

static int predict_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	const struct pmodel *pm = NULL;
	struct pspec p;
	struct prun r;
	size_t a_party = SIZE_MAX;
	int rc;

	*result = NULL;
	memset(&r, 0, sizeof(r));
	sr_buf_init(&r.part, SR_BUF_UNBOUNDED);
	r.c = c;
	r.p = &p;
	r.role = SIZE_MAX;
	rc = pspec_parse(c->spec, &p, err);
	/* Every party checks the binding before it reads or sends anything. */
	if (rc == SR_OK)
		rc = bind_model(c, &p, &pm, err);
	if (rc)
		goto out;
	for (size_t j = 0; j < p.ts.nvin; j++)
		if (c->inputs[p.ts.order[j]].local)
			r.role = j;
	a_party = party_index(c, owner_at(c, &p, 0));
	r.align = sr_calloc(p.ts.nvin, sizeof(*r.align));
	r.pred = sr_calloc(p.ts.nvin, sizeof(*r.pred));
	if (!r.align || !r.pred || a_party == SIZE_MAX) {
		rc = sr_fail(err, a_party == SIZE_MAX ? SR_EINVAL : SR_ENOMEM,
			     a_party == SIZE_MAX ? "predict: the active party is not a participant" :
			     "out of memory");
		goto out;
	}
	if (r.role != SIZE_MAX)
		rc = load_part(c, &p, c->self, r.role == 0 ? pm->active_part : pm->passive_part,
			       &r.part, err);
	if (rc)
		goto out;
	if (r.role == 0) {
		for (size_t j = 1; rc == SR_OK && j < p.ts.nvin; j++)
			if ((rc = sr_kind_pipe(c, owner_at(c, &p, j), CH_ALIGN, &r.align[j], err)) == SR_OK)
				rc = sr_kind_pipe(c, owner_at(c, &p, j), CH_PREDICT, &r.pred[j], err);
	} else {
		rc = sr_kind_pipe(c, c->parties[a_party], CH_ALIGN, &r.align[0], err);
		if (rc == SR_OK && r.role != SIZE_MAX)
			rc = sr_kind_pipe(c, c->parties[a_party], CH_PREDICT, &r.pred[0], err);
	}
	if (rc == SR_OK && r.role != SIZE_MAX) {
		sr_kind_progress(c, "reading the input", 0, 0);
		rc = vrows_load(c, &p.ts, p.ts.order[r.role], &r.rows, err);
	}
	if (rc)
		goto out;
	if (r.role == 0)
		rc = run_active(&r, pm, result, err);
	else if (r.role != SIZE_MAX)
		rc = run_passive(&r, pm, err);
	if (rc == SR_OK && r.role != 0 && c->receiver)
		rc = vertical_recv_result(&r.align[0], RESULT_MAGIC, "predict", result, err);
out:
	vrows_release(&r.rows);
	train_table_release(&r.t);
	sr_buf_wipe(&r.part);
	sr_buf_release(&r.part);
	sr_free(r.align);
	sr_free(r.pred);
	pspec_release(&p);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}

/* ---- run_central -------------------------------------------------------------------- */

static int predict_central(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	const struct pmodel *pm = NULL;
	struct pspec p;
	size_t nv = 0, n = 0;
	struct vrows *rows = NULL;
	size_t **idx = NULL;
	uint64_t *ids = NULL;
	double *x = NULL, *score = NULL;
	int rc;

	*result = NULL;
	rc = pspec_parse(c->spec, &p, err);
	if (rc == SR_OK)
		rc = bind_model(c, &p, &pm, err);
	if (rc)
		goto out;
	nv = p.ts.nvin;
	rc = vertical_central_rows(c, &p.ts, &rows, &idx, &n, err);
	if (rc)
		goto out;
	if (n == 0) {
		rc = no_rows(err);
		goto out;
	}
	/* The pooled columns: A's, then each passive party's. */
	x = sr_calloc(n * p.ts.nfeatures + 1, sizeof(double));
	score = sr_calloc(n, sizeof(*score));
	ids = sr_calloc(n, sizeof(*ids));
	if (!x || !score || !ids) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0, col = 0; rc == SR_OK && j < nv; j++) {
		struct train_table t;
		rc = vrows_take(&rows[j], idx[j], NULL, n, 0, 0, &t, err);
		if (rc == SR_OK)
			memcpy(x + col * n, t.x, n * rows[j].cols * sizeof(double));
		col += rows[j].cols;
		train_table_release(&t);
	}
	if (rc == SR_OK) {
		struct sr_ml_data d = { n, p.ts.nfeatures, x, NULL };
		rc = pm->central(c, &p, &d, score, err);
	}
	for (size_t k = 0; rc == SR_OK && k < n; k++)
		ids[k] = rows[0].ids[idx[0][k]];
	if (rc == SR_OK && !(*result = envelope(c, &p, pm->type, ids, score, n)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	vertical_central_release(rows, idx, nv);
	sr_free(x);
	sr_free(score);
	sr_free(ids);
	pspec_release(&p);
	return rc;
}

/* ---- release --------------------------------------------------------------------- */

static int predict_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	int64_t min = sr_kind_min_group_size(c);
	size_t n = json_array_size(json_object_get(result, "rows"));

	if ((int64_t)n < min)
		return sr_fail(err, SR_EPOLICY,
			       "predict: %zu aligned rows, fewer than min_group_size %lld: refused", n,
			       (long long)min);
	return SR_OK;
}

static const char *const spec_keys[] = { "model", NULL };
static const char *const input_keys[] = { "key", "features", NULL };

const struct sr_job_kind sr_kind_predict = {
	.name = "predict",
	.policy_bit = SR_JOB_PREDICT,
	.flags = SR_KIND_ROW_FILTER,
	.summary = "score the parties' aligned rows with a vertical model a train job kept in parts",
	.spec_keys = spec_keys,
	.input_keys = input_keys,
	.check = predict_check,
	.run = predict_run,
	.run_central = predict_central,
	.release = predict_release,
};
