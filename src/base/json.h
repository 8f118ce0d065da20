/*
 * json.h - helpers on jansson: bounded parsing with clear errors, typed field
 * access that names the key on failure, and canonical encoding.
 *
 * Ownership: json_t references follow jansson's rules.  Functions that
 * return a borrowed pointer into a json_t (strings) say so; it stays valid
 * while the owning document is alive and unmodified.
 */
#ifndef SR_JSON_H
#define SR_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Parse len bytes of JSON.  Duplicate object keys are rejected, nesting is
 * limited to SR_JSON_DEPTH_MAX and the text must be valid UTF-8.  On error
 * the message starts with what (e.g. a file name) and gives line and column.
 * On success *out holds a new reference.
 */
int sr_json_parse(const char *text, size_t len, const char *what,
		  json_t **out, struct sr_err *err) SR_WUR;

/* Depth of a JSON value (a scalar is 1). */
size_t sr_json_depth(const json_t *value);

/*
 * Check that object obj (at path, used in messages) has no key outside the
 * NULL-terminated list allowed.
 */
int sr_json_check_keys(const json_t *obj, const char *path,
		       const char *const *allowed, struct sr_err *err) SR_WUR;

/*
 * Typed getters.  If the key is missing: with required set, fail naming
 * path.key; otherwise leave *out untouched and return SR_OK.  A key of the
 * wrong type always fails.  Strings are borrowed from obj.
 */
int sr_json_get_string(const json_t *obj, const char *path, const char *key,
		       int required, const char **out, struct sr_err *err) SR_WUR;
int sr_json_get_int(const json_t *obj, const char *path, const char *key,
		    int required, int64_t *out, struct sr_err *err) SR_WUR;
int sr_json_get_bool(const json_t *obj, const char *path, const char *key,
		     int required, int *out, struct sr_err *err) SR_WUR;

/*
 * Canonical encoding (DESIGN §4): keys sorted, no insignificant white space,
 * integers, strings, booleans, null, arrays and objects only — a real number
 * anywhere fails with SR_EINVAL.  Appends to out.
 */
int sr_json_canonical(const json_t *value, struct sr_buf *out,
		      struct sr_err *err) SR_WUR;

/* Compact or pretty (indent 2) encoding, sorted keys, appended to out. */
int sr_json_dump(const json_t *value, int pretty, struct sr_buf *out) SR_WUR;

#endif
