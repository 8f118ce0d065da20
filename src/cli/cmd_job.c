/*
 * cmd_job.c - `sealroom job propose|list|show|approve|reject|cancel|
 * result|wait`: jobs of a project, through the node API (docs/api.md).
 * The node checks, signs and runs; this file only asks and shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "kinds/train/train.h"
#include "base/banned.h"

static const char job_usage[] =
	"usage: sealroom job <command> [options]\n"
	"\n"
	"Jobs of a project: a job runs only when the organization owning each of\n"
	"its inputs has approved it, and every member sees its spec, the security\n"
	"checker's verdict and every vote.  JOB is a job id or a unique prefix of\n"
	"at least 8 hex digits.\n"
	"\n"
	"commands:\n"
	"  propose --project P --spec FILE.json\n"
	"                         propose a job (analyst); FILE '-' reads stdin\n"
	"  list --project P       jobs of a project\n"
	"  show JOB               spec, approvals, verdict, progress, receipt\n"
	"  approve JOB            approve a job using your data (steward)\n"
	"  reject JOB [--reason TEXT]\n"
	"                         reject it: it will never run (steward)\n"
	"  cancel JOB [--reason TEXT]\n"
	"                         withdraw your proposal (analyst)\n"
	"  result JOB [--output FILE.csv | --csv]\n"
	"                         show the result, or write it as CSV (analyst)\n"
	"  result JOB --plot roc|lift|gains|importance FILE.svg\n"
	"                         write a train job's evaluation plot as SVG\n"
	"  explain --project P (--spec FILE.json | \"SELECT ...\")\n"
	"                         print the plan of a query job: what each party\n"
	"                         computes and what is revealed to whom\n"
	"  wait JOB [--timeout SECONDS]\n"
	"                         wait until the job ends; exit 0 if it finished\n"
	"\n"
	"options:\n"
	"  --node URL     the node (default: $SEALROOM_NODE, then HOME/node.url)\n"
	"  --token T      API token (default: $SEALROOM_TOKEN)\n"
	"  --home DIR     node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json         print the node's JSON answer\n"
	"  --quiet        no progress on stderr (wait)\n"
	"  --help         this text\n";

#define WAIT_POLL_MS 200

static int print_answer(json_t *answer, struct sr_err *err)
{
	return sr_cli_print_json(answer ? answer : json_null(), err);
}

/* Project from --project, checked. */
static int need_project(const struct sr_nodeclient_args *a, struct sr_err *err)
{
	if (!a->project)
		return sr_fail(err, SR_EUSAGE, "--project is required");
	return sr_nodeclient_check_project(a->project, err);
}

/* The single JOB argument, checked, and the node opened. */
static int job_arg(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		   char id[65], struct sr_err *err)
{
	int rc;

	if (a->npos != 1 + (a->plot != NULL))
		return sr_fail(err, SR_EUSAGE, a->plot ? "expected JOB and FILE.svg after --plot" :
			       "expected JOB (an id or a prefix of 8 or more hex digits)");
	rc = sr_nodeclient_job_id(a->pos[0], id, err);
	return rc ? rc : sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
}

