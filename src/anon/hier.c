/*
 * hier.c - generalization hierarchies: parsing the JSON forms, labelling a
 * value at a level, and binding a hierarchy to a column (the domain the
 * search works on).  See hier.h and docs/internals/anon.md.
 */
#include "anon/hier.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "anon/anon_int.h"
#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/banned.h"

enum hier_form {
	FORM_INTERVALS,
	FORM_CUTS,
	FORM_DATE,
	FORM_PREFIX,
	FORM_EXPLICIT,
};

enum date_unit { UNIT_MONTH = 1, UNIT_QUARTER = 2, UNIT_YEAR = 3 };

struct sr_anon_hier {
	char *column;
	enum sr_type type;
	enum hier_form form;
	size_t levels;               /* value, described levels, "*" */
	size_t described;            /* levels between the value and "*" */
	double origin;
	double widths[SR_ANON_HIER_LEVELS_MAX];
	int integral;                /* int64 column, integral bounds: int labels */
	double *cuts[SR_ANON_HIER_LEVELS_MAX];
	size_t ncuts[SR_ANON_HIER_LEVELS_MAX];
	enum date_unit units[SR_ANON_HIER_LEVELS_MAX];
	size_t prefix[SR_ANON_HIER_LEVELS_MAX];
	json_t *map;                 /* explicit: value -> [labels] */
};

/* ---- a set of byte strings (leaves, labels): id by insertion order ---- */

struct strset {
	struct sr_buf bytes;
	uint32_t *off;               /* [n + 1] */
	uint32_t *slots;             /* [cap] id + 1, 0 = empty */
	size_t n, cap, off_cap;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void strset_init(struct strset *s)
{
	memset(s, 0, sizeof(*s));
	sr_buf_init(&s->bytes, SR_BUF_UNBOUNDED); /* bounded by the rows */
}

static void strset_release(struct strset *s)
{
	sr_buf_release(&s->bytes);
	sr_free(s->off);
	sr_free(s->slots);
	memset(s, 0, sizeof(*s));
}

static int strset_rehash(struct strset *s, size_t cap)
{
	uint32_t *slots = sr_calloc(cap, sizeof(*slots));

	if (!slots)
		return SR_ENOMEM;
	for (size_t id = 0; id < s->n; id++) {
		uint64_t h = hash_bytes(s->bytes.data + s->off[id],
					s->off[id + 1] - s->off[id]);
		size_t i = (size_t)h & (cap - 1);

		while (slots[i])
			i = (i + 1) & (cap - 1);
		slots[i] = (uint32_t)id + 1;
	}
	sr_free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return SR_OK;
}

/* The id of [p, p + len), added when new (*added set). */
static int strset_put(struct strset *s, const void *p, size_t len,
		      uint32_t *id, int *added)
{
	uint64_t h;
	size_t i;
	int rc;

	if (s->n >= UINT32_MAX - 1 || s->bytes.len + len >= UINT32_MAX)
		return SR_ELIMIT;
	if ((s->n + 1) * 2 > s->cap) {
		rc = strset_rehash(s, s->cap ? s->cap * 2 : 64);
		if (rc != SR_OK)
			return rc;
	}
	h = hash_bytes(p, len);
	for (i = (size_t)h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1)) {
		uint32_t cand = s->slots[i] - 1;
		size_t clen = s->off[cand + 1] - s->off[cand];

		if (clen == len && memcmp(s->bytes.data + s->off[cand], p, len) == 0) {
			*id = cand;
			*added = 0;
			return SR_OK;
		}
	}
	if (s->n + 2 > s->off_cap) {
		size_t ncap = s->off_cap ? s->off_cap * 2 : 64;
		uint32_t *off = sr_realloc(s->off, ncap * sizeof(*off));

		if (!off)
			return SR_ENOMEM;
		s->off = off;
		s->off_cap = ncap;
	}
	if (s->n == 0)
		s->off[0] = 0;
	rc = sr_buf_add(&s->bytes, p, len);
	if (rc != SR_OK)
		return rc;
	s->off[s->n + 1] = (uint32_t)s->bytes.len;
	s->slots[i] = (uint32_t)s->n + 1;
	*id = (uint32_t)s->n++;
	*added = 1;
	return SR_OK;
}

/* ---- parsing ---- */

void sr_anon_hier_free(struct sr_anon_hier *hier)
{
	if (!hier)
		return;
	for (size_t i = 0; i < SR_ANON_HIER_LEVELS_MAX; i++)
		sr_free(hier->cuts[i]);
	json_decref(hier->map);
	sr_free(hier->column);
	sr_free(hier);
}

size_t sr_anon_hier_levels(const struct sr_anon_hier *hier)
{
	return hier->levels;
}

const char *sr_anon_hier_column(const struct sr_anon_hier *hier)
{
	return hier->column;
}

static int is_numeric(enum sr_type type)
{
	return type == SR_TYPE_INT64 || type == SR_TYPE_FLOAT64;
}

/* A number, or a decimal string (the policy's normalized form keeps
 * numbers that are not whole as strings); 0 when v is neither. */
