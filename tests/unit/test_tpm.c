/*
 * test_tpm.c - TPM attestation against two real software TPMs (swtpm,
 * started by tests/support/swtpm.sh run): the executor's evidence (EK
 * certificate from NV, AK, credential activation, quote, event log) passes
 * the owner's nine checks, and each check has a test that makes it fail.
 * Also PCR selection parsing.
 */
#include "testutil.h"

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "base/buf.h"
#include "crypto/crypto.h"
#include "tee/tee_int.h"

#define MEASURE_PCR 16   /* the debug PCR: see docs/tee.md */
#define QUOTE_PCRS ((1u << 0) | (1u << 7) | (1u << MEASURE_PCR))

struct side {
	struct sr_tpm *tpm;
	struct sr_tee_attester *att;
	char *ca_pem;
	size_t ca_len;
	struct sr_tee_cert issuer;
};

static struct side A, B;
static uint8_t binary_digest[32], config_digest[32];
static const uint8_t nonce[16] = "nonce-0123456789";
static uint8_t exec_key[32];
static uint8_t trusted[2][32];

static const char *need_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("SKIP: %s is not set: run through tests/support/swtpm.sh run (CTest does)\n",
		       name);
		exit(77);
	}
	return v;
}

static void pem_to_der(const char *pem, size_t len, struct sr_tee_cert *out)
{
	gnutls_datum_t in = { (unsigned char *)pem, (unsigned)len }, der;

	assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &in, &der), 0);
	assert_true(der.size <= sizeof(out->der));
	memcpy(out->der, der.data, der.size);
	out->len = der.size;
	gnutls_free(der.data);
}

static void side_open(struct side *s, const char *tcti_env, const char *ca_env,
		      const char *issuer_env)
{
	struct sr_err err;
	char *issuer;
	size_t len;

	sr_err_clear(&err);
	if (sr_tpm_open(need_env(tcti_env), &s->tpm, &err) != SR_OK)
		fail_msg("%s", err.msg);
	if (sr_tee_attester_new(s->tpm, &s->att, &err) != SR_OK)
		fail_msg("%s", err.msg);
	s->ca_pem = sr_test_read_file(need_env(ca_env), &s->ca_len);
	issuer = sr_test_read_file(need_env(issuer_env), &len);
	pem_to_der(issuer, len, &s->issuer);
	free(issuer);
}

