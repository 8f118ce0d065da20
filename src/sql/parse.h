/*
 * parse.h - the parse tree of a SQL query (docs/internals/sql.md): what
 * the hand-written parser builds from text and the binder (sql.h) resolves
 * against published schemas.  Public so that tests and tools can look at
 * a query's shape without schemas.
 *
 * Grammar (keywords case-insensitive; expr is src/expr's, ast.h):
 *   query  := SELECT item (',' item)*
 *             FROM from
 *             [WHERE expr] [GROUP BY expr (',' expr)*] [HAVING expr]
 *             [ORDER BY expr [ASC | DESC] (',' expr [ASC | DESC])*]
 *             [LIMIT integer] [';']
 *   item   := expr [[AS] name]
 *   from   := table (UNION ALL table)*
 *           | table ([INNER] JOIN table ON expr)*
 *   table  := name '.' name [[AS] name]          -- org.dataset [AS a]
 * A bare alias (no AS) is taken only where what follows it can follow an
 * alias, so "SELECT a FORM t" fails at FORM ("expected FROM"), not at t.
 * In a dataset name, organization and dataset parts may hold '-' as the
 * ledger's names do (my-clinic.visits-2024); elsewhere such a name is
 * written in double quotes.
 *
 * Memory: every node, array and string lives in the arena the caller
 * passes, and is freed with it (sr_arena_release).  Nothing points into
 * the text; offsets refer to it for messages.
 */
#ifndef SR_SQL_PARSE_H
#define SR_SQL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "expr/ast.h"

enum sr_sql_from_kind {
	SR_SQL_FROM_ONE = 1,      /* one dataset */
	SR_SQL_FROM_UNION,        /* a UNION ALL b UNION ALL ... */
	SR_SQL_FROM_JOIN,         /* a JOIN b ON ... JOIN c ON ... */
};

/* One dataset of the FROM clause. */
struct sr_sql_table {
	struct sr_ast_name org;       /* "clinic" of clinic.visits */
	struct sr_ast_name dataset;   /* "visits" */
	struct sr_ast_name alias;     /* alias.p is NULL when there is none */
	struct sr_ast *on;            /* JOIN: its ON condition; else NULL */
	size_t start, end;            /* text of org.dataset [AS alias] */
	size_t op_pos;                /* UNION or JOIN before it (0 for the first) */
};

/* One item of the SELECT list. */
struct sr_sql_item {
	struct sr_ast *expr;
	struct sr_ast_name alias;     /* alias.p is NULL when there is none */
};

struct sr_sql_order {
	struct sr_ast *expr;
	int desc;
};

struct sr_sql_stmt {
	struct sr_sql_item *select;
	size_t nselect;
	enum sr_sql_from_kind from_kind;
	struct sr_sql_table *from;
	size_t nfrom;
	struct sr_ast *where;         /* or NULL */
	struct sr_ast **group_by;
	size_t ngroup;
	struct sr_ast *having;        /* or NULL */
	struct sr_sql_order *order_by;
	size_t norder;
	int has_limit;
	int64_t limit;                /* >= 0 */
	/* Offsets of the clauses' keywords, for messages (0 when absent). */
	size_t from_pos, where_pos, group_pos, having_pos, order_pos, limit_pos;
};

/*
 * Parse the query text [text, text + len).  Nodes go to arena.  Errors
 * name the place first: SR_EINVAL with "1:34: expected FROM, got 'FORM'";
 * SR_ELIMIT for a text over SR_SQL_TEXT_MAX, nesting over
 * SR_SQL_EXPR_DEPTH_MAX, more than SR_SQL_INPUTS_MAX datasets or
 * SR_SQL_LIST_MAX items in a list; SR_ENOMEM.  *out is NULL on failure.
 */
int sr_sql_parse(const char *text, size_t len, struct sr_arena *arena,
		 struct sr_sql_stmt **out, struct sr_err *err) SR_WUR;

#endif
