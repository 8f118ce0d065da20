/*
 * mont.c - Montgomery multiplication modulo an odd N in radix 2^52: the
 * word-by-word (operand scanning) algorithm with lazy carries, on
 * AVX-512 IFMA (vpmadd52luq/vpmadd52huq: 8 products of 52-bit limbs per
 * instruction) where the CPU has it, and a portable kernel with the same
 * steps on unsigned __int128 elsewhere.  Both give the same limbs.
 *
 * Step i adds a·b_i and m·N, with m chosen so that the lowest limb
 * becomes 0 mod 2^52, then drops that limb.  The 52-bit halves of every
 * product go into 64-bit accumulators without carrying: each accumulator
 * takes at most 4 halves per step (< 4·2^52) for at most `limbs` steps,
 * below 2^61 for 160 limbs, so carries wait until the end.
 */
#include "he/mont.h"

#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"

#include "base/banned.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HE_MONT_IFMA 1
#include <immintrin.h>
#endif

#define M52 ((UINT64_C(1) << 52) - 1)

typedef void (*amm_fn)(uint64_t *out, const uint64_t *a, const uint64_t *b,
		       const uint64_t *n, uint64_t k0);

/* Carry an accumulator of `limbs` 64-bit limbs into 52-bit limbs. */
static void normalize(uint64_t *out, const uint64_t *acc, unsigned limbs)
{
	uint64_t c = 0;

	for (unsigned k = 0; k < limbs; k++) {
		uint64_t x = acc[k] + c;

		out[k] = x & M52;
		c = x >> 52;
	}
}

/* ---- portable kernel ---------------------------------------------------- */

static void amm_portable(uint64_t *out, const uint64_t *a, const uint64_t *b,
			 const uint64_t *n, uint64_t k0, unsigned limbs)
{
	uint64_t acc[HE_MONT_MAX_LIMBS] = { 0 };
	uint64_t hi_a[HE_MONT_MAX_LIMBS], hi_n[HE_MONT_MAX_LIMBS];

	for (unsigned i = 0; i < limbs; i++) {
		uint64_t bi = b[i], mi, carry;

		for (unsigned k = 0; k < limbs; k++) {
			unsigned __int128 p = (unsigned __int128)a[k] * bi;

			acc[k] += (uint64_t)p & M52;
			hi_a[k] = (uint64_t)(p >> 52);
		}
		mi = (acc[0] * k0) & M52;
		for (unsigned k = 0; k < limbs; k++) {
			unsigned __int128 p = (unsigned __int128)n[k] * mi;

			acc[k] += (uint64_t)p & M52;
			hi_n[k] = (uint64_t)(p >> 52);
		}
		/* acc[0] ≡ 0 mod 2^52: drop it, keeping its carry. */
		carry = acc[0] >> 52;
		memmove(acc, acc + 1, (limbs - 1) * sizeof(acc[0]));
		acc[limbs - 1] = 0;
		acc[0] += carry;
		/* The high halves weigh one limb more: after the shift, limb k. */
		for (unsigned k = 0; k < limbs; k++)
			acc[k] += hi_a[k] + hi_n[k];
	}
	normalize(out, acc, limbs);
	sodium_memzero(acc, sizeof(acc));
	sodium_memzero(hi_a, sizeof(hi_a));
	sodium_memzero(hi_n, sizeof(hi_n));
}

/* ---- AVX-512 IFMA kernel ------------------------------------------------ */

#ifdef HE_MONT_IFMA
/*
 * The same steps with the accumulator in L registers of 8 limbs.  The
 * step's m comes from scalar arithmetic on limb 0 (t0 + lo(a_0·b_i)), so
 * the vector multiplications of a step do not wait on each other.
 */
