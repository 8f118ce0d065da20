/*
 * fuzz_sql.c - libFuzzer target for the SQL front end: any text is parsed
 * and bound against a fixed set of datasets (three clinics of one schema
 * with policies that differ, a bank and a shop to join, names with '-'),
 * and when it binds, its usages, rules and plan (JSON and text) are
 * computed and every compiled expression is evaluated over a small batch
 * of edge values.  Never a crash, hang or leak, and:
 *   - a failure leaves no query, has a message, and unless it is out of
 *     memory the message starts with "line:col: ";
 *   - a bound query is consistent: one output per SELECT item typed as
 *     its program, keys and aggregates typed as theirs, inputs and row
 *     columns in range;
 *   - usages name columns of their input's dataset, each once;
 *   - every violation has a rule id and a message that names its place;
 *   - filters, keys and aggregate arguments run over the rows, outputs,
 *     HAVING and ORDER BY over a result table, without failing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "expr/expr.h"
#include "policy/policy.h"
#include "sql/sql.h"
#include "store/vec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 8

static const struct sr_expr_column visits[] = {
	{ "patient_id", SR_TYPE_STRING }, { "region", SR_TYPE_STRING },
	{ "age", SR_TYPE_INT64 }, { "amount", SR_TYPE_FLOAT64 },
	{ "visit", SR_TYPE_DATE }, { "smoker", SR_TYPE_BOOL },
	{ "ward", SR_TYPE_INT64 }, { "Ward", SR_TYPE_INT64 },
};

static const struct sr_expr_column customers[] = {
	{ "cid", SR_TYPE_STRING }, { "band", SR_TYPE_STRING }, { "income", SR_TYPE_FLOAT64 },
};

static const char policy_a[] =
	"{\"columns\": {\"patient_id\": {\"class\": \"id\"},"
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\"]},"
	"\"age\": {\"class\": \"qi\", \"bounds\": [0, 120]},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [0, 1000]},"
	"\"visit\": {\"class\": \"qi\"}, \"smoker\": {\"class\": \"sa\", \"domain\": [true, false]},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3]}, \"Ward\": {\"class\": \"public\"}},"
	"\"min_group_size\": 3}";

static const char policy_b[] =
	"{\"columns\": {\"patient_id\": {\"class\": \"id\"}, \"region\": {\"class\": \"qi\"},"
	"\"age\": {\"class\": \"qi\", \"allow\": [\"filter\", \"reveal\"]},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [\"-0.5\", 10]},"
	"\"visit\": {\"class\": \"qi\", \"domain\": [\"2024-01-01\", \"2024-02-29\"]},"
	"\"smoker\": {\"class\": \"sa\"}, \"ward\": {\"class\": \"public\", \"domain\": [4]},"
	"\"Ward\": {\"class\": \"public\", \"bounds\": [1, 9]}},"
	"\"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1}, \"row_filter\": \"age > 0\"}";

static const char policy_bank[] =
	"{\"columns\": {\"cid\": {\"class\": \"id\"},"
	"\"band\": {\"class\": \"qi\", \"domain\": [\"low\", \"high\"]},"
	"\"income\": {\"class\": \"sa\", \"bounds\": [0, 100000]}}}";

#define NDATASETS 5
static struct sr_policy policies[NDATASETS];
static struct sr_sql_dataset datasets[NDATASETS];

/* One vector of edge values per type, for rows and results alike. */
static struct sr_vec by_type[SR_TYPE_DATE + 1];

static const char *const cells[SR_TYPE_DATE + 1][ROWS] = {
	[SR_TYPE_INT64] = { "0", "1", "-1", "9223372036854775807", "-9223372036854775808", NULL, "42", "3" },
	[SR_TYPE_FLOAT64] = { "0", "1.5", "-2.25", "1e300", "-1e300", NULL, "5e-324", "100" },
	[SR_TYPE_STRING] = { "", "north", "south", "it's", "\xc3\xa9t\xc3\xa9", NULL, "x", "low" },
	[SR_TYPE_BOOL] = { "true", "false", NULL, "true", "false", "true", NULL, "false" },
	[SR_TYPE_DATE] = { "1970-01-01", "2024-02-29", "0001-01-01", "9999-12-31", NULL, "2000-03-01", "1969-12-31", "2024-01-01" },
};

