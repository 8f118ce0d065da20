/*
 * test_masterkey.c - master key providers, master.json validation, sub-keys.
 * Known answers (sub-keys, check values, Argon2id output) come from
 * tests/kat/crypto.kat, produced independently of libsodium.
 */
#include "testutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/masterkey.h"

#define PASS "correct horse battery staple"

static char *kat_file;

static int setup(void **state)
{
	char *path = sr_test_source_path("tests/kat/crypto.kat");

	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	sr_log_set_level(SR_LOG_WARN);
	kat_file = sr_test_read_file(path, NULL);
	free(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(kat_file);
	return 0;
}

/* The raw value of "name = value" in crypto.kat (heap string). */
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

static void kat_fixed(const char *name, uint8_t *out, size_t len)
{
	char *hex = kat_value(name);

	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	free(hex);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int exists(const char *dir, const char *name)
{
	char *p = join(dir, name);
	int rc = access(p, F_OK) == 0;

	free(p);
	return rc;
}

/* Number of entries in dir besides . and .. */
static int count_entries(const char *dir)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static void create(const char *home, enum sr_key_provider p,
		   struct sr_masterkey *mk)
{
	struct sr_err err;

	sr_err_clear(&err);
	sr_masterkey_init(mk);
	if (sr_masterkey_create(mk, home, p, PASS, "test", &err) != SR_OK)
		fail_msg("create: %s", err.msg);
	assert_non_null(mk->key);
	assert_int_equal(mk->provider, p);
}

static int open_home(const char *home, const char *pass,
		     struct sr_masterkey *mk, struct sr_err *err)
{
	int rc;

	sr_err_clear(err);
	sr_masterkey_init(mk);
	rc = sr_masterkey_open(mk, home, pass, err);
	if (rc)
		assert_null(mk->key);
	return rc;
}

/* Status of opening home; err gets the message. */
static int try_open(const char *home, const char *pass, struct sr_err *err)
{
	struct sr_masterkey mk;
	int rc = open_home(home, pass, &mk, err);

	sr_masterkey_release(&mk);
	return rc;
}

static void subkeys(const struct sr_masterkey *mk, uint8_t out[5][32])
{
	for (int i = 0; i < 5; i++)
		sr_masterkey_subkey(mk, (enum sr_subkey)(i + 1), out[i]);
}

static void test_provider_names(void **state)
{
	enum sr_key_provider p;

	(void)state;
	assert_int_equal(sr_key_provider_parse("passphrase", &p), SR_OK);
	assert_int_equal(p, SR_KEY_PASSPHRASE);
	assert_int_equal(sr_key_provider_parse("file", &p), SR_OK);
	assert_int_equal(p, SR_KEY_FILE);
	assert_int_equal(sr_key_provider_parse("tpm2", &p), SR_OK);
	assert_int_equal(p, SR_KEY_TPM2);
	assert_int_equal(sr_key_provider_parse("tpm", &p), SR_EINVAL);
	assert_int_equal(sr_key_provider_parse("", &p), SR_EINVAL);
	assert_int_equal(sr_key_provider_parse("File", &p), SR_EINVAL);
	assert_int_equal(sr_key_provider_parse(NULL, &p), SR_EINVAL);
	assert_string_equal(sr_key_provider_name(SR_KEY_PASSPHRASE),
			    "passphrase");
	assert_string_equal(sr_key_provider_name(SR_KEY_FILE), "file");
	assert_string_equal(sr_key_provider_name(SR_KEY_TPM2), "tpm2");
}

static void test_passphrase_roundtrip(void **state)
{
	char *home = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	struct sr_masterkey mk, again;
	struct sr_err err;
	uint8_t k1[5][32], k2[5][32];
	enum sr_key_provider p = 0;
	struct stat st;
	json_t *doc;
	json_error_t jerr;

	(void)state;
	create(home, SR_KEY_PASSPHRASE, &mk);
	subkeys(&mk, k1);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(k1[i], k1[j], 32);
	assert_false(exists(home, "master.key"));
	assert_int_equal(count_entries(home), 1);

	assert_int_equal(stat(cfg_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	doc = json_load_file(cfg_path, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(doc, "provider")),
			    "passphrase");
	assert_string_equal(json_string_value(json_object_get(doc, "kdf")),
			    "argon2id13");
	assert_int_equal(strlen(json_string_value(json_object_get(doc, "salt"))),
			 32);
	assert_int_equal(strlen(json_string_value(json_object_get(doc, "check"))),
			 64);
	assert_int_equal(json_integer_value(json_object_get(doc, "opslimit")), 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "memlimit")),
			 8 << 20);
	assert_int_equal(json_object_size(doc), 7);
	json_decref(doc);

	assert_int_equal(sr_masterkey_provider(home, &p, &err), SR_OK);
	assert_int_equal(p, SR_KEY_PASSPHRASE);

	assert_int_equal(open_home(home, PASS, &again, &err), SR_OK);
	assert_int_equal(again.provider, SR_KEY_PASSPHRASE);
	subkeys(&again, k2);
	assert_memory_equal(k1, k2, sizeof(k1));
	/* Opening into a used struct replaces its key. */
	assert_int_equal(sr_masterkey_open(&again, home, PASS, &err), SR_OK);
	subkeys(&again, k2);
	assert_memory_equal(k1, k2, sizeof(k1));

	sr_masterkey_release(&again);
	sr_masterkey_release(&again);
	sr_masterkey_release(&mk);
	assert_null(mk.key);

	/* Another home, same passphrase: another key (random salt). */
	{
		char *home2 = sr_test_tmpdir();
		create(home2, SR_KEY_PASSPHRASE, &mk);
		subkeys(&mk, k2);
		assert_memory_not_equal(k1[0], k2[0], 32);
		sr_masterkey_release(&mk);
		sr_test_tmpdir_free(home2);
	}
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

static void test_wrong_passphrase(void **state)
{
	char *home = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	struct sr_masterkey mk;
	struct sr_err err;
	char want[600];
	char *before, *after;

	(void)state;
	create(home, SR_KEY_PASSPHRASE, &mk);
	sr_masterkey_release(&mk);
	before = sr_test_read_file(cfg_path, NULL);

	assert_int_equal(try_open(home, "correct horse battery stapl", &err),
			 SR_ECRYPTO);
	snprintf(want, sizeof(want), "wrong passphrase for node home %s", home);
	assert_string_equal(err.msg, want);
	assert_int_equal(try_open(home, PASS "!", &err), SR_ECRYPTO);

	/* A passphrase is required to open. */
	assert_int_equal(try_open(home, "", &err), SR_EINVAL);
	assert_int_equal(try_open(home, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "passphrase"));

	/* Nothing changed on disk. */
	after = sr_test_read_file(cfg_path, NULL);
	assert_string_equal(before, after);
	assert_int_equal(try_open(home, PASS, &err), SR_OK);
	free(before);
	free(after);
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

static void test_create_refusals(void **state)
{
	char *home = sr_test_tmpdir();
	char *missing = join(home, "nope");
	struct sr_masterkey mk;
	struct sr_err err;

	(void)state;
	sr_masterkey_init(&mk);
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, "",
					     "test", &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "passphrase"));
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, NULL,
					     "test", NULL), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, PASS,
					     "fast", &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "fast"));
	assert_int_equal(sr_masterkey_create(&mk, home, (enum sr_key_provider)9,
					     PASS, "test", NULL), SR_EINVAL);
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_create(&mk, missing, SR_KEY_FILE, NULL,
					     NULL, &err), SR_ENOTFOUND);
	assert_null(mk.key);
	assert_int_equal(count_entries(home), 0);

	/* Twice: SR_EEXIST, for either provider, and the first still opens. */
	create(home, SR_KEY_FILE, &mk);
	sr_masterkey_release(&mk);
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_FILE, NULL, NULL,
					     &err), SR_EEXIST);
	assert_non_null(strstr(err.msg, "master.json"));
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, PASS,
					     "test", NULL), SR_EEXIST);
	assert_null(mk.key);
	assert_int_equal(try_open(home, NULL, &err), SR_OK);

	/* A stray master.key is never overwritten. */
	{
		char *cfg = join(home, "master.json");
		assert_int_equal(unlink(cfg), 0);
		free(cfg);
	}
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_FILE, NULL, NULL,
					     NULL), SR_EEXIST);
	assert_false(exists(home, "master.json"));

	free(missing);
	sr_test_tmpdir_free(home);
}

