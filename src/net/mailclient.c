/*
 * mailclient.c - a job's mailboxes over the coordinator's HTTP API (see
 * mailclient.h), with the binary bodies of net/mailwire.h.
 *
 * Per peer, two threads of the client and a connection each:
 *   the poster deposits the send window in order (post_buf, flush); the
 *     sender's thread seals and signs (hashes) each message before it
 *     joins the window, so the poster only sends;
 *   the fetcher keeps fetching ahead, up to PREFETCH_BYTES, so the next
 *     messages arrive while the receiver opens the last ones; fetch takes
 *     them from its queue.
 * A fetch answer carries several records; they are parsed as they arrive,
 * each straight into a buffer of its own, checked before anything is
 * allocated for it, and handed to the caller by swapping buffers, never
 * copied again.
 */
#include "net/mailclient.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "net/coordconn.h"
#include "net/mailwire.h"
#include "base/banned.h"

#define RETRY_DEFAULT_MS 30000   /* keep trying an unreachable coordinator */
#define RETRY_PAUSE_US 200000    /* between tries */
#define ERROR_ANSWER_MAX (64u << 10)   /* an error answer's JSON */
#define CALL_TIMEOUT_MS 30000    /* one request, on top of its wait */
#define SPARES_MAX 4             /* record buffers kept for reuse, per peer */
#define FREE_OUT_MAX 2           /* posted buffers kept for reuse, per peer */
#define PREFETCH_BYTES (8u << 20) /* fetched ahead, per peer, before pausing */
#define RESIGN_MS 60000          /* a signature older than this is made again */
#define FREE_FLUSH_MS 5000       /* what free gives the windows to drain */

struct rec {
	uint64_t seq;
	struct sr_buf data;
};

/* A message waiting in the send window, signed. */
struct out {
	uint64_t seq;
	struct sr_buf data;
	char auth[SR_REQSIG_MAX];
	int64_t signed_ms;
};

struct peer {
	char org_id[SR_ORG_ID_LEN + 1];
	struct sr_mailclient *mc;
	struct sr_coordconn *post_cc, *fetch_cc;

	/* The send window: window[whead..] (a ring of wlen), wbytes bytes. */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct out window[SR_MAILCLIENT_WINDOW_MSGS];
	size_t whead, wlen, wbytes;
	int poster_started, wstop;
	pthread_t poster;
	int failed;                   /* sticky: the first failed post */
	struct sr_err failure;
	struct sr_buf free_out[FREE_OUT_MAX];
	size_t nfree_out;

	/* What the fetcher got and fetch has not taken: queue[head..len),
	 * oldest first, qbytes bytes; all of this under qlock. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct rec *queue;
	size_t head, len, cap, qbytes;
	struct sr_buf spares[SPARES_MAX];
	size_t nspares;
	int fetcher_started, fstop;
	pthread_t fetcher;
	uint64_t fetch_next;          /* the fetcher's NEXT */
	int fetch_failed;             /* sticky */
	struct sr_err fetch_failure;

	struct peer *next;
};

struct sr_mailclient {
	char *url, *pin;
	const struct sr_identity *self;
	char project[SR_PROJECT_ID_MAX + 1];
	char job_hex[65];
	int retry_ms;
	pthread_mutex_t lock;         /* guards the peer list */
	struct peer *peers;
};

