#!/usr/bin/env bash
# PostgreSQL as a source, against a real server this test starts
# (tests/integration/pg.sh): types from PostgreSQL's, SQL NULL, escapes and
# UTF-8 through COPY, --table and --query, the policy's bounds; the
# connection string from the environment or a 0600 file; and every failure
# (connection refused, wrong password, bad query, a query failing midway,
# a dropped connection, a timestamp, a write) a one-line error with the
# server's message and without the password, with nothing imported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"

pg_start
H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test

nothing_imported() {
	run_expect 0 sr dataset list --json --home "$H"
	case "$OUT" in *"\"$1\""*) fail "dataset $1 was imported" ;; esac
	[ -z "$(ls -A "$H/tmp")" ] || fail "files left in $H/tmp"
	ok
}
no_password() {
	case "$ERR$OUT" in *"$PG_PASS"*) fail "the password was shown: $ERR" ;; esac
	ok
}
one_line() {
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "not one line: $ERR"
	ok
}

pg_sql <<'SQL'
CREATE TABLE customers (
  customer_id bigint, age smallint, visits integer, balance numeric(12,2),
  points numeric(10,0), ratio numeric, score real, weight double precision,
  active boolean, joined date, name text, city varchar(40), ref uuid);
INSERT INTO customers VALUES
  (1, 34, 10, 1200.50, 7, 0.25, 1.5, 70.125, true, '2020-01-31', 'Ann', 'Köln', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (2, NULL, 0, -3.25, 0, NULL, NULL, 0, false, '1999-12-31', E'tab\there', E'new\nline', NULL),
  (3, 51, 2147483647, 0, 12345678, 1e-7, -0.5, 1e300, NULL, NULL, E'back\\slash "q"', '', NULL),
  (4, 19, 5, 99.99, 1, 3, 2, 3, true, '2021-06-15', 'Zoë', 'NA', NULL);
CREATE TABLE events (id int, at timestamp);
SQL

cat >"$WORK/p.json" <<'JSON'
{"columns": {"customer_id": {"class": "id"}, "age": {"class": "qi", "bounds": [18, 100]},
  "visits": {"class": "sa"}, "balance": {"class": "sa", "bounds": [-10000, 10000]},
  "points": {"class": "sa"}, "ratio": {"class": "sa"}, "score": {"class": "sa"},
  "weight": {"class": "sa"}, "active": {"class": "public"}, "joined": {"class": "qi"},
  "name": {"class": "id"}, "city": {"class": "qi"}, "ref": {"class": "id"}},
 "nulls": ["NA"]}
JSON

run_expect 0 sr dataset import c --from "$PG_URL" --table customers --policy "$WORK/p.json" --home "$H"
contains "$OUT" "imported c: 4 rows, 13 columns"
no_password
run_expect 0 sr dataset show c --json --home "$H"
/usr/bin/python3 - "$WORK/out" <<'PY' || fail "types from PostgreSQL"
import json, sys
d = json.load(open(sys.argv[1]))
types = {c["name"]: c["type"] for c in d["schema"]}
want = {"customer_id": "int64", "age": "int64", "visits": "int64", "balance": "float64",
        "points": "int64", "ratio": "float64", "score": "float64", "weight": "float64",
        "active": "bool", "joined": "date", "name": "string", "city": "string", "ref": "string"}
assert types == want, types
PY
ok
run_expect 0 sr dataset export c --home "$H"
cat >"$WORK/want.csv" <<'CSV'
customer_id,age,visits,balance,points,ratio,score,weight,active,joined,name,city,ref
1,34,10,1200.5,7,0.25,1.5,70.125,true,2020-01-31,Ann,Köln,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11
2,,0,-3.25,0,,,0,false,1999-12-31,tab	here,"new
line",
3,51,2147483647,0,12345678,1e-07,-0.5,1e+300,,,"back\slash ""q""","",
4,19,5,99.99,1,3,2,3,true,2021-06-15,Zoë,,
CSV
diff "$WORK/want.csv" "$WORK/out" >&2 || fail "export differs"
ok
# The policy's null token "NA" applies to PostgreSQL's text as to a CSV
# field (row 4's city).

# --query, with a bound that fails, then --clamp.
run_expect 1 sr dataset import q --from "$PG_URL" --query "SELECT customer_id, age FROM customers ORDER BY customer_id;" \
	--policy "$WORK/p.json" --home "$H"
contains "$ERR" "policy: column 'visits' is not in the dataset"
cat >"$WORK/q.json" <<'JSON'
{"columns": {"customer_id": {"class": "id"}, "age": {"class": "qi", "bounds": [20, 40]}}}
JSON
run_expect 1 sr dataset import q --from "$PG_URL" --query "SELECT customer_id, age FROM customers ORDER BY customer_id" \
	--policy "$WORK/q.json" --home "$H"
contains "$ERR" "postgresql://sr@127.0.0.1:$PG_PORT/postgres: row 3, column 2 (age): value '51' is outside the bounds [20, 40] of the policy"
one_line
no_password
nothing_imported q
run_expect 0 sr dataset import q --from "$PG_URL" --query "SELECT customer_id, age FROM customers ORDER BY customer_id" \
	--policy "$WORK/q.json" --clamp --home "$H"
contains "$ERR" "column age: 2 values clamped to the bounds [20, 40]"

# The connection string from the environment or from a 0600 file.
run_expect 1 sr dataset import e --from-env SR_TEST_DB_UNSET --table customers --policy "$WORK/p.json" --home "$H"
contains "$ERR" "--from-env: \$SR_TEST_DB_UNSET is not set"
SR_TEST_DB="$PG_URL" run_expect 0 sr dataset import e --from-env SR_TEST_DB --table customers --policy "$WORK/p.json" --home "$H"
printf '%s\n' "$PG_URL" >"$WORK/db.url"
chmod 0644 "$WORK/db.url"
run_expect 1 sr dataset import f --from-file "$WORK/db.url" --table customers --policy "$WORK/p.json" --home "$H"
contains "$ERR" "db.url: others may read it (mode 0644)"
chmod 0600 "$WORK/db.url"
run_expect 0 sr dataset import f --from-file "$WORK/db.url" --table public.customers --policy "$WORK/p.json" --home "$H"
contains "$OUT" "imported f: 4 rows"

# Failures: one line, the server's message, no password, nothing imported.
run_expect 1 sr dataset import x --from "postgresql://sr:wrong-secret@127.0.0.1:$PG_PORT/postgres" --table customers \
	--policy "$WORK/p.json" --home "$H"
contains "$ERR" "postgresql://sr@127.0.0.1:$PG_PORT/postgres: cannot connect:"
contains "$ERR" "password authentication failed for user \"sr\""
case "$ERR" in *wrong-secret*) fail "the password was shown: $ERR" ;; esac
one_line
nothing_imported x
run_expect 1 sr dataset import x --from "postgresql://sr:$PG_PASS@127.0.0.1:1/postgres" --table customers \
	--policy "$WORK/p.json" --home "$H"
