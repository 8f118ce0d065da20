/*
 * tls.c - the coordinator's self-signed certificate and its pin (GnuTLS for
 * X.509, libsodium for the hash, the serial and the encoding).
 */
#include "net/tls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/file.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/banned.h"

#define CERT_COMMON_NAME "sealroom coordinator"
#define CERT_DNS_NAME "localhost"
#define CERT_VALID_DAYS 3653          /* ten years, leap days included */
#define CERT_BACKDATE_S 3600          /* accept clocks an hour behind */
#define CERT_SERIAL_BYTES 16
#define KEY_PEM_RESERVE 8192          /* so reading a key never reallocs */
#define KEY_ID_MAX 64

_Static_assert(sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
					 sodium_base64_VARIANT_ORIGINAL) ==
	       SR_TLS_PIN_B64_LEN + 1, "pin length matches SHA-256 in base64");
_Static_assert(SR_TLS_PIN_LEN == 52, "sha256// + 44 characters");

/* Wipe and free a datum GnuTLS allocated. */
static void datum_wipe(gnutls_datum_t *d)
{
	if (d->data) {
		sodium_memzero(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* SHA-256 of the DER SubjectPublicKeyInfo: what curl's pin hashes. */
static int spki_hash(gnutls_pubkey_t pub, const char *what,
		     unsigned char hash[crypto_hash_sha256_BYTES],
		     struct sr_err *err)
{
	gnutls_datum_t spki = { NULL, 0 };
	int g;

	g = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki);
	if (g < 0)
		return sr_fail(err, SR_ECORRUPT, "%s: cannot encode the public key: %s",
			       what, gnutls_strerror(g));
	crypto_hash_sha256(hash, spki.data, spki.size);
	gnutls_free(spki.data);
	return SR_OK;
}

static int cert_key_hash(gnutls_x509_crt_t crt, const char *what,
			 unsigned char hash[crypto_hash_sha256_BYTES],
			 struct sr_err *err)
{
	gnutls_pubkey_t pub = NULL;
	int g, rc;

	g = gnutls_pubkey_init(&pub);
	if (g < 0)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	g = gnutls_pubkey_import_x509(pub, crt, 0);
	if (g < 0)
		rc = sr_fail(err, SR_ECORRUPT, "%s: cannot read the public key: %s",
			     what, gnutls_strerror(g));
	else
		rc = spki_hash(pub, what, hash, err);
	gnutls_pubkey_deinit(pub);
	return rc;
}

static int private_key_hash(gnutls_x509_privkey_t key, const char *what,
			    unsigned char hash[crypto_hash_sha256_BYTES],
			    struct sr_err *err)
{
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	int g, rc = SR_OK;

	if (gnutls_privkey_init(&priv) < 0 || gnutls_pubkey_init(&pub) < 0) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	/* Flags 0: priv borrows key, which outlives it here. */
	g = gnutls_privkey_import_x509(priv, key, 0);
	if (g >= 0)
		g = gnutls_pubkey_import_privkey(pub, priv, 0, 0);
	if (g < 0) {
		rc = sr_fail(err, SR_ECORRUPT, "%s: cannot derive the public key: %s",
			     what, gnutls_strerror(g));
		goto out;
	}
	rc = spki_hash(pub, what, hash, err);
out:
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	return rc;
}

static void pin_format(const unsigned char hash[crypto_hash_sha256_BYTES],
		       char pin[SR_TLS_PIN_MAX])
{
	size_t prefix = sizeof(SR_TLS_PIN_PREFIX) - 1;

	memcpy(pin, SR_TLS_PIN_PREFIX, prefix);
	sodium_bin2base64(pin + prefix, SR_TLS_PIN_MAX - prefix, hash,
			  crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL);
}

int sr_tls_pin_parse(const char *text, struct sr_err *err)
{
	size_t prefix = sizeof(SR_TLS_PIN_PREFIX) - 1, len, b64_len, bin_len = 0;
	unsigned char bin[crypto_hash_sha256_BYTES + 1];
	const char *b64, *end = NULL;

	if (!text || !*text)
		return sr_fail(err, SR_EINVAL,
			       "pinned key: empty; expected sha256// followed by "
			       "44 base64 characters");
	len = strlen(text);
	if (len < prefix || memcmp(text, SR_TLS_PIN_PREFIX, prefix) != 0)
		return sr_fail(err, SR_EINVAL,
			       "pinned key '%.64s': expected it to start with 'sha256//'",
			       text);
	b64 = text + prefix;
	b64_len = len - prefix;
	if (memchr(b64, ';', b64_len))
		return sr_fail(err, SR_EINVAL,
			       "pinned key '%.64s': expected one key, not a list", text);
	if (b64_len != SR_TLS_PIN_B64_LEN)
		return sr_fail(err, SR_EINVAL,
			       "pinned key '%.64s': expected %d base64 characters after "
			       "'sha256//', got %zu", text, SR_TLS_PIN_B64_LEN, b64_len);
	/* libsodium refuses bad characters, missing padding and stray bits. */
	if (sodium_base642bin(bin, sizeof(bin), b64, b64_len, NULL, &bin_len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64_len || bin_len != crypto_hash_sha256_BYTES)
		return sr_fail(err, SR_EINVAL,
			       "pinned key '%.64s': not the base64 of a 32-byte "
			       "SHA-256 hash", text);
	return SR_OK;
}

static void warn_if_exposed(const char *key_file)
{
	struct stat st;

	if (stat(key_file, &st) == 0 && (st.st_mode & 077))
		sr_log_warn("%s: private key readable by other users (mode %03o); "
			    "expected 0600", key_file, (unsigned)(st.st_mode & 0777));
}

/* Read and parse a PEM private key.  key_text receives the file (secret). */
static int read_key(const char *key_file, struct sr_buf *key_text,
		    gnutls_x509_privkey_t *out, struct sr_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d;
	int g, rc;

	*out = NULL;
	rc = sr_buf_grow(key_text, KEY_PEM_RESERVE);
	if (rc)
		return sr_fail(err, rc, "%s: %s", key_file, sr_strerror(rc));
	rc = sr_file_read_all(key_file, SR_SMALL_FILE_MAX, key_text, err);
	if (rc)
		return rc;
	warn_if_exposed(key_file);
	if (gnutls_x509_privkey_init(&key) < 0)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	d.data = (unsigned char *)key_text->data;
	d.size = (unsigned)key_text->len;
	g = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		gnutls_x509_privkey_deinit(key);
		return sr_fail(err, SR_ECORRUPT,
			       "%s: expected an unencrypted PEM private key: %s",
			       key_file, gnutls_strerror(g));
	}
	*out = key;
	return SR_OK;
}

static int read_cert(const char *cert_file, struct sr_buf *cert_text,
		     gnutls_x509_crt_t *out, struct sr_err *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	int g, rc;

	*out = NULL;
	rc = sr_file_read_all(cert_file, SR_SMALL_FILE_MAX, cert_text, err);
	if (rc)
		return rc;
	if (gnutls_x509_crt_init(&crt) < 0)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	d.data = (unsigned char *)cert_text->data;
	d.size = (unsigned)cert_text->len;
	g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (g < 0) {
		gnutls_x509_crt_deinit(crt);
		return sr_fail(err, SR_ECORRUPT,
			       "%s: expected a PEM X.509 certificate: %s",
			       cert_file, gnutls_strerror(g));
	}
	*out = crt;
	return SR_OK;
}

int sr_tls_load_pair(const char *cert_file, const char *key_file,
		     struct sr_buf *cert_pem, struct sr_buf *key_pem,
		     char pin[SR_TLS_PIN_MAX], struct sr_err *err)
{
	unsigned char cert_hash[crypto_hash_sha256_BYTES];
	unsigned char key_hash[crypto_hash_sha256_BYTES];
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	struct sr_buf key_text, cert_text;
	int rc;

	sr_buf_init(&key_text, 0);
	sr_buf_init(&cert_text, 0);
	rc = read_key(key_file, &key_text, &key, err);
	if (rc == SR_OK)
		rc = read_cert(cert_file, &cert_text, &crt, err);
	if (rc == SR_OK)
		rc = cert_key_hash(crt, cert_file, cert_hash, err);
	if (rc == SR_OK)
		rc = private_key_hash(key, key_file, key_hash, err);
	if (rc)
		goto out;
	if (sodium_memcmp(cert_hash, key_hash, sizeof(cert_hash)) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "%s: the certificate is not for the key in %s",
			     cert_file, key_file);
		goto out;
	}
	if (pin)
		pin_format(cert_hash, pin);
	if (cert_pem) {
		sr_buf_release(cert_pem);
		*cert_pem = cert_text;
		sr_buf_init(&cert_text, 0);
	}
	if (key_pem) {
		sr_buf_wipe(key_pem);
		*key_pem = key_text;
		sr_buf_init(&key_text, 0);
	}
out:
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	sr_buf_wipe(&key_text);
	sr_buf_release(&cert_text);
	return rc;
}

static int gnutls_failed(struct sr_err *err, const char *what, int g)
{
	if (g == GNUTLS_E_MEMORY_ERROR)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return sr_fail(err, SR_EINTERNAL, "%s: %s", what, gnutls_strerror(g));
}

static int generate_key(gnutls_x509_privkey_t *out, struct sr_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	int g;

	*out = NULL;
	g = gnutls_x509_privkey_init(&key);
	if (g < 0)
		return gnutls_failed(err, "TLS key generation", g);
	g = gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
	if (g < 0) {
		gnutls_x509_privkey_deinit(key);
		return gnutls_failed(err, "TLS key generation", g);
	}
	*out = key;
	return SR_OK;
}

/* A self-signed certificate for key; see tls.h for its contents. */
static int issue_cert(gnutls_x509_privkey_t key, gnutls_x509_crt_t *out,
		      struct sr_err *err)
{
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	unsigned char serial[CERT_SERIAL_BYTES];
	unsigned char key_id[KEY_ID_MAX];
	size_t key_id_len = sizeof(key_id);
	gnutls_x509_crt_t crt = NULL;
	time_t now = time(NULL);
	int g;

	*out = NULL;
	/* Positive, and with a non-zero first byte so DER keeps all 16. */
	randombytes_buf(serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	g = gnutls_x509_crt_init(&crt);
	if (g < 0)
		return gnutls_failed(err, "TLS certificate", g);
	if ((g = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (g = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (g = gnutls_x509_crt_set_activation_time(crt, now - CERT_BACKDATE_S)) < 0 ||
	    (g = gnutls_x509_crt_set_expiration_time(crt,
			now + (time_t)CERT_VALID_DAYS * 86400)) < 0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
			CERT_COMMON_NAME, sizeof(CERT_COMMON_NAME) - 1)) < 0 ||
	    (g = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
			CERT_DNS_NAME, sizeof(CERT_DNS_NAME) - 1,
			GNUTLS_FSAN_APPEND)) < 0 ||
	    (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
			loopback, sizeof(loopback), GNUTLS_FSAN_APPEND)) < 0 ||
	    (g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
			0)) < 0 ||
	    (g = gnutls_x509_crt_get_key_id(crt, 0, key_id, &key_id_len)) < 0 ||
	    (g = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_len)) < 0 ||
	    (g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
		gnutls_x509_crt_deinit(crt);
		return gnutls_failed(err, "TLS certificate", g);
	}
	*out = crt;
	return SR_OK;
}

