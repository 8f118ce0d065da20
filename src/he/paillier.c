/*
 * paillier.c - Paillier keys, DJN encryption with a fixed-base table and a
 * randomizer pool, CRT decryption, the homomorphic operations and batches.
 * docs/internals/he.md has the parameters and their reasons.
 */
#include "he/he_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"

#include "base/banned.h"

/* Miller–Rabin rounds on top of GMP's BPSW in mpz_probab_prime_p. */
#define HE_PRIME_REPS 30
/* |p − q| must exceed 2^(|p| − HE_PQ_GAP_BITS): Fermat factoring. */
#define HE_PQ_GAP_BITS 100u

/* ---- GMP memory: wiped on free and on growth --------------------------- */

static void he_gmp_oom(size_t size)
{
	/* GMP cannot recover from a failed allocation (docs/internals/he.md). */
	fprintf(stderr, "sealroom: out of memory in GMP (%zu bytes)\n", size);
	abort();
}

static void *he_gmp_alloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		he_gmp_oom(size);
	return p;
}

static void *he_gmp_realloc(void *old, size_t old_size, size_t new_size)
{
	/* Never realloc in place: the old bytes may hold a secret. */
	void *p = malloc(new_size);

	if (!p)
		he_gmp_oom(new_size);
	if (old) {
		memcpy(p, old, old_size < new_size ? old_size : new_size);
		sodium_memzero(old, old_size);
		free(old);
	}
	return p;
}

static void he_gmp_free(void *p, size_t size)
{
	if (!p)
		return;
	sodium_memzero(p, size);
	free(p);
}

static pthread_once_t he_gmp_once = PTHREAD_ONCE_INIT;

static void he_gmp_install(void)
{
	mp_set_memory_functions(he_gmp_alloc, he_gmp_realloc, he_gmp_free);
}

void he_gmp_setup(void)
{
	pthread_once(&he_gmp_once, he_gmp_install);
}

/* ---- helpers ------------------------------------------------------------ */

void he_mulmod(const struct sr_he_pk *pk, mpz_t out, const mpz_t a,
	       const mpz_t b)
{
	if (mpz_sgn(a) >= 0 && mpz_sgn(b) >= 0 && mpz_cmp(a, pk->n2) < 0 &&
	    mpz_cmp(b, pk->n2) < 0) {
		he_mont_mulmod(&pk->mont, out, a, b);
		return;
	}
	mpz_mul(out, a, b);
	mpz_mod(out, out, pk->n2);
}

void he_powm(const struct sr_he_pk *pk, mpz_t out, const mpz_t base,
	     const mpz_t e)
{
	uint64_t x[HE_MONT_MAX_LIMBS];

	he_mont_to(&pk->mont, x, base);
	he_mont_powm(&pk->mont, x, x, e);
	he_mont_from(&pk->mont, out, x);
}

int he_check_ct(const struct sr_he_pk *pk, const mpz_t c, const char *what,
		struct sr_err *err)
{
	mpz_t g;
	int coprime;

	if (mpz_sgn(c) <= 0 || mpz_cmp(c, pk->n2) >= 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: not in Z*_{n^2}: expected 0 < c < n^2", what);
	mpz_init(g);
	mpz_gcd(g, c, pk->n);
	coprime = mpz_cmp_ui(g, 1) == 0;
	mpz_clear(g);
	if (!coprime)
		return sr_fail(err, SR_EINVAL,
			       "%s: not in Z*_{n^2}: shares a factor with n", what);
	return SR_OK;
}

int he_signed_exponent(const struct sr_he_pk *pk, const mpz_t base,
		       const mpz_t k, mpz_t base_out, mpz_t e_out,
		       struct sr_err *err)
{
	mpz_mod(e_out, k, pk->n);
	if (mpz_cmp(e_out, pk->half_n) <= 0) {
		mpz_set(base_out, base);
		return SR_OK;
	}
	mpz_sub(e_out, pk->n, e_out);
	if (!mpz_invert(base_out, base, pk->n2))
		return sr_fail(err, SR_EINVAL,
			       "ciphertext: not invertible mod n^2");
	return SR_OK;
}

void he_import(mpz_t v, const uint8_t *in, size_t len)
{
	mpz_import(v, len, 1, 1, 1, 0, in);
}

void he_export(const mpz_t v, uint8_t *out, size_t len)
{
	size_t size = (mpz_sizeinbase(v, 2) + 7) / 8;
	size_t written = 0;

	if (mpz_sgn(v) < 0 || size > len)
		SR_BUG("he_export: value does not fit its field");
	memset(out, 0, len);
	if (mpz_sgn(v) != 0)
		mpz_export(out + (len - size), &written, 1, 1, 1, 0, v);
	if (mpz_sgn(v) != 0 && written != size)
		SR_BUG("he_export: short export");
}

/* A uniform value of `bits` bits from libsodium (bits a multiple of 8). */
static void he_random_bits(mpz_t v, unsigned bits)
{
	uint8_t buf[SR_HE_BITS_STRONG / 8 + 64];
	size_t len = (bits + 7) / 8;

	if (len > sizeof(buf))
		SR_BUG("he_random_bits: too many bits");
	sr_random_buf(buf, len);
	if (bits % 8)
		buf[0] &= (uint8_t)((1u << (bits % 8)) - 1u);
	he_import(v, buf, len);
	sodium_memzero(buf, len);
}

/* ---- fixed-base table ---------------------------------------------------- */

struct table_build {
	struct he_table *t;
	uint64_t *bases;  /* base^(2^(w·i)), Montgomery form */
};

static uint64_t *table_entry(const struct he_table *t, size_t i)
{
	return t->limbs + i * t->m->limbs;
}

static int table_row(void *ctx, size_t i, struct sr_err *err)
{
	struct table_build *tb = ctx;
	const struct he_table *t = tb->t;
	size_t digits = ((size_t)1 << t->window) - 1;
	const uint64_t *base = tb->bases + i * t->m->limbs;

	(void)err;
	memcpy(table_entry(t, i * digits), base, t->m->limbs * sizeof(uint64_t));
	for (size_t d = 1; d < digits; d++)
		he_mont_mul(t->m, table_entry(t, i * digits + d),
			    table_entry(t, i * digits + d - 1), base);
	return SR_OK;
}

static size_t table_total(const struct he_table *t)
{
	return t->windows * (((size_t)1 << t->window) - 1);
}

static void table_release(struct he_table *t)
{
	if (!t->limbs)
		return;
	he_mont_free(t->m, t->limbs, table_total(t));  /* wiped */
	t->limbs = NULL;
	t->windows = 0;
}

/* t: base^(d · 2^(w·i)) mod m's modulus for exponents of r_bits bits,
 * windows of w bits, in Montgomery form. */
static int table_build_for(struct he_table *t, const mpz_t base,
			   const struct he_mont *m, unsigned r_bits, unsigned w,
			   struct sr_pool *pool, struct sr_err *err)
{
	struct table_build tb = { t, NULL };
	size_t windows = (r_bits + w - 1) / w;
	int rc;

