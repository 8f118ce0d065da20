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

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
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
		"  PRIMARY KEY (project, seq));";
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
	*seq = ev.seq;
	if (id_hex)
		memcpy(id_hex, hex, sizeof(hex));
out:
	if (rc && (rc == SR_EPROTO || rc == SR_EEXIST) && p && !created) {
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

/* "/v1/projects/P/REST": copy P (bounded) and point *rest at REST. */
static int split_project_path(const char *path, char *project, size_t size,
			      const char **rest)
{
	const char *p = path + strlen("/v1/projects/");
	const char *slash = strchr(p, '/');

	if (!slash || slash == p || (size_t)(slash - p) >= size)
		return 0;
	memcpy(project, p, (size_t)(slash - p));
	project[slash - p] = '\0';
	*rest = slash + 1;
	return 1;
}

int sr_coord_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp)
{
	struct sr_coord *c = ctx;
	char project[SR_PROJECT_ID_MAX + 1];
	char id_hex[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1];
	const char *rest;
	struct sr_err err;
	uint64_t seq = 0, next = 0;
	int rc;

	sr_err_clear(&err);
	if (strcmp(req->path, "/v1/health") == 0) {
		resp->body = json_pack("{s:b}", "ok", 1);
		return SR_OK;
	}
	if (strcmp(req->path, "/v1/events") == 0) {
		if (strcmp(req->method, "POST") != 0)
			return sr_http_error(resp, 405, "/v1/events: use POST");
		if (req->body_len == 0)
			return sr_http_error(resp, 400, "request body: expected a wire event");
		head[0] = '\0';
		rc = sr_coord_append(c, req->body, req->body_len, &seq, id_hex,
				     head, &next, &err);
		if (rc == SR_EPROTO || rc == SR_EEXIST) {
			sr_http_error(resp, 409, "%s", err.msg);
			if (head[0] && resp->body) {
				json_object_set_new(resp->body, "head", json_string(head));
				json_object_set_new(resp->body, "next_seq",
						    json_integer((json_int_t)next));
			}
			return SR_OK;
		}
		if (rc)
			return sr_http_error(resp, sr_http_status_for(rc), "%s", err.msg);
		resp->status = 201;
		resp->body = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "id", id_hex);
		return SR_OK;
	}
	if (strncmp(req->path, "/v1/projects/", 13) == 0 &&
	    split_project_path(req->path, project, sizeof(project), &rest)) {
		if (strcmp(req->method, "GET") != 0)
			return sr_http_error(resp, 405, "%s: use GET", req->path);
		if (strcmp(rest, "head") == 0) {
			rc = sr_coord_head(c, project, &next, head, &err);
			if (rc)
				return sr_http_error(resp, sr_http_status_for(rc), "%s", err.msg);
			resp->body = json_pack("{s:s,s:I,s:s}", "project", project,
					       "next_seq", (json_int_t)next, "head", head);
			return SR_OK;
		}
		if (strncmp(rest, "events/", 7) == 0) {
			int64_t from;
			json_t *events;
			if (sr_value_parse_int64(rest + 7, strlen(rest + 7), &from) != SR_OK ||
			    from < 0)
				return sr_http_error(resp, 400,
						     "%s: expected /v1/projects/P/events/FROM with FROM >= 0",
						     req->path);
			rc = sr_coord_events(c, project, (uint64_t)from,
					     EVENTS_PER_PAGE, &events, &err);
			if (rc)
				return sr_http_error(resp, sr_http_status_for(rc), "%s", err.msg);
			resp->body = events;
			return SR_OK;
		}
	}
	return sr_http_error(resp, 404, "no such endpoint: %s %s", req->method,
			     req->path);
}
