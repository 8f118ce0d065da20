/*
 * coord.c - the coordinator's core: event logs in SQLite, verified by the
 * same ledger fold the nodes run (see coord.h).
 */
#include "coord/coord.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "net/mailwire.h"
#include "ledger/ledger.h"
#include "store/value.h"
#include "base/banned.h"

#define EVENTS_PER_PAGE 1000

struct project {
	char *id;
	struct sr_ledger ledger;
};

struct sr_coord {
	pthread_mutex_t lock;
	pthread_cond_t mail_cond;   /* signalled when a message is deposited */
	struct sr_coord_fault fault;
	sqlite3 *db;
	char *path;
	struct project *projects;
	size_t nprojects;
};

static int db_fail(struct sr_coord *c, struct sr_err *err, const char *what)
{
	return sr_fail(err, sqlite3_errcode(c->db) == SQLITE_NOMEM ? SR_ENOMEM :
		       SR_EIO, "%s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
}

static struct project *find_project(struct sr_coord *c, const char *id)
{
	for (size_t i = 0; i < c->nprojects; i++)
		if (strcmp(c->projects[i].id, id) == 0)
			return &c->projects[i];
	return NULL;
}

static struct project *add_project(struct sr_coord *c, const char *id)
{
	struct project *grown = sr_realloc(c->projects,
					   (c->nprojects + 1) * sizeof(*grown));
	char *copy;

	if (!grown)
		return NULL;
	c->projects = grown;
	copy = sr_strdup(id);
	if (!copy)
		return NULL;
	grown[c->nprojects].id = copy;
	sr_ledger_init(&grown[c->nprojects].ledger);
	return &grown[c->nprojects++];
}

static void drop_last_project(struct sr_coord *c)
{
	struct project *p = &c->projects[--c->nprojects];

	sr_ledger_release(&p->ledger);
	sr_free(p->id);
}

/* Replay every stored event: the stored history must verify. */
static int replay(struct sr_coord *c, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sr_event ev;
	int rc = SR_OK, step;

	sr_event_init(&ev);
	if (sqlite3_prepare_v2(c->db, "SELECT project, seq, wire FROM events"
			       " ORDER BY project, seq", -1, &st, NULL) != SQLITE_OK)
		return db_fail(c, err, "replay");
	while (rc == SR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *project = (const char *)sqlite3_column_text(st, 0);
		const char *wire = (const char *)sqlite3_column_text(st, 2);
		struct project *p = find_project(c, project);

		if (!p && !(p = add_project(c, project))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		rc = sr_event_parse(wire, strlen(wire), &ev, err);
		if (rc == SR_OK)
			rc = sr_ledger_apply(&p->ledger, &ev, err);
		if (rc)
			sr_err_prefix(err, "%s: stored project %s does not verify (edited behind the coordinator?)",
				      c->path, project);
		sr_event_release(&ev);
	}
	if (rc == SR_OK && step != SQLITE_DONE)
		rc = db_fail(c, err, "replay");
	sqlite3_finalize(st);
	return rc;
}

int sr_coord_open(const char *dir, struct sr_coord **out, struct sr_err *err)
{
	static const char schema[] =
		"CREATE TABLE IF NOT EXISTS events ("
		"  project TEXT NOT NULL,"
		"  seq INTEGER NOT NULL,"
		"  id TEXT NOT NULL,"
		"  wire TEXT NOT NULL,"
		"  PRIMARY KEY (project, seq));"
		"CREATE TABLE IF NOT EXISTS orgs ("
		"  org_id TEXT PRIMARY KEY,"
		"  name TEXT NOT NULL,"
		"  sign_pk BLOB NOT NULL,"
		"  kx_pk BLOB NOT NULL,"
		"  registered INTEGER NOT NULL);"
		"CREATE TABLE IF NOT EXISTS mailbox ("
		"  project TEXT NOT NULL,"
		"  job TEXT NOT NULL,"
		"  sender TEXT NOT NULL,"
		"  recipient TEXT NOT NULL,"
		"  seq INTEGER NOT NULL,"
		"  data BLOB NOT NULL,"
		"  time INTEGER NOT NULL,"
		"  PRIMARY KEY (project, job, sender, recipient, seq));"
		"CREATE TABLE IF NOT EXISTS verdicts ("
		"  project TEXT NOT NULL,"
		"  job TEXT NOT NULL,"
		"  verdict TEXT NOT NULL,"
		"  PRIMARY KEY (project, job));";
	struct sr_coord *c;
	struct sr_buf path;
	int rc;

	*out = NULL;
	rc = sr_mkdir_p(dir, 0700, err);
	if (rc)
		return rc;
	c = sr_calloc(1, sizeof(*c));
	if (!c)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->mail_cond, NULL);
	sr_buf_init(&path, 0);
	if (sr_path_join(&path, dir, "coord.db") != SR_OK ||
	    !(c->path = sr_buf_detach(&path, NULL))) {
		sr_buf_release(&path);
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		rc = c->db ? db_fail(c, err, "open") :
			sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "schema");
		goto fail;
	}
	rc = replay(c, err);
	if (rc)
		goto fail;
	*out = c;
	return SR_OK;
fail:
	sr_coord_free(c);
	return rc;
}

