/*
 * test_query_join.c - JOIN in the `query` job kind (query_join*.c,
 * docs/protocols/query-join.md) against SQLite on the pooled plaintext:
 * a generated corpus of join queries over a bank's customers and a
 * shop's purchases (duplicate keys at both sides, NULL keys, empty
 * intersections, an empty table, groups under the threshold, WHERE on
 * each side and both, HAVING, ORDER BY, LIMIT), each run federated (the
 * two parties' `run` in threads over in-memory pipes: blinded keys,
 * Paillier sums) and centrally (`run_central`); both must equal SQLite.
 * Plus the checker's join rules, and tampered protocol messages (wrong
 * lengths, ciphertexts outside Z*_{n²}, a replayed message, a wrong group
 * count, another run's frame): the job fails and nothing is released.
 *
 * The Paillier modulus is 1024 bits here (q_join_he_bits) to keep the
 * corpus fast on a shared machine; the kind's default is 2048, which the
 * bench and the integration test use.
 */
#include "testutil.h"
#include "kindtest.h"
#include "sqloracle.h"

#include <math.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "kinds/query/query.h"
#include "policy/checker.h"

static const char *const orgs[2] = {
	"org_0000000000000000000000000000000b", "org_0000000000000000000000000000000c",
};
static const char *const ds_names[2] = { "bank.customers", "shop.purchases" };

#define BCOLS 4
static const char *const b_names[BCOLS] = { "cid", "risk_band", "region", "income" };
static const enum sr_type b_types[BCOLS] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_STRING,
	SR_TYPE_INT64 };
#define SCOLS 4
static const char *const s_names[SCOLS] = { "cid", "amount", "qty", "year" };
static const enum sr_type s_types[SCOLS] = { SR_TYPE_STRING, SR_TYPE_FLOAT64, SR_TYPE_INT64,
	SR_TYPE_INT64 };
static const char *const bands[3] = { "low", "mid", "high" };
static const char *const regions[2] = { "north", "south" };

#define BANK_POLICY \
	"{\"columns\": {" \
	"\"cid\": {\"class\": \"id\", \"allow\": [\"join\"]}," \
	"\"risk_band\": {\"class\": \"qi\", \"domain\": [\"low\", \"mid\", \"high\"]}," \
	"\"region\": {\"class\": \"public\", \"domain\": [\"north\", \"south\"]}," \
	"\"income\": {\"class\": \"qi\", \"allow\": [\"filter\"], \"bounds\": [0, 200000]}}," \
	"\"receivers\": [\"org_0000000000000000000000000000000b\"]%s}"
#define SHOP_POLICY \
	"{\"columns\": {" \
	"\"cid\": {\"class\": \"id\", \"allow\": [\"join\"]%s}," \
	"\"amount\": {\"class\": \"sa\", \"allow\": [\"aggregate\", \"filter\"], \"bounds\": [0, 500]}," \
	"\"qty\": {\"class\": \"public\", \"bounds\": [0, 20]}," \
	"\"year\": {\"class\": \"public\", \"domain\": [2024, 2025]}}," \
	"\"receivers\": [\"org_0000000000000000000000000000000b\", \"org_0000000000000000000000000000000c\"]%s}"

static struct sr_policy *bank_policy(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text), BANK_POLICY, extra ? extra : "");
	return kt_policy(text, b_names, b_types, BCOLS);
}

static struct sr_policy *shop_policy(int reveals, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text), SHOP_POLICY,
		 reveals ? ", \"join_reveals_group_counts\": true" : "", extra ? extra : "");
	return kt_policy(text, s_names, s_types, SCOLS);
}

struct tables {
	struct sr_vec b[BCOLS], s[SCOLS];
};

static void add_text(struct sr_vec *v, const char *s)
{
	assert_int_equal(sr_vec_append_text(v, s, strlen(s)), SR_OK);
}

static void add_null(struct sr_vec *v)
{
	assert_int_equal(sr_vec_append_null(v), SR_OK);
}

