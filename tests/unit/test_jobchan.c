/*
 * test_jobchan.c - end-to-end encrypted job channels (src/net/jobchan.c).
 *
 * Every party runs in its own thread; they meet in an in-memory mailbox
 * that plays the untrusted coordinator.  Honest, it must carry many
 * messages of varied sizes (fragmented ones included) and real two- and
 * three-party PSI runs that give the plaintext intersection.  Hostile, it
 * replays, reorders, drops, alters, forges, redirects and swaps messages
 * and hellos: each attack must end in the right error at the victim.
 *
 * Threads only record statuses and messages; the checks run in the main
 * thread (cmocka cannot fail a test from another thread).
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/direct.h"
#include "net/jobchan.h"
#include "net/tcp.h"
#include "psi/psi.h"

#define PROJECT "proj-1"
#define A 0
#define B 1
#define C 2
#define O 3          /* an outsider: not a participant */
#define NIDS 4

static struct sr_identity ids[NIDS];
static uint8_t job1[32], job2[32], head1[32], head2[32];

/* ---- in-memory mailbox (and adversary) ------------------------------------ */

struct mmsg {
	struct mmsg *next;
	uint8_t job[32];
	char from[SR_ORG_ID_LEN + 1], to[SR_ORG_ID_LEN + 1];
	uint64_t seq;
	size_t len;
	uint8_t *data;
};

enum attack {
	AT_NONE,
	AT_REPLAY,       /* post: seq n carries the bytes of seq n-1 */
	AT_REORDER,      /* post: seq n and n+1 swapped */
	AT_DROP,         /* post: seq n never stored */
	AT_FLIP,         /* post: byte `offset` of seq n flipped (SIZE_MAX: last) */
	AT_FORGE,        /* post: seq n's ciphertext replaced by one under an outsider's key */
	AT_SWAP_JOBS,    /* post: seq 0 moved from job1 to job2 and back */
	AT_REDIRECT,     /* fetch: seq >= n of from->to served from via_from->via_to */
	AT_REDIRECT_PATCH, /* the same, and the hello's from field rewritten to `from` */
};

struct mbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mmsg *msgs;
	enum attack attack;
	const char *from, *to, *via_from, *via_to;
	uint64_t seq;
	size_t offset;
	struct mmsg *held;
};

struct port {
	struct mbox *box;
	const uint8_t *job;
	const char *self;
	struct sr_mailbox_ops ops;
};

static void mbox_init(struct mbox *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
}

static void mmsg_free(struct mmsg *m)
{
	if (m) {
		free(m->data);
		free(m);
	}
}

static void mbox_release(struct mbox *b)
{
	while (b->msgs) {
		struct mmsg *m = b->msgs;
		b->msgs = m->next;
		mmsg_free(m);
	}
	mmsg_free(b->held);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
}

static struct mmsg *mbox_find(struct mbox *b, const uint8_t *job, const char *from,
			      const char *to, uint64_t seq)
{
	for (struct mmsg *m = b->msgs; m; m = m->next)
		if (memcmp(m->job, job, 32) == 0 && strcmp(m->from, from) == 0 &&
		    strcmp(m->to, to) == 0 && m->seq == seq)
			return m;
	return NULL;
}

static int mbox_insert(struct mbox *b, struct mmsg *m, struct sr_err *err)
{
	if (mbox_find(b, m->job, m->from, m->to, m->seq)) {
		mmsg_free(m);
		return sr_fail(err, SR_EEXIST, "mailbox: seq already deposited");
	}
	m->next = b->msgs;
	b->msgs = m;
	return SR_OK;
}

/* Attacks applied as a message is deposited.  Returns 1 if m was consumed. */
static int attack_post(struct mbox *b, struct mmsg *m)
{
	struct mmsg *prev;

	if (b->attack == AT_SWAP_JOBS) {
		if (m->seq == 0 && strcmp(m->from, b->from) == 0 && strcmp(m->to, b->to) == 0)
			memcpy(m->job, memcmp(m->job, job1, 32) == 0 ? job2 : job1, 32);
		return 0;
	}
	if (b->attack == AT_NONE || b->attack >= AT_REDIRECT ||
	    strcmp(m->from, b->from) != 0 || strcmp(m->to, b->to) != 0)
		return 0;
	switch (b->attack) {
	case AT_REPLAY:
		if (m->seq == b->seq && (prev = mbox_find(b, m->job, m->from, m->to, m->seq - 1))) {
			uint8_t *copy = malloc(prev->len);
			assert_non_null(copy);
			memcpy(copy, prev->data, prev->len);
			free(m->data);
			m->data = copy;
			m->len = prev->len;
		}
		return 0;
	case AT_REORDER:
		if (m->seq == b->seq) {
			b->held = m;
			return 1;
		}
		if (m->seq == b->seq + 1 && b->held) {
			m->seq = b->seq;
			b->held->seq = b->seq + 1;
			(void)mbox_insert(b, b->held, NULL);
			b->held = NULL;
		}
		return 0;
	case AT_DROP:
		if (m->seq == b->seq) {
			mmsg_free(m);
			return 1;
		}
		return 0;
	case AT_FLIP:
		if (m->seq == b->seq && m->len)
			m->data[b->offset == SIZE_MAX ? m->len - 1 : b->offset] ^= 1;
		return 0;
	case AT_FORGE:
		if (m->seq == b->seq && m->len >= 28 + SR_AEAD_ABYTES) {
			/* What an outsider can do: the right header, its own key. */
			uint8_t key[SR_AEAD_KEYBYTES], nonce[SR_AEAD_NONCEBYTES] = { 0 };
			size_t pt = m->len - 28 - SR_AEAD_ABYTES;
			uint8_t *plain = malloc(pt + 1);
			assert_non_null(plain);
			sr_random_buf(key, sizeof(key));
			sr_random_buf(plain, pt + 1);
			sr_store_u64le(nonce, m->seq);
			sr_aead_seal(m->data + 28, plain, pt, m->data, 28, nonce, key);
			free(plain);
		}
		return 0;
	default:
		return 0;
	}
}

