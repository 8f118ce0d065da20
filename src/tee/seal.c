/*
 * seal.c - sealing a secret to the TPM under a PCR policy (see tee.h).
 *
 * The parent is the owner hierarchy's storage primary key made from the
 * TCG's ECC P-256 SRK template (unique field empty).  A primary key is a
 * deterministic function of the hierarchy seed and the template, so the
 * same TPM recreates the same key (and name) every time, and another TPM
 * (or this one after TPM2_Clear) makes a different one: comparing the
 * primary's name with the one recorded at sealing time tells "another TPM"
 * apart from "changed PCRs" before the TPM is asked anything else.
 *
 * The sealed object is a keyedhash data object with fixedTPM and
 * fixedParent, no userWithAuth (only a policy session can unseal it) and
 * the policy digest of TPM2_PolicyPCR over the chosen PCRs' values at
 * sealing time.  The secret crosses the bus only encrypted: Create and
 * Unseal run with a session salted by the primary key with parameter
 * encryption on.
 */
#include "tee/tee_int.h"

#include <sodium.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "base/banned.h"

_Static_assert(sizeof(TPM2B_PUBLIC) <= SR_TPM_PUBLIC_MAX, "public cap");
_Static_assert(sizeof(TPM2B_PRIVATE) <= SR_TPM_PRIVATE_MAX, "private cap");
_Static_assert(sizeof(TPMU_NAME) <= SR_TPM_NAME_MAX, "name cap");
_Static_assert(SR_TPM_SEAL_MAX <= TPM2_MAX_SYM_DATA, "seal cap");

static const TPM2B_PUBLIC srk_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_RESTRICTED |
			TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
			TPMA_OBJECT_FIXEDPARENT |
			TPMA_OBJECT_SENSITIVEDATAORIGIN |
			TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
		.parameters = { .eccDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits = { .aes = 128 },
				.mode = { .aes = TPM2_ALG_CFB },
			},
			.scheme = { .scheme = TPM2_ALG_NULL },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		} },
	},
};

/* The storage primary key: its handle and name. */
static int primary_create(struct sr_tpm *tpm, ESYS_TR *handle,
			  uint8_t name[SR_TPM_NAME_MAX], size_t *name_len,
			  struct sr_err *err)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcrs = { 0 };
	TPM2B_PUBLIC *out_pub = NULL;
	TPM2B_CREATION_DATA *creation = NULL;
	TPM2B_DIGEST *creation_hash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TPM2B_NAME *tpm_name = NULL;
	TSS2_RC rc;

	*handle = ESYS_TR_NONE;
	rc = Esys_CreatePrimary(tpm->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens, &srk_template,
				&outside, &creation_pcrs, handle, &out_pub,
				&creation, &creation_hash, &ticket);
	Esys_Free(out_pub);
	Esys_Free(creation);
	Esys_Free(creation_hash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO,
				   "Esys_CreatePrimary (owner storage key)", rc);
	rc = Esys_TR_GetName(tpm->esys, *handle, &tpm_name);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(tpm->esys, *handle);
		*handle = ESYS_TR_NONE;
		return sr_tpm_fail(err, SR_EIO, "Esys_TR_GetName", rc);
	}
	memcpy(name, tpm_name->name, tpm_name->size);
	*name_len = tpm_name->size;
	Esys_Free(tpm_name);
	return SR_OK;
}

static void flush(struct sr_tpm *tpm, ESYS_TR handle)
{
	if (handle != ESYS_TR_NONE)
		Esys_FlushContext(tpm->esys, handle);
}

/* A session salted by the primary key, of type (HMAC or policy), with
 * parameter encryption in the direction(s) attrs asks for. */
static int salted_session(struct sr_tpm *tpm, ESYS_TR primary, TPM2_SE type,
			  TPMA_SESSION attrs, ESYS_TR *session,
			  struct sr_err *err)
{
	TSS2_RC rc;

