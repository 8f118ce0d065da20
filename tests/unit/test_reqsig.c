/*
 * test_reqsig.c - signed control-plane requests (src/net/reqsig.c): a
 * header made for a request parses and verifies; any change to what is
 * signed (method, path, body, time) breaks the signature; a time outside
 * SR_REQSIG_SKEW_S is refused as stale (the edge itself passes); and every
 * malformed header is SR_EINVAL naming the part that is wrong.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/reqsig.h"

/* 2026-01-01T00:00:00Z: tests never read the clock. */
#define NOW ((int64_t)1767225600)
#define PATH "/v1/projects/prj_x/jobs/00ff/mailbox/org_1"
#define SIG_HEX_LEN (2 * SR_SIGN_BYTES)

static const char body[] = "{\"seq\": 3, \"data\": \"aGVsbG8=\"}";

static struct sr_identity alice, bob;

static void fixed_identity(struct sr_identity *id, unsigned char tag)
{
	unsigned char seed[32];

	memset(seed, tag, sizeof(seed));
	sr_identity_init(id);
	id->sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	id->kx_sk = sodium_malloc(SR_BOX_SECRETKEYBYTES);
	assert_non_null(id->sign_sk);
	assert_non_null(id->kx_sk);
	crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
	crypto_box_seed_keypair(id->kx_pk, id->kx_sk, seed);
	sr_identity_org_id(id->org_id, id->sign_pk);
}

static int setup(void **state)
{
	(void)state;
	fixed_identity(&alice, 0x51);
	fixed_identity(&bob, 0x52);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_identity_release(&alice);
	sr_identity_release(&bob);
	return 0;
}

/* Parse header (expected to be well formed) and verify it for the given
 * request at NOW; err receives the verifier's message. */
static int parse_verify(const char *header, const uint8_t *pk, const char *method,
			const char *path, const void *data, size_t len,
			struct sr_err *err)
{
	struct sr_reqsig rs;

	sr_err_clear(err);
	assert_int_equal(sr_reqsig_parse(header, &rs, err), SR_OK);
	return sr_reqsig_verify(&rs, pk, method, path, data, len, NOW, err);
}

static void test_round_trip(void **state)
{
	char header[SR_REQSIG_MAX], want[128];
	struct sr_reqsig rs;
	struct sr_err err;
	const char *sig;

	(void)state;
	sr_reqsig_make(&alice, "POST", PATH, body, strlen(body), NOW, header);
	snprintf(want, sizeof(want), "Sealroom org=%s,time=%" PRId64 ",sig=",
		 alice.org_id, NOW);
	assert_int_equal(strncmp(header, want, strlen(want)), 0);
	sig = header + strlen(want);
	assert_int_equal(strlen(sig), SIG_HEX_LEN);
	assert_int_equal(strspn(sig, "0123456789abcdef"), SIG_HEX_LEN);

	sr_err_clear(&err);
	assert_int_equal(sr_reqsig_parse(header, &rs, &err), SR_OK);
	assert_string_equal(rs.org_id, alice.org_id);
	assert_int_equal(rs.time, NOW);
	assert_int_equal(sr_reqsig_verify(&rs, alice.sign_pk, "POST", PATH, body,
					  strlen(body), NOW, &err), SR_OK);
	assert_string_equal(err.msg, "");

	/* No body: NULL and an empty body sign the same thing. */
	sr_reqsig_make(&alice, "GET", PATH, NULL, 0, NOW, header);
	assert_int_equal(parse_verify(header, alice.sign_pk, "GET", PATH, NULL, 0, &err), SR_OK);
	assert_int_equal(parse_verify(header, alice.sign_pk, "GET", PATH, "", 0, &err), SR_OK);

	/* A binary body, NUL bytes included, is signed by length. */
	{
		static const uint8_t bin[] = { 0, 1, 2, 0, 0xff };
		sr_reqsig_make(&alice, "POST", PATH, bin, sizeof(bin), NOW, header);
		assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, bin,
					      sizeof(bin), &err), SR_OK);
		assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, bin, 1,
					      &err), SR_ECRYPTO);
	}

	/* Signing is deterministic (Ed25519), and another org signs differently. */
	{
		char again[SR_REQSIG_MAX], other[SR_REQSIG_MAX];
		sr_reqsig_make(&alice, "POST", PATH, body, strlen(body), NOW, header);
		sr_reqsig_make(&alice, "POST", PATH, body, strlen(body), NOW, again);
		sr_reqsig_make(&bob, "POST", PATH, body, strlen(body), NOW, other);
		assert_string_equal(header, again);
		assert_string_not_equal(strstr(header, ",sig="), strstr(other, ",sig="));
		assert_int_equal(parse_verify(other, bob.sign_pk, "POST", PATH, body,
					      strlen(body), &err), SR_OK);
	}
}

