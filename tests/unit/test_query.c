/*
 * test_query.c - the `query` job kind (src/kinds/query/) against two
 * oracles on the same data:
 *   - SQLite on the pooled plaintext: a generated corpus of queries over
 *     3 to 5 parties' same-schema tables (every aggregate, WHERE, GROUP
 *     BY on public domains, HAVING, ORDER BY, LIMIT, NULLs, empty
 *     parties, a party with no matching rows), each run federated (every
 *     party's `run` in a thread, secure aggregation over in-memory pipes)
 *     with DP off; with thresholds at 1 the answer equals SQLite's
 *     (floats to 1e-9 relative, counts exactly), with a threshold it
 *     equals SQLite's with the small groups removed;
 *   - the kind's own run_central (kindtest.h).
 * Plus the checker's refusals, clamping, and a DP run (noise scales and
 * intervals present, values near the truth).
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
#include "base/json.h"
#include "crypto/crypto.h"
#include "policy/checker.h"

#define NCOLS 6
static const char *const col_names[NCOLS] = { "pid", "region", "ward", "age", "cost", "visit" };
static const enum sr_type col_types[NCOLS] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_INT64,
	SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_DATE };
static const char *const regions[] = { "north", "south", "east", "west" };

static const char *const orgs[5] = {
	"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
	"org_00000000000000000000000000000003", "org_00000000000000000000000000000004",
	"org_00000000000000000000000000000005",
};
static const char *const dataset_names[5] = { "clinic0.visits", "clinic1.visits",
	"clinic2.visits", "clinic3.visits", "clinic4.visits" };

#define POLICY_FMT \
	"{\"columns\": {" \
	"\"pid\": {\"class\": \"id\"}," \
	"\"region\": {\"class\": \"qi\", \"allow\": [\"filter\", \"group\", \"aggregate\", \"reveal\"], \"domain\": [\"north\", \"south\", \"east\", \"west\"]}," \
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3]}," \
	"\"age\": {\"class\": \"qi\", \"allow\": [\"filter\", \"aggregate\", \"reveal\"], \"bounds\": [0, 120]}," \
	"\"cost\": {\"class\": \"sa\", \"allow\": [\"aggregate\", \"filter\"], \"bounds\": [0, 1000]}," \
	"\"visit\": {\"class\": \"qi\", \"allow\": [\"filter\", \"aggregate\", \"reveal\"]}}," \
	"\"receivers\": [\"org_00000000000000000000000000000001\", \"org_00000000000000000000000000000002\"," \
	" \"org_00000000000000000000000000000003\", \"org_00000000000000000000000000000004\"," \
	" \"org_00000000000000000000000000000005\"]%s%s}"

static struct sr_policy *make_policy(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text), POLICY_FMT,
		 extra && strstr(extra, "ids_partitioned") ? "" : ", \"ids_partitioned\": true",
		 extra ? extra : "");
	return kt_policy(text, col_names, col_types, NCOLS);
}

struct table {
	struct sr_vec cols[NCOLS];
};

static void add_text(struct sr_vec *v, const char *s)
{
	assert_int_equal(sr_vec_append_text(v, s, strlen(s)), SR_OK);
}

/* rows rows of party p; mode 1: every row in ward 3 (no row matches a
 * WHERE ward < 3). Values stay in the public domains and bounds; floats
 * on a grid of 1/8 so fixed point is exact. */
