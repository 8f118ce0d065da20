/*
 * bind.c - from parse tree to program: columns resolved against the
 * schema, every operation type-checked, and each lowered to its kernel
 * (expr_int.h).  Also sr_expr_compile (parse + bind) and the accessors.
 *
 * Typing (docs/internals/expr.md has the table): int64 and float64 mix
 * and give float64; + and - also take a date and int64 days, and date -
 * date gives int64 days; comparisons need two numbers or two values of
 * one type; AND, OR and NOT need booleans; LIKE needs a string and a
 * string literal prefix pattern; IN lists hold literals.  The NULL
 * literal fits anywhere and makes what it touches NULL.
 */
#include "expr/expr.h"
#include "expr/expr_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

#define T_NULL SR_EXPR_TYPE_NULL

struct binder {
	const char *text;
	size_t len;
	const struct sr_expr_column *cols;
	size_t ncols;
	struct sr_expr *e;
	uint8_t *used;        /* [ncols] */
	const struct sr_expr_resolver *resolver;   /* or NULL */
	struct sr_err *err;
};

static int fail(struct binder *b, size_t at, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct binder *b, size_t at, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = sr_lex_vfail(b->text, b->len, at, b->err, code, fmt, ap);
	va_end(ap);
	return code;
}

static const char *type_name(enum sr_type t)
{
	return t == T_NULL ? "NULL" : sr_type_name(t);
}

static int is_num(enum sr_type t)
{
	return t == SR_TYPE_INT64 || t == SR_TYPE_FLOAT64;
}

/* An arena status as a message. */
static int arena_rc(struct binder *b, int rc)
{
	if (rc == SR_OK)
		return SR_OK;
	if (rc == SR_ELIMIT)
		return sr_fail(b->err, rc,
			       "expression too large: its program needs more than %u bytes",
			       (unsigned)SR_EXPR_TREE_BYTES_MAX);
	return sr_fail(b->err, rc, "out of memory");
}

static int alloc(struct binder *b, size_t size, void **out)
{
	return arena_rc(b, sr_arena_alloc(&b->e->arena, size, out));
}

/* A copy of [s, s + len) in the program's arena. */
static int copy_text(struct binder *b, const char *s, size_t len,
		     const char **out)
{
	char *p;
	int rc = arena_rc(b, sr_arena_strndup(&b->e->arena, s, len, &p));

	*out = p;
	return rc;
}

static int node_new(struct binder *b, enum sr_expr_op op, enum sr_type type,
		    size_t nargs, struct sr_expr_node **out)
{
	struct sr_expr_node *n;
	void *args = NULL;
	int rc;

	*out = NULL;
	rc = alloc(b, sizeof(*n), (void **)&n);
	if (rc == SR_OK && nargs)
		rc = alloc(b, nargs * sizeof(*n->args), &args);
	if (rc)
		return rc;
	n->op = op;
	n->type = type;
	n->args = args;
	n->nargs = nargs;
	*out = n;
	return SR_OK;
}

static int unary(struct binder *b, enum sr_expr_op op, enum sr_type type,
		 struct sr_expr_node *arg, struct sr_expr_node **out)
{
	int rc = node_new(b, op, type, 1, out);

	if (rc == SR_OK)
		(*out)->args[0] = arg;
	return rc;
}

static int binary(struct binder *b, enum sr_expr_op op, enum sr_type type,
		  struct sr_expr_node *left, struct sr_expr_node *right,
		  struct sr_expr_node **out)
{
	int rc = node_new(b, op, type, 2, out);

	if (rc == SR_OK) {
		(*out)->args[0] = left;
		(*out)->args[1] = right;
	}
	return rc;
}

static int const_null(struct binder *b, enum sr_type type,
		      struct sr_expr_node **out)
{
	int rc = node_new(b, SR_OP_CONST, type, 0, out);

	if (rc == SR_OK)
		(*out)->is_null = 1;
	return rc;
}

/* An int64 operand where float64 is needed; others unchanged. */
static int to_float(struct binder *b, struct sr_expr_node **n)
{
	if ((*n)->type != SR_TYPE_INT64)
		return SR_OK;
	return unary(b, SR_OP_TO_F, SR_TYPE_FLOAT64, *n, n);
}

static int bind_node(struct binder *b, const struct sr_ast *a,
		     struct sr_expr_node **out);

/* ---- columns ------------------------------------------------------- */

/*
 * A quoted name matches exactly.  A bare name matches exactly, or else
 * the one column equal to it ignoring ASCII case (as SQL folds unquoted
 * names, without making "Age" and "age" one column).
 */
