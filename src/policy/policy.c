/*
 * policy.c - the dataset policy model: names, life cycle and parsing of
 * the steward's JSON document (see policy.h and docs/policy.md).  Binding
 * to a dataset and classification by name are in policy_bind.c, the
 * normalized JSON form in policy_json.c, message helpers in policy_msg.c.
 *
 * Parsing is strict: every key, class, usage, type, mask and job kind is
 * checked against a closed list, and every message names the source, the
 * key path and what was expected.  Text that came from the user is shown
 * in messages through sr_policy_shown(), which replaces control bytes and
 * cuts long strings, so a message stays one readable line.
 *
 * Memory: the policy owns its column names, domains (json_t references),
 * receivers and row filter; sr_policy_release frees them.  A failed
 * sr_policy_parse or sr_policy_from_names leaves the policy empty; a
 * failed sr_policy_bind leaves it as it was.
 */
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/banned.h"

/* Characters kept by a truncate:N mask. */
#define TRUNCATE_MAX 1024

static const char *const class_names[] = {
	[SR_CLASS_NONE] = "none", [SR_CLASS_ID] = "id", [SR_CLASS_QI] = "qi",
	[SR_CLASS_SA] = "sa", [SR_CLASS_PUBLIC] = "public",
};
static const char *const usage_names[] = {
	"join", "filter", "group", "aggregate", "reveal", "feature", "label",
};
static const char *const job_names[] = {
	"psi", "query", "train", "predict", "anonymize",
};
#define NUSAGES (sizeof(usage_names) / sizeof(*usage_names))
#define NJOBS (sizeof(job_names) / sizeof(*job_names))

#define TYPE_LIST "int64, float64, string, bool or date"
#define MASK_LIST "hash, truncate:N or range:W"
#define ORG_ID_TEXT "org_ and 32 lowercase hex digits"

const char *sr_class_name(enum sr_class cls)
{
	if (cls >= SR_CLASS_NONE && cls <= SR_CLASS_PUBLIC)
		return class_names[cls];
	return "unknown";
}

unsigned sr_class_default_allow(enum sr_class cls)
{
	switch (cls) {
	case SR_CLASS_ID: return SR_USE_JOIN;
	case SR_CLASS_QI: return SR_USE_FILTER | SR_USE_GROUP;
	case SR_CLASS_SA: return SR_USE_AGGREGATE | SR_USE_FEATURE | SR_USE_LABEL;
	case SR_CLASS_PUBLIC: return SR_USE_ALL;
	case SR_CLASS_NONE: return 0;
	}
	return 0;
}

const char *sr_usage_name(enum sr_usage usage)
{
	for (size_t i = 0; i < NUSAGES; i++)
		if ((unsigned)usage == (1u << i))
			return usage_names[i];
	return "unknown";
}

const char *sr_job_kind_name(enum sr_job_bit kind)
{
	for (size_t i = 0; i < NJOBS; i++)
		if ((unsigned)kind == (1u << i))
			return job_names[i];
	return "unknown";
}

void sr_policy_init(struct sr_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->min_group_size = 1;
	pol->jobs = SR_JOB_ALL;
}

static void free_tokens(char **tokens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sr_free(tokens[i]);
	sr_free(tokens);
}

static void column_release(struct sr_policy_column *c)
{
	sr_free(c->name);
	json_decref(c->domain);
	json_decref(c->generalize);
	free_tokens(c->nulls, c->nnulls);
	memset(c, 0, sizeof(*c));
}

void sr_policy_release(struct sr_policy *pol)
{
	for (size_t i = 0; i < pol->ncolumns; i++)
		column_release(&pol->columns[i]);
	sr_free(pol->columns);
	for (size_t i = 0; i < pol->nreceivers; i++)
		sr_free(pol->receivers[i]);
	sr_free(pol->receivers);
	sr_free(pol->row_filter);
	free_tokens(pol->nulls, pol->nnulls);
	sr_policy_tee_release(&pol->tee);
	sr_policy_init(pol);
}

