/*
 * test_tls.c - the coordinator's self-signed certificate and its pin, and
 * HTTPS between the control plane's server and client: the right pin
 * works, a wrong pin is refused before anything is sent (with libcurl's
 * VERIFYPEER off), an https:// URL without a pin and a plain client
 * talking to an HTTPS server fail clearly.
 */
#include "testutil.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/file.h"
#include "net/http.h"
#include "net/tls.h"

/* ---- pin format ---- */

static void test_pin_parse(void **state)
{
	static const char *const good[] = {
		"sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=",
		"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"sha256//+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8=",
	};
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ "jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=", "start with 'sha256//'" },
		{ "SHA256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=", "start with 'sha256//'" },
		{ "sha1//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=", "start with 'sha256//'" },
		{ "sha256//", "got 0" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE", "got 43" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE==", "got 45" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE= ", "got 45" },
		/* URL-safe alphabet, a bad character, stray low bits, no padding */
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHt-_E=", "not the base64" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHt!aE=", "not the base64" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaF=", "not the base64" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaEA", "not the base64" },
		{ "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=;"
		  "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not a list" },
	};
	struct sr_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sr_err_clear(&err);
		if (sr_tls_pin_parse(good[i], &err) != SR_OK)
			fail_msg("refused %s: %s", good[i], err.msg);
		assert_int_equal(strlen(good[i]), SR_TLS_PIN_LEN);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sr_err_clear(&err);
		if (sr_tls_pin_parse(bad[i].text, &err) != SR_EINVAL)
			fail_msg("accepted '%s'", bad[i].text);
		if (!strstr(err.msg, "pinned key") || !strstr(err.msg, bad[i].why))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].text,
				 err.msg, bad[i].why);
	}
	sr_err_clear(&err);
	assert_int_equal(sr_tls_pin_parse(NULL, &err), SR_EINVAL);
}

/* ---- certificate files ---- */

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (unsigned)(st.st_mode & 0777);
}

/* Check what the generated certificate says, with GnuTLS directly. */
static void check_cert_contents(const char *cert_file)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	unsigned char san[64];
	char cn[64];
	size_t len, n_dns = 0, n_ip = 0;
	unsigned verify = 1;
	size_t text_len;
	char *text = sr_test_read_file(cert_file, &text_len);
	time_t now = time(NULL), expires;

	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	d.data = (unsigned char *)text;
	d.size = (unsigned)text_len;
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_get_version(crt), 3);
	len = sizeof(cn);
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						       0, 0, cn, &len), 0);
	assert_string_equal(cn, "sealroom coordinator");
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, NULL), GNUTLS_PK_ECDSA);
	for (unsigned i = 0;; i++) {
		int type;

		len = sizeof(san);
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &len, NULL);
		if (type < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			assert_int_equal(len, 9);
			assert_memory_equal(san, "localhost", 9);
			n_dns++;
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			assert_int_equal(len, 4);
			assert_memory_equal(san, "\x7f\x00\x00\x01", 4);
			n_ip++;
		}
	}
	assert_int_equal(n_dns, 1);
	assert_int_equal(n_ip, 1);
	assert_true(gnutls_x509_crt_get_activation_time(crt) <= now);
	expires = gnutls_x509_crt_get_expiration_time(crt);
	assert_true(expires > now + (time_t)3650 * 86400);
	assert_true(expires < now + (time_t)3660 * 86400);
	/* Self-signed: it verifies against itself. */
	assert_int_equal(gnutls_x509_crt_verify(crt, &crt, 1, 0, &verify), 0);
	assert_int_equal(verify, 0);
	gnutls_x509_crt_deinit(crt);
	free(text);
}