	t->m = m;
	t->windows = windows;
	t->window = w;
	t->limbs = he_mont_alloc(m, table_total(t));
	tb.bases = he_mont_alloc(m, windows);
	if (!t->limbs || !tb.bases) {
		he_mont_free(m, t->limbs, table_total(t));
		he_mont_free(m, tb.bases, windows);
		t->limbs = NULL;
		t->windows = 0;
		return sr_fail(err, SR_ENOMEM, "paillier: fixed-base table");
	}
	/* The bases are a chain of squarings; the rows are independent. */
	he_mont_to(m, tb.bases, base);
	for (size_t i = 1; i < windows; i++) {
		uint64_t *b = tb.bases + i * m->limbs;

		memcpy(b, b - m->limbs, m->limbs * sizeof(uint64_t));
		for (unsigned s = 0; s < w; s++)
			he_mont_mul(m, b, b, b);
	}
	rc = sr_pool_run(pool, windows, table_row, &tb, err);
	he_mont_free(m, tb.bases, windows);
	if (rc)
		table_release(t);
	return rc;
}

static int table_build(struct sr_he_pk *pk, struct sr_pool *pool,
		       struct sr_err *err)
{
	return table_build_for(&pk->table, pk->hs, &pk->mont, pk->r_bits,
			       HE_TABLE_WINDOW, pool, err);
}

/*
 * out_j = base_j^r · g_j mod N_j from table t[j], for one table or two
 * walked in lockstep (ways = 2: the owner's tables mod p² and q², whose
 * products he_mont_mul2 interleaves); r < 2^(w · windows), 0 <= g_j < N_j.
 * The walk stays in Montgomery form; multiplying by g_j as it is (not in
 * Montgomery form) leaves it, so g_j costs no extra step.
 */
static void table_pow_ways(const struct he_table *const t[2], unsigned ways,
			   const mpz_t r, mpz_srcptr const g[2], mpz_ptr const out[2])
{
	const size_t digits = ((size_t)1 << t[0]->window) - 1;
	uint64_t acc[2][HE_MONT_MAX_LIMBS], x[2][HE_MONT_MAX_LIMBS];
	int started = 0;

	for (size_t i = 0; i < t[0]->windows; i++) {
		unsigned digit = 0;

		for (unsigned b = 0; b < t[0]->window; b++)
			if (mpz_tstbit(r, i * t[0]->window + b))
				digit |= 1u << b;
		if (!digit)
			continue;
		for (unsigned j = 0; j < ways && !started; j++)
			memcpy(acc[j], table_entry(t[j], i * digits + digit - 1),
			       t[j]->m->limbs * sizeof(uint64_t));
		if (!started) {
			started = 1;
		} else if (ways == 2) {
			he_mont_mul2(t[0]->m, acc[0], acc[0], table_entry(t[0], i * digits + digit - 1),
				     t[1]->m, acc[1], acc[1], table_entry(t[1], i * digits + digit - 1));
		} else {
			he_mont_mul(t[0]->m, acc[0], acc[0], table_entry(t[0], i * digits + digit - 1));
		}
	}
	for (unsigned j = 0; j < ways; j++) {
		const struct he_mont *m = t[j]->m;

		if (!started)
			memcpy(acc[j], m->one, m->limbs * sizeof(uint64_t));
		he_mont_to_limbs(m, x[j], g[j]);
		he_mont_mul(m, acc[j], acc[j], x[j]);
		he_mont_canonical(m, out[j], acc[j]);
	}
	sodium_memzero(acc, sizeof(acc));
	sodium_memzero(x, sizeof(x));
}

/* out = base^r · g mod N from table t (one table of table_pow_ways). */
static void table_pow_times(const struct he_table *t, const mpz_t r,
			    const mpz_t g, mpz_t out)
{
	const struct he_table *const ts[2] = { t, t };
	mpz_srcptr const gs[2] = { g, g };
	mpz_ptr const outs[2] = { out, out };

	table_pow_ways(ts, 1, r, gs, outs);
}

/* out = hs^r mod n² from the key's table; r < 2^r_bits. */
static void table_pow(const struct sr_he_pk *pk, const mpz_t r, mpz_t out)
{
	mpz_t one;

	mpz_init_set_ui(one, 1);
	table_pow_times(&pk->table, r, one, out);
	mpz_clear(one);
}

/* out = hs^r for a fresh random short exponent r. */
static void fresh_randomizer(const struct sr_he_pk *pk, mpz_t out)
{
	mpz_t r;

	mpz_init(r);
	he_random_bits(r, pk->r_bits);
	table_pow(pk, r, out);
	mpz_clear(r);  /* wiped by the GMP free hook */
}

/* ---- keys ---------------------------------------------------------------- */

static int bits_ok(unsigned bits)
{
	return bits >= 128 && bits <= 4096 && bits % 64 == 0;
}

static struct sr_he_pk *pk_alloc(void)
{
	struct sr_he_pk *pk = sr_calloc(1, sizeof(*pk));

