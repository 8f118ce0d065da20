/*
 * serial.c - the binary formats of src/he (docs/internals/he.md):
 *
 *   public key   "SRHP" | u8 1 | u16be bits | n[bits/8] | hs[bits/4]
 *   secret key   "SRHS" | u8 1 | u16be bits | p[bits/16] | q[bits/16] | x[bits/8]
 *   ciphertext   c[bits/4]                       (big-endian, fixed width)
 *   batch        "SRHB" | u8 1 | u16be bits | u32be count | count ciphertexts
 *
 * Every decoder checks the exact length before it reads, and every value
 * against its group; the wire accepts 2048- and 3072-bit keys only.
 */
#include "he/he_int.h"

#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"

#include "base/banned.h"

#define HE_FORMAT_VERSION 1u
#define HE_HEADER_BYTES 7u  /* magic, version, bits */
#define HE_BATCH_HEADER_BYTES (HE_HEADER_BYTES + 4u)

static const char HE_MAGIC_PK[4] = { 'S', 'R', 'H', 'P' };
static const char HE_MAGIC_SK[4] = { 'S', 'R', 'H', 'S' };
static const char HE_MAGIC_BATCH[4] = { 'S', 'R', 'H', 'B' };

static int add_header(struct sr_buf *out, const char magic[4], unsigned bits,
		      struct sr_err *err)
{
	uint8_t h[HE_HEADER_BYTES];

	memcpy(h, magic, 4);
	h[4] = HE_FORMAT_VERSION;
	h[5] = (uint8_t)(bits >> 8);
	h[6] = (uint8_t)bits;
	if (sr_buf_add(out, h, sizeof(h)))
		return sr_fail(err, SR_ENOMEM, "paillier encoding");
	return SR_OK;
}

/* Append v as exactly len big-endian bytes (through a wiped scratch). */
static int add_fixed(struct sr_buf *out, const mpz_t v, size_t len,
		     struct sr_err *err)
{
	size_t at = out->len;

	if (sr_buf_grow(out, len))
		return sr_fail(err, SR_ENOMEM, "paillier encoding");
	he_export(v, (uint8_t *)out->data + at, len);
	sr_buf_setlen(out, at + len);
	return SR_OK;
}

/*
 * Check magic, version and bits; return the key size in *bits.  `what`
 * names the object in errors.
 */
/* want: the key size the caller expects, or 0 for either wire size. */
static int read_header_bits(const uint8_t *in, size_t len, const char magic[4],
			    const char *what, unsigned want, unsigned *bits,
			    struct sr_err *err)
{
	if (len < HE_HEADER_BYTES)
		return sr_fail(err, SR_EINVAL, "%s: %zu bytes: shorter than its %u-byte header",
			       what, len, HE_HEADER_BYTES);
	if (memcmp(in, magic, 4) != 0)
		return sr_fail(err, SR_EINVAL, "%s: bad magic: expected \"%.4s\"",
			       what, magic);
	if (in[4] != HE_FORMAT_VERSION)
		return sr_fail(err, SR_EINVAL, "%s: version %u: expected %u", what,
			       in[4], HE_FORMAT_VERSION);
	*bits = ((unsigned)in[5] << 8) | in[6];
	if (want && *bits != want)
		return sr_fail(err, SR_EINVAL, "%s: %u-bit key: expected %u",
			       what, *bits, want);
	if (!want && *bits != SR_HE_BITS_DEFAULT && *bits != SR_HE_BITS_STRONG)
		return sr_fail(err, SR_EINVAL, "%s: %u-bit key: expected 2048 or 3072",
			       what, *bits);
	return SR_OK;
}

static int read_header(const uint8_t *in, size_t len, const char magic[4],
		       const char *what, unsigned *bits, struct sr_err *err)
{
	return read_header_bits(in, len, magic, what, 0, bits, err);
}

static int exact_length(size_t len, size_t want, const char *what,
			struct sr_err *err)
{
	if (len != want)
		return sr_fail(err, SR_EINVAL, "%s: %zu bytes: expected exactly %zu",
			       what, len, want);
	return SR_OK;
}

int sr_he_pk_encode(const struct sr_he_pk *pk, struct sr_buf *out,
		    struct sr_err *err)
{
	int rc = add_header(out, HE_MAGIC_PK, pk->bits, err);

