/*
 * search.c - the globally optimal full-domain generalization with record
 * suppression (after Flash and OLA; docs/internals/anon.md).
 *
 * A lattice node is one level per QI.  A node's equivalence classes are a
 * table of packed keys (one group id per QI) with a row count and, when an
 * SA model is set, a histogram per class; a node's table is rolled up from
 * the table of a cached node below it (never recomputed from the rows).
 * Nodes are visited in three phases:
 *   1. every node's lower bound on the metric, from the QI domains alone
 *      (the Loss if nothing were suppressed: suppressing a cell only costs
 *      more);
 *   2. a greedy descent from the top node, for a first solution;
 *   3. every node whose bound does not exceed the best found, most
 *      general first, so that a node failing k-anonymity within the
 *      suppression limit tags all its specializations as failing too
 *      (predictive tagging: that part of the check is monotone).
 * A node not visited is either bounded above the optimum or tagged, so the
 * result is the optimum; ties go to fewer levels in total, then to the
 * lexicographically smaller levels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon_int.h"
#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

/* Class tables kept for rollup, and the memory they may hold together
 * (tables of lower nodes are the big ones; the bottom is always kept). */
#define CACHE_TABLES 48
#define CACHE_BYTES (192u << 20)
/* A source table this small is rolled up from directly, without first
 * making a waypoint below the node. */
#define WAYPOINT_CLASSES 2048

enum {
	NODE_EVALUATED = 1,
	NODE_KFAIL = 2,     /* k within the suppression limit fails */
	NODE_OK = 4,        /* satisfies every model within the limit */
};

struct ctab {
	size_t node;
	uint32_t n;
	uint64_t *key;
	uint32_t *count;
	uint32_t *hist;     /* [n * width] */
	size_t bytes;
	uint64_t used;      /* clock of the last use as a source */
};

struct verdict {
	int k_ok, ok;
	uint64_t suppressed, classes;
	double loss, discernibility, aecs;
};

struct search {
	const struct sr_anon_problem *p;
	size_t q, nodes;
	size_t heights[SR_ANON_QI_MAX];
	size_t stride[SR_ANON_QI_MAX];
	uint64_t max_suppressed;
	size_t width;                       /* histogram counters per class */
	size_t hist_off[SR_ANON_SA_MAX];
	uint8_t *state;                     /* [nodes] */
	double *value;                      /* [nodes] metric of OK nodes */
	double *bound;                      /* [nodes] lower bound */
	struct ctab cache[CACHE_TABLES];
	size_t cached, cache_bytes;
	uint64_t clock;
	uint32_t *slots;                    /* hash scratch */
	size_t slots_cap;
	uint32_t *sorted;                   /* SA scratch */
	size_t best;                        /* SIZE_MAX = none */
	uint64_t evaluated;
};

static void node_levels(const struct search *s, size_t node, size_t *levels)
{
	for (size_t c = 0; c < s->q; c++)
		levels[c] = node / s->stride[c] % s->heights[c];
}

static size_t level_sum(const struct search *s, size_t node)
{
	size_t sum = 0;

	for (size_t c = 0; c < s->q; c++)
		sum += node / s->stride[c] % s->heights[c];
	return sum;
}

/* Shifts of each QI's group id in a node's key. */
static void node_shifts(const struct search *s, const size_t *levels, unsigned *shift)
{
	unsigned at = 0;

	for (size_t c = 0; c < s->q; c++) {
		shift[c] = at;
		at += s->p->doms[c].lv[levels[c]].bits;
	}
}

static void ctab_release(struct ctab *t)
{
	sr_free(t->key);
	sr_free(t->count);
	sr_free(t->hist);
	memset(t, 0, sizeof(*t));
}

static int ctab_alloc(struct search *s, struct ctab *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0)
		cap = 1;
	t->key = sr_malloc(cap * sizeof(*t->key));
	t->count = sr_calloc(cap, sizeof(*t->count));
	if (s->width)
		t->hist = sr_calloc(cap * s->width, sizeof(*t->hist));
	if (!t->key || !t->count || (s->width && !t->hist)) {
		ctab_release(t);
		return SR_ENOMEM;
	}
	return SR_OK;
}

