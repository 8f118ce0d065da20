/*
 * pipe.h - a framed, reliable, ordered message transport to one peer: the
 * one type that protocol libraries (src/psi/, src/he/, src/ml/, ...) talk
 * through, so they know nothing of job channels, sockets or mailboxes.
 * The job channel (net/jobchan.h: sr_jobchan_pipe), the two-party TCP
 * channel (net/channel.h) and in-process test transports all provide one.
 *
 * send delivers the whole message msg[0..len) as one message (it may block
 * until the peer has room); it returns SR_OK or a negative status with err
 * filled.  recv replaces the contents of msg with the next whole message;
 * a message longer than max_len fails (SR_ELIMIT or SR_EPROTO) and the
 * end of the stream fails too (SR_EPROTO or SR_EIO: a protocol run never
 * ends by EOF).  After a failure of either, the transport is not used
 * again.  When a protocol run fails, the caller must close or abort the
 * transport so the peer sees end of stream instead of waiting.
 */
#ifndef SR_PIPE_H
#define SR_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct sr_pipe {
	void *ctx;
	int (*send)(void *ctx, const uint8_t *msg, size_t len,
		    struct sr_err *err);
	int (*recv)(void *ctx, struct sr_buf *msg, size_t max_len,
		    struct sr_err *err);
};

#endif
