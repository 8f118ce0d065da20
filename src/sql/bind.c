/*
 * bind.c - a parsed query bound against the published schemas (sql.h):
 * datasets and aliases resolved, UNION ALL schemas compared, JOIN keys
 * checked, and every expression typed and compiled by src/expr through
 * a resolver (expr.h) that gives names and aggregates their meaning:
 *
 *   row scope     WHERE conjuncts, JOIN ... ON, GROUP BY keys and the
 *                 arguments of aggregates, over the row schema: column
 *                 references (bare, a.col, org.dataset.col) resolve to a
 *                 row column; an aggregate is an error naming the clause.
 *   result scope  SELECT items, HAVING and ORDER BY of a query that
 *                 aggregates, over the result schema (keys, aggregates):
 *                 a subtree equal to a GROUP BY key is that key, an
 *                 aggregate is its column, any other column reference is
 *                 an error ("neither grouped nor aggregated").
 *
 * Aggregates are collected from the tree before anything is compiled, so
 * the result schema is complete when outputs are bound.
 */
#include "sql/sql.h"
#include "sql/sql_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "expr/lex.h"
#include "base/banned.h"

/* ---- helpers -------------------------------------------------------------- */

int sr_sql_fail(const struct sr_sql *q, size_t at, struct sr_err *err,
		int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = sr_lex_vfail(q->text, q->len, at, err, code, fmt, ap);
	va_end(ap);
	return code;
}

void sr_sql_where(const struct sr_sql *q, size_t at, char *out, size_t size)
{
	unsigned long line, col;

	sr_lex_where(q->text, q->len, at, &line, &col);
	snprintf(out, size, "%lu:%lu: ", line, col);
}

