/*
 * http.c - what the HTTP/1.1 + JSON server and client share (answers,
 * JSON bodies, paths), and the client (libcurl over GnuTLS).  The server
 * (libmicrohttpd) is in http_server.c.
 */
#include "net/http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <strings.h>
#include <unistd.h>

#include "base/text.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "base/banned.h"

int sr_http_status_for(int code)
{
	switch (code) {
	case SR_OK: return 200;
	case SR_EINVAL:
	case SR_EPROTO:
	case SR_EUSAGE: return 400;
	case SR_EPERM:
	case SR_EPOLICY:
	case SR_ECRYPTO: return 403;
	case SR_ENOTFOUND: return 404;
	case SR_EEXIST:
	case SR_EBUSY: return 409;
	case SR_ELIMIT: return 413;
	case SR_ETIMEOUT: return 504;
	default: return 500;
	}
}

int sr_http_error(struct sr_http_response *resp, int status,
		  const char *fmt, ...)
{
	char msg[SR_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote request bytes (paths, headers): make them valid
	 * UTF-8 without control characters, or the answer could not be
	 * encoded (or would rewrite a terminal). */
	sr_text_clean(msg, sizeof(msg) - 1);
	sr_http_response_release(resp);
	resp->status = status;
	resp->body = json_pack("{s:s}", "error", msg);
	return SR_OK;
}

void sr_http_response_release(struct sr_http_response *resp)
{
	json_decref(resp->body);
	sr_free(resp->raw);
	if (resp->stream_free)
		resp->stream_free(resp->stream_ctx);
	memset(resp, 0, sizeof(*resp));
}

/* Drop any answer but keep the status. */
static void answer_clear(struct sr_http_response *resp)
{
	int status = resp->status;

	sr_http_response_release(resp);
	resp->status = status;
}

void sr_http_answer_raw(struct sr_http_response *resp, const char *type,
			char *data, size_t len)
{
	answer_clear(resp);
	resp->raw_type = type;
	resp->raw = data;
	resp->raw_len = len;
}

void sr_http_answer_stream(struct sr_http_response *resp, const char *type,
			   uint64_t len,
			   long (*read)(void *ctx, uint64_t pos, char *buf, size_t max),
			   void (*free_fn)(void *ctx), void *ctx)
{
	answer_clear(resp);
	resp->raw_type = type;
	resp->stream_len = len;
	resp->stream_read = read;
	resp->stream_free = free_fn;
	resp->stream_ctx = ctx;
}

int sr_http_path_split(const char *path, struct sr_http_path *p)
{
	size_t len = strlen(path);
	char *s;

	p->n = 0;
	if (len == 0 || path[0] != '/' || len >= sizeof(p->buf))
		return 0;
	memcpy(p->buf, path + 1, len);
	s = p->buf;
	while (*s) {
		char *slash = strchr(s, '/');
		if (p->n == SR_HTTP_SEGMENTS_MAX || slash == s)
			return 0;
		p->seg[p->n++] = s;
		if (!slash)
			break;
		*slash = '\0';
		s = slash + 1;
		if (!*s)
			return 0;   /* trailing slash */
	}
	return p->n > 0 && strcmp(p->seg[0], "v1") == 0;
}

int sr_http_json_body(const struct sr_http_request *req,
		      struct sr_http_response *resp, json_t **out)
{
	struct sr_err err;
	int rc;

	*out = NULL;
	sr_err_clear(&err);
	if (req->body_len == 0) {
		sr_http_error(resp, 400, "request body: expected a JSON object");
		return SR_EINVAL;
	}
	rc = sr_json_parse(req->body, req->body_len, "request body", out, &err);
	if (rc) {
		sr_http_error(resp, sr_http_status_for(rc), "%s", err.msg);
		return rc;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		sr_http_error(resp, 400, "request body: expected a JSON object");
		return SR_EINVAL;
	}
	return SR_OK;
}

const char *sr_http_request_header(const struct sr_http_request *req,
				   const char *name)
{
	return req->header ? req->header(req, name) : NULL;
}

int sr_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
		SR_OK : SR_EINTERNAL;
}

/*
 * A connection kept between calls: one easy handle in a multi handle of
 * its own, so that its connection (and TLS session) stays in the multi's
 * cache from one call to the next (HTTP keep-alive), and a call can be
 * woken from another thread (curl_multi_wakeup).
 */
