/*
 * channel.h - an authenticated, encrypted, framed channel over a connected
 * socket, between two organizations that each know the other's identity
 * signing key (DESIGN §7; used by `sealroom psi` and later job channels).
 *
 * Handshake (docs/protocols/psi.md §10 and the comment in channel.c):
 * ephemeral X25519 keys, each side signing the transcript (both
 * identities, both ephemeral keys, the protocol version) with its Ed25519
 * identity key; session keys from crypto_kx bound to the transcript, one
 * per direction.  Each side accepts exactly one peer key: anything else is
 * refused before the responder reveals who it is.
 *
 * Frames: u32le length ‖ XChaCha20-Poly1305(plaintext) with a per-direction
 * counter nonce, so a replayed, reordered, dropped, truncated or altered
 * frame fails to open.  Plaintexts are at most SR_FRAME_MAX bytes.
 *
 * A channel is used by one thread for sending and one for receiving (they
 * may be the same); after any failure it is broken and every later call
 * fails.
 */
#ifndef SR_CHANNEL_H
#define SR_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/identity.h"

#define SR_CHANNEL_SID_BYTES 32

enum sr_channel_role {
	SR_CHANNEL_INITIATOR = 1,   /* connected out */
	SR_CHANNEL_RESPONDER = 2,   /* accepted */
};

struct sr_channel;

/*
 * Run the handshake on the connected socket fd as role.  self is borrowed
 * for the call (its signing key signs the transcript); peer_sign_pk is the
 * only identity accepted.  timeout_ms (0 = none) bounds every read and
 * write from now on.
 *
 * The channel owns fd from this call on, whatever the outcome: on failure
 * fd is closed.  On success *out is freed with sr_channel_free.  Errors:
 * SR_EPERM when either side does not accept the other's identity (the
 * message names both org ids), SR_ECRYPTO for a bad signature or key,
 * SR_EPROTO for a malformed handshake, SR_EIO / SR_ETIMEOUT.
 */
int sr_channel_handshake(int fd, enum sr_channel_role role,
			 const struct sr_identity *self,
			 const uint8_t peer_sign_pk[SR_SIGN_PUBLICKEYBYTES],
			 int timeout_ms, struct sr_channel **out,
			 struct sr_err *err) SR_WUR;

/* Seal and send one message of len <= SR_FRAME_MAX bytes. */
int sr_channel_send(struct sr_channel *ch, const uint8_t *msg, size_t len,
		    struct sr_err *err) SR_WUR;

/*
 * Receive the next message into msg (replacing its contents).  A frame
 * longer than max_len (or SR_FRAME_MAX) fails with SR_ELIMIT before it is
 * read; one that does not open fails with SR_ECRYPTO; end of stream with
 * SR_EPROTO ("connection closed by peer").
 */
int sr_channel_recv(struct sr_channel *ch, struct sr_buf *msg, size_t max_len,
		    struct sr_err *err) SR_WUR;

/* A public value both sides share and that no other connection has: a
 * hash of the handshake transcript (e.g. a PSI session id). */
void sr_channel_session_id(const struct sr_channel *ch,
			   uint8_t out[SR_CHANNEL_SID_BYTES]);

/* The peer's org id (valid until sr_channel_free). */
const char *sr_channel_peer_org_id(const struct sr_channel *ch);

/* Bytes written to and read from the socket, framing included. */
void sr_channel_bytes(const struct sr_channel *ch, uint64_t *sent,
		      uint64_t *received);

/* Shut the socket down so that a peer blocked on it sees end of stream
 * (the channel stays allocated; free it later). */
void sr_channel_shutdown(struct sr_channel *ch);

/* Wipe the keys and close the socket.  NULL does nothing. */
void sr_channel_free(struct sr_channel *ch);

#endif