/*
 * World w: bank rows (cids C000.., unique in even worlds, repeated in odd
 * ones), shop rows (several purchases per customer) whose cids overlap
 * the bank's partly; world 2 has no common key, world 3 an empty shop.
 * NULL keys and values throughout; floats on a grid of 1/8.
 */
static void tables_make(struct tables *t, int w, uint64_t seed)
{
	size_t nb = 20 + (size_t)(sr_test_rand(&seed) % 120);
	size_t ns = w == 3 ? 0 : 30 + (size_t)(sr_test_rand(&seed) % 200);
	size_t offset = w == 2 ? 1000 : (size_t)(sr_test_rand(&seed) % (nb / 2 + 1));
	char buf[64];

	for (int c = 0; c < BCOLS; c++)
		sr_vec_init(&t->b[c], b_types[c]);
	for (int c = 0; c < SCOLS; c++)
		sr_vec_init(&t->s[c], s_types[c]);
	for (size_t r = 0; r < nb; r++) {
		uint64_t x = sr_test_rand(&seed), y = sr_test_rand(&seed);
		if (y % 15 == 0)
			add_null(&t->b[0]);
		else {
			snprintf(buf, sizeof(buf), "C%03zu", w % 2 ? (size_t)(x % (nb * 2 / 3 + 1)) : r);
			add_text(&t->b[0], buf);
		}
		if (y % 19 == 1)
			add_null(&t->b[1]);
		else
			add_text(&t->b[1], bands[(x >> 8) % 3]);
		add_text(&t->b[2], regions[(x >> 12) % 2]);
		snprintf(buf, sizeof(buf), "%d", (int)((x >> 16) % 200001));
		add_text(&t->b[3], buf);
	}
	for (size_t r = 0; r < ns; r++) {
		uint64_t x = sr_test_rand(&seed), y = sr_test_rand(&seed);
		if (y % 17 == 0)
			add_null(&t->s[0]);
		else {
			snprintf(buf, sizeof(buf), "C%03zu", offset + (size_t)(x % (nb + 1)));
			add_text(&t->s[0], buf);
		}
		if (y % 11 == 3 || (w == 4 && y % 3 == 0))
			add_null(&t->s[1]);
		else {
			snprintf(buf, sizeof(buf), "%.3f", (double)((x >> 20) % 4001) / 8.0);
			add_text(&t->s[1], buf);
		}
		if (y % 13 == 2)
			add_null(&t->s[2]);
		else {
			snprintf(buf, sizeof(buf), "%d", (int)((x >> 32) % 21));
			add_text(&t->s[2], buf);
		}
		snprintf(buf, sizeof(buf), "%d", 2024 + (int)((y >> 8) % 2));
		add_text(&t->s[3], buf);
	}
}

static void tables_release(struct tables *t)
{
	for (int c = 0; c < BCOLS; c++)
		sr_vec_release(&t->b[c]);
	for (int c = 0; c < SCOLS; c++)
		sr_vec_release(&t->s[c]);
}

/* ---- SQLite ---------------------------------------------------------------- */

static sqlite3 *pooled_db(const struct tables *t)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	so_register_var(db);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE customers(cid TEXT, risk_band TEXT, region TEXT, income INTEGER);"
				      "CREATE TABLE purchases(cid TEXT, amount REAL, qty INTEGER, year INTEGER)",
				      NULL, NULL, NULL), SQLITE_OK);
	so_insert(db, "INSERT INTO customers VALUES (?,?,?,?)", t->b, BCOLS);
	so_insert(db, "INSERT INTO purchases VALUES (?,?,?,?)", t->s, SCOLS);
	return db;
}

/* ---- the corpus -------------------------------------------------------------- */

#define JOIN_FROM "FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid"
#define JOIN_FROM_SQLITE "FROM customers b JOIN purchases s ON b.cid = s.cid"

