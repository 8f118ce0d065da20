/*
 * policy.c - the dataset policy model: parsing, binding to a dataset,
 * classification by name and the normalized JSON form (see policy.h and
 * docs/policy.md).
 */
#include "policy/policy.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/banned.h"

#define ROW_FILTER_MAX 4096
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
		if (usage == (1u << i))
			return usage_names[i];
	return "unknown";
}

const char *sr_job_kind_name(enum sr_job_kind kind)
{
	for (size_t i = 0; i < NJOBS; i++)
		if (kind == (1u << i))
			return job_names[i];
	return "unknown";
}

void sr_policy_init(struct sr_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->min_group_size = 1;
	pol->jobs = SR_JOB_ALL;
}

static void column_release(struct sr_policy_column *c)
{
	sr_free(c->name);
	json_decref(c->domain);
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
	sr_policy_init(pol);
}

static int nomem(struct sr_err *err, const char *what)
{
	return sr_fail(err, SR_ENOMEM, "%s: out of memory", what);
}

/* A number given as a JSON integer, real or decimal string. */
static int get_number(const json_t *v, const char *what, const char *path,
		      double *out, struct sr_err *err)
{
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
	return sr_fail(err, SR_EINVAL, "%s: %s: expected a finite number",
		       what, path);
}

static int parse_class(const json_t *v, const char *what, const char *col,
		       enum sr_class *out, struct sr_err *err)
{
	const char *s = json_string_value(v);

	if (!v)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.class: required key is missing (expected id, qi, sa or public)",
			       what, col);
	for (int k = SR_CLASS_ID; s && k <= SR_CLASS_PUBLIC; k++) {
		if (strcmp(s, class_names[k]) == 0) {
			*out = (enum sr_class)k;
			return SR_OK;
		}
	}
	if (!s)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.class: expected a string (id, qi, sa or public)",
			       what, col);
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.class: unknown class '%.64s' (expected id, qi, sa or public)",
		       what, col, s);
}

/* Parse an array of names from table into a bit set. */
static int parse_name_set(const json_t *arr, const char *what,
			  const char *path, const char *const *table,
			  size_t ntable, const char *kind, unsigned *out,
			  struct sr_err *err)
{
	unsigned bits = 0;
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return sr_fail(err, SR_EINVAL, "%s: %s: expected an array of %s names",
			       what, path, kind);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		size_t k;
		for (k = 0; s && k < ntable; k++)
			if (strcmp(s, table[k]) == 0)
				break;
		if (!s || k == ntable) {
			struct sr_buf list;
			int rc;
			sr_buf_init(&list, 0);
			for (size_t m = 0; m < ntable; m++)
				if (sr_buf_addf(&list, "%s%s", m ? ", " : "", table[m]))
					break;
			rc = sr_fail(err, SR_EINVAL,
				     "%s: %s[%zu]: unknown %s '%.64s' (expected %s)",
				     what, path, i, kind, s ? s : "(not a string)",
				     list.data);
			sr_buf_release(&list);
			return rc;
		}
		if (bits & (1u << k))
			return sr_fail(err, SR_EINVAL, "%s: %s[%zu]: duplicate %s '%s'",
				       what, path, i, kind, s);
		bits |= 1u << k;
	}
	*out = bits;
	return SR_OK;
}

static int parse_mask(const json_t *v, const char *what, const char *col,
		      struct sr_policy_column *c, struct sr_err *err)
{
	const char *s = json_string_value(v);
	int64_t n;
	double w;

	if (!s)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns.%s.mask: expected a string (hash, truncate:N or range:W)",
			       what, col);
	if (strcmp(s, "hash") == 0) {
		c->mask = SR_MASK_HASH;
		return SR_OK;
	}
	if (strncmp(s, "truncate:", 9) == 0) {
		if (sr_value_parse_int64(s + 9, strlen(s + 9), &n) != SR_OK ||
		    n < 1 || n > TRUNCATE_MAX)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.mask: truncate:N needs N from 1 to %d",
				       what, col, TRUNCATE_MAX);
		c->mask = SR_MASK_TRUNCATE;
		c->mask_param = (double)n;
		return SR_OK;
	}
	if (strncmp(s, "range:", 6) == 0) {
		if (sr_value_parse_float64(s + 6, strlen(s + 6), &w) != SR_OK ||
		    !(w > 0))
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.mask: range:W needs a positive number W",
				       what, col);
		c->mask = SR_MASK_RANGE;
		c->mask_param = w;
		return SR_OK;
	}
	return sr_fail(err, SR_EINVAL,
		       "%s: columns.%s.mask: unknown mask '%.64s' (expected hash, truncate:N or range:W)",
		       what, col, s);
}

