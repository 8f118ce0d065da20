/*
 * eval.c - vectorized evaluation of a compiled expression (expr_int.h):
 * the tree is walked once per step of up to SR_EXPR_BATCH_ROWS rows, and
 * each node runs one tight loop over the step, writing a value and a
 * NULL byte per row into its scratch slot.
 *
 * NULL rows carry an arbitrary value that no kernel may depend on: every
 * kernel decides from the NULL bytes first, and integer kernels use
 * checked arithmetic so that a garbage value cannot be undefined
 * behaviour.  No kernel can fail: scratch memory is allocated once per
 * call, before the first step.
 */
#include "expr/expr.h"
#include "expr/expr_int.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

struct slot {
	uint8_t *null;               /* 1 = NULL */
	union sr_expr_num *v;
	struct sr_expr_str *s;       /* only in slots that hold strings */
};

struct run {
	const struct sr_vec *const *cols;
	size_t base;                 /* first row of the step */
	size_t m;                    /* rows in the step */
	struct slot *slots;
};

static void eval(struct run *run, const struct sr_expr_node *n, unsigned d);

/* ---- leaves -------------------------------------------------------- */

static void load_column(struct run *run, const struct sr_expr_node *n,
			struct slot *out)
{
	const struct sr_vec *vec = run->cols[n->column];
	size_t base = run->base, m = run->m;

	if (vec->null_count == 0) {
		memset(out->null, 0, m);
	} else {
		for (size_t r = 0; r < m; r++)
			out->null[r] = (uint8_t)sr_vec_is_null(vec, base + r);
	}
	switch (vec->type) {
	case SR_TYPE_INT64:
		for (size_t r = 0; r < m; r++)
			out->v[r].i = vec->v.i64[base + r];
		break;
	case SR_TYPE_FLOAT64:
		for (size_t r = 0; r < m; r++)
			out->v[r].f = vec->v.f64[base + r];
		break;
	case SR_TYPE_DATE:
		for (size_t r = 0; r < m; r++)
			out->v[r].i = vec->v.date[base + r];
		break;
	case SR_TYPE_BOOL:
		for (size_t r = 0; r < m; r++)
			out->v[r].i = vec->v.b[base + r] != 0;
		break;
	case SR_TYPE_STRING:
		for (size_t r = 0; r < m; r++) {
			uint32_t from = vec->offsets[base + r];
			out->s[r].p = vec->bytes.data + from;
			out->s[r].len = vec->offsets[base + r + 1] - from;
		}
		break;
	}
}

static void load_const(struct run *run, const struct sr_expr_node *n,
		       struct slot *out)
{
	size_t m = run->m;

	memset(out->null, n->is_null, m);
	if (n->is_null) {
		/* No kernel depends on the value under a NULL, but none
		 * reads uninitialized scratch either, and a NULL string
		 * still points somewhere. */
		memset(out->v, 0, m * sizeof(*out->v));
		if (out->s)
			for (size_t r = 0; r < m; r++)
				out->s[r] = (struct sr_expr_str){ "", 0 };
		return;
	}
	if (n->type == SR_TYPE_STRING) {
		for (size_t r = 0; r < m; r++)
			out->s[r] = n->ks;
	} else {
		for (size_t r = 0; r < m; r++)
			out->v[r] = n->k;
	}
}

/* ---- arithmetic ---------------------------------------------------- */

/* out = f(a, b) row by row, NULL when either is or when f says so. */
#define ARITH_I(expr_ok)                                                \
	for (size_t r = 0; r < m; r++) {                                \
		int64_t x = a->v[r].i, y = b->v[r].i, z = 0;            \
		int bad = !(expr_ok);                                   \
		out->null[r] = (uint8_t)(a->null[r] | b->null[r] | bad); \
		out->v[r].i = bad ? 0 : z;                              \
	}

#define ARITH_F(op)                                                     \
	for (size_t r = 0; r < m; r++) {                                \
		double z = a->v[r].f op b->v[r].f;                      \
		out->null[r] = (uint8_t)(a->null[r] | b->null[r] | !isfinite(z)); \
		out->v[r].f = z;                                        \
	}

