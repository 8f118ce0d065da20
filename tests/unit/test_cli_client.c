/*
 * test_cli_client.c - the workflow commands as clients of the node API
 * (src/cli/nodeclient.c, cmd_project.c, cmd_job.c, cmd_ledger.c, dataset
 * publish): an in-process HTTP server stands in for the node, records
 * every request and gives fixed answers; each command is run in this
 * process with stdout and stderr redirected to files, and the test checks
 * the method, path, body and bearer token it sent, what it printed and its
 * exit code: success, 4xx and 5xx answers, a refused connection, a missing
 * token, the node URL from HOME/node.url.
 */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "cli/cli.h"
#include "cli/nodeclient.h"
#include "net/http.h"

#define ROUTES_MAX 16
#define REQUESTS_MAX 64

struct route {
	const char *method;
	const char *path;
	int status;
	const char *answer;   /* JSON text; NULL: empty body */
	int uses;             /* answers left; -1: any number */
};

struct request {
	char method[16];
	char path[256];
	char *body;
	char *authorization;  /* NULL when absent */
};

static struct {
	pthread_mutex_t lock;
	struct sr_http_server *server;
	char base[64];
	char dead[64];        /* a URL nothing listens on */
	char *dir;
	char out_path[512], err_path[512];
	struct route routes[ROUTES_MAX];
	size_t nroutes;
	struct request requests[REQUESTS_MAX];
	size_t nrequests;
	char *out, *err;      /* what the last command printed */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int handler(void *ctx, const struct sr_http_request *req,
		   struct sr_http_response *resp)
{
	struct route *r = NULL;

	(void)ctx;
	pthread_mutex_lock(&g.lock);
	if (g.nrequests < REQUESTS_MAX) {
		struct request *q = &g.requests[g.nrequests++];
		snprintf(q->method, sizeof(q->method), "%s", req->method);
		snprintf(q->path, sizeof(q->path), "%s", req->path);
		q->body = strdup(req->body ? req->body : "");
		q->authorization = req->authorization ? strdup(req->authorization) : NULL;
	}
	for (size_t i = 0; i < g.nroutes; i++) {
		struct route *x = &g.routes[i];
		if (strcmp(x->method, req->method) == 0 &&
		    strcmp(x->path, req->path) == 0 && x->uses != 0) {
			r = x;
			if (x->uses > 0)
				x->uses--;
			break;
		}
	}
	if (r) {
		resp->status = r->status;
		resp->body = r->answer ? json_loads(r->answer, 0, NULL) : NULL;
	}
	pthread_mutex_unlock(&g.lock);
	if (!r)
		return sr_http_error(resp, 404, "test node: no route for %s %s",
				     req->method, req->path);
	return SR_OK;
}

static void route(const char *method, const char *path, int status,
		  const char *answer, int uses)
{
	assert_true(g.nroutes < ROUTES_MAX);
	g.routes[g.nroutes++] = (struct route){ method, path, status, answer, uses };
	/* Catch typos in the fixed answers here, not as a confusing failure. */
	if (answer) {
		json_t *j = json_loads(answer, 0, NULL);
		if (!j)
			fail_msg("bad fixed answer: %s", answer);
		json_decref(j);
	}
}

static void reset(void)
{
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.nrequests; i++) {
		free(g.requests[i].body);
		free(g.requests[i].authorization);
	}
	g.nrequests = 0;
	g.nroutes = 0;
	pthread_mutex_unlock(&g.lock);
	free(g.out);
	free(g.err);
	g.out = g.err = NULL;
	setenv("SEALROOM_NODE", g.base, 1);
	setenv("SEALROOM_TOKEN", "srt_test", 1);
	unsetenv("SEALROOM_HOME");
	setenv("SEALROOM_PROGRESS", "1", 1);
}

/*
 * Run fn(argc, argv) with the NULL-terminated arguments, stdin from
 * stdin_file (or unchanged), stdout and stderr into g.out and g.err.
 * Nothing may assert while the descriptors are redirected.
 */
