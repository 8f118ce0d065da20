/*
 * bound.c - clamping and fixed-point encoding of contributions.
 */
#include <math.h>

#include "privacy/bound.h"
#include "base/banned.h"

typedef unsigned __int128 u128;

int sr_bound_clamp_i64(int64_t *values, size_t count, int64_t lo, int64_t hi,
		       uint64_t *clamped, struct sr_err *err)
{
	uint64_t n = 0;

	*clamped = 0;
	if (lo > hi)
		return sr_fail(err, SR_EINVAL,
			       "clamp: bounds [%lld, %lld] are crossed",
			       (long long)lo, (long long)hi);
	for (size_t i = 0; i < count; i++) {
		if (values[i] < lo) {
			values[i] = lo;
			n++;
		} else if (values[i] > hi) {
			values[i] = hi;
			n++;
		}
	}
	*clamped = n;
	return SR_OK;
}

static int check_bounds(double lo, double hi, struct sr_err *err)
{
	if (!isfinite(lo) || !isfinite(hi))
		return sr_fail(err, SR_EINVAL,
			       "clamp: bounds [%g, %g] must be finite", lo, hi);
	if (lo > hi)
		return sr_fail(err, SR_EINVAL,
			       "clamp: bounds [%g, %g] are crossed", lo, hi);
	return SR_OK;
}

int sr_bound_clamp_f64(double *values, size_t count, double lo, double hi,
		       uint64_t *clamped, struct sr_err *err)
{
	uint64_t n = 0;
	int rc;

	*clamped = 0;
	rc = check_bounds(lo, hi, err);
	if (rc != SR_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		if (isnan(values[i]))
			return sr_fail(err, SR_EINVAL,
				       "clamp: value %zu is NaN", i);
		if (values[i] < lo) {
			values[i] = lo;
			n++;
		} else if (values[i] > hi) {
			values[i] = hi;
			n++;
		}
	}
	*clamped = n;
	return SR_OK;
}

int sr_bound_fixed_init(struct sr_bound_fixed *fx, double lo, double hi,
			uint64_t scale, struct sr_err *err)
{
	long double max = (long double)SR_BOUND_FIXED_MAX;
	int rc;

	fx->lo = fx->hi = 0;
	fx->scale = 1;
	fx->lo_fixed = fx->hi_fixed = 0;
	rc = check_bounds(lo, hi, err);
	if (rc != SR_OK)
		return rc;
	if (scale == 0)
		return sr_fail(err, SR_EINVAL, "fixed point: scale must be at least 1");
	if (fabsl((long double)lo) * scale > max ||
	    fabsl((long double)hi) * scale > max)
		return sr_fail(err, SR_EINVAL,
			       "fixed point: bounds [%g, %g] times scale %llu pass 2^53",
			       lo, hi, (unsigned long long)scale);
	fx->lo = lo;
	fx->hi = hi;
	fx->scale = scale;
	fx->lo_fixed = (int64_t)nearbyintl((long double)lo * scale);
	fx->hi_fixed = (int64_t)nearbyintl((long double)hi * scale);
	return SR_OK;
}

int sr_bound_fixed_encode(const struct sr_bound_fixed *fx, const double *in,
			  size_t count, uint64_t *out, uint64_t *clamped,
			  struct sr_err *err)
{
	uint64_t n = 0;
	int64_t v;

	*clamped = 0;
	for (size_t i = 0; i < count; i++) {
		double x = in[i];

		if (isnan(x))
			return sr_fail(err, SR_EINVAL,
				       "fixed point: value %zu is NaN", i);
		if (x < fx->lo) {
			v = fx->lo_fixed;
			n++;
		} else if (x > fx->hi) {
			v = fx->hi_fixed;
			n++;
		} else {
			/* long double: x * scale is exact for scale < 2^11,
			 * and rounded once otherwise */
			v = (int64_t)nearbyintl((long double)x * fx->scale);
		}
		out[i] = (uint64_t)v;
	}
	*clamped = n;
	return SR_OK;
}

double sr_bound_fixed_decode(const struct sr_bound_fixed *fx, uint64_t v)
{
	return (double)((long double)(int64_t)v / fx->scale);
}

static uint64_t fixed_magnitude(const struct sr_bound_fixed *fx)
{
	uint64_t a = fx->lo_fixed < 0 ? (uint64_t)-fx->lo_fixed : (uint64_t)fx->lo_fixed;
	uint64_t b = fx->hi_fixed < 0 ? (uint64_t)-fx->hi_fixed : (uint64_t)fx->hi_fixed;

	return a > b ? a : b;
}

int sr_bound_sum_sensitivity(const struct sr_bound_fixed *fx,
			     uint64_t rows_per_id, uint64_t *sensitivity,
			     struct sr_err *err)
{
	u128 s;

	*sensitivity = 0;
	if (rows_per_id == 0)
		return sr_fail(err, SR_EINVAL,
			       "sensitivity: rows per identity must be at least 1");
	s = (u128)rows_per_id * fixed_magnitude(fx);
	if (s > INT64_MAX)
		return sr_fail(err, SR_EINVAL,
			       "sensitivity: %llu rows of up to %llu pass 2^63",
			       (unsigned long long)rows_per_id,
			       (unsigned long long)fixed_magnitude(fx));
	*sensitivity = s ? (uint64_t)s : 1;
	return SR_OK;
}

int sr_bound_sum_check(const struct sr_bound_fixed *fx, uint64_t rows,
		       uint64_t noise_max, struct sr_err *err)
{
	u128 s = (u128)rows * fixed_magnitude(fx) + noise_max;

	if (s > INT64_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "fixed point: a sum of %llu values of up to %llu (scale %llu) plus noise %llu may pass 2^63",
			       (unsigned long long)rows,
			       (unsigned long long)fixed_magnitude(fx),
			       (unsigned long long)fx->scale,
			       (unsigned long long)noise_max);
	return SR_OK;
}
