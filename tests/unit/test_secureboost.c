/*
 * test_secureboost.c - the ground the vertical SecureBoost protocol stands
 * on (docs/protocols/train.md, "Vertical SecureBoost"): the central
 * trainer's quantized-gradient mode (grad_frac_bits).  With g and h
 * rounded to multiples of 2^-k, per-bin histogram sums are exact in
 * double, so they do not depend on the order rows are added in, and a
 * sibling by subtraction equals the sibling built directly, bit for bit:
 * the property that lets decrypted integer bin sums reproduce the central
 * trees.  The federated protocol is tested in test_sboost.c.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ml/ml.h"

#define ROWS 2000
#define COLS 5

static void gen(double *x, double *y, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t r = 0; r < ROWS; r++) {
		double z = 0;
		for (size_t c = 0; c < COLS; c++) {
			double v = (double)(sr_ml_prng_next(&s) >> 11) * 0x1p-53 * 4 - 2;
			x[c * ROWS + r] = v;
			z += (double)(c + 1) * v * (c % 2 ? -1 : 1);
		}
		y[r] = z + (double)(sr_ml_prng_next(&s) >> 11) * 0x1p-53 > 0.5 ? 1 : 0;
	}
}

static void test_gradients_quantized(void **state)
{
	double margin[ROWS], y[ROWS], g0[ROWS], h0[ROWS], g[ROWS], h[ROWS];
	uint64_t s = 7;

	(void)state;
	for (size_t r = 0; r < ROWS; r++) {
		margin[r] = (double)(sr_ml_prng_next(&s) >> 11) * 0x1p-53 * 6 - 3;
		y[r] = r % 3 == 0;
	}
	for (int loss = SR_ML_LOGISTIC; loss <= SR_ML_SQUARED; loss++) {
		sr_ml_gbdt_gradients((enum sr_ml_loss)loss, 0, margin, y, ROWS, g0, h0);
		sr_ml_gbdt_gradients((enum sr_ml_loss)loss, 24, margin, y, ROWS, g, h);
		for (size_t r = 0; r < ROWS; r++) {
			double qg = ldexp(g[r], 24), qh = ldexp(h[r], 24);
			assert_true(qg == nearbyint(qg));
			assert_true(qh == nearbyint(qh));
			assert_true(fabs(g[r] - g0[r]) <= 0x1p-25);
			assert_true(fabs(h[r] - h0[r]) <= 0x1p-25);
		}
	}
}

static void test_quantized_hist_exact(void **state)
{
	double *x = calloc(ROWS * COLS, sizeof(double)), y[ROWS], margin[ROWS];
	double g[ROWS], h[ROWS];
	uint32_t fwd[ROWS], rev[ROWS], left[ROWS], right[ROWS];
	uint16_t *codes = calloc(ROWS * COLS, sizeof(uint16_t));
	struct sr_ml_data d = { ROWS, COLS, x, y };
	struct sr_ml_bins bins = { 0 };
	struct sr_ml_layout l = { 0 };
	struct sr_ml_hist a = { 0 }, b = { 0 }, c = { 0 }, sub = { 0 };
	struct sr_err err;
	size_t nl = 0, nr = 0;
	uint64_t s = 11;

	(void)state;
	assert_non_null(x);
	assert_non_null(codes);
	gen(x, y, 3);
	for (size_t r = 0; r < ROWS; r++)
		margin[r] = (double)(sr_ml_prng_next(&s) >> 11) * 0x1p-53 * 4 - 2;
	sr_ml_gbdt_gradients(SR_ML_LOGISTIC, 24, margin, y, ROWS, g, h);
	assert_int_equal(sr_ml_bins_fit(&d, 32, &bins, &err), SR_OK);
	assert_int_equal(sr_ml_layout_from_bins(&bins, &l, &err), SR_OK);
	sr_ml_bins_apply(&bins, &d, codes);
	for (size_t r = 0; r < ROWS; r++) {
		fwd[r] = (uint32_t)r;
		rev[r] = (uint32_t)(ROWS - 1 - r);
		if (x[r] < 0.1)
			left[nl++] = (uint32_t)r;
		else
			right[nr++] = (uint32_t)r;
	}
	assert_int_equal(sr_ml_hist_init(&a, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&b, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&c, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&sub, &l, &err), SR_OK);
	/* Order independence: the same sums in either row order. */
	sr_ml_hist_build(&a, &l, codes, ROWS, fwd, ROWS, g, h);
	sr_ml_hist_build(&b, &l, codes, ROWS, rev, ROWS, g, h);
	assert_memory_equal(a.g, b.g, a.slots * sizeof(double));
	assert_memory_equal(a.h, b.h, a.slots * sizeof(double));
	/* Subtraction is exact: parent - left == right built directly. */
	sr_ml_hist_build(&b, &l, codes, ROWS, left, nl, g, h);
	sr_ml_hist_build(&c, &l, codes, ROWS, right, nr, g, h);
	sr_ml_hist_subtract(&sub, &a, &b);
	assert_memory_equal(sub.g, c.g, c.slots * sizeof(double));
	assert_memory_equal(sub.h, c.h, c.slots * sizeof(double));
	sr_ml_hist_release(&a);
	sr_ml_hist_release(&b);
	sr_ml_hist_release(&c);
	sr_ml_hist_release(&sub);
	sr_ml_layout_release(&l);
	sr_ml_bins_release(&bins);
	free(codes);
	free(x);
}

static void test_quantized_training(void **state)
{
	double *x = calloc(ROWS * COLS, sizeof(double)), y[ROWS], p0[ROWS], p1[ROWS];
	struct sr_ml_data d = { ROWS, COLS, x, y };
	struct sr_ml_gbdt_params p;
	struct sr_ml_gbdt m0 = { 0 }, m1 = { 0 }, m2 = { 0 };
	struct sr_err err;
	double maxdiff = 0;

	(void)state;
	assert_non_null(x);
	gen(x, y, 5);
	sr_ml_gbdt_params_init(&p);
	p.trees = 10;
	p.depth = 4;
	assert_int_equal(p.grad_frac_bits, 0);
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m0, &err), SR_OK);
	p.grad_frac_bits = 24;
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m1, &err), SR_OK);
	/* Deterministic: the same quantized model twice. */
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m2, &err), SR_OK);
	assert_int_equal(m1.ntrees, m2.ntrees);
	for (size_t t = 0; t < m1.ntrees; t++) {
		assert_int_equal(m1.trees[t].nnodes, m2.trees[t].nnodes);
		assert_memory_equal(m1.trees[t].nodes, m2.trees[t].nodes,
				    m1.trees[t].nnodes * sizeof(struct sr_ml_node));
	}
	/* Rounding at 2^-24 barely moves the predictions. */
	sr_ml_gbdt_predict(&m0, &d, p0);
	sr_ml_gbdt_predict(&m1, &d, p1);
	for (size_t r = 0; r < ROWS; r++)
		maxdiff = fmax(maxdiff, fabs(p0[r] - p1[r]));
	assert_true(maxdiff < 1e-4);
	/* Out of range (m2 released first: a call overwrites its output). */
	sr_ml_gbdt_release(&m2);
	p.grad_frac_bits = 7;
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m2, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "grad_frac_bits 7"));
	p.grad_frac_bits = 41;
	assert_int_equal(sr_ml_gbdt_params_check(&p, &err), SR_EINVAL);
	sr_ml_gbdt_release(&m0);
	sr_ml_gbdt_release(&m1);
	sr_ml_gbdt_release(&m2);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gradients_quantized),
		cmocka_unit_test(test_quantized_hist_exact),
		cmocka_unit_test(test_quantized_training),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
