/*
 * fuzz_feed.h - the transport of the protocol fuzz targets: the fuzzer
 * plays the peer.  The input is cut into messages, each a little-endian
 * length of lenbytes (2 or 4) bytes and its bytes, handed to the party's
 * recv in turn; what the party sends is dropped.  Included by one target
 * each (static functions), so every target stays a single-file build.
 */
#ifndef SR_FUZZ_FEED_H
#define SR_FUZZ_FEED_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct feed {
	const uint8_t *data;
	size_t size, pos;
	unsigned lenbytes;
};

static int feed_send(void *ctx, const uint8_t *msg, size_t len,
		     struct sr_err *err)
{
	(void)ctx;
	(void)msg;
	(void)len;
	(void)err;
	return SR_OK;   /* what the party says is dropped */
}

static int feed_recv(void *ctx, struct sr_buf *msg, size_t max_len,
		     struct sr_err *err)
{
	struct feed *f = ctx;
	size_t len = 0;

	if (f->size - f->pos < f->lenbytes)
		return sr_fail(err, SR_EPROTO, "end of input");
	for (unsigned i = 0; i < f->lenbytes; i++)
		len |= (size_t)f->data[f->pos + i] << (8 * i);
	f->pos += f->lenbytes;
	if (len > max_len)
		return sr_fail(err, SR_ELIMIT, "message too long");
	if (len > f->size - f->pos)
		return sr_fail(err, SR_EPROTO, "end of input");
	sr_buf_reset(msg);
	if (sr_buf_add(msg, f->data + f->pos, len) != SR_OK)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	f->pos += len;
	return SR_OK;
}

#endif
