/*
 * sb_int.h - what secureboost.c (training) and sb_model.c (prediction,
 * storage) share: message types, the link to a peer with its checks, and
 * row bitmaps.  Internal to src/ml/; not an API.
 */
#ifndef SR_ML_SB_INT_H
#define SR_ML_SB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "ml/secureboost.h"
#include "net/pipe.h"

enum {
	MSG_HELLO = 1,
	MSG_LAYOUT = 2,
	MSG_TREE = 3,
	MSG_CTS = 4,
	MSG_SPLIT = 5,
	MSG_SPLIT_BITS = 6,
	MSG_HIST = 7,
	MSG_END = 8,
	MSG_DONE = 9,
	MSG_PRED_REQ = 10,
	MSG_PRED_BITS = 11,
};

extern const char *const sb_msg_names[];

struct sb_link {
	const struct sr_pipe *pipe;
	struct sr_buf in;
	struct sr_ml_sb_stats *stats;
	const char *peer;               /* "passive party 2", "the active party" */
};

void sb_link_init(struct sb_link *l, const struct sr_pipe *pipe, struct sr_ml_sb_stats *stats);
int sb_link_send(struct sb_link *l, struct sr_buf *msg, struct sr_err *err) SR_WUR;
/* Receive a message of `type` into l->in; returns its body (after the
 * two header bytes) and length. */
int sb_link_recv(struct sb_link *l, int type, const uint8_t **body, size_t *len,
		     struct sr_err *err) SR_WUR;
int sb_msg_start(struct sr_buf *m, int type) SR_WUR;
int sb_add_u8(struct sr_buf *m, unsigned v) SR_WUR;
int sb_add_f64(struct sr_buf *m, double v) SR_WUR;
int sb_bad_len(struct sr_err *err, const struct sb_link *l, int type, size_t got, size_t want) SR_WUR;

static inline size_t sb_bitmap_bytes(size_t bits)
{
	return (bits + 7) / 8;
}

static inline int sb_bit_get(const uint8_t *b, size_t i)
{
	return (b[i / 8] >> (i % 8)) & 1;
}

static inline void sb_bit_set(uint8_t *b, size_t i)
{
	b[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Unused bits of a bitmap's last byte must be 0 (one encoding only). */
static inline int sb_bitmap_check(const uint8_t *b, size_t bits)
{
	if (bits % 8 == 0)
		return 1;
	return (b[bits / 8] >> (bits % 8)) == 0;
}

#endif