static int hier_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	return json_is_string(v) &&
	       sr_value_parse_float64(json_string_value(v), json_string_length(v),
				      out) == SR_OK;
}

static int level_array(const json_t *arr, const char *col, const char *key,
		       struct sr_err *err)
{
	size_t n;

	if (!json_is_array(arr))
		return sr_fail(err, SR_EINVAL, "%s: generalize: %s: expected an array",
			       col, key);
	n = json_array_size(arr);
	if (n == 0)
		return sr_fail(err, SR_EINVAL, "%s: generalize: %s: expected at least one level",
			       col, key);
	if (n + 2 > SR_ANON_HIER_LEVELS_MAX)
		return sr_fail(err, SR_ELIMIT, "%s: generalize: %s: %zu levels, at most %d",
			       col, key, n, SR_ANON_HIER_LEVELS_MAX - 2);
	return SR_OK;
}

static int parse_intervals(struct sr_anon_hier *h, const json_t *desc,
			   struct sr_err *err)
{
	const json_t *arr = json_object_get(desc, "intervals");
	const json_t *origin = json_object_get(desc, "origin");
	int rc = level_array(arr, h->column, "intervals", err);

	if (rc != SR_OK)
		return rc;
	if (!is_numeric(h->type))
		return sr_fail(err, SR_EINVAL, "%s: generalize: intervals need an int64 or float64 column, not %s",
			       h->column, sr_type_name(h->type));
	h->integral = h->type == SR_TYPE_INT64;
	if (origin) {
		if (!hier_number(origin, &h->origin))
			return sr_fail(err, SR_EINVAL, "%s: generalize: origin: expected a number",
				       h->column);
		if (!isfinite(h->origin) || fabs(h->origin) > 9007199254740992.0)
			return sr_fail(err, SR_EINVAL, "%s: generalize: origin: out of range",
				       h->column);
		if (h->origin != floor(h->origin))
			h->integral = 0;
	}
	h->described = json_array_size(arr);
	for (size_t i = 0; i < h->described; i++) {
		const json_t *w = json_array_get(arr, i);
		double width = -1;

		if (!hier_number(w, &width))
			width = -1;

		if (!(width > 0) || !isfinite(width) || width > 9007199254740992.0)
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: expected a positive width",
				       h->column, i + 1);
		if (width != floor(width))
			h->integral = 0;
		if (i > 0) {
			double ratio = width / h->widths[i - 1];

			if (ratio < 1.5 || fabs(ratio - floor(ratio + 0.5)) > 1e-9)
				return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: width %g is not a multiple of %g (levels must nest)",
					       h->column, i + 1, width, h->widths[i - 1]);
		}
		h->widths[i] = width;
	}
	return SR_OK;
}

static int parse_cuts(struct sr_anon_hier *h, const json_t *desc, struct sr_err *err)
{
	const json_t *arr = json_object_get(desc, "cuts");
	int rc = level_array(arr, h->column, "cuts", err);

	if (rc != SR_OK)
		return rc;
	if (!is_numeric(h->type))
		return sr_fail(err, SR_EINVAL, "%s: generalize: cuts need an int64 or float64 column, not %s",
			       h->column, sr_type_name(h->type));
	h->integral = h->type == SR_TYPE_INT64;
	h->described = json_array_size(arr);
	for (size_t i = 0; i < h->described; i++) {
		const json_t *lv = json_array_get(arr, i);
		size_t n = json_is_array(lv) ? json_array_size(lv) : 0;

		if (n == 0 || n > SR_ANON_CUTS_MAX)
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: expected 1 to %d cut points",
				       h->column, i + 1, SR_ANON_CUTS_MAX);
		h->cuts[i] = sr_calloc(n, sizeof(double));
		if (!h->cuts[i])
			return SR_ENOMEM;
		h->ncuts[i] = n;
		for (size_t j = 0; j < n; j++) {
			const json_t *c = json_array_get(lv, j);
			double v;

			if (!hier_number(c, &v) || !isfinite(v))
				return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: cut %zu: expected a number",
					       h->column, i + 1, j + 1);
			if (j > 0 && !(v > h->cuts[i][j - 1]))
				return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: cut %g: expected cut points in increasing order",
					       h->column, i + 1, v);
			if (v != floor(v) || fabs(v) > 9007199254740992.0)
				h->integral = 0;
			h->cuts[i][j] = v;
		}
		/* Coarser levels keep a subset of the finer level's cuts. */
		for (size_t j = 0; i > 0 && j < n; j++) {
			int found = 0;

			for (size_t m = 0; m < h->ncuts[i - 1] && !found; m++)
				found = h->cuts[i - 1][m] == h->cuts[i][j];
			if (!found)
				return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: cut %g is not a cut of level %zu (levels must nest)",
					       h->column, i + 1, h->cuts[i][j], i);
		}
	}
	return SR_OK;
}

