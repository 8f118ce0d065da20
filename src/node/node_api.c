/*
 * node_api.c - the node's local API (docs/api.md, "Node API"): bearer
 * tokens with roles, and one handler per endpoint.  Every change goes
 * through node_append, so it is signed by this organization and verified
 * by the coordinator and every other member.
 */
#include "node/node_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "store/value.h"
#include "base/banned.h"

/* Coordinator verdicts a node keeps in memory (about 1 KiB each). */
#define VERDICTS_CACHED 4096

#define EVENTS_PER_PAGE 1000

static int match(const struct sr_http_path *r, const char *method,
		 const struct sr_http_request *req, size_t n, ...)
{
	va_list ap;
	int ok = r->n == n && strcmp(req->method, method) == 0;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *w = va_arg(ap, const char *);
		if (ok && w && strcmp(r->seg[i], w) != 0)
			ok = 0;
	}
	va_end(ap);
	return ok;
}

/* A coordinator's quota answers (429, 507) pass through as they came. */
static int fail(struct sr_http_response *resp, int rc, const struct sr_err *err)
{
	return sr_http_error(resp, sr_coordconn_status(rc), "%s", err->msg);
}

static int need_role(struct sr_http_response *resp, enum sr_role have,
		     enum sr_role want, const char *what)
{
	if (have == want)
		return 0;
	sr_http_error(resp, 403, "%s needs the %s role (this token is %s)", what,
		      sr_role_name(want), sr_role_name(have));
	return -1;
}

static struct node_project *project_or_404(struct sr_node *n, const char *id,
					   struct sr_http_response *resp)
{
	struct node_project *p = node_project_find(n, id);

	if (!p || p->ledger.next_seq == 0) {
		sr_http_error(resp, 404, "this node does not follow a project %.80s", id);
		return NULL;
	}
	return p;
}

/* Optional string field of an optional JSON body. */
static int body_string(const struct sr_http_request *req,
		       struct sr_http_response *resp, const char *key,
		       const char *const *allowed, int required, json_t **body,
		       const char **out)
{
	struct sr_err err;

	*body = NULL;
	*out = NULL;
	sr_err_clear(&err);
	if (req->body_len == 0) {
		if (required)
			return sr_http_error(resp, 400, "request body: expected {\"%s\": ...}",
					     key), -1;
		return 0;
	}
	if (sr_http_json_body(req, resp, body) != SR_OK)
		return -1;
	if (sr_json_check_keys(*body, "request", allowed, &err) != SR_OK ||
	    sr_json_get_string(*body, "request", key, required, out, &err) != SR_OK) {
		json_decref(*body);
		*body = NULL;
		return sr_http_error(resp, 400, "%s", err.msg), -1;
	}
	return 0;
}

static int text_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max || !sr_utf8_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int created(struct sr_http_response *resp, json_t *body)
{
	resp->status = 201;
	resp->body = body;
	return SR_OK;
}

static json_t *project_row(const struct node_project *p)
{
	char head[SR_EVENT_ID_HEX_LEN + 1];

	sr_hex(head, p->ledger.head, sizeof(p->ledger.head));
	return json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:o,s:o}", "project", p->id,
			 "name", p->ledger.name ? p->ledger.name : "",
			 "next_seq", (json_int_t)p->ledger.next_seq, "head", head,
			 "members", (json_int_t)p->ledger.nmembers,
			 "datasets", (json_int_t)p->ledger.ndatasets,
			 "jobs", (json_int_t)p->ledger.njobs,
			 "error", p->error ? json_string(p->error) : json_null(),
			 "storage_error", p->storage_error ? json_string(p->storage_error) :
			 json_null());
}

static int job_json(struct sr_node *n, const struct node_project *p,
		    const struct sr_ledger_job *job, json_t **out, struct sr_err *err)
{
	json_t *all = NULL, *jobs, *found = NULL, *local;
	int rc = sr_ledger_to_json(&p->ledger, &all, err);

	*out = NULL;
	if (rc)
		return rc;
	jobs = json_object_get(all, "jobs");
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		json_t *j = json_array_get(jobs, i);
		const char *id = json_string_value(json_object_get(j, "id"));
		if (!id)
			id = json_string_value(json_object_get(j, "job_id"));
		if (id && strcmp(id, job->id_hex) == 0)
			found = j;
	}
	if (!found) {
		json_decref(all);
		return sr_fail(err, SR_EINTERNAL, "job %s missing from the project's JSON",
			       job->id_hex);
	}
	json_incref(found);
	json_decref(all);
	json_object_set_new(found, "project", json_string(p->id));
	local = node_job_local(n, job->id);
	json_object_set_new(found, "local", local ? local : json_null());
	json_object_set_new(found, "budget", node_job_budget(n, p, job));
	*out = found;
	return SR_OK;
}

