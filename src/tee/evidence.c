/*
 * evidence.c - the wire forms of the attestation handshake's messages
 * (docs/protocols/tee.md): the executor's evidence bundle and the
 * verifier's activation challenge.  Little-endian, each variable field a
 * u32 length and its bytes.  Decoding trusts nothing: every length is
 * checked against the struct's caps before a byte is copied, and trailing
 * bytes fail; what a decoded bundle claims is for sr_tee_verify to judge.
 */
#include "tee/tee.h"

#include <string.h>

#include "base/buf.h"
#include "base/banned.h"

#define EVIDENCE_MAGIC "SRTEEv1E"
#define CHALLENGE_MAGIC "SRTEEv1C"
#define MAGIC_LEN 8

static int put_bytes(struct sr_buf *b, const void *p, size_t len)
{
	if (sr_buf_add_u32le(b, (uint32_t)len) || sr_buf_add(b, p, len))
		return SR_ENOMEM;
	return SR_OK;
}

int sr_tee_evidence_encode(const struct sr_tee_evidence *ev, struct sr_buf *out,
			   struct sr_err *err)
{
	int bad = sr_buf_add(out, EVIDENCE_MAGIC, MAGIC_LEN) ||
		put_bytes(out, ev->ek_cert.der, ev->ek_cert.len) ||
		sr_buf_add_u32le(out, (uint32_t)ev->chain_len);

	for (size_t i = 0; !bad && i < ev->chain_len; i++)
		bad = put_bytes(out, ev->chain[i].der, ev->chain[i].len);
	bad = bad || put_bytes(out, ev->ak_public, ev->ak_public_len) ||
		sr_buf_add(out, ev->activation, sizeof(ev->activation)) ||
		put_bytes(out, ev->attest, ev->attest_len) ||
		put_bytes(out, ev->signature, ev->signature_len) ||
		sr_buf_add_u32le(out, ev->pcr_mask);
	for (uint32_t p = 0; !bad && p < SR_TPM_PCR_COUNT; p++)
		if (ev->pcr_mask & (1u << p))
			bad = sr_buf_add(out, ev->pcr_values[p], SR_TEE_DIGEST_BYTES);
	bad = bad || sr_buf_add_u32le(out, (uint32_t)ev->n_events);
	for (size_t i = 0; !bad && i < ev->n_events; i++)
		bad = sr_buf_add_u32le(out, ev->events[i].pcr) ||
			sr_buf_add(out, ev->events[i].digest, SR_TEE_DIGEST_BYTES) ||
			put_bytes(out, ev->events[i].what, strlen(ev->events[i].what));
	return bad ? sr_fail(err, SR_ENOMEM, "tee: evidence: out of memory") : SR_OK;
}

struct reader {
	const uint8_t *p;
	size_t left;
	int bad;
};

static uint32_t get_u32(struct reader *r)
{
	uint32_t v;

	if (r->bad || r->left < 4) {
		r->bad = 1;
		return 0;
	}
	v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
		(uint32_t)r->p[3] << 24;
	r->p += 4;
	r->left -= 4;
	return v;
}

static void get_fixed(struct reader *r, void *out, size_t len)
{
	if (r->bad || r->left < len) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
}

/* A u32 length (at most cap) and its bytes into out; *len gets it. */
static void get_var(struct reader *r, void *out, size_t cap, size_t *len)
{
	uint32_t n = get_u32(r);

	if (r->bad || n > cap) {
		r->bad = 1;
		*len = 0;
		return;
	}
	get_fixed(r, out, n);
	*len = r->bad ? 0 : n;
}

int sr_tee_evidence_decode(const uint8_t *data, size_t len,
			   struct sr_tee_evidence *ev, struct sr_err *err)
{
	struct reader r = { data, len, 0 };
	char magic[MAGIC_LEN];
	size_t n;

	memset(ev, 0, sizeof(*ev));
	get_fixed(&r, magic, MAGIC_LEN);
	if (r.bad || memcmp(magic, EVIDENCE_MAGIC, MAGIC_LEN) != 0)
		return sr_fail(err, SR_EPROTO, "tee: the executor's evidence is not an evidence bundle");
	get_var(&r, ev->ek_cert.der, sizeof(ev->ek_cert.der), &ev->ek_cert.len);
	ev->chain_len = get_u32(&r);
	if (ev->chain_len > SR_TEE_CHAIN_MAX)
		r.bad = 1;
	for (size_t i = 0; !r.bad && i < ev->chain_len; i++)
		get_var(&r, ev->chain[i].der, sizeof(ev->chain[i].der), &ev->chain[i].len);
	get_var(&r, ev->ak_public, sizeof(ev->ak_public), &ev->ak_public_len);
	get_fixed(&r, ev->activation, sizeof(ev->activation));
	get_var(&r, ev->attest, sizeof(ev->attest), &ev->attest_len);
	get_var(&r, ev->signature, sizeof(ev->signature), &ev->signature_len);
	ev->pcr_mask = get_u32(&r);
	if (ev->pcr_mask >> SR_TPM_PCR_COUNT)
		r.bad = 1;
	for (uint32_t p = 0; !r.bad && p < SR_TPM_PCR_COUNT; p++)
		if (ev->pcr_mask & (1u << p))
			get_fixed(&r, ev->pcr_values[p], SR_TEE_DIGEST_BYTES);
	ev->n_events = get_u32(&r);
	if (ev->n_events > SR_TEE_EVENTS_MAX)
		r.bad = 1;
	for (size_t i = 0; !r.bad && i < ev->n_events; i++) {
		ev->events[i].pcr = get_u32(&r);
		get_fixed(&r, ev->events[i].digest, SR_TEE_DIGEST_BYTES);
		get_var(&r, ev->events[i].what, sizeof(ev->events[i].what) - 1, &n);
		ev->events[i].what[n] = '\0';
		if (memchr(ev->events[i].what, '\0', n))
			r.bad = 1;
	}
	if (r.bad || r.left != 0) {
		memset(ev, 0, sizeof(*ev));
		return sr_fail(err, SR_EPROTO,
			       "tee: the executor's evidence bundle is malformed (a field too long, cut short or trailing bytes)");
	}
	return SR_OK;
}

int sr_tee_challenge_encode(const struct sr_tee_challenge *ch, struct sr_buf *out,
			    struct sr_err *err)
{
	if (sr_buf_add(out, CHALLENGE_MAGIC, MAGIC_LEN) ||
	    put_bytes(out, ch->credential_blob, ch->credential_blob_len) ||
	    put_bytes(out, ch->secret, ch->secret_len))
		return sr_fail(err, SR_ENOMEM, "tee: challenge: out of memory");
	return SR_OK;
}

int sr_tee_challenge_decode(const uint8_t *data, size_t len,
			    struct sr_tee_challenge *ch, struct sr_err *err)
{
	struct reader r = { data, len, 0 };
	char magic[MAGIC_LEN];

	memset(ch, 0, sizeof(*ch));
	get_fixed(&r, magic, MAGIC_LEN);
	if (!r.bad && memcmp(magic, CHALLENGE_MAGIC, MAGIC_LEN) != 0)
		r.bad = 1;
	get_var(&r, ch->credential_blob, sizeof(ch->credential_blob), &ch->credential_blob_len);
	get_var(&r, ch->secret, sizeof(ch->secret), &ch->secret_len);
	if (r.bad || r.left != 0) {
		memset(ch, 0, sizeof(*ch));
		return sr_fail(err, SR_EPROTO, "tee: the activation challenge is malformed");
	}
	return SR_OK;
}
