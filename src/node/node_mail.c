/*
 * node_mail.c - the job channel's mailboxes (net/jobchan.h's
 * sr_mailbox_ops) for the node's job runner: the mailbox client of
 * net/mailclient.h, signing as this node, at its coordinator.
 */
#include "node/node_int.h"

#include "base/alloc.h"
#include "net/jobchan.h"
#include "net/mailclient.h"
#include "base/banned.h"

struct node_mail {
	struct sr_mailclient *mc;
};

int node_mail_new(struct sr_node *n, const char *project, const char *job_hex,
		  struct node_mail **out, struct sr_mailbox_ops *ops,
		  struct sr_err *err)
{
	struct sr_mailclient_params p = {
		.url = n->coord_url, .pin = n->pin, .self = &n->id,
		.project = project, .job_hex = job_hex,
	};
	struct node_mail *m = sr_calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_mailclient_new(&p, &m->mc, err);
	if (rc) {
		sr_free(m);
		return rc;
	}
	sr_mailclient_ops(m->mc, ops);
	ops->direct = n->direct;   /* the direct path where peers can be reached */
	*out = m;
	return SR_OK;
}

void node_mail_free(struct node_mail *m)
{
	if (!m)
		return;
	sr_mailclient_free(m->mc);
	sr_free(m);
}
