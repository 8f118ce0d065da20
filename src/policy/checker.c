/*
 * checker.c - the security checker (see checker.h).
 */
#include "policy/checker.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/text.h"
#include "kinds/kind.h"
#include "base/banned.h"

/* A dataset version id: hex BLAKE2b-256 (store/store.h). */
#define VERSION_HEX_LEN 64

/* A column usage that a spec asks for. */
struct usage {
	size_t input;          /* index into the spec's inputs */
	const char *column;
	enum sr_usage usage;
};

struct sr_check {
	const json_t *spec;
	const struct sr_job_kind *kind;
	const struct sr_check_dataset **inputs;   /* resolved, per spec input */
	size_t ninputs;
	struct usage *usages;
	size_t nusages;
	const char *const *receivers;
	size_t nreceivers;
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

int sr_check_violation(struct sr_check *c, const char *dataset,
		       const char *column, const char *usage, const char *rule,
		       struct sr_err *err, const char *fmt, ...)
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

int sr_check_use(struct sr_check *c, size_t input, const char *column,
		 enum sr_usage usage, struct sr_err *err)
{
	struct usage *grown;

	if (input >= c->ninputs)
		return sr_fail(err, SR_EINVAL, "checker: input %zu out of range", input);
	grown = sr_realloc(c->usages, (c->nusages + 1) * sizeof(*grown));
	if (!grown)
		return sr_fail(err, SR_ENOMEM, "checker: out of memory");
	c->usages = grown;
	grown[c->nusages].input = input;
	grown[c->nusages].column = column;
	grown[c->nusages].usage = usage;
	c->nusages++;
	return SR_OK;
}

const json_t *sr_check_spec(const struct sr_check *c)
{
	return c->spec;
}

size_t sr_check_ninputs(const struct sr_check *c)
{
	return c->ninputs;
}

const struct sr_check_dataset *sr_check_input(const struct sr_check *c, size_t i)
{
	return i < c->ninputs ? c->inputs[i] : NULL;
}

size_t sr_check_nreceivers(const struct sr_check *c)
{
	return c->nreceivers;
}

const char *sr_check_receiver(const struct sr_check *c, size_t i)
{
	return i < c->nreceivers ? c->receivers[i] : NULL;
}

static const struct sr_check_dataset *
find_dataset(const struct sr_check_dataset *ds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ds[i].name, name) == 0)
			return &ds[i];
	return NULL;
}

static const char *const spec_keys[] = { "kind", "inputs", "receivers", "tee", NULL };
static const char *const input_keys[] = { "dataset", "version_id", NULL };

/* Unknown keys of obj: those in neither the generic nor the kind's list. */
static int check_keys(const json_t *obj, const char *path,
		      const char *const *generic, const char *const *own,
		      struct sr_err *err)
{
	const char *all[48];
	size_t n = 0;
	int rc;

	for (size_t i = 0; generic[i] && n + 1 < sizeof(all) / sizeof(*all); i++)
		all[n++] = generic[i];
	for (size_t i = 0; own && own[i] && n + 1 < sizeof(all) / sizeof(*all); i++)
		all[n++] = own[i];
	all[n] = NULL;
	rc = sr_json_check_keys(obj, path, all, err);
	if (rc == SR_EINVAL && err) {
		/* Specs are written by hand: say what the kind takes. */
		size_t len = strlen(err->msg);
		for (size_t i = 0; i < n; i++) {
			int w = snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s",
					 i == 0 ? " (expected " : i + 1 == n ? " or " : ", ",
					 all[i]);
			if (w < 0 || (size_t)w >= sizeof(err->msg) - len)
				break;
			len += (size_t)w;
		}
		if (len + 2 <= sizeof(err->msg))
			memcpy(err->msg + len, ")", 2);
	}
	return rc;
}