static const char *const aggs[] = {
	"COUNT(*)", "COUNT(s.amount)", "SUM(s.amount)", "AVG(s.amount)", "SUM(s.qty)",
	"AVG(s.qty)", "VAR_POP(s.amount)", "VAR_SAMP(s.qty)", "STDDEV_POP(s.qty)",
	"STDDEV_SAMP(s.amount)", "COUNT(s.qty)", "SUM(CASE WHEN s.year = 2025 THEN s.amount END)",
	"AVG(s.qty * 2 + 1)",
};
#define NAGGS (sizeof(aggs) / sizeof(*aggs))
static const char *const wheres[] = {
	NULL, "b.income > 50000", "s.year = 2025", "b.income > 80000 AND s.year = 2025",
	"s.amount < 250 AND b.region = 'north'", "b.risk_band IN ('low', 'high')", "s.qty >= 5",
};
#define NWHERES (sizeof(wheres) / sizeof(*wheres))
static const char *const keysets[][2] = {
	{ NULL, NULL }, { "b.risk_band", NULL }, { "b.region", NULL }, { "b.risk_band", "b.region" },
};
#define NKEYSETS (sizeof(keysets) / sizeof(*keysets))
static const char *const havings[] = { NULL, NULL, "COUNT(*) > 3", "SUM(s.qty) >= 20" };
#define NHAVINGS (sizeof(havings) / sizeof(*havings))

struct query {
	char text[1024], oracle[1024], oracle_thr[1024];
	int ordered;
};

static void add(char *s, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *s, size_t size, const char *fmt, ...)
{
	size_t len = strlen(s);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len)
		fail_msg("a generated query is longer than %zu bytes", size);
}

static void gen_query(uint64_t *seed, struct query *q)
{
	const char *const *keys = keysets[sr_test_rand(seed) % NKEYSETS];
	const char *where = wheres[sr_test_rand(seed) % NWHERES];
	const char *having = havings[sr_test_rand(seed) % NHAVINGS];
	size_t nagg = 1 + sr_test_rand(seed) % 3, nkeys = keys[1] ? 2 : keys[0] ? 1 : 0;
	int order = (int)(sr_test_rand(seed) % 3), limit = (int)(sr_test_rand(seed) % 3);
	char sel[512] = "", tail[512] = "", group[128] = "", ob[128] = "";

	if (nkeys == 0)
		having = NULL;
	for (size_t k = 0; k < nkeys; k++) {
		add(sel, sizeof(sel), k ? ", %s" : "%s", keys[k]);
		add(group, sizeof(group), k ? ", %s" : " GROUP BY %s", keys[k]);
	}
	for (size_t a = 0; a < nagg; a++)
		add(sel, sizeof(sel), nkeys || a ? ", %s" : "%s", aggs[sr_test_rand(seed) % NAGGS]);
	if (where)
		add(tail, sizeof(tail), " WHERE %s", where);
	add(tail, sizeof(tail), "%s", group);
	q->text[0] = q->oracle[0] = q->oracle_thr[0] = '\0';
	add(q->text, sizeof(q->text), "SELECT %s " JOIN_FROM "%s", sel, tail);
	add(q->oracle, sizeof(q->oracle), "SELECT %s " JOIN_FROM_SQLITE "%s", sel, tail);
	add(q->oracle_thr, sizeof(q->oracle_thr), "%s", q->oracle);
	if (having) {
		add(q->text, sizeof(q->text), " HAVING %s", having);
		add(q->oracle, sizeof(q->oracle), " HAVING %s", having);
		add(q->oracle_thr, sizeof(q->oracle_thr), " HAVING (%s) AND COUNT(DISTINCT b.cid) >= 3", having);
	} else {
		add(q->oracle_thr, sizeof(q->oracle_thr), "%s", " HAVING COUNT(DISTINCT b.cid) >= 3");
	}
	q->ordered = 0;
	if (nkeys && order) {
		for (size_t k = 0; k < nkeys; k++)
			add(ob, sizeof(ob), k ? ", %s" : " ORDER BY %s", keys[k]);
		if (order == 2)
			add(ob, sizeof(ob), "%s", " DESC");
		if (limit)
			add(ob, sizeof(ob), " LIMIT %d", limit * 2);
		add(q->text, sizeof(q->text), "%s", ob);
		add(q->oracle, sizeof(q->oracle), "%s", ob);
		add(q->oracle_thr, sizeof(q->oracle_thr), "%s", ob);
		q->ordered = 1;
	}
}