	if (!pk)
		return NULL;
	atomic_init(&pk->refs, 1);
	mpz_inits(pk->n, pk->n2, pk->hs, pk->half_n, NULL);
	pthread_mutex_init(&pk->lock, NULL);
	sr_pool_group_init(&pk->group);
	return pk;
}

void sr_he_pk_free(struct sr_he_pk *pk)
{
	if (!pk || atomic_fetch_sub(&pk->refs, 1) > 1)
		return;
	sr_he_pool_stop(pk);
	for (size_t i = 0; i < pk->rand_cap; i++)
		mpz_clear(pk->rand[i]);
	sr_free(pk->rand);
	table_release(&pk->table);
	he_mont_release(&pk->mont);
	mpz_clears(pk->n, pk->n2, pk->hs, pk->half_n, NULL);
	sr_pool_group_release(&pk->group);
	pthread_mutex_destroy(&pk->lock);
	sr_free(pk);
}

/* Fill n², (n−1)/2 and the table of a key whose bits, n and hs are set. */
int he_pk_finish(struct sr_he_pk *pk, struct sr_pool *pool, struct sr_err *err)
{
	pk->r_bits = SR_HE_R_BITS(pk->bits);
	mpz_mul(pk->n2, pk->n, pk->n);
	mpz_sub_ui(pk->half_n, pk->n, 1);
	mpz_fdiv_q_2exp(pk->half_n, pk->half_n, 1);
	if (!pk->mont.n) {
		int rc = he_mont_init(&pk->mont, pk->n2, 0, err);

		if (rc)
			return rc;
	}
	return table_build(pk, pool, err);
}

struct sr_he_pk *he_pk_alloc(void)
{
	he_gmp_setup();
	return pk_alloc();
}

void sr_he_sk_free(struct sr_he_sk *sk)
{
	if (!sk)
		return;
	sr_he_pk_free(sk->pk);
	table_release(&sk->table_p);
	table_release(&sk->table_q);
	he_mont_release(&sk->mont_p);
	he_mont_release(&sk->mont_q);
	/* The free hook wipes every limb. */
	mpz_clears(sk->p, sk->q, sk->x, sk->p2, sk->q2, sk->pm1, sk->qm1,
		   sk->hp, sk->hq, sk->q_inv_p, sk->q2_inv_p2, NULL);
	sodium_memzero(sk, sizeof(*sk));
	sr_free(sk);
}

/* h_p = L_p((1+n)^(p−1) mod p²)^−1 mod p. */
static int crt_h(const mpz_t n, const mpz_t p, const mpz_t p2, const mpz_t pm1,
		 mpz_t h)
{
	mpz_t g;
	int ok;

	mpz_init(g);
	mpz_add_ui(g, n, 1);
	mpz_mod(g, g, p2);
	mpz_powm_sec(h, g, pm1, p2);
	mpz_sub_ui(h, h, 1);
	mpz_divexact(h, h, p);
	ok = mpz_invert(h, h, p);
	mpz_clear(g);
	return ok;
}

int sr_he_keygen_from(unsigned bits, const mpz_t p, const mpz_t q,
		      const mpz_t x, struct sr_pool *pool, struct sr_he_pk **pk_out,
		      struct sr_he_sk **sk_out, struct sr_err *err)
{
	struct sr_he_sk *sk = NULL;
	struct sr_he_pk *pk = NULL;
	mpz_t phi, t;
	int rc = SR_OK;

	he_gmp_setup();
	if (pk_out)
		*pk_out = NULL;
	*sk_out = NULL;
	mpz_inits(phi, t, NULL);
	if (!bits_ok(bits)) {
		rc = sr_fail(err, SR_EINVAL,
			     "paillier key: %u bits: expected a multiple of 64 from 128 to 4096",
			     bits);
		goto out;
	}
	if (mpz_cmp(p, q) == 0) {
		rc = sr_fail(err, SR_EINVAL, "paillier key: p = q");
		goto out;
	}
	if (mpz_sizeinbase(p, 2) != bits / 2 || mpz_sizeinbase(q, 2) != bits / 2) {
		rc = sr_fail(err, SR_EINVAL,
			     "paillier key: p and q must have %u bits each", bits / 2);
		goto out;
	}
	if (!mpz_probab_prime_p(p, HE_PRIME_REPS) ||
	    !mpz_probab_prime_p(q, HE_PRIME_REPS)) {
		rc = sr_fail(err, SR_EINVAL, "paillier key: p or q is not prime");
		goto out;
	}
	sk = sr_calloc(1, sizeof(*sk));
	pk = pk_alloc();
	if (!sk || !pk) {
		sr_free(sk);
		sk = NULL;
		rc = sr_fail(err, SR_ENOMEM, "paillier key");
		goto out;
	}
	mpz_inits(sk->p, sk->q, sk->x, sk->p2, sk->q2, sk->pm1, sk->qm1,
		  sk->hp, sk->hq, sk->q_inv_p, sk->q2_inv_p2, NULL);
	pk->bits = bits;
	mpz_mul(pk->n, p, q);
	if (mpz_sizeinbase(pk->n, 2) != bits) {
		rc = sr_fail(err, SR_EINVAL,
			     "paillier key: n has %zu bits: expected exactly %u",
			     mpz_sizeinbase(pk->n, 2), bits);
		goto out;
	}
	mpz_sub_ui(t, p, 1);
	mpz_sub_ui(phi, q, 1);
	mpz_mul(phi, phi, t);
	mpz_gcd(t, pk->n, phi);
	if (mpz_cmp_ui(t, 1) != 0) {
		rc = sr_fail(err, SR_EINVAL, "paillier key: gcd(n, phi(n)) != 1");
		goto out;
	}
	mpz_gcd(t, x, pk->n);
	if (mpz_sgn(x) <= 0 || mpz_cmp(x, pk->n) >= 0 || mpz_cmp_ui(t, 1) != 0) {
		rc = sr_fail(err, SR_EINVAL,
			     "paillier key: x: expected an element of Z*_n");
		goto out;
	}
	/* h = −x² mod n, hs = h^n mod n² (x is secret: constant time). */
	mpz_mul(t, x, x);
	mpz_mod(t, t, pk->n);
	mpz_sub(t, pk->n, t);
	mpz_mul(pk->n2, pk->n, pk->n);
	mpz_powm_sec(pk->hs, t, pk->n, pk->n2);