static void test_cert_generate_reload(void **state)
{
	char *dir = sr_test_tmpdir(), *sub = path_in(dir, "state/tls");
	char *key = path_in(sub, SR_TLS_KEY_FILE), *cert = path_in(sub, SR_TLS_CERT_FILE);
	char pin1[SR_TLS_PIN_MAX], pin2[SR_TLS_PIN_MAX], pin3[SR_TLS_PIN_MAX];
	char *key_before, *cert_before, *key_after, *cert_after;
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	if (sr_tls_ensure_cert(sub, pin1, &err) != SR_OK)
		fail_msg("ensure: %s", err.msg);
	assert_int_equal(strlen(pin1), SR_TLS_PIN_LEN);
	assert_int_equal(sr_tls_pin_parse(pin1, &err), SR_OK);
	assert_int_equal(file_mode(key), 0600);
	assert_int_equal(file_mode(cert), 0644);
	assert_int_equal(file_mode(sub), 0700);
	check_cert_contents(cert);
	key_before = sr_test_read_file(key, NULL);
	cert_before = sr_test_read_file(cert, NULL);
	assert_non_null(strstr(key_before, "-----BEGIN PRIVATE KEY-----"));
	assert_non_null(strstr(cert_before, "-----BEGIN CERTIFICATE-----"));

	/* Reload: same pin, files untouched. */
	assert_int_equal(sr_tls_ensure_cert(sub, pin2, &err), SR_OK);
	assert_string_equal(pin1, pin2);
	key_after = sr_test_read_file(key, NULL);
	cert_after = sr_test_read_file(cert, NULL);
	assert_string_equal(key_before, key_after);
	assert_string_equal(cert_before, cert_after);
	free(cert_after);

	/* Lost certificate: re-issued for the same key, so the same pin. */
	assert_int_equal(unlink(cert), 0);
	assert_int_equal(sr_tls_ensure_cert(sub, pin3, &err), SR_OK);
	assert_string_equal(pin1, pin3);
	cert_after = sr_test_read_file(cert, NULL);
	assert_string_not_equal(cert_before, cert_after);
	check_cert_contents(cert);

	/* Lost key: refused, naming both files; nothing is overwritten. */
	assert_int_equal(unlink(key), 0);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(sub, pin3, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, cert));
	assert_non_null(strstr(err.msg, key));
	assert_false(access(key, F_OK) == 0);

	/* Another directory: another key, another pin. */
	assert_int_equal(sr_rm_rf(sub, &err), SR_OK);
	assert_int_equal(sr_tls_ensure_cert(sub, pin3, &err), SR_OK);
	assert_string_not_equal(pin1, pin3);

	free(key_before);
	free(cert_before);
	free(key_after);
	free(cert_after);
	free(key);
	free(cert);
	free(sub);
	sr_test_tmpdir_free(dir);
}

static void test_cert_corrupt(void **state)
{
	char *dir = sr_test_tmpdir(), *other = path_in(dir, "other");
	char *key = path_in(dir, SR_TLS_KEY_FILE), *cert = path_in(dir, SR_TLS_CERT_FILE);
	char *other_cert = path_in(other, SR_TLS_CERT_FILE);
	char pin[SR_TLS_PIN_MAX];
	char *good_key, *good_cert, *text;
	size_t key_len, cert_len, n;
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_OK);
	assert_int_equal(sr_tls_ensure_cert(other, pin, &err), SR_OK);
	good_key = sr_test_read_file(key, &key_len);
	good_cert = sr_test_read_file(cert, &cert_len);

	/* Garbage, an empty file, and a key with a byte flipped inside. */
	sr_test_write_file(key, "not a key\n", 10);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, key));
	assert_non_null(strstr(err.msg, "private key"));
	sr_test_write_file(key, "", 0);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, key));
	text = malloc(key_len);
	assert_non_null(text);
	memcpy(text, good_key, key_len);
	n = strlen("-----BEGIN PRIVATE KEY-----\n") + 10;
	text[n] = text[n] == 'A' ? 'B' : 'A';
	sr_test_write_file(key, text, key_len);
	free(text);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, key));
	sr_test_write_file(key, good_key, key_len);

	/* A broken certificate names the certificate. */
	sr_test_write_file(cert, good_cert, cert_len / 2);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, cert));
	assert_non_null(strstr(err.msg, "certificate"));

	/* A valid certificate of another key: a mismatched pair. */
	text = sr_test_read_file(other_cert, &n);
	sr_test_write_file(cert, text, n);
	free(text);
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, cert));
	assert_non_null(strstr(err.msg, "is not for the key in"));

	/* Restored: works again. */
	sr_test_write_file(cert, good_cert, cert_len);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_OK);

	free(good_key);
	free(good_cert);
	free(key);
	free(cert);
	free(other_cert);
	free(other);
	sr_test_tmpdir_free(dir);
}