/* Give back the slack of a table built with an upper bound on classes. */
static void ctab_shrink(struct search *s, struct ctab *t)
{
	size_t n = t->n ? t->n : 1;
	uint64_t *key = sr_realloc(t->key, n * sizeof(*key));
	uint32_t *count = sr_realloc(t->count, n * sizeof(*count));

	if (key)
		t->key = key;
	if (count)
		t->count = count;
	if (s->width) {
		uint32_t *hist = sr_realloc(t->hist, n * s->width * sizeof(*hist));

		if (hist)
			t->hist = hist;
	}
	t->bytes = n * (sizeof(uint64_t) + sizeof(uint32_t) * (1 + s->width));
}

static int slots_ready(struct search *s, size_t entries, size_t *mask)
{
	size_t cap = 64;

	while (cap < entries * 2)
		cap <<= 1;
	if (cap > s->slots_cap) {
		uint32_t *slots = sr_malloc(cap * sizeof(*slots));

		if (!slots)
			return SR_ENOMEM;
		sr_free(s->slots);
		s->slots = slots;
		s->slots_cap = cap;
	}
	memset(s->slots, 0, cap * sizeof(*s->slots));
	*mask = cap - 1;
	return SR_OK;
}

static inline uint64_t key_hash(uint64_t key)
{
	key ^= key >> 31;
	key *= 0x9E3779B97F4A7C15ull;
	return key ^ (key >> 29);
}

/* The class of key in t, added when new. */
static inline uint32_t ctab_find(struct search *s, struct ctab *t, size_t mask,
				 uint64_t key)
{
	size_t i = (size_t)key_hash(key) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t slot = s->slots[i];

		if (!slot) {
			s->slots[i] = t->n + 1;
			t->key[t->n] = key;
			return t->n++;
		}
		if (t->key[slot - 1] == key)
			return slot - 1;
	}
}

/* The classes of node straight from the rows; class_of_row optional. */
static int table_from_rows(struct search *s, size_t node, struct ctab *t,
			   uint32_t *class_of_row)
{
	const struct sr_anon_problem *p = s->p;
	size_t levels[SR_ANON_QI_MAX], mask;
	unsigned shift[SR_ANON_QI_MAX];
	const uint32_t *group[SR_ANON_QI_MAX];
	int rc;

	node_levels(s, node, levels);
	node_shifts(s, levels, shift);
	for (size_t c = 0; c < s->q; c++)
		group[c] = p->doms[c].lv[levels[c]].group_of_leaf;
	rc = ctab_alloc(s, t, p->rows);
	if (rc == SR_OK)
		rc = slots_ready(s, p->rows, &mask);
	if (rc != SR_OK) {
		ctab_release(t);
		return rc;
	}
	t->node = node;
	for (size_t row = 0; row < p->rows; row++) {
		uint64_t key = 0;
		uint32_t cls;

		for (size_t c = 0; c < s->q; c++)
			key |= (uint64_t)group[c][p->doms[c].leaf_of_row[row]] << shift[c];
		cls = ctab_find(s, t, mask, key);
		t->count[cls]++;
		for (size_t a = 0; a < p->sas && s->width; a++)
			t->hist[(size_t)cls * s->width + s->hist_off[a] +
				p->sa[a].value_of_row[row]]++;
		if (class_of_row)
			class_of_row[row] = cls;
	}
	ctab_shrink(s, t);
	return SR_OK;
}

/* The classes of node rolled up from src (a node below it). */
static int table_rollup(struct search *s, const struct ctab *src, size_t node,
			struct ctab *t)
{
	const struct sr_anon_problem *p = s->p;
	size_t from[SR_ANON_QI_MAX], to[SR_ANON_QI_MAX], mask;
	unsigned sshift[SR_ANON_QI_MAX], dshift[SR_ANON_QI_MAX];
	const uint32_t *up[SR_ANON_QI_MAX];
	uint64_t smask[SR_ANON_QI_MAX];
	int rc;