static int resolve(struct binder *b, const struct sr_ast *a, size_t *out)
{
	char shown[SR_LEX_SHOWN_SIZE], c1[SR_LEX_SHOWN_SIZE], c2[SR_LEX_SHOWN_SIZE];
	size_t len = a->v.str.len, found = b->ncols, second = b->ncols;

	for (size_t i = 0; i < b->ncols; i++)
		if (strlen(b->cols[i].name) == len &&
		    memcmp(b->cols[i].name, a->v.str.p, len) == 0) {
			*out = i;
			return SR_OK;
		}
	if (!a->quoted)
		for (size_t i = 0; i < b->ncols; i++) {
			if (strlen(b->cols[i].name) != len ||
			    strncasecmp(b->cols[i].name, a->v.str.p, len) != 0)
				continue;
			if (found == b->ncols)
				found = i;
			else if (second == b->ncols)
				second = i;
		}
	sr_lex_shown(a->v.str.p, len, shown);
	if (found < b->ncols && second < b->ncols)
		return fail(b, a->pos, SR_EINVAL,
			    "column name '%s' is ambiguous: it matches '%s' and '%s' (write the exact name in double quotes)",
			    shown,
			    sr_lex_shown(b->cols[found].name, strlen(b->cols[found].name), c1),
			    sr_lex_shown(b->cols[second].name, strlen(b->cols[second].name), c2));
	if (found < b->ncols) {
		*out = found;
		return SR_OK;
	}
	return fail(b, a->pos, SR_EINVAL, "unknown column '%s'", shown);
}

/* Column i of the schema. */
static int column_node(struct binder *b, size_t i, struct sr_expr_node **out)
{
	int rc = node_new(b, SR_OP_COLUMN, b->cols[i].type, 0, out);

	if (rc)
		return rc;
	(*out)->column = i;
	b->used[i] = 1;
	return SR_OK;
}

static int bind_column(struct binder *b, const struct sr_ast *a,
		       struct sr_expr_node **out)
{
	char shown[SR_LEX_SHOWN_SIZE];
	size_t i = 0;
	int rc;

	if (a->nqual)
		return fail(b, a->pos, SR_EINVAL,
			    "qualified name '%s' is not allowed in this expression (write the column name alone)",
			    sr_lex_shown(b->text + a->start, a->end - a->start, shown));
	rc = resolve(b, a, &i);
	return rc ? rc : column_node(b, i, out);
}

/* ---- literals ------------------------------------------------------ */

static int bind_literal(struct binder *b, const struct sr_ast *a,
			struct sr_expr_node **out)
{
	struct sr_expr_node *n;
	int rc;

	if (a->kind == SR_AST_NULL)
		return const_null(b, T_NULL, out);
	rc = node_new(b, SR_OP_CONST, SR_TYPE_BOOL, 0, &n);
	if (rc)
		return rc;
	switch (a->kind) {
	case SR_AST_BOOL:
		n->k.i = a->v.b != 0;
		break;
	case SR_AST_INT:
		n->type = SR_TYPE_INT64;
		n->k.i = a->v.i;
		break;
	case SR_AST_FLOAT:
		n->type = SR_TYPE_FLOAT64;
		n->k.f = a->v.f;
		break;
	case SR_AST_DATE:
		n->type = SR_TYPE_DATE;
		n->k.i = a->v.date;
		break;
	case SR_AST_STRING:
		n->type = SR_TYPE_STRING;
		rc = copy_text(b, a->v.str.p, a->v.str.len, &n->ks.p);
		if (rc)
			return rc;
		n->ks.len = a->v.str.len;
		break;
	default:
		SR_BUG("not a literal");
	}
	*out = n;
	return SR_OK;
}

static int is_literal(const struct sr_ast *a)
{
	switch (a->kind) {
	case SR_AST_NULL: case SR_AST_BOOL: case SR_AST_INT: case SR_AST_FLOAT:
	case SR_AST_STRING: case SR_AST_DATE:
		return 1;
	default:
		return 0;
	}
}

/* ---- arithmetic ---------------------------------------------------- */

static int bind_arith(struct binder *b, const struct sr_ast *a,
		      struct sr_expr_node **out)
{
	static const enum sr_expr_op int_op[] = {
		[SR_AST_ADD] = SR_OP_ADD_I, [SR_AST_SUB] = SR_OP_SUB_I,
		[SR_AST_MUL] = SR_OP_MUL_I, [SR_AST_DIV] = SR_OP_DIV_I,
	};
	static const enum sr_expr_op float_op[] = {
		[SR_AST_ADD] = SR_OP_ADD_F, [SR_AST_SUB] = SR_OP_SUB_F,
		[SR_AST_MUL] = SR_OP_MUL_F, [SR_AST_DIV] = SR_OP_DIV_F,
	};
	struct sr_expr_node *l, *r;
	enum sr_type lt, rt;
	int additive = a->kind == SR_AST_ADD || a->kind == SR_AST_SUB;
	int rc;

