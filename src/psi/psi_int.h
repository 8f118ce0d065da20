/*
 * psi_int.h - internals shared by the psi_*.c files (not part of the API).
 * Wire format and protocol: docs/protocols/psi.md.
 */
#ifndef SR_PSI_INT_H
#define SR_PSI_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/r255.h"
#include "psi/psi.h"

#define SR_PSI_VERSION 1
#define SR_PSI_TAG_MAX 16        /* sr_psi_tag_bytes() never exceeds this */
#define SR_PSI_HEAD_BYTES 8      /* type, aux, 2 zero bytes, u32 count */
#define SR_PSI_HELLO_BYTES 56
#define SR_PSI_COUNT_BYTES 16
#define SR_PSI_ABORT_BYTES 8
#define SR_PSI_POS_BYTES 4       /* a position in a RESULT message (u32le) */
#define SR_PSI_HELLO_ECDH 0      /* hello byte 12: the protocol that follows */
#define SR_PSI_HELLO_KKRT 1

/* Domain tags (docs/internals/crypto.md registry). */
#define SR_PSI_H2G_CONTEXT "sealroom.psi.v1:"   /* followed by the session id */
#define SR_PSI_TAG_DOMAIN "sealroom.psi.tag.v1"
#define SR_PSI_PARAMS_DOMAIN "sealroom.psi.params.v1"

enum sr_psi_msg {
	SR_PSI_MSG_HELLO = 1,
	SR_PSI_MSG_POINTS = 2,
	SR_PSI_MSG_TAGS = 3,
	SR_PSI_MSG_COUNT = 4,
	SR_PSI_MSG_RESULT = 5,
	SR_PSI_MSG_DONE = 6,
	SR_PSI_MSG_KKRT_SETUP = 7,   /* KKRT: R -> S base-OT point, seed, bins */
	SR_PSI_MSG_KKRT_OT = 8,      /* KKRT: S -> R base-OT answers */
	SR_PSI_MSG_KKRT_U = 9,       /* KKRT: R -> S extension rows, one batch */
	SR_PSI_MSG_WAIT = 10,        /* multi-party: R -> S keep-alive before the end */
	SR_PSI_MSG_ABORT = 15,
};

/* Reasons carried by an ABORT message (never renumbered). */
enum sr_psi_abort_reason {
	SR_PSI_ABORT_VERSION = 1,
	SR_PSI_ABORT_PARAMS = 2,
	SR_PSI_ABORT_LIMIT = 3,
	SR_PSI_ABORT_MALFORMED = 4,
};

/* ---- psi_set.c ---------------------------------------------------------- */

/*
 * One party's prepared input: for each distinct key, the 64-byte digest
 * that the one-way map turns into H(normalized key)
 * (sr_r255_h2g_digest), in a uniformly random order, with the caller's row
 * of each.  Keeping the digest rather than the encoded point lets the
 * blinding compute a*H(x) in one step (sr_r255_hash_mul), without encoding
 * H(x) and decoding it again.  hashes are wiped on release (they allow
 * testing guesses of the keys).
 */
#define SR_PSI_HASH_BYTES SR_R255_HASHBYTES

struct sr_psi_set {
	uint8_t *hashes;   /* n * SR_PSI_HASH_BYTES */
	uint64_t *rows;    /* n */
	size_t n;
	size_t cap;        /* allocated entries (all wiped on release) */
	/* Read by several pairs at once (a multi-party receiver): no pair
	 * drops the hashes; the receiver does when every pair is done. */
	int shared;
};

void sr_psi_set_init(struct sr_psi_set *set);
void sr_psi_set_release(struct sr_psi_set *set);
/* Wipe and free the hashes once our points are sent; rows stay. */
void sr_psi_set_drop_points(struct sr_psi_set *set);

/*
 * Read all keys from src, normalize, hash under the session's h2g context
 * (in parallel on params->pool), drop empty and duplicate keys (keeping
 * the first row of each key) and shuffle.  Fills the key counts
 * of stats.  SR_ELIMIT over SR_PSI_SET_MAX keys or SR_PSI_KEY_MAX bytes.
 */
