/*
 * r255.h - ristretto255 (RFC 9496) arithmetic of our own, for the hot path
 * of PSI: decoding, encoding, the one-way map from 64 bytes, and
 * variable-base scalar multiplication, constant time in the scalar.
 *
 * Every function gives byte for byte what libsodium 1.0.18 gives
 * (crypto_scalarmult_ristretto255, crypto_core_ristretto255_from_hash,
 * crypto_core_ristretto255_is_valid_point), including which inputs fail;
 * tests/unit/test_r255.c checks it on random and edge-case inputs.  The
 * fused forms skip the encode/decode between steps, which is where they
 * save time.  Design, bounds and the constant-time argument:
 * docs/internals/crypto.md ("ristretto255 arithmetic").
 *
 * All buffers are caller-owned and only read during the call; out may
 * alias an input.  No state, no allocation: safe from any number of
 * threads.  Scalars are secret: nothing derived from them decides a branch
 * or a memory address, and every stack copy is wiped before returning.
 * Points, hash inputs and results are treated as public in the sense that
 * a failure (invalid encoding, identity result) returns early.
 */
#ifndef SR_R255_H
#define SR_R255_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"

#define SR_R255_BYTES 32        /* an encoded element */
#define SR_R255_SCALARBYTES 32  /* a scalar, little-endian */
#define SR_R255_HASHBYTES 64    /* input of the one-way map */

/*
 * out = encode(n * decode(point)), where n is scalar with its top bit
 * cleared (like crypto_scalarmult_ristretto255: no other reduction is
 * needed, the result depends on n mod L only).  SR_OK; SR_EINVAL if point
 * is not a valid encoding (out untouched); SR_ECRYPTO if the result is the
 * identity (out is then 32 zero bytes) - exactly when libsodium fails.
 */
int sr_r255_mul(uint8_t out[SR_R255_BYTES],
		const uint8_t scalar[SR_R255_SCALARBYTES],
		const uint8_t point[SR_R255_BYTES]) SR_WUR;

/*
 * out = encode(n * map(hash)) = crypto_scalarmult_ristretto255(out,
 * scalar, from_hash(hash)) without encoding and decoding the hashed point
 * in between.  SR_OK, or SR_ECRYPTO if the result is the identity (out is
 * 32 zero bytes): n is 0 mod L, or hash maps to the identity (64 zero
 * bytes do; a BLAKE2b output does with negligible probability).
 */
int sr_r255_hash_mul(uint8_t out[SR_R255_BYTES],
		     const uint8_t scalar[SR_R255_SCALARBYTES],
		     const uint8_t hash[SR_R255_HASHBYTES]) SR_WUR;

/* crypto_core_ristretto255_from_hash: RFC 9496 one-way map of 64 bytes. */
void sr_r255_from_hash(uint8_t out[SR_R255_BYTES],
		       const uint8_t hash[SR_R255_HASHBYTES]);

/* 1 if p decodes (as crypto_core_ristretto255_is_valid_point), else 0. */
int sr_r255_is_valid_point(const uint8_t p[SR_R255_BYTES]);

/*
 * The 64-byte digest that sr_h2g_hash feeds to the one-way map, so that
 * sr_r255_from_hash(digest) == sr_h2g_hash(h, msg, len) and
 * sr_r255_hash_mul(out, n, digest) blinds H(msg) in one step.  The digest
 * determines the point: treat it as secret as the message.  Thread-safe on
 * a shared, initialised h; the copied state is wiped.
 */
void sr_r255_h2g_digest(const struct sr_h2g *h, const void *msg, size_t len,
			uint8_t digest[SR_R255_HASHBYTES]);

#endif
