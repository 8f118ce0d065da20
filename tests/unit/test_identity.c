/*
 * test_identity.c - identity keys: generation, identity.key/identity.pub
 * round trip, every way of damaging the files, signatures.
 */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"

#define KEY_FILE_BYTES 144

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void make_key(uint8_t key[32])
{
	sr_random_buf(key, 32);
}

static void generate(struct sr_identity *id)
{
	struct sr_err err;

	sr_err_clear(&err);
	sr_identity_init(id);
	assert_int_equal(sr_identity_generate(id, &err), SR_OK);
}

static void save(const struct sr_identity *id, const char *dir,
		 const uint8_t key[32])
{
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_identity_save(id, dir, key, &err) != SR_OK)
		fail_msg("save: %s", err.msg);
}

/* Load and return the status; err receives the message. */
static int load(const char *dir, const uint8_t key[32], struct sr_err *err)
{
	struct sr_identity id;
	int rc;

	sr_err_clear(err);
	sr_identity_init(&id);
	rc = sr_identity_load(&id, dir, key, err);
	if (rc == SR_OK)
		assert_non_null(id.sign_sk);
	else
		assert_null(id.sign_sk);
	sr_identity_release(&id);
	return rc;
}

static void assert_same_identity(const struct sr_identity *a,
				 const struct sr_identity *b)
{
	assert_memory_equal(a->sign_pk, b->sign_pk, SR_SIGN_PUBLICKEYBYTES);
	assert_memory_equal(a->kx_pk, b->kx_pk, SR_BOX_PUBLICKEYBYTES);
	assert_memory_equal(a->sign_sk, b->sign_sk, SR_SIGN_SECRETKEYBYTES);
	assert_memory_equal(a->kx_sk, b->kx_sk, SR_BOX_SECRETKEYBYTES);
	assert_string_equal(a->org_id, b->org_id);
}

static void test_generate(void **state)
{
	struct sr_identity a, b;
	uint8_t pk[32];
	char want[SR_ORG_ID_LEN + 1];

	(void)state;
	generate(&a);
	generate(&b);
	assert_non_null(a.sign_sk);
	assert_non_null(a.kx_sk);
	assert_memory_not_equal(a.sign_pk, b.sign_pk, 32);
	assert_memory_not_equal(a.kx_pk, b.kx_pk, 32);
	assert_string_not_equal(a.org_id, b.org_id);

	/* org id: "org_" + 32 lowercase hex digits, derived from sign_pk. */
	assert_int_equal(strlen(a.org_id), SR_ORG_ID_LEN);
	assert_memory_equal(a.org_id, "org_", 4);
	for (size_t i = 4; i < SR_ORG_ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a.org_id[i]));
	sr_identity_org_id(want, a.sign_pk);
	assert_string_equal(a.org_id, want);

	/* The public keys belong to the secret keys. */
	crypto_sign_ed25519_sk_to_pk(pk, a.sign_sk);
	assert_memory_equal(pk, a.sign_pk, 32);
	assert_int_equal(crypto_scalarmult_base(pk, a.kx_sk), 0);
	assert_memory_equal(pk, a.kx_pk, 32);

	/* Generating into a used struct replaces its keys. */
	assert_int_equal(sr_identity_generate(&a, NULL), SR_OK);
	assert_memory_not_equal(a.sign_pk, b.sign_pk, 32);
	sr_identity_release(&a);
	sr_identity_release(&b);
	/* release is safe twice and after init */
	sr_identity_release(&a);
	assert_null(a.sign_sk);
}

