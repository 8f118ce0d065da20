/*
 * test_mailclient.c - the job channel over the coordinator's real
 * mailboxes: a `sealroom coordinator` process over HTTPS, a job world
 * built on it by signed events (tests/support/world.h), and two parties,
 * each in its own thread with its own HTTP mailbox client
 * (net/mailclient.h), running sr_jobchan.  The in-memory mailbox of
 * test_jobchan.c cannot show what this does: the real bodies, caps,
 * waits and answers of the coordinator's API.
 *
 * Threads only record statuses and messages; the checks run in the main
 * thread (cmocka cannot fail a test from another thread).
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/http.h"
#include "net/jobchan.h"
#include "net/mailclient.h"
#include "ledger/event.h"
#include "world.h"

#define A 0
#define B 1
#define NIDS 2
#define MIB (1024u * 1024u)

static struct sr_identity ids[NIDS];
static struct sr_world_coord coord;
/* A coordinator with small mailboxes: 4 messages, 9 MiB a job. */
static struct sr_world_coord small;
static const struct sr_world_coord *target = &coord;
static char *tmp;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deterministic content of message i. */
static void fill(uint8_t *buf, size_t len, size_t i)
{
	uint64_t state = 0x5eed + i;

	for (size_t k = 0; k < len; k += 8) {
		uint64_t v = sr_test_rand(&state);
		size_t n = len - k < 8 ? len - k : 8;
		memcpy(buf + k, &v, n);
	}
}

struct party {
	int id;
	const struct sr_world *w;
	const struct sr_world_coord *c;
	int timeout_ms;
	int (*script)(struct party *p, struct sr_err *err);
	int (*should_abort)(void *ctx);
	void *abort_ctx;
	struct sr_jobchan *ch;
	int rc;
	struct sr_err err;
	int64_t elapsed_ms;
	pthread_t thread;
};

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct sr_mailclient_params mp = {
		.url = p->c->url, .pin = p->c->pin, .self = &ids[p->id],
		.project = p->w->project, .job_hex = p->w->job_hex,
	};
	struct sr_jobchan_params prm;
	struct sr_mailclient *mc = NULL;
	struct sr_mailbox_ops ops;
	int64_t start = mono_ms();

	sr_err_clear(&p->err);
	p->rc = sr_mailclient_new(&mp, &mc, &p->err);
	if (p->rc == SR_OK) {
		sr_mailclient_ops(mc, &ops);
		memset(&prm, 0, sizeof(prm));
		prm.project = p->w->project;
		prm.job_id = p->w->job_id;
		prm.head = p->w->head;
		prm.self = &ids[p->id];
		prm.parties = p->w->parties;
		prm.nparties = p->w->nparties;
		prm.ops = &ops;
		prm.timeout_ms = p->timeout_ms;
		prm.should_abort = p->should_abort;
		prm.abort_ctx = p->abort_ctx;
		p->rc = sr_jobchan_open(&prm, &p->ch, &p->err);
	}
	if (p->rc == SR_OK && p->script)
		p->rc = p->script(p, &p->err);
	p->elapsed_ms = mono_ms() - start;
	sr_jobchan_free(p->ch);
	p->ch = NULL;
	sr_mailclient_free(mc);
	return NULL;
}

/* A new approved job between A and B, on the running coordinator. */
static void new_world(struct sr_world *w)
{
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_world_build(target->url, target->pin, ids, NIDS, w, &err) != SR_OK)
		fail_msg("building the job: %s", err.msg);
}

static void party_init(struct party *p, int id, const struct sr_world *w)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->w = w;
	p->c = target;
	p->timeout_ms = 30000;
}

static void run(struct party *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&ps[i].thread, NULL, party_main, &ps[i]), 0);
	for (size_t i = 0; i < n; i++)
		pthread_join(ps[i].thread, NULL);
}

/* ---- message sizes around the mailbox's limits ------------------------------ */

static const size_t sizes[] = {
	1, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 16 * MIB,
};
#define NSIZES (sizeof(sizes) / sizeof(*sizes))

static int script_sizes(struct party *p, struct sr_err *err)
{
	uint8_t *buf = malloc(16 * MIB), *want = malloc(16 * MIB);
	struct sr_buf msg;
	int rc = SR_OK;

	sr_buf_init(&msg, 0);
	if (!buf || !want)
		rc = sr_fail(err, SR_ENOMEM, "test: out of memory");
	for (size_t i = 0; i < NSIZES && rc == SR_OK; i++) {
		if (p->id == B) {
			fill(buf, sizes[i], i);
			rc = sr_jobchan_send(p->ch, ids[A].org_id, 1, buf, sizes[i], err);
		} else {
			rc = sr_jobchan_recv(p->ch, ids[B].org_id, 1, &msg, SR_FRAME_MAX, err);
			if (rc)
				break;
			fill(want, sizes[i], i);
			if (msg.len != sizes[i] || memcmp(msg.data, want, msg.len) != 0)
				rc = sr_fail(err, SR_EINTERNAL, "message %zu (%zu bytes): got %zu bytes, wrong content",
					     i, sizes[i], msg.len);
		}
	}
	/* And back: A answers, so both directions carry data. */
	if (rc == SR_OK && p->id == A)
		rc = sr_jobchan_send(p->ch, ids[B].org_id, 2, (const uint8_t *)"done", 4, err);
	else if (rc == SR_OK)
		rc = sr_jobchan_recv(p->ch, ids[A].org_id, 2, &msg, 4, err);
	sr_buf_release(&msg);
	free(buf);
	free(want);
	return rc;
}

