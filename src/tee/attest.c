/*
 * attest.c - the executor's side of TPM attestation (see tee.h).
 *
 * Keys: the endorsement key is recreated from the TCG EK Credential
 * Profile's RSA-2048 template L-1 (a primary key is a function of the
 * endorsement seed and the template, so this is the key the EK certificate
 * in NV 0x01c00002 certifies).  The attestation key is a restricted ECC
 * P-256 signing key, also a primary of the endorsement hierarchy (so it is
 * the same key every time the executor starts on this TPM).  Restricted
 * means the TPM signs with it only digests it computed itself, over
 * structures it made (quotes start with TPM_GENERATED_VALUE), so the AK
 * cannot be made to sign a forged quote.
 */
#include "tee/tee_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "base/alloc.h"
#include "base/banned.h"

#define EK_CERT_NV_INDEX 0x01c00002   /* RSA-2048 EK certificate */
#define NV_READ_CHUNK 512

_Static_assert(sizeof(((TPM2B_ATTEST *)0)->attestationData) <= SR_TEE_ATTEST_MAX,
	       "attest cap");
_Static_assert(sizeof(TPMT_SIGNATURE) <= SR_TEE_SIG_MAX, "signature cap");
_Static_assert(sizeof(TPM2B_ID_OBJECT) <= SR_TEE_BLOB_MAX, "id object cap");
_Static_assert(sizeof(TPM2B_ENCRYPTED_SECRET) <= SR_TEE_BLOB_MAX,
	       "encrypted secret cap");
_Static_assert(SR_TEE_NONCE_MAX + 32 <= 4096, "qualifying data input");

struct sr_tee_attester {
	struct sr_tpm *tpm;
	ESYS_TR ek, ak;
	struct sr_tee_cert ek_cert;
	uint8_t ak_public[SR_TPM_PUBLIC_MAX];
	size_t ak_public_len;
	struct sr_tee_event events[SR_TEE_EVENTS_MAX];
	size_t n_events;
};

/* The TCG's PolicySecret(TPM_RH_ENDORSEMENT) digest (EK template L-1). */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

static void ek_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_DECRYPT;
	t->publicArea.authPolicy.size = sizeof(ek_policy);
	memcpy(t->publicArea.authPolicy.buffer, ek_policy, sizeof(ek_policy));
	t->publicArea.parameters.rsaDetail.symmetric = sr_tpm_aes128cfb_object;
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.parameters.rsaDetail.exponent = 0;
	t->publicArea.unique.rsa.size = 256;
}

static void ak_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = SR_TEE_AK_ATTRIBUTES;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		TPM2_ALG_SHA256;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

static int endorsement_primary(struct sr_tpm *tpm, const TPM2B_PUBLIC *tmpl,
			       const char *what, ESYS_TR *handle,
			       TPM2B_PUBLIC **pub, struct sr_err *err)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcrs = { 0 };
	TPM2B_CREATION_DATA *creation = NULL;
	TPM2B_DIGEST *creation_hash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TSS2_RC rc;

	rc = Esys_CreatePrimary(tpm->esys, ESYS_TR_RH_ENDORSEMENT,
				ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				&sens, tmpl, &outside, &creation_pcrs, handle,
				pub, &creation, &creation_hash, &ticket);
	Esys_Free(creation);
	Esys_Free(creation_hash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS) {
		*handle = ESYS_TR_NONE;
		return sr_tpm_fail(err, SR_EIO, what, rc);
	}
	return SR_OK;
}

/* The DER length of a certificate at the start of buf (NV indices may be
 * padded), or 0 if it does not start with a long-form SEQUENCE. */
static size_t der_length(const uint8_t *buf, size_t len)
{
	size_t n;

	if (len < 4 || buf[0] != 0x30 || buf[1] != 0x82)
		return 0;
	n = ((size_t)buf[2] << 8 | buf[3]) + 4;
	return n <= len ? n : 0;
}

