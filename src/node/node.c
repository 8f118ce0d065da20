/*
 * node.c - the node service: state and persistence, the signed
 * coordinator client, following projects, appending events (node.h).
 */
#include "node/node_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "net/coordconn.h"
#include "net/direct.h"
#include "policy/checker.h"
#include "store/value.h"
#include "base/banned.h"

/* The follower's long-poll: how long one request waits at the
 * coordinator (at most SR_HEADS_WAIT_MS), how long it pauses after a
 * failure, and how often it looks when it follows nothing. */
#define FOLLOW_WAIT_MS 20000
#define FOLLOW_RETRY_MS 250
#define FOLLOW_IDLE_MS 1000
/* After a sync that could not store its events (disk full): each retry
 * folds the project again from node.db, so not four times a second. */
#define FOLLOW_STORAGE_RETRY_MS 1000

static int db_fail(struct sr_node *n, struct sr_err *err, const char *what)
{
	return sr_db_fail(n->db, what, err);
}

/* ---- coordinator client ---------------------------------------------- */

/* One call on conn (under its lock: one caller at a time). */
static int coord_call(struct sr_coordconn *conn, pthread_mutex_t *conn_lock,
		      const char *method, const char *path, const json_t *body,
		      int timeout_ms, int *status, json_t **answer, struct sr_err *err)
{
	int rc;

	pthread_mutex_lock(conn_lock);
	rc = sr_coordconn_json(conn, method, path, body, timeout_ms, status, answer, err);
	pthread_mutex_unlock(conn_lock);
	return rc;
}

void node_ledger_lock(struct sr_node *n)
{
	pthread_mutex_lock(&n->ledger_lock);
	pthread_mutex_lock(&n->lock);
	n->ledger_owner = pthread_self();
	n->ledger_owned = 1;
}

void node_ledger_unlock(struct sr_node *n)
{
	n->ledger_owned = 0;
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_unlock(&n->ledger_lock);
}

/* A holder of the ledger lock (which holds node->lock too) lets
 * node->lock go for a call or a pause: readers go on meanwhile, and
 * nothing that could move a project pointer runs without the ledger
 * lock.  1 if it let go (give that to ledger_take_back). */
static int ledger_let_go(struct sr_node *n)
{
	int release = n->ledger_owned && pthread_equal(n->ledger_owner, pthread_self());

	if (release) {
		n->ledger_owned = 0;
		pthread_mutex_unlock(&n->lock);
	}
	return release;
}

static void ledger_take_back(struct sr_node *n, int released)
{
	if (released) {
		pthread_mutex_lock(&n->lock);
		n->ledger_owner = pthread_self();
		n->ledger_owned = 1;
	}
}

int node_coord_call(struct sr_node *n, const char *method, const char *path,
		    const json_t *body, int timeout_ms, int *status,
		    json_t **answer, struct sr_err *err)
{
	int release = ledger_let_go(n);
	int rc = coord_call(n->coord, &n->coord_lock, method, path, body, timeout_ms,
			    status, answer, err);

	ledger_take_back(n, release);
	return rc;
}

int node_coord_call_unlocked(struct sr_node *n, const char *method,
			     const char *path, const json_t *body,
			     int timeout_ms, int *status, json_t **answer,
			     struct sr_err *err)
{
	int rc;

	pthread_mutex_unlock(&n->lock);
	rc = coord_call(n->reads, &n->reads_lock, method, path, body, timeout_ms, status,
			answer, err);
	pthread_mutex_lock(&n->lock);
	return rc;
}

/* ---- persistence ------------------------------------------------------ */

