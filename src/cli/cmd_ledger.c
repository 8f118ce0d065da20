/*
 * cmd_ledger.c - `sealroom ledger verify|log`: audit a project's ledger
 * through the node API (docs/api.md, docs/ledger.md).  The node
 * re-verifies every stored event; this command shows the outcome, how it
 * compares with the coordinator's head, and the events themselves.
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "base/banned.h"

static const char ledger_usage[] =
	"usage: sealroom ledger <command> [options]\n"
	"\n"
	"A project's ledger: the signed, append-only log of its events (members,\n"
	"datasets, jobs and votes), kept and verified by every member's node.\n"
	"\n"
	"commands:\n"
	"  verify PROJECT            re-verify every event from the first one and\n"
	"                            compare the head with the coordinator's\n"
	"  log PROJECT [--from SEQ]  one line per event: seq, time (UTC), type,\n"
	"                            author and what it does\n"
	"\n"
	"options:\n"
	"  --node URL     the node (default: $SEALROOM_NODE, then HOME/node.url)\n"
	"  --token T      API token (default: $SEALROOM_TOKEN)\n"
	"  --home DIR     node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json         print the node's JSON answer\n"
	"  --help         this text\n";

/* The node lists events in pages (of up to 1000, docs/api.md); a node that
 * kept answering would still not keep `ledger log` going for ever. */
#define LOG_PAGES_MAX (1u << 24)

/* Print "NAME COUNT" for each non-zero integer of obj. */
static void print_counts(const char *title, const json_t *obj)
{
	const char *key;
	json_t *v;
	char name[64];
	int any = 0;

	json_object_foreach((json_t *)obj, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		if (!any)
			printf("%s:\n", title);
		any = 1;
		printf("  %-18s %lld\n", sr_nodeclient_clean(name, sizeof(name), key),
		       (long long)json_integer_value(v));
	}
}

static int cmd_verify(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		      struct sr_err *err)
{
	json_t *answer = NULL;
	const json_t *summary, *coord;
	char path[128], head[80], chead[80], text[300];
	const char *head_hex, *coord_hex;
	long long events, coord_next;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected PROJECT");
	rc = sr_nodeclient_check_project(a->pos[0], err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/v1/projects/%s/ledger", a->pos[0]);
	rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &answer, err);
	if (rc)
		goto out;
	if (!json_is_object(answer)) {
		rc = sr_fail(err, SR_EPROTO, "the node's ledger answer is not a JSON object");
		goto out;
	}
	if (a->cli.json)
		rc = sr_cli_print_json(json_incref(answer), err);
	if (rc)
		goto out;
	if (!json_is_true(json_object_get(answer, "verified"))) {
		rc = sr_fail(err, SR_ECORRUPT, "the ledger of %s does not verify: %s",
			     a->pos[0], sr_nodeclient_clean(text, sizeof(text),
				sr_nodeclient_str(answer, "error", "no reason given")));
		goto out;
	}
	summary = json_object_get(answer, "summary");
	coord = json_object_get(answer, "coordinator");
	events = sr_nodeclient_int(summary, "events", -1);
	head_hex = sr_nodeclient_str(summary, "head", "");
	coord_hex = sr_nodeclient_str(coord, "head", NULL);
	coord_next = sr_nodeclient_int(coord, "next_seq", -1);
	if (a->cli.json)
		goto compare;
	printf("ledger of %s verified: %lld events, head %s, ", a->pos[0], events,
	       sr_nodeclient_prefix(head, head_hex, 16));
	if (!coord_hex || coord_next < 0)
		printf("coordinator head unknown (%s)\n",
		       sr_nodeclient_clean(text, sizeof(text),
			       sr_nodeclient_str(coord, "error", "not reported")));
	else if (coord_next == events && strcmp(coord_hex, head_hex) == 0)
		printf("coordinator head %s (in sync)\n",
		       sr_nodeclient_prefix(chead, coord_hex, 16));
	else if (coord_next > events)
		printf("coordinator head %s (behind by %lld)\n",
		       sr_nodeclient_prefix(chead, coord_hex, 16), coord_next - events);
	else if (coord_next < events)
		printf("coordinator head %s (the coordinator is behind by %lld)\n",
		       sr_nodeclient_prefix(chead, coord_hex, 16), events - coord_next);
	else
		printf("coordinator head %s (DIFFERENT at the same length)\n",
		       sr_nodeclient_prefix(chead, coord_hex, 16));
	print_counts("events by type", json_object_get(summary, "types"));
	print_counts("jobs by state", json_object_get(summary, "jobs_by_state"));
	if (json_is_integer(json_object_get(summary, "members_active")))
		printf("members: %lld active, %lld invited, %lld left; "
		       "datasets: %lld published, %lld withdrawn\n",
		       sr_nodeclient_int(summary, "members_active", 0),
		       sr_nodeclient_int(summary, "members_invited", 0),
		       sr_nodeclient_int(summary, "members_left", 0),
		       sr_nodeclient_int(summary, "datasets_published", 0),
		       sr_nodeclient_int(summary, "datasets_withdrawn", 0));
	if (sr_nodeclient_str(answer, "error", NULL))
		printf("WARNING: this node stopped following the project: %s\n",
		       sr_nodeclient_clean(text, sizeof(text),
					   sr_nodeclient_str(answer, "error", NULL)));
compare:
	/* The same length with another head: the coordinator shows this node
	 * a different history than the one it verified (docs/ledger.md). */
	if (coord_hex && coord_next == events && strcmp(coord_hex, head_hex) != 0)
		rc = sr_fail(err, SR_ECORRUPT,
			     "the coordinator's head of %s differs from the verified head at "
			     "the same length: it serves a different history",
			     a->pos[0]);
out:
	json_decref(answer);
	return rc;
}

