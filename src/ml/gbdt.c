/*
 * gbdt.c - gradient-boosted trees on binned features (ml.h): the central
 * trainer.  Trees grow depth-first to the given depth; each node's
 * histogram is built only for the smaller child, the sibling's is the
 * parent's minus it (hist.c).  Splits come from sr_ml_split_find on the
 * histograms alone, which is what the federated trainer reuses.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"
#include "base/banned.h"

/* Hessians are kept above this so a leaf never divides by zero. */
#define HESS_MIN 1e-16

void sr_ml_gbdt_params_init(struct sr_ml_gbdt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->loss = SR_ML_LOGISTIC;
	p->trees = 50;
	p->depth = 6;
	p->learning_rate = 0.3;
	p->tree.lambda = 1.0;
	p->tree.gamma = 0.0;
	p->tree.min_child_weight = 1.0;
	p->subsample = 1.0;
	p->max_bins = SR_ML_BINS_DEFAULT;
	p->base_score = 0.5;
}

int sr_ml_gbdt_params_check(const struct sr_ml_gbdt_params *p, struct sr_err *err)
{
	if (p->loss != SR_ML_LOGISTIC && p->loss != SR_ML_SQUARED)
		return sr_fail(err, SR_EINVAL, "gbdt: unknown loss %d", (int)p->loss);
	if (p->trees < 1 || p->trees > 10000)
		return sr_fail(err, SR_EINVAL, "gbdt: trees %u, expected 1 to 10000", p->trees);
	if (p->depth < 1 || p->depth > 16)
		return sr_fail(err, SR_EINVAL, "gbdt: depth %u, expected 1 to 16", p->depth);
	if (!(p->learning_rate > 0 && p->learning_rate <= 1))
		return sr_fail(err, SR_EINVAL, "gbdt: learning_rate %g, expected (0, 1]",
			       p->learning_rate);
	if (!(p->tree.lambda >= 0 && isfinite(p->tree.lambda)))
		return sr_fail(err, SR_EINVAL, "gbdt: lambda %g, expected >= 0", p->tree.lambda);
	if (!(p->tree.gamma >= 0 && isfinite(p->tree.gamma)))
		return sr_fail(err, SR_EINVAL, "gbdt: gamma %g, expected >= 0", p->tree.gamma);
	if (!(p->tree.min_child_weight >= 0 && isfinite(p->tree.min_child_weight)))
		return sr_fail(err, SR_EINVAL, "gbdt: min_child_weight %g, expected >= 0",
			       p->tree.min_child_weight);
	if (!(p->subsample > 0 && p->subsample <= 1))
		return sr_fail(err, SR_EINVAL, "gbdt: subsample %g, expected (0, 1]", p->subsample);
	if (p->max_bins < 2 || p->max_bins > SR_ML_BINS_MAX)
		return sr_fail(err, SR_EINVAL, "gbdt: max_bins %u, expected 2 to %d",
			       p->max_bins, SR_ML_BINS_MAX);
	if (p->loss == SR_ML_LOGISTIC && !(p->base_score > 0 && p->base_score < 1))
		return sr_fail(err, SR_EINVAL, "gbdt: base_score %g, expected (0, 1) for the logistic loss",
			       p->base_score);
	if (p->grad_frac_bits != 0 && (p->grad_frac_bits < 8 || p->grad_frac_bits > 40))
		return sr_fail(err, SR_EINVAL, "gbdt: grad_frac_bits %u, expected 0 or 8 to 40",
			       p->grad_frac_bits);
	if (!isfinite(p->base_score))
		return sr_fail(err, SR_EINVAL, "gbdt: base_score is not finite");
	return SR_OK;
}

int sr_ml_gbdt_subsample_keep(uint64_t *state, double subsample)
{
	return (double)(sr_ml_prng_next(state) >> 11) * 0x1p-53 < subsample;
}

