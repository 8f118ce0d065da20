/*
 * suggest.c - a starter policy for a steward to review (suggest.h).
 *
 * The rules, most restrictive evidence first:
 *   1. every value an email address or a phone number      -> id
 *   2. a word of the name in the identifier, sensitive or
 *      quasi-identifier list (a broader list than
 *      --classify-by-name's, since a person reviews it)     -> id, sa, qi
 *   3. strings or integers unique in every row (at least
 *      SR_SUGGEST_UNIQUE_MIN values)                        -> id
 *   4. strings with few distinct values, each repeated       -> qi, with
 *                                                              the domain
 *   5. booleans and dates                                   -> qi
 *   6. numbers                                              -> sa
 *   7. other strings (free text)                            -> sa
 * Numeric columns that are not id get bounds rounded outward; string and
 * bool qi columns with at most SR_PROFILE_DOMAIN_MAX values get their
 * domain.  Nothing here is a decision: the _review key says so.
 */
#include "policy/suggest.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "policy/policy_int.h"
#include "base/banned.h"

static const char *const id_words[] = {
	"id", "uuid", "guid", "email", "mail", "phone", "mobile", "tel",
	"telephone", "fax", "ssn", "sin", "nino", "passport", "licence",
	"license", "account", "iban", "bic", "card", "name", "firstname",
	"lastname", "surname", "fullname", "forename", "username", "login",
	"user", "address", "street", "ip", "mac", "imei", "nhs", "mrn",
	"patient", "member", "key", "url", "website", "handle", "serial",
	"vin", "plate", NULL,
};
static const char *const sa_words[] = {
	"salary", "income", "wage", "wages", "pay", "earnings", "balance",
	"amount", "spend", "spending", "revenue", "price", "cost", "debt",
	"loan", "credit", "score", "rating", "grade", "diagnosis", "disease",
	"condition", "treatment", "medication", "drug", "symptom", "claim",
	"premium", "risk", "label", "target", "outcome", "value", "total",
	"purchase", "purchases", "sales", "rate", "interest", "tax", "fee",
	"bill", "charge", "payment", "expense", "profit", "loss", "assets",
	"savings", "deposit", "mortgage", "rent", "bmi", "blood", "pressure",
	"glucose", "cholesterol", "test", "result", "experience", "hours",
	NULL,
};
static const char *const qi_words[] = {
	"age", "birth", "birthday", "dob", "birthdate", "born", "zip",
	"zipcode", "postcode", "postal", "gender", "sex", "city", "town",
	"region", "state", "province", "country", "county", "district",
	"nationality", "citizenship", "race", "ethnicity", "ethnic",
	"religion", "language", "occupation", "job", "profession", "employer",
	"education", "degree", "marital", "married", "children", "household",
	"year", "month", "date", "opened", "joined", "segment", "height",
	"weight", "location", "lat", "latitude", "lon", "lng", "longitude",
	"neighbourhood", "neighborhood", "area", NULL,
};

static const char *word_in(const char *word, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(word, list[i]) == 0)
			return list[i];
	return NULL;
}

enum sr_class sr_suggest_class_by_name(const char *name, const char **word)
{
	char buf[2 * SR_COLUMN_NAME_MAX + 2];
	const char *hit[3] = { NULL, NULL, NULL };
	size_t len = strlen(name);

	if (word)
		*word = NULL;
	if (len > SR_COLUMN_NAME_MAX)
		return SR_CLASS_NONE;
	/* Words as --classify-by-name splits them. */
	sr_policy_name_words(name, len, buf);
	for (char *p = buf; *p;) {
		char *end = strchr(p, ' ');
		if (end)
			*end = '\0';
		if (*p) {
			if (!hit[0])
				hit[0] = word_in(p, id_words);
			if (!hit[1])
				hit[1] = word_in(p, sa_words);
			if (!hit[2])
				hit[2] = word_in(p, qi_words);
		}
		if (!end)
			break;
		p = end + 1;
	}
	for (int k = 0; k < 3; k++) {
		if (!hit[k])
			continue;
		if (word)
			*word = hit[k];
		return k == 0 ? SR_CLASS_ID : k == 1 ? SR_CLASS_SA : SR_CLASS_QI;
	}
	return SR_CLASS_NONE;
}

static int unique_per_row(const struct sr_profile_column *c)
{
	return c->values >= SR_SUGGEST_UNIQUE_MIN && !c->duplicates &&
	       (c->type == SR_TYPE_STRING || c->type == SR_TYPE_INT64);
}

enum sr_class sr_suggest_class(const struct sr_profile_column *c,
			       char *reason, size_t size)
{
	const char *word;
	enum sr_class cls;

	if (c->type == SR_TYPE_STRING && c->values && c->emails == c->values) {
		snprintf(reason, size, "every value is an email address");
		return SR_CLASS_ID;
	}
	if (c->type == SR_TYPE_STRING && c->values && c->phones == c->values) {
		snprintf(reason, size, "every value is a phone number");
		return SR_CLASS_ID;
	}
	cls = sr_suggest_class_by_name(c->name, &word);
	if (cls != SR_CLASS_NONE) {
		snprintf(reason, size, "the word '%s' in its name", word);
		return cls;
	}
	if (unique_per_row(c)) {
		snprintf(reason, size, "%s unique in every row%s",
			 c->type == SR_TYPE_STRING ? "a string" : "an integer",
			 c->distinct_capped ? " (as far as counted)" : "");
		return SR_CLASS_ID;
	}
	if (c->type == SR_TYPE_STRING && c->domain && c->duplicates) {
		snprintf(reason, size, "a string with only %zu distinct values",
			 c->ndomain);
		return SR_CLASS_QI;
	}
	switch (c->type) {
	case SR_TYPE_BOOL:
		snprintf(reason, size, "a boolean");
		return SR_CLASS_QI;
	case SR_TYPE_DATE:
		snprintf(reason, size, "a date");
		return SR_CLASS_QI;
	case SR_TYPE_INT64:
	case SR_TYPE_FLOAT64:
		snprintf(reason, size, "a number");
		return SR_CLASS_SA;
	case SR_TYPE_STRING:
		break;
	}
	snprintf(reason, size, c->values ? "free text" : "no values at all");
	return SR_CLASS_SA;
}

