/*
 * tls.h - the coordinator's TLS identity (DESIGN §7): a self-signed
 * certificate that sealroom makes itself, and the pin by which nodes
 * recognise it.  There is no CA: a node trusts the coordinator because the
 * SHA-256 hash of the certificate's public key equals the pin it was given
 * (`--pin`).  See docs/internals/tls.md.
 *
 * The pin has exactly the format of libcurl's CURLOPT_PINNEDPUBLICKEY:
 *     "sha256//" + base64(SHA-256(DER SubjectPublicKeyInfo))
 * e.g. "sha256//jW74hrKAi8qtlpi1z5JsfdJFOiucrFoweCgaHTHtBaE=".  Since it
 * hashes the public key only, a certificate re-issued for the same key
 * keeps the pin.
 */
#ifndef SR_TLS_H
#define SR_TLS_H

#include "base/buf.h"
#include "base/err.h"

/* File names inside the directory given to sr_tls_ensure_cert. */
#define SR_TLS_KEY_FILE "tls-key.pem"
#define SR_TLS_CERT_FILE "tls-cert.pem"

#define SR_TLS_PIN_PREFIX "sha256//"
#define SR_TLS_PIN_B64_LEN 44   /* base64 of 32 bytes, with one '=' */
#define SR_TLS_PIN_LEN (sizeof(SR_TLS_PIN_PREFIX) - 1 + SR_TLS_PIN_B64_LEN)
#define SR_TLS_PIN_MAX (SR_TLS_PIN_LEN + 1)   /* with the NUL */

/*
 * Make sure DIR/tls-key.pem and DIR/tls-cert.pem exist and form a pair, and
 * write the pin of the key to pin (NUL-terminated).
 *
 * - Neither file exists: generate an ECDSA P-256 key and a self-signed X.509
 *   v3 certificate for it (CN "sealroom coordinator", subjectAltName
 *   IP:127.0.0.1 and DNS:localhost, valid ten years, random serial), and
 *   write both atomically, the key first with mode 0600.  DIR is created
 *   (0700) if missing.
 * - Both exist: load them; a file that is not PEM, or a certificate that
 *   does not belong to the key, fails with SR_ECORRUPT naming the file.
 * - Only the key exists (a crash between the two writes): issue a new
 *   certificate for it; the pin does not change.
 * - Only the certificate exists: SR_EINVAL; the key is gone, so the pin
 *   must change, which is left to the operator (remove the certificate).
 *
 * Nothing of the key leaves this function; its copies in memory are wiped.
 */
int sr_tls_ensure_cert(const char *dir, char pin[SR_TLS_PIN_MAX],
		       struct sr_err *err) SR_WUR;

/*
 * Read a certificate and a key (PEM files), check that the certificate
 * belongs to the key, and compute the pin.  cert_pem and key_pem
 * (initialized by the caller; either may be NULL when not wanted) receive
 * the files' contents, NUL-terminated; the caller releases cert_pem and
 * wipes key_pem with sr_buf_wipe().  pin may be NULL.  Errors name the file
 * (SR_ENOTFOUND, SR_EIO, SR_ELIMIT, SR_ECORRUPT).
 */
int sr_tls_load_pair(const char *cert_file, const char *key_file,
		     struct sr_buf *cert_pem, struct sr_buf *key_pem,
		     char pin[SR_TLS_PIN_MAX], struct sr_err *err) SR_WUR;

/*
 * Check that text is one pin: "sha256//" followed by the 44-character
 * standard base64 (with padding) of 32 bytes.  SR_EINVAL with a message
 * saying what is wrong otherwise.  Lists of pins (curl's "a;b") are not
 * accepted: a node pins exactly one coordinator key.
 */
int sr_tls_pin_parse(const char *text, struct sr_err *err) SR_WUR;

#endif