static void test_moderate_default(void **state)
{
	char *home = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	struct sr_masterkey mk;
	json_t *doc;
	json_error_t jerr;

	(void)state;
	sr_masterkey_init(&mk);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, PASS,
					     NULL, NULL), SR_OK);
	doc = json_load_file(cfg_path, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "opslimit")), 3);
	assert_int_equal(json_integer_value(json_object_get(doc, "memlimit")),
			 64 << 20);
	json_decref(doc);
	sr_masterkey_release(&mk);
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

/* Run fn with stderr sent to a file; return what was written (heap). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	char *dir = sr_test_tmpdir();
	char *path = join(dir, "stderr");
	int fd, saved;
	char *text;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, 2) >= 0);
	close(fd);
	fn(arg);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	text = sr_test_read_file(path, NULL);
	free(path);
	sr_test_tmpdir_free(dir);
	return text;
}

static void open_file_home(void *arg)
{
	struct sr_err err;

	assert_int_equal(try_open(arg, NULL, &err), SR_OK);
}

static void count_lines_with(const char *text, const char *needle, int want)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	assert_int_equal(n, want);
}

static void test_file_provider(void **state)
{
	char *home = sr_test_tmpdir();
	char *key_path = join(home, "master.key");
	char *cfg_path = join(home, "master.json");
	char warning[600];
	struct sr_masterkey mk, again;
	struct sr_err err;
	uint8_t k1[5][32], k2[5][32], raw[32];
	enum sr_key_provider p = 0;
	struct stat st;
	size_t len;
	char *text, *log;

	(void)state;
	create(home, SR_KEY_FILE, &mk);
	subkeys(&mk, k1);
	assert_int_equal(count_entries(home), 2);

	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cfg_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = sr_test_read_file(key_path, &len);
	assert_int_equal(len, 65);
	assert_int_equal(text[64], '\n');
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", text[i]));
	/* The file holds the key itself. */
	text[64] = '\0';
	assert_int_equal(sr_unhex(raw, 32, text), SR_OK);
	assert_memory_equal(raw, mk.key, 32);
	free(text);
	text = sr_test_read_file(cfg_path, NULL);
	assert_non_null(strstr(text, "\"key_file\": \"master.key\""));
	assert_null(strstr(text, "salt"));
	free(text);

	assert_int_equal(sr_masterkey_provider(home, &p, &err), SR_OK);
	assert_int_equal(p, SR_KEY_FILE);
	/* The passphrase is ignored. */
	assert_int_equal(open_home(home, "whatever", &again, &err), SR_OK);
	assert_int_equal(again.provider, SR_KEY_FILE);
	subkeys(&again, k2);
	assert_memory_equal(k1, k2, sizeof(k1));
	sr_masterkey_release(&again);
	sr_masterkey_release(&mk);

	/* Every open warns, naming the file. */
	snprintf(warning, sizeof(warning),
		 "master key provider 'file' is for development only: the key is stored unencrypted in %s",
		 key_path);
	log = capture_stderr(open_file_home, home);
	count_lines_with(log, warning, 1);
	free(log);
	{
		char *log2;
		log = capture_stderr(open_file_home, home);
		log2 = capture_stderr(open_file_home, home);
		count_lines_with(log, warning, 1);
		count_lines_with(log2, warning, 1);
		free(log2);
	}
	free(log);

	/* A world-readable key file is still opened, with a warning. */
	assert_int_equal(chmod(key_path, 0644), 0);
	log = capture_stderr(open_file_home, home);
	assert_non_null(strstr(log, "readable by other users"));
	free(log);

	free(key_path);
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

