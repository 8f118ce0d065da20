#!/usr/bin/env bash
# KKRT-PSI as a governed job through real processes: a coordinator and two
# nodes run a psi job with "protocol": "kkrt" (relayed through the
# coordinator, then over the direct path); the result at each of the two
# receivers is the plaintext intersection (with normalization and a
# duplicate), the result says which protocol ran, the same job without a
# protocol key (auto) runs kkrt too, and ecdh gives the same rows.  A spec
# asking kkrt for cardinality is refused by the checker.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start
for o in bank shop; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 0 30000
gen_ids "$WORK/shop.csv" 12000 50000
# Repeated keys, different case and spaces: normalization and duplicates.
printf ' c0000007 ,1\nC0000007,2\n,3\n' >>"$WORK/shop.csv"
gen_policy "$WORK/pol" "${ORG_ID[bank]}" "${ORG_ID[shop]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/pol" --home "$WORK/shop" >/dev/null
node_start bank
node_start shop
project_setup bank shop
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
# The plaintext answer: shared ids after trim + lower, as the bank writes them.
norm() { tail -n +2 "$1" | cut -d, -f1 | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | tr 'A-Z' 'a-z' | grep -v '^$' | sort -u; }
comm -12 <(norm "$WORK/bank.csv") <(norm "$WORK/shop.csv") >"$WORK/want"
[ "$(wc -l <"$WORK/want")" -eq 18001 ] || fail "bad fixture: $(wc -l <"$WORK/want") common ids"

propose() {   # propose SPEC-EXTRA MODE -> JOB
	cat >"$WORK/s.json" <<JSON
{"kind": "psi", "mode": "$2", $1 "normalize": ["trim", "lower"],
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}", "${ORG_ID[shop]}"]}
JSON
	sleep 0.5
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/s.json" --json >"$WORK/prop.json"
	JOB=$(json_get "$WORK/prop.json" job_id)
}

run_job() {   # run_job SPEC-EXTRA PROTOCOL-EXPECTED
	propose "$1" intersection
	sleep 0.5
	as bank steward job approve "$JOB" >/dev/null
	as shop steward job approve "$JOB" >/dev/null
	wait_state bank "$JOB" finished 120
	for o in bank shop; do
		rm -f "$WORK/$o.result.csv"
		as "$o" analyst job result "$JOB" --output "$WORK/$o.result.csv" >/dev/null
		as "$o" analyst job result "$JOB" --json >"$WORK/$o.result.json"
		/usr/bin/python3 - "$WORK/$o.result.json" "$2" <<'PY' || fail "$o: result meta"
import json, sys
meta = json.load(open(sys.argv[1]))["meta"]
assert meta["protocol"] == sys.argv[2], meta
assert meta["size"] == 18001, meta
PY
		tail -n +2 "$WORK/$o.result.csv" | cut -d, -f2 |
			sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | tr 'A-Z' 'a-z' | sort >"$WORK/$o.got"
		cmp -s "$WORK/$o.got" "$WORK/want" || fail "$o: the result differs from the plaintext intersection"
	done
	ok
}

# --- protocol kkrt, relayed ------------------------------------------------------
run_job '"protocol": "kkrt",' kkrt
# The spec the ledger records names the protocol.
as bank analyst job show "$JOB" --json >"$WORK/show.json"
contains "$(cat "$WORK/show.json")" '"protocol": "kkrt"'
# The shop's duplicates: the row kept is the first of the key.
grep -q ',C0000007$' "$WORK/shop.result.csv" && fail "the shop's later duplicate row was returned"
ok

# --- no protocol key: auto picks kkrt; and ecdh gives the same rows ------------
run_job '' kkrt
cp "$WORK/bank.got" "$WORK/auto.got"
run_job '"protocol": "ecdh",' ecdh
cmp -s "$WORK/bank.got" "$WORK/auto.got" || fail "ecdh and kkrt results differ"
ok

# --- kkrt for cardinality: refused by the checker ---------------------------------
sleep 0.5
cat >"$WORK/c.json" <<JSON
{"kind": "psi", "mode": "cardinality", "protocol": "kkrt",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON
run_expect 1 as bank analyst job propose --project "$PROJECT" --spec "$WORK/c.json"
contains "$ERR$OUT" "psi-kkrt-intersection"

# --- the direct path: kkrt's bulk messages between the nodes ---------------------
node_stop bank
node_stop shop
node_start bank --data-listen 127.0.0.1:0
node_start shop --data-listen 127.0.0.1:0
sleep 0.5
run_job '"protocol": "kkrt",' kkrt
for o in bank shop; do
	run_expect 0 as "$o" steward ledger verify "$PROJECT"
done
finish
