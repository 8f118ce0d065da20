/*
 * policy_bind.c - a policy meets its dataset: classification of columns by
 * name (sr_policy_from_names) and binding to the dataset's columns and
 * types (sr_policy_bind).
 *
 * A failed sr_policy_from_names leaves the policy empty; a failed
 * sr_policy_bind leaves it as it was (nothing moves until every check has
 * passed).
 */
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "expr/expr.h"
#include "base/banned.h"

/* ---- classification by name ----------------------------------------- */

/*
 * Words that classify a column by its name (docs/policy.md lists them for
 * users; keep the two in step).  A name is split into lowercase words at
 * '_', '-', ' ', '.', at lower-to-upper camelCase boundaries and between
 * letters and digits ("dateOfBirth" -> date of birth, "address2" ->
 * address 2); only whole words match.  The first list with a matching word
 * wins, in the order ID, SA, QI: an identifier word anywhere makes the
 * column an identifier (salary_id is an id), the most restrictive reading.
 * "customer" alone is no identifier word: customer_id is an id through
 * "id", customer_note is not classified.  A name with no listed word is
 * SR_CLASS_NONE, so the caller fails instead of guessing public.
 */
static const char *const id_words[] = {
	"id", "uuid", "guid", "email", "mail", "phone", "mobile", "tel",
	"ssn", "passport", "account", "iban", "card", "name", "firstname",
	"lastname", "surname", "fullname", "address", "ip", "nhs", "mrn",
	"patient", "key", NULL,
};
static const char *const sa_words[] = {
	"salary", "income", "wage", "balance", "amount", "spend", "spending",
	"revenue", "price", "debt", "loan", "credit", "score", "diagnosis",
	"disease", "condition", "treatment", "medication", "drug", "claim",
	"premium", "risk", "label", "target", "value", "total", "cost",
	"purchase", "purchases", "sales", NULL,
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

void sr_policy_name_words(const char *name, size_t len,
			  char buf[2 * SR_COLUMN_NAME_MAX + 2])
{
	size_t n = 0;

	/* At most one space per input byte, so 2 * len + 1 bytes suffice. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		unsigned char prev = i ? (unsigned char)name[i - 1] : 0;

		if (c == '_' || c == '-' || c == ' ' || c == '.') {
			buf[n++] = ' ';
			continue;
		}
		if ((isupper(c) && islower(prev)) ||
		    (isdigit(c) && isalpha(prev)) ||
		    (isalpha(c) && isdigit(prev)))
			buf[n++] = ' ';
		buf[n++] = (char)tolower(c);
	}
	buf[n] = '\0';
}

enum sr_class sr_policy_classify_by_name(const char *name)
{
	char buf[2 * SR_COLUMN_NAME_MAX + 2];
	size_t len = strlen(name);
	int found_id = 0, found_sa = 0, found_qi = 0;

	if (len > SR_COLUMN_NAME_MAX)
		return SR_CLASS_NONE;
	sr_policy_name_words(name, len, buf);
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

/* "policy: column 'x' is not classified<how>: <advice>", naming every
 * unclassified column that fits in one message. */
static int fail_unclassified(struct sr_err *err, struct sr_policy_names *missing,
			     const char *how, const char *advice)
{
	const char *list = sr_policy_names_text(missing);

	if (missing->count == 1)
		return sr_fail(err, SR_EPOLICY,
			       "policy: column %s is not classified%s: %s",
			       list, how, advice);
	if (missing->listed < missing->count)
		return sr_fail(err, SR_EPOLICY,
			       "policy: columns %s (%zu in all) are not classified%s: %s",
			       list, missing->count, how, advice);
	return sr_fail(err, SR_EPOLICY,
		       "policy: columns %s are not classified%s: %s", list, how,
		       advice);
}

int sr_policy_from_names(const char *const *names, size_t count,
			 struct sr_policy *pol, struct sr_err *err)
{
	struct sr_policy_names missing;

	sr_policy_release(pol);
	sr_policy_names_init(&missing);
	for (size_t i = 0; i < count; i++)
		if (sr_policy_classify_by_name(names[i]) == SR_CLASS_NONE)
			sr_policy_names_add(&missing, names[i], 1);
	if (missing.count)
		return fail_unclassified(err, &missing, " by name",
					 "classify them in a policy file (" SR_POLICY_CLASS_LIST ")");
	pol->columns = sr_calloc(count ? count : 1, sizeof(*pol->columns));
	if (!pol->columns)
		return sr_policy_nomem(err, "policy");
	for (size_t i = 0; i < count; i++) {
		struct sr_policy_column *c = &pol->columns[i];

		c->name = sr_strdup(names[i]);
		if (!c->name) {
			sr_policy_release(pol);
			return sr_policy_nomem(err, "policy");
		}
		c->cls = sr_policy_classify_by_name(names[i]);
		c->allow = sr_class_default_allow(c->cls);
		pol->ncolumns++;
	}
	return SR_OK;
}

/* ---- binding to a dataset -------------------------------------------- */

static size_t find_name(const char *const *names, size_t count,
			const char *name)
{
	size_t k;

	for (k = 0; k < count; k++)
		if (strcmp(names[k], name) == 0)
			break;
	return k;
}

static size_t find_column(const struct sr_policy *pol, const char *name)
{
	size_t i;

	for (i = 0; i < pol->ncolumns; i++)
		if (pol->columns[i].name && strcmp(pol->columns[i].name, name) == 0)
			break;
	return i;
}

/* Whether domain value v is a value of type. */
static int domain_value_ok(const json_t *v, enum sr_type type, double *num_out)
{
	int32_t days;

	*num_out = 0;
	switch (type) {
	case SR_TYPE_STRING:
		return json_is_string(v);
	case SR_TYPE_INT64:
		return json_is_integer(v);
	case SR_TYPE_FLOAT64:
		if (json_is_integer(v)) {
			*num_out = (double)json_integer_value(v);
			return 1;
		}
		return json_is_string(v) &&
		       sr_value_parse_float64(json_string_value(v),
					      json_string_length(v),
					      num_out) == SR_OK;
	case SR_TYPE_BOOL:
		return json_is_boolean(v);
	case SR_TYPE_DATE:
		return json_is_string(v) &&
		       sr_value_parse_date(json_string_value(v),
					   json_string_length(v), &days) == SR_OK;
	}
	return 0;
}

struct indexed_num {
	double value;
	size_t index;
};

static int cmp_indexed_num(const void *a, const void *b)
{
	const struct indexed_num *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Check the domain against the column type.  For float64, values that are
 * distinct JSON but the same number (1, "1.0", "1e0") are duplicates too;
 * other types have one JSON spelling per value, checked at parse.
 */
static int check_domain(const struct sr_policy_column *c, enum sr_type type,
			const char *col, struct sr_err *err)
{
	struct indexed_num *nums = NULL;
	char got[SR_POLICY_VALUE_SIZE];
	size_t i, n = json_array_size(c->domain);
	json_t *v;
	int rc = SR_OK;

	if (!c->domain)
		return SR_OK;
	if (type == SR_TYPE_FLOAT64) {
		nums = sr_calloc(n ? n : 1, sizeof(*nums));
		if (!nums)
			return sr_policy_nomem(err, "policy");
	}
	json_array_foreach(c->domain, i, v) {
		double d;
		if (!domain_value_ok(v, type, &d)) {
			rc = sr_fail(err, SR_EINVAL,
				     "policy: columns.%s.domain[%zu]: value %s is not a valid %s",
				     col, i, sr_policy_show_value(v, got), sr_type_name(type));
			goto out;
		}
		if (nums) {
			nums[i].value = d;
			nums[i].index = i;
		}
	}
	if (nums) {
		qsort(nums, n, sizeof(*nums), cmp_indexed_num);
		for (i = 1; i < n; i++) {
			if (nums[i].value != nums[i - 1].value)
				continue;
			/* The later of the two in the file is the duplicate. */
			rc = sr_fail(err, SR_EINVAL,
				     "policy: columns.%s.domain[%zu]: duplicate value %s (the same number as domain[%zu])",
				     col, nums[i].index,
				     sr_policy_show_value(json_array_get(c->domain, nums[i].index), got),
				     nums[i - 1].index);
			goto out;
		}
	}
out:
	sr_free(nums);
	return rc;
}

/* The rules that depend on the column's type. */
static int check_column_type(const struct sr_policy_column *c,
			     enum sr_type type, struct sr_err *err)
{
	int numeric = type == SR_TYPE_INT64 || type == SR_TYPE_FLOAT64;
	const char *tn = sr_type_name(type);
	char col[SR_POLICY_SHOWN_SIZE];

	sr_policy_shown(c->name, strlen(c->name), col);
	if (c->has_type && c->type != type)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.type: declared %s, but the dataset column is %s",
			       col, sr_type_name(c->type), tn);
	if (c->has_bounds && !numeric)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.bounds: bounds need a numeric column (int64 or float64), '%s' is %s",
			       col, col, tn);
	if (c->mask == SR_MASK_RANGE && !numeric)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.mask: range masks need a numeric column (int64 or float64), '%s' is %s",
			       col, col, tn);
	if (c->mask == SR_MASK_TRUNCATE && type != SR_TYPE_STRING)
		return sr_fail(err, SR_EINVAL,
			       "policy: columns.%s.mask: truncate masks need a string column, '%s' is %s",
			       col, col, tn);
	if (sr_policy_check_generalize(c, type, err))
		return err->code;
	return check_domain(c, type, col, err);
}