double sr_suggest_round_out(double v, int up)
{
	double scale;
	int e;

	if (v == 0 || !isfinite(v))
		return v;
	e = (int)floor(log10(fabs(v))) - 1;
	/* Powers of ten are exact as doubles up to 1e22: multiply by an
	 * exact 10^-e rather than by an inexact 10^e when e < 0. */
	if (e < 0) {
		scale = pow(10, -e);
		return (up ? ceil(v * scale) : floor(v * scale)) / scale;
	}
	scale = pow(10, e);
	return (up ? ceil(v / scale) : floor(v / scale)) * scale;
}

/* A bound: a JSON integer when whole, else a number. */
static json_t *bound_json(double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *column_json(const struct sr_profile_column *c, enum sr_class cls)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "class", json_string(sr_class_name(cls))) ||
	    json_object_set_new(o, "type", json_string(sr_type_name(c->type))))
		goto fail;
	if (cls != SR_CLASS_ID && c->has_range) {
		json_t *b = json_array();
		if (json_object_set_new(o, "bounds", b) ||
		    json_array_append_new(b, bound_json(sr_suggest_round_out(c->min, 0))) ||
		    json_array_append_new(b, bound_json(sr_suggest_round_out(c->max, 1))))
			goto fail;
	}
	if (cls == SR_CLASS_QI && c->domain &&
	    (c->type == SR_TYPE_STRING || c->type == SR_TYPE_BOOL)) {
		json_t *d = json_array();
		if (json_object_set_new(o, "domain", d))
			goto fail;
		for (size_t i = 0; i < c->ndomain; i++) {
			json_t *v = c->type == SR_TYPE_BOOL ?
				    json_boolean(strcasecmp(c->domain[i], "true") == 0) :
				    json_string(c->domain[i]);
			if (json_array_append_new(d, v))
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int add_line(json_t *review, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int add_line(json_t *review, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return json_array_append_new(review, json_string(line));
}

int sr_suggest_policy(const struct sr_profile *p, const char *const *nulls,
		      size_t nnulls, json_t **out, struct sr_err *err)
{
	json_t *doc = json_object(), *review = json_array(), *cols = json_object();
	char reason[160];
	int fail;

	*out = NULL;
	if (!doc || !review || !cols) {
		json_decref(doc);
		json_decref(review);
		json_decref(cols);
		return sr_fail(err, SR_ENOMEM, "policy init: out of memory");
	}
	fail = json_object_set_new(doc, "_review", review) != 0;
	if (!fail) {
		fail = add_line(review, "A draft written by 'sealroom policy init' from %s (%llu rows). Nothing in it is a decision.",
				p->source, (unsigned long long)p->rows) ||
		       add_line(review, "Check every column's class: id (direct identifier, join only), qi (quasi-identifier: filter, group), sa (sensitive attribute: aggregate, feature, label), public (anything).") ||
		       add_line(review, "Bounds were derived from the data and rounded outward to two significant digits; they are published with the dataset, so widen them to what the column can hold, not what this file happens to hold.") ||
		       add_line(review, "Domains list the values seen in this file; they are published too. min_group_size 10 is a starting point. See docs/policy.md.") ||
		       add_line(review, "Delete this _review key when done: sealroom refuses a policy that still has it.");
	}
	if (!fail)
		fail = json_object_set_new(doc, "columns", json_incref(cols)) != 0;
	for (size_t j = 0; !fail && j < p->ncolumns; j++) {
		const struct sr_profile_column *c = &p->columns[j];
		enum sr_class cls = sr_suggest_class(c, reason, sizeof(reason));
		char lo[32] = "", hi[32] = "";

		fail = json_object_set_new(cols, c->name, column_json(c, cls)) != 0;
		if (c->has_range && cls != SR_CLASS_ID) {
			snprintf(lo, sizeof(lo), "%.15g", c->min);
			snprintf(hi, sizeof(hi), "%.15g", c->max);
		}
		if (!fail)
			fail = add_line(review, "%.128s: %s (%s)%s%s%s%s%s", c->name,
					sr_class_name(cls), reason,
					lo[0] ? "; bounds from the data, min " : "", lo,
					lo[0] ? ", max " : "", hi,
					c->usual_tokens ? "; holds NA/NULL-like tokens that are not declared as nulls: see --null" : "");
	}
	if (!fail)
		fail = json_object_set_new(doc, "min_group_size", json_integer(10)) != 0;
	if (!fail && nnulls) {
		json_t *n = json_array();
		fail = json_object_set_new(doc, "nulls", n) != 0;
		for (size_t i = 0; !fail && i < nnulls; i++)
			fail = json_array_append_new(n, json_string(nulls[i])) != 0;
	}
	json_decref(cols);
	if (fail) {
		json_decref(doc);
		return sr_fail(err, SR_ENOMEM, "policy init: out of memory");
	}
	*out = doc;
	return SR_OK;
}
