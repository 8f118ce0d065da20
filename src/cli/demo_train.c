/*
 * demo_train.c - the demo's training chapter (demo_train.h).
 */
#include "cli/demo_train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "cli/demo_data.h"
#include "base/banned.h"

#define LOANS 700               /* the bank's past loans: customers 0 .. 699 */
#define APPLICANTS 120          /* new applicants: customers 700 .. 819 */
#define SHOP_FIRST 150          /* the shop knows customers 150 .. 799 */
#define SHOP_LAST 800

static const char bank_policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"income\":      {\"class\": \"sa\", \"allow\": [\"feature\"]},\n"
	"    \"debt\":        {\"class\": \"sa\", \"allow\": [\"feature\"]},\n"
	"    \"default\":     {\"class\": \"sa\", \"allow\": [\"label\"], \"domain\": [0, 1]}\n"
	"  },\n"
	"  \"jobs\": [\"train\", \"predict\"],\n"
	"  \"receivers\": [\"%s\", \"%s\"]\n"
	"}\n";

static const char apps_policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"income\":      {\"class\": \"sa\", \"allow\": [\"feature\"]},\n"
	"    \"debt\":        {\"class\": \"sa\", \"allow\": [\"feature\"]}\n"
	"  },\n"
	"  \"jobs\": [\"predict\"],\n"
	"  \"receivers\": [\"%s\", \"%s\"]\n"
	"}\n";

static const char shop_policy_fmt[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"spend\":       {\"class\": \"sa\", \"allow\": [\"feature\"]},\n"
	"    \"visits\":      {\"class\": \"sa\", \"allow\": [\"feature\"]}\n"
	"  },\n"
	"  \"jobs\": [\"train\", \"predict\"],\n"
	"  \"receivers\": [\"%s\", \"%s\"]\n"
	"}\n";

/* A uniform value in [0, 1) of customer i's k-th draw. */
static double draw(size_t i, unsigned k)
{
	return (double)(sr_demo_mix(((uint64_t)i << 8 | k) ^ 0x7261696eull) >> 11) * 0x1p-53;
}

/* Customer i: the bank's income and debt, the shop's spend and visits,
 * and whether a loan would default (more likely with debt and spend,
 * less with income and visits). */
struct person {
	double income, debt, spend;
	int visits, bad;
};

static struct person person(size_t i)
{
	struct person p;
	double z;

	p.income = 15 + 185 * draw(i, 0);
	p.debt = 100 * draw(i, 1);
	p.spend = 50 * draw(i, 2);
	p.visits = (int)(31 * draw(i, 3));
	z = -0.03 * (p.income - 100) + 0.05 * (p.debt - 50) + 0.08 * (p.spend - 25) -
	    0.12 * (p.visits - 15);
	p.bad = draw(i, 4) < 1 / (1 + exp(-z));
	return p;
}

/* The bank's table of customers [first, last) (label: with default), or
 * the shop's of [SHOP_FIRST, SHOP_LAST) in a shuffled order. */
static int write_csv(const char *path, int shop, size_t first, size_t last, int label,
		     struct sr_err *err)
{
	struct sr_buf t;
	char id[16];
	int rc = SR_OK;

	sr_buf_init(&t, 0);
	if (sr_buf_addstr(&t, shop ? "customer_id,spend,visits\n" :
			  label ? "customer_id,income,debt,default\n" : "customer_id,income,debt\n"))
		rc = sr_fail(err, SR_ENOMEM, "demo: out of memory");
	for (size_t k = first; rc == SR_OK && k < last; k++) {
		/* The shop's rows in another order (a stride coprime with the count). */
		size_t i = shop ? first + (k - first) * 7 % (last - first) : k;
		struct person p = person(i);
		sr_demo_customer_id(id, i);
		if (shop ? sr_buf_addf(&t, "%s,%.2f,%d\n", id, p.spend, p.visits) :
		    sr_buf_addf(&t, "%s,%.2f,%.2f", id, p.income, p.debt) ||
		    sr_buf_addf(&t, label ? ",%d\n" : "\n", p.bad))
			rc = sr_fail(err, SR_ENOMEM, "demo: out of memory");
	}
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path, t.data, t.len, 0600, err);
	sr_buf_release(&t);
	return rc;
}

/* which: 0 the loans', 1 the applicants', 2 the shop's. */
static int write_policy(const char *path, int which, const struct sr_demo_train_env *e,
			struct sr_err *err)
{
	struct sr_buf p;
	int rc;

	sr_buf_init(&p, 0);
	rc = (which == 2 ? sr_buf_addf(&p, shop_policy_fmt, e->bank_id, e->shop_id) :
	      which == 1 ? sr_buf_addf(&p, apps_policy_fmt, e->bank_id, e->shop_id) :
	      sr_buf_addf(&p, bank_policy_fmt, e->bank_id, e->shop_id)) ?
	     sr_fail(err, SR_ENOMEM, "demo: out of memory") :
	     sr_file_write_atomic(path, p.data, p.len, 0600, err);
	sr_buf_release(&p);
	return rc;
}