static int run_args(int (*fn)(int, char **), const char *stdin_file,
		    const char *const *args)
{
	char *argv[32];
	int argc = 0, code, fo, fe, fi = -1, save_out, save_err, save_in = -1;

	for (; args[argc]; argc++) {
		assert_true(argc < 31);
		argv[argc] = strdup(args[argc]);
		assert_non_null(argv[argc]);
	}
	argv[argc] = NULL;
	fo = open(g.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(g.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fo >= 0 && fe >= 0);
	if (stdin_file) {
		fi = open(stdin_file, O_RDONLY);
		assert_true(fi >= 0);
		save_in = dup(0);
	}
	fflush(stdout);
	fflush(stderr);
	save_out = dup(1);
	save_err = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	if (fi >= 0)
		dup2(fi, 0);
	code = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_out);
	close(save_err);
	close(fo);
	close(fe);
	if (fi >= 0) {
		dup2(save_in, 0);
		close(save_in);
		close(fi);
		clearerr(stdin);
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(g.out);
	free(g.err);
	g.out = sr_test_read_file(g.out_path, NULL);
	g.err = sr_test_read_file(g.err_path, NULL);
	/* SR_TEST_SHOW=1 shows what each command printed. */
	if (getenv("SR_TEST_SHOW"))
		fprintf(stderr, "$ sealroom %s %s -> exit %d\n%s%s\n", args[0],
			argc > 1 ? args[1] : "", code, g.out, g.err);
	return code;
}

#define RUN(fn, ...) run_args(fn, NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_STDIN(fn, file, ...) \
	run_args(fn, file, (const char *const[]){ __VA_ARGS__, NULL })

/* stdout (or stderr) must contain text. */
static void expect_out(const char *text)
{
	if (!strstr(g.out, text))
		fail_msg("stdout lacks \"%s\":\n%s\n(stderr: %s)", text, g.out, g.err);
}

static void expect_err(const char *text)
{
	if (!strstr(g.err, text))
		fail_msg("stderr lacks \"%s\":\n%s", text, g.err);
}

static size_t nrequests(void)
{
	size_t n;

	pthread_mutex_lock(&g.lock);
	n = g.nrequests;
	pthread_mutex_unlock(&g.lock);
	return n;
}

/* Request i was METHOD PATH with body (JSON text, "" for none) and the
 * bearer token. */
static void expect_request(size_t i, const char *method, const char *path,
			   const char *body, const char *token)
{
	struct request *q;
	char auth[128];

	if (i >= nrequests())
		fail_msg("request %zu was not sent (%zu sent)", i, nrequests());
	q = &g.requests[i];
	assert_string_equal(q->method, method);
	assert_string_equal(q->path, path);
	if (*body) {
		json_t *want = json_loads(body, 0, NULL);
		json_t *got = json_loads(q->body, 0, NULL);
		assert_non_null(want);
		if (!got || !json_equal(want, got))
			fail_msg("request %zu body: want %s, got %s", i, body, q->body);
		json_decref(want);
		json_decref(got);
	} else {
		assert_string_equal(q->body, "");
	}
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	assert_non_null(q->authorization);
	assert_string_equal(q->authorization, auth);
}

static int setup_group(void **state)
{
	struct sr_http_server *dead = NULL;
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	if (sr_http_server_start("127.0.0.1:0", 2, handler, NULL, &g.server, &err))
		return -1;
	snprintf(g.base, sizeof(g.base), "http://127.0.0.1:%u",
		 (unsigned)sr_http_server_port(g.server));
	/* A port that was just free: nothing listens there any more. */
	if (sr_http_server_start("127.0.0.1:0", 1, handler, NULL, &dead, &err))
		return -1;
	snprintf(g.dead, sizeof(g.dead), "http://127.0.0.1:%u",
		 (unsigned)sr_http_server_port(dead));
	sr_http_server_stop(dead);
	g.dir = sr_test_tmpdir();
	snprintf(g.out_path, sizeof(g.out_path), "%s/stdout", g.dir);
	snprintf(g.err_path, sizeof(g.err_path), "%s/stderr", g.dir);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	reset();
	sr_http_server_stop(g.server);
	sr_test_tmpdir_free(g.dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	reset();
	return 0;
}

/* ---- finding the node and the token; errors ---- */

static void test_project_create(void **state)
{
	(void)state;
	route("POST", "/v1/projects", 201, "{\"project\": \"prj_0123abcd\", \"seq\": 0}", -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "create", "demo"), SR_EXIT_OK);
	assert_int_equal(nrequests(), 1);
	expect_request(0, "POST", "/v1/projects", "{\"name\": \"demo\"}", "srt_test");
	expect_out("created project demo: prj_0123abcd (event 0)\n");
	assert_string_equal(g.err, "");
}

static void test_flags_override_env(void **state)
{
	(void)state;
	setenv("SEALROOM_NODE", g.dead, 1);
	route("POST", "/v1/projects/prj_1/join", 201, "{\"seq\": 4}", -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "join", "prj_1",
			     "--node", g.base, "--token", "srt_flag"), SR_EXIT_OK);
	expect_request(0, "POST", "/v1/projects/prj_1/join", "{}", "srt_flag");
	assert_string_equal(g.out, "joined project prj_1 (event 4)\n");
}

static void test_error_4xx(void **state)
{
	(void)state;
	route("POST", "/v1/projects/prj_1/invite", 403,
	      "{\"error\": \"this token's role (analyst) may not invite: admin needed\"}", -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "invite", "prj_1",
			     "org_00112233445566778899aabbccddeeff"), SR_EXIT_USER);
	expect_request(0, "POST", "/v1/projects/prj_1/invite",
		       "{\"org_id\": \"org_00112233445566778899aabbccddeeff\"}", "srt_test");
	assert_string_equal(g.err,
		"sealroom: this token's role (analyst) may not invite: admin needed\n");
	assert_string_equal(g.out, "");
}

static void test_error_5xx(void **state)
{
	(void)state;
	route("GET", "/v1/projects/prj_1", 500, "{\"error\": \"node database is locked\"}", -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "show", "prj_1"), SR_EXIT_INTERNAL);
	assert_string_equal(g.err, "sealroom: node database is locked\n");
	/* An error answer without a text still says what happened. */
	reset();
	route("GET", "/v1/projects/prj_1", 502, NULL, -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "show", "prj_1"), SR_EXIT_INTERNAL);
	expect_err("HTTP 502");
}

static void test_refused(void **state)
{
	char want[256];

	(void)state;
	assert_int_equal(RUN(sr_cmd_job, "job", "show", "635effc9", "--node", g.dead),
			 SR_EXIT_USER);
	snprintf(want, sizeof(want),
		 "sealroom: cannot reach the node at %s: is 'sealroom node' running?\n",
		 g.dead);
	assert_string_equal(g.err, want);
	assert_string_equal(g.out, "");
}

/* A node that accepts and closes at once (as one that is overloaded):
 * said to be that, not "is it running?". */
static void test_reset(void **state)
{
	struct sr_test_closer closer;
	char url[128];

	(void)state;
	sr_test_closer_start(&closer);
	snprintf(url, sizeof(url), "http://%s", closer.addr);
	assert_int_equal(RUN(sr_cmd_job, "job", "show", "635effc9", "--node", url),
			 SR_EXIT_USER);
	sr_test_closer_stop(&closer);
	expect_err("closed by the server without an answer (it may be overloaded)");
	if (strstr(g.err, "running?"))
		fail_msg("a guess: %s", g.err);
}

