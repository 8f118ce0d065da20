/*
 * test_he.c - src/he: Paillier against an independent implementation
 * (tests/kat/paillier.kat, from tests/kat/paillier_kat.py: Python
 * integers), homomorphic operations against plaintext arithmetic on seeded
 * random values, signed / fixed-point / packing edge cases and the packing
 * headroom refusal, the owner's CRT encryption against the public path,
 * serialization round trips and every refusal, keygen
 * checks, decryption refusals, batches, the randomizer pool and allocation
 * failures.  Most cases use the KAT's fixed 1024-bit key (fast); the wire
 * format and keygen use 2048 bits.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "he/he.h"

#define RANDOM_CASES 40

/* The two KAT keys, loaded once. */
static struct sr_he_sk *kat_sk[2];
static struct sr_he_pk *kat_pk[2];
static mpz_t kat_p[2], kat_q[2], kat_x[2];
static char *kat_pk_hex;
static struct sr_pool *pool;
static gmp_randstate_t rs;

static char *kat_text(void)
{
	char *path = sr_test_source_path("tests/kat/paillier.kat");
	char *text = sr_test_read_file(path, NULL);

	free(path);
	return text;
}

/* Fields of one KAT line (hex, optionally '-'-signed), max 6. */
static int fields(char *line, mpz_t *out, int max)
{
	int count = 0;
	char *save = NULL;

	for (char *tok = strtok_r(line, " ", &save); tok && count < max;
	     tok = strtok_r(NULL, " ", &save)) {
		assert_int_equal(mpz_set_str(out[count], tok, 16), 0);
		count++;
	}
	return count;
}

static int setup(void **state)
{
	char *text, *save = NULL;
	int k = -1;
	mpz_t f[5];

	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	assert_int_equal(sr_pool_new(2, &pool), SR_OK);
	gmp_randinit_default(rs);
	gmp_randseed_ui(rs, 20261203);
	for (int i = 0; i < 5; i++)
		mpz_init(f[i]);
	text = kat_text();
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct sr_err err = { 0 };

		if (strncmp(line, "key ", 4) == 0) {
			unsigned bits;

			k++;
			assert_true(k < 2);
			bits = (unsigned)strtoul(line + 4, NULL, 10);
			assert_int_equal(fields(strchr(line + 4, ' ') + 1, f, 4), 4);
			mpz_init_set(kat_p[k], f[0]);
			mpz_init_set(kat_q[k], f[1]);
			mpz_init_set(kat_x[k], f[2]);
			assert_int_equal(sr_he_keygen_from(bits, f[0], f[1], f[2], pool,
							   &kat_pk[k], &kat_sk[k], &err),
					 SR_OK);
		} else if (strncmp(line, "pk ", 3) == 0) {
			kat_pk_hex = strdup(line + 3);
		}
	}
	free(text);
	for (int i = 0; i < 5; i++)
		mpz_clear(f[i]);
	assert_int_equal(k, 1);
	assert_non_null(kat_pk_hex);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		sr_he_pk_free(kat_pk[k]);
		sr_he_sk_free(kat_sk[k]);
		mpz_clears(kat_p[k], kat_q[k], kat_x[k], NULL);
	}
	free(kat_pk_hex);
	gmp_randclear(rs);
	sr_pool_free(pool);
	return 0;
}

/* Every line of the KAT file, reproduced by the C code. */
static void test_kat(void **state)
{
	char *text = kat_text(), *save = NULL;
	int k = -1, checked = 0;
	mpz_t f[6], got;
	struct sr_err err = { 0 };

	(void)state;
	for (int i = 0; i < 6; i++)
		mpz_init(f[i]);
	mpz_init(got);
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *rest = strchr(line, ' ');
		const struct sr_he_pk *pk = k >= 0 ? kat_pk[k] : NULL;

		if (line[0] == '#')
			continue;
		assert_non_null(rest);
		*rest++ = '\0';
		if (strcmp(line, "key") == 0) {
			k++;
			assert_int_equal(fields(strchr(rest, ' ') + 1, f, 4), 4);
			/* hs = (−x²)^n mod n², through the public encoding */
			struct sr_buf b;

			sr_buf_init(&b, SR_BUF_UNBOUNDED);
			assert_int_equal(sr_he_pk_encode(kat_pk[k], &b, &err), SR_OK);
			mpz_import(got, sr_he_pk_bits(kat_pk[k]) / 4, 1, 1, 1, 0,
				   b.data + 7 + sr_he_pk_bits(kat_pk[k]) / 8);
			assert_int_equal(mpz_cmp(got, f[3]), 0);
			sr_buf_release(&b);
		} else if (strcmp(line, "enc") == 0) {
			assert_int_equal(fields(rest, f, 3), 3);
			assert_int_equal(sr_he_encrypt_with(pk, f[0], f[1], got, &err), SR_OK);
			assert_int_equal(mpz_cmp(got, f[2]), 0);
			/* the owner's CRT encryption gives the same ciphertext */
			assert_int_equal(sr_he_sk_encrypt_prepare(kat_sk[k], NULL, &err), SR_OK);
			mpz_set_ui(got, 0);
			assert_int_equal(sr_he_encrypt_sk_with(kat_sk[k], f[0], f[1], got, &err), SR_OK);
			assert_int_equal(mpz_cmp(got, f[2]), 0);
			assert_int_equal(sr_he_decrypt(kat_sk[k], f[2], got, &err), SR_OK);
			assert_int_equal(mpz_cmp(got, f[0]), 0);
		} else if (strcmp(line, "dec") == 0) {
			assert_int_equal(fields(rest, f, 2), 2);
			assert_int_equal(sr_he_decrypt(kat_sk[k], f[0], got, &err), SR_OK);
			assert_int_equal(mpz_cmp(got, f[1]), 0);
		} else if (strcmp(line, "add") == 0) {
			assert_int_equal(fields(rest, f, 3), 3);
			sr_he_add(pk, f[0], f[1], got);
			assert_int_equal(mpz_cmp(got, f[2]), 0);
		} else if (strcmp(line, "addp") == 0) {
			assert_int_equal(fields(rest, f, 3), 3);
			sr_he_add_plain(pk, f[0], f[1], got);
			assert_int_equal(mpz_cmp(got, f[2]), 0);
		} else if (strcmp(line, "mul") == 0) {
			assert_int_equal(fields(rest, f, 3), 3);
			assert_int_equal(sr_he_mul_plain(pk, f[0], f[1], got, &err), SR_OK);
			assert_int_equal(mpz_cmp(got, f[2]), 0);
		} else if (strcmp(line, "pk") == 0) {
			struct sr_buf b;
			char *hex;

			sr_buf_init(&b, SR_BUF_UNBOUNDED);
			assert_int_equal(sr_he_pk_encode(pk, &b, &err), SR_OK);
			hex = malloc(2 * b.len + 1);
			sr_hex(hex, (const uint8_t *)b.data, b.len);
			assert_string_equal(hex, rest);
			free(hex);
			sr_buf_release(&b);
		} else {
			fail_msg("unknown KAT line %s", line);
		}
		checked++;
	}
	assert_true(checked > 50);
	for (int i = 0; i < 6; i++)
		mpz_clear(f[i]);
	mpz_clear(got);
	free(text);
}

