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
 *            | FALSE | NULL | name | "quoted name" | '(' expr ')'
 * Comparisons do not chain (a = b = c is an error, as in PostgreSQL).
 * AND and OR chains become one node with every term as an argument.
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
};

struct sr_ast {
	enum sr_ast_kind kind;
	int negated;          /* IS NOT NULL, NOT IN, NOT BETWEEN, NOT LIKE */
	int quoted;           /* COLUMN written in double quotes */
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

/* "AND", "=", "IS NULL", ...: the operator of a kind, for messages. */
const char *sr_ast_op_name(enum sr_ast_kind kind, int negated);

#endif
