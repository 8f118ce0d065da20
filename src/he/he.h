/*
 * he.h - additively homomorphic encryption: Paillier on GMP (DESIGN §15).
 *
 *   keys        n = p·q with |p| = |q| = bits/2, |n| = bits exactly (2048 by
 *               default, 3072 optional), g = 1 + n
 *   encryption  DJN: the public key carries hs = h^n mod n², h = −x² mod n;
 *               c = (1 + m·n) · hs^r mod n² with a short random exponent r of
 *               SR_HE_R_BITS(bits) bits, hs^r from a fixed-base window table
 *               built once per key (read-only, shared by threads), or from a
 *               pool of randomizers precomputed by idle pool threads
 *   decryption  CRT mod p² and q², mpz_powm_sec for the secret exponents
 *   operations  ct + ct, ct + plaintext, ct · scalar (signed), rerandomize,
 *               Σ ct_i^{k_i} (Pippenger), batches over the thread pool
 *   encoding    signed integers (negative x as n − |x|), fixed point (2^f),
 *               packing of several signed values per plaintext with headroom
 *               for a declared number of additions (struct sr_he_packing)
 *   wire        versioned, length-checked binary for keys, ciphertexts and
 *               batches (docs/internals/he.md)
 *
 * Ciphertexts and plaintexts are GMP mpz_t values owned by the caller
 * (mpz_init / mpz_clear).  Every function that takes a ciphertext assumes it
 * is in Z*_{n²}: ciphertexts from outside must come through
 * sr_he_ct_decode / sr_he_batch_decode, which check it.  Secrets (p, q, λ,
 * μ, CRT values, randomizers) live in GMP memory that is wiped when freed
 * (sr_he installs wiping GMP allocation functions on first use; GMP
 * allocation failure is fatal, our own allocations return SR_ENOMEM).
 *
 * Thread safety: a public key is read-only after creation except for its
 * randomizer pool (sr_he_pool_*, sr_he_encrypt_fast), which is locked.  All
 * functions taking a const key may run concurrently on the same key.
 */
#ifndef SR_HE_H
#define SR_HE_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/pool.h"

/* Supported modulus sizes. */
#define SR_HE_BITS_DEFAULT 2048
#define SR_HE_BITS_STRONG 3072

/*
 * Length of the short DJN exponent r: 448 bits for 2048-bit n (112-bit
 * security), 512 bits for 3072-bit n (128-bit); see docs/internals/he.md.
 */
#define SR_HE_R_BITS(bits) ((bits) >= 3072 ? 512u : 448u)

struct sr_he_pk; /* public key (+ its tables and randomizer pool) */
struct sr_he_sk; /* secret key; shares its public key (reference-counted) */

/* ---- keys ---------------------------------------------------------------- */

/*
 * Generate a key pair of exactly `bits` bits (2048 or 3072).  pool (may be
 * NULL) builds the fixed-base table in parallel.  Checks |n| = bits, p ≠ q,
 * gcd(n, φ(n)) = 1.  *pk and *sk are freed with sr_he_pk_free/sr_he_sk_free.
 */
int sr_he_keygen(unsigned bits, struct sr_pool *pool, struct sr_he_pk **pk,
		 struct sr_he_sk **sk, struct sr_err *err) SR_WUR;

/*
 * The same from given primes and the DJN base x (h = −x² mod n): for
 * known-answer tests and for loading.  Any bits that is a multiple of 64
 * from 128 to 4096 is accepted here (small keys for tests); refuses p = q,
 * non-primes, |n| ≠ bits, gcd(n, φ) ≠ 1, x ∉ Z*_n.  pk may be NULL when
 * only the secret key is wanted.
 */
int sr_he_keygen_from(unsigned bits, const mpz_t p, const mpz_t q,
		      const mpz_t x, struct sr_pool *pool, struct sr_he_pk **pk,
		      struct sr_he_sk **sk, struct sr_err *err) SR_WUR;

/*
 * The same for a size the caller chose: 2048, 3072, or — for the tests of
 * protocols built on this library, where 2048-bit key generation per run
 * would dominate — any multiple of 64 from SR_HE_BITS_TEST_MIN to 4096.
 * Production callers use sr_he_keygen.
 */
#define SR_HE_BITS_TEST_MIN 1024u
int sr_he_keygen_sized(unsigned bits, struct sr_pool *pool, struct sr_he_pk **pk,
		       struct sr_he_sk **sk, struct sr_err *err) SR_WUR;