/* Everything signed is bound: any change is SR_ECRYPTO naming the org. */
static void test_tampering(void **state)
{
	char header[SR_REQSIG_MAX], edited[SR_REQSIG_MAX], copy[sizeof(body)];
	const size_t len = strlen(body);
	struct sr_reqsig rs;
	struct sr_err err;
	char *t;

	(void)state;
	sr_reqsig_make(&alice, "POST", PATH, body, len, NOW, header);

	/* Method, path. */
	assert_int_equal(parse_verify(header, alice.sign_pk, "GET", PATH, body, len, &err),
			 SR_ECRYPTO);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_non_null(strstr(err.msg, alice.org_id));
	assert_int_equal(parse_verify(header, alice.sign_pk, "post", PATH, body, len, &err),
			 SR_ECRYPTO);
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH "x", body, len,
				      &err), SR_ECRYPTO);
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", "/v1/projects/prj_x/head",
				      body, len, &err), SR_ECRYPTO);
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", "", body, len, &err),
			 SR_ECRYPTO);

	/* Every body byte, and the body's length. */
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, body, sizeof(body));
		copy[i] ^= 0x01;
		assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, copy, len,
					      &err), SR_ECRYPTO);
	}
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, body, len - 1,
				      &err), SR_ECRYPTO);
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, body, len + 1,
				      &err), SR_ECRYPTO);
	assert_int_equal(parse_verify(header, alice.sign_pk, "POST", PATH, NULL, 0, &err),
			 SR_ECRYPTO);

	/* The time: edited in the parsed header or in its text, by one second
	 * either way (still well within the skew). */
	sr_err_clear(&err);
	assert_int_equal(sr_reqsig_parse(header, &rs, &err), SR_OK);
	rs.time = NOW + 1;
	assert_int_equal(sr_reqsig_verify(&rs, alice.sign_pk, "POST", PATH, body, len, NOW,
					  &err), SR_ECRYPTO);
	snprintf(edited, sizeof(edited), "%s", header);
	t = strstr(edited, ",time=") + strlen(",time=");
	t[strlen("1767225600") - 1] = '1';   /* ...600 -> ...601 */
	assert_int_equal(parse_verify(edited, alice.sign_pk, "POST", PATH, body, len, &err),
			 SR_ECRYPTO);
	t[strlen("1767225600") - 1] = '0';
	t[strlen("1767225600") - 3] = '5';   /* ...600 -> ...500 */
	assert_int_equal(parse_verify(edited, alice.sign_pk, "POST", PATH, body, len, &err),
			 SR_ECRYPTO);

	/* The signature itself, and another org's key. */
	snprintf(edited, sizeof(edited), "%s", header);
	t = strstr(edited, ",sig=") + strlen(",sig=");
	t[10] = t[10] == '0' ? '1' : '0';
	assert_int_equal(parse_verify(edited, alice.sign_pk, "POST", PATH, body, len, &err),
			 SR_ECRYPTO);
	assert_int_equal(parse_verify(header, bob.sign_pk, "POST", PATH, body, len, &err),
			 SR_ECRYPTO);
	/* A header naming bob over alice's signature. */
	snprintf(edited, sizeof(edited), "%s", header);
	memcpy(strstr(edited, "org=") + 4, bob.org_id, SR_ORG_ID_LEN);
	assert_int_equal(parse_verify(edited, bob.sign_pk, "POST", PATH, body, len, &err),
			 SR_ECRYPTO);
	assert_non_null(strstr(err.msg, bob.org_id));
}

/* A request signed at `at`, verified at NOW. */
static int at_time(int64_t at, struct sr_err *err)
{
	char header[SR_REQSIG_MAX];

	sr_reqsig_make(&alice, "GET", PATH, NULL, 0, at, header);
	return parse_verify(header, alice.sign_pk, "GET", PATH, NULL, 0, err);
}

