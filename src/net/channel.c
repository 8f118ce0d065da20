/*
 * channel.c - see channel.h.
 *
 * Handshake (I = initiator, R = responder; every message is a frame
 * u32le length ‖ body, at most SR_CHANNEL_HANDSHAKE_MAX bytes; bodies start
 * with "SRCH" ‖ version(1) ‖ type):
 *
 *   I -> R  INIT    sign_pk_I ‖ eph_I
 *   R -> I  RESP    sign_pk_R ‖ eph_R ‖ sig_R("sealroom.channel.v1/responder" ‖ T)
 *        or REFUSE  reason       (sign_pk_I is not R's configured peer)
 *   I -> R  FINISH  sig_I("sealroom.channel.v1/initiator" ‖ T)
 *        or REFUSE  reason       (sign_pk_R is not I's configured peer)
 *
 *   T = BLAKE2b-256("sealroom.channel.transcript.v1";
 *                   version ‖ sign_pk_I ‖ eph_I ‖ sign_pk_R ‖ eph_R)
 *
 * Each side checks the other's signing key against the one it was
 * configured with before anything else, and the signature over T, which
 * binds both identities to both ephemeral keys (no identity misbinding, no
 * replay of an old handshake).  crypto_kx on the ephemeral keys (I is the
 * client) gives rx/tx; the frame keys are BLAKE2b keyed with them over T.
 * The ephemeral secret keys are wiped as soon as the keys are derived:
 * recorded traffic stays secret if identity keys leak later.
 *
 * Frames: u32le ct_len ‖ XChaCha20-Poly1305(key_dir, nonce = u64le seq ‖
 * 0^16, plaintext).  seq counts frames per direction from 0; a receiver
 * only ever tries its next seq, so replays and reordering fail to open.
 */
#include "net/channel.h"

#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "net/tcp.h"
#include "base/banned.h"

#define MAGIC "SRCH"
#define VERSION 1
#define MSG_INIT 1
#define MSG_RESP 2
#define MSG_REFUSE 3
#define MSG_FINISH 4
#define PREFIX_BYTES 6                       /* magic, version, type */
#define KX_PK crypto_kx_PUBLICKEYBYTES
#define KX_SK crypto_kx_SECRETKEYBYTES
#define INIT_BYTES (PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES + KX_PK)
#define RESP_BYTES (PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES + KX_PK + SR_SIGN_BYTES)
#define REFUSE_BYTES (PREFIX_BYTES + 1)
#define FINISH_BYTES (PREFIX_BYTES + SR_SIGN_BYTES)
#define TRANSCRIPT_DOMAIN "sealroom.channel.transcript.v1"
#define SID_DOMAIN "sealroom.channel.sid.v1"
#define LABEL_RESPONDER "sealroom.channel.v1/responder"
#define LABEL_INITIATOR "sealroom.channel.v1/initiator"

_Static_assert(KX_PK == 32 && KX_SK == 32 &&
	       crypto_kx_SESSIONKEYBYTES == SR_AEAD_KEYBYTES,
	       "crypto_kx keys feed the AEAD");
_Static_assert(RESP_BYTES <= SR_CHANNEL_HANDSHAKE_MAX, "handshake fits");
_Static_assert(SR_FRAME_MAX + SR_AEAD_ABYTES <= UINT32_MAX, "length fits u32");

struct keys {                  /* in sodium_malloc memory */
	uint8_t send[SR_AEAD_KEYBYTES];
	uint8_t recv[SR_AEAD_KEYBYTES];
};

struct sr_channel {
	int fd;
	int broken;
	struct keys *keys;
	uint64_t send_seq;
	uint64_t recv_seq;
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint8_t transcript[SR_HASH_BYTES];
	char peer_org[SR_ORG_ID_LEN + 1];
	struct sr_buf out;         /* frame being sent */
};

/* ---- handshake frames -------------------------------------------------- */

static int hs_send(struct sr_channel *ch, const uint8_t *body, size_t len,
		   struct sr_err *err)
{
	uint8_t frame[4 + SR_CHANNEL_HANDSHAKE_MAX];
	int rc;

	sr_store_u32le(frame, (uint32_t)len);
	memcpy(frame + 4, body, len);
	rc = sr_tcp_write_all(ch->fd, frame, 4 + len, err);
	if (rc == SR_OK)
		ch->bytes_sent += 4 + len;
	return rc;
}