/* "dataset" of a publish/withdraw event, as "orgname.dataset". */
static void dataset_name(char *buf, size_t size, const json_t *state,
			 const char *author, const json_t *body)
{
	char raw[200];

	snprintf(raw, sizeof(raw), "%s.%s",
		 sr_nodeclient_member_name(state, author),
		 sr_nodeclient_str(body, "dataset", "?"));
	sr_nodeclient_clean(buf, size, raw);
}

/* ": reason" when there is one. */
static int add_reason(struct sr_buf *d, const json_t *body)
{
	char text[1100];
	const char *reason = sr_nodeclient_str(body, "reason", NULL);

	if (!reason)
		return SR_OK;
	return sr_buf_addf(d, ": %s", sr_nodeclient_clean(text, sizeof(text), reason));
}

/* A short description of an event's body for `ledger log`. */
static int describe(struct sr_buf *d, const json_t *state, const json_t *wire)
{
	const json_t *ev = json_object_get(wire, "event");
	const json_t *body = json_object_get(ev, "body"), *v;
	const char *type = sr_nodeclient_str(ev, "type", "?");
	const char *author = sr_nodeclient_str(ev, "author", "?");
	char a[200], b[80], c[80];
	size_t i;
	int rc = SR_OK;

	sr_nodeclient_short(b, sr_nodeclient_str(body, "job_id", NULL), 8);
	if (strcmp(type, "project.create") == 0) {
		rc = sr_buf_addf(d, "create project \"%s\"", sr_nodeclient_clean(a,
				 sizeof(a), sr_nodeclient_str(body, "name", "?")));
	} else if (strcmp(type, "member.invite") == 0) {
		const char *org = sr_nodeclient_str(body, "org_id", "?");
		const char *name = sr_nodeclient_member_name(state, org);
		rc = sr_buf_addf(d, "invite %s", sr_nodeclient_clean(a, 64, org));
		if (rc == SR_OK && strcmp(name, org) != 0)
			rc = sr_buf_addf(d, " (%s)", sr_nodeclient_clean(a, 72, name));
	} else if (strcmp(type, "member.join") == 0) {
		rc = sr_buf_addf(d, "join as %s", sr_nodeclient_clean(a, 72,
				 sr_nodeclient_str(body, "name", "?")));
	} else if (strcmp(type, "member.leave") == 0) {
		rc = sr_buf_addstr(d, "leave");
		if (rc == SR_OK)
			rc = add_reason(d, body);
	} else if (strcmp(type, "dataset.publish") == 0) {
		dataset_name(a, sizeof(a), state, author, body);
		rc = sr_buf_addf(d, "publish %s (%lld rows, version %s)", a,
				 sr_nodeclient_int(body, "rows", 0),
				 sr_nodeclient_short(c, sr_nodeclient_str(body,
						     "version_id", NULL), 8));
	} else if (strcmp(type, "dataset.withdraw") == 0) {
		dataset_name(a, sizeof(a), state, author, body);
		rc = sr_buf_addf(d, "withdraw %s", a);
	} else if (strcmp(type, "job.propose") == 0) {
		const json_t *spec = json_object_get(body, "spec");
		const json_t *accept = json_object_get(json_object_get(body, "verdict"),
						       "accept");
		sr_nodeclient_short(b, sr_nodeclient_str(wire, "id", NULL), 8);
		rc = sr_buf_addf(d, "propose job %s (%s on ", b,
				 sr_nodeclient_clean(c, 40, sr_nodeclient_str(spec, "kind", "?")));
		json_array_foreach(json_object_get(spec, "inputs"), i, v)
			if (rc == SR_OK)
				rc = sr_buf_addf(d, "%s%s", i ? ", " : "",
						 sr_nodeclient_clean(a, sizeof(a),
						 sr_nodeclient_str(v, "dataset", "?")));
		if (rc == SR_OK)
			rc = sr_buf_addf(d, "; %s by the checker)",
					 json_is_true(accept) ? "accepted" : "refused");
	} else if (strcmp(type, "job.approve") == 0) {
		rc = sr_buf_addf(d, "approve job %s", b);
	} else if (strcmp(type, "job.reject") == 0) {
		rc = sr_buf_addf(d, "reject job %s", b);
		if (rc == SR_OK)
			rc = add_reason(d, body);
	} else if (strcmp(type, "job.cancel") == 0) {
		rc = sr_buf_addf(d, "cancel job %s", b);
		if (rc == SR_OK)
			rc = add_reason(d, body);
	} else if (strcmp(type, "job.start") == 0) {
		rc = sr_buf_addf(d, "start job %s at head %s", b,
				 sr_nodeclient_short(c, sr_nodeclient_str(body, "head", NULL), 8));
	} else if (strcmp(type, "job.finish") == 0) {
		const char *key;
		rc = sr_buf_addf(d, "finish job %s (output %s", b,
				 sr_nodeclient_short(c, sr_nodeclient_str(body,
						     "output_hash", NULL), 8));
		json_object_foreach(json_object_get(body, "sizes"), key, v)
			if (rc == SR_OK)
				rc = sr_buf_addf(d, ", %s %lld",
						 sr_nodeclient_clean(a, 70, key),
						 json_is_integer(v) ?
						 (long long)json_integer_value(v) : -1LL);
		if (rc == SR_OK)
			rc = sr_buf_addch(d, ')');
	} else if (strcmp(type, "job.fail") == 0) {
		rc = sr_buf_addf(d, "fail job %s", b);
		if (rc == SR_OK)
			rc = add_reason(d, body);
	}
	return rc;
}

