#!/usr/bin/env bash
# SIGKILL in the middle of a job, with real processes.  Killing a node:
# the job ends in job.fail (the other side times out, the restarted node
# records why), the ledger verifies everywhere, the dataset is intact.
# Killing the coordinator: after a restart on the same address its log
# replays and verifies, the job completes or ends in job.fail, and no node
# lost or disagrees on an event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

for o in bank shop; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 0 60000
gen_ids "$WORK/shop.csv" 30000 90000
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
coord_start
node_start bank --job-timeout 5
node_start shop --job-timeout 5
project_setup bank shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
sleep 0.6

run_job() {   # run_job NORMALIZE -> JOB, approved by both
	cat >"$WORK/s.json" <<JSON
{"kind": "psi", "mode": "intersection", "normalize": [$1],
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/s.json" --json >"$WORK/prop.json"
	JOB=$(json_get "$WORK/prop.json" job_id)
	sleep 0.6
	as bank steward job approve "$JOB" >/dev/null
	as shop steward job approve "$JOB" >/dev/null
}
wait_running() {   # until the bank's runner is inside the PSI exchange
	local i
	for i in $(seq 1 100); do
		as bank analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
		grep -q '"psi: exchange"\|"psi: hashing"' "$WORK/j.json" && return 0
		sleep 0.1
	done
	fail "job $JOB never reached the exchange: $(cat "$WORK/j.json")"
}

# --- kill the shop's node mid-job -------------------------------------------
run_job '"trim"'
wait_running
kill -KILL "${NODE_PID[shop]}"
wait "${NODE_PID[shop]}" 2>/dev/null || true
wait_state bank "$JOB" failed 40
node_start shop --job-timeout 5
sleep 1
as shop steward job show "$JOB" --json >"$WORK/j.json"
[ "$(json_get "$WORK/j.json" state)" = failed ] || fail "job not failed at the shop"
ok
run_expect 1 as bank analyst job result "$JOB"
for o in bank shop; do
	run_expect 0 as "$o" steward ledger verify "$PROJECT"
done
run_expect 0 sr dataset verify visitors --home "$WORK/shop"

# --- kill the coordinator mid-job ---------------------------------------------
run_job '"lower"'
wait_running
ADDR=${COORD_URL#https://}
kill -KILL "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
sleep 0.5
"$SEALROOM" coordinator --listen "$ADDR" --data "$WORK/coord" >"$WORK/coord2.out" 2>"$WORK/coord2.err" &
COORD_PID=$!
PIDS+=("$COORD_PID")
wait_for "$WORK/coord2.out" "listening on"
for i in $(seq 1 200); do
	as bank analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
	s=$(json_get "$WORK/j.json" state 2>/dev/null || true)
	[ "$s" = finished ] || [ "$s" = failed ] && break
	sleep 0.2
done
[ "$s" = finished ] || [ "$s" = failed ] || fail "job neither finished nor failed after the coordinator restart: $s"
ok
echo "job after the coordinator's SIGKILL: $s" >&2
sleep 1
for o in bank shop; do
	as "$o" steward ledger verify "$PROJECT" --json >"$WORK/$o.v.json"
	contains "$(cat "$WORK/$o.v.json")" '"verified": true'
done
/usr/bin/python3 - "$WORK/bank.v.json" "$WORK/shop.v.json" <<'PY' || fail "nodes and coordinator disagree after the restart"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["summary"]["head"] == b["summary"]["head"], "heads differ"
assert a["summary"]["events"] == a["coordinator"]["next_seq"], (a["summary"]["events"], a["coordinator"])
PY
ok
finish
