/*
 * cmd_project.c - `sealroom project create|invite|join|list|show`: the
 * projects this node belongs to, through the node API (docs/api.md).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "base/banned.h"

static const char project_usage[] =
	"usage: sealroom project <command> [options]\n"
	"\n"
	"Projects this organization takes part in.  Every change is a signed\n"
	"event in the project's ledger; the local node does the work.\n"
	"\n"
	"commands:\n"
	"  create NAME            create a project (this organization is its first member)\n"
	"  invite PROJECT ORG_ID  invite an organization (admin)\n"
	"  join PROJECT           join a project this organization is invited to (admin)\n"
	"  list                   projects and pending invitations\n"
	"  show PROJECT           members, datasets and jobs of a project\n"
	"\n"
	"options:\n"
	"  --node URL     the node (default: $SEALROOM_NODE, then HOME/node.url)\n"
	"  --token T      API token (default: $SEALROOM_TOKEN)\n"
	"  --home DIR     node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json         print the node's JSON answer\n"
	"  --help         this text\n";

/* The answer as JSON (--json), consuming the reference. */
static int print_answer(json_t *answer, struct sr_err *err)
{
	return sr_cli_print_json(answer ? answer : json_null(), err);
}

static int cmd_create(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	json_t *body = NULL, *answer = NULL;
	char name[160];
	const char *project;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected NAME");
	rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	body = json_pack("{s:s}", "name", a->pos[0]);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_nodeclient_call(nc, "POST", "/v1/projects", body, NULL,
				&answer, err);
	json_decref(body);
	if (rc)
		goto out;
	if (a->cli.json)
		return print_answer(answer, err);
	project = sr_nodeclient_str(answer, "project", "?");
	printf("created project %s: %s (event %lld)\n",
	       sr_nodeclient_clean(name, sizeof(name), a->pos[0]), project,
	       sr_nodeclient_int(answer, "seq", 0));
	printf("invite organizations with 'sealroom project invite %s ORG_ID'\n",
	       project);
out:
	json_decref(answer);
	return rc;
}