/* Parses one fetch answer as it streams in (the fetcher's thread). */
struct parser {
	struct peer *p;
	uint8_t hdr[SR_MAILWIRE_RECORD_HDR];
	size_t hdr_have;
	struct rec cur;               /* being filled when in_record */
	int in_record;
	size_t need;                  /* bytes of cur still to come */
	size_t count;
	uint64_t bytes;
	uint64_t last_seq;            /* of the last whole record */
	struct sr_err err;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void mailbox_path(char *out, size_t size, const struct sr_mailclient *mc,
			 const char *peer, uint64_t n)
{
	snprintf(out, size, "/v1/projects/%s/jobs/%s/mailbox/%s/%llu", mc->project,
		 mc->job_hex, peer, (unsigned long long)n);
}

static void peer_free(struct peer *p)
{
	if (!p)
		return;
	if (p->poster_started) {
		pthread_mutex_lock(&p->wlock);
		p->wstop = 1;
		pthread_cond_broadcast(&p->wcond);
		pthread_mutex_unlock(&p->wlock);
		sr_coordconn_wakeup(p->post_cc);   /* ends a post in progress */
		pthread_join(p->poster, NULL);
	}
	if (p->fetcher_started) {
		pthread_mutex_lock(&p->qlock);
		p->fstop = 1;
		pthread_cond_broadcast(&p->qcond);
		pthread_mutex_unlock(&p->qlock);
		sr_coordconn_wakeup(p->fetch_cc);   /* ends its long-poll */
		pthread_join(p->fetcher, NULL);
	}
	for (size_t i = 0; i < p->wlen; i++)
		sr_buf_release(&p->window[(p->whead + i) % SR_MAILCLIENT_WINDOW_MSGS].data);
	for (size_t i = 0; i < p->nfree_out; i++)
		sr_buf_release(&p->free_out[i]);
	for (size_t i = p->head; i < p->len; i++)
		sr_buf_release(&p->queue[i].data);
	sr_free(p->queue);
	for (size_t i = 0; i < p->nspares; i++)
		sr_buf_release(&p->spares[i]);
	pthread_cond_destroy(&p->wcond);
	pthread_mutex_destroy(&p->wlock);
	pthread_cond_destroy(&p->qcond);
	pthread_mutex_destroy(&p->qlock);
	sr_coordconn_free(p->post_cc);
	sr_coordconn_free(p->fetch_cc);
	sr_free(p);
}

/* The state of peer org (made at its first use). */
static int peer_get(struct sr_mailclient *mc, const char *org, struct peer **out,
		    struct sr_err *err)
{
	struct peer *p;
	int rc = SR_OK;