#define AMM_IFMA(L)                                                            \
	__attribute__((target("avx512f,avx512ifma"), optimize("O3")))          \
	static void amm_ifma_##L(uint64_t *out, const uint64_t *a,            \
				 const uint64_t *b, const uint64_t *n,         \
				 uint64_t k0)                                  \
	{                                                                      \
		__m512i acc[L];                                                \
		__m512i av[L], nv[L];                                          \
		const __m512i zero = _mm512_setzero_si512();                   \
		const uint64_t a0 = a[0], n0 = n[0];                           \
                                                                               \
		_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)           \
		{                                                              \
			acc[v] = zero;                                         \
			av[v] = _mm512_loadu_si512(a + 8 * v);                 \
			nv[v] = _mm512_loadu_si512(n + 8 * v);                 \
		}                                                              \
		for (int i = 0; i < 8 * L; i++) {                              \
			const uint64_t bs = b[i];                              \
			const __m512i bi = _mm512_set1_epi64((long long)bs);   \
			uint64_t t0 = (uint64_t)_mm_cvtsi128_si64(             \
				_mm512_castsi512_si128(acc[0]));               \
			uint64_t ms, carry;                                    \
			__m512i mv;                                            \
                                                                               \
			t0 += (a0 * bs) & M52;                                 \
			ms = (t0 * k0) & M52;                                  \
			carry = (t0 + ((ms * n0) & M52)) >> 52;                \
			mv = _mm512_set1_epi64((long long)ms);                 \
			_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)   \
				acc[v] = _mm512_madd52lo_epu64(acc[v], av[v], bi); \
			_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)   \
				acc[v] = _mm512_madd52lo_epu64(acc[v], nv[v], mv); \
			_Pragma("GCC unroll 20") for (int v = 0; v < L - 1; v++) \
				acc[v] = _mm512_alignr_epi64(acc[v + 1], acc[v], 1); \
			acc[L - 1] = _mm512_alignr_epi64(zero, acc[L - 1], 1); \
			acc[0] = _mm512_mask_add_epi64(                        \
				acc[0], 1, acc[0],                             \
				_mm512_set1_epi64((long long)carry));          \
			_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)   \
				acc[v] = _mm512_madd52hi_epu64(acc[v], av[v], bi); \
			_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)   \
				acc[v] = _mm512_madd52hi_epu64(acc[v], nv[v], mv); \
		}                                                              \
		/* a and b are read: out may be one of them. */               \
		_Pragma("GCC unroll 20") for (int v = 0; v < L; v++)           \
			_mm512_storeu_si512(out + 8 * v, acc[v]);              \
		normalize(out, out, 8 * L);                                    \
	}

AMM_IFMA(1)
AMM_IFMA(2)
AMM_IFMA(3)
AMM_IFMA(4)
AMM_IFMA(5)
AMM_IFMA(6)
AMM_IFMA(7)
AMM_IFMA(8)
AMM_IFMA(9)
AMM_IFMA(10)
AMM_IFMA(11)
AMM_IFMA(12)
AMM_IFMA(13)
AMM_IFMA(14)
AMM_IFMA(15)
AMM_IFMA(16)
AMM_IFMA(17)
AMM_IFMA(18)
AMM_IFMA(19)
AMM_IFMA(20)

/*
 * Two products under two moduli of the same size, interleaved: at 2048
 * bits one product's steps wait on each other (the step's m), and the
 * other's fill the gaps.  The operands are read from memory (the
 * registers hold the two accumulators).
 */
typedef void (*amm2_fn)(uint64_t *out1, const uint64_t *a1, const uint64_t *b1,
			const uint64_t *n1, uint64_t k1, uint64_t *out2,
			const uint64_t *a2, const uint64_t *b2,
			const uint64_t *n2, uint64_t k2);

