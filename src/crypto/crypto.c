/*
 * crypto.c - thin, misuse-resistant wrappers over libsodium (see crypto.h and
 * docs/internals/crypto.md).
 *
 * Everything here is a direct call into libsodium plus the framing that
 * gives each use its own domain: a length-prefixed tag in front of every
 * hash input, associated data on every AEAD, a per-context prefix on every
 * hash-to-group.  Lengths are framed as u32le so that no tag can be a prefix
 * of another tag's framing.
 */
#include "crypto/crypto.h"

#include <string.h>

#include "base/banned.h"

#define H2G_TAG "sealroom.h2g.v1"

_Static_assert(SR_HASH_BYTES == crypto_generichash_blake2b_BYTES,
	       "sr_hash is BLAKE2b-256");
_Static_assert(SR_HASH_BYTES >= crypto_generichash_blake2b_BYTES_MIN &&
	       SR_HASH_BYTES <= crypto_generichash_blake2b_BYTES_MAX,
	       "hash size within BLAKE2b's range");
_Static_assert(SR_AEAD_KEYBYTES == 32 && SR_AEAD_NONCEBYTES == 24 &&
	       SR_AEAD_ABYTES == 16, "XChaCha20-Poly1305-IETF sizes");
_Static_assert(SR_WRAPPED_KEY_BYTES == 72, "wrapped key = 24 + 32 + 16");
_Static_assert(SR_BOX_PUBLICKEYBYTES == crypto_scalarmult_curve25519_BYTES &&
	       SR_BOX_SECRETKEYBYTES == crypto_scalarmult_curve25519_SCALARBYTES,
	       "box keys are X25519 keys");
_Static_assert(SR_BOX_SEALBYTES ==
	       crypto_box_PUBLICKEYBYTES + crypto_box_MACBYTES,
	       "sealed box overhead");
_Static_assert(SR_POINT_BYTES == 32 && SR_SCALAR_BYTES == 32,
	       "ristretto255 encodings");
_Static_assert(crypto_core_ristretto255_HASHBYTES ==
	       crypto_generichash_blake2b_BYTES_MAX,
	       "from_hash takes a BLAKE2b-512 output");
_Static_assert(sizeof(H2G_TAG) - 1 < 256, "short tag");

int sr_crypto_init(void)
{
	/* 0 = initialised now, 1 = already initialised. */
	return sodium_init() < 0 ? SR_EINTERNAL : SR_OK;
}

void sr_random_buf(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* Absorb u32le(len) || data: the framing of every tag and context. */
static void absorb_framed(crypto_generichash_blake2b_state *st,
			  const void *data, size_t len)
{
	unsigned char len_le[4];

	if (len > UINT32_MAX)
		SR_BUG("framed field longer than 4 GiB");
	len_le[0] = (unsigned char)len;
	len_le[1] = (unsigned char)(len >> 8);
	len_le[2] = (unsigned char)(len >> 16);
	len_le[3] = (unsigned char)(len >> 24);
	crypto_generichash_blake2b_update(st, len_le, sizeof(len_le));
	if (len)
		crypto_generichash_blake2b_update(st, data, len);
}

void sr_hasher_init(struct sr_hasher *h, const char *domain)
{
	if (!domain)
		SR_BUG("sr_hasher_init without a domain");
	crypto_generichash_blake2b_init(&h->state, NULL, 0, SR_HASH_BYTES);
	absorb_framed(&h->state, domain, strlen(domain));
}

void sr_hasher_update(struct sr_hasher *h, const void *data, size_t len)
{
	if (len)
		crypto_generichash_blake2b_update(&h->state, data, len);
}

void sr_hasher_final(struct sr_hasher *h, uint8_t out[SR_HASH_BYTES])
{
	crypto_generichash_blake2b_final(&h->state, out, SR_HASH_BYTES);
	/* The state may have absorbed private data (e.g. row values). */
	sodium_memzero(&h->state, sizeof(h->state));
}

void sr_hash(uint8_t out[SR_HASH_BYTES], const char *domain, const void *data,
	     size_t len)
{
	struct sr_hasher h;

	sr_hasher_init(&h, domain);
	sr_hasher_update(&h, data, len);
	sr_hasher_final(&h, out);
}

void sr_hex(char *out, const uint8_t *data, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, data, len);
}

int sr_unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t bin_len = 0;

	if (!hex || strlen(hex) != 2 * len)
		return SR_EINVAL;
	/* sodium_hex2bin is constant-time: hex strings may hold keys. */
	if (sodium_hex2bin(out, len, hex, 2 * len, NULL, &bin_len, NULL) != 0 ||
	    bin_len != len) {
		sodium_memzero(out, len);
		return SR_EINVAL;
	}
	return SR_OK;
}

