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

int sr_he_multiexp(const struct sr_he_pk *pk, mpz_t *cts, mpz_t *scalars,
		   size_t count, mpz_t out, struct sr_err *err)
{
	const struct he_mont *m = &pk->mont;
	const size_t K = m->limbs, bytes = K * sizeof(uint64_t);
	struct terms t;
	size_t bits = 0, windows, nbuckets;
	unsigned c;
	uint64_t *base = NULL, *bucket = NULL, *acc = NULL, *run, *total;
	unsigned char *used = NULL;
	int rc;

	if (count < HE_MULTIEXP_MIN_TERMS)
		return sr_he_multiexp_naive(pk, cts, scalars, count, out, err);
	rc = terms_init(pk, cts, scalars, count, &t, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++) {
		size_t b = mpz_sgn(t.e[i]) ? mpz_sizeinbase(t.e[i], 2) : 0;

		if (b > bits)
			bits = b;
	}
	c = best_window(count, bits ? bits : 1);
	windows = (bits + c - 1) / c;
	nbuckets = ((size_t)1 << c) - 1;
	/* Everything in Montgomery form, converted once. */
	base = he_mont_alloc(m, count);
	bucket = he_mont_alloc(m, nbuckets);
	acc = he_mont_alloc(m, 3);
	used = sr_calloc(nbuckets, 1);
	if (!base || !bucket || !acc || !used) {
		rc = sr_fail(err, SR_ENOMEM, "multiexp: %zu terms, %zu buckets", count, nbuckets);
		goto out_free;
	}
	run = acc + K;
	total = run + K;
	for (size_t i = 0; i < count; i++)
		he_mont_to(m, base + i * K, t.base[i]);
	memcpy(acc, m->one, bytes);
	for (size_t w = windows; w-- > 0;) {
		int run_set = 0, total_set = 0;

		for (unsigned s = 0; s < c && w + 1 < windows; s++)
			he_mont_mul(m, acc, acc, acc);
		memset(used, 0, nbuckets);
		for (size_t i = 0; i < count; i++) {
			unsigned d = digit_at(t.e[i], w * c, c);
			uint64_t *bk;

			if (!d)
				continue;
			bk = bucket + (d - 1) * K;
			if (used[d - 1]) {
				he_mont_mul(m, bk, bk, base + i * K);
			} else {
				memcpy(bk, base + i * K, bytes);
				used[d - 1] = 1;
			}
		}
		/* Σ d·B_d as running products from the top digit down. */
		for (size_t d = nbuckets; d >= 1; d--) {
			if (used[d - 1]) {
				if (run_set)
					he_mont_mul(m, run, run, bucket + (d - 1) * K);
				else
					memcpy(run, bucket + (d - 1) * K, bytes);
				run_set = 1;
			}
			if (!run_set)
				continue;
			if (total_set)
				he_mont_mul(m, total, total, run);
			else
				memcpy(total, run, bytes);
			total_set = 1;
		}
		if (total_set)
			he_mont_mul(m, acc, acc, total);
	}
	he_mont_from(m, out, acc);
out_free:
	he_mont_free(m, base, count);
	he_mont_free(m, bucket, nbuckets);
	he_mont_free(m, acc, 3);
	sr_free(used);
	terms_release(&t);
	return rc;
}
