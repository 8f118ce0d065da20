/*
 * query_layout.c - what every party of a query job computes (query.h):
 * the groups of the public domains, the accumulators of each group, their
 * fixed-point encodings, the DP noise of each accumulator, and the local
 * aggregation of one input's rows into the vector of cells.
 *
 * Every party builds the same layout from the approved spec and every
 * input's published policy, so the vectors line up cell by cell without a
 * message: the layout is a pure function of the spec and the policies.
 */
#include "kinds/query/query.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "privacy/dprng.h"
#include "kinds/mask.h"
#include "base/banned.h"

/* Largest |value| * scale of a float accumulator: the sum of 2^31 of
 * them stays inside int64 (no DP), and, under DP, a sensitivity that
 * keeps the Skellam noise inside the sampler's range while the encoding
 * stays far finer than the noise. */
#define Q_FIXED_TARGET (1ull << 32)
#define Q_FIXED_TARGET_DP (1ull << 10)

int q_datasets(const json_t *spec, const struct sr_kind_input *inputs,
	       size_t ninputs, struct sr_sql_dataset **out,
	       struct sr_expr_column ***columns, struct sr_err *err)
{
	struct sr_sql_dataset *ds = sr_calloc(ninputs ? ninputs : 1, sizeof(*ds));
	struct sr_expr_column **cols = sr_calloc(ninputs ? ninputs : 1, sizeof(*cols));

	(void)spec;
	*out = NULL;
	*columns = NULL;
	if (!ds || !cols)
		goto nomem;
	for (size_t i = 0; i < ninputs; i++) {
		const struct sr_policy *p = inputs[i].policy;

		if (!p)
			continue;
		cols[i] = sr_calloc(p->ncolumns ? p->ncolumns : 1, sizeof(**cols));
		if (!cols[i])
			goto nomem;
		for (size_t k = 0; k < p->ncolumns; k++) {
			cols[i][k].name = p->columns[k].name;
			cols[i][k].type = p->columns[k].type;
		}
		ds[i].name = inputs[i].dataset;
		ds[i].owner = inputs[i].owner;
		ds[i].columns = cols[i];
		ds[i].ncolumns = p->ncolumns;
		ds[i].policy = p;
		ds[i].ids_partitioned = p->ids_partitioned;
	}
	*out = ds;
	*columns = cols;
	return SR_OK;
nomem:
	q_datasets_free(ds, cols, ninputs);
	return sr_fail(err, SR_ENOMEM, "out of memory");
}

void q_datasets_free(struct sr_sql_dataset *ds, struct sr_expr_column **cols, size_t n)
{
	for (size_t i = 0; cols && i < n; i++)
		sr_free(cols[i]);
	sr_free(cols);
	sr_free(ds);
}

void q_layout_release(struct q_layout *L)
{
	for (size_t k = 0; L->keys && k < L->nkeys; k++) {
		json_decref(L->keys[k].domain);
		sr_vec_release(&L->keys[k].values);
		q_hash_release(&L->keys[k].index);
	}
	sr_free(L->keys);
	sr_free(L->accs);
	sr_free(L->agg_accs);
	sr_free(L->exts);
	sr_sql_free(L->sql);
	memset(L, 0, sizeof(*L));
}

/* ---- groups ---------------------------------------------------------- */

/*
 * The bytes that identify value r of vec (not NULL) for the hash sets: the
 * value itself for fixed-size types (a float's -0 as 0, so equal values
 * are equal keys), the string's bytes for strings.  *p points into vec
 * or into scratch, valid until either changes.
 */
void q_value_key(const struct sr_vec *vec, size_t r, double *scratch,
		 const void **p, size_t *len)
{
	switch (vec->type) {
	case SR_TYPE_INT64:
		*p = &vec->v.i64[r];
		*len = sizeof(int64_t);
		return;
	case SR_TYPE_FLOAT64:
		*scratch = vec->v.f64[r] == 0 ? 0.0 : vec->v.f64[r];
		*p = scratch;
		*len = sizeof(double);
		return;
	case SR_TYPE_DATE:
		*p = &vec->v.date[r];
		*len = sizeof(int32_t);
		return;
	case SR_TYPE_BOOL:
		*p = &vec->v.b[r];
		*len = 1;
		return;
	default:
		*p = vec->bytes.data + vec->offsets[r];
		*len = vec->offsets[r + 1] - vec->offsets[r];
		return;
	}
}

