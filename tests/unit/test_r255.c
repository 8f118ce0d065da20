/*
 * test_r255.c - src/crypto/r255.c against libsodium, byte for byte.
 *
 * Every operation is compared with its libsodium counterpart on seeded
 * random inputs (100,000 cases in all; SR_R255_TEST_SCALE=N runs N times
 * as many) and on edge cases: the identity, small and large scalars,
 * multiples of L, every class of invalid encoding (RFC 9496 A.2 and
 * generated ones), hash inputs of all zeros and all 0xff, field values
 * at and above p.  Outputs are compared even when both fail, because
 * libsodium leaves the output untouched on a bad encoding and writes
 * zeros for an identity result.  Known answers: RFC 9496 A.3 (the
 * one-way map) and the h2g vectors through sr_h2g_hash.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/r255.h"

#define DECODE_CASES 40000
#define FROM_HASH_CASES 20000
#define MUL_CASES 20000
#define HASH_MUL_CASES 20000

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t L_BYTES[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
	0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0x10
};

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	return 0;
}

static size_t scaled(size_t cases)
{
	const char *env = getenv("SR_R255_TEST_SCALE");
	unsigned long scale = env ? strtoul(env, NULL, 10) : 1;

	return cases * (scale ? scale : 1);
}

static void fill(uint64_t *seed, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0) {
			uint64_t r = sr_test_rand(seed);
			for (size_t j = 0; j < 8 && i + j < len; j++)
				buf[i + j] = (uint8_t)(r >> (8 * j));
		}
	}
}

static void hex_print(char *out, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* k * L (k < 16) as 32 little-endian bytes, wrapping at 2^256. */
static void l_times(uint8_t out[32], unsigned k)
{
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		unsigned v = L_BYTES[i] * k + carry;
		out[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

/* out = a + b (mod 2^256), little-endian. */
static void add_bytes(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		unsigned v = (unsigned)a[i] + b[i] + carry;
		out[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

/* ---- comparisons -------------------------------------------------------- */

static void check_mul(const uint8_t scalar[32], const uint8_t point[32],
		      const char *what, size_t i)
{
	uint8_t want[32], got[32];
	int want_rc, got_rc;

	/* Same prefill: a failing call must leave both outputs equal too. */
	memset(want, 0xa5, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	want_rc = crypto_scalarmult_ristretto255(want, scalar, point);
	got_rc = sr_r255_mul(got, scalar, point);
	if ((want_rc == 0) != (got_rc == SR_OK) || memcmp(want, got, 32) != 0) {
		char s[65], p[65], w[65], g[65];
		hex_print(s, scalar, 32);
		hex_print(p, point, 32);
		hex_print(w, want, 32);
		hex_print(g, got, 32);
		fail_msg("%s %zu: mul scalar %s point %s: libsodium %d %s, ours %d %s",
			 what, i, s, p, want_rc, w, got_rc, g);
	}
	/* Distinct codes: a bad encoding is SR_EINVAL, the identity SR_ECRYPTO. */
	if (got_rc != SR_OK)
		assert_int_equal(got_rc, crypto_core_ristretto255_is_valid_point(point) ?
				 SR_ECRYPTO : SR_EINVAL);
}

static void check_hash_mul(const uint8_t scalar[32], const uint8_t hash[64],
			   const char *what, size_t i)
{
	uint8_t point[32], want[32], got[32];
	int want_rc, got_rc;

	crypto_core_ristretto255_from_hash(point, hash);
	memset(want, 0xa5, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	want_rc = crypto_scalarmult_ristretto255(want, scalar, point);
	got_rc = sr_r255_hash_mul(got, scalar, hash);
	if ((want_rc == 0) != (got_rc == SR_OK) || memcmp(want, got, 32) != 0) {
		char s[65], h[129], w[65], g[65];
		hex_print(s, scalar, 32);
		hex_print(h, hash, 64);
		hex_print(w, want, 32);
		hex_print(g, got, 32);
		fail_msg("%s %zu: hash_mul scalar %s hash %s: libsodium %d %s, ours %d %s",
			 what, i, s, h, want_rc, w, got_rc, g);
	}
	if (got_rc != SR_OK)
		assert_int_equal(got_rc, SR_ECRYPTO);
}

static void check_from_hash(const uint8_t hash[64], const char *what, size_t i)
{
	uint8_t want[32], got[32];

	crypto_core_ristretto255_from_hash(want, hash);
	sr_r255_from_hash(got, hash);
	if (memcmp(want, got, 32) != 0) {
		char h[129], w[65], g[65];
		hex_print(h, hash, 64);
		hex_print(w, want, 32);
		hex_print(g, got, 32);
		fail_msg("%s %zu: from_hash %s: libsodium %s, ours %s", what, i, h, w, g);
	}
}

static void check_valid(const uint8_t point[32], const char *what, size_t i)
{
	int want = crypto_core_ristretto255_is_valid_point(point);
	int got = sr_r255_is_valid_point(point);

	if (want != got) {
		char p[65];
		hex_print(p, point, 32);
		fail_msg("%s %zu: is_valid_point %s: libsodium %d, ours %d",
			 what, i, p, want, got);
	}
}

/* ---- random cases ------------------------------------------------------- */

/* A random 32-byte field value of one of several shapes (for map inputs
 * and encodings): uniform, small, near p, near 2^255, or all-ones. */
static void field_bytes(uint64_t *seed, uint8_t out[32])
{
	static const uint8_t p_bytes[32] = {
		0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
	};
	uint64_t r = sr_test_rand(seed);

	fill(seed, out, 32);
	switch (r % 16) {
	case 0:         /* small */
		memset(out + 1, 0, 31);
		break;
	case 1:         /* p + k (k < 19) or p - k (k <= 32), bit 255 random */
		memcpy(out, p_bytes, 32);
		if ((r >> 8) & 1)
			out[0] = (uint8_t)(0xed + (r >> 9) % 19);
		else
			out[0] = (uint8_t)(0xed - 1 - (r >> 9) % 32);
		out[31] |= (uint8_t)(r >> 16) & 0x80;
		break;
	case 2:         /* all ones */
		memset(out, 0xff, 32);
		break;
	case 3:         /* zero */
		memset(out, 0, 32);
		break;
	default:
		break;
	}
}

static void test_decode_random(void **state)
{
	uint64_t seed = 0x7235350001ull;
	size_t n = scaled(DECODE_CASES);
	uint8_t p[32], h[64];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = sr_test_rand(&seed);
		switch (r % 4) {
		case 0:         /* a valid encoding */
			fill(&seed, h, 64);
			crypto_core_ristretto255_from_hash(p, h);
			if ((r >> 8) & 1)
				p[31] |= 0x80;   /* libsodium 1.0.18 ignores bit 255 */
			break;
		case 1:         /* a valid encoding with one bit flipped */
			fill(&seed, h, 64);
			crypto_core_ristretto255_from_hash(p, h);
			p[(r >> 8) % 32] ^= (uint8_t)(1u << ((r >> 16) % 8));
			break;
		case 2:         /* even and below p: fails only the curve checks */
			fill(&seed, p, 32);
			p[0] &= 0xfe;
			p[31] &= 0x7f;
			break;
		default:        /* any shape */
			field_bytes(&seed, p);
			break;
		}
		check_valid(p, "decode case", i);
	}
}

static void test_from_hash_random(void **state)
{
	uint64_t seed = 0x7235350002ull;
	size_t n = scaled(FROM_HASH_CASES);
	uint8_t h[64];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		field_bytes(&seed, h);
		field_bytes(&seed, h + 32);
		check_from_hash(h, "from_hash case", i);
	}
}

/* A random scalar: uniform 256 bits mostly, sometimes reduced, small,
 * or a multiple of L plus a small offset. */
static void scalar_bytes(uint64_t *seed, uint8_t s[32])
{
	uint64_t r = sr_test_rand(seed);

	fill(seed, s, 32);
	switch (r % 16) {
	case 0:
		memset(s + 1, 0, 31);
		break;
	case 1: {
		uint8_t k[32] = { 0 };
		l_times(s, (unsigned)((r >> 8) % 16));
		k[0] = (uint8_t)(r >> 16) % 4;
		add_bytes(s, s, k);
		break;
	}
	case 2:         /* below 2^252 < L: already reduced */
		s[31] &= 0x0f;
		break;
	default:
		break;
	}
}

static void test_mul_random(void **state)
{
	uint64_t seed = 0x7235350003ull;
	size_t n = scaled(MUL_CASES);
	uint8_t s[32], p[32], h[64];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = sr_test_rand(&seed);
		scalar_bytes(&seed, s);
		if (r % 8 == 0) {
			field_bytes(&seed, p);      /* mostly invalid */
		} else {
			fill(&seed, h, 64);
			crypto_core_ristretto255_from_hash(p, h);
			if (r % 8 == 1)
				p[31] |= 0x80;
		}
		check_mul(s, p, "mul case", i);
	}
}

static void test_hash_mul_random(void **state)
{
	uint64_t seed = 0x7235350004ull;
	size_t n = scaled(HASH_MUL_CASES);
	uint8_t s[32], h[64];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		scalar_bytes(&seed, s);
		field_bytes(&seed, h);
		field_bytes(&seed, h + 32);
		check_hash_mul(s, h, "hash_mul case", i);
	}
}

/* ---- edge cases --------------------------------------------------------- */

/* Scalars at the edges of the recoding and of the reduction mod L. */
static void test_mul_edge_scalars(void **state)
{
	uint64_t seed = 0x7235350005ull;
	uint8_t base[32], one[32] = { 1 }, points[4][32], h[64], s[32], t[32];
	size_t count = 0;

	(void)state;
	assert_int_equal(crypto_scalarmult_ristretto255_base(base, one), 0);
	memcpy(points[0], base, 32);
	fill(&seed, h, 64);
	crypto_core_ristretto255_from_hash(points[1], h);
	memset(points[2], 0, 32);               /* the identity */
	memcpy(points[3], base, 32);
	points[3][31] |= 0x80;
	for (int pi = 0; pi < 4; pi++) {
		const uint8_t *p = points[pi];
		/* 0 .. 40: every digit value of the low windows */
		for (unsigned k = 0; k <= 40; k++) {
			memset(s, 0, 32);
			s[0] = (uint8_t)k;
			check_mul(s, p, "small scalar", count++);
		}
		/* k L + d for k < 16 (2^255 masks some), d in -3..3 */
		for (unsigned k = 0; k < 16; k++) {
			for (int d = -3; d <= 3; d++) {
				uint8_t off[32];
				memset(off, d < 0 ? 0xff : 0, 32);
				off[0] = (uint8_t)d;
				l_times(t, k);
				add_bytes(s, t, off);
				check_mul(s, p, "k L + d", count++);
			}
		}
		/* all ones, 2^255 - 1, 2^252, 2^253 - 1, patterns of +-16 digits */
		memset(s, 0xff, 32);
		check_mul(s, p, "2^256 - 1", count++);
		s[31] = 0x7f;
		check_mul(s, p, "2^255 - 1", count++);
		memset(s, 0, 32);
		s[31] = 0x10;
		check_mul(s, p, "2^252", count++);
		memset(s, 0xff, 32);
		s[31] = 0x1f;
		check_mul(s, p, "2^253 - 1", count++);
		for (int b = 0; b < 256; b += 5) {
			memset(s, 0, 32);
			s[b / 8] = (uint8_t)(1u << (b % 8));
			check_mul(s, p, "2^5k", count++);
		}
		/* bit patterns that make runs of negative and extreme digits */
		memset(s, 0x84, 32);
		check_mul(s, p, "pattern 0x84", count++);
		memset(s, 0x42, 32);
		check_mul(s, p, "pattern 0x42", count++);
		memset(s, 0x10, 32);
		check_mul(s, p, "pattern 0x10", count++);
	}
	/* Zero and multiples of L fail with the identity, as in libsodium. */
	memset(s, 0, 32);
	assert_int_equal(sr_r255_mul(t, s, base), SR_ECRYPTO);
	assert_true(sodium_is_zero(t, 32));
	l_times(s, 7);
	assert_int_equal(sr_r255_mul(t, s, base), SR_ECRYPTO);
	assert_true(sodium_is_zero(t, 32));
	/* L + 2^255: bit 255 is dropped, so this is L again. */
	memcpy(s, L_BYTES, 32);
	s[31] |= 0x80;
	assert_int_equal(sr_r255_mul(t, s, base), SR_ECRYPTO);
	/* Multiples of the generator (RFC 9496 A.1) match the base mult. */
	for (unsigned k = 1; k < 16; k++) {
		uint8_t want[32];
		memset(s, 0, 32);
		s[0] = (uint8_t)k;
		assert_int_equal(crypto_scalarmult_ristretto255_base(want, s), 0);
		assert_int_equal(sr_r255_mul(t, s, base), SR_OK);
		assert_memory_equal(t, want, 32);
	}
}

static void test_identity(void **state)
{
	uint64_t seed = 0x7235350006ull;
	uint8_t zero[32] = { 0 }, s[32], out[32];

	(void)state;
	assert_int_equal(sr_r255_is_valid_point(zero), 1);
	for (int i = 0; i < 50; i++) {
		scalar_bytes(&seed, s);
		memset(out, 0xa5, 32);
		assert_int_equal(sr_r255_mul(out, s, zero), SR_ECRYPTO);
		assert_true(sodium_is_zero(out, 32));
		check_mul(s, zero, "identity", (size_t)i);
	}
}

/* RFC 9496 A.2: encodings every implementation must reject. */
static const char *const rfc_bad_encodings[] = {
	/* non-canonical field encodings */
	"00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	/* negative field elements */
	"0100000000000000000000000000000000000000000000000000000000000000",
	"01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
	"c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
	"c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
	"47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
	"f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
	"87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
	/* non-square x^2 */
	"26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
	"4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
	"de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
	"bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
	"2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
	"f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
	"8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
	"2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
	/* negative xy */
	"3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
	"a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
	"d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
	"8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
	"32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
	"227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
	"5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
	"445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
	/* s = -1, which gives y = 0 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void expect_rejected(const uint8_t p[32], const char *what, size_t i)
{
	uint8_t s[32], out[32];

	memset(s, 0, 32);
	s[0] = 7;
	memset(out, 0xa5, 32);
	if (crypto_core_ristretto255_is_valid_point(p) != 0 ||
	    sr_r255_is_valid_point(p) != 0) {
		char h[65];
		hex_print(h, p, 32);
		fail_msg("%s %zu: %s must be rejected (libsodium %d, ours %d)", what,
			 i, h, crypto_core_ristretto255_is_valid_point(p),
			 sr_r255_is_valid_point(p));
	}
	assert_int_equal(sr_r255_mul(out, s, p), SR_EINVAL);
	for (int k = 0; k < 32; k++)
		assert_int_equal(out[k], 0xa5);   /* untouched, as libsodium */
	check_mul(s, p, what, i);
}

static void test_invalid_encodings(void **state)
{
	uint64_t seed = 0x7235350007ull;
	uint8_t p[32];
	size_t found_square = 0, found_nonsquare = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc_bad_encodings) / sizeof(*rfc_bad_encodings); i++) {
		unhex(p, 32, rfc_bad_encodings[i]);
		expect_rejected(p, "RFC 9496 A.2", i);
	}
	/* Every value from p to 2^255 - 1 (non-canonical), also with bit 255;
	 * and p - 1 = -1 (y = 0). */
	for (int k = 0; k < 19; k++) {
		memset(p, 0xff, 32);
		p[31] = 0x7f;
		p[0] = (uint8_t)(0xed + k);
		expect_rejected(p, "p + k", (size_t)k);
		p[31] |= 0x80;
		expect_rejected(p, "p + k with bit 255", (size_t)k);
	}
	memset(p, 0xff, 32);
	p[31] = 0x7f;
	p[0] = 0xec;
	expect_rejected(p, "p - 1", 0);
	p[31] |= 0x80;
	expect_rejected(p, "p - 1 with bit 255", 0);
	/* Negative (odd) encodings of valid points' neighbours, and even
	 * canonical values until both square and non-square classes are seen
	 * many times. */
	for (size_t i = 0; i < 2000; i++) {
		fill(&seed, p, 32);
		p[31] &= 0x7f;
		p[0] |= 1;
		expect_rejected(p, "odd s", i);
	}
	for (size_t i = 0; found_square < 200 || found_nonsquare < 200; i++) {
		uint8_t s[32] = { 5 }, out[32];
		fill(&seed, p, 32);
		p[31] &= 0x7f;
		p[0] &= 0xfe;
		if (crypto_core_ristretto255_is_valid_point(p)) {
			found_square++;
			assert_int_equal(sr_r255_is_valid_point(p), 1);
			assert_int_equal(sr_r255_mul(out, s, p), SR_OK);
		} else {
			found_nonsquare++;
			expect_rejected(p, "even s", i);
		}
		check_mul(s, p, "even s", i);
	}
	/* libsodium 1.0.18 ignores bit 255 (RFC 9496 would reject it): we
	 * follow libsodium, and this fails if a newer libsodium changes it. */
	{
		uint8_t h[64], q[32], a[32], b[32], s[32] = { 9 };
		fill(&seed, h, 64);
		crypto_core_ristretto255_from_hash(q, h);
		assert_int_equal(sr_r255_mul(a, s, q), SR_OK);
		q[31] |= 0x80;
		assert_int_equal(crypto_core_ristretto255_is_valid_point(q), 1);
		assert_int_equal(sr_r255_is_valid_point(q), 1);
		assert_int_equal(sr_r255_mul(b, s, q), SR_OK);
		assert_memory_equal(a, b, 32);
	}
}

