/*
 * colcheck.h - a column's bounds and domain, checked against every value
 * at import (DESIGN §6): DP sensitivity rests on "bounds" and GROUP BY
 * across parties on "domain", so a value outside them is an error, or,
 * for bounds when the steward asks (--clamp), is clamped to them.
 *
 * A check is built from a bound policy column (policy/policy.h) and its
 * type, and applied to values already parsed into a vector.  It borrows
 * the column's domain strings: the policy must outlive it.
 */
#ifndef SR_COLCHECK_H
#define SR_COLCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "policy/policy.h"
#include "store/vec.h"

struct sr_colcheck_str {
	const char *s;
	size_t len;
};

struct sr_colcheck {
	enum sr_type type;
	const char *name;        /* column name (borrowed) */
	int has_bounds;
	double lo, hi;           /* as declared */
	int64_t ilo, ihi;        /* int64 columns: the whole numbers within */
	int has_domain;
	size_t ndomain;
	struct sr_colcheck_str *strs;   /* string domain, sorted */
	int64_t *ints;           /* int64, date (days), bool (0/1), sorted */
	double *nums;            /* float64, sorted */
	uint64_t clamped;        /* values clamped so far */
};

enum {
	SR_COLCHECK_OK = 0,
	SR_COLCHECK_BOUNDS = 1,   /* outside the bounds (not clamped) */
	SR_COLCHECK_DOMAIN = 2,   /* not one of the domain's values */
};

/* Build the check of column c of type type.  SR_ENOMEM, or SR_EINVAL
 * when an int64 column's bounds hold no whole number. */
int sr_colcheck_init(struct sr_colcheck *check,
		     const struct sr_policy_column *c, enum sr_type type,
		     struct sr_err *err) SR_WUR;
void sr_colcheck_release(struct sr_colcheck *check);

/* Whether the column has anything to check. */
static inline int sr_colcheck_active(const struct sr_colcheck *check)
{
	return check->has_bounds || check->has_domain;
}

/*
 * Check row of vec (not NULL).  With clamp, a value outside the bounds is
 * set to the nearest bound and counted in check->clamped.  Returns one of
 * SR_COLCHECK_*.
 */
int sr_colcheck_value(struct sr_colcheck *check, struct sr_vec *vec,
		      size_t row, int clamp);

/* "the bounds [15, 30]" or "the domain (4 values: 'a', 'b', ...)" for
 * the failure kind, in out (size bytes). */
const char *sr_colcheck_describe(const struct sr_colcheck *check, int kind,
				 char *out, size_t size);

#endif
