/*
 * crt_encrypt.c - encryption by the key holder (he.h, sr_he_crt_enc_*):
 * the same DJN ciphertexts c = (1 + m·n) · hs^r mod n² as sr_he_encrypt,
 * computed mod p² and mod q² with fixed-base tables of hs there and
 * joined by the CRT.  A multiplication mod p² costs about a third of one
 * mod n², so with two half-size tables an encryption takes about 0.6 of
 * the public-key path.  Used where the party that encrypts also holds
 * the secret key (SecureBoost's active party, src/ml/secureboost.c).
 * The tables hold powers of the public hs reduced mod p² and q², which
 * reveal p and q: they live in wiped GMP memory and are freed with
 * sr_he_crt_enc_free, like the secret key itself.
 */
#include "he/he_int.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "base/banned.h"

struct crt_table {
	mpz_srcptr mod;                 /* p² or q² (borrowed from the key) */
	mpz_t *entries;                 /* windows · HE_TABLE_DIGITS */
};

struct sr_he_crt_enc {
	const struct sr_he_sk *sk;
	size_t windows;
	struct crt_table tp, tq;
	mpz_t q2_inv_p2;                /* (q²)^-1 mod p² */
};

static void crt_table_release(struct crt_table *t, size_t windows)
{
	if (!t->entries)
		return;
	for (size_t i = 0; i < windows * HE_TABLE_DIGITS; i++)
		mpz_clear(t->entries[i]);
	sr_free(t->entries);
	t->entries = NULL;
}

struct build {
	struct sr_he_crt_enc *e;
	mpz_t *bases_p, *bases_q;       /* hs^(2^(w·i)) mod p², q² */
};

static int build_row(void *ctx, size_t k, struct sr_err *err)
{
	struct build *b = ctx;
	size_t i = k / 2;
	struct crt_table *t = k % 2 ? &b->e->tq : &b->e->tp;
	mpz_t *base = k % 2 ? b->bases_q : b->bases_p;
	mpz_t *row = t->entries + i * HE_TABLE_DIGITS;

	(void)err;
	mpz_set(row[0], base[i]);
	for (unsigned d = 1; d < HE_TABLE_DIGITS; d++) {
		mpz_mul(row[d], row[d - 1], base[i]);
		mpz_mod(row[d], row[d], t->mod);
	}
	return SR_OK;
}

int sr_he_crt_enc_new(const struct sr_he_sk *sk, struct sr_pool *pool,
		      struct sr_he_crt_enc **out, struct sr_err *err)
{
	const struct sr_he_pk *pk = sk->pk;
	struct sr_he_crt_enc *e = sr_calloc(1, sizeof(*e));
	struct build b = { e, NULL, NULL };
	size_t total;
	int rc = SR_OK;

	*out = NULL;
	if (!e)
		return sr_fail(err, SR_ENOMEM, "paillier: crt encryption tables");
	he_gmp_setup();
	e->sk = sk;
	e->windows = (pk->r_bits + HE_TABLE_WINDOW - 1) / HE_TABLE_WINDOW;
	total = e->windows * HE_TABLE_DIGITS;
	e->tp.mod = sk->p2;
	e->tq.mod = sk->q2;
	mpz_init(e->q2_inv_p2);
	e->tp.entries = sr_calloc(total, sizeof(mpz_t));
	e->tq.entries = sr_calloc(total, sizeof(mpz_t));
	b.bases_p = sr_calloc(e->windows, sizeof(mpz_t));
	b.bases_q = sr_calloc(e->windows, sizeof(mpz_t));
	if (!e->tp.entries || !e->tq.entries || !b.bases_p || !b.bases_q) {
		sr_free(e->tp.entries);
		sr_free(e->tq.entries);
		e->tp.entries = e->tq.entries = NULL;
		rc = sr_fail(err, SR_ENOMEM, "paillier: crt encryption tables");
		goto out;
	}
	for (size_t i = 0; i < total; i++) {
		mpz_init(e->tp.entries[i]);
		mpz_init(e->tq.entries[i]);
	}
	for (size_t i = 0; i < e->windows; i++) {
		mpz_init(b.bases_p[i]);
		mpz_init(b.bases_q[i]);
		if (i == 0) {
			mpz_mod(b.bases_p[0], pk->hs, sk->p2);
			mpz_mod(b.bases_q[0], pk->hs, sk->q2);
			continue;
		}
		/* base_i = base_{i-1}^(2^w): w squarings. */
		mpz_set(b.bases_p[i], b.bases_p[i - 1]);
		mpz_set(b.bases_q[i], b.bases_q[i - 1]);
		for (unsigned s = 0; s < HE_TABLE_WINDOW; s++) {
			mpz_mul(b.bases_p[i], b.bases_p[i], b.bases_p[i]);
			mpz_mod(b.bases_p[i], b.bases_p[i], sk->p2);
			mpz_mul(b.bases_q[i], b.bases_q[i], b.bases_q[i]);
			mpz_mod(b.bases_q[i], b.bases_q[i], sk->q2);
		}
	}
	if (!mpz_invert(e->q2_inv_p2, sk->q2, sk->p2)) {
		rc = sr_fail(err, SR_ECRYPTO, "paillier: q^2 is not invertible mod p^2");
		goto out;
	}
	rc = sr_pool_run(pool, 2 * e->windows, build_row, &b, err);
out:
	for (size_t i = 0; b.bases_p && i < e->windows; i++) {
		mpz_clear(b.bases_p[i]);
		mpz_clear(b.bases_q[i]);
	}
	sr_free(b.bases_p);
	sr_free(b.bases_q);
	if (rc) {
		sr_he_crt_enc_free(e);
		return rc;
	}
	*out = e;
	return SR_OK;
}