static int mb_post(void *ctx, const char *to, uint64_t seq, const uint8_t *msg,
		   size_t len, struct sr_err *err)
{
	struct port *pt = ctx;
	struct mbox *b = pt->box;
	struct mmsg *m = calloc(1, sizeof(*m));
	int rc = SR_OK;

	assert_non_null(m);
	m->data = malloc(len ? len : 1);
	assert_non_null(m->data);
	memcpy(m->job, pt->job, 32);
	snprintf(m->from, sizeof(m->from), "%s", pt->self);
	snprintf(m->to, sizeof(m->to), "%s", to);
	m->seq = seq;
	m->len = len;
	if (len)
		memcpy(m->data, msg, len);
	pthread_mutex_lock(&b->lock);
	if (!attack_post(b, m))
		rc = mbox_insert(b, m, err);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

static int after_ok(uint64_t seq, uint64_t after)
{
	return after == UINT64_MAX || seq > after;
}

static int mb_fetch(void *ctx, const char *from, uint64_t after, struct sr_buf *msg,
		    uint64_t *seq, int timeout_ms, struct sr_err *err)
{
	struct port *pt = ctx;
	struct mbox *b = pt->box;
	struct timespec deadline;
	int rc = SR_OK;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	for (;;) {
		int redirect = (b->attack == AT_REDIRECT || b->attack == AT_REDIRECT_PATCH) &&
			strcmp(from, b->from) == 0 && strcmp(pt->self, b->to) == 0;
		struct mmsg *best = NULL;

		for (struct mmsg *m = b->msgs; m; m = m->next) {
			int via = redirect && m->seq >= b->seq;
			if (memcmp(m->job, pt->job, 32) != 0 || !after_ok(m->seq, after) ||
			    strcmp(m->from, via ? b->via_from : from) != 0 ||
			    strcmp(m->to, via ? b->via_to : pt->self) != 0)
				continue;
			if (!best || m->seq < best->seq)
				best = m;
		}
		if (best) {
			sr_buf_reset(msg);
			rc = sr_buf_add(msg, best->data, best->len);
			if (rc) {
				rc = sr_fail(err, rc, "mailbox: no room for a message");
				break;
			}
			if (b->attack == AT_REDIRECT_PATCH && redirect && best->seq == 0) {
				size_t at = 7 + (uint8_t)msg->data[6] + 64;   /* hello: from */
				memcpy(msg->data + at, b->from, SR_ORG_ID_LEN);
			}
			*seq = best->seq;
			break;
		}
		if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) != 0) {
			rc = sr_fail(err, SR_ETIMEOUT, "mailbox: nothing from %s", from);
			break;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* Does any message the mailbox holds contain needle? */
static int mbox_contains(struct mbox *b, const char *needle)
{
	for (struct mmsg *m = b->msgs; m; m = m->next)
		if (memmem(m->data, m->len, needle, strlen(needle)))
			return 1;
	return 0;
}

/* ---- parties --------------------------------------------------------------- */

struct party {
	int id;                               /* index in ids */
	const uint8_t *job, *head;
	struct sr_jobchan_party list[NIDS];
	size_t nlist;
	struct port port;
	int timeout_ms;
	int (*script)(struct party *p, struct sr_err *err);
	const void *arg;
	int (*should_abort)(void *ctx);
	void *abort_ctx;
	struct sr_jobchan *ch;
	uint8_t sid[SR_JOBCHAN_SID_BYTES];
	int open_rc, rc;
	struct sr_err open_err, err;
	int64_t elapsed_ms;
	void *out;                            /* script results */
	pthread_t thread;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *org(int id)
{
	return ids[id].org_id;
}

/* Party id of a job with members[0..n), through box. */
static void party_init(struct party *p, int id, const int *members, size_t n,
		       struct mbox *box, const uint8_t *job, const uint8_t *head)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->job = job;
	p->head = head;
	for (size_t i = 0; i < n; i++) {
		memcpy(p->list[i].org_id, ids[members[i]].org_id, SR_ORG_ID_LEN + 1);
		memcpy(p->list[i].sign_pk, ids[members[i]].sign_pk, SR_SIGN_PUBLICKEYBYTES);
	}
	p->nlist = n;
	p->port.box = box;
	p->port.job = job;
	p->port.self = ids[id].org_id;
	p->port.ops.ctx = &p->port;
	p->port.ops.post = mb_post;
	p->port.ops.fetch = mb_fetch;
	p->timeout_ms = 5000;
}

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct sr_jobchan_params prm;
	int64_t start = mono_ms();

	memset(&prm, 0, sizeof(prm));
	prm.project = PROJECT;
	prm.job_id = p->job;
	prm.head = p->head;
	prm.self = &ids[p->id];
	prm.parties = p->list;
	prm.nparties = p->nlist;
	prm.ops = &p->port.ops;
	prm.timeout_ms = p->timeout_ms;
	prm.should_abort = p->should_abort;
	prm.abort_ctx = p->abort_ctx;
	sr_err_clear(&p->open_err);
	sr_err_clear(&p->err);
	p->open_rc = sr_jobchan_open(&prm, &p->ch, &p->open_err);
	if (p->open_rc == SR_OK) {
		sr_jobchan_session_id(p->ch, p->sid);
		if (p->script)
			p->rc = p->script(p, &p->err);
	}
	p->elapsed_ms = mono_ms() - start;
	return NULL;
}

static void run(struct party *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&ps[i].thread, NULL, party_main, &ps[i]), 0);
	for (size_t i = 0; i < n; i++)
		pthread_join(ps[i].thread, NULL);
}

static void free_parties(struct party *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sr_jobchan_free(ps[i].ch);
		ps[i].ch = NULL;
		sr_direct_free(ps[i].port.ops.direct);
		ps[i].port.ops.direct = NULL;
	}
}

static void expect_ok(const struct party *p)
{
	if (p->open_rc || p->rc)
		fail_msg("%s: open %d (%s), script %d (%s)", org(p->id), p->open_rc,
			 p->open_err.msg, p->rc, p->err.msg);
}

/* All of them, reporting every failure (the first may be a consequence). */
static void expect_all_ok(const struct party *ps, size_t n)
{
	char all[2048];
	size_t used = 0;
	int bad = 0;

	all[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!ps[i].open_rc && !ps[i].rc)
			continue;
		bad = 1;
		if (used < sizeof(all))
			used += (size_t)snprintf(all + used, sizeof(all) - used,
						 "%s: open %d (%s), script %d (%s); ",
						 org(ps[i].id), ps[i].open_rc, ps[i].open_err.msg,
						 ps[i].rc, ps[i].err.msg);
	}
	if (bad)
		fail_msg("%s", all);
}

static void expect_err(const char *what, int rc, const struct sr_err *err,
		       int want_rc, const char *want_msg)
{
	if (rc != want_rc)
		fail_msg("%s: status %d (%s), expected %d", what, rc, err->msg, want_rc);
	if (want_msg && !strstr(err->msg, want_msg))
		fail_msg("%s: '%s' lacks '%s'", what, err->msg, want_msg);
}

/* Deterministic content for message r from -> to. */
static void fill(uint8_t *buf, size_t len, int from, int to, size_t r)
{
	uint64_t state = (uint64_t)from * 1000003u + (uint64_t)to * 7919u + r;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = sr_test_rand(&state);
		size_t n = len - i < 8 ? len - i : 8;
		memcpy(buf + i, &v, n);
	}
}

/* ---- happy path -------------------------------------------------------------- */

static const size_t sizes[] = {
	0, 1, 17, 1000, 4096, 65536, 100003, 524288, 0, 3, 250000,
};
#define ROUNDS 40

static size_t size_of(size_t r, int from, int to)
{
	return sizes[(r + (size_t)from * 3 + (size_t)to) % (sizeof(sizes) / sizeof(*sizes))];
}

/* Every round: send one message to every peer, then take one from each. */
static int script_exchange(struct party *p, struct sr_err *err)
{
	uint8_t *want = malloc(524288), *buf = malloc(524288);
	struct sr_buf msg;
	int rc = SR_OK;

	if (!want || !buf) {
		free(want);
		free(buf);
		return sr_fail(err, SR_ENOMEM, "test: out of memory");
	}
	sr_buf_init(&msg, 0);
	for (size_t r = 0; r < ROUNDS && rc == SR_OK; r++) {
		for (size_t i = 0; i < p->nlist && rc == SR_OK; i++) {
			int to = -1;
			for (int k = 0; k < NIDS; k++)
				if (strcmp(ids[k].org_id, p->list[i].org_id) == 0)
					to = k;
			if (to == p->id)
				continue;
			fill(buf, size_of(r, p->id, to), p->id, to, r);
			rc = sr_jobchan_send(p->ch, org(to), (uint32_t)(r % 3), buf,
					     size_of(r, p->id, to), err);
		}
		for (size_t i = 0; i < p->nlist && rc == SR_OK; i++) {
			int from = -1;
			for (int k = 0; k < NIDS; k++)
				if (strcmp(ids[k].org_id, p->list[i].org_id) == 0)
					from = k;
			if (from == p->id)
				continue;
			rc = sr_jobchan_recv(p->ch, org(from), (uint32_t)(r % 3), &msg,
					     524288, err);
			if (rc)
				break;
			fill(want, size_of(r, from, p->id), from, p->id, r);
			if (msg.len != size_of(r, from, p->id) || memcmp(msg.data, want, msg.len) != 0)
				rc = sr_fail(err, SR_EINTERNAL, "round %zu from %s: wrong content",
					     r, org(from));
		}
	}
	sr_buf_release(&msg);
	free(want);
	free(buf);
	return rc;
}

static void test_exchange(void **state)
{
	static const int two[] = { A, B }, three[] = { C, A, B };
	struct mbox box;
	struct party ps[3];
	uint64_t sent[3], received[3];

	(void)state;
	/* Two parties. */
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].script = script_exchange;
	}
	run(ps, 2);
	expect_ok(&ps[0]);
	expect_ok(&ps[1]);
	assert_memory_equal(ps[0].sid, ps[1].sid, SR_JOBCHAN_SID_BYTES);
	sr_jobchan_bytes(ps[0].ch, &sent[0], &received[0]);
	sr_jobchan_bytes(ps[1].ch, &sent[1], &received[1]);
	assert_true(sent[0] > 0);
	assert_int_equal(sent[0], received[1]);
	assert_int_equal(sent[1], received[0]);
	free_parties(ps, 2);
	mbox_release(&box);

	/* Three parties, listed in another order. */
	mbox_init(&box);
	for (int i = 0; i < 3; i++) {
		party_init(&ps[i], three[i], three, 3, &box, job1, head1);
		ps[i].script = script_exchange;
	}
	run(ps, 3);
	expect_all_ok(ps, 3);
	assert_memory_equal(ps[0].sid, ps[1].sid, SR_JOBCHAN_SID_BYTES);
	assert_memory_equal(ps[0].sid, ps[2].sid, SR_JOBCHAN_SID_BYTES);
	free_parties(ps, 3);
	mbox_release(&box);
}

