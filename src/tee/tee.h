/*
 * tee.h - TPM 2.0 for sealroom (DESIGN §5, §9; docs/tee.md).
 *
 *   sr_tpm_*       a connection to a TPM through tpm2-tss ESAPI, chosen by
 *                  a TCTI string ("device:/dev/tpmrm0", "swtpm:host=...,
 *                  port=..."); PCR selections over the SHA-256 bank.
 *   sr_tpm_seal    seal a small secret (the node master key) under the
 *                  owner hierarchy's storage primary key with a PolicyPCR
 *                  policy, so that it unseals only on this TPM with these
 *                  PCR values.
 *
 * Errors name the TPM command and the decoded TPM response code
 * (Tss2_RC_Decode).  No secret ever reaches a log or an error message.
 */
#ifndef SR_TEE_H
#define SR_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/limits.h"
#include "net/pipe.h"

/* The TCTI used when neither the caller nor $SEALROOM_TPM_TCTI names one:
 * the kernel's resource manager. */
#define SR_TPM_TCTI_DEFAULT "device:/dev/tpmrm0"
#define SR_TPM_TCTI_ENV "SEALROOM_TPM_TCTI"

/* The PCRs a sealed master key depends on unless init names others:
 * 0 (firmware code) and 7 (Secure Boot state).  docs/tee.md says why. */
#define SR_TPM_PCRS_DEFAULT "sha256:0,7"

/* PCRs 0..23 of the SHA-256 bank: bit i of a mask is PCR i. */
#define SR_TPM_PCR_COUNT 24
/* "sha256:" and 24 numbers of up to two digits with commas. */
#define SR_TPM_PCRS_TEXT_MAX 96

/* Marshalled TPM2B_PUBLIC / TPM2B_PRIVATE / TPM2B_NAME caps (static
 * asserts in tpm.c check they hold the TSS's largest). */
#define SR_TPM_PUBLIC_MAX 1024
#define SR_TPM_PRIVATE_MAX 1600
#define SR_TPM_NAME_MAX 72

struct sr_tpm;

/*
 * The TCTI string to use: tcti if non-NULL and non-empty, else
 * $SEALROOM_TPM_TCTI, else SR_TPM_TCTI_DEFAULT.  Borrowed; valid while the
 * environment and tcti are.
 */
const char *sr_tpm_tcti(const char *tcti);

/*
 * Connect to the TPM named by sr_tpm_tcti(tcti).  *out must be freed with
 * sr_tpm_free.  SR_EIO if the TPM cannot be reached, naming the TCTI.
 */
int sr_tpm_open(const char *tcti, struct sr_tpm **out, struct sr_err *err) SR_WUR;
void sr_tpm_free(struct sr_tpm *tpm);

/*
 * Parse a PCR selection "sha256:0,7" or "0,7" (the SHA-256 bank is the only
 * one sealroom uses) into a mask.  Empty, out-of-range, repeated or other
 * banks fail with SR_EINVAL naming what was wrong.
 */
int sr_tpm_pcrs_parse(const char *text, uint32_t *mask, struct sr_err *err) SR_WUR;
/* The canonical text of mask ("sha256:0,7"). */
void sr_tpm_pcrs_format(uint32_t mask, char out[SR_TPM_PCRS_TEXT_MAX]);

/*
 * A sealed secret: the marshalled public and private parts of a keyedhash
 * object whose parent is the storage primary key named primary_name, and
 * the PCRs its policy covers.  Plain bytes, safe to store: the private part
 * is encrypted by the TPM under the primary key, which never leaves it.
 */
struct sr_tpm_sealed {
	uint32_t pcr_mask;
	uint8_t primary_name[SR_TPM_NAME_MAX];
	size_t primary_name_len;
	uint8_t public_area[SR_TPM_PUBLIC_MAX];
	size_t public_len;
	uint8_t private_area[SR_TPM_PRIVATE_MAX];
	size_t private_len;
};

/* Largest secret sr_tpm_seal takes (TPM2_MAX_SYM_DATA is 128). */
#define SR_TPM_SEAL_MAX 128

/*
 * Seal secret (1..SR_TPM_SEAL_MAX bytes) to this TPM and the current values
 * of the PCRs in pcr_mask.  The secret travels to the TPM encrypted
 * (a session salted with the primary key).  Fills *out.
 */
int sr_tpm_seal(struct sr_tpm *tpm, uint32_t pcr_mask, const uint8_t *secret,
		size_t len, struct sr_tpm_sealed *out, struct sr_err *err) SR_WUR;

