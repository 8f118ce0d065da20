/*
 * kkrt.h - internals of the OT-extension PSI (KKRT16) beside ECDH-PSI:
 * base OT (ot.c), the OT extension and OPRF over a pseudorandom code
 * (otext.c), cuckoo and simple hashing (cuckoo.c) and the protocol run
 * over a PSI link (kkrt.c).  Not part of the API (psi.h); the protocol,
 * its parameters and its leakage: docs/protocols/psi.md, "KKRT".
 */
#ifndef SR_PSI_KKRT_H
#define SR_PSI_KKRT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "crypto/aes.h"
#include "psi/psi_int.h"

#define SR_KKRT_WIDTH 512                 /* code width w = 4 x 128 bits */
#define SR_KKRT_ROW (SR_KKRT_WIDTH / 8)   /* bytes in one row of the matrix */
#define SR_KKRT_HASHES 3                  /* cuckoo hash functions */
#define SR_KKRT_BATCH 8192                /* bins per U message (multiple of 128) */
#define SR_KKRT_SEED_BYTES 32
#define SR_KKRT_OT_KEY 16                 /* bytes of a base-OT key (an AES key) */
#define SR_KKRT_ITEM 16                   /* an OPRF input block */

/* Domain tags (docs/internals/crypto.md registry). */
#define SR_KKRT_OT_DOMAIN "sealroom.psi.kkrt.ot.v1"
#define SR_KKRT_KEYS_DOMAIN "sealroom.psi.kkrt.keys.v1"

/* ---- ot.c: base OT (Chou-Orlandi "simplest OT", semi-honest) ----------- */

/*
 * ctx (32 bytes, the run's parameter digest) and the index j are hashed
 * into every key, so keys of two runs or two OTs never coincide.
 */
struct sr_ot_sender {
	uint8_t a[SR_SCALAR_BYTES];    /* secret; wiped on release */
	uint8_t A[SR_POINT_BYTES];     /* a*G, sent */
	uint8_t aA[SR_POINT_BYTES];    /* a*A */
};

/* Draw a and compute A = a*G. */
void sr_ot_sender_init(struct sr_ot_sender *s);
void sr_ot_sender_release(struct sr_ot_sender *s);
/*
 * The sender's two keys of each of the n OTs from the receiver's points
 * B[0..n) (32 bytes each): k0[j] = H(j, A, B_j, a*B_j), k1[j] = H(j, A,
 * B_j, a*B_j - a*A).  SR_EPROTO naming the OT if a B_j is not a canonical
 * encoding or is the identity.
 */
int sr_ot_sender_keys(const struct sr_ot_sender *s, const uint8_t ctx[32],
		      const uint8_t *B, size_t n, uint8_t *k0, uint8_t *k1,
		      struct sr_pool *pool, struct sr_err *err) SR_WUR;
/*
 * Receiver with choice bits choice[0..n) (bit j of byte j/8): B[j] =
 * b_j*G + c_j*A (selected in constant time) and key[j] = H(j, A, B_j,
 * b_j*A) = k_{c_j}[j].  SR_EPROTO if A is not a canonical encoding or is
 * the identity.
 */
int sr_ot_receiver(const uint8_t ctx[32], const uint8_t A[SR_POINT_BYTES],
		   const uint8_t *choice, size_t n, uint8_t *B, uint8_t *key,
		   struct sr_pool *pool, struct sr_err *err) SR_WUR;

/* ---- otext.c: the extension, the code and the hash --------------------- */

/*
 * Bit matrices are rows of bytes, bit k of a row is bit k%8 of byte k/8.
 * Transpose the rows x cols matrix in (both multiples of 128) into out
 * (cols x rows), in 128 x 128 tiles, on the pool.
 */
void sr_kkrt_transpose(const uint8_t *in, size_t rows, size_t cols,
		       uint8_t *out, struct sr_pool *pool);

/* Keys of a run, all derived from the receiver's seed. */
struct sr_kkrt_keys {
	uint8_t code[4][SR_AES_KEYBYTES];   /* C(x) = E_k0(x) | .. | E_k3(x) */
	uint8_t bins[SR_AES_KEYBYTES];      /* the three cuckoo hash functions */
	uint8_t hash[SR_AES_KEYBYTES];      /* the correlation-robust hash */
};
void sr_kkrt_keys_derive(struct sr_kkrt_keys *k,
			 const uint8_t seed[SR_KKRT_SEED_BYTES]);

/* Per-task AES contexts for the code and the hash. */
struct sr_kkrt_aes {
	struct sr_aes code[4];
	struct sr_aes hash;
};
int sr_kkrt_aes_init(struct sr_kkrt_aes *a, const struct sr_kkrt_keys *k,
		     struct sr_err *err) SR_WUR;
