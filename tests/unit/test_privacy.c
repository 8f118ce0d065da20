/*
 * test_privacy.c - the DP samplers, calibrations and release helpers of
 * src/privacy/.
 *
 * Samplers: 10^6 draws per parameter, tested against the exact pmf
 * (computed here independently, in long double) with a chi-square test
 * (cells merged to an expected count of at least 5) and a Kolmogorov-
 * Smirnov test (conservative for discrete laws), each at alpha = 10^-6.
 * A sampler with a 2% error in its scale must fail the same test.
 *
 * Mechanisms: a stochastic DP tester in the style of Google's DP
 * Stochastic Tester runs a bounded-sum mechanism on two neighbouring
 * datasets 10^6 times each, and checks P1[E] <= e^eps P2[E] + delta on
 * every event E of a fixed family (each single output and each upper and
 * lower tail), both ways, with Chernoff (KL) confidence bounds and a
 * union bound over the family.  The correct mechanism must pass and a
 * deliberately under-noised one must be caught.
 *
 * Every p-value and the testers' outcomes are printed (one line each).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "privacy/bound.h"
#include "privacy/dpmech.h"
#include "privacy/dpsample.h"
#include "privacy/dprng.h"
#include "privacy/threshold.h"

#define SAMPLES 1000000
#define ALPHA 1e-6

static struct sr_dprng *rng;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- statistics --------------------------------------------------------- */

/* Regularized upper incomplete gamma Q(a, x) (Numerical Recipes' gammq). */
static long double gamma_q(long double a, long double x)
{
	long double gln = lgammal(a);

	if (x <= 0)
		return 1;
	if (x < a + 1) {
		long double ap = a, sum = 1 / a, del = sum;

		for (int n = 0; n < 100000; n++) {
			ap += 1;
			del *= x / ap;
			sum += del;
			if (fabsl(del) < fabsl(sum) * 1e-18L)
				break;
		}
		return 1 - sum * expl(-x + a * logl(x) - gln);
	} else {
		long double b = x + 1 - a, c = 1 / 1e-4000L, d = 1 / b, h = d, an, del;

		for (int i = 1; i < 100000; i++) {
			an = -i * (i - a);
			b += 2;
			d = an * d + b;
			if (fabsl(d) < 1e-4000L)
				d = 1e-4000L;
			c = b + an / c;
			if (fabsl(c) < 1e-4000L)
				c = 1e-4000L;
			d = 1 / d;
			del = d * c;
			h *= del;
			if (fabsl(del - 1) < 1e-18L)
				break;
		}
		return expl(-x + a * logl(x) - gln) * h;
	}
}

/* P[K > lambda] for the Kolmogorov distribution. */
static long double ks_q(long double lambda)
{
	long double sum = 0, sign = 1;

	if (lambda < 0.2L)
		return 1;
	for (int k = 1; k <= 100; k++) {
		sum += sign * 2 * expl(-2.0L * k * k * lambda * lambda);
		sign = -sign;
	}
	return sum < 0 ? 0 : sum > 1 ? 1 : sum;
}

/* Exact law on a window [lo, lo + len) plus the masses below and above. */
struct law {
	int64_t lo;
	size_t len;
	long double *pmf;
	long double below, above;
};

static void law_alloc(struct law *law, int64_t lo, int64_t hi)
{
	law->lo = lo;
	law->len = (size_t)(hi - lo + 1);
	law->pmf = calloc(law->len, sizeof(*law->pmf));
	assert_non_null(law->pmf);
	law->below = law->above = 0;
}

static void law_free(struct law *law)
{
	free(law->pmf);
	law->pmf = NULL;
}

struct gof {
	double chi2_p, ks_p;
	size_t cells;
	double seconds;
};

typedef int (*draw_fn)(struct sr_dprat param, int64_t *out);

/* Draw SAMPLES values and test them against law. */
static void run_gof(draw_fn draw, struct sr_dprat param, const struct law *law,
		    struct gof *res)
{
	uint64_t *hist = calloc(law->len, sizeof(*hist));
	uint64_t under = 0, over = 0;
	long double chi2 = 0, exp_acc = 0, obs_acc = 0, cdf = 0, ecdf = 0, d = 0;
	size_t cells = 0;
	double t0 = now_s();

	assert_non_null(hist);
	for (int i = 0; i < SAMPLES; i++) {
		int64_t x;

		assert_int_equal(draw(param, &x), SR_OK);
		if (x < law->lo)
			under++;
		else if (x >= law->lo + (int64_t)law->len)
			over++;
		else
			hist[x - law->lo]++;
	}
	res->seconds = now_s() - t0;
	/* chi-square: greedy cells of expected count >= 5, from the left;
	 * the first takes the mass below the window, the last the rest */
	exp_acc = law->below * SAMPLES;
	obs_acc = (long double)under;
	for (size_t k = 0; k < law->len; k++) {
		exp_acc += law->pmf[k] * SAMPLES;
		obs_acc += hist[k];
		if (exp_acc >= 5 && k + 1 < law->len) {
			long double rest = 0;

			/* keep going if what is left cannot make a cell */
			for (size_t j = k + 1; j < law->len && rest < 5; j++)
				rest += law->pmf[j] * SAMPLES;
			rest += law->above * SAMPLES;
			if (rest < 5)
				continue;
			chi2 += (obs_acc - exp_acc) * (obs_acc - exp_acc) / exp_acc;
			cells++;
			exp_acc = obs_acc = 0;
		}
	}
	exp_acc += law->above * SAMPLES;
	obs_acc += (long double)over;
	chi2 += (obs_acc - exp_acc) * (obs_acc - exp_acc) / exp_acc;
	cells++;
	res->cells = cells;
	res->chi2_p = cells > 1 ? (double)gamma_q((cells - 1) / 2.0L, chi2 / 2) : 1;
	/* KS on the cdf at every point of the window */
	cdf = law->below;
	ecdf = (long double)under / SAMPLES;
	for (size_t k = 0; k < law->len; k++) {
		cdf += law->pmf[k];
		ecdf += (long double)hist[k] / SAMPLES;
		if (fabsl(cdf - ecdf) > d)
			d = fabsl(cdf - ecdf);
	}
	res->ks_p = (double)ks_q(sqrtl((long double)SAMPLES) * d);
	free(hist);
}

