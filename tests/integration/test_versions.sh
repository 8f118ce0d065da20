#!/usr/bin/env bash
# Approvals bind data versions (DESIGN §8), with real processes.
# What it proves:
#  - a proposal made right after another organization publishes is checked
#    against the coordinator's head, not a stale view, and is accepted;
#  - the proposing node fills each input's version_id in before it signs;
#  - a dataset republished with different data after one owner approved does
#    not carry the approval over: the job reads exactly the approved version
#    (its result is the intersection of the old data, and the access log
#    names the old version);
#  - a job whose approved version is gone from the node fails with a reason
#    that names the version;
#  - a PSI job whose intersection is below min_group_size is not released;
#  - a dataset's row_filter is applied in the scans: rows it drops take no
#    part (the result is the intersection of the kept rows only, and the
#    access log counts only them); a filter that does not compile is
#    refused at import.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in bank shop; do org_init "$o"; done
gen_ids "$WORK/bank1.csv" 1000 3000     # version 1: C1000..C2999
gen_ids "$WORK/bank2.csv" 2500 4000     # version 2: C2500..C3999
gen_ids "$WORK/shop.csv" 2000 3500
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank1.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
for o in bank shop; do node_start "$o"; done
project_setup bank shop
ok

spec_file() {
	cat >"$1" <<JSON
{"kind": "psi", "mode": "intersection",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
}
spec_file "$WORK/spec.json"

known() {   # known ORG JOB: wait until ORG's node has folded the job
	local i
	for i in $(seq 1 100); do
		as "$1" analyst job show "$2" --json >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$1 never saw job $2"
}

# --- no stale view: propose at once after the other side publishes ---------
as bank steward dataset publish customers --project "$PROJECT" --json >"$WORK/pub1.json"
V1=$(json_get "$WORK/pub1.json" version_id)
as shop steward dataset publish visitors --project "$PROJECT" --json >"$WORK/pubs.json"
VS=$(json_get "$WORK/pubs.json" version_id)
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json
echo "$OUT" >"$WORK/prop.json"
contains "$OUT" '"accept": true'
JOB=$(json_get "$WORK/prop.json" job_id)

# --- the proposing node filled the versions in -----------------------------
known shop "$JOB"
as shop analyst job show "$JOB" --json >"$WORK/j.json"
/usr/bin/python3 - "$WORK/j.json" "$V1" "$VS" <<'PY' || fail "versions not filled in"
import json, sys
job = json.load(open(sys.argv[1]))
ins = job["spec"]["inputs"]
assert ins[0]["version_id"] == sys.argv[2], ins
assert ins[1]["version_id"] == sys.argv[3], ins
PY
ok

# --- the bank approves, then republishes different data ---------------------
as bank steward job approve "$JOB" >/dev/null
sr dataset import customers "$WORK/bank2.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
as bank steward dataset publish customers --project "$PROJECT" --json >"$WORK/pub2.json"
V2=$(json_get "$WORK/pub2.json" version_id)
[ "$V1" != "$V2" ] || fail "different data, same version id"
ok
known shop "$JOB"
as shop steward job approve "$JOB" >/dev/null
wait_state bank "$JOB" finished
as bank analyst job result "$JOB" --output "$WORK/result.csv" >/dev/null
tail -n +2 "$WORK/result.csv" | cut -d, -f2 | sort >"$WORK/got"
comm -12 <(tail -n +2 "$WORK/bank1.csv" | cut -d, -f1 | sort) \
	<(tail -n +2 "$WORK/shop.csv" | cut -d, -f1 | sort) >"$WORK/want"
[ "$(wc -l <"$WORK/want")" -eq 1000 ] || fail "test data: expected 1000 common ids"
cmp -s "$WORK/got" "$WORK/want" || fail "the job did not read the approved version"
grep -q C3400 "$WORK/got" && fail "the job read the republished data"
ok
node_api bank steward GET /v1/access-log
contains "$BODY_OUT" "\"version_id\":\"$V1\""
case "$BODY_OUT" in *"$V2"*) fail "access log names the republished version" ;; esac

# --- the approved version is gone: the job fails and says why ----------------
spec_file "$WORK/spec2.json"
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec2.json" --json
echo "$OUT" >"$WORK/prop2.json"
JOB2=$(json_get "$WORK/prop2.json" job_id)
sed 's/"intersection"/"cardinality"/' "$WORK/spec2.json" >"$WORK/spec4.json"
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec4.json" --json
echo "$OUT" >"$WORK/prop4.json"
JOB4=$(json_get "$WORK/prop4.json" job_id)
as bank steward job approve "$JOB2" >/dev/null
sr dataset rm customers --home "$WORK/bank" >/dev/null
known shop "$JOB2"
as shop steward job approve "$JOB2" >/dev/null
wait_state bank "$JOB2" failed
as bank analyst job show "$JOB2" --json >"$WORK/j2.json"
contains "$(cat "$WORK/j2.json")" "was approved for version"
ok

