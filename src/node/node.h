/*
 * node.h - the node service (DESIGN §2, §3): the only place an
 * organization's data is decrypted.  It registers the organization with
 * the coordinator, follows every project it belongs to (downloads the
 * events, verifies each one's link, contents, signature and rights, folds
 * them, and stops following a project whose coordinator served a bad or
 * forked event, reporting why), serves the local API of docs/api.md to the
 * sealroom command, and runs the jobs its own fold says every owner
 * approved (node_job.c).
 */
#ifndef SR_NODE_H
#define SR_NODE_H

#include <stdint.h>

#include "base/err.h"
#include "crypto/masterkey.h"

struct sr_node_config {
	const char *home;          /* node home (sealroom init) */
	const char *listen;        /* local API, HOST:PORT (port 0: any) */
	const char *coordinator;   /* https://HOST:PORT or http://... */
	const char *pin;           /* coordinator's key pin (https) */
	const char *name;          /* organization name; NULL: the stored one */
	unsigned threads;          /* API threads (0: 4) */
	int job_timeout_ms;        /* longest wait for one job message (0: 60 s) */
	const char *data_listen;   /* HOST:PORT where peers may connect for the
				    * direct path of job channels; NULL: none
				    * (the node still connects to peers' ones) */
	const char *data_advertise; /* the address to put in hellos instead of
				     * data_listen's (behind a NAT); NULL: that */
	int append_deadline_ms;    /* how long an append keeps retrying while
				    * the chain moves (0: 30 s) */
	struct sr_tee_executor *executor; /* 'sealroom executor': this node runs
					   * TEE-mode jobs that name it (tee.h;
					   * borrowed, outlives the node), or NULL */
};

struct sr_node;
struct sr_tee_executor;

/* Open the home (mk borrowed, must outlive the node), register with the
 * coordinator, start following and serving.  The organization name is
 * required the first time and stored. */
int sr_node_start(const struct sr_node_config *cfg, const struct sr_masterkey *mk,
		  struct sr_node **out, struct sr_err *err) SR_WUR;

/* The local API's port. */
uint16_t sr_node_port(const struct sr_node *node);
const char *sr_node_org_id(const struct sr_node *node);
const char *sr_node_name(const struct sr_node *node);
/* The direct-path address it advertises, or NULL (no --data-listen). */
const char *sr_node_data_addr(const struct sr_node *node);

/* Stop serving, wait for running jobs, free. */
void sr_node_stop(struct sr_node *node);

/* What the local dataset (its name in the store) of the node whose home
 * is home has spent of its differential-privacy budget: the sum of its
 * charges not refunded, over its life (node.db, read-only; 0 when no node
 * has run there).  For `sealroom dataset show`. */
int sr_node_budget_spent(const char *home, const char *dataset, double *spent,
			 struct sr_err *err) SR_WUR;

#endif