/*
 * Unseal in into secret (exactly len bytes expected).  Fails with
 * SR_ECRYPTO "the master key is sealed to another TPM" when this TPM's
 * primary key is not the one it was sealed under, and with SR_EPOLICY
 * naming the PCR selection when the PCR values differ from sealing time.
 * secret is wiped on failure.
 */
int sr_tpm_unseal(struct sr_tpm *tpm, const struct sr_tpm_sealed *in,
		  uint8_t *secret, size_t len, struct sr_err *err) SR_WUR;

/* The one-line error of sr_tpm_unseal on the wrong TPM. */
#define SR_TPM_OTHER_TPM_MSG "the master key is sealed to another TPM"

/* ------------------------------------------------------------------ */
/* Attestation (attest.c: the executor's side; verify.c: the owner's). */

#define SR_TEE_DIGEST_BYTES 32   /* SHA-256 throughout */
#define SR_TEE_SECRET_BYTES 32   /* the credential-activation secret */
/* Marshalled TPM2B_ATTEST, TPMT_SIGNATURE, TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET caps (static asserts in attest.c). */
#define SR_TEE_ATTEST_MAX 2400
#define SR_TEE_SIG_MAX 1024
#define SR_TEE_BLOB_MAX 520

/* One extend the executor made: PCR pcr ← SHA-256(pcr ‖ digest). */
struct sr_tee_event {
	uint32_t pcr;
	uint8_t digest[SR_TEE_DIGEST_BYTES];
	char what[SR_TEE_EVENT_TEXT_MAX];  /* "binary", "config", ... */
};

struct sr_tee_cert {
	uint8_t der[SR_TEE_CERT_MAX];
	size_t len;
};

/*
 * The evidence an executor hands to a verifier.  Plain bytes; the verifier
 * trusts none of it until sr_tee_verify says so.
 */
struct sr_tee_evidence {
	struct sr_tee_cert ek_cert;                  /* from NV 0x01c00002 */
	struct sr_tee_cert chain[SR_TEE_CHAIN_MAX];  /* intermediates */
	size_t chain_len;
	uint8_t ak_public[SR_TPM_PUBLIC_MAX];        /* TPM2B_PUBLIC */
	size_t ak_public_len;
	uint8_t activation[SR_TEE_SECRET_BYTES];     /* ActivateCredential */
	uint8_t attest[SR_TEE_ATTEST_MAX];           /* TPMS_ATTEST bytes */
	size_t attest_len;
	uint8_t signature[SR_TEE_SIG_MAX];           /* TPMT_SIGNATURE */
	size_t signature_len;
	uint32_t pcr_mask;                           /* quoted PCRs */
	uint8_t pcr_values[SR_TPM_PCR_COUNT][SR_TEE_DIGEST_BYTES];
	struct sr_tee_event events[SR_TEE_EVENTS_MAX];
	size_t n_events;
};

/* The TPM's clock and boot counters, from a quote (TPMS_CLOCK_INFO). */
struct sr_tee_counters {
	uint64_t clock_ms;
	uint32_t reset_count;
	uint32_t restart_count;
};

/* The verifier's challenge for credential activation (MakeCredential). */
struct sr_tee_challenge {
	uint8_t credential_blob[SR_TEE_BLOB_MAX];   /* TPM2B_ID_OBJECT */
	size_t credential_blob_len;
	uint8_t secret[SR_TEE_BLOB_MAX];            /* TPM2B_ENCRYPTED_SECRET */
	size_t secret_len;
};

struct sr_tee_attester;

/*
 * The executor's attestation keys on tpm (borrowed; must outlive *out):
 * the endorsement key from the TCG's RSA-2048 template (the key the EK
 * certificate certifies), its certificate read from NV index 0x01c00002,
 * and an attestation key: a restricted ECC P-256 signing key (ECDSA,
 * SHA-256) made in the endorsement hierarchy.  Free with
 * sr_tee_attester_free.
 */
int sr_tee_attester_new(struct sr_tpm *tpm, struct sr_tee_attester **out,
			struct sr_err *err) SR_WUR;
void sr_tee_attester_free(struct sr_tee_attester *att);

/* Fill ev's ek_cert and ak_public (what a verifier needs to challenge). */
void sr_tee_attester_identity(const struct sr_tee_attester *att,
			      struct sr_tee_evidence *ev);

/*
 * Recover the verifier's secret from ch with TPM2_ActivateCredential: it
 * works only in the TPM holding the EK, for the AK the challenge names.
 */
int sr_tee_attester_activate(struct sr_tee_attester *att,
			     const struct sr_tee_challenge *ch,
			     uint8_t secret[SR_TEE_SECRET_BYTES],
			     struct sr_err *err) SR_WUR;

