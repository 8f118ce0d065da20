/*
 * rules.c - what a bound query does with each column (sr_sql_usages) and
 * the query's own rules over its inputs' policies (sr_sql_rules); also the
 * two analyses the rules and the plan share: a group key's public domain
 * and an aggregated value's bounds.
 *
 * Both walk the parse tree the query keeps (sql_int.h): the compiled
 * programs say which columns an expression reads, not where (a column in
 * a CASE condition inside SUM is a filter; in its THEN, aggregated).
 */
#include "sql/sql.h"
#include "sql/sql_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "expr/lex.h"
#include "store/vec.h"
#include "base/banned.h"

unsigned sr_sql_popcount(uint64_t mask)
{
	return (unsigned)__builtin_popcountll(mask);
}

int sr_sql_under_dp(const struct sr_sql *q)
{
	for (size_t i = 0; i < q->ninputs; i++)
		if (q->sources[i].policy->dp.enabled)
			return 1;
	return 0;
}

const char *sr_sql_id_column(const struct sr_sql *q, size_t input)
{
	const struct sr_policy *pol = q->sources[input].policy;

	for (size_t c = 0; c < pol->ncolumns; c++)
		if (pol->columns[c].cls == SR_CLASS_ID)
			return pol->columns[c].name;
	return NULL;
}

/* The input whose policy governs row column row when it is read for
 * input: that input in a UNION ALL (every input has the column), the
 * column's own in a JOIN. */
static size_t own_input(const struct sr_sql *q, size_t row, size_t input)
{
	return q->row_input[row] == SR_SQL_EVERY_INPUT ? input : q->row_input[row];
}

/* Row column of a column reference of the bound tree (it resolved once). */
static size_t row_of(const struct sr_sql *q, const struct sr_ast *a)
{
	size_t row = 0;

	if (sr_sql_resolve_row(q, a, &row, NULL) != SR_OK)
		SR_BUG("a bound column no longer resolves");
	return row;
}

/* ---- usages --------------------------------------------------------------- */

struct usages {
	const struct sr_sql *q;
	struct sr_sql_usage *items;
	size_t count, room;
	struct sr_err *err;
};

static int add_usage(struct usages *u, size_t input, size_t row,
		     enum sr_usage usage, size_t pos)
{
	const struct sr_sql *q = u->q;
	const char *column = q->sources[input].columns[q->row_column[row]].name;
	const struct sr_policy_column *pc = sr_policy_column(q->sources[input].policy, column);

	/* The policy's name lives as long as the policy, past the query:
	 * sr_check_use keeps it until the generic rules have run. */
	if (pc)
		column = pc->name;

	for (size_t i = 0; i < u->count; i++)
		if (u->items[i].input == input && u->items[i].usage == usage &&
		    strcmp(u->items[i].column, column) == 0)
			return SR_OK;
	if (u->count == u->room) {
		size_t room = u->room ? u->room * 2 : 16;
		struct sr_sql_usage *bigger = sr_realloc(u->items, room * sizeof(*bigger));
		if (!bigger)
			return sr_fail(u->err, SR_ENOMEM, "out of memory");
		u->items = bigger;
		u->room = room;
	}
	u->items[u->count++] = (struct sr_sql_usage){
		.input = input, .dataset = q->inputs[input].dataset, .column = column,
		.usage = usage, .pos = pos,
	};
	return SR_OK;
}

/* Every input that has row column row. */
static int use_row(struct usages *u, size_t row, enum sr_usage usage, size_t pos)
{
	uint64_t mask = sr_sql_row_inputs(u->q, row);
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < u->q->ninputs; i++)
		if (mask & SR_SQL_INPUT_BIT(i))
			rc = add_usage(u, i, row, usage, pos);
	return rc;
}

/* Every column reference under a gets usage; inside an aggregate (usage
 * AGGREGATE) the conditions of a CASE select rows: filter. */
static int walk_usage(struct usages *u, const struct sr_ast *a, enum sr_usage usage)
{
	int rc = SR_OK;

	if (a->kind == SR_AST_COLUMN)
		return use_row(u, row_of(u->q, a), usage, a->pos);
	for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
		int is_condition = a->kind == SR_AST_CASE && i % 2 == 0 &&
				   !((a->flags & SR_AST_ELSE) && i + 1 == a->nargs);
		rc = walk_usage(u, a->args[i], is_condition && usage == SR_USE_AGGREGATE ?
				SR_USE_FILTER : usage);
	}
	return rc;
}

