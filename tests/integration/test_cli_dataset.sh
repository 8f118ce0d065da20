#!/usr/bin/env bash
# The dataset CLI end to end: init, import with a policy, list, show,
# export (byte-identical), verify, rm; exit codes and error messages.
. "$(dirname "$0")/lib.sh"

H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test
contains "$OUT" "organization id: org_"
run_expect 1 sr init --home "$H" --kdf test
contains "$ERR" "already a node home"

cat >"$WORK/t.csv" <<'CSV'
customer_id,name,age,balance,joined,active,note
C1,"Smith, Ann",34,1200.5,2020-01-31,true,
C2,"O""Neil",,-3.25,2019-12-01,false,""
C3,Zoë,51,0,2021-06-15,true,"two
lines"
CSV
cat >"$WORK/p.json" <<'JSON'
{"columns": {
  "customer_id": {"class": "id", "allow": ["join"]},
  "name": {"class": "id", "allow": []},
  "age": {"class": "qi", "bounds": [0, 120]},
  "balance": {"class": "sa", "bounds": [-10000, 10000]},
  "joined": {"class": "qi"},
  "active": {"class": "public"},
  "note": {"class": "sa"}},
 "min_group_size": 5}
JSON

run_expect 0 sr dataset import t "$WORK/t.csv" --policy "$WORK/p.json" --home "$H"
contains "$OUT" "imported t: 3 rows, 7 columns"

run_expect 0 sr dataset list --home "$H"
contains "$OUT" "t "
run_expect 0 sr dataset list --json --home "$H"
contains "$OUT" '"rows": 3'

run_expect 0 sr dataset show t --home "$H"
contains "$OUT" "balance"
contains "$OUT" "float64"
contains "$OUT" "min group size: 5"
run_expect 0 sr dataset show t --json --home "$H"
contains "$OUT" '"class": "sa"'
contains "$OUT" '"version_id"'

run_expect 0 sr dataset export t --home "$H"
# Canonical forms: the export equals the input (the input is canonical).
diff <(cat "$WORK/t.csv") "$WORK/out" >/dev/null || fail "export differs from input: $OUT"
ok
run_expect 0 sr dataset export t --columns balance,customer_id --home "$H"
contains "$OUT" "balance,customer_id"
contains "$OUT" "-3.25,C2"
run_expect 1 sr dataset export t --columns nope --home "$H"
contains "$ERR" "no column 'nope'"

run_expect 0 sr dataset verify t --home "$H"
contains "$OUT" "ok ("

# Usage errors exit 2, user errors 1, with one-line reasons.
run_expect 2 sr dataset import t
contains "$ERR" "expected NAME and FILE.csv"
run_expect 2 sr dataset frobnicate
run_expect 2 sr frobnicate
run_expect 0 sr dataset --help
contains "$OUT" "usage: sealroom dataset"
run_expect 0 sr init --help
run_expect 0 sr --help
run_expect 1 sr dataset show nope --home "$H"
contains "$ERR" "dataset 'nope' does not exist"
run_expect 1 sr dataset import "Bad Name" "$WORK/t.csv" --policy "$WORK/p.json" --home "$H"
contains "$ERR" "dataset name"
run_expect 1 sr dataset import u "$WORK/missing.csv" --policy "$WORK/p.json" --home "$H"
contains "$ERR" "missing.csv"
run_expect 1 sr dataset list --home "$WORK/nohome"
contains "$ERR" "not a node home"

# Malformed CSV: names file, line and column; nothing imported.
printf 'customer_id,name,age,balance,joined,active,note\nC1,a,1,2,2020-01-01,true,x\nC2,b,1,2\n' >"$WORK/bad.csv"
run_expect 1 sr dataset import bad "$WORK/bad.csv" --policy "$WORK/p.json" --home "$H"
contains "$ERR" "bad.csv: line 3"
run_expect 0 sr dataset list --json --home "$H"
case "$OUT" in *'"bad"'*) fail "half-imported dataset listed" ;; esac
ok

# A row filter is compiled against the columns at import: one that cannot
# run is refused, naming its position; one that can is stored and shown.
sed 's/"min_group_size": 5}/"min_group_size": 5, "row_filter": "agee >= 18"}/' "$WORK/p.json" >"$WORK/pf.json"
run_expect 1 sr dataset import f "$WORK/t.csv" --policy "$WORK/pf.json" --home "$H"
contains "$ERR" "policy: row_filter: 1:1: unknown column 'agee'"
sed 's/"min_group_size": 5}/"min_group_size": 5, "row_filter": "joined > 5"}/' "$WORK/p.json" >"$WORK/pf.json"
run_expect 1 sr dataset import f "$WORK/t.csv" --policy "$WORK/pf.json" --home "$H"
contains "$ERR" "policy: row_filter: 1:8: cannot compare date with int64"
sed 's/"min_group_size": 5}/"min_group_size": 5, "row_filter": "age >= 18 AND joined >= DATE '"'"'2020-01-01'"'"'"}/' "$WORK/p.json" >"$WORK/pf.json"
run_expect 0 sr dataset import f "$WORK/t.csv" --policy "$WORK/pf.json" --home "$H"
run_expect 0 sr dataset show f --home "$H"
contains "$OUT" "row filter: age >= 18 AND joined >= DATE '2020-01-01'"
run_expect 0 sr dataset rm f --home "$H"
ok

# Wrong passphrase: one line, exit 1, nothing changed.
SEALROOM_PASSPHRASE=wrong run_expect 1 sr dataset show t --home "$H"
contains "$ERR" "wrong passphrase"
[ "$(echo "$ERR" | wc -l)" -eq 1 ] || fail "wrong passphrase error is not one line: $ERR"
ok
run_expect 0 sr dataset verify t --home "$H"

# rm shreds and deletes.
run_expect 0 sr dataset rm t --home "$H"
run_expect 1 sr dataset show t --home "$H"
[ -z "$(ls "$H/datasets")" ] || fail "files left after rm"
ok

# File key provider warns at every start.
H2="$WORK/home2"
run_expect 0 sr init --home "$H2" --key-provider file
run_expect 0 sr dataset list --home "$H2"
contains "$ERR" "development only"

finish
