/*
 * hgbdt.c - horizontal federated GBDT (hgbdt.h, docs/protocols/train.md
 * "Horizontal GBDT"): public equal-width bins, per-level secure
 * aggregation of integer (g, h) histograms, splits found at the
 * aggregator and sent to every party.
 *
 * Aggregations, in order (each its own run id: job id || counter):
 *   ROWS      [train rows, validation rows]
 *   per tree, per level d < depth with nodes: the histograms of the
 *             level's built nodes (the root; then the left child of each
 *             split), 2 x slots int64 each: g of every slot, then h
 *   per tree, with early stopping: [validation loss sum, 2^-24 units]
 *   EVAL      [train rows, test rows, then the logistic evaluation
 *             vector (SR_ML_EVAL_LEN) or, squared, [sse, sae]]
 * Messages besides secure aggregation's (exact in length, from the
 * aggregator, each after the aggregation it follows):
 *   LEVEL     type 3, then 6 u64 per node of the level: flags (1 split,
 *             2 missing left), feature, bin, then gain, value, cover as
 *             IEEE doubles
 *   STOP      type 4, [stop 0/1, best tree count]
 *   EVAL      type 5, the summed EVAL vector (to receivers)
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/hgbdt.h"
#include "base/banned.h"

#define MSG_LEVEL 3
#define MSG_STOP 4
#define MSG_EVAL 5
#define NODE_WORDS 6
#define F_SPLIT 1u
#define F_MISSING_LEFT 2u
#define NOT_SAMPLED UINT32_MAX

int sr_ml_bins_uniform(size_t cols, const double *lo, const double *hi, unsigned bins,
		       struct sr_ml_bins *out, struct sr_err *err)
{
	memset(out, 0, sizeof(*out));
	if (cols == 0)
		return sr_fail(err, SR_EINVAL, "binning: zero features");
	if (bins < 2 || bins > SR_ML_BINS_MAX)
		return sr_fail(err, SR_EINVAL, "binning: bins %u, expected 2 to %d", bins,
			       SR_ML_BINS_MAX);
	for (size_t c = 0; c < cols; c++)
		if (!isfinite(lo[c]) || !isfinite(hi[c]) || lo[c] > hi[c])
			return sr_fail(err, SR_EINVAL,
				       "binning: feature %zu has bounds [%g, %g], expected finite lo <= hi",
				       c, lo[c], hi[c]);
	out->cols = cols;
	out->ncuts = sr_calloc(cols, sizeof(*out->ncuts));
	out->cuts = sr_calloc(cols, sizeof(*out->cuts));
	if (!out->ncuts || !out->cuts)
		goto nomem;
	for (size_t c = 0; c < cols; c++) {
		double *cuts = sr_calloc(bins, sizeof(*cuts));
		uint32_t n = 0;
		if (!(out->cuts[c] = cuts))
			goto nomem;
		for (unsigned k = 1; hi[c] > lo[c] && k < bins; k++) {
			double v = lo[c] + (hi[c] - lo[c]) * k / bins;
			/* Strictly ascending even where rounding would repeat. */
			if (v > lo[c] && (n == 0 || v > cuts[n - 1]))
				cuts[n++] = v;
		}
		out->ncuts[c] = n;
	}
	return SR_OK;
nomem:
	sr_ml_bins_release(out);
	return sr_fail(err, SR_ENOMEM, "out of memory");
}

void sr_ml_hgbdt_result_release(struct sr_ml_hgbdt_result *r)
{
	if (!r)
		return;
	sr_ml_gbdt_release(&r->model);
	memset(r, 0, sizeof(*r));
}

/* ---- evaluation (the same in the run and centrally) -------------------- */

static size_t eval_len(enum sr_ml_loss loss)
{
	return 2 + (loss == SR_ML_LOGISTIC ? SR_ML_EVAL_LEN : 2);
}

