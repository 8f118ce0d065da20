/*
 * tcp.c - see tcp.h.  Plain POSIX sockets; name resolution through
 * getaddrinfo.
 */
#include "net/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/banned.h"

#define HOST_MAX 256

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" into host (may be empty) and port. */
static int split_addr(const char *addr, char host[HOST_MAX], char port[16],
		      struct sr_err *err)
{
	const char *colon, *h = addr;
	size_t hlen;

	if (!addr || !*addr)
		return sr_fail(err, SR_EINVAL, "empty address (expected HOST:PORT)");
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return sr_fail(err, SR_EINVAL,
				       "address '%s': expected [IPV6]:PORT", addr);
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return sr_fail(err, SR_EINVAL,
				       "address '%s': expected HOST:PORT", addr);
		hlen = (size_t)(colon - addr);
	}
	if (hlen >= HOST_MAX || strlen(colon + 1) >= 16 || !colon[1])
		return sr_fail(err, SR_EINVAL, "address '%s': bad host or port", addr);
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return sr_fail(err, SR_EINVAL,
				       "address '%s': the port must be a number", addr);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return SR_OK;
}

static int resolve(const char *addr, int passive, struct addrinfo **res,
		   struct sr_err *err)
{
	char host[HOST_MAX], port[16];
	struct addrinfo hints;
	int rc, gai;

	rc = split_addr(addr, host, port, err);
	if (rc)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV;
	gai = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (gai != 0)
		return sr_fail(err, SR_EINVAL, "cannot resolve '%s': %s", addr,
			       gai_strerror(gai));
	return SR_OK;
}

/* Listening socket on addr (SO_REUSEADDR, backlog 8); see tcp.h. */
int sr_tcp_listen(const char *addr, int *fd_out, struct sr_err *err)
{
	struct addrinfo *res = NULL, *ai;
	int rc, fd = -1, saved = 0;

	*fd_out = -1;
	rc = resolve(addr, 1, &res, err);
	if (rc)
		return rc;
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 8) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return sr_fail(err, SR_EIO, "cannot listen on %s: %s", addr,
			       strerror(saved));
	*fd_out = fd;
	return SR_OK;
}

/* Numeric "HOST:PORT" of the local end of fd. */
int sr_tcp_local_addr(int fd, char out[SR_TCP_ADDR_MAX], struct sr_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return sr_fail(err, SR_EIO, "getsockname: %s", strerror(errno));
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return sr_fail(err, SR_EIO, "cannot print the local address");
	snprintf(out, SR_TCP_ADDR_MAX, ss.ss_family == AF_INET6 ? "[%s]:%s" :
		 "%s:%s", host, port);
	return SR_OK;
}

static int wait_fd(int fd, short events, int timeout_ms, const char *what,
		   struct sr_err *err)
{
	struct pollfd p = { fd, events, 0 };
	int n;

	do
		n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sr_fail(err, SR_EIO, "%s: %s", what, strerror(errno));
	if (n == 0)
		return sr_fail(err, SR_ETIMEOUT, "%s: timed out after %d s", what,
			       timeout_ms / 1000);
	return SR_OK;
}

/* One connection from listen_fd within timeout_ms; see tcp.h. */
int sr_tcp_accept(int listen_fd, int timeout_ms, int *fd_out,
		  struct sr_err *err)
{
	int rc, fd;

	*fd_out = -1;
	rc = wait_fd(listen_fd, POLLIN, timeout_ms, "waiting for a connection", err);
	if (rc)
		return rc;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return sr_fail(err, SR_EIO, "accept: %s", strerror(errno));
	*fd_out = fd;
	return SR_OK;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *fd_out,
		       int *saved)
{
	int fd, flags, soerr = 0;
	socklen_t len = sizeof(soerr);
	struct pollfd p;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*saved = errno;
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		int n;
		if (errno != EINPROGRESS) {
			*saved = errno;
			close(fd);
			return -1;
		}
		p.fd = fd;
		p.events = POLLOUT;
		do
			n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			*saved = n == 0 ? ETIMEDOUT : errno;
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr) {
			*saved = soerr ? soerr : errno;
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, flags);
	*fd_out = fd;
	return 0;
}

/* Connected socket to addr (each resolved address tried in turn). */
int sr_tcp_connect(const char *addr, int timeout_ms, int *fd_out,
		   struct sr_err *err)
{
	struct addrinfo *res = NULL, *ai;
	int rc, saved = 0, one = 1;

	*fd_out = -1;
	rc = resolve(addr, 0, &res, err);
	if (rc)
		return rc;
	for (ai = res; ai; ai = ai->ai_next)
		if (connect_one(ai, timeout_ms, fd_out, &saved) == 0)
			break;
	freeaddrinfo(res);
	if (*fd_out < 0)
		return sr_fail(err, saved == ETIMEDOUT ? SR_ETIMEOUT : SR_EIO,
			       "cannot connect to %s: %s", addr, strerror(saved));
	/* Small handshake messages must not wait for Nagle. */
	setsockopt(*fd_out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return SR_OK;
}

/* SO_RCVTIMEO and SO_SNDTIMEO. */
int sr_tcp_set_timeout(int fd, int timeout_ms, struct sr_err *err)
{
	struct timeval tv;
	int one = 1;

	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return sr_fail(err, SR_EIO, "setting socket timeouts: %s",
			       strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return SR_OK;
}

/* All of data, with MSG_NOSIGNAL so a closed peer is an error, not a signal. */
int sr_tcp_write_all(int fd, const void *data, size_t len, struct sr_err *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return sr_fail(err, SR_ETIMEOUT,
					       "the peer stopped reading (timeout)");
			if (errno == EPIPE || errno == ECONNRESET)
				return sr_fail(err, SR_EIO, "connection closed by peer");
			return sr_fail(err, SR_EIO, "send: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return SR_OK;
}

/* Exactly len bytes, or a failure that tells EOF from truncation. */
int sr_tcp_read_all(int fd, void *data, size_t len, int *eof,
		    struct sr_err *err)
{
	char *p = data;
	size_t got = 0;

	if (eof)
		*eof = 0;
	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return sr_fail(err, SR_ETIMEOUT,
					       "no data from the peer (timeout)");
			if (errno == ECONNRESET)
				return sr_fail(err, SR_EIO, "connection reset by peer");
			return sr_fail(err, SR_EIO, "recv: %s", strerror(errno));
		}
		if (n == 0) {
			if (got == 0 && eof)
				*eof = 1;
			return sr_fail(err, SR_EPROTO, got ?
				       "connection closed by peer in the middle of a message" :
				       "connection closed by peer");
		}
		got += (size_t)n;
	}
	return SR_OK;
}