	rc = bind_node(b, a->args[0], &l);
	if (rc == SR_OK)
		rc = bind_node(b, a->args[1], &r);
	if (rc)
		return rc;
	lt = l->type;
	rt = r->type;
	if (lt == T_NULL || rt == T_NULL) {
		enum sr_type other = lt == T_NULL ? rt : lt;
		if (other == T_NULL || is_num(other) ||
		    (additive && other == SR_TYPE_DATE))
			return const_null(b, T_NULL, out);
	} else if (is_num(lt) && is_num(rt)) {
		if (lt == SR_TYPE_INT64 && rt == SR_TYPE_INT64)
			return binary(b, int_op[a->kind], SR_TYPE_INT64, l, r, out);
		rc = to_float(b, &l);
		if (rc == SR_OK)
			rc = to_float(b, &r);
		if (rc == SR_OK)
			rc = binary(b, float_op[a->kind], SR_TYPE_FLOAT64, l, r, out);
		return rc;
	} else if (a->kind == SR_AST_ADD && lt == SR_TYPE_DATE && rt == SR_TYPE_INT64) {
		return binary(b, SR_OP_DATE_ADD, SR_TYPE_DATE, l, r, out);
	} else if (a->kind == SR_AST_ADD && lt == SR_TYPE_INT64 && rt == SR_TYPE_DATE) {
		return binary(b, SR_OP_DATE_ADD, SR_TYPE_DATE, r, l, out);
	} else if (a->kind == SR_AST_SUB && lt == SR_TYPE_DATE && rt == SR_TYPE_INT64) {
		return binary(b, SR_OP_DATE_SUB, SR_TYPE_DATE, l, r, out);
	} else if (a->kind == SR_AST_SUB && lt == SR_TYPE_DATE && rt == SR_TYPE_DATE) {
		return binary(b, SR_OP_DATE_DIFF, SR_TYPE_INT64, l, r, out);
	}
	switch (a->kind) {
	case SR_AST_ADD:
		return fail(b, a->pos, SR_EINVAL,
			    "'+' needs numbers, or a date and int64 days, got %s and %s",
			    type_name(lt), type_name(rt));
	case SR_AST_SUB:
		return fail(b, a->pos, SR_EINVAL,
			    "'-' needs numbers, a date and int64 days, or two dates, got %s and %s",
			    type_name(lt), type_name(rt));
	default:
		return fail(b, a->pos, SR_EINVAL, "'%s' needs numbers, got %s and %s",
			    sr_ast_op_name(a->kind, 0), type_name(lt), type_name(rt));
	}
}

static int bind_neg(struct binder *b, const struct sr_ast *a,
		    struct sr_expr_node **out)
{
	struct sr_expr_node *x;
	int rc = bind_node(b, a->args[0], &x);

	if (rc)
		return rc;
	if (x->type == T_NULL)
		return const_null(b, T_NULL, out);
	if (x->type == SR_TYPE_INT64)
		return unary(b, SR_OP_NEG_I, SR_TYPE_INT64, x, out);
	if (x->type == SR_TYPE_FLOAT64)
		return unary(b, SR_OP_NEG_F, SR_TYPE_FLOAT64, x, out);
	return fail(b, a->pos, SR_EINVAL, "'-' needs a number, got %s",
		    type_name(x->type));
}

/* ---- comparisons --------------------------------------------------- */

static int comparable(enum sr_type x, enum sr_type y)
{
	return x == T_NULL || y == T_NULL || x == y || (is_num(x) && is_num(y));
}

static int fail_compare(struct binder *b, size_t at, enum sr_type x,
			enum sr_type y)
{
	const char *hint = "";

	if ((x == SR_TYPE_DATE && y == SR_TYPE_STRING) ||
	    (x == SR_TYPE_STRING && y == SR_TYPE_DATE))
		hint = " (write a date as DATE 'YYYY-MM-DD')";
	return fail(b, at, SR_EINVAL, "cannot compare %s with %s%s",
		    type_name(x), type_name(y), hint);
}

/*
 * The kernel family for comparing values of types ts[0..n) (all
 * comparable, none T_NULL): 'S'tring, 'F'loat when numbers mix or any
 * is float64, else 'I'nteger (int64, date, bool).
 */
static char compare_family(const enum sr_type *ts, size_t n)
{
	int any_float = 0;

	for (size_t i = 0; i < n; i++) {
		if (ts[i] == SR_TYPE_STRING)
			return 'S';
		if (ts[i] == SR_TYPE_FLOAT64)
			any_float = 1;
	}
	return any_float ? 'F' : 'I';
}

static int bind_compare(struct binder *b, const struct sr_ast *a,
			struct sr_expr_node **out)
{
	static const enum sr_expr_cmp cmp_of[] = {
		[SR_AST_EQ] = SR_CMP_EQ, [SR_AST_NE] = SR_CMP_NE,
		[SR_AST_LT] = SR_CMP_LT, [SR_AST_LE] = SR_CMP_LE,
		[SR_AST_GT] = SR_CMP_GT, [SR_AST_GE] = SR_CMP_GE,
	};
	struct sr_expr_node *l, *r;
	enum sr_type ts[2];
	char family;
	int rc;

