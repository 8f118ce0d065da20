/*
 * policy.h - the dataset policy model (DESIGN §6): per-column sensitivity
 * class, allowed usages, bounds, public domain and mask; per-dataset group
 * size threshold, differential-privacy budget, receivers, job kinds, row
 * filter and expiry.
 *
 * Life cycle: sr_policy_init -> sr_policy_parse (from the steward's JSON
 * file) or sr_policy_from_classes (from --classify-by-name) ->
 * sr_policy_bind (against the dataset's columns and types) ->
 * sr_policy_to_json (the normalized form stored in the manifest and
 * published) -> sr_policy_release.
 *
 * Every error names the key that is wrong, e.g.
 *     "policy.json: columns.salary.bounds: lower bound 10 is above upper bound 5"
 */
#ifndef SR_POLICY_H
#define SR_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/value.h"

enum sr_class {
	SR_CLASS_NONE = 0,    /* not classified: always an error at bind */
	SR_CLASS_ID = 1,      /* direct identifier */
	SR_CLASS_QI = 2,      /* quasi-identifier */
	SR_CLASS_SA = 3,      /* sensitive attribute */
	SR_CLASS_PUBLIC = 4,
};

enum sr_usage {
	SR_USE_JOIN = 1u << 0,
	SR_USE_FILTER = 1u << 1,
	SR_USE_GROUP = 1u << 2,
	SR_USE_AGGREGATE = 1u << 3,
	SR_USE_REVEAL = 1u << 4,
	SR_USE_FEATURE = 1u << 5,
	SR_USE_LABEL = 1u << 6,
	SR_USE_ALL = (1u << 7) - 1,
};

enum sr_job_bit {
	SR_JOB_PSI = 1u << 0,
	SR_JOB_QUERY = 1u << 1,
	SR_JOB_TRAIN = 1u << 2,
	SR_JOB_PREDICT = 1u << 3,
	SR_JOB_ANONYMIZE = 1u << 4,
	SR_JOB_ALL = (1u << 5) - 1,
};

enum sr_mask_kind {
	SR_MASK_NONE = 0,
	SR_MASK_HASH = 1,      /* "hash" */
	SR_MASK_TRUNCATE = 2,  /* "truncate:N", keep the first N characters */
	SR_MASK_RANGE = 3,     /* "range:W", numeric buckets of width W */
};

enum sr_hash_scope {
	SR_HASH_PER_RECEIVER = 0,   /* "receiver": per dataset and receiver (default) */
	SR_HASH_PER_DATASET = 1,    /* "dataset": every receiver of the dataset alike */
	SR_HASH_PER_OWNER = 2,      /* "owner": every dataset of the owner alike */
};

struct sr_policy_column {
	char *name;
	enum sr_class cls;
	unsigned allow;           /* SR_USE_* bits; class default if not given */
	int has_type;             /* "type" given: overrides inference */
	enum sr_type type;        /* declared, or the bound type after bind */
	int has_bounds;
	double lo, hi;            /* "bounds": [lo, hi], numeric columns only */
	json_t *domain;           /* "domain": array of distinct values, or NULL */
	enum sr_mask_kind mask;
	double mask_param;        /* N for truncate, W for range */
	/* "generalize": the qi column's hierarchy (src/anon/hier.h forms),
	 * normalized (non-whole numbers as decimal strings), or NULL. */
	json_t *generalize;
	/* "hash_scope" of a hash mask (kinds/mask.h): which releases share
	 * hash keys, and so can be joined on this column. */
	enum sr_hash_scope hash_scope;
	/* "join_reveals_group_counts": true on a join column of the value
	 * holder: a query JOIN on this column may let the other party (the
	 * dimension holder, who matches blinded keys) learn the number of
	 * matches in each of its groups (docs/protocols/query-join.md). */
	int join_reveals_group_counts;
	int has_nulls;            /* "nulls" given: replaces the dataset's */
	char **nulls;             /* null tokens of this column (nnulls) */
	size_t nnulls;
};

struct sr_policy_dp {
	int enabled;
	double epsilon_total;
	double epsilon_max_per_job;
	double delta;
};

