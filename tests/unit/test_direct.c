/*
 * test_direct.c - the job channel's direct path (src/net/direct.c,
 * docs/protocols/jobchan.md §6): every party listens for its peers, the
 * in-memory mailbox of jobchan_harness.c carries the hellos and PATH
 * messages, every data message goes over TCP on loopback.  The attacks of
 * test_jobchan.c end the same way there; an unreachable listener falls
 * back to the relay; a connection without the channel's key is refused.
 */
#include "jobchan_harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "crypto/crypto.h"
#include "net/direct.h"
#include "net/jobchan.h"
#include "net/tcp.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_exchange),
		cmocka_unit_test(test_direct_fallback),
		cmocka_unit_test(test_direct_outsider),
		cmocka_unit_test(test_direct_attacks),
	};

	return cmocka_run_group_tests(tests, jobchan_harness_setup, jobchan_harness_teardown);
}
