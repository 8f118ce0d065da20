#!/usr/bin/env bash
# A JOIN query through real processes (docs/protocols/query-join.md): a
# bank and a shop (a coordinator and two nodes on loopback, each with its
# own store).
#  - the shop's policy without join_reveals_group_counts: the checker
#    refuses the join and says why;
#  - with it, the bank's question (average basket of its customers per
#    risk band, purchases of 2025) proposed with `sealroom query`,
#    approved by both owners, equals the plaintext join of the CSVs
#    (counts exactly, averages to 1e-9), groups under the threshold are
#    suppressed, and only the bank has the result;
#  - a version that groups by a shop column the shop's policy does not
#    allow to be grouped is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

for o in bank shop; do org_init "$o"; done
/usr/bin/python3 - "$WORK/customers.csv" "$WORK/purchases.csv" <<'PY'
import random, sys
r = random.Random(11)
bands = ["low", "mid", "high"]
with open(sys.argv[1], "w") as f:
    f.write("cid,risk_band,income\n")
    for i in range(600):
        band = "" if i % 37 == 0 else ("vhigh" if i % 97 == 5 else r.choice(bands))
        cid = "" if i % 53 == 0 else "C%05d" % i
        f.write("%s,%s,%d\n" % (cid, band if band != "vhigh" else "high", r.randint(0, 200000)))
with open(sys.argv[2], "w") as f:
    f.write("cid,amount,year\n")
    for i in range(1500):
        cid = "" if i % 41 == 0 else "C%05d" % r.randrange(300, 900)
        amt = "" if i % 29 == 0 else "%.3f" % (r.randrange(0, 4000) / 8)
        f.write("%s,%s,%d\n" % (cid, amt, r.choice([2024, 2025])))
PY
cat >"$WORK/bank.pol" <<JSON
{"columns": {"cid": {"class": "id", "allow": ["join"]},
             "risk_band": {"class": "qi", "domain": ["low", "mid", "high"]},
             "income": {"class": "qi", "allow": ["filter"], "bounds": [0, 200000]}},
 "min_group_size": 5, "receivers": ["${ORG_ID[bank]}"]}
JSON
shop_policy() {   # shop_policy FILE EXTRA
	cat >"$1" <<JSON
{"columns": {"cid": {"class": "id", "allow": ["join"]$2},
             "amount": {"class": "sa", "allow": ["aggregate"], "bounds": [0, 500]},
             "year": {"class": "public", "allow": ["filter"], "domain": [2024, 2025]}},
 "receivers": ["${ORG_ID[bank]}"]}
JSON
}
shop_policy "$WORK/shop.pol" ', "join_reveals_group_counts": true'
shop_policy "$WORK/shop_strict.pol" ''
sr dataset import customers "$WORK/customers.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import purchases "$WORK/purchases.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
sr dataset import strictpurchases "$WORK/purchases.csv" --policy "$WORK/shop_strict.pol" --home "$WORK/shop" >/dev/null
coord_start
for o in bank shop; do node_start "$o" --job-timeout 60; done
project_setup bank shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish purchases --project "$PROJECT" >/dev/null
as shop steward dataset publish strictpurchases --project "$PROJECT" >/dev/null
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

# --- refused without the shop's consent to per-group counts --------------------
run_expect 1 as bank analyst query --project "$PROJECT" \
	"SELECT b.risk_band, COUNT(*), AVG(s.amount) FROM bank.customers b JOIN shop.strictpurchases s ON b.cid = s.cid GROUP BY b.risk_band"
contains "$OUT" "query-join-reveals-group-counts"
contains "$OUT" "join_reveals_group_counts"
ok

# --- the bank's question -----------------------------------------------------------
SQL="SELECT b.risk_band, COUNT(*), AVG(s.amount) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid WHERE s.year = 2025 GROUP BY b.risk_band ORDER BY b.risk_band"
run_expect 0 as bank analyst query --project "$PROJECT" "$SQL" --json
echo "$OUT" >"$WORK/prop.json"
contains "$OUT" '"accept": true'
JOB=$(json_get "$WORK/prop.json" job_id)
approve_all "$JOB" bank shop
wait_state bank "$JOB" finished 120
as bank analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 - "$WORK/result.json" "$WORK/customers.csv" "$WORK/purchases.csv" <<'PY' || fail "federated join differs from the plaintext join"
import csv, json, sys
res = json.load(open(sys.argv[1]))
bank = list(csv.DictReader(open(sys.argv[2])))
shop = [p for p in csv.DictReader(open(sys.argv[3])) if p["year"] == "2025" and p["cid"]]
groups = {}
for b in bank:
    if not b["cid"]:
        continue
    for p in shop:
        if p["cid"] != b["cid"]:
            continue
        g = groups.setdefault(b["risk_band"] or None, {"rows": 0, "n": 0, "sum": 0.0, "ids": set()})
        g["rows"] += 1
        g["ids"].add(b["cid"])
        if p["amount"] != "":
            g["n"] += 1
            g["sum"] += float(p["amount"])
want, small = [], 0
for k in sorted(groups, key=lambda k: (k is not None, k)):
    g = groups[k]
    if len(g["ids"]) < 5:
        small += 1
        continue
    want.append([k, g["rows"], g["sum"] / g["n"]])
assert res["columns"] == ["risk_band", "COUNT(*)", "AVG(s.amount)"], res["columns"]
assert len(res["rows"]) == len(want), (res["rows"], want)
for got, w in zip(res["rows"], want):
    assert got[0] == w[0] and got[1] == w[1], (got, w)
    assert abs(got[2] - w[2]) <= 1e-9 * max(abs(got[2]), abs(w[2])), (got, w)
assert res["meta"]["groups_suppressed"] == small, (res["meta"], small)
assert len(want) >= 2
PY
ok
run_expect 1 as shop analyst job result "$JOB"
contains "$ERR" "no result"

# --- a shop column the shop's policy keeps from being grouped ---------------------
run_expect 1 as bank analyst query --project "$PROJECT" \
	"SELECT s.amount, COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid GROUP BY s.amount"
contains "$ERR" "refused"
contains "$OUT" "amount"
ok
finish
