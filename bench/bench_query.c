/*
 * bench_query.c - the horizontal query of issue 10's benchmark: GROUP BY a
 * 16-value domain with COUNT, SUM and AVG of two columns, over P parties
 * of N rows each (default 5 x 1,000,000), against SQLite answering the
 * same query on the pooled P x N rows (loaded first, no index, only the
 * query timed).  A measurement, not a test; it exits 0 whether or not a
 * target is met.
 *
 *   bench_query [ROWS_PER_PARTY] [PARTIES]
 *   bench_query --join [ROWS_PER_PARTY]      (default 2^17; 2^20 with 1048576)
 *
 * --join: issue 11's vertical query, two parties (a bank D with a 16-value
 * band and an income, a shop V with amount, qty, year), 50% of the keys
 * in common, COUNT(*) + SUM and AVG of two shop columns GROUP BY the
 * bank's band, WHERE on both sides, through the kind's own run (both
 * parties' `run` in threads, the whole join protocol over a socketpair:
 * blinded keys, V's Paillier-2048 encryptions, homomorphic sums, masked
 * openings) and release, compared with SQLite's join on the same rows.
 * Prints "bench query_join ..." (wall, per-party, bytes per row) and
 * "bench query_join_sqlite ...".
 *
 * The federated side runs the query kind's own code path in this process:
 * each party a thread with its own table, layout, local aggregation
 * (src/kinds/query), secure aggregation (src/secagg) over socketpairs to
 * the receiver, and the release.  It does not start node processes:
 * bench/query runs this and then the same query through a coordinator
 * and node processes with their own stores (query_governed).  Answers are
 * compared: the bench fails if the federated table differs from SQLite's.
 *
 * Output: "bench query_federated ...", "bench query_sqlite ...",
 * "bench query_party ..." per party, "bench query_ratio ...".
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "kinds/query/query.h"
#include "kinds/rows.h"
#include "policy/policy.h"
#include "secagg/secagg.h"
#include "base/banned.h"

#define PARTIES_MAX 8
#define SQL_COLS "ward, COUNT(*), SUM(age), AVG(age), SUM(cost), AVG(cost)"

static const char *const names[3] = { "ward", "age", "cost" };
static const enum sr_type types[3] = { SR_TYPE_INT64, SR_TYPE_INT64, SR_TYPE_FLOAT64 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- a pipe over a socketpair: u32 length, then the message ---------- */

static int sock_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	int fd = (int)(intptr_t)ctx;
	uint32_t n = (uint32_t)len;
	size_t off = 0;

	if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return sr_fail(err, SR_EIO, "bench pipe: write");
	while (off < len) {
		ssize_t w = write(fd, msg + off, len - off);
		if (w <= 0)
			return sr_fail(err, SR_EIO, "bench pipe: write");
		off += (size_t)w;
	}
	return SR_OK;
}

