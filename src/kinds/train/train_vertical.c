/*
 * train_vertical.c - the `train` kind's vertical mode (docs/protocols/
 * train.md, "Vertical mode"): parties hold different columns of the same
 * people.  The input with the label is the active party A; the others are
 * passive.  Rows are aligned inside the job by two-party PSI between A and
 * each passive party (SR_PSI_TO_BOTH), A intersects the pairwise results,
 * orders the aligned rows by its own scan order, splits them into training
 * and test rows (stratified by label, at random from a key only A holds)
 * and sends each passive party its
 * positions and the test mask (ALIGN).  Then SecureBoost
 * (src/ml/secureboost.h, "model": "gbdt") or Paillier logistic regression
 * (src/ml/vlr.h, "model": "lr") trains on the training rows, the test rows
 * are scored jointly at A, A evaluates and sends the result envelope to
 * the other receivers (RESULT).  Each party keeps its part of the model
 * through ctx->keep.  For lr each party first scales its own features
 * onto [-1, 1] by the range of its own training rows (test rows clamped);
 * the scaling is kept with its weights.
 *
 * run_central is the oracle: the same alignment in plaintext, the same
 * order and split, and sr_ml_gbdt_train on the pooled columns (A's, then
 * each passive party's in input order) with the same bins and
 * grad_frac_bits: the federated trees equal these; for lr the same
 * scaling and sr_ml_lr_train in double with the same schedule: the
 * federated weights are within sr_ml_vlr_bound of these.  In TEE mode
 * (ctx->keep_at) run_central also hands each owner the part its run would
 * have kept: the central model split into A's sr_ml_sb_model and each
 * passive party's sr_ml_sb_part (central_sb_parts), or each party's slice
 * of the lr weights and scaling.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "kinds/train/train.h"
#include "kinds/train/vertical.h"
#include "ml/secureboost.h"
#include "ml/vlr.h"
#include "psi/psi.h"
#include "base/banned.h"

#define CH_ALIGN 1              /* PSI, ALIGN, RESULT */
#define CH_SB 2                 /* SecureBoost training */
#define CH_PREDICT 3            /* joint prediction of the test rows */
#define ALIGN_MAGIC "tvA1"
#define RESULT_MAGIC "tvR1"
#define RESULT_MAX ((size_t)64 << 20)

unsigned train_sb_key_bits = 2048;

/* ---- one input's rows at its owner ------------------------------------- */

void vrows_release(struct vrows *v)
{
	sr_free(v->x);
	sr_free(v->y);
	sr_free(v->ids);
	sr_free(v->off);
	sr_buf_wipe(&v->text);
	sr_buf_release(&v->text);
	memset(v, 0, sizeof(*v));
}

static int vrows_grow(struct vrows *v)
{
	size_t cap = v->cap ? 2 * v->cap : 1024;
	double *x = sr_realloc(v->x, cap * (v->cols ? v->cols : 1) * sizeof(*x));
	double *y;
	uint64_t *ids;
	size_t *off;

	if (!x)
		return SR_ENOMEM;
	v->x = x;
	if (!(y = sr_realloc(v->y, cap * sizeof(*y))))
		return SR_ENOMEM;
	v->y = y;
	if (!(ids = sr_realloc(v->ids, cap * sizeof(*ids))))
		return SR_ENOMEM;
	v->ids = ids;
	if (!(off = sr_realloc(v->off, (cap + 1) * sizeof(*off))))
		return SR_ENOMEM;
	v->off = off;
	v->cap = cap;
	return SR_OK;
}

/*
 * Scan input i: its key, its features and, at the active input, the
 * label.  A NULL feature is NaN (the missing bin).  A NULL label, or one
 * other than 0/1 for the logistic loss, fails naming the row.  Rows whose
 * key is NULL or empty cannot be aligned and are skipped (as PSI skips
 * empty keys).
 */
int vrows_load(const struct sr_kind_ctx *c, const struct train_spec *s, size_t i,
		      struct vrows *v, struct sr_err *err)
{
	const struct train_vinput *vi = &s->vin[i];
	int with_label = i == s->active;
	size_t ncols = vi->nfeatures + 1 + (size_t)with_label;
	const char **cols = sr_calloc(ncols, sizeof(*cols));
	struct sr_rows rows = { 0 };
	int rc, eof = 0;

	memset(v, 0, sizeof(*v));
	v->cols = vi->nfeatures;
	sr_buf_init(&v->text, SR_BUF_UNBOUNDED);
	if (!cols)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	cols[0] = vi->key;
	memcpy(cols + 1, vi->features, vi->nfeatures * sizeof(*cols));
	if (with_label)
		cols[ncols - 1] = s->label;
	rc = sr_kind_scan(c, i, cols, ncols, &rows, err);
	while (rc == SR_OK && !eof) {
		const struct sr_vec *vecs[SR_DATASET_COLUMNS_MAX + 2];
		const uint64_t *ids;
		size_t n;

		if ((rc = sr_rows_next(&rows, vecs, &ids, &n, &eof, err)))
			break;
		for (size_t r = 0; rc == SR_OK && r < n; r++) {
			size_t start = v->text.len;
			double y = 0;
			if (sr_vec_is_null(vecs[0], r))
				continue;
			if (v->n == v->cap && vrows_grow(v) != SR_OK) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				break;
			}
			if (sr_vec_format(vecs[0], r, &v->text) != SR_OK) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				break;
			}
			if (v->text.len == start)
				continue;
			if (with_label) {
				const struct sr_vec *lv = vecs[ncols - 1];
				int null = sr_vec_is_null(lv, r);
				y = null ? NAN : lv->type == SR_TYPE_INT64 ? (double)lv->v.i64[r] : lv->v.f64[r];
				if (null || !isfinite(y) ||
				    (s->gbdt.loss == SR_ML_LOGISTIC && y != 0 && y != 1)) {
					rc = sr_fail(err, SR_EINVAL,
						     "%s row %llu: label %s is %s, expected %s",
						     c->inputs[i].dataset, (unsigned long long)ids[r], s->label,
						     null ? "NULL" : "another value",
						     s->gbdt.loss == SR_ML_LOGISTIC ? "0 or 1 (logistic loss)" : "a finite number");
					break;
				}
			}
			for (size_t f = 0; f < vi->nfeatures; f++) {
				const struct sr_vec *fv = vecs[1 + f];
				v->x[v->n * v->cols + f] = sr_vec_is_null(fv, r) ? NAN :
					fv->type == SR_TYPE_INT64 ? (double)fv->v.i64[r] : fv->v.f64[r];
			}
			v->off[v->n] = start;
			v->y[v->n] = y;
			v->ids[v->n] = ids[r];
			v->n++;
		}
	}
	sr_rows_close(&rows);
	sr_free(cols);
	if (rc == SR_OK && v->off)
		v->off[v->n] = v->text.len;
	return rc;
}

/*
 * The aligned rows idx[0..n) of v into a column-major table: those with
 * mask[k] == want (mask NULL: all).  y copied when labels is set.
 */
int vrows_take(const struct vrows *v, const size_t *idx, const uint8_t *mask,
		      size_t n, int want, int labels, struct train_table *t,
		      struct sr_err *err)
{
	size_t m = 0, k = 0;

	for (size_t j = 0; j < n; j++)
		m += !mask || mask[j] == want;
	memset(t, 0, sizeof(*t));
	t->rows = t->cap = m;
	t->cols = v->cols;
	t->x = sr_calloc(m * v->cols + 1, sizeof(double));
	t->y = sr_calloc(m + 1, sizeof(double));
	if (!t->x || !t->y)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; j < n; j++) {
		if (mask && mask[j] != want)
			continue;
		for (size_t f = 0; f < v->cols; f++)
			t->x[f * m + k] = v->x[idx[j] * v->cols + f];
		t->y[k] = labels ? v->y[idx[j]] : 0;
		k++;
	}
	return SR_OK;
}

/*
 * The key of the test split: a hash of A's mask secret (ctx->mask_key of
 * A's input, for no receiver) and the approved spec.  Only A and a
 * run_central given A's secret can compute it; the same job gives the
 * same split.
 */