/* Free a key, wiping its secrets and randomizers; waits for the pool
 * fillers of the key to stop.  NULL is fine. */
void sr_he_pk_free(struct sr_he_pk *pk);
void sr_he_sk_free(struct sr_he_sk *sk);

/* The public key inside a secret key (borrowed, valid as long as sk). */
struct sr_he_pk *sr_he_sk_pk(const struct sr_he_sk *sk);

/* Borrowed views of the public modulus; valid as long as pk. */
mpz_srcptr sr_he_pk_n(const struct sr_he_pk *pk);
mpz_srcptr sr_he_pk_n2(const struct sr_he_pk *pk);
/* |n| in bits. */
unsigned sr_he_pk_bits(const struct sr_he_pk *pk);
/* Bytes of one serialized ciphertext: |n²| / 8 (512 for 2048-bit n). */
size_t sr_he_ct_bytes(const struct sr_he_pk *pk);
/* Whether two keys have the same n and hs. */
int sr_he_pk_equal(const struct sr_he_pk *a, const struct sr_he_pk *b);

/* ---- encryption / decryption -------------------------------------------- */

/* c = Enc(m) with a fresh short exponent from the fixed-base table.
 * m must be in [0, n) (use the encoders for signed values). */
int sr_he_encrypt(const struct sr_he_pk *pk, const mpz_t m, mpz_t c,
		  struct sr_err *err) SR_WUR;

/* c = (1 + m·n) · hs^r mod n² with the given exponent r ∈ [0, 2^R_BITS):
 * fixed randomness for known-answer tests. */
int sr_he_encrypt_with(const struct sr_he_pk *pk, const mpz_t m,
		       const mpz_t r, mpz_t c, struct sr_err *err) SR_WUR;

/*
 * Encryption by the key's owner: the same c = (1 + m·n) · hs^r mod n² as
 * sr_he_encrypt (same distribution, same wire form), computed mod p² and
 * q² from tables of hs there and recombined (CRT): about half the work.
 * sr_he_sk_encrypt_prepare builds the two tables once (pool may be NULL;
 * 10-bit windows, 3.2 times the public table's size (23.6 MB at 2048
 * bits), secret, wiped with sk); worth it from about 1,000 encryptions; before it,
 * sr_he_encrypt_sk falls back to sr_he_encrypt.  Not thread-safe against
 * itself; sr_he_encrypt_sk may run concurrently once prepared.
 */
int sr_he_sk_encrypt_prepare(struct sr_he_sk *sk, struct sr_pool *pool,
			     struct sr_err *err) SR_WUR;
/*
 * The same with windows of `window` bits, 10 (sr_he_sk_encrypt_prepare's)
 * to SR_HE_CRT_WINDOW_MAX: 12 bits take 38 windows of 4,095 entries (79.7
 * MB at 2048 bits, 3.4 times 10 bits' build), 37 multiplications per
 * exponent instead of 44; worth it from about 2^15 encryptions under one
 * key.  SR_EINVAL for another width; a prepared key is left as it is.
 */
#define SR_HE_CRT_WINDOW_MAX 12u
int sr_he_sk_encrypt_prepare_window(struct sr_he_sk *sk, struct sr_pool *pool,
				    unsigned window, struct sr_err *err) SR_WUR;
int sr_he_encrypt_sk(const struct sr_he_sk *sk, const mpz_t m, mpz_t c,
		     struct sr_err *err) SR_WUR;
/* The same with the given exponent r ∈ [0, 2^R_BITS): equal to
 * sr_he_encrypt_with(pk, m, r) (for the tests). */
int sr_he_encrypt_sk_with(const struct sr_he_sk *sk, const mpz_t m,
			  const mpz_t r, mpz_t c, struct sr_err *err) SR_WUR;

/* Textbook Paillier: c = (1 + m·n) · ρ^n mod n², ρ random in Z*_n (full
 * n-bit exponent, no table).  For comparison in bench/he. */
int sr_he_encrypt_textbook(const struct sr_he_pk *pk, const mpz_t m, mpz_t c,
			   struct sr_err *err) SR_WUR;

/*
 * Start filling pk's randomizer pool (values hs^r mod n²) up to `target`
 * entries with tasks on `pool` (which must outlive the key or a
 * sr_he_pool_stop).  Fillers stop when the pool is full and are restarted
 * by sr_he_encrypt_fast when it falls below half.  Calling again changes
 * the target.  SR_EINVAL for target 0 or above SR_HE_POOL_MAX.
 */