	*out = NULL;
	/* It goes into request paths. */
	if (strlen(org) != SR_ORG_ID_LEN || strspn(org, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
	    SR_ORG_ID_LEN)
		return sr_fail(err, SR_EINVAL, "mailboxes: '%.40s' is not an org id", org);
	pthread_mutex_lock(&mc->lock);
	for (p = mc->peers; p; p = p->next)
		if (strcmp(p->org_id, org) == 0)
			break;
	if (!p) {
		p = sr_calloc(1, sizeof(*p));
		if (!p) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(p->org_id, org, SR_ORG_ID_LEN + 1);
		p->mc = mc;
		pthread_mutex_init(&p->wlock, NULL);
		pthread_cond_init(&p->wcond, NULL);
		pthread_mutex_init(&p->qlock, NULL);
		pthread_cond_init(&p->qcond, NULL);
		rc = sr_coordconn_new(mc->url, mc->pin, mc->self, &p->post_cc, err);
		if (rc == SR_OK)
			rc = sr_coordconn_new(mc->url, mc->pin, mc->self, &p->fetch_cc, err);
		if (rc) {
			peer_free(p);
			p = NULL;
			goto out;
		}
		p->next = mc->peers;
		mc->peers = p;
	}
	*out = p;
out:
	pthread_mutex_unlock(&mc->lock);
	return rc;
}

/* ---- posting -------------------------------------------------------------- */

static int stopping(struct peer *p)
{
	int stop;

	pthread_mutex_lock(&p->wlock);
	stop = p->wstop;
	pthread_mutex_unlock(&p->wlock);
	return stop;
}

/* Deposit one window entry, retrying across an unreachable or restarting
 * coordinator, or full mailboxes, for up to retry_ms.  Only p's poster
 * thread calls it. */
static int post_once(struct peer *p, struct out *o, struct sr_err *err)
{
	struct sr_mailclient *mc = p->mc;
	int64_t deadline = now_ms() + mc->retry_ms;
	struct sr_coordconn_req rq;
	struct sr_http_answer ans;
	struct sr_buf errbody;
	char path[256];
	int rc;

	mailbox_path(path, sizeof(path), mc, p->org_id, o->seq);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.content_type = SR_MAILWIRE_TYPE;
	rq.body = o->data.len ? (const void *)o->data.data : "";
	rq.body_len = o->data.len;
	rq.wait_ms = -1;
	rq.timeout_ms = CALL_TIMEOUT_MS;
	sr_buf_init(&errbody, ERROR_ANSWER_MAX);
	for (;;) {
		/* Signed when it joined the window; again after long retries. */
		if (now_ms() - o->signed_ms > RESIGN_MS) {
			sr_coordconn_sign(p->post_cc, "POST", path, rq.body, rq.body_len, o->auth);
			o->signed_ms = now_ms();
		}
		rq.authorization = o->auth;
		memset(&ans, 0, sizeof(ans));
		ans.body = &errbody;
		sr_buf_reset(&errbody);
		sr_err_clear(err);
		rc = sr_coordconn_call(p->post_cc, &rq, &ans, err);
		if (rc == SR_EEXIST && ans.status == 409) {
			/* A retry after a lost answer: the same bytes are there
			 * (the job channel never posts other bytes under a seq). */
			rc = SR_OK;
			sr_err_clear(err);
		}
		/* 413 is a full mailbox (this client never sends more than
		 * SR_MAILBOX_MSG_MAX): the receiver is behind, and the
		 * coordinator already waited for room; try again.  507 is
		 * its disk below its floor: space may come back. */
		if ((rc != SR_EIO && rc != SR_ETIMEOUT && rc != SR_ENOSPC &&
		     !(rc == SR_ELIMIT && ans.status == 413)) ||
		    now_ms() > deadline || stopping(p))
			break;
		if (rc != SR_ELIMIT)
			usleep(RETRY_PAUSE_US);   /* coordinator restarting? */
	}
	sr_buf_release(&errbody);
	if (rc)
		sr_err_prefix(err, "mailbox message %llu to %s", (unsigned long long)o->seq,
			      p->org_id);
	return rc;
}

/*
 * The poster of p: deposits the window in order, one request at a time
 * on p's post connection, while the sender seals the next messages.  The
 * first failure is kept (p->failure) and fails every message after it:
 * the receiver takes exactly the next seq, so nothing after a lost
 * message could be of use.
 */
static void *poster_main(void *arg)
{
	struct peer *p = arg;

	pthread_mutex_lock(&p->wlock);
	for (;;) {
		struct out *o;
		struct sr_err e;
		int rc, failed;

		while (p->wlen == 0 && !p->wstop)
			pthread_cond_wait(&p->wcond, &p->wlock);
		if (p->wlen == 0)
			break;
		o = &p->window[p->whead];
		failed = p->failed || p->wstop;   /* at free: the rest is dropped */
		pthread_mutex_unlock(&p->wlock);
		sr_err_clear(&e);
		rc = failed ? SR_OK : post_once(p, o, &e);
		pthread_mutex_lock(&p->wlock);
		if (rc && !p->failed) {
			p->failed = rc;
			p->failure = e;
		}
		p->wbytes -= o->data.len;
		if (o->data.cap && p->nfree_out < FREE_OUT_MAX)
			p->free_out[p->nfree_out++] = o->data;
		else
			sr_buf_release(&o->data);
		sr_buf_init(&o->data, 0);
		p->whead = (p->whead + 1) % SR_MAILCLIENT_WINDOW_MSGS;
		p->wlen--;
		pthread_cond_broadcast(&p->wcond);
	}
	pthread_mutex_unlock(&p->wlock);
	return NULL;
}

static int window_failure(const struct peer *p, struct sr_err *err)
{
	return sr_fail(err, p->failed, "%s", p->failure.msg[0] ? p->failure.msg :
		       sr_strerror(p->failed));
}

/* Sign msg and queue its memory in p's window (taking it; msg gets a free
 * buffer), waiting while the window is full. */
static int window_push(struct peer *p, uint64_t seq, struct sr_buf *msg,
		       struct sr_err *err)
{
	char path[256], auth[SR_REQSIG_MAX];
	size_t max = msg->max;
	int rc = SR_OK;

