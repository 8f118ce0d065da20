/*
 * kindtest.h - a harness that runs a job kind the two ways DESIGN §8 asks
 * to compare: federated (every party's `run` in a thread of its own, with
 * in-memory pipes between the parties and scans of that party's tables
 * only) and central (`run_central` on the pooled tables), then applies
 * `release` to each, so a test can assert that every receiver's federated
 * result equals the plaintext answer.  Row filters of the inputs' policies
 * are applied by the same scans as in the node (kinds/rows.h).
 */
#ifndef SR_KINDTEST_H
#define SR_KINDTEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds/kind.h"
#include "kinds/rows.h"
#include "policy/policy.h"

#define KT_MAX 8
#define KT_KEEP_MAX 4                  /* artifacts a party may keep */

/* One input: its owner (an org id), the table and its bound policy. */
struct kt_input {
	const char *dataset;
	const char *owner;
	struct sr_table table;
	struct sr_policy *policy;
};

struct kt_job {
	const json_t *spec;
	struct kt_input inputs[KT_MAX];
	size_t ninputs;
	/* ctx->load_model (NULL model_job: none): the earlier job of that id
	 * is model_of (its spec and inputs' owners), finished unless its
	 * outcome model failed, and its parts are what model kept.  A party
	 * reads its own; run_central any. */
	const char *model_job;
	const struct kt_job *model_of;
	const struct kt_outcome *model;
};

/* Per receiver (in spec order): the federated and the central result
 * (after release) or the failure of each. */
struct kt_outcome {
	size_t nreceivers;
	const char *receiver[KT_MAX];
	json_t *federated[KT_MAX];
	json_t *central[KT_MAX];
	int federated_rc, central_rc[KT_MAX];
	int party_rc[KT_MAX * 2];          /* per party, in kt_job input order of owners */
	char federated_msg[KT_MAX * 2][256];
	char central_msg[KT_MAX][256];
	/* What each party kept through ctx->keep (in party order), only when
	 * every party succeeded: a failed job keeps nothing. */
	size_t nkept[KT_MAX * 2];
	char kept_name[KT_MAX * 2][KT_KEEP_MAX][64];
	uint8_t *kept[KT_MAX * 2][KT_KEEP_MAX];
	size_t kept_len[KT_MAX * 2][KT_KEEP_MAX];
	size_t nparties;
	const char *party[KT_MAX * 2];     /* org ids, the runner's party order */
};

/* When set, called (under the queue's lock) on every message a party
 * sends to another in kt_run: nth counts the messages from -> to so far;
 * it may change the bytes, shorten *len, or set *twice to deliver the
 * message twice (a replay).  For tests of malformed protocol messages. */
typedef void (*kt_tamper_fn)(size_t from, size_t to, size_t nth, uint8_t *data, size_t *len,
			     int *twice);
extern kt_tamper_fn kt_tamper;
/* When set, kt_run gives the parties no ctx->keep (a runner that keeps
 * nothing). */
extern int kt_no_keep;

/* Run job both ways; fails the test only on harness errors (the kind's
 * own failures are in the outcome). */
void kt_run(const struct kt_job *job, struct kt_outcome *out);
void kt_outcome_release(struct kt_outcome *out);
/* What party org kept under name (NULL if nothing); NUL-terminated. */
const uint8_t *kt_kept(const struct kt_outcome *out, const char *org, const char *name,
		       size_t *len);

/* Results equal with rows compared as sets and meta ignored except the
 * keys listed (NULL-terminated, may be NULL). */
int kt_same_result(const json_t *a, const json_t *b, const char *const *meta_keys);

/* 1 if the verdict has a violation of rule. */
int kt_has_rule(const struct sr_verdict *v, const char *rule);

/* A bound policy from JSON text for names/types (fails the test on error). */
struct sr_policy *kt_policy(const char *text, const char *const *names,
			    const enum sr_type *types, size_t n);
void kt_policy_free(struct sr_policy *p);

#endif