/* ---- parsing -------------------------------------------------------- */

/* "a, b, c or d" from table[0..n). */
static const char *join_names(const char *const *table, size_t n, char *out,
			      size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		const char *sep = k == 0 ? "" : k + 1 == n ? " or " : ", ";
		int w = snprintf(out + len, size - len, "%s%s", sep, table[k]);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
	return out;
}

/* Index of the JSON string v in table[0..n) (NUL bytes never match), or
 * -1 for anything else. */
static int lookup(const json_t *v, const char *const *table, size_t n)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s)
		return -1;
	for (size_t k = 0; k < n; k++)
		if (strlen(table[k]) == len && memcmp(s, table[k], len) == 0)
			return (int)k;
	return -1;
}

/* Fail on any key of obj (at path) outside the NULL-terminated allowed. */
static int check_keys(const json_t *obj, const char *what, const char *path,
		      const char *const *allowed, struct sr_err *err)
{
	const char *key;
	json_t *child;

	json_object_foreach((json_t *)obj, key, child) {
		char list[128], s[SR_POLICY_SHOWN_SIZE];
		size_t n = 0;
		int known = 0;

		(void)child;
		for (; allowed[n]; n++)
			if (strcmp(key, allowed[n]) == 0)
				known = 1;
		if (known)
			continue;
		return sr_fail(err, SR_EINVAL, "%s: %s%s%s: unknown key (expected %s)",
			       what, path, *path ? "." : "",
			       sr_policy_shown(key, strlen(key), s),
			       join_names(allowed, n, list, sizeof(list)));
	}
	return SR_OK;
}

/* A finite number given as a JSON integer, real or decimal string. */
static int get_number(const json_t *v, const char *what, const char *path,
		      double *out, struct sr_err *err)
{
	char got[SR_POLICY_VALUE_SIZE];

	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return SR_OK;
	}
	if (json_is_real(v) && isfinite(json_real_value(v))) {
		*out = json_real_value(v);
		return SR_OK;
	}
	if (json_is_string(v) &&
	    sr_value_parse_float64(json_string_value(v), json_string_length(v),
				   out) == SR_OK)
		return SR_OK;
	return sr_fail(err, SR_EINVAL,
		       "%s: %s: expected a finite number or decimal string, got %s",
		       what, path, sr_policy_show_value(v, got));
}

int sr_policy_number(const json_t *v, const char *what, const char *path,
		     double *out, struct sr_err *err)
{
	return get_number(v, what, path, out, err);
}

static int parse_class(const json_t *v, const char *what, const char *col,
		       enum sr_class *out, struct sr_err *err)
{
	char s[SR_POLICY_SHOWN_SIZE];
	int k;

	if (!v)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.class: required key is missing (expected " SR_POLICY_CLASS_LIST ")",
			       what, col);
	k = lookup(v, class_names + 1, 4);
	if (k >= 0) {
		*out = (enum sr_class)(k + 1);
		return SR_OK;
	}
	if (!json_is_string(v))
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.class: expected a string (" SR_POLICY_CLASS_LIST "), got %s",
			       what, col, sr_policy_json_kind(v));
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.class: unknown class '%s' (expected " SR_POLICY_CLASS_LIST ")",
		       what, col,
		       sr_policy_shown(json_string_value(v), json_string_length(v), s));
}

/* An array of distinct names from table, as a bit set. */
static int parse_name_set(const json_t *arr, const char *what,
			  const char *path, const char *const *table,
			  size_t ntable, const char *kind, unsigned *out,
			  struct sr_err *err)
{
	char list[96], s[SR_POLICY_SHOWN_SIZE];
	unsigned bits = 0;
	size_t i;
	json_t *v;

