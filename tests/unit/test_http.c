/*
 * test_http.c - the control-plane HTTP layer: a real server on loopback and
 * the client; JSON bodies, clear 4xx answers for malformed, oversized and
 * unknown requests, the Authorization header, timeouts and refused
 * connections.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/limits.h"
#include "net/http.h"
#include "net/tcp.h"

static unsigned char pattern_at(uint64_t pos)
{
	return (unsigned char)(pos * 131 + (pos >> 9));
}

static long pattern_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)ctx;
	for (size_t i = 0; i < max; i++)
		buf[i] = (char)pattern_at(pos + i);
	return (long)max;
}

static void pattern_free(void *ctx)
{
	sr_free(ctx);
}

static atomic_int released;   /* /wait/: its key was released */

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
	if (strncmp(req->path, "/wait/", 6) == 0) {
		/* A long-poll: parked until key 7 is released and woken, or
		 * for wait_ms (the rest of the path). */
		long wait_ms = strtol(req->path + 6, NULL, 10);
		if (!atomic_load(&released) && req->may_defer && req->waited_ms < wait_ms) {
			sr_http_defer(resp, 7, (int)(wait_ms - req->waited_ms));
			return SR_OK;
		}
		resp->body = json_pack("{s:I,s:b}", "waited_ms", (json_int_t)req->waited_ms,
				       "released", atomic_load(&released));
		return SR_OK;
	}
	if (strncmp(req->path, "/sleep/", 7) == 0) {
		/* A handler that holds its thread (as one waiting for a lock). */
		usleep((useconds_t)strtoul(req->path + 7, NULL, 10) * 1000);
		resp->body = json_pack("{s:b}", "ok", 1);
		return SR_OK;
	}
	if (strcmp(req->path, "/fail") == 0)
		return SR_EINTERNAL;   /* no status set: must become a 500 */
	if (strcmp(req->path, "/bin") == 0) {
		/* The raw body back, as a binary answer, and its type. */
		char *copy = sr_malloc(req->body_len ? req->body_len : 1);
		const char *type = sr_http_request_header(req, "Content-Type");
		if (!copy)
			return SR_ENOMEM;
		memcpy(copy, req->body, req->body_len);
		resp->status = type && strcmp(type, "application/octet-stream") == 0 ? 201 : 202;
		sr_http_answer_raw(resp, "application/octet-stream", copy, req->body_len);
		return SR_OK;
	}
	if (strncmp(req->path, "/stream/", 8) == 0) {
		/* N bytes of a pattern, made as they are read. */
		sr_http_answer_stream(resp, "application/octet-stream",
				      strtoull(req->path + 8, NULL, 10), pattern_read,
				      pattern_free, sr_malloc(1));
		return SR_OK;
	}
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

struct counting_sink {
	uint64_t got;
	int bad;
	uint64_t stop_at;     /* 0: never */
};

static size_t count_sink(void *ctx, const char *data, size_t len)
{
	struct counting_sink *cs = ctx;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] != pattern_at(cs->got + i))
			cs->bad = 1;
	cs->got += len;
	return cs->stop_at && cs->got >= cs->stop_at ? 0 : len;
}

/* Binary requests and answers: bytes with NULs go through unchanged, an
 * answer streams to a sink, and a sink can stop a transfer. */
static void test_binary(void **state)
{
	struct fixture *f = *state;
	struct sr_http_client *c = NULL;
	struct sr_http_req rq;
	struct sr_http_answer ans;
	struct counting_sink cs;
	struct sr_buf out;
	struct sr_err err, sink_err;
	unsigned char body[3000];

	sr_err_clear(&err);
	sr_buf_init(&out, 1 << 20);
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i % 7 == 0 ? 0 : i);
	assert_int_equal(sr_http_client_new(f->base, NULL, &c, &err), SR_OK);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = "/bin";
	rq.content_type = "application/octet-stream";
	rq.body = body;
	rq.body_len = sizeof(body);
	rq.timeout_ms = 5000;
	memset(&ans, 0, sizeof(ans));
	ans.body = &out;
	assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_OK);
	assert_int_equal(ans.status, 201);
	assert_int_equal(out.len, sizeof(body));
	assert_memory_equal(out.data, body, sizeof(body));
	/* An empty body, no type. */
	rq.content_type = NULL;
	rq.body_len = 0;
	sr_buf_reset(&out);
	assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_OK);
	assert_int_equal(ans.status, 202);
	assert_int_equal(out.len, 0);
	/* 5 MB streamed to a sink, checked byte by byte. */
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = "/stream/5000000";
	rq.timeout_ms = 5000;
	memset(&cs, 0, sizeof(cs));
	ans.sink = count_sink;
	ans.sink_ctx = &cs;
	assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_OK);
	assert_int_equal(ans.status, 200);
	assert_int_equal(cs.got, 5000000);
	assert_false(cs.bad);
	/* A sink that stops: the call fails with the sink's reason. */
	memset(&cs, 0, sizeof(cs));
	cs.stop_at = 100000;
	sr_err_clear(&sink_err);
	sr_fail(&sink_err, SR_ELIMIT, "enough");
	ans.sink_err = &sink_err;
	assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "enough"));
	/* An error answer goes to the body, not the sink. */
	memset(&cs, 0, sizeof(cs));
	sr_err_clear(&err);
	rq.path = "/nowhere";
	sr_buf_reset(&out);
	assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_OK);
	assert_int_equal(ans.status, 404);
	assert_int_equal(cs.got, 0);
	assert_non_null(strstr(out.data, "no route for GET /nowhere"));
	/* A header with a line break is refused before sending. */
	{
		const char *bad[] = { "X-A: 1\r\nX-B: 2", NULL };
		rq.headers = bad;
		sr_err_clear(&err);
		assert_int_equal(sr_http_client_call(c, &rq, &ans, &err), SR_EINVAL);
	}
	sr_http_client_free(c);
	sr_http_client_free(NULL);
	sr_buf_release(&out);
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

