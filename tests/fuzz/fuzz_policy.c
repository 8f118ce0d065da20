/*
 * fuzz_policy.c - libFuzzer target for the policy parser.
 *
 * Any input: sr_policy_parse must return a status, never crash or leak.
 * When it accepts the input:
 *   - the normalized form must be canonical JSON (no reals), must parse
 *     back, and must give the same normalized form again;
 *   - binding to a fixed 4-column schema either fails with a message or
 *     succeeds, and then the bound normalized form must parse back, bind
 *     again to the same schema and give the same text.
 * A broken round trip is a bug: abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "id", "age", "joined", "amount" };
static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
				      SR_TYPE_DATE, SR_TYPE_FLOAT64 };

static void bug(const char *what, const struct sr_err *err, const char *text)
{
	fprintf(stderr, "fuzz_policy: %s: %s\n%s\n", what, err ? err->msg : "",
		text ? text : "");
	abort();
}

/* The canonical text of the normalized form (heap; sr_free). */
static char *normalized(const struct sr_policy *pol)
{
	struct sr_buf out;
	struct sr_err err;
	json_t *j = NULL;
	char *text;

	sr_err_clear(&err);
	sr_buf_init(&out, 0);
	if (sr_policy_to_json(pol, &j, &err) != SR_OK)
		bug("to_json failed", &err, NULL);
	if (sr_json_canonical(j, &out, &err) != SR_OK)
		bug("normalized form is not canonical", &err, NULL);
	json_decref(j);
	text = sr_buf_detach(&out, NULL);
	if (!text)
		abort();
	return text;
}

/* Parse text (the normalized form of a policy), optionally bind it, and
 * check that it normalizes to text again. */
static void check_round_trip(const char *text, int bind)
{
	struct sr_policy again;
	struct sr_err err;
	char *second;

	sr_policy_init(&again);
	sr_err_clear(&err);
	if (sr_policy_parse(text, strlen(text), "normalized", &again, &err) != SR_OK)
		bug("the normalized form does not parse", &err, text);
	if (bind && sr_policy_bind(&again, names, types, 4, &err) != SR_OK)
		bug("the bound normalized form does not bind again", &err, text);
	second = normalized(&again);
	if (strcmp(text, second) != 0)
		bug("the normalized form changed on a round trip", NULL, second);
	sr_free(second);
	sr_policy_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int setup;
	struct sr_policy pol;
	struct sr_err err;
	char *text;

	if (!setup) {
		sr_alloc_setup_json();
		setup = 1;
	}
	sr_policy_init(&pol);
	sr_err_clear(&err);
	if (sr_policy_parse((const char *)data, size, "fuzz.json", &pol, &err) != SR_OK) {
		if (err.msg[0] == '\0')
			bug("failure without a message", &err, NULL);
		goto out;
	}
	text = normalized(&pol);
	check_round_trip(text, 0);
	sr_free(text);

	sr_err_clear(&err);
	if (sr_policy_bind(&pol, names, types, 4, &err) != SR_OK) {
		if (err.msg[0] == '\0')
			bug("bind failure without a message", &err, NULL);
		/* A failed bind leaves the policy usable. */
		text = normalized(&pol);
		sr_free(text);
		goto out;
	}
	for (size_t i = 0; i < 4; i++)
		if (strcmp(pol.columns[i].name, names[i]) != 0 ||
		    pol.columns[i].type != types[i])
			bug("bind did not give dataset order and types", NULL, NULL);
	text = normalized(&pol);
	check_round_trip(text, 1);
	sr_free(text);
out:
	sr_policy_release(&pol);
	return 0;
}