static void arith(struct run *run, const struct sr_expr_node *n,
		  const struct slot *a, const struct slot *b, struct slot *out)
{
	size_t m = run->m;

	switch (n->op) {
	case SR_OP_ADD_I:
		ARITH_I(!__builtin_add_overflow(x, y, &z));
		break;
	case SR_OP_SUB_I:
		ARITH_I(!__builtin_sub_overflow(x, y, &z));
		break;
	case SR_OP_MUL_I:
		ARITH_I(!__builtin_mul_overflow(x, y, &z));
		break;
	case SR_OP_DIV_I:
		/* C's division truncates toward zero, as SQL's does. */
		ARITH_I(y != 0 && !(x == INT64_MIN && y == -1) && ((z = x / y), 1));
		break;
	case SR_OP_ADD_F:
		ARITH_F(+);
		break;
	case SR_OP_SUB_F:
		ARITH_F(-);
		break;
	case SR_OP_MUL_F:
		ARITH_F(*);
		break;
	case SR_OP_DIV_F:
		/* x / 0 is infinite or NaN: NULL with the others. */
		ARITH_F(/);
		break;
	case SR_OP_DATE_ADD:
		ARITH_I(!__builtin_add_overflow(x, y, &z) &&
			z >= SR_EXPR_DATE_MIN && z <= SR_EXPR_DATE_MAX);
		break;
	case SR_OP_DATE_SUB:
		ARITH_I(!__builtin_sub_overflow(x, y, &z) &&
			z >= SR_EXPR_DATE_MIN && z <= SR_EXPR_DATE_MAX);
		break;
	case SR_OP_DATE_DIFF:
		ARITH_I(!__builtin_sub_overflow(x, y, &z));
		break;
	default:
		SR_BUG("not an arithmetic operation");
	}
}

static void unary_num(struct run *run, const struct sr_expr_node *n,
		      const struct slot *a, struct slot *out)
{
	size_t m = run->m;

	memcpy(out->null, a->null, m);
	switch (n->op) {
	case SR_OP_NEG_I:
		for (size_t r = 0; r < m; r++) {
			int64_t x = a->v[r].i;
			out->null[r] |= x == INT64_MIN;
			out->v[r].i = x == INT64_MIN ? 0 : -x;
		}
		break;
	case SR_OP_NEG_F:
		for (size_t r = 0; r < m; r++)
			out->v[r].f = -a->v[r].f;
		break;
	case SR_OP_TO_F:
		for (size_t r = 0; r < m; r++)
			out->v[r].f = (double)a->v[r].i;
		break;
	default:
		SR_BUG("not a unary operation");
	}
}

/* ---- comparisons --------------------------------------------------- */