	if (rc == SR_OK)
		rc = add_fixed(out, pk->n, pk->bits / 8, err);
	if (rc == SR_OK)
		rc = add_fixed(out, pk->hs, pk->bits / 4, err);
	return rc;
}

size_t sr_he_pk_wire_bytes(unsigned bits)
{
	return HE_HEADER_BYTES + 3 * (size_t)bits / 8;
}

int sr_he_pk_decode(const uint8_t *in, size_t len, struct sr_pool *pool,
		    struct sr_he_pk **out, struct sr_err *err)
{
	return sr_he_pk_decode_bits(in, len, 0, pool, out, err);
}

int sr_he_pk_decode_bits(const uint8_t *in, size_t len, unsigned want,
			 struct sr_pool *pool, struct sr_he_pk **out,
			 struct sr_err *err)
{
	struct sr_he_pk *pk = NULL;
	unsigned bits = 0;
	int rc;

	*out = NULL;
	if (want && (want < SR_HE_BITS_TEST_MIN || want > 4096 || want % 64))
		return sr_fail(err, SR_EINVAL,
			       "paillier public key: %u bits asked: not a key size", want);
	rc = read_header_bits(in, len, HE_MAGIC_PK, "paillier public key", want,
			      &bits, err);
	if (rc)
		return rc;
	rc = exact_length(len, sr_he_pk_wire_bytes(bits), "paillier public key", err);
	if (rc)
		return rc;
	pk = he_pk_alloc();
	if (!pk)
		return sr_fail(err, SR_ENOMEM, "paillier public key");
	pk->bits = bits;
	he_import(pk->n, in + HE_HEADER_BYTES, bits / 8);
	he_import(pk->hs, in + HE_HEADER_BYTES + bits / 8, bits / 4);
	if (mpz_sizeinbase(pk->n, 2) != bits || mpz_even_p(pk->n) ||
	    mpz_perfect_power_p(pk->n) || mpz_probab_prime_p(pk->n, 2)) {
		rc = sr_fail(err, SR_EINVAL,
			     "paillier public key: n: expected an odd composite of exactly %u bits",
			     bits);
		goto out;
	}
	mpz_mul(pk->n2, pk->n, pk->n);
	rc = he_check_ct(pk, pk->hs, "paillier public key: hs", err);
	if (rc == SR_OK && mpz_cmp_ui(pk->hs, 1) == 0)
		rc = sr_fail(err, SR_EINVAL, "paillier public key: hs: must not be 1");
	if (rc == SR_OK)
		rc = he_pk_finish(pk, pool, err);
out:
	if (rc) {
		sr_he_pk_free(pk);
		return rc;
	}
	*out = pk;
	return SR_OK;
}

int sr_he_sk_encode(const struct sr_he_sk *sk, struct sr_buf *out,
		    struct sr_err *err)
{
	unsigned bits = sk->pk->bits;
	int rc = add_header(out, HE_MAGIC_SK, bits, err);

	if (rc == SR_OK)
		rc = add_fixed(out, sk->p, bits / 16, err);
	if (rc == SR_OK)
		rc = add_fixed(out, sk->q, bits / 16, err);
	if (rc == SR_OK)
		rc = add_fixed(out, sk->x, bits / 8, err);
	return rc;
}

int sr_he_sk_decode(const uint8_t *in, size_t len, struct sr_pool *pool,
		    struct sr_he_sk **sk, struct sr_err *err)
{
	unsigned bits = 0;
	mpz_t p, q, x;
	int rc;

	*sk = NULL;
	he_gmp_setup();
	rc = read_header(in, len, HE_MAGIC_SK, "paillier secret key", &bits, err);
	if (rc)
		return rc;
	rc = exact_length(len, HE_HEADER_BYTES + (size_t)bits / 4,
			  "paillier secret key", err);
	if (rc)
		return rc;
	mpz_inits(p, q, x, NULL);
	he_import(p, in + HE_HEADER_BYTES, bits / 16);
	he_import(q, in + HE_HEADER_BYTES + bits / 16, bits / 16);
	he_import(x, in + HE_HEADER_BYTES + bits / 8, bits / 8);
	rc = sr_he_keygen_from(bits, p, q, x, pool, NULL, sk, err);
	mpz_clears(p, q, x, NULL);  /* wiped by the free hook */
	if (rc)
		sr_err_prefix(err, "paillier secret key");
	return rc;
}