static int arena_rc(struct sr_err *err, int rc)
{
	if (rc == SR_ELIMIT)
		return sr_fail(err, rc, "query too large: it needs more than %u bytes",
			       (unsigned)SR_EXPR_TREE_BYTES_MAX);
	if (rc)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

static int zalloc(struct sr_sql *q, size_t count, size_t size, void **out,
		  struct sr_err *err)
{
	return arena_rc(err, sr_arena_alloc(&q->arena, (count ? count : 1) * size, out));
}

static int dup(struct sr_sql *q, const char *s, size_t len, const char **out,
	       struct sr_err *err)
{
	char *p = NULL;
	int rc = arena_rc(err, sr_arena_strndup(&q->arena, s, len, &p));

	*out = p;
	return rc;
}

/* The text [start, end) of the query with every run of white space made
 * one space: how an expression names itself in plans and outputs. */
static int dup_text(struct sr_sql *q, size_t start, size_t end,
		    const char **out, struct sr_err *err)
{
	char *p = NULL;
	size_t n = 0;
	int rc = zalloc(q, end - start + 1, 1, (void **)&p, err);

	if (rc)
		return rc;
	for (size_t i = start; i < end; i++) {
		char c = q->text[i];
		int space = c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			    c == '\f' || c == '\v';
		if (space && (n == 0 || p[n - 1] == ' '))
			continue;
		p[n++] = space ? ' ' : c;
	}
	while (n > 0 && p[n - 1] == ' ')
		n--;
	p[n] = '\0';
	*out = p;
	return SR_OK;
}

/* Keep a compiled expression to free it with the query. */
static int keep(struct sr_sql *q, struct sr_expr *e, struct sr_err *err)
{
	if (q->nexprs == q->exprs_room) {
		size_t room = q->exprs_room ? q->exprs_room * 2 : 16;
		struct sr_expr **bigger = sr_realloc(q->exprs, room * sizeof(*bigger));
		if (!bigger) {
			sr_expr_free(e);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		q->exprs = bigger;
		q->exprs_room = room;
	}
	q->exprs[q->nexprs++] = e;
	return SR_OK;
}

/* A name written in the query matches have: exactly, or ignoring ASCII
 * case when it was not quoted. */
static int name_eq(const char *have, const char *p, size_t len, int quoted)
{
	if (strlen(have) != len)
		return 0;
	return memcmp(have, p, len) == 0 || (!quoted && strncasecmp(have, p, len) == 0);
}

/* How messages name input i: its alias, else its dataset. */
static const char *label(const struct sr_sql *q, size_t i)
{
	return q->inputs[i].alias ? q->inputs[i].alias : q->inputs[i].name;
}

uint64_t sr_sql_row_inputs(const struct sr_sql *q, size_t row)
{
	if (q->row_input[row] == SR_SQL_EVERY_INPUT)
		return q->ninputs == 64 ? ~(uint64_t)0 : SR_SQL_INPUT_BIT(q->ninputs) - 1;
	return SR_SQL_INPUT_BIT(q->row_input[row]);
}

const struct sr_policy_column *sr_sql_policy_column(const struct sr_sql *q,
						    size_t input, size_t row)
{
	return sr_policy_column(q->sources[input].policy, q->row_columns[row].name);
}

/* ---- names ---------------------------------------------------------------- */

/*
 * Column of cols that a names, as src/expr resolves: the exact name, else
 * the one column equal to it ignoring case (bare names only).  SR_OK,
 * SR_ENOTFOUND (no message) or SR_EINVAL (ambiguous, with message).
 */
static int find_column(const struct sr_sql *q, const struct sr_expr_column *cols,
		       size_t ncols, const struct sr_ast *a, size_t *out,
		       struct sr_err *err)
{
	char shown[SR_LEX_SHOWN_SIZE], c1[SR_LEX_SHOWN_SIZE], c2[SR_LEX_SHOWN_SIZE];
	size_t found = ncols, second = ncols, len = a->v.str.len;

	for (size_t i = 0; i < ncols; i++)
		if (strlen(cols[i].name) == len && memcmp(cols[i].name, a->v.str.p, len) == 0) {
			*out = i;
			return SR_OK;
		}
	for (size_t i = 0; !a->quoted && i < ncols; i++) {
		if (!name_eq(cols[i].name, a->v.str.p, len, 0))
			continue;
		if (found == ncols)
			found = i;
		else if (second == ncols)
			second = i;
	}
	if (found < ncols && second < ncols)
		return sr_sql_fail(q, a->pos, err, SR_EINVAL,
				   "column name '%s' is ambiguous: it matches '%s' and '%s' (write the exact name in double quotes)",
				   sr_lex_shown(a->v.str.p, len, shown),
				   sr_lex_shown(cols[found].name, strlen(cols[found].name), c1),
				   sr_lex_shown(cols[second].name, strlen(cols[second].name), c2));
	if (found == ncols)
		return SR_ENOTFOUND;
	*out = found;
	return SR_OK;
}

/* The input the qualifiers of column reference a name. */
static int find_input(const struct sr_sql *q, const struct sr_ast *a,
		      size_t *out, struct sr_err *err)
{
	char shown[SR_LEX_SHOWN_SIZE], name[SR_LEX_SHOWN_SIZE];
	const struct sr_ast_name *qn = a->qual;

	for (size_t i = 0; i < q->ninputs; i++) {
		const struct sr_sql_input *in = &q->inputs[i];
		if (a->nqual == 1 && in->alias &&
		    name_eq(in->alias, qn[0].p, qn[0].len, qn[0].quoted)) {
			*out = i;
			return SR_OK;
		}
		if (a->nqual == 1 && !in->alias &&
		    name_eq(q->sources[i].dataset, qn[0].p, qn[0].len, qn[0].quoted)) {
			*out = i;
			return SR_OK;
		}
		if (a->nqual == 2 &&
		    name_eq(q->sources[i].org, qn[0].p, qn[0].len, qn[0].quoted) &&
		    name_eq(q->sources[i].dataset, qn[1].p, qn[1].len, qn[1].quoted)) {
			if (in->alias)
				return sr_sql_fail(q, a->pos, err, SR_EINVAL,
						   "%s is called '%s' in this query: write %s.%s",
						   in->name, in->alias, in->alias,
						   sr_lex_shown(a->v.str.p, a->v.str.len, shown));
			*out = i;
			return SR_OK;
		}
	}
	sr_lex_shown(q->text + a->start, a->end - a->start, shown);
	if (a->nqual == 1)
		return sr_sql_fail(q, a->pos, err, SR_EINVAL,
				   "'%s' in '%s' names no dataset or alias of FROM",
				   sr_lex_shown(qn[0].p, qn[0].len, name), shown);
	return sr_sql_fail(q, a->pos, err, SR_EINVAL,
			   "'%s' names a column of a dataset that is not in FROM", shown);
}

int sr_sql_resolve_row(const struct sr_sql *q, const struct sr_ast *a,
		       size_t *row, struct sr_err *err)
{
	char shown[SR_LEX_SHOWN_SIZE], whole[SR_LEX_SHOWN_SIZE];
	size_t input = 0, col = 0, found_in = q->ninputs, found_col = 0;
	int rc;

	if (a->kind != SR_AST_COLUMN)
		return sr_fail(err, SR_EINTERNAL, "sql: not a column reference");
	sr_lex_shown(a->v.str.p, a->v.str.len, shown);
	if (a->nqual) {
		if (q->stmt->from_kind == SR_SQL_FROM_UNION)
			return sr_sql_fail(q, a->pos, err, SR_EINVAL,
					   "in a UNION ALL a column belongs to every input: write '%s', not '%s'",
					   shown, sr_lex_shown(q->text + a->start,
							       a->end - a->start, whole));
		rc = find_input(q, a, &input, err);
		if (rc)
			return rc;
		rc = find_column(q, q->sources[input].columns, q->sources[input].ncolumns,
				 a, &col, err);
		if (rc == SR_ENOTFOUND)
			return sr_sql_fail(q, a->pos, err, SR_EINVAL,
					   "unknown column '%s' in %s", shown,
					   q->inputs[input].name);
		if (rc)
			return rc;
		*row = q->inputs[input].row_offset + col;
		return SR_OK;
	}
	if (q->stmt->from_kind != SR_SQL_FROM_JOIN) {
		rc = find_column(q, q->row_columns, q->nrow, a, row, err);
		if (rc == SR_ENOTFOUND)
			return sr_sql_fail(q, a->pos, err, SR_EINVAL,
					   q->ninputs == 1 ? "unknown column '%s' in %s" :
					   "unknown column '%s' in the inputs of the UNION ALL (%s, ...)",
					   shown, q->inputs[0].name);
		return rc;
	}
	for (input = 0; input < q->ninputs; input++) {
		rc = find_column(q, q->sources[input].columns, q->sources[input].ncolumns,
				 a, &col, err);
		if (rc == SR_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		if (found_in < q->ninputs)
			return sr_sql_fail(q, a->pos, err, SR_EINVAL,
					   "column name '%s' is ambiguous: %s and %s both have it (write %s.%s or %s.%s)",
					   shown, label(q, found_in), label(q, input),
					   label(q, found_in), shown, label(q, input), shown);
		found_in = input;
		found_col = col;
	}
	if (found_in == q->ninputs)
		return sr_sql_fail(q, a->pos, err, SR_EINVAL,
				   "unknown column '%s' in the joined datasets", shown);
	*row = q->inputs[found_in].row_offset + found_col;
	return SR_OK;
}

/* Structural equality, with column references equal when they name the
 * same row column: how a SELECT item is found to be a GROUP BY key. */
int sr_sql_ast_equal(const struct sr_sql *q, const struct sr_ast *x,
		     const struct sr_ast *y)
{
	size_t rx, ry;

	if (x->kind != y->kind || x->negated != y->negated || x->flags != y->flags ||
	    x->func != y->func || x->nargs != y->nargs)
		return 0;
	switch (x->kind) {
	case SR_AST_NULL:
		return 1;
	case SR_AST_BOOL:
		return (x->v.b != 0) == (y->v.b != 0);
	case SR_AST_INT:
		return x->v.i == y->v.i;
	case SR_AST_FLOAT:
		return x->v.f == y->v.f && signbit(x->v.f) == signbit(y->v.f);
	case SR_AST_DATE:
		return x->v.date == y->v.date;
	case SR_AST_STRING:
		return x->v.str.len == y->v.str.len &&
		       memcmp(x->v.str.p, y->v.str.p, x->v.str.len) == 0;
	case SR_AST_COLUMN:
		return sr_sql_resolve_row(q, x, &rx, NULL) == SR_OK &&
		       sr_sql_resolve_row(q, y, &ry, NULL) == SR_OK && rx == ry;
	default:
		for (size_t i = 0; i < x->nargs; i++)
			if (!sr_sql_ast_equal(q, x->args[i], y->args[i]))
				return 0;
		return 1;
	}
}

/* ---- scopes (resolvers) --------------------------------------------------- */

struct scope {
	struct sr_sql *q;
	const char *clause;     /* where the expression is, for messages */
	uint64_t inputs;        /* row scope: the inputs it reads */
};

static int resolve_in_rows(void *ctx, const struct sr_ast *a, size_t *column,
			   struct sr_err *err)
{
	struct scope *s = ctx;
	const char *name = sr_ast_func_name(a->func);
	int rc;

	if (a->kind == SR_AST_COLUMN) {
		rc = sr_sql_resolve_row(s->q, a, column, err);
		if (rc == SR_OK)
			s->inputs |= sr_sql_row_inputs(s->q, *column);
		return rc;
	}
	if (!sr_ast_is_aggregate(a))
		return SR_OK;
	if (strcmp(s->clause, "an aggregate") == 0)
		return sr_sql_fail(s->q, a->pos, err, SR_EINVAL,
				   "aggregate %s() cannot be nested inside another aggregate",
				   name);
	if (strcmp(s->clause, "WHERE") == 0)
		return sr_sql_fail(s->q, a->pos, err, SR_EINVAL,
				   "aggregate %s() is not allowed in WHERE (filter groups with HAVING)",
				   name);
	return sr_sql_fail(s->q, a->pos, err, SR_EINVAL,
			   "aggregate %s() is not allowed in %s", name, s->clause);
}

static int resolve_in_result(void *ctx, const struct sr_ast *a, size_t *column,
			     struct sr_err *err)
{
	struct scope *s = ctx;
	struct sr_sql *q = s->q;
	char shown[SR_LEX_SHOWN_SIZE];
	size_t row;
	int rc;

	for (size_t k = 0; k < q->nkeys; k++)
		if (sr_sql_ast_equal(q, a, q->key_ast[k])) {
			*column = k;
			return SR_OK;
		}
	if (sr_ast_is_aggregate(a)) {
		for (size_t g = 0; g < q->naggs; g++)
			if (sr_sql_ast_equal(q, a, q->agg_ast[g])) {
				*column = q->nkeys + g;
				return SR_OK;
			}
		return sr_fail(err, SR_EINTERNAL, "sql: an aggregate was not collected");
	}
	if (a->kind != SR_AST_COLUMN)
		return SR_OK;
	rc = sr_sql_resolve_row(q, a, &row, err);
	if (rc)
		return rc;
	return sr_sql_fail(q, a->pos, err, SR_EINVAL,
			   "column '%s' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate",
			   sr_lex_shown(q->text + a->start, a->end - a->start, shown));
}

/* Compile a in the row scope (predicate: flags), inputs it reads in *inputs. */
static int compile_rows(struct sr_sql *q, const struct sr_ast *a,
			const char *clause, unsigned flags, struct sr_expr **out,
			uint64_t *inputs, struct sr_err *err)
{
	struct scope s = { .q = q, .clause = clause };
	struct sr_expr_resolver r = { .ctx = &s, .resolve = resolve_in_rows };
	int rc;

	rc = sr_expr_bind_with(a, q->text, q->len, q->row_columns, q->nrow, flags, &r,
			       out, err);
	if (rc == SR_OK)
		rc = keep(q, *out, err);
	if (rc == SR_OK && inputs)
		*inputs = s.inputs;
	return rc;
}

/* Compile a over the result (a query that aggregates) or the rows. */
static int compile_output(struct sr_sql *q, const struct sr_ast *a,
			  const char *clause, unsigned flags, struct sr_expr **out,
			  struct sr_err *err)
{
	struct scope s = { .q = q, .clause = clause };
	struct sr_expr_resolver r = { .ctx = &s, .resolve = resolve_in_result };
	int rc;

	if (!q->aggregated)
		return compile_rows(q, a, clause, flags, out, NULL, err);
	rc = sr_expr_bind_with(a, q->text, q->len, q->result_columns,
			       q->nkeys + q->naggs, flags, &r, out, err);
	return rc ? rc : keep(q, *out, err);
}

/* ---- FROM ----------------------------------------------------------------- */

static int bind_inputs(struct sr_sql *q, const struct sr_sql_dataset *ds,
		       size_t nds, struct sr_err *err)
{
	const struct sr_sql_stmt *st = q->stmt;
	char shown[SR_LEX_SHOWN_SIZE];
	int rc;

	q->ninputs = st->nfrom;
	rc = zalloc(q, q->ninputs, sizeof(*q->inputs), (void **)&q->inputs, err);
	if (rc == SR_OK)
		rc = zalloc(q, q->ninputs, sizeof(*q->sources), (void **)&q->sources, err);
	for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
		const struct sr_sql_table *t = &st->from[i];
		struct sr_sql_input *in = &q->inputs[i];
		struct sql_source *src = &q->sources[i];
		size_t d, exact = nds, folded = nds, org_len = 0;
		const char *dot;

		for (d = 0; d < nds; d++) {
			const char *n = ds[d].name;
			const char *sep = strchr(n, '.');
			if (!sep)
				continue;
			if ((size_t)(sep - n) == t->org.len && strlen(sep + 1) == t->dataset.len &&
			    memcmp(n, t->org.p, t->org.len) == 0 &&
			    memcmp(sep + 1, t->dataset.p, t->dataset.len) == 0)
				exact = d;
			else if (folded == nds && (size_t)(sep - n) == t->org.len &&
				 strlen(sep + 1) == t->dataset.len &&
				 (!t->org.quoted && strncasecmp(n, t->org.p, t->org.len) == 0) &&
				 (!t->dataset.quoted &&
				  strncasecmp(sep + 1, t->dataset.p, t->dataset.len) == 0))
				folded = d;
		}
		d = exact < nds ? exact : folded;
		if (d == nds) {
			char org[SR_LEX_SHOWN_SIZE];
			return sr_sql_fail(q, t->start, err, SR_EINVAL,
					   "unknown dataset '%s.%s'",
					   sr_lex_shown(t->org.p, t->org.len, org),
					   sr_lex_shown(t->dataset.p, t->dataset.len, shown));
		}
		if (!ds[d].policy || (!ds[d].columns && ds[d].ncolumns))
			return sr_fail(err, SR_EINVAL, "sql: dataset %s has no policy or schema",
				       ds[d].name);
		for (size_t k = 0; k < i; k++) {
			if (q->inputs[k].dataset == d)
				return sr_sql_fail(q, t->start, err, SR_EINVAL,
						   "%s is named twice in FROM (each input is a different dataset)",
						   ds[d].name);
			if (t->alias.p && q->inputs[k].alias &&
			    name_eq(q->inputs[k].alias, t->alias.p, t->alias.len, 0))
				return sr_sql_fail(q, t->alias.pos, err, SR_EINVAL,
						   "alias '%s' is used twice in FROM",
						   sr_lex_shown(t->alias.p, t->alias.len, shown));
		}
		in->dataset = d;
		in->start = t->start;
		in->end = t->end;
		dot = strchr(ds[d].name, '.');
		org_len = (size_t)(dot - ds[d].name);
		rc = dup(q, ds[d].name, strlen(ds[d].name), &in->name, err);
		if (rc == SR_OK)
			rc = dup(q, ds[d].name, org_len, &src->org, err);
		if (rc == SR_OK)
			rc = dup(q, dot + 1, strlen(dot + 1), &src->dataset, err);
		if (rc == SR_OK && ds[d].owner)
			rc = dup(q, ds[d].owner, strlen(ds[d].owner), &in->owner, err);
		else if (rc == SR_OK)
			in->owner = src->org;
		if (rc == SR_OK && t->alias.p)
			rc = dup(q, t->alias.p, t->alias.len, &in->alias, err);
		if (rc == SR_OK)
			rc = zalloc(q, ds[d].ncolumns, sizeof(*src->columns),
				    (void **)&src->columns, err);
		for (size_t c = 0; rc == SR_OK && c < ds[d].ncolumns; c++) {
			src->columns[c].type = ds[d].columns[c].type;
			rc = dup(q, ds[d].columns[c].name, strlen(ds[d].columns[c].name),
				 &src->columns[c].name, err);
		}
		src->ncolumns = ds[d].ncolumns;
		src->policy = ds[d].policy;
		src->ids_partitioned = ds[d].ids_partitioned;
	}
	for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
		size_t k = 0;
		while (k < i && strcmp(q->inputs[k].owner, q->inputs[i].owner) != 0)
			k++;
		q->nparties += k == i;
	}
	return rc;
}

/* UNION ALL inputs have input 0's columns: names, types and order. */
static int check_union(struct sr_sql *q, struct sr_err *err)
{
	const struct sql_source *first = &q->sources[0];

	for (size_t i = 1; i < q->ninputs; i++) {
		const struct sql_source *s = &q->sources[i];
		size_t n = s->ncolumns < first->ncolumns ? s->ncolumns : first->ncolumns;
		for (size_t c = 0; c < n; c++) {
			const struct sr_expr_column *x = &s->columns[c], *y = &first->columns[c];
			if (strcmp(x->name, y->name) == 0 && x->type == y->type)
				continue;
			return sr_sql_fail(q, q->inputs[i].start, err, SR_EINVAL,
					   "UNION ALL needs one schema: column %zu of %s is '%.64s' %s, of %s '%.64s' %s",
					   c + 1, q->inputs[i].name, x->name, sr_type_name(x->type),
					   q->inputs[0].name, y->name, sr_type_name(y->type));
		}
		if (s->ncolumns != first->ncolumns) {
			const struct sql_source *longer = s->ncolumns > n ? s : first;
			return sr_sql_fail(q, q->inputs[i].start, err, SR_EINVAL,
					   "UNION ALL needs one schema: %s has %zu columns, %s %zu (the first differing is '%.64s')",
					   q->inputs[i].name, s->ncolumns, q->inputs[0].name,
					   first->ncolumns, longer->columns[n].name);
		}
	}
	return SR_OK;
}

static int bind_rows(struct sr_sql *q, struct sr_err *err)
{
	int join = q->stmt->from_kind == SR_SQL_FROM_JOIN;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < q->ninputs; i++) {
		q->inputs[i].row_offset = join ? n : 0;
		n += join || i == 0 ? q->sources[i].ncolumns : 0;
	}
	q->nrow = n;
	rc = zalloc(q, n, sizeof(*q->row_columns), (void **)&q->row_columns, err);
	if (rc == SR_OK)
		rc = zalloc(q, n, sizeof(*q->row_input), (void **)&q->row_input, err);
	if (rc == SR_OK)
		rc = zalloc(q, n, sizeof(*q->row_column), (void **)&q->row_column, err);
	for (size_t i = 0; rc == SR_OK && i < (join ? q->ninputs : 1); i++)
		for (size_t c = 0; c < q->sources[i].ncolumns; c++) {
			size_t r = q->inputs[i].row_offset + c;
			q->row_columns[r] = q->sources[i].columns[c];
			q->row_input[r] = q->stmt->from_kind == SR_SQL_FROM_UNION ?
				SR_SQL_EVERY_INPUT : i;
			q->row_column[r] = c;
		}
	return rc;
}

