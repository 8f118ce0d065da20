/*
 * http.c - HTTP/1.1 + JSON server (libmicrohttpd) and client (libcurl),
 * both over GnuTLS for HTTPS.
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <strings.h>

#include "base/text.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/tls.h"
#include "base/banned.h"

/* TLS 1.2 and 1.3 only, GnuTLS's default suites otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct sr_http_server {
	struct MHD_Daemon *daemon;
	sr_http_handler handler;
	void *ctx;
	uint16_t port;
	/* PEM texts handed to libmicrohttpd, kept until the daemon stops. */
	struct sr_buf tls_cert;
	struct sr_buf tls_key;   /* secret: wiped at stop */
};

/* Per-request state, kept by libmicrohttpd between callbacks. */
struct request_state {
	struct sr_buf body;
	int too_large;
};

/* How many bytes an upload reads from the socket per callback at most
 * (libmicrohttpd's buffer for a connection), and the block of a
 * streamed answer. */
#define CONNECTION_MEMORY (256 * 1024)
#define STREAM_BLOCK (64 * 1024)

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

/* libmicrohttpd's reader over a handler's stream. */
struct stream {
	long (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*free)(void *ctx);
	void *ctx;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	long n = st->read(st->ctx, pos, buf, max);

	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	if (st->free)
		st->free(st->ctx);
	sr_free(st);
}

/* Queue a binary answer; takes over what resp holds for it. */
static enum MHD_Result send_binary(struct MHD_Connection *conn,
				   struct sr_http_response *resp)
{
	struct MHD_Response *response = NULL;
	enum MHD_Result ret;

	if (resp->stream_read) {
		struct stream *st = sr_malloc(sizeof(*st));
		if (st) {
			st->read = resp->stream_read;
			st->free = resp->stream_free;
			st->ctx = resp->stream_ctx;
			response = MHD_create_response_from_callback(
				resp->stream_len, STREAM_BLOCK, stream_read, st, stream_free);
			/* On failure libmicrohttpd did not take it. */
			if (!response)
				sr_free(st);
			else
				resp->stream_free = NULL;
		}
	} else {
		/* sr_malloc memory is malloc memory: libmicrohttpd frees it. */
		response = MHD_create_response_from_buffer(resp->raw_len,
							   resp->raw_len ? resp->raw : (void *)"",
							   resp->raw_len ? MHD_RESPMEM_MUST_FREE :
							   MHD_RESPMEM_PERSISTENT);
		if (response && resp->raw_len)
			resp->raw = NULL;
	}
	if (!response)
		return MHD_NO;
	MHD_add_response_header(response, "Content-Type", resp->raw_type);
	ret = MHD_queue_response(conn, (unsigned)(resp->status ? resp->status : 200),
				 response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status,
				 json_t *body)
{
	struct MHD_Response *response;
	struct sr_buf out;
	enum MHD_Result ret;
	size_t len = 0;
	char *data;

	sr_buf_init(&out, 0);
	if (body && (sr_json_dump(body, 0, &out) != SR_OK ||
		     sr_buf_addch(&out, '\n') != SR_OK)) {
		sr_buf_release(&out);
		status = 500;
	}
	data = sr_buf_detach(&out, &len);
	if (!data)
		return MHD_NO;
	/* sr_malloc memory is malloc memory: libmicrohttpd frees it. */
	response = MHD_create_response_from_buffer(len, data,
						   MHD_RESPMEM_MUST_FREE);
	if (!response) {
		sr_free(data);
		return MHD_NO;
	}
	if (len)
		MHD_add_response_header(response, "Content-Type",
					"application/json");
	ret = MHD_queue_response(conn, (unsigned)status, response);
	MHD_destroy_response(response);
	return ret;
}

static void client_text(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(buf, len, "?");
	if (!info || !info->client_addr)
		return;
	if (info->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)info->client_addr)->sin_addr,
			  buf, (socklen_t)len);
	else if (info->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)info->client_addr)->sin6_addr,
			  buf, (socklen_t)len);
}

static const char *connection_header(const struct sr_http_request *req,
				     const char *name)
{
	return MHD_lookup_connection_value(req->impl, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sr_http_server *server = cls;
	struct request_state *st = *con_cls;
	struct sr_http_request req;
	struct sr_http_response resp;
	char client[64];
	enum MHD_Result ret;
	int rc;

	(void)version;
	memset(&resp, 0, sizeof(resp));
	if (!st) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");
		st = sr_calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		sr_buf_init(&st->body, SR_HTTP_BODY_MAX);
		/* Room for the announced body at once, so a large upload is
		 * not copied again as the buffer grows (a wrong length is
		 * harmless: the buffer still grows or stays unused). */
		if (cl) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (*end == '\0' && end != cl && n > SR_HTTP_BODY_MAX)
				st->too_large = 1;
			else if (*end == '\0' && end != cl && n > 0 &&
				 sr_buf_grow(&st->body, (size_t)n) != SR_OK)
				sr_log_debug("http: no room ahead for a body of %llu bytes", n);
		}
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_large &&
		    sr_buf_add(&st->body, upload, *upload_size) != SR_OK) {
			st->too_large = 1;
			sr_buf_release(&st->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_large) {
		json_t *e = json_pack("{s:s}", "error",
				      "request body is larger than the limit of 8 MiB");
		ret = send_json(conn, 413, e);
		json_decref(e);
		return ret;
	}
	client_text(conn, client, sizeof(client));
	req.method = method;
	req.path = url;
	req.body = st->body.data;
	req.body_len = st->body.len;
	req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							"Authorization");
	req.client = client;
	req.header = connection_header;
	req.impl = conn;
	rc = server->handler(server->ctx, &req, &resp);
	if (rc < 0 && resp.status == 0)
		sr_http_error(&resp, 500, "internal error: %s", sr_strerror(rc));
	if (resp.status == 0)
		resp.status = 200;
	sr_log_debug("http: %s %s from %s -> %d", method, url, client,
		     resp.status);
	if (resp.raw_type)
		ret = send_binary(conn, &resp);
	else
		ret = send_json(conn, resp.status, resp.body);
	sr_http_response_release(&resp);
	return ret;
}