	node_levels(s, src->node, from);
	node_levels(s, node, to);
	node_shifts(s, from, sshift);
	node_shifts(s, to, dshift);
	for (size_t c = 0; c < s->q; c++) {
		const struct sr_anon_dom *d = &p->doms[c];

		if (from[c] > to[c])
			SR_BUG("anon: rollup from a node above");
		up[c] = from[c] == to[c] ? NULL : d->up[from[c] * d->levels + to[c]];
		smask[c] = d->lv[from[c]].bits ? (1ull << d->lv[from[c]].bits) - 1 : 0;
	}
	rc = ctab_alloc(s, t, src->n);
	if (rc == SR_OK)
		rc = slots_ready(s, src->n, &mask);
	if (rc != SR_OK) {
		ctab_release(t);
		return rc;
	}
	t->node = node;
	for (uint32_t i = 0; i < src->n; i++) {
		uint64_t key = 0, skey = src->key[i];
		uint32_t cls;

		for (size_t c = 0; c < s->q; c++) {
			uint64_t g = (skey >> sshift[c]) & smask[c];

			key |= (uint64_t)(up[c] ? up[c][g] : g) << dshift[c];
		}
		cls = ctab_find(s, t, mask, key);
		t->count[cls] += src->count[i];
		if (s->width) {
			uint32_t *dh = t->hist + (size_t)cls * s->width;
			const uint32_t *sh = src->hist + (size_t)i * s->width;

			for (size_t w = 0; w < s->width; w++)
				dh[w] += sh[w];
		}
	}
	ctab_shrink(s, t);
	return SR_OK;
}

static int cmp_desc_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Whether one class's SA histograms satisfy every SA model. */
static int class_diverse(struct search *s, const uint32_t *hist, uint32_t size)
{
	return sr_anon_models_ok(s->p, hist, size, s->sorted);
}

int sr_anon_models_ok(const struct sr_anon_problem *p, const uint32_t *hist,
		      uint32_t size, uint32_t *scratch)
{
	for (size_t a = 0; a < p->sas; a++) {
		const struct sr_anon_sa *sa = &p->sa[a];
		const struct sr_anon_sa_model *m = &sa->model;
		const uint32_t *h = hist;
		double n = size;

		hist += sa->values;
		if (m->ldiv == SR_ANON_LDIV_DISTINCT) {
			uint32_t distinct = 0;

			for (uint32_t v = 0; v < sa->values; v++)
				distinct += h[v] != 0;
			if (distinct < m->l)
				return 0;
		} else if (m->ldiv == SR_ANON_LDIV_ENTROPY) {
			double entropy = 0;

			for (uint32_t v = 0; v < sa->values; v++) {
				if (h[v])
					entropy -= (h[v] / n) * log(h[v] / n);
			}
			if (entropy < log(m->l) - 1e-9)
				return 0;
		} else if (m->ldiv == SR_ANON_LDIV_RECURSIVE) {
			size_t distinct = 0, l = (size_t)m->l;
			double tail = 0;

			for (uint32_t v = 0; v < sa->values; v++)
				if (h[v])
					scratch[distinct++] = h[v];
			if (distinct < l)
				return 0;
			qsort(scratch, distinct, sizeof(*scratch), cmp_desc_u32);
			for (size_t i = l - 1; i < distinct; i++)
				tail += scratch[i];
			if (!(scratch[0] < m->c * tail))
				return 0;
		}
		if (m->t > 0) {
			double emd = 0, cum = 0, total = (double)p->rows;

			for (uint32_t v = 0; v < sa->values; v++) {
				double diff = h[v] / n - sa->input_count[v] / total;

				if (sa->ordered) {
					cum += diff;
					emd += fabs(cum);
				} else {
					emd += fabs(diff);
				}
			}
			if (sa->ordered)
				emd = sa->values > 1 ? emd / (sa->values - 1) : 0;
			else
				emd /= 2;
			if (emd > m->t + 1e-9)
				return 0;
		}
	}
	return 1;
}

/* Judge a node's table: which classes pass, the suppression, the metrics.
 * pass (optional, [t->n]) receives each class's verdict. */