/* inputs[i].version_id, when given: 64 lowercase hex digits. */
static int check_version(const json_t *in, const char *path, struct sr_err *err)
{
	const json_t *v = json_object_get(in, "version_id");
	const char *s = json_string_value(v);
	size_t len = s ? strlen(s) : 0;
	int ok = len == VERSION_HEX_LEN;

	if (!v)
		return SR_OK;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	if (!ok)
		return sr_fail(err, SR_EINVAL,
			       "%s.version_id: expected the dataset version's id (%d lowercase hex digits)",
			       path, VERSION_HEX_LEN);
	return SR_OK;
}

static int resolve_inputs(struct sr_check *c, const struct sr_check_dataset *ds,
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
		rc = check_keys(in, path, input_keys, c->kind->input_keys, err);
		if (rc == SR_OK)
			rc = sr_json_get_string(in, path, "dataset", 1, &name, err);
		if (rc == SR_OK)
			rc = check_version(in, path, err);
		if (rc)
			return rc;
		c->inputs[i] = find_dataset(ds, nds, name);
		if (!c->inputs[i]) {
			rc = sr_check_violation(c, name, NULL, NULL, "unknown-dataset", err,
				       "dataset %s is not published in this project", name);
			if (rc)
				return rc;
		}
	}
	return SR_OK;
}

static int resolve_receivers(struct sr_check *c, struct sr_err *err)
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
static int generic_rules(struct sr_check *c, int64_t now, struct sr_err *err)
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
			rc = sr_check_violation(c, d->name, us->column, uname, "unknown-column",
				       err, "%s has no column '%s'", d->name, us->column);
		else if (!(col->allow & us->usage))
			rc = sr_check_violation(c, d->name, us->column, uname,
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
		if (c->kind->policy_bit ? !(d->policy->jobs & c->kind->policy_bit) :
		    d->policy->jobs != SR_JOB_ALL)
			rc = sr_check_violation(c, d->name, NULL, NULL, "kind-not-allowed", err,
				       "%s does not allow %s jobs", d->name,
				       c->kind->name);
		if (rc == SR_OK && d->policy->row_filter &&
		    !(c->kind->flags & SR_KIND_ROW_FILTER))
			rc = sr_check_violation(c, d->name, NULL, NULL,
				       "row-filter-not-applied", err,
				       "%s has a row_filter, which %s jobs cannot apply yet",
				       d->name, c->kind->name);
		if (rc == SR_OK && d->policy->expires && now >= d->policy->expires)
			rc = sr_check_violation(c, d->name, NULL, NULL, "expired", err,
				       "the policy of %s has expired", d->name);
		for (size_t r = 0; rc == SR_OK && r < c->nreceivers; r++) {
			const char *who = c->receivers[r];
			int allowed = strcmp(who, d->owner) == 0;
			for (size_t k = 0; !allowed && k < d->policy->nreceivers; k++)
				allowed = strcmp(who, d->policy->receivers[k]) == 0;
			if (!allowed)
				rc = sr_check_violation(c, d->name, NULL, NULL,
					       "receiver-not-allowed", err,
					       "%s may not receive outputs of %s (not in its receivers)",
					       who, d->name);
		}
	}
	return rc;
}

/*
 * TEE mode (docs/tee.md): a spec with "tee": {"executor": ORG,
 * "measurements": ["sha256:...", ...]} runs at that attested executor;
 * the approvals cover the executor's identity and the measurements it
 * reports ('sealroom executor --measure' prints them).  ("mode" is taken:
 * psi's own key.)  A malformed section is SR_EINVAL; every input's policy
 * must allow tee (tee-not-allowed) and list every measurement
 * (tee-measurement-not-trusted); the executor may not receive the output
 * nor own an input (tee-executor-is-party): it is the one party that sees
 * plaintext, and its outputs go sealed to the receivers.  An input under
 * a differential-privacy budget is refused (tee-dp-budget): the budget is
 * charged by its owner's node in the federated run, and the executor keeps
 * none.
 */
