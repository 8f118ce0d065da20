/*
 * mailclient.c - a job's mailboxes over the coordinator's HTTP API (see
 * mailclient.h).
 */
#include "net/mailclient.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "net/coordconn.h"
#include "base/banned.h"

#define RETRY_DEFAULT_MS 30000   /* keep trying an unreachable coordinator */

struct sr_mailclient {
	struct sr_coordconn *cc;
	char project[SR_PROJECT_ID_MAX + 1];
	char job_hex[65];
	int retry_ms;
	/* Messages fetched but not yet taken, per peer (one peer at a time
	 * is enough: the cache is keyed by the peer it came from). */
	char cached_from[SR_ORG_ID_LEN + 1];
	json_t *cached;     /* array of {seq, data} */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mail_post(void *ctx, const char *to, uint64_t seq, const uint8_t *msg,
		     size_t len, struct sr_err *err)
{
	struct sr_mailclient *m = ctx;
	size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char path[256], *b64 = sr_malloc(b64len);
	int64_t deadline = now_ms() + m->retry_ms;
	json_t *body;
	int rc, status;

	if (!b64)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sodium_bin2base64(b64, b64len, len ? msg : (const uint8_t *)"", len,
			  sodium_base64_VARIANT_ORIGINAL);
	body = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "data", b64);
	sr_free(b64);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s",
		 m->project, m->job_hex, to);
	for (;;) {
		sr_err_clear(err);
		rc = sr_coordconn_json(m->cc, "POST", path, body, 30000, &status, NULL, err);
		if (rc == SR_EEXIST && status == 409) {
			rc = SR_OK;   /* a retry after a lost answer */
			sr_err_clear(err);
		}
		if ((rc != SR_EIO && rc != SR_ETIMEOUT) || now_ms() > deadline)
			break;
		usleep(200000);   /* coordinator restarting? */
	}
	json_decref(body);
	return rc;
}

static int take_cached(struct sr_mailclient *m, const char *from, uint64_t after,
		       struct sr_buf *msg, uint64_t *seq, struct sr_err *err)
{
	while (m->cached && json_array_size(m->cached) > 0 &&
	       strcmp(m->cached_from, from) == 0) {
		json_t *first = json_array_get(m->cached, 0);
		json_int_t s = json_integer_value(json_object_get(first, "seq"));
		const char *b64 = json_string_value(json_object_get(first, "data"));
		size_t cap, len, b64len;
		int rc;

		if (s < 0 || (after != UINT64_MAX && (uint64_t)s <= after) || !b64) {
			json_array_remove(m->cached, 0);
			continue;
		}
		/* The decoded length exactly (padded base64): a full
		 * fragment fills msg to its cap, so "a few bytes more" does
		 * not fit, and a message over the cap is a limit, not a
		 * lack of memory. */
		b64len = strlen(b64);
		cap = b64len / 4 * 3;
		if (b64len % 4 != 0)
			return sr_fail(err, SR_EPROTO,
				       "mailbox message from %s: data is not base64", from);
		if (b64len >= 1 && b64[b64len - 1] == '=')
			cap -= b64len >= 2 && b64[b64len - 2] == '=' ? 2 : 1;
		if (cap > SR_MAILBOX_MSG_MAX || (msg->max && cap > msg->max))
			return sr_fail(err, SR_ELIMIT,
				       "mailbox message from %s is %zu bytes, over the limit of %zu bytes",
				       from, cap, msg->max && msg->max < SR_MAILBOX_MSG_MAX ?
				       msg->max : (size_t)SR_MAILBOX_MSG_MAX);
		sr_buf_reset(msg);
		rc = sr_buf_grow(msg, cap);
		if (rc == SR_ENOMEM)
			return sr_fail(err, rc, "out of memory");
		if (rc)
			return sr_fail(err, rc, "mailbox message from %s: over the buffer's limit",
				       from);
		if (sodium_base642bin((unsigned char *)msg->data, cap, b64, b64len,
				      NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len != cap)
			return sr_fail(err, SR_EPROTO,
				       "mailbox message from %s: data is not base64", from);
		sr_buf_setlen(msg, len);
		*seq = (uint64_t)s;
		json_array_remove(m->cached, 0);
		return 1;
	}
	return 0;
}

static int mail_fetch(void *ctx, const char *from, uint64_t after,
		      struct sr_buf *msg, uint64_t *seq, int timeout_ms,
		      struct sr_err *err)
{
	struct sr_mailclient *m = ctx;
	int64_t t0 = now_ms();
	char path[256];
	int rc;

