/*
 * identity.h - an organization's long-term identity: an Ed25519 signing key
 * and an X25519 key-agreement key.  The org id is derived from the signing
 * public key: "org_" followed by the lowercase hex of the first 16 bytes of
 * sr_hash("sealroom.orgid.v1", signing public key) — 36 characters.
 *
 * Secret keys live in sodium_malloc memory and are wiped on release.  On
 * disk (DIR/identity.key) they are encrypted under a key derived from the
 * node's master key; the public part is DIR/identity.pub (JSON).
 */
#ifndef SR_IDENTITY_H
#define SR_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"

#define SR_SIGN_PUBLICKEYBYTES crypto_sign_PUBLICKEYBYTES
#define SR_SIGN_SECRETKEYBYTES crypto_sign_SECRETKEYBYTES
#define SR_SIGN_BYTES crypto_sign_BYTES
#define SR_ORG_ID_LEN 36

struct sr_identity {
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];
	uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES];
	uint8_t *sign_sk;   /* sodium_malloc, SR_SIGN_SECRETKEYBYTES */
	uint8_t *kx_sk;     /* sodium_malloc, SR_BOX_SECRETKEYBYTES */
	char org_id[SR_ORG_ID_LEN + 1];
};

/* Zero the struct; no allocation. */
void sr_identity_init(struct sr_identity *id);
/* Wipe and free the secret keys; keeps nothing.  Safe after init. */
void sr_identity_release(struct sr_identity *id);

/* Generate fresh keys. */
int sr_identity_generate(struct sr_identity *id, struct sr_err *err) SR_WUR;

/* Derive the org id for a signing public key. */
void sr_identity_org_id(char out[SR_ORG_ID_LEN + 1],
			const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES]);

/*
 * Save to dir/identity.key (secret keys sealed with AEAD under key_enc,
 * a 32-byte key the caller derives from the master key; atomic write,
 * mode 0600) and dir/identity.pub (JSON: org_id, sign_pk, kx_pk in hex).
 */
int sr_identity_save(const struct sr_identity *id, const char *dir,
		     const uint8_t key_enc[32], struct sr_err *err) SR_WUR;

/* Load and decrypt; SR_ECRYPTO if key_enc is wrong or the file was
 * altered, SR_ECORRUPT if it is malformed.  Checks that the public keys
 * match the secret keys. */
int sr_identity_load(struct sr_identity *id, const char *dir,
		     const uint8_t key_enc[32], struct sr_err *err) SR_WUR;

/* Detached Ed25519 signature. */
void sr_identity_sign(const struct sr_identity *id, const uint8_t *msg,
		      size_t len, uint8_t sig[SR_SIGN_BYTES]);
/* SR_OK or SR_ECRYPTO. */
int sr_sign_verify(const uint8_t pk[SR_SIGN_PUBLICKEYBYTES],
		   const uint8_t *msg, size_t len,
		   const uint8_t sig[SR_SIGN_BYTES]) SR_WUR;

#endif
