/*
 * cmd_query.c - `sealroom query` (propose a query job from SQL text) and
 * `sealroom job explain` (the plan of a query job before anything is
 * proposed: what each party computes, what is revealed to whom), plus the
 * release lines `job result` prints under a query's table.  The plan is
 * computed here from the project's published schemas and policies with
 * the same SQL front end the node's checker uses (src/sql/).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "ledger/ledger.h"
#include "sql/parse.h"
#include "sql/sql.h"
#include "base/banned.h"

static const char query_usage[] =
	"usage: sealroom query --project P \"SELECT ...\" [--receiver ORG] [--epsilon E] [--delta D]\n"
	"\n"
	"Propose a query job (the federated SQL of docs/protocols/query.md): its\n"
	"inputs are the datasets of FROM, its receiver this organization unless\n"
	"--receiver names another.  Every owner must approve it; the result is\n"
	"read with 'sealroom job result'.  See the plan first with\n"
	"'sealroom job explain --project P \"SELECT ...\"'.\n"
	"\n"
	"options:\n"
	"  --project P     the project\n"
	"  --receiver ORG  the organization that receives the result\n"
	"  --epsilon E     differential privacy: the epsilon of this job\n"
	"  --delta D       differential privacy: its delta (Skellam noise)\n"
	"  --json          print the node's JSON answer\n"
	"  --help          this text\n"
	"\n"
	"example:\n"
	"  sealroom query --project \"$PROJECT\" \"SELECT region, COUNT(*) FROM a.visits UNION ALL b.visits GROUP BY region\"\n";

static int parse_number(const char *opt, const char *text, double lo, double hi, double *out,
			struct sr_err *err)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(*out) || !(*out > lo) || !(*out < hi))
		return sr_fail(err, SR_EUSAGE, "%s: expected a number above %g and below %g, got '%s'",
			       opt, lo, hi, text);
	return SR_OK;
}

/* A query spec from the SQL text: the datasets of FROM, the receiver (or
 * this node's organization), epsilon and delta. */
static int query_spec(struct sr_nodeclient_args *a, struct sr_nodeclient *nc, const char *sql,
		      json_t **out, struct sr_err *err)
{
	struct sr_arena arena;
	struct sr_sql_stmt *stmt = NULL;
	json_t *spec = NULL, *inputs = json_array(), *status = NULL;
	const char *receiver = a->receiver;
	double eps, delta;
	int rc;

	*out = NULL;
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	rc = sr_sql_parse(sql, strlen(sql), &arena, &stmt, err);
	if (rc) {
		sr_err_prefix(err, "the query");
		goto out;
	}
	for (size_t i = 0; inputs && i < stmt->nfrom; i++) {
		char name[2 * SR_SQL_TEXT_MAX / 64 + 8];
		snprintf(name, sizeof(name), "%s.%s", stmt->from[i].org.p, stmt->from[i].dataset.p);
		if (json_array_append_new(inputs, json_pack("{s:s}", "dataset", name)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (!receiver) {
		rc = rc ? rc : sr_nodeclient_call(nc, "GET", "/v1/status", NULL, NULL, &status, err);
		receiver = sr_nodeclient_str(status, "org_id", NULL);
		if (rc == SR_OK && !receiver)
			rc = sr_fail(err, SR_EPROTO, "the node's status has no org_id");
	}
	if (rc)
		goto out;
	spec = json_pack("{s:s,s:s,s:O,s:[s]}", "kind", "query", "sql", sql, "inputs", inputs,
			 "receivers", receiver);
	if (!spec) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	/* Events hold no JSON reals: the numbers go as the decimal strings
	 * given, once checked. */
	if (a->epsilon && (rc = parse_number("--epsilon", a->epsilon, 0, 64, &eps, err)) == SR_OK)
		json_object_set_new(spec, "epsilon", json_string(a->epsilon));
	if (rc == SR_OK && a->delta && (rc = parse_number("--delta", a->delta, 0, 1, &delta, err)) == SR_OK)
		json_object_set_new(spec, "delta", json_string(a->delta));
	if (rc == SR_OK) {
		*out = spec;
		spec = NULL;
	}
out:
	json_decref(spec);
	json_decref(inputs);
	json_decref(status);
	sr_arena_release(&arena);
	return rc;
}

static int cmd_query(struct sr_nodeclient_args *a, struct sr_nodeclient *nc, struct sr_err *err)
{
	json_t *spec = NULL;
	int rc;

	if (!a->project)
		return sr_fail(err, SR_EUSAGE, "--project is required");
	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected the query text, one argument (quote it)");
	rc = sr_nodeclient_check_project(a->project, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK)
		rc = query_spec(a, nc, a->pos[0], &spec, err);
	if (rc == SR_OK)
		rc = sr_cli_job_propose(a, nc, spec, err);
	json_decref(spec);
	return rc;
}

int sr_cmd_query(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "help") == 0)) {
		fputs(query_usage, stdout);
		return SR_EXIT_OK;
	}
	return sr_nodeclient_run("query", query_usage, SR_NCOPT_PROJECT | SR_NCOPT_QUERY,
				 cmd_query, argc, argv);
}