static int cmd_invite(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	json_t *body = NULL, *answer = NULL;
	char path[128], org[96];
	int rc;

	if (a->npos != 2)
		return sr_fail(err, SR_EUSAGE, "expected PROJECT and ORG_ID");
	rc = sr_nodeclient_check_project(a->pos[0], err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/projects/%s/invite", a->pos[0]);
	body = json_pack("{s:s}", "org_id", a->pos[1]);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_nodeclient_call(nc, "POST", path, body, NULL, &answer, err);
	json_decref(body);
	if (rc)
		goto out;
	if (a->cli.json)
		return print_answer(answer, err);
	sr_nodeclient_clean(org, sizeof(org), a->pos[1]);
	printf("invited %s to project %s (event %lld)\n", org, a->pos[0],
	       sr_nodeclient_int(answer, "seq", 0));
	printf("it joins with 'sealroom project join %s' on its own node\n",
	       a->pos[0]);
out:
	json_decref(answer);
	return rc;
}

static int cmd_join(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *body, *answer = NULL;
	char path[128];
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected PROJECT");
	rc = sr_nodeclient_check_project(a->pos[0], err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/projects/%s/join", a->pos[0]);
	body = json_object();
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	/* docs/api.md gives join no body; {} suits a node that parses every
	 * POST body as an object, and one that ignores it. */
	rc = sr_nodeclient_call(nc, "POST", path, body, NULL, &answer, err);
	json_decref(body);
	if (rc)
		goto out;
	if (a->cli.json)
		return print_answer(answer, err);
	printf("joined project %s (event %lld)\n", a->pos[0],
	       sr_nodeclient_int(answer, "seq", 0));
out:
	json_decref(answer);
	return rc;
}

static void print_count(long long n, int width)
{
	if (n < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*lld", width, n);
}

static int cmd_list(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *projects = NULL, *invitations = NULL, *p;
	char name[128], text[1100], by[72];
	size_t i;
	int rc;

	if (a->npos != 0)
		return sr_fail(err, SR_EUSAGE, "unexpected argument '%s'",
			       a->pos[0]);
	rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_call(nc, "GET", "/v1/projects", NULL, NULL,
					&projects, err);
	if (rc == SR_OK)
		rc = sr_nodeclient_call(nc, "GET", "/v1/invitations", NULL, NULL,
					&invitations, err);
	if (rc)
		goto out;
	if (!json_is_array(projects) || !json_is_array(invitations)) {
		rc = sr_fail(err, SR_EPROTO,
			     "the node's project list is not a JSON array");
		goto out;
	}
	if (a->cli.json) {
		rc = sr_cli_print_json(json_pack("{s:O,s:O}", "projects", projects,
						 "invitations", invitations), err);
		goto out;
	}
	if (json_array_size(projects) == 0 && json_array_size(invitations) == 0)
		printf("no projects (create one with 'sealroom project create NAME')\n");
	if (json_array_size(projects)) {
		printf("%-36s %-24s %7s %7s %8s %5s\n", "PROJECT", "NAME",
		       "EVENTS", "MEMBERS", "DATASETS", "JOBS");
		json_array_foreach(projects, i, p) {
			const char *error = sr_nodeclient_str(p, "error", NULL);
			sr_nodeclient_clean(text, 37, sr_nodeclient_str(p, "project", "?"));
			printf("%-36s %-24s", text,
			       sr_nodeclient_clean(name, 25, sr_nodeclient_str(p, "name", "")));
			print_count(sr_nodeclient_int(p, "next_seq", -1), 7);
			print_count(sr_nodeclient_count(p, "members"), 7);
			print_count(sr_nodeclient_count(p, "datasets"), 8);
			print_count(sr_nodeclient_count(p, "jobs"), 5);
			printf("\n");
			if (error)
				printf("  WARNING: this node stopped following the project: %s\n",
				       sr_nodeclient_clean(text, sizeof(text), error));
			if (sr_nodeclient_str(p, "storage_error", NULL))
				printf("  WARNING: this node cannot store new events (it retries by itself): %s\n",
				       sr_nodeclient_clean(text, sizeof(text),
							   sr_nodeclient_str(p, "storage_error", NULL)));
		}
	}
	if (json_array_size(invitations)) {
		printf("%sinvitations (join with 'sealroom project join PROJECT'):\n",
		       json_array_size(projects) ? "\n" : "");
		json_array_foreach(invitations, i, p) {
			sr_nodeclient_clean(text, 37, sr_nodeclient_str(p, "project", "?"));
			sr_nodeclient_clean(by, sizeof(by),
					    sr_nodeclient_str(p, "invited_by", "?"));
			printf("  %-36s %-24s invited by %s", text,
			       sr_nodeclient_clean(name, 25, sr_nodeclient_str(p, "name", "")),
			       by);
			if (sr_nodeclient_int(p, "seq", -1) >= 0)
				printf(" (event %lld)", sr_nodeclient_int(p, "seq", -1));
			printf("\n");
		}
	}
out:
	json_decref(projects);
	json_decref(invitations);
	return rc;
}

static void print_members(const json_t *state)
{
	const json_t *m;
	char name[72];
	size_t i;

	printf("members:\n");
	if (json_array_size(json_object_get(state, "members")) == 0)
		printf("  (none)\n");
	json_array_foreach(json_object_get(state, "members"), i, m) {
		printf("  %-24s %-36s %s%s\n",
		       sr_nodeclient_clean(name, 25, sr_nodeclient_str(m, "name", "-")),
		       sr_nodeclient_str(m, "org_id", "?"),
		       sr_nodeclient_str(m, "status", "?"),
		       json_is_true(json_object_get(m, "creator")) ? " (creator)" : "");
	}
}

static void print_datasets(const json_t *state)
{
	const json_t *d;
	char name[140], owner[72], version[80];
	size_t i;

	printf("datasets:\n");
	if (json_array_size(json_object_get(state, "datasets")) == 0) {
		printf("  (none published)\n");
		return;
	}
	printf("  %-32s %-24s %12s  %s\n", "NAME", "OWNER", "ROWS", "VERSION");
	json_array_foreach(json_object_get(state, "datasets"), i, d) {
		printf("  %-32s %-24s %12lld  %-16s%s\n",
		       sr_nodeclient_clean(name, sizeof(name), sr_nodeclient_str(d, "name", "?")),
		       sr_nodeclient_clean(owner, 25, sr_nodeclient_member_name(state,
				sr_nodeclient_str(d, "owner", NULL))),
		       sr_nodeclient_int(d, "rows", 0),
		       sr_nodeclient_prefix(version, sr_nodeclient_str(d, "version_id", "?"), 16),
		       json_is_true(json_object_get(d, "withdrawn")) ? "  (withdrawn)" : "");
	}
}

static void print_jobs(const json_t *state)
{
	const json_t *j, *spec;
	char id[80], kind[40], proposer[72];
	size_t i;

	printf("jobs:\n");
	if (json_array_size(json_object_get(state, "jobs")) == 0) {
		printf("  (none proposed)\n");
		return;
	}
	printf("  %-16s  %-12s %-10s %s\n", "JOB", "KIND", "STATE", "PROPOSER");
	json_array_foreach(json_object_get(state, "jobs"), i, j) {
		spec = json_object_get(j, "spec");
		printf("  %-16s  %-12s %-10s %s\n",
		       sr_nodeclient_prefix(id, sr_nodeclient_str(j, "id", "?"), 16),
		       sr_nodeclient_clean(kind, 13, sr_nodeclient_str(spec, "kind", "?")),
		       sr_nodeclient_str(j, "state", "?"),
		       sr_nodeclient_clean(proposer, 25, sr_nodeclient_member_name(state,
				sr_nodeclient_str(j, "proposer", NULL))));
	}
}

static int cmd_show(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		    struct sr_err *err)
{
	json_t *state = NULL;
	const json_t *sync;
	char path[128], name[160], head[80], text[1100];
	long long events;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected PROJECT");
	rc = sr_nodeclient_check_project(a->pos[0], err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/projects/%s", a->pos[0]);
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &state, err);
	if (rc)
		goto out;
	if (!json_is_object(state)) {
		rc = sr_fail(err, SR_EPROTO, "the node's project state is not a JSON object");
		goto out;
	}
	if (a->cli.json)
		return print_answer(state, err);
	sync = json_object_get(state, "sync");
	events = sr_nodeclient_int(sync, "next_seq",
				   sr_nodeclient_int(state, "seq", 0));
	printf("project %s (%s)\n",
	       sr_nodeclient_clean(name, sizeof(name), sr_nodeclient_str(state, "name", "?")),
	       sr_nodeclient_clean(text, 80, sr_nodeclient_str(state, "project", a->pos[0])));
	printf("  events: %lld, head %s\n", events,
	       sr_nodeclient_prefix(head, sr_nodeclient_str(sync, "head",
				   sr_nodeclient_str(state, "head", "?")), 16));
	print_members(state);
	print_datasets(state);
	print_jobs(state);
	if (sr_nodeclient_str(sync, "error", NULL))
		printf("WARNING: this node stopped following the project: %s\n",
		       sr_nodeclient_clean(text, sizeof(text),
					   sr_nodeclient_str(sync, "error", NULL)));
	if (sr_nodeclient_str(sync, "storage_error", NULL))
		printf("WARNING: this node cannot store new events (it retries by itself): %s\n",
		       sr_nodeclient_clean(text, sizeof(text),
					   sr_nodeclient_str(sync, "storage_error", NULL)));
out:
	json_decref(state);
	return rc;
}

int sr_cmd_project(int argc, char **argv)
{
	static const struct sr_nodeclient_verb verbs[] = {
		{ "create", 0, cmd_create },
		{ "invite", 0, cmd_invite },
		{ "join", 0, cmd_join },
		{ "list", 0, cmd_list },
		{ "ls", 0, cmd_list },
		{ "show", 0, cmd_show },
	};

	return sr_nodeclient_dispatch("project", project_usage, verbs,
				      sizeof(verbs) / sizeof(*verbs), argc, argv);
}
