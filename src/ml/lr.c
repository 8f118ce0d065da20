/*
 * lr.c - logistic regression by mini-batch gradient descent (ml.h), in
 * double or in fixed point.
 *
 * Fixed point is what the federated trainers compute: each row's
 * gradient term (p - y) x is rounded to a multiple of 2^-k and summed as
 * int64 (secure aggregation adds such sums modulo 2^64, and integer
 * addition does not depend on the order or on who holds which row), so
 * federated training gives exactly the weights of this trainer in fixed
 * point on the pooled rows.  Its distance to the double trainer is
 * bounded by sr_ml_lr_fixed_bound.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"
#include "base/banned.h"

#define FRAC_BITS_MIN 8
#define FRAC_BITS_MAX 40

double sr_ml_sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

void sr_ml_lr_params_init(struct sr_ml_lr_params *p)
{
	memset(p, 0, sizeof(*p));
	p->epochs = 100;
	p->learning_rate = 0.1;
}

int sr_ml_lr_params_check(const struct sr_ml_lr_params *p, struct sr_err *err)
{
	if (p->epochs < 1 || p->epochs > 100000)
		return sr_fail(err, SR_EINVAL, "lr: epochs %u, expected 1 to 100000", p->epochs);
	if (!(p->learning_rate > 0 && p->learning_rate <= 100))
		return sr_fail(err, SR_EINVAL, "lr: learning_rate %g, expected (0, 100]",
			       p->learning_rate);
	if (!(p->l2 >= 0 && isfinite(p->l2)))
		return sr_fail(err, SR_EINVAL, "lr: l2 %g, expected >= 0", p->l2);
	if (p->frac_bits && (p->frac_bits < FRAC_BITS_MIN || p->frac_bits > FRAC_BITS_MAX))
		return sr_fail(err, SR_EINVAL, "lr: frac_bits %u, expected 0 (double) or %d to %d",
			       p->frac_bits, FRAC_BITS_MIN, FRAC_BITS_MAX);
	return SR_OK;
}

int sr_ml_lr_init(struct sr_ml_lr *m, size_t cols, struct sr_err *err)
{
	memset(m, 0, sizeof(*m));
	m->cols = cols;
	m->w = sr_calloc(cols ? cols : 1, sizeof(*m->w));
	if (!m->w)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

void sr_ml_lr_release(struct sr_ml_lr *m)
{
	if (!m)
		return;
	sr_free(m->w);
	memset(m, 0, sizeof(*m));
}

int sr_ml_lr_check_data(const struct sr_ml_data *d, unsigned frac_bits, struct sr_err *err)
{
	if (d->rows == 0)
		return sr_fail(err, SR_EINVAL, "lr: zero rows");
	if (!d->y)
		return sr_fail(err, SR_EINVAL, "lr: no labels");
	if (frac_bits && (double)d->rows >= ldexp(1.0, 62 - (int)frac_bits))
		return sr_fail(err, SR_ELIMIT, "lr: %zu rows overflow the fixed-point sums at %u fractional bits",
			       d->rows, frac_bits);
	for (size_t r = 0; r < d->rows; r++)
		if (d->y[r] != 0 && d->y[r] != 1)
			return sr_fail(err, SR_EINVAL, "lr: row %zu: label %g, expected 0 or 1",
				       r, d->y[r]);
	for (size_t c = 0; c < d->cols; c++)
		for (size_t r = 0; r < d->rows; r++) {
			double x = d->x[c * d->rows + r];
			if (isnan(x))
				return sr_fail(err, SR_EINVAL,
					       "lr: row %zu, feature %zu: missing value; logistic regression needs complete rows",
					       r, c);
			if (!isfinite(x) || (frac_bits && fabs(x) > 1))
				return sr_fail(err, SR_EINVAL,
					       "lr: row %zu, feature %zu: value %g, expected %s",
					       r, c, x, frac_bits ? "|x| <= 1 in fixed point" : "a finite number");
		}
	return SR_OK;
}

static double margin_of(const struct sr_ml_lr *m, const struct sr_ml_data *d, size_t r)
{
	double z = m->bias;

	for (size_t c = 0; c < m->cols; c++)
		z += m->w[c] * d->x[c * d->rows + r];
	return z;
}

void sr_ml_lr_gradient(const struct sr_ml_lr *m, const struct sr_ml_data *d,
		       size_t first, size_t count, unsigned frac_bits,
		       double *grad, uint64_t *fixed)
{
	size_t k = m->cols;

	memset(grad, 0, (k + 1) * sizeof(*grad));
	if (fixed)
		memset(fixed, 0, (k + 1) * sizeof(*fixed));
	for (size_t r = first; r < first + count; r++) {
		double res = sr_ml_sigmoid(margin_of(m, d, r)) - d->y[r];

		if (!frac_bits) {
			for (size_t c = 0; c < k; c++)
				grad[c] += res * d->x[c * d->rows + r];
			grad[k] += res;
			continue;
		}
		for (size_t c = 0; c < k; c++)
			fixed[c] += (uint64_t)llrint(ldexp(res * d->x[c * d->rows + r],
							   (int)frac_bits));
		fixed[k] += (uint64_t)llrint(ldexp(res, (int)frac_bits));
	}
	if (frac_bits)
		for (size_t c = 0; c <= k; c++)
			grad[c] = ldexp((double)(int64_t)fixed[c], -(int)frac_bits);
}

void sr_ml_lr_step(struct sr_ml_lr *m, const struct sr_ml_lr_params *p,
		   const double *grad, size_t n)
{
	for (size_t c = 0; c < m->cols; c++)
		m->w[c] -= p->learning_rate * (grad[c] / (double)n + p->l2 * m->w[c]);
	m->bias -= p->learning_rate * grad[m->cols] / (double)n;
}

static double lr_logloss(const struct sr_ml_lr *m, const struct sr_ml_data *d)
{
	double sum = 0;

	for (size_t r = 0; r < d->rows; r++)
		sum += sr_ml_logloss1(d->y[r], sr_ml_sigmoid(margin_of(m, d, r)));
	return sum / (double)d->rows;
}

int sr_ml_lr_train(const struct sr_ml_lr_params *p, const struct sr_ml_data *train,
		   const struct sr_ml_data *valid, struct sr_ml_lr *out,
		   struct sr_err *err)
{
	double *grad = NULL, *best_w = NULL, best_bias = 0, best_loss = INFINITY;
	uint64_t *fixed = NULL;
	size_t batch = p->batch && p->batch < train->rows ? p->batch : train->rows;
	unsigned best_epoch = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sr_ml_lr_params_check(p, err)) ||
	    (rc = sr_ml_lr_check_data(train, p->frac_bits, err)))
		return rc;
	if (valid && ((rc = sr_ml_lr_check_data(valid, 0, err)) || valid->cols != train->cols))
		return rc ? rc : sr_fail(err, SR_EINVAL, "lr: validation has %zu features, training %zu",
					 valid->cols, train->cols);
	if ((rc = sr_ml_lr_init(out, train->cols, err)))
		return rc;
	grad = sr_calloc(train->cols + 1, sizeof(*grad));
	fixed = sr_calloc(train->cols + 1, sizeof(*fixed));
	best_w = sr_calloc(train->cols + 1, sizeof(*best_w));
	if (!grad || !fixed || !best_w) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned e = 0; e < p->epochs; e++) {
		for (size_t first = 0; first < train->rows; first += batch) {
			size_t count = train->rows - first < batch ? train->rows - first : batch;
			sr_ml_lr_gradient(out, train, first, count, p->frac_bits, grad,
					  p->frac_bits ? fixed : NULL);
			sr_ml_lr_step(out, p, grad, count);
		}
		out->epochs_run = e + 1;
		if (valid && p->early_stopping_rounds) {
			double loss = lr_logloss(out, valid);
			if (loss < best_loss) {
				best_loss = loss;
				best_epoch = e;
				memcpy(best_w, out->w, out->cols * sizeof(*best_w));
				best_bias = out->bias;
			} else if (e - best_epoch >= p->early_stopping_rounds) {
				memcpy(out->w, best_w, out->cols * sizeof(*best_w));
				out->bias = best_bias;
				break;
			}
		}
	}
out:
	sr_free(grad);
	sr_free(fixed);
	sr_free(best_w);
	if (rc)
		sr_ml_lr_release(out);
	return rc;
}

void sr_ml_lr_predict(const struct sr_ml_lr *m, const struct sr_ml_data *d, double *out)
{
	for (size_t r = 0; r < d->rows; r++)
		out[r] = sr_ml_sigmoid(margin_of(m, d, r));
}

double sr_ml_lr_error_bound(const struct sr_ml_lr_params *p, size_t cols,
			    unsigned long steps, double step_error)
{
	double per_step = p->learning_rate * step_error;
	double lipschitz = (double)(cols + 1) / 4 + p->l2;
	/* Double rounding of both trainers, per step (generous). */
	double slack = 1e-13 * (double)steps;

	if (step_error <= 0)
		return slack;
	/* The loss is convex and lipschitz-smooth in the 2-norm, so with
	 * lr <= 2 / L a gradient step does not grow an earlier difference:
	 * the per-step roundings (sqrt(cols + 1) of them in the 2-norm) add. */
	if (p->learning_rate * lipschitz <= 2)
		return (double)steps * per_step * sqrt((double)(cols + 1)) + slack;
	/* Otherwise each step may amplify by 1 + lr L (max-norm). */
	{
		double a = 1 + p->learning_rate * lipschitz;
		return per_step * (pow(a, (double)steps) - 1) / (a - 1) + slack;
	}
}

double sr_ml_lr_fixed_bound(const struct sr_ml_lr_params *p, size_t cols,
			    unsigned long steps)
{
	return sr_ml_lr_error_bound(p, cols, steps,
				    p->frac_bits ? ldexp(1.0, -(int)p->frac_bits - 1) : 0);
}
