/*
 * query_join_int.h - internals of the join protocol (query_join.c) and
 * the kind's hooks (query_kind.c).  Not an API; Paillier is src/he.
 * docs/protocols/query-join.md has the protocol and its leakage.
 */
#ifndef SR_QUERY_JOIN_INT_H
#define SR_QUERY_JOIN_INT_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "kinds/query/query.h"

#define SR_QJ_BITS_MAX 4096

/* Message types of the protocol (each message: "SRQJ" u8 version u8 type
 * and the 16-byte session tag, then the body). */
enum qj_msg {
	QJ_KEYS = 1,       /* D -> V: per group, D's blinded keys */
	QJ_REPLY = 2,      /* V -> D: V's key, D's keys re-blinded, V's rows */
	QJ_SUMS = 3,       /* D -> V: per group, masked sums */
	QJ_OPEN = 4,       /* V -> D: their decryptions */
};

/* Everything one side of a join contributes, from its local input. */
struct qj_side {
	/* D: per group, the blinded-key multiset input (key bytes ->
	 * multiplicity), rows outside the domain. */
	struct q_hash *groups;      /* [L->ngroups] */
	uint64_t outside;
	/* V: distinct keys -> index, and per index naccs cells. */
	struct q_hash keys;
	uint64_t *vals;
	size_t nvals, room;
};

void qj_side_release(const struct q_layout *L, struct qj_side *s);
/* Scan local input `input` (the dimension holder's or the value
 * holder's, by L) into s (initialised here). */
int qj_side_build(const struct q_layout *L, const struct sr_kind_ctx *c, size_t input,
		  struct qj_side *s, struct sr_err *err) SR_WUR;

/* The two-party protocol over one pipe: as the dimension holder (cells:
 * L->ncells totals out) or the value holder (cells NULL).  bytes_sent
 * and bytes_received count the messages. */
struct qj_stats {
	uint64_t bytes_sent, bytes_received;
	uint64_t d_points, v_rows;
};
int qj_run_d(const struct q_layout *L, const struct qj_side *s, const uint8_t *session,
	     size_t session_len, unsigned bits, struct sr_pipe *pipe, uint64_t *cells,
	     struct qj_stats *st, struct sr_err *err) SR_WUR;
int qj_run_v(const struct q_layout *L, const struct qj_side *s, const uint8_t *session,
	     size_t session_len, unsigned bits, struct sr_pipe *pipe, struct qj_stats *st,
	     struct sr_err *err) SR_WUR;

#endif
