/*
 * test_crypto.c - known-answer and tamper tests for src/crypto/crypto.c (and
 * the org id and signature of identity.c).  Expected bytes come from
 * tests/kat/crypto.kat, produced by an independent implementation; nothing
 * expected is recomputed here with the code under test.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aes.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"

/* ---- tests/kat/crypto.kat ---------------------------------------------- */

static char *kat_file;

static int kat_setup(void **state)
{
	char *path = sr_test_source_path("tests/kat/crypto.kat");

	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	kat_file = sr_test_read_file(path, NULL);
	free(path);
	return 0;
}

static int kat_teardown(void **state)
{
	(void)state;
	free(kat_file);
	kat_file = NULL;
	return 0;
}

/* The raw value of "name = value" as a heap string (free()). */
static char *kat_value(const char *name)
{
	size_t nlen = strlen(name);
	const char *p = kat_file;

	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (*p != '#' && (size_t)(eol - p) >= nlen + 2 &&
		    strncmp(p, name, nlen) == 0 &&
		    strncmp(p + nlen, " =", 2) == 0) {
			const char *v = p + nlen + 2, *end = eol;
			while (v < end && *v == ' ')
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\r'))
				end--;
			return strndup(v, (size_t)(end - v));
		}
		p = *eol ? eol + 1 : eol;
	}
	fail_msg("crypto.kat: no vector named %s", name);
	return NULL;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("crypto.kat: bad hex digit '%c'", c);
	return -1;
}

/* Hex value decoded by the test itself (not by sr_unhex); heap (free()). */
static uint8_t *kat_bytes(const char *name, size_t *len)
{
	char *hex = kat_value(name);
	size_t n = strlen(hex);
	uint8_t *out;

	assert_int_equal(n % 2, 0);
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hex_nibble(hex[2 * i]) << 4 |
				   hex_nibble(hex[2 * i + 1]));
	free(hex);
	*len = n / 2;
	return out;
}

/* A vector of known size. */
static void kat_fixed(const char *name, uint8_t *out, size_t len)
{
	size_t n;
	uint8_t *b = kat_bytes(name, &n);

	assert_int_equal(n, len);
	memcpy(out, b, len);
	free(b);
}

/* A quoted string value, quotes removed (heap). */
static char *kat_string(const char *name)
{
	char *v = kat_value(name);
	size_t n = strlen(v);

	assert_true(n >= 2 && v[0] == '"' && v[n - 1] == '"');
	memmove(v, v + 1, n - 2);
	v[n - 2] = '\0';
	return v;
}

static void long_data(uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(7 * i + 3);
}

/* ---- hashing -------------------------------------------------------------- */

static void test_hash_kat(void **state)
{
	static const char *const domains[] = { "a", "b" };
	uint8_t got[SR_HASH_BYTES], want[SR_HASH_BYTES];
	uint8_t data[1000];
	size_t msg_len;
	uint8_t *msg = kat_bytes("hash.msg", &msg_len);

	(void)state;
	for (size_t d = 0; d < 2; d++) {
		char key[64];
		char *domain;

		snprintf(key, sizeof(key), "hash.domain_%s", domains[d]);
		domain = kat_string(key);
		snprintf(key, sizeof(key), "hash.%s.empty", domains[d]);
		kat_fixed(key, want, sizeof(want));
		sr_hash(got, domain, NULL, 0);
		assert_memory_equal(got, want, sizeof(want));
		sr_hash(got, domain, "", 0);
		assert_memory_equal(got, want, sizeof(want));
		snprintf(key, sizeof(key), "hash.%s.msg", domains[d]);
		kat_fixed(key, want, sizeof(want));
		sr_hash(got, domain, msg, msg_len);
		assert_memory_equal(got, want, sizeof(want));
		free(domain);
	}
	long_data(data, sizeof(data));
	kat_fixed("hash.a.long", want, sizeof(want));
	sr_hash(got, "sealroom.test.a", data, sizeof(data));
	assert_memory_equal(got, want, sizeof(want));
	free(msg);
}

