/*
 * test_he_mont.c - src/he/mont.c against GMP: Montgomery products, the
 * conversions, mulmod, public and constant-time exponentiation, for both
 * kernels (AVX-512 IFMA where the CPU has it, and the portable one, which
 * must give the same limbs), over moduli of every vector count and at the
 * edges of each limb count; and the refusals of he_mont_init.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "he/he.h"
#include "he/mont.h"

static gmp_randstate_t rs;

/* Odd moduli: every vector count, and bit lengths at limb edges. */
static const unsigned sizes[] = {
	3, 51, 52, 53, 104, 200, 412, 413, 414, 415, 416, 500, 830, 831, 1024,
	1247, 1248, 1249, 2048, 2049, 3072, 4094, 4096, 4158, 4159, 6144, 8192,
	8318,
};

static void random_modulus(mpz_t N, unsigned bits)
{
	mpz_urandomb(N, rs, bits);
	mpz_setbit(N, bits - 1);
	mpz_setbit(N, 0);
}

static void limbs_value(mpz_t out, const uint64_t *v, unsigned limbs)
{
	mpz_set_ui(out, 0);
	for (unsigned k = limbs; k-- > 0;) {
		assert_true(v[k] < (UINT64_C(1) << 52));
		mpz_mul_2exp(out, out, 52);
		mpz_add_ui(out, out, v[k]);
	}
}

/* v as limbs of m. */
static void value_limbs(const struct he_mont *m, const mpz_t v, uint64_t *limbs)
{
	memset(limbs, 0, m->limbs * sizeof(uint64_t));
	for (unsigned k = 0; k < m->limbs; k++) {
		mpz_t t;

		mpz_init(t);
		mpz_fdiv_q_2exp(t, v, 52 * k);
		limbs[k] = mpz_get_ui(t) & ((UINT64_C(1) << 52) - 1);
		mpz_clear(t);
	}
}

/* A random v < 2N as limbs of m. */
static void random_below_2n(const struct he_mont *m, mpz_t v, uint64_t *limbs)
{
	mpz_t twice;

	mpz_init(twice);
	mpz_mul_2exp(twice, m->mod, 1);
	mpz_urandomm(v, rs, twice);
	mpz_clear(twice);
	value_limbs(m, v, limbs);
}

static void check_products(unsigned bits)
{
	struct he_mont m;
	struct sr_err err = { 0 };
	mpz_t N, a, b, got, want, rinv, r, twice;
	uint64_t *x, *y, *z1, *z2;

	mpz_inits(N, a, b, got, want, rinv, r, twice, NULL);
	random_modulus(N, bits);
	assert_int_equal(he_mont_init(&m, N, 1, &err), SR_OK);
	assert_true(m.limbs % 8 == 0 && m.limbs * 52 >= bits + 2);
	x = he_mont_alloc(&m, 4);
	assert_non_null(x);
	assert_true(((uintptr_t)x & 63) == 0);
	y = x + m.limbs;
	z1 = y + m.limbs;
	z2 = z1 + m.limbs;
	mpz_setbit(r, 52 * m.limbs);
	assert_true(mpz_invert(rinv, r, N));
	mpz_mul_2exp(twice, N, 1);
	for (int it = 0; it < 40; it++) {
		random_below_2n(&m, a, x);
		random_below_2n(&m, b, y);
		if (it == 0) {  /* the largest inputs */
			mpz_sub_ui(a, twice, 1);
			mpz_set(b, a);
			value_limbs(&m, a, x);
			value_limbs(&m, b, y);
		}
		he_mont_force_portable(1);
		he_mont_mul(&m, z1, x, y);
		he_mont_force_portable(0);
		he_mont_mul(&m, z2, x, y);
		assert_memory_equal(z1, z2, m.limbs * sizeof(uint64_t));
		limbs_value(got, z1, m.limbs);
		assert_true(mpz_cmp(got, twice) < 0);
		mpz_mul(want, a, b);
		mpz_mul(want, want, rinv);
		mpz_mod(want, want, N);
		mpz_mod(got, got, N);
		assert_true(mpz_cmp(got, want) == 0);
		/* aliasing: out is an input */
		he_mont_mul(&m, x, x, y);
		assert_memory_equal(x, z2, m.limbs * sizeof(uint64_t));
	}
	/* conversions and mulmod, canonical */
	for (int it = 0; it < 20; it++) {
		mpz_urandomm(a, rs, N);
		mpz_urandomm(b, rs, N);
		he_mont_to(&m, x, a);
		he_mont_from(&m, got, x);
		assert_true(mpz_cmp(got, a) == 0);
		he_mont_mulmod(&m, got, a, b);
		mpz_mul(want, a, b);
		mpz_mod(want, want, N);
		assert_true(mpz_cmp(got, want) == 0);
		/* N ≡ 0, and inputs at or above N are reduced by he_mont_to */
		he_mont_to(&m, x, N);
		for (unsigned k = 0; k < m.limbs; k++)
			assert_int_equal(x[k], 0);
		mpz_add(a, a, N);
		he_mont_to(&m, x, a);
		he_mont_from(&m, got, x);
		mpz_mod(a, a, N);
		assert_true(mpz_cmp(got, a) == 0);
	}
	he_mont_free(&m, x, 4);
	he_mont_release(&m);
	mpz_clears(N, a, b, got, want, rinv, r, twice, NULL);
}

static void test_products(void **state)
{
	(void)state;
	printf("# kernel: %s\n", he_mont_kernel());
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_products(sizes[i]);
}