	rc = bind_node(b, a->args[0], &l);
	if (rc == SR_OK)
		rc = bind_node(b, a->args[1], &r);
	if (rc)
		return rc;
	ts[0] = l->type;
	ts[1] = r->type;
	if (!comparable(ts[0], ts[1]))
		return fail_compare(b, a->pos, ts[0], ts[1]);
	if (ts[0] == T_NULL || ts[1] == T_NULL)
		return const_null(b, SR_TYPE_BOOL, out);
	family = compare_family(ts, 2);
	if (family == 'F') {
		rc = to_float(b, &l);
		if (rc == SR_OK)
			rc = to_float(b, &r);
	}
	if (rc == SR_OK)
		rc = binary(b, family == 'S' ? SR_OP_CMP_S :
			       family == 'F' ? SR_OP_CMP_F : SR_OP_CMP_I,
			    SR_TYPE_BOOL, l, r, out);
	if (rc == SR_OK)
		(*out)->cmp = cmp_of[a->kind];
	return rc;
}

/* x BETWEEN lo AND hi: one kernel, so x is evaluated once. */
static int bind_between(struct binder *b, const struct sr_ast *a,
			struct sr_expr_node **out)
{
	struct sr_expr_node *arg[3];
	enum sr_type ts[3];
	size_t n = 0;
	char family;
	int rc = SR_OK;

