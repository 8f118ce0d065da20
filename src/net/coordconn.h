/*
 * coordconn.h - signed requests to the coordinator (docs/api.md, "Signed
 * requests"): every request carries the Authorization header of
 * net/reqsig.h, made with the caller's identity key over the exact bytes
 * sent.  Used by the node (its control-plane calls, its follower) and by
 * the job's mailboxes over HTTP (net/mailclient.h), and by the benches.
 *
 * One sr_coordconn is one caller at a time: it is not thread-safe; give
 * each thread (or each mailbox direction) its own, or serialize.
 */
#ifndef SR_COORDCONN_H
#define SR_COORDCONN_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "crypto/identity.h"
#include "net/http.h"
#include "net/reqsig.h"

/* The header by which a long-poll (a mailbox fetch) says how long the
 * coordinator may wait for something to answer, in ms (docs/api.md). */
#define SR_COORD_WAIT_HEADER "Sealroom-Wait-Ms"

struct sr_coordconn;

/*
 * A connection to the coordinator at url (https://HOST:PORT, or http://
 * for tests) pinned by pin (required for https://, see net/http.h),
 * signing as id.  url and pin are copied; id is borrowed and must outlive
 * the connection.  SR_EINVAL for a malformed URL or pin.
 */
int sr_coordconn_new(const char *url, const char *pin,
		     const struct sr_identity *id, struct sr_coordconn **out,
		     struct sr_err *err) SR_WUR;
/* Close and free.  NULL does nothing. */
void sr_coordconn_free(struct sr_coordconn *cc);

/*
 * Signed JSON call: method and path ("/v1/..."), body may be NULL (no
 * body).  *status gets the HTTP status.  On an HTTP error status the
 * coordinator's message becomes err as "coordinator: MESSAGE", with the
 * code sr_coordconn_code() gives, and *answer (if answer is not NULL)
 * still holds the answer, which may be NULL.  Transport failures are
 * those of sr_http_call_opts (SR_EIO, SR_ETIMEOUT, SR_ECRYPTO for a key
 * that does not match the pin, ...).  Answers are capped at
 * SR_HTTP_BODY_MAX.
 */
int sr_coordconn_json(struct sr_coordconn *cc, const char *method,
		      const char *path, const json_t *body, int timeout_ms,
		      int *status, json_t **answer, struct sr_err *err) SR_WUR;

/* sr_coordconn_json for a long-poll: asks the coordinator to wait up to
 * wait_ms for something to answer (SR_COORD_WAIT_HEADER); the call's
 * timeout is timeout_ms on top of that. */
int sr_coordconn_json_wait(struct sr_coordconn *cc, const char *method,
			   const char *path, const json_t *body, int wait_ms,
			   int timeout_ms, int *status, json_t **answer,
			   struct sr_err *err) SR_WUR;

/* A raw request (the job mailboxes' binary bodies, net/mailwire.h). */
struct sr_coordconn_req {
	const char *method;
	const char *path;
	const char *content_type;   /* of body; NULL: none */
	const void *body;           /* NULL: no body; signed and sent as is */
	size_t body_len;
	int wait_ms;                /* >= 0: a long-poll (SR_COORD_WAIT_HEADER) */
	int timeout_ms;             /* on top of wait_ms */
	const char *authorization;  /* made by sr_coordconn_sign beforehand,
				     * or NULL: signed at the call */
};

/* The Authorization value of a request made now (net/reqsig.h), so that a
 * caller can sign (hash the body) in one thread and send in another.
 * Valid for SR_REQSIG_SKEW_S. */
void sr_coordconn_sign(const struct sr_coordconn *cc, const char *method,
		       const char *path, const void *body, size_t body_len,
		       char out[SR_REQSIG_MAX]);

/*
 * Signed raw call: the answer goes to ans (net/http.h: a 2xx answer to
 * ans->sink if set, else to ans->body, which is required and capped).  An
 * HTTP error status fails as sr_coordconn_json does (the message taken
 * from the JSON error answer in ans->body); ans->status tells it.
 */
int sr_coordconn_call(struct sr_coordconn *cc, const struct sr_coordconn_req *rq,
		      struct sr_http_answer *ans, struct sr_err *err) SR_WUR;

/* Make the call running on cc return SR_ECANCELED at once (or the next
 * one, before sending anything).  Thread-safe (sr_http_client_wakeup). */
void sr_coordconn_wakeup(struct sr_coordconn *cc);

/* The status code for an HTTP error status of the coordinator: 400
 * SR_EINVAL, 401 and 403 SR_EPERM, 404 SR_ENOTFOUND, 409 SR_EEXIST, 413
 * SR_ELIMIT, 429 SR_ERATE (a quota per minute), 507 SR_ENOSPC (its disk
 * below its floor), anything else SR_EIO (worth retrying). */
int sr_coordconn_code(int http_status);

/* The other way, for the coordinator's answers and the node API's that
 * pass them on: sr_http_status_for, and 429 for SR_ERATE, 507 for
 * SR_ENOSPC (docs/operations.md "Quotas"). */
int sr_coordconn_status(int code);

#endif