/* COUNT(DISTINCT c) of a column of class id: no usage at the inputs
 * where it is one (the release threshold counts exactly that). */
static int use_agg(struct usages *u, size_t g)
{
	const struct sr_sql *q = u->q;
	const struct sr_ast *a = q->agg_ast[g];

	if (q->aggs[g].kind == SR_SQL_COUNT_ROWS)
		return SR_OK;
	if (q->aggs[g].kind == SR_SQL_COUNT_DISTINCT && a->args[0]->kind == SR_AST_COLUMN) {
		size_t row = row_of(q, a->args[0]);
		uint64_t mask = sr_sql_row_inputs(q, row);
		int rc = SR_OK;
		for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
			const struct sr_policy_column *pc = sr_sql_policy_column(q, i, row);
			if (!(mask & SR_SQL_INPUT_BIT(i)) || (pc && pc->cls == SR_CLASS_ID))
				continue;
			rc = add_usage(u, i, row, SR_USE_AGGREGATE, a->args[0]->pos);
		}
		return rc;
	}
	return walk_usage(u, a->args[0], SR_USE_AGGREGATE);
}

static int collect_usages(const struct sr_sql *q, struct usages *u)
{
	int rc = SR_OK;

	for (size_t k = 0; rc == SR_OK && k < q->njoin_keys; k++) {
		const struct sr_sql_join_key *j = &q->join_keys[k];
		rc = add_usage(u, j->left_input, q->inputs[j->left_input].row_offset + j->left_column,
			       SR_USE_JOIN, j->pos);
		if (rc == SR_OK)
			rc = add_usage(u, j->right_input,
				       q->inputs[j->right_input].row_offset + j->right_column,
				       SR_USE_JOIN, j->pos);
	}
	for (size_t i = 0; rc == SR_OK && i < q->nfilters; i++)
		rc = walk_usage(u, q->filter_ast[i], SR_USE_FILTER);
	for (size_t i = 0; rc == SR_OK && i < q->nkeys; i++)
		rc = walk_usage(u, q->key_ast[i], SR_USE_GROUP);
	for (size_t g = 0; rc == SR_OK && g < q->naggs; g++)
		rc = use_agg(u, g);
	if (q->aggregated)
		return rc;
	/* Rows as they are: what is output, and what orders them. */
	for (size_t i = 0; rc == SR_OK && i < q->noutputs; i++)
		rc = walk_usage(u, q->output_ast[i], SR_USE_REVEAL);
	for (size_t i = 0; rc == SR_OK && i < q->norder; i++)
		rc = walk_usage(u, q->order_ast[i], SR_USE_REVEAL);
	return rc;
}

int sr_sql_usages(const struct sr_sql *q, struct sr_sql_usage **out,
		  size_t *count, struct sr_err *err)
{
	struct usages u = { .q = q, .err = err };
	int rc = collect_usages(q, &u);

	if (rc) {
		sr_free(u.items);
		u.items = NULL;
		u.count = 0;
	}
	*out = u.items;
	*count = u.count;
	return rc;
}

/* ---- domains -------------------------------------------------------------- */

/* The distinct row columns under a, in rows[*n] (at most max). */
static void key_columns(const struct sr_sql *q, const struct sr_ast *a,
			size_t *rows, size_t *n, size_t max)
{
	if (a->kind == SR_AST_COLUMN) {
		size_t row = row_of(q, a);
		for (size_t i = 0; i < *n; i++)
			if (rows[i] == row)
				return;
		if (*n < max)
			rows[(*n)++] = row;
		return;
	}
	for (size_t i = 0; i < a->nargs; i++)
		key_columns(q, a->args[i], rows, n, max);
}

/* A domain value (string, integer or boolean) as the text
 * sr_vec_append_text parses. */