	mpz_set(sk->p, p);
	mpz_set(sk->q, q);
	mpz_set(sk->x, x);
	mpz_mul(sk->p2, p, p);
	mpz_mul(sk->q2, q, q);
	mpz_sub_ui(sk->pm1, p, 1);
	mpz_sub_ui(sk->qm1, q, 1);
	if (!crt_h(pk->n, p, sk->p2, sk->pm1, sk->hp) ||
	    !crt_h(pk->n, q, sk->q2, sk->qm1, sk->hq) ||
	    !mpz_invert(sk->q_inv_p, q, p) ||
	    !mpz_invert(sk->q2_inv_p2, sk->q2, sk->p2)) {
		rc = sr_fail(err, SR_EINVAL, "paillier key: CRT values not invertible");
		goto out;
	}
	if ((rc = he_mont_init(&sk->mont_p, sk->p2, 1, err)) ||
	    (rc = he_mont_init(&sk->mont_q, sk->q2, 1, err)))
		goto out;
	rc = he_pk_finish(pk, pool, err);
	if (rc)
		goto out;
	sk->pk = pk;
	if (pk_out) {
		/* The caller's public key is shared with sk (counted). */
		atomic_fetch_add(&pk->refs, 1);
		*pk_out = pk;
	}
	*sk_out = sk;
	sk = NULL;
	pk = NULL;
out:
	mpz_clears(phi, t, NULL);
	if (sk) {
		sk->pk = pk;
		pk = NULL;
		sr_he_sk_free(sk);
	}
	sr_he_pk_free(pk);
	return rc;
}

/* A random prime of exactly `bits` bits with its top two bits set. */
static void random_prime(mpz_t p, unsigned bits)
{
	do {
		he_random_bits(p, bits);
		mpz_setbit(p, bits - 1);
		mpz_setbit(p, bits - 2);
		mpz_nextprime(p, p);
	} while (mpz_sizeinbase(p, 2) != bits ||
		 !mpz_probab_prime_p(p, HE_PRIME_REPS));
}

int sr_he_keygen(unsigned bits, struct sr_pool *pool, struct sr_he_pk **pk,
		 struct sr_he_sk **sk, struct sr_err *err)
{
	if (bits != SR_HE_BITS_DEFAULT && bits != SR_HE_BITS_STRONG) {
		if (pk)
			*pk = NULL;
		*sk = NULL;
		return sr_fail(err, SR_EINVAL,
			       "paillier keygen: %u bits: expected 2048 or 3072", bits);
	}
	return sr_he_keygen_sized(bits, pool, pk, sk, err);
}

int sr_he_keygen_sized(unsigned bits, struct sr_pool *pool, struct sr_he_pk **pk,
		       struct sr_he_sk **sk, struct sr_err *err)
{
	mpz_t p, q, x, d;
	int rc;

	he_gmp_setup();
	if (pk)
		*pk = NULL;
	*sk = NULL;
	if (bits < SR_HE_BITS_TEST_MIN || !bits_ok(bits))
		return sr_fail(err, SR_EINVAL,
			       "paillier keygen: %u bits: expected a multiple of 64 from %u to 4096",
			       bits, SR_HE_BITS_TEST_MIN);
	mpz_inits(p, q, x, d, NULL);
	random_prime(p, bits / 2);
	do {
		random_prime(q, bits / 2);
		mpz_sub(d, p, q);
		mpz_abs(d, d);
	} while (mpz_sizeinbase(d, 2) <= bits / 2 - HE_PQ_GAP_BITS);
	mpz_mul(d, p, q);
	do
		he_random_bits(x, bits);
	while (mpz_cmp(x, d) >= 0 || mpz_sgn(x) == 0);
	rc = sr_he_keygen_from(bits, p, q, x, pool, pk, sk, err);
	mpz_clears(p, q, x, d, NULL);
	return rc;
}

struct sr_he_pk *sr_he_sk_pk(const struct sr_he_sk *sk)
{
	return sk->pk;
}

mpz_srcptr sr_he_pk_n(const struct sr_he_pk *pk)
{
	return pk->n;
}

mpz_srcptr sr_he_pk_n2(const struct sr_he_pk *pk)
{
	return pk->n2;
}

unsigned sr_he_pk_bits(const struct sr_he_pk *pk)
{
	return pk->bits;
}

size_t sr_he_ct_bytes(const struct sr_he_pk *pk)
{
	return pk->bits / 4;
}

int sr_he_pk_equal(const struct sr_he_pk *a, const struct sr_he_pk *b)
{
	return a->bits == b->bits && mpz_cmp(a->n, b->n) == 0 &&
	       mpz_cmp(a->hs, b->hs) == 0;
}

/* ---- encryption ---------------------------------------------------------- */

static int check_plain(const struct sr_he_pk *pk, const mpz_t m,
		       struct sr_err *err)
{
	if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0)
		return sr_fail(err, SR_EINVAL,
			       "paillier plaintext: expected 0 <= m < n (encode signed values first)");
	return SR_OK;
}