int sr_psi_set_build(struct sr_psi_set *set, const struct sr_psi_params *params,
		     struct sr_psi_source *src, struct sr_psi_stats *stats,
		     struct sr_err *err) SR_WUR;

/* CSPRNG draws for permutations (libsodium randomness, buffered). */
struct sr_psi_rng {
	uint8_t buf[1024];
	size_t pos;
};
void sr_psi_rng_init(struct sr_psi_rng *rng);
/* Uniform in [0, bound), bound >= 1. */
uint32_t sr_psi_rng_uniform(struct sr_psi_rng *rng, uint32_t bound);
/* Wipe the buffered randomness. */
void sr_psi_rng_release(struct sr_psi_rng *rng);

/* ---- psi_wire.c --------------------------------------------------------- */

struct sr_psi_hello {
	uint8_t version;
	uint8_t role;
	uint8_t mode;
	uint8_t output;
	uint8_t normalize;
	uint16_t parties;
	uint32_t batch;
	uint8_t protocol;     /* SR_PSI_HELLO_ECDH or SR_PSI_HELLO_KKRT */
	uint64_t set_size;
	uint8_t digest[SR_HASH_BYTES];
};

/* Digest of everything both parties must agree on (session id included). */
void sr_psi_params_digest(const struct sr_psi_params *params,
			  uint8_t out[SR_HASH_BYTES]);

void sr_psi_hello_encode(uint8_t out[SR_PSI_HELLO_BYTES],
			 const struct sr_psi_hello *hello);
/* SR_EPROTO if msg is not a well-formed HELLO. */
int sr_psi_hello_decode(const uint8_t *msg, size_t len,
			struct sr_psi_hello *hello, struct sr_err *err) SR_WUR;

/* Write the 8-byte header of a POINTS, TAGS or RESULT message. */
void sr_psi_head_encode(uint8_t out[SR_PSI_HEAD_BYTES], enum sr_psi_msg type,
			uint8_t aux, uint32_t count);
/*
 * Check that msg is a message of type with exactly count items of
 * item_bytes each and header byte aux (0 unless TAGS: the tag length).
 * what names the message in the error (e.g. "points message 3 of 10").
 */
int sr_psi_msg_check(const uint8_t *msg, size_t len, enum sr_psi_msg type,
		     uint8_t aux, uint32_t count, size_t item_bytes,
		     const char *what, struct sr_err *err) SR_WUR;

void sr_psi_count_encode(uint8_t out[SR_PSI_COUNT_BYTES], uint64_t count);
int sr_psi_count_decode(const uint8_t *msg, size_t len, uint64_t *count,
			struct sr_err *err) SR_WUR;

void sr_psi_abort_encode(uint8_t out[SR_PSI_ABORT_BYTES], uint32_t reason);
/* Turn a received ABORT into SR_EPROTO "peer aborted: REASON". */
int sr_psi_abort_fail(const uint8_t *msg, size_t len, struct sr_err *err);

/* Bytes in a message of count items of item_bytes. */
static inline size_t sr_psi_msg_bytes(size_t count, size_t item_bytes)
{
	return SR_PSI_HEAD_BYTES + count * item_bytes;
}

/* ---- psi_pair.c --------------------------------------------------------- */

#define SR_PSI_POS_NONE UINT32_MAX

/*
 * While a multi-party receiver waits for its other pairs, it sends each
 * finished helper a WAIT this often, so that no helper's transport times
 * out (a node's --job-timeout is at least 1 s).
 */
#define SR_PSI_WAIT_MS 400

/* A transport with byte counts and reusable message buffers. */
struct sr_psi_link {
	const struct sr_pipe *io;
	struct sr_buf in;          /* last message received */
	struct sr_buf out;         /* message being built */
	struct sr_psi_stats *stats;   /* bytes_sent / bytes_received */
	/* Multi-party receiver: set when another pair failed; every later
	 * send or receive fails with SR_ECANCELED.  NULL otherwise. */
	const atomic_int *stop;
};