uint64_t sr_ml_prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int sr_ml_gbdt_check_labels(const struct sr_ml_gbdt_params *p, const struct sr_ml_data *d,
			const char *which, struct sr_err *err)
{
	if (d->rows == 0)
		return sr_fail(err, SR_EINVAL, "gbdt: the %s set has zero rows", which);
	if (!d->y)
		return sr_fail(err, SR_EINVAL, "gbdt: the %s set has no labels", which);
	for (size_t r = 0; r < d->rows; r++) {
		double y = d->y[r];
		if (!isfinite(y))
			return sr_fail(err, SR_EINVAL, "gbdt: %s row %zu: the label is missing or not finite",
				       which, r);
		if (p->loss == SR_ML_LOGISTIC && y != 0 && y != 1)
			return sr_fail(err, SR_EINVAL,
				       "gbdt: %s row %zu: label %g, expected 0 or 1 for the logistic loss",
				       which, r, y);
	}
	return SR_OK;
}

struct grower {
	const struct sr_ml_gbdt_params *p;
	const struct sr_ml_bins *bins;
	const struct sr_ml_layout *layout;
	const uint16_t *codes;
	size_t total_rows;
	const double *g, *h;
	uint32_t *scratch;
	struct sr_ml_tree *tree;
	size_t cap;
};

static int add_node(struct grower *gr, uint32_t *index)
{
	if (gr->tree->nnodes == gr->cap) {
		size_t cap = gr->cap ? gr->cap * 2 : 64;
		struct sr_ml_node *n = sr_realloc(gr->tree->nodes, cap * sizeof(*n));
		if (!n)
			return SR_ENOMEM;
		gr->tree->nodes = n;
		gr->cap = cap;
	}
	memset(&gr->tree->nodes[gr->tree->nnodes], 0, sizeof(struct sr_ml_node));
	*index = (uint32_t)gr->tree->nnodes++;
	return SR_OK;
}

/* Stable partition of rows[0..n) by the split; returns the left count. */
static size_t partition(struct grower *gr, uint32_t *rows, size_t n,
			const struct sr_ml_split *s)
{
	const uint16_t *col = gr->codes + s->feature * gr->total_rows;
	uint32_t nb = gr->layout->nbins[s->feature];
	size_t nl = 0, nr = 0;

	for (size_t i = 0; i < n; i++) {
		uint16_t code = col[rows[i]];
		int left = code == nb ? s->missing_left : code <= s->bin;
		if (left)
			rows[nl++] = rows[i];
		else
			gr->scratch[nr++] = rows[i];
	}
	memcpy(rows + nl, gr->scratch, nr * sizeof(*rows));
	return nl;
}

/* Grow node `index` over rows[0..n) whose histogram is hist (taken). */
static int grow(struct grower *gr, uint32_t index, uint32_t *rows, size_t n,
		double g_sum, double h_sum, struct sr_ml_hist *hist, unsigned depth,
		struct sr_err *err)
{
	struct sr_ml_hist small = { 0 }, big = { 0 };
	struct sr_ml_split s;
	uint32_t left, right;
	size_t nl;
	int rc = SR_OK;

	gr->tree->nodes[index].cover = h_sum;
	s.found = 0;
	if (depth < gr->p->depth)
		sr_ml_split_find(gr->layout, hist, g_sum, h_sum, &gr->p->tree, NULL, &s);
	if (!s.found) {
		gr->tree->nodes[index].value = gr->p->learning_rate *
			sr_ml_leaf_weight(g_sum, h_sum, gr->p->tree.lambda);
		sr_ml_hist_release(hist);
		return SR_OK;
	}
	nl = partition(gr, rows, n, &s);
	if ((rc = add_node(gr, &left)) || (rc = add_node(gr, &right))) {
		sr_ml_hist_release(hist);
		return sr_fail(err, rc, "out of memory");
	}
	{
		struct sr_ml_node *node = &gr->tree->nodes[index];
		node->left = left;
		node->right = right;
		node->feature = (uint32_t)s.feature;
		node->bin = s.bin;
		node->threshold = gr->bins->cuts[s.feature][s.bin];
		node->missing_left = s.missing_left;
		node->gain = s.gain;
	}
	rc = sr_ml_hist_init(&small, gr->layout, err);
	if (rc == SR_OK)
		rc = sr_ml_hist_init(&big, gr->layout, err);
	if (rc) {
		sr_ml_hist_release(hist);
		sr_ml_hist_release(&small);
		return rc;
	}
	if (nl <= n - nl)
		sr_ml_hist_build(&small, gr->layout, gr->codes, gr->total_rows, rows, nl,
				 gr->g, gr->h);
	else
		sr_ml_hist_build(&small, gr->layout, gr->codes, gr->total_rows, rows + nl,
				 n - nl, gr->g, gr->h);
	sr_ml_hist_subtract(&big, hist, &small);
	sr_ml_hist_release(hist);
	if (nl <= n - nl) {
		rc = grow(gr, left, rows, nl, s.g_left, s.h_left, &small, depth + 1, err);
		if (rc == SR_OK)
			rc = grow(gr, right, rows + nl, n - nl, s.g_right, s.h_right, &big,
				  depth + 1, err);
	} else {
		rc = grow(gr, left, rows, nl, s.g_left, s.h_left, &big, depth + 1, err);
		if (rc == SR_OK)
			rc = grow(gr, right, rows + nl, n - nl, s.g_right, s.h_right, &small,
				  depth + 1, err);
	}
	sr_ml_hist_release(&small);
	sr_ml_hist_release(&big);
	return rc;
}

