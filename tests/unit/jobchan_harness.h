/*
 * jobchan_harness.h - the harness of the job-channel tests
 * (test_jobchan.c: the relay; test_direct.c: the direct path): an
 * in-memory mailbox that plays the untrusted coordinator and can attack
 * (replay, reorder, drop, alter, forge, redirect, swap jobs), parties that
 * each open a channel in a thread of their own and run a script, and the
 * scripts.  Threads only record statuses and messages; the checks run in
 * the main thread (cmocka cannot fail a test from another thread).
 */
#ifndef SR_JOBCHAN_HARNESS_H
#define SR_JOBCHAN_HARNESS_H

#include "testutil.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/identity.h"
#include "net/jobchan.h"

#define PROJECT "proj-1"
#define A 0
#define B 1
#define C 2
#define O 3          /* an outsider: not a participant */
#define NIDS 4

extern struct sr_identity ids[NIDS];
extern uint8_t job1[32], job2[32], head1[32], head2[32];

#define ROUNDS 40        /* of script_exchange */
#define NMSG 4           /* messages of script_sender */

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

void mbox_init(struct mbox *b);
void mbox_release(struct mbox *b);
/* Does any message the mailbox holds contain needle? */
int mbox_contains(struct mbox *b, const char *needle);

int64_t mono_ms(void);
const char *org(int id);
/* Party id of a job with members[0..n), through box. */
void party_init(struct party *p, int id, const int *members, size_t n,
		struct mbox *box, const uint8_t *job, const uint8_t *head);
void *party_main(void *arg);
void run(struct party *ps, size_t n);
/* Free the channels and the parties' direct listeners. */
void free_parties(struct party *ps, size_t n);
void expect_ok(const struct party *p);
void expect_all_ok(const struct party *ps, size_t n);
void expect_err(const char *what, int rc, const struct sr_err *err, int want_rc,
		const char *want_msg);
/* Deterministic content for message r from -> to. */
void fill(uint8_t *buf, size_t len, int from, int to, size_t r);
size_t size_of(size_t r, int from, int to);

/* Every round: send one message to every peer, then take one from each. */
int script_exchange(struct party *p, struct sr_err *err);
/* B sends the sizes around a fragment boundary and SR_FRAME_MAX; A checks. */
int script_big(struct party *p, struct sr_err *err);
/* B (and C) send NMSG messages to A (p->arg: the attack case). */
int script_sender(struct party *p, struct sr_err *err);
/* A takes NMSG messages from B; the failure is the script's result. */
int script_victim(struct party *p, struct sr_err *err);
/* A ping, a pong. */
int script_ping(struct party *p, struct sr_err *err);

/* Identities and job ids, for cmocka_run_group_tests. */
int jobchan_harness_setup(void **state);
int jobchan_harness_teardown(void **state);

#endif