static void table_make(struct table *t, size_t p, uint64_t seed, size_t rows, int mode)
{
	char buf[64];

	for (int c = 0; c < NCOLS; c++)
		sr_vec_init(&t->cols[c], col_types[c]);
	for (size_t r = 0; r < rows; r++) {
		uint64_t x = sr_test_rand(&seed), y = sr_test_rand(&seed);

		/* Identities repeat within a party (several visits). */
		snprintf(buf, sizeof(buf), "P%zu-%03llu", p, (unsigned long long)(x % (rows / 2 + 1)));
		add_text(&t->cols[0], buf);
		if (y % 17 == 0)
			assert_int_equal(sr_vec_append_null(&t->cols[1]), SR_OK);
		else
			add_text(&t->cols[1], regions[(x >> 8) % (p == 1 ? 2 : 4)]);
		if (y % 23 == 1)
			assert_int_equal(sr_vec_append_null(&t->cols[2]), SR_OK);
		else {
			snprintf(buf, sizeof(buf), "%d", mode == 1 ? 3 : (int)((x >> 12) % 3) + 1);
			add_text(&t->cols[2], buf);
		}
		if (y % 13 == 2)
			assert_int_equal(sr_vec_append_null(&t->cols[3]), SR_OK);
		else {
			snprintf(buf, sizeof(buf), "%d", (int)((x >> 16) % 100) + 1);
			add_text(&t->cols[3], buf);
		}
		if (y % 11 == 3)
			assert_int_equal(sr_vec_append_null(&t->cols[4]), SR_OK);
		else {
			snprintf(buf, sizeof(buf), "%.3f", (double)((x >> 24) % 8000) / 8.0);
			add_text(&t->cols[4], buf);
		}
		snprintf(buf, sizeof(buf), "2024-%02d-%02d", (int)((y >> 8) % 12) + 1,
			 (int)((y >> 16) % 28) + 1);
		add_text(&t->cols[5], buf);
	}
}

static void table_release(struct table *t)
{
	for (int c = 0; c < NCOLS; c++)
		sr_vec_release(&t->cols[c]);
}

/* ---- SQLite: the pooled plaintext ------------------------------------------ */

static sqlite3 *pooled_db(struct table *t, size_t n)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	so_register_var(db);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE pooled(pid TEXT, region TEXT, ward INTEGER,"
				      " age INTEGER, cost REAL, visit TEXT)", NULL, NULL, NULL), SQLITE_OK);
	for (size_t p = 0; p < n; p++)
		so_insert(db, "INSERT INTO pooled VALUES (?,?,?,?,?,?)", t[p].cols, NCOLS);
	return db;
}

/* ---- the corpus --------------------------------------------------------------- */

static const char *const aggs[] = {
	"COUNT(*)", "COUNT(cost)", "COUNT(age)", "SUM(age)", "SUM(cost)", "AVG(cost)", "AVG(age)",
	"VAR_POP(cost)", "VAR_SAMP(age)", "STDDEV_POP(cost)", "STDDEV_SAMP(cost)",
	"SUM(CASE WHEN ward = 1 THEN cost END)", "COUNT(DISTINCT pid)", "AVG(age * 2 + 1)",
	"SUM(CASE WHEN region = 'north' THEN 1 ELSE 0 END)",
	/* MIN and MAX on columns that allow reveal: int64, date, string. */
	"MIN(age)", "MAX(age)", "MAX(ward)", "MIN(visit)", "MAX(visit)", "MIN(region)", "MAX(region)",
};
#define NAGGS (sizeof(aggs) / sizeof(*aggs))
static const char *const wheres[] = {
	NULL, NULL, "age > 40", "cost < 500.5", "region = 'north'", "ward <> 2",
	"age >= 30 AND cost > 100", "ward < 3", "region IN ('east', 'west') OR age < 20",
	"visit >= DATE '2024-06-01'",
};
/* The same for SQLite, which keeps dates as ISO text. */
static const char *const wheres_sqlite[] = {
	NULL, NULL, "age > 40", "cost < 500.5", "region = 'north'", "ward <> 2",
	"age >= 30 AND cost > 100", "ward < 3", "region IN ('east', 'west') OR age < 20",
	"visit >= '2024-06-01'",
};
#define NWHERES (sizeof(wheres) / sizeof(*wheres))
static const char *const keysets[][2] = {
	{ NULL, NULL }, { "region", NULL }, { "ward", NULL }, { "region", "ward" }, { "ward", "region" },
};
#define NKEYSETS (sizeof(keysets) / sizeof(*keysets))
static const char *const havings[] = { NULL, NULL, "COUNT(*) > 5", "SUM(age) >= 200" };
#define NHAVINGS (sizeof(havings) / sizeof(*havings))

struct query {
	char text[1024];       /* over the federation */
	char oracle[1024];     /* over the pooled table */
	char oracle_thr[1024]; /* same, groups under the threshold removed */
	int ordered;
};

