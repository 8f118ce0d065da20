/*
 * psi_pair.c - one party's side of the exchange with one peer
 * (docs/protocols/psi.md): the hello, the interleaved exchange of blinded
 * points, the return of comparison tags, matching, and the result.
 *
 *   R -> S  HELLO                    S -> R  HELLO (or ABORT)
 *   R -> S  POINTS a*H(x), batch k   S -> R  POINTS b*H(y), batch k   (k = 0, 1, ...)
 *   S -> R  TAGS   tag(b*a*H(x)) in R's order (shuffled in cardinality mode)
 *   R -> S  DONE, or with SR_PSI_TO_BOTH: COUNT [+ RESULT positions]
 *
 * A party sends only when its peer is about to read, so the flow cannot
 * deadlock on small transport buffers; yet both parties compute at the
 * same time, because each computes its next batch right after sending.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "psi/psi_int.h"
#include "base/banned.h"

#define CRYPTO_CHUNK 32           /* points per pool task */

/* ---- links: one peer, with byte counts ---------------------------------- */

static void link_init(struct sr_psi_link *l, const struct sr_pipe *io,
		      struct sr_psi_stats *stats)
{
	l->io = io;
	sr_buf_init(&l->in, 0);
	sr_buf_init(&l->out, 0);
	l->stats = stats;
	l->stop = NULL;
}

/* A multi-party receiver stops a pair when another pair failed. */
static int link_stopped(const struct sr_psi_link *l, const char *what,
			struct sr_err *err)
{
	if (l->stop && atomic_load(l->stop))
		return sr_fail(err, SR_ECANCELED,
			       "psi: %s: stopped, another helper failed", what);
	return SR_OK;
}

static void link_release(struct sr_psi_link *l)
{
	sr_buf_release(&l->in);
	sr_buf_release(&l->out);
}

int sr_psi_link_send(struct sr_psi_link *l, const uint8_t *msg, size_t len,
		     const char *what, struct sr_err *err)
{
	int rc = link_stopped(l, what, err);

	if (rc)
		return rc;
	rc = l->io->send(l->io->ctx, msg, len, err);
	if (rc) {
		if (err && err->code == SR_OK)
			err->code = rc;
		return sr_err_prefix(err, "psi: sending %s", what);
	}
	l->stats->bytes_sent += len;
	return SR_OK;
}

/* Receive one message of at most max_len bytes.  An ABORT from the peer
 * becomes an error whatever was expected. */
int sr_psi_link_recv(struct sr_psi_link *l, size_t max_len, const char *what,
		     struct sr_err *err)
{
	int rc;

	rc = link_stopped(l, what, err);
	if (rc)
		return rc;
	if (max_len < SR_PSI_ABORT_BYTES)
		max_len = SR_PSI_ABORT_BYTES;
	sr_buf_reset(&l->in);
	rc = l->io->recv(l->io->ctx, &l->in, max_len, err);
	if (rc) {
		if (err && err->code == SR_OK)
			err->code = rc;
		return sr_err_prefix(err, "psi: receiving %s", what);
	}
	if (l->in.len > max_len)
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: message of %zu bytes, at most %zu expected",
			       what, l->in.len, max_len);
	l->stats->bytes_received += l->in.len;
	if (l->in.len >= 1 && (uint8_t)l->in.data[0] == SR_PSI_MSG_ABORT)
		return sr_psi_abort_fail((const uint8_t *)l->in.data,
					 l->in.len, err);
	return SR_OK;
}

/* Best effort: tell the peer why we stop (it is reading a hello or points). */
static void link_abort(struct sr_psi_link *l, uint32_t reason)
{
	uint8_t msg[SR_PSI_ABORT_BYTES];

	sr_psi_abort_encode(msg, reason);
	(void)l->io->send(l->io->ctx, msg, sizeof(msg), NULL);
}

static const char *mode_name(int mode)
{
	return mode == SR_PSI_INTERSECTION ? "intersection" :
	       mode == SR_PSI_CARDINALITY ? "cardinality" : "unknown";
}

