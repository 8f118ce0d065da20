/*
 * http.h - the control plane's HTTP/1.1 + JSON layer (DESIGN §7): a small
 * server on libmicrohttpd and a client on libcurl.
 *
 * Server: one handler receives every request whose body was read in full
 * (bodies over SR_HTTP_BODY_MAX are refused with 413 before they are
 * buffered; the body is raw bytes, JSON or not), and answers with a
 * status and a JSON body, or a binary one (the job mailboxes: no JSON and
 * no base64 on the data path).  Helpers parse a
 * JSON body with the usual limits and build {"error": "..."} answers, so
 * every malformed request gets a clear 4xx and changes nothing.
 * Requests are served on libmicrohttpd's thread pool (epoll, a few
 * threads for any number of connections): the handler must be
 * thread-safe, and must not wait: a request that waits for something
 * (a long-poll) is parked with sr_http_defer and holds no thread.
 * Connections are bounded in number, per address and in how long they
 * take to send their headers (docs/operations.md, "Connections").
 *
 * Client: sr_http_client is a connection to one server for one caller at
 * a time, for raw requests and answers (a capped buffer, or a stream
 * handed to a callback as it arrives).  sr_http_call_opts is a one-off
 * JSON request: the status and the parsed JSON answer, with a cap on the
 * answer's size and a timeout.
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
	/* Looks up a request header (sr_http_request_header); the server's
	 * reads the connection's.  NULL: no headers (a request made up by a
	 * test or fuzzer may set its own). */
	const char *(*header)(const struct sr_http_request *req, const char *name);
	void *impl;                /* for header */
	/* Parking (sr_http_defer): may_defer is 1 when the server runs the
	 * handler and does not stop (a handler called directly, or by a
	 * server that stops, answers at once), waited_ms how long the request
	 * has been parked so far (0 at its first call). */
	int may_defer;
	int64_t waited_ms;
};

/* The value of request header name (case-insensitive), or NULL.  Valid
 * while the handler runs. */
const char *sr_http_request_header(const struct sr_http_request *req,
				   const char *name);

/*
 * What a handler answers: a JSON body, or a binary one (set with
 * sr_http_answer_raw or sr_http_answer_stream, which replace a JSON body).
 * The server releases it after sending; a handler called directly (tests,
 * fuzzers) releases it with sr_http_response_release.
 */
struct sr_http_response {
	int status;                /* HTTP status; 200 if left 0 */
	json_t *body;              /* owned by the response; NULL = empty */
	/* Binary answer (private: use the setters). */
	const char *raw_type;      /* Content-Type; NULL = no binary answer */
	char *raw;                 /* sr_malloc memory, owned */
	size_t raw_len;
	uint64_t stream_len;
	long (*stream_read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *ctx);
	void *stream_ctx;
	int defer_ms;              /* sr_http_defer: > 0 to park */
	uint64_t defer_key;
};

/*
 * Answer later (only when req->may_defer): the server parks the request,
 * its connection suspended and no thread held, until
 * sr_http_server_wake(server, key) or wait_ms (> 0) have passed, then runs
 * the handler again on the same request with req->waited_ms grown.  The
 * handler then looks again, and answers or defers for what is left of its
 * wait; a wake that came while the handler ran is not lost (it runs again
 * at once).  Drops any other answer in resp.
 */
void sr_http_defer(struct sr_http_response *resp, uint64_t key, int wait_ms);

/* Answer with data[0..len) (sr_malloc memory; the response takes it,
 * also on failure) as content type type (a static string). */
void sr_http_answer_raw(struct sr_http_response *resp, const char *type,
			char *data, size_t len);

/*
 * Answer with len bytes produced on demand: read(ctx, pos, buf, max)
 * fills buf with up to max bytes from offset pos and returns how many
 * (> 0), or -1 to cut the answer off (the client sees a broken
 * transfer).  free_ctx(ctx) runs once when the answer is done or dropped
 * (free_ctx may be NULL).  Lets a large answer go out without being built
 * in memory first.
 */
void sr_http_answer_stream(struct sr_http_response *resp, const char *type,
			   uint64_t len,
			   long (*read)(void *ctx, uint64_t pos, char *buf, size_t max),
			   void (*free_ctx)(void *ctx), void *ctx);

/* Free whatever the response holds and zero it (status included). */
void sr_http_response_release(struct sr_http_response *resp);