#define SR_HE_POOL_MAX ((size_t)1 << 22)
int sr_he_pool_start(struct sr_he_pk *pk, struct sr_pool *pool, size_t target,
		     struct sr_err *err) SR_WUR;
/* Stop the fillers and wait for them; the precomputed entries stay. */
void sr_he_pool_stop(struct sr_he_pk *pk);
/* Entries available now. */
size_t sr_he_pool_available(struct sr_he_pk *pk);
/* Fill synchronously, on the calling thread, up to count entries. */
int sr_he_pool_fill(struct sr_he_pk *pk, size_t count,
		    struct sr_err *err) SR_WUR;

/* Enc(m) using one pooled randomizer (one multiplication mod n²); computes
 * one from the table when the pool is empty. */
int sr_he_encrypt_fast(struct sr_he_pk *pk, const mpz_t m, mpz_t c,
		       struct sr_err *err) SR_WUR;

/* m = Dec(c) ∈ [0, n).  Refuses c ∉ Z*_{n²} (SR_EINVAL) and changes
 * nothing then. */
int sr_he_decrypt(const struct sr_he_sk *sk, const mpz_t c, mpz_t m,
		  struct sr_err *err) SR_WUR;

/* Batches over the pool (pool may be NULL): c[i] = Enc(m[i]), m[i] = Dec(c[i]).
 * Arrays are caller-initialised mpz_t. On failure the first failing index
 * is named in err. */
int sr_he_encrypt_batch(const struct sr_he_pk *pk, struct sr_pool *pool,
			mpz_t *m, mpz_t *c, size_t count,
			struct sr_err *err) SR_WUR;
int sr_he_decrypt_batch(const struct sr_he_sk *sk, struct sr_pool *pool,
			mpz_t *c, mpz_t *m, size_t count,
			struct sr_err *err) SR_WUR;
/* c[i] = Enc(m[i]) by the key's owner (sr_he_encrypt_sk: CRT, from the
 * tables of sr_he_sk_encrypt_prepare when it ran). */
int sr_he_encrypt_sk_batch(const struct sr_he_sk *sk, struct sr_pool *pool,
			   mpz_t *m, mpz_t *c, size_t count,
			   struct sr_err *err) SR_WUR;

/* ---- homomorphic operations (operands: valid ciphertexts) -------------- */

/* out = a · b mod n²: Enc(ma + mb).  out may alias a or b. */
void sr_he_add(const struct sr_he_pk *pk, const mpz_t a, const mpz_t b,
	       mpz_t out);
/* out = a · (1 + (m mod n)·n): Enc(ma + m), m any signed integer. */
void sr_he_add_plain(const struct sr_he_pk *pk, const mpz_t a, const mpz_t m,
		     mpz_t out);
/* out = a^k: Enc(k·ma mod n), k any signed integer (negative via the
 * inverse).  SR_EINVAL if a is not invertible mod n². */
int sr_he_mul_plain(const struct sr_he_pk *pk, const mpz_t a, const mpz_t k,
		    mpz_t out, struct sr_err *err) SR_WUR;
/* out = a · hs^r for a fresh r: the same plaintext, unlinkable. */
int sr_he_rerandomize(const struct sr_he_pk *pk, const mpz_t a, mpz_t out,
		      struct sr_err *err) SR_WUR;

/*
 * out = Π cts[i]^scalars[i] mod n² (Enc(Σ k_i·m_i)), scalars signed, by
 * Pippenger's bucket method (window chosen from count and scalar size).
 * count 0 gives Enc(0) = 1.  Allocates O(2^window) temporaries.
 */
int sr_he_multiexp(const struct sr_he_pk *pk, mpz_t *cts, mpz_t *scalars,
		   size_t count, mpz_t out, struct sr_err *err) SR_WUR;
/* The same by one mpz_powm per term (reference and benchmark baseline). */
int sr_he_multiexp_naive(const struct sr_he_pk *pk, mpz_t *cts,
			 mpz_t *scalars, size_t count, mpz_t out,
			 struct sr_err *err) SR_WUR;

/* ---- encoding ---------------------------------------------------------- */

/* Signed plaintexts: v ∈ [−(n−1)/2, (n−1)/2] ↔ m = v mod n. */
int sr_he_encode_signed(const struct sr_he_pk *pk, const mpz_t v, mpz_t m,
			struct sr_err *err) SR_WUR;