static int setup(void **state)
{
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	side_open(&A, "SR_SWTPM_TCTI_A", "SR_SWTPM_CA_A", "SR_SWTPM_ISSUER_A");
	side_open(&B, "SR_SWTPM_TCTI_B", "SR_SWTPM_CA_B", "SR_SWTPM_ISSUER_B");
	crypto_hash_sha256(binary_digest, (const uint8_t *)"executor binary", 15);
	crypto_hash_sha256(config_digest, (const uint8_t *)"executor config", 15);
	memcpy(trusted[0], binary_digest, 32);
	memcpy(trusted[1], config_digest, 32);
	randombytes_buf(exec_key, sizeof(exec_key));
	sr_err_clear(&err);
	/* The executor measures itself once, at start. */
	assert_int_equal(sr_tee_attester_measure(A.att, MEASURE_PCR, binary_digest,
						 "binary", &err), SR_OK);
	assert_int_equal(sr_tee_attester_measure(A.att, MEASURE_PCR, config_digest,
						 "config", &err), SR_OK);
	assert_int_equal(sr_tee_attester_measure(B.att, MEASURE_PCR, binary_digest,
						 "binary", &err), SR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_tee_attester_free(A.att);
	sr_tee_attester_free(B.att);
	sr_tpm_free(A.tpm);
	sr_tpm_free(B.tpm);
	free(A.ca_pem);
	free(B.ca_pem);
	return 0;
}

static struct sr_tee_policy policy_for(const struct side *s)
{
	struct sr_tee_policy p = {
		.ca_pem = s->ca_pem, .ca_pem_len = s->ca_len,
		.measurements = (const uint8_t (*)[32])trusted,
		.n_measurements = 2,
	};
	return p;
}

/*
 * The whole handshake as an owner runs it against executor s: challenge,
 * activation, quote for nonce and exec_key.  Returns heap evidence and
 * the expected activation secret.
 */
static struct sr_tee_evidence *handshake(struct side *s,
					 uint8_t secret[SR_TEE_SECRET_BYTES])
{
	struct sr_tee_evidence *ev = calloc(1, sizeof(*ev));
	struct sr_tee_challenge ch;
	struct sr_err err;

	assert_non_null(ev);
	sr_err_clear(&err);
	sr_tee_attester_identity(s->att, ev);
	ev->chain[0] = s->issuer;
	ev->chain_len = 1;
	if (sr_tee_challenge_make(ev, &ch, secret, &err) != SR_OK)
		fail_msg("%s", err.msg);
	if (sr_tee_attester_activate(s->att, &ch, ev->activation, &err) != SR_OK)
		fail_msg("%s", err.msg);
	if (sr_tee_attester_quote(s->att, QUOTE_PCRS, nonce, sizeof(nonce),
				  exec_key, ev, &err) != SR_OK)
		fail_msg("%s", err.msg);
	return ev;
}

/* Verify and expect check (0: success); the message must name it. */
static void expect(const struct sr_tee_evidence *ev,
		   const struct sr_tee_policy *pol, const uint8_t *n,
		   size_t n_len, const uint8_t *key, const uint8_t *secret,
		   enum sr_tee_check check, const char *needle)
{
	struct sr_tee_counters seen;
	enum sr_tee_check failed = 0;
	struct sr_err err;
	char name[64];
	int rc;

	sr_err_clear(&err);
	rc = sr_tee_verify(ev, pol, n, n_len, key, secret, &seen, &failed, &err);
	if (check == 0) {
		if (rc != SR_OK)
			fail_msg("expected success, got: %s", err.msg);
		return;
	}
	if (rc == SR_OK)
		fail_msg("expected check %d to fail, all passed", (int)check);
	if ((int)failed != (int)check)
		fail_msg("expected check %d, failed %d: %s", (int)check,
			 (int)failed, err.msg);
	snprintf(name, sizeof(name), "tee check %d (%s)", (int)check,
		 sr_tee_check_name(check));
	if (!strstr(err.msg, name) || (needle && !strstr(err.msg, needle)))
		fail_msg("message '%s' lacks '%s' / '%s'", err.msg, name,
			 needle ? needle : "");
}

static void test_pcrs_parse(void **state)
{
	char text[SR_TPM_PCRS_TEXT_MAX];
	struct sr_err err;
	uint32_t m = 0;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_tpm_pcrs_parse("sha256:0,7", &m, &err), SR_OK);
	assert_int_equal(m, 0x81);
	assert_int_equal(sr_tpm_pcrs_parse("23,16,0", &m, &err), SR_OK);
	sr_tpm_pcrs_format(m, text);
	assert_string_equal(text, "sha256:0,16,23");
	assert_int_equal(sr_tpm_pcrs_parse("", &m, &err), SR_EINVAL);
	assert_int_equal(sr_tpm_pcrs_parse("24", &m, &err), SR_EINVAL);
	assert_int_equal(sr_tpm_pcrs_parse("7,7", &m, &err), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_tpm_pcrs_parse("sha1:0", &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "unsupported bank"));
	assert_int_equal(sr_tpm_pcrs_parse("0,", &m, &err), SR_EINVAL);
	assert_int_equal(sr_tpm_pcrs_parse("0;7", &m, &err), SR_EINVAL);
}

static void test_good_and_counters(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret), *later;
	struct sr_tee_policy pol = policy_for(&A);
	struct sr_tee_counters seen;
	enum sr_tee_check failed;
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_tee_verify(ev, &pol, nonce, sizeof(nonce), exec_key,
				       secret, &seen, &failed, &err), SR_OK);
	/* The log names what was measured, in order. */
	assert_int_equal(ev->n_events, 2);
	assert_string_equal(ev->events[0].what, "binary");
	assert_int_equal(ev->events[1].pcr, MEASURE_PCR);
	/* A later handshake, with the counters just seen: still accepted. */
	pol.has_last = 1;
	pol.last_seen = seen;
	later = handshake(&A, secret);
	expect(later, &pol, nonce, sizeof(nonce), exec_key, secret, 0, NULL);
	/* 9: counters going backwards for this executor. */
	pol.last_seen.clock_ms = seen.clock_ms + 3600 * 1000;
	expect(later, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_COUNTERS, "clock went backwards");
	pol.last_seen = seen;
	pol.last_seen.restart_count++;
	expect(later, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_COUNTERS, "restart counter");
	pol.last_seen = seen;
	pol.last_seen.reset_count++;
	expect(later, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_COUNTERS, "reset counter");
	free(ev);
	free(later);
}