/* Fill resp with {"error": MESSAGE} and status (dropping any other
 * answer); returns SR_OK. */
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
	unsigned threads;           /* the pool (each serves many connections); 0 = 2 */
	const char *tls_cert_file;  /* PEM certificate; with tls_key_file: HTTPS */
	const char *tls_key_file;   /* PEM private key */
	unsigned max_connections;   /* at a time; 0 = SR_HTTP_CONNECTIONS_DEFAULT */
	unsigned max_per_address;   /* at a time from one address; 0 =
				     * SR_HTTP_PER_ADDRESS_DEFAULT (at most
				     * max_connections) */
};

/*
 * Listen on addr ("127.0.0.1:8080"; port 0 picks a free port) and serve
 * with handler until sr_http_server_stop.  opts may be NULL (plain HTTP,
 * two threads).  With both TLS files set the server speaks HTTPS only
 * (TLS 1.2 or 1.3); the files are read and checked to be a pair before
 * listening (errors name the file), and a copy of the key is kept, wiped at
 * stop.  The open-file limit is raised to its hard limit, and the
 * connection limit lowered (with a warning) if that is not enough for it;
 * more than SR_HTTP_CONNECTIONS_MAX is SR_EINVAL.  One TLS file without the other is SR_EINVAL; a libmicrohttpd
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
/* Stop, wait for requests in progress, free; parked requests are run a
 * last time (and closed if they defer again).  NULL is fine. */
void sr_http_server_stop(struct sr_http_server *server);
/* Run again every request parked with key (sr_http_defer).  Thread-safe;
 * NULL does nothing. */
void sr_http_server_wake(struct sr_http_server *server, uint64_t key);

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

/* ---- connections ---------------------------------------------------------- */

struct sr_http_client;

/*
 * A client for base_url (http:// or https://; request paths are appended
 * to it) with the pin rules of sr_http_call_opts (pin required for
 * https://, refused for http://).  base_url and pin are copied.  The
 * connection is kept between calls (HTTP keep-alive): a TLS handshake at
 * the first call and after the server closed it, not at every call; the
 * pin is checked at every handshake, and no CA bundle is ever loaded.
 * One caller at a time: not thread-safe (but see
 * sr_http_client_wakeup).  SR_EINVAL for a bad URL or pin.
 */
int sr_http_client_new(const char *base_url, const char *pin,
		       struct sr_http_client **out, struct sr_err *err) SR_WUR;
/* Close and free.  NULL does nothing. */
void sr_http_client_free(struct sr_http_client *c);

struct sr_http_req {
	const char *method;
	const char *path;            /* appended to the base URL; "" for none */
	const char *content_type;    /* of body; NULL: none sent */
	const void *body;            /* NULL: no body; sent as is, not copied */
	size_t body_len;
	const char *authorization;   /* sent verbatim as Authorization; may be NULL */
	const char *const *headers;  /* more "Name: value" lines, NULL-terminated; may be NULL */
	long timeout_ms;             /* whole call; 0 = no limit */
};

struct sr_http_answer {
	int status;                  /* HTTP status (out) */
	/* Where the answer goes: a 2xx answer to sink when it is set (as it
	 * arrives; sink returns len to go on, anything else to stop the
	 * transfer, which then fails with SR_EPROTO or the status the sink
	 * put in sink_err), every other answer to body, which is required and
	 * whose cap (buf.h) bounds it (SR_ELIMIT over it). */
	struct sr_buf *body;
	size_t (*sink)(void *ctx, const char *data, size_t len);
	void *sink_ctx;
	struct sr_err *sink_err;     /* may be NULL */
};

/*
 * Send rq and take the answer into ans.  An HTTP error status is not a
 * failure (check ans->status).  Failures are those of sr_http_call_opts:
 * SR_EINVAL (a header with a line break), SR_ECRYPTO (the server's key
 * does not match the pin; nothing was sent), SR_EIO, SR_ETIMEOUT,
 * SR_ELIMIT, or the sink's.
 */
int sr_http_client_call(struct sr_http_client *c, const struct sr_http_req *rq,
			struct sr_http_answer *ans, struct sr_err *err) SR_WUR;

/* How many connections c opened so far (1 for any number of calls to a
 * server that kept the connection open). */
uint64_t sr_http_client_connections(const struct sr_http_client *c);

/*
 * Make the call running on c (in another thread) return SR_ECANCELED at
 * once, or, if none is running, the next one before it sends anything.
 * Thread-safe.  (The follower's long-poll, when it must look again.)
 */
void sr_http_client_wakeup(struct sr_http_client *c);

/* Call once at program start (libcurl's global init). */
int sr_http_global_init(void) SR_WUR;

#endif
