/*
 * http_server.c - the HTTP/1.1 + JSON server on libmicrohttpd (net/http.h),
 * built so that connections cannot be exhausted (docs/operations.md,
 * "Connections"):
 *
 *   - epoll and a small thread pool: an idle connection costs a socket
 *     and a little memory, never a thread;
 *   - a connection limit far above what a deployment uses, and one per
 *     address, so that one address cannot take every slot;
 *   - a header deadline: from accept (or the end of the last answer on a
 *     kept connection) a client has SR_HTTP_HEADER_MS to complete the TLS
 *     handshake and the request headers.  libmicrohttpd's own timeout is
 *     one of inactivity, which a client that sends a byte now and then
 *     never trips, so a timer thread here closes what is late
 *     (shutdown(2) of its socket; libmicrohttpd then sees the end and
 *     cleans up);
 *   - past the headers, libmicrohttpd's inactivity timeout (SR_HTTP_ACTIVE_S);
 *   - requests that would wait (long-polls) are parked: suspended, holding
 *     no thread, and run again when the server is woken for their key or
 *     their wait is over (sr_http_defer, sr_http_server_wake).
 *
 * Locks: conn_lock guards the header-deadline list (it is taken in
 * libmicrohttpd's connection callbacks and by the timer, never with
 * another lock held); park_lock guards the parked list and the record of
 * recent wakes, and is held while a handler's thread suspends its
 * connection (libmicrohttpd takes its own lock inside), never while this
 * file calls back into libmicrohttpd otherwise.
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/tls.h"
#include "base/banned.h"

/* TLS 1.2 and 1.3 only, GnuTLS's default suites otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* How many bytes an upload reads from the socket per callback at most
 * (libmicrohttpd's buffer for a connection; memory it maps, touched only
 * as used), and the block of a streamed answer. */
#define CONNECTION_MEMORY (256 * 1024)
#define STREAM_BLOCK (64 * 1024)
/* Open files kept for everything but connections (databases, spool
 * files, the mailbox client's own connections). */
#define FILES_RESERVED 256
/* Wakes remembered, so that a request about to park sees one that came
 * while its handler ran (more since then: it runs again to be safe). */
#define WAKES_KEPT 64
/* The timer's tick: the header deadline is enforced this closely. */
#define TICK_MS 250

/* One connection (libmicrohttpd's socket context). */
struct conn {
	struct MHD_Connection *mc;
	int fd;
	/* The header-deadline list (conn_lock): waiting for a request's
	 * headers since since_ms. */
	int waiting_headers;
	int64_t since_ms;
	struct conn *prev, *next;
	/* The parked list (park_lock). */
	int parked;
	uint64_t key;
	int64_t deadline_ms;
	struct conn *pprev, *pnext;
};

struct sr_http_server {
	struct MHD_Daemon *daemon;
	sr_http_handler handler;
	void *ctx;
	uint16_t port;
	/* PEM texts handed to libmicrohttpd, kept until the daemon stops. */
	struct sr_buf tls_cert;
	struct sr_buf tls_key;   /* secret: wiped at stop */

	pthread_mutex_t conn_lock;
	struct conn *head, *tail;   /* waiting for headers, oldest first */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;   /* a request parked, or stop */
	struct conn *parked;
	uint64_t wakes;             /* wakes so far */
	uint64_t wake_keys[WAKES_KEPT];
	int stopping;               /* under park_lock */
	pthread_t timer;
	int timer_started;
	int locks_made;
};