void sr_he_crt_enc_free(struct sr_he_crt_enc *e)
{
	if (!e)
		return;
	crt_table_release(&e->tp, e->windows);
	crt_table_release(&e->tq, e->windows);
	mpz_clear(e->q2_inv_p2);
	sr_free(e);
}

/* out = hs^r mod t->mod from the table. */
static void crt_pow(const struct sr_he_crt_enc *e, const struct crt_table *t, const mpz_t r,
		    mpz_t out)
{
	int started = 0;

	for (size_t i = 0; i < e->windows; i++) {
		unsigned digit = 0;

		for (unsigned b = 0; b < HE_TABLE_WINDOW; b++)
			if (mpz_tstbit(r, i * HE_TABLE_WINDOW + b))
				digit |= 1u << b;
		if (!digit)
			continue;
		if (!started) {
			mpz_set(out, t->entries[i * HE_TABLE_DIGITS + digit - 1]);
			started = 1;
		} else {
			mpz_mul(out, out, t->entries[i * HE_TABLE_DIGITS + digit - 1]);
			mpz_mod(out, out, t->mod);
		}
	}
	if (!started)
		mpz_set_ui(out, 1);
}

int sr_he_crt_encrypt_with(const struct sr_he_crt_enc *e, const mpz_t m, const mpz_t r,
			   mpz_t c, struct sr_err *err)
{
	const struct sr_he_sk *sk = e->sk;
	const struct sr_he_pk *pk = sk->pk;
	mpz_t g, cp, cq;

	if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0)
		return sr_fail(err, SR_EINVAL, "paillier plaintext: expected 0 <= m < n");
	if (mpz_sgn(r) < 0 || mpz_sizeinbase(r, 2) > pk->r_bits)
		return sr_fail(err, SR_EINVAL, "paillier randomizer: expected 0 <= r < 2^%u",
			       pk->r_bits);
	mpz_inits(g, cp, cq, NULL);
	mpz_mul(g, m, pk->n);
	mpz_add_ui(g, g, 1);
	crt_pow(e, &e->tp, r, cp);
	mpz_mul(cp, cp, g);
	mpz_mod(cp, cp, sk->p2);
	crt_pow(e, &e->tq, r, cq);
	mpz_mul(cq, cq, g);
	mpz_mod(cq, cq, sk->q2);
	/* c = cq + q² · ((cp − cq) · (q²)^-1 mod p²) */
	mpz_sub(cp, cp, cq);
	mpz_mul(cp, cp, e->q2_inv_p2);
	mpz_mod(cp, cp, sk->p2);
	mpz_mul(cp, cp, sk->q2);
	mpz_add(c, cp, cq);
	mpz_clears(g, cp, cq, NULL);
	return SR_OK;
}

struct batch {
	const struct sr_he_crt_enc *e;
	mpz_t *m, *c;
};

static int batch_one(void *ctx, size_t i, struct sr_err *err)
{
	struct batch *b = ctx;
	unsigned bits = b->e->sk->pk->r_bits;
	uint8_t buf[SR_HE_R_BITS(SR_HE_BITS_STRONG) / 8 + 1];
	size_t len = (bits + 7) / 8;
	mpz_t r;
	int rc;

	sr_random_buf(buf, len);
	if (bits % 8)
		buf[0] &= (uint8_t)((1u << (bits % 8)) - 1u);
	mpz_init(r);
	mpz_import(r, len, 1, 1, 1, 0, buf);
	sodium_memzero(buf, sizeof(buf));
	rc = sr_he_crt_encrypt_with(b->e, b->m[i], r, b->c[i], err);
	mpz_clear(r);                   /* wiped by the GMP free hook */
	return rc;
}

int sr_he_crt_encrypt_batch(const struct sr_he_crt_enc *e, struct sr_pool *pool, mpz_t *m,
			    mpz_t *c, size_t count, struct sr_err *err)
{
	struct batch b = { e, m, c };

	return sr_pool_run(pool, count, batch_one, &b, err);
}
