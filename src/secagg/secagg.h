/*
 * secagg.h - secure aggregation of int64 vectors modulo 2^64 by pairwise
 * masks (DESIGN §10, "Horizontal"), as a library over struct sr_pipe.
 *
 * n parties each hold a vector of the same length.  Every pair (i, j)
 * derives a 32-byte seed from an X25519 agreement of fresh per-run keys;
 * the seed keys an XChaCha20 keystream (nonce domain-separated by run,
 * pair and vector) read as little-endian uint64 masks.  Party i adds the
 * masks of every j > i and subtracts those of every j < i, so the masks
 * cancel in the sum.  One designated party, the aggregator, receives
 * every other party's masked vector and outputs only the sum.  If any
 * party fails or goes away the run fails everywhere and nothing is
 * output: there is no dropout recovery.
 *
 * Protocol, message formats and the leakage statement (what each party,
 * the aggregator and the receiver learn): docs/protocols/secagg.md.
 *
 * Security model: semi-honest parties over authenticated, encrypted
 * pipes (the job channel, net/jobchan.h).  Every message is validated
 * (type, version, exact length, every field against this party's own
 * parameters), so a malformed or mismatched stream fails the run, never
 * crashes it.
 *
 * Memory: masks are generated in blocks as they are needed, so a party
 * holds its input, (at the aggregator) the output, and one chunk of
 * scratch; never n masks or a second copy of the vector.
 *
 * Threads: a run uses only the calling thread and calls each pipe's send
 * and recv in turn.
 */
#ifndef SR_SECAGG_H
#define SR_SECAGG_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/limits.h"
#include "net/pipe.h"

#define SR_SECAGG_VERSION 1
#define SR_SECAGG_KEY_BYTES crypto_scalarmult_curve25519_BYTES
#define SR_SECAGG_CHUNK_DEFAULT 65536   /* entries per DATA message (512 KiB) */

struct sr_secagg_params {
	/* Id of this run, the same at every party and fresh for each run
	 * (e.g. sr_jobchan_session_id).  Borrowed for the call. */
	const uint8_t *run_id;
	size_t run_id_len;           /* 1..SR_SECAGG_RUN_ID_MAX */
	uint32_t parties;            /* n, 2..SR_SECAGG_PARTIES_MAX */
	uint32_t self;               /* this party's index, 0..n-1 */
	uint32_t aggregator;         /* index of the party that gets the sum */
	uint64_t length;             /* entries of every vector, 1..SR_SECAGG_LENGTH_MAX */
	uint32_t chunk;              /* entries per message, 0 = default; equal everywhere */
};

/* Zeros, and the default chunk. */
void sr_secagg_params_init(struct sr_secagg_params *p);

/* Check the parameters alone (SR_EINVAL naming the field). */
int sr_secagg_params_check(const struct sr_secagg_params *p,
			   struct sr_err *err) SR_WUR;

/* What a run did at this party. */
struct sr_secagg_stats {
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t messages_sent;
	uint64_t messages_received;
	uint64_t mask_ns;            /* time spent generating and applying masks */
};

/*
 * Run one aggregation as party p->self.  pipes[j] is the pipe to party j
 * for every j != self (pipes[self] is not used): every pair of parties
 * exchanges its public keys directly, then every party streams its
 * masked vector to the aggregator, which answers each with DONE once it
 * has them all.
 *
 * input[0..length) is this party's vector (read only, borrowed).  At the
 * aggregator, sum[0..length) (caller-allocated; it may be input itself)
 * receives the sum modulo 2^64; elsewhere sum is not used and may be
 * NULL.  stats (optional) is filled even on failure.
 *
 * On failure the aggregator's sum is zeroed (nothing partial is
 * released) and err says what happened: SR_EINVAL for bad params;
 * SR_EPROTO for a malformed message or one whose parameters differ from
 * this party's ("party 2: hello has length 100, this party has 101"),
 * naming the party; SR_ECRYPTO for a public key that gives a degenerate
 * agreement; SR_ENOMEM; or the pipe's status, prefixed with the party.
 * The caller then closes or aborts every pipe, so the others fail too.
 */
int sr_secagg_run(const struct sr_secagg_params *p, const struct sr_pipe *pipes,
		  const uint64_t *input, uint64_t *sum,
		  struct sr_secagg_stats *stats, struct sr_err *err) SR_WUR;

/* ---- the masks alone (for callers that already hold the peers' keys) --- */

/* A fresh X25519 key pair for one run (libsodium randomness).  The
 * caller wipes sk (sodium_memzero) when done. */
void sr_secagg_keypair(uint8_t pk[SR_SECAGG_KEY_BYTES],
		       uint8_t sk[SR_SECAGG_KEY_BYTES]);

/*
 * The pairwise seeds of one party, in sodium_malloc memory.  sk is this
 * party's secret key; pks[0..parties) every party's public key (pks[self]
 * its own), authenticated by the caller.  p->chunk is not used.  The
 * keys are only read.  SR_EINVAL for bad params, SR_ECRYPTO for a
 * degenerate agreement (low-order key), SR_ENOMEM.  Free with
 * sr_secagg_masker_free, which wipes it.
 */
struct sr_secagg_masker;
int sr_secagg_masker_new(const struct sr_secagg_params *p,
			 const uint8_t sk[SR_SECAGG_KEY_BYTES],
			 const uint8_t (*pks)[SR_SECAGG_KEY_BYTES],
			 struct sr_secagg_masker **out,
			 struct sr_err *err) SR_WUR;

/*
 * Mask values[0..count), the entries offset..offset+count-1 of this
 * party's vector, in place (any offset and count within the length, in
 * any order: the masks depend only on the position).  SR_EINVAL past
 * the length.
 */
int sr_secagg_masker_apply(struct sr_secagg_masker *m, uint64_t offset,
			   uint64_t *values, size_t count,
			   struct sr_err *err) SR_WUR;

/* Wipe the seeds and scratch and free.  NULL does nothing. */
void sr_secagg_masker_free(struct sr_secagg_masker *m);

#endif
