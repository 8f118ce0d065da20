/*
 * sql.h - the SQL front end (DESIGN §10; docs/internals/sql.md): a query's
 * text bound against the published schemas of the datasets it names; the
 * column usages and query rules the security checker needs; the plan of
 * what each party computes and what is revealed to whom.
 *
 * A library: it knows nothing of nodes, ledgers or job kinds.  The query
 * kind's check compiles the spec's text, feeds sr_sql_usages to
 * sr_check_use and sr_sql_rules to sr_check_violation (policy/checker.h);
 * its run evaluates the compiled expressions (expr.h) over its scans and
 * the result vectors; `job explain` prints sr_sql_plan.
 *
 * Life cycle: sr_sql_compile (parse.h, then bind) -> sr_sql_query (the
 * bound query, read-only) / sr_sql_usages / sr_sql_rules / sr_sql_plan,
 * any number of times -> sr_sql_free.
 *
 * Every error names the place first, then what was wrong and what was
 * expected: "1:34: expected FROM, got 'FORM'", "2:8: unknown column
 * 'agee' in clinic_a.visits".  Callers add their context in front
 * (sr_err_prefix: "spec.query: 1:34: ...").
 */
#ifndef SR_SQL_H
#define SR_SQL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "expr/expr.h"
#include "policy/policy.h"
#include "sql/parse.h"
#include "store/vec.h"

struct sr_sql;

/* One dataset a query may name. */
struct sr_sql_dataset {
	const char *name;                     /* "org.dataset" */
	/* The party that holds it (an org id), or NULL for the org part of
	 * name.  Inputs with two owners make a query "across parties". */
	const char *owner;
	const struct sr_expr_column *columns; /* its published schema, in order */
	size_t ncolumns;
	const struct sr_policy *policy;       /* its bound policy (not NULL) */
	/* 1 when each identity of the dataset's id column appears in this
	 * dataset and no other input's (so COUNT(DISTINCT id) across parties
	 * is a sum).  No policy key declares it yet: pass 0 until one does. */
	int ids_partitioned;
};

/*
 * Parse text [text, text + len) and bind it against datasets[0..n).
 * Names, owners and schemas are copied; the policies are borrowed and
 * must stay valid and unchanged while the query is used for usages,
 * rules and plans.  Fails with SR_EINVAL (syntax, unknown dataset or
 * column, ambiguous name, type error, UNION ALL of different schemas,
 * nested aggregate, a column neither grouped nor aggregated, ...),
 * SR_ELIMIT (limits.h: text, nesting, inputs, list items, aggregates) or
 * SR_ENOMEM, with "line:col: ..." in err.  On success *out is a new query
 * (sr_sql_free); on failure NULL.
 */
int sr_sql_compile(const char *text, size_t len,
		   const struct sr_sql_dataset *datasets, size_t ndatasets,
		   struct sr_sql **out, struct sr_err *err) SR_WUR;

/* sr_sql_free(NULL) does nothing. */
void sr_sql_free(struct sr_sql *q);

/* ---- the bound query ------------------------------------------------------ */

/* Bit i of a mask: input i. */
#define SR_SQL_INPUT_BIT(i) ((uint64_t)1 << (i))

/* One dataset of FROM. */
struct sr_sql_input {
	size_t dataset;            /* index into the datasets of sr_sql_compile */
	const char *name;          /* "org.dataset" */
	const char *owner;         /* its party */
	const char *alias;         /* or NULL */
	size_t row_offset;         /* its first column in the row schema */
	size_t start, end;         /* its text in the query */
};

/* JOIN ... ON left = right: columns are indices into the inputs' datasets'
 * columns. */
struct sr_sql_join_key {
	size_t left_input, left_column;
	size_t right_input, right_column;
	size_t pos;                /* the '=' */
};

/* One conjunct of WHERE, pushed down to the inputs it reads. */
struct sr_sql_filter {
	const struct sr_expr *expr;   /* predicate over the row schema */
	uint64_t inputs;              /* inputs it applies to (UNION ALL: all) */
	const char *text;             /* as written */
	size_t start, end;
};