contains "$ERR" "cannot connect: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
no_password
one_line
nothing_imported x
run_expect 1 sr dataset import x --from "$PG_URL" --query "SELECT * FROM no_such_table" --policy "$WORK/p.json" --home "$H"
contains "$ERR" "query refused: ERROR: relation \"no_such_table\" does not exist"
one_line
nothing_imported x
run_expect 1 sr dataset import x --from "$PG_URL" --table events --classify-by-name --home "$H"
contains "$ERR" "column 2 (at) is a timestamp, which sealroom does not store: cast it in the query, to a date (at::date) or to text (at::text)"
nothing_imported x
run_expect 1 sr dataset import x --from "$PG_URL" --query "SELECT 1, 2" --classify-by-name --home "$H"
contains "$ERR" "columns 1 and 2 are both named '?column?': name them apart with AS in the query"
run_expect 1 sr dataset import x --from "$PG_URL" --query "DELETE FROM customers RETURNING customer_id" --classify-by-name --home "$H"
contains "$ERR" "cannot execute DELETE in a read-only transaction"
pg_sql -c "SELECT count(*) FROM customers" -t -A >"$WORK/n"
[ "$(cat "$WORK/n")" = 4 ] || fail "the query changed the database"
ok
# A query that fails midway (rows already streamed and sealed).
cat >"$WORK/m.json" <<'JSON'
{"columns": {"customer_id": {"class": "id"}, "inverse": {"class": "sa"}}}
JSON
run_expect 1 sr dataset import m --from "$PG_URL" \
	--query "SELECT i AS customer_id, 1000000 / (i - 150000) AS inverse FROM generate_series(1, 200000) i" \
	--policy "$WORK/m.json" --home "$H"
contains "$ERR" "query failed: ERROR: division by zero"
one_line
nothing_imported m
# A server that drops the connection midway.
set +e
"$SEALROOM" dataset import big --from "$PG_URL" --policy "$WORK/m.json" --home "$H" \
	--query "SELECT i AS customer_id, i % 7 AS inverse FROM generate_series(1, 2000000000) i" \
	>"$WORK/big.out" 2>"$WORK/big.err" &
BIG=$!
set -e
for _ in $(seq 1 200); do
	n=$(pg_sql -t -A -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sealroom' AND state = 'active'")
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
sleep 0.5
pg_sql -t -A -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sealroom'" >/dev/null
set +e
wait "$BIG"
code=$?
set -e
[ "$code" -eq 1 ] || fail "import after a dropped connection: exit $code, $(cat "$WORK/big.err")"
ERR=$(cat "$WORK/big.err")
contains "$ERR" "terminating connection due to administrator command"
one_line
nothing_imported big
# Usage errors.
run_expect 2 sr dataset import x "$WORK/p.json" --from "$PG_URL" --table customers --home "$H"
contains "$ERR" "expected NAME alone with --from"
run_expect 2 sr dataset import x --from "$PG_URL" --home "$H"
contains "$ERR" "give --query SQL or --table T"
run_expect 1 sr dataset import x --from "mysql://x" --table t --home "$H"
contains "$ERR" "--from: expected a postgresql:// URL"
run_expect 2 sr dataset import x --from "$PG_URL" --table customers --skip-lines 1 --home "$H"
contains "$ERR" "do not apply to --from"

finish