#define SPLIT_CONTEXT "sealroom train vertical split v1"

static int split_key(const struct sr_kind_ctx *c, const struct train_spec *s,
		     uint8_t key[32], struct sr_err *err)
{
	size_t in = s->order[0];
	int rc = sr_kind_owner_key(c, in, SPLIT_CONTEXT, key, err);

	if (rc)
		sr_err_prefix(err, "train: the secret test split of %s", c->inputs[in].dataset);
	return rc;
}

int train_split_mask(const uint8_t key[32], const uint8_t *cls, size_t n, double ratio,
		     uint8_t *mask, struct sr_err *err)
{
	size_t *pos = sr_malloc((n ? n : 1) * sizeof(*pos));
	uint64_t *rnd = sr_malloc((n ? n : 1) * sizeof(*rnd));
	int rc = SR_OK;

	if (!pos || !rnd) {
		rc = sr_fail(err, SR_ENOMEM, "train: out of memory splitting %zu rows", n);
		goto out;
	}
	memset(mask, 0, n);
	for (uint8_t c = 0; c < 2; c++) {
		uint8_t seed[randombytes_SEEDBYTES];
		size_t m = 0, t;

		for (size_t j = 0; j < n; j++)
			if ((cls[j] != 0) == c)
				pos[m++] = j;
		if (m == 0)
			continue;
		/* floor(m r): as many as horizontal mode's rule takes. */
		t = (size_t)floor((double)m * ratio);
		crypto_generichash(seed, sizeof(seed), &c, 1, key, 32);
		randombytes_buf_deterministic(rnd, m * sizeof(*rnd), seed);
		sodium_memzero(seed, sizeof(seed));
		/* Swap into place i < t a position drawn from [i, m): the
		 * first t of a uniform shuffle (bias below m / 2^64). */
		for (size_t i = 0; i < t; i++) {
			size_t j = i + (size_t)(((unsigned __int128)rnd[i] * (m - i)) >> 64);
			size_t x = pos[i];
			pos[i] = pos[j];
			pos[j] = x;
			mask[pos[i]] = 1;
		}
	}
out:
	if (rnd)
		sodium_memzero(rnd, (n ? n : 1) * sizeof(*rnd));
	sr_free(pos);
	sr_free(rnd);
	return rc;
}

/* The test mask of the aligned rows (labels y[idx[j]]; one class for the
 * squared loss), drawn with the split key. */
static int test_mask(const struct sr_kind_ctx *c, const struct train_spec *s,
		     const struct vrows *a, const size_t *idx, size_t n, uint8_t *mask,
		     struct sr_err *err)
{
	uint8_t *cls = sr_malloc(n ? n : 1), key[32];
	int rc;

	if (!cls)
		return sr_fail(err, SR_ENOMEM, "train: out of memory splitting %zu rows", n);
	for (size_t j = 0; j < n; j++)
		cls[j] = s->gbdt.loss == SR_ML_LOGISTIC && a->y[idx[j]] == 1;
	rc = split_key(c, s, key, err);
	if (rc == SR_OK)
		rc = train_split_mask(key, cls, n, s->test_ratio, mask, err);
	sodium_memzero(key, sizeof(key));
	sr_free(cls);
	return rc;
}

/* ---- the result envelope ------------------------------------------------- */

/* One node of either model, as the envelope shows it. */
struct vnode {
	int leaf;
	uint32_t left, right;
	size_t owner;                   /* position in s->order */
	size_t feature;                 /* owner 0: A's column */
	double value, gain, cover;
};

struct vview {
	const struct sr_ml_sb_model *sb;        /* federated (A's part) */
	const struct sr_ml_gbdt *g;             /* or central */
	const struct train_spec *s;
};

static size_t vview_trees(const struct vview *v)
{
	return v->sb ? v->sb->best_trees : v->g->best_trees;
}

static size_t vview_nodes(const struct vview *v, size_t t)
{
	return v->sb ? v->sb->trees[t].nnodes : v->g->trees[t].nnodes;
}

static struct vnode vview_node(const struct vview *v, size_t t, size_t k)
{
	struct vnode o;

	memset(&o, 0, sizeof(o));
	if (v->sb) {
		const struct sr_ml_sb_node *n = &v->sb->trees[t].nodes[k];
		o.leaf = n->left == 0 && n->right == 0;
		o.left = n->left;
		o.right = n->right;
		o.owner = n->owner;
		o.feature = n->feature;
		o.value = n->value;
		o.gain = n->gain;
		o.cover = n->cover;
	} else {
		const struct sr_ml_node *n = &v->g->trees[t].nodes[k];
		o.leaf = n->left == 0 && n->right == 0;
		o.left = n->left;
		o.right = n->right;
		o.value = n->value;
		o.gain = n->gain;
		o.cover = n->cover;
		/* The pooled column's owner and its column there. */
		for (size_t j = 0; j < v->s->nvin; j++) {
			const struct train_vinput *vi = &v->s->vin[v->s->order[j]];
			if (n->feature >= vi->first && n->feature < vi->first + vi->nfeatures) {
				o.owner = j;
				o.feature = n->feature - vi->first;
			}
		}
	}
	return o;
}

static const char *owner_org(const struct sr_kind_ctx *c, const struct train_spec *s,
			     size_t owner)
{
	return c->inputs[s->order[owner]].owner;
}

/*
 * The envelope: one row per node [tree, node, split, left, right, value,
 * gain, cover]; split is A's feature name, "party ORG split #k" for a
 * passive party's k-th split (numbered in tree and node order), null for
 * a leaf.  No thresholds: they stay in the parts at their owners.
 */
static json_t *envelope(const struct sr_kind_ctx *c, const struct train_spec *s,
			const struct vview *v, size_t aligned, size_t ntrain, size_t ntest,
			json_t *evaluation)
{
	json_t *rows = json_array(), *imp = json_object(), *parties = json_array(), *meta;
	size_t nsplit[SR_ML_SB_PASSIVE_MAX + 1] = { 0 };
	double *gain_a = sr_calloc(s->vin[s->active].nfeatures + 1, sizeof(double));
	double gain_p[SR_ML_SB_PASSIVE_MAX + 1] = { 0 };
	char text[160];
	int bad = !rows || !imp || !parties || !gain_a || !evaluation;

	for (size_t t = 0; !bad && t < vview_trees(v); t++)
		for (size_t k = 0; !bad && k < vview_nodes(v, t); k++) {
			struct vnode n = vview_node(v, t, k);
			json_t *split;
			if (n.leaf) {
				split = json_null();
			} else if (n.owner == 0) {
				split = json_string(s->vin[s->active].features[n.feature]);
				gain_a[n.feature] += n.gain;
			} else {
				snprintf(text, sizeof(text), "party %s split #%zu", owner_org(c, s, n.owner),
					 nsplit[n.owner]++);
				split = json_string(text);
				gain_p[n.owner] += n.gain;
			}
			bad = json_array_append_new(rows, json_pack("[I,I,o,I,I,f,f,f]", (json_int_t)t,
								    (json_int_t)k, split,
								    (json_int_t)n.left,
								    (json_int_t)n.right, n.value,
								    n.gain, n.cover)) != 0;
		}
	for (size_t f = 0; !bad && f < s->vin[s->active].nfeatures; f++)
		bad = json_object_set_new(imp, s->vin[s->active].features[f], json_real(gain_a[f]));
	for (size_t j = 0; !bad && j < s->nvin; j++) {
		bad = json_array_append_new(parties, json_string(owner_org(c, s, j)));
		if (!bad && j > 0) {
			snprintf(text, sizeof(text), "party %s", owner_org(c, s, j));
			bad = json_object_set_new(imp, text, json_real(gain_p[j]));
		}
	}
	sr_free(gain_a);
	meta = bad ? NULL :
		json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I},"
			  "s:I,s:I,s:I,s:I,s:o,s:o}",
			  "model", "gbdt", "mode", "vertical", "active", owner_org(c, s, 0),
			  "parties", parties,
			  "params", "loss", s->gbdt.loss == SR_ML_LOGISTIC ? "logistic" : "squared",
			  "trees", (json_int_t)s->gbdt.trees, "depth", (json_int_t)s->gbdt.depth,
			  "learning_rate", s->gbdt.learning_rate, "lambda", s->gbdt.tree.lambda,
			  "gamma", s->gbdt.tree.gamma, "min_child_weight", s->gbdt.tree.min_child_weight,
			  "subsample", s->gbdt.subsample, "seed", (json_int_t)s->gbdt.seed,
			  "bins", (json_int_t)s->gbdt.max_bins,
			  "early_stopping_rounds", (json_int_t)s->gbdt.early_stopping_rounds,
			  "grad_frac_bits", (json_int_t)s->gbdt.grad_frac_bits,
			  "trees_kept", (json_int_t)vview_trees(v),
			  "aligned_rows", (json_int_t)aligned, "train_rows", (json_int_t)ntrain,
			  "test_rows", (json_int_t)ntest, "importance", imp, "evaluation", evaluation);
	if (!meta) {
		if (bad) {
			json_decref(parties);
			json_decref(imp);
			json_decref(evaluation);
		}
		json_decref(rows);
		return NULL;
	}
	return sr_kind_envelope(json_pack("[s,s,s,s,s,s,s,s]", "tree", "node", "split", "left",
					  "right", "value", "gain", "cover"),
				rows, meta);
}

