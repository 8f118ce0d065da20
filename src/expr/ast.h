/*
 * ast.h - the parse tree of an expression (docs/internals/expr.md): what
 * the parser builds from text and the binder (expr.h) types and compiles.
 * Public so that the SQL front end can parse its WHERE and HAVING clauses
 * with the same parser, from the same lexer, and bind them itself.
 *
 * Grammar, lowest precedence first (keywords case-insensitive):
 *   expr    := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT* cmp
 *   cmp     := add [ (= | <> | != | < | <= | > | >=) add
 *                  | IS [NOT] NULL
 *                  | [NOT] IN '(' add (',' add)* ')'
 *                  | [NOT] BETWEEN add AND add
 *                  | [NOT] LIKE add ]
 *   add     := mul ((+ | -) mul)*
 *   mul     := unary ((* | /) unary)*
 *   unary   := -* primary
 *   primary := integer | decimal | 'string' | DATE 'YYYY-MM-DD' | TRUE
 *            | FALSE | NULL | column | call | case | '(' expr ')'
 *   column  := name [ '.' name [ '.' name ] ]     (org.dataset.col, a.col)
 *   name    := bare | "quoted name"
 *   call    := bare '(' [ DISTINCT ] ( '*' | expr [ ',' expr ] ) ')'
 *   case    := CASE ( WHEN expr THEN expr )+ [ ELSE expr ] END
 * Comparisons do not chain (a = b = c is an error, as in PostgreSQL).
 * AND and OR chains become one node with every term as an argument.
 * Calls name a known function (enum sr_func) with its number of
 * arguments, checked here; COUNT alone takes '*' and DISTINCT.  What a
 * call or a qualified name may mean where is the binder's business: the
 * plain binder (expr.h) refuses aggregates and qualifiers, the SQL binder
 * resolves them.
 *
 * Memory: every node, argument array and string lives in the arena the
 * caller passes, and is freed with it (sr_arena_release).  Nodes point
 * into no text: they can outlive it; offsets refer to it for messages.
 */
#ifndef SR_AST_H
#define SR_AST_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "expr/lex.h"

enum sr_ast_kind {
	SR_AST_NULL = 1,      /* NULL */
	SR_AST_BOOL,          /* TRUE, FALSE: v.b */
	SR_AST_INT,           /* v.i (a '-' before a literal is folded in) */
	SR_AST_FLOAT,         /* v.f */
	SR_AST_STRING,        /* v.str (unescaped) */
	SR_AST_DATE,          /* DATE '...': v.date, days since 1970-01-01 */
	SR_AST_COLUMN,        /* v.str is the name; quoted if written "..." */
	SR_AST_NEG,           /* - args[0] */
	SR_AST_NOT,           /* NOT args[0] */
	SR_AST_ADD, SR_AST_SUB, SR_AST_MUL, SR_AST_DIV,      /* args[0] op args[1] */
	SR_AST_EQ, SR_AST_NE, SR_AST_LT, SR_AST_LE, SR_AST_GT, SR_AST_GE,
	SR_AST_AND,           /* args[0] AND ... AND args[nargs - 1], nargs >= 2 */
	SR_AST_OR,
	SR_AST_IS_NULL,       /* args[0] IS [NOT] NULL */
	SR_AST_IN,            /* args[0] [NOT] IN (args[1], ..., args[nargs - 1]) */
	SR_AST_BETWEEN,       /* args[0] [NOT] BETWEEN args[1] AND args[2] */
	SR_AST_LIKE,          /* args[0] [NOT] LIKE args[1] */
	SR_AST_CALL,          /* func(args...); v.str is sr_ast_func_name(func) */
	SR_AST_CASE,          /* CASE WHEN args[0] THEN args[1] ... [ELSE last] END */
};

/* Known functions: aggregates first. */
enum sr_func {
	SR_FUNC_NONE = 0,
	SR_FUNC_COUNT, SR_FUNC_SUM, SR_FUNC_AVG, SR_FUNC_VAR_POP,
	SR_FUNC_VAR_SAMP, SR_FUNC_STDDEV_POP, SR_FUNC_STDDEV_SAMP,
	SR_FUNC_MIN, SR_FUNC_MAX,
	SR_FUNC_AGGREGATE_LAST = SR_FUNC_MAX,
	SR_FUNC_YEAR,         /* year(date) -> int64 */
	SR_FUNC_MONTH,        /* month(date) -> int64, 1..12 */
	SR_FUNC_DATE_TRUNC,   /* date_trunc('unit', date) -> date */
};

/* sr_ast.flags */
#define SR_AST_DISTINCT 1u    /* CALL: COUNT(DISTINCT x) */
#define SR_AST_STAR 2u        /* CALL: COUNT(*), no arguments */
#define SR_AST_ELSE 4u        /* CASE: the last argument is the ELSE value */

/* One part of a name as written: unquoted, in the arena. */
struct sr_ast_name {
	const char *p;        /* NUL-terminated */
	size_t len;
	int quoted;           /* written in double quotes */
	size_t pos;           /* byte offset of its token */
};

struct sr_ast {
	enum sr_ast_kind kind;
	int negated;          /* IS NOT NULL, NOT IN, NOT BETWEEN, NOT LIKE */
	int quoted;           /* COLUMN written in double quotes */
	unsigned flags;       /* SR_AST_DISTINCT, SR_AST_STAR, SR_AST_ELSE */
	enum sr_func func;    /* CALL */
	/* COLUMN: the qualifiers before its name, outermost first: "a" in
	 * a.col, "org" and "dataset" in org.dataset.col. */
	struct sr_ast_name qual[2];
	unsigned nqual;
	size_t start, end;    /* byte range of the node's text */
	size_t pos;           /* byte offset of its operator, or of its token */
	unsigned height;      /* 1 for a leaf; at most SR_EXPR_DEPTH_MAX */
	union {
		int b;
		int64_t i;
		double f;
		int32_t date;
		struct {
			const char *p;   /* NUL-terminated, may hold no NUL */
			size_t len;
		} str;
	} v;
	struct sr_ast **args;
	size_t nargs;
};

/*
 * Parse one expression from lex, which stays at the first token that
 * cannot continue it (not consumed: the SQL parser reads it next with
 * sr_lex_next).  Nodes go to arena.  Errors: SR_EINVAL for syntax, with
 * "line:col: expected X, got Y"; SR_ELIMIT for nesting deeper than
 * SR_EXPR_DEPTH_MAX, IN lists longer than SR_EXPR_IN_LIST_MAX, or a tree
 * larger than the arena's cap; SR_ENOMEM.
 */
int sr_ast_parse(struct sr_lex *lex, struct sr_arena *arena,
		 struct sr_ast **out, struct sr_err *err) SR_WUR;

/*
 * Parse one expression of text starting at byte offset; *end (optional)
 * is the offset of the first token after it (len at the end of the text).
 */
int sr_ast_parse_text(const char *text, size_t len, size_t offset,
		      struct sr_arena *arena, struct sr_ast **out, size_t *end,
		      struct sr_err *err) SR_WUR;

/* "AND", "=", "IS NULL", "CASE", ...: the operator of a kind, for
 * messages ("" for leaves and calls: see sr_ast_func_name). */
const char *sr_ast_op_name(enum sr_ast_kind kind, int negated);

/* "COUNT", "SUM", ..., "year", "month", "date_trunc" ("" for NONE). */
const char *sr_ast_func_name(enum sr_func func);

/* 1 if a is a call of an aggregate function. */
int sr_ast_is_aggregate(const struct sr_ast *a);

#endif
