/*
 * vec.h - a typed column vector: what import fills and scan returns.
 *
 * Layout by type:
 *   int64    i64[rows]
 *   float64  f64[rows]
 *   date     date[rows]  (days since 1970-01-01)
 *   bool     b[rows]     (0 or 1)
 *   string   offsets[rows + 1] into bytes; value i is
 *            bytes.data[offsets[i] .. offsets[i+1])
 * NULLs: bit i of nulls (LSB first) is set when row i is NULL; its value
 * slot holds 0 / an empty string.  The struct owns all its memory.
 */
#ifndef SR_VEC_H
#define SR_VEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/value.h"

struct sr_vec {
	enum sr_type type;
	size_t rows;
	size_t cap;            /* value slots allocated */
	size_t null_count;
	uint8_t *nulls;        /* cap/8 bytes, zeroed */
	union {
		int64_t *i64;
		double *f64;
		int32_t *date;
		uint8_t *b;
		void *raw;
	} v;
	uint32_t *offsets;     /* string only: cap + 1 entries */
	struct sr_buf bytes;   /* string only */
};

void sr_vec_init(struct sr_vec *vec, enum sr_type type);
void sr_vec_release(struct sr_vec *vec);
/* Keep the memory, drop the rows. */
void sr_vec_reset(struct sr_vec *vec);
/* Make room for rows more values. */
int sr_vec_reserve(struct sr_vec *vec, size_t rows) SR_WUR;

int sr_vec_append_null(struct sr_vec *vec) SR_WUR;
/*
 * Parse text as the vector's type and append it.  SR_EINVAL (no message)
 * when it does not parse; the caller names file, line and column.
 */
int sr_vec_append_text(struct sr_vec *vec, const char *s, size_t len) SR_WUR;

static inline int sr_vec_is_null(const struct sr_vec *vec, size_t row)
{
	return (vec->nulls[row >> 3] >> (row & 7)) & 1;
}

/* Append row `row` of src (same type) to dst, NULL included.  SR_EINVAL
 * for another type or a row past the end, SR_ENOMEM. */
int sr_vec_append_from(struct sr_vec *dst, const struct sr_vec *src,
		       size_t row) SR_WUR;
/* Append value row of vec as text (NULL appends nothing). */
int sr_vec_format(const struct sr_vec *vec, size_t row, struct sr_buf *out) SR_WUR;

/* Bytes of plaintext the rows represent (values + string bytes), used for
 * throughput figures. */
size_t sr_vec_plain_bytes(const struct sr_vec *vec);

#endif