static int read_all(int fd, void *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r = read(fd, (uint8_t *)p + off, len - off);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int sock_recv(void *ctx, struct sr_buf *msg, size_t max_len, struct sr_err *err)
{
	int fd = (int)(intptr_t)ctx;
	uint32_t n;

	if (read_all(fd, &n, sizeof(n)) || n > max_len)
		return sr_fail(err, SR_EIO, "bench pipe: read");
	sr_buf_reset(msg);
	if (sr_buf_grow(msg, n) != SR_OK || read_all(fd, msg->data, n))
		return sr_fail(err, SR_EIO, "bench pipe: read");
	sr_buf_setlen(msg, n);
	return SR_OK;
}

/* ---- one party -------------------------------------------------------- */

struct party {
	size_t index, nparties;
	struct sr_vec cols[3];
	struct sr_table table;
	struct sr_policy policy;
	struct sr_kind_input *inputs;      /* shared, every party's */
	const char **orgs;
	const json_t *spec;
	int fds[PARTIES_MAX];              /* to each other party */
	double local_s, secagg_s, release_s;
	struct sr_secagg_stats stats;
	json_t *result;                    /* at the receiver */
	char error[256];
};

static int scan(void *impl, size_t input, const char *const *columns, size_t ncolumns,
		struct sr_rows *out, struct sr_err *err)
{
	struct party *p = impl;

	(void)input;
	return sr_rows_open_table(&p->table, NULL, columns, ncolumns, out, err);
}

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct sr_kind_ctx c;
	struct sr_pipe pipes[PARTIES_MAX];
	struct sr_secagg_params sp;
	struct q_layout L;
	struct q_hash seen;
	struct sr_err err;
	uint64_t *cells = NULL;
	uint8_t run_id[8] = "benchqry";
	double t0;

	memset(&c, 0, sizeof(c));
	sr_err_clear(&err);
	c.spec = p->spec;
	c.self = p->orgs[p->index];
	c.parties = p->orgs;
	c.nparties = p->nparties;
	c.self_index = p->index;
	c.inputs = p->inputs;
	c.ninputs = p->nparties;
	c.receivers = p->orgs;
	c.nreceivers = 1;
	c.receiver = p->index == 0;
	c.impl = p;
	c.scan = scan;
	if (q_layout_build(&c, &L, &err) != SR_OK)
		goto fail;
	cells = sr_calloc(L.ncells, sizeof(*cells));
	q_hash_init(&seen);
	t0 = now_s();
	/* Only its own input: the others' scans are not this party's. */
	if (!cells || q_aggregate_input(&L, &c, p->index, cells, &seen, NULL, &err) != SR_OK) {
		q_hash_release(&seen);
		goto fail_layout;
	}
	q_hash_release(&seen);
	p->local_s = now_s() - t0;
	for (size_t j = 0; j < p->nparties; j++) {
		pipes[j].ctx = (void *)(intptr_t)p->fds[j];
		pipes[j].send = sock_send;
		pipes[j].recv = sock_recv;
	}
	sr_secagg_params_init(&sp);
	sp.run_id = run_id;
	sp.run_id_len = sizeof(run_id);
	sp.parties = (uint32_t)p->nparties;
	sp.self = (uint32_t)p->index;
	sp.aggregator = 0;
	sp.length = L.ncells;
	t0 = now_s();
	if (sr_secagg_run(&sp, pipes, cells, p->index == 0 ? cells : NULL, &p->stats, &err) != SR_OK)
		goto fail_layout;
	p->secagg_s = now_s() - t0;
	if (p->index == 0) {
		t0 = now_s();
		p->result = q_totals_json(&L, cells, NULL);
		if (!p->result || q_release(&L, p->result, &err) != SR_OK)
			goto fail_layout;
		p->release_s = now_s() - t0;
	}
	sr_free(cells);
	q_layout_release(&L);
	return NULL;
fail_layout:
	q_layout_release(&L);
fail:
	sr_free(cells);
	snprintf(p->error, sizeof(p->error), "%s", err.msg);
	return NULL;
}

/* ---- data ------------------------------------------------------------- */

static void make_table(struct party *p, size_t rows, uint64_t seed)
{
	for (int c = 0; c < 3; c++) {
		sr_vec_init(&p->cols[c], types[c]);
		if (sr_vec_reserve(&p->cols[c], rows) != SR_OK)
			exit(1);
	}
	for (size_t r = 0; r < rows; r++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p->cols[0].v.i64[r] = (int64_t)((seed >> 33) % 16) + 1;
		p->cols[1].v.i64[r] = (int64_t)((seed >> 20) % 100);
		p->cols[2].v.f64[r] = (double)((seed >> 40) % 8000) / 8.0;
	}
	for (int c = 0; c < 3; c++)
		p->cols[c].rows = rows;
	p->table.name = "bench";
	p->table.ncols = 3;
	p->table.names = names;
	p->table.cols = p->cols;
	p->table.rows = rows;
}

/* ---- --join ------------------------------------------------------------ */

#define JOIN_SQL "SELECT b.band, COUNT(*), SUM(s.qty), AVG(s.qty), SUM(s.amount), AVG(s.amount)" \
	" FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid" \
	" WHERE b.income > 10000 AND s.year = 2025 GROUP BY b.band ORDER BY b.band"
#define JOIN_SQL_SQLITE "SELECT b.band, COUNT(*), SUM(s.qty), AVG(s.qty), SUM(s.amount), AVG(s.amount)" \
	" FROM customers b JOIN purchases s ON b.cid = s.cid" \
	" WHERE b.income > 10000 AND s.year = 2025 GROUP BY b.band ORDER BY b.band"