/*
 * Key k's groups: the public domain's values, or for a masked key
 * (kinds/mask.h: truncate, range) the distinct masked labels of those
 * values, in order of first appearance.  key->index maps a domain value
 * (as value_key gives it) to its slot either way, so rows are grouped by
 * label without being masked one by one, and a group of several domain
 * values is one group before thresholds and noise.
 */
static int build_key(struct q_layout *L, size_t k, struct sr_err *err)
{
	const struct sr_policy_column *mask = L->v->keys[k].mask;
	struct q_key *key = &L->keys[k];
	struct sr_vec raw, labels;
	struct q_hash seen;
	size_t i, nlabels = 0;
	json_t *v, *label_json = NULL;
	int rc;

	sr_vec_init(&key->values, mask ? SR_TYPE_STRING : L->v->keys[k].type);
	sr_vec_init(&raw, L->v->keys[k].type);
	sr_vec_init(&labels, SR_TYPE_STRING);
	q_hash_init(&key->index);
	q_hash_init(&seen);
	rc = sr_sql_key_domain(L->sql, k, &key->domain, err);
	if (rc == SR_ENOTFOUND)
		return sr_fail(err, SR_EPOLICY,
			       "GROUP BY %s needs a public domain in every input's policy",
			       L->v->keys[k].text);
	if (rc)
		return rc;
	json_array_foreach(key->domain, i, v)
		if (sr_sql_domain_value_append(&raw, v) != SR_OK) {
			rc = sr_fail(err, SR_EINVAL, "GROUP BY %s: domain value %zu does not parse",
				     L->v->keys[k].text, i);
			goto out;
		}
	if (mask && (rc = sr_mask_vec(mask, NULL, &raw, &labels, err)) != SR_OK) {
		sr_err_prefix(err, "GROUP BY %s", L->v->keys[k].text);
		goto out;
	}
	if (mask && !(label_json = json_array())) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(key->domain); i++) {
		struct q_hash_entry *e, *le;
		const void *kp;
		size_t klen, slot = i;
		double scratch;
		int fresh;

		if (mask) {
			/* The label's slot: a new one for a label not seen. */
			q_value_key(&labels, i, &scratch, &kp, &klen);
			if ((rc = q_hash_put(&seen, kp, klen, &le, &fresh, err)) != SR_OK)
				goto out;
			if (fresh) {
				le->value = nlabels++;
				if ((rc = sr_vec_append_from(&key->values, &labels, i)) != SR_OK ||
				    json_array_append_new(label_json, sr_sql_value_json(&labels, i))) {
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
					goto out;
				}
			}
			slot = le->value;
		} else if ((rc = sr_vec_append_from(&key->values, &raw, i)) != SR_OK) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		q_value_key(&raw, i, &scratch, &kp, &klen);
		if ((rc = q_hash_put(&key->index, kp, klen, &e, &fresh, err)) != SR_OK)
			goto out;
		e->value = slot;
	}
	if (mask) {
		json_decref(key->domain);
		key->domain = label_json;
		label_json = NULL;
	}
	key->slots = json_array_size(key->domain) + 1;
out:
	json_decref(label_json);
	sr_vec_release(&raw);
	sr_vec_release(&labels);
	q_hash_release(&seen);
	return rc;
}

/* ---- accumulators ----------------------------------------------------- */

static size_t add_acc(struct q_layout *L, enum q_acc_kind kind, size_t g)
{
	const struct sr_sql_agg *a = &L->v->aggs[g];

	for (size_t i = 0; i < L->naccs; i++) {
		const struct q_acc *o = &L->accs[i];
		if (o->kind == kind && o->agg != SIZE_MAX &&
		    strcmp(L->v->aggs[o->agg].arg_text, a->arg_text) == 0)
			return i;
	}
	L->accs[L->naccs].kind = kind;
	L->accs[L->naccs].agg = g;
	L->accs[L->naccs].is_float = a->arg_type == SR_TYPE_FLOAT64;
	return L->naccs++;
}

static uint64_t pow2_at_most(double x)
{
	uint64_t s = 1;

	while (s < (1ull << 52) && (double)(s * 2) <= x)
		s *= 2;
	return s;
}

/* The fixed-point encoding of a SUM or SUMSQ accumulator: the hull of the
 * inputs' bounds (every party must encode alike; each clamps to its own). */
