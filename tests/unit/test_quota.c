/*
 * test_quota.c - the coordinator's quotas and what it tells strangers
 * (issue 16, findings 4, 6 and 8): mailbox bytes per organization over
 * all its jobs (two self-registered organizations flooding the mailboxes
 * of jobs of their own project hold no more than their quotas, on disk
 * too), open jobs, projects created, events per minute, the free-space
 * floor (507 for mail, events still taken), spool space given back when
 * messages are acknowledged or expire, no head for a non-member, one
 * mailbox answer whether or not a job exists, and the 4 MiB message
 * limit exactly.
 */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/limits.h"
#include "coord/coord.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "net/http.h"

#include "coordtest.h"

#define MIB (1u << 20)

static uint8_t payload[SR_MAILBOX_MSG_MAX + 1];

/* Bytes the files under dir take on disk (allocated blocks), recursively. */
static uint64_t disk_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t total = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[1024];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			total += disk_bytes(path);
		else
			total += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return total;
}

static uint64_t spool_disk(struct world *w)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/mail", w->dir);
	return disk_bytes(path);
}

static int post_as(struct world *w, const struct sr_identity *from,
		   const struct sr_identity *to, const char *job, uint64_t seq,
		   size_t len, struct sr_err *err)
{
	sr_err_clear(err);
	return sr_coord_mail_post(w->coord, PROJECT, job, from->org_id, to->org_id, seq,
				  payload, len, err);
}

/* Fetch from -> to of job from next (acknowledging what is before it);
 * the number of messages, or -1. */
static int fetch_as(struct world *w, const struct sr_identity *from,
		    const struct sr_identity *to, const char *job, uint64_t next)
{
	struct sr_coord_mailbatch *b = NULL;
	struct sr_err err;
	int n;

	sr_err_clear(&err);
	if (sr_coord_mail_fetch(w->coord, PROJECT, job, from->org_id, to->org_id, next, 0,
				&b, &err) != SR_OK)
		return -1;
	n = (int)sr_coord_mailbatch_count(b);
	sr_coord_mailbatch_free(b);
	return n;
}

/*
 * Finding 4: two organizations that registered themselves and share a
 * project of their own approve job after job and fill every mailbox.
 * Each job may hold 256 MiB, but each organization only its quota over
 * all of them, and the spool on disk stays within the two quotas.
 */
static void test_sybil_flood_bounded(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	char jobs[4][SR_EVENT_ID_HEX_LEN + 1];
	struct sr_err err;
	uint64_t held[2] = { 0, 0 }, msgs, bytes;
	const uint64_t quota = 6 * MIB;

	sr_coord_opts_init(&opts);
	opts.org_mail_bytes = quota;
	opts.mail_room_wait_ms = 0;
	reopen(w, &opts);
	for (int k = 0; k < 4; k++) {
		char note[16];
		snprintf(note, sizeof(note), "flood %d", k);
		approved_job(w, jobs[k], k == 0, note);
	}
	/* Both sides deposit 1 MiB messages, never fetching, until refused. */
	for (int k = 0; k < 4; k++)
		for (uint64_t seq = 0; seq < 8; seq++)
			for (int side = 0; side < 2; side++) {
				const struct sr_identity *from = side ? &w->shop : &w->bank;
				const struct sr_identity *to = side ? &w->bank : &w->shop;
				int rc = post_as(w, from, to, jobs[k], seq, MIB, &err);

				if (rc == SR_OK) {
					held[side] += MIB;
					continue;
				}
				assert_int_equal(rc, SR_ELIMIT);
				assert_non_null(strstr(err.msg, from->org_id));
				assert_non_null(strstr(err.msg, "--org-mailbox-bytes"));
			}
	assert_int_equal(held[0], quota);
	assert_int_equal(held[1], quota);
	sr_coord_mail_usage(w->coord, &msgs, &bytes);
	assert_int_equal(bytes, 2 * quota);
	/* On disk: what is held, plus file-system rounding. */
	print_message("flood: 2 organizations x 4 jobs, quota %llu MiB each: %llu MiB held, %.1f MiB of spool on disk (each job alone would take 256 MiB)\n",
		      (unsigned long long)(quota >> 20), (unsigned long long)(bytes >> 20),
		      (double)spool_disk(w) / MIB);
	assert_true(spool_disk(w) <= 2 * quota + 64 * 1024);
	/* The receiver takes job 0's messages: its sender may deposit again,
	 * in another job. */
	assert_true(fetch_as(w, &w->bank, &w->shop, jobs[0], 0) > 0);
	assert_int_equal(fetch_as(w, &w->bank, &w->shop, jobs[0], 8), 0);
	assert_int_equal(post_as(w, &w->bank, &w->shop, jobs[3], 100, MIB, &err), SR_OK);
	assert_int_equal(post_as(w, &w->shop, &w->bank, jobs[3], 100, MIB, &err), SR_ELIMIT);
}