static void random_below(mpz_t v, mpz_srcptr bound)
{
	mpz_urandomm(v, rs, bound);
}

/* A random signed value of up to `bits` bits. */
static void random_signed(mpz_t v, unsigned bits)
{
	mpz_urandomb(v, rs, bits);
	if (gmp_urandomb_ui(rs, 1))
		mpz_neg(v, v);
}

static void enc(const struct sr_he_pk *pk, const mpz_t m, mpz_t c)
{
	struct sr_err err = { 0 };

	assert_int_equal(sr_he_encrypt(pk, m, c, &err), SR_OK);
}

static void dec_equals(const struct sr_he_sk *sk, const mpz_t c,
		       const mpz_t want_mod_n)
{
	struct sr_err err = { 0 };
	mpz_t m, w;

	mpz_inits(m, w, NULL);
	assert_int_equal(sr_he_decrypt(sk, c, m, &err), SR_OK);
	mpz_mod(w, want_mod_n, sr_he_pk_n(sr_he_sk_pk(sk)));
	assert_int_equal(mpz_cmp(m, w), 0);
	mpz_clears(m, w, NULL);
}

static void test_homomorphic_random(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	const struct sr_he_sk *sk = kat_sk[0];
	mpz_srcptr n = sr_he_pk_n(pk);
	mpz_t a, b, ca, cb, out, k, want;
	struct sr_err err = { 0 };

	(void)state;
	mpz_inits(a, b, ca, cb, out, k, want, NULL);
	for (int i = 0; i < RANDOM_CASES; i++) {
		random_below(a, n);
		random_below(b, n);
		enc(pk, a, ca);
		enc(pk, b, cb);
		dec_equals(sk, ca, a);
		sr_he_add(pk, ca, cb, out);
		mpz_add(want, a, b);
		dec_equals(sk, out, want);
		random_signed(k, 1 + (unsigned)(i * 37 % 1100));
		sr_he_add_plain(pk, ca, k, out);
		mpz_add(want, a, k);
		dec_equals(sk, out, want);
		assert_int_equal(sr_he_mul_plain(pk, ca, k, out, &err), SR_OK);
		mpz_mul(want, a, k);
		dec_equals(sk, out, want);
		assert_int_equal(sr_he_rerandomize(pk, ca, out, &err), SR_OK);
		assert_int_not_equal(mpz_cmp(out, ca), 0);
		dec_equals(sk, out, a);
		assert_int_equal(sr_he_encrypt_textbook(pk, a, out, &err), SR_OK);
		dec_equals(sk, out, a);
		/* aliasing: out = a */
		mpz_set(out, ca);
		sr_he_add(pk, out, cb, out);
		mpz_add(want, a, b);
		dec_equals(sk, out, want);
	}
	/* two encryptions of the same value differ */
	enc(pk, a, ca);
	enc(pk, a, cb);
	assert_int_not_equal(mpz_cmp(ca, cb), 0);
	mpz_clears(a, b, ca, cb, out, k, want, NULL);
}

/* Encryption by the key's owner (CRT tables mod p², q²) against the public
 * table path with the same exponent, before and after the tables exist,
 * at the edges of m and r; fresh encryptions decrypt and differ; bad m and
 * r refused.  window 0: sr_he_sk_encrypt_prepare's tables, else
 * sr_he_sk_encrypt_prepare_window's of that width. */
static void check_encrypt_sk(struct sr_he_sk *sk, unsigned window)
{
	const struct sr_he_pk *pk = sr_he_sk_pk(sk);
	unsigned r_bits = SR_HE_R_BITS(sr_he_pk_bits(pk));
	mpz_t m, r, want, got, other;
	struct sr_err err = { 0 };

	mpz_inits(m, r, want, got, other, NULL);
	/* no tables yet: the public path */
	random_below(m, sr_he_pk_n(pk));
	mpz_urandomb(r, rs, r_bits);
	assert_int_equal(sr_he_encrypt_with(pk, m, r, want, &err), SR_OK);
	assert_int_equal(sr_he_encrypt_sk_with(sk, m, r, got, &err), SR_OK);
	assert_int_equal(mpz_cmp(got, want), 0);
	if (window)
		assert_int_equal(sr_he_sk_encrypt_prepare_window(sk, pool, window, &err), SR_OK);
	else
		assert_int_equal(sr_he_sk_encrypt_prepare(sk, pool, &err), SR_OK);
	assert_int_equal(sr_he_sk_encrypt_prepare(sk, NULL, &err), SR_OK);  /* once */
	for (int i = 0; i < RANDOM_CASES; i++) {
		switch (i) {
		case 0: mpz_set_ui(m, 0); mpz_set_ui(r, 0); break;
		case 1: mpz_sub_ui(m, sr_he_pk_n(pk), 1); mpz_set_ui(r, 1); break;
		case 2:   /* r = 2^r_bits − 1: every digit of every window set */
			mpz_set_ui(m, 1);
			mpz_set_ui(r, 0);
			mpz_setbit(r, r_bits);
			mpz_sub_ui(r, r, 1);
			break;
		case 3: mpz_set_ui(m, 5); mpz_set_ui(r, 0); mpz_setbit(r, r_bits - 1); break;
		default:
			random_below(m, sr_he_pk_n(pk));
			mpz_urandomb(r, rs, 1 + (unsigned)(i * 53) % r_bits);
			break;
		}
		assert_int_equal(sr_he_encrypt_with(pk, m, r, want, &err), SR_OK);
		assert_int_equal(sr_he_encrypt_sk_with(sk, m, r, got, &err), SR_OK);
		assert_int_equal(mpz_cmp(got, want), 0);
		assert_int_equal(sr_he_encrypt_sk(sk, m, got, &err), SR_OK);
		dec_equals(sk, got, m);
		assert_int_equal(sr_he_encrypt_sk(sk, m, other, &err), SR_OK);
		assert_int_not_equal(mpz_cmp(got, other), 0);
	}
	/* refusals, c unchanged */
	mpz_set_ui(got, 7);
	mpz_set(m, sr_he_pk_n(pk));
	assert_int_equal(sr_he_encrypt_sk(sk, m, got, &err), SR_EINVAL);
	mpz_set_si(m, -1);
	assert_int_equal(sr_he_encrypt_sk(sk, m, got, &err), SR_EINVAL);
	mpz_set_ui(m, 1);
	mpz_set_ui(r, 0);
	mpz_setbit(r, r_bits);
	sr_err_clear(&err);
	assert_int_equal(sr_he_encrypt_sk_with(sk, m, r, got, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "randomizer"));
	assert_int_equal(mpz_cmp_ui(got, 7), 0);
	mpz_clears(m, r, want, got, other, NULL);
}