/* ---- parked requests hold no thread ---------------------------------------- */

#define PARKED 40

struct waiter {
	char url[128];
	int rc, status;
	long long waited_ms;
	int was_released;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct sr_err err;
	json_t *ans = NULL;

	sr_err_clear(&err);
	w->rc = sr_http_call("GET", w->url, NULL, NULL, 10000, &w->status, &ans, &err);
	w->waited_ms = json_integer_value(json_object_get(ans, "waited_ms"));
	w->was_released = json_is_true(json_object_get(ans, "released"));
	json_decref(ans);
	return NULL;
}

static double ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/*
 * One server thread, 40 long-polls parked on it (more than the 8
 * connections a thread used to serve), and other requests are still
 * answered at once; a wake for their key answers them all long before
 * their wait is over; one that nobody wakes answers when its wait is.
 */
static void test_parked(void **state)
{
	static struct waiter w[PARKED];
	struct sr_http_server *server = NULL;
	pthread_t t[PARKED];
	char base[64], url[128];
	struct sr_err err;
	json_t *ans = NULL;
	int status;
	double t0;

	(void)state;
	atomic_store(&released, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 1, handler, NULL,
					      &server, &err), SR_OK);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
		 (unsigned)sr_http_server_port(server));
	for (int i = 0; i < PARKED; i++) {
		snprintf(w[i].url, sizeof(w[i].url), "%s/wait/8000", base);
		assert_int_equal(pthread_create(&t[i], NULL, waiter_main, &w[i]), 0);
	}
	usleep(500 * 1000);
	/* Not released: the wait of 300 ms is served in full. */
	snprintf(url, sizeof(url), "%s/wait/300", base);
	t0 = ms_now();
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &ans, &err),
			 SR_OK);
	assert_int_equal(status, 200);
	assert_true(json_integer_value(json_object_get(ans, "waited_ms")) >= 300);
	assert_true(ms_now() - t0 < 2000);
	json_decref(ans);
	/* Another request, answered at once with 40 parked. */
	snprintf(url, sizeof(url), "%s/echo", base);
	{
		json_t *body = json_pack("{s:i}", "n", 1);
		t0 = ms_now();
		assert_int_equal(sr_http_call("POST", url, body, NULL, 5000, &status, &ans,
					      &err), SR_OK);
		json_decref(body);
	}
	assert_int_equal(status, 200);
	assert_true(ms_now() - t0 < 1000);
	json_decref(ans);
	/* The wake answers them all, well before their 8 s. */
	atomic_store(&released, 1);
	t0 = ms_now();
	sr_http_server_wake(server, 7);
	for (int i = 0; i < PARKED; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, SR_OK);
		assert_int_equal(w[i].status, 200);
		assert_true(w[i].was_released);
		assert_true(w[i].waited_ms < 6000);
	}
	assert_true(ms_now() - t0 < 3000);
	sr_http_server_stop(server);
}

/*
 * A request that waits in its socket while the server's only thread is
 * held by a slow handler for longer than the header deadline is served
 * after it, not reset (its bytes are there, unread: it is not late).  Its
 * connection is accepted first (while the thread is free), then the slow
 * request takes the thread, then the request is sent.
 */
static void test_queued_not_reset(void **state)
{
	static const char request[] = "GET /sleep/1 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sr_http_server *server = NULL;
	char addr[64], answer[16];
	struct waiter slow;
	struct sr_err err;
	pthread_t t;
	int fd;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 1, handler, NULL,
					      &server, &err), SR_OK);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)sr_http_server_port(server));
	assert_int_equal(sr_tcp_connect(addr, 2000, &fd, &err), SR_OK);
	usleep(200 * 1000);
	memset(&slow, 0, sizeof(slow));
	snprintf(slow.url, sizeof(slow.url), "http://%s/sleep/%d", addr,
		 SR_HTTP_HEADER_MS + 1500);
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &slow), 0);
	usleep(300 * 1000);
	assert_int_equal(sr_tcp_write_all(fd, request, sizeof(request) - 1, &err), SR_OK);
	assert_int_equal(sr_tcp_set_timeout(fd, 15000, &err), SR_OK);
	assert_int_equal(sr_tcp_read_all(fd, answer, 12, NULL, &err), SR_OK);
	answer[12] = '\0';
	assert_string_equal(answer, "HTTP/1.1 200");
	close(fd);
	pthread_join(t, NULL);
	assert_int_equal(slow.rc, SR_OK);
	assert_int_equal(slow.status, 200);
	sr_http_server_stop(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_parked),
		cmocka_unit_test(test_queued_not_reset),
	};

	sr_alloc_setup_json();
	if (sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