/*
 * The row filter must compile against the dataset's columns, so that a
 * filter that could never run (or would silently match nothing) is refused
 * when the dataset is imported or published, not when a job scans it.  The
 * compiled form is dropped: the runner compiles the text again.
 */
static int check_row_filter(const char *filter, const char *const *names,
			    const enum sr_type *types, size_t count,
			    struct sr_err *err)
{
	struct sr_expr_column *cols;
	struct sr_expr *e = NULL;
	int rc;

	cols = sr_calloc(count ? count : 1, sizeof(*cols));
	if (!cols)
		return sr_policy_nomem(err, "policy");
	for (size_t k = 0; k < count; k++) {
		cols[k].name = names[k];
		cols[k].type = types[k];
	}
	rc = sr_expr_compile(filter, strlen(filter), cols, count, &e, err);
	if (rc)
		sr_err_prefix(err, "policy: row_filter");
	sr_expr_free(e);
	sr_free(cols);
	return rc;
}

int sr_policy_bind(struct sr_policy *pol, const char *const *names,
		   const enum sr_type *types, size_t count, struct sr_err *err)
{
	struct sr_policy_column *ordered = NULL;
	unsigned char *taken = NULL;
	struct sr_policy_names list;
	char s[SR_POLICY_SHOWN_SIZE];
	size_t *from = NULL;
	int rc = SR_OK;

	sr_policy_names_init(&list);
	for (size_t i = 0; i < pol->ncolumns; i++) {
		const char *name = pol->columns[i].name;
		if (find_name(names, count, name) < count)
			continue;
		for (size_t k = 0; k < count; k++)
			sr_policy_names_add(&list, names[k], 0);
		return sr_fail(err, SR_EINVAL,
			       "policy: column '%s' is not in the dataset (columns: %s)",
			       sr_policy_shown(name, strlen(name), s),
			       count ? sr_policy_names_text(&list) : "none");
	}
	ordered = sr_calloc(count ? count : 1, sizeof(*ordered));
	from = sr_calloc(count ? count : 1, sizeof(*from));
	taken = sr_calloc(pol->ncolumns ? pol->ncolumns : 1, 1);
	if (!ordered || !from || !taken) {
		rc = sr_policy_nomem(err, "policy");
		goto out;
	}
	/* Match every dataset column to its policy column. */
	for (size_t k = 0; k < count; k++) {
		size_t i = find_column(pol, names[k]);
		if (i == pol->ncolumns || pol->columns[i].cls == SR_CLASS_NONE) {
			sr_policy_names_add(&list, names[k], 1);
			continue;
		}
		if (taken[i]) {
			rc = sr_fail(err, SR_EINVAL,
				     "policy: dataset column '%s' appears twice",
				     sr_policy_shown(names[k], strlen(names[k]), s));
			goto out;
		}
		taken[i] = 1;
		from[k] = i;
	}
	if (list.count) {
		rc = fail_unclassified(err, &list, "",
				       "every column needs a class (" SR_POLICY_CLASS_LIST ")");
		goto out;
	}
	/* Every policy column is in the dataset (checked above), so one left
	 * over shares its name with another. */
	for (size_t i = 0; i < pol->ncolumns; i++) {
		if (taken[i])
			continue;
		rc = sr_fail(err, SR_EINVAL, "policy: column '%s' appears twice",
			     sr_policy_shown(pol->columns[i].name,
				   strlen(pol->columns[i].name), s));
		goto out;
	}
	for (size_t k = 0; k < count; k++) {
		rc = check_column_type(&pol->columns[from[k]], types[k], err);
		if (rc)
			goto out;
	}
	if (pol->row_filter) {
		rc = check_row_filter(pol->row_filter, names, types, count, err);
		if (rc)
			goto out;
	}
	/* Nothing can fail from here: move names and domains to ordered. */
	for (size_t k = 0; k < count; k++) {
		ordered[k] = pol->columns[from[k]];
		ordered[k].type = types[k];
	}
	sr_free(pol->columns);
	pol->columns = ordered;
	pol->ncolumns = count;
	ordered = NULL;
out:
	sr_free(ordered);
	sr_free(from);
	sr_free(taken);
	return rc;
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
	size_t i = find_column(pol, name);

	return i < pol->ncolumns ? &pol->columns[i] : NULL;
}