	/* The body hash of the signature, in the sender's thread: the poster
	 * only sends, and hashing this message overlaps with sending the
	 * last. */
	mailbox_path(path, sizeof(path), p->mc, p->org_id, seq);
	sr_coordconn_sign(p->post_cc, "POST", path, msg->len ? (const void *)msg->data : "",
			  msg->len, auth);
	pthread_mutex_lock(&p->wlock);
	if (!p->poster_started) {
		if (pthread_create(&p->poster, NULL, poster_main, p) != 0) {
			rc = sr_fail(err, SR_EINTERNAL, "mailboxes: cannot start a thread");
			goto out;
		}
		p->poster_started = 1;
	}
	while (!p->failed && (p->wlen == SR_MAILCLIENT_WINDOW_MSGS ||
			      (p->wlen > 0 && p->wbytes + msg->len > SR_MAILCLIENT_WINDOW_BYTES)))
		pthread_cond_wait(&p->wcond, &p->wlock);
	if (p->failed) {
		rc = window_failure(p, err);
		goto out;
	}
	{
		struct out *o = &p->window[(p->whead + p->wlen) % SR_MAILCLIENT_WINDOW_MSGS];
		o->seq = seq;
		o->data = *msg;
		memcpy(o->auth, auth, sizeof(auth));
		o->signed_ms = now_ms();
		p->wbytes += msg->len;
		p->wlen++;
	}
	if (p->nfree_out) {
		*msg = p->free_out[--p->nfree_out];
		sr_buf_reset(msg);
	} else {
		sr_buf_init(msg, max);
	}
	msg->max = max;
	pthread_cond_broadcast(&p->wcond);
out:
	pthread_mutex_unlock(&p->wlock);
	return rc;
}

/* Wait until p's window is empty: SR_OK, its failure, or SR_ETIMEOUT. */
static int window_flush(struct peer *p, int64_t deadline_ms, struct sr_err *err)
{
	int rc = SR_OK;

	pthread_mutex_lock(&p->wlock);
	while (p->wlen > 0 && !p->failed) {
		int64_t left = deadline_ms - now_ms();
		struct timespec until;

		if (left <= 0)
			break;
		deadline_in(&until, left);
		pthread_cond_timedwait(&p->wcond, &p->wlock, &until);
	}
	if (p->failed)
		rc = window_failure(p, err);
	else if (p->wlen > 0)
		rc = sr_fail(err, SR_ETIMEOUT, "mailboxes: %zu messages to %s not deposited in time",
			     p->wlen, p->org_id);
	pthread_mutex_unlock(&p->wlock);
	return rc;
}

static int mail_post_buf(void *ctx, const char *to, uint64_t seq, struct sr_buf *msg,
			 struct sr_err *err)
{
	struct peer *p;
	int rc;

