/*
 * verify.c - the owner's side of TPM attestation: the activation
 * challenge (TPM2_MakeCredential in software) and the nine checks (see
 * tee.h and docs/tee.md).
 *
 * MakeCredential is done here rather than on a TPM because it uses no TPM
 * secret, only the EK's public key (TPM 2.0 Part 1, "Credential
 * Protection"), and owner nodes need not have a TPM:
 *
 *   seed      random, 32 bytes (the EK's nameAlg is SHA-256)
 *   secret    RSA-OAEP(EK, SHA-256, label "IDENTITY\0", seed)
 *   symKey    KDFa(SHA-256, seed, "STORAGE", name(AK), "", 128)
 *   encId     AES-128-CFB(symKey, IV 0, TPM2B_DIGEST(credential))
 *   hmacKey   KDFa(SHA-256, seed, "INTEGRITY", "", "", 256)
 *   outerHMAC HMAC-SHA-256(hmacKey, encId ‖ name(AK))
 *   blob      TPM2B_ID_OBJECT(TPM2B_DIGEST(outerHMAC) ‖ encId)
 *
 * Only the TPM holding the EK's private key recovers the seed, and it
 * releases the credential only for a loaded object whose name is
 * name(AK): so returning the credential proves the AK is in that TPM.
 */
#include "tee/tee_int.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "base/banned.h"

static const char *const check_names[] = {
	[SR_TEE_CHECK_EK_CERT] = "ek-certificate",
	[SR_TEE_CHECK_AK_BOUND] = "ak-binding",
	[SR_TEE_CHECK_SIGNATURE] = "quote-signature",
	[SR_TEE_CHECK_MAGIC_TYPE] = "magic-and-type",
	[SR_TEE_CHECK_EXTRA_DATA] = "extra-data",
	[SR_TEE_CHECK_PCR_DIGEST] = "pcr-digest",
	[SR_TEE_CHECK_EVENT_LOG] = "event-log",
	[SR_TEE_CHECK_MEASUREMENTS] = "measurements",
	[SR_TEE_CHECK_COUNTERS] = "counters",
};

const char *sr_tee_check_name(enum sr_tee_check check)
{
	if (check < SR_TEE_CHECK_EK_CERT || check > SR_TEE_CHECK_COUNTERS)
		return "unknown";
	return check_names[check];
}

/* KDFa (TPM 2.0 Part 1, 11.4.10.2) with HMAC-SHA-256; bits a multiple
 * of 8 and at most 256 (all sealroom needs). */
static void kdfa(const uint8_t *key, size_t key_len, const char *label,
		 const uint8_t *ctx_u, size_t u_len, uint32_t bits,
		 uint8_t *out)
{
	crypto_auth_hmacsha256_state st;
	uint8_t counter[4] = { 0, 0, 0, 1 }, nbits[4], block[32];

	nbits[0] = (uint8_t)(bits >> 24);
	nbits[1] = (uint8_t)(bits >> 16);
	nbits[2] = (uint8_t)(bits >> 8);
	nbits[3] = (uint8_t)bits;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, counter, 4);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)label,
				      strlen(label) + 1);
	crypto_auth_hmacsha256_update(&st, ctx_u, u_len);
	crypto_auth_hmacsha256_update(&st, nbits, 4);
	crypto_auth_hmacsha256_final(&st, block);
	memcpy(out, block, bits / 8);
	sodium_memzero(block, sizeof(block));
	sodium_memzero(&st, sizeof(st));
}