/* 1 */
static void test_wrong_ca(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&B);   /* B's CA only */

	(void)state;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EK_CERT, "does not chain to a trusted CA");
	/* Without the intermediate the chain is incomplete. */
	pol = policy_for(&A);
	ev->chain_len = 0;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EK_CERT, NULL);
	/* A policy without CAs trusts nothing. */
	pol.ca_pem = NULL;
	pol.ca_pem_len = 0;
	ev->chain_len = 1;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EK_CERT, "no usable CA");
	free(ev);
}

/* 2: A's (certified) EK with B's AK: B cannot activate A's challenge. */
static void test_other_tpms_ak(void **state)
{
	struct sr_tee_evidence *ev = calloc(1, sizeof(*ev)), *b_ev;
	struct sr_tee_policy pol = policy_for(&A);
	struct sr_tee_challenge ch;
	uint8_t secret[32], b_secret[32];
	struct sr_err err;

	(void)state;
	assert_non_null(ev);
	sr_err_clear(&err);
	b_ev = handshake(&B, b_secret);
	*ev = *b_ev;                       /* B's AK, B's quote */
	sr_tee_attester_identity(A.att, ev);          /* A's EK cert ... */
	memcpy(ev->ak_public, b_ev->ak_public, b_ev->ak_public_len);
	ev->ak_public_len = b_ev->ak_public_len;      /* ... B's AK */
	ev->chain[0] = A.issuer;
	assert_int_equal(sr_tee_challenge_make(ev, &ch, secret, &err), SR_OK);
	assert_int_not_equal(sr_tee_attester_activate(B.att, &ch, ev->activation,
						      &err), SR_OK);
	/* Whatever B returns (its failure leaves zeros; or the secret of
	 * its own, earlier challenge) does not match. */
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_AK_BOUND, "activation secret does not match");
	memcpy(ev->activation, b_ev->activation, 32);
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_AK_BOUND, NULL);
	free(ev);
	free(b_ev);
}

/* 3 */
static void test_tampered_signature(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);

	(void)state;
	ev->signature[ev->signature_len - 1] ^= 1;   /* last byte of S */
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_SIGNATURE, "does not verify");
	ev->signature[ev->signature_len - 1] ^= 1;
	/* The signature covers the attested bytes: edit the clock. */
	ev->attest[ev->attest_len / 2] ^= 0x40;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_SIGNATURE, NULL);
	free(ev);
}

/* 4: the AK signs a TPMS_ATTEST that is not a quote (TPM2_Certify). */
static void test_wrong_type(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);
	struct sr_tpm *tpm = sr_tee_attester_tpm(A.att);
	ESYS_TR ak = sr_tee_attester_ak(A.att);
	TPM2B_DATA qualifying = { .size = 32 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *sig = NULL;
	size_t off = 0;

	(void)state;
	sr_tee_qualifying_data(nonce, sizeof(nonce), exec_key, qualifying.buffer);
	assert_int_equal(Esys_Certify(tpm->esys, ak, ak, ESYS_TR_PASSWORD,
				      ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      &qualifying, &scheme, &info, &sig),
			 TSS2_RC_SUCCESS);
	memcpy(ev->attest, info->attestationData, info->size);
	ev->attest_len = info->size;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(sig, ev->signature,
							sizeof(ev->signature),
							&off), TSS2_RC_SUCCESS);
	ev->signature_len = off;
	Esys_Free(info);
	Esys_Free(sig);
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_MAGIC_TYPE, "not a quote");
	free(ev);
}

