#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
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

/*
 * The compact form, written here rather than by json_dump_callback: a
 * result of half a million rows made ~10 million callbacks, 0.35 s of a
 * governed PSI job.  The bytes are exactly jansson's with JSON_COMPACT |
 * JSON_SORT_KEYS | JSON_ENCODE_ANY (tests/unit/test_base.c compares the two
 * on random documents): signatures and output hashes made before this
 * writer still verify.  Like jansson it refuses a string that is not valid
 * UTF-8 (one made by json_stringn_nocheck); reals are jansson's own text.
 */
struct writer {
	struct sr_buf *out;
	int failed;
};

static void w_add(struct writer *w, const void *data, size_t len)
{
	if (!w->failed && sr_buf_add(w->out, data, len) != SR_OK)
		w->failed = 1;
}

/* Length of the UTF-8 sequence at s (at most len bytes) as jansson's
 * utf8_check_full accepts it, 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0;   /* continuation, overlong 2-byte, or past U+10FFFF */
	n = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (n > len)
		return 0;
	cp = s[0] & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
	    (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

static void w_string(struct writer *w, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;

	w_add(w, "\"", 1);
	while (i < len && !w->failed) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char seq[8];
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\') {
			if (c < 0x80)
				n = 1;
			else if (!(n = utf8_seq(s + i, len - i))) {
				w->failed = 1;
				break;
			}
			i += n;
			continue;
		}
		w_add(w, s + run, i - run);
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)c);
			esc = seq;
		}
		w_add(w, esc, strlen(esc));
		run = ++i;
	}
	w_add(w, s + run, i - run);
	w_add(w, "\"", 1);
}

struct key_len {
	const char *key;
	size_t len;
};

static int cmp_key_len(const void *a, const void *b)
{
	const struct key_len *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void w_value(struct writer *w, const json_t *v, size_t depth)
{
	char num[64];
	int n;

	if (w->failed)
		return;
	if (depth > SR_JSON_DUMP_DEPTH_MAX) {
		w->failed = 1;   /* a cycle, or deeper than anything we parse */
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t size = json_object_size(v), i = 0;
		struct key_len *keys;
		void *it;

		if (size == 0) {
			w_add(w, "{}", 2);
			return;
		}
		if (!(keys = sr_calloc(size, sizeof(*keys)))) {
			w->failed = 1;
			return;
		}
		for (it = json_object_iter((json_t *)v); it && i < size;
		     it = json_object_iter_next((json_t *)v, it), i++) {
			keys[i].key = json_object_iter_key(it);
			keys[i].len = json_object_iter_key_len(it);
		}
		qsort(keys, i, sizeof(*keys), cmp_key_len);
		w_add(w, "{", 1);
		for (size_t k = 0; k < i && !w->failed; k++) {
			if (k)
				w_add(w, ",", 1);
			w_string(w, keys[k].key, keys[k].len);
			w_add(w, ":", 1);
			w_value(w, json_object_getn(v, keys[k].key, keys[k].len), depth + 1);
		}
		w_add(w, "}", 1);
		sr_free(keys);
		return;
	}
	case JSON_ARRAY: {
		size_t size = json_array_size(v);

		w_add(w, "[", 1);
		for (size_t k = 0; k < size && !w->failed; k++) {
			if (k)
				w_add(w, ",", 1);
			w_value(w, json_array_get(v, k), depth + 1);
		}
		w_add(w, "]", 1);
		return;
	}
	case JSON_STRING:
		w_string(w, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		w_add(w, num, (size_t)n);
		return;
	case JSON_REAL: {
		size_t len = json_dumpb(v, num, sizeof(num), JSON_ENCODE_ANY | JSON_COMPACT);
		if (len == 0 || len > sizeof(num))
			w->failed = 1;
		else
			w_add(w, num, len);
		return;
	}
	case JSON_TRUE: w_add(w, "true", 4); return;
	case JSON_FALSE: w_add(w, "false", 5); return;
	case JSON_NULL: w_add(w, "null", 4); return;
	}
	w->failed = 1;
}

int sr_json_dump(const json_t *value, int pretty, struct sr_buf *out)
{
	size_t start = out->len;
	int failed;

	if (pretty) {
		struct dump_ctx ctx = { out, 0 };
		failed = json_dump_callback(value, dump_cb, &ctx, JSON_SORT_KEYS |
					    JSON_ENCODE_ANY | JSON_INDENT(2)) != 0 || ctx.failed;
	} else {
		struct writer w = { out, 0 };
		if (value)
			w_value(&w, value, 0);
		failed = !value || w.failed;
	}
	if (failed) {
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