static void judge(struct search *s, const struct ctab *t, struct verdict *v,
		  uint8_t *pass)
{
	const struct sr_anon_problem *p = s->p;
	uint64_t k = p->params->k, small = 0, sumsq = 0;
	uint64_t cost[SR_ANON_QI_MAX] = { 0 };
	size_t levels[SR_ANON_QI_MAX];
	unsigned shift[SR_ANON_QI_MAX];
	double loss = 0, rows = (double)p->rows;

	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < t->n; i++)
		if (t->count[i] < k)
			small += t->count[i];
	if (small > s->max_suppressed)
		return;
	v->k_ok = 1;
	node_levels(s, t->node, levels);
	node_shifts(s, levels, shift);
	for (uint32_t i = 0; i < t->n; i++) {
		int ok = t->count[i] >= k &&
			 (!s->width || class_diverse(s, t->hist + (size_t)i * s->width,
						     t->count[i]));

		if (pass)
			pass[i] = (uint8_t)ok;
		if (!ok) {
			v->suppressed += t->count[i];
			continue;
		}
		v->classes++;
		sumsq += (uint64_t)t->count[i] * t->count[i];
		for (size_t c = 0; c < s->q; c++) {
			const struct sr_anon_level *lv = &p->doms[c].lv[levels[c]];
			uint64_t g = (t->key[i] >> shift[c]) &
				     (lv->bits ? (1ull << lv->bits) - 1 : 0);

			cost[c] += (uint64_t)t->count[i] * (lv->leaves_in[g] - 1);
		}
	}
	v->ok = v->suppressed <= s->max_suppressed;
	for (size_t c = 0; c < s->q; c++)
		if (p->doms[c].leaves > 1)
			loss += (double)cost[c] / (double)(p->doms[c].leaves - 1);
	loss += (double)v->suppressed * (double)s->q;
	v->loss = p->rows && s->q ? loss / (rows * (double)s->q) : 0;
	v->discernibility = (double)sumsq + (double)v->suppressed * rows;
	v->aecs = v->classes ? (rows - (double)v->suppressed) / (double)v->classes : rows;
}

static double metric_of(const struct search *s, const struct verdict *v)
{
	switch (s->p->params->metric) {
	case SR_ANON_METRIC_DISCERNIBILITY: return v->discernibility;
	case SR_ANON_METRIC_AECS: return v->aecs;
	case SR_ANON_METRIC_LOSS: break;
	}
	return v->loss;
}

/* Whether node a (metric va) beats node b (metric vb). */
static int better(const struct search *s, size_t a, double va, size_t b, double vb)
{
	size_t sa, sb;

	if (b == SIZE_MAX)
		return 1;
	if (va != vb)
		return va < vb;
	sa = level_sum(s, a);
	sb = level_sum(s, b);
	if (sa != sb)
		return sa < sb;
	return a < b;
}

static void note_ok(struct search *s, size_t node, double value)
{
	s->state[node] |= NODE_OK;
	s->value[node] = value;
	if (better(s, node, value, s->best, s->best == SIZE_MAX ? 0 : s->value[s->best]))
		s->best = node;
}

static int node_below(const struct search *s, size_t a, size_t b)
{
	for (size_t c = 0; c < s->q; c++)
		if (a / s->stride[c] % s->heights[c] > b / s->stride[c] % s->heights[c])
			return 0;
	return 1;
}

/* Keep a waypoint's table for later rollups; when full, drop the least
 * recently used (never the bottom, entry 0). */
static void cache_put(struct search *s, struct ctab *t)
{
	while (s->cached > 1 && (s->cached == CACHE_TABLES ||
				 s->cache_bytes + t->bytes > CACHE_BYTES)) {
		size_t old = 1;

		for (size_t i = 2; i < s->cached; i++)
			if (s->cache[i].used < s->cache[old].used)
				old = i;
		s->cache_bytes -= s->cache[old].bytes;
		ctab_release(&s->cache[old]);
		s->cache[old] = s->cache[--s->cached];
	}
	if (s->cached == CACHE_TABLES || s->cache_bytes + t->bytes > CACHE_BYTES) {
		ctab_release(t);
		return;
	}
	t->used = ++s->clock;
	s->cache[s->cached++] = *t;
	s->cache_bytes += t->bytes;
	memset(t, 0, sizeof(*t));
}

