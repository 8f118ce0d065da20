/*
 * bench_he.c - Paillier-2048 per-operation times on one core (issue 11's
 * HE benchmark; run through bench/he, not a timed test).
 *
 *   encrypt_table    Enc with hs^r from the fixed-base table (DJN)
 *   encrypt_sk_crt   the same ciphertext by the key's owner: mod p² and q² from
 *                    tables there (sr_he_encrypt_sk), and its ratio to the above
 *   encrypt_pool     Enc with a precomputed randomizer (the online cost)
 *   encrypt_textbook Enc with ρ^n mod n² (GMP mpz_powm_sec, full exponent)
 *   decrypt          CRT decryption (constant-time fixed windows mod p² and
 *                    q², in lockstep on the IFMA kernel)
 *   add              ct · ct mod n² on canonical values (sr_he_add)
 *   add_mont         the same on ciphertexts kept in Montgomery form
 *                    (sr_he_mcts_add: how long sums run, e.g. histograms)
 *   mul_plain        ct^k for a signed 64-bit k
 *   multiexp         Π ct_i^k_i over 1024 terms, 64-bit signed k, per term,
 *                    Pippenger against one mpz_powm per term (naive)
 *
 * One line per figure: "bench he op=... bits=2048 us=... wall_us=...
 * [target_us=... met|missed] load1/5/15=...".  us is the CPU time of the
 * one benchmarking thread per operation (the machine is shared: wall time
 * includes other processes' turns), wall_us the elapsed time.  Every result is checked by decryption, so a fast wrong
 * answer cannot pass.  usage: bench_he [bits] [scale]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "he/he.h"

#define MULTIEXP_TERMS 1024

/* Per-operation CPU time (this thread) and wall time, in µs. */
struct timing {
	double cpu_us, wall_us;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What every timed loop runs: one operation on the bench state. */
struct bench {
	struct sr_he_pk *pk;
	struct sr_he_sk *sk;
	mpz_t m, c, acc, k;
	mpz_t *cts, *ks;
	struct sr_he_mcts *mcts;  /* slot 0: the sum, slot 1: c */
};
typedef int (*bench_op)(struct bench *b, struct sr_err *err);

static void die(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "bench_he: %s: %s\n", what, err->msg);
	exit(1);
}

static struct timing time_op(struct bench *b, long reps, bench_op op,
			     const char *name)
{
	struct sr_err err = { 0 };
	double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	double wall0 = clock_s(CLOCK_MONOTONIC);
	struct timing t;

	for (long i = 0; i < reps; i++)
		if (op(b, &err))
			die(name, &err);
	t.cpu_us = (clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0) * 1e6 / (double)reps;
	t.wall_us = (clock_s(CLOCK_MONOTONIC) - wall0) * 1e6 / (double)reps;
	return t;
}

static const char *load(void)
{
	static char buf[64];
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (f) {
		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
			a = b = c = 0;
		fclose(f);
	}
	snprintf(buf, sizeof(buf), "%.2f/%.2f/%.2f", a, b, c);
	return buf;
}

static void line(const char *op, unsigned bits, struct timing t,
		 double target_us, const char *extra)
{
	printf("bench he op=%s bits=%u us=%.2f wall_us=%.2f", op, bits, t.cpu_us,
	       t.wall_us);
	if (target_us > 0)
		printf(" target_us=%.0f %s", target_us,
		       t.cpu_us <= target_us ? "met" : "missed");
	printf("%s%s load1/5/15=%s\n", extra ? " " : "", extra ? extra : "", load());
	fflush(stdout);
}

/* Fail unless Dec(c) = want mod n. */
static void check(const struct sr_he_sk *sk, const mpz_t c, const mpz_t want)
{
	struct sr_err err = { 0 };
	mpz_t m, w;

	mpz_inits(m, w, NULL);
	if (sr_he_decrypt(sk, c, m, &err))
		die("decrypt", &err);
	mpz_mod(w, want, sr_he_pk_n(sr_he_sk_pk(sk)));
	if (mpz_cmp(m, w) != 0) {
		fprintf(stderr, "bench_he: wrong result\n");
		exit(1);
	}
	mpz_clears(m, w, NULL);
}