/* ---- job explain --------------------------------------------------------- */

/* The published dataset named name in the project's state, or NULL. */
static const json_t *find_dataset(const json_t *project, const char *name)
{
	const json_t *d;
	size_t i;

	json_array_foreach(json_object_get(project, "datasets"), i, d)
		if (json_is_string(json_object_get(d, "name")) &&
		    strcmp(json_string_value(json_object_get(d, "name")), name) == 0 &&
		    !json_is_true(json_object_get(d, "withdrawn")))
			return d;
	return NULL;
}

static int explain_spec(struct sr_nodeclient_args *a, const json_t *spec, const json_t *project,
			struct sr_err *err)
{
	const json_t *inputs = json_object_get(spec, "inputs"), *in;
	const char *sql = json_string_value(json_object_get(spec, "sql"));
	size_t n = json_array_size(inputs), i, nrecv;
	struct sr_policy *pols = NULL;
	struct sr_sql_dataset *ds = NULL;
	struct sr_expr_column **cols = NULL;
	const char **recv = NULL;
	struct sr_sql *q = NULL;
	json_t *plan = NULL;
	struct sr_buf text;
	int rc = SR_OK;

	sr_buf_init(&text, SR_BUF_UNBOUNDED);    /* a plan of a checked query */
	if (!sql || !json_is_string(json_object_get(spec, "kind")) ||
	    strcmp(json_string_value(json_object_get(spec, "kind")), "query") != 0)
		return sr_fail(err, SR_EINVAL, "spec: explain shows query jobs (kind \"query\" with \"sql\")");
	pols = sr_calloc(n ? n : 1, sizeof(*pols));
	ds = sr_calloc(n ? n : 1, sizeof(*ds));
	cols = sr_calloc(n ? n : 1, sizeof(*cols));
	nrecv = json_array_size(json_object_get(spec, "receivers"));
	recv = sr_calloc(nrecv + 1, sizeof(*recv));
	if (!pols || !ds || !cols || !recv) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nrecv; i++)
		recv[i] = json_string_value(json_array_get(json_object_get(spec, "receivers"), i));
	for (i = 0; i < n; i++)
		sr_policy_init(&pols[i]);
	json_array_foreach(inputs, i, in) {
		const char *name = json_string_value(json_object_get(in, "dataset"));
		const json_t *d = name ? find_dataset(project, name) : NULL;
		struct sr_ledger_dataset ld;

		if (!d) {
			rc = sr_fail(err, SR_ENOTFOUND, "spec.inputs[%zu]: %s is not published in project %s",
				     i, name ? name : "?", a->project);
			goto out;
		}
		memset(&ld, 0, sizeof(ld));
		ld.name = (char *)name;
		ld.schema = (json_t *)json_object_get(d, "schema");
		ld.policy = (json_t *)json_object_get(d, "policy");
		if ((rc = sr_ledger_dataset_policy(&ld, &pols[i], err)) != SR_OK)
			goto out;
		cols[i] = sr_calloc(pols[i].ncolumns + 1, sizeof(**cols));
		if (!cols[i]) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < pols[i].ncolumns; k++) {
			cols[i][k].name = pols[i].columns[k].name;
			cols[i][k].type = pols[i].columns[k].type;
		}
		ds[i].name = name;
		ds[i].owner = json_string_value(json_object_get(d, "owner"));
		ds[i].columns = cols[i];
		ds[i].ncolumns = pols[i].ncolumns;
		ds[i].policy = &pols[i];
		ds[i].ids_partitioned = pols[i].ids_partitioned;
	}
	rc = sr_sql_compile(sql, strlen(sql), ds, n, &q, err);
	if (rc) {
		sr_err_prefix(err, "spec.sql");
		goto out;
	}
	rc = sr_sql_plan(q, recv, nrecv, &plan, err);
	if (rc == SR_OK && a->cli.json)
		rc = sr_cli_print_json(json_incref(plan), err);
	else if (rc == SR_OK && (rc = sr_sql_plan_text(plan, &text, err)) == SR_OK) {
		fwrite(text.data, 1, text.len, stdout);
		if (json_object_get(spec, "epsilon"))
			printf("dp: epsilon %s, delta %s: every owner adds Skellam noise inside the secure sum\n",
			       json_string_value(json_object_get(spec, "epsilon")) ?
			       json_string_value(json_object_get(spec, "epsilon")) : "(a number)",
			       json_string_value(json_object_get(spec, "delta")) ?
			       json_string_value(json_object_get(spec, "delta")) : "(a number)");
		printf("nothing was proposed: 'sealroom query' or 'sealroom job propose' proposes it\n");
	}
