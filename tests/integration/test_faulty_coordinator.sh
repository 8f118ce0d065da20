#!/usr/bin/env bash
# Nodes catch a coordinator that misbehaves (DESIGN §2: the coordinator is
# trusted with nothing).  A coordinator started with --fault serves events
# dropped, altered, forged or reordered, or replays/drops job messages; two
# coordinators grown from one database show two nodes different histories.
# Each time the node refuses, says why, and folds nothing wrong; a job over
# bad mailboxes ends in job.fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

gen_ids "$WORK/bank.csv" 0 300
gen_ids "$WORK/shop.csv" 100 400
ROUND_NO=0
fresh_orgs() {   # new homes for bank and shop, with their data imported
	ROUND_NO=$((ROUND_NO + 1))
	HOMES=$WORK/round$ROUND_NO
	mkdir -p "$HOMES"
	for o in bank shop; do org_init "$o"; done
	gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
	gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
	sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$HOMES/bank" >/dev/null
	sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$HOMES/shop" >/dev/null
}

# One round: a fresh coordinator with FAULT; the project's events 0-2 are
# made with both nodes up; events 3 and 4 while the shop's node is down;
# when it comes back it fetches both at once and must refuse as EXPECTED.
event_fault() {   # event_fault FAULT EXPECTED
	local round=$1
	round=${round//:/-}
	COORD_DIR="$WORK/coord-$round" coord_start --fault "$1"
	fresh_orgs
	node_start bank
	node_start shop
	project_setup bank shop
	node_stop shop
	as bank steward dataset publish customers --project "$PROJECT" >/dev/null
	as bank admin project show "$PROJECT" >/dev/null
	as bank admin project invite "$PROJECT" org_0123456789abcdef0123456789abcdef >/dev/null
	node_start shop
	local i
	for i in $(seq 1 150); do
		as shop admin project show "$PROJECT" --json >"$WORK/show.json"
		grep -q "$2" "$WORK/show.json" && break
		sleep 0.2
	done
	contains "$(cat "$WORK/show.json")" "$2"
	contains "$(cat "$WORK/shop.node.err")" "stopped following"
	# Nothing past the bad event was folded.
	/usr/bin/python3 - "$WORK/show.json" <<'PY' || fail "shop folded past the bad event"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["sync"]["next_seq"] == 3, s["sync"]
PY
	ok
	node_stop bank
	node_stop shop
	kill -TERM "$COORD_PID"; wait "$COORD_PID" || true
}

event_fault drop:3 "out of order"
event_fault reorder:3 "out of order"
event_fault alter:3 "does not match the event's contents"
event_fault forge:3 "signature does not verify"

# --- two histories: coordinators grown from one database -------------------
COORD_DIR="$WORK/fork-a" coord_start
URL_A=$COORD_URL PID_A=$COORD_PID
fresh_orgs
node_start bank
node_start shop
project_setup bank shop
sleep 0.6
node_stop bank
node_stop shop
kill -TERM "$PID_A"; wait "$PID_A" || true
cp -a "$WORK/fork-a" "$WORK/fork-b"
COORD_DIR="$WORK/fork-a" coord_start
URL_A=$COORD_URL
COORD_DIR="$WORK/fork-b" coord_start
URL_B=$COORD_URL
NODE_COORD_URL=$URL_A node_start bank
NODE_COORD_URL=$URL_B node_start shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
node_stop shop
# The shop's node now talks to the coordinator that has the bank's history.
NODE_COORD_URL=$URL_A node_start shop
for i in $(seq 1 150); do
	as shop admin project show "$PROJECT" --json >"$WORK/show.json"
	grep -q "fork" "$WORK/show.json" && break
	sleep 0.2
done
contains "$(cat "$WORK/show.json")" "fork"
run_expect 1 as shop steward dataset publish visitors --project "$PROJECT"
contains "$ERR" "stopped following"
node_stop bank
node_stop shop

# --- job messages replayed or dropped by the mailbox ------------------------
mail_fault() {   # mail_fault FAULT EXPECTED
	COORD_DIR="$WORK/coord-$1" coord_start --fault "$1"
	fresh_orgs
	# Long enough for a loaded machine under ASan to send the first
	# messages, short enough that a dropped message fails the job soon.
	node_start bank --job-timeout 8
	node_start shop --job-timeout 8
	project_setup bank shop
	as bank steward dataset publish customers --project "$PROJECT" >/dev/null
	as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
	cat >"$WORK/s.json" <<JSON
{"kind": "psi", "mode": "intersection",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
	sleep 0.6
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/s.json" --json >"$WORK/prop.json"
	JOB=$(json_get "$WORK/prop.json" job_id)
	sleep 0.6
	as bank steward job approve "$JOB" >/dev/null
	as shop steward job approve "$JOB" >/dev/null
	wait_state bank "$JOB" failed 90
	as bank analyst job show "$JOB" --json >"$WORK/j.json"
	contains "$(cat "$WORK/j.json")" "$2"
	run_expect 1 as bank analyst job result "$JOB"
	node_stop bank
	node_stop shop
	kill -TERM "$COORD_PID"; wait "$COORD_PID" || true
}
mail_fault replay-mail "replay"
mail_fault drop-mail "no message from"
finish