static void add(char *s, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(char *s, size_t size, const char *fmt, ...)
{
	size_t len = strlen(s);
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(s + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len)
		fail_msg("a generated query is longer than %zu bytes", size);
}

/* Query number i over n parties: text for both sides. */
static void gen_query(uint64_t *seed, size_t n, struct query *q)
{
	const char *const *keys = keysets[sr_test_rand(seed) % NKEYSETS];
	size_t wi = sr_test_rand(seed) % NWHERES;
	const char *where = wheres[wi];
	const char *having = havings[sr_test_rand(seed) % NHAVINGS];
	size_t nagg = 1 + sr_test_rand(seed) % 3, nkeys = keys[1] ? 2 : keys[0] ? 1 : 0;
	int order = (int)(sr_test_rand(seed) % 3), limit = (int)(sr_test_rand(seed) % 4);
	char sel[512] = "", from[512] = "", tail[512] = "", otail[512] = "", group[128] = "";

	if (nkeys == 0 && having)
		having = NULL;   /* a HAVING without GROUP BY drops the only row: fine, but rarer */
	for (size_t k = 0; k < nkeys; k++) {
		add(sel, sizeof(sel), k ? ", %s" : "%s", keys[k]);
		add(group, sizeof(group), k ? ", %s" : " GROUP BY %s", keys[k]);
	}
	for (size_t a = 0; a < nagg; a++)
		add(sel, sizeof(sel), nkeys || a ? ", %s" : "%s", aggs[sr_test_rand(seed) % NAGGS]);
	for (size_t p = 0; p < n; p++)
		add(from, sizeof(from), p ? " UNION ALL %s" : "%s", dataset_names[p]);
	if (where) {
		add(tail, sizeof(tail), " WHERE %s", where);
		add(otail, sizeof(otail), " WHERE %s", wheres_sqlite[wi]);
	}
	add(tail, sizeof(tail), "%s", group);
	add(otail, sizeof(otail), "%s", group);
	q->ordered = 0;
	q->text[0] = q->oracle[0] = q->oracle_thr[0] = '\0';
	add(q->text, sizeof(q->text), "SELECT %s FROM %s%s", sel, from, tail);
	add(q->oracle, sizeof(q->oracle), "SELECT %s FROM pooled%s", sel, otail);
	add(q->oracle_thr, sizeof(q->oracle_thr), "SELECT %s FROM pooled%s", sel, otail);
	if (having) {
		add(q->text, sizeof(q->text), " HAVING %s", having);
		add(q->oracle, sizeof(q->oracle), " HAVING %s", having);
		add(q->oracle_thr, sizeof(q->oracle_thr), " HAVING (%s)", having);
		add(q->oracle_thr, sizeof(q->oracle_thr), "%s", " AND COUNT(DISTINCT pid) >= 5");
	} else {
		add(q->oracle_thr, sizeof(q->oracle_thr), "%s", " HAVING COUNT(DISTINCT pid) >= 5");
	}
	if (nkeys && order) {
		/* Every key, so the order (and LIMIT) is total. */
		char ob[128] = "";
		for (size_t k = 0; k < nkeys; k++)
			add(ob, sizeof(ob), k ? ", %s" : " ORDER BY %s", keys[k]);
		if (order == 2)
			add(ob, sizeof(ob), "%s", " DESC");
		add(q->text, sizeof(q->text), "%s", ob);
		add(q->oracle, sizeof(q->oracle), "%s", ob);
		add(q->oracle_thr, sizeof(q->oracle_thr), "%s", ob);
		q->ordered = 1;
		if (limit) {
			char lim[32];
			snprintf(lim, sizeof(lim), " LIMIT %d", limit * 2);
			add(q->text, sizeof(q->text), "%s", lim);
			add(q->oracle, sizeof(q->oracle), "%s", lim);
			add(q->oracle_thr, sizeof(q->oracle_thr), "%s", lim);
		}
	}
}

static json_t *make_spec(const char *sql, size_t n, size_t receiver, const char *extra)
{
	json_t *spec = json_pack("{s:s,s:s,s:[s]}", "kind", "query", "sql", sql, "receivers",
				 orgs[receiver]);
	json_t *inputs = json_array();

	for (size_t p = 0; p < n; p++)
		json_array_append_new(inputs, json_pack("{s:s}", "dataset", dataset_names[p]));
	json_object_set_new(spec, "inputs", inputs);
	if (extra) {
		json_error_t e;
		json_t *x = json_loads(extra, 0, &e);
		assert_non_null(x);
		json_object_update(spec, x);
		json_decref(x);
	}
	return spec;
}

/* The checker's verdict on spec over n parties with policies pol. */
static int checked(const json_t *spec, struct sr_policy **pol, size_t n, struct sr_verdict *v)
{
	struct sr_check_dataset ds[5];
	struct sr_err err;

	for (size_t p = 0; p < n; p++) {
		ds[p].name = dataset_names[p];
		ds[p].owner = orgs[p];
		ds[p].policy = pol[p];
		ds[p].rows = 100;
	}
	sr_err_clear(&err);
	sr_verdict_init(v);
	if (sr_check_job(spec, ds, n, 0, v, &err) != SR_OK)
		fail_msg("check: %s", err.msg);
	return v->accept;
}

static void setup_job(struct kt_job *job, const json_t *spec, struct table *t,
		      struct sr_policy **pol, size_t n)
{
	memset(job, 0, sizeof(*job));
	job->spec = spec;
	job->ninputs = n;
	for (size_t p = 0; p < n; p++) {
		struct kt_input *in = &job->inputs[p];
		in->dataset = dataset_names[p];
		in->owner = orgs[p];
		in->table.name = dataset_names[p];
		in->table.ncols = NCOLS;
		in->table.names = col_names;
		in->table.cols = t[p].cols;
		in->table.rows = t[p].cols[0].rows;
		in->policy = pol[p];
	}
}

static void print_verdict(const struct sr_verdict *v)
{
	for (size_t i = 0; i < v->count; i++)
		print_message("  %s: %s\n", v->violations[i].rule, v->violations[i].message);
}

/* One corpus query, federated, against SQLite and run_central. */
static void run_one(const struct query *q, size_t n, size_t receiver, struct table *t,
		    struct sr_policy **pol, sqlite3 *db, int thresholded)
{
	json_t *spec = make_spec(q->text, n, receiver, NULL);
	json_t *want = so_sqlite_rows(db, thresholded ? q->oracle_thr : q->oracle);
	struct sr_verdict v;
	struct kt_outcome o;
	struct kt_job job;

	if (!checked(spec, pol, n, &v)) {
		print_verdict(&v);
		fail_msg("refused: %s", q->text);
	}
	sr_verdict_release(&v);
	setup_job(&job, spec, t, pol, n);
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("%s: federated: %s | %s | %s", q->text, o.federated_msg[0],
			 o.federated_msg[1], o.federated_msg[2]);
	if (o.central_rc[0])
		fail_msg("%s: central: %s", q->text, o.central_msg[0]);
	if (!so_same_rows(json_object_get(o.federated[0], "rows"), want, q->ordered, 1e-12)) {
		char *g = json_dumps(json_object_get(o.federated[0], "rows"), JSON_COMPACT);
		char *w = json_dumps(want, JSON_COMPACT);
		print_message("got  %s\nwant %s\n", g, w);
		fail_msg("federated != SQLite: %s", thresholded ? q->oracle_thr : q->oracle);
	}
	if (!so_same_rows(json_object_get(o.central[0], "rows"), want, q->ordered, 1e-12))
		fail_msg("central != SQLite: %s", q->text);
	kt_outcome_release(&o);
	json_decref(want);
	json_decref(spec);
}

static void test_oracle_corpus(void **state)
{
	uint64_t seed = 20261202;
	size_t done = 0, done_thr = 0;

	(void)state;
	for (int world = 0; world < 6; world++) {
		size_t n = 3 + (size_t)world % 3;
		struct table t[5];
		struct sr_policy *plain[5], *thr[5];
		sqlite3 *db;

		for (size_t p = 0; p < n; p++) {
			/* Party 2 of every other world is empty; party 0 of world 1 is all ward 3. */
			size_t rows = (p == 2 && world % 2) ? 0 : 40 + (size_t)(sr_test_rand(&seed) % 300);
			table_make(&t[p], p, seed + p * 1000 + (uint64_t)world, rows, world == 1 && p == 0);
			plain[p] = make_policy(NULL);
			thr[p] = make_policy(p == 1 ? ", \"min_group_size\": 5" : NULL);
		}
		db = pooled_db(t, n);
		for (int i = 0; i < 55; i++) {
			struct query q;
			gen_query(&seed, n, &q);
			run_one(&q, n, (size_t)i % n, t, plain, db, 0);
			done++;
			if (i % 2 == 0) {
				run_one(&q, n, (size_t)(i + 1) % n, t, thr, db, 1);
				done_thr++;
			}
		}
		sqlite3_close(db);
		for (size_t p = 0; p < n; p++) {
			table_release(&t[p]);
			kt_policy_free(plain[p]);
			kt_policy_free(thr[p]);
		}
	}
	print_message("oracle corpus: %zu queries equal SQLite with thresholds at 1, %zu with min_group_size 5\n",
		      done, done_thr);
	assert_true(done >= 300);
}

/* ---- masks on group keys --------------------------------------------------------- */

/* The policy of POLICY_FMT with region masked by truncate:1 and ward by
 * range:2 (wards 2 and 3 are one group, "[2, 4)"). */
static struct sr_policy *masked_policy(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "{\"columns\": {"
		 "\"pid\": {\"class\": \"id\"},"
		 "\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"], \"mask\": \"truncate:1\"},"
		 "\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3], \"mask\": \"range:2\"},"
		 "\"age\": {\"class\": \"qi\", \"allow\": [\"filter\", \"aggregate\"], \"bounds\": [0, 120]},"
		 "\"cost\": {\"class\": \"sa\", \"allow\": [\"aggregate\", \"filter\"], \"bounds\": [0, 1000]},"
		 "\"visit\": {\"class\": \"qi\", \"allow\": [\"filter\"]}},"
		 "\"receivers\": [\"%s\", \"%s\", \"%s\"], \"ids_partitioned\": true%s}",
		 orgs[0], orgs[1], orgs[2], extra ? extra : "");
	return kt_policy(text, col_names, col_types, NCOLS);
}