/* B sends the sizes around a fragment boundary and SR_FRAME_MAX; A checks. */
static const size_t big_sizes[] = {
	SR_JOBCHAN_FRAGMENT_MAX - 1, SR_JOBCHAN_FRAGMENT_MAX, SR_JOBCHAN_FRAGMENT_MAX + 1,
	SR_FRAME_MAX, 5,
};
#define NBIG (sizeof(big_sizes) / sizeof(*big_sizes))

static int script_big(struct party *p, struct sr_err *err)
{
	uint8_t *buf = malloc(SR_FRAME_MAX), *want = malloc(SR_FRAME_MAX);
	struct sr_buf msg;
	int rc = SR_OK;

	sr_buf_init(&msg, 0);
	if (!buf || !want)
		rc = sr_fail(err, SR_ENOMEM, "test: out of memory");
	for (size_t i = 0; i < NBIG && rc == SR_OK; i++) {
		if (p->id == B) {
			fill(buf, big_sizes[i], B, A, i);
			if (i == NBIG - 1)
				memcpy(buf, "SECRET", 5);
			rc = sr_jobchan_send(p->ch, org(A), 9, buf, big_sizes[i], err);
		} else {
			rc = sr_jobchan_recv(p->ch, org(B), 9, &msg, SR_FRAME_MAX, err);
			if (rc)
				break;
			fill(want, big_sizes[i], B, A, i);
			if (i == NBIG - 1)
				memcpy(want, "SECRET", 5);
			if (msg.len != big_sizes[i] || memcmp(msg.data, want, msg.len) != 0)
				rc = sr_fail(err, SR_EINTERNAL, "message %zu: wrong content", i);
		}
	}
	if (rc == SR_OK && p->id == B) {
		/* Over SR_FRAME_MAX: refused, nothing sent, channel still usable. */
		uint8_t *huge = calloc(1, (size_t)SR_FRAME_MAX + 1);
		struct sr_err e;
		sr_err_clear(&e);
		if (!huge ||
		    sr_jobchan_send(p->ch, org(A), 9, huge, (size_t)SR_FRAME_MAX + 1, &e) != SR_ELIMIT ||
		    !strstr(e.msg, "over the limit"))
			rc = sr_fail(err, SR_EINTERNAL, "oversized send not refused: %s", e.msg);
		free(huge);
		if (rc == SR_OK)
			rc = sr_jobchan_send(p->ch, org(A), 9, (const uint8_t *)"end", 3, err);
	} else if (rc == SR_OK) {
		rc = sr_jobchan_recv(p->ch, org(B), 9, &msg, 3, err);
		if (rc == SR_OK && (msg.len != 3 || memcmp(msg.data, "end", 3) != 0))
			rc = sr_fail(err, SR_EINTERNAL, "last message: wrong content");
	}
	sr_buf_release(&msg);
	free(buf);
	free(want);
	return rc;
}

static void test_large_messages(void **state)
{
	static const int two[] = { A, B };
	struct mbox box;
	struct party ps[2];

	(void)state;
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].script = script_big;
	}
	run(ps, 2);
	expect_ok(&ps[0]);
	expect_ok(&ps[1]);
	/* The mailbox saw ciphertext only; no message was bigger than it takes. */
	assert_false(mbox_contains(&box, "SECRET"));
	for (struct mmsg *m = box.msgs; m; m = m->next) {
		assert_true(m->len <= SR_MAILBOX_MSG_MAX);
		/* Nor which channel: the header's channel field is masked. */
		if (m->seq > 0)
			assert_int_not_equal(sr_load_u32le(m->data + 8), 9);
	}
	free_parties(ps, 2);
	mbox_release(&box);
}

/* ---- PSI over job channels ------------------------------------------------------ */

#define KEY_SPACE 6000

struct psi_input {
	char (*text)[16];
	struct sr_psi_key *keys;
	uint32_t *value;
	size_t n;
};

struct psi_out {
	struct sr_psi_result res;
	struct psi_input *in;
	int receiver;
	size_t nparties;
};

static void psi_input_make(struct psi_input *in, size_t n, uint64_t seed)
{
	uint64_t state = seed;

	in->n = n;
	in->text = calloc(n, 16);
	in->keys = calloc(n, sizeof(*in->keys));
	in->value = calloc(n, sizeof(*in->value));
	assert_non_null(in->text);
	assert_non_null(in->keys);
	assert_non_null(in->value);
	for (size_t i = 0; i < n; i++) {
		in->value[i] = (uint32_t)(sr_test_rand(&state) % KEY_SPACE);
		snprintf(in->text[i], 16, "cust-%u", in->value[i]);
		in->keys[i].data = in->text[i];
		in->keys[i].len = strlen(in->text[i]);
		in->keys[i].row = i;
	}
}

static void psi_input_free(struct psi_input *in)
{
	free(in->text);
	free(in->keys);
	free(in->value);
}

static int script_psi(struct party *p, struct sr_err *err)
{
	struct psi_out *o = p->out;
	struct sr_psi_params prm;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_jobchan_pipe_link links[NIDS];
	struct sr_pipe ios[NIDS];
	size_t nio = 0;
	int rc;

	sr_psi_params_init(&prm);
	prm.session_id = p->sid;
	prm.session_id_len = sizeof(p->sid);
	prm.output = SR_PSI_TO_BOTH;
	prm.parties = (uint32_t)o->nparties;
	prm.batch = 512;
	sr_psi_source_array(&src, &arr, o->in->keys, o->in->n);
	sr_psi_result_init(&o->res);
	if (o->receiver) {
		for (size_t i = 0; i < p->nlist; i++) {
			if (strcmp(p->list[i].org_id, org(p->id)) == 0)
				continue;
			rc = sr_jobchan_pipe(p->ch, p->list[i].org_id, 7, &links[nio],
					       &ios[nio], err);
			if (rc)
				return rc;
			nio++;
		}
		if (o->nparties == 2)
			rc = sr_psi_run(SR_PSI_RECEIVER, &prm, &src, &ios[0], &o->res, err);
		else
			rc = sr_psi_run_multi(&prm, &src, ios, nio, &o->res, err);
	} else {
		rc = sr_jobchan_pipe(p->ch, org(A), 7, &links[0], &ios[0], err);
		if (rc == SR_OK)
			rc = sr_psi_run(SR_PSI_SENDER, &prm, &src, &ios[0], &o->res, err);
	}
	if (rc)
		sr_jobchan_abort(p->ch, "psi failed");
	return rc;
}

/* Every party's rows name the plaintext intersection, in the same order. */
static void check_psi(struct psi_out *outs, size_t n)
{
	uint8_t *common = calloc(KEY_SPACE, 1);
	size_t want = 0;

	assert_non_null(common);
	/* common[v] counts the parties holding v: the plaintext intersection. */
	for (size_t k = 0; k < n; k++) {
		uint8_t *has = calloc(KEY_SPACE, 1);
		assert_non_null(has);
		for (size_t i = 0; i < outs[k].in->n; i++)
			has[outs[k].in->value[i]] = 1;
		for (uint32_t v = 0; v < KEY_SPACE; v++)
			common[v] = (uint8_t)(common[v] + has[v]);
		free(has);
	}
	for (uint32_t v = 0; v < KEY_SPACE; v++) {
		common[v] = common[v] == n;
		want += common[v];
	}
	assert_true(want > 0);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(outs[k].res.rows_len, want);
		for (size_t j = 0; j < want; j++) {
			uint32_t v = outs[k].in->value[outs[k].res.rows[j]];
			assert_true(common[v]);
			assert_int_equal(v, outs[0].in->value[outs[0].res.rows[j]]);
		}
	}
	/* Each common key once. */
	for (size_t j = 0; j < want; j++) {
		uint32_t v = outs[0].in->value[outs[0].res.rows[j]];
		assert_int_equal(common[v], 1);
		common[v] = 2;
	}
	free(common);
}