/* Read one handshake body of one of the sizes allowed by type. */
static int hs_recv(struct sr_channel *ch, uint8_t body[SR_CHANNEL_HANDSHAKE_MAX],
		   size_t *len, const char *what, struct sr_err *err)
{
	uint8_t head[4];
	uint32_t n;
	int rc;

	rc = sr_tcp_read_all(ch->fd, head, sizeof(head), NULL, err);
	if (rc)
		return sr_err_prefix(err, "channel handshake: reading %s", what);
	n = sr_load_u32le(head);
	if (n < PREFIX_BYTES || n > SR_CHANNEL_HANDSHAKE_MAX)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: %s of %u bytes (not a sealroom channel?)",
			       what, n);
	rc = sr_tcp_read_all(ch->fd, body, n, NULL, err);
	if (rc)
		return sr_err_prefix(err, "channel handshake: reading %s", what);
	ch->bytes_received += 4 + n;
	if (memcmp(body, MAGIC, 4) != 0)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: %s is not a sealroom channel message", what);
	if (body[4] != VERSION)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: the peer speaks version %d, we speak %d",
			       body[4], VERSION);
	*len = n;
	return SR_OK;
}

static void prefix(uint8_t *body, uint8_t type)
{
	memcpy(body, MAGIC, 4);
	body[4] = VERSION;
	body[5] = type;
}

static void transcript_hash(uint8_t out[SR_HASH_BYTES],
			    const uint8_t *sign_i, const uint8_t *eph_i,
			    const uint8_t *sign_r, const uint8_t *eph_r)
{
	struct sr_hasher h;
	uint8_t version = VERSION;

	sr_hasher_init(&h, TRANSCRIPT_DOMAIN);
	sr_hasher_update(&h, &version, 1);
	sr_hasher_update(&h, sign_i, SR_SIGN_PUBLICKEYBYTES);
	sr_hasher_update(&h, eph_i, KX_PK);
	sr_hasher_update(&h, sign_r, SR_SIGN_PUBLICKEYBYTES);
	sr_hasher_update(&h, eph_r, KX_PK);
	sr_hasher_final(&h, out);
}

/* label ‖ T: what each side signs. */
static size_t signed_message(uint8_t *out, const char *label,
			     const uint8_t t[SR_HASH_BYTES])
{
	size_t n = strlen(label);

	memcpy(out, label, n);
	memcpy(out + n, t, SR_HASH_BYTES);
	return n + SR_HASH_BYTES;
}

static void sign_transcript(const struct sr_identity *self, const char *label,
			    const uint8_t t[SR_HASH_BYTES],
			    uint8_t sig[SR_SIGN_BYTES])
{
	uint8_t msg[64 + SR_HASH_BYTES];

	sr_identity_sign(self, msg, signed_message(msg, label, t), sig);
}

static int verify_transcript(const uint8_t *pk, const char *label,
			     const uint8_t t[SR_HASH_BYTES],
			     const uint8_t sig[SR_SIGN_BYTES])
{
	uint8_t msg[64 + SR_HASH_BYTES];

	return sr_sign_verify(pk, msg, signed_message(msg, label, t), sig);
}

/* Frame keys: BLAKE2b keyed with the crypto_kx key, over T. */
static void derive(uint8_t out[SR_AEAD_KEYBYTES], const uint8_t kx[SR_AEAD_KEYBYTES],
		   const uint8_t t[SR_HASH_BYTES])
{
	crypto_generichash(out, SR_AEAD_KEYBYTES, t, SR_HASH_BYTES, kx,
			   SR_AEAD_KEYBYTES);
}

static int finish_keys(struct sr_channel *ch, int initiator,
		       const uint8_t eph_pk[KX_PK], const uint8_t eph_sk[KX_SK],
		       const uint8_t peer_eph[KX_PK], struct sr_err *err)
{
	uint8_t rx[SR_AEAD_KEYBYTES], tx[SR_AEAD_KEYBYTES];
	int bad;

	bad = initiator ?
		crypto_kx_client_session_keys(rx, tx, eph_pk, eph_sk, peer_eph) :
		crypto_kx_server_session_keys(rx, tx, eph_pk, eph_sk, peer_eph);
	if (bad == 0) {
		derive(ch->keys->send, tx, ch->transcript);
		derive(ch->keys->recv, rx, ch->transcript);
	}
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	if (bad)
		return sr_fail(err, SR_ECRYPTO,
			       "channel handshake: the peer's ephemeral key is invalid");
	return SR_OK;
}

