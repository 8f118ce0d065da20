/*
 * checker.c - the security checker (see checker.h).
 */
#include "policy/checker.h"

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/text.h"
#include "base/banned.h"

/* A column usage that a spec asks for. */
struct usage {
	size_t input;          /* index into the spec's inputs */
	const char *column;
	enum sr_usage usage;
};

struct check {
	const json_t *spec;
	const struct sr_check_dataset **inputs;   /* resolved, per spec input */
	size_t ninputs;
	struct usage *usages;
	size_t nusages;
	const char *const *receivers;
	size_t nreceivers;
	enum sr_job_kind kind;
	struct sr_verdict *out;
};

void sr_verdict_init(struct sr_verdict *v)
{
	v->accept = 1;
	v->violations = NULL;
	v->count = 0;
}

void sr_verdict_release(struct sr_verdict *v)
{
	for (size_t i = 0; i < v->count; i++) {
		struct sr_violation *x = &v->violations[i];
		sr_free(x->dataset);
		sr_free(x->column);
		sr_free(x->usage);
		sr_free(x->rule);
		sr_free(x->message);
	}
	sr_free(v->violations);
	sr_verdict_init(v);
}

static char *dup_or_null(const char *s)
{
	return s ? sr_strdup(s) : NULL;
}

static int violation(struct check *c, const char *dataset, const char *column,
		     const char *usage, const char *rule, struct sr_err *err,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int violation(struct check *c, const char *dataset, const char *column,
		     const char *usage, const char *rule, struct sr_err *err,
		     const char *fmt, ...)
{
	struct sr_verdict *v = c->out;
	struct sr_violation *grown, *x;
	struct sr_buf msg;
	va_list ap;
	int rc;

	grown = sr_realloc(v->violations, (v->count + 1) * sizeof(*grown));
	if (!grown)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	v->violations = grown;
	x = &grown[v->count];
	memset(x, 0, sizeof(*x));
	sr_buf_init(&msg, 0);
	va_start(ap, fmt);
	rc = sr_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	x->dataset = dup_or_null(dataset);
	x->column = dup_or_null(column);
	x->usage = dup_or_null(usage);
	x->rule = sr_strdup(rule);
	x->message = rc ? NULL : sr_buf_detach(&msg, NULL);
	sr_buf_release(&msg);
	v->count++;
	v->accept = 0;
	if ((dataset && !x->dataset) || (column && !x->column) ||
	    (usage && !x->usage) || !x->rule || !x->message)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	return SR_OK;
}

static int add_usage(struct check *c, size_t input, const char *column,
		     enum sr_usage usage, struct sr_err *err)
{
	struct usage *grown = sr_realloc(c->usages,
					 (c->nusages + 1) * sizeof(*grown));

	if (!grown)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	c->usages = grown;
	grown[c->nusages].input = input;
	grown[c->nusages].column = column;
	grown[c->nusages].usage = usage;
	c->nusages++;
	return SR_OK;
}

static const struct sr_check_dataset *
find_dataset(const struct sr_check_dataset *ds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ds[i].name, name) == 0)
			return &ds[i];
	return NULL;
}

