/*
 * dpsample.c - exact integer samplers: Bernoulli(exp(-gamma)), geometric,
 * discrete Laplace, discrete Gaussian (Canonne, Kamath, Steinke 2020,
 * Algorithms 1-3), Poisson and Skellam.  docs/internals/privacy.md has the
 * proofs and the bounds that keep every intermediate in 128 bits.
 */
#include <sodium.h>
#include <string.h>

#include "privacy/dpsample.h"
#include "base/banned.h"

typedef unsigned __int128 u128;

/* q of CKS Algorithm 3 is computed exactly only below 2^GAUSS_QBITS; a
 * larger q means exp(-gamma) < exp(-2^20) (see dgauss_accept). */
#define GAUSS_QBITS 20
/* A Poisson tail run longer than this (probability below exp(-2^40)
 * under the bounds) fails rather than overflow. */
#define POISSON_RUN_MAX (1ull << 62)

/* ---- Bernoulli(exp(-gamma)), CKS Algorithm 1 ---------------------------- */

/* exp(-r/d) for 0 <= r <= d, d >= 1.  K counts the successes of
 * Bernoulli(gamma/K), each drawn as Bernoulli(r/d) and Bernoulli(1/K);
 * P[K odd] = sum over odd k of gamma^(k-1)/(k-1)! (1 - gamma/k) = e^-gamma. */
static int bexp_unit(struct sr_dprng *rng, u128 r, u128 d)
{
	uint64_t k = 1;

	for (;;) {
		if (!sr_dprng_bernoulli128(rng, r, d))
			break;
		if (k > 1 && sr_dprng_uniform(rng, k) != 0)
			break;
		k++;
	}
	return (int)(k & 1);
}

/* exp(-(q + r/d)) = exp(-1)^q exp(-r/d), stopping at the first failure. */
static int bexp(struct sr_dprng *rng, u128 q, u128 r, u128 d)
{
	for (u128 i = 0; i < q; i++)
		if (!bexp_unit(rng, 1, 1))
			return 0;
	return bexp_unit(rng, r, d);
}

int sr_dpsample_bernoulli_exp(struct sr_dprng *rng, struct sr_dprat gamma,
			      int *out, struct sr_err *err)
{
	*out = 0;
	if (gamma.den == 0)
		return sr_fail(err, SR_EINVAL,
			       "bernoulli_exp: gamma %llu/0 has a zero denominator",
			       (unsigned long long)gamma.num);
	*out = bexp(rng, gamma.num / gamma.den, gamma.num % gamma.den, gamma.den);
	return SR_OK;
}

/* ---- geometric and discrete Laplace, CKS Algorithm 2 ------------------- */

/*
 * X = U + den*V with U uniform on [0, den) kept with probability
 * exp(-U/den) and V geometric with rate 1 has P[X = x] proportional to
 * exp(-x/den); Y = floor(X/num) then has P[Y = y] proportional to
 * exp(-y num/den).  No parameter checks (the callers do them).
 */
static int geometric(struct sr_dprng *rng, uint64_t num, uint64_t den,
		     uint64_t *out, struct sr_err *err)
{
	uint64_t u, v;
	u128 x, y;

	for (;;) {
		u = sr_dprng_uniform(rng, den);
		if (!bexp_unit(rng, u, den))
			continue;
		v = 0;
		while (bexp_unit(rng, 1, 1))
			v++;
		x = (u128)u + (u128)den * v;
		y = x / num;
		if (y > INT64_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "geometric: draw past 2^63 (probability below exp(-2^15))");
		*out = (uint64_t)y;
		return SR_OK;
	}
}

