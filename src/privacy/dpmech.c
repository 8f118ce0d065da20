/*
 * dpmech.c - calibration, scales and intervals of the DP noise
 * mechanisms (docs/internals/privacy.md, "Calibration").  Floating point
 * here only chooses parameters and reports them; every rounding goes
 * towards more noise.
 */
#include <math.h>
#include <sodium.h>

#include "privacy/dpmech.h"
#include "base/banned.h"

typedef unsigned __int128 u128;

/* Discrete Gaussian tails are summed term by term up to this sigma and
 * bounded by integrals beyond it (a few thousand terms per tail). */
#define GAUSS_SUM_SIGMA_MAX 1024.0L
/* Relative allowance for rounding in summed tails (far above the
 * long double error of ~10^4 additions, far below any delta asked). */
#define SUM_SLACK 1e-12L
/* Skellam intervals come from the Poisson pmfs up to this mu. */
#define SKELLAM_EXACT_MU_MAX 16777216.0L
/* Bisection steps of the calibrations (each halves a log-interval). */
#define BISECT_STEPS 80

const char *sr_dpmech_name(enum sr_dpmech_kind kind)
{
	switch (kind) {
	case SR_DPMECH_NONE: return "none";
	case SR_DPMECH_DLAPLACE: return "dlaplace";
	case SR_DPMECH_DGAUSS: return "dgauss";
	case SR_DPMECH_SKELLAM: return "skellam";
	}
	return "?";
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static struct sr_dprat reduce(uint64_t num, uint64_t den)
{
	struct sr_dprat r = { num, den };
	uint64_t g = gcd64(num, den);

	if (g > 1) {
		r.num /= g;
		r.den /= g;
	}
	if (r.num == 0)
		r.den = 1;
	return r;
}

long double sr_dpmech_rat_value(struct sr_dprat r)
{
	return (long double)r.num / (long double)r.den;
}

int sr_dpmech_rat_from_double(double x, uint64_t den, int round_up,
			      struct sr_dprat *out, struct sr_err *err)
{
	long double v;

	out->num = 0;
	out->den = 1;
	if (den == 0)
		return sr_fail(err, SR_EINVAL, "rational: denominator 0");
	if (!isfinite(x) || x < 0)
		return sr_fail(err, SR_EINVAL,
			       "rational: %g is not a finite non-negative number", x);
	v = (long double)x * (long double)den;
	v = round_up ? ceill(v) : floorl(v);
	if (v >= 18446744073709551616.0L)
		return sr_fail(err, SR_EINVAL,
			       "rational: %g times %llu is past 2^64", x,
			       (unsigned long long)den);
	*out = reduce((uint64_t)v, den);
	return SR_OK;
}

static int check_epsilon(struct sr_dprat epsilon, struct sr_err *err)
{
	if (epsilon.den == 0 || epsilon.num == 0)
		return sr_fail(err, SR_EINVAL,
			       "epsilon %llu/%llu must be positive",
			       (unsigned long long)epsilon.num,
			       (unsigned long long)epsilon.den);
	if (epsilon.num > (u128)epsilon.den * SR_DPMECH_EPSILON_MAX)
		return sr_fail(err, SR_EINVAL,
			       "epsilon %Lg is over the maximum of %d",
			       sr_dpmech_rat_value(epsilon), SR_DPMECH_EPSILON_MAX);
	return SR_OK;
}

static int check_delta(double delta, struct sr_err *err)
{
	if (!(delta > 0 && delta < 1))
		return sr_fail(err, SR_EINVAL,
			       "delta %g must be in (0, 1)", delta);
	return SR_OK;
}

/* x rounded up to num/den with den a power of two <= SR_DPMECH_DEN and
 * num <= num_max; SR_EINVAL if x is past num_max. */
static int rat_up(long double x, uint64_t num_max, struct sr_dprat *out,
		  const char *what, struct sr_err *err)
{
	uint64_t den = SR_DPMECH_DEN;
	long double v;

	if (!(x > 0) || !isfinite(x) || x > (long double)num_max)
		return sr_fail(err, SR_EINVAL,
			       "%s of %Lg is outside what the sampler takes (at most %llu)",
			       what, x, (unsigned long long)num_max);
	while (den > 1 && x * den > (long double)num_max)
		den >>= 1;
	v = ceill(x * den);
	if (v < 1)
		v = 1;
	*out = reduce((uint64_t)v, den);
	return SR_OK;
}

/* ---- discrete Laplace --------------------------------------------------- */

int sr_dpmech_dlaplace_calibrate(struct sr_dprat epsilon, uint64_t sensitivity,
				 struct sr_dpmech *out, struct sr_err *err)
{
	u128 num;
	int rc;

	out->kind = SR_DPMECH_NONE;
	out->param.num = 0;
	out->param.den = 1;
	rc = check_epsilon(epsilon, err);
	if (rc != SR_OK)
		return rc;
	if (sensitivity == 0)
		return sr_fail(err, SR_EINVAL, "dlaplace: sensitivity must be at least 1");
	/* t = sensitivity / epsilon = sensitivity * den / num */
	num = (u128)sensitivity * epsilon.den;
	if (num > UINT64_MAX)
		return sr_fail(err, SR_EINVAL,
			       "dlaplace: scale %llu * %llu / %llu is not representable",
			       (unsigned long long)sensitivity,
			       (unsigned long long)epsilon.den,
			       (unsigned long long)epsilon.num);
	if (num > (u128)epsilon.num * SR_DPSAMPLE_SCALE_MAX)
		return sr_fail(err, SR_EINVAL,
			       "dlaplace: scale %Lg is over the maximum of 2^48",
			       (long double)num / epsilon.num);
	out->kind = SR_DPMECH_DLAPLACE;
	out->param = reduce((uint64_t)num, epsilon.num);
	return SR_OK;
}

/* ---- discrete Gaussian tails ------------------------------------------- */

struct gauss {
	long double s2, sigma;
	long double z_lo, z_hi;   /* bounds on Z = sum over all x of f(x) */
	int summed;
};

static long double gauss_f(const struct gauss *g, long double x)
{
	return expl(-x * x / (2 * g->s2));
}

/* integral of f from a to infinity */
static long double gauss_int(const struct gauss *g, long double a)
{
	return g->sigma * sqrtl(M_PI / 2) * erfcl(a / (g->sigma * sqrtl(2.0L)));
}

/* Bounds on S(k) = sum over x >= k of f(x), for an integer k >= 0. */
static void gauss_tail(const struct gauss *g, long double k, long double *lo,
		       long double *hi)
{
	if (g->summed) {
		long double sum = 0, term;

		for (long double x = k;; x += 1) {
			term = gauss_f(g, x);
			sum += term;
			if (term <= sum * 1e-30L)
				break;
		}
		*lo = sum * (1 - SUM_SLACK);
		*hi = sum * (1 + SUM_SLACK);
		return;
	}
	if (k >= g->sigma + 0.5L) {
		/* f is convex beyond sigma: trapezoid below, midpoint above */
		*lo = gauss_int(g, k) + gauss_f(g, k) / 2;
		*hi = gauss_int(g, k - 0.5L);
	} else {
		/* f decreasing on [k, inf) */
		*lo = gauss_int(g, k);
		*hi = gauss_int(g, k) + gauss_f(g, k);
	}
	*lo *= 1 - SUM_SLACK;
	*hi *= 1 + SUM_SLACK;
}

static void gauss_init(struct gauss *g, struct sr_dprat sigma2)
{
	long double lo, hi, q;

	g->s2 = sr_dpmech_rat_value(sigma2);
	g->sigma = sqrtl(g->s2);
	g->summed = g->sigma <= GAUSS_SUM_SIGMA_MAX;
	if (g->summed) {
		gauss_tail(g, 1, &lo, &hi);
		g->z_lo = 1 + 2 * lo;
		g->z_hi = 1 + 2 * hi;
	} else {
		/* Poisson summation: Z = sigma sqrt(2 pi) (1 + 2 sum_k q^(k^2)) */
		q = expl(-2 * M_PI * M_PI * g->s2);
		g->z_lo = g->sigma * sqrtl(2 * M_PI);
		g->z_hi = g->z_lo * (1 + 2 * q / (1 - q)) * (1 + SUM_SLACK);
	}
}

/* Bounds on P[X >= k] for an integer k. */
static void gauss_ge(const struct gauss *g, long double k, long double *lo,
		     long double *hi)
{
	long double slo, shi;

	if (k >= 1) {
		gauss_tail(g, k, &slo, &shi);
		*lo = slo / g->z_hi;
		*hi = shi / g->z_lo;
	} else {
		/* P[X >= k] = 1 - P[X <= k - 1] = 1 - P[X >= 1 - k] */
		gauss_tail(g, 1 - k, &slo, &shi);
		*lo = 1 - shi / g->z_lo;
		*hi = 1 - slo / g->z_hi;
	}
	if (*lo < 0)
		*lo = 0;
	if (*hi > 1)
		*hi = 1;
}

/* Upper bound on delta (CKS Theorem 7) for real parameters. */
static long double gauss_delta(const struct gauss *g, long double eps,
			       long double sens)
{
	long double a1 = eps * g->s2 / sens - sens / 2;
	long double a2 = eps * g->s2 / sens + sens / 2;
	long double k1, k2, p1_lo, p1_hi, p2_lo, p2_hi, delta;

	/* P[X > a] = P[X >= floor(a) + 1]; nudge a so a near-integer a
	 * rounds towards the larger delta. */
	k1 = floorl(a1 - 1e-9L * fmaxl(1, fabsl(a1))) + 1;
	k2 = floorl(a2 + 1e-9L * fmaxl(1, fabsl(a2))) + 1;
	gauss_ge(g, k1, &p1_lo, &p1_hi);
	gauss_ge(g, k2, &p2_lo, &p2_hi);
	delta = p1_hi - expl(eps) * p2_lo;
	return delta > 0 ? delta : 0;
}

int sr_dpmech_dgauss_delta(struct sr_dprat sigma2, struct sr_dprat epsilon,
			   uint64_t sensitivity, double *delta,
			   struct sr_err *err)
{
	struct gauss g;
	int rc;

	*delta = 1;
	rc = check_epsilon(epsilon, err);
	if (rc != SR_OK)
		return rc;
	if (sensitivity == 0)
		return sr_fail(err, SR_EINVAL, "dgauss: sensitivity must be at least 1");
	if (sigma2.num == 0 || sigma2.den == 0)
		return sr_fail(err, SR_EINVAL, "dgauss: sigma^2 must be positive");
	gauss_init(&g, sigma2);
	*delta = (double)gauss_delta(&g, sr_dpmech_rat_value(epsilon),
				     (long double)sensitivity);
	return SR_OK;
}

static long double zcdp_sigma2(long double eps, long double delta,
			       long double sens)
{
	long double l = logl(1 / delta);
	long double root_rho = sqrtl(l + eps) - sqrtl(l);

	return sens * sens / (2 * root_rho * root_rho);
}

int sr_dpmech_dgauss_calibrate_zcdp(struct sr_dprat epsilon, double delta,
				    uint64_t sensitivity,
				    struct sr_dpmech *out, struct sr_err *err)
{
	int rc;

	out->kind = SR_DPMECH_NONE;
	out->param.num = 0;
	out->param.den = 1;
	rc = check_epsilon(epsilon, err);
	if (rc == SR_OK)
		rc = check_delta(delta, err);
	if (rc != SR_OK)
		return rc;
	if (sensitivity == 0)
		return sr_fail(err, SR_EINVAL, "dgauss: sensitivity must be at least 1");
	/* a hair above, against rounding in the formula */
	rc = rat_up(zcdp_sigma2(sr_dpmech_rat_value(epsilon), delta,
				(long double)sensitivity) * (1 + 1e-12L),
		    SR_DPSAMPLE_SIGMA2_PART_MAX, &out->param,
		    "dgauss: sigma^2", err);
	if (rc == SR_OK)
		out->kind = SR_DPMECH_DGAUSS;
	return rc;
}

static long double delta_at(long double s2, long double eps, long double sens)
{
	struct gauss g;
	struct sr_dprat r;

	/* evaluate at the rational the sampler would get */
	r.den = SR_DPMECH_DEN;
	while (r.den > 1 && s2 * r.den > (long double)SR_DPSAMPLE_SIGMA2_PART_MAX)
		r.den >>= 1;
	r.num = (uint64_t)ceill(s2 * r.den);
	if (r.num == 0)
		r.num = 1;
	gauss_init(&g, r);
	return gauss_delta(&g, eps, sens);
}

int sr_dpmech_dgauss_calibrate(struct sr_dprat epsilon, double delta,
			       uint64_t sensitivity, struct sr_dpmech *out,
			       struct sr_err *err)
{
	long double eps, sens, lo, hi, mid, floor_s2 = 1.0L / SR_DPMECH_DEN;
	struct sr_dpmech zc;
	int rc;

	out->kind = SR_DPMECH_NONE;
	out->param.num = 0;
	out->param.den = 1;
	rc = sr_dpmech_dgauss_calibrate_zcdp(epsilon, delta, sensitivity, &zc, err);
	if (rc != SR_OK)
		return rc;
	eps = sr_dpmech_rat_value(epsilon);
	sens = (long double)sensitivity;
	hi = sr_dpmech_rat_value(zc.param);
	if (delta_at(hi, eps, sens) > delta) {
		/* cannot happen if the zCDP bound holds; keep it as the answer */
		*out = zc;
		return SR_OK;
	}
	lo = hi / 4;
	while (lo > floor_s2 && delta_at(lo, eps, sens) <= delta)
		lo /= 4;
	if (lo <= floor_s2) {
		lo = floor_s2;
		if (delta_at(lo, eps, sens) <= delta)
			hi = lo;
	}
	for (int i = 0; i < BISECT_STEPS && hi > lo * (1 + 1e-9L); i++) {
		mid = sqrtl(lo * hi);
		if (delta_at(mid, eps, sens) <= delta)
			hi = mid;
		else
			lo = mid;
	}
	rc = rat_up(hi, SR_DPSAMPLE_SIGMA2_PART_MAX, &out->param,
		    "dgauss: sigma^2", err);
	if (rc == SR_OK)
		out->kind = SR_DPMECH_DGAUSS;
	return rc;
}

/* ---- Skellam ------------------------------------------------------------ */

static long double skellam_eps(long double mu, long double l1, long double l2sq,
			       long double delta)
{
	long double var = 2 * mu, best = INFINITY, a = 2, rdp, eps;

	while (a <= 1e6L) {
		rdp = a * l2sq / (2 * var) +
		      fminl(((2 * a - 1) * l2sq + 6 * l1) / (4 * var * var),
			    3 * l1 / (2 * var));
		eps = rdp + logl((a - 1) / a) - (logl(delta) + logl(a)) / (a - 1);
		if (eps < best)
			best = eps;
		a = a < 256 ? a + 1 : ceill(a * 1.02L);
	}
	return best;
}

/*
 * The noised cells are integers, so a record's change v satisfies
 * |v|_1 <= |v|_2^2 <= |v|_1^2: each given bound tightens the other.
 */
static int check_skellam_sens(uint64_t *l1, uint64_t *l2sq, struct sr_err *err)
{
	if (*l1 == 0 || *l2sq == 0)
		return sr_fail(err, SR_EINVAL,
			       "skellam: sensitivities must be at least 1 (got l1 %llu, l2^2 %llu)",
			       (unsigned long long)*l1, (unsigned long long)*l2sq);
	if (*l2sq < *l1)
		*l1 = *l2sq;
	if ((u128)*l1 * *l1 < *l2sq)
		*l2sq = *l1 * *l1;
	return SR_OK;
}

int sr_dpmech_skellam_epsilon(struct sr_dprat mu, uint64_t l1, uint64_t l2sq,
			      double delta, double *epsilon, struct sr_err *err)
{
	int rc;

	*epsilon = INFINITY;
	rc = check_delta(delta, err);
	if (rc == SR_OK)
		rc = check_skellam_sens(&l1, &l2sq, err);
	if (rc != SR_OK)
		return rc;
	if (mu.num == 0 || mu.den == 0)
		return sr_fail(err, SR_EINVAL, "skellam: mu must be positive");
	*epsilon = (double)skellam_eps(sr_dpmech_rat_value(mu), (long double)l1,
				       (long double)l2sq, delta);
	return SR_OK;
}

int sr_dpmech_skellam_calibrate(struct sr_dprat epsilon, double delta,
				uint64_t l1, uint64_t l2sq,
				struct sr_dpmech *out, struct sr_err *err)
{
	long double eps, lo, hi, mid, max = (long double)SR_DPSAMPLE_POISSON_MAX;
	int rc;

	out->kind = SR_DPMECH_NONE;
	out->param.num = 0;
	out->param.den = 1;
	rc = check_epsilon(epsilon, err);
	if (rc == SR_OK)
		rc = check_delta(delta, err);
	if (rc == SR_OK)
		rc = check_skellam_sens(&l1, &l2sq, err);
	if (rc != SR_OK)
		return rc;
	eps = sr_dpmech_rat_value(epsilon);
	hi = 1.0L / 64;
	while (hi <= max && skellam_eps(hi, l1, l2sq, delta) > eps)
		hi *= 2;
	if (hi > max)
		return sr_fail(err, SR_EINVAL,
			       "skellam: epsilon %Lg at delta %g needs mu over 2^40 (the sampler's bound)",
			       eps, delta);
	lo = hi / 2;
	for (int i = 0; i < BISECT_STEPS && hi > lo * (1 + 1e-9L); i++) {
		mid = sqrtl(lo * hi);
		if (skellam_eps(mid, l1, l2sq, delta) <= eps)
			hi = mid;
		else
			lo = mid;
	}
	rc = rat_up(hi, SR_DPSAMPLE_POISSON_MAX * (uint64_t)SR_DPMECH_DEN,
		    &out->param, "skellam: mu", err);
	if (rc == SR_OK)
		out->kind = SR_DPMECH_SKELLAM;
	return rc;
}

int sr_dpmech_skellam_share(const struct sr_dpmech *total, uint32_t honest,
			    struct sr_dpmech *share, struct sr_err *err)
{
	u128 den;

	share->kind = SR_DPMECH_NONE;
	share->param.num = 0;
	share->param.den = 1;
	if (total->kind != SR_DPMECH_SKELLAM)
		return sr_fail(err, SR_EINVAL,
			       "skellam share: the total noise is %s, not skellam",
			       sr_dpmech_name(total->kind));
	if (honest == 0)
		return sr_fail(err, SR_EINVAL,
			       "skellam share: the number of honest owners must be at least 1");
	den = (u128)total->param.den * honest;
	if (den > UINT64_MAX)
		return sr_fail(err, SR_EINVAL,
			       "skellam share: denominator %llu * %u is past 2^64",
			       (unsigned long long)total->param.den, honest);
	share->kind = SR_DPMECH_SKELLAM;
	share->param = reduce(total->param.num, (uint64_t)den);
	return SR_OK;
}

/* ---- scales and intervals ---------------------------------------------- */

static int check_mech(const struct sr_dpmech *mech, struct sr_err *err)
{
	if (mech->kind == SR_DPMECH_NONE)
		return SR_OK;
	if (mech->kind != SR_DPMECH_DLAPLACE && mech->kind != SR_DPMECH_DGAUSS &&
	    mech->kind != SR_DPMECH_SKELLAM)
		return sr_fail(err, SR_EINVAL, "dp mechanism: unknown kind %d",
			       (int)mech->kind);
	if (mech->param.den == 0 || mech->param.num == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: parameter %llu/%llu must be positive",
			       sr_dpmech_name(mech->kind),
			       (unsigned long long)mech->param.num,
			       (unsigned long long)mech->param.den);
	return SR_OK;
}

int sr_dpmech_stddev(const struct sr_dpmech *mech, double *stddev,
		     struct sr_err *err)
{
	long double v = 0, p, q;
	struct gauss g;
	int rc;

	*stddev = 0;
	rc = check_mech(mech, err);
	if (rc != SR_OK)
		return rc;
	switch (mech->kind) {
	case SR_DPMECH_DLAPLACE:
		/* p = e^(-1/t); variance 2p / (1 - p)^2 */
		p = expl(-(long double)mech->param.den / mech->param.num);
		q = -expm1l(-(long double)mech->param.den / mech->param.num);
		v = 2 * p / (q * q);
		break;
	case SR_DPMECH_DGAUSS:
		gauss_init(&g, mech->param);
		if (g.summed) {
			long double sum = 0, term;

			for (long double x = 1;; x += 1) {
				term = x * x * gauss_f(&g, x);
				sum += term;
				if (x > g.sigma && term <= sum * 1e-30L)
					break;
			}
			v = 2 * sum / ((g.z_lo + g.z_hi) / 2);
		} else {
			v = g.s2;   /* below it by a factor 1 - O(e^(-2 pi^2 s2)) */
		}
		break;
	case SR_DPMECH_SKELLAM:
		v = 2 * sr_dpmech_rat_value(mech->param);
		break;
	case SR_DPMECH_NONE:
		break;
	}
	*stddev = (double)sqrtl(v);
	return SR_OK;
}

/* P[|Z| > h] for discrete Laplace with scale t = num/den. */
static long double dlap_outside(struct sr_dprat t, long double h)
{
	long double inv = (long double)t.den / t.num;

	return 2 * expl(-(h + 1) * inv) / (1 + expl(-inv));
}

/* Upper bound on P[|X| > h] for the discrete Gaussian. */
static long double dgauss_outside(const struct gauss *g, long double h)
{
	long double lo, hi;

	gauss_ge(g, h + 1, &lo, &hi);
	return 2 * hi;
}

/* P[Z > h] for Skellam(mu) from the two Poisson pmfs: sum over x of
 * p(x) P[Y <= x - h - 1], both pmfs walked upward by p(x+1) = p(x) mu/(x+1)
 * from x0 = mu - R (R = 40 sqrt(mu) + 40, past which the mass is below
 * e^-800). */
static long double skellam_above(long double mu, long double h)
{
	long double r = 40 * sqrtl(mu) + 40;
	long double x0 = fmaxl(0, floorl(mu - r)), x1 = ceill(mu + r);
	long double p0 = expl(-mu + x0 * logl(mu) - lgammal(x0 + 1));
	long double px = p0, py = p0, cdf = 0, sum = 0, y;

	if (mu <= 0)
		return 0;
	/* y = x - h - 1 trails x; its cdf grows only once y reaches x0 */
	y = x0;
	for (long double x = x0; x <= x1; x += 1) {
		while (y <= x - h - 1) {
			cdf += py;
			py *= mu / (y + 1);
			y += 1;
		}
		sum += px * cdf;
		px *= mu / (x + 1);
	}
	return sum;
}

/* Chernoff: P[Z >= k] <= min_s exp(2 mu (cosh s - 1) - s k), at
 * s = asinh(k / (2 mu)). */
static long double skellam_chernoff(long double mu, long double k)
{
	long double u = k / (2 * mu);

	return expl(-k * asinhl(u) + 2 * mu * (sqrtl(1 + u * u) - 1));
}

int sr_dpmech_interval(const struct sr_dpmech *mech, double coverage,
		       uint64_t *half_width, int *exact, struct sr_err *err)
{
	long double miss = 1 - (long double)coverage, lo = 0, hi, mid, mu = 0;
	struct gauss g;
	int rc;

	*half_width = 0;
	*exact = 1;
	if (!(coverage > 0 && coverage < 1))
		return sr_fail(err, SR_EINVAL,
			       "interval: coverage %g must be in (0, 1)", coverage);
	rc = check_mech(mech, err);
	if (rc != SR_OK || mech->kind == SR_DPMECH_NONE)
		return rc;
	if (mech->kind == SR_DPMECH_DGAUSS)
		gauss_init(&g, mech->param);
	if (mech->kind == SR_DPMECH_SKELLAM) {
		mu = sr_dpmech_rat_value(mech->param);
		*exact = mu <= SKELLAM_EXACT_MU_MAX;
	}
	if (mech->kind == SR_DPMECH_DGAUSS && !g.summed)
		*exact = 0;
	/* smallest integer h in [0, 2^62] with P[|noise| > h] <= miss */
	hi = 4611686018427387904.0L;
	while (hi - lo > 0) {
		long double outside = 0;

		mid = floorl((lo + hi) / 2);
		switch (mech->kind) {
		case SR_DPMECH_DLAPLACE:
			outside = dlap_outside(mech->param, mid);
			break;
		case SR_DPMECH_DGAUSS:
			outside = dgauss_outside(&g, mid);
			break;
		case SR_DPMECH_SKELLAM:
			outside = *exact ? 2 * skellam_above(mu, mid)
					 : 2 * skellam_chernoff(mu, mid + 1);
			break;
		case SR_DPMECH_NONE:
			break;
		}
		if (outside <= miss)
			hi = mid;
		else
			lo = mid + 1;
	}
	*half_width = (uint64_t)lo;
	return SR_OK;
}

/* ---- drawing ------------------------------------------------------------ */

int sr_dpmech_sample(struct sr_dprng *rng, const struct sr_dpmech *mech,
		     int64_t *noise, struct sr_err *err)
{
	int rc;

	*noise = 0;
	rc = check_mech(mech, err);
	if (rc != SR_OK)
		return rc;
	switch (mech->kind) {
	case SR_DPMECH_DLAPLACE:
		return sr_dpsample_dlaplace(rng, mech->param, noise, err);
	case SR_DPMECH_DGAUSS:
		return sr_dpsample_dgauss(rng, mech->param, noise, err);
	case SR_DPMECH_SKELLAM:
		return sr_dpsample_skellam(rng, mech->param, noise, err);
	case SR_DPMECH_NONE:
		break;
	}
	return SR_OK;
}

int sr_dpmech_add(struct sr_dprng *rng, const struct sr_dpmech *mech,
		  uint64_t *values, size_t count, struct sr_err *err)
{
	int64_t noise = 0;
	int rc = SR_OK;

	for (size_t i = 0; i < count; i++) {
		rc = sr_dpmech_sample(rng, mech, &noise, err);
		if (rc != SR_OK)
			break;
		values[i] += (uint64_t)noise;
	}
	sodium_memzero(&noise, sizeof(noise));
	return rc;
}
