/*
 * aes.c - AES-128 ECB and CTR on OpenSSL EVP (aes.h).  EVP_EncryptUpdate
 * on block-aligned input with padding off never buffers, so one call
 * turns exactly the given blocks; a failure there is impossible for a
 * well-formed context and is treated as a bug.
 */
#include <openssl/evp.h>
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