static void check_gof(const char *name, draw_fn draw, struct sr_dprat param,
		      const struct law *law)
{
	struct gof res;

	run_gof(draw, param, law, &res);
	printf("gof %s param=%llu/%llu samples=%d cells=%zu chi2_p=%.4g ks_p=%.4g seconds=%.2f\n",
	       name, (unsigned long long)param.num, (unsigned long long)param.den,
	       SAMPLES, res.cells, res.chi2_p, res.ks_p, res.seconds);
	fflush(stdout);
	assert_true(res.cells >= 2);
	assert_true(res.chi2_p > ALPHA);
	assert_true(res.ks_p > ALPHA);
}

/* ---- exact laws --------------------------------------------------------- */

static long double ratv(struct sr_dprat r)
{
	return (long double)r.num / (long double)r.den;
}

/* discrete Laplace with scale t: (1-q)/(1+q) q^|z|, q = e^(-1/t) */
static void law_dlaplace(struct law *law, long double t)
{
	long double q = expl(-1 / t), c = -expm1l(-1 / t) / (1 + q);
	int64_t r = (int64_t)ceill(t * 40) + 2;

	law_alloc(law, -r, r);
	for (int64_t z = -r; z <= r; z++)
		law->pmf[z + r] = c * expl(-fabsl((long double)z) / t);
	law->below = law->above = c * expl(-(r + 1) / t) / (1 - q);
}

static void law_geometric(struct law *law, long double g)
{
	int64_t r = (int64_t)ceill(40 / g) + 2;

	law_alloc(law, 0, r);
	for (int64_t k = 0; k <= r; k++)
		law->pmf[k] = -expm1l(-g) * expl(-g * k);
	law->above = expl(-g * (r + 1));
}

static void law_dgauss(struct law *law, long double s2)
{
	long double sigma = sqrtl(s2), z = 0;
	int64_t r = (int64_t)ceill(sigma * 14) + 2;

	law_alloc(law, -r, r);
	for (int64_t x = -r; x <= r; x++) {
		law->pmf[x + r] = expl(-(long double)x * x / (2 * s2));
		z += law->pmf[x + r];
	}
	for (size_t k = 0; k < law->len; k++)
		law->pmf[k] /= z;   /* beyond 14 sigma: below e^-98, ignored */
}

static long double poisson_pmf(long double lambda, long double k)
{
	return expl(-lambda + k * logl(lambda) - lgammal(k + 1));
}

static void law_poisson(struct law *law, long double lambda)
{
	long double r = 30 * sqrtl(lambda) + 30, sum = 0;
	int64_t lo = (int64_t)fmaxl(0, floorl(lambda - r));
	int64_t hi = (int64_t)ceill(lambda + r);

	law_alloc(law, lo, hi);
	for (int64_t k = lo; k <= hi; k++) {
		law->pmf[k - lo] = poisson_pmf(lambda, (long double)k);
		sum += law->pmf[k - lo];
	}
	law->below = 0;
	law->above = 1 - sum > 0 ? 1 - sum : 0;
}

/* Skellam(mu) = Poisson(mu) - Poisson(mu): convolution of the pmfs. */
static void law_skellam(struct law *law, long double mu)
{
	long double r = 30 * sqrtl(mu) + 30;
	int64_t top = (int64_t)ceill(mu + r), width = (int64_t)ceill(2 * r);
	long double *p = calloc((size_t)top + 1, sizeof(*p));

	assert_non_null(p);
	for (int64_t k = 0; k <= top; k++)
		p[k] = poisson_pmf(mu, (long double)k);
	law_alloc(law, -width, width);
	for (int64_t z = -width; z <= width; z++) {
		long double s = 0;

		for (int64_t i = 0; i <= top; i++) {
			int64_t j = i - z;

			if (j >= 0 && j <= top)
				s += p[i] * p[j];
		}
		law->pmf[z + width] = s;
	}
	free(p);
}

/* ---- the samplers as draw_fn -------------------------------------------- */

static int draw_bexp(struct sr_dprat p, int64_t *out)
{
	int b = 0, rc = sr_dpsample_bernoulli_exp(rng, p, &b, NULL);

	*out = b;
	return rc;
}

static int draw_geometric(struct sr_dprat p, int64_t *out)
{
	uint64_t v = 0;
	int rc = sr_dpsample_geometric(rng, p, &v, NULL);

	*out = (int64_t)v;
	return rc;
}

static int draw_dlaplace(struct sr_dprat p, int64_t *out)
{
	return sr_dpsample_dlaplace(rng, p, out, NULL);
}

static int draw_dgauss(struct sr_dprat p, int64_t *out)
{
	return sr_dpsample_dgauss(rng, p, out, NULL);
}

static int draw_poisson(struct sr_dprat p, int64_t *out)
{
	uint64_t v = 0;
	int rc = sr_dpsample_poisson(rng, p, &v, NULL);

	*out = (int64_t)v;
	return rc;
}

