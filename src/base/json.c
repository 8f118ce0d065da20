#include "base/json.h"

#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

size_t sr_json_depth(const json_t *value)
{
	size_t deepest = 0, d;
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, child) {
			d = sr_json_depth(child);
			if (d > deepest)
				deepest = d;
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, i, child) {
			d = sr_json_depth(child);
			if (d > deepest)
				deepest = d;
		}
	}
	return deepest + 1;
}

int sr_json_parse(const char *text, size_t len, const char *what,
		  json_t **out, struct sr_err *err)
{
	unsigned long failures = sr_alloc_thread_failures();
	json_error_t jerr;
	json_t *value;

	/* jansson may return early under allocation failure without setting
	 * jerr; start from a known state. */
	memset(&jerr, 0, sizeof(jerr));
	*out = NULL;
	value = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			   &jerr);
	/* jansson reports some allocation failures as syntax errors and may
	 * even return a document with truncated strings: any failed
	 * allocation during the parse means out of memory. */
	if (sr_alloc_thread_failures() != failures) {
		json_decref(value);
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", what);
	}
	if (!value) {
		/* Under allocation failure jansson may return before it
		 * records any error: an empty message means out of memory. */
		if (jerr.text[0] == '\0' || strstr(jerr.text, "out of memory") ||
		    json_error_code(&jerr) == json_error_out_of_memory)
			return sr_fail(err, SR_ENOMEM, "%s: out of memory", what);
		return sr_fail(err, SR_EINVAL, "%s: line %d column %d: %s", what,
			       jerr.line, jerr.column, jerr.text);
	}
	if (sr_json_depth(value) > SR_JSON_DEPTH_MAX) {
		json_decref(value);
		return sr_fail(err, SR_ELIMIT,
			       "%s: nesting deeper than the limit of %d", what,
			       SR_JSON_DEPTH_MAX);
	}
	*out = value;
	return SR_OK;
}

int sr_json_check_keys(const json_t *obj, const char *path,
		       const char *const *allowed, struct sr_err *err)
{
	const char *key;
	json_t *child;

	json_object_foreach((json_t *)obj, key, child) {
		int known = 0;
		(void)child;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				known = 1;
		if (!known)
			return sr_fail(err, SR_EINVAL, "%s%s%s: unknown key",
				       path, *path ? "." : "", key);
	}
	return SR_OK;
}

static int get_field(const json_t *obj, const char *path, const char *key,
		     int required, json_t **out, struct sr_err *err)
{
	*out = json_object_get(obj, key);
	if (!*out && required)
		return sr_fail(err, SR_EINVAL, "%s%s%s: required key is missing",
			       path, *path ? "." : "", key);
	return SR_OK;
}

int sr_json_get_string(const json_t *obj, const char *path, const char *key,
		       int required, const char **out, struct sr_err *err)
{
	json_t *v;
	int rc = get_field(obj, path, key, required, &v, err);

	if (rc || !v)
		return rc;
	if (!json_is_string(v))
		return sr_fail(err, SR_EINVAL, "%s%s%s: expected a string",
			       path, *path ? "." : "", key);
	*out = json_string_value(v);
	return SR_OK;
}

int sr_json_get_int(const json_t *obj, const char *path, const char *key,
		    int required, int64_t *out, struct sr_err *err)
{
	json_t *v;
	int rc = get_field(obj, path, key, required, &v, err);

	if (rc || !v)
		return rc;
	if (!json_is_integer(v))
		return sr_fail(err, SR_EINVAL, "%s%s%s: expected an integer",
			       path, *path ? "." : "", key);
	*out = (int64_t)json_integer_value(v);
	return SR_OK;
}

int sr_json_get_bool(const json_t *obj, const char *path, const char *key,
		     int required, int *out, struct sr_err *err)
{
	json_t *v;
	int rc = get_field(obj, path, key, required, &v, err);

	if (rc || !v)
		return rc;
	if (!json_is_boolean(v))
		return sr_fail(err, SR_EINVAL, "%s%s%s: expected true or false",
			       path, *path ? "." : "", key);
	*out = json_is_true(v);
	return SR_OK;
}

static int has_real(const json_t *value)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_real(value))
		return 1;
	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, child)
			if (has_real(child))
				return 1;
	} else if (json_is_array(value)) {
		json_array_foreach(value, i, child)
			if (has_real(child))
				return 1;
	}
	return 0;
}

/* jansson ignores a failing callback when it writes object keys, so a
 * failure must be remembered here and checked after the dump: otherwise an
 * out-of-memory could yield wrong bytes with success (and so a signature
 * over the wrong canonical form). */
struct dump_ctx {
	struct sr_buf *out;
	int failed;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct dump_ctx *ctx = data;

	if (ctx->failed)
		return -1;
	if (sr_buf_add(ctx->out, buffer, size) != SR_OK) {
		ctx->failed = 1;
		return -1;
	}
	return 0;
}

int sr_json_dump(const json_t *value, int pretty, struct sr_buf *out)
{
	size_t flags = JSON_SORT_KEYS | JSON_ENCODE_ANY;
	struct dump_ctx ctx = { out, 0 };
	size_t start = out->len;

	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	if (json_dump_callback(value, dump_cb, &ctx, flags) != 0 || ctx.failed) {
		if (out->cap)
			sr_buf_setlen(out, start);
		return SR_ENOMEM;
	}
	return SR_OK;
}

int sr_json_canonical(const json_t *value, struct sr_buf *out,
		      struct sr_err *err)
{
	int rc;

	if (has_real(value))
		return sr_fail(err, SR_EINVAL,
			       "canonical json: real numbers are not allowed; use integers or strings");
	rc = sr_json_dump(value, 0, out);
	if (rc)
		return sr_fail(err, rc, "canonical json: %s", sr_strerror(rc));
	return SR_OK;
}
