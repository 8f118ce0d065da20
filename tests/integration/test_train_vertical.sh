#!/usr/bin/env bash
# Vertical training (the `train` kind, "mode": "vertical", SecureBoost;
# docs/protocols/train.md) between a bank (the label and two features) and
# a shop (two features) that know some of the same customers, as real
# coordinator and node processes on loopback.  What it proves:
#  - the governed job aligns the customers by PSI inside the job, trains
#    and evaluates; the receiver (the bank) gets the result, with the
#    shop's splits named "party ORG split #k"; the row counts match the
#    intersection of the two CSVs; a ROC plot writes a well-formed SVG;
#  - each party keeps its own model part, sealed in its node.db, and
#    `sealroom model list|show` prints it (own thresholds, "party P
#    split #k" for the other's);
#  - vertical logistic regression ("model": "lr", Paillier): the result
#    has the bank's weight and the shop's features without weights, each
#    party keeps its weights (`model show`), a NULL feature fails the job
#    at both naming it;
#  - the shop killed mid-training fails the job at both parties, with no
#    model part kept anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in bank shop; do org_init "$o"; done
/usr/bin/python3 - "$WORK" <<'PY'
import math, random, sys
r = random.Random(7)
people = []
for i in range(700):
    income, debt = r.uniform(10, 200), r.uniform(0, 100)
    spend, visits = r.uniform(0, 50), r.randint(0, 30)
    z = -0.03 * (income - 100) + 0.04 * (debt - 50) + 0.06 * (spend - 25) - 0.1 * (visits - 15)
    people.append((1000 + 3 * i, income, debt, spend, visits, int(r.random() < 1 / (1 + math.exp(-z)))))