/* Domain values must be distinct: a set of their JSON encodings. */
static int check_distinct(const json_t *arr, const char *what,
			  const char *col, struct sr_err *err)
{
	json_t *seen = json_object();
	struct sr_buf key;
	size_t i;
	json_t *v;
	int rc = SR_OK;

	if (!seen)
		return nomem(err, what);
	sr_buf_init(&key, 0);
	json_array_foreach(arr, i, v) {
		sr_buf_reset(&key);
		if (sr_json_dump(v, 0, &key)) {
			rc = nomem(err, what);
			break;
		}
		if (json_object_get(seen, key.data)) {
			rc = sr_fail(err, SR_EINVAL,
				     "%s: columns.%s.domain[%zu]: duplicate value",
				     what, col, i);
			break;
		}
		if (json_object_set_new(seen, key.data, json_true())) {
			rc = nomem(err, what);
			break;
		}
	}
	json_decref(seen);
	sr_buf_release(&key);
	return rc;
}

static int parse_column(const char *what, const char *name, const json_t *obj,
			struct sr_policy_column *c, struct sr_err *err)
{
	static const char *const keys[] = { "class", "allow", "type", "bounds",
					    "domain", "mask", NULL };
	char path[SR_COLUMN_NAME_MAX + 32];
	json_t *v;
	int rc;