int sr_cli_read_spec(const char *file, json_t **out, struct sr_err *err)
{
	const char *what = strcmp(file, "-") == 0 ? "stdin" : file;
	struct sr_buf text;
	char chunk[65536];
	size_t n;
	int rc = SR_OK;

	*out = NULL;
	sr_buf_init(&text, SR_HTTP_BODY_MAX);
	if (strcmp(file, "-") == 0) {
		while (rc == SR_OK && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if (sr_buf_add(&text, chunk, n))
				rc = sr_fail(err, SR_ELIMIT,
					     "stdin: the spec is larger than %u bytes",
					     SR_HTTP_BODY_MAX);
		if (rc == SR_OK && ferror(stdin))
			rc = sr_fail(err, SR_EIO, "stdin: read failed");
	} else {
		rc = sr_file_read_all(file, SR_HTTP_BODY_MAX, &text, err);
	}
	if (rc == SR_OK)
		rc = sr_json_parse(text.data, text.len, what, out, err);
	if (rc == SR_OK && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = sr_fail(err, SR_EINVAL,
			     "%s: expected a JSON object (the job spec: kind, inputs, receivers, ...)",
			     what);
	}
	sr_buf_release(&text);
	return rc;
}

int sr_cli_job_propose(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       const json_t *spec, struct sr_err *err)
{
	json_t *body = NULL, *answer = NULL;
	const json_t *verdict;
	char path[128], id[80];
	const char *job_id;
	int rc;

	body = json_pack("{s:O}", "spec", (json_t *)spec);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs", a->project);
	rc = sr_nodeclient_call(nc, "POST", path, body, NULL, &answer, err);
	if (rc)
		goto out;
	job_id = sr_nodeclient_str(answer, "job_id", "?");
	verdict = json_object_get(answer, "verdict");
	if (a->cli.json) {
		rc = sr_cli_print_json(json_incref(answer), err);
	} else {
		printf("proposed job %s in project %s (event %lld)\n",
		       sr_nodeclient_clean(id, 70, job_id), a->project,
		       sr_nodeclient_int(answer, "seq", 0));
		printf("verdict: ");
		sr_nodeclient_print_verdict(stdout, verdict);
	}
	sr_nodeclient_short(id, job_id, 16);
	if (rc == SR_OK && !json_is_true(json_object_get(verdict, "accept"))) {
		rc = sr_fail(err, SR_EPOLICY,
			     "the security checker refused job %s: it will not run as proposed",
			     id);
	} else if (rc == SR_OK && !a->cli.json) {
		printf("next: the owners of its inputs approve it with 'sealroom job approve %.16s';\n"
		       "follow it with 'sealroom job wait %.16s'\n", job_id, job_id);
	}
out:
	json_decref(body);
	json_decref(answer);
	return rc;
}

static int cmd_propose(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       struct sr_err *err)
{
	json_t *spec = NULL;
	int rc;

	if (a->npos != 0)
		return sr_fail(err, SR_EUSAGE, "unexpected argument '%s'", a->pos[0]);
	rc = need_project(a, err);
	if (rc == SR_OK && !a->spec)
		rc = sr_fail(err, SR_EUSAGE, "--spec FILE.json is required");
	if (rc == SR_OK)
		rc = sr_cli_read_spec(a->spec, &spec, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK)
		rc = sr_cli_job_propose(a, nc, spec, err);
	json_decref(spec);
	return rc;
}

/* "k/n" approvals of a job's owners. */
static void approvals_text(char buf[32], const json_t *job)
{
	const json_t *o;
	size_t i, approved = 0;

	json_array_foreach(json_object_get(job, "owners"), i, o)
		if (json_is_true(json_object_get(o, "approved")))
			approved++;
	snprintf(buf, 32, "%zu/%zu", approved,
		 json_array_size(json_object_get(job, "owners")));
}

static const char *verdict_word(const json_t *job)
{
	const json_t *accept = json_object_get(json_object_get(job, "verdict"),
					       "accept");

	return !json_is_boolean(accept) ? "-" :
	       json_is_true(accept) ? "accepted" : "refused";
}

static int cmd_list(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *jobs = NULL, *names = NULL, *j;
	char path[128], id[80], kind[40], appr[32], who[72];
	size_t i;
	int rc;

	if (a->npos != 0)
		return sr_fail(err, SR_EUSAGE, "unexpected argument '%s'", a->pos[0]);
	rc = need_project(a, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/projects/%s/jobs", a->project);
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &jobs, err);
	if (rc)
		goto out;
	if (!json_is_array(jobs)) {
		rc = sr_fail(err, SR_EPROTO, "the node's job list is not a JSON array");
		goto out;
	}
	if (a->cli.json)
		return print_answer(jobs, err);
	if (json_array_size(jobs) == 0) {
		printf("no jobs in project %s (propose one with 'sealroom job propose --project %s --spec FILE.json')\n",
		       a->project, a->project);
		goto out;
	}
	names = sr_nodeclient_project_state(nc, a->project);
	printf("%-16s  %-12s %-10s %-9s %-8s %s\n", "JOB", "KIND", "STATE",
	       "APPROVALS", "VERDICT", "PROPOSER");
	json_array_foreach(jobs, i, j) {
		approvals_text(appr, j);
		printf("%-16s  %-12s %-10s %-9s %-8s %s\n",
		       sr_nodeclient_prefix(id, sr_nodeclient_str(j, "id", "?"), 16),
		       sr_nodeclient_clean(kind, 13, sr_nodeclient_str(
				json_object_get(j, "spec"), "kind", "?")),
		       sr_nodeclient_str(j, "state", "?"), appr, verdict_word(j),
		       sr_nodeclient_clean(who, sizeof(who), sr_nodeclient_member_name(names,
				sr_nodeclient_str(j, "proposer", NULL))));
	}
out:
	json_decref(names);
	json_decref(jobs);
	return rc;
}

static void print_inputs(const json_t *spec)
{
	const json_t *in, *v;
	char name[140], col[180], version[80];
	const char *key;
	size_t i;

	json_array_foreach(json_object_get(spec, "inputs"), i, in) {
		printf("%s%s", i ? "             " : "  inputs:    ",
		       sr_nodeclient_clean(name, sizeof(name),
					   sr_nodeclient_str(in, "dataset", "?")));
		/* The kind's own keys (psi: column), as key value. */
		json_object_foreach((json_t *)in, key, v) {
			if (!json_is_string(v) || strcmp(key, "dataset") == 0 ||
			    strcmp(key, "version_id") == 0)
				continue;
			printf(" (%s %s)", sr_nodeclient_clean(col, 40, key),
			       sr_nodeclient_clean(col + 40, sizeof(col) - 40,
						   json_string_value(v)));
		}
		if (sr_nodeclient_str(in, "version_id", NULL))
			printf(", version %s", sr_nodeclient_short(version,
			       sr_nodeclient_str(in, "version_id", NULL), 16));
		printf("\n");
	}
	if (json_array_size(json_object_get(spec, "inputs")) == 0)
		printf("  inputs:    (none)\n");
}

/* The budget charges a job's receipt or failure records, one line each:
 * "  LABEL  ORG.DATASET (OWNER): epsilon E, delta D". */
static void print_charges(const char *label, const json_t *charges, const json_t *names)
{
	const json_t *c;
	char text[140], owner[80], e[40], d[40], shown[48];
	size_t i;

	json_array_foreach(charges, i, c) {
		snprintf(e, sizeof(e), "%s", json_is_string(json_object_get(c, "epsilon")) ?
			 json_string_value(json_object_get(c, "epsilon")) : "");
		if (json_is_integer(json_object_get(c, "epsilon")))
			snprintf(e, sizeof(e), "%lld", (long long)json_integer_value(json_object_get(c, "epsilon")));
		snprintf(d, sizeof(d), "%s", json_is_string(json_object_get(c, "delta")) ?
			 json_string_value(json_object_get(c, "delta")) : "");
		if (json_is_integer(json_object_get(c, "delta")))
			snprintf(d, sizeof(d), "%lld", (long long)json_integer_value(json_object_get(c, "delta")));
		printf("%s%s (%s): epsilon %s", i ? "             " : label,
		       sr_nodeclient_clean(text, 70, sr_nodeclient_str(c, "dataset", "?")),
		       sr_nodeclient_clean(owner, 72, sr_nodeclient_member_name(names,
					   sr_nodeclient_str(c, "owner", "?"))),
		       sr_nodeclient_clean(shown, 40, e));
		if (*d)
			printf(", delta %s", sr_nodeclient_clean(shown, 40, d));
		printf("\n");
	}
}

static void print_receipt(const json_t *receipt, const json_t *names)
{
	const json_t *sizes = json_object_get(receipt, "sizes"), *v;
	char text[140];
	const char *key;
	int first = 1;

	printf("  receipt:   output hash %s\n",
	       sr_nodeclient_clean(text, sizeof(text),
				   sr_nodeclient_str(receipt, "output_hash", "?")));
	if (json_object_size(sizes)) {
		printf("             sizes:");
		json_object_foreach((json_t *)sizes, key, v) {
			printf("%s %s %lld", first ? "" : ",",
			       sr_nodeclient_clean(text, 70, key),
			       json_is_integer(v) ? (long long)json_integer_value(v) : -1LL);
			first = 0;
		}
		printf("\n");
	}
	print_charges("  spent:     ", json_object_get(receipt, "charges"), names);
}

/* This node's own datasets' budgets as the job left them. */
static void print_budget(const json_t *budget)
{
	const json_t *b;
	char text[140];
	size_t i;

	json_array_foreach(budget, i, b)
		printf("%s%s: %s epsilon %g; budget %g spent, %g left of %g\n",
		       i ? "             " : "  budget:    ",
		       sr_nodeclient_clean(text, 70, sr_nodeclient_str(b, "dataset", "?")),
		       sr_nodeclient_str(b, "state", "?"),
		       json_real_value(json_object_get(b, "charged")),
		       json_real_value(json_object_get(b, "spent")),
		       json_real_value(json_object_get(b, "left")),
		       json_real_value(json_object_get(b, "epsilon_total")));
}

static int cmd_show(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *job = NULL, *names = NULL;
	const json_t *spec, *local, *o, *r;
	const char *proposer;
	char id[65], path[128], text[1100];
	size_t i;
	int rc;

	rc = job_arg(a, nc, id, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &job, err);
	if (rc)
		goto out;
	if (!json_is_object(job)) {
		rc = sr_fail(err, SR_EPROTO, "the node's job is not a JSON object");
		goto out;
	}
	if (a->cli.json)
		return print_answer(job, err);
	/* Member names make the votes readable; the ids stay in --json. */
	names = sr_nodeclient_project_state(nc, sr_nodeclient_str(job, "project", NULL));
	spec = json_object_get(job, "spec");
	local = json_object_get(job, "local");
	proposer = sr_nodeclient_str(job, "proposer", "?");
	printf("job %s\n", sr_nodeclient_clean(text, 70, sr_nodeclient_str(job, "id", id)));
	if (sr_nodeclient_str(job, "project", NULL))
		printf("  project:   %s\n", sr_nodeclient_clean(text, 70,
		       sr_nodeclient_str(job, "project", NULL)));
	printf("  state:     %s\n", sr_nodeclient_str(job, "state", "?"));
	printf("  kind:      %s", sr_nodeclient_clean(text, 40,
	       sr_nodeclient_str(spec, "kind", "?")));
	if (sr_nodeclient_str(spec, "mode", NULL))
		printf(" (mode %s)", sr_nodeclient_clean(text, 40,
		       sr_nodeclient_str(spec, "mode", NULL)));
	printf("\n  proposer:  %s", sr_nodeclient_clean(text, 72,
	       sr_nodeclient_member_name(names, proposer)));
	if (strcmp(sr_nodeclient_member_name(names, proposer), proposer) != 0)
		printf(" (%s)", sr_nodeclient_clean(text, 72, proposer));
	printf("\n");
	print_inputs(spec);
	json_array_foreach(json_object_get(job, "receivers"), i, r)
		printf("%s%s\n", i ? "             " : "  receivers: ",
		       sr_nodeclient_clean(text, 70, sr_nodeclient_member_name(names,
					   json_string_value(r))));
	json_array_foreach(json_object_get(job, "owners"), i, o)
		printf("%s%s %s\n", i ? "             " : "  approvals: ",
		       sr_nodeclient_clean(text, 70, sr_nodeclient_member_name(names,
					   sr_nodeclient_str(o, "org_id", NULL))),
		       json_is_true(json_object_get(o, "approved")) ? "approved" :
		       json_is_true(json_object_get(o, "rejected")) ? "rejected" :
		       "waiting");
	printf("  verdict:   (proposer) ");
	sr_nodeclient_print_verdict(stdout, json_object_get(job, "verdict"));
	if (json_is_object(json_object_get(job, "coordinator_verdict"))) {
		printf("             (coordinator) ");
		sr_nodeclient_print_verdict(stdout, json_object_get(job, "coordinator_verdict"));
	}
	if (sr_nodeclient_str(job, "reason", NULL))
		printf("  reason:    %s\n", sr_nodeclient_clean(text, sizeof(text),
		       sr_nodeclient_str(job, "reason", NULL)));
	if (json_is_object(local)) {
		printf("  this node: %s", sr_nodeclient_clean(text, 40,
		       sr_nodeclient_str(local, "state", "-")));
		if (sr_nodeclient_str(local, "progress", NULL) &&
		    *sr_nodeclient_str(local, "progress", NULL))
			printf(", %s", sr_nodeclient_clean(text, 200,
			       sr_nodeclient_str(local, "progress", NULL)));
		if (sr_nodeclient_str(local, "error", NULL))
			printf("; error: %s", sr_nodeclient_clean(text, sizeof(text),
			       sr_nodeclient_str(local, "error", NULL)));
		printf("\n");
	}
	if (json_is_object(json_object_get(job, "receipt")))
		print_receipt(json_object_get(job, "receipt"), names);
	print_charges("  refunded:  ", json_object_get(job, "refunded"), names);
	print_budget(json_object_get(job, "budget"));
out:
	json_decref(names);
	json_decref(job);
	return rc;
}

/* approve, reject, cancel: POST /v1/jobs/J/VERB. */
static int vote(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		const char *verb, const char *done, int with_reason,
		struct sr_err *err)
{
	json_t *body = NULL, *answer = NULL;
	const json_t *violations;
	char id[65], path[128], shown[80];
	int rc;

	rc = job_arg(a, nc, id, err);
	if (rc)
		return rc;
	/* approve has no body in docs/api.md; {} suits a node that parses
	 * every POST body as an object, and one that ignores it. */
	body = with_reason && a->reason ?
	       json_pack("{s:s}", "reason", a->reason) : json_object();
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/v1/jobs/%s/%s", id, verb);
	rc = sr_nodeclient_call(nc, "POST", path, body, NULL, &answer, err);
	if (rc) {
		/* A refused approval carries this node's checker verdict. */
		violations = json_object_get(answer, "violations");
		if (!json_is_array(violations))
			violations = json_object_get(json_object_get(answer, "verdict"),
						     "violations");
		if (json_array_size(violations)) {
			fprintf(stderr, "this node's security checker refuses job %s:\n",
				sr_nodeclient_short(shown, id, 16));
			sr_nodeclient_print_violations(stderr, violations);
		}
		goto out;
	}
	if (a->cli.json) {
		rc = sr_cli_print_json(json_incref(answer), err);
		goto out;
	}
	printf("%s job %s (event %lld)\n", done, id,
	       sr_nodeclient_int(answer, "seq", 0));
out:
	json_decref(body);
	json_decref(answer);
	return rc;
}

static int cmd_approve(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       struct sr_err *err)
{
	return vote(a, nc, "approve", "approved", 0, err);
}

static int cmd_reject(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	return vote(a, nc, "reject", "rejected", 1, err);
}

static int cmd_cancel(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	return vote(a, nc, "cancel", "cancelled", 1, err);
}

/* One result value as text; NULL for a JSON null. */
static const char *cell_text(char buf[64], const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL: snprintf(buf, 64, "%.17g", json_real_value(v)); return buf;
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return NULL;
	default: return "?";
	}
}