static const char *output_name(int output)
{
	return output == SR_PSI_TO_RECEIVER ? "to the receiver" :
	       output == SR_PSI_TO_BOTH ? "to both" : "unknown";
}

/* ---- crypto on batches (pool tasks) ------------------------------------- */

struct crypto_job {
	const uint8_t *scalar;
	const uint8_t *in;       /* blind: count hashes; double-blind: points */
	uint8_t *out;            /* blind: count points */
	uint8_t *tags;           /* double-blind: count tags */
	unsigned tag_bytes;
	size_t count;
	size_t batch_index;      /* for messages */
	size_t batches;
};

static void tag_of(uint8_t *tag, unsigned tag_bytes,
		   const uint8_t point[SR_POINT_BYTES])
{
	uint8_t h[SR_HASH_BYTES];

	sr_hash(h, SR_PSI_TAG_DOMAIN, point, SR_POINT_BYTES);
	memcpy(tag, h, tag_bytes);
}

/* Our own points: a*H(x), straight from the digests (sr_r255_hash_mul,
 * the same bytes as crypto_scalarmult_ristretto255 of sr_h2g_hash's
 * point).  a is non-zero, so a failure is a bug (or a 2^-250 event). */
static int blind_chunk(void *ctx, size_t index, struct sr_err *err)
{
	const struct crypto_job *job = ctx;
	size_t lo = index * CRYPTO_CHUNK;
	size_t hi = lo + CRYPTO_CHUNK < job->count ? lo + CRYPTO_CHUNK : job->count;

	for (size_t i = lo; i < hi; i++)
		if (sr_r255_hash_mul(job->out + i * SR_POINT_BYTES, job->scalar,
				     job->in + i * SR_PSI_HASH_BYTES) != SR_OK)
			return sr_fail(err, SR_EINTERNAL,
				       "psi: blinding our point %zu failed", i);
	return SR_OK;
}

/* The peer's points: tag(b*P).  sr_r255_mul decodes P and rejects what
 * crypto_scalarmult_ristretto255 rejects: a non-canonical encoding
 * (SR_EINVAL) and the identity (the product is zero: SR_ECRYPTO), so it
 * is the validation. */
static int double_blind_chunk(void *ctx, size_t index, struct sr_err *err)
{
	const struct crypto_job *job = ctx;
	size_t lo = index * CRYPTO_CHUNK;
	size_t hi = lo + CRYPTO_CHUNK < job->count ? lo + CRYPTO_CHUNK : job->count;
	uint8_t q[SR_POINT_BYTES];

	for (size_t i = lo; i < hi; i++) {
		const uint8_t *p = job->in + i * SR_POINT_BYTES;
		int rc = sr_r255_mul(q, job->scalar, p);
		if (rc != SR_OK)
			return sr_fail(err, SR_EPROTO,
				       "psi: points message %zu of %zu: point %zu is %s",
				       job->batch_index + 1, job->batches, i,
				       rc == SR_ECRYPTO ? "the identity element" :
				       "not a canonical ristretto255 encoding");
		tag_of(job->tags + i * job->tag_bytes, job->tag_bytes, q);
	}
	return SR_OK;
}

/* ---- one pair ------------------------------------------------------------ */

/* A pair with a fresh scalar; io and stats are borrowed (psi_int.h). */
void sr_psi_pair_init(struct sr_psi_pair *pr, const struct sr_pipe *io,
		      struct sr_psi_stats *stats)
{
	memset(pr, 0, sizeof(*pr));
	link_init(&pr->link, io, stats);
	do
		crypto_core_ristretto255_scalar_random(pr->scalar);
	while (sodium_is_zero(pr->scalar, sizeof(pr->scalar)));
}

/* Wipes the scalar; frees the buffers and both tag arrays. */
void sr_psi_pair_release(struct sr_psi_pair *pr)
{
	sodium_memzero(pr->scalar, sizeof(pr->scalar));
	link_release(&pr->link);
	sr_free(pr->peer_tags);
	sr_free(pr->own_tags);
	pr->peer_tags = pr->own_tags = NULL;
}