/* SR_EPERM naming the identity presented and the one configured. */
static int refused(int responder, const uint8_t *pk, const uint8_t *expected,
		   struct sr_err *err)
{
	char got_id[SR_ORG_ID_LEN + 1], want_id[SR_ORG_ID_LEN + 1];

	sr_identity_org_id(got_id, pk);
	sr_identity_org_id(want_id, expected);
	if (responder)
		return sr_fail(err, SR_EPERM,
			       "refused a connection from %s: the configured peer is %s",
			       got_id, want_id);
	return sr_fail(err, SR_EPERM,
		       "the peer is %s, not the configured peer %s: connection refused",
		       got_id, want_id);
}

static int handshake_initiator(struct sr_channel *ch,
			       const struct sr_identity *self,
			       const uint8_t *peer_pk, uint8_t *eph_pk,
			       uint8_t *eph_sk, struct sr_err *err)
{
	uint8_t body[SR_CHANNEL_HANDSHAKE_MAX];
	const uint8_t *r_sign, *r_eph, *r_sig;
	size_t len = 0;
	int rc;

	prefix(body, MSG_INIT);
	memcpy(body + PREFIX_BYTES, self->sign_pk, SR_SIGN_PUBLICKEYBYTES);
	memcpy(body + PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES, eph_pk, KX_PK);
	rc = hs_send(ch, body, INIT_BYTES, err);
	if (rc)
		return sr_err_prefix(err, "channel handshake: sending hello");
	rc = hs_recv(ch, body, &len, "the peer's answer", err);
	if (rc)
		return rc;
	if (body[5] == MSG_REFUSE && len == REFUSE_BYTES)
		return sr_fail(err, SR_EPERM,
			       "the peer refused the connection: it does not accept our identity %s",
			       self->org_id);
	if (body[5] != MSG_RESP || len != RESP_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: expected the peer's hello (%d bytes), got type %d of %zu bytes",
			       RESP_BYTES, body[5], len);
	r_sign = body + PREFIX_BYTES;
	r_eph = r_sign + SR_SIGN_PUBLICKEYBYTES;
	r_sig = r_eph + KX_PK;
	if (sodium_memcmp(r_sign, peer_pk, SR_SIGN_PUBLICKEYBYTES) != 0) {
		prefix(body, MSG_REFUSE);
		body[PREFIX_BYTES] = 1;
		(void)hs_send(ch, body, REFUSE_BYTES, NULL);
		return refused(0, r_sign, peer_pk, err);
	}
	transcript_hash(ch->transcript, self->sign_pk, eph_pk, r_sign, r_eph);
	if (verify_transcript(r_sign, LABEL_RESPONDER, ch->transcript, r_sig))
		return sr_fail(err, SR_ECRYPTO,
			       "channel handshake: the peer's signature does not verify");
	rc = finish_keys(ch, 1, eph_pk, eph_sk, r_eph, err);
	if (rc)
		return rc;
	prefix(body, MSG_FINISH);
	sign_transcript(self, LABEL_INITIATOR, ch->transcript, body + PREFIX_BYTES);
	rc = hs_send(ch, body, FINISH_BYTES, err);
	if (rc)
		return sr_err_prefix(err, "channel handshake: sending the signature");
	return SR_OK;
}