static void test_skew(void **state)
{
	char want[128];
	struct sr_err err;

	(void)state;
	assert_int_equal(at_time(NOW, &err), SR_OK);
	/* Exactly at the edge, either way: accepted. */
	assert_int_equal(at_time(NOW + SR_REQSIG_SKEW_S, &err), SR_OK);
	assert_int_equal(at_time(NOW - SR_REQSIG_SKEW_S, &err), SR_OK);
	/* One second past it: stale, and the message names both times. */
	assert_int_equal(at_time(NOW + SR_REQSIG_SKEW_S + 1, &err), SR_EPERM);
	snprintf(want, sizeof(want), "time %" PRId64 " is more than %d s", NOW + SR_REQSIG_SKEW_S + 1,
		 SR_REQSIG_SKEW_S);
	assert_non_null(strstr(err.msg, want));
	snprintf(want, sizeof(want), "(%" PRId64 ")", NOW);
	assert_non_null(strstr(err.msg, want));
	assert_int_equal(at_time(NOW - SR_REQSIG_SKEW_S - 1, &err), SR_EPERM);
	snprintf(want, sizeof(want), "time %" PRId64 " ", NOW - SR_REQSIG_SKEW_S - 1);
	assert_non_null(strstr(err.msg, want));
	snprintf(want, sizeof(want), "(%" PRId64 ")", NOW);
	assert_non_null(strstr(err.msg, want));
	/* Far away in either direction, and the epoch. */
	assert_int_equal(at_time(NOW + 86400 * 365, &err), SR_EPERM);
	assert_int_equal(at_time(0, &err), SR_EPERM);
	assert_non_null(strstr(err.msg, "time 0 "));
	assert_int_equal(at_time(INT64_MAX, &err), SR_EPERM);
}

struct bad_header {
	const char *header;    /* with placeholders, see expand() */
	const char *part;      /* what the message must name */
};

/*
 * Copy pattern into out with "{org}" replaced by alice's org id, "{sig}" by
 * a valid signature, "{short}" by one two digits short, "{nothex}" by one
 * with a 'g' and "{spaced}" by one with a space.
 */
static void expand(char *out, size_t cap, const char *pattern, const char *sig,
		   const char *short_sig, const char *not_hex, const char *spaced)
{
	const char *const names[] = { "{org}", "{sig}", "{short}", "{nothex}", "{spaced}" };
	const char *const values[] = { alice.org_id, sig, short_sig, not_hex, spaced };
	size_t n = 0;

	while (*pattern) {
		size_t k, len = 1;
		const char *value = NULL;

		for (k = 0; k < 5; k++)
			if (strncmp(pattern, names[k], strlen(names[k])) == 0) {
				value = values[k];
				len = strlen(names[k]);
				break;
			}
		if (!value) {
			assert_true(n + 1 < cap);
			out[n++] = *pattern;
		} else {
			assert_true(n + strlen(value) < cap);
			memcpy(out + n, value, strlen(value));
			n += strlen(value);
		}
		pattern += len;
	}
	out[n] = '\0';
}