static void hello_fill(struct sr_psi_hello *h, enum sr_psi_role role,
		       const struct sr_psi_params *p, uint64_t set_size)
{
	h->version = SR_PSI_VERSION;
	h->role = (uint8_t)role;
	h->mode = (uint8_t)p->mode;
	h->output = (uint8_t)p->output;
	h->normalize = (uint8_t)p->normalize;
	h->parties = (uint16_t)p->parties;
	h->batch = p->batch ? p->batch : p->parties > 2 ?
		SR_PSI_BATCH_MULTI_DEFAULT : SR_PSI_BATCH_DEFAULT;
	h->protocol = sr_psi_protocol_of(p) == SR_PSI_PROTO_KKRT ?
		SR_PSI_HELLO_KKRT : SR_PSI_HELLO_ECDH;
	h->set_size = set_size;
	sr_psi_params_digest(p, h->digest);
}

/* Check the peer's hello against ours; on a mismatch tell the peer. */
static int hello_check(struct sr_psi_pair *pr, struct sr_err *err)
{
	const struct sr_psi_hello *me = &pr->mine, *peer = &pr->peer;
	uint32_t reason = SR_PSI_ABORT_PARAMS;
	int rc = SR_EPROTO;

	if (peer->version != SR_PSI_VERSION) {
		reason = SR_PSI_ABORT_VERSION;
		sr_fail(err, rc, "psi: the peer speaks protocol version %d, we speak %d",
			peer->version, SR_PSI_VERSION);
	} else if (peer->role == me->role) {
		sr_fail(err, rc, "psi: the peer is also a %s",
			me->role == SR_PSI_RECEIVER ? "receiver" : "sender");
	} else if (peer->role != SR_PSI_RECEIVER && peer->role != SR_PSI_SENDER) {
		reason = SR_PSI_ABORT_MALFORMED;
		sr_fail(err, rc, "psi: the peer announces unknown role %d", peer->role);
	} else if (peer->mode != me->mode) {
		sr_fail(err, rc, "psi: the peer runs mode %s, we run %s",
			mode_name(peer->mode), mode_name(me->mode));
	} else if (peer->output != me->output) {
		sr_fail(err, rc, "psi: the peer sends the result %s, we %s",
			output_name(peer->output), output_name(me->output));
	} else if (peer->protocol != me->protocol) {
		sr_fail(err, rc, "psi: the peer runs protocol %s, we run %s",
			peer->protocol == SR_PSI_HELLO_KKRT ? "kkrt" : "ecdh",
			me->protocol == SR_PSI_HELLO_KKRT ? "kkrt" : "ecdh");
	} else if (peer->normalize != me->normalize) {
		sr_fail(err, rc, "psi: the peer normalizes keys with flags 0x%x, we with 0x%x",
			peer->normalize, me->normalize);
	} else if (peer->parties != me->parties) {
		sr_fail(err, rc, "psi: the peer counts %u parties, we count %u",
			peer->parties, me->parties);
	} else if (sodium_memcmp(peer->digest, me->digest, SR_HASH_BYTES) != 0) {
		sr_fail(err, rc, "psi: the peer uses another session id");
	} else if (peer->batch == 0 || peer->batch > SR_PSI_BATCH_MAX) {
		reason = SR_PSI_ABORT_MALFORMED;
		sr_fail(err, rc, "psi: the peer announces batches of %u points, expected 1 to %d",
			peer->batch, SR_PSI_BATCH_MAX);
	} else if (peer->set_size > SR_PSI_SET_MAX) {
		reason = SR_PSI_ABORT_LIMIT;
		rc = SR_ELIMIT;
		sr_fail(err, rc, "psi: the peer announces %llu keys, over the limit of %u (SR_PSI_SET_MAX)",
			(unsigned long long)peer->set_size, SR_PSI_SET_MAX);
	} else {
		return SR_OK;
	}
	link_abort(&pr->link, reason);
	return rc;
}