/* g = 1 + m·n (< n² for m < n), initialised here. */
static void init_g(const struct sr_he_pk *pk, mpz_t g, const mpz_t m)
{
	mpz_init2(g, 2 * pk->bits + 64);
	mpz_mul(g, m, pk->n);
	mpz_add_ui(g, g, 1);
}

/* c = (1 + m·n) · rnd mod n². */
static void encrypt_with_randomizer(const struct sr_he_pk *pk, const mpz_t m,
				    const mpz_t rnd, mpz_t c)
{
	mpz_t g;

	init_g(pk, g, m);
	he_mulmod(pk, c, g, rnd);
	mpz_clear(g);
}

/* c = (1 + m·n) · hs^r mod n² in one walk of the table. */
static void encrypt_table(const struct sr_he_pk *pk, const mpz_t m,
			  const mpz_t r, mpz_t c)
{
	mpz_t g;

	init_g(pk, g, m);
	table_pow_times(&pk->table, r, g, c);
	mpz_clear(g);
}

int sr_he_encrypt(const struct sr_he_pk *pk, const mpz_t m, mpz_t c,
		  struct sr_err *err)
{
	mpz_t r;
	int rc = check_plain(pk, m, err);

	if (rc)
		return rc;
	mpz_init(r);
	he_random_bits(r, pk->r_bits);
	encrypt_table(pk, m, r, c);
	mpz_clear(r);  /* wiped by the GMP free hook */
	return SR_OK;
}

int sr_he_encrypt_with(const struct sr_he_pk *pk, const mpz_t m,
		       const mpz_t r, mpz_t c, struct sr_err *err)
{
	int rc = check_plain(pk, m, err);

	if (rc)
		return rc;
	if (mpz_sgn(r) < 0 || mpz_sizeinbase(r, 2) > pk->r_bits)
		return sr_fail(err, SR_EINVAL,
			       "paillier randomizer: expected 0 <= r < 2^%u", pk->r_bits);
	encrypt_table(pk, m, r, c);
	return SR_OK;
}

int sr_he_encrypt_textbook(const struct sr_he_pk *pk, const mpz_t m, mpz_t c,
			   struct sr_err *err)
{
	mpz_t rho, g;
	int rc = check_plain(pk, m, err);

	if (rc)
		return rc;
	mpz_inits(rho, g, NULL);
	do {
		he_random_bits(rho, pk->bits);
		mpz_gcd(g, rho, pk->n);
	} while (mpz_cmp(rho, pk->n) >= 0 || mpz_cmp_ui(g, 1) != 0);
	mpz_powm_sec(rho, rho, pk->n, pk->n2);
	encrypt_with_randomizer(pk, m, rho, c);
	mpz_clears(rho, g, NULL);
	return SR_OK;
}

/* ---- encryption by the key's owner (CRT) ------------------------------- */

int sr_he_sk_encrypt_prepare(struct sr_he_sk *sk, struct sr_pool *pool,
			     struct sr_err *err)
{
	return sr_he_sk_encrypt_prepare_window(sk, pool, HE_CRT_TABLE_WINDOW, err);
}

int sr_he_sk_encrypt_prepare_window(struct sr_he_sk *sk, struct sr_pool *pool,
				    unsigned window, struct sr_err *err)
{
	const struct sr_he_pk *pk = sk->pk;
	int rc;

	if (window < HE_CRT_TABLE_WINDOW || window > SR_HE_CRT_WINDOW_MAX)
		return sr_fail(err, SR_EINVAL, "paillier: CRT table window of %u bits, expected %u to %u",
			       window, HE_CRT_TABLE_WINDOW, SR_HE_CRT_WINDOW_MAX);
	if (sk->table_p.limbs)
		return SR_OK;
	rc = table_build_for(&sk->table_p, pk->hs, &sk->mont_p, pk->r_bits, window, pool, err);
	if (rc == SR_OK &&
	    (rc = table_build_for(&sk->table_q, pk->hs, &sk->mont_q, pk->r_bits, window, pool, err)) != SR_OK)
		table_release(&sk->table_p);
	return rc;
}

/* c from the CRT tables with exponent r (r < 2^r_bits, m checked):
 * c mod p² = (1 + m·n) · hs^r mod p², the same mod q², then CRT. */
static void encrypt_crt(const struct sr_he_sk *sk, const mpz_t m, const mpz_t r, mpz_t c)
{
	const struct sr_he_pk *pk = sk->pk;
	const struct he_table *const ts[2] = { &sk->table_p, &sk->table_q };
	mpz_t cp, cq, g, gp, gq;
	mpz_srcptr const gs[2] = { gp, gq };
	mpz_ptr const outs[2] = { cp, cq };

	mpz_init2(cp, 2 * pk->bits + 64);
	mpz_init2(cq, 2 * pk->bits + 64);
	mpz_init2(g, 2 * pk->bits + 64);
	mpz_inits(gp, gq, NULL);
	mpz_mul(g, m, pk->n);
	mpz_add_ui(g, g, 1);
	mpz_tdiv_r(gp, g, sk->p2);
	mpz_tdiv_r(gq, g, sk->q2);
	table_pow_ways(ts, 2, r, gs, outs);
	/* c = cq + q² · ((cp − cq) · (q²)^−1 mod p²) */
	mpz_sub(cp, cp, cq);
	mpz_mod(cp, cp, sk->p2);
	he_mont_mulmod(&sk->mont_p, g, cp, sk->q2_inv_p2);
	mpz_mul(g, g, sk->q2);
	mpz_add(c, g, cq);
	mpz_clears(cp, cq, g, gp, gq, NULL);  /* wiped by the GMP free hook */
}