/* tmpl with its one '@' replaced by with. */
static void fill(char *out, size_t size, const char *tmpl, const char *with)
{
	const char *at = strchr(tmpl, '@');

	assert_non_null(at);
	out[0] = '\0';
	add(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl, with, at + 1);
}

/*
 * A masked GROUP BY column groups by its label, before thresholds: the
 * federated answer (and run_central) equals SQLite grouping the pooled
 * rows by the same mask written in SQL, with and without a threshold
 * that counts the merged group's distinct identities.
 */
static void test_masked_keys(void **state)
{
#define WARD_LABEL "CASE WHEN ward IS NULL THEN NULL ELSE '[' || (ward / 2 * 2) || ', ' || (ward / 2 * 2 + 2) || ')' END"
	static const struct { const char *sql, *oracle; } cases[] = {
		{ "SELECT ward, COUNT(*), SUM(cost), COUNT(DISTINCT pid) FROM @ GROUP BY ward ORDER BY ward",
		  "SELECT " WARD_LABEL " AS w, COUNT(*), SUM(cost), COUNT(DISTINCT pid) FROM pooled GROUP BY w @ ORDER BY w" },
		{ "SELECT region, ward, AVG(age), COUNT(*) FROM @ WHERE cost > 100 GROUP BY region, ward ORDER BY region, ward DESC",
		  "SELECT substr(region, 1, 1) AS r, " WARD_LABEL " AS w, AVG(age), COUNT(*) FROM pooled WHERE cost > 100 GROUP BY r, w @ ORDER BY r, w DESC" },
		{ "SELECT ward, VAR_POP(cost) FROM @ GROUP BY ward HAVING COUNT(*) > 3 ORDER BY ward LIMIT 1",
		  "SELECT " WARD_LABEL " AS w, VAR_POP(cost) FROM pooled GROUP BY w HAVING COUNT(*) > 3 @ ORDER BY w LIMIT 1" },
	};
	const char *from = "clinic0.visits UNION ALL clinic1.visits UNION ALL clinic2.visits";
	uint64_t seed = 77;
	struct table t[3];
	struct sr_policy *plain[3], *thr[3];
	size_t merged_passing = 0;
	int64_t k = 0;
	sqlite3 *db;

	(void)state;
	for (size_t p = 0; p < 3; p++) {
		table_make(&t[p], p, seed + p, 30 + 20 * p, 0);
		plain[p] = masked_policy(NULL);
	}
	db = pooled_db(t, 3);
	/* A threshold above the smallest unmerged (region, ward 2 or 3)
	 * group's identities: some merged groups pass only because they are
	 * merged first. */
	{
		json_t *r = so_sqlite_rows(db, "SELECT MIN(n) FROM (SELECT COUNT(DISTINCT pid) AS n FROM pooled"
				       " WHERE ward >= 2 GROUP BY substr(region, 1, 1), ward)");
		k = json_integer_value(json_array_get(json_array_get(r, 0), 0)) + 1;
		json_decref(r);
	}
	for (size_t p = 0; p < 3; p++) {
		char extra[64];
		snprintf(extra, sizeof(extra), ", \"min_group_size\": %lld", (long long)k);
		thr[p] = masked_policy(p == 1 ? extra : NULL);
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++)
		for (int th = 0; th < 2; th++) {
			struct query q;
			char having[96];

			memset(&q, 0, sizeof(q));
			fill(q.text, sizeof(q.text), cases[c].sql, from);
			if (th)
				snprintf(having, sizeof(having), "%s COUNT(DISTINCT pid) >= %lld",
					 strstr(cases[c].oracle, "HAVING") ? "AND" : "HAVING", (long long)k);
			else
				having[0] = '\0';
			fill(th ? q.oracle_thr : q.oracle, sizeof(q.oracle), cases[c].oracle, having);
			q.ordered = 1;
			run_one(&q, 3, c % 3, t, th ? thr : plain, db, th);
		}
	/* The threshold merged first: (region, [2, 4)) groups that pass while
	 * one of their wards alone would not. */
	{
		char sql[512];
		json_t *r;
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM (SELECT substr(region, 1, 1) AS rr,"
			 " COUNT(DISTINCT pid) AS n FROM pooled WHERE ward >= 2 GROUP BY rr) WHERE n >= %lld",
			 (long long)k);
		r = so_sqlite_rows(db, sql);
		merged_passing = (size_t)json_integer_value(json_array_get(json_array_get(r, 0), 0));
		json_decref(r);
		print_message("masked keys: threshold %lld, %zu merged (region, [2, 4)) groups pass\n",
			      (long long)k, merged_passing);
		assert_true(merged_passing > 0);
	}
	sqlite3_close(db);
	for (size_t p = 0; p < 3; p++) {
		table_release(&t[p]);
		kt_policy_free(plain[p]);
		kt_policy_free(thr[p]);
	}
#undef WARD_LABEL
}