	join_names(table, ntable, list, sizeof(list));
	if (!json_is_array(arr))
		return sr_fail(err, SR_EINVAL,
			       "%s: %s: expected an array of %s names (%s), got %s",
			       what, path, kind, list, sr_policy_json_kind(arr));
	json_array_foreach(arr, i, v) {
		int k = lookup(v, table, ntable);

		if (k < 0 && !json_is_string(v))
			return sr_fail(err, SR_EINVAL,
				       "%s: %s[%zu]: expected a %s name (%s), got %s",
				       what, path, i, kind, list, sr_policy_json_kind(v));
		if (k < 0)
			return sr_fail(err, SR_EINVAL,
				       "%s: %s[%zu]: unknown %s '%s' (expected %s)",
				       what, path, i, kind,
				       sr_policy_shown(json_string_value(v),
					     json_string_length(v), s), list);
		if (bits & (1u << k))
			return sr_fail(err, SR_EINVAL,
				       "%s: %s[%zu]: duplicate %s '%s'",
				       what, path, i, kind, table[k]);
		bits |= 1u << k;
	}
	*out = bits;
	return SR_OK;
}

static int parse_type(const json_t *v, const char *what, const char *col,
		      enum sr_type *out, struct sr_err *err)
{
	const char *name = json_string_value(v);
	char s[SR_POLICY_SHOWN_SIZE];

	if (!name)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.type: expected a string (" TYPE_LIST "), got %s",
			       what, col, sr_policy_json_kind(v));
	if (strlen(name) == json_string_length(v) &&
	    sr_type_parse(name, out) == SR_OK)
		return SR_OK;
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.type: unknown type '%s' (expected " TYPE_LIST ")",
		       what, col, sr_policy_shown(name, json_string_length(v), s));
}

static int parse_bounds(const json_t *v, const char *what, const char *col,
			struct sr_policy_column *c, struct sr_err *err)
{
	char path[SR_POLICY_SHOWN_SIZE + 32], lo[SR_POLICY_NUM_SIZE], hi[SR_POLICY_NUM_SIZE];
	int rc;

	if (!json_is_array(v) || json_array_size(v) != 2)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.bounds: expected [lo, hi], got %s%s",
			       what, col, json_is_array(v) ? "an array of " : "",
			       json_is_array(v) ? (json_array_size(v) < 2 ?
				       "fewer than 2 values" : "more than 2 values") :
				       sr_policy_json_kind(v));
	snprintf(path, sizeof(path), "columns.%s.bounds[0]", col);
	rc = get_number(json_array_get(v, 0), what, path, &c->lo, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "columns.%s.bounds[1]", col);
	rc = get_number(json_array_get(v, 1), what, path, &c->hi, err);
	if (rc)
		return rc;
	if (c->lo > c->hi)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.bounds: lower bound %s is above upper bound %s",
			       what, col, sr_policy_num(c->lo, lo), sr_policy_num(c->hi, hi));
	c->has_bounds = 1;
	return SR_OK;
}

/* Domain values must be distinct: a set of their JSON encodings (which
 * escape NUL bytes, so any string can be a key). */
static int check_distinct(const json_t *arr, const char *what,
			  const char *col, struct sr_err *err)
{
	json_t *seen = json_object();
	struct sr_buf key;
	char got[SR_POLICY_VALUE_SIZE];
	size_t i;
	json_t *v;
	int rc = SR_OK;

	if (!seen)
		return sr_policy_nomem(err, what);
	sr_buf_init(&key, 0);
	json_array_foreach(arr, i, v) {
		sr_buf_reset(&key);
		if (sr_json_dump(v, 0, &key)) {
			rc = sr_policy_nomem(err, what);
			break;
		}
		if (json_object_get(seen, key.data)) {
			rc = sr_fail(err, SR_EINVAL,
				     "%s: columns.%s.domain[%zu]: duplicate value %s",
				     what, col, i, sr_policy_show_value(v, got));
			break;
		}
		if (json_object_set_new(seen, key.data, json_true())) {
			rc = sr_policy_nomem(err, what);
			break;
		}
	}
	json_decref(seen);
	sr_buf_release(&key);
	return rc;
}

static int parse_domain(json_t *v, const char *what, const char *col,
			struct sr_policy_column *c, struct sr_err *err)
{
	size_t i, n = json_array_size(v);
	json_t *d;
	int rc;

