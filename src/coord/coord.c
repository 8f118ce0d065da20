/*
 * coord.c - the coordinator's core: event logs in SQLite, verified by the
 * same ledger fold the nodes run (see coord.h).
 */
#include "coord/coord.h"

#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/db.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "coord/mailstore.h"
#include "ledger/ledger.h"
#include "store/value.h"
#include "base/banned.h"

#define EVENTS_PER_PAGE 1000

struct project {
	char *id;
	struct sr_ledger ledger;
};

/* Registered signing keys, by org id: every signed request needs one, and
 * an org's key never changes (its id derives from it). */
#define KEY_BUCKETS 4096
struct key_entry {
	char org_id[SR_ORG_ID_LEN + 1];
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];
	struct key_entry *next;
};

/* Events each organization appended in the current minute
 * (--org-events-per-min), under the coordinator's lock. */
#define RATE_BUCKETS 1024
struct rate_entry {
	char org_id[SR_ORG_ID_LEN + 1];
	int64_t minute;             /* unix time / 60 */
	uint64_t events;
	struct rate_entry *next;
};

struct sr_coord {
	pthread_mutex_t lock;       /* ledgers, database, fault, rates; held briefly */
	struct rate_entry *rates[RATE_BUCKETS];
	pthread_mutex_t keys_lock;  /* keys */
	struct key_entry *keys[KEY_BUCKETS];
	struct sr_coord_opts opts;
	pthread_cond_t head_cond;   /* with lock: an event was appended */
	int stopping;               /* under lock: sr_coord_stop_waits */
	/* Woken for parked requests; the lock makes sr_coord_attach_server
	 * wait for a wake in progress. */
	pthread_mutex_t server_lock;
	struct sr_http_server *server;
	struct sr_mailstore *mail;  /* its own locks (coord/mailstore.h) */
	struct sr_coord_fault fault;
	sqlite3 *db;
	char *path;
	struct project *projects;
	size_t nprojects;
};