	rc = Esys_StartAuthSession(tpm->esys, primary, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, type, &sr_tpm_aes128cfb,
				   TPM2_ALG_SHA256, session);
	if (rc != TSS2_RC_SUCCESS) {
		*session = ESYS_TR_NONE;
		return sr_tpm_fail(err, SR_EIO, "Esys_StartAuthSession", rc);
	}
	rc = Esys_TRSess_SetAttributes(tpm->esys, *session, attrs, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_TRSess_SetAttributes", rc);
	return SR_OK;
}

/* The digest of PolicyPCR over mask at the PCRs' current values. */
static int pcr_policy_digest(struct sr_tpm *tpm, uint32_t mask,
			     TPM2B_DIGEST *out, struct sr_err *err)
{
	static const TPMT_SYM_DEF sym_null = { .algorithm = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST empty = { 0 };
	TPM2B_DIGEST *digest = NULL;
	ESYS_TR trial = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret = SR_OK;

	sr_tpm_pcr_selection(mask, &sel);
	rc = Esys_StartAuthSession(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_TRIAL, &sym_null,
				   TPM2_ALG_SHA256, &trial);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO,
				   "Esys_StartAuthSession (trial)", rc);
	rc = Esys_PolicyPCR(tpm->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
			    ESYS_TR_NONE, &empty, &sel);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_PolicyPCR (trial)", rc);
		goto out;
	}
	rc = Esys_PolicyGetDigest(tpm->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, &digest);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_PolicyGetDigest", rc);
		goto out;
	}
	*out = *digest;
out:
	Esys_Free(digest);
	flush(tpm, trial);
	return ret;
}

int sr_tpm_seal(struct sr_tpm *tpm, uint32_t pcr_mask, const uint8_t *secret,
		size_t len, struct sr_tpm_sealed *out, struct sr_err *err)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_CREATION_DATA *creation = NULL;
	TPM2B_DIGEST *creation_hash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	ESYS_TR primary = ESYS_TR_NONE, session = ESYS_TR_NONE;
	size_t off;
	TSS2_RC rc;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > SR_TPM_SEAL_MAX)
		return sr_fail(err, SR_EINVAL,
			       "tpm: a sealed secret has 1..%d bytes, not %zu",
			       SR_TPM_SEAL_MAX, len);
	if (pcr_mask == 0 || pcr_mask >> SR_TPM_PCR_COUNT)
		return sr_fail(err, SR_EINVAL,
			       "tpm: the PCR selection must name PCRs 0..%d",
			       SR_TPM_PCR_COUNT - 1);
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_ADMINWITHPOLICY;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme =
		TPM2_ALG_NULL;
	ret = pcr_policy_digest(tpm, pcr_mask, &tmpl.publicArea.authPolicy,
				err);
	if (ret)
		goto out;
	ret = primary_create(tpm, &primary, out->primary_name,
			     &out->primary_name_len, err);
	if (ret)
		goto out;
	ret = salted_session(tpm, primary, TPM2_SE_HMAC,
			     TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION,
			     &session, err);
	if (ret)
		goto out;
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, secret, len);
	rc = Esys_Create(tpm->esys, primary, session, ESYS_TR_NONE,
			 ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcrs,
			 &priv, &pub, &creation, &creation_hash, &ticket);
	sodium_memzero(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_Create (sealed key)", rc);
		goto out;
	}
	off = 0;
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out->public_area,
					  sizeof(out->public_area), &off);
	out->public_len = off;
	if (rc == TSS2_RC_SUCCESS) {
		off = 0;
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, out->private_area,
						   sizeof(out->private_area),
						   &off);
		out->private_len = off;
	}
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EINTERNAL, "marshal sealed object",
				  rc);
		goto out;
	}
	out->pcr_mask = pcr_mask;
	ret = SR_OK;
out:
	Esys_Free(priv);
	Esys_Free(pub);
	Esys_Free(creation);
	Esys_Free(creation_hash);
	Esys_Free(ticket);
	flush(tpm, session);
	flush(tpm, primary);
	return ret;
}