/* JOIN t ON a.k = t.k [AND ...]: equalities of one column of an earlier
 * input and one of t, of one type. */
static int bind_join_keys(struct sr_sql *q, struct sr_err *err)
{
	size_t room = 0;
	int rc = SR_OK;

	for (size_t i = 1; rc == SR_OK && i < q->ninputs; i++) {
		const struct sr_ast *on = q->stmt->from[i].on;
		const struct sr_ast *const *terms = (const struct sr_ast *const *)&on;
		size_t nterms = 1;

		if (on->kind == SR_AST_AND) {
			terms = (const struct sr_ast *const *)on->args;
			nterms = on->nargs;
		}
		for (size_t k = 0; k < nterms; k++) {
			const struct sr_ast *t = terms[k];
			size_t l, r, li, ri;
			if (t->kind != SR_AST_EQ || t->args[0]->kind != SR_AST_COLUMN ||
			    t->args[1]->kind != SR_AST_COLUMN)
				return sr_sql_fail(q, t->start, err, SR_EINVAL,
						   "JOIN ... ON needs equalities of two columns, one of each side, such as a.k = b.k");
			rc = sr_sql_resolve_row(q, t->args[0], &l, err);
			if (rc == SR_OK)
				rc = sr_sql_resolve_row(q, t->args[1], &r, err);
			if (rc)
				return rc;
			li = q->row_input[l];
			ri = q->row_input[r];
			if (li > ri) {
				size_t x = l; l = r; r = x;
				x = li; li = ri; ri = x;
			}
			if (ri != i || li >= i)
				return sr_sql_fail(q, t->pos, err, SR_EINVAL,
						   "JOIN %s ON must compare a column of %s with one of a dataset joined before it",
						   label(q, i), label(q, i));
			if (q->row_columns[l].type != q->row_columns[r].type)
				return sr_sql_fail(q, t->pos, err, SR_EINVAL,
						   "join keys must have one type: %s.%.64s is %s, %s.%.64s is %s",
						   label(q, li), q->row_columns[l].name,
						   sr_type_name(q->row_columns[l].type), label(q, ri),
						   q->row_columns[r].name,
						   sr_type_name(q->row_columns[r].type));
			if (q->njoin_keys == room) {
				struct sr_sql_join_key *bigger;
				room = room ? room * 2 : 4;
				rc = zalloc(q, room, sizeof(*bigger), (void **)&bigger, err);
				if (rc)
					return rc;
				if (q->njoin_keys)
					memcpy(bigger, q->join_keys, q->njoin_keys * sizeof(*bigger));
				q->join_keys = bigger;
			}
			q->join_keys[q->njoin_keys++] = (struct sr_sql_join_key){
				.left_input = li, .left_column = q->row_column[l],
				.right_input = ri, .right_column = q->row_column[r],
				.pos = t->pos,
			};
		}
	}
	return rc;
}