static json_t *make_spec(const char *sql, size_t receiver, const char *extra)
{
	json_t *spec = json_pack("{s:s,s:s,s:[s],s:[{s:s},{s:s}]}", "kind", "query", "sql", sql,
				 "receivers", orgs[receiver], "inputs", "dataset", ds_names[0],
				 "dataset", ds_names[1]);

	if (extra) {
		json_error_t e;
		json_t *x = json_loads(extra, 0, &e);
		assert_non_null(x);
		json_object_update(spec, x);
		json_decref(x);
	}
	return spec;
}

/* The checker's verdict (its status in *rc when rc is given). */
static int check_rc(const json_t *spec, struct sr_policy **pol, struct sr_verdict *v, int *rc)
{
	struct sr_check_dataset ds[2];
	struct sr_err err;
	int r;

	for (size_t p = 0; p < 2; p++) {
		ds[p].name = ds_names[p];
		ds[p].owner = orgs[p];
		ds[p].policy = pol[p];
		ds[p].rows = 100;
	}
	sr_err_clear(&err);
	sr_verdict_init(v);
	r = sr_check_job(spec, ds, 2, 0, v, &err);
	if (rc)
		*rc = r;
	else if (r != SR_OK)
		fail_msg("check: %s", err.msg);
	return v->accept;
}

static int checked(const json_t *spec, struct sr_policy **pol, struct sr_verdict *v)
{
	return check_rc(spec, pol, v, NULL);
}

static void setup_job(struct kt_job *job, const json_t *spec, struct tables *t,
		      struct sr_policy **pol)
{
	const char *const *names[2] = { b_names, s_names };
	const struct sr_vec *cols[2] = { t->b, t->s };
	size_t ncols[2] = { BCOLS, SCOLS };

	memset(job, 0, sizeof(*job));
	job->spec = spec;
	job->ninputs = 2;
	for (size_t p = 0; p < 2; p++) {
		struct kt_input *in = &job->inputs[p];
		in->dataset = ds_names[p];
		in->owner = orgs[p];
		in->table.name = ds_names[p];
		in->table.ncols = ncols[p];
		in->table.names = names[p];
		in->table.cols = cols[p];
		in->table.rows = cols[p][0].rows;
		in->policy = pol[p];
	}
}

static void print_verdict(const struct sr_verdict *v)
{
	for (size_t i = 0; i < v->count; i++)
		print_message("  %s: %s\n", v->violations[i].rule, v->violations[i].message);
}

