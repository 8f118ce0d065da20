/*
 * ot.c - base oblivious transfer for the KKRT extension: the "simplest
 * OT" of Chou and Orlandi (LATINCRYPT 2015) on ristretto255, in its
 * semi-honest form (kkrt.h).
 *
 *   sender:   a random, A = a*G                         A  ->
 *   receiver: b_j random, B_j = b_j*G (+ A if c_j = 1)  <- B_j
 *   sender:   k0 = H(j, A, B_j, a*B_j), k1 = H(j, A, B_j, a*B_j - a*A)
 *   receiver: k_{c_j} = H(j, A, B_j, b_j*A)
 *
 * The receiver's choice is hidden: B_j is uniform either way.  The key it
 * did not choose is H of a*(B_j - A) (c = 0) or of a*B_j (c = 1), the
 * Diffie-Hellman value of A and a point whose logarithm it does not know
 * (CDH, H a random oracle).  H is
 * BLAKE2b-256 with the domain SR_KKRT_OT_DOMAIN over the run's context,
 * j, A, B_j and the point, truncated to 16 bytes.
 */
#include <sodium.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/r255.h"
#include "psi/kkrt.h"
#include "base/banned.h"

#define OT_CHUNK 16    /* OTs per pool task */

static void ot_key(uint8_t key[SR_KKRT_OT_KEY], const uint8_t ctx[32],
		   size_t j, const uint8_t A[SR_POINT_BYTES],
		   const uint8_t B[SR_POINT_BYTES], const uint8_t P[SR_POINT_BYTES])
{
	struct sr_hasher h;
	uint8_t jb[4], out[SR_HASH_BYTES];

	sr_store_u32le(jb, (uint32_t)j);
	sr_hasher_init(&h, SR_KKRT_OT_DOMAIN);
	sr_hasher_update(&h, ctx, 32);
	sr_hasher_update(&h, jb, sizeof(jb));
	sr_hasher_update(&h, A, SR_POINT_BYTES);
	sr_hasher_update(&h, B, SR_POINT_BYTES);
	sr_hasher_update(&h, P, SR_POINT_BYTES);
	sr_hasher_final(&h, out);
	memcpy(key, out, SR_KKRT_OT_KEY);
	sodium_memzero(out, sizeof(out));
	sodium_memzero(&h, sizeof(h));
}

/* A received point must decode and must not be the identity (which
 * would make every key public). */
static int point_ok(const uint8_t p[SR_POINT_BYTES])
{
	return sr_r255_is_valid_point(p) && !sodium_is_zero(p, SR_POINT_BYTES);
}

void sr_ot_sender_init(struct sr_ot_sender *s)
{
	do
		crypto_core_ristretto255_scalar_random(s->a);
	while (sodium_is_zero(s->a, sizeof(s->a)));
	if (crypto_scalarmult_ristretto255_base(s->A, s->a) != 0 ||
	    sr_r255_mul(s->aA, s->a, s->A) != SR_OK)
		SR_BUG("base OT: a*G or a*A is the identity for a non-zero a");
}

void sr_ot_sender_release(struct sr_ot_sender *s)
{
	sodium_memzero(s, sizeof(*s));
}

struct send_job {
	const struct sr_ot_sender *s;
	const uint8_t *ctx, *B;
	uint8_t *k0, *k1;
	size_t n;
};