/* Hash inputs of all zeros, all 0xff, and halves at p and above. */
static void test_hash_edges(void **state)
{
	static const uint8_t fills[] = { 0x00, 0xff, 0x7f, 0x80, 0x01 };
	uint8_t h[64], s[32];
	size_t count = 0;

	(void)state;
	for (size_t a = 0; a < sizeof(fills); a++) {
		for (size_t b = 0; b < sizeof(fills); b++) {
			memset(h, fills[a], 32);
			memset(h + 32, fills[b], 32);
			check_from_hash(h, "fills", count);
			memset(s, 0, 32);
			s[0] = 3;
			check_hash_mul(s, h, "fills", count);
			memset(s, 0xff, 32);
			check_hash_mul(s, h, "fills", count);
			count++;
		}
	}
	/* each half exactly p, p + 1 and 2^255 - 19 + 18 */
	for (int k = 0; k < 19; k++) {
		memset(h, 0xff, 64);
		h[31] = 0x7f;
		h[63] = 0xff;
		h[0] = (uint8_t)(0xed + k);
		h[32] = (uint8_t)(0xed + 18 - k);
		check_from_hash(h, "p + k halves", (size_t)k);
	}
	/* The all-zero hash maps to the identity (MAP(0) is a torsion
	 * point), in libsodium too, so hash_mul of it fails for any scalar. */
	memset(h, 0, 64);
	sr_r255_from_hash(s, h);
	assert_true(sodium_is_zero(s, 32));
	memset(s, 0x11, 32);
	assert_int_equal(sr_r255_hash_mul(s, s, h), SR_ECRYPTO);
	/* Scalar zero and L: identity for any hash. */
	memset(s, 0, 32);
	assert_int_equal(sr_r255_hash_mul(h, s, h), SR_ECRYPTO);
	memcpy(s, L_BYTES, 32);
	memset(h, 0x33, 64);
	assert_int_equal(sr_r255_hash_mul(h, s, h), SR_ECRYPTO);
	assert_true(sodium_is_zero(h, 32));
}

