#!/usr/bin/env bash
# A kind that is not PSI through the generic runner, with real processes:
# the test-only kind test_sum (tests/kinds/sum/), in nodes built as
# sealroom-test, against a coordinator that does not know the kind.
# What it proves:
#  - the runner, the checker, the channels and the result envelope are
#    generic: a new kind needs no change to them;
#  - the sum equals the plaintext sum; only the receiver has it;
#  - the production binary does not know test kinds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"
: "${SEALROOM_TEST:?SEALROOM_TEST must point at the sealroom-test binary}"

coord_start
PROD=$SEALROOM
SEALROOM=$SEALROOM_TEST
for o in bank shop; do org_init "$o"; done
gen() {   # gen FILE SEED ROWS
	/usr/bin/python3 - "$@" <<'PY'
import random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], "w") as f:
    f.write("customer_id,amount\n")
    for i in range(int(sys.argv[3])):
        f.write("C%06d,%s\n" % (i, "" if i % 17 == 0 else r.randint(-50, 5000)))
PY
}
gen "$WORK/bank.csv" 1 5000
gen "$WORK/shop.csv" 2 3000
cat >"$WORK/pol.json" <<JSON
{"columns": {"customer_id": {"class": "id"}, "amount": {"class": "sa", "bounds": [-50, 5000]}},
 "receivers": ["${ORG_ID[bank]}"]}
JSON
sr dataset import accounts "$WORK/bank.csv" --policy "$WORK/pol.json" --home "$WORK/bank" >/dev/null
sr dataset import orders "$WORK/shop.csv" --policy "$WORK/pol.json" --home "$WORK/shop" >/dev/null
for o in bank shop; do node_start "$o"; done
project_setup bank shop
as bank steward dataset publish accounts --project "$PROJECT" >/dev/null
as shop steward dataset publish orders --project "$PROJECT" >/dev/null
cat >"$WORK/spec.json" <<JSON
{"kind": "test_sum",
 "inputs": [{"dataset": "bank.accounts", "column": "amount"},
            {"dataset": "shop.orders", "column": "amount"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json
echo "$OUT" >"$WORK/prop.json"
contains "$OUT" '"accept": true'
JOB=$(json_get "$WORK/prop.json" job_id)
as bank steward job approve "$JOB" >/dev/null
for i in $(seq 1 100); do
	as shop steward job approve "$JOB" >/dev/null 2>&1 && break
	sleep 0.2
done
wait_state bank "$JOB" finished
as bank analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 - "$WORK/result.json" "$WORK/bank.csv" "$WORK/shop.csv" <<'PY' || fail "sum differs from the plaintext sum"
import csv, json, sys
res = json.load(open(sys.argv[1]))
total, rows = 0, 0
for path in sys.argv[2:]:
    for rec in csv.DictReader(open(path)):
        if rec["amount"] != "":
            total += int(rec["amount"]); rows += 1
assert res["columns"] == ["sum", "rows"], res
assert res["rows"] == [[total, rows]], (res["rows"], total, rows)
assert res["meta"]["kind"] == "test_sum" and len(res["meta"]["output_hash"]) == 64, res["meta"]
PY
ok
run_expect 1 as shop analyst job result "$JOB"
contains "$ERR" "no result"

# A result larger than a SQLite blob should hold (70 MiB) is kept as a
# sealed file and read back whole.
/usr/bin/python3 - "$WORK/spec.json" "$WORK/big.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1])); spec["pad_bytes"] = 70 << 20
json.dump(spec, open(sys.argv[2], "w"))
PY
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/big.json" --json
echo "$OUT" >"$WORK/prop.json"
JOB=$(json_get "$WORK/prop.json" job_id)
as bank steward job approve "$JOB" >/dev/null
for i in $(seq 1 100); do
	as shop steward job approve "$JOB" >/dev/null 2>&1 && break
	sleep 0.2
done
wait_state bank "$JOB" finished 60
ls "$WORK/bank/results/$JOB.sealed" >/dev/null || fail "no sealed result file"
as bank analyst job result "$JOB" --json >"$WORK/big-result.json"
/usr/bin/python3 - "$WORK/big-result.json" <<'PY' || fail "large result not read back"
import json, sys
res = json.load(open(sys.argv[1]))
assert len(res["meta"]["pad"]) == 70 << 20
assert res["columns"] == ["sum", "rows"]
PY
ok

# The production binary's checker does not know the kind.
node_stop bank
SEALROOM=$PROD
node_start bank
run_expect 1 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json"
contains "$ERR" "unknown job kind 'test_sum'"

finish