/*
 * R sends its hello first; S checks it before it reveals anything (its set
 * size included) and answers with its own hello or an ABORT.  SR_EPROTO or
 * SR_ELIMIT on a mismatch, or the transport's status.
 */
int sr_psi_pair_hello(struct sr_psi_pair *pr, enum sr_psi_role role,
		      const struct sr_psi_params *p, uint64_t set_size,
		      struct sr_err *err)
{
	uint8_t msg[SR_PSI_HELLO_BYTES];
	int rc;

	hello_fill(&pr->mine, role, p, set_size);
	sr_psi_hello_encode(msg, &pr->mine);
	if (role == SR_PSI_RECEIVER) {
		rc = sr_psi_link_send(&pr->link, msg, sizeof(msg), "hello", err);
		if (rc)
			return rc;
	}
	rc = sr_psi_link_recv(&pr->link, SR_PSI_HELLO_BYTES, "the peer's hello", err);
	if (rc)
		return rc;
	rc = sr_psi_hello_decode(sr_psi_link_msg(&pr->link), pr->link.in.len,
				 &pr->peer, err);
	if (rc) {
		link_abort(&pr->link, SR_PSI_ABORT_MALFORMED);
		return rc;
	}
	rc = hello_check(pr, err);
	if (rc)
		return rc;
	if (role == SR_PSI_SENDER) {
		rc = sr_psi_link_send(&pr->link, msg, sizeof(msg), "hello", err);
		if (rc)
			return rc;
	}
	{
		uint64_t nr = role == SR_PSI_RECEIVER ? set_size : pr->peer.set_size;
		uint64_t ns = role == SR_PSI_RECEIVER ? pr->peer.set_size : set_size;
		pr->tag_bytes = pr->mine.protocol == SR_PSI_HELLO_KKRT ?
			sr_psi_kkrt_tag_bytes(nr, ns) : sr_psi_tag_bytes(nr, ns);
	}
	return SR_OK;
}

static size_t batches(uint64_t n, uint32_t batch)
{
	return (size_t)((n + batch - 1) / batch);
}

static size_t batch_count(uint64_t n, uint32_t batch, size_t k)
{
	uint64_t left = n - (uint64_t)k * batch;

	return (size_t)(left < batch ? left : batch);
}

/* Blind batch k of our set into pr->link.out as a POINTS message. */
static int prepare_points(struct sr_psi_pair *pr, const struct sr_psi_set *set,
			  size_t k, const struct sr_psi_params *p,
			  struct sr_err *err)
{
	uint32_t batch = pr->mine.batch;
	size_t count = batch_count(set->n, batch, k);
	struct crypto_job job;
	int rc;

	sr_buf_reset(&pr->link.out);
	if (sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(count, SR_POINT_BYTES)))
		return sr_fail(err, SR_ENOMEM, "psi: out of memory for a points message");
	sr_psi_head_encode((uint8_t *)pr->link.out.data, SR_PSI_MSG_POINTS, 0,
			   (uint32_t)count);
	memset(&job, 0, sizeof(job));
	job.scalar = pr->scalar;
	job.in = set->hashes + (size_t)k * batch * SR_PSI_HASH_BYTES;
	job.out = (uint8_t *)pr->link.out.data + SR_PSI_HEAD_BYTES;
	job.count = count;
	rc = sr_pool_run(p->pool, (count + CRYPTO_CHUNK - 1) / CRYPTO_CHUNK,
			 blind_chunk, &job, err);
	if (rc)
		return rc;
	sr_buf_setlen(&pr->link.out, sr_psi_msg_bytes(count, SR_POINT_BYTES));
	return SR_OK;
}

