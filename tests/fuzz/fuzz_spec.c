/*
 * fuzz_spec.c - libFuzzer target for the security checker (sr_check_job)
 * on job specs.  The input is a spec's JSON text.
 *
 * Two fixed datasets with bound policies: bank.customers, whose policy is
 * parsed from a steward's text (classes, a sensitive column with bounds,
 * receivers, allowed job kinds, an expiry), and shop.members, whose policy
 * is classified by column name (sr_policy_from_names, as the node does for
 * --classify-by-name).  The spec is checked at two times, before and after
 * the bank's expiry.
 *
 * Any input must end in a parse error, a malformed-spec error or a verdict,
 * never a crash, hang or leak:
 *   - every error carries a message; a malformed spec is SR_EINVAL (or
 *     SR_ELIMIT);
 *   - SR_OK implies accept == (count == 0), and every violation has a rule
 *     and a message (a dataset, column and usage only where it names one);
 *   - sr_verdict_to_json succeeds and says the same thing (accept, one
 *     entry per violation), and its canonical form exists (no reals: the
 *     verdict goes into a job.propose event);
 *   - the checker is a function: the same spec and time give the same
 *     verdict twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/text.h"
#include "base/limits.h"
#include "store/value.h"
#include "policy/checker.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BANK "org_00000000000000000000000000000001"
#define SHOP "org_00000000000000000000000000000002"
#define BANK_EXPIRES 2000000000

static struct sr_policy bank_pol, shop_pol;
static struct sr_check_dataset datasets[2];

static void bug(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "fuzz_spec: %s%s%s\n", what, err ? ": " : "",
		err ? err->msg : "");
	abort();
}

static void setup(void)
{
	static const char bank_text[] =
		"{\"columns\": {\"customer_id\": {\"class\": \"id\"},"
		" \"email\": {\"class\": \"id\", \"mask\": \"hash\"},"
		" \"age\": {\"class\": \"qi\", \"domain\": [18, 30, 45, 65]},"
		" \"balance\": {\"class\": \"sa\", \"bounds\": [0, 1000000]}},"
		" \"receivers\": [\"" SHOP "\"], \"jobs\": [\"psi\", \"query\"],"
		" \"min_group_size\": 5, \"expires\": 2000000000}";
	static const char *const bank_cols[] = { "customer_id", "email", "age",
		"balance" };
	static const enum sr_type bank_types[] = { SR_TYPE_STRING, SR_TYPE_STRING,
		SR_TYPE_INT64, SR_TYPE_FLOAT64 };
	static const char *const shop_cols[] = { "email", "phone", "zip",
		"amount" };
	static const enum sr_type shop_types[] = { SR_TYPE_STRING, SR_TYPE_STRING,
		SR_TYPE_STRING, SR_TYPE_INT64 };
	struct sr_err err;

	sr_alloc_setup_json();
	sr_err_clear(&err);
	sr_policy_init(&bank_pol);
	sr_policy_init(&shop_pol);
	if (sr_policy_parse(bank_text, strlen(bank_text), "bank policy", &bank_pol,
			    &err) != SR_OK ||
	    sr_policy_bind(&bank_pol, bank_cols, bank_types, 4, &err) != SR_OK ||
	    sr_policy_from_names(shop_cols, 4, &shop_pol, &err) != SR_OK ||
	    sr_policy_bind(&shop_pol, shop_cols, shop_types, 4, &err) != SR_OK)
		bug("setup", &err);
	datasets[0].name = "bank.customers";
	datasets[0].owner = BANK;
	datasets[0].policy = &bank_pol;
	datasets[1].name = "shop.members";
	datasets[1].owner = SHOP;
	datasets[1].policy = &shop_pol;
}

static int nonempty(const char *s)
{
	return s && s[0];
}

/* The verdict as canonical text (heap; sr_free), checked against v. */
static char *verdict_text(const struct sr_verdict *v)
{
	const json_t *list, *x;
	struct sr_buf out;
	struct sr_err err;
	json_t *j = sr_verdict_to_json(v);
	char *text;
	size_t i;

	if (!j)
		bug("sr_verdict_to_json failed", NULL);
	list = json_object_get(j, "violations");
	if (!json_is_boolean(json_object_get(j, "accept")) ||
	    json_is_true(json_object_get(j, "accept")) != (v->accept != 0) ||
	    !json_is_array(list) || json_array_size(list) != v->count)
		bug("the verdict's JSON says something else than the verdict", NULL);
	json_array_foreach(list, i, x) {
		const struct sr_violation *y = &v->violations[i];
		char want[SR_EVENT_TEXT_MAX + 1];
		size_t wl = strlen(y->message);
		const char *k;
		const json_t *val;

		/* The JSON carries the message cleaned for the ledger:
		 * valid UTF-8, no control characters, 1..SR_EVENT_TEXT_MAX. */
		if (wl > SR_EVENT_TEXT_MAX)
			wl = SR_EVENT_TEXT_MAX;
		memcpy(want, y->message, wl);
		want[wl] = '\0';
		if (sr_text_clean(want, SR_EVENT_TEXT_MAX) == 0)
			memcpy(want, "?", 2);
		json_object_foreach((json_t *)x, k, val) {
			const char *t = json_string_value(val);
			size_t tl = t ? strlen(t) : 0;
			if (!t || tl == 0 || tl > SR_EVENT_TEXT_MAX || !sr_utf8_valid(t, tl))
				bug("a violation's JSON holds text the ledger refuses", NULL);
			for (size_t c = 0; c < tl; c++)
				if ((unsigned char)t[c] < 0x20 || t[c] == 0x7f)
					bug("a violation's JSON holds a control character", NULL);
		}
		if (strcmp(json_string_value(json_object_get(x, "rule")), y->rule) ||
		    strcmp(json_string_value(json_object_get(x, "message")), want) ||
		    (json_object_get(x, "dataset") != NULL) != (y->dataset != NULL) ||
		    (json_object_get(x, "column") != NULL) != (y->column != NULL) ||
		    (json_object_get(x, "usage") != NULL) != (y->usage != NULL))
			bug("a violation's JSON says something else", NULL);
	}
	sr_err_clear(&err);
	sr_buf_init(&out, 0);
	if (sr_json_canonical(j, &out, &err) != SR_OK)
		bug("the verdict has no canonical form", &err);
	json_decref(j);
	text = sr_buf_detach(&out, NULL);
	if (!text)
		abort();
	return text;
}

