/*
 * executor.c - the TEE executor's TPM side and the attestation handshake
 * (DESIGN §9, docs/tee.md, docs/protocols/tee.md).
 *
 * At start the executor measures itself: SHA-256 of its own binary
 * (/proc/self/exe) and of its configuration text, extended into a
 * resettable PCR (23 in production, 16 in tests) after resetting it, with
 * an event log of both.  For each job and each verifier (every owner and
 * receiver) it runs the handshake on a pipe of the job channel:
 *
 *   V -> E  hello      nonce (32) ‖ receiver key (32, zeros if none)
 *   E -> V  identity   executor key (32) ‖ evidence with EK certificate,
 *                      chain and AK only
 *   V -> E  challenge  MakeCredential for the EK and the AK's name
 *   E -> V  evidence   activation ‖ quote (extraData = H(nonce ‖ key)) ‖
 *                      PCR values ‖ event log
 *   V -> E  verdict    "ok" once the nine checks passed (a refusal aborts
 *                      the job channel instead)
 *
 * The TPM is used by one handshake at a time (lock).
 */
#include "tee/tee.h"

#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/banned.h"

#define VERDICT_OK "ok"
#define HELLO_LEN 64
#define MSG_MAX (64u << 10)

struct sr_tee_executor {
	struct sr_tpm *tpm;
	struct sr_tee_attester *att;
	uint32_t pcr, quote_mask;
	struct sr_tee_cert chain[SR_TEE_CHAIN_MAX];
	size_t chain_len;
	uint8_t measured[SR_TEE_EXECUTOR_MEASUREMENTS][SR_TEE_DIGEST_BYTES];
	pthread_mutex_t lock;
};

static uint32_t quote_mask(uint32_t pcr)
{
	return (1u << 0) | (1u << 7) | (1u << pcr);
}

int sr_tee_executor_measure(uint32_t pcr,
			    uint8_t out[SR_TEE_EXECUTOR_MEASUREMENTS][SR_TEE_DIGEST_BYTES],
			    struct sr_err *err)
{
	crypto_hash_sha256_state st;
	char pcrs[SR_TPM_PCRS_TEXT_MAX], config[256];
	uint8_t buf[1 << 16];
	ssize_t n;
	int fd;

	if (pcr != 16 && pcr != 23)
		return sr_fail(err, SR_EINVAL, "executor: --pcr must be 16 or 23 (the resettable PCRs), got %u", pcr);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sr_fail(err, SR_EIO, "executor: cannot read its own binary (/proc/self/exe)");
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return sr_fail(err, SR_EIO, "executor: cannot read its own binary (/proc/self/exe)");
	crypto_hash_sha256_final(&st, out[0]);
	/* The configuration that decides what the quotes mean. */
	sr_tpm_pcrs_format(quote_mask(pcr), pcrs);
	snprintf(config, sizeof(config), "sealroom executor config v1\npcr=%u\nquote=%s\n", pcr, pcrs);
	crypto_hash_sha256(out[1], (const uint8_t *)config, strlen(config));
	return SR_OK;
}

/* The PEM certificates of text into ex->chain. */
static int load_chain(struct sr_tee_executor *ex, const char *text, size_t len,
		      struct sr_err *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *s = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1);
		const char *e;
		gnutls_datum_t pem, der = { 0 };

		if (!s)
			break;
		e = memmem(s + 1, (size_t)(end - s - 1), begin, sizeof(begin) - 1);
		if (!e)
			e = end;
		if (ex->chain_len == SR_TEE_CHAIN_MAX)
			return sr_fail(err, SR_ELIMIT, "executor: --ek-chain: more than %d certificates",
				       SR_TEE_CHAIN_MAX);
		pem.data = (unsigned char *)s;
		pem.size = (unsigned)(e - s);
		if (gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der) < 0 ||
		    der.size > sizeof(ex->chain[0].der)) {
			gnutls_free(der.data);
			return sr_fail(err, SR_EINVAL, "executor: --ek-chain: certificate %zu is not a PEM certificate",
				       ex->chain_len + 1);
		}
		memcpy(ex->chain[ex->chain_len].der, der.data, der.size);
		ex->chain[ex->chain_len++].len = der.size;
		gnutls_free(der.data);
		p = e;
	}
	if (len && ex->chain_len == 0)
		return sr_fail(err, SR_EINVAL, "executor: --ek-chain: no PEM certificate in it");
	return SR_OK;
}