static int op_encrypt_table(struct bench *b, struct sr_err *err)
{
	return sr_he_encrypt(b->pk, b->m, b->c, err);
}

static int op_encrypt_pool(struct bench *b, struct sr_err *err)
{
	return sr_he_encrypt_fast(b->pk, b->m, b->c, err);
}

static int op_encrypt_sk(struct bench *b, struct sr_err *err)
{
	return sr_he_encrypt_sk(b->sk, b->m, b->c, err);
}

static int op_encrypt_textbook(struct bench *b, struct sr_err *err)
{
	return sr_he_encrypt_textbook(b->pk, b->m, b->c, err);
}

static int op_decrypt(struct bench *b, struct sr_err *err)
{
	return sr_he_decrypt(b->sk, b->c, b->acc, err);
}

static int op_add(struct bench *b, struct sr_err *err)
{
	sr_he_add(b->pk, b->acc, b->c, b->acc);
	return SR_OK;
}

static int op_add_mont(struct bench *b, struct sr_err *err)
{
	(void)err;
	sr_he_mcts_add(b->mcts, 0, b->mcts, 1);
	return SR_OK;
}

static int op_mul_plain(struct bench *b, struct sr_err *err)
{
	return sr_he_mul_plain(b->pk, b->c, b->k, b->acc, err);
}

static int op_multiexp(struct bench *b, struct sr_err *err)
{
	return sr_he_multiexp(b->pk, b->cts, b->ks, MULTIEXP_TERMS, b->acc, err);
}

static int op_multiexp_naive(struct bench *b, struct sr_err *err)
{
	return sr_he_multiexp_naive(b->pk, b->cts, b->ks, MULTIEXP_TERMS, b->acc,
				 err);
}

static int op_keygen(struct bench *b, struct sr_err *err)
{
	return sr_he_keygen((unsigned)mpz_get_ui(b->k), NULL, &b->pk, &b->sk, err);
}