static int acc_fixed(struct q_layout *L, struct q_acc *acc, struct sr_err *err)
{
	const struct sr_sql_agg *a = &L->v->aggs[acc->agg];
	double lo = INFINITY, hi = -INFINITY, m;
	uint64_t scale = 1;

	for (size_t i = 0; i < L->v->ninputs; i++) {
		double l, h;
		if (L->join && i != L->join_v)
			continue;   /* a join's values are the value holder's */
		if (sr_sql_agg_bounds(L->sql, acc->agg, i, &l, &h) != SR_OK)
			return sr_fail(err, SR_EPOLICY, "%s needs bounds in every input's policy",
				       a->text);
		lo = fmin(lo, l);
		hi = fmax(hi, h);
	}
	if (acc->kind == Q_SUMSQ) {
		double l2 = lo * lo, h2 = hi * hi;
		lo = (lo <= 0 && hi >= 0) ? 0 : fmin(l2, h2);
		hi = fmax(l2, h2);
	}
	m = fmax(fabs(lo), fabs(hi));
	acc->quantum = 1;
	if (!acc->is_float) {
		lo = ceil(lo);
		hi = floor(hi);
	}
	if (L->dp && m > (double)Q_FIXED_TARGET_DP) {
		while (m / acc->quantum > (double)Q_FIXED_TARGET_DP)
			acc->quantum *= 2;
		lo /= acc->quantum;
		hi /= acc->quantum;
		m /= acc->quantum;
	} else if (acc->is_float && m > 0) {
		scale = pow2_at_most((double)(L->dp ? Q_FIXED_TARGET_DP : Q_FIXED_TARGET) / m);
	}
	if (m * (double)scale > (double)SR_BOUND_FIXED_MAX)
		return sr_fail(err, SR_EPOLICY,
			       "%s: the bounds of %s are too wide for exact fixed point (|value|%s up to %g)",
			       a->text, a->arg_text, acc->kind == Q_SUMSQ ? "^2" : "", m);
	return sr_bound_fixed_init(&acc->fx, lo, hi, scale, err);
}

static int build_accs(struct q_layout *L, struct sr_err *err)
{
	const struct sr_sql_query *v = L->v;
	size_t room = 2 + 3 * v->naggs;
	int rc;

	L->accs = sr_calloc(room, sizeof(*L->accs));
	L->agg_accs = sr_calloc(v->naggs ? v->naggs : 1, sizeof(*L->agg_accs));
	L->exts = sr_calloc(v->naggs ? v->naggs : 1, sizeof(*L->exts));
	if (!L->accs || !L->agg_accs || !L->exts)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	L->accs[0].kind = Q_ROWS;
	L->accs[0].agg = SIZE_MAX;
	L->acc_rows = 0;
	L->naccs = 1;
	L->acc_ids = SIZE_MAX;
	if (L->id_column && L->min_group_size > 1) {
		L->accs[1].kind = Q_IDS;
		L->accs[1].agg = SIZE_MAX;
		L->acc_ids = L->naccs++;
	}
	for (size_t g = 0; g < v->naggs; g++) {
		struct q_agg_accs *aa = &L->agg_accs[g];
		enum sr_sql_agg_kind k = v->aggs[g].kind;

		aa->count = aa->sum = aa->sumsq = aa->distinct = aa->ext = SIZE_MAX;
		switch (k) {
		case SR_SQL_MIN: case SR_SQL_MAX:
			aa->count = add_acc(L, Q_COUNT, g);
			aa->ext = L->nexts;
			L->exts[L->nexts].agg = g;
			L->exts[L->nexts++].is_max = k == SR_SQL_MAX;
			break;
		case SR_SQL_COUNT_ROWS:
			aa->count = L->acc_rows;
			break;
		case SR_SQL_COUNT_DISTINCT:
			aa->distinct = add_acc(L, Q_DISTINCT, g);
			break;
		case SR_SQL_VAR_POP: case SR_SQL_VAR_SAMP:
		case SR_SQL_STDDEV_POP: case SR_SQL_STDDEV_SAMP:
			aa->sumsq = add_acc(L, Q_SUMSQ, g);
			/* fall through */
		case SR_SQL_SUM: case SR_SQL_AVG:
			aa->sum = add_acc(L, Q_SUM, g);
			/* fall through */
		case SR_SQL_COUNT:
			aa->count = add_acc(L, Q_COUNT, g);
			break;
		default:
			return sr_fail(err, SR_EPOLICY, "%s: %s is not supported by the query kind yet",
				       v->aggs[g].text, sr_sql_agg_name(k));
		}
	}
	for (size_t i = 0; i < L->naccs; i++)
		if ((L->accs[i].kind == Q_SUM || L->accs[i].kind == Q_SUMSQ) &&
		    (rc = acc_fixed(L, &L->accs[i], err)) != SR_OK)
			return rc;
	return SR_OK;
}

