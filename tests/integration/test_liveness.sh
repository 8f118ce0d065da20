#!/usr/bin/env bash
# A slow coordinator freezes nothing local (issue 8 §4 "node liveness"),
# with real processes: the coordinator answers every event post after
# 4 s (--fault slow-append:4000).  While a node's request that appends an
# event waits for it, the node's read requests still answer, and they
# answer before the slow request does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start --fault slow-append:4000
org_init bank
node_start bank

# A change (project create appends project.create) waits for the slow coordinator...
as bank admin project create slow --json >"$WORK/create.json" 2>"$WORK/create.err" &
CREATE=$!
sleep 1
kill -0 "$CREATE" 2>/dev/null || fail "the slow request finished at once: $(cat "$WORK/create.err")"
# ... and meanwhile the requests that need only the node answer (those
# that ask the coordinator answer too: test_concurrency_reads.sh).
for path in /v1/status /v1/projects /v1/access-log; do
	node_api bank admin GET "$path"
	[ "$CODE" = 200 ] || fail "$path: HTTP $CODE $BODY_OUT"
done
kill -0 "$CREATE" 2>/dev/null || fail "the reads waited for the slow request"
ok
wait "$CREATE" || fail "the slow request failed: $(cat "$WORK/create.err")"
PROJECT=$(json_get "$WORK/create.json" project)
run_expect 0 as bank admin project list
contains "$OUT" "$PROJECT"

finish
