/*
 * dprng.c - buffered libsodium randomness, exact uniform integers and
 * rational Bernoulli trials for the DP samplers.
 */
#include <sodium.h>
#include <string.h>

#include "privacy/dprng.h"
#include "base/banned.h"

/*
 * Bytes generated at once.  Each block is the ChaCha20 keystream of
 * libsodium's randombytes_buf_deterministic under a fresh 32-byte key
 * from randombytes_buf (the system CSPRNG): one getrandom() per 1024
 * draws instead of one per draw (36 ns a draw through the kernel against
 * 3.5 ns here), and no state carried from block to block, so a forked
 * child cannot replay its parent's noise.
 */
#define DPRNG_BUF_BYTES 8192
_Static_assert(randombytes_SEEDBYTES == 32, "seed size");

struct sr_dprng {
	size_t pos;   /* next unread byte of buf; DPRNG_BUF_BYTES = empty */
	uint8_t buf[DPRNG_BUF_BYTES];
};

int sr_dprng_new(struct sr_dprng **out, struct sr_err *err)
{
	struct sr_dprng *rng;

	*out = NULL;
	rng = sodium_malloc(sizeof(*rng));
	if (!rng)
		return sr_fail(err, SR_ENOMEM,
			       "dprng: out of secure memory for the generator");
	rng->pos = DPRNG_BUF_BYTES;
	*out = rng;
	return SR_OK;
}

void sr_dprng_free(struct sr_dprng *rng)
{
	if (!rng)
		return;
	sodium_memzero(rng, sizeof(*rng));
	sodium_free(rng);
}

uint64_t sr_dprng_u64(struct sr_dprng *rng)
{
	uint64_t v;

	if (rng->pos > DPRNG_BUF_BYTES - sizeof(v)) {
		uint8_t seed[randombytes_SEEDBYTES];

		randombytes_buf(seed, sizeof(seed));
		randombytes_buf_deterministic(rng->buf, sizeof(rng->buf), seed);
		sodium_memzero(seed, sizeof(seed));
		rng->pos = 0;
	}
	memcpy(&v, rng->buf + rng->pos, sizeof(v));
	/* A consumed word is not left behind for a later memory dump. */
	memset(rng->buf + rng->pos, 0, sizeof(v));
	rng->pos += sizeof(v);
	return v;
}

uint64_t sr_dprng_uniform(struct sr_dprng *rng, uint64_t n)
{
	unsigned __int128 m;
	uint64_t low, threshold;

	if (n == 0)
		SR_BUG("dprng: uniform on an empty range");
	m = (unsigned __int128)sr_dprng_u64(rng) * n;
	low = (uint64_t)m;
	if (low < n) {
		/* 2^64 mod n values of the low word would favour some results. */
		threshold = (0 - n) % n;
		while (low < threshold) {
			m = (unsigned __int128)sr_dprng_u64(rng) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

unsigned __int128 sr_dprng_uniform128(struct sr_dprng *rng,
				      unsigned __int128 n)
{
	unsigned __int128 mask, r, top = n - 1;
	uint64_t hi = (uint64_t)(top >> 64);

	if (n == 0)
		SR_BUG("dprng: uniform on an empty range");
	if (hi == 0) {
		if ((uint64_t)top == UINT64_MAX)
			return sr_dprng_u64(rng);
		return sr_dprng_uniform(rng, (uint64_t)n);
	}
	/* Smallest all-ones mask covering n - 1: at most half the draws fail. */
	mask = ((unsigned __int128)(UINT64_MAX >> __builtin_clzll(hi)) << 64) |
	       UINT64_MAX;
	do {
		r = (unsigned __int128)sr_dprng_u64(rng) << 64;
		r |= sr_dprng_u64(rng);
		r &= mask;
	} while (r >= n);
	return r;
}

int sr_dprng_bernoulli(struct sr_dprng *rng, uint64_t num, uint64_t den)
{
	if (den == 0 || num > den)
		SR_BUG("dprng: Bernoulli probability outside [0, 1]");
	if (num == 0)
		return 0;
	if (num == den)
		return 1;
	return sr_dprng_uniform(rng, den) < num;
}

int sr_dprng_bernoulli128(struct sr_dprng *rng, unsigned __int128 num,
			  unsigned __int128 den)
{
	if (den == 0 || num > den)
		SR_BUG("dprng: Bernoulli probability outside [0, 1]");
	if (num == 0)
		return 0;
	if (num == den)
		return 1;
	return sr_dprng_uniform128(rng, den) < num;
}