/* RFC 4180 field: quoted when needed; "" for an empty string, nothing for
 * NULL (as `dataset export` writes them). */
static void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (*s && !strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_csv(const char *file, const json_t *columns,
		     const json_t *rows, struct sr_err *err)
{
	const json_t *row, *v;
	char num[64];
	size_t i, j;
	int to_stdout = strcmp(file, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(file, "wx");

	if (!f)
		return sr_fail(err, SR_EIO, "%s: cannot create (%s; it must not exist yet)",
			       file, strerror(errno));
	json_array_foreach(columns, j, v) {
		if (j)
			fputc(',', f);
		csv_field(f, cell_text(num, v));
	}
	fputc('\n', f);
	json_array_foreach(rows, i, row) {
		json_array_foreach(row, j, v) {
			if (j)
				fputc(',', f);
			csv_field(f, cell_text(num, v));
		}
		fputc('\n', f);
	}
	if (to_stdout)
		return fflush(f) != 0 || ferror(f) ? sr_fail(err, SR_EIO, "stdout: write failed") : SR_OK;
	if (fflush(f) != 0 || ferror(f)) {
		fclose(f);
		remove(file);
		return sr_fail(err, SR_EIO, "%s: write failed", file);
	}
	if (fclose(f) != 0) {
		remove(file);
		return sr_fail(err, SR_EIO, "%s: write failed", file);
	}
	return SR_OK;
}

#define CELL_WIDTH_MAX 40

static void print_table(const json_t *columns, const json_t *rows)
{
	size_t ncols = json_array_size(columns), i, j;
	size_t widths[64] = { 0 };
	char num[64], cell[CELL_WIDTH_MAX + 4];
	const json_t *row;
	const char *s;

	if (ncols > 64)
		ncols = 64;
	for (j = 0; j < ncols; j++) {
		s = sr_nodeclient_clean(cell, sizeof(cell),
					cell_text(num, json_array_get(columns, j)));
		widths[j] = strlen(s);
	}
	json_array_foreach(rows, i, row)
		for (j = 0; j < ncols; j++) {
			s = cell_text(num, json_array_get(row, j));
			s = sr_nodeclient_clean(cell, sizeof(cell), s ? s : "NULL");
			if (strlen(s) > widths[j])
				widths[j] = strlen(s);
		}
	for (j = 0; j < ncols; j++)
		printf("%s%-*s", j ? "  " : "", j + 1 < ncols ? (int)widths[j] : 0,
		       sr_nodeclient_clean(cell, sizeof(cell),
					   cell_text(num, json_array_get(columns, j))));
	printf("\n");
	for (j = 0; j < ncols; j++) {
		printf("%s", j ? "  " : "");
		for (size_t k = 0; k < widths[j]; k++)
			putchar('-');
	}
	printf("\n");
	json_array_foreach(rows, i, row) {
		for (j = 0; j < ncols; j++) {
			s = cell_text(num, json_array_get(row, j));
			printf("%s%-*s", j ? "  " : "", j + 1 < ncols ? (int)widths[j] : 0,
			       sr_nodeclient_clean(cell, sizeof(cell), s ? s : "NULL"));
		}
		printf("\n");
	}
}

/* A train result's plot (kinds/train/train.h) as an SVG file. */
static int write_plot(const json_t *result, const char *which, const char *file,
		      struct sr_err *err)
{
	struct sr_buf svg;
	int rc;

	sr_buf_init(&svg, SR_BUF_UNBOUNDED);   /* bounded by the result's size */
	rc = train_plot(result, which, &svg, err);
	if (rc == SR_OK)
		rc = sr_file_write_atomic(file, svg.data, svg.len, 0644, err);
	sr_buf_release(&svg);
	return rc;
}

static int cmd_result(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	json_t *result = NULL, *columns = NULL, *rows = NULL;
	char id[65], path[128], hash[80];
	int rc;

	rc = job_arg(a, nc, id, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/jobs/%s/result", id);
	nc->max_answer = SR_RESULT_BYTES_MAX;   /* results may be large */
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &result, err);
	if (rc)
		goto out;
	if (!json_is_object(result)) {
		rc = sr_fail(err, SR_EPROTO, "the node's result is not a JSON object");
		goto out;
	}
	/* Every kind's result is one envelope: {"columns", "rows", "meta"}. */
	columns = json_incref(json_object_get(result, "columns"));
	rows = json_incref(json_object_get(result, "rows"));
	if (!json_is_array(columns) || !json_is_array(rows)) {
		rc = sr_fail(err, SR_EPROTO, "the node's result has no columns and rows");
		goto out;
	}
	if (a->plot) {
		rc = write_plot(result, a->plot, a->pos[1], err);
		if (rc == SR_OK && !a->cli.quiet)
			printf("wrote the %s plot to %s\n", a->plot, a->pos[1]);
		goto out;
	}
	if (a->csv && a->output) {
		rc = sr_fail(err, SR_EUSAGE, "--csv prints to stdout: give --csv or --output, not both");
		goto out;
	}
	if (a->output || a->csv) {
		rc = write_csv(a->csv ? "-" : a->output, columns, rows, err);
		if (rc || a->csv)
			goto out;
	}
	if (a->cli.json) {
		rc = sr_cli_print_json(json_incref(result), err);
	} else if (a->output) {
		printf("wrote %zu row%s to %s\n", json_array_size(rows),
		       json_array_size(rows) == 1 ? "" : "s", a->output);
	} else {
		print_table(columns, rows);
		printf("(%zu row%s", json_array_size(rows),
		       json_array_size(rows) == 1 ? "" : "s");
		if (sr_nodeclient_str(json_object_get(result, "meta"), "output_hash", NULL))
			printf("; output hash %s", sr_nodeclient_short(hash,
			       sr_nodeclient_str(json_object_get(result, "meta"),
						 "output_hash", NULL), 16));
		printf(")\n");
		sr_cli_print_release_meta(stdout, json_object_get(result, "meta"));
	}
out:
	json_decref(columns);
	json_decref(rows);
	json_decref(result);
	return rc;
}

static int is_terminal(const char *state)
{
	return strcmp(state, "finished") == 0 || strcmp(state, "failed") == 0 ||
	       strcmp(state, "rejected") == 0 || strcmp(state, "cancelled") == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One line on stderr when the state or this node's progress changes. */
static void wait_progress(const json_t *job, const char *shown,
			  struct sr_buf *last, int enabled)
{
	const json_t *local = json_object_get(job, "local");
	const char *progress = sr_nodeclient_str(local, "progress", "");
	char line[400], appr[32], text[300];
	const char *state = sr_nodeclient_str(job, "state", "?");

	if (!enabled)
		return;
	if (strcmp(state, "proposed") == 0) {
		approvals_text(appr, job);
		snprintf(line, sizeof(line), "job %s: proposed (approvals %s)",
			 shown, appr);
	} else if (is_terminal(state)) {
		/* This node's last progress note is stale by now. */
		snprintf(line, sizeof(line), "job %s: %s", shown, state);
	} else {
		snprintf(line, sizeof(line), "job %s: %s%s%s", shown, state,
			 *progress ? ": " : "",
			 sr_nodeclient_clean(text, sizeof(text), progress));
	}
	if (strcmp(line, last->data) == 0)
		return;
	sr_buf_reset(last);
	if (sr_buf_addstr(last, line) == SR_OK)
		fprintf(stderr, "%s\n", line);
}

static int cmd_wait(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *job = NULL;
	struct sr_buf last;
	const char *state, *env = getenv("SEALROOM_PROGRESS");
	char id[65], path[128], shown[80], reason[1100], hash[80];
	double deadline = 0;
	int progress = !a->cli.quiet && !(env && strcmp(env, "0") == 0);
	int rc;

	rc = job_arg(a, nc, id, err);
	if (rc)
		return rc;
	sr_buf_init(&last, 0);
	sr_nodeclient_short(shown, id, 16);
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	if (a->timeout_s > 0)
		deadline = sr_now_seconds() + a->timeout_s;
	for (;;) {
		json_decref(job);
		job = NULL;
		rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &job, err);
		if (rc)
			goto out;
		state = sr_nodeclient_str(job, "state", NULL);
		if (!state) {
			rc = sr_fail(err, SR_EPROTO, "the node's job %s has no state", shown);
			goto out;
		}
		wait_progress(job, shown, &last, progress);
		if (is_terminal(state))
			break;
		if (deadline > 0 && sr_now_seconds() >= deadline) {
			rc = sr_fail(err, SR_ETIMEOUT,
				     "timed out after %g s waiting for job %s (it is %s)",
				     a->timeout_s, shown, state);
			goto out;
		}
		sleep_ms(WAIT_POLL_MS);
	}
	if (a->cli.json)
		rc = sr_cli_print_json(json_incref(job), err);
	else if (strcmp(state, "finished") == 0)
		printf("job %s finished: output hash %s\n", shown,
		       sr_nodeclient_short(hash, sr_nodeclient_str(
				json_object_get(job, "receipt"), "output_hash", NULL), 16));
	if (rc || strcmp(state, "finished") == 0)
		goto out;
	sr_nodeclient_clean(reason, sizeof(reason), sr_nodeclient_str(job, "reason",
		sr_nodeclient_str(json_object_get(job, "local"), "error", NULL)));
	if (strcmp(state, "rejected") == 0) {
		json_t *names = sr_nodeclient_project_state(nc,
				sr_nodeclient_str(job, "project", NULL));
		char who[72];

		sr_nodeclient_clean(who, sizeof(who), sr_nodeclient_member_name(names,
				    sr_nodeclient_str(job, "ended_by", "an owner")));
		json_decref(names);
		rc = sr_fail(err, SR_EPOLICY, "job %s was rejected by %s%s%s", shown,
			     who, *reason ? ": " : "", reason);
	}
	else
		rc = sr_fail(err, SR_EINVAL, "job %s %s%s%s", shown,
			     strcmp(state, "failed") == 0 ? "failed" : "was cancelled",
			     *reason ? ": " : "", reason);
out:
	sr_buf_release(&last);
	json_decref(job);
	return rc;
}

int sr_cmd_job(int argc, char **argv)
{
	static const struct sr_nodeclient_verb verbs[] = {
		{ "propose", SR_NCOPT_PROJECT | SR_NCOPT_SPEC, cmd_propose },
		{ "list", SR_NCOPT_PROJECT, cmd_list },
		{ "ls", SR_NCOPT_PROJECT, cmd_list },
		{ "show", 0, cmd_show },
		{ "approve", 0, cmd_approve },
		{ "reject", SR_NCOPT_REASON, cmd_reject },
		{ "cancel", SR_NCOPT_REASON, cmd_cancel },
		{ "result", SR_NCOPT_OUTPUT | SR_NCOPT_CSV | SR_NCOPT_PLOT, cmd_result },
		{ "explain", SR_NCOPT_PROJECT | SR_NCOPT_SPEC | SR_NCOPT_QUERY, sr_cli_job_explain },
		{ "wait", SR_NCOPT_TIMEOUT, cmd_wait },
	};

	return sr_nodeclient_dispatch("job", job_usage, verbs,
				      sizeof(verbs) / sizeof(*verbs), argc, argv);
}
