#!/usr/bin/env bash
# The anonymize kind through real processes: an insurer releases a
# 5-anonymous copy of its policies table to a bank.
# What it proves:
#  - a generalize hierarchy given as a CSV file at import is stored in the
#    manifest; a value it lacks fails the import naming column, level and
#    value, and nothing is imported;
#  - the job runs after the owner's approval; the bank gets the release,
#    which the independent verifier (tests/anon_verify.py) accepts against
#    the published policy, with the report in meta, the id columns gone,
#    the row filter applied and the masks on;
#  - a member that is not the receiver (shop) and the owner get nothing;
#  - the insurer's access log shows the read, with the rows read.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"
VERIFY="$SR_SOURCE_DIR/tests/anon_verify.py"

coord_start
for o in insurer bank shop; do org_init "$o"; done
/usr/bin/python3 - "$WORK/policies.csv" <<'PY'
import random, sys
r = random.Random(13)
cities = ["Leeds", "York", "Hull", "Bath", "Bristol", "Exeter"]
claims = ["none", "theft", "fire", "flood", "liability"]
with open(sys.argv[1], "w") as f:
    f.write("policy_id,holder,age,sex,city,zip,claim,premium,broker\n")
    for i in range(900):
        f.write("P%06d,Holder %d,%d,%s,%s,%s,%s,%d,B%02d\n" % (
            i, i, r.randint(18, 85), r.choice("MF"), r.choice(cities),
            "%02d%03d" % (r.randint(10, 14), r.randint(0, 999)),
            r.choice(claims), r.randint(200, 2000), r.randint(0, 20)))
PY
cat >"$WORK/city.csv" <<'CSV'
city,region
Leeds,North
York,North
Hull,North
Bath,South
Bristol,South
Exeter,South
CSV
cat >"$WORK/pol.json" <<JSON
{"columns": {"policy_id": {"class": "id"}, "holder": {"class": "id"},
 "age": {"class": "qi", "generalize": {"intervals": [5, 10, 20]}},
 "sex": {"class": "qi", "generalize": {"hierarchy": {"M": ["*"], "F": ["*"]}}},
 "city": {"class": "qi"},
 "zip": {"class": "qi", "type": "string", "generalize": {"prefix": [3, 2]}},
 "claim": {"class": "sa", "allow": ["reveal"]},
 "premium": {"class": "public", "mask": "range:100"},
 "broker": {"class": "public", "mask": "hash"}},
 "receivers": ["${ORG_ID[bank]}"], "jobs": ["anonymize"], "row_filter": "age >= 21"}
JSON

# A hierarchy that misses a value: the import fails, naming it.
grep -v Exeter "$WORK/city.csv" >"$WORK/city-short.csv"
run_expect 1 sr dataset import policies "$WORK/policies.csv" --policy "$WORK/pol.json" \
	--hierarchy city="$WORK/city-short.csv" --home "$WORK/insurer"
contains "$ERR" "city: generalize: level 1: value 'Exeter' is not in the hierarchy"
run_expect 1 sr dataset show policies --home "$WORK/insurer"
# A qi column without a hierarchy is importable (other kinds may use it),
# but --hierarchy needs a policy file.
run_expect 1 sr dataset import policies "$WORK/policies.csv" --classify-by-name \
	--hierarchy city="$WORK/city.csv" --home "$WORK/insurer"
contains "$ERR" "--hierarchy: needs a policy file"
# A hierarchy file under the policy cap whose stored form is over it.
/usr/bin/python3 - "$WORK/city-big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("city,region\n")
    for c in ["Leeds", "York", "Hull", "Bath", "Bristol", "Exeter"]:
        f.write("%s,label-abcdefghijklmnop\n" % c)
    for i in range(33000):
        f.write("v%05d,label-abcdefghijklmnop\n" % i)
PY
run_expect 1 sr dataset import policies "$WORK/policies.csv" --policy "$WORK/pol.json" \
	--hierarchy city="$WORK/city-big.csv" --home "$WORK/insurer"
contains "$ERR" "the stored policy would be"
run_expect 0 sr dataset import policies "$WORK/policies.csv" --policy "$WORK/pol.json" \
	--hierarchy city="$WORK/city.csv" --home "$WORK/insurer"
sr dataset show policies --json --home "$WORK/insurer" >"$WORK/show.json"
/usr/bin/python3 - "$WORK/show.json" <<'PY' || fail "the hierarchy file is not in the stored policy"
import json, sys
pol = json.load(open(sys.argv[1]))["policy"]
assert pol["columns"]["city"]["generalize"] == {"hierarchy": {
    "Leeds": ["North"], "York": ["North"], "Hull": ["North"],
    "Bath": ["South"], "Bristol": ["South"], "Exeter": ["South"]}}, pol["columns"]["city"]
