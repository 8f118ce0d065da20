/*
 * buf.h - the growable byte buffer (after git's strbuf and curl's dynbuf).
 *
 * Invariants: after sr_buf_init() data is never NULL and always
 * NUL-terminated at data[len]; cap is the allocated size.  A buffer fed by
 * untrusted input is given a max (bytes, not counting the NUL): growing past
 * it fails with SR_ELIMIT and leaves the contents as they were.  Ownership
 * of the memory leaves the buffer only through sr_buf_detach().
 */
#ifndef SR_BUF_H
#define SR_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct sr_buf {
	char *data;
	size_t len;
	size_t cap;   /* 0 while data points at the shared empty string */
	size_t max;   /* 0 = no cap */
};

/* max for a buffer that is unbounded on purpose (its producer is bounded
 * elsewhere, e.g. by a store scan): say so rather than pass a bare 0. */
#define SR_BUF_UNBOUNDED 0

/* Empty buffer with a cap of max bytes (0 = none). Never allocates. */
void sr_buf_init(struct sr_buf *buf, size_t max);
/* Free the memory and return to the empty state (the cap is kept). */
void sr_buf_release(struct sr_buf *buf);
/* Overwrite the contents with zeros, then release (for secrets). */
void sr_buf_wipe(struct sr_buf *buf);
/* Make len 0 without freeing. */
void sr_buf_reset(struct sr_buf *buf);

/* Ensure room for extra more bytes.  SR_ENOMEM or SR_ELIMIT. */
int sr_buf_grow(struct sr_buf *buf, size_t extra) SR_WUR;
int sr_buf_add(struct sr_buf *buf, const void *data, size_t len) SR_WUR;
int sr_buf_addstr(struct sr_buf *buf, const char *s) SR_WUR;
int sr_buf_addch(struct sr_buf *buf, char c) SR_WUR;
int sr_buf_addf(struct sr_buf *buf, const char *fmt, ...) SR_WUR
	__attribute__((format(printf, 2, 3)));
int sr_buf_vaddf(struct sr_buf *buf, const char *fmt, va_list ap) SR_WUR
	__attribute__((format(printf, 2, 0)));
/* Little-endian fixed-width integers. */
int sr_buf_add_u32le(struct sr_buf *buf, uint32_t v) SR_WUR;
int sr_buf_add_u64le(struct sr_buf *buf, uint64_t v) SR_WUR;
/* Set len (must be <= cap) and re-terminate. */
void sr_buf_setlen(struct sr_buf *buf, size_t len);

/*
 * Hand the memory to the caller (free with sr_free) and reset the buffer.
 * Returns a freshly allocated empty string for an empty buffer, or NULL on
 * allocation failure.  *len_out (optional) receives the length.
 */
char *sr_buf_detach(struct sr_buf *buf, size_t *len_out);

/* Little-endian readers for decoders. */
static inline uint32_t sr_load_u32le(const void *p)
{
	const unsigned char *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline uint64_t sr_load_u64le(const void *p)
{
	const unsigned char *b = p;
	return (uint64_t)sr_load_u32le(b) | (uint64_t)sr_load_u32le(b + 4) << 32;
}

static inline void sr_store_u32le(void *p, uint32_t v)
{
	unsigned char *b = p;
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static inline void sr_store_u64le(void *p, uint64_t v)
{
	sr_store_u32le(p, (uint32_t)v);
	sr_store_u32le((unsigned char *)p + 4, (uint32_t)(v >> 32));
}

#endif