int sr_tee_executor_open(const struct sr_tee_executor_config *cfg,
			 struct sr_tee_executor **out, struct sr_err *err)
{
	struct sr_tee_executor *ex;
	int rc;

	*out = NULL;
	ex = sr_calloc(1, sizeof(*ex));
	if (!ex)
		return sr_fail(err, SR_ENOMEM, "executor: out of memory");
	ex->pcr = cfg->pcr;
	ex->quote_mask = quote_mask(cfg->pcr);
	pthread_mutex_init(&ex->lock, NULL);
	rc = sr_tee_executor_measure(cfg->pcr, ex->measured, err);
	if (rc == SR_OK && cfg->chain_pem)
		rc = load_chain(ex, cfg->chain_pem, cfg->chain_pem_len, err);
	if (rc == SR_OK)
		rc = sr_tpm_open(cfg->tcti, &ex->tpm, err);
	if (rc == SR_OK)
		rc = sr_tee_attester_new(ex->tpm, &ex->att, err);
	if (rc == SR_OK)
		rc = sr_tee_attester_reset_pcr(ex->att, ex->pcr, err);
	if (rc == SR_OK)
		rc = sr_tee_attester_measure(ex->att, ex->pcr, ex->measured[0], "binary", err);
	if (rc == SR_OK)
		rc = sr_tee_attester_measure(ex->att, ex->pcr, ex->measured[1], "config", err);
	if (rc) {
		sr_tee_executor_free(ex);
		return rc;
	}
	*out = ex;
	return SR_OK;
}

void sr_tee_executor_free(struct sr_tee_executor *ex)
{
	if (!ex)
		return;
	sr_tee_attester_free(ex->att);
	sr_tpm_free(ex->tpm);
	pthread_mutex_destroy(&ex->lock);
	sr_free(ex);
}

const uint8_t (*sr_tee_executor_measurements(const struct sr_tee_executor *ex))[SR_TEE_DIGEST_BYTES]
{
	return (const uint8_t (*)[SR_TEE_DIGEST_BYTES])ex->measured;
}

int sr_tee_executor_attest(struct sr_tee_executor *ex, const struct sr_pipe *pipe,
			   const uint8_t key[32], uint8_t receiver_key[32],
			   struct sr_err *err)
{
	struct sr_tee_evidence *ev = sr_calloc(1, sizeof(*ev));
	struct sr_tee_challenge ch;
	uint8_t nonce[32];
	struct sr_buf msg;
	int rc;

	if (!ev)
		return sr_fail(err, SR_ENOMEM, "executor: out of memory");
	sr_buf_init(&msg, MSG_MAX);
	rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK && msg.len != HELLO_LEN)
		rc = sr_fail(err, SR_EPROTO, "tee: a verifier's hello is %zu bytes, not %d", msg.len, HELLO_LEN);
	if (rc == SR_OK) {
		memcpy(nonce, msg.data, 32);
		memcpy(receiver_key, (const uint8_t *)msg.data + 32, 32);
		sr_tee_attester_identity(ex->att, ev);
		memcpy(ev->chain, ex->chain, sizeof(ex->chain));
		ev->chain_len = ex->chain_len;
		sr_buf_reset(&msg);
		rc = sr_buf_add(&msg, key, 32) ? sr_fail(err, SR_ENOMEM, "out of memory") :
			sr_tee_evidence_encode(ev, &msg, err);
	}
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)msg.data, msg.len, err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK)
		rc = sr_tee_challenge_decode((const uint8_t *)msg.data, msg.len, &ch, err);
	if (rc == SR_OK) {
		pthread_mutex_lock(&ex->lock);
		rc = sr_tee_attester_activate(ex->att, &ch, ev->activation, err);
		if (rc == SR_OK)
			rc = sr_tee_attester_quote(ex->att, ex->quote_mask, nonce, sizeof(nonce),
						   key, ev, err);
		pthread_mutex_unlock(&ex->lock);
	}
	if (rc == SR_OK) {
		sr_buf_reset(&msg);
		rc = sr_tee_evidence_encode(ev, &msg, err);
	}
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)msg.data, msg.len, err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK && (msg.len != strlen(VERDICT_OK) ||
			    memcmp(msg.data, VERDICT_OK, msg.len) != 0))
		rc = sr_fail(err, SR_EPROTO, "tee: a verifier sent no verdict");
	sr_buf_release(&msg);
	sr_free(ev);
	return rc;
}

