/*
 * reqsig.h - signed control-plane requests (DESIGN §7, docs/api.md):
 * every request a node sends the coordinator carries
 *
 *   Authorization: Sealroom org=ORG_ID,time=UNIX_SECONDS,sig=HEX128
 *
 * where sig is the org's Ed25519 signature of
 *
 *   "sealroom.request.v2\n" METHOD "\n" PATH "\n" TIME "\n" HEX(body hash)
 *
 * and the body hash is sr_sha256("sealroom.request.body.v2", body)
 * (crypto/sha256.h: SHA-256 with sr_hash's framing).  The
 * text label keeps these signatures apart from every other signature in
 * sealroom (events sign a bare 32-byte id).
 */
#ifndef SR_REQSIG_H
#define SR_REQSIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/identity.h"

/* A request may be at most this many seconds older or newer than the
 * verifier's clock. */
#define SR_REQSIG_SKEW_S 300
/* Room for the whole header value, NUL included. */
#define SR_REQSIG_MAX 256

struct sr_reqsig {
	char org_id[SR_ORG_ID_LEN + 1];
	int64_t time;
	uint8_t sig[SR_SIGN_BYTES];
};

/* Build the Authorization value for a request at time now. */
void sr_reqsig_make(const struct sr_identity *id, const char *method,
		    const char *path, const void *body, size_t body_len,
		    int64_t now, char out[SR_REQSIG_MAX]);

/* Parse an Authorization value.  SR_EINVAL with a message naming the part
 * that is wrong (missing header included: pass NULL). */
int sr_reqsig_parse(const char *header, struct sr_reqsig *out,
		    struct sr_err *err) SR_WUR;

/* Check a parsed signature against sign_pk and the verifier's clock.
 * SR_ECRYPTO for a bad signature, SR_EPERM for a stale time. */
int sr_reqsig_verify(const struct sr_reqsig *rs,
		     const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
		     const char *method, const char *path, const void *body,
		     size_t body_len, int64_t now, struct sr_err *err) SR_WUR;

#endif
