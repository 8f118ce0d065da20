/*
 * psi_wire.c - encoding and strict decoding of PSI messages
 * (docs/protocols/psi.md, "Messages").  All integers are little-endian;
 * reserved bytes must be zero; every length is exact.
 */
#include <sodium.h>
#include <string.h>

#include "base/buf.h"
#include "psi/psi_int.h"
#include "base/banned.h"

_Static_assert(SR_PSI_HELLO_BYTES == 1 + 1 + 1 + 1 + 1 + 1 + 2 + 4 + 4 + 8 +
	       SR_HASH_BYTES, "hello layout");
_Static_assert(SR_PSI_BATCH_MAX * (size_t)SR_POINT_BYTES + SR_PSI_HEAD_BYTES <=
	       SR_FRAME_MAX, "a full points message fits in a frame");
_Static_assert(SR_PSI_PARTIES_MAX <= UINT16_MAX, "parties fit in u16");

/* BLAKE2b over version, mode, output, normalization, parties and the
 * length-prefixed session id. */
void sr_psi_params_digest(const struct sr_psi_params *params,
			  uint8_t out[SR_HASH_BYTES])
{
	struct sr_hasher h;
	uint8_t fixed[12];

	fixed[0] = SR_PSI_VERSION;
	fixed[1] = (uint8_t)params->mode;
	fixed[2] = (uint8_t)params->output;
	fixed[3] = (uint8_t)params->normalize;
	sr_store_u32le(fixed + 4, params->parties);
	sr_store_u32le(fixed + 8, (uint32_t)params->session_id_len);
	sr_hasher_init(&h, SR_PSI_PARAMS_DOMAIN);
	sr_hasher_update(&h, fixed, sizeof(fixed));
	sr_hasher_update(&h, params->session_id, params->session_id_len);
	sr_hasher_final(&h, out);
}

/* 56 bytes: see docs/protocols/psi.md, "HELLO". */
void sr_psi_hello_encode(uint8_t out[SR_PSI_HELLO_BYTES],
			 const struct sr_psi_hello *hello)
{
	out[0] = SR_PSI_MSG_HELLO;
	out[1] = hello->version;
	out[2] = hello->role;
	out[3] = hello->mode;
	out[4] = hello->output;
	out[5] = hello->normalize;
	out[6] = (uint8_t)hello->parties;
	out[7] = (uint8_t)(hello->parties >> 8);
	sr_store_u32le(out + 8, hello->batch);
	sr_store_u32le(out + 12, hello->protocol);
	sr_store_u64le(out + 16, hello->set_size);
	memcpy(out + 24, hello->digest, SR_HASH_BYTES);
}

/* Exact length, type and reserved bytes; fields are checked by the caller. */
int sr_psi_hello_decode(const uint8_t *msg, size_t len,
			struct sr_psi_hello *hello, struct sr_err *err)
{
	if (len < 1 || msg[0] != SR_PSI_MSG_HELLO)
		return sr_fail(err, SR_EPROTO,
			       "psi: expected a hello message from the peer, got type %d",
			       len ? msg[0] : -1);
	if (len != SR_PSI_HELLO_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "psi: hello message is %zu bytes, expected %d",
			       len, SR_PSI_HELLO_BYTES);
	if (sr_load_u32le(msg + 12) > SR_PSI_HELLO_KKRT)
		return sr_fail(err, SR_EPROTO,
			       "psi: hello message has an unknown protocol or non-zero reserved bytes");
	hello->protocol = msg[12];
	hello->version = msg[1];
	hello->role = msg[2];
	hello->mode = msg[3];
	hello->output = msg[4];
	hello->normalize = msg[5];
	hello->parties = (uint16_t)(msg[6] | msg[7] << 8);
	hello->batch = sr_load_u32le(msg + 8);
	hello->set_size = sr_load_u64le(msg + 16);
	memcpy(hello->digest, msg + 24, SR_HASH_BYTES);
	return SR_OK;
}

/* type, aux, two zero bytes, u32le count. */
void sr_psi_head_encode(uint8_t out[SR_PSI_HEAD_BYTES], enum sr_psi_msg type,
			uint8_t aux, uint32_t count)
{
	out[0] = (uint8_t)type;
	out[1] = aux;
	out[2] = 0;
	out[3] = 0;
	sr_store_u32le(out + 4, count);
}

