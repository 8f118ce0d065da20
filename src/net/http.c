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
	json_decref(resp->body);
	resp->status = status;
	resp->body = json_pack("{s:s}", "error", msg);
	return SR_OK;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sr_http_server *server = cls;
	struct request_state *st = *con_cls;
	struct sr_http_request req;
	struct sr_http_response resp = { 0, NULL };
	char client[64];
	enum MHD_Result ret;
	int rc;

	(void)version;
	if (!st) {
		st = sr_calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		sr_buf_init(&st->body, SR_HTTP_BODY_MAX);
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
	req.conn = conn;
	rc = server->handler(server->ctx, &req, &resp);
	if (rc < 0 && resp.status == 0)
		sr_http_error(&resp, 500, "internal error: %s", sr_strerror(rc));
	if (resp.status == 0)
		resp.status = 200;
	sr_log_debug("http: %s %s from %s -> %d", method, url, client,
		     resp.status);
	ret = send_json(conn, resp.status, resp.body);
	json_decref(resp.body);
	return ret;
}

const char *sr_http_request_header(const struct sr_http_request *req,
				   const char *name)
{
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
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
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
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

struct sink {
	struct sr_buf buf;
	int too_large;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (sr_buf_add(&s->buf, ptr, n) != SR_OK) {
		s->too_large = 1;
		return 0;   /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

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

/* Turn a failed transfer into a status and a message that says why. */
static int transfer_failed(CURLcode cc, const char *method, const char *url,
			   CURLU *cu, int https, const struct sink *sink,
			   const char *errbuf, long timeout_ms,
			   struct sr_err *err)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	if (sink->too_large)
		return sr_fail(err, SR_ELIMIT,
			       "%s %s: answer is larger than the limit of %zu bytes",
			       method, url, sink->buf.max);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return sr_fail(err, SR_ETIMEOUT, "%s %s: timed out after %ld ms",
			       method, url, timeout_ms);
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return pin_mismatch(cu, err);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:   /* TLS alert read as HTTP/0.9 */
		if (!https)
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

int sr_http_call_opts(const char *method, const char *url, const json_t *body,
		      const struct sr_http_call_opts *opts, int *status,
		      json_t **answer, struct sr_err *err)
{
	static const struct sr_http_call_opts defaults;
	struct curl_slist *headers = NULL, *h;
	char errbuf[CURL_ERROR_SIZE];
	struct sr_buf req, auth;
	struct sink sink;
	CURLU *cu = NULL;
	CURL *curl = NULL;
	CURLcode cc;
	long code = 0;
	int https = 0, rc;

	*status = 0;
	*answer = NULL;
	if (!opts)
		opts = &defaults;
	errbuf[0] = '\0';
	sr_buf_init(&req, 0);
	sr_buf_init(&auth, 0);
	sr_buf_init(&sink.buf, opts->max_answer ? opts->max_answer : SR_HTTP_BODY_MAX);
	sink.too_large = 0;
	rc = parse_url(url, &cu, &https, err);
	if (rc)
		goto out;
	if (https && !opts->pin) {
		rc = sr_fail(err, SR_EINVAL, "%s needs a pinned key (--pin)", url);
		goto out;
	}
	if (!https && opts->pin) {
		/* The pin would not be checked: refuse rather than downgrade. */
		rc = sr_fail(err, SR_EINVAL,
			     "%s: a pinned key was given but the URL is not https://",
			     url);
		goto out;
	}
	if (opts->pin) {
		rc = sr_tls_pin_parse(opts->pin, err);
		if (rc)
			goto out;
	}
	if (opts->authorization) {
		rc = check_header_value("authorization", opts->authorization, err);
		if (rc == SR_OK && sr_buf_addf(&auth, "Authorization: %s",
					       opts->authorization))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	} else if (opts->token) {
		rc = check_header_value("token", opts->token, err);
		if (rc == SR_OK && sr_buf_addf(&auth, "Authorization: Bearer %s",
					       opts->token))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc)
		goto out;
	if (body && sr_json_dump(body, 0, &req) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; opts->headers && opts->headers[i]; i++) {
		rc = check_header_value("header", opts->headers[i], err);
		if (rc)
			goto out;
	}
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (headers && auth.len) {
		h = curl_slist_append(headers, auth.data);
		if (!h) {
			curl_slist_free_all(headers);
			headers = NULL;
		} else {
			headers = h;
		}
	}
	for (size_t i = 0; headers && opts->headers && opts->headers[i]; i++) {
		h = curl_slist_append(headers, opts->headers[i]);
		if (!h) {
			curl_slist_free_all(headers);
			headers = NULL;
		} else {
			headers = h;
		}
	}
	curl = curl_easy_init();
	if (!headers || !curl) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_CURLU, cu);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (https) {
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(curl, CURLOPT_SSLVERSION,
				 (long)CURL_SSLVERSION_TLSv1_2);
		/*
		 * The certificate is self-signed: no CA could vouch for it, so
		 * chain and host-name checks are off and the pin is the whole
		 * trust anchor.  libcurl checks the pin with VERIFYPEER off
		 * and aborts before sending anything (tests/unit/test_tls.c).
		 */
		curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, opts->pin);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	}
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.data);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)req.len);
	}
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		rc = transfer_failed(cc, method, url, cu, https, &sink, errbuf,
				     opts->timeout_ms, err);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	*status = (int)code;
	if (sink.buf.len) {
		rc = sr_json_parse(sink.buf.data, sink.buf.len, url, answer, err);
		if (rc == SR_EINVAL || rc == SR_ELIMIT)
			rc = sr_failx(err, SR_EPROTO, "%s %s: the answer is not JSON",
				      method, url);
	}
out:
	curl_easy_cleanup(curl);
	curl_url_cleanup(cu);
	curl_slist_free_all(headers);
	sr_buf_wipe(&auth);
	sr_buf_release(&req);
	sr_buf_release(&sink.buf);
	return rc;
}

int sr_http_call(const char *method, const char *url, const json_t *body,
		 const char *token, long timeout_ms, int *status,
		 json_t **answer, struct sr_err *err)
{
	struct sr_http_call_opts opts = { NULL, token, NULL, timeout_ms, 0, NULL };

	return sr_http_call_opts(method, url, body, &opts, status, answer, err);
}
