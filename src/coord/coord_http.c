/*
 * coord_http.c - the coordinator's HTTP API (docs/api.md, "Coordinator
 * API"): request signatures, routing, and the deliberate faults of
 * --fault applied to what is served.
 */
#include "coord/coord.h"

#include <string.h>
#include <unistd.h>
#include <time.h>

#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "net/coordconn.h"
#include "net/mailwire.h"
#include "net/reqsig.h"
#include "store/value.h"
#include "base/banned.h"

#define EVENTS_PER_PAGE 1000
static int is(const struct sr_http_path *p, size_t n, const char *const *words)
{
	if (p->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (words[i] && strcmp(p->seg[i], words[i]) != 0)
			return 0;
	return 1;
}

static int answer_err(struct sr_http_response *resp, int rc,
		      const struct sr_err *err)
{
	return sr_http_error(resp, sr_coordconn_status(rc), "%s", err->msg);
}

/* Check the request signature against the registered key of its org. */
static int authenticate(struct sr_coord *c, const struct sr_http_request *req,
			struct sr_http_response *resp, char org[SR_ORG_ID_LEN + 1])
{
	struct sr_reqsig rs;
	struct sr_err err;
	uint8_t pk[SR_SIGN_PUBLICKEYBYTES];

	sr_err_clear(&err);
	if (sr_reqsig_parse(req->authorization, &rs, &err) != SR_OK)
		return sr_http_error(resp, 401, "%s", err.msg), -1;
	if (sr_coord_org(c, rs.org_id, NULL, pk, &err) != SR_OK)
		return sr_http_error(resp, 401, "%s (register with POST /v1/orgs first)",
				     err.msg), -1;
	if (sr_reqsig_verify(&rs, pk, req->method, req->path, req->body,
			     req->body_len, (int64_t)time(NULL), &err) != SR_OK)
		return sr_http_error(resp, 401, "%s", err.msg), -1;
	memcpy(org, rs.org_id, SR_ORG_ID_LEN + 1);
	return 0;
}

static int valid_org_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SR_ORG_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int post_org(struct sr_coord *c, const struct sr_http_request *req,
		    struct sr_http_response *resp)
{
	static const char *const keys[] = { "org_id", "name", "sign_pk", "kx_pk", NULL };
	uint8_t spk[SR_SIGN_PUBLICKEYBYTES], kpk[SR_BOX_PUBLICKEYBYTES];
	const char *org_id, *name, *spk_hex, *kpk_hex;
	struct sr_reqsig rs;
	struct sr_err err;
	json_t *body;
	int rc;

	sr_err_clear(&err);
	if (sr_http_json_body(req, resp, &body) != SR_OK)
		return SR_OK;
	rc = sr_json_check_keys(body, "request", keys, &err);
	if (rc == SR_OK)
		rc = sr_json_get_string(body, "request", "org_id", 1, &org_id, &err);
	if (rc == SR_OK)
		rc = sr_json_get_string(body, "request", "name", 1, &name, &err);
	if (rc == SR_OK)
		rc = sr_json_get_string(body, "request", "sign_pk", 1, &spk_hex, &err);
	if (rc == SR_OK)
		rc = sr_json_get_string(body, "request", "kx_pk", 1, &kpk_hex, &err);
	if (rc) {
		json_decref(body);
		return sr_http_error(resp, 400, "%s", err.msg);
	}
	if (!valid_org_name(name)) {
		json_decref(body);
		return sr_http_error(resp, 400,
				     "request.name: expected [a-z][a-z0-9_-]*, at most %d characters",
				     SR_ORG_NAME_MAX);
	}
	if (strlen(spk_hex) != 2 * sizeof(spk) || sr_unhex(spk, sizeof(spk), spk_hex) ||
	    strlen(kpk_hex) != 2 * sizeof(kpk) || sr_unhex(kpk, sizeof(kpk), kpk_hex)) {
		json_decref(body);
		return sr_http_error(resp, 400,
				     "request.sign_pk, request.kx_pk: expected 64 hex digits each");
	}
	rc = sr_reqsig_parse(req->authorization, &rs, &err);
	if (rc == SR_OK && strcmp(rs.org_id, org_id) != 0)
		rc = sr_fail(&err, SR_EPERM,
			     "Authorization: an organization registers only itself (signed by %s, registering %.40s)",
			     rs.org_id, org_id);
	if (rc == SR_OK)
		rc = sr_reqsig_verify(&rs, spk, req->method, req->path, req->body,
				      req->body_len, (int64_t)time(NULL), &err);
	if (rc) {
		json_decref(body);
		return sr_http_error(resp, 401, "%s", err.msg);
	}
	rc = sr_coord_register(c, org_id, name, spk, kpk, &err);
	if (rc == SR_OK) {
		resp->status = 201;
		resp->body = json_pack("{s:s}", "org_id", org_id);
	}
	json_decref(body);
	return rc ? answer_err(resp, rc, &err) : SR_OK;
}

static int post_event(struct sr_coord *c, const struct sr_http_request *req,
		      struct sr_http_response *resp, const char *caller)
{
	char id_hex[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1];
	const char *author;
	struct sr_err err;
	uint64_t seq = 0, next = 0;
	json_t *body;
	int rc;

	sr_err_clear(&err);
	if (sr_http_json_body(req, resp, &body) != SR_OK)
		return SR_OK;
	author = json_string_value(json_object_get(json_object_get(body, "event"),
						   "author"));
	if (author && strcmp(author, caller) != 0) {
		sr_http_error(resp, 403,
			      "event.author: %.40s, but the request is signed by %s (post your own events)",
			      author, caller);
		json_decref(body);
		return SR_OK;
	}
	json_decref(body);
	{
		struct sr_coord_fault f;
		sr_coord_get_fault(c, &f);
		if (f.kind == SR_FAULT_SLOW_APPEND)
			usleep((useconds_t)(f.seq * 1000u));   /* a slow coordinator */
	}
	head[0] = '\0';
	rc = sr_coord_append(c, req->body, req->body_len, &seq, id_hex, head,
			     &next, &err);
	if (rc == SR_EPROTO || rc == SR_EEXIST) {
		sr_http_error(resp, 409, "%s", err.msg);
		if (head[0] && resp->body) {
			json_object_set_new(resp->body, "head", json_string(head));
			json_object_set_new(resp->body, "next_seq",
					    json_integer((json_int_t)next));
		}
		return SR_OK;
	}
	if (rc) {
		/* Every refusal tells the caller where the chain is. */
		answer_err(resp, rc, &err);
		if (head[0] && resp->body) {
			json_object_set_new(resp->body, "head", json_string(head));
			json_object_set_new(resp->body, "next_seq",
					    json_integer((json_int_t)next));
		}
		return SR_OK;
	}
	resp->status = 201;
	resp->body = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "id", id_hex);
	{
		/* A proposal: add the coordinator's own checker verdict. */
		json_t *wire = NULL, *verdict = NULL;
		const char *project;
		struct sr_err e;

		sr_err_clear(&e);
		if (resp->body && sr_json_parse(req->body, req->body_len, "event",
						&wire, &e) == SR_OK &&
		    (project = json_string_value(json_object_get(
			    json_object_get(wire, "event"), "project"))) &&
		    sr_coord_verdict(c, project, id_hex, &verdict, &e) == SR_OK)
			json_object_set_new(resp->body, "verdict", verdict);
		json_decref(wire);
	}
	return SR_OK;
}

