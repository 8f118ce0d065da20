/*
 * sha256.c - domain-separated SHA-256 on OpenSSL EVP (sha256.h).
 */
#include "crypto/sha256.h"

#include <openssl/evp.h>
#include <string.h>

#include "base/buf.h"
#include "base/banned.h"

int sr_sha256(uint8_t out[SR_SHA256_BYTES], const char *domain, const void *data,
	      size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t dlen = strlen(domain);
	uint8_t len4[4];
	unsigned int outl = 0;
	int ok;

	memset(out, 0, SR_SHA256_BYTES);
	if (!ctx)
		return SR_ENOMEM;
	sr_store_u32le(len4, (uint32_t)dlen);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, len4, sizeof(len4)) == 1 &&
	     EVP_DigestUpdate(ctx, domain, dlen) == 1 &&
	     (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, &outl) == 1 && outl == SR_SHA256_BYTES;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		memset(out, 0, SR_SHA256_BYTES);
		return SR_ENOMEM;
	}
	return SR_OK;
}