/* The leaf of a row given its codes (training) or raw values. */
double sr_ml_tree_value_codes(const struct sr_ml_tree *t, const struct sr_ml_layout *l,
			      const uint16_t *codes, size_t total_rows, size_t r)
{
	const struct sr_ml_node *n = &t->nodes[0];

	while (n->left) {
		uint16_t code = codes[n->feature * total_rows + r];
		int left = code == l->nbins[n->feature] ? n->missing_left : code <= n->bin;
		n = &t->nodes[left ? n->left : n->right];
	}
	return n->value;
}

double sr_ml_tree_value(const struct sr_ml_tree *t, const struct sr_ml_data *d, size_t r)
{
	const struct sr_ml_node *n = &t->nodes[0];

	while (n->left) {
		double x = d->x[n->feature * d->rows + r];
		int left = isnan(x) ? n->missing_left : x < n->threshold;
		n = &t->nodes[left ? n->left : n->right];
	}
	return n->value;
}

void sr_ml_gbdt_gradients(enum sr_ml_loss loss, unsigned frac_bits, const double *margin,
			  const double *y, size_t n, double *g, double *h)
{
	for (size_t r = 0; r < n; r++) {
		if (loss == SR_ML_LOGISTIC) {
			double p = sr_ml_sigmoid(margin[r]);
			g[r] = p - y[r];
			h[r] = fmax(p * (1 - p), HESS_MIN);
		} else {
			g[r] = margin[r] - y[r];
			h[r] = 1.0;
		}
		if (frac_bits) {
			g[r] = ldexp(nearbyint(ldexp(g[r], (int)frac_bits)), -(int)frac_bits);
			h[r] = ldexp(nearbyint(ldexp(h[r], (int)frac_bits)), -(int)frac_bits);
		}
	}
}

double sr_ml_gbdt_valid_loss(enum sr_ml_loss loss, const double *margin, const double *y,
			     size_t n)
{
	double sum = 0;

	for (size_t r = 0; r < n; r++)
		sum += loss == SR_ML_LOGISTIC ?
			sr_ml_logloss1(y[r], sr_ml_sigmoid(margin[r])) :
			(margin[r] - y[r]) * (margin[r] - y[r]);
	return loss == SR_ML_LOGISTIC ? sum / (double)n : sqrt(sum / (double)n);
}

uint64_t sr_ml_gbdt_loss_fixed(enum sr_ml_loss loss, double y, double margin, unsigned bits)
{
	double l = loss == SR_ML_LOGISTIC ? sr_ml_logloss1(y, sr_ml_sigmoid(margin)) :
		(margin - y) * (margin - y);

	/* Clamped so the integer cannot overflow (a sum may wrap, but the
	 * same way everywhere). */
	return (uint64_t)llrint(ldexp(fmin(l, 0x1p30), (int)bits));
}

double sr_ml_gbdt_loss_from_fixed(enum sr_ml_loss loss, uint64_t sum, uint64_t n,
				  unsigned bits)
{
	double mean = ldexp((double)sum, -(int)bits) / (double)n;

	return loss == SR_ML_LOGISTIC ? mean : sqrt(mean);
}

uint64_t sr_ml_gbdt_party_stream(uint64_t seed, size_t party)
{
	uint64_t s = seed ^ ((uint64_t)party * 0xd1b54a32d192ed03ull);

	return sr_ml_prng_next(&s);
}