	snprintf(path, sizeof(path), "columns.%s", name);
	if (!json_is_object(obj))
		return sr_fail(err, SR_EINVAL, "%s: %s: expected an object", what,
			       path);
	rc = sr_json_check_keys(obj, path, keys, err);
	if (rc)
		return sr_err_prefix(err, "%s", what);
	c->name = sr_strdup(name);
	if (!c->name)
		return nomem(err, what);
	rc = parse_class(json_object_get(obj, "class"), what, name, &c->cls, err);
	if (rc)
		return rc;
	c->allow = sr_class_default_allow(c->cls);
	if ((v = json_object_get(obj, "allow")) != NULL) {
		snprintf(path, sizeof(path), "columns.%s.allow", name);
		rc = parse_name_set(v, what, path, usage_names, NUSAGES, "usage",
				    &c->allow, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(obj, "type")) != NULL) {
		if (!json_is_string(v) ||
		    sr_type_parse(json_string_value(v), &c->type) != SR_OK)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.type: unknown type (expected int64, float64, string, bool or date)",
				       what, name);
		c->has_type = 1;
	}
	if ((v = json_object_get(obj, "bounds")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) != 2)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.bounds: expected [lo, hi]",
				       what, name);
		snprintf(path, sizeof(path), "columns.%s.bounds[0]", name);
		rc = get_number(json_array_get(v, 0), what, path, &c->lo, err);
		snprintf(path, sizeof(path), "columns.%s.bounds[1]", name);
		if (rc == SR_OK)
			rc = get_number(json_array_get(v, 1), what, path, &c->hi, err);
		if (rc)
			return rc;
		if (c->lo > c->hi)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.bounds: lower bound %g is above upper bound %g",
				       what, name, c->lo, c->hi);
		c->has_bounds = 1;
	}
	if ((v = json_object_get(obj, "domain")) != NULL) {
		size_t i, n = json_array_size(v);
		json_t *d;
		if (!json_is_array(v) || n == 0 || n > SR_POLICY_DOMAIN_MAX)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns.%s.domain: expected an array of 1 to %d values",
				       what, name, SR_POLICY_DOMAIN_MAX);
		json_array_foreach(v, i, d) {
			if (!json_is_string(d) && !json_is_integer(d) &&
			    !json_is_boolean(d))
				return sr_fail(err, SR_EINVAL,
					       "%s: columns.%s.domain[%zu]: expected a string, integer or boolean",
					       what, name, i);
		}
		rc = check_distinct(v, what, name, err);
		if (rc)
			return rc;
		c->domain = json_incref(v);
	}
	if ((v = json_object_get(obj, "mask")) != NULL) {
		rc = parse_mask(v, what, name, c, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int is_org_id(const char *s)
{
	if (strlen(s) != 36 || strncmp(s, "org_", 4) != 0)
		return 0;
	for (size_t i = 4; i < 36; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int parse_dp(const json_t *dp, const char *what,
		    struct sr_policy_dp *out, struct sr_err *err)
{
	static const char *const keys[] = { "epsilon_total",
					    "epsilon_max_per_job", "delta", NULL };
	json_t *v;
	int rc;

	if (!json_is_object(dp))
		return sr_fail(err, SR_EINVAL, "%s: dp: expected an object", what);
	rc = sr_json_check_keys(dp, "dp", keys, err);
	if (rc)
		return sr_err_prefix(err, "%s", what);
	v = json_object_get(dp, "epsilon_total");
	if (!v)
		return sr_fail(err, SR_EINVAL,
			       "%s: dp.epsilon_total: required key is missing", what);
	rc = get_number(v, what, "dp.epsilon_total", &out->epsilon_total, err);
	if (rc)
		return rc;
	if (!(out->epsilon_total > 0))
		return sr_fail(err, SR_EINVAL, "%s: dp.epsilon_total: must be above 0, got %g",
			       what, out->epsilon_total);
	out->epsilon_max_per_job = out->epsilon_total;
	if ((v = json_object_get(dp, "epsilon_max_per_job")) != NULL) {
		rc = get_number(v, what, "dp.epsilon_max_per_job",
				&out->epsilon_max_per_job, err);
		if (rc)
			return rc;
		if (!(out->epsilon_max_per_job > 0))
			return sr_fail(err, SR_EINVAL,
				       "%s: dp.epsilon_max_per_job: must be above 0, got %g",
				       what, out->epsilon_max_per_job);
		if (out->epsilon_max_per_job > out->epsilon_total)
			return sr_fail(err, SR_EINVAL,
				       "%s: dp.epsilon_max_per_job: %g is above epsilon_total %g",
				       what, out->epsilon_max_per_job, out->epsilon_total);
	}
	out->delta = 0;
	if ((v = json_object_get(dp, "delta")) != NULL) {
		rc = get_number(v, what, "dp.delta", &out->delta, err);
		if (rc)
			return rc;
		if (!(out->delta >= 0 && out->delta < 1))
			return sr_fail(err, SR_EINVAL, "%s: dp.delta: must be in [0, 1), got %g",
				       what, out->delta);
	}
	out->enabled = 1;
	return SR_OK;
}

static int parse_receivers(const json_t *arr, const char *what,
			   struct sr_policy *pol, struct sr_err *err)
{
	size_t i, n = json_array_size(arr);
	json_t *v;

	if (!json_is_array(arr) || n > SR_POLICY_LIST_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: receivers: expected an array of at most %d organization ids",
			       what, SR_POLICY_LIST_MAX);
	pol->receivers = sr_calloc(n ? n : 1, sizeof(char *));
	if (!pol->receivers)
		return nomem(err, what);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || !is_org_id(s))
			return sr_fail(err, SR_EINVAL,
				       "%s: receivers[%zu]: expected an organization id (org_ and 32 lowercase hex digits)",
				       what, i);
		for (size_t k = 0; k < pol->nreceivers; k++)
			if (strcmp(pol->receivers[k], s) == 0)
				return sr_fail(err, SR_EINVAL,
					       "%s: receivers[%zu]: duplicate organization id %s",
					       what, i, s);
		pol->receivers[i] = sr_strdup(s);
		if (!pol->receivers[i])
			return nomem(err, what);
		pol->nreceivers++;
	}
	return SR_OK;
}

static int parse_expires(const json_t *v, const char *what, int64_t *out,
			 struct sr_err *err)
{
	int32_t days;

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (int64_t)json_integer_value(v);
		return SR_OK;
	}
	if (json_is_string(v) &&
	    sr_value_parse_date(json_string_value(v), json_string_length(v),
				&days) == SR_OK && days > 0) {
		*out = (int64_t)days * 86400;
		return SR_OK;
	}
	return sr_fail(err, SR_EINVAL,
		       "%s: expires: expected a date YYYY-MM-DD after 1970-01-01 or a positive unix time",
		       what);
}

static int parse_doc(const json_t *doc, const char *what,
		     struct sr_policy *pol, struct sr_err *err)
{
	static const char *const keys[] = { "version", "columns",
		"min_group_size", "dp", "receivers", "jobs", "row_filter",
		"expires", NULL };
	const char *name;
	json_t *v, *cols;
	size_t n;
	int rc;

	if (!json_is_object(doc))
		return sr_fail(err, SR_EINVAL, "%s: expected a JSON object", what);
	rc = sr_json_check_keys(doc, "", keys, err);
	if (rc)
		return sr_err_prefix(err, "%s", what);
	if ((v = json_object_get(doc, "version")) != NULL &&
	    !(json_is_integer(v) && json_integer_value(v) == 1))
		return sr_fail(err, SR_EINVAL, "%s: version: only version 1 is known",
			       what);
	cols = json_object_get(doc, "columns");
	if (!cols)
		return sr_fail(err, SR_EINVAL, "%s: columns: required key is missing",
			       what);
	n = json_object_size(cols);
	if (!json_is_object(cols) || n > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: columns: expected an object with at most %d columns",
			       what, SR_DATASET_COLUMNS_MAX);
	pol->columns = sr_calloc(n ? n : 1, sizeof(*pol->columns));
	if (!pol->columns)
		return nomem(err, what);
	json_object_foreach(cols, name, v) {
		if (strlen(name) == 0 || strlen(name) > SR_COLUMN_NAME_MAX)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns: column names must be 1 to %d bytes",
				       what, SR_COLUMN_NAME_MAX);
		rc = parse_column(what, name, v, &pol->columns[pol->ncolumns], err);
		pol->ncolumns++;
		if (rc)
			return rc;
	}
	if ((v = json_object_get(doc, "min_group_size")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return sr_fail(err, SR_EINVAL,
				       "%s: min_group_size: expected an integer of at least 1",
				       what);
		pol->min_group_size = (int64_t)json_integer_value(v);
	}
	if ((v = json_object_get(doc, "dp")) != NULL) {
		rc = parse_dp(v, what, &pol->dp, err);
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
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > ROW_FILTER_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return sr_fail(err, SR_EINVAL,
				       "%s: row_filter: expected a predicate of 1 to %d bytes",
				       what, ROW_FILTER_MAX);
		pol->row_filter = sr_strdup(json_string_value(v));
		if (!pol->row_filter)
			return nomem(err, what);
	}
	if ((v = json_object_get(doc, "expires")) != NULL) {
		rc = parse_expires(v, what, &pol->expires, err);
		if (rc)
			return rc;
	}
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
			       "%s: policy is larger than the limit of %u bytes",
			       what, SR_POLICY_BYTES_MAX);
	rc = sr_json_parse(text, len, what, &doc, err);
	if (rc == SR_OK)
		rc = parse_doc(doc, what, pol, err);
	json_decref(doc);
	if (rc)
		sr_policy_release(pol);
	return rc;
}

