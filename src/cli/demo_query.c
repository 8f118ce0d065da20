/*
 * demo_query.c - the demo's federated-SQL chapter (demo_query.h).
 */
#include "cli/demo_query.h"

#include <math.h>
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

#define VISITS 3000
#define NREGIONS 4

static const char *const regions[NREGIONS] = { "north", "south", "east", "west" };

static const char policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"patient\": {\"class\": \"id\"},\n"
	"    \"region\":  {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"]},\n"
	"    \"age\":     {\"class\": \"qi\", \"allow\": [\"filter\"]},\n"
	"    \"cost\":    {\"class\": \"sa\", \"bounds\": [0, 500]}\n"
	"  },\n"
	"  \"ids_partitioned\": true,\n"
	"  \"min_group_size\": 5,\n"
	"  \"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1, \"delta\": 0.000001},\n"
	"  \"receivers\": [\"%s\"]\n"
	"}\n";

/* Clinic c's visits (deterministic): one visit per patient, and a patient
 * visits one clinic only (ids partitioned), so the plaintext counts are
 * what DP's contribution bounding (one row per identity) keeps; counts
 * per region added to count[]. */
static int write_visits(const char *path, int c, uint64_t count[NREGIONS], struct sr_err *err)
{
	struct sr_buf b;
	int rc;

	sr_buf_init(&b, 0);
	rc = sr_buf_addstr(&b, "patient,region,age,cost\n");
	for (int i = 0; rc == SR_OK && i < VISITS; i++) {
		uint64_t r = sr_demo_mix(((uint64_t)c << 32) | (uint64_t)i);
		int reg = (int)((r >> 8) % (c == 1 ? 3 : NREGIONS));
		count[reg]++;
		rc = sr_buf_addf(&b, "c%d-%04d,%s,%d,%d.%02d\n", c, i,
				 regions[reg], 1 + (int)((r >> 16) % 95),
				 20 + (int)((r >> 24) % (80 + 100 * c)), (int)((r >> 40) % 100));
	}
	if (rc)
		rc = sr_fail(err, SR_ENOMEM, "demo: out of memory");
	else
		rc = sr_file_write_atomic(path, b.data, b.len, 0600, err);
	sr_buf_release(&b);
	return rc;
}

/* The answer beside the plaintext counts; 1 when each noised count is
 * within 20% + 500 of the plaintext (500 is about 7 noise stddevs at
 * epsilon 1). */
static int print_answer(const struct sr_demo_query_env *e, const json_t *res,
			const uint64_t count[NREGIONS])
{
	const json_t *rows = json_object_get(res, "rows"), *meta = json_object_get(res, "meta");
	const json_t *row;
	size_t i;
	int ok = json_array_size(rows) > 0;

	e->o.note("  %-8s %8s %10s %12s", "region", "visits", "avg cost", "(plaintext)");
	json_array_foreach(rows, i, row) {
		const char *reg = json_string_value(json_array_get(row, 0));
		double n = json_number_value(json_array_get(row, 1));
		uint64_t truth = 0;

		for (int r = 0; reg && r < NREGIONS; r++)
			if (strcmp(reg, regions[r]) == 0)
				truth = count[r];
		e->o.note("  %-8s %8.0f %10.2f %12llu", reg ? reg : "NULL", n,
			json_number_value(json_array_get(row, 2)), (unsigned long long)truth);
		/* The NULL group (no patient) may pass on its noise alone. */
		ok &= fabs(n - (double)truth) <= 0.2 * (double)truth + 500;
	}
	e->o.note("  groups released %lld, suppressed %lld (threshold: %lld distinct patients)",
		(long long)json_integer_value(json_object_get(meta, "groups_released")),
		(long long)json_integer_value(json_object_get(meta, "groups_suppressed")),
		(long long)json_integer_value(json_object_get(meta, "min_group_size")));
	return ok;
}