/* meta.evaluation of predictions p of the test labels y. */
static json_t *evaluate(const struct train_spec *s, const double *y, const double *p, size_t n,
			struct sr_err *err)
{
	json_t *e;

	if (s->gbdt.loss == SR_ML_SQUARED) {
		struct sr_ml_reg_eval r;
		sr_ml_eval_regression(y, p, n, &r);
		e = json_pack("{s:f,s:f,s:I}", "rmse", r.rmse, "mae", r.mae, "rows", (json_int_t)r.rows);
	} else {
		struct sr_ml_eval *ev = sr_calloc(1, sizeof(*ev));
		if (!ev) {
			sr_fail(err, SR_ENOMEM, "out of memory");
			return NULL;
		}
		if (sr_ml_eval_scores(y, p, n, ev, err) != SR_OK) {
			sr_err_prefix(err, "train: evaluation on the test split");
			sr_free(ev);
			return NULL;
		}
		e = train_eval_json(ev);
		sr_free(ev);
	}
	if (!e)
		sr_fail(err, SR_ENOMEM, "out of memory");
	return e;
}

/* ---- messages ------------------------------------------------------------------- */

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ALIGN: magic, u64 n, then per aligned row a u64 position in the pair's
 * PSI order and one byte (1 = test row). */
static int send_align(const struct sr_pipe *p, const uint64_t *pos, const uint8_t *mask,
		      size_t n, struct sr_err *err)
{
	size_t len = 12 + 9 * n;
	uint8_t *m = sr_malloc(len);
	int rc;

	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	memcpy(m, ALIGN_MAGIC, 4);
	put_u64(m + 4, n);
	for (size_t j = 0; j < n; j++) {
		put_u64(m + 12 + 9 * j, pos[j]);
		m[12 + 9 * j + 8] = mask[j];
	}
	rc = p->send(p->ctx, m, len, err);
	sr_free(m);
	return rc;
}

/* A passive party's ALIGN: positions into its PSI rows (count m). */
static int recv_align(const struct sr_pipe *p, size_t m, uint64_t **pos, uint8_t **mask,
		      size_t *n, struct sr_err *err)
{
	struct sr_buf b;
	int rc;

	*pos = NULL;
	*mask = NULL;
	*n = 0;
	sr_buf_init(&b, 12 + 9 * (m + 1));
	if ((rc = p->recv(p->ctx, &b, 12 + 9 * m, err)))
		goto out;
	if (b.len < 12 || memcmp(b.data, ALIGN_MAGIC, 4) != 0 ||
	    get_u64((const uint8_t *)b.data + 4) > m ||
	    b.len != 12 + 9 * get_u64((const uint8_t *)b.data + 4)) {
		rc = sr_fail(err, SR_EPROTO, "train: malformed ALIGN message from the active party");
		goto out;
	}
	*n = (size_t)get_u64((const uint8_t *)b.data + 4);
	*pos = sr_calloc(*n + 1, sizeof(**pos));
	*mask = sr_calloc(*n + 1, 1);
	if (!*pos || !*mask) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < *n; j++) {
		const uint8_t *e = (const uint8_t *)b.data + 12 + 9 * j;
		(*pos)[j] = get_u64(e);
		(*mask)[j] = e[8];
		if ((*pos)[j] >= m || e[8] > 1) {
			rc = sr_fail(err, SR_EPROTO,
				     "train: ALIGN entry %zu is out of range (position or mask)", j);
			goto out;
		}
	}
out:
	sr_buf_release(&b);
	if (rc) {
		sr_free(*pos);
		sr_free(*mask);
		*pos = NULL;
		*mask = NULL;
	}
	return rc;
}

static int no_rows(struct sr_err *err)
{
	return sr_fail(err, SR_EINVAL,
		       "train: zero aligned rows (no key is common to every input): nothing to train on");
}

/* ---- the parties ------------------------------------------------------------------- */

/* Key i of v as a PSI key, its row being its index in v. */
static int psi_keys(const struct vrows *v, struct sr_psi_key **out, struct sr_err *err)
{
	*out = sr_calloc(v->n + 1, sizeof(**out));
	if (!*out)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < v->n; i++) {
		(*out)[i].data = v->text.data + v->off[i];
		(*out)[i].len = v->off[i + 1] - v->off[i];
		(*out)[i].row = i;
	}
	return SR_OK;
}

/* The pair's PSI: A with passive j (position in s->order), TO_BOTH, under
 * a session id of its own. */
static int pair_psi(const struct sr_kind_ctx *c, size_t j, enum sr_psi_role role,
		    const struct vrows *v, const struct sr_pipe *pipe, struct sr_psi_result *res,
		    struct sr_err *err)
{
	struct sr_psi_params params;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_psi_key *keys;
	uint8_t sid[32];
	crypto_generichash_state h;
	uint8_t jb[8];
	int rc;

	if ((rc = psi_keys(v, &keys, err)))
		return rc;
	put_u64(jb, j);
	crypto_generichash_init(&h, NULL, 0, sizeof(sid));
	crypto_generichash_update(&h, (const uint8_t *)"sealroom train psi", 18);
	crypto_generichash_update(&h, c->session_id, c->session_id_len);
	crypto_generichash_update(&h, jb, sizeof(jb));
	crypto_generichash_final(&h, sid, sizeof(sid));
	sr_psi_params_init(&params);
	params.session_id = sid;
	params.session_id_len = sizeof(sid);
	params.mode = SR_PSI_INTERSECTION;
	params.output = SR_PSI_TO_BOTH;
	params.parties = 2;
	params.pool = c->pool;
	sr_psi_source_array(&src, &arr, keys, v->n);
	rc = sr_psi_run(role, &params, &src, pipe, res, err);
	sr_free(keys);
	if (rc)
		sr_err_prefix(err, "train: aligning rows by PSI");
	return rc;
}

static int keep(const struct sr_kind_ctx *c, const char *name, const struct sr_buf *b,
		struct sr_err *err)
{
	if (!c->keep)
		return sr_fail(err, SR_EINVAL,
			       "train: this runner cannot keep model parts (no keep hook): vertical training is refused");
	return c->keep(c->impl, name, b->data, b->len, err);
}

static void sb_params(const struct sr_kind_ctx *c, const struct train_spec *s,
		      struct sr_ml_sb_params *p)
{
	sr_ml_sb_params_init(p);
	p->gbdt = s->gbdt;
	p->key_bits = train_sb_key_bits;
	p->first_tree_active_only = s->first_tree_active_only;
	p->pool = c->pool;
}

struct vrun {
	const struct sr_kind_ctx *c;
	const struct train_spec *s;
	size_t role;                    /* position in s->order, SIZE_MAX: receiver only */
	size_t a_party;                 /* A's index in c->parties */
	struct sr_pipe *align;          /* A: per position j >= 1; others: [0] to A */
	struct sr_pipe *sb, *pred;
	struct vrows rows;
	struct train_table train, test;
	struct sr_ml_sb_model model;
	struct sr_ml_sb_part part;
	struct sr_ml_sb_stats stats;
	struct sr_ml_lr lr;             /* lr: this party's weights */
	struct sr_ml_vlr_stats lr_stats;
	double *lo, *hi;                /* lr: this party's scaling */
};