int sr_tee_handshake_verify(const struct sr_pipe *pipe,
			    const struct sr_tee_policy *policies, size_t npolicies,
			    const uint8_t receiver_key[32],
			    struct sr_tee_verified *out, struct sr_err *err)
{
	struct sr_tee_evidence *ev = sr_calloc(1, sizeof(*ev));
	struct sr_tee_challenge ch;
	uint8_t hello[HELLO_LEN], secret[SR_TEE_SECRET_BYTES];
	struct sr_buf msg;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ev)
		return sr_fail(err, SR_ENOMEM, "tee: out of memory");
	if (npolicies == 0) {
		sr_free(ev);
		return sr_fail(err, SR_EINVAL, "tee: no policy to verify the executor against");
	}
	sr_buf_init(&msg, MSG_MAX);
	randombytes_buf(hello, 32);
	if (receiver_key)
		memcpy(hello + 32, receiver_key, 32);
	else
		memset(hello + 32, 0, 32);
	rc = pipe->send(pipe->ctx, hello, sizeof(hello), err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK && msg.len < 32)
		rc = sr_fail(err, SR_EPROTO, "tee: the executor's identity message is cut short");
	if (rc == SR_OK) {
		memcpy(out->executor_key, msg.data, 32);
		rc = sr_tee_evidence_decode((const uint8_t *)msg.data + 32, msg.len - 32, ev, err);
	}
	if (rc == SR_OK)
		rc = sr_tee_challenge_make(ev, &ch, secret, err);
	if (rc == SR_OK) {
		sr_buf_reset(&msg);
		rc = sr_tee_challenge_encode(&ch, &msg, err);
	}
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)msg.data, msg.len, err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK) {
		/* The identity the challenge was made for must be the one quoted. */
		struct sr_tee_cert ek = ev->ek_cert;
		uint8_t ak[SR_TPM_PUBLIC_MAX];
		size_t ak_len = ev->ak_public_len;

		memcpy(ak, ev->ak_public, ak_len);
		rc = sr_tee_evidence_decode((const uint8_t *)msg.data, msg.len, ev, err);
		if (rc == SR_OK && (ek.len != ev->ek_cert.len ||
				    memcmp(ek.der, ev->ek_cert.der, ek.len) != 0 ||
				    ak_len != ev->ak_public_len ||
				    memcmp(ak, ev->ak_public, ak_len) != 0))
			rc = sr_fail(err, SR_EPROTO,
				     "tee: the executor's evidence names another EK or AK than the one challenged");
	}
	for (size_t i = 0; rc == SR_OK && i < npolicies; i++) {
		enum sr_tee_check failed;
		rc = sr_tee_verify(ev, &policies[i], hello, 32, out->executor_key, secret,
				   &out->seen, &failed, err);
	}
	if (rc == SR_OK) {
		crypto_hash_sha256(out->quote_hash, ev->attest, ev->attest_len);
		for (size_t i = 0; i < ev->n_events; i++)
			memcpy(out->measurements[i], ev->events[i].digest, SR_TEE_DIGEST_BYTES);
		out->n_measurements = ev->n_events;
		rc = pipe->send(pipe->ctx, (const uint8_t *)VERDICT_OK, strlen(VERDICT_OK), err);
	}
	sodium_memzero(secret, sizeof(secret));
	sr_buf_release(&msg);
	sr_free(ev);
	return rc;
}