/* Propose the spec in file path, both stewards approve, wait: the job's
 * id into job (a 16-digit prefix), 1 on success. */
static int run_job(const struct sr_demo_train_env *e, const char *name, const char *path,
		   char job[80])
{
	char out[400];
	json_t *j;
	int ok;

	snprintf(out, sizeof(out), "%s/propose-%s.json", e->dir, name);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "propose",
			"--project", e->project, "--spec", path, "--home", e->bank_home, "--json",
			NULL });
	if (!j)
		return 0;
	snprintf(job, 80, "%s", json_string_value(json_object_get(j, "job_id")) ?
		 json_string_value(json_object_get(j, "job_id")) : "");
	ok = json_is_true(json_object_get(json_object_get(j, "verdict"), "accept"));
	e->o.note("job %.16s proposed; security checker: %s", job, ok ? "accepted" : "REFUSED");
	json_decref(j);
	if (!ok)
		return 0;
	usleep(600000);
	return !e->o.run(e->o.d, NULL, e->bank_steward, (const char *const[]){ "job", "approve",
			 job, "--home", e->bank_home, NULL }) &&
	       !e->o.run(e->o.d, NULL, e->shop_steward, (const char *const[]){ "job", "approve",
			 job, "--home", e->shop_home, NULL }) &&
	       !e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "job", "wait", job,
			 "--timeout", "300", "--home", e->bank_home, NULL });
}