int sr_demo_query(const struct sr_demo_query_env *e)
{
	char csv[400], pol[400], out[400], sql[512], job[80];
	uint64_t count[NREGIONS] = { 0 };
	struct sr_err err;
	json_t *j;
	int ok;

	sr_err_clear(&err);
	e->o.say(e->o.d, "Seed 002's medical case: the three organizations act as clinics, each with a visits table of the same schema and a policy with a threshold and a DP budget");
	snprintf(pol, sizeof(pol), "%s/visits.policy.json", e->dir);
	if (sr_demo_write_with(pol, policy_fmt, e->receiver_id, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	{
		char shown[sizeof(policy_fmt) + 64];
		snprintf(shown, sizeof(shown), policy_fmt, e->receiver_id);
		e->o.note("visits.policy.json:\n%s", shown);
	}
	for (int c = 0; c < SR_DEMO_CLINICS; c++) {
		snprintf(csv, sizeof(csv), "%s/visits-%s.csv", e->dir, e->names[c]);
		if (write_visits(csv, c, count, &err) != SR_OK) {
			e->o.note("sealroom: demo: %s", err.msg);
			return 0;
		}
		if (e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "visits",
			   csv, "--policy", pol, "--home", e->homes[c], "--quiet", NULL }) ||
		    e->o.run(e->o.d, NULL, e->stewards[c], (const char *const[]){ "dataset", "publish",
			   "visits", "--project", e->project, "--home", e->homes[c], NULL }))
			return 0;
	}
	usleep(600000);

	e->o.say(e->o.d, "The bank's analyst asks for the visits and the average cost per region over the three clinics, with epsilon 1 of the budget of 2");
	snprintf(sql, sizeof(sql), "SELECT region, COUNT(*) AS visits, AVG(cost) FROM %s.visits"
		 " UNION ALL %s.visits UNION ALL %s.visits GROUP BY region ORDER BY region",
		 e->names[0], e->names[1], e->names[2]);
	snprintf(out, sizeof(out), "%s/propose-query.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->analyst, (const char *const[]){ "query", "--project",
			e->project, sql, "--epsilon", "1", "--delta", "0.0000001", "--home",
			e->homes[0], "--json", NULL });
	if (!j)
		return 0;
	snprintf(job, sizeof(job), "%s", json_string_value(json_object_get(j, "job_id")));
	ok = json_is_true(json_object_get(json_object_get(j, "verdict"), "accept"));
	e->o.note("job %.16s proposed; security checker: %s", job, ok ? "accepted" : "REFUSED");
	json_decref(j);
	if (!ok)
		return 0;
	job[16] = '\0';
	usleep(600000);

	e->o.say(e->o.d, "Each clinic's steward approves; each node charges its budget, adds its share of the noise, and the secure sum goes to the bank");
	for (int c = 0; c < SR_DEMO_CLINICS; c++)
		if (e->o.run(e->o.d, NULL, e->stewards[c], (const char *const[]){ "job", "approve", job,
			   "--home", e->homes[c], NULL }))
			return 0;
	if (e->o.run(e->o.d, NULL, e->analyst, (const char *const[]){ "job", "wait", job,
		   "--timeout", "60", "--home", e->homes[0], NULL }))
		return 0;

	e->o.say(e->o.d, "The bank reads the answer (noised counts and averages, their noise and 95% intervals), beside the plaintext only the demo knows");
	if (e->o.run(e->o.d, NULL, e->analyst, (const char *const[]){ "job", "result", job,
		   "--home", e->homes[0], NULL }))
		return 0;
	snprintf(out, sizeof(out), "%s/query-result.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->analyst, (const char *const[]){ "job", "result", job,
			"--json", "--home", e->homes[0], NULL });
	if (!j)
		return 0;
	ok = print_answer(e, j, count);
	json_decref(j);
	if (!ok) {
		e->o.note("UNEXPECTED: a released count is far from the plaintext");
		return 0;
	}

	e->o.say(e->o.d, "The budget: job.finish records each clinic's charge; each clinic sees what is spent and left");
	if (e->o.run(e->o.d, NULL, e->analyst, (const char *const[]){ "job", "show", job,
		   "--home", e->homes[0], NULL }) ||
	    e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "show", "visits",
		   "--home", e->homes[1], NULL }))
		return 0;

	e->o.say(e->o.d, "A query that groups by age, which the clinics' policies allow only in filters: the checker refuses it");
	snprintf(sql, sizeof(sql), "SELECT age, COUNT(*) FROM %s.visits UNION ALL %s.visits"
		 " UNION ALL %s.visits GROUP BY age", e->names[0], e->names[1], e->names[2]);
	if (e->o.run(e->o.d, NULL, e->analyst, (const char *const[]){ "query", "--project",
		   e->project, sql, "--epsilon", "0.5", "--delta", "0.0000001", "--home",
		   e->homes[0], NULL }) == 0) {
		e->o.note("UNEXPECTED: the query was accepted");
		return 0;
	}
	e->o.note("(refused: nothing runs, and no budget is charged)");
	return 1;
}