static int draw_skellam(struct sr_dprat p, int64_t *out)
{
	return sr_dpsample_skellam(rng, p, out, NULL);
}

/* ---- goodness-of-fit tests ---------------------------------------------- */

static void test_bernoulli_exp(void **state)
{
	struct sr_dprat params[] = { { 1, 3 }, { 1, 1 }, { 7, 2 } };
	struct law law;
	int b;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		long double p = expl(-ratv(params[i]));

		law_alloc(&law, 0, 1);
		law.pmf[0] = 1 - p;
		law.pmf[1] = p;
		check_gof("bernoulli_exp", draw_bexp, params[i], &law);
		law_free(&law);
	}
	/* gamma = 0 is certain */
	for (int i = 0; i < 1000; i++) {
		struct sr_dprat zero = { 0, 5 };

		assert_int_equal(sr_dpsample_bernoulli_exp(rng, zero, &b, NULL), SR_OK);
		assert_int_equal(b, 1);
	}
}

static void test_geometric(void **state)
{
	struct sr_dprat params[] = { { 1, 10 }, { 1, 1 }, { 3, 1 } };
	struct law law;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		law_geometric(&law, ratv(params[i]));
		check_gof("geometric", draw_geometric, params[i], &law);
		law_free(&law);
	}
}

static void test_dlaplace(void **state)
{
	struct sr_dprat params[] = { { 1, 2 }, { 1, 1 }, { 5, 2 }, { 10, 1 },
				     { 1000, 1 } };
	struct law law;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		law_dlaplace(&law, ratv(params[i]));
		check_gof("dlaplace", draw_dlaplace, params[i], &law);
		law_free(&law);
	}
}

static void test_dgauss(void **state)
{
	struct sr_dprat params[] = { { 1, 4 }, { 1, 1 }, { 9, 4 }, { 100, 1 },
				     { 1000000, 1 } };
	struct law law;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		law_dgauss(&law, ratv(params[i]));
		check_gof("dgauss", draw_dgauss, params[i], &law);
		law_free(&law);
	}
}

static void test_poisson(void **state)
{
	struct sr_dprat params[] = { { 1, 2 }, { 37, 10 }, { 100, 1 },
				     { 10000, 1 } };
	struct law law;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		law_poisson(&law, ratv(params[i]));
		check_gof("poisson", draw_poisson, params[i], &law);
		law_free(&law);
	}
}

static void test_skellam(void **state)
{
	struct sr_dprat params[] = { { 1, 3 }, { 5, 2 }, { 50, 1 }, { 1000, 1 } };
	struct law law;

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		law_skellam(&law, ratv(params[i]));
		check_gof("skellam", draw_skellam, params[i], &law);
		law_free(&law);
	}
}

/* The tests have power: a 2% error in the scale is rejected. */
static void test_gof_power(void **state)
{
	struct sr_dprat scale = { 10, 1 };
	struct sr_dprat s2 = { 100, 1 };
	struct law law;
	struct gof res;

	(void)state;
	law_dlaplace(&law, 10.2L);
	run_gof(draw_dlaplace, scale, &law, &res);
	printf("gof-power dlaplace t=10 against t=10.2 chi2_p=%.4g ks_p=%.4g\n",
	       res.chi2_p, res.ks_p);
	assert_true(res.chi2_p < ALPHA);
	law_free(&law);
	law_dgauss(&law, 100 * 1.02L * 1.02L);
	run_gof(draw_dgauss, s2, &law, &res);
	printf("gof-power dgauss sigma=10 against sigma=10.2 chi2_p=%.4g ks_p=%.4g\n",
	       res.chi2_p, res.ks_p);
	assert_true(res.chi2_p < ALPHA);
	law_free(&law);
}

/* ---- parameter checks --------------------------------------------------- */

static void test_sampler_params(void **state)
{
	struct sr_err err;
	int64_t z;
	uint64_t u;
	int b;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_bernoulli_exp(rng, (struct sr_dprat){ 1, 0 }, &b, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "zero denominator"));
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_geometric(rng, (struct sr_dprat){ 0, 1 }, &u, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_geometric(rng, (struct sr_dprat){ 1, 1ull << 50 }, &u, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "2^-48"));
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_dlaplace(rng, (struct sr_dprat){ 0, 1 }, &z, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_dlaplace(rng, (struct sr_dprat){ 1ull << 50, 1 }, &z, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "2^48"));
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ 1, 0 }, &z, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ (1ull << 62) + 1, 1 }, &z, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "2^62"));
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_poisson(rng, (struct sr_dprat){ (1ull << 40) + 1, 1 }, &u, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_dpsample_skellam(rng, (struct sr_dprat){ 1, 0 }, &z, &err), SR_EINVAL);
	/* the extremes of the bounds run */
	assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ 1ull << 62, 1 }, &z, NULL), SR_OK);
	assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ 1, 1ull << 62 }, &z, NULL), SR_OK);
	assert_int_equal(z, 0);
	assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ (1ull << 62) - 1, (1ull << 62) - 3 }, &z, NULL), SR_OK);
	assert_int_equal(sr_dpsample_dlaplace(rng, (struct sr_dprat){ 1ull << 48, 1 }, &z, NULL), SR_OK);
	assert_int_equal(sr_dpsample_dlaplace(rng, (struct sr_dprat){ UINT64_MAX, UINT64_MAX - 1 }, &z, NULL), SR_OK);
	assert_int_equal(sr_dpsample_geometric(rng, (struct sr_dprat){ UINT64_MAX, 1 }, &u, NULL), SR_OK);
	assert_int_equal(u, 0);
	assert_int_equal(sr_dpsample_poisson(rng, (struct sr_dprat){ 0, 1 }, &u, NULL), SR_OK);
	assert_int_equal(u, 0);
	assert_int_equal(sr_dpsample_poisson(rng, (struct sr_dprat){ 1ull << 30, 1 }, &u, NULL), SR_OK);
	assert_true(u > (1ull << 30) - 400000 && u < (1ull << 30) + 400000);
	assert_int_equal(sr_dpsample_poisson(rng, (struct sr_dprat){ 1, UINT64_MAX }, &u, NULL), SR_OK);
	assert_int_equal(sr_dpsample_poisson(rng, (struct sr_dprat){ UINT64_MAX, 1ull << 24 }, &u, NULL), SR_OK);
	/* large sigma: the mean and spread are right */
	{
		long double sum = 0, sum2 = 0;

		for (int i = 0; i < 20000; i++) {
			assert_int_equal(sr_dpsample_dgauss(rng, (struct sr_dprat){ 1ull << 60, 1 }, &z, NULL), SR_OK);
			sum += z;
			sum2 += (long double)z * z;
		}
		/* sigma = 2^30: mean within 6 sigma/sqrt(n), variance within 5% */
		assert_true(fabsl(sum / 20000) < 6 * 1073741824.0L / sqrtl(20000));
		assert_true(fabsl(sum2 / 20000 / 1152921504606846976.0L - 1) < 0.05L);
	}
}

