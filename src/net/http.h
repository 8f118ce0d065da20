/*
 * http.h - the control plane's HTTP/1.1 + JSON layer (DESIGN §7): a small
 * server on libmicrohttpd and a client on libcurl.
 *
 * Server: one handler receives every request whose body was read in full
 * (bodies over SR_HTTP_BODY_MAX are refused with 413 before they are
 * buffered), and answers with a status and a JSON body.  Helpers parse a
 * JSON body with the usual limits and build {"error": "..."} answers, so
 * every malformed request gets a clear 4xx and changes nothing.
 * Requests are served on libmicrohttpd's thread pool: the handler must be
 * thread-safe.
 *
 * Client: one call sends a JSON request and returns the status and the
 * parsed JSON answer, with a cap on the answer's size and a timeout.
 *
 * TLS (docs/internals/tls.md): the server serves HTTPS when given a
 * certificate and key (net/tls.h makes them); the client talks to an
 * https:// URL only with a pin, the SHA-256 hash of the server's public
 * key, which is the whole trust anchor: there is no CA, so certificate
 * chains and host names are not checked, the pin is.  Request signatures
 * come with the coordinator; this layer carries an Authorization header
 * through to the handler.
 */
#ifndef SR_HTTP_H
#define SR_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct sr_http_request {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* URL path, without the query */
	const char *body;          /* NUL-terminated; "" when none */
	size_t body_len;
	const char *authorization; /* Authorization header, or NULL */
	const char *client;        /* peer address as text */
	void *conn;                /* the server's connection (for
				    * sr_http_request_header); NULL in
				    * requests made up by tests and fuzzers */
};

/* The value of request header name (case-insensitive), or NULL.  Valid
 * while the handler runs. */
const char *sr_http_request_header(const struct sr_http_request *req,
				   const char *name);

struct sr_http_response {
	int status;                /* HTTP status; 200 if left 0 */
	json_t *body;              /* owned by the response; NULL = empty */
};

/* Fill resp with {"error": MESSAGE} and status; returns SR_OK. */
int sr_http_error(struct sr_http_response *resp, int status,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Parse the request body as a JSON object.  On failure fills resp with a
 * 400 naming the problem (line and column) and returns SR_EINVAL; the
 * handler then just returns.  *out is a new reference on success.
 */
int sr_http_json_body(const struct sr_http_request *req,
		      struct sr_http_response *resp, json_t **out) SR_WUR;

/* A request path split into segments: "/v1/projects/P" gives
 * {"v1", "projects", "P"}. */
#define SR_HTTP_SEGMENTS_MAX 8
struct sr_http_path {
	char buf[512];
	const char *seg[SR_HTTP_SEGMENTS_MAX];
	size_t n;
};

/* Split path; 1 if it is "/v1/..." with at most SR_HTTP_SEGMENTS_MAX
 * non-empty segments and no trailing slash, else 0 (answer 404). */
int sr_http_path_split(const char *path, struct sr_http_path *p);

/* Map a status code to an HTTP status (EINVAL 400, EPERM 403, ENOTFOUND
 * 404, EEXIST 409, ELIMIT 413, ENOMEM/EINTERNAL 500, ...). */
int sr_http_status_for(int code);

/* The handler: fill resp.  Its return value is ignored except that a
 * negative status with resp->status unset gives a 500. */
typedef int (*sr_http_handler)(void *ctx, const struct sr_http_request *req,
			       struct sr_http_response *resp);

struct sr_http_server;

struct sr_http_server_opts {
	unsigned threads;           /* connections served at once = 8 x threads (a thread each); 0 = 16 */
	const char *tls_cert_file;  /* PEM certificate; with tls_key_file: HTTPS */
	const char *tls_key_file;   /* PEM private key */
};

/*
 * Listen on addr ("127.0.0.1:8080"; port 0 picks a free port) and serve
 * with handler until sr_http_server_stop.  opts may be NULL (plain HTTP,
 * two threads).  With both TLS files set the server speaks HTTPS only
 * (TLS 1.2 or 1.3); the files are read and checked to be a pair before
 * listening (errors name the file), and a copy of the key is kept, wiped at
 * stop.  One TLS file without the other is SR_EINVAL; a libmicrohttpd
 * built without TLS is SR_EINTERNAL.  The strings in opts are only used
 * during the call.
 */
int sr_http_server_start_opts(const char *addr,
			      const struct sr_http_server_opts *opts,
			      sr_http_handler handler, void *ctx,
			      struct sr_http_server **out,
			      struct sr_err *err) SR_WUR;

/* Plain HTTP: sr_http_server_start_opts with only threads set. */
int sr_http_server_start(const char *addr, unsigned threads,
			 sr_http_handler handler, void *ctx,
			 struct sr_http_server **out, struct sr_err *err) SR_WUR;
/* The port actually listened on. */
uint16_t sr_http_server_port(const struct sr_http_server *server);
/* Stop, wait for requests in progress, free.  NULL is fine. */
void sr_http_server_stop(struct sr_http_server *server);

struct sr_http_call_opts {
	const char *pin;           /* "sha256//..." (net/tls.h); required for
				    * https://, refused for http:// */
	const char *token;         /* sent as "Authorization: Bearer TOKEN" */
	const char *authorization; /* if set, sent verbatim as the
				    * Authorization header instead */
	long timeout_ms;           /* whole call; 0 = no limit */
	size_t max_answer;         /* bytes; 0 = SR_HTTP_BODY_MAX */
	const char *const *headers; /* more headers, "Name: value", NULL-
				    * terminated; NULL = none */
};

/*
 * Send method url with body (may be NULL: no body) as JSON; opts may be
 * NULL (no pin, no Authorization, no timeout).  *status gets the HTTP
 * status and *answer the parsed JSON answer (NULL for an empty body; a new
 * reference otherwise).  The URL must be http:// or https://.
 *
 * Failures: a bad URL, an https:// URL without a pin ("URL needs a pinned
 * key (--pin)"), a pin with an http:// URL, a malformed pin, or a header
 * value with a line break: SR_EINVAL, before anything is sent.  A server
 * whose key does not match the pin: SR_ECRYPTO ("TLS key of
 * https://HOST:PORT does not match the pinned key"), nothing having been
 * sent.  Other connection or TLS failures SR_EIO, a timeout SR_ETIMEOUT,
 * an answer over the cap SR_ELIMIT, an answer that is not JSON SR_EPROTO.
 * An HTTP error status is not a failure (check *status).
 */
int sr_http_call_opts(const char *method, const char *url, const json_t *body,
		      const struct sr_http_call_opts *opts, int *status,
		      json_t **answer, struct sr_err *err) SR_WUR;

/* sr_http_call_opts with only token and timeout_ms set (so http:// only). */
int sr_http_call(const char *method, const char *url, const json_t *body,
		 const char *token, long timeout_ms, int *status,
		 json_t **answer, struct sr_err *err) SR_WUR;

/* Call once at program start (libcurl's global init). */
int sr_http_global_init(void) SR_WUR;

#endif