static const char *const jnames[2][4] = { { "cid", "band", "income", NULL },
	{ "cid", "amount", "qty", "year" } };
static const enum sr_type jtypes[2][4] = {
	{ SR_TYPE_INT64, SR_TYPE_INT64, SR_TYPE_INT64, SR_TYPE_INT64 },
	{ SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_INT64, SR_TYPE_INT64 } };

struct jparty {
	size_t index;
	struct sr_vec cols[4];
	struct sr_table table;
	struct sr_policy policy;
	const struct sr_kind_input *inputs;
	const char *const *orgs;
	const json_t *spec;
	int fd;
	double seconds;
	json_t *result, *join_meta;
	char error[256];
};

static int jscan(void *impl, size_t input, const char *const *columns, size_t ncolumns,
		 struct sr_rows *out, struct sr_err *err)
{
	struct jparty *p = impl;

	if (input != p->index)
		return sr_fail(err, SR_EINVAL, "bench: not this party's input");
	return sr_rows_open_table(&p->table, NULL, columns, ncolumns, out, err);
}

static int jpipe(void *impl, const char *peer, uint32_t channel, struct sr_pipe *out,
		 struct sr_err *err)
{
	struct jparty *p = impl;

	(void)peer;
	(void)channel;
	(void)err;
	out->ctx = (void *)(intptr_t)p->fd;
	out->send = sock_send;
	out->recv = sock_recv;
	return SR_OK;
}

extern const struct sr_job_kind sr_kind_query;

static void *jparty_main(void *arg)
{
	static const uint8_t session[32] = "bench query join session 000000";
	struct jparty *p = arg;
	struct sr_kind_input inputs[2];
	int rc;
	struct sr_kind_ctx c;
	struct sr_err err;
	double t0 = now_s();

	memcpy(inputs, p->inputs, sizeof(inputs));
	inputs[0].local = p->index == 0;
	inputs[1].local = p->index == 1;
	memset(&c, 0, sizeof(c));
	sr_err_clear(&err);
	c.spec = p->spec;
	c.self = p->orgs[p->index];
	c.parties = p->orgs;
	c.nparties = 2;
	c.self_index = p->index;
	c.inputs = inputs;
	c.ninputs = 2;
	c.receivers = p->orgs;
	c.nreceivers = 1;
	c.receiver = p->index == 0;
	c.session_id = session;
	c.session_id_len = sizeof(session);
	c.impl = p;
	c.scan = jscan;
	c.pipe = jpipe;
	rc = sr_kind_query.run(&c, &p->result, &err);
	/* The protocol's figures, before release rebuilds the meta. */
	if (rc == SR_OK && p->result)
		p->join_meta = json_deep_copy(json_object_get(json_object_get(p->result, "meta"), "query_join"));
	if (rc != SR_OK || (p->result && sr_kind_query.release(&c, p->result, &err) != SR_OK))
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
	p->seconds = now_s() - t0;
	return NULL;
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11;
}

/* CPU seconds of the whole process (both parties' threads). */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *jload(void)
{
	static char buf[64];
	double a = 0, b = 0, c = 0;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
			a = b = c = 0;
		fclose(f);
	}
	snprintf(buf, sizeof(buf), "%.2f/%.2f/%.2f", a, b, c);
	return buf;
}

