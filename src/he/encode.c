/*
 * encode.c - plaintext encodings: signed integers (x < 0 as n − |x|),
 * fixed point (round(x · 2^f)), and packing of several signed values into
 * one plaintext with headroom for a declared number of additions.
 */
#include "he/he_int.h"

#include <math.h>

#include "base/banned.h"

_Static_assert(sizeof(long) == sizeof(int64_t),
	       "mpz_set_si must take an int64_t");

/* The plaintext bits a packing may use: a packed sum stays below 2^(|n|−2) < n. */
#define HE_PACK_SPARE_BITS 2u
/* Declared additions are below 2^32, so term counts never overflow. */
#define HE_PACK_MAX_ADDITIONS (UINT64_C(1) << 32)

int sr_he_encode_signed(const struct sr_he_pk *pk, const mpz_t v, mpz_t m,
			struct sr_err *err)
{
	if (mpz_cmpabs(v, pk->half_n) > 0)
		return sr_fail(err, SR_ELIMIT,
			       "signed plaintext: |v| must be at most (n-1)/2 (%zu bits)",
			       mpz_sizeinbase(pk->half_n, 2));
	mpz_mod(m, v, pk->n);
	return SR_OK;
}

void sr_he_decode_signed(const struct sr_he_pk *pk, const mpz_t m, mpz_t v)
{
	if (mpz_cmp(m, pk->half_n) > 0)
		mpz_sub(v, m, pk->n);
	else
		mpz_set(v, m);
}

void sr_he_encode_i64(const struct sr_he_pk *pk, int64_t v, mpz_t m)
{
	mpz_set_si(m, (long)v);
	if (v < 0)
		mpz_add(m, m, pk->n);
}

int sr_he_decode_i64(const struct sr_he_pk *pk, const mpz_t m, int64_t *v,
		     struct sr_err *err)
{
	mpz_t s;
	int rc = SR_OK;

	mpz_init(s);
	sr_he_decode_signed(pk, m, s);
	if (mpz_fits_slong_p(s))
		*v = (int64_t)mpz_get_si(s);
	else
		rc = sr_fail(err, SR_ELIMIT,
			     "signed plaintext: %zu bits does not fit a 64-bit integer",
			     mpz_sizeinbase(s, 2));
	mpz_clear(s);
	return rc;
}

int sr_he_encode_fixed(const struct sr_he_pk *pk, double x,
		       unsigned frac_bits, mpz_t m, struct sr_err *err)
{
	double scaled;
	mpz_t v;
	int rc;

	if (!isfinite(x))
		return sr_fail(err, SR_EINVAL, "fixed-point plaintext: not a finite number");
	if (frac_bits > SR_HE_FRAC_BITS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "fixed-point plaintext: %u fraction bits: at most %u",
			       frac_bits, SR_HE_FRAC_BITS_MAX);
	scaled = round(ldexp(x, (int)frac_bits));
	if (!isfinite(scaled))
		return sr_fail(err, SR_ELIMIT,
			       "fixed-point plaintext: x * 2^%u overflows a double",
			       frac_bits);
	mpz_init_set_d(v, scaled);
	rc = sr_he_encode_signed(pk, v, m, err);
	mpz_clear(v);
	return rc;
}

int sr_he_decode_fixed(const struct sr_he_pk *pk, const mpz_t m,
		       unsigned frac_bits, double *x, struct sr_err *err)
{
	mpz_t v;
	long e;
	double d;
	int rc = SR_OK;

	if (frac_bits > SR_HE_FRAC_BITS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "fixed-point plaintext: %u fraction bits: at most %u",
			       frac_bits, SR_HE_FRAC_BITS_MAX);
	mpz_init(v);
	sr_he_decode_signed(pk, m, v);
	d = mpz_get_d_2exp(&e, v);  /* v ≈ d · 2^e, |d| ∈ [0.5, 1) */
	if (e - (long)frac_bits > 1023)
		rc = sr_fail(err, SR_ELIMIT,
			     "fixed-point plaintext: 2^%ld does not fit a double",
			     e - (long)frac_bits);
	else
		*x = ldexp(d, (int)(e - (long)frac_bits));
	mpz_clear(v);
	return rc;
}

/* ---- packing ------------------------------------------------------------- */

int sr_he_packing_init(struct sr_he_packing *packing,
		       const struct sr_he_pk *pk, unsigned value_bits,
		       uint64_t additions, size_t slots, struct sr_err *err)
{
	unsigned headroom = 0;
	size_t usable = pk->bits - HE_PACK_SPARE_BITS, fit;

	if (value_bits < 1 || value_bits > 64)
		return sr_fail(err, SR_EINVAL,
			       "packing: value_bits %u: expected 1 to 64", value_bits);
	if (additions >= HE_PACK_MAX_ADDITIONS)
		return sr_fail(err, SR_ELIMIT,
			       "packing: %llu additions: expected fewer than 2^32",
			       (unsigned long long)additions);
	/* ⌈log2(additions + 1)⌉: a sum of t values of b bits fits b + that. */
	for (uint64_t a = additions; a; a >>= 1)
		headroom++;
	fit = usable / (value_bits + headroom);
	if (slots == 0)
		slots = fit;
	if (slots == 0 || slots > fit)
		return sr_fail(err, SR_ELIMIT,
			       "packing: %zu slots of %u bits (%u value + %u headroom) do not fit a %u-bit plaintext: at most %zu",
			       slots, value_bits + headroom, value_bits, headroom,
			       pk->bits, fit);
	packing->value_bits = value_bits;
	packing->max_terms = additions + 1;
	packing->slots = slots;
	packing->slot_bits = value_bits + headroom;
	return SR_OK;
}

static uint64_t pack_offset(const struct sr_he_packing *packing)
{
	return UINT64_C(1) << (packing->value_bits - 1);
}