/* ---- calibration -------------------------------------------------------- */

static struct sr_dprat eps_of(double e)
{
	struct sr_dprat r;

	assert_int_equal(sr_dpmech_rat_from_double(e, 1000000000, 0, &r, NULL), SR_OK);
	return r;
}

static void test_rational(void **state)
{
	struct sr_dprat r;
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_dpmech_rat_from_double(0.5, 1000000000, 0, &r, NULL), SR_OK);
	assert_int_equal(r.num, 1);
	assert_int_equal(r.den, 2);
	assert_int_equal(sr_dpmech_rat_from_double(0.1, 1000000000, 0, &r, NULL), SR_OK);
	assert_true(r.num * 10 <= r.den);   /* rounded down, never up */
	assert_int_equal(sr_dpmech_rat_from_double(0.1, 1000000000, 1, &r, NULL), SR_OK);
	assert_true(r.num * 10 >= r.den);
	sr_err_clear(&err);
	assert_int_equal(sr_dpmech_rat_from_double(-1, 10, 0, &r, &err), SR_EINVAL);
	assert_int_equal(sr_dpmech_rat_from_double(NAN, 10, 0, &r, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_rat_from_double(1e30, 10, 0, &r, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_rat_from_double(1, 0, 0, &r, NULL), SR_EINVAL);
}

static void test_calibrate_dlaplace(void **state)
{
	struct sr_dpmech m;
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_dpmech_dlaplace_calibrate(eps_of(0.5), 3, &m, NULL), SR_OK);
	assert_int_equal(m.kind, SR_DPMECH_DLAPLACE);
	assert_int_equal(m.param.num, 6);
	assert_int_equal(m.param.den, 1);
	assert_int_equal(sr_dpmech_dlaplace_calibrate(eps_of(2), 5, &m, NULL), SR_OK);
	assert_int_equal(m.param.num, 5);
	assert_int_equal(m.param.den, 2);
	sr_err_clear(&err);
	assert_int_equal(sr_dpmech_dlaplace_calibrate((struct sr_dprat){ 0, 1 }, 1, &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "epsilon"));
	assert_int_equal(sr_dpmech_dlaplace_calibrate(eps_of(1), 0, &m, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_dlaplace_calibrate((struct sr_dprat){ 65, 1 }, 1, &m, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_dlaplace_calibrate((struct sr_dprat){ 1, 1000000 }, 1ull << 40, &m, NULL), SR_EINVAL);
}

/* Exact delta of the discrete Gaussian, summed here in long double. */
static long double dgauss_delta_ref(long double s2, long double eps, long double sens)
{
	struct law law;
	long double a1 = eps * s2 / sens - sens / 2, a2 = eps * s2 / sens + sens / 2;
	long double p1 = 0, p2 = 0;

	law_dgauss(&law, s2);
	for (size_t k = 0; k < law.len; k++) {
		long double x = (long double)(law.lo + (int64_t)k);

		if (x > a1)
			p1 += law.pmf[k];
		if (x > a2)
			p2 += law.pmf[k];
	}
	law_free(&law);
	return p1 - expl(eps) * p2;
}

static void test_calibrate_dgauss(void **state)
{
	double epsilons[] = { 0.1, 0.5, 1, 3 };
	uint64_t sens[] = { 1, 5 };
	struct sr_dpmech m, z;
	double delta;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 2; j++) {
			struct sr_dprat e = eps_of(epsilons[i]);
			long double s2, ref, below;

			assert_int_equal(sr_dpmech_dgauss_calibrate(e, 1e-5, sens[j], &m, NULL), SR_OK);
			assert_int_equal(sr_dpmech_dgauss_calibrate_zcdp(e, 1e-5, sens[j], &z, NULL), SR_OK);
			s2 = ratv(m.param);
			ref = dgauss_delta_ref(s2, ratv(e), (long double)sens[j]);
			below = dgauss_delta_ref(s2 * 0.99L, ratv(e), (long double)sens[j]);
			assert_int_equal(sr_dpmech_dgauss_delta(m.param, e, sens[j], &delta, NULL), SR_OK);
			printf("calibrate dgauss eps=%g sens=%llu sigma2=%.6Lg (zcdp %.6Lg) delta=%.4Lg delta(0.99 sigma2)=%.4Lg\n",
			       epsilons[i], (unsigned long long)sens[j], s2,
			       ratv(z.param), ref, below);
			assert_true(ref <= 1e-5L);           /* private */
			assert_true(below > 1e-5L);          /* and not much more noise than needed */
			assert_true(delta >= ref * (1 - 1e-9)); /* the library's value is an upper bound */
			assert_true(ratv(z.param) >= s2);    /* the analytic bound is conservative */
		}
	}
	/* large sigma: the integral bounds are close to the exact sum */
	{
		struct sr_dprat e = eps_of(0.001), s2 = { 1100ull * 1100ull, 1 };
		long double ref = dgauss_delta_ref(ratv(s2), ratv(e), 1);

		assert_int_equal(sr_dpmech_dgauss_delta(s2, e, 1, &delta, NULL), SR_OK);
		printf("dgauss delta sigma=1100 eps=0.001 bound=%.8g exact=%.8Lg\n", delta, ref);
		assert_true(delta >= ref && delta <= ref * 1.01L);
	}
	assert_int_equal(sr_dpmech_dgauss_calibrate(eps_of(1), 0, 1, &m, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_dgauss_calibrate(eps_of(1), 1, 1, &m, NULL), SR_EINVAL);
	assert_int_equal(sr_dpmech_dgauss_calibrate(eps_of(1), 1e-5, 0, &m, NULL), SR_EINVAL);
}

static void test_calibrate_skellam(void **state)
{
	struct sr_dpmech m, share;
	struct sr_err err;
	double eps, eps_less;
	struct sr_dprat less;

	(void)state;
	assert_int_equal(sr_dpmech_skellam_calibrate(eps_of(1), 1e-5, 5, 25, &m, NULL), SR_OK);
	assert_int_equal(m.kind, SR_DPMECH_SKELLAM);
	assert_int_equal(sr_dpmech_skellam_epsilon(m.param, 5, 25, 1e-5, &eps, NULL), SR_OK);
	less = m.param;
	less.num = (uint64_t)(less.num * 0.99);
	assert_int_equal(sr_dpmech_skellam_epsilon(less, 5, 25, 1e-5, &eps_less, NULL), SR_OK);
	printf("calibrate skellam eps=1 delta=1e-5 sens=5 mu=%.6Lg eps(mu)=%.6g eps(0.99 mu)=%.6g\n",
	       ratv(m.param), eps, eps_less);
	assert_true(eps <= 1);
	assert_true(eps_less > 1);
	/* shares: 3 owners, all honest */
	assert_int_equal(sr_dpmech_skellam_share(&m, 3, &share, NULL), SR_OK);
	assert_true(fabsl(ratv(share.param) * 3 - ratv(m.param)) < 1e-9L * ratv(m.param));
	sr_err_clear(&err);
	assert_int_equal(sr_dpmech_skellam_share(&m, 0, &share, &err), SR_EINVAL);
	m.kind = SR_DPMECH_DGAUSS;
	assert_int_equal(sr_dpmech_skellam_share(&m, 2, &share, NULL), SR_EINVAL);
	/* the L1/L2 tightening: l2^2 < l1 is read as l1 = l2^2 */
	assert_int_equal(sr_dpmech_skellam_epsilon((struct sr_dprat){ 10, 1 }, 9, 4, 1e-5, &eps, NULL), SR_OK);
	assert_int_equal(sr_dpmech_skellam_epsilon((struct sr_dprat){ 10, 1 }, 4, 4, 1e-5, &eps_less, NULL), SR_OK);
	assert_true(eps == eps_less);
	assert_int_equal(sr_dpmech_skellam_calibrate(eps_of(1), 1e-5, 0, 1, &m, NULL), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_dpmech_skellam_calibrate(eps_of(0.001), 1e-5, 1000000, 1000000000000ull, &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "2^40"));
}

/* Intervals hold the stated coverage and are the smallest that do. */
static void test_intervals(void **state)
{
	struct {
		enum sr_dpmech_kind kind;
		struct sr_dprat param;
	} cases[] = {
		{ SR_DPMECH_DLAPLACE, { 5, 1 } },
		{ SR_DPMECH_DLAPLACE, { 1, 3 } },
		{ SR_DPMECH_DGAUSS, { 14, 1 } },
		{ SR_DPMECH_DGAUSS, { 1, 10 } },
		{ SR_DPMECH_SKELLAM, { 87, 10 } },
		{ SR_DPMECH_SKELLAM, { 2000, 1 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sr_dpmech m = { cases[i].kind, cases[i].param };
		struct law law;
		uint64_t h;
		int exact;
		long double inside = 0, inside_less = 0;
		double sd;

		assert_int_equal(sr_dpmech_interval(&m, 0.95, &h, &exact, NULL), SR_OK);
		assert_int_equal(sr_dpmech_stddev(&m, &sd, NULL), SR_OK);
		assert_int_equal(exact, 1);
		if (m.kind == SR_DPMECH_DLAPLACE)
			law_dlaplace(&law, ratv(m.param));
		else if (m.kind == SR_DPMECH_DGAUSS)
			law_dgauss(&law, ratv(m.param));
		else
			law_skellam(&law, ratv(m.param));
		for (size_t k = 0; k < law.len; k++) {
			int64_t x = law.lo + (int64_t)k;

			if (llabs(x) <= (long long)h)
				inside += law.pmf[k];
			if (h > 0 && llabs(x) <= (long long)h - 1)
				inside_less += law.pmf[k];
		}
		printf("interval %s %llu/%llu: 95%% half-width %llu (coverage %.5Lf, one less %.5Lf) sd %.4g\n",
		       sr_dpmech_name(m.kind), (unsigned long long)m.param.num,
		       (unsigned long long)m.param.den, (unsigned long long)h,
		       inside, inside_less, sd);
		assert_true(inside >= 0.95L);
		assert_true(h == 0 || inside_less < 0.95L);
		law_free(&law);
	}
	/* a Skellam past the exact range is bounded by Chernoff: wider than
	 * the Gaussian 1.96 sigma, within 1.6 times it */
	{
		struct sr_dpmech m = { SR_DPMECH_SKELLAM, { 1ull << 30, 1 } };
		uint64_t h;
		int exact;
		double g = 1.96 * sqrt(2.0 * (1 << 30));

		assert_int_equal(sr_dpmech_interval(&m, 0.95, &h, &exact, NULL), SR_OK);
		assert_int_equal(exact, 0);
		assert_true((double)h >= g && (double)h <= 1.6 * g);
	}
	{
		struct sr_dpmech m = { SR_DPMECH_DLAPLACE, { 5, 1 } };
		uint64_t h;
		int exact;

		assert_int_equal(sr_dpmech_interval(&m, 1.0, &h, &exact, NULL), SR_EINVAL);
		m.param.den = 0;
		assert_int_equal(sr_dpmech_interval(&m, 0.95, &h, &exact, NULL), SR_EINVAL);
	}
}

static void test_add_noise(void **state)
{
	struct sr_dpmech m = { SR_DPMECH_DLAPLACE, { 2, 1 } };
	struct sr_dpmech none = { SR_DPMECH_NONE, { 0, 1 } };
	uint64_t v[1000];
	int moved = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)(int64_t)-3;
	assert_int_equal(sr_dpmech_add(rng, &none, v, 1000, NULL), SR_OK);
	for (int i = 0; i < 1000; i++)
		assert_int_equal((int64_t)v[i], -3);
	assert_int_equal(sr_dpmech_add(rng, &m, v, 1000, NULL), SR_OK);
	for (int i = 0; i < 1000; i++) {
		moved += (int64_t)v[i] != -3;
		assert_true(llabs((int64_t)v[i] + 3) < 200);   /* wrapped right, small */
	}
	assert_true(moved > 500);
}

/* ---- bounding and thresholds -------------------------------------------- */

static void test_bound(void **state)
{
	int64_t iv[] = { -5, 0, 3, 10, 11, INT64_MIN, INT64_MAX };
	double dv[] = { -1.5, 0.25, 2.0, 7.5, -INFINITY, INFINITY };
	double bad[] = { 1.0, NAN };
	uint64_t clamped, enc[6], sens;
	struct sr_bound_fixed fx;
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_bound_clamp_i64(iv, 7, 0, 10, &clamped, NULL), SR_OK);
	assert_int_equal(clamped, 4);
	assert_int_equal(iv[0], 0);
	assert_int_equal(iv[4], 10);
	assert_int_equal(iv[5], 0);
	assert_int_equal(iv[6], 10);
	assert_int_equal(sr_bound_clamp_i64(iv, 7, 5, 4, &clamped, NULL), SR_EINVAL);
	assert_int_equal(sr_bound_clamp_f64(dv, 6, 0, 5, &clamped, NULL), SR_OK);
	assert_int_equal(clamped, 4);
	assert_true(dv[0] == 0 && dv[3] == 5 && dv[4] == 0 && dv[5] == 5);
	sr_err_clear(&err);
	assert_int_equal(sr_bound_clamp_f64(bad, 2, 0, 5, &clamped, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "value 1 is NaN"));
	assert_int_equal(sr_bound_clamp_f64(dv, 6, 0, INFINITY, &clamped, NULL), SR_EINVAL);

	assert_int_equal(sr_bound_fixed_init(&fx, -2.5, 100, 1000, NULL), SR_OK);
	assert_int_equal(fx.lo_fixed, -2500);
	assert_int_equal(fx.hi_fixed, 100000);
	{
		double in[] = { -3, 1.0005, 0.0015, 99.9999, 1e9, -2.5 };

		assert_int_equal(sr_bound_fixed_encode(&fx, in, 6, enc, &clamped, NULL), SR_OK);
		assert_int_equal(clamped, 2);
		assert_int_equal((int64_t)enc[0], -2500);
		assert_int_equal((int64_t)enc[1], 1000);   /* 1000.5 -> ties to even */
		assert_int_equal((int64_t)enc[2], 2);      /* 1.5 -> 2 */
		assert_int_equal((int64_t)enc[3], 100000);
		assert_int_equal((int64_t)enc[4], 100000);
		assert_int_equal((int64_t)enc[5], -2500);
		/* the sum modulo 2^64 decodes to the sum */
		{
			uint64_t sum = 0;

			for (int i = 0; i < 6; i++)
				sum += enc[i];
			assert_true(fabs(sr_bound_fixed_decode(&fx, sum) - 196.002) < 1e-9);
		}
	}
	assert_int_equal(sr_bound_sum_sensitivity(&fx, 3, &sens, NULL), SR_OK);
	assert_int_equal(sens, 300000);
	assert_int_equal(sr_bound_sum_sensitivity(&fx, 0, &sens, NULL), SR_EINVAL);
	assert_int_equal(sr_bound_sum_check(&fx, 1000000, 1000, NULL), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_bound_sum_check(&fx, 1ull << 60, 0, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "2^63"));
	assert_int_equal(sr_bound_fixed_init(&fx, 0, 1e10, 1000000, NULL), SR_EINVAL);
	assert_int_equal(sr_bound_fixed_init(&fx, 1, 0, 10, NULL), SR_EINVAL);
	assert_int_equal(sr_bound_fixed_init(&fx, 0, 1, 0, NULL), SR_EINVAL);
	assert_int_equal(sr_bound_fixed_init(&fx, 0, NAN, 10, NULL), SR_EINVAL);
}

static void test_threshold(void **state)
{
	uint64_t ids[] = { 0, 1, 4, 5, 100 };
	int64_t noisy[] = { -3, 4, 5, 6 };
	uint8_t sup[5];
	size_t n;

	(void)state;
	assert_int_equal(sr_threshold_suppress(ids, 5, 5, sup, &n, NULL), SR_OK);
	assert_int_equal(n, 3);
	assert_true(sup[0] && sup[1] && sup[2] && !sup[3] && !sup[4]);
	assert_int_equal(sr_threshold_suppress(ids, 5, 0, sup, &n, NULL), SR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sr_threshold_suppress(ids, 5, 1, sup, &n, NULL), SR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sr_threshold_suppress_noisy(noisy, 4, 5, sup, &n, NULL), SR_OK);
	assert_int_equal(n, 2);
	assert_true(sup[0] && sup[1] && !sup[2] && !sup[3]);
	assert_int_equal(sr_threshold_suppress_noisy(noisy, 4, 0, sup, &n, NULL), SR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sr_threshold_suppress(NULL, 0, 5, NULL, &n, NULL), SR_OK);
	assert_int_equal(sr_threshold_suppress(NULL, 3, 5, sup, &n, NULL), SR_EINVAL);
}

/* ---- the stochastic DP tester ------------------------------------------- */

/* KL divergence of Bernoulli(p) from Bernoulli(q). */
static long double kl(long double p, long double q)
{
	long double r = 0;

	if (p > 0)
		r += p * logl(p / q);
	if (p < 1)
		r += (1 - p) * logl((1 - p) / (1 - q));
	return r;
}

/* Chernoff confidence bounds on a binomial proportion: the extreme q with
 * n kl(c/n, q) <= ln(1/beta). */
static long double prop_upper(uint64_t c, uint64_t n, long double beta)
{
	long double p = (long double)c / n, lo = p, hi = 1, lim = logl(1 / beta) / n;

	for (int i = 0; i < 100; i++) {
		long double mid = (lo + hi) / 2;

		if (kl(p, mid) <= lim)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static long double prop_lower(uint64_t c, uint64_t n, long double beta)
{
	long double p = (long double)c / n, lo = 0, hi = p, lim = logl(1 / beta) / n;

	if (c == 0)
		return 0;
	for (int i = 0; i < 100; i++) {
		long double mid = (lo + hi) / 2;

		if (kl(p, mid) <= lim)
			hi = mid;
		else
			lo = mid;
	}
	return lo;
}

/* A bounded-sum mechanism: values clamped to [0, BOUND], summed, noised
 * by `owners` owners each adding a draw of `mech` (the total is the
 * noise of the release). */
#define DP_BOUND 5
#define DP_RUNS 1000000

struct dp_mech {
	const char *name;
	struct sr_dpmech mech;
	unsigned owners;
};

static int64_t run_mech(const struct dp_mech *m, const int64_t *data, size_t n)
{
	int64_t vals[16], sum = 0, noise;
	uint64_t clamped;

	memcpy(vals, data, n * sizeof(*data));
	assert_int_equal(sr_bound_clamp_i64(vals, n, 0, DP_BOUND, &clamped, NULL), SR_OK);
	for (size_t i = 0; i < n; i++)
		sum += vals[i];
	for (unsigned o = 0; o < m->owners; o++) {
		assert_int_equal(sr_dpmech_sample(rng, &m->mech, &noise, NULL), SR_OK);
		sum += noise;
	}
	return sum;
}

struct dp_verdict {
	unsigned violations;
	double eps_lower;    /* largest eps the data prove: max ln((L1 - delta) / U2) */
	double seconds;
};

/*
 * Run m on the neighbours d1 (n1 values) and d2 = d1 plus one value
 * DP_RUNS times each; count the events of the family where, with
 * confidence, P_a[E] > e^eps P_b[E] + delta.
 */
static void dp_test(const struct dp_mech *m, double eps, double delta,
		    struct dp_verdict *v)
{
	static const int64_t d1[] = { 3, 1, 4, 1, 5, 9, 2 };   /* 9 clamps to 5 */
	int64_t d2[8];
	const int64_t window = 200;
	int64_t center;
	uint64_t *h[2];
	size_t bins = 2 * (size_t)window + 1, events;
	long double beta;
	double t0 = now_s();

	memcpy(d2, d1, sizeof(d1));
	d2[7] = DP_BOUND;
	center = 3 + 1 + 4 + 1 + 5 + 5 + 2;
	for (int a = 0; a < 2; a++) {
		h[a] = calloc(bins + 2, sizeof(uint64_t));   /* [0] below, [bins+1] above */
		assert_non_null(h[a]);
	}
	for (int i = 0; i < DP_RUNS; i++) {
		for (int a = 0; a < 2; a++) {
			int64_t out = a ? run_mech(m, d2, 8) : run_mech(m, d1, 7);
			int64_t k = out - center + window;

			if (k < 0)
				h[a][0]++;
			else if (k >= (int64_t)bins)
				h[a][bins + 1]++;
			else
				h[a][k + 1]++;
		}
	}
	/* events: every single bin, every upper tail, every lower tail;
	 * both directions: a union bound over 6 (bins + 2) one-sided bounds
	 * pairs at a total of 10^-7 */
	events = 3 * (bins + 2);
	beta = 1e-7L / (4.0L * events);
	v->violations = 0;
	v->eps_lower = 0;
	for (int kind = 0; kind < 3; kind++) {
		for (size_t e = 0; e < bins + 2; e++) {
			uint64_t c[2] = { 0, 0 };

			for (int a = 0; a < 2; a++) {
				if (kind == 0) {
					c[a] = h[a][e];
				} else if (kind == 1) {
					for (size_t k = e; k < bins + 2; k++)
						c[a] += h[a][k];
				} else {
					for (size_t k = 0; k <= e; k++)
						c[a] += h[a][k];
				}
			}
			for (int a = 0; a < 2; a++) {
				long double lo = prop_lower(c[a], DP_RUNS, beta);
				long double up = prop_upper(c[1 - a], DP_RUNS, beta);

				if (lo > expl(eps) * up + delta)
					v->violations++;
				if (lo - delta > 0 && up > 0 &&
				    logl((lo - delta) / up) > v->eps_lower)
					v->eps_lower = (double)logl((lo - delta) / up);
			}
		}
	}
	v->seconds = now_s() - t0;
	for (int a = 0; a < 2; a++)
		free(h[a]);
}

static void dp_case(const char *label, const struct dp_mech *m, double eps,
		    double delta, int expect_private)
{
	struct dp_verdict v;

	dp_test(m, eps, delta, &v);
	printf("dp-tester %s mech=%s owners=%u param=%llu/%llu eps=%g delta=%g runs=%d violations=%u eps_proven=%.3f seconds=%.1f verdict=%s\n",
	       label, m->name, m->owners, (unsigned long long)m->mech.param.num,
	       (unsigned long long)m->mech.param.den, eps, delta, DP_RUNS,
	       v.violations, v.eps_lower, v.seconds,
	       v.violations ? "NOT-DP" : "pass");
	fflush(stdout);
	if (expect_private)
		assert_int_equal(v.violations, 0);
	else
		assert_true(v.violations > 0);
}

static void test_dp_laplace(void **state)
{
	struct dp_mech m = { "dlaplace", { 0, { 0, 1 } }, 1 };
	struct dp_mech broken;

	(void)state;
	assert_int_equal(sr_dpmech_dlaplace_calibrate(eps_of(1), DP_BOUND, &m.mech, NULL), SR_OK);
	dp_case("correct", &m, 1, 0, 1);
	/* the classic bug: half the scale (sensitivity taken as bound / 2) */
	broken = m;
	broken.mech.param.den *= 2;
	dp_case("under-noised(scale/2)", &broken, 1, 0, 0);
	/* a subtler one: 10% less scale */
	broken = m;
	broken.mech.param.num *= 9;
	broken.mech.param.den *= 10;
	dp_case("under-noised(scale*0.9)", &broken, 1, 0, 0);
}

static void test_dp_gauss(void **state)
{
	struct dp_mech m = { "dgauss", { 0, { 0, 1 } }, 1 };
	struct dp_mech broken;

	(void)state;
	assert_int_equal(sr_dpmech_dgauss_calibrate(eps_of(1), 1e-5, DP_BOUND, &m.mech, NULL), SR_OK);
	dp_case("correct", &m, 1, 1e-5, 1);
	broken = m;
	broken.mech.param.den *= 4;   /* sigma / 2 */
	dp_case("under-noised(sigma/2)", &broken, 1, 1e-5, 0);
}

static void test_dp_skellam(void **state)
{
	struct dp_mech m = { "skellam", { 0, { 0, 1 } }, 4 };
	struct sr_dpmech total;
	struct dp_mech broken;

	(void)state;
	assert_int_equal(sr_dpmech_skellam_calibrate(eps_of(1), 1e-5, DP_BOUND,
						     DP_BOUND * DP_BOUND, &total, NULL), SR_OK);
	assert_int_equal(sr_dpmech_skellam_share(&total, 4, &m.mech, NULL), SR_OK);
	dp_case("correct", &m, 1, 1e-5, 1);
	/* the distributed-noise bug: splitting the standard deviation
	 * instead of the variance over 4 owners (each adds mu / 16, so the
	 * total has a quarter of the variance) */
	broken = m;
	assert_int_equal(sr_dpmech_skellam_share(&total, 16, &broken.mech, NULL), SR_OK);
	dp_case("under-noised(sd split)", &broken, 1, 1e-5, 0);
}

/* ---- setup -------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	assert_int_equal(sr_dprng_new(&rng, NULL), SR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_dprng_free(rng);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampler_params),
		cmocka_unit_test(test_rational),
		cmocka_unit_test(test_calibrate_dlaplace),
		cmocka_unit_test(test_calibrate_dgauss),
		cmocka_unit_test(test_calibrate_skellam),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_add_noise),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_bernoulli_exp),
		cmocka_unit_test(test_geometric),
		cmocka_unit_test(test_dlaplace),
		cmocka_unit_test(test_dgauss),
		cmocka_unit_test(test_poisson),
		cmocka_unit_test(test_skellam),
		cmocka_unit_test(test_gof_power),
		cmocka_unit_test(test_dp_laplace),
		cmocka_unit_test(test_dp_gauss),
		cmocka_unit_test(test_dp_skellam),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