static void test_save_load(void **state)
{
	char *dir = sr_test_tmpdir();
	char *key_path = join(dir, "identity.key");
	char *pub_path = join(dir, "identity.pub");
	struct sr_identity id, back;
	struct sr_err err;
	struct stat st;
	uint8_t key[32], sig[SR_SIGN_BYTES];
	size_t len;
	char *text, *old;
	json_t *doc;
	json_error_t jerr;

	(void)state;
	make_key(key);
	generate(&id);
	save(&id, dir, key);

	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, KEY_FILE_BYTES);
	assert_int_equal(stat(pub_path, &st), 0);
	{
		mode_t mask = umask(0);
		umask(mask);
		assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
	}

	/* The secret keys are not in the file in the clear. */
	text = sr_test_read_file(key_path, &len);
	assert_memory_equal(text, "SRID\x01\0\0\0", 8);
	assert_null(memmem(text, len, id.sign_sk, 32));
	assert_null(memmem(text, len, id.kx_sk, 32));
	old = text;

	/* identity.pub: exactly org_id, sign_pk and kx_pk. */
	text = sr_test_read_file(pub_path, NULL);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 3);
	assert_string_equal(json_string_value(json_object_get(doc, "org_id")),
			    id.org_id);
	{
		char hex[65];
		sr_hex(hex, id.sign_pk, 32);
		assert_string_equal(json_string_value(json_object_get(doc,
								      "sign_pk")), hex);
		sr_hex(hex, id.kx_pk, 32);
		assert_string_equal(json_string_value(json_object_get(doc,
								      "kx_pk")), hex);
	}
	json_decref(doc);
	free(text);

	sr_err_clear(&err);
	sr_identity_init(&back);
	assert_int_equal(sr_identity_load(&back, dir, key, &err), SR_OK);
	assert_same_identity(&id, &back);

	/* A signature from the loaded keys verifies under the original. */
	sr_identity_sign(&back, (const uint8_t *)"hello", 5, sig);
	assert_int_equal(sr_sign_verify(id.sign_pk, (const uint8_t *)"hello", 5,
					sig), SR_OK);

	/* Saving again uses a fresh nonce; it still loads the same keys, and
	 * loading into a used struct replaces its keys. */
	save(&id, dir, key);
	text = sr_test_read_file(key_path, &len);
	assert_int_equal(len, KEY_FILE_BYTES);
	assert_memory_not_equal(text + 8, old + 8, 24);
	free(text);
	free(old);
	assert_int_equal(sr_identity_load(&back, dir, key, &err), SR_OK);
	assert_same_identity(&id, &back);

	sr_identity_release(&back);
	sr_identity_release(&id);
	free(key_path);
	free(pub_path);
	sr_test_tmpdir_free(dir);
}

static void test_wrong_key(void **state)
{
	char *dir = sr_test_tmpdir();
	struct sr_identity id, keep;
	struct sr_err err;
	uint8_t key[32], other[32];

	(void)state;
	make_key(key);
	memcpy(other, key, 32);
	other[5] ^= 0x01;
	generate(&id);
	save(&id, dir, key);

	assert_int_equal(load(dir, other, &err), SR_ECRYPTO);
	assert_int_equal(err.code, SR_ECRYPTO);
	assert_non_null(strstr(err.msg, "identity.key"));

	/* A failed load leaves the struct as it was. */
	generate(&keep);
	{
		struct sr_identity copy = keep;
		assert_int_equal(sr_identity_load(&keep, dir, other, NULL),
				 SR_ECRYPTO);
		assert_ptr_equal(keep.sign_sk, copy.sign_sk);
		assert_string_equal(keep.org_id, copy.org_id);
	}
	sr_identity_release(&keep);
	assert_int_equal(load(dir, key, &err), SR_OK);
	sr_identity_release(&id);
	sr_test_tmpdir_free(dir);
}