void sr_he_decode_signed(const struct sr_he_pk *pk, const mpz_t m, mpz_t v);
void sr_he_encode_i64(const struct sr_he_pk *pk, int64_t v, mpz_t m);
/* SR_ELIMIT if the signed value does not fit int64_t. */
int sr_he_decode_i64(const struct sr_he_pk *pk, const mpz_t m, int64_t *v,
		     struct sr_err *err) SR_WUR;
/* Fixed point: m = round(x · 2^frac_bits) as a signed plaintext.  Refuses
 * NaN, infinities, frac_bits > SR_HE_FRAC_BITS_MAX, out-of-range values. */
#define SR_HE_FRAC_BITS_MAX 256u
int sr_he_encode_fixed(const struct sr_he_pk *pk, double x,
		       unsigned frac_bits, mpz_t m, struct sr_err *err) SR_WUR;
int sr_he_decode_fixed(const struct sr_he_pk *pk, const mpz_t m,
		       unsigned frac_bits, double *x,
		       struct sr_err *err) SR_WUR;

/*
 * Packing: `slots` signed values of `value_bits` bits (v ∈ [−2^(vb−1),
 * 2^(vb−1) − 1]) in one plaintext, slot i at bits [i·slot_bits,
 * (i+1)·slot_bits).  Each value is stored with the offset 2^(vb−1) so a slot
 * is never negative; a sum of `terms` packed plaintexts holds Σv + terms ·
 * offset per slot, which fits slot_bits = value_bits + ⌈log2(max_terms)⌉
 * for terms ≤ max_terms = additions + 1.  Unpacking subtracts terms·offset.
 */
struct sr_he_packing {
	unsigned value_bits;  /* 1..64 */
	uint64_t max_terms;   /* additions declared + 1 */
	size_t slots;
	unsigned slot_bits;
};

/*
 * Compute a packing for `additions` additions after packing.  slots = 0
 * asks for as many as fit.  Refuses value_bits outside 1..64, additions ≥
 * 2^32, or slots · slot_bits > |n| − 2 (a packed sum must stay below n).
 */
int sr_he_packing_init(struct sr_he_packing *packing,
		       const struct sr_he_pk *pk, unsigned value_bits,
		       uint64_t additions, size_t slots,
		       struct sr_err *err) SR_WUR;
/* Pack count ≤ slots values (missing slots are 0) into plaintext m. */
int sr_he_pack(const struct sr_he_packing *packing, const int64_t *values,
	       size_t count, mpz_t m, struct sr_err *err) SR_WUR;
/*
 * Unpack a plaintext that is the sum of `terms` packed plaintexts into
 * out[0..count) (caller-initialised mpz_t; sums may exceed 64 bits).
 * Refuses terms of 0 or above max_terms, bits above the last slot, and slot
 * values outside the range `terms` values can reach.
 */
int sr_he_unpack(const struct sr_he_packing *packing, const mpz_t m,
		 uint64_t terms, mpz_t *out, size_t count,
		 struct sr_err *err) SR_WUR;

/*
 * A packed ciphertext that counts the packed plaintexts summed into it, so
 * that adding beyond the packing's headroom is refused.
 */
struct sr_he_pct {
	mpz_t c;
	uint64_t terms;
};
void sr_he_pct_init(struct sr_he_pct *pct);
void sr_he_pct_release(struct sr_he_pct *pct);
/* Pack and encrypt (terms = 1). */
int sr_he_pct_encrypt(const struct sr_he_pk *pk,
		      const struct sr_he_packing *packing,
		      const int64_t *values, size_t count,
		      struct sr_he_pct *out, struct sr_err *err) SR_WUR;
/* out = a + b; SR_ELIMIT if a.terms + b.terms > max_terms (out unchanged).
 * out may alias a or b. */
int sr_he_pct_add(const struct sr_he_pk *pk,
		  const struct sr_he_packing *packing,
		  const struct sr_he_pct *a, const struct sr_he_pct *b,
		  struct sr_he_pct *out, struct sr_err *err) SR_WUR;
/* Decrypt and unpack with the tracked term count. */
int sr_he_pct_decrypt(const struct sr_he_sk *sk,
		      const struct sr_he_packing *packing,
		      const struct sr_he_pct *pct, mpz_t *out, size_t count,
		      struct sr_err *err) SR_WUR;

