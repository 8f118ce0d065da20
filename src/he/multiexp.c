/*
 * multiexp.c - Π ct_i^{k_i} mod n² by Pippenger's bucket method, in
 * Montgomery form (mont.h), and the naive product of powers it is tested
 * and benchmarked against.
 *
 * With b-bit exponents and a window of c bits, Pippenger costs about
 * ⌈b/c⌉ · (count + 2^(c+1)) multiplications plus b squarings, against
 * ~1.2·b per term for separate exponentiations; the window minimises it.
 */
#include "he/he_int.h"

#include <string.h>

#include "base/alloc.h"

#include "base/banned.h"

/* Below this many terms the bucket bookkeeping does not pay. */
#define HE_MULTIEXP_MIN_TERMS 4u
#define HE_MULTIEXP_MAX_WINDOW 16u

/* The signed scalars as (base, e ≥ 0) pairs. */
struct terms {
	size_t count;
	mpz_t *base, *e;
};

static void terms_release(struct terms *t)
{
	sr_he_cts_free(t->base, t->count);
	sr_he_cts_free(t->e, t->count);
}

static int terms_init(const struct sr_he_pk *pk, mpz_t *cts, mpz_t *scalars,
		      size_t count, struct terms *t, struct sr_err *err)
{
	int rc;

	t->count = count;
	t->base = t->e = NULL;
	rc = sr_he_cts_new(count, &t->base, err);
	if (rc == SR_OK)
		rc = sr_he_cts_new(count, &t->e, err);
	for (size_t i = 0; rc == SR_OK && i < count; i++) {
		rc = he_signed_exponent(pk, cts[i], scalars[i], t->base[i],
					t->e[i], err);
		if (rc)
			sr_err_prefix(err, "multiexp term %zu", i);
	}
	if (rc)
		terms_release(t);
	return rc;
}

int sr_he_multiexp_naive(const struct sr_he_pk *pk, mpz_t *cts,
			 mpz_t *scalars, size_t count, mpz_t out,
			 struct sr_err *err)
{
	struct terms t;
	mpz_t acc, p;
	int rc;

	rc = terms_init(pk, cts, scalars, count, &t, err);
	if (rc)
		return rc;
	mpz_init_set_ui(acc, 1);
	mpz_init(p);
	for (size_t i = 0; i < count; i++) {
		he_powm(pk, p, t.base[i], t.e[i]);
		he_mulmod(pk, acc, acc, p);
	}
	mpz_swap(out, acc);
	mpz_clears(acc, p, NULL);
	terms_release(&t);
	return SR_OK;
}

static unsigned best_window(size_t count, size_t bits)
{
	unsigned best = 1;
	double best_cost = -1;

	for (unsigned c = 1; c <= HE_MULTIEXP_MAX_WINDOW; c++) {
		double windows = (double)((bits + c - 1) / c);
		double cost = windows * ((double)count + (double)(2u << c));

		if (best_cost < 0 || cost < best_cost) {
			best_cost = cost;
			best = c;
		}
	}
	return best;
}

/* The c-bit digit of e at bit offset `at`. */
static unsigned digit_at(const mpz_t e, size_t at, unsigned c)
{
	unsigned d = 0;

	for (unsigned b = 0; b < c; b++)
		if (mpz_tstbit(e, at + b))
			d |= 1u << b;
	return d;
}

/* Pippenger's buckets over the terms whose sign is `neg`. */
struct pippenger {
	const struct he_mont *m;
	const uint64_t *base;   /* the terms' bases, Montgomery form */
	mpz_t *e;               /* |k| */
	const unsigned char *neg;
	size_t count, windows, nbuckets;
	unsigned c;
	uint64_t *bucket, *run, *total;
	unsigned char *used;
};