/* The "tee" section (docs/tee.md): whether the dataset may go to an
 * attested executor (TEE mode), the CAs its EK certificate must chain to
 * (PEM text, public) and the executor measurements trusted (SHA-256
 * digests of what the executor extends into its PCR: binary, config). */
#define SR_POLICY_TEE_CA_MAX 8
#define SR_POLICY_TEE_CA_BYTES_MAX 8192
#define SR_POLICY_TEE_MEASUREMENTS_MAX 32
struct sr_policy_tee {
	int allow;
	char **ca;                /* nca PEM certificates */
	size_t nca;
	uint8_t (*measurements)[32];
	size_t nmeasurements;
};

struct sr_policy {
	struct sr_policy_column *columns;
	size_t ncolumns;
	int64_t min_group_size;   /* >= 1; default 1 (no threshold) */
	/* "ids_partitioned": true declares that an identity of the id column
	 * appears in this owner's data only (a patient at one clinic), so
	 * distinct identities across parties are a sum; default false. */
	int ids_partitioned;
	struct sr_policy_dp dp;
	struct sr_policy_tee tee; /* allow 0 unless the section says so */
	char **receivers;         /* org ids; none = only the owner */
	size_t nreceivers;
	unsigned jobs;            /* SR_JOB_* bits; default SR_JOB_ALL */
	char *row_filter;         /* predicate text (docs/internals/expr.md) or NULL */
	int64_t expires;          /* unix seconds, 0 = never */
	char **nulls;             /* "nulls": tokens read as NULL at import,
				   * besides the empty unquoted field */
	size_t nnulls;
};

void sr_policy_init(struct sr_policy *pol);
void sr_policy_release(struct sr_policy *pol);

/*
 * Parse a policy document.  what names the source in messages.  Unknown
 * keys, classes, usages, types, masks and job kinds fail, as do values of
 * the wrong JSON type, bounds with lo > hi, non-finite numbers, duplicate
 * domain values, dp with epsilon <= 0 or delta outside [0, 1), and
 * epsilon_max_per_job > epsilon_total.  pol must be initialized; on failure
 * it is left empty.
 */
int sr_policy_parse(const char *text, size_t len, const char *what,
		    struct sr_policy *pol, struct sr_err *err) SR_WUR;

/*
 * Make a policy with one column per name, classified by name
 * (sr_policy_classify_by_name) and class default usages.  A name that
 * matches no rule fails with SR_EPOLICY, listing the unclassified columns.
 */
int sr_policy_from_names(const char *const *names, size_t count,
			 struct sr_policy *pol, struct sr_err *err) SR_WUR;

/*
 * Classify a column by its name (case-insensitive, on words separated by
 * '_', '-', ' ' or camelCase): identifiers (id, *_id, email, phone, ssn,
 * passport, name, ...) -> ID; quasi-identifiers (age, birth*, dob, zip,
 * postcode, gender, sex, city, region, country, ...) -> QI; sensitive
 * attributes (salary, income, balance, amount, diagnosis, ...) -> SA.
 * Returns SR_CLASS_NONE when no rule matches.
 */
enum sr_class sr_policy_classify_by_name(const char *name);

/*
 * Bind a parsed policy to a dataset's columns, in the dataset's order.
 * types[i] is the type of names[i] (already overridden by any "type" in the
 * policy; see sr_policy_type_override).  Fails if the policy names a column
 * the dataset lacks, if a dataset column is not classified, if bounds or a
 * range mask are given on a non-numeric column, a truncate mask on a
 * non-string column, if a domain value does not match the column type, or
 * if the row_filter does not compile against the columns (src/expr; the
 * message is "policy: row_filter: LINE:COL: ...").  On success the policy's columns are reordered to the dataset's order and
 * each carries its type.
 */
int sr_policy_bind(struct sr_policy *pol, const char *const *names,
		   const enum sr_type *types, size_t count,
		   struct sr_err *err) SR_WUR;

/* If the policy declares a type for column name, store it in *type and
 * return 1; else return 0. */
int sr_policy_type_override(const struct sr_policy *pol, const char *name,
			    enum sr_type *type);

