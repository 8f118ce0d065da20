#!/usr/bin/env bash
# Slow and idle clients cannot lock valid tokens out of a node's local
# API (issue 16, finding 3: 32 slow connections did, before any token
# check).  A real coordinator and node; an attacker holds 500 idle TCP
# connections and 300 clients that send a header line a second, while a
# client with a valid token asks GET /v1/status on new connections: 100%
# answered, and every slow client is closed (within 9 s: see
# test_load_coord.sh).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mp.sh"
: "${SR_BINARY_DIR:?}"

coord_start
org_init bank
node_start bank
URL=$(cat "$WORK/bank/node.url")
"$SR_BINARY_DIR/bench_load" node --url "$URL" --token "${TOKEN[bank.admin]}" \
	--conns 500 --slow 300 --per-addr 100 --seconds 10 --p99 500 --slow-max 9 --check \
	>"$WORK/load.out" 2>"$WORK/load.err" ||
	fail "$(cat "$WORK/load.out" "$WORK/load.err")"
cat "$WORK/load.out"
ok
# The node still answers as before.
node_api bank admin GET /v1/status
[ "$CODE" = 200 ] || fail "after the attack: HTTP $CODE $BODY_OUT"
ok
finish