/* ---- HTTPS ---- */

struct served {
	int requests;   /* handler calls, counted atomically */
};

static int handler(void *ctx, const struct sr_http_request *req,
		   struct sr_http_response *resp)
{
	struct served *served = ctx;
	json_t *body;

	__atomic_add_fetch(&served->requests, 1, __ATOMIC_SEQ_CST);
	if (strcmp(req->path, "/hello") == 0) {
		resp->body = json_pack("{s:s,s:s?}", "hello", "world",
				       "authorization", req->authorization);
		return SR_OK;
	}
	if (strcmp(req->path, "/echo") == 0) {
		if (sr_http_json_body(req, resp, &body) != SR_OK)
			return SR_OK;
		resp->body = json_pack("{s:o}", "echo", body);
		return SR_OK;
	}
	if (strcmp(req->path, "/slow") == 0) {
		usleep(2000 * 1000);
		resp->body = json_pack("{s:b}", "slow", 1);
		return SR_OK;
	}
	if (strcmp(req->path, "/big") == 0) {
		resp->body = json_pack("{s:s}", "data",
				       "0123456789012345678901234567890123456789");
		return SR_OK;
	}
	return sr_http_error(resp, 404, "no route for %s", req->path);
}

struct fixture {
	char *dir;
	char *other_dir;
	char pin[SR_TLS_PIN_MAX];
	char other_pin[SR_TLS_PIN_MAX];   /* a real pin of another key */
	struct served served;
	struct sr_http_server *server;
	uint16_t port;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sr_http_server_opts opts = { 2, NULL, NULL, 0, 0 };
	char *cert, *key;
	struct sr_err err;

	assert_non_null(f);
	f->dir = sr_test_tmpdir();
	f->other_dir = sr_test_tmpdir();
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(f->dir, f->pin, &err), SR_OK);
	assert_int_equal(sr_tls_ensure_cert(f->other_dir, f->other_pin, &err), SR_OK);
	cert = path_in(f->dir, SR_TLS_CERT_FILE);
	key = path_in(f->dir, SR_TLS_KEY_FILE);
	opts.tls_cert_file = cert;
	opts.tls_key_file = key;
	if (sr_http_server_start_opts("127.0.0.1:0", &opts, handler, &f->served,
				      &f->server, &err) != SR_OK)
		fail_msg("https server: %s", err.msg);
	f->port = sr_http_server_port(f->server);
	assert_true(f->port > 0);
	free(cert);
	free(key);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sr_http_server_stop(f->server);
	sr_test_tmpdir_free(f->dir);
	sr_test_tmpdir_free(f->other_dir);
	free(f);
	return 0;
}

static int served(struct fixture *f)
{
	return __atomic_load_n(&f->served.requests, __ATOMIC_SEQ_CST);
}

static void url_of(const struct fixture *f, const char *scheme,
		   const char *path, char *url, size_t len)
{
	snprintf(url, len, "%s://127.0.0.1:%u%s", scheme, (unsigned)f->port, path);
}

static void test_https_right_pin(void **state)
{
	struct fixture *f = *state;
	struct sr_http_call_opts opts = { f->pin, "tok123", NULL, 5000, 0, NULL };
	json_t *body = json_pack("{s:s,s:i}", "name", "Zoë", "n", 7), *answer;
	char url[128];
	struct sr_err err;
	int status;

	url_of(f, "https", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	if (sr_http_call_opts("GET", url, NULL, &opts, &status, &answer, &err) != SR_OK)
		fail_msg("GET %s: %s", url, err.msg);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(answer, "hello")), "world");
	assert_string_equal(json_string_value(json_object_get(answer, "authorization")),
			    "Bearer tok123");
	json_decref(answer);

	url_of(f, "https", "/echo", url, sizeof(url));
	assert_int_equal(sr_http_call_opts("POST", url, body, &opts, &status, &answer,
					   &err), SR_OK);
	assert_int_equal(status, 200);
	assert_true(json_equal(json_object_get(answer, "echo"), body));
	json_decref(answer);

	/* The handler's clear 4xx comes through TLS unchanged. */
	url_of(f, "https", "/nowhere", url, sizeof(url));
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_OK);
	assert_int_equal(status, 404);
	assert_string_equal(json_string_value(json_object_get(answer, "error")),
			    "no route for /nowhere");
	json_decref(answer);
	assert_int_equal(served(f), 3);
	json_decref(body);
}