static size_t party_of(const struct sr_kind_ctx *c, const char *org)
{
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], org) == 0)
			return i;
	return SIZE_MAX;
}

/* ---- vertical lr ------------------------------------------------------------------ */

static void vlr_params(const struct sr_kind_ctx *c, const struct train_spec *s,
		       struct sr_ml_vlr_params *p)
{
	sr_ml_vlr_params_init(p);
	p->lr = s->lr;
	p->key_bits = train_sb_key_bits;
	p->pool = c->pool;
}

/*
 * Map each column of train onto [-1, 1] by its range over train's rows
 * (a constant column to 0) and test's by the same map, clamped; *lo, *hi:
 * the ranges (cols entries, the caller frees them).  NaN stays NaN (the
 * learner refuses it, naming the row).
 */
static int scale_columns(struct train_table *train, struct train_table *test, double **lo,
			 double **hi, struct sr_err *err)
{
	size_t cols = train->cols;

	*lo = sr_calloc(cols + 1, sizeof(double));
	*hi = sr_calloc(cols + 1, sizeof(double));
	if (!*lo || !*hi)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t c = 0; c < cols; c++) {
		double a = INFINITY, b = -INFINITY;
		for (size_t r = 0; r < train->rows; r++) {
			a = fmin(a, train->x[c * train->rows + r]);
			b = fmax(b, train->x[c * train->rows + r]);
		}
		(*lo)[c] = a;
		(*hi)[c] = b;
		for (int t = 0; t < 2; t++) {
			struct train_table *tb = t ? test : train;
			for (size_t r = 0; r < tb->rows; r++) {
				double *x = &tb->x[c * tb->rows + r];
				if (!isnan(*x))
					*x = b > a ? fmin(1, fmax(-1, 2 * (*x - a) / (b - a) - 1)) : 0;
			}
		}
	}
	return SR_OK;
}

/* A party's lr part: {"version":1,"kind":"vlr-active"|"vlr-passive",
 * "party":j,"features":[...],"weights":[...],"lo":[...],"hi":[...],
 * "intercept":b (A only),"epochs_run":n}. */
static int vlr_part_encode(const struct train_spec *s, size_t j, const struct sr_ml_lr *m,
			   const double *lo, const double *hi, struct sr_buf *out,
			   struct sr_err *err)
{
	const struct train_vinput *vi = &s->vin[s->order[j]];
	json_t *o = json_pack("{s:i,s:s,s:I,s:[],s:[],s:[],s:[],s:I}", "version", 1, "kind",
			      j ? "vlr-passive" : "vlr-active", "party", (json_int_t)j,
			      "features", "weights", "lo", "hi", "epochs_run",
			      (json_int_t)m->epochs_run);
	int bad = !o, rc;

	for (size_t f = 0; !bad && f < m->cols; f++)
		bad = json_array_append_new(json_object_get(o, "features"),
					    json_string(vi->features[f])) ||
		      json_array_append_new(json_object_get(o, "weights"), json_real(m->w[f])) ||
		      json_array_append_new(json_object_get(o, "lo"), json_real(lo[f])) ||
		      json_array_append_new(json_object_get(o, "hi"), json_real(hi[f]));
	if (!bad && j == 0)
		bad = json_object_set_new(o, "intercept", json_real(m->bias));
	rc = bad ? sr_fail(err, SR_ENOMEM, "out of memory") : sr_json_dump(o, 0, out);
	if (rc && !bad)
		rc = sr_fail(err, rc, "out of memory");
	json_decref(o);
	return rc;
}

/*
 * The lr envelope: rows [feature, party, weight]: the intercept and A's
 * weights (on its scaled features); each passive party's features by name
 * with a null weight (its weights stay at it).
 */
static json_t *envelope_lr(const struct sr_kind_ctx *c, const struct train_spec *s,
			   const struct sr_ml_lr *a, size_t aligned, size_t ntrain, size_t ntest,
			   const struct sr_ml_vlr_stats *st, json_t *evaluation)
{
	json_t *rows = json_array(), *parties = json_array(), *meta;
	int bad = !rows || !parties || !evaluation;

	if (!bad)
		bad = json_array_append_new(rows, json_pack("[s,s,f]", "(intercept)",
							    owner_org(c, s, 0), a->bias)) != 0;
	for (size_t j = 0; !bad && j < s->nvin; j++) {
		const struct train_vinput *vi = &s->vin[s->order[j]];
		bad = json_array_append_new(parties, json_string(owner_org(c, s, j))) != 0;
		for (size_t f = 0; !bad && f < vi->nfeatures; f++)
			bad = json_array_append_new(rows, json_pack("[s,s,o]", vi->features[f],
								    owner_org(c, s, j),
								    j ? json_null() :
								    json_real(a->w[f]))) != 0;
	}
	meta = bad ? NULL :
		json_pack("{s:s,s:s,s:s,s:o,s:{s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I},"
			  "s:I,s:I,s:I,s:I,s:o}",
			  "model", "lr", "mode", "vertical", "active", owner_org(c, s, 0),
			  "parties", parties,
			  "params", "epochs", (json_int_t)s->lr.epochs, "batch", (json_int_t)s->lr.batch,
			  "learning_rate", s->lr.learning_rate, "l2", s->lr.l2,
			  "early_stopping_rounds", (json_int_t)s->lr.early_stopping_rounds,
			  "d_frac_bits", (json_int_t)SR_ML_VLR_D_FRAC_BITS,
			  "x_frac_bits", (json_int_t)SR_ML_VLR_X_FRAC_BITS,
			  "u_frac_bits", (json_int_t)SR_ML_VLR_U_FRAC_BITS,
			  "key_bits", (json_int_t)(st ? train_sb_key_bits : 0),
			  "epochs_run", (json_int_t)a->epochs_run,
			  "aligned_rows", (json_int_t)aligned, "train_rows", (json_int_t)ntrain,
			  "test_rows", (json_int_t)ntest, "evaluation", evaluation);
	if (!meta) {
		if (bad) {
			json_decref(parties);
			json_decref(evaluation);
		}
		json_decref(rows);
		return NULL;
	}
	if (st && json_object_set_new(meta, "vertical_lr",
				      json_pack("{s:I,s:I,s:f,s:f,s:f,s:I}",
						"bytes_sent", (json_int_t)st->bytes_sent,
						"bytes_received", (json_int_t)st->bytes_received,
						"seconds", (double)st->total_ns / 1e9,
						"encrypt_seconds", (double)st->encrypt_ns / 1e9,
						"decrypt_seconds", (double)st->decrypt_ns / 1e9,
						"ciphertexts_decrypted",
						(json_int_t)st->ciphertexts_decrypted))) {
		json_decref(meta);
		json_decref(rows);
		return NULL;
	}
	return sr_kind_envelope(json_pack("[s,s,s]", "feature", "party", "weight"), rows, meta);
}