/*
 * Words that classify a column by name.  A name is split into lowercase
 * words at '_', '-', ' ', '.' and lower-to-upper camelCase boundaries; the
 * first list with a matching word wins, in the order ID, SA, QI (an
 * identifier anywhere makes the column an identifier).
 */
static const char *const id_words[] = {
	"id", "uuid", "guid", "email", "mail", "phone", "mobile", "tel",
	"ssn", "passport", "account", "iban", "card", "name", "firstname",
	"lastname", "surname", "fullname", "address", "ip", "nhs", "mrn",
	"patient", "customer", "key", NULL,
};
static const char *const sa_words[] = {
	"salary", "income", "wage", "balance", "amount", "spend", "spending",
	"revenue", "price", "debt", "loan", "credit", "score", "diagnosis",
	"disease", "condition", "treatment", "medication", "drug", "claim",
	"premium", "risk", "label", "target", "value", "total", "cost",
	"purchases", "purchase", "sales", NULL,
};
static const char *const qi_words[] = {
	"age", "birth", "birthday", "dob", "birthdate", "zip", "zipcode",
	"postcode", "postal", "gender", "sex", "city", "region", "state",
	"country", "county", "district", "nationality", "race", "ethnicity",
	"occupation", "job", "education", "marital", "year", "date",
	"opened", "joined", "segment", NULL,
};