static void bug(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_sql: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void make_policy(size_t i, const char *name, const char *text,
			const struct sr_expr_column *cols, size_t n)
{
	const char *names[16];
	enum sr_type types[16];
	struct sr_err err;

	sr_err_clear(&err);
	for (size_t c = 0; c < n; c++) {
		names[c] = cols[c].name;
		types[c] = cols[c].type;
	}
	sr_policy_init(&policies[i]);
	if (sr_policy_parse(text, strlen(text), "p", &policies[i], &err) != SR_OK ||
	    sr_policy_bind(&policies[i], names, types, n, &err) != SR_OK)
		bug("policy", err.msg);
	datasets[i] = (struct sr_sql_dataset){
		.name = name, .columns = cols, .ncolumns = n, .policy = &policies[i],
	};
}

static void setup(void)
{
	make_policy(0, "clinic_a.visits", policy_a, visits, sizeof(visits) / sizeof(*visits));
	make_policy(1, "clinic_b.visits", policy_b, visits, sizeof(visits) / sizeof(*visits));
	make_policy(2, "st-mary.visits-2024", policy_a, visits, sizeof(visits) / sizeof(*visits));
	make_policy(3, "bank.customers", policy_bank, customers,
		    sizeof(customers) / sizeof(*customers));
	make_policy(4, "clinic_a.visits_old", policy_a, visits, sizeof(visits) / sizeof(*visits));
	datasets[2].owner = "org_st_mary";
	for (int t = SR_TYPE_INT64; t <= SR_TYPE_DATE; t++) {
		sr_vec_init(&by_type[t], (enum sr_type)t);
		for (size_t r = 0; r < ROWS; r++) {
			const char *v = cells[t][r];
			if ((v ? sr_vec_append_text(&by_type[t], v, strlen(v)) :
				 sr_vec_append_null(&by_type[t])) != SR_OK)
				abort();
		}
	}
}

/* "12:3: ..." */
static int names_position(const char *msg)
{
	const char *p = msg;

	for (int part = 0; part < 2; part++) {
		int digits = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!digits || *p != ':')
			return 0;
		p++;
	}
	return *p == ' ';
}

/* Run e over columns of the given types. */
static void run(const struct sr_expr *e, const struct sr_expr_column *schema, size_t n,
		const char *what)
{
	const struct sr_vec *cols[SR_SQL_LIST_MAX + SR_SQL_AGGREGATES_MAX + 64];
	const struct sr_vec **heap = NULL, **use = cols;
	struct sr_err err;
	struct sr_vec out;

	if (!e)
		return;
	if (n > sizeof(cols) / sizeof(*cols)) {
		heap = calloc(n, sizeof(*heap));
		if (!heap)
			abort();
		use = heap;
	}
	for (size_t i = 0; i < n; i++)
		use[i] = &by_type[schema[i].type];
	sr_err_clear(&err);
	sr_vec_init(&out, sr_expr_type(e));
	if (sr_expr_eval(e, use, ROWS, &out, &err) != SR_OK || out.rows != ROWS)
		bug(what, err.msg);
	sr_vec_release(&out);
	free(heap);
}