static void test_file_provider_damage(void **state)
{
	char *home = sr_test_tmpdir();
	char *key_path = join(home, "master.key");
	struct sr_masterkey mk;
	struct sr_err err;
	char *orig, bad[80];
	size_t len;

	(void)state;
	create(home, SR_KEY_FILE, &mk);
	sr_masterkey_release(&mk);
	orig = sr_test_read_file(key_path, &len);
	sr_log_set_level(SR_LOG_ERROR);

	/* No trailing newline is fine. */
	sr_test_write_file(key_path, orig, 64);
	assert_int_equal(try_open(home, NULL, &err), SR_OK);

	/* Truncated, extended, non-hex: corrupt, naming the file. */
	for (size_t n = 0; n < 64; n += 9) {
		sr_test_write_file(key_path, orig, n);
		assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
		assert_non_null(strstr(err.msg, "master.key"));
	}
	memcpy(bad, orig, 65);
	bad[65] = '\n';
	sr_test_write_file(key_path, bad, 66);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	memcpy(bad, orig, 65);
	bad[10] = 'x';
	sr_test_write_file(key_path, bad, 65);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	memset(bad, 'a', sizeof(bad));
	sr_test_write_file(key_path, bad, sizeof(bad));
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	{
		char big[4096];
		memset(big, '0', sizeof(big));
		sr_test_write_file(key_path, big, sizeof(big));
		assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	}

	/* Another well-formed key: does not match the check value. */
	memcpy(bad, orig, 65);
	bad[0] = bad[0] == '0' ? '1' : '0';
	sr_test_write_file(key_path, bad, 65);
	assert_int_equal(try_open(home, NULL, &err), SR_ECRYPTO);
	assert_non_null(strstr(err.msg, "master.key"));
	assert_non_null(strstr(err.msg, "check"));

	assert_int_equal(unlink(key_path), 0);
	assert_int_equal(try_open(home, NULL, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "master.key"));

	sr_test_write_file(key_path, orig, len);
	assert_int_equal(try_open(home, NULL, &err), SR_OK);
	sr_log_set_level(SR_LOG_WARN);
	free(orig);
	free(key_path);
	sr_test_tmpdir_free(home);
}