static void test_psi(void **state)
{
	static const int two[] = { A, B }, three[] = { A, B, C };
	struct mbox box;
	struct party ps[3];
	struct psi_input in[3];
	struct psi_out outs[3];

	(void)state;
	psi_input_make(&in[0], 3000, 1);
	psi_input_make(&in[1], 2000, 2);
	psi_input_make(&in[2], 2500, 3);

	/* Two parties: A receives, B sends. */
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].timeout_ms = 120000;
		ps[i].script = script_psi;
		memset(&outs[i], 0, sizeof(outs[i]));
		outs[i].in = &in[i];
		outs[i].receiver = i == 0;
		outs[i].nparties = 2;
		ps[i].out = &outs[i];
	}
	run(ps, 2);
	expect_all_ok(ps, 2);
	check_psi(outs, 2);
	for (int i = 0; i < 2; i++)
		sr_psi_result_release(&outs[i].res);
	free_parties(ps, 2);
	mbox_release(&box);

	/* Three parties: A runs sr_psi_run_multi with helpers B and C. */
	mbox_init(&box);
	for (int i = 0; i < 3; i++) {
		party_init(&ps[i], three[i], three, 3, &box, job2, head1);
		/* C waits for A to finish with B first (a star, one helper at a
		 * time): slow builds need more than the default. */
		ps[i].timeout_ms = 120000;
		ps[i].script = script_psi;
		memset(&outs[i], 0, sizeof(outs[i]));
		outs[i].in = &in[i];
		outs[i].receiver = i == 0;
		outs[i].nparties = 3;
		ps[i].out = &outs[i];
	}
	run(ps, 3);
	expect_all_ok(ps, 3);
	check_psi(outs, 3);
	for (int i = 0; i < 3; i++)
		sr_psi_result_release(&outs[i].res);
	free_parties(ps, 3);
	mbox_release(&box);
	for (int i = 0; i < 3; i++)
		psi_input_free(&in[i]);
}

/* ---- attacks ------------------------------------------------------------------- */

#define NMSG 4

struct attack_case {
	const char *name;
	int nparties;             /* 2: A, B; 3: A, B, C */
	enum attack attack;
	int from, to, via_from, via_to;
	uint64_t seq;
	size_t offset;
	int outsider;             /* O opens a channel with A in the same job */
	uint32_t send_channel, recv_channel;
	size_t send_len, recv_max;
	int b_aborts;             /* B sends one message, then sr_jobchan_abort */
	int victim_timeout_ms;
	int open_fails;           /* A's open fails (else A's recv) */
	int want_rc;
	const char *want_msg;
};

static const struct attack_case cases[] = {
	{ "replayed message", 2, AT_REPLAY, B, A, 0, 0, 3, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "was already received (replayed" },
	{ "reordered messages", 2, AT_REORDER, B, A, 0, 0, 2, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "arrived while message 2 was expected" },
	{ "dropped message", 2, AT_DROP, B, A, 0, 0, 2, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "dropped or reordered" },
	{ "dropped last message", 2, AT_DROP, B, A, 0, 0, NMSG, 0, 0, 1, 1, 10, 100, 0, 1000, 0,
	  SR_ETIMEOUT, "no message from org_" },
	{ "altered ciphertext", 2, AT_FLIP, B, A, 0, 0, 2, SIZE_MAX, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "message 2 from org_" },
	{ "altered header", 2, AT_FLIP, B, A, 0, 0, 2, 9, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "does not authenticate" },
	{ "outsider's message", 2, AT_FORGE, B, A, 0, 0, 2, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "does not authenticate (altered, or not sealed by org_" },
	{ "participant posing as another", 3, AT_REDIRECT, B, A, C, A, 1, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "message 1 from org_" },
	{ "wrong channel", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 2, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "is on channel 2, expected channel 1" },
	{ "over max_len", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1000, 999, 0, 2000, 0,
	  SR_ELIMIT, "over the limit of 999 bytes" },
	{ "peer aborted", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 1, 1, 10, 100, 1, 2000, 0,
	  SR_EPROTO, "aborted the job channel: bad input at row 7" },
	/* Hellos. */
	{ "hello dropped", 2, AT_DROP, B, A, 0, 0, 0, 0, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_EPROTO, "its hello was dropped or reordered" },
	{ "hello signature altered", 2, AT_FLIP, B, A, 0, 0, 0, SIZE_MAX, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_ECRYPTO, "does not verify with org_" },
	{ "hello of another version", 2, AT_FLIP, B, A, 0, 0, 0, 4, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_EPROTO, "speaks job channel version 3, this node speaks 2" },
	{ "outsider's hello", 2, AT_REDIRECT, B, A, O, A, 0, 0, 1, 1, 1, 10, 100, 0, 2000, 1,
	  SR_ECRYPTO, "claims to come from org_" },
	{ "outsider's hello posing as B", 2, AT_REDIRECT_PATCH, B, A, O, A, 0, 0, 1, 1, 1, 10, 100, 0, 2000, 1,
	  SR_ECRYPTO, "does not verify with org_" },
	{ "another participant's hello", 3, AT_REDIRECT, B, A, C, A, 0, 0, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_ECRYPTO, "claims to come from org_" },
	{ "another participant's hello posing as B", 3, AT_REDIRECT_PATCH, B, A, C, A, 0, 0, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_ECRYPTO, "forged, altered, or signed by another party" },
	{ "hello addressed to another party", 3, AT_REDIRECT, C, A, C, B, 0, 0, 0, 1, 1, 10, 100, 0, 2000, 1,
	  SR_EPROTO, "is addressed to org_" },
	{ "hello replayed as data", 2, AT_REPLAY, B, A, 0, 0, 1, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "got a hello from org_" },
};

/* B (and C) send NMSG messages to A; B may abort instead. */
static int script_sender(struct party *p, struct sr_err *err)
{
	const struct attack_case *tc = p->arg;
	uint8_t buf[1000];
	int rc = SR_OK;

	for (int i = 0; i < NMSG && rc == SR_OK; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		if (tc->b_aborts && p->id == B && i == 1) {
			sr_jobchan_abort(p->ch, "bad input at row 7");
			return SR_OK;
		}
		rc = sr_jobchan_send(p->ch, org(A), tc->send_channel, buf, tc->send_len, err);
	}
	return rc;
}

/* A takes NMSG messages from B; the failure is the script's result. */
static int script_victim(struct party *p, struct sr_err *err)
{
	const struct attack_case *tc = p->arg;
	struct sr_buf msg;
	struct sr_err again;
	int rc = SR_OK;

	sr_buf_init(&msg, 0);
	for (int i = 0; i < NMSG && rc == SR_OK; i++)
		rc = sr_jobchan_recv(p->ch, org(B), tc->recv_channel, &msg, tc->recv_max, err);
	if (rc) {
		/* Broken for good, both ways, and msg left empty. */
		sr_err_clear(&again);
		if (msg.len != 0 ||
		    sr_jobchan_recv(p->ch, org(B), tc->recv_channel, &msg, 100, &again) == SR_OK ||
		    !strstr(again.msg, "broken by an earlier error") ||
		    sr_jobchan_send(p->ch, org(B), 1, (const uint8_t *)"x", 1, &again) == SR_OK)
			rc = SR_EINTERNAL;
	}
	sr_buf_release(&msg);
	return rc;
}

