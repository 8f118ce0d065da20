/*
 * mondrian.c - strict multidimensional local recoding (LeFevre, DeWitt and
 * Ramakrishnan, "Mondrian", ICDE 2006), the alternative to the full-domain
 * search where one level per column is too coarse (docs/internals/anon.md).
 *
 * Every QI is an ordered domain: int64, float64 and date QIs by value,
 * others by their hierarchy (values sorted by their labels from the top
 * down, so every subtree is contiguous).  A partition is cut at the median
 * of the QI where it is widest (normalized), on either side of the median
 * value, when both halves have >= k rows and satisfy every SA model;
 * otherwise on the next widest QI; a partition no QI can cut is a class.
 * A class is labelled per QI with its value range ("[min, max]", the value
 * when there is one) or with the lowest hierarchy label covering its
 * values.  NULL is a value of its own: a class mixing NULL and numbers gets
 * "*".  Nothing is suppressed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon_int.h"
#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

struct mond {
	const struct sr_anon_problem *p;
	size_t q;
	int numeric[SR_ANON_QI_MAX];
	uint32_t *rank[SR_ANON_QI_MAX];      /* [rows] the row's value rank */
	uint32_t *leaf_at[SR_ANON_QI_MAX];   /* [leaves] leaf of each rank */
	double *value_at[SR_ANON_QI_MAX];    /* numeric: [leaves] value, NaN = NULL */
	double span[SR_ANON_QI_MAX];         /* numeric: max - min over the column */
	uint32_t *rows;                      /* the rows, partitions contiguous */
	uint32_t *hist_left, *hist_right, *scratch;
	size_t width;
};

struct part {
	uint32_t start, end;
};

static double num_value(const struct sr_vec *v, size_t row)
{
	if (sr_vec_is_null(v, row))
		return NAN;
	switch (v->type) {
	case SR_TYPE_INT64: return (double)v->v.i64[row];
	case SR_TYPE_FLOAT64: return v->v.f64[row];
	case SR_TYPE_DATE: return (double)v->v.date[row];
	default: return 0;
	}
}

struct order_ctx {
	const struct sr_anon_dom *dom;
	const struct sr_vec *vec;
	int numeric;
};

/* Numeric: by value, NULL first.  Otherwise: by group from the level below
 * the top down to level 1, then by leaf, so subtrees are contiguous. */
static int cmp_leaves(const void *a, const void *b, void *arg)
{
	const struct order_ctx *c = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (c->numeric) {
		double vx = num_value(c->vec, c->dom->rows_of_leaf[x]);
		double vy = num_value(c->vec, c->dom->rows_of_leaf[y]);

		if (isnan(vx) || isnan(vy))
			return isnan(vy) - isnan(vx);
		return (vx > vy) - (vx < vy);
	}
	for (size_t l = c->dom->levels - 1; l-- > 1;) {
		uint32_t gx = c->dom->lv[l].group_of_leaf[x], gy = c->dom->lv[l].group_of_leaf[y];

		if (gx != gy)
			return gx < gy ? -1 : 1;
	}
	return x < y ? -1 : x > y;
}