/* Rewrite master.json with one field set (json NULL: removed). */
static void edit_config(const char *home, const char *field, json_t *value)
{
	char *path = join(home, "master.json");
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);

	assert_non_null(doc);
	if (value)
		json_object_set_new(doc, field, value);
	else
		json_object_del(doc, field);
	assert_int_equal(json_dump_file(doc, path, JSON_SORT_KEYS), 0);
	json_decref(doc);
	free(path);
}

static void expect_corrupt(const char *home, const char *pass,
			   const char *key)
{
	struct sr_err err;

	assert_int_equal(try_open(home, pass, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "master.json"));
	if (key && !strstr(err.msg, key))
		fail_msg("message does not name '%s': %s", key, err.msg);
	/* The provider query fails the same way. */
	{
		enum sr_key_provider p;
		assert_int_equal(sr_masterkey_provider(home, &p, NULL),
				 SR_ECORRUPT);
	}
}

static void test_corrupt_config(void **state)
{
	char *home = sr_test_tmpdir();
	char *fhome = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	char *fcfg_path = join(fhome, "master.json");
	struct sr_masterkey mk;
	struct sr_err err;
	char *orig, *forig;
	size_t len, flen;
	static const char *const bad_texts[] = {
		"", "{", "not json", "[1, 2]", "42", "{\"version\": 1,}",
		"{\"version\": 1, \"version\": 1}",
	};

	(void)state;
	create(home, SR_KEY_PASSPHRASE, &mk);
	sr_masterkey_release(&mk);
	create(fhome, SR_KEY_FILE, &mk);
	sr_masterkey_release(&mk);
	orig = sr_test_read_file(cfg_path, &len);
	forig = sr_test_read_file(fcfg_path, &flen);
	sr_log_set_level(SR_LOG_ERROR);

	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		sr_test_write_file(cfg_path, bad_texts[i], strlen(bad_texts[i]));
		expect_corrupt(home, PASS, NULL);
	}

