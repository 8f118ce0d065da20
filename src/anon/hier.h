/*
 * hier.h - generalization hierarchies for quasi-identifier columns, built
 * from the JSON description a policy's per-column `generalize` key holds
 * (docs/internals/anon.md).  Forms:
 *
 *   {"intervals": [5, 10, 20], "origin": 0}   int64/float64: widths per level,
 *                                             aligned to origin (default 0);
 *                                             each width a multiple of the last
 *   {"cuts": [[18, 30, 50, 65], [30, 65]]}    int64/float64: cut points per
 *                                             level, each a subset of the last
 *   {"date": ["month", "quarter", "year"]}    date: an increasing subset
 *   {"prefix": [4, 2, 0]}                     string: keep N code points and
 *                                             mark the cut with '*'; 0 is '*'
 *   {"hierarchy": {"Hangzhou": ["Zhejiang", "East", "*"], ...}}
 *                                             any type, keyed by the value's
 *                                             canonical text; equal lengths
 *
 * Level 0 is the value itself; the last level is always "*" (added when the
 * description does not end with it).  A NULL is a value of its own: it stays
 * NULL at every level below the top and joins every other value at "*".
 *
 * Ownership: a struct sr_anon_hier owns its description (it holds a
 * reference to the JSON it was parsed from); free it with
 * sr_anon_hier_free().  Strings it returns are borrowed from it.
 */
#ifndef SR_ANON_HIER_H
#define SR_ANON_HIER_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/value.h"
#include "store/vec.h"

struct sr_anon_hier;

/*
 * Parse desc (a JSON object in one of the forms above) for column `column`
 * of type `type`.  Errors name the column and the level ("age: generalize:
 * level 2: width 7 is not a multiple of 5 (levels must nest)").  On success
 * *out is a new hierarchy.
 */
int sr_anon_hier_parse(const json_t *desc, const char *column,
		       enum sr_type type, struct sr_anon_hier **out,
		       struct sr_err *err) SR_WUR;

/* The same from JSON text (len bytes). */
int sr_anon_hier_parse_text(const char *text, size_t len, const char *column,
			    enum sr_type type, struct sr_anon_hier **out,
			    struct sr_err *err) SR_WUR;

/* sr_anon_hier_free(NULL) does nothing. */
void sr_anon_hier_free(struct sr_anon_hier *hier);

/* Number of levels, the value's own level 0 and the top "*" included. */
size_t sr_anon_hier_levels(const struct sr_anon_hier *hier);

/* The column name given at parse time (borrowed). */
const char *sr_anon_hier_column(const struct sr_anon_hier *hier);

/*
 * The generalized text of row `row` of vec at `level`, appended to out;
 * *is_null set when the result is NULL (a NULL value below the top).
 * Fails naming the column, level and value when an explicit hierarchy does
 * not cover the value or vec has another type.
 */
int sr_anon_hier_label(const struct sr_anon_hier *hier, const struct sr_vec *vec,
		       size_t row, size_t level, struct sr_buf *out,
		       int *is_null, struct sr_err *err) SR_WUR;

/*
 * Whether text (len bytes) is a label of level: "*" at the top, a value
 * of the column in its canonical text at level 0 (one the hierarchy names,
 * for an explicit one), else the label some value of the column's type
 * has at that level.  What a receiver checks of a release it did not
 * make.  *ok set; SR_EINVAL for a level past the top, SR_ENOMEM.
 */
int sr_anon_hier_is_label(const struct sr_anon_hier *hier, size_t level,
			  const char *text, size_t len, int *ok,
			  struct sr_err *err) SR_WUR;

/*
 * Validate the hierarchy against a column (what import runs): every value
 * covered at every level, and levels nest on the values present (two values
 * together at level i stay together at level i + 1).
 */
int sr_anon_hier_check(const struct sr_anon_hier *hier, const struct sr_vec *vec,
		       struct sr_err *err) SR_WUR;

#endif
