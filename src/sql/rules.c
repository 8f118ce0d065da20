/*
 * rules.c - what a bound query does with each column (sr_sql_usages) and
 * the query's own rules over its inputs' policies (sr_sql_rules); the
 * group domains and bounds they check are domain.c's.
 *
 * Both walk the parse tree the query keeps (sql_int.h): the compiled
 * programs say which columns an expression reads, not where (a column in
 * a CASE condition inside SUM is a filter; in its THEN, aggregated).
 */
#include "sql/sql.h"
#include "sql/sql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
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
		return use_row(u, sr_sql_row_of(u->q, a), usage, a->pos);
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
		size_t row = sr_sql_row_of(q, a->args[0]);
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

/* The row column of key k when it is a plain masked column, else SIZE_MAX. */
static size_t masked_key_row(const struct sr_sql *q, size_t k)
{
	size_t row;

	if (!q->keys[k].mask || sr_sql_resolve_row(q, q->key_ast[k], &row, NULL) != SR_OK)
		return SIZE_MAX;
	return row;
}

/*
 * A column whose policy has a mask (hash, truncate:N, range:W) is revealed
 * only through it.  A plain GROUP BY column with a truncate or range mask
 * is grouped by its masked label (the layout maps the public domain's
 * values to labels, so the groups, the threshold and the noise are the
 * label's), and outputs see only the label: allowed.  Refused:
 *  - a masked column in any other GROUP BY expression or output
 *    (query-masked-column): its raw value would be grouped or shown;
 *  - a hash mask (query-hash-mask): the keyed hash needs its owner's key,
 *    which the release party (and every other owner) does not hold, so
 *    the layout every party builds cannot name the groups;
 *  - a key whose inputs declare different masks (query-mask-differs):
 *    the labels would not be the same across parties.
 */
