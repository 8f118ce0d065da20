/*
 * demo_join.c - the demo's vertical-query chapter (demo_join.h).
 */
#include "cli/demo_join.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "cli/demo_data.h"
#include "base/banned.h"

static const char bank_policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"risk_band\":   {\"class\": \"qi\", \"domain\": [\"A\", \"B\", \"C\", \"D\"]}\n"
	"  },\n"
	"  \"min_group_size\": 10,\n"
	"  \"jobs\": [\"query\"],\n"
	"  \"receivers\": [\"%s\"]\n"
	"}\n";

static const char shop_policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\":  {\"class\": \"id\", \"allow\": [\"join\"], \"join_reveals_group_counts\": true},\n"
	"    \"region\":       {\"class\": \"qi\", \"allow\": [\"filter\"]},\n"
	"    \"visits\":       {\"class\": \"public\", \"allow\": [\"filter\", \"aggregate\"], \"bounds\": [0, 100]},\n"
	"    \"basket_total\": {\"class\": \"sa\", \"allow\": [\"aggregate\"], \"bounds\": [0, 5000]},\n"
	"    \"last_visit\":   {\"class\": \"qi\", \"allow\": [\"filter\"]}\n"
	"  },\n"
	"  \"min_group_size\": 10,\n"
	"  \"jobs\": [\"query\"],\n"
	"  \"receivers\": [\"%s\"]\n"
	"}\n";

/* The bank's customers with a risk band each (deterministic from the
 * row): customer_id,risk_band. */
static int write_bands(const char *in, const char *out, struct sr_err *err)
{
	static const char bands[] = "AABBBCCD";
	struct sr_buf text, t;
	size_t row = 0;
	int rc;

	sr_buf_init(&text, 0);
	sr_buf_init(&t, 0);
	rc = sr_file_read_all(in, 0, &text, err);
	if (rc == SR_OK && sr_buf_addstr(&t, "customer_id,risk_band\n"))
		rc = sr_fail(err, SR_ENOMEM, "demo: out of memory");
	for (const char *p = text.data; rc == SR_OK && *p; row++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *comma = memchr(p, ',', len);

		/* The bank's table quotes a multi-line note in some rows:
		 * only lines that start with an id are customers. */
		if (row > 0 && comma && len > 1 && p[0] == 'C' &&
		    sr_buf_addf(&t, "%.*s,%c\n", (int)(comma - p), p, bands[sr_demo_mix(row) % 8]))
			rc = sr_fail(err, SR_ENOMEM, "demo: out of memory");
		p = end ? end + 1 : p + len;
	}
	if (rc == SR_OK)
		rc = sr_file_write_atomic(out, t.data, t.len, 0600, err);
	sr_buf_release(&text);
	sr_buf_release(&t);
	return rc;
}

/* The shop's (shop) or the bank's policy, receivers the bank. */
static int write_policy(const char *path, int shop, const char *bank_id, struct sr_err *err)
{
	struct sr_buf p;
	int rc;

	sr_buf_init(&p, 0);
	rc = (shop ? sr_buf_addf(&p, shop_policy_fmt, bank_id) : sr_buf_addf(&p, bank_policy_fmt, bank_id)) ?
	     sr_fail(err, SR_ENOMEM, "demo: out of memory") :
	     sr_file_write_atomic(path, p.data, p.len, 0600, err);
	sr_buf_release(&p);
	return rc;
}

static void print_table(const struct sr_demo_join_env *e, const json_t *res)
{
	const json_t *rows = json_object_get(res, "rows");

	e->o.note("  risk_band  purchases  avg basket");
	for (size_t r = 0; r < json_array_size(rows); r++) {
		const json_t *row = json_array_get(rows, r);
		e->o.note("  %-9s  %9lld  %10.2f", json_string_value(json_array_get(row, 0)) ?
			json_string_value(json_array_get(row, 0)) : "NULL",
			(long long)json_integer_value(json_array_get(row, 1)),
			json_number_value(json_array_get(row, 2)));
	}
	e->o.note("  groups suppressed (fewer than 10 common customers): %lld",
		(long long)json_integer_value(json_object_get(json_object_get(res, "meta"),
							      "groups_suppressed")));
}