static int str_cmp(const struct sr_expr_str *a, const struct sr_expr_str *b)
{
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/* One loop per operator, so the comparison is not decided per row. */
#define CMP_LOOP(get, OP)                                               \
	for (size_t r = 0; r < m; r++)                                  \
		out->v[r].i = get(a, r) OP get(b, r);

#define CMP_ALL(get)                                                    \
	switch (n->cmp) {                                               \
	case SR_CMP_EQ: CMP_LOOP(get, ==); break;                       \
	case SR_CMP_NE: CMP_LOOP(get, !=); break;                       \
	case SR_CMP_LT: CMP_LOOP(get, <); break;                        \
	case SR_CMP_LE: CMP_LOOP(get, <=); break;                       \
	case SR_CMP_GT: CMP_LOOP(get, >); break;                        \
	case SR_CMP_GE: CMP_LOOP(get, >=); break;                       \
	}

#define GET_I(s, r) ((s)->v[r].i)
#define GET_F(s, r) ((s)->v[r].f)

static void compare(struct run *run, const struct sr_expr_node *n,
		    const struct slot *a, const struct slot *b, struct slot *out)
{
	size_t m = run->m;

	for (size_t r = 0; r < m; r++)
		out->null[r] = a->null[r] | b->null[r];
	if (n->op == SR_OP_CMP_I) {
		CMP_ALL(GET_I);
	} else if (n->op == SR_OP_CMP_F) {
		CMP_ALL(GET_F);
	} else {
		for (size_t r = 0; r < m; r++) {
			int c = out->null[r] ? 0 : str_cmp(&a->s[r], &b->s[r]);
			switch (n->cmp) {
			case SR_CMP_EQ: c = c == 0; break;
			case SR_CMP_NE: c = c != 0; break;
			case SR_CMP_LT: c = c < 0; break;
			case SR_CMP_LE: c = c <= 0; break;
			case SR_CMP_GT: c = c > 0; break;
			case SR_CMP_GE: c = c >= 0; break;
			}
			out->v[r].i = c;
		}
	}
}

/*
 * lo <= x AND x <= hi in three-valued logic: FALSE as soon as one side is
 * known FALSE (x below a NULL-free lo, say), else NULL if anything is.
 */
static void between(struct run *run, const struct sr_expr_node *n,
		    const struct slot *x, const struct slot *lo,
		    const struct slot *hi, struct slot *out)
{
	size_t m = run->m;

	for (size_t r = 0; r < m; r++) {
		int ge, le;
		if (n->op == SR_OP_BETWEEN_I) {
			ge = x->v[r].i >= lo->v[r].i;
			le = x->v[r].i <= hi->v[r].i;
		} else if (n->op == SR_OP_BETWEEN_F) {
			ge = x->v[r].f >= lo->v[r].f;
			le = x->v[r].f <= hi->v[r].f;
		} else {
			ge = !x->null[r] && !lo->null[r] && str_cmp(&x->s[r], &lo->s[r]) >= 0;
			le = !x->null[r] && !hi->null[r] && str_cmp(&x->s[r], &hi->s[r]) <= 0;
		}
		int ge_null = x->null[r] | lo->null[r];
		int le_null = x->null[r] | hi->null[r];
		int is_false = (!ge_null && !ge) || (!le_null && !le);
		out->null[r] = (uint8_t)(!is_false && (ge_null || le_null));
		out->v[r].i = !is_false && !ge_null && !le_null;
	}
}

/* ---- logic --------------------------------------------------------- */

/*
 * Fold term b into acc for AND (is_and) or OR.  Returns 1 when every row
 * is decided (all FALSE for AND, all TRUE for OR), so later terms cannot
 * change the result and are skipped: evaluation has no side effects.
 */
static int fold_logic(size_t m, int is_and, struct slot *acc,
		      const struct slot *b)
{
	size_t decided = 0;

	for (size_t r = 0; r < m; r++) {
		int an = acc->null[r], bn = b->null[r];
		int av = !an && acc->v[r].i, bv = !bn && b->v[r].i;
		int known;     /* FALSE for AND, TRUE for OR */
		if (is_and)
			known = (!an && !av) || (!bn && !bv);
		else
			known = av || bv;
		acc->null[r] = (uint8_t)(!known && (an || bn));
		acc->v[r].i = is_and ? !known && !an && !bn : known;
		decided += (size_t)known;
	}
	return decided == m;
}

static int all_decided(size_t m, int is_and, const struct slot *s)
{
	for (size_t r = 0; r < m; r++)
		if (s->null[r] || (s->v[r].i != 0) == is_and)
			return 0;
	return 1;
}

/* ---- sets and patterns --------------------------------------------- */

static int in_i64(const int64_t *set, size_t count, int64_t x)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && set[lo] == x;
}

static int in_f64(const double *set, size_t count, double x)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && set[lo] == x;
}

static int in_str(const struct sr_expr_str *set, size_t count,
		  const struct sr_expr_str *x)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (str_cmp(&set[mid], x) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && str_cmp(&set[lo], x) == 0;
}

/* x IN set: TRUE if found; else NULL if x or an item is NULL; else FALSE. */
static void in_set(struct run *run, const struct sr_expr_node *n,
		   const struct slot *x, struct slot *out)
{
	size_t m = run->m, count = n->set.count;

	for (size_t r = 0; r < m; r++) {
		int found = 0;
		if (!x->null[r]) {
			if (n->op == SR_OP_IN_I)
				found = in_i64(n->set.i, count, x->v[r].i);
			else if (n->op == SR_OP_IN_F)
				found = in_f64(n->set.f, count, x->v[r].f);
			else
				found = in_str(n->set.s, count, &x->s[r]);
		}
		out->v[r].i = found;
		out->null[r] = (uint8_t)(!found && (x->null[r] || n->set.has_null));
	}
}

static void like(struct run *run, const struct sr_expr_node *n,
		 const struct slot *x, struct slot *out)
{
	const struct sr_expr_str *pat = &n->ks;
	int exact = n->op == SR_OP_LIKE_EXACT;
	size_t m = run->m;

	memcpy(out->null, x->null, m);
	for (size_t r = 0; r < m; r++) {
		const struct sr_expr_str *s = &x->s[r];
		out->v[r].i = !x->null[r] &&
			(exact ? s->len == pat->len : s->len >= pat->len) &&
			memcmp(s->p, pat->p, pat->len) == 0;
	}
}

