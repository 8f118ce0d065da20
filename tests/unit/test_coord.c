/*
 * test_coord.c - the coordinator core and its HTTP API: it appends only
 * events that extend the head, are signed by a member and allowed; it
 * answers a stale writer with the head; it survives a restart; and it
 * refuses a database edited behind its back.
 */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/db.h"
#include "base/err.h"
#include "base/json.h"
#include "base/limits.h"
#include "coord/coord.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/ledger.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "net/reqsig.h"
#include "policy/policy.h"

#include "coordtest.h"

static void test_append_and_refusals(void **state)
{
	struct world *w = *state;
	struct sr_err err;
	char id[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1], want[65];
	uint64_t seq, next;
	json_t *events;
	char *wire;

	/* A stale writer (wrong prev) gets the head back. */
	wire = make_wire(&w->shop, w->seq, NULL, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	sr_err_clear(&err);
	head[0] = '\0';
	assert_int_equal(sr_coord_append(w->coord, wire, strlen(wire), &seq, id, head,
					 &next, &err), SR_EPROTO);
	sr_hex(want, w->head, sizeof(w->head));
	assert_string_equal(head, want);
	assert_int_equal(next, 3);
	sr_free(wire);
	/* The same event twice: the second is a duplicate. */
	wire = make_wire(&w->shop, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(append(w, wire, &err), SR_OK);
	assert_int_equal(append(w, wire, &err), SR_EEXIST);
	sr_free(wire);
	/* An outsider's event is refused even on the right head. */
	assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
	{
		uint8_t prev[SR_EVENT_ID_BYTES];
		assert_int_equal(sr_unhex(prev, sizeof(prev), head), SR_OK);
		wire = make_wire(&w->bank, next, prev, SR_EVENT_MEMBER_INVITE,
				 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
		/* (re-inviting an invited org is refused by the rights table) */
		assert_int_not_equal(append(w, wire, &err), SR_OK);
		sr_free(wire);
	}
	/* Unknown project, and garbage. */
	assert_int_equal(append(w, "{\"event\": 1}", &err), SR_EINVAL);
	assert_int_equal(sr_coord_events(w->coord, "prj_nope", 0, 10, &events, &err),
			 SR_ENOTFOUND);
	assert_int_equal(sr_coord_events(w->coord, PROJECT, 0, 100, &events, &err), SR_OK);
	assert_int_equal(json_array_size(events), 4);
	json_decref(events);
	assert_int_equal(sr_coord_events(w->coord, PROJECT, 2, 1, &events, &err), SR_OK);
	assert_int_equal(json_array_size(events), 1);
	json_decref(events);
}

static void test_restart_and_tamper(void **state)
{
	struct world *w = *state;
	struct sr_err err;
	char db_path[600];
	sqlite3 *db;
	uint64_t next;
	char head[SR_EVENT_ID_HEX_LEN + 1], want[65];

	sr_coord_free(w->coord);
	w->coord = NULL;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
	assert_int_equal(next, w->seq);
	sr_hex(want, w->head, sizeof(w->head));
	assert_string_equal(head, want);
	sr_coord_free(w->coord);
	w->coord = NULL;
	/* Edit a stored event behind the coordinator's back. */
	snprintf(db_path, sizeof(db_path), "%s/coord.db", w->dir);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET wire = replace(wire, 'fraud study', 'fraud studz') WHERE seq = 0",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	sr_err_clear(&err);
	assert_int_not_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_non_null(strstr(err.msg, PROJECT));
	assert_null(w->coord);
}


/*
 * Durability (issue 16): a write that fails (the disk is full) answers an
 * error naming coord.db and the cause and changes nothing, in memory or
 * on disk: the head stays, the same event goes in once writes succeed,
 * and a restart replays exactly that.  coord.db and its WAL are 0600
 * whatever the umask, and an older 0644 one is tightened.
 */
static void test_write_failure(void **state)
{
	struct world *w = *state;
	struct sr_err err;
	char head[SR_EVENT_ID_HEX_LEN + 1], want[65], path[600];
	uint8_t id[SR_EVENT_ID_BYTES];
	uint64_t next;
	mode_t old;
	char *wire = make_wire(&w->bank, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			       json_pack("{s:s}", "org_id", w->outsider.org_id), id);

	for (int sticky = 0; sticky <= 1; sticky++) {
		sr_db_fault_at(1, sticky);
		assert_int_equal(append(w, wire, &err), SR_EIO);
		assert_non_null(strstr(err.msg, "coord.db: store event: disk full"));
		assert_int_equal(sr_http_status_for(err.code) / 100, 5);
		assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
		assert_int_equal(next, w->seq);
		sr_hex(want, w->head, sizeof(w->head));
		assert_string_equal(head, want);
	}
	/* Registration too: a clear error, and no organization. */
	assert_int_equal(sr_coord_register(w->coord, w->outsider.org_id, "outsider",
					   w->outsider.sign_pk, w->outsider.kx_pk, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "disk full"));
	sr_err_clear(&err);
	assert_int_equal(sr_coord_org(w->coord, w->outsider.org_id, NULL, NULL, &err),
			 SR_ENOTFOUND);
	sr_db_fault_at(0, 0);
	assert_int_equal(append(w, wire, &err), SR_OK);
	memcpy(w->head, id, sizeof(id));
	w->seq++;
	sr_free(wire);

	old = umask(0);
	sr_coord_free(w->coord);
	w->coord = NULL;
	snprintf(path, sizeof(path), "%s/coord.db", w->dir);
	assert_int_equal(chmod(path, 0644), 0);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	extend(w, &w->bank, SR_EVENT_MEMBER_INVITE, json_pack("{s:s}", "org_id",
							     "org_0123456789abcdef0123456789abcdef"));
	umask(old);
	assert_int_equal(sr_test_file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/coord.db-wal", w->dir);
	assert_int_equal(sr_test_file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/coord.db-shm", w->dir);
	assert_int_equal(sr_test_file_mode(path), 0600);
	assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
	assert_int_equal(next, w->seq);
	sr_hex(want, w->head, sizeof(w->head));
	assert_string_equal(head, want);
}

static void test_orgs_and_mailboxes(void **state)
{
	struct world *w = *state;
	char job_hex[SR_EVENT_ID_HEX_LEN + 1], sh_hex[SR_HASH_BYTES * 2 + 1];
	uint8_t job_id[SR_EVENT_ID_BYTES], spec_hash[SR_HASH_BYTES];
	uint8_t pk[SR_SIGN_PUBLICKEYBYTES], big[128];
	struct sr_coord_fault fault;
	struct sr_coord_mailbatch *batch = NULL;
	struct sr_err err;
	json_t *spec, *out;

	sr_err_clear(&err);
	/* Registration: the org id must be the id of the key. */
	assert_int_equal(sr_coord_register(w->coord, w->bank.org_id, "bank", w->bank.sign_pk,
					   w->bank.kx_pk, &err), SR_OK);
	assert_int_equal(sr_coord_register(w->coord, w->bank.org_id, "bank2", w->bank.sign_pk,
					   w->bank.kx_pk, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_register(w->coord, w->shop.org_id, "shop", w->bank.sign_pk,
					   w->bank.kx_pk, &err), SR_EPERM);
	assert_non_null(strstr(err.msg, "is not the id of sign_pk"));
	assert_int_equal(sr_coord_org(w->coord, w->bank.org_id, &out, pk, &err), SR_OK);
	assert_memory_equal(pk, w->bank.sign_pk, sizeof(pk));
	assert_string_equal(json_string_value(json_object_get(out, "name")), "bank2");
	json_decref(out);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_org(w->coord, w->shop.org_id, NULL, pk, &err), SR_ENOTFOUND);
	/* Reading a project: members and invited orgs only. */
	assert_int_equal(sr_coord_can_read(w->coord, PROJECT, w->shop.org_id, &err), SR_OK);
	assert_int_equal(sr_coord_can_read(w->coord, PROJECT, w->outsider.org_id, &err), SR_EPERM);
	assert_int_equal(sr_coord_invitations(w->coord, w->outsider.org_id, &out, &err), SR_OK);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	extend(w, &w->bank, SR_EVENT_MEMBER_INVITE, json_pack("{s:s}", "org_id", w->outsider.org_id));
	assert_int_equal(sr_coord_invitations(w->coord, w->outsider.org_id, &out, &err), SR_OK);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "project")),
			    PROJECT);
	json_decref(out);
	assert_int_equal(sr_coord_can_read(w->coord, PROJECT, w->outsider.org_id, &err), SR_OK);
	extend(w, &w->outsider, SR_EVENT_MEMBER_JOIN, keys_body(&w->outsider, "outsider"));

	/* A job between bank and shop; the outsider is a member, not a participant. */
	publish(w, &w->bank, "c");
	publish(w, &w->shop, "c");
	spec = json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[s]}", "kind", "psi",
			 "mode", "intersection", "inputs", "dataset", "bank.c", "column",
			 "customer_id", "dataset", "shop.c", "column", "customer_id",
			 "receivers", w->bank.org_id);
	assert_int_equal(sr_event_spec_hash(spec, spec_hash, &err), SR_OK);
	sr_hex(sh_hex, spec_hash, sizeof(spec_hash));
	extend(w, &w->bank, SR_EVENT_JOB_PROPOSE, json_pack("{s:o,s:{s:b,s:[]}}", "spec", spec,
	       "verdict", "accept", 1, "violations"));
	memcpy(job_id, w->head, sizeof(job_id));
	sr_hex(job_hex, job_id, sizeof(job_id));
	/* The coordinator's own checker verdict was recorded with it: the
	 * shop's policy lets only the shop receive outputs. */
	assert_int_equal(sr_coord_verdict(w->coord, PROJECT, job_hex, &out, &err), SR_OK);
	assert_true(json_is_false(json_object_get(out, "accept")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(out, "violations"), 0), "rule")), "receiver-not-allowed");
	json_decref(out);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_verdict(w->coord, PROJECT, "00", &out, &err), SR_ENOTFOUND);
	/* Not approved yet: the mailboxes are closed. */
	sr_err_clear(&err);
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 0, (const uint8_t *)"x", 1, &err), SR_EPERM);
	assert_non_null(strstr(err.msg, "closed"));
	extend(w, &w->bank, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));
	extend(w, &w->shop, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));
	sr_err_clear(&err);
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 0, (const uint8_t *)"hello", 5, &err), SR_OK);
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 1, (const uint8_t *)"again", 5, &err), SR_OK);
	/* The same seq twice, a non-participant either way, oneself. */
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 1, (const uint8_t *)"dup", 3, &err), SR_EEXIST);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->outsider.org_id,
					    w->shop.org_id, 0, (const uint8_t *)"x", 1, &err), SR_EPERM);
	assert_non_null(strstr(err.msg, "not a participant"));
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->outsider.org_id, 0, (const uint8_t *)"x", 1, &err), SR_EPERM);
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->bank.org_id, 0, (const uint8_t *)"x", 1, &err), SR_EINVAL);
	memset(big, 0, sizeof(big));
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 9, big, SR_MAILBOX_MSG_MAX + 1u, &err), SR_ELIMIT);
	assert_int_equal(sr_coord_mail_fetch(w->coord, PROJECT, job_hex, w->bank.org_id,
					     w->outsider.org_id, 0, 0, &batch, &err), SR_EPERM);
	assert_null(batch);
	/* Fetch: oldest first; acknowledged messages are deleted. */
	assert_int_equal(sr_coord_mail_fetch(w->coord, PROJECT, job_hex, w->bank.org_id,
					     w->shop.org_id, 1, 0, &batch, &err), SR_OK);
	assert_int_equal(sr_coord_mailbatch_count(batch), 1);   /* seq >= 1 */
	assert_int_equal(sr_coord_mailbatch_seq(batch, 0), 1);
	assert_int_equal(sr_coord_mailbatch_len(batch, 0), 5);
	/* The binary answer: u64le seq, u32le len, the bytes. */
	assert_int_equal(sr_coord_mailbatch_size(batch), 12 + 5);
	memset(big, 0, sizeof(big));
	assert_int_equal(sr_coord_mailbatch_read(batch, 0, (char *)big, 5), 5);
	assert_int_equal(sr_coord_mailbatch_read(batch, 5, (char *)big + 5, sizeof(big) - 5), 12);
	assert_int_equal(sr_coord_mailbatch_read(batch, 17, (char *)big, sizeof(big)), -1);
	assert_int_equal(sr_load_u64le(big), 1);
	assert_int_equal(sr_load_u32le(big + 8), 5);
	assert_memory_equal(big + 12, "again", 5);
	sr_coord_mailbatch_free(batch);
	assert_int_equal(sr_coord_mail_fetch(w->coord, PROJECT, job_hex, w->bank.org_id,
					     w->shop.org_id, 2, 50, &batch, &err), SR_OK);
	assert_int_equal(sr_coord_mailbatch_count(batch), 0);   /* waited 50 ms, nothing new */
	assert_int_equal(sr_coord_mailbatch_size(batch), 0);
	sr_coord_mailbatch_free(batch);
	/* Several messages in one fetch, within the fetch limits. */
	for (uint64_t q = 2; q < 6; q++)
		assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
						    w->shop.org_id, q, big, 7 + q, &err), SR_OK);
	assert_int_equal(sr_coord_mail_fetch(w->coord, PROJECT, job_hex, w->bank.org_id,
					     w->shop.org_id, 3, 0, &batch, &err), SR_OK);
	assert_int_equal(sr_coord_mailbatch_count(batch), 3);
	assert_int_equal(sr_coord_mailbatch_seq(batch, 2), 5);
	assert_int_equal(sr_coord_mailbatch_size(batch), 3 * 12 + 10 + 11 + 12);
	{
		/* Read piecewise, at every offset, as a streamed answer is. */
		char whole[128], piece[128];
		long n = sr_coord_mailbatch_read(batch, 0, whole, sizeof(whole));
		assert_int_equal(n, 3 * 12 + 33);
		for (uint64_t at = 0; at < (uint64_t)n; at += 7) {
			long k = sr_coord_mailbatch_read(batch, at, piece, 7);
			assert_true(k > 0 && k <= 7);
			assert_memory_equal(piece, whole + at, (size_t)k);
		}
	}
	sr_coord_mailbatch_free(batch);
	sr_coord_mailbatch_free(NULL);
	/* After the job ends, no new messages. */
	extend(w, &w->shop, SR_EVENT_JOB_FAIL, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "reason", "test"));
	assert_int_equal(sr_coord_mail_post(w->coord, PROJECT, job_hex, w->bank.org_id,
					    w->shop.org_id, 2, (const uint8_t *)"x", 1, &err), SR_EPERM);

	/* Fault specs. */
	assert_int_equal(sr_coord_fault_parse("drop:3", &fault, &err), SR_OK);
	assert_int_equal(fault.kind, SR_FAULT_DROP);
	assert_int_equal(fault.seq, 3);
	assert_int_equal(sr_coord_fault_parse("replay-mail", &fault, &err), SR_OK);
	assert_int_equal(fault.kind, SR_FAULT_REPLAY_MAIL);
	sr_err_clear(&err);
	assert_int_equal(sr_coord_fault_parse("drop", &fault, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "drop:SEQ"));
	assert_int_equal(sr_coord_fault_parse("melt:1", &fault, &err), SR_EINVAL);
	assert_int_equal(sr_coord_fault_parse("drop-mail:2", &fault, &err), SR_EINVAL);
}

