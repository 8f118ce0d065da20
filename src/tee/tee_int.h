/*
 * tee_int.h - what the files of src/tee/ share (not for other modules).
 */
#ifndef SR_TEE_INT_H
#define SR_TEE_INT_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "tee/tee.h"

struct sr_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char tcti_conf[256];
};

/*
 * Fail with code, naming the TPM command what and the decoded response
 * code rc, e.g. "tpm: Esys_Unseal: tpm:session(1):a policy check failed
 * (0x99d)".  Returns code.
 */
int sr_tpm_fail(struct sr_err *err, int code, const char *what, TSS2_RC rc);

/* The TPM response code without its handle/session/parameter number. */
TSS2_RC sr_tpm_rc_base(TSS2_RC rc);

/* mask as a TPML_PCR_SELECTION over the SHA-256 bank. */
void sr_tpm_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *out);

/* AES-128-CFB: the symmetric algorithm of primaries and sessions. */
extern const TPMT_SYM_DEF sr_tpm_aes128cfb;
extern const TPMT_SYM_DEF_OBJECT sr_tpm_aes128cfb_object;

/* What an attestation key must be (the verifier checks it too). */
#define SR_TEE_AK_ATTRIBUTES (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
	TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* The AK's handle and the TPM of att, for tests that make the AK sign
 * something other than a quote. */
ESYS_TR sr_tee_attester_ak(const struct sr_tee_attester *att);
struct sr_tpm *sr_tee_attester_tpm(const struct sr_tee_attester *att);

#endif
