/*
 * body.c - the body schema of every event type (docs/ledger.md lists them).
 *
 * These checks are stateless.  They make sure that everything the fold
 * later reads from a body is there, of the right type and form, so chain.c
 * and fold.c can read bodies without re-checking types.  Free text (reasons,
 * names of people-facing things) may not hold control characters: it ends
 * up on terminals, and an escape sequence in a reason must not be able to
 * rewrite what `sealroom ledger log` shows.
 */
#include "ledger/ledger_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "policy/policy.h"
#include "store/value.h"
#include "base/banned.h"

#define PATH_MAX_LEN SR_LEDGER_PATH_MAX
#define KIND_MAX 32
#define RULE_MAX 64
#define EPSILON_TEXT_MAX 32
#define DATASET_TEXT_MAX (SR_ORG_NAME_MAX + 1 + SR_DATASET_NAME_MAX)

/* ---- typed fields ---------------------------------------------------- */

static int need_object(const json_t *v, const char *path, struct sr_err *err)
{
	if (!json_is_object(v))
		return sr_fail(err, SR_EINVAL, "%s: expected an object", path);
	return SR_OK;
}

/* obj is an object with only the keys in allowed. */
static int object_keys(const json_t *obj, const char *path,
		       const char *const *allowed, struct sr_err *err)
{
	int rc = need_object(obj, path, err);

	return rc ? rc : sr_json_check_keys(obj, path, allowed, err);
}

static int text_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Free text: 1 to max bytes, no control characters. */
static int text_field(const json_t *obj, const char *path, const char *key,
		      int required, size_t max, const char **out,
		      struct sr_err *err)
{
	const char *s = NULL;
	int rc = sr_json_get_string(obj, path, key, required, &s, err);

	if (rc || !s)
		return rc;
	if (!text_ok(s, max))
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: expected 1 to %zu bytes of text without control characters",
			       path, key, max);
	if (out)
		*out = s;
	return SR_OK;
}

static int org_id_field(const json_t *obj, const char *path, const char *key,
			const char **out, struct sr_err *err)
{
	const char *s = NULL;
	int rc = sr_json_get_string(obj, path, key, 1, &s, err);

	if (rc)
		return rc;
	if (!sr_ledger_is_org_id(s))
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: expected an organization id (org_ and 32 lowercase hex digits)",
			       path, key);
	if (out)
		*out = s;
	return SR_OK;
}

static int hex_field(const json_t *obj, const char *path, const char *key,
		     int required, size_t nbytes, const char **out,
		     struct sr_err *err)
{
	const char *s = NULL;
	int rc = sr_json_get_string(obj, path, key, required, &s, err);

	if (rc || !s)
		return rc;
	if (!sr_ledger_is_hex(s, 2 * nbytes))
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: expected %zu lowercase hex digits",
			       path, key, 2 * nbytes);
	if (out)
		*out = s;
	return SR_OK;
}

static int name_field(const json_t *obj, const char *path, const char *key,
		      size_t max, const char **out, struct sr_err *err)
{
	const char *s = NULL;
	int rc = sr_json_get_string(obj, path, key, 1, &s, err);

	if (rc)
		return rc;
	if (!sr_ledger_is_name(s, max))
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: expected a name of 1 to %zu characters a-z, 0-9, '_' or '-', starting with a letter",
			       path, key, max);
	if (out)
		*out = s;
	return SR_OK;
}

static int count_field(const json_t *obj, const char *path, const char *key,
		       int64_t max, struct sr_err *err)
{
	int64_t v = 0;
	int rc = sr_json_get_int(obj, path, key, 1, &v, err);

	if (rc)
		return rc;
	if (v < 0 || v > max)
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: expected an integer from 0 to %lld",
			       path, key, (long long)max);
	return SR_OK;
}