static void test_encrypt_sk(void **state)
{
	struct sr_he_sk *sk = NULL;
	struct sr_err err = { 0 };

	(void)state;
	/* the KAT's 1024-bit primes in a key of its own (no tables yet) */
	assert_int_equal(sr_he_keygen_from(1024, kat_p[0], kat_q[0], kat_x[0], NULL,
					   NULL, &sk, &err), SR_OK);
	check_encrypt_sk(sk, 0);
	sr_he_sk_free(sk);
	/* wider windows (11, 12 bits), and widths outside 10..12 refused */
	for (unsigned w = 11; w <= SR_HE_CRT_WINDOW_MAX; w++) {
		assert_int_equal(sr_he_keygen_from(1024, kat_p[0], kat_q[0], kat_x[0], NULL,
						   NULL, &sk, &err), SR_OK);
		sr_err_clear(&err);
		assert_int_equal(sr_he_sk_encrypt_prepare_window(sk, NULL, 9, &err), SR_EINVAL);
		assert_non_null(strstr(err.msg, "window of 9 bits"));
		assert_int_equal(sr_he_sk_encrypt_prepare_window(sk, NULL, SR_HE_CRT_WINDOW_MAX + 1,
								 &err), SR_EINVAL);
		check_encrypt_sk(sk, w);
		sr_he_sk_free(sk);
	}
	/* a fresh 2048-bit key, the join's size */
	assert_int_equal(sr_he_keygen(2048, pool, NULL, &sk, &err), SR_OK);
	check_encrypt_sk(sk, 0);
	sr_he_sk_free(sk);
}

static void check_multiexp(size_t count, unsigned scalar_bits)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_t *cts, *ks, m, want, got, naive;
	struct sr_err err = { 0 };

	assert_int_equal(sr_he_cts_new(count, &cts, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(count, &ks, &err), SR_OK);
	mpz_inits(m, want, got, naive, NULL);
	mpz_set_ui(want, 0);
	for (size_t i = 0; i < count; i++) {
		random_below(m, sr_he_pk_n(pk));
		enc(pk, m, cts[i]);
		random_signed(ks[i], scalar_bits);
		if (i == 1)
			mpz_set_si(ks[i], 0);
		if (i == 2)
			mpz_set_si(ks[i], -1);
		mpz_addmul(want, m, ks[i]);
	}
	assert_int_equal(sr_he_multiexp(pk, cts, ks, count, got, &err), SR_OK);
	assert_int_equal(sr_he_multiexp_naive(pk, cts, ks, count, naive, &err),
			 SR_OK);
	assert_int_equal(mpz_cmp(got, naive), 0);
	dec_equals(kat_sk[0], got, want);
	mpz_clears(m, want, got, naive, NULL);
	sr_he_cts_free(cts, count);
	sr_he_cts_free(ks, count);
}

/* Every scalar of one sign: one of the two Pippenger passes is empty. */
static void check_multiexp_one_sign(size_t count, int sign)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_t *cts, *ks, m, want, got;
	struct sr_err err = { 0 };

	assert_int_equal(sr_he_cts_new(count, &cts, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(count, &ks, &err), SR_OK);
	mpz_inits(m, want, got, NULL);
	mpz_set_ui(want, 0);
	for (size_t i = 0; i < count; i++) {
		random_below(m, sr_he_pk_n(pk));
		enc(pk, m, cts[i]);
		mpz_set_si(ks[i], sign * (long)(i + 1) * 1000003);
		mpz_addmul(want, m, ks[i]);
	}
	assert_int_equal(sr_he_multiexp(pk, cts, ks, count, got, &err), SR_OK);
	dec_equals(kat_sk[0], got, want);
	mpz_clears(m, want, got, NULL);
	sr_he_cts_free(cts, count);
	sr_he_cts_free(ks, count);
}

/* A value sharing p with n under a negative scalar cannot be inverted:
 * refused by both paths, out unchanged. */
static void check_multiexp_not_invertible(void)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_t *cts, *ks, m, got;
	struct sr_err err = { 0 };

	assert_int_equal(sr_he_cts_new(8, &cts, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(8, &ks, &err), SR_OK);
	mpz_inits(m, got, NULL);
	for (size_t i = 0; i < 8; i++) {
		random_below(m, sr_he_pk_n(pk));
		enc(pk, m, cts[i]);
		mpz_set_si(ks[i], (long)i + 1);
	}
	mpz_set(cts[5], kat_p[0]);
	mpz_set_si(ks[5], -7);
	mpz_set_ui(got, 12345);
	assert_int_equal(sr_he_multiexp(pk, cts, ks, 8, got, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "not invertible"));
	assert_int_equal(mpz_cmp_ui(got, 12345), 0);
	sr_err_clear(&err);
	assert_int_equal(sr_he_multiexp_naive(pk, cts, ks, 8, got, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "not invertible"));
	mpz_clears(m, got, NULL);
	sr_he_cts_free(cts, 8);
	sr_he_cts_free(ks, 8);
}

static void test_multiexp(void **state)
{
	(void)state;
	check_multiexp(0, 64);
	check_multiexp(1, 64);
	check_multiexp(3, 64);
	check_multiexp(4, 64);
	check_multiexp(17, 64);
	check_multiexp(100, 64);
	check_multiexp(50, 1024);
	check_multiexp(30, 1500);  /* above n: reduced mod n */
	check_multiexp(200, 8);
	check_multiexp_one_sign(8, 1);
	check_multiexp_one_sign(8, -1);
	check_multiexp_not_invertible();
}