/* ---- noise ------------------------------------------------------------ */

static uint64_t acc_bound(const struct q_acc *a)
{
	if (a->kind != Q_SUM && a->kind != Q_SUMSQ)
		return 1;
	return (uint64_t)fmax(llabs(a->fx.lo_fixed), llabs(a->fx.hi_fixed));
}

static int build_noise(struct q_layout *L, const struct sr_kind_ctx *c, struct sr_err *err)
{
	struct sr_dprat eps;
	double delta = L->delta / (double)L->naccs;
	int rc;

	rc = sr_dpmech_rat_from_double(L->epsilon / (double)L->naccs, SR_DPMECH_DEN, 0, &eps, err);
	if (rc)
		return sr_err_prefix(err, "spec.epsilon");
	for (size_t i = 0; i < L->naccs; i++) {
		struct q_acc *a = &L->accs[i];
		uint64_t b = acc_bound(a);
		unsigned __int128 l1 = (unsigned __int128)b * L->rows_per_id;
		int exact;

		if (l1 > (1ull << 31))
			return sr_fail(err, SR_EPOLICY,
				       "%s: sensitivity %llu is too large for the noise sampler",
				       a->agg == SIZE_MAX ? "COUNT(*)" : L->v->aggs[a->agg].text,
				       (unsigned long long)l1);
		a->sensitivity = (uint64_t)l1;
		rc = sr_dpmech_skellam_calibrate(eps, delta, a->sensitivity,
						 a->sensitivity * a->sensitivity, &a->noise, err);
		if (rc == SR_OK)
			rc = sr_dpmech_skellam_share(&a->noise, L->honest, &a->share, err);
		if (rc)
			return sr_err_prefix(err, "%s: noise",
					     a->agg == SIZE_MAX ? "COUNT(*)" : L->v->aggs[a->agg].text);
		/* What reaches the release step: every noiser's share. */
		a->noise = a->share;
		if (a->noise.param.num > UINT64_MAX / L->noisers)
			return sr_fail(err, SR_ELIMIT, "noise parameter overflows");
		a->noise.param.num *= L->noisers;
		if ((rc = sr_dpmech_stddev(&a->noise, &a->stddev, err)) != SR_OK ||
		    (rc = sr_dpmech_interval(&a->noise, 0.95, &a->half_width, &exact, err)) != SR_OK ||
		    (rc = sr_dpmech_interval(&a->noise, 1 - 0.05 / 3, &a->half_width_part, &exact, err)) != SR_OK)
			return rc;
	}
	(void)c;
	return SR_OK;
}

int q_add_noise(const struct q_layout *L, uint64_t *cells, int total, struct sr_err *err)
{
	struct sr_dprng *rng = NULL;
	int rc;

	if (!L->dp)
		return SR_OK;
	if ((rc = sr_dprng_new(&rng, err)) != SR_OK)
		return rc;
	for (size_t gi = 0; rc == SR_OK && gi < L->ngroups; gi++)
		for (size_t a = 0; rc == SR_OK && a < L->naccs; a++)
			rc = sr_dpmech_add(rng, total ? &L->accs[a].noise : &L->accs[a].share,
					   &cells[gi * L->naccs + a], 1, err);
	sr_dprng_free(rng);
	return rc;
}

/* ---- the layout --------------------------------------------------------- */

static int owner_seen(const struct sr_kind_ctx *c, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(c->inputs[j].owner, c->inputs[i].owner) == 0)
			return 1;
	return 0;
}