static int bench_join(size_t rows)
{
	static const char *const orgs[2] = { "org_0000000000000000000000000000000b",
		"org_0000000000000000000000000000000c" };
	static const char *const pols[2] = {
		"{\"columns\": {\"cid\": {\"class\": \"id\", \"allow\": [\"join\"]},"
		" \"band\": {\"class\": \"public\", \"domain\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]},"
		" \"income\": {\"class\": \"public\", \"bounds\": [0, 200000]}}}",
		"{\"columns\": {\"cid\": {\"class\": \"id\", \"allow\": [\"join\"], \"join_reveals_group_counts\": true},"
		" \"amount\": {\"class\": \"sa\", \"bounds\": [0, 1000]},"
		" \"qty\": {\"class\": \"public\", \"bounds\": [0, 100]},"
		" \"year\": {\"class\": \"public\", \"domain\": [2024, 2025]}}}" };
	static struct jparty P[2];
	struct sr_kind_input inputs[2];
	pthread_t th[2];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sr_err err;
	json_t *spec, *meta;
	uint64_t seed = 42;
	double t0, wall, sql_s, cpu0, cpu;
	int sv[2], mismatch = 0;

	sr_err_clear(&err);
	spec = json_pack("{s:s,s:s,s:[{s:s},{s:s}],s:[s]}", "kind", "query", "sql", JOIN_SQL,
			 "inputs", "dataset", "bank.customers", "dataset", "shop.purchases",
			 "receivers", orgs[0]);
	for (size_t i = 0; i < 2; i++) {
		struct jparty *p = &P[i];
		size_t nc = i == 0 ? 3 : 4;
		sr_policy_init(&p->policy);
		if (sr_policy_parse(pols[i], strlen(pols[i]), "bench", &p->policy, &err) != SR_OK ||
		    sr_policy_bind(&p->policy, jnames[i], jtypes[i], nc, &err) != SR_OK) {
			fprintf(stderr, "bench_query: %s\n", err.msg);
			return 1;
		}
		for (size_t c = 0; c < nc; c++) {
			sr_vec_init(&p->cols[c], jtypes[i][c]);
			if (sr_vec_reserve(&p->cols[c], rows) != SR_OK)
				return 1;
			p->cols[c].rows = rows;
		}
		for (size_t r = 0; r < rows; r++) {
			/* The bank's keys 0..N-1, the shop's N/2..3N/2-1: half in common. */
			p->cols[0].v.i64[r] = (int64_t)(i == 0 ? r : r + rows / 2);
			if (i == 0) {
				p->cols[1].v.i64[r] = (int64_t)(lcg(&seed) % 16) + 1;
				p->cols[2].v.i64[r] = (int64_t)(lcg(&seed) % 200001);
			} else {
				p->cols[1].v.f64[r] = (double)(lcg(&seed) % 8001) / 8.0;
				p->cols[2].v.i64[r] = (int64_t)(lcg(&seed) % 101);
				p->cols[3].v.i64[r] = lcg(&seed) % 10 ? 2025 : 2024;
			}
		}
		p->table.name = i == 0 ? "bank.customers" : "shop.purchases";
		p->table.ncols = nc;
		p->table.names = jnames[i];
		p->table.cols = p->cols;
		p->table.rows = rows;
		inputs[i].dataset = p->table.name;
		inputs[i].owner = orgs[i];
		inputs[i].spec = json_array_get(json_object_get(spec, "inputs"), i);
		inputs[i].policy = &p->policy;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	P[0].fd = sv[0];
	P[1].fd = sv[1];
	t0 = now_s();
	cpu0 = cpu_s();
	for (size_t i = 0; i < 2; i++) {
		P[i].index = i;
		P[i].inputs = inputs;
		P[i].orgs = orgs;
		P[i].spec = spec;
		pthread_create(&th[i], NULL, jparty_main, &P[i]);
	}
	for (size_t i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	wall = now_s() - t0;
	cpu = cpu_s() - cpu0;
	for (size_t i = 0; i < 2; i++)
		if (P[i].error[0]) {
			fprintf(stderr, "bench_query: party %zu: %s\n", i, P[i].error);
			return 1;
		}
	/* SQLite on the same rows, loaded first, the query timed. */
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE customers(cid INTEGER, band INTEGER, income INTEGER);"
			 "CREATE TABLE purchases(cid INTEGER, amount REAL, qty INTEGER, year INTEGER); BEGIN",
			 NULL, NULL, NULL) != SQLITE_OK)
		return 1;
	for (size_t i = 0; i < 2; i++) {
		sqlite3_prepare_v2(db, i == 0 ? "INSERT INTO customers VALUES (?,?,?)" :
				   "INSERT INTO purchases VALUES (?,?,?,?)", -1, &st, NULL);
		for (size_t r = 0; r < rows; r++) {
			for (size_t c = 0; c < (i == 0 ? 3u : 4u); c++)
				if (jtypes[i][c] == SR_TYPE_FLOAT64)
					sqlite3_bind_double(st, (int)c + 1, P[i].cols[c].v.f64[r]);
				else
					sqlite3_bind_int64(st, (int)c + 1, P[i].cols[c].v.i64[r]);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t0 = now_s();
	sqlite3_prepare_v2(db, JOIN_SQL_SQLITE, -1, &st, NULL);
	{
		const json_t *frows = json_object_get(P[0].result, "rows");
		size_t r = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const json_t *row = json_array_get(frows, r++);
			for (int c = 0; c < 6; c++) {
				double x = sqlite3_column_double(st, c);
				double y = json_number_value(json_array_get(row, (size_t)c));
				if (!(fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y))))
					mismatch = 1;
			}
		}
		if (r != json_array_size(frows) || r == 0)
			mismatch = 1;
	}
	sql_s = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	meta = P[0].join_meta;
	{
		double sent = (double)json_integer_value(json_object_get(meta, "bytes_sent"));
		double recv = (double)json_integer_value(json_object_get(meta, "bytes_received"));
		printf("bench query_join parties=2 rows_per_party=%zu overlap=0.5 groups=16 he_bits=%u seconds=%.3f"
		       " d_s=%.3f v_s=%.3f cpu_s=%.3f cpus=%zu bytes_total=%.0f bytes_per_row=%.1f answer=%s"
		       " target_s=30 moonshot_s=5 load1/5/15=%s\n",
		       rows, q_join_he_bits, wall, P[0].seconds, P[1].seconds, cpu, sr_cpu_count(),
		       sent + recv, (sent + recv) / (double)(2 * rows), mismatch ? "DIFFERS" : "equal",
		       jload());
		printf("bench query_join_party role=dimension bytes_sent=%.0f bytes_received=%.0f blinded_keys_sent=%lld value_rows_received=%lld\n",
		       sent, recv, (long long)json_integer_value(json_object_get(meta, "blinded_keys_sent")),
		       (long long)json_integer_value(json_object_get(meta, "value_rows_received")));
	}
	printf("bench query_join_sqlite rows=%zu seconds=%.3f\n", 2 * rows, sql_s);
	json_decref(P[0].result);
	json_decref(P[0].join_meta);
	json_decref(spec);
	return mismatch ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const char *const org_ids[PARTIES_MAX] = {
		"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
		"org_00000000000000000000000000000003", "org_00000000000000000000000000000004",
		"org_00000000000000000000000000000005", "org_00000000000000000000000000000006",
		"org_00000000000000000000000000000007", "org_00000000000000000000000000000008",
	};
	static const char pol_text[] =
		"{\"columns\": {\"ward\": {\"class\": \"public\", \"domain\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]},"
		" \"age\": {\"class\": \"public\", \"bounds\": [0, 120]},"
		" \"cost\": {\"class\": \"sa\", \"bounds\": [0, 1000]}}}";
	size_t rows = 1000000, nparties = 5;
	struct party parties[PARTIES_MAX];
	struct sr_kind_input inputs[PARTIES_MAX];
	char dsname[PARTIES_MAX][32], sql[1024] = "SELECT " SQL_COLS " FROM ";
	pthread_t th[PARTIES_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *spec, *jinputs;
	struct sr_err err;
	double t0, fed_s, sql_s;
	int mismatch = 0;

	if (argc > 1 && strcmp(argv[1], "--join") == 0) {
		size_t jrows = argc > 2 ? strtoull(argv[2], NULL, 10) : (size_t)1 << 17;
		if (sr_crypto_init() != SR_OK || jrows < 2)
			return 1;
		return bench_join(jrows);
	}
	if (argc > 1)
		rows = strtoull(argv[1], NULL, 10);
	if (argc > 2)
		nparties = strtoull(argv[2], NULL, 10);
	if (rows == 0 || nparties < 2 || nparties > PARTIES_MAX) {
		fprintf(stderr, "usage: bench_query [ROWS_PER_PARTY] [PARTIES 2..8]\n");
		return 2;
	}
	if (sr_crypto_init() != SR_OK)
		return 1;
	sr_err_clear(&err);
	jinputs = json_array();
	for (size_t i = 0; i < nparties; i++) {
		snprintf(dsname[i], sizeof(dsname[i]), "clinic%zu.visits", i);
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "%s%s", i ? " UNION ALL " : "", dsname[i]);
		json_array_append_new(jinputs, json_pack("{s:s}", "dataset", dsname[i]));
	}
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " GROUP BY ward ORDER BY ward");
	spec = json_pack("{s:s,s:s,s:o,s:[s]}", "kind", "query", "sql", sql, "inputs", jinputs,
			 "receivers", org_ids[0]);
	memset(parties, 0, sizeof(parties));
	for (size_t i = 0; i < nparties; i++) {
		struct party *p = &parties[i];
		sr_policy_init(&p->policy);
		if (sr_policy_parse(pol_text, strlen(pol_text), "bench", &p->policy, &err) != SR_OK ||
		    sr_policy_bind(&p->policy, names, types, 3, &err) != SR_OK) {
			fprintf(stderr, "bench_query: %s\n", err.msg);
			return 1;
		}
		make_table(p, rows, 1000 + i);
		inputs[i].dataset = dsname[i];
		inputs[i].owner = org_ids[i];
		inputs[i].spec = json_array_get(jinputs, i);
		inputs[i].policy = &p->policy;
		inputs[i].local = 1;
	}
	for (size_t i = 0; i < nparties; i++)
		for (size_t j = i + 1; j < nparties; j++) {
			int sv[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
				return 1;
			parties[i].fds[j] = sv[0];
			parties[j].fds[i] = sv[1];
		}
	/* The peer: the pooled rows in SQLite, loaded before timing. */
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE pooled(ward INTEGER, age INTEGER, cost REAL); BEGIN",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO pooled VALUES (?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return 1;
	for (size_t i = 0; i < nparties; i++)
		for (size_t r = 0; r < rows; r++) {
			sqlite3_bind_int64(st, 1, parties[i].cols[0].v.i64[r]);
			sqlite3_bind_int64(st, 2, parties[i].cols[1].v.i64[r]);
			sqlite3_bind_double(st, 3, parties[i].cols[2].v.f64[r]);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);

	t0 = now_s();
	for (size_t i = 0; i < nparties; i++) {
		parties[i].index = i;
		parties[i].nparties = nparties;
		parties[i].inputs = inputs;
		parties[i].orgs = (const char **)org_ids;
		parties[i].spec = spec;
		pthread_create(&th[i], NULL, party_main, &parties[i]);
	}
	for (size_t i = 0; i < nparties; i++)
		pthread_join(th[i], NULL);
	fed_s = now_s() - t0;
	for (size_t i = 0; i < nparties; i++)
		if (parties[i].error[0]) {
			fprintf(stderr, "bench_query: party %zu: %s\n", i, parties[i].error);
			return 1;
		}

	t0 = now_s();
	sqlite3_prepare_v2(db, "SELECT " SQL_COLS " FROM pooled GROUP BY ward ORDER BY ward", -1, &st, NULL);
	{
		const json_t *frows = json_object_get(parties[0].result, "rows");
		size_t r = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const json_t *row = json_array_get(frows, r++);
			for (int c = 0; c < 6; c++) {
				double x = sqlite3_column_double(st, c);
				double y = json_number_value(json_array_get(row, (size_t)c));
				if (!(fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y))))
					mismatch = 1;
			}
		}
		sql_s = now_s() - t0;
		if (r != json_array_size(frows))
			mismatch = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	{
		double local_max = 0, secagg_max = 0;
		for (size_t i = 0; i < nparties; i++) {
			local_max = fmax(local_max, parties[i].local_s);
			secagg_max = fmax(secagg_max, parties[i].secagg_s);
		}
		printf("bench query_federated parties=%zu rows_per_party=%zu groups=16 seconds=%.3f"
		       " local_max_s=%.3f secagg_max_s=%.4f release_s=%.4f answer=%s\n",
		       nparties, rows, fed_s, local_max, secagg_max, parties[0].release_s,
		       mismatch ? "DIFFERS" : "equal");
	}
	for (size_t i = 0; i < nparties; i++)
		printf("bench query_party index=%zu local_s=%.3f secagg_s=%.4f bytes_sent=%" PRIu64
		       " bytes_received=%" PRIu64 "\n", i, parties[i].local_s, parties[i].secagg_s,
		       parties[i].stats.bytes_sent, parties[i].stats.bytes_received);
	printf("bench query_sqlite rows=%zu seconds=%.3f\n", rows * nparties, sql_s);
	printf("bench query_ratio federated_over_sqlite=%.3f target=1 moonshot=0.25\n", fed_s / sql_s);
	json_decref(parties[0].result);
	json_decref(spec);
	return mismatch ? 1 : 0;
}
