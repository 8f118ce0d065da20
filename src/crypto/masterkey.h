/*
 * masterkey.h - the node's 32-byte master key and its providers (DESIGN §5).
 *
 *   passphrase  Argon2id (crypto_pwhash) over the passphrase with a random
 *               salt; the cost is stored with the salt.  Profiles:
 *               "moderate" (default: 3 passes, 64 MiB), "sensitive"
 *               (4 passes, 1 GiB) and "test" (1 pass, 8 MiB; for tests).
 *   file        a random key kept in a 0600 file beside the config.  For
 *               development only: opening it logs a warning every time.
 *   tpm2        a random key sealed to the machine's TPM under a PolicyPCR
 *               policy (src/tee/keyprov.c): the home opens only on that
 *               TPM with those PCR values.  Optionally a passphrase-wrapped
 *               recovery copy (docs/tee.md says what it costs).
 *
 * HOME/master.json records the provider, its parameters and a check value
 * (a keyed BLAKE2b MAC of a fixed string under the check sub-key),
 * so a wrong passphrase fails at once with a one-line error and changes
 * nothing.  The key itself is never written for the passphrase provider.
 *
 * Sub-keys for each use are derived with crypto_kdf (BLAKE2b) so that no
 * two uses share a key.
 */
#ifndef SR_MASTERKEY_H
#define SR_MASTERKEY_H

#include <stdint.h>

#include "base/err.h"

enum sr_key_provider {
	SR_KEY_PASSPHRASE = 1,
	SR_KEY_FILE = 2,
	SR_KEY_TPM2 = 3,
};

/* Sub-key ids: never renumber. */
enum sr_subkey {
	SR_SUBKEY_IDENTITY = 1,   /* encrypts identity.key */
	SR_SUBKEY_WRAP = 2,       /* wraps dataset data keys */
	SR_SUBKEY_MANIFEST = 3,   /* MACs dataset manifests */
	SR_SUBKEY_CHECK = 4,      /* master.json check value */
	SR_SUBKEY_TOKENS = 5,     /* hashes API tokens */
	SR_SUBKEY_RESULTS = 6,    /* seals job results kept by the node */
	SR_SUBKEY_MASKS = 7,      /* derives hash-mask keys (kinds/mask.h) */
};

struct sr_masterkey {
	uint8_t *key;   /* sodium_malloc(32), read-only when not in use */
	enum sr_key_provider provider;
};

void sr_masterkey_init(struct sr_masterkey *mk);
void sr_masterkey_release(struct sr_masterkey *mk);

/* Parse "passphrase" / "file" / "tpm2"; SR_EINVAL otherwise. */
int sr_key_provider_parse(const char *name, enum sr_key_provider *out) SR_WUR;
const char *sr_key_provider_name(enum sr_key_provider p);

/*
 * Create a new master key in home (which must exist) and write
 * home/master.json (and home/master.key for the file provider).  Fails with
 * SR_EEXIST if home already has one.  passphrase is required for the
 * passphrase provider (non-empty) and ignored otherwise; kdf_profile is
 * "moderate", "sensitive", "test" or NULL for moderate.
 */
int sr_masterkey_create(struct sr_masterkey *mk, const char *home,
			enum sr_key_provider provider, const char *passphrase,
			const char *kdf_profile, struct sr_err *err) SR_WUR;

/* How a tpm2 master key is made.  All fields may be NULL. */
struct sr_masterkey_tpm2 {
	const char *tcti;                /* NULL: $SEALROOM_TPM_TCTI, default */
	const char *pcrs;                /* NULL: SR_TPM_PCRS_DEFAULT */
	const char *recovery_passphrase; /* NULL: no recovery copy */
	const char *kdf_profile;         /* of the recovery copy */
};

/*
 * Create a new random master key in home, sealed to the TPM, and write
 * home/master.json; with opts->recovery_passphrase also a recovery copy
 * wrapped under Argon2id of it.  Errors as sr_masterkey_create, and the
 * TPM's (tee.h).
 */
int sr_masterkey_create_tpm2(struct sr_masterkey *mk, const char *home,
			     const struct sr_masterkey_tpm2 *opts,
			     struct sr_err *err) SR_WUR;

/*
 * Open a tpm2 home's master key from its recovery copy, without the TPM.
 * SR_ENOTFOUND if there is none, SR_ECRYPTO for a wrong passphrase.  Logs
 * a warning: this bypasses the hardware binding.
 */
int sr_masterkey_open_recovery(struct sr_masterkey *mk, const char *home,
			       const char *passphrase, struct sr_err *err) SR_WUR;

/*
 * Open the master key of home.  The tpm2 provider unseals it with the TPM
 * of $SEALROOM_TPM_TCTI: SR_ECRYPTO "the master key is sealed to another
 * TPM" on another TPM, SR_EPOLICY naming the PCR policy when a PCR changed.  For the passphrase provider passphrase must
 * be given; a wrong one fails with SR_ECRYPTO ("wrong passphrase for node
 * home DIR").  The provider recorded in master.json is reported in
 * mk->provider.  Reading the provider first (to know whether to prompt) is
 * sr_masterkey_provider().
 */
int sr_masterkey_open(struct sr_masterkey *mk, const char *home,
		      const char *passphrase, struct sr_err *err) SR_WUR;

/* Which provider home uses, without opening it. */
int sr_masterkey_provider(const char *home, enum sr_key_provider *out,
			  struct sr_err *err) SR_WUR;

/* Derive the 32-byte sub-key number id. */
void sr_masterkey_subkey(const struct sr_masterkey *mk, enum sr_subkey id,
			 uint8_t out[32]);

#endif