	for (size_t i = 0; i < 3 && rc == SR_OK; i++)
		rc = bind_node(b, a->args[i], &arg[i]);
	if (rc)
		return rc;
	for (size_t i = 1; i < 3; i++)
		if (!comparable(arg[0]->type, arg[i]->type))
			return fail_compare(b, a->pos, arg[0]->type, arg[i]->type);
	if (arg[0]->type == T_NULL)
		return const_null(b, SR_TYPE_BOOL, out);
	for (size_t i = 0; i < 3; i++)
		if (arg[i]->type != T_NULL)
			ts[n++] = arg[i]->type;
	family = compare_family(ts, n);
	for (size_t i = 0; i < 3 && rc == SR_OK; i++) {
		/* A NULL bound becomes a NULL of the kernel's type. */
		if (arg[i]->type == T_NULL)
			arg[i]->type = family == 'F' ? SR_TYPE_FLOAT64 : arg[0]->type;
		else if (family == 'F')
			rc = to_float(b, &arg[i]);
	}
	if (rc == SR_OK)
		rc = node_new(b, family == 'S' ? SR_OP_BETWEEN_S :
				 family == 'F' ? SR_OP_BETWEEN_F : SR_OP_BETWEEN_I,
			      SR_TYPE_BOOL, 3, out);
	if (rc)
		return rc;
	memcpy((*out)->args, arg, sizeof(arg));
	if (a->negated)
		rc = unary(b, SR_OP_NOT, SR_TYPE_BOOL, *out, out);
	return rc;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

static int cmp_f64(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static int cmp_str(const void *x, const void *y)
{
	const struct sr_expr_str *a = x, *b = y;
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/* Sort and drop duplicates; returns the new count. */
static size_t sort_unique(void *base, size_t count, size_t size,
			  int (*cmp)(const void *, const void *))
{
	unsigned char *p = base;
	size_t n = 0;

	if (count == 0)
		return 0;
	qsort(base, count, size, cmp);
	for (size_t i = 1; i < count; i++)
		if (cmp(p + n * size, p + i * size) != 0) {
			n++;
			if (n != i)
				memcpy(p + n * size, p + i * size, size);
		}
	return n + 1;
}

/* x [NOT] IN (literal, ...): a sorted set searched per row. */
static int bind_in(struct binder *b, const struct sr_ast *a,
		   struct sr_expr_node **out)
{
	struct sr_expr_node *x, *n, *item;
	size_t items = a->nargs - 1, count = 0;
	char family;
	int rc, has_null = 0;

	rc = bind_node(b, a->args[0], &x);
	if (rc)
		return rc;
	family = x->type == SR_TYPE_STRING ? 'S' :
		 x->type == SR_TYPE_FLOAT64 ? 'F' : 'I';
	for (size_t i = 1; i < a->nargs; i++) {
		const struct sr_ast *it = a->args[i];
		if (!is_literal(it))
			return fail(b, it->start, SR_EINVAL,
				    "IN lists hold literals (numbers, strings, DATE '...', TRUE, FALSE or NULL), not expressions");
		rc = bind_node(b, it, &item);
		if (rc)
			return rc;
		if (!comparable(x->type, item->type))
			return fail_compare(b, it->start, x->type, item->type);
		if (item->type == SR_TYPE_FLOAT64)
			family = 'F';
	}
	if (x->type == T_NULL)
		return const_null(b, SR_TYPE_BOOL, out);
	if (family == 'F') {
		rc = to_float(b, &x);
		if (rc)
			return rc;
	}
	rc = node_new(b, family == 'S' ? SR_OP_IN_S :
			 family == 'F' ? SR_OP_IN_F : SR_OP_IN_I,
		      SR_TYPE_BOOL, 1, &n);
	if (rc == SR_OK)
		rc = alloc(b, items * (family == 'S' ? sizeof(struct sr_expr_str) : 8),
			   family == 'S' ? (void **)&n->set.s :
			   family == 'F' ? (void **)&n->set.f : (void **)&n->set.i);
	if (rc)
		return rc;
	n->args[0] = x;
	for (size_t i = 1; i < a->nargs; i++) {
		const struct sr_ast *it = a->args[i];
		switch (it->kind) {
		case SR_AST_NULL:
			has_null = 1;
			break;
		case SR_AST_STRING:
			/* The tree outlives the call only as long as the
			 * caller keeps it: copy into the program. */
			rc = copy_text(b, it->v.str.p, it->v.str.len,
				       &n->set.s[count].p);
			if (rc)
				return rc;
			n->set.s[count++].len = it->v.str.len;
			break;
		case SR_AST_FLOAT:
			n->set.f[count++] = it->v.f;
			break;
		case SR_AST_INT:
			if (family == 'F')
				n->set.f[count++] = (double)it->v.i;
			else
				n->set.i[count++] = it->v.i;
			break;
		case SR_AST_DATE:
			n->set.i[count++] = it->v.date;
			break;
		case SR_AST_BOOL:
			n->set.i[count++] = it->v.b != 0;
			break;
		default:
			SR_BUG("not a literal");
		}
	}
	n->set.has_null = has_null;
	n->set.count = family == 'S' ? sort_unique(n->set.s, count, sizeof(*n->set.s), cmp_str) :
		       family == 'F' ? sort_unique(n->set.f, count, sizeof(double), cmp_f64) :
		       sort_unique(n->set.i, count, sizeof(int64_t), cmp_i64);
	*out = n;
	if (a->negated)
		rc = unary(b, SR_OP_NOT, SR_TYPE_BOOL, n, out);
	return rc;
}

/*
 * x [NOT] LIKE 'pattern': only 'prefix%' (starts with) and 'text'
 * (equals).  A '%' elsewhere or any '_' is refused at its own position,
 * found by walking the literal as written ('' is one character).
 */
static int bind_like(struct binder *b, const struct sr_ast *a,
		     struct sr_expr_node **out)
{
	const struct sr_ast *pat = a->args[1];
	char shown[SR_LEX_SHOWN_SIZE];
	struct sr_expr_node *x, *n;
	size_t src, plen;
	int rc;

	rc = bind_node(b, a->args[0], &x);
	if (rc)
		return rc;
	if (x->type != SR_TYPE_STRING && x->type != T_NULL)
		return fail(b, a->args[0]->start, SR_EINVAL,
			    "LIKE needs a string, got %s", type_name(x->type));
	if (pat->kind != SR_AST_STRING)
		return fail(b, pat->start, SR_EINVAL,
			    "LIKE needs a string literal pattern such as 'abc%%', got %s",
			    sr_lex_shown(b->text + pat->start, pat->end - pat->start, shown));
	sr_lex_shown(pat->v.str.p, pat->v.str.len, shown);
	plen = pat->v.str.len;
	src = pat->pos + 1;
	for (size_t k = 0; k < pat->v.str.len; k++) {
		char c = pat->v.str.p[k];
		if (c == '_')
			return fail(b, src, SR_EINVAL,
				    "LIKE pattern '%s': '_' (any one character) is not supported, only prefix patterns such as 'abc%%'",
				    shown);
		if (c == '%' && k + 1 < pat->v.str.len)
			return fail(b, src, SR_EINVAL,
				    "LIKE pattern '%s': '%%' is supported only at the end, as in 'abc%%'",
				    shown);
		if (c == '%')
			plen = k;
		src += c == '\'' ? 2 : 1;
	}
	if (x->type == T_NULL)
		return const_null(b, SR_TYPE_BOOL, out);
	rc = unary(b, plen < pat->v.str.len ? SR_OP_LIKE_PREFIX : SR_OP_LIKE_EXACT,
		   SR_TYPE_BOOL, x, &n);
	if (rc == SR_OK)
		rc = copy_text(b, pat->v.str.p, plen, &n->ks.p);
	if (rc)
		return rc;
	n->ks.len = plen;
	*out = n;
	if (a->negated)
		rc = unary(b, SR_OP_NOT, SR_TYPE_BOOL, n, out);
	return rc;
}

/* ---- functions ----------------------------------------------------- */

static const struct {
	const char *name;
	enum sr_expr_date_unit unit;
} date_units[] = {
	{ "year", SR_DATE_UNIT_YEAR }, { "quarter", SR_DATE_UNIT_QUARTER },
	{ "month", SR_DATE_UNIT_MONTH }, { "week", SR_DATE_UNIT_WEEK },
	{ "day", SR_DATE_UNIT_DAY },
};

/* year(d), month(d), date_trunc('unit', d): d is a date (or NULL). */
static int bind_call(struct binder *b, const struct sr_ast *a,
		     struct sr_expr_node **out)
{
	const char *name = sr_ast_func_name(a->func);
	const struct sr_ast *date_arg;
	enum sr_type result;
	struct sr_expr_node *x;
	int64_t unit = 0;
	int rc;

	if (sr_ast_is_aggregate(a))
		return fail(b, a->pos, SR_EINVAL,
			    "aggregate %s() is not allowed in this expression", name);
	if (a->func == SR_FUNC_DATE_TRUNC) {
		const struct sr_ast *u = a->args[0];
		for (size_t i = 0; u->kind == SR_AST_STRING &&
		     i < sizeof(date_units) / sizeof(*date_units); i++)
			if (strlen(date_units[i].name) == u->v.str.len &&
			    strncasecmp(date_units[i].name, u->v.str.p, u->v.str.len) == 0)
				unit = date_units[i].unit;
		if (!unit)
			return fail(b, u->start, SR_EINVAL,
				    "date_trunc needs its unit as a string: 'year', 'quarter', 'month', 'week' or 'day'");
		date_arg = a->args[1];
		result = SR_TYPE_DATE;
	} else if (a->func == SR_FUNC_YEAR || a->func == SR_FUNC_MONTH) {
		date_arg = a->args[0];
		result = SR_TYPE_INT64;
	} else {
		return sr_fail(b->err, SR_EINTERNAL, "expression: unknown function %d",
			       (int)a->func);
	}
	rc = bind_node(b, date_arg, &x);
	if (rc)
		return rc;
	if (x->type == T_NULL)
		return const_null(b, result, out);
	if (x->type != SR_TYPE_DATE)
		return fail(b, date_arg->start, SR_EINVAL, "%s needs a date, got %s",
			    name, type_name(x->type));
	rc = unary(b, a->func == SR_FUNC_YEAR ? SR_OP_YEAR :
		      a->func == SR_FUNC_MONTH ? SR_OP_MONTH : SR_OP_DATE_TRUNC,
		   result, x, out);
	if (rc == SR_OK)
		(*out)->k.i = unit;
	return rc;
}

/*
 * CASE WHEN c THEN v ... [ELSE e] END: conditions are boolean; the values
 * have one type (numbers mix to float64; NULL fits any).  Lowered to
 * (cond, value, ..., else) with a NULL ELSE when there is none.
 */
static int bind_case(struct binder *b, const struct sr_ast *a,
		     struct sr_expr_node **out)
{
	size_t pairs = (a->nargs - ((a->flags & SR_AST_ELSE) ? 1 : 0)) / 2;
	struct sr_expr_node *n;
	enum sr_type type = T_NULL;
	int rc;

	rc = node_new(b, SR_OP_CASE, T_NULL, 2 * pairs + 1, &n);
	for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
		const struct sr_ast *arg = a->args[i];
		enum sr_type t;
		rc = bind_node(b, arg, &n->args[i]);
		if (rc)
			return rc;
		t = n->args[i]->type;
		if (i % 2 == 0 && i != 2 * pairs) {   /* a condition */
			if (t == T_NULL)
				n->args[i]->type = SR_TYPE_BOOL;
			else if (t != SR_TYPE_BOOL)
				return fail(b, arg->start, SR_EINVAL,
					    "CASE WHEN needs a boolean condition, got %s",
					    type_name(t));
		} else if (t == T_NULL) {
			continue;
		} else if (type == T_NULL) {
			type = t;
		} else if (is_num(type) && is_num(t)) {
			if (t == SR_TYPE_FLOAT64)
				type = t;
		} else if (t != type) {
			return fail(b, arg->start, SR_EINVAL,
				    "CASE values must have one type, got %s after %s",
				    type_name(t), type_name(type));
		}
	}
	if (rc)
		return rc;
	if (type == T_NULL)
		return const_null(b, T_NULL, out);
	if (!(a->flags & SR_AST_ELSE))
		rc = const_null(b, type, &n->args[2 * pairs]);
	for (size_t i = 1; rc == SR_OK && i <= 2 * pairs; i++) {
		if (i % 2 == 0 && i != 2 * pairs)
			continue;   /* a condition */
		if (n->args[i]->type == T_NULL)
			n->args[i]->type = type;   /* a NULL constant of the type */
		else if (type == SR_TYPE_FLOAT64)
			rc = to_float(b, &n->args[i]);
	}
	n->type = type;
	if (rc == SR_OK)
		*out = n;
	return rc;
}

/* ---- logic --------------------------------------------------------- */

static int need_bool(struct binder *b, const struct sr_ast *a,
		     const struct sr_expr_node *n, const char *op)
{
	if (n->type == SR_TYPE_BOOL || n->type == T_NULL)
		return SR_OK;
	return fail(b, a->start, SR_EINVAL, "%s needs %s, got %s", op,
		    strcmp(op, "NOT") == 0 ? "a boolean" : "boolean operands",
		    type_name(n->type));
}

static int bind_logic(struct binder *b, const struct sr_ast *a,
		      struct sr_expr_node **out)
{
	const char *op = sr_ast_op_name(a->kind, 0);
	struct sr_expr_node *n, *x;
	int rc;

	if (a->kind == SR_AST_NOT) {
		rc = bind_node(b, a->args[0], &x);
		if (rc == SR_OK)
			rc = need_bool(b, a->args[0], x, op);
		if (rc == SR_OK && x->type == T_NULL)
			return const_null(b, SR_TYPE_BOOL, out);
		if (rc == SR_OK)
			rc = unary(b, SR_OP_NOT, SR_TYPE_BOOL, x, out);
		return rc;
	}
	rc = node_new(b, a->kind == SR_AST_AND ? SR_OP_AND : SR_OP_OR,
		      SR_TYPE_BOOL, a->nargs, &n);
	for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
		rc = bind_node(b, a->args[i], &n->args[i]);
		if (rc == SR_OK)
			rc = need_bool(b, a->args[i], n->args[i], op);
	}
	if (rc == SR_OK)
		*out = n;
	return rc;
}

static int bind_is_null(struct binder *b, const struct sr_ast *a,
			struct sr_expr_node **out)
{
	struct sr_expr_node *x;
	int rc = bind_node(b, a->args[0], &x);