static void test_damaged_key_file(void **state)
{
	char *dir = sr_test_tmpdir();
	char *key_path = join(dir, "identity.key");
	struct sr_identity id;
	struct sr_err err;
	uint8_t key[32];
	size_t len;
	char *orig;

	(void)state;
	make_key(key);
	generate(&id);
	save(&id, dir, key);
	orig = sr_test_read_file(key_path, &len);
	assert_int_equal(len, KEY_FILE_BYTES);

	/* Every truncation. */
	for (size_t n = 0; n < len; n++) {
		sr_test_write_file(key_path, orig, n);
		assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
		assert_non_null(strstr(err.msg, "identity.key"));
	}
	/* Extended by a byte. */
	{
		char longer[KEY_FILE_BYTES + 1];
		memcpy(longer, orig, len);
		longer[len] = '\n';
		sr_test_write_file(key_path, longer, sizeof(longer));
		assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	}
	/* Every single-bit edit: header -> corrupt, the rest -> crypto. */
	for (size_t i = 0; i < len; i++) {
		orig[i] ^= 0x04;
		sr_test_write_file(key_path, orig, len);
		assert_int_equal(load(dir, key, &err),
				 i < 8 ? SR_ECORRUPT : SR_ECRYPTO);
		orig[i] ^= 0x04;
	}
	/* Version 2 is refused by name. */
	orig[4] = 2;
	sr_test_write_file(key_path, orig, len);
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "version 2"));
	orig[4] = 1;

	sr_test_write_file(key_path, orig, len);
	assert_int_equal(load(dir, key, &err), SR_OK);

	/* Missing file. */
	assert_int_equal(unlink(key_path), 0);
	assert_int_equal(load(dir, key, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "identity.key"));

	free(orig);
	free(key_path);
	sr_identity_release(&id);
	sr_test_tmpdir_free(dir);
}

/* Rewrite identity.pub with a field replaced (value NULL: removed). */
static void edit_pub(const char *dir, const char *field, const char *value)
{
	char *path = join(dir, "identity.pub");
	char *text = sr_test_read_file(path, NULL);
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	char *out;

	assert_non_null(doc);
	if (value)
		json_object_set_new(doc, field, json_string(value));
	else
		json_object_del(doc, field);
	out = json_dumps(doc, JSON_SORT_KEYS);
	assert_non_null(out);
	sr_test_write_file(path, out, strlen(out));
	free(out);
	json_decref(doc);
	free(text);
	free(path);
}

static void test_swapped_pub(void **state)
{
	char *dir = sr_test_tmpdir();
	char *dir2 = sr_test_tmpdir();
	char *pub_path = join(dir, "identity.pub");
	char *pub2_path = join(dir2, "identity.pub");
	struct sr_identity a, b;
	struct sr_err err;
	uint8_t key[32];
	char hex[65];
	char *orig, *text;
	size_t len;

	(void)state;
	make_key(key);
	generate(&a);
	generate(&b);
	save(&a, dir, key);
	save(&b, dir2, key);
	orig = sr_test_read_file(pub_path, &len);

	/* Someone else's identity.pub, consistent in itself. */
	text = sr_test_read_file(pub2_path, NULL);
	sr_test_write_file(pub_path, text, strlen(text));
	free(text);
	assert_int_equal(load(dir, key, &err), SR_ECRYPTO);

	/* Our signing key swapped for theirs, org id adjusted to match. */
	sr_test_write_file(pub_path, orig, len);
	sr_hex(hex, b.sign_pk, 32);
	edit_pub(dir, "sign_pk", hex);
	edit_pub(dir, "org_id", b.org_id);
	assert_int_equal(load(dir, key, &err), SR_ECRYPTO);

	/* Only the key-agreement key swapped. */
	sr_test_write_file(pub_path, orig, len);
	sr_hex(hex, b.kx_pk, 32);
	edit_pub(dir, "kx_pk", hex);
	assert_int_equal(load(dir, key, &err), SR_ECRYPTO);

	/* sign_pk swapped but org_id left: caught before decryption. */
	sr_test_write_file(pub_path, orig, len);
	sr_hex(hex, b.sign_pk, 32);
	edit_pub(dir, "sign_pk", hex);
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "org_id"));

	sr_test_write_file(pub_path, orig, len);
	assert_int_equal(load(dir, key, &err), SR_OK);

	free(orig);
	free(pub_path);
	free(pub2_path);
	sr_identity_release(&a);
	sr_identity_release(&b);
	sr_test_tmpdir_free(dir);
	sr_test_tmpdir_free(dir2);
}