	if (!json_is_array(v))
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.domain: expected an array of values, got %s",
			       what, col, sr_policy_json_kind(v));
	if (n == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.domain: expected 1 to %d values, got none",
			       what, col, SR_POLICY_DOMAIN_MAX);
	if (n > SR_POLICY_DOMAIN_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: columns.%s.domain: %zu values, more than the limit of %d",
			       what, col, n, SR_POLICY_DOMAIN_MAX);
	json_array_foreach(v, i, d) {
		if (!json_is_string(d) && !json_is_integer(d) &&
		    !json_is_boolean(d))
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.domain[%zu]: expected a string, integer or boolean, got %s",
				       what, col, i, sr_policy_json_kind(d));
	}
	rc = check_distinct(v, what, col, err);
	if (rc)
		return rc;
	c->domain = json_incref(v);
	return SR_OK;
}

static int parse_mask(const json_t *v, const char *what, const char *col,
		      struct sr_policy_column *c, struct sr_err *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char got[SR_POLICY_SHOWN_SIZE];
	int64_t n;
	double w;

	if (!s)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.mask: expected a string (" MASK_LIST "), got %s",
			       what, col, sr_policy_json_kind(v));
	sr_policy_shown(s, len, got);
	if (len == 4 && memcmp(s, "hash", 4) == 0) {
		c->mask = SR_MASK_HASH;
		return SR_OK;
	}
	if (len >= 9 && memcmp(s, "truncate:", 9) == 0) {
		if (len == 9 || !isdigit((unsigned char)s[9]) ||
		    sr_value_parse_int64(s + 9, len - 9, &n) != SR_OK ||
		    n < 1 || n > TRUNCATE_MAX)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.mask: truncate:N needs a whole number N from 1 to %d, got '%s'",
				       what, col, TRUNCATE_MAX, got);
		c->mask = SR_MASK_TRUNCATE;
		c->mask_param = (double)n;
		return SR_OK;
	}
	if (len >= 6 && memcmp(s, "range:", 6) == 0) {
		if (sr_value_parse_float64(s + 6, len - 6, &w) != SR_OK ||
		    !(w > 0))
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.mask: range:W needs a positive number W, got '%s'",
				       what, col, got);
		c->mask = SR_MASK_RANGE;
		c->mask_param = w;
		return SR_OK;
	}
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.mask: unknown mask '%s' (expected " MASK_LIST ")",
		       what, col, got);
}

int sr_policy_null_token_check(const char *what, const char *path,
			       const char *s, size_t len, struct sr_err *err)
{
	char shown[SR_POLICY_SHOWN_SIZE];
	const char *sep = *path ? ": " : "";

	if (len == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s%s%s: a null token cannot be empty (the empty unquoted field is always NULL)",
			       what, sep, path);
	if (len > SR_NULL_TOKEN_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s%s%s: null token '%s' is longer than the limit of %d bytes",
			       what, sep, path, sr_policy_shown(s, len, shown),
			       SR_NULL_TOKEN_MAX);
	if (memchr(s, '\0', len) || memchr(s, '\n', len) || memchr(s, '\r', len) ||
	    !sr_utf8_valid(s, len))
		return sr_fail(err, SR_EINVAL,
			       "%s%s%s: null token '%s' cannot hold a line end, a NUL byte or invalid UTF-8",
			       what, sep, path, sr_policy_shown(s, len, shown));
	return SR_OK;
}

/* Append token to a list unless it is there; SR_ELIMIT past the limit. */
static int add_token(char ***list, size_t *n, const char *what,
		     const char *path, const char *s, size_t len,
		     struct sr_err *err)
{
	char **grown;
	const char *sep = *path ? ": " : "";

