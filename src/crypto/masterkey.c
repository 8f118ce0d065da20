/*
 * masterkey.c - the node's master key and its providers (see masterkey.h
 * and docs/internals/crypto.md).
 *
 * HOME/master.json (mode 0600), one of:
 *
 *   {"version": 1, "provider": "passphrase", "kdf": "argon2id13",
 *    "salt": hex(16), "opslimit": N, "memlimit": N, "check": hex(32)}
 *   {"version": 1, "provider": "file", "key_file": "master.key",
 *    "check": hex(32)}
 *   {"version": 1, "provider": "tpm2", "pcrs": "sha256:0,7",
 *    "primary_name": hex, "sealed_public": hex, "sealed_private": hex,
 *    "check": hex(32), ["recovery": RECOVERY]}
 *
 * The tpm2 fields are written and read by src/tee/keyprov.c.  RECOVERY is
 * the optional passphrase-wrapped copy of a TPM-sealed key, made only when
 * init is asked for one:
 *
 *   {"kdf": "argon2id13", "salt": hex(16), "opslimit": N, "memlimit": N,
 *    "nonce": hex(24), "box": hex(48)}
 *
 * box = crypto_secretbox(master key, nonce, Argon2id(passphrase, salt)).
 *
 * HOME/master.key (file provider only, mode 0600): 64 lowercase hex digits
 * and a newline.
 *
 * check = BLAKE2b-256 keyed with sub-key SR_SUBKEY_CHECK over the string
 * "sealroom.master.check.v1".  It lets a wrong passphrase fail at once with
 * a clear message instead of as an AEAD failure somewhere later, and it
 * reveals nothing an attacker holding the files could not already test
 * against identity.key.
 */
#include "crypto/masterkey.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "tee/keyprov.h"
#include "base/banned.h"

#define CONFIG_FILE "master.json"
#define KEY_FILE "master.key"
#define CONFIG_VERSION 1
#define KDF_NAME "argon2id13"
#define KDF_CONTEXT "srmaster"
#define CHECK_STRING "sealroom.master.check.v1"
#define MASTER_KEY_BYTES 32
#define CHECK_BYTES 32
#define SALT_BYTES crypto_pwhash_argon2id_SALTBYTES
#define KEY_FILE_TEXT_MAX 256
#define PATH_TEXT_MAX 4200
#define RECOVERY_NONCE_BYTES crypto_secretbox_NONCEBYTES
#define RECOVERY_BOX_BYTES (MASTER_KEY_BYTES + crypto_secretbox_MACBYTES)

/*
 * Bounds on the Argon2id cost read back from master.json: the file is
 * input, and an edited one must not make us allocate terabytes or spin for
 * days.  The "sensitive" profile (4 passes, 1 GiB) is well inside.
 */
#define OPSLIMIT_MAX 64ull
#define MEMLIMIT_MAX (4ull << 30)

_Static_assert(crypto_kdf_KEYBYTES == MASTER_KEY_BYTES, "kdf master key");
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES,
	       "kdf context is 8 bytes");
_Static_assert(MASTER_KEY_BYTES >= crypto_kdf_BYTES_MIN &&
	       MASTER_KEY_BYTES <= crypto_kdf_BYTES_MAX, "sub-key size");
_Static_assert(CHECK_BYTES >= crypto_generichash_BYTES_MIN &&
	       CHECK_BYTES <= crypto_generichash_BYTES_MAX, "check size");
_Static_assert(MASTER_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
	       MASTER_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
	       "sub-key usable as a BLAKE2b key");
_Static_assert(MASTER_KEY_BYTES >= crypto_pwhash_argon2id_BYTES_MIN,
	       "argon2id output size");
_Static_assert(SALT_BYTES == crypto_pwhash_SALTBYTES, "salt size");

struct kdf_profile {
	const char *name;
	unsigned long long opslimit;
	size_t memlimit;
};

static const struct kdf_profile kdf_profiles[] = {
	{ "moderate", 3, 64u << 20 },
	{ "sensitive", crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE,
	  crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE },
	{ "test", 1, 8u << 20 },
};