/* ---- mailbox storage ------------------------------------------------------- */

static int post(struct world *w, const char *job, uint64_t seq, size_t len,
		struct sr_err *err)
{
	static uint8_t bytes[256];

	sr_err_clear(err);
	return sr_coord_mail_post(w->coord, PROJECT, job, w->bank.org_id, w->shop.org_id,
				  seq, bytes, len, err);
}

/* Fetch bank -> shop from next; the number of messages, or -1. */
static int fetch(struct world *w, const char *job, uint64_t next, int wait_ms)
{
	struct sr_coord_mailbatch *b = NULL;
	struct sr_err err;
	int n;

	sr_err_clear(&err);
	if (sr_coord_mail_fetch(w->coord, PROJECT, job, w->bank.org_id, w->shop.org_id,
				next, wait_ms, &b, &err) != SR_OK)
		return -1;
	n = (int)sr_coord_mailbatch_count(b);
	sr_coord_mailbatch_free(b);
	return n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct later_fetch {
	struct world *w;
	const char *job;
	uint64_t next;
	int delay_ms, wait_ms, got;
	int64_t took_ms;
};

static void *fetch_later(void *arg)
{
	struct later_fetch *lf = arg;
	int64_t t0;

	usleep((useconds_t)lf->delay_ms * 1000);
	t0 = mono_ms();
	lf->got = fetch(lf->w, lf->job, lf->next, lf->wait_ms);
	lf->took_ms = mono_ms() - t0;
	return NULL;
}

/* Count the files under dir (not recursing). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * The caps of --mailbox-msgs/--mailbox-bytes, a post that waits for room,
 * seqs taken once, expiry by the timer's function, the spool under
 * DIR/mail (emptied at a restart), and the bounds of the settings.
 */
static void test_mail_storage(void **state)
{
	struct world *w = *state;
	char job[SR_EVENT_ID_HEX_LEN + 1], spool[700];
	struct sr_coord_opts opts;
	struct later_fetch lf;
	struct sr_coord *bad = NULL;
	struct sr_err err;
	uint64_t msgs, bytes;
	pthread_t th;
	int64_t t0;

	sr_err_clear(&err);
	/* Settings out of range. */
	sr_coord_opts_init(&opts);
	opts.mail_job_msgs = 0;
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "messages per job"));
	sr_coord_opts_init(&opts);
	opts.mail_job_bytes = SR_MAILBOX_JOB_BYTES_MAX + 1;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	sr_coord_opts_init(&opts);
	opts.mail_retention_s = SR_MAILBOX_RETENTION_MAX_S + 1;
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	assert_null(bad);

	sr_coord_opts_init(&opts);
	opts.mail_job_msgs = 3;
	opts.mail_job_bytes = 100;
	opts.mail_retention_s = 10;
	opts.mail_room_wait_ms = 0;
	reopen(w, &opts);
	approved_job(w, job, 1, "one");
	/* At most 3 messages... */
	assert_int_equal(post(w, job, 0, 10, &err), SR_OK);
	assert_int_equal(post(w, job, 1, 10, &err), SR_OK);
	assert_int_equal(post(w, job, 2, 10, &err), SR_OK);
	assert_int_equal(post(w, job, 3, 10, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "are full (3 messages or 100 bytes)"));
	sr_coord_mail_usage(w->coord, &msgs, &bytes);
	assert_int_equal(msgs, 3);
	assert_int_equal(bytes, 30);
	/* The spool: one file a message, in DIR/mail/<job>. */
	snprintf(spool, sizeof(spool), "%s/mail/%s", w->dir, job);
	assert_int_equal(count_files(spool), 3);
	/* ... until the receiver takes some: seqs below NEXT go. */
	assert_int_equal(fetch(w, job, 2, 0), 1);
	assert_int_equal(post(w, job, 3, 10, &err), SR_OK);
	/* A seq once taken is not taken again (a replayed post). */
	assert_int_equal(post(w, job, 0, 10, &err), SR_EEXIST);
	assert_int_equal(post(w, job, 3, 10, &err), SR_EEXIST);
	/* At most 100 bytes. */
	assert_int_equal(fetch(w, job, 4, 0), 0);
	assert_int_equal(post(w, job, 4, 60, &err), SR_OK);
	assert_int_equal(post(w, job, 5, 41, &err), SR_ELIMIT);
	assert_int_equal(post(w, job, 5, 40, &err), SR_OK);
	/* Slots are reused: still no more files than messages ever held. */
	assert_true(count_files(spool) <= 3);

	/* Expiry: nothing before the retention, everything after it. */
	assert_int_equal(sr_coord_mail_expire(w->coord, (int64_t)time(NULL)), 0);
	assert_int_equal(sr_coord_mail_expire(w->coord, (int64_t)time(NULL) + 11), 2);
	sr_coord_mail_usage(w->coord, &msgs, &bytes);
	assert_int_equal(msgs, 0);
	assert_int_equal(bytes, 0);
	/* The job, empty and unused for the retention, gave its spool back. */
	assert_int_equal(count_files(spool), -1);
	assert_int_equal(fetch(w, job, 4, 0), 0);

	/* A post to full mailboxes waits for a fetch to make room. */
	opts.mail_room_wait_ms = 1500;
	reopen(w, &opts);
	approved_job(w, job, 0, "two");
	for (uint64_t q = 0; q < 3; q++)
		assert_int_equal(post(w, job, q, 10, &err), SR_OK);
	memset(&lf, 0, sizeof(lf));
	lf.w = w;
	lf.job = job;
	lf.next = 1;
	lf.delay_ms = 200;
	assert_int_equal(pthread_create(&th, NULL, fetch_later, &lf), 0);
	t0 = mono_ms();
	assert_int_equal(post(w, job, 3, 10, &err), SR_OK);
	assert_true(mono_ms() - t0 >= 150);
	pthread_join(th, NULL);
	assert_int_equal(lf.got, 2);

	/* One job's waiting fetch holds up no other job. */
	{
		char job2[SR_EVENT_ID_HEX_LEN + 1];
		approved_job(w, job2, 0, "three");
		memset(&lf, 0, sizeof(lf));
		lf.w = w;
		lf.job = job;
		lf.next = 100;
		lf.wait_ms = 1500;
		assert_int_equal(pthread_create(&th, NULL, fetch_later, &lf), 0);
		usleep(100 * 1000);
		t0 = mono_ms();
		assert_int_equal(post(w, job2, 0, 10, &err), SR_OK);
		assert_int_equal(fetch(w, job2, 0, 1000), 1);
		assert_true(mono_ms() - t0 < 500);
		pthread_join(th, NULL);
		assert_int_equal(lf.got, 0);
		assert_true(lf.took_ms >= 1400);
	}

	/* A restart forgets every message and empties the spool. */
	reopen(w, &opts);
	assert_int_equal(fetch(w, job, 2, 0), 0);
	snprintf(spool, sizeof(spool), "%s/mail", w->dir);
	assert_int_equal(count_files(spool), 0);
}