static int api_project_create(struct sr_node *n, const struct sr_http_request *req,
			      struct sr_http_response *resp)
{
	static const char *const keys[] = { "name", NULL };
	char pid[SR_PROJECT_ID_GEN_LEN + 1];
	char spk[2 * SR_SIGN_PUBLICKEYBYTES + 1], kpk[2 * SR_BOX_PUBLICKEYBYTES + 1];
	struct node_project *p;
	const char *name;
	struct sr_err err;
	json_t *body, *ev_body;
	uint64_t seq = 0;
	int rc;

	sr_err_clear(&err);
	if (body_string(req, resp, "name", keys, 1, &body, &name) != 0)
		return SR_OK;
	if (!text_ok(name, SR_PROJECT_NAME_MAX)) {
		json_decref(body);
		return sr_http_error(resp, 400,
				     "request.name: expected 1 to %d bytes of text without control characters",
				     SR_PROJECT_NAME_MAX);
	}
	sr_ledger_project_id_generate(pid);
	sr_hex(spk, n->id.sign_pk, sizeof(n->id.sign_pk));
	sr_hex(kpk, n->id.kx_pk, sizeof(n->id.kx_pk));
	ev_body = json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "name", name, "creator",
			    "org_id", n->id.org_id, "name", n->name, "sign_pk", spk,
			    "kx_pk", kpk);
	json_decref(body);
	rc = node_follow(n, pid, &p, &err);
	if (rc) {
		json_decref(ev_body);
		return fail(resp, rc, &err);
	}
	rc = node_append(n, p, SR_EVENT_PROJECT_CREATE, ev_body, &seq, NULL, &err);
	if (rc) {
		node_unfollow_empty(n, p);
		return fail(resp, rc, &err);
	}
	return created(resp, json_pack("{s:s,s:I}", "project", pid, "seq", (json_int_t)seq));
}

static int api_join(struct sr_node *n, const char *pid,
		    struct sr_http_response *resp)
{
	char spk[2 * SR_SIGN_PUBLICKEYBYTES + 1], kpk[2 * SR_BOX_PUBLICKEYBYTES + 1];
	const struct sr_ledger_member *m;
	struct node_project *p;
	struct sr_err err;
	uint64_t seq = 0;
	int rc, existed;

	sr_err_clear(&err);
	if (strlen(pid) > SR_PROJECT_ID_MAX)
		return sr_http_error(resp, 400, "project id: longer than %d bytes",
				     SR_PROJECT_ID_MAX);
	existed = node_project_find(n, pid) != NULL;
	rc = node_follow(n, pid, &p, &err);
	if (rc)
		return fail(resp, rc, &err);
	/* Fetch and verify the whole history before signing onto it. */
	rc = node_sync(n, p, &err);
	if (rc) {
		if (!existed)
			node_unfollow_empty(n, p);
		return fail(resp, rc, &err);
	}
	m = sr_ledger_member_find(&p->ledger, n->id.org_id);
	if (!m || m->status != SR_MEMBER_INVITED) {
		rc = sr_fail(&err, SR_EPERM, "%s is not invited to project %s%s",
			     n->name, pid, m && m->status == SR_MEMBER_ACTIVE ?
			     " (it is already a member)" : "");
		if (!existed)
			node_unfollow_empty(n, p);
		return fail(resp, rc, &err);
	}
	sr_hex(spk, n->id.sign_pk, sizeof(n->id.sign_pk));
	sr_hex(kpk, n->id.kx_pk, sizeof(n->id.kx_pk));
	rc = node_append(n, p, SR_EVENT_MEMBER_JOIN,
			 json_pack("{s:s,s:s,s:s}", "name", n->name, "sign_pk", spk,
				   "kx_pk", kpk), &seq, NULL, &err);
	if (rc)
		return fail(resp, rc, &err);
	return created(resp, json_pack("{s:s,s:I}", "project", pid, "seq", (json_int_t)seq));
}