int sr_dpsample_geometric(struct sr_dprng *rng, struct sr_dprat gamma,
			  uint64_t *out, struct sr_err *err)
{
	*out = 0;
	if (gamma.num == 0 || gamma.den == 0)
		return sr_fail(err, SR_EINVAL,
			       "geometric: rate %llu/%llu must have a positive numerator and denominator",
			       (unsigned long long)gamma.num,
			       (unsigned long long)gamma.den);
	if ((u128)gamma.num * SR_DPSAMPLE_SCALE_MAX < gamma.den)
		return sr_fail(err, SR_EINVAL,
			       "geometric: rate %llu/%llu is below the minimum of 2^-48",
			       (unsigned long long)gamma.num,
			       (unsigned long long)gamma.den);
	return geometric(rng, gamma.num, gamma.den, out, err);
}

/* P[z] proportional to exp(-|z| den/num): a signed geometric, with the
 * duplicate zero ("-0") rejected. */
static int dlaplace(struct sr_dprng *rng, uint64_t num, uint64_t den,
		    int64_t *out, struct sr_err *err)
{
	uint64_t y;
	int rc, negative;

	for (;;) {
		rc = geometric(rng, den, num, &y, err);
		if (rc != SR_OK)
			return rc;
		negative = (int)(sr_dprng_u64(rng) & 1);
		if (negative && y == 0)
			continue;
		*out = negative ? -(int64_t)y : (int64_t)y;
		return SR_OK;
	}
}

static int check_scale(const char *what, struct sr_dprat scale,
		       struct sr_err *err)
{
	if (scale.num == 0 || scale.den == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: scale %llu/%llu must have a positive numerator and denominator",
			       what, (unsigned long long)scale.num,
			       (unsigned long long)scale.den);
	if (scale.num > (u128)scale.den * SR_DPSAMPLE_SCALE_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: scale %llu/%llu is over the maximum of 2^48",
			       what, (unsigned long long)scale.num,
			       (unsigned long long)scale.den);
	return SR_OK;
}

int sr_dpsample_dlaplace(struct sr_dprng *rng, struct sr_dprat scale,
			 int64_t *out, struct sr_err *err)
{
	int rc;

	*out = 0;
	rc = check_scale("dlaplace", scale, err);
	if (rc != SR_OK)
		return rc;
	return dlaplace(rng, scale.num, scale.den, out, err);
}

/* ---- discrete Gaussian, CKS Algorithm 3 -------------------------------- */

static uint64_t isqrt64(uint64_t x)
{
	uint64_t r = 0, bit = 1ull << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* 256-bit unsigned, just enough for q = floor(a^2 / D) when a >= 2^64. */
struct u256 {
	u128 hi, lo;
};

static struct u256 mul128(u128 a, u128 b)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
	u128 p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
	u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
	struct u256 r;

	r.lo = (mid << 64) | (uint64_t)p00;
	r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
	return r;
}

static struct u256 shl128(u128 a, unsigned k)
{
	struct u256 r;

	r.lo = a << k;
	r.hi = k ? a >> (128 - k) : 0;
	return r;
}

static int ge256(struct u256 a, struct u256 b)
{
	return a.hi != b.hi ? a.hi > b.hi : a.lo >= b.lo;
}

static struct u256 sub256(struct u256 a, struct u256 b)
{
	struct u256 r;

	r.lo = a.lo - b.lo;
	r.hi = a.hi - b.hi - (a.lo < b.lo);
	return r;
}

/*
 * Accept a discrete Laplace candidate y with probability
 * exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)) = exp(-a^2 / D) where
 * a = |y| t d - n and D = 2 n d t^2 (sigma^2 = n/d), exactly.
 * *accept is set; SR_ELIMIT only when gamma >= 2^20 and 2^20 draws of
 * Bernoulli(exp(-1)) all succeeded (probability exp(-2^20)).
 */
static int dgauss_accept(struct sr_dprng *rng, uint64_t ay, uint64_t t,
			 uint64_t n, uint64_t d, u128 D, int *accept,
			 struct sr_err *err)
{
	u128 prod, a;
	struct u256 big, limit;
	u128 q = 0;

