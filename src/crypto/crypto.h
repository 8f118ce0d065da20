/*
 * crypto.h - sealroom's cryptographic primitives, all on libsodium, in
 * libsodium's API shape: caller-allocated buffers, sizes from macros,
 * return SR_OK or a negative status.  Misuse (NULL key, impossible sizes)
 * aborts; anything that can come from outside returns a status.
 *
 *   hashing      BLAKE2b-256 with a domain-separation tag
 *   AEAD         XChaCha20-Poly1305-IETF with associated data (chunks,
 *                key wrapping, key files)
 *   sealed box   anonymous encryption to an X25519 public key
 *   hash-to-group  ristretto255, domain-separated by a context string
 *   randomness   libsodium's CSPRNG only
 */
#ifndef SR_CRYPTO_H
#define SR_CRYPTO_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SR_HASH_BYTES 32
#define SR_AEAD_KEYBYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SR_AEAD_NONCEBYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SR_AEAD_ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SR_BOX_PUBLICKEYBYTES crypto_box_PUBLICKEYBYTES
#define SR_BOX_SECRETKEYBYTES crypto_box_SECRETKEYBYTES
#define SR_BOX_SEALBYTES crypto_box_SEALBYTES
#define SR_POINT_BYTES crypto_core_ristretto255_BYTES
#define SR_SCALAR_BYTES crypto_core_ristretto255_SCALARBYTES

/* Must be called once before anything else (idempotent, thread-safe). */
int sr_crypto_init(void) SR_WUR;

/* Fill buf with len random bytes from libsodium. */
void sr_random_buf(void *buf, size_t len);

/*
 * BLAKE2b-256 of data under a domain tag: the input to BLAKE2b is
 * u32le(strlen(domain)) || domain || data, so no two domains collide.
 */
void sr_hash(uint8_t out[SR_HASH_BYTES], const char *domain, const void *data,
	     size_t len);

/* Incremental form of sr_hash. */
struct sr_hasher {
	crypto_generichash_blake2b_state state;
};
void sr_hasher_init(struct sr_hasher *h, const char *domain);
void sr_hasher_update(struct sr_hasher *h, const void *data, size_t len);
void sr_hasher_final(struct sr_hasher *h, uint8_t out[SR_HASH_BYTES]);

/* Lowercase hex of len bytes into out (2*len+1 bytes with the NUL). */
void sr_hex(char *out, const uint8_t *data, size_t len);
/* Parse exactly 2*len hex digits; SR_EINVAL otherwise. */
int sr_unhex(uint8_t *out, size_t len, const char *hex) SR_WUR;

/*
 * AEAD seal: out receives len + SR_AEAD_ABYTES bytes (out may equal msg).
 * The nonce must be unique per key: callers use sr_random_buf (24 bytes
 * makes random nonces safe).
 */
void sr_aead_seal(uint8_t *out, const uint8_t *msg, size_t len,
		  const uint8_t *ad, size_t ad_len,
		  const uint8_t nonce[SR_AEAD_NONCEBYTES],
		  const uint8_t key[SR_AEAD_KEYBYTES]);
/* AEAD open: out receives ct_len - SR_AEAD_ABYTES bytes; SR_ECRYPTO if the
 * ciphertext, nonce, key or associated data do not match. */
int sr_aead_open(uint8_t *out, const uint8_t *ct, size_t ct_len,
		 const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[SR_AEAD_NONCEBYTES],
		 const uint8_t key[SR_AEAD_KEYBYTES]) SR_WUR;

/*
 * Wrap a 32-byte key under a wrapping key: out = nonce || AEAD(key) with
 * ad bound in, SR_WRAPPED_KEY_BYTES long.  Unwrap fails with SR_ECRYPTO.
 */
#define SR_WRAPPED_KEY_BYTES (SR_AEAD_NONCEBYTES + 32 + SR_AEAD_ABYTES)
void sr_key_wrap(uint8_t out[SR_WRAPPED_KEY_BYTES], const uint8_t key[32],
		 const uint8_t wrap_key[SR_AEAD_KEYBYTES], const uint8_t *ad,
		 size_t ad_len);
int sr_key_unwrap(uint8_t key[32], const uint8_t in[SR_WRAPPED_KEY_BYTES],
		  const uint8_t wrap_key[SR_AEAD_KEYBYTES], const uint8_t *ad,
		  size_t ad_len) SR_WUR;

/* Sealed boxes (crypto_box_seal): out is len + SR_BOX_SEALBYTES. */
void sr_box_keypair(uint8_t pk[SR_BOX_PUBLICKEYBYTES],
		    uint8_t sk[SR_BOX_SECRETKEYBYTES]);
void sr_box_seal(uint8_t *out, const uint8_t *msg, size_t len,
		 const uint8_t pk[SR_BOX_PUBLICKEYBYTES]);
int sr_box_open(uint8_t *out, const uint8_t *ct, size_t ct_len,
		const uint8_t pk[SR_BOX_PUBLICKEYBYTES],
		const uint8_t sk[SR_BOX_SECRETKEYBYTES]) SR_WUR;

/*
 * Hash-to-group on ristretto255 with domain separation.  The point is
 * ristretto255_from_hash(BLAKE2b-512(u32le(len(tag)) || tag ||
 * u32le(len(context)) || context || msg)) with tag "sealroom.h2g.v1", so
 * the same message under two contexts (e.g. two PSI sessions) maps to
 * unrelated points.  Initialise once per context, then hash many messages
 * (sr_h2g_hash is thread-safe on a shared, initialised struct).
 */
struct sr_h2g {
	crypto_generichash_blake2b_state prefix;
};
void sr_h2g_init(struct sr_h2g *h, const void *context, size_t context_len);
void sr_h2g_hash(const struct sr_h2g *h, const void *msg, size_t len,
		 uint8_t point[SR_POINT_BYTES]);

#endif
