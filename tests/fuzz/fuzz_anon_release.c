/*
 * fuzz_anon_release.c - libFuzzer target for what the anonymize kind
 * reads from others: the first byte picks the input.
 *   even  a hierarchy CSV (--hierarchy COL=FILE.csv at import) given to a
 *         qi column of a fixed policy, which is then bound (its labels
 *         checked) and normalized;
 *   odd   a result envelope as a receiver gets it from an owner, checked
 *         by the kind's release (k, l, t and suppression re-verified)
 *         against a fixed spec and policy.
 * Any input must be accepted or refused with a status and a message;
 * never a crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "kinds/kind.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
	"{\"columns\": {\"id\": {\"class\": \"id\"},"
	" \"age\": {\"class\": \"qi\", \"generalize\": {\"intervals\": [5, 10]}},"
	" \"city\": {\"class\": \"qi\"},"
	" \"d\": {\"class\": \"sa\", \"allow\": [\"reveal\"]},"
	" \"n\": {\"class\": \"sa\", \"allow\": [\"reveal\"], \"mask\": \"hash\"}},"
	" \"receivers\": [\"org_22222222222222222222222222222222\"]}";
static const char *const names[] = { "id", "age", "city", "d", "n" };
static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64, SR_TYPE_STRING,
				      SR_TYPE_INT64, SR_TYPE_STRING };
static const char spec_text[] =
	"{\"kind\": \"anonymize\", \"inputs\": [{\"dataset\": \"o.t\"}],"
	" \"receivers\": [\"org_22222222222222222222222222222222\"], \"k\": 2,"
	" \"max_suppression\": \"0.5\", \"columns\": [\"age\", \"d\", \"n\"],"
	" \"sa\": {\"d\": {\"ldiv\": \"recursive\", \"l\": 2, \"c\": 3, \"t\": \"0.6\"},"
	" \"n\": {\"ldiv\": \"entropy\", \"l\": \"1.2\"}}}";

static int load_policy(struct sr_policy *pol, struct sr_err *err)
{
	sr_policy_init(pol);
	return sr_policy_parse(policy_text, strlen(policy_text), "p.json", pol, err);
}

static void hierarchy_csv(const uint8_t *data, size_t size)
{
	struct sr_policy pol;
	struct sr_err err;
	json_t *doc = NULL;
	int rc;

	sr_err_clear(&err);
	if (load_policy(&pol, &err) != SR_OK)
		abort();
	rc = sr_policy_set_hierarchy_csv(&pol, "city", (const char *)data, size, "h.csv", &err);
	if (rc == SR_OK)
		rc = sr_policy_bind(&pol, names, types, 5, &err);
	if (rc == SR_OK)
		rc = sr_policy_to_json(&pol, &doc, &err);
	if (rc != SR_OK && err.msg[0] == '\0')
		abort();
	json_decref(doc);
	sr_policy_release(&pol);
}

static void release(const uint8_t *data, size_t size)
{
	const struct sr_job_kind *kind = sr_kind_find("anonymize");
	struct sr_kind_input in;
	struct sr_kind_ctx c;
	struct sr_policy pol;
	struct sr_err err;
	json_t *spec = NULL, *result = NULL;
	int rc;

	sr_err_clear(&err);
	if (!kind || load_policy(&pol, &err) != SR_OK ||
	    sr_policy_bind(&pol, names, types, 5, &err) != SR_OK ||
	    sr_json_parse(spec_text, strlen(spec_text), "spec", &spec, &err) != SR_OK)
		abort();
	if (sr_json_parse((const char *)data, size, "release", &result, &err) == SR_OK &&
	    json_is_object(result)) {
		memset(&c, 0, sizeof(c));
		memset(&in, 0, sizeof(in));
		in.dataset = "o.t";
		in.owner = "org_11111111111111111111111111111111";
		in.spec = json_array_get(json_object_get(spec, "inputs"), 0);
		in.policy = &pol;
		c.spec = spec;
		c.inputs = &in;
		c.ninputs = 1;
		sr_err_clear(&err);
		rc = kind->release(&c, result, &err);
		if (rc != SR_OK && err.msg[0] == '\0')
			abort();
	}
	json_decref(result);
	json_decref(spec);
	sr_policy_release(&pol);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		hierarchy_csv(data + 1, size - 1);
	else
		release(data + 1, size - 1);
	return 0;
}