/* 5 */
static void test_wrong_nonce_or_key(void **state)
{
	uint8_t secret[32], other_key[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);
	static const uint8_t other_nonce[16] = "nonce-0123456780";

	(void)state;
	memcpy(other_key, exec_key, 32);
	other_key[0] ^= 1;
	expect(ev, &pol, other_nonce, sizeof(other_nonce), exec_key, secret,
	       SR_TEE_CHECK_EXTRA_DATA, "replayed");
	expect(ev, &pol, nonce, sizeof(nonce), other_key, secret,
	       SR_TEE_CHECK_EXTRA_DATA, NULL);
	free(ev);
}

/* 6 */
static void test_altered_pcr_value(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);

	(void)state;
	ev->pcr_values[7][0] ^= 1;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_PCR_DIGEST, "does not match the reported PCR values");
	ev->pcr_values[7][0] ^= 1;
	ev->pcr_mask &= ~(1u << 7);   /* reporting fewer PCRs than quoted */
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_PCR_DIGEST, "selection");
	free(ev);
}

/* 7 */
static void test_altered_event_log(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);

	(void)state;
	/* Claim only the binary was measured (hide the config). */
	ev->n_events = 1;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EVENT_LOG, "does not replay to the value of PCR 16");
	ev->n_events = 2;
	/* Swap the order. */
	memcpy(ev->events[0].digest, config_digest, 32);
	memcpy(ev->events[1].digest, binary_digest, 32);
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EVENT_LOG, NULL);
	/* An event on a PCR the quote does not cover. */
	memcpy(ev->events[0].digest, binary_digest, 32);
	memcpy(ev->events[1].digest, config_digest, 32);
	ev->events[1].pcr = 9;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EVENT_LOG, "does not cover");
	ev->n_events = 0;
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_EVENT_LOG, "empty");
	free(ev);
}

/* 8 */
static void test_unlisted_measurement(void **state)
{
	uint8_t secret[32];
	struct sr_tee_evidence *ev = handshake(&A, secret);
	struct sr_tee_policy pol = policy_for(&A);

	(void)state;
	pol.n_measurements = 1;   /* the binary only, not this config */
	expect(ev, &pol, nonce, sizeof(nonce), exec_key, secret,
	       SR_TEE_CHECK_MEASUREMENTS, "event 1, PCR 16");
	free(ev);
}

/* ---- the executor and the handshake over a pipe (executor.c) ---------- */

/* A pipe over one end of a socketpair: u32 length, bytes. */
static int sock_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	int fd = *(int *)ctx;
	uint32_t n = (uint32_t)len;

	if (write(fd, &n, 4) != 4 || (len && write(fd, msg, len) != (ssize_t)len))
		return sr_fail(err, SR_EIO, "test pipe: write");
	return SR_OK;
}