static void test_signed_fixed(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_srcptr n = sr_he_pk_n(pk);
	mpz_t v, m, back, max, c, sum;
	struct sr_err err = { 0 };
	int64_t i64;
	double x;
	static const int64_t edges[] = { 0, -1, 1, INT64_MAX, INT64_MIN };

	(void)state;
	mpz_inits(v, m, back, max, c, sum, NULL);
	mpz_sub_ui(max, n, 1);
	mpz_fdiv_q_2exp(max, max, 1);
	/* ±max round-trip, max + 1 refused */
	for (int s = -1; s <= 1; s += 2) {
		mpz_mul_si(v, max, s);
		assert_int_equal(sr_he_encode_signed(pk, v, m, &err), SR_OK);
		enc(pk, m, c);
		assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, &err), SR_OK);
		sr_he_decode_signed(pk, m, back);
		assert_int_equal(mpz_cmp(back, v), 0);
		mpz_add_ui(v, max, 1);
		if (s < 0)
			mpz_neg(v, v);
		sr_err_clear(&err);
		assert_int_equal(sr_he_encode_signed(pk, v, m, &err), SR_ELIMIT);
		assert_non_null(strstr(err.msg, "(n-1)/2"));
	}
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		sr_he_encode_i64(pk, edges[i], m);
		assert_int_equal(sr_he_decode_i64(pk, m, &i64, &err), SR_OK);
		assert_true(i64 == edges[i]);
	}
	/* −1 is n − 1 */
	sr_he_encode_i64(pk, -1, m);
	mpz_sub_ui(v, n, 1);
	assert_int_equal(mpz_cmp(m, v), 0);
	/* a sum of two INT64_MAX does not fit an int64 */
	sr_he_encode_i64(pk, INT64_MAX, m);
	mpz_mul_ui(m, m, 2);
	sr_err_clear(&err);
	assert_int_equal(sr_he_decode_i64(pk, m, &i64, &err), SR_ELIMIT);
	/* fixed point: sums of signed values under encryption */
	{
		static const double xs[] = { 0.0, -1.0, 3.25, -1234.5625, 1e-3 };
		double total = 0;

		enc(pk, (mpz_set_ui(m, 0), m), sum);
		for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
			assert_int_equal(sr_he_encode_fixed(pk, xs[i], 32, m, &err), SR_OK);
			assert_int_equal(sr_he_decode_fixed(pk, m, 32, &x, &err), SR_OK);
			assert_true(fabs(x - xs[i]) <= ldexp(1, -33));
			enc(pk, m, c);
			sr_he_add(pk, sum, c, sum);
			total += xs[i];
		}
		assert_int_equal(sr_he_decrypt(kat_sk[0], sum, m, &err), SR_OK);
		assert_int_equal(sr_he_decode_fixed(pk, m, 32, &x, &err), SR_OK);
		assert_true(fabs(x - total) <= 5 * ldexp(1, -33));
	}
	sr_err_clear(&err);
	assert_int_equal(sr_he_encode_fixed(pk, NAN, 16, m, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_he_encode_fixed(pk, INFINITY, 16, m, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_he_encode_fixed(pk, 1.0, 257, m, &err), SR_EINVAL);
	sr_err_clear(&err);
	/* 2^1000 · 2^200 is finite but exceeds (n−1)/2 of a 1024-bit key */
	assert_int_equal(sr_he_encode_fixed(pk, ldexp(1, 1000), 200, m, &err),
			 SR_ELIMIT);
	sr_err_clear(&err);
	assert_int_equal(sr_he_encode_fixed(pk, 1e308, 256, m, &err), SR_ELIMIT);
	/* a plaintext too large for a double */
	mpz_set(m, max);
	sr_err_clear(&err);
	assert_int_equal(sr_he_decode_fixed(pk, m, 0, &x, &err), SR_OK);
	assert_true(x > 1e300);
	mpz_clears(v, m, back, max, c, sum, NULL);
}

static void test_packing_params(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	struct sr_he_packing pk64;
	struct sr_err err = { 0 };

	(void)state;
	assert_int_equal(sr_he_packing_init(&pk64, pk, 0, 10, 0, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 65, 10, 0, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 32, UINT64_C(1) << 32, 0,
					    &err), SR_ELIMIT);
	/* 1024-bit key: 1022 usable bits; 32 + ⌈log2(1001)⌉ = 42 → 24 slots */
	assert_int_equal(sr_he_packing_init(&pk64, pk, 32, 1000, 0, &err), SR_OK);
	assert_int_equal(pk64.slot_bits, 42);
	assert_int_equal(pk64.slots, 24);
	assert_true(pk64.max_terms == 1001);
	sr_err_clear(&err);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 32, 1000, 25, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "at most 24"));
	/* headroom exact at powers of two: 1 addition → 1 bit, 3 → 2, 4 → 3 */
	assert_int_equal(sr_he_packing_init(&pk64, pk, 8, 0, 1, &err), SR_OK);
	assert_int_equal(pk64.slot_bits, 8);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 8, 1, 1, &err), SR_OK);
	assert_int_equal(pk64.slot_bits, 9);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 8, 3, 1, &err), SR_OK);
	assert_int_equal(pk64.slot_bits, 10);
	assert_int_equal(sr_he_packing_init(&pk64, pk, 8, 4, 1, &err), SR_OK);
	assert_int_equal(pk64.slot_bits, 11);
}

