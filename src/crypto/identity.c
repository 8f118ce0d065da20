/*
 * identity.c - an organization's long-term keys and their files.
 *
 * DIR/identity.key (binary, 144 bytes, mode 0600):
 *
 *   offset  size  field
 *        0     4  magic "SRID"
 *        4     4  format version, u32le = 1
 *        8    24  nonce (random, fresh on every save)
 *       32   112  XChaCha20-Poly1305-IETF(sign_sk[64] || kx_sk[32]) || tag
 *
 *   key: key_enc (the master key's SR_SUBKEY_IDENTITY sub-key)
 *   associated data: "sealroom.identity.v1" || sign_pk[32] || kx_pk[32]
 *
 * DIR/identity.pub (JSON, mode 0644):
 *
 *   {"kx_pk": hex, "org_id": "org_...", "sign_pk": hex}
 *
 * The public keys are not repeated in identity.key: they are read from
 * identity.pub and bound into the AEAD's associated data, so an
 * identity.pub whose keys were swapped for someone else's fails to decrypt
 * the secret keys instead of passing off foreign keys as ours.  After
 * decryption the public keys are recomputed from the secret keys and
 * compared as well.
 */
#include "crypto/identity.h"

#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/banned.h"

#define KEY_FILE "identity.key"
#define PUB_FILE "identity.pub"
#define KEY_MAGIC "SRID"
#define KEY_VERSION 1u
#define KEY_AD_TAG "sealroom.identity.v1"
#define ORG_ID_DOMAIN "sealroom.orgid.v1"
#define ORG_ID_HASH_BYTES 16

#define SECRET_BYTES (SR_SIGN_SECRETKEYBYTES + SR_BOX_SECRETKEYBYTES)
#define KEY_HEADER_BYTES 8
#define KEY_FILE_BYTES (KEY_HEADER_BYTES + SR_AEAD_NONCEBYTES + \
			SECRET_BYTES + SR_AEAD_ABYTES)
#define AD_BYTES (sizeof(KEY_AD_TAG) - 1 + SR_SIGN_PUBLICKEYBYTES + \
		  SR_BOX_PUBLICKEYBYTES)

_Static_assert(SR_SIGN_PUBLICKEYBYTES == crypto_sign_ed25519_PUBLICKEYBYTES &&
	       SR_SIGN_SECRETKEYBYTES == crypto_sign_ed25519_SECRETKEYBYTES &&
	       SR_SIGN_BYTES == crypto_sign_ed25519_BYTES,
	       "signatures are Ed25519");
_Static_assert(KEY_FILE_BYTES == 144, "identity.key layout");
_Static_assert(SR_ORG_ID_LEN == 4 + 2 * ORG_ID_HASH_BYTES, "org id length");
_Static_assert(ORG_ID_HASH_BYTES <= SR_HASH_BYTES, "org id from one hash");

void sr_identity_init(struct sr_identity *id)
{
	memset(id, 0, sizeof(*id));
}

void sr_identity_release(struct sr_identity *id)
{
	/* sodium_free wipes the pages before unmapping them. */
	sodium_free(id->sign_sk);
	sodium_free(id->kx_sk);
	sr_identity_init(id);
}

static int alloc_secrets(struct sr_identity *id, struct sr_err *err)
{
	id->sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	id->kx_sk = sodium_malloc(SR_BOX_SECRETKEYBYTES);
	if (!id->sign_sk || !id->kx_sk)
		return sr_fail(err, SR_ENOMEM,
			       "identity: cannot allocate secure memory for keys");
	return SR_OK;
}

/* Release *dst and hand it the contents of *src, leaving src empty. */
static void move_identity(struct sr_identity *dst, struct sr_identity *src)
{
	sr_identity_release(dst);
	*dst = *src;
	sr_identity_init(src);
}

int sr_identity_generate(struct sr_identity *id, struct sr_err *err)
{
	struct sr_identity fresh;
	int rc;

	sr_identity_init(&fresh);
	rc = alloc_secrets(&fresh, err);
	if (rc)
		goto out;
	crypto_sign_keypair(fresh.sign_pk, fresh.sign_sk);
	crypto_box_keypair(fresh.kx_pk, fresh.kx_sk);
	sr_identity_org_id(fresh.org_id, fresh.sign_pk);
	move_identity(id, &fresh);
out:
	sr_identity_release(&fresh);
	return rc;
}