#define RESTORE() sr_test_write_file(cfg_path, orig, len)
	RESTORE(); edit_config(home, "salt", NULL);
	expect_corrupt(home, PASS, "salt");
	RESTORE(); edit_config(home, "salt", json_string("0011zz"));
	expect_corrupt(home, PASS, "salt");
	RESTORE(); edit_config(home, "salt", json_string("00112233"));
	expect_corrupt(home, PASS, "salt");
	RESTORE(); edit_config(home, "salt", json_integer(7));
	expect_corrupt(home, PASS, "salt");
	RESTORE(); edit_config(home, "check", NULL);
	expect_corrupt(home, PASS, "check");
	RESTORE(); edit_config(home, "check", json_string("abcd"));
	expect_corrupt(home, PASS, "check");
	RESTORE(); edit_config(home, "version", json_integer(2));
	expect_corrupt(home, PASS, "version");
	RESTORE(); edit_config(home, "version", json_string("1"));
	expect_corrupt(home, PASS, "version");
	RESTORE(); edit_config(home, "version", NULL);
	expect_corrupt(home, PASS, "version");
	RESTORE(); edit_config(home, "provider", json_string("tpm3"));
	expect_corrupt(home, PASS, "provider");
	RESTORE(); edit_config(home, "provider", NULL);
	expect_corrupt(home, PASS, "provider");
	RESTORE(); edit_config(home, "kdf", json_string("scrypt"));
	expect_corrupt(home, PASS, "kdf");
	RESTORE(); edit_config(home, "opslimit", json_integer(0));
	expect_corrupt(home, PASS, "opslimit");
	RESTORE(); edit_config(home, "opslimit", json_integer(1000000000));
	expect_corrupt(home, PASS, "opslimit");
	RESTORE(); edit_config(home, "opslimit", json_integer(-3));
	expect_corrupt(home, PASS, "opslimit");
	RESTORE(); edit_config(home, "opslimit", json_real(1.5));
	expect_corrupt(home, PASS, "opslimit");
	RESTORE(); edit_config(home, "memlimit", json_integer(1ll << 45));
	expect_corrupt(home, PASS, "memlimit");
	RESTORE(); edit_config(home, "memlimit", json_integer(100));
	expect_corrupt(home, PASS, "memlimit");
	RESTORE(); edit_config(home, "memlimit", NULL);
	expect_corrupt(home, PASS, "memlimit");
	RESTORE(); edit_config(home, "key_file", json_string("master.key"));
	expect_corrupt(home, PASS, "key_file");
	RESTORE(); edit_config(home, "extra", json_true());
	expect_corrupt(home, PASS, "extra");

	/* A tampered check value reads as a wrong passphrase. */
	RESTORE();
	{
		char *p = strstr(orig, "\"check\": \"");
		assert_non_null(p);
		char saved;
		p += strlen("\"check\": \"");
		saved = *p;
		*p = saved == 'a' ? 'b' : 'a';
		RESTORE();
		assert_int_equal(try_open(home, PASS, &err), SR_ECRYPTO);
		assert_non_null(strstr(err.msg, "wrong passphrase"));
		*p = saved;
	}
	/* Different cost parameters give a different key: wrong. */
	RESTORE(); edit_config(home, "opslimit", json_integer(2));
	assert_int_equal(try_open(home, PASS, &err), SR_ECRYPTO);
	RESTORE();
	assert_int_equal(try_open(home, PASS, &err), SR_OK);