/* ---- dates --------------------------------------------------------- */

/*
 * Proleptic Gregorian calendar from and to days since 1970-01-01 (Howard
 * Hinnant's algorithms), for days within SR_EXPR_DATE_MIN..MAX only.
 */
static void civil_from_days(int64_t z, int64_t *year, unsigned *month,
			    unsigned *day)
{
	int64_t era, y;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = y + (*month <= 2);
}

static int64_t days_from_civil(int64_t y, unsigned month, unsigned day)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= month <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void date_part(struct run *run, const struct sr_expr_node *n,
		      const struct slot *a, struct slot *out)
{
	size_t m = run->m;

	for (size_t r = 0; r < m; r++) {
		int64_t z = a->v[r].i, y, v = 0;
		unsigned month, day;
		/* The value under a NULL is arbitrary: never compute on it. */
		int bad = a->null[r] || z < SR_EXPR_DATE_MIN || z > SR_EXPR_DATE_MAX;
		out->null[r] = (uint8_t)bad;
		if (!bad) {
			civil_from_days(z, &y, &month, &day);
			switch (n->op == SR_OP_DATE_TRUNC ? n->k.i : 0) {
			case 0:
				v = n->op == SR_OP_YEAR ? y : (int64_t)month;
				break;
			case SR_DATE_UNIT_YEAR:
				v = days_from_civil(y, 1, 1);
				break;
			case SR_DATE_UNIT_QUARTER:
				v = days_from_civil(y, (month - 1) / 3 * 3 + 1, 1);
				break;
			case SR_DATE_UNIT_MONTH:
				v = days_from_civil(y, month, 1);
				break;
			case SR_DATE_UNIT_WEEK:
				/* Weeks start on Monday (ISO 8601); 1970-01-01
				 * was a Thursday and 0001-01-01 a Monday. */
				v = z - ((z % 7 + 7 + 3) % 7);
				break;
			default:
				v = z;
			}
		}
		out->v[r].i = v;
	}
}

/*
 * CASE: the ELSE value first, then every WHEN from the last to the first,
 * each overwriting the rows where its condition is TRUE, so the first
 * TRUE condition wins.  Evaluating every branch is safe: nothing has a
 * side effect or can fail.
 */
static void eval_case(struct run *run, const struct sr_expr_node *n, unsigned d)
{
	struct slot *out = &run->slots[d], *cond = out + 1, *val = out + 2;
	size_t m = run->m, pairs = (n->nargs - 1) / 2;

	eval(run, n->args[n->nargs - 1], d);
	for (size_t k = pairs; k-- > 0;) {
		eval(run, n->args[2 * k], d + 1);
		eval(run, n->args[2 * k + 1], d + 2);
		for (size_t r = 0; r < m; r++) {
			if (cond->null[r] || !cond->v[r].i)
				continue;
			out->null[r] = val->null[r];
			out->v[r] = val->v[r];
			if (n->type == SR_TYPE_STRING)
				out->s[r] = val->s[r];
		}
	}
}

/* ---- the walk ------------------------------------------------------ */