static void test_hash_domains_differ(void **state)
{
	uint8_t a[SR_HASH_BYTES], b[SR_HASH_BYTES];

	(void)state;
	/* The length prefix keeps the boundary between tag and data. */
	sr_hash(a, "ab", "c", 1);
	sr_hash(b, "a", "bc", 2);
	assert_memory_not_equal(a, b, sizeof(a));
	sr_hash(a, "x", NULL, 0);
	sr_hash(b, "", "x", 1);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_hasher_incremental(void **state)
{
	uint8_t got[SR_HASH_BYTES], want[SR_HASH_BYTES];
	uint8_t data[1000];
	size_t msg_len;
	uint8_t *msg = kat_bytes("hash.msg", &msg_len);
	struct sr_hasher h;
	static const size_t steps[] = { 1, 7, 64, 127, 128, 129, 999 };

	(void)state;
	kat_fixed("hash.a.msg", want, sizeof(want));
	for (size_t split = 0; split <= msg_len; split++) {
		sr_hasher_init(&h, "sealroom.test.a");
		sr_hasher_update(&h, msg, split);
		sr_hasher_update(&h, NULL, 0);
		sr_hasher_update(&h, msg + split, msg_len - split);
		sr_hasher_final(&h, got);
		assert_memory_equal(got, want, sizeof(want));
	}
	long_data(data, sizeof(data));
	kat_fixed("hash.a.long", want, sizeof(want));
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		sr_hasher_init(&h, "sealroom.test.a");
		for (size_t off = 0; off < sizeof(data); off += steps[s]) {
			size_t n = sizeof(data) - off;
			if (n > steps[s])
				n = steps[s];
			sr_hasher_update(&h, data + off, n);
		}
		sr_hasher_final(&h, got);
		assert_memory_equal(got, want, sizeof(want));
	}
	kat_fixed("hash.b.empty", want, sizeof(want));
	sr_hasher_init(&h, "sealroom.test.b");
	sr_hasher_final(&h, got);
	assert_memory_equal(got, want, sizeof(want));
	free(msg);
}

/* ---- hex ------------------------------------------------------------------- */

static void test_hex(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t back[sizeof(bytes)];
	char hex[2 * sizeof(bytes) + 1];
	uint8_t one[1];

	(void)state;
	sr_hex(hex, bytes, sizeof(bytes));
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(sr_unhex(back, sizeof(back), hex), SR_OK);
	assert_memory_equal(back, bytes, sizeof(bytes));
	assert_int_equal(sr_unhex(back, sizeof(back), "00017F80ABFF"), SR_OK);
	assert_memory_equal(back, bytes, sizeof(bytes));
	sr_hex(hex, bytes, 0);
	assert_string_equal(hex, "");
	assert_int_equal(sr_unhex(back, 0, ""), SR_OK);

	assert_int_equal(sr_unhex(back, sizeof(back), NULL), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), ""), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80abf"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80abff0"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80abff00"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80abfg"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80ab f"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80ab:f"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), " 00017f80abf"), SR_EINVAL);
	assert_int_equal(sr_unhex(back, sizeof(back), "00017f80abf\n"), SR_EINVAL);
	assert_int_equal(sr_unhex(one, 1, "0x"), SR_EINVAL);
	assert_int_equal(sr_unhex(one, 1, "-1"), SR_EINVAL);
	assert_int_equal(sr_unhex(one, 1, "g0"), SR_EINVAL);
}

/* ---- AEAD ----------------------------------------------------------------- */

struct aead_vec {
	uint8_t key[SR_AEAD_KEYBYTES];
	uint8_t nonce[SR_AEAD_NONCEBYTES];
	uint8_t *ad, *msg, *ct;
	size_t ad_len, msg_len, ct_len;
};

static void aead_vec_load(struct aead_vec *v, int i)
{
	char name[64];

	snprintf(name, sizeof(name), "aead.%d.key", i);
	kat_fixed(name, v->key, sizeof(v->key));
	snprintf(name, sizeof(name), "aead.%d.nonce", i);
	kat_fixed(name, v->nonce, sizeof(v->nonce));
	snprintf(name, sizeof(name), "aead.%d.ad", i);
	v->ad = kat_bytes(name, &v->ad_len);
	snprintf(name, sizeof(name), "aead.%d.msg", i);
	v->msg = kat_bytes(name, &v->msg_len);
	snprintf(name, sizeof(name), "aead.%d.ct", i);
	v->ct = kat_bytes(name, &v->ct_len);
	assert_int_equal(v->ct_len, v->msg_len + SR_AEAD_ABYTES);
}