/* ---- WHERE ---------------------------------------------------------------- */

static uint64_t all_inputs(const struct sr_sql *q)
{
	return q->ninputs == 64 ? ~(uint64_t)0 : SR_SQL_INPUT_BIT(q->ninputs) - 1;
}

static int bind_where(struct sr_sql *q, struct sr_err *err)
{
	const struct sr_ast *w = q->stmt->where;
	const struct sr_ast *const *terms = (const struct sr_ast *const *)&w;
	size_t n = 1;
	int rc;

	if (!w)
		return SR_OK;
	if (w->kind == SR_AST_AND) {
		terms = (const struct sr_ast *const *)w->args;
		n = w->nargs;
	}
	rc = zalloc(q, n, sizeof(*q->filters), (void **)&q->filters, err);
	if (rc == SR_OK)
		rc = zalloc(q, n, sizeof(*q->filter_ast), (void **)&q->filter_ast, err);
	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		struct sr_sql_filter *f = &q->filters[i];
		struct sr_expr *e = NULL;
		rc = compile_rows(q, terms[i], "WHERE", SR_EXPR_PREDICATE, &e, &f->inputs, err);
		if (rc)
			return rc;
		if (q->stmt->from_kind != SR_SQL_FROM_JOIN || f->inputs == 0)
			f->inputs = all_inputs(q);
		f->expr = e;
		f->start = terms[i]->start;
		f->end = terms[i]->end;
		q->filter_ast[i] = terms[i];
		q->nfilters++;
		rc = dup_text(q, f->start, f->end, &f->text, err);
	}
	return rc;
}