void sr_identity_org_id(char out[SR_ORG_ID_LEN + 1],
			const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES])
{
	uint8_t digest[SR_HASH_BYTES];

	sr_hash(digest, ORG_ID_DOMAIN, sign_pk, SR_SIGN_PUBLICKEYBYTES);
	memcpy(out, "org_", 4);
	sr_hex(out + 4, digest, ORG_ID_HASH_BYTES);
}

static void build_ad(uint8_t ad[AD_BYTES],
		     const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
		     const uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES])
{
	size_t tag_len = sizeof(KEY_AD_TAG) - 1;

	memcpy(ad, KEY_AD_TAG, tag_len);
	memcpy(ad + tag_len, sign_pk, SR_SIGN_PUBLICKEYBYTES);
	memcpy(ad + tag_len + SR_SIGN_PUBLICKEYBYTES, kx_pk,
	       SR_BOX_PUBLICKEYBYTES);
}

static int encode_pub(const struct sr_identity *id, struct sr_buf *out)
{
	char sign_hex[2 * SR_SIGN_PUBLICKEYBYTES + 1];
	char kx_hex[2 * SR_BOX_PUBLICKEYBYTES + 1];
	json_t *doc;
	int rc;

	sr_hex(sign_hex, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx_hex, id->kx_pk, sizeof(id->kx_pk));
	doc = json_pack("{s:s, s:s, s:s}", "org_id", id->org_id, "sign_pk",
			sign_hex, "kx_pk", kx_hex);
	if (!doc)
		return SR_ENOMEM;
	rc = sr_json_dump(doc, 1, out);
	if (rc == SR_OK)
		rc = sr_buf_addch(out, '\n');
	json_decref(doc);
	return rc;
}

int sr_identity_save(const struct sr_identity *id, const char *dir,
		     const uint8_t key_enc[32], struct sr_err *err)
{
	uint8_t file[KEY_FILE_BYTES];
	uint8_t plain[SECRET_BYTES];
	uint8_t ad[AD_BYTES];
	struct sr_buf key_path, pub_path, pub;
	int key_existed, rc;

	if (!id->sign_sk || !id->kx_sk || !key_enc)
		SR_BUG("sr_identity_save without secret keys or key");
	sr_buf_init(&key_path, 0);
	sr_buf_init(&pub_path, 0);
	sr_buf_init(&pub, 0);
	rc = sr_path_join(&key_path, dir, KEY_FILE);
	if (rc == SR_OK)
		rc = sr_path_join(&pub_path, dir, PUB_FILE);
	if (rc == SR_OK)
		rc = encode_pub(id, &pub);
	if (rc) {
		rc = sr_fail(err, rc, "%s: cannot save identity: %s", dir,
			     sr_strerror(rc));
		goto out;
	}

	memcpy(file, KEY_MAGIC, 4);
	sr_store_u32le(file + 4, KEY_VERSION);
	randombytes_buf(file + KEY_HEADER_BYTES, SR_AEAD_NONCEBYTES);
	memcpy(plain, id->sign_sk, SR_SIGN_SECRETKEYBYTES);
	memcpy(plain + SR_SIGN_SECRETKEYBYTES, id->kx_sk,
	       SR_BOX_SECRETKEYBYTES);
	build_ad(ad, id->sign_pk, id->kx_pk);
	sr_aead_seal(file + KEY_HEADER_BYTES + SR_AEAD_NONCEBYTES, plain,
		     sizeof(plain), ad, sizeof(ad), file + KEY_HEADER_BYTES,
		     key_enc);

	key_existed = sr_path_exists(key_path.data);
	rc = sr_file_write_atomic(key_path.data, file, sizeof(file), 0600, err);
	if (rc)
		goto out;
	rc = sr_file_write_atomic(pub_path.data, pub.data, pub.len, 0644, err);
	/* A new identity.key without its identity.pub could never be
	 * loaded: do not leave one behind. */
	if (rc && !key_existed)
		unlink(key_path.data);
out:
	sodium_memzero(plain, sizeof(plain));
	sr_buf_release(&key_path);
	sr_buf_release(&pub_path);
	sr_buf_release(&pub);
	return rc;
}