static void check_query(const struct sr_sql *q)
{
	const struct sr_sql_query *v = sr_sql_query(q);
	struct sr_sql_usage *us = NULL;
	struct sr_sql_violation *vs = NULL;
	json_t *plan = NULL;
	struct sr_buf text;
	struct sr_err err;
	size_t n;
	int rc;

	if (v->ninputs == 0 || v->ninputs > SR_SQL_INPUTS_MAX || v->noutputs == 0)
		bug("inputs or outputs", NULL);
	for (size_t i = 0; i < v->noutputs; i++)
		if (sr_expr_type(v->outputs[i].expr) != v->outputs[i].type || !v->outputs[i].name)
			bug("output type or name", v->outputs[i].name);
	for (size_t k = 0; k < v->nkeys; k++)
		if (sr_expr_type(v->keys[k].expr) != v->keys[k].type ||
		    v->result_columns[k].type != v->keys[k].type)
			bug("key type", v->keys[k].text);
	for (size_t g = 0; g < v->naggs; g++)
		if (v->result_columns[v->nkeys + g].type != v->aggs[g].type ||
		    (v->aggs[g].arg && sr_expr_type(v->aggs[g].arg) != v->aggs[g].arg_type))
			bug("aggregate type", v->aggs[g].text);
	if (!v->aggregated && (v->nkeys || v->naggs || v->having))
		bug("a query without aggregation has keys or aggregates", NULL);
	for (size_t c = 0; c < v->nrow_columns; c++)
		if (v->row_input[c] != SR_SQL_EVERY_INPUT && v->row_input[c] >= v->ninputs)
			bug("row column of no input", NULL);
	/* Every compiled piece runs. */
	for (size_t i = 0; i < v->nfilters; i++)
		run(v->filters[i].expr, v->row_columns, v->nrow_columns, "filter");
	for (size_t k = 0; k < v->nkeys; k++)
		run(v->keys[k].expr, v->row_columns, v->nrow_columns, "key");
	for (size_t g = 0; g < v->naggs; g++)
		run(v->aggs[g].arg, v->row_columns, v->nrow_columns, "aggregate argument");
	{
		const struct sr_expr_column *schema = v->aggregated ? v->result_columns : v->row_columns;
		size_t ncols = v->aggregated ? v->nkeys + v->naggs : v->nrow_columns;
		for (size_t i = 0; i < v->noutputs; i++)
			run(v->outputs[i].expr, schema, ncols, "output");
		for (size_t i = 0; i < v->norder; i++)
			run(v->order[i].expr, schema, ncols, "order");
		run(v->having, schema, ncols, "having");
	}
	sr_err_clear(&err);
	rc = sr_sql_usages(q, &us, &n, &err);
	if (rc == SR_OK) {
		for (size_t i = 0; i < n; i++) {
			const struct sr_sql_dataset *d;
			if (us[i].input >= v->ninputs || us[i].dataset != v->inputs[us[i].input].dataset)
				bug("usage input", NULL);
			d = &datasets[us[i].dataset];
			if (!sr_policy_column(d->policy, us[i].column))
				bug("usage of a column the dataset lacks", us[i].column);
			for (size_t k = 0; k < i; k++)
				if (us[k].input == us[i].input && us[k].usage == us[i].usage &&
				    strcmp(us[k].column, us[i].column) == 0)
					bug("usage twice", us[i].column);
		}
	} else if (rc != SR_ENOMEM) {
		bug("usages failed", err.msg);
	}
	sr_free(us);
	sr_err_clear(&err);
	rc = sr_sql_rules(q, SR_SQL_REFUSE_JOIN, &vs, &n, &err);
	if (rc == SR_OK) {
		for (size_t i = 0; i < n; i++)
			if (!vs[i].rule || strncmp(vs[i].rule, "query-", 6) != 0 ||
			    !names_position(vs[i].message))
				bug("violation", vs[i].message);
	} else if (rc != SR_ENOMEM) {
		bug("rules failed", err.msg);
	}
	sr_free(vs);
	sr_err_clear(&err);
	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	rc = sr_sql_plan(q, NULL, 0, &plan, &err);
	if (rc == SR_OK)
		rc = sr_sql_plan_text(plan, &text, &err);
	if (rc != SR_OK && rc != SR_ENOMEM)
		bug("plan failed", err.msg);
	json_decref(plan);
	sr_buf_release(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sr_sql *q = NULL;
	struct sr_err err;
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	sr_err_clear(&err);
	rc = sr_sql_compile((const char *)data, size, datasets, NDATASETS, &q, &err);
	if (rc != SR_OK) {
		if (q)
			bug("a failed compile left a query", err.msg);
		if (err.msg[0] == '\0')
			bug("failure without a message", NULL);
		if (rc != SR_EINVAL && rc != SR_ELIMIT && rc != SR_ENOMEM)
			bug("unexpected status", err.msg);
		if (rc != SR_ENOMEM && !names_position(err.msg))
			bug("message does not start with line:col", err.msg);
		return 0;
	}
	check_query(q);
	sr_sql_free(q);
	return 0;
}