static int is_org_id(const char *s)
{
	if (!s || strlen(s) != 36 || memcmp(s, "org_", 4) != 0)
		return 0;
	for (size_t i = 4; i < 36; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int tee_rules(struct sr_check *c, struct sr_err *err)
{
	static const char *const keys[] = { "executor", "measurements", NULL };
	const json_t *tee = json_object_get(c->spec, "tee");
	const json_t *ex = json_object_get(tee, "executor");
	const json_t *ms = json_object_get(tee, "measurements");
	uint8_t m[SR_POLICY_TEE_MEASUREMENTS_MAX][32];
	size_t nm;
	int rc = SR_OK;

	if (!tee)
		return SR_OK;
	if (!json_is_object(tee))
		return sr_fail(err, SR_EINVAL,
			       "spec.tee: expected {\"executor\": ORG_ID, \"measurements\": [...]}");
	if ((rc = sr_json_check_keys(tee, "spec.tee", keys, err)) != SR_OK)
		return rc;
	if (!is_org_id(json_string_value(ex)))
		return sr_fail(err, SR_EINVAL,
			       "spec.tee.executor: expected the executor's organization id (org_ and 32 lowercase hex digits)");
	nm = json_array_size(ms);
	if (!json_is_array(ms) || nm == 0 || nm > SR_POLICY_TEE_MEASUREMENTS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "spec.tee.measurements: expected 1 to %d measurements of the executor (\"sha256:<64 hex>\")",
			       SR_POLICY_TEE_MEASUREMENTS_MAX);
	for (size_t k = 0; k < nm; k++) {
		char path[48];
		snprintf(path, sizeof(path), "measurements[%zu]", k);
		if ((rc = sr_policy_measurement_parse(json_array_get(ms, k), "spec.tee", path, m[k], err)))
			return rc;
	}
	for (size_t r = 0; rc == SR_OK && r < c->nreceivers; r++)
		if (strcmp(c->receivers[r], json_string_value(ex)) == 0)
			rc = sr_check_violation(c, NULL, NULL, NULL, "tee-executor-is-party", err,
				       "the executor %s may not be a receiver", c->receivers[r]);
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++) {
		const struct sr_check_dataset *d = c->inputs[i];

		if (!d)
			continue;
		if (strcmp(d->owner, json_string_value(ex)) == 0) {
			rc = sr_check_violation(c, d->name, NULL, NULL, "tee-executor-is-party", err,
				       "the executor may not own an input (%s)", d->name);
		} else if (d->policy->dp.enabled) {
			rc = sr_check_violation(c, d->name, NULL, NULL, "tee-dp-budget", err,
				       "%s has a differential-privacy budget, which TEE mode does not charge: run it federated",
				       d->name);
		} else if (!d->policy->tee.allow) {
			rc = sr_check_violation(c, d->name, NULL, NULL, "tee-not-allowed", err,
				       "%s does not allow TEE mode (its policy has no \"tee\": {\"allow\": true})",
				       d->name);
		} else {
			for (size_t k = 0; rc == SR_OK && k < nm; k++)
				if (!sr_policy_tee_trusts(d->policy, m[k]))
					rc = sr_check_violation(c, d->name, NULL, NULL,
						       "tee-measurement-not-trusted", err,
						       "%s does not trust the executor measurement %.23s... (not in its tee.measurements)",
						       d->name, json_string_value(json_array_get(ms, k)));
		}
	}
	return rc;
}

int sr_check_job(const json_t *spec, const struct sr_check_dataset *datasets,
		 size_t ndatasets, int64_t now, struct sr_verdict *out,
		 struct sr_err *err)
{
	struct sr_check c;
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
	c.kind = sr_kind_find(kind);
	if (!c.kind) {
		rc = sr_fail(err, SR_EINVAL,
			     "spec.kind: unknown job kind '%.40s' (this node runs: %s)",
			     kind, sr_kind_names());
		goto out;
	}
	rc = check_keys(spec, "spec", spec_keys, c.kind->spec_keys, err);
	if (rc == SR_OK)
		rc = resolve_inputs(&c, datasets, ndatasets, err);
	if (rc == SR_OK)
		rc = resolve_receivers(&c, err);
	if (rc == SR_OK)
		rc = c.kind->check(&c, err);
	if (rc == SR_OK)
		rc = generic_rules(&c, now, err);
	if (rc == SR_OK)
		rc = tee_rules(&c, err);
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