static int array_field(const json_t *obj, const char *path, const char *key,
		       size_t min, size_t max, const json_t **out,
		       struct sr_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return sr_fail(err, SR_EINVAL, "%s.%s: required key is missing",
			       path, key);
	if (!json_is_array(v))
		return sr_fail(err, SR_EINVAL, "%s.%s: expected an array", path,
			       key);
	if (json_array_size(v) < min || json_array_size(v) > max)
		return sr_fail(err, json_array_size(v) > max ? SR_ELIMIT : SR_EINVAL,
			       "%s.%s: expected %zu to %zu entries, got %zu",
			       path, key, min, max, json_array_size(v));
	*out = v;
	return SR_OK;
}

/* ---- per type --------------------------------------------------------- */

static int body_project_create(const json_t *body, const char *path,
			       struct sr_err *err)
{
	static const char *const keys[] = { "name", "creator", NULL };
	static const char *const creator_keys[] = { "org_id", "name",
		"sign_pk", "kx_pk", NULL };
	char sub[PATH_MAX_LEN];
	const json_t *creator = json_object_get(body, "creator");
	const char *org_id = NULL, *sign_hex = NULL;
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];
	char derived[SR_ORG_ID_LEN + 1];
	int rc;

	rc = sr_json_check_keys(body, path, keys, err);
	if (rc == SR_OK)
		rc = text_field(body, path, "name", 1, SR_PROJECT_NAME_MAX, NULL, err);
	if (rc)
		return rc;
	sr_ledger_subpath(sub, "%s.creator", path);
	if (!creator)
		return sr_fail(err, SR_EINVAL, "%s: required key is missing", sub);
	rc = object_keys(creator, sub, creator_keys, err);
	if (rc == SR_OK)
		rc = org_id_field(creator, sub, "org_id", &org_id, err);
	if (rc == SR_OK)
		rc = name_field(creator, sub, "name", SR_ORG_NAME_MAX, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(creator, sub, "sign_pk", 1, SR_SIGN_PUBLICKEYBYTES,
			       &sign_hex, err);
	if (rc == SR_OK)
		rc = hex_field(creator, sub, "kx_pk", 1, SR_BOX_PUBLICKEYBYTES,
			       NULL, err);
	if (rc)
		return rc;
	if (sr_unhex(sign_pk, sizeof(sign_pk), sign_hex) != SR_OK)
		return sr_fail(err, SR_EINVAL, "%s.sign_pk: bad hex", sub);
	sr_identity_org_id(derived, sign_pk);
	if (strcmp(derived, org_id) != 0)
		return sr_fail(err, SR_EINVAL,
			       "%s.org_id: does not match sign_pk (the key gives %s)",
			       sub, derived);
	return SR_OK;
}

static int body_member_invite(const json_t *body, const char *path,
			      struct sr_err *err)
{
	static const char *const keys[] = { "org_id", NULL };
	int rc = sr_json_check_keys(body, path, keys, err);

	return rc ? rc : org_id_field(body, path, "org_id", NULL, err);
}

static int body_member_join(const json_t *body, const char *path,
			    struct sr_err *err)
{
	static const char *const keys[] = { "name", "sign_pk", "kx_pk", NULL };
	int rc = sr_json_check_keys(body, path, keys, err);

	if (rc == SR_OK)
		rc = name_field(body, path, "name", SR_ORG_NAME_MAX, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "sign_pk", 1, SR_SIGN_PUBLICKEYBYTES,
			       NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "kx_pk", 1, SR_BOX_PUBLICKEYBYTES,
			       NULL, err);
	return rc;
}

/* Bodies that hold at most an optional reason (member.leave). */
static int body_reason_only(const json_t *body, const char *path,
			    struct sr_err *err)
{
	static const char *const keys[] = { "reason", NULL };
	int rc = sr_json_check_keys(body, path, keys, err);

	return rc ? rc : text_field(body, path, "reason", 0, SR_EVENT_TEXT_MAX,
				    NULL, err);
}

static int parse_class(const char *s, enum sr_class *out)
{
	for (int c = SR_CLASS_ID; c <= SR_CLASS_PUBLIC; c++)
		if (strcmp(s, sr_class_name((enum sr_class)c)) == 0) {
			*out = (enum sr_class)c;
			return SR_OK;
		}
	return SR_EINVAL;
}