static int append_domain_value(struct sr_vec *vec, const json_t *v)
{
	char num[32];

	if (json_is_string(v))
		return sr_vec_append_text(vec, json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return sr_vec_append_text(vec, num, strlen(num));
	}
	if (json_is_boolean(v))
		return sr_vec_append_text(vec, json_is_true(v) ? "true" : "false",
					  json_is_true(v) ? 4 : 5);
	return SR_EINVAL;
}

/* The union of every input's domain of row column row, in *out. */
static int column_domain(const struct sr_sql *q, size_t row, json_t **out)
{
	uint64_t mask = sr_sql_row_inputs(q, row);
	json_t *all = json_array();

	if (!all)
		return SR_ENOMEM;
	for (size_t i = 0; i < q->ninputs; i++) {
		const struct sr_policy_column *pc;
		const json_t *v;
		size_t k;
		if (!(mask & SR_SQL_INPUT_BIT(i)))
			continue;
		pc = sr_sql_policy_column(q, i, row);
		if (!pc || !pc->domain) {
			json_decref(all);
			return SR_ENOTFOUND;
		}
		json_array_foreach(pc->domain, k, v) {
			size_t j, n = json_array_size(all);
			for (j = 0; j < n; j++)
				if (json_equal(json_array_get(all, j), v))
					break;
			if (j == n && json_array_append(all, (json_t *)v)) {
				json_decref(all);
				return SR_ENOMEM;
			}
		}
	}
	*out = all;
	return SR_OK;
}

/* Row r of vec as JSON (NULL for NULL). */
static json_t *value_json(const struct sr_vec *vec, size_t r)
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
		v = value_json(vec, r);
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

#define KEY_COLUMNS_MAX 16

int sr_sql_key_domain(const struct sr_sql *q, size_t k, json_t **out,
		      struct sr_err *err)
{
	size_t rows[KEY_COLUMNS_MAX], ncols = 0, product = 1;
	json_t *doms[KEY_COLUMNS_MAX] = { 0 };
	struct sr_vec *vecs = NULL, image;
	const struct sr_vec **cols = NULL;
	int rc = SR_OK;