/* Map a JSON getter's SR_EINVAL (bad or missing field) to SR_ECORRUPT and
 * name the file. */
static int pub_field_error(struct sr_err *err, int rc, const char *path)
{
	if (rc == SR_EINVAL) {
		rc = SR_ECORRUPT;
		if (err)
			err->code = rc;
	}
	sr_err_prefix(err, "%s", path);
	return rc;
}

static int get_hex_field(const json_t *doc, const char *path, const char *key,
			 uint8_t *out, size_t len, struct sr_err *err)
{
	const char *hex = NULL;
	int rc = sr_json_get_string(doc, "", key, 1, &hex, err);

	if (rc)
		return pub_field_error(err, rc, path);
	if (sr_unhex(out, len, hex) != SR_OK)
		return sr_fail(err, SR_ECORRUPT,
			       "%s: %s: expected %zu hex digits", path, key,
			       2 * len);
	return SR_OK;
}

static int load_pub(struct sr_identity *id, const char *path,
		    struct sr_err *err)
{
	static const char *const keys[] = { "org_id", "sign_pk", "kx_pk", NULL };
	char expected[SR_ORG_ID_LEN + 1];
	const char *org_id = NULL;
	struct sr_buf text;
	json_t *doc = NULL;
	int rc;

	sr_buf_init(&text, 0);
	rc = sr_file_read_all(path, SR_SMALL_FILE_MAX, &text, err);
	if (rc)
		goto out;
	rc = sr_json_parse(text.data, text.len, path, &doc, err);
	if (rc == SR_EINVAL) {
		rc = SR_ECORRUPT;
		if (err)
			err->code = rc;
	}
	if (rc)
		goto out;
	if (!json_is_object(doc)) {
		rc = sr_fail(err, SR_ECORRUPT, "%s: expected a JSON object",
			     path);
		goto out;
	}
	rc = sr_json_check_keys(doc, "", keys, err);
	if (rc == SR_OK) {
		rc = sr_json_get_string(doc, "", "org_id", 1, &org_id, err);
	}
	if (rc) {
		rc = pub_field_error(err, rc, path);
		goto out;
	}
	rc = get_hex_field(doc, path, "sign_pk", id->sign_pk,
			   sizeof(id->sign_pk), err);
	if (rc == SR_OK)
		rc = get_hex_field(doc, path, "kx_pk", id->kx_pk,
				   sizeof(id->kx_pk), err);
	if (rc)
		goto out;
	sr_identity_org_id(expected, id->sign_pk);
	if (strcmp(org_id, expected) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: org_id does not match sign_pk (expected %s)",
			     path, expected);
		goto out;
	}
	memcpy(id->org_id, expected, sizeof(expected));
out:
	json_decref(doc);
	sr_buf_release(&text);
	return rc;
}

