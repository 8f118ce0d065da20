/*
 * cmd_dataset.c - `sealroom dataset import|list|show|export|verify|rm`,
 * and `dataset publish`, which asks the node to publish a dataset's
 * metadata to a project (cli/nodeclient.h).
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "cli/csvopts.h"
#include "cli/nodeclient.h"
#include "store/store.h"
#include "node/node.h"
#include "base/banned.h"

static const char dataset_usage[] =
	"usage: sealroom dataset <command> [options]\n"
	"\n"
	"Manage this node's encrypted datasets.\n"
	"\n"
	"commands:\n"
	"  import NAME FILE.csv [--policy P.json | --classify-by-name] [--null T]...\n"
	"                      import a CSV file as a new version of NAME;\n"
	"                      --hierarchy COL=H.csv gives a qi column an explicit\n"
	"                      generalization hierarchy (value,level1,...; stored)\n"
	"  import NAME --from postgresql://... --query SQL | --table T\n"
	"                      import a PostgreSQL query, streamed\n"
	"  list [--json]       list datasets\n"
	"  show NAME [--json]  schema, classes, policy, rows, version id, sizes\n"
	"  export NAME [--columns A,B] [--output FILE]\n"
	"                      decrypt to CSV (stdout by default); owner only\n"
	"  verify NAME         decrypt and check every chunk\n"
	"  rm NAME             delete NAME: shred its keys, then its files\n"
	"  publish NAME --project P [--node URL] [--token T]\n"
	"                      publish NAME's metadata (schema, classes, policy,\n"
	"                      version id, row count; never rows) to project P\n"
	"                      through the running node (steward token)\n"
	"\n"
	"common options:\n"
	"  --home DIR          node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json              machine-readable output (list, show, import, publish)\n"
	"  --quiet             no progress on stderr\n"
	"  --help              this text\n"
	"\n"
	"The passphrase comes from $SEALROOM_PASSPHRASE or the terminal.\n"
	"Every column must be classified (id, qi, sa or public) by the policy\n"
	"file, or by name with --classify-by-name; see docs/policy.md and\n"
	"docs/data.md.  'sealroom dataset <command> --help' shows a command's\n"
	"own options and an example.\n";

struct dataset_args {
	struct sr_cli cli;
	const char *policy;
	struct sr_csvopts data;     /* --null, --skip-lines, --header, ... */
	int clamp;                  /* --clamp */
	const char *hierarchies[SR_ANON_QI_MAX]; /* --hierarchy COL=FILE.csv */
	size_t nhierarchies;
	const char *from;           /* --from URL */
	const char *from_env;       /* --from-env VAR */
	const char *from_file;      /* --from-file FILE */
	const char *query;          /* --query SQL */
	const char *table;          /* --table T */
	const char *columns;
	const char *output;
	const char *project;   /* publish */
	const char *node;
	const char *token;
	int classify_by_name;
	char **pos;
	int npos;
};

