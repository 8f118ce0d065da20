/*
 * r255.c - ristretto255 over our own field and curve arithmetic (see
 * r255.h and docs/internals/crypto.md, "ristretto255 arithmetic").
 *
 * Layers, bottom up:
 *   field   GF(2^255-19) in five 51-bit limbs, products in unsigned
 *           __int128 (RFC 7748 field; reduction by 2^255 = 19)
 *   curve   twisted Edwards -x^2+y^2 = 1+d x^2 y^2 in extended coordinates,
 *           Hisil-Wong-Carter-Dawson 2008 formulas with a = -1 (complete:
 *           -1 is a square and d is not, so no input needs a special case)
 *   group   RFC 9496 decode, encode and one-way map; signed fixed-window
 *           scalar multiplication
 *
 * Limb bounds.  A field element is "reduced" when every limb is below
 * 2^51 + 2^17 (what fe_mul, fe_sq and fe_carry return).  fe_add of two reduced elements stays below 2^52.1;
 * fe_sub(f, g) = f + 4p - g needs every limb of g at most 2^53 - 76 and
 * stays below f + 2^53.  fe_mul and fe_sq accept limbs below 2^54 (then
 * every column sum fits in 115 bits and 19 times the top carry in 64).
 * The formulas below keep every multiplication input under 2^53.4; the
 * comments give the bound where it is not just "reduced".  Debug builds
 * check the input bound of every multiplication (FE_CHECK).
 *
 * Constant time.  No branch and no memory index depends on a secret: the
 * scalar is reduced with masked subtractions, recoded with arithmetic,
 * and table entries are chosen by reading all of them under masks.  The
 * only early returns are on facts about public inputs (an invalid point
 * encoding) or the public output (the identity), as in libsodium.
 */
#include "crypto/r255.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "base/banned.h"

/* Signed window width of the scalar multiplication (chosen by bench_r255:
 * see docs/internals/crypto.md).  2^(W-1) precomputed multiples. */
#ifndef SR_R255_WINDOW
#define SR_R255_WINDOW 5
#endif
#define WINDOW SR_R255_WINDOW
#define TABLE_SIZE (1 << (WINDOW - 1))
/* Digits for a scalar below L < 2^253. */
#define DIGITS ((253 + WINDOW - 1) / WINDOW)

_Static_assert(WINDOW >= 3 && WINDOW <= 8, "window width 3..8");
/* The top window of n < 2^253 holds fewer than W-1 bits, so even with the
 * carry from below it stays under 2^(W-1) and carries nothing out. */
_Static_assert(253 - WINDOW * (DIGITS - 1) <= WINDOW - 2,
	       "the top digit of a reduced scalar needs no carry out");
_Static_assert(SR_R255_BYTES == crypto_core_ristretto255_BYTES &&
	       SR_R255_SCALARBYTES == crypto_scalarmult_ristretto255_SCALARBYTES &&
	       SR_R255_HASHBYTES == crypto_core_ristretto255_HASHBYTES,
	       "sizes as libsodium's ristretto255");

typedef unsigned __int128 u128;

#define MASK51 ((uint64_t)0x7ffffffffffffULL)

/* ---- field: GF(2^255 - 19), radix 2^51 --------------------------------- */

struct fe {
	uint64_t v[5];
};

#ifdef NDEBUG
#define FE_CHECK(f) ((void)0)
#else
/* Multiplication inputs must stay below 2^54 (see the top comment). */
#define FE_CHECK(f) assert((((f)->v[0] | (f)->v[1] | (f)->v[2] | \
			      (f)->v[3] | (f)->v[4]) >> 54) == 0)
#endif

static const struct fe FE_ZERO = { { 0, 0, 0, 0, 0 } };
static const struct fe FE_ONE = { { 1, 0, 0, 0, 0 } };
/* p - 1, i.e. -1 */
static const struct fe FE_MINUS_ONE = { { 0x7ffffffffffecULL, 0x7ffffffffffffULL,
	0x7ffffffffffffULL, 0x7ffffffffffffULL, 0x7ffffffffffffULL } };
/* d = -121665/121666 */
static const struct fe FE_D = { { 0x34dca135978a3ULL, 0x1a8283b156ebdULL,
	0x5e7a26001c029ULL, 0x739c663a03cbbULL, 0x52036cee2b6ffULL } };
/* 2d */
static const struct fe FE_D2 = { { 0x69b9426b2f159ULL, 0x35050762add7aULL,
	0x3cf44c0038052ULL, 0x6738cc7407977ULL, 0x2406d9dc56dffULL } };
/* RFC 9496 constants (4.1), values as given there:
 * SQRT_M1 = 196811613767075059568070793049885420154460665159238901627440210
 * 73123829784752 (the non-negative square root of -1) */
static const struct fe FE_SQRT_M1 = { { 0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL,
	0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL, 0x2b8324804fc1dULL } };
/* SQRT_AD_MINUS_ONE = sqrt(a*d - 1) */
static const struct fe FE_SQRT_AD_MINUS_ONE = { { 0x7f6a0497b2e1bULL,
	0x1836f0a97afd2ULL, 0x7d747f6be7638ULL, 0x456079e7e6498ULL,
	0x376931bf2b834ULL } };
