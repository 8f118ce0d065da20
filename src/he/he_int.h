/*
 * he_int.h - the layout of src/he's keys, shared by paillier.c, encode.c,
 * multiexp.c and serial.c only.  Nothing outside src/he includes it.
 */
#ifndef SR_HE_INT_H
#define SR_HE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "he/he.h"
#include "he/mont.h"

/* Bits per digit of the public fixed-base table: 2^8 − 1 entries per
 * window (56 windows, 9.1 MB at 2048 bits). */
#define HE_TABLE_WINDOW 8u
/* The owner's tables mod p² and q² (sr_he_sk_encrypt_prepare): entries
 * are half the size, so wider windows: 45 windows of 2^10 − 1 entries,
 * 14.7 MB each at 2048 bits, 44 multiplications per exponent. */
#define HE_CRT_TABLE_WINDOW 10u
/* Randomizers computed per filler task before it yields its thread. */
#define HE_POOL_CHUNK 32u

/* hs^(d · 2^(w·i)) for window i, digit d ∈ [1, 2^w): entry i·(2^w − 1) + d−1,
 * in Montgomery form under m (m->limbs limbs each). */
struct he_table {
	size_t windows;
	unsigned window;   /* w */
	const struct he_mont *m;
	uint64_t *limbs;
};

struct sr_he_pk {
	atomic_uint refs;  /* a keygen's pk is shared with its sk */
	unsigned bits;     /* |n| */
	unsigned r_bits;   /* short exponent length */
	mpz_t n, n2, hs;   /* hs = h^n mod n², h = −x² mod n */
	mpz_t half_n;      /* (n − 1) / 2: the largest signed plaintext */
	struct he_mont mont;  /* mod n² */
	struct he_table table;

	/* The randomizer pool (hs^r values), under lock. */
	pthread_mutex_t lock;
	mpz_t *rand;
	size_t rand_count, rand_cap, rand_target;
	size_t fillers;    /* filler tasks queued or running */
	int stopping;
	struct sr_pool *pool;
	struct sr_pool_group group;
};

struct sr_he_sk {
	struct sr_he_pk *pk;
	mpz_t p, q, x;
	mpz_t p2, q2;        /* p², q² */
	mpz_t pm1, qm1;      /* p − 1, q − 1: the secret exponents */
	mpz_t hp, hq;        /* L_p((1+n)^(p−1) mod p²)^−1 mod p, same for q */
	mpz_t q_inv_p;       /* q^−1 mod p, for the CRT recombination */
	mpz_t q2_inv_p2;     /* (q²)^−1 mod p², for CRT encryption */
	/* hs's table mod p² and mod q² (sr_he_sk_encrypt_prepare; empty
	 * until then): secret, wiped when freed. */
	struct he_table table_p, table_q;
	struct he_mont mont_p, mont_q;  /* mod p², q²: secret */
};

/* Install the wiping GMP allocation functions (idempotent, thread-safe). */
void he_gmp_setup(void);
/* A zeroed public key with its lock and group (NULL: out of memory). */
struct sr_he_pk *he_pk_alloc(void);
/* Fill r_bits, n², (n−1)/2 and the table of a key whose bits, n, hs are set. */
int he_pk_finish(struct sr_he_pk *pk, struct sr_pool *pool,
		 struct sr_err *err) SR_WUR;
/* out = a · b mod n². */
void he_mulmod(const struct sr_he_pk *pk, mpz_t out, const mpz_t a,
	       const mpz_t b);
/* out = base^e mod n² for a public e >= 0 (Montgomery, variable time). */
void he_powm(const struct sr_he_pk *pk, mpz_t out, const mpz_t base,
	     const mpz_t e);
/* Whether c ∈ Z*_{n²}: 0 < c < n², gcd(c, n) = 1; else fills err. */
int he_check_ct(const struct sr_he_pk *pk, const mpz_t c, const char *what,
		struct sr_err *err) SR_WUR;
/*
 * Signed exponent k as (base', e) with e ∈ [0, n/2]: k mod n, and if that
 * exceeds n/2, base' = base^−1 and e = n − (k mod n).  SR_EINVAL if base
 * is not invertible.
 */
int he_signed_exponent(const struct sr_he_pk *pk, const mpz_t base,
		       const mpz_t k, mpz_t base_out, mpz_t e_out,
		       struct sr_err *err) SR_WUR;
/* Read len big-endian bytes into v / write v as exactly len bytes. */
void he_import(mpz_t v, const uint8_t *in, size_t len);
void he_export(const mpz_t v, uint8_t *out, size_t len);

#endif