#define AMM2_STEP(L, acc, a, n, bs, k0)                                           \
	do {                                                                   \
		const __m512i bi = _mm512_set1_epi64((long long)(bs));         \
		uint64_t t0 = (uint64_t)_mm_cvtsi128_si64(                     \
			_mm512_castsi512_si128(acc[0]));                       \
		uint64_t ms, carry;                                            \
		__m512i mv;                                                    \
                                                                               \
		t0 += (a[0] * (bs)) & M52;                                     \
		ms = (t0 * (k0)) & M52;                                        \
		carry = (t0 + ((ms * n[0]) & M52)) >> 52;                      \
		mv = _mm512_set1_epi64((long long)ms);                         \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++)           \
			acc[v] = _mm512_madd52lo_epu64(                        \
				acc[v], _mm512_loadu_si512(a + 8 * v), bi);    \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++)           \
			acc[v] = _mm512_madd52lo_epu64(                        \
				acc[v], _mm512_loadu_si512(n + 8 * v), mv);    \
		_Pragma("GCC unroll 10") for (int v = 0; v < L - 1; v++)       \
			acc[v] = _mm512_alignr_epi64(acc[v + 1], acc[v], 1);   \
		acc[L - 1] = _mm512_alignr_epi64(zero, acc[L - 1], 1);         \
		acc[0] = _mm512_mask_add_epi64(                                \
			acc[0], 1, acc[0], _mm512_set1_epi64((long long)carry)); \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++)           \
			acc[v] = _mm512_madd52hi_epu64(                        \
				acc[v], _mm512_loadu_si512(a + 8 * v), bi);    \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++)           \
			acc[v] = _mm512_madd52hi_epu64(                        \
				acc[v], _mm512_loadu_si512(n + 8 * v), mv);    \
	} while (0)

#define AMM2_IFMA(L)                                                           \
	__attribute__((target("avx512f,avx512ifma"), optimize("O3")))          \
	static void amm2_ifma_##L(uint64_t *out1, const uint64_t *a1,         \
				  const uint64_t *b1, const uint64_t *n1,      \
				  uint64_t k1, uint64_t *out2,                 \
				  const uint64_t *a2, const uint64_t *b2,      \
				  const uint64_t *n2, uint64_t k2)             \
	{                                                                      \
		__m512i x[L], y[L];                                            \
		const __m512i zero = _mm512_setzero_si512();                   \
                                                                               \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++)           \
			x[v] = y[v] = zero;                                    \
		for (int i = 0; i < 8 * L; i++) {                              \
			AMM2_STEP(L, x, a1, n1, b1[i], k1);                       \
			AMM2_STEP(L, y, a2, n2, b2[i], k2);                       \
		}                                                              \
		_Pragma("GCC unroll 10") for (int v = 0; v < L; v++) {         \
			_mm512_storeu_si512(out1 + 8 * v, x[v]);               \
			_mm512_storeu_si512(out2 + 8 * v, y[v]);               \
		}                                                              \
		normalize(out1, out1, 8 * L);                                  \
		normalize(out2, out2, 8 * L);                                  \
	}

#define HE_MONT2_MAX_VECS 10u
AMM2_IFMA(1)
AMM2_IFMA(2)
AMM2_IFMA(3)
AMM2_IFMA(4)
AMM2_IFMA(5)
AMM2_IFMA(6)
AMM2_IFMA(7)
AMM2_IFMA(8)
AMM2_IFMA(9)
AMM2_IFMA(10)

static const amm2_fn ifma2_kernels[HE_MONT2_MAX_VECS + 1] = {
	NULL, amm2_ifma_1, amm2_ifma_2, amm2_ifma_3, amm2_ifma_4, amm2_ifma_5,
	amm2_ifma_6, amm2_ifma_7, amm2_ifma_8, amm2_ifma_9, amm2_ifma_10,
};

static const amm_fn ifma_kernels[HE_MONT_MAX_VECS + 1] = {
	NULL, amm_ifma_1, amm_ifma_2, amm_ifma_3, amm_ifma_4, amm_ifma_5,
	amm_ifma_6, amm_ifma_7, amm_ifma_8, amm_ifma_9, amm_ifma_10,
	amm_ifma_11, amm_ifma_12, amm_ifma_13, amm_ifma_14, amm_ifma_15,
	amm_ifma_16, amm_ifma_17, amm_ifma_18, amm_ifma_19, amm_ifma_20,
};
#endif

/* ---- dispatch ----------------------------------------------------------- */

static _Atomic int force_portable;

static int have_ifma(void)
{
#ifdef HE_MONT_IFMA
	static _Atomic int cached = -1;
	int v = cached;

	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512ifma");
		cached = v;
	}
	return v && !force_portable;
#else
	return 0;
#endif
}

const char *he_mont_kernel(void)
{
	return have_ifma() ? "avx512ifma" : "portable";
}

void he_mont_force_portable(int on)
{
	force_portable = on;
}