/* Send msg as one message; what names it in an error. */
int sr_psi_link_send(struct sr_psi_link *l, const uint8_t *msg, size_t len,
		     const char *what, struct sr_err *err) SR_WUR;
/* Receive one message of at most max_len bytes into l->in; an ABORT from
 * the peer becomes an error whatever was expected. */
int sr_psi_link_recv(struct sr_psi_link *l, size_t max_len, const char *what,
		     struct sr_err *err) SR_WUR;
static inline const uint8_t *sr_psi_link_msg(const struct sr_psi_link *l)
{
	return (const uint8_t *)l->in.data;
}

/* This party's state in its exchange with one peer. */
struct sr_psi_pair {
	struct sr_psi_link link;
	struct sr_psi_hello mine;
	struct sr_psi_hello peer;
	uint8_t scalar[SR_SCALAR_BYTES];   /* fresh per pair; wiped on release */
	unsigned tag_bytes;
	/* tag(our scalar * peer's point), in the order the peer sent them */
	uint8_t *peer_tags;
	/* receiver: tag(peer's scalar * our point), in our order */
	uint8_t *own_tags;
};

/* Draw a fresh non-zero scalar; borrow io and stats (which must outlive
 * the pair). */
void sr_psi_pair_init(struct sr_psi_pair *pr, const struct sr_pipe *io,
		      struct sr_psi_stats *stats);
/* Wipe the scalar, free buffers and tags. */
void sr_psi_pair_release(struct sr_psi_pair *pr);

/* Exchange and check hellos (the receiver speaks first; a mismatch is
 * reported to the peer with an ABORT) and fix tag_bytes. */
int sr_psi_pair_hello(struct sr_psi_pair *pr, enum sr_psi_role role,
		      const struct sr_psi_params *p, uint64_t set_size,
		      struct sr_err *err) SR_WUR;
/* Send our set blinded, batch by batch, and tag the peer's (peer_tags). */
int sr_psi_pair_exchange(struct sr_psi_pair *pr, enum sr_psi_role role,
			 const struct sr_psi_set *set,
			 const struct sr_psi_params *p, struct sr_err *err) SR_WUR;
/* Sender: send peer_tags back (shuffled first in cardinality mode). */
int sr_psi_pair_send_tags(struct sr_psi_pair *pr, const struct sr_psi_params *p,
			  struct sr_err *err) SR_WUR;
/* Receiver: receive the tags of our n points into own_tags. */
int sr_psi_pair_recv_tags(struct sr_psi_pair *pr, uint64_t n,
			  const struct sr_psi_params *p, struct sr_err *err) SR_WUR;
/*
 * Receiver: match own_tags against peer_tags.  match (n_own entries, or
 * NULL to count only) gets the peer position of each of our positions or
 * SR_PSI_POS_NONE; each peer position is used at most once.
 */
int sr_psi_pair_match(const struct sr_psi_pair *pr, uint64_t n_own,
		      uint32_t *match, uint64_t *matched,
		      struct sr_err *err) SR_WUR;
/*
 * Receiver: end the run with this peer: DONE, or with SR_PSI_TO_BOTH the
 * count and, in intersection mode, peer_pos[0..count) (the peer's
 * positions in the agreed order).
 */
int sr_psi_pair_send_result(struct sr_psi_pair *pr,
			    const struct sr_psi_params *p,
			    const uint32_t *peer_pos, size_t count,
			    struct sr_err *err) SR_WUR;
/* Receiver (multi-party): a WAIT, while other pairs are still running. */
int sr_psi_pair_send_wait(struct sr_psi_pair *pr, struct sr_err *err) SR_WUR;
/* Sender: wait for DONE, or receive and check the result into res
 * (skipping the receiver's WAIT messages). */
int sr_psi_pair_recv_end(struct sr_psi_pair *pr, const struct sr_psi_set *set,
			 const struct sr_psi_params *p,
			 struct sr_psi_result *res, struct sr_err *err) SR_WUR;

#endif
