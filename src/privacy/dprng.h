/*
 * dprng.h - the randomness of the DP samplers: libsodium's CSPRNG
 * (randombytes_buf), read in blocks, turned into exact uniform integers
 * and rational Bernoulli trials.  No floating point anywhere
 * (docs/internals/privacy.md, "Randomness").
 *
 * Noise is a secret (whoever knows it learns the un-noised value), so the
 * buffer of random bytes lives in sodium_malloc memory and is wiped by
 * sr_dprng_free.  One generator per thread: nothing here is thread-safe.
 */
#ifndef SR_DPRNG_H
#define SR_DPRNG_H

#include <stdint.h>

#include "base/err.h"

struct sr_dprng;

/*
 * A new generator in sodium_malloc memory.  sr_crypto_init (sodium_init)
 * must have run.  *out is freed with sr_dprng_free.  SR_ENOMEM.
 */
int sr_dprng_new(struct sr_dprng **out, struct sr_err *err) SR_WUR;

/* Wipe the buffered random bytes and free.  NULL does nothing. */
void sr_dprng_free(struct sr_dprng *rng);

/* 64 uniform random bits. */
uint64_t sr_dprng_u64(struct sr_dprng *rng);

/*
 * Uniform on [0, n) for n >= 1, exactly (Lemire's multiply-and-reject:
 * every value has probability exactly 1/n).  n == 0 is a bug (aborts).
 */
uint64_t sr_dprng_uniform(struct sr_dprng *rng, uint64_t n);

/* Uniform on [0, n) for a 128-bit n >= 1 (mask and reject). */
unsigned __int128 sr_dprng_uniform128(struct sr_dprng *rng,
				      unsigned __int128 n);

/*
 * One Bernoulli trial with success probability num/den exactly:
 * 1 with probability num/den, else 0.  Needs den >= 1 and num <= den
 * (a bug otherwise: callers validate their parameters).
 */
int sr_dprng_bernoulli(struct sr_dprng *rng, uint64_t num, uint64_t den);
int sr_dprng_bernoulli128(struct sr_dprng *rng, unsigned __int128 num,
			  unsigned __int128 den);

#endif