/* Validate the peer's POINTS message k (in pr->link.in) and tag it. */
static int absorb_points(struct sr_psi_pair *pr, size_t k, size_t nb,
			 const struct sr_psi_params *p, struct sr_err *err)
{
	uint32_t batch = pr->peer.batch;
	size_t count = batch_count(pr->peer.set_size, batch, k);
	struct crypto_job job;
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "points message %zu of %zu", k + 1, nb);
	rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
			      SR_PSI_MSG_POINTS, 0, (uint32_t)count,
			      SR_POINT_BYTES, what, err);
	if (rc)
		return rc;
	memset(&job, 0, sizeof(job));
	job.scalar = pr->scalar;
	job.in = sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES;
	job.tags = pr->peer_tags + (size_t)k * batch * pr->tag_bytes;
	job.tag_bytes = pr->tag_bytes;
	job.count = count;
	job.batch_index = k;
	job.batches = nb;
	return sr_pool_run(p->pool, (count + CRYPTO_CHUNK - 1) / CRYPTO_CHUNK,
			   double_blind_chunk, &job, err);
}

/*
 * Send our blinded set and double-blind the peer's, batch by batch.  Send
 * order: R's batch k, then S's batch k.  Each party computes its next
 * batch after it has sent, while the peer computes too.
 */
int sr_psi_pair_exchange(struct sr_psi_pair *pr, enum sr_psi_role role,
			 const struct sr_psi_set *set,
			 const struct sr_psi_params *p, struct sr_err *err)
{
	size_t nb_mine = batches(set->n, pr->mine.batch);
	size_t nb_peer = batches(pr->peer.set_size, pr->peer.batch);
	size_t rounds = nb_mine > nb_peer ? nb_mine : nb_peer;
	uint64_t total = set->n + pr->peer.set_size, done = 0;
	size_t peer_max = sr_psi_msg_bytes(pr->peer.batch, SR_POINT_BYTES);
	int rc;

	pr->peer_tags = sr_malloc((size_t)pr->peer.set_size * pr->tag_bytes);
	if (!pr->peer_tags)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory for %llu tags",
			       (unsigned long long)pr->peer.set_size);
	if (nb_mine) {
		rc = prepare_points(pr, set, 0, p, err);
		if (rc)
			return rc;
	}
	for (size_t k = 0; k < rounds; k++) {
		int mine = k < nb_mine, theirs = k < nb_peer;
		if (role == SR_PSI_RECEIVER && mine) {
			rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
				       pr->link.out.len, "points", err);
			if (rc)
				return rc;
		}
		if (theirs) {
			rc = sr_psi_link_recv(&pr->link, peer_max, "the peer's points", err);
			if (rc)
				return rc;
		}
		if (role == SR_PSI_SENDER && mine) {
			rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
				       pr->link.out.len, "points", err);
			if (rc)
				return rc;
		}
		if (theirs) {
			rc = absorb_points(pr, k, nb_peer, p, err);
			if (rc)
				return rc;
			done += batch_count(pr->peer.set_size, pr->peer.batch, k);
		}
		if (mine)
			done += batch_count(set->n, pr->mine.batch, k);
		if (k + 1 < nb_mine) {
			rc = prepare_points(pr, set, k + 1, p, err);
			if (rc)
				return rc;
		}
		if (p->progress)
			p->progress(p->progress_ctx, "exchange", done, total);
	}
	/* The last outgoing message held blinded points only; drop it. */
	sr_buf_release(&pr->link.out);
	return SR_OK;
}

/* Fisher-Yates over records of size bytes. */
static void shuffle_records(uint8_t *data, size_t n, size_t size)
{
	struct sr_psi_rng rng;
	uint8_t tmp[SR_PSI_TAG_MAX];

	sr_psi_rng_init(&rng);
	for (size_t i = n; i > 1; i--) {
		size_t j = sr_psi_rng_uniform(&rng, (uint32_t)i), k = i - 1;
		if (j == k)
			continue;
		memcpy(tmp, data + k * size, size);
		memcpy(data + k * size, data + j * size, size);
		memcpy(data + j * size, tmp, size);
	}
	sr_psi_rng_release(&rng);
}

/* Sender: return the tags of the receiver's points (shuffled in
 * cardinality mode, so that they no longer say which point is which). */
