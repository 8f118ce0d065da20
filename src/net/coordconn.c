/*
 * coordconn.c - signed requests to the coordinator (see coordconn.h).
 */
#include "net/coordconn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "net/reqsig.h"
#include "base/banned.h"


struct sr_coordconn {
	struct sr_http_client *http;
	const struct sr_identity *id;
};

int sr_coordconn_code(int http_status)
{
	switch (http_status) {
	case 400: return SR_EINVAL;
	case 401: case 403: return SR_EPERM;
	case 404: return SR_ENOTFOUND;
	case 409: return SR_EEXIST;
	case 413: return SR_ELIMIT;
	case 429: return SR_ERATE;
	case 507: return SR_ENOSPC;
	default: return SR_EIO;
	}
}

int sr_coordconn_status(int code)
{
	switch (code) {
	case SR_ERATE: return 429;
	case SR_ENOSPC: return 507;
	default: return sr_http_status_for(code);
	}
}

int sr_coordconn_new(const char *url, const char *pin,
		     const struct sr_identity *id, struct sr_coordconn **out,
		     struct sr_err *err)
{
	struct sr_coordconn *cc;
	char *base;
	size_t len;
	int rc;

	*out = NULL;
	if (!url || !id)
		return sr_fail(err, SR_EINVAL, "coordinator connection: missing URL or identity");
	/* Paths start with a slash. */
	base = sr_strdup(url);
	cc = sr_calloc(1, sizeof(*cc));
	if (!base || !cc) {
		sr_free(base);
		sr_free(cc);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';
	rc = sr_http_client_new(base, pin, &cc->http, err);
	sr_free(base);
	if (rc) {
		sr_free(cc);
		return rc;
	}
	cc->id = id;
	*out = cc;
	return SR_OK;
}

void sr_coordconn_free(struct sr_coordconn *cc)
{
	if (!cc)
		return;
	sr_http_client_free(cc->http);
	sr_free(cc);
}

/* The coordinator's {"error": ...} as err, mapped to a status code. */
static int answer_error(const struct sr_http_answer *ans, struct sr_err *err)
{
	json_t *doc = NULL;
	const char *msg = NULL;
	struct sr_err ignored;
	int rc;

	if (ans->body->len &&
	    sr_json_parse(ans->body->data, ans->body->len, "answer", &doc, &ignored) == SR_OK)
		msg = json_string_value(json_object_get(doc, "error"));
	rc = sr_fail(err, sr_coordconn_code(ans->status), "coordinator: %s",
		     msg ? msg : "HTTP error without a message");
	json_decref(doc);
	return rc;
}

int sr_coordconn_call(struct sr_coordconn *cc, const struct sr_coordconn_req *rq,
		      struct sr_http_answer *ans, struct sr_err *err)
{
	char auth[SR_REQSIG_MAX], wait[64];
	const char *headers[2] = { NULL, NULL };
	struct sr_http_req hr;
	int rc;

	/* The signature covers the exact bytes sent. */
	if (!rq->authorization)
		sr_coordconn_sign(cc, rq->method, rq->path, rq->body, rq->body_len, auth);
	memset(&hr, 0, sizeof(hr));
	hr.method = rq->method;
	hr.path = rq->path;
	hr.content_type = rq->content_type;
	hr.body = rq->body;
	hr.body_len = rq->body_len;
	hr.authorization = rq->authorization ? rq->authorization : auth;
	hr.timeout_ms = rq->timeout_ms;
	if (rq->wait_ms >= 0) {
		snprintf(wait, sizeof(wait), SR_COORD_WAIT_HEADER ": %d", rq->wait_ms);
		headers[0] = wait;
		hr.headers = headers;
		hr.timeout_ms += rq->wait_ms;
	}
	rc = sr_http_client_call(cc->http, &hr, ans, err);
	if (rc == SR_OK && ans->status >= 400)
		rc = answer_error(ans, err);
	return rc;
}

void sr_coordconn_sign(const struct sr_coordconn *cc, const char *method,
		       const char *path, const void *body, size_t body_len,
		       char out[SR_REQSIG_MAX])
{
	sr_reqsig_make(cc->id, method, path, body, body ? body_len : 0,
		       (int64_t)time(NULL), out);
}

static int json_call(struct sr_coordconn *cc, const char *method,
		     const char *path, const json_t *body, int wait_ms,
		     int timeout_ms, int *status, json_t **answer,
		     struct sr_err *err)
{
	struct sr_coordconn_req rq;
	struct sr_http_answer ans;
	struct sr_buf text, out;
	json_t *doc = NULL;
	int rc;

	*status = 0;
	if (answer)
		*answer = NULL;
	sr_buf_init(&text, 0);
	sr_buf_init(&out, SR_HTTP_BODY_MAX);
	if (body && sr_json_dump(body, 0, &text) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.content_type = "application/json";
	rq.body = body ? text.data : NULL;
	rq.body_len = text.len;
	rq.wait_ms = wait_ms;
	rq.timeout_ms = timeout_ms;
	memset(&ans, 0, sizeof(ans));
	ans.body = &out;
	rc = sr_coordconn_call(cc, &rq, &ans, err);
	*status = ans.status;
	if ((rc == SR_OK || ans.status >= 400) && out.len) {
		struct sr_err perr;
		sr_err_clear(&perr);
		if (sr_json_parse(out.data, out.len, "answer", &doc, &perr) != SR_OK && rc == SR_OK)
			rc = sr_fail(err, perr.code == SR_ENOMEM ? SR_ENOMEM : SR_EPROTO,
				     "coordinator: %s %s: the answer is not JSON", method, path);
	}
out:
	if (answer)
		*answer = doc;
	else
		json_decref(doc);
	sr_buf_release(&text);
	sr_buf_release(&out);
	return rc;
}

int sr_coordconn_json(struct sr_coordconn *cc, const char *method,
		      const char *path, const json_t *body, int timeout_ms,
		      int *status, json_t **answer, struct sr_err *err)
{
	return json_call(cc, method, path, body, -1, timeout_ms, status, answer, err);
}

int sr_coordconn_json_wait(struct sr_coordconn *cc, const char *method,
			   const char *path, const json_t *body, int wait_ms,
			   int timeout_ms, int *status, json_t **answer,
			   struct sr_err *err)
{
	return json_call(cc, method, path, body, wait_ms < 0 ? 0 : wait_ms, timeout_ms,
			 status, answer, err);
}

void sr_coordconn_wakeup(struct sr_coordconn *cc)
{
	sr_http_client_wakeup(cc->http);
}