void sr_coord_free(struct sr_coord *c)
{
	if (!c)
		return;
	while (c->nprojects)
		drop_last_project(c);
	sr_free(c->projects);
	if (c->db)
		sqlite3_close_v2(c->db);
	sr_free(c->path);
	pthread_cond_destroy(&c->mail_cond);
	pthread_mutex_destroy(&c->lock);
	sr_free(c);
}

static int store_event(struct sr_coord *c, const struct sr_event *ev,
		       const char *id_hex, struct sr_err *err)
{
	struct sr_buf wire;
	sqlite3_stmt *st = NULL;
	int rc;

	sr_buf_init(&wire, 0);
	rc = sr_event_encode(ev, &wire, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO events(project, seq, id, wire)"
			       " VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
	} else {
		sqlite3_bind_text(st, 1, ev->project, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->seq);
		sqlite3_bind_text(st, 3, id_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, wire.data, (int)wire.len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(c, err, "insert");
	}
	sqlite3_finalize(st);
	sr_buf_release(&wire);
	return rc;
}

/*
 * The coordinator's own security-checker verdict on a proposal, against
 * the policies published when it was proposed (DESIGN §6): public notice
 * for every member, beside the proposer's verdict inside the event.  The
 * owners' nodes decide for themselves.  A failure here loses only this
 * notice, never the event.
 */
static void store_verdict(struct sr_coord *c, struct project *p,
			  const struct sr_event *ev, const char *job_hex)
{
	const json_t *spec = json_object_get(ev->body, "spec");
	json_t *verdict = NULL;
	struct sr_err err;
	sqlite3_stmt *st = NULL;
	struct sr_buf text;
	int accept;

	sr_err_clear(&err);
	sr_buf_init(&text, 0);
	if (sr_ledger_check_job(&p->ledger, spec, (int64_t)time(NULL), &verdict,
				&accept, &err) != SR_OK)
		verdict = json_pack("{s:b,s:[{s:s,s:s}]}", "accept", 0, "violations",
				    "rule", "malformed-spec", "message", err.msg);
	if (verdict && sr_json_dump(verdict, 0, &text) == SR_OK &&
	    sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO verdicts(project, job,"
			       " verdict) VALUES (?, ?, ?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text.data, (int)text.len, SQLITE_STATIC);
		(void)sqlite3_step(st);
	}
	sqlite3_finalize(st);
	sr_buf_release(&text);
	json_decref(verdict);
}

int sr_coord_verdict(struct sr_coord *c, const char *project, const char *job_hex,
		     json_t **out, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (sqlite3_prepare_v2(c->db, "SELECT verdict FROM verdicts WHERE project = ?"
			       " AND job = ?", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job_hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = sr_fail(err, SR_ENOTFOUND, "no verdict for job %.16s of project %.80s",
			     job_hex, project);
		goto out;
	}
	{
		const char *text = (const char *)sqlite3_column_text(st, 0);
		rc = sr_json_parse(text, strlen(text), "stored verdict", out, err);
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Rebuild the projects from the database after a failed store: the
 * ledger already folded an event the database does not have.  Replaying
 * everything is simple and this path is rare. */
static void reload_projects(struct sr_coord *c)
{
	struct sr_err ignored;

	while (c->nprojects)
		drop_last_project(c);
	if (replay(c, &ignored) != SR_OK)
		while (c->nprojects)
			drop_last_project(c);
}

int sr_coord_append(struct sr_coord *c, const char *wire, size_t len,
		    uint64_t *seq, char id_hex[SR_EVENT_ID_HEX_LEN + 1],
		    char head_hex[SR_EVENT_ID_HEX_LEN + 1], uint64_t *next_seq,
		    struct sr_err *err)
{
	struct sr_event ev;
	struct project *p;
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	int rc, created = 0;

	sr_event_init(&ev);
	rc = sr_event_parse(wire, len, &ev, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	p = find_project(c, ev.project);
	if (!p) {
		if (ev.type != SR_EVENT_PROJECT_CREATE) {
			rc = sr_fail(err, SR_ENOTFOUND, "project %s does not exist",
				     ev.project);
			goto out;
		}
		p = add_project(c, ev.project);
		if (!p) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		created = 1;
	}
	rc = sr_ledger_apply(&p->ledger, &ev, err);
	if (rc) {
		if (created)
			drop_last_project(c);
		goto out;
	}
	sr_hex(hex, ev.id, sizeof(ev.id));
	rc = store_event(c, &ev, hex, err);
	if (rc) {
		if (created)
			drop_last_project(c);
		else
			reload_projects(c);
		p = NULL;
		goto out;
	}
	if (ev.type == SR_EVENT_JOB_PROPOSE)
		store_verdict(c, p, &ev, hex);
	*seq = ev.seq;
	if (id_hex)
		memcpy(id_hex, hex, sizeof(hex));
out:
	if (rc && p && !created) {
		if (head_hex)
			sr_hex(head_hex, p->ledger.head, sizeof(p->ledger.head));
		if (next_seq)
			*next_seq = p->ledger.next_seq;
	}
	pthread_mutex_unlock(&c->lock);
	sr_event_release(&ev);
	return rc;
}

int sr_coord_head(struct sr_coord *c, const char *project,
		  uint64_t *next_seq, char head_hex[SR_EVENT_ID_HEX_LEN + 1],
		  struct sr_err *err)
{
	struct project *p;
	int rc = SR_OK;

	pthread_mutex_lock(&c->lock);
	p = find_project(c, project);
	if (!p) {
		rc = sr_fail(err, SR_ENOTFOUND, "project %.80s does not exist", project);
	} else {
		*next_seq = p->ledger.next_seq;
		sr_hex(head_hex, p->ledger.head, sizeof(p->ledger.head));
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sr_coord_events(struct sr_coord *c, const char *project, uint64_t from,
		    size_t max, json_t **out, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr;
	int rc = SR_OK, step;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (!find_project(c, project)) {
		rc = sr_fail(err, SR_ENOTFOUND, "project %.80s does not exist", project);
		goto out;
	}
	arr = json_array();
	if (!arr) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT wire FROM events WHERE project = ?"
			       " AND seq >= ? ORDER BY seq LIMIT ?", -1, &st,
			       NULL) != SQLITE_OK) {
		json_decref(arr);
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (rc == SR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *wire = (const char *)sqlite3_column_text(st, 0);
		json_t *ev = NULL;
		rc = sr_json_parse(wire, strlen(wire), "stored event", &ev, err);
		if (rc == SR_OK && json_array_append_new(arr, ev))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc == SR_OK && step != SQLITE_DONE)
		rc = db_fail(c, err, "events");
	sqlite3_finalize(st);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- organizations ---------------------------------------------------- */

int sr_coord_register(struct sr_coord *c, const char *org_id, const char *name,
		      const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
		      const uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES],
		      struct sr_err *err)
{
	char derived[SR_ORG_ID_LEN + 1];
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	sr_identity_org_id(derived, sign_pk);
	if (strcmp(derived, org_id) != 0)
		return sr_fail(err, SR_EPERM,
			       "org_id %.40s is not the id of sign_pk (that is %s)",
			       org_id, derived);
	pthread_mutex_lock(&c->lock);
	if (sqlite3_prepare_v2(c->db, "SELECT sign_pk FROM orgs WHERE org_id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, org_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* The id derives from the key, so the stored key is this key. */
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(c->db, "UPDATE orgs SET name = ?, kx_pk = ?"
				       " WHERE org_id = ?", -1, &st, NULL) != SQLITE_OK) {
			rc = db_fail(c, err, "prepare");
			goto out;
		}
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, kx_pk, SR_BOX_PUBLICKEYBYTES, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, org_id, -1, SQLITE_STATIC);
	} else {
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM orgs", -1, &st,
				       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
			rc = db_fail(c, err, "count");
			goto out;
		}
		if (sqlite3_column_int64(st, 0) >= SR_ORGS_MAX) {
			rc = sr_fail(err, SR_ELIMIT,
				     "the coordinator has %d organizations (SR_ORGS_MAX)",
				     SR_ORGS_MAX);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(c->db, "INSERT INTO orgs(org_id, name, sign_pk,"
				       " kx_pk, registered) VALUES (?, ?, ?, ?, ?)",
				       -1, &st, NULL) != SQLITE_OK) {
			rc = db_fail(c, err, "prepare");
			goto out;
		}
		sqlite3_bind_text(st, 1, org_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, sign_pk, SR_SIGN_PUBLICKEYBYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, kx_pk, SR_BOX_PUBLICKEYBYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(c, err, "register");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sr_coord_org(struct sr_coord *c, const char *org_id, json_t **out,
		 uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES], struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (out)
		*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (sqlite3_prepare_v2(c->db, "SELECT name, sign_pk, kx_pk FROM orgs"
			       " WHERE org_id = ?", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, org_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 1) != SR_SIGN_PUBLICKEYBYTES ||
	    sqlite3_column_bytes(st, 2) != SR_BOX_PUBLICKEYBYTES) {
		rc = sr_fail(err, SR_ENOTFOUND,
			     "organization %.40s is not registered with this coordinator",
			     org_id);
		goto out;
	}
	if (sign_pk)
		memcpy(sign_pk, sqlite3_column_blob(st, 1), SR_SIGN_PUBLICKEYBYTES);
	if (out) {
		char spk[2 * SR_SIGN_PUBLICKEYBYTES + 1], kpk[2 * SR_BOX_PUBLICKEYBYTES + 1];
		sr_hex(spk, sqlite3_column_blob(st, 1), SR_SIGN_PUBLICKEYBYTES);
		sr_hex(kpk, sqlite3_column_blob(st, 2), SR_BOX_PUBLICKEYBYTES);
		*out = json_pack("{s:s,s:s,s:s,s:s}", "org_id", org_id, "name",
				 (const char *)sqlite3_column_text(st, 0),
				 "sign_pk", spk, "kx_pk", kpk);
		if (!*out)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sr_coord_invitations(struct sr_coord *c, const char *org_id, json_t **out,
			 struct sr_err *err)
{
	json_t *arr = json_array();
	int rc = SR_OK;

	*out = NULL;
	if (!arr)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; rc == SR_OK && i < c->nprojects; i++) {
		const struct sr_ledger *l = &c->projects[i].ledger;
		const struct sr_ledger_member *m = sr_ledger_member_find(l, org_id);

		if (!m || m->status != SR_MEMBER_INVITED)
			continue;
		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I}",
				"project", l->project, "name", l->name ? l->name : "",
				"invited_by", m->invited_by,
				"seq", (json_int_t)m->invited_seq)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&c->lock);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

int sr_coord_can_read(struct sr_coord *c, const char *project,
		      const char *org_id, struct sr_err *err)
{
	struct project *p;
	int rc = SR_OK;

	pthread_mutex_lock(&c->lock);
	p = find_project(c, project);
	if (!p)
		rc = sr_fail(err, SR_ENOTFOUND, "project %.80s does not exist", project);
	else if (!sr_ledger_member_find(&p->ledger, org_id))
		rc = sr_fail(err, SR_EPERM,
			     "%s is not a member of project %s and is not invited to it",
			     org_id, project);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- mailboxes -------------------------------------------------------- */

/* Caller holds the lock.  The job must be approved or running and both
 * orgs its participants. */
static int mail_check(struct sr_coord *c, const char *project,
		      const char *job_hex, const char *a, const char *b,
		      struct sr_err *err)
{
	struct project *p = find_project(c, project);
	const struct sr_ledger_job *job;

	if (!p)
		return sr_fail(err, SR_ENOTFOUND, "project %.80s does not exist", project);
	job = sr_ledger_job_find_hex(&p->ledger, job_hex);
	if (!job)
		return sr_fail(err, SR_ENOTFOUND, "project %s has no job %.64s",
			       project, job_hex);
	if (!sr_ledger_job_participant(job, a))
		return sr_fail(err, SR_EPERM, "%s is not a participant of job %.16s",
			       a, job_hex);
	if (!sr_ledger_job_participant(job, b))
		return sr_fail(err, SR_EPERM, "%s is not a participant of job %.16s",
			       b, job_hex);
	if (strcmp(a, b) == 0)
		return sr_fail(err, SR_EINVAL, "a participant cannot write to itself");
	if (job->state != SR_JOB_APPROVED && job->state != SR_JOB_RUNNING)
		return sr_fail(err, SR_EPERM,
			       "job %.16s is %s: its mailboxes are closed", job_hex,
			       sr_ledger_job_state_name(job->state));
	return SR_OK;
}

/* Bind (project, job, sender, recipient, seq) as ?1..?5 of st. */
static void bind_queue(sqlite3_stmt *st, const char *project, const char *job_hex,
		       const char *from, const char *to, uint64_t seq)
{
	sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, seq > (uint64_t)INT64_MAX ? INT64_MAX :
			   (sqlite3_int64)seq);
}

static void mail_expire(struct sr_coord *c)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(c->db, "DELETE FROM mailbox WHERE time < ?", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL) -
				   SR_MAILBOX_RETENTION_S);
		(void)sqlite3_step(st);
	}
	sqlite3_finalize(st);
}

int sr_coord_mail_post(struct sr_coord *c, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t seq, const uint8_t *data, size_t len,
		       struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (len > SR_MAILBOX_MSG_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "message of %zu bytes is over the mailbox limit of %u bytes",
			       len, SR_MAILBOX_MSG_MAX);
	if (seq > (uint64_t)INT64_MAX)
		return sr_fail(err, SR_EINVAL, "seq: out of range");
	pthread_mutex_lock(&c->lock);
	rc = mail_check(c, project, job_hex, from, to, err);
	if (rc)
		goto out;
	mail_expire(c);
	if (sqlite3_prepare_v2(c->db, "SELECT count(*), coalesce(sum(length(data)), 0)"
			       " FROM mailbox WHERE project = ? AND job = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job_hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(c, err, "count");
		goto out;
	}
	if (sqlite3_column_int64(st, 0) >= SR_MAILBOX_JOB_MSGS_MAX ||
	    (uint64_t)sqlite3_column_int64(st, 1) + len > SR_MAILBOX_JOB_BYTES_MAX) {
		rc = sr_fail(err, SR_ELIMIT,
			     "the mailboxes of job %.16s are full (%d messages or %u bytes)",
			     job_hex, SR_MAILBOX_JOB_MSGS_MAX, SR_MAILBOX_JOB_BYTES_MAX);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO mailbox(project, job, sender,"
			       " recipient, seq, data, time) VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	bind_queue(st, project, job_hex, from, to, seq);
	sqlite3_bind_blob(st, 6, len ? (const void *)data : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_PRIMARYKEY ?
			sr_fail(err, SR_EEXIST, "message %llu from %s to %s was already deposited",
				(unsigned long long)seq, from, to) :
			db_fail(c, err, "insert");
		goto out;
	}
	pthread_cond_broadcast(&c->mail_cond);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- fetched batches ------------------------------------------------------ */

struct batch_msg {
	uint64_t seq;
	size_t len;
	uint8_t *data;
	uint64_t at;          /* offset of its record in the answer */
};

struct sr_coord_mailbatch {
	struct batch_msg *msgs;
	size_t n, cap;
	uint64_t size;
};

static int batch_add(struct sr_coord_mailbatch *b, uint64_t seq, const void *data,
		     size_t len)
{
	struct batch_msg *m;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct batch_msg *grown = sr_realloc(b->msgs, cap * sizeof(*grown));
		if (!grown)
			return SR_ENOMEM;
		b->msgs = grown;
		b->cap = cap;
	}
	m = &b->msgs[b->n];
	m->data = sr_malloc(len ? len : 1);
	if (!m->data)
		return SR_ENOMEM;
	if (len)
		memcpy(m->data, data, len);
	m->seq = seq;
	m->len = len;
	m->at = b->size;
	b->size += SR_MAILWIRE_RECORD_HDR + len;
	b->n++;
	return SR_OK;
}

/* Keep only the first n messages. */
static void batch_truncate(struct sr_coord_mailbatch *b, size_t n)
{
	while (b->n > n)
		sr_free(b->msgs[--b->n].data);
	b->size = b->n ? b->msgs[b->n - 1].at + SR_MAILWIRE_RECORD_HDR +
		b->msgs[b->n - 1].len : 0;
}

size_t sr_coord_mailbatch_count(const struct sr_coord_mailbatch *b)
{
	return b->n;
}

uint64_t sr_coord_mailbatch_seq(const struct sr_coord_mailbatch *b, size_t i)
{
	return b->msgs[i].seq;
}

size_t sr_coord_mailbatch_len(const struct sr_coord_mailbatch *b, size_t i)
{
	return b->msgs[i].len;
}

uint64_t sr_coord_mailbatch_size(const struct sr_coord_mailbatch *b)
{
	return b->size;
}

long sr_coord_mailbatch_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct sr_coord_mailbatch *b = ctx;
	size_t lo = 0, hi = b->n, done = 0;

	if (pos >= b->size || max == 0)
		return -1;
	/* The record that holds pos. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->msgs[mid].at <= pos)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < b->n && done < max; i++) {
		const struct batch_msg *m = &b->msgs[i];
		uint8_t hdr[SR_MAILWIRE_RECORD_HDR];
		uint64_t off = pos + done - m->at;
		size_t n;

		if (off < SR_MAILWIRE_RECORD_HDR) {
			sr_mailwire_record_header(hdr, m->seq, (uint32_t)m->len);
			n = SR_MAILWIRE_RECORD_HDR - (size_t)off;
			if (n > max - done)
				n = max - done;
			memcpy(buf + done, hdr + off, n);
			done += n;
			off += n;
		}
		if (done < max && off >= SR_MAILWIRE_RECORD_HDR) {
			size_t at = (size_t)(off - SR_MAILWIRE_RECORD_HDR);
			n = m->len - at;
			if (n > max - done)
				n = max - done;
			memcpy(buf + done, m->data + at, n);
			done += n;
		}
	}
	return (long)done;
}

void sr_coord_mailbatch_free(void *ctx)
{
	struct sr_coord_mailbatch *b = ctx;

	if (!b)
		return;
	batch_truncate(b, 0);
	sr_free(b->msgs);
	sr_free(b);
}

/* What --fault replay-mail and drop-mail do to a fetch. */
static int fault_mail(const struct sr_coord_fault *f, struct sr_coord_mailbatch *b)
{
	if (b->n == 0)
		return SR_OK;
	if (f->kind == SR_FAULT_DROP_MAIL) {
		/* Deliver only the first message of each mailbox. */
		batch_truncate(b, b->msgs[0].seq > 0 ? 0 : 1);
	} else if (f->kind == SR_FAULT_REPLAY_MAIL && b->msgs[0].seq > 0) {
		/* Serve the first message again under the next seq. */
		batch_truncate(b, 1);
		return batch_add(b, b->msgs[0].seq + 1, b->msgs[0].data, b->msgs[0].len);
	}
	return SR_OK;
}

/* Messages from -> to with seq >= next, oldest first, within the fetch
 * limits (always one if any).  Caller holds the lock. */
static int mail_select(struct sr_coord *c, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t next, struct sr_coord_mailbatch *b,
		       struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t total = 0;
	int rc = SR_OK, step;

	if (sqlite3_prepare_v2(c->db, "SELECT seq, data FROM mailbox WHERE project = ?"
			       " AND job = ? AND sender = ? AND recipient = ? AND seq >= ?"
			       " ORDER BY seq LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(c, err, "prepare");
	bind_queue(st, project, job_hex, from, to, next);
	sqlite3_bind_int(st, 6, SR_MAILBOX_FETCH_MSGS_MAX);
	while (rc == SR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		const void *data = sqlite3_column_blob(st, 1);

		if (b->n && total + len > SR_MAILBOX_FETCH_BYTES_MAX)
			break;
		total += len;
		if (batch_add(b, (uint64_t)sqlite3_column_int64(st, 0), data, len))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return rc;
}

int sr_coord_mail_fetch(struct sr_coord *c, const char *project,
			const char *job_hex, const char *from, const char *to,
			uint64_t next, int wait_ms, struct sr_coord_mailbatch **out,
			struct sr_err *err)
{
	struct sr_coord_mailbatch *b = sr_calloc(1, sizeof(*b));
	sqlite3_stmt *st = NULL;
	struct timespec deadline;
	int rc;

	*out = NULL;
	if (!b)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	/* Reading is allowed while the job has ended too, so that a
	 * participant can drain what was sent before the end. */
	rc = mail_check(c, project, job_hex, to, from, err);
	if (rc == SR_EPERM && strstr(err->msg, "mailboxes are closed")) {
		sr_err_clear(err);
		rc = SR_OK;
	}
	if (rc)
		goto out;
	/* The caller has every message before next: drop them. */
	if (sqlite3_prepare_v2(c->db, "DELETE FROM mailbox WHERE project = ? AND"
			       " job = ? AND sender = ? AND recipient = ? AND seq < ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, err, "prepare");
		goto out;
	}
	bind_queue(st, project, job_hex, from, to, next);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_fail(c, err, "delete");
		goto out;
	}
	for (;;) {
		rc = mail_select(c, project, job_hex, from, to, next, b, err);
		if (rc || b->n > 0 || wait_ms <= 0)
			break;
		if (pthread_cond_timedwait(&c->mail_cond, &c->lock, &deadline) != 0)
			wait_ms = 0;   /* one last look */
	}
	if (rc == SR_OK && fault_mail(&c->fault, b) != SR_OK)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	if (rc)
		sr_coord_mailbatch_free(b);
	else
		*out = b;
	return rc;
}

/* ---- faults (testing only) ----------------------------------------------- */

void sr_coord_set_fault(struct sr_coord *c, const struct sr_coord_fault *fault)
{
	pthread_mutex_lock(&c->lock);
	c->fault = *fault;
	pthread_mutex_unlock(&c->lock);
}

void sr_coord_get_fault(struct sr_coord *c, struct sr_coord_fault *fault)
{
	pthread_mutex_lock(&c->lock);
	*fault = c->fault;
	pthread_mutex_unlock(&c->lock);
}

int sr_coord_fault_parse(const char *spec, struct sr_coord_fault *out,
			 struct sr_err *err)
{
	static const char *const names[] = { NULL, "drop", "alter", "forge",
		"reorder", "replay-mail", "drop-mail" };
	const char *colon = strchr(spec, ':');
	size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
	int64_t seq = 0;

	memset(out, 0, sizeof(*out));
	for (int k = SR_FAULT_DROP; k <= SR_FAULT_DROP_MAIL; k++)
		if (strlen(names[k]) == nl && strncmp(spec, names[k], nl) == 0)
			out->kind = (enum sr_fault_kind)k;
	if (out->kind == SR_FAULT_NONE)
		return sr_fail(err, SR_EINVAL,
			       "--fault: unknown fault '%.*s' (drop:SEQ, alter:SEQ, forge:SEQ, reorder:SEQ, replay-mail, drop-mail)",
			       (int)nl, spec);
	if (out->kind <= SR_FAULT_REORDER) {
		if (!colon || sr_value_parse_int64(colon + 1, strlen(colon + 1), &seq) != SR_OK ||
		    seq < 0)
			return sr_fail(err, SR_EINVAL, "--fault %s: expected %s:SEQ",
				       spec, names[out->kind]);
	} else if (colon) {
		return sr_fail(err, SR_EINVAL, "--fault %s: takes no argument",
			       names[out->kind]);
	}
	out->seq = (uint64_t)seq;
	return SR_OK;
}