int sr_he_pack(const struct sr_he_packing *packing, const int64_t *values,
	       size_t count, mpz_t m, struct sr_err *err)
{
	int64_t lo = -(int64_t)(pack_offset(packing) - 1) - 1;
	int64_t hi = (int64_t)(pack_offset(packing) - 1);

	if (count > packing->slots)
		return sr_fail(err, SR_EINVAL, "packing: %zu values for %zu slots",
			       count, packing->slots);
	for (size_t i = 0; i < count; i++)
		if (values[i] < lo || values[i] > hi)
			return sr_fail(err, SR_ELIMIT,
				       "packing: value %zu (%lld) outside the %u-bit range [%lld, %lld]",
				       i, (long long)values[i], packing->value_bits,
				       (long long)lo, (long long)hi);
	mpz_set_ui(m, 0);
	for (size_t i = packing->slots; i-- > 0;) {
		int64_t v = i < count ? values[i] : 0;
		/* Two's complement wrap: v + offset ∈ [0, 2^value_bits). */
		uint64_t stored = (uint64_t)v + pack_offset(packing);

		mpz_mul_2exp(m, m, packing->slot_bits);
		mpz_add_ui(m, m, (unsigned long)stored);
	}
	return SR_OK;
}

int sr_he_unpack(const struct sr_he_packing *packing, const mpz_t m,
		 uint64_t terms, mpz_t *out, size_t count, struct sr_err *err)
{
	mpz_t slot, bias, top;
	int rc = SR_OK;

	if (terms == 0 || terms > packing->max_terms)
		return sr_fail(err, SR_ELIMIT,
			       "packing: a sum of %llu terms: this packing allows 1 to %llu",
			       (unsigned long long)terms,
			       (unsigned long long)packing->max_terms);
	if (count > packing->slots)
		return sr_fail(err, SR_EINVAL, "packing: %zu values asked of %zu slots",
			       count, packing->slots);
	if (mpz_sgn(m) < 0 ||
	    mpz_sizeinbase(m, 2) > packing->slots * packing->slot_bits)
		return sr_fail(err, SR_EINVAL,
			       "packing: plaintext has bits above the last slot (overflow or not packed)");
	mpz_inits(slot, bias, top, NULL);
	/* bias = terms · offset; top = terms · (2^value_bits − 1) */
	mpz_set_ui(bias, (unsigned long)pack_offset(packing));
	mpz_mul_ui(bias, bias, (unsigned long)terms);
	mpz_set_ui(top, 1);
	mpz_mul_2exp(top, top, packing->value_bits);
	mpz_sub_ui(top, top, 1);
	mpz_mul_ui(top, top, (unsigned long)terms);
	for (size_t i = 0; i < count; i++) {
		mpz_fdiv_q_2exp(slot, m, i * packing->slot_bits);
		mpz_fdiv_r_2exp(slot, slot, packing->slot_bits);
		if (mpz_cmp(slot, top) > 0) {
			rc = sr_fail(err, SR_EINVAL,
				     "packing: slot %zu exceeds what %llu terms can reach",
				     i, (unsigned long long)terms);
			break;
		}
		mpz_sub(out[i], slot, bias);
	}
	mpz_clears(slot, bias, top, NULL);
	return rc;
}

void sr_he_pct_init(struct sr_he_pct *pct)
{
	mpz_init(pct->c);
	pct->terms = 0;
}

void sr_he_pct_release(struct sr_he_pct *pct)
{
	mpz_clear(pct->c);
	pct->terms = 0;
}

int sr_he_pct_encrypt(const struct sr_he_pk *pk,
		      const struct sr_he_packing *packing,
		      const int64_t *values, size_t count,
		      struct sr_he_pct *out, struct sr_err *err)
{
	mpz_t m;
	int rc;

	mpz_init(m);
	rc = sr_he_pack(packing, values, count, m, err);
	if (rc == SR_OK)
		rc = sr_he_encrypt(pk, m, out->c, err);
	if (rc == SR_OK)
		out->terms = 1;
	mpz_clear(m);
	return rc;
}

int sr_he_pct_add(const struct sr_he_pk *pk,
		  const struct sr_he_packing *packing,
		  const struct sr_he_pct *a, const struct sr_he_pct *b,
		  struct sr_he_pct *out, struct sr_err *err)
{
	uint64_t terms;

	if (a->terms == 0 || b->terms == 0 || a->terms > packing->max_terms ||
	    b->terms > packing->max_terms)
		return sr_fail(err, SR_EINVAL,
			       "packed ciphertext: term count outside 1 to %llu",
			       (unsigned long long)packing->max_terms);
	terms = a->terms + b->terms;  /* both ≤ 2^32: no wrap */
	if (terms > packing->max_terms)
		return sr_fail(err, SR_ELIMIT,
			       "packed ciphertext: %llu + %llu terms exceed the headroom of %llu (declared %llu additions)",
			       (unsigned long long)a->terms,
			       (unsigned long long)b->terms,
			       (unsigned long long)packing->max_terms,
			       (unsigned long long)(packing->max_terms - 1));
	sr_he_add(pk, a->c, b->c, out->c);
	out->terms = terms;
	return SR_OK;
}

int sr_he_pct_decrypt(const struct sr_he_sk *sk,
		      const struct sr_he_packing *packing,
		      const struct sr_he_pct *pct, mpz_t *out, size_t count,
		      struct sr_err *err)
{
	mpz_t m;
	int rc;

	mpz_init(m);
	rc = sr_he_decrypt(sk, pct->c, m, err);
	if (rc == SR_OK)
		rc = sr_he_unpack(packing, m, pct->terms, out, count, err);
	mpz_clear(m);
	return rc;
}