/* ---- the head long-poll --------------------------------------------------------- */

struct later_append {
	struct world *w;
	int delay_ms;
};

static void *append_later(void *arg)
{
	struct later_append *la = arg;

	usleep((useconds_t)la->delay_ms * 1000);
	extend(la->w, &la->w->bank, SR_EVENT_MEMBER_INVITE,
	       json_pack("{s:s}", "org_id", la->w->outsider.org_id));
	return NULL;
}

static void *stop_later(void *arg)
{
	usleep(200 * 1000);
	sr_coord_stop_waits(arg);
	return NULL;
}

static json_t *known_of(struct world *w, uint64_t next_seq)
{
	char head[SR_EVENT_ID_HEX_LEN + 1];

	sr_hex(head, w->head, sizeof(w->head));
	return json_pack("{s:{s:I,s:s}}", PROJECT, "next_seq", (json_int_t)next_seq,
			 "head", head);
}

/*
 * POST /v1/heads: answers at once when the caller is behind (or sees
 * another head), waits while it is up to date and answers as soon as an
 * event is appended, names projects the caller may not read, and a stop
 * ends the wait.
 */
static void test_heads_wait(void **state)
{
	struct world *w = *state;
	struct later_append la;
	struct sr_err err;
	json_t *known, *out;
	pthread_t th;
	int64_t t0;

	sr_err_clear(&err);
	/* Behind: at once. */
	known = known_of(w, w->seq - 1);
	t0 = mono_ms();
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 5000, &out, &err),
			 SR_OK);
	assert_true(mono_ms() - t0 < 500);
	assert_true(json_is_true(json_object_get(out, "changed")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(out, "heads"), PROJECT), "next_seq")), w->seq);
	json_decref(out);
	json_decref(known);
	/* Up to date: waits, and the wait ends at the next append. */
	known = known_of(w, w->seq);
	t0 = mono_ms();
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 150, &out, &err),
			 SR_OK);
	assert_true(mono_ms() - t0 >= 140);
	assert_true(json_is_false(json_object_get(out, "changed")));
	json_decref(out);
	memset(&la, 0, sizeof(la));
	la.w = w;
	la.delay_ms = 200;
	assert_int_equal(pthread_create(&th, NULL, append_later, &la), 0);
	t0 = mono_ms();
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 5000, &out, &err),
			 SR_OK);
	assert_true(mono_ms() - t0 >= 150 && mono_ms() - t0 < 2000);
	pthread_join(th, NULL);
	assert_true(json_is_true(json_object_get(out, "changed")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(out, "heads"), PROJECT), "next_seq")), w->seq);
	json_decref(out);
	json_decref(known);
	/* The same count with another head: a fork, at once. */
	known = json_pack("{s:{s:I,s:s}}", PROJECT, "next_seq", (json_int_t)w->seq, "head",
			  "00");
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 5000, &out, &err),
			 SR_OK);
	assert_true(json_is_true(json_object_get(out, "changed")));
	json_decref(out);
	json_decref(known);
	/* Not a member, no such project: named, and at once.  (The outsider
	 * is invited by now: someone else.) */
	known = json_pack("{s:{s:i},s:{s:i}}", PROJECT, "next_seq", 0, "prj_nope", "next_seq", 0);
	assert_int_equal(sr_coord_heads_wait(w->coord, "org_00000000000000000000000000000000",
					     known, 5000, &out, &err), SR_OK);
	assert_non_null(json_object_get(json_object_get(json_object_get(out, "heads"),
							"prj_nope"), "error"));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(
		json_object_get(out, "heads"), PROJECT), "error")), "not a member"));
	json_decref(out);
	json_decref(known);
	/* Malformed. */
	known = json_pack("{s:{s:s}}", PROJECT, "next_seq", "x");
	sr_err_clear(&err);
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 0, &out, &err),
			 SR_EINVAL);
	json_decref(known);
	/* A stop ends every wait. */
	known = known_of(w, w->seq);
	assert_int_equal(pthread_create(&th, NULL, stop_later, w->coord), 0);
	t0 = mono_ms();
	assert_int_equal(sr_coord_heads_wait(w->coord, w->shop.org_id, known, 10000, &out, &err),
			 SR_OK);
	assert_true(mono_ms() - t0 < 3000);
	pthread_join(th, NULL);
	json_decref(out);
	assert_int_equal(fetch(w, "0000000000000000000000000000000000000000000000000000000000000000", 0, 5000), -1);
	json_decref(known);
}