int sr_tpm_unseal(struct sr_tpm *tpm, const struct sr_tpm_sealed *in,
		  uint8_t *secret, size_t len, struct sr_err *err)
{
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_PRIVATE priv = { 0 };
	TPM2B_DIGEST empty = { 0 };
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPML_PCR_SELECTION sel;
	uint8_t name[SR_TPM_NAME_MAX];
	char pcrs[SR_TPM_PCRS_TEXT_MAX];
	size_t name_len = 0, off;
	ESYS_TR primary = ESYS_TR_NONE, session = ESYS_TR_NONE;
	ESYS_TR policy = ESYS_TR_NONE, item = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	sodium_memzero(secret, len);
	off = 0;
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(in->public_area, in->public_len,
					    &off, &pub);
	if (rc == TSS2_RC_SUCCESS && off != in->public_len)
		rc = TSS2_MU_RC_BAD_SIZE;
	if (rc == TSS2_RC_SUCCESS) {
		off = 0;
		rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(in->private_area,
						     in->private_len, &off,
						     &priv);
		if (rc == TSS2_RC_SUCCESS && off != in->private_len)
			rc = TSS2_MU_RC_BAD_SIZE;
	}
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_ECORRUPT,
				   "sealed object does not parse", rc);
	ret = primary_create(tpm, &primary, name, &name_len, err);
	if (ret)
		goto out;
	if (name_len != in->primary_name_len ||
	    memcmp(name, in->primary_name, name_len) != 0) {
		ret = sr_fail(err, SR_ECRYPTO, "%s", SR_TPM_OTHER_TPM_MSG);
		goto out;
	}
	ret = salted_session(tpm, primary, TPM2_SE_HMAC,
			     TPMA_SESSION_CONTINUESESSION, &session, err);
	if (ret)
		goto out;
	rc = Esys_Load(tpm->esys, primary, session, ESYS_TR_NONE, ESYS_TR_NONE,
		       &priv, &pub, &item);
	if (rc != TSS2_RC_SUCCESS) {
		/* The right primary key, but a blob it did not make or
		 * one that was altered. */
		if (sr_tpm_rc_base(rc) == TPM2_RC_INTEGRITY)
			ret = sr_fail(err, SR_ECORRUPT,
				      "tpm: the sealed object fails the TPM's integrity check (altered, or not made by this TPM)");
		else
			ret = sr_tpm_fail(err, SR_EIO, "Esys_Load (sealed key)",
					  rc);
		goto out;
	}
	ret = salted_session(tpm, primary, TPM2_SE_POLICY,
			     TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
			     &policy, err);
	if (ret)
		goto out;
	sr_tpm_pcr_selection(in->pcr_mask, &sel);
	rc = Esys_PolicyPCR(tpm->esys, policy, ESYS_TR_NONE, ESYS_TR_NONE,
			    ESYS_TR_NONE, &empty, &sel);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_PolicyPCR", rc);
		goto out;
	}
	rc = Esys_Unseal(tpm->esys, item, policy, ESYS_TR_NONE, ESYS_TR_NONE,
			 &data);
	if (rc != TSS2_RC_SUCCESS) {
		sr_tpm_pcrs_format(in->pcr_mask, pcrs);
		if (sr_tpm_rc_base(rc) == TPM2_RC_POLICY_FAIL)
			ret = sr_fail(err, SR_EPOLICY,
				      "the master key's PCR policy (%s) does not hold: one of these PCRs changed since the key was sealed",
				      pcrs);
		else
			ret = sr_tpm_fail(err, SR_EIO, "Esys_Unseal", rc);
		goto out;
	}
	if (data->size != len) {
		ret = sr_fail(err, SR_ECORRUPT,
			      "tpm: the sealed secret has %u bytes, expected %zu",
			      (unsigned)data->size, len);
		goto out;
	}
	memcpy(secret, data->buffer, len);
	ret = SR_OK;
out:
	if (data) {
		sodium_memzero(data, sizeof(*data));
		Esys_Free(data);
	}
	if (ret)
		sodium_memzero(secret, len);
	flush(tpm, item);
	flush(tpm, policy);
	flush(tpm, session);
	flush(tpm, primary);
	return ret;
}