	for (size_t i = 0; i < *n; i++)
		if (strlen((*list)[i]) == len && memcmp((*list)[i], s, len) == 0)
			return SR_OK;
	if (*n == SR_NULL_TOKENS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s%s%s: more null tokens than the limit of %d",
			       what, sep, path, SR_NULL_TOKENS_MAX);
	grown = sr_realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown)
		return sr_policy_nomem(err, what);
	*list = grown;
	grown[*n] = sr_strndup(s, len);
	if (!grown[*n])
		return sr_policy_nomem(err, what);
	(*n)++;
	return SR_OK;
}

/* "nulls": an array of distinct tokens. */
static int parse_nulls(const json_t *arr, const char *what, const char *path,
		       char ***list, size_t *n, struct sr_err *err)
{
	char item[SR_POLICY_SHOWN_SIZE + 48];
	size_t i;
	json_t *v;
	int rc;

	if (!json_is_array(arr))
		return sr_fail(err, SR_EINVAL,
			       "%s: %s: expected an array of null tokens such as [\"NA\", \"NULL\"], got %s",
			       what, path, sr_policy_json_kind(arr));
	if (json_array_size(arr) > SR_NULL_TOKENS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: %s: %zu null tokens, more than the limit of %d",
			       what, path, json_array_size(arr), SR_NULL_TOKENS_MAX);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		if (!s)
			return sr_fail(err, SR_EINVAL,
				       "%s: %s: expected a string, got %s", what,
				       item, sr_policy_json_kind(v));
		rc = sr_policy_null_token_check(what, item, s, len, err);
		if (rc)
			return rc;
		for (size_t k = 0; k < *n; k++)
			if (strlen((*list)[k]) == len &&
			    memcmp((*list)[k], s, len) == 0)
				return sr_fail(err, SR_EINVAL,
					       "%s: %s: duplicate null token (also %s[%zu])",
					       what, item, path, k);
		rc = add_token(list, n, what, path, s, len, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

int sr_policy_add_nulls(struct sr_policy *pol, const char *what,
			const char *const *tokens, size_t count,
			struct sr_err *err)
{
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(tokens[i]);
		int rc = sr_policy_null_token_check(what, "", tokens[i], len, err);

		if (rc == SR_OK)
			rc = add_token(&pol->nulls, &pol->nnulls, what, "",
				       tokens[i], len, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

void sr_policy_column_nulls(const struct sr_policy *pol, const char *name,
			    char *const **tokens, size_t *count)
{
	const struct sr_policy_column *c = sr_policy_column(pol, name);

	if (c && c->has_nulls) {
		*tokens = c->nulls;
		*count = c->nnulls;
		return;
	}
	*tokens = pol->nulls;
	*count = pol->nnulls;
}

static int parse_column(const char *what, const char *name, json_t *obj,
			struct sr_policy_column *c, struct sr_err *err)
{
	static const char *const keys[] = { "class", "allow", "type", "bounds",
					    "domain", "mask", "nulls", "generalize",
					    "hash_scope", "join_reveals_group_counts", NULL };
	char col[SR_POLICY_SHOWN_SIZE], path[SR_POLICY_SHOWN_SIZE + 32];
	json_t *v;
	int rc;

	sr_policy_shown(name, strlen(name), col);
	snprintf(path, sizeof(path), "columns.%s", col);
	if (!json_is_object(obj))
		return sr_fail(err, SR_EINVAL,
			       "%s: %s: expected an object with a class, got %s",
			       what, path, sr_policy_json_kind(obj));
	rc = check_keys(obj, what, path, keys, err);
	if (rc)
		return rc;
	c->name = sr_strdup(name);
	if (!c->name)
		return sr_policy_nomem(err, what);
	rc = parse_class(json_object_get(obj, "class"), what, col, &c->cls, err);
	if (rc)
		return rc;
	c->allow = sr_class_default_allow(c->cls);
	if ((v = json_object_get(obj, "allow")) != NULL) {
		snprintf(path, sizeof(path), "columns.%s.allow", col);
		rc = parse_name_set(v, what, path, usage_names, NUSAGES, "usage",
				    &c->allow, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "type")) != NULL) {
		rc = parse_type(v, what, col, &c->type, err);
		if (rc)
			return rc;
		c->has_type = 1;
	}
	if ((v = json_object_get(obj, "bounds")) != NULL) {
		rc = parse_bounds(v, what, col, c, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "domain")) != NULL) {
		rc = parse_domain(v, what, col, c, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "nulls")) != NULL) {
		snprintf(path, sizeof(path), "columns.%s.nulls", col);
		rc = parse_nulls(v, what, path, &c->nulls, &c->nnulls, err);
		if (rc)
			return rc;
		c->has_nulls = 1;
	}
	if ((v = json_object_get(obj, "generalize")) != NULL) {
		rc = sr_policy_parse_generalize(v, what, col, c, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "mask")) != NULL) {
		rc = parse_mask(v, what, col, c, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "join_reveals_group_counts")) != NULL) {
		if (!json_is_boolean(v))
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.join_reveals_group_counts: expected true or false, got %s",
				       what, col, sr_policy_json_kind(v));
		c->join_reveals_group_counts = json_is_true(v);
	}
	if ((v = json_object_get(obj, "hash_scope")) != NULL)
		return sr_policy_parse_hash_scope(v, what, col, c, err);
	return SR_OK;
}