static int api_publish(struct sr_node *n, struct node_project *p,
		       const struct sr_http_request *req,
		       struct sr_http_response *resp)
{
	static const char *const keys[] = { "dataset", NULL };
	struct sr_dataset_info info;
	const char *name;
	char full[SR_ORG_NAME_MAX + SR_DATASET_NAME_MAX + 2];
	struct sr_err err;
	json_t *body, *schema, *ev_body;
	uint64_t seq = 0;
	int rc;

	sr_err_clear(&err);
	if (body_string(req, resp, "dataset", keys, 1, &body, &name) != 0)
		return SR_OK;
	sr_dataset_info_init(&info);
	pthread_mutex_lock(&n->store_lock);
	rc = sr_store_info(n->store, name, &info, &err);
	pthread_mutex_unlock(&n->store_lock);
	if (rc) {
		json_decref(body);
		return fail(resp, rc, &err);
	}
	schema = json_array();
	for (size_t i = 0; schema && i < info.ncolumns; i++)
		if (json_array_append_new(schema, json_pack("{s:s,s:s,s:s}",
				"name", info.columns[i].name,
				"type", sr_type_name(info.columns[i].type),
				"class", sr_class_name(info.columns[i].cls)))) {
			json_decref(schema);
			schema = NULL;
		}
	ev_body = schema && info.policy ?
		json_pack("{s:s,s:s,s:I,s:o,s:O}", "dataset", name, "version_id",
			  info.version_id, "rows", (json_int_t)info.rows, "schema", schema,
			  "policy", info.policy) : NULL;
	if (!ev_body)
		json_decref(schema);
	snprintf(full, sizeof(full), "%s.%s", n->name, name);
	rc = node_append(n, p, SR_EVENT_DATASET_PUBLISH, ev_body, &seq, NULL, &err);
	if (rc == SR_OK)
		rc = created(resp, json_pack("{s:I,s:s,s:s,s:I}", "seq", (json_int_t)seq,
					     "dataset", full, "version_id", info.version_id,
					     "rows", (json_int_t)info.rows)) ;
	else
		fail(resp, rc, &err);
	sr_dataset_info_release(&info);
	json_decref(body);
	return SR_OK;
}

/* What a proposal is made of, made again before every try to append. */
struct proposal {
	struct sr_node *n;
	const json_t *asked;      /* the analyst's spec */
	json_t *spec;             /* with the versions filled in */
	json_t *verdict;
};

/*
 * Approvals bind data versions (DESIGN §8): every input the analyst named
 * without a version_id gets the version this node's fold says is
 * published, before the spec is checked and signed.  A dataset the fold
 * does not know is left as it is (the checker names it).
 */
static int fill_versions(const struct node_project *p, json_t *spec,
			 struct sr_err *err)
{
	json_t *in;
	size_t i;

	json_array_foreach(json_object_get(spec, "inputs"), i, in) {
		const char *name = json_string_value(json_object_get(in, "dataset"));
		const struct sr_ledger_dataset *d = name ?
			sr_ledger_dataset_find(&p->ledger, name) : NULL;

		if (!json_is_object(in) || json_object_get(in, "version_id") ||
		    !d || d->withdrawn)
			continue;
		if (json_object_set_new(in, "version_id", json_string(d->version_id)))
			return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return SR_OK;
}

static int build_proposal(void *ctx, struct node_project *p, json_t **body,
			  struct sr_err *err)
{
	struct proposal *pr = ctx;
	int accept = 0, rc;

	*body = NULL;
	json_decref(pr->spec);
	json_decref(pr->verdict);
	pr->verdict = NULL;
	pr->spec = json_deep_copy(pr->asked);
	if (!pr->spec)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = fill_versions(p, pr->spec, err);
	if (rc == SR_OK)
		rc = node_check(pr->n, p, pr->spec, &pr->verdict, &accept, err);
	if (rc)
		return rc;
	*body = json_pack("{s:O,s:O}", "spec", pr->spec, "verdict", pr->verdict);
	return *body ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

static int api_propose(struct sr_node *n, struct node_project *p,
		       const struct sr_http_request *req,
		       struct sr_http_response *resp)
{
	static const char *const keys[] = { "spec", NULL };
	struct proposal pr = { n, NULL, NULL, NULL };
	uint8_t id[SR_EVENT_ID_BYTES];
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	json_t *body;
	struct sr_err err;
	uint64_t seq = 0;
	int rc;