/* out = Π base_i^{e_i} over the terms of sign neg, Montgomery form. */
static void pippenger_run(const struct pippenger *p, unsigned char neg, uint64_t *out)
{
	const struct he_mont *m = p->m;
	const size_t K = m->limbs, bytes = K * sizeof(uint64_t);

	memcpy(out, m->one, bytes);
	for (size_t w = p->windows; w-- > 0;) {
		int run_set = 0, total_set = 0;

		for (unsigned s = 0; s < p->c && w + 1 < p->windows; s++)
			he_mont_mul(m, out, out, out);
		memset(p->used, 0, p->nbuckets);
		for (size_t i = 0; i < p->count; i++) {
			unsigned d;
			uint64_t *bk;

			if (p->neg[i] != neg || !(d = digit_at(p->e[i], w * p->c, p->c)))
				continue;
			bk = p->bucket + (d - 1) * K;
			if (p->used[d - 1]) {
				he_mont_mul(m, bk, bk, p->base + i * K);
			} else {
				memcpy(bk, p->base + i * K, bytes);
				p->used[d - 1] = 1;
			}
		}
		/* Σ d·B_d as running products from the top digit down. */
		for (size_t d = p->nbuckets; d >= 1; d--) {
			if (p->used[d - 1]) {
				if (run_set)
					he_mont_mul(m, p->run, p->run, p->bucket + (d - 1) * K);
				else
					memcpy(p->run, p->bucket + (d - 1) * K, bytes);
				run_set = 1;
			}
			if (!run_set)
				continue;
			if (total_set)
				he_mont_mul(m, p->total, p->total, p->run);
			else
				memcpy(p->total, p->run, bytes);
			total_set = 1;
		}
		if (total_set)
			he_mont_mul(m, out, out, p->total);
	}
}

/*
 * Negative scalars are not inverted term by term (an inversion mod n²
 * costs some 30 multiplications): the positive and the negative terms go
 * through Pippenger apart, and the product of the negative ones is
 * inverted once.
 */
int sr_he_multiexp(const struct sr_he_pk *pk, mpz_t *cts, mpz_t *scalars,
		   size_t count, mpz_t out, struct sr_err *err)
{
	const struct he_mont *m = &pk->mont;
	const size_t K = m->limbs;
	struct pippenger p = { 0 };
	size_t bits = 0, negs = 0;
	uint64_t *base = NULL, *acc = NULL;
	unsigned char *neg = NULL;
	mpz_t *e = NULL, pos_v, neg_v;
	int rc;

	if (count < HE_MULTIEXP_MIN_TERMS)
		return sr_he_multiexp_naive(pk, cts, scalars, count, out, err);
	if ((rc = sr_he_cts_new(count, &e, err)))
		return rc;
	neg = sr_calloc(count, 1);
	base = he_mont_alloc(m, count);
	if (!neg || !base) {
		rc = sr_fail(err, SR_ENOMEM, "multiexp: %zu terms", count);
		goto out_free;
	}
	for (size_t i = 0; i < count; i++) {
		size_t b;

		mpz_mod(e[i], scalars[i], pk->n);
		if (mpz_cmp(e[i], pk->half_n) > 0) {
			mpz_sub(e[i], pk->n, e[i]);
			neg[i] = 1;
			negs++;
		}
		b = mpz_sgn(e[i]) ? mpz_sizeinbase(e[i], 2) : 0;
		if (b > bits)
			bits = b;
		he_mont_to(m, base + i * K, cts[i]);
	}
	p.m = m;
	p.base = base;
	p.e = e;
	p.neg = neg;
	p.count = count;
	p.c = best_window(count, bits ? bits : 1);
	p.windows = (bits + p.c - 1) / p.c;
	p.nbuckets = ((size_t)1 << p.c) - 1;
	p.bucket = he_mont_alloc(m, p.nbuckets);
	acc = he_mont_alloc(m, 4);
	p.used = sr_calloc(p.nbuckets, 1);
	if (!p.bucket || !acc || !p.used) {
		rc = sr_fail(err, SR_ENOMEM, "multiexp: %zu buckets", p.nbuckets);
		goto out_free;
	}
	p.run = acc + 2 * K;
	p.total = acc + 3 * K;
	pippenger_run(&p, 0, acc);
	mpz_inits(pos_v, neg_v, NULL);
	he_mont_from(m, pos_v, acc);
	if (negs) {
		pippenger_run(&p, 1, acc + K);
		he_mont_from(m, neg_v, acc + K);
		if (!mpz_invert(neg_v, neg_v, pk->n2))
			rc = sr_fail(err, SR_EINVAL,
				     "multiexp: a ciphertext with a negative scalar is not invertible mod n^2");
		else
			he_mulmod(pk, pos_v, pos_v, neg_v);
	}
	if (rc == SR_OK)
		mpz_swap(out, pos_v);
	mpz_clears(pos_v, neg_v, NULL);
out_free:
	he_mont_free(m, base, count);
	he_mont_free(m, p.bucket, p.nbuckets);
	he_mont_free(m, acc, 4);
	sr_free(p.used);
	sr_free(neg);
	sr_he_cts_free(e, count);
	return rc;
}