static void test_http_api(void **state)
{
	struct world *w = *state;
	struct sr_http_server *server;
	struct sr_http_call_opts opts;
	struct sr_err err;
	char url[256], path[160], *wire;
	json_t *answer, *body;
	uint16_t port;
	int status;

	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	sr_coord_attach_server(w->coord, server);
	port = sr_http_server_port(server);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/health", (unsigned)port);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 200);
	json_decref(answer);
	/* Registration: signed with the key in the body. */
	body = keys_body(&w->bank, "bank");
	json_object_set_new(body, "org_id", json_string(w->bank.org_id));
	assert_int_equal(signed_call(port, &w->shop, "POST", "/v1/orgs", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 401);   /* signed by someone else */
	json_decref(answer);
	assert_int_equal(signed_call(port, &w->bank, "POST", "/v1/orgs", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 201);
	json_decref(answer);
	json_decref(body);
	/* Unsigned, badly signed, unregistered: 401. */
	snprintf(path, sizeof(path), "/v1/projects/%s/head", PROJECT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 401);
	assert_non_null(strstr(json_string_value(json_object_get(answer, "error")), "missing"));
	json_decref(answer);
	memset(&opts, 0, sizeof(opts));
	opts.authorization = "Sealroom org=org_00000000000000000000000000000000,time=1,sig=00";
	opts.timeout_ms = 5000;
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 401);
	json_decref(answer);
	assert_int_equal(signed_call(port, &w->shop, "GET", path, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 401);   /* shop is not registered */
	json_decref(answer);
	assert_int_equal(signed_call(port, &w->bank, "GET", path, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(json_integer_value(json_object_get(answer, "next_seq")), 3);
	json_decref(answer);
	/* Post the next event as JSON. */
	wire = make_wire(&w->bank, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(sr_json_parse(wire, strlen(wire), "wire", &body, &err), SR_OK);
	assert_int_equal(signed_call(port, &w->bank, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 201);
	assert_int_equal(json_integer_value(json_object_get(answer, "seq")), 3);
	json_decref(answer);
	/* Again: 409 with the head. */
	assert_int_equal(signed_call(port, &w->bank, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 409);
	assert_int_equal(json_integer_value(json_object_get(answer, "next_seq")), 4);
	assert_true(json_is_string(json_object_get(answer, "head")));
	json_decref(answer);
	json_decref(body);
	sr_free(wire);
	/* Reads. */
	snprintf(path, sizeof(path), "/v1/projects/%s/events/1", PROJECT);
	assert_int_equal(signed_call(port, &w->bank, "GET", path, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(json_array_size(answer), 3);
	json_decref(answer);
	snprintf(path, sizeof(path), "/v1/projects/%s/events/x", PROJECT);
	assert_int_equal(signed_call(port, &w->bank, "GET", path, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 400);
	json_decref(answer);
	assert_int_equal(signed_call(port, &w->bank, "GET", "/v1/projects/prj_x/head", NULL,
				     &status, &answer), SR_OK);
	assert_int_equal(status, 404);
	json_decref(answer);
	/* A malformed event is a 400 that names the problem. */
	body = json_pack("{s:s}", "event", "nope");
	assert_int_equal(signed_call(port, &w->bank, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 400);
	assert_true(json_is_string(json_object_get(answer, "error")));
	json_decref(answer);
	json_decref(body);
	/* Another org's event: 403, even if validly signed by its author. */
	wire = make_wire(&w->shop, 4, NULL, SR_EVENT_MEMBER_LEAVE, json_object(), NULL);
	assert_int_equal(sr_json_parse(wire, strlen(wire), "wire", &body, &err), SR_OK);
	assert_int_equal(signed_call(port, &w->bank, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 403);
	json_decref(answer);
	json_decref(body);
	sr_free(wire);
	sr_coord_attach_server(w->coord, NULL);
	sr_http_server_stop(server);
}

/*
 * Mailboxes and the verdict through the HTTP API, with signed requests:
 * only a job's participants may use its mailboxes, a signature is
 * required, a message posted by one participant reaches the other (base64)
 * and its seq cannot be reused, and the coordinator serves the verdict it
 * recorded for the job.
 */
static void test_http_mailboxes(void **state)
{
	struct world *w = *state;
	struct sr_http_server *server;
	char job_hex[SR_EVENT_ID_HEX_LEN + 1], sh_hex[SR_HASH_BYTES * 2 + 1];
	char path[320], url[400];
	uint8_t spec_hash[SR_HASH_BYTES];
	struct sr_err err;
	struct sr_buf out;
	json_t *spec, *body, *answer, *want;
	uint16_t port;
	int status;

	sr_err_clear(&err);
	sr_buf_init(&out, 1 << 20);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	sr_coord_attach_server(w->coord, server);
	port = sr_http_server_port(server);
	register_http(port, &w->bank, "bank");
	register_http(port, &w->shop, "shop");
	register_http(port, &w->outsider, "outsider");

	/* An approved job between bank and shop; the outsider is a member of
	 * the project but no participant of the job. */
	extend(w, &w->bank, SR_EVENT_MEMBER_INVITE, json_pack("{s:s}", "org_id", w->outsider.org_id));
	extend(w, &w->outsider, SR_EVENT_MEMBER_JOIN, keys_body(&w->outsider, "outsider"));
	publish(w, &w->bank, "c");
	publish(w, &w->shop, "c");
	spec = json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[s]}", "kind", "psi",
			 "mode", "intersection", "inputs", "dataset", "bank.c", "column",
			 "customer_id", "dataset", "shop.c", "column", "customer_id",
			 "receivers", w->bank.org_id);
	assert_int_equal(sr_event_spec_hash(spec, spec_hash, &err), SR_OK);
	sr_hex(sh_hex, spec_hash, sizeof(spec_hash));
	extend(w, &w->bank, SR_EVENT_JOB_PROPOSE, json_pack("{s:o,s:{s:b,s:[]}}", "spec", spec,
	       "verdict", "accept", 1, "violations"));
	sr_hex(job_hex, w->head, SR_EVENT_ID_BYTES);
	extend(w, &w->bank, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));
	extend(w, &w->shop, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));

	/* A member who is not a participant may not post: 403. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(raw_call(port, &w->outsider, "POST", path, "x", 1, &status, &out), SR_EPERM);
	assert_int_equal(status, 403);
	assert_non_null(strstr(out.data, "not a participant"));
	assert_non_null(strstr(out.data, w->outsider.org_id));

	/* An unsigned fetch: 401. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job_hex,
		 w->bank.org_id);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 401);
	assert_non_null(strstr(json_string_value(json_object_get(answer, "error")), "missing"));
	json_decref(answer);

	/* bank -> shop, seq 0 and 1: deposited as raw bytes (a NUL inside),
	 * and the shop fetches both from NEXT=0 in one binary answer. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(raw_call(port, &w->bank, "POST", path, "hel\0lo", 6, &status, &out), SR_OK);
	assert_int_equal(status, 201);
	assert_int_equal(out.len, 0);
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/1", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(raw_call(port, &w->bank, "POST", path, "", 0, &status, &out), SR_OK);
	assert_int_equal(status, 201);
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job_hex,
		 w->bank.org_id);
	assert_int_equal(raw_call(port, &w->shop, "GET", path, NULL, 0, &status, &out), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(out.len, 12 + 6 + 12);
	assert_int_equal(sr_load_u64le(out.data), 0);
	assert_int_equal(sr_load_u32le(out.data + 8), 6);
	assert_memory_equal(out.data + 12, "hel\0lo", 6);
	assert_int_equal(sr_load_u64le(out.data + 18), 1);
	assert_int_equal(sr_load_u32le(out.data + 26), 0);

	/* The same seq again, other bytes: 409. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(raw_call(port, &w->bank, "POST", path, "other", 5, &status, &out),
			 SR_EEXIST);
	assert_int_equal(status, 409);
	assert_non_null(strstr(out.data, "already deposited"));
	/* A seq that is not a number, a JSON body, the old path: refused. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/x1", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(raw_call(port, &w->bank, "POST", path, "x", 1, &status, &out), SR_EINVAL);
	assert_int_equal(status, 400);
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s", PROJECT, job_hex,
		 w->shop.org_id);
	body = json_pack("{s:i,s:s}", "seq", 5, "data", "eA==");
	assert_int_equal(signed_call(port, &w->bank, "POST", path, body, &status, &answer), SR_OK);
	assert_int_equal(status, 404);
	json_decref(answer);
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/5", PROJECT, job_hex,
		 w->shop.org_id);
	assert_int_equal(signed_call(port, &w->bank, "POST", path, body, &status, &answer), SR_OK);
	assert_int_equal(status, 415);
	assert_non_null(strstr(json_string_value(json_object_get(answer, "error")),
			       "application/octet-stream"));
	json_decref(answer);
	json_decref(body);
	/* The wait a fetch asks for is honoured: nothing more from NEXT=2. */
	{
		struct timespec t0, t1;
		long ms;
		snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/2", PROJECT,
			 job_hex, w->bank.org_id);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(raw_call_wait(port, &w->shop, "GET", path, NULL, 0, 300, &status,
					       &out), SR_OK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		assert_int_equal(status, 200);
		assert_int_equal(out.len, 0);
		assert_true(ms >= 250 && ms < 1500);
	}
	sr_buf_release(&out);

	/* The verdict the coordinator recorded with the proposal. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/verdict", PROJECT, job_hex);
	assert_int_equal(signed_call(port, &w->shop, "GET", path, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(sr_coord_verdict(w->coord, PROJECT, job_hex, &want, &err), SR_OK);
	assert_true(json_equal(answer, want));
	/* The shop's policy lets only the shop receive outputs. */
	assert_true(json_is_false(json_object_get(answer, "accept")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(answer, "violations"), 0), "rule")), "receiver-not-allowed");
	json_decref(want);
	json_decref(answer);
	sr_coord_attach_server(w->coord, NULL);
	sr_http_server_stop(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orgs_and_mailboxes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_mailboxes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heads_wait, setup, teardown),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