static void run_one(const struct query *q, struct tables *t, struct sr_policy **pol, sqlite3 *db,
		    int thresholded)
{
	json_t *spec = make_spec(q->text, 0, NULL);
	json_t *want = so_sqlite_rows(db, thresholded ? q->oracle_thr : q->oracle);
	struct sr_verdict v;
	struct kt_outcome o;
	struct kt_job job;

	if (!checked(spec, pol, &v)) {
		print_verdict(&v);
		fail_msg("refused: %s", q->text);
	}
	sr_verdict_release(&v);
	setup_job(&job, spec, t, pol);
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("%s: federated: %s | %s", q->text, o.federated_msg[0], o.federated_msg[1]);
	if (o.central_rc[0])
		fail_msg("%s: central: %s", q->text, o.central_msg[0]);
	if (!so_same_rows(json_object_get(o.federated[0], "rows"), want, q->ordered, 1e-9)) {
		char *g = json_dumps(json_object_get(o.federated[0], "rows"), JSON_COMPACT);
		char *w = json_dumps(want, JSON_COMPACT);
		print_message("got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		fail_msg("federated != SQLite: %s", thresholded ? q->oracle_thr : q->oracle);
	}
	if (!so_same_rows(json_object_get(o.central[0], "rows"), want, q->ordered, 1e-9))
		fail_msg("central != SQLite: %s", q->text);
	kt_outcome_release(&o);
	json_decref(want);
	json_decref(spec);
}

static void test_oracle_corpus(void **state)
{
	uint64_t seed = 20261203;
	size_t done = 0, done_thr = 0;

	(void)state;
	q_join_he_bits = 1024;
	for (int world = 0; world < 6; world++) {
		struct tables t;
		struct sr_policy *plain[2], *thr[2];
		sqlite3 *db;

		tables_make(&t, world, seed + (uint64_t)world * 7919);
		plain[0] = bank_policy(NULL);
		plain[1] = shop_policy(1, NULL);
		thr[0] = bank_policy(NULL);
		thr[1] = shop_policy(1, ", \"min_group_size\": 3");
		db = pooled_db(&t);
		for (int i = 0; i < 26; i++) {
			struct query q;
			gen_query(&seed, &q);
			run_one(&q, &t, plain, db, 0);
			done++;
			if (i % 3 == 0) {
				run_one(&q, &t, thr, db, 1);
				done_thr++;
			}
		}
		sqlite3_close(db);
		tables_release(&t);
		for (int p = 0; p < 2; p++) {
			kt_policy_free(plain[p]);
			kt_policy_free(thr[p]);
		}
	}
	print_message("join oracle corpus: %zu queries equal SQLite with thresholds at 1, %zu with min_group_size 3\n",
		      done, done_thr);
	assert_true(done + done_thr >= 150);
}

/* ---- refusals ------------------------------------------------------------------ */

struct refusal {
	const char *sql;
	size_t receiver;
	const char *extra;
	int reveals;
	const char *rule;
	const char *message;
};

static const struct refusal refusals[] = {
	{ "SELECT b.risk_band, COUNT(*) " JOIN_FROM " GROUP BY b.risk_band", 0, NULL, 0,
	  "query-join-reveals-group-counts", "join_reveals_group_counts" },
	{ "SELECT SUM(b.income * s.amount) " JOIN_FROM, 0, NULL, 1,
	  "query-join-cross-party-aggregate", "both joined datasets" },
	{ "SELECT b.risk_band, s.year, COUNT(*) " JOIN_FROM " GROUP BY b.risk_band, s.year", 0, NULL, 1,
	  "query-join-group-party", "one dataset only" },
	{ "SELECT b.risk_band, COUNT(DISTINCT s.qty) " JOIN_FROM " GROUP BY b.risk_band", 0, NULL, 1,
	  "query-join-aggregate-kind", "not executed" },
	{ "SELECT b.risk_band, COUNT(*) " JOIN_FROM " GROUP BY b.risk_band", 1, NULL, 1,
	  "query-join-receiver", "dimension holder" },
	{ "SELECT b.risk_band, COUNT(*) " JOIN_FROM " GROUP BY b.risk_band", 0,
	  "{\"epsilon\": 1, \"delta\": 1e-6}", 1, "query-join-dp", "un-noised" },
	{ "SELECT b.risk_band, AVG(s.amount) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid AND b.region = s.cid GROUP BY b.risk_band",
	  0, NULL, 1, NULL, NULL },
	{ "SELECT b.cid, COUNT(*) " JOIN_FROM " GROUP BY b.cid", 0, NULL, 1,
	  "query-id-column", "identifier" },
	{ "SELECT s.amount, COUNT(*) " JOIN_FROM " GROUP BY s.amount", 0, NULL, 1,
	  "usage-not-allowed", NULL },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
		const struct refusal *r = &refusals[i];
		struct sr_policy *pol[2] = { bank_policy(NULL), shop_policy(r->reveals, NULL) };
		json_t *spec = make_spec(r->sql, r->receiver, r->extra);
		struct sr_verdict v;
		int found = 0, rc;

		check_rc(spec, pol, &v, &rc);
		if (!r->rule) {
			/* Refused one way or another (an error or a rule). */
			assert_true(rc != SR_OK || !v.accept);
		} else {
			assert_int_equal(rc, SR_OK);
			for (size_t k = 0; k < v.count; k++)
				found |= strcmp(v.violations[k].rule, r->rule) == 0 &&
					(!r->message || strstr(v.violations[k].message, r->message));
			if (!found) {
				print_verdict(&v);
				fail_msg("%s: expected %s", r->sql, r->rule);
			}
			assert_false(v.accept);
		}
		sr_verdict_release(&v);
		json_decref(spec);
		kt_policy_free(pol[0]);
		kt_policy_free(pol[1]);
	}
}