static void test_missing_token(void **state)
{
	(void)state;
	unsetenv("SEALROOM_TOKEN");
	route("GET", "/v1/projects", 200, "[]", -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "list"), SR_EXIT_USER);
	assert_string_equal(g.err,
		"sealroom: a token is needed: pass --token or set SEALROOM_TOKEN "
		"(create one with 'sealroom token create --role ROLE')\n");
	assert_int_equal(nrequests(), 0);
	/* An empty variable is no token either. */
	setenv("SEALROOM_TOKEN", "", 1);
	assert_int_equal(RUN(sr_cmd_project, "project", "list"), SR_EXIT_USER);
	expect_err("a token is needed");
	assert_int_equal(nrequests(), 0);
}

static void test_node_url_file(void **state)
{
	char *home = sr_test_tmpdir(), path[600], url[80], want[800];

	(void)state;
	unsetenv("SEALROOM_NODE");
	/* No node.url yet: say where the URL could come from. */
	assert_int_equal(RUN(sr_cmd_project, "project", "list", "--home", home),
			 SR_EXIT_USER);
	snprintf(want, sizeof(want),
		 "sealroom: no node to talk to: pass --node URL, set SEALROOM_NODE, "
		 "or start 'sealroom node' (it writes %s/node.url)\n", home);
	assert_string_equal(g.err, want);
	assert_int_equal(nrequests(), 0);

	snprintf(path, sizeof(path), "%s/node.url", home);
	snprintf(url, sizeof(url), "%s/\n", g.base);
	sr_test_write_file(path, url, strlen(url));
	route("GET", "/v1/projects", 200,
	      "[{\"project\": \"prj_aaaa\", \"name\": \"fraud study\", \"next_seq\": 7,"
	      "  \"head\": \"00\", \"members\": 2, \"datasets\": [{}, {}, {}], \"jobs\": 1,"
	      "  \"error\": null},"
	      " {\"project\": \"prj_bbbb\", \"name\": \"broken\", \"next_seq\": 3,"
	      "  \"head\": \"00\", \"members\": 2, \"datasets\": 0, \"jobs\": 0,"
	      "  \"error\": \"event 3: fork: the chain already has a different event 3\"}]", -1);
	route("GET", "/v1/invitations", 200,
	      "[{\"project\": \"prj_cccc\", \"name\": \"loyalty\","
	      "  \"invited_by\": \"org_00112233445566778899aabbccddeeff\", \"seq\": 2}]", -1);
	/* From SEALROOM_HOME, then from --home. */
	setenv("SEALROOM_HOME", home, 1);
	assert_int_equal(RUN(sr_cmd_project, "project", "list"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/projects", "", "srt_test");
	expect_request(1, "GET", "/v1/invitations", "", "srt_test");
	expect_out("prj_aaaa");
	expect_out("fraud study");
	expect_out("      7       2        3     1\n");
	expect_out("  WARNING: this node stopped following the project: event 3: fork:");
	expect_out("invitations (join with 'sealroom project join PROJECT'):\n");
	expect_out("prj_cccc");
	expect_out("invited by org_00112233445566778899aabbccddeeff (event 2)\n");
	unsetenv("SEALROOM_HOME");
	assert_int_equal(RUN(sr_cmd_project, "project", "list", "--home", home, "--json"),
			 SR_EXIT_OK);
	{
		json_t *j = json_loads(g.out, 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_array_size(json_object_get(j, "projects")), 2);
		assert_int_equal(json_array_size(json_object_get(j, "invitations")), 1);
		json_decref(j);
	}
	/* The node API is plain HTTP. */
	assert_int_equal(RUN(sr_cmd_project, "project", "list", "--node",
			     "https://127.0.0.1:1"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: --node: expected a node URL such as "
			    "http://127.0.0.1:PORT, got 'https://127.0.0.1:1'\n");
	/* A node.url that holds no URL. */
	sr_test_write_file(path, "garbage\n", 8);
	assert_int_equal(RUN(sr_cmd_project, "project", "list", "--home", home),
			 SR_EXIT_USER);
	expect_err("expected a node URL such as http://127.0.0.1:PORT");
	sr_test_tmpdir_free(home);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(RUN(sr_cmd_job, "job", "--help"), SR_EXIT_OK);
	expect_out("usage: sealroom job <command>");
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "--help"), SR_EXIT_OK);
	expect_out("wait JOB [--timeout SECONDS]");
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "--help"), SR_EXIT_OK);
	expect_out("usage: sealroom ledger");
	assert_int_equal(RUN(sr_cmd_project, "project", "--help"), SR_EXIT_OK);
	expect_out("usage: sealroom project");
	assert_int_equal(RUN(sr_cmd_job, "job"), SR_EXIT_USAGE);
	assert_int_equal(RUN(sr_cmd_job, "job", "frobnicate"), SR_EXIT_USAGE);
	expect_err("unknown command 'frobnicate'");
	/* Not a job id: nothing is sent. */
	assert_int_equal(RUN(sr_cmd_job, "job", "approve", "xyz"), SR_EXIT_USAGE);
	expect_err("'xyz' is not a job id: expected 8 to 64 hex digits");
	assert_int_equal(RUN(sr_cmd_job, "job", "approve", "635effc"), SR_EXIT_USAGE);
	assert_int_equal(RUN(sr_cmd_job, "job", "list"), SR_EXIT_USAGE);
	expect_err("--project is required");
	assert_int_equal(RUN(sr_cmd_job, "job", "list", "--project", "prj_1",
			     "--spec", "x.json"), SR_EXIT_USAGE);
	expect_err("--spec does not apply here");
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9", "--timeout", "soon"),
			 SR_EXIT_USAGE);
	assert_int_equal(RUN(sr_cmd_project, "project", "show", "a/b"), SR_EXIT_USAGE);
	expect_err("'a/b' is not a project id");
	assert_int_equal(RUN(sr_cmd_project, "project", "create"), SR_EXIT_USAGE);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "log", "prj_1", "--from", "-1"),
			 SR_EXIT_USAGE);
	assert_int_equal(RUN(sr_cmd_dataset, "dataset", "publish", "customers"),
			 SR_EXIT_USAGE);
	expect_err("--project is required");
	assert_int_equal(nrequests(), 0);
}

