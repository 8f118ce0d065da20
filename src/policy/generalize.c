/*
 * generalize.c - the column keys of anonymized releases and masks: the
 * per-column "hash_scope" of a hash mask (kinds/mask.h) and the
 * per-column "generalize" key of a policy (DESIGN §18,
 * docs/policy.md): the generalization hierarchy of a quasi-identifier,
 * in one of the forms of src/anon/hier.h.  Parsing checks the shape and
 * the class (qi only); binding checks the form against the column's type
 * and that its levels nest (sr_anon_hier_parse); import checks every
 * value against it (sr_policy_hierarchy + sr_anon_hier_check).
 *
 * The policy keeps the description as JSON, normalized for the manifest's
 * canonical JSON: a number that is not whole is kept as its shortest
 * decimal string, which the hierarchy parser reads back.
 */
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <stdio.h>
#include <string.h>

#include "anon/hier.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "store/csv.h"
#include "base/banned.h"

/* A copy of v with every real number as an integer when whole, else its
 * shortest decimal string.  NULL on allocation failure. */
static json_t *normalized_copy(const json_t *v)
{
	const char *key;
	json_t *out, *item;
	size_t i;

	if (json_is_real(v))
		return sr_policy_number_json(json_real_value(v));
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item)
			if (!out || json_array_append_new(out, normalized_copy(item))) {
				json_decref(out);
				return NULL;
			}
		return out;
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, key, item)
			if (!out || json_object_set_new(out, key, normalized_copy(item))) {
				json_decref(out);
				return NULL;
			}
		return out;
	}
	return json_deep_copy(v);
}

int sr_policy_parse_generalize(const json_t *v, const char *what,
			       const char *col, struct sr_policy_column *c,
			       struct sr_err *err)
{
	if (c->cls != SR_CLASS_QI)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.generalize: only qi columns are generalized, '%s' is %s",
			       what, col, col, sr_class_name(c->cls));
	if (!json_is_object(v))
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.generalize: expected an object (intervals, cuts, date, prefix or hierarchy), got %s",
			       what, col, sr_policy_json_kind(v));
	json_decref(c->generalize);
	c->generalize = normalized_copy(v);
	if (!c->generalize)
		return sr_policy_nomem(err, what);
	return SR_OK;
}

/* "NAME: generalize: REST" from the hierarchy parser becomes
 * "policy: columns.NAME.generalize: REST", the policy's place style. */
static int hier_error(const struct sr_policy_column *c, int rc,
		      struct sr_err *err)
{
	char col[SR_POLICY_SHOWN_SIZE], rest[sizeof(err->msg)];
	const char *tail = strstr(err->msg, ": generalize");

	sr_policy_shown(c->name, strlen(c->name), col);
	tail = tail ? tail + strlen(": generalize") : "";
	if (*tail == ':')
		tail++;
	while (*tail == ' ')
		tail++;
	snprintf(rest, sizeof(rest), "%s", tail);
	return sr_failx(err, rc, "policy: columns.%s.generalize: %s", col, rest);
}

int sr_policy_hierarchy(const struct sr_policy_column *c, enum sr_type type,
			struct sr_anon_hier **out, struct sr_err *err)
{
	int rc;

	*out = NULL;
	if (!c->generalize)
		return SR_OK;
	rc = sr_anon_hier_parse(c->generalize, c->name, type, out, err);
	return rc ? hier_error(c, rc, err) : SR_OK;
}

int sr_policy_check_generalize(const struct sr_policy_column *c,
			       enum sr_type type, struct sr_err *err)
{
	struct sr_anon_hier *h = NULL;
	int rc = sr_policy_hierarchy(c, type, &h, err);

	sr_anon_hier_free(h);
	return rc;
}

json_t *sr_policy_generalize_json(const struct sr_policy_column *c)
{
	return normalized_copy(c->generalize);
}

/*
 * A hierarchy CSV: a header line naming the levels, then one line per
 * value: the value, then its label at each level (the top "*" may be
 * left out).  Becomes {"hierarchy": {value: [labels]}}.
 */
