#!/usr/bin/env bash
# Horizontal federated training (the `train` kind, docs/protocols/train.md)
# between three clinics with the same schema, as real coordinator and node
# processes on loopback.  What it proves:
#  - the governed job trains a logistic regression by secure aggregation,
#    and its weights equal plain gradient descent on the pooled rows
#    (numpy here) within the fixed-point bound the result states;
#  - only the receivers get the model and its evaluation; a plot writes
#    a well-formed SVG;
#  - a clinic killed mid-training fails the job at every party, with no
#    result kept anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in c0 c1 c2; do org_init "$o"; done
gen() {   # gen FILE SEED ROWS
	/usr/bin/python3 - "$@" <<'PY'
import math, random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], "w") as f:
    f.write("age,bmi,bp,readmit\n")
    for i in range(int(sys.argv[3])):
        age, bmi, bp = r.randint(18, 90), round(r.uniform(16, 45), 1), r.randint(90, 190)
        z = 0.05 * (age - 55) + 0.12 * (bmi - 28) + 0.02 * (bp - 140) + r.gauss(0, 0.5)
        f.write("%d,%s,%d,%d\n" % (age, bmi, bp, r.random() < 1 / (1 + math.exp(-z))))
PY
}
gen "$WORK/c0.csv" 1 700
gen "$WORK/c1.csv" 2 500
gen "$WORK/c2.csv" 3 300
cat >"$WORK/pol.json" <<JSON
{"columns": {"age": {"class": "sa", "bounds": [0, 100]},
             "bmi": {"class": "sa", "bounds": [10, 60]},
             "bp": {"class": "sa", "bounds": [60, 220]},
             "readmit": {"class": "sa", "domain": [0, 1]}},
 "jobs": ["train"],
 "receivers": ["${ORG_ID[c0]}", "${ORG_ID[c1]}", "${ORG_ID[c2]}"]}
JSON
for o in c0 c1 c2; do
	sr dataset import visits "$WORK/$o.csv" --policy "$WORK/pol.json" --home "$WORK/$o" >/dev/null
	node_start "$o" --job-timeout 5
done
project_setup c0 c1 c2
for o in c0 c1 c2; do as "$o" steward dataset publish visits --project "$PROJECT" >/dev/null; done

spec() {   # spec ROUNDS > spec.json
	cat >"$WORK/spec.json" <<JSON
{"kind": "train", "mode": "horizontal", "model": "lr",
 "features": ["age", "bmi", "bp"], "label": "readmit",
 "rounds": $1, "learning_rate": "1", "l2": "0.001", "test_ratio": "0.2",
 "inputs": [{"dataset": "c0.visits"}, {"dataset": "c1.visits"}, {"dataset": "c2.visits"}],
 "receivers": ["${ORG_ID[c0]}"]}
JSON
}

# --- a job to the end, against numpy ----------------------------------------
spec 40
propose_job c0 c0 c1 c2
wait_state c0 "$JOB" finished 60
as c0 analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 - "$WORK/result.json" "$WORK"/c0.csv "$WORK"/c1.csv "$WORK"/c2.csv <<'PY' || fail "weights differ from gradient descent on the pooled rows"
import csv, json, math, sys
import numpy as np
res = json.load(open(sys.argv[1]))
meta = res["meta"]
lo, hi = np.array([0, 10, 60.0]), np.array([100, 60, 220.0])
xtr, ytr = [], []
for path in sys.argv[2:]:
    seen = [0, 0]
    for rec in csv.DictReader(open(path)):
        x = (np.clip([float(rec["age"]), float(rec["bmi"]), float(rec["bp"])], lo, hi) - lo) / (hi - lo)
        y = int(rec["readmit"])
        test = math.floor((seen[y] + 1) * 0.2) > math.floor(seen[y] * 0.2)
        seen[y] += 1
        if not test:
            xtr.append(x); ytr.append(y)
X, Y = np.array(xtr), np.array(ytr, dtype=float)
w, b = np.zeros(3), 0.0
for _ in range(40):
    p = 1 / (1 + np.exp(-(X @ w + b)))
    g = X.T @ (p - Y)
    w = w - 1.0 * (g / len(Y) + 0.001 * w)
    b = b - 1.0 * (p - Y).sum() / len(Y)
got = {r[0]: r[1] for r in res["rows"]}
diff = max(abs(got["age"] - w[0]), abs(got["bmi"] - w[1]), abs(got["bp"] - w[2]),
           abs(got["(intercept)"] - b))
bound = meta["fixed_point_bound"] + 1e-9
assert diff <= bound, (diff, bound, got, w, b)
assert meta["train_rows"] == len(Y) and meta["train_rows"] + meta["test_rows"] == 1500, meta
ev = meta["evaluation"]
assert 0.5 < ev["auc"] <= 1 and len(ev["roc"]) > 10 and len(ev["gains"]) == 101, ev
assert meta["kind"] == "train", meta
print("max |w - numpy| = %.3g (bound %.3g), AUC %.4f" % (diff, bound, ev["auc"]))
PY
ok
run_expect 1 as c1 analyst job result "$JOB"
contains "$ERR" "no result"
run_expect 0 as c0 analyst job result "$JOB" --plot roc "$WORK/roc.svg"
/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; r = m.parse(sys.argv[1]).documentElement; assert r.tagName == "svg" and len(r.getElementsByTagName("polyline")) == 1' "$WORK/roc.svg" ||
	fail "the ROC plot is not a well-formed SVG with one curve"
run_expect 0 as c0 analyst job result "$JOB" --plot importance "$WORK/imp.svg"
run_expect 1 as c0 analyst job result "$JOB" --plot pie "$WORK/pie.svg"
contains "$ERR" "expected roc, lift, gains or importance"
ok

# --- a clinic killed mid-training ---------------------------------------------
spec 10000
propose_job c0 c0 c1 c2
for i in $(seq 1 150); do
	as c0 analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
	grep -q '"federated training"' "$WORK/j.json" && break
	sleep 0.1
done
grep -q '"federated training"' "$WORK/j.json" || fail "the job never started training: $(cat "$WORK/j.json")"
sleep 0.5
kill -KILL "${NODE_PID[c2]}"
wait "${NODE_PID[c2]}" 2>/dev/null || true
wait_state c0 "$JOB" failed 60
/usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print("c0: failed:", j.get("reason", j))' "$WORK/job.json"
wait_state c1 "$JOB" failed 60
node_start c2 --job-timeout 5
wait_state c2 "$JOB" failed 60
run_expect 1 as c0 analyst job result "$JOB"
ls "$WORK/c0/results/$JOB.sealed" >/dev/null 2>&1 && fail "a result file was kept"
ok
finish