#undef RESTORE

#define FRESTORE() sr_test_write_file(fcfg_path, forig, flen)
	FRESTORE(); edit_config(fhome, "key_file", json_string("../master.key"));
	expect_corrupt(fhome, NULL, "key_file");
	FRESTORE(); edit_config(fhome, "key_file", json_string("/etc/passwd"));
	expect_corrupt(fhome, NULL, "key_file");
	FRESTORE(); edit_config(fhome, "key_file", json_string(""));
	expect_corrupt(fhome, NULL, "key_file");
	FRESTORE(); edit_config(fhome, "key_file", json_string(".."));
	expect_corrupt(fhome, NULL, "key_file");
	FRESTORE(); edit_config(fhome, "key_file", NULL);
	expect_corrupt(fhome, NULL, "key_file");
	FRESTORE(); edit_config(fhome, "salt", json_string("00"));
	expect_corrupt(fhome, NULL, "salt");
	FRESTORE(); edit_config(fhome, "check", json_string("00"));
	expect_corrupt(fhome, NULL, "check");
	FRESTORE(); edit_config(fhome, "check",
				json_string("0000000000000000000000000000000000000000000000000000000000000000"));
	assert_int_equal(try_open(fhome, NULL, &err), SR_ECRYPTO);
	/* key_file may name another file inside home. */
	{
		char *a = join(fhome, "master.key"), *b = join(fhome, "other.key");
		assert_int_equal(rename(a, b), 0);
		FRESTORE(); edit_config(fhome, "key_file", json_string("other.key"));
		assert_int_equal(try_open(fhome, NULL, &err), SR_OK);
		assert_int_equal(rename(b, a), 0);
		free(a);
		free(b);
	}
	FRESTORE();
	assert_int_equal(try_open(fhome, NULL, &err), SR_OK);