/* Evaluate n for the current step into slot d, using slots above d. */
static void eval(struct run *run, const struct sr_expr_node *n, unsigned d)
{
	struct slot *out = &run->slots[d];
	size_t m = run->m;

	switch (n->op) {
	case SR_OP_COLUMN:
		load_column(run, n, out);
		return;
	case SR_OP_CONST:
		load_const(run, n, out);
		return;
	case SR_OP_NEG_I: case SR_OP_NEG_F: case SR_OP_TO_F:
		eval(run, n->args[0], d + 1);
		unary_num(run, n, out + 1, out);
		return;
	case SR_OP_ADD_I: case SR_OP_SUB_I: case SR_OP_MUL_I: case SR_OP_DIV_I:
	case SR_OP_ADD_F: case SR_OP_SUB_F: case SR_OP_MUL_F: case SR_OP_DIV_F:
	case SR_OP_DATE_ADD: case SR_OP_DATE_SUB: case SR_OP_DATE_DIFF:
		eval(run, n->args[0], d + 1);
		eval(run, n->args[1], d + 2);
		arith(run, n, out + 1, out + 2, out);
		return;
	case SR_OP_CMP_I: case SR_OP_CMP_F: case SR_OP_CMP_S:
		eval(run, n->args[0], d + 1);
		eval(run, n->args[1], d + 2);
		compare(run, n, out + 1, out + 2, out);
		return;
	case SR_OP_BETWEEN_I: case SR_OP_BETWEEN_F: case SR_OP_BETWEEN_S:
		eval(run, n->args[0], d + 1);
		eval(run, n->args[1], d + 2);
		eval(run, n->args[2], d + 3);
		between(run, n, out + 1, out + 2, out + 3, out);
		return;
	case SR_OP_AND: case SR_OP_OR:
		eval(run, n->args[0], d);
		if (all_decided(m, n->op == SR_OP_AND, out))
			return;
		for (size_t i = 1; i < n->nargs; i++) {
			eval(run, n->args[i], d + 1);
			if (fold_logic(m, n->op == SR_OP_AND, out, out + 1))
				return;
		}
		return;
	case SR_OP_NOT:
		eval(run, n->args[0], d + 1);
		memcpy(out->null, out[1].null, m);
		for (size_t r = 0; r < m; r++)
			out->v[r].i = !out[1].v[r].i;
		return;
	case SR_OP_IS_NULL: case SR_OP_IS_NOT_NULL:
		eval(run, n->args[0], d + 1);
		memset(out->null, 0, m);
		for (size_t r = 0; r < m; r++)
			out->v[r].i = out[1].null[r] == (n->op == SR_OP_IS_NULL);
		return;
	case SR_OP_IN_I: case SR_OP_IN_F: case SR_OP_IN_S:
		eval(run, n->args[0], d + 1);
		in_set(run, n, out + 1, out);
		return;
	case SR_OP_LIKE_PREFIX: case SR_OP_LIKE_EXACT:
		eval(run, n->args[0], d + 1);
		like(run, n, out + 1, out);
		return;
	case SR_OP_YEAR: case SR_OP_MONTH: case SR_OP_DATE_TRUNC:
		eval(run, n->args[0], d + 1);
		date_part(run, n, out + 1, out);
		return;
	case SR_OP_CASE:
		eval_case(run, n, d);
		return;
	}
	SR_BUG("unknown expression operation");
}

/* ---- entry points -------------------------------------------------- */

/* Every vector the expression reads is there, typed and long enough. */
static int check_batch(const struct sr_expr *e, const struct sr_vec *const *cols,
		       size_t rows, struct sr_err *err)
{
	if (e->nused && !cols)
		return sr_fail(err, SR_EINVAL,
			       "expression: column '%s' is read but the batch has no columns",
			       e->used_names[0]);
	for (size_t k = 0; k < e->nused; k++) {
		const struct sr_vec *v = cols[e->used[k]];
		const char *name = e->used_names[k];
		if (!v)
			return sr_fail(err, SR_EINVAL,
				       "expression: column '%s' is read but missing from the batch",
				       name);
		if (v->type != e->used_types[k])
			return sr_fail(err, SR_EINVAL,
				       "expression: column '%s' is %s in the batch, %s in the schema",
				       name, sr_type_name(v->type),
				       sr_type_name(e->used_types[k]));
		if (v->rows < rows)
			return sr_fail(err, SR_EINVAL,
				       "expression: column '%s' has %zu rows in the batch, %zu needed",
				       name, v->rows, rows);
	}
	return SR_OK;
}

/* One block for every slot: values, then strings, then NULL bytes. */
static int scratch_new(const struct sr_expr *e, struct slot **out,
		       struct sr_err *err)
{
	size_t k = SR_EXPR_BATCH_ROWS, nstr = 0, size;
	struct slot *slots;
	unsigned char *p;

	for (unsigned d = 0; d < e->slots; d++)
		nstr += e->string_slot[d];
	size = e->slots * sizeof(*slots) + e->slots * k * sizeof(union sr_expr_num) +
	       nstr * k * sizeof(struct sr_expr_str) + e->slots * k;
	slots = sr_malloc(size);
	if (!slots)
		return sr_fail(err, SR_ENOMEM, "expression: out of memory");
	p = (unsigned char *)(slots + e->slots);
	for (unsigned d = 0; d < e->slots; d++) {
		slots[d].v = (union sr_expr_num *)p;
		p += k * sizeof(union sr_expr_num);
	}
	for (unsigned d = 0; d < e->slots; d++) {
		slots[d].s = NULL;
		if (!e->string_slot[d])
			continue;
		slots[d].s = (struct sr_expr_str *)p;
		p += k * sizeof(struct sr_expr_str);
	}
	for (unsigned d = 0; d < e->slots; d++) {
		slots[d].null = p;
		p += k;
	}
	*out = slots;
	return SR_OK;
}

