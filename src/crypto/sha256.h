/*
 * sha256.h - SHA-256 of bulk bytes, on OpenSSL's libcrypto, which uses the
 * CPU's SHA extensions where it has them (~1.2 GB/s here, against
 * BLAKE2b's ~0.65 GB/s in libsodium).  Used where every byte a job moves
 * is hashed: the body hash of signed requests (src/net/reqsig.c), which
 * the node computes to sign each mailbox post and the coordinator to
 * check it.  Everything else hashes with sr_hash (BLAKE2b, crypto.h).
 */
#ifndef SR_SHA256_H
#define SR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SR_SHA256_BYTES 32

/*
 * out = SHA-256(u32le(len(domain)) || domain || data), the framing of
 * sr_hash.  SR_ENOMEM when OpenSSL has no context (out is then zero).
 */
int sr_sha256(uint8_t out[SR_SHA256_BYTES], const char *domain, const void *data,
	      size_t len) SR_WUR;

#endif