static int word_in(const char *word, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(word, list[i]) == 0)
			return 1;
	return 0;
}

enum sr_class sr_policy_classify_by_name(const char *name)
{
	char buf[2 * SR_COLUMN_NAME_MAX + 2];
	size_t n = 0, len = strlen(name);
	int found_id = 0, found_sa = 0, found_qi = 0;

	if (len > SR_COLUMN_NAME_MAX)
		return SR_CLASS_NONE;
	/* Lowercase copy with a space at every word boundary. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '_' || c == '-' || c == ' ' || c == '.') {
			buf[n++] = ' ';
			continue;
		}
		if (isupper(c) && i > 0 && islower((unsigned char)name[i - 1]))
			buf[n++] = ' ';
		buf[n++] = (char)tolower(c);
	}
	buf[n] = '\0';
	for (char *p = buf; *p;) {
		char *end = strchr(p, ' ');
		if (end)
			*end = '\0';
		if (*p) {
			found_id |= word_in(p, id_words);
			found_sa |= word_in(p, sa_words);
			found_qi |= word_in(p, qi_words);
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (found_id)
		return SR_CLASS_ID;
	if (found_sa)
		return SR_CLASS_SA;
	if (found_qi)
		return SR_CLASS_QI;
	return SR_CLASS_NONE;
}

/* Append "a, b, c" (up to a sensible length) to out. */
static int add_list(struct sr_buf *out, const char *name)
{
	if (out->len > 160)
		return out->data[out->len - 1] == '.' ? SR_OK :
			sr_buf_addstr(out, ", ...");
	return sr_buf_addf(out, "%s%s", out->len ? ", " : "", name);
}

int sr_policy_from_names(const char *const *names, size_t count,
			 struct sr_policy *pol, struct sr_err *err)
{
	struct sr_buf missing;
	int rc = SR_OK;

	sr_policy_release(pol);
	sr_buf_init(&missing, 0);
	pol->columns = sr_calloc(count ? count : 1, sizeof(*pol->columns));
	if (!pol->columns)
		return nomem(err, "policy");
	for (size_t i = 0; i < count && rc == SR_OK; i++) {
		struct sr_policy_column *c = &pol->columns[i];
		c->cls = sr_policy_classify_by_name(names[i]);
		if (c->cls == SR_CLASS_NONE) {
			if (add_list(&missing, names[i]))
				rc = nomem(err, "policy");
			continue;
		}
		c->allow = sr_class_default_allow(c->cls);
		c->name = sr_strdup(names[i]);
		if (!c->name)
			rc = nomem(err, "policy");
		else
			pol->ncolumns++;
	}
	if (rc == SR_OK && missing.len)
		rc = sr_fail(err, SR_EPOLICY,
			     "columns not classified by name: %s: give a policy file that classifies every column (id, qi, sa or public)",
			     missing.data);
	/* Compact: unclassified slots were skipped. */
	if (rc == SR_OK) {
		size_t k = 0;
		for (size_t i = 0; i < count; i++)
			if (pol->columns[i].name)
				pol->columns[k++] = pol->columns[i];
		pol->ncolumns = k;
	} else {
		for (size_t i = 0; i < count; i++)
			column_release(&pol->columns[i]);
		pol->ncolumns = 0;
		sr_policy_release(pol);
	}
	sr_buf_release(&missing);
	return rc;
}

static int domain_value_ok(const json_t *v, enum sr_type type)
{
	int32_t d;

	switch (type) {
	case SR_TYPE_STRING: return json_is_string(v);
	case SR_TYPE_INT64: return json_is_integer(v);
	case SR_TYPE_FLOAT64: return json_is_integer(v) ||
		(json_is_string(v) && sr_value_parse_float64(json_string_value(v),
			json_string_length(v), &(double){ 0 }) == SR_OK);
	case SR_TYPE_BOOL: return json_is_boolean(v);
	case SR_TYPE_DATE: return json_is_string(v) &&
		sr_value_parse_date(json_string_value(v), json_string_length(v),
				    &d) == SR_OK;
	}
	return 0;
}

static int check_column_type(const struct sr_policy_column *c,
			     struct sr_err *err)
{
	int numeric = c->type == SR_TYPE_INT64 || c->type == SR_TYPE_FLOAT64;
	size_t i;
	json_t *v;