/* master.json, parsed and checked.  Strings are borrowed from doc. */
struct config {
	json_t *doc;
	enum sr_key_provider provider;
	uint8_t check[CHECK_BYTES];
	uint8_t salt[SALT_BYTES];
	unsigned long long opslimit;
	size_t memlimit;
	const char *key_file;
	/* tpm2: the optional recovery copy */
	int has_recovery;
	uint8_t rec_salt[SALT_BYTES];
	unsigned long long rec_opslimit;
	size_t rec_memlimit;
	uint8_t rec_nonce[RECOVERY_NONCE_BYTES];
	uint8_t rec_box[RECOVERY_BOX_BYTES];
};

void sr_masterkey_init(struct sr_masterkey *mk)
{
	mk->key = NULL;
	mk->provider = 0;
}

static void key_free(uint8_t *key)
{
	if (!key)
		return;
	sodium_mprotect_readwrite(key);
	sodium_memzero(key, MASTER_KEY_BYTES);
	sodium_free(key);
}

void sr_masterkey_release(struct sr_masterkey *mk)
{
	key_free(mk->key);
	sr_masterkey_init(mk);
}

int sr_key_provider_parse(const char *name, enum sr_key_provider *out)
{
	if (name && strcmp(name, "passphrase") == 0)
		*out = SR_KEY_PASSPHRASE;
	else if (name && strcmp(name, "file") == 0)
		*out = SR_KEY_FILE;
	else if (name && strcmp(name, "tpm2") == 0)
		*out = SR_KEY_TPM2;
	else
		return SR_EINVAL;
	return SR_OK;
}

const char *sr_key_provider_name(enum sr_key_provider p)
{
	switch (p) {
	case SR_KEY_PASSPHRASE: return "passphrase";
	case SR_KEY_FILE: return "file";
	case SR_KEY_TPM2: return "tpm2";
	}
	return "unknown";
}

void sr_masterkey_subkey(const struct sr_masterkey *mk, enum sr_subkey id,
			 uint8_t out[32])
{
	if (!mk->key)
		SR_BUG("sr_masterkey_subkey on a master key that is not open");
	crypto_kdf_derive_from_key(out, 32, (uint64_t)id, KDF_CONTEXT, mk->key);
}

static void compute_check(uint8_t check[CHECK_BYTES], const uint8_t *key)
{
	uint8_t sub[32];

	crypto_kdf_derive_from_key(sub, sizeof(sub), SR_SUBKEY_CHECK,
				   KDF_CONTEXT, key);
	crypto_generichash(check, CHECK_BYTES,
			   (const unsigned char *)CHECK_STRING,
			   sizeof(CHECK_STRING) - 1, sub, sizeof(sub));
	sodium_memzero(sub, sizeof(sub));
}

static int check_matches(const uint8_t expected[CHECK_BYTES],
			 const uint8_t *key)
{
	uint8_t check[CHECK_BYTES];
	int same;

	compute_check(check, key);
	same = sodium_memcmp(check, expected, CHECK_BYTES) == 0;
	sodium_memzero(check, sizeof(check));
	return same;
}

/* SR_ECORRUPT unless key (called what) matches the check value of path. */
static int require_check(const uint8_t expected[CHECK_BYTES],
			 const uint8_t *key, const char *what,
			 const char *path, struct sr_err *err)
{
	if (check_matches(expected, key))
		return SR_OK;
	return sr_fail(err, SR_ECORRUPT,
		       "%s: %s does not match the check value", path, what);
}

static const struct kdf_profile *find_profile(const char *name)
{
	for (size_t i = 0; i < sizeof(kdf_profiles) / sizeof(kdf_profiles[0]);
	     i++)
		if (strcmp(kdf_profiles[i].name, name) == 0)
			return &kdf_profiles[i];
	return NULL;
}

static void warn_file_provider(const char *key_path)
{
	sr_log_warn("master key provider 'file' is for development only: the key is stored unencrypted in %s",
		    key_path);
}

/* A getter's SR_EINVAL means a malformed file: SR_ECORRUPT, named. */
static int config_error(struct sr_err *err, int rc, const char *path)
{
	if (rc == SR_EINVAL) {
		rc = SR_ECORRUPT;
		if (err)
			err->code = rc;
	}
	sr_err_prefix(err, "%s", path);
	return rc;
}