/* Check spec at time now; the verdict's text or NULL for an error. */
static char *check_once(const json_t *spec, int64_t now)
{
	struct sr_verdict v;
	struct sr_err err;
	char *text = NULL;
	int rc;

	sr_err_clear(&err);
	rc = sr_check_job(spec, datasets, 2, now, &v, &err);
	if (rc != SR_OK) {
		if (!nonempty(err.msg))
			bug("an error without a message", NULL);
		if (rc != SR_EINVAL && rc != SR_ELIMIT)
			bug("a malformed spec is not SR_EINVAL or SR_ELIMIT", &err);
		sr_verdict_release(&v);   /* must be safe after a failure */
		return NULL;
	}
	if ((v.accept != 0) != (v.count == 0))
		bug("accept is not (count == 0)", NULL);
	for (size_t i = 0; i < v.count; i++) {
		const struct sr_violation *x = &v.violations[i];
		if (!nonempty(x->rule) || !nonempty(x->message))
			bug("a violation without a rule or a message", NULL);
	}
	text = verdict_text(&v);
	sr_verdict_release(&v);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t times[] = { BANK_EXPIRES - 1, BANK_EXPIRES };
	static int ready;
	struct sr_err err;
	json_t *spec = NULL;

	if (!ready) {
		setup();
		ready = 1;
	}
	sr_err_clear(&err);
	if (sr_json_parse((const char *)data, size, "spec", &spec, &err) != SR_OK) {
		if (!nonempty(err.msg))
			bug("a parse error without a message", NULL);
		return 0;
	}
	for (size_t t = 0; t < 2; t++) {
		char *first = check_once(spec, times[t]);
		char *second = check_once(spec, times[t]);

		if ((first == NULL) != (second == NULL) ||
		    (first && strcmp(first, second) != 0))
			bug("the same spec gave two different verdicts", NULL);
		sr_free(first);
		sr_free(second);
	}
	json_decref(spec);
	return 0;
}