	if (rc)
		return rc;
	return unary(b, a->negated ? SR_OP_IS_NOT_NULL : SR_OP_IS_NULL,
		     SR_TYPE_BOOL, x, out);
}

static int bind_node(struct binder *b, const struct sr_ast *a,
		     struct sr_expr_node **out)
{
	if (b->resolver) {
		size_t column = SR_EXPR_UNRESOLVED;
		int rc = b->resolver->resolve(b->resolver->ctx, a, &column, b->err);
		if (rc)
			return rc;
		if (column != SR_EXPR_UNRESOLVED) {
			if (column >= b->ncols)
				return sr_fail(b->err, SR_EINTERNAL,
					       "expression: resolver gave column %zu of %zu",
					       column, b->ncols);
			return column_node(b, column, out);
		}
	}
	switch (a->kind) {
	case SR_AST_NULL: case SR_AST_BOOL: case SR_AST_INT: case SR_AST_FLOAT:
	case SR_AST_STRING: case SR_AST_DATE:
		return bind_literal(b, a, out);
	case SR_AST_COLUMN:
		return bind_column(b, a, out);
	case SR_AST_NEG:
		return bind_neg(b, a, out);
	case SR_AST_ADD: case SR_AST_SUB: case SR_AST_MUL: case SR_AST_DIV:
		return bind_arith(b, a, out);
	case SR_AST_EQ: case SR_AST_NE: case SR_AST_LT: case SR_AST_LE:
	case SR_AST_GT: case SR_AST_GE:
		return bind_compare(b, a, out);
	case SR_AST_NOT: case SR_AST_AND: case SR_AST_OR:
		return bind_logic(b, a, out);
	case SR_AST_IS_NULL:
		return bind_is_null(b, a, out);
	case SR_AST_IN:
		return bind_in(b, a, out);
	case SR_AST_BETWEEN:
		return bind_between(b, a, out);
	case SR_AST_LIKE:
		return bind_like(b, a, out);
	case SR_AST_CALL:
		return bind_call(b, a, out);
	case SR_AST_CASE:
		return bind_case(b, a, out);
	}
	return sr_fail(b->err, SR_EINTERNAL, "expression: unknown tree node %d",
		       (int)a->kind);
}

/* ---- scratch layout ------------------------------------------------ */

/*
 * Slots each node needs, in the order eval.c uses them: a node writes
 * slot d; a unary node evaluates its argument into d + 1, a binary one
 * into d + 1 and d + 2, BETWEEN into d + 1..3; AND and OR fold every
 * term into d, evaluating the later ones into d + 1.
 */
/* The slot above d where argument i of n is evaluated. */
static unsigned arg_slot(const struct sr_expr_node *n, size_t i)
{
	if (n->op == SR_OP_AND || n->op == SR_OP_OR)
		return i == 0 ? 0 : 1;
	if (n->op == SR_OP_CASE)   /* ELSE into d, each WHEN into d+1, THEN d+2 */
		return i + 1 == n->nargs ? 0 : i % 2 == 0 ? 1 : 2;
	return (unsigned)i + 1;
}

static unsigned count_slots(struct sr_expr_node *n)
{
	unsigned need = 1;

	for (size_t i = 0; i < n->nargs; i++) {
		unsigned sub = count_slots(n->args[i]);
		unsigned at = arg_slot(n, i);
		if (at + sub > need)
			need = at + sub;
	}
	n->slots = need;
	return need;
}

static void mark_strings(const struct sr_expr_node *n, unsigned d, uint8_t *marks)
{
	if (n->type == SR_TYPE_STRING)
		marks[d] = 1;
	for (size_t i = 0; i < n->nargs; i++)
		mark_strings(n->args[i], d + arg_slot(n, i), marks);
}

/* ---- entry points -------------------------------------------------- */

static int finish(struct binder *b)
{
	struct sr_expr *e = b->e;
	int rc;

	e->slots = count_slots(e->root);
	rc = alloc(b, e->slots, (void **)&e->string_slot);
	if (rc)
		return rc;
	mark_strings(e->root, 0, e->string_slot);
	for (size_t i = 0; i < b->ncols; i++)
		e->nused += b->used[i];
	rc = alloc(b, (e->nused ? e->nused : 1) * sizeof(*e->used), (void **)&e->used);
	if (rc == SR_OK)
		rc = alloc(b, (e->nused ? e->nused : 1) * sizeof(*e->used_names),
			   (void **)&e->used_names);
	if (rc == SR_OK)
		rc = alloc(b, (e->nused ? e->nused : 1) * sizeof(*e->used_types),
			   (void **)&e->used_types);
	for (size_t i = 0, k = 0; rc == SR_OK && i < b->ncols; i++) {
		if (!b->used[i])
			continue;
		rc = copy_text(b, b->cols[i].name, strlen(b->cols[i].name),
			       &e->used_names[k]);
		if (rc)
			return rc;
		e->used[k] = i;
		e->used_types[k++] = b->cols[i].type;
	}
	return rc;
}

int sr_expr_bind_with(const struct sr_ast *ast, const char *text, size_t len,
		      const struct sr_expr_column *cols, size_t ncols,
		      unsigned flags, const struct sr_expr_resolver *resolver,
		      struct sr_expr **out, struct sr_err *err)
{
	struct binder b = {
		.text = text, .len = len, .cols = cols, .ncols = ncols,
		.resolver = resolver, .err = err,
	};
	struct sr_expr *e;
	int rc;

