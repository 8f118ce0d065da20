/*
 * mailclient.h - the mailboxes of one job (net/jobchan.h's
 * sr_mailbox_ops) over the coordinator's HTTP API (docs/api.md, the
 * mailbox rows), with signed requests (net/coordconn.h), retries across a
 * restarting coordinator, one persistent connection per peer and
 * direction, and a send window (post_buf, flush).  The node's job runner uses it
 * (node_mail.c), and so do the tests and bench/dataplane, which run the
 * real job channel through a real coordinator without nodes.
 */
#ifndef SR_MAILCLIENT_H
#define SR_MAILCLIENT_H

#include "base/err.h"
#include "crypto/identity.h"
#include "net/jobchan.h"

/*
 * The send window per peer: messages posted but not yet deposited, on
 * their way in order from a thread of the client's (sr_mailbox_ops
 * post_buf; the sender seals the next messages meanwhile).  Both bound
 * the memory a sender holds.
 */
#define SR_MAILCLIENT_WINDOW_MSGS 64
#define SR_MAILCLIENT_WINDOW_BYTES (16u << 20)

struct sr_mailclient_params {
	const char *url;                 /* the coordinator, https://HOST:PORT */
	const char *pin;                 /* its key pin (net/tls.h) */
	const struct sr_identity *self;  /* signs the requests; borrowed */
	const char *project;             /* copied */
	const char *job_hex;             /* 64 hex digits; copied */
	int retry_ms;                    /* how long to keep retrying an
					  * unreachable coordinator; 0 = 30 s */
};

struct sr_mailclient;

/*
 * Mailboxes of one job.  p->self must outlive the client; the strings are
 * copied.  Nothing is sent until the first post or fetch.
 */
int sr_mailclient_new(const struct sr_mailclient_params *p,
		      struct sr_mailclient **out, struct sr_err *err) SR_WUR;

/* Fill ops with the client's mailbox operations (ops->ctx = mc). */
void sr_mailclient_ops(struct sr_mailclient *mc, struct sr_mailbox_ops *ops);

/* Give what is still in the send windows a few seconds to go out, drop
 * the rest, stop the client's threads and free.  No operation may be in
 * progress.  NULL does nothing. */
void sr_mailclient_free(struct sr_mailclient *mc);

#endif