static void test_malformed_pub(void **state)
{
	char *dir = sr_test_tmpdir();
	char *pub_path = join(dir, "identity.pub");
	struct sr_identity id;
	struct sr_err err;
	uint8_t key[32];
	char *orig;
	size_t len;
	char hex[65];
	static const char *const bad_texts[] = {
		"", "{", "[]", "\"org\"", "{\"org_id\": 1}", "null",
		"{\"org_id\":\"x\",\"org_id\":\"y\"}",
	};

	(void)state;
	make_key(key);
	generate(&id);
	save(&id, dir, key);
	orig = sr_test_read_file(pub_path, &len);

	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		sr_test_write_file(pub_path, bad_texts[i], strlen(bad_texts[i]));
		assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
		assert_non_null(strstr(err.msg, "identity.pub"));
	}

	sr_test_write_file(pub_path, orig, len);
	edit_pub(dir, "kx_pk", NULL);
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "identity.pub"));
	assert_non_null(strstr(err.msg, "kx_pk"));

	sr_test_write_file(pub_path, orig, len);
	edit_pub(dir, "sign_pk", "zz");
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "sign_pk"));

	sr_test_write_file(pub_path, orig, len);
	sr_hex(hex, id.kx_pk, 31);
	edit_pub(dir, "kx_pk", hex);
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "kx_pk"));

	sr_test_write_file(pub_path, orig, len);
	edit_pub(dir, "comment", "hi");
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "comment"));

	sr_test_write_file(pub_path, orig, len);
	edit_pub(dir, "org_id", "org_00000000000000000000000000000000");
	assert_int_equal(load(dir, key, &err), SR_ECORRUPT);

	assert_int_equal(unlink(pub_path), 0);
	assert_int_equal(load(dir, key, &err), SR_ENOTFOUND);

	sr_test_write_file(pub_path, orig, len);
	assert_int_equal(load(dir, key, &err), SR_OK);

	free(orig);
	free(pub_path);
	sr_identity_release(&id);
	sr_test_tmpdir_free(dir);
}

/*
 * An identity.key that decrypts fine but whose secret keys do not belong
 * to the public keys it is bound to (written by someone holding key_enc).
 */
static void test_mismatched_secret(void **state)
{
	char *dir = sr_test_tmpdir();
	char *key_path = join(dir, "identity.key");
	struct sr_identity a, b;
	struct sr_err err;
	uint8_t key[32];
	uint8_t file[KEY_FILE_BYTES], plain[96], ad[20 + 64];

	(void)state;
	make_key(key);
	generate(&a);
	generate(&b);
	save(&a, dir, key);

	for (int which = 0; which < 2; which++) {
		memcpy(file, "SRID\x01\0\0\0", 8);
		sr_random_buf(file + 8, 24);
		memcpy(plain, which == 0 ? b.sign_sk : a.sign_sk, 64);
		memcpy(plain + 64, which == 0 ? a.kx_sk : b.kx_sk, 32);
		memcpy(ad, "sealroom.identity.v1", 20);
		memcpy(ad + 20, a.sign_pk, 32);
		memcpy(ad + 52, a.kx_pk, 32);
		sr_aead_seal(file + 32, plain, sizeof(plain), ad, sizeof(ad),
			     file + 8, key);
		sr_test_write_file(key_path, file, sizeof(file));
		assert_int_equal(load(dir, key, &err), SR_ECRYPTO);
		assert_non_null(strstr(err.msg, which == 0 ? "sign_pk" : "kx_pk"));
	}
	/* The same construction with the right keys loads: the test builds
	 * the format the way the code does. */
	memcpy(plain, a.sign_sk, 64);
	memcpy(plain + 64, a.kx_sk, 32);
	sr_aead_seal(file + 32, plain, sizeof(plain), ad, sizeof(ad), file + 8,
		     key);
	sr_test_write_file(key_path, file, sizeof(file));
	assert_int_equal(load(dir, key, &err), SR_OK);

	sodium_memzero(plain, sizeof(plain));
	free(key_path);
	sr_identity_release(&a);
	sr_identity_release(&b);
	sr_test_tmpdir_free(dir);
}

