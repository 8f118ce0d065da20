/*
 * mask.h - a column's "mask" (DESIGN §6, docs/policy.md) applied wherever
 * a kind reveals the column's values: anonymize's released sa and public
 * columns, psi's intersection keys, the query kind's masked group keys
 * (truncate and range only: groups are the labels of the key's public
 * domain, docs/protocols/query.md).
 *
 *   hash         a keyed BLAKE2b (libsodium crypto_generichash) of the
 *                value's text, 32 hex digits; the key is derived from the
 *                owner's mask secret per dataset and per receiver
 *                (sr_kind_mask_key), so hashes of one release cannot be
 *                joined with another receiver's or another dataset's
 *   truncate:N   the first N characters (UTF-8 code points) of a string
 *   range:W      the bucket [lo, lo + W) holding a number, lo a multiple
 *                of W, as text ("[20, 30)")
 *
 * A masked value is a string; NULL stays NULL.  A column without a mask
 * is returned as it is.  Keys are 32 bytes and secret: callers wipe them
 * (sodium_memzero) when done.
 */
#ifndef SR_KINDS_MASK_H
#define SR_KINDS_MASK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "kinds/kind.h"
#include "policy/policy.h"
#include "store/vec.h"

#define SR_MASK_KEY_BYTES 32
/* Hex digits of a hash mask (16 bytes of BLAKE2b). */
#define SR_MASK_HASH_HEX 32

/*
 * The hash-mask key of dataset (its "org.name") revealed to receiver (an
 * org id), derived from the owner's 32-byte mask secret (a sub-key of
 * its master key, SR_SUBKEY_MASKS): keyed BLAKE2b over a context string,
 * the dataset and the receiver.  Runners call it for ctx->mask_key.
 */
void sr_mask_derive_key(const uint8_t secret[32], const char *dataset,
			const char *receiver, uint8_t key[SR_MASK_KEY_BYTES]);

/*
 * The hash-mask key for column col of local input `input` revealed to
 * `receiver`, from the runner (ctx->mask_key), by the column's
 * hash_scope: per dataset and receiver (the default), per dataset (every
 * receiver of the dataset gets the same hashes), or per owner (every
 * dataset of the owner whose column has this scope hashes alike, so they
 * join).  SR_EPERM for an input of another organization, SR_EINTERNAL
 * when the runner has no mask secret.
 */
int sr_kind_mask_key(const struct sr_kind_ctx *c, size_t input,
		     const struct sr_policy_column *col, const char *receiver,
		     uint8_t key[SR_MASK_KEY_BYTES], struct sr_err *err) SR_WUR;

/* Whether revealing column col needs a key (its mask is hash). */
int sr_mask_needs_key(const struct sr_policy_column *col);

/*
 * Mask text (len bytes, the value's canonical text) of column col, appended
 * to out.  key is needed for hash masks only (else may be NULL).
 */
int sr_mask_text(const struct sr_policy_column *col,
		 const uint8_t key[SR_MASK_KEY_BYTES], const char *text,
		 size_t len, struct sr_buf *out, struct sr_err *err) SR_WUR;

/*
 * Mask every value of in into out (initialized by this call; a string
 * vector when col has a mask, else a copy of in).  Free out with
 * sr_vec_release.
 */
int sr_mask_vec(const struct sr_policy_column *col,
		const uint8_t key[SR_MASK_KEY_BYTES], const struct sr_vec *in,
		struct sr_vec *out, struct sr_err *err) SR_WUR;

/*
 * Mask one JSON scalar of column col (the form results carry: strings,
 * integers, reals, booleans, null): *out is a new reference, the masked
 * string, or in itself (a new reference) when col has no mask or in is
 * null.
 */
int sr_mask_json(const struct sr_policy_column *col,
		 const uint8_t key[SR_MASK_KEY_BYTES], json_t *in,
		 json_t **out, struct sr_err *err) SR_WUR;

#endif