/* All events of project from seq from on, in pages, into *out (an array). */
static int fetch_events(struct sr_nodeclient *nc, const char *project,
			long long from, long long until, json_t **out,
			struct sr_err *err)
{
	json_t *all = json_array(), *page = NULL, *wire;
	char path[160];
	size_t i;
	int rc = SR_OK;

	*out = NULL;
	if (!all)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (unsigned pages = 0; pages < LOG_PAGES_MAX; pages++) {
		long long last;

		if (until >= 0 && from >= until)
			break;
		snprintf(path, sizeof(path), "/v1/projects/%s/events/%lld",
			 project, from);
		rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &page, err);
		if (rc)
			break;
		if (!json_is_array(page)) {
			rc = sr_fail(err, SR_EPROTO, "the node's events are not a JSON array");
			break;
		}
		if (json_array_size(page) == 0)
			break;
		last = sr_nodeclient_int(json_object_get(json_array_get(page,
				json_array_size(page) - 1), "event"), "seq", -1);
		if (last < from) {
			rc = sr_fail(err, SR_EPROTO,
				     "the node's events from %lld do not go forward", from);
			break;
		}
		json_array_foreach(page, i, wire)
			if (json_array_append(all, wire)) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				break;
			}
		if (rc)
			break;
		json_decref(page);
		page = NULL;
		from = last + 1;
	}
	json_decref(page);
	if (rc) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return SR_OK;
}

static int cmd_log(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		   struct sr_err *err)
{
	json_t *state = NULL, *events = NULL, *wire;
	struct sr_buf desc;
	char path[128], when[32], type[40], author[72];
	size_t i;
	int rc;

	if (a->npos != 1)
		return sr_fail(err, SR_EUSAGE, "expected PROJECT");
	rc = sr_nodeclient_check_project(a->pos[0], err);
	if (rc == SR_OK)
		rc = sr_nodeclient_open(nc, &a->cli, a->node, a->token, err);
	if (rc)
		return rc;
	sr_buf_init(&desc, 0);
	if (!a->cli.json) {
		/* The members' names, and how many events there are. */
		snprintf(path, sizeof(path), "/v1/projects/%s", a->pos[0]);
		rc = sr_nodeclient_call(nc, "GET", path, NULL, NULL, &state, err);
		if (rc)
			goto out;
	}
	rc = fetch_events(nc, a->pos[0], a->from,
			  sr_nodeclient_int(json_object_get(state, "sync"), "next_seq",
					    sr_nodeclient_int(state, "seq", -1)),
			  &events, err);
	if (rc)
		goto out;
	if (a->cli.json) {
		rc = sr_cli_print_json(json_incref(events), err);
		goto out;
	}
	json_array_foreach(events, i, wire) {
		const json_t *ev = json_object_get(wire, "event");
		sr_buf_reset(&desc);
		rc = describe(&desc, state, wire);
		if (rc) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		printf("%6lld  %s  %-16s  %-16s  %s\n",
		       sr_nodeclient_int(ev, "seq", -1),
		       sr_nodeclient_time(when, sr_nodeclient_int(ev, "time", 0)),
		       sr_nodeclient_clean(type, sizeof(type),
					   sr_nodeclient_str(ev, "type", "?")),
		       sr_nodeclient_clean(author, 25, sr_nodeclient_member_name(state,
					   sr_nodeclient_str(ev, "author", NULL))),
		       desc.data);
	}
	if (json_array_size(events) == 0)
		printf("no events in %s from %lld\n", a->pos[0], a->from);
out:
	sr_buf_release(&desc);
	json_decref(state);
	json_decref(events);
	return rc;
}

int sr_cmd_ledger(int argc, char **argv)
{
	static const struct sr_nodeclient_verb verbs[] = {
		{ "verify", 0, cmd_verify },
		{ "log", SR_NCOPT_FROM, cmd_log },
	};

	return sr_nodeclient_dispatch("ledger", ledger_usage, verbs,
				      sizeof(verbs) / sizeof(*verbs), argc, argv);
}