/*
 * Null tokens (docs/policy.md): "nulls" lists the unquoted field texts
 * that import reads as NULL, besides the empty unquoted field, which is
 * always NULL; a quoted field is always a value.  A column's own "nulls"
 * replaces the dataset's list for that column ("nulls": [] for none).
 *
 * Check one token: 1 to SR_NULL_TOKEN_MAX bytes, UTF-8, no NUL, CR or LF.
 * what and path name the place in messages ("p.json", "nulls[2]";
 * "--null" and "" for the command line).
 */
int sr_policy_null_token_check(const char *what, const char *path,
			       const char *s, size_t len,
			       struct sr_err *err) SR_WUR;

/* Add tokens to the dataset's list (those already there are skipped),
 * checking each; what names their source ("--null"). */
int sr_policy_add_nulls(struct sr_policy *pol, const char *what,
			const char *const *tokens, size_t count,
			struct sr_err *err) SR_WUR;

/* The null tokens that apply to column name: its own, else the
 * dataset's.  *tokens is borrowed from pol. */
void sr_policy_column_nulls(const struct sr_policy *pol, const char *name,
			    char *const **tokens, size_t *count);

struct sr_anon_hier;

/*
 * The hierarchy of a bound column's "generalize" key, parsed for its
 * type (*out NULL when it has none); free it with sr_anon_hier_free.
 * Import checks every value with sr_anon_hier_check; errors read
 * "policy: columns.NAME.generalize: level L: ...".
 */
int sr_policy_hierarchy(const struct sr_policy_column *c, enum sr_type type,
			struct sr_anon_hier **out, struct sr_err *err) SR_WUR;

/*
 * Give column `column` of a parsed (not yet bound) policy the explicit
 * hierarchy in a CSV file's text: a header line naming the levels, then
 * per value the value and its label at each level (the top "*" may be
 * left out).  It becomes {"hierarchy": {...}} in the column's
 * "generalize", and so is stored in the manifest.  what names the file.
 * Fails when the column is not in the policy, is not qi, or already has a
 * "generalize" key.
 */
int sr_policy_set_hierarchy_csv(struct sr_policy *pol, const char *column,
				const char *text, size_t len, const char *what,
				struct sr_err *err) SR_WUR;

/* A number as policies and job specs write them (events allow no JSON
 * reals): an integer, a finite real, or a decimal string ("0.5").
 * SR_EINVAL naming what and path otherwise. */
int sr_policy_number(const json_t *v, const char *what, const char *path,
		     double *out, struct sr_err *err) SR_WUR;

/* "sha256:" and 64 lowercase hex digits: a measurement as policies and
 * specs write it.  SR_EINVAL naming what and path otherwise. */
#define SR_POLICY_MEASUREMENT_TEXT_MAX 71
int sr_policy_measurement_parse(const json_t *v, const char *what,
				const char *path, uint8_t out[32],
				struct sr_err *err) SR_WUR;
void sr_policy_measurement_format(const uint8_t m[32],
				  char out[SR_POLICY_MEASUREMENT_TEXT_MAX + 1]);
/* 1 if m is in the policy's tee measurements. */
int sr_policy_tee_trusts(const struct sr_policy *pol, const uint8_t m[32]);

/* Column by name, or NULL. */
const struct sr_policy_column *sr_policy_column(const struct sr_policy *pol,
						const char *name);

/*
 * Normalized JSON form, with every default made explicit.  It is valid
 * canonical JSON (DESIGN §4): non-integer numbers are written as decimal
 * strings with the shortest round-trip representation, and sr_policy_parse
 * accepts that form back, giving an equal policy.  *out is a new reference.
 */
int sr_policy_to_json(const struct sr_policy *pol, json_t **out,
		      struct sr_err *err) SR_WUR;

/* Names: "id", "qi", "sa", "public"; "join", "filter", ...; "psi", ... */
const char *sr_class_name(enum sr_class cls);
unsigned sr_class_default_allow(enum sr_class cls);
const char *sr_usage_name(enum sr_usage usage);
const char *sr_job_kind_name(enum sr_job_bit kind);

#endif