static void test_sign_verify(void **state)
{
	struct sr_identity a, b;
	uint8_t msg[300], sig[SR_SIGN_BYTES], sig2[SR_SIGN_BYTES];

	(void)state;
	generate(&a);
	generate(&b);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	sr_identity_sign(&a, msg, sizeof(msg), sig);
	assert_int_equal(sr_sign_verify(a.sign_pk, msg, sizeof(msg), sig), SR_OK);
	/* Ed25519 is deterministic. */
	sr_identity_sign(&a, msg, sizeof(msg), sig2);
	assert_memory_equal(sig, sig2, sizeof(sig));

	for (size_t i = 0; i < sizeof(msg); i += 37) {
		msg[i] ^= 0x01;
		assert_int_equal(sr_sign_verify(a.sign_pk, msg, sizeof(msg), sig),
				 SR_ECRYPTO);
		msg[i] ^= 0x01;
	}
	assert_int_equal(sr_sign_verify(a.sign_pk, msg, sizeof(msg) - 1, sig),
			 SR_ECRYPTO);
	for (size_t i = 0; i < sizeof(sig); i++) {
		sig[i] ^= 0x20;
		assert_int_equal(sr_sign_verify(a.sign_pk, msg, sizeof(msg), sig),
				 SR_ECRYPTO);
		sig[i] ^= 0x20;
	}
	assert_int_equal(sr_sign_verify(b.sign_pk, msg, sizeof(msg), sig),
			 SR_ECRYPTO);
	/* Empty message. */
	sr_identity_sign(&b, NULL, 0, sig);
	assert_int_equal(sr_sign_verify(b.sign_pk, NULL, 0, sig), SR_OK);
	sr_identity_release(&a);
	sr_identity_release(&b);
}

/* Save into a directory that does not exist: an error, nothing written. */
static void test_save_errors(void **state)
{
	char *dir = sr_test_tmpdir();
	char *missing = join(dir, "no/such/dir");
	struct sr_identity id;
	struct sr_err err;
	uint8_t key[32];

	(void)state;
	make_key(key);
	generate(&id);
	sr_err_clear(&err);
	assert_int_equal(sr_identity_save(&id, missing, key, &err), SR_EIO);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(load(missing, key, &err), SR_ENOTFOUND);

	/* Allocation failures in save and load: a clean error, no leak. */
	for (unsigned long n = 1; n < 200; n++) {
		int rc;
		sr_alloc_fail_at(n, 0);
		rc = sr_identity_save(&id, dir, key, NULL);
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK)
			break;
		assert_int_equal(rc, SR_ENOMEM);
	}
	for (unsigned long n = 1; n < 200; n++) {
		struct sr_identity back;
		int rc;
		sr_identity_init(&back);
		sr_alloc_fail_at(n, 0);
		rc = sr_identity_load(&back, dir, key, NULL);
		sr_alloc_fail_at(0, 0);
		/* jansson may turn an allocation failure into a parse
		 * error: any failure will do, as long as it is clean. */
		if (rc != SR_OK)
			assert_null(back.sign_sk);
		sr_identity_release(&back);
		if (rc == SR_OK)
			break;
	}
	assert_int_equal(load(dir, key, &err), SR_OK);

	free(missing);
	sr_identity_release(&id);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_damaged_key_file),
		cmocka_unit_test(test_swapped_pub),
		cmocka_unit_test(test_malformed_pub),
		cmocka_unit_test(test_mismatched_secret),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_save_errors),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, setup, NULL);
}