	*out = NULL;
	sr_vec_init(&image, q->keys[k].type);
	key_columns(q, q->key_ast[k], rows, &ncols, KEY_COLUMNS_MAX);
	for (size_t c = 0; c < ncols; c++) {
		rc = column_domain(q, rows[c], &doms[c]);
		if (rc == SR_ENOMEM)
			rc = sr_fail(err, rc, "out of memory");
		if (rc)
			goto out;
		if (product > SR_SQL_GROUPS_MAX / json_array_size(doms[c])) {
			rc = sr_fail(err, SR_ELIMIT,
				     "the domain of %s has more than %u values",
				     q->keys[k].text, (unsigned)SR_SQL_GROUPS_MAX);
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
			rc = append_domain_value(&vecs[c], json_array_get(doms[c], rest % n));
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
	for (size_t c = 0; c < ncols; c++)
		json_decref(doms[c]);
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
		size_t row = row_of(q, a);
		const struct sr_policy_column *pc = sr_sql_policy_column(q, own_input(q, row, input), row);
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

/* ---- rules ---------------------------------------------------------------- */

struct rules {
	const struct sr_sql *q;
	struct sr_sql_violation *items;
	size_t count, room;
	struct sr_err *err;
};

static int violation(struct rules *r, const char *rule, size_t input,
		     const char *column, enum sr_usage usage, size_t pos,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int violation(struct rules *r, const char *rule, size_t input,
		     const char *column, enum sr_usage usage, size_t pos,
		     const char *fmt, ...)
{
	struct sr_sql_violation *v;
	size_t len;
	va_list ap;

	for (size_t i = 0; column && i < r->count; i++)
		if (strcmp(r->items[i].rule, rule) == 0 && r->items[i].column &&
		    strcmp(r->items[i].column, column) == 0 && r->items[i].usage == usage &&
		    r->items[i].dataset == (input == SIZE_MAX ? NULL : r->q->inputs[input].name))
			return SR_OK;   /* the same column, once per rule */
	if (r->count == r->room) {
		size_t room = r->room ? r->room * 2 : 8;
		struct sr_sql_violation *bigger = sr_realloc(r->items, room * sizeof(*bigger));
		if (!bigger)
			return sr_fail(r->err, SR_ENOMEM, "out of memory");
		r->items = bigger;
		r->room = room;
	}
	v = &r->items[r->count++];
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->dataset = input == SIZE_MAX ? NULL : r->q->inputs[input].name;
	v->column = column;
	v->usage = usage;
	v->pos = pos;
	sr_sql_where(r->q, pos, v->message, sizeof(v->message));
	len = strlen(v->message);
	va_start(ap, fmt);
	vsnprintf(v->message + len, sizeof(v->message) - len, fmt, ap);
	va_end(ap);
	return SR_OK;
}

static const char *id_use(enum sr_usage usage)
{
	switch (usage) {
	case SR_USE_FILTER: return "filter rows";
	case SR_USE_GROUP: return "group rows";
	case SR_USE_REVEAL: return "be output";
	default: return "be aggregated";
	}
}

/* id columns are counted (COUNT(DISTINCT id)) or joined on, nothing else. */
static int rule_id(struct rules *r, const struct sr_sql_usage *us, size_t n)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		const struct sr_policy_column *pc =
			sr_policy_column(q->sources[us[i].input].policy, us[i].column);
		if (!pc || pc->cls != SR_CLASS_ID || us[i].usage == SR_USE_JOIN)
			continue;
		rc = violation(r, "query-id-column", us[i].input, us[i].column, us[i].usage,
			       us[i].pos,
			       "%s.%.64s is an identifier (class id): it may only be counted, as COUNT(DISTINCT %.64s), never %s",
			       q->inputs[us[i].input].name, us[i].column, us[i].column,
			       id_use(us[i].usage));
	}
	return rc;
}

/* Group keys across parties or under dp come from public domains. */
static int rule_domains(struct rules *r)
{
	const struct sr_sql *q = r->q;
	int dp = sr_sql_under_dp(q), rc = SR_OK;
	uint64_t groups = 1;
	int all_known = 1;

	if (q->nparties < 2 && !dp)
		return SR_OK;
	for (size_t k = 0; rc == SR_OK && k < q->nkeys; k++) {
		size_t rows[KEY_COLUMNS_MAX], n = 0;
		int missing = 0;
		json_t *dom = NULL;
		key_columns(q, q->key_ast[k], rows, &n, KEY_COLUMNS_MAX);
		for (size_t c = 0; rc == SR_OK && c < n; c++) {
			uint64_t mask = sr_sql_row_inputs(q, rows[c]);
			for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
				const struct sr_policy_column *pc = sr_sql_policy_column(q, i, rows[c]);
				const char *name = q->row_columns[rows[c]].name;
				if (!(mask & SR_SQL_INPUT_BIT(i)) || (pc && pc->domain))
					continue;
				missing = 1;
				rc = violation(r, "query-group-domain", i, name, SR_USE_GROUP,
					       q->keys[k].start,
					       dp ? "GROUP BY %.64s under differential privacy needs a public domain for %.64s in the policy of %s: otherwise the set of group keys itself would leak" :
					       "GROUP BY %.64s across parties needs a public domain for %.64s in the policy of %s: otherwise the set of group keys itself would leak",
					       q->keys[k].text, name, q->inputs[i].name);
			}
		}
		if (rc || missing) {
			all_known = 0;
			continue;
		}
		rc = sr_sql_key_domain(q, k, &dom, r->err);
		if (rc == SR_ELIMIT) {
			sr_err_clear(r->err);
			rc = violation(r, "query-group-domain-too-large", SIZE_MAX, NULL, 0,
				       q->keys[k].start,
				       "the public domain of %.64s has more than %u values",
				       q->keys[k].text, (unsigned)SR_SQL_GROUPS_MAX);
			all_known = 0;
			continue;
		}
		if (rc)
			return rc;
		/* Each key's values and NULL. */
		groups *= json_array_size(dom) + 1;
		if (groups > SR_SQL_GROUPS_MAX)
			groups = SR_SQL_GROUPS_MAX + 1ull;
		json_decref(dom);
	}
	if (rc == SR_OK && all_known && groups > SR_SQL_GROUPS_MAX)
		rc = violation(r, "query-group-domain-too-large", SIZE_MAX, NULL, 0,
			       q->stmt->group_pos,
			       "GROUP BY makes more than %u groups from the public domains (each key's values and NULL, multiplied)",
			       (unsigned)SR_SQL_GROUPS_MAX);
	return rc;
}

/* The numeric columns at value positions of a without bounds at input i. */
static int missing_bounds(struct rules *r, size_t g, size_t input,
			  const struct sr_ast *a, int *any)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	if (a->kind == SR_AST_COLUMN) {
		size_t row = row_of(q, a);
		const struct sr_policy_column *pc;
		enum sr_type t = q->row_columns[row].type;
		input = own_input(q, row, input);
		pc = sr_sql_policy_column(q, input, row);
		if ((t != SR_TYPE_INT64 && t != SR_TYPE_FLOAT64) || (pc && pc->has_bounds))
			return SR_OK;
		*any = 1;
		return violation(r, "query-bounds", input, q->row_columns[row].name,
				 SR_USE_AGGREGATE, a->pos,
				 "%s(...) needs bounds for %.64s in the policy of %s: values are clamped to them, and they set the sensitivity",
				 sr_sql_agg_name(q->aggs[g].kind), q->row_columns[row].name,
				 q->inputs[input].name);
	}
	for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
		if (a->kind == SR_AST_CASE && i % 2 == 0 &&
		    !((a->flags & SR_AST_ELSE) && i + 1 == a->nargs))
			continue;   /* conditions select rows: no bounds needed */
		rc = missing_bounds(r, g, input, a->args[i], any);
	}
	return rc;
}