static const struct ctab *cache_source(struct search *s, size_t node)
{
	struct ctab *src = &s->cache[0];   /* the bottom */

	for (size_t i = 1; i < s->cached; i++)
		if (s->cache[i].n < src->n && node_below(s, s->cache[i].node, node))
			src = &s->cache[i];
	src->used = ++s->clock;
	return src;
}

/* The waypoint below node at j: every level capped at j.  Most nodes share
 * a few of them, and each one merges most of the classes below it, so a
 * node is rolled up from a small table rather than from the bottom. */
static size_t waypoint(const struct search *s, size_t node, size_t j)
{
	size_t w = 0;

	for (size_t c = 0; c < s->q; c++) {
		size_t l = node / s->stride[c] % s->heights[c];

		w += (l < j ? l : j) * s->stride[c];
	}
	return w;
}

static int cached(struct search *s, size_t node)
{
	for (size_t i = 0; i < s->cached; i++)
		if (s->cache[i].node == node)
			return 1;
	return 0;
}

static int evaluate(struct search *s, size_t node)
{
	const struct ctab *src;
	struct ctab t;
	struct verdict v;
	size_t w;
	int rc;

	src = cache_source(s, node);
	for (size_t j = 1; j < SR_ANON_HIER_LEVELS_MAX; j++) {
		w = waypoint(s, node, j);
		if (w == node)
			break;
		if (src->n <= WAYPOINT_CLASSES || cached(s, w) || !node_below(s, src->node, w))
			continue;
		rc = table_rollup(s, src, w, &t);
		if (rc != SR_OK)
			return rc;
		cache_put(s, &t);
		src = cache_source(s, node);
	}
	rc = table_rollup(s, src, node, &t);
	if (rc != SR_OK)
		return rc;
	s->evaluated++;
	s->state[node] |= NODE_EVALUATED;
	judge(s, &t, &v, NULL);
	if (!v.k_ok)
		s->state[node] |= NODE_KFAIL;
	else if (v.ok)
		note_ok(s, node, metric_of(s, &v));
	ctab_release(&t);
	return SR_OK;
}

/* Tag node's specializations: k within the limit fails for all of them. */
static int tag_below(struct search *s, size_t node, size_t *stack)
{
	size_t top = 0;

	stack[top++] = node;
	while (top) {
		size_t n = stack[--top];

		for (size_t c = 0; c < s->q; c++) {
			size_t child;

			if (n / s->stride[c] % s->heights[c] == 0)
				continue;
			child = n - s->stride[c];
			if (s->state[child] & NODE_KFAIL)
				continue;
			s->state[child] |= NODE_KFAIL;
			stack[top++] = child;
		}
	}
	return SR_OK;
}

/* Loss if nothing were suppressed: a lower bound of the Loss at node. */
static double loss_bound(const struct search *s, size_t node)
{
	double loss = 0;

	if (s->p->params->metric != SR_ANON_METRIC_LOSS || !s->p->rows)
		return 0;
	for (size_t c = 0; c < s->q; c++) {
		const struct sr_anon_dom *d = &s->p->doms[c];

		if (d->leaves > 1)
			loss += (double)d->lv[node / s->stride[c] % s->heights[c]].gen_cost /
				(double)(d->leaves - 1);
	}
	return loss / ((double)s->p->rows * (double)s->q);
}

