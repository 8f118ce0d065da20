/*
 * query_join_he.c - the Paillier operations the join protocol needs
 * (query_join_int.h), on GMP.
 *
 * A stopgap: src/he/ (branch he) will provide these, with a fixed-base
 * table, a randomizer pool and wiping GMP allocators; when this branch
 * was written only its header existed, so the join carries the few
 * operations it needs here, with the same algorithms (g = 1 + n; DJN
 * encryption c = (1 + m·n) · hs^r, hs = (−x²)^n mod n², r of
 * SR_QJ_R_BITS bits; decryption with mpz_powm_sec).  Replace the bodies
 * by sr_he_* calls once src/he/ is merged; the interface is the same.
 */
#include "kinds/query/query_join_int.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

static void mpz_random_bits(mpz_t out, unsigned bits)
{
	size_t len = (bits + 7) / 8;
	uint8_t buf[SR_QJ_BITS_MAX / 8];

	randombytes_buf(buf, len);
	mpz_import(out, len, 1, 1, 1, 0, buf);
	sodium_memzero(buf, sizeof(buf));
	if (bits % 8)
		mpz_fdiv_r_2exp(out, out, bits);
}

/* Overwrite x's limbs, then free it (GMP's own temporaries are not). */
static void mpz_wipe(mpz_t x)
{
	size_t n = mpz_size(x);

	if (n) {
		mp_limb_t *l = mpz_limbs_modify(x, (mp_size_t)n);
		sodium_memzero(l, n * sizeof(*l));
	}
	mpz_clear(x);
}

static void random_prime(mpz_t p, unsigned bits)
{
	mpz_random_bits(p, bits);
	mpz_setbit(p, bits - 1);
	mpz_setbit(p, bits - 2);    /* p·q has exactly 2·bits bits */
	mpz_nextprime(p, p);
}

void qj_pk_init(struct qj_pk *pk)
{
	memset(pk, 0, sizeof(*pk));
	mpz_inits(pk->n, pk->n2, pk->hs, NULL);
}

void qj_pk_clear(struct qj_pk *pk)
{
	mpz_clears(pk->n, pk->n2, pk->hs, NULL);
	sr_free(pk->table);
	memset(pk, 0, sizeof(*pk));
}

void qj_sk_clear(struct qj_sk *sk)
{
	qj_pk_clear(&sk->pk);
	mpz_wipe(sk->lambda);
	mpz_wipe(sk->mu);
}

int qj_keygen(unsigned bits, struct qj_sk *sk, struct sr_err *err)
{
	mpz_t p, q, x, t;

	if (bits < 512 || bits > SR_QJ_BITS_MAX || bits % 64)
		return sr_fail(err, SR_EINVAL, "join: Paillier key of %u bits not supported", bits);
	qj_pk_init(&sk->pk);
	mpz_inits(sk->lambda, sk->mu, p, q, x, t, NULL);
	do {
		random_prime(p, bits / 2);
		do
			random_prime(q, bits / 2);
		while (mpz_cmp(p, q) == 0);
		mpz_mul(sk->pk.n, p, q);
		mpz_sub_ui(p, p, 1);
		mpz_sub_ui(q, q, 1);
		mpz_lcm(sk->lambda, p, q);
		mpz_mul(t, p, q);            /* φ(n) */
		mpz_gcd(x, t, sk->pk.n);
	} while (mpz_sizeinbase(sk->pk.n, 2) != bits || mpz_cmp_ui(x, 1) != 0);
	mpz_mul(sk->pk.n2, sk->pk.n, sk->pk.n);
	sk->pk.bits = bits;
	/* With g = 1 + n, L(g^λ mod n²) = λ mod n: μ = λ^-1 mod n. */
	if (!mpz_invert(sk->mu, sk->lambda, sk->pk.n)) {
		mpz_wipe(p), mpz_wipe(q), mpz_wipe(x), mpz_wipe(t);
		qj_sk_clear(sk);
		return sr_fail(err, SR_ECRYPTO, "join: Paillier key generation failed");
	}
	/* DJN: hs = h^n mod n², h = −x² mod n, x random in Z*_n. */
	do {
		mpz_random_bits(x, bits);
		mpz_mod(x, x, sk->pk.n);
		mpz_gcd(t, x, sk->pk.n);
	} while (mpz_cmp_ui(t, 1) != 0);
	mpz_mul(x, x, x);
	mpz_neg(x, x);
	mpz_mod(x, x, sk->pk.n);
	mpz_powm(sk->pk.hs, x, sk->pk.n, sk->pk.n2);
	mpz_wipe(p), mpz_wipe(q), mpz_wipe(x), mpz_wipe(t);
	return SR_OK;
}

