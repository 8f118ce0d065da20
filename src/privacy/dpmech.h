/*
 * dpmech.h - DP noise mechanisms: calibration of the samplers of
 * dpsample.h to (epsilon, delta, sensitivity), the noise's scale and
 * interval for the output, and noise added to fixed-point values.
 *
 * A struct sr_dpmech names one distribution of integer noise:
 *
 *   SR_DPMECH_DLAPLACE  discrete Laplace, param = scale t;
 *                       pure epsilon-DP for sensitivity t * epsilon
 *   SR_DPMECH_DGAUSS    discrete Gaussian, param = sigma^2;
 *                       (epsilon, delta)-DP by the exact bound of
 *                       Canonne-Kamath-Steinke 2020, Theorem 7
 *   SR_DPMECH_SKELLAM   symmetric Skellam, param = mu (each Poisson's
 *                       mean; variance 2 mu); (epsilon, delta)-DP through
 *                       Renyi DP (Agarwal-Kairouz-Liu 2021)
 *
 * Calibration runs in floating point (long double) where the bound has
 * no closed form, always rounding towards more noise, and the result is
 * an exact rational that the samplers use as is: the noise itself never
 * touches floating point.  Formulas and references:
 * docs/internals/privacy.md, "Calibration".
 *
 * Epsilon is a rational (a spec's decimal is converted by
 * sr_dpmech_rat_from_double, rounding down); delta a double in (0, 1).
 * Sensitivities are integers in the units of the noised value (after
 * fixed-point scaling, see bound.h).  Nothing here allocates.
 */
#ifndef SR_DPMECH_H
#define SR_DPMECH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "privacy/dprng.h"
#include "privacy/dpsample.h"

enum sr_dpmech_kind {
	SR_DPMECH_NONE = 0,
	SR_DPMECH_DLAPLACE = 1,
	SR_DPMECH_DGAUSS = 2,
	SR_DPMECH_SKELLAM = 3,
};

struct sr_dpmech {
	enum sr_dpmech_kind kind;
	struct sr_dprat param;   /* t, sigma^2 or mu, as above */
};

/* Largest epsilon accepted by the calibrations (e^64 is no privacy). */
#define SR_DPMECH_EPSILON_MAX 64
/* Denominator of the rationals the calibrations round up to (when the
 * numerator fits; a coarser power of two otherwise). */
#define SR_DPMECH_DEN 1048576u

/* "dlaplace", "dgauss", "skellam", "none"; "?" for anything else. */
const char *sr_dpmech_name(enum sr_dpmech_kind kind);

/*
 * x rounded to a multiple of 1/den, down (round_up == 0) or up, and
 * reduced: *out = floor(x den)/den or ceil(x den)/den.  SR_EINVAL for a
 * negative, NaN or infinite x, den == 0, or x den >= 2^64.
 */
int sr_dpmech_rat_from_double(double x, uint64_t den, int round_up,
			      struct sr_dprat *out, struct sr_err *err) SR_WUR;

/* num/den as a long double (for reporting and the calibrations). */
long double sr_dpmech_rat_value(struct sr_dprat r);

/*
 * Discrete Laplace for pure epsilon-DP: t = sensitivity / epsilon,
 * exactly (P[z] / P[z + s] <= exp(s / t) = exp(epsilon) for |s| <= the
 * sensitivity).  SR_EINVAL for epsilon <= 0 or over the maximum,
 * sensitivity 0, or a t past SR_DPSAMPLE_SCALE_MAX or not representable.
 */
int sr_dpmech_dlaplace_calibrate(struct sr_dprat epsilon, uint64_t sensitivity,
				 struct sr_dpmech *out,
				 struct sr_err *err) SR_WUR;

/*
 * delta of the discrete Gaussian with parameter sigma2 at epsilon for an
 * integer sensitivity (CKS 2020, Theorem 7, the exact value):
 *   delta = P[X > e s2/D - D/2] - e^e P[X > e s2/D + D/2],  X ~ N_Z(0, s2).
 * Evaluated as an upper bound: by summing the pmf for sigma <= 2^12, by
 * integral bounds on the tails beyond (docs/internals/privacy.md).
 */
int sr_dpmech_dgauss_delta(struct sr_dprat sigma2, struct sr_dprat epsilon,
			   uint64_t sensitivity, double *delta,
			   struct sr_err *err) SR_WUR;

/*
 * The discrete Gaussian for (epsilon, delta)-DP: the smallest sigma^2
 * (found by bisection, rounded up to a multiple of 1/SR_DPMECH_DEN) whose
 * sr_dpmech_dgauss_delta is at most delta.  SR_EINVAL for bad epsilon,
 * delta outside (0, 1), sensitivity 0, or a sigma^2 past the sampler's
 * bounds.
 */