/* INVSQRT_A_MINUS_D = 1/sqrt(a - d) */
static const struct fe FE_INVSQRT_A_MINUS_D = { { 0x0fdaa805d40eaULL,
	0x2eb482e57d339ULL, 0x007610274bc58ULL, 0x6510b613dc8ffULL,
	0x786c8905cfaffULL } };
/* ONE_MINUS_D_SQ = 1 - d^2 */
static const struct fe FE_ONE_MINUS_D_SQ = { { 0x409c1945fc176ULL,
	0x719abc6a1fc4fULL, 0x1c37f90b20684ULL, 0x06bccca55eedfULL,
	0x029072a8b2b3eULL } };
/* D_MINUS_ONE_SQ = (d - 1)^2 */
static const struct fe FE_D_MINUS_ONE_SQ = { { 0x55aaa44ed4d20ULL,
	0x59603c3332635ULL, 0x26d3baf4a7928ULL, 0x120a66e6997a9ULL,
	0x5968b37af66c2ULL } };

static inline void fe_add(struct fe *h, const struct fe *f, const struct fe *g)
{
	h->v[0] = f->v[0] + g->v[0];
	h->v[1] = f->v[1] + g->v[1];
	h->v[2] = f->v[2] + g->v[2];
	h->v[3] = f->v[3] + g->v[3];
	h->v[4] = f->v[4] + g->v[4];
}

/* h = f + 4p - g: no borrow for g limbs up to 2^53 - 76. */
static inline void fe_sub(struct fe *h, const struct fe *f, const struct fe *g)
{
	h->v[0] = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
	h->v[1] = f->v[1] + 0x1ffffffffffffcULL - g->v[1];
	h->v[2] = f->v[2] + 0x1ffffffffffffcULL - g->v[2];
	h->v[3] = f->v[3] + 0x1ffffffffffffcULL - g->v[3];
	h->v[4] = f->v[4] + 0x1ffffffffffffcULL - g->v[4];
}

static inline void fe_neg(struct fe *h, const struct fe *f)
{
	fe_sub(h, &FE_ZERO, f);
}

/* Carry once around: limbs below 2^63 become reduced. */
static inline void fe_carry(struct fe *h, const struct fe *f)
{
	uint64_t c0 = f->v[0] >> 51, c1 = f->v[1] >> 51, c2 = f->v[2] >> 51;
	uint64_t c3 = f->v[3] >> 51, c4 = f->v[4] >> 51;

	h->v[0] = (f->v[0] & MASK51) + 19 * c4;
	h->v[1] = (f->v[1] & MASK51) + c0;
	h->v[2] = (f->v[2] & MASK51) + c1;
	h->v[3] = (f->v[3] & MASK51) + c2;
	h->v[4] = (f->v[4] & MASK51) + c3;
}

/*
 * The five column sums r0..r4 (each < 2^115) of a product, carried into
 * reduced limbs: a serial 128-bit carry r0 -> r4, the top carry times 19
 * into limb 0 (below 2^64 for inputs under 2^54), one more step into 1.
 */
static inline void fe_carry_wide(struct fe *h, u128 r0, u128 r1, u128 r2,
				 u128 r3, u128 r4)
{
	uint64_t h0, h1, h2, h3, h4, c;

	r1 += (uint64_t)(r0 >> 51);
	h0 = (uint64_t)r0 & MASK51;
	r2 += (uint64_t)(r1 >> 51);
	h1 = (uint64_t)r1 & MASK51;
	r3 += (uint64_t)(r2 >> 51);
	h2 = (uint64_t)r2 & MASK51;
	r4 += (uint64_t)(r3 >> 51);
	h3 = (uint64_t)r3 & MASK51;
	c = (uint64_t)(r4 >> 51);
	h4 = (uint64_t)r4 & MASK51;
	h0 += 19 * c;
	h1 += h0 >> 51;
	h0 &= MASK51;
	h->v[0] = h0;
	h->v[1] = h1;
	h->v[2] = h2;
	h->v[3] = h3;
	h->v[4] = h4;
}

/*
 * The same carry in two parallel rounds instead of one serial chain: each
 * column's carry r_i >> 51 (< 2^64) goes to the next limb (the top one
 * times 19 into limb 0, still < 2^64 for inputs under 2^54), then one
 * 64-bit round brings every limb under 2^51 + 2^17.  More instructions,
 * shorter latency: used by fe_sq, whose long chains in the exponentiations
 * each wait for the previous result (about 10% faster there; no change in
 * the scalar multiplication, measured with bench_r255).
 */
static inline void fe_carry_wide_par(struct fe *h, u128 r0, u128 r1, u128 r2,
				     u128 r3, u128 r4)
{
	uint64_t h0, h1, h2, h3, h4;

	h0 = ((uint64_t)r0 & MASK51) + 19 * (uint64_t)(r4 >> 51);
	h1 = ((uint64_t)r1 & MASK51) + (uint64_t)(r0 >> 51);
	h2 = ((uint64_t)r2 & MASK51) + (uint64_t)(r1 >> 51);
	h3 = ((uint64_t)r3 & MASK51) + (uint64_t)(r2 >> 51);
	h4 = ((uint64_t)r4 & MASK51) + (uint64_t)(r3 >> 51);
	h->v[0] = (h0 & MASK51) + 19 * (h4 >> 51);
	h->v[1] = (h1 & MASK51) + (h0 >> 51);
	h->v[2] = (h2 & MASK51) + (h1 >> 51);
	h->v[3] = (h3 & MASK51) + (h2 >> 51);
	h->v[4] = (h4 & MASK51) + (h3 >> 51);
}

