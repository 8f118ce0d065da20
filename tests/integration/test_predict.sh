#!/usr/bin/env bash
# The `predict` kind (docs/protocols/predict.md) between a bank and a shop
# as real coordinator and node processes on loopback.  What it proves:
#  - a vertical SecureBoost model trained by a `train` job scores the
#    bank's new applicants (another dataset, rows the model never saw)
#    with the shop's current members, aligned by PSI inside the job; the
#    receiver's scores equal those of the parts put together (each node's
#    `model show --json`, evaluated here in Python on the pooled CSVs),
#    for exactly the applicants the shop also knows, in the bank's order;
#  - a spec naming other features than the part was trained on, or a job
#    that is not a finished train job, fails the job at both parties;
#  - a vertical LR model trained through the same processes scores the
#    new applicants within the fixed-point bound of the parts' weights
#    (`model show --json`) evaluated in Python;
#  - the shop killed mid-predict fails the job at both parties, nothing
#    released.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in bank shop; do org_init "$o"; done
/usr/bin/python3 - "$WORK" <<'PY'
import math, random, sys
r = random.Random(11)
def person(i):
    income, debt = r.uniform(10, 200), r.uniform(0, 100)
    spend, visits = r.uniform(0, 50), r.randint(0, 30)
    z = -0.03 * (income - 100) + 0.04 * (debt - 50) + 0.06 * (spend - 25) - 0.1 * (visits - 15)
    return (1000 + 3 * i, income, debt, spend, visits, int(r.random() < 1 / (1 + math.exp(-z))))
people = [person(i) for i in range(900)]
big = [person(i) for i in range(900, 60900)]
def bank_row(p, label):
    debt = "" if p[0] % 11 == 0 else "%.2f" % p[2]
    return "%d,%.2f,%s%s\n" % (p[0], p[1], debt, ",%d" % p[5] if label else "")