/* Recompute both public keys from the secret keys. */
static int check_keypairs(const struct sr_identity *id, const char *path,
			  struct sr_err *err)
{
	uint8_t seed[crypto_sign_ed25519_SEEDBYTES];
	uint8_t sk[SR_SIGN_SECRETKEYBYTES];
	uint8_t pk[SR_SIGN_PUBLICKEYBYTES];
	uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES];
	int rc = SR_OK;

	/* An Ed25519 secret key is seed || pk: sk_to_pk only reads the
	 * second half, so also derive the key pair from the seed. */
	crypto_sign_ed25519_sk_to_pk(pk, id->sign_sk);
	crypto_sign_ed25519_sk_to_seed(seed, id->sign_sk);
	if (sodium_memcmp(pk, id->sign_pk, sizeof(pk)) != 0 ||
	    crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
	    sodium_memcmp(pk, id->sign_pk, sizeof(pk)) != 0 ||
	    sodium_memcmp(sk, id->sign_sk, sizeof(sk)) != 0)
		rc = sr_fail(err, SR_ECRYPTO,
			     "%s: the signing secret key does not match sign_pk",
			     path);
	else if (crypto_scalarmult_base(kx_pk, id->kx_sk) != 0 ||
		 sodium_memcmp(kx_pk, id->kx_pk, sizeof(kx_pk)) != 0)
		rc = sr_fail(err, SR_ECRYPTO,
			     "%s: the key-agreement secret key does not match kx_pk",
			     path);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int sr_identity_load(struct sr_identity *id, const char *dir,
		     const uint8_t key_enc[32], struct sr_err *err)
{
	struct sr_identity loaded;
	struct sr_buf key_path, pub_path, file;
	uint8_t plain[SECRET_BYTES];
	uint8_t ad[AD_BYTES];
	const uint8_t *data;
	int rc;

	if (!key_enc)
		SR_BUG("sr_identity_load without a key");
	sr_identity_init(&loaded);
	sr_buf_init(&key_path, 0);
	sr_buf_init(&pub_path, 0);
	sr_buf_init(&file, 0);
	rc = sr_path_join(&key_path, dir, KEY_FILE);
	if (rc == SR_OK)
		rc = sr_path_join(&pub_path, dir, PUB_FILE);
	if (rc) {
		rc = sr_fail(err, rc, "%s: cannot load identity: %s", dir,
			     sr_strerror(rc));
		goto out;
	}
	rc = load_pub(&loaded, pub_path.data, err);
	if (rc)
		goto out;
	rc = sr_file_read_all(key_path.data, SR_SMALL_FILE_MAX, &file, err);
	if (rc)
		goto out;
	data = (const uint8_t *)file.data;
	if (file.len < KEY_HEADER_BYTES || memcmp(data, KEY_MAGIC, 4) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: not a sealroom identity key file", key_path.data);
		goto out;
	}
	if (sr_load_u32le(data + 4) != KEY_VERSION) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: unsupported format version %u (expected %u)",
			     key_path.data, (unsigned)sr_load_u32le(data + 4),
			     KEY_VERSION);
		goto out;
	}
	if (file.len != KEY_FILE_BYTES) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: expected %u bytes, found %zu (truncated or extended)",
			     key_path.data, (unsigned)KEY_FILE_BYTES, file.len);
		goto out;
	}
	rc = alloc_secrets(&loaded, err);
	if (rc)
		goto out;
	build_ad(ad, loaded.sign_pk, loaded.kx_pk);
	rc = sr_aead_open(plain, data + KEY_HEADER_BYTES + SR_AEAD_NONCEBYTES,
			  SECRET_BYTES + SR_AEAD_ABYTES, ad, sizeof(ad),
			  data + KEY_HEADER_BYTES, key_enc);
	if (rc) {
		rc = sr_fail(err, SR_ECRYPTO,
			     "%s: cannot decrypt: wrong master key, or identity.key or identity.pub was altered",
			     key_path.data);
		goto out;
	}
	memcpy(loaded.sign_sk, plain, SR_SIGN_SECRETKEYBYTES);
	memcpy(loaded.kx_sk, plain + SR_SIGN_SECRETKEYBYTES,
	       SR_BOX_SECRETKEYBYTES);
	rc = check_keypairs(&loaded, key_path.data, err);
	if (rc)
		goto out;
	move_identity(id, &loaded);
out:
	sodium_memzero(plain, sizeof(plain));
	sr_identity_release(&loaded);
	sr_buf_release(&key_path);
	sr_buf_release(&pub_path);
	sr_buf_release(&file);
	return rc;
}

void sr_identity_sign(const struct sr_identity *id, const uint8_t *msg,
		      size_t len, uint8_t sig[SR_SIGN_BYTES])
{
	if (!id->sign_sk)
		SR_BUG("sr_identity_sign without a secret key");
	crypto_sign_detached(sig, NULL, msg, len, id->sign_sk);
}

int sr_sign_verify(const uint8_t pk[SR_SIGN_PUBLICKEYBYTES],
		   const uint8_t *msg, size_t len,
		   const uint8_t sig[SR_SIGN_BYTES])
{
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return SR_ECRYPTO;
	return SR_OK;
}