void sr_kkrt_aes_release(struct sr_kkrt_aes *a);
/* rows[i] (64 bytes) = C(blocks[i]) for i < n. */
void sr_kkrt_code(struct sr_kkrt_aes *a, const uint8_t *blocks, size_t n,
		  uint8_t *rows);
/* out[i] (16 bytes) = H(bin[i], rows[i]): fixed-key AES, chained over
 * the four 128-bit words of the row with the orthomorphism of GKWY20. */
void sr_kkrt_hash(struct sr_kkrt_aes *a, const uint64_t *bin,
		  const uint8_t *rows, size_t n, uint8_t *out);

/*
 * The extension matrices of one side.  The OPRF receiver holds both
 * base-OT keys of each column (prg0, prg1); the OPRF sender holds
 * prg0 = the key of its choice bit s_j and s itself.  Column j is the
 * AES-CTR stream of its key, consumed batch by batch.
 */
struct sr_kkrt_ext {
	struct sr_aes prg0[SR_KKRT_WIDTH];
	struct sr_aes prg1[SR_KKRT_WIDTH];   /* receiver only */
	uint8_t s[SR_KKRT_ROW];              /* sender only; wiped */
	int receiver;
	uint8_t *cols;        /* WIDTH x BATCH/8: columns of one batch */
	uint8_t *cols2;       /* receiver: T0 ^ T1 */
	struct sr_pool *pool;
};

/* keys0/keys1: WIDTH x 16 bytes (keys1 NULL for the sender, which passes
 * its s).  SR_ENOMEM / SR_ECRYPTO. */
int sr_kkrt_ext_init(struct sr_kkrt_ext *x, const uint8_t *keys0,
		     const uint8_t *keys1, const uint8_t s[SR_KKRT_ROW],
		     struct sr_pool *pool, struct sr_err *err) SR_WUR;
void sr_kkrt_ext_release(struct sr_kkrt_ext *x);
/*
 * Receiver, next batch of nbins (a multiple of 128, at most BATCH):
 * t (nbins x 64) = rows of T0, and u (nbins x 64) = rows of T0 ^ T1,
 * to which the caller adds C(x) of each bin before sending.
 */
void sr_kkrt_ext_recv_batch(struct sr_kkrt_ext *x, size_t nbins, uint8_t *t,
			    uint8_t *u);
/* Sender, next batch: q (nbins x 64) = rows of G ^ (u & s), so that
 * q_i = t_i ^ (C(x_i) & s). */
void sr_kkrt_ext_send_batch(struct sr_kkrt_ext *x, size_t nbins,
			    const uint8_t *u, uint8_t *q);

/* ---- cuckoo.c ----------------------------------------------------------- */

/* Bins for n receiver items: the stash-less 3-hash table of PSWW18's fit
 * for failure <= 2^-40, rounded up to a multiple of 128 (at least 128). */
uint64_t sr_kkrt_bins(uint64_t n);

/* The three bins of each item (16-byte blocks of item ids):
 * bins[3i + h] = h-th bin of item i. */
void sr_kkrt_item_bins(struct sr_aes *binkey, const uint8_t *ids, size_t n,
		       uint64_t m, uint32_t *bins);

#define SR_KKRT_EMPTY UINT32_MAX

/*
 * Cuckoo-insert items 0..n-1 with their bins (sr_kkrt_item_bins) into a
 * table of m slots: slot[b] = item or SR_KKRT_EMPTY, hidx[b] = the hash
 * function that placed it.  A random walk of at most max_kicks evictions
 * per item; SR_ELIMIT "cuckoo hashing failed" if an item finds no place
 * (probability <= 2^-40 with m = sr_kkrt_bins(n)).
 */
int sr_kkrt_cuckoo(const uint32_t *bins, size_t n, uint64_t m,
		   unsigned max_kicks, uint32_t *slot, uint8_t *hidx,
		   struct sr_err *err) SR_WUR;

/*
 * Simple hashing (sender): every (item, h) pair in the order of its bin:
 * start[b] .. start[b+1] index entries[], whose values are 3*item + h.
 * start has m + 1 entries, entries 3n.
 */
void sr_kkrt_simple(const uint32_t *bins, size_t n, uint64_t m,
		    uint32_t *start, uint32_t *entries);

/* ---- kkrt.c: the protocol over a PSI pair (after the hello) ------------ */

/*
 * Receiver: everything up to the match.  Fills pr->own_tags (our tags in
 * our order) and match[i] = the sender position of our position i, or
 * SR_PSI_POS_NONE; *matched = the number matched.
 */
int sr_psi_kkrt_receive(struct sr_psi_pair *pr, struct sr_psi_set *set,
			const struct sr_psi_params *p, uint32_t *match,
			uint64_t *matched, struct sr_err *err) SR_WUR;
/* Sender: everything up to (and with) its tags. */
int sr_psi_kkrt_send(struct sr_psi_pair *pr, struct sr_psi_set *set,
		     const struct sr_psi_params *p, struct sr_err *err) SR_WUR;

#endif