/* Add this party's row counts and test-row evaluation into v. */
static void eval_vector(const struct sr_ml_gbdt *m, size_t train_rows,
			const struct sr_ml_data *test, uint64_t *v, double *scratch)
{
	v[0] += train_rows;
	v[1] += test->rows;
	sr_ml_gbdt_predict(m, test, scratch);
	if (m->loss == SR_ML_LOGISTIC) {
		sr_ml_eval_vector_add(v + 2, test->y, scratch, test->rows);
		return;
	}
	for (size_t r = 0; r < test->rows; r++) {
		double e = fmin(fabs(scratch[r] - test->y[r]), 0x1p30);
		v[2] += sr_ml_gbdt_loss_fixed(SR_ML_SQUARED, test->y[r], scratch[r],
					      SR_ML_HGBDT_LOSS_BITS);
		v[3] += (uint64_t)llrint(ldexp(e, SR_ML_HGBDT_LOSS_BITS));
	}
}

static int eval_finish(enum sr_ml_loss loss, const uint64_t *v,
		       struct sr_ml_hgbdt_result *out, struct sr_err *err)
{
	out->train_rows = v[0];
	out->test_rows = v[1];
	if (loss == SR_ML_LOGISTIC)
		return sr_ml_eval_vector_finish(v + 2, &out->eval, err);
	if (v[1] == 0)
		return sr_fail(err, SR_EINVAL, "test split: no test rows at any party");
	out->reg.rows = v[1];
	out->reg.rmse = sr_ml_gbdt_loss_from_fixed(SR_ML_SQUARED, v[2], v[1],
						   SR_ML_HGBDT_LOSS_BITS);
	out->reg.mae = ldexp((double)v[3], -SR_ML_HGBDT_LOSS_BITS) / (double)v[1];
	return SR_OK;
}

int sr_ml_hgbdt_central(const struct sr_ml_gbdt_params *p, const struct sr_ml_bins *bins,
			const size_t *part_rows, size_t nparts,
			const struct sr_ml_data *train, const struct sr_ml_data *valid,
			const struct sr_ml_data *test, struct sr_ml_hgbdt_result *out,
			struct sr_err *err)
{
	struct sr_ml_gbdt_fixed f = { bins, part_rows, nparts, SR_ML_HGBDT_LOSS_BITS };
	size_t len = eval_len(p->loss);
	uint64_t *v = sr_calloc(len, sizeof(*v));
	double *scratch = sr_calloc(test->rows + 1, sizeof(*scratch));
	int rc;

	memset(out, 0, sizeof(*out));
	if (!v || !scratch) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (train->rows == 0) {
		rc = sr_fail(err, SR_EINVAL, "train: no training rows at any party");
		goto out;
	}
	if (p->early_stopping_rounds && valid->rows == 0) {
		rc = sr_fail(err, SR_EINVAL, "train: early stopping without validation rows at any party");
		goto out;
	}
	if (p->grad_frac_bits == 0) {
		rc = sr_fail(err, SR_EINVAL, "horizontal gbdt: grad_frac_bits 0, expected fixed point");
		goto out;
	}
	if ((rc = sr_ml_gbdt_train_bins(p, &f, train, p->early_stopping_rounds ? valid : NULL,
					&out->model, err)))
		goto out;
	out->valid_rows = p->early_stopping_rounds ? valid->rows : 0;
	eval_vector(&out->model, train->rows, test, v, scratch);
	rc = eval_finish(p->loss, v, out, err);
out:
	sr_free(v);
	sr_free(scratch);
	if (rc)
		sr_ml_hgbdt_result_release(out);
	return rc;
}

/* ---- the federated run ---------------------------------------------------- */

struct run {
	const struct sr_ml_hgbdt_params *p;
	struct sr_ml_fed F;
	struct sr_ml_layout layout;
	struct sr_buf msg;
	size_t n, slots;
	uint16_t *codes;                /* this party's training rows */
	double *g, *h;
	uint64_t *gi, *hi;              /* g, h * 2^k as two's complement */
	uint32_t *node_of;              /* per row: its node, NOT_SAMPLED */
	uint64_t *vec;                  /* aggregation buffer */
	size_t vec_cap;
	/* aggregator: totals of the current level's nodes, the histograms
	 * of the previous level's splits */
	double *gt, *ht;
	uint64_t *parent, *cur;
	size_t gt_cap, ht_cap, parent_cap, cur_cap;
	struct sr_ml_hist hist;         /* one node, decoded */
	uint64_t *words;
	size_t words_cap;
	struct sr_ml_hgbdt_stats *stats;
};

