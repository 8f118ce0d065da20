#!/usr/bin/env bash
# Concurrency is served (issue 16, finding 5): proposals and approvals
# fired at once at three nodes all get in.  Every node holds its own
# appends in order, but the three race for the one chain at the
# coordinator; a node that loses syncs and tries again, with backoff, as
# long as the chain moves (--append-deadline).  What it proves:
#  - 200 proposals (two nodes), then 300 approvals and proposals at once
#    (three nodes): every one is answered 201, none "gave up";
#  - every one is in the ledger: the chain grew by exactly 500 events;
#  - the heads agree: each node's, and the coordinator's.
# In flight at a time: 16 requests per node (the node API's connection
# cap is the HTTP layer's business, issue 16 finding 3).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

PER=${SR_CONCURRENCY_PER:-100}   # requests per node and phase
INFLIGHT=16

coord_start --org-open-jobs 1000
for o in bank shop insurer; do org_init "$o"; done
gen_ids "$WORK/bank.csv" 1000 1100
gen_ids "$WORK/shop.csv" 1050 1150
gen_policy "$WORK/bank.pol" "${ORG_ID[bank]}"
gen_policy "$WORK/shop.pol" "${ORG_ID[bank]}"
sr dataset import customers "$WORK/bank.csv" --policy "$WORK/bank.pol" --home "$WORK/bank" >/dev/null
sr dataset import visitors "$WORK/shop.csv" --policy "$WORK/shop.pol" --home "$WORK/shop" >/dev/null
for o in bank shop insurer; do node_start "$o"; done
project_setup bank shop insurer
as bank steward dataset publish customers --project "$PROJECT" >/dev/null
as shop steward dataset publish visitors --project "$PROJECT" >/dev/null
ok

SPEC=$(cat <<JSON
{"spec": {"kind": "psi", "mode": "intersection",
 "inputs": [{"dataset": "bank.customers", "column": "customer_id"},
            {"dataset": "shop.visitors", "column": "customer_id"}],
 "receivers": ["${ORG_ID[bank]}"]}}
JSON
)
printf '%s' "$SPEC" >"$WORK/spec.json"
mkdir -p "$WORK/ans"

# fire ORG ROLE TAG LIST: one POST per line of LIST ("PATH KIND", KIND
# spec for a proposal's body) at ORG's node, INFLIGHT at a time; the
# status of the Nth in $WORK/ans/TAG.N, its body in TAG.N.body.
fire() {
	local org=$1 role=$2 tag=$3 list=$4 url
	url=$(cat "$WORK/$org/node.url")
	awk '{print NR, $0}' "$list" | xargs -P "$INFLIGHT" -L 1 bash -c '
		work=$0 tag=$1 token=$2 url=$3 n=$4 path=$5 kind=$6
		body=()
		[ "$kind" = spec ] && body=(--data-binary "@$work/spec.json")
		code=$(curl -s -o "$work/ans/$tag.$n.body" -w "%{http_code}" --max-time 180 \
			-X POST -H "Authorization: Bearer $token" "${body[@]}" "$url$path") ||
			code="curl-$?"
		echo "$code" >"$work/ans/$tag.$n"' "$WORK" "$tag" "${TOKEN[$org.$role]}" "$url"
}

# check TAG COUNT: every answer 201, none gave up.
check() {
	local tag=$1 want=$2 got bad
	got=$(ls "$WORK/ans" | grep -c "^$tag\.[0-9]*$" || true)
	[ "$got" -eq "$want" ] || fail "$tag: $got answers, expected $want"
	bad=$(for f in "$WORK/ans/$tag".*; do
		case "$f" in *.body) ;; *) grep -q '^201$' "$f" || echo "$f" ;; esac
	done)
	if [ -n "$bad" ]; then
		for f in $bad; do echo "$f: $(cat "$f") $(cat "$f.body" 2>/dev/null)" >&2; done | head -5
		fail "$tag: $(echo "$bad" | wc -l) of $want were not 201"
	fi
	! grep -l "gave up" "$WORK/ans/$tag".*.body >/dev/null 2>&1 || fail "$tag: an append gave up"
	ok
}

head_of() {   # head_of ORG -> "NEXT_SEQ HEAD" as the node has it
	node_api "$1" admin GET "/v1/projects/$PROJECT"
	printf '%s' "$BODY_OUT" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)["sync"]; print(s["next_seq"], s["head"])'
}
START=$(head_of bank | cut -d' ' -f1)

# --- phase 1: 2 x PER proposals at once (bank's and shop's analysts) ----
for i in $(seq "$PER"); do echo "/v1/projects/$PROJECT/jobs spec"; done >"$WORK/propose.list"
T0=$(date +%s)
fire bank analyst p1bank "$WORK/propose.list" &
A=$!
fire shop analyst p1shop "$WORK/propose.list" &
B=$!
wait "$A" "$B"
check p1bank "$PER"
check p1shop "$PER"
jobs_of() {   # jobs_of TAG -> approve paths of the jobs those proposals made
	cat "$WORK/ans/$1".*.body | /usr/bin/python3 -c '
import json, sys
for doc in sys.stdin.read().replace("}{", "}\n{").splitlines():
    print("/v1/jobs/%s/approve none" % json.loads(doc)["job_id"])'
}
jobs_of p1shop >"$WORK/bank-approves.list"
jobs_of p1bank >"$WORK/shop-approves.list"
[ "$(wc -l <"$WORK/bank-approves.list")" -eq "$PER" ] || fail "phase 1: job ids missing"

# --- phase 2: 3 x PER at once: approvals on two nodes, proposals on the
# third.  Each job gets one approval of two: none starts running. -----
fire bank steward p2bank "$WORK/bank-approves.list" &
A=$!
fire shop steward p2shop "$WORK/shop-approves.list" &
B=$!
fire insurer analyst p2ins "$WORK/propose.list" &
C=$!
wait "$A" "$B" "$C"
T1=$(date +%s)
check p2bank "$PER"
check p2shop "$PER"
check p2ins "$PER"
echo "$((5 * PER)) appends over 3 nodes in $((T1 - T0)) s, 0 give-ups" >&2

# --- all in the ledger, heads equal --------------------------------------
WANT=$((START + 5 * PER))
node_api bank admin GET "/v1/projects/$PROJECT/ledger"
COORD=$(printf '%s' "$BODY_OUT" | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["coordinator"]; print(c["next_seq"], c["head"])')
[ "${COORD%% *}" -eq "$WANT" ] || fail "the coordinator has ${COORD%% *} events, expected $WANT"
for o in bank shop insurer; do
	for i in $(seq 100); do
		[ "$(head_of "$o")" = "$COORD" ] && break
		sleep 0.1
	done
	[ "$(head_of "$o")" = "$COORD" ] || fail "$o's head $(head_of "$o") is not the coordinator's $COORD"
	node_api "$o" admin GET "/v1/projects/$PROJECT/ledger"
	[ "$(printf '%s' "$BODY_OUT" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["verified"])')" = True ] ||
		fail "$o: the ledger does not verify: $BODY_OUT"
	ok
done
finish
