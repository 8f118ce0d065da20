/*
 * bound.h - contribution bounding (DESIGN §16): values clamped to a
 * policy's bounds, counting how many were clamped, and fixed-point
 * encoding of clamped values as int64 in two's complement, so that sums
 * modulo 2^64 (secure aggregation) and integer noise (dpsample.h) apply
 * to them unchanged.
 *
 * Fixed point: a value x in [lo, hi] is encoded as round(x * scale)
 * (round to nearest, ties to even) and decoded as v / scale.  The scale
 * is an integer >= 1 (10^k keeps decimal inputs exact); |lo| * scale and
 * |hi| * scale must be at most 2^53 so every encoded value is exact in a
 * double.  Sensitivities for dpmech.h are in the same units.
 *
 * Nothing here allocates; arrays are the caller's.
 */
#ifndef SR_BOUND_H
#define SR_BOUND_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Largest |bound| * scale (2^53: integers exact in a double). */
#define SR_BOUND_FIXED_MAX (1ull << 53)

/*
 * Clamp values[0..count) into [lo, hi] in place; *clamped (set, not
 * added to) is the number of values that changed.  SR_EINVAL for lo > hi.
 */
int sr_bound_clamp_i64(int64_t *values, size_t count, int64_t lo, int64_t hi,
		       uint64_t *clamped, struct sr_err *err) SR_WUR;

/*
 * The same for doubles.  SR_EINVAL for lo > hi, a non-finite bound, or a
 * NaN value (named by its index; values are then partly clamped).
 * Infinities clamp like any other value.
 */
int sr_bound_clamp_f64(double *values, size_t count, double lo, double hi,
		       uint64_t *clamped, struct sr_err *err) SR_WUR;

/* A fixed-point encoding of the bounded range [lo, hi]. */
struct sr_bound_fixed {
	double lo, hi;
	uint64_t scale;
	int64_t lo_fixed, hi_fixed;   /* round(lo * scale), round(hi * scale) */
};

/*
 * Check and fill *fx.  SR_EINVAL for non-finite or crossed bounds,
 * scale 0, or |lo| * scale or |hi| * scale past SR_BOUND_FIXED_MAX.
 */
int sr_bound_fixed_init(struct sr_bound_fixed *fx, double lo, double hi,
			uint64_t scale, struct sr_err *err) SR_WUR;

/*
 * Clamp each in[i] to [lo, hi] and encode it into out[i] (int64 as
 * uint64, two's complement).  *clamped is the number of values clamped.
 * in and out may not overlap.  SR_EINVAL for a NaN (named by index).
 */
int sr_bound_fixed_encode(const struct sr_bound_fixed *fx, const double *in,
			  size_t count, uint64_t *out, uint64_t *clamped,
			  struct sr_err *err) SR_WUR;

/* v (an encoded value or a sum of them, read as int64) / scale. */
double sr_bound_fixed_decode(const struct sr_bound_fixed *fx, uint64_t v);

/*
 * Sensitivity of a SUM of encoded values when one identity adds or
 * removes at most rows_per_id rows: rows_per_id * max(|lo_fixed|,
 * |hi_fixed|), at least 1.  SR_EINVAL for rows_per_id 0 or a product
 * past 2^63.
 */
int sr_bound_sum_sensitivity(const struct sr_bound_fixed *fx,
			     uint64_t rows_per_id, uint64_t *sensitivity,
			     struct sr_err *err) SR_WUR;

/*
 * Whether a sum of up to rows encoded values (plus noise of up to
 * noise_max in absolute value) stays inside int64, so the sum taken
 * modulo 2^64 decodes to the true sum.  SR_ELIMIT naming the row count
 * otherwise.
 */
int sr_bound_sum_check(const struct sr_bound_fixed *fx, uint64_t rows,
		       uint64_t noise_max, struct sr_err *err) SR_WUR;

#endif
