/*
 * node_int.h - internals shared by the node's files: node.c (state,
 * persistence, the coordinator client, following projects, appending
 * events), node_api.c (the local API) and node_job.c (the job runner).
 *
 * Locking.  node->lock guards the projects (the array, their ledgers and
 * errors), the node database connection and the runner table; it is held
 * only for short work in memory and SQLite, never across a call to the
 * coordinator, so a slow coordinator freezes neither the local API nor a
 * running job's abort check.  node->ledger_lock serializes every change
 * to the projects and their ledgers (sync, append, follow) together with
 * the coordinator calls made for it: node_ledger_lock takes it, then
 * node->lock; node_coord_call, called with both, lets node->lock go for
 * the call, and the project pointers stay valid because nothing changes
 * them without the ledger lock.  Order: ledger_lock before lock, never
 * the other way.  node->store_lock serializes the store; coord_lock the
 * control-plane connection.
 */
#ifndef SR_NODE_INT_H
#define SR_NODE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/limits.h"
#include "crypto/identity.h"
#include "crypto/masterkey.h"
#include "ledger/ledger.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "node/node.h"
#include "node/token.h"
#include "store/store.h"

struct node_project {
	char *id;
	struct sr_ledger ledger;
	char *error;        /* why following stopped (persisted), or NULL */
	char *storage_error; /* why the last events could not be stored (disk
			      * full...), NULL once a write succeeds again */
};

struct node_runner {
	uint8_t job_id[SR_EVENT_ID_BYTES];
	char project[SR_PROJECT_ID_MAX + 1];
	pthread_t thread;
	int done;            /* set by the thread as it exits */
	char progress[128];
	struct node_runner *next;
};

struct sr_node {
	char *home;
	char *coord_url;
	char *pin;
	char *name;
	const struct sr_masterkey *mk;
	struct sr_identity id;
	struct sr_store *store;
	struct sr_tokens *tokens;
	sqlite3 *db;
	char *db_path;

	pthread_mutex_t lock;
	pthread_mutex_t ledger_lock;
	pthread_t ledger_owner;    /* valid while ledger_owned (under lock) */
	int ledger_owned;
	pthread_mutex_t store_lock;
	pthread_mutex_t token_lock;
	pthread_mutex_t coord_lock;    /* serializes calls on coord */
	struct sr_coordconn *coord;    /* control-plane connection (node.c) */
	pthread_mutex_t reads_lock;    /* serializes calls on reads */
	struct sr_coordconn *reads;    /* the local API's reads: never behind
					* an append or a sync on coord */
	json_t *coord_verdicts;        /* job hex -> the coordinator's verdict
					* (it never changes), under lock */
	int append_deadline_ms;
	struct sr_coordconn *follow;   /* the follower's long-poll connection */
	struct sr_direct *direct;      /* job channels' direct path (net/direct.h) */
	pthread_cond_t wake;       /* follower: stop requested or sync wanted */
	struct node_project *projects;
	size_t nprojects;
	struct node_runner *runners;
	int stopping;
	int recovered;             /* restart recovery done */
	pthread_t follower;
	int follower_started;
	struct sr_http_server *server;
	int job_timeout_ms;
	struct sr_tee_executor *executor;  /* or NULL (node.h) */
};

/* ---- node.c ---- */

/* Take node->ledger_lock, then node->lock (see "Locking" above). */
void node_ledger_lock(struct sr_node *n);
void node_ledger_unlock(struct sr_node *n);

/* node_coord_call for a caller that holds node->lock without the ledger
 * lock (a read-only API request): the lock is let go for the call, so the
 * caller must not use project pointers it took before (find them again).
 * It goes over a connection of its own (node->reads), so a read never
 * waits for an append's or a sync's coordinator call. */
int node_coord_call_unlocked(struct sr_node *n, const char *method,
			     const char *path, const json_t *body,
			     int timeout_ms, int *status, json_t **answer,
			     struct sr_err *err) SR_WUR;

/* Call the coordinator with a signed request.  body may be NULL.  On an
 * HTTP error status the coordinator's message becomes err (mapped to a
 * status code: 400 EINVAL, 401/403 EPERM, 404 ENOTFOUND, 409 EEXIST,
 * 413 ELIMIT, else EIO) and *answer still holds the answer (may be NULL
 * when the caller does not want it). */
int node_coord_call(struct sr_node *n, const char *method, const char *path,
		    const json_t *body, int timeout_ms, int *status,
		    json_t **answer, struct sr_err *err) SR_WUR;

/* Lock held.  Project by id, or NULL. */
struct node_project *node_project_find(struct sr_node *n, const char *id);

/* Ledger lock held.  Fetch, verify and fold new events of p. */
int node_sync(struct sr_node *n, struct node_project *p,
	      struct sr_err *err) SR_WUR;