struct sr_http_client {
	char *base;            /* URL prefix; request paths are appended */
	char *pin;             /* or NULL (http://) */
	int https;
	CURLU *cu;             /* base, parsed: host and port for messages */
	CURLM *multi;
	CURL *easy;
	struct sr_buf url;
	atomic_int woken;      /* sr_http_client_wakeup since the last call */
	uint64_t connections;  /* opened so far */
};

/* Parse url (which must carry its scheme) into a curl URL handle. */
static int parse_url(const char *url, CURLU **out, int *https,
		     struct sr_err *err)
{
	CURLU *cu = curl_url();
	char *scheme = NULL;
	CURLUcode uc;
	int rc = SR_OK;

	*out = NULL;
	*https = 0;
	if (!cu)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	uc = curl_url_set(cu, CURLUPART_URL, url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OUT_OF_MEMORY) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (uc != CURLUE_OK) {
		rc = sr_fail(err, SR_EINVAL, "URL '%s': %s", url,
			     curl_url_strerror(uc));
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0) {
		*https = 1;
	} else if (strcasecmp(scheme, "http") != 0) {
		rc = sr_fail(err, SR_EINVAL,
			     "URL '%s': expected http:// or https://", url);
		goto out;
	}
	*out = cu;
	cu = NULL;
out:
	curl_free(scheme);
	curl_url_cleanup(cu);
	return rc;
}

/* A header value with a line break would smuggle in more headers. */
static int check_header_value(const char *what, const char *value,
			      struct sr_err *err)
{
	if (strpbrk(value, "\r\n"))
		return sr_fail(err, SR_EINVAL, "%s: must not contain a line break",
			       what);
	return SR_OK;
}

