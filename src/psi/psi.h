/*
 * psi.h - private set intersection: ECDH-PSI over ristretto255 for two or
 * more parties, as a library that runs over any framed-message transport.
 *
 * The protocol, its message formats, the truncation formula and what each
 * mode reveals to whom are specified in docs/protocols/psi.md; read its
 * leakage statement before choosing a mode.
 *
 * Security model: semi-honest parties (DESIGN §2).  Every message is
 * validated — lengths, types, counts, point encodings, positions — so a
 * malformed or truncated stream gives an error, never a crash and never a
 * partial output; but a point replaced by another *valid* point cannot be
 * told apart at this layer: integrity comes from the transport (an
 * authenticated channel, src/net/channel.h).
 *
 * Threads: hashing, blinding and tag computation run on the caller's pool
 * (params.pool).  The protocol itself runs in the calling thread, which
 * calls io->send and io->recv in turn, never concurrently; a multi-party
 * receiver runs its pairs at once, one thread per helper, each using only
 * its own transport (so the transports of different helpers must allow
 * calls from different threads at once) and sharing the pool.
 */
#ifndef SR_PSI_H
#define SR_PSI_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/pool.h"
#include "net/pipe.h"

/*
 * PSI talks to its peer through a struct sr_pipe (net/pipe.h).  The
 * protocol never has both parties sending at once (a party sends only
 * what its peer is about to read), so a transport with small buffers
 * cannot deadlock.
 */

/* One key of the caller's input. data is borrowed (see sr_psi_source). */
struct sr_psi_key {
	const void *data;
	size_t len;
	uint64_t row;   /* the caller's row number, returned as given */
};

/*
 * Where a party's keys come from, read once, in order.  next fills up to
 * max entries of keys and sets *count; *count == 0 means the end.  The
 * key bytes must stay valid until the next call of next (sr_psi_run copies
 * what it keeps).  A failure of next aborts the run with its status.
 */
struct sr_psi_source {
	void *ctx;
	int (*next)(void *ctx, struct sr_psi_key *keys, size_t max,
		    size_t *count, struct sr_err *err);
};

/* A source over a caller-owned array of keys (which must outlive the run). */
struct sr_psi_array {
	const struct sr_psi_key *keys;
	size_t count;
	size_t pos;
};
void sr_psi_source_array(struct sr_psi_source *src, struct sr_psi_array *st,
			 const struct sr_psi_key *keys, size_t count);

enum sr_psi_role {
	SR_PSI_RECEIVER = 1,   /* learns the result (the intersection or its size) */
	SR_PSI_SENDER = 2,     /* helps; learns it only with SR_PSI_TO_BOTH */
};

enum sr_psi_mode {
	SR_PSI_INTERSECTION = 1,   /* row numbers of the common keys */
	SR_PSI_CARDINALITY = 2,    /* only the number of common keys (two parties) */
};

enum sr_psi_output {
	SR_PSI_TO_RECEIVER = 1,
	SR_PSI_TO_BOTH = 2,        /* the receiver sends the sender its result */
};

/*
 * Key normalization, declared identically by every party (a mismatch is
 * refused at the handshake).  Applied as digits, then trim, then lower.
 * Only ASCII is touched: no Unicode case folding or NFC normalization, so
 * "É" and "é" stay different keys.  A key that is empty after
 * normalization is skipped and counted in stats.empty_keys.
 */
#define SR_PSI_NORM_TRIM 0x1u     /* drop leading and trailing ASCII white space */
#define SR_PSI_NORM_LOWER 0x2u    /* ASCII A-Z to a-z */
#define SR_PSI_NORM_DIGITS 0x4u   /* keep only ASCII digits (phone numbers) */
#define SR_PSI_NORM_ALL (SR_PSI_NORM_TRIM | SR_PSI_NORM_LOWER | SR_PSI_NORM_DIGITS)

#define SR_PSI_BATCH_DEFAULT 16384   /* points per message */
/* The default with three or more parties: the receiver's pairs run at
 * once, so a helper waits for the receiver's work on every helper's batch
 * between two of its messages; smaller batches keep that wait short. */
#define SR_PSI_BATCH_MULTI_DEFAULT 4096

/*
 * Which two-party protocol runs (docs/protocols/psi.md): ECDH-PSI (§4),
 * or KKRT16 OT-extension PSI ("KKRT"), which is much faster and sends
 * more bytes.  KKRT runs intersection only (two parties or the
 * multi-party star); AUTO picks it there and ECDH-PSI for cardinality.
 * Both give the same aligned pairs of rows in a fresh random order.
 */
enum sr_psi_protocol {
	SR_PSI_PROTO_AUTO = 0,
	SR_PSI_PROTO_ECDH = 1,
	SR_PSI_PROTO_KKRT = 2,
};

struct sr_psi_params {
	/* Session (or job) id, the same at every party, fresh for each run:
	 * hashing to the group is domain-separated by it.  Borrowed. */
	const uint8_t *session_id;
	size_t session_id_len;        /* 1..SR_PSI_SESSION_ID_MAX */
	enum sr_psi_mode mode;
	enum sr_psi_output output;
	unsigned normalize;           /* SR_PSI_NORM_* */
	uint32_t parties;             /* all parties of the job, receiver included */
	uint32_t batch;               /* points per message sent; 0 = default (by parties) */
	enum sr_psi_protocol protocol;   /* the same at every party */
	struct sr_pool *pool;         /* borrowed; NULL runs in the calling thread */
	/* Optional progress report, called from the calling thread. phase is
	 * "hashing" (done = keys read, total = 0: unknown), "exchange",
	 * "tags" or "matching". */
	void (*progress)(void *ctx, const char *phase, uint64_t done,
			 uint64_t total);
	void *progress_ctx;
};