out:
	json_decref(plan);
	sr_sql_free(q);
	for (i = 0; pols && i < n; i++)
		sr_policy_release(&pols[i]);
	for (i = 0; cols && i < n; i++)
		sr_free(cols[i]);
	sr_free(cols);
	sr_free(pols);
	sr_free(ds);
	sr_free(recv);
	sr_buf_release(&text);
	return rc;
}

int sr_cli_job_explain(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       struct sr_err *err)
{
	json_t *spec = NULL, *project = NULL;
	char path[128];
	int rc;

	if (!a->project)
		return sr_fail(err, SR_EUSAGE, "--project is required");
	if (!a->spec == !(a->npos == 1))
		return sr_fail(err, SR_EUSAGE, "give --spec FILE.json or the query text, one of them");
	rc = sr_nodeclient_check_project(a->project, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK)
		rc = a->spec ? sr_cli_read_spec(a->spec, &spec, err) :
			query_spec(a, nc, a->pos[0], &spec, err);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "/v1/projects/%s", a->project);
	nc->max_answer = SR_RESULT_BYTES_MAX;
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &project, err);
	if (rc == SR_OK)
		rc = explain_spec(a, spec, project, err);
out:
	json_decref(spec);
	json_decref(project);
	return rc;
}

/* ---- job result ------------------------------------------------------------ */

void sr_cli_print_release_meta(FILE *f, const json_t *meta)
{
	const json_t *dp = json_object_get(meta, "dp"), *clamped = json_object_get(meta, "clamped");
	const json_t *v, *noise;
	const char *key;
	size_t i;

	if (!json_is_string(json_object_get(meta, "kind")) ||
	    strcmp(json_string_value(json_object_get(meta, "kind")), "query") != 0)
		return;
	fprintf(f, "groups suppressed: %lld (fewer than %lld by %s; never merged)\n",
		(long long)json_integer_value(json_object_get(meta, "groups_suppressed")),
		(long long)json_integer_value(json_object_get(meta, "min_group_size")),
		sr_nodeclient_str(meta, "threshold_counts", "?"));
	json_object_foreach((json_t *)clamped, key, v)
		if (json_integer_value(v))
			fprintf(f, "clamped to the bounds: %lld values of %s\n",
				(long long)json_integer_value(v), key);
	if (json_integer_value(json_object_get(meta, "rows_outside_domain")))
		fprintf(f, "rows outside the public group domain: %lld (not grouped)\n",
			(long long)json_integer_value(json_object_get(meta, "rows_outside_domain")));
	if (!dp)
		return;
	fprintf(f, "differential privacy: epsilon %g, delta %g, %s\n",
		json_number_value(json_object_get(dp, "epsilon")),
		json_number_value(json_object_get(dp, "delta")),
		sr_nodeclient_str(dp, "mechanism", "?"));
	json_array_foreach(json_object_get(dp, "noise"), i, noise) {
		const json_t *sd = json_object_get(noise, "stddev");
		if (!json_is_object(sd))
			continue;
		fprintf(f, "  %s: noise stddev", sr_nodeclient_str(noise, "column", "?"));
		json_object_foreach((json_t *)sd, key, v)
			fprintf(f, " %s %.4g", key, json_number_value(v));
		fprintf(f, "\n");
	}
	fprintf(f, "  (95%% intervals per value: --json, meta.intervals)\n");
	if (json_object_get(meta, "budget"))
		fprintf(f, "budget: %s\n", sr_nodeclient_str(meta, "budget", "?"));
}