static int parse_columns(const json_t *cols, const char *what,
			 struct sr_policy *pol, struct sr_err *err)
{
	const char *name;
	size_t n = json_object_size(cols);
	char s[SR_POLICY_SHOWN_SIZE];
	json_t *v;
	int rc;

	if (!cols)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns: required key is missing (expected an object with an entry per dataset column)",
			       what);
	if (!json_is_object(cols))
		return sr_fail(err, SR_EINVAL,
			       "%s: columns: expected an object with an entry per dataset column, got %s",
			       what, sr_policy_json_kind(cols));
	if (n > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: columns: %zu columns, more than the limit of %d",
			       what, n, SR_DATASET_COLUMNS_MAX);
	pol->columns = sr_calloc(n ? n : 1, sizeof(*pol->columns));
	if (!pol->columns)
		return sr_policy_nomem(err, what);
	json_object_foreach((json_t *)cols, name, v) {
		size_t len = strlen(name);
		if (len == 0)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns: a column name is empty",
				       what);
		if (len > SR_COLUMN_NAME_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: columns.%s: column name longer than the limit of %d bytes",
				       what, sr_policy_shown(name, len, s), SR_COLUMN_NAME_MAX);
		/* Counted first so that release frees a half-parsed column. */
		rc = parse_column(what, name, v, &pol->columns[pol->ncolumns++],
				  err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int parse_dp(const json_t *dp, const char *what,
		    struct sr_policy_dp *out, struct sr_err *err)
{
	static const char *const keys[] = { "epsilon_total",
		"epsilon_max_per_job", "delta", NULL };
	char a[SR_POLICY_NUM_SIZE], b[SR_POLICY_NUM_SIZE];
	json_t *v;
	int rc;

	if (!json_is_object(dp))
		return sr_fail(err, SR_EINVAL,
			       "%s: dp: expected an object with epsilon_total, epsilon_max_per_job and delta, got %s",
			       what, sr_policy_json_kind(dp));
	rc = check_keys(dp, what, "dp", keys, err);
	if (rc)
		return rc;
	v = json_object_get(dp, "epsilon_total");
	if (!v)
		return sr_fail(err, SR_EINVAL,
			       "%s: dp.epsilon_total: required key is missing (expected a number above 0)",
			       what);
	rc = get_number(v, what, "dp.epsilon_total", &out->epsilon_total, err);
	if (rc)
		return rc;
	if (!(out->epsilon_total > 0))
		return sr_fail(err, SR_EINVAL,
			       "%s: dp.epsilon_total: must be above 0, got %s",
			       what, sr_policy_num(out->epsilon_total, a));
	out->epsilon_max_per_job = out->epsilon_total;
	if ((v = json_object_get(dp, "epsilon_max_per_job")) != NULL) {
		rc = get_number(v, what, "dp.epsilon_max_per_job",
				&out->epsilon_max_per_job, err);
		if (rc)
			return rc;
		if (!(out->epsilon_max_per_job > 0))
			return sr_fail(err, SR_EINVAL,
				       "%s: dp.epsilon_max_per_job: must be above 0, got %s",
				       what, sr_policy_num(out->epsilon_max_per_job, a));
		if (out->epsilon_max_per_job > out->epsilon_total)
			return sr_fail(err, SR_EINVAL,
				       "%s: dp.epsilon_max_per_job: %s is above epsilon_total %s",
				       what, sr_policy_num(out->epsilon_max_per_job, a),
				       sr_policy_num(out->epsilon_total, b));
	}
	out->delta = 0;
	if ((v = json_object_get(dp, "delta")) != NULL) {
		rc = get_number(v, what, "dp.delta", &out->delta, err);
		if (rc)
			return rc;
		if (!(out->delta >= 0 && out->delta < 1))
			return sr_fail(err, SR_EINVAL,
				       "%s: dp.delta: must be in [0, 1), got %s",
				       what, sr_policy_num(out->delta, a));
	}
	out->enabled = 1;
	return SR_OK;
}

static int is_org_id(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) != 36 || memcmp(s, "org_", 4) != 0)
		return 0;
	for (size_t i = 4; i < 36; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int parse_receivers(const json_t *arr, const char *what,
			   struct sr_policy *pol, struct sr_err *err)
{
	size_t i, n = json_array_size(arr);
	char got[SR_POLICY_VALUE_SIZE];
	json_t *v;

	if (!json_is_array(arr))
		return sr_fail(err, SR_EINVAL,
			       "%s: receivers: expected an array of organization ids (" ORG_ID_TEXT "), got %s",
			       what, sr_policy_json_kind(arr));
	if (n > SR_POLICY_LIST_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: receivers: %zu organization ids, more than the limit of %d",
			       what, n, SR_POLICY_LIST_MAX);
	pol->receivers = sr_calloc(n ? n : 1, sizeof(char *));
	if (!pol->receivers)
		return sr_policy_nomem(err, what);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!is_org_id(v))
			return sr_fail(err, SR_EINVAL,
				       "%s: receivers[%zu]: expected an organization id (" ORG_ID_TEXT "), got %s",
				       what, i, sr_policy_show_value(v, got));
		for (size_t k = 0; k < pol->nreceivers; k++)
			if (strcmp(pol->receivers[k], s) == 0)
				return sr_fail(err, SR_EINVAL,
					       "%s: receivers[%zu]: duplicate organization id %s (also receivers[%zu])",
					       what, i, s, k);
		pol->receivers[i] = sr_strdup(s);
		if (!pol->receivers[i])
			return sr_policy_nomem(err, what);
		pol->nreceivers++;
	}
	return SR_OK;
}