int sr_policy_set_hierarchy_csv(struct sr_policy *pol, const char *column,
				const char *text, size_t len, const char *what,
				struct sr_err *err)
{
	struct sr_policy_column *c = NULL;
	struct sr_csv *csv = NULL;
	char col[SR_POLICY_SHOWN_SIZE];
	json_t *map = NULL, *desc = NULL;
	size_t entries = 0;
	int rc, eof = 0;

	sr_policy_shown(column, strlen(column), col);
	for (size_t i = 0; i < pol->ncolumns; i++)
		if (strcmp(pol->columns[i].name, column) == 0)
			c = &pol->columns[i];
	if (!c)
		return sr_fail(err, SR_EINVAL,
			       "%s: column '%s' is not in the policy", what, col);
	if (c->generalize)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.generalize: the policy already has one; give the hierarchy once",
			       what, col);
	rc = sr_csv_open_mem(text, len, what, &csv, err);
	if (rc)
		return rc;
	if (sr_csv_columns(csv) < 2 || sr_csv_columns(csv) > SR_ANON_HIER_LEVELS_MAX) {
		rc = sr_fail(err, SR_EINVAL,
			     "%s: expected the value and 1 to %d levels per line, the header has %zu fields",
			     what, SR_ANON_HIER_LEVELS_MAX - 1, sr_csv_columns(csv));
		goto out;
	}
	map = json_object();
	if (!map) {
		rc = sr_policy_nomem(err, what);
		goto out;
	}
	while (rc == SR_OK) {
		const struct sr_csv_field *f;
		char value[SR_ANON_LABEL_MAX + 1];
		json_t *labels;

		rc = sr_csv_next(csv, &f, &eof, err);
		if (rc || eof)
			break;
		if (f[0].len > SR_ANON_LABEL_MAX || ++entries > SR_ANON_HIER_ENTRIES_MAX) {
			rc = sr_fail(err, SR_ELIMIT,
				     "%s: line %llu: more than %d values or a value over %d bytes",
				     what, (unsigned long long)sr_csv_line(csv),
				     SR_ANON_HIER_ENTRIES_MAX, SR_ANON_LABEL_MAX);
			break;
		}
		memcpy(value, f[0].data, f[0].len);
		value[f[0].len] = '\0';
		if (strlen(value) != f[0].len || json_object_get(map, value)) {
			char shown[SR_POLICY_SHOWN_SIZE];
			rc = sr_fail(err, SR_EINVAL, "%s: line %llu: value '%s' %s",
				     what, (unsigned long long)sr_csv_line(csv),
				     sr_policy_shown(f[0].data, f[0].len, shown),
				     strlen(value) != f[0].len ? "holds a NUL byte" :
				     "appears twice");
			break;
		}
		labels = json_array();
		for (size_t j = 1; labels && j < sr_csv_columns(csv); j++)
			if (json_array_append_new(labels, json_stringn(f[j].data, f[j].len))) {
				json_decref(labels);
				labels = NULL;
			}
		if (!labels || json_object_set_new(map, value, labels))
			rc = sr_policy_nomem(err, what);
	}
	if (rc == SR_OK && entries == 0)
		rc = sr_fail(err, SR_EINVAL, "%s: no values", what);
	if (rc == SR_OK) {
		desc = json_pack("{s:O}", "hierarchy", map);
		if (!desc)
			rc = sr_policy_nomem(err, what);
	}
	if (rc == SR_OK)
		rc = sr_policy_parse_generalize(desc, what, col, c, err);
out:
	json_decref(desc);
	json_decref(map);
	sr_csv_free(csv);
	return rc;
}

static const char *const scope_names[] = { "receiver", "dataset", "owner", NULL };

const char *sr_policy_hash_scope_name(enum sr_hash_scope scope)
{
	return scope_names[scope <= SR_HASH_PER_OWNER ? scope : 0];
}

int sr_policy_parse_hash_scope(const json_t *v, const char *what,
			       const char *col, struct sr_policy_column *c,
			       struct sr_err *err)
{
	const char *s = json_string_value(v);

	if (c->mask != SR_MASK_HASH)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.hash_scope: only with \"mask\": \"hash\"",
			       what, col);
	for (int i = 0; s && scope_names[i]; i++)
		if (strcmp(s, scope_names[i]) == 0) {
			c->hash_scope = (enum sr_hash_scope)i;
			return SR_OK;
		}
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.hash_scope: expected receiver, dataset or owner",
		       what, col);
}
