/*
 * sql_int.h - internals shared by bind.c (text -> bound query), rules.c
 * (usages and rules) and plan.c (the plan); not part of the API.
 *
 * The bound query keeps its parse tree: the usages walk it (a CASE
 * condition inside an aggregate is a filter, its values are aggregated),
 * the rules walk it (bounds of an aggregated expression, the columns of a
 * group key) and the plan quotes it.  Everything lives in one arena but
 * the compiled expressions, which are listed in exprs to be freed.
 */
#ifndef SR_SQL_INT_H
#define SR_SQL_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "sql/parse.h"
#include "sql/sql.h"

/* What the binder keeps of each input's dataset. */
struct sql_source {
	const char *org;                   /* the parts of its name */
	const char *dataset;
	struct sr_expr_column *columns;    /* copies */
	size_t ncolumns;
	const struct sr_policy *policy;    /* borrowed */
	int ids_partitioned;
};

struct sr_sql {
	struct sr_arena arena;             /* tree, names, arrays */
	char *text;
	size_t len;
	struct sr_sql_stmt *stmt;
	struct sr_sql_query view;

	struct sr_sql_input *inputs;
	struct sql_source *sources;        /* [ninputs] */
	size_t ninputs;
	size_t nparties;                   /* distinct owners of the inputs */

	struct sr_expr_column *row_columns;
	size_t *row_input;                 /* SR_SQL_EVERY_INPUT or an input */
	size_t *row_column;                /* column of that input's dataset */
	size_t nrow;

	struct sr_sql_join_key *join_keys;
	size_t njoin_keys;

	struct sr_sql_filter *filters;
	const struct sr_ast **filter_ast;
	size_t nfilters;

	int aggregated;
	struct sr_sql_key *keys;
	const struct sr_ast **key_ast;
	size_t nkeys;
	struct sr_sql_agg *aggs;
	const struct sr_ast **agg_ast;     /* the call nodes */
	size_t naggs;
	struct sr_expr_column *result_columns;

	struct sr_sql_output *outputs;
	const struct sr_ast **output_ast;
	size_t noutputs;
	struct sr_expr *having;
	const struct sr_ast *having_ast;
	struct sr_sql_order_item *order;
	const struct sr_ast **order_ast;
	size_t norder;

	struct sr_expr **exprs;            /* every compiled expression, heap */
	size_t nexprs, exprs_room;
};

/*
 * The row column a column reference names (err NULL: no message, for
 * lookups that may fail).  Errors: unknown or ambiguous column, unknown
 * qualifier, a qualifier in a UNION ALL, a full name for an aliased
 * dataset.
 */
int sr_sql_resolve_row(const struct sr_sql *q, const struct sr_ast *a,
		       size_t *row, struct sr_err *err) SR_WUR;

/* Structural equality of two trees of the query, column references equal
 * when they name the same row column. */
int sr_sql_ast_equal(const struct sr_sql *q, const struct sr_ast *x,
		     const struct sr_ast *y);

/* Fail with "LINE:COL: ..." at byte offset at of the query text. */
int sr_sql_fail(const struct sr_sql *q, size_t at, struct sr_err *err,
		int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Same as sr_sql_fail, into a violation's message. */
void sr_sql_where(const struct sr_sql *q, size_t at, char *out, size_t size);

/* The policy column of input i's dataset named like row column c, or
 * NULL. */
const struct sr_policy_column *sr_sql_policy_column(const struct sr_sql *q,
						    size_t input, size_t row);

/* The inputs row column c belongs to, as a mask. */
uint64_t sr_sql_row_inputs(const struct sr_sql *q, size_t row);

/* Row column of a column reference of the bound tree (it resolved once:
 * a failure now is a bug). */
size_t sr_sql_row_of(const struct sr_sql *q, const struct sr_ast *a);

/* The input whose policy governs row column row when read for input:
 * input itself in a UNION ALL (every input has the column), the column's
 * own in a JOIN. */
size_t sr_sql_own_input(const struct sr_sql *q, size_t row, size_t input);

/* The distinct row columns group key k reads, in a new array (sr_free). */
int sr_sql_key_columns(const struct sr_sql *q, size_t k, size_t **rows,
		       size_t *n, struct sr_err *err) SR_WUR;

/* Number of inputs in a mask. */
unsigned sr_sql_popcount(uint64_t mask);

#endif
