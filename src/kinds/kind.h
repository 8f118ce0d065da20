/*
 * kind.h - a job kind is a module (DESIGN §8; curl's Curl_handler model).
 *
 * Each kind lives in src/kinds/<kind>/ and exports one
 * `const struct sr_job_kind`; the registry (registry.c) lists them.  The
 * job runner (src/node/) and the security checker (src/policy/) hold only
 * the generic lifecycle and rules and call a kind through this struct:
 *
 *   check        validate the kind's own spec keys, declare the column
 *                usages the job makes (sr_check_use) and add the kind's own
 *                rules (sr_check_violation); the generic rules (usages vs
 *                policy, receivers, allowed kinds, expiry, versions, row
 *                filters) follow.  Every shape rule of a kind is written
 *                here, once: the runner runs only specs the checker
 *                accepted.
 *   run          one party's side of the federated protocol, through a
 *                struct sr_kind_ctx: scans of the approved inputs (row
 *                filters applied), pipes to named peers, progress, abort.
 *                At a receiver it returns the result envelope.
 *   run_central  the same answer for one receiver on pooled plaintext:
 *                the test oracle (tests compare it with run on the same
 *                data) and the TEE executor's code path.  Every input is
 *                local to it.
 *   release      the release checks (DESIGN §16) on a result before it
 *                reaches a receiver: may change the result (suppress
 *                groups, say so in meta) or refuse it (SR_EPOLICY, with a
 *                reason that becomes the job's failure).
 *
 * Results share one envelope, rendered generically by the CLI:
 *     {"columns": ["c1", ...], "rows": [[v, ...], ...], "meta": {...}}
 * (plus kind-specific parts).  The runner adds meta.job_id and meta.kind.
 *
 * How to add a kind: docs/internals/kinds.md.
 */
#ifndef SR_KIND_H
#define SR_KIND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/pool.h"
#include "net/pipe.h"
#include "policy/checker.h"
#include "policy/policy.h"
#include "store/vec.h"

struct sr_kind_ctx;

/* ---- reading inputs ------------------------------------------------------- */

/*
 * Rows of one input, batch by batch: the selected columns in the order
 * asked for, and each row's number in the dataset (0-based, before any
 * filter).  The dataset's row_filter has been applied: a row that does
 * not pass it never appears.  Batches, their vectors and row numbers stay
 * valid until the next call of next or close.
 */
struct sr_rows {
	void *impl;
	size_t ncols;
	int (*next)(void *impl, const struct sr_vec **cols,
		    const uint64_t **row_ids, size_t *rows, int *eof,
		    struct sr_err *err);
	void (*close)(void *impl);
};

/* Next batch (see struct sr_rows); *eof set at the end, with *rows 0. */
int sr_rows_next(struct sr_rows *r, const struct sr_vec **cols,
		 const uint64_t **row_ids, size_t *rows, int *eof,
		 struct sr_err *err) SR_WUR;
/* Close; a zeroed struct is fine. */
void sr_rows_close(struct sr_rows *r);

/* ---- the context a kind runs in ----------------------------------------- */

/* One input of the job as the context sees it (all borrowed). */
struct sr_kind_input {
	const char *dataset;            /* "orgname.dataset", as in the spec */
	const char *owner;              /* org id of its owner */
	const json_t *spec;             /* the spec's inputs[i] object */
	const struct sr_policy *policy; /* the published policy, bound */
	int local;                      /* 1 if this party may scan it */
};

struct sr_kind_ctx {
	const json_t *spec;             /* the approved spec (checked) */
	const char *self;               /* this party's org id */
	/* Every participant, each once: the owners of the inputs in input
	 * order, then receivers that own no input. */
	const char *const *parties;
	size_t nparties;
	size_t self_index;              /* index of self in parties */
	const struct sr_kind_input *inputs;
	size_t ninputs;
	const char *const *receivers;   /* as in the spec */
	size_t nreceivers;
	int receiver;                   /* 1 if self is one of them */
	/* The same at every party of this run and at no other run (a hash of
	 * the job, the ledger head and every party's ephemeral key). */
	const uint8_t *session_id;
	size_t session_id_len;
	struct sr_pool *pool;           /* worker threads, may be NULL */