	*out = NULL;
	e = sr_calloc(1, sizeof(*e));
	b.used = sr_calloc(ncols ? ncols : 1, 1);
	if (!e || !b.used) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	sr_arena_init(&e->arena, SR_EXPR_TREE_BYTES_MAX);
	e->ncols = ncols;
	b.e = e;
	rc = bind_node(&b, ast, &e->root);
	if (rc)
		goto out;
	e->type = e->root->type;
	if ((flags & SR_EXPR_PREDICATE) && e->type != SR_TYPE_BOOL &&
	    e->type != T_NULL) {
		rc = fail(&b, ast->start, SR_EINVAL,
			  "expected a boolean predicate, got a value of type %s",
			  type_name(e->type));
		goto out;
	}
	if (e->type == T_NULL)
		e->type = e->root->type = SR_TYPE_BOOL;
	rc = finish(&b);
out:
	sr_free(b.used);
	if (rc)
		sr_expr_free(e);
	else
		*out = e;
	return rc;
}

int sr_expr_bind(const struct sr_ast *ast, const char *text, size_t len,
		 const struct sr_expr_column *cols, size_t ncols,
		 unsigned flags, struct sr_expr **out, struct sr_err *err)
{
	return sr_expr_bind_with(ast, text, len, cols, ncols, flags, NULL, out, err);
}

int sr_expr_compile(const char *text, size_t len,
		    const struct sr_expr_column *cols, size_t ncols,
		    struct sr_expr **out, struct sr_err *err)
{
	struct sr_arena tree;
	struct sr_ast *ast;
	struct sr_lex lex;
	struct sr_token tok;
	char got[SR_LEX_TOKEN_SIZE];
	int rc;

