/*
 * test_jobchan.c - end-to-end encrypted job channels (src/net/jobchan.c)
 * over the in-memory mailbox of jobchan_harness.c, which plays the
 * untrusted coordinator.  Honest, it must carry many messages of varied
 * sizes (fragmented ones included) and real two- and three-party PSI runs
 * that give the plaintext intersection.  Hostile, it replays, reorders,
 * drops, alters, forges, redirects and swaps messages and hellos: each
 * attack must end in the right error at the victim.  The same attacks on
 * the direct path: test_direct.c.
 */
#include "jobchan_harness.h"

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
#include "net/jobchan.h"
#include "psi/psi.h"

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
	  SR_EPROTO, "speaks job channel version 2, this node speaks 3" },
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
	};

	return cmocka_run_group_tests(tests, jobchan_harness_setup, jobchan_harness_teardown);
}
