/*
 * format.c - the small format checks the ledger's files share (org ids,
 * lowercase hex, names, dataset names, project ids) and the generic checks
 * on any JSON value of an event: no reals, no NUL characters, valid UTF-8,
 * bounded nesting.
 */
#include "ledger/ledger_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "store/value.h"
#include "base/banned.h"

int sr_ledger_is_hex(const char *s, size_t nchars)
{
	size_t i;

	for (i = 0; i < nchars; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

int sr_ledger_is_org_id(const char *s)
{
	return strncmp(s, "org_", 4) == 0 &&
	       sr_ledger_is_hex(s + 4, SR_ORG_ID_LEN - 4);
}

static int name_span_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int sr_ledger_is_name(const char *s, size_t max)
{
	return name_span_ok(s, strlen(s), max);
}

int sr_ledger_is_project_id(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SR_PROJECT_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int sr_ledger_split_dataset(const char *full, size_t *org_len)
{
	const char *dot = strchr(full, '.');

	if (!dot)
		return 0;
	*org_len = (size_t)(dot - full);
	return name_span_ok(full, *org_len, SR_ORG_NAME_MAX) &&
	       sr_ledger_is_name(dot + 1, SR_DATASET_NAME_MAX);
}

void sr_ledger_short_id(char out[SR_LEDGER_SHORT_HEX + 1],
			const uint8_t id[SR_EVENT_ID_BYTES])
{
	sr_hex(out, id, SR_LEDGER_SHORT_HEX / 2);
}

void sr_ledger_subpath(char out[SR_LEDGER_PATH_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, SR_LEDGER_PATH_MAX, fmt, ap);
	va_end(ap);
}

static int check_string(const char *s, size_t len, const char *path,
			struct sr_err *err)
{
	if (strlen(s) != len)
		return sr_fail(err, SR_EINVAL, "%s: NUL characters are not allowed",
			       path);
	if (!sr_utf8_valid(s, len))
		return sr_fail(err, SR_EINVAL, "%s: not valid UTF-8", path);
	return SR_OK;
}

static int check_json(const json_t *value, const char *path, size_t depth,
		      size_t max_depth, struct sr_err *err)
{
	char sub[SR_LEDGER_PATH_MAX];
	const char *key;
	size_t key_len, i;
	json_t *child;
	int rc;

	if (depth > max_depth)
		return sr_fail(err, SR_ELIMIT,
			       "%s: nesting deeper than the limit of %zu",
			       path, max_depth);
	switch (json_typeof(value)) {
	case JSON_REAL:
		return sr_fail(err, SR_EINVAL,
			       "%s: real numbers are not allowed in events; use an integer or a decimal string",
			       path);
	case JSON_STRING:
		return check_string(json_string_value(value),
				    json_string_length(value), path, err);
	case JSON_OBJECT:
		json_object_keylen_foreach((json_t *)value, key, key_len, child) {
			sr_ledger_subpath(sub, "%s.%s", path, key);
			rc = check_string(key, key_len, sub, err);
			if (rc == SR_OK)
				rc = check_json(child, sub, depth + 1, max_depth, err);
			if (rc)
				return rc;
		}
		return SR_OK;
	case JSON_ARRAY:
		json_array_foreach(value, i, child) {
			sr_ledger_subpath(sub, "%s[%zu]", path, i);
			rc = check_json(child, sub, depth + 1, max_depth, err);
			if (rc)
				return rc;
		}
		return SR_OK;
	default:
		return SR_OK;
	}
}

int sr_ledger_check_json(const json_t *value, const char *path,
			 size_t max_depth, struct sr_err *err)
{
	return check_json(value, path, 1, max_depth, err);
}
