#!/usr/bin/env bash
# Vertical SecureBoost `train` and `predict` in TEE mode against federated
# mode, through real processes (a coordinator, a bank, a shop, an
# executor with swtpm on loopback; docs/tee.md):
#  - the same vertical train spec in both modes gives the same model parts
#    at every owner (`model show --json`: the bank's skeleton, leaves and
#    thresholds, the shop's splits) and the same training result;
#  - `predict` in TEE mode (owners send their rows and parts sealed to the
#    executor) equals `predict` in federated mode byte for byte, on the
#    model trained in each mode;
#  - a TEE predict naming a model the shop holds no part of fails at every
#    party, naming it, with no result.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"
. "$SR_SOURCE_DIR/tests/support/swtpm.sh"

if ! swtpm_available; then
	echo "SKIP: swtpm, swtpm_setup or swtpm_localca is not installed (scripts/install-deps)"
	exit 77
fi
trap 'swtpm_stop "$WORK/tpm"; cleanup_mp' EXIT
swtpm_start "$WORK/tpm"
CA=$WORK/tpm/ca/swtpm-localca-rootca-cert.pem
ISSUER=$WORK/tpm/ca/issuercert.pem

for o in bank shop enclave; do org_init "$o"; done
run_expect 0 sr executor --measure --pcr 16
M_BIN=$(echo "$OUT" | sed -n 's/^\(sha256:[0-9a-f]*\)  binary$/\1/p')
M_CFG=$(echo "$OUT" | sed -n 's/^\(sha256:[0-9a-f]*\)  config (pcr 16)$/\1/p')
[ ${#M_BIN} -eq 71 ] && [ ${#M_CFG} -eq 71 ] || fail "executor --measure: $OUT"

/usr/bin/python3 - "$WORK" <<'PY'
import math, random, sys
r = random.Random(23)
def person(i):
    income, debt = r.uniform(10, 200), r.uniform(0, 100)
    spend, visits = r.uniform(0, 50), r.randint(0, 30)
    z = -0.03 * (income - 100) + 0.04 * (debt - 50) + 0.06 * (spend - 25) - 0.1 * (visits - 15)
    return (1000 + 3 * i, income, debt, spend, visits, int(r.random() < 1 / (1 + math.exp(-z))))
people = [person(i) for i in range(900)]
with open(sys.argv[1] + "/bank.csv", "w") as f:
    f.write("id,income,debt,default\n")
    for p in people[:600]:
        if p[0] % 7 != 1:
            debt = "" if p[0] % 11 == 0 else "%.2f" % p[2]
            f.write("%d,%.2f,%s,%d\n" % (p[0], p[1], debt, p[5]))
with open(sys.argv[1] + "/applicants.csv", "w") as f:
    f.write("id,income,debt\n")
    for p in reversed(people[600:]):
        f.write("%d,%.2f,%.2f\n" % (p[0], p[1], p[2]))
shop = [p for p in people if p[0] % 5 != 2]
r.shuffle(shop)
with open(sys.argv[1] + "/shop.csv", "w") as f:
    f.write("cid,spend,visits\n")
    for p in shop:
        f.write("%d,%.2f,%d\n" % (p[0], p[3], p[4]))
PY
TEE=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"allow": True, "ca": [open(sys.argv[1]).read()], "measurements": sys.argv[2:]}))' "$CA" "$M_BIN" "$M_CFG")
RECV="\"${ORG_ID[bank]}\", \"${ORG_ID[shop]}\""
cat >"$WORK/bank-pol.json" <<JSON
{"columns": {"id": {"class": "id"}, "income": {"class": "sa"}, "debt": {"class": "sa"},
             "default": {"class": "sa", "domain": [0, 1]}},
 "jobs": ["train", "predict"], "receivers": [$RECV], "tee": $TEE}
JSON
cat >"$WORK/app-pol.json" <<JSON
{"columns": {"id": {"class": "id"}, "income": {"class": "sa"}, "debt": {"class": "sa"}},
 "jobs": ["predict"], "receivers": [$RECV], "tee": $TEE}
JSON
cat >"$WORK/shop-pol.json" <<JSON
{"columns": {"cid": {"class": "id"}, "spend": {"class": "sa"}, "visits": {"class": "sa"}},
 "jobs": ["train", "predict"], "receivers": [$RECV], "tee": $TEE}
JSON
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import applicants "$WORK/applicants.csv" --policy "$WORK/app-pol.json" --home "$WORK/bank" >/dev/null
sr dataset import members "$WORK/shop.csv" --policy "$WORK/shop-pol.json" --home "$WORK/shop" >/dev/null

coord_start
for o in bank shop; do node_start "$o" --job-timeout 60; done
: >"$WORK/enclave.node.out"
"$SEALROOM" executor --home "$WORK/enclave" --coordinator "$COORD_URL" --pin "$COORD_PIN" \
	--listen 127.0.0.1:0 --name enclave --tcti "$SWTPM_TCTI" --pcr 16 --ek-chain "$ISSUER" \
	--job-timeout 60 >"$WORK/enclave.node.out" 2>"$WORK/enclave.node.err" &
NODE_PID[enclave]=$!
PIDS+=("${NODE_PID[enclave]}")
wait_for "$WORK/enclave.node.out" "listening on"
project_setup bank shop enclave
for d in customers applicants; do as bank steward dataset publish "$d" --project "$PROJECT" >/dev/null; done
as shop steward dataset publish members --project "$PROJECT" >/dev/null
sleep 0.6