void he_mont_mul(const struct he_mont *m, uint64_t *out, const uint64_t *a,
		 const uint64_t *b)
{
#ifdef HE_MONT_IFMA
	if (have_ifma()) {
		ifma_kernels[m->vecs](out, a, b, m->n, m->k0);
		return;
	}
#endif
	amm_portable(out, a, b, m->n, m->k0, m->limbs);
}

void he_mont_mul2(const struct he_mont *m1, uint64_t *out1, const uint64_t *a1,
		  const uint64_t *b1, const struct he_mont *m2, uint64_t *out2,
		  const uint64_t *a2, const uint64_t *b2)
{
	if (m1->vecs != m2->vecs)
		SR_BUG("he_mont_mul2: moduli of different sizes");
#ifdef HE_MONT_IFMA
	if (have_ifma() && m1->vecs <= HE_MONT2_MAX_VECS) {
		ifma2_kernels[m1->vecs](out1, a1, b1, m1->n, m1->k0, out2, a2, b2,
					m2->n, m2->k0);
		return;
	}
#endif
	he_mont_mul(m1, out1, a1, b1);
	he_mont_mul(m2, out2, a2, b2);
}

/* ---- conversions -------------------------------------------------------- */

/* x (0 <= x < 2^(52·limbs)) as 52-bit limbs. */
static void limbs_from_mpz(uint64_t *out, unsigned limbs, const mpz_t x)
{
	size_t nl = mpz_size(x);
	const mp_limb_t *l = mpz_limbs_read(x);

	for (unsigned k = 0; k < limbs; k++) {
		size_t bit = (size_t)k * 52, w = bit / 64;
		unsigned s = (unsigned)(bit % 64);
		uint64_t v = 0;

		if (w < nl)
			v = (uint64_t)l[w] >> s;
		if (s > 12 && w + 1 < nl)
			v |= (uint64_t)l[w + 1] << (64 - s);
		out[k] = v & M52;
	}
}

/* 52-bit limbs as an mpz. */
static void mpz_from_limbs(mpz_t out, const uint64_t *in, unsigned limbs)
{
	size_t nl = ((size_t)limbs * 52 + 63) / 64;
	mp_limb_t *l = mpz_limbs_write(out, (mp_size_t)nl);

	memset(l, 0, nl * sizeof(*l));
	for (unsigned k = 0; k < limbs; k++) {
		size_t bit = (size_t)k * 52, w = bit / 64;
		unsigned s = (unsigned)(bit % 64);

		l[w] |= (mp_limb_t)(in[k] << s);
		if (s > 12 && w + 1 < nl)
			l[w + 1] |= (mp_limb_t)(in[k] >> (64 - s));
	}
	mpz_limbs_finish(out, (mp_size_t)nl);
}

int he_mont_init(struct he_mont *m, const mpz_t N, int secret,
		 struct sr_err *err)
{
	size_t bits = mpz_sizeinbase(N, 2);
	unsigned limbs;
	mpz_t t, b52;

	memset(m, 0, sizeof(*m));
	if (mpz_cmp_ui(N, 1) <= 0 || mpz_even_p(N))
		return sr_fail(err, SR_EINVAL, "montgomery: the modulus must be odd and above 1");
	/* R = 2^(52·limbs) > 4N. */
	limbs = (unsigned)((bits + 2 + 51) / 52);
	limbs = (limbs + 7) / 8 * 8;
	if (limbs > HE_MONT_MAX_LIMBS)
		return sr_fail(err, SR_EINVAL, "montgomery: a %zu-bit modulus is over %u bits",
			       bits, 52 * HE_MONT_MAX_LIMBS - 2);
	m->limbs = limbs;
	m->vecs = limbs / 8;
	m->secret = secret;
	m->n = he_mont_alloc(m, 3);
	if (!m->n)
		return sr_fail(err, SR_ENOMEM, "montgomery: modulus");
	m->rr = m->n + limbs;
	m->one = m->rr + limbs;
	mpz_init_set(m->mod, N);
	mpz_inits(t, b52, NULL);
	limbs_from_mpz(m->n, limbs, N);
	/* k0 = −N^−1 mod 2^52 */
	mpz_setbit(b52, 52);
	if (!mpz_invert(t, N, b52))
		SR_BUG("montgomery: an odd modulus has no inverse mod 2^52");
	mpz_sub(t, b52, t);
	m->k0 = (uint64_t)mpz_get_ui(t) & M52;
	mpz_set_ui(t, 0);
	mpz_setbit(t, (mp_bitcnt_t)52 * limbs);
	mpz_mod(t, t, N);
	limbs_from_mpz(m->one, limbs, t);
	mpz_set_ui(t, 0);
	mpz_setbit(t, (mp_bitcnt_t)104 * limbs);
	mpz_mod(t, t, N);
	limbs_from_mpz(m->rr, limbs, t);
	mpz_clears(t, b52, NULL);  /* wiped by src/he's GMP free hook */
	return SR_OK;
}