/* One GROUP BY expression. */
struct sr_sql_key {
	const struct sr_expr *expr;   /* over the row schema */
	enum sr_type type;            /* of expr: the values the rows give */
	/* A plain column whose policy has a mask at some input: the group is
	 * the masked label (its result column is a string), with this mask
	 * (the first input's that has one); else NULL. */
	const struct sr_policy_column *mask;
	uint64_t inputs;              /* inputs whose columns it reads */
	const char *text;             /* as written: its name in plans */
	size_t start, end;
};

enum sr_sql_agg_kind {
	SR_SQL_COUNT_ROWS = 1,        /* COUNT(*) */
	SR_SQL_COUNT,                 /* COUNT(x): values that are not NULL */
	SR_SQL_COUNT_DISTINCT,
	SR_SQL_SUM, SR_SQL_AVG,
	SR_SQL_VAR_POP, SR_SQL_VAR_SAMP, SR_SQL_STDDEV_POP, SR_SQL_STDDEV_SAMP,
	SR_SQL_MIN, SR_SQL_MAX,
};

/* One distinct aggregate of the query (SELECT, HAVING and ORDER BY share). */
struct sr_sql_agg {
	enum sr_sql_agg_kind kind;
	const struct sr_expr *arg;    /* over the row schema; NULL for COUNT(*) */
	enum sr_type arg_type;        /* of arg (unset for COUNT(*)) */
	enum sr_type type;            /* of the aggregate's value */
	uint64_t inputs;              /* inputs whose columns arg reads */
	const char *text;             /* as written, e.g. "AVG(age)" */
	const char *arg_text;         /* its argument as written, "*" for COUNT(*) */
	size_t start, end;
};

/* One output column. */
struct sr_sql_output {
	const char *name;             /* alias, column name, or the text */
	const struct sr_expr *expr;   /* over the result schema */
	enum sr_type type;
	size_t start, end;
};

struct sr_sql_order_item {
	const struct sr_expr *expr;   /* over the result schema */
	int desc;
	const char *text;
	size_t start, end;
};

/*
 * The bound query.  Two schemas:
 *   rows    what WHERE conjuncts, group keys and aggregate arguments are
 *           compiled against and each party evaluates over its scans: for
 *           one dataset or a UNION ALL the (common) columns of the inputs
 *           (row_offset 0 for all); for a JOIN every input's columns one
 *           after the other.  row_input[c] is the input of row column c
 *           (SR_SQL_EVERY_INPUT in a UNION ALL: every input has it).
 *   result  one row per group: the group keys, then the aggregates; what
 *           outputs, HAVING and ORDER BY are compiled against.  A query
 *           that does not aggregate (no GROUP BY, aggregate or HAVING) has
 *           no result schema: its outputs are over the rows.
 * Everything is owned by the query and valid until sr_sql_free.
 */
#define SR_SQL_EVERY_INPUT ((size_t)-1)

struct sr_sql_query {
	const char *text;
	size_t len;
	enum sr_sql_from_kind from_kind;
	const struct sr_sql_input *inputs;
	size_t ninputs;
	const struct sr_expr_column *row_columns;
	const size_t *row_input;
	size_t nrow_columns;
	const struct sr_sql_join_key *join_keys;
	size_t njoin_keys;
	const struct sr_sql_filter *filters;
	size_t nfilters;
	int aggregated;
	const struct sr_sql_key *keys;
	size_t nkeys;
	const struct sr_sql_agg *aggs;
	size_t naggs;
	const struct sr_expr_column *result_columns;   /* nkeys + naggs */
	const struct sr_sql_output *outputs;
	size_t noutputs;
	const struct sr_expr *having;                  /* or NULL */
	const struct sr_sql_order_item *order;
	size_t norder;
	int has_limit;
	int64_t limit;
};

const struct sr_sql_query *sr_sql_query(const struct sr_sql *q);

