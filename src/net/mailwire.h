/*
 * mailwire.h - the binary bodies of the coordinator's job mailboxes
 * (docs/api.md, "Job mailboxes"): what the coordinator (src/coord/) writes
 * and the mailbox client (net/mailclient.h) reads.  No JSON and no base64
 * on the data path.
 *
 *   POST .../mailbox/TO/SEQ     body: the message itself (0 to
 *                               SR_MAILBOX_MSG_MAX bytes)
 *   GET  .../mailbox/FROM/NEXT  answer: zero or more records, oldest
 *                               first, each
 *                                 u64le seq ‖ u32le len ‖ len bytes
 *
 * An answer holds at most SR_MAILBOX_FETCH_MSGS_MAX records and, past its
 * first record, no more than SR_MAILBOX_FETCH_BYTES_MAX message bytes; an
 * empty answer means nothing came within the wait.  Both sides check
 * every length before they allocate for it.
 */
#ifndef SR_MAILWIRE_H
#define SR_MAILWIRE_H

#include <stdint.h>

#include "base/buf.h"
#include "base/limits.h"

#define SR_MAILWIRE_TYPE "application/octet-stream"
#define SR_MAILWIRE_RECORD_HDR 12          /* u64 seq, u32 len */

/* The largest answer a fetch can get: records of at most
 * SR_MAILBOX_FETCH_BYTES_MAX bytes, or one record of a whole message. */
#define SR_MAILWIRE_ANSWER_MAX \
	((SR_MAILBOX_FETCH_BYTES_MAX > SR_MAILBOX_MSG_MAX ? \
	  SR_MAILBOX_FETCH_BYTES_MAX : SR_MAILBOX_MSG_MAX) + \
	 (uint64_t)SR_MAILWIRE_RECORD_HDR * SR_MAILBOX_FETCH_MSGS_MAX)

static inline void sr_mailwire_record_header(uint8_t out[SR_MAILWIRE_RECORD_HDR],
					     uint64_t seq, uint32_t len)
{
	sr_store_u64le(out, seq);
	sr_store_u32le(out + 8, len);
}

#endif
