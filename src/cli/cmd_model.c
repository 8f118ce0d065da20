/*
 * cmd_model.c - `sealroom model list|show`: the model parts this
 * organization keeps from training jobs (docs/protocols/train.md, "Model
 * parts"), through the node API.  `show` prints the trees of the label
 * holder's part with its own thresholds and "party P split #k" for the
 * other parties' splits, or a passive party's split table, with feature
 * names from the job's spec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "base/banned.h"

static const char model_usage[] =
	"usage: sealroom model <command> [options]\n"
	"\n"
	"Model parts this organization keeps from finished training jobs: the\n"
	"label holder keeps the trees with its own splits, every other party its\n"
	"own split thresholds.  JOB is a job id or a unique prefix of at least 8\n"
	"hex digits.\n"
	"\n"
	"commands:\n"
	"  list                   the parts kept here (analyst)\n"
	"  show JOB               print this organization's parts of JOB's model\n"
	"\n"
	"options:\n"
	"  --node URL     the node (default: $SEALROOM_NODE, then HOME/node.url)\n"
	"  --token T      API token (default: $SEALROOM_TOKEN)\n"
	"  --home DIR     node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json         print the node's JSON answer\n"
	"  --help         this text\n";

static int cmd_list(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *list = NULL;
	const json_t *m;
	char text[80], when[32];
	size_t i;
	int rc;

	if (a->npos != 0)
		return sr_fail(err, SR_EUSAGE, "model list takes no arguments");
	rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_call(nc, "GET", "/v1/models", NULL, NULL, &list, err);
	if (rc == SR_OK && a->cli.json) {
		rc = sr_cli_print_json(list, err);
		list = NULL;
	} else if (rc == SR_OK) {
		if (json_array_size(list) == 0)
			printf("no model parts kept here\n");
		json_array_foreach(list, i, m) {
			printf("%s  %-20s %8lld bytes  %s  project %s\n",
			       sr_nodeclient_short(text, sr_nodeclient_str(m, "job_id", "?"), 16),
			       sr_nodeclient_str(m, "name", "?"),
			       (long long)json_integer_value(json_object_get(m, "bytes")),
			       sr_nodeclient_time(when, (long long)json_integer_value(
							  json_object_get(m, "created"))),
			       sr_nodeclient_str(m, "project", "?"));
		}
	}
	json_decref(list);
	return rc;
}

/* The spec's inputs in the order of a vertical model's parties: the one
 * with the label (party 0), then the others in input order. */
static const json_t *party_input(const json_t *spec, size_t party)
{
	const json_t *inputs = json_object_get(spec, "inputs"), *in;
	size_t i, k = 1;

	json_array_foreach(inputs, i, in)
		if (json_object_get(in, "label") && party == 0)
			return in;
	json_array_foreach(inputs, i, in) {
		if (json_object_get(in, "label"))
			continue;
		if (k++ == party)
			return in;
	}
	return NULL;
}

static const char *feature_name(const json_t *in, json_int_t f, char buf[32])
{
	const char *s = json_string_value(json_array_get(json_object_get(in, "features"),
						       (size_t)f));

	if (s)
		return s;
	snprintf(buf, 32, "feature %lld", (long long)f);
	return buf;
}

static double num(const json_t *v)
{
	return json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v);
}

static void show_active(const json_t *part, const json_t *spec)
{
	const json_t *trees = json_object_get(part, "trees"), *nodes, *nd;
	const json_t *me = party_input(spec, 0);
	char text[128], name[32];
	size_t t, k;

	printf("trees (label holder %s; %lld kept, loss %s):\n",
	       sr_nodeclient_clean(text, 60, sr_nodeclient_str(me, "dataset", "?")),
	       (long long)json_integer_value(json_object_get(part, "best_trees")),
	       sr_nodeclient_str(part, "loss", "?"));
	json_array_foreach(trees, t, nodes) {
		printf("  tree %zu\n", t);
		json_array_foreach(nodes, k, nd) {
			json_int_t left = json_integer_value(json_array_get(nd, 0));
			json_int_t right = json_integer_value(json_array_get(nd, 1));
			json_int_t owner = json_integer_value(json_array_get(nd, 2));
			if (left == 0 && right == 0) {
				printf("    node %zu: leaf %.6g\n", k, num(json_array_get(nd, 8)));
			} else if (owner == 0) {
				printf("    node %zu: %s < %.6g (missing %s) -> %lld, %lld  gain %.6g\n", k,
				       sr_nodeclient_clean(text, 60, feature_name(me,
						json_integer_value(json_array_get(nd, 4)), name)),
				       num(json_array_get(nd, 6)),
				       json_integer_value(json_array_get(nd, 7)) ? "left" : "right",
				       (long long)left, (long long)right, num(json_array_get(nd, 9)));
			} else {
				const json_t *in = party_input(spec, (size_t)owner);
				printf("    node %zu: party %lld (%s) split #%lld -> %lld, %lld  gain %.6g\n",
				       k, (long long)owner,
				       sr_nodeclient_clean(text, 60, sr_nodeclient_str(in, "dataset", "?")),
				       (long long)json_integer_value(json_array_get(nd, 3)),
				       (long long)left, (long long)right, num(json_array_get(nd, 9)));
			}
		}
	}
}