	*out = NULL;
	if (!text && len == 0)
		text = "";
	if (len > SR_EXPR_TEXT_MAX)
		return sr_lex_fail(text, len, SR_EXPR_TEXT_MAX, err, SR_ELIMIT,
				   "expression longer than the limit of %u bytes",
				   (unsigned)SR_EXPR_TEXT_MAX);
	sr_arena_init(&tree, SR_EXPR_TREE_BYTES_MAX);
	sr_lex_init(&lex, text, len, 0);
	rc = sr_ast_parse(&lex, &tree, &ast, err);
	if (rc == SR_OK)
		rc = sr_lex_peek(&lex, &tok, err);
	if (rc == SR_OK && tok.kind != SR_TOK_EOF)
		rc = sr_lex_fail(text, len, tok.start, err, SR_EINVAL,
				 "expected an operator or the end of the expression, got %s",
				 sr_lex_show(text, &tok, got));
	if (rc == SR_OK)
		rc = sr_expr_bind(ast, text, len, cols, ncols, SR_EXPR_PREDICATE,
				  out, err);
	sr_arena_release(&tree);
	return rc;
}

void sr_expr_free(struct sr_expr *e)
{
	if (!e)
		return;
	sr_arena_release(&e->arena);
	sr_free(e);
}

enum sr_type sr_expr_type(const struct sr_expr *e)
{
	return e->type;
}

size_t sr_expr_ncolumns_used(const struct sr_expr *e)
{
	return e->nused;
}

size_t sr_expr_column_used(const struct sr_expr *e, size_t i)
{
	return i < e->nused ? e->used[i] : e->ncols;
}