/* 1 B, 4 MiB - 1, 4 MiB, 4 MiB + 1 and 16 MiB from B to A arrive intact:
 * full fragments (SR_JOBCHAN_FRAGMENT_MAX) fill a mailbox message to the
 * byte, and the client must take them. */
static void test_sizes(void **state)
{
	struct sr_world w;
	struct party ps[2];

	(void)state;
	new_world(&w);
	party_init(&ps[0], A, &w);
	party_init(&ps[1], B, &w);
	ps[0].script = ps[1].script = script_sizes;
	run(ps, 2);
	if (ps[0].rc || ps[1].rc)
		fail_msg("A: %d (%s); B: %d (%s)", ps[0].rc, ps[0].err.msg, ps[1].rc,
			 ps[1].err.msg);
}

/* ---- should_abort while waiting --------------------------------------------- */

#define POLLS_MAX 64

struct poll_log {
	int64_t start_ms, raise_ms;
	int64_t at[POLLS_MAX];
	atomic_int n;
};

/* Records when it is called; says stop from raise_ms on. */
static int abort_later(void *ctx)
{
	struct poll_log *l = ctx;
	int64_t now = mono_ms() - l->start_ms;
	int i = atomic_fetch_add(&l->n, 1);

	if (i < POLLS_MAX)
		l->at[i] = now;
	return now >= l->raise_ms;
}

/*
 * The channel polls should_abort every SR_JOBCHAN_POLL_MS while it waits
 * (jobchan.h), so the mailbox fetch must return within that: the
 * coordinator has to honour the wait the client asks for, not its own
 * longest wait (SR_MAILBOX_WAIT_MS, 2 s).  A waits for B's hello, which
 * never comes; its should_abort says stop after 2.5 s.
 */
static void test_abort_polled(void **state)
{
	struct sr_world w;
	struct party p;
	struct poll_log log;
	int n;

	(void)state;
	new_world(&w);
	memset(&log, 0, sizeof(log));
	party_init(&p, A, &w);
	p.timeout_ms = 60000;
	p.should_abort = abort_later;
	p.abort_ctx = &log;
	log.raise_ms = 2500;
	log.start_ms = mono_ms();
	run(&p, 1);
	if (p.rc != SR_EPERM || !strstr(p.err.msg, "the job was aborted"))
		fail_msg("expected SR_EPERM (aborted), got %d (%s)", p.rc, p.err.msg);
	n = atomic_load(&log.n);
	assert_true(n >= 2 && n <= POLLS_MAX);
	for (int i = 1; i < n; i++)
		if (log.at[i] - log.at[i - 1] > SR_JOBCHAN_POLL_MS + 300)
			fail_msg("should_abort polled at %lld ms and then only at %lld ms (every %d ms expected)",
				 (long long)log.at[i - 1], (long long)log.at[i], SR_JOBCHAN_POLL_MS);
	/* Stopped soon after it was asked to. */
	if (log.at[n - 1] > log.raise_ms + SR_JOBCHAN_POLL_MS + 300)
		fail_msg("stopped only at %lld ms, asked at %lld ms", (long long)log.at[n - 1],
			 (long long)log.raise_ms);
}

/* ---- the send window ----------------------------------------------------------- */

#define SLOW_MSGS 12
#define SLOW_LEN (3 * MIB)

static int script_slow_receiver(struct party *p, struct sr_err *err)
{
	uint8_t *buf = malloc(SLOW_LEN), *want = malloc(SLOW_LEN);
	struct sr_buf msg;
	int rc = SR_OK;

	sr_buf_init(&msg, 0);
	if (!buf || !want)
		rc = sr_fail(err, SR_ENOMEM, "test: out of memory");
	if (rc == SR_OK && p->id == A)
		usleep(2500 * 1000);   /* busy elsewhere: B fills the mailboxes */
	for (size_t i = 0; i < SLOW_MSGS && rc == SR_OK; i++) {
		if (p->id == B) {
			fill(buf, SLOW_LEN, i);
			rc = sr_jobchan_send(p->ch, ids[A].org_id, 1, buf, SLOW_LEN, err);
		} else {
			rc = sr_jobchan_recv(p->ch, ids[B].org_id, 1, &msg, SLOW_LEN, err);
			fill(want, SLOW_LEN, i);
			if (rc == SR_OK && (msg.len != SLOW_LEN || memcmp(msg.data, want, SLOW_LEN)))
				rc = sr_fail(err, SR_EINTERNAL, "message %zu: wrong content", i);
		}
	}
	if (rc == SR_OK && p->id == B)
		rc = sr_jobchan_flush(p->ch, err);
	sr_buf_release(&msg);
	free(buf);
	free(want);
	return rc;
}