# --- an owner cannot approve a job on a version it no longer publishes --------
sr dataset import customers "$WORK/bank1.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
sleep 0.6
run_expect 1 as bank steward job approve "$JOB4"
contains "$ERR" "republished"
as bank analyst job show "$JOB4" --json >"$WORK/j4.json"
[ "$(json_get "$WORK/j4.json" state)" = proposed ] || fail "job 4 changed state"
ok

# --- an intersection below min_group_size is not released --------------------
gen_ids "$WORK/few.csv" 3495 3600      # 5 ids in common with the shop
cat >"$WORK/strict.pol" <<JSON
{"columns": {"customer_id": {"class": "id", "allow": ["join"]},
             "score": {"class": "sa", "bounds": [0, 100]}},
 "jobs": ["psi"], "receivers": ["${ORG_ID[bank]}"], "min_group_size": 20}
JSON
sr dataset import few "$WORK/few.csv" --policy "$WORK/strict.pol" --home "$WORK/bank" >/dev/null
as bank steward dataset publish few --project "$PROJECT" >/dev/null
sed 's/bank.customers/bank.few/' "$WORK/spec.json" >"$WORK/spec3.json"
sleep 0.6
run_expect 0 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec3.json" --json
echo "$OUT" >"$WORK/prop3.json"
JOB3=$(json_get "$WORK/prop3.json" job_id)
as bank steward job approve "$JOB3" >/dev/null
known shop "$JOB3"
as shop steward job approve "$JOB3" >/dev/null
wait_state bank "$JOB3" failed
as bank analyst job show "$JOB3" --json >"$WORK/j3.json"
contains "$(cat "$WORK/j3.json")" "smaller than the min_group_size 20"
run_expect 1 as bank analyst job result "$JOB3"
contains "$ERR" "no result"

# --- the row filter of a published policy is enforced --------------------------
cat >"$WORK/filtered.pol" <<JSON
{"columns": {"customer_id": {"class": "id", "allow": ["join"]},
             "score": {"class": "sa", "bounds": [0, 100]}},
 "jobs": ["psi"], "receivers": ["${ORG_ID[bank]}"], "row_filter": "score >= 50"}
JSON
sed 's/score >= 50/scor >= 50/' "$WORK/filtered.pol" >"$WORK/badfilter.pol"
run_expect 1 sr dataset import adults "$WORK/shop.csv" --policy "$WORK/badfilter.pol" --home "$WORK/shop"
contains "$ERR" "row_filter: 1:1: unknown column 'scor'"
sr dataset import adults "$WORK/shop.csv" --policy "$WORK/filtered.pol" --home "$WORK/shop" >/dev/null
as shop steward dataset publish adults --project "$PROJECT" >/dev/null
sed 's/shop.visitors/shop.adults/' "$WORK/spec.json" >"$WORK/spec5.json"
for i in $(seq 1 50); do
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec5.json" --json \
		>"$WORK/prop5.json" 2>/dev/null && break
	sleep 0.2
done
JOB5=$(json_get "$WORK/prop5.json" job_id)
as bank steward job approve "$JOB5" >/dev/null
known shop "$JOB5"
as shop steward job approve "$JOB5" >/dev/null
wait_state bank "$JOB5" finished
as bank analyst job result "$JOB5" --output "$WORK/result5.csv" >/dev/null
tail -n +2 "$WORK/result5.csv" | cut -d, -f2 | sort >"$WORK/got5"
comm -12 <(tail -n +2 "$WORK/bank1.csv" | cut -d, -f1 | sort) \
	<(tail -n +2 "$WORK/shop.csv" | awk -F, '$2 >= 50 {print $1}' | sort) >"$WORK/want5"
[ "$(wc -l <"$WORK/want5")" -gt 300 ] || fail "test data: too few filtered common ids"
cmp -s "$WORK/got5" "$WORK/want5" || fail "the row filter was not applied"
KEPT=$(tail -n +2 "$WORK/shop.csv" | awk -F, '$2 >= 50' | wc -l)
node_api shop steward GET /v1/access-log
/usr/bin/python3 - "$BODY_OUT" "$JOB5" "$KEPT" <<'PY' || fail "access log does not count the kept rows"
import json, sys
log = [e for e in json.loads(sys.argv[1]) if e["job_id"] == sys.argv[2]]
assert len(log) == 1 and log[0]["rows"] == int(sys.argv[3]), (log, sys.argv[3])
PY
ok

finish