static int parse_date(struct sr_anon_hier *h, const json_t *desc, struct sr_err *err)
{
	const json_t *arr = json_object_get(desc, "date");
	int rc = level_array(arr, h->column, "date", err);

	if (rc != SR_OK)
		return rc;
	if (h->type != SR_TYPE_DATE)
		return sr_fail(err, SR_EINVAL, "%s: generalize: date needs a date column, not %s",
			       h->column, sr_type_name(h->type));
	h->described = json_array_size(arr);
	for (size_t i = 0; i < h->described; i++) {
		const char *u = json_string_value(json_array_get(arr, i));
		enum date_unit unit;

		if (u && strcmp(u, "month") == 0)
			unit = UNIT_MONTH;
		else if (u && strcmp(u, "quarter") == 0)
			unit = UNIT_QUARTER;
		else if (u && strcmp(u, "year") == 0)
			unit = UNIT_YEAR;
		else
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: expected \"month\", \"quarter\" or \"year\"",
				       h->column, i + 1);
		if (i > 0 && unit <= h->units[i - 1])
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: %s after a coarser unit (levels must nest: month, quarter, year)",
				       h->column, i + 1, u);
		h->units[i] = unit;
	}
	return SR_OK;
}

static int parse_prefix(struct sr_anon_hier *h, const json_t *desc, struct sr_err *err)
{
	const json_t *arr = json_object_get(desc, "prefix");
	int rc = level_array(arr, h->column, "prefix", err);

	if (rc != SR_OK)
		return rc;
	if (h->type != SR_TYPE_STRING)
		return sr_fail(err, SR_EINVAL, "%s: generalize: prefix needs a string column, not %s",
			       h->column, sr_type_name(h->type));
	h->described = json_array_size(arr);
	for (size_t i = 0; i < h->described; i++) {
		const json_t *p = json_array_get(arr, i);
		json_int_t n = json_is_integer(p) ? json_integer_value(p) : -1;

		if (n < 0 || n > SR_ANON_LABEL_MAX)
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: expected a prefix length 0 to %d",
				       h->column, i + 1, SR_ANON_LABEL_MAX);
		if (i > 0 && (size_t)n >= h->prefix[i - 1])
			return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: prefix %lld is not shorter than %zu (levels must nest)",
				       h->column, i + 1, (long long)n, h->prefix[i - 1]);
		h->prefix[i] = (size_t)n;
	}
	/* A prefix of 0 keeps nothing: it is the top level itself. */
	if (h->prefix[h->described - 1] == 0)
		h->described--;
	return SR_OK;
}

static int parse_explicit(struct sr_anon_hier *h, const json_t *desc,
			  struct sr_err *err)
{
	const json_t *map = json_object_get(desc, "hierarchy");
	json_t *next[SR_ANON_HIER_LEVELS_MAX] = { 0 };
	const char *key;
	json_t *path;
	size_t len = (size_t)-1;
	int ends_star = -1, rc = SR_OK;

	if (!json_is_object(map) || json_object_size(map) == 0)
		return sr_fail(err, SR_EINVAL, "%s: generalize: hierarchy: expected an object of value -> [labels]",
			       h->column);
	if (json_object_size(map) > SR_ANON_HIER_ENTRIES_MAX)
		return sr_fail(err, SR_ELIMIT, "%s: generalize: hierarchy: %zu values, at most %d",
			       h->column, json_object_size(map), SR_ANON_HIER_ENTRIES_MAX);
	json_object_foreach((json_t *)map, key, path) {
		size_t n = json_is_array(path) ? json_array_size(path) : (size_t)-1;
		int star;

		if (n == (size_t)-1 || n + 2 > SR_ANON_HIER_LEVELS_MAX)
			return sr_fail(err, SR_EINVAL, "%s: generalize: hierarchy: %s: expected an array of at most %d labels",
				       h->column, key, SR_ANON_HIER_LEVELS_MAX - 2);
		for (size_t i = 0; i < n; i++) {
			const char *s = json_string_value(json_array_get(path, i));

			if (!s || strlen(s) > SR_ANON_LABEL_MAX)
				return sr_fail(err, SR_EINVAL, "%s: generalize: hierarchy: %s: level %zu: expected a label string of at most %d bytes",
					       h->column, key, i + 1, SR_ANON_LABEL_MAX);
		}
		star = n > 0 && strcmp(json_string_value(json_array_get(path, n - 1)), "*") == 0;
		if (len == (size_t)-1) {
			len = n;
			ends_star = star;
		} else if (n != len || star != ends_star) {
			return sr_fail(err, SR_EINVAL, "%s: generalize: hierarchy: %s: %zu levels, expected %zu like the others",
				       h->column, key, n, len);
		}
	}
	h->described = len - (size_t)ends_star;
	/* Levels nest: a label of level i has one parent at level i + 1. */
	for (size_t i = 0; i + 1 < len && rc == SR_OK; i++) {
		next[i] = json_object();
		if (!next[i]) {
			rc = SR_ENOMEM;
			break;
		}
		json_object_foreach((json_t *)map, key, path) {
			const char *lab = json_string_value(json_array_get(path, i));
			const char *up = json_string_value(json_array_get(path, i + 1));
			const char *seen = json_string_value(json_object_get(next[i], lab));

			if (seen && strcmp(seen, up) != 0) {
				rc = sr_fail(err, SR_EINVAL, "%s: generalize: hierarchy: level %zu: '%s' is under both '%s' and '%s' at level %zu (levels must nest)",
					     h->column, i + 1, lab, seen, up, i + 2);
				break;
			}
			if (!seen && json_object_set_new(next[i], lab, json_string(up)) != 0) {
				rc = SR_ENOMEM;
				break;
			}
		}
	}
	for (size_t i = 0; i < SR_ANON_HIER_LEVELS_MAX; i++)
		json_decref(next[i]);
	if (rc != SR_OK)
		return rc;
	h->map = json_incref((json_t *)map);
	return SR_OK;
}