/* Per-request state, kept by libmicrohttpd between callbacks. */
struct request_state {
	struct sr_buf body;
	int too_large;
	int64_t first_ms;   /* the handler's first call, or 0 */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the header-deadline list (conn_lock held) ----------------------------- */

static void headers_remove(struct sr_http_server *s, struct conn *c)
{
	if (!c->waiting_headers)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = NULL;
	c->waiting_headers = 0;
}

static void headers_append(struct sr_http_server *s, struct conn *c)
{
	headers_remove(s, c);
	c->since_ms = now_ms();
	c->prev = s->tail;
	c->next = NULL;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	c->waiting_headers = 1;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

static void park_remove(struct sr_http_server *s, struct conn *c);

/* libmicrohttpd: a connection opened or closed.  CLOSED comes before its
 * socket is closed, so the timer never shuts down a reused descriptor. */
static void on_connection(void *cls, struct MHD_Connection *mc,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct sr_http_server *s = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = sr_calloc(1, sizeof(*c));
		if (!c)
			return;   /* served, without a header deadline */
		c->mc = mc;
		c->fd = info ? info->connect_fd : -1;
		pthread_mutex_lock(&s->conn_lock);
		if (c->fd >= 0)
			headers_append(s, c);
		pthread_mutex_unlock(&s->conn_lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&s->conn_lock);
	headers_remove(s, c);
	pthread_mutex_unlock(&s->conn_lock);
	/* A parked connection is not closed (it is suspended), but should
	 * libmicrohttpd do it, it leaves the list too.  (libmicrohttpd holds
	 * none of its locks here.) */
	pthread_mutex_lock(&s->park_lock);
	park_remove(s, c);
	pthread_mutex_unlock(&s->park_lock);
	*socket_context = NULL;
	sr_free(c);
}

/*
 * Close every connection past its header deadline; returns how many.  One
 * with bytes in its socket that the server has not read is not late: its
 * thread is busy (a slow handler of another connection), and the request
 * is judged once read, with a new deadline (a queued request is served,
 * not reset).
 */
static size_t sweep_late(struct sr_http_server *s)
{
	int64_t cutoff = now_ms() - SR_HTTP_HEADER_MS;
	size_t closed = 0;

	pthread_mutex_lock(&s->conn_lock);
	while (s->head && s->head->since_ms <= cutoff) {
		struct conn *c = s->head;
		int unread = 0;

		if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread > 0) {
			headers_append(s, c);
			continue;
		}
		headers_remove(s, c);
		shutdown(c->fd, SHUT_RDWR);
		closed++;
	}
	pthread_mutex_unlock(&s->conn_lock);
	return closed;
}

/* ---- parked requests ---------------------------------------------------------- */

static void park_remove(struct sr_http_server *s, struct conn *c)
{
	if (!c->parked)
		return;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		s->parked = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	c->pprev = c->pnext = NULL;
	c->parked = 0;
}

/*
 * Take the parked connections that match (all, or those with key, or those
 * past their deadline at now) off the list, at most max of them, into out;
 * park_lock held.  They are still suspended: nothing else touches them
 * until the caller resumes them.
 */
enum pick { PICK_ALL, PICK_KEY, PICK_DUE };
static size_t park_take(struct sr_http_server *s, enum pick pick, uint64_t key,
			int64_t now, struct MHD_Connection **out, size_t max)
{
	struct conn *c = s->parked, *next;
	size_t n = 0;

	for (; c && n < max; c = next) {
		next = c->pnext;
		if (pick == PICK_KEY && c->key != key)
			continue;
		if (pick == PICK_DUE && c->deadline_ms > now)
			continue;
		park_remove(s, c);
		out[n++] = c->mc;
	}
	return n;
}

/* Resume every parked connection that pick selects. */
static void resume_picked(struct sr_http_server *s, enum pick pick, uint64_t key)
{
	struct MHD_Connection *batch[64];
	size_t n;

	do {
		pthread_mutex_lock(&s->park_lock);
		n = park_take(s, pick, key, now_ms(), batch, 64);
		pthread_mutex_unlock(&s->park_lock);
		for (size_t i = 0; i < n; i++)
			MHD_resume_connection(batch[i]);
	} while (n == 64);
}

void sr_http_server_wake(struct sr_http_server *s, uint64_t key)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->park_lock);
	s->wake_keys[s->wakes % WAKES_KEPT] = key;
	s->wakes++;
	pthread_mutex_unlock(&s->park_lock);
	resume_picked(s, PICK_KEY, key);
}

/* Was key woken since wakes was `since` (park_lock held)? */
static int woken_since(const struct sr_http_server *s, uint64_t since, uint64_t key)
{
	if (s->wakes - since >= WAKES_KEPT)
		return 1;   /* too many to tell: look again */
	for (uint64_t i = since; i < s->wakes; i++)
		if (s->wake_keys[i % WAKES_KEPT] == key)
			return 1;
	return 0;
}

/* The timer: header deadlines and the ends of parked waits. */
static void *timer_main(void *arg)
{
	struct sr_http_server *s = arg;

	pthread_mutex_lock(&s->park_lock);
	while (!s->stopping) {
		int64_t now = now_ms(), next = now + TICK_MS;
		struct timespec until;

		for (struct conn *c = s->parked; c; c = c->pnext)
			if (c->deadline_ms < next)
				next = c->deadline_ms;
		if (next > now) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += (next - now) / 1000;
			until.tv_nsec += (long)((next - now) % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->park_cond, &s->park_lock, &until);
		}
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->park_lock);
		resume_picked(s, PICK_DUE, 0);
		if (sweep_late(s))
			sr_log_debug("http: closed connections past the header deadline");
		pthread_mutex_lock(&s->park_lock);
	}
	pthread_mutex_unlock(&s->park_lock);
	return NULL;
}