static void test_https_authorization_verbatim(void **state)
{
	struct fixture *f = *state;
	const char *auth = "Sealroom-Ed25519 key=\"abc\", sig=\"x/y+z==\"";
	struct sr_http_call_opts opts = { f->pin, "ignored", auth, 5000, 0, NULL };
	char url[128];
	struct sr_err err;
	json_t *answer;
	int status;

	url_of(f, "https", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_OK);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(answer, "authorization")),
			    auth);
	json_decref(answer);

	/* No header at all when neither is set. */
	opts.token = NULL;
	opts.authorization = NULL;
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_OK);
	assert_true(json_is_null(json_object_get(answer, "authorization")));
	json_decref(answer);

	/* A line break would add headers: refused before sending. */
	opts.authorization = "Bearer x\r\nX-Admin: yes";
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "line break"));
	assert_null(answer);
	assert_int_equal(served(f), 2);
}

static int client_get(struct sr_http_client *c, const char *path, int *status,
		      struct sr_err *err)
{
	struct sr_http_req rq;
	struct sr_http_answer ans;
	struct sr_buf out;
	int rc;

	sr_buf_init(&out, 1 << 16);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = path;
	rq.timeout_ms = 5000;
	memset(&ans, 0, sizeof(ans));
	ans.body = &out;
	sr_err_clear(err);
	rc = sr_http_client_call(c, &rq, &ans, err);
	*status = ans.status;
	sr_buf_release(&out);
	return rc;
}

/*
 * A persistent client: many calls over one TLS connection; and the pin
 * stays strict on every new connection it makes: when the server comes
 * back on the same port with another key, the next call fails with the
 * mismatch and reaches nothing.
 */
static void test_https_persistent(void **state)
{
	struct fixture *f = *state;
	struct sr_http_server_opts opts = { 2, NULL, NULL, 0, 0 };
	struct sr_http_client *c = NULL;
	char base[64], addr[64], *cert, *key;
	struct sr_err err;
	int status;

	snprintf(base, sizeof(base), "https://127.0.0.1:%u", (unsigned)f->port);
	sr_err_clear(&err);
	assert_int_equal(sr_http_client_new(base, f->pin, &c, &err), SR_OK);
	for (int i = 0; i < 40; i++) {
		if (client_get(c, "/hello", &status, &err) != SR_OK)
			fail_msg("call %d: %s", i, err.msg);
		assert_int_equal(status, 200);
	}
	assert_int_equal(served(f), 40);
	assert_int_equal(sr_http_client_connections(c), 1);

	/* The same address, another key. */
	sr_http_server_stop(f->server);
	cert = path_in(f->other_dir, SR_TLS_CERT_FILE);
	key = path_in(f->other_dir, SR_TLS_KEY_FILE);
	opts.tls_cert_file = cert;
	opts.tls_key_file = key;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)f->port);
	if (sr_http_server_start_opts(addr, &opts, handler, &f->served, &f->server,
				      &err) != SR_OK)
		fail_msg("restart on %s: %s", addr, err.msg);
	free(cert);
	free(key);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(client_get(c, "/hello", &status, &err), SR_ECRYPTO);
		assert_non_null(strstr(err.msg, "does not match the pinned key"));
	}
	assert_int_equal(served(f), 40);
	sr_http_client_free(c);

	/* A client pinned to the new key talks to it. */
	assert_int_equal(sr_http_client_new(base, f->other_pin, &c, &err), SR_OK);
	assert_int_equal(client_get(c, "/hello", &status, &err), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(served(f), 41);
	sr_http_client_free(c);
}

/* A call woken from another thread returns at once; a wakeup with no
 * call running stops the next one before it sends anything. */
static void *wake_later(void *arg)
{
	usleep(200 * 1000);
	sr_http_client_wakeup(arg);
	return NULL;
}

