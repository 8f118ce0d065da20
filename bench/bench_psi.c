/*
 * bench_psi.c - PSI benchmark (driven by bench/psi; not a timed test).
 *
 *   bench_psi run N [P [PROTO]]
 *                        P processes on 127.0.0.1 (default 2: receiver and
 *                        sender; with more, a receiver and P-1 senders in
 *                        a star, as a governed multi-party job runs; each
 *                        with a thread per CPU) run PSI over the
 *                        authenticated channel on sets of N keys, half
 *                        common to all; prints one line per party and one
 *                        for the run.  PROTO: auto, ecdh or kkrt (default:
 *                        the library's default, sr_psi_params_init)
 *   bench_psi bound N    the raw cost of PSI on two sets of N keys, on a
 *                        pool with the same number of threads, with the
 *                        primitives the protocol uses (src/crypto/r255.h):
 *                        2N h2g digests, 2N hash_mul (blind), 2N mul
 *                        (double-blind); and, interleaved with it slice by
 *                        slice, the same work with libsodium's primitives
 *                        (2N hash-to-group, 4N scalar multiplications)
 *
 * Output: one line per figure, "name key=value ...".
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/r255.h"
#include "net/channel.h"
#include "net/tcp.h"
#include "psi/psi.h"
#include "base/banned.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* ---- bound ------------------------------------------------------------- */

struct bound_ctx {
	uint8_t scalar[SR_SCALAR_BYTES];
	struct sr_h2g h2g;
	size_t lo, hi;     /* the slice of i being timed */
	int libsodium;     /* 1: libsodium's primitives, 0: r255 (as PSI) */
};

#define BOUND_CHUNK 64
#define BOUND_SLICES 8   /* interleaving granularity of the two bounds */

static int bound_task(void *ctx, size_t index, struct sr_err *err)
{
	struct bound_ctx *b = ctx;
	uint8_t p[SR_POINT_BYTES], q[SR_POINT_BYTES], msg[16];
	uint8_t hp[SR_R255_HASHBYTES], hq[SR_R255_HASHBYTES];
	size_t lo = b->lo + index * BOUND_CHUNK;

	(void)err;
	for (size_t i = lo; i < lo + BOUND_CHUNK && i < b->hi; i++) {
		/* Per i, each of the two parties blinds one key and
		 * double-blinds one of the peer's points, so n of them are
		 * the raw work of PSI on two sets of n keys. */
		sr_store_u64le(msg, i);
		sr_store_u64le(msg + 8, i ^ 0x5555);
		if (b->libsodium) {
			sr_h2g_hash(&b->h2g, msg, sizeof(msg), p);
			sr_h2g_hash(&b->h2g, msg + 4, 12, q);
			for (int k = 0; k < 2; k++) {
				if (crypto_scalarmult_ristretto255(p, b->scalar, p) != 0 ||
				    crypto_scalarmult_ristretto255(q, b->scalar, q) != 0)
					return SR_EINTERNAL;
			}
		} else {
			sr_r255_h2g_digest(&b->h2g, msg, sizeof(msg), hp);
			sr_r255_h2g_digest(&b->h2g, msg + 4, 12, hq);
			if (sr_r255_hash_mul(p, b->scalar, hp) != SR_OK ||
			    sr_r255_hash_mul(q, b->scalar, hq) != SR_OK ||
			    sr_r255_mul(p, b->scalar, p) != SR_OK ||
			    sr_r255_mul(q, b->scalar, q) != SR_OK)
				return SR_EINTERNAL;
		}
	}
	return SR_OK;
}

/* Time [b->lo, b->hi) on the pool. */
static int bound_slice(struct sr_pool *pool, struct bound_ctx *b, double *wall)
{
	struct sr_err err;
	size_t count = b->hi - b->lo;
	double t0;

	sr_err_clear(&err);
	t0 = now();
	if (sr_pool_run(pool, (count + BOUND_CHUNK - 1) / BOUND_CHUNK, bound_task,
			b, &err)) {
		fprintf(stderr, "bench_psi: bound failed\n");
		return -1;
	}
	*wall += now() - t0;
	return 0;
}

/*
 * Both bounds over the same n, slice by slice, alternating which goes
 * first, so that a loaded machine slows both alike.  The "bound" line is
 * the one bench/psi compares PSI with (PSI's own primitives).
 */