	sr_err_clear(&err);
	if (sr_http_json_body(req, resp, &body) != SR_OK)
		return SR_OK;
	rc = sr_json_check_keys(body, "request", keys, &err);
	pr.asked = json_object_get(body, "spec");
	if (rc == SR_OK && !json_is_object(pr.asked))
		rc = sr_fail(&err, SR_EINVAL, "request.spec: expected an object");
	/* Check against the coordinator's head, not a view a sync period
	 * old: a dataset published a moment ago must be seen. */
	if (rc == SR_OK)
		rc = node_sync(n, p, &err);
	if (rc == SR_OK) {
		json_t *probe = NULL;
		/* A malformed spec is the analyst's 400, before any append. */
		rc = build_proposal(&pr, p, &probe, &err);
		json_decref(probe);
		if (rc) {
			json_decref(body);
			json_decref(pr.spec);
			json_decref(pr.verdict);
			return sr_http_error(resp, rc == SR_ENOMEM ? 500 : 400, "%s", err.msg);
		}
	}
	if (rc == SR_OK)
		rc = node_append_built(n, p, SR_EVENT_JOB_PROPOSE, build_proposal, &pr,
				       &seq, id, &err);
	json_decref(body);
	json_decref(pr.spec);
	if (rc) {
		json_decref(pr.verdict);
		return fail(resp, rc, &err);
	}
	sr_hex(hex, id, sizeof(id));
	return created(resp, json_pack("{s:s,s:I,s:o}", "job_id", hex, "seq",
				       (json_int_t)seq, "verdict", pr.verdict));
}

/*
 * An approval is of the exact versions the spec names.  A steward who has
 * republished one of its datasets since the proposal is not asked to
 * approve the old data by accident: the approval is refused, and the job
 * must be proposed again for the new version.
 */
static int own_versions_current(struct sr_node *n, const struct node_project *p,
				const struct sr_ledger_job *job, struct sr_err *err)
{
	json_t *in;
	size_t i;

	json_array_foreach(json_object_get(job->spec, "inputs"), i, in) {
		const char *name = json_string_value(json_object_get(in, "dataset"));
		const char *version = json_string_value(json_object_get(in, "version_id"));
		const struct sr_ledger_dataset *d = name ?
			sr_ledger_dataset_find(&p->ledger, name) : NULL;

		if (d && version && strcmp(d->owner, n->id.org_id) == 0 &&
		    strcmp(d->version_id, version) != 0)
			return sr_fail(err, SR_EEXIST,
				       "job %.16s reads version %.16s of %s, which was republished since (now %.16s): approvals do not carry over; propose the job again",
				       job->id_hex, version, name, d->version_id);
	}
	return SR_OK;
}

/* approve / reject / cancel */
static int api_vote(struct sr_node *n, const char *hex, const char *verb,
		    const struct sr_http_request *req,
		    struct sr_http_response *resp)
{
	static const char *const keys[] = { "reason", NULL };
	uint8_t spec_hash[SR_HASH_BYTES];
	char sh[2 * SR_HASH_BYTES + 1];
	const struct sr_ledger_job *job;
	struct node_project *p;
	const char *reason = NULL;
	struct sr_err err;
	json_t *body = NULL, *ev_body;
	enum sr_event_type type;
	uint64_t seq = 0;
	int rc;

