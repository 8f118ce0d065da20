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

#endif
