/*
 * metrics.c - evaluation of scores (ml.h).  Everything is computed from
 * label counts per score bucket, ascending: the exact form makes a bucket
 * of each distinct score, and a federated trainer aggregates bucket
 * counts over fixed buckets, so both run the same code.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"
#include "base/banned.h"

#define ROC_STEPS (SR_ML_CURVE_POINTS * 2 - 2)

double sr_ml_logloss1(double y, double p)
{
	p = fmin(fmax(p, 1e-15), 1 - 1e-15);
	return y > 0.5 ? -log(p) : -log1p(-p);
}

/* Positives among the top `take` rows, buckets from the top down, a
 * bucket's rows counted pro rata (its scores are tied). */
static double captured(const uint64_t *pos, const uint64_t *neg, size_t buckets,
		       double take)
{
	double rows = 0, got = 0;

	for (size_t i = buckets; i-- > 0 && rows < take;) {
		double in = (double)(pos[i] + neg[i]);
		double part = fmin(in, take - rows);
		if (in > 0)
			got += (double)pos[i] * part / in;
		rows += part;
	}
	return got;
}

int sr_ml_eval_counts(const uint64_t *pos, const uint64_t *neg, size_t buckets,
		      size_t above_half, double logloss_sum, struct sr_ml_eval *out,
		      struct sr_err *err)
{
	double P = 0, N = 0, tp = 0, fp = 0, auc = 0, next_roc = 0;
	uint64_t tp_half = 0, fp_half = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < buckets; i++) {
		P += (double)pos[i];
		N += (double)neg[i];
		if (i >= above_half) {
			tp_half += pos[i];
			fp_half += neg[i];
		}
	}
	out->rows = (uint64_t)(P + N);
	out->positives = (uint64_t)P;
	if (P == 0 || N == 0)
		return sr_fail(err, SR_EINVAL,
			       "evaluation: %.0f positive and %.0f negative rows; AUC and KS need both labels",
			       P, N);
	out->roc[out->nroc++] = (struct sr_ml_point){ 0, 0 };
	for (size_t i = buckets; i-- > 0;) {
		/* Negatives here rank below the positives above, half-tied
		 * with the positives here. */
		auc += (double)neg[i] * (tp + 0.5 * (double)pos[i]);
		tp += (double)pos[i];
		fp += (double)neg[i];
		out->ks = fmax(out->ks, fabs(tp / P - fp / N));
		if ((tp + fp) / (P + N) >= next_roc && out->nroc < ROC_STEPS + 1) {
			out->roc[out->nroc++] = (struct sr_ml_point){ fp / N, tp / P };
			next_roc = (tp + fp) / (P + N) + 1.0 / ROC_STEPS;
		}
	}
	if (out->roc[out->nroc - 1].x != 1 || out->roc[out->nroc - 1].y != 1)
		out->roc[out->nroc++] = (struct sr_ml_point){ 1, 1 };
	out->auc = auc / (P * N);
	out->accuracy = ((double)tp_half + (N - (double)fp_half)) / (P + N);
	out->precision = tp_half + fp_half ? (double)tp_half / (double)(tp_half + fp_half) : 0;
	out->recall = (double)tp_half / P;
	out->logloss = logloss_sum / (P + N);
	for (size_t k = 0; k < SR_ML_CURVE_POINTS; k++) {
		double frac = (double)k / (SR_ML_CURVE_POINTS - 1);
		double got = captured(pos, neg, buckets, frac * (P + N)) / P;
		out->gains[out->ngains++] = (struct sr_ml_point){ frac, got };
		if (k > 0)
			out->lift[out->nlift++] = (struct sr_ml_point){ frac, got / frac };
	}
	return SR_OK;
}

struct scored {
	double p, y;
};

static int cmp_scored(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->p, y = ((const struct scored *)b)->p;

	return (x > y) - (x < y);
}

int sr_ml_eval_scores(const double *y, const double *p, size_t n,
		      struct sr_ml_eval *out, struct sr_err *err)
{
	struct scored *s = sr_calloc(n ? n : 1, sizeof(*s));
	uint64_t *pos = sr_calloc(n ? n : 1, sizeof(*pos));
	uint64_t *neg = sr_calloc(n ? n : 1, sizeof(*neg));
	size_t buckets = 0, above_half = SIZE_MAX;
	double logloss = 0;
	int rc = SR_OK;

	memset(out, 0, sizeof(*out));
	if (!s || !pos || !neg) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (y[i] != 0 && y[i] != 1) {
			rc = sr_fail(err, SR_EINVAL, "evaluation: row %zu: label %g, expected 0 or 1",
				     i, y[i]);
			goto out;
		}
		if (!(p[i] >= 0 && p[i] <= 1)) {
			rc = sr_fail(err, SR_EINVAL, "evaluation: row %zu: score %g, expected [0, 1]",
				     i, p[i]);
			goto out;
		}
		s[i] = (struct scored){ p[i], y[i] };
		logloss += sr_ml_logloss1(y[i], p[i]);
	}
	qsort(s, n, sizeof(*s), cmp_scored);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || s[i].p != s[i - 1].p) {
			buckets++;
			if (above_half == SIZE_MAX && s[i].p >= 0.5)
				above_half = buckets - 1;
		}
		if (s[i].y == 1)
			pos[buckets - 1]++;
		else
			neg[buckets - 1]++;
	}
	rc = sr_ml_eval_counts(pos, neg, buckets, above_half == SIZE_MAX ? buckets : above_half,
			       logloss, out, err);
out:
	sr_free(s);
	sr_free(pos);
	sr_free(neg);
	return rc;
}

void sr_ml_eval_regression(const double *y, const double *pred, size_t n,
			   struct sr_ml_reg_eval *out)
{
	double se = 0, ae = 0;

	for (size_t i = 0; i < n; i++) {
		se += (pred[i] - y[i]) * (pred[i] - y[i]);
		ae += fabs(pred[i] - y[i]);
	}
	out->rows = n;
	out->rmse = n ? sqrt(se / (double)n) : 0;
	out->mae = n ? ae / (double)n : 0;
}