	*accept = 0;
	if (__builtin_mul_overflow((u128)ay * t, (u128)d, &prod))
		goto huge;
	a = prod >= n ? prod - n : n - prod;
	if ((a >> 64) == 0) {
		u128 num = a * a;

		*accept = bexp(rng, num / D, num % D, D);
		return SR_OK;
	}
	big = mul128(a, a);
	limit = shl128(D, GAUSS_QBITS);
	if (ge256(big, limit))
		goto huge;
	for (int k = GAUSS_QBITS - 1; k >= 0; k--) {
		struct u256 dk = shl128(D, (unsigned)k);

		if (ge256(big, dk)) {
			big = sub256(big, dk);
			q |= (u128)1 << k;
		}
	}
	*accept = bexp(rng, q, big.lo, D);   /* big < D now: big.hi == 0 */
	return SR_OK;
huge:
	/* gamma >= 2^20: exp(-gamma) = exp(-1)^(2^20) exp(-(gamma - 2^20)). */
	for (uint64_t i = 0; i < (1ull << GAUSS_QBITS); i++)
		if (!bexp_unit(rng, 1, 1))
			return SR_OK;
	return sr_fail(err, SR_ELIMIT,
		       "dgauss: candidate with gamma over 2^20 passed 2^20 trials (probability exp(-2^20))");
}

int sr_dpsample_dgauss(struct sr_dprng *rng, struct sr_dprat sigma2,
		       int64_t *out, struct sr_err *err)
{
	uint64_t n = sigma2.num, d = sigma2.den, t, ay;
	int64_t y;
	u128 D;
	int rc, accept;

	*out = 0;
	if (n == 0 || d == 0 || n > SR_DPSAMPLE_SIGMA2_PART_MAX ||
	    d > SR_DPSAMPLE_SIGMA2_PART_MAX)
		return sr_fail(err, SR_EINVAL,
			       "dgauss: sigma^2 = %llu/%llu needs a numerator and denominator in [1, 2^62]",
			       (unsigned long long)n, (unsigned long long)d);
	t = isqrt64(n / d) + 1;   /* floor(sigma) + 1 */
	D = (u128)n * d * 2 * t * t;   /* < 2^128 under the bounds */
	for (;;) {
		rc = dlaplace(rng, t, 1, &y, err);
		if (rc != SR_OK)
			return rc;
		ay = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
		rc = dgauss_accept(rng, ay, t, n, d, D, &accept, err);
		if (rc != SR_OK)
			return rc;
		if (accept) {
			*out = y;
			return SR_OK;
		}
	}
}

/* ---- Poisson and Skellam ----------------------------------------------- */

/*
 * f(j) = p(m + j) / p(m) for the mode m = floor(lambda), a product of |j|
 * rationals in [0, 1]: lambda/(m+i) for i = 1..j when j > 0, and i/lambda
 * for i = m+j+1..m when j < 0.  One trial per factor, stopping at the
 * first failure, so the whole is a Bernoulli(f(j)).
 */
static int poisson_ratio(struct sr_dprng *rng, uint64_t n, uint64_t d,
			 uint64_t m, int64_t j)
{
	if (j > 0) {
		for (uint64_t i = 1; i <= (uint64_t)j; i++)
			if (!sr_dprng_bernoulli128(rng, n, (u128)d * (m + i)))
				return 0;
	} else if (j < 0) {
		for (uint64_t i = m - (uint64_t)(-j) + 1; i <= m; i++)
			if (!sr_dprng_bernoulli128(rng, (u128)i * d, n))
				return 0;
	}
	return 1;
}

/*
 * Rejection from an envelope that is flat (weight 1) on j in [-w, w]
 * around the mode and geometric beyond, with ratios rho_R =
 * lambda/(m+w+1) on the right and rho_L = (m-w)/lambda on the left;
 * log-concavity puts f under it.  Region weights are integers (the tail
 * masses rounded up); the rounding is paid back by one more trial.
 * docs/internals/privacy.md, "Poisson", has the derivation.
 */