static void test_attacks(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		const struct attack_case *tc = &cases[c];
		static const int members[] = { A, B, C }, outside[] = { A, O };
		struct mbox box;
		struct party ps[4];
		size_t n = (size_t)tc->nparties;

		mbox_init(&box);
		box.attack = tc->attack;
		box.from = org(tc->from);
		box.to = org(tc->to);
		box.via_from = org(tc->via_from);
		box.via_to = org(tc->via_to);
		box.seq = tc->seq;
		box.offset = tc->offset;
		for (size_t i = 0; i < n; i++) {
			party_init(&ps[i], members[i], members, n, &box, job1, head1);
			ps[i].script = i == 0 ? script_victim : script_sender;
			ps[i].arg = tc;
		}
		ps[0].timeout_ms = tc->victim_timeout_ms;
		if (tc->outsider) {
			party_init(&ps[n], O, outside, 2, &box, job1, head1);
			ps[n].timeout_ms = 300;
			n++;
		}
		run(ps, n);
		if (tc->open_fails) {
			expect_err(tc->name, ps[0].open_rc, &ps[0].open_err, tc->want_rc,
				   tc->want_msg);
			assert_null(ps[0].ch);
		} else {
			if (ps[0].open_rc)
				fail_msg("%s: open failed: %s", tc->name, ps[0].open_err.msg);
			if (ps[0].rc == SR_EINTERNAL)
				fail_msg("%s: the channel was not broken after: %s", tc->name,
					 ps[0].err.msg);
			expect_err(tc->name, ps[0].rc, &ps[0].err, tc->want_rc, tc->want_msg);
			/* The error names the peer. */
			if (!strstr(ps[0].err.msg, org(B)))
				fail_msg("%s: '%s' does not name %s", tc->name, ps[0].err.msg, org(B));
		}
		for (size_t i = 1; i < (size_t)tc->nparties; i++)
			expect_ok(&ps[i]);
		free_parties(ps, n);
		mbox_release(&box);
	}
}

/* Hellos of one job delivered in another. */
static void test_hellos_swapped_between_jobs(void **state)
{
	static const int two[] = { A, B };
	char hex1[65], hex2[65], want1[80], want2[80];
	struct mbox box;
	struct party ps[4];

	(void)state;
	mbox_init(&box);
	box.attack = AT_SWAP_JOBS;
	box.from = org(B);
	box.to = org(A);
	party_init(&ps[0], A, two, 2, &box, job1, head1);
	party_init(&ps[1], B, two, 2, &box, job1, head1);
	party_init(&ps[2], A, two, 2, &box, job2, head1);
	party_init(&ps[3], B, two, 2, &box, job2, head1);
	run(ps, 4);
	sr_hex(hex1, job1, 32);
	sr_hex(hex2, job2, 32);
	snprintf(want1, sizeof(want1), "is for job %.16s, not this job %.16s", hex2, hex1);
	snprintf(want2, sizeof(want2), "is for job %.16s, not this job %.16s", hex1, hex2);
	expect_err("job 1", ps[0].open_rc, &ps[0].open_err, SR_EPROTO, want1);
	expect_err("job 2", ps[2].open_rc, &ps[2].open_err, SR_EPROTO, want2);
	expect_ok(&ps[1]);
	expect_ok(&ps[3]);
	free_parties(ps, 4);
	mbox_release(&box);
}

/* A coordinator showing two histories: both sides name both heads. */
static void test_heads_differ(void **state)
{
	static const int two[] = { A, B };
	char h1[65], h2[65], want[200];
	struct mbox box;
	struct party ps[2];

	(void)state;
	mbox_init(&box);
	party_init(&ps[0], A, two, 2, &box, job1, head1);
	party_init(&ps[1], B, two, 2, &box, job1, head2);
	run(ps, 2);
	sr_hex(h1, head1, 32);
	sr_hex(h2, head2, 32);
	snprintf(want, sizeof(want), "ledger heads differ: this node has %.16s, %s has %.16s",
		 h1, org(B), h2);
	expect_err("A", ps[0].open_rc, &ps[0].open_err, SR_EPROTO, want);
	assert_string_equal(ps[0].open_err.msg, want);
	snprintf(want, sizeof(want), "ledger heads differ: this node has %.16s, %s has %.16s",
		 h2, org(A), h1);
	expect_err("B", ps[1].open_rc, &ps[1].open_err, SR_EPROTO, want);
	assert_string_equal(ps[1].open_err.msg, want);
	free_parties(ps, 2);
	mbox_release(&box);
}

/* ---- waiting: timeouts and should_abort ------------------------------------------- */

static atomic_int abort_flag;

static int abort_when_flag(void *ctx)
{
	(void)ctx;
	return atomic_load(&abort_flag);
}

static int abort_after_calls(void *ctx)
{
	atomic_int *calls = ctx;

	return atomic_fetch_add(calls, 1) >= 2;
}

static int script_wait_for_b(struct party *p, struct sr_err *err)
{
	struct sr_buf msg;
	int rc;

	sr_buf_init(&msg, 0);
	rc = sr_jobchan_recv(p->ch, org(B), 0, &msg, 100, err);
	sr_buf_release(&msg);
	return rc;
}

static int script_raise_flag(struct party *p, struct sr_err *err)
{
	(void)p;
	(void)err;
	usleep(200 * 1000);
	atomic_store(&abort_flag, 1);
	return SR_OK;
}

static void test_timeouts_and_abort(void **state)
{
	static const int two[] = { A, B };
	struct mbox box;
	struct party ps[2];
	atomic_int calls;

	(void)state;
	/* B never comes: the hello wait times out. */
	mbox_init(&box);
	party_init(&ps[0], A, two, 2, &box, job1, head1);
	ps[0].timeout_ms = 300;
	run(ps, 1);
	expect_err("timeout", ps[0].open_rc, &ps[0].open_err, SR_ETIMEOUT, NULL);
	{
		char want[100];
		snprintf(want, sizeof(want), "no message from %s for 0.3 s", org(B));
		assert_non_null(strstr(ps[0].open_err.msg, want));
	}
	assert_null(ps[0].ch);
	mbox_release(&box);

	/* should_abort ends a long wait for a hello. */
	mbox_init(&box);
	party_init(&ps[0], A, two, 2, &box, job1, head1);
	ps[0].timeout_ms = 60000;
	atomic_init(&calls, 0);
	ps[0].should_abort = abort_after_calls;
	ps[0].abort_ctx = &calls;
	run(ps, 1);
	expect_err("abort in open", ps[0].open_rc, &ps[0].open_err, SR_EPERM, "aborted");
	assert_non_null(strstr(ps[0].open_err.msg, org(B)));
	assert_true(ps[0].elapsed_ms < 5000);
	mbox_release(&box);

	/* ... and a wait for a message: B raises the flag instead of sending. */
	mbox_init(&box);
	atomic_store(&abort_flag, 0);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].timeout_ms = 60000;
	}
	ps[0].should_abort = abort_when_flag;
	ps[0].script = script_wait_for_b;
	ps[1].script = script_raise_flag;
	run(ps, 2);
	expect_ok(&ps[1]);
	if (ps[0].open_rc)
		fail_msg("open: %s", ps[0].open_err.msg);
	expect_err("abort in recv", ps[0].rc, &ps[0].err, SR_EPERM,
		   "stopped waiting for org_");
	assert_true(ps[0].elapsed_ms < 5000);
	free_parties(ps, 2);
	mbox_release(&box);
}

/* ---- parameters ------------------------------------------------------------------ */