/* ---- refusals ------------------------------------------------------------------- */

struct refusal {
	const char *sql;
	const char *extra;      /* spec keys */
	const char *policy;     /* policy extra of every input */
	const char *rule;       /* expected rule id, or NULL for an error */
	const char *message;    /* a part of the message */
};

static const struct refusal refusals[] = {
	{ "SELECT age, COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY age", NULL, NULL,
	  "query-group-domain", "public domain for age" },
	{ "SELECT pid, COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY pid", NULL, NULL,
	  "query-id-column", "identifier" },
	{ "SELECT a.region, COUNT(*) FROM clinic0.visits a JOIN clinic1.visits b ON a.pid = b.pid GROUP BY a.region",
	  NULL, NULL, "query-join-reveals-group-counts", "join_reveals_group_counts" },
	{ "SELECT region, age FROM clinic0.visits UNION ALL clinic1.visits", NULL, NULL,
	  "query-not-aggregated", "outputs rows" },
	{ "SELECT MAX(cost) FROM clinic0.visits UNION ALL clinic1.visits", NULL, NULL,
	  "query-min-max-reveal", "must allow 'reveal'" },
	{ "SELECT MAX(age) FROM clinic0.visits UNION ALL clinic1.visits", "{\"epsilon\": 0.5, \"delta\": 1e-7}",
	  NULL, "query-min-max-dp", "which the spec asks for" },
	{ "SELECT ward, MIN(age) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY ward",
	  "{\"epsilon\": 0.5, \"delta\": 1e-7}",
	  ", \"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1, \"delta\": 1e-6}",
	  "query-min-max-dp", "requires" },
	{ "SELECT region, COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY region", NULL,
	  ", \"min_group_size\": 5, \"ids_partitioned\": false", "query-threshold-ids", "ids_partitioned" },
	{ "SELECT COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits", NULL,
	  ", \"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1, \"delta\": 1e-6}",
	  "query-dp-parameters", "needs \"epsilon\"" },
	{ "SELECT COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits", "{\"epsilon\": 1.5, \"delta\": 1e-7}",
	  ", \"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1, \"delta\": 1e-6}",
	  "query-dp-epsilon", "above the epsilon_max_per_job 1" },
	{ "SELECT COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits", "{\"epsilon\": 0.5, \"delta\": 1e-7}",
	  ", \"dp\": {\"epsilon_total\": 2, \"epsilon_max_per_job\": 1}",
	  "query-dp-delta", "only pure DP" },
	{ "SELECT SUM(age) FROM clinic0.visits UNION ALL clinic1.visits WHERE pid = 'x'", NULL, NULL,
	  "query-id-column", "identifier" },
	{ "SELECT region, SUM(cost) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY region", NULL,
	  NULL, NULL, "clinic2.visits is not in the FROM" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
		const struct refusal *r = &refusals[i];
		struct sr_policy *pol[3];
		size_t n = r->rule ? 2 : 3;
		json_t *spec = make_spec(r->sql, n, 0, r->extra);
		struct sr_check_dataset ds[3];
		struct sr_verdict v;
		struct sr_err err;
		int found = 0, rc;

		for (size_t p = 0; p < n; p++) {
			pol[p] = make_policy(r->policy);
			ds[p] = (struct sr_check_dataset){ dataset_names[p], orgs[p], pol[p], 10 };
		}
		sr_err_clear(&err);
		sr_verdict_init(&v);
		rc = sr_check_job(spec, ds, n, 0, &v, &err);
		if (!r->rule) {
			assert_int_equal(rc, SR_EINVAL);
			if (!strstr(err.msg, r->message))
				fail_msg("%s: %s", r->sql, err.msg);
		} else {
			assert_int_equal(rc, SR_OK);
			for (size_t k = 0; k < v.count; k++)
				found |= strcmp(v.violations[k].rule, r->rule) == 0 &&
					 strstr(v.violations[k].message, r->message) != NULL;
			if (!found) {
				print_verdict(&v);
				fail_msg("%s: expected %s", r->sql, r->rule);
			}
		}
		sr_verdict_release(&v);
		json_decref(spec);
		for (size_t p = 0; p < n; p++)
			kt_policy_free(pol[p]);
	}
}

