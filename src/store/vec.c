#include "store/vec.h"

#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

static size_t value_size(enum sr_type type)
{
	switch (type) {
	case SR_TYPE_INT64: return sizeof(int64_t);
	case SR_TYPE_FLOAT64: return sizeof(double);
	case SR_TYPE_DATE: return sizeof(int32_t);
	case SR_TYPE_BOOL: return 1;
	case SR_TYPE_STRING: return 0;
	}
	return 0;
}

void sr_vec_init(struct sr_vec *vec, enum sr_type type)
{
	memset(vec, 0, sizeof(*vec));
	vec->type = type;
	sr_buf_init(&vec->bytes, 0xffffffffu);   /* offsets are u32 */
}

void sr_vec_release(struct sr_vec *vec)
{
	enum sr_type type = vec->type;

	sr_free(vec->nulls);
	sr_free(vec->v.raw);
	sr_free(vec->offsets);
	sr_buf_release(&vec->bytes);
	sr_vec_init(vec, type);
}

void sr_vec_reset(struct sr_vec *vec)
{
	if (vec->nulls)
		memset(vec->nulls, 0, (vec->cap + 7) / 8);
	vec->rows = 0;
	vec->null_count = 0;
	sr_buf_reset(&vec->bytes);
	if (vec->offsets)
		vec->offsets[0] = 0;
}

int sr_vec_reserve(struct sr_vec *vec, size_t rows)
{
	size_t need = vec->rows + rows, cap, old_bytes, new_bytes;
	uint8_t *nulls;

	if (need <= vec->cap)
		return SR_OK;
	cap = vec->cap ? vec->cap : 1024;
	while (cap < need)
		cap *= 2;
	old_bytes = (vec->cap + 7) / 8;
	new_bytes = (cap + 7) / 8;
	nulls = sr_realloc(vec->nulls, new_bytes);
	if (!nulls)
		return SR_ENOMEM;
	memset(nulls + old_bytes, 0, new_bytes - old_bytes);
	vec->nulls = nulls;
	if (vec->type == SR_TYPE_STRING) {
		uint32_t *offsets = sr_realloc(vec->offsets,
					       (cap + 1) * sizeof(uint32_t));
		if (!offsets)
			return SR_ENOMEM;
		if (!vec->offsets)
			offsets[0] = 0;
		vec->offsets = offsets;
	} else {
		void *values = sr_realloc(vec->v.raw,
					  cap * value_size(vec->type));
		if (!values)
			return SR_ENOMEM;
		vec->v.raw = values;
	}
	vec->cap = cap;
	return SR_OK;
}

int sr_vec_append_null(struct sr_vec *vec)
{
	size_t row = vec->rows;
	int rc = sr_vec_reserve(vec, 1);

	if (rc)
		return rc;
	vec->nulls[row >> 3] |= (uint8_t)(1u << (row & 7));
	vec->null_count++;
	switch (vec->type) {
	case SR_TYPE_INT64: vec->v.i64[row] = 0; break;
	case SR_TYPE_FLOAT64: vec->v.f64[row] = 0; break;
	case SR_TYPE_DATE: vec->v.date[row] = 0; break;
	case SR_TYPE_BOOL: vec->v.b[row] = 0; break;
	case SR_TYPE_STRING:
		vec->offsets[row + 1] = (uint32_t)vec->bytes.len;
		break;
	}
	vec->rows++;
	return SR_OK;
}

int sr_vec_append_text(struct sr_vec *vec, const char *s, size_t len)
{
	size_t row = vec->rows;
	int rc = sr_vec_reserve(vec, 1);
	int b;

	if (rc)
		return rc;
	switch (vec->type) {
	case SR_TYPE_INT64:
		rc = sr_value_parse_int64(s, len, &vec->v.i64[row]);
		break;
	case SR_TYPE_FLOAT64:
		rc = sr_value_parse_float64(s, len, &vec->v.f64[row]);
		break;
	case SR_TYPE_DATE:
		rc = sr_value_parse_date(s, len, &vec->v.date[row]);
		break;
	case SR_TYPE_BOOL:
		rc = sr_value_parse_bool(s, len, &b);
		vec->v.b[row] = (uint8_t)b;
		break;
	case SR_TYPE_STRING:
		rc = sr_buf_add(&vec->bytes, s, len);
		if (rc == SR_OK)
			vec->offsets[row + 1] = (uint32_t)vec->bytes.len;
		break;
	}
	if (rc)
		return rc;
	vec->rows++;
	return SR_OK;
}

int sr_vec_append_from(struct sr_vec *dst, const struct sr_vec *src, size_t row)
{
	size_t at = dst->rows;
	int rc;

	if (dst->type != src->type || row >= src->rows)
		return SR_EINVAL;
	if (sr_vec_is_null(src, row))
		return sr_vec_append_null(dst);
	rc = sr_vec_reserve(dst, 1);
	if (rc)
		return rc;
	switch (dst->type) {
	case SR_TYPE_INT64: dst->v.i64[at] = src->v.i64[row]; break;
	case SR_TYPE_FLOAT64: dst->v.f64[at] = src->v.f64[row]; break;
	case SR_TYPE_DATE: dst->v.date[at] = src->v.date[row]; break;
	case SR_TYPE_BOOL: dst->v.b[at] = src->v.b[row]; break;
	case SR_TYPE_STRING:
		rc = sr_buf_add(&dst->bytes, src->bytes.data + src->offsets[row],
				src->offsets[row + 1] - src->offsets[row]);
		if (rc)
			return rc;
		dst->offsets[at + 1] = (uint32_t)dst->bytes.len;
		break;
	}
	dst->rows++;
	return SR_OK;
}

int sr_vec_format(const struct sr_vec *vec, size_t row, struct sr_buf *out)
{
	if (sr_vec_is_null(vec, row))
		return SR_OK;
	switch (vec->type) {
	case SR_TYPE_INT64:
		return sr_value_format_int64(out, vec->v.i64[row]);
	case SR_TYPE_FLOAT64:
		return sr_value_format_float64(out, vec->v.f64[row]);
	case SR_TYPE_DATE:
		return sr_value_format_date(out, vec->v.date[row]);
	case SR_TYPE_BOOL:
		return sr_value_format_bool(out, vec->v.b[row]);
	case SR_TYPE_STRING:
		return sr_buf_add(out, vec->bytes.data + vec->offsets[row],
				  vec->offsets[row + 1] - vec->offsets[row]);
	}
	return SR_EINTERNAL;
}

size_t sr_vec_plain_bytes(const struct sr_vec *vec)
{
	if (vec->type == SR_TYPE_STRING)
		return vec->bytes.len;
	return vec->rows * value_size(vec->type);
}