/* The AK's public area from ev, and its name (nameAlg ‖ H(TPMT_PUBLIC)). */
static int ak_parse(const struct sr_tee_evidence *ev, TPM2B_PUBLIC *pub,
		    uint8_t name[34], struct sr_err *err)
{
	uint8_t area[SR_TPM_PUBLIC_MAX];
	size_t off = 0, len = 0;
	TSS2_RC rc;

	memset(pub, 0, sizeof(*pub));
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(ev->ak_public, ev->ak_public_len,
					    &off, pub);
	if (rc != TSS2_RC_SUCCESS || off != ev->ak_public_len)
		return sr_fail(err, SR_EPROTO, "the AK public key does not parse");
	if (pub->publicArea.nameAlg != TPM2_ALG_SHA256)
		return sr_fail(err, SR_EPROTO,
			       "the AK's name algorithm is not SHA-256");
	rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, area, sizeof(area),
					 &len);
	if (rc != TSS2_RC_SUCCESS)
		return sr_fail(err, SR_EPROTO, "the AK public key does not marshal");
	name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
	name[1] = (uint8_t)TPM2_ALG_SHA256;
	crypto_hash_sha256(name + 2, area, len);
	return SR_OK;
}

/* RSA-OAEP(SHA-256, "IDENTITY\0") of seed to the key in the EK cert. */
static int ek_encrypt(const struct sr_tee_cert *cert, const uint8_t *seed,
		      size_t seed_len, uint8_t *out, size_t *out_len,
		      struct sr_err *err)
{
	static const char label[] = "IDENTITY";
	const unsigned char *p = cert->der;
	X509 *x = d2i_X509(NULL, &p, (long)cert->len);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk;
	unsigned char *lab = NULL;
	int ret = SR_ECRYPTO;

	if (!x)
		return sr_fail(err, SR_EPROTO, "the EK certificate does not parse");
	pk = X509_get0_pubkey(x);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		ret = sr_fail(err, SR_EPROTO,
			      "the EK certificate does not hold an RSA key");
		goto out;
	}
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	lab = OPENSSL_memdup(label, sizeof(label));  /* the NUL counts */
	if (!ctx || !lab || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, sizeof(label)) <= 0) {
		ret = sr_fail(err, SR_ECRYPTO, "RSA-OAEP setup failed");
		goto out;
	}
	lab = NULL;
	if (EVP_PKEY_encrypt(ctx, out, out_len, seed, seed_len) <= 0) {
		ret = sr_fail(err, SR_ECRYPTO, "RSA-OAEP to the EK failed");
		goto out;
	}
	ret = SR_OK;
out:
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	return ret;
}

int sr_tee_challenge_make(const struct sr_tee_evidence *ev,
			  struct sr_tee_challenge *ch,
			  uint8_t secret[SR_TEE_SECRET_BYTES],
			  struct sr_err *err)
{
	uint8_t seed[32], sym_key[16], hmac_key[32], name[34];
	uint8_t plain[2 + SR_TEE_SECRET_BYTES], enc_id[sizeof(plain)];
	uint8_t enc_seed[512], outer[32];
	uint8_t iv[16] = { 0 };
	size_t enc_len = sizeof(enc_seed);
	crypto_auth_hmacsha256_state st;
	TPM2B_PUBLIC ak;
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, fin = 0, ret;
	uint8_t *b;

	memset(ch, 0, sizeof(*ch));
	ret = ak_parse(ev, &ak, name, err);
	if (ret)
		return ret;
	randombytes_buf(secret, SR_TEE_SECRET_BYTES);
	randombytes_buf(seed, sizeof(seed));
	ret = ek_encrypt(&ev->ek_cert, seed, sizeof(seed), enc_seed, &enc_len,
			 err);
	if (ret)
		goto out;
	kdfa(seed, sizeof(seed), "STORAGE", name, sizeof(name), 128, sym_key);
	kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, 256, hmac_key);
	plain[0] = 0;
	plain[1] = SR_TEE_SECRET_BYTES;
	memcpy(plain + 2, secret, SR_TEE_SECRET_BYTES);
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex(c, EVP_aes_128_cfb128(), NULL, sym_key,
				     iv) != 1 ||
	    EVP_EncryptUpdate(c, enc_id, &n, plain, sizeof(plain)) != 1 ||
	    EVP_EncryptFinal_ex(c, enc_id + n, &fin) != 1 ||
	    (size_t)(n + fin) != sizeof(plain)) {
		ret = sr_fail(err, SR_ECRYPTO, "AES-128-CFB failed");
		goto out;
	}
	crypto_auth_hmacsha256_init(&st, hmac_key, sizeof(hmac_key));
	crypto_auth_hmacsha256_update(&st, enc_id, sizeof(enc_id));
	crypto_auth_hmacsha256_update(&st, name, sizeof(name));
	crypto_auth_hmacsha256_final(&st, outer);
	/* TPM2B_ID_OBJECT: size ‖ (size ‖ outerHMAC) ‖ encIdentity */
	b = ch->credential_blob;
	b[0] = 0;
	b[1] = (uint8_t)(2 + sizeof(outer) + sizeof(enc_id));
	b[2] = 0;
	b[3] = sizeof(outer);
	memcpy(b + 4, outer, sizeof(outer));
	memcpy(b + 4 + sizeof(outer), enc_id, sizeof(enc_id));
	ch->credential_blob_len = 4 + sizeof(outer) + sizeof(enc_id);
	/* TPM2B_ENCRYPTED_SECRET: size ‖ RSA-OAEP(seed) */
	ch->secret[0] = (uint8_t)(enc_len >> 8);
	ch->secret[1] = (uint8_t)enc_len;
	memcpy(ch->secret + 2, enc_seed, enc_len);
	ch->secret_len = 2 + enc_len;
	ret = SR_OK;