/*
 * The published policy must be the normalized form (sr_policy_to_json) of
 * a valid policy bound to the published schema, with the same classes: so
 * every node's checker reads the same policy the owner's node enforces.
 */
static int check_policy(const json_t *body, const char *path,
			const json_t *schema, const char **names,
			const enum sr_class *classes, const enum sr_type *types,
			struct sr_err *err)
{
	const json_t *given = json_object_get(body, "policy");
	char sub[PATH_MAX_LEN];
	struct sr_buf want, have;
	struct sr_policy pol;
	json_t *norm = NULL;
	size_t n = json_array_size(schema);
	int rc;

	sr_ledger_subpath(sub, "%s.policy", path);
	if (!given)
		return sr_fail(err, SR_EINVAL, "%s: required key is missing", sub);
	if (!json_is_object(given))
		return sr_fail(err, SR_EINVAL, "%s: expected an object", sub);
	sr_policy_init(&pol);
	sr_buf_init(&want, 0);
	sr_buf_init(&have, 0);
	rc = sr_ledger_canonical(given, &have, err);
	if (rc)
		goto out;
	if (have.len > SR_POLICY_BYTES_MAX) {
		rc = sr_fail(err, SR_ELIMIT, "%s: larger than the limit of %u bytes",
			     sub, SR_POLICY_BYTES_MAX);
		goto out;
	}
	rc = sr_policy_parse(have.data, have.len, sub, &pol, err);
	if (rc == SR_OK) {
		rc = sr_policy_bind(&pol, names, types, n, err);
		if (rc)
			sr_err_prefix(err, "%s", sub);
	}
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (pol.columns[i].cls != classes[i]) {
			rc = sr_fail(err, SR_EINVAL,
				     "%s.schema[%zu].class: '%s', but the policy classifies '%s' as '%s'",
				     path, i, sr_class_name(classes[i]), names[i],
				     sr_class_name(pol.columns[i].cls));
			goto out;
		}
	rc = sr_policy_to_json(&pol, &norm, err);
	if (rc == SR_OK)
		rc = sr_ledger_canonical(norm, &want, err);
	if (rc)
		goto out;
	if (want.len != have.len || memcmp(want.data, have.data, have.len) != 0)
		rc = sr_fail(err, SR_EINVAL,
			     "%s: not in normalized form (publish the policy exactly as the dataset's manifest holds it)",
			     sub);
out:
	/* Policy errors other than running out of memory are malformed input. */
	if (rc && rc != SR_ENOMEM && rc != SR_ELIMIT) {
		rc = SR_EINVAL;
		if (err)
			err->code = rc;
	}
	json_decref(norm);
	sr_policy_release(&pol);
	sr_buf_release(&want);
	sr_buf_release(&have);
	return rc;
}

static int body_dataset_publish(const json_t *body, const char *path,
				struct sr_err *err)
{
	static const char *const keys[] = { "dataset", "version_id", "rows",
		"schema", "policy", NULL };
	static const char *const col_keys[] = { "name", "type", "class", NULL };
	const char **names = NULL;
	enum sr_class *classes = NULL;
	enum sr_type *types = NULL;
	const json_t *schema = NULL, *col;
	char sub[PATH_MAX_LEN];
	size_t i, n;
	int rc;