bank = [p for p in people if p[0] % 7 != 1]
shop = [p for p in people if p[0] % 5 != 2]
r.shuffle(shop)
with open(sys.argv[1] + "/bank.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in bank:
        f.write("%d,%.2f,%s,%d\n" % (p[0], p[1], "" if p[0] % 11 == 0 else "%.2f" % p[2], p[5]))
with open(sys.argv[1] + "/shop.csv", "w") as f:
    f.write("cid,spend,visits\n")
    for p in shop:
        f.write("%d,%.2f,%d\n" % (p[0], p[3], p[4]))
PY
cat >"$WORK/bank-pol.json" <<JSON
{"columns": {"id": {"class": "id"}, "income": {"class": "sa"}, "debt": {"class": "sa"},
             "default": {"class": "sa", "domain": [0, 1]}},
 "jobs": ["train"], "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
cat >"$WORK/shop-pol.json" <<JSON
{"columns": {"cid": {"class": "id"}, "spend": {"class": "sa"}, "visits": {"class": "sa"}},
 "jobs": ["train"], "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import members "$WORK/shop.csv" --policy "$WORK/shop-pol.json" --home "$WORK/shop" >/dev/null
for o in bank shop; do node_start "$o" --job-timeout 5; done
project_setup bank shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish members --project "$PROJECT" >/dev/null

spec() {   # spec TREES > spec.json
	cat >"$WORK/spec.json" <<JSON
{"kind": "train", "mode": "vertical", "model": "gbdt",
 "trees": $1, "depth": 3, "bins": 16, "learning_rate": "0.3", "test_ratio": "0.25",
 "inputs": [{"dataset": "bank.customers", "key": "id", "features": ["income", "debt"],
             "label": "default"},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
}
propose() {   # propose -> JOB, approved by both
	run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json
	echo "$OUT" >"$WORK/prop.json"
	contains "$OUT" '"accept": true'
	JOB=$(json_get "$WORK/prop.json" job_id)
	for o in bank shop; do
		for i in $(seq 1 100); do
			as "$o" steward job approve "$JOB" >/dev/null 2>&1 && break
			sleep 0.2
		done
	done
}
parts() {   # parts ORG JOB: the model parts node.db keeps for JOB
	/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(" ".join(r[0] for r in db.execute("SELECT name FROM node_models WHERE job_id = ? ORDER BY name", (sys.argv[2],))))' \
		"$WORK/$1/node.db" "$2"
}

# --- a job to the end -----------------------------------------------------------
spec 4
propose
wait_state bank "$JOB" finished 120
as bank analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 - "$WORK/result.json" "$WORK/bank.csv" "$WORK/shop.csv" "${ORG_ID[shop]}" <<'PY' || fail "the vertical result is not what the data says"
import csv, json, sys
res = json.load(open(sys.argv[1]))
meta = res["meta"]
bank = [int(r["id"]) for r in csv.DictReader(open(sys.argv[2]))]
shop = {int(r["cid"]) for r in csv.DictReader(open(sys.argv[3]))}
common = [i for i in bank if i in shop]
assert meta["kind"] == "train" and meta["mode"] == "vertical", meta
assert meta["aligned_rows"] == len(common), (meta["aligned_rows"], len(common))
assert meta["train_rows"] + meta["test_rows"] == len(common), meta
splits = [r[2] for r in res["rows"] if r[2] is not None]
assert any(s.startswith("party %s split #" % sys.argv[4]) for s in splits), splits
assert any(s in ("income", "debt") for s in splits), splits
ev = meta["evaluation"]
assert 0.6 < ev["auc"] <= 1 and len(ev["roc"]) > 2, ev
print("aligned %d rows, AUC %.4f, KS %.4f" % (len(common), ev["auc"], ev["ks"]))
PY
ok
run_expect 1 as shop analyst job result "$JOB"
contains "$ERR" "no result"
run_expect 0 as bank analyst job result "$JOB" --plot roc "$WORK/roc.svg"
/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; r = m.parse(sys.argv[1]).documentElement; assert r.tagName == "svg" and len(r.getElementsByTagName("polyline")) == 1' "$WORK/roc.svg" ||
	fail "the ROC plot is not a well-formed SVG with one curve"
wait_state shop "$JOB" finished 30
[ "$(parts bank "$JOB")" = "secureboost-model" ] || fail "bank keeps: '$(parts bank "$JOB")'"
[ "$(parts shop "$JOB")" = "secureboost-part" ] || fail "shop keeps: '$(parts shop "$JOB")'"
run_expect 0 as bank analyst model list
contains "$OUT" "secureboost-model"
run_expect 0 as bank analyst model show "$JOB"
contains "$OUT" "party 1 (shop.members) split #"
echo "$OUT" | grep -Eq "(income|debt) < " || fail "the bank's own thresholds are not shown: $OUT"
run_expect 0 as shop analyst model show "$JOB"
contains "$OUT" "splits of party 1 (shop.members)"
echo "$OUT" | grep -Eq "split #0: (spend|visits) < " || fail "the shop's thresholds are not shown: $OUT"
ok

# --- vertical logistic regression ("model": "lr") ------------------------------------
lr_spec() {   # lr_spec BANK_FEATURES > spec.json
	cat >"$WORK/spec.json" <<JSON
{"kind": "train", "mode": "vertical", "model": "lr",
 "epochs": 6, "batch": 64, "learning_rate": "0.25", "l2": "0.001", "test_ratio": "0.25",
 "inputs": [{"dataset": "bank.customers", "key": "id", "features": [$1],
             "label": "default"},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
}
lr_spec '"income"'
propose
wait_state bank "$JOB" finished 180
as bank analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 - "$WORK/result.json" "$WORK/bank.csv" "$WORK/shop.csv" "${ORG_ID[bank]}" "${ORG_ID[shop]}" <<'PY' || fail "the vertical lr result is not what the data says"
import csv, json, sys
res = json.load(open(sys.argv[1]))
meta = res["meta"]
bank = [int(r["id"]) for r in csv.DictReader(open(sys.argv[2]))]
shop = {int(r["cid"]) for r in csv.DictReader(open(sys.argv[3]))}
common = [i for i in bank if i in shop]
assert meta["model"] == "lr" and meta["mode"] == "vertical", meta
assert meta["aligned_rows"] == len(common), (meta["aligned_rows"], len(common))
assert meta["train_rows"] + meta["test_rows"] == len(common), meta
assert meta["epochs_run"] == 6 and meta["vertical_lr"]["ciphertexts_decrypted"] > 0, meta
rows = {r[0]: r for r in res["rows"]}
assert set(rows) == {"(intercept)", "income", "spend", "visits"}, rows
assert rows["income"][1] == sys.argv[4] and isinstance(rows["income"][2], float), rows
# The label falls with income: a negative weight on the scaled income.
assert rows["income"][2] < 0, rows
# The shop's weights stay at the shop.
assert rows["spend"][1] == sys.argv[5] and rows["spend"][2] is None and rows["visits"][2] is None, rows
ev = meta["evaluation"]
assert 0.6 < ev["auc"] <= 1 and len(ev["roc"]) > 2, ev
print("vertical lr: aligned %d rows, AUC %.4f, income weight %.4f" % (len(common), ev["auc"], rows["income"][2]))
PY
ok
wait_state shop "$JOB" finished 30
[ "$(parts bank "$JOB")" = "vlr-model" ] || fail "bank keeps: '$(parts bank "$JOB")'"
[ "$(parts shop "$JOB")" = "vlr-part" ] || fail "shop keeps: '$(parts shop "$JOB")'"
run_expect 0 as bank analyst model show "$JOB"
contains "$OUT" "logistic regression weights of party 0 (bank.customers)"
contains "$OUT" "intercept"
echo "$OUT" | grep -Eq "^  income  -" || fail "the bank's weight is not shown: $OUT"
run_expect 0 as shop analyst model show "$JOB"
contains "$OUT" "logistic regression weights of party 1 (shop.members)"
echo "$OUT" | grep -q "intercept" && fail "the shop shows an intercept: $OUT"
echo "$OUT" | grep -Eq "^  (spend|visits)  " || fail "the shop's weights are not shown: $OUT"
ok
# A NULL feature (the bank's debt) fails the job at both, nothing kept.
lr_spec '"income", "debt"'
propose
wait_state bank "$JOB" failed 120
wait_state shop "$JOB" failed 60
as bank analyst job show "$JOB" --json >"$WORK/j.json"
grep -q "missing value" "$WORK/j.json" || fail "the failure does not name the missing value: $(cat "$WORK/j.json")"
[ -z "$(parts bank "$JOB")" ] && [ -z "$(parts shop "$JOB")" ] || fail "a part of a failed lr job was kept"
ok

# --- the shop killed mid-training ------------------------------------------------------
spec 2000
propose
for i in $(seq 1 300); do
	as bank analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
	grep -q '"SecureBoost training"' "$WORK/j.json" && break
	sleep 0.1
done
grep -q '"SecureBoost training"' "$WORK/j.json" || fail "the job never started training: $(cat "$WORK/j.json")"
sleep 1
kill -KILL "${NODE_PID[shop]}"
wait "${NODE_PID[shop]}" 2>/dev/null || true
wait_state bank "$JOB" failed 60
node_start shop --job-timeout 5
wait_state shop "$JOB" failed 60
run_expect 1 as bank analyst job result "$JOB"
[ -z "$(parts bank "$JOB")" ] || fail "bank kept a part of a failed job"
[ -z "$(parts shop "$JOB")" ] || fail "shop kept a part of a failed job"
run_expect 1 as bank analyst model show "$JOB"
contains "$ERR" "keeps no model part"
ok
finish