/* "COUNT", "SUM", ... "MAX" (COUNT for all three counts). */
const char *sr_sql_agg_name(enum sr_sql_agg_kind kind);

/* ---- usages and rules (§2 of issue 10) ----------------------------------- */

/* A column of an input used in one way; what sr_check_use takes. */
struct sr_sql_usage {
	size_t input;              /* index into the query's inputs */
	size_t dataset;            /* index into the datasets of sr_sql_compile */
	/* The column's name, owned by the input's policy (so it outlives
	 * q, as sr_check_use needs: the checker reads it after the kind's
	 * check returns). */
	const char *column;
	enum sr_usage usage;       /* FILTER, GROUP, AGGREGATE, REVEAL or JOIN */
	size_t pos;                /* where the text uses it first */
};

/*
 * The usages of the query, each (input, column, usage) once:
 *   WHERE                     filter
 *   GROUP BY                  group (a group key may be output: it is the
 *                             key of a released group)
 *   inside an aggregate       aggregate, except in a CASE WHEN condition
 *                             (filter: it selects the rows aggregated) and
 *                             COUNT(DISTINCT c) over a column of class id
 *                             (no usage: the distinct identities are what
 *                             the release threshold counts anyway)
 *   output as is              reveal (queries that do not aggregate; also
 *                             their ORDER BY, which reveals the order)
 *   JOIN ... ON               join, both sides
 * In a UNION ALL every usage is each input's.  *out is a new array of
 * *count items (sr_free; NULL when there are none).
 */
int sr_sql_usages(const struct sr_sql *q, struct sr_sql_usage **out,
		  size_t *count, struct sr_err *err) SR_WUR;

/* A query-specific violation; what sr_check_violation takes. */
struct sr_sql_violation {
	const char *rule;          /* "query-id-column", ... (static) */
	const char *dataset;       /* "org.dataset" (owned by q), or NULL */
	const char *column;        /* owned by q, or NULL (sr_check_violation copies both) */
	enum sr_usage usage;       /* or 0 */
	size_t pos;
	char message[SR_ERR_MSG_MAX];   /* "1:8: ..." */
};

/* sr_sql_rules flags. */
#define SR_SQL_REFUSE_JOIN 1u      /* "JOIN is not supported yet by federated execution" */

/*
 * The query's own rules over its inputs' policies (the generic usage
 * rules are the checker's, from sr_sql_usages); every violation, not the
 * first.  Rule ids (docs/internals/sql.md has the table):
 *   query-not-aggregated          outputs rows, not aggregates
 *   query-join-not-supported      a JOIN, with SR_SQL_REFUSE_JOIN
 *   query-id-column               an id column used other than counted
 *                                 (COUNT(DISTINCT id)) or as a join key
 *   query-group-domain            GROUP BY across parties (or under dp)
 *                                 of a column without a public domain
 *   query-group-domain-too-large  the group domain has more than
 *                                 SR_SQL_GROUPS_MAX groups
 *   query-bounds                  SUM, AVG, VAR, STDDEV of a value that
 *                                 the columns' bounds do not bound
 *   query-min-max-reveal          MIN or MAX of a column without reveal
 *   query-min-max-dp              MIN or MAX of a dataset under dp
 *   query-count-distinct-parties  COUNT(DISTINCT) across parties
 *   query-where-spans-inputs      (JOIN) a WHERE conjunct reads two inputs
 *   query-group-spans-inputs      (JOIN) a group key reads two inputs
 *   query-join-cross-party-aggregate  (JOIN) an aggregate reads two inputs
 * and, for a JOIN without SR_SQL_REFUSE_JOIN (docs/protocols/query-join.md):
 *   query-join-parties            not two datasets of two parties
 *   query-join-keys               not exactly one ON equality, or keys of
 *                                 different types
 *   query-join-group-party        GROUP BY keys of both datasets
 *   query-join-cross-party-aggregate  an aggregate reads both datasets
 *   query-join-aggregate-party    an aggregate reads the dimension holder's
 *                                 (the GROUP BY dataset's) columns
 *   query-join-aggregate-kind     COUNT(DISTINCT), MIN or MAX over a join
 *   query-join-reveals-group-counts  the value holder's join column lacks
 *                                 "join_reveals_group_counts": true
 * *out is a new array (sr_free; NULL when there are none).
 */