	rc = sr_json_check_keys(body, path, keys, err);
	if (rc == SR_OK)
		rc = name_field(body, path, "dataset", SR_DATASET_NAME_MAX, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "version_id", 1, SR_HASH_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = count_field(body, path, "rows", (int64_t)SR_DATASET_ROWS_MAX, err);
	if (rc == SR_OK)
		rc = array_field(body, path, "schema", 1, SR_DATASET_COLUMNS_MAX,
				 &schema, err);
	if (rc)
		return rc;
	n = json_array_size(schema);
	names = sr_calloc(n, sizeof(*names));
	classes = sr_calloc(n, sizeof(*classes));
	types = sr_calloc(n, sizeof(*types));
	if (!names || !classes || !types) {
		rc = sr_fail(err, SR_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	json_array_foreach(schema, i, col) {
		const char *type = NULL, *cls = NULL;
		sr_ledger_subpath(sub, "%s.schema[%zu]", path, i);
		rc = object_keys(col, sub, col_keys, err);
		if (rc == SR_OK)
			rc = text_field(col, sub, "name", 1, SR_COLUMN_NAME_MAX,
					&names[i], err);
		if (rc == SR_OK)
			rc = sr_json_get_string(col, sub, "type", 1, &type, err);
		if (rc == SR_OK)
			rc = sr_json_get_string(col, sub, "class", 1, &cls, err);
		if (rc)
			goto out;
		if (sr_type_parse(type, &types[i]) != SR_OK) {
			rc = sr_fail(err, SR_EINVAL,
				     "%s.type: unknown type '%.40s' (expected int64, float64, string, bool or date)",
				     sub, type);
			goto out;
		}
		if (parse_class(cls, &classes[i]) != SR_OK) {
			rc = sr_fail(err, SR_EINVAL,
				     "%s.class: unknown class '%.40s' (expected id, qi, sa or public)",
				     sub, cls);
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0) {
				rc = sr_fail(err, SR_EINVAL,
					     "%s.name: duplicate column '%.80s'",
					     sub, names[i]);
				goto out;
			}
	}
	rc = check_policy(body, path, schema, names, classes, types, err);
out:
	sr_free(names);
	sr_free(classes);
	sr_free(types);
	return rc;
}

static int body_dataset_withdraw(const json_t *body, const char *path,
				 struct sr_err *err)
{
	static const char *const keys[] = { "dataset", NULL };
	int rc = sr_json_check_keys(body, path, keys, err);

	return rc ? rc : name_field(body, path, "dataset", SR_DATASET_NAME_MAX,
				    NULL, err);
}

/*
 * The parts of a spec the ledger relies on: kind, inputs (who owns them,
 * hence who must approve) and receivers (who may take part).  Every other
 * key is the job kind's business and is checked by the security checker.
 */
static int check_spec(const json_t *spec, const char *path, struct sr_err *err)
{
	const json_t *inputs = NULL, *receivers = NULL, *v;
	char sub[PATH_MAX_LEN];
	struct sr_buf canon;
	size_t i;
	int rc;

	if (!spec)
		return sr_fail(err, SR_EINVAL, "%s: required key is missing", path);
	rc = need_object(spec, path, err);
	if (rc == SR_OK)
		rc = name_field(spec, path, "kind", KIND_MAX, NULL, err);
	if (rc == SR_OK)
		rc = array_field(spec, path, "inputs", 1, SR_JOB_INPUTS_MAX,
				 &inputs, err);
	if (rc == SR_OK)
		rc = array_field(spec, path, "receivers", 1, SR_POLICY_LIST_MAX,
				 &receivers, err);
	if (rc)
		return rc;
	json_array_foreach(inputs, i, v) {
		const char *name = NULL;
		size_t org_len;
		sr_ledger_subpath(sub, "%s.inputs[%zu]", path, i);
		rc = need_object(v, sub, err);
		if (rc == SR_OK)
			rc = sr_json_get_string(v, sub, "dataset", 1, &name, err);
		if (rc == SR_OK && !sr_ledger_split_dataset(name, &org_len))
			rc = sr_fail(err, SR_EINVAL,
				     "%s.dataset: expected 'orgname.dataset', got '%.80s'",
				     sub, name);
		if (rc == SR_OK)
			rc = hex_field(v, sub, "version_id", 0, SR_HASH_BYTES,
				       NULL, err);
		if (rc)
			return rc;
	}
	json_array_foreach(receivers, i, v) {
		const char *org = json_string_value(v);
		if (!org || !sr_ledger_is_org_id(org))
			return sr_fail(err, SR_EINVAL,
				       "%s.receivers[%zu]: expected an organization id",
				       path, i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(receivers, k)),
				   org) == 0)
				return sr_fail(err, SR_EINVAL,
					       "%s.receivers[%zu]: duplicate receiver %s",
					       path, i, org);
	}
	sr_buf_init(&canon, 0);
	rc = sr_ledger_canonical(spec, &canon, err);
	if (rc == SR_OK && canon.len > SR_JOB_SPEC_BYTES_MAX)
		rc = sr_fail(err, SR_ELIMIT,
			     "%s: larger than the limit of %u bytes", path,
			     SR_JOB_SPEC_BYTES_MAX);
	sr_buf_release(&canon);
	return rc;
}

/* The shape of sr_verdict_to_json. */
static int check_verdict(const json_t *verdict, const char *path,
			 struct sr_err *err)
{
	static const char *const keys[] = { "accept", "violations", NULL };
	static const char *const v_keys[] = { "rule", "message", "dataset",
		"column", "usage", NULL };
	const json_t *list = NULL, *v;
	char sub[PATH_MAX_LEN];
	int accept = 0;
	size_t i;
	int rc;

