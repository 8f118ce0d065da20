/*
 * checker.h - the security checker (DESIGN §6): one function from a job
 * spec, the input datasets' schemas and policies to a verdict, accept or a
 * list of violations each naming the dataset, the column, the usage and the
 * rule.  The coordinator runs it to show a verdict on every proposal; every
 * node runs it again, authoritatively, before it touches its data.
 *
 * The mechanism is general: each job kind turns its spec into a list of
 * column usages (this column is used to join, that one to aggregate, ...),
 * its receivers and its kind; generic rules then check each usage against
 * the column's policy, each receiver against each input's receivers, the
 * kind against each input's allowed kinds, and expiry.  Kind-specific rules
 * follow.  Today's kinds: psi.
 *
 * PSI spec (JSON):
 *   { "kind": "psi",
 *     "inputs": [ { "dataset": "bank.customers", "column": "customer_id" },
 *                 { "dataset": "shop.members",   "column": "email" } ],
 *     "mode": "intersection" | "cardinality",
 *     "receivers": [ "org_…" ],
 *     "normalize": [ "trim", "lower", "digits" ] }     (optional)
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

/* The verdict as JSON: {"accept": bool, "violations": [{...}]}. */
json_t *sr_verdict_to_json(const struct sr_verdict *v);

#endif