# tee SPEC: $WORK/spec.json with "tee" naming the executor.
tee_it() {
	/usr/bin/python3 - "$WORK/spec.json" "${ORG_ID[enclave]}" "$M_BIN" "$M_CFG" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["tee"] = {"executor": sys.argv[2], "measurements": sys.argv[3:]}
json.dump(s, open(sys.argv[1], "w"))
PY
}
# run_job [tee]: $WORK/spec.json, proposed by the bank, approved by both; -> JOB finished.
run_job() {
	[ "${1:-}" = tee ] && tee_it
	propose_job bank bank shop
	wait_state bank "$JOB" finished 120
	wait_state shop "$JOB" finished 30
}
# result ORG JOB FILE
result() {
	local i
	for i in $(seq 1 100); do
		as "$1" analyst job result "$2" --json >"$3" 2>/dev/null && return 0
		sleep 0.2
	done
	fail "no result of job $2 at $1"
}
# same FED TEE: the two results at FILE1 FILE2 equal but for the mode's meta.
same() {
	/usr/bin/python3 - "$1" "$2" "${ORG_ID[enclave]}" <<'PY' || fail "$2 differs from $1"
import json, sys
fed, tee = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert tee["meta"].get("executor") == sys.argv[3], tee["meta"]
for r in (fed, tee):
    r.pop("salt", None)
    for k in ("job_id", "output_hash", "executor", "secureboost", "model"):
        r["meta"].pop(k, None)
a, b = json.dumps(fed, sort_keys=True), json.dumps(tee, sort_keys=True)
if a != b:
    diff = [k for k in set(fed["meta"]) | set(tee["meta"]) if fed["meta"].get(k) != tee["meta"].get(k)]
    rows = [(x, y) for x, y in zip(fed["rows"], tee["rows"]) if x != y] + [len(fed["rows"]), len(tee["rows"])]
    rows += [k for k in set(fed) | set(tee) if fed.get(k) != tee.get(k)]
    sys.exit("differs: meta %s %s; rows %s" % (diff, [(fed["meta"].get(k), tee["meta"].get(k)) for k in diff][:3], rows[:4]))
PY
}

# --- train in both modes ------------------------------------------------------------------
cat >"$WORK/train.json" <<JSON
{"kind": "train", "mode": "vertical", "model": "gbdt",
 "trees": 5, "depth": 3, "bins": 16, "learning_rate": "0.3", "test_ratio": "0.25",
 "inputs": [{"dataset": "bank.customers", "key": "id", "features": ["income", "debt"],
             "label": "default"},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
cp "$WORK/train.json" "$WORK/spec.json"
run_job
FED=$JOB
cp "$WORK/train.json" "$WORK/spec.json"
run_job tee
TM=$JOB
result bank "$FED" "$WORK/train.fed.json"
result bank "$TM" "$WORK/train.tee.json"
same "$WORK/train.fed.json" "$WORK/train.tee.json"
for o in bank shop; do
	as "$o" analyst model show "$FED" --json >"$WORK/$o.fed.model.json"
	as "$o" analyst model show "$TM" --json >"$WORK/$o.tee.model.json"
	/usr/bin/python3 - "$WORK/$o.fed.model.json" "$WORK/$o.tee.model.json" "$o" <<'PY' ||
import json, sys
a, b = (json.load(open(f))["parts"] for f in sys.argv[1:3])
assert len(a) == len(b) == 1, (a, b)
want = "secureboost-active" if sys.argv[3] == "bank" else "secureboost-passive"
assert a[0]["part"]["kind"] == want, a[0]["part"]["kind"]
assert a[0]["name"] == b[0]["name"], (a[0]["name"], b[0]["name"])
x, y = json.dumps(a[0]["part"], sort_keys=True), json.dumps(b[0]["part"], sort_keys=True)
assert x == y, "federated part:\n%s\ntee part:\n%s" % (x[:2000], y[:2000])
print("%s: the TEE-trained part equals the federated one (%d bytes)" % (sys.argv[3], len(x)))
PY
		fail "$o's model part differs between the modes"
done
ok

# --- predict in both modes, on each model ------------------------------------------------
pspec() {
	cat >"$WORK/spec.json" <<JSON
{"kind": "predict", "model": "$1",
 "inputs": [{"dataset": "bank.applicants", "key": "id", "features": ["income", "debt"]},
            {"dataset": "shop.members", "key": "cid", "features": ["spend", "visits"]}],
 "receivers": [$RECV]}
JSON
}
for m in "$FED" "$TM"; do
	pspec "$m"; run_job; PF=$JOB
	pspec "$m"; run_job tee; PT=$JOB
	for o in bank shop; do
		result "$o" "$PF" "$WORK/p.$o.fed.json"
		result "$o" "$PT" "$WORK/p.$o.tee.json"
		same "$WORK/p.$o.fed.json" "$WORK/p.$o.tee.json"
	done
	[ "$m" = "$FED" ] && cp "$WORK/p.bank.tee.json" "$WORK/p.first.json"
done
# Both models score alike too (the same trees).
same "$WORK/p.first.json" "$WORK/p.bank.tee.json"
ok

# --- a TEE predict naming a model the shop holds no part of ----------------------------------
node_stop shop
/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM node_models WHERE job_id = ?", (sys.argv[2],)); c.commit()' "$WORK/shop/node.db" "$TM"
node_start shop --job-timeout 60
pspec "$TM"; tee_it
propose_job bank bank shop
wait_state bank "$JOB" failed 60
wait_state shop "$JOB" failed 60
for o in bank shop; do
	as "$o" analyst job show "$JOB" --json >"$WORK/bad.$o.json"
	grep -q "holds no part of model" "$WORK/bad.$o.json" ||
		fail "$o: the failure does not say the shop holds no part: $(grep -o '"\(reason\|error\)": "[^"]*"' "$WORK/bad.$o.json")"
	run_expect 1 as "$o" analyst job result "$JOB"
done
ok
finish