static int is_summed(enum sr_sql_agg_kind k)
{
	return k == SR_SQL_SUM || k == SR_SQL_AVG || k == SR_SQL_VAR_POP ||
	       k == SR_SQL_VAR_SAMP || k == SR_SQL_STDDEV_POP || k == SR_SQL_STDDEV_SAMP;
}

/* Every input's columns at value positions of a allow reveal (MIN, MAX). */
static int reveal_columns(struct rules *r, size_t g, const struct sr_ast *a)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	if (a->kind == SR_AST_COLUMN) {
		size_t row = row_of(q, a);
		uint64_t mask = sr_sql_row_inputs(q, row);
		for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
			const struct sr_policy_column *pc = sr_sql_policy_column(q, i, row);
			if (!(mask & SR_SQL_INPUT_BIT(i)) || (pc && (pc->allow & SR_USE_REVEAL)))
				continue;
			rc = violation(r, "query-min-max-reveal", i, q->row_columns[row].name,
				       SR_USE_REVEAL, q->aggs[g].start,
				       "%.64s reveals one individual's value: %s.%.64s must allow 'reveal'",
				       q->aggs[g].text, q->inputs[i].name, q->row_columns[row].name);
		}
		return rc;
	}
	for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
		if (a->kind == SR_AST_CASE && i % 2 == 0 &&
		    !((a->flags & SR_AST_ELSE) && i + 1 == a->nargs))
			continue;
		rc = reveal_columns(r, g, a->args[i]);
	}
	return rc;
}