int sr_psi_pair_send_tags(struct sr_psi_pair *pr, const struct sr_psi_params *p,
			  struct sr_err *err)
{
	uint64_t n = pr->peer.set_size;
	uint32_t batch = pr->mine.batch;
	size_t nb = batches(n, batch);
	unsigned t = pr->tag_bytes;
	int rc;

	if (p->mode == SR_PSI_CARDINALITY)
		shuffle_records(pr->peer_tags, (size_t)n, t);
	for (size_t k = 0; k < nb; k++) {
		size_t count = batch_count(n, batch, k);
		sr_buf_reset(&pr->link.out);
		if (sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(count, t)))
			return sr_fail(err, SR_ENOMEM, "psi: out of memory for a tags message");
		sr_psi_head_encode((uint8_t *)pr->link.out.data, SR_PSI_MSG_TAGS,
				   (uint8_t)t, (uint32_t)count);
		memcpy(pr->link.out.data + SR_PSI_HEAD_BYTES,
		       pr->peer_tags + (size_t)k * batch * t, count * t);
		sr_buf_setlen(&pr->link.out, sr_psi_msg_bytes(count, t));
		rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
			       pr->link.out.len, "tags", err);
		if (rc)
			return rc;
		if (p->progress)
			p->progress(p->progress_ctx, "tags",
				    (uint64_t)k * batch + count, n);
	}
	sr_buf_release(&pr->link.out);
	return SR_OK;
}

/* Receiver: the tags of our own points, double-blinded by the sender. */
int sr_psi_pair_recv_tags(struct sr_psi_pair *pr, uint64_t n,
			  const struct sr_psi_params *p, struct sr_err *err)
{
	uint32_t batch = pr->peer.batch;
	size_t nb = batches(n, batch);
	unsigned t = pr->tag_bytes;
	char what[64];
	int rc;

	pr->own_tags = sr_malloc((size_t)n * t);
	if (!pr->own_tags)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory for %llu tags",
			       (unsigned long long)n);
	for (size_t k = 0; k < nb; k++) {
		size_t count = batch_count(n, batch, k);
		rc = sr_psi_link_recv(&pr->link, sr_psi_msg_bytes(batch, t),
			       "the peer's tags", err);
		if (rc)
			return rc;
		snprintf(what, sizeof(what), "tags message %zu of %zu", k + 1, nb);
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_TAGS, (uint8_t)t, (uint32_t)count,
				      t, what, err);
		if (rc)
			return rc;
		memcpy(pr->own_tags + (size_t)k * batch * t,
		       sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES, count * t);
		if (p->progress)
			p->progress(p->progress_ctx, "tags",
				    (uint64_t)k * batch + count, n);
	}
	return SR_OK;
}

static uint64_t tag_key(const uint8_t *tag, unsigned t)
{
	uint8_t b[8] = { 0 };

	memcpy(b, tag, t < 8 ? t : 8);
	return sr_load_u64le(b);
}

/*
 * Receiver: for each of our positions i, match[i] = the sender position
 * whose tag equals own_tags[i], or SR_PSI_POS_NONE.  Each sender position is used
 * at most once, so even a (2^-40) tag collision keeps the matching 1-to-1.
 * match may be NULL (cardinality): then only the count is computed.
 */