static int handshake_responder(struct sr_channel *ch,
			       const struct sr_identity *self,
			       const uint8_t *peer_pk, uint8_t *eph_pk,
			       uint8_t *eph_sk, struct sr_err *err)
{
	uint8_t body[SR_CHANNEL_HANDSHAKE_MAX];
	uint8_t i_sign[SR_SIGN_PUBLICKEYBYTES], i_eph[KX_PK];
	size_t len = 0;
	int rc;

	rc = hs_recv(ch, body, &len, "the peer's hello", err);
	if (rc)
		return rc;
	if (body[5] != MSG_INIT || len != INIT_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: expected a hello (%d bytes), got type %d of %zu bytes",
			       INIT_BYTES, body[5], len);
	memcpy(i_sign, body + PREFIX_BYTES, SR_SIGN_PUBLICKEYBYTES);
	memcpy(i_eph, body + PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES, KX_PK);
	if (sodium_memcmp(i_sign, peer_pk, SR_SIGN_PUBLICKEYBYTES) != 0) {
		/* Refuse before revealing who we are. */
		prefix(body, MSG_REFUSE);
		body[PREFIX_BYTES] = 1;
		(void)hs_send(ch, body, REFUSE_BYTES, NULL);
		return refused(1, i_sign, peer_pk, err);
	}
	transcript_hash(ch->transcript, i_sign, i_eph, self->sign_pk, eph_pk);
	prefix(body, MSG_RESP);
	memcpy(body + PREFIX_BYTES, self->sign_pk, SR_SIGN_PUBLICKEYBYTES);
	memcpy(body + PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES, eph_pk, KX_PK);
	sign_transcript(self, LABEL_RESPONDER, ch->transcript,
			body + PREFIX_BYTES + SR_SIGN_PUBLICKEYBYTES + KX_PK);
	rc = hs_send(ch, body, RESP_BYTES, err);
	if (rc)
		return sr_err_prefix(err, "channel handshake: sending hello");
	rc = hs_recv(ch, body, &len, "the peer's signature", err);
	if (rc)
		return rc;
	if (body[5] == MSG_REFUSE && len == REFUSE_BYTES)
		return sr_fail(err, SR_EPERM,
			       "the peer refused the connection: it does not accept our identity %s",
			       self->org_id);
	if (body[5] != MSG_FINISH || len != FINISH_BYTES)
		return sr_fail(err, SR_EPROTO,
			       "channel handshake: expected the peer's signature (%d bytes), got type %d of %zu bytes",
			       FINISH_BYTES, body[5], len);
	if (verify_transcript(i_sign, LABEL_INITIATOR, ch->transcript,
			      body + PREFIX_BYTES))
		return sr_fail(err, SR_ECRYPTO,
			       "channel handshake: the peer's signature does not verify");
	return finish_keys(ch, 0, eph_pk, eph_sk, i_eph, err);
}

/* Handshake on fd, which the channel owns from here on (channel.h). */
int sr_channel_handshake(int fd, enum sr_channel_role role,
			 const struct sr_identity *self,
			 const uint8_t peer_sign_pk[SR_SIGN_PUBLICKEYBYTES],
			 int timeout_ms, struct sr_channel **out,
			 struct sr_err *err)
{
	struct sr_channel *ch;
	uint8_t eph_pk[KX_PK], eph_sk[KX_SK];
	int rc;