static void test_https_wakeup(void **state)
{
	struct fixture *f = *state;
	struct sr_http_client *c = NULL;
	struct timespec t0, t1;
	pthread_t th;
	char base[64];
	struct sr_err err;
	long ms;
	int status;

	snprintf(base, sizeof(base), "https://127.0.0.1:%u", (unsigned)f->port);
	sr_err_clear(&err);
	assert_int_equal(sr_http_client_new(base, f->pin, &c, &err), SR_OK);
	sr_http_client_wakeup(c);
	assert_int_equal(client_get(c, "/hello", &status, &err), SR_ECANCELED);
	assert_int_equal(served(f), 0);
	assert_int_equal(client_get(c, "/hello", &status, &err), SR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, wake_later, c), 0);
	assert_int_equal(client_get(c, "/slow", &status, &err), SR_ECANCELED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 150 && ms < 1200);
	/* And it works again afterwards. */
	assert_int_equal(client_get(c, "/hello", &status, &err), SR_OK);
	assert_int_equal(status, 200);
	sr_http_client_free(c);
}

static void test_https_wrong_pin(void **state)
{
	struct fixture *f = *state;
	struct sr_http_call_opts opts = { f->other_pin, "tok", NULL, 5000, 0, NULL };
	json_t *body = json_pack("{s:s}", "secret", "must not be sent"), *answer;
	char url[128], want[128];
	struct sr_err err;
	int status = -1;

	snprintf(want, sizeof(want),
		 "TLS key of https://127.0.0.1:%u does not match the pinned key",
		 (unsigned)f->port);
	url_of(f, "https", "/echo", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("POST", url, body, &opts, &status, &answer,
					   &err), SR_ECRYPTO);
	assert_string_equal(err.msg, want);
	assert_int_equal(status, 0);
	assert_null(answer);

	/* "localhost" names the same server; the message names the host used. */
	snprintf(url, sizeof(url), "https://localhost:%u/hello", (unsigned)f->port);
	snprintf(want, sizeof(want),
		 "TLS key of https://localhost:%u does not match the pinned key",
		 (unsigned)f->port);
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_ECRYPTO);
	assert_string_equal(err.msg, want);

	/* The request never reached the handler. */
	assert_int_equal(served(f), 0);
	json_decref(body);
}

static void test_https_pin_misuse(void **state)
{
	struct fixture *f = *state;
	struct sr_http_call_opts opts = { NULL, NULL, NULL, 5000, 0, NULL };
	char url[128], want[192];
	struct sr_err err;
	json_t *answer;
	int status;

	/* https:// without a pin, whatever the case of the scheme. */
	url_of(f, "https", "/hello", url, sizeof(url));
	snprintf(want, sizeof(want), "%s needs a pinned key (--pin)", url);
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EINVAL);
	assert_string_equal(err.msg, want);
	sr_err_clear(&err);
	assert_int_equal(sr_http_call("GET", url, NULL, "tok", 5000, &status, &answer,
				      &err), SR_EINVAL);
	assert_string_equal(err.msg, want);
	url_of(f, "HTTPS", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "needs a pinned key (--pin)"));

	/* A malformed pin. */
	opts.pin = "sha256//short";
	url_of(f, "https", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "pinned key 'sha256//short'"));

	/* A pin with http:// would go unchecked: refused. */
	opts.pin = f->pin;
	url_of(f, "http", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "not https://"));

	/* No scheme, another scheme. */
	opts.pin = NULL;
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", "127.0.0.1:1/x", NULL, &opts, &status,
					   &answer, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "URL '127.0.0.1:1/x'"));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", "ftp://127.0.0.1/x", NULL, &opts,
					   &status, &answer, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "expected http:// or https://"));
	assert_int_equal(served(f), 0);
}

static void test_plain_client_to_https(void **state)
{
	struct fixture *f = *state;
	char url[128];
	struct sr_err err;
	json_t *answer;
	int status;

	url_of(f, "http", "/hello", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer,
				      &err), SR_EIO);
	assert_non_null(strstr(err.msg, url));
	if (!strstr(err.msg, "it is an HTTPS server (use https:// and --pin)"))
		fail_msg("unclear: %s", err.msg);
	assert_null(answer);
	assert_int_equal(served(f), 0);
}

