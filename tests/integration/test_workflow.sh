#!/usr/bin/env bash
# The governed workflow with real processes: a coordinator and three nodes.
# What it proves:
#  - a job does not start (no node decrypts anything) until every owner
#    approved it, as each node's access log shows;
#  - a rejection kills a job;
#  - approvals bind the exact spec: approving a spec that differs by one
#    byte does not make another run;
#  - a PSI job's result equals the plaintext intersection, reaches only the
#    receiver, and its hash is in job.finish and in every owner's access log;
#  - the local API answers bad tokens, wrong roles, malformed and oversized
#    requests with clear 4xx errors and changes nothing;
#  - every node verifies the same ledger.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in bank shop insurer; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 1000 3000
gen_ids "$WORK/shop.csv" 2000 3500
gen_ids "$WORK/ins.csv" 2500 2600
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/ins.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
sr dataset import holders "$WORK/ins.csv" --policy "$WORK/ins.pol" --home "$WORK/insurer" >/dev/null
for o in bank shop insurer; do node_start "$o"; done
ok

project_setup bank shop insurer
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
as insurer steward dataset publish holders --project "$PROJECT" >/dev/null
ok

spec() {   # spec NORMALIZE-LIST
	cat <<JSON
{"kind": "psi", "mode": "intersection",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"], "normalize": [$1]}
JSON
}
propose() {   # propose ORG FILE -> JOB
	# exits 1 when the checker refuses; the proposal is recorded all the same
	as "$1" analyst job propose --project "$PROJECT" --spec "$2" --json >"$WORK/prop.json" || true
	JOB=$(json_get "$WORK/prop.json" job_id)
}
sleep 1

# --- approvals bind the exact spec ---------------------------------------
spec '"trim"' >"$WORK/a.json"
spec '"lower"' >"$WORK/b.json"     # differs in one word
propose bank "$WORK/a.json"; JOB_A=$JOB
propose bank "$WORK/b.json"; JOB_B=$JOB
[ "$JOB_A" != "$JOB_B" ] || fail "two specs, one job id"
ok
sleep 0.6
as bank steward job approve "$JOB_A" >/dev/null
ok
# --- a job does not start while an owner has not approved -----------------
sleep 2
as shop analyst job show "$JOB_A" --json >"$WORK/j.json"
[ "$(json_get "$WORK/j.json" state)" = proposed ] || fail "job ran with one approval: $(cat "$WORK/j.json")"
ok
node_api bank admin GET /v1/access-log
[ "$BODY_OUT" = "[]" ] || fail "bank decrypted data before the approvals: $BODY_OUT"
ok
node_api shop admin GET /v1/access-log
[ "$BODY_OUT" = "[]" ] || fail "shop decrypted data before the approvals: $BODY_OUT"
ok

as shop steward job approve "$JOB_A" >/dev/null
wait_state bank "$JOB_A" finished
ok
# B had no approvals at all, A's do not count for it.
as bank analyst job show "$JOB_B" --json >"$WORK/j.json"
[ "$(json_get "$WORK/j.json" state)" = proposed ] || fail "job B changed state"
ok

# --- the result is the plaintext intersection, only for the receiver ------
as bank analyst job result "$JOB_A" --output "$WORK/result.csv" >/dev/null
tail -n +2 "$WORK/result.csv" | cut -d, -f2 | sort >"$WORK/got"
comm -12 <(tail -n +2 "$WORK/bank.csv" | cut -d, -f1 | sort) \
	<(tail -n +2 "$WORK/shop.csv" | cut -d, -f1 | sort) >"$WORK/want"
[ "$(wc -l <"$WORK/want")" -eq 1000 ] || fail "test data: expected 1000 common ids"
cmp -s "$WORK/got" "$WORK/want" || fail "PSI result differs from the plaintext intersection"
ok
run_expect 1 as shop analyst job result "$JOB_A"
contains "$ERR" "no result"

# --- the output hash is in job.finish and in the owners' access logs ------
as shop analyst job show "$JOB_A" --json >"$WORK/j.json"
HASH=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["receipt"]["output_hash"])' "$WORK/j.json")
[ ${#HASH} -eq 64 ] || fail "no output hash in the receipt"
ok
sleep 0.6
for o in bank shop; do
	node_api "$o" steward GET /v1/access-log
	contains "$BODY_OUT" "\"job_id\":\"$JOB_A\""
	contains "$BODY_OUT" "\"output_hash\":\"$HASH\""
	contains "$BODY_OUT" '"columns":["customer_id"]'
done
node_api insurer steward GET /v1/access-log
[ "$BODY_OUT" = "[]" ] || fail "insurer read data for a job it is not in: $BODY_OUT"
ok

# --- a rejection kills a job ---------------------------------------------
cat >"$WORK/c.json" <<JSON
{"kind": "psi", "mode": "cardinality",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "insurer.holders", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
propose bank "$WORK/c.json"; JOB_C=$JOB
sleep 0.6
as insurer steward job reject "$JOB_C" --reason "not this quarter" >/dev/null
sleep 0.6
run_expect 1 as bank steward job approve "$JOB_C"
contains "$ERR" "rejected"
wait_state bank "$JOB_C" rejected
sleep 1
node_api insurer steward GET /v1/access-log
[ "$BODY_OUT" = "[]" ] || fail "insurer decrypted data for a rejected job"
ok

# --- the checker refuses what the policies forbid --------------------------
cat >"$WORK/d.json" <<JSON
{"kind": "psi", "mode": "intersection",
 "inputs": [{"dataset": "bank.customers", "column": "score"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[shop]}"]}
JSON
propose shop "$WORK/d.json"; JOB_D=$JOB
contains "$(cat "$WORK/prop.json")" '"accept": false'
contains "$(cat "$WORK/prop.json")" 'usage-not-allowed'
sleep 0.6
run_expect 1 as bank steward job approve "$JOB_D"
contains "$ERR" "security checker refuses"

# --- roles, tokens and malformed requests ----------------------------------
run_expect 1 as bank analyst job approve "$JOB_B"
contains "$ERR" "needs the steward role"
run_expect 1 as shop steward project invite "$PROJECT" "${ORG_ID[insurer]}"
contains "$ERR" "needs the admin role"
TOKEN[bank.bogus]=srt_0000000000000000000000000000000000000000000000000000000000000000
node_api bank bogus GET /v1/projects
[ "$CODE" = 401 ] || fail "bad token: HTTP $CODE"
ok
node_api bank analyst POST "/v1/projects/$PROJECT/jobs" '{"spec": '
[ "$CODE" = 400 ] || fail "malformed JSON: HTTP $CODE"
ok
contains "$BODY_OUT" "error"
node_api bank analyst POST "/v1/projects/$PROJECT/jobs" '{"spec": {"kind": "psi"}, "x": 1}'
[ "$CODE" = 400 ] || fail "unknown key: HTTP $CODE $BODY_OUT"
ok
head -c 9000000 /dev/zero | tr '\0' ' ' >"$WORK/big"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer ${TOKEN[bank.analyst]}" \
	--data-binary @"$WORK/big" "$(cat "$WORK/bank/node.url")/v1/projects/$PROJECT/jobs")
[ "$CODE" = 413 ] || fail "oversized body: HTTP $CODE"
ok
node_api bank admin GET /v1/nothing
[ "$CODE" = 404 ] || fail "unknown endpoint: HTTP $CODE"
ok
# The coordinator refuses unsigned requests.
CODE=$(curl -s -k -o "$WORK/c.out" -w '%{http_code}' "$COORD_URL/v1/projects/$PROJECT/head")
[ "$CODE" = 401 ] || fail "unsigned request: HTTP $CODE"
ok

# --- every node verifies the same chain -------------------------------------
sleep 0.6
for o in bank shop insurer; do
	as "$o" steward ledger verify "$PROJECT" --json >"$WORK/$o.ledger.json"
	contains "$(cat "$WORK/$o.ledger.json")" '"verified": true'
done
h1=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["head"])' "$WORK/bank.ledger.json")
h2=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["head"])' "$WORK/insurer.ledger.json")
[ "$h1" = "$h2" ] || fail "nodes disagree on the head"
ok
finish