/* ---- project ---- */

static const char project_state[] =
	"{\"project\": \"prj_1\", \"name\": \"fraud study\", \"creator\": \"org_aa\","
	" \"seq\": 9, \"head\": \"1111111111111111aaaa\","
	" \"members\": ["
	"  {\"org_id\": \"org_aa\", \"name\": \"bank\", \"status\": \"active\", \"creator\": true},"
	"  {\"org_id\": \"org_bb\", \"name\": \"shop\", \"status\": \"active\", \"creator\": false},"
	"  {\"org_id\": \"org_cc\", \"name\": null, \"status\": \"invited\", \"creator\": false}],"
	" \"datasets\": ["
	"  {\"name\": \"bank.customers\", \"owner\": \"org_aa\","
	"   \"version_id\": \"3f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f\","
	"   \"rows\": 1000, \"withdrawn\": false}],"
	" \"jobs\": ["
	"  {\"id\": \"635effc91e891564aaaabbbbccccddddeeeeffff00001111222233334444\","
	"   \"proposer\": \"org_bb\", \"state\": \"proposed\", \"spec\": {\"kind\": \"psi\"}}],"
	" \"sync\": {\"next_seq\": 9, \"head\": \"2222222222222222bbbb\","
	"           \"error\": \"event 9: signature does not verify for author org_bb\"}}";