/* ---- answers ----------------------------------------------------------------- */

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

/* The one answer to a body over the cap. */
static enum MHD_Result send_too_large(struct MHD_Connection *conn)
{
	char msg[96];
	json_t *e;
	enum MHD_Result ret;

	snprintf(msg, sizeof(msg), "request body is larger than the limit of %u MiB",
		 SR_HTTP_BODY_MAX >> 20);
	e = json_pack("{s:s}", "error", msg);
	ret = send_json(conn, 413, e);
	json_decref(e);
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

/* ---- requests ----------------------------------------------------------------- */

/* The headers are in: off the header-deadline list, a request state, and
 * a body over the cap refused before any of it is read. */
static enum MHD_Result request_begin(struct sr_http_server *server,
				     struct MHD_Connection *conn, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "Content-Length");
	struct conn *c = conn_of(conn);
	struct request_state *st;

	if (c) {
		pthread_mutex_lock(&server->conn_lock);
		headers_remove(server, c);
		pthread_mutex_unlock(&server->conn_lock);
	}
	st = sr_calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	sr_buf_init(&st->body, SR_HTTP_BODY_MAX);
	*con_cls = st;
	if (cl) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);
		if (*end == '\0' && end != cl && n > SR_HTTP_BODY_MAX) {
			/* Answered now: libmicrohttpd reads none of the body
			 * and closes the connection after the answer. */
			st->too_large = 1;
			return send_too_large(conn);
		}
		/* Room for the announced body at once, so a large upload is
		 * not copied again as the buffer grows (a wrong length is
		 * harmless: the buffer still grows or stays unused). */
		if (*end == '\0' && end != cl && n > 0 &&
		    sr_buf_grow(&st->body, (size_t)n) != SR_OK)
			sr_log_debug("http: no room ahead for a body of %llu bytes", n);
	}
	return MHD_YES;
}

/* Park the request (the handler asked to answer later); MHD_NO if the
 * server stops.  *again when a wake for its key came meanwhile. */
static enum MHD_Result park(struct sr_http_server *server,
			    struct MHD_Connection *conn, uint64_t key, int wait_ms,
			    uint64_t wakes_before, int *again)
{
	struct conn *c = conn_of(conn);

	*again = 0;
	if (!c)
		return MHD_NO;
	pthread_mutex_lock(&server->park_lock);
	if (server->stopping) {
		pthread_mutex_unlock(&server->park_lock);
		return MHD_NO;
	}
	if (woken_since(server, wakes_before, key)) {
		pthread_mutex_unlock(&server->park_lock);
		*again = 1;
		return MHD_YES;
	}
	c->key = key;
	c->deadline_ms = now_ms() + wait_ms;
	c->pprev = NULL;
	c->pnext = server->parked;
	if (server->parked)
		server->parked->pprev = c;
	server->parked = c;
	c->parked = 1;
	MHD_suspend_connection(conn);
	pthread_cond_signal(&server->park_cond);
	pthread_mutex_unlock(&server->park_lock);
	return MHD_YES;
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
	int rc, again;

	(void)version;
	if (!st)
		return request_begin(server, conn, con_cls);
	if (*upload_size) {
		if (!st->too_large &&
		    sr_buf_add(&st->body, upload, *upload_size) != SR_OK) {
			/* A chunked upload past the cap: stopped here, not
			 * read to its end. */
			st->too_large = 1;
			sr_buf_release(&st->body);
			return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_large)
		return send_too_large(conn);
	client_text(conn, client, sizeof(client));
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.body = st->body.data;
	req.body_len = st->body.len;
	req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							"Authorization");
	req.client = client;
	req.header = connection_header;
	req.impl = conn;
	for (;;) {
		uint64_t wakes_before, key;
		int defer_ms;

		pthread_mutex_lock(&server->park_lock);
		wakes_before = server->wakes;
		/* A server that stops answers what it has, parks nothing. */
		req.may_defer = !server->stopping;
		pthread_mutex_unlock(&server->park_lock);
		if (!st->first_ms)
			st->first_ms = now_ms();
		req.waited_ms = now_ms() - st->first_ms;
		memset(&resp, 0, sizeof(resp));
		rc = server->handler(server->ctx, &req, &resp);
		defer_ms = resp.defer_ms;
		key = resp.defer_key;
		if (defer_ms <= 0)
			break;
		sr_http_response_release(&resp);
		ret = park(server, conn, key, defer_ms, wakes_before, &again);
		if (!again)
			return ret;
	}
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

/* libmicrohttpd: a request is done (answered, or its connection broke):
 * a kept connection waits for the next request's headers. */
static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct sr_http_server *server = cls;
	struct request_state *st = *con_cls;
	struct conn *c = conn_of(conn);

	(void)toe;
	if (c && c->fd >= 0) {
		pthread_mutex_lock(&server->conn_lock);
		headers_append(server, c);
		pthread_mutex_unlock(&server->conn_lock);
	}
	if (!st)
		return;
	sr_buf_release(&st->body);
	sr_free(st);
	*con_cls = NULL;
}