int sr_he_encrypt_sk(const struct sr_he_sk *sk, const mpz_t m, mpz_t c,
		     struct sr_err *err)
{
	mpz_t r;
	int rc = check_plain(sk->pk, m, err);

	if (rc)
		return rc;
	if (!sk->table_p.limbs)
		return sr_he_encrypt(sk->pk, m, c, err);
	mpz_init(r);
	he_random_bits(r, sk->pk->r_bits);
	encrypt_crt(sk, m, r, c);
	mpz_clear(r);
	return SR_OK;
}

int sr_he_encrypt_sk_with(const struct sr_he_sk *sk, const mpz_t m, const mpz_t r,
			  mpz_t c, struct sr_err *err)
{
	int rc = check_plain(sk->pk, m, err);

	if (rc)
		return rc;
	if (!sk->table_p.limbs)
		return sr_he_encrypt_with(sk->pk, m, r, c, err);
	if (mpz_sgn(r) < 0 || mpz_sizeinbase(r, 2) > sk->pk->r_bits)
		return sr_fail(err, SR_EINVAL,
			       "paillier randomizer: expected 0 <= r < 2^%u", sk->pk->r_bits);
	encrypt_crt(sk, m, r, c);
	return SR_OK;
}

/* ---- randomizer pool ----------------------------------------------------- */

static int filler_task(void *arg, struct sr_err *err);

/*
 * Add up to max_new randomizers to the pool, stopping when it holds
 * `limit` entries (0: the target, and stop on sr_he_pool_stop).  Returns 1
 * when it stopped for that reason, 0 when max_new were added.  The
 * exponentiation runs without the lock.
 */
static int fill_until(struct sr_he_pk *pk, size_t limit, size_t max_new)
{
	mpz_t v;
	int done = 0;

	mpz_init(v);
	for (size_t k = 0; k < max_new && !done; k++) {
		pthread_mutex_lock(&pk->lock);
		done = limit ? pk->rand_count >= limit
			     : pk->stopping || pk->rand_count >= pk->rand_target;
		pthread_mutex_unlock(&pk->lock);
		if (done)
			break;
		fresh_randomizer(pk, v);
		pthread_mutex_lock(&pk->lock);
		if (pk->rand_count < pk->rand_cap)
			mpz_swap(pk->rand[pk->rand_count++], v);
		pthread_mutex_unlock(&pk->lock);
	}
	mpz_clear(v);
	return done;
}

/* Queue fillers (called without the lock). */
static void spawn_fillers(struct sr_he_pk *pk, struct sr_pool *pool,
			  size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (sr_pool_submit(pool, &pk->group, filler_task, pk) == SR_OK)
			continue;
		/* Out of memory: fewer fillers; encrypt_fast still works. */
		pthread_mutex_lock(&pk->lock);
		pk->fillers -= count - i;
		pthread_mutex_unlock(&pk->lock);
		break;
	}
}

static int filler_task(void *arg, struct sr_err *err)
{
	struct sr_he_pk *pk = arg;
	/* After a chunk, yield the thread to other queued work, then go on. */
	int again = !fill_until(pk, 0, HE_POOL_CHUNK);

	pthread_mutex_lock(&pk->lock);
	if (again && (pk->stopping || pk->rand_count >= pk->rand_target))
		again = 0;
	if (!again)
		pk->fillers--;
	pthread_mutex_unlock(&pk->lock);
	if (again)
		spawn_fillers(pk, pk->pool, 1);
	return SR_OK;
}

/* Grow the pool's array to count entries (lock held). */
static int rand_reserve(struct sr_he_pk *pk, size_t count, struct sr_err *err)
{
	mpz_t *grown;

	if (count <= pk->rand_cap)
		return SR_OK;
	grown = sr_realloc(pk->rand, count * sizeof(mpz_t));
	if (!grown)
		return sr_fail(err, SR_ENOMEM, "randomizer pool: %zu entries", count);
	/* mpz_t structs move, their limbs do not: nothing secret is copied. */
	pk->rand = grown;
	for (size_t i = pk->rand_cap; i < count; i++)
		mpz_init(pk->rand[i]);
	pk->rand_cap = count;
	return SR_OK;
}

void sr_he_pool_stop(struct sr_he_pk *pk)
{
	struct sr_err ignored;

	pthread_mutex_lock(&pk->lock);
	pk->stopping = 1;
	pthread_mutex_unlock(&pk->lock);
	/* Fillers never fail: nothing to report. */
	if (sr_pool_group_wait(&pk->group, &ignored) != SR_OK)
		SR_BUG("randomizer filler failed");
	pthread_mutex_lock(&pk->lock);
	pk->stopping = 0;
	pk->fillers = 0;
	pthread_mutex_unlock(&pk->lock);
}

int sr_he_pool_start(struct sr_he_pk *pk, struct sr_pool *pool, size_t target,
		     struct sr_err *err)
{
	size_t threads;

