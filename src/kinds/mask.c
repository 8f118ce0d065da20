/*
 * mask.c - masks on revealed values (mask.h).
 */
#include "kinds/mask.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

#include "base/banned.h"

_Static_assert(SR_MASK_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
	       SR_MASK_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX, "mask key size");
_Static_assert(SR_MASK_HASH_HEX / 2 >= crypto_generichash_BYTES_MIN, "mask hash size");

/* Domain separation of the key derivation; bump the version to change it. */
#define MASK_KEY_CONTEXT "sealroom mask key v1"

void sr_mask_derive_key(const uint8_t secret[32], const char *dataset,
			const char *receiver, uint8_t key[SR_MASK_KEY_BYTES])
{
	crypto_generichash_state st;
	static const uint8_t zero = 0;

	/* NUL-separated: no dataset/receiver pair reads as another. */
	crypto_generichash_init(&st, secret, 32, SR_MASK_KEY_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)MASK_KEY_CONTEXT,
				  sizeof(MASK_KEY_CONTEXT));
	crypto_generichash_update(&st, (const uint8_t *)dataset, strlen(dataset));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, (const uint8_t *)receiver, strlen(receiver));
	crypto_generichash_final(&st, key, SR_MASK_KEY_BYTES);
	sodium_memzero(&st, sizeof(st));
}

int sr_kind_mask_key(const struct sr_kind_ctx *c, size_t input,
		     const struct sr_policy_column *col, const char *receiver,
		     uint8_t key[SR_MASK_KEY_BYTES], struct sr_err *err)
{
	enum sr_hash_scope scope = col ? col->hash_scope : SR_HASH_PER_RECEIVER;

	if (input >= c->ninputs)
		return sr_fail(err, SR_EINVAL, "mask: input %zu: the job has %zu inputs",
			       input, c->ninputs);
	if (!c->inputs[input].local)
		return sr_fail(err, SR_EPERM, "mask: %s belongs to another organization",
			       c->inputs[input].dataset);
	if (!c->mask_key)
		return sr_fail(err, SR_EINTERNAL,
			       "mask: the runner gave no mask secret");
	return c->mask_key(c->impl, input,
			   scope == SR_HASH_PER_OWNER ? "" : c->inputs[input].dataset,
			   scope == SR_HASH_PER_RECEIVER ? receiver : "", key, err);
}

int sr_mask_needs_key(const struct sr_policy_column *col)
{
	return col && col->mask == SR_MASK_HASH;
}

/* Bytes of the first n UTF-8 code points of s (len bytes, valid UTF-8). */
static size_t utf8_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;

	while (i < len && n > 0) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static int mask_range(const struct sr_policy_column *col, const char *text,
		      size_t len, struct sr_buf *out, struct sr_err *err)
{
	double x, w = col->mask_param, lo;

	if (sr_value_parse_float64(text, len, &x) != SR_OK || !isfinite(x))
		return sr_fail(err, SR_EINVAL,
			       "mask: column %.64s: range:W needs a number", col->name);
	lo = floor(x / w) * w;
	if (sr_buf_addstr(out, "[") || sr_value_format_float64(out, lo) ||
	    sr_buf_addstr(out, ", ") || sr_value_format_float64(out, lo + w) ||
	    sr_buf_addstr(out, ")"))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

int sr_mask_text(const struct sr_policy_column *col,
		 const uint8_t key[SR_MASK_KEY_BYTES], const char *text,
		 size_t len, struct sr_buf *out, struct sr_err *err)
{
	uint8_t digest[SR_MASK_HASH_HEX / 2];
	char hex[SR_MASK_HASH_HEX + 1];
	int rc = SR_OK;

	switch (col ? col->mask : SR_MASK_NONE) {
	case SR_MASK_NONE:
		if (sr_buf_add(out, text, len))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		break;
	case SR_MASK_HASH:
		if (!key)
			return sr_fail(err, SR_EINTERNAL,
				       "mask: column %.64s: a hash mask needs its key", col->name);
		crypto_generichash(digest, sizeof(digest), (const uint8_t *)text, len,
				   key, SR_MASK_KEY_BYTES);
		sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
		if (sr_buf_addstr(out, hex))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		break;
	case SR_MASK_TRUNCATE:
		if (sr_buf_add(out, text, utf8_prefix(text, len, (size_t)col->mask_param)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		break;
	case SR_MASK_RANGE:
		rc = mask_range(col, text, len, out, err);
		break;
	}
	return rc;
}

int sr_mask_vec(const struct sr_policy_column *col,
		const uint8_t key[SR_MASK_KEY_BYTES], const struct sr_vec *in,
		struct sr_vec *out, struct sr_err *err)
{
	struct sr_buf text, masked;
	int rc = SR_OK;

	if (!col || col->mask == SR_MASK_NONE) {
		sr_vec_init(out, in->type);
		for (size_t r = 0; r < in->rows; r++)
			if (sr_vec_append_from(out, in, r)) {
				sr_vec_release(out);
				return sr_fail(err, SR_ENOMEM, "out of memory");
			}
		return SR_OK;
	}
	sr_vec_init(out, SR_TYPE_STRING);
	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	sr_buf_init(&masked, SR_BUF_UNBOUNDED);
	for (size_t r = 0; rc == SR_OK && r < in->rows; r++) {
		if (sr_vec_is_null(in, r)) {
			if (sr_vec_append_null(out))
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
			continue;
		}
		sr_buf_reset(&text);
		sr_buf_reset(&masked);
		if (sr_vec_format(in, r, &text))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		if (rc == SR_OK)
			rc = sr_mask_text(col, key, text.data, text.len, &masked, err);
		if (rc == SR_OK && sr_vec_append_text(out, masked.data, masked.len))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_buf_release(&text);
	sr_buf_release(&masked);
	if (rc)
		sr_vec_release(out);
	return rc;
}

int sr_mask_json(const struct sr_policy_column *col,
		 const uint8_t key[SR_MASK_KEY_BYTES], json_t *in,
		 json_t **out, struct sr_err *err)
{
	struct sr_buf text, masked;
	int rc = SR_OK;

	*out = NULL;
	if (!col || col->mask == SR_MASK_NONE || json_is_null(in)) {
		*out = json_incref(in);
		return SR_OK;
	}
	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	sr_buf_init(&masked, SR_BUF_UNBOUNDED);
	if (json_is_string(in))
		rc = sr_buf_add(&text, json_string_value(in), json_string_length(in));
	else if (json_is_integer(in))
		rc = sr_value_format_int64(&text, (int64_t)json_integer_value(in));
	else if (json_is_real(in))
		rc = sr_value_format_float64(&text, json_real_value(in));
	else if (json_is_boolean(in))
		rc = sr_value_format_bool(&text, json_is_true(in));
	else
		rc = sr_fail(err, SR_EINVAL, "mask: column %.64s: not a scalar", col->name);
	if (rc == SR_ENOMEM)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		rc = sr_mask_text(col, key, text.data, text.len, &masked, err);
	if (rc == SR_OK && !(*out = json_stringn(masked.data, masked.len)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	sr_buf_release(&text);
	sr_buf_release(&masked);
	return rc;
}