/* ---- aggregation ---------------------------------------------------------- */

/* Add the aggregates under a (not inside one another) to q->agg_ast. */
static int collect_aggs(struct sr_sql *q, const struct sr_ast *a, size_t *room,
			struct sr_err *err)
{
	int rc = SR_OK;

	if (!sr_ast_is_aggregate(a)) {
		for (size_t i = 0; rc == SR_OK && i < a->nargs; i++)
			rc = collect_aggs(q, a->args[i], room, err);
		return rc;
	}
	for (size_t g = 0; g < q->naggs; g++)
		if (sr_sql_ast_equal(q, a, q->agg_ast[g]))
			return SR_OK;
	if (q->naggs == SR_SQL_AGGREGATES_MAX)
		return sr_sql_fail(q, a->pos, err, SR_ELIMIT,
				   "more than the limit of %d different aggregates",
				   SR_SQL_AGGREGATES_MAX);
	if (q->naggs == *room) {
		const struct sr_ast **bigger;
		*room = *room ? *room * 2 : 8;
		rc = zalloc(q, *room, sizeof(*bigger), (void **)&bigger, err);
		if (rc)
			return rc;
		if (q->naggs)
			memcpy(bigger, q->agg_ast, q->naggs * sizeof(*bigger));
		q->agg_ast = bigger;
	}
	q->agg_ast[q->naggs++] = a;
	return SR_OK;
}

