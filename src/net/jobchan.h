/*
 * jobchan.h - end-to-end encrypted job channels between the participants of
 * one job, over an untrusted mailbox (DESIGN §7 "Data plane").
 *
 * The coordinator relays job messages through mailboxes it may drop,
 * replay, reorder, alter or fill with messages of its own; it must learn
 * only sizes, timing and who talks to whom.  This layer makes that safe:
 *
 *   open  every party posts to every other party a hello signed with its
 *         Ed25519 identity key (project, job id, ledger head, sender,
 *         recipient, a fresh X25519 key), checks each peer's hello against
 *         the key the caller gave for that peer, and derives two keys per
 *         peer (one per direction) from X25519 and both hellos;
 *   send  seals a message with XChaCha20-Poly1305 under the sender->peer
 *         key, nonce and associated data derived from (version, project,
 *         job, from, to, channel, seq, ...); messages larger than one
 *         mailbox message are split into fragments;
 *   recv  accepts only the exact next seq from that peer; anything else
 *         (replayed, reordered, dropped, altered, forged, wrong channel)
 *         fails with an error naming the peer and what happened.
 *
 * Messages go through the mailboxes, or, where the recipient listens for
 * its peers (sr_mailbox_ops.direct) and can be reached, over a direct TCP
 * connection bound to the channel by its keys; both carry the same
 * sealed bytes and get the same checks.
 *
 * Wire formats, key derivation and the attack list: docs/protocols/jobchan.md.
 *
 * After any failure the channel is broken: every later call fails (the job
 * then ends with job.fail).
 *
 * Threads: calls for different peers, and a send and a recv with the same
 * peer, may run in different threads at once; two recvs from the same peer
 * may not.  Sends to one peer are serialized internally.
 */
#ifndef SR_JOBCHAN_H
#define SR_JOBCHAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "crypto/identity.h"

#include "net/pipe.h"

struct sr_direct;

#define SR_JOBCHAN_VERSION 3
/* The logical channel of the PATH messages of the direct path (jobchan.c);
 * callers may not use it. */
#define SR_JOBCHAN_PATH_CHANNEL UINT32_MAX
#define SR_JOBCHAN_SID_BYTES 32
/* Longest single fetch while waiting, so should_abort is polled this often. */
#define SR_JOBCHAN_POLL_MS 500
/* timeout_ms when the params give 0. */
#define SR_JOBCHAN_TIMEOUT_DEFAULT_MS 60000