	/* A pool without workers would run the fillers inline, here. */
	if (!pool || sr_pool_threads(pool) == 0 || target == 0 ||
	    target > SR_HE_POOL_MAX)
		return sr_fail(err, SR_EINVAL,
			       "randomizer pool: expected a thread pool with workers and 1 <= target <= %zu",
			       SR_HE_POOL_MAX);
	sr_he_pool_stop(pk);
	pthread_mutex_lock(&pk->lock);
	if (rand_reserve(pk, target, err)) {
		pthread_mutex_unlock(&pk->lock);
		return SR_ENOMEM;
	}
	pk->rand_target = target;
	pk->pool = pool;
	threads = sr_pool_threads(pool);
	pk->fillers = threads;
	pthread_mutex_unlock(&pk->lock);
	spawn_fillers(pk, pool, threads);
	return SR_OK;
}

size_t sr_he_pool_available(struct sr_he_pk *pk)
{
	size_t count;

	pthread_mutex_lock(&pk->lock);
	count = pk->rand_count;
	pthread_mutex_unlock(&pk->lock);
	return count;
}

int sr_he_pool_fill(struct sr_he_pk *pk, size_t count, struct sr_err *err)
{
	if (count == 0)
		return SR_OK;
	if (count > SR_HE_POOL_MAX)
		return sr_fail(err, SR_EINVAL,
			       "randomizer pool: %zu entries: at most %zu", count,
			       SR_HE_POOL_MAX);
	pthread_mutex_lock(&pk->lock);
	if (rand_reserve(pk, count, err)) {
		pthread_mutex_unlock(&pk->lock);
		return SR_ENOMEM;
	}
	if (pk->rand_target < count)
		pk->rand_target = count;
	pthread_mutex_unlock(&pk->lock);
	(void)fill_until(pk, count, SIZE_MAX);
	return SR_OK;
}

int sr_he_encrypt_fast(struct sr_he_pk *pk, const mpz_t m, mpz_t c,
		       struct sr_err *err)
{
	mpz_t rnd;
	int have = 0;
	size_t spawn = 0;
	int rc = check_plain(pk, m, err);

	if (rc)
		return rc;
	mpz_init(rnd);
	pthread_mutex_lock(&pk->lock);
	if (pk->rand_count > 0) {
		/* Swap out, so the pooled value leaves the pool's memory. */
		mpz_swap(rnd, pk->rand[--pk->rand_count]);
		have = 1;
	}
	if (pk->pool && !pk->stopping && pk->fillers == 0 &&
	    pk->rand_count < pk->rand_target / 2) {
		spawn = sr_pool_threads(pk->pool);
		pk->fillers = spawn;
	}
	pthread_mutex_unlock(&pk->lock);
	if (spawn)
		spawn_fillers(pk, pk->pool, spawn);
	if (!have)
		fresh_randomizer(pk, rnd);
	encrypt_with_randomizer(pk, m, rnd, c);
	mpz_clear(rnd);
	return SR_OK;
}

/* ---- decryption ---------------------------------------------------------- */

/* out = L_p(u) · h_p mod p for u = c^(p−1) mod p² in Montgomery form x. */
static void crt_finish(const struct he_mont *mp, const uint64_t *x, const mpz_t p,
		       const mpz_t h, mpz_t out)
{
	mpz_t u;

	mpz_init(u);
	he_mont_from(mp, u, x);
	mpz_sub_ui(u, u, 1);
	mpz_divexact(u, u, p);
	mpz_mul(u, u, h);
	mpz_mod(out, u, p);
	mpz_clear(u);  /* wiped by the GMP free hook */
}

/* m_p and m_q: the two exponentiations (secret exponents p − 1, q − 1 of
 * the public length |p| = |q|) run in lockstep. */
static void crt_halves(const struct sr_he_sk *sk, const mpz_t c, mpz_t mp, mpz_t mq)
{
	uint64_t x[HE_MONT_MAX_LIMBS], y[HE_MONT_MAX_LIMBS];

	he_mont_to(&sk->mont_p, x, c);
	he_mont_to(&sk->mont_q, y, c);
	he_mont_powm_sec2(&sk->mont_p, x, x, sk->pm1, &sk->mont_q, y, y, sk->qm1,
			  mpz_sizeinbase(sk->p, 2));
	crt_finish(&sk->mont_p, x, sk->p, sk->hp, mp);
	crt_finish(&sk->mont_q, y, sk->q, sk->hq, mq);
	sodium_memzero(x, sizeof(x));
	sodium_memzero(y, sizeof(y));
}

int sr_he_decrypt(const struct sr_he_sk *sk, const mpz_t c, mpz_t m,
		  struct sr_err *err)
{
	mpz_t mp, mq;
	int rc;

	rc = he_check_ct(sk->pk, c, "paillier ciphertext", err);
	if (rc)
		return rc;
	mpz_inits(mp, mq, NULL);
	crt_halves(sk, c, mp, mq);
	/* m = m_q + q · ((m_p − m_q) · q^−1 mod p) */
	mpz_sub(mp, mp, mq);
	mpz_mul(mp, mp, sk->q_inv_p);
	mpz_mod(mp, mp, sk->p);
	mpz_mul(mp, mp, sk->q);
	mpz_add(m, mp, mq);
	mpz_clears(mp, mq, NULL);
	return SR_OK;
}

/* ---- operations ---------------------------------------------------------- */

void sr_he_add(const struct sr_he_pk *pk, const mpz_t a, const mpz_t b,
	       mpz_t out)
{
	he_mulmod(pk, out, a, b);
}

void sr_he_add_plain(const struct sr_he_pk *pk, const mpz_t a, const mpz_t m,
		     mpz_t out)
{
	mpz_t g;

	mpz_init(g);
	mpz_mod(g, m, pk->n);
	mpz_mul(g, g, pk->n);
	mpz_add_ui(g, g, 1);
	he_mulmod(pk, out, a, g);
	mpz_clear(g);
}