static int poisson(struct sr_dprng *rng, uint64_t n, uint64_t d,
		   uint64_t *out, struct sr_err *err)
{
	uint64_t m, w, left_c, c, total, u, g;
	u128 dr, wr, nl = 0, dl = 0, wl = 0, right_den;
	int64_t j;
	int ok;

	*out = 0;
	if (n == 0)
		return SR_OK;
	m = n / d;
	w = isqrt64(m) + 1;
	left_c = m < w ? m : w;
	c = left_c + w + 1;
	right_den = (u128)d * (m + w + 1);
	dr = right_den - n;                /* > 0: n < d (m + 1) */
	wr = ((u128)n + dr - 1) / dr;      /* ceil(rho_R / (1 - rho_R)) */
	if (m > w) {
		nl = (u128)d * (m - w);
		dl = (u128)n - nl;         /* > 0: n >= d m */
		wl = (nl + dl - 1) / dl;   /* ceil(rho_L / (1 - rho_L)) */
	}
	total = c + (uint64_t)wr + (uint64_t)wl;
	for (;;) {
		u = sr_dprng_uniform(rng, total);
		if (u < c) {
			j = (int64_t)u - (int64_t)left_c;
			ok = poisson_ratio(rng, n, d, m, j);
		} else if (u < c + (uint64_t)wr) {
			/* g >= 1 with P[g] = (1 - rho_R) rho_R^(g-1) */
			for (g = 1; sr_dprng_bernoulli128(rng, n, right_den); g++)
				if (g >= POISSON_RUN_MAX)
					goto too_long;
			ok = sr_dprng_bernoulli128(rng, n, dr * wr) &&
			     poisson_ratio(rng, n, d, m, (int64_t)w);
			for (uint64_t i = w + 1; ok && i <= w + g; i++)
				ok = sr_dprng_bernoulli(rng, m + w + 1, m + i);
			j = (int64_t)(w + g);
		} else {
			for (g = 1; sr_dprng_bernoulli128(rng, nl, n); g++)
				if (g >= POISSON_RUN_MAX)
					goto too_long;
			if (g > m - w)
				continue;   /* below 0 */
			ok = sr_dprng_bernoulli128(rng, nl, dl * wl) &&
			     poisson_ratio(rng, n, d, m, -(int64_t)w);
			for (uint64_t i = m - w - g + 1; ok && i <= m - w; i++)
				ok = sr_dprng_bernoulli(rng, i, m - w);
			j = -(int64_t)(w + g);
		}
		if (ok) {
			*out = (uint64_t)((int64_t)m + j);
			return SR_OK;
		}
	}
too_long:
	return sr_fail(err, SR_ELIMIT,
		       "poisson: tail run past 2^62 (probability below exp(-2^40))");
}

static int check_poisson(const char *what, struct sr_dprat lambda,
			 struct sr_err *err)
{
	if (lambda.den == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: parameter %llu/0 has a zero denominator",
			       what, (unsigned long long)lambda.num);
	if (lambda.num > (u128)lambda.den * SR_DPSAMPLE_POISSON_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: parameter %llu/%llu is over the maximum of 2^40",
			       what, (unsigned long long)lambda.num,
			       (unsigned long long)lambda.den);
	return SR_OK;
}

int sr_dpsample_poisson(struct sr_dprng *rng, struct sr_dprat lambda,
			uint64_t *out, struct sr_err *err)
{
	int rc;

	*out = 0;
	rc = check_poisson("poisson", lambda, err);
	if (rc != SR_OK)
		return rc;
	return poisson(rng, lambda.num, lambda.den, out, err);
}

int sr_dpsample_skellam(struct sr_dprng *rng, struct sr_dprat mu,
			int64_t *out, struct sr_err *err)
{
	uint64_t a = 0, b = 0;
	int rc;

	*out = 0;
	rc = check_poisson("skellam", mu, err);
	if (rc != SR_OK)
		return rc;
	rc = poisson(rng, mu.num, mu.den, &a, err);
	if (rc == SR_OK)
		rc = poisson(rng, mu.num, mu.den, &b, err);
	if (rc == SR_OK)
		*out = (int64_t)a - (int64_t)b;
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));
	return rc;
}