PY
ok

for o in insurer bank shop; do node_start "$o"; done
project_setup insurer bank shop
as insurer steward dataset publish policies --project "$PROJECT" >/dev/null
cat >"$WORK/spec.json" <<JSON
{"kind": "anonymize", "inputs": [{"dataset": "insurer.policies"}],
 "receivers": ["${ORG_ID[bank]}"], "k": 5, "max_suppression": "0.05",
 "sa": {"claim": {"ldiv": "distinct", "l": 2}}}
JSON
# The shop is not a receiver the policy allows.
/usr/bin/python3 - "$WORK/spec.json" "$WORK/spec-shop.json" "${ORG_ID[shop]}" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1])); spec["receivers"] = [sys.argv[3]]
json.dump(spec, open(sys.argv[2], "w"))
PY
run_expect 1 as shop analyst job propose --project "$PROJECT" --spec "$WORK/spec-shop.json" --json
contains "$OUT" '"accept": false'
contains "$OUT" "receiver-not-allowed"

run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json
echo "$OUT" >"$WORK/prop.json"
contains "$OUT" '"accept": true'
JOB=$(json_get "$WORK/prop.json" job_id)
for i in $(seq 1 100); do
	as insurer steward job approve "$JOB" >/dev/null 2>&1 && break
	sleep 0.2
done
wait_state bank "$JOB" finished 60
as bank analyst job result "$JOB" --json >"$WORK/result.json"
/usr/bin/python3 "$VERIFY" --result "$WORK/show.json" "$WORK/result.json" >/dev/null ||
	fail "the verifier refuses the release"
ok
KEPT=$(tail -n +2 "$WORK/policies.csv" | awk -F, '$3 >= 21' | wc -l)
/usr/bin/python3 - "$WORK/result.json" "$KEPT" <<'PY' || fail "the release is not what was asked"
import json, re, sys
res = json.load(open(sys.argv[1]))
meta, rep = res["meta"], res["meta"]["report"]
assert res["columns"] == ["age", "sex", "city", "zip", "claim", "premium", "broker"], res["columns"]
assert meta["kind"] == "anonymize" and meta["dataset"] == "insurer.policies", meta
assert rep["rows_in"] == int(sys.argv[2]), (rep["rows_in"], sys.argv[2])
assert rep["rows_out"] == len(res["rows"]) and rep["class_min"] >= 5, rep
assert rep["suppressed"] <= rep["rows_in"] * 0.05, rep
assert 0 <= rep["loss"] <= 1 and rep["risk"]["max"] <= 0.2, rep
assert set(rep["levels"]) == {"age", "sex", "city", "zip"}, rep["levels"]
text = json.dumps(res["rows"])
brokers = set()
for row in res["rows"]:
    assert re.match(r"^\[\d+, \d+\)$", row[5]), row   # premium through range:100
    assert re.match(r"^[0-9a-f]{32}$", row[6]), row       # broker through hash
    brokers.add(row[6])
assert 15 <= len(brokers) <= 21, len(brokers)   # one hash per broker
assert "B0" not in text and "B1" not in text, "a broker leaked"
assert "Holder" not in text and "P000" not in text, "an id column leaked"
PY
ok
run_expect 1 as shop analyst job result "$JOB"
contains "$ERR" "no result"
run_expect 1 as insurer analyst job result "$JOB"
contains "$ERR" "no result"
node_api insurer steward GET /v1/access-log
/usr/bin/python3 - "$BODY_OUT" "$JOB" "$KEPT" <<'PY' || fail "the access log does not show the read"
import json, sys
log = [e for e in json.loads(sys.argv[1]) if e["job_id"] == sys.argv[2]]
assert len(log) == 1 and log[0]["rows"] == int(sys.argv[3]), (log, sys.argv[3])
assert log[0]["dataset"].endswith("policies"), log
PY
ok
node_api bank steward GET /v1/access-log
[ "$BODY_OUT" = "[]" ] || fail "the bank read data of its own: $BODY_OUT"
ok

# k above the rows: the owner refuses, the job fails with its reason.
/usr/bin/python3 - "$WORK/spec.json" "$WORK/spec-big.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1])); spec["k"] = 100000; spec["max_suppression"] = 0
json.dump(spec, open(sys.argv[2], "w"))
PY
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec-big.json" --json
echo "$OUT" >"$WORK/prop.json"
JOB2=$(json_get "$WORK/prop.json" job_id)
for i in $(seq 1 100); do
	as insurer steward job approve "$JOB2" >/dev/null 2>&1 && break
	sleep 0.2
done
wait_state bank "$JOB2" failed 60
contains "$(cat "$WORK/job.json")" "anonymize: insurer.policies"

finish