/* ---- serialization (docs/internals/he.md) ------------------------------ */

/* Append the public key: "SRHP" | u8 version | u16be bits | n | hs;
 * sr_he_pk_wire_bytes(bits) bytes. */
size_t sr_he_pk_wire_bytes(unsigned bits);
int sr_he_pk_encode(const struct sr_he_pk *pk, struct sr_buf *out,
		    struct sr_err *err) SR_WUR;
/* Decode exactly len bytes; builds the table (pool may be NULL). */
int sr_he_pk_decode(const uint8_t *in, size_t len, struct sr_pool *pool,
		    struct sr_he_pk **pk, struct sr_err *err) SR_WUR;
/* The same, for a key of exactly `bits` bits: the size the caller asked
 * its peer for (any size sr_he_keygen_sized accepts). */
int sr_he_pk_decode_bits(const uint8_t *in, size_t len, unsigned bits,
			 struct sr_pool *pool, struct sr_he_pk **pk,
			 struct sr_err *err) SR_WUR;
/* Secret key, for local storage only (never on the wire): "SRHS" | u8
 * version | u16be bits | p | q | x.  out should be a buffer that is wiped
 * (sr_buf_wipe) after use. */
int sr_he_sk_encode(const struct sr_he_sk *sk, struct sr_buf *out,
		    struct sr_err *err) SR_WUR;
int sr_he_sk_decode(const uint8_t *in, size_t len, struct sr_pool *pool,
		    struct sr_he_sk **sk, struct sr_err *err) SR_WUR;

/* One ciphertext: exactly sr_he_ct_bytes(pk) bytes, big-endian. */
void sr_he_ct_encode(const struct sr_he_pk *pk, const mpz_t c, uint8_t *out);
/* Refuses len ≠ ct_bytes, c ≥ n², gcd(c, n) ≠ 1. */
int sr_he_ct_decode(const struct sr_he_pk *pk, const uint8_t *in, size_t len,
		    mpz_t c, struct sr_err *err) SR_WUR;

/* Batch: "SRHB" | u8 version | u16be bits | u32be count | count cts. */
int sr_he_batch_encode(const struct sr_he_pk *pk, mpz_t *cts, size_t count,
		       struct sr_buf *out, struct sr_err *err) SR_WUR;
/*
 * Decode a batch of at most max_count ciphertexts into *cts (array of
 * initialised mpz_t, freed with sr_he_cts_free).  Refuses a wrong magic,
 * version, bits (≠ the key's), count above max_count, a length that is not
 * exactly header + count·ct_bytes, and any ciphertext outside Z*_{n²}
 * (naming its index).
 */
int sr_he_batch_decode(const struct sr_he_pk *pk, const uint8_t *in,
		       size_t len, size_t max_count, mpz_t **cts,
		       size_t *count, struct sr_err *err) SR_WUR;
/* Allocate count initialised mpz_t (SR_ENOMEM) / clear and free them. */
int sr_he_cts_new(size_t count, mpz_t **cts, struct sr_err *err) SR_WUR;
void sr_he_cts_free(mpz_t *cts, size_t count);

/*
 * Ciphertexts in Montgomery form (src/he/mont.h), for long chains of
 * additions such as a histogram's bins: an addition is one modular
 * multiplication, where sr_he_add on canonical values takes two plus
 * conversions.  They live only in memory; sr_he_mcts_get gives the
 * canonical ciphertext back, for the wire.  The key must outlive them.
 * Different slots may be used from different threads at once.
 */
struct sr_he_mcts;
int sr_he_mcts_new(const struct sr_he_pk *pk, size_t count,
		   struct sr_he_mcts **out, struct sr_err *err) SR_WUR;
void sr_he_mcts_free(struct sr_he_mcts *v);
/* Slot i = ct (0 <= ct < n², a checked ciphertext). */
void sr_he_mcts_set(struct sr_he_mcts *v, size_t i, const mpz_t ct);
/* ct = slot i, canonical. */
void sr_he_mcts_get(const struct sr_he_mcts *v, size_t i, mpz_t ct);
/* dst slot i = src slot j (copy) / dst slot i ⊕= src slot j (addition). */
void sr_he_mcts_copy(struct sr_he_mcts *dst, size_t i,
		     const struct sr_he_mcts *src, size_t j);
void sr_he_mcts_add(struct sr_he_mcts *dst, size_t i,
		    const struct sr_he_mcts *src, size_t j);

#endif
