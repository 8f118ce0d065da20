#!/usr/bin/env bash
# The direct path with real nodes: two nodes started with --data-listen
# run a PSI job whose messages go straight between them (the coordinator
# relays only the hellos and the PATH messages), and the result is the
# plaintext intersection; a node that advertises an address nobody can
# reach gets its messages through the coordinator instead, and the job
# still finishes with the same result.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

SEALROOM_LOG=debug coord_start
for o in bank shop; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 0 4000
gen_ids "$WORK/shop.csv" 2500 6000
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
node_start bank --data-listen 127.0.0.1:0
contains "$(cat "$WORK/bank.node.out")" "direct path on 127.0.0.1:"
node_start shop --data-listen 127.0.0.1:0
project_setup bank shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
comm -12 <(tail -n +2 "$WORK/bank.csv" | cut -d, -f1 | sort) \
	<(tail -n +2 "$WORK/shop.csv" | cut -d, -f1 | sort) >"$WORK/want"

run_job() {   # run_job NORMALIZE -> JOB, run to the end, result checked
	cat >"$WORK/s.json" <<JSON
{"kind": "psi", "mode": "intersection", "normalize": [$1],
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
	sleep 0.5
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/s.json" --json >"$WORK/prop.json"
	JOB=$(json_get "$WORK/prop.json" job_id)
	sleep 0.5
	as bank steward job approve "$JOB" >/dev/null
	as shop steward job approve "$JOB" >/dev/null
	wait_state bank "$JOB" finished 60
	rm -f "$WORK/result.csv"
	as bank analyst job result "$JOB" --output "$WORK/result.csv" >/dev/null
	tail -n +2 "$WORK/result.csv" | cut -d, -f2 | sort >"$WORK/got"
	cmp -s "$WORK/got" "$WORK/want" || fail "PSI result differs from the plaintext intersection"
	ok
}
# Mailbox deposits of one job, from the coordinator's log.
deposits() { grep -c "POST /v1/projects/$PROJECT/jobs/$1/mailbox/" "$WORK/coord.err" || true; }

# --- both listen: only hellos and PATH messages through the coordinator ----
run_job '"trim"'
n=$(deposits "$JOB")
echo "direct: the coordinator held $n messages of the job" >&2
[ "$n" -eq 4 ] || fail "with the direct path the coordinator held $n messages, expected 4 (2 hellos, 2 PATH)"
ok

# --- the shop advertises an address nobody can reach: the relay ----------------
node_stop shop
node_start shop --data-listen 127.0.0.1:0 --data-advertise 127.0.0.1:1
sleep 0.5
run_job '"lower"'
n=$(deposits "$JOB")
echo "unreachable: the coordinator held $n messages of the job" >&2
[ "$n" -gt 4 ] || fail "the bank's messages did not fall back to the relay ($n)"
ok
for o in bank shop; do
	run_expect 0 as "$o" steward ledger verify "$PROJECT"
done
finish