/* Sum exactly max_terms packed ciphertexts of extreme values. */
static void check_packing_extremes(unsigned value_bits, uint64_t additions)
{
	const struct sr_he_pk *pk = kat_pk[0];
	struct sr_he_packing pack;
	struct sr_he_pct acc, one, before;
	struct sr_err err = { 0 };
	int64_t lo = value_bits == 64 ? INT64_MIN : -((int64_t)1 << (value_bits - 1));
	int64_t hi = value_bits == 64 ? INT64_MAX : ((int64_t)1 << (value_bits - 1)) - 1;
	int64_t *vals;
	mpz_t *out, want;
	size_t slots;

	assert_int_equal(sr_he_packing_init(&pack, pk, value_bits, additions, 0,
					    &err), SR_OK);
	slots = pack.slots;
	vals = calloc(slots, sizeof(*vals));
	assert_int_equal(sr_he_cts_new(slots, &out, &err), SR_OK);
	for (size_t i = 0; i < slots; i++)
		vals[i] = i % 3 == 0 ? hi : i % 3 == 1 ? lo
			  : (int64_t)i - 5 < lo ? lo : (int64_t)i - 5 > hi ? hi
			  : (int64_t)i - 5;
	sr_he_pct_init(&acc);
	sr_he_pct_init(&one);
	sr_he_pct_init(&before);
	assert_int_equal(sr_he_pct_encrypt(pk, &pack, vals, slots, &acc, &err), SR_OK);
	assert_int_equal(sr_he_pct_encrypt(pk, &pack, vals, slots, &one, &err), SR_OK);
	for (uint64_t t = 1; t < pack.max_terms; t++)
		assert_int_equal(sr_he_pct_add(pk, &pack, &acc, &one, &acc, &err), SR_OK);
	assert_true(acc.terms == pack.max_terms);
	assert_int_equal(sr_he_pct_decrypt(kat_sk[0], &pack, &acc, out, slots, &err),
			 SR_OK);
	mpz_init(want);
	for (size_t i = 0; i < slots; i++) {
		mpz_set_si(want, (long)vals[i]);
		mpz_mul_ui(want, want, (unsigned long)pack.max_terms);
		assert_int_equal(mpz_cmp(out[i], want), 0);
	}
	/* one more addition is refused and leaves the output as it was */
	mpz_set(before.c, acc.c);
	before.terms = acc.terms;
	sr_err_clear(&err);
	assert_int_equal(sr_he_pct_add(pk, &pack, &acc, &one, &acc, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "headroom"));
	assert_true(acc.terms == before.terms);
	assert_int_equal(mpz_cmp(acc.c, before.c), 0);
	/* forcing it past the headroom: unpack refuses the term count */
	sr_he_add(pk, acc.c, one.c, acc.c);
	acc.terms++;
	sr_err_clear(&err);
	assert_int_equal(sr_he_pct_decrypt(kat_sk[0], &pack, &acc, out, slots, &err),
			 SR_ELIMIT);
	mpz_clear(want);
	sr_he_pct_release(&acc);
	sr_he_pct_release(&one);
	sr_he_pct_release(&before);
	sr_he_cts_free(out, slots);
	free(vals);
}

static void test_packing(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	struct sr_he_packing pack;
	struct sr_err err = { 0 };
	int64_t vals[4] = { 0, 0, 0, 0 };
	mpz_t m, out[4];

	(void)state;
	check_packing_extremes(64, 7);
	check_packing_extremes(1, 0);
	check_packing_extremes(1, 3);
	check_packing_extremes(20, 15);
	check_packing_extremes(33, 100);
	mpz_init(m);
	for (int i = 0; i < 4; i++)
		mpz_init(out[i]);
	assert_int_equal(sr_he_packing_init(&pack, pk, 8, 3, 4, &err), SR_OK);
	vals[2] = 128;
	assert_int_equal(sr_he_pack(&pack, vals, 4, m, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "value 2"));
	vals[2] = -129;
	sr_err_clear(&err);
	assert_int_equal(sr_he_pack(&pack, vals, 4, m, &err), SR_ELIMIT);
	vals[2] = -128;
	sr_err_clear(&err);
	assert_int_equal(sr_he_pack(&pack, vals, 5, m, &err), SR_EINVAL);
	/* fewer values than slots: the rest are 0 */
	assert_int_equal(sr_he_pack(&pack, vals, 3, m, &err), SR_OK);
	assert_int_equal(sr_he_unpack(&pack, m, 1, out, 4, &err), SR_OK);
	assert_int_equal(mpz_get_si(out[2]), -128);
	assert_int_equal(mpz_get_si(out[3]), 0);
	sr_err_clear(&err);
	assert_int_equal(sr_he_unpack(&pack, m, 0, out, 4, &err), SR_ELIMIT);
	sr_err_clear(&err);
	assert_int_equal(sr_he_unpack(&pack, m, 5, out, 4, &err), SR_ELIMIT);
	/* bits above the last slot */
	mpz_setbit(m, 4 * pack.slot_bits);
	sr_err_clear(&err);
	assert_int_equal(sr_he_unpack(&pack, m, 1, out, 4, &err), SR_EINVAL);
	/* a slot above what one term can reach (2^8 − 1) */
	mpz_set_ui(m, 256);
	sr_err_clear(&err);
	assert_int_equal(sr_he_unpack(&pack, m, 1, out, 4, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "slot 0"));
	assert_int_equal(sr_he_unpack(&pack, m, 2, out, 1, &err), SR_OK);
	mpz_clear(m);
	for (int i = 0; i < 4; i++)
		mpz_clear(out[i]);
}

static void test_decrypt_refusal(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_t c, m;
	struct sr_err err = { 0 };

	(void)state;
	mpz_inits(c, m, NULL);
	mpz_set_ui(m, 77);
	mpz_set_ui(c, 0);
	assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "Z*_{n^2}"));
	mpz_set(c, sr_he_pk_n2(pk));
	assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, NULL), SR_EINVAL);
	mpz_add_ui(c, c, 5);
	assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, NULL), SR_EINVAL);
	mpz_mul_ui(c, kat_p[0], 3);
	sr_err_clear(&err);
	assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "factor"));
	mpz_set_si(c, -1);
	assert_int_equal(sr_he_decrypt(kat_sk[0], c, m, NULL), SR_EINVAL);
	assert_int_equal(mpz_cmp_ui(m, 77), 0);   /* unchanged */
	/* plaintexts out of range are refused by encryption */
	mpz_set(m, sr_he_pk_n(pk));
	assert_int_equal(sr_he_encrypt(pk, m, c, NULL), SR_EINVAL);
	mpz_set_si(m, -1);
	assert_int_equal(sr_he_encrypt(pk, m, c, NULL), SR_EINVAL);
	mpz_set_ui(m, 1);
	mpz_set_ui(c, 1);
	mpz_mul_2exp(c, c, SR_HE_R_BITS(1024));
	assert_int_equal(sr_he_encrypt_with(pk, m, c, c, NULL), SR_EINVAL);
	mpz_clears(c, m, NULL);
}