/* Apply an event fault to a page of served events. */
static void fault_events(const struct sr_coord_fault *f, json_t *events)
{
	size_t n = json_array_size(events);

	for (size_t i = 0; i < n; i++) {
		json_t *wire = json_array_get(events, i);
		json_t *ev = json_object_get(wire, "event");
		json_int_t seq = json_integer_value(json_object_get(ev, "seq"));

		if ((uint64_t)seq != f->seq)
			continue;
		switch (f->kind) {
		case SR_FAULT_DROP:
			json_array_remove(events, i);
			return;
		case SR_FAULT_ALTER:
			json_object_set_new(ev, "time", json_integer(
				json_integer_value(json_object_get(ev, "time")) + 1));
			return;
		case SR_FAULT_FORGE: {
			struct sr_event e;
			struct sr_err err;
			char hex[SR_EVENT_ID_HEX_LEN + 1];

			sr_event_init(&e);
			if (sr_event_from_json(wire, &e, &err) == SR_OK) {
				e.time++;
				if (sr_event_compute_id(&e, e.id, &err) == SR_OK) {
					json_object_set_new(ev, "time",
							    json_integer((json_int_t)e.time));
					sr_hex(hex, e.id, sizeof(e.id));
					json_object_set_new(wire, "id", json_string(hex));
				}
			}
			sr_event_release(&e);
			return;
		}
		case SR_FAULT_REORDER:
			if (i + 1 < n) {
				json_t *next = json_incref(json_array_get(events, i + 1));
				json_array_remove(events, i + 1);
				json_array_insert_new(events, i, next);
			}
			return;
		default:
			return;
		}
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	int64_t v;

	if (sr_value_parse_int64(s, strlen(s), &v) != SR_OK || v < 0)
		return 0;
	*out = (uint64_t)v;
	return 1;
}

/*
 * How long the caller lets a long-poll wait (SR_COORD_WAIT_HEADER, in
 * ms), at most max_ms; max_ms when the header is missing or malformed.
 * Honouring it keeps the caller's own deadlines: the job channel polls
 * should_abort between fetches of at most SR_JOBCHAN_POLL_MS.
 */
static int requested_wait(const struct sr_http_request *req, int max_ms)
{
	const char *text = sr_http_request_header(req, SR_COORD_WAIT_HEADER);
	uint64_t ms;

	if (!text || !parse_u64(text, &ms) || ms > (uint64_t)max_ms)
		return max_ms;
	return (int)ms;
}

/*
 * What is left of a wait of wait_ms, which the server spends parked
 * (sr_http_defer: no thread is held); 0 when the handler is called
 * directly, which then answers at once.
 */
static int wait_left(const struct sr_http_request *req, int wait_ms)
{
	int64_t left = (int64_t)wait_ms - req->waited_ms;

	return req->may_defer && left > 0 ? (int)left : 0;
}

/*
 * The job mailboxes (docs/api.md): binary bodies, no JSON on the data
 * path (net/mailwire.h).
 *   POST .../mailbox/TO/SEQ      body: the message
 *   GET  .../mailbox/FROM/NEXT   answer: records (seq, len, bytes)
 */
static int mailbox(struct sr_coord *c, const struct sr_http_request *req,
		   struct sr_http_response *resp, const struct sr_http_path *p,
		   const char *caller)
{
	const char *project = p->seg[2], *job = p->seg[4], *peer = p->seg[6];
	struct sr_coord_mailbatch *batch = NULL;
	struct sr_err err;
	uint64_t n;
	int rc;

	sr_err_clear(&err);
	if (strlen(job) != SR_EVENT_ID_HEX_LEN)
		return sr_http_error(resp, 400, "%s: expected a 64-hex-digit job id",
				     req->path);
	if (!parse_u64(p->seg[7], &n))
		return sr_http_error(resp, 400, "%s: %s: expected an integer from 0",
				     req->path, strcmp(req->method, "POST") == 0 ?
				     "SEQ" : "NEXT");
	if (strcmp(req->method, "POST") == 0) {
		const char *type = sr_http_request_header(req, "Content-Type");

		if (type && strcmp(type, SR_MAILWIRE_TYPE) != 0)
			return sr_http_error(resp, 415,
					     "%s: expected a body of type %s (the message itself), got %.60s",
					     req->path, SR_MAILWIRE_TYPE, type);
		if (req->body_len > SR_MAILBOX_MSG_MAX)
			return sr_http_error(resp, 413,
					     "message of %zu bytes is over the mailbox limit of %u bytes",
					     req->body_len, SR_MAILBOX_MSG_MAX);
		/* Full mailboxes: parked until a fetch makes room, or the
		 * room wait is over. */
		rc = sr_coord_mail_post_wait(c, project, job, caller, peer, n,
					     (const uint8_t *)req->body, req->body_len, 0,
					     &err);
		if (rc == SR_ELIMIT) {
			int left = wait_left(req, sr_coord_mail_room_wait_ms(c));
			if (left > 0) {
				sr_http_defer(resp, sr_coord_mail_wake_key(job), left);
				return SR_OK;
			}
		}
		if (rc)
			return answer_err(resp, rc, &err);
		resp->status = 201;
		sr_http_answer_raw(resp, SR_MAILWIRE_TYPE, NULL, 0);
		return SR_OK;
	}
	if (strcmp(req->method, "GET") != 0)
		return sr_http_error(resp, 405, "%s: use GET (fetch) or POST (deposit)",
				     req->path);
	/* Nothing yet: parked until a message comes or the wait is over. */
	rc = sr_coord_mail_fetch(c, project, job, peer, caller, n, 0, &batch, &err);
	if (rc)
		return answer_err(resp, rc, &err);
	if (sr_coord_mailbatch_count(batch) == 0) {
		int left = wait_left(req, requested_wait(req, SR_MAILBOX_WAIT_MS));
		if (left > 0) {
			sr_coord_mailbatch_free(batch);
			sr_http_defer(resp, sr_coord_mail_wake_key(job), left);
			return SR_OK;
		}
	}
	/* Streamed from the batch: the answer is not built a second time. */
	sr_http_answer_stream(resp, SR_MAILWIRE_TYPE, sr_coord_mailbatch_size(batch),
			      sr_coord_mailbatch_read, sr_coord_mailbatch_free, batch);
	return SR_OK;
}

int sr_coord_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp)
{
	static const char *const w_health[] = { "v1", "health" };
	static const char *const w_orgs[] = { "v1", "orgs" };
	static const char *const w_org[] = { "v1", "orgs", NULL };
	static const char *const w_inv[] = { "v1", "invitations" };
	static const char *const w_events[] = { "v1", "events" };
	static const char *const w_heads[] = { "v1", "heads" };
	static const char *const w_head[] = { "v1", "projects", NULL, "head" };
	static const char *const w_evfrom[] = { "v1", "projects", NULL, "events", NULL };
	static const char *const w_mail[] = { "v1", "projects", NULL, "jobs", NULL,
		"mailbox", NULL, NULL };
	static const char *const w_verdict[] = { "v1", "projects", NULL, "jobs", NULL,
		"verdict" };
	struct sr_coord *c = ctx;
	char caller[SR_ORG_ID_LEN + 1];
	struct sr_err err;
	struct sr_http_path p;
	int rc;

	sr_err_clear(&err);
	if (!sr_http_path_split(req->path, &p))
		return sr_http_error(resp, 404, "no such endpoint: %s %.200s",
				     req->method, req->path);
	if (is(&p, 2, w_health)) {
		resp->body = json_pack("{s:b}", "ok", 1);
		return SR_OK;
	}
	if (is(&p, 2, w_orgs)) {
		if (strcmp(req->method, "POST") != 0)
			return sr_http_error(resp, 405, "%s: use POST", req->path);
		return post_org(c, req, resp);
	}
	if (!is(&p, 3, w_org) && !is(&p, 2, w_inv) && !is(&p, 2, w_events) &&
	    !is(&p, 2, w_heads) &&
	    !is(&p, 4, w_head) && !is(&p, 5, w_evfrom) && !is(&p, 8, w_mail) &&
	    !is(&p, 6, w_verdict))
		return sr_http_error(resp, 404, "no such endpoint: %s %.200s",
				     req->method, req->path);
	if (authenticate(c, req, resp, caller) != 0)
		return SR_OK;
	if (is(&p, 2, w_events)) {
		if (strcmp(req->method, "POST") != 0)
			return sr_http_error(resp, 405, "%s: use POST", req->path);
		return post_event(c, req, resp, caller);
	}
	if (is(&p, 8, w_mail))
		return mailbox(c, req, resp, &p, caller);
	if (is(&p, 2, w_heads)) {
		static const char *const keys[] = { "projects", NULL };
		json_t *body;

		if (strcmp(req->method, "POST") != 0)
			return sr_http_error(resp, 405, "%s: use POST", req->path);
		if (sr_http_json_body(req, resp, &body) != SR_OK)
			return SR_OK;
		rc = sr_json_check_keys(body, "request", keys, &err);
		/* No change yet: parked until an append or the wait is over. */
		if (rc == SR_OK)
			rc = sr_coord_heads_wait(c, caller, json_object_get(body, "projects"),
						 0, &resp->body, &err);
		json_decref(body);
		if (rc == SR_OK &&
		    !json_is_true(json_object_get(resp->body, "changed"))) {
			int left = wait_left(req, requested_wait(req, SR_HEADS_WAIT_MS));
			if (left > 0)
				sr_http_defer(resp, SR_COORD_WAKE_HEADS, left);
		}
		return rc ? answer_err(resp, rc, &err) : SR_OK;
	}
	if (strcmp(req->method, "GET") != 0)
		return sr_http_error(resp, 405, "%s: use GET", req->path);
	if (is(&p, 3, w_org)) {
		rc = sr_coord_org(c, p.seg[2], &resp->body, NULL, &err);
		return rc ? answer_err(resp, rc, &err) : SR_OK;
	}
	if (is(&p, 2, w_inv)) {
		rc = sr_coord_invitations(c, caller, &resp->body, &err);
		return rc ? answer_err(resp, rc, &err) : SR_OK;
	}
	rc = sr_coord_can_read(c, p.seg[2], caller, &err);
	if (rc)
		return answer_err(resp, rc, &err);
	if (is(&p, 6, w_verdict)) {
		rc = sr_coord_verdict(c, p.seg[2], p.seg[4], &resp->body, &err);
		return rc ? answer_err(resp, rc, &err) : SR_OK;
	}
	if (is(&p, 4, w_head)) {
		char head[SR_EVENT_ID_HEX_LEN + 1];
		uint64_t next;

		rc = sr_coord_head(c, p.seg[2], &next, head, &err);
		if (rc)
			return answer_err(resp, rc, &err);
		resp->body = json_pack("{s:s,s:I,s:s}", "project", p.seg[2],
				       "next_seq", (json_int_t)next, "head", head);
		return SR_OK;
	}
	{
		struct sr_coord_fault fault;
		uint64_t from;
		json_t *events;

		if (!parse_u64(p.seg[4], &from))
			return sr_http_error(resp, 400,
					     "%s: expected /v1/projects/P/events/FROM with FROM >= 0",
					     req->path);
		rc = sr_coord_events(c, p.seg[2], from, EVENTS_PER_PAGE, &events, &err);
		if (rc)
			return answer_err(resp, rc, &err);
		sr_coord_get_fault(c, &fault);
		fault_events(&fault, events);
		resp->body = events;
		return SR_OK;
	}
}
