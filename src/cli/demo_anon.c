/*
 * demo_anon.c - the demo's anonymized-release chapter (demo_anon.h).
 */
#include "cli/demo_anon.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "cli/demo_data.h"
#include "base/banned.h"

static const char policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"product\":  {\"class\": \"qi\", \"generalize\": {\"hierarchy\": {\"car\": [\"vehicle\"],\n"
	"                  \"travel\": [\"personal\"], \"life\": [\"personal\"], \"home\": [\"property\"]}}},\n"
	"    \"premium\":  {\"class\": \"sa\", \"allow\": [\"aggregate\", \"reveal\"], \"mask\": \"range:500\"},\n"
	"    \"claims\":   {\"class\": \"sa\", \"allow\": [\"aggregate\", \"reveal\"]},\n"
	"    \"age\":      {\"class\": \"qi\", \"generalize\": {\"intervals\": [5, 10, 20]}},\n"
	"    \"sex\":      {\"class\": \"qi\", \"generalize\": {\"hierarchy\": {\"F\": [\"*\"], \"M\": [\"*\"]}}},\n"
	"    \"postcode\": {\"class\": \"qi\", \"generalize\": {\"prefix\": [3, 2]}}\n"
	"  },\n"
	"  \"min_group_size\": 5,\n"
	"  \"jobs\": [\"psi\", \"query\", \"anonymize\"],\n"
	"  \"receivers\": [\"%s\"]\n"
	"}\n";

/* The policies table with each holder's age, sex and postcode added
 * (deterministic from the row). */
static int widen_table(const char *in, const char *out, struct sr_err *err)
{
	static const char *const areas[] = { "LS", "YO", "HU", "BA", "BS", "EX" };
	struct sr_buf text, wide;
	size_t row = 0;
	int rc;

	sr_buf_init(&text, 0);
	sr_buf_init(&wide, 0);
	rc = sr_file_read_all(in, 0, &text, err);
	for (const char *p = text.data; rc == SR_OK && *p; row++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		uint64_t r = sr_demo_mix(row);

		if (row == 0)
			rc = sr_buf_addf(&wide, "%.*s,age,sex,postcode\n", (int)len, p);
		else
			rc = sr_buf_addf(&wide, "%.*s,%d,%c,%s%d\n", (int)len, p,
					 18 + (int)(r % 70), (r >> 8) & 1 ? 'F' : 'M',
					 areas[(r >> 16) % 6], 1 + (int)((r >> 24) % 30));
		if (rc)
			rc = sr_fail(err, rc, "demo: out of memory");
		p = end ? end + 1 : p + len;
	}
	if (rc == SR_OK)
		rc = sr_file_write_atomic(out, wide.data, wide.len, 0600, err);
	sr_buf_release(&text);
	sr_buf_release(&wide);
	return rc;
}

/* The release's first rows and its report, as the bank sees them. */
static void print_release(const struct sr_demo_anon_env *e, const json_t *res)
{
	const json_t *rep = json_object_get(json_object_get(res, "meta"), "report");
	const json_t *cols = json_object_get(res, "columns"), *rows = json_object_get(res, "rows");
	const json_t *levels = json_object_get(rep, "levels"), *risk = json_object_get(rep, "risk");
	const char *key;
	json_t *v;
	struct sr_buf line;

	sr_buf_init(&line, 0);
	for (size_t r = 0; r <= 5 && r <= json_array_size(rows); r++) {
		sr_buf_reset(&line);
		for (size_t c = 0; c < json_array_size(cols); c++) {
			const json_t *cell = r == 0 ? json_array_get(cols, c) :
					     json_array_get(json_array_get(rows, r - 1), c);
			char *text = json_is_string(cell) ? NULL :
				     json_dumps(cell, JSON_ENCODE_ANY);
			if (sr_buf_addf(&line, "%s%-12s", c ? " " : "",
					text ? text : json_string_value(cell)))
				break;
			free(text);
		}
		e->o.note("  %s", line.data);
	}
	e->o.note("  ... %zu rows", json_array_size(rows));
	sr_buf_reset(&line);
	json_object_foreach((json_t *)levels, key, v)
		if (sr_buf_addf(&line, "%s%s %lld/%lld", line.len ? ", " : "", key,
				(long long)json_integer_value(v),
				(long long)json_integer_value(json_object_get(
					json_object_get(rep, "heights"), key)) - 1))
			break;
	e->o.note("report: levels (of the top) %s", line.data);
	e->o.note("        %lld rows in, %lld released, %lld suppressed (limit %lld)",
		(long long)json_integer_value(json_object_get(rep, "rows_in")),
		(long long)json_integer_value(json_object_get(rep, "rows_out")),
		(long long)json_integer_value(json_object_get(rep, "suppressed")),
		(long long)json_integer_value(json_object_get(rep, "max_suppressed")));
	e->o.note("        %lld classes, smallest %lld, average %.1f; Loss %.3f, discernibility %.0f",
		(long long)json_integer_value(json_object_get(rep, "classes")),
		(long long)json_integer_value(json_object_get(rep, "class_min")),
		json_number_value(json_object_get(rep, "class_avg")),
		json_number_value(json_object_get(rep, "loss")),
		json_number_value(json_object_get(rep, "discernibility")));
	e->o.note("        re-identification risk (prosecutor): max %.3f, average %.4f; records above 5%%: %.1f%%, 10%%: %.1f%%, 20%%: %.1f%%",
		json_number_value(json_object_get(risk, "max")),
		json_number_value(json_object_get(risk, "avg")),
		100 * json_number_value(json_object_get(risk, "over_5")),
		100 * json_number_value(json_object_get(risk, "over_10")),
		100 * json_number_value(json_object_get(risk, "over_20")));
	sr_buf_release(&line);
}