/* ---- tampered messages ------------------------------------------------------------ */

/* Frame header: "SRQJ" version type tag[16] index count. */
#define HEAD 30

static int tamper_case;

static void tamper(size_t from, size_t to, size_t nth, uint8_t *data, size_t *len, int *twice)
{
	(void)to;
	switch (tamper_case) {
	case 1:   /* the reply one byte short */
		if (from == 1 && nth == 0)
			*len -= 1;
		break;
	case 2:   /* the reply's last ciphertext >= n² */
		if (from == 1 && nth == 0)
			memset(data + *len - 256, 0xff, 256);
		break;
	case 3:   /* a masked sum that is 0 (not in Z*_{n²}) */
		if (from == 0 && nth == 1)
			memset(data + *len - 256, 0, 256);
		break;
	case 4:   /* the reply replayed in place of the openings */
		if (from == 1 && nth == 0)
			*twice = 1;
		break;
	case 5:   /* a wrong group count in the keys */
		if (from == 0 && nth == 0)
			data[HEAD + 3] ^= 1;
		break;
	case 6:   /* an opening >= n */
		if (from == 1 && nth == 1)
			memset(data + *len - 128, 0xff, 128);
		break;
	case 7:   /* a frame of another run */
		if (from == 1 && nth == 1)
			data[6] ^= 0x80;
		break;
	case 8:   /* an opening's high bits changed: bits above the last slot (or >= n) */
		if (from == 1 && nth == 1)
			data[HEAD + 8] ^= 0x40;
		break;
	default:
		break;
	}
}

static void test_tampered(void **state)
{
	static const char *const expect[] = { NULL,
		"carries", "outside Z*", "outside Z*", "expected a open message",
		"groups", "not below n", "another run", "opened sum|not below n" };
	uint64_t seed = 77;
	struct tables t;
	struct sr_policy *pol[2];
	json_t *spec = make_spec("SELECT b.risk_band, COUNT(*), AVG(s.amount) " JOIN_FROM
				 " GROUP BY b.risk_band", 0, NULL);

	(void)state;
	q_join_he_bits = 1024;
	tables_make(&t, 0, seed);
	pol[0] = bank_policy(NULL);
	pol[1] = shop_policy(1, NULL);
	for (tamper_case = 1; tamper_case <= 8; tamper_case++) {
		struct kt_outcome o;
		struct kt_job job;
		int named = 0;

		setup_job(&job, spec, &t, pol);
		kt_tamper = tamper;
		kt_run(&job, &o);
		kt_tamper = NULL;
		for (int p = 0; p < 2; p++) {
			/* One of the '|'-separated parts. */
			char want[64], *part, *save = NULL;
			snprintf(want, sizeof(want), "%s", expect[tamper_case]);
			for (part = strtok_r(want, "|", &save); part; part = strtok_r(NULL, "|", &save))
				named |= strstr(o.federated_msg[p], part) != NULL;
		}
		if (o.federated_rc == SR_OK || !named)
			fail_msg("case %d: rc %d: %s | %s", tamper_case, o.federated_rc,
				 o.federated_msg[0], o.federated_msg[1]);
		assert_null(o.federated[0]);       /* nothing released */
		assert_int_equal(o.central_rc[0], SR_OK);
		kt_outcome_release(&o);
	}
	tamper_case = 0;
	json_decref(spec);
	tables_release(&t);
	kt_policy_free(pol[0]);
	kt_policy_free(pol[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_oracle_corpus),
	};
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