/* A's lr training on the aligned rows: weights, test scores, envelope. */
static int active_lr(struct vrun *r, size_t aligned, json_t **result, struct sr_err *err)
{
	const struct train_spec *s = r->s;
	struct sr_ml_vlr_params p;
	struct sr_ml_data dtr, dte;
	double *pred = NULL;
	json_t *eval;
	int rc;

	if ((rc = scale_columns(&r->train, &r->test, &r->lo, &r->hi, err)))
		return rc;
	dtr = train_table_view(&r->train);
	dte = train_table_view(&r->test);
	vlr_params(r->c, s, &p);
	if (!(pred = sr_calloc(dte.rows + 1, sizeof(*pred))))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_kind_progress(r->c, "vertical logistic regression", 0, s->lr.epochs);
	rc = sr_ml_vlr_active(&p, &dtr, dte.rows ? &dte : NULL, r->sb + 1, s->nvin - 1, &r->lr,
			      pred, &r->lr_stats, err);
	if (rc == SR_OK && !(eval = evaluate(s, dte.y, pred, dte.rows, err)))
		rc = err->code ? err->code : SR_ENOMEM;
	if (rc == SR_OK && !(*result = envelope_lr(r->c, s, &r->lr, aligned, dtr.rows, dte.rows,
						   &r->lr_stats, eval)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	sr_free(pred);
	return rc;
}

/* A passive party's lr training: its weights, kept with its scaling. */
static int passive_lr(struct vrun *r, struct sr_buf *b, struct sr_err *err)
{
	struct sr_ml_vlr_params p;
	struct sr_ml_data dtr, dte;
	int rc;

	if ((rc = scale_columns(&r->train, &r->test, &r->lo, &r->hi, err)))
		return rc;
	dtr = train_table_view(&r->train);
	dte = train_table_view(&r->test);
	dtr.y = dte.y = NULL;
	vlr_params(r->c, r->s, &p);
	sr_kind_progress(r->c, "vertical logistic regression", 0, r->s->lr.epochs);
	rc = sr_ml_vlr_passive(&p, &dtr, dte.rows ? &dte : NULL, &r->sb[0], &r->lr, &r->lr_stats,
			       err);
	if (rc == SR_OK && (rc = vlr_part_encode(r->s, r->role, &r->lr, r->lo, r->hi, b, err)) == SR_OK)
		rc = keep(r->c, "vlr-part", b, err);
	return rc;
}

static int run_active(struct vrun *r, json_t **result, struct sr_err *err)
{
	const struct train_spec *s = r->s;
	const struct sr_kind_ctx *c = r->c;
	size_t np = s->nvin - 1, n = 0;
	size_t *idx = NULL;
	uint8_t *mask = NULL;
	double *pred = NULL;
	struct sr_ml_sb_params p;
	struct sr_ml_data dtr, dte;
	struct sr_buf b;
	json_t *eval;
	int rc = SR_OK;

	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	rc = vertical_align_active(c, s, &r->rows, r->align, test_mask, &idx, &mask, &n, err);
	if (rc == SR_OK && n == 0)
		rc = no_rows(err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, mask, n, 0, 1, &r->train, err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, mask, n, 1, 1, &r->test, err);
	if (rc)
		goto out;
	if (s->model == TRAIN_LR) {
		rc = active_lr(r, n, result, err);
		goto send;
	}
	dtr = train_table_view(&r->train);
	dte = train_table_view(&r->test);
	sb_params(c, s, &p);
	sr_kind_progress(c, "SecureBoost training", 0, s->gbdt.trees);
	rc = sr_ml_sb_active(&p, &dtr, s->gbdt.early_stopping_rounds ? &dte : NULL, r->sb + 1, np,
			     &r->model, &r->stats, err);
	if (rc == SR_OK && !(pred = sr_calloc(dte.rows + 1, sizeof(*pred))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK) {
		sr_kind_progress(c, "scoring the test rows jointly", 0, 0);
		rc = sr_ml_sb_predict_active(&r->model, &dte, r->pred + 1, np, pred, err);
	}
	if (rc == SR_OK && !(eval = evaluate(s, dte.y, pred, dte.rows, err)))
		rc = err->code ? err->code : SR_ENOMEM;
	if (rc == SR_OK) {
		struct vview v = { &r->model, NULL, s };
		if (!(*result = envelope(c, s, &v, n, r->train.rows, r->test.rows, eval)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc == SR_OK &&
	    json_object_set_new(json_object_get(*result, "meta"), "secureboost",
				json_pack("{s:I,s:I,s:f,s:f,s:f,s:I}",
					  "bytes_sent", (json_int_t)r->stats.bytes_sent,
					  "bytes_received", (json_int_t)r->stats.bytes_received,
					  "seconds", (double)r->stats.total_ns / 1e9,
					  "encrypt_seconds", (double)r->stats.encrypt_ns / 1e9,
					  "decrypt_seconds", (double)r->stats.decrypt_ns / 1e9,
					  "key_bits", (json_int_t)p.key_bits)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
send:
	/* The result to every other receiver. */
	if (rc == SR_OK)
		rc = vertical_send_result(c, s, r->align, CH_ALIGN, RESULT_MAGIC, *result, err);
	if (rc == SR_OK && s->model == TRAIN_LR) {
		sr_buf_reset(&b);
		if ((rc = vlr_part_encode(s, 0, &r->lr, r->lo, r->hi, &b, err)) == SR_OK)
			rc = keep(c, "vlr-model", &b, err);
	} else if (rc == SR_OK) {
		sr_buf_reset(&b);
		if ((rc = sr_ml_sb_model_encode(&r->model, &b, err)) == SR_OK)
			rc = keep(c, "secureboost-model", &b, err);
	}
out:
	sr_free(idx);
	sr_free(mask);
	sr_free(pred);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

static int run_passive(struct vrun *r, struct sr_err *err)
{
	const struct sr_kind_ctx *c = r->c;
	struct sr_ml_sb_params p;
	struct sr_ml_data dtr, dte;
	uint8_t *mask = NULL;
	size_t *idx = NULL, n = 0;
	struct sr_buf b;
	int rc;

	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	rc = vertical_align_passive(c, r->role, &r->rows, &r->align[0], &idx, &mask, &n, err);
	if (rc == SR_OK && n == 0)
		rc = no_rows(err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, mask, n, 0, 0, &r->train, err);
	if (rc == SR_OK)
		rc = vrows_take(&r->rows, idx, mask, n, 1, 0, &r->test, err);
	if (rc)
		goto out;
	if (r->s->model == TRAIN_LR) {
		rc = passive_lr(r, &b, err);
		goto out;
	}
	dtr = train_table_view(&r->train);
	dte = train_table_view(&r->test);
	dtr.y = dte.y = NULL;
	sb_params(c, r->s, &p);
	sr_kind_progress(c, "SecureBoost training", 0, r->s->gbdt.trees);
	rc = sr_ml_sb_passive(&p, &dtr, r->s->gbdt.early_stopping_rounds ? &dte : NULL, &r->sb[0],
			      &r->part, &r->stats, err);
	if (rc == SR_OK) {
		sr_kind_progress(c, "scoring the test rows jointly", 0, 0);
		rc = sr_ml_sb_predict_passive(&r->part, &dte, &r->pred[0], err);
	}
	if (rc == SR_OK && (rc = sr_ml_sb_part_encode(&r->part, &b, err)) == SR_OK)
		rc = keep(c, "secureboost-part", &b, err);
out:
	sr_free(mask);
	sr_free(idx);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

/* A receiver other than A: the envelope from A. */
static int recv_result(struct vrun *r, json_t **result, struct sr_err *err)
{
	return vertical_recv_result(&r->align[0], RESULT_MAGIC, "train", result, err);
}

int train_vertical_run(const struct sr_kind_ctx *c, const struct train_spec *s,
		       json_t **result, struct sr_err *err)
{
	struct vrun r;
	int rc = SR_OK;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.s = s;
	r.role = SIZE_MAX;
	for (size_t j = 0; j < s->nvin; j++)
		if (c->inputs[s->order[j]].local)
			r.role = j;
	r.a_party = party_of(c, c->inputs[s->active].owner);
	r.align = sr_calloc(s->nvin, sizeof(*r.align));
	r.sb = sr_calloc(s->nvin, sizeof(*r.sb));
	r.pred = sr_calloc(s->nvin, sizeof(*r.pred));
	if (!r.align || !r.sb || !r.pred || r.a_party == SIZE_MAX) {
		rc = sr_fail(err, r.a_party == SIZE_MAX ? SR_EINVAL : SR_ENOMEM,
			     r.a_party == SIZE_MAX ? "train: the active party is not a participant" :
			     "out of memory");
		goto out;
	}
	if (r.role != SIZE_MAX && !c->keep) {
		/* Refuse before anything is computed. */
		struct sr_buf none = { 0 };
		rc = keep(c, "", &none, err);
		goto out;
	}
	if (r.role == 0) {
		for (size_t j = 1; rc == SR_OK && j < s->nvin; j++) {
			const char *peer = owner_org(c, s, j);
			if ((rc = sr_kind_pipe(c, peer, CH_ALIGN, &r.align[j], err)) == SR_OK &&
			    (rc = sr_kind_pipe(c, peer, CH_SB, &r.sb[j], err)) == SR_OK)
				rc = sr_kind_pipe(c, peer, CH_PREDICT, &r.pred[j], err);
		}
	} else {
		const char *a = c->parties[r.a_party];
		rc = sr_kind_pipe(c, a, CH_ALIGN, &r.align[0], err);
		if (rc == SR_OK && r.role != SIZE_MAX &&
		    (rc = sr_kind_pipe(c, a, CH_SB, &r.sb[0], err)) == SR_OK)
			rc = sr_kind_pipe(c, a, CH_PREDICT, &r.pred[0], err);
	}
	if (rc == SR_OK && r.role != SIZE_MAX) {
		sr_kind_progress(c, "reading the input", 0, 0);
		rc = vrows_load(c, s, s->order[r.role], &r.rows, err);
	}
	if (rc)
		goto out;
	if (r.role == 0)
		rc = run_active(&r, result, err);
	else if (r.role != SIZE_MAX)
		rc = run_passive(&r, err);
	if (rc == SR_OK && r.role != 0 && c->receiver)
		rc = recv_result(&r, result, err);
out:
	vrows_release(&r.rows);
	train_table_release(&r.train);
	train_table_release(&r.test);
	sr_ml_sb_model_release(&r.model);
	sr_ml_sb_part_release(&r.part);
	sr_ml_lr_release(&r.lr);
	sr_free(r.lo);
	sr_free(r.hi);
	sr_free(r.align);
	sr_free(r.sb);
	sr_free(r.pred);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}

/* ---- run_central ---------------------------------------------------------------------- */

struct keyref {
	const struct vrows *v;
	size_t i;
};

static int cmp_key(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t lx = x->v->off[x->i + 1] - x->v->off[x->i];
	size_t ly = y->v->off[y->i + 1] - y->v->off[y->i];
	int c = memcmp(x->v->text.data + x->v->off[x->i], y->v->text.data + y->v->off[y->i],
		       lx < ly ? lx : ly);

	if (c == 0 && lx != ly)
		c = lx < ly ? -1 : 1;
	if (c == 0)
		c = x->i < y->i ? -1 : x->i > y->i;
	return c;
}

/* Sorted keys of v, one per distinct key: its first row (as PSI keeps). */
static int sorted_keys(const struct vrows *v, struct keyref **out, size_t *n,
		       struct sr_err *err)
{
	struct keyref *k = sr_calloc(v->n + 1, sizeof(*k));
	size_t m = 0;

	if (!k)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < v->n; i++)
		k[i] = (struct keyref){ v, i };
	qsort(k, v->n, sizeof(*k), cmp_key);
	for (size_t i = 0; i < v->n; i++) {
		/* Sorted by key then row: the first of a run is its first row. */
		if (m) {
			size_t la = v->off[k[i].i + 1] - v->off[k[i].i];
			size_t lb = v->off[k[m - 1].i + 1] - v->off[k[m - 1].i];
			if (la == lb && memcmp(v->text.data + v->off[k[i].i],
					       v->text.data + v->off[k[m - 1].i], la) == 0)
				continue;
		}
		k[m++] = k[i];
	}
	*out = k;
	*n = m;
	return SR_OK;
}

/* The row of v with A's key i (SIZE_MAX: none). */
static size_t find_key(const struct keyref *k, size_t n, const struct vrows *a, size_t i)
{
	size_t lo = 0, hi = n, la = a->off[i + 1] - a->off[i];
	const char *ka = a->text.data + a->off[i];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vrows *v = k[mid].v;
		size_t lv = v->off[k[mid].i + 1] - v->off[k[mid].i];
		int c = memcmp(v->text.data + v->off[k[mid].i], ka, lv < la ? lv : la);
		if (c == 0 && lv != la)
			c = lv < la ? -1 : 1;
		if (c == 0)
			return k[mid].i;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* ---- the alignment, shared with the predict kind (vertical.h) ----------------- */

int vertical_align_active(const struct sr_kind_ctx *c, const struct train_spec *s,
			  const struct vrows *rows, const struct sr_pipe *align,
			  vertical_mask_fn mask_of, size_t **idx, uint8_t **mask, size_t *n,
			  struct sr_err *err)
{
	size_t np = s->nvin - 1;
	struct sr_psi_result res[SR_ML_SB_PASSIVE_MAX];
	int64_t *at[SR_ML_SB_PASSIVE_MAX] = { 0 };
	uint64_t *pos = NULL;
	int rc = SR_OK;

	*idx = NULL;
	*mask = NULL;
	*n = 0;
	for (size_t j = 0; j < np; j++)
		sr_psi_result_init(&res[j]);
	sr_kind_progress(c, "aligning rows by PSI", 0, np);
	for (size_t j = 0; rc == SR_OK && j < np; j++) {
		rc = pair_psi(c, j + 1, SR_PSI_RECEIVER, rows, &align[j + 1], &res[j], err);
		if (rc == SR_OK && !(at[j] = sr_malloc((rows->n + 1) * sizeof(int64_t))))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		for (size_t i = 0; rc == SR_OK && i < rows->n; i++)
			at[j][i] = -1;
		for (size_t k = 0; rc == SR_OK && k < res[j].rows_len; k++)
			at[j][res[j].rows[k]] = (int64_t)k;
	}
	if (rc)
		goto out;
	/* The aligned rows: A's rows in every pair's intersection, in A's
	 * scan order (an order every run and run_central agree on). */
	*idx = sr_calloc(rows->n + 1, sizeof(**idx));
	pos = sr_calloc(rows->n + 1, sizeof(*pos));
	*mask = sr_calloc(rows->n + 1, 1);
	if (!*idx || !pos || !*mask) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rows->n; i++) {
		int all = 1;
		for (size_t j = 0; j < np; j++)
			all &= at[j][i] >= 0;
		if (all)
			(*idx)[(*n)++] = i;
	}
	if (mask_of)
		rc = mask_of(c, s, rows, *idx, *n, *mask, err);
	for (size_t j = 0; rc == SR_OK && j < np; j++) {
		for (size_t k = 0; k < *n; k++)
			pos[k] = (uint64_t)at[j][(*idx)[k]];
		rc = send_align(&align[j + 1], pos, *mask, *n, err);
	}
out:
	for (size_t j = 0; j < np; j++) {
		sr_psi_result_release(&res[j]);
		sr_free(at[j]);
	}
	sr_free(pos);
	if (rc) {
		sr_free(*idx);
		sr_free(*mask);
		*idx = NULL;
		*mask = NULL;
		*n = 0;
	}
	return rc;
}

int vertical_align_passive(const struct sr_kind_ctx *c, size_t j, const struct vrows *rows,
			   const struct sr_pipe *align, size_t **idx, uint8_t **mask, size_t *n,
			   struct sr_err *err)
{
	struct sr_psi_result res;
	uint64_t *pos = NULL;
	int rc;

	*idx = NULL;
	*mask = NULL;
	*n = 0;
	sr_psi_result_init(&res);
	sr_kind_progress(c, "aligning rows by PSI", 0, 0);
	rc = pair_psi(c, j, SR_PSI_SENDER, rows, align, &res, err);
	if (rc == SR_OK)
		rc = recv_align(align, res.rows_len, &pos, mask, n, err);
	if (rc == SR_OK && !(*idx = sr_calloc(*n + 1, sizeof(**idx))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t k = 0; rc == SR_OK && k < *n; k++)
		(*idx)[k] = (size_t)res.rows[pos[k]];
	sr_psi_result_release(&res);
	sr_free(pos);
	if (rc) {
		sr_free(*idx);
		sr_free(*mask);
		*idx = NULL;
		*mask = NULL;
		*n = 0;
	}
	return rc;
}

int vertical_send_result(const struct sr_kind_ctx *c, const struct train_spec *s,
			 const struct sr_pipe *align, uint32_t channel, const char *magic,
			 const json_t *result, struct sr_err *err)
{
	struct sr_buf b;
	int rc;

	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	rc = sr_buf_add(&b, magic, 4) == SR_OK && sr_json_dump(result, 0, &b) == SR_OK ? SR_OK :
		sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t k = 0; rc == SR_OK && k < c->nreceivers; k++) {
		size_t q = party_of(c, c->receivers[k]), j;
		struct sr_pipe to;
		if (q == SIZE_MAX || q == c->self_index)
			continue;
		/* A passive party's ALIGN pipe, or a new one to a receiver that
		 * owns no input. */
		for (j = 1; j < s->nvin && strcmp(owner_org(c, s, j), c->parties[q]) != 0; j++)
			;
		if (j < s->nvin)
			to = align[j];
		else
			rc = sr_kind_pipe(c, c->parties[q], channel, &to, err);
		if (rc == SR_OK)
			rc = to.send(to.ctx, (const uint8_t *)b.data, b.len, err);
	}
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

int vertical_recv_result(const struct sr_pipe *from, const char *magic, const char *kind,
			 json_t **result, struct sr_err *err)
{
	struct sr_buf b;
	json_error_t je;
	int rc;

	sr_buf_init(&b, RESULT_MAX);
	rc = from->recv(from->ctx, &b, RESULT_MAX, err);
	if (rc == SR_OK && (b.len < 4 || memcmp(b.data, magic, 4) != 0 ||
			    !(*result = json_loadb(b.data + 4, b.len - 4, 0, &je)) ||
			    !json_is_object(*result)))
		rc = sr_fail(err, SR_EPROTO, "%s: malformed RESULT message from the active party", kind);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

/* The alignment of rows[0..nv): idx[j][k] is the row of rows[j] of
 * aligned row k (idx[j] allocated here). */
static int align_central(const struct vrows *rows, size_t nv, size_t **idx, size_t *n,
			 struct sr_err *err)
{
	struct keyref **keys = sr_calloc(nv, sizeof(*keys));
	size_t *nkeys = sr_calloc(nv, sizeof(*nkeys));
	uint8_t *first = sr_calloc(rows[0].n + 1, 1);
	int rc = keys && nkeys && first ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");

	*n = 0;
	for (size_t j = 0; rc == SR_OK && j < nv; j++)
		rc = sorted_keys(&rows[j], &keys[j], &nkeys[j], err);
	for (size_t j = 0; rc == SR_OK && j < nv; j++)
		if (!(idx[j] = sr_calloc(rows[0].n + 1, sizeof(**idx))))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	/* A's first row of each key, in A's scan order, present everywhere. */
	for (size_t k = 0; rc == SR_OK && k < nkeys[0]; k++)
		first[keys[0][k].i] = 1;
	for (size_t i = 0; rc == SR_OK && i < rows[0].n; i++) {
		size_t at[SR_ML_SB_PASSIVE_MAX + 1];
		int all = first[i];
		for (size_t j = 1; all && j < nv; j++)
			all = (at[j] = find_key(keys[j], nkeys[j], &rows[0], i)) != SIZE_MAX;
		if (!all)
			continue;
		idx[0][*n] = i;
		for (size_t j = 1; j < nv; j++)
			idx[j][*n] = at[j];
		(*n)++;
	}
	for (size_t j = 0; keys && j < nv; j++)
		sr_free(keys[j]);
	sr_free(keys);
	sr_free(nkeys);
	sr_free(first);
	return rc;
}

int vertical_central_rows(const struct sr_kind_ctx *c, const struct train_spec *s,
			  struct vrows **rows, size_t ***idx, size_t *n, struct sr_err *err)
{
	int rc = SR_OK;

	*n = 0;
	*rows = sr_calloc(s->nvin, sizeof(**rows));
	*idx = sr_calloc(s->nvin, sizeof(**idx));
	if (!*rows || !*idx)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; rc == SR_OK && j < s->nvin; j++)
		rc = vrows_load(c, s, s->order[j], &(*rows)[j], err);
	if (rc == SR_OK)
		rc = align_central(*rows, s->nvin, *idx, n, err);
	return rc;
}

void vertical_central_release(struct vrows *rows, size_t **idx, size_t nv)
{
	for (size_t j = 0; j < nv; j++) {
		if (rows)
			vrows_release(&rows[j]);
		if (idx)
			sr_free(idx[j]);
	}
	sr_free(rows);
	sr_free(idx);
}

/* ---- TEE mode: the central model handed out in parts ---------------------------------- */

/*
 * The parts federated training would have left at each party, from the
 * central model g over the pooled columns: A's struct sr_ml_sb_model
 * (every tree's shape and leaves, its own splits) and each passive
 * party's struct sr_ml_sb_part (its splits, numbered as sr_ml_sb_active
 * numbers them: per party, in tree order, each tree depth first, left
 * before right).  parts has s->nvin - 1 entries.
 */
static int central_sb_parts(const struct train_spec *s, const struct sr_ml_gbdt *g,
			    struct sr_ml_sb_model *m, struct sr_ml_sb_part *parts,
			    struct sr_err *err)
{
	size_t nv = s->nvin, cap = 64;
	uint32_t *stack = NULL;
	int rc = SR_OK;

	memset(m, 0, sizeof(*m));
	m->loss = g->loss;
	m->parties = (uint32_t)nv;
	m->base_margin = g->base_margin;
	m->best_trees = g->best_trees;
	m->party_cols = sr_calloc(nv, sizeof(*m->party_cols));
	m->trees = sr_calloc(g->ntrees ? g->ntrees : 1, sizeof(*m->trees));
	stack = sr_calloc(cap, sizeof(*stack));
	if (!m->party_cols || !m->trees || !stack)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; rc == SR_OK && j < nv; j++) {
		m->party_cols[j] = s->vin[s->order[j]].nfeatures;
		if (j > 0) {
			parts[j - 1].party = (uint32_t)j;
			parts[j - 1].cols = m->party_cols[j];
		}
	}
	for (size_t t = 0; rc == SR_OK && t < g->ntrees; t++) {
		const struct sr_ml_tree *gt = &g->trees[t];
		struct sr_ml_sb_tree *st = &m->trees[t];
		size_t top = 0;

		m->ntrees = t + 1;
		if (!(st->nodes = sr_calloc(gt->nnodes ? gt->nnodes : 1, sizeof(*st->nodes)))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		st->nnodes = gt->nnodes;
		if (gt->nnodes)
			stack[top++] = 0;
		while (rc == SR_OK && top > 0) {
			uint32_t k = stack[--top];
			const struct sr_ml_node *gn = &gt->nodes[k];
			struct sr_ml_sb_node *sn = &st->nodes[k];
			size_t owner = 0, first = 0;

			sn->left = gn->left;
			sn->right = gn->right;
			sn->value = gn->value;
			sn->gain = gn->gain;
			sn->cover = gn->cover;
			if (!gn->left)
				continue;
			if (gn->left >= gt->nnodes || gn->right >= gt->nnodes) {
				rc = sr_fail(err, SR_EINTERNAL, "train: tree %zu node %u: a child out of range",
					     t, k);
				break;
			}
			if (top + 2 > cap) {
				uint32_t *ns = sr_realloc(stack, 2 * cap * sizeof(*ns));
				if (!ns) {
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
					break;
				}
				stack = ns;
				cap *= 2;
			}
			for (size_t j = 0, f = 0; j < nv; f += m->party_cols[j], j++)
				if (gn->feature >= f && gn->feature < f + m->party_cols[j]) {
					owner = j;
					first = f;
				}
			sn->owner = (uint32_t)owner;
			if (owner == 0) {
				sn->feature = gn->feature;
				sn->bin = gn->bin;
				sn->threshold = gn->threshold;
				sn->missing_left = gn->missing_left;
			} else {
				struct sr_ml_sb_part *pt = &parts[owner - 1];
				struct sr_ml_sb_split *sp = sr_realloc(pt->splits, (pt->nsplits + 1) *
								       sizeof(*sp));
				if (!sp) {
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
					break;
				}
				pt->splits = sp;
				sp[pt->nsplits].feature = (uint32_t)(gn->feature - first);
				sp[pt->nsplits].bin = gn->bin;
				sp[pt->nsplits].threshold = gn->threshold;
				sp[pt->nsplits].missing_left = gn->missing_left;
				sn->split_id = (uint32_t)pt->nsplits++;
			}
			/* Depth first, left first: right below left on the stack. */
			stack[top++] = gn->right;
			stack[top++] = gn->left;
		}
	}
	sr_free(stack);
	return rc;
}

/* run_central in TEE mode (c->keep_at): each party's SecureBoost part. */
static int keep_sb_parts(const struct sr_kind_ctx *c, const struct train_spec *s,
			 const struct sr_ml_gbdt *g, struct sr_err *err)
{
	struct sr_ml_sb_model m;
	struct sr_ml_sb_part parts[SR_ML_SB_PASSIVE_MAX];
	struct sr_buf b;
	int rc;

	memset(parts, 0, sizeof(parts));
	if (s->nvin - 1 > SR_ML_SB_PASSIVE_MAX)
		return sr_fail(err, SR_ELIMIT, "train: more than %d passive parties",
			       SR_ML_SB_PASSIVE_MAX);
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	rc = central_sb_parts(s, g, &m, parts, err);
	if (rc == SR_OK)
		rc = sr_ml_sb_model_encode(&m, &b, err);
	if (rc == SR_OK)
		rc = c->keep_at(c->impl, owner_org(c, s, 0), "secureboost-model", b.data, b.len, err);
	for (size_t j = 1; rc == SR_OK && j < s->nvin; j++) {
		sr_buf_wipe(&b);
		sr_buf_reset(&b);
		rc = sr_ml_sb_part_encode(&parts[j - 1], &b, err);
		if (rc == SR_OK)
			rc = c->keep_at(c->impl, owner_org(c, s, j), "secureboost-part", b.data, b.len,
					err);
	}
	sr_ml_sb_model_release(&m);
	for (size_t j = 0; j + 1 < s->nvin && j < SR_ML_SB_PASSIVE_MAX; j++)
		sr_ml_sb_part_release(&parts[j]);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

/* run_central in TEE mode (c->keep_at): each party's lr part, its slice of
 * the pooled weights and scaling. */
static int keep_lr_parts(const struct sr_kind_ctx *c, const struct train_spec *s,
			 const struct sr_ml_lr *m, const double *lo, const double *hi,
			 struct sr_err *err)
{
	struct sr_buf b;
	int rc = SR_OK;

	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	for (size_t j = 0, first = 0; rc == SR_OK && j < s->nvin; j++) {
		size_t nf = s->vin[s->order[j]].nfeatures;
		struct sr_ml_lr part = { nf, m->w + first, j ? 0 : m->bias, m->epochs_run };

		sr_buf_wipe(&b);
		sr_buf_reset(&b);
		rc = vlr_part_encode(s, j, &part, lo + first, hi + first, &b, err);
		if (rc == SR_OK)
			rc = c->keep_at(c->impl, owner_org(c, s, j), j ? "vlr-part" : "vlr-model",
					b.data, b.len, err);
		first += nf;
	}
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	return rc;
}

/* The oracle of lr: the parties' scaling and sr_ml_lr_train on the pooled columns. */
static int central_lr(const struct sr_kind_ctx *c, const struct train_spec *s,
		      struct train_table *train, struct train_table *test, size_t aligned,
		      json_t **result, struct sr_err *err)
{
	struct sr_ml_data dtr, dte;
	struct sr_ml_lr m = { 0 };
	double *lo = NULL, *hi = NULL, *pred = NULL;
	json_t *eval;
	int rc;

	rc = scale_columns(train, test, &lo, &hi, err);
	dtr = train_table_view(train);
	dte = train_table_view(test);
	if (rc == SR_OK)
		rc = sr_ml_lr_train(&s->lr, &dtr,
				    s->lr.early_stopping_rounds && dte.rows ? &dte : NULL, &m, err);
	if (rc == SR_OK && !(pred = sr_calloc(dte.rows + 1, sizeof(*pred))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		sr_ml_lr_predict(&m, &dte, pred);
	if (rc == SR_OK && !(eval = evaluate(s, dte.y, pred, dte.rows, err)))
		rc = err->code ? err->code : SR_ENOMEM;
	if (rc == SR_OK && !(*result = envelope_lr(c, s, &m, aligned, dtr.rows, dte.rows, NULL, eval)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK && c->keep_at)
		rc = keep_lr_parts(c, s, &m, lo, hi, err);
	sr_ml_lr_release(&m);
	sr_free(lo);
	sr_free(hi);
	sr_free(pred);
	return rc;
}

int train_vertical_central(const struct sr_kind_ctx *c, const struct train_spec *s,
			   json_t **result, struct sr_err *err)
{
	size_t nv = s->nvin, n = 0;
	struct vrows *rows = NULL;
	size_t **idx = NULL;
	uint8_t *mask = NULL;
	struct train_table train = { 0 }, test = { 0 };
	struct sr_ml_gbdt model = { 0 };
	double *pred = NULL, *xtr = NULL, *xte = NULL;
	json_t *eval;
	int rc;

	*result = NULL;
	rc = vertical_central_rows(c, s, &rows, &idx, &n, err);
	if (rc)
		goto out;
	if (n == 0) {
		rc = no_rows(err);
		goto out;
	}
	if (!(mask = sr_calloc(n, 1))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = test_mask(c, s, &rows[0], idx[0], n, mask, err);
	if (rc)
		goto out;
	/* The pooled columns: A's, then each passive party's. */
	{
		struct train_table part[2];
		size_t ntr = 0, nte = 0, col = 0;
		for (size_t k = 0; k < n; k++)
			nte += mask[k];
		ntr = n - nte;
		xtr = sr_calloc(ntr * s->nfeatures + 1, sizeof(double));
		xte = sr_calloc(nte * s->nfeatures + 1, sizeof(double));
		if (!xtr || !xte) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t j = 0; rc == SR_OK && j < nv; j++) {
			memset(part, 0, sizeof(part));
			rc = vrows_take(&rows[j], idx[j], mask, n, 0, j == 0, &part[0], err);
			if (rc == SR_OK)
				rc = vrows_take(&rows[j], idx[j], mask, n, 1, j == 0, &part[1], err);
			if (rc == SR_OK) {
				memcpy(xtr + col * ntr, part[0].x, ntr * rows[j].cols * sizeof(double));
				memcpy(xte + col * nte, part[1].x, nte * rows[j].cols * sizeof(double));
				col += rows[j].cols;
			}
			if (rc == SR_OK && j == 0) {
				train.y = part[0].y;
				test.y = part[1].y;
				part[0].y = part[1].y = NULL;
			}
			train_table_release(&part[0]);
			train_table_release(&part[1]);
		}
		if (rc)
			goto out;
		train.rows = ntr;
		test.rows = nte;
		train.cols = test.cols = s->nfeatures;
		train.x = xtr;
		test.x = xte;
		xtr = xte = NULL;
	}
	if (s->model == TRAIN_LR) {
		rc = central_lr(c, s, &train, &test, n, result, err);
		goto out;
	}
	{
		struct sr_ml_data dtr = train_table_view(&train), dte = train_table_view(&test);
		rc = sr_ml_gbdt_train(&s->gbdt, &dtr, s->gbdt.early_stopping_rounds ? &dte : NULL,
				      &model, err);
		if (rc == SR_OK && !(pred = sr_calloc(dte.rows + 1, sizeof(*pred))))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		if (rc == SR_OK)
			sr_ml_gbdt_predict(&model, &dte, pred);
		if (rc == SR_OK && !(eval = evaluate(s, dte.y, pred, dte.rows, err)))
			rc = err->code ? err->code : SR_ENOMEM;
	}
	if (rc == SR_OK) {
		struct vview v = { NULL, &model, s };
		if (!(*result = envelope(c, s, &v, n, train.rows, test.rows, eval)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	/* TEE mode: every party keeps the part federated training leaves it. */
	if (rc == SR_OK && c->keep_at)
		rc = keep_sb_parts(c, s, &model, err);
out:
	vertical_central_release(rows, idx, nv);
	sr_free(mask);
	sr_free(pred);
	sr_free(xtr);
	sr_free(xte);
	train_table_release(&train);
	train_table_release(&test);
	sr_ml_gbdt_release(&model);
	return rc;
}