	sr_err_clear(&err);
	if (strcmp(verb, "approve") != 0 &&
	    body_string(req, resp, "reason", keys, 0, &body, &reason) != 0)
		return SR_OK;
	if (reason && !text_ok(reason, SR_EVENT_TEXT_MAX)) {
		json_decref(body);
		return sr_http_error(resp, 400,
				     "request.reason: expected 1 to %d bytes of text without control characters",
				     SR_EVENT_TEXT_MAX);
	}
	rc = node_job_lookup(n, hex, &p, &job, &err);
	if (rc) {
		json_decref(body);
		return fail(resp, rc, &err);
	}
	rc = sr_event_spec_hash(job->spec, spec_hash, &err);
	if (rc) {
		json_decref(body);
		return fail(resp, rc, &err);
	}
	sr_hex(sh, spec_hash, sizeof(spec_hash));
	if (strcmp(verb, "approve") == 0) {
		json_t *verdict = NULL;
		int accept = 0;

		/* This node's own checker decides, whatever the proposal says. */
		rc = node_check(n, p, job->spec, &verdict, &accept, &err);
		if (rc)
			return fail(resp, rc, &err);
		if (!accept) {
			sr_http_error(resp, 409,
				      "this node's security checker refuses job %.16s; it cannot be approved",
				      job->id_hex);
			if (resp->body)
				json_object_set_new(resp->body, "verdict", verdict);
			else
				json_decref(verdict);
			return SR_OK;
		}
		json_decref(verdict);
		rc = own_versions_current(n, p, job, &err);
		if (rc) {
			json_decref(body);
			return sr_http_error(resp, 409, "%s", err.msg);
		}
		type = SR_EVENT_JOB_APPROVE;
		ev_body = json_pack("{s:s,s:s}", "job_id", job->id_hex, "spec_hash", sh);
	} else if (strcmp(verb, "reject") == 0) {
		type = SR_EVENT_JOB_REJECT;
		ev_body = json_pack("{s:s,s:s}", "job_id", job->id_hex, "spec_hash", sh);
		if (ev_body && reason)
			json_object_set_new(ev_body, "reason", json_string(reason));
	} else {
		type = SR_EVENT_JOB_CANCEL;
		ev_body = json_pack("{s:s}", "job_id", job->id_hex);
		if (ev_body && reason)
			json_object_set_new(ev_body, "reason", json_string(reason));
	}
	json_decref(body);
	rc = node_append(n, p, type, ev_body, &seq, NULL, &err);
	if (rc)
		return fail(resp, rc, &err);
	pthread_cond_broadcast(&n->wake);
	return created(resp, json_pack("{s:I}", "seq", (json_int_t)seq));
}

static int api_ledger_verify(struct sr_node *n, struct node_project *p,
			     struct sr_http_response *resp)
{
	struct sr_ledger fresh;
	struct sr_ledger_summary summary;
	struct sr_event *events = NULL;
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0;
	json_t *sum = NULL, *coord = NULL, *ans = NULL;
	struct sr_err err;
	char path[256];
	int rc = SR_OK, status;

	sr_err_clear(&err);
	sr_ledger_init(&fresh);
	if (sqlite3_prepare_v2(n->db, "SELECT wire FROM node_events WHERE project = ?"
			       " ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_fail(&err, SR_EIO, "node.db: %s", sqlite3_errmsg(n->db));
		goto out;
	}
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	while (rc == SR_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *wire = (const char *)sqlite3_column_text(st, 0);
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct sr_event *g = sr_realloc(events, ncap * sizeof(*g));
			if (!g) {
				rc = sr_fail(&err, SR_ENOMEM, "out of memory");
				break;
			}
			events = g;
			cap = ncap;
		}
		sr_event_init(&events[count]);
		rc = sr_event_parse(wire, strlen(wire), &events[count], &err);
		if (rc == SR_OK)
			count++;
	}
	if (rc == SR_OK)
		rc = sr_ledger_verify_all(&fresh, events, count, &summary, &err);
	if (rc == SR_OK)
		rc = sr_ledger_summary_to_json(&summary, &sum, &err);
	if (rc) {
		rc = sr_http_error(resp, rc == SR_ENOMEM ? 500 : 409,
				   "ledger of %s does not verify: %s", p->id, err.msg);
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/projects/%s/head", p->id);
	/* p is not used past the call (node->lock is let go for it). */
	resp->body = json_pack("{s:s,s:b,s:o,s:o}", "project", p->id,
			       "verified", 1, "summary", sum,
			       "error", p->error ? json_string(p->error) : json_null());
	if (node_coord_call_unlocked(n, "GET", path, NULL, 10000, &status, &ans, &err) == SR_OK)
		coord = json_pack("{s:O,s:O}", "next_seq", json_object_get(ans, "next_seq"),
				  "head", json_object_get(ans, "head"));
	else
		coord = json_pack("{s:s}", "error", err.msg);
	if (resp->body)
		json_object_set_new(resp->body, "coordinator", coord ? coord : json_null());
	else
		json_decref(coord);
out:
	json_decref(ans);
	for (size_t i = 0; i < count; i++)
		sr_event_release(&events[i]);
	sr_free(events);
	sqlite3_finalize(st);
	sr_ledger_release(&fresh);
	return rc;
}

static int api_events(struct sr_node *n, struct node_project *p, const char *from_s,
		      struct sr_http_response *resp)
{
	sqlite3_stmt *st = NULL;
	int64_t from;
	json_t *arr;

