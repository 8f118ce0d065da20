/*
 * dpsample.h - exact integer samplers for differential privacy (DESIGN §16).
 *
 * Every sampler draws only uniform integers from a struct sr_dprng
 * (libsodium randomness) and does only integer arithmetic on rational
 * parameters, so the output has exactly the stated distribution: no
 * floating point, hence no Mironov-style attack on the low bits of a
 * float.  The algorithms are those of Canonne, Kamath and Steinke, "The
 * Discrete Gaussian for Differential Privacy" (NeurIPS 2020), plus an
 * exact Poisson sampler for Skellam noise; proofs, costs and the
 * parameter bounds are in docs/internals/privacy.md.
 *
 * Parameters are rationals num/den of uint64.  A parameter outside its
 * documented bounds fails with SR_EINVAL naming the parameter, before any
 * randomness is used.  A sampler whose exact result would not fit the
 * output type fails with SR_ELIMIT instead of returning another
 * distribution; under the documented bounds that happens with
 * probability below 2^-10000 per draw.
 *
 * Threads: as the generator (one per thread).  Noise is a secret: callers
 * wipe what they keep of it (sodium_memzero).
 */
#ifndef SR_DPSAMPLE_H
#define SR_DPSAMPLE_H

#include <stdint.h>

#include "base/err.h"
#include "privacy/dprng.h"

/* A non-negative rational num/den; den >= 1 wherever it is used. */
struct sr_dprat {
	uint64_t num;
	uint64_t den;
};

/* Largest discrete Laplace scale (and smallest geometric rate 2^-48):
 * draws past INT64_MAX then have probability below exp(-2^15). */
#define SR_DPSAMPLE_SCALE_MAX (1ull << 48)
/* Bound on the numerator and denominator of a discrete Gaussian sigma^2:
 * keeps every intermediate of CKS Algorithm 3 in 128 bits (sigma <= 2^31). */
#define SR_DPSAMPLE_SIGMA2_PART_MAX (1ull << 62)
/* Largest Poisson mean: the exact sampler costs O(sqrt(lambda)) uniform
 * draws (about 3 sqrt(lambda)), so 2^40 is some 3 million draws. */
#define SR_DPSAMPLE_POISSON_MAX (1ull << 40)

/*
 * *out = 1 with probability exp(-gamma), else 0, for gamma = num/den >= 0
 * (den >= 1, num any).  CKS Algorithm 1.  SR_EINVAL for den == 0.
 */
int sr_dpsample_bernoulli_exp(struct sr_dprng *rng, struct sr_dprat gamma,
			      int *out, struct sr_err *err) SR_WUR;

/*
 * Geometric with rate gamma = num/den > 0: P[*out = k] =
 * (1 - e^-gamma) e^(-gamma k) for k = 0, 1, ...  Bounds: num, den >= 1,
 * gamma >= 1/SR_DPSAMPLE_SCALE_MAX.
 */
int sr_dpsample_geometric(struct sr_dprng *rng, struct sr_dprat gamma,
			  uint64_t *out, struct sr_err *err) SR_WUR;

/*
 * Discrete Laplace with scale t = num/den > 0: P[*out = z] proportional
 * to exp(-|z| / t) for every integer z.  CKS Algorithm 2.  Bounds: num,
 * den >= 1, t <= SR_DPSAMPLE_SCALE_MAX.
 */
int sr_dpsample_dlaplace(struct sr_dprng *rng, struct sr_dprat scale,
			 int64_t *out, struct sr_err *err) SR_WUR;

/*
 * Discrete Gaussian with parameter sigma^2 = num/den > 0: P[*out = z]
 * proportional to exp(-z^2 / (2 sigma^2)).  CKS Algorithm 3.  Bounds:
 * 1 <= num, den <= SR_DPSAMPLE_SIGMA2_PART_MAX.
 */
int sr_dpsample_dgauss(struct sr_dprng *rng, struct sr_dprat sigma2,
		       int64_t *out, struct sr_err *err) SR_WUR;

/*
 * Poisson with mean lambda = num/den >= 0: P[*out = k] =
 * e^-lambda lambda^k / k!.  Bounds: den >= 1, lambda <=
 * SR_DPSAMPLE_POISSON_MAX (lambda = 0 gives 0).
 */
int sr_dpsample_poisson(struct sr_dprng *rng, struct sr_dprat lambda,
			uint64_t *out, struct sr_err *err) SR_WUR;

/*
 * Symmetric Skellam with parameter mu = num/den: the difference of two
 * independent Poisson(mu), so mean 0 and variance 2 mu.  The sum of
 * independent Skellam(mu_i) is Skellam(sum mu_i), which is why owners can
 * each add a share.  Bounds as sr_dpsample_poisson.
 */
int sr_dpsample_skellam(struct sr_dprng *rng, struct sr_dprat mu,
			int64_t *out, struct sr_err *err) SR_WUR;

#endif