static int get_hex(const json_t *doc, const char *path, const char *key,
		   uint8_t *out, size_t len, struct sr_err *err)
{
	const char *hex = NULL;
	int rc = sr_json_get_string(doc, "", key, 1, &hex, err);

	if (rc)
		return config_error(err, rc, path);
	if (sr_unhex(out, len, hex) != SR_OK)
		return sr_fail(err, SR_ECORRUPT,
			       "%s: %s: expected %zu hex digits", path, key,
			       2 * len);
	return SR_OK;
}

static int get_bounded(const json_t *doc, const char *path, const char *key,
		       uint64_t lo, uint64_t hi, uint64_t *out,
		       struct sr_err *err)
{
	int64_t v = 0;
	int rc = sr_json_get_int(doc, "", key, 1, &v, err);

	if (rc)
		return config_error(err, rc, path);
	if (v < 0 || (uint64_t)v < lo || (uint64_t)v > hi)
		return sr_fail(err, SR_ECORRUPT,
			       "%s: %s: %lld is outside %llu..%llu", path, key,
			       (long long)v, (unsigned long long)lo,
			       (unsigned long long)hi);
	*out = (uint64_t)v;
	return SR_OK;
}

/* The Argon2id parameters kdf, salt, opslimit, memlimit of obj. */
static int parse_kdf(const json_t *obj, const char *path, uint8_t *salt,
		     unsigned long long *opslimit, size_t *memlimit,
		     struct sr_err *err)
{
	const char *kdf = NULL;
	uint64_t ops = 0, mem = 0;
	int rc;

	rc = sr_json_get_string(obj, "", "kdf", 1, &kdf, err);
	if (rc)
		return config_error(err, rc, path);
	if (strcmp(kdf, KDF_NAME) != 0)
		return sr_fail(err, SR_ECORRUPT,
			       "%s: kdf: unknown kdf '%s' (expected %s)", path,
			       kdf, KDF_NAME);
	rc = get_hex(obj, path, "salt", salt, SALT_BYTES, err);
	if (rc == SR_OK)
		rc = get_bounded(obj, path, "opslimit",
				 crypto_pwhash_argon2id_OPSLIMIT_MIN,
				 OPSLIMIT_MAX, &ops, err);
	if (rc == SR_OK)
		rc = get_bounded(obj, path, "memlimit",
				 crypto_pwhash_argon2id_MEMLIMIT_MIN,
				 MEMLIMIT_MAX, &mem, err);
	if (rc)
		return rc;
	*opslimit = ops;
	*memlimit = (size_t)mem;
	return SR_OK;
}

static int parse_passphrase_config(struct config *cfg, const char *path,
				   struct sr_err *err)
{
	static const char *const keys[] = { "version", "provider", "kdf", "salt",
		"opslimit", "memlimit", "check", NULL };
	int rc;

	rc = sr_json_check_keys(cfg->doc, "", keys, err);
	if (rc)
		return config_error(err, rc, path);
	return parse_kdf(cfg->doc, path, cfg->salt, &cfg->opslimit,
			 &cfg->memlimit, err);
}

static int parse_tpm2_config(struct config *cfg, const char *path,
			     struct sr_err *err)
{
	static const char *const recovery_keys[] = { "kdf", "salt", "opslimit",
		"memlimit", "nonce", "box", NULL };
	const char *keys[16] = { "version", "provider", "check", "recovery" };
	char rec_path[PATH_TEXT_MAX];
	const json_t *rec;
	size_t n = 4;
	int rc;

	for (size_t i = 0; sr_tee_key_fields[i]; i++) {
		if (n + 1 >= sizeof(keys) / sizeof(keys[0]))
			SR_BUG("master.json: too many tpm2 fields");
		keys[n++] = sr_tee_key_fields[i];
	}
	keys[n] = NULL;
	rc = sr_json_check_keys(cfg->doc, "", keys, err);
	if (rc)
		return config_error(err, rc, path);
	rec = json_object_get(cfg->doc, "recovery");
	if (!rec)
		return SR_OK;
	snprintf(rec_path, sizeof(rec_path), "%s: recovery", path);
	if (!json_is_object(rec))
		return sr_fail(err, SR_ECORRUPT, "%s: expected an object",
			       rec_path);
	rc = sr_json_check_keys(rec, "", recovery_keys, err);
	if (rc)
		return config_error(err, rc, rec_path);
	rc = parse_kdf(rec, rec_path, cfg->rec_salt, &cfg->rec_opslimit,
		       &cfg->rec_memlimit, err);
	if (rc == SR_OK)
		rc = get_hex(rec, rec_path, "nonce", cfg->rec_nonce,
			     sizeof(cfg->rec_nonce), err);
	if (rc == SR_OK)
		rc = get_hex(rec, rec_path, "box", cfg->rec_box,
			     sizeof(cfg->rec_box), err);
	if (rc == SR_OK)
		cfg->has_recovery = 1;
	return rc;
}