/* RFC 9496 A.3: from_hash of SHA-512(label); values as in
 * docs/internals/crypto.md (checked there by an independent generator). */
static void test_from_hash_kat(void **state)
{
	static const char *const vectors[][2] = {
		{ "Ristretto is traditionally a short shot of espresso coffee",
		  "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46" },
		{ "made with the normal amount of ground coffee but extracted with",
		  "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b" },
		{ "about half the amount of water in the same amount of time",
		  "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826" },
		{ "by using a finer grind.",
		  "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a" },
		{ "This produces a concentrated shot of coffee per volume.",
		  "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179" },
		{ "Just pulling a normal shot short will produce a weaker shot",
		  "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628" },
		{ "and is not a Ristretto as some believe.",
		  "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++) {
		uint8_t h[64], want[32], got[32];
		crypto_hash_sha512(h, (const uint8_t *)vectors[i][0],
				   strlen(vectors[i][0]));
		unhex(want, 32, vectors[i][1]);
		sr_r255_from_hash(got, h);
		assert_memory_equal(got, want, 32);
	}
}

/* sr_r255_h2g_digest feeds the map exactly what sr_h2g_hash does, and
 * hash_mul of the digest blinds sr_h2g_hash's point. */
static void test_h2g_digest(void **state)
{
	static const char *const msgs[] = { "", "a", "alice@example.com",
		"a much longer key that spans more than one BLAKE2b block of one hundred and twenty-eight bytes, to be sure it is absorbed the same way" };
	struct sr_h2g h1, h0;
	uint8_t s[32], digest[64], want[32], got[32], point[32];

	(void)state;
	sr_h2g_init(&h1, "psi-session-1", 13);
	sr_h2g_init(&h0, NULL, 0);
	crypto_core_ristretto255_scalar_random(s);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		const struct sr_h2g *h = i % 2 ? &h0 : &h1;
		size_t len = strlen(msgs[i]);
		sr_h2g_hash(h, msgs[i], len, point);
		sr_r255_h2g_digest(h, msgs[i], len, digest);
		sr_r255_from_hash(got, digest);
		assert_memory_equal(got, point, 32);
		assert_int_equal(crypto_scalarmult_ristretto255(want, s, point), 0);
		assert_int_equal(sr_r255_hash_mul(got, s, digest), SR_OK);
		assert_memory_equal(got, want, 32);
	}
}