static int is_ordinal(const struct sr_ast *a)
{
	return a->kind == SR_AST_INT;
}

/* The SELECT item an ordinal (GROUP BY 2, ORDER BY 1) names. */
static int ordinal_item(struct sr_sql *q, const struct sr_ast *a, const char *clause,
			const struct sr_ast **out, struct sr_err *err)
{
	if (a->v.i < 1 || (uint64_t)a->v.i > q->stmt->nselect)
		return sr_sql_fail(q, a->pos, err, SR_EINVAL,
				   "%s %lld: the SELECT list has %zu item%s", clause,
				   (long long)a->v.i, q->stmt->nselect,
				   q->stmt->nselect == 1 ? "" : "s");
	*out = q->stmt->select[a->v.i - 1].expr;
	return SR_OK;
}

/* The SELECT item whose alias a bare name a is, or NULL. */
static const struct sr_ast *alias_item(const struct sr_sql *q, const struct sr_ast *a)
{
	if (a->kind != SR_AST_COLUMN || a->nqual)
		return NULL;
	for (size_t i = 0; i < q->stmt->nselect; i++) {
		const struct sr_ast_name *al = &q->stmt->select[i].alias;
		if (al->p && name_eq(al->p, a->v.str.p, a->v.str.len, a->quoted))
			return q->stmt->select[i].expr;
	}
	return NULL;
}

static int bind_group_by(struct sr_sql *q, struct sr_err *err)
{
	const struct sr_sql_stmt *st = q->stmt;
	int rc;

	rc = zalloc(q, st->ngroup, sizeof(*q->keys), (void **)&q->keys, err);
	if (rc == SR_OK)
		rc = zalloc(q, st->ngroup, sizeof(*q->key_ast), (void **)&q->key_ast, err);
	for (size_t i = 0; rc == SR_OK && i < st->ngroup; i++) {
		const struct sr_ast *a = st->group_by[i], *alias;
		struct sr_sql_key *k = &q->keys[q->nkeys];
		struct sr_expr *e = NULL;
		size_t row, dupl = q->nkeys;

		if (is_ordinal(a))
			rc = ordinal_item(q, a, "GROUP BY", &a, err);
		else if (a->kind == SR_AST_COLUMN &&
			 sr_sql_resolve_row(q, a, &row, NULL) != SR_OK &&
			 (alias = alias_item(q, a)) != NULL)
			a = alias;   /* an input column wins over an alias, as in PostgreSQL */
		if (rc)
			return rc;
		for (size_t j = 0; j < q->nkeys; j++)
			if (sr_sql_ast_equal(q, a, q->key_ast[j]))
				dupl = j;
		rc = compile_rows(q, a, "GROUP BY", 0, &e, &k->inputs, err);
		if (rc || dupl < q->nkeys)
			continue;   /* GROUP BY x, x is one key */
		k->expr = e;
		k->type = sr_expr_type(e);
		k->start = a->start;
		k->end = a->end;
		if (a->kind == SR_AST_COLUMN && sr_sql_resolve_row(q, a, &row, NULL) == SR_OK)
			for (size_t in = 0; !k->mask && in < q->ninputs; in++) {
				const struct sr_policy_column *pc = (sr_sql_row_inputs(q, row) &
					SR_SQL_INPUT_BIT(in)) ? sr_sql_policy_column(q, in, row) : NULL;
				if (pc && pc->mask != SR_MASK_NONE)
					k->mask = pc;
			}
		q->key_ast[q->nkeys++] = a;
		rc = dup_text(q, a->start, a->end, &k->text, err);
	}
	return rc;
}