void sr_ml_gbdt_release(struct sr_ml_gbdt *m)
{
	if (!m)
		return;
	for (size_t t = 0; m->trees && t < m->ntrees; t++)
		sr_free(m->trees[t].nodes);
	sr_free(m->trees);
	memset(m, 0, sizeof(*m));
}

int sr_ml_gbdt_train(const struct sr_ml_gbdt_params *p, const struct sr_ml_data *train,
		     const struct sr_ml_data *valid, struct sr_ml_gbdt *out,
		     struct sr_err *err)
{
	return sr_ml_gbdt_train_bins(p, NULL, train, valid, out, err);
}

int sr_ml_gbdt_train_bins(const struct sr_ml_gbdt_params *p, const struct sr_ml_gbdt_fixed *f,
			  const struct sr_ml_data *train, const struct sr_ml_data *valid,
			  struct sr_ml_gbdt *out, struct sr_err *err)
{
	struct sr_ml_bins fitted = { 0 };
	const struct sr_ml_bins *bins = f && f->bins ? f->bins : &fitted;
	uint64_t *streams = NULL;
	size_t nparts = f && f->part_rows ? f->nparts : 0;
	struct sr_ml_layout layout = { 0 };
	struct sr_ml_hist root = { 0 };
	struct grower gr;
	uint16_t *codes = NULL;
	double *margin = NULL, *vmargin = NULL, *g = NULL, *h = NULL;
	uint32_t *rows = NULL;
	size_t n = train->rows, best_round = 0;
	double best_loss = INFINITY;
	uint64_t prng = p->seed;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sr_ml_gbdt_params_check(p, err)) || (rc = sr_ml_gbdt_check_labels(p, train, "training", err)))
		return rc;
	if (valid && (rc = sr_ml_gbdt_check_labels(p, valid, "validation", err)))
		return rc;
	if (valid && valid->cols != train->cols)
		return sr_fail(err, SR_EINVAL, "gbdt: the validation set has %zu features, training %zu",
			       valid->cols, train->cols);
	if (n > UINT32_MAX)
		return sr_fail(err, SR_ELIMIT, "gbdt: %zu rows, at most %u", n, UINT32_MAX);
	if (bins == &fitted && (rc = sr_ml_bins_fit(train, p->max_bins, &fitted, err)))
		goto out;
	if (bins->cols != train->cols) {
		rc = sr_fail(err, SR_EINVAL, "gbdt: the bins have %zu features, the rows %zu",
			     bins->cols, train->cols);
		goto out;
	}
	if (nparts) {
		size_t sum = 0;
		streams = sr_calloc(nparts, sizeof(*streams));
		if (!streams) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t q = 0; q < nparts; q++) {
			streams[q] = sr_ml_gbdt_party_stream(p->seed, q);
			sum += f->part_rows[q];
		}
		if (sum != n) {
			rc = sr_fail(err, SR_EINVAL, "gbdt: the parties' blocks hold %zu rows, the table %zu",
				     sum, n);
			goto out;
		}
	}
	if ((rc = sr_ml_layout_from_bins(bins, &layout, err)))
		goto out;
	codes = sr_calloc(n * train->cols, sizeof(*codes));
	margin = sr_calloc(n, sizeof(*margin));
	g = sr_calloc(n, sizeof(*g));
	h = sr_calloc(n, sizeof(*h));
	rows = sr_calloc(n, sizeof(*rows));
	out->trees = sr_calloc(p->trees, sizeof(*out->trees));
	if (valid)
		vmargin = sr_calloc(valid->rows, sizeof(*vmargin));
	if (!codes || !margin || !g || !h || !rows || !out->trees || (valid && !vmargin)) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	sr_ml_bins_apply(bins, train, codes);
	out->loss = p->loss;
	out->cols = train->cols;
	out->base_margin = p->loss == SR_ML_LOGISTIC ?
		log(p->base_score / (1 - p->base_score)) : p->base_score;
	for (size_t r = 0; r < n; r++)
		margin[r] = out->base_margin;
	for (size_t r = 0; valid && r < valid->rows; r++)
		vmargin[r] = out->base_margin;

	for (unsigned t = 0; t < p->trees; t++) {
		struct sr_ml_tree *tree = &out->trees[t];
		size_t nsel = 0;
		double gs = 0, hs = 0;
		uint32_t root_index;
		size_t part = 0, part_end = nparts ? f->part_rows[0] : n;

		sr_ml_gbdt_gradients(p->loss, p->grad_frac_bits, margin, train->y, n, g, h);
		for (size_t r = 0; r < n; r++) {
			while (nparts && r >= part_end && part + 1 < nparts)
				part_end += f->part_rows[++part];
			if (p->subsample < 1 &&
			    !sr_ml_gbdt_subsample_keep(nparts ? &streams[part] : &prng, p->subsample))
				continue;
			rows[nsel++] = (uint32_t)r;
			gs += g[r];
			hs += h[r];
		}
		memset(&gr, 0, sizeof(gr));
		gr.p = p;
		gr.bins = bins;
		gr.layout = &layout;
		gr.codes = codes;
		gr.total_rows = n;
		gr.g = g;
		gr.h = h;
		gr.tree = tree;
		gr.scratch = sr_calloc(n, sizeof(uint32_t));
		if (!gr.scratch || add_node(&gr, &root_index)) {
			sr_free(gr.scratch);
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		out->ntrees = t + 1;
		if ((rc = sr_ml_hist_init(&root, &layout, err))) {
			sr_free(gr.scratch);
			goto out;
		}
		sr_ml_hist_build(&root, &layout, codes, n, rows, nsel, g, h);
		rc = grow(&gr, root_index, rows, nsel, gs, hs, &root, 0, err);
		sr_free(gr.scratch);
		if (rc)
			goto out;
		for (size_t r = 0; r < n; r++)
			margin[r] += sr_ml_tree_value_codes(tree, &layout, codes, n, r);
		if (valid) {
			double loss;
			for (size_t r = 0; r < valid->rows; r++)
				vmargin[r] += sr_ml_tree_value(tree, valid, r);
			if (f && f->loss_bits) {
				uint64_t sum = 0;
				for (size_t r = 0; r < valid->rows; r++)
					sum += sr_ml_gbdt_loss_fixed(p->loss, valid->y[r], vmargin[r],
								     f->loss_bits);
				loss = sr_ml_gbdt_loss_from_fixed(p->loss, sum, valid->rows,
								  f->loss_bits);
			} else {
				loss = sr_ml_gbdt_valid_loss(p->loss, vmargin, valid->y, valid->rows);
			}
			if (loss < best_loss) {
				best_loss = loss;
				best_round = t;
			} else if (p->early_stopping_rounds &&
				   t - best_round >= p->early_stopping_rounds) {
				break;
			}
		}
	}
	out->best_trees = valid && p->early_stopping_rounds ? best_round + 1 : out->ntrees;
out:
	if (rc)
		sr_ml_gbdt_release(out);
	sr_ml_hist_release(&root);
	sr_ml_layout_release(&layout);
	sr_ml_bins_release(&fitted);
	sr_free(streams);
	sr_free(codes);
	sr_free(margin);
	sr_free(vmargin);
	sr_free(g);
	sr_free(h);
	sr_free(rows);
	return rc;
}

double sr_ml_gbdt_margin(const struct sr_ml_gbdt *m, const struct sr_ml_data *d, size_t r)
{
	double margin = m->base_margin;

	for (size_t t = 0; t < m->best_trees; t++)
		margin += sr_ml_tree_value(&m->trees[t], d, r);
	return margin;
}

void sr_ml_gbdt_predict(const struct sr_ml_gbdt *m, const struct sr_ml_data *d,
			double *out)
{
	for (size_t r = 0; r < d->rows; r++) {
		double margin = sr_ml_gbdt_margin(m, d, r);
		out[r] = m->loss == SR_ML_LOGISTIC ? sr_ml_sigmoid(margin) : margin;
	}
}

void sr_ml_gbdt_importance(const struct sr_ml_gbdt *m, double *gain)
{
	memset(gain, 0, m->cols * sizeof(*gain));
	for (size_t t = 0; t < m->best_trees; t++)
		for (size_t i = 0; i < m->trees[t].nnodes; i++)
			if (m->trees[t].nodes[i].left)
				gain[m->trees[t].nodes[i].feature] += m->trees[t].nodes[i].gain;
}
