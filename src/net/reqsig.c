/*
 * reqsig.c - signed control-plane requests (see reqsig.h).
 */
#include "net/reqsig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sha256.h"
#include "store/value.h"
#include "base/banned.h"

/* v2: the body hash is SHA-256 (v1 was BLAKE2b), because each mailbox
 * post is hashed in full by its sender and by the coordinator, and SHA-256
 * runs at twice BLAKE2b's speed on CPUs with SHA extensions. */
#define REQ_LABEL "sealroom.request.v2\n"
#define BODY_DOMAIN "sealroom.request.body.v2"
/* Longest method and path we sign; longer ones never verify. */
#define SIGNED_MAX 2048

/* The signed message into out; 0 if it does not fit. */
static size_t signed_message(char out[SIGNED_MAX], const char *method,
			     const char *path, const void *body,
			     size_t body_len, int64_t time)
{
	uint8_t h[SR_SHA256_BYTES];
	char hex[2 * SR_SHA256_BYTES + 1];
	int n;

	if (sr_sha256(h, BODY_DOMAIN, body ? body : "", body ? body_len : 0) != SR_OK)
		return 0;   /* signs the empty message: never verifies */
	sr_hex(hex, h, sizeof(h));
	n = snprintf(out, SIGNED_MAX, REQ_LABEL "%s\n%s\n%" PRId64 "\n%s",
		     method, path, time, hex);
	if (n < 0 || n >= SIGNED_MAX)
		return 0;
	return (size_t)n;
}

void sr_reqsig_make(const struct sr_identity *id, const char *method,
		    const char *path, const void *body, size_t body_len,
		    int64_t now, char out[SR_REQSIG_MAX])
{
	char msg[SIGNED_MAX];
	uint8_t sig[SR_SIGN_BYTES];
	char sig_hex[2 * SR_SIGN_BYTES + 1];
	size_t len = signed_message(msg, method, path, body, body_len, now);

	/* An over-long path signs the empty message, which never verifies
	 * against a real request: the server answers 401. */
	sr_identity_sign(id, (const uint8_t *)msg, len, sig);
	sr_hex(sig_hex, sig, sizeof(sig));
	snprintf(out, SR_REQSIG_MAX, "Sealroom org=%s,time=%" PRId64 ",sig=%s",
		 id->org_id, now, sig_hex);
}

/* Take "NAME=" at *p and the value up to ',' (consumed, unless last) or
 * the end.  Only lowercase hex digits, digits and '_' may appear. */
static int field(const char **p, const char *name, char *val, size_t size,
		 int last)
{
	size_t nl = strlen(name), i = 0;

	if (strncmp(*p, name, nl) != 0 || (*p)[nl] != '=')
		return 0;
	*p += nl + 1;
	while (**p && **p != ',') {
		char c = **p;
		if (i + 1 >= size || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
				       c == '_'))
			return 0;
		val[i++] = *(*p)++;
	}
	val[i] = '\0';
	if (last)
		return i > 0 && **p == '\0';
	if (**p == ',')
		(*p)++;   /* a missing next field is named by its own check */
	return i > 0;
}

static int is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int sr_reqsig_parse(const char *header, struct sr_reqsig *out,
		    struct sr_err *err)
{
	char org[SR_ORG_ID_LEN + 2], time_s[24], sig[2 * SR_SIGN_BYTES + 2];
	const char *p;
	int64_t t;

	memset(out, 0, sizeof(*out));
	if (!header)
		return sr_fail(err, SR_EINVAL,
			       "Authorization: missing (requests must be signed: 'Sealroom org=...,time=...,sig=...')");
	if (strncmp(header, "Sealroom ", 9) != 0)
		return sr_fail(err, SR_EINVAL,
			       "Authorization: expected the 'Sealroom' scheme");
	p = header + 9;
	if (!field(&p, "org", org, sizeof(org), 0) || strlen(org) != SR_ORG_ID_LEN ||
	    strncmp(org, "org_", 4) != 0 || !is_hex(org + 4, SR_ORG_ID_LEN - 4))
		return sr_fail(err, SR_EINVAL, "Authorization: org: expected an org id");
	/* Plain digits, no sign, no leading zero: one text per time. */
	if (!field(&p, "time", time_s, sizeof(time_s), 0) ||
	    !is_hex(time_s, strlen(time_s)) || strpbrk(time_s, "abcdef") ||
	    (time_s[0] == '0' && time_s[1]) ||
	    sr_value_parse_int64(time_s, strlen(time_s), &t) != SR_OK || t < 0)
		return sr_fail(err, SR_EINVAL,
			       "Authorization: time: expected unix seconds");
	if (!field(&p, "sig", sig, sizeof(sig), 1) ||
	    strlen(sig) != 2 * SR_SIGN_BYTES || !is_hex(sig, strlen(sig)) ||
	    sr_unhex(out->sig, SR_SIGN_BYTES, sig) != SR_OK)
		return sr_fail(err, SR_EINVAL,
			       "Authorization: sig: expected 128 hex digits at the end");
	memcpy(out->org_id, org, SR_ORG_ID_LEN + 1);
	out->time = t;
	return SR_OK;
}

int sr_reqsig_verify(const struct sr_reqsig *rs,
		     const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
		     const char *method, const char *path, const void *body,
		     size_t body_len, int64_t now, struct sr_err *err)
{
	char msg[SIGNED_MAX];
	size_t len = signed_message(msg, method, path, body, body_len, rs->time);

	if (len == 0 || sr_sign_verify(sign_pk, (const uint8_t *)msg, len,
				       rs->sig) != SR_OK)
		return sr_fail(err, SR_ECRYPTO,
			       "Authorization: the signature does not verify for %s",
			       rs->org_id);
	if (rs->time > now + SR_REQSIG_SKEW_S || rs->time < now - SR_REQSIG_SKEW_S)
		return sr_fail(err, SR_EPERM,
			       "Authorization: time %" PRId64 " is more than %d s from the coordinator's clock (%" PRId64 ")",
			       rs->time, SR_REQSIG_SKEW_S, now);
	return SR_OK;
}
