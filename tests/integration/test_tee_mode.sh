#!/usr/bin/env bash
# TEE mode through real processes (docs/tee.md): a coordinator, a bank and
# a shop node, an executor ('sealroom executor', a node of its own with a
# software TPM, swtpm, measuring itself into PCR 16) on loopback.
#  - the same specs run federated and in TEE mode give byte-equal outputs
#    once the mode's own meta (job id, salt, executor, protocol) is
#    removed: psi intersection and cardinality, a horizontal query (two
#    tables, UNION ALL, DP off), a vertical query (JOIN), horizontal LR
#    training;
#  - job.start records the executor's measurements and the quote's hash,
#    job.finish the output hash;
#  - a policy without tee: the checker refuses (tee-not-allowed);
#  - an executor whose measurement is not the approved one (restarted with
#    another configuration): every owner refuses at check 8 before any of
#    its data is read (its access log has no entry for the job).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"
. "$SR_SOURCE_DIR/tests/support/swtpm.sh"

if ! swtpm_available; then
	echo "SKIP: swtpm, swtpm_setup or swtpm_localca is not installed (scripts/install-deps)"
	exit 77
fi
trap 'swtpm_stop "$WORK/tpm"; cleanup_mp' EXIT
swtpm_start "$WORK/tpm"
TPM=$SWTPM_TCTI
CA=$WORK/tpm/ca/swtpm-localca-rootca-cert.pem
ISSUER=$WORK/tpm/ca/issuercert.pem

for o in bank shop enclave; do org_init "$o"; done
run_expect 0 sr executor --measure --pcr 16
M_BIN=$(echo "$OUT" | sed -n 's/^\(sha256:[0-9a-f]*\)  binary$/\1/p')
M_CFG=$(echo "$OUT" | sed -n 's/^\(sha256:[0-9a-f]*\)  config (pcr 16)$/\1/p')
[ ${#M_BIN} -eq 71 ] && [ ${#M_CFG} -eq 71 ] || fail "executor --measure: $OUT"
run_expect 0 sr executor --measure --pcr 23
M_CFG23=$(echo "$OUT" | sed -n 's/^\(sha256:[0-9a-f]*\)  config (pcr 23)$/\1/p')

# --- data ------------------------------------------------------------------------
/usr/bin/python3 - "$WORK" <<'PY'
import math, random, sys
w = sys.argv[1]
r = random.Random(7)
bands = ["low", "mid", "high"]
with open(w + "/customers.csv", "w") as f:
    f.write("cid,risk_band,income\n")
    for i in range(600):
        cid = "" if i % 53 == 0 else "C%05d" % i
        f.write("%s,%s,%d\n" % (cid, r.choice(bands), r.randint(0, 200000)))
with open(w + "/purchases.csv", "w") as f:
    f.write("cid,amount,year\n")
    for i in range(1500):
        cid = "" if i % 41 == 0 else "C%05d" % r.randrange(300, 900)
        amt = "" if i % 29 == 0 else "%.3f" % (r.randrange(0, 4000) / 8)
        f.write("%s,%s,%d\n" % (cid, amt, r.choice([2024, 2025])))
for name, seed, n in (("hbank", 1, 700), ("hshop", 2, 500)):
    g = random.Random(seed)
    with open("%s/%s.csv" % (w, name), "w") as f:
        f.write("age,bmi,bp,readmit,region\n")
        for i in range(n):
            age, bmi, bp = g.randint(18, 90), round(g.uniform(16, 45), 1), g.randint(90, 190)
            z = 0.05 * (age - 55) + 0.12 * (bmi - 28) + 0.02 * (bp - 140) + g.gauss(0, 0.5)
            f.write("%d,%s,%d,%d,%s\n" % (age, bmi, bp, g.random() < 1 / (1 + math.exp(-z)),
                                          g.choice(["north", "south", "east"])))
PY
# policy FILE BODY TEE: a policy with the tee section TEE ("" for none).
policy() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
doc = json.loads(sys.argv[2])
if sys.argv[3]:
    doc["tee"] = json.loads(sys.argv[3])
json.dump(doc, open(sys.argv[1], "w"))
PY
}
TEE=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"allow": True, "ca": [open(sys.argv[1]).read()], "measurements": sys.argv[2:]}))' "$CA" "$M_BIN" "$M_CFG")
RECV="\"${ORG_ID[bank]}\", \"${ORG_ID[shop]}\""
policy "$WORK/customers.pol" '{"columns": {"cid": {"class": "id", "allow": ["join"]},
 "risk_band": {"class": "qi", "domain": ["low", "mid", "high"]},
 "income": {"class": "qi", "allow": ["filter"], "bounds": [0, 200000]}},
 "min_group_size": 5, "receivers": ['"$RECV"']}' "$TEE"