static int cmp_candidates(const void *a, const void *b, void *ctx)
{
	const struct search *s = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	size_t sx = level_sum(s, x), sy = level_sum(s, y);

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

static int search_pruned(struct search *s, struct sr_err *err)
{
	size_t *order = NULL, *stack = NULL, n = 0, cur;
	int rc = SR_OK;

	order = sr_malloc(s->nodes * sizeof(*order));
	stack = sr_malloc((s->nodes + 1) * sizeof(*stack));
	if (!order || !stack) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nodes; i++)
		s->bound[i] = loss_bound(s, i);
	/* Phase 2: greedy descent from the top. */
	cur = s->nodes - 1;
	rc = evaluate(s, cur);
	while (rc == SR_OK && (s->state[cur] & NODE_OK)) {
		size_t next = SIZE_MAX;

		for (size_t c = 0; c < s->q && rc == SR_OK; c++) {
			size_t child;

			if (cur / s->stride[c] % s->heights[c] == 0)
				continue;
			child = cur - s->stride[c];
			if (!(s->state[child] & (NODE_EVALUATED | NODE_KFAIL)))
				rc = evaluate(s, child);
			if (rc == SR_OK && (s->state[child] & NODE_OK) &&
			    (next == SIZE_MAX ||
			     better(s, child, s->value[child], next, s->value[next])))
				next = child;
		}
		cur = next;
		if (cur == SIZE_MAX)
			break;
	}
	if (rc != SR_OK)
		goto out;
	/* Phase 3: every node the bound does not rule out, generalizations
	 * first. */
	for (size_t i = 0; i < s->nodes; i++) {
		if (s->state[i] & (NODE_EVALUATED | NODE_KFAIL))
			continue;
		if (s->best != SIZE_MAX && s->bound[i] > s->value[s->best] * (1 + 1e-12))
			continue;
		order[n++] = i;
	}
	qsort_r(order, n, sizeof(*order), cmp_candidates, s);
	for (size_t i = 0; i < n; i++) {
		size_t node = order[i];

		if (s->state[node] & (NODE_EVALUATED | NODE_KFAIL))
			continue;
		if (s->best != SIZE_MAX && s->bound[node] > s->value[s->best] * (1 + 1e-12))
			continue;
		rc = evaluate(s, node);
		if (rc != SR_OK)
			goto out;
		if (s->state[node] & NODE_KFAIL)
			tag_below(s, node, stack);
	}
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "anon: search: out of memory");
	sr_free(order);
	sr_free(stack);
	return rc;
}

static int search_brute(struct search *s, struct sr_err *err)
{
	for (size_t node = 0; node < s->nodes; node++) {
		struct ctab t;
		struct verdict v;
		int rc = table_from_rows(s, node, &t, NULL);

		if (rc != SR_OK)
			return sr_fail(err, rc, "anon: search: out of memory");
		s->evaluated++;
		judge(s, &t, &v, NULL);
		if (v.ok)
			note_ok(s, node, metric_of(s, &v));
		ctab_release(&t);
	}
	return SR_OK;
}

void sr_anon_result_release(struct sr_anon_result *res)
{
	sr_free(res->levels);
	sr_free(res->released);
	sr_free(res->class_of_row);
	sr_free(res->class_size);
	if (res->label_off)
		sr_buf_release(&res->labels);
	sr_free(res->label_off);
	sr_free(res->label_null);
	memset(res, 0, sizeof(*res));
}

