/*
 * expr_int.h - internals shared by bind.c (tree -> program) and eval.c
 * (program -> values); not part of the API.
 *
 * A compiled expression is a tree of typed operations, each with one
 * monomorphic kernel: the binder has already inserted the int64 -> float64
 * conversions, chosen integer, float, string or date variants, folded
 * operations on a NULL literal into a NULL constant, and turned NOT IN,
 * NOT BETWEEN and NOT LIKE into NOT over the positive form.  Evaluation
 * walks the tree once per batch of SR_EXPR_BATCH_ROWS rows (not once per
 * row), each node filling a scratch slot with a value and a NULL flag per
 * row.
 */
#ifndef SR_EXPR_INT_H
#define SR_EXPR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "expr/expr.h"

/* Rows per evaluation step: a slot of 1024 values fits the L1 cache with
 * its operands, and a whole chunk (SR_CHUNK_ROWS) is 64 steps. */
#define SR_EXPR_BATCH_ROWS 1024

/* The type of the NULL literal, which fits anywhere (never stored). */
#define SR_EXPR_TYPE_NULL ((enum sr_type)0)

/* First and last day a date may hold (0001-01-01 and 9999-12-31, as
 * sr_value_parse_date accepts). */
#define SR_EXPR_DATE_MIN (-719162)
#define SR_EXPR_DATE_MAX 2932896

enum sr_expr_op {
	SR_OP_COLUMN = 1,   /* schema column `column` */
	SR_OP_CONST,        /* k, or NULL when is_null */
	SR_OP_NEG_I, SR_OP_NEG_F,
	SR_OP_TO_F,         /* int64 -> float64 */
	SR_OP_ADD_I, SR_OP_SUB_I, SR_OP_MUL_I, SR_OP_DIV_I,
	SR_OP_ADD_F, SR_OP_SUB_F, SR_OP_MUL_F, SR_OP_DIV_F,
	SR_OP_DATE_ADD,     /* date + int64 days -> date */
	SR_OP_DATE_SUB,     /* date - int64 days -> date */
	SR_OP_DATE_DIFF,    /* date - date -> int64 days */
	SR_OP_CMP_I,        /* int64, date or bool operands; `cmp` says which */
	SR_OP_CMP_F,
	SR_OP_CMP_S,
	SR_OP_BETWEEN_I,    /* args[1] <= args[0] <= args[2] */
	SR_OP_BETWEEN_F,
	SR_OP_BETWEEN_S,
	SR_OP_AND,          /* n-ary */
	SR_OP_OR,
	SR_OP_NOT,
	SR_OP_IS_NULL,
	SR_OP_IS_NOT_NULL,
	SR_OP_IN_I,         /* args[0] in set (sorted, distinct) */
	SR_OP_IN_F,
	SR_OP_IN_S,
	SR_OP_LIKE_PREFIX,  /* starts with k.s */
	SR_OP_LIKE_EXACT,   /* equals k.s */
	SR_OP_YEAR,         /* date -> int64 */
	SR_OP_MONTH,        /* date -> int64 1..12 */
	SR_OP_DATE_TRUNC,   /* date -> date, to the start of unit k.i */
	SR_OP_CASE,         /* args: cond, value, ..., cond, value, else */
};

/* Units of date_trunc (SR_OP_DATE_TRUNC's k.i). */
enum sr_expr_date_unit {
	SR_DATE_UNIT_YEAR = 1, SR_DATE_UNIT_QUARTER, SR_DATE_UNIT_MONTH,
	SR_DATE_UNIT_WEEK, SR_DATE_UNIT_DAY,
};

enum sr_expr_cmp {
	SR_CMP_EQ = 1, SR_CMP_NE, SR_CMP_LT, SR_CMP_LE, SR_CMP_GT, SR_CMP_GE,
};

struct sr_expr_str {
	const char *p;
	size_t len;
};

union sr_expr_num {
	int64_t i;     /* int64, date (days), bool (0 or 1) */
	double f;
};

struct sr_expr_node {
	enum sr_expr_op op;
	enum sr_type type;          /* of the value; SR_EXPR_TYPE_NULL for NULL */
	enum sr_expr_cmp cmp;       /* SR_OP_CMP_* */
	unsigned slots;             /* scratch slots its evaluation uses */
	struct sr_expr_node **args;
	size_t nargs;
	size_t column;              /* SR_OP_COLUMN: schema index */
	int is_null;                /* SR_OP_CONST */
	union sr_expr_num k;        /* SR_OP_CONST */
	struct sr_expr_str ks;      /* SR_OP_CONST string, LIKE pattern */
	struct {                    /* SR_OP_IN_* */
		size_t count;
		int has_null;           /* the list holds NULL */
		int64_t *i;
		double *f;
		struct sr_expr_str *s;
	} set;
};

struct sr_expr {
	struct sr_arena arena;      /* every node, array and string below */
	struct sr_expr_node *root;
	enum sr_type type;
	unsigned slots;             /* scratch slots of one evaluation */
	uint8_t *string_slot;       /* [slots]: slot d ever holds strings */
	size_t ncols;               /* columns of the schema */
	size_t nused;               /* columns read, ascending */
	size_t *used;
	const char **used_names;
	enum sr_type *used_types;
};

#endif