policy "$WORK/purchases.pol" '{"columns": {"cid": {"class": "id", "allow": ["join"], "join_reveals_group_counts": true},
 "amount": {"class": "sa", "allow": ["aggregate"], "bounds": [0, 500]},
 "year": {"class": "public", "allow": ["filter"], "domain": [2024, 2025]}},
 "receivers": ['"$RECV"']}' "$TEE"
policy "$WORK/notee.pol" '{"columns": {"cid": {"class": "id", "allow": ["join"]},
 "amount": {"class": "sa"}, "year": {"class": "public"}}, "receivers": ['"$RECV"']}' ""
H='{"columns": {"age": {"class": "sa", "bounds": [0, 100]}, "bmi": {"class": "sa", "bounds": [10, 60]},
 "bp": {"class": "sa", "bounds": [60, 220]}, "readmit": {"class": "sa", "domain": [0, 1]},
 "region": {"class": "public", "domain": ["north", "south", "east"]}},
 "ids_partitioned": true, "receivers": ['"$RECV"']}'
policy "$WORK/h.pol" "$H" "$TEE"
sr dataset import customers "$WORK/customers.csv" --policy "$WORK/customers.pol" --home "$WORK/bank" >/dev/null
sr dataset import visits "$WORK/hbank.csv" --policy "$WORK/h.pol" --home "$WORK/bank" >/dev/null
sr dataset import purchases "$WORK/purchases.csv" --policy "$WORK/purchases.pol" --home "$WORK/shop" >/dev/null
sr dataset import visits "$WORK/hshop.csv" --policy "$WORK/h.pol" --home "$WORK/shop" >/dev/null
sr dataset import plain "$WORK/purchases.csv" --policy "$WORK/notee.pol" --home "$WORK/shop" >/dev/null

coord_start
for o in bank shop; do node_start "$o" --job-timeout 60; done
executor_start() {   # executor_start PCR
	: >"$WORK/enclave.node.out"
	"$SEALROOM" executor --home "$WORK/enclave" --coordinator "$COORD_URL" --pin "$COORD_PIN" \
		--listen 127.0.0.1:0 --name enclave --tcti "$TPM" --pcr "$1" --ek-chain "$ISSUER" \
		--job-timeout 60 >"$WORK/enclave.node.out" 2>"$WORK/enclave.node.err" &
	NODE_PID[enclave]=$!
	PIDS+=("${NODE_PID[enclave]}")
	wait_for "$WORK/enclave.node.out" "listening on"
}
executor_start 16
contains "$(cat "$WORK/enclave.node.out")" "binary $M_BIN, config $M_CFG"
project_setup bank shop enclave
for d in customers visits; do as bank steward dataset publish "$d" --project "$PROJECT" >/dev/null; done
for d in purchases visits plain; do as shop steward dataset publish "$d" --project "$PROJECT" >/dev/null; done
sleep 0.6

approve_all() {   # approve_all JOB ORG...
	local job=$1 o i
	shift
	for o in "$@"; do
		for i in $(seq 1 100); do
			as "$o" steward job approve "$job" >/dev/null 2>&1 && break
			sleep 0.2
		done
	done
}
# propose SPECFILE -> JOB (accepted)
propose() {
	run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$1" --json
	echo "$OUT" >"$WORK/prop.json"
	contains "$OUT" '"accept": true'
	JOB=$(json_get "$WORK/prop.json" job_id)
}
# tee_spec IN OUT [MEASUREMENTS...]: IN with "tee" naming the executor.
tee_spec() {
	local in=$1 out=$2
	shift 2
	/usr/bin/python3 - "$in" "$out" "${ORG_ID[enclave]}" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["tee"] = {"executor": sys.argv[3], "measurements": sys.argv[4:]}
json.dump(s, open(sys.argv[2], "w"))
PY
}
# result_of ORG JOB FILE: ORG's result of JOB, as JSON.  The job is
# finished at the bank once the ledger says so; another receiver's node
# may store its copy a moment later, so this waits for it (20 s).
result_of() {
	local i
	wait_state "$1" "$2" finished 60
	for i in $(seq 1 100); do
		as "$1" analyst job result "$2" --json >"$3" 2>"$WORK/result.err" && return 0
		sleep 0.2
	done
	cat "$WORK/result.err" >&2
	# What the receiver's own node says of the job, and its log.
	as "$1" analyst job show "$2" --json >&2 || true
	echo "--- $1's node log:" >&2
	tail -n 40 "$WORK/$1.node.out" "$WORK/$1.node.err" >&2 || true
	echo "--- executor's log:" >&2
	tail -n 40 "$WORK/enclave.node.out" "$WORK/enclave.node.err" >&2 || true
	fail "no result of job $2 at $1"
}

