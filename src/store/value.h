/*
 * value.h - column types and the text forms of their values: strict parsing
 * (for CSV import and type inference) and canonical formatting (for export).
 */
#ifndef SR_VALUE_H
#define SR_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Stored in manifests and chunk headers: values never change. */
enum sr_type {
	SR_TYPE_INT64 = 1,
	SR_TYPE_FLOAT64 = 2,
	SR_TYPE_STRING = 3,
	SR_TYPE_BOOL = 4,
	SR_TYPE_DATE = 5,    /* days since 1970-01-01, int32 */
};

/* "int64", "float64", "string", "bool", "date". */
const char *sr_type_name(enum sr_type type);
/* Parse a type name; SR_EINVAL if unknown. */
int sr_type_parse(const char *name, enum sr_type *out) SR_WUR;

/*
 * Strict parsers.  The whole of [s, s+len) must be the value: no leading or
 * trailing space.  Return SR_OK or SR_EINVAL (no message; the caller knows
 * the file, line and column).
 *   int64:   optional '-' or '+', 1-19 digits, within int64 range
 *   float64: decimal or exponent form accepted by strtod, finite
 *            (no inf/nan/hex)
 *   bool:    true/false, case-insensitive
 *   date:    YYYY-MM-DD, a real calendar day in years 0001-9999
 */
int sr_value_parse_int64(const char *s, size_t len, int64_t *out) SR_WUR;
int sr_value_parse_float64(const char *s, size_t len, double *out) SR_WUR;
int sr_value_parse_bool(const char *s, size_t len, int *out) SR_WUR;
int sr_value_parse_date(const char *s, size_t len, int32_t *out) SR_WUR;

/* Canonical text forms, appended to out. Floats use the shortest
 * representation that reads back to the same double. */
int sr_value_format_int64(struct sr_buf *out, int64_t v) SR_WUR;
int sr_value_format_float64(struct sr_buf *out, double v) SR_WUR;
int sr_value_format_bool(struct sr_buf *out, int v) SR_WUR;
int sr_value_format_date(struct sr_buf *out, int32_t days) SR_WUR;

/*
 * A value as an error message shows it to the steward who imports it:
 * control bytes and NULs become '?', and text over SR_VALUE_SHOWN_MAX bytes
 * is cut at a UTF-8 character boundary and ends in "...".  Such messages
 * go to the terminal of the person importing their own data, never to a
 * log.  out has SR_VALUE_SHOWN_SIZE bytes; returns out.
 */
#define SR_VALUE_SHOWN_MAX 40
#define SR_VALUE_SHOWN_SIZE (SR_VALUE_SHOWN_MAX + 4)
const char *sr_value_shown(const char *s, size_t len, char *out);

/* 1 if [s, s+len) is valid UTF-8 (no overlongs, no surrogates). */
int sr_utf8_valid(const char *s, size_t len);

/*
 * Type inference: feed every non-NULL value of a column, then read the
 * narrowest type that parses all of them.  Order of preference:
 * bool, int64, date, float64 (ints also parse as floats), string.
 * A column with no non-NULL value infers as string.
 */
struct sr_infer {
	unsigned candidates;  /* bit (1 << type) for each type still possible */
	uint64_t values;      /* non-NULL values seen */
};
void sr_infer_init(struct sr_infer *inf);
void sr_infer_feed(struct sr_infer *inf, const char *s, size_t len);
enum sr_type sr_infer_result(const struct sr_infer *inf);

#endif