int sr_anon_hier_parse(const json_t *desc, const char *column, enum sr_type type,
		       struct sr_anon_hier **out, struct sr_err *err)
{
	static const char *const keys[] = { "intervals", "origin", "cuts", "date",
					    "prefix", "hierarchy", NULL };
	static const char *const forms[] = { "intervals", "cuts", "date", "prefix",
					     "hierarchy" };
	struct sr_anon_hier *h = NULL;
	int rc, nforms = 0, form = -1;

	*out = NULL;
	if (!json_is_object(desc))
		return sr_fail(err, SR_EINVAL, "%s: generalize: expected an object", column);
	for (int i = 0; i < 5; i++) {
		if (json_object_get(desc, forms[i])) {
			nforms++;
			form = i;
		}
	}
	if (nforms != 1)
		return sr_fail(err, SR_EINVAL, "%s: generalize: expected exactly one of intervals, cuts, date, prefix, hierarchy",
			       column);
	{
		char path[SR_COLUMN_NAME_MAX + 16];

		snprintf(path, sizeof(path), "%s.generalize", column);
		rc = sr_json_check_keys(desc, path, keys, err);
		if (rc != SR_OK)
			return rc;
	}
	if (json_object_get(desc, "origin") && form != FORM_INTERVALS)
		return sr_fail(err, SR_EINVAL, "%s: generalize: origin: only with intervals", column);
	h = sr_calloc(1, sizeof(*h));
	if (!h || !(h->column = sr_strdup(column))) {
		rc = SR_ENOMEM;
		goto out;
	}
	h->type = type;
	h->form = (enum hier_form)form;
	switch (h->form) {
	case FORM_INTERVALS: rc = parse_intervals(h, desc, err); break;
	case FORM_CUTS: rc = parse_cuts(h, desc, err); break;
	case FORM_DATE: rc = parse_date(h, desc, err); break;
	case FORM_PREFIX: rc = parse_prefix(h, desc, err); break;
	case FORM_EXPLICIT: rc = parse_explicit(h, desc, err); break;
	}
	if (rc != SR_OK)
		goto out;
	h->levels = h->described + 2;
	*out = h;
	h = NULL;
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "%s: generalize: out of memory", column);
	sr_anon_hier_free(h);
	return rc;
}

int sr_anon_hier_parse_text(const char *text, size_t len, const char *column,
			    enum sr_type type, struct sr_anon_hier **out,
			    struct sr_err *err)
{
	json_t *desc = NULL;
	int rc;

	*out = NULL;
	rc = sr_json_parse(text, len, column, &desc, err);
	if (rc == SR_OK)
		rc = sr_anon_hier_parse(desc, column, type, out, err);
	json_decref(desc);
	return rc;
}

/* ---- labels ---- */

static int add_number(struct sr_buf *out, double v, int integral)
{
	/* Integral bounds print as integers while a long long holds them. */
	if (integral && v > -9.2e18 && v < 9.2e18)
		return sr_buf_addf(out, "%lld", (long long)v);
	return sr_value_format_float64(out, v);
}

static int add_interval(struct sr_buf *out, double lo, double hi, int integral)
{
	int rc = sr_buf_addch(out, '[');

	if (rc == SR_OK)
		rc = isinf(lo) ? sr_buf_addstr(out, "-inf") : add_number(out, lo, integral);
	if (rc == SR_OK)
		rc = sr_buf_addstr(out, ", ");
	if (rc == SR_OK)
		rc = isinf(hi) ? sr_buf_addstr(out, "inf") : add_number(out, hi, integral);
	if (rc == SR_OK)
		rc = sr_buf_addch(out, ')');
	return rc;
}

static double value_number(const struct sr_vec *vec, size_t row)
{
	return vec->type == SR_TYPE_INT64 ? (double)vec->v.i64[row] : vec->v.f64[row];
}