struct later {
	struct world *w;
	const char *job;
	int got;
};

static void *fetch_later(void *arg)
{
	struct later *l = arg;

	usleep(300 * 1000);
	l->got = fetch_as(l->w, &l->w->bank, &l->w->shop, l->job, 1);
	return NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exactly the quota fits, one byte more does not; a post over it waits
 * for a fetch in another of the sender's jobs to make room, as one to
 * full mailboxes does. */
static void test_org_quota_exact_and_waits(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	char a[SR_EVENT_ID_HEX_LEN + 1], b[SR_EVENT_ID_HEX_LEN + 1];
	struct later l;
	struct sr_err err;
	pthread_t th;
	int64_t t0;

	sr_coord_opts_init(&opts);
	opts.org_mail_bytes = SR_MAILBOX_MSG_MAX;
	opts.mail_room_wait_ms = 0;
	reopen(w, &opts);
	approved_job(w, a, 1, "a");
	approved_job(w, b, 0, "b");
	assert_int_equal(post_as(w, &w->bank, &w->shop, a, 0, SR_MAILBOX_MSG_MAX - 1, &err), SR_OK);
	assert_int_equal(post_as(w, &w->bank, &w->shop, b, 0, 2, &err), SR_ELIMIT);
	assert_int_equal(post_as(w, &w->bank, &w->shop, b, 0, 1, &err), SR_OK);
	assert_int_equal(sr_coord_mail_usage_org(w->coord, w->bank.org_id), SR_MAILBOX_MSG_MAX);
	assert_int_equal(fetch_as(w, &w->bank, &w->shop, a, 1), 0);   /* a's seq 0 taken */
	assert_int_equal(sr_coord_mail_usage_org(w->coord, w->bank.org_id), 1);

	opts.mail_room_wait_ms = 2000;
	reopen(w, &opts);
	approved_job(w, a, 0, "c");
	approved_job(w, b, 0, "d");
	assert_int_equal(post_as(w, &w->bank, &w->shop, a, 0, SR_MAILBOX_MSG_MAX, &err), SR_OK);
	l.w = w;
	l.job = a;
	l.got = -2;
	assert_int_equal(pthread_create(&th, NULL, fetch_later, &l), 0);
	t0 = mono_ms();
	assert_int_equal(post_as(w, &w->bank, &w->shop, b, 0, 100, &err), SR_OK);
	assert_true(mono_ms() - t0 >= 250);
	pthread_join(th, NULL);
	assert_int_equal(l.got, 0);
}

/* Open jobs and projects created per organization. */
static void test_jobs_and_projects(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	char j1[SR_EVENT_ID_HEX_LEN + 1], j2[SR_EVENT_ID_HEX_LEN + 1], j3[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_event ev;
	struct sr_buf wire;
	struct sr_err err;
	json_t *creator, *body;

	sr_coord_opts_init(&opts);
	opts.org_open_jobs = 2;
	opts.org_projects = 1;
	reopen(w, &opts);
	publish(w, &w->bank, "c");
	publish(w, &w->shop, "c");
	assert_int_equal(propose_job(w, "one", j1, NULL, &err), SR_OK);
	assert_int_equal(propose_job(w, "two", j2, NULL, &err), SR_OK);
	assert_int_equal(propose_job(w, "three", j3, NULL, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "2 open jobs"));
	assert_non_null(strstr(err.msg, "--org-open-jobs"));
	/* An ended job no longer counts. */
	extend(w, &w->bank, SR_EVENT_JOB_CANCEL, json_pack("{s:s,s:s}", "job_id", j1,
							    "reason", "done"));
	assert_int_equal(propose_job(w, "three", j3, NULL, &err), SR_OK);

	/* bank created PROJECT: a second project is over its quota; the
	 * shop may still create one. */
	for (int k = 0; k < 2; k++) {
		const struct sr_identity *who = k ? &w->shop : &w->bank;
		char *text;

		sr_err_clear(&err);
		sr_event_init(&ev);
		sr_buf_init(&wire, 0);
		creator = keys_body(who, k ? "shop" : "bank");
		json_object_set_new(creator, "org_id", json_string(who->org_id));
		body = json_pack("{s:s,s:o}", "name", "second", "creator", creator);
		assert_int_equal(sr_event_create(&ev, who, "prj_ffffffffffffffffffffffffffffffff",
						 0, NULL, SR_EVENT_PROJECT_CREATE, 1767225600,
						 body, &err), SR_OK);
		json_decref(body);
		assert_int_equal(sr_event_encode(&ev, &wire, &err), SR_OK);
		text = wire.data;
		if (k == 0) {
			assert_int_equal(append(w, text, &err), SR_ELIMIT);
			assert_non_null(strstr(err.msg, "created 1 projects"));
			assert_non_null(strstr(err.msg, "--org-projects"));
		} else {
			assert_int_equal(append(w, text, &err), SR_OK);
		}
		sr_buf_release(&wire);
		sr_event_release(&ev);
	}
}

/* Events per organization and minute: refused past the quota (counted
 * only when stored), another organization unaffected. */
static void test_events_per_minute(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	struct sr_err err;
	char *wire;
	uint64_t bank_events = 0;

	/* Not across a minute's turn: the counter starts again there. */
	while (time(NULL) % 60 > 50)
		usleep(500 * 1000);
	sr_coord_opts_init(&opts);
	opts.org_events_per_min = 5;
	reopen(w, &opts);
	for (int i = 0; i < 5; i++) {
		const char *name = i == 0 ? "a" : i == 1 ? "b" : i == 2 ? "c" : i == 3 ? "d" : "e";
		publish(w, &w->bank, name);
		bank_events++;
	}
	/* An event refused for another reason does not count... */
	wire = make_wire(&w->bank, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(append(w, wire, &err), SR_ERATE);
	assert_non_null(strstr(err.msg, "--org-events-per-min"));
	assert_non_null(strstr(err.msg, w->bank.org_id));
	sr_free(wire);
	/* ...and the shop has its own. */
	publish(w, &w->shop, "s");
	assert_int_equal(bank_events, 5);
}

/* Below the free-space floor: mailbox deposits refused with SR_ENOSPC
 * (507 over HTTP), ledger events still appended. */
static void test_disk_floor(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	struct sr_http_server *server;
	char job[SR_EVENT_ID_HEX_LEN + 1], path[320];
	struct sr_buf out;
	struct sr_err err;
	uint16_t port;
	int status;

	sr_coord_opts_init(&opts);
	opts.disk_floor_bytes = SR_DISK_FLOOR_MAX;   /* more than any test disk has */
	reopen(w, &opts);
	approved_job(w, job, 1, "floor");
	assert_int_equal(post_as(w, &w->bank, &w->shop, job, 0, 10, &err), SR_ENOSPC);
	assert_non_null(strstr(err.msg, "--disk-floor"));
	extend(w, &w->bank, SR_EVENT_MEMBER_INVITE,
	       json_pack("{s:s}", "org_id", w->outsider.org_id));   /* an event goes in */
	sr_buf_init(&out, 1 << 16);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	port = sr_http_server_port(server);
	register_http(port, &w->bank, "bank");
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job,
		 w->shop.org_id);
	(void)raw_call(port, &w->bank, "POST", path, "x", 1, &status, &out);
	assert_int_equal(status, 507);
	assert_non_null(strstr(out.data, "below its floor"));
	sr_http_server_stop(server);
	sr_buf_release(&out);
	/* Floor 0: none. */
	opts.disk_floor_bytes = 0;
	reopen(w, &opts);
	approved_job(w, job, 0, "no floor");
	assert_int_equal(post_as(w, &w->bank, &w->shop, job, 0, 10, &err), SR_OK);
}

/* The spool gives its space back when messages are acknowledged or
 * expire: bytes on disk go back down. */
static void test_spool_reclaimed(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	char job[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_err err;
	uint64_t full, after;

	sr_coord_opts_init(&opts);
	opts.mail_retention_s = 30;
	reopen(w, &opts);
	approved_job(w, job, 1, "reclaim");
	for (uint64_t seq = 0; seq < 40; seq++)
		assert_int_equal(post_as(w, &w->bank, &w->shop, job, seq, MIB, &err), SR_OK);
	full = spool_disk(w);
	assert_true(full >= 40ull * MIB);
	/* Acknowledged: all of them (fetch from NEXT=40). */
	assert_int_equal(fetch_as(w, &w->bank, &w->shop, job, 40), 0);
	after = spool_disk(w);
	assert_true(after <= SR_MAILBOX_SPOOL_KEEP_BYTES + 64 * 1024);
	/* Slots are still reused: the same again costs no more. */
	for (uint64_t seq = 40; seq < 56; seq++)
		assert_int_equal(post_as(w, &w->bank, &w->shop, job, seq, MIB, &err), SR_OK);
	assert_true(spool_disk(w) <= 16ull * MIB + SR_MAILBOX_SPOOL_KEEP_BYTES + 64 * 1024);
	/* Expired: the same. */
	assert_int_equal(sr_coord_mail_expire(w->coord, (int64_t)time(NULL) + 31), 16);
	print_message("spool: %.1f MiB with 40 MiB held, %.1f MiB once acknowledged, %.1f MiB once expired\n",
		      (double)full / MIB, (double)after / MIB, (double)spool_disk(w) / MIB);
	assert_true(spool_disk(w) <= SR_MAILBOX_SPOOL_KEEP_BYTES + 64 * 1024);
}

/*
 * Finding 6: a non-member posting an event learns no head and no seq,
 * and a non-participant gets one mailbox answer whether or not the job
 * (or the project) exists.  Finding 8: a message of exactly 4 MiB is
 * accepted and comes back whole; one byte more is refused.
 */
static void test_http_leaks_and_limits(void **state)
{
	struct world *w = *state;
	struct sr_http_server *server;
	char job[SR_EVENT_ID_HEX_LEN + 1], path[320];
	static const char missing[] = "00000000000000000000000000000000000000000000000000000000000000ab";
	struct sr_buf out, first;
	struct sr_err err;
	json_t *body = NULL, *answer = NULL;
	char *wire;
	uint16_t port;
	int status, first_status;

	sr_err_clear(&err);
	sr_buf_init(&out, SR_MAILBOX_MSG_MAX + 64);
	sr_buf_init(&first, 1 << 16);
	approved_job(w, job, 1, "leaks");
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	port = sr_http_server_port(server);
	register_http(port, &w->bank, "bank");
	register_http(port, &w->shop, "shop");
	register_http(port, &w->outsider, "outsider");

	/* The outsider, no member, posts an event to the project. */
	wire = make_wire(&w->outsider, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(sr_json_parse(wire, strlen(wire), "wire", &body, &err), SR_OK);
	assert_int_equal(signed_call(port, &w->outsider, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_true(status == 403 || status == 409);
	assert_null(json_object_get(answer, "head"));
	assert_null(json_object_get(answer, "next_seq"));
	json_decref(answer);
	json_decref(body);
	sr_free(wire);
	/* A member's stale event still learns where the chain is. */
	wire = make_wire(&w->shop, 1, w->head, SR_EVENT_MEMBER_LEAVE, json_object(), NULL);
	assert_int_equal(sr_json_parse(wire, strlen(wire), "wire", &body, &err), SR_OK);
	assert_int_equal(signed_call(port, &w->shop, "POST", "/v1/events", body, &status,
				     &answer), SR_OK);
	assert_int_equal(status, 409);
	assert_int_equal(json_integer_value(json_object_get(answer, "next_seq")), (json_int_t)w->seq);
	json_decref(answer);
	json_decref(body);
	sr_free(wire);

	/* Mailboxes: the outsider asks of the real job, of a job that does
	 * not exist, and of a project that does not exist. */
	for (int k = 0; k < 3; k++) {
		const char *prj = k == 2 ? "prj_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" : PROJECT;
		for (int post = 0; post < 2; post++) {
			snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", prj,
				 k == 0 ? job : missing, w->shop.org_id);
			(void)raw_call(port, &w->outsider, post ? "POST" : "GET", path,
				       post ? "x" : NULL, post ? 1 : 0, &status, &out);
			assert_int_equal(status, 403);
			/* The same words, but for the job id the caller gave. */
			if (k == 0 && post == 0) {
				first_status = status;
				sr_buf_reset(&first);
				assert_int_equal(sr_buf_add(&first, out.data, out.len), SR_OK);
			} else {
				char want[512];
				snprintf(want, sizeof(want), "%s", first.data);
				assert_int_equal(status, first_status);
				assert_string_equal(out.data, want);
			}
		}
	}

	/* Exactly SR_MAILBOX_MSG_MAX: accepted, and fetched back whole. */
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job,
		 w->shop.org_id);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(raw_call(port, &w->bank, "POST", path, payload, SR_MAILBOX_MSG_MAX,
				  &status, &out), SR_OK);
	assert_int_equal(status, 201);
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/1", PROJECT, job,
		 w->shop.org_id);
	(void)raw_call(port, &w->bank, "POST", path, payload, SR_MAILBOX_MSG_MAX + 1, &status,
		       &out);
	assert_int_equal(status, 413);
	assert_non_null(strstr(out.data, "over the mailbox limit"));
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/0", PROJECT, job,
		 w->bank.org_id);
	assert_int_equal(raw_call(port, &w->shop, "GET", path, NULL, 0, &status, &out), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(out.len, 12 + SR_MAILBOX_MSG_MAX);
	assert_int_equal(sr_load_u32le(out.data + 8), SR_MAILBOX_MSG_MAX);
	assert_memory_equal(out.data + 12, payload, SR_MAILBOX_MSG_MAX);
	sr_http_server_stop(server);
	sr_buf_release(&out);
	sr_buf_release(&first);
}

/*
 * The other "at most" limits of docs/api.md, each at the limit and one
 * past it: a head long-poll names at most 1024 projects; a fetch answers
 * at most 1024 messages and 8 MiB of them (a first is always served);
 * an events page holds at most 1000 events.
 */
static void test_documented_limits(void **state)
{
	struct world *w = *state;
	char job[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_coord_mailbatch *b = NULL;
	struct sr_http_server *server;
	struct sr_err err;
	json_t *known = json_object(), *out = NULL, *events = NULL;
	char path[160];
	uint16_t port;
	int status;

	sr_err_clear(&err);
	for (int i = 0; i < SR_HEADS_PROJECTS_MAX; i++) {
		char pid[64];
		snprintf(pid, sizeof(pid), "prj_%032d", i);
		json_object_set_new(known, pid, json_pack("{s:i}", "next_seq", 0));
	}
	assert_int_equal(sr_coord_heads_wait(w->coord, w->bank.org_id, known, 0, &out, &err),
			 SR_OK);
	json_decref(out);
	json_object_set_new(known, "prj_x", json_pack("{s:i}", "next_seq", 0));
	assert_int_equal(sr_coord_heads_wait(w->coord, w->bank.org_id, known, 0, &out, &err),
			 SR_ELIMIT);
	json_decref(known);

	approved_job(w, job, 1, "limits");
	for (uint64_t seq = 0; seq < SR_MAILBOX_FETCH_MSGS_MAX + 6; seq++)
		assert_int_equal(post_as(w, &w->bank, &w->shop, job, seq, 1, &err), SR_OK);
	assert_int_equal(fetch_as(w, &w->bank, &w->shop, job, 0), SR_MAILBOX_FETCH_MSGS_MAX);
	assert_int_equal(fetch_as(w, &w->bank, &w->shop, job, SR_MAILBOX_FETCH_MSGS_MAX), 6);
	/* 4 MiB + 4 MiB is exactly 8 MiB: one answer; the next byte waits. */
	for (uint64_t seq = 0; seq < 3; seq++)
		assert_int_equal(post_as(w, &w->bank, &w->shop, job,
					 SR_MAILBOX_FETCH_MSGS_MAX + 6 + seq,
					 seq < 2 ? SR_MAILBOX_MSG_MAX : 1, &err), SR_OK);
	assert_int_equal(sr_coord_mail_fetch(w->coord, PROJECT, job, w->bank.org_id,
					     w->shop.org_id, SR_MAILBOX_FETCH_MSGS_MAX + 6, 0,
					     &b, &err), SR_OK);
	assert_int_equal(sr_coord_mailbatch_count(b), 2);
	assert_int_equal(sr_coord_mailbatch_size(b), 2 * (12 + (uint64_t)SR_MAILBOX_MSG_MAX));
	sr_coord_mailbatch_free(b);

	/* 1001 events: a page of 1000, then the last one. */
	while (w->seq < 1001) {
		char name[16];
		snprintf(name, sizeof(name), "d%llu", (unsigned long long)w->seq);
		publish(w, w->seq % 2 ? &w->bank : &w->shop, name);
	}
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	port = sr_http_server_port(server);
	register_http(port, &w->bank, "bank");
	snprintf(path, sizeof(path), "/v1/projects/%s/events/0", PROJECT);
	assert_int_equal(signed_call(port, &w->bank, "GET", path, NULL, &status, &events), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(json_array_size(events), 1000);
	json_decref(events);
	snprintf(path, sizeof(path), "/v1/projects/%s/events/1000", PROJECT);
	assert_int_equal(signed_call(port, &w->bank, "GET", path, NULL, &status, &events), SR_OK);
	assert_int_equal(json_array_size(events), w->seq - 1000);
	json_decref(events);
	sr_http_server_stop(server);
}

/* The settings are checked: out of range is SR_EINVAL naming it. */
static void test_settings(void **state)
{
	struct world *w = *state;
	struct sr_coord_opts opts;
	struct sr_coord *bad = NULL;
	struct sr_err err;

	sr_coord_opts_init(&opts);
	opts.org_mail_bytes = SR_MAILBOX_MSG_MAX - 1;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "per organization"));
	sr_coord_opts_init(&opts);
	opts.org_open_jobs = 0;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "open jobs"));
	sr_coord_opts_init(&opts);
	opts.org_events_per_min = SR_QUOTA_ORG_EVENTS_PER_MIN_MAX + 1;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	sr_coord_opts_init(&opts);
	opts.disk_floor_bytes = SR_DISK_FLOOR_MAX + 1;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open_opts(w->dir, &opts, &bad, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "disk floor"));
	assert_null(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sybil_flood_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_org_quota_exact_and_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_and_projects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_per_minute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_leaks_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documented_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