static int parse_file_config(struct config *cfg, const char *path,
			     struct sr_err *err)
{
	static const char *const keys[] = { "version", "provider", "key_file",
		"check", NULL };
	const char *name = NULL;
	int rc;

	rc = sr_json_check_keys(cfg->doc, "", keys, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(cfg->doc, "", "key_file", 1, &name, err);
	if (rc)
		return config_error(err, rc, path);
	/* A name inside home, never a path: the file is input. */
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > 255)
		return sr_fail(err, SR_ECORRUPT,
			       "%s: key_file: expected a file name inside the node home, got '%s'",
			       path, name);
	cfg->key_file = name;
	return SR_OK;
}

/*
 * Read and check home/master.json into cfg (cfg->doc must be released with
 * json_decref).  path receives the file's path.
 */
static int load_config(struct config *cfg, const char *home,
		       struct sr_buf *path, struct sr_err *err)
{
	struct sr_err read_err;
	struct sr_buf text;
	const char *provider = NULL;
	int64_t version = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	sr_buf_init(&text, 0);
	sr_err_clear(&read_err);
	rc = sr_path_join(path, home, CONFIG_FILE);
	if (rc)
		return sr_fail(err, rc, "%s: %s", home, sr_strerror(rc));
	rc = sr_file_read_all(path->data, SR_SMALL_FILE_MAX, &text, &read_err);
	if (rc == SR_ENOTFOUND) {
		rc = sr_fail(err, rc,
			     "node home %s has no master key (%s not found)",
			     home, path->data);
		goto out;
	}
	if (rc) {
		rc = sr_fail(err, rc, "%s", read_err.msg);
		goto out;
	}
	rc = sr_json_parse(text.data, text.len, path->data, &cfg->doc, err);
	if (rc == SR_EINVAL) {
		rc = SR_ECORRUPT;
		if (err)
			err->code = rc;
	}
	if (rc)
		goto out;
	if (!json_is_object(cfg->doc)) {
		rc = sr_fail(err, SR_ECORRUPT, "%s: expected a JSON object",
			     path->data);
		goto out;
	}
	rc = sr_json_get_int(cfg->doc, "", "version", 1, &version, err);
	if (rc) {
		rc = config_error(err, rc, path->data);
		goto out;
	}
	if (version != CONFIG_VERSION) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: version: unsupported version %lld (expected %d)",
			     path->data, (long long)version, CONFIG_VERSION);
		goto out;
	}
	rc = sr_json_get_string(cfg->doc, "", "provider", 1, &provider, err);
	if (rc) {
		rc = config_error(err, rc, path->data);
		goto out;
	}
	if (sr_key_provider_parse(provider, &cfg->provider) != SR_OK) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: provider: unknown provider '%s' (expected passphrase, tpm2 or file)",
			     path->data, provider);
		goto out;
	}
	if (cfg->provider == SR_KEY_PASSPHRASE)
		rc = parse_passphrase_config(cfg, path->data, err);
	else if (cfg->provider == SR_KEY_TPM2)
		rc = parse_tpm2_config(cfg, path->data, err);
	else
		rc = parse_file_config(cfg, path->data, err);
	if (rc == SR_OK)
		rc = get_hex(cfg->doc, path->data, "check", cfg->check,
			     sizeof(cfg->check), err);
out:
	if (rc) {
		json_decref(cfg->doc);
		cfg->doc = NULL;
	}
	sr_buf_release(&text);
	return rc;
}

static uint8_t *key_alloc(struct sr_err *err)
{
	uint8_t *key = sodium_malloc(MASTER_KEY_BYTES);

	if (!key)
		sr_fail(err, SR_ENOMEM,
			"master key: cannot allocate secure memory");
	return key;
}

/* Give mk the key (made read-only), dropping what mk held. */
static void install_key(struct sr_masterkey *mk, uint8_t *key,
			enum sr_key_provider provider)
{
	sodium_mprotect_readonly(key);
	sr_masterkey_release(mk);
	mk->key = key;
	mk->provider = provider;
}