#undef FRESTORE

	/* No master.json at all. */
	assert_int_equal(unlink(cfg_path), 0);
	assert_int_equal(try_open(home, PASS, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no master key"));
	{
		enum sr_key_provider p;
		assert_int_equal(sr_masterkey_provider(home, &p, NULL),
				 SR_ENOTFOUND);
	}

	sr_log_set_level(SR_LOG_WARN);
	free(orig);
	free(forig);
	free(cfg_path);
	free(fcfg_path);
	sr_test_tmpdir_free(home);
	sr_test_tmpdir_free(fhome);
}

/* A home written by hand from the known answers opens to the known keys. */
/*
 * A tpm2 master.json is checked before any TPM is asked: every malformed
 * field is SR_ECORRUPT naming it.  The TCTI points at a closed port, so a
 * well-formed file reaches the TPM and fails there, naming the TCTI.  The
 * real sealing is tested against swtpm (test_tpm_masterkey.sh).
 */
static void test_tpm2_config(void **state)
{
	char *home = sr_test_tmpdir();
	char *phome = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	char long_hex[2 * 1601 + 1];
	struct sr_masterkey mk;
	struct sr_err err;
	char *orig;
	size_t len;
	static const char tpm2_json[] =
		"{\"version\": 1, \"provider\": \"tpm2\", \"pcrs\": \"sha256:0,7\","
		" \"primary_name\": \"000b00\", \"sealed_public\": \"0000\","
		" \"sealed_private\": \"0000\", \"check\": \""
		"00000000000000000000000000000000"
		"00000000000000000000000000000000\"}";

	(void)state;
	setenv("SEALROOM_TPM_TCTI", "swtpm:host=127.0.0.1,port=1", 1);
	sr_log_set_level(SR_LOG_ERROR);
	sr_test_write_file(cfg_path, tpm2_json, sizeof(tpm2_json) - 1);
	orig = sr_test_read_file(cfg_path, &len);
	{
		enum sr_key_provider p;
		assert_int_equal(sr_masterkey_provider(home, &p, NULL), SR_OK);
		assert_int_equal(p, SR_KEY_TPM2);
	}
	sr_err_clear(&err);
	assert_int_equal(try_open(home, NULL, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "port=1"));

#define RESTORE2() sr_test_write_file(cfg_path, orig, len)
	RESTORE2(); edit_config(home, "extra", json_integer(1));
	expect_corrupt(home, NULL, "extra");
	RESTORE2(); edit_config(home, "recovery", json_integer(1));
	expect_corrupt(home, NULL, "recovery");
	RESTORE2(); edit_config(home, "recovery", json_pack("{s:s}", "kdf",
							    "argon2id13"));
	expect_corrupt(home, NULL, "salt");
	RESTORE2(); edit_config(home, "recovery", json_pack(
		"{s:s, s:s, s:i, s:i, s:s, s:s}", "kdf", "argon2id13",
		"salt", "00000000000000000000000000000000", "opslimit", 1,
		"memlimit", 8192, "nonce", "00", "box", "00"));
	expect_corrupt(home, NULL, "nonce");
	RESTORE2(); edit_config(home, "pcrs", json_string("sha1:0"));
	sr_err_clear(&err);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "pcrs"));
	RESTORE2(); edit_config(home, "primary_name", json_string("zz"));
	sr_err_clear(&err);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "primary_name"));
	memset(long_hex, 'a', sizeof(long_hex) - 1);
	long_hex[sizeof(long_hex) - 1] = '\0';
	RESTORE2(); edit_config(home, "sealed_private", json_string(long_hex));
	sr_err_clear(&err);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "sealed_private"));
	RESTORE2(); edit_config(home, "sealed_public", NULL);
	sr_err_clear(&err);
	assert_int_equal(try_open(home, NULL, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "sealed_public"));

	/* No recovery copy: in a tpm2 home without one, or another provider. */
	RESTORE2();
	sr_masterkey_init(&mk);
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_open_recovery(&mk, home, PASS, &err),
			 SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no recovery copy"));
	create(phome, SR_KEY_PASSPHRASE, &mk);
	sr_masterkey_release(&mk);
	assert_int_equal(sr_masterkey_open_recovery(&mk, phome, PASS, &err),
			 SR_ENOTFOUND);
	/* tpm2 homes are made only by sr_masterkey_create_tpm2. */
	sr_err_clear(&err);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_TPM2, NULL, NULL,
					     &err), SR_EINVAL);
	sr_log_set_level(SR_LOG_WARN);
	unsetenv("SEALROOM_TPM_TCTI");
	free(orig);
	free(cfg_path);
	sr_test_tmpdir_free(home);
	sr_test_tmpdir_free(phome);
}

static void test_kat_file_home(void **state)
{
	char *home = sr_test_tmpdir();
	char *key_path = join(home, "master.key");
	char *cfg_path = join(home, "master.json");
	char *key_hex = kat_value("master.key");
	char *check_hex = kat_value("master.check");
	char text[512];
	uint8_t want[32], got[32];
	struct sr_masterkey mk;
	struct sr_err err;

	(void)state;
	snprintf(text, sizeof(text), "%s\n", key_hex);
	sr_test_write_file(key_path, text, strlen(text));
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"provider\":\"file\",\"key_file\":\"master.key\",\"check\":\"%s\"}",
		 check_hex);
	sr_test_write_file(cfg_path, text, strlen(text));
	sr_log_set_level(SR_LOG_ERROR);
	assert_int_equal(open_home(home, NULL, &mk, &err), SR_OK);
	sr_log_set_level(SR_LOG_WARN);
	for (int i = 1; i <= 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "master.subkey.%d", i);
		kat_fixed(name, want, sizeof(want));
		sr_masterkey_subkey(&mk, (enum sr_subkey)i, got);
		assert_memory_equal(got, want, sizeof(want));
	}
	sr_masterkey_release(&mk);
	free(key_hex);
	free(check_hex);
	free(key_path);
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