	if (sr_value_parse_int64(from_s, strlen(from_s), &from) != SR_OK || from < 0)
		return sr_http_error(resp, 400, "FROM: expected an integer from 0");
	arr = json_array();
	if (!arr || sqlite3_prepare_v2(n->db, "SELECT wire FROM node_events WHERE project = ?"
				       " AND seq >= ? ORDER BY seq LIMIT ?", -1, &st,
				       NULL) != SQLITE_OK) {
		json_decref(arr);
		return sr_http_error(resp, 500, "node.db: %s", sqlite3_errmsg(n->db));
	}
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int(st, 3, EVENTS_PER_PAGE);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *wire = (const char *)sqlite3_column_text(st, 0);
		json_t *ev = json_loads(wire, 0, NULL);
		if (ev)
			json_array_append_new(arr, ev);
	}
	sqlite3_finalize(st);
	resp->body = arr;
	return SR_OK;
}

static int api_access_log(struct sr_node *n, struct sr_http_response *resp)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();

	if (!arr || sqlite3_prepare_v2(n->db, "SELECT time, job_id, project, dataset,"
				       " version_id, columns, rows, output_hash FROM"
				       " node_access_log ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return sr_http_error(resp, 500, "node.db: %s", sqlite3_errmsg(n->db));
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(st, 7);
		json_t *cols = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:I,s:o}",
			"time", (json_int_t)sqlite3_column_int64(st, 0),
			"job_id", (const char *)sqlite3_column_text(st, 1),
			"project", (const char *)sqlite3_column_text(st, 2),
			"dataset", (const char *)sqlite3_column_text(st, 3),
			"version_id", (const char *)sqlite3_column_text(st, 4),
			"columns", cols ? cols : json_array(),
			"rows", (json_int_t)sqlite3_column_int64(st, 6),
			"output_hash", hash ? json_string(hash) : json_null()));
	}
	sqlite3_finalize(st);
	resp->body = arr;
	return SR_OK;
}

static int route(struct sr_node *n, const struct sr_http_request *req,
		 struct sr_http_response *resp, enum sr_role role)
{
	const struct sr_ledger_job *job;
	struct node_project *p;
	struct sr_err err;
	struct sr_http_path r;
	int rc, status;