/* Write text to the demo's file name and show it; 1 on success. */
static int spec_file(const struct sr_demo_train_env *e, const char *name, const char *text,
		     char path[400])
{
	struct sr_err err;

	sr_err_clear(&err);
	snprintf(path, 400, "%s/%s", e->dir, name);
	if (sr_file_write_atomic(path, text, strlen(text), 0600, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	e->o.note("%s:\n%s", name, text);
	return 1;
}

/* The scores of the applicants the shop knows: how many, and how many of
 * the riskiest tenth did default (the data's own labels, which the bank
 * would learn later). */
static int show_scores(const struct sr_demo_train_env *e, const json_t *res)
{
	const json_t *rows = json_object_get(res, "rows");
	size_t n = json_array_size(rows), expect = 0;

	for (size_t i = LOANS; i < LOANS + APPLICANTS; i++)
		expect += i >= SHOP_FIRST && i < SHOP_LAST;
	e->o.note("  row  customer  score");
	for (size_t k = 0; k < n && k < 5; k++) {
		const json_t *r = json_array_get(rows, k);
		char id[16];
		sr_demo_customer_id(id, LOANS + (size_t)json_integer_value(json_array_get(r, 0)));
		e->o.note("  %3lld  %s  %.4f", (long long)json_integer_value(json_array_get(r, 0)), id,
			  json_number_value(json_array_get(r, 1)));
	}
	e->o.note("  ... %zu applicants scored (every one the shop also knows: %zu)", n, expect);
	return n == expect && n > 0;
}

int sr_demo_train(const struct sr_demo_train_env *e)
{
	char loans[400], apps[400], habits[400], bpol[400], apol[400], spol[400], out[400];
	char path[400];
	char spec[2048], job[80], model[80];
	struct sr_err err;
	json_t *j;
	int ok;

	sr_err_clear(&err);
	e->o.say(e->o.d, "Vertical training: the bank's past loans (income, debt, default) and the shop's habits (spend, visits) for partly the same customers");
	snprintf(loans, sizeof(loans), "%s/loans.csv", e->dir);
	snprintf(apps, sizeof(apps), "%s/applicants.csv", e->dir);
	snprintf(habits, sizeof(habits), "%s/habits.csv", e->dir);
	snprintf(bpol, sizeof(bpol), "%s/loans.policy.json", e->dir);
	snprintf(apol, sizeof(apol), "%s/applicants.policy.json", e->dir);
	snprintf(spol, sizeof(spol), "%s/habits.policy.json", e->dir);
	if (write_csv(loans, 0, 0, LOANS, 1, &err) != SR_OK ||
	    write_csv(apps, 0, LOANS, LOANS + APPLICANTS, 0, &err) != SR_OK ||
	    write_csv(habits, 1, SHOP_FIRST, SHOP_LAST, 0, &err) != SR_OK ||
	    write_policy(bpol, 0, e, &err) != SR_OK ||
	    write_policy(apol, 1, e, &err) != SR_OK ||
	    write_policy(spol, 2, e, &err) != SR_OK) {
		e->o.note("sealroom: demo: %s", err.msg);
		return 0;
	}
	e->o.note("bank: %d loans and %d new applicants; shop: %d customers", LOANS, APPLICANTS,
		  SHOP_LAST - SHOP_FIRST);
	if (e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "loans", loans,
		   "--policy", bpol, "--home", e->bank_home, "--quiet", NULL }) ||
	    e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "applicants",
		   apps, "--policy", apol, "--home", e->bank_home, "--quiet", NULL }) ||
	    e->o.run(e->o.d, NULL, NULL, (const char *const[]){ "dataset", "import", "habits", habits,
		   "--policy", spol, "--home", e->shop_home, "--quiet", NULL }))
		return 0;
	for (int k = 0; k < 3; k++)
		if (e->o.run(e->o.d, NULL, k < 2 ? e->bank_steward : e->shop_steward,
			     (const char *const[]){ "dataset", "publish",
			     k == 0 ? "loans" : k == 1 ? "applicants" : "habits", "--project",
			     e->project, "--home", k < 2 ? e->bank_home : e->shop_home, NULL }))
			return 0;
	usleep(600000);

	e->o.say(e->o.d, "The bank proposes SecureBoost on the customers both know: aligned by PSI inside the job, the shop sums the bank's encrypted gradients, each keeps its own part of the model");
	snprintf(spec, sizeof(spec),
		 "{\"kind\": \"train\", \"mode\": \"vertical\", \"model\": \"gbdt\",\n"
		 " \"trees\": 3, \"depth\": 3, \"bins\": 16, \"learning_rate\": \"0.3\", \"test_ratio\": \"0.25\",\n"
		 " \"inputs\": [{\"dataset\": \"bank.loans\", \"key\": \"customer_id\",\n"
		 "             \"features\": [\"income\", \"debt\"], \"label\": \"default\"},\n"
		 "            {\"dataset\": \"shop.habits\", \"key\": \"customer_id\",\n"
		 "             \"features\": [\"spend\", \"visits\"]}],\n"
		 " \"receivers\": [\"%s\"]}\n", e->bank_id);
	if (!spec_file(e, "train.json", spec, path) || !run_job(e, "train", path, model))
		return 0;
	snprintf(out, sizeof(out), "%s/train-result.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "result",
			model, "--json", "--home", e->bank_home, NULL });
	if (!j)
		return 0;
	{
		const json_t *meta = json_object_get(j, "meta");
		const json_t *ev = json_object_get(meta, "evaluation");
		e->o.note("aligned customers: %lld (training %lld, test %lld); trees: %lld",
			  (long long)json_integer_value(json_object_get(meta, "aligned_rows")),
			  (long long)json_integer_value(json_object_get(meta, "train_rows")),
			  (long long)json_integer_value(json_object_get(meta, "test_rows")),
			  (long long)json_integer_value(json_object_get(meta, "trees_kept")));
		e->o.note("on the test customers: AUC %.4f, KS %.4f",
			  json_number_value(json_object_get(ev, "auc")),
			  json_number_value(json_object_get(ev, "ks")));
		ok = json_number_value(json_object_get(ev, "auc")) > 0.6;
	}
	json_decref(j);
	if (!ok) {
		e->o.note("UNEXPECTED: the model does not rank the test customers");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/roc.svg", e->dir);
	if (e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "job", "result", model,
		   "--plot", "roc", path, "--home", e->bank_home, NULL }) ||
	    e->o.run(e->o.d, NULL, e->bank_analyst, (const char *const[]){ "model", "list",
		   "--home", e->bank_home, NULL }))
		return 0;

	e->o.say(e->o.d, "The bank scores its new applicants with the model: a predict job aligns them with the shop's customers, each party evaluates its own splits, the bank adds the leaves");
	snprintf(spec, sizeof(spec),
		 "{\"kind\": \"predict\", \"model\": \"%s\",\n"
		 " \"inputs\": [{\"dataset\": \"bank.applicants\", \"key\": \"customer_id\",\n"
		 "             \"features\": [\"income\", \"debt\"]},\n"
		 "            {\"dataset\": \"shop.habits\", \"key\": \"customer_id\",\n"
		 "             \"features\": [\"spend\", \"visits\"]}],\n"
		 " \"receivers\": [\"%s\"]}\n", model, e->bank_id);
	if (!spec_file(e, "predict.json", spec, path) || !run_job(e, "predict", path, job))
		return 0;
	snprintf(out, sizeof(out), "%s/predict-result.json", e->dir);
	j = e->o.run_json(e->o.d, out, e->bank_analyst, (const char *const[]){ "job", "result",
			job, "--json", "--home", e->bank_home, NULL });
	if (!j)
		return 0;
	ok = show_scores(e, j);
	json_decref(j);
	if (!ok)
		e->o.note("UNEXPECTED: not every applicant the shop knows was scored");
	return ok;
}
