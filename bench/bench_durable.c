/*
 * bench_durable.c - what undoing a fold costs after a failed write (issue
 * 16, docs/operations.md "Disk full").  When a node cannot store a batch
 * of events it rolls the transaction back and folds the project again
 * from node.db (node.c, storage_failed): every stored event is read,
 * parsed and verified (signature included) again.  That is paid once per
 * failed batch: while the disk stays full, retries are turned away by a
 * probe write before anything is folded (storage_probe).
 *
 *   bench_durable [EVENTS...]     default 1000 10000
 *
 * For each size: a project of that many signed events (a create, then
 * dataset publications) is stored in an SQLite table shaped like
 * node_events, then replayed from it 3 times; the best time is printed.
 * Output: "bench durable events=N undo_ms=... per_event_us=...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/buf.h"
#include "base/db.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/ledger.h"
#include "world.h"
#include "base/banned.h"

#define PROJECT "prj_0123456789abcdef0123456789abcdef"
#define ROUNDS 3

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static json_t *event_body(const struct sr_identity *who, uint64_t seq,
			  struct sr_err *err)
{
	char sign[65], kx[65], version[65];
	uint8_t v[32];
	json_t *body = NULL;

	if (seq == 0) {
		sr_hex(sign, who->sign_pk, sizeof(who->sign_pk));
		sr_hex(kx, who->kx_pk, sizeof(who->kx_pk));
		return json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "name", "bench", "creator",
				 "org_id", who->org_id, "name", "bank", "sign_pk", sign,
				 "kx_pk", kx);
	}
	if (sr_world_dataset_body("c", &body, err) != SR_OK)
		return NULL;
	memset(v, 0, sizeof(v));
	memcpy(v, &seq, sizeof(seq));
	sr_hex(version, v, sizeof(v));
	json_object_set_new(body, "version_id", json_string(version));
	return body;
}

/* Store a project of n events in db. */
static int build(sqlite3 *db, const struct sr_identity *who, uint64_t n,
		 struct sr_err *err)
{
	struct sr_ledger ledger;
	sqlite3_stmt *st = NULL;
	int rc = sr_db_begin(db, err);

	sr_ledger_init(&ledger);
	if (rc == SR_OK && sqlite3_prepare_v2(db, "INSERT INTO node_events(project, seq, wire)"
					      " VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		rc = sr_db_fail(db, "prepare", err);
	for (uint64_t seq = 0; rc == SR_OK && seq < n; seq++) {
		struct sr_event ev;
		struct sr_buf wire;
		json_t *body = event_body(who, seq, err);

		sr_event_init(&ev);
		sr_buf_init(&wire, 0);
		rc = body ? sr_event_create(&ev, who, PROJECT, seq, seq ? ledger.head : NULL,
					    seq ? SR_EVENT_DATASET_PUBLISH : SR_EVENT_PROJECT_CREATE,
					    1767225600 + (int64_t)seq, body, err) :
			sr_fail(err, SR_ENOMEM, "out of memory");
		json_decref(body);
		if (rc == SR_OK)
			rc = sr_ledger_apply(&ledger, &ev, err);
		if (rc == SR_OK)
			rc = sr_event_encode(&ev, &wire, err);
		if (rc == SR_OK) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, PROJECT, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
			sqlite3_bind_text(st, 3, wire.data, (int)wire.len, SQLITE_STATIC);
			rc = sr_db_step_done(st, "insert", err);
		}
		sr_buf_release(&wire);
		sr_event_release(&ev);
	}
	sqlite3_finalize(st);
	if (rc == SR_OK)
		rc = sr_db_commit(db, err);
	sr_ledger_release(&ledger);
	return rc;
}

/* What storage_failed does: fold every stored event again. */
static int replay(sqlite3 *db, uint64_t *events, struct sr_err *err)
{
	struct sr_ledger ledger;
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	sr_ledger_init(&ledger);
	if (sqlite3_prepare_v2(db, "SELECT wire FROM node_events WHERE project = ? ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return sr_db_fail(db, "prepare", err);
	sqlite3_bind_text(st, 1, PROJECT, -1, SQLITE_STATIC);
	while (rc == SR_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *wire = (const char *)sqlite3_column_text(st, 0);
		struct sr_event ev;

		sr_event_init(&ev);
		rc = sr_event_parse(wire, strlen(wire), &ev, err);
		if (rc == SR_OK)
			rc = sr_ledger_apply(&ledger, &ev, err);
		sr_event_release(&ev);
	}
	*events = ledger.next_seq;
	sqlite3_finalize(st);
	sr_ledger_release(&ledger);
	return rc;
}

static int run(uint64_t n, struct sr_err *err)
{
	char dir[] = "/tmp/sr-bench-durable-XXXXXX", path[64];
	struct sr_identity who;
	sqlite3 *db = NULL;
	double best = 0;
	int rc;

	if (!mkdtemp(dir))
		return sr_fail(err, SR_EIO, "cannot make a temp directory");
	snprintf(path, sizeof(path), "%s/node.db", dir);
	sr_identity_init(&who);
	rc = sr_identity_generate(&who, err);
	if (rc == SR_OK)
		rc = sr_db_open(path, NULL, "CREATE TABLE node_events (project TEXT NOT NULL,"
				" seq INTEGER NOT NULL, wire TEXT NOT NULL, PRIMARY KEY (project, seq));",
				&db, err);
	if (rc == SR_OK)
		rc = build(db, &who, n, err);
	for (int r = 0; rc == SR_OK && r < ROUNDS; r++) {
		uint64_t events = 0;
		double t0 = now_ms(), ms;

		rc = replay(db, &events, err);
		ms = now_ms() - t0;
		if (rc == SR_OK && events != n)
			rc = sr_fail(err, SR_EINTERNAL, "replayed %llu of %llu events",
				     (unsigned long long)events, (unsigned long long)n);
		if (rc == SR_OK && (r == 0 || ms < best))
			best = ms;
	}
	if (rc == SR_OK)
		printf("bench durable events=%llu undo_ms=%.1f per_event_us=%.1f\n",
		       (unsigned long long)n, best, best * 1e3 / (double)n);
	sr_db_close(db);
	sr_identity_release(&who);
	unlink(path);
	rmdir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	static const uint64_t defaults[] = { 1000, 10000 };
	struct sr_err err;

	if (sr_crypto_init() != SR_OK) {
		fprintf(stderr, "bench_durable: cannot initialize libsodium\n");
		return 1;
	}
	for (int i = 0; i < (argc > 1 ? argc - 1 : 2); i++) {
		uint64_t n = argc > 1 ? strtoull(argv[i + 1], NULL, 10) : defaults[i];

		sr_err_clear(&err);
		if (n < 1 || run(n, &err) != SR_OK) {
			fprintf(stderr, "bench_durable: %llu events: %s\n", (unsigned long long)n,
				n < 1 ? "expected a count >= 1" : err.msg);
			return 1;
		}
	}
	return 0;
}