int qj_pk_table(struct qj_pk *pk, struct sr_err *err)
{
	size_t tl = mpz_size(pk->n2);
	mpz_t base, x;

	pk->table = sr_calloc((size_t)QJ_TABLE_ROWS * 16 * tl, sizeof(mp_limb_t));
	if (!pk->table)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pk->tlimbs = tl;
	mpz_init_set(base, pk->hs);
	mpz_init(x);
	for (size_t i = 0; i < QJ_TABLE_ROWS; i++) {
		mpz_set_ui(x, 1);
		for (size_t j = 0; j < 16; j++) {
			mp_limb_t *e = pk->table + (i * 16 + j) * tl;
			mpz_export(e, NULL, -1, sizeof(mp_limb_t), 0, 0, x);
			mpz_mul(x, x, base);
			mpz_mod(x, x, pk->n2);
		}
		mpz_set(base, x);       /* base^16 */
	}
	mpz_clears(base, x, NULL);
	return SR_OK;
}

/* out = hs^r mod n² for a fresh short r: from the table when pk has one
 * (every entry of a row read, the wanted one kept by a mask: no memory
 * access depends on r), else one exponentiation. */
static void randomizer(const struct qj_pk *pk, mpz_t out)
{
	uint8_t r8[SR_QJ_R_BITS / 8];
	mpz_t r, sel;

	if (!pk->table) {
		mpz_init(r);
		mpz_random_bits(r, SR_QJ_R_BITS);
		mpz_powm_sec(out, pk->hs, r, pk->n2);
		mpz_wipe(r);
		return;
	}
	randombytes_buf(r8, sizeof(r8));
	mpz_init2(sel, (mp_bitcnt_t)pk->tlimbs * GMP_NUMB_BITS);
	mpz_set_ui(out, 1);
	for (size_t i = 0; i < QJ_TABLE_ROWS; i++) {
		unsigned nib = (r8[i / 2] >> ((i % 2) * 4)) & 15;
		mp_limb_t *d = mpz_limbs_write(sel, (mp_size_t)pk->tlimbs);
		memset(d, 0, pk->tlimbs * sizeof(*d));
		for (unsigned j = 0; j < 16; j++) {
			const mp_limb_t *e = pk->table + (i * 16 + j) * pk->tlimbs;
			mp_limb_t mask = (mp_limb_t)0 - (mp_limb_t)(((j ^ nib) - 1u) >> 31 & 1u);
			for (size_t k = 0; k < pk->tlimbs; k++)
				d[k] |= e[k] & mask;
		}
		mpz_limbs_finish(sel, (mp_size_t)pk->tlimbs);
		mpz_mul(out, out, sel);
		mpz_mod(out, out, pk->n2);
	}
	sodium_memzero(r8, sizeof(r8));
	mpz_wipe(sel);
}

void qj_encrypt(const struct qj_pk *pk, const mpz_t m, mpz_t c)
{
	mpz_t t;

	mpz_init(t);
	randomizer(pk, t);
	mpz_mul(c, m, pk->n);
	mpz_add_ui(c, c, 1);
	mpz_mul(c, c, t);
	mpz_mod(c, c, pk->n2);
	mpz_wipe(t);
}

void qj_add_plain_rerandomize(const struct qj_pk *pk, mpz_t c, const mpz_t m)
{
	mpz_t t;

	mpz_init(t);
	mpz_mul(t, m, pk->n);
	mpz_add_ui(t, t, 1);
	mpz_mul(c, c, t);
	mpz_mod(c, c, pk->n2);
	randomizer(pk, t);
	mpz_mul(c, c, t);
	mpz_mod(c, c, pk->n2);
	mpz_wipe(t);
}

void qj_decrypt(const struct qj_sk *sk, const mpz_t c, mpz_t m)
{
	mpz_powm_sec(m, c, sk->lambda, sk->pk.n2);
	mpz_sub_ui(m, m, 1);
	mpz_divexact(m, m, sk->pk.n);
	mpz_mul(m, m, sk->mu);
	mpz_mod(m, m, sk->pk.n);
}

int qj_ct_check(const struct qj_pk *pk, const mpz_t c)
{
	mpz_t g;
	int ok;

	if (mpz_sgn(c) <= 0 || mpz_cmp(c, pk->n2) >= 0)
		return 0;
	mpz_init(g);
	mpz_gcd(g, c, pk->n);
	ok = mpz_cmp_ui(g, 1) == 0;
	mpz_clear(g);
	return ok;
}