/*
 * Extend PCR pcr with digest and append the event (what names it) to the
 * attester's event log.  SR_ELIMIT past SR_TEE_EVENTS_MAX events.
 */
int sr_tee_attester_measure(struct sr_tee_attester *att, uint32_t pcr,
			    const uint8_t digest[SR_TEE_DIGEST_BYTES],
			    const char *what, struct sr_err *err) SR_WUR;

/*
 * Quote the PCRs of pcr_mask with qualifying data SHA-256(nonce ‖ key):
 * fills ev's attest, signature, PCR values and event log (identity and
 * activation are filled by the calls above).
 */
int sr_tee_attester_quote(struct sr_tee_attester *att, uint32_t pcr_mask,
			  const uint8_t *nonce, size_t nonce_len,
			  const uint8_t key[32], struct sr_tee_evidence *ev,
			  struct sr_err *err) SR_WUR;

/*
 * Reset PCR pcr (16 or 23, the resettable ones at locality 0) to zeros and
 * empty the event log: a restarted executor measures from a clean PCR.
 */
int sr_tee_attester_reset_pcr(struct sr_tee_attester *att, uint32_t pcr,
			      struct sr_err *err) SR_WUR;

/* SHA-256(nonce ‖ key): the quote's qualifying data. */
void sr_tee_qualifying_data(const uint8_t *nonce, size_t nonce_len,
			    const uint8_t key[32],
			    uint8_t out[SR_TEE_DIGEST_BYTES]);

/*
 * The verifier's side of credential activation, in software (no TPM
 * needed): a random secret, encrypted to the EK public key in ek_cert
 * (RSA-OAEP, label "IDENTITY") and bound to the name of the AK in
 * ak_public, as TPM2_MakeCredential does.  Keep secret; compare it with
 * the activation the executor returns (sr_tee_verify does).
 */
int sr_tee_challenge_make(const struct sr_tee_evidence *ev,
			  struct sr_tee_challenge *ch,
			  uint8_t secret[SR_TEE_SECRET_BYTES],
			  struct sr_err *err) SR_WUR;

/* What one owner trusts (its policy's tee section). */
struct sr_tee_policy {
	const char *ca_pem;          /* trusted EK CA certificates, PEM */
	size_t ca_pem_len;
	const uint8_t (*measurements)[SR_TEE_DIGEST_BYTES];
	size_t n_measurements;       /* trusted event digests */
	int has_last;                /* last_seen holds this executor's */
	struct sr_tee_counters last_seen;
};

/* The checks, in the order sr_tee_verify runs them. */
enum sr_tee_check {
	SR_TEE_CHECK_EK_CERT = 1,    /* EK certificate chains to a trusted CA */
	SR_TEE_CHECK_AK_BOUND,       /* AK bound to the EK (activation) */
	SR_TEE_CHECK_SIGNATURE,      /* quote signature under the AK */
	SR_TEE_CHECK_MAGIC_TYPE,     /* TPM_GENERATED_VALUE, quote type */
	SR_TEE_CHECK_EXTRA_DATA,     /* extraData = H(nonce ‖ key) */
	SR_TEE_CHECK_PCR_DIGEST,     /* digest of the reported PCR values */
	SR_TEE_CHECK_EVENT_LOG,      /* the log replays to those values */
	SR_TEE_CHECK_MEASUREMENTS,   /* every measurement is trusted */
	SR_TEE_CHECK_COUNTERS,       /* clock/reset/restart not backwards */
};

/* "ek-certificate", "ak-binding", ...: the check's name in messages. */
const char *sr_tee_check_name(enum sr_tee_check check);

/*
 * Run the nine checks on ev, in order, for a verifier that sent nonce,
 * will seal to key and made the activation challenge whose secret is
 * expected.  The first failure refuses: SR_EPOLICY (SR_ECRYPTO for a bad
 * signature or activation), err naming the check ("tee check 3
 * (quote-signature): ..."), *failed set to it.  Nothing is accepted with a
 * warning.  On success *seen holds the quote's counters, to be stored as
 * this executor's last_seen.
 */
int sr_tee_verify(const struct sr_tee_evidence *ev,
		  const struct sr_tee_policy *policy,
		  const uint8_t *nonce, size_t nonce_len,
		  const uint8_t key[32],
		  const uint8_t expected[SR_TEE_SECRET_BYTES],
		  struct sr_tee_counters *seen, enum sr_tee_check *failed,
		  struct sr_err *err) SR_WUR;

