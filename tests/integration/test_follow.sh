#!/usr/bin/env bash
# Nodes follow projects by a long-poll of the heads (POST /v1/heads), not
# by polling: an idle node makes about one request per 20 s, yet an event
# another organization appends reaches it at once.  A node and a
# coordinator stop promptly although a long-poll is waiting.  (The bench,
# bench/dataplane, measures the idle CPU and the latency precisely.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

SEALROOM_LOG=debug coord_start
for o in bank shop; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 0 50
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import more "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
node_start bank
node_start shop
project_setup bank shop
sleep 1

# --- idle: the coordinator hears (almost) nothing ----------------------------
requests() { grep -c 'http: ' "$WORK/coord.err" || true; }
before=$(requests)
sleep 5
after=$(requests)
idle=$((after - before))
echo "requests by two idle nodes in 5 s: $idle" >&2
# Polling every 250 ms, as before, made 40.
[ "$idle" -le 6 ] || fail "two idle nodes made $idle requests in 5 s"
ok

# --- an event reaches the other node at once ----------------------------------
shop_seq() {
	curl -s -H "Authorization: Bearer ${TOKEN[shop.admin]}" \
		"$(cat "$WORK/shop/node.url")/v1/projects/$PROJECT" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["sync"]["next_seq"])'
}
seen=$(shop_seq)
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
t0=$(date +%s%N)
for i in $(seq 1 300); do
	[ "$(shop_seq)" -gt "$seen" ] && break
	sleep 0.01
done
t1=$(date +%s%N)
[ "$(shop_seq)" -gt "$seen" ] || fail "the shop's node never saw the bank's event"
ok
ms=$(((t1 - t0) / 1000000))
echo "event seen by the other node after ${ms} ms (including the polling of this test)" >&2
[ "$ms" -lt 1500 ] || fail "the event took $ms ms to reach the other node"
ok

# --- a new project is watched at once -------------------------------------------
as shop admin project create second --json >"$WORK/p2.json"
P2=$(json_get "$WORK/p2.json" project)
as shop admin project invite "$P2" "${ORG_ID[bank]}" >/dev/null
as bank admin project join "$P2" >/dev/null
bank_seq() {
	curl -s -H "Authorization: Bearer ${TOKEN[shop.admin]}" \
		"$(cat "$WORK/shop/node.url")/v1/projects/$P2" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["sync"]["next_seq"])'
}
for i in $(seq 1 300); do
	[ "$(bank_seq)" -ge 3 ] && break
	sleep 0.01
done
[ "$(bank_seq)" -ge 3 ] || fail "the shop's node did not see the bank join its new project"
ok

# --- stops are prompt despite the waiting long-polls ---------------------------
t0=$(date +%s)
node_stop shop
kill -TERM "$COORD_PID"
wait "$COORD_PID" || true
t1=$(date +%s)
[ $((t1 - t0)) -le 4 ] || fail "stopping took $((t1 - t0)) s"
ok
node_stop bank
finish