static void test_keygen(void **state)
{
	struct sr_he_pk *pk;
	struct sr_he_sk *sk;
	struct sr_err err = { 0 };
	mpz_t m, c, q2, x;

	(void)state;
	mpz_inits(m, c, q2, x, NULL);
	assert_int_equal(sr_he_keygen(2048, pool, &pk, &sk, &err), SR_OK);
	assert_int_equal(sr_he_pk_bits(pk), 2048);
	assert_int_equal(mpz_sizeinbase(sr_he_pk_n(pk), 2), 2048);
	assert_int_equal(sr_he_ct_bytes(pk), 256 * 2);
	assert_true(sr_he_pk_equal(pk, sr_he_sk_pk(sk)));
	mpz_set_ui(m, 123456789);
	enc(pk, m, c);
	dec_equals(sk, c, m);
	sr_he_pk_free(pk);   /* the sk still works after the pk is freed */
	dec_equals(sk, c, m);
	sr_he_sk_free(sk);
	sr_he_sk_free(NULL);
	sr_he_pk_free(NULL);

	assert_int_equal(sr_he_keygen(1024, pool, &pk, &sk, &err), SR_EINVAL);
	assert_null(sk);
	/* keygen_sized: a test size, its wire form decoded only when asked
	 * for that size; sizes out of its range refused. */
	{
		struct sr_he_pk *back;
		struct sr_buf w;

		sr_err_clear(&err);
		assert_int_equal(sr_he_keygen_sized(1024, NULL, &pk, &sk, &err), SR_OK);
		assert_int_equal(sr_he_pk_bits(pk), 1024);
		sr_buf_init(&w, SR_BUF_UNBOUNDED);
		assert_int_equal(sr_he_pk_encode(pk, &w, &err), SR_OK);
		assert_int_equal(w.len, sr_he_pk_wire_bytes(1024));
		assert_int_equal(sr_he_pk_decode((uint8_t *)w.data, w.len, NULL, &back, &err),
				 SR_EINVAL);                 /* not a wire size */
		sr_err_clear(&err);
		assert_int_equal(sr_he_pk_decode_bits((uint8_t *)w.data, w.len, 2048, NULL,
						      &back, &err), SR_EINVAL);
		assert_non_null(strstr(err.msg, "expected 2048"));
		sr_err_clear(&err);
		assert_int_equal(sr_he_pk_decode_bits((uint8_t *)w.data, w.len, 1024, NULL,
						      &back, &err), SR_OK);
		assert_true(sr_he_pk_equal(pk, back));
		mpz_set_ui(m, 77);
		enc(back, m, c);
		dec_equals(sk, c, m);
		sr_he_pk_free(back);
		sr_buf_release(&w);
		sr_he_pk_free(pk);
		sr_he_sk_free(sk);
		sr_err_clear(&err);
		assert_int_equal(sr_he_keygen_sized(512, NULL, &pk, &sk, &err), SR_EINVAL);
		assert_null(sk);
		sr_err_clear(&err);
		assert_int_equal(sr_he_keygen_sized(1056 + 8, NULL, &pk, &sk, &err), SR_EINVAL);
		sr_err_clear(&err);
	}
	/* keygen_from: each check */
	mpz_set_ui(x, 2);
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1024, kat_p[0], kat_p[0], x, NULL, &pk,
					   &sk, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "p = q"));
	mpz_add_ui(q2, kat_q[0], 2);  /* even + ... make it composite */
	while (mpz_probab_prime_p(q2, 20))
		mpz_add_ui(q2, q2, 2);
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1024, kat_p[0], q2, x, NULL, &pk, &sk,
					   &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "not prime"));
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1088, kat_p[0], kat_q[0], x, NULL, &pk,
					   &sk, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "544 bits"));
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1000, kat_p[0], kat_q[0], x, NULL, &pk,
					   &sk, &err), SR_EINVAL);
	mpz_set(x, kat_p[0]);
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1024, kat_p[0], kat_q[0], x, NULL, &pk,
					   &sk, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "Z*_n"));
	mpz_set_ui(x, 0);
	assert_int_equal(sr_he_keygen_from(1024, kat_p[0], kat_q[0], x, NULL, &pk,
					   &sk, NULL), SR_EINVAL);
	/* two primes whose product is one bit short of 1024 */
	mpz_set_ui(q2, 1);
	mpz_mul_2exp(q2, q2, 511);
	mpz_nextprime(q2, q2);
	mpz_set_ui(c, 1);
	mpz_mul_2exp(c, c, 511);
	mpz_add_ui(c, c, 1000);
	mpz_nextprime(c, c);
	mpz_set_ui(x, 3);
	sr_err_clear(&err);
	assert_int_equal(sr_he_keygen_from(1024, q2, c, x, NULL, &pk, &sk, &err),
			 SR_EINVAL);
	assert_non_null(strstr(err.msg, "exactly 1024"));
	mpz_clears(m, c, q2, x, NULL);
}

/* 3072 bits: keygen, the wire format, encryption and decryption. */
static void test_keygen_3072(void **state)
{
	struct sr_he_pk *pk, *back;
	struct sr_he_sk *sk;
	struct sr_err err = { 0 };
	struct sr_buf b;
	mpz_t m, c;

	(void)state;
	mpz_inits(m, c, NULL);
	assert_int_equal(sr_he_keygen(3072, pool, &pk, &sk, &err), SR_OK);
	assert_int_equal(mpz_sizeinbase(sr_he_pk_n(pk), 2), 3072);
	assert_int_equal(sr_he_ct_bytes(pk), 768);
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_he_pk_encode(pk, &b, &err), SR_OK);
	assert_int_equal(b.len, 7 + 384 + 768);
	assert_int_equal(sr_he_pk_decode((uint8_t *)b.data, b.len, pool, &back, &err),
			 SR_OK);
	assert_true(sr_he_pk_equal(pk, back));
	mpz_set_si(m, -5);
	mpz_add(m, m, sr_he_pk_n(pk));
	enc(back, m, c);
	dec_equals(sk, c, m);
	sr_buf_release(&b);
	sr_he_pk_free(back);
	sr_he_pk_free(pk);
	sr_he_sk_free(sk);
	mpz_clears(m, c, NULL);
}

static uint8_t *unhex_alloc(const char *hex, size_t *len)
{
	uint8_t *out;

	*len = strlen(hex) / 2;
	out = malloc(*len);
	assert_int_equal(sr_unhex(out, *len, hex), SR_OK);
	return out;
}

static void expect_pk_refused(const uint8_t *in, size_t len, const char *what)
{
	struct sr_he_pk *pk = (struct sr_he_pk *)1;
	struct sr_err err = { 0 };

	assert_int_equal(sr_he_pk_decode(in, len, NULL, &pk, &err), SR_EINVAL);
	assert_null(pk);
	if (!strstr(err.msg, what))
		fail_msg("expected \"%s\" in \"%s\"", what, err.msg);
}