int q_layout_build(const struct sr_kind_ctx *c, struct q_layout *L, struct sr_err *err)
{
	const char *text = json_string_value(json_object_get(c->spec, "sql"));
	const json_t *eps = json_object_get(c->spec, "epsilon");
	const json_t *delta = json_object_get(c->spec, "delta");
	struct sr_sql_dataset *ds = NULL;
	struct sr_expr_column **cols = NULL;
	int receiver_owns = 0;
	int rc;

	memset(L, 0, sizeof(*L));
	if (!text)
		return sr_fail(err, SR_EINVAL, "spec.sql: missing");
	rc = q_datasets(c->spec, c->inputs, c->ninputs, &ds, &cols, err);
	if (rc == SR_OK)
		rc = sr_sql_compile(text, strlen(text), ds, c->ninputs, &L->sql, err);
	q_datasets_free(ds, cols, c->ninputs);
	if (rc)
		return rc == SR_ENOMEM ? rc : sr_err_prefix(err, "spec.sql");
	L->v = sr_sql_query(L->sql);
	if (!L->v->aggregated) {
		rc = sr_fail(err, SR_EPOLICY, "spec.sql: not an aggregate query");
		goto fail;
	}
	L->min_group_size = sr_kind_min_group_size(c);
	L->id_column = sr_sql_id_column(L->sql, 0);
	if (L->v->from_kind == SR_SQL_FROM_JOIN) {
		const struct sr_sql_join_key *j = L->v->join_keys;
		if (L->v->njoin_keys != 1 ||
		    sr_sql_join_roles(L->sql, &L->join_d, &L->join_v) != SR_OK) {
			rc = sr_fail(err, SR_EPOLICY, "spec.sql: not a join of two datasets on one key with the GROUP BY columns at one of them");
			goto fail;
		}
		if (sr_sql_under_dp(L->sql) || eps) {
			rc = sr_fail(err, SR_EPOLICY, "spec.sql: differential privacy over a join is not executed (the dimension holder learns the per-group match counts un-noised)");
			goto fail;
		}
		L->join = 1;
		L->join_d_row = L->v->inputs[L->join_d].row_offset +
			(j->left_input == L->join_d ? j->left_column : j->right_column);
		L->join_v_row = L->v->inputs[L->join_v].row_offset +
			(j->left_input == L->join_v ? j->left_column : j->right_column);
		/* The threshold counts distinct join keys: the identities
		 * the two parties share. */
		L->id_column = L->v->row_columns[L->join_d_row].name;
	}
	L->ids_partitioned = 1;
	for (size_t i = 0; i < c->ninputs; i++) {
		if (!owner_seen(c, i))
			L->nowners++;
		if (!c->inputs[i].policy->ids_partitioned)
			L->ids_partitioned = 0;
		if (c->nreceivers && strcmp(c->inputs[i].owner, c->receivers[0]) == 0)
			receiver_owns = 1;
	}
	L->dp = sr_sql_under_dp(L->sql) || eps;
	if (L->dp) {
		if (!eps || !delta ||
		    sr_policy_number(eps, "spec", "epsilon", &L->epsilon, err) != SR_OK ||
		    sr_policy_number(delta, "spec", "delta", &L->delta, err) != SR_OK ||
		    !(L->epsilon > 0) || !(L->delta > 0) || !(L->delta < 1)) {
			rc = sr_fail(err, SR_EPOLICY, "spec.epsilon and spec.delta: required under dp (epsilon > 0, 0 < delta < 1)");
			goto fail;
		}
		/* One identity adds at most one row per input, each input's
		 * rows bounded by its owner (q_aggregate_input); a dataset
		 * without an id column is one row per identity. */
		L->rows_per_id = L->id_column ? c->ninputs : 1;
		L->noisers = (uint32_t)L->nowners;
		L->honest = L->noisers - (receiver_owns && L->noisers > 1 ? 1 : 0);
	}
	L->keys = sr_calloc(L->v->nkeys ? L->v->nkeys : 1, sizeof(*L->keys));
	if (!L->keys) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	L->ngroups = 1;
	for (size_t k = 0; k < L->v->nkeys; k++) {
		L->nkeys = k + 1;
		if ((rc = build_key(L, k, err)) != SR_OK)
			goto fail;
		if (L->keys[k].slots > SR_SQL_GROUPS_MAX / L->ngroups) {
			rc = sr_fail(err, SR_ELIMIT, "GROUP BY makes more than %u groups",
				     (unsigned)SR_SQL_GROUPS_MAX);
			goto fail;
		}
		L->ngroups *= L->keys[k].slots;
	}
	if ((rc = build_accs(L, err)) != SR_OK)
		goto fail;
	if (L->dp && (rc = build_noise(L, c, err)) != SR_OK)
		goto fail;
	L->cell_outside = L->ngroups * L->naccs;
	L->cell_clamped = L->cell_outside + 1;
	L->ncells = L->cell_clamped + L->naccs;
	return SR_OK;
fail:
	q_layout_release(L);
	return rc;
}

/* ---- local aggregation -------------------------------------------------- */