/* Write a datum through sr_file_write_atomic, then wipe and free it. */
static int write_datum(const char *path, gnutls_datum_t *d, int mode,
		       struct sr_err *err)
{
	int rc = sr_file_write_atomic(path, d->data, d->size, mode, err);

	datum_wipe(d);
	return rc;
}

int sr_tls_ensure_cert(const char *dir, char pin[SR_TLS_PIN_MAX],
		       struct sr_err *err)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	struct sr_buf key_path, cert_path, key_text;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	int have_key, have_cert, g, rc;

	sr_buf_init(&key_path, 0);
	sr_buf_init(&cert_path, 0);
	sr_buf_init(&key_text, 0);
	rc = sr_path_join(&key_path, dir, SR_TLS_KEY_FILE);
	if (rc == SR_OK)
		rc = sr_path_join(&cert_path, dir, SR_TLS_CERT_FILE);
	if (rc) {
		rc = sr_fail(err, rc, "%s: %s", dir, sr_strerror(rc));
		goto out;
	}
	have_key = sr_path_exists(key_path.data);
	have_cert = sr_path_exists(cert_path.data);
	if (have_key && have_cert) {
		rc = sr_tls_load_pair(cert_path.data, key_path.data, NULL, NULL,
				      pin, err);
		goto out;
	}
	if (have_cert) {
		rc = sr_fail(err, SR_EINVAL,
			     "%s exists but its key %s does not: remove the "
			     "certificate to make a new pair (nodes then need the "
			     "new pin)", cert_path.data, key_path.data);
		goto out;
	}
	if (have_key) {
		/* A crash between the two writes below: re-issue, same pin. */
		rc = read_key(key_path.data, &key_text, &key, err);
		if (rc)
			goto out;
		sr_log_warn("%s: missing; issuing a new certificate for %s "
			    "(the pin does not change)", cert_path.data,
			    key_path.data);
	} else {
		rc = sr_mkdir_p(dir, 0700, err);
		if (rc == SR_OK)
			rc = generate_key(&key, err);
		if (rc)
			goto out;
		g = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
						      NULL, GNUTLS_PKCS_PLAIN, &pem);
		if (g < 0) {
			rc = gnutls_failed(err, "TLS key export", g);
			goto out;
		}
		rc = write_datum(key_path.data, &pem, 0600, err);
		if (rc)
			goto out;
	}
	rc = issue_cert(key, &crt, err);
	if (rc)
		goto out;
	g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem);
	if (g < 0) {
		rc = gnutls_failed(err, "TLS certificate export", g);
		goto out;
	}
	rc = write_datum(cert_path.data, &pem, 0644, err);
	if (rc == SR_OK)
		rc = cert_key_hash(crt, cert_path.data, hash, err);
	if (rc)
		goto out;
	pin_format(hash, pin);
	sr_log_info("tls: wrote %s and %s", key_path.data, cert_path.data);
out:
	datum_wipe(&pem);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	sr_buf_wipe(&key_text);
	sr_buf_release(&key_path);
	sr_buf_release(&cert_path);
	return rc;
}