static int read_ek_cert(struct sr_tpm *tpm, struct sr_tee_cert *cert,
			struct sr_err *err)
{
	TPM2B_NV_PUBLIC *nv_pub = NULL;
	TPM2B_NAME *nv_name = NULL;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	ESYS_TR nv = ESYS_TR_NONE;
	size_t size, off = 0;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(tpm->esys, EK_CERT_NV_INDEX, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, &nv);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_ENOTFOUND,
				   "no EK certificate in NV index 0x01c00002", rc);
	rc = Esys_NV_ReadPublic(tpm->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &nv_pub, &nv_name);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_NV_ReadPublic (EK certificate)",
				   rc);
	size = nv_pub->nvPublic.dataSize;
	Esys_Free(nv_pub);
	Esys_Free(nv_name);
	if (size == 0 || size > sizeof(cert->der))
		return sr_fail(err, SR_ELIMIT,
			       "tpm: the EK certificate has %zu bytes (at most %zu)",
			       size, sizeof(cert->der));
	while (off < size) {
		UINT16 n = (UINT16)(size - off < NV_READ_CHUNK ? size - off
							       : NV_READ_CHUNK);
		rc = Esys_NV_Read(tpm->esys, nv, nv, ESYS_TR_PASSWORD,
				  ESYS_TR_NONE, ESYS_TR_NONE, n, (UINT16)off,
				  &data);
		if (rc != TSS2_RC_SUCCESS)
			return sr_tpm_fail(err, SR_EIO,
					   "Esys_NV_Read (EK certificate)", rc);
		memcpy(cert->der + off, data->buffer, data->size);
		off += data->size;
		Esys_Free(data);
		data = NULL;
	}
	cert->len = der_length(cert->der, size);
	if (!cert->len)
		return sr_fail(err, SR_ECORRUPT,
			       "tpm: NV index 0x01c00002 does not hold a DER certificate");
	return SR_OK;
}

void sr_tee_attester_free(struct sr_tee_attester *att)
{
	if (!att)
		return;
	if (att->ek != ESYS_TR_NONE)
		Esys_FlushContext(att->tpm->esys, att->ek);
	if (att->ak != ESYS_TR_NONE)
		Esys_FlushContext(att->tpm->esys, att->ak);
	sr_free(att);
}

int sr_tee_attester_new(struct sr_tpm *tpm, struct sr_tee_attester **out,
			struct sr_err *err)
{
	struct sr_tee_attester *att;
	TPM2B_PUBLIC tmpl, *pub = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int ret;

	*out = NULL;
	att = sr_calloc(1, sizeof(*att));
	if (!att)
		return sr_fail(err, SR_ENOMEM, "tee: out of memory");
	att->tpm = tpm;
	att->ek = att->ak = ESYS_TR_NONE;
	ret = read_ek_cert(tpm, &att->ek_cert, err);
	if (ret)
		goto out;
	ek_template(&tmpl);
	ret = endorsement_primary(tpm, &tmpl, "Esys_CreatePrimary (EK)",
				  &att->ek, &pub, err);
	Esys_Free(pub);
	pub = NULL;
	if (ret)
		goto out;
	ak_template(&tmpl);
	ret = endorsement_primary(tpm, &tmpl, "Esys_CreatePrimary (AK)",
				  &att->ak, &pub, err);
	if (ret)
		goto out;
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, att->ak_public,
					  sizeof(att->ak_public), &off);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EINTERNAL, "marshal AK public", rc);
		goto out;
	}
	att->ak_public_len = off;
	*out = att;
	att = NULL;
out:
	Esys_Free(pub);
	sr_tee_attester_free(att);
	return ret;
}

ESYS_TR sr_tee_attester_ak(const struct sr_tee_attester *att)
{
	return att->ak;
}

struct sr_tpm *sr_tee_attester_tpm(const struct sr_tee_attester *att)
{
	return att->tpm;
}

void sr_tee_attester_identity(const struct sr_tee_attester *att,
			      struct sr_tee_evidence *ev)
{
	ev->ek_cert = att->ek_cert;
	memcpy(ev->ak_public, att->ak_public, att->ak_public_len);
	ev->ak_public_len = att->ak_public_len;
}

int sr_tee_attester_activate(struct sr_tee_attester *att,
			     const struct sr_tee_challenge *ch,
			     uint8_t secret[SR_TEE_SECRET_BYTES],
			     struct sr_err *err)
{
	static const TPMT_SYM_DEF sym_null = { .algorithm = TPM2_ALG_NULL };
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET enc = { 0 };
	TPM2B_NONCE nonce_tpm = { 0 };
	TPM2B_DIGEST cp_hash = { 0 };
	TPM2B_NONCE policy_ref = { 0 };
	TPM2B_TIMEOUT *timeout = NULL;
	TPMT_TK_AUTH *ticket = NULL;
	TPM2B_DIGEST *cert_info = NULL;
	ESYS_TR session = ESYS_TR_NONE;
	struct sr_tpm *tpm = att->tpm;
	size_t off = 0;
	TSS2_RC rc;
	int ret = SR_OK;