struct batch {
	const struct q_layout *L;
	size_t input;
	size_t rows;
	const struct sr_vec **cols;    /* by row schema column, NULL if not read */
	const struct sr_vec *id;       /* the id column, or NULL */
	uint8_t *keep;
	uint8_t *scratch;
	size_t *group;
	struct sr_vec *args;           /* per aggregate, evaluated when used */
	uint8_t *args_ready;
	struct sr_buf text;
	uint64_t *cells;
	struct q_hash *seen;           /* (tag, group, value) of distinct accs */
	struct q_hash *contrib;        /* identity -> rows kept (dp) */
	struct q_ext *ext;             /* MIN/MAX extremes, or NULL */
};

static int mark_used(const struct sr_expr *e, uint8_t *used)
{
	for (size_t i = 0; e && i < sr_expr_ncolumns_used(e); i++)
		used[sr_expr_column_used(e, i)] = 1;
	return 0;
}

static int batch_groups(struct batch *b, struct sr_err *err)
{
	const struct q_layout *L = b->L;
	struct sr_vec kv;
	int rc = SR_OK;

	for (size_t r = 0; r < b->rows; r++)
		b->group[r] = 0;
	for (size_t k = 0; rc == SR_OK && k < L->nkeys; k++) {
		const struct q_key *key = &L->keys[k];

		sr_vec_init(&kv, L->v->keys[k].type);
		rc = sr_expr_eval(L->v->keys[k].expr, b->cols, b->rows, &kv, err);
		for (size_t r = 0; rc == SR_OK && r < b->rows; r++) {
			size_t slot = key->slots - 1;
			if (!b->keep[r])
				continue;
			if (!sr_vec_is_null(&kv, r)) {
				struct q_hash_entry *e;
				const void *kp;
				size_t klen;
				double scratch;
				q_value_key(&kv, r, &scratch, &kp, &klen);
				e = q_hash_get(&key->index, kp, klen);
				if (!e) {
					/* Not in the public domain: counted, not grouped. */
					b->keep[r] = 0;
					if (!L->dp)
						b->cells[L->cell_outside]++;
					continue;
				}
				slot = (size_t)e->value;
			}
			b->group[r] = b->group[r] * key->slots + slot;
		}
		sr_vec_release(&kv);
	}
	return rc;
}

/* Under dp: keep at most one row per identity of this input (the first),
 * so one identity moves each cell by at most its bound per input. */
static int batch_contrib(struct batch *b, struct sr_err *err)
{
	int rc = SR_OK;

	if (!b->L->dp || !b->id)
		return SR_OK;
	for (size_t r = 0; rc == SR_OK && r < b->rows; r++) {
		struct q_hash_entry *e;
		const void *kp;
		size_t klen;
		double scratch;
		int fresh;

		if (!b->keep[r] || sr_vec_is_null(b->id, r))
			continue;
		q_value_key(b->id, r, &scratch, &kp, &klen);
		if ((rc = q_hash_put(b->contrib, kp, klen, &e, &fresh, err)) != SR_OK)
			break;
		if (e->value >= 1)
			b->keep[r] = 0;
		else
			e->value++;
	}
	return rc;
}

static int distinct_add(struct batch *b, size_t acc, const struct sr_vec *vals, size_t r,
			struct sr_err *err)
{
	uint64_t head[2] = { acc, b->group[r] };
	struct q_hash_entry *e;
	const void *kp;
	size_t klen;
	double scratch;
	int fresh, rc;

	q_value_key(vals, r, &scratch, &kp, &klen);
	sr_buf_reset(&b->text);
	if ((rc = sr_buf_add(&b->text, head, sizeof(head))) != SR_OK ||
	    (rc = sr_buf_add(&b->text, kp, klen)) != SR_OK)
		return sr_fail(err, rc, "out of memory");
	if ((rc = q_hash_put(b->seen, b->text.data, b->text.len, &e, &fresh, err)) != SR_OK)
		return rc;
	if (fresh)
		b->cells[b->group[r] * b->L->naccs + acc]++;
	return SR_OK;
}

/* Clamp x[r] to this input's bounds [lo, hi] and add it (SUM) or its
 * square (SUMSQ) to its group's cell, encoded. */
int q_acc_encode(const struct q_acc *acc, const struct sr_vec *x, size_t r,
		 double lo, double hi, uint64_t *clamped, uint64_t *out,
		 struct sr_err *err)
{
	uint64_t ignored;
	double d;