/* ---- clamping, domains ---------------------------------------------------------- */

static void test_clamped(void **state)
{
	struct table t[2];
	struct sr_policy *pol[2] = { make_policy(NULL), make_policy(NULL) };
	json_t *spec = make_spec("SELECT SUM(cost), COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits",
				 2, 1, NULL);
	struct kt_outcome o;
	struct kt_job job;
	const json_t *row, *meta;

	(void)state;
	for (int p = 0; p < 2; p++)
		for (int c = 0; c < NCOLS; c++)
			sr_vec_init(&t[p].cols[c], col_types[c]);
	/* Two rows over the bound (clamped to 1000), one below (to 0). */
	const char *rows[][NCOLS] = {
		{ "a", "north", "1", "10", "1500", "2024-01-01" }, { "b", "north", "1", "10", "10.5", "2024-01-01" },
		{ "c", "south", "2", "10", "-3", "2024-01-01" }, { "d", "mars", "2", "10", "2000", "2024-01-01" },
	};
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < NCOLS; c++)
			add_text(&t[r / 2].cols[c], rows[r][c]);
	setup_job(&job, spec, t, pol, 2);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_OK);
	assert_true(kt_same_result(o.federated[0], o.central[0], NULL));
	row = json_array_get(json_object_get(o.federated[0], "rows"), 0);
	assert_true(json_real_value(json_array_get(row, 0)) == 1000 + 10.5 + 0 + 1000);
	meta = json_object_get(o.federated[0], "meta");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "clamped"), "cost")), 3);
	kt_outcome_release(&o);
	json_decref(spec);
	/* A group key outside the public domain ('mars') is counted, not grouped. */
	spec = make_spec("SELECT region, COUNT(*) FROM clinic0.visits UNION ALL clinic1.visits GROUP BY region",
			 2, 0, NULL);
	job.spec = spec;
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_OK);
	meta = json_object_get(o.federated[0], "meta");
	assert_int_equal(json_integer_value(json_object_get(meta, "rows_outside_domain")), 1);
	assert_int_equal(json_array_size(json_object_get(o.federated[0], "rows")), 2);
	kt_outcome_release(&o);
	json_decref(spec);
	for (int p = 0; p < 2; p++) {
		table_release(&t[p]);
		kt_policy_free(pol[p]);
	}
}