/* PSI: every input contributes one key column, used to join. */
static int psi_usages(struct check *c, struct sr_err *err)
{
	const json_t *inputs = json_object_get(c->spec, "inputs");
	const char *mode = NULL;
	json_t *in, *norm;
	size_t i;
	int rc;

	static const char *const keys[] = { "kind", "inputs", "mode",
		"receivers", "normalize", NULL };
	rc = sr_json_check_keys(c->spec, "spec", keys, err);
	if (rc)
		return rc;
	rc = sr_json_get_string(c->spec, "spec", "mode", 1, &mode, err);
	if (rc)
		return rc;
	if (strcmp(mode, "intersection") != 0 && strcmp(mode, "cardinality") != 0)
		return sr_fail(err, SR_EINVAL,
			       "spec.mode: unknown mode '%.40s' (expected intersection or cardinality)",
			       mode);
	if (json_array_size(inputs) < 2)
		return sr_fail(err, SR_EINVAL,
			       "spec.inputs: psi needs at least two inputs");
	norm = json_object_get(c->spec, "normalize");
	if (norm) {
		json_t *n;
		if (!json_is_array(norm))
			return sr_fail(err, SR_EINVAL,
				       "spec.normalize: expected an array of trim, lower, digits");
		json_array_foreach(norm, i, n) {
			const char *s = json_string_value(n);
			if (!s || (strcmp(s, "trim") && strcmp(s, "lower") &&
				   strcmp(s, "digits")))
				return sr_fail(err, SR_EINVAL,
					       "spec.normalize[%zu]: expected trim, lower or digits", i);
		}
	}
	json_array_foreach(inputs, i, in) {
		const char *column = NULL;
		char path[48];
		static const char *const in_keys[] = { "dataset", "column", NULL };
		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		rc = sr_json_check_keys(in, path, in_keys, err);
		if (rc == SR_OK)
			rc = sr_json_get_string(in, path, "column", 1, &column, err);
		if (rc)
			return rc;
		rc = add_usage(c, i, column, SR_USE_JOIN, err);
		if (rc)
			return rc;
	}
	/* The shapes the protocol runs (docs/protocols/psi.md): one input per
	 * party, receivers that take part with a set of their own, one
	 * receiver for three or more parties, two parties for cardinality. */
	for (size_t a = 0; a < c->ninputs; a++)
		for (size_t b = a + 1; b < c->ninputs; b++)
			if (c->inputs[a] && c->inputs[b] &&
			    strcmp(c->inputs[a]->owner, c->inputs[b]->owner) == 0) {
				rc = violation(c, c->inputs[b]->name, NULL, NULL,
					       "psi-one-input-per-party", err,
					       "%s and %s have the same owner: psi takes one input per organization",
					       c->inputs[a]->name, c->inputs[b]->name);
				if (rc)
					return rc;
			}
	for (size_t r = 0; r < c->nreceivers; r++) {
		int party = 0;
		for (size_t k = 0; k < c->ninputs; k++)
			party |= c->inputs[k] && strcmp(c->inputs[k]->owner, c->receivers[r]) == 0;
		if (!party) {
			rc = violation(c, NULL, NULL, NULL, "psi-receiver-not-a-party", err,
				       "receiver %.40s owns none of the inputs: a psi receiver takes part with its own set",
				       c->receivers[r]);
			if (rc)
				return rc;
		}
	}
	if (c->ninputs > 2 && c->nreceivers != 1) {
		rc = violation(c, NULL, NULL, NULL, "psi-multi-party-one-receiver", err,
			       "psi with %zu parties delivers to exactly one receiver (the spec names %zu)",
			       c->ninputs, c->nreceivers);
		if (rc)
			return rc;
	}
	if (c->ninputs > 2 && strcmp(mode, "cardinality") == 0) {
		rc = violation(c, NULL, NULL, NULL, "psi-cardinality-two-parties", err,
			       "psi cardinality mode takes exactly two parties (the spec names %zu)",
			       c->ninputs);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int resolve_inputs(struct check *c, const struct sr_check_dataset *ds,
			  size_t nds, struct sr_err *err)
{
	const json_t *inputs = json_object_get(c->spec, "inputs");
	json_t *in;
	size_t i;
	int rc;

	if (!json_is_array(inputs) || json_array_size(inputs) == 0)
		return sr_fail(err, SR_EINVAL, "spec.inputs: expected a non-empty array");
	c->ninputs = json_array_size(inputs);
	c->inputs = sr_calloc(c->ninputs, sizeof(*c->inputs));
	if (!c->inputs)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	json_array_foreach(inputs, i, in) {
		const char *name = NULL;
		char path[48];
		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		if (!json_is_object(in))
			return sr_fail(err, SR_EINVAL, "%s: expected an object", path);
		rc = sr_json_get_string(in, path, "dataset", 1, &name, err);
		if (rc)
			return rc;
		c->inputs[i] = find_dataset(ds, nds, name);
		if (!c->inputs[i]) {
			rc = violation(c, name, NULL, NULL, "unknown-dataset", err,
				       "dataset %s is not published in this project", name);
			if (rc)
				return rc;
		}
	}
	return SR_OK;
}

static int resolve_receivers(struct check *c, struct sr_err *err)
{
	const json_t *recv = json_object_get(c->spec, "receivers");
	json_t *r;
	size_t i;

	if (!json_is_array(recv) || json_array_size(recv) == 0)
		return sr_fail(err, SR_EINVAL,
			       "spec.receivers: expected a non-empty array of organization ids");
	c->nreceivers = json_array_size(recv);
	c->receivers = sr_calloc(c->nreceivers, sizeof(char *));
	if (!c->receivers)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	json_array_foreach(recv, i, r) {
		if (!json_is_string(r))
			return sr_fail(err, SR_EINVAL,
				       "spec.receivers[%zu]: expected an organization id", i);
		((const char **)c->receivers)[i] = json_string_value(r);
	}
	return SR_OK;
}

/* Generic rules: usages, receivers, kinds, expiry. */
static int generic_rules(struct check *c, int64_t now, struct sr_err *err)
{
	int rc = SR_OK;

	for (size_t u = 0; rc == SR_OK && u < c->nusages; u++) {
		const struct usage *us = &c->usages[u];
		const struct sr_check_dataset *d = c->inputs[us->input];
		const struct sr_policy_column *col;
		const char *uname = sr_usage_name(us->usage);

		if (!d)
			continue;   /* already reported as unknown */
		col = sr_policy_column(d->policy, us->column);
		if (!col)
			rc = violation(c, d->name, us->column, uname, "unknown-column",
				       err, "%s has no column '%s'", d->name, us->column);
		else if (!(col->allow & us->usage))
			rc = violation(c, d->name, us->column, uname,
				       "usage-not-allowed", err,
				       "%s.%s (class %s) does not allow '%s'",
				       d->name, us->column, sr_class_name(col->cls),
				       uname);
	}
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++) {
		const struct sr_check_dataset *d = c->inputs[i];
		int dup = 0;

		if (!d)
			continue;
		for (size_t k = 0; k < i; k++)
			if (c->inputs[k] == d)
				dup = 1;
		if (dup)
			continue;
		if (!(d->policy->jobs & c->kind))
			rc = violation(c, d->name, NULL, NULL, "kind-not-allowed", err,
				       "%s does not allow %s jobs", d->name,
				       sr_job_kind_name(c->kind));
		if (rc == SR_OK && d->policy->expires && now >= d->policy->expires)
			rc = violation(c, d->name, NULL, NULL, "expired", err,
				       "the policy of %s has expired", d->name);
		for (size_t r = 0; rc == SR_OK && r < c->nreceivers; r++) {
			const char *who = c->receivers[r];
			int allowed = strcmp(who, d->owner) == 0;
			for (size_t k = 0; !allowed && k < d->policy->nreceivers; k++)
				allowed = strcmp(who, d->policy->receivers[k]) == 0;
			if (!allowed)
				rc = violation(c, d->name, NULL, NULL,
					       "receiver-not-allowed", err,
					       "%s may not receive outputs of %s (not in its receivers)",
					       who, d->name);
		}
	}
	return rc;
}

int sr_check_job(const json_t *spec, const struct sr_check_dataset *datasets,
		 size_t ndatasets, int64_t now, struct sr_verdict *out,
		 struct sr_err *err)
{
	struct check c;
	const char *kind = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.spec = spec;
	c.out = out;
	sr_verdict_init(out);
	if (!json_is_object(spec))
		return sr_fail(err, SR_EINVAL, "spec: expected a JSON object");
	rc = sr_json_get_string(spec, "spec", "kind", 1, &kind, err);
	if (rc)
		goto out;
	if (strcmp(kind, "psi") == 0) {
		c.kind = SR_JOB_PSI;
	} else {
		rc = sr_fail(err, SR_EINVAL,
			     "spec.kind: unknown or not yet supported job kind '%.40s' (supported: psi)",
			     kind);
		goto out;
	}
	rc = resolve_inputs(&c, datasets, ndatasets, err);
	if (rc == SR_OK)
		rc = resolve_receivers(&c, err);
	if (rc == SR_OK)
		rc = psi_usages(&c, err);
	if (rc == SR_OK)
		rc = generic_rules(&c, now, err);
out:
	sr_free(c.inputs);
	sr_free(c.usages);
	sr_free((void *)c.receivers);
	if (rc)
		sr_verdict_release(out);
	return rc;
}

/*
 * A verdict is recorded in the ledger, whose free text is 1 to
 * SR_EVENT_TEXT_MAX bytes of UTF-8 without control characters; the
 * messages quote names from the spec, which may be anything.  Clean them
 * so that every verdict can be recorded.
 */
static json_t *clean_string(const char *s)
{
	char buf[SR_EVENT_TEXT_MAX + 1];
	size_t len = strlen(s);

	if (len > SR_EVENT_TEXT_MAX)
		len = SR_EVENT_TEXT_MAX;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sr_text_clean(buf, SR_EVENT_TEXT_MAX) == 0)
		memcpy(buf, "?", 2);
	return json_string(buf);
}

json_t *sr_verdict_to_json(const struct sr_verdict *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < v->count; i++) {
		const struct sr_violation *x = &v->violations[i];
		json_t *o = json_pack("{s:s,s:o}", "rule", x->rule,
				      "message", clean_string(x->message));
		int bad = !o;
		if (o && x->dataset)
			bad |= json_object_set_new(o, "dataset", clean_string(x->dataset));
		if (o && x->column)
			bad |= json_object_set_new(o, "column", clean_string(x->column));
		if (o && x->usage)
			bad |= json_object_set_new(o, "usage", clean_string(x->usage));
		if (bad) {
			json_decref(o);
			json_decref(arr);
			return NULL;
		}
		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	if (!arr)
		return NULL;
	return json_pack("{s:b,s:o}", "accept", v->accept, "violations", arr);
}