static void test_serial_keys(void **state)
{
	const struct sr_he_pk *kpk = kat_pk[1];
	struct sr_he_pk *pk;
	struct sr_he_sk *sk;
	struct sr_buf b;
	struct sr_err err = { 0 };
	size_t len;
	uint8_t *bytes = unhex_alloc(kat_pk_hex, &len);
	mpz_t m, c;

	(void)state;
	mpz_inits(m, c, NULL);
	assert_int_equal(sr_he_pk_decode(bytes, len, pool, &pk, &err), SR_OK);
	assert_true(sr_he_pk_equal(pk, kpk));
	mpz_set_ui(m, 4242);
	enc(pk, m, c);
	dec_equals(kat_sk[1], c, m);
	sr_he_pk_free(pk);

	expect_pk_refused(bytes, 6, "shorter");
	expect_pk_refused(bytes, len - 1, "expected exactly");
	bytes[0] = 'X';
	expect_pk_refused(bytes, len, "magic");
	bytes[0] = 'S';
	bytes[4] = 2;
	expect_pk_refused(bytes, len, "version 2");
	bytes[4] = 1;
	bytes[5] = 4;  /* 1024 bits */
	expect_pk_refused(bytes, len, "expected 2048 or 3072");
	bytes[5] = 8;
	bytes[7 + 255] ^= 1;  /* n even */
	expect_pk_refused(bytes, len, "odd composite");
	bytes[7 + 255] ^= 1;
	bytes[7] = 0;  /* n short */
	expect_pk_refused(bytes, len, "odd composite");
	free(bytes);
	bytes = unhex_alloc(kat_pk_hex, &len);
	memset(bytes + 7 + 256, 0xff, 512);  /* hs ≥ n² */
	expect_pk_refused(bytes, len, "hs");
	memset(bytes + 7 + 256, 0, 512);
	expect_pk_refused(bytes, len, "hs");
	bytes[len - 1] = 1;
	expect_pk_refused(bytes, len, "must not be 1");
	free(bytes);

	/* secret key round trip; refusals */
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_he_sk_encode(kat_sk[1], &b, &err), SR_OK);
	assert_int_equal(b.len, 7 + 256 + 256);
	assert_int_equal(sr_he_sk_decode((uint8_t *)b.data, b.len, pool, &sk, &err),
			 SR_OK);
	assert_true(sr_he_pk_equal(sr_he_sk_pk(sk), kpk));
	dec_equals(sk, c, m);
	sr_he_sk_free(sk);
	sr_err_clear(&err);
	assert_int_equal(sr_he_sk_decode((uint8_t *)b.data, b.len + 1, pool, &sk,
					 &err), SR_EINVAL);
	assert_null(sk);
	memcpy(b.data + 7 + 128, b.data + 7, 128);  /* q = p */
	sr_err_clear(&err);
	assert_int_equal(sr_he_sk_decode((uint8_t *)b.data, b.len, pool, &sk, &err),
			 SR_EINVAL);
	assert_non_null(strstr(err.msg, "secret key"));
	assert_non_null(strstr(err.msg, "p = q"));
	b.data[0] = 'Q';
	sr_err_clear(&err);
	assert_int_equal(sr_he_sk_decode((uint8_t *)b.data, b.len, pool, &sk, &err),
			 SR_EINVAL);
	sr_buf_wipe(&b);
	sr_buf_release(&b);
	mpz_clears(m, c, NULL);
}

static void test_serial_cts(void **state)
{
	const struct sr_he_pk *pk = kat_pk[1];
	size_t width = sr_he_ct_bytes(pk), count;
	uint8_t buf[512];
	mpz_t c, back, m, *cts, *got;
	struct sr_buf b;
	struct sr_err err = { 0 };

	(void)state;
	assert_int_equal(width, 512);
	mpz_inits(c, back, m, NULL);
	mpz_set_ui(m, 9);
	enc(pk, m, c);
	sr_he_ct_encode(pk, c, buf);
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, &err), SR_OK);
	assert_int_equal(mpz_cmp(c, back), 0);
	/* small values keep their fixed width */
	mpz_set_ui(c, 1);
	sr_he_ct_encode(pk, c, buf);
	assert_int_equal(buf[511], 1);
	assert_int_equal(buf[0], 0);
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, &err), SR_OK);
	assert_int_equal(sr_he_ct_decode(pk, buf, width - 1, back, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_he_ct_decode(pk, buf, width + 1, back, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "expected exactly 512"));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, NULL), SR_EINVAL);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, NULL), SR_EINVAL);
	sr_he_ct_encode(pk, sr_he_pk_n2(pk) , buf);
	mpz_sub_ui(c, sr_he_pk_n2(pk), 1);
	sr_he_ct_encode(pk, c, buf);  /* n² − 1 is in Z*_{n²} */
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, NULL), SR_OK);
	mpz_mul(c, kat_q[1], kat_q[1]);
	sr_he_ct_encode(pk, c, buf);
	sr_err_clear(&err);
	assert_int_equal(sr_he_ct_decode(pk, buf, width, back, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "factor"));

	/* batches */
	assert_int_equal(sr_he_cts_new(5, &cts, &err), SR_OK);
	for (int i = 0; i < 5; i++) {
		mpz_set_ui(m, (unsigned long)i * 1000);
		enc(pk, m, cts[i]);
	}
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_he_batch_encode(pk, cts, 5, &b, &err), SR_OK);
	assert_int_equal(b.len, 11 + 5 * 512);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 5, &got,
					    &count, &err), SR_OK);
	assert_int_equal(count, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(mpz_cmp(got[i], cts[i]), 0);
	sr_he_cts_free(got, count);
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 4, &got,
					    &count, &err), SR_ELIMIT);
	assert_null(got);
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len - 1, 5,
					    &got, &count, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "expected exactly"));
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, 9, 5, &got,
					    &count, &err), SR_EINVAL);
	b.data[10] = 6;   /* count says 6 */
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 9, &got,
					    &count, &err), SR_EINVAL);
	b.data[10] = 5;
	memset(b.data + 11 + 3 * 512, 0, 512);   /* item 3 = 0 */
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 5, &got,
					    &count, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "item 3"));
	assert_null(got);
	assert_int_equal(count, 0);
	b.data[6] = 0;   /* 2048 → 2048 & 0xff00 = another size */
	b.data[5] = 12;  /* 3072: valid on the wire, not this key's */
	sr_err_clear(&err);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 5, &got,
					    &count, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "the key's"));
	/* an empty batch */
	sr_buf_reset(&b);
	assert_int_equal(sr_he_batch_encode(pk, cts, 0, &b, &err), SR_OK);
	assert_int_equal(sr_he_batch_decode(pk, (uint8_t *)b.data, b.len, 5, &got,
					    &count, &err), SR_OK);
	assert_int_equal(count, 0);
	sr_he_cts_free(got, count);
	sr_buf_release(&b);
	sr_he_cts_free(cts, 5);
	mpz_clears(c, back, m, NULL);
}

