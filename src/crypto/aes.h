/*
 * aes.h - AES-128 for the OT-extension PSI (src/psi/kkrt*.c): ECB over
 * many blocks (fixed-key AES as a pseudorandom permutation, for the code
 * and the correlation-robust hash) and CTR as a PRG stream keyed by an
 * OT seed.  Backed by OpenSSL libcrypto's EVP interface, which uses
 * AES-NI with 8-block interleaving where the CPU has it
 * (docs/dependencies.md says why this library).
 *
 * A struct sr_aes is used by one thread at a time (EVP contexts are not
 * shared); make one per task.  Keys are wiped from our copies; OpenSSL
 * clears its schedule when the context is freed.
 */
#ifndef SR_AES_H
#define SR_AES_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SR_AES_BLOCK 16
#define SR_AES_KEYBYTES 16

struct sr_aes {
	void *ctx;    /* EVP_CIPHER_CTX */
};

/* ECB encryption under key.  SR_ENOMEM or SR_ECRYPTO with err filled. */
int sr_aes_ecb_init(struct sr_aes *a, const uint8_t key[SR_AES_KEYBYTES],
		    struct sr_err *err) SR_WUR;
/*
 * CTR stream under key, starting at block number first_block (the
 * 128-bit big-endian counter block is first_block, upper half zero).
 */
int sr_aes_ctr_init(struct sr_aes *a, const uint8_t key[SR_AES_KEYBYTES],
		    uint64_t first_block, struct sr_err *err) SR_WUR;
/* out[0..16*blocks) = E(in) (ECB) — in and out may be equal. */
void sr_aes_ecb(struct sr_aes *a, const uint8_t *in, uint8_t *out,
		size_t blocks);
/* out[0..len) = the next len bytes of the CTR stream (len % 16 == 0). */
void sr_aes_ctr_stream(struct sr_aes *a, uint8_t *out, size_t len);
/* Free the context; NULL-safe, idempotent. */
void sr_aes_release(struct sr_aes *a);

/*
 * AES-256-GCM, the AEAD of bulk data in flight (job channel messages,
 * docs/protocols/jobchan.md): about 4x libsodium's XChaCha20-Poly1305 on
 * a CPU with AES-NI and carry-less multiply.  The nonce is 12 bytes and
 * must never repeat under a key (callers use a message counter).  Seal
 * writes len + SR_GCM_ABYTES bytes to out (out may equal msg); open
 * writes ct_len - SR_GCM_ABYTES and fails with SR_ECRYPTO, out wiped,
 * when the tag does not verify.  SR_ENOMEM when OpenSSL has no context.
 */
#define SR_GCM_KEYBYTES 32
#define SR_GCM_NONCEBYTES 12
#define SR_GCM_ABYTES 16

int sr_gcm_seal(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad,
		size_t ad_len, const uint8_t nonce[SR_GCM_NONCEBYTES],
		const uint8_t key[SR_GCM_KEYBYTES], struct sr_err *err) SR_WUR;
int sr_gcm_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *ad,
		size_t ad_len, const uint8_t nonce[SR_GCM_NONCEBYTES],
		const uint8_t key[SR_GCM_KEYBYTES], struct sr_err *err) SR_WUR;

#endif
