/*
 * jobchan_harness.c - what test_jobchan.c and test_direct.c share: an
 * in-memory mailbox that plays the untrusted coordinator (and its
 * attacks), parties that each open a channel in a thread of their own,
 * and the scripts they run (see jobchan_harness.h).
 */
#include "jobchan_harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "net/direct.h"

struct sr_identity ids[NIDS];
uint8_t job1[32], job2[32], head1[32], head2[32];

/* ---- in-memory mailbox (and adversary) ------------------------------------ */

void mbox_init(struct mbox *b)
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

void mbox_release(struct mbox *b)
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
int mbox_contains(struct mbox *b, const char *needle)
{
	for (struct mmsg *m = b->msgs; m; m = m->next)
		if (memmem(m->data, m->len, needle, strlen(needle)))
			return 1;
	return 0;
}

/* ---- parties --------------------------------------------------------------- */

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *org(int id)
{
	return ids[id].org_id;
}

/* Party id of a job with members[0..n), through box. */
void party_init(struct party *p, int id, const int *members, size_t n,
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

void *party_main(void *arg)
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

void run(struct party *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&ps[i].thread, NULL, party_main, &ps[i]), 0);
	for (size_t i = 0; i < n; i++)
		pthread_join(ps[i].thread, NULL);
}

void free_parties(struct party *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sr_jobchan_free(ps[i].ch);
		ps[i].ch = NULL;
		sr_direct_free(ps[i].port.ops.direct);
		ps[i].port.ops.direct = NULL;
	}
}

void expect_ok(const struct party *p)
{
	if (p->open_rc || p->rc)
		fail_msg("%s: open %d (%s), script %d (%s)", org(p->id), p->open_rc,
			 p->open_err.msg, p->rc, p->err.msg);
}

/* All of them, reporting every failure (the first may be a consequence). */
void expect_all_ok(const struct party *ps, size_t n)
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

void expect_err(const char *what, int rc, const struct sr_err *err,
		       int want_rc, const char *want_msg)
{
	if (rc != want_rc)
		fail_msg("%s: status %d (%s), expected %d", what, rc, err->msg, want_rc);
	if (want_msg && !strstr(err->msg, want_msg))
		fail_msg("%s: '%s' lacks '%s'", what, err->msg, want_msg);
}

/* Deterministic content for message r from -> to. */
void fill(uint8_t *buf, size_t len, int from, int to, size_t r)
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

size_t size_of(size_t r, int from, int to)
{
	return sizes[(r + (size_t)from * 3 + (size_t)to) % (sizeof(sizes) / sizeof(*sizes))];
}

/* Every round: send one message to every peer, then take one from each. */
int script_exchange(struct party *p, struct sr_err *err)
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

#define NBIG (sizeof(big_sizes) / sizeof(*big_sizes))
static const size_t big_sizes[] = {
	SR_JOBCHAN_FRAGMENT_MAX - 1, SR_JOBCHAN_FRAGMENT_MAX, SR_JOBCHAN_FRAGMENT_MAX + 1,
	SR_FRAME_MAX, 5,
};

int script_big(struct party *p, struct sr_err *err)
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

int script_sender(struct party *p, struct sr_err *err)
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
int script_victim(struct party *p, struct sr_err *err)
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

int script_ping(struct party *p, struct sr_err *err)
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

int jobchan_harness_setup(void **state)
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

int jobchan_harness_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NIDS; i++)
		sr_identity_release(&ids[i]);
	return 0;
}

