/*
 * direct.h - the job channel's direct path (DESIGN §7 "Bulk transport",
 * docs/protocols/jobchan.md §6): where two participants can reach each
 * other, one's sealed messages go to the other over a TCP connection of
 * their own instead of through the coordinator's mailboxes.  The sealing,
 * the seq rule and every check are the job channel's, unchanged: this
 * module only carries the bytes and binds each connection to one
 * direction of one channel.
 *
 * A node listens for its peers (`sealroom node --data-listen ADDR`) and
 * advertises the address in its signed hello.  A sender that finds an
 * address in the hello of the party it sends to connects there and proves
 * it holds the channel's key for that direction; the listener answers
 * with proof of the other direction's key, and hands the connection to
 * the channel that expected it.  Nobody else can take a connection's
 * place: without the keys of that run (X25519 of both ephemeral keys)
 * the proofs cannot be made, and the listener accepts one connection per
 * direction and run.
 *
 *   connector -> listener:  "SRJD" ‖ u8 version (1) ‖ job_id[32] ‖
 *                           from[36] ‖ to[36] ‖ tag_c[32]
 *   listener -> connector:  "SRJD" ‖ u8 version (1) ‖ tag_a[32]
 *   then connector -> listener, each message:  u32le len ‖ len bytes
 *   (len at most SR_JOBCHAN_DIRECT_FRAME_MAX, checked before reading)
 *
 * tag_c and tag_a are made by the job channel from keys only the two
 * parties of that direction have (jobchan.c); here they are compared in
 * constant time.
 */
#ifndef SR_DIRECT_H
#define SR_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define SR_DIRECT_TAG_BYTES 32
#define SR_DIRECT_ADDR_MAX 64        /* bytes of an address, NUL included */

struct sr_direct;

/*
 * A listener on addr ("HOST:PORT"; port 0 picks one) that advertises
 * itself as advertise (NULL: the address it is bound to; tests put a
 * proxy there).  addr NULL: no listener, only connections out to peers
 * that have one.  Starts a thread that accepts and checks connections.
 */
int sr_direct_new(const char *addr, const char *advertise, struct sr_direct **out,
		  struct sr_err *err) SR_WUR;
/* Stop listening, close what was not taken, free.  NULL does nothing.
 * No channel may still use it. */
void sr_direct_free(struct sr_direct *d);

/* The address peers should connect to, or NULL when not listening. */
const char *sr_direct_advertised(const struct sr_direct *d);
/* The address it is bound to (numeric), or NULL when not listening. */
const char *sr_direct_local(const struct sr_direct *d);

/* The listener side.  Expect the connection of from -> to in job: it
 * must show tag_c, and is answered tag_a.  SR_EEXIST if one is expected
 * already. */
int sr_direct_expect(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		     const char *to, const uint8_t tag_c[SR_DIRECT_TAG_BYTES],
		     const uint8_t tag_a[SR_DIRECT_TAG_BYTES], struct sr_err *err) SR_WUR;
/* Wait up to timeout_ms for that connection: its socket in *fd (the
 * caller closes it), or SR_ETIMEOUT.  Ends the expectation either way. */
int sr_direct_take(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		   const char *to, int timeout_ms, int *fd, struct sr_err *err) SR_WUR;
/* End an expectation without taking (nothing if there is none). */
void sr_direct_cancel(struct sr_direct *d, const uint8_t job_id[32], const char *from,
		      const char *to);

/* The connector side: connect to addr within timeout_ms, show tag_c, and
 * check the answer is tag_a.  SR_EIO/SR_ETIMEOUT when it cannot be
 * reached, SR_ECRYPTO when the answer is wrong (not the peer). */
int sr_direct_connect(const char *addr, const uint8_t job_id[32], const char *from,
		      const char *to, const uint8_t tag_c[SR_DIRECT_TAG_BYTES],
		      const uint8_t tag_a[SR_DIRECT_TAG_BYTES], int timeout_ms, int *fd,
		      struct sr_err *err) SR_WUR;

/* One message onto a connection (blocking: TCP's own window is the send
 * window).  SR_EIO when the peer is gone. */
int sr_direct_send(int fd, const uint8_t *msg, size_t len, struct sr_err *err) SR_WUR;

/*
 * The next message from a connection into msg (replacing its contents),
 * at most max bytes: SR_ETIMEOUT if none starts within timeout_ms (a
 * message once started must arrive whole within SR_DIRECT_FRAME_MS),
 * SR_ELIMIT over max (before reading it), SR_EIO at the end of the stream
 * or on a broken one.
 */
int sr_direct_recv(int fd, struct sr_buf *msg, size_t max, int timeout_ms,
		   struct sr_err *err) SR_WUR;

#endif