/* Ledger lock held.  Build, sign and append one event to p (created for
 * project.create by the caller), retrying after syncing when another
 * event got in first: at once the first time, then after a pause that
 * doubles with jitter, as long as the chain moves and within the
 * append deadline (--append-deadline); the error then names how many
 * tries it made and the coordinator's last reason.  body is stolen.
 * *seq gets its seq, id its id. */
int node_append(struct sr_node *n, struct node_project *p,
		enum sr_event_type type, json_t *body, uint64_t *seq,
		uint8_t id[SR_EVENT_ID_BYTES], struct sr_err *err) SR_WUR;

/* Ledger lock held.  node_append with the body built by build(ctx, p, &body)
 * before each try, so that a body that depends on the project's state
 * (a proposal's versions and verdict) is made again after a sync. */
int node_append_built(struct sr_node *n, struct node_project *p,
		      enum sr_event_type type,
		      int (*build)(void *ctx, struct node_project *p,
				   json_t **body, struct sr_err *err),
		      void *ctx, uint64_t *seq, uint8_t id[SR_EVENT_ID_BYTES],
		      struct sr_err *err) SR_WUR;

/* Ledger lock held.  Start following a project (adds it, persisted). */
int node_follow(struct sr_node *n, const char *project,
		struct node_project **out, struct sr_err *err) SR_WUR;

/* Ledger lock held.  Drop a project added by node_follow that never got an
 * event (a failed create or join). */
void node_unfollow_empty(struct sr_node *n, struct node_project *p);

/* Lock held.  Build the checker inputs for spec from p's published
 * datasets, check, and return the verdict as JSON (*verdict_json) and
 * whether it accepts.  SR_EINVAL for a malformed spec. */
int node_check(struct sr_node *n, struct node_project *p, const json_t *spec,
	       json_t **verdict_json, int *accept, struct sr_err *err) SR_WUR;

/* Lock held.  Find a job by id or unique hex prefix (>= 8 digits) over
 * every project. */
int node_job_lookup(struct sr_node *n, const char *hex,
		    struct node_project **p, const struct sr_ledger_job **job,
		    struct sr_err *err) SR_WUR;

/* ---- node_mail.c ---- */

struct node_mail;
struct sr_mailbox_ops;

/* Mailboxes of one job over the coordinator: fills ops (ops->ctx is the
 * new *out).  project and job_hex are borrowed and must outlive it. */
int node_mail_new(struct sr_node *n, const char *project, const char *job_hex,
		  struct node_mail **out, struct sr_mailbox_ops *ops,
		  struct sr_err *err) SR_WUR;
void node_mail_free(struct node_mail *m);

/* ---- node_api.c ---- */
int node_api_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp);

/* ---- node_job.c ---- */

/* Ledger lock held.  Start runners for jobs this node takes part in that its own
 * fold says may run; at the first call after start, end with job.fail the
 * jobs a previous run of the node left half done. */
void node_jobs_kick(struct sr_node *n);

/* Lock held.  Local runner state of a job as JSON (or NULL). */
json_t *node_job_local(struct sr_node *n, const uint8_t job_id[SR_EVENT_ID_BYTES]);

/* Wait for every runner (at stop). */
void node_jobs_join(struct sr_node *n);

/* The stored result of a job for this organization, decrypted. */
/* The model parts this node keeps (ctx->keep): [{job_id, project, name,
 * created, bytes}], and one job's, decrypted: {job_id, parts: [{name,
 * part}]} (SR_ENOTFOUND when there are none). */
int node_models_list(struct sr_node *n, json_t **out, struct sr_err *err) SR_WUR;
int node_job_models(struct sr_node *n, const char *job_hex, json_t **out,
		    struct sr_err *err) SR_WUR;
int node_job_result(struct sr_node *n, const char *job_hex, json_t **out,
		    struct sr_err *err) SR_WUR;

/* Lock held.  This organization's side of job's privacy budget, for
 * GET /v1/jobs/ID: per own input under dp, {dataset, epsilon_total,
 * charged, state, spent, left}.  NULL when out of memory. */
json_t *node_job_budget(struct sr_node *n, const struct node_project *p,
			const struct sr_ledger_job *job);
/* Lock held, inside the transaction that stores a job.fail: give back
 * this organization's budget charges of job when the event refunds them
 * (its "refunded" names this organization). */
int node_job_failed(struct sr_node *n, const struct sr_ledger_job *job,
		    struct sr_err *err) SR_WUR;
/* Lock held, inside the transaction that stores the job.finish: complete
 * the access log.  A failed write is returned (the caller undoes the
 * fold). */
int node_job_finished(struct sr_node *n, const struct sr_ledger_job *job,
		      struct sr_err *err) SR_WUR;

#endif