static int parse_args(const char *cmd, int argc, char **argv,
		      struct dataset_args *a, int *exit_code)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "policy", required_argument, NULL, 'p' },
		{ "classify-by-name", no_argument, NULL, 'n' },
		{ "columns", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "project", required_argument, NULL, 'P' },
		{ "node", required_argument, NULL, 'N' },
		{ "token", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		SR_CSVOPTS_LONG,
		{ "clamp", no_argument, NULL, 'C' },
		{ "hierarchy", required_argument, NULL, 'G' },
		{ "from", required_argument, NULL, 'F' },
		{ "from-env", required_argument, NULL, 'V' },
		{ "from-file", required_argument, NULL, 'W' },
		{ "query", required_argument, NULL, 'Y' },
		{ "table", required_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	sr_csvopts_init(&a->data);
	optind = 0;
	while ((c = getopt_long(argc, argv, "hqo:", opts, NULL)) != -1) {
		if (c >= SR_CSVOPT_FIRST && c <= SR_CSVOPT_LAST) {
			if (sr_csvopts_take(&a->data, c, optarg, cmd, exit_code))
				return 1;
			continue;
		}
		switch (c) {
		case 'C': a->clamp = 1; break;
		case 'G':
			if (a->nhierarchies == SR_ANON_QI_MAX) {
				*exit_code = sr_cli_usage_error(cmd, "too many --hierarchy options");
				return 1;
			}
			a->hierarchies[a->nhierarchies++] = optarg;
			break;
		case 'F': a->from = optarg; break;
		case 'V': a->from_env = optarg; break;
		case 'W': a->from_file = optarg; break;
		case 'Y': a->query = optarg; break;
		case 'Z': a->table = optarg; break;
		case 'H': a->cli.home = optarg; break;
		case 'j': a->cli.json = 1; break;
		case 'q': a->cli.quiet = 1; break;
		case 'p': a->policy = optarg; break;
		case 'n': a->classify_by_name = 1; break;
		case 'c': a->columns = optarg; break;
		case 'o': a->output = optarg; break;
		case 'P': a->project = optarg; break;
		case 'N': a->node = optarg; break;
		case 'T': a->token = optarg; break;
		case 'h':
			fputs(dataset_usage, stdout);
			*exit_code = SR_EXIT_OK;
			return 1;
		default:
			*exit_code = sr_cli_usage_error(cmd, "bad option");
			return 1;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	if (sr_csvopts_finish(&a->data, cmd, exit_code))
		return 1;
	return 0;
}

static void import_progress(void *ctx, int pass, uint64_t done,
			    uint64_t total)
{
	struct sr_progress *p = ctx;
	char detail[64];
	double fraction = total ? (double)done / (double)total : 0;

	if (total == 0) {
		/* A database query: rows so far, no total. */
		snprintf(detail, sizeof(detail), "(%llu rows read and encrypted)",
			 (unsigned long long)done);
		sr_progress_update(p, 0, detail);
		return;
	}
	snprintf(detail, sizeof(detail), "(pass %d of 2: %s)", pass,
		 pass == 1 ? "checking" : "encrypting");
	sr_progress_update(p, (pass - 1 + fraction) / 2.0, detail);
}

static void import_warn(void *ctx, const char *text)
{
	(void)ctx;
	fprintf(stderr, "sealroom: warning: %s\n", text);
}

static void import_note(void *ctx, const char *text)
{
	(void)ctx;
	fprintf(stderr, "sealroom: %s\n", text);
}

static void import_unclassified(void *ctx, const char *column)
{
	int *listed = ctx;

	if (!(*listed)++)
		fprintf(stderr, "sealroom: columns that no word of --classify-by-name classifies:\n");
	fprintf(stderr, "  %s\n", column);
}

static json_t *columns_json(const struct sr_dataset_info *info)
{
	json_t *cols = json_array();

	for (size_t i = 0; cols && i < info->ncolumns; i++) {
		const struct sr_column_info *c = &info->columns[i];
		if (json_array_append_new(cols, json_pack("{s:s,s:s,s:s}",
				"name", c->name, "type", sr_type_name(c->type),
				"class", sr_class_name(c->cls)))) {
			json_decref(cols);
			return NULL;
		}
	}
	return cols;
}

static json_t *info_json(const struct sr_dataset_info *info, int full)
{
	json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}",
			      "name", info->name,
			      "version_id", info->version_id,
			      "rows", (json_int_t)info->rows,
			      "columns", (json_int_t)info->column_count,
			      "plain_bytes", (json_int_t)info->plain_bytes,
			      "stored_bytes", (json_int_t)info->stored_bytes,
			      "created", (json_int_t)info->created);

	if (j && full) {
		if (json_object_set_new(j, "schema", columns_json(info)) ||
		    json_object_set(j, "policy", info->policy) ||
		    json_object_set_new(j, "chunks_per_column",
					json_integer((json_int_t)info->chunks))) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static const char *time_text(char buf[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

/*
 * The connection string, from --from, or kept out of argv and shell
 * history: an environment variable (--from-env) or the first line of a
 * file only its owner can read (--from-file).  *out is a heap string the
 * caller wipes (it may hold a password) and frees.
 */
static int connection_string(const struct dataset_args *a, char **out,
			     struct sr_err *err)
{
	const char *text = a->from;
	struct sr_buf file;
	struct stat st;
	size_t len;
	int rc;

	*out = NULL;
	if (!!a->from + !!a->from_env + !!a->from_file > 1)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: give one of --from, --from-env and --from-file");
	if (a->from_env) {
		text = getenv(a->from_env);
		if (!text || !*text)
			return sr_fail(err, SR_EINVAL,
				       "--from-env: $%.64s is not set", a->from_env);
	}
	sr_buf_init(&file, SR_SMALL_FILE_MAX);
	if (a->from_file) {
		if (stat(a->from_file, &st) != 0)
			return sr_fail(err, SR_ENOTFOUND, "%s: cannot read: %s",
				       a->from_file, strerror(errno));
		if (st.st_mode & 077)
			return sr_fail(err, SR_EPERM,
				       "%s: others may read it (mode %04o): it holds a connection string, so 'chmod 600' it",
				       a->from_file, (unsigned)(st.st_mode & 07777));
		rc = sr_file_read_all(a->from_file, SR_SMALL_FILE_MAX, &file, err);
		if (rc)
			return rc;
		text = file.data;
	}
	len = strcspn(text, "\r\n");
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	*out = sr_strndup(text, len);
	sr_buf_wipe(&file);
	if (!*out)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (strncmp(*out, "postgresql://", 13) != 0 &&
	    strncmp(*out, "postgres://", 11) != 0) {
		sodium_memzero(*out, len);
		sr_free(*out);
		*out = NULL;
		return sr_fail(err, SR_EINVAL,
			       "--from: expected a postgresql:// URL (the only database source so far)");
	}
	return SR_OK;
}

static int cmd_import(struct dataset_args *a, struct sr_err *err)
{
	struct sr_import_options opts = { 0 };
	struct sr_dataset_info info;
	struct sr_progress progress;
	char b1[32], b2[32], *conninfo = NULL;
	int rc, listed = 0;
	int from_db = a->from || a->from_env || a->from_file;

	if (from_db && a->npos != 1)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: expected NAME alone with --from (no FILE.csv)");
	if (!from_db && (a->query || a->table))
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: --query and --table need --from");
	if (from_db && !a->query == !a->table)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: with --from, give --query SQL or --table T");
	if (from_db && a->data.given)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: CSV options (--skip-lines, --header, --delimiter, --quote, --encoding) do not apply to --from");
	if (!from_db && a->npos != 2)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: expected NAME and FILE.csv");
	if (a->policy && a->classify_by_name)
		return sr_fail(err, SR_EUSAGE,
			       "dataset import: give --policy or --classify-by-name, not both");
	if (from_db) {
		rc = connection_string(a, &conninfo, err);
		if (rc)
			return rc;
	}
	sr_dataset_info_init(&info);
	rc = sr_cli_open_store(&a->cli, 1, err);
	if (rc)
		goto out;
	sr_progress_init(&progress, "import", a->cli.quiet);
	opts.pg_conninfo = conninfo;
	opts.pg_query = a->query;
	opts.pg_table = a->table;
	opts.policy_path = a->policy;
	opts.classify_by_name = a->classify_by_name;
	opts.csv = a->data.csv;
	opts.nulls = a->data.nulls;
	opts.nnulls = a->data.nnulls;
	opts.warn = import_warn;
	opts.note = import_note;
	opts.clamp = a->clamp;
	opts.hierarchies = a->hierarchies;
	opts.nhierarchies = a->nhierarchies;
	opts.unclassified = import_unclassified;
	opts.warn_ctx = &listed;
	opts.progress = import_progress;
	opts.progress_ctx = &progress;
	rc = sr_store_import(a->cli.store, a->pos[0], from_db ? NULL : a->pos[1],
			     &opts, &info, err);
	sr_progress_done(&progress);
	if (rc)
		goto out;
	if (a->cli.json) {
		rc = sr_cli_print_json(info_json(&info, 0), err);
	} else {
		printf("imported %s: %" PRIu64 " rows, %zu columns, version %s\n",
		       info.name, info.rows, info.column_count,
		       info.version_id);
		printf("  %s of data stored as %s (compressed, encrypted)\n",
		       sr_cli_bytes(b1, info.plain_bytes),
		       sr_cli_bytes(b2, info.stored_bytes));
	}
out:
	sr_dataset_info_release(&info);
	if (conninfo) {
		sodium_memzero(conninfo, strlen(conninfo));
		sr_free(conninfo);
	}
	return rc;
}

static int cmd_list(struct dataset_args *a, struct sr_err *err)
{
	struct sr_dataset_info *list = NULL;
	size_t n = 0;
	char b1[32], t[32];
	int rc;

	if (a->npos != 0)
		return sr_fail(err, SR_EUSAGE,
			       "dataset list: unexpected argument '%s'", a->pos[0]);
	rc = sr_cli_open_store(&a->cli, 0, err);
	if (rc == SR_OK)
		rc = sr_store_list(a->cli.store, &list, &n, err);
	if (rc)
		return rc;
	if (a->cli.json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			if (json_array_append_new(arr, info_json(&list[i], 0))) {
				json_decref(arr);
				arr = NULL;
			}
		rc = sr_cli_print_json(arr, err);
	} else if (n == 0) {
		printf("no datasets (import one with 'sealroom dataset import NAME FILE.csv')\n");
	} else {
		printf("%-24s %12s %7s %10s  %-20s  %s\n", "NAME", "ROWS",
		       "COLUMNS", "STORED", "CREATED", "VERSION");
		for (size_t i = 0; i < n; i++)
			printf("%-24s %12" PRIu64 " %7zu %10s  %-20s  %.16s\n",
			       list[i].name, list[i].rows,
			       list[i].column_count,
			       sr_cli_bytes(b1, list[i].stored_bytes),
			       time_text(t, list[i].created),
			       list[i].version_id);
	}
	sr_dataset_info_list_free(list, n);
	return rc;
}

/* A policy number: an integer, or a decimal string in canonical form. */
static const char *number_text(char buf[32], const json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, 32, "%s", json_string_value(v));
	else
		snprintf(buf, 32, "?");
	return buf;
}

/* A JSON scalar of a policy as a terminal may show it: strings quoted
 * and cut, control bytes replaced. */
static void print_scalar(const json_t *v)
{
	char shown[SR_VALUE_SHOWN_SIZE], num[32];

	if (json_is_string(v))
		printf("'%s'", sr_value_shown(json_string_value(v),
					      json_string_length(v), shown));
	else if (json_is_boolean(v))
		printf("%s", json_is_true(v) ? "true" : "false");
	else
		printf("%s", number_text(num, v));
}

/* "NA, '-'" for a list of null tokens. */
static void print_tokens(const json_t *arr)
{
	const json_t *t;
	size_t i;

	if (json_array_size(arr) == 0)
		printf("none but the empty unquoted field");
	json_array_foreach(arr, i, t) {
		if (i)
			printf(", ");
		print_scalar(t);
	}
}

/* Bounds, domain (the first 10 values and the count), mask and nulls of
 * one column, one line each. */
static void print_column_rules(const json_t *col)
{
	const json_t *v, *d;
	char lo[32], hi[32];
	size_t i, n;

	v = json_object_get(col, "bounds");
	if (json_is_array(v))
		printf("        bounds  [%s, %s]\n",
		       number_text(lo, json_array_get(v, 0)),
		       number_text(hi, json_array_get(v, 1)));
	v = json_object_get(col, "domain");
	if (json_is_array(v)) {
		n = json_array_size(v);
		printf("        domain  %zu value%s: ", n, n == 1 ? "" : "s");
		json_array_foreach(v, i, d) {
			if (i == 10) {
				printf(", ...");
				break;
			}
			if (i)
				printf(", ");
			print_scalar(d);
		}
		printf("\n");
	}
	v = json_object_get(col, "mask");
	if (json_is_string(v)) {
		printf("        mask    ");
		print_scalar(v);
		printf("\n");
	}
	v = json_object_get(col, "nulls");
	if (json_is_array(v)) {
		printf("        nulls   ");
		print_tokens(v);
		printf(" (this column's own)\n");
	}
}

static void print_policy_summary(const json_t *policy, const json_t *budget)
{
	const json_t *v;
	size_t i;

	v = json_object_get(policy, "min_group_size");
	printf("  min group size: %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(v));
	printf("  nulls: ");
	print_tokens(json_object_get(policy, "nulls"));
	printf("\n");
	v = json_object_get(policy, "dp");
	if (json_is_object(v)) {
		char e1[32], e2[32], d[32];
		printf("  differential privacy: epsilon_total %s, per job %s, delta %s\n",
		       number_text(e1, json_object_get(v, "epsilon_total")),
		       number_text(e2, json_object_get(v, "epsilon_max_per_job")),
		       number_text(d, json_object_get(v, "delta")));
		if (json_is_object(budget))
			printf("  budget: epsilon %g spent, %g left (of %g)\n",
			       json_real_value(json_object_get(budget, "epsilon_spent")),
			       json_real_value(json_object_get(budget, "epsilon_left")),
			       json_real_value(json_object_get(budget, "epsilon_total")));
	} else {
		printf("  differential privacy: none\n");
	}
	v = json_object_get(policy, "jobs");
	if (json_is_array(v)) {
		json_t *k;
		printf("  job kinds:");
		json_array_foreach(v, i, k)
			printf(" %s", json_string_value(k));
		printf("\n");
	}
	v = json_object_get(policy, "receivers");
	if (json_is_array(v)) {
		json_t *k;
		printf("  receivers:");
		if (json_array_size(v) == 0)
			printf(" (owner only)");
		json_array_foreach(v, i, k)
			printf(" %s", json_string_value(k));
		printf("\n");
	}
	v = json_object_get(policy, "row_filter");
	if (json_is_string(v)) {
		char shown[SR_ERR_MSG_MAX];
		/* A filter is short (limits.h) but may hold any byte. */
		sr_nodeclient_clean(shown, sizeof(shown), json_string_value(v));
		printf("  row filter: %s\n", shown);
	} else {
		printf("  row filter: none (every row takes part)\n");
	}
}

static void print_allow(const json_t *col)
{
	const json_t *allow = json_object_get(col, "allow");
	json_t *u;
	size_t i;

	json_array_foreach(allow, i, u)
		printf("%s%s", i ? "," : "", json_string_value(u));
}

/* The dataset's differential-privacy budget, when its policy has dp:
 * {epsilon_total, epsilon_spent, epsilon_left} from this home's node.db
 * (every charge of a job that was not refunded); *out NULL without dp. */
static int budget_json(struct sr_cli *cli, const struct sr_dataset_info *info,
		       json_t **out, struct sr_err *err)
{
	const json_t *dp = json_object_get(info->policy, "dp");
	double total, spent;
	int rc;

	*out = NULL;
	if (!json_is_object(dp))
		return SR_OK;
	rc = sr_policy_number(json_object_get(dp, "epsilon_total"), "policy",
			      "dp.epsilon_total", &total, err);
	if (rc == SR_OK)
		rc = sr_node_budget_spent(cli->home, info->name, &spent, err);
	if (rc)
		return rc;
	*out = json_pack("{s:f,s:f,s:f}", "epsilon_total", total, "epsilon_spent", spent,
			 "epsilon_left", total - spent > 0 ? total - spent : 0);
	return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

static int cmd_show(struct dataset_args *a, struct sr_err *err)
{
	json_t *budget = NULL;
	struct sr_dataset_info info;
	char b1[32], b2[32], t[32];
	const json_t *pcols;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "dataset show: expected NAME");
	rc = sr_cli_open_store(&a->cli, 1, err);
	if (rc)
		return rc;
	sr_dataset_info_init(&info);
	rc = sr_store_info(a->cli.store, a->pos[0], &info, err);
	if (rc)
		return rc;
	if ((rc = budget_json(&a->cli, &info, &budget, err)) != SR_OK) {
		sr_dataset_info_release(&info);
		return rc;
	}
	if (a->cli.json) {
		json_t *j = info_json(&info, 1);
		if (j && budget && json_object_set(j, "budget", budget)) {
			json_decref(j);
			j = NULL;
		}
		json_decref(budget);
		rc = sr_cli_print_json(j, err);
		sr_dataset_info_release(&info);
		return rc;
	}
	printf("dataset %s\n", info.name);
	printf("  version:  %s\n", info.version_id);
	printf("  created:  %s\n", time_text(t, info.created));
	printf("  rows:     %" PRIu64 "\n", info.rows);
	printf("  size:     %s plaintext, %s stored, %" PRIu64 " chunks per column\n",
	       sr_cli_bytes(b1, info.plain_bytes),
	       sr_cli_bytes(b2, info.stored_bytes), info.chunks);
	printf("  columns:\n");
	printf("    %-24s %-8s %-7s %s\n", "NAME", "TYPE", "CLASS", "ALLOWED");
	pcols = json_object_get(info.policy, "columns");
	for (size_t i = 0; i < info.ncolumns; i++) {
		const struct sr_column_info *c = &info.columns[i];
		printf("    %-24s %-8s %-7s ", c->name, sr_type_name(c->type),
		       sr_class_name(c->cls));
		print_allow(json_object_get(pcols, c->name));
		printf("\n");
		print_column_rules(json_object_get(pcols, c->name));
	}
	printf("  policy:\n");
	print_policy_summary(info.policy, budget);
	json_decref(budget);
	sr_dataset_info_release(&info);
	return SR_OK;
}

/* RFC 4180 output: quote when needed; "" for an empty non-NULL string. */
static int csv_field(struct sr_buf *line, const char *s, size_t len,
		     int is_null)
{
	int quote = !is_null && len == 0;
	int rc = SR_OK;

	for (size_t i = 0; i < len && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (!quote)
		return sr_buf_add(line, s, len);
	rc = sr_buf_addch(line, '"');
	for (size_t i = 0; rc == SR_OK && i < len; i++) {
		if (s[i] == '"')
			rc = sr_buf_addch(line, '"');
		if (rc == SR_OK)
			rc = sr_buf_addch(line, s[i]);
	}
	if (rc == SR_OK)
		rc = sr_buf_addch(line, '"');
	return rc;
}

static int cmd_export(struct dataset_args *a, struct sr_err *err)
{
	struct sr_scan *scan = NULL;
	const struct sr_vec *cols;
	struct sr_buf line, val;
	struct sr_progress progress;
	char **names = NULL;
	size_t nnames = 0, rows, ncols;
	uint64_t done = 0;
	FILE *out = stdout;
	int eof = 0, rc;

	sr_buf_init(&line, 0);
	sr_buf_init(&val, 0);
	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "dataset export: expected NAME");
	if (a->columns) {
		rc = sr_csvopts_split(a->columns, &names, &nnames, err);
		if (rc) {
			sr_err_prefix(err, "--columns");
			return rc;
		}
	}
	rc = sr_cli_open_store(&a->cli, 1, err);
	if (rc == SR_OK)
		rc = sr_scan_open(a->cli.store, a->pos[0],
				  (const char *const *)names, nnames, &scan, err);
	if (rc)
		goto out;
	if (a->output) {
		out = fopen(a->output, "wx");
		if (!out) {
			rc = sr_fail(err, SR_EIO, "%s: cannot create (it must not exist yet)",
				     a->output);
			out = stdout;
			goto out;
		}
	}
	ncols = sr_scan_columns(scan);
	sr_progress_init(&progress, "export", a->cli.quiet);
	for (size_t j = 0; rc == SR_OK && j < ncols; j++) {
		const char *n = sr_scan_column(scan, j)->name;
		if (j)
			rc = sr_buf_addch(&line, ',');
		if (rc == SR_OK)
			rc = csv_field(&line, n, strlen(n), 0);
	}
	if (rc == SR_OK)
		rc = sr_buf_addch(&line, '\n');
	while (rc == SR_OK) {
		rc = sr_scan_next(scan, &cols, &rows, &eof, err);
		if (rc || eof)
			break;
		for (size_t r = 0; rc == SR_OK && r < rows; r++) {
			for (size_t j = 0; rc == SR_OK && j < ncols; j++) {
				int is_null = sr_vec_is_null(&cols[j], r);
				sr_buf_reset(&val);
				if (j)
					rc = sr_buf_addch(&line, ',');
				if (rc == SR_OK)
					rc = sr_vec_format(&cols[j], r, &val);
				if (rc == SR_OK)
					rc = csv_field(&line, val.data, val.len,
						       is_null);
			}
			if (rc == SR_OK)
				rc = sr_buf_addch(&line, '\n');
			if (rc == SR_OK && line.len > (1u << 20)) {
				fwrite(line.data, 1, line.len, out);
				sr_buf_reset(&line);
			}
		}
		done += rows;
		sr_progress_update(&progress,
				   (double)done / (double)(sr_scan_info(scan)->rows ?
							   sr_scan_info(scan)->rows : 1),
				   NULL);
	}
	if (rc > 0 || (rc != SR_OK && !err->msg[0]))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK) {
		fwrite(line.data, 1, line.len, out);
		if (fflush(out) != 0 || ferror(out))
			rc = sr_fail(err, SR_EIO, "%s: write failed",
				     a->output ? a->output : "stdout");
	}
	sr_progress_done(&progress);
out:
	if (out != stdout)
		fclose(out);
	if (rc && a->output && out != stdout)
		remove(a->output);
	sr_scan_free(scan);
	sr_csvopts_free_names(names, nnames);
	sr_buf_release(&line);
	sr_buf_release(&val);
	return rc;
}

static int cmd_verify(struct dataset_args *a, struct sr_err *err)
{
	uint64_t chunks = 0;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "dataset verify: expected NAME");
	rc = sr_cli_open_store(&a->cli, 1, err);
	if (rc == SR_OK)
		rc = sr_store_verify(a->cli.store, a->pos[0], &chunks, err);
	if (rc == SR_OK)
		printf("dataset %s: ok (%" PRIu64 " chunks decrypted and checked)\n",
		       a->pos[0], chunks);
	return rc;
}

static int cmd_rm(struct dataset_args *a, struct sr_err *err)
{
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "dataset rm: expected NAME");
	rc = sr_cli_open_store(&a->cli, 1, err);
	if (rc == SR_OK)
		rc = sr_store_remove(a->cli.store, a->pos[0], err);
	if (rc == SR_OK)
		printf("removed dataset %s (keys shredded, files deleted)\n",
		       a->pos[0]);
	return rc;
}

/* Publishing goes through the node, which signs the event: no store and
 * no master key here. */
static int cmd_publish(struct dataset_args *a, struct sr_err *err)
{
	struct sr_nodeclient nc;
	json_t *body = NULL, *answer = NULL;
	char path[128], version[80], name[160];
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "dataset publish: expected NAME");
	if (!a->project)
		return sr_fail(err, SR_EUSAGE,
			       "dataset publish: --project is required");
	rc = sr_nodeclient_check_project(a->project, err);
	if (rc)
		return rc;
	sr_nodeclient_init(&nc);
	rc = sr_nodeclient_open(&nc, &a->cli, a->node, a->token, err);
	if (rc)
		goto out;
	body = json_pack("{s:s}", "dataset", a->pos[0]);
	if (!body) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/projects/%s/datasets", a->project);
	rc = sr_nodeclient_call(&nc, "POST", path, body, NULL, &answer, err);
	if (rc)
		goto out;
	if (a->cli.json) {
		rc = sr_cli_print_json(json_incref(answer), err);
		goto out;
	}
	printf("published %s to project %s: %lld rows, version %s (event %lld)\n",
	       sr_nodeclient_clean(name, sizeof(name),
				   sr_nodeclient_str(answer, "dataset", a->pos[0])), a->project,
	       sr_nodeclient_int(answer, "rows", 0),
	       sr_nodeclient_short(version, sr_nodeclient_str(answer, "version_id",
								NULL), 16),
	       sr_nodeclient_int(answer, "seq", 0));
	printf("  the members see its schema, classes and policy; its rows stay here\n");
out:
	json_decref(body);
	json_decref(answer);
	sr_nodeclient_release(&nc);
	return rc;
}

int sr_cmd_dataset(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct dataset_args *, struct sr_err *);
	} verbs[] = {
		{ "import", cmd_import }, { "list", cmd_list },
		{ "ls", cmd_list }, { "show", cmd_show },
		{ "export", cmd_export }, { "verify", cmd_verify },
		{ "rm", cmd_rm }, { "publish", cmd_publish },
	};
	struct dataset_args a;
	struct sr_err err;
	char cmd[64];
	int code = SR_EXIT_OK, rc = SR_EUSAGE;

	memset(&a, 0, sizeof(a));
	sr_err_clear(&err);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(dataset_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
	}
	snprintf(cmd, sizeof(cmd), "dataset %s", argv[1]);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		if (parse_args(cmd, argc - 1, argv + 1, &a, &code))
			return code;
		rc = verbs[i].fn(&a, &err);
		sr_cli_release(&a.cli);
		sr_csvopts_release(&a.data);
		if (rc == SR_EUSAGE)
			return sr_cli_usage_error("dataset", "%s",
				err.msg + (strncmp(err.msg, "dataset ", 8) ? 0 : 8));
		return rc ? sr_cli_report(&err) : SR_EXIT_OK;
	}
	return sr_cli_usage_error("dataset", "unknown command '%s'", argv[1]);
}