# same SPECFILE NAME [exact|bound]: run SPECFILE federated and in TEE
# mode; each receiver's two outputs must be equal but for the mode's own
# meta (bound: numbers within the result's fixed_point_bound).
same() {
	local spec=$1 name=$2 o
	propose "$spec"
	approve_all "$JOB" bank shop
	wait_state bank "$JOB" finished 120
	FED=$JOB
	tee_spec "$spec" "$WORK/$name.tee.json" "$M_BIN" "$M_CFG"
	propose "$WORK/$name.tee.json"
	approve_all "$JOB" bank shop
	wait_state bank "$JOB" finished 120
	TJOB=$JOB
	for o in $(/usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["receivers"]))' "$spec"); do
		local org=bank
		[ "$o" = "${ORG_ID[shop]}" ] && org=shop
		result_of "$org" "$FED" "$WORK/$name.$org.fed.json"
		result_of "$org" "$TJOB" "$WORK/$name.$org.tee.json"
		/usr/bin/python3 - "$WORK/$name.$org.fed.json" "$WORK/$name.$org.tee.json" "${ORG_ID[enclave]}" "${3:-exact}" <<'PY' ||
import json, sys
fed, tee = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert tee["meta"].get("executor") == sys.argv[3], tee["meta"]
for r in (fed, tee):
    r.pop("salt", None)
    # the mode's own meta: the federated protocol's traffic and bounds
    for k in ("job_id", "output_hash", "executor", "protocol", "secure_aggregation"):
        r["meta"].pop(k, None)
a, b = json.dumps(fed, sort_keys=True), json.dumps(tee, sort_keys=True)
if sys.argv[4] == "exact":
    assert a == b, "federated:\n%s\ntee:\n%s" % (a[:2000], b[:2000])
else:
    # Training by secure aggregation is fixed point: the weights agree
    # within the bound the federated result states.
    bound = fed["meta"]["fixed_point_bound"] + 1e-9
    assert fed["columns"] == tee["columns"] and len(fed["rows"]) == len(tee["rows"]), (a, b)
    for x, y in zip(fed["rows"], tee["rows"]):
        for u, v in zip(x, y):
            if isinstance(u, float) or isinstance(v, float):
                assert abs(u - v) <= bound, (x, y, bound)
            else:
                assert u == v, (x, y)
    print("%s: weights within %g of the federated ones" % (sys.argv[2], bound))
PY
			fail "$name: the TEE-mode output at $org differs from the federated one"
		ok
	done
}

# --- psi: intersection and cardinality ---------------------------------------------
for mode in intersection cardinality; do
	cat >"$WORK/psi-$mode.json" <<JSON
{"kind": "psi", "mode": "$mode", "protocol": "ecdh",
 "inputs": [{"dataset": "bank.customers", "column": "cid"},
            {"dataset": "shop.purchases", "column": "cid"}],
 "receivers": [$RECV]}
JSON
	same "$WORK/psi-$mode.json" "psi-$mode"
done
# job.start: the executor, its measurements and the quote's hash; job.finish: the output hash.
as bank analyst job show "$TJOB" --json >"$WORK/show.json"
as bank steward ledger log "$PROJECT" --json >"$WORK/log.json"
/usr/bin/python3 - "$WORK/log.json" "$WORK/show.json" "$TJOB" "${ORG_ID[enclave]}" "$M_BIN" "$M_CFG" <<'PY' || fail "the ledger lacks the TEE records: $(head -c 3000 "$WORK/log.json")"
import json, sys
log, show = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def walk(v):
    if isinstance(v, dict):
        yield v
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
starts = [d for d in walk(log) if d.get("job_id") == sys.argv[3] and "head" in d]
assert len(starts) == 1, (starts, json.dumps(log)[:1500])
tee = starts[0]["tee"]
assert tee["executor"] == sys.argv[4], tee
assert tee["measurements"] == sys.argv[5:7], tee
assert len(tee["quote_hash"]) == 64, tee
assert len(show["receipt"]["output_hash"]) == 64, show["receipt"]
PY
ok
run_expect 0 as bank steward ledger verify "$PROJECT"