static int parse_row_filter(const json_t *v, const char *what,
			    struct sr_policy *pol, struct sr_err *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s)
		return sr_fail(err, SR_EINVAL,
			       "%s: row_filter: expected a string (a predicate such as \"age >= 18\"), got %s",
			       what, sr_policy_json_kind(v));
	if (len == 0)
		return sr_fail(err, SR_EINVAL,
			       "%s: row_filter: expected a predicate, got an empty string",
			       what);
	if (len > SR_POLICY_ROW_FILTER_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: row_filter: %zu bytes, more than the limit of %d",
			       what, len, SR_POLICY_ROW_FILTER_MAX);
	if (strlen(s) != len)
		return sr_fail(err, SR_EINVAL,
			       "%s: row_filter: expected a predicate, got a string with a NUL byte",
			       what);
	pol->row_filter = sr_strdup(s);
	if (!pol->row_filter)
		return sr_policy_nomem(err, what);
	return SR_OK;
}

static int parse_expires(const json_t *v, const char *what, int64_t *out,
			 struct sr_err *err)
{
	char got[SR_POLICY_VALUE_SIZE];
	int32_t days;

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (int64_t)json_integer_value(v);
		return SR_OK;
	}
	/* Dates are whole days since the epoch, so a date is midnight UTC. */
	if (json_is_string(v) &&
	    sr_value_parse_date(json_string_value(v), json_string_length(v),
				&days) == SR_OK && days > 0) {
		*out = (int64_t)days * 86400;
		return SR_OK;
	}
	return sr_fail(err, SR_EINVAL,
		       "%s: expires: expected a date \"YYYY-MM-DD\" after 1970-01-01 or unix seconds above 0, got %s",
		       what, sr_policy_show_value(v, got));
}