static void check_powm(unsigned bits, int portable)
{
	struct he_mont m;
	struct sr_err err = { 0 };
	mpz_t N, base, e, got, want;
	uint64_t *x, *y;
	size_t ebits_list[] = { 0, 1, 2, 5, 6, 63, 64, 65, 127, 1024, 2048 };

	he_mont_force_portable(portable);
	mpz_inits(N, base, e, got, want, NULL);
	random_modulus(N, bits);
	assert_int_equal(he_mont_init(&m, N, 1, &err), SR_OK);
	x = he_mont_alloc(&m, 2);
	assert_non_null(x);
	y = x + m.limbs;
	for (size_t i = 0; i < sizeof(ebits_list) / sizeof(ebits_list[0]); i++) {
		size_t eb = ebits_list[i];

		mpz_urandomm(base, rs, N);
		mpz_urandomb(e, rs, eb);
		if (eb && i % 2)
			mpz_setbit(e, eb - 1);
		he_mont_to(&m, x, base);
		mpz_powm(want, base, e, N);
		he_mont_powm(&m, y, x, e);
		he_mont_from(&m, got, y);
		assert_true(mpz_cmp(got, want) == 0);
		he_mont_powm_sec(&m, y, x, e, eb ? eb : 1);
		he_mont_from(&m, got, y);
		assert_true(mpz_cmp(got, want) == 0);
		/* a longer public length gives the same value */
		he_mont_powm_sec(&m, y, x, e, eb + 7);
		he_mont_from(&m, got, y);
		assert_true(mpz_cmp(got, want) == 0);
	}
	he_mont_free(&m, x, 2);
	he_mont_release(&m);
	mpz_clears(N, base, e, got, want, NULL);
	he_mont_force_portable(0);
}

/* Two moduli of one size at once: the same as one at a time. */
static void check_pairs(unsigned bits, int portable)
{
	struct he_mont m1, m2;
	struct sr_err err = { 0 };
	mpz_t N1, N2, a1, a2, e1, e2, got, want;
	uint64_t *x, *y, *z1, *z2;
	unsigned eb;

	he_mont_force_portable(portable);
	mpz_inits(N1, N2, a1, a2, e1, e2, got, want, NULL);
	random_modulus(N1, bits);
	random_modulus(N2, bits);
	assert_int_equal(he_mont_init(&m1, N1, 1, &err), SR_OK);
	assert_int_equal(he_mont_init(&m2, N2, 1, &err), SR_OK);
	x = he_mont_alloc(&m1, 2);
	y = he_mont_alloc(&m2, 2);
	assert_true(x && y);
	z1 = x + m1.limbs;
	z2 = y + m2.limbs;
	for (int it = 0; it < 10; it++) {
		random_below_2n(&m1, a1, x);
		random_below_2n(&m2, a2, y);
		he_mont_mul2(&m1, z1, x, x, &m2, z2, y, y);
		he_mont_mul(&m1, x, x, x);
		he_mont_mul(&m2, y, y, y);
		assert_memory_equal(x, z1, m1.limbs * sizeof(uint64_t));
		assert_memory_equal(y, z2, m2.limbs * sizeof(uint64_t));
	}
	mpz_urandomm(a1, rs, N1);
	mpz_urandomm(a2, rs, N2);
	eb = bits / 2 ? bits / 2 : 1;
	mpz_urandomb(e1, rs, eb);
	mpz_urandomb(e2, rs, eb > 9 ? eb - 9 : eb);
	he_mont_to(&m1, x, a1);
	he_mont_to(&m2, y, a2);
	he_mont_powm_sec2(&m1, x, x, e1, &m2, y, y, e2, eb);
	he_mont_from(&m1, got, x);
	mpz_powm(want, a1, e1, N1);
	assert_true(mpz_cmp(got, want) == 0);
	he_mont_from(&m2, got, y);
	mpz_powm(want, a2, e2, N2);
	assert_true(mpz_cmp(got, want) == 0);
	he_mont_free(&m1, x, 2);
	he_mont_free(&m2, y, 2);
	he_mont_release(&m1);
	he_mont_release(&m2);
	mpz_clears(N1, N2, a1, a2, e1, e2, got, want, NULL);
	he_mont_force_portable(0);
}

static void test_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i] <= 4158)  /* the paired kernels go to 10 vectors */
			check_pairs(sizes[i], 0);
	check_pairs(6144, 0);  /* above: two single products */
	check_pairs(2048, 1);
}

static void test_powm(void **state)
{
	(void)state;
	check_powm(61, 0);
	check_powm(1024, 0);
	check_powm(2048, 0);
	check_powm(4096, 0);
	check_powm(2048, 1);
	check_powm(4096, 1);
}

static void test_refusals(void **state)
{
	struct he_mont m;
	struct sr_err err = { 0 };
	mpz_t N;

	(void)state;
	mpz_init_set_ui(N, 1);
	assert_int_equal(he_mont_init(&m, N, 0, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "odd and above 1"));
	mpz_set_ui(N, 1000);
	assert_int_equal(he_mont_init(&m, N, 0, &err), SR_EINVAL);
	random_modulus(N, 8319);
	sr_err_clear(&err);
	assert_int_equal(he_mont_init(&m, N, 0, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "over 8318 bits"));
	he_mont_release(&m);  /* a refused context releases as empty */
	mpz_clear(N);
}

static int setup(void **state)
{
	(void)state;
	gmp_randinit_default(rs);
	gmp_randseed_ui(rs, 20261203);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gmp_randclear(rs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_products),
		cmocka_unit_test(test_powm),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
