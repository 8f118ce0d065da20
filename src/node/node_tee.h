/*
 * node_tee.h - TEE mode in the job runner (node_tee.c; docs/tee.md): the
 * two calls node_job.c makes for a job whose spec has "tee".
 */
#ifndef SR_NODE_TEE_H
#define SR_NODE_TEE_H

#include <jansson.h>

#include "base/err.h"
#include "kinds/kind.h"

struct sr_node;
struct node_tee;

/* spec.tee.executor, or NULL when the job is not in TEE mode. */
const char *node_tee_executor(const json_t *spec);

/*
 * Before anything of the job's data moves: at the executor, serve the
 * attestation handshake to every other participant; elsewhere, verify the
 * executor (the nine checks, this party's policies) and give in
 * *start_info what job.start records ({executor, measurements,
 * quote_hash}).  kc is the run's context (its pipes, scans, inputs).
 */
int node_tee_attest(struct sr_node *n, const struct sr_kind_ctx *kc, struct node_tee **out,
		    json_t **start_info, struct sr_err *err) SR_WUR;

/* The job itself: the executor runs the kind centrally on the inputs the
 * owners send and seals each result to its receiver; an owner serves its
 * inputs; a receiver gets *result. */
int node_tee_run(struct node_tee *t, const struct sr_kind_ctx *kc, const struct sr_job_kind *kind,
		 json_t **result, struct sr_err *err) SR_WUR;
void node_tee_free(struct node_tee *t);

#endif