	for (;;) {
		json_t *ans = NULL, *msgs;
		int status, wait_ms;

		rc = take_cached(m, from, after, msg, seq, err);
		if (rc == 1)
			return SR_OK;
		if (rc)
			return rc;
		/* The mailbox answers seq >= NEXT; after is UINT64_MAX before
		 * the first message, so NEXT wraps to 0. */
		snprintf(path, sizeof(path), "/v1/projects/%s/jobs/%s/mailbox/%s/%llu",
			 m->project, m->job_hex, from, (unsigned long long)(after + 1));
		/* Wait no longer than the caller may: the job channel polls
		 * should_abort between fetches (SR_JOBCHAN_POLL_MS). */
		wait_ms = timeout_ms - (int)(now_ms() - t0);
		if (wait_ms > SR_MAILBOX_WAIT_MS)
			wait_ms = SR_MAILBOX_WAIT_MS;
		if (wait_ms < 0)
			wait_ms = 0;
		rc = sr_coordconn_json_wait(m->cc, "GET", path, NULL, wait_ms, 10000,
					    &status, &ans, err);
		msgs = json_object_get(ans, "messages");
		if (rc == SR_OK && json_is_array(msgs) && json_array_size(msgs) > 0) {
			json_decref(m->cached);
			m->cached = json_incref(msgs);
			memcpy(m->cached_from, from, sizeof(m->cached_from));
		} else if (rc && rc != SR_EIO && rc != SR_ETIMEOUT) {
			json_decref(ans);
			return rc;
		} else if (rc) {
			usleep(200000);   /* coordinator unreachable: retry */
		}
		json_decref(ans);
		sr_err_clear(err);
		if (!(m->cached && json_array_size(m->cached) > 0) &&
		    now_ms() - t0 >= timeout_ms)
			return sr_fail(err, SR_ETIMEOUT, "no message from %s for %d ms",
				       from, timeout_ms);
	}
}

int sr_mailclient_new(const struct sr_mailclient_params *p,
		      struct sr_mailclient **out, struct sr_err *err)
{
	struct sr_mailclient *m;
	int rc;

	*out = NULL;
	if (!p->project || strlen(p->project) > SR_PROJECT_ID_MAX || !p->job_hex ||
	    strlen(p->job_hex) != 64)
		return sr_fail(err, SR_EINVAL,
			       "mailboxes: expected a project id and a 64-hex-digit job id");
	m = sr_calloc(1, sizeof(*m));
	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_coordconn_new(p->url, p->pin, p->self, &m->cc, err);
	if (rc) {
		sr_free(m);
		return rc;
	}
	memcpy(m->project, p->project, strlen(p->project) + 1);
	memcpy(m->job_hex, p->job_hex, 65);
	m->retry_ms = p->retry_ms > 0 ? p->retry_ms : RETRY_DEFAULT_MS;
	*out = m;
	return SR_OK;
}

void sr_mailclient_ops(struct sr_mailclient *mc, struct sr_mailbox_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->ctx = mc;
	ops->post = mail_post;
	ops->fetch = mail_fetch;
}

void sr_mailclient_free(struct sr_mailclient *mc)
{
	if (!mc)
		return;
	json_decref(mc->cached);
	sr_coordconn_free(mc->cc);
	sr_free(mc);
}