/* An untrusted mailbox: queues of opaque messages addressed (from, to) within one job. */
struct sr_mailbox_ops {
	void *ctx;
	/* Deposit msg from this party to `to`.  seq is the sender's per-(to) message number, starting at 0. */
	int (*post)(void *ctx, const char *to_org, uint64_t seq, const uint8_t *msg, size_t len, struct sr_err *err);
	/* Take the next message from `from` (the lowest seq > *after that is present), waiting at most timeout_ms.
	   On success msg holds it and *seq its seq as the mailbox claims it (untrusted).  SR_ETIMEOUT when nothing came. */
	int (*fetch)(void *ctx, const char *from_org, uint64_t after, struct sr_buf *msg, uint64_t *seq, int timeout_ms, struct sr_err *err);
	/* Optional (NULL: the channel uses post).  A send window: deposit msg->data[0..len) like post, but
	   the transport may return before the message is deposited, and takes msg's memory instead of
	   copying it; on return msg is an empty buffer (with the same max) the caller may fill again.  A
	   failure of an earlier message to `to` is returned by a later post_buf or flush. */
	int (*post_buf)(void *ctx, const char *to_org, uint64_t seq, struct sr_buf *msg, struct sr_err *err);
	/* Optional, with post_buf.  Wait until every message posted to to_org (NULL: to every peer) is
	   deposited, at most timeout_ms: SR_OK, the first failure, or SR_ETIMEOUT. */
	int (*flush)(void *ctx, const char *to_org, int timeout_ms, struct sr_err *err);
	/* Optional (NULL: the mailboxes carry everything).  The direct path (net/direct.h): the
	   channel advertises its listener's address in its hellos, and sends straight to every peer
	   that advertised one and can be reached, the mailboxes carrying the rest.  Borrowed; it
	   must outlive the channel. */
	struct sr_direct *direct;
};
/*
 * Contract details for implementers of sr_mailbox_ops:
 *
 * - The job channel posts seq 0 (its hello) to each peer, then 1, 2, ...
 *   and never posts different bytes under one seq, so a transport may
 *   retry a post with the same bytes (and may treat "seq already
 *   deposited" on a retry as success).
 * - fetch's `after` is the seq of the last message the caller took; before
 *   the first one (seq 0, the hello) it is UINT64_MAX, read as "none yet"
 *   (seq arithmetic modulo 2^64: after + 1 == 0).  Messages with
 *   seq <= after may be deleted, the caller has them; but UINT64_MAX must
 *   delete nothing (do not clamp it to INT64_MAX and delete up to that).
 * - fetch replaces the contents of msg.  msg has a size cap (buf.h) that
 *   bounds what the caller accepts; a message over it may fail with
 *   SR_ELIMIT.  Any status other than SR_OK and SR_ETIMEOUT ends the wait
 *   and breaks the channel, so a transport should retry transient network
 *   errors itself.
 * - post and fetch may be called from several threads at once, for
 *   different peers (see "Threads" above).
 * - With post_buf, messages to one peer must still be deposited in the
 *   order they were posted (the receiver takes exactly the next seq); a
 *   window lets the sender seal the next message while earlier ones are
 *   on their way.  A later post (without _buf) to the same peer goes
 *   after them.
 */

/* One participant of a job: its org id and its identity signing key. */
struct sr_jobchan_party {
	char org_id[SR_ORG_ID_LEN + 1];
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];
};

struct sr_jobchan_params {
	const char *project;                 /* project id (1..SR_PROJECT_ID_MAX bytes) */
	const uint8_t *job_id;               /* 32 bytes */
	const uint8_t *head;                 /* 32 bytes: the ledger head this party saw (must be equal at all parties) */
	const struct sr_identity *self;      /* borrowed for the call of open */
	const struct sr_jobchan_party *parties;  /* every participant, self included, any order */
	size_t nparties;                     /* 2..SR_JOBCHAN_PARTIES_MAX */
	const struct sr_mailbox_ops *ops;    /* copied; ops->ctx must outlive the channel */
	int timeout_ms;                      /* total wait for any one message; 0 = SR_JOBCHAN_TIMEOUT_DEFAULT_MS */
	int (*should_abort)(void *ctx);      /* polled while waiting (e.g. the job ended in the ledger); may be NULL */
	void *abort_ctx;
};

struct sr_jobchan;

/*
 * Open the job channel: post this party's hello to every other party, then
 * take and check every peer's hello and derive the per-peer keys.  Blocks
 * until every hello is in, a wait times out, or should_abort says stop.
 * The parameters are copied (except ops->ctx and abort_ctx, which must
 * outlive the channel); each party's org id must derive from its sign_pk
 * and self must be one of the parties.
 *
 * On success *out is freed with sr_jobchan_free.  Errors:
 *   SR_EINVAL    bad params;
 *   SR_EPROTO    a malformed hello, another version, a hello for another
 *                project or job or addressed to another party, or
 *                "ledger heads differ: this node has HEADHEX, org_... has
 *                HEADHEX" (first 16 hex digits of each);
 *   SR_ECRYPTO   a hello whose signature does not verify with that
 *                party's key, that claims to come from another party, or
 *                whose ephemeral key is invalid;
 *   SR_ETIMEOUT  "no message from org_... for N s";
 *   SR_EPERM     should_abort returned nonzero;
 *   SR_ENOMEM, or the status of the mailbox (prefixed).
 */
int sr_jobchan_open(const struct sr_jobchan_params *p, struct sr_jobchan **out,
		    struct sr_err *err) SR_WUR;

