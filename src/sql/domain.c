/*
 * domain.c - the two analyses the rules and the plan share: a group key's
 * public domain (the values it takes over its columns' public domains)
 * and the bounds of an aggregated value (interval arithmetic over the
 * columns' bounds), both from the bound query's parse tree.
 */
#include "sql/sql.h"
#include "sql/sql_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "store/vec.h"
#include "base/banned.h"

/* The input whose policy governs row column row when it is read for
 * input: that input in a UNION ALL (every input has the column), the
 * column's own in a JOIN. */
size_t sr_sql_own_input(const struct sr_sql *q, size_t row, size_t input)
{
	return q->row_input[row] == SR_SQL_EVERY_INPUT ? input : q->row_input[row];
}

/* Row column of a column reference of the bound tree (it resolved once). */
size_t sr_sql_row_of(const struct sr_sql *q, const struct sr_ast *a)
{
	size_t row = 0;

	if (sr_sql_resolve_row(q, a, &row, NULL) != SR_OK)
		SR_BUG("a bound column no longer resolves");
	return row;
}

/* ---- domains -------------------------------------------------------------- */

/* Add the distinct row columns under a to rows[*n] (room for nrow). */
static void key_columns(const struct sr_sql *q, const struct sr_ast *a,
			size_t *rows, size_t *n)
{
	if (a->kind == SR_AST_COLUMN) {
		size_t row = sr_sql_row_of(q, a);
		for (size_t i = 0; i < *n; i++)
			if (rows[i] == row)
				return;
		rows[(*n)++] = row;
		return;
	}
	for (size_t i = 0; i < a->nargs; i++)
		key_columns(q, a->args[i], rows, n);
}

/* The distinct row columns of key k in a new array (sr_free). */
int sr_sql_key_columns(const struct sr_sql *q, size_t k, size_t **rows,
			  size_t *n, struct sr_err *err)
{
	*n = 0;
	*rows = sr_calloc(q->nrow ? q->nrow : 1, sizeof(**rows));
	if (!*rows)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	key_columns(q, q->key_ast[k], *rows, n);
	return SR_OK;
}

/* A domain value (string, integer or boolean) as the text
 * sr_vec_append_text parses. */
int sr_sql_domain_value_append(struct sr_vec *vec, const json_t *v)
{
	char num[40];

	if (json_is_string(v))
		return sr_vec_append_text(vec, json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return sr_vec_append_text(vec, num, strlen(num));
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return sr_vec_append_text(vec, num, strlen(num));
	}
	if (json_is_boolean(v))
		return sr_vec_append_text(vec, json_is_true(v) ? "true" : "false",
					  json_is_true(v) ? 4 : 5);
	return SR_EINVAL;
}

/* One domain value of a union, with the place it first came in. */
struct domain_entry {
	const json_t *v;
	size_t order;
};

/* Domain values are strings, integers or booleans (policy_bind.c). */
static int cmp_domain_value(const json_t *a, const json_t *b)
{
	int ta = json_is_string(a) ? 0 : json_is_integer(a) ? 1 : 2;
	int tb = json_is_string(b) ? 0 : json_is_integer(b) ? 1 : 2;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (ta == 0) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		return c ? c : (la > lb) - (la < lb);
	}
	if (ta == 1)
		return (json_integer_value(a) > json_integer_value(b)) -
		       (json_integer_value(a) < json_integer_value(b));
	return json_is_true(a) - json_is_true(b);
}

