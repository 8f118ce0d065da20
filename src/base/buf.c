#include "base/buf.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

static char empty_string[1];

void sr_buf_init(struct sr_buf *buf, size_t max)
{
	buf->data = empty_string;
	buf->len = 0;
	buf->cap = 0;
	buf->max = max;
}

void sr_buf_release(struct sr_buf *buf)
{
	if (buf->cap)
		sr_free(buf->data);
	sr_buf_init(buf, buf->max);
}

void sr_buf_wipe(struct sr_buf *buf)
{
	if (buf->cap)
		sodium_memzero(buf->data, buf->cap);
	sr_buf_release(buf);
}

void sr_buf_reset(struct sr_buf *buf)
{
	if (buf->cap)
		sr_buf_setlen(buf, 0);
}

int sr_buf_grow(struct sr_buf *buf, size_t extra)
{
	size_t need, cap;
	char *data;

	if (extra > SIZE_MAX - buf->len - 1)
		return SR_ELIMIT;
	need = buf->len + extra + 1;
	if (buf->max && need - 1 > buf->max)
		return SR_ELIMIT;
	if (need <= buf->cap)
		return SR_OK;
	cap = buf->cap ? buf->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (buf->max && cap > buf->max + 1)
		cap = buf->max + 1;
	data = sr_realloc(buf->cap ? buf->data : NULL, cap);
	if (!data)
		return SR_ENOMEM;
	if (!buf->cap)
		data[0] = '\0';
	buf->data = data;
	buf->cap = cap;
	return SR_OK;
}

int sr_buf_add(struct sr_buf *buf, const void *data, size_t len)
{
	int rc = sr_buf_grow(buf, len);

	if (rc)
		return rc;
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return SR_OK;
}

int sr_buf_addstr(struct sr_buf *buf, const char *s)
{
	return sr_buf_add(buf, s, strlen(s));
}

int sr_buf_addch(struct sr_buf *buf, char c)
{
	return sr_buf_add(buf, &c, 1);
}

int sr_buf_vaddf(struct sr_buf *buf, const char *fmt, va_list ap)
{
	va_list copy;
	int n, rc;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return SR_EINVAL;
	rc = sr_buf_grow(buf, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	buf->len += (size_t)n;
	return SR_OK;
}

int sr_buf_addf(struct sr_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sr_buf_vaddf(buf, fmt, ap);
	va_end(ap);
	return rc;
}

int sr_buf_add_u32le(struct sr_buf *buf, uint32_t v)
{
	unsigned char b[4];

	sr_store_u32le(b, v);
	return sr_buf_add(buf, b, sizeof(b));
}

int sr_buf_add_u64le(struct sr_buf *buf, uint64_t v)
{
	unsigned char b[8];

	sr_store_u64le(b, v);
	return sr_buf_add(buf, b, sizeof(b));
}

void sr_buf_setlen(struct sr_buf *buf, size_t len)
{
	if (!buf->cap) {
		if (len)
			SR_BUG("sr_buf_setlen beyond capacity");
		return;
	}
	if (len >= buf->cap)
		SR_BUG("sr_buf_setlen beyond capacity");
	buf->len = len;
	buf->data[len] = '\0';
}

char *sr_buf_detach(struct sr_buf *buf, size_t *len_out)
{
	char *data;
	size_t len = buf->len;

	if (buf->cap) {
		data = buf->data;
	} else {
		data = sr_malloc(1);
		if (!data)
			return NULL;
		data[0] = '\0';
	}
	sr_buf_init(buf, buf->max);
	if (len_out)
		*len_out = len;
	return data;
}