	if (!acc->is_float && acc->quantum == 1) {
		int64_t i = x->v.i64[r], l = (int64_t)ceil(lo), h = (int64_t)floor(hi);
		if (i < l || i > h) {
			i = i < l ? l : h;
			*clamped += 1;
		}
		/* |i| <= 2^26.5 for SUMSQ: acc_fixed keeps bound^2 under 2^53. */
		*out = acc->kind == Q_SUMSQ ? (uint64_t)(i * i) : (uint64_t)i;
		return SR_OK;
	}
	d = acc->is_float ? x->v.f64[r] : (double)x->v.i64[r];
	if (d < lo || d > hi) {
		d = d < lo ? lo : hi;
		*clamped += 1;
	}
	if (acc->kind == Q_SUMSQ)
		d = d * d;
	d /= acc->quantum;
	return sr_bound_fixed_encode(&acc->fx, &d, 1, out, &ignored, err);
}

static int acc_value(struct batch *b, size_t a, const struct sr_vec *x, size_t r,
		     double lo, double hi, uint64_t *clamped, struct sr_err *err)
{
	uint64_t enc;
	int rc = q_acc_encode(&b->L->accs[a], x, r, lo, hi, clamped, &enc, err);

	if (rc == SR_OK)
		b->cells[b->group[r] * b->L->naccs + a] += enc;
	return rc;
}

static int batch_accumulate(struct batch *b, struct sr_err *err)
{
	const struct q_layout *L = b->L;
	int rc = SR_OK;

	for (size_t r = 0; r < b->rows; r++)
		if (b->keep[r])
			b->cells[b->group[r] * L->naccs + L->acc_rows]++;
	if (L->acc_ids != SIZE_MAX && b->id)
		for (size_t r = 0; rc == SR_OK && r < b->rows; r++)
			if (b->keep[r] && !sr_vec_is_null(b->id, r))
				rc = distinct_add(b, L->acc_ids, b->id, r, err);
	for (size_t a = 0; rc == SR_OK && a < L->naccs; a++) {
		const struct q_acc *acc = &L->accs[a];
		uint64_t clamped = 0;
		double lo = 0, hi = 0;
		struct sr_vec *x;

		if (acc->agg == SIZE_MAX)
			continue;
		x = &b->args[acc->agg];
		if (!b->args_ready[acc->agg]) {
			sr_vec_reset(x);
			rc = sr_expr_eval(L->v->aggs[acc->agg].arg, b->cols, b->rows, x, err);
			if (rc)
				break;
			b->args_ready[acc->agg] = 1;
		}
		if ((acc->kind == Q_SUM || acc->kind == Q_SUMSQ) &&
		    sr_sql_agg_bounds(L->sql, acc->agg, b->input, &lo, &hi) != SR_OK) {
			rc = sr_fail(err, SR_EPOLICY, "%s needs bounds", L->v->aggs[acc->agg].text);
			break;
		}
		for (size_t r = 0; rc == SR_OK && r < b->rows; r++) {
			if (!b->keep[r] || sr_vec_is_null(x, r))
				continue;
			switch (acc->kind) {
			case Q_COUNT:
				b->cells[b->group[r] * L->naccs + a]++;
				break;
			case Q_DISTINCT:
				rc = distinct_add(b, a, x, r, err);
				break;
			default:
				rc = acc_value(b, a, x, r, lo, hi, &clamped, err);
				break;
			}
		}
		if (!L->dp && acc->kind == Q_SUM)
			b->cells[L->cell_clamped + a] += clamped;
	}
	/* MIN and MAX: their arguments were evaluated for their counts (by
	 * the aggregate that owns the count accumulator of that argument). */
	for (size_t e = 0; rc == SR_OK && e < L->nexts; e++) {
		size_t owner = L->accs[L->agg_accs[L->exts[e].agg].count].agg;
		const struct sr_vec *x = &b->args[owner];

		if (!b->ext || !b->args_ready[owner])
			return sr_fail(err, SR_EINTERNAL, "%s: no extremes to keep",
				       L->v->aggs[L->exts[e].agg].text);
		for (size_t r = 0; rc == SR_OK && r < b->rows; r++)
			if (b->keep[r] && !sr_vec_is_null(x, r))
				rc = q_ext_add(L, b->ext, e, b->group[r], x, r, err);
	}
	return rc;
}