/* out may alias the input, as with libsodium. */
static void test_aliasing(void **state)
{
	uint64_t seed = 0x7235350008ull;
	uint8_t h[64], p[32], q[32], s[32];

	(void)state;
	fill(&seed, h, 64);
	scalar_bytes(&seed, s);
	s[0] |= 1;
	crypto_core_ristretto255_from_hash(p, h);
	memcpy(q, p, 32);
	assert_int_equal(crypto_scalarmult_ristretto255(p, s, p), 0);
	assert_int_equal(sr_r255_mul(q, s, q), SR_OK);
	assert_memory_equal(p, q, 32);
	crypto_core_ristretto255_from_hash(p, h);
	assert_int_equal(crypto_scalarmult_ristretto255(p, s, p), 0);
	assert_int_equal(sr_r255_hash_mul(h, s, h), SR_OK);   /* out = hash */
	assert_memory_equal(h, p, 32);
	fill(&seed, h, 64);
	crypto_core_ristretto255_from_hash(p, h);
	sr_r255_from_hash(h + 32, h);   /* out = second half of the hash */
	assert_memory_equal(h + 32, p, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_hash_kat),
		cmocka_unit_test(test_h2g_digest),
		cmocka_unit_test(test_invalid_encodings),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_mul_edge_scalars),
		cmocka_unit_test(test_hash_edges),
		cmocka_unit_test(test_aliasing),
		cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_from_hash_random),
		cmocka_unit_test(test_mul_random),
		cmocka_unit_test(test_hash_mul_random),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