int sr_demo_anon(const struct sr_demo_anon_env *e)
{
	char csv[400], wide[400], pol[400], spec_path[400], out[400], spec[1024], job[80];
	struct sr_err err;
	json_t *j;
	int ok = 0;

	sr_err_clear(&err);
	e->o.say(e->o.d, "The insurer adds its holders' age, sex and postcode to its policies table, with a generalization hierarchy for each quasi-identifier");
	snprintf(csv, sizeof(csv), "%s/policies.csv", e->dir);
	snprintf(wide, sizeof(wide), "%s/policies-v2.csv", e->dir);
	snprintf(pol, sizeof(pol), "%s/policies-v2.policy.json", e->dir);
	if (widen_table(csv, wide, &err) != SR_OK || sr_demo_write_with(pol, policy_fmt, e->bank_id, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	{
		char shown[sizeof(policy_fmt) + 64];
		snprintf(shown, sizeof(shown), policy_fmt, e->bank_id);
		e->o.note("policies-v2.policy.json:\n%s", shown);
	}
	if (e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "policies",
		   wide, "--policy", pol, "--home", e->insurer_home, "--quiet", NULL }) ||
	    e->o.run(e->o.d, NULL, e->insurer_steward, (const char *const[]){ "dataset", "publish",
		   "policies", "--project", e->project, "--home", e->insurer_home, NULL }))
		return 0;
	usleep(600000);

	e->o.say(e->o.d, "The bank's analyst asks for a 5-anonymous, 2-diverse copy (claims), at most 5% of the rows suppressed");
	snprintf(spec, sizeof(spec),
		 "{\"kind\": \"anonymize\", \"inputs\": [{\"dataset\": \"insurer.policies\"}],\n"
		 " \"receivers\": [\"%s\"],\n"
		 " \"k\": 5, \"max_suppression\": \"0.05\",\n"
		 " \"sa\": {\"claims\": {\"ldiv\": \"distinct\", \"l\": 2}}}\n", e->bank_id);
	snprintf(spec_path, sizeof(spec_path), "%s/anonymize.json", e->dir);
	if (sr_file_write_atomic(spec_path, spec, strlen(spec), 0600, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	e->o.note("anonymize.json:\n%s", spec);
	snprintf(out, sizeof(out), "%s/propose-anon.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "propose",
			"--project", e->project, "--spec", spec_path, "--home", e->bank_home,
			"--json", NULL });
	if (!j)
		return 0;
	snprintf(job, sizeof(job), "%s", json_string_value(json_object_get(j, "job_id")));
	e->o.note("job %.16s proposed; security checker: %s (qi columns grouped, sa columns revealed, id dropped)",
		job, json_is_true(json_object_get(json_object_get(j, "verdict"), "accept")) ?
		"accepted" : "REFUSED");
	json_decref(j);
	job[16] = '\0';
	usleep(600000);

	e->o.say(e->o.d, "The insurer's steward approves; its node searches the generalization lattice and sends the release to the bank");
	if (e->o.run(e->o.d, NULL, e->insurer_steward, (const char *const[]){ "job", "approve", job,
		   "--home", e->insurer_home, NULL }) ||
	    e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "job", "wait", job,
		   "--timeout", "60", "--home", e->bank_home, NULL }))
		return 0;

	e->o.say(e->o.d, "The bank reads the release; its node checked k, l and the suppression limit again before keeping it");
	snprintf(out, sizeof(out), "%s/release.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "result", job,
			"--json", "--home", e->bank_home, NULL });
	if (!j)
		return 0;
	print_release(e, j);
	ok = json_integer_value(json_object_get(json_object_get(json_object_get(j, "meta"),
				"report"), "class_min")) >= 5;
	if (!ok)
		e->o.note("UNEXPECTED: a class smaller than k");
	json_decref(j);
	if (ok && e->o.run(e->o.d, NULL, e->shop_analyst, (const char *const[]){ "job", "result",
			 job, "--home", e->shop_home, NULL }) == 0) {
		e->o.note("UNEXPECTED: the shop got the release");
		ok = 0;
	}
	return ok;
}