static int db_fail(struct sr_coord *c, struct sr_err *err, const char *what)
{
	return sr_db_fail(c->db, what, err);
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

void sr_coord_opts_init(struct sr_coord_opts *o)
{
	o->mail_job_bytes = SR_MAILBOX_JOB_BYTES_DEFAULT;
	o->mail_job_msgs = SR_MAILBOX_JOB_MSGS_DEFAULT;
	o->mail_retention_s = SR_MAILBOX_RETENTION_DEFAULT_S;
	o->mail_room_wait_ms = SR_MAILBOX_WAIT_MS;
	o->org_mail_bytes = SR_QUOTA_ORG_MAIL_BYTES_DEFAULT;
	o->org_open_jobs = SR_QUOTA_ORG_OPEN_JOBS_DEFAULT;
	o->org_projects = SR_QUOTA_ORG_PROJECTS_DEFAULT;
	o->org_events_per_min = SR_QUOTA_ORG_EVENTS_PER_MIN_DEFAULT;
	o->disk_floor_bytes = SR_DISK_FLOOR_DEFAULT;
}

static int opts_check(const struct sr_coord_opts *o, struct sr_err *err)
{
	if (o->mail_job_bytes < 1 || o->mail_job_bytes > SR_MAILBOX_JOB_BYTES_MAX)
		return sr_fail(err, SR_EINVAL, "mailbox bytes per job: expected 1 to %llu",
			       (unsigned long long)SR_MAILBOX_JOB_BYTES_MAX);
	if (o->mail_job_msgs < 1 || o->mail_job_msgs > SR_MAILBOX_JOB_MSGS_MAX)
		return sr_fail(err, SR_EINVAL, "mailbox messages per job: expected 1 to %u",
			       SR_MAILBOX_JOB_MSGS_MAX);
	if (o->mail_retention_s < 1 || o->mail_retention_s > SR_MAILBOX_RETENTION_MAX_S)
		return sr_fail(err, SR_EINVAL, "mailbox retention: expected 1 to %d seconds",
			       SR_MAILBOX_RETENTION_MAX_S);
	if (o->mail_room_wait_ms < 0 || o->mail_room_wait_ms > SR_MAILBOX_WAIT_MS)
		return sr_fail(err, SR_EINVAL, "mailbox room wait: expected 0 to %d ms",
			       SR_MAILBOX_WAIT_MS);
	if (o->org_mail_bytes < SR_MAILBOX_MSG_MAX || o->org_mail_bytes > SR_QUOTA_ORG_MAIL_BYTES_MAX)
		return sr_fail(err, SR_EINVAL,
			       "mailbox bytes per organization: expected %u (one message) to %llu",
			       SR_MAILBOX_MSG_MAX, (unsigned long long)SR_QUOTA_ORG_MAIL_BYTES_MAX);
	if (o->org_open_jobs < 1 || o->org_open_jobs > SR_QUOTA_ORG_OPEN_JOBS_MAX)
		return sr_fail(err, SR_EINVAL, "open jobs per organization: expected 1 to %d",
			       SR_QUOTA_ORG_OPEN_JOBS_MAX);
	if (o->org_projects < 1 || o->org_projects > SR_QUOTA_ORG_PROJECTS_MAX)
		return sr_fail(err, SR_EINVAL, "projects per organization: expected 1 to %d",
			       SR_QUOTA_ORG_PROJECTS_MAX);
	if (o->org_events_per_min < 1 || o->org_events_per_min > SR_QUOTA_ORG_EVENTS_PER_MIN_MAX)
		return sr_fail(err, SR_EINVAL,
			       "events per organization and minute: expected 1 to %d",
			       SR_QUOTA_ORG_EVENTS_PER_MIN_MAX);
	if (o->disk_floor_bytes > SR_DISK_FLOOR_MAX)
		return sr_fail(err, SR_EINVAL, "disk floor: expected 0 to %llu bytes",
			       (unsigned long long)SR_DISK_FLOOR_MAX);
	return SR_OK;
}

int sr_coord_open(const char *dir, struct sr_coord **out, struct sr_err *err)
{
	return sr_coord_open_opts(dir, NULL, out, err);
}

int sr_coord_open_opts(const char *dir, const struct sr_coord_opts *opts,
		       struct sr_coord **out, struct sr_err *err)
{
	struct sr_coord_opts defaults;
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
		/* Mailboxes moved to spool files (coord/mailstore.h). */
		"DROP TABLE IF EXISTS mailbox;"
		"CREATE TABLE IF NOT EXISTS verdicts ("
		"  project TEXT NOT NULL,"
		"  job TEXT NOT NULL,"
		"  verdict TEXT NOT NULL,"
		"  PRIMARY KEY (project, job));";
	struct sr_coord *c;
	struct sr_buf path;
	int rc;

	*out = NULL;
	if (!opts) {
		sr_coord_opts_init(&defaults);
		opts = &defaults;
	}
	rc = opts_check(opts, err);
	if (rc)
		return rc;
	rc = sr_mkdir_p(dir, 0700, err);
	if (rc)
		return rc;
	c = sr_calloc(1, sizeof(*c));
	if (!c)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->keys_lock, NULL);
	pthread_cond_init(&c->head_cond, NULL);
	pthread_mutex_init(&c->server_lock, NULL);
	c->opts = *opts;
	sr_buf_init(&path, 0);
	if (sr_path_join(&path, dir, "coord.db") != SR_OK ||
	    !(c->path = sr_buf_detach(&path, NULL))) {
		sr_buf_release(&path);
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	rc = sr_db_open(c->path, NULL, schema, &c->db, err);
	if (rc == SR_OK)
		rc = replay(c, err);
	if (rc == SR_OK)
		rc = sr_mailstore_open(dir, opts, &c->mail, err);
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
	sr_db_close(c->db);
	sr_free(c->path);
	sr_mailstore_free(c->mail);
	for (size_t i = 0; i < KEY_BUCKETS; i++)
		while (c->keys[i]) {
			struct key_entry *e = c->keys[i];
			c->keys[i] = e->next;
			sr_free(e);
		}
	for (size_t i = 0; i < RATE_BUCKETS; i++)
		while (c->rates[i]) {
			struct rate_entry *e = c->rates[i];
			c->rates[i] = e->next;
			sr_free(e);
		}
	pthread_mutex_destroy(&c->keys_lock);
	pthread_cond_destroy(&c->head_cond);
	pthread_mutex_destroy(&c->server_lock);
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
		rc = sr_db_step_done(st, "store event", err);
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
	int accept, rc = SR_OK;

	sr_err_clear(&err);
	sr_buf_init(&text, 0);
	if (sr_ledger_check_job(&p->ledger, spec, (int64_t)time(NULL), &verdict,
				&accept, &err) != SR_OK)
		verdict = json_pack("{s:b,s:[{s:s,s:s}]}", "accept", 0, "violations",
				    "rule", "malformed-spec", "message", err.msg);
	sr_err_clear(&err);
	if (!verdict || sr_json_dump(verdict, 0, &text) != SR_OK) {
		rc = sr_fail(&err, SR_ENOMEM, "out of memory");
	} else if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO verdicts(project, job,"
				      " verdict) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(c, &err, "verdict");
	} else {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text.data, (int)text.len, SQLITE_STATIC);
		rc = sr_db_step_done(st, "verdict", &err);
	}
	if (rc)
		sr_log_error("project %s: job %.16s: the coordinator's verdict is not kept: %s",
			     p->id, job_hex, err.msg);
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

/* Lock held.  The event counter of org for this minute (made if missing),
 * or NULL out of memory. */
static struct rate_entry *rate_get(struct sr_coord *c, const char *org, int64_t minute)
{
	struct rate_entry **head = &c->rates[sr_coord_org_bucket(org, RATE_BUCKETS)], *e;

	for (e = *head; e; e = e->next)
		if (strcmp(e->org_id, org) == 0)
			break;
	if (!e) {
		if (strlen(org) != SR_ORG_ID_LEN || !(e = sr_calloc(1, sizeof(*e))))
			return NULL;
		memcpy(e->org_id, org, SR_ORG_ID_LEN + 1);
		e->next = *head;
		*head = e;
	}
	if (e->minute != minute) {
		e->minute = minute;
		e->events = 0;
	}
	return e;
}

/*
 * Lock held.  The quotas of the event's author (docs/operations.md,
 * "Quotas"): events this minute, projects it created, its open jobs.
 * SR_ERATE or SR_ELIMIT naming the quota and its flag; *counter gets the
 * minute's counter to count the event in once it is stored.
 */
static int quota_check(struct sr_coord *c, const struct sr_event *ev,
		       struct rate_entry **counter, struct sr_err *err)
{
	const char *org = ev->author;
	uint64_t n = 0;

	*counter = rate_get(c, org, (int64_t)time(NULL) / 60);
	if (!*counter)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if ((*counter)->events >= c->opts.org_events_per_min)
		return sr_fail(err, SR_ERATE,
			       "organization %s appended %llu events this minute, its quota (--org-events-per-min); try again in a minute",
			       org, (unsigned long long)(*counter)->events);
	if (ev->type == SR_EVENT_PROJECT_CREATE) {
		for (size_t i = 0; i < c->nprojects; i++)
			n += strcmp(c->projects[i].ledger.creator, org) == 0;
		if (n >= c->opts.org_projects)
			return sr_fail(err, SR_ELIMIT,
				       "organization %s created %llu projects, its quota (--org-projects)",
				       org, (unsigned long long)n);
	}
	if (ev->type == SR_EVENT_JOB_PROPOSE) {
		for (size_t i = 0; i < c->nprojects; i++) {
			const struct sr_ledger *l = &c->projects[i].ledger;
			for (size_t k = 0; k < l->njobs; k++)
				n += l->jobs[k]->state <= SR_JOB_RUNNING &&
				     strcmp(l->jobs[k]->proposer, org) == 0;
		}
		if (n >= c->opts.org_open_jobs)
			return sr_fail(err, SR_ELIMIT,
				       "organization %s has %llu open jobs (proposed, approved or running), its quota (--org-open-jobs); cancel or finish one first",
				       org, (unsigned long long)n);
	}
	return SR_OK;
}

int sr_coord_append(struct sr_coord *c, const char *wire, size_t len,
		    uint64_t *seq, char id_hex[SR_EVENT_ID_HEX_LEN + 1],
		    char head_hex[SR_EVENT_ID_HEX_LEN + 1], uint64_t *next_seq,
		    struct sr_err *err)
{
	struct sr_event ev;
	struct project *p;
	struct rate_entry *counter = NULL;
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	int rc, created = 0;

	sr_event_init(&ev);
	rc = sr_event_parse(wire, len, &ev, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	/* Counted only once stored: an event refused costs its author nothing
	 * (and an author named by someone else's refused event neither). */
	rc = quota_check(c, &ev, &counter, err);
	if (rc) {
		p = NULL;
		goto out;
	}
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
	counter->events++;
	if (ev.type == SR_EVENT_JOB_PROPOSE)
		store_verdict(c, p, &ev, hex);
	pthread_cond_broadcast(&c->head_cond);   /* the followers' long-polls */
	pthread_mutex_lock(&c->server_lock);
	sr_http_server_wake(c->server, SR_COORD_WAKE_HEADS);
	pthread_mutex_unlock(&c->server_lock);
	*seq = ev.seq;
	if (id_hex)
		memcpy(id_hex, hex, sizeof(hex));
out:
	/* Only a member (or invitee) learns where the chain is, as from
	 * GET .../head; the author is the signed caller (coord_http.c). */
	if (rc && p && !created && sr_ledger_member_find(&p->ledger, ev.author)) {
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

/* Lock held.  The heads of the projects in known as an object; *changed
 * if any differs from what the caller has. */
static int heads_now(struct sr_coord *c, const char *caller, const json_t *known,
		     json_t **out, int *changed, struct sr_err *err)
{
	json_t *heads = json_object(), *v;
	const char *pid;

	*changed = 0;
	if (!heads)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	json_object_foreach((json_t *)known, pid, v) {
		uint64_t have = (uint64_t)json_integer_value(json_object_get(v, "next_seq"));
		const char *have_head = json_string_value(json_object_get(v, "head"));
		struct project *p = find_project(c, pid);
		char head[SR_EVENT_ID_HEX_LEN + 1];
		json_t *entry;

		if (!p || !sr_ledger_member_find(&p->ledger, caller)) {
			entry = json_pack("{s:s}", "error", p ?
					  "not a member of the project and not invited to it" :
					  "no such project");
			*changed = 1;
		} else {
			sr_hex(head, p->ledger.head, sizeof(p->ledger.head));
			entry = json_pack("{s:I,s:s}", "next_seq", (json_int_t)p->ledger.next_seq,
					  "head", head);
			if (have != p->ledger.next_seq || !have_head || strcmp(have_head, head) != 0)
				*changed = 1;
		}
		if (!entry || json_object_set_new(heads, pid, entry)) {
			json_decref(heads);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
	}
	*out = heads;
	return SR_OK;
}

int sr_coord_heads_wait(struct sr_coord *c, const char *caller, const json_t *known,
			int wait_ms, json_t **out, struct sr_err *err)
{
	struct timespec deadline;
	const char *pid;
	json_t *v, *heads = NULL;
	int changed = 0, rc = SR_OK;

	*out = NULL;
	if (!json_is_object(known))
		return sr_fail(err, SR_EINVAL, "request.projects: expected an object");
	if (json_object_size(known) > SR_HEADS_PROJECTS_MAX)
		return sr_fail(err, SR_ELIMIT, "request.projects: more than %d projects",
			       SR_HEADS_PROJECTS_MAX);
	json_object_foreach((json_t *)known, pid, v) {
		json_t *n = json_object_get(v, "next_seq"), *h = json_object_get(v, "head");
		if (!json_is_object(v) || !json_is_integer(n) || json_integer_value(n) < 0 ||
		    (h && !json_is_string(h)) || strlen(pid) > SR_PROJECT_ID_MAX)
			return sr_fail(err, SR_EINVAL,
				       "request.projects.%.64s: expected {\"next_seq\": N, \"head\": HEX}",
				       pid);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	for (;;) {
		json_decref(heads);
		heads = NULL;
		rc = heads_now(c, caller, known, &heads, &changed, err);
		if (rc || changed || wait_ms <= 0 || c->stopping)
			break;
		/* The wait releases the lock: appends go on meanwhile. */
		if (pthread_cond_timedwait(&c->head_cond, &c->lock, &deadline) != 0)
			wait_ms = 0;   /* one last look */
	}
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return rc;
	*out = json_pack("{s:b,s:o}", "changed", changed, "heads", heads);
	return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
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
	rc = sr_db_step_done(st, "register organization", err);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* 1 and the key if org_id's key is cached. */
static int key_cached(struct sr_coord *c, const char *org_id,
		      uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES])
{
	int found = 0;

	pthread_mutex_lock(&c->keys_lock);
	for (struct key_entry *e = c->keys[sr_coord_org_bucket(org_id, KEY_BUCKETS)]; e; e = e->next)
		if (strcmp(e->org_id, org_id) == 0) {
			memcpy(sign_pk, e->sign_pk, SR_SIGN_PUBLICKEYBYTES);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&c->keys_lock);
	return found;
}

static void key_cache(struct sr_coord *c, const char *org_id,
		      const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES])
{
	uint8_t have[SR_SIGN_PUBLICKEYBYTES];
	struct key_entry *e;

	if (strlen(org_id) != SR_ORG_ID_LEN || key_cached(c, org_id, have))
		return;
	e = sr_calloc(1, sizeof(*e));
	if (!e)
		return;   /* only a cache */
	memcpy(e->org_id, org_id, SR_ORG_ID_LEN + 1);
	memcpy(e->sign_pk, sign_pk, SR_SIGN_PUBLICKEYBYTES);
	pthread_mutex_lock(&c->keys_lock);
	e->next = c->keys[sr_coord_org_bucket(org_id, KEY_BUCKETS)];
	c->keys[sr_coord_org_bucket(org_id, KEY_BUCKETS)] = e;
	pthread_mutex_unlock(&c->keys_lock);
}

int sr_coord_org(struct sr_coord *c, const char *org_id, json_t **out,
		 uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES], struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (out)
		*out = NULL;
	/* A signed request needs only the key: from memory after the first. */
	if (!out && sign_pk && key_cached(c, org_id, sign_pk))
		return SR_OK;
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
	key_cache(c, org_id, sqlite3_column_blob(st, 1));
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
		      char hex[SR_EVENT_ID_HEX_LEN + 1], struct sr_err *err)
{
	struct project *p = find_project(c, project);
	const struct sr_ledger_job *job = p ? sr_ledger_job_find_hex(&p->ledger, job_hex) : NULL;

	/* One answer whether or not the project and the job exist: a
	 * non-participant learns nothing about them (docs/api.md). */
	if (!job || !sr_ledger_job_participant(job, a))
		return sr_fail(err, SR_EPERM,
			       "%s is not a participant of this job (or there is no such job)", a);
	if (!sr_ledger_job_participant(job, b))
		return sr_fail(err, SR_EPERM, "%s is not a participant of job %.16s",
			       b, job_hex);
	if (strcmp(a, b) == 0)
		return sr_fail(err, SR_EINVAL, "a participant cannot write to itself");
	/* The ledger's own spelling of the id: one mailbox per job. */
	memcpy(hex, job->id_hex, SR_EVENT_ID_HEX_LEN + 1);
	if (job->state != SR_JOB_APPROVED && job->state != SR_JOB_RUNNING)
		return sr_fail(err, SR_EPERM,
			       "job %.16s is %s: its mailboxes are closed", job_hex,
			       sr_ledger_job_state_name(job->state));
	return SR_OK;
}

int sr_coord_mail_post(struct sr_coord *c, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t seq, const uint8_t *data, size_t len,
		       struct sr_err *err)
{
	return sr_coord_mail_post_wait(c, project, job_hex, from, to, seq, data, len,
				       c->opts.mail_room_wait_ms, err);
}

int sr_coord_mail_room_wait_ms(const struct sr_coord *c)
{
	return c->opts.mail_room_wait_ms;
}

uint64_t sr_coord_mail_wake_key(const char *job_hex)
{
	uint64_t h = 14695981039346656037ull;   /* FNV-1a */

	for (; *job_hex; job_hex++)
		h = (h ^ (uint64_t)tolower((unsigned char)*job_hex)) * 1099511628211ull;
	return h | 1;   /* never SR_COORD_WAKE_HEADS */
}

void sr_coord_attach_server(struct sr_coord *c, struct sr_http_server *server)
{
	pthread_mutex_lock(&c->server_lock);
	c->server = server;
	pthread_mutex_unlock(&c->server_lock);
	sr_mailstore_attach_server(c->mail, server);
}

int sr_coord_mail_post_wait(struct sr_coord *c, const char *project,
			    const char *job_hex, const char *from, const char *to,
			    uint64_t seq, const uint8_t *data, size_t len,
			    int wait_ms, struct sr_err *err)
{
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	int rc;

	if (len > SR_MAILBOX_MSG_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "message of %zu bytes is over the mailbox limit of %u bytes",
			       len, SR_MAILBOX_MSG_MAX);
	/* The ledger says who may; the lock is held for that only. */
	pthread_mutex_lock(&c->lock);
	rc = mail_check(c, project, job_hex, from, to, hex, err);
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return rc;
	return sr_mailstore_post(c->mail, project, hex, from, to, seq, data, len,
				 wait_ms, err);
}

int sr_coord_mail_fetch(struct sr_coord *c, const char *project,
			const char *job_hex, const char *from, const char *to,
			uint64_t next, int wait_ms, struct sr_coord_mailbatch **out,
			struct sr_err *err)
{
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_coord_fault fault;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	/* Reading is allowed while the job has ended too, so that a
	 * participant can drain what was sent before the end. */
	rc = mail_check(c, project, job_hex, to, from, hex, err);
	if (rc == SR_EPERM && strstr(err->msg, "mailboxes are closed")) {
		sr_err_clear(err);
		rc = SR_OK;
	}
	fault = c->fault;
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return rc;
	return sr_mailstore_fetch(c->mail, project, hex, from, to, next, wait_ms, &fault,
				  out, err);
}

void sr_coord_stop_waits(struct sr_coord *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->head_cond);
	pthread_mutex_unlock(&c->lock);
	sr_mailstore_stop_waits(c->mail);
}

size_t sr_coord_mail_expire(struct sr_coord *c, int64_t now)
{
	return sr_mailstore_expire(c->mail, now);
}

void sr_coord_mail_usage(struct sr_coord *c, uint64_t *msgs, uint64_t *bytes)
{
	sr_mailstore_usage(c->mail, msgs, bytes);
}

uint64_t sr_coord_mail_usage_org(struct sr_coord *c, const char *org_id)
{
	return sr_mailstore_org_bytes(c->mail, org_id);
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
		"reorder", "replay-mail", "drop-mail", "slow-append" };
	const char *colon = strchr(spec, ':');
	size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
	int64_t seq = 0;

	memset(out, 0, sizeof(*out));
	for (int k = SR_FAULT_DROP; k <= SR_FAULT_SLOW_APPEND; k++)
		if (strlen(names[k]) == nl && strncmp(spec, names[k], nl) == 0)
			out->kind = (enum sr_fault_kind)k;
	if (out->kind == SR_FAULT_NONE)
		return sr_fail(err, SR_EINVAL,
			       "--fault: unknown fault '%.*s' (drop:SEQ, alter:SEQ, forge:SEQ, reorder:SEQ, replay-mail, drop-mail, slow-append:MS)",
			       (int)nl, spec);
	if (out->kind <= SR_FAULT_REORDER || out->kind == SR_FAULT_SLOW_APPEND) {
		const char *what = out->kind == SR_FAULT_SLOW_APPEND ? "MS" : "SEQ";
		if (!colon || sr_value_parse_int64(colon + 1, strlen(colon + 1), &seq) != SR_OK ||
		    seq < 0 || (out->kind == SR_FAULT_SLOW_APPEND && seq > 60000))
			return sr_fail(err, SR_EINVAL, "--fault %s: expected %s:%s%s",
				       spec, names[out->kind], what,
				       out->kind == SR_FAULT_SLOW_APPEND ? " (at most 60000)" : "");
	} else if (colon) {
		return sr_fail(err, SR_EINVAL, "--fault %s: takes no argument",
			       names[out->kind]);
	}
	out->seq = (uint64_t)seq;
	return SR_OK;
}