	sodium_memzero(secret, SR_TEE_SECRET_BYTES);
	rc = Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(ch->credential_blob,
					       ch->credential_blob_len, &off,
					       &blob);
	if (rc == TSS2_RC_SUCCESS) {
		off = 0;
		rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(ch->secret,
							      ch->secret_len,
							      &off, &enc);
	}
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EPROTO,
				   "the activation challenge does not parse", rc);
	/* The EK admits only PolicySecret(TPM_RH_ENDORSEMENT). */
	rc = Esys_StartAuthSession(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_POLICY, &sym_null,
				   TPM2_ALG_SHA256, &session);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_StartAuthSession (EK)", rc);
	/* Kept after use (ESAPI's default) and flushed below on every path. */
	rc = Esys_TRSess_SetAttributes(tpm->esys, session,
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_TRSess_SetAttributes", rc);
		goto out;
	}
	rc = Esys_PolicySecret(tpm->esys, ESYS_TR_RH_ENDORSEMENT, session,
			       ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &nonce_tpm, &cp_hash, &policy_ref, 0, &timeout,
			       &ticket);
	Esys_Free(timeout);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_EIO, "Esys_PolicySecret (endorsement)",
				  rc);
		goto out;
	}
	rc = Esys_ActivateCredential(tpm->esys, att->ak, att->ek,
				     ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
				     &blob, &enc, &cert_info);
	if (rc != TSS2_RC_SUCCESS) {
		ret = sr_tpm_fail(err, SR_ECRYPTO, "Esys_ActivateCredential",
				  rc);
		goto out;
	}
	if (cert_info->size != SR_TEE_SECRET_BYTES) {
		ret = sr_fail(err, SR_EPROTO,
			      "tee: the activated secret has %u bytes, expected %d",
			      (unsigned)cert_info->size, SR_TEE_SECRET_BYTES);
		goto out;
	}
	memcpy(secret, cert_info->buffer, SR_TEE_SECRET_BYTES);
out:
	if (cert_info) {
		sodium_memzero(cert_info, sizeof(*cert_info));
		Esys_Free(cert_info);
	}
	if (session != ESYS_TR_NONE)
		Esys_FlushContext(tpm->esys, session);
	return ret;
}

int sr_tee_attester_measure(struct sr_tee_attester *att, uint32_t pcr,
			    const uint8_t digest[SR_TEE_DIGEST_BYTES],
			    const char *what, struct sr_err *err)
{
	TPML_DIGEST_VALUES values = { 0 };
	struct sr_tee_event *ev;
	TSS2_RC rc;

	if (pcr >= SR_TPM_PCR_COUNT)
		return sr_fail(err, SR_EINVAL, "tee: no PCR %u (0..%d)", pcr,
			       SR_TPM_PCR_COUNT - 1);
	if (att->n_events == SR_TEE_EVENTS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "tee: the event log holds at most %d events",
			       SR_TEE_EVENTS_MAX);
	values.count = 1;
	values.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(values.digests[0].digest.sha256, digest, SR_TEE_DIGEST_BYTES);
	rc = Esys_PCR_Extend(att->tpm->esys, ESYS_TR_PCR0 + pcr,
			     ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			     &values);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_PCR_Extend", rc);
	ev = &att->events[att->n_events++];
	ev->pcr = pcr;
	memcpy(ev->digest, digest, SR_TEE_DIGEST_BYTES);
	snprintf(ev->what, sizeof(ev->what), "%s", what ? what : "");
	return SR_OK;
}

int sr_tee_attester_reset_pcr(struct sr_tee_attester *att, uint32_t pcr,
			      struct sr_err *err)
{
	TSS2_RC rc;

	if (pcr != 16 && pcr != 23)
		return sr_fail(err, SR_EINVAL,
			       "tee: PCR %u cannot be reset (the executor measures into 16 or 23)", pcr);
	rc = Esys_PCR_Reset(att->tpm->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD,
			    ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_PCR_Reset", rc);
	att->n_events = 0;
	return SR_OK;
}

void sr_tee_qualifying_data(const uint8_t *nonce, size_t nonce_len,
			    const uint8_t key[32],
			    uint8_t out[SR_TEE_DIGEST_BYTES])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, nonce, nonce_len);
	crypto_hash_sha256_update(&st, key, 32);
	crypto_hash_sha256_final(&st, out);
}