static int cmp_by_value(const void *x, const void *y)
{
	const struct domain_entry *a = x, *b = y;
	int c = cmp_domain_value(a->v, b->v);

	return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int cmp_by_order(const void *x, const void *y)
{
	const struct domain_entry *a = x, *b = y;

	return (a->order > b->order) - (a->order < b->order);
}

/* Sort by value and keep the first of each value: the new count. */
static size_t dedupe(struct domain_entry *e, size_t n)
{
	size_t kept = 0;

	qsort(e, n, sizeof(*e), cmp_by_value);
	for (size_t i = 0; i < n; i++)
		if (kept == 0 || cmp_domain_value(e[kept - 1].v, e[i].v) != 0)
			e[kept++] = e[i];
	return kept;
}

/*
 * The union of every input's domain of row column row, in order of first
 * appearance, in *out.  SR_ENOTFOUND when an input has none, SR_ELIMIT
 * past SR_SQL_GROUPS_MAX values (the working set is deduplicated whenever
 * it passes twice that, so it stays bounded), SR_ENOMEM.
 */
static int column_domain(const struct sr_sql *q, size_t row, json_t **out)
{
	uint64_t mask = sr_sql_row_inputs(q, row);
	struct domain_entry *e = NULL;
	size_t n = 0, room = 0, order = 0;
	json_t *all = NULL;
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
		const struct sr_policy_column *pc;
		size_t add;
		if (!(mask & SR_SQL_INPUT_BIT(i)))
			continue;
		pc = sr_sql_policy_column(q, i, row);
		if (!pc || !pc->domain) {
			rc = SR_ENOTFOUND;
			break;
		}
		add = json_array_size(pc->domain);
		if (n + add > room) {
			struct domain_entry *bigger;
			room = n + add > 2 * room ? n + add : 2 * room;
			bigger = sr_realloc(e, room * sizeof(*e));
			if (!bigger) {
				rc = SR_ENOMEM;
				break;
			}
			e = bigger;
		}
		for (size_t k = 0; k < add; k++)
			e[n++] = (struct domain_entry){ json_array_get(pc->domain, k), order++ };
		if (n > 2 * (size_t)SR_SQL_GROUPS_MAX)
			n = dedupe(e, n);
		if (n > 2 * (size_t)SR_SQL_GROUPS_MAX)
			rc = SR_ELIMIT;
	}
	if (rc == SR_OK) {
		n = dedupe(e, n);
		if (n > SR_SQL_GROUPS_MAX)
			rc = SR_ELIMIT;
	}
	if (rc == SR_OK) {
		qsort(e, n, sizeof(*e), cmp_by_order);
		all = json_array();
		for (size_t k = 0; all && k < n; k++)
			if (json_array_append(all, (json_t *)e[k].v))
				break;
		if (!all || json_array_size(all) != n) {
			json_decref(all);
			rc = SR_ENOMEM;
		}
	}
	sr_free(e);
	if (rc == SR_OK)
		*out = all;
	return rc;
}

/* Row r of vec as JSON (NULL for NULL). */
json_t *sr_sql_value_json(const struct sr_vec *vec, size_t r)
{
	struct sr_buf text;
	json_t *v = NULL;

	if (sr_vec_is_null(vec, r))
		return json_null();
	switch (vec->type) {
	case SR_TYPE_INT64:
		return json_integer((json_int_t)vec->v.i64[r]);
	case SR_TYPE_FLOAT64:
		return json_real(vec->v.f64[r]);
	case SR_TYPE_BOOL:
		return json_boolean(vec->v.b[r]);
	default:
		sr_buf_init(&text, SR_BUF_UNBOUNDED);   /* one value of a vector */
		if (sr_vec_format(vec, r, &text) == SR_OK)
			v = json_stringn(text.data, text.len);
		sr_buf_release(&text);
		return v;
	}
}

struct distinct_entry {
	const char *text;
	size_t len, index;
};