	if (c->has_bounds && !numeric)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.bounds: bounds need a numeric column, '%s' is %s",
			       c->name, c->name, sr_type_name(c->type));
	if (c->mask == SR_MASK_RANGE && !numeric)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.mask: range masks need a numeric column, '%s' is %s",
			       c->name, c->name, sr_type_name(c->type));
	if (c->mask == SR_MASK_TRUNCATE && c->type != SR_TYPE_STRING)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.mask: truncate masks need a string column, '%s' is %s",
			       c->name, c->name, sr_type_name(c->type));
	json_array_foreach(c->domain, i, v)
		if (!domain_value_ok(v, c->type))
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%s.domain[%zu]: value is not a valid %s",
				       c->name, i, sr_type_name(c->type));
	return SR_OK;
}

int sr_policy_bind(struct sr_policy *pol, const char *const *names,
		   const enum sr_type *types, size_t count, struct sr_err *err)
{
	struct sr_policy_column *ordered;
	struct sr_buf missing, list;
	int rc = SR_OK;

	for (size_t i = 0; i < pol->ncolumns; i++) {
		size_t k;
		for (k = 0; k < count; k++)
			if (strcmp(pol->columns[i].name, names[k]) == 0)
				break;
		if (k == count) {
			sr_buf_init(&list, 0);
			for (k = 0; k < count; k++)
				if (add_list(&list, names[k]))
					break;
			rc = sr_fail(err, SR_EINVAL,
				     "policy: column '%s' is not in the dataset (columns: %s)",
				     pol->columns[i].name, list.data);
			sr_buf_release(&list);
			return rc;
		}
	}
	ordered = sr_calloc(count ? count : 1, sizeof(*ordered));
	if (!ordered)
		return nomem(err, "policy");
	sr_buf_init(&missing, 0);
	for (size_t k = 0; k < count && rc == SR_OK; k++) {
		size_t i;
		for (i = 0; i < pol->ncolumns; i++)
			if (strcmp(pol->columns[i].name, names[k]) == 0)
				break;
		if (i == pol->ncolumns || pol->columns[i].cls == SR_CLASS_NONE) {
			if (add_list(&missing, names[k]))
				rc = nomem(err, "policy");
			continue;
		}
		ordered[k] = pol->columns[i];
		ordered[k].type = types[k];
		rc = check_column_type(&ordered[k], err);
	}
	if (rc == SR_OK && missing.len)
		rc = sr_fail(err, SR_EPOLICY,
			     "policy: columns not classified: %s: every column needs a class (id, qi, sa or public)",
			     missing.data);
	sr_buf_release(&missing);
	if (rc) {
		sr_free(ordered);
		return rc;
	}
	/* Ownership of names and domains moves to ordered. */
	sr_free(pol->columns);
	pol->columns = ordered;
	pol->ncolumns = count;
	return SR_OK;
}

int sr_policy_type_override(const struct sr_policy *pol, const char *name,
			    enum sr_type *type)
{
	const struct sr_policy_column *c = sr_policy_column(pol, name);

	if (!c || !c->has_type)
		return 0;
	*type = c->type;
	return 1;
}