void he_mont_release(struct he_mont *m)
{
	if (!m->n)
		return;
	he_mont_free(m, m->n, 3);
	mpz_clear(m->mod);
	memset(m, 0, sizeof(*m));
}

uint64_t *he_mont_alloc(const struct he_mont *m, size_t count)
{
	size_t bytes;
	unsigned char *raw;
	uintptr_t at;

	if (count > (SIZE_MAX - 128) / (m->limbs * sizeof(uint64_t)))
		return NULL;
	bytes = count * m->limbs * sizeof(uint64_t);
	raw = sr_calloc(1, bytes + 64);
	if (!raw)
		return NULL;
	/* 8 to 64 bytes in front of the aligned block hold the raw pointer. */
	at = ((uintptr_t)raw + 64) & ~(uintptr_t)63;
	memcpy((void *)(at - sizeof(raw)), &raw, sizeof(raw));
	return (uint64_t *)at;
}

void he_mont_free(const struct he_mont *m, uint64_t *p, size_t count)
{
	unsigned char *raw;

	if (!p)
		return;
	sodium_memzero(p, count * m->limbs * sizeof(uint64_t));
	memcpy(&raw, (unsigned char *)p - sizeof(raw), sizeof(raw));
	sr_free(raw);
}

void he_mont_to(const struct he_mont *m, uint64_t *out, const mpz_t x)
{
	uint64_t t[HE_MONT_MAX_LIMBS];

	if (mpz_sgn(x) < 0 || mpz_cmp(x, m->mod) >= 0) {
		mpz_t r;

		mpz_init(r);
		mpz_mod(r, x, m->mod);
		limbs_from_mpz(t, m->limbs, r);
		mpz_clear(r);
	} else {
		limbs_from_mpz(t, m->limbs, x);
	}
	he_mont_mul(m, out, t, m->rr);
	if (m->secret)
		sodium_memzero(t, sizeof(t));
}

void he_mont_to_limbs(const struct he_mont *m, uint64_t *out, const mpz_t x)
{
	if (mpz_sgn(x) < 0 || mpz_cmp(x, m->mod) >= 0)
		SR_BUG("he_mont_to_limbs: a value outside [0, N)");
	limbs_from_mpz(out, m->limbs, x);
}

void he_mont_canonical(const struct he_mont *m, mpz_t out, const uint64_t *v)
{
	mpz_from_limbs(out, v, m->limbs);
	if (mpz_cmp(out, m->mod) >= 0)
		mpz_sub(out, out, m->mod);
}

void he_mont_from(const struct he_mont *m, mpz_t out, const uint64_t *x)
{
	uint64_t one[HE_MONT_MAX_LIMBS] = { 1 };
	uint64_t t[HE_MONT_MAX_LIMBS];

	he_mont_mul(m, t, x, one);
	he_mont_canonical(m, out, t);
	if (m->secret)
		sodium_memzero(t, sizeof(t));
}

void he_mont_mulmod(const struct he_mont *m, mpz_t out, const mpz_t a,
		    const mpz_t b)
{
	uint64_t x[HE_MONT_MAX_LIMBS], y[HE_MONT_MAX_LIMBS];

	limbs_from_mpz(x, m->limbs, a);
	limbs_from_mpz(y, m->limbs, b);
	he_mont_mul(m, x, x, y);       /* a·b·R^−1 */
	he_mont_mul(m, x, x, m->rr);   /* a·b */
	he_mont_canonical(m, out, x);
	if (m->secret) {
		sodium_memzero(x, sizeof(x));
		sodium_memzero(y, sizeof(y));
	}
}