/* Civil date of a day count (Howard Hinnant's algorithm; no gmtime). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int label_prefix(struct sr_buf *out, const char *s, size_t len, size_t keep)
{
	size_t i = 0, points = 0;

	while (i < len && points < keep) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		points++;
	}
	if (i >= len)
		return sr_buf_add(out, s, len);
	if (sr_buf_add(out, s, i) != SR_OK)
		return SR_ENOMEM;
	return sr_buf_addch(out, '*');
}

int sr_anon_hier_label(const struct sr_anon_hier *h, const struct sr_vec *vec,
		       size_t row, size_t level, struct sr_buf *out,
		       int *is_null, struct sr_err *err)
{
	size_t start = out->len, d = level - 1;
	int rc = SR_OK;

	*is_null = 0;
	if (vec->type != h->type)
		return sr_fail(err, SR_EINVAL, "%s: generalize: column is %s, hierarchy was built for %s",
			       h->column, sr_type_name(vec->type), sr_type_name(h->type));
	if (level >= h->levels)
		return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: the hierarchy has %zu levels",
			       h->column, level, h->levels);
	if (level == h->levels - 1)
		return sr_buf_addch(out, '*');
	if (sr_vec_is_null(vec, row)) {
		*is_null = 1;
		return SR_OK;
	}
	if (level == 0) {
		rc = sr_vec_format(vec, row, out);
		/* Coverage: an explicit hierarchy must name every value, even
		 * when its only level above is the top. */
		if (rc == SR_OK && h->form == FORM_EXPLICIT &&
		    !json_object_get(h->map, out->data + start)) {
			rc = sr_fail(err, SR_EINVAL, "%s: generalize: level 1: value '%.64s' is not in the hierarchy",
				     h->column, out->data + start);
			sr_buf_setlen(out, start);
		}
		return rc;
	}
	switch (h->form) {
	case FORM_INTERVALS: {
		double x = value_number(vec, row), w = h->widths[d];
		double lo = h->origin + floor((x - h->origin) / w) * w;

		rc = add_interval(out, lo, lo + w, h->integral);
		break;
	}
	case FORM_CUTS: {
		double x = value_number(vec, row), lo = -INFINITY, hi = INFINITY;

		for (size_t j = 0; j < h->ncuts[d]; j++) {
			if (x < h->cuts[d][j]) {
				hi = h->cuts[d][j];
				break;
			}
			lo = h->cuts[d][j];
		}
		rc = add_interval(out, lo, hi, h->integral);
		break;
	}
	case FORM_DATE: {
		int64_t y;
		unsigned m;

		civil_from_days(vec->v.date[row], &y, &m);
		if (h->units[d] == UNIT_MONTH)
			rc = sr_buf_addf(out, "%04lld-%02u", (long long)y, m);
		else if (h->units[d] == UNIT_QUARTER)
			rc = sr_buf_addf(out, "%04lld-Q%u", (long long)y, (m + 2) / 3);
		else
			rc = sr_buf_addf(out, "%04lld", (long long)y);
		break;
	}
	case FORM_PREFIX:
		rc = label_prefix(out, vec->bytes.data + vec->offsets[row],
				  vec->offsets[row + 1] - vec->offsets[row], h->prefix[d]);
		break;
	case FORM_EXPLICIT: {
		const json_t *path;

		rc = sr_vec_format(vec, row, out);
		if (rc != SR_OK)
			break;
		path = json_object_get(h->map, out->data + start);
		if (!path) {
			rc = sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: value '%.64s' is not in the hierarchy",
				     h->column, level, out->data + start);
			sr_buf_setlen(out, start);
			break;
		}
		sr_buf_setlen(out, start);
		rc = sr_buf_addstr(out, json_string_value(json_array_get(path, d)));
		break;
	}
	}
	if (rc == SR_ENOMEM || rc == SR_ELIMIT)
		sr_fail(err, rc, "%s: generalize: level %zu: label does not fit", h->column, level);
	return rc;
}

/* A value of vec's type from text, as the only row of vec (reset). */
static int one_value(struct sr_vec *vec, const char *text, size_t len)
{
	sr_vec_reset(vec);
	return sr_vec_append_text(vec, text, len) == SR_OK;
}

/* A number of a label ("-inf", "inf" or a finite number); 0 if not one. */
static int label_number(const char *s, size_t len, double *out)
{
	if (len == 4 && memcmp(s, "-inf", 4) == 0) {
		*out = -INFINITY;
		return 1;
	}
	if (len == 3 && memcmp(s, "inf", 3) == 0) {
		*out = INFINITY;
		return 1;
	}
	return sr_value_parse_float64(s, len, out) == SR_OK && isfinite(*out);
}

/* A value whose label could be text at level (>= 1, below the top), as
 * the only row of vec; 0 when text has no such value's shape. */