const struct sr_policy_column *sr_policy_column(const struct sr_policy *pol,
						const char *name)
{
	for (size_t i = 0; i < pol->ncolumns; i++)
		if (pol->columns[i].name && strcmp(pol->columns[i].name, name) == 0)
			return &pol->columns[i];
	return NULL;
}

/* Integral values that doubles hold exactly become JSON integers; others
 * shortest round-trip decimal strings (canonical JSON has no reals). */
static json_t *number_json(double v)
{
	struct sr_buf b;
	json_t *j;

	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	sr_buf_init(&b, 0);
	if (sr_value_format_float64(&b, v)) {
		sr_buf_release(&b);
		return NULL;
	}
	j = json_string(b.data);
	sr_buf_release(&b);
	return j;
}

static json_t *names_json(unsigned bits, const char *const *table, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if ((bits & (1u << i)) &&
		    json_array_append_new(arr, json_string(table[i]))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* A column's normalized form; the type appears once declared or bound. */
static json_t *column_json(const struct sr_policy_column *c)
{
	json_t *o = json_pack("{s:s,s:o}", "class", sr_class_name(c->cls),
			      "allow", names_json(c->allow, usage_names, NUSAGES));

	if (!o)
		return NULL;
	if (c->type != 0 &&
	    json_object_set_new(o, "type", json_string(sr_type_name(c->type))))
		goto fail;
	if (c->has_bounds &&
	    json_object_set_new(o, "bounds", json_pack("[o,o]",
				number_json(c->lo), number_json(c->hi))))
		goto fail;
	if (c->domain && json_object_set(o, "domain", c->domain))
		goto fail;
	if (c->mask != SR_MASK_NONE) {
		struct sr_buf m;
		int rc;
		sr_buf_init(&m, 0);
		if (c->mask == SR_MASK_HASH)
			rc = sr_buf_addstr(&m, "hash");
		else if (c->mask == SR_MASK_TRUNCATE)
			rc = sr_buf_addf(&m, "truncate:%d", (int)c->mask_param);
		else {
			rc = sr_buf_addstr(&m, "range:");
			if (rc == SR_OK)
				rc = sr_value_format_float64(&m, c->mask_param);
		}
		if (rc || json_object_set_new(o, "mask", json_string(m.data))) {
			sr_buf_release(&m);
			goto fail;
		}
		sr_buf_release(&m);
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

int sr_policy_to_json(const struct sr_policy *pol, json_t **out,
		      struct sr_err *err)
{
	json_t *doc, *cols, *recv;

	*out = NULL;
	cols = json_object();
	recv = json_array();
	for (size_t i = 0; cols && recv && i < pol->ncolumns; i++)
		if (json_object_set_new(cols, pol->columns[i].name,
					column_json(&pol->columns[i])))
			goto fail;
	for (size_t i = 0; cols && recv && i < pol->nreceivers; i++)
		if (json_array_append_new(recv, json_string(pol->receivers[i])))
			goto fail;
	if (!cols || !recv)
		goto fail;
	doc = json_pack("{s:i,s:o,s:I,s:o,s:o}", "version", 1, "columns", cols,
			"min_group_size", (json_int_t)pol->min_group_size,
			"receivers", recv,
			"jobs", names_json(pol->jobs, job_names, NJOBS));
	cols = recv = NULL;
	if (!doc)
		goto fail;
	if (pol->dp.enabled &&
	    json_object_set_new(doc, "dp", json_pack("{s:o,s:o,s:o}",
			"epsilon_total", number_json(pol->dp.epsilon_total),
			"epsilon_max_per_job", number_json(pol->dp.epsilon_max_per_job),
			"delta", number_json(pol->dp.delta))))
		goto fail_doc;
	if (pol->row_filter &&
	    json_object_set_new(doc, "row_filter", json_string(pol->row_filter)))
		goto fail_doc;
	if (pol->expires &&
	    json_object_set_new(doc, "expires", json_integer((json_int_t)pol->expires)))
		goto fail_doc;
	*out = doc;
	return SR_OK;
fail_doc:
	json_decref(doc);
fail:
	json_decref(cols);
	json_decref(recv);
	return nomem(err, "policy");
}
