/*
 * aes.c - AES-128 ECB and CTR, and AES-256-GCM, on OpenSSL EVP (aes.h).  EVP_EncryptUpdate
 * on block-aligned input with padding off never buffers, so one call
 * turns exactly the given blocks; a failure there is impossible for a
 * well-formed context and is treated as a bug.
 */
#include <limits.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/aes.h"
#include "base/banned.h"

static int aes_init(struct sr_aes *a, const EVP_CIPHER *cipher,
		    const uint8_t key[SR_AES_KEYBYTES], const uint8_t *iv,
		    const char *what, struct sr_err *err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	a->ctx = NULL;
	if (!ctx)
		return sr_fail(err, SR_ENOMEM, "aes: out of memory for an %s context", what);
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return sr_fail(err, SR_ECRYPTO, "aes: OpenSSL refused to set up %s", what);
	}
	a->ctx = ctx;
	return SR_OK;
}

int sr_aes_ecb_init(struct sr_aes *a, const uint8_t key[SR_AES_KEYBYTES],
		    struct sr_err *err)
{
	return aes_init(a, EVP_aes_128_ecb(), key, NULL, "AES-128-ECB", err);
}

int sr_aes_ctr_init(struct sr_aes *a, const uint8_t key[SR_AES_KEYBYTES],
		    uint64_t first_block, struct sr_err *err)
{
	uint8_t iv[SR_AES_BLOCK] = { 0 };

	for (int i = 0; i < 8; i++)
		iv[15 - i] = (uint8_t)(first_block >> (8 * i));
	return aes_init(a, EVP_aes_128_ctr(), key, iv, "AES-128-CTR", err);
}

static void update(struct sr_aes *a, const uint8_t *in, uint8_t *out, size_t len)
{
	/* EVP takes int lengths: go in steps well below INT_MAX. */
	while (len) {
		size_t step = len < (1u << 30) ? len : (1u << 30);
		int outl = 0;
		if (EVP_EncryptUpdate(a->ctx, out, &outl, in, (int)step) != 1 ||
		    (size_t)outl != step)
			SR_BUG("EVP_EncryptUpdate failed on aligned input");
		in += step;
		out += step;
		len -= step;
	}
}

void sr_aes_ecb(struct sr_aes *a, const uint8_t *in, uint8_t *out,
		size_t blocks)
{
	update(a, in, out, blocks * SR_AES_BLOCK);
}

void sr_aes_ctr_stream(struct sr_aes *a, uint8_t *out, size_t len)
{
	if (len % SR_AES_BLOCK)
		SR_BUG("sr_aes_ctr_stream: length not a multiple of 16");
	/* CTR encrypts its input; a zero input gives the key stream. */
	memset(out, 0, len);
	update(a, out, out, len);
}

void sr_aes_release(struct sr_aes *a)
{
	if (a->ctx)
		EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
}

/* EVP_*Update over len bytes in int-sized steps; 0 on failure. */
static int gcm_update(EVP_CIPHER_CTX *ctx, int enc, uint8_t *out, const uint8_t *in,
		      size_t len)
{
	while (len) {
		size_t step = len < (1u << 30) ? len : (1u << 30);
		int outl = 0;
		if ((enc ? EVP_EncryptUpdate(ctx, out, &outl, in, (int)step) :
			   EVP_DecryptUpdate(ctx, out, &outl, in, (int)step)) != 1 ||
		    (size_t)outl != step)
			return 0;
		in += step;
		out += step;
		len -= step;
	}
	return 1;
}

static int gcm_run(int enc, uint8_t *out, const uint8_t *in, size_t len, uint8_t tag[SR_GCM_ABYTES],
		   const uint8_t *ad, size_t ad_len, const uint8_t nonce[SR_GCM_NONCEBYTES],
		   const uint8_t key[SR_GCM_KEYBYTES], struct sr_err *err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	if (!ctx)
		return sr_fail(err, SR_ENOMEM, "aes-gcm: out of memory for a context");
	/* The default IV length of GCM in EVP is 12 bytes. */
	ok = (enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) :
		    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce)) == 1;
	if (ok && ad_len) {
		ok = ad_len <= INT_MAX &&
		     (enc ? EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)ad_len) :
			    EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)ad_len)) == 1;
	}
	ok = ok && gcm_update(ctx, enc, out, in, len);
	if (ok && enc)
		ok = EVP_EncryptFinal_ex(ctx, out + len, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SR_GCM_ABYTES, tag) == 1;
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SR_GCM_ABYTES, tag) == 1 &&
		     EVP_DecryptFinal_ex(ctx, out + len, &outl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (ok)
		return SR_OK;
	if (enc)
		SR_BUG("AES-256-GCM sealing failed");
	sodium_memzero(out, len);
	return sr_fail(err, SR_ECRYPTO, "aes-gcm: the message does not authenticate");
}

int sr_gcm_seal(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad,
		size_t ad_len, const uint8_t nonce[SR_GCM_NONCEBYTES],
		const uint8_t key[SR_GCM_KEYBYTES], struct sr_err *err)
{
	uint8_t tag[SR_GCM_ABYTES];
	int rc = gcm_run(1, out, msg, len, tag, ad, ad_len, nonce, key, err);

	if (rc == SR_OK)
		memcpy(out + len, tag, sizeof(tag));
	return rc;
}

int sr_gcm_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *ad,
		size_t ad_len, const uint8_t nonce[SR_GCM_NONCEBYTES],
		const uint8_t key[SR_GCM_KEYBYTES], struct sr_err *err)
{
	uint8_t tag[SR_GCM_ABYTES];

	if (ct_len < SR_GCM_ABYTES)
		return sr_fail(err, SR_ECRYPTO, "aes-gcm: a message shorter than its tag");
	memcpy(tag, ct + ct_len - SR_GCM_ABYTES, sizeof(tag));
	return gcm_run(0, out, ct, ct_len - SR_GCM_ABYTES, tag, ad, ad_len, nonce, key, err);
}