int sr_expr_filter(const struct sr_expr *e, const struct sr_vec *const *cols,
		   size_t rows, uint8_t *keep, struct sr_err *err)
{
	struct run run = { .cols = cols };
	int rc;

	if (e->type != SR_TYPE_BOOL)
		return sr_fail(err, SR_EINVAL,
			       "expression: a filter needs a boolean expression, this one is %s",
			       sr_type_name(e->type));
	if (rows == 0)
		return SR_OK;
	rc = check_batch(e, cols, rows, err);
	if (rc == SR_OK)
		rc = scratch_new(e, &run.slots, err);
	if (rc)
		return rc;
	for (run.base = 0; run.base < rows; run.base += run.m) {
		const struct slot *res = &run.slots[0];
		run.m = rows - run.base < SR_EXPR_BATCH_ROWS ? rows - run.base :
							       SR_EXPR_BATCH_ROWS;
		eval(&run, e->root, 0);
		for (size_t r = 0; r < run.m; r++)
			keep[run.base + r] = (uint8_t)(!res->null[r] & (res->v[r].i != 0));
	}
	sr_free(run.slots);
	return SR_OK;
}

/* Append one step of results (slot 0) to out, whose room is reserved. */
static int append_step(const struct run *run, enum sr_type type,
		       struct sr_vec *out)
{
	const struct slot *res = &run->slots[0];
	size_t row = out->rows;

	for (size_t r = 0; r < run->m; r++, row++) {
		int null = res->null[r];
		if (null) {
			out->nulls[row >> 3] |= (uint8_t)(1u << (row & 7));
			out->null_count++;
		}
		switch (type) {
		case SR_TYPE_INT64:
			out->v.i64[row] = null ? 0 : res->v[r].i;
			break;
		case SR_TYPE_FLOAT64:
			out->v.f64[row] = null ? 0 : res->v[r].f;
			break;
		case SR_TYPE_DATE:
			out->v.date[row] = null ? 0 : (int32_t)res->v[r].i;
			break;
		case SR_TYPE_BOOL:
			out->v.b[row] = (uint8_t)(!null && res->v[r].i);
			break;
		case SR_TYPE_STRING:
			if (!null && sr_buf_add(&out->bytes, res->s[r].p, res->s[r].len)) {
				/* Undo the step: the vector stays what it
				 * was before it. */
				for (size_t u = out->rows; u < row; u++)
					if (sr_vec_is_null(out, u)) {
						out->nulls[u >> 3] &= (uint8_t)~(1u << (u & 7));
						out->null_count--;
					}
				sr_buf_setlen(&out->bytes, out->offsets[out->rows]);
				return SR_ENOMEM;
			}
			out->offsets[row + 1] = (uint32_t)out->bytes.len;
			break;
		}
	}
	out->rows = row;
	return SR_OK;
}

int sr_expr_eval(const struct sr_expr *e, const struct sr_vec *const *cols,
		 size_t rows, struct sr_vec *out, struct sr_err *err)
{
	struct run run = { .cols = cols };
	int rc;

	if (out->type != e->type)
		return sr_fail(err, SR_EINVAL,
			       "expression: the output vector is %s, the expression %s",
			       sr_type_name(out->type), sr_type_name(e->type));
	if (rows == 0)
		return SR_OK;
	rc = check_batch(e, cols, rows, err);
	if (rc == SR_OK && sr_vec_reserve(out, rows) != SR_OK)
		rc = sr_fail(err, SR_ENOMEM, "expression: out of memory");
	if (rc == SR_OK)
		rc = scratch_new(e, &run.slots, err);
	if (rc)
		return rc;
	for (run.base = 0; rc == SR_OK && run.base < rows; run.base += run.m) {
		run.m = rows - run.base < SR_EXPR_BATCH_ROWS ? rows - run.base :
							       SR_EXPR_BATCH_ROWS;
		eval(&run, e->root, 0);
		if (append_step(&run, e->type, out))
			rc = sr_fail(err, SR_ENOMEM, "expression: out of memory");
	}
	sr_free(run.slots);
	return rc;
}