/* Grow *a to hold at least n elements of size sz (zeroed beyond). */
static int reserve(void *a, size_t *cap, size_t n, size_t sz, struct sr_err *err)
{
	void **pa = a;
	void *na;

	if (n <= *cap)
		return SR_OK;
	if (!(na = sr_realloc(*pa, n * sz)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	*pa = na;
	*cap = n;
	return SR_OK;
}

static int add_nodes(struct sr_ml_tree *t, size_t *cap, size_t k, struct sr_err *err)
{
	int rc = reserve(&t->nodes, cap, t->nnodes + k, sizeof(*t->nodes), err);

	if (rc == SR_OK) {
		memset(t->nodes + t->nnodes, 0, k * sizeof(*t->nodes));
		t->nnodes += k;
	}
	return rc;
}

/* Local integer histograms of the level's built nodes into R->vec. */
static void build_hists(struct run *R, uint32_t first, uint32_t count, uint32_t step)
{
	const struct sr_ml_layout *l = &R->layout;
	size_t nb = (count + step - 1) / step, width = 2 * R->slots;

	memset(R->vec, 0, nb * width * sizeof(*R->vec));
	for (size_t r = 0; r < R->n; r++) {
		uint32_t node = R->node_of[r], k;
		uint64_t *hg, *hh;
		if (node == NOT_SAMPLED || node < first || node >= first + count ||
		    (node - first) % step)
			continue;
		k = (node - first) / step;
		hg = R->vec + (size_t)k * width;
		hh = hg + R->slots;
		for (size_t c = 0; c < l->cols; c++) {
			size_t s = l->offset[c] + R->codes[c * R->n + r];
			hg[s] += R->gi[r];
			hh[s] += R->hi[r];
		}
	}
}

/* The aggregator's decisions for the level: splits or leaves. */
static int decide_level(struct run *R, struct sr_ml_tree *t, uint32_t first,
			uint32_t count, unsigned depth, struct sr_err *err)
{
	const struct sr_ml_gbdt_params *gp = &R->p->gbdt;
	const struct sr_ml_bins *bins = R->p->bins;
	size_t width = 2 * R->slots, splits = 0;
	int k = (int)gp->grad_frac_bits, rc;

	if (depth < gp->depth &&
	    (rc = reserve(&R->cur, &R->cur_cap, count * width, sizeof(uint64_t), err)))
		return rc;
	for (uint32_t i = 0; depth < gp->depth && i < count; i++) {
		uint64_t *h = R->cur + (size_t)i * width;
		if (depth == 0) {
			memcpy(h, R->vec, width * sizeof(*h));
		} else if (i % 2 == 0) {
			memcpy(h, R->vec + (size_t)(i / 2) * width, width * sizeof(*h));
		} else {
			const uint64_t *par = R->parent + (size_t)(i / 2) * width,
				       *left = R->cur + (size_t)(i - 1) * width;
			for (size_t s = 0; s < width; s++)
				h[s] = par[s] - left[s];
		}
	}
	if (depth == 0) {
		/* The root's totals: every row is in one slot of feature 0. */
		int64_t G = 0, H = 0;
		for (size_t s = R->layout.offset[0]; s < R->layout.offset[1]; s++) {
			G += (int64_t)R->cur[s];
			H += (int64_t)R->cur[R->slots + s];
		}
		R->gt[0] = ldexp((double)G, -k);
		R->ht[0] = ldexp((double)H, -k);
	}
	for (uint32_t i = 0; i < count; i++) {
		struct sr_ml_node *node = &t->nodes[first + i];
		struct sr_ml_split s;
		const uint64_t *h = NULL;

		s.found = 0;
		if (depth < gp->depth) {
			h = R->cur + (size_t)i * width;
			for (size_t j = 0; j < R->slots; j++) {
				R->hist.g[j] = ldexp((double)(int64_t)h[j], -k);
				R->hist.h[j] = ldexp((double)(int64_t)h[R->slots + j], -k);
			}
			sr_ml_split_find(&R->layout, &R->hist, R->gt[i], R->ht[i], &gp->tree, NULL, &s);
		}
		node->cover = R->ht[i];
		if (!s.found) {
			node->value = gp->learning_rate *
				sr_ml_leaf_weight(R->gt[i], R->ht[i], gp->tree.lambda);
			continue;
		}
		node->left = 1;   /* children are numbered by the caller */
		node->feature = (uint32_t)s.feature;
		node->bin = s.bin;
		node->threshold = bins->cuts[s.feature][s.bin];
		node->missing_left = s.missing_left;
		node->gain = s.gain;
		/* The children's totals, in the order they are created. */
		R->gt[count + 2 * splits] = s.g_left;
		R->ht[count + 2 * splits] = s.h_left;
		R->gt[count + 2 * splits + 1] = s.g_right;
		R->ht[count + 2 * splits + 1] = s.h_right;
		if (depth + 1 < gp->depth)
			memcpy(R->parent + splits * width, h, width * sizeof(*h));
		splits++;
	}
	memmove(R->gt, R->gt + count, 2 * splits * sizeof(double));
	memmove(R->ht, R->ht + count, 2 * splits * sizeof(double));
	return SR_OK;
}

static void node_to_words(const struct sr_ml_node *n, uint64_t *w)
{
	w[0] = (n->left ? F_SPLIT : 0) | (n->missing_left ? F_MISSING_LEFT : 0);
	w[1] = n->feature;
	w[2] = n->bin;
	memcpy(&w[3], &n->gain, 8);
	memcpy(&w[4], &n->value, 8);
	memcpy(&w[5], &n->cover, 8);
}

static int words_to_node(const struct run *R, const uint64_t *w, struct sr_ml_node *n,
			 struct sr_err *err)
{
	memset(n, 0, sizeof(*n));
	if (w[0] > (F_SPLIT | F_MISSING_LEFT))
		return sr_fail(err, SR_EPROTO, "level: node flags %llu", (unsigned long long)w[0]);
	memcpy(&n->gain, &w[3], 8);
	memcpy(&n->value, &w[4], 8);
	memcpy(&n->cover, &w[5], 8);
	/* Infinite gains and values can be honest (lambda 0 and a child whose
	 * rounded hessians sum to 0, as centrally); NaN cannot. */
	if (isnan(n->gain) || isnan(n->value) || isnan(n->cover))
		return sr_fail(err, SR_EPROTO, "level: a node value is NaN");
	if (!(w[0] & F_SPLIT))
		return SR_OK;
	if (w[1] >= R->layout.cols || w[2] + 1 >= R->layout.nbins[w[1]])
		return sr_fail(err, SR_EPROTO, "level: split on feature %llu bin %llu out of range",
			       (unsigned long long)w[1], (unsigned long long)w[2]);
	n->left = 1;
	n->feature = (uint32_t)w[1];
	n->bin = (uint32_t)w[2];
	n->threshold = R->p->bins->cuts[n->feature][n->bin];
	n->missing_left = (w[0] & F_MISSING_LEFT) != 0;
	return SR_OK;
}

/* Level records to or from the aggregator. */
static int exchange_level(struct run *R, struct sr_ml_tree *t, uint32_t first,
			  uint32_t count, struct sr_err *err)
{
	size_t len = (size_t)count * NODE_WORDS;
	int rc;

	if ((rc = reserve(&R->words, &R->words_cap, len, sizeof(uint64_t), err)))
		return rc;
	if (R->p->self == R->p->aggregator) {
		for (uint32_t i = 0; i < count; i++)
			node_to_words(&t->nodes[first + i], R->words + (size_t)i * NODE_WORDS);
		for (uint32_t j = 0; rc == SR_OK && j < R->p->parties; j++)
			if (j != R->p->self)
				rc = sr_ml_fed_send(&R->F, j, MSG_LEVEL, R->words, len, &R->msg, err);
		return rc;
	}
	if ((rc = sr_ml_fed_recv(&R->F, MSG_LEVEL, R->words, len, &R->msg, err)))
		return rc;
	for (uint32_t i = 0; rc == SR_OK && i < count; i++)
		rc = words_to_node(R, R->words + (size_t)i * NODE_WORDS, &t->nodes[first + i], err);
	return rc;
}

/* The tree renumbered depth first, children in pairs, as gbdt.c grows it. */
static void renumber(const struct sr_ml_node *old, uint32_t at, struct sr_ml_node *nw,
		     uint32_t to, uint32_t *next)
{
	nw[to] = old[at];
	if (!old[at].left)
		return;
	nw[to].left = (*next)++;
	nw[to].right = (*next)++;
	renumber(old, old[at].left, nw, nw[to].left, next);
	renumber(old, old[at].right, nw, nw[to].right, next);
}

/* Grow one tree over the sampled rows (node_of 0 or NOT_SAMPLED). */
static int grow_tree(struct run *R, struct sr_ml_tree *t, struct sr_err *err)
{
	const struct sr_ml_gbdt_params *gp = &R->p->gbdt;
	int agg = R->p->self == R->p->aggregator, rc;
	uint32_t first = 0, count = 1;
	size_t cap = 0, width = 2 * R->slots;
	struct sr_ml_node *dfs;

	if ((rc = add_nodes(t, &cap, 1, err)))
		return rc;
	for (unsigned depth = 0; count > 0; depth++) {
		uint32_t splits = 0, next;
		if (depth < gp->depth) {
			uint32_t step = depth == 0 ? 1 : 2, nb = (count + step - 1) / step;
			uint64_t t1 = sr_ml_now_ns();
			if ((rc = reserve(&R->vec, &R->vec_cap, nb * width, sizeof(uint64_t), err)))
				return rc;
			build_hists(R, first, count, step);
			R->stats->compute_ns += sr_ml_now_ns() - t1;
			if ((rc = sr_ml_fed_aggregate(&R->F, R->vec, nb * width, err)))
				return rc;
			R->stats->aggregations++;
		}
		if (agg) {
			if ((rc = reserve(&R->gt, &R->gt_cap, 3 * (size_t)count, sizeof(double), err)) ||
			    (rc = reserve(&R->ht, &R->ht_cap, 3 * (size_t)count, sizeof(double), err)) ||
			    (rc = reserve(&R->parent, &R->parent_cap, count * width, sizeof(uint64_t),
					  err)) ||
			    (rc = decide_level(R, t, first, count, depth, err)))
				return rc;
		}
		if ((rc = exchange_level(R, t, first, count, err)))
			return rc;
		/* Children of every split, in order, then the rows move down. */
		for (uint32_t i = 0; i < count; i++)
			splits += t->nodes[first + i].left != 0;
		next = (uint32_t)t->nnodes;
		if (splits && (rc = add_nodes(t, &cap, 2 * (size_t)splits, err)))
			return rc;
		for (uint32_t i = 0, c = next; i < count; i++) {
			struct sr_ml_node *n = &t->nodes[first + i];
			if (!n->left)
				continue;
			n->left = c++;
			n->right = c++;
		}
		for (size_t r = 0; r < R->n; r++) {
			uint32_t node = R->node_of[r];
			const struct sr_ml_node *n;
			uint16_t code;
			if (node == NOT_SAMPLED || node < first || node >= first + count)
				continue;
			n = &t->nodes[node];
			if (!n->left)
				continue;
			code = R->codes[n->feature * R->n + r];
			R->node_of[r] = (code == R->layout.nbins[n->feature] ? n->missing_left :
					 code <= n->bin) ? n->left : n->right;
		}
		first = next;
		count = 2 * splits;
	}
	if (!(dfs = sr_calloc(t->nnodes, sizeof(*dfs))))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	{
		uint32_t next = 1;
		renumber(t->nodes, 0, dfs, 0, &next);
	}
	sr_free(t->nodes);
	t->nodes = dfs;
	return SR_OK;
}

static void run_release(struct run *R)
{
	sr_ml_fed_release(&R->F);
	sr_ml_layout_release(&R->layout);
	sr_ml_hist_release(&R->hist);
	sr_buf_release(&R->msg);
	sr_free(R->codes);
	sr_free(R->g);
	sr_free(R->h);
	sr_free(R->gi);
	sr_free(R->hi);
	sr_free(R->node_of);
	sr_free(R->vec);
	sr_free(R->gt);
	sr_free(R->ht);
	sr_free(R->parent);
	sr_free(R->cur);
	sr_free(R->words);
}

static int check_inputs(const struct sr_ml_hgbdt_params *p, const struct sr_ml_data *train,
			const struct sr_ml_data *valid, const struct sr_ml_data *test,
			struct sr_err *err)
{
	int rc;

	if ((rc = sr_ml_gbdt_params_check(&p->gbdt, err)))
		return rc;
	if (p->gbdt.grad_frac_bits == 0)
		return sr_fail(err, SR_EINVAL, "horizontal gbdt: grad_frac_bits 0, expected fixed point");
	if (!p->bins || p->bins->cols != train->cols || train->cols == 0)
		return sr_fail(err, SR_EINVAL, "horizontal gbdt: the bins have %zu features, the rows %zu",
			       p->bins ? p->bins->cols : 0, train->cols);
	if (valid->cols != train->cols || test->cols != train->cols)
		return sr_fail(err, SR_EINVAL,
			       "horizontal gbdt: validation and test rows have %zu and %zu features, training %zu",
			       valid->cols, test->cols, train->cols);
	if (p->parties < 2 || p->self >= p->parties || p->aggregator >= p->parties || !p->receiver)
		return sr_fail(err, SR_EINVAL, "horizontal gbdt: party %u or aggregator %u of %u parties",
			       p->self, p->aggregator, p->parties);
	if (train->rows > UINT32_MAX - 1)
		return sr_fail(err, SR_ELIMIT, "horizontal gbdt: %zu rows, at most %u", train->rows,
			       UINT32_MAX - 1);
	if ((train->rows && (rc = sr_ml_gbdt_check_labels(&p->gbdt, train, "training", err))) ||
	    (valid->rows && (rc = sr_ml_gbdt_check_labels(&p->gbdt, valid, "validation", err))) ||
	    (test->rows && (rc = sr_ml_gbdt_check_labels(&p->gbdt, test, "test", err))))
		return rc;
	return SR_OK;
}

/*
 * This party's gradients as integers, and the check that every sum of
 * every party's integers stays exact in a double: this party's total
 * |g| and h must stay under 2^53 / parties in units of 2^-k.
 */
static int local_gradients(struct run *R, const double *margin, const double *y,
			   struct sr_err *err)
{
	const struct sr_ml_gbdt_params *gp = &R->p->gbdt;
	int k = (int)gp->grad_frac_bits;
	double sg = 0, sh = 0, limit = ldexp(1.0, 53 - k) / R->p->parties;

	sr_ml_gbdt_gradients(gp->loss, gp->grad_frac_bits, margin, y, R->n, R->g, R->h);
	for (size_t r = 0; r < R->n; r++) {
		sg += fabs(R->g[r]);
		sh += R->h[r];
	}
	if (!(sg < limit && sh < limit))
		return sr_fail(err, SR_ELIMIT,
			       "horizontal gbdt: this party's gradient sums (%g, %g) are too large for exact fixed-point sums at %d fractional bits",
			       sg, sh, k);
	for (size_t r = 0; r < R->n; r++) {
		R->gi[r] = (uint64_t)(int64_t)ldexp(R->g[r], k);
		R->hi[r] = (uint64_t)(int64_t)ldexp(R->h[r], k);
	}
	return SR_OK;
}

int sr_ml_hgbdt_run(const struct sr_ml_hgbdt_params *p, const struct sr_pipe *pipes,
		    const struct sr_ml_data *train, const struct sr_ml_data *valid,
		    const struct sr_ml_data *test, struct sr_ml_hgbdt_result *out,
		    struct sr_ml_hgbdt_stats *stats, struct sr_err *err)
{
	const struct sr_ml_gbdt_params *gp = &p->gbdt;
	struct sr_ml_hgbdt_stats local_stats;
	struct sr_ml_gbdt m = { 0 };
	struct run R;
	int agg = p->self == p->aggregator, rc;
	uint64_t t0 = sr_ml_now_ns(), n_train = 0, n_valid = 0, stream, ctl[2];
	uint64_t *ev = NULL;
	double *margin = NULL, *vmargin = NULL, *scratch = NULL, best_loss = INFINITY;
	size_t best_round = 0, elen = eval_len(gp->loss), n = train->rows;
	int stopping = gp->early_stopping_rounds > 0;

	memset(out, 0, sizeof(*out));
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	memset(&R, 0, sizeof(R));
	sr_buf_init(&R.msg, 1 + 8 * (elen > NODE_WORDS * 65536 ? elen : NODE_WORDS * 65536));
	if ((rc = check_inputs(p, train, valid, test, err)))
		return rc;
	R.p = p;
	R.stats = stats;
	R.n = n;
	if ((rc = sr_ml_fed_init(&R.F, p->run_id, p->run_id_len, p->parties, p->self,
				 p->aggregator, pipes, err)) ||
	    (rc = sr_ml_layout_from_bins(p->bins, &R.layout, err)) ||
	    (rc = sr_ml_hist_init(&R.hist, &R.layout, err)))
		goto out;
	R.slots = R.layout.offset[R.layout.cols];
	R.codes = sr_calloc(n * train->cols + 1, sizeof(*R.codes));
	R.g = sr_calloc(n + 1, sizeof(double));
	R.h = sr_calloc(n + 1, sizeof(double));
	R.gi = sr_calloc(n + 1, sizeof(uint64_t));
	R.hi = sr_calloc(n + 1, sizeof(uint64_t));
	R.node_of = sr_calloc(n + 1, sizeof(uint32_t));
	margin = sr_calloc(n + 1, sizeof(double));
	vmargin = sr_calloc(valid->rows + 1, sizeof(double));
	scratch = sr_calloc(test->rows + 1, sizeof(double));
	ev = sr_calloc(elen, sizeof(*ev));
	m.trees = sr_calloc(gp->trees, sizeof(*m.trees));
	if (!R.codes || !R.g || !R.h || !R.gi || !R.hi || !R.node_of || !margin || !vmargin ||
	    !scratch || !ev || !m.trees) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	sr_ml_bins_apply(p->bins, train, R.codes);
	m.loss = gp->loss;
	m.cols = train->cols;
	m.base_margin = gp->loss == SR_ML_LOGISTIC ?
		log(gp->base_score / (1 - gp->base_score)) : gp->base_score;
	for (size_t r = 0; r < n; r++)
		margin[r] = m.base_margin;
	for (size_t r = 0; r < valid->rows; r++)
		vmargin[r] = m.base_margin;
	stream = sr_ml_gbdt_party_stream(gp->seed, p->self);

	/* ROWS: the totals the aggregator divides by and checks. */
	ev[0] = n;
	ev[1] = stopping ? valid->rows : 0;
	if ((rc = sr_ml_fed_aggregate(&R.F, ev, 2, err)))
		goto out;
	stats->aggregations++;
	if (agg) {
		n_train = ev[0];
		n_valid = ev[1];
		if (n_train == 0)
			rc = sr_fail(err, SR_EINVAL, "train: no training rows at any party");
		else if (stopping && n_valid == 0)
			rc = sr_fail(err, SR_EINVAL,
				     "train: early stopping without validation rows at any party");
		if (rc)
			goto out;
	}

	for (unsigned t = 0; t < gp->trees; t++) {
		struct sr_ml_tree *tree = &m.trees[t];
		uint64_t t1 = sr_ml_now_ns();

		if ((rc = local_gradients(&R, margin, train->y, err)))
			goto out;
		for (size_t r = 0; r < n; r++)
			R.node_of[r] = gp->subsample < 1 &&
				!sr_ml_gbdt_subsample_keep(&stream, gp->subsample) ? NOT_SAMPLED : 0;
		stats->compute_ns += sr_ml_now_ns() - t1;
		m.ntrees = t + 1;
		if ((rc = grow_tree(&R, tree, err)))
			goto out;
		t1 = sr_ml_now_ns();
		for (size_t r = 0; r < n; r++)
			margin[r] += sr_ml_tree_value_codes(tree, &R.layout, R.codes, n, r);
		for (size_t r = 0; stopping && r < valid->rows; r++)
			vmargin[r] += sr_ml_tree_value(tree, valid, r);
		stats->compute_ns += sr_ml_now_ns() - t1;
		if (!stopping)
			continue;
		ev[0] = 0;
		for (size_t r = 0; r < valid->rows; r++)
			ev[0] += sr_ml_gbdt_loss_fixed(gp->loss, valid->y[r], vmargin[r],
						       SR_ML_HGBDT_LOSS_BITS);
		if ((rc = sr_ml_fed_aggregate(&R.F, ev, 1, err)))
			goto out;
		stats->aggregations++;
		if (agg) {
			double loss = sr_ml_gbdt_loss_from_fixed(gp->loss, ev[0], n_valid,
								 SR_ML_HGBDT_LOSS_BITS);
			ctl[0] = 0;
			if (loss < best_loss) {
				best_loss = loss;
				best_round = t;
			} else if (t - best_round >= gp->early_stopping_rounds) {
				ctl[0] = 1;
			}
			ctl[1] = best_round + 1;
			for (uint32_t j = 0; rc == SR_OK && j < p->parties; j++)
				if (j != p->self)
					rc = sr_ml_fed_send(&R.F, j, MSG_STOP, ctl, 2, &R.msg, err);
		} else if ((rc = sr_ml_fed_recv(&R.F, MSG_STOP, ctl, 2, &R.msg, err)) == SR_OK &&
			   (ctl[0] > 1 || ctl[1] < 1 || ctl[1] > t + 1)) {
			rc = sr_fail(err, SR_EPROTO, "stop: flag %llu, best %llu after %u trees",
				     (unsigned long long)ctl[0], (unsigned long long)ctl[1], t + 1);
		}
		if (rc)
			goto out;
		best_round = ctl[1] - 1;
		if (ctl[0])
			break;
	}
	m.best_trees = stopping ? best_round + 1 : m.ntrees;

	/* EVAL: every party's test rows under the final model. */
	memset(ev, 0, elen * sizeof(*ev));
	eval_vector(&m, n, test, ev, scratch);
	if ((rc = sr_ml_fed_aggregate(&R.F, ev, elen, err)))
		goto out;
	stats->aggregations++;
	if (agg) {
		for (uint32_t j = 0; rc == SR_OK && j < p->parties; j++)
			if (j != p->self && p->receiver[j])
				rc = sr_ml_fed_send(&R.F, j, MSG_EVAL, ev, elen, &R.msg, err);
	} else if (p->receiver[p->self]) {
		rc = sr_ml_fed_recv(&R.F, MSG_EVAL, ev, elen, &R.msg, err);
	}
	if (rc == SR_OK && p->receiver[p->self] &&
	    (rc = eval_finish(gp->loss, ev, out, err)) == SR_OK) {
		out->valid_rows = agg ? n_valid : 0;
		out->model = m;
		memset(&m, 0, sizeof(m));
	}
out:
	if (rc)
		sr_ml_hgbdt_result_release(out);
	sr_ml_gbdt_release(&m);
	stats->secagg_ns = R.F.secagg_ns;
	stats->bytes_sent = R.F.bytes_sent;
	stats->bytes_received = R.F.bytes_received;
	run_release(&R);
	sr_free(margin);
	sr_free(vmargin);
	sr_free(scratch);
	sr_free(ev);
	stats->total_ns = sr_ml_now_ns() - t0;
	return rc;
}