	if (!verdict)
		return sr_fail(err, SR_EINVAL, "%s: required key is missing", path);
	rc = object_keys(verdict, path, keys, err);
	if (rc == SR_OK)
		rc = sr_json_get_bool(verdict, path, "accept", 1, &accept, err);
	if (rc == SR_OK)
		rc = array_field(verdict, path, "violations", 0, SIZE_MAX, &list,
				 err);
	if (rc)
		return rc;
	if (accept != (json_array_size(list) == 0))
		return sr_fail(err, SR_EINVAL,
			       "%s.accept: must be true exactly when there are no violations",
			       path);
	json_array_foreach(list, i, v) {
		sr_ledger_subpath(sub, "%s.violations[%zu]", path, i);
		rc = object_keys(v, sub, v_keys, err);
		if (rc == SR_OK)
			rc = name_field(v, sub, "rule", RULE_MAX, NULL, err);
		if (rc == SR_OK)
			rc = text_field(v, sub, "message", 1, SR_EVENT_TEXT_MAX,
					NULL, err);
		for (size_t k = 2; rc == SR_OK && v_keys[k]; k++)
			rc = text_field(v, sub, v_keys[k], 0, SR_EVENT_TEXT_MAX,
					NULL, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int body_job_propose(const json_t *body, const char *path,
			    struct sr_err *err)
{
	static const char *const keys[] = { "spec", "verdict", NULL };
	char sub[PATH_MAX_LEN];
	int rc = sr_json_check_keys(body, path, keys, err);

	if (rc)
		return rc;
	sr_ledger_subpath(sub, "%s.spec", path);
	rc = check_spec(json_object_get(body, "spec"), sub, err);
	if (rc)
		return rc;
	sr_ledger_subpath(sub, "%s.verdict", path);
	return check_verdict(json_object_get(body, "verdict"), sub, err);
}

/* job.approve {job_id, spec_hash}; job.reject adds an optional reason. */
static int body_job_vote(const json_t *body, const char *path, int reject,
			 struct sr_err *err)
{
	static const char *const approve_keys[] = { "job_id", "spec_hash", NULL };
	static const char *const reject_keys[] = { "job_id", "spec_hash",
		"reason", NULL };
	int rc = sr_json_check_keys(body, path,
				    reject ? reject_keys : approve_keys, err);

	if (rc == SR_OK)
		rc = hex_field(body, path, "job_id", 1, SR_EVENT_ID_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "spec_hash", 1, SR_HASH_BYTES, NULL, err);
	if (rc == SR_OK && reject)
		rc = text_field(body, path, "reason", 0, SR_EVENT_TEXT_MAX, NULL,
				err);
	return rc;
}

static int body_job_start(const json_t *body, const char *path,
			  struct sr_err *err)
{
	static const char *const keys[] = { "job_id", "head", "tee", NULL };
	static const char *const tee_keys[] = { "executor", "measurements", "quote_hash", NULL };
	const json_t *tee = json_object_get(body, "tee"), *ms = NULL, *m;
	char sub[PATH_MAX_LEN];
	size_t i;
	int rc = sr_json_check_keys(body, path, keys, err);

	if (rc == SR_OK)
		rc = hex_field(body, path, "job_id", 1, SR_EVENT_ID_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "head", 1, SR_EVENT_ID_BYTES, NULL, err);
	if (rc || !tee)
		return rc;
	/* TEE mode: the executor the leader verified, its measurements and
	 * the hash of the quote it accepted. */
	sr_ledger_subpath(sub, "%s.tee", path);
	rc = need_object(tee, sub, err);
	if (rc == SR_OK)
		rc = sr_json_check_keys(tee, sub, tee_keys, err);
	if (rc == SR_OK)
		rc = org_id_field(tee, sub, "executor", NULL, err);
	if (rc == SR_OK)
		rc = hex_field(tee, sub, "quote_hash", 1, SR_HASH_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = array_field(tee, sub, "measurements", 1, 32, &ms, err);
	json_array_foreach(ms, i, m) {
		const char *s = json_string_value(m);
		if (rc)
			break;
		if (!s || strlen(s) != 71 || strncmp(s, "sha256:", 7) != 0 ||
		    !sr_ledger_is_hex(s + 7, 64))
			rc = sr_fail(err, SR_EINVAL, "%s.measurements[%zu]: expected \"sha256:\" and 64 hex digits",
				     sub, i);
	}
	return rc;
}

/* body.key (the ledger's privacy-budget amounts: epsilon_spent,
 * delta_spent, a charge's epsilon and delta): an integer from 0 or a
 * non-negative decimal string (the normalized policy's form for
 * non-integers).  Absent is an error only when required. */
static int check_amount(const json_t *body, const char *path, const char *key,
			int required, struct sr_err *err)
{
	const json_t *v = json_object_get(body, key);
	const char *s;
	double d;

	if (!v && !required)
		return SR_OK;
	if (!v)
		return sr_fail(err, SR_EINVAL,
			       "%s.%s: required key is missing", path, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return SR_OK;
	s = json_string_value(v);
	if (s && strlen(s) <= EPSILON_TEXT_MAX &&
	    sr_value_parse_float64(s, strlen(s), &d) == SR_OK && d >= 0 &&
	    s[0] != '+' && s[0] != '-')
		return SR_OK;
	return sr_fail(err, SR_EINVAL,
		       "%s.%s: expected an integer from 0 or a non-negative decimal string such as \"0.5\"",
		       path, key);
}

/* body.key, optional: the privacy-budget charges of a job, one per input
 * under dp: [{dataset, owner, epsilon, delta?}] (job.finish "charges":
 * spent; job.fail "refunded": given back). */
static int check_charges(const json_t *body, const char *path, const char *key,
			 struct sr_err *err)
{
	static const char *const keys[] = { "dataset", "owner", "epsilon", "delta", NULL };
	const json_t *arr, *v;
	char sub[PATH_MAX_LEN];
	size_t i;
	int rc;

	if (!json_object_get(body, key))
		return SR_OK;
	if ((rc = array_field(body, path, key, 0, SR_JOB_INPUTS_MAX, &arr, err)) != SR_OK)
		return rc;
	json_array_foreach(arr, i, v) {
		sr_ledger_subpath(sub, "%s.%s[%zu]", path, key, i);
		rc = need_object(v, sub, err);
		if (rc == SR_OK)
			rc = sr_json_check_keys(v, sub, keys, err);
		if (rc == SR_OK)
			rc = text_field(v, sub, "dataset", 1, DATASET_TEXT_MAX, NULL, err);
		if (rc == SR_OK)
			rc = org_id_field(v, sub, "owner", NULL, err);
		if (rc == SR_OK)
			rc = check_amount(v, sub, "epsilon", 1, err);
		if (rc == SR_OK)
			rc = check_amount(v, sub, "delta", 0, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

/* job.cancel {job_id, reason?} and job.fail {job_id, reason, refunded?}. */
static int body_job_end(const json_t *body, const char *path,
			int is_fail, struct sr_err *err)
{
	static const char *const cancel_keys[] = { "job_id", "reason", NULL };
	static const char *const fail_keys[] = { "job_id", "reason", "refunded", NULL };
	int rc = sr_json_check_keys(body, path, is_fail ? fail_keys : cancel_keys, err);

	if (rc == SR_OK)
		rc = hex_field(body, path, "job_id", 1, SR_EVENT_ID_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = text_field(body, path, "reason", is_fail,
				SR_EVENT_TEXT_MAX, NULL, err);
	if (rc == SR_OK && is_fail)
		rc = check_charges(body, path, "refunded", err);
	return rc;
}

static int body_job_finish(const json_t *body, const char *path,
			   struct sr_err *err)
{
	static const char *const keys[] = { "job_id", "output_hash", "sizes",
		"epsilon_spent", "delta_spent", "charges", NULL };
	const json_t *sizes, *v;
	const char *key;
	char sub[PATH_MAX_LEN];
	int rc = sr_json_check_keys(body, path, keys, err);

	if (rc == SR_OK)
		rc = hex_field(body, path, "job_id", 1, SR_EVENT_ID_BYTES, NULL, err);
	if (rc == SR_OK)
		rc = hex_field(body, path, "output_hash", 1, SR_HASH_BYTES, NULL,
			       err);
	if (rc == SR_OK)
		rc = check_amount(body, path, "epsilon_spent", 1, err);
	if (rc == SR_OK)
		rc = check_amount(body, path, "delta_spent", 0, err);
	if (rc == SR_OK)
		rc = check_charges(body, path, "charges", err);
	if (rc)
		return rc;
	sr_ledger_subpath(sub, "%s.sizes", path);
	sizes = json_object_get(body, "sizes");
	if (!sizes)
		return sr_fail(err, SR_EINVAL, "%s: required key is missing", sub);
	rc = need_object(sizes, sub, err);
	if (rc)
		return rc;
	if (json_object_size(sizes) > SR_JOB_SIZES_MAX)
		return sr_fail(err, SR_ELIMIT, "%s: more than %d entries", sub,
			       SR_JOB_SIZES_MAX);
	json_object_foreach((json_t *)sizes, key, v) {
		if (!sr_ledger_is_name(key, RULE_MAX))
			return sr_fail(err, SR_EINVAL,
				       "%s.%.64s: expected a name such as output_rows",
				       sub, key);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return sr_fail(err, SR_EINVAL,
				       "%s.%s: expected an integer from 0", sub, key);
	}
	return SR_OK;
}

int sr_event_check_body(enum sr_event_type type, const json_t *body,
			const char *path, struct sr_err *err)
{
	int rc;

	if (!json_is_object(body))
		return sr_fail(err, SR_EINVAL, "%s: expected an object", path);
	rc = sr_ledger_check_json(body, path, SR_EVENT_BODY_DEPTH_MAX, err);
	if (rc)
		return rc;
	switch (type) {
	case SR_EVENT_PROJECT_CREATE:
		return body_project_create(body, path, err);
	case SR_EVENT_MEMBER_INVITE:
		return body_member_invite(body, path, err);
	case SR_EVENT_MEMBER_JOIN:
		return body_member_join(body, path, err);
	case SR_EVENT_MEMBER_LEAVE:
		return body_reason_only(body, path, err);
	case SR_EVENT_DATASET_PUBLISH:
		return body_dataset_publish(body, path, err);
	case SR_EVENT_DATASET_WITHDRAW:
		return body_dataset_withdraw(body, path, err);
	case SR_EVENT_JOB_PROPOSE:
		return body_job_propose(body, path, err);
	case SR_EVENT_JOB_APPROVE:
		return body_job_vote(body, path, 0, err);
	case SR_EVENT_JOB_REJECT:
		return body_job_vote(body, path, 1, err);
	case SR_EVENT_JOB_CANCEL:
		return body_job_end(body, path, 0, err);
	case SR_EVENT_JOB_START:
		return body_job_start(body, path, err);
	case SR_EVENT_JOB_FINISH:
		return body_job_finish(body, path, err);
	case SR_EVENT_JOB_FAIL:
		return body_job_end(body, path, 1, err);
	default:
		return sr_fail(err, SR_EINVAL, "%s: unknown event type %d", path,
			       (int)type);
	}
}