static int pin_mismatch(CURLU *cu, struct sr_err *err)
{
	char *host = NULL, *port = NULL;
	int rc;

	if (curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		rc = sr_fail(err, SR_ECRYPTO,
			     "TLS key of the server does not match the pinned key");
	else
		rc = sr_fail(err, SR_ECRYPTO,
			     "TLS key of https://%s:%s does not match the pinned key",
			     host, port);
	curl_free(host);
	curl_free(port);
	return rc;
}

/*
 * A TLS 1.2 ClientHello (ECDHE with AES-128-GCM, P-256 or X25519, ECDSA,
 * RSA or Ed25519 signatures): any TLS server answers it with a handshake
 * record or an alert, both starting 0x15/0x16 0x03.
 */
static const unsigned char client_hello[] = {
	0x16, 0x03, 0x01, 0x00, 79,             /* record: handshake, 79 bytes */
	0x01, 0x00, 0x00, 75,                   /* ClientHello, 75 bytes */
	0x03, 0x03,                             /* TLS 1.2 */
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,   /* random */
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
	0x00,                                   /* no session id */
	0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f,     /* two suites */
	0x01, 0x00,                             /* no compression */
	0x00, 30,                               /* extensions, 30 bytes */
	0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x1d,   /* groups */
	0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x08, 0x04,   /* signatures */
	0x04, 0x01, 0x08, 0x07,
	0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,     /* point formats */
};
_Static_assert(sizeof(client_hello) == 5 + 79, "the ClientHello's lengths");

/*
 * What the server at cu speaks, told by its bytes: a second connection
 * sends a plain HTTP request (tls 0) or a TLS ClientHello (tls 1) and
 * reads the first bytes of the reply (within a second): 'H' for an HTTP
 * reply, 'T' for a TLS record, 0 when nothing came (closed, reset,
 * refused or silent).  Only run after a failure, to say what happened
 * instead of guessing.
 */
static int server_speaks(CURLU *cu, int tls)
{
	static const char http_probe[] = "GET / HTTP/1.0\r\n\r\n";
	char *host = NULL, *port = NULL, addr[300];
	unsigned char first[5];
	struct sr_err ignored;
	int fd = -1, kind = 0;

	if (curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	snprintf(addr, sizeof(addr), "%s:%s", host, port);
	if (sr_tcp_connect(addr, 1000, &fd, &ignored) != SR_OK ||
	    sr_tcp_set_timeout(fd, 1000, &ignored) != SR_OK ||
	    sr_tcp_write_all(fd, tls ? (const void *)client_hello : http_probe,
			     tls ? sizeof(client_hello) : sizeof(http_probe) - 1,
			     &ignored) != SR_OK ||
	    sr_tcp_read_all(fd, first, sizeof(first), NULL, &ignored) != SR_OK)
		goto out;
	if (memcmp(first, "HTTP/", 5) == 0)
		kind = 'H';
	else if ((first[0] == 0x15 || first[0] == 0x16) && first[1] == 0x03)
		kind = 'T';
out:
	if (fd >= 0)
		close(fd);
	curl_free(host);
	curl_free(port);
	return kind;
}

struct sink {
	CURL *easy;
	struct sr_http_answer *ans;
	int too_large;
	int sink_stopped;
	int status_known;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	struct sr_http_answer *ans = s->ans;
	size_t n = size * nmemb;

	if (!s->status_known) {
		long code = 0;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		ans->status = (int)code;
		s->status_known = 1;
	}
	if (ans->sink && ans->status >= 200 && ans->status < 300) {
		if (ans->sink(ans->sink_ctx, ptr, n) != n) {
			s->sink_stopped = 1;
			return 0;
		}
		return n;
	}
	if (sr_buf_add(ans->body, ptr, n) != SR_OK) {
		s->too_large = 1;
		return 0;   /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Turn a failed transfer into a status and a message that says why. */
static int transfer_failed(CURLcode cc, const char *method, const char *url,
			   const struct sr_http_client *c, const struct sink *sink,
			   const char *errbuf, long timeout_ms,
			   struct sr_err *err)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	if (sink->sink_stopped) {
		struct sr_err *se = sink->ans->sink_err;
		if (se && se->code)
			return sr_fail(err, se->code, "%s %s: %s", method, url, se->msg);
		return sr_fail(err, SR_EPROTO, "%s %s: the answer was refused", method, url);
	}
	if (sink->too_large)
		return sr_fail(err, SR_ELIMIT,
			       "%s %s: answer is larger than the limit of %zu bytes",
			       method, url, sink->ans->body->max);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return sr_fail(err, SR_ETIMEOUT, "%s %s: timed out after %ld ms",
			       method, url, timeout_ms);
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return pin_mismatch(c->cu, err);
	case CURLE_COULDNT_CONNECT:
		return sr_fail(err, SR_EIO,
			       "%s %s: connection refused (is the server running? "
			       "it may be overloaded): %s", method, url, detail);
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:   /* TLS alert read as HTTP/0.9 */
		if (!c->https && server_speaks(c->cu, 1) == 'T')
			return sr_fail(err, SR_EIO,
				       "%s %s: the server answers in TLS: it is an "
				       "HTTPS server (use https:// and --pin)", method, url);
		return sr_fail(err, SR_EIO, "%s %s: not an HTTP answer: %s",
			       method, url, detail);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		if (!c->https && server_speaks(c->cu, 1) == 'T')
			return sr_fail(err, SR_EIO,
				       "%s %s: the server answers in TLS: it is an "
				       "HTTPS server (use https:// and --pin)", method, url);
		return sr_fail(err, SR_EIO,
			       "%s %s: connection reset or closed by the server "
			       "without an answer (it may be overloaded): %s",
			       method, url, detail);
	case CURLE_SSL_CONNECT_ERROR:
		if (server_speaks(c->cu, 0) == 'H')
			return sr_fail(err, SR_EIO,
				       "%s %s: TLS handshake failed: the server answers "
				       "in plain HTTP (use http://, without --pin)",
				       method, url);
		return sr_fail(err, SR_EIO,
			       "%s %s: TLS handshake failed: connection reset or "
			       "closed by the server (it may be overloaded): %s",
			       method, url, detail);
	default:
		break;
	}
	return sr_fail(err, SR_EIO, "%s %s: %s", method, url, detail);
}

/* The easy handle of c, with what never changes between calls. */
static CURL *easy_for(struct sr_http_client *c)
{
	CURL *curl = curl_easy_init();

	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/*
	 * No CA bundle and no CA directory: the pin is the only trust
	 * anchor (docs/internals/tls.md), and with GnuTLS libcurl would
	 * otherwise parse the whole system bundle at every new connection,
	 * about 300 ms of CPU, for certificates it never checks.
	 */
	curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	if (c->https) {
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(curl, CURLOPT_SSLVERSION,
				 (long)CURL_SSLVERSION_TLSv1_2);
		/*
		 * The certificate is self-signed: no CA could vouch for it, so
		 * chain and host-name checks are off and the pin is the whole
		 * trust anchor.  libcurl checks the pin with VERIFYPEER off
		 * and aborts before sending anything (tests/unit/test_tls.c).
		 */
		curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, c->pin);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	}
	return curl;
}

int sr_http_client_new(const char *base_url, const char *pin,
		       struct sr_http_client **out, struct sr_err *err)
{
	struct sr_http_client *c;
	int rc;

	*out = NULL;
	c = sr_calloc(1, sizeof(*c));
	if (!c)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_buf_init(&c->url, 0);
	rc = parse_url(base_url, &c->cu, &c->https, err);
	if (rc)
		goto out;
	if (c->https && !pin) {
		rc = sr_fail(err, SR_EINVAL, "%s needs a pinned key (--pin)", base_url);
		goto out;
	}
	if (!c->https && pin) {
		/* The pin would not be checked: refuse rather than downgrade. */
		rc = sr_fail(err, SR_EINVAL,
			     "%s: a pinned key was given but the URL is not https://",
			     base_url);
		goto out;
	}
	if (pin) {
		rc = sr_tls_pin_parse(pin, err);
		if (rc)
			goto out;
	}
	if (!(c->base = sr_strdup(base_url)) || (pin && !(c->pin = sr_strdup(pin))) ||
	    !(c->multi = curl_multi_init()) || !(c->easy = easy_for(c))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	sr_http_client_free(c);
	return rc;
}

void sr_http_client_free(struct sr_http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	curl_multi_cleanup(c->multi);
	curl_url_cleanup(c->cu);
	sr_buf_release(&c->url);
	sr_free(c->base);
	sr_free(c->pin);
	sr_free(c);
}

/* Append "Name: value" to *list; 0 on allocation failure (list freed). */
static int header_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *h = curl_slist_append(*list, line);

	if (!h) {
		curl_slist_free_all(*list);
		*list = NULL;
		return 0;
	}
	*list = h;
	return 1;
}

/*
 * Run the transfer of c->easy in c->multi: the connection goes back to
 * the multi's cache when done, for the next call.  *canceled when
 * sr_http_client_wakeup stopped it (the connection is then dropped).
 */
static CURLcode perform(struct sr_http_client *c, int *canceled)
{
	CURLcode cc = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	*canceled = 0;
	if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (!running)
			break;
		if (curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (atomic_exchange(&c->woken, 0)) {
			*canceled = 1;
			break;
		}
	}
	while (!*canceled && (msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy)
			cc = msg->data.result;
	curl_multi_remove_handle(c->multi, c->easy);
	return cc;
}

int sr_http_client_call(struct sr_http_client *c, const struct sr_http_req *rq,
			struct sr_http_answer *ans, struct sr_err *err)
{
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE];
	struct sr_buf line;
	struct sink sink;
	CURL *curl = NULL;
	CURLcode cc;
	long code = 0;
	int rc = SR_OK, canceled = 0;

	ans->status = 0;
	if (atomic_exchange(&c->woken, 0))
		return sr_fail(err, SR_ECANCELED, "%s %s%s: canceled", rq->method, c->base,
			       rq->path ? rq->path : "");
	errbuf[0] = '\0';
	sr_buf_init(&line, 0);
	sr_buf_reset(&c->url);
	if (sr_buf_addf(&c->url, "%s%s", c->base, rq->path ? rq->path : "") != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (rq->authorization)
		rc = check_header_value("authorization", rq->authorization, err);
	for (size_t i = 0; rc == SR_OK && rq->headers && rq->headers[i]; i++)
		rc = check_header_value("header", rq->headers[i], err);
	if (rc == SR_OK && rq->content_type)
		rc = check_header_value("content type", rq->content_type, err);
	if (rc)
		goto out;
	/* No "Expect: 100-continue" round trip before a body. */
	if (!header_add(&headers, "Expect:"))
		goto nomem;
	if (rq->content_type) {
		if (sr_buf_addf(&line, "Content-Type: %s", rq->content_type) != SR_OK ||
		    !header_add(&headers, line.data))
			goto nomem;
	}
	if (rq->authorization) {
		sr_buf_reset(&line);
		if (sr_buf_addf(&line, "Authorization: %s", rq->authorization) != SR_OK ||
		    !header_add(&headers, line.data))
			goto nomem;
	}
	for (size_t i = 0; rq->headers && rq->headers[i]; i++)
		if (!header_add(&headers, rq->headers[i]))
			goto nomem;
	curl = c->easy;
	memset(&sink, 0, sizeof(sink));
	sink.easy = curl;
	sink.ans = ans;
	curl_easy_setopt(curl, CURLOPT_URL, c->url.data);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (rq->body) {
		/* Sent from the caller's memory: POSTFIELDS does not copy. */
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rq->body_len);
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
	cc = perform(c, &canceled);
	{
		long opened = 0;
		if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK &&
		    opened > 0)
			c->connections += (uint64_t)opened;
	}
	/* Nothing of this call may outlive it in the handle. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
	if (canceled) {
		rc = sr_fail(err, SR_ECANCELED, "%s %s: canceled", rq->method, c->url.data);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = transfer_failed(cc, rq->method, c->url.data, c, &sink, errbuf,
				     rq->timeout_ms, err);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	ans->status = (int)code;
	goto out;
nomem:
	rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	curl_slist_free_all(headers);
	sr_buf_wipe(&line);   /* it held the Authorization header */
	return rc;
}

uint64_t sr_http_client_connections(const struct sr_http_client *c)
{
	return c->connections;
}

void sr_http_client_wakeup(struct sr_http_client *c)
{
	atomic_store(&c->woken, 1);
	curl_multi_wakeup(c->multi);
}

int sr_http_call_opts(const char *method, const char *url, const json_t *body,
		      const struct sr_http_call_opts *opts, int *status,
		      json_t **answer, struct sr_err *err)
{
	static const struct sr_http_call_opts defaults;
	struct sr_http_client *c = NULL;
	struct sr_http_answer ans;
	struct sr_http_req rq;
	struct sr_buf req, auth, out;
	int rc;

	*status = 0;
	*answer = NULL;
	if (!opts)
		opts = &defaults;
	sr_buf_init(&req, 0);
	sr_buf_init(&auth, 0);
	sr_buf_init(&out, opts->max_answer ? opts->max_answer : SR_HTTP_BODY_MAX);
	rc = sr_http_client_new(url, opts->pin, &c, err);
	if (rc)
		goto out;
	if (!opts->authorization && opts->token) {
		rc = check_header_value("token", opts->token, err);
		if (rc == SR_OK && sr_buf_addf(&auth, "Bearer %s", opts->token))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		if (rc)
			goto out;
	}
	if (body && sr_json_dump(body, 0, &req) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = "";
	rq.content_type = "application/json";
	rq.body = body ? req.data : NULL;
	rq.body_len = req.len;
	rq.authorization = opts->authorization ? opts->authorization :
		auth.len ? auth.data : NULL;
	rq.headers = opts->headers;
	rq.timeout_ms = opts->timeout_ms;
	memset(&ans, 0, sizeof(ans));
	ans.body = &out;
	rc = sr_http_client_call(c, &rq, &ans, err);
	if (rc)
		goto out;
	*status = ans.status;
	if (out.len) {
		rc = sr_json_parse(out.data, out.len, url, answer, err);
		if (rc == SR_EINVAL || rc == SR_ELIMIT)
			rc = sr_failx(err, SR_EPROTO, "%s %s: the answer is not JSON",
				      method, url);
	}
out:
	sr_http_client_free(c);
	sr_buf_wipe(&auth);
	sr_buf_release(&req);
	sr_buf_release(&out);
	return rc;
}

int sr_http_call(const char *method, const char *url, const json_t *body,
		 const char *token, long timeout_ms, int *status,
		 json_t **answer, struct sr_err *err)
{
	struct sr_http_call_opts opts = { NULL, token, NULL, timeout_ms, 0, NULL };

	return sr_http_call_opts(method, url, body, &opts, status, answer, err);
}