	/* Provided by the runner (node, executor or test harness). */
	void *impl;
	/* Open rows of input i (local only) with the named columns. */
	int (*scan)(void *impl, size_t input, const char *const *columns,
		    size_t ncolumns, struct sr_rows *out, struct sr_err *err);
	/* A pipe to peer (a party's org id) on a logical channel (>= 1). */
	int (*pipe)(void *impl, const char *peer, uint32_t channel,
		    struct sr_pipe *out, struct sr_err *err);
	/* Report a phase (shown to people); done/total may be 0. */
	void (*progress)(void *impl, const char *phase, uint64_t done,
			 uint64_t total);
	/* The 32-byte hash-mask key for dataset and receiver (kinds/mask.h:
	 * sr_mask_derive_key from the owner's mask secret; either may be ""
	 * for a wider hash_scope), refused unless input `input` is local;
	 * NULL when the runner has no mask secret. */
	int (*mask_key)(void *impl, size_t input, const char *dataset,
			const char *receiver, uint8_t key[32], struct sr_err *err);
	/* Nonzero when the job should stop (it ended in the ledger, the node
	 * stops).  Pipes already poll it while they wait. */
	int (*should_abort)(void *impl);
	/* Charge epsilon to the differential-privacy budget of local input
	 * i, atomically, before anything computed from it leaves this party
	 * (DESIGN §16).  SR_EPOLICY naming the budget left when it is short.
	 * Charging the same job twice charges once.  NULL: no budget is kept
	 * (tests, run_central). */
	int (*charge)(void *impl, size_t input, double epsilon, struct sr_err *err);
	/* Keep a private artifact of this job at this party (a model part):
	 * name is the kind's ("secureboost-model"), data is sealed in the
	 * party's store tied to the job id, and kept only if the job
	 * finishes; a failed job keeps nothing.  Calling it again with a name
	 * replaces that artifact.  NULL: the runner keeps nothing, and a kind
	 * that needs it fails with a clear error. */
	int (*keep)(void *impl, const char *name, const void *data, size_t len,
		    struct sr_err *err);
	/* Read what an earlier job of this project kept (a model part):
	 * job is its id (hex).  *train is a new reference to
	 * {"spec": its approved spec, "owners": [each input's owner]};
	 * then, when name is not NULL, *data gets the artifact name that
	 * owner kept of it, in plaintext (the caller wipes it).  The node
	 * reads only its own (owner = self); run_central in the test
	 * harness any input owner's.  SR_ENOTFOUND: "job J is not a
	 * finished train job in this project", "this node holds no part
	 * of model J".  NULL: the runner reads no kept artifact. */
	int (*load_model)(void *impl, const char *job, const char *owner, const char *name,
			  json_t **train, struct sr_buf *data, struct sr_err *err);
	/* run_central in TEE mode: hand the party owner (an input's owner)
	 * the private artifact its own run would have kept through
	 * ctx->keep (a model part).  The executor seals it to that owner,
	 * which keeps it through its keep path, kept only if the job
	 * finishes.  A kind whose run keeps artifacts calls it from
	 * run_central for every owner, once per artifact name (calling it
	 * again replaces).  NULL: the runner hands nothing out (the test
	 * oracle): run_central then keeps nothing. */
	int (*keep_at)(void *impl, const char *owner, const char *name, const void *data,
		       size_t len, struct sr_err *err);
	/* The job key of local input i (sr_kind_owner_key): computed where
	 * the owner's mask secret is.  The executor sets it (it asks the
	 * owner); NULL: sr_kind_owner_key computes it through mask_key. */
	int (*owner_key)(void *impl, size_t input, const char *label, uint8_t key[32],
			 struct sr_err *err);
};

/* Shorthands for kinds. */
int sr_kind_scan(const struct sr_kind_ctx *c, size_t input,
		 const char *const *columns, size_t ncolumns,
		 struct sr_rows *out, struct sr_err *err) SR_WUR;