static void show_passive(const json_t *part, const json_t *spec)
{
	json_int_t party = json_integer_value(json_object_get(part, "party"));
	const json_t *me = party_input(spec, (size_t)party), *sp;
	char text[128], name[32];
	size_t k;

	printf("splits of party %lld (%s), used by the label holder's trees:\n", (long long)party,
	       sr_nodeclient_clean(text, 60, sr_nodeclient_str(me, "dataset", "?")));
	json_array_foreach(json_object_get(part, "splits"), k, sp)
		printf("  split #%zu: %s < %.6g (missing %s)\n", k,
		       sr_nodeclient_clean(text, 60, feature_name(me,
				json_integer_value(json_array_get(sp, 0)), name)),
		       num(json_array_get(sp, 2)),
		       json_integer_value(json_array_get(sp, 3)) ? "left" : "right");
}

/* A vertical lr part: this party's weights on its scaled features (and,
 * at the label holder, the intercept). */
static void show_vlr(const json_t *part, const json_t *spec)
{
	json_int_t party = json_integer_value(json_object_get(part, "party"));
	const json_t *me = party_input(spec, (size_t)party);
	const json_t *w = json_object_get(part, "weights");
	char text[128];
	size_t k;

	printf("logistic regression weights of party %lld (%s), %lld epochs%s:\n", (long long)party,
	       sr_nodeclient_clean(text, 60, sr_nodeclient_str(me, "dataset", "?")),
	       (long long)json_integer_value(json_object_get(part, "epochs_run")),
	       party ? "; the other parties' weights stay with them" : "");
	if (party == 0)
		printf("  intercept %.9g\n", num(json_object_get(part, "intercept")));
	for (k = 0; k < json_array_size(w); k++)
		printf("  %s  %.9g  (x scaled from [%.6g, %.6g] to [-1, 1])\n",
		       sr_nodeclient_clean(text, 60, json_string_value(json_array_get(
						json_object_get(part, "features"), k)) ?: "?"),
		       num(json_array_get(w, k)),
		       num(json_array_get(json_object_get(part, "lo"), k)),
		       num(json_array_get(json_object_get(part, "hi"), k)));
}

static int cmd_show(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *models = NULL, *job = NULL;
	const json_t *p;
	char id[65], path[128], text[80];
	size_t i;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE,
			       "expected JOB (an id or a prefix of 8 or more hex digits)");
	rc = sr_nodeclient_job_id(a->pos[0], id, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK) {
		snprintf(path, sizeof(path), "/v1/jobs/%s/model", id);
		rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &models, err);
	}
	if (rc == SR_OK && a->cli.json) {
		rc = sr_cli_print_json(models, err);
		models = NULL;
		goto out;
	}
	if (rc == SR_OK) {
		snprintf(path, sizeof(path), "/v1/jobs/%s", id);
		rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &job, err);
	}
	if (rc)
		goto out;
	printf("job %s: model parts kept here\n",
	       sr_nodeclient_short(text, sr_nodeclient_str(models, "job_id", id), 16));
	json_array_foreach(json_object_get(models, "parts"), i, p) {
		const json_t *part = json_object_get(p, "part");
		const char *kind = sr_nodeclient_str(part, "kind", "");
		printf("%s\n", sr_nodeclient_clean(text, 64, sr_nodeclient_str(p, "name", "?")));
		if (strcmp(kind, "secureboost-active") == 0)
			show_active(part, json_object_get(job, "spec"));
		else if (strcmp(kind, "secureboost-passive") == 0)
			show_passive(part, json_object_get(job, "spec"));
		else if (strcmp(kind, "vlr-active") == 0 || strcmp(kind, "vlr-passive") == 0)
			show_vlr(part, json_object_get(job, "spec"));
		else
			printf("  (a %s part; see --json)\n", sr_nodeclient_clean(text, 40, kind));
	}
out:
	json_decref(models);
	json_decref(job);
	return rc;
}

int sr_cmd_model(int argc, char **argv)
{
	static const struct sr_nodeclient_verb verbs[] = {
		{ "list", 0, cmd_list },
		{ "ls", 0, cmd_list },
		{ "show", 0, cmd_show },
	};

	return sr_nodeclient_dispatch("model", model_usage, verbs,
				      sizeof(verbs) / sizeof(*verbs), argc, argv);
}