int sr_psi_pair_match(const struct sr_psi_pair *pr, uint64_t n_own,
		      uint32_t *match, uint64_t *matched, struct sr_err *err)
{
	uint64_t n_peer = pr->peer.set_size;
	unsigned t = pr->tag_bytes;
	size_t cap = 16, mask;
	uint32_t *table = NULL;
	uint8_t *used = NULL;
	int rc = SR_OK;

	*matched = 0;
	while (cap < 2 * n_peer)
		cap *= 2;
	mask = cap - 1;
	table = sr_calloc(cap, sizeof(*table));
	used = sr_calloc((size_t)(n_peer / 8 + 1), 1);
	if (!table || !used) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory matching %llu tags",
			     (unsigned long long)n_peer);
		goto out;
	}
	for (size_t j = 0; j < n_peer; j++) {
		size_t slot = (size_t)tag_key(pr->peer_tags + j * t, t) & mask;
		while (table[slot])
			slot = (slot + 1) & mask;
		table[slot] = (uint32_t)(j + 1);
	}
	for (size_t i = 0; i < n_own; i++) {
		const uint8_t *tag = pr->own_tags + i * t;
		size_t slot = (size_t)tag_key(tag, t) & mask;
		uint32_t found = SR_PSI_POS_NONE;
		while (table[slot]) {
			size_t j = table[slot] - 1;
			if (!(used[j / 8] & (1u << (j % 8))) &&
			    memcmp(pr->peer_tags + j * t, tag, t) == 0) {
				used[j / 8] |= (uint8_t)(1u << (j % 8));
				found = (uint32_t)j;
				break;
			}
			slot = (slot + 1) & mask;
		}
		if (found != SR_PSI_POS_NONE)
			(*matched)++;
		if (match)
			match[i] = found;
	}
out:
	sr_free(table);
	sr_free(used);
	return rc;
}

/*
 * Sender: the first message of the end (DONE or COUNT), after any number
 * of WAIT messages (header only) that a multi-party receiver sends while
 * its other pairs run.
 */
static int recv_after_waits(struct sr_psi_pair *pr, size_t max_len,
			    const char *what, struct sr_err *err)
{
	for (;;) {
		const uint8_t *msg;
		int rc = sr_psi_link_recv(&pr->link, max_len, what, err);
		if (rc)
			return rc;
		msg = sr_psi_link_msg(&pr->link);
		/* Only a receiver of three or more parties waits for others. */
		if (pr->link.in.len < 1 || msg[0] != SR_PSI_MSG_WAIT ||
		    pr->mine.parties <= 2)
			return SR_OK;
		rc = sr_psi_msg_check(msg, pr->link.in.len, SR_PSI_MSG_WAIT, 0, 0, 0,
				      "wait message", err);
		if (rc)
			return rc;
	}
}

/* Receiver: a WAIT (header only). */
int sr_psi_pair_send_wait(struct sr_psi_pair *pr, struct sr_err *err)
{
	uint8_t msg[SR_PSI_HEAD_BYTES];

	sr_psi_head_encode(msg, SR_PSI_MSG_WAIT, 0, 0);
	return sr_psi_link_send(&pr->link, msg, sizeof(msg), "wait message", err);
}

/* The positions of our points in the intersection (TO_BOTH). */
static int recv_result(struct sr_psi_pair *pr, const struct sr_psi_set *set,
		       const struct sr_psi_params *p, struct sr_psi_result *res,
		       struct sr_err *err)
{
	uint64_t count, max = set->n < pr->peer.set_size ? set->n :
			      pr->peer.set_size;
	uint32_t batch = pr->peer.batch;
	uint64_t *rows = NULL;
	uint8_t *seen = NULL;
	size_t nb;
	char what[64];
	int rc;

