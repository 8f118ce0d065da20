/*
 * tcp.h - TCP sockets with clear errors: listen, accept and connect with
 * timeouts, and full reads and writes that never raise SIGPIPE.
 *
 * Addresses are "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all interfaces);
 * HOST may be a name.  Port 0 when listening picks a free port
 * (sr_tcp_local_addr tells which).  Every function that returns a file
 * descriptor hands it to the caller, who closes it.
 */
#ifndef SR_TCP_H
#define SR_TCP_H

#include <stddef.h>

#include "base/err.h"

#define SR_TCP_ADDR_MAX 64   /* bytes for a printed address, NUL included */

/* Bind and listen on addr; *fd_out is the listening socket. */
int sr_tcp_listen(const char *addr, int *fd_out, struct sr_err *err) SR_WUR;

/* The address a socket is bound to, as "HOST:PORT" (numeric). */
int sr_tcp_local_addr(int fd, char out[SR_TCP_ADDR_MAX],
		      struct sr_err *err) SR_WUR;

/* Wait up to timeout_ms (0 = forever) for one connection. SR_ETIMEOUT. */
int sr_tcp_accept(int listen_fd, int timeout_ms, int *fd_out,
		  struct sr_err *err) SR_WUR;

/* Connect to addr within timeout_ms (0 = the system's default). */
int sr_tcp_connect(const char *addr, int timeout_ms, int *fd_out,
		   struct sr_err *err) SR_WUR;

/* Make reads and writes on fd fail with SR_ETIMEOUT after timeout_ms of
 * silence (0 = never). */
int sr_tcp_set_timeout(int fd, int timeout_ms, struct sr_err *err) SR_WUR;

/* Write all len bytes (EINTR and short writes retried, no SIGPIPE). */
int sr_tcp_write_all(int fd, const void *data, size_t len,
		     struct sr_err *err) SR_WUR;

/* Read exactly len bytes.  End of stream before the first byte sets *eof
 * (if eof is not NULL) and fails; after it, it fails as truncation. */
int sr_tcp_read_all(int fd, void *data, size_t len, int *eof,
		    struct sr_err *err) SR_WUR;

#endif
