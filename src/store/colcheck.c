/*
 * colcheck.c - bounds and domains checked against the data (colcheck.h).
 *
 * Domains are sorted once and searched per value (at most 16 comparisons
 * for the largest domain, SR_POLICY_DOMAIN_MAX values), which costs less
 * than parsing the field did.
 */
#include "store/colcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/banned.h"

/* 2^63 as a double: integral doubles in [-2^63, 2^63) fit an int64. */
#define TWO_POW_63 9223372036854775808.0

static int cmp_str(const void *a, const void *b)
{
	const struct sr_colcheck_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_int(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_num(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The whole numbers of [lo, hi] as int64, saturated. */
static int64_t ceil_to_int64(double v)
{
	v = ceil(v);
	if (v < -TWO_POW_63)
		return INT64_MIN;
	if (v >= TWO_POW_63)
		return INT64_MAX;
	return (int64_t)v;
}

static int64_t floor_to_int64(double v)
{
	v = floor(v);
	if (v < -TWO_POW_63)
		return INT64_MIN;
	if (v >= TWO_POW_63)
		return INT64_MAX;
	return (int64_t)v;
}

/* One domain value of the column's type (sr_policy_bind checked them). */
static int domain_value(struct sr_colcheck *check, size_t i, const json_t *v)
{
	int32_t days;
	double d;

	switch (check->type) {
	case SR_TYPE_STRING:
		check->strs[i].s = json_string_value(v);
		check->strs[i].len = json_string_length(v);
		return check->strs[i].s ? SR_OK : SR_EINVAL;
	case SR_TYPE_INT64:
		check->ints[i] = (int64_t)json_integer_value(v);
		return json_is_integer(v) ? SR_OK : SR_EINVAL;
	case SR_TYPE_BOOL:
		check->ints[i] = json_is_true(v);
		return json_is_boolean(v) ? SR_OK : SR_EINVAL;
	case SR_TYPE_DATE:
		if (!json_is_string(v) ||
		    sr_value_parse_date(json_string_value(v), json_string_length(v),
					&days) != SR_OK)
			return SR_EINVAL;
		check->ints[i] = days;
		return SR_OK;
	case SR_TYPE_FLOAT64:
		if (json_is_integer(v))
			d = (double)json_integer_value(v);
		else if (!json_is_string(v) ||
			 sr_value_parse_float64(json_string_value(v),
						json_string_length(v), &d) != SR_OK)
			return SR_EINVAL;
		check->nums[i] = d;
		return SR_OK;
	}
	return SR_EINVAL;
}

int sr_colcheck_init(struct sr_colcheck *check,
		     const struct sr_policy_column *c, enum sr_type type,
		     struct sr_err *err)
{
	size_t i, n = json_array_size(c->domain);
	json_t *v;

	memset(check, 0, sizeof(*check));
	check->type = type;
	check->name = c->name;
	if (c->has_bounds && (type == SR_TYPE_INT64 || type == SR_TYPE_FLOAT64)) {
		check->has_bounds = 1;
		check->lo = c->lo;
		check->hi = c->hi;
		check->ilo = ceil_to_int64(c->lo);
		check->ihi = floor_to_int64(c->hi);
		if (type == SR_TYPE_INT64 && check->ilo > check->ihi)
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.bounds: no whole number lies within them, and '%.64s' is int64",
				       c->name, c->name);
	}
	if (!c->domain)
		return SR_OK;
	check->has_domain = 1;
	check->ndomain = n;
	if (type == SR_TYPE_STRING)
		check->strs = sr_calloc(n ? n : 1, sizeof(*check->strs));
	else if (type == SR_TYPE_FLOAT64)
		check->nums = sr_calloc(n ? n : 1, sizeof(*check->nums));
	else
		check->ints = sr_calloc(n ? n : 1, sizeof(*check->ints));
	if (!check->strs && !check->nums && !check->ints)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	json_array_foreach(c->domain, i, v)
		if (domain_value(check, i, v) != SR_OK)
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.domain[%zu]: not a %s value",
				       c->name, i, sr_type_name(type));
	if (check->strs)
		qsort(check->strs, n, sizeof(*check->strs), cmp_str);
	else if (check->nums)
		qsort(check->nums, n, sizeof(*check->nums), cmp_num);
	else
		qsort(check->ints, n, sizeof(*check->ints), cmp_int);
	return SR_OK;
}

void sr_colcheck_release(struct sr_colcheck *check)
{
	sr_free(check->strs);
	sr_free(check->ints);
	sr_free(check->nums);
	memset(check, 0, sizeof(*check));
}

static int in_domain(const struct sr_colcheck *check, const struct sr_vec *vec,
		     size_t row)
{
	struct sr_colcheck_str key;
	int64_t i;

	switch (check->type) {
	case SR_TYPE_STRING:
		key.s = vec->bytes.data + vec->offsets[row];
		key.len = vec->offsets[row + 1] - vec->offsets[row];
		return bsearch(&key, check->strs, check->ndomain,
			       sizeof(key), cmp_str) != NULL;
	case SR_TYPE_FLOAT64:
		return bsearch(&vec->v.f64[row], check->nums, check->ndomain,
			       sizeof(double), cmp_num) != NULL;
	case SR_TYPE_INT64: i = vec->v.i64[row]; break;
	case SR_TYPE_DATE: i = vec->v.date[row]; break;
	case SR_TYPE_BOOL: i = vec->v.b[row]; break;
	default: return 0;
	}
	return bsearch(&i, check->ints, check->ndomain, sizeof(i),
		       cmp_int) != NULL;
}

int sr_colcheck_value(struct sr_colcheck *check, struct sr_vec *vec,
		      size_t row, int clamp)
{
	if (check->has_bounds && vec->type == SR_TYPE_INT64) {
		int64_t *v = &vec->v.i64[row];
		if (*v < check->ilo || *v > check->ihi) {
			if (!clamp)
				return SR_COLCHECK_BOUNDS;
			*v = *v < check->ilo ? check->ilo : check->ihi;
			check->clamped++;
		}
	} else if (check->has_bounds && vec->type == SR_TYPE_FLOAT64) {
		double *v = &vec->v.f64[row];
		if (*v < check->lo || *v > check->hi) {
			if (!clamp)
				return SR_COLCHECK_BOUNDS;
			*v = *v < check->lo ? check->lo : check->hi;
			check->clamped++;
		}
	}
	if (check->has_domain && !in_domain(check, vec, row))
		return SR_COLCHECK_DOMAIN;
	return SR_COLCHECK_OK;
}

/* A domain value as it is written in the policy, for messages. */
static void domain_text(const struct sr_colcheck *check, size_t i,
			struct sr_buf *out)
{
	char shown[SR_VALUE_SHOWN_SIZE];
	int rc = SR_OK;

	switch (check->type) {
	case SR_TYPE_STRING:
		rc = sr_buf_addf(out, "'%s'", sr_value_shown(check->strs[i].s,
							     check->strs[i].len, shown));
		break;
	case SR_TYPE_FLOAT64:
		rc = sr_value_format_float64(out, check->nums[i]);
		break;
	case SR_TYPE_DATE:
		rc = sr_value_format_date(out, (int32_t)check->ints[i]);
		break;
	case SR_TYPE_BOOL:
		rc = sr_value_format_bool(out, (int)check->ints[i]);
		break;
	case SR_TYPE_INT64:
		rc = sr_value_format_int64(out, check->ints[i]);
		break;
	}
	(void)rc;   /* a capped buffer keeps what fit */
}

const char *sr_colcheck_describe(const struct sr_colcheck *check, int kind,
				 char *out, size_t size)
{
	struct sr_buf b;
	size_t listed = 0;

	sr_buf_init(&b, 0);
	if (kind == SR_COLCHECK_BOUNDS) {
		if (sr_buf_addstr(&b, "the bounds [") == SR_OK &&
		    sr_value_format_float64(&b, check->lo) == SR_OK &&
		    sr_buf_addstr(&b, ", ") == SR_OK &&
		    sr_value_format_float64(&b, check->hi) == SR_OK &&
		    sr_buf_addstr(&b, "]") == SR_OK)
			snprintf(out, size, "%s", b.data);
		else
			snprintf(out, size, "the bounds");
		sr_buf_release(&b);
		return out;
	}
	if (sr_buf_addf(&b, "the domain (%zu value%s: ", check->ndomain,
			check->ndomain == 1 ? "" : "s") != SR_OK) {
		sr_buf_release(&b);
		snprintf(out, size, "the domain");
		return out;
	}
	/* As many values as fit in about 60 bytes. */
	for (size_t i = 0; i < check->ndomain && b.len < 60; i++, listed++) {
		if (i && sr_buf_addstr(&b, ", ") != SR_OK)
			break;
		domain_text(check, i, &b);
	}
	if (listed < check->ndomain && sr_buf_addstr(&b, ", ...") != SR_OK)
		listed = check->ndomain;
	if (sr_buf_addch(&b, ')') != SR_OK)
		snprintf(out, size, "the domain");
	else
		snprintf(out, size, "%s", b.data);
	sr_buf_release(&b);
	return out;
}