	rc = recv_after_waits(pr, SR_PSI_COUNT_BYTES, "the result count", err);
	if (rc)
		return rc;
	rc = sr_psi_count_decode(sr_psi_link_msg(&pr->link), pr->link.in.len, &count, err);
	if (rc)
		return rc;
	if (count > max)
		return sr_fail(err, SR_EPROTO,
			       "psi: the peer reports %llu common keys, but the sets have %llu and %llu",
			       (unsigned long long)count, (unsigned long long)set->n,
			       (unsigned long long)pr->peer.set_size);
	res->has_size = 1;
	res->stats.intersection_size = count;
	if (p->mode == SR_PSI_CARDINALITY)
		return SR_OK;
	rows = sr_malloc((size_t)(count ? count : 1) * sizeof(*rows));
	seen = sr_calloc((size_t)(set->n / 8 + 1), 1);
	if (!rows || !seen) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for %llu result rows",
			     (unsigned long long)count);
		goto out;
	}
	nb = batches(count, batch);
	for (size_t k = 0; k < nb; k++) {
		size_t n = batch_count(count, batch, k);
		const uint8_t *pos;
		rc = sr_psi_link_recv(&pr->link, sr_psi_msg_bytes(batch, SR_PSI_POS_BYTES),
			       "the result", err);
		if (rc)
			goto out;
		snprintf(what, sizeof(what), "result message %zu of %zu", k + 1, nb);
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_RESULT, 0, (uint32_t)n,
				      SR_PSI_POS_BYTES, what, err);
		if (rc)
			goto out;
		pos = sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES;
		for (size_t i = 0; i < n; i++) {
			uint32_t j = sr_load_u32le(pos + i * SR_PSI_POS_BYTES);
			if (j >= set->n || (seen[j / 8] & (1u << (j % 8)))) {
				rc = sr_fail(err, SR_EPROTO,
					     "psi: %s: position %u is %s", what, j,
					     j >= set->n ? "out of range" : "repeated");
				goto out;
			}
			seen[j / 8] |= (uint8_t)(1u << (j % 8));
			rows[(size_t)k * batch + i] = set->rows[j];
		}
	}
	res->rows = rows;
	res->rows_len = (size_t)count;
	rows = NULL;
out:
	sr_free(rows);
	sr_free(seen);
	if (rc) {
		res->has_size = 0;
		res->stats.intersection_size = 0;
	}
	return rc;
}

/* Sender: the DONE message, or the result with SR_PSI_TO_BOTH; rows and
 * size go into res only when every message checked out. */
int sr_psi_pair_recv_end(struct sr_psi_pair *pr, const struct sr_psi_set *set,
			 const struct sr_psi_params *p,
			 struct sr_psi_result *res, struct sr_err *err)
{
	int rc;

	if (p->output == SR_PSI_TO_BOTH)
		return recv_result(pr, set, p, res, err);
	/* Wait for the receiver to finish, so that our success means the
	 * run completed. */
	rc = recv_after_waits(pr, SR_PSI_HEAD_BYTES, "the end of the run", err);
	if (rc)
		return rc;
	return sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				SR_PSI_MSG_DONE, 0, 0, 0, "done message", err);
}

/* Receiver: DONE, or COUNT and RESULT messages of R's batch size. */
int sr_psi_pair_send_result(struct sr_psi_pair *pr,
			    const struct sr_psi_params *p,
			    const uint32_t *peer_pos, size_t count,
			    struct sr_err *err)
{
	uint8_t msg[SR_PSI_COUNT_BYTES];
	uint32_t batch = pr->mine.batch;
	size_t nb = batches(count, batch);
	int rc;

	if (p->output == SR_PSI_TO_RECEIVER) {
		/* "Done", with no number in it. */
		sr_psi_head_encode(msg, SR_PSI_MSG_DONE, 0, 0);
		return sr_psi_link_send(&pr->link, msg, SR_PSI_HEAD_BYTES, "done message", err);
	}
	sr_psi_count_encode(msg, count);
	rc = sr_psi_link_send(&pr->link, msg, sizeof(msg), "result count", err);
	if (rc || p->mode == SR_PSI_CARDINALITY)
		return rc;
	for (size_t k = 0; k < nb; k++) {
		size_t n = batch_count(count, batch, k);
		uint8_t *out;
		sr_buf_reset(&pr->link.out);
		if (sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(n, SR_PSI_POS_BYTES)))
			return sr_fail(err, SR_ENOMEM, "psi: out of memory for a result message");
		out = (uint8_t *)pr->link.out.data;
		sr_psi_head_encode(out, SR_PSI_MSG_RESULT, 0, (uint32_t)n);
		for (size_t i = 0; i < n; i++)
			sr_store_u32le(out + SR_PSI_HEAD_BYTES + i * SR_PSI_POS_BYTES,
				       peer_pos[(size_t)k * batch + i]);
		sr_buf_setlen(&pr->link.out, sr_psi_msg_bytes(n, SR_PSI_POS_BYTES));
		rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
			       pr->link.out.len, "result", err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