static void test_params(void **state)
{
	static const int two[] = { A, B }, others[] = { B, C };
	struct mbox box;
	struct party p;
	struct sr_buf msg;
	struct sr_err err;
	uint8_t big[16];

	(void)state;
	mbox_init(&box);
	/* One party. */
	party_init(&p, A, two, 1, &box, job1, head1);
	party_main(&p);
	expect_err("one party", p.open_rc, &p.open_err, SR_EINVAL, "expected 2 to");
	/* Self missing. */
	party_init(&p, A, others, 2, &box, job1, head1);
	party_main(&p);
	expect_err("self missing", p.open_rc, &p.open_err, SR_EINVAL, "not among the parties");
	/* A key that is not the org id's. */
	party_init(&p, A, two, 2, &box, job1, head1);
	memcpy(p.list[1].sign_pk, ids[C].sign_pk, SR_SIGN_PUBLICKEYBYTES);
	party_main(&p);
	expect_err("wrong key", p.open_rc, &p.open_err, SR_EINVAL, "does not derive");
	/* Listed twice. */
	party_init(&p, A, two, 2, &box, job1, head1);
	p.list[2] = p.list[1];
	p.nlist = 3;
	party_main(&p);
	expect_err("twice", p.open_rc, &p.open_err, SR_EINVAL, "listed twice");
	/* Not a project id. */
	party_init(&p, A, two, 2, &box, job1, head1);
	{
		struct sr_jobchan_params prm;
		struct sr_jobchan *ch = NULL;
		memset(&prm, 0, sizeof(prm));
		prm.project = "bad project";
		prm.job_id = job1;
		prm.head = head1;
		prm.self = &ids[A];
		prm.parties = p.list;
		prm.nparties = 2;
		prm.ops = &p.port.ops;
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_open(&prm, &ch, &err), SR_EINVAL);
		assert_null(ch);
	}
	mbox_release(&box);

	/* Unknown peers, on an open channel. */
	{
		struct party ps[2];
		mbox_init(&box);
		for (int i = 0; i < 2; i++)
			party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		run(ps, 2);
		expect_ok(&ps[0]);
		expect_ok(&ps[1]);
		sr_buf_init(&msg, 0);
		memset(big, 0, sizeof(big));
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_send(ps[0].ch, org(C), 0, big, 1, &err), SR_EINVAL);
		assert_non_null(strstr(err.msg, "is not a peer"));
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_send(ps[0].ch, org(A), 0, big, 1, &err), SR_EINVAL);
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_recv(ps[0].ch, "nobody", 0, &msg, 10, &err), SR_EINVAL);
		{
			struct sr_jobchan_pipe_link link;
			struct sr_pipe io;
			sr_err_clear(&err);
			assert_int_equal(sr_jobchan_pipe(ps[0].ch, org(O), 0, &link, &io, &err),
					 SR_EINVAL);
		}
		/* Those were the caller's mistakes: the channel still works. */
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_send(ps[0].ch, org(B), 0, big, 16, &err), SR_OK);
		assert_int_equal(sr_jobchan_recv(ps[1].ch, org(A), 0, &msg, 16, &err), SR_OK);
		assert_int_equal(msg.len, 16);
		/* A buffer with its own cap smaller than the message. */
		sr_buf_release(&msg);
		sr_buf_init(&msg, 8);
		assert_int_equal(sr_jobchan_send(ps[0].ch, org(B), 0, big, 16, &err), SR_OK);
		sr_err_clear(&err);
		assert_int_equal(sr_jobchan_recv(ps[1].ch, org(A), 0, &msg, 100, &err), SR_ELIMIT);
		sr_buf_release(&msg);
		sr_jobchan_free(NULL);
		free_parties(ps, 2);
		mbox_release(&box);
	}
}

/* ---- allocation failures ------------------------------------------------------------ */

static int script_ping(struct party *p, struct sr_err *err)
{
	struct sr_buf msg;
	int rc;

	sr_buf_init(&msg, 0);
	if (p->id == A) {
		rc = sr_jobchan_send(p->ch, org(B), 1, (const uint8_t *)"ping", 4, err);
		if (rc == SR_OK)
			rc = sr_jobchan_recv(p->ch, org(B), 2, &msg, 100, err);
	} else {
		rc = sr_jobchan_recv(p->ch, org(A), 1, &msg, 100, err);
		if (rc == SR_OK)
			rc = sr_jobchan_send(p->ch, org(A), 2, (const uint8_t *)"pong", 4, err);
	}
	sr_buf_release(&msg);
	return rc;
}

static int status_of(const struct party *p)
{
	return p->open_rc ? p->open_rc : p->rc;
}

static void test_alloc_failures(void **state)
{
	static const int two[] = { A, B };

	(void)state;
	for (unsigned long n = 1;; n++) {
		struct mbox box;
		struct party ps[2];
		int fired, nomem = 0;

		assert_true(n < 500);
		mbox_init(&box);
		for (int i = 0; i < 2; i++) {
			party_init(&ps[i], two[i], two, 2, &box, job1, head1);
			ps[i].script = script_ping;
			ps[i].timeout_ms = 300;
		}
		sr_alloc_fail_at(n, 0);
		run(ps, 2);
		fired = sr_alloc_failed();
		sr_alloc_fail_at(0, 0);
		for (int i = 0; i < 2; i++) {
			int rc = status_of(&ps[i]);
			if (rc != SR_OK && rc != SR_ENOMEM && rc != SR_ETIMEOUT)
				fail_msg("allocation %lu: %s: status %d (%s%s)", n, org(ps[i].id), rc,
					 ps[i].open_err.msg, ps[i].err.msg);
			nomem += rc == SR_ENOMEM;
		}
		free_parties(ps, 2);
		mbox_release(&box);
		if (!fired) {
			expect_ok(&ps[0]);
			expect_ok(&ps[1]);
			break;
		}
		assert_true(nomem >= 1);
	}
}

/* ---- the direct path ---------------------------------------------------------------------- */

/*
 * The same channels with every party listening for its peers
 * (sr_mailbox_ops.direct): hellos and PATH messages go through the
 * in-memory mailbox, every data message over TCP on loopback.  The
 * adversary on that path is a proxy in front of the victim's listener: it
 * passes the connection's proofs through unchanged (it cannot make them)
 * and then replays, reorders, drops, alters, forges and redirects frames
 * as the mailbox does on the relay.
 */

struct frame {
	char from[SR_ORG_ID_LEN + 1];
	uint64_t seq;
	size_t len;
	uint8_t *data;
	struct frame *next;
};

struct proxy {
	int listen_fd;
	char addr[SR_TCP_ADDR_MAX];
	char target[SR_TCP_ADDR_MAX];  /* the victim's real listener */
	enum attack attack;
	const char *from, *via_from;
	uint64_t seq;
	size_t offset;
	pthread_t acceptor;
	pthread_t pumps[8];
	int npumps;
	int fds[16];
	int nfds;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct frame *store;           /* frames seen, for the redirect */
	int stop;
};

static int read_frame(int fd, struct frame *f)
{
	uint8_t hdr[4];
	int eof = 0;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_tcp_read_all(fd, hdr, 4, &eof, &err) != SR_OK)
		return -1;
	f->len = sr_load_u32le(hdr);
	f->data = malloc(f->len ? f->len : 1);
	assert_non_null(f->data);
	if (sr_tcp_read_all(fd, f->data, f->len, NULL, &err) != SR_OK) {
		free(f->data);
		return -1;
	}
	f->seq = f->len >= 20 ? sr_load_u64le(f->data + 12) : 0;
	return 0;
}

static void write_frame(int fd, const uint8_t *data, size_t len)
{
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_direct_send(fd, data, len, &err) != SR_OK)
		return;   /* the victim went away: nothing to forward to */
}

struct pump {
	struct proxy *px;
	int down;                      /* the sender's connection */
};

/* The stored frame of from with seq, waiting up to 3 s for it. */
static struct frame *stored(struct proxy *px, const char *from, uint64_t seq)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	for (;;) {
		for (struct frame *f = px->store; f; f = f->next)
			if (strcmp(f->from, from) == 0 && f->seq == seq)
				return f;
		if (px->stop || pthread_cond_timedwait(&px->cond, &px->lock, &until) != 0)
			return NULL;
	}
}