int sr_sql_rules(const struct sr_sql *q, unsigned flags,
		 struct sr_sql_violation **out, size_t *count,
		 struct sr_err *err) SR_WUR;

/* ---- what execution needs (the query kind) -------------------------------- */

/*
 * The roles of a two-input JOIN (docs/protocols/query-join.md): *d the
 * dimension holder (owns every GROUP BY column; the left input when there
 * is no GROUP BY and no aggregate reads a column), *v the value holder
 * (the other input).  SR_EINVAL (no message) when the query is not such
 * a join: the rules name why.
 */
int sr_sql_join_roles(const struct sr_sql *q, size_t *d, size_t *v);

/*
 * The public domain of group key k : the distinct values the key
 * takes over the product of its columns' domains (each column's domain is
 * the union of every input's that has it), in the order of first
 * appearance, NULL left out, as a new JSON array in *out.  SR_ENOTFOUND
 * (no message) when a column of the key has no domain in some input's
 * policy; SR_ELIMIT when the product passes SR_SQL_GROUPS_MAX.
 */
int sr_sql_key_domain(const struct sr_sql *q, size_t k, json_t **out,
		      struct sr_err *err) SR_WUR;

/*
 * Bounds of the value aggregate g takes per row at input i ,
 * from the bounds of that input's columns: SR_OK with [*lo, *hi];
 * SR_ENOTFOUND when a numeric column has no bounds or the expression is
 * not one the bounds bound (only + - *, division by a constant, CASE,
 * literals, year and month are).
 */
int sr_sql_agg_bounds(const struct sr_sql *q, size_t g, size_t input,
		      double *lo, double *hi);

/* The id column of input i's policy (its first column of class id), or
 * NULL. */
const char *sr_sql_id_column(const struct sr_sql *q, size_t input);

/* 1 if any input's policy has differential privacy on. */
int sr_sql_under_dp(const struct sr_sql *q);

/* Append a domain value (JSON, as sr_sql_key_domain gives them) to vec,
 * a vector of the key's type.  SR_EINVAL when it does not parse. */
int sr_sql_domain_value_append(struct sr_vec *vec, const json_t *v) SR_WUR;

/* Value r of vec as JSON: null, an integer, a real, a boolean, or text
 * (strings and dates, as sr_vec_format writes them).  NULL when out of
 * memory. */
json_t *sr_sql_value_json(const struct sr_vec *vec, size_t r);

/*
 * The result column (a group key < nkeys, else nkeys + an aggregate) that
 * output i is as it stands (`SELECT region, COUNT(*)`), or SIZE_MAX when
 * it is an expression of them (`COUNT(*) + 1`).
 */
size_t sr_sql_output_column(const struct sr_sql *q, size_t i);

/* ---- the plan ------------------------------------------------------------- */

/*
 * What each party computes and what is revealed to whom, as JSON
 * (docs/internals/sql.md, "Plan"): the shape, each party's pushed-down
 * WHERE and accumulators (clamped to its bounds), the group domain, how
 * the parties' vectors are combined, who learns what, the release step
 * (threshold, HAVING, ORDER BY, LIMIT) and each output's derivation.
 * receivers (may be NULL when none are known yet) are org ids as in the
 * spec.  *out is a new reference.
 */
int sr_sql_plan(const struct sr_sql *q, const char *const *receivers,
		size_t nreceivers, json_t **out, struct sr_err *err) SR_WUR;

/* The plan (from sr_sql_plan) as text for people (`job explain`),
 * appended to out. */
int sr_sql_plan_text(const json_t *plan, struct sr_buf *out,
		     struct sr_err *err) SR_WUR;

#endif