static void aead_vec_free(struct aead_vec *v)
{
	free(v->ad);
	free(v->msg);
	free(v->ct);
}

static void test_aead_kat(void **state)
{
	(void)state;
	for (int i = 1; i <= 3; i++) {
		struct aead_vec v;
		uint8_t *out, *inplace;

		aead_vec_load(&v, i);
		out = malloc(v.ct_len);
		inplace = malloc(v.ct_len);
		assert_non_null(out);
		assert_non_null(inplace);
		sr_aead_seal(out, v.msg, v.msg_len, v.ad, v.ad_len, v.nonce,
			     v.key);
		assert_memory_equal(out, v.ct, v.ct_len);

		/* out may equal msg */
		memcpy(inplace, v.msg, v.msg_len);
		sr_aead_seal(inplace, inplace, v.msg_len, v.ad, v.ad_len,
			     v.nonce, v.key);
		assert_memory_equal(inplace, v.ct, v.ct_len);

		memset(out, 0xee, v.ct_len);
		assert_int_equal(sr_aead_open(out, v.ct, v.ct_len, v.ad,
					      v.ad_len, v.nonce, v.key), SR_OK);
		if (v.msg_len)
			assert_memory_equal(out, v.msg, v.msg_len);
		assert_int_equal(sr_aead_open(inplace, inplace, v.ct_len, v.ad,
					      v.ad_len, v.nonce, v.key), SR_OK);
		if (v.msg_len)
			assert_memory_equal(inplace, v.msg, v.msg_len);
		free(out);
		free(inplace);
		aead_vec_free(&v);
	}
}

static void expect_open_fails(const uint8_t *ct, size_t ct_len,
			      const uint8_t *ad, size_t ad_len,
			      const uint8_t *nonce, const uint8_t *key)
{
	uint8_t out[512];

	assert_true(ct_len <= sizeof(out) + SR_AEAD_ABYTES);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(sr_aead_open(out, ct, ct_len, ad, ad_len, nonce, key),
			 SR_ECRYPTO);
	/* No partly decrypted plaintext is released. */
	for (size_t i = 0; ct_len >= SR_AEAD_ABYTES &&
	     i < ct_len - SR_AEAD_ABYTES; i++)
		assert_int_equal(out[i], 0);
}