void sr_http_defer(struct sr_http_response *resp, uint64_t key, int wait_ms)
{
	sr_http_response_release(resp);
	resp->defer_key = key;
	resp->defer_ms = wait_ms > 0 ? wait_ms : 1;
}

/* ---- the server ----------------------------------------------------------------- */

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

/*
 * How many connections the server may hold: what was asked, within what
 * the open-file limit allows once raised to its hard limit (a warning
 * says so when that is less).
 */
static unsigned connection_limit(const char *addr, unsigned asked)
{
	struct rlimit rl;
	unsigned room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return asked;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)asked + FILES_RESERVED)
		return asked;
	room = rl.rlim_cur > 2 * FILES_RESERVED ?
		(unsigned)(rl.rlim_cur - FILES_RESERVED) : (unsigned)(rl.rlim_cur / 2);
	sr_log_warn("http: %s: the open-file limit (%llu) allows %u connections, not %u "
		    "(raise `ulimit -n`)", addr, (unsigned long long)rl.rlim_cur, room,
		    asked);
	return room;
}

static void server_free(struct sr_http_server *server)
{
	if (!server)
		return;
	if (server->locks_made) {
		/* Parked requests are answered (the server stops), then the
		 * timer ends, then the daemon. */
		pthread_mutex_lock(&server->park_lock);
		server->stopping = 1;
		pthread_cond_broadcast(&server->park_cond);
		pthread_mutex_unlock(&server->park_lock);
		if (server->timer_started)
			pthread_join(server->timer, NULL);
		if (server->daemon)
			resume_picked(server, PICK_ALL, 0);
	}
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	if (server->locks_made) {
		pthread_mutex_destroy(&server->conn_lock);
		pthread_mutex_destroy(&server->park_lock);
		pthread_cond_destroy(&server->park_cond);
	}
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
	/* epoll and a pool of threads: no thread per connection, and a
	 * request that waits is parked (sr_http_defer), not blocked. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME;
	unsigned threads, limit, per_address;
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
	if (opts->max_connections > SR_HTTP_CONNECTIONS_MAX)
		return sr_fail(err, SR_EINVAL,
			       "listen address '%s': at most %u connections, not %u",
			       addr, SR_HTTP_CONNECTIONS_MAX, opts->max_connections);
	rc = parse_addr(addr, &sa, err);
	if (rc)
		return rc;
	threads = opts->threads ? opts->threads : 2;
	limit = connection_limit(addr, opts->max_connections ? opts->max_connections :
				 SR_HTTP_CONNECTIONS_DEFAULT);
	per_address = opts->max_per_address ? opts->max_per_address :
		SR_HTTP_PER_ADDRESS_DEFAULT;
	if (per_address > limit)
		per_address = limit;
	server = sr_calloc(1, sizeof(*server));
	if (!server)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	server->handler = handler;
	server->ctx = ctx;
	sr_buf_init(&server->tls_cert, 0);
	sr_buf_init(&server->tls_key, 0);
	pthread_mutex_init(&server->conn_lock, NULL);
	pthread_mutex_init(&server->park_lock, NULL);
	pthread_cond_init(&server->park_cond, NULL);
	server->locks_made = 1;
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
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
		/* Inactivity, for a request whose headers are in (a body on a
		 * slow link); until then the header deadline is the timer's.
		 * Not shorter: libmicrohttpd counts it also while a busy
		 * thread has not read what came, and would close a request
		 * that only waits its turn. */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SR_HTTP_ACTIVE_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, server,
		MHD_OPTION_ARRAY, tls_options,
		MHD_OPTION_END);
	if (!server->daemon) {
		rc = sr_fail(err, SR_EIO, "cannot listen on %s%s", addr,
			     opts->tls_cert_file ? " (HTTPS)" : "");
		goto out;
	}
	if (pthread_create(&server->timer, NULL, timer_main, server) != 0) {
		rc = sr_fail(err, SR_EINTERNAL, "cannot start the HTTP server's timer");
		goto out;
	}
	server->timer_started = 1;
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
	struct sr_http_server_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.threads = threads;
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