# --- horizontal query (UNION ALL, DP off) ---------------------------------------------
run_expect 0 as bank analyst query --project "$PROJECT" --receiver "${ORG_ID[bank]}" --json \
	"SELECT region, COUNT(*), SUM(bp), AVG(bmi) FROM bank.visits UNION ALL shop.visits GROUP BY region ORDER BY region"
echo "$OUT" >"$WORK/q.json"
Q=$(json_get "$WORK/q.json" job_id)
as bank analyst job show "$Q" --json | /usr/bin/python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["spec"], open(sys.argv[1], "w"))' "$WORK/hquery.json"
as bank analyst job cancel "$Q" >/dev/null 2>&1 || true
same "$WORK/hquery.json" hquery

# --- vertical query (JOIN) ----------------------------------------------------------------
run_expect 0 as bank analyst query --project "$PROJECT" --receiver "${ORG_ID[bank]}" --json \
	"SELECT b.risk_band, COUNT(*), AVG(s.amount) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid WHERE s.year = 2025 GROUP BY b.risk_band ORDER BY b.risk_band"
echo "$OUT" >"$WORK/q.json"
Q=$(json_get "$WORK/q.json" job_id)
as bank analyst job show "$Q" --json | /usr/bin/python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["spec"], open(sys.argv[1], "w"))' "$WORK/vquery.json"
as bank analyst job cancel "$Q" >/dev/null 2>&1 || true
same "$WORK/vquery.json" vquery

# --- horizontal training (LR) ---------------------------------------------------------------
cat >"$WORK/train.json" <<JSON
{"kind": "train", "mode": "horizontal", "model": "lr",
 "features": ["age", "bmi", "bp"], "label": "readmit",
 "rounds": 20, "learning_rate": "1", "l2": "0.001", "test_ratio": "0.2",
 "inputs": [{"dataset": "bank.visits"}, {"dataset": "shop.visits"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
same "$WORK/train.json" train bound

# --- a policy without tee: the checker refuses ----------------------------------------------
cat >"$WORK/plain.json" <<JSON
{"kind": "psi", "mode": "cardinality", "protocol": "ecdh",
 "inputs": [{"dataset": "bank.customers", "column": "cid"},
            {"dataset": "shop.plain", "column": "cid"}],
 "receivers": [$RECV]}
JSON
tee_spec "$WORK/plain.json" "$WORK/plain.tee.json" "$M_BIN" "$M_CFG"
run_expect 1 as bank analyst job propose --project "$PROJECT" --spec "$WORK/plain.tee.json"
contains "$OUT$ERR" "tee-not-allowed"
contains "$OUT$ERR" "shop.plain does not allow TEE mode"
# ... nor one listing a measurement the policies do not trust.
tee_spec "$WORK/psi-cardinality.json" "$WORK/bad.tee.json" "$M_BIN" "$M_CFG23"
run_expect 1 as bank analyst job propose --project "$PROJECT" --spec "$WORK/bad.tee.json"
contains "$OUT$ERR" "tee-measurement-not-trusted"

# --- an executor whose measurement is not the approved one: check 8 refuses ---------------
node_stop enclave
executor_start 23
tee_spec "$WORK/psi-cardinality.json" "$WORK/c8.tee.json" "$M_BIN" "$M_CFG"
propose "$WORK/c8.tee.json"
approve_all "$JOB" bank shop
wait_state bank "$JOB" failed 60
as bank analyst job show "$JOB" --json >"$WORK/c8.json"
grep -q "tee check 8 (measurements)" "$WORK/c8.json" ||
	fail "the refusal does not name check 8: $(grep -o '"\(reason\|error\)": "[^"]*"' "$WORK/c8.json")"
# No data left either owner: neither access log names the job.
for o in bank shop; do
	n=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM node_access_log WHERE job_id = ?", (sys.argv[2],)).fetchone()[0])' "$WORK/$o/node.db" "$JOB")
	[ "$n" = 0 ] || fail "$o read its data for a job whose executor it refused"
done
ok
run_expect 0 as bank steward ledger verify "$PROJECT"

finish