int main(int argc, char **argv)
{
	unsigned bits = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2048;
	long scale = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
	struct bench b;
	struct sr_err err = { 0 };
	struct timing t, table, textbook, pippenger, naive;
	mpz_t want, *ms;
	char extra[128];
	gmp_randstate_t rs;

	if (sr_crypto_init() != SR_OK || scale < 1)
		return 1;
	gmp_randinit_default(rs);
	gmp_randseed_ui(rs, 11);
	mpz_inits(b.m, b.c, b.acc, b.k, want, NULL);

	mpz_set_ui(b.k, bits);
	line("keygen_and_table", bits, time_op(&b, 1, op_keygen, "keygen"), 0, NULL);

	mpz_urandomm(b.m, rs, sr_he_pk_n(b.pk));
	table = time_op(&b, 400 * scale, op_encrypt_table, "encrypt_table");
	check(b.sk, b.c, b.m);
	line("encrypt_table", bits, table, 500, NULL);

	/* by the key's owner: CRT from tables mod p² and q² (built once) */
	if (sr_he_sk_encrypt_prepare(b.sk, NULL, &err))
		die("encrypt_sk prepare", &err);
	t = time_op(&b, 400 * scale, op_encrypt_sk, "encrypt_sk");
	check(b.sk, b.c, b.m);
	snprintf(extra, sizeof(extra), "over_table=%.2f", t.cpu_us / table.cpu_us);
	line("encrypt_sk_crt", bits, t, 500, extra);
	/* the pool is filled beforehand (idle threads' work), not timed */
	if (sr_he_pool_fill(b.pk, (size_t)(2000 * scale), &err))
		die("pool fill", &err);
	t = time_op(&b, 2000 * scale, op_encrypt_pool, "encrypt_pool");
	check(b.sk, b.c, b.m);
	line("encrypt_pool", bits, t, 10, NULL);

	textbook = time_op(&b, 40 * scale, op_encrypt_textbook, "encrypt_textbook");
	check(b.sk, b.c, b.m);
	snprintf(extra, sizeof(extra), "table_speedup=%.1f",
		 textbook.cpu_us / table.cpu_us);
	line("encrypt_textbook", bits, textbook, 0, extra);

	t = time_op(&b, 200 * scale, op_decrypt, "decrypt");
	if (mpz_cmp(b.acc, b.m) != 0)
		die("decrypt", &err);
	line("decrypt_crt", bits, t, 2000, NULL);

	mpz_set(b.acc, b.c);
	t = time_op(&b, 100000 * scale, op_add, "add");
	mpz_mul_ui(want, b.m, (unsigned long)(100000 * scale) + 1);
	check(b.sk, b.acc, want);
	line("add", bits, t, 4, NULL);

	if (sr_he_mcts_new(b.pk, 2, &b.mcts, &err))
		die("montgomery ciphertexts", &err);
	sr_he_mcts_set(b.mcts, 0, b.c);
	sr_he_mcts_set(b.mcts, 1, b.c);
	t = time_op(&b, 100000 * scale, op_add_mont, "add_mont");
	sr_he_mcts_get(b.mcts, 0, b.acc);
	check(b.sk, b.acc, want);
	sr_he_mcts_free(b.mcts);
	line("add_mont", bits, t, 4, NULL);

	mpz_urandomb(b.k, rs, 63);
	mpz_neg(b.k, b.k);
	t = time_op(&b, 2000 * scale, op_mul_plain, "mul_plain");
	mpz_mul(want, b.m, b.k);
	check(b.sk, b.acc, want);
	line("mul_plain", bits, t, 0, "scalar_bits=64");

	if (sr_he_cts_new(MULTIEXP_TERMS, &b.cts, &err) ||
	    sr_he_cts_new(MULTIEXP_TERMS, &b.ks, &err) ||
	    sr_he_cts_new(MULTIEXP_TERMS, &ms, &err))
		die("alloc", &err);
	mpz_set_ui(want, 0);
	for (size_t i = 0; i < MULTIEXP_TERMS; i++) {
		mpz_urandomm(ms[i], rs, sr_he_pk_n(b.pk));
		if (sr_he_encrypt_fast(b.pk, ms[i], b.cts[i], &err))
			die("encrypt", &err);
		mpz_urandomb(b.ks[i], rs, 63);
		if (i % 2)
			mpz_neg(b.ks[i], b.ks[i]);
		mpz_addmul(want, ms[i], b.ks[i]);
	}
	pippenger = time_op(&b, 1, op_multiexp, "multiexp");
	check(b.sk, b.acc, want);
	naive = time_op(&b, 1, op_multiexp_naive, "multiexp_naive");
	check(b.sk, b.acc, want);
	pippenger.cpu_us /= MULTIEXP_TERMS;
	pippenger.wall_us /= MULTIEXP_TERMS;
	snprintf(extra, sizeof(extra),
		 "terms=%d scalar_bits=64 naive_us=%.2f speedup=%.1f",
		 MULTIEXP_TERMS, naive.cpu_us / MULTIEXP_TERMS,
		 naive.cpu_us / MULTIEXP_TERMS / pippenger.cpu_us);
	line("multiexp_per_term", bits, pippenger, 0, extra);

	sr_he_cts_free(b.cts, MULTIEXP_TERMS);
	sr_he_cts_free(b.ks, MULTIEXP_TERMS);
	sr_he_cts_free(ms, MULTIEXP_TERMS);
	mpz_clears(b.m, b.c, b.acc, b.k, want, NULL);
	gmp_randclear(rs);
	sr_he_pk_free(b.pk);
	sr_he_sk_free(b.sk);
	return 0;
}