static int cmp_class_keys(const void *a, const void *b, void *ctx)
{
	const struct ctab *t = ctx;
	uint64_t x = t->key[*(const uint32_t *)a];
	uint64_t y = t->key[*(const uint32_t *)b];

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Rows, classes and metrics of the chosen node, from the rows. */
static int materialize(struct search *s, struct sr_anon_result *res)
{
	const struct sr_anon_problem *p = s->p;
	struct ctab t = { 0 };
	struct verdict v;
	uint8_t *pass = NULL;
	uint32_t *order = NULL, *rank = NULL;
	int rc;

	res->levels = sr_calloc(s->q ? s->q : 1, sizeof(*res->levels));
	res->released = sr_calloc(p->rows ? p->rows : 1, 1);
	res->class_of_row = sr_calloc(p->rows ? p->rows : 1, sizeof(uint32_t));
	if (!res->levels || !res->released || !res->class_of_row)
		return SR_ENOMEM;
	node_levels(s, s->best, res->levels);
	rc = table_from_rows(s, s->best, &t, res->class_of_row);
	if (rc != SR_OK)
		return rc;
	pass = sr_calloc(t.n ? t.n : 1, 1);
	order = sr_calloc(t.n ? t.n : 1, sizeof(*order));
	rank = sr_calloc(t.n ? t.n : 1, sizeof(*rank));
	res->class_size = sr_calloc(t.n ? t.n : 1, sizeof(uint32_t));
	if (!pass || !order || !rank || !res->class_size) {
		rc = SR_ENOMEM;
		goto out;
	}
	judge(s, &t, &v, pass);
	if (!v.ok)
		SR_BUG("anon: the chosen node does not satisfy the models");
	/* Classes numbered in key order, released ones only. */
	for (uint32_t i = 0; i < t.n; i++)
		order[i] = i;
	qsort_r(order, t.n, sizeof(*order), cmp_class_keys, &t);
	for (uint32_t i = 0; i < t.n; i++) {
		uint32_t cls = order[i];

		rank[cls] = UINT32_MAX;
		if (pass[cls]) {
			rank[cls] = res->classes;
			res->class_size[res->classes++] = t.count[cls];
		}
	}
	for (size_t row = 0; row < p->rows; row++) {
		uint32_t r = rank[res->class_of_row[row]];

		res->released[row] = r != UINT32_MAX;
		res->class_of_row[row] = r;
	}
	res->suppressed = v.suppressed;
	res->loss = v.loss;
	res->discernibility = v.discernibility;
out:
	ctab_release(&t);
	sr_free(pass);
	sr_free(order);
	sr_free(rank);
	return rc;
}

int sr_anon_search(const struct sr_anon_problem *prob, struct sr_anon_result *res,
		   struct sr_err *err)
{
	const struct sr_anon_params *params = prob->params;
	struct search s;
	size_t max_values = 1;
	unsigned bits = 0;
	int rc = SR_OK;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.p = prob;
	s.q = prob->qis;
	s.best = SIZE_MAX;
	if (s.q > SR_ANON_QI_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu quasi-identifiers, at most %d",
			       s.q, SR_ANON_QI_MAX);
	if (prob->sas > SR_ANON_SA_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu sensitive columns with a model, at most %d",
			       prob->sas, SR_ANON_SA_MAX);
	s.nodes = 1;
	for (size_t c = s.q; c-- > 0;) {
		s.heights[c] = prob->doms[c].levels;
		s.stride[c] = s.nodes;
		if (s.nodes > SR_ANON_LATTICE_MAX / s.heights[c])
			return sr_fail(err, SR_ELIMIT, "anon: the lattice has more than %u nodes",
				       SR_ANON_LATTICE_MAX);
		s.nodes *= s.heights[c];
		bits += prob->doms[c].lv[0].bits;
	}
	if (bits > 64)
		return sr_fail(err, SR_ELIMIT, "anon: the quasi-identifiers' distinct values need %u bits of class key, at most 64",
			       bits);
	for (size_t a = 0; a < prob->sas; a++) {
		s.hist_off[a] = s.width;
		s.width += prob->sa[a].values;
		if (prob->sa[a].values > max_values)
			max_values = prob->sa[a].values;
	}
	s.max_suppressed = (uint64_t)floor(params->max_suppression * (double)prob->rows + 1e-9);
	s.state = sr_calloc(s.nodes, 1);
	s.value = sr_calloc(s.nodes, sizeof(double));
	s.bound = sr_calloc(s.nodes, sizeof(double));
	s.sorted = sr_calloc(max_values, sizeof(uint32_t));
	if (!s.state || !s.value || !s.bound || !s.sorted) {
		rc = SR_ENOMEM;
		goto out;
	}
	if (params->brute_force) {
		rc = search_brute(&s, err);
	} else {
		rc = table_from_rows(&s, 0, &s.cache[0], NULL);
		if (rc == SR_OK) {
			s.cached = 1;
			s.cache_bytes = s.cache[0].bytes;
			rc = search_pruned(&s, err);
		}
	}
	if (rc != SR_OK)
		goto out;
	res->lattice_nodes = s.nodes;
	res->nodes_evaluated = s.evaluated;
	if (s.best == SIZE_MAX) {
		rc = sr_fail(err, SR_EPOLICY, "anon: no generalization satisfies the models with at most %llu of %zu rows suppressed",
			     (unsigned long long)s.max_suppressed, prob->rows);
		goto out;
	}
	rc = materialize(&s, res);
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "anon: search: out of memory");
	if (rc != SR_OK)
		sr_anon_result_release(res);
	for (size_t i = 0; i < s.cached; i++)
		ctab_release(&s.cache[i]);
	sr_free(s.state);
	sr_free(s.value);
	sr_free(s.bound);
	sr_free(s.slots);
	sr_free(s.sorted);
	return rc;
}