	if (msg->len > SR_MAILBOX_MSG_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "mailbox message of %zu bytes to %s, over the limit of %u bytes",
			       msg->len, to, SR_MAILBOX_MSG_MAX);
	rc = peer_get(ctx, to, &p, err);
	if (rc == SR_OK)
		rc = window_push(p, seq, msg, err);
	return rc;
}

/* The plain post: through the window (so it keeps its place after what
 * was posted before), then wait for it. */
static int mail_post(void *ctx, const char *to, uint64_t seq, const uint8_t *msg,
		     size_t len, struct sr_err *err)
{
	struct sr_mailclient *mc = ctx;
	struct sr_buf copy;
	struct peer *p;
	int rc;

	if (len > SR_MAILBOX_MSG_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "mailbox message of %zu bytes to %s, over the limit of %u bytes",
			       len, to, SR_MAILBOX_MSG_MAX);
	rc = peer_get(mc, to, &p, err);
	if (rc)
		return rc;
	sr_buf_init(&copy, SR_MAILBOX_MSG_MAX);
	if (sr_buf_add(&copy, len ? (const void *)msg : "", len) != SR_OK) {
		sr_buf_release(&copy);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	rc = window_push(p, seq, &copy, err);
	sr_buf_release(&copy);
	if (rc == SR_OK)
		rc = window_flush(p, now_ms() + mc->retry_ms + CALL_TIMEOUT_MS, err);
	return rc;
}

static int mail_flush(void *ctx, const char *to, int timeout_ms, struct sr_err *err)
{
	struct sr_mailclient *mc = ctx;
	int64_t deadline = now_ms() + timeout_ms;
	struct peer *p;
	int rc = SR_OK;

	if (to) {
		rc = peer_get(mc, to, &p, err);
		return rc ? rc : window_flush(p, deadline, err);
	}
	/* Peers are only ever added (at the list's head): walk a snapshot. */
	pthread_mutex_lock(&mc->lock);
	p = mc->peers;
	pthread_mutex_unlock(&mc->lock);
	for (; p && rc == SR_OK; p = p->next)
		rc = window_flush(p, deadline, err);
	return rc;
}

/* ---- fetching ---------------------------------------------------------------- */

/* qlock held.  A buffer for a record of len bytes: a spare one if it is
 * big enough. */
static int rec_buf(struct peer *p, struct sr_buf *out, size_t len)
{
	sr_buf_init(out, SR_MAILBOX_MSG_MAX);
	while (p->nspares) {
		struct sr_buf b = p->spares[--p->nspares];
		if (b.cap > len) {
			*out = b;
			out->max = SR_MAILBOX_MSG_MAX;
			sr_buf_reset(out);
			return SR_OK;
		}
		sr_buf_release(&b);
	}
	return sr_buf_grow(out, len);
}

/* qlock held. */
static void spare_keep(struct peer *p, struct sr_buf *b)
{
	if (b->cap && p->nspares < SPARES_MAX) {
		p->spares[p->nspares++] = *b;
		sr_buf_init(b, b->max);
	} else {
		sr_buf_release(b);
	}
}

/* qlock held. */
static int queue_push(struct peer *p, struct rec *r)
{
	if (p->head == p->len)
		p->head = p->len = 0;
	if (p->len == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct rec *grown;
		if (p->head > 0) {
			memmove(p->queue, p->queue + p->head, (p->len - p->head) * sizeof(*grown));
			p->len -= p->head;
			p->head = 0;
		}
		if (p->len == p->cap) {
			grown = sr_realloc(p->queue, cap * sizeof(*grown));
			if (!grown)
				return SR_ENOMEM;
			p->queue = grown;
			p->cap = cap;
		}
	}
	p->queue[p->len++] = *r;
	p->qbytes += r->data.len;
	return SR_OK;
}

/* The record header in ps->hdr is complete: check it, then make room. */
static int record_start(struct parser *ps)
{
	struct peer *p = ps->p;
	uint64_t seq = sr_load_u64le(ps->hdr);
	uint32_t len = sr_load_u32le(ps->hdr + 8);
	int rc;

	if (ps->count == SR_MAILBOX_FETCH_MSGS_MAX)
		return sr_fail(&ps->err, SR_EPROTO,
			       "mailbox answer from %s: more than %d messages",
			       p->org_id, SR_MAILBOX_FETCH_MSGS_MAX);
	if (len > SR_MAILBOX_MSG_MAX)
		return sr_fail(&ps->err, SR_ELIMIT,
			       "mailbox message %llu from %s is %u bytes, over the limit of %u bytes",
			       (unsigned long long)seq, p->org_id, len, SR_MAILBOX_MSG_MAX);
	if (ps->count > 0 && ps->bytes + len > SR_MAILBOX_FETCH_BYTES_MAX)
		return sr_fail(&ps->err, SR_EPROTO,
			       "mailbox answer from %s: more than %u bytes of messages",
			       p->org_id, SR_MAILBOX_FETCH_BYTES_MAX);
	pthread_mutex_lock(&p->qlock);
	rc = rec_buf(p, &ps->cur.data, len);
	pthread_mutex_unlock(&p->qlock);
	if (rc != SR_OK)
		return sr_fail(&ps->err, SR_ENOMEM, "out of memory");
	ps->cur.seq = seq;
	ps->need = len;
	ps->in_record = 1;
	ps->count++;
	ps->bytes += len;
	return SR_OK;
}

/* A whole record: to the queue at once (a waiting fetch takes it while the
 * rest of the answer arrives). */
static int record_end(struct parser *ps)
{
	struct peer *p = ps->p;
	int rc;

	pthread_mutex_lock(&p->qlock);
	rc = queue_push(p, &ps->cur);
	if (rc == SR_OK) {
		ps->last_seq = ps->cur.seq;
		pthread_cond_broadcast(&p->qcond);
	}
	pthread_mutex_unlock(&p->qlock);
	if (rc) {
		sr_buf_release(&ps->cur.data);
		return sr_fail(&ps->err, SR_ENOMEM, "out of memory");
	}
	ps->in_record = 0;
	sr_buf_init(&ps->cur.data, SR_MAILBOX_MSG_MAX);
	return SR_OK;
}

/* The sink of a fetch: records as they arrive, never more than checked. */
static size_t on_answer(void *ctx, const char *data, size_t len)
{
	struct parser *ps = ctx;
	size_t used = 0;

	while (used < len) {
		size_t n;

		if (!ps->in_record) {
			n = SR_MAILWIRE_RECORD_HDR - ps->hdr_have;
			if (n > len - used)
				n = len - used;
			memcpy(ps->hdr + ps->hdr_have, data + used, n);
			ps->hdr_have += n;
			used += n;
			if (ps->hdr_have < SR_MAILWIRE_RECORD_HDR)
				break;
			ps->hdr_have = 0;
			if (record_start(ps) != SR_OK)
				return 0;
		}
		n = ps->need < len - used ? ps->need : len - used;
		if (n && sr_buf_add(&ps->cur.data, data + used, n) != SR_OK) {
			sr_fail(&ps->err, SR_EINTERNAL, "mailbox answer: record buffer");
			return 0;
		}
		used += n;
		ps->need -= n;
		if (ps->need == 0 && record_end(ps) != SR_OK)
			return 0;
	}
	return len;
}

/*
 * The fetcher of p: fetches from p->fetch_next on, long-polling, as long
 * as less than PREFETCH_BYTES wait in the queue.  Transient failures
 * (the coordinator unreachable) are retried; the caller's fetch keeps
 * its own deadline.  Any other failure is kept and ends it.
 */
static void *fetcher_main(void *arg)
{
	struct peer *p = arg;
	struct sr_mailclient *mc = p->mc;
	struct sr_buf errbody;

	sr_buf_init(&errbody, ERROR_ANSWER_MAX);
	pthread_mutex_lock(&p->qlock);
	while (!p->fstop) {
		struct sr_coordconn_req rq;
		struct sr_http_answer ans;
		struct parser ps;
		struct sr_err e;
		char path[256];
		int rc;

		if (p->qbytes >= PREFETCH_BYTES) {
			pthread_cond_wait(&p->qcond, &p->qlock);
			continue;
		}
		/* The mailbox answers seq >= NEXT and drops those below: the
		 * queue holds them. */
		mailbox_path(path, sizeof(path), mc, p->org_id, p->fetch_next);
		pthread_mutex_unlock(&p->qlock);
		memset(&rq, 0, sizeof(rq));
		rq.method = "GET";
		rq.path = path;
		rq.wait_ms = SR_MAILBOX_WAIT_MS;
		rq.timeout_ms = CALL_TIMEOUT_MS;
		memset(&ps, 0, sizeof(ps));
		ps.p = p;
		sr_buf_init(&ps.cur.data, SR_MAILBOX_MSG_MAX);
		sr_err_clear(&ps.err);
		memset(&ans, 0, sizeof(ans));
		ans.body = &errbody;
		ans.sink = on_answer;
		ans.sink_ctx = &ps;
		ans.sink_err = &ps.err;
		sr_buf_reset(&errbody);
		sr_err_clear(&e);
		rc = sr_coordconn_call(p->fetch_cc, &rq, &ans, &e);
		if (rc == SR_OK && (ps.in_record || ps.hdr_have))
			rc = sr_fail(&e, SR_EPROTO,
				     "mailbox answer from %s ends inside a message", p->org_id);
		sr_buf_release(&ps.cur.data);
		pthread_mutex_lock(&p->qlock);
		/* What arrived whole is queued, whatever happened after. */
		if (ps.count && ps.last_seq + 1 > p->fetch_next)
			p->fetch_next = ps.last_seq + 1;
		if (rc == SR_ECANCELED || p->fstop)
			break;
		if (rc == SR_EIO || rc == SR_ETIMEOUT) {
			/* Unreachable or cut off: again, after a pause that a
			 * stop ends. */
			struct timespec until;
			deadline_in(&until, RETRY_PAUSE_US / 1000);
			pthread_cond_timedwait(&p->qcond, &p->qlock, &until);
			continue;
		}
		if (rc) {
			p->fetch_failed = rc;
			p->fetch_failure = e;
			pthread_cond_broadcast(&p->qcond);
			break;
		}
	}
	pthread_mutex_unlock(&p->qlock);
	sr_buf_release(&errbody);
	return NULL;
}

/* qlock held.  Hand the oldest queued record after `after` to the
 * caller: 1 if one was there, or a status < 0. */
static int take_queued(struct peer *p, uint64_t after, struct sr_buf *msg,
		       uint64_t *seq, struct sr_err *err)
{
	while (p->head < p->len) {
		struct rec *r = &p->queue[p->head];
		size_t max = msg->max;

		if (after != UINT64_MAX && r->seq <= after) {
			p->head++;
			p->qbytes -= r->data.len;
			spare_keep(p, &r->data);   /* already taken: skip */
			continue;
		}
		/* The caller's cap, before its buffer is touched. */
		if (max && r->data.len > max)
			return sr_fail(err, SR_ELIMIT,
				       "mailbox message %llu from %s is %zu bytes, over the limit of %zu bytes",
				       (unsigned long long)r->seq, p->org_id, r->data.len, max);
		p->head++;
		p->qbytes -= r->data.len;
		/* Swap buffers: the record's memory becomes msg's. */
		spare_keep(p, msg);
		*msg = r->data;
		msg->max = max;
		*seq = r->seq;
		pthread_cond_broadcast(&p->qcond);   /* room to fetch ahead */
		return 1;
	}
	return 0;
}

static int mail_fetch(void *ctx, const char *from, uint64_t after,
		      struct sr_buf *msg, uint64_t *seq, int timeout_ms,
		      struct sr_err *err)
{
	struct sr_mailclient *mc = ctx;
	int64_t deadline = now_ms() + timeout_ms;
	struct peer *p;
	int rc;

	rc = peer_get(mc, from, &p, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&p->qlock);
	if (!p->fetcher_started) {
		/* after is UINT64_MAX before the first message: NEXT is 0. */
		p->fetch_next = after + 1;
		if (pthread_create(&p->fetcher, NULL, fetcher_main, p) != 0) {
			rc = sr_fail(err, SR_EINTERNAL, "mailboxes: cannot start a thread");
			goto out;
		}
		p->fetcher_started = 1;
	}
	for (;;) {
		struct timespec until;
		int64_t left;

		rc = take_queued(p, after, msg, seq, err);
		if (rc == 1) {
			rc = SR_OK;
			break;
		}
		if (rc)
			break;
		if (p->fetch_failed) {
			rc = sr_fail(err, p->fetch_failed, "%s", p->fetch_failure.msg);
			break;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			rc = sr_fail(err, SR_ETIMEOUT, "no message from %s for %d ms", from,
				     timeout_ms);
			break;
		}
		deadline_in(&until, left);
		pthread_cond_timedwait(&p->qcond, &p->qlock, &until);
	}
out:
	pthread_mutex_unlock(&p->qlock);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------------- */

int sr_mailclient_new(const struct sr_mailclient_params *p,
		      struct sr_mailclient **out, struct sr_err *err)
{
	struct sr_mailclient *m;

	*out = NULL;
	if (!p->url || !p->self || !p->project || strlen(p->project) == 0 ||
	    strlen(p->project) > SR_PROJECT_ID_MAX || !p->job_hex ||
	    strlen(p->job_hex) != 64)
		return sr_fail(err, SR_EINVAL,
			       "mailboxes: expected a URL, an identity, a project id and a 64-hex-digit job id");
	m = sr_calloc(1, sizeof(*m));
	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (!(m->url = sr_strdup(p->url)) || (p->pin && !(m->pin = sr_strdup(p->pin)))) {
		sr_free(m->url);
		sr_free(m);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&m->lock, NULL);
	m->self = p->self;
	memcpy(m->project, p->project, strlen(p->project) + 1);
	memcpy(m->job_hex, p->job_hex, 65);
	m->retry_ms = p->retry_ms > 0 ? p->retry_ms : RETRY_DEFAULT_MS;
	*out = m;
	return SR_OK;
}

void sr_mailclient_ops(struct sr_mailclient *mc, struct sr_mailbox_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->ctx = mc;
	ops->post = mail_post;
	ops->fetch = mail_fetch;
	ops->post_buf = mail_post_buf;
	ops->flush = mail_flush;
}

void sr_mailclient_free(struct sr_mailclient *mc)
{
	if (!mc)
		return;
	/* What is still in a window goes out first, for a while (the job
	 * channel flushed already, with its own timeout): then the rest is
	 * dropped, so that a node's runner is never held up here. */
	(void)mail_flush(mc, NULL, FREE_FLUSH_MS, NULL);
	while (mc->peers) {
		struct peer *p = mc->peers;
		mc->peers = p->next;
		peer_free(p);
	}
	pthread_mutex_destroy(&mc->lock);
	sr_free(mc->url);
	sr_free(mc->pin);
	sr_free(mc);
}