/* Full mailboxes (4 messages, 9 MiB) hold the sender back, they do not
 * fail the job: its window waits and retries, and every message arrives
 * in order once the receiver takes them. */
static void test_full_mailboxes(void **state)
{
	struct sr_world w;
	struct party ps[2];

	(void)state;
	target = &small;
	new_world(&w);
	party_init(&ps[0], A, &w);
	party_init(&ps[1], B, &w);
	target = &coord;
	ps[0].script = ps[1].script = script_slow_receiver;
	run(ps, 2);
	if (ps[0].rc || ps[1].rc)
		fail_msg("A: %d (%s); B: %d (%s)", ps[0].rc, ps[0].err.msg, ps[1].rc,
			 ps[1].err.msg);
}

static struct sr_world *closing_world;

/* B's sends are windowed: when the coordinator refuses them (the job
 * ended, its mailboxes closed), the failure shows at flush. */
static int script_closed(struct party *p, struct sr_err *err)
{
	struct sr_err e;
	int rc;

	if (p->id == A)
		return SR_OK;
	sr_err_clear(&e);
	rc = sr_world_event(coord.url, coord.pin, closing_world, &ids[B], SR_EVENT_JOB_FAIL,
			    json_pack("{s:s,s:s}", "job_id", closing_world->job_hex,
				      "reason", "test"), &e);
	if (rc)
		return sr_fail(err, SR_EINTERNAL, "job.fail: %s", e.msg);
	rc = sr_jobchan_send(p->ch, ids[A].org_id, 1, (const uint8_t *)"late", 4, err);
	if (rc)
		return sr_fail(err, SR_EINTERNAL, "the windowed send failed at once: %s", err->msg);
	rc = sr_jobchan_flush(p->ch, err);
	if (rc != SR_EPERM || !strstr(err->msg, "mailboxes are closed"))
		return sr_fail(err, SR_EINTERNAL, "flush: %d (%s)", rc, err->msg);
	/* Broken from then on. */
	sr_err_clear(&e);
	if (sr_jobchan_send(p->ch, ids[A].org_id, 1, (const uint8_t *)"x", 1, &e) == SR_OK ||
	    !strstr(e.msg, "broken by an earlier error"))
		return sr_fail(err, SR_EINTERNAL, "not broken: %s", e.msg);
	return SR_OK;
}

static void test_failure_at_flush(void **state)
{
	struct sr_world w;
	struct party ps[2];

	(void)state;
	new_world(&w);
	closing_world = &w;
	party_init(&ps[0], A, &w);
	party_init(&ps[1], B, &w);
	ps[0].script = ps[1].script = script_closed;
	run(ps, 2);
	if (ps[0].rc || ps[1].rc)
		fail_msg("A: %d (%s); B: %d (%s)", ps[0].rc, ps[0].err.msg, ps[1].rc,
			 ps[1].err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_abort_polled),
		cmocka_unit_test(test_full_mailboxes),
		cmocka_unit_test(test_failure_at_flush),
	};
	static const char *const small_args[] = { "--mailbox-msgs", "4", "--mailbox-bytes", "9M",
		NULL };
	struct sr_err err;
	char dir[600];
	int rc;

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK)
		return 1;
	sr_err_clear(&err);
	for (int i = 0; i < NIDS; i++) {
		sr_identity_init(&ids[i]);
		if (sr_identity_generate(&ids[i], &err) != SR_OK)
			return 1;
	}
	tmp = sr_test_tmpdir();
	snprintf(dir, sizeof(dir), "%s/coord", tmp);
	if (sr_world_coord_start(NULL, dir, NULL, &coord, &err) != SR_OK) {
		fprintf(stderr, "test_mailclient: %s\n", err.msg);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/small", tmp);
	if (sr_world_coord_start(NULL, dir, small_args, &small, &err) != SR_OK) {
		fprintf(stderr, "test_mailclient: %s\n", err.msg);
		sr_world_coord_stop(&coord);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	sr_world_coord_stop(&small);
	sr_world_coord_stop(&coord);
	sr_test_tmpdir_free(tmp);
	for (int i = 0; i < NIDS; i++)
		sr_identity_release(&ids[i]);
	return rc;
}