static int cmd_bound(size_t n)
{
	struct bound_ctx b;
	struct sr_pool *pool;
	double wall[2] = { 0, 0 };   /* [0] r255, [1] libsodium */

	if (sr_pool_new(0, &pool) != SR_OK)
		return 1;
	crypto_core_ristretto255_scalar_random(b.scalar);
	sr_h2g_init(&b.h2g, "bench", 5);
	for (size_t s = 0; s < BOUND_SLICES; s++) {
		b.lo = n * s / BOUND_SLICES;
		b.hi = n * (s + 1) / BOUND_SLICES;
		for (int k = 0; k < 2; k++) {
			b.libsodium = (int)((s + (size_t)k) % 2);
			if (bound_slice(pool, &b, &wall[b.libsodium]) != 0)
				return 1;
		}
	}
	printf("bound n=%zu threads=%zu wall_s=%.3f ops=\"%zu h2g digest + %zu hash_mul + %zu mul (r255, as PSI)\"\n",
	       n, sr_pool_threads(pool), wall[0], 2 * n, 2 * n, 2 * n);
	printf("bound_libsodium n=%zu threads=%zu libsodium_wall_s=%.3f ops=\"%zu h2g + %zu mult (libsodium)\" speedup=%.3f\n",
	       n, sr_pool_threads(pool), wall[1], 2 * n, 4 * n,
	       wall[0] > 0 ? wall[1] / wall[0] : 0);
	sodium_memzero(b.scalar, sizeof(b.scalar));
	sr_pool_free(pool);
	return 0;
}

/* ---- run --------------------------------------------------------------- */

#define BENCH_MAX_PARTIES 8

/* BENCH_PSI_THREADS: pool threads per party (default: one per CPU). */
static size_t threads_per_party(void)
{
	const char *env = getenv("BENCH_PSI_THREADS");

	return env ? (size_t)strtoul(env, NULL, 10) : 0;
}

/* A deterministic identity for each party (benchmark only). */
static void bench_identity(struct sr_identity *id, uint8_t tag)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	memset(seed, tag, sizeof(seed));
	sr_identity_init(id);
	id->sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	if (!id->sign_sk)
		abort();
	crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
	sr_identity_org_id(id->org_id, id->sign_pk);
}

static int ch_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	return sr_channel_send(ctx, msg, len, err);
}

static int ch_recv(void *ctx, struct sr_buf *msg, size_t max, struct sr_err *err)
{
	return sr_channel_recv(ctx, msg, max, err);
}

struct party_report {
	double wall_s;
	double cpu_s;
	long rss_kib;
	uint64_t bytes_sent;
	uint64_t intersection;
	enum sr_psi_protocol protocol;
	int rc;
};

/*
 * One party in its own process.  Party 0 is the receiver: fds[1..parties)
 * are listening sockets, one per sender; sender r (>= 1) has fds[r]
 * connected to the receiver.  Keys 0 .. n/2-1 are common to every party;
 * the rest are each party's own.
 */
static int party(int r, const int *fds, int parties, size_t n,
		 const char *proto, int report_fd)
{
	struct sr_identity me, peer;
	struct sr_channel *ch[BENCH_MAX_PARTIES] = { NULL };
	struct sr_pool *pool = NULL;
	struct sr_psi_params p;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_psi_result res;
	struct sr_psi_key *keys;
	struct party_report rep;
	char *text;
	struct sr_err err;
	uint8_t sid[SR_CHANNEL_SID_BYTES];
	struct sr_pipe io[BENCH_MAX_PARTIES];
	int nch = r == 0 ? parties - 1 : 1;
	double t0, c0;

	memset(&rep, 0, sizeof(rep));
	sr_err_clear(&err);
	bench_identity(&me, (uint8_t)(r + 1));
	keys = calloc(n ? n : 1, sizeof(*keys));
	text = calloc(n ? n : 1, 24);
	if (!keys || !text)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char *k = text + 24 * i;
		snprintf(k, 24, "%c%015zx", i < n / 2 ? 'c' : 'p' + r, i);
		keys[i].data = k;
		keys[i].len = strlen(k);
		keys[i].row = i;
	}
	if (sr_pool_new(threads_per_party(), &pool) != SR_OK)
		return 1;
	for (int j = 0; j < nch; j++) {
		int peer_index = r == 0 ? j + 1 : 0;
		int fd = fds[r == 0 ? j + 1 : r];
		if (r == 0) {
			int conn;
			if (sr_tcp_accept(fd, 60000, &conn, &err))
				goto fail;
			close(fd);
			fd = conn;
		}
		bench_identity(&peer, (uint8_t)(peer_index + 1));
		if (sr_channel_handshake(fd, r == 0 ? SR_CHANNEL_RESPONDER : SR_CHANNEL_INITIATOR,
					 &me, peer.sign_pk, 600000, &ch[j], &err))
			goto fail;
		io[j].ctx = ch[j];
		io[j].send = ch_send;
		io[j].recv = ch_recv;
	}
	/* Every pair derives the same id from its own handshake; a real job
	 * uses the job's session id, the same for all pairs. */
	memset(sid, 0x5a, sizeof(sid));
	sr_psi_params_init(&p);
	p.session_id = sid;
	p.session_id_len = sizeof(sid);
	p.parties = (unsigned)parties;
	p.pool = pool;
	if (proto && sr_psi_protocol_parse(proto, &p.protocol, &err))
		goto fail;
	sr_psi_source_array(&src, &arr, keys, n);
	t0 = now();
	c0 = cpu_seconds();
	if (r == 0 && parties > 2)
		rep.rc = sr_psi_run_multi(&p, &src, io, (size_t)nch, &res, &err);
	else
		rep.rc = sr_psi_run(r == 0 ? SR_PSI_RECEIVER : SR_PSI_SENDER, &p, &src,
				    &io[0], &res, &err);
	rep.wall_s = now() - t0;
	rep.cpu_s = cpu_seconds() - c0;
	if (rep.rc)
		goto fail;
	for (int j = 0; j < nch; j++) {
		uint64_t sent, received;
		sr_channel_bytes(ch[j], &sent, &received);
		rep.bytes_sent += sent;
	}
	rep.intersection = res.stats.intersection_size;
	rep.protocol = res.stats.protocol;
	rep.rss_kib = peak_rss_kib();
	sr_psi_result_release(&res);
	for (int j = 0; j < nch; j++)
		sr_channel_free(ch[j]);
	sr_pool_free(pool);
	if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		return 1;
	return 0;