static int cmp_entry(const void *x, const void *y)
{
	const struct distinct_entry *a = x, *b = y;
	int c = memcmp(a->text, b->text, a->len < b->len ? a->len : b->len);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The distinct non-NULL values of vec, in order of first appearance. */
static int distinct_values(const struct sr_vec *vec, json_t **out, struct sr_err *err)
{
	struct distinct_entry *entries = NULL;
	struct sr_buf texts;
	uint8_t *dupl = NULL;
	size_t *offsets = NULL, n = 0;
	json_t *arr = NULL;
	int rc = SR_OK;

	sr_buf_init(&texts, SR_BUF_UNBOUNDED);   /* at most SR_SQL_GROUPS_MAX values */
	entries = sr_calloc(vec->rows ? vec->rows : 1, sizeof(*entries));
	offsets = sr_calloc(vec->rows + 1, sizeof(*offsets));
	dupl = sr_calloc(vec->rows ? vec->rows : 1, 1);
	arr = json_array();
	if (!entries || !offsets || !dupl || !arr) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t r = 0; r < vec->rows; r++) {
		offsets[r] = texts.len;
		if (!sr_vec_is_null(vec, r) && sr_vec_format(vec, r, &texts) != SR_OK) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
	}
	offsets[vec->rows] = texts.len;
	for (size_t r = 0; r < vec->rows; r++)
		if (!sr_vec_is_null(vec, r))
			entries[n++] = (struct distinct_entry){
				texts.data + offsets[r], offsets[r + 1] - offsets[r], r };
	qsort(entries, n, sizeof(*entries), cmp_entry);
	for (size_t i = 1; i < n; i++)
		if (entries[i].len == entries[i - 1].len &&
		    memcmp(entries[i].text, entries[i - 1].text, entries[i].len) == 0)
			dupl[entries[i].index] = 1;
	for (size_t r = 0; r < vec->rows; r++) {
		json_t *v;
		if (sr_vec_is_null(vec, r) || dupl[r])
			continue;
		v = sr_sql_value_json(vec, r);
		if (!v || json_array_append_new(arr, v)) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	sr_free(entries);
	sr_free(offsets);
	sr_free(dupl);
	sr_buf_release(&texts);
	return rc;
}

/* Bytes a vector of domain values holds per row, at most (the longest
 * value, its offset and its NULL bit rounded up). */
static size_t row_bytes(const json_t *dom)
{
	size_t longest = 8;
	const json_t *v;
	size_t i;

	json_array_foreach(dom, i, v)
		if (json_is_string(v) && json_string_length(v) > longest)
			longest = json_string_length(v);
	return longest + 8;
}

int sr_sql_key_domain(const struct sr_sql *q, size_t k, json_t **out,
		      struct sr_err *err)
{
	size_t *rows = NULL, ncols = 0, product = 1, bytes_per_row = 0;
	json_t **doms = NULL;
	struct sr_vec *vecs = NULL, image;
	const struct sr_vec **cols = NULL;
	int rc;

	*out = NULL;
	sr_vec_init(&image, q->keys[k].type);
	rc = sr_sql_key_columns(q, k, &rows, &ncols, err);
	if (rc)
		goto out;
	doms = sr_calloc(ncols ? ncols : 1, sizeof(*doms));
	if (!doms) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++) {
		rc = column_domain(q, rows[c], &doms[c]);
		if (rc == SR_ENOMEM)
			rc = sr_fail(err, rc, "out of memory");
		else if (rc == SR_ELIMIT)
			rc = sr_fail(err, rc, "the domain of %s has more than %u values",
				     q->row_columns[rows[c]].name, (unsigned)SR_SQL_GROUPS_MAX);
		if (rc)
			goto out;
		bytes_per_row += row_bytes(doms[c]);
		if (product > SR_SQL_GROUPS_MAX / json_array_size(doms[c]) ||
		    bytes_per_row > SR_SQL_DOMAIN_BYTES_MAX / (product * json_array_size(doms[c]))) {
			rc = sr_fail(err, SR_ELIMIT,
				     "the domain of %s has more than %u values or %u bytes",
				     q->keys[k].text, (unsigned)SR_SQL_GROUPS_MAX,
				     (unsigned)SR_SQL_DOMAIN_BYTES_MAX);
			goto out;
		}
		product *= json_array_size(doms[c]);
	}
	vecs = sr_calloc(ncols ? ncols : 1, sizeof(*vecs));
	cols = sr_calloc(q->nrow ? q->nrow : 1, sizeof(*cols));
	if (!vecs || !cols) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++) {
		sr_vec_init(&vecs[c], q->row_columns[rows[c]].type);
		cols[rows[c]] = &vecs[c];
	}
	/* Every combination of the columns' values, the last column fastest. */
	for (size_t r = 0; r < product; r++) {
		size_t rest = r;
		for (size_t c = ncols; c-- > 0;) {
			size_t n = json_array_size(doms[c]);
			rc = sr_sql_domain_value_append(&vecs[c], json_array_get(doms[c], rest % n));
			if (rc) {
				/* The policy's bind checked every value's type. */
				rc = rc == SR_ENOMEM ? sr_fail(err, rc, "out of memory") :
				     sr_fail(err, SR_EINTERNAL, "sql: a domain value of %s does not fit its column",
					     q->row_columns[rows[c]].name);
				goto out;
			}
			rest /= n;
		}
	}
	rc = sr_expr_eval(q->keys[k].expr, cols, product, &image, err);
	if (rc == SR_OK)
		rc = distinct_values(&image, out, err);
out:
	for (size_t c = 0; vecs && c < ncols; c++)
		sr_vec_release(&vecs[c]);
	for (size_t c = 0; doms && c < ncols; c++)
		json_decref(doms[c]);
	sr_free(doms);
	sr_free(rows);
	sr_free(vecs);
	sr_free((void *)cols);
	sr_vec_release(&image);
	return rc;
}

/* ---- bounds --------------------------------------------------------------- */

struct interval {
	int known;       /* 0: a column without bounds, or not boundable */
	int empty;       /* only NULL */
	double lo, hi;
};