static void *pump_main(void *arg)
{
	struct pump *pu = arg;
	struct proxy *px = pu->px;
	uint8_t hello[4 + 1 + 32 + 2 * SR_ORG_ID_LEN + 32], answer[4 + 1 + 32];
	char from[SR_ORG_ID_LEN + 1];
	struct frame prev = { .data = NULL }, held = { .data = NULL };
	struct sr_err err;
	int up = -1, eof = 0;

	sr_err_clear(&err);
	/* The proofs go through as they are. */
	if (sr_tcp_read_all(pu->down, hello, sizeof(hello), &eof, &err) != SR_OK ||
	    sr_tcp_connect(px->target, 2000, &up, &err) != SR_OK)
		goto out;
	pthread_mutex_lock(&px->lock);
	px->fds[px->nfds++] = up;
	pthread_mutex_unlock(&px->lock);
	memcpy(from, hello + 37, SR_ORG_ID_LEN);
	from[SR_ORG_ID_LEN] = '\0';
	if (sr_tcp_write_all(up, hello, sizeof(hello), &err) != SR_OK ||
	    sr_tcp_read_all(up, answer, sizeof(answer), &eof, &err) != SR_OK ||
	    sr_tcp_write_all(pu->down, answer, sizeof(answer), &err) != SR_OK)
		goto out;
	for (;;) {
		struct frame f;
		int mine = px->from && strcmp(from, px->from) == 0;

		memset(&f, 0, sizeof(f));
		if (read_frame(pu->down, &f) != 0)
			break;
		memcpy(f.from, from, sizeof(from));
		if (px->via_from && strcmp(from, px->via_from) == 0) {
			/* Kept for the redirect, not passed on. */
			struct frame *keep = malloc(sizeof(*keep));
			assert_non_null(keep);
			*keep = f;
			pthread_mutex_lock(&px->lock);
			keep->next = px->store;
			px->store = keep;
			pthread_cond_broadcast(&px->cond);
			pthread_mutex_unlock(&px->lock);
			continue;
		}
		if (mine && px->attack == AT_REPLAY && f.seq == px->seq && prev.data) {
			write_frame(up, prev.data, prev.len);
		} else if (mine && px->attack == AT_REORDER && f.seq == px->seq) {
			held = f;
			continue;
		} else if (mine && px->attack == AT_REORDER && f.seq == px->seq + 1 && held.data) {
			write_frame(up, f.data, f.len);
			write_frame(up, held.data, held.len);
			free(held.data);
			held.data = NULL;
		} else if (mine && px->attack == AT_DROP && f.seq == px->seq) {
			/* gone */
		} else if (mine && px->attack == AT_FLIP && f.seq == px->seq && f.len) {
			f.data[px->offset == SIZE_MAX ? f.len - 1 : px->offset] ^= 1;
			write_frame(up, f.data, f.len);
		} else if (mine && px->attack == AT_FORGE && f.seq == px->seq &&
			   f.len >= 28 + SR_AEAD_ABYTES) {
			/* An outsider's: the right header, its own key. */
			uint8_t key[SR_AEAD_KEYBYTES], nonce[SR_AEAD_NONCEBYTES] = { 0 };
			size_t pt = f.len - 28 - SR_AEAD_ABYTES;
			uint8_t *plain = malloc(pt + 1);
			assert_non_null(plain);
			sr_random_buf(key, sizeof(key));
			sr_random_buf(plain, pt + 1);
			sr_store_u64le(nonce, f.seq);
			sr_aead_seal(f.data + 28, plain, pt, f.data, 28, nonce, key);
			free(plain);
			write_frame(up, f.data, f.len);
		} else if (mine && px->attack == AT_REDIRECT && f.seq >= px->seq) {
			/* Another participant's message of that number instead. */
			struct frame *other;
			pthread_mutex_lock(&px->lock);
			other = stored(px, px->via_from, f.seq);
			if (other)
				write_frame(up, other->data, other->len);
			pthread_mutex_unlock(&px->lock);
		} else {
			write_frame(up, f.data, f.len);
		}
		free(prev.data);
		prev = f;
	}
out:
	free(prev.data);
	free(held.data);
	if (up >= 0)
		shutdown(up, SHUT_WR);   /* the victim sees the end */
	free(pu);
	return NULL;
}

static void *proxy_main(void *arg)
{
	struct proxy *px = arg;

	for (;;) {
		struct pump *pu;
		struct sr_err err;
		int fd;

		sr_err_clear(&err);
		if (sr_tcp_accept(px->listen_fd, 100, &fd, &err) != SR_OK) {
			pthread_mutex_lock(&px->lock);
			if (px->stop) {
				pthread_mutex_unlock(&px->lock);
				break;
			}
			pthread_mutex_unlock(&px->lock);
			continue;
		}
		pu = malloc(sizeof(*pu));
		assert_non_null(pu);
		pu->px = px;
		pu->down = fd;
		pthread_mutex_lock(&px->lock);
		px->fds[px->nfds++] = fd;
		assert_int_equal(pthread_create(&px->pumps[px->npumps++], NULL, pump_main, pu), 0);
		pthread_mutex_unlock(&px->lock);
	}
	return NULL;
}

static void proxy_start(struct proxy *px)
{
	struct sr_err err;

	sr_err_clear(&err);
	pthread_mutex_init(&px->lock, NULL);
	pthread_cond_init(&px->cond, NULL);
	assert_int_equal(sr_tcp_listen("127.0.0.1:0", &px->listen_fd, &err), SR_OK);
	assert_int_equal(sr_tcp_local_addr(px->listen_fd, px->addr, &err), SR_OK);
	assert_int_equal(pthread_create(&px->acceptor, NULL, proxy_main, px), 0);
}

static void proxy_stop(struct proxy *px)
{
	pthread_mutex_lock(&px->lock);
	px->stop = 1;
	pthread_cond_broadcast(&px->cond);
	for (int i = 0; i < px->nfds; i++)
		shutdown(px->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&px->lock);
	pthread_join(px->acceptor, NULL);
	for (int i = 0; i < px->npumps; i++)
		pthread_join(px->pumps[i], NULL);
	for (int i = 0; i < px->nfds; i++)
		close(px->fds[i]);
	close(px->listen_fd);
	while (px->store) {
		struct frame *f = px->store;
		px->store = f->next;
		free(f->data);
		free(f);
	}
	pthread_cond_destroy(&px->cond);
	pthread_mutex_destroy(&px->lock);
}

/* Every party listens; party `victim` (an index into ps, or -1) behind px. */
static void direct_on(struct party *ps, size_t n, int victim, struct proxy *px)
{
	struct sr_err err;

	sr_err_clear(&err);
	for (size_t i = 0; i < n; i++) {
		struct sr_direct *d = NULL;
		assert_int_equal(sr_direct_new("127.0.0.1:0", (int)i == victim ? px->addr : NULL,
					       &d, &err), SR_OK);
		ps[i].port.ops.direct = d;
		if ((int)i == victim)
			snprintf(px->target, sizeof(px->target), "%s", sr_direct_local(d));
	}
}

/* Channels with and without the direct path carry the same: the exchange
 * of test_exchange, three parties, every data message direct. */
static void test_direct_exchange(void **state)
{
	static const int three[] = { C, A, B };
	struct mbox box;
	struct party ps[3];

	(void)state;
	mbox_init(&box);
	for (int i = 0; i < 3; i++) {
		party_init(&ps[i], three[i], three, 3, &box, job1, head1);
		ps[i].script = script_exchange;
	}
	direct_on(ps, 3, -1, NULL);
	run(ps, 3);
	expect_all_ok(ps, 3);
	assert_memory_equal(ps[0].sid, ps[1].sid, SR_JOBCHAN_SID_BYTES);
	/* The mailbox held the hellos and the PATH messages, nothing else:
	 * three parties, two peers each, seq 0 and 1. */
	{
		size_t held = 0;
		for (struct mmsg *m = box.msgs; m; m = m->next) {
			assert_true(m->seq <= 1);
			held++;
		}
		assert_int_equal(held, 12);
	}
	free_parties(ps, 3);
	mbox_release(&box);

	/* Sizes up to SR_FRAME_MAX, fragments across the boundary. */
	{
		static const int two[] = { A, B };
		mbox_init(&box);
		for (int i = 0; i < 2; i++) {
			party_init(&ps[i], two[i], two, 2, &box, job1, head1);
			ps[i].script = script_big;
		}
		direct_on(ps, 2, -1, NULL);
		run(ps, 2);
		expect_ok(&ps[0]);
		expect_ok(&ps[1]);
		free_parties(ps, 2);
		mbox_release(&box);
	}
}

/* A peer that listens where nobody can reach it: the relay, and the same
 * channel; and one that does not listen at all. */
