/*
 * direct.c - the job channel's direct path: a listener that binds
 * connections to channels by proof of their keys, and framed messages
 * over TCP (see direct.h).
 */
#include "net/direct.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/tcp.h"
#include "base/banned.h"

#define MAGIC "SRJD"
#define VERSION 1
#define ORG_LEN 36
#define HELLO_BYTES (4 + 1 + 32 + 2 * ORG_LEN + SR_DIRECT_TAG_BYTES)
#define ANSWER_BYTES (4 + 1 + SR_DIRECT_TAG_BYTES)

_Static_assert(SR_TCP_ADDR_MAX <= SR_DIRECT_ADDR_MAX, "a bound address fits");

/* A connection a channel waits for. */
struct expect {
	uint8_t job[32];
	char from[ORG_LEN + 1], to[ORG_LEN + 1];
	uint8_t tag_c[SR_DIRECT_TAG_BYTES], tag_a[SR_DIRECT_TAG_BYTES];
	int fd;                       /* -1 until a connection proved itself */
	struct expect *next;
};

/* A connection being checked, so a stop can cut it short. */
struct pending {
	int fd;
	struct pending *next;
};

struct sr_direct {
	int listen_fd;                /* -1: not listening */
	char advertised[SR_DIRECT_ADDR_MAX];
	char local[SR_DIRECT_ADDR_MAX];
	int wake[2];                  /* a byte ends the acceptor */
	pthread_t acceptor;
	int acceptor_started;
	pthread_mutex_t lock;         /* expects, pendings, npending, stopping */
	pthread_cond_t cond;
	struct expect *expects;
	struct pending *pendings;
	int npending, stopping;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int valid_org(const char *s)
{
	return strlen(s) == ORG_LEN &&
		strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == ORG_LEN;
}

/* Lock held. */
static struct expect *find_expect(struct sr_direct *d, const uint8_t *job,
				  const char *from, const char *to)
{
	for (struct expect *e = d->expects; e; e = e->next)
		if (memcmp(e->job, job, 32) == 0 && strcmp(e->from, from) == 0 &&
		    strcmp(e->to, to) == 0)
			return e;
	return NULL;
}

/* Lock held. */
static void remove_expect(struct sr_direct *d, struct expect *gone)
{
	for (struct expect **link = &d->expects; *link; link = &(*link)->next)
		if (*link == gone) {
			*link = gone->next;
			break;
		}
	if (gone->fd >= 0)
		close(gone->fd);
	sodium_memzero(gone, sizeof(*gone));
	sr_free(gone);
}

/* ---- the listener's side ---------------------------------------------------- */

struct conn {
	struct sr_direct *d;
	struct pending pend;
};

/*
 * Check one incoming connection: its hello must name a connection some
 * channel expects, with that channel's proof; it waits a while for the
 * channel to say so (its peer may be ahead of it).  Anything else is
 * closed without an answer.
 */
static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	struct sr_direct *d = cn->d;
	uint8_t hello[HELLO_BYTES], answer[ANSWER_BYTES];
	char from[ORG_LEN + 1], to[ORG_LEN + 1];
	int fd = cn->pend.fd, kept = 0, eof = 0;
	int64_t deadline = now_ms() + SR_DIRECT_HANDSHAKE_MS;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_tcp_set_timeout(fd, SR_DIRECT_HANDSHAKE_MS, &err) != SR_OK ||
	    sr_tcp_read_all(fd, hello, sizeof(hello), &eof, &err) != SR_OK ||
	    memcmp(hello, MAGIC, 4) != 0 || hello[4] != VERSION)
		goto out;
	memcpy(from, hello + 5 + 32, ORG_LEN);
	from[ORG_LEN] = '\0';
	memcpy(to, hello + 5 + 32 + ORG_LEN, ORG_LEN);
	to[ORG_LEN] = '\0';
	if (!valid_org(from) || !valid_org(to))
		goto out;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct expect *e = find_expect(d, hello + 5, from, to);
		struct timespec until;

		if (e && e->fd < 0 &&
		    sodium_memcmp(e->tag_c, hello + 5 + 32 + 2 * ORG_LEN, SR_DIRECT_TAG_BYTES) == 0) {
			memcpy(answer, MAGIC, 4);
			answer[4] = VERSION;
			memcpy(answer + 5, e->tag_a, SR_DIRECT_TAG_BYTES);
			if (sr_tcp_write_all(fd, answer, sizeof(answer), &err) == SR_OK) {
				e->fd = fd;
				kept = 1;
				pthread_cond_broadcast(&d->cond);
			}
			break;
		}
		/* Another proof, or a second connection: not this one. */
		if (e || d->stopping || now_ms() >= deadline)
			break;
		deadline_in(&until, deadline - now_ms());
		pthread_cond_timedwait(&d->cond, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
out:
	pthread_mutex_lock(&d->lock);
	for (struct pending **link = &d->pendings; *link; link = &(*link)->next)
		if (*link == &cn->pend) {
			*link = cn->pend.next;
			break;
		}
	d->npending--;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (!kept) {
		if (err.msg[0])
			sr_log_debug("direct: refused a connection: %s", err.msg);
		close(fd);
	}
	sodium_memzero(answer, sizeof(answer));
	sr_free(cn);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct sr_direct *d = arg;

	for (;;) {
		struct pollfd pfd[2] = { { d->listen_fd, POLLIN, 0 }, { d->wake[0], POLLIN, 0 } };
		struct conn *cn;
		pthread_attr_t attr;
		pthread_t th;
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept(d->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		cn = sr_calloc(1, sizeof(*cn));
		pthread_mutex_lock(&d->lock);
		/* A bound on what strangers can make us hold. */
		if (!cn || d->npending >= SR_DIRECT_PENDING_MAX || d->stopping) {
			pthread_mutex_unlock(&d->lock);
			sr_free(cn);
			close(fd);
			continue;
		}
		cn->d = d;
		cn->pend.fd = fd;
		cn->pend.next = d->pendings;
		d->pendings = &cn->pend;
		d->npending++;
		pthread_mutex_unlock(&d->lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, conn_main, cn) != 0) {
			pthread_mutex_lock(&d->lock);
			d->pendings = cn->pend.next;
			d->npending--;
			pthread_mutex_unlock(&d->lock);
			close(fd);
			sr_free(cn);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int sr_direct_new(const char *addr, const char *advertise, struct sr_direct **out,
		  struct sr_err *err)
{
	struct sr_direct *d;
	int rc = SR_OK;

	*out = NULL;
	d = sr_calloc(1, sizeof(*d));
	if (!d)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	d->listen_fd = -1;
	d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (addr) {
		rc = sr_tcp_listen(addr, &d->listen_fd, err);
		if (rc == SR_OK)
			rc = sr_tcp_local_addr(d->listen_fd, d->local, err);
		if (rc == SR_OK && !advertise)
			memcpy(d->advertised, d->local, sizeof(d->local));
		if (rc == SR_OK && advertise) {
			if (strlen(advertise) >= sizeof(d->advertised))
				rc = sr_fail(err, SR_EINVAL, "direct: address '%.70s' is too long",
					     advertise);
			else
				memcpy(d->advertised, advertise, strlen(advertise) + 1);
		}
		if (rc == SR_OK && pipe(d->wake) != 0)
			rc = sr_fail(err, SR_EIO, "direct: pipe: %s", strerror(errno));
		if (rc == SR_OK) {
			if (pthread_create(&d->acceptor, NULL, acceptor_main, d) != 0)
				rc = sr_fail(err, SR_EINTERNAL, "direct: cannot start a thread");
			else
				d->acceptor_started = 1;
		}
		if (rc) {
			sr_err_prefix(err, "--data-listen %s", addr);
			sr_direct_free(d);
			return rc;
		}
	}
	*out = d;
	return SR_OK;
}

void sr_direct_free(struct sr_direct *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = 1;
	/* Cut short the checks in progress, then wait for them. */
	for (struct pending *p = d->pendings; p; p = p->next)
		shutdown(p->fd, SHUT_RDWR);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->acceptor_started) {
		if (write(d->wake[1], "x", 1) != 1)
			sr_log_warn("direct: cannot wake the acceptor");
		pthread_join(d->acceptor, NULL);
	}
	pthread_mutex_lock(&d->lock);
	while (d->npending > 0)
		pthread_cond_wait(&d->cond, &d->lock);
	while (d->expects)
		remove_expect(d, d->expects);
	pthread_mutex_unlock(&d->lock);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	sr_free(d);
}

const char *sr_direct_advertised(const struct sr_direct *d)
{
	return d && d->listen_fd >= 0 ? d->advertised : NULL;
}

const char *sr_direct_local(const struct sr_direct *d)
{
	return d && d->listen_fd >= 0 ? d->local : NULL;
}

int sr_direct_expect(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		     const char *to, const uint8_t tag_c[SR_DIRECT_TAG_BYTES],
		     const uint8_t tag_a[SR_DIRECT_TAG_BYTES], struct sr_err *err)
{
	struct expect *e;
	int rc = SR_OK;

	if (!valid_org(from) || !valid_org(to))
		return sr_fail(err, SR_EINVAL, "direct: expected org ids");
	pthread_mutex_lock(&d->lock);
	if (find_expect(d, job_id, from, to)) {
		rc = sr_fail(err, SR_EEXIST, "direct: a connection from %s is expected already",
			     from);
		goto out;
	}
	e = sr_calloc(1, sizeof(*e));
	if (!e) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(e->job, job_id, 32);
	memcpy(e->from, from, ORG_LEN + 1);
	memcpy(e->to, to, ORG_LEN + 1);
	memcpy(e->tag_c, tag_c, SR_DIRECT_TAG_BYTES);
	memcpy(e->tag_a, tag_a, SR_DIRECT_TAG_BYTES);
	e->fd = -1;
	e->next = d->expects;
	d->expects = e;
	pthread_cond_broadcast(&d->cond);   /* a connection may be waiting for it */
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int sr_direct_take(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		   const char *to, int timeout_ms, int *fd, struct sr_err *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct expect *e;
	int rc = SR_OK;

	*fd = -1;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct timespec until;

		e = find_expect(d, job_id, from, to);
		if (!e) {
			rc = sr_fail(err, SR_ENOTFOUND, "direct: no connection from %s is expected",
				     from);
			break;
		}
		if (e->fd >= 0) {
			*fd = e->fd;
			e->fd = -1;
			remove_expect(d, e);
			/* From the handshake's deadline to the messages' own. */
			rc = sr_tcp_set_timeout(*fd, SR_DIRECT_FRAME_MS, err);
			if (rc) {
				close(*fd);
				*fd = -1;
			}
			break;
		}
		if (now_ms() >= deadline || d->stopping) {
			remove_expect(d, e);
			rc = sr_fail(err, SR_ETIMEOUT, "direct: %s did not connect in %d ms", from,
				     timeout_ms);
			break;
		}
		deadline_in(&until, deadline - now_ms());
		pthread_cond_timedwait(&d->cond, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void sr_direct_cancel(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		      const char *to)
{
	struct expect *e;

	pthread_mutex_lock(&d->lock);
	e = find_expect(d, job_id, from, to);
	if (e)
		remove_expect(d, e);
	pthread_mutex_unlock(&d->lock);
}

/* ---- the connector's side ------------------------------------------------------ */

int sr_direct_connect(const char *addr, const uint8_t job_id[32], const char *from,
		      const char *to, const uint8_t tag_c[SR_DIRECT_TAG_BYTES],
		      const uint8_t tag_a[SR_DIRECT_TAG_BYTES], int timeout_ms, int *fd,
		      struct sr_err *err)
{
	uint8_t hello[HELLO_BYTES], answer[ANSWER_BYTES];
	int s = -1, eof = 0, rc;

	*fd = -1;
	if (!valid_org(from) || !valid_org(to))
		return sr_fail(err, SR_EINVAL, "direct: expected org ids");
	rc = sr_tcp_connect(addr, timeout_ms, &s, err);
	if (rc)
		return rc;
	memcpy(hello, MAGIC, 4);
	hello[4] = VERSION;
	memcpy(hello + 5, job_id, 32);
	memcpy(hello + 5 + 32, from, ORG_LEN);
	memcpy(hello + 5 + 32 + ORG_LEN, to, ORG_LEN);
	memcpy(hello + 5 + 32 + 2 * ORG_LEN, tag_c, SR_DIRECT_TAG_BYTES);
	/* The peer may still be opening its channel: give it the
	 * listener's time to expect us. */
	rc = sr_tcp_set_timeout(s, timeout_ms + SR_DIRECT_HANDSHAKE_MS, err);
	if (rc == SR_OK)
		rc = sr_tcp_write_all(s, hello, sizeof(hello), err);
	if (rc == SR_OK)
		rc = sr_tcp_read_all(s, answer, sizeof(answer), &eof, err);
	if (rc == SR_OK && (memcmp(answer, MAGIC, 4) != 0 || answer[4] != VERSION ||
			    sodium_memcmp(answer + 5, tag_a, SR_DIRECT_TAG_BYTES) != 0))
		rc = sr_fail(err, SR_ECRYPTO,
			     "direct: %s at %.64s did not prove it holds this channel's key", to, addr);
	else if (rc && eof)
		rc = sr_failx(err, SR_EIO, "direct: %s at %.64s closed the connection (not expected)",
			      to, addr);
	/* Messages have no deadline of their own: the channel has one. */
	if (rc == SR_OK)
		rc = sr_tcp_set_timeout(s, SR_DIRECT_FRAME_MS, err);
	sodium_memzero(hello, sizeof(hello));
	if (rc) {
		close(s);
		return rc;
	}
	*fd = s;
	return SR_OK;
}

/* ---- messages ----------------------------------------------------------------- */

int sr_direct_send(int fd, const uint8_t *msg, size_t len, struct sr_err *err)
{
	uint8_t hdr[4];
	ssize_t n;

	if (len > UINT32_MAX)
		return sr_fail(err, SR_ELIMIT, "direct: a message of %zu bytes", len);
	sr_store_u32le(hdr, (uint32_t)len);
	/* The length goes with the message's first bytes (MSG_MORE). */
	do
		n = send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_MORE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sr_fail(err, SR_EIO, "direct: %s", strerror(errno));
	if ((size_t)n < sizeof(hdr)) {
		int rc = sr_tcp_write_all(fd, hdr + n, sizeof(hdr) - (size_t)n, err);
		if (rc)
			return rc;
	}
	return sr_tcp_write_all(fd, len ? (const void *)msg : "", len, err);
}

int sr_direct_recv(int fd, struct sr_buf *msg, size_t max, int timeout_ms,
		   struct sr_err *err)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint8_t hdr[4];
	uint32_t len;
	int eof = 0, rc, n;

	sr_buf_reset(msg);
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sr_fail(err, SR_EIO, "direct: %s", strerror(errno));
	if (n == 0)
		return sr_fail(err, SR_ETIMEOUT, "direct: nothing for %d ms", timeout_ms);
	rc = sr_tcp_read_all(fd, hdr, sizeof(hdr), &eof, err);
	if (rc)
		return eof ? sr_failx(err, SR_EIO, "direct: the connection was closed") : rc;
	len = sr_load_u32le(hdr);
	/* Before any allocation. */
	if (len > max || (msg->max && len > msg->max))
		return sr_fail(err, SR_ELIMIT,
			       "direct: a message of %u bytes, over the limit of %zu bytes",
			       len, max);
	rc = sr_buf_grow(msg, len);
	if (rc == SR_ENOMEM)
		return sr_fail(err, rc, "out of memory");
	if (rc)
		return sr_fail(err, rc, "direct: a message of %u bytes, over the buffer's limit", len);
	rc = sr_tcp_read_all(fd, msg->data, len, NULL, err);
	if (rc)
		return rc;
	sr_buf_setlen(msg, len);
	return SR_OK;
}