int sr_kind_pipe(const struct sr_kind_ctx *c, const char *peer,
		 uint32_t channel, struct sr_pipe *out,
		 struct sr_err *err) SR_WUR;
void sr_kind_progress(const struct sr_kind_ctx *c, const char *phase,
		      uint64_t done, uint64_t total);
/* c->charge, or SR_OK when the runner keeps no budget. */
int sr_kind_charge(const struct sr_kind_ctx *c, size_t input, double epsilon,
		   struct sr_err *err) SR_WUR;
/* A 32-byte key of this job only input i's owner can compute: BLAKE2b
 * keyed with its mask key of the dataset (receiver "") over label (with
 * its NUL) and the approved spec without "tee" (compact, sorted keys),
 * so both modes of a spec get the same key.  label starts "sealroom ". */
int sr_kind_owner_key(const struct sr_kind_ctx *c, size_t input, const char *label,
		      uint8_t key[32], struct sr_err *err) SR_WUR;
/* Index of input i's owner in c->parties. */
size_t sr_kind_party_of_input(const struct sr_kind_ctx *c, size_t input);
/* The strictest min_group_size of the inputs' policies (>= 1). */
int64_t sr_kind_min_group_size(const struct sr_kind_ctx *c);

/* The result envelope: {"columns": columns, "rows": rows, "meta": meta}.
 * Steals the three references (NULL meta gives {}); NULL on failure. */
json_t *sr_kind_envelope(json_t *columns, json_t *rows, json_t *meta);

/* ---- the kind itself ------------------------------------------------------ */

/* Flags. */
/* The kind reads its inputs only through ctx->scan, which applies each
 * dataset's row_filter; without it the checker refuses datasets that
 * have a filter (a filter must never fail open). */
#define SR_KIND_ROW_FILTER 0x1u
/* A test-only kind (tests/kinds/): registered only in test binaries. */
#define SR_KIND_TEST 0x2u
/* The kind charges each local input whose policy has dp the spec's
 * "epsilon" (sr_kind_charge) before anything computed from it leaves the
 * party.  The runner then records those charges (spec.epsilon and
 * spec.delta per such input and its owner) in job.finish, or in job.fail
 * when they are refunded (docs/internals/kinds.md). */
#define SR_KIND_DP_CHARGE 0x4u

struct sr_job_kind {
	const char *name;               /* spec.kind */
	/* The policy's "jobs" bit (SR_JOB_*).  0 for test kinds: they are
	 * allowed only by policies that allow every kind. */
	unsigned policy_bit;
	unsigned flags;                 /* SR_KIND_* */
	const char *summary;            /* one line for --help and docs */
	/* Spec keys besides the generic kind, inputs and receivers, and
	 * input keys besides dataset and version_id; NULL-terminated. */
	const char *const *spec_keys;
	const char *const *input_keys;

	int (*check)(struct sr_check *c, struct sr_err *err);
	int (*run)(const struct sr_kind_ctx *c, json_t **result,
		   struct sr_err *err);
	int (*run_central)(const struct sr_kind_ctx *c, json_t **result,
			   struct sr_err *err);
	int (*release)(const struct sr_kind_ctx *c, json_t *result,
		       struct sr_err *err);
};

/* ---- registry.c ----------------------------------------------------------- */

/* The kind named name, or NULL. */
const struct sr_job_kind *sr_kind_find(const char *name);
/* The i-th kind (0-based), or NULL past the end. */
const struct sr_job_kind *sr_kind_at(size_t i);
/* "psi, query" - the registered names, for messages. */
const char *sr_kind_names(void);
/*
 * Add a kind (test binaries: tests/kinds/ register theirs from a
 * constructor).  Not thread-safe: call before any thread starts.  Returns
 * SR_EEXIST for a name already taken, SR_ELIMIT when the table is full.
 */
int sr_kind_register(const struct sr_job_kind *kind) SR_WUR;

#endif