static const char *msg_name(int type)
{
	switch (type) {
	case SR_PSI_MSG_HELLO: return "hello";
	case SR_PSI_MSG_POINTS: return "points";
	case SR_PSI_MSG_TAGS: return "tags";
	case SR_PSI_MSG_COUNT: return "count";
	case SR_PSI_MSG_RESULT: return "result";
	case SR_PSI_MSG_DONE: return "done";
	case SR_PSI_MSG_KKRT_SETUP: return "kkrt setup";
	case SR_PSI_MSG_KKRT_OT: return "kkrt base OT";
	case SR_PSI_MSG_KKRT_U: return "kkrt extension";
	case SR_PSI_MSG_WAIT: return "wait";
	case SR_PSI_MSG_ABORT: return "abort";
	}
	return "unknown";
}

/* Exact header and length check of a received message (SR_EPROTO). */
int sr_psi_msg_check(const uint8_t *msg, size_t len, enum sr_psi_msg type,
		     uint8_t aux, uint32_t count, size_t item_bytes,
		     const char *what, struct sr_err *err)
{
	uint32_t got;

	if (len < SR_PSI_HEAD_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: message of %zu bytes is shorter than its %d-byte header",
			       what, len, SR_PSI_HEAD_BYTES);
	if (msg[0] != type)
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: expected a %s message, got %s (type %d)",
			       what, msg_name(type), msg_name(msg[0]), msg[0]);
	if (msg[1] != aux)
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: header byte 1 is %d, expected %d",
			       what, msg[1], aux);
	if (msg[2] || msg[3])
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: non-zero reserved bytes", what);
	got = sr_load_u32le(msg + 4);
	if (got != count)
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: announces %u items, expected %u",
			       what, got, count);
	if (len != sr_psi_msg_bytes(count, item_bytes))
		return sr_fail(err, SR_EPROTO,
			       "psi: %s: %zu bytes for %u items, expected %zu",
			       what, len, count, sr_psi_msg_bytes(count, item_bytes));
	return SR_OK;
}

/* COUNT: header with count 0, then u64le count. */
void sr_psi_count_encode(uint8_t out[SR_PSI_COUNT_BYTES], uint64_t count)
{
	sr_psi_head_encode(out, SR_PSI_MSG_COUNT, 0, 0);
	sr_store_u64le(out + 8, count);
}

/* SR_EPROTO unless msg is exactly a COUNT message. */
int sr_psi_count_decode(const uint8_t *msg, size_t len, uint64_t *count,
			struct sr_err *err)
{
	int rc;

	/* The header is checked alone, then the exact length. */
	rc = sr_psi_msg_check(msg, len < SR_PSI_HEAD_BYTES ? len : SR_PSI_HEAD_BYTES,
			      SR_PSI_MSG_COUNT, 0, 0, 0, "count message", err);
	if (rc)
		return rc;
	if (len != SR_PSI_COUNT_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "psi: count message is %zu bytes, expected %d",
			       len, SR_PSI_COUNT_BYTES);
	*count = sr_load_u64le(msg + 8);
	return SR_OK;
}

/* ABORT: the reason travels in the count field. */
void sr_psi_abort_encode(uint8_t out[SR_PSI_ABORT_BYTES], uint32_t reason)
{
	sr_psi_head_encode(out, SR_PSI_MSG_ABORT, 0, reason);
}

/* Always returns SR_EPROTO, naming the peer's reason when known. */
int sr_psi_abort_fail(const uint8_t *msg, size_t len, struct sr_err *err)
{
	const char *why = "unknown reason";

	if (len == SR_PSI_ABORT_BYTES) {
		switch (sr_load_u32le(msg + 4)) {
		case SR_PSI_ABORT_VERSION:
			why = "unsupported protocol version";
			break;
		case SR_PSI_ABORT_PARAMS:
			why = "the PSI parameters differ (mode, result, normalization, parties or session id)";
			break;
		case SR_PSI_ABORT_LIMIT:
			why = "a set is over the size limit";
			break;
		case SR_PSI_ABORT_MALFORMED:
			why = "malformed message";
			break;
		}
	}
	return sr_fail(err, SR_EPROTO, "psi: the peer aborted: %s", why);
}