fail:
	fprintf(stderr, "bench_psi: party %d: %s\n", r, err.msg);
	rep.rc = err.code ? err.code : SR_EINTERNAL;
	if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		return 1;
	return 1;
}

static int cmd_run(size_t n, int parties, const char *proto)
{
	int fds[BENCH_MAX_PARTIES], pipes[BENCH_MAX_PARTIES][2];
	char addr[BENCH_MAX_PARTIES][SR_TCP_ADDR_MAX];
	pid_t pids[BENCH_MAX_PARTIES];
	struct party_report rep[BENCH_MAX_PARTIES];
	struct sr_err err;
	double wall = 0, cpu = 0;

	sr_err_clear(&err);
	for (int r = 1; r < parties; r++)
		if (sr_tcp_listen("127.0.0.1:0", &fds[r], &err) ||
		    sr_tcp_local_addr(fds[r], addr[r], &err)) {
			fprintf(stderr, "bench_psi: %s\n", err.msg);
			return 1;
		}
	for (int r = 0; r < parties; r++) {
		if (pipe(pipes[r]) != 0)
			return 1;
		pids[r] = fork();
		if (pids[r] < 0)
			return 1;
		if (pids[r] == 0) {
			close(pipes[r][0]);
			if (r == 0)
				_exit(party(0, fds, parties, n, proto, pipes[r][1]));
			for (int j = 1; j < parties; j++)
				close(fds[j]);
			if (sr_tcp_connect(addr[r], 10000, &fds[r], &err)) {
				fprintf(stderr, "bench_psi: %s\n", err.msg);
				_exit(1);
			}
			_exit(party(r, fds, parties, n, proto, pipes[r][1]));
		}
		close(pipes[r][1]);
	}
	for (int r = 1; r < parties; r++)
		close(fds[r]);
	for (int r = 0; r < parties; r++) {
		int status;
		if (read(pipes[r][0], &rep[r], sizeof(rep[r])) != (ssize_t)sizeof(rep[r]))
			rep[r].rc = SR_EIO;
		waitpid(pids[r], &status, 0);
		if (rep[r].rc)
			return 1;
	}
	for (int r = 0; r < parties; r++) {
		printf("psi_party n=%zu parties=%d party=%s%.0d wall_s=%.3f cpu_s=%.3f bytes_sent=%" PRIu64
		       " bytes_per_element=%.1f peak_rss_mib=%.1f protocol=%s\n", n, parties,
		       r == 0 ? "receiver" : "sender", parties > 2 ? r : 0, rep[r].wall_s,
		       rep[r].cpu_s, rep[r].bytes_sent,
		       n ? (double)rep[r].bytes_sent / (double)n : 0,
		       (double)rep[r].rss_kib / 1024.0,
		       sr_psi_protocol_name(rep[r].protocol));
		if (rep[r].wall_s > wall)
			wall = rep[r].wall_s;
		cpu += rep[r].cpu_s;
	}
	printf("psi n=%zu%s wall_s=%.3f cpu_s=%.3f intersection=%" PRIu64
	       " expected=%zu protocol=%s\n",
	       n, parties > 2 ? " parties=3" : "", wall, cpu, rep[0].intersection, n / 2,
	       sr_psi_protocol_name(rep[0].protocol));
	return rep[0].intersection == n / 2 ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t n;

	if (sr_crypto_init() != SR_OK)
		return 1;
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: bench_psi run N [PARTIES [PROTOCOL]] | bound N\n");
		return 2;
	}
	n = (size_t)strtoull(argv[2], NULL, 0);
	if (strcmp(argv[1], "run") == 0) {
		int parties = argc >= 4 ? (int)strtol(argv[3], NULL, 10) : 2;
		if (parties < 2 || parties > BENCH_MAX_PARTIES) {
			fprintf(stderr, "bench_psi: PARTIES must be 2 to %d\n", BENCH_MAX_PARTIES);
			return 2;
		}
		return cmd_run(n, parties, argc == 5 ? argv[4] : NULL);
	}
	if (strcmp(argv[1], "bound") == 0)
		return cmd_bound(n);
	fprintf(stderr, "usage: bench_psi run N [PARTIES [PROTOCOL]] | bound N\n");
	return 2;
}