static int db_open(struct sr_node *n, struct sr_err *err)
{
	static const char schema[] =
		"CREATE TABLE IF NOT EXISTS node_config (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
		"CREATE TABLE IF NOT EXISTS node_projects (project TEXT PRIMARY KEY, error TEXT);"
		"CREATE TABLE IF NOT EXISTS node_events (project TEXT NOT NULL, seq INTEGER NOT NULL,"
		"  id TEXT NOT NULL, wire TEXT NOT NULL, PRIMARY KEY (project, seq));"
		"CREATE TABLE IF NOT EXISTS node_jobs (job_id TEXT PRIMARY KEY, project TEXT NOT NULL,"
		"  state TEXT NOT NULL, progress TEXT, error TEXT, updated INTEGER NOT NULL);"
		"CREATE TABLE IF NOT EXISTS node_results (job_id TEXT PRIMARY KEY, project TEXT NOT NULL,"
		"  sealed BLOB NOT NULL, output_hash TEXT NOT NULL, created INTEGER NOT NULL);"
		/* Private artifacts a kind kept (ctx->keep: model parts),
		 * sealed; only for jobs that finished. */
		"CREATE TABLE IF NOT EXISTS node_models (job_id TEXT NOT NULL, project TEXT NOT NULL,"
		"  name TEXT NOT NULL, sealed BLOB NOT NULL, created INTEGER NOT NULL,"
		"  PRIMARY KEY (job_id, name));"
		"CREATE TABLE IF NOT EXISTS node_access_log (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
		"  job_id TEXT NOT NULL, project TEXT NOT NULL, dataset TEXT NOT NULL,"
		"  version_id TEXT NOT NULL, columns TEXT NOT NULL, rows INTEGER NOT NULL,"
		"  output_hash TEXT);"
		/* Differential-privacy budgets (DESIGN §16): one row per job
		 * and local dataset charged; refunded when the job fails
		 * before any output was released. */
		"CREATE TABLE IF NOT EXISTS node_dp_budget (dataset TEXT NOT NULL,"
		"  job_id TEXT NOT NULL, project TEXT NOT NULL, epsilon REAL NOT NULL,"
		"  state TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (dataset, job_id));";
	struct sr_buf path;

	sr_buf_init(&path, 0);
	if (sr_path_join(&path, n->home, "node.db") != SR_OK ||
	    !(n->db_path = sr_buf_detach(&path, NULL))) {
		sr_buf_release(&path);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return sr_db_open(n->db_path, NULL, schema, &n->db, err);
}

static int config_get(struct sr_node *n, const char *key, char **out,
		      struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	*out = NULL;
	if (sqlite3_prepare_v2(n->db, "SELECT value FROM node_config WHERE key = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(n, err, "config");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    !(*out = sr_strdup((const char *)sqlite3_column_text(st, 0))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	sqlite3_finalize(st);
	return rc;
}

static int config_set(struct sr_node *n, const char *key, const char *value,
		      struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO node_config(key, value)"
			       " VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		return db_fail(n, err, "config");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "config", err);
	sqlite3_finalize(st);
	return rc;
}

static int store_event(struct sr_node *n, const struct sr_event *ev,
		       struct sr_err *err)
{
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_buf wire;
	sqlite3_stmt *st = NULL;
	int rc;

	sr_buf_init(&wire, 0);
	rc = sr_event_encode(ev, &wire, err);
	if (rc)
		return rc;
	sr_hex(hex, ev->id, sizeof(ev->id));
	if (sqlite3_prepare_v2(n->db, "INSERT INTO node_events(project, seq, id, wire)"
			       " VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(n, err, "prepare");
	} else {
		sqlite3_bind_text(st, 1, ev->project, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->seq);
		sqlite3_bind_text(st, 3, hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, wire.data, (int)wire.len, SQLITE_STATIC);
		rc = sr_db_step_done(st, "store event", err);
	}
	sqlite3_finalize(st);
	sr_buf_release(&wire);
	return rc;
}

/* Stop following p for a refusal (never for a failed write: see
 * storage_failed).  The reason is kept in memory even if it cannot be
 * stored: the next start meets the same refusal again. */
static void set_error(struct sr_node *n, struct node_project *p, const char *msg)
{
	sqlite3_stmt *st = NULL;
	struct sr_err e;
	int rc;

	sr_free(p->error);
	p->error = sr_strdup(msg);
	sr_log_error("project %s: stopped following: %s", p->id, msg);
	sr_err_clear(&e);
	if (sqlite3_prepare_v2(n->db, "UPDATE node_projects SET error = ? WHERE project = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(n, &e, "project error");
	} else {
		sqlite3_bind_text(st, 1, msg, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
		rc = sr_db_step_done(st, "project error", &e);
	}
	if (rc)
		sr_log_error("project %s: %s", p->id, e.msg);
	sqlite3_finalize(st);
}

struct node_project *node_project_find(struct sr_node *n, const char *id)
{
	for (size_t i = 0; i < n->nprojects; i++)
		if (strcmp(n->projects[i].id, id) == 0)
			return &n->projects[i];
	return NULL;
}

static struct node_project *add_project(struct sr_node *n, const char *id)
{
	struct node_project *grown;
	char *copy = sr_strdup(id);

	if (!copy)
		return NULL;
	grown = sr_realloc(n->projects, (n->nprojects + 1) * sizeof(*grown));
	if (!grown) {
		sr_free(copy);
		return NULL;
	}
	n->projects = grown;
	memset(&grown[n->nprojects], 0, sizeof(*grown));
	grown[n->nprojects].id = copy;
	sr_ledger_init(&grown[n->nprojects].ledger);
	return &grown[n->nprojects++];
}

/*
 * Fold p's stored events into its (empty) ledger.  A stored event that
 * does not verify stops following p; SR_ENOMEM or a failed read is
 * returned (the ledger then holds a prefix of what node.db holds).
 */
static int replay_project(struct sr_node *n, struct node_project *p,
			  struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sr_event ev;
	struct sr_err e;
	int rc = SR_OK, step;

	if (sqlite3_prepare_v2(n->db, "SELECT wire FROM node_events WHERE project = ?"
			       " ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return db_fail(n, err, "load events");
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sr_event_init(&ev);
	sr_err_clear(&e);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *wire = (const char *)sqlite3_column_text(st, 0);
		int r = sr_event_parse(wire, strlen(wire), &ev, &e);
		if (r == SR_OK)
			r = sr_ledger_apply(&p->ledger, &ev, &e);
		sr_event_release(&ev);
		if (r == SR_ENOMEM) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		if (r) {
			char msg[2 * SR_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "stored event does not verify (node.db edited?): %s",
				 e.msg);
			set_error(n, p, msg);
			break;
		}
	}
	if (rc == SR_OK && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_fail(n, err, "load events");
	sqlite3_finalize(st);
	return rc;
}

/* Load followed projects and replay their stored events. */
static int load_projects(struct sr_node *n, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (sqlite3_prepare_v2(n->db, "SELECT project, error FROM node_projects ORDER BY rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(n, err, "load");
	while (rc == SR_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *error = (const char *)sqlite3_column_text(st, 1);
		struct node_project *p = add_project(n, id);

		if (!p) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		if (error && !(p->error = sr_strdup(error))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		rc = replay_project(n, p, err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Keep (and log, once per distinct reason) why p's events cannot be
 * stored: project list/show show it as storage_error. */
static void storage_note(struct node_project *p, const char *why)
{
	if (!p->storage_error || strcmp(p->storage_error, why) != 0) {
		sr_log_error("project %s: cannot store new events, will retry: %s",
			     p->id, why);
		sr_free(p->storage_error);
		p->storage_error = sr_strdup(why);
	}
}

/*
 * A write for p failed (disk full, an I/O error): roll the transaction
 * back and fold p again from what node.db holds, so memory never runs
 * ahead of disk.  p keeps being followed: the reason shows in project
 * show and the log until a later sync stores the events
 * (storage_recovered).  The job pointers of p's old fold die here: every
 * caller holds the ledger lock and looks jobs up again afterwards.
 */
static void storage_failed(struct sr_node *n, struct node_project *p,
			   const char *why)
{
	struct sr_err e;

	sr_db_rollback(n->db);
	sr_ledger_release(&p->ledger);
	sr_ledger_init(&p->ledger);
	sr_err_clear(&e);
	if (replay_project(n, p, &e) != SR_OK)
		sr_log_error("project %s: reloading the stored events: %s", p->id, e.msg);
	storage_note(p, why);
}

/*
 * While p's events cannot be stored, a retry first commits a probe row as
 * large as the batch (removed again by the batch's own transaction).  If
 * that fails nothing was folded and nothing needs undoing: a disk that
 * stays full costs one small failing write per retry, not a fold of the
 * whole project again (bench/bench_durable.c measures that fold).
 */
static int storage_probe(struct sr_node *n, const json_t *events,
			 struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t bytes = 0;
	int rc;

	for (size_t i = 0; i < json_array_size(events); i++)
		bytes += json_dumpb(json_array_get(events, i), NULL, 0, JSON_COMPACT);
	rc = sr_db_begin(n->db, err);
	if (rc == SR_OK && sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO node_config(key, value)"
					      " VALUES ('write_probe', zeroblob(?))", -1, &st,
					      NULL) != SQLITE_OK) {
		rc = db_fail(n, err, "write probe");
	} else if (rc == SR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)bytes);
		rc = sr_db_step_done(st, "write probe", err);
	}
	sqlite3_finalize(st);
	if (rc == SR_OK)
		rc = sr_db_commit(n->db, err);
	if (rc)
		sr_db_rollback(n->db);
	return rc;
}

static void storage_recovered(struct node_project *p)
{
	if (!p->storage_error)
		return;
	sr_log_warn("project %s: storing events again (after: %s)", p->id,
		    p->storage_error);
	sr_free(p->storage_error);
	p->storage_error = NULL;
}

/* What folding ev means for node.db beyond the event itself: a
 * job.finish completes the access log of the job, a job.fail may refund
 * its budget charges. */
static int event_side_effects(struct sr_node *n, struct node_project *p,
			      const struct sr_event *ev, struct sr_err *err)
{
	const struct sr_ledger_job *job;

	if (ev->type != SR_EVENT_JOB_FINISH && ev->type != SR_EVENT_JOB_FAIL)
		return SR_OK;
	job = sr_ledger_job_find_hex(&p->ledger,
				     json_string_value(json_object_get(ev->body, "job_id")));
	if (!job)
		return SR_OK;
	return ev->type == SR_EVENT_JOB_FINISH ? node_job_finished(n, job, err) :
		node_job_failed(n, job, err);
}

/*
 * Ledger lock held, ev applied to p's ledger: store it (with what folding
 * it implies for the access log) in one transaction.  On failure the fold
 * is undone (storage_failed) and err names the cause.
 */
static int persist_event(struct sr_node *n, struct node_project *p,
			 const struct sr_event *ev, struct sr_err *err)
{
	int rc = sr_db_begin(n->db, err);

	if (rc == SR_OK)
		rc = store_event(n, ev, err);
	if (rc == SR_OK)
		rc = event_side_effects(n, p, ev, err);
	if (rc == SR_OK)
		rc = sr_db_commit(n->db, err);
	if (rc) {
		storage_failed(n, p, err->msg);
		return rc;
	}
	storage_recovered(p);
	return SR_OK;
}

int node_follow(struct sr_node *n, const char *project,
		struct node_project **out, struct sr_err *err)
{
	struct node_project *p = node_project_find(n, project);
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (p) {
		*out = p;
		return SR_OK;
	}
	p = add_project(n, project);
	if (!p)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(n->db, "INSERT OR IGNORE INTO node_projects(project)"
			       " VALUES (?)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(n, err, "follow");
	} else {
		sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
		rc = sr_db_step_done(st, "follow", err);
	}
	sqlite3_finalize(st);
	if (rc) {
		node_unfollow_empty(n, p);
		return rc;
	}
	/* The follower's long-poll watches the projects it had: look again. */
	pthread_cond_broadcast(&n->wake);
	if (n->follow)
		sr_coordconn_wakeup(n->follow);
	*out = p;
	return SR_OK;
}

void node_unfollow_empty(struct sr_node *n, struct node_project *p)
{
	sqlite3_stmt *st = NULL;
	size_t i = (size_t)(p - n->projects);
	struct sr_err e;
	int rc;

	if (p->ledger.next_seq != 0)
		return;
	/* A row left behind (the write failed) is an empty project the next
	 * start follows harmlessly; the memory goes either way. */
	sr_err_clear(&e);
	if (sqlite3_prepare_v2(n->db, "DELETE FROM node_projects WHERE project = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(n, &e, "unfollow");
	} else {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		rc = sr_db_step_done(st, "unfollow", &e);
	}
	sqlite3_finalize(st);
	if (rc)
		sr_log_warn("project %s: %s", p->id, e.msg);
	sr_ledger_release(&p->ledger);
	sr_free(p->id);
	sr_free(p->error);
	sr_free(p->storage_error);
	memmove(&n->projects[i], &n->projects[i + 1],
		(n->nprojects - i - 1) * sizeof(*p));
	n->nprojects--;
}

/* ---- following ---------------------------------------------------------- */

/*
 * Verify, fold and store (in the caller's transaction) one served event.
 * A refusal stops following p; a failed write sets *write_failed and
 * returns its status, for the caller to undo the batch.
 */
static int fold_one(struct sr_node *n, struct node_project *p,
		    const json_t *wire, int *write_failed, struct sr_err *err)
{
	struct sr_event ev;
	struct sr_err e;
	int rc;

	sr_event_init(&ev);
	sr_err_clear(&e);
	rc = sr_event_from_json(wire, &ev, &e);
	if (rc == SR_OK && strcmp(ev.project, p->id) != 0)
		rc = sr_fail(&e, SR_EPROTO, "event %llu belongs to project %s",
			     (unsigned long long)ev.seq, ev.project);
	if (rc == SR_OK)
		rc = sr_ledger_apply(&p->ledger, &ev, &e);
	if (rc == SR_OK) {
		rc = store_event(n, &ev, err);
		if (rc == SR_OK)
			rc = event_side_effects(n, p, &ev, err);
		if (rc)
			*write_failed = 1;
	} else if (rc == SR_ENOMEM) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	} else {
		char msg[2 * SR_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "the coordinator served an event this node refuses: %s",
			 e.msg);
		set_error(n, p, msg);
		rc = sr_fail(err, SR_EPROTO, "project %s: %s", p->id, msg);
	}
	sr_event_release(&ev);
	return rc;
}

static void storage_prefix(struct sr_err *err, const struct node_project *p)
{
	sr_err_prefix(err, "project %s: cannot store new events (the node retries by itself)",
		      p->id);
}

/*
 * Fold and store a batch of served events in one transaction.  Events
 * before a refused one are kept.  When a write fails, nothing of the
 * batch stays, on disk or in memory (storage_failed): the next sync
 * fetches the same events again.
 */
static int store_batch(struct sr_node *n, struct node_project *p,
		       const json_t *events, struct sr_err *err)
{
	struct sr_err commit_err;
	int write_failed = 0, rc = SR_OK;

	if (p->storage_error) {
		rc = storage_probe(n, events, err);
		if (rc) {
			storage_note(p, err->msg);
			storage_prefix(err, p);
			return rc;
		}
	}
	rc = sr_db_begin(n->db, err);
	/* Always: a probe left by a failed batch, or by a stop, goes too. */
	if (rc == SR_OK)
		rc = sr_db_exec(n->db, "DELETE FROM node_config WHERE key = 'write_probe'",
				"write probe", err);
	if (rc)
		write_failed = 1;
	for (size_t i = 0; rc == SR_OK && i < json_array_size(events); i++)
		rc = fold_one(n, p, json_array_get(events, i), &write_failed, err);
	sr_err_clear(&commit_err);
	if (!write_failed && sr_db_commit(n->db, &commit_err) != SR_OK) {
		write_failed = 1;
		rc = sr_failx(err, commit_err.code, "%s", commit_err.msg);
	}
	if (write_failed) {
		storage_failed(n, p, err->msg);
		storage_prefix(err, p);
	} else {
		storage_recovered(p);
	}
	return rc;
}

int node_sync(struct sr_node *n, struct node_project *p, struct sr_err *err)
{
	char path[256], local_head[SR_EVENT_ID_HEX_LEN + 1];
	const char *head;
	json_t *ans = NULL;
	json_int_t next;
	int status, rc;

	if (p->error)
		return sr_fail(err, SR_EPROTO, "project %s: this node stopped following it: %s",
			       p->id, p->error);
	snprintf(path, sizeof(path), "/v1/projects/%s/head", p->id);
	rc = node_coord_call(n, "GET", path, NULL, 10000, &status, &ans, err);
	if (rc)
		goto out;
	next = json_integer_value(json_object_get(ans, "next_seq"));
	head = json_string_value(json_object_get(ans, "head"));
	if (!head || next < 0) {
		rc = sr_fail(err, SR_EPROTO, "coordinator: malformed head answer");
		goto out;
	}
	sr_hex(local_head, p->ledger.head, sizeof(p->ledger.head));
	if ((uint64_t)next < p->ledger.next_seq) {
		char msg[2 * SR_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "the coordinator's chain has %lld events but this node verified %llu: it dropped or rolled back events",
			 (long long)next, (unsigned long long)p->ledger.next_seq);
		set_error(n, p, msg);
		rc = sr_fail(err, SR_EPROTO, "project %s: %s", p->id, msg);
		goto out;
	}
	if ((uint64_t)next == p->ledger.next_seq && strcmp(head, local_head) != 0) {
		char msg[2 * SR_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "fork: the coordinator's head after %lld events is %.16s but this node's is %.16s (it shows members different histories)",
			 (long long)next, head, local_head);
		set_error(n, p, msg);
		rc = sr_fail(err, SR_EPROTO, "project %s: %s", p->id, msg);
		goto out;
	}
	while (rc == SR_OK && p->ledger.next_seq < (uint64_t)next) {
		json_t *events = NULL;
		size_t count;

		snprintf(path, sizeof(path), "/v1/projects/%s/events/%llu", p->id,
			 (unsigned long long)p->ledger.next_seq);
		rc = node_coord_call(n, "GET", path, NULL, 30000, &status, &events, err);
		if (rc == SR_OK && !json_is_array(events))
			rc = sr_fail(err, SR_EPROTO, "coordinator: events: expected an array");
		count = json_array_size(events);
		if (rc == SR_OK && count == 0) {
			char msg[2 * SR_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg),
				 "the coordinator claims %lld events but serves none from %llu",
				 (long long)next, (unsigned long long)p->ledger.next_seq);
			set_error(n, p, msg);
			rc = sr_fail(err, SR_EPROTO, "project %s: %s", p->id, msg);
		}
		if (rc == SR_OK)
			rc = store_batch(n, p, events, err);
		json_decref(events);
	}
out:
	json_decref(ans);
	return rc;
}

/* ---- appending ------------------------------------------------------------ */

static int fixed_body(void *ctx, struct node_project *p, json_t **body,
		      struct sr_err *err)
{
	(void)p;
	(void)err;
	*body = json_incref(ctx);
	return SR_OK;
}

int node_append(struct sr_node *n, struct node_project *p,
		enum sr_event_type type, json_t *body, uint64_t *seq,
		uint8_t id[SR_EVENT_ID_BYTES], struct sr_err *err)
{
	int rc;

	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = node_append_built(n, p, type, fixed_body, body, seq, id, err);
	json_decref(body);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ledger lock held.  Pause before try number tries (from 2) of an append
 * the chain keeps overtaking: none before the second (the sync just
 * caught up), then up to SR_APPEND_BACKOFF_MIN_MS doubling to
 * SR_APPEND_BACKOFF_MAX_MS, a random part of it so that the nodes that
 * collided do not collide again, never past deadline.  node->lock is let
 * go meanwhile. */
static void append_backoff(struct sr_node *n, int tries, int64_t deadline)
{
	int64_t cap = SR_APPEND_BACKOFF_MIN_MS, left = deadline - mono_ms();
	uint32_t pause;
	int released;

	if (tries < 2 || left <= 0)
		return;
	for (int k = 2; k < tries && cap < SR_APPEND_BACKOFF_MAX_MS; k++)
		cap *= 2;
	if (cap > SR_APPEND_BACKOFF_MAX_MS)
		cap = SR_APPEND_BACKOFF_MAX_MS;
	pause = cap / 2 + randombytes_uniform((uint32_t)(cap / 2 + 1));
	if (pause > left)
		pause = (uint32_t)left;
	released = ledger_let_go(n);
	usleep((useconds_t)pause * 1000);
	ledger_take_back(n, released);
}

int node_append_built(struct sr_node *n, struct node_project *p,
		      enum sr_event_type type,
		      int (*build)(void *ctx, struct node_project *p,
				   json_t **body, struct sr_err *err),
		      void *ctx, uint64_t *seq, uint8_t id[SR_EVENT_ID_BYTES],
		      struct sr_err *err)
{
	int64_t start = mono_ms(), deadline = start + n->append_deadline_ms;
	char last[SR_ERR_MSG_MAX] = "";
	struct sr_event ev;
	json_t *body = NULL;
	int rc = SR_OK, tries = 0;

	sr_event_init(&ev);
	if (p->error)
		return sr_fail(err, SR_EPROTO,
			       "project %s: this node stopped following it: %s",
			       p->id, p->error);
	for (;;) {
		json_t *wire = NULL, *ans = NULL;
		uint64_t had;
		int status = 0;

		append_backoff(n, ++tries, deadline);
		json_decref(body);
		body = NULL;
		rc = build(ctx, p, &body, err);
		if (rc)
			break;
		rc = sr_event_create(&ev, &n->id, p->id, p->ledger.next_seq,
				     p->ledger.next_seq ? p->ledger.head : NULL, type,
				     (int64_t)time(NULL), body, err);
		if (rc)
			break;
		rc = sr_event_to_json(&ev, &wire, err);
		if (rc == SR_OK)
			rc = node_coord_call(n, "POST", "/v1/events", wire, 30000,
					     &status, &ans, err);
		json_decref(wire);
		json_decref(ans);
		if (rc == SR_EEXIST && status == 409 && p->ledger.next_seq > 0) {
			/* Another event got in first: catch up and try again,
			 * as long as the chain moves and time is left.  The
			 * reason is kept: the sync clears err. */
			snprintf(last, sizeof(last), "%s", err->msg);
			had = p->ledger.next_seq;
			sr_err_clear(err);
			rc = node_sync(n, p, err);
			if (rc)
				break;
			if (p->ledger.next_seq == had) {
				rc = sr_fail(err, SR_EEXIST,
					     "the coordinator refused the event (409) but its chain did not move: %s",
					     last);
				break;
			}
			if (mono_ms() >= deadline) {
				rc = sr_fail(err, SR_EEXIST,
					     "gave up after %d tries in %.1f s (the chain kept moving; --append-deadline): %s",
					     tries, (double)(mono_ms() - start) / 1000.0, last);
				break;
			}
			continue;
		}
		if (rc)
			break;
		rc = sr_ledger_apply(&p->ledger, &ev, err);
		if (rc) {
			set_error(n, p, err->msg);
			break;
		}
		rc = persist_event(n, p, &ev, err);
		if (rc) {
			/* The chain has it; this node folds it again at a sync
			 * that can write.  Say both. */
			sr_err_prefix(err, "the coordinator recorded event %llu, but this node cannot store it yet (it retries by itself)",
				      (unsigned long long)ev.seq);
			break;
		}
		if (seq)
			*seq = ev.seq;
		if (id)
			memcpy(id, ev.id, SR_EVENT_ID_BYTES);
		break;
	}
	sr_event_release(&ev);
	json_decref(body);
	return rc;
}

/* ---- checker ------------------------------------------------------------- */

int node_check(struct sr_node *n, struct node_project *p, const json_t *spec,
	       json_t **verdict_json, int *accept, struct sr_err *err)
{
	(void)n;
	return sr_ledger_check_job(&p->ledger, spec, (int64_t)time(NULL),
				   verdict_json, accept, err);
}

int node_job_lookup(struct sr_node *n, const char *hex, struct node_project **pp,
		    const struct sr_ledger_job **jobp, struct sr_err *err)
{
	size_t len = strlen(hex), matches = 0;

	*pp = NULL;
	*jobp = NULL;
	if (len < 8 || len > SR_EVENT_ID_HEX_LEN)
		return sr_fail(err, SR_EINVAL,
			       "job id: expected 8 to 64 hex digits (a unique prefix)");
	for (size_t i = 0; i < len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return sr_fail(err, SR_EINVAL, "job id: expected lowercase hex digits");
	for (size_t i = 0; i < n->nprojects; i++) {
		const struct sr_ledger *l = &n->projects[i].ledger;
		for (size_t j = 0; j < l->njobs; j++)
			if (strncmp(l->jobs[j]->id_hex, hex, len) == 0) {
				*pp = &n->projects[i];
				*jobp = l->jobs[j];
				matches++;
			}
	}
	if (matches == 0)
		return sr_fail(err, SR_ENOTFOUND, "no job %s in the projects this node follows",
			       hex);
	if (matches > 1)
		return sr_fail(err, SR_EINVAL, "job id %s is ambiguous (%zu jobs); give more digits",
			       hex, matches);
	return SR_OK;
}

/* ---- service ------------------------------------------------------------- */

/*
 * The follower: long-polls the heads of every project it follows (POST
 * /v1/heads, over its own connection, without n->lock), and when one
 * moved, syncs that project and starts what the new events allow.  An
 * event reaches the node as soon as the coordinator has it; an idle node
 * makes one request every FOLLOW_WAIT_MS.  node_follow and sr_node_stop
 * wake it (sr_coordconn_wakeup) to watch another set, or to stop.
 */
static void *follower_main(void *arg)
{
	struct sr_node *n = arg;
	int pause_ms = 0;

	node_ledger_lock(n);
	while (!n->stopping) {
		json_t *known = json_object(), *body = NULL, *ans = NULL, *heads;
		struct sr_err err;
		int status, rc;

		if (pause_ms > 0) {
			/* The coordinator is unreachable (or refused): not in a
			 * tight loop, but a wake (stop, a new project) ends it. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += pause_ms * 1000000L;
			while (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			/* Wait with node->lock only: the ledger lock is for
			 * changes, and others may make theirs meanwhile. */
			node_ledger_unlock(n);
			pthread_mutex_lock(&n->lock);
			if (!n->stopping)
				pthread_cond_timedwait(&n->wake, &n->lock, &until);
			pthread_mutex_unlock(&n->lock);
			node_ledger_lock(n);
			pause_ms = 0;
			if (n->stopping)
				break;
		}
		/* What this node has, taken under the lock... */
		for (size_t i = 0; known && i < n->nprojects; i++) {
			struct node_project *p = &n->projects[i];
			char head[SR_EVENT_ID_HEX_LEN + 1];

			if (p->error || p->ledger.next_seq == 0)
				continue;
			sr_hex(head, p->ledger.head, sizeof(p->ledger.head));
			json_object_set_new(known, p->id, json_pack("{s:I,s:s}", "next_seq",
				(json_int_t)p->ledger.next_seq, "head", head));
		}
		node_jobs_kick(n);
		if (!known || json_object_size(known) == 0) {
			json_decref(known);
			pause_ms = FOLLOW_IDLE_MS;   /* nothing to follow yet */
			continue;
		}
		body = json_pack("{s:o}", "projects", known);
		node_ledger_unlock(n);
		/* ... the wait without it ... */
		sr_err_clear(&err);
		rc = body ? sr_coordconn_json_wait(n->follow, "POST", "/v1/heads", body,
						   FOLLOW_WAIT_MS, 10000, &status, &ans, &err) :
			SR_ENOMEM;
		json_decref(body);
		node_ledger_lock(n);
		/* ... and the fold under it again. */
		heads = json_object_get(ans, "heads");
		if (rc == SR_OK && json_is_true(json_object_get(ans, "changed"))) {
			const char *pid;
			json_t *h;

			json_object_foreach(heads, pid, h) {
				struct node_project *p = node_project_find(n, pid);
				struct sr_err e;
				char local[SR_EVENT_ID_HEX_LEN + 1];
				const char *remote = json_string_value(json_object_get(h, "head"));

				if (!p || p->error || n->stopping)
					continue;
				sr_hex(local, p->ledger.head, sizeof(p->ledger.head));
				if (remote && (uint64_t)json_integer_value(json_object_get(h, "next_seq")) ==
				    p->ledger.next_seq && strcmp(remote, local) == 0)
					continue;   /* folded meanwhile (this node's own event) */
				sr_err_clear(&e);
				if (node_sync(n, p, &e) != SR_OK && !p->error) {
					/* Try again soon, not at once: the head stays
					 * "changed" until a sync gets through. */
					int wait_ms = p->storage_error ? FOLLOW_STORAGE_RETRY_MS :
						FOLLOW_RETRY_MS;
					sr_log_debug("project %s: sync: %s", p->id, e.msg);
					pause_ms = pause_ms > wait_ms ? pause_ms : wait_ms;
				}
			}
		} else if (rc && rc != SR_ECANCELED) {
			sr_log_debug("following: %s", err.msg);
			pause_ms = FOLLOW_RETRY_MS;
		}
		json_decref(ans);
	}
	node_ledger_unlock(n);
	return NULL;
}

static int register_org(struct sr_node *n, struct sr_err *err)
{
	char spk[2 * SR_SIGN_PUBLICKEYBYTES + 1], kpk[2 * SR_BOX_PUBLICKEYBYTES + 1];
	json_t *body;
	int status, rc;

	sr_hex(spk, n->id.sign_pk, sizeof(n->id.sign_pk));
	sr_hex(kpk, n->id.kx_pk, sizeof(n->id.kx_pk));
	body = json_pack("{s:s,s:s,s:s,s:s}", "org_id", n->id.org_id, "name", n->name,
			 "sign_pk", spk, "kx_pk", kpk);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = node_coord_call(n, "POST", "/v1/orgs", body, 10000, &status, NULL, err);
	json_decref(body);
	if (rc)
		sr_err_prefix(err, "registering with the coordinator at %s", n->coord_url);
	return rc;
}

int sr_node_start(const struct sr_node_config *cfg, const struct sr_masterkey *mk,
		  struct sr_node **out, struct sr_err *err)
{
	struct sr_node *n;
	char *stored_name = NULL;
	int rc;

	*out = NULL;
	n = sr_calloc(1, sizeof(*n));
	if (!n)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->ledger_lock, NULL);
	pthread_mutex_init(&n->store_lock, NULL);
	pthread_mutex_init(&n->token_lock, NULL);
	pthread_mutex_init(&n->coord_lock, NULL);
	pthread_mutex_init(&n->reads_lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	sr_identity_init(&n->id);
	n->mk = mk;
	n->job_timeout_ms = cfg->job_timeout_ms > 0 ? cfg->job_timeout_ms : 60000;
	n->executor = cfg->executor;
	n->append_deadline_ms = cfg->append_deadline_ms > 0 ? cfg->append_deadline_ms :
		SR_APPEND_DEADLINE_DEFAULT_MS;
	if (!(n->home = sr_strdup(cfg->home)) ||
	    !(n->coord_url = sr_strdup(cfg->coordinator)) ||
	    (cfg->pin && !(n->pin = sr_strdup(cfg->pin)))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	/* No trailing slash: paths start with one. */
	while (strlen(n->coord_url) > 0 && n->coord_url[strlen(n->coord_url) - 1] == '/')
		n->coord_url[strlen(n->coord_url) - 1] = '\0';
	{
		uint8_t key_enc[32];
		sr_masterkey_subkey(mk, SR_SUBKEY_IDENTITY, key_enc);
		rc = sr_identity_load(&n->id, n->home, key_enc, err);
		sodium_memzero(key_enc, sizeof(key_enc));
	}
	if (rc == SR_OK)
		rc = sr_coordconn_new(n->coord_url, n->pin, &n->id, &n->coord, err);
	if (rc == SR_OK)
		rc = sr_coordconn_new(n->coord_url, n->pin, &n->id, &n->follow, err);
	if (rc == SR_OK)
		rc = sr_coordconn_new(n->coord_url, n->pin, &n->id, &n->reads, err);
	if (rc == SR_OK && !(n->coord_verdicts = json_object()))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		rc = sr_direct_new(cfg->data_listen, cfg->data_advertise, &n->direct, err);
	if (rc == SR_OK)
		rc = sr_store_open(n->home, mk, &n->store, err);
	if (rc == SR_OK)
		rc = sr_tokens_open(n->home, mk, &n->tokens, err);
	if (rc == SR_OK)
		rc = db_open(n, err);
	if (rc == SR_OK)
		rc = config_get(n, "name", &stored_name, err);
	if (rc)
		goto fail;
	if (cfg->name) {
		if (stored_name && strcmp(stored_name, cfg->name) != 0) {
			rc = sr_fail(err, SR_EINVAL,
				     "--name %s: this node is already named %s (names appear in dataset names; they do not change)",
				     cfg->name, stored_name);
			goto fail;
		}
		if (!(n->name = sr_strdup(cfg->name))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto fail;
		}
	} else if (stored_name) {
		n->name = stored_name;
		stored_name = NULL;
	} else {
		rc = sr_fail(err, SR_EINVAL,
			     "the first start needs --name NAME (the organization's name, e.g. bank)");
		goto fail;
	}
	rc = register_org(n, err);
	if (rc == SR_OK)
		rc = config_set(n, "name", n->name, err);
	if (rc == SR_OK)
		rc = load_projects(n, err);
	if (rc)
		goto fail;
	if (pthread_create(&n->follower, NULL, follower_main, n) != 0) {
		rc = sr_fail(err, SR_EINTERNAL, "cannot start the follower thread");
		goto fail;
	}
	n->follower_started = 1;
	rc = sr_http_server_start(cfg->listen, cfg->threads ? cfg->threads : 4,
				  node_api_http, n, &n->server, err);
	if (rc)
		goto fail;
	sr_free(stored_name);
	*out = n;
	return SR_OK;
fail:
	sr_free(stored_name);
	sr_node_stop(n);
	return rc;
}

uint16_t sr_node_port(const struct sr_node *n)
{
	return sr_http_server_port(n->server);
}

const char *sr_node_org_id(const struct sr_node *n)
{
	return n->id.org_id;
}

const char *sr_node_name(const struct sr_node *n)
{
	return n->name;
}

const char *sr_node_data_addr(const struct sr_node *n)
{
	return sr_direct_advertised(n->direct);
}

void sr_node_stop(struct sr_node *n)
{
	if (!n)
		return;
	sr_http_server_stop(n->server);
	pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	pthread_cond_broadcast(&n->wake);
	if (n->follow)
		sr_coordconn_wakeup(n->follow);
	pthread_mutex_unlock(&n->lock);
	if (n->follower_started)
		pthread_join(n->follower, NULL);
	node_jobs_join(n);
	for (size_t i = 0; i < n->nprojects; i++) {
		sr_ledger_release(&n->projects[i].ledger);
		sr_free(n->projects[i].id);
		sr_free(n->projects[i].error);
		sr_free(n->projects[i].storage_error);
	}
	sr_free(n->projects);
	sr_db_close(n->db);
	sr_coordconn_free(n->coord);
	sr_coordconn_free(n->follow);
	sr_coordconn_free(n->reads);
	json_decref(n->coord_verdicts);
	sr_direct_free(n->direct);   /* after the runners: their channels use it */
	sr_tokens_free(n->tokens);
	sr_store_free(n->store);
	sr_identity_release(&n->id);
	sr_free(n->db_path);
	sr_free(n->home);
	sr_free(n->coord_url);
	sr_free(n->pin);
	sr_free(n->name);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->coord_lock);
	pthread_mutex_destroy(&n->reads_lock);
	pthread_mutex_destroy(&n->token_lock);
	pthread_mutex_destroy(&n->store_lock);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->ledger_lock);
	sr_free(n);
}