static void test_https_client_to_plain(void **state)
{
	struct fixture *f = *state;
	struct sr_http_call_opts opts = { f->pin, NULL, NULL, 5000, 0, NULL };
	struct served plain_served = { 0 };
	struct sr_http_server *plain = NULL;
	char url[128];
	struct sr_err err;
	json_t *answer;
	int status;

	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 1, handler, &plain_served,
					      &plain, &err), SR_OK);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/hello",
		 (unsigned)sr_http_server_port(plain));
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EIO);
	if (!strstr(err.msg, "TLS handshake failed") ||
	    !strstr(err.msg, "the server answers in plain HTTP"))
		fail_msg("unclear: %s", err.msg);
	sr_http_server_stop(plain);
}

/* A server that accepts and closes at once (as an overloaded one does)
 * is said to be that, with no guess about plain HTTP or HTTPS: over
 * https:// and over http://. */
static void test_client_reset_message(void **state)
{
	struct sr_http_call_opts opts = { NULL, NULL, NULL, 5000, 0, NULL };
	struct sr_test_closer closer;
	struct fixture *f = *state;
	struct sr_err err;
	char url[160];
	json_t *answer;
	int status;

	sr_err_clear(&err);
	sr_test_closer_start(&closer);
	opts.pin = f->pin;
	snprintf(url, sizeof(url), "https://%s/hello", closer.addr);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_EIO);
	if (!strstr(err.msg, "closed by the server (it may be overloaded)") ||
	    strstr(err.msg, "plain HTTP"))
		fail_msg("unclear: %s", err.msg);
	snprintf(url, sizeof(url), "http://%s/hello", closer.addr);
	sr_err_clear(&err);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer,
				      &err), SR_EIO);
	if (!strstr(err.msg, "closed by the server without an answer (it may be overloaded)") ||
	    strstr(err.msg, "HTTPS"))
		fail_msg("unclear: %s", err.msg);
	sr_test_closer_stop(&closer);
}

static void test_https_answer_cap(void **state)
{
	struct fixture *f = *state;
	struct sr_http_call_opts opts = { f->pin, NULL, NULL, 5000, 16, NULL };
	char url[128];
	struct sr_err err;
	json_t *answer;
	int status;

	url_of(f, "https", "/big", url, sizeof(url));
	sr_err_clear(&err);
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than the limit of 16 bytes"));
	opts.max_answer = 0;
	assert_int_equal(sr_http_call_opts("GET", url, NULL, &opts, &status, &answer,
					   &err), SR_OK);
	json_decref(answer);
}

static void test_server_tls_errors(void **state)
{
	char *dir = sr_test_tmpdir();
	char *key = path_in(dir, SR_TLS_KEY_FILE), *cert = path_in(dir, SR_TLS_CERT_FILE);
	char *missing = path_in(dir, "missing.pem");
	struct sr_http_server_opts opts = { 1, NULL, NULL, 0, 0 };
	struct sr_http_server *s = NULL;
	struct served none = { 0 };
	char pin[SR_TLS_PIN_MAX];
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_tls_ensure_cert(dir, pin, &err), SR_OK);

	opts.tls_cert_file = cert;
	assert_int_equal(sr_http_server_start_opts("127.0.0.1:0", &opts, handler, &none,
						   &s, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "got only the certificate"));
	assert_null(s);

	opts.tls_key_file = missing;
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start_opts("127.0.0.1:0", &opts, handler, &none,
						   &s, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, missing));

	sr_test_write_file(key, "garbage", 7);
	opts.tls_key_file = key;
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start_opts("127.0.0.1:0", &opts, handler, &none,
						   &s, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, key));
	assert_null(s);

	/* NULL opts: plain HTTP. */
	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start_opts("127.0.0.1:0", NULL, handler, &none,
						   &s, &err), SR_OK);
	sr_http_server_stop(s);

	free(key);
	free(cert);
	free(missing);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_parse),
		cmocka_unit_test(test_cert_generate_reload),
		cmocka_unit_test(test_cert_corrupt),
		cmocka_unit_test_setup_teardown(test_https_right_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_authorization_verbatim,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_persistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_wrong_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_pin_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_client_to_https, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_reset_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_client_to_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_answer_cap, setup, teardown),
		cmocka_unit_test(test_server_tls_errors),
	};

	sr_alloc_setup_json();
	if (sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
