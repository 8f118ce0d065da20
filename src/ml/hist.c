/*
 * hist.c - per-bin (gradient, hessian) histograms, histogram subtraction
 * and the split finder (ml.h).  The builder and the finder are separate
 * on purpose: the finder reads histograms only, so the federated trainer
 * feeds it histograms aggregated or decrypted from other parties.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"
#include "base/banned.h"

/* Gains within this of each other are ties (xgboost's kRtEps). */
#define GAIN_EPS 1e-6

int sr_ml_layout_from_bins(const struct sr_ml_bins *b, struct sr_ml_layout *out,
			   struct sr_err *err)
{
	memset(out, 0, sizeof(*out));
	out->cols = b->cols;
	out->nbins = sr_calloc(b->cols ? b->cols : 1, sizeof(*out->nbins));
	out->offset = sr_calloc(b->cols + 1, sizeof(*out->offset));
	if (!out->nbins || !out->offset) {
		sr_ml_layout_release(out);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t c = 0; c < b->cols; c++) {
		out->nbins[c] = b->ncuts[c] + 1;
		out->offset[c + 1] = out->offset[c] + out->nbins[c] + 1;
	}
	return SR_OK;
}

void sr_ml_layout_release(struct sr_ml_layout *l)
{
	if (!l)
		return;
	sr_free(l->nbins);
	sr_free(l->offset);
	memset(l, 0, sizeof(*l));
}

int sr_ml_hist_init(struct sr_ml_hist *hist, const struct sr_ml_layout *l,
		    struct sr_err *err)
{
	hist->slots = l->offset[l->cols];
	hist->g = sr_calloc(hist->slots ? hist->slots : 1, sizeof(double));
	hist->h = sr_calloc(hist->slots ? hist->slots : 1, sizeof(double));
	if (!hist->g || !hist->h) {
		sr_ml_hist_release(hist);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return SR_OK;
}

void sr_ml_hist_release(struct sr_ml_hist *hist)
{
	if (!hist)
		return;
	sr_free(hist->g);
	sr_free(hist->h);
	memset(hist, 0, sizeof(*hist));
}

void sr_ml_hist_build(struct sr_ml_hist *hist, const struct sr_ml_layout *l,
		      const uint16_t *codes, size_t total_rows,
		      const uint32_t *rows, size_t nrows,
		      const double *g, const double *h)
{
	memset(hist->g, 0, hist->slots * sizeof(double));
	memset(hist->h, 0, hist->slots * sizeof(double));
	for (size_t c = 0; c < l->cols; c++) {
		const uint16_t *col = codes + c * total_rows;
		double *hg = hist->g + l->offset[c], *hh = hist->h + l->offset[c];

		for (size_t i = 0; i < nrows; i++) {
			uint32_t r = rows[i];
			hg[col[r]] += g[r];
			hh[col[r]] += h[r];
		}
	}
}

void sr_ml_hist_subtract(struct sr_ml_hist *out, const struct sr_ml_hist *parent,
			 const struct sr_ml_hist *child)
{
	for (size_t s = 0; s < parent->slots; s++) {
		out->g[s] = parent->g[s] - child->g[s];
		out->h[s] = parent->h[s] - child->h[s];
	}
}

double sr_ml_leaf_weight(double g, double h, double lambda)
{
	return -g / (h + lambda);
}

static double score(double g, double h, double lambda)
{
	return g * g / (h + lambda);
}

/* Consider left = (gl, hl) at feature c, bin b, missing side ml. */
static void consider(struct sr_ml_split *best, const struct sr_ml_tree_params *p,
		     double g_total, double h_total, double parent_score,
		     size_t c, uint32_t b, int ml, double gl, double hl)
{
	double gr = g_total - gl, hr = h_total - hl, gain;

	if (hl < p->min_child_weight || hr < p->min_child_weight)
		return;
	gain = score(gl, hl, p->lambda) + score(gr, hr, p->lambda) - parent_score;
	if (!(gain > p->gamma) || gain <= GAIN_EPS)
		return;
	if (best->found && !(gain > best->gain + GAIN_EPS * fabs(best->gain)))
		return;
	best->found = 1;
	best->feature = c;
	best->bin = b;
	best->missing_left = ml;
	best->gain = gain;
	best->g_left = gl;
	best->h_left = hl;
	best->g_right = gr;
	best->h_right = hr;
}

void sr_ml_split_find(const struct sr_ml_layout *l, const struct sr_ml_hist *hist,
		      double g_total, double h_total,
		      const struct sr_ml_tree_params *p,
		      const unsigned char *feature_mask, struct sr_ml_split *out)
{
	double parent_score = score(g_total, h_total, p->lambda);

	memset(out, 0, sizeof(*out));
	for (size_t c = 0; c < l->cols; c++) {
		const double *hg = hist->g + l->offset[c], *hh = hist->h + l->offset[c];
		uint32_t nb = l->nbins[c];
		double gm = hg[nb], hm = hh[nb], gl = 0, hl = 0;

		if (feature_mask && !feature_mask[c])
			continue;
		/* Split after bin b: left holds value bins 0..b. */
		for (uint32_t b = 0; b + 1 < nb; b++) {
			gl += hg[b];
			hl += hh[b];
			consider(out, p, g_total, h_total, parent_score, c, b, 0, gl, hl);
			if (hm > 0 || gm != 0)
				consider(out, p, g_total, h_total, parent_score, c, b, 1,
					 gl + gm, hl + hm);
		}
	}
}