static int derive_from_passphrase(uint8_t *key, const char *passphrase,
				  const uint8_t salt[SALT_BYTES],
				  unsigned long long opslimit, size_t memlimit,
				  struct sr_err *err)
{
	if (crypto_pwhash(key, MASTER_KEY_BYTES, passphrase, strlen(passphrase),
			  salt, opslimit, memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return sr_fail(err, SR_ENOMEM,
			       "argon2id: cannot allocate %zu MiB for key derivation",
			       memlimit >> 20);
	return SR_OK;
}

/*
 * The profile for kdf_profile (NULL: moderate) and a non-empty passphrase
 * (what names what it is for).
 */
static int check_passphrase(const char *passphrase, const char *what,
			    const char *kdf_profile,
			    const struct kdf_profile **prof, struct sr_err *err)
{
	if (!passphrase || !*passphrase)
		return sr_fail(err, SR_EINVAL, "%s may not be empty", what);
	*prof = find_profile(kdf_profile ? kdf_profile : "moderate");
	if (!*prof)
		return sr_fail(err, SR_EINVAL,
			       "unknown kdf profile '%s' (expected moderate, sensitive or test)",
			       kdf_profile);
	return SR_OK;
}

/* home must be a directory without master.json; cfg_path gets its path. */
static int new_config_path(const char *home, struct sr_buf *cfg_path,
			   struct sr_err *err)
{
	struct stat st;
	int rc;

	if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode))
		return sr_fail(err, SR_ENOTFOUND,
			       "node home %s: not a directory", home);
	rc = sr_path_join(cfg_path, home, CONFIG_FILE);
	if (rc)
		return sr_fail(err, rc, "%s: %s", home, sr_strerror(rc));
	if (sr_path_exists(cfg_path->data))
		return sr_fail(err, SR_EEXIST,
			       "node home %s already has a master key (%s exists)",
			       home, cfg_path->data);
	return SR_OK;
}

/* Write doc (pretty, newline-terminated) to path, mode 0600, atomically. */
static int write_config(const char *path, const json_t *doc,
			struct sr_err *err)
{
	struct sr_buf text;
	int rc;

	sr_buf_init(&text, 0);
	rc = sr_json_dump(doc, 1, &text);
	if (rc == SR_OK)
		rc = sr_buf_addch(&text, '\n');
	if (rc)
		rc = sr_fail(err, rc, "%s: %s", path, sr_strerror(rc));
	else
		rc = sr_file_write_atomic(path, text.data, text.len, 0600, err);
	sr_buf_release(&text);
	return rc;
}

static json_t *encode_config(enum sr_key_provider provider,
			     const uint8_t check[CHECK_BYTES],
			     const uint8_t salt[SALT_BYTES],
			     const struct kdf_profile *prof)
{
	char check_hex[2 * CHECK_BYTES + 1];
	char salt_hex[2 * SALT_BYTES + 1];

	sr_hex(check_hex, check, CHECK_BYTES);
	if (provider == SR_KEY_PASSPHRASE) {
		sr_hex(salt_hex, salt, SALT_BYTES);
		return json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:s}",
				 "version", CONFIG_VERSION,
				 "provider", "passphrase",
				 "kdf", KDF_NAME,
				 "salt", salt_hex,
				 "opslimit", (json_int_t)prof->opslimit,
				 "memlimit", (json_int_t)prof->memlimit,
				 "check", check_hex);
	}
	if (provider == SR_KEY_TPM2)	/* src/tee/keyprov.c adds the rest */
		return json_pack("{s:i, s:s, s:s}", "version", CONFIG_VERSION,
				 "provider", "tpm2", "check", check_hex);
	return json_pack("{s:i, s:s, s:s, s:s}",
			 "version", CONFIG_VERSION,
			 "provider", "file",
			 "key_file", KEY_FILE,
			 "check", check_hex);
}