static void test_direct_fallback(void **state)
{
	static const int two[] = { A, B };
	struct mbox box;
	struct party ps[2];
	struct sr_err err;
	struct sr_direct *d = NULL;

	(void)state;
	sr_err_clear(&err);
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].script = script_exchange;
	}
	/* A advertises a port where nothing listens; B listens for real. */
	assert_int_equal(sr_direct_new("127.0.0.1:0", "127.0.0.1:1", &d, &err), SR_OK);
	ps[0].port.ops.direct = d;
	d = NULL;
	assert_int_equal(sr_direct_new("127.0.0.1:0", NULL, &d, &err), SR_OK);
	ps[1].port.ops.direct = d;
	run(ps, 2);
	expect_ok(&ps[0]);
	expect_ok(&ps[1]);
	/* B's messages went by the relay (after its PATH "R"), A's direct. */
	{
		int from_b = 0, from_a = 0;
		for (struct mmsg *m = box.msgs; m; m = m->next) {
			if (strcmp(m->from, org(B)) == 0)
				from_b++;
			else
				from_a++;
		}
		assert_true(from_b > 2);
		assert_int_equal(from_a, 2);   /* hello and PATH */
	}
	free_parties(ps, 2);
	mbox_release(&box);

	/* B without a listener (connecting out only), A listening. */
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].script = script_exchange;
	}
	assert_int_equal(sr_direct_new("127.0.0.1:0", NULL, &d, &err), SR_OK);
	ps[0].port.ops.direct = d;
	assert_int_equal(sr_direct_new(NULL, NULL, &d, &err), SR_OK);
	ps[1].port.ops.direct = d;
	run(ps, 2);
	expect_ok(&ps[0]);
	expect_ok(&ps[1]);
	free_parties(ps, 2);
	mbox_release(&box);
}

struct intruder {
	const char *addr;
	int answered;                  /* the listener answered the bogus proof */
};

/* Connect to A's listener as B, for job1, with a proof made up. */
static void *intrude(void *arg)
{
	struct intruder *in = arg;
	uint8_t hello[4 + 1 + 32 + 2 * SR_ORG_ID_LEN + 32], answer[37];
	struct sr_err err;
	int fd = -1, eof = 0;

	sr_err_clear(&err);
	memcpy(hello, "SRJD", 4);
	hello[4] = 1;
	memcpy(hello + 5, job1, 32);
	memcpy(hello + 37, org(B), SR_ORG_ID_LEN);
	memcpy(hello + 37 + SR_ORG_ID_LEN, org(A), SR_ORG_ID_LEN);
	sr_random_buf(hello + 37 + 2 * SR_ORG_ID_LEN, 32);
	if (sr_tcp_connect(in->addr, 2000, &fd, &err) == SR_OK &&
	    sr_tcp_set_timeout(fd, 8000, &err) == SR_OK &&
	    sr_tcp_write_all(fd, hello, sizeof(hello), &err) == SR_OK &&
	    sr_tcp_read_all(fd, answer, sizeof(answer), &eof, &err) == SR_OK)
		in->answered = 1;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A connection that cannot prove B's key for this run is closed unanswered,
 * and takes nothing from B's own. */
static void test_direct_outsider(void **state)
{
	static const int two[] = { A, B };
	struct intruder in;
	struct mbox box;
	struct party ps[2];
	pthread_t th;

	(void)state;
	mbox_init(&box);
	for (int i = 0; i < 2; i++) {
		party_init(&ps[i], two[i], two, 2, &box, job1, head1);
		ps[i].script = script_ping;
	}
	direct_on(ps, 2, -1, NULL);
	in.addr = sr_direct_local(ps[0].port.ops.direct);
	in.answered = 0;
	assert_int_equal(pthread_create(&th, NULL, intrude, &in), 0);
	run(ps, 2);
	pthread_join(th, NULL);
	expect_ok(&ps[0]);
	expect_ok(&ps[1]);
	assert_false(in.answered);
	free_parties(ps, 2);
	mbox_release(&box);
}

/* The attacks of test_attacks on the direct path's data messages: a
 * sender's data starts at seq 2 there (seq 1 is its PATH message). */
static const struct attack_case direct_cases[] = {
	{ "direct: replayed message", 2, AT_REPLAY, B, A, 0, 0, 4, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "was already received (replayed" },
	{ "direct: reordered messages", 2, AT_REORDER, B, A, 0, 0, 3, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "arrived while message 3 was expected" },
	{ "direct: dropped message", 2, AT_DROP, B, A, 0, 0, 3, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "dropped or reordered" },
	{ "direct: dropped last message", 2, AT_DROP, B, A, 0, 0, NMSG + 1, 0, 0, 1, 1, 10, 100, 0, 1000, 0,
	  SR_ETIMEOUT, "no message from org_" },
	{ "direct: altered ciphertext", 2, AT_FLIP, B, A, 0, 0, 3, SIZE_MAX, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "message 3 from org_" },
	{ "direct: altered header", 2, AT_FLIP, B, A, 0, 0, 3, 9, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "does not authenticate" },
	{ "direct: outsider's message", 2, AT_FORGE, B, A, 0, 0, 3, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "does not authenticate (altered, or not sealed by org_" },
	{ "direct: participant posing as another", 3, AT_REDIRECT, B, A, C, A, 2, 0, 0, 1, 1, 10, 100, 0, 2000, 0,
	  SR_ECRYPTO, "message 2 from org_" },
	{ "direct: wrong channel", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 2, 1, 10, 100, 0, 2000, 0,
	  SR_EPROTO, "is on channel 2, expected channel 1" },
	{ "direct: over max_len", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1000, 999, 0, 2000, 0,
	  SR_ELIMIT, "over the limit of 999 bytes" },
	{ "direct: peer aborted", 2, AT_NONE, 0, 0, 0, 0, 0, 0, 0, 1, 1, 10, 100, 1, 2000, 0,
	  SR_EPROTO, "aborted the job channel: bad input at row 7" },
};

static void test_direct_attacks(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(direct_cases) / sizeof(*direct_cases); c++) {
		const struct attack_case *tc = &direct_cases[c];
		static const int members[] = { A, B, C };
		struct mbox box;
		struct proxy px;
		struct party ps[3];
		size_t n = (size_t)tc->nparties;

		mbox_init(&box);   /* honest: the attacks are the proxy's */
		memset(&px, 0, sizeof(px));
		px.attack = tc->attack;
		px.from = tc->attack != AT_NONE ? org(tc->from) : NULL;
		px.via_from = tc->attack == AT_REDIRECT ? org(tc->via_from) : NULL;
		px.seq = tc->seq;
		px.offset = tc->offset;
		proxy_start(&px);
		for (size_t i = 0; i < n; i++) {
			party_init(&ps[i], members[i], members, n, &box, job1, head1);
			ps[i].script = i == 0 ? script_victim : script_sender;
			ps[i].arg = tc;
		}
		ps[0].timeout_ms = tc->victim_timeout_ms;
		direct_on(ps, n, 0, &px);
		run(ps, n);
		if (ps[0].open_rc)
			fail_msg("%s: open failed: %s", tc->name, ps[0].open_err.msg);
		if (ps[0].rc == SR_EINTERNAL)
			fail_msg("%s: the channel was not broken after: %s", tc->name, ps[0].err.msg);
		expect_err(tc->name, ps[0].rc, &ps[0].err, tc->want_rc, tc->want_msg);
		if (!strstr(ps[0].err.msg, org(B)))
			fail_msg("%s: '%s' does not name %s", tc->name, ps[0].err.msg, org(B));
		for (size_t i = 1; i < n; i++)
			expect_ok(&ps[i]);
		/* Nothing but hellos and PATH messages went by the mailbox. */
		for (struct mmsg *m = box.msgs; m; m = m->next)
			assert_true(m->seq <= 1);
		free_parties(ps, n);
		proxy_stop(&px);
		mbox_release(&box);
	}
}

/* ---- setup ---------------------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	for (int i = 0; i < NIDS; i++) {
		sr_identity_init(&ids[i]);
		assert_int_equal(sr_identity_generate(&ids[i], NULL), SR_OK);
	}
	sr_hash(job1, "test.job", "1", 1);
	sr_hash(job2, "test.job", "2", 1);
	sr_hash(head1, "test.head", "1", 1);
	sr_hash(head2, "test.head", "2", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NIDS; i++)
		sr_identity_release(&ids[i]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_large_messages),
		cmocka_unit_test(test_psi),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_hellos_swapped_between_jobs),
		cmocka_unit_test(test_heads_differ),
		cmocka_unit_test(test_timeouts_and_abort),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_direct_exchange),
		cmocka_unit_test(test_direct_fallback),
		cmocka_unit_test(test_direct_outsider),
		cmocka_unit_test(test_direct_attacks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
