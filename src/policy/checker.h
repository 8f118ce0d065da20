/*
 * checker.h - the security checker (DESIGN §6): one function from a job
 * spec, the input datasets' schemas and policies to a verdict, accept or a
 * list of violations each naming the dataset, the column, the usage and the
 * rule.  The coordinator runs it to show a verdict on every proposal; every
 * node runs it again, authoritatively, before it touches its data.
 *
 * The mechanism is general: the job's kind (kinds/kind.h) validates its own
 * spec keys, declares the column usages it makes (this column is used to
 * join, that one to aggregate, ...) and adds its own rules; generic rules
 * then check each usage against the column's policy, each receiver against
 * each input's receivers, the kind against each input's allowed kinds,
 * expiry, version ids and row filters.
 *
 * Generic spec keys (each kind adds its own: docs/internals/kinds.md):
 *   { "kind": "psi",
 *     "inputs": [ { "dataset": "bank.customers", "version_id": "…64 hex…",
 *                   ...kind's input keys... } ],
 *     "receivers": [ "org_…" ], ...kind's keys... }
 * version_id is optional here: the proposing node fills it in from its
 * fold before it signs, and the ledger refuses a proposal whose version is
 * not the one published.
 */
#ifndef SR_CHECKER_H
#define SR_CHECKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "policy/policy.h"

/* One input dataset as the checker sees it (all borrowed). */
struct sr_check_dataset {
	const char *name;              /* "orgname.dataset" as in the spec */
	const char *owner;             /* owning org id */
	const struct sr_policy *policy; /* bound policy: columns with types */
	uint64_t rows;                 /* published row count */
};

struct sr_violation {
	char *dataset;   /* or NULL for spec-level problems */
	char *column;    /* or NULL */
	char *usage;     /* "join", "aggregate", ... or NULL */
	char *rule;      /* short rule id: "usage-not-allowed", "receiver-not-allowed", ... */
	char *message;   /* one line for people */
};

struct sr_verdict {
	int accept;                    /* 1 when there are no violations */
	struct sr_violation *violations;
	size_t count;
};

void sr_verdict_init(struct sr_verdict *v);
void sr_verdict_release(struct sr_verdict *v);

/*
 * Check spec against the datasets it names.  datasets holds every dataset
 * the spec may name (extra ones are ignored).  now is unix seconds (for
 * expiry).  A spec that is malformed (not an object, unknown kind, missing
 * keys, wrong types) is reported as SR_EINVAL with a message naming the key;
 * a well-formed spec that breaks rules gives SR_OK with accept = 0 and the
 * violations.
 */
int sr_check_job(const json_t *spec, const struct sr_check_dataset *datasets,
		 size_t ndatasets, int64_t now, struct sr_verdict *out,
		 struct sr_err *err) SR_WUR;

/*
 * For kinds' check functions: the check in progress.  Pointers returned
 * are valid for the duration of the check.
 */
struct sr_check;
const json_t *sr_check_spec(const struct sr_check *c);
size_t sr_check_ninputs(const struct sr_check *c);
/* Input i's dataset, or NULL when it is not published (already reported). */
const struct sr_check_dataset *sr_check_input(const struct sr_check *c, size_t i);
size_t sr_check_nreceivers(const struct sr_check *c);
const char *sr_check_receiver(const struct sr_check *c, size_t i);
/* Declare that the job uses column of input i for usage (SR_USE_*); the
 * generic rules check it against the column's policy.  column is
 * borrowed and must live as long as the spec. */
int sr_check_use(struct sr_check *c, size_t input, const char *column,
		 enum sr_usage usage, struct sr_err *err) SR_WUR;
/* Record a violation (dataset, column, usage may be NULL). */
int sr_check_violation(struct sr_check *c, const char *dataset,
		       const char *column, const char *usage, const char *rule,
		       struct sr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8))) SR_WUR;

/* The verdict as JSON: {"accept": bool, "violations": [{...}]}. */
json_t *sr_verdict_to_json(const struct sr_verdict *v);

#endif