static void test_kat_passphrase_home(void **state)
{
	char *home = sr_test_tmpdir();
	char *cfg_path = join(home, "master.json");
	char *salt = kat_value("pw.salt");
	char *check = kat_value("pw.check");
	char *ops = kat_value("pw.opslimit");
	char *mem = kat_value("pw.memlimit");
	char *pass_hex = kat_value("pw.passphrase");
	char pass[128];
	char text[1024];
	uint8_t want[32];
	struct sr_masterkey mk;
	struct sr_err err;

	(void)state;
	assert_true(strlen(pass_hex) / 2 < sizeof(pass));
	kat_fixed("pw.passphrase", (uint8_t *)pass, strlen(pass_hex) / 2);
	pass[strlen(pass_hex) / 2] = '\0';
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"provider\":\"passphrase\",\"kdf\":\"argon2id13\",\"salt\":\"%s\",\"opslimit\":%s,\"memlimit\":%s,\"check\":\"%s\"}",
		 salt, ops, mem, check);
	sr_test_write_file(cfg_path, text, strlen(text));

	assert_int_equal(open_home(home, pass, &mk, &err), SR_OK);
	kat_fixed("pw.key", want, sizeof(want));
	assert_memory_equal(mk.key, want, sizeof(want));
	sr_masterkey_release(&mk);
	assert_int_equal(try_open(home, "Correct horse battery staple", &err),
			 SR_ECRYPTO);

	free(salt);
	free(check);
	free(ops);
	free(mem);
	free(pass_hex);
	free(cfg_path);
	sr_test_tmpdir_free(home);
}

/* If anything fails, create leaves home as it found it. */
static void test_create_no_partial_state(void **state)
{
	static const enum sr_key_provider providers[] = { SR_KEY_FILE,
		SR_KEY_PASSPHRASE };

	(void)state;
	sr_log_set_level(SR_LOG_ERROR);
	for (size_t p = 0; p < 2; p++) {
		char *home = sr_test_tmpdir();
		unsigned long n;
		int rc = SR_ENOMEM;

		for (n = 1; n < 500; n++) {
			struct sr_masterkey mk;
			sr_masterkey_init(&mk);
			sr_alloc_fail_at(n, 0);
			rc = sr_masterkey_create(&mk, home, providers[p], PASS,
						 "test", NULL);
			sr_alloc_fail_at(0, 0);
			if (rc == SR_OK) {
				sr_masterkey_release(&mk);
				break;
			}
			assert_int_equal(rc, SR_ENOMEM);
			assert_null(mk.key);
			assert_int_equal(count_entries(home), 0);
		}
		assert_int_equal(rc, SR_OK);
		assert_true(n > 1);
		assert_int_equal(try_open(home, PASS, &(struct sr_err){ 0 }),
				 SR_OK);
		sr_test_tmpdir_free(home);
	}
	sr_log_set_level(SR_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_names),
		cmocka_unit_test(test_passphrase_roundtrip),
		cmocka_unit_test(test_wrong_passphrase),
		cmocka_unit_test(test_create_refusals),
		cmocka_unit_test(test_moderate_default),
		cmocka_unit_test(test_file_provider),
		cmocka_unit_test(test_file_provider_damage),
		cmocka_unit_test(test_corrupt_config),
		cmocka_unit_test(test_tpm2_config),
		cmocka_unit_test(test_kat_file_home),
		cmocka_unit_test(test_kat_passphrase_home),
		cmocka_unit_test(test_create_no_partial_state),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, setup, teardown);
}