/*
 * Seal and post msg[0..len) to to_org on logical channel `channel` (bound
 * and checked at the receiver; not SR_JOBCHAN_PATH_CHANNEL).  len is at
 * most SR_FRAME_MAX (else
 * SR_ELIMIT, and nothing is sent); a message longer than
 * SR_JOBCHAN_FRAGMENT_MAX goes as several mailbox messages.  msg is only
 * read (sealed straight into the outgoing buffer, which goes to the
 * transport as it is).  SR_EINVAL for a to_org that is not a peer; a
 * failing post breaks the channel.  With a windowed transport
 * (post_buf) send may return before the message is deposited; a failure
 * then shows at a later send, at sr_jobchan_flush, or at the peer (which
 * times out): call sr_jobchan_flush to know that everything went out.
 */
int sr_jobchan_send(struct sr_jobchan *ch, const char *to_org, uint32_t channel,
		    const uint8_t *msg, size_t len, struct sr_err *err) SR_WUR;

/*
 * Take the next message from from_org into msg (replacing its contents;
 * msg is left empty on failure).  It must be the exact next message of
 * that peer and on `channel`.  A message longer than max_len (or
 * SR_FRAME_MAX) fails with SR_ELIMIT before anything is decrypted.
 * Errors: SR_EPROTO for a replayed or reordered message, a wrong channel,
 * a malformed message, or a peer that aborted (sr_jobchan_abort);
 * SR_ECRYPTO for a message that does not authenticate (altered, or not
 * sealed by that peer); SR_ETIMEOUT, SR_EPERM (should_abort), SR_ELIMIT,
 * SR_ENOMEM, or the mailbox's status.  Every failure breaks the channel.
 */
int sr_jobchan_recv(struct sr_jobchan *ch, const char *from_org, uint32_t channel,
		    struct sr_buf *msg, size_t max_len, struct sr_err *err) SR_WUR;

/*
 * Wait until every message sent so far is deposited (a windowed
 * transport; at once otherwise), at most the channel's timeout_ms.  A
 * failure breaks the channel, as a failing send does.
 */
int sr_jobchan_flush(struct sr_jobchan *ch, struct sr_err *err) SR_WUR;

/*
 * Tell every peer that this party gives up (best effort: a sealed ABORT
 * carrying reason, at most SR_JOBCHAN_REASON_MAX bytes, so their recv
 * fails at once with "org_... aborted the job channel: REASON" instead of
 * waiting for a timeout), and break the channel.  Waits for sends in
 * progress in other threads; a recv waiting in another thread returns.
 * The reason is readable by the peers only.
 */
void sr_jobchan_abort(struct sr_jobchan *ch, const char *reason);

/*
 * A value every party of this run computes identically and that no other
 * run has (a hash of project, job, head and every party's ephemeral key):
 * e.g. the session id of a PSI run over this channel.
 */
void sr_jobchan_session_id(const struct sr_jobchan *ch,
			   uint8_t out[SR_JOBCHAN_SID_BYTES]);

/* Bytes posted and fetched so far (what the coordinator saw), hellos included. */
void sr_jobchan_bytes(const struct sr_jobchan *ch, uint64_t *sent,
		      uint64_t *received);

/*
 * sr_pipe adapter: send and recv with one peer on one channel.  The
 * caller provides the storage for the adapter state (link), which must
 * live as long as io is used.  SR_EINVAL if peer_org is not a peer.
 */
struct sr_jobchan_pipe_link {
	struct sr_jobchan *ch;
	char peer_org[SR_ORG_ID_LEN + 1];
	uint32_t channel;
};
int sr_jobchan_pipe(struct sr_jobchan *ch, const char *peer_org,
		      uint32_t channel, struct sr_jobchan_pipe_link *link,
		      struct sr_pipe *io, struct sr_err *err) SR_WUR;

/* Give the transport up to the channel's timeout to deposit what was sent
 * (sr_jobchan_flush, best effort), then wipe every key (sodium_memzero)
 * and free.  NULL does nothing.  No call may be in progress. */
void sr_jobchan_free(struct sr_jobchan *ch);

#endif
