/*
 * check.c - the security checker (policy/checker.h) on a project's state:
 * the policies of the published datasets a job spec names, bound to their
 * published schemas.  Nodes run it before they propose, approve or run a
 * job; the coordinator runs it on every proposal it records.
 */
#include "ledger/ledger.h"

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "policy/checker.h"
#include "policy/policy.h"
#include "store/value.h"
#include "base/banned.h"

int sr_ledger_dataset_policy(const struct sr_ledger_dataset *d,
			     struct sr_policy *pol, struct sr_err *err)
{
	size_t ncols = json_array_size(d->schema);
	const char **names = NULL;
	enum sr_type *types = NULL;
	struct sr_buf text;
	int rc;

	sr_buf_init(&text, 0);
	rc = sr_json_dump(d->policy, 0, &text);
	if (rc)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_policy_parse(text.data, text.len, d->name, pol, err);
	sr_buf_release(&text);
	if (rc)
		return rc;
	names = sr_calloc(ncols ? ncols : 1, sizeof(*names));
	types = sr_calloc(ncols ? ncols : 1, sizeof(*types));
	if (!names || !types) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == SR_OK && i < ncols; i++) {
		const json_t *col = json_array_get(d->schema, i);
		const char *type = json_string_value(json_object_get(col, "type"));
		names[i] = json_string_value(json_object_get(col, "name"));
		if (!names[i] || !type || sr_type_parse(type, &types[i]) != SR_OK)
			rc = sr_fail(err, SR_ECORRUPT, "%s: bad schema in the ledger", d->name);
	}
	if (rc == SR_OK)
		rc = sr_policy_bind(pol, names, types, ncols, err);
out:
	sr_free(names);
	sr_free(types);
	return rc;
}

int sr_ledger_check_job(const struct sr_ledger *ledger, const json_t *spec,
			int64_t now, json_t **verdict_json, int *accept,
			struct sr_err *err)
{
	const json_t *inputs = json_object_get(spec, "inputs");
	size_t count = json_array_size(inputs);
	struct sr_check_dataset *ds = NULL;
	struct sr_policy *pols = NULL;
	struct sr_verdict verdict;
	size_t nds = 0;
	int rc = SR_OK;

	*verdict_json = NULL;
	*accept = 0;
	sr_verdict_init(&verdict);
	if (count > SR_JOB_INPUTS_MAX)
		return sr_fail(err, SR_ELIMIT, "spec.inputs: more than %d inputs",
			       SR_JOB_INPUTS_MAX);
	ds = sr_calloc(count ? count : 1, sizeof(*ds));
	pols = sr_calloc(count ? count : 1, sizeof(*pols));
	if (!ds || !pols) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		sr_policy_init(&pols[i]);
	for (size_t i = 0; rc == SR_OK && i < count; i++) {
		const char *name = json_string_value(json_object_get(
			json_array_get(inputs, i), "dataset"));
		const struct sr_ledger_dataset *d = name ?
			sr_ledger_dataset_find(ledger, name) : NULL;

		if (!d || d->withdrawn)
			continue;   /* the checker names unknown datasets */
		rc = sr_ledger_dataset_policy(d, &pols[nds], err);
		if (rc)
			break;
		ds[nds].name = d->name;
		ds[nds].owner = d->owner;
		ds[nds].policy = &pols[nds];
		ds[nds].rows = d->rows;
		nds++;
	}
	if (rc == SR_OK)
		rc = sr_check_job(spec, ds, nds, now, &verdict, err);
	if (rc == SR_OK) {
		*verdict_json = sr_verdict_to_json(&verdict);
		*accept = verdict.accept;
		if (!*verdict_json)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
out:
	if (pols)
		for (size_t i = 0; i < count; i++)
			sr_policy_release(&pols[i]);
	sr_free(pols);
	sr_free(ds);
	sr_verdict_release(&verdict);
	return rc;
}