static int rule_masks(struct rules *r, const struct sr_sql_usage *us, size_t n)
{
	const struct sr_sql *q = r->q;
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		const struct sr_policy_column *pc =
			sr_policy_column(q->sources[us[i].input].policy, us[i].column);
		size_t key = SIZE_MAX;

		if (!pc || pc->mask == SR_MASK_NONE ||
		    (us[i].usage != SR_USE_GROUP && us[i].usage != SR_USE_REVEAL))
			continue;
		for (size_t k = 0; key == SIZE_MAX && k < q->nkeys; k++) {
			size_t row = masked_key_row(q, k);
			if (row == SIZE_MAX || strcmp(q->row_columns[row].name, us[i].column) != 0 ||
			    !(sr_sql_row_inputs(q, row) & SR_SQL_INPUT_BIT(us[i].input)))
				continue;
			if (us[i].usage == SR_USE_REVEAL ||
			    (us[i].pos >= q->keys[k].start && us[i].pos < q->keys[k].end))
				key = k;
		}
		if (key == SIZE_MAX) {
			rc = violation(r, "query-masked-column", us[i].input, us[i].column, us[i].usage,
				       us[i].pos,
				       "%s.%.64s is masked by its policy: a query may %s it only as a plain GROUP BY column, whose groups are its masked labels",
				       q->inputs[us[i].input].name, us[i].column,
				       us[i].usage == SR_USE_GROUP ? "group by" : "output");
		} else if (pc->mask == SR_MASK_HASH) {
			rc = violation(r, "query-hash-mask", us[i].input, us[i].column, us[i].usage,
				       us[i].pos,
				       "%s.%.64s has a hash mask: its keyed hash is computed with its owner's key, which the release party does not hold, so a query cannot group by or output it (truncate and range masks can be)",
				       q->inputs[us[i].input].name, us[i].column);
		} else if (pc->mask != q->keys[key].mask->mask ||
			   pc->mask_param != q->keys[key].mask->mask_param) {
			rc = violation(r, "query-mask-differs", us[i].input, us[i].column, us[i].usage,
				       us[i].pos,
				       "GROUP BY %s: the inputs' policies mask %.64s differently, so their labels would not match across parties",
				       q->keys[key].text, us[i].column);
		}
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
		size_t *rows = NULL, n = 0;
		int missing = 0;
		json_t *dom = NULL;
		rc = sr_sql_key_columns(q, k, &rows, &n, r->err);
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
		sr_free(rows);
		if (rc || missing) {
			all_known = 0;
			continue;
		}
		rc = sr_sql_key_domain(q, k, &dom, r->err);
		if (rc == SR_ELIMIT) {
			sr_err_clear(r->err);
			rc = violation(r, "query-group-domain-too-large", SIZE_MAX, NULL, 0,
				       q->keys[k].start,
				       "the public domain of %.64s has more than %u values (or needs more than %u bytes to list)",
				       q->keys[k].text, (unsigned)SR_SQL_GROUPS_MAX,
				       (unsigned)SR_SQL_DOMAIN_BYTES_MAX);
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
		size_t row = sr_sql_row_of(q, a);
		const struct sr_policy_column *pc;
		enum sr_type t = q->row_columns[row].type;
		input = sr_sql_own_input(q, row, input);
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
		size_t row = sr_sql_row_of(q, a);
		uint64_t mask = sr_sql_row_inputs(q, row);
		for (size_t i = 0; rc == SR_OK && i < q->ninputs; i++) {
			const struct sr_policy_column *pc = sr_sql_policy_column(q, i, row);
			if ((mask & SR_SQL_INPUT_BIT(i)) && pc && pc->mask != SR_MASK_NONE) {
				/* The extreme is a raw value: a masked column is
				 * revealed only through its mask (rule_masks). */
				rc = violation(r, "query-masked-column", i, q->row_columns[row].name,
					       SR_USE_REVEAL, q->aggs[g].start,
					       "%.64s would reveal a raw value of %s.%.64s, which its policy masks",
					       q->aggs[g].text, q->inputs[i].name, q->row_columns[row].name);
				continue;
			}
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
					strcmp(id, q->row_columns[sr_sql_row_of(q, a->args[0])].name) == 0;
			}
			if (!partitioned)
				rc = violation(r, "query-count-distinct-parties", SIZE_MAX, NULL, 0,
					       agg->start,
					       "%.64s across parties needs the union of their values; it is allowed only over the id column of datasets that declare each identity to be in one of them only",
					       agg->text);
		}
		if (rc == SR_OK && q->stmt->from_kind == SR_SQL_FROM_JOIN &&
		    sr_sql_popcount(agg->inputs) > 1)
			rc = violation(r, "query-join-cross-party-aggregate", SIZE_MAX, NULL, 0,
				       agg->start,
				       "%.64s reads columns of both joined datasets: an aggregate over a join may read the value holder's columns only (values of two parties are never combined row by row)",
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

/* ---- joins (docs/protocols/query-join.md) ---------------------------------- */

static size_t only_input(uint64_t mask)
{
	return sr_sql_popcount(mask) == 1 ? (size_t)__builtin_ctzll(mask) : SIZE_MAX;
}

int sr_sql_join_roles(const struct sr_sql *q, size_t *d, size_t *v)
{
	size_t dim = SIZE_MAX;

	if (q->stmt->from_kind != SR_SQL_FROM_JOIN || q->ninputs != 2)
		return SR_EINVAL;
	for (size_t k = 0; k < q->nkeys; k++) {
		size_t i = only_input(q->keys[k].inputs);
		if (!q->keys[k].inputs)
			continue;
		if (i == SIZE_MAX || (dim != SIZE_MAX && dim != i))
			return SR_EINVAL;
		dim = i;
	}
	if (dim == SIZE_MAX) {
		for (size_t g = 0; dim == SIZE_MAX && g < q->naggs; g++) {
			size_t i = only_input(q->aggs[g].inputs);
			if (i != SIZE_MAX)
				dim = 1 - i;
		}
	}
	if (dim == SIZE_MAX)
		dim = 0;
	*d = dim;
	*v = 1 - dim;
	return SR_OK;
}

static int rule_join(struct rules *r)
{
	const struct sr_sql *q = r->q;
	const struct sr_sql_join_key *j = q->join_keys;
	size_t pos = q->stmt->from[1].op_pos, d, v;
	int rc = SR_OK;

	if (q->ninputs != 2 || q->nparties != 2)
		return violation(r, "query-join-parties", SIZE_MAX, NULL, 0, pos,
				 "a JOIN is executed between two datasets of two different parties (got %zu datasets of %zu parties)",
				 q->ninputs, q->nparties);
	if (q->njoin_keys != 1)
		return violation(r, "query-join-keys", SIZE_MAX, NULL, 0, pos,
				 "a JOIN is executed on exactly one key equality (ON a.k = b.k), got %zu",
				 q->njoin_keys);
	{
		size_t lrow = q->inputs[j->left_input].row_offset + j->left_column;
		size_t rrow = q->inputs[j->right_input].row_offset + j->right_column;
		if (q->row_columns[lrow].type != q->row_columns[rrow].type)
			return violation(r, "query-join-keys", SIZE_MAX, NULL, 0, j->pos,
					 "the join keys %.64s and %.64s have different types: keys are compared as their typed values",
					 q->row_columns[lrow].name, q->row_columns[rrow].name);
	}
	if (sr_sql_join_roles(q, &d, &v) != SR_OK)
		return violation(r, "query-join-group-party", SIZE_MAX, NULL, 0, q->stmt->group_pos,
				 "GROUP BY over a join must read the columns of one dataset only (the dimension holder's): the groups are formed by the party that holds them");
	for (size_t g = 0; rc == SR_OK && g < q->naggs; g++) {
		const struct sr_sql_agg *a = &q->aggs[g];
		if (a->kind == SR_SQL_COUNT_DISTINCT || a->kind == SR_SQL_MIN || a->kind == SR_SQL_MAX)
			rc = violation(r, "query-join-aggregate-kind", SIZE_MAX, NULL, 0, a->start,
				       "%.64s over a join is not executed: COUNT(*), COUNT, SUM, AVG, VAR and STDDEV are (homomorphic sums)",
				       a->text);
		else if (a->inputs & SR_SQL_INPUT_BIT(d) && sr_sql_popcount(a->inputs) == 1)
			rc = violation(r, "query-join-aggregate-party", d, NULL, 0, a->start,
				       "%.64s aggregates columns of %s, which holds the GROUP BY columns: over a join the aggregates read the other dataset (%s), whose values are summed under encryption",
				       a->text, q->inputs[d].name, q->inputs[v].name);
	}
	if (rc == SR_OK) {
		size_t vcol = j->left_input == v ? j->left_column : j->right_column;
		const struct sr_policy_column *pc =
			sr_sql_policy_column(q, v, q->inputs[v].row_offset + vcol);
		if (pc && !pc->join_reveals_group_counts)
			rc = violation(r, "query-join-reveals-group-counts", v, pc->name, SR_USE_JOIN, j->pos,
				       "the dimension holder %s matches blinded keys and so learns how many of %s's keys match in each of its groups, before any threshold: %s.%.64s must declare \"join_reveals_group_counts\": true to allow it",
				       q->inputs[d].name, q->inputs[v].name, q->inputs[v].name, pc->name);
	}
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
		rc = rule_masks(&r, us, nus);
	if (rc == SR_OK)
		rc = rule_domains(&r);
	if (rc == SR_OK)
		rc = rule_aggs(&r);
	if (rc == SR_OK)
		rc = rule_spans(&r);
	if (rc == SR_OK && !(flags & SR_SQL_REFUSE_JOIN) &&
	    q->stmt->from_kind == SR_SQL_FROM_JOIN)
		rc = rule_join(&r);
	sr_free(us);
	if (rc) {
		sr_free(r.items);
		return rc;
	}
	*out = r.items;
	*count = r.count;
	return SR_OK;
}
