/*
 * mont.h - Montgomery arithmetic modulo an odd N in radix 2^52, for
 * src/he only: an AVX-512 IFMA kernel where the CPU has one, and a
 * portable kernel that computes the same limbs everywhere else.
 *
 * A number in Montgomery form is x·R mod N with R = 2^(52·limbs), held
 * as `limbs` 52-bit limbs in uint64_t, least significant first, and kept
 * below 2N (almost Montgomery: no final subtraction between steps;
 * R > 4N makes the bound close).  docs/internals/he.md has the reasons.
 */
#ifndef SR_HE_MONT_H
#define SR_HE_MONT_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Vectors of 8 limbs: N up to 52·8·20 − 2 = 8318 bits (n² of 4096-bit n). */
#define HE_MONT_MAX_VECS 20u
#define HE_MONT_MAX_LIMBS (8u * HE_MONT_MAX_VECS)

struct he_mont {
	unsigned vecs;     /* L */
	unsigned limbs;    /* 8·L */
	uint64_t k0;       /* −N^−1 mod 2^52 */
	uint64_t *n;       /* N */
	uint64_t *rr;      /* R² mod N */
	uint64_t *one;     /* R mod N: 1 in Montgomery form */
	mpz_t mod;         /* N */
	int secret;        /* N is secret (p², q²): the kernels' inputs are too */
};

/* m for the odd modulus N > 1 (secret: wiped when released). */
int he_mont_init(struct he_mont *m, const mpz_t N, int secret,
		 struct sr_err *err) SR_WUR;
void he_mont_release(struct he_mont *m);

/* count numbers of m->limbs limbs, 64-byte aligned, zeroed (NULL: out of
 * memory).  Free with he_mont_free(m, p, count), which wipes them. */
uint64_t *he_mont_alloc(const struct he_mont *m, size_t count);
void he_mont_free(const struct he_mont *m, uint64_t *p, size_t count);

/* out = a·b·R^−1 mod N (< 2N for a, b < 2N); out may be a or b. */
void he_mont_mul(const struct he_mont *m, uint64_t *out, const uint64_t *a,
		 const uint64_t *b);
/* he_mont_mul under m1 and under m2 at once (the same limb count):
 * faster than two calls where one product alone leaves the CPU idle. */
void he_mont_mul2(const struct he_mont *m1, uint64_t *out1, const uint64_t *a1,
		  const uint64_t *b1, const struct he_mont *m2, uint64_t *out2,
		  const uint64_t *a2, const uint64_t *b2);
/* out = x·R mod N for 0 <= x (reduced first when x >= N). */
void he_mont_to(const struct he_mont *m, uint64_t *out, const mpz_t x);
/* x (0 <= x < N) as m's limbs, not converted: a Montgomery-form y times
 * it is x·y, out of Montgomery form. */
void he_mont_to_limbs(const struct he_mont *m, uint64_t *out, const mpz_t x);
/* v mod N, canonical, for limbs v < 2N. */
void he_mont_canonical(const struct he_mont *m, mpz_t out, const uint64_t *v);
/* out = x·R^−1 mod N, canonical: 0 <= out < N. */
void he_mont_from(const struct he_mont *m, mpz_t out, const uint64_t *x);
/* out = a·b mod N for 0 <= a, b < N, through two Montgomery steps. */
void he_mont_mulmod(const struct he_mont *m, mpz_t out, const mpz_t a,
		    const mpz_t b);
/* out = base^e in Montgomery form, e >= 0 public (variable time). */
void he_mont_powm(const struct he_mont *m, uint64_t *out, const uint64_t *base,
		  const mpz_t e);
/*
 * out = base^e in Montgomery form for a secret 0 <= e < 2^ebits: the same
 * multiplications and memory accesses for every e of that length (fixed
 * windows, tables read whole).  ebits is public.
 */
void he_mont_powm_sec(const struct he_mont *m, uint64_t *out,
		      const uint64_t *base, const mpz_t e, size_t ebits);

/* he_mont_powm_sec under m1 and m2 at once (the same limb count), with
 * exponents of the same public length, through he_mont_mul2. */
void he_mont_powm_sec2(const struct he_mont *m1, uint64_t *out1,
		       const uint64_t *base1, const mpz_t e1,
		       const struct he_mont *m2, uint64_t *out2,
		       const uint64_t *base2, const mpz_t e2, size_t ebits);
/* Which kernel runs: "avx512ifma" or "portable". */
const char *he_mont_kernel(void);
/* Tests only: 1 forces the portable kernel for the whole process, 0 picks
 * by the CPU again. */
void he_mont_force_portable(int on);

#endif
