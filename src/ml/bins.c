/*
 * bins.c - quantile binning per feature (ml.h).  Cuts are data values, so
 * a threshold is "x < cut", the same test on raw values and on codes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"
#include "base/banned.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void sr_ml_bins_release(struct sr_ml_bins *b)
{
	if (!b)
		return;
	for (size_t c = 0; b->cuts && c < b->cols; c++)
		sr_free(b->cuts[c]);
	sr_free(b->cuts);
	sr_free(b->ncuts);
	memset(b, 0, sizeof(*b));
}

/* Cuts of one feature from its m sorted non-missing values. */
static int fit_column(const double *sorted, size_t m, unsigned max_bins,
		      double **cuts_out, uint32_t *ncuts_out)
{
	double *cuts = sr_calloc(max_bins, sizeof(*cuts));
	uint32_t n = 0;

	if (!cuts)
		return SR_ENOMEM;
	for (unsigned k = 1; m > 0 && k < max_bins; k++) {
		double v = sorted[(size_t)((double)k * (double)m / max_bins)];
		/* A cut equal to the minimum would make an empty first bin. */
		if (v > sorted[0] && (n == 0 || v > cuts[n - 1]))
			cuts[n++] = v;
	}
	/* Few distinct values: one bin each (the quantiles may skip some). */
	{
		size_t distinct = m > 0;
		for (size_t i = 1; i < m && distinct <= max_bins; i++)
			distinct += sorted[i] != sorted[i - 1];
		if (distinct <= max_bins) {
			n = 0;
			for (size_t i = 1; i < m; i++)
				if (sorted[i] != sorted[i - 1])
					cuts[n++] = sorted[i];
		}
	}
	*cuts_out = cuts;
	*ncuts_out = n;
	return SR_OK;
}

int sr_ml_bins_fit(const struct sr_ml_data *d, unsigned max_bins,
		   struct sr_ml_bins *out, struct sr_err *err)
{
	double *sorted = NULL;
	int rc = SR_OK;

	memset(out, 0, sizeof(*out));
	if (d->rows == 0 || d->cols == 0)
		return sr_fail(err, SR_EINVAL, "binning: %zu rows and %zu features, expected at least one of each",
			       d->rows, d->cols);
	if (max_bins < 2 || max_bins > SR_ML_BINS_MAX)
		return sr_fail(err, SR_EINVAL, "binning: max_bins %u, expected 2 to %d",
			       max_bins, SR_ML_BINS_MAX);
	out->cols = d->cols;
	out->ncuts = sr_calloc(d->cols, sizeof(*out->ncuts));
	out->cuts = sr_calloc(d->cols, sizeof(*out->cuts));
	sorted = sr_calloc(d->rows, sizeof(*sorted));
	if (!out->ncuts || !out->cuts || !sorted) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < d->cols; c++) {
		const double *col = d->x + c * d->rows;
		size_t m = 0;

		for (size_t r = 0; r < d->rows; r++)
			if (!isnan(col[r]))
				sorted[m++] = col[r];
		qsort(sorted, m, sizeof(*sorted), cmp_double);
		if (fit_column(sorted, m, max_bins, &out->cuts[c], &out->ncuts[c])) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	sr_free(sorted);
	if (rc)
		sr_ml_bins_release(out);
	return rc;
}

uint32_t sr_ml_bins_code(const struct sr_ml_bins *b, size_t c, double x)
{
	const double *cuts = b->cuts[c];
	uint32_t lo = 0, hi = b->ncuts[c];

	if (isnan(x))
		return b->ncuts[c] + 1;
	/* The number of cuts <= x. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cuts[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void sr_ml_bins_apply(const struct sr_ml_bins *b, const struct sr_ml_data *d,
		      uint16_t *codes)
{
	for (size_t c = 0; c < d->cols; c++)
		for (size_t r = 0; r < d->rows; r++)
			codes[c * d->rows + r] =
				(uint16_t)sr_ml_bins_code(b, c, d->x[c * d->rows + r]);
}