const char *sr_http_request_header(const struct sr_http_request *req,
				   const char *name)
{
	return req->header ? req->header(req, name) : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!st)
		return;
	sr_buf_release(&st->body);
	sr_free(st);
	*con_cls = NULL;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa,
		      struct sr_err *err)
{
	const char *colon = strrchr(addr, ':');
	char host[64];
	long port;
	char *end;

	memset(sa, 0, sizeof(*sa));
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return sr_fail(err, SR_EINVAL,
			       "listen address '%s': expected HOST:PORT", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return sr_fail(err, SR_EINVAL,
			       "listen address '%s': bad port", addr);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return sr_fail(err, SR_EINVAL,
			       "listen address '%s': expected an IPv4 address", addr);
	return SR_OK;
}

static void server_free(struct sr_http_server *server)
{
	if (!server)
		return;
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	sr_buf_wipe(&server->tls_key);
	sr_buf_release(&server->tls_cert);
	sr_free(server);
}

int sr_http_server_start_opts(const char *addr,
			      const struct sr_http_server_opts *opts,
			      sr_http_handler handler, void *ctx,
			      struct sr_http_server **out, struct sr_err *err)
{
	static const struct sr_http_server_opts defaults;
	struct MHD_OptionItem tls_options[4];
	struct sr_http_server *server;
	const union MHD_DaemonInfo *info;
	/* A thread per connection: a handler may wait (the coordinator's
	 * mailbox fetches do, up to SR_MAILBOX_WAIT_MS) without holding up
	 * other connections, which a shared pool thread would. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_POLL;
	struct sockaddr_in sa;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!opts->tls_cert_file != !opts->tls_key_file)
		return sr_fail(err, SR_EINVAL,
			       "listen address '%s': HTTPS needs both a certificate "
			       "and a key file, got only the %s", addr,
			       opts->tls_cert_file ? "certificate" : "key");
	rc = parse_addr(addr, &sa, err);
	if (rc)
		return rc;
	server = sr_calloc(1, sizeof(*server));
	if (!server)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	server->handler = handler;
	server->ctx = ctx;
	sr_buf_init(&server->tls_cert, 0);
	sr_buf_init(&server->tls_key, 0);
	if (opts->tls_cert_file) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			rc = sr_fail(err, SR_EINTERNAL,
				     "cannot serve HTTPS on %s: this libmicrohttpd "
				     "was built without TLS support", addr);
			goto out;
		}
		rc = sr_tls_load_pair(opts->tls_cert_file, opts->tls_key_file,
				      &server->tls_cert, &server->tls_key, NULL,
				      err);
		if (rc)
			goto out;
		flags |= MHD_USE_TLS;
		tls_options[n++] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_MEM_CERT, 0, server->tls_cert.data };
		tls_options[n++] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_MEM_KEY, 0, server->tls_key.data };
		tls_options[n++] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES };
	}
	tls_options[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	server->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, server,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(opts->threads ? 8 * opts->threads : 16),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_ARRAY, tls_options,
		MHD_OPTION_END);
	if (!server->daemon) {
		rc = sr_fail(err, SR_EIO, "cannot listen on %s%s", addr,
			     opts->tls_cert_file ? " (HTTPS)" : "");
		goto out;
	}
	info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
	server->port = info ? info->port : ntohs(sa.sin_port);
	*out = server;
	server = NULL;
out:
	server_free(server);
	return rc;
}

int sr_http_server_start(const char *addr, unsigned threads,
			 sr_http_handler handler, void *ctx,
			 struct sr_http_server **out, struct sr_err *err)
{
	struct sr_http_server_opts opts = { threads, NULL, NULL };

	return sr_http_server_start_opts(addr, &opts, handler, ctx, out, err);
}

uint16_t sr_http_server_port(const struct sr_http_server *server)
{
	return server->port;
}

void sr_http_server_stop(struct sr_http_server *server)
{
	server_free(server);
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
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:   /* TLS alert read as HTTP/0.9 */
		if (!c->https)
			return sr_fail(err, SR_EIO,
				       "%s %s: %s (is it an HTTPS server? use "
				       "https:// and --pin)", method, url, detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		return sr_fail(err, SR_EIO,
			       "%s %s: TLS handshake failed: %s (is it a plain "
			       "HTTP server?)", method, url, detail);
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