int sr_masterkey_create(struct sr_masterkey *mk, const char *home,
			enum sr_key_provider provider, const char *passphrase,
			const char *kdf_profile, struct sr_err *err)
{
	const struct kdf_profile *prof = NULL;
	struct sr_buf cfg_path, key_path;
	uint8_t salt[SALT_BYTES] = { 0 }, check[CHECK_BYTES];
	char key_text[2 * MASTER_KEY_BYTES + 2];
	uint8_t *key = NULL;
	json_t *doc = NULL;
	int wrote_key = 0, rc;

	sr_buf_init(&cfg_path, 0);
	sr_buf_init(&key_path, 0);
	if (provider != SR_KEY_PASSPHRASE && provider != SR_KEY_FILE) {
		rc = sr_fail(err, SR_EINVAL,
			     provider == SR_KEY_TPM2 ?
			     "the tpm2 provider is created with sr_masterkey_create_tpm2 (%d)" :
			     "unknown master key provider %d", (int)provider);
		goto out;
	}
	if (provider == SR_KEY_PASSPHRASE) {
		rc = check_passphrase(passphrase,
				      "the passphrase provider needs a passphrase; it",
				      kdf_profile, &prof, err);
		if (rc)
			goto out;
	}
	rc = new_config_path(home, &cfg_path, err);
	if (rc)
		goto out;
	rc = sr_path_join(&key_path, home, KEY_FILE);
	if (rc) {
		rc = sr_fail(err, rc, "%s: %s", home, sr_strerror(rc));
		goto out;
	}
	/* Never overwrite a key file: it may be the only copy of a key. */
	if (provider == SR_KEY_FILE && sr_path_exists(key_path.data)) {
		rc = sr_fail(err, SR_EEXIST,
			     "%s exists without %s; move it away first",
			     key_path.data, cfg_path.data);
		goto out;
	}
	key = key_alloc(err);
	if (!key) {
		rc = SR_ENOMEM;
		goto out;
	}
	if (provider == SR_KEY_PASSPHRASE) {
		randombytes_buf(salt, sizeof(salt));
		rc = derive_from_passphrase(key, passphrase, salt,
					    prof->opslimit, prof->memlimit, err);
		if (rc)
			goto out;
	} else {
		warn_file_provider(key_path.data);
		randombytes_buf(key, MASTER_KEY_BYTES);
		sr_hex(key_text, key, MASTER_KEY_BYTES);
		key_text[2 * MASTER_KEY_BYTES] = '\n';
		rc = sr_file_write_atomic(key_path.data, key_text,
					  sizeof(key_text) - 1, 0600, err);
		if (rc)
			goto out;
		wrote_key = 1;
	}
	compute_check(check, key);
	doc = encode_config(provider, check, salt, prof);
	rc = doc ? write_config(cfg_path.data, doc, err)
		 : sr_fail(err, SR_ENOMEM, "%s: out of memory", cfg_path.data);
	if (rc)
		goto out;
	install_key(mk, key, provider);
	key = NULL;
out:
	if (rc && wrote_key)
		unlink(key_path.data);
	sodium_memzero(key_text, sizeof(key_text));
	key_free(key);
	json_decref(doc);
	sr_buf_release(&cfg_path);
	sr_buf_release(&key_path);
	return rc;
}

/* Read home/name (a 64-hex-digit key and a newline) into key. */
static int read_key_file(uint8_t *key, const char *key_path,
			 struct sr_err *err)
{
	struct sr_buf text;
	struct stat st;
	int rc;

	/* Reserve the whole buffer now so that growing it never leaves a
	 * copy of the key behind in freed memory. */
	sr_buf_init(&text, KEY_FILE_TEXT_MAX);
	rc = sr_buf_grow(&text, KEY_FILE_TEXT_MAX);
	if (rc) {
		rc = sr_fail(err, rc, "%s: %s", key_path, sr_strerror(rc));
		goto out;
	}
	rc = sr_file_read_all(key_path, KEY_FILE_TEXT_MAX, &text, err);
	if (rc == SR_ELIMIT)
		rc = sr_failx(err, SR_ECORRUPT,
			      "%s: expected 64 hex digits and a newline",
			      key_path);
	if (rc)
		goto out;
	if (text.len == 2 * MASTER_KEY_BYTES + 1 &&
	    text.data[2 * MASTER_KEY_BYTES] == '\n')
		sr_buf_setlen(&text, 2 * MASTER_KEY_BYTES);
	if (sr_unhex(key, MASTER_KEY_BYTES, text.data) != SR_OK) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: expected 64 hex digits and a newline",
			     key_path);
		goto out;
	}
	if (stat(key_path, &st) == 0 && (st.st_mode & 077))
		sr_log_warn("%s is readable by other users (mode %03o); it should be 0600",
			    key_path, (unsigned)(st.st_mode & 0777));