static inline void fe_mul(struct fe *h, const struct fe *f, const struct fe *g)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
	uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	u128 r0, r1, r2, r3, r4;

	FE_CHECK(f);
	FE_CHECK(g);
	/* x^5 = 19 (mod p, x = 2^51): the wrapped columns get a factor 19. */
	r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 +
	     (u128)f3 * g2_19 + (u128)f4 * g1_19;
	r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 +
	     (u128)f3 * g3_19 + (u128)f4 * g2_19;
	r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 +
	     (u128)f3 * g4_19 + (u128)f4 * g3_19;
	r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 +
	     (u128)f3 * g0 + (u128)f4 * g4_19;
	r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 +
	     (u128)f3 * g1 + (u128)f4 * g0;
	fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(struct fe *h, const struct fe *f)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3;
	uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
	u128 r0, r1, r2, r3, r4;

	FE_CHECK(f);
	r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)f2_2 * f3_19;
	r1 = (u128)f0_2 * f1 + (u128)f2_2 * f4_19 + (u128)f3 * f3_19;
	r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_2 * f4_19;
	r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
	r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
	fe_carry_wide_par(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^n), n >= 1 */
static void fe_sqn(struct fe *h, const struct fe *f, int n)
{
	fe_sq(h, f);
#pragma GCC unroll 4
	for (int i = 1; i < n; i++)
		fe_sq(h, h);
}

/* Little-endian 32 bytes; the top bit is ignored (RFC 7748 decoding). */
static void fe_frombytes(struct fe *h, const uint8_t s[32])
{
	uint64_t w[4];

	for (int i = 0; i < 4; i++) {
		w[i] = 0;
		for (int j = 7; j >= 0; j--)
			w[i] = (w[i] << 8) | s[8 * i + j];
	}
	h->v[0] = w[0] & MASK51;
	h->v[1] = ((w[0] >> 51) | (w[1] << 13)) & MASK51;
	h->v[2] = ((w[1] >> 38) | (w[2] << 26)) & MASK51;
	h->v[3] = ((w[2] >> 25) | (w[3] << 39)) & MASK51;
	h->v[4] = (w[3] >> 12) & MASK51;
}