static void test_malformed(void **state)
{
	static const struct bad_header table[] = {
		/* The scheme. */
		{ "", "expected the 'Sealroom' scheme" },
		{ "Bearer abc", "expected the 'Sealroom' scheme" },
		{ "sealroom org={org},time=1767225600,sig={sig}", "expected the 'Sealroom' scheme" },
		{ "Sealroom", "expected the 'Sealroom' scheme" },
		{ "Sealroomorg={org},time=1767225600,sig={sig}", "expected the 'Sealroom' scheme" },
		{ " Sealroom org={org},time=1767225600,sig={sig}", "expected the 'Sealroom' scheme" },
		/* org: missing, out of order, malformed. */
		{ "Sealroom ", "Authorization: org:" },
		{ "Sealroom time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom time=1767225600,org={org},sig={sig}", "Authorization: org:" },
		{ "Sealroom  org={org},time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org=,time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org,time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org ={org},time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org=org_0123,time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org=org_0123456789abcdef0123456789abcde,time=1767225600,sig={sig}",
		  "Authorization: org:" },                          /* 35 characters */
		{ "Sealroom org=org_0123456789abcdef0123456789abcdef0,time=1767225600,sig={sig}",
		  "Authorization: org:" },                          /* 37 */
		{ "Sealroom org=orx_0123456789abcdef0123456789abcdef,time=1767225600,sig={sig}",
		  "Authorization: org:" },
		{ "Sealroom org=ORG_0123456789abcdef0123456789abcdef,time=1767225600,sig={sig}",
		  "Authorization: org:" },
		{ "Sealroom org={org}{org}{org}{org},time=1767225600,sig={sig}", "Authorization: org:" },
		{ "Sealroom org=org_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!,time=1767225600,sig={sig}",
		  "Authorization: org:" },
		{ "Sealroom org=org_0123456789ABCDEF0123456789abcdef,time=1767225600,sig={sig}",
		  "Authorization: org:" },
		/* One text per value: no sign, no leading zero, no trailing comma. */
		{ "Sealroom org={org},time=+1767225600,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=01767225600,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=-0,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=1767225600,sig={sig},", "Authorization: sig:" },
		/* time: missing, repeated field before it, not unix seconds. */
		{ "Sealroom org={org}", "Authorization: time:" },
		{ "Sealroom org={org},", "Authorization: time:" },
		{ "Sealroom org={org},sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},org={org},time=1767225600,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=abc,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=12a,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=1.5,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=1e9,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=0x10,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time= 1767225600,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=1767225600 ,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=-,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=-1,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=-1767225600,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=-9223372036854775808,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=9223372036854775808,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=99999999999999999999,sig={sig}", "Authorization: time:" },
		{ "Sealroom org={org},time=123456789012345678901234567890,sig={sig}",
		  "Authorization: time:" },
		/* sig: missing, short, long, not hex, not at the end, junk after. */
		{ "Sealroom org={org},time=1767225600", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig=", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig=00", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={short}", "Authorization: sig:" },   /* 126 */
		{ "Sealroom org={org},time=1767225600,sig={sig}0", "Authorization: sig:" },  /* 129 */
		{ "Sealroom org={org},time=1767225600,sig={sig}00", "Authorization: sig:" }, /* 130 */
		{ "Sealroom org={org},time=1767225600,sig={nothex}", "Authorization: sig:" },   /* 'g' */
		{ "Sealroom org={org},time=1767225600,sig={spaced}", "Authorization: sig:" },   /* ' ' */
		{ "Sealroom org={org},time=1767225600,sig={sig},extra=1", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={sig},sig={sig}", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={sig} junk", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={sig}\n", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={sig};", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig={sig}{sig}", "Authorization: sig:" },
		{ "Sealroom org={org},sig={sig},time=1767225600", "Authorization: time:" },
		{ "Sealroom org={org},time=1767225600,signature={sig}", "Authorization: sig:" },
		{ "Sealroom org={org},time=1767225600,sig:{sig}", "Authorization: sig:" },
	};
	char good[SR_REQSIG_MAX], sig[SIG_HEX_LEN + 1], short_sig[SIG_HEX_LEN + 1];
	char not_hex[SIG_HEX_LEN + 1], spaced[SIG_HEX_LEN + 1], header[1024];
	struct sr_reqsig rs;
	struct sr_err err;

	(void)state;
	sr_reqsig_make(&alice, "GET", PATH, NULL, 0, NOW, good);
	memcpy(sig, strstr(good, ",sig=") + 5, sizeof(sig));
	memcpy(short_sig, sig, SIG_HEX_LEN - 2);
	short_sig[SIG_HEX_LEN - 2] = '\0';
	memcpy(not_hex, sig, sizeof(sig));
	not_hex[7] = 'g';
	memcpy(spaced, sig, sizeof(sig));
	spaced[64] = ' ';

	/* The well-formed header these are variations of. */
	sr_err_clear(&err);
	snprintf(header, sizeof(header), "Sealroom org=%s,time=1767225600,sig=%s",
		 alice.org_id, sig);
	assert_string_equal(header, good);
	assert_int_equal(sr_reqsig_parse(header, &rs, &err), SR_OK);

	/* No header at all. */
	assert_int_equal(sr_reqsig_parse(NULL, &rs, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "Authorization: missing"));

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		expand(header, sizeof(header), table[i].header, sig, short_sig, not_hex,
		       spaced);
		sr_err_clear(&err);
		memset(&rs, 0x5a, sizeof(rs));
		if (sr_reqsig_parse(header, &rs, &err) != SR_EINVAL ||
		    !strstr(err.msg, table[i].part))
			fail_msg("case %zu \"%s\": expected SR_EINVAL naming \"%s\", got %d \"%s\"",
				 i, header, table[i].part, err.code, err.msg);
		/* Nothing half-parsed is left behind. */
		assert_int_equal(rs.time, 0);
		assert_string_equal(rs.org_id, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_skew),
		cmocka_unit_test(test_malformed),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