static void test_batches(void **state)
{
	const struct sr_he_pk *pk = kat_pk[0];
	mpz_t *m, *c, *back;
	struct sr_err err = { 0 };
	enum { COUNT = 64 };

	(void)state;
	assert_int_equal(sr_he_cts_new(COUNT, &m, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(COUNT, &c, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(COUNT, &back, &err), SR_OK);
	for (int i = 0; i < COUNT; i++)
		random_below(m[i], sr_he_pk_n(pk));
	assert_int_equal(sr_he_encrypt_batch(pk, pool, m, c, COUNT, &err), SR_OK);
	assert_int_equal(sr_he_decrypt_batch(kat_sk[0], pool, c, back, COUNT, &err),
			 SR_OK);
	for (int i = 0; i < COUNT; i++)
		assert_int_equal(mpz_cmp(m[i], back[i]), 0);
	mpz_set_ui(c[37], 0);
	mpz_set(m[41], sr_he_pk_n(pk));
	sr_err_clear(&err);
	assert_int_equal(sr_he_decrypt_batch(kat_sk[0], pool, c, back, COUNT, &err),
			 SR_EINVAL);
	assert_non_null(strstr(err.msg, "item 37"));
	sr_err_clear(&err);
	assert_int_equal(sr_he_encrypt_batch(pk, NULL, m, c, COUNT, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "item 41"));
	sr_he_cts_free(m, COUNT);
	sr_he_cts_free(c, COUNT);
	sr_he_cts_free(back, COUNT);
}

static void test_randomizer_pool(void **state)
{
	struct sr_he_pk *pk = kat_pk[0];
	struct sr_err err = { 0 };
	mpz_t m, c;
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	(void)state;
	mpz_inits(m, c, NULL);
	assert_int_equal(sr_he_pool_start(pk, NULL, 10, &err), SR_EINVAL);
	assert_int_equal(sr_he_pool_start(pk, pool, 0, NULL), SR_EINVAL);
	assert_int_equal(sr_he_pool_start(pk, pool, SR_HE_POOL_MAX + 1, NULL),
			 SR_EINVAL);
	assert_int_equal(sr_he_pool_start(pk, pool, 100, &err), SR_OK);
	for (int i = 0; i < 1000 && sr_he_pool_available(pk) < 100; i++)
		nanosleep(&pause, NULL);
	assert_int_equal(sr_he_pool_available(pk), 100);
	/* drain below half: fillers restart; also beyond empty (fallback) */
	for (int i = 0; i < 300; i++) {
		mpz_set_ui(m, (unsigned long)i);
		assert_int_equal(sr_he_encrypt_fast(pk, m, c, &err), SR_OK);
		dec_equals(kat_sk[0], c, m);
	}
	sr_he_pool_stop(pk);
	assert_true(sr_he_pool_available(pk) <= 100);
	/* synchronous fill */
	assert_int_equal(sr_he_pool_fill(pk, 8, &err), SR_OK);
	assert_true(sr_he_pool_available(pk) >= 8);
	mpz_set(m, sr_he_pk_n(pk));
	assert_int_equal(sr_he_encrypt_fast(pk, m, c, NULL), SR_EINVAL);
	mpz_clears(m, c, NULL);
}

/* Every allocation of ours may fail: a status, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
	struct sr_err err = { 0 };
	size_t len, count;
	uint8_t *bytes = unhex_alloc(kat_pk_hex, &len);
	struct sr_buf b;
	mpz_t *cts, *ks, out;
	int ok = 0, failed = 0;

	(void)state;
	mpz_init(out);
	for (unsigned long n = 1; n < 12; n++) {
		struct sr_he_pk *pk = NULL;
		int rc;

		sr_alloc_fail_at(n, 0);
		rc = sr_he_pk_decode(bytes, len, NULL, &pk, &err);
		sr_alloc_fail_at(0, 0);
		assert_true(rc == SR_OK || rc == SR_ENOMEM);
		if (rc == SR_OK) {
			ok++;
			sr_he_pk_free(pk);
		} else {
			failed++;
			assert_null(pk);
		}
		sr_err_clear(&err);
	}
	assert_true(ok > 0 && failed > 0);
	assert_int_equal(sr_he_cts_new(20, &cts, &err), SR_OK);
	assert_int_equal(sr_he_cts_new(20, &ks, &err), SR_OK);
	for (int i = 0; i < 20; i++) {
		mpz_set_ui(out, (unsigned long)i);
		enc(kat_pk[1], out, cts[i]);
		mpz_set_si(ks[i], i - 10);
	}
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_he_batch_encode(kat_pk[1], cts, 20, &b, &err), SR_OK);
	for (unsigned long n = 1; n < 8; n++) {
		mpz_t *got = NULL;
		int rc;

		sr_alloc_fail_at(n, 0);
		rc = sr_he_batch_decode(kat_pk[1], (uint8_t *)b.data, b.len, 20, &got,
					&count, &err);
		sr_alloc_fail_at(0, 0);
		assert_true(rc == SR_OK || rc == SR_ENOMEM);
		if (rc == SR_OK)
			sr_he_cts_free(got, count);
		sr_alloc_fail_at(n, 0);
		rc = sr_he_multiexp(kat_pk[1], cts, ks, 20, out, &err);
		sr_alloc_fail_at(0, 0);
		assert_true(rc == SR_OK || rc == SR_ENOMEM);
		sr_err_clear(&err);
	}
	sr_alloc_fail_at(1, 0);
	assert_int_equal(sr_he_pool_fill(kat_pk[1], 50, &err), SR_ENOMEM);
	sr_alloc_fail_at(0, 0);
	sr_buf_release(&b);
	sr_he_cts_free(cts, 20);
	sr_he_cts_free(ks, 20);
	mpz_clear(out);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_homomorphic_random),
		cmocka_unit_test(test_encrypt_sk),
		cmocka_unit_test(test_multiexp),
		cmocka_unit_test(test_signed_fixed),
		cmocka_unit_test(test_packing_params),
		cmocka_unit_test(test_packing),
		cmocka_unit_test(test_decrypt_refusal),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_keygen_3072),
		cmocka_unit_test(test_serial_keys),
		cmocka_unit_test(test_serial_cts),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_randomizer_pool),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