static int representative(const struct sr_anon_hier *h, size_t level, const char *text,
			  size_t len, struct sr_vec *vec, struct sr_buf *tmp)
{
	switch (h->form) {
	case FORM_INTERVALS:
	case FORM_CUTS: {
		const char *comma = len > 4 ? memchr(text, ',', len) : NULL;
		double lo, hi, x;

		if (!comma || text[0] != '[' || text[len - 1] != ')' || comma[1] != ' ' ||
		    !label_number(text + 1, (size_t)(comma - text - 1), &lo) ||
		    !label_number(comma + 2, (size_t)(text + len - 1 - comma - 2), &hi) ||
		    !(lo < hi) || isinf(lo) > 0 || (isinf(lo) && isinf(hi)))
			return 0;
		if (h->type == SR_TYPE_INT64)
			x = isinf(lo) ? ceil(hi) - 1 : ceil(lo);
		else
			x = isinf(lo) ? nextafter(hi, -INFINITY) : lo;
		if (!(x >= lo && x < hi) || fabs(x) > 9007199254740992.0)
			return 0;
		sr_buf_reset(tmp);
		return (h->type == SR_TYPE_INT64 ? sr_value_format_int64(tmp, (int64_t)x) :
			sr_value_format_float64(tmp, x)) == SR_OK &&
		       one_value(vec, tmp->data, tmp->len);
	}
	case FORM_DATE: {
		char date[16];

		if (len == 4)
			snprintf(date, sizeof(date), "%.4s-01-01", text);
		else if (len == 7 && text[4] == '-' && text[5] == 'Q' && text[6] >= '1' && text[6] <= '4')
			snprintf(date, sizeof(date), "%.4s-%02d-01", text, (text[6] - '1') * 3 + 1);
		else if (len == 7)
			snprintf(date, sizeof(date), "%.7s-01", text);
		else
			return 0;
		return one_value(vec, date, strlen(date));
	}
	case FORM_PREFIX:
		/* "abc*" is the label of "abcx"; a label without '*' of itself. */
		sr_buf_reset(tmp);
		if (sr_buf_add(tmp, text, len && text[len - 1] == '*' ? len - 1 : len) ||
		    (len && text[len - 1] == '*' && sr_buf_addch(tmp, 'x')))
			return 0;
		return one_value(vec, tmp->data, tmp->len);
	case FORM_EXPLICIT:
		break;
	}
	(void)level;
	return 0;
}

int sr_anon_hier_is_label(const struct sr_anon_hier *h, size_t level, const char *text,
			  size_t len, int *ok, struct sr_err *err)
{
	struct sr_vec vec;
	struct sr_buf tmp, label;
	int rc = SR_OK, is_null = 0;

	*ok = 0;
	if (level >= h->levels)
		return sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: the hierarchy has %zu levels",
			       h->column, level, h->levels);
	if (level == h->levels - 1) {
		*ok = len == 1 && text[0] == '*';
		return SR_OK;
	}
	if (level > 0 && h->form == FORM_EXPLICIT) {
		const char *key;
		json_t *path;

		json_object_foreach(h->map, key, path) {
			const json_t *l = json_array_get(path, level - 1);
			if (json_string_length(l) == len && memcmp(json_string_value(l), text, len) == 0) {
				*ok = 1;
				break;
			}
		}
		return SR_OK;
	}
	sr_vec_init(&vec, h->type);
	sr_buf_init(&tmp, SR_ANON_LABEL_MAX + 8);
	sr_buf_init(&label, SR_ANON_LABEL_MAX + 8);
	/* Level 0 is a value of the column (in its canonical text); above,
	 * the label of a value the text could stand for must be the text. */
	if (level == 0 ? one_value(&vec, text, len) :
	    representative(h, level, text, len, &vec, &tmp)) {
		struct sr_err ignored;

		sr_err_clear(&ignored);
		if (sr_anon_hier_label(h, &vec, 0, level, &label, &is_null, &ignored) == SR_OK)
			*ok = !is_null && label.len == len && memcmp(label.data, text, len) == 0;
		else if (ignored.code == SR_ENOMEM)
			rc = sr_fail(err, SR_ENOMEM, "%s: out of memory", h->column);
	}
	sr_vec_release(&vec);
	sr_buf_release(&tmp);
	sr_buf_release(&label);
	return rc;
}

/* ---- domains ---- */

void sr_anon_dom_release(struct sr_anon_dom *dom)
{
	if (dom->lv) {
		for (size_t l = 0; l < dom->levels; l++) {
			struct sr_anon_level *lv = &dom->lv[l];

			sr_free(lv->group_of_leaf);
			sr_free(lv->leaves_in);
			sr_free(lv->rep_leaf);
			sr_free(lv->label_off);
			sr_free(lv->label_null);
			sr_buf_release(&lv->labels);
		}
	}
	if (dom->up) {
		for (size_t i = 0; i < dom->levels * dom->levels; i++)
			sr_free(dom->up[i]);
	}
	sr_free(dom->up);
	sr_free(dom->lv);
	sr_free(dom->leaf_of_row);
	sr_free(dom->rows_of_leaf);
	memset(dom, 0, sizeof(*dom));
}

/*
 * The key that identifies a value: a string's bytes and a 0x01 tag, another
 * type's 8 bytes, and 0x02 alone for NULL, so no two kinds collide.
 */
static int value_key(const struct sr_vec *vec, size_t row, struct sr_buf *key)
{
	uint64_t slot = 0;

	sr_buf_reset(key);
	if (sr_vec_is_null(vec, row))
		return sr_buf_addch(key, 2);
	switch (vec->type) {
	case SR_TYPE_STRING:
		if (sr_buf_add(key, vec->bytes.data + vec->offsets[row],
			       vec->offsets[row + 1] - vec->offsets[row]) != SR_OK)
			return SR_ENOMEM;
		return sr_buf_addch(key, 1);
	case SR_TYPE_INT64: slot = (uint64_t)vec->v.i64[row]; break;
	case SR_TYPE_FLOAT64: {
		double f = vec->v.f64[row] == 0 ? 0.0 : vec->v.f64[row];  /* -0 == 0 */
		memcpy(&slot, &f, 8);
		break;
	}
	case SR_TYPE_DATE: slot = (uint64_t)(uint32_t)vec->v.date[row]; break;
	case SR_TYPE_BOOL: slot = vec->v.b[row]; break;
	}
	return sr_buf_add(key, &slot, 8);
}