/* ---- exponentiation ----------------------------------------------------- */

/* The w-bit digit of the exponent limbs e (nl limbs) at bit `at`. */
static unsigned exp_digit(const mp_limb_t *e, size_t nl, size_t at, unsigned w)
{
	size_t word = at / 64;
	unsigned s = (unsigned)(at % 64);
	uint64_t v = 0;

	if (word < nl)
		v = (uint64_t)e[word] >> s;
	if (s + w > 64 && word + 1 < nl)
		v |= (uint64_t)e[word + 1] << (64 - s);
	return (unsigned)(v & ((UINT64_C(1) << w) - 1));
}

#define HE_POWM_WINDOW 4u

void he_mont_powm(const struct he_mont *m, uint64_t *out, const uint64_t *base,
		  const mpz_t e)
{
	const unsigned w = HE_POWM_WINDOW;
	size_t bits = mpz_sgn(e) ? mpz_sizeinbase(e, 2) : 0;
	size_t windows = (bits + w - 1) / w, nl = mpz_size(e);
	const mp_limb_t *el = mpz_limbs_read(e);
	uint64_t table[(1u << HE_POWM_WINDOW) * HE_MONT_MAX_LIMBS];
	uint64_t acc[HE_MONT_MAX_LIMBS];
	unsigned K = m->limbs;
	int started = 0;

	if (!bits) {
		memcpy(out, m->one, K * sizeof(uint64_t));
		return;
	}
	/* table[d] = base^d, d in [1, 2^w) */
	memcpy(table + K, base, K * sizeof(uint64_t));
	for (unsigned d = 2; d < (1u << w); d++)
		he_mont_mul(m, table + d * K, table + (d - 1) * K, base);
	for (size_t i = windows; i-- > 0;) {
		unsigned d = exp_digit(el, nl, i * w, w);

		if (started)
			for (unsigned s = 0; s < w; s++)
				he_mont_mul(m, acc, acc, acc);
		if (!d)
			continue;
		if (started) {
			he_mont_mul(m, acc, acc, table + d * K);
		} else {
			memcpy(acc, table + d * K, K * sizeof(uint64_t));
			started = 1;
		}
	}
	memcpy(out, acc, K * sizeof(uint64_t));
	if (m->secret) {
		sodium_memzero(table, sizeof(table));
		sodium_memzero(acc, sizeof(acc));
	}
}

#define HE_POWM_SEC_WINDOW 5u
#define HE_POWM_SEC_MAX_WORDS 64u  /* exponents up to 4096 bits */

/* out = table[idx] reading every entry: no address depends on idx. */
static void select_ct(uint64_t *out, const uint64_t *table, unsigned count,
		      unsigned idx, unsigned K)
{
	memset(out, 0, K * sizeof(uint64_t));
	for (unsigned i = 0; i < count; i++) {
		uint64_t d = (uint64_t)(i ^ idx);
		/* all ones when d == 0, else 0, without a branch */
		uint64_t mask = ((d | (0 - d)) >> 63) - 1;

		for (unsigned k = 0; k < K; k++)
			out[k] |= table[(size_t)i * K + k] & mask;
	}
}

/* One fixed-window exponentiation, or two in lockstep (ways = 2). */
struct powm_sec_way {
	const struct he_mont *m;
	uint64_t *out;
	const uint64_t *base;
	mp_limb_t el[HE_POWM_SEC_MAX_WORDS];
	uint64_t table[(1u << HE_POWM_SEC_WINDOW) * HE_MONT_MAX_LIMBS];
	uint64_t acc[HE_MONT_MAX_LIMBS], sel[HE_MONT_MAX_LIMBS];
};