out:
	sr_buf_wipe(&text);
	return rc;
}

int sr_masterkey_open(struct sr_masterkey *mk, const char *home,
		      const char *passphrase, struct sr_err *err)
{
	struct sr_buf cfg_path, key_path;
	struct config cfg;
	uint8_t *key = NULL;
	int rc;

	sr_buf_init(&cfg_path, 0);
	sr_buf_init(&key_path, 0);
	rc = load_config(&cfg, home, &cfg_path, err);
	if (rc)
		goto out;
	key = key_alloc(err);
	if (!key) {
		rc = SR_ENOMEM;
		goto out;
	}
	if (cfg.provider == SR_KEY_PASSPHRASE) {
		if (!passphrase || !*passphrase) {
			rc = sr_fail(err, SR_EINVAL,
				     "node home %s uses the passphrase provider: a passphrase is required",
				     home);
			goto out;
		}
		rc = derive_from_passphrase(key, passphrase, cfg.salt,
					    cfg.opslimit, cfg.memlimit, err);
		if (rc)
			goto out;
		if (!check_matches(cfg.check, key)) {
			rc = sr_fail(err, SR_ECRYPTO,
				     "wrong passphrase for node home %s", home);
			goto out;
		}
	} else if (cfg.provider == SR_KEY_TPM2) {
		rc = sr_tee_key_unseal(cfg.doc, cfg_path.data, key,
				       MASTER_KEY_BYTES, err);
		if (rc == SR_OK)
			rc = require_check(cfg.check, key, "the key unsealed by the TPM",
					   cfg_path.data, err);
		if (rc)
			goto out;
	} else {
		rc = sr_path_join(&key_path, home, cfg.key_file);
		if (rc) {
			rc = sr_fail(err, rc, "%s: %s", home, sr_strerror(rc));
			goto out;
		}
		warn_file_provider(key_path.data);
		rc = read_key_file(key, key_path.data, err);
		if (rc)
			goto out;
		if (!check_matches(cfg.check, key)) {
			rc = sr_fail(err, SR_ECRYPTO,
				     "%s does not match the check value in %s",
				     key_path.data, cfg_path.data);
			goto out;
		}
	}
	install_key(mk, key, cfg.provider);
	key = NULL;
out:
	key_free(key);
	json_decref(cfg.doc);
	sr_buf_release(&cfg_path);
	sr_buf_release(&key_path);
	return rc;
}

int sr_masterkey_provider(const char *home, enum sr_key_provider *out,
			  struct sr_err *err)
{
	struct sr_buf path;
	struct config cfg;
	int rc;

	sr_buf_init(&path, 0);
	rc = load_config(&cfg, home, &path, err);
	if (rc == SR_OK)
		*out = cfg.provider;
	json_decref(cfg.doc);
	sr_buf_release(&path);
	return rc;
}

/* The recovery object for key under passphrase with profile prof. */
static int recovery_encode(json_t **out, const uint8_t *key,
			   const char *passphrase,
			   const struct kdf_profile *prof, struct sr_err *err)
{
	uint8_t salt[SALT_BYTES], nonce[RECOVERY_NONCE_BYTES];
	uint8_t box[RECOVERY_BOX_BYTES];
	char salt_hex[2 * SALT_BYTES + 1], nonce_hex[2 * sizeof(nonce) + 1];
	char box_hex[2 * sizeof(box) + 1];
	uint8_t *wrap = key_alloc(err);
	int rc;

	*out = NULL;
	if (!wrap)
		return SR_ENOMEM;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	rc = derive_from_passphrase(wrap, passphrase, salt, prof->opslimit,
				    prof->memlimit, err);
	if (rc)
		goto out;
	crypto_secretbox_easy(box, key, MASTER_KEY_BYTES, nonce, wrap);
	sr_hex(salt_hex, salt, sizeof(salt));
	sr_hex(nonce_hex, nonce, sizeof(nonce));
	sr_hex(box_hex, box, sizeof(box));
	*out = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "kdf", KDF_NAME,
			 "salt", salt_hex, "opslimit", (json_int_t)prof->opslimit,
			 "memlimit", (json_int_t)prof->memlimit, "nonce",
			 nonce_hex, "box", box_hex);
	if (!*out)
		rc = sr_fail(err, SR_ENOMEM, "master.json: out of memory");
