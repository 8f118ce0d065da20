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
#include "net/http.h"
#include "net/reqsig.h"
#include "base/banned.h"

struct sr_coordconn {
	char *url;                     /* no trailing slash */
	char *pin;                     /* or NULL */
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
	default: return SR_EIO;
	}
}

int sr_coordconn_new(const char *url, const char *pin,
		     const struct sr_identity *id, struct sr_coordconn **out,
		     struct sr_err *err)
{
	struct sr_coordconn *cc;
	size_t len;

	*out = NULL;
	if (!url || !id)
		return sr_fail(err, SR_EINVAL, "coordinator connection: missing URL or identity");
	cc = sr_calloc(1, sizeof(*cc));
	if (!cc || !(cc->url = sr_strdup(url)) || (pin && !(cc->pin = sr_strdup(pin)))) {
		sr_coordconn_free(cc);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	/* Paths start with a slash. */
	len = strlen(cc->url);
	while (len > 0 && cc->url[len - 1] == '/')
		cc->url[--len] = '\0';
	cc->id = id;
	*out = cc;
	return SR_OK;
}

void sr_coordconn_free(struct sr_coordconn *cc)
{
	if (!cc)
		return;
	sr_free(cc->url);
	sr_free(cc->pin);
	sr_free(cc);
}

static int json_call(struct sr_coordconn *cc, const char *method,
		     const char *path, const json_t *body, int wait_ms,
		     int timeout_ms, int *status, json_t **answer,
		     struct sr_err *err)
{
	char auth[SR_REQSIG_MAX], wait[64];
	const char *headers[2] = { NULL, NULL };
	struct sr_http_call_opts opts;
	struct sr_buf url, text;
	json_t *ans = NULL;
	int rc;

	*status = 0;
	if (answer)
		*answer = NULL;
	sr_buf_init(&url, 0);
	sr_buf_init(&text, 0);
	/* The signature covers the exact bytes the HTTP client sends: it
	 * serializes the body with sr_json_dump(body, 0). */
	if (sr_buf_addf(&url, "%s%s", cc->url, path) != SR_OK ||
	    (body && sr_json_dump(body, 0, &text) != SR_OK)) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	sr_reqsig_make(cc->id, method, path, body ? text.data : NULL,
		       body ? text.len : 0, (int64_t)time(NULL), auth);
	memset(&opts, 0, sizeof(opts));
	opts.pin = cc->pin;
	opts.authorization = auth;
	opts.timeout_ms = timeout_ms;
	if (wait_ms >= 0) {
		snprintf(wait, sizeof(wait), SR_COORD_WAIT_HEADER ": %d", wait_ms);
		headers[0] = wait;
		opts.headers = headers;
		opts.timeout_ms = timeout_ms + wait_ms;
	}
	rc = sr_http_call_opts(method, url.data, body, &opts, status, &ans, err);
	if (rc)
		goto out;
	if (*status >= 400) {
		const char *msg = json_string_value(json_object_get(ans, "error"));
		rc = sr_fail(err, sr_coordconn_code(*status), "coordinator: %s",
			     msg ? msg : "HTTP error without a message");
	}
out:
	if (answer)
		*answer = ans;
	else
		json_decref(ans);
	sr_buf_release(&url);
	sr_buf_release(&text);
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