static enum sr_sql_agg_kind agg_kind(const struct sr_ast *a)
{
	switch (a->func) {
	case SR_FUNC_COUNT:
		return a->flags & SR_AST_STAR ? SR_SQL_COUNT_ROWS :
		       a->flags & SR_AST_DISTINCT ? SR_SQL_COUNT_DISTINCT : SR_SQL_COUNT;
	case SR_FUNC_SUM: return SR_SQL_SUM;
	case SR_FUNC_AVG: return SR_SQL_AVG;
	case SR_FUNC_VAR_POP: return SR_SQL_VAR_POP;
	case SR_FUNC_VAR_SAMP: return SR_SQL_VAR_SAMP;
	case SR_FUNC_STDDEV_POP: return SR_SQL_STDDEV_POP;
	case SR_FUNC_STDDEV_SAMP: return SR_SQL_STDDEV_SAMP;
	case SR_FUNC_MIN: return SR_SQL_MIN;
	default: return SR_SQL_MAX;
	}
}

const char *sr_sql_agg_name(enum sr_sql_agg_kind kind)
{
	static const char *const names[] = {
		[SR_SQL_COUNT_ROWS] = "COUNT", [SR_SQL_COUNT] = "COUNT",
		[SR_SQL_COUNT_DISTINCT] = "COUNT", [SR_SQL_SUM] = "SUM",
		[SR_SQL_AVG] = "AVG", [SR_SQL_VAR_POP] = "VAR_POP",
		[SR_SQL_VAR_SAMP] = "VAR_SAMP", [SR_SQL_STDDEV_POP] = "STDDEV_POP",
		[SR_SQL_STDDEV_SAMP] = "STDDEV_SAMP", [SR_SQL_MIN] = "MIN",
		[SR_SQL_MAX] = "MAX",
	};

	return (size_t)kind < sizeof(names) / sizeof(*names) && names[kind] ?
		names[kind] : "";
}

/* Compile each collected aggregate's argument and type it. */
static int bind_aggs(struct sr_sql *q, struct sr_err *err)
{
	int rc = zalloc(q, q->naggs, sizeof(*q->aggs), (void **)&q->aggs, err);

	for (size_t g = 0; rc == SR_OK && g < q->naggs; g++) {
		const struct sr_ast *a = q->agg_ast[g];
		struct sr_sql_agg *agg = &q->aggs[g];
		const char *name = sr_ast_func_name(a->func);
		struct sr_expr *e = NULL;
		enum sr_type t;

		agg->kind = agg_kind(a);
		agg->start = a->start;
		agg->end = a->end;
		rc = dup_text(q, a->start, a->end, &agg->text, err);
		if (rc)
			return rc;
		if (agg->kind == SR_SQL_COUNT_ROWS) {
			agg->type = SR_TYPE_INT64;
			agg->arg_text = "*";
			continue;
		}
		rc = dup_text(q, a->args[0]->start, a->args[0]->end, &agg->arg_text, err);
		if (rc)
			return rc;
		if (a->args[0]->kind == SR_AST_NULL)
			return sr_sql_fail(q, a->args[0]->start, err, SR_EINVAL,
					   "%s(NULL) has nothing to aggregate: give it a column or an expression",
					   name);
		rc = compile_rows(q, a->args[0], "an aggregate", 0, &e, &agg->inputs, err);
		if (rc)
			return rc;
		agg->arg = e;
		t = agg->arg_type = sr_expr_type(e);
		switch (agg->kind) {
		case SR_SQL_COUNT:
		case SR_SQL_COUNT_DISTINCT:
			agg->type = SR_TYPE_INT64;
			break;
		case SR_SQL_MIN:
		case SR_SQL_MAX:
			if (t == SR_TYPE_BOOL)
				return sr_sql_fail(q, a->args[0]->start, err, SR_EINVAL,
						   "%s needs a number, a date or a string, got bool",
						   name);
			agg->type = t;
			break;
		default:
			if (t != SR_TYPE_INT64 && t != SR_TYPE_FLOAT64)
				return sr_sql_fail(q, a->args[0]->start, err, SR_EINVAL,
						   "%s needs a number, got %s", name, sr_type_name(t));
			agg->type = agg->kind == SR_SQL_SUM ? t : SR_TYPE_FLOAT64;
		}
	}
	return rc;
}

/* The result schema: the keys, then the aggregates, named by their text. */
static int bind_result_schema(struct sr_sql *q, struct sr_err *err)
{
	size_t n = q->nkeys + q->naggs;
	int rc = zalloc(q, n, sizeof(*q->result_columns), (void **)&q->result_columns, err);

	for (size_t k = 0; rc == SR_OK && k < q->nkeys; k++)
		q->result_columns[k] = (struct sr_expr_column){ q->keys[k].text,
			q->keys[k].mask ? SR_TYPE_STRING : q->keys[k].type };
	for (size_t g = 0; rc == SR_OK && g < q->naggs; g++)
		q->result_columns[q->nkeys + g] =
			(struct sr_expr_column){ q->aggs[g].text, q->aggs[g].type };
	return rc;
}

/* ---- outputs -------------------------------------------------------------- */