/* Read the PCRs of mask (PCR_Read returns at most eight per call). */
static int read_pcrs(struct sr_tpm *tpm, uint32_t mask,
		     uint8_t values[SR_TPM_PCR_COUNT][SR_TEE_DIGEST_BYTES],
		     struct sr_err *err)
{
	uint32_t left = mask;

	while (left) {
		TPML_PCR_SELECTION sel, *sel_out = NULL;
		TPML_DIGEST *digests = NULL;
		UINT32 update_counter;
		uint32_t got = 0;
		size_t k = 0;
		TSS2_RC rc;

		sr_tpm_pcr_selection(left, &sel);
		rc = Esys_PCR_Read(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &sel, &update_counter,
				   &sel_out, &digests);
		if (rc != TSS2_RC_SUCCESS)
			return sr_tpm_fail(err, SR_EIO, "Esys_PCR_Read", rc);
		for (UINT32 i = 0; i < sel_out->count; i++) {
			const TPMS_PCR_SELECTION *s = &sel_out->pcrSelections[i];
			if (s->hash != TPM2_ALG_SHA256)
				continue;
			for (int p = 0; p < SR_TPM_PCR_COUNT && p / 8 < s->sizeofSelect; p++)
				if (s->pcrSelect[p / 8] & (1u << (p % 8)))
					got |= 1u << p;
		}
		for (int p = 0; p < SR_TPM_PCR_COUNT; p++) {
			if (!(got & (1u << p)))
				continue;
			if (k >= digests->count ||
			    digests->digests[k].size != SR_TEE_DIGEST_BYTES) {
				Esys_Free(sel_out);
				Esys_Free(digests);
				return sr_fail(err, SR_EPROTO,
					       "tpm: PCR_Read returned fewer digests than PCRs");
			}
			memcpy(values[p], digests->digests[k++].buffer,
			       SR_TEE_DIGEST_BYTES);
		}
		Esys_Free(sel_out);
		Esys_Free(digests);
		if (!(got & left))
			return sr_fail(err, SR_EIO,
				       "tpm: the TPM did not return the SHA-256 PCRs asked for (is the sha256 bank active?)");
		left &= ~got;
	}
	return SR_OK;
}

int sr_tee_attester_quote(struct sr_tee_attester *att, uint32_t pcr_mask,
			  const uint8_t *nonce, size_t nonce_len,
			  const uint8_t key[32], struct sr_tee_evidence *ev,
			  struct sr_err *err)
{
	TPM2B_DATA qualifying = { 0 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int ret;

	if (nonce_len == 0 || nonce_len > SR_TEE_NONCE_MAX)
		return sr_fail(err, SR_EINVAL,
			       "tee: the nonce has 1..%d bytes, not %zu",
			       SR_TEE_NONCE_MAX, nonce_len);
	if (pcr_mask == 0 || pcr_mask >> SR_TPM_PCR_COUNT)
		return sr_fail(err, SR_EINVAL, "tee: no PCRs to quote");
	ret = read_pcrs(att->tpm, pcr_mask, ev->pcr_values, err);
	if (ret)
		return ret;
	ev->pcr_mask = pcr_mask;
	qualifying.size = SR_TEE_DIGEST_BYTES;
	sr_tee_qualifying_data(nonce, nonce_len, key, qualifying.buffer);
	sr_tpm_pcr_selection(pcr_mask, &sel);
	rc = Esys_Quote(att->tpm->esys, att->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			ESYS_TR_NONE, &qualifying, &scheme, &sel, &quoted, &sig);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EIO, "Esys_Quote", rc);
	memcpy(ev->attest, quoted->attestationData, quoted->size);
	ev->attest_len = quoted->size;
	rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, ev->signature,
					    sizeof(ev->signature), &off);
	ev->signature_len = off;
	Esys_Free(quoted);
	Esys_Free(sig);
	if (rc != TSS2_RC_SUCCESS)
		return sr_tpm_fail(err, SR_EINTERNAL, "marshal quote signature",
				   rc);
	memcpy(ev->events, att->events, att->n_events * sizeof(att->events[0]));
	ev->n_events = att->n_events;
	return SR_OK;
}