	sr_err_clear(&err);
	if (!sr_http_path_split(req->path, &r))
		return sr_http_error(resp, 404, "no such endpoint: %s %.200s",
				     req->method, req->path);
	if (match(&r, "GET", req, 2, "v1", "status")) {
		resp->body = json_pack("{s:s,s:s,s:s,s:I}", "org_id", n->id.org_id,
				       "name", n->name, "coordinator", n->coord_url,
				       "projects", (json_int_t)n->nprojects);
		return SR_OK;
	}
	if (match(&r, "GET", req, 2, "v1", "invitations")) {
		rc = node_coord_call_unlocked(n, "GET", "/v1/invitations", NULL, 10000,
					      &status, &resp->body, &err);
		if (rc) {
			json_decref(resp->body);
			resp->body = NULL;
			return fail(resp, rc, &err);
		}
		return SR_OK;
	}
	if (match(&r, "GET", req, 2, "v1", "models")) {
		json_t *list = NULL;
		struct sr_err merr;
		if (need_role(resp, role, SR_ROLE_ANALYST, "listing model parts"))
			return SR_OK;
		sr_err_clear(&merr);
		if ((rc = node_models_list(n, &list, &merr)))
			return fail(resp, rc, &merr);
		resp->body = list;
		return SR_OK;
	}
	if (match(&r, "GET", req, 2, "v1", "access-log")) {
		if (role == SR_ROLE_ANALYST)
			return sr_http_error(resp, 403,
					     "the access log needs the admin or steward role (this token is analyst)");
		return api_access_log(n, resp);
	}
	if (match(&r, "POST", req, 2, "v1", "projects")) {
		if (need_role(resp, role, SR_ROLE_ADMIN, "creating a project"))
			return SR_OK;
		return api_project_create(n, req, resp);
	}
	if (match(&r, "GET", req, 2, "v1", "projects")) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n->nprojects; i++)
			if (n->projects[i].ledger.next_seq > 0)
				json_array_append_new(arr, project_row(&n->projects[i]));
		resp->body = arr;
		return SR_OK;
	}
	if (match(&r, "POST", req, 4, "v1", "projects", NULL, "join")) {
		if (need_role(resp, role, SR_ROLE_ADMIN, "joining a project"))
			return SR_OK;
		return api_join(n, r.seg[2], resp);
	}
	if (r.n >= 3 && strcmp(r.seg[1], "projects") == 0) {
		if (!(p = project_or_404(n, r.seg[2], resp)))
			return SR_OK;
		if (match(&r, "GET", req, 3, "v1", "projects", NULL)) {
			json_t *all = NULL;
			char head[SR_EVENT_ID_HEX_LEN + 1];
			rc = sr_ledger_to_json(&p->ledger, &all, &err);
			if (rc)
				return fail(resp, rc, &err);
			sr_hex(head, p->ledger.head, sizeof(p->ledger.head));
			json_object_set_new(all, "sync", json_pack("{s:I,s:s,s:o,s:o}",
				"next_seq", (json_int_t)p->ledger.next_seq, "head", head,
				"error", p->error ? json_string(p->error) : json_null(),
				"storage_error", p->storage_error ?
				json_string(p->storage_error) : json_null()));
			resp->body = all;
			return SR_OK;
		}
		if (match(&r, "POST", req, 4, "v1", "projects", NULL, "invite")) {
			static const char *const keys[] = { "org_id", NULL };
			const char *org;
			json_t *body;
			uint64_t seq = 0;
			if (need_role(resp, role, SR_ROLE_ADMIN, "inviting an organization"))
				return SR_OK;
			if (body_string(req, resp, "org_id", keys, 1, &body, &org) != 0)
				return SR_OK;
			rc = node_append(n, p, SR_EVENT_MEMBER_INVITE,
					 json_pack("{s:s}", "org_id", org), &seq, NULL, &err);
			json_decref(body);
			if (rc)
				return fail(resp, rc, &err);
			return created(resp, json_pack("{s:I}", "seq", (json_int_t)seq));
		}
		if (match(&r, "POST", req, 4, "v1", "projects", NULL, "datasets")) {
			if (need_role(resp, role, SR_ROLE_STEWARD, "publishing a dataset"))
				return SR_OK;
			return api_publish(n, p, req, resp);
		}
		if (match(&r, "POST", req, 4, "v1", "projects", NULL, "jobs")) {
			if (need_role(resp, role, SR_ROLE_ANALYST, "proposing a job"))
				return SR_OK;
			return api_propose(n, p, req, resp);
		}
		if (match(&r, "GET", req, 4, "v1", "projects", NULL, "jobs")) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < p->ledger.njobs; i++) {
				json_t *j = NULL;
				if (job_json(n, p, p->ledger.jobs[i], &j, &err) == SR_OK)
					json_array_append_new(arr, j);
			}
			resp->body = arr;
			return SR_OK;
		}
		if (match(&r, "GET", req, 4, "v1", "projects", NULL, "ledger"))
			return api_ledger_verify(n, p, resp);
		if (match(&r, "GET", req, 5, "v1", "projects", NULL, "events", NULL))
			return api_events(n, p, r.seg[4], resp);
	}
	if (r.n >= 3 && strcmp(r.seg[1], "jobs") == 0) {
		if (match(&r, "GET", req, 3, "v1", "jobs", NULL)) {
			json_t *j = NULL;
			json_t *cv = NULL;
			char path[256], hex[SR_EVENT_ID_HEX_LEN + 1];
			rc = node_job_lookup(n, r.seg[2], &p, &job, &err);
			if (rc == SR_OK)
				rc = job_json(n, p, job, &j, &err);
			if (rc)
				return fail(resp, rc, &err);
			/* The coordinator's own checker verdict: public notice,
			 * informative only (this node decides for itself).  It
			 * never changes, so it is asked for once; copies go out
			 * (the cache is shared between threads). */
			cv = json_object_get(n->coord_verdicts, job->id_hex);
			if (cv) {
				json_object_set_new(j, "coordinator_verdict", json_deep_copy(cv));
				resp->body = j;
				return SR_OK;
			}
			snprintf(hex, sizeof(hex), "%s", job->id_hex);
			snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/verdict",
				 p->id, hex);
			if (node_coord_call_unlocked(n, "GET", path, NULL, 5000, &status,
						     &cv, &err) == SR_OK && cv) {
				json_object_set_new(j, "coordinator_verdict", json_deep_copy(cv));
				if (json_object_size(n->coord_verdicts) < VERDICTS_CACHED)
					json_object_set_new(n->coord_verdicts, hex, cv);
				else
					json_decref(cv);
			} else {
				json_decref(cv);
			}
			resp->body = j;
			return SR_OK;
		}
		if (match(&r, "POST", req, 4, "v1", "jobs", NULL, "approve")) {
			if (need_role(resp, role, SR_ROLE_STEWARD, "approving a job"))
				return SR_OK;
			return api_vote(n, r.seg[2], "approve", req, resp);
		}
		if (match(&r, "POST", req, 4, "v1", "jobs", NULL, "reject")) {
			if (need_role(resp, role, SR_ROLE_STEWARD, "rejecting a job"))
				return SR_OK;
			return api_vote(n, r.seg[2], "reject", req, resp);
		}
		if (match(&r, "POST", req, 4, "v1", "jobs", NULL, "cancel")) {
			if (need_role(resp, role, SR_ROLE_ANALYST, "cancelling a job"))
				return SR_OK;
			return api_vote(n, r.seg[2], "cancel", req, resp);
		}
		if (match(&r, "GET", req, 4, "v1", "jobs", NULL, "model")) {
			json_t *res = NULL;
			if (need_role(resp, role, SR_ROLE_ANALYST, "reading a job's model parts"))
				return SR_OK;
			rc = node_job_lookup(n, r.seg[2], &p, &job, &err);
			if (rc == SR_OK)
				rc = node_job_models(n, job->id_hex, &res, &err);
			if (rc)
				return fail(resp, rc, &err);
			resp->body = res;
			return SR_OK;
		}
		if (match(&r, "GET", req, 4, "v1", "jobs", NULL, "result")) {
			json_t *res = NULL;
			if (need_role(resp, role, SR_ROLE_ANALYST, "reading a job's result"))
				return SR_OK;
			rc = node_job_lookup(n, r.seg[2], &p, &job, &err);
			if (rc)
				return fail(resp, rc, &err);
			rc = node_job_result(n, job->id_hex, &res, &err);
			if (rc)
				return fail(resp, rc, &err);
			resp->body = res;
			return SR_OK;
		}
	}
	return sr_http_error(resp, r.n && strcmp(req->method, "GET") != 0 &&
			     strcmp(req->method, "POST") != 0 ? 405 : 404,
			     "no such endpoint: %s %.200s", req->method, req->path);
}

int node_api_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp)
{
	struct sr_node *n = ctx;
	struct sr_token_info info;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	if (!req->authorization || strncmp(req->authorization, "Bearer ", 7) != 0)
		return sr_http_error(resp, 401,
				     "a token is needed: Authorization: Bearer srt_... (sealroom token create --role ROLE)");
	pthread_mutex_lock(&n->token_lock);
	rc = sr_tokens_check(n->tokens, req->authorization + 7, &info, &err);
	pthread_mutex_unlock(&n->token_lock);
	if (rc)
		return sr_http_error(resp, 401, "%s", err.msg);
	/* Reads take node->lock only; requests that change a project take
	 * the ledger lock, which lets node->lock go while the coordinator
	 * answers (node_int.h, "Locking"). */
	if (strcmp(req->method, "GET") == 0) {
		pthread_mutex_lock(&n->lock);
		rc = route(n, req, resp, info.role);
		pthread_mutex_unlock(&n->lock);
	} else {
		node_ledger_lock(n);
		rc = route(n, req, resp, info.role);
		node_ledger_unlock(n);
	}
	return rc;
}