static int cmp_rows_by_rank(const void *a, const void *b, void *arg)
{
	const uint32_t *rank = arg;
	uint32_t x = rank[*(const uint32_t *)a], y = rank[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

static void span_of(const struct mond *m, size_t c, const struct part *pt,
		    uint32_t *lo, uint32_t *hi)
{
	*lo = UINT32_MAX;
	*hi = 0;
	for (uint32_t i = pt->start; i < pt->end; i++) {
		uint32_t r = m->rank[c][m->rows[i]];

		if (r < *lo)
			*lo = r;
		if (r > *hi)
			*hi = r;
	}
}

/* Lowest level at which the leaves of ranks lo ... hi share a group. */
static size_t common_level(const struct mond *m, size_t c, uint32_t lo, uint32_t hi)
{
	const struct sr_anon_dom *d = &m->p->doms[c];
	uint32_t a = m->leaf_at[c][lo], b = m->leaf_at[c][hi];

	for (size_t l = 0; l < d->levels; l++)
		if (d->lv[l].group_of_leaf[a] == d->lv[l].group_of_leaf[b])
			return l;
	return d->levels - 1;
}

/* Normalized width of the partition in QI c: its NCP, 0 ... 1. */
static double width_of(const struct mond *m, size_t c, uint32_t lo, uint32_t hi)
{
	const struct sr_anon_dom *d = &m->p->doms[c];

	if (lo == hi)
		return 0;
	if (m->numeric[c]) {
		double vlo = m->value_at[c][lo], vhi = m->value_at[c][hi];

		if (isnan(vlo))
			return 1;
		return m->span[c] > 0 ? (vhi - vlo) / m->span[c] : 0;
	}
	{
		size_t l = common_level(m, c, lo, hi);
		uint32_t g = d->lv[l].group_of_leaf[m->leaf_at[c][lo]];

		return d->leaves > 1 ? (double)(d->lv[l].leaves_in[g] - 1) / (d->leaves - 1) : 0;
	}
}

static int side_ok(struct mond *m, uint32_t start, uint32_t end, uint32_t *hist)
{
	const struct sr_anon_problem *p = m->p;

	if (end - start < p->params->k)
		return 0;
	if (!m->width)
		return 1;
	memset(hist, 0, m->width * sizeof(*hist));
	for (uint32_t i = start; i < end; i++) {
		size_t off = 0;

		for (size_t a = 0; a < p->sas; a++) {
			hist[off + p->sa[a].value_of_row[m->rows[i]]]++;
			off += p->sa[a].values;
		}
	}
	return sr_anon_models_ok(p, hist, end - start, m->scratch);
}

/* Try to cut pt in QI c; *cut receives the first row of the right half. */
static int try_cut(struct mond *m, size_t c, const struct part *pt, uint32_t *cut)
{
	const uint32_t *rank = m->rank[c];
	uint32_t median, n = pt->end - pt->start;

	qsort_r(m->rows + pt->start, n, sizeof(uint32_t), cmp_rows_by_rank, (void *)rank);
	median = rank[m->rows[pt->start + n / 2]];
	for (int side = 0; side < 2; side++) {
		uint32_t at = pt->start;

		/* side 0: the median value goes right; side 1: it goes left. */
		while (at < pt->end && (side ? rank[m->rows[at]] <= median :
					       rank[m->rows[at]] < median))
			at++;
		if (at == pt->start || at == pt->end)
			continue;
		if (side_ok(m, pt->start, at, m->hist_left) &&
		    side_ok(m, at, pt->end, m->hist_right)) {
			*cut = at;
			return 1;
		}
	}
	return 0;
}

static int add_label(struct mond *m, struct sr_anon_result *res, size_t c,
		     const struct part *pt, double *loss, double *ncp)
{
	const struct sr_anon_dom *d = &m->p->doms[c];
	const struct sr_vec *vec = m->p->qi_values[c];
	size_t slot = (size_t)res->classes * m->q + c;
	uint32_t lo, hi;
	int rc = SR_OK;

	span_of(m, c, pt, &lo, &hi);
	res->label_off[slot] = (uint32_t)res->labels.len;
	*ncp += width_of(m, c, lo, hi) * (pt->end - pt->start);
	if (m->numeric[c]) {
		int mixed = isnan(m->value_at[c][lo]) && lo != hi;

		*loss += (mixed ? 1.0 : d->leaves > 1 ? (double)(hi - lo) / (d->leaves - 1) : 0) *
			 (pt->end - pt->start);
		if (isnan(m->value_at[c][lo]) && lo == hi) {
			res->label_null[slot] = 1;
		} else if (mixed) {
			rc = sr_buf_addch(&res->labels, '*');
		} else if (lo == hi) {
			rc = sr_vec_format(vec, d->rows_of_leaf[m->leaf_at[c][lo]], &res->labels);
		} else {
			rc = sr_buf_addch(&res->labels, '[');
			if (rc == SR_OK)
				rc = sr_vec_format(vec, d->rows_of_leaf[m->leaf_at[c][lo]], &res->labels);
			if (rc == SR_OK)
				rc = sr_buf_addstr(&res->labels, ", ");
			if (rc == SR_OK)
				rc = sr_vec_format(vec, d->rows_of_leaf[m->leaf_at[c][hi]], &res->labels);
			if (rc == SR_OK)
				rc = sr_buf_addch(&res->labels, ']');
		}
	} else {
		size_t l = common_level(m, c, lo, hi);
		uint32_t g = d->lv[l].group_of_leaf[m->leaf_at[c][lo]];
		const char *label = sr_anon_dom_label(d, l, g);

		*loss += (d->leaves > 1 ? (double)(d->lv[l].leaves_in[g] - 1) / (d->leaves - 1) : 0) *
			 (pt->end - pt->start);
		if (!label)
			res->label_null[slot] = 1;
		else
			rc = sr_buf_addstr(&res->labels, label);
	}
	if (rc == SR_OK)
		rc = sr_buf_addch(&res->labels, '\0');
	return rc;
}

struct tuple_ctx {
	const struct sr_anon_result *res;
	size_t q;
};

/* Partitions by their label tuples (NULL before any text). */
static int cmp_tuples(const void *a, const void *b, void *arg)
{
	const struct tuple_ctx *t = arg;
	size_t x = *(const uint32_t *)a * t->q, y = *(const uint32_t *)b * t->q;

	for (size_t c = 0; c < t->q; c++) {
		int nx = t->res->label_null[x + c], ny = t->res->label_null[y + c], d;

		if (nx || ny) {
			if (nx != ny)
				return ny - nx;
			continue;
		}
		d = strcmp(t->res->labels.data + t->res->label_off[x + c],
			   t->res->labels.data + t->res->label_off[y + c]);
		if (d)
			return d;
	}
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int same_tuple(const struct tuple_ctx *t, uint32_t a, uint32_t b)
{
	for (size_t c = 0; c < t->q; c++) {
		size_t x = (size_t)a * t->q + c, y = (size_t)b * t->q + c;

		if (t->res->label_null[x] != t->res->label_null[y])
			return 0;
		if (!t->res->label_null[x] &&
		    strcmp(t->res->labels.data + t->res->label_off[x],
			   t->res->labels.data + t->res->label_off[y]) != 0)
			return 0;
	}
	return 1;
}

/*
 * Partitions whose labels coincide (an ordered categorical cut inside one
 * label) are one class in the release: merge them, so the classes counted
 * are the ones a reader sees.  A union of classes that satisfy the models
 * satisfies them too.
 */
static int merge_equal_labels(struct sr_anon_result *res, size_t q, size_t rows)
{
	struct tuple_ctx t = { res, q };
	uint32_t parts = res->classes, classes = 0;
	uint32_t *order = sr_malloc((parts + 1) * sizeof(*order));
	uint32_t *class_of_part = sr_malloc((parts + 1) * sizeof(*class_of_part));
	uint32_t *off = sr_malloc(((size_t)parts * q + 1) * sizeof(*off));
	uint8_t *null = sr_calloc((size_t)parts * q + 1, 1);
	struct sr_buf labels;
	int rc = SR_OK;

	sr_buf_init(&labels, SR_BUF_UNBOUNDED);   /* a subset of res->labels */
	if (!order || !class_of_part || !off || !null) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < parts; i++)
		order[i] = i;
	qsort_r(order, parts, sizeof(*order), cmp_tuples, &t);
	for (uint32_t i = 0; i < parts; i++) {
		uint32_t p = order[i];

		if (i > 0 && same_tuple(&t, order[i - 1], p)) {
			class_of_part[p] = classes - 1;
			continue;
		}
		for (size_t c = 0; c < q && rc == SR_OK; c++) {
			size_t from = (size_t)p * q + c, to = (size_t)classes * q + c;

			off[to] = (uint32_t)labels.len;
			null[to] = res->label_null[from];
			if (!null[to])
				rc = sr_buf_addstr(&labels, res->labels.data + res->label_off[from]);
			if (rc == SR_OK)
				rc = sr_buf_addch(&labels, '\0');
		}
		if (rc != SR_OK)
			goto out;
		class_of_part[p] = classes++;
	}
	off[(size_t)classes * q] = (uint32_t)labels.len;
	memset(res->class_size, 0, parts * sizeof(*res->class_size));
	for (size_t r = 0; r < rows; r++) {
		res->class_of_row[r] = class_of_part[res->class_of_row[r]];
		res->class_size[res->class_of_row[r]]++;
	}
	res->classes = classes;
	sr_free(res->label_off);
	sr_free(res->label_null);
	sr_buf_release(&res->labels);
	res->label_off = off;
	res->label_null = null;
	res->labels = labels;
	off = NULL;
	null = NULL;
	sr_buf_init(&labels, SR_BUF_UNBOUNDED);
out:
	sr_free(order);
	sr_free(class_of_part);
	sr_free(off);
	sr_free(null);
	sr_buf_release(&labels);
	return rc;
}

static void mond_release(struct mond *m)
{
	for (size_t c = 0; c < SR_ANON_QI_MAX; c++) {
		sr_free(m->rank[c]);
		sr_free(m->leaf_at[c]);
		sr_free(m->value_at[c]);
	}
	sr_free(m->rows);
	sr_free(m->hist_left);
	sr_free(m->hist_right);
	sr_free(m->scratch);
}

static int mond_prepare(struct mond *m)
{
	const struct sr_anon_problem *p = m->p;
	size_t max_values = 1;

	m->rows = sr_malloc((p->rows ? p->rows : 1) * sizeof(*m->rows));
	if (!m->rows)
		return SR_ENOMEM;
	for (size_t r = 0; r < p->rows; r++)
		m->rows[r] = (uint32_t)r;
	for (size_t a = 0; a < p->sas; a++) {
		m->width += p->sa[a].values;
		if (p->sa[a].values > max_values)
			max_values = p->sa[a].values;
	}
	m->hist_left = sr_calloc(m->width + 1, sizeof(uint32_t));
	m->hist_right = sr_calloc(m->width + 1, sizeof(uint32_t));
	m->scratch = sr_calloc(max_values, sizeof(uint32_t));
	if (!m->hist_left || !m->hist_right || !m->scratch)
		return SR_ENOMEM;
	for (size_t c = 0; c < m->q; c++) {
		const struct sr_anon_dom *d = &p->doms[c];
		const struct sr_vec *vec = p->qi_values[c];
		enum sr_type t = vec->type;
		struct order_ctx ctx;
		uint32_t *rank_of_leaf;

		m->numeric[c] = t == SR_TYPE_INT64 || t == SR_TYPE_FLOAT64 || t == SR_TYPE_DATE;
		m->rank[c] = sr_malloc((p->rows ? p->rows : 1) * sizeof(uint32_t));
		m->leaf_at[c] = sr_malloc((d->leaves + 1) * sizeof(uint32_t));
		m->value_at[c] = sr_malloc((d->leaves + 1) * sizeof(double));
		rank_of_leaf = sr_malloc((d->leaves + 1) * sizeof(uint32_t));
		if (!m->rank[c] || !m->leaf_at[c] || !m->value_at[c] || !rank_of_leaf) {
			sr_free(rank_of_leaf);
			return SR_ENOMEM;
		}
		for (uint32_t i = 0; i < d->leaves; i++)
			m->leaf_at[c][i] = i;
		ctx.dom = d;
		ctx.vec = vec;
		ctx.numeric = m->numeric[c];
		qsort_r(m->leaf_at[c], d->leaves, sizeof(uint32_t), cmp_leaves, &ctx);
		for (uint32_t i = 0; i < d->leaves; i++) {
			rank_of_leaf[m->leaf_at[c][i]] = i;
			m->value_at[c][i] = m->numeric[c] ?
				num_value(vec, d->rows_of_leaf[m->leaf_at[c][i]]) : 0;
		}
		for (size_t r = 0; r < p->rows; r++)
			m->rank[c][r] = rank_of_leaf[d->leaf_of_row[r]];
		sr_free(rank_of_leaf);
		m->span[c] = 0;
		if (m->numeric[c] && d->leaves > 0) {
			uint32_t first = isnan(m->value_at[c][0]) ? 1 : 0;

			if (first < d->leaves)
				m->span[c] = m->value_at[c][d->leaves - 1] - m->value_at[c][first];
		}
	}
	return SR_OK;
}

int sr_anon_mondrian(const struct sr_anon_problem *p, struct sr_anon_result *res,
		     struct sr_err *err)
{
	struct mond m;
	struct part *stack = NULL, *done = NULL;
	size_t top = 0, ndone = 0, cap;
	double loss = 0, ncp = 0;
	uint64_t sumsq = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&m, 0, sizeof(m));
	m.p = p;
	m.q = p->qis;
	if (m.q > SR_ANON_QI_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu quasi-identifiers, at most %d",
			       m.q, SR_ANON_QI_MAX);
	rc = mond_prepare(&m);
	if (rc != SR_OK)
		goto out;
	if (!side_ok(&m, 0, (uint32_t)p->rows, m.hist_left)) {
		rc = sr_fail(err, SR_EPOLICY, "anon: mondrian: the whole table of %zu rows does not satisfy the models",
			     p->rows);
		goto out;
	}
	/* Every cut leaves >= k rows on each side: at most rows / k parts. */
	cap = p->rows / (p->params->k ? p->params->k : 1) + 2;
	stack = sr_malloc(cap * sizeof(*stack));
	done = sr_malloc(cap * sizeof(*done));
	if (!stack || !done) {
		rc = SR_ENOMEM;
		goto out;
	}
	stack[top++] = (struct part){ 0, (uint32_t)p->rows };
	while (top) {
		struct part pt = stack[--top];
		size_t order[SR_ANON_QI_MAX];
		double width[SR_ANON_QI_MAX];
		uint32_t cut = 0;
		int split = 0;

		for (size_t c = 0; c < m.q; c++) {
			uint32_t lo, hi;

			span_of(&m, c, &pt, &lo, &hi);
			width[c] = lo == hi ? -1 : width_of(&m, c, lo, hi);
			order[c] = c;
		}
		/* Widest first (ties: column order); a QI of one value cannot cut. */
		for (size_t i = 1; i < m.q; i++)
			for (size_t j = i; j > 0 && width[order[j]] > width[order[j - 1]]; j--) {
				size_t t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (size_t i = 0; i < m.q && !split; i++) {
			if (width[order[i]] < 0)
				break;
			split = try_cut(&m, order[i], &pt, &cut);
		}
		if (split) {
			stack[top++] = (struct part){ cut, pt.end };
			stack[top++] = (struct part){ pt.start, cut };
		} else {
			done[ndone++] = pt;
		}
	}
	res->levels = sr_calloc(m.q ? m.q : 1, sizeof(*res->levels));
	res->released = sr_malloc(p->rows ? p->rows : 1);
	res->class_of_row = sr_malloc((p->rows ? p->rows : 1) * sizeof(uint32_t));
	res->class_size = sr_malloc((ndone ? ndone : 1) * sizeof(uint32_t));
	res->label_off = sr_malloc((ndone * m.q + 1) * sizeof(uint32_t));
	res->label_null = sr_calloc(ndone * m.q + 1, 1);
	sr_buf_init(&res->labels, SR_BUF_UNBOUNDED);   /* labels are capped at build */
	if (!res->levels || !res->released || !res->class_of_row || !res->class_size ||
	    !res->label_off || !res->label_null) {
		rc = SR_ENOMEM;
		goto out;
	}
	memset(res->released, 1, p->rows);
	for (size_t i = 0; i < ndone; i++) {
		const struct part *pt = &done[i];

		for (size_t c = 0; c < m.q && rc == SR_OK; c++)
			rc = add_label(&m, res, c, pt, &loss, &ncp);
		if (rc != SR_OK)
			goto out;
		for (uint32_t r = pt->start; r < pt->end; r++)
			res->class_of_row[m.rows[r]] = res->classes;
		res->class_size[res->classes++] = pt->end - pt->start;
	}
	res->label_off[ndone * m.q] = (uint32_t)res->labels.len;
	rc = merge_equal_labels(res, m.q, p->rows);
	if (rc != SR_OK)
		goto out;
	for (uint32_t c = 0; c < res->classes; c++)
		sumsq += (uint64_t)res->class_size[c] * res->class_size[c];
	if (p->rows && m.q) {
		res->loss = loss / ((double)p->rows * (double)m.q);
		res->ncp = ncp / ((double)p->rows * (double)m.q);
	}
	res->discernibility = (double)sumsq;
	res->lattice_nodes = 0;
	res->nodes_evaluated = ndone;
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "anon: mondrian: out of memory");
	if (rc != SR_OK)
		sr_anon_result_release(res);
	mond_release(&m);
	sr_free(stack);
	sr_free(done);
	return rc;
}