static int bind_outputs(struct sr_sql *q, struct sr_err *err)
{
	const struct sr_sql_stmt *st = q->stmt;
	int rc;

	rc = zalloc(q, st->nselect, sizeof(*q->outputs), (void **)&q->outputs, err);
	if (rc == SR_OK)
		rc = zalloc(q, st->nselect, sizeof(*q->output_ast), (void **)&q->output_ast, err);
	for (size_t i = 0; rc == SR_OK && i < st->nselect; i++) {
		const struct sr_sql_item *it = &st->select[i];
		struct sr_sql_output *o = &q->outputs[i];
		struct sr_expr *e = NULL;

		rc = compile_output(q, it->expr, "SELECT", 0, &e, err);
		if (rc)
			return rc;
		o->expr = e;
		o->type = sr_expr_type(e);
		o->start = it->expr->start;
		o->end = it->expr->end;
		q->output_ast[i] = it->expr;
		q->noutputs++;
		if (it->alias.p)
			o->name = it->alias.p;
		else if (it->expr->kind == SR_AST_COLUMN)
			o->name = it->expr->v.str.p;
		else
			rc = dup_text(q, o->start, o->end, &o->name, err);
	}
	if (rc == SR_OK && st->having) {
		rc = compile_output(q, st->having, "HAVING", SR_EXPR_PREDICATE, &q->having, err);
		q->having_ast = st->having;
	}
	if (rc == SR_OK)
		rc = zalloc(q, st->norder, sizeof(*q->order), (void **)&q->order, err);
	if (rc == SR_OK)
		rc = zalloc(q, st->norder, sizeof(*q->order_ast), (void **)&q->order_ast, err);
	for (size_t i = 0; rc == SR_OK && i < st->norder; i++) {
		const struct sr_ast *a = st->order_by[i].expr, *alias;
		struct sr_sql_order_item *o = &q->order[i];
		struct sr_expr *e = NULL;

		o->start = a->start;
		o->end = a->end;
		rc = dup_text(q, a->start, a->end, &o->text, err);
		if (rc == SR_OK && is_ordinal(a))
			rc = ordinal_item(q, a, "ORDER BY", &a, err);
		else if ((alias = alias_item(q, a)) != NULL)
			a = alias;   /* an output name wins, as in PostgreSQL */
		if (rc == SR_OK)
			rc = compile_output(q, a, "ORDER BY", 0, &e, err);
		if (rc)
			return rc;
		o->expr = e;
		o->desc = st->order_by[i].desc;
		q->order_ast[i] = a;
		q->norder++;
	}
	return rc;
}

/* ---- entry points --------------------------------------------------------- */

static void fill_view(struct sr_sql *q)
{
	struct sr_sql_query *v = &q->view;

	v->text = q->text;
	v->len = q->len;
	v->from_kind = q->stmt->from_kind;
	v->inputs = q->inputs;
	v->ninputs = q->ninputs;
	v->row_columns = q->row_columns;
	v->row_input = q->row_input;
	v->nrow_columns = q->nrow;
	v->join_keys = q->join_keys;
	v->njoin_keys = q->njoin_keys;
	v->filters = q->filters;
	v->nfilters = q->nfilters;
	v->aggregated = q->aggregated;
	v->keys = q->keys;
	v->nkeys = q->nkeys;
	v->aggs = q->aggs;
	v->naggs = q->naggs;
	v->result_columns = q->result_columns;
	v->outputs = q->outputs;
	v->noutputs = q->noutputs;
	v->having = q->having;
	v->order = q->order;
	v->norder = q->norder;
	v->has_limit = q->stmt->has_limit;
	v->limit = q->stmt->limit;
}

int sr_sql_compile(const char *text, size_t len,
		   const struct sr_sql_dataset *datasets, size_t ndatasets,
		   struct sr_sql **out, struct sr_err *err)
{
	struct sr_sql *q;
	size_t room = 0;
	int rc;

	*out = NULL;
	if (!text && len == 0)
		text = "";
	if (len > SR_SQL_TEXT_MAX)
		return sr_lex_fail(text, len, SR_SQL_TEXT_MAX, err, SR_ELIMIT,
				   "query longer than the limit of %u bytes",
				   (unsigned)SR_SQL_TEXT_MAX);
	q = sr_calloc(1, sizeof(*q));
	if (!q)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_arena_init(&q->arena, SR_EXPR_TREE_BYTES_MAX);
	rc = dup(q, text, len, (const char **)&q->text, err);
	q->len = len;
	if (rc == SR_OK)
		rc = sr_sql_parse(q->text, q->len, &q->arena, &q->stmt, err);
	if (rc == SR_OK)
		rc = bind_inputs(q, datasets, ndatasets, err);
	if (rc == SR_OK && q->stmt->from_kind == SR_SQL_FROM_UNION)
		rc = check_union(q, err);
	if (rc == SR_OK)
		rc = bind_rows(q, err);
	if (rc == SR_OK && q->stmt->from_kind == SR_SQL_FROM_JOIN)
		rc = bind_join_keys(q, err);
	if (rc == SR_OK)
		rc = bind_where(q, err);
	for (size_t i = 0; rc == SR_OK && i < q->stmt->nselect; i++)
		rc = collect_aggs(q, q->stmt->select[i].expr, &room, err);
	if (rc == SR_OK && q->stmt->having)
		rc = collect_aggs(q, q->stmt->having, &room, err);
	for (size_t i = 0; rc == SR_OK && i < q->stmt->norder; i++)
		rc = collect_aggs(q, q->stmt->order_by[i].expr, &room, err);
	if (rc == SR_OK) {
		q->aggregated = q->stmt->ngroup || q->naggs || q->stmt->having;
		rc = bind_group_by(q, err);
	}
	if (rc == SR_OK)
		rc = bind_aggs(q, err);
	if (rc == SR_OK)
		rc = bind_result_schema(q, err);
	if (rc == SR_OK)
		rc = bind_outputs(q, err);
	if (rc) {
		sr_sql_free(q);
		return rc;
	}
	fill_view(q);
	*out = q;
	return SR_OK;
}

void sr_sql_free(struct sr_sql *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nexprs; i++)
		sr_expr_free(q->exprs[i]);
	sr_free(q->exprs);
	sr_arena_release(&q->arena);
	sr_free(q);
}

const struct sr_sql_query *sr_sql_query(const struct sr_sql *q)
{
	return &q->view;
}