/* ------------------------------------------------------------------ */
/* evidence.c: the handshake's wire forms (docs/protocols/tee.md).    */

/* Append ev's wire form to out. */
int sr_tee_evidence_encode(const struct sr_tee_evidence *ev, struct sr_buf *out,
			   struct sr_err *err) SR_WUR;
/* Parse an evidence bundle (untrusted): SR_EPROTO when malformed. */
int sr_tee_evidence_decode(const uint8_t *data, size_t len,
			   struct sr_tee_evidence *ev, struct sr_err *err) SR_WUR;
int sr_tee_challenge_encode(const struct sr_tee_challenge *ch, struct sr_buf *out,
			    struct sr_err *err) SR_WUR;
int sr_tee_challenge_decode(const uint8_t *data, size_t len,
			    struct sr_tee_challenge *ch, struct sr_err *err) SR_WUR;

/* ------------------------------------------------------------------ */
/* executor.c: the executor's TPM side and the handshake (docs/tee.md). */

/* The PCR the executor measures into unless told otherwise (application
 * support, resettable, used by no firmware or OS); tests use 16. */
#define SR_TEE_EXECUTOR_PCR 23
/* What the executor measures: its binary, then its configuration. */
#define SR_TEE_EXECUTOR_MEASUREMENTS 2

struct sr_tee_executor_config {
	const char *tcti;          /* NULL: sr_tpm_tcti's default */
	uint32_t pcr;              /* 16 or 23 */
	const char *chain_pem;     /* the EK certificate's intermediates, PEM
				    * (sent to verifiers), or NULL */
	size_t chain_pem_len;
};

struct sr_tee_executor;

/*
 * The executor's measurements without a TPM (for owners' policies and
 * 'sealroom executor --measure'): out[0] SHA-256 of the running binary
 * (/proc/self/exe), out[1] SHA-256 of its configuration text (the PCR
 * and the quoted PCR selection).
 */
int sr_tee_executor_measure(uint32_t pcr,
			    uint8_t out[SR_TEE_EXECUTOR_MEASUREMENTS][SR_TEE_DIGEST_BYTES],
			    struct sr_err *err) SR_WUR;

/*
 * Start the executor's TPM side: connect, make the EK and AK, read the EK
 * certificate, reset cfg->pcr and extend the two measurements into it
 * (event log "binary", "config").  Free with sr_tee_executor_free.
 */
int sr_tee_executor_open(const struct sr_tee_executor_config *cfg,
			 struct sr_tee_executor **out, struct sr_err *err) SR_WUR;
void sr_tee_executor_free(struct sr_tee_executor *ex);
/* Its two measurements (binary, config). */
const uint8_t (*sr_tee_executor_measurements(const struct sr_tee_executor *ex))[SR_TEE_DIGEST_BYTES];

/*
 * The handshake on pipe, executor side, for one verifier: take its hello
 * (nonce, and the key it wants its output sealed to, zeros if none),
 * send the key (this job's ephemeral X25519 public key) and the EK
 * certificate, chain and AK, answer the activation challenge, quote with
 * qualifying data SHA-256(nonce ‖ key), send the bundle and wait for the
 * verdict.  A verifier that refuses aborts the job channel: the wait fails.
 */
int sr_tee_executor_attest(struct sr_tee_executor *ex, const struct sr_pipe *pipe,
			   const uint8_t key[32], uint8_t receiver_key[32],
			   struct sr_err *err) SR_WUR;

/* What a verifier learned from a handshake that passed. */
struct sr_tee_verified {
	uint8_t executor_key[32];                  /* seal inputs to this */
	uint8_t quote_hash[SR_TEE_DIGEST_BYTES];   /* SHA-256 of the attest bytes */
	struct sr_tee_counters seen;               /* store as last_seen */
	uint8_t measurements[SR_TEE_EVENTS_MAX][SR_TEE_DIGEST_BYTES];
	size_t n_measurements;                     /* the event log's digests */
};

/*
 * The handshake on pipe, verifier side: a fresh nonce (and receiver_key,
 * or NULL), the activation challenge made in software, then the nine
 * checks of sr_tee_verify under each of policies[0..npolicies) (every one
 * must accept: an owner's inputs' policies, or a receiver's).  On success
 * the verdict is sent and *out filled; on failure err names the check
 * ("tee check 8 (measurements): ...") and nothing is sent.
 */
int sr_tee_handshake_verify(const struct sr_pipe *pipe,
			    const struct sr_tee_policy *policies, size_t npolicies,
			    const uint8_t receiver_key[32],
			    struct sr_tee_verified *out, struct sr_err *err) SR_WUR;

#endif