	*out = NULL;
	if (!self || !self->sign_sk || !peer_sign_pk ||
	    (role != SR_CHANNEL_INITIATOR && role != SR_CHANNEL_RESPONDER)) {
		close(fd);
		return sr_fail(err, SR_EINVAL, "channel: missing identity, peer key or role");
	}
	ch = sr_calloc(1, sizeof(*ch));
	if (!ch) {
		close(fd);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	ch->fd = fd;
	sr_buf_init(&ch->out, 0);
	ch->keys = sodium_malloc(sizeof(*ch->keys));
	if (!ch->keys) {
		sr_channel_free(ch);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	rc = sr_tcp_set_timeout(fd, timeout_ms, err);
	if (rc) {
		sr_channel_free(ch);
		return rc;
	}
	crypto_kx_keypair(eph_pk, eph_sk);
	if (role == SR_CHANNEL_INITIATOR)
		rc = handshake_initiator(ch, self, peer_sign_pk, eph_pk, eph_sk, err);
	else
		rc = handshake_responder(ch, self, peer_sign_pk, eph_pk, eph_sk, err);
	sodium_memzero(eph_sk, sizeof(eph_sk));
	if (rc) {
		sr_channel_free(ch);
		return rc;
	}
	sr_identity_org_id(ch->peer_org, peer_sign_pk);
	*out = ch;
	return SR_OK;
}

/* ---- frames ------------------------------------------------------------- */

static void nonce_of(uint8_t nonce[SR_AEAD_NONCEBYTES], uint64_t seq)
{
	memset(nonce, 0, SR_AEAD_NONCEBYTES);
	sr_store_u64le(nonce, seq);
}

/* One sealed frame; the channel breaks on any failure. */
int sr_channel_send(struct sr_channel *ch, const uint8_t *msg, size_t len,
		    struct sr_err *err)
{
	uint8_t nonce[SR_AEAD_NONCEBYTES];
	size_t ct_len = len + SR_AEAD_ABYTES;
	int rc;

	if (ch->broken)
		return sr_fail(err, SR_EPROTO, "channel: broken by an earlier error");
	if (len > SR_FRAME_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "channel: message of %zu bytes, over the limit of %u (SR_FRAME_MAX)",
			       len, SR_FRAME_MAX);
	if (ch->send_seq == UINT64_MAX) {
		ch->broken = 1;
		return sr_fail(err, SR_ELIMIT, "channel: frame counter exhausted");
	}
	sr_buf_reset(&ch->out);
	if (sr_buf_grow(&ch->out, 4 + ct_len))
		return sr_fail(err, SR_ENOMEM, "channel: out of memory for a frame");
	sr_store_u32le(ch->out.data, (uint32_t)ct_len);
	nonce_of(nonce, ch->send_seq);
	sr_aead_seal((uint8_t *)ch->out.data + 4, msg, len, NULL, 0, nonce,
		     ch->keys->send);
	rc = sr_tcp_write_all(ch->fd, ch->out.data, 4 + ct_len, err);
	if (rc) {
		ch->broken = 1;
		return sr_err_prefix(err, "channel to %s", ch->peer_org);
	}
	ch->send_seq++;
	ch->bytes_sent += 4 + ct_len;
	return SR_OK;
}

/* Next frame, opened in place in msg; see channel.h for the errors. */
int sr_channel_recv(struct sr_channel *ch, struct sr_buf *msg, size_t max_len,
		    struct sr_err *err)
{
	uint8_t head[4], nonce[SR_AEAD_NONCEBYTES];
	uint32_t ct_len;
	int rc;

	if (ch->broken)
		return sr_fail(err, SR_EPROTO, "channel: broken by an earlier error");
	ch->broken = 1;   /* until this frame has opened */
	if (max_len > SR_FRAME_MAX)
		max_len = SR_FRAME_MAX;
	rc = sr_tcp_read_all(ch->fd, head, sizeof(head), NULL, err);
	if (rc)
		return sr_err_prefix(err, "channel from %s", ch->peer_org);
	ct_len = sr_load_u32le(head);
	if (ct_len < SR_AEAD_ABYTES)
		return sr_fail(err, SR_EPROTO,
			       "channel from %s: frame of %u bytes is shorter than its tag",
			       ch->peer_org, ct_len);
	if (ct_len - SR_AEAD_ABYTES > max_len)
		return sr_fail(err, SR_ELIMIT,
			       "channel from %s: message of %u bytes, over the limit of %zu",
			       ch->peer_org, ct_len - SR_AEAD_ABYTES, max_len);
	sr_buf_reset(msg);
	if (sr_buf_grow(msg, ct_len))
		return sr_fail(err, SR_ENOMEM, "channel: out of memory for a frame");
	rc = sr_tcp_read_all(ch->fd, msg->data, ct_len, NULL, err);
	if (rc)
		return sr_err_prefix(err, "channel from %s", ch->peer_org);
	nonce_of(nonce, ch->recv_seq);
	if (sr_aead_open((uint8_t *)msg->data, (const uint8_t *)msg->data, ct_len,
			 NULL, 0, nonce, ch->keys->recv) != SR_OK)
		return sr_fail(err, SR_ECRYPTO,
			       "channel from %s: frame %llu does not authenticate (altered, replayed or out of order)",
			       ch->peer_org, (unsigned long long)ch->recv_seq);
	sr_buf_setlen(msg, ct_len - SR_AEAD_ABYTES);
	ch->recv_seq++;
	ch->bytes_received += 4 + (uint64_t)ct_len;
	ch->broken = 0;
	return SR_OK;
}

/* H(transcript) under its own domain (channel.h). */
void sr_channel_session_id(const struct sr_channel *ch,
			   uint8_t out[SR_CHANNEL_SID_BYTES])
{
	sr_hash(out, SID_DOMAIN, ch->transcript, sizeof(ch->transcript));
}

/* Borrowed; valid until sr_channel_free. */
const char *sr_channel_peer_org_id(const struct sr_channel *ch)
{
	return ch->peer_org;
}

/* Socket bytes so far, framing and handshake included. */
void sr_channel_bytes(const struct sr_channel *ch, uint64_t *sent,
		      uint64_t *received)
{
	*sent = ch->bytes_sent;
	*received = ch->bytes_received;
}

/* shutdown(2) both ways; later calls fail. */
void sr_channel_shutdown(struct sr_channel *ch)
{
	if (!ch)
		return;
	ch->broken = 1;
	if (ch->fd >= 0)
		shutdown(ch->fd, SHUT_RDWR);
}

/* Wipes the frame keys (sodium_free) and closes the socket. */
void sr_channel_free(struct sr_channel *ch)
{
	if (!ch)
		return;
	if (ch->keys)
		sodium_free(ch->keys);
	if (ch->fd >= 0)
		close(ch->fd);
	sr_buf_release(&ch->out);
	sodium_memzero(ch, sizeof(*ch));
	sr_free(ch);
}