out:
	key_free(wrap);
	return rc;
}

int sr_masterkey_create_tpm2(struct sr_masterkey *mk, const char *home,
			     const struct sr_masterkey_tpm2 *opts,
			     struct sr_err *err)
{
	const struct kdf_profile *prof = NULL;
	struct sr_buf cfg_path;
	uint8_t check[CHECK_BYTES];
	uint8_t *key = NULL;
	json_t *doc = NULL, *rec = NULL;
	int rc = SR_OK;

	sr_buf_init(&cfg_path, 0);
	if (opts->recovery_passphrase)
		rc = check_passphrase(opts->recovery_passphrase,
				      "the recovery passphrase", opts->kdf_profile,
				      &prof, err);
	if (rc == SR_OK)
		rc = new_config_path(home, &cfg_path, err);
	if (rc)
		goto out;
	key = key_alloc(err);
	if (!key) {
		rc = SR_ENOMEM;
		goto out;
	}
	randombytes_buf(key, MASTER_KEY_BYTES);
	compute_check(check, key);
	doc = encode_config(SR_KEY_TPM2, check, NULL, NULL);
	if (!doc) {
		rc = sr_fail(err, SR_ENOMEM, "%s: out of memory", cfg_path.data);
		goto out;
	}
	rc = sr_tee_key_seal(opts->tcti, opts->pcrs, key, MASTER_KEY_BYTES,
			     doc, err);
	if (rc)
		goto out;
	if (prof) {
		rc = recovery_encode(&rec, key, opts->recovery_passphrase, prof,
				     err);
		if (rc)
			goto out;
		if (json_object_set_new(doc, "recovery", rec)) {
			rc = sr_fail(err, SR_ENOMEM, "%s: out of memory",
				     cfg_path.data);
			goto out;
		}
	}
	rc = write_config(cfg_path.data, doc, err);
	if (rc)
		goto out;
	install_key(mk, key, SR_KEY_TPM2);
	key = NULL;
out:
	key_free(key);
	json_decref(doc);
	sr_buf_release(&cfg_path);
	return rc;
}

int sr_masterkey_open_recovery(struct sr_masterkey *mk, const char *home,
			       const char *passphrase, struct sr_err *err)
{
	struct sr_buf cfg_path;
	struct config cfg;
	uint8_t *key = NULL, *wrap = NULL;
	int rc;

	sr_buf_init(&cfg_path, 0);
	rc = load_config(&cfg, home, &cfg_path, err);
	if (rc)
		goto out;
	if (cfg.provider != SR_KEY_TPM2 || !cfg.has_recovery) {
		rc = sr_fail(err, SR_ENOTFOUND,
			     "node home %s has no recovery copy of its master key (only a tpm2 key made with --recovery-passphrase has one)",
			     home);
		goto out;
	}
	if (!passphrase || !*passphrase) {
		rc = sr_fail(err, SR_EINVAL,
			     "opening the recovery copy needs its passphrase");
		goto out;
	}
	key = key_alloc(err);
	wrap = key ? key_alloc(err) : NULL;
	if (!wrap) {
		rc = SR_ENOMEM;
		goto out;
	}
	rc = derive_from_passphrase(wrap, passphrase, cfg.rec_salt,
				    cfg.rec_opslimit, cfg.rec_memlimit, err);
	if (rc)
		goto out;
	if (crypto_secretbox_open_easy(key, cfg.rec_box, sizeof(cfg.rec_box),
				       cfg.rec_nonce, wrap) != 0) {
		rc = sr_fail(err, SR_ECRYPTO,
			     "wrong recovery passphrase for node home %s", home);
		goto out;
	}
	rc = require_check(cfg.check, key, "the recovery copy", cfg_path.data,
			   err);
	if (rc)
		goto out;
	sr_log_warn("node home %s opened with its recovery passphrase, not the TPM",
		    home);
	install_key(mk, key, SR_KEY_TPM2);
	key = NULL;
out:
	key_free(key);
	key_free(wrap);
	json_decref(cfg.doc);
	sr_buf_release(&cfg_path);
	return rc;
}
