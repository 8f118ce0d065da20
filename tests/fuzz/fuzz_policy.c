/*
 * fuzz_policy.c - libFuzzer target for the policy parser: parse, bind to a
 * fixed schema, normalize, and check that the normalized form parses back
 * to the same normalized form.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "id", "age", "city", "amount" };
static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
				      SR_TYPE_STRING, SR_TYPE_FLOAT64 };

static char *normalized(const struct sr_policy *pol)
{
	struct sr_buf out;
	json_t *j = NULL;

	sr_buf_init(&out, 0);
	if (sr_policy_to_json(pol, &j, NULL) != SR_OK)
		abort();
	if (sr_json_canonical(j, &out, NULL) != SR_OK)
		abort();   /* the normalized form must be canonical JSON */
	json_decref(j);
	return sr_buf_detach(&out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_policy pol, again;
	struct sr_err err;
	char *first, *second;
	static int setup;

	if (!setup) {
		sr_alloc_setup_json();
		setup = 1;
	}
	sr_policy_init(&pol);
	sr_policy_init(&again);
	sr_err_clear(&err);
	if (sr_policy_parse((const char *)data, size, "fuzz.json", &pol, &err) != SR_OK)
		goto out;
	first = normalized(&pol);
	if (sr_policy_parse(first, strlen(first), "normalized", &again, &err) != SR_OK)
		abort();   /* the normalized form must parse back */
	second = normalized(&again);
	if (strcmp(first, second) != 0)
		abort();   /* and give the same policy */
	sr_free(first);
	sr_free(second);
	if (sr_policy_bind(&pol, names, types, 4, &err) == SR_OK) {
		first = normalized(&pol);
		sr_free(first);
	}
out:
	sr_policy_release(&pol);
	sr_policy_release(&again);
	return 0;
}