static int batch_run(struct batch *b, struct sr_err *err)
{
	const struct q_layout *L = b->L;
	int rc = SR_OK;

	memset(b->keep, 1, b->rows);
	memset(b->args_ready, 0, L->v->naggs ? L->v->naggs : 1);
	for (size_t f = 0; rc == SR_OK && f < L->v->nfilters; f++) {
		if (!(L->v->filters[f].inputs & SR_SQL_INPUT_BIT(b->input)))
			continue;
		rc = sr_expr_filter(L->v->filters[f].expr, b->cols, b->rows, b->scratch, err);
		for (size_t r = 0; rc == SR_OK && r < b->rows; r++)
			b->keep[r] &= b->scratch[r];
	}
	if (rc == SR_OK)
		rc = batch_groups(b, err);
	if (rc == SR_OK)
		rc = batch_contrib(b, err);
	if (rc == SR_OK)
		rc = batch_accumulate(b, err);
	return rc;
}

int q_aggregate_input(const struct q_layout *L, const struct sr_kind_ctx *c,
		      size_t input, uint64_t *cells, struct q_hash *seen,
		      struct q_ext *ext, struct sr_err *err)
{
	const struct sr_sql_query *v = L->v;
	const char *id = sr_sql_id_column(L->sql, input);
	size_t nrow = v->nrow_columns, nnames = 0, id_at = SIZE_MAX;
	uint8_t *used = sr_calloc(nrow + 1, 1);
	const char **names = sr_calloc(nrow + 2, sizeof(*names));
	size_t *row_of = sr_calloc(nrow + 2, sizeof(*row_of));
	const struct sr_vec **bc = NULL;
	struct q_hash contrib;
	struct batch b;
	struct sr_rows rows;
	int rc = SR_OK, eof = 0;

	memset(&b, 0, sizeof(b));
	memset(&rows, 0, sizeof(rows));
	q_hash_init(&contrib);
	sr_buf_init(&b.text, SR_BUF_UNBOUNDED);    /* one value at a time */
	b.L = L;
	b.input = input;
	b.cells = cells;
	b.seen = seen;
	b.contrib = &contrib;
	b.ext = ext;
	b.cols = sr_calloc(nrow + 1, sizeof(*b.cols));
	b.args = sr_calloc(v->naggs + 1, sizeof(*b.args));
	b.args_ready = sr_calloc(v->naggs + 1, 1);
	if (!used || !names || !row_of || !b.cols || !b.args || !b.args_ready) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < v->naggs; g++)
		sr_vec_init(&b.args[g], v->aggs[g].arg_type);
	for (size_t f = 0; f < v->nfilters; f++)
		if (v->filters[f].inputs & SR_SQL_INPUT_BIT(input))
			mark_used(v->filters[f].expr, used);
	for (size_t k = 0; k < v->nkeys; k++)
		mark_used(v->keys[k].expr, used);
	for (size_t g = 0; g < v->naggs; g++)
		mark_used(v->aggs[g].arg, used);
	if (!(L->acc_ids != SIZE_MAX || L->dp))
		id = NULL;      /* identities are neither counted nor bounded */
	for (size_t r = 0; r < nrow; r++) {
		int is_id = id && strcmp(v->row_columns[r].name, id) == 0;
		if (is_id)
			id_at = nnames;
		if (used[r] || is_id) {
			row_of[nnames] = r;
			names[nnames++] = v->row_columns[r].name;
		}
	}
	bc = sr_calloc(nnames + 1, sizeof(*bc));
	if (!bc) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = sr_kind_scan(c, input, names, nnames, &rows, err);
	while (rc == SR_OK && !eof) {
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, bc, &ids, &n, &eof, err);
		if (rc || n == 0)
			continue;
		for (size_t j = 0; j < nnames; j++)
			b.cols[row_of[j]] = bc[j];
		b.id = id_at != SIZE_MAX ? bc[id_at] : NULL;
		sr_free(b.keep);
		sr_free(b.scratch);
		sr_free(b.group);
		b.keep = sr_malloc(n);
		b.scratch = sr_malloc(n);
		b.group = sr_malloc(n * sizeof(*b.group));
		if (!b.keep || !b.scratch || !b.group) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		b.rows = n;
		rc = batch_run(&b, err);
		if (c->should_abort && c->should_abort(c->impl))
			rc = sr_fail(err, SR_ECANCELED, "the job was stopped");
	}
out:
	sr_rows_close(&rows);
	for (size_t g = 0; b.args && g < v->naggs; g++)
		sr_vec_release(&b.args[g]);
	sr_free(b.args);
	sr_free(b.args_ready);
	sr_free(b.keep);
	sr_free(b.scratch);
	sr_free(b.group);
	sr_free(b.cols);
	sr_free(bc);
	sr_buf_release(&b.text);
	q_hash_release(&contrib);
	sr_free(used);
	sr_free(names);
	sr_free(row_of);
	return rc;
}