static struct interval iv(double lo, double hi)
{
	return (struct interval){ .known = 1, .lo = lo, .hi = hi };
}

static struct interval unknown(void)
{
	return (struct interval){ 0 };
}

static struct interval hull(struct interval a, struct interval b)
{
	if (!a.known || !b.known)
		return unknown();
	if (a.empty)
		return b;
	if (b.empty)
		return a;
	return iv(fmin(a.lo, b.lo), fmax(a.hi, b.hi));
}

/* The bounds of value expression a at input (CASE conditions skipped). */
static struct interval bound(const struct sr_sql *q, size_t input,
			     const struct sr_ast *a)
{
	struct interval x, y;
	double p[4];

	switch (a->kind) {
	case SR_AST_NULL:
		return (struct interval){ .known = 1, .empty = 1 };
	case SR_AST_INT:
		return iv((double)a->v.i, (double)a->v.i);
	case SR_AST_FLOAT:
		return iv(a->v.f, a->v.f);
	case SR_AST_DATE:
		return iv(a->v.date, a->v.date);
	case SR_AST_COLUMN: {
		size_t row = sr_sql_row_of(q, a);
		const struct sr_policy_column *pc = sr_sql_policy_column(q, sr_sql_own_input(q, row, input), row);
		enum sr_type t = q->row_columns[row].type;
		if (t == SR_TYPE_DATE)   /* 0001-01-01 .. 9999-12-31 */
			return iv(-719162, 2932896);
		if (pc && pc->has_bounds && (t == SR_TYPE_INT64 || t == SR_TYPE_FLOAT64))
			return iv(pc->lo, pc->hi);
		return unknown();
	}
	case SR_AST_NEG:
		x = bound(q, input, a->args[0]);
		return x.known && !x.empty ? iv(-x.hi, -x.lo) : x;
	case SR_AST_ADD:
	case SR_AST_SUB:
	case SR_AST_MUL:
		x = bound(q, input, a->args[0]);
		y = bound(q, input, a->args[1]);
		if (!x.known || !y.known)
			return unknown();
		if (x.empty || y.empty)
			return (struct interval){ .known = 1, .empty = 1 };
		if (a->kind == SR_AST_ADD)
			return iv(x.lo + y.lo, x.hi + y.hi);
		if (a->kind == SR_AST_SUB)
			return iv(x.lo - y.hi, x.hi - y.lo);
		p[0] = x.lo * y.lo; p[1] = x.lo * y.hi; p[2] = x.hi * y.lo; p[3] = x.hi * y.hi;
		return iv(fmin(fmin(p[0], p[1]), fmin(p[2], p[3])),
			  fmax(fmax(p[0], p[1]), fmax(p[2], p[3])));
	case SR_AST_DIV:
		/* Only by a constant; an int64 quotient truncates toward zero,
		 * so 0 joins the interval. */
		x = bound(q, input, a->args[0]);
		y = bound(q, input, a->args[1]);
		if (!x.known || !y.known || y.empty || y.lo != y.hi || y.lo == 0)
			return unknown();
		if (x.empty)
			return x;
		return iv(fmin(fmin(x.lo / y.lo, x.hi / y.lo), 0),
			  fmax(fmax(x.lo / y.lo, x.hi / y.lo), 0));
	case SR_AST_CASE: {
		struct interval h = { .known = 1, .empty = 1 };
		for (size_t i = 1; i < a->nargs; i += 2)
			h = hull(h, bound(q, input, a->args[i]));
		if (a->flags & SR_AST_ELSE)
			h = hull(h, bound(q, input, a->args[a->nargs - 1]));
		return h;
	}
	case SR_AST_CALL:
		if (a->func == SR_FUNC_YEAR)
			return iv(1, 9999);
		if (a->func == SR_FUNC_MONTH)
			return iv(1, 12);
		return unknown();
	default:
		return unknown();
	}
}

int sr_sql_agg_bounds(const struct sr_sql *q, size_t g, size_t input,
		      double *lo, double *hi)
{
	struct interval x;

	if (!q->aggs[g].arg)
		return SR_ENOTFOUND;
	x = bound(q, input, q->agg_ast[g]->args[0]);
	if (!x.known || !isfinite(x.lo) || !isfinite(x.hi))
		return SR_ENOTFOUND;
	*lo = x.empty ? 0 : x.lo;
	*hi = x.empty ? 0 : x.hi;
	return SR_OK;
}