static int read_full(int fd, void *p, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t r = read(fd, (char *)p + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int sock_recv(void *ctx, struct sr_buf *msg, size_t max_len, struct sr_err *err)
{
	int fd = *(int *)ctx;
	uint32_t n;

	sr_buf_reset(msg);
	if (read_full(fd, &n, 4) || n > max_len || sr_buf_grow(msg, n) ||
	    read_full(fd, msg->data, n))
		return sr_fail(err, SR_EIO, "test pipe: end of stream");
	sr_buf_setlen(msg, n);
	return SR_OK;
}

struct exec_side {
	struct sr_tee_executor *ex;
	int fd;
	uint8_t key[32], rk[32];
	int rc;
	char msg[SR_ERR_MSG_MAX];
};

static void *exec_main(void *arg)
{
	struct exec_side *e = arg;
	struct sr_pipe p = { &e->fd, sock_send, sock_recv };
	struct sr_err err;

	sr_err_clear(&err);
	e->rc = sr_tee_executor_attest(e->ex, &p, e->key, e->rk, &err);
	snprintf(e->msg, sizeof(e->msg), "%s", err.msg);
	close(e->fd);
	return NULL;
}

/* One handshake against e with policy; returns the verifier's status. */
static int run_handshake(struct exec_side *e, const struct sr_tee_policy *pol,
			 struct sr_tee_verified *out, struct sr_err *err)
{
	int sv[2], rc;
	pthread_t th;
	uint8_t rk[32];
	struct sr_pipe p;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	e->fd = sv[1];
	randombytes_buf(rk, sizeof(rk));
	assert_int_equal(pthread_create(&th, NULL, exec_main, e), 0);
	p.ctx = &sv[0];
	p.send = sock_send;
	p.recv = sock_recv;
	sr_err_clear(err);
	rc = sr_tee_handshake_verify(&p, pol, 1, rk, out, err);
	close(sv[0]);
	pthread_join(th, NULL);
	if (rc == SR_OK)
		assert_memory_equal(e->rk, rk, 32);
	return rc;
}

static void test_executor_handshake(void **state)
{
	struct sr_tee_executor_config cfg = { 0 };
	static struct exec_side e;
	struct sr_tee_verified v;
	struct sr_tee_policy pol = policy_for(&B);
	uint8_t m[2][32];
	char *issuer;
	size_t len;
	struct sr_err err;
	struct sr_buf wire;
	static struct sr_tee_evidence ev;

	(void)state;
	sr_err_clear(&err);
	issuer = sr_test_read_file(need_env("SR_SWTPM_ISSUER_B"), &len);
	cfg.tcti = need_env("SR_SWTPM_TCTI_B");
	cfg.pcr = MEASURE_PCR;
	cfg.chain_pem = issuer;
	cfg.chain_pem_len = len;
	/* Last test: resets B's PCR 16 and measures the test binary; B's
	 * attester goes first (swtpm holds few loaded objects). */
	sr_tee_attester_free(B.att);
	B.att = NULL;
	if (sr_tee_executor_open(&cfg, &e.ex, &err) != SR_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(sr_tee_executor_measure(MEASURE_PCR, m, &err), SR_OK);
	assert_memory_equal(sr_tee_executor_measurements(e.ex)[0], m[0], 32);
	randombytes_buf(e.key, sizeof(e.key));
	pol.measurements = (const uint8_t (*)[32])m;
	pol.n_measurements = 2;
	if (run_handshake(&e, &pol, &v, &err) != SR_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(e.rc, SR_OK);
	assert_memory_equal(v.executor_key, e.key, 32);
	assert_int_equal(v.n_measurements, 2);
	assert_memory_equal(v.measurements[1], m[1], 32);
	/* The config is not trusted: check 8, and the executor's wait fails. */
	pol.n_measurements = 1;
	assert_int_not_equal(run_handshake(&e, &pol, &v, &err), SR_OK);
	if (!strstr(err.msg, "tee check 8 (measurements)"))
		fail_msg("%s", err.msg);
	assert_int_not_equal(e.rc, SR_OK);
	/* Another TPM's CA: check 1. */
	pol = policy_for(&A);
	pol.measurements = (const uint8_t (*)[32])m;
	pol.n_measurements = 2;
	assert_int_not_equal(run_handshake(&e, &pol, &v, &err), SR_OK);
	if (!strstr(err.msg, "tee check 1 (ek-certificate)"))
		fail_msg("%s", err.msg);
	/* Wire forms: a bundle round-trips; cut short or padded, it is refused. */
	sr_buf_init(&wire, SR_BUF_UNBOUNDED);
	sr_tee_attester_identity(A.att, &ev);
	ev.n_events = 1;
	snprintf(ev.events[0].what, sizeof(ev.events[0].what), "binary");
	assert_int_equal(sr_tee_evidence_encode(&ev, &wire, &err), SR_OK);
	assert_int_equal(sr_tee_evidence_decode((const uint8_t *)wire.data, wire.len, &ev, &err), SR_OK);
	assert_string_equal(ev.events[0].what, "binary");
	assert_int_equal(sr_tee_evidence_decode((const uint8_t *)wire.data, wire.len - 1, &ev, &err),
			 SR_EPROTO);
	assert_int_equal(sr_buf_addch(&wire, 0), SR_OK);
	assert_int_equal(sr_tee_evidence_decode((const uint8_t *)wire.data, wire.len, &ev, &err),
			 SR_EPROTO);
	sr_buf_release(&wire);
	sr_tee_executor_free(e.ex);
	free(issuer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcrs_parse),
		cmocka_unit_test(test_good_and_counters),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_other_tpms_ak),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_wrong_nonce_or_key),
		cmocka_unit_test(test_altered_pcr_value),
		cmocka_unit_test(test_altered_event_log),
		cmocka_unit_test(test_unlisted_measurement),
		cmocka_unit_test(test_executor_handshake),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