/* ---- differential privacy ------------------------------------------------------- */

static void test_dp(void **state)
{
	struct table t[3];
	struct sr_policy *pol[3];
	json_t *spec;
	struct kt_outcome o;
	struct kt_job job;
	struct sr_verdict v;
	const json_t *meta, *rows;
	sqlite3 *db;
	json_t *want;

	(void)state;
	for (size_t p = 0; p < 3; p++) {
		table_make(&t[p], p, 77 + p, 3000, 0);
		pol[p] = make_policy(", \"min_group_size\": 5, \"dp\": {\"epsilon_total\": 10,"
				     " \"epsilon_max_per_job\": 2, \"delta\": 1e-6}");
	}
	/* The tables have repeated identities: under DP each input keeps one
	 * row per identity, so the oracle is SQLite over the first rows. */
	spec = make_spec("SELECT region, COUNT(*), SUM(cost), AVG(age), VAR_POP(cost) FROM clinic0.visits"
			 " UNION ALL clinic1.visits UNION ALL clinic2.visits GROUP BY region ORDER BY region",
			 3, 0, "{\"epsilon\": \"2\", \"delta\": \"0.000001\"}");
	if (!checked(spec, pol, 3, &v)) {
		print_verdict(&v);
		fail_msg("dp query refused");
	}
	sr_verdict_release(&v);
	setup_job(&job, spec, t, pol, 3);
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("dp: %s | %s", o.federated_msg[0], o.federated_msg[1]);
	assert_int_equal(o.central_rc[0], SR_OK);
	meta = json_object_get(o.federated[0], "meta");
	assert_non_null(json_object_get(meta, "dp"));
	assert_null(json_object_get(meta, "clamped"));
	assert_non_null(json_object_get(meta, "intervals"));
	rows = json_object_get(o.federated[0], "rows");
	db = pooled_db(t, 3);
	want = so_sqlite_rows(db, "SELECT region, COUNT(*), SUM(cost), AVG(age), VAR_POP(cost) FROM"
			   " (SELECT * FROM pooled WHERE rowid IN (SELECT MIN(rowid) FROM pooled GROUP BY pid))"
			   " GROUP BY region ORDER BY region");
	/* Four regions and NULL: every group is large, none suppressed. */
	assert_int_equal(json_array_size(rows), json_array_size(want));
	for (size_t r = 0; r < json_array_size(rows); r++) {
		const json_t *got = json_array_get(rows, r), *w = json_array_get(want, r);
		const json_t *iv = json_array_get(json_array_get(json_object_get(meta, "intervals"), r), 1);
		double count = (double)json_integer_value(json_array_get(got, 1));
		double wcount = (double)json_integer_value(json_array_get(w, 1));
		assert_true(json_equal(json_array_get(got, 0), json_array_get(w, 0)));
		/* Noise is present but small: the Skellam of epsilon 2/7 per cell. */
		assert_true(fabs(count - wcount) < 200);
		assert_true(fabs(json_number_value(json_array_get(got, 2)) -
				 json_number_value(json_array_get(w, 2))) < 200 * 1000.0);
		assert_true(json_is_array(iv));
		assert_true(json_number_value(json_array_get(iv, 0)) <= count);
		assert_true(json_number_value(json_array_get(iv, 1)) >= count);
	}
	json_decref(want);
	sqlite3_close(db);
	kt_outcome_release(&o);
	json_decref(spec);
	for (size_t p = 0; p < 3; p++) {
		table_release(&t[p]);
		kt_policy_free(pol[p]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_clamped),
		cmocka_unit_test(test_oracle_corpus),
		cmocka_unit_test(test_masked_keys),
		cmocka_unit_test(test_dp),
	};
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