out:
	EVP_CIPHER_CTX_free(c);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sym_key, sizeof(sym_key));
	sodium_memzero(hmac_key, sizeof(hmac_key));
	sodium_memzero(plain, sizeof(plain));
	if (ret)
		sodium_memzero(secret, SR_TEE_SECRET_BYTES);
	return ret;
}

/* ---- the checks ---- */

static int refuse(struct sr_err *err, enum sr_tee_check *failed,
		  enum sr_tee_check check, int code, const char *why)
{
	*failed = check;
	return sr_fail(err, code, "tee check %d (%s): %s", (int)check,
		       sr_tee_check_name(check), why);
}

/* 1. The EK certificate (with the evidence's intermediates) chains to a
 * CA of the policy. */
static int check_ek_cert(const struct sr_tee_evidence *ev,
			 const struct sr_tee_policy *pol, char *why,
			 size_t why_len)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t list[1 + SR_TEE_CHAIN_MAX] = { 0 };
	gnutls_datum_t ca = { (unsigned char *)pol->ca_pem,
			      (unsigned)pol->ca_pem_len };
	gnutls_datum_t out = { 0 };
	unsigned status = 0, n = 0;
	int rc, ok = 0;

	if (ev->chain_len > SR_TEE_CHAIN_MAX) {
		snprintf(why, why_len, "more than %d intermediate certificates",
			 SR_TEE_CHAIN_MAX);
		return 0;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(why, why_len, "cannot make a trust list");
		return 0;
	}
	rc = pol->ca_pem && pol->ca_pem_len
		? gnutls_x509_trust_list_add_trust_mem(tl, &ca, NULL,
						       GNUTLS_X509_FMT_PEM, 0, 0)
		: 0;
	if (rc <= 0) {
		snprintf(why, why_len, "the policy lists no usable CA certificate");
		goto out;
	}
	for (size_t i = 0; i <= ev->chain_len; i++) {
		const struct sr_tee_cert *c = i ? &ev->chain[i - 1] : &ev->ek_cert;
		gnutls_datum_t d = { (unsigned char *)c->der, (unsigned)c->len };

		if (c->len > sizeof(c->der) || gnutls_x509_crt_init(&list[n]) < 0 ||
		    gnutls_x509_crt_import(list[n++], &d, GNUTLS_X509_FMT_DER) < 0) {
			snprintf(why, why_len, "%s does not parse as X.509 DER",
				 i ? "an intermediate certificate" : "the EK certificate");
			goto out;
		}
	}
	/* No key purpose is asked for: EK certificates carry the TCG's
	 * tcg-kp-EKCertificate (2.23.133.8.1) and a critical TPM subject
	 * alternative name, which chain verification does not judge; the
	 * signature chain, validity and CA constraints are all checked. */
	rc = gnutls_x509_trust_list_verify_crt(tl, list, n, 0, &status, NULL);
	if (rc < 0) {
		snprintf(why, why_len, "verification failed: %s",
			 gnutls_strerror(rc));
		goto out;
	}
	if (status) {
		if (gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &out, 0) == 0)
			snprintf(why, why_len,
				 "the EK certificate does not chain to a trusted CA: %s",
				 (const char *)out.data);
		else
			snprintf(why, why_len,
				 "the EK certificate does not chain to a trusted CA");
		gnutls_free(out.data);
		goto out;
	}
	ok = 1;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_x509_trust_list_deinit(tl, 1);
	return ok;
}