static unsigned bits_for(uint32_t n)
{
	unsigned bits = 0;

	while (bits < 32 && (1ull << bits) < n)
		bits++;
	return bits;
}

static int build_level(struct sr_anon_dom *dom, size_t l, const struct sr_anon_hier *h,
		       const struct sr_vec *vec, struct sr_buf *scratch,
		       struct sr_err *err)
{
	struct sr_anon_level *lv = &dom->lv[l];
	struct strset labels;
	uint32_t null_group = UINT32_MAX;
	int rc = SR_OK;

	strset_init(&labels);
	sr_buf_init(&lv->labels, SR_BUF_UNBOUNDED);   /* one label per leaf at most */
	lv->group_of_leaf = sr_malloc((size_t)dom->leaves * sizeof(uint32_t));
	lv->label_null = sr_calloc((size_t)dom->leaves + 1, 1);
	if (!lv->group_of_leaf || !lv->label_null) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (uint32_t leaf = 0; leaf < dom->leaves; leaf++) {
		int is_null, added;
		uint32_t g;

		sr_buf_reset(scratch);
		rc = sr_anon_hier_label(h, vec, dom->rows_of_leaf[leaf], l, scratch,
					&is_null, err);
		if (rc != SR_OK)
			goto out;
		if (is_null) {
			if (null_group == UINT32_MAX) {
				/* NULL gets a group of its own, keyed apart. */
				rc = strset_put(&labels, "\0NULL", 5, &g, &added);
				if (rc != SR_OK)
					goto out;
				null_group = g;
				lv->label_null[g] = 1;
			}
			lv->group_of_leaf[leaf] = null_group;
			continue;
		}
		if (scratch->len > SR_ANON_LABEL_MAX) {
			rc = sr_fail(err, SR_ELIMIT, "%s: generalize: level %zu: label of %zu bytes, at most %d",
				     h->column, l, scratch->len, SR_ANON_LABEL_MAX);
			goto out;
		}
		rc = strset_put(&labels, scratch->data, scratch->len, &g, &added);
		if (rc != SR_OK)
			goto out;
		lv->group_of_leaf[leaf] = g;
	}
	lv->groups = (uint32_t)labels.n;
	lv->bits = bits_for(lv->groups);
	lv->leaves_in = sr_calloc(lv->groups, sizeof(uint32_t));
	lv->rep_leaf = sr_calloc(lv->groups, sizeof(uint32_t));
	lv->label_off = sr_calloc((size_t)lv->groups + 1, sizeof(uint32_t));
	if (!lv->leaves_in || !lv->rep_leaf || !lv->label_off) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (uint32_t leaf = dom->leaves; leaf-- > 0;) {
		lv->leaves_in[lv->group_of_leaf[leaf]]++;
		lv->rep_leaf[lv->group_of_leaf[leaf]] = leaf;
	}
	for (uint32_t g = 0; g < lv->groups; g++) {
		lv->label_off[g] = (uint32_t)lv->labels.len;
		rc = sr_buf_add(&lv->labels, labels.bytes.data + labels.off[g],
				labels.off[g + 1] - labels.off[g]);
		if (rc == SR_OK)
			rc = sr_buf_addch(&lv->labels, '\0');
		if (rc != SR_OK)
			goto out;
	}
	lv->label_off[lv->groups] = (uint32_t)lv->labels.len;
out:
	if (rc == SR_ENOMEM || (rc == SR_ELIMIT && err && !err->code))
		sr_fail(err, rc, "%s: generalize: level %zu: out of memory", h->column, l);
	strset_release(&labels);
	return rc;
}

int sr_anon_leaves(const struct sr_vec *vec, uint32_t *leaf_of_row,
		   uint32_t **first_row_out, uint32_t *leaves_out)
{
	struct strset leaves;
	struct sr_buf key;
	uint32_t *first_row = NULL;
	size_t first_cap = 0;
	int rc = SR_OK;

	*first_row_out = NULL;
	strset_init(&leaves);
	sr_buf_init(&key, SR_BUF_UNBOUNDED);   /* one stored value at a time */
	for (size_t row = 0; row < vec->rows; row++) {
		uint32_t id;
		int added;

		rc = value_key(vec, row, &key);
		if (rc == SR_OK)
			rc = strset_put(&leaves, key.data, key.len, &id, &added);
		if (rc != SR_OK)
			goto out;
		if (added) {
			if (id >= first_cap) {
				size_t ncap = first_cap ? first_cap * 2 : 256;
				uint32_t *n = sr_realloc(first_row, ncap * sizeof(*n));

				if (!n) {
					rc = SR_ENOMEM;
					goto out;
				}
				first_row = n;
				first_cap = ncap;
			}
			first_row[id] = (uint32_t)row;
		}
		leaf_of_row[row] = id;
	}
	*leaves_out = (uint32_t)leaves.n;
	*first_row_out = first_row;
	first_row = NULL;
out:
	sr_free(first_row);
	strset_release(&leaves);
	sr_buf_release(&key);
	return rc;
}

