/*
 * expr.h - typed expressions over a dataset's columns: policies'
 * row_filter, and every scalar expression of SQL queries (DESIGN §6, §10;
 * docs/internals/expr.md has the language, docs/internals/sql.md its use
 * by src/sql/).
 *
 * Life cycle: text -> sr_expr_compile (parse, resolve columns, type-check,
 * lower to a vectorized program) -> sr_expr_filter / sr_expr_eval on
 * column batches, any number of times -> sr_expr_free.  The SQL front end
 * parses with sr_ast_parse (ast.h) inside its own grammar and binds each
 * expression with sr_expr_bind_with and a resolver for its names and
 * aggregates.
 *
 * Semantics are SQL's: three-valued logic, a comparison with NULL is NULL,
 * and a filter keeps a row only when its predicate is TRUE.  int64 and
 * float64 mix (the int64 side is converted); int64 arithmetic that
 * overflows, division by zero, a float64 result that is not finite, and a
 * date outside 0001-01-01..9999-12-31 give NULL, never an error: a data
 * value can never make a run fail (or tell, by failing, that it exists).
 *
 * Every compile error names the place first, "line:col: what was wrong,
 * what was expected", e.g. "1:5: unknown column 'agee'"; callers prefix
 * their own context with sr_err_prefix ("policy: row_filter: 1:5: ...").
 *
 * Thread safety: a compiled expression is immutable; any number of
 * threads may filter or evaluate with it at once.
 */
#ifndef SR_EXPR_H
#define SR_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "expr/ast.h"
#include "store/value.h"
#include "store/vec.h"

struct sr_expr;

/* One column of the schema an expression is compiled against.  Names are
 * NUL-terminated and borrowed only during the call. */
struct sr_expr_column {
	const char *name;
	enum sr_type type;
};

/* sr_expr_bind flags. */
#define SR_EXPR_PREDICATE 1u    /* the expression must be boolean */

/*
 * Compile predicate text [text, text + len) against the schema cols[0..ncols).
 * The whole text must be one boolean expression.  Fails with SR_EINVAL
 * (syntax, unknown or ambiguous column, type error), SR_ELIMIT (text over
 * SR_EXPR_TEXT_MAX, nesting, IN list) or SR_ENOMEM.  On success *out is a
 * new expression (sr_expr_free); on failure it is NULL.  text and cols
 * may be freed after the call.
 */
int sr_expr_compile(const char *text, size_t len,
		    const struct sr_expr_column *cols, size_t ncols,
		    struct sr_expr **out, struct sr_err *err) SR_WUR;

/*
 * Bind a parse tree (from sr_ast_parse over text) to the schema: the
 * second half of sr_expr_compile, for a parser that embeds expressions.
 * text and len are the text the tree's offsets refer to (for messages).
 * flags: SR_EXPR_PREDICATE to require a boolean expression.  The tree is
 * only read; it and text may be freed after the call.
 */
int sr_expr_bind(const struct sr_ast *ast, const char *text, size_t len,
		 const struct sr_expr_column *cols, size_t ncols,
		 unsigned flags, struct sr_expr **out,
		 struct sr_err *err) SR_WUR;

/*
 * A resolver lets a parser that embeds expressions (the SQL binder,
 * src/sql/) decide what names, qualified names, aggregates and whole
 * subtrees mean, while this binder does all the typing and lowering.
 *
 * resolve is called for every node, top-down, before the node is bound.
 * It sets *column to an index into the schema given to the bind call to
 * bind the whole subtree as that column (its type is the schema's), or
 * leaves it at SR_EXPR_UNRESOLVED to bind the node as usual (a column
 * reference left so resolves against the schema by its name, and must
 * not be qualified).  It may fail: its status and message (which should
 * name the place with sr_lex_fail) become the bind's.  ctx is passed
 * through.
 */
#define SR_EXPR_UNRESOLVED ((size_t)-1)

struct sr_expr_resolver {
	void *ctx;
	int (*resolve)(void *ctx, const struct sr_ast *node, size_t *column,
		       struct sr_err *err);
};

/*
 * sr_expr_bind with a resolver (NULL is sr_expr_bind).  Without one, a
 * qualified name (a.x) and an aggregate (SUM(x)) are errors: "1:1:
 * aggregate SUM() is not allowed in this expression".
 */
int sr_expr_bind_with(const struct sr_ast *ast, const char *text, size_t len,
		      const struct sr_expr_column *cols, size_t ncols,
		      unsigned flags, const struct sr_expr_resolver *resolver,
		      struct sr_expr **out, struct sr_err *err) SR_WUR;

/* sr_expr_free(NULL) does nothing. */
void sr_expr_free(struct sr_expr *e);

/* Type of the expression's value (a bare NULL is typed bool). */
enum sr_type sr_expr_type(const struct sr_expr *e);

/*
 * The schema columns the expression reads, so that a scan opens only
 * those: sr_expr_column_used(e, i) for i < sr_expr_ncolumns_used(e) is a
 * schema index, in increasing order, each once.
 */
size_t sr_expr_ncolumns_used(const struct sr_expr *e);
size_t sr_expr_column_used(const struct sr_expr *e, size_t i);

/*
 * Evaluate a boolean expression over rows rows given column by column, as
 * scans return them: cols[i] is the vector of schema column i, or NULL
 * for a column the expression does not read; each read vector has the
 * schema type and at least rows rows.  keep[r] is set to 1 when row r's
 * predicate is TRUE, to 0 when it is FALSE or NULL.  Fails only with
 * SR_EINVAL (a missing or mistyped vector, a non-boolean expression) or
 * SR_ENOMEM (scratch memory, about 25 KiB per level of nesting).
 */
int sr_expr_filter(const struct sr_expr *e, const struct sr_vec *const *cols,
		   size_t rows, uint8_t *keep, struct sr_err *err) SR_WUR;

/*
 * Evaluate the expression's value for rows rows (cols as for filter) and
 * append them to out, an initialized vector of type sr_expr_type(e)
 * (strings are copied).  On failure out may hold some of the rows.
 */
int sr_expr_eval(const struct sr_expr *e, const struct sr_vec *const *cols,
		 size_t rows, struct sr_vec *out, struct sr_err *err) SR_WUR;

#endif