static int rule_aggs(struct rules *r)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	for (size_t g = 0; rc == SR_OK && g < q->naggs; g++) {
		const struct sr_sql_agg *agg = &q->aggs[g];
		const struct sr_ast *a = q->agg_ast[g];
		uint64_t mask = agg->inputs ? agg->inputs :
			(q->ninputs == 64 ? ~(uint64_t)0 : SR_SQL_INPUT_BIT(q->ninputs) - 1);

		if (is_summed(agg->kind)) {
			for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
				double lo, hi;
				int any = 0;
				if (!(mask & SR_SQL_INPUT_BIT(i)))
					continue;
				rc = missing_bounds(r, g, i, a->args[0], &any);
				if (rc == SR_OK && !any && sr_sql_agg_bounds(q, g, i, &lo, &hi) != SR_OK)
					rc = violation(r, "query-bounds", i, NULL, SR_USE_AGGREGATE,
						       agg->start,
						       "%.64s: the value cannot be bounded from the bounds of %s's columns (only + - *, division by a constant, CASE, year and month are)",
						       agg->text, q->inputs[i].name);
			}
		}
		if (agg->kind == SR_SQL_MIN || agg->kind == SR_SQL_MAX) {
			rc = reveal_columns(r, g, a->args[0]);
			for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++)
				if ((mask & SR_SQL_INPUT_BIT(i)) && q->sources[i].policy->dp.enabled)
					rc = violation(r, "query-min-max-dp", i, NULL, 0, agg->start,
						       "%.64s cannot be released under differential privacy, which the policy of %s requires",
						       agg->text, q->inputs[i].name);
		}
		if (agg->kind == SR_SQL_COUNT_DISTINCT && q->nparties > 1) {
			int partitioned = a->args[0]->kind == SR_AST_COLUMN;
			for (size_t i = 0; partitioned && i < q->ninputs; i++) {
				const char *id = sr_sql_id_column(q, i);
				partitioned = id && q->sources[i].ids_partitioned &&
					strcmp(id, q->row_columns[row_of(q, a->args[0])].name) == 0;
			}
			if (!partitioned)
				rc = violation(r, "query-count-distinct-parties", SIZE_MAX, NULL, 0,
					       agg->start,
					       "%.64s across parties needs the union of their values; it is allowed only over the id column of datasets that declare each identity to be in one of them only",
					       agg->text);
		}
		if (rc == SR_OK && q->stmt->from_kind == SR_SQL_FROM_JOIN &&
		    sr_sql_popcount(agg->inputs) > 1)
			rc = violation(r, "query-aggregate-spans-inputs", SIZE_MAX, NULL, 0,
				       agg->start,
				       "%.64s reads columns of two joined datasets: an aggregate may read one dataset's columns only",
				       agg->text);
	}
	return rc;
}

static int rule_spans(struct rules *r)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	if (q->stmt->from_kind != SR_SQL_FROM_JOIN)
		return SR_OK;
	for (size_t i = 0; rc == SR_OK && i < q->nfilters; i++)
		if (sr_sql_popcount(q->filters[i].inputs) > 1)
			rc = violation(r, "query-where-spans-inputs", SIZE_MAX, NULL, 0,
				       q->filters[i].start,
				       "WHERE %.64s reads columns of two joined datasets: each conjunct must read one dataset's columns, to be pushed down to its owner",
				       q->filters[i].text);
	for (size_t k = 0; rc == SR_OK && k < q->nkeys; k++)
		if (sr_sql_popcount(q->keys[k].inputs) > 1)
			rc = violation(r, "query-group-spans-inputs", SIZE_MAX, NULL, 0,
				       q->keys[k].start,
				       "GROUP BY %.64s reads columns of two joined datasets: a key may read one dataset's columns only",
				       q->keys[k].text);
	return rc;
}

int sr_sql_rules(const struct sr_sql *q, unsigned flags,
		 struct sr_sql_violation **out, size_t *count, struct sr_err *err)
{
	struct rules r = { .q = q, .err = err };
	struct sr_sql_usage *us = NULL;
	size_t nus = 0;
	int rc;

	*out = NULL;
	*count = 0;
	rc = sr_sql_usages(q, &us, &nus, err);
	if (rc == SR_OK && !q->aggregated)
		rc = violation(&r, "query-not-aggregated", SIZE_MAX, NULL, 0, 0,
			       "the query outputs rows, not aggregates: a query job computes aggregates (add GROUP BY or an aggregate such as COUNT(*))");
	if (rc == SR_OK && (flags & SR_SQL_REFUSE_JOIN) &&
	    q->stmt->from_kind == SR_SQL_FROM_JOIN)
		rc = violation(&r, "query-join-not-supported", SIZE_MAX, NULL, 0,
			       q->stmt->from[1].op_pos,
			       "JOIN is not supported yet by federated execution");
	if (rc == SR_OK)
		rc = rule_id(&r, us, nus);
	if (rc == SR_OK)
		rc = rule_domains(&r);
	if (rc == SR_OK)
		rc = rule_aggs(&r);
	if (rc == SR_OK)
		rc = rule_spans(&r);
	sr_free(us);
	if (rc) {
		sr_free(r.items);
		return rc;
	}
	*out = r.items;
	*count = r.count;
	return SR_OK;
}