int sr_demo_join(const struct sr_demo_join_env *e)
{
	static const char sql[] =
		"SELECT b.risk_band, COUNT(*), AVG(s.basket_total) FROM bank.bands b"
		" JOIN shop.baskets s ON b.customer_id = s.customer_id WHERE s.visits >= 2"
		" GROUP BY b.risk_band ORDER BY b.risk_band";
	static const char bad_sql[] =
		"SELECT b.risk_band, s.region, COUNT(*) FROM bank.bands b"
		" JOIN shop.baskets s ON b.customer_id = s.customer_id GROUP BY b.risk_band, s.region";
	char in[400], bands[400], bpol[400], spol[400], shop_csv[400], out[400], job[80];
	struct sr_err err;
	json_t *j;
	int ok;

	sr_err_clear(&err);
	e->o.say(e->o.d, "Vertical query: the bank publishes its customers' risk bands; the shop its baskets, with a policy that lets a join show the bank per-band match counts");
	snprintf(in, sizeof(in), "%s/customers.csv", e->dir);
	snprintf(bands, sizeof(bands), "%s/bands.csv", e->dir);
	snprintf(bpol, sizeof(bpol), "%s/bands.policy.json", e->dir);
	snprintf(spol, sizeof(spol), "%s/baskets.policy.json", e->dir);
	snprintf(shop_csv, sizeof(shop_csv), "%s/purchases.csv", e->dir);
	if (write_bands(in, bands, &err) != SR_OK ||
	    write_policy(bpol, 0, e->bank_id, &err) != SR_OK ||
	    write_policy(spol, 1, e->bank_id, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	{
		char shown[sizeof(shop_policy_fmt) + 64];
		snprintf(shown, sizeof(shown), shop_policy_fmt, e->bank_id);
		e->o.note("baskets.policy.json:\n%s", shown);
	}
	if (e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "bands", bands,
		   "--policy", bpol, "--home", e->bank_home, "--quiet", NULL }) ||
	    e->o.run(e->o.d, NULL, e->bank_steward, (const char *const[]){ "dataset", "publish", "bands",
		   "--project", e->project, "--home", e->bank_home, NULL }) ||
	    e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "baskets", shop_csv,
		   "--policy", spol, "--home", e->shop_home, "--quiet", NULL }) ||
	    e->o.run(e->o.d, NULL, e->shop_steward, (const char *const[]){ "dataset", "publish", "baskets",
		   "--project", e->project, "--home", e->shop_home, NULL }))
		return 0;
	usleep(600000);

	e->o.say(e->o.d, "The bank's analyst asks the average basket of its customers per risk band (purchases of customers with 2 visits or more)");
	snprintf(out, sizeof(out), "%s/propose-join.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "query", "--project",
			e->project, sql, "--json", "--home", e->bank_home, NULL });
	if (!j)
		return 0;
	snprintf(job, sizeof(job), "%s", json_string_value(json_object_get(j, "job_id")) ?
		 json_string_value(json_object_get(j, "job_id")) : "");
	ok = json_is_true(json_object_get(json_object_get(j, "verdict"), "accept"));
	e->o.note("job %.16s proposed; security checker: %s", job, ok ? "accepted" : "REFUSED");
	json_decref(j);
	if (!ok)
		return 0;
	job[16] = '\0';
	usleep(600000);

	e->o.say(e->o.d, "Both stewards approve; the shop's node encrypts its baskets under its own Paillier key, the bank's node matches blinded customer ids per band and sums under encryption");
	if (e->o.run(e->o.d, NULL, e->bank_steward, (const char *const[]){ "job", "approve", job,
		   "--home", e->bank_home, NULL }) ||
	    e->o.run(e->o.d, NULL, e->shop_steward, (const char *const[]){ "job", "approve", job,
		   "--home", e->shop_home, NULL }) ||
	    e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "job", "wait", job,
		   "--timeout", "300", "--home", e->bank_home, NULL }))
		return 0;
	snprintf(out, sizeof(out), "%s/join-result.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "result", job,
			"--json", "--home", e->bank_home, NULL });
	if (!j)
		return 0;
	print_table(e, j);
	ok = json_array_size(json_object_get(j, "rows")) > 0;
	json_decref(j);
	if (!ok) {
		e->o.note("UNEXPECTED: no group released");
		return 0;
	}
	if (e->o.run(e->o.d, NULL, e->shop_analyst, (const char *const[]){ "job", "result", job,
		   "--home", e->shop_home, NULL }) == 0) {
		e->o.note("UNEXPECTED: the shop got the result");
		return 0;
	}

	e->o.say(e->o.d, "A version that also outputs the shop's region, which the shop's policy keeps hidden, is refused by the checker");
	if (e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "query", "--project",
		   e->project, bad_sql, "--home", e->bank_home, NULL }) == 0) {
		e->o.note("UNEXPECTED: the query was accepted");
		return 0;
	}
	e->o.note("(refused, nothing ran)");
	return 1;
}