/* acc_i = a_i · b_i for each way. */
static void ways_mul(struct powm_sec_way *w, unsigned ways, uint64_t *const out[2],
		     const uint64_t *const a[2], const uint64_t *const b[2])
{
	if (ways == 2)
		he_mont_mul2(w[0].m, out[0], a[0], b[0], w[1].m, out[1], a[1], b[1]);
	else
		he_mont_mul(w[0].m, out[0], a[0], b[0]);
}

static void powm_sec_ways(struct powm_sec_way *w, unsigned ways,
			  mpz_srcptr const e[2], size_t ebits)
{
	const unsigned win = HE_POWM_SEC_WINDOW, count = 1u << HE_POWM_SEC_WINDOW;
	const unsigned K = w[0].m->limbs;
	size_t windows = (ebits + win - 1) / win;
	size_t nl = (ebits + 63) / 64;

	for (unsigned j = 0; j < ways; j++) {
		if (nl > HE_POWM_SEC_MAX_WORDS || mpz_sgn(e[j]) < 0 ||
		    mpz_sizeinbase(e[j], 2) > (ebits ? ebits : 1))
			SR_BUG("he_mont_powm_sec: exponent outside [0, 2^ebits)");
		/* The exponent's limbs in a fixed-size buffer (its length is public). */
		memset(w[j].el, 0, sizeof(w[j].el));
		memcpy(w[j].el, mpz_limbs_read(e[j]), mpz_size(e[j]) * sizeof(mp_limb_t));
		memcpy(w[j].table, w[j].m->one, K * sizeof(uint64_t));
		memcpy(w[j].table + K, w[j].base, K * sizeof(uint64_t));
	}
	for (unsigned d = 2; d < count; d++) {
		uint64_t *const out[2] = { w[0].table + d * K, w[1 % ways].table + d * K };
		const uint64_t *const a[2] = { out[0] - K, out[1] - K };
		const uint64_t *const b[2] = { w[0].base, w[1 % ways].base };

		ways_mul(w, ways, out, a, b);
	}
	for (size_t i = windows; i-- > 0;) {
		uint64_t *const acc[2] = { w[0].acc, w[1 % ways].acc };
		const uint64_t *const accr[2] = { w[0].acc, w[1 % ways].acc };
		const uint64_t *const sel[2] = { w[0].sel, w[1 % ways].sel };

		if (i + 1 < windows)
			for (unsigned s = 0; s < win; s++)
				ways_mul(w, ways, acc, accr, accr);
		for (unsigned j = 0; j < ways; j++)
			select_ct(w[j].sel, w[j].table, count,
				  exp_digit(w[j].el, nl, i * win, win), K);
		if (i + 1 < windows) {
			ways_mul(w, ways, acc, accr, sel);
		} else {
			for (unsigned j = 0; j < ways; j++)
				memcpy(w[j].acc, w[j].sel, K * sizeof(uint64_t));
		}
	}
	for (unsigned j = 0; j < ways; j++) {
		memcpy(w[j].out, w[j].acc, K * sizeof(uint64_t));
		sodium_memzero(w[j].el, sizeof(w[j].el));
		sodium_memzero(w[j].table, sizeof(w[j].table));
		sodium_memzero(w[j].acc, sizeof(w[j].acc));
		sodium_memzero(w[j].sel, sizeof(w[j].sel));
	}
}

void he_mont_powm_sec(const struct he_mont *m, uint64_t *out,
		      const uint64_t *base, const mpz_t e, size_t ebits)
{
	struct powm_sec_way w;  /* 43 KB at most: on the stack, wiped */
	mpz_srcptr const es[2] = { e, e };

	w.m = m;
	w.out = out;
	w.base = base;
	powm_sec_ways(&w, 1, es, ebits);
}

void he_mont_powm_sec2(const struct he_mont *m1, uint64_t *out1,
		       const uint64_t *base1, const mpz_t e1,
		       const struct he_mont *m2, uint64_t *out2,
		       const uint64_t *base2, const mpz_t e2, size_t ebits)
{
	struct powm_sec_way w[2];
	mpz_srcptr const es[2] = { e1, e2 };

	w[0].m = m1;
	w[0].out = out1;
	w[0].base = base1;
	w[1].m = m2;
	w[1].out = out2;
	w[1].base = base2;
	powm_sec_ways(w, 2, es, ebits);
}