int sr_dpmech_dgauss_calibrate(struct sr_dprat epsilon, double delta,
			       uint64_t sensitivity, struct sr_dpmech *out,
			       struct sr_err *err) SR_WUR;

/*
 * The conservative analytic alternative: the discrete Gaussian is
 * rho-zCDP with rho = D^2 / (2 sigma^2) (CKS 2020, section 2), and
 * rho-zCDP gives (rho + 2 sqrt(rho ln(1/delta)), delta)-DP (Bun-Steinke
 * 2016, Prop. 1.3); solved for sigma^2.  Never smaller than the exact one.
 */
int sr_dpmech_dgauss_calibrate_zcdp(struct sr_dprat epsilon, double delta,
				    uint64_t sensitivity,
				    struct sr_dpmech *out,
				    struct sr_err *err) SR_WUR;

/*
 * epsilon at delta of Skellam(mu) noise for L1 and L2 sensitivities l1
 * and l2 (l2 squared given as l2sq, an integer: for a vector query whose
 * one record moves k cells by at most b each, l1 = k b and l2sq = k b^2;
 * for a scalar l1 = b, l2sq = b^2).  Renyi DP of Agarwal, Kairouz, Liu
 * 2021, the multidimensional Skellam bound with variance V = 2 mu:
 *   eps(a) = a l2sq / (2V) + min(((2a - 1) l2sq + 6 l1) / (4 V^2), 3 l1 / (2V))
 * converted as in Balle et al. 2020 and CKS 2020, minimised over orders
 * a in [2, 10^6].  The cells are integers, so |v|_1 <= |v|_2^2 <= |v|_1^2
 * and each bound tightens the other (l1 := min(l1, l2sq), l2sq :=
 * min(l2sq, l1^2)).  SR_EINVAL for delta outside (0, 1), a zero
 * sensitivity or mu 0.
 */
int sr_dpmech_skellam_epsilon(struct sr_dprat mu, uint64_t l1, uint64_t l2sq,
			      double delta, double *epsilon,
			      struct sr_err *err) SR_WUR;

/*
 * Skellam for (epsilon, delta)-DP of the total noise: the smallest mu
 * (bisection, rounded up) whose sr_dpmech_skellam_epsilon is at most
 * epsilon.  SR_EINVAL as the Gaussian, or a mu past the sampler's bound.
 */
int sr_dpmech_skellam_calibrate(struct sr_dprat epsilon, double delta,
				uint64_t l1, uint64_t l2sq,
				struct sr_dpmech *out,
				struct sr_err *err) SR_WUR;

/*
 * The share each of several owners adds so that the noise of any
 * `honest` of them sums to at least the total: mu / honest (a sum of
 * independent Skellams is a Skellam).  With k owners, honest = k if only
 * a receiver outside the owners sees the sum; k - 1 if one owner (the
 * aggregator) sees it and knows its own share; in general k minus the
 * owners that may collude with the receiver.  SR_EINVAL for a total
 * that is not Skellam, honest == 0, or a denominator past 2^64.
 */
int sr_dpmech_skellam_share(const struct sr_dpmech *total, uint32_t honest,
			    struct sr_dpmech *share,
			    struct sr_err *err) SR_WUR;

/*
 * Standard deviation of the noise: exact for Laplace (2p/(1-p)^2 with
 * p = e^-1/t) and Skellam (2 mu); for the discrete Gaussian the variance
 * is computed from the pmf (it is below sigma^2).
 */
int sr_dpmech_stddev(const struct sr_dpmech *mech, double *stddev,
		     struct sr_err *err) SR_WUR;

/*
 * Half-width h of the smallest symmetric interval [-h, h] that holds the
 * noise with probability at least coverage (0 < coverage < 1; 0.95 for
 * the reported 95% interval).  *exact = 1 when h comes from the pmf
 * (Laplace: closed form; Gaussian: summed or integral-bounded tails;
 * Skellam with mu <= 2^24: convolution of the Poisson pmfs), 0 when it is
 * the Chernoff tail bound (Skellam with a larger mu), which errs wide.
 */
int sr_dpmech_interval(const struct sr_dpmech *mech, double coverage,
		       uint64_t *half_width, int *exact,
		       struct sr_err *err) SR_WUR;

/* One draw of the mechanism's noise. */
int sr_dpmech_sample(struct sr_dprng *rng, const struct sr_dpmech *mech,
		     int64_t *noise, struct sr_err *err) SR_WUR;

/*
 * Add independent noise to each of values[0..count), modulo 2^64 (the
 * values are fixed-point int64 in two's complement, as secure
 * aggregation sums them).  On failure values may be partly noised: the
 * caller must not release them.
 */
int sr_dpmech_add(struct sr_dprng *rng, const struct sr_dpmech *mech,
		  uint64_t *values, size_t count,
		  struct sr_err *err) SR_WUR;

#endif