/* 3. ECDSA P-256 / SHA-256 of attest under the AK. */
static int check_signature(const struct sr_tee_evidence *ev,
			   const TPM2B_PUBLIC *ak, char *why, size_t why_len)
{
	const TPMS_ECC_POINT *q = &ak->publicArea.unique.ecc;
	TPMT_SIGNATURE sig;
	uint8_t point[65], *der = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	size_t off = 0;
	int der_len, ok = 0;

	memset(&sig, 0, sizeof(sig));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(ev->signature, ev->signature_len,
					     &off, &sig) != TSS2_RC_SUCCESS ||
	    off != ev->signature_len) {
		snprintf(why, why_len, "the signature does not parse");
		return 0;
	}
	if (sig.sigAlg != TPM2_ALG_ECDSA ||
	    sig.signature.ecdsa.hash != TPM2_ALG_SHA256) {
		snprintf(why, why_len, "the signature is not ECDSA with SHA-256");
		return 0;
	}
	if (q->x.size != 32 || q->y.size != 32 ||
	    sig.signature.ecdsa.signatureR.size > 32 ||
	    sig.signature.ecdsa.signatureS.size > 32) {
		snprintf(why, why_len, "the AK or the signature is not P-256");
		return 0;
	}
	point[0] = 0x04;
	memcpy(point + 1, q->x.buffer, 32);
	memcpy(point + 33, q->y.buffer, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					      point, sizeof(point)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		snprintf(why, why_len, "the AK is not a valid P-256 point");
		goto out;
	}
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig.signature.ecdsa.signatureR.buffer,
		      sig.signature.ecdsa.signatureR.size, NULL);
	s = BN_bin2bn(sig.signature.ecdsa.signatureS.buffer,
		      sig.signature.ecdsa.signatureS.size, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	r = s = NULL;
	der_len = i2d_ECDSA_SIG(es, &der);
	md = EVP_MD_CTX_new();
	if (der_len <= 0 || !md ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)der_len, ev->attest,
			     ev->attest_len) != 1) {
		snprintf(why, why_len, "the quote's signature does not verify under the AK");
		goto out;
	}
	ok = 1;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

/* The quote's PCR selection as a mask; 0 unless exactly one SHA-256 bank. */
static uint32_t quote_mask(const TPML_PCR_SELECTION *sel)
{
	uint32_t m = 0;

	if (sel->count != 1 || sel->pcrSelections[0].hash != TPM2_ALG_SHA256 ||
	    sel->pcrSelections[0].sizeofSelect > 3)
		return 0;
	for (int p = 0; p < 8 * sel->pcrSelections[0].sizeofSelect; p++)
		if (sel->pcrSelections[0].pcrSelect[p / 8] & (1u << (p % 8)))
			m |= 1u << p;
	return m;
}

static int is_trusted(const struct sr_tee_policy *pol, const uint8_t *digest)
{
	for (size_t i = 0; i < pol->n_measurements; i++)
		if (sodium_memcmp(pol->measurements[i], digest,
				  SR_TEE_DIGEST_BYTES) == 0)
			return 1;
	return 0;
}