/* The canonical encoding (value mod p, below p) of f (limbs < 2^63). */
static void fe_tobytes(uint8_t s[32], const struct fe *f)
{
	struct fe t;
	uint64_t q, w[4];

	fe_carry(&t, f);
	fe_carry(&t, &t);
	/* Now t < 2^255 + 2^14 < 2p, so t mod p = t - q p with
	 * q = 1 exactly when t + 19 reaches 2^255. */
	q = (t.v[0] + 19) >> 51;
	q = (t.v[1] + q) >> 51;
	q = (t.v[2] + q) >> 51;
	q = (t.v[3] + q) >> 51;
	q = (t.v[4] + q) >> 51;
	t.v[0] += 19 * q;
	t.v[1] += t.v[0] >> 51;
	t.v[0] &= MASK51;
	t.v[2] += t.v[1] >> 51;
	t.v[1] &= MASK51;
	t.v[3] += t.v[2] >> 51;
	t.v[2] &= MASK51;
	t.v[4] += t.v[3] >> 51;
	t.v[3] &= MASK51;
	t.v[4] &= MASK51;   /* drops the 2^255 of q p */
	w[0] = t.v[0] | (t.v[1] << 51);
	w[1] = (t.v[1] >> 13) | (t.v[2] << 38);
	w[2] = (t.v[2] >> 26) | (t.v[3] << 25);
	w[3] = (t.v[3] >> 39) | (t.v[4] << 12);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

/* All-ones if x == 0, else 0. */
static inline uint64_t ct_is_zero_mask(uint64_t x)
{
	return 0 - (((x | (0 - x)) >> 63) ^ 1);
}

/* 1 if the 32 bytes are all zero, else 0, without branching on them. */
static int bytes_is_zero(const uint8_t s[32])
{
	uint64_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= s[i];
	return (int)(ct_is_zero_mask(acc) & 1);
}

static int fe_is_zero(const struct fe *f)
{
	uint8_t s[32];

	fe_tobytes(s, f);
	return bytes_is_zero(s);
}

/* RFC 9496 IS_NEGATIVE: the canonical value is odd. */
static int fe_is_negative(const struct fe *f)
{
	uint8_t s[32];

	fe_tobytes(s, f);
	return s[0] & 1;
}

/* 1 if g's canonical encoding is a, else 0. */
static int fe_eq_bytes(const uint8_t a[32], const struct fe *g)
{
	uint8_t b[32];
	uint64_t acc = 0;

	fe_tobytes(b, g);
	for (int i = 0; i < 32; i++)
		acc |= (uint64_t)(a[i] ^ b[i]);
	return (int)(ct_is_zero_mask(acc) & 1);
}

/* h = g if bit else f (bit is 0 or 1); h may alias f or g. */
static inline void fe_select(struct fe *h, const struct fe *f,
			     const struct fe *g, int bit)
{
	uint64_t m = 0 - (uint64_t)bit;

	h->v[0] = f->v[0] ^ ((f->v[0] ^ g->v[0]) & m);
	h->v[1] = f->v[1] ^ ((f->v[1] ^ g->v[1]) & m);
	h->v[2] = f->v[2] ^ ((f->v[2] ^ g->v[2]) & m);
	h->v[3] = f->v[3] ^ ((f->v[3] ^ g->v[3]) & m);
	h->v[4] = f->v[4] ^ ((f->v[4] ^ g->v[4]) & m);
}

/* h = -f if bit else f, reduced (f limbs up to 2^53 - 76). */
static void fe_cneg(struct fe *h, const struct fe *f, int bit)
{
	struct fe n;

	fe_neg(&n, f);
	fe_select(h, f, &n, bit);
	fe_carry(h, h);
}

/* RFC 9496 CT_ABS */
static void fe_abs(struct fe *h, const struct fe *f)
{
	fe_cneg(h, f, fe_is_negative(f));
}

/* h = z^((p-5)/8) = z^(2^252 - 3): 251 squarings, 11 multiplications. */
static void fe_pow22523(struct fe *h, const struct fe *z)
{
	struct fe t0, t1, t2, t3;

	fe_sq(&t0, z);              /* z^2 */
	fe_sqn(&t1, &t0, 2);        /* z^8 */
	fe_mul(&t1, z, &t1);        /* z^9 */
	fe_mul(&t0, &t0, &t1);      /* z^11 */
	fe_sq(&t0, &t0);            /* z^22 */
	fe_mul(&t0, &t1, &t0);      /* z^31 = z^(2^5 - 1) */
	fe_sqn(&t1, &t0, 5);
	fe_mul(&t1, &t1, &t0);      /* z^(2^10 - 1) */
	fe_sqn(&t2, &t1, 10);
	fe_mul(&t2, &t2, &t1);      /* z^(2^20 - 1) */
	fe_sqn(&t3, &t2, 20);
	fe_mul(&t3, &t3, &t2);      /* z^(2^40 - 1) */
	fe_sqn(&t3, &t3, 10);
	fe_mul(&t1, &t3, &t1);      /* z^(2^50 - 1) */
	fe_sqn(&t2, &t1, 50);
	fe_mul(&t2, &t2, &t1);      /* z^(2^100 - 1) */
	fe_sqn(&t3, &t2, 100);
	fe_mul(&t3, &t3, &t2);      /* z^(2^200 - 1) */
	fe_sqn(&t3, &t3, 50);
	fe_mul(&t3, &t3, &t1);      /* z^(2^250 - 1) */
	fe_sqn(&t3, &t3, 2);        /* z^(2^252 - 4) */
	fe_mul(h, &t3, z);          /* z^(2^252 - 3) */
}

/*
 * RFC 9496 SQRT_RATIO_M1: r = CT_ABS(sqrt(u/v)) and 1 if u/v is a square
 * (or u = 0); otherwise r = CT_ABS(sqrt(SQRT_M1 * u/v)) and 0.
 */
static int fe_sqrt_ratio_m1(struct fe *r, const struct fe *u, const struct fe *v)
{
	struct fe v3, v7, t, check, neg_u, neg_u_i, r_i;
	uint8_t check_bytes[32];
	int correct, flipped, flipped_i;

	fe_sq(&v3, v);
	fe_mul(&v3, &v3, v);        /* v^3 */
	fe_sq(&v7, &v3);
	fe_mul(&v7, &v7, v);        /* v^7 */
	fe_mul(&t, u, &v7);
	fe_pow22523(&t, &t);        /* (u v^7)^((p-5)/8) */
	fe_mul(&t, &t, &v3);
	fe_mul(r, &t, u);           /* u v^3 (u v^7)^((p-5)/8) */
	fe_sq(&check, r);
	fe_mul(&check, &check, v);  /* v r^2 */
	fe_neg(&neg_u, u);
	fe_mul(&neg_u_i, &neg_u, &FE_SQRT_M1);
	fe_tobytes(check_bytes, &check);
	correct = fe_eq_bytes(check_bytes, u);
	flipped = fe_eq_bytes(check_bytes, &neg_u);
	flipped_i = fe_eq_bytes(check_bytes, &neg_u_i);
	fe_mul(&r_i, r, &FE_SQRT_M1);
	fe_select(r, r, &r_i, flipped | flipped_i);
	fe_abs(r, r);
	return correct | flipped;
}

/* ---- curve: extended twisted Edwards coordinates, a = -1 --------------- */

/* (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z */
struct ge_p3 {
	struct fe X, Y, Z, T;
};

/* (X:Y:Z), T not kept: enough to double */
struct ge_p2 {
	struct fe X, Y, Z;
};

/* completed: x = X/Z, y = Y/T; the output of dbl and add */
struct ge_p1p1 {
	struct fe X, Y, Z, T;
};

/* an addend, prepared: (Y+X, Y-X, 2Z, 2dT) */
struct ge_cached {
	struct fe YplusX, YminusX, Z2, T2d;
};

static void ge_p3_identity(struct ge_p3 *p)
{
	p->X = FE_ZERO;
	p->Y = FE_ONE;
	p->Z = FE_ONE;
	p->T = FE_ZERO;
}

static void ge_p1p1_to_p2(struct ge_p2 *r, const struct ge_p1p1 *p)
{
	fe_mul(&r->X, &p->X, &p->T);
	fe_mul(&r->Y, &p->Y, &p->Z);
	fe_mul(&r->Z, &p->Z, &p->T);
}

static void ge_p1p1_to_p3(struct ge_p3 *r, const struct ge_p1p1 *p)
{
	fe_mul(&r->X, &p->X, &p->T);
	fe_mul(&r->Y, &p->Y, &p->Z);
	fe_mul(&r->Z, &p->Z, &p->T);
	fe_mul(&r->T, &p->X, &p->Y);
}

static void ge_p3_to_p2(struct ge_p2 *r, const struct ge_p3 *p)
{
	r->X = p->X;
	r->Y = p->Y;
	r->Z = p->Z;
}

/* Bounds: Y+X, 2Z < 2^52.1; Y-X < 2^53.4. */
static void ge_p3_to_cached(struct ge_cached *c, const struct ge_p3 *p)
{
	fe_add(&c->YplusX, &p->Y, &p->X);
	fe_sub(&c->YminusX, &p->Y, &p->X);
	fe_add(&c->Z2, &p->Z, &p->Z);
	fe_mul(&c->T2d, &p->T, &FE_D2);
}

/*
 * r = 2p (dbl-2008-hwcd, a = -1): A = X^2, B = Y^2, C = 2Z^2,
 * E = (X+Y)^2 - A - B, G = B - A, F = G - C, H = -A - B; the result is
 * x = E/G, y = H/F.  4 squarings.  Every output limb < 2^53.4.
 */
static void ge_dbl(struct ge_p1p1 *r, const struct ge_p2 *p)
{
	struct fe a, b, c, s, ab, ac;

	fe_sq(&a, &p->X);
	fe_sq(&b, &p->Y);
	fe_sq(&c, &p->Z);
	fe_add(&c, &c, &c);         /* < 2^52.1 */
	fe_add(&s, &p->X, &p->Y);
	fe_sq(&s, &s);
	fe_add(&ab, &a, &b);        /* < 2^52.1 */
	fe_add(&ac, &a, &c);        /* < 2^52.7 */
	fe_sub(&r->X, &s, &ab);     /* E */
	fe_neg(&r->Y, &ab);         /* H */
	fe_sub(&r->Z, &b, &a);      /* G */
	fe_sub(&r->T, &b, &ac);     /* F = B - A - C */
}

/*
 * r = p + q (add-2008-hwcd-3, a = -1, k = 2d): A = (Y1-X1)(Y2-X2),
 * B = (Y1+X1)(Y2+X2), C = T1 2d T2, D = Z1 2 Z2, E = B - A, F = D - C,
 * G = D + C, H = B + A; the result is x = E/G, y = H/F.  4 multiplications.
 * Complete: also right for p = q, p = -q and the identity.
 */
static void ge_add(struct ge_p1p1 *r, const struct ge_p3 *p,
		   const struct ge_cached *q)
{
	struct fe a, b, c, d, t;

	fe_sub(&t, &p->Y, &p->X);
	fe_mul(&a, &t, &q->YminusX);
	fe_add(&t, &p->Y, &p->X);
	fe_mul(&b, &t, &q->YplusX);
	fe_mul(&c, &p->T, &q->T2d);
	fe_mul(&d, &p->Z, &q->Z2);
	fe_sub(&r->X, &b, &a);      /* E */
	fe_add(&r->Y, &b, &a);      /* H */
	fe_add(&r->Z, &d, &c);      /* G */
	fe_sub(&r->T, &d, &c);      /* F */
}

/* ---- scalars ------------------------------------------------------------ */

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint64_t SC_L[4] = {
	0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL, 0, 0x1000000000000000ULL
};

/*
 * n = (s with bit 255 cleared) mod L.  n < 2^255 < 8L, so three masked
 * conditional subtractions of 4L, 2L and L reduce it fully.
 */
static void sc_reduce(uint64_t n[4], const uint8_t s[32])
{
	for (int i = 0; i < 4; i++) {
		n[i] = 0;
		for (int j = 7; j >= 0; j--)
			n[i] = (n[i] << 8) | s[8 * i + j];
	}
	n[3] &= 0x7fffffffffffffffULL;
	for (int shift = 2; shift >= 0; shift--) {
		uint64_t kl[4], t[4], borrow = 0, keep;
		kl[0] = SC_L[0] << shift;
		kl[1] = (SC_L[1] << shift) | (shift ? SC_L[0] >> (64 - shift) : 0);
		kl[2] = shift ? SC_L[1] >> (64 - shift) : 0;
		kl[3] = SC_L[3] << shift;
		for (int i = 0; i < 4; i++) {
			u128 d = (u128)n[i] - kl[i] - borrow;
			t[i] = (uint64_t)d;
			borrow = (uint64_t)(d >> 64) & 1;
		}
		keep = 0 - borrow;     /* all-ones: n < kL, keep n */
		for (int i = 0; i < 4; i++)
			n[i] = (n[i] & keep) | (t[i] & ~keep);
	}
}

/*
 * Signed digits e[0..DIGITS) in [-2^(W-1), 2^(W-1)) with
 * n = sum e[i] 2^(W i): each W-bit window plus the carry of the previous
 * one, minus 2^W (and a carry) when it reaches 2^(W-1).  Arithmetic only.
 */
static void sc_recode(int8_t e[DIGITS], const uint8_t scalar[32])
{
	uint64_t n[5];
	uint32_t carry = 0;

	sc_reduce(n, scalar);
	n[4] = 0;
	for (int i = 0; i < DIGITS; i++) {
		int bit = WINDOW * i, limb = bit / 64, off = bit % 64;
		uint64_t w = n[limb] >> off;
		uint32_t v;
		if (off + WINDOW > 64)   /* public: depends on i only */
			w |= n[limb + 1] << (64 - off);
		v = (uint32_t)(w & ((1u << WINDOW) - 1)) + carry;
		carry = (v + (1u << (WINDOW - 1))) >> WINDOW;
		e[i] = (int8_t)((int32_t)v - (int32_t)(carry << WINDOW));
	}
	sodium_memzero(n, sizeof(n));
}

/* ---- scalar multiplication ---------------------------------------------- */

/* t[i] = (i+1) p for i < TABLE_SIZE: doublings for even multiples. */
static void table_build(struct ge_cached t[TABLE_SIZE], const struct ge_p3 *p)
{
	struct ge_p3 m[TABLE_SIZE];
	struct ge_p1p1 r;
	struct ge_p2 q;

	m[0] = *p;
	ge_p3_to_cached(&t[0], p);
	for (int i = 1; i < TABLE_SIZE; i++) {
		int k = i + 1;      /* computing k p */
		if (k % 2 == 0) {
			ge_p3_to_p2(&q, &m[k / 2 - 1]);
			ge_dbl(&r, &q);
		} else {
			ge_add(&r, &m[k - 2], &t[0]);
		}
		ge_p1p1_to_p3(&m[i], &r);
		ge_p3_to_cached(&t[i], &m[i]);
	}
}

/* Two limbs; GCC's generic vectors become SSE2 on x86-64, pairs elsewhere. */
typedef uint64_t limb2 __attribute__((vector_size(16)));

/*
 * c = e p, e in [-TABLE_SIZE, TABLE_SIZE], from t[i] = (i+1) p: every
 * entry is read and ORed in under a mask that is all-ones for the wanted
 * one only (none for e = 0, which gives the identity), then the sign is
 * applied by a masked swap of Y+X and Y-X and a masked negation of 2dT.
 */
static void table_select(struct ge_cached *c,
			 const struct ge_cached t[TABLE_SIZE], int8_t e)
{
	uint32_t u = (uint32_t)(int32_t)e;
	uint32_t neg = u >> 31;
	uint32_t abs = (u ^ (0u - neg)) + neg;
	limb2 acc[10] = { 0 };
	uint64_t m, none;
	struct fe negT;

	_Static_assert(sizeof(struct ge_cached) == 20 * sizeof(uint64_t),
		       "cached point = 20 limbs");
	for (int i = 0; i < TABLE_SIZE; i++) {
		limb2 mv;
		m = ct_is_zero_mask((uint64_t)(abs ^ (uint32_t)(i + 1)));
		mv = (limb2){ m, m };
		/* Unrolled so that the ten accumulators stay in registers. */
#pragma GCC unroll 10
		for (int j = 0; j < 10; j++) {
			limb2 x;
			memcpy(&x, (const uint8_t *)&t[i] + 16 * j, 16);
			acc[j] |= x & mv;
		}
	}
	memcpy(c, acc, sizeof(*c));
	/* e = 0: the identity (Y+X, Y-X, 2Z, 2dT) = (1, 1, 2, 0). */
	none = ct_is_zero_mask(abs);
	c->YplusX.v[0] |= none & 1;
	c->YminusX.v[0] |= none & 1;
	c->Z2.v[0] |= none & 2;
	m = 0 - (uint64_t)neg;
	for (int j = 0; j < 5; j++) {
		uint64_t x = (c->YplusX.v[j] ^ c->YminusX.v[j]) & m;
		c->YplusX.v[j] ^= x;
		c->YminusX.v[j] ^= x;
	}
	fe_neg(&negT, &c->T2d);
	fe_select(&c->T2d, &c->T2d, &negT, (int)neg);
}

/*
 * r = n p with the digits of n: from the top digit down, W doublings and
 * one addition of a table entry per digit.  Constant time in the digits.
 * The table, the selected entries and the running sum are left on the
 * stack for the caller's scrub_stack (see the public functions).
 */
static void ge_scalarmult(struct ge_p3 *r, const int8_t e[DIGITS],
			  const struct ge_p3 *p)
{
	struct ge_cached t[TABLE_SIZE], c;
	struct ge_p1p1 s;
	struct ge_p2 q;
	struct ge_p3 acc;

	table_build(t, p);
	ge_p3_identity(&acc);
	table_select(&c, t, e[DIGITS - 1]);
	ge_add(&s, &acc, &c);
	for (int i = DIGITS - 2; i >= 0; i--) {
		for (int k = 0; k < WINDOW; k++) {
			ge_p1p1_to_p2(&q, &s);
			ge_dbl(&s, &q);
		}
		ge_p1p1_to_p3(&acc, &s);
		table_select(&c, t, e[i]);
		ge_add(&s, &acc, &c);
	}
	ge_p1p1_to_p3(r, &s);
}

/* ---- ristretto255 (RFC 9496 section 4.3) -------------------------------- */

/*
 * Decode (4.3.1).  Returns 1 and p, or 0.  As libsodium 1.0.18 does, bit
 * 255 of the encoding is ignored; the other 255 bits must be a canonical
 * (below p), non-negative s that passes the square and sign checks.
 */
static int r255_decode(struct ge_p3 *p, const uint8_t in[32])
{
	uint8_t low[32], canon[32];
	struct fe s, ss, u1, u2, u2_sq, v, t, inv, den_x, den_y;
	uint64_t diff = 0;
	int canonical, was_square;

	memcpy(low, in, 32);
	low[31] &= 0x7f;
	fe_frombytes(&s, low);
	fe_tobytes(canon, &s);
	for (int i = 0; i < 32; i++)
		diff |= (uint64_t)(canon[i] ^ low[i]);
	canonical = (int)(ct_is_zero_mask(diff) & 1);

	fe_sq(&ss, &s);
	fe_sub(&u1, &FE_ONE, &ss);          /* 1 - s^2 */
	fe_add(&u2, &FE_ONE, &ss);          /* 1 + s^2 */
	fe_sq(&u2_sq, &u2);
	fe_sq(&t, &u1);
	fe_mul(&t, &t, &FE_D);
	fe_add(&t, &t, &u2_sq);
	fe_neg(&v, &t);                     /* -(d u1^2) - u2^2, < 2^53 */
	fe_mul(&t, &v, &u2_sq);
	was_square = fe_sqrt_ratio_m1(&inv, &FE_ONE, &t);
	fe_mul(&den_x, &inv, &u2);
	fe_mul(&den_y, &inv, &den_x);
	fe_mul(&den_y, &den_y, &v);
	fe_add(&t, &s, &s);
	fe_mul(&t, &t, &den_x);
	fe_abs(&p->X, &t);                  /* x = |2 s den_x| */
	fe_mul(&p->Y, &u1, &den_y);         /* y = u1 den_y */
	p->Z = FE_ONE;
	fe_mul(&p->T, &p->X, &p->Y);
	return canonical & (1 - (low[0] & 1)) & was_square &
	       (1 - fe_is_negative(&p->T)) & (1 - fe_is_zero(&p->Y));
}

/* Encode (4.3.2): the canonical s of p's class. */
static void r255_encode(uint8_t out[32], const struct ge_p3 *p)
{
	struct fe u1, u2, t, inv, den1, den2, z_inv, ix, iy, ench, x, y, den_inv;
	int rotate;

	fe_add(&t, &p->Z, &p->Y);
	fe_sub(&u1, &p->Z, &p->Y);
	fe_mul(&u1, &t, &u1);               /* (Z+Y)(Z-Y) */
	fe_mul(&u2, &p->X, &p->Y);
	fe_sq(&t, &u2);
	fe_mul(&t, &t, &u1);
	(void)fe_sqrt_ratio_m1(&inv, &FE_ONE, &t);
	fe_mul(&den1, &inv, &u1);
	fe_mul(&den2, &inv, &u2);
	fe_mul(&z_inv, &den1, &den2);
	fe_mul(&z_inv, &z_inv, &p->T);
	fe_mul(&ix, &p->X, &FE_SQRT_M1);
	fe_mul(&iy, &p->Y, &FE_SQRT_M1);
	fe_mul(&ench, &den1, &FE_INVSQRT_A_MINUS_D);
	fe_mul(&t, &p->T, &z_inv);
	rotate = fe_is_negative(&t);
	fe_select(&x, &p->X, &iy, rotate);
	fe_select(&y, &p->Y, &ix, rotate);
	fe_select(&den_inv, &den2, &ench, rotate);
	fe_mul(&t, &x, &z_inv);
	fe_cneg(&y, &y, fe_is_negative(&t));
	fe_sub(&t, &p->Z, &y);
	fe_mul(&t, &den_inv, &t);
	fe_abs(&t, &t);
	fe_tobytes(out, &t);
}

/* The one-way map of one field element (4.3.4, MAP). */
static void r255_map(struct ge_p3 *p, const struct fe *t)
{
	struct fe r, u, v, a, b, s, s_prime, c, n, w0, w1, w2, w3;
	int was_square;

	fe_sq(&r, t);
	fe_mul(&r, &r, &FE_SQRT_M1);        /* r = SQRT_M1 t^2 */
	fe_add(&u, &r, &FE_ONE);
	fe_mul(&u, &u, &FE_ONE_MINUS_D_SQ); /* u = (r + 1) ONE_MINUS_D_SQ */
	fe_mul(&a, &r, &FE_D);
	fe_add(&a, &a, &FE_ONE);
	fe_neg(&a, &a);                     /* -1 - r d */
	fe_add(&b, &r, &FE_D);
	fe_mul(&v, &a, &b);                 /* v = (-1 - r d)(r + d) */
	was_square = fe_sqrt_ratio_m1(&s, &u, &v);
	fe_mul(&s_prime, &s, t);
	fe_abs(&s_prime, &s_prime);
	fe_neg(&s_prime, &s_prime);         /* -|s t|, < 2^53 */
	fe_select(&s, &s_prime, &s, was_square);
	fe_select(&c, &r, &FE_MINUS_ONE, was_square);
	fe_sub(&a, &r, &FE_ONE);
	fe_mul(&n, &c, &a);
	fe_mul(&n, &n, &FE_D_MINUS_ONE_SQ);
	fe_sub(&n, &n, &v);                 /* N = c (r - 1) D_MINUS_ONE_SQ - v */
	fe_mul(&w0, &s, &v);
	fe_add(&w0, &w0, &w0);              /* 2 s v */
	fe_mul(&w1, &n, &FE_SQRT_AD_MINUS_ONE);
	fe_sq(&a, &s);
	fe_sub(&w2, &FE_ONE, &a);           /* 1 - s^2 */
	fe_add(&w3, &FE_ONE, &a);           /* 1 + s^2 */
	fe_mul(&p->X, &w0, &w3);
	fe_mul(&p->Y, &w2, &w1);
	fe_mul(&p->Z, &w1, &w3);
	fe_mul(&p->T, &w0, &w2);
}

/* map(first half) + map(second half), each with its top bit cleared. */
static void r255_from_hash(struct ge_p3 *p, const uint8_t hash[64])
{
	struct fe t;
	struct ge_p3 p1, p2;
	struct ge_cached c;
	struct ge_p1p1 s;

	fe_frombytes(&t, hash);
	r255_map(&p1, &t);
	fe_frombytes(&t, hash + 32);
	r255_map(&p2, &t);
	ge_p3_to_cached(&c, &p2);
	ge_add(&s, &p1, &c);
	ge_p1p1_to_p3(p, &s);
}

/* out = encode(n p); SR_ECRYPTO for the identity (all-zero encoding). */
static int mul_encode(uint8_t out[32], const uint8_t scalar[32],
		      const struct ge_p3 *p)
{
	int8_t e[DIGITS];
	struct ge_p3 q;

	sc_recode(e, scalar);
	ge_scalarmult(&q, e, p);
	r255_encode(out, &q);
	return bytes_is_zero(out) ? SR_ECRYPTO : SR_OK;
}

/*
 * The public functions below run their work in a noinline helper and then
 * overwrite the stack that helper used: the scalar's digits, the table of
 * multiples, the running sum and the hashed point (which lets one test
 * guesses of the key) are spread over many frames, and one wipe of the
 * whole region is simpler and cheaper than a wipe in every function.  The
 * deepest helper uses about 7 KiB at -O2 (gcc -fstack-usage), so 16 KiB
 * leaves room for other compilers and options; it costs about 1% of a
 * multiplication.
 */
#define SCRUB_BYTES 16384

static __attribute__((noinline)) void scrub_stack(void)
{
	uint8_t region[SCRUB_BYTES];

	sodium_memzero(region, sizeof(region));
}

static __attribute__((noinline)) int mul_work(uint8_t out[32],
					      const uint8_t scalar[32],
					      const uint8_t point[32])
{
	struct ge_p3 p;

	if (!r255_decode(&p, point))
		return SR_EINVAL;
	return mul_encode(out, scalar, &p);
}

static __attribute__((noinline)) int hash_mul_work(uint8_t out[32],
						   const uint8_t scalar[32],
						   const uint8_t hash[64])
{
	struct ge_p3 p;

	r255_from_hash(&p, hash);
	return mul_encode(out, scalar, &p);
}

static __attribute__((noinline)) void from_hash_work(uint8_t out[32],
						     const uint8_t hash[64])
{
	struct ge_p3 p;

	r255_from_hash(&p, hash);
	r255_encode(out, &p);
}

/* out untouched on SR_EINVAL, zero on SR_ECRYPTO (r255.h). */
int sr_r255_mul(uint8_t out[SR_R255_BYTES],
		const uint8_t scalar[SR_R255_SCALARBYTES],
		const uint8_t point[SR_R255_BYTES])
{
	int rc = mul_work(out, scalar, point);

	scrub_stack();
	return rc;
}

/* out is zero on SR_ECRYPTO (r255.h). */
int sr_r255_hash_mul(uint8_t out[SR_R255_BYTES],
		     const uint8_t scalar[SR_R255_SCALARBYTES],
		     const uint8_t hash[SR_R255_HASHBYTES])
{
	int rc = hash_mul_work(out, scalar, hash);

	scrub_stack();
	return rc;
}

/* Always succeeds (r255.h). */
void sr_r255_from_hash(uint8_t out[SR_R255_BYTES],
		       const uint8_t hash[SR_R255_HASHBYTES])
{
	from_hash_work(out, hash);
	scrub_stack();
}

/* Public input, nothing to wipe (r255.h). */
int sr_r255_is_valid_point(const uint8_t p[SR_R255_BYTES])
{
	struct ge_p3 q;

	return r255_decode(&q, p);
}

/* The digest is secret as the message (r255.h). */
void sr_r255_h2g_digest(const struct sr_h2g *h, const void *msg, size_t len,
			uint8_t digest[SR_R255_HASHBYTES])
{
	crypto_generichash_blake2b_state st = h->prefix;

	/* The same absorption as sr_h2g_hash (crypto.c), up to the map. */
	if (len)
		crypto_generichash_blake2b_update(&st, msg, len);
	crypto_generichash_blake2b_final(&st, digest, SR_R255_HASHBYTES);
	sodium_memzero(&st, sizeof(st));
}