static void test_project_show(void **state)
{
	json_t *want, *got;

	(void)state;
	route("GET", "/v1/projects/prj_1", 200, project_state, -1);
	assert_int_equal(RUN(sr_cmd_project, "project", "show", "prj_1"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/projects/prj_1", "", "srt_test");
	expect_out("project fraud study (prj_1)\n");
	expect_out("  events: 9, head 2222222222222222\n");
	expect_out("  bank                     org_aa                               active (creator)\n");
	expect_out("  -                        org_cc                               invited\n");
	expect_out("  bank.customers                   bank                             1000  3f0c1a2b3c4d5e6f\n");
	expect_out("  635effc91e891564  psi          proposed   shop\n");
	expect_out("WARNING: this node stopped following the project: "
		   "event 9: signature does not verify for author org_bb\n");
	/* --json prints the node's answer. */
	assert_int_equal(RUN(sr_cmd_project, "project", "show", "prj_1", "--json"),
			 SR_EXIT_OK);
	want = json_loads(project_state, 0, NULL);
	got = json_loads(g.out, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
}

static void test_dataset_publish(void **state)
{
	(void)state;
	route("POST", "/v1/projects/prj_1/datasets", 201,
	      "{\"seq\": 5, \"dataset\": \"bank.customers\","
	      " \"version_id\": \"3f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b\", \"rows\": 1000}", -1);
	assert_int_equal(RUN(sr_cmd_dataset, "dataset", "publish", "customers",
			     "--project", "prj_1", "--token", "srt_steward"), SR_EXIT_OK);
	expect_request(0, "POST", "/v1/projects/prj_1/datasets",
		       "{\"dataset\": \"customers\"}", "srt_steward");
	expect_out("published bank.customers to project prj_1: 1000 rows, "
		   "version 3f0c1a2b3c4d5e6f\xe2\x80\xa6 (event 5)\n");
	reset();
	route("POST", "/v1/projects/prj_1/datasets", 404,
	      "{\"error\": \"dataset 'nope' not found\"}", -1);
	assert_int_equal(RUN(sr_cmd_dataset, "dataset", "publish", "nope",
			     "--project", "prj_1"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: dataset 'nope' not found\n");
}

/* ---- job ---- */

static const char spec_text[] =
	"{\"kind\": \"psi\", \"mode\": \"intersection\","
	" \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"customer_id\"},"
	"            {\"dataset\": \"shop.members\", \"column\": \"email\"}],"
	" \"receivers\": [\"org_bb\"]}";

static void test_job_propose(void **state)
{
	char spec_path[600], body[1024];

	(void)state;
	snprintf(spec_path, sizeof(spec_path), "%s/spec.json", g.dir);
	sr_test_write_file(spec_path, spec_text, strlen(spec_text));
	snprintf(body, sizeof(body), "{\"spec\": %s}", spec_text);
	route("POST", "/v1/projects/prj_1/jobs", 201,
	      "{\"job_id\": \"635effc91e891564aaaabbbbccccddddeeeeffff00001111222233334444\","
	      " \"seq\": 11, \"verdict\": {\"accept\": true, \"violations\": []}}", 1);
	assert_int_equal(RUN(sr_cmd_job, "job", "propose", "--project", "prj_1",
			     "--spec", spec_path), SR_EXIT_OK);
	expect_request(0, "POST", "/v1/projects/prj_1/jobs", body, "srt_test");
	expect_out("proposed job 635effc91e891564aaaabbbbccccddddeeeeffff00001111222233334444"
		   " in project prj_1 (event 11)\n");
	expect_out("verdict: accepted by the security checker\n");

	/* From stdin, refused by the checker: recorded, but exit 1. */
	route("POST", "/v1/projects/prj_1/jobs", 201,
	      "{\"job_id\": \"9a1e000000000000000000000000000000000000000000000000000000000000\","
	      " \"seq\": 12, \"verdict\": {\"accept\": false, \"violations\": ["
	      "  {\"rule\": \"usage-not-allowed\", \"dataset\": \"bank.customers\","
	      "   \"column\": \"customer_id\", \"usage\": \"join\","
	      "   \"message\": \"join is not allowed on this column\"},"
	      "  {\"rule\": \"receiver-not-allowed\", \"message\": \"org_bb may not receive\"}]}}", 1);
	assert_int_equal(RUN_STDIN(sr_cmd_job, spec_path, "job", "propose",
				   "--project", "prj_1", "--spec", "-"), SR_EXIT_USER);
	expect_request(1, "POST", "/v1/projects/prj_1/jobs", body, "srt_test");
	expect_out("verdict: refused by the security checker:\n"
		   "  - [usage-not-allowed] bank.customers.customer_id (join): "
		   "join is not allowed on this column\n"
		   "  - [receiver-not-allowed] org_bb may not receive\n");
	expect_err("sealroom: the security checker refused job 9a1e000000000000");

	/* A spec that is not JSON is refused before anything is sent. */
	sr_test_write_file(spec_path, "{\"kind\": ", 9);
	assert_int_equal(RUN(sr_cmd_job, "job", "propose", "--project", "prj_1",
			     "--spec", spec_path), SR_EXIT_USER);
	expect_err("spec.json");
	assert_int_equal(nrequests(), 2);
}

static const char job_json[] =
	"{\"id\": \"635effc91e891564aaaabbbbccccddddeeeeffff00001111222233334444\","
	" \"project\": \"prj_1\", \"proposer\": \"org_bb\", \"state\": \"finished\","
	" \"spec\": {\"kind\": \"psi\", \"mode\": \"intersection\","
	"   \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"customer_id\"},"
	"              {\"dataset\": \"shop.members\", \"column\": \"email\"}],"
	"   \"receivers\": [\"org_bb\"]},"
	" \"verdict\": {\"accept\": true, \"violations\": []},"
	" \"owners\": [{\"org_id\": \"org_aa\", \"approved\": true, \"rejected\": false},"
	"             {\"org_id\": \"org_bb\", \"approved\": false, \"rejected\": false},"
	"             {\"org_id\": \"org_dd\", \"approved\": false, \"rejected\": true}],"
	" \"receivers\": [\"org_bb\"],"
	" \"receipt\": {\"job_id\": \"635e\", \"output_hash\": \"77aa88bb\","
	"              \"sizes\": {\"output_rows\": 12}, \"epsilon_spent\": 0},"
	" \"local\": {\"state\": \"done\", \"progress\": \"\", \"error\": null}}";

static void test_job_show_list(void **state)
{
	char list[4096];

	(void)state;
	route("GET", "/v1/jobs/635effc9", 200, job_json, -1);
	route("GET", "/v1/projects/prj_1", 200, project_state, -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "show", "635EFFC9"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/jobs/635effc9", "", "srt_test");
	/* The project's state, for member names. */
	expect_request(1, "GET", "/v1/projects/prj_1", "", "srt_test");
	expect_out("job 635effc91e891564aaaabbbbccccddddeeeeffff00001111222233334444\n");
	expect_out("  state:     finished\n");
	expect_out("  kind:      psi (mode intersection)\n");
	expect_out("  proposer:  shop (org_bb)\n");
	expect_out("  inputs:    bank.customers (column customer_id)\n"
		   "             shop.members (column email)\n");
	expect_out("  receivers: shop\n");
	expect_out("  approvals: bank approved\n"
		   "             shop waiting\n"
		   "             org_dd rejected\n");
	expect_out("  verdict:   (proposer) accepted by the security checker\n");
	expect_out("  this node: done\n");
	expect_out("  receipt:   output hash 77aa88bb\n             sizes: output_rows 12\n");

	snprintf(list, sizeof(list), "[%s]", job_json);
	route("GET", "/v1/projects/prj_1/jobs", 200, list, -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "list", "--project", "prj_1"), SR_EXIT_OK);
	expect_request(2, "GET", "/v1/projects/prj_1/jobs", "", "srt_test");
	expect_request(3, "GET", "/v1/projects/prj_1", "", "srt_test");
	expect_out("635effc91e891564  psi          finished   1/3       accepted shop\n");
	/* Without names (the state cannot be had), org ids. */
	reset();
	route("GET", "/v1/projects/prj_1/jobs", 200, list, -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "list", "--project", "prj_1"), SR_EXIT_OK);
	expect_out("635effc91e891564  psi          finished   1/3       accepted org_bb\n");
}

static void test_job_votes(void **state)
{
	(void)state;
	route("POST", "/v1/jobs/635effc9/approve", 201, "{\"seq\": 13}", 1);
	route("POST", "/v1/jobs/635effc9/reject", 201, "{\"seq\": 14}", -1);
	route("POST", "/v1/jobs/635effc9/cancel", 201, "{\"seq\": 15}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "approve", "635effc9", "--token", "srt_st"),
			 SR_EXIT_OK);
	expect_request(0, "POST", "/v1/jobs/635effc9/approve", "{}", "srt_st");
	assert_string_equal(g.out, "approved job 635effc9 (event 13)\n");
	assert_int_equal(RUN(sr_cmd_job, "job", "reject", "635effc9", "--reason",
			     "too wide"), SR_EXIT_OK);
	expect_request(1, "POST", "/v1/jobs/635effc9/reject",
		       "{\"reason\": \"too wide\"}", "srt_test");
	assert_string_equal(g.out, "rejected job 635effc9 (event 14)\n");
	assert_int_equal(RUN(sr_cmd_job, "job", "cancel", "635effc9"), SR_EXIT_OK);
	expect_request(2, "POST", "/v1/jobs/635effc9/cancel", "{}", "srt_test");
	assert_int_equal(RUN(sr_cmd_job, "job", "cancel", "635effc9", "--json"), SR_EXIT_OK);
	expect_out("\"seq\": 15");

	/* This node's checker refuses: 409 with the violations. */
	route("POST", "/v1/jobs/635effc9/approve", 409,
	      "{\"error\": \"job 635effc91e891564: refused by this node's security checker\","
	      " \"violations\": [{\"rule\": \"kind-not-allowed\", \"dataset\": \"bank.customers\","
	      "  \"message\": \"psi is not an allowed job kind\"}]}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "approve", "635effc9"), SR_EXIT_USER);
	expect_err("  - [kind-not-allowed] bank.customers: psi is not an allowed job kind\n");
	expect_err("sealroom: job 635effc91e891564: refused by this node's security checker\n");
	assert_string_equal(g.out, "");
}

static void test_job_result(void **state)
{
	char csv_path[600], *csv;

	(void)state;
	route("GET", "/v1/jobs/635effc9/result", 200,
	      "{\"meta\": {\"job_id\": \"635e\", \"kind\": \"psi\", \"mode\": \"intersection\","
	      " \"output_hash\": \"77aa88bb\", \"size\": 3}, \"columns\": [\"email\", \"n\"],"
	      " \"rows\": [[\"a@x.org\", 1], [\"b,c\\\"d\", null], [\"\", 22]]}", -1);
	route("GET", "/v1/jobs/9a1e0000/result", 200,
	      "{\"meta\": {\"job_id\": \"9a1e\", \"kind\": \"psi\", \"mode\": \"cardinality\","
	      " \"output_hash\": \"55\", \"size\": 42}, \"columns\": [\"intersection_size\"],"
	      " \"rows\": [[42]]}", -1);
	route("GET", "/v1/jobs/deadbeef/result", 404,
	      "{\"error\": \"job deadbeef: no result for this organization yet\"}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "result", "635effc9"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/jobs/635effc9/result", "", "srt_test");
	assert_string_equal(g.out,
		"email    n\n"
		"-------  ----\n"
		"a@x.org  1\n"
		"b,c\"d    NULL\n"
		"         22\n"
		"(3 rows; output hash 77aa88bb)\n");
	assert_int_equal(RUN(sr_cmd_job, "job", "result", "9a1e0000"), SR_EXIT_OK);
	/* Every kind's envelope renders the same way. */
	assert_string_equal(g.out,
		"intersection_size\n"
		"-----------------\n"
		"42\n"
		"(1 row; output hash 55)\n");
	assert_int_equal(RUN(sr_cmd_job, "job", "result", "deadbeef"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: job deadbeef: no result for this organization yet\n");

	snprintf(csv_path, sizeof(csv_path), "%s/out.csv", g.dir);
	unlink(csv_path);
	assert_int_equal(RUN(sr_cmd_job, "job", "result", "635effc9", "--output", csv_path),
			 SR_EXIT_OK);
	csv = sr_test_read_file(csv_path, NULL);
	assert_string_equal(csv, "email,n\na@x.org,1\n\"b,c\"\"d\",\n\"\",22\n");
	free(csv);
	/* Never overwrite a file. */
	assert_int_equal(RUN(sr_cmd_job, "job", "result", "635effc9", "--output", csv_path),
			 SR_EXIT_USER);
	expect_err("it must not exist yet");
	unlink(csv_path);
}

static void test_job_wait(void **state)
{
	(void)state;
	route("GET", "/v1/jobs/635effc9", 200,
	      "{\"state\": \"proposed\", \"owners\": [{\"org_id\": \"org_aa\", \"approved\": true},"
	      " {\"org_id\": \"org_bb\", \"approved\": false}], \"local\": null}", 1);
	route("GET", "/v1/jobs/635effc9", 200,
	      "{\"state\": \"running\", \"local\": {\"state\": \"running\","
	      " \"progress\": \"exchanging blinded keys\", \"error\": null}}", 2);
	route("GET", "/v1/jobs/635effc9", 200,
	      "{\"state\": \"finished\", \"receipt\": {\"output_hash\": \"77aa88bb99cc00dd11ee22ff\"},"
	      " \"local\": {\"state\": \"done\", \"progress\": \"psi: matching\"}}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9"), SR_EXIT_OK);
	assert_int_equal(nrequests(), 4);
	for (size_t i = 0; i < 4; i++)
		expect_request(i, "GET", "/v1/jobs/635effc9", "", "srt_test");
	expect_err("job 635effc9: proposed (approvals 1/2)\n"
		   "job 635effc9: running: exchanging blinded keys\n"
		   "job 635effc9: finished\n");
	assert_string_equal(g.out, "job 635effc9 finished: output hash 77aa88bb99cc00dd\xe2\x80\xa6\n");

	reset();
	route("GET", "/v1/jobs/635effc9", 200,
	      "{\"state\": \"failed\", \"reason\": \"peer timed out\"}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9", "--quiet"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: job 635effc9 failed: peer timed out\n");

	reset();
	route("GET", "/v1/jobs/635effc9", 200,
	      "{\"state\": \"rejected\", \"ended_by\": \"org_aa\", \"reason\": \"too wide\","
	      " \"project\": \"prj_1\"}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9", "--quiet"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: job 635effc9 was rejected by org_aa: too wide\n");
	route("GET", "/v1/projects/prj_1", 200, project_state, -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9", "--quiet"), SR_EXIT_USER);
	assert_string_equal(g.err, "sealroom: job 635effc9 was rejected by bank: too wide\n");

	reset();
	route("GET", "/v1/jobs/635effc9", 200, "{\"state\": \"approved\"}", -1);
	assert_int_equal(RUN(sr_cmd_job, "job", "wait", "635effc9", "--timeout", "0.5",
			     "--quiet"), SR_EXIT_USER);
	expect_err("sealroom: timed out after 0.5 s waiting for job 635effc9 (it is approved)\n");
	/* Polled every 200 ms: about three times in half a second. */
	assert_true(nrequests() >= 2 && nrequests() <= 5);
}

/* ---- ledger ---- */

static void test_ledger_verify(void **state)
{
	(void)state;
	route("GET", "/v1/projects/prj_1/ledger", 200,
	      "{\"verified\": true, \"summary\": {\"events\": 12,"
	      "  \"head\": \"0123456789abcdef0123\","
	      "  \"types\": {\"project.create\": 1, \"member.invite\": 1, \"job.fail\": 0,"
	      "             \"dataset.publish\": 2},"
	      "  \"members_active\": 2, \"members_invited\": 0, \"members_left\": 0,"
	      "  \"datasets_published\": 2, \"datasets_withdrawn\": 0, \"jobs\": 1,"
	      "  \"jobs_by_state\": {\"proposed\": 0, \"finished\": 1}},"
	      " \"coordinator\": {\"next_seq\": 12, \"head\": \"0123456789abcdef0123\"}}", 1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "verify", "prj_1"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/projects/prj_1/ledger", "", "srt_test");
	expect_out("ledger of prj_1 verified: 12 events, head 0123456789abcdef, "
		   "coordinator head 0123456789abcdef (in sync)\n");
	expect_out("events by type:\n");
	expect_out("  dataset.publish    2\n");
	expect_out("jobs by state:\n  finished           1\n");
	if (strstr(g.out, "job.fail") || strstr(g.out, "proposed"))
		fail_msg("zero counts are listed:\n%s", g.out);

	route("GET", "/v1/projects/prj_1/ledger", 200,
	      "{\"verified\": true, \"summary\": {\"events\": 9, \"head\": \"aaaa\"},"
	      " \"coordinator\": {\"next_seq\": 12, \"head\": \"bbbb\"},"
	      " \"error\": \"event 9: prev does not match the head\"}", 1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "verify", "prj_1"), SR_EXIT_OK);
	expect_out("ledger of prj_1 verified: 9 events, head aaaa, coordinator head bbbb (behind by 3)\n");
	expect_out("WARNING: this node stopped following the project: "
		   "event 9: prev does not match the head\n");

	/* The coordinator could not be asked. */
	route("GET", "/v1/projects/prj_1/ledger", 200,
	      "{\"verified\": true, \"summary\": {\"events\": 9, \"head\": \"aaaa\"},"
	      " \"coordinator\": {\"error\": \"GET https://c:7443/v1/projects/prj_1/head: timed out\"}}", 1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "verify", "prj_1"), SR_EXIT_OK);
	expect_out("coordinator head unknown (GET https://c:7443/v1/projects/prj_1/head: timed out)\n");

	/* Same length, another head: the coordinator serves another history. */
	route("GET", "/v1/projects/prj_1/ledger", 200,
	      "{\"verified\": true, \"summary\": {\"events\": 9, \"head\": \"aaaa\"},"
	      " \"coordinator\": {\"next_seq\": 9, \"head\": \"cccc\"}}", 1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "verify", "prj_1"), SR_EXIT_USER);
	expect_out("coordinator head cccc (DIFFERENT at the same length)\n");
	expect_err("it serves a different history");

	route("GET", "/v1/projects/prj_1/ledger", 422,
	      "{\"error\": \"event 5: signature does not verify for author org_bb\"}", 1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "verify", "prj_1"), SR_EXIT_USER);
	assert_string_equal(g.err,
		"sealroom: event 5: signature does not verify for author org_bb\n");
}

#define EV(seq, time, type, author, body, id) \
	"{\"event\": {\"project\": \"prj_1\", \"seq\": " #seq ", \"prev\": \"00\"," \
	" \"type\": \"" type "\", \"author\": \"" author "\", \"time\": " #time "," \
	" \"body\": " body "}, \"id\": \"" id "\", \"sig\": \"00\"}"

static void test_ledger_log(void **state)
{
	(void)state;
	route("GET", "/v1/projects/prj_1", 200, project_state, -1);
	route("GET", "/v1/projects/prj_1/events/0", 200,
	      "[" EV(0, 1700000000, "project.create", "org_aa",
		     "{\"name\": \"fraud study\", \"creator\": {\"org_id\": \"org_aa\"}}", "e0") ","
	      EV(1, 1700000001, "member.invite", "org_aa", "{\"org_id\": \"org_bb\"}", "e1") ","
	      EV(2, 1700000002, "member.join", "org_bb",
		 "{\"name\": \"shop\", \"sign_pk\": \"00\", \"kx_pk\": \"00\"}", "e2") "]", -1);
	route("GET", "/v1/projects/prj_1/events/3", 200,
	      "[" EV(3, 1700000003, "dataset.publish", "org_aa",
		     "{\"dataset\": \"customers\", \"rows\": 1000,"
		     " \"version_id\": \"3f0c1a2b3c4d5e6f\", \"schema\": [], \"policy\": {}}", "e3") ","
	      EV(4, 1700000004, "job.propose", "org_bb",
		 "{\"spec\": {\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\"},"
		 " {\"dataset\": \"shop.members\"}]}, \"verdict\": {\"accept\": true}}",
		 "635effc91e891564aaaabbbb") ","
	      EV(5, 1700000005, "job.approve", "org_aa",
		 "{\"job_id\": \"635effc91e891564aaaabbbb\", \"spec_hash\": \"00\"}", "e5") ","
	      EV(6, 1700000006, "job.reject", "org_cc",
		 "{\"job_id\": \"635effc91e891564aaaabbbb\", \"spec_hash\": \"00\","
		 " \"reason\": \"no\\u001b[2Jway\"}", "e6") ","
	      EV(7, 1700000007, "job.finish", "org_bb",
		 "{\"job_id\": \"635effc91e891564aaaabbbb\", \"output_hash\": \"77aa88bb99\","
		 " \"sizes\": {\"output_rows\": 12}, \"epsilon_spent\": 0}", "e7") ","
	      EV(8, 1700000008, "member.leave", "org_bb", "{}", "e8") "]", -1);
	route("GET", "/v1/projects/prj_1/events/9", 200, "[]", -1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "log", "prj_1"), SR_EXIT_OK);
	expect_request(0, "GET", "/v1/projects/prj_1", "", "srt_test");
	expect_request(1, "GET", "/v1/projects/prj_1/events/0", "", "srt_test");
	expect_request(2, "GET", "/v1/projects/prj_1/events/3", "", "srt_test");
	/* The state says 9 events: no need to ask for a tenth. */
	assert_int_equal(nrequests(), 3);
	expect_out("     0  2023-11-14T22:13:20Z  project.create    bank              "
		   "create project \"fraud study\"\n");
	expect_out("     1  2023-11-14T22:13:21Z  member.invite     bank              "
		   "invite org_bb (shop)\n");
	expect_out("  member.join       shop              join as shop\n");
	expect_out("  dataset.publish   bank              publish bank.customers "
		   "(1000 rows, version 3f0c1a2b\xe2\x80\xa6)\n");
	expect_out("  job.propose       shop              propose job 635effc9\xe2\x80\xa6 "
		   "(psi on bank.customers, shop.members; accepted by the checker)\n");
	expect_out("  job.approve       bank              approve job 635effc9\xe2\x80\xa6\n");
	/* Unknown authors by org id; control characters never reach the terminal. */
	expect_out("  job.reject        org_cc            reject job 635effc9\xe2\x80\xa6: no?[2Jway\n");
	expect_out("  job.finish        shop              finish job 635effc9\xe2\x80\xa6 "
		   "(output 77aa88bb\xe2\x80\xa6, output_rows 12)\n");
	expect_out("     8  2023-11-14T22:13:28Z  member.leave      shop              leave\n");

	/* --from, and --json prints the events themselves. */
	reset();
	route("GET", "/v1/projects/prj_1/events/7", 200,
	      "[" EV(7, 1700000007, "member.leave", "org_bb", "{}", "e7") "]", -1);
	route("GET", "/v1/projects/prj_1/events/8", 200, "[]", -1);
	assert_int_equal(RUN(sr_cmd_ledger, "ledger", "log", "prj_1", "--from", "7", "--json"),
			 SR_EXIT_OK);
	expect_request(0, "GET", "/v1/projects/prj_1/events/7", "", "srt_test");
	expect_request(1, "GET", "/v1/projects/prj_1/events/8", "", "srt_test");
	{
		json_t *j = json_loads(g.out, 0, NULL);
		assert_int_equal(json_array_size(j), 1);
		json_decref(j);
	}
}

/* ---- helpers ---- */

static void test_clean(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(sr_nodeclient_clean(buf, sizeof(buf), "a\x1b[2Jb\x7f"), "a?[2Jb?");
	assert_string_equal(sr_nodeclient_clean(buf, sizeof(buf), "x\xc2\x9by"), "x?y");
	assert_string_equal(sr_nodeclient_clean(buf, sizeof(buf), "Zo\xc3\xab"), "Zo\xc3\xab");
	assert_string_equal(sr_nodeclient_clean(buf, sizeof(buf), "0123456789abcdefghij"),
			    "0123456789ab...");
	assert_string_equal(sr_nodeclient_clean(buf, 8, "\xc3\xab\xc3\xab\xc3\xab\xc3\xab"),
			    "\xc3\xab\xc3\xab...");
	assert_string_equal(sr_nodeclient_clean(buf, sizeof(buf), NULL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_project_create, setup),
		cmocka_unit_test_setup(test_flags_override_env, setup),
		cmocka_unit_test_setup(test_error_4xx, setup),
		cmocka_unit_test_setup(test_error_5xx, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_reset, setup),
		cmocka_unit_test_setup(test_missing_token, setup),
		cmocka_unit_test_setup(test_node_url_file, setup),
		cmocka_unit_test_setup(test_usage, setup),
		cmocka_unit_test_setup(test_project_show, setup),
		cmocka_unit_test_setup(test_dataset_publish, setup),
		cmocka_unit_test_setup(test_job_propose, setup),
		cmocka_unit_test_setup(test_job_show_list, setup),
		cmocka_unit_test_setup(test_job_votes, setup),
		cmocka_unit_test_setup(test_job_result, setup),
		cmocka_unit_test_setup(test_job_wait, setup),
		cmocka_unit_test_setup(test_ledger_verify, setup),
		cmocka_unit_test_setup(test_ledger_log, setup),
		cmocka_unit_test(test_clean),
	};

	sr_alloc_setup_json();
	if (sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