with open(sys.argv[1] + "/bank.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in people[:600]:
        if p[0] % 7 != 1:
            f.write(bank_row(p, True))
with open(sys.argv[1] + "/applicants.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in reversed(people[600:]):
        f.write(bank_row(p, True))
# Complete rows for the logistic-regression model.
with open(sys.argv[1] + "/bank-lr.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in people[:600]:
        f.write("%d,%.2f,%.2f,%d\n" % (p[0], p[1], p[2], p[5]))
with open(sys.argv[1] + "/applicants-lr.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in reversed(people[600:]):
        f.write("%d,%.2f,%.2f,%d\n" % (p[0], p[1], p[2], p[5]))
with open(sys.argv[1] + "/applicants-big.csv", "w") as f:
    f.write("id,income,debt\n")
    for p in people[600:] + big:
        f.write(bank_row(p, False))
shop = [p for p in people + big if p[0] % 5 != 2]
r.shuffle(shop)
with open(sys.argv[1] + "/shop.csv", "w") as f:
    f.write("cid,spend,visits\n")
    for p in shop:
        f.write("%d,%.2f,%d\n" % (p[0], p[3], p[4]))
PY
cat >"$WORK/bank-pol.json" <<JSON
{"columns": {"id": {"class": "id"}, "income": {"class": "sa"}, "debt": {"class": "sa"},
             "default": {"class": "sa", "domain": [0, 1]}},
 "jobs": ["train", "predict"], "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
cat >"$WORK/big-pol.json" <<JSON
{"columns": {"id": {"class": "id"}, "income": {"class": "sa"}, "debt": {"class": "sa"}},
 "jobs": ["predict"], "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
cat >"$WORK/shop-pol.json" <<JSON
{"columns": {"cid": {"class": "id"}, "spend": {"class": "sa"}, "visits": {"class": "sa"}},
 "jobs": ["train", "predict"], "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import applicants "$WORK/applicants.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import customerslr "$WORK/bank-lr.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import applicantslr "$WORK/applicants-lr.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import bigapplicants "$WORK/applicants-big.csv" --policy "$WORK/big-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import members "$WORK/shop.csv" --policy "$WORK/shop-pol.json" --home "$WORK/shop" >/dev/null
for o in bank shop; do node_start "$o" --job-timeout 5; done
project_setup bank shop
for d in customers applicants customerslr applicantslr bigapplicants; do
	as bank steward dataset publish "$d" --project "$PROJECT" >/dev/null
done
as shop steward dataset publish members --project "$PROJECT" >/dev/null

# --- train ------------------------------------------------------------------------------
cat >"$WORK/spec.json" <<JSON
{"kind": "train", "mode": "vertical", "model": "gbdt",
 "trees": 5, "depth": 3, "bins": 16, "learning_rate": "0.3", "test_ratio": "0.25",
 "inputs": [{"dataset": "bank.customers", "key": "id", "features": ["income", "debt"],
             "label": "default"},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
propose_job bank bank shop
MODEL=$JOB
wait_state bank "$MODEL" finished 120
wait_state shop "$MODEL" finished 30
as bank analyst model show "$MODEL" --json >"$WORK/bank-model.json"
as shop analyst model show "$MODEL" --json >"$WORK/shop-model.json"
ok

pspec() {   # pspec DATASET SHOP_FEATURES [MODEL] > spec.json
	cat >"$WORK/spec.json" <<JSON
{"kind": "predict", "model": "${3:-$MODEL}",
 "inputs": [{"dataset": "bank.$1", "key": "id", "features": ["income", "debt"]},
            {"dataset": "shop.members", "key": "cid", "features": $2}],
 "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
}

# --- predict the new applicants -----------------------------------------------------------
pspec applicants '["spend", "visits"]'
propose_job bank bank shop
wait_state bank "$JOB" finished 60
wait_state shop "$JOB" finished 30
as bank analyst job result "$JOB" --json >"$WORK/result.json"
as shop analyst job result "$JOB" --json >"$WORK/result-shop.json"
/usr/bin/python3 - "$WORK" "$MODEL" <<'PY' || fail "the predicted scores are not the model's"
import csv, json, math, sys
w = sys.argv[1]
res = json.load(open(w + "/result.json"))
shop_res = json.load(open(w + "/result-shop.json"))
assert res["columns"] == ["row", "score"], res["columns"]
assert res["rows"] == shop_res["rows"], "the receivers got different scores"
assert res["meta"]["kind"] == "predict" and res["meta"]["model"] == sys.argv[2], res["meta"]
def part(f, kind):
    parts = json.load(open(f))["parts"]
    assert len(parts) == 1 and parts[0]["part"]["kind"] == kind, parts
    return parts[0]["part"]
m = part(w + "/bank-model.json", "secureboost-active")
splits = part(w + "/shop-model.json", "secureboost-passive")["splits"]
num = lambda s: float("nan") if s == "" else float(s)
bank = [(int(r["id"]), num(r["income"]), num(r["debt"])) for r in csv.DictReader(open(w + "/applicants.csv"))]
labels = [int(r["default"]) for r in csv.DictReader(open(w + "/applicants.csv"))]
shop = {int(r["cid"]): (num(r["spend"]), num(r["visits"])) for r in csv.DictReader(open(w + "/shop.csv"))}
def go_left(x, thr, missing_left):
    return bool(missing_left) if math.isnan(x) else x < thr
def score(b, s):
    margin = float.fromhex(m["base_margin"])
    for t in m["trees"][:m["best_trees"]]:
        n = t[0]
        while n[0]:
            if n[2] == 0:
                left = go_left(b[1 + n[4]], float.fromhex(n[6]), n[7])
            else:
                sp = splits[n[3]]
                left = go_left(s[sp[0]], float.fromhex(sp[2]), sp[3])
            n = t[n[0] if left else n[1]]
        margin += float.fromhex(n[8])
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    e = math.exp(margin)
    return e / (1.0 + e)
want = [[i, score(b, shop[b[0]])] for i, b in enumerate(bank) if b[0] in shop]
got = res["rows"]
assert len(got) == len(want) == res["meta"]["aligned_rows"], (len(got), len(want))
assert [g[0] for g in got] == [x[0] for x in want], "rows not in the bank's order"
bad = [(g, x) for g, x in zip(got, want) if g[1] != x[1]]
assert not bad, "scores differ: %s" % bad[:3]
# AUC of the scores against the applicants' labels (which the job never read).
pos = [g[1] for g in got if labels[g[0]] == 1]
neg = [g[1] for g in got if labels[g[0]] == 0]
auc = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
assert auc > 0.6, auc
print("scored %d applicants exactly as the parts say, AUC %.4f" % (len(got), auc))
PY
ok

# --- bad specs fail at both parties --------------------------------------------------------
pspec applicants '["visits", "spend"]'
propose_job bank bank shop
wait_state bank "$JOB" failed 60
wait_state shop "$JOB" failed 30
grep -q "must be exactly the features" "$WORK/job.json" || fail "wrong features: $(cat "$WORK/job.json")"
run_expect 1 as bank analyst job result "$JOB"
PREV=$JOB
pspec applicants '["spend", "visits"]' "$PREV"
propose_job bank bank shop
wait_state bank "$JOB" failed 60
grep -q "is not a finished train job in this project" "$WORK/job.json" ||
	fail "a failed job as the model: $(cat "$WORK/job.json")"
ok

# --- a vertical logistic-regression model ---------------------------------------------------
cat >"$WORK/spec.json" <<JSON
{"kind": "train", "mode": "vertical", "model": "lr", "epochs": 5, "batch": 64,
 "learning_rate": "0.25", "test_ratio": "0.25",
 "inputs": [{"dataset": "bank.customerslr", "key": "id", "features": ["income", "debt"],
             "label": "default"},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
propose_job bank bank shop
LRMODEL=$JOB
wait_state bank "$LRMODEL" finished 180
wait_state shop "$LRMODEL" finished 30
as bank analyst model show "$LRMODEL" --json >"$WORK/bank-lr-model.json"
as shop analyst model show "$LRMODEL" --json >"$WORK/shop-lr-model.json"
pspec applicantslr '["spend", "visits"]' "$LRMODEL"
propose_job bank bank shop
wait_state bank "$JOB" finished 60
wait_state shop "$JOB" finished 30
as bank analyst job result "$JOB" --json >"$WORK/result-lr.json"
as shop analyst job result "$JOB" --json >"$WORK/result-lr-shop.json"
/usr/bin/python3 - "$WORK" <<'PY' || fail "the LR scores are not the model's"
import csv, json, math, sys
w = sys.argv[1]
res = json.load(open(w + "/result-lr.json"))
assert res["rows"] == json.load(open(w + "/result-lr-shop.json"))["rows"], "the receivers differ"
assert res["meta"]["model_type"] == "lr", res["meta"]
def part(f, kind):
    parts = json.load(open(f))["parts"]
    assert len(parts) == 1 and parts[0]["part"]["kind"] == kind, parts
    return parts[0]["part"]
a = part(w + "/bank-lr-model.json", "vlr-active")
p = part(w + "/shop-lr-model.json", "vlr-passive")
def scaled(m, f, x):
    lo, hi = m["lo"][f], m["hi"][f]
    return max(-1.0, min(1.0, 2 * (x - lo) / (hi - lo) - 1)) if hi > lo else 0.0
bank = [(int(r["id"]), float(r["income"]), float(r["debt"])) for r in csv.DictReader(open(w + "/applicants-lr.csv"))]
shop = {int(r["cid"]): (float(r["spend"]), float(r["visits"])) for r in csv.DictReader(open(w + "/shop.csv"))}
def score(b, s):
    z = a["intercept"] + sum(a["weights"][f] * scaled(a, f, b[1 + f]) for f in range(2))
    z += sum(p["weights"][f] * scaled(p, f, s[f]) for f in range(2))
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
want = [[i, score(b, shop[b[0]])] for i, b in enumerate(bank) if b[0] in shop]
got = res["rows"]
assert len(got) == len(want) == res["meta"]["aligned_rows"], (len(got), len(want))
assert [g[0] for g in got] == [x[0] for x in want], "rows not in the bank's order"
worst = max(abs(g[1] - x[1]) for g, x in zip(got, want))
assert worst <= 1e-9, worst   # sr_ml_vlr_predict_bound: about 1e-10 here
print("LR: scored %d applicants as the parts' weights say, max difference %.3g" % (len(got), worst))
PY
ok

# --- the shop killed mid-predict ---------------------------------------------------------------
pspec bigapplicants '["spend", "visits"]'
propose_job bank bank shop
for i in $(seq 1 300); do
	as bank analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
	grep -q '"aligning rows by PSI"\|"scoring the aligned rows jointly"' "$WORK/j.json" && break
	sleep 0.05
done
grep -q '"aligning rows by PSI"\|"scoring the aligned rows jointly"' "$WORK/j.json" ||
	fail "the job was never seen running: $(cat "$WORK/j.json")"
kill -KILL "${NODE_PID[shop]}"
wait "${NODE_PID[shop]}" 2>/dev/null || true
wait_state bank "$JOB" failed 60
node_start shop --job-timeout 5
wait_state shop "$JOB" failed 60
run_expect 1 as bank analyst job result "$JOB"
run_expect 1 as shop analyst job result "$JOB"
ok
finish
