/*
 * bench_tee.c - the TPM attestation handshake at swtpm's speed (not a
 * timed test; run through bench/tee, which starts the software TPMs).
 *
 *   bench_tee [ROUNDS]     default 20
 *
 * One handshake is what an owner does before sending data: a fresh nonce
 * and executor key, MakeCredential (in software), the executor's
 * ActivateCredential, PCR read + quote, and the nine checks of
 * sr_tee_verify.  The executor's one-off start (EK and AK creation, EK
 * certificate read, two measurements) is reported separately.  Every
 * handshake must verify, or the run fails.
 *
 * Needs SR_SWTPM_TCTI_A, SR_SWTPM_CA_A and SR_SWTPM_ISSUER_A (bench/tee
 * sets them).  Output: "bench tee start_ms=... handshake_median_ms=...".
 */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "base/banned.h"

#define ROUNDS_MAX 1000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int read_env_file(const char *var, struct sr_buf *out,
			 struct sr_err *err)
{
	const char *path = getenv(var);

	if (!path)
		return sr_fail(err, SR_EINVAL, "%s is not set (run bench/tee)", var);
	return sr_file_read_all(path, SR_SMALL_FILE_MAX, out, err);
}

int main(int argc, char **argv)
{
	static struct sr_tee_evidence ev;
	static double times[ROUNDS_MAX];
	struct sr_tee_challenge ch;
	struct sr_tee_counters seen;
	struct sr_tee_policy pol = { 0 };
	struct sr_tee_attester *att = NULL;
	struct sr_tpm *tpm = NULL;
	struct sr_buf ca, issuer;
	struct sr_err err;
	enum sr_tee_check failed;
	uint8_t measured[2][32], secret[32], nonce[32], key[32];
	gnutls_datum_t pem, der = { 0 };
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
	double t0, start_ms;
	int rc;

	sr_err_clear(&err);
	sr_buf_init(&ca, SR_SMALL_FILE_MAX);
	sr_buf_init(&issuer, SR_SMALL_FILE_MAX);
	if (rounds < 1 || rounds > ROUNDS_MAX) {
		fprintf(stderr, "bench_tee: ROUNDS must be 1..%d\n", ROUNDS_MAX);
		return 2;
	}
	rc = sr_crypto_init();
	if (rc == SR_OK)
		rc = read_env_file("SR_SWTPM_CA_A", &ca, &err);
	if (rc == SR_OK)
		rc = read_env_file("SR_SWTPM_ISSUER_A", &issuer, &err);
	if (rc)
		goto out;
	pem.data = (unsigned char *)issuer.data;
	pem.size = (unsigned)issuer.len;
	if (gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der) < 0 ||
	    der.size > sizeof(ev.chain[0].der)) {
		rc = sr_fail(&err, SR_EINVAL, "SR_SWTPM_ISSUER_A: not a PEM certificate");
		goto out;
	}
	crypto_hash_sha256(measured[0], (const uint8_t *)"bench binary", 12);
	crypto_hash_sha256(measured[1], (const uint8_t *)"bench config", 12);
	t0 = now_ms();
	rc = sr_tpm_open(getenv("SR_SWTPM_TCTI_A"), &tpm, &err);
	if (rc == SR_OK)
		rc = sr_tee_attester_new(tpm, &att, &err);
	if (rc == SR_OK)
		rc = sr_tee_attester_measure(att, 16, measured[0], "binary", &err);
	if (rc == SR_OK)
		rc = sr_tee_attester_measure(att, 16, measured[1], "config", &err);
	if (rc)
		goto out;
	start_ms = now_ms() - t0;
	pol.ca_pem = ca.data;
	pol.ca_pem_len = ca.len;
	pol.measurements = (const uint8_t (*)[32])measured;
	pol.n_measurements = 2;
	for (long i = 0; i < rounds; i++) {
		memset(&ev, 0, sizeof(ev));
		t0 = now_ms();
		randombytes_buf(nonce, sizeof(nonce));
		randombytes_buf(key, sizeof(key));
		sr_tee_attester_identity(att, &ev);
		memcpy(ev.chain[0].der, der.data, der.size);
		ev.chain[0].len = der.size;
		ev.chain_len = 1;
		rc = sr_tee_challenge_make(&ev, &ch, secret, &err);
		if (rc == SR_OK)
			rc = sr_tee_attester_activate(att, &ch, ev.activation, &err);
		if (rc == SR_OK)
			rc = sr_tee_attester_quote(att, (1u << 0) | (1u << 7) | (1u << 16),
						   nonce, sizeof(nonce), key, &ev, &err);
		if (rc == SR_OK)
			rc = sr_tee_verify(&ev, &pol, nonce, sizeof(nonce), key,
					   secret, &seen, &failed, &err);
		if (rc)
			goto out;
		times[i] = now_ms() - t0;
		pol.has_last = 1;
		pol.last_seen = seen;
	}
	qsort(times, (size_t)rounds, sizeof(times[0]), cmp_double);
	printf("bench tee start_ms=%.1f handshake_median_ms=%.1f handshake_max_ms=%.1f rounds=%ld target_ms=1000\n",
	       start_ms, times[rounds / 2], times[rounds - 1], rounds);
out:
	if (rc)
		fprintf(stderr, "bench_tee: %s\n", err.msg);
	gnutls_free(der.data);
	sr_tee_attester_free(att);
	sr_tpm_free(tpm);
	sr_buf_release(&ca);
	sr_buf_release(&issuer);
	return rc ? 1 : 0;
}