/* Defaults: intersection to the receiver, two parties, no normalization,
 * default batch, protocol AUTO, no pool, no session id (which must then
 * be set). */
void sr_psi_params_init(struct sr_psi_params *params);

/* What a run did, reported to the party that ran it (nothing here is
 * sent to the peer except set_size). */
struct sr_psi_stats {
	uint64_t keys_read;          /* keys the source gave */
	uint64_t empty_keys;         /* skipped: empty after normalization */
	uint64_t duplicate_keys;     /* skipped: same normalized key as an earlier row */
	uint64_t set_size;           /* distinct keys used: read - empty - duplicates */
	uint64_t peer_set_size;      /* the peer's (sum over helpers for a multi-party receiver) */
	uint64_t intersection_size;  /* valid when has_size */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	unsigned tag_bytes;          /* truncation length used (first peer) */
	enum sr_psi_protocol protocol;   /* the protocol that ran (never AUTO) */
};

struct sr_psi_result {
	/*
	 * Intersection mode, for a party that gets the output: the caller's
	 * row numbers of the rows whose key is in the intersection, one per
	 * common key (the first row of that key), in the agreed order — the
	 * same order at every party that gets the output, so row k of one
	 * party and row k of another hold the same key.  NULL in cardinality
	 * mode and for a sender without SR_PSI_TO_BOTH.
	 */
	uint64_t *rows;
	size_t rows_len;
	int has_size;                /* the party learned the intersection size */
	struct sr_psi_stats stats;
};

/* Empty result; no allocation. */
void sr_psi_result_init(struct sr_psi_result *res);
/* Free rows and return to the empty state. */
void sr_psi_result_release(struct sr_psi_result *res);

/*
 * Run two-party PSI as role over io, with this party's keys from src.
 * For a receiver, params->parties must be 2 (use sr_psi_run_multi for
 * more); a sender of a multi-party job sets parties to the job's count.
 *
 * On success *out (initialised by the caller) holds the result, which the
 * caller frees with sr_psi_result_release.  On failure *out holds no rows
 * and no size (stats may be partly filled) and err says what went wrong:
 * SR_EINVAL for bad params, SR_EPROTO for a malformed or unexpected
 * message or a peer that refused the parameters, SR_ELIMIT for inputs over
 * a limit in limits.h, SR_ENOMEM, or the status of the transport or the
 * source.
 */
int sr_psi_run(enum sr_psi_role role, const struct sr_psi_params *params,
	       struct sr_psi_source *src, const struct sr_pipe *io,
	       struct sr_psi_result *out, struct sr_err *err) SR_WUR;

/*
 * Multi-party PSI, receiver side: the intersection of this party's keys
 * with the keys of every helper (helpers[i] is the transport to helper i,
 * which runs sr_psi_run as SR_PSI_SENDER with the same params).
 * params->parties must be helpers_len + 1 and the mode intersection.
 * The pairs run at the same time (one thread each), and a pair that is
 * done keeps its helper's transport alive with WAIT messages until all
 * are done.  The agreed order is the one of the pair with helpers[0].  Ownership and
 * errors as sr_psi_run.  Leakage: docs/protocols/psi.md, "Multi-party".
 */
int sr_psi_run_multi(const struct sr_psi_params *params,
		     struct sr_psi_source *src, const struct sr_pipe *helpers,
		     size_t helpers_len, struct sr_psi_result *out,
		     struct sr_err *err) SR_WUR;

/*
 * Normalize in[0..len) under flags into out (room for len bytes; out may
 * equal in).  Returns the normalized length.
 */
size_t sr_psi_normalize(unsigned flags, const uint8_t *in, size_t len,
			uint8_t *out);

/*
 * Bytes kept of each comparison hash for sets of n_receiver and n_sender
 * distinct keys: the smallest t with C(N, 2) * 2^-8t <= 2^-40 for
 * N = n_receiver + n_sender (docs/protocols/psi.md, "Truncation").
 */
unsigned sr_psi_tag_bytes(uint64_t n_receiver, uint64_t n_sender);

/* Parse a comma-separated list of "trim", "lower", "digits" (or "none")
 * into SR_PSI_NORM_* flags; SR_EINVAL naming the unknown word. */
int sr_psi_normalize_parse(const char *list, unsigned *flags,
			   struct sr_err *err) SR_WUR;

/* The protocol params selects: AUTO resolved (KKRT for two-party
 * intersection, else ECDH); an explicit choice as it is. */
enum sr_psi_protocol sr_psi_protocol_of(const struct sr_psi_params *params);
/* "auto", "ecdh", "kkrt" (and "unknown"). */
const char *sr_psi_protocol_name(enum sr_psi_protocol protocol);
/* Parse one of those names; SR_EINVAL naming the word otherwise. */
int sr_psi_protocol_parse(const char *name, enum sr_psi_protocol *protocol,
			  struct sr_err *err) SR_WUR;
/*
 * KKRT's comparison length: the smallest t with (C(n_R, 2) + 3 n_R n_S)
 * 2^-8t <= 2^-40 — no two of the receiver's outputs, and none of them
 * with one of the sender's 3 n_S outputs, may collide.
 */
unsigned sr_psi_kkrt_tag_bytes(uint64_t n_receiver, uint64_t n_sender);

#endif