/* AES-256-GCM (crypto/aes.h), the job channel's AEAD. */
static void test_gcm_kat(void **state)
{
	(void)state;
	for (int i = 1; i <= 2; i++) {
		char name[32];
		uint8_t key[SR_GCM_KEYBYTES], nonce[SR_GCM_NONCEBYTES];
		uint8_t *ad, *msg, *ct, *out, *back;
		size_t ad_len, msg_len, ct_len;
		struct sr_err err;

		snprintf(name, sizeof(name), "gcm.%d.key", i);
		kat_fixed(name, key, sizeof(key));
		snprintf(name, sizeof(name), "gcm.%d.nonce", i);
		kat_fixed(name, nonce, sizeof(nonce));
		snprintf(name, sizeof(name), "gcm.%d.ad", i);
		ad = kat_bytes(name, &ad_len);
		snprintf(name, sizeof(name), "gcm.%d.msg", i);
		msg = kat_bytes(name, &msg_len);
		snprintf(name, sizeof(name), "gcm.%d.ct", i);
		ct = kat_bytes(name, &ct_len);
		assert_int_equal(ct_len, msg_len + SR_GCM_ABYTES);
		out = malloc(ct_len);
		back = malloc(ct_len);
		assert_non_null(out);
		assert_non_null(back);
		assert_int_equal(sr_gcm_seal(out, msg, msg_len, ad, ad_len, nonce, key, &err), SR_OK);
		assert_memory_equal(out, ct, ct_len);
		/* in place */
		memcpy(back, msg, msg_len);
		assert_int_equal(sr_gcm_seal(back, back, msg_len, ad, ad_len, nonce, key, &err), SR_OK);
		assert_memory_equal(back, ct, ct_len);
		assert_int_equal(sr_gcm_open(back, ct, ct_len, ad, ad_len, nonce, key, &err), SR_OK);
		if (msg_len)
			assert_memory_equal(back, msg, msg_len);
		/* every single-bit change of ciphertext, tag, AD, nonce or key fails */
		for (size_t b = 0; b < 8 * ct_len; b += 7) {
			out[b / 8] ^= (uint8_t)(1u << (b % 8));
			assert_int_equal(sr_gcm_open(back, out, ct_len, ad, ad_len, nonce, key, &err),
					 SR_ECRYPTO);
			out[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		if (ad_len) {
			ad[0] ^= 1;
			assert_int_equal(sr_gcm_open(back, ct, ct_len, ad, ad_len, nonce, key, &err),
					 SR_ECRYPTO);
			ad[0] ^= 1;
		}
		nonce[11] ^= 1;
		assert_int_equal(sr_gcm_open(back, ct, ct_len, ad, ad_len, nonce, key, &err), SR_ECRYPTO);
		nonce[11] ^= 1;
		key[0] ^= 1;
		assert_int_equal(sr_gcm_open(back, ct, ct_len, ad, ad_len, nonce, key, &err), SR_ECRYPTO);
		assert_non_null(strstr(err.msg, "does not authenticate"));
		/* shorter than a tag */
		assert_int_equal(sr_gcm_open(back, ct, SR_GCM_ABYTES - 1, ad, ad_len, nonce, key, &err),
				 SR_ECRYPTO);
		free(ad);
		free(msg);
		free(ct);
		free(out);
		free(back);
	}
}

static void test_aead_tamper(void **state)
{
	struct aead_vec v;
	uint8_t ct[512], ad[64], nonce[SR_AEAD_NONCEBYTES], key[SR_AEAD_KEYBYTES];

	(void)state;
	aead_vec_load(&v, 1);
	assert_true(v.ct_len <= sizeof(ct) && v.ad_len < sizeof(ad));
	memset(ad, 0, sizeof(ad));
	memcpy(ct, v.ct, v.ct_len);
	memcpy(ad, v.ad, v.ad_len);
	memcpy(nonce, v.nonce, sizeof(nonce));
	memcpy(key, v.key, sizeof(key));

	/* Every ciphertext byte, then every tag byte. */
	for (size_t i = 0; i < v.ct_len; i++) {
		ct[i] ^= 0x01;
		expect_open_fails(ct, v.ct_len, ad, v.ad_len, nonce, key);
		ct[i] ^= 0x01;
	}
	for (size_t i = 0; i < v.ad_len; i++) {
		ad[i] ^= 0x80;
		expect_open_fails(ct, v.ct_len, ad, v.ad_len, nonce, key);
		ad[i] ^= 0x80;
	}
	for (size_t i = 0; i < sizeof(nonce); i++) {
		nonce[i] ^= 0x01;
		expect_open_fails(ct, v.ct_len, ad, v.ad_len, nonce, key);
		nonce[i] ^= 0x01;
	}
	key[31] ^= 0x01;
	expect_open_fails(ct, v.ct_len, ad, v.ad_len, nonce, key);
	key[31] ^= 0x01;
	/* Dropped, shortened or extended associated data, truncated text. */
	expect_open_fails(ct, v.ct_len, NULL, 0, nonce, key);
	expect_open_fails(ct, v.ct_len, ad, v.ad_len - 1, nonce, key);
	expect_open_fails(ct, v.ct_len, ad, v.ad_len + 1, nonce, key);
	expect_open_fails(ct, v.ct_len - 1, ad, v.ad_len, nonce, key);
	expect_open_fails(ct + 1, v.ct_len - 1, ad, v.ad_len, nonce, key);
	expect_open_fails(ct, SR_AEAD_ABYTES, ad, v.ad_len, nonce, key);
	expect_open_fails(ct, SR_AEAD_ABYTES - 1, ad, v.ad_len, nonce, key);
	expect_open_fails(ct, 0, ad, v.ad_len, nonce, key);
	/* Untouched, it still opens. */
	{
		uint8_t out[512];
		assert_int_equal(sr_aead_open(out, ct, v.ct_len, ad, v.ad_len,
					      nonce, key), SR_OK);
		assert_memory_equal(out, v.msg, v.msg_len);
	}
	aead_vec_free(&v);
}

/* ---- key wrapping ----------------------------------------------------------- */

static void test_key_wrap(void **state)
{
	uint8_t key[32], wrap_key[SR_AEAD_KEYBYTES], other[SR_AEAD_KEYBYTES];
	uint8_t w1[SR_WRAPPED_KEY_BYTES], w2[SR_WRAPPED_KEY_BYTES];
	uint8_t back[32];
	static const uint8_t ad[] = "dataset=sales;version=3";

	(void)state;
	assert_int_equal(SR_WRAPPED_KEY_BYTES, 72);
	sr_random_buf(key, sizeof(key));
	sr_random_buf(wrap_key, sizeof(wrap_key));
	memcpy(other, wrap_key, sizeof(other));
	other[0] ^= 1;

	sr_key_wrap(w1, key, wrap_key, ad, sizeof(ad));
	sr_key_wrap(w2, key, wrap_key, ad, sizeof(ad));
	/* A fresh random nonce each time. */
	assert_memory_not_equal(w1, w2, SR_AEAD_NONCEBYTES);
	assert_memory_not_equal(w1, w2, sizeof(w1));
	/* The key does not appear in the clear. */
	assert_null(memmem(w1, sizeof(w1), key, sizeof(key)));

	assert_int_equal(sr_key_unwrap(back, w1, wrap_key, ad, sizeof(ad)),
			 SR_OK);
	assert_memory_equal(back, key, sizeof(key));
	memset(back, 0, sizeof(back));
	assert_int_equal(sr_key_unwrap(back, w2, wrap_key, ad, sizeof(ad)),
			 SR_OK);
	assert_memory_equal(back, key, sizeof(key));

	/* Wrong AD, wrong key, tampering: SR_ECRYPTO and no key out. */
	memset(back, 0xee, sizeof(back));
	assert_int_equal(sr_key_unwrap(back, w1, wrap_key, ad, sizeof(ad) - 1),
			 SR_ECRYPTO);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	assert_int_equal(sr_key_unwrap(back, w1, wrap_key, NULL, 0), SR_ECRYPTO);
	assert_int_equal(sr_key_unwrap(back, w1, other, ad, sizeof(ad)),
			 SR_ECRYPTO);
	for (size_t i = 0; i < sizeof(w1); i++) {
		w1[i] ^= 0x40;
		assert_int_equal(sr_key_unwrap(back, w1, wrap_key, ad,
					       sizeof(ad)), SR_ECRYPTO);
		w1[i] ^= 0x40;
	}
	/* Empty associated data is allowed, but then required. */
	sr_key_wrap(w1, key, wrap_key, NULL, 0);
	assert_int_equal(sr_key_unwrap(back, w1, wrap_key, NULL, 0), SR_OK);
	assert_memory_equal(back, key, sizeof(key));
	assert_int_equal(sr_key_unwrap(back, w1, wrap_key, ad, sizeof(ad)),
			 SR_ECRYPTO);
}

/* ---- sealed boxes ----------------------------------------------------------- */

static void test_box(void **state)
{
	uint8_t pk[SR_BOX_PUBLICKEYBYTES], sk[SR_BOX_SECRETKEYBYTES];
	uint8_t pk2[SR_BOX_PUBLICKEYBYTES], sk2[SR_BOX_SECRETKEYBYTES];
	static const uint8_t msg[] = "intersection size: 4211";
	uint8_t ct[sizeof(msg) + SR_BOX_SEALBYTES];
	uint8_t ct2[sizeof(msg) + SR_BOX_SEALBYTES];
	uint8_t out[sizeof(msg)];
	uint8_t empty_ct[SR_BOX_SEALBYTES];

	(void)state;
	sr_box_keypair(pk, sk);
	sr_box_keypair(pk2, sk2);
	assert_memory_not_equal(pk, pk2, sizeof(pk));
	sr_box_seal(ct, msg, sizeof(msg), pk);
	sr_box_seal(ct2, msg, sizeof(msg), pk);
	assert_memory_not_equal(ct, ct2, sizeof(ct));   /* ephemeral keys */
	assert_int_equal(sr_box_open(out, ct, sizeof(ct), pk, sk), SR_OK);
	assert_memory_equal(out, msg, sizeof(msg));
	assert_int_equal(sr_box_open(out, ct2, sizeof(ct2), pk, sk), SR_OK);
	assert_memory_equal(out, msg, sizeof(msg));

	for (size_t i = 0; i < sizeof(ct); i++) {
		ct[i] ^= 0x02;
		assert_int_equal(sr_box_open(out, ct, sizeof(ct), pk, sk),
				 SR_ECRYPTO);
		ct[i] ^= 0x02;
	}
	assert_int_equal(sr_box_open(out, ct, sizeof(ct), pk2, sk2), SR_ECRYPTO);
	assert_int_equal(sr_box_open(out, ct, sizeof(ct), pk2, sk), SR_ECRYPTO);
	assert_int_equal(sr_box_open(out, ct, sizeof(ct) - 1, pk, sk),
			 SR_ECRYPTO);
	assert_int_equal(sr_box_open(out, ct, SR_BOX_SEALBYTES - 1, pk, sk),
			 SR_ECRYPTO);
	assert_int_equal(sr_box_open(out, ct, 0, pk, sk), SR_ECRYPTO);

	sr_box_seal(empty_ct, NULL, 0, pk);
	assert_int_equal(sr_box_open(out, empty_ct, sizeof(empty_ct), pk, sk),
			 SR_OK);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
}

/* ---- hash to group ------------------------------------------------------------ */

static void test_h2g_kat(void **state)
{
	uint8_t *ctx1, *ctx2, *msg;
	size_t ctx1_len, ctx2_len, msg_len;
	uint8_t p1[SR_POINT_BYTES], p2[SR_POINT_BYTES], want[SR_POINT_BYTES];
	struct sr_h2g h1, h2, h0;

	(void)state;
	ctx1 = kat_bytes("h2g.ctx1", &ctx1_len);
	ctx2 = kat_bytes("h2g.ctx2", &ctx2_len);
	msg = kat_bytes("h2g.msg", &msg_len);
	sr_h2g_init(&h1, ctx1, ctx1_len);
	sr_h2g_init(&h2, ctx2, ctx2_len);
	sr_h2g_init(&h0, NULL, 0);

	sr_h2g_hash(&h1, msg, msg_len, p1);
	kat_fixed("h2g.ctx1.msg", want, sizeof(want));
	assert_memory_equal(p1, want, sizeof(want));
	sr_h2g_hash(&h2, msg, msg_len, p2);
	kat_fixed("h2g.ctx2.msg", want, sizeof(want));
	assert_memory_equal(p2, want, sizeof(want));
	assert_memory_not_equal(p1, p2, sizeof(p1));
	assert_true(crypto_core_ristretto255_is_valid_point(p1));
	assert_true(crypto_core_ristretto255_is_valid_point(p2));

	/* The prefix is not consumed by hashing. */
	sr_h2g_hash(&h1, msg, msg_len, p2);
	assert_memory_equal(p1, p2, sizeof(p1));

	sr_h2g_hash(&h1, NULL, 0, p1);
	kat_fixed("h2g.ctx1.empty", want, sizeof(want));
	assert_memory_equal(p1, want, sizeof(want));
	assert_true(crypto_core_ristretto255_is_valid_point(p1));
	sr_h2g_hash(&h0, msg, msg_len, p1);
	kat_fixed("h2g.emptyctx.msg", want, sizeof(want));
	assert_memory_equal(p1, want, sizeof(want));
	free(ctx1);
	free(ctx2);
	free(msg);
}

static void test_h2g_points(void **state)
{
	enum { N = 512 };
	uint8_t (*points)[SR_POINT_BYTES] = calloc(N, SR_POINT_BYTES);
	struct sr_h2g h;

	(void)state;
	assert_non_null(points);
	sr_h2g_init(&h, "ctx", 3);
	for (uint32_t i = 0; i < N; i++) {
		sr_h2g_hash(&h, &i, sizeof(i), points[i]);
		assert_true(crypto_core_ristretto255_is_valid_point(points[i]));
		for (uint32_t j = 0; j < i; j++)
			assert_memory_not_equal(points[i], points[j],
						SR_POINT_BYTES);
	}
	/* Context framing: ("ctx", "1") and ("ctx1", "") are different. */
	{
		struct sr_h2g a, b;
		uint8_t pa[SR_POINT_BYTES], pb[SR_POINT_BYTES];
		sr_h2g_init(&a, "ctx", 3);
		sr_h2g_init(&b, "ctx1", 4);
		sr_h2g_hash(&a, "1", 1, pa);
		sr_h2g_hash(&b, NULL, 0, pb);
		assert_memory_not_equal(pa, pb, sizeof(pa));
	}
	free(points);
}

struct h2g_thread {
	const struct sr_h2g *h;
	const uint8_t *msg;
	size_t msg_len;
	const uint8_t *want;
	int ok;
};

static void *h2g_worker(void *arg)
{
	struct h2g_thread *t = arg;
	uint8_t p[SR_POINT_BYTES];

	t->ok = 1;
	for (int i = 0; i < 200; i++) {
		sr_h2g_hash(t->h, t->msg, t->msg_len, p);
		if (memcmp(p, t->want, sizeof(p)) != 0)
			t->ok = 0;
	}
	return NULL;
}

static void test_h2g_shared_threads(void **state)
{
	struct h2g_thread t[4];
	pthread_t tid[4];
	uint8_t *ctx, *msg, want[SR_POINT_BYTES];
	size_t ctx_len, msg_len;
	struct sr_h2g h;

	(void)state;
	ctx = kat_bytes("h2g.ctx1", &ctx_len);
	msg = kat_bytes("h2g.msg", &msg_len);
	kat_fixed("h2g.ctx1.msg", want, sizeof(want));
	sr_h2g_init(&h, ctx, ctx_len);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct h2g_thread){ &h, msg, msg_len, want, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, h2g_worker,
						&t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_true(t[i].ok);
	}
	free(ctx);
	free(msg);
}

/* ---- identity: org id and signatures ------------------------------------------ */

static void test_org_id_kat(void **state)
{
	uint8_t pk[SR_SIGN_PUBLICKEYBYTES];
	char org[SR_ORG_ID_LEN + 1];
	char *want = kat_value("sign.org_id");

	(void)state;
	kat_fixed("sign.pk", pk, sizeof(pk));
	memset(org, 'x', sizeof(org));
	sr_identity_org_id(org, pk);
	assert_int_equal(strlen(org), SR_ORG_ID_LEN);
	assert_string_equal(org, want);
	pk[0] ^= 1;
	sr_identity_org_id(org, pk);
	assert_string_not_equal(org, want);
	free(want);
}

static void test_sign_kat(void **state)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[SR_SIGN_PUBLICKEYBYTES];
	uint8_t want_sig[SR_SIGN_BYTES], sig[SR_SIGN_BYTES];
	uint8_t *msg;
	size_t msg_len;
	struct sr_identity id;

	(void)state;
	sr_identity_init(&id);
	id.sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	assert_non_null(id.sign_sk);
	kat_fixed("sign.seed", seed, sizeof(seed));
	kat_fixed("sign.pk", pk, sizeof(pk));
	kat_fixed("sign.sig", want_sig, sizeof(want_sig));
	msg = kat_bytes("sign.msg", &msg_len);
	assert_int_equal(crypto_sign_seed_keypair(id.sign_pk, id.sign_sk, seed),
			 0);
	assert_memory_equal(id.sign_pk, pk, sizeof(pk));

	sr_identity_sign(&id, msg, msg_len, sig);
	assert_memory_equal(sig, want_sig, sizeof(sig));
	assert_int_equal(sr_sign_verify(pk, msg, msg_len, sig), SR_OK);
	msg[0] ^= 1;
	assert_int_equal(sr_sign_verify(pk, msg, msg_len, sig), SR_ECRYPTO);
	msg[0] ^= 1;
	sig[63] ^= 0x10;
	assert_int_equal(sr_sign_verify(pk, msg, msg_len, sig), SR_ECRYPTO);
	sodium_memzero(seed, sizeof(seed));
	sr_identity_release(&id);
	free(msg);
}

static void test_random(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	sr_random_buf(a, sizeof(a));
	sr_random_buf(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	sr_random_buf(a, 0);
	assert_int_equal(sr_crypto_init(), SR_OK);   /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_kat),
		cmocka_unit_test(test_hash_domains_differ),
		cmocka_unit_test(test_hasher_incremental),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_aead_kat),
		cmocka_unit_test(test_aead_tamper),
		cmocka_unit_test(test_key_wrap),
		cmocka_unit_test(test_box),
		cmocka_unit_test(test_h2g_kat),
		cmocka_unit_test(test_h2g_points),
		cmocka_unit_test(test_h2g_shared_threads),
		cmocka_unit_test(test_org_id_kat),
		cmocka_unit_test(test_sign_kat),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_gcm_kat),
	};

	return cmocka_run_group_tests(tests, kat_setup, kat_teardown);
}