int sr_anon_dom_build(struct sr_anon_dom *dom, const struct sr_anon_hier *h,
		      const struct sr_vec *vec, struct sr_err *err)
{
	struct sr_buf scratch;
	size_t L = h->levels;
	int rc = SR_OK;

	memset(dom, 0, sizeof(*dom));
	sr_buf_init(&scratch, SR_ANON_LABEL_MAX * 4 + 64);
	if (vec->type != h->type) {
		rc = sr_fail(err, SR_EINVAL, "%s: generalize: column is %s, hierarchy was built for %s",
			     h->column, sr_type_name(vec->type), sr_type_name(h->type));
		goto out;
	}
	if (vec->rows > SR_ANON_ROWS_MAX) {
		rc = sr_fail(err, SR_ELIMIT, "%s: %zu rows, at most %llu", h->column,
			     vec->rows, (unsigned long long)SR_ANON_ROWS_MAX);
		goto out;
	}
	dom->levels = L;
	dom->leaf_of_row = sr_malloc((vec->rows ? vec->rows : 1) * sizeof(uint32_t));
	dom->lv = sr_calloc(L, sizeof(*dom->lv));
	dom->up = sr_calloc(L * L, sizeof(*dom->up));
	if (!dom->leaf_of_row || !dom->lv || !dom->up) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (size_t l = 0; l < L; l++)
		sr_buf_init(&dom->lv[l].labels, SR_BUF_UNBOUNDED);
	rc = sr_anon_leaves(vec, dom->leaf_of_row, &dom->rows_of_leaf, &dom->leaves);
	if (rc != SR_OK)
		goto out;
	for (size_t l = 0; l < L; l++) {
		rc = build_level(dom, l, h, vec, &scratch, err);
		if (rc != SR_OK)
			goto out;
	}
	/* Level 0 groups are the leaves themselves (labels are distinct). */
	for (uint32_t leaf = 0; leaf < dom->leaves; leaf++)
		if (dom->lv[0].group_of_leaf[leaf] != leaf)
			SR_BUG("anon: level 0 group is not the leaf");
	/* Nesting on the values present, and the maps between levels. */
	for (size_t a = 0; a < L; a++) {
		for (size_t b = a + 1; b < L; b++) {
			struct sr_anon_level *la = &dom->lv[a], *lb = &dom->lv[b];
			uint32_t *up = sr_malloc(((size_t)la->groups + 1) * sizeof(*up));

			if (!up) {
				rc = SR_ENOMEM;
				goto out;
			}
			dom->up[a * L + b] = up;
			for (uint32_t g = 0; g < la->groups; g++)
				up[g] = lb->group_of_leaf[la->rep_leaf[g]];
			for (uint32_t leaf = 0; leaf < dom->leaves && b == a + 1; leaf++) {
				uint32_t g = la->group_of_leaf[leaf];

				if (lb->group_of_leaf[leaf] != up[g]) {
					rc = sr_fail(err, SR_EINVAL, "%s: generalize: level %zu: '%s' splits into '%s' and '%s' at level %zu (levels must nest)",
						     h->column, a, la->label_null[g] ? "NULL" : sr_anon_dom_label(dom, a, g),
						     sr_anon_dom_label(dom, b, up[g]) ? sr_anon_dom_label(dom, b, up[g]) : "NULL",
						     sr_anon_dom_label(dom, b, lb->group_of_leaf[leaf]) ? sr_anon_dom_label(dom, b, lb->group_of_leaf[leaf]) : "NULL",
						     b);
					goto out;
				}
			}
		}
	}
	/* Rows per leaf, then the generalization cost of each level. */
	{
		uint32_t *count = sr_calloc(dom->leaves + 1, sizeof(*count));

		if (!count) {
			rc = SR_ENOMEM;
			goto out;
		}
		for (size_t row = 0; row < vec->rows; row++)
			count[dom->leaf_of_row[row]]++;
		for (size_t l = 0; l < L; l++) {
			struct sr_anon_level *lv = &dom->lv[l];

			for (uint32_t leaf = 0; leaf < dom->leaves; leaf++)
				lv->gen_cost += (uint64_t)count[leaf] *
						(lv->leaves_in[lv->group_of_leaf[leaf]] - 1);
		}
		sr_free(count);
	}
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "%s: generalize: out of memory", h->column);
	if (rc != SR_OK)
		sr_anon_dom_release(dom);
	sr_buf_release(&scratch);
	return rc;
}

int sr_anon_hier_check(const struct sr_anon_hier *hier, const struct sr_vec *vec,
		       struct sr_err *err)
{
	struct sr_anon_dom dom;
	int rc = sr_anon_dom_build(&dom, hier, vec, err);

	if (rc == SR_OK)
		sr_anon_dom_release(&dom);
	return rc;
}
