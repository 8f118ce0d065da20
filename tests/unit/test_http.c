/*
 * test_http.c - the control-plane HTTP layer: a real server on loopback and
 * the client; JSON bodies, clear 4xx answers for malformed, oversized and
 * unknown requests, the Authorization header, timeouts and refused
 * connections.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/limits.h"
#include "net/http.h"

static int handler(void *ctx, const struct sr_http_request *req,
		   struct sr_http_response *resp)
{
	json_t *body;

	(void)ctx;
	if (strcmp(req->path, "/echo") == 0) {
		if (strcmp(req->method, "POST") != 0)
			return sr_http_error(resp, 405, "/echo: use POST");
		if (sr_http_json_body(req, resp, &body) != SR_OK)
			return SR_OK;
		resp->body = json_pack("{s:o,s:s?}", "echo", body,
				       "authorization", req->authorization);
		return SR_OK;
	}
	if (strcmp(req->path, "/slow") == 0) {
		usleep(600 * 1000);
		resp->body = json_pack("{s:b}", "ok", 1);
		return SR_OK;
	}
	if (strcmp(req->path, "/fail") == 0)
		return SR_EINTERNAL;   /* no status set: must become a 500 */
	return sr_http_error(resp, 404, "no route for %s %s", req->method,
			     req->path);
}

struct fixture {
	struct sr_http_server *server;
	char base[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sr_err err;

	assert_non_null(f);
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, handler, NULL,
					      &f->server, &err), SR_OK);
	assert_true(sr_http_server_port(f->server) > 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u",
		 (unsigned)sr_http_server_port(f->server));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sr_http_server_stop(f->server);
	free(f);
	return 0;
}

static int call(struct fixture *f, const char *method, const char *path,
		const json_t *body, const char *token, int *status,
		json_t **answer)
{
	char url[128];
	struct sr_err err;

	sr_err_clear(&err);
	snprintf(url, sizeof(url), "%s%s", f->base, path);
	return sr_http_call(method, url, body, token, 5000, status, answer, &err);
}

static void test_echo(void **state)
{
	struct fixture *f = *state;
	json_t *body = json_pack("{s:s,s:i}", "name", "Zoë", "n", 7), *answer;
	int status;

	assert_int_equal(call(f, "POST", "/echo", body, "tok123", &status, &answer), SR_OK);
	assert_int_equal(status, 200);
	assert_true(json_equal(json_object_get(answer, "echo"), body));
	assert_string_equal(json_string_value(json_object_get(answer, "authorization")),
			    "Bearer tok123");
	json_decref(answer);
	json_decref(body);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	json_t *answer;
	int status;
	char url[128];
	struct sr_err err;

	assert_int_equal(call(f, "GET", "/nowhere", NULL, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 404);
	assert_string_equal(json_string_value(json_object_get(answer, "error")),
			    "no route for GET /nowhere");
	json_decref(answer);
	assert_int_equal(call(f, "GET", "/echo", NULL, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 405);
	json_decref(answer);
	assert_int_equal(call(f, "POST", "/echo", NULL, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 400);
	assert_string_equal(json_string_value(json_object_get(answer, "error")),
			    "request body: expected a JSON object");
	json_decref(answer);
	{
		json_t *arr = json_pack("[i]", 1);
		assert_int_equal(call(f, "POST", "/echo", arr, NULL, &status, &answer), SR_OK);
		assert_int_equal(status, 400);
		json_decref(answer);
		json_decref(arr);
	}
	assert_int_equal(call(f, "GET", "/fail", NULL, NULL, &status, &answer), SR_OK);
	assert_int_equal(status, 500);
	json_decref(answer);
	/* Timeout and refused connection. */
	sr_err_clear(&err);
	snprintf(url, sizeof(url), "%s/slow", f->base);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 200, &status, &answer, &err),
			 SR_ETIMEOUT);
	assert_non_null(strstr(err.msg, "timed out"));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call("GET", "http://127.0.0.1:1/x", NULL, NULL, 2000,
				      &status, &answer, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "127.0.0.1:1"));
}

/* Raw requests: malformed JSON and an oversized body. */
static void test_raw(void **state)
{
	struct fixture *f = *state;
	char cmd[512], out[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
		 "curl -s -o - -w ' %%{http_code}' -X POST --data-binary '{\"a\": tru' %s/echo",
		 f->base);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	if (!strstr(out, " 400") || !strstr(out, "request body: line 1"))
		fail_msg("malformed JSON: %s", out);
	snprintf(cmd, sizeof(cmd),
		 "head -c %u /dev/zero | tr '\\0' 'x' | curl -s -o - -w ' %%{http_code}' -X POST --data-binary @- %s/echo",
		 SR_HTTP_BODY_MAX + 10, f->base);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	if (!strstr(out, " 413") || !strstr(out, "larger than the limit"))
		fail_msg("oversized body: %s", out);
}

static void test_bad_listen(void **state)
{
	struct sr_http_server *s = NULL;
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("nonsense", 1, handler, NULL, &s, &err),
			 SR_EINVAL);
	assert_non_null(strstr(err.msg, "expected HOST:PORT"));
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:99999", 1, handler, NULL, &s, &err),
			 SR_EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
		cmocka_unit_test(test_bad_listen),
	};

	sr_alloc_setup_json();
	if (sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