int sr_he_mul_plain(const struct sr_he_pk *pk, const mpz_t a, const mpz_t k,
		    mpz_t out, struct sr_err *err)
{
	mpz_t base, e;
	int rc;

	mpz_inits(base, e, NULL);
	rc = he_signed_exponent(pk, a, k, base, e, err);
	if (rc == SR_OK)
		he_powm(pk, out, base, e);
	mpz_clears(base, e, NULL);
	return rc;
}

int sr_he_rerandomize(const struct sr_he_pk *pk, const mpz_t a, mpz_t out,
		      struct sr_err *err)
{
	mpz_t rnd;

	mpz_init(rnd);
	fresh_randomizer(pk, rnd);
	he_mulmod(pk, out, a, rnd);
	mpz_clear(rnd);
	return SR_OK;
}

/* ---- batches ------------------------------------------------------------- */

struct batch {
	const struct sr_he_pk *pk;
	const struct sr_he_sk *sk;
	mpz_t *in, *out;
	int encrypt_sk;            /* encrypt by the owner, with sk */
};

/* One item of a batch: decrypt when the batch has a secret key, unless
 * it encrypts by the owner. */
static int batch_one(void *ctx, size_t i, struct sr_err *err)
{
	struct batch *b = ctx;
	int rc = b->encrypt_sk ? sr_he_encrypt_sk(b->sk, b->in[i], b->out[i], err)
		: b->sk ? sr_he_decrypt(b->sk, b->in[i], b->out[i], err)
		: sr_he_encrypt(b->pk, b->in[i], b->out[i], err);

	if (rc)
		sr_err_prefix(err, "batch item %zu", i);
	return rc;
}

int sr_he_encrypt_batch(const struct sr_he_pk *pk, struct sr_pool *pool,
			mpz_t *m, mpz_t *c, size_t count, struct sr_err *err)
{
	struct batch b = { pk, NULL, m, c, 0 };

	return sr_pool_run(pool, count, batch_one, &b, err);
}

int sr_he_encrypt_sk_batch(const struct sr_he_sk *sk, struct sr_pool *pool,
			   mpz_t *m, mpz_t *c, size_t count, struct sr_err *err)
{
	struct batch b = { sk->pk, sk, m, c, 1 };

	return sr_pool_run(pool, count, batch_one, &b, err);
}

int sr_he_decrypt_batch(const struct sr_he_sk *sk, struct sr_pool *pool,
			mpz_t *c, mpz_t *m, size_t count, struct sr_err *err)
{
	struct batch b = { sk->pk, sk, c, m, 0 };

	return sr_pool_run(pool, count, batch_one, &b, err);
}

int sr_he_cts_new(size_t count, mpz_t **cts, struct sr_err *err)
{
	*cts = NULL;
	if (count == 0)
		count = 1;  /* a valid pointer even for empty batches */
	*cts = sr_calloc(count, sizeof(mpz_t));
	if (!*cts)
		return sr_fail(err, SR_ENOMEM, "ciphertext array of %zu", count);
	for (size_t i = 0; i < count; i++)
		mpz_init((*cts)[i]);
	return SR_OK;
}

void sr_he_cts_free(mpz_t *cts, size_t count)
{
	if (!cts)
		return;
	if (count == 0)
		count = 1;
	for (size_t i = 0; i < count; i++)
		mpz_clear(cts[i]);
	sr_free(cts);
}

/* ---- ciphertexts in Montgomery form ------------------------------------- */

struct sr_he_mcts {
	const struct he_mont *m;
	size_t count;
	uint64_t *limbs;
};

int sr_he_mcts_new(const struct sr_he_pk *pk, size_t count,
		   struct sr_he_mcts **out, struct sr_err *err)
{
	struct sr_he_mcts *v = sr_calloc(1, sizeof(*v));

	*out = NULL;
	if (!v)
		return sr_fail(err, SR_ENOMEM, "montgomery ciphertexts: %zu", count);
	v->m = &pk->mont;
	v->count = count;
	v->limbs = he_mont_alloc(v->m, count ? count : 1);
	if (!v->limbs) {
		sr_free(v);
		return sr_fail(err, SR_ENOMEM, "montgomery ciphertexts: %zu", count);
	}
	*out = v;
	return SR_OK;
}

void sr_he_mcts_free(struct sr_he_mcts *v)
{
	if (!v)
		return;
	he_mont_free(v->m, v->limbs, v->count ? v->count : 1);
	sr_free(v);
}

static uint64_t *mct_at(const struct sr_he_mcts *v, size_t i)
{
	if (i >= v->count)
		SR_BUG("montgomery ciphertext index out of range");
	return v->limbs + i * v->m->limbs;
}

void sr_he_mcts_set(struct sr_he_mcts *v, size_t i, const mpz_t ct)
{
	he_mont_to(v->m, mct_at(v, i), ct);
}

void sr_he_mcts_get(const struct sr_he_mcts *v, size_t i, mpz_t ct)
{
	he_mont_from(v->m, ct, mct_at(v, i));
}

void sr_he_mcts_copy(struct sr_he_mcts *dst, size_t i,
		     const struct sr_he_mcts *src, size_t j)
{
	if (dst->m != src->m)
		SR_BUG("montgomery ciphertexts under two keys");
	memcpy(mct_at(dst, i), mct_at(src, j), dst->m->limbs * sizeof(uint64_t));
}

void sr_he_mcts_add(struct sr_he_mcts *dst, size_t i,
		    const struct sr_he_mcts *src, size_t j)
{
	if (dst->m != src->m)
		SR_BUG("montgomery ciphertexts under two keys");
	he_mont_mul(dst->m, mct_at(dst, i), mct_at(dst, i), mct_at(src, j));
}