int sr_tee_verify(const struct sr_tee_evidence *ev,
		  const struct sr_tee_policy *pol,
		  const uint8_t *nonce, size_t nonce_len,
		  const uint8_t key[32],
		  const uint8_t expected[SR_TEE_SECRET_BYTES],
		  struct sr_tee_counters *seen, enum sr_tee_check *failed,
		  struct sr_err *err)
{
	TPM2B_PUBLIC ak;
	TPMS_ATTEST att;
	uint8_t name[34], want[SR_TEE_DIGEST_BYTES];
	uint8_t replay[SR_TPM_PCR_COUNT][SR_TEE_DIGEST_BYTES];
	uint32_t logged = 0;
	crypto_hash_sha256_state st;
	const TPMS_CLOCK_INFO *ci;
	struct sr_err ak_err;
	char why[512];
	size_t off = 0;
	int rc;

	*failed = 0;
	memset(seen, 0, sizeof(*seen));
	/* 1 */
	if (!check_ek_cert(ev, pol, why, sizeof(why)))
		return refuse(err, failed, SR_TEE_CHECK_EK_CERT, SR_EPOLICY, why);
	/* 2: the AK is a restricted signing key, and the TPM holding the
	 * certified EK released the secret made for this AK's name. */
	sr_err_clear(&ak_err);
	rc = ak_parse(ev, &ak, name, &ak_err);
	if (rc)
		return refuse(err, failed, SR_TEE_CHECK_AK_BOUND, SR_EPROTO,
			      ak_err.msg);
	if (ak.publicArea.type != TPM2_ALG_ECC ||
	    ak.publicArea.objectAttributes != SR_TEE_AK_ATTRIBUTES)
		return refuse(err, failed, SR_TEE_CHECK_AK_BOUND, SR_EPOLICY,
			      "the AK is not a restricted, fixedTPM ECC signing key");
	if (sodium_memcmp(ev->activation, expected, SR_TEE_SECRET_BYTES) != 0)
		return refuse(err, failed, SR_TEE_CHECK_AK_BOUND, SR_ECRYPTO,
			      "the activation secret does not match: the AK is not in the TPM of this EK");
	/* 3 */
	if (!check_signature(ev, &ak, why, sizeof(why)))
		return refuse(err, failed, SR_TEE_CHECK_SIGNATURE, SR_ECRYPTO, why);
	/* 4 */
	memset(&att, 0, sizeof(att));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(ev->attest, ev->attest_len, &off,
					  &att) != TSS2_RC_SUCCESS ||
	    off != ev->attest_len)
		return refuse(err, failed, SR_TEE_CHECK_MAGIC_TYPE, SR_EPROTO,
			      "the attestation structure does not parse");
	if (att.magic != TPM2_GENERATED_VALUE)
		return refuse(err, failed, SR_TEE_CHECK_MAGIC_TYPE, SR_EPOLICY,
			      "magic is not TPM_GENERATED_VALUE: the TPM did not make this structure");
	if (att.type != TPM2_ST_ATTEST_QUOTE)
		return refuse(err, failed, SR_TEE_CHECK_MAGIC_TYPE, SR_EPOLICY,
			      "the attestation is not a quote (type is not TPM_ST_ATTEST_QUOTE)");
	/* 5 */
	if (nonce_len == 0 || nonce_len > SR_TEE_NONCE_MAX)
		return refuse(err, failed, SR_TEE_CHECK_EXTRA_DATA, SR_EINVAL,
			      "the verifier's nonce is empty or too long");
	sr_tee_qualifying_data(nonce, nonce_len, key, want);
	if (att.extraData.size != SR_TEE_DIGEST_BYTES ||
	    sodium_memcmp(att.extraData.buffer, want, SR_TEE_DIGEST_BYTES) != 0)
		return refuse(err, failed, SR_TEE_CHECK_EXTRA_DATA, SR_EPOLICY,
			      "extraData is not SHA-256(nonce || executor key): a replayed quote, or a quote for another key");
	/* 6 */
	if (ev->pcr_mask == 0 || ev->pcr_mask >> SR_TPM_PCR_COUNT ||
	    quote_mask(&att.attested.quote.pcrSelect) != ev->pcr_mask)
		return refuse(err, failed, SR_TEE_CHECK_PCR_DIGEST, SR_EPOLICY,
			      "the quoted PCR selection is not the reported one");
	crypto_hash_sha256_init(&st);
	for (int p = 0; p < SR_TPM_PCR_COUNT; p++)
		if (ev->pcr_mask & (1u << p))
			crypto_hash_sha256_update(&st, ev->pcr_values[p],
						  SR_TEE_DIGEST_BYTES);
	crypto_hash_sha256_final(&st, want);
	if (att.attested.quote.pcrDigest.size != SR_TEE_DIGEST_BYTES ||
	    sodium_memcmp(att.attested.quote.pcrDigest.buffer, want,
			  SR_TEE_DIGEST_BYTES) != 0)
		return refuse(err, failed, SR_TEE_CHECK_PCR_DIGEST, SR_EPOLICY,
			      "the PCR digest in the quote does not match the reported PCR values");
	/* 7: each logged PCR starts at zero (reset) and replays exactly. */
	if (ev->n_events == 0 || ev->n_events > SR_TEE_EVENTS_MAX)
		return refuse(err, failed, SR_TEE_CHECK_EVENT_LOG, SR_EPOLICY,
			      ev->n_events ? "the event log is too long"
					   : "the event log is empty: nothing was measured");
	memset(replay, 0, sizeof(replay));
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct sr_tee_event *e = &ev->events[i];

		if (e->pcr >= SR_TPM_PCR_COUNT || !(ev->pcr_mask & (1u << e->pcr))) {
			snprintf(why, sizeof(why),
				 "event %zu extends PCR %u, which the quote does not cover",
				 i, e->pcr);
			return refuse(err, failed, SR_TEE_CHECK_EVENT_LOG,
				      SR_EPOLICY, why);
		}
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, replay[e->pcr], SR_TEE_DIGEST_BYTES);
		crypto_hash_sha256_update(&st, e->digest, SR_TEE_DIGEST_BYTES);
		crypto_hash_sha256_final(&st, replay[e->pcr]);
		logged |= 1u << e->pcr;
	}
	for (int p = 0; p < SR_TPM_PCR_COUNT; p++) {
		if (!(logged & (1u << p)) ||
		    sodium_memcmp(replay[p], ev->pcr_values[p],
				  SR_TEE_DIGEST_BYTES) == 0)
			continue;
		snprintf(why, sizeof(why),
			 "the event log does not replay to the value of PCR %d", p);
		return refuse(err, failed, SR_TEE_CHECK_EVENT_LOG, SR_EPOLICY, why);
	}
	/* 8 */
	for (size_t i = 0; i < ev->n_events; i++) {
		char hex[2 * SR_TEE_DIGEST_BYTES + 1];

		if (is_trusted(pol, ev->events[i].digest))
			continue;
		for (size_t k = 0; k < SR_TEE_DIGEST_BYTES; k++)
			snprintf(hex + 2 * k, 3, "%02x", ev->events[i].digest[k]);
		snprintf(why, sizeof(why),
			 "measurement %.*s (event %zu, PCR %u) is not in the policy's trusted measurements",
			 SR_TEE_EVENT_TEXT_MAX, hex, i, ev->events[i].pcr);
		return refuse(err, failed, SR_TEE_CHECK_MEASUREMENTS, SR_EPOLICY,
			      why);
	}
	/* 9 */
	ci = &att.clockInfo;
	if (pol->has_last) {
		const struct sr_tee_counters *l = &pol->last_seen;
		const char *back = NULL;

		if (ci->resetCount < l->reset_count)
			back = "the reset counter went backwards";
		else if (ci->resetCount == l->reset_count &&
			 ci->restartCount < l->restart_count)
			back = "the restart counter went backwards";
		else if (ci->resetCount == l->reset_count &&
			 ci->restartCount == l->restart_count &&
			 ci->clock < l->clock_ms)
			back = "the TPM clock went backwards";
		if (back)
			return refuse(err, failed, SR_TEE_CHECK_COUNTERS,
				      SR_EPOLICY, back);
	}
	seen->clock_ms = ci->clock;
	seen->reset_count = ci->resetCount;
	seen->restart_count = ci->restartCount;
	return SR_OK;
}