void sr_he_ct_encode(const struct sr_he_pk *pk, const mpz_t c, uint8_t *out)
{
	he_export(c, out, sr_he_ct_bytes(pk));
}

int sr_he_ct_decode(const struct sr_he_pk *pk, const uint8_t *in, size_t len,
		    mpz_t c, struct sr_err *err)
{
	mpz_t v;
	int rc;

	rc = exact_length(len, sr_he_ct_bytes(pk), "paillier ciphertext", err);
	if (rc)
		return rc;
	mpz_init(v);
	he_import(v, in, len);
	rc = he_check_ct(pk, v, "paillier ciphertext", err);
	if (rc == SR_OK)
		mpz_swap(c, v);
	mpz_clear(v);
	return rc;
}

int sr_he_batch_encode(const struct sr_he_pk *pk, mpz_t *cts, size_t count,
		       struct sr_buf *out, struct sr_err *err)
{
	size_t width = sr_he_ct_bytes(pk);
	uint8_t n[4];
	int rc;

	if (count > UINT32_MAX || count > (SIZE_MAX - HE_BATCH_HEADER_BYTES) / width)
		return sr_fail(err, SR_ELIMIT, "ciphertext batch: %zu ciphertexts: too many",
			       count);
	rc = add_header(out, HE_MAGIC_BATCH, pk->bits, err);
	if (rc)
		return rc;
	n[0] = (uint8_t)(count >> 24);
	n[1] = (uint8_t)(count >> 16);
	n[2] = (uint8_t)(count >> 8);
	n[3] = (uint8_t)count;
	if (sr_buf_add(out, n, 4) || sr_buf_grow(out, count * width))
		return sr_fail(err, SR_ENOMEM, "ciphertext batch of %zu", count);
	for (size_t i = 0; i < count; i++) {
		size_t at = out->len;

		sr_he_ct_encode(pk, cts[i], (uint8_t *)out->data + at);
		sr_buf_setlen(out, at + width);
	}
	return SR_OK;
}

int sr_he_batch_decode(const struct sr_he_pk *pk, const uint8_t *in,
		       size_t len, size_t max_count, mpz_t **cts_out,
		       size_t *count_out, struct sr_err *err)
{
	size_t width = sr_he_ct_bytes(pk), count;
	unsigned bits = 0;
	mpz_t *cts = NULL;
	int rc;

	*cts_out = NULL;
	*count_out = 0;
	/* Either wire size, or a test-sized key's own size. */
	rc = read_header_bits(in, len, HE_MAGIC_BATCH, "ciphertext batch",
			      pk->bits == SR_HE_BITS_DEFAULT || pk->bits == SR_HE_BITS_STRONG ?
			      0 : pk->bits, &bits, err);
	if (rc)
		return rc;
	if (bits != pk->bits)
		return sr_fail(err, SR_EINVAL,
			       "ciphertext batch: %u-bit key: expected %u (the key's)",
			       bits, pk->bits);
	if (len < HE_BATCH_HEADER_BYTES)
		return sr_fail(err, SR_EINVAL,
			       "ciphertext batch: %zu bytes: shorter than its %u-byte header",
			       len, HE_BATCH_HEADER_BYTES);
	count = ((size_t)in[7] << 24) | ((size_t)in[8] << 16) |
		((size_t)in[9] << 8) | in[10];
	if (count > max_count)
		return sr_fail(err, SR_ELIMIT,
			       "ciphertext batch: %zu ciphertexts: at most %zu expected",
			       count, max_count);
	if ((len - HE_BATCH_HEADER_BYTES) / width != count ||
	    (len - HE_BATCH_HEADER_BYTES) % width != 0)
		return sr_fail(err, SR_EINVAL,
			       "ciphertext batch: %zu bytes for %zu ciphertexts: expected exactly %zu",
			       len, count, HE_BATCH_HEADER_BYTES + count * width);
	rc = sr_he_cts_new(count, &cts, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++) {
		rc = sr_he_ct_decode(pk, in + HE_BATCH_HEADER_BYTES + i * width,
				     width, cts[i], err);
		if (rc) {
			sr_err_prefix(err, "ciphertext batch: item %zu", i);
			sr_he_cts_free(cts, count);
			return rc;
		}
	}
	*cts_out = cts;
	*count_out = count;
	return SR_OK;
}