void sr_aead_seal(uint8_t *out, const uint8_t *msg, size_t len,
		  const uint8_t *ad, size_t ad_len,
		  const uint8_t nonce[SR_AEAD_NONCEBYTES],
		  const uint8_t key[SR_AEAD_KEYBYTES])
{
	if (!key || !nonce)
		SR_BUG("sr_aead_seal without key or nonce");
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, msg, len, ad,
						   ad_len, NULL, nonce, key);
}

int sr_aead_open(uint8_t *out, const uint8_t *ct, size_t ct_len,
		 const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[SR_AEAD_NONCEBYTES],
		 const uint8_t key[SR_AEAD_KEYBYTES])
{
	if (!key || !nonce)
		SR_BUG("sr_aead_open without key or nonce");
	if (ct_len < SR_AEAD_ABYTES)
		return SR_ECRYPTO;
	/* On failure libsodium leaves out zeroed, never partly decrypted. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, ct,
						       ct_len, ad, ad_len,
						       nonce, key) != 0)
		return SR_ECRYPTO;
	return SR_OK;
}

void sr_key_wrap(uint8_t out[SR_WRAPPED_KEY_BYTES], const uint8_t key[32],
		 const uint8_t wrap_key[SR_AEAD_KEYBYTES], const uint8_t *ad,
		 size_t ad_len)
{
	randombytes_buf(out, SR_AEAD_NONCEBYTES);
	sr_aead_seal(out + SR_AEAD_NONCEBYTES, key, 32, ad, ad_len, out,
		     wrap_key);
}

int sr_key_unwrap(uint8_t key[32], const uint8_t in[SR_WRAPPED_KEY_BYTES],
		  const uint8_t wrap_key[SR_AEAD_KEYBYTES], const uint8_t *ad,
		  size_t ad_len)
{
	int rc = sr_aead_open(key, in + SR_AEAD_NONCEBYTES,
			      SR_WRAPPED_KEY_BYTES - SR_AEAD_NONCEBYTES, ad,
			      ad_len, in, wrap_key);

	if (rc)
		sodium_memzero(key, 32);
	return rc;
}

void sr_box_keypair(uint8_t pk[SR_BOX_PUBLICKEYBYTES],
		    uint8_t sk[SR_BOX_SECRETKEYBYTES])
{
	crypto_box_keypair(pk, sk);
}

void sr_box_seal(uint8_t *out, const uint8_t *msg, size_t len,
		 const uint8_t pk[SR_BOX_PUBLICKEYBYTES])
{
	if (!pk)
		SR_BUG("sr_box_seal without a public key");
	/* Fails only on an invalid (small-order) public key: misuse. */
	if (crypto_box_seal(out, msg, len, pk) != 0)
		SR_BUG("crypto_box_seal failed: invalid recipient public key");
}

int sr_box_open(uint8_t *out, const uint8_t *ct, size_t ct_len,
		const uint8_t pk[SR_BOX_PUBLICKEYBYTES],
		const uint8_t sk[SR_BOX_SECRETKEYBYTES])
{
	if (!pk || !sk)
		SR_BUG("sr_box_open without keys");
	if (ct_len < SR_BOX_SEALBYTES)
		return SR_ECRYPTO;
	if (crypto_box_seal_open(out, ct, ct_len, pk, sk) != 0)
		return SR_ECRYPTO;
	return SR_OK;
}

void sr_h2g_init(struct sr_h2g *h, const void *context, size_t context_len)
{
	crypto_generichash_blake2b_init(&h->prefix, NULL, 0,
					crypto_core_ristretto255_HASHBYTES);
	absorb_framed(&h->prefix, H2G_TAG, sizeof(H2G_TAG) - 1);
	absorb_framed(&h->prefix, context, context_len);
}

void sr_h2g_hash(const struct sr_h2g *h, const void *msg, size_t len,
		 uint8_t point[SR_POINT_BYTES])
{
	crypto_generichash_blake2b_state st = h->prefix;
	unsigned char digest[crypto_core_ristretto255_HASHBYTES];

	/* Work on a copy so that a shared prefix serves many threads. */
	if (len)
		crypto_generichash_blake2b_update(&st, msg, len);
	crypto_generichash_blake2b_final(&st, digest, sizeof(digest));
	crypto_core_ristretto255_from_hash(point, digest);
	/* msg is typically a private join key: leave no trace of it. */
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(digest, sizeof(digest));
}