static int send_chunk(void *arg, size_t index, struct sr_err *err)
{
	const struct send_job *job = arg;
	size_t lo = index * OT_CHUNK;
	size_t hi = lo + OT_CHUNK < job->n ? lo + OT_CHUNK : job->n;
	uint8_t p0[SR_POINT_BYTES], p1[SR_POINT_BYTES];
	int rc = SR_OK;

	for (size_t j = lo; j < hi && rc == SR_OK; j++) {
		const uint8_t *B = job->B + j * SR_POINT_BYTES;
		int m = sr_r255_mul(p0, job->s->a, B);
		if (m != SR_OK) {
			rc = sr_fail(err, SR_EPROTO,
				     "psi: base OT message: point %zu is %s", j,
				     m == SR_ECRYPTO ? "the identity element" :
				     "not a canonical ristretto255 encoding");
			break;
		}
		if (crypto_core_ristretto255_sub(p1, p0, job->s->aA) != 0)
			SR_BUG("base OT: subtracting valid points failed");
		ot_key(job->k0 + j * SR_KKRT_OT_KEY, job->ctx, j, job->s->A, B, p0);
		ot_key(job->k1 + j * SR_KKRT_OT_KEY, job->ctx, j, job->s->A, B, p1);
	}
	sodium_memzero(p0, sizeof(p0));
	sodium_memzero(p1, sizeof(p1));
	return rc;
}

int sr_ot_sender_keys(const struct sr_ot_sender *s, const uint8_t ctx[32],
		      const uint8_t *B, size_t n, uint8_t *k0, uint8_t *k1,
		      struct sr_pool *pool, struct sr_err *err)
{
	struct send_job job = { s, ctx, B, k0, k1, n };

	return sr_pool_run(pool, (n + OT_CHUNK - 1) / OT_CHUNK, send_chunk, &job, err);
}

struct recv_job {
	const uint8_t *ctx, *A, *choice;
	uint8_t *B, *key;
	size_t n;
};

static int recv_chunk(void *arg, size_t index, struct sr_err *err)
{
	const struct recv_job *job = arg;
	size_t lo = index * OT_CHUNK;
	size_t hi = lo + OT_CHUNK < job->n ? lo + OT_CHUNK : job->n;
	uint8_t b[SR_SCALAR_BYTES], B0[SR_POINT_BYTES], B1[SR_POINT_BYTES];
	uint8_t P[SR_POINT_BYTES];

	(void)err;
	for (size_t j = lo; j < hi; j++) {
		uint8_t *B = job->B + j * SR_POINT_BYTES;
		/* 0x00 or 0xff from the choice bit, without a branch. */
		uint8_t mask = (uint8_t)-(uint8_t)((job->choice[j / 8] >> (j % 8)) & 1);
		do
			crypto_core_ristretto255_scalar_random(b);
		while (sodium_is_zero(b, sizeof(b)));
		if (crypto_scalarmult_ristretto255_base(B0, b) != 0 ||
		    crypto_core_ristretto255_add(B1, B0, job->A) != 0 ||
		    sr_r255_mul(P, b, job->A) != SR_OK)
			SR_BUG("base OT: receiver arithmetic on valid points failed");
		for (size_t i = 0; i < SR_POINT_BYTES; i++)
			B[i] = (uint8_t)((B0[i] & (uint8_t)~mask) | (B1[i] & mask));
		ot_key(job->key + j * SR_KKRT_OT_KEY, job->ctx, j, job->A, B, P);
	}
	sodium_memzero(b, sizeof(b));
	sodium_memzero(B0, sizeof(B0));
	sodium_memzero(B1, sizeof(B1));
	sodium_memzero(P, sizeof(P));
	return SR_OK;
}

int sr_ot_receiver(const uint8_t ctx[32], const uint8_t A[SR_POINT_BYTES],
		   const uint8_t *choice, size_t n, uint8_t *B, uint8_t *key,
		   struct sr_pool *pool, struct sr_err *err)
{
	struct recv_job job = { ctx, A, choice, B, key, n };

	if (!point_ok(A))
		return sr_fail(err, SR_EPROTO,
			       "psi: base OT setup: the sender's point is %s",
			       sodium_is_zero(A, SR_POINT_BYTES) ? "the identity element" :
			       "not a canonical ristretto255 encoding");
	return sr_pool_run(pool, (n + OT_CHUNK - 1) / OT_CHUNK, recv_chunk, &job, err);
}