static int parse_doc(const json_t *doc, const char *what,
		     struct sr_policy *pol, struct sr_err *err)
{
	static const char *const keys[] = { "version", "columns",
		"min_group_size", "dp", "receivers", "jobs", "row_filter",
		"expires", "nulls", "ids_partitioned", "tee", NULL };
	char got[SR_POLICY_VALUE_SIZE];
	json_t *v;
	int rc;

	if (!json_is_object(doc))
		return sr_fail(err, SR_EINVAL,
			       "%s: expected a JSON object with \"columns\", got %s",
			       what, sr_policy_json_kind(doc));
	/* Written by 'sealroom policy init': a draft until a person has
	 * looked at it. */
	if (json_object_get(doc, "_review"))
		return sr_fail(err, SR_EINVAL,
			       "%s: _review: this policy is a draft written by 'sealroom policy init': check every column's class, bounds and domain, then delete the _review key",
			       what);
	rc = check_keys(doc, what, "", keys, err);
	if (rc)
		return rc;
	if ((v = json_object_get(doc, "nulls")) != NULL) {
		rc = parse_nulls(v, what, "nulls", &pol->nulls, &pol->nnulls, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "version")) != NULL &&
	    !(json_is_integer(v) && json_integer_value(v) == 1))
		return sr_fail(err, SR_EINVAL,
			       "%s: version: expected 1 (the only version), got %s",
			       what, sr_policy_show_value(v, got));
	rc = parse_columns(json_object_get(doc, "columns"), what, pol, err);
	if (rc)
		return rc;
	if ((v = json_object_get(doc, "min_group_size")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return sr_fail(err, SR_EINVAL,
				       "%s: min_group_size: expected an integer of at least 1, got %s",
				       what, sr_policy_show_value(v, got));
		pol->min_group_size = (int64_t)json_integer_value(v);
	}
	if ((v = json_object_get(doc, "ids_partitioned")) != NULL) {
		if (!json_is_boolean(v))
			return sr_fail(err, SR_EINVAL,
				       "%s: ids_partitioned: expected true or false, got %s",
				       what, sr_policy_show_value(v, got));
		pol->ids_partitioned = json_is_true(v);
	}
	if ((v = json_object_get(doc, "dp")) != NULL) {
		rc = parse_dp(v, what, &pol->dp, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "tee")) != NULL) {
		rc = sr_policy_parse_tee(v, what, &pol->tee, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "receivers")) != NULL) {
		rc = parse_receivers(v, what, pol, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "jobs")) != NULL) {
		rc = parse_name_set(v, what, "jobs", job_names, NJOBS, "job kind",
				    &pol->jobs, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "row_filter")) != NULL) {
		rc = parse_row_filter(v, what, pol, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "expires")) != NULL)
		return parse_expires(v, what, &pol->expires, err);
	return SR_OK;
}

int sr_policy_parse(const char *text, size_t len, const char *what,
		    struct sr_policy *pol, struct sr_err *err)
{
	json_t *doc = NULL;
	int rc;

	sr_policy_release(pol);
	if (len > SR_POLICY_BYTES_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "%s: %zu bytes, more than the limit of %u for a policy",
			       what, len, SR_POLICY_BYTES_MAX);
	rc = sr_json_parse(text, len, what, &doc, err);
	if (rc == SR_OK)
		rc = parse_doc(doc, what, pol, err);
	json_decref(doc);
	if (rc)
		sr_policy_release(pol);
	return rc;
}
