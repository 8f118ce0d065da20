#!/usr/bin/env bash
# Reads never wait for a coordinator call (issue 16, finding 5): the
# local API's reads that ask the coordinator something (the invitations,
# the coordinator's head in a ledger check) go over a connection of their
# own, so they are not queued behind an append that waits for a slow
# coordinator (--fault slow-append: every event post answered after 3 s).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

coord_start --fault slow-append:3000
org_init bank
org_init shop   # its id only: bank invites it
node_start bank
as bank admin project create slow --json >"$WORK/create.json"
PROJECT=$(json_get "$WORK/create.json" project)
ok

ms() { date +%s%3N; }
# An append that waits 3 s at the coordinator...
T0=$(ms)
as bank admin project invite "$PROJECT" "${ORG_ID[shop]}" >"$WORK/invite.out" 2>"$WORK/invite.err" &
INVITE=$!
sleep 0.5
kill -0 "$INVITE" 2>/dev/null || fail "the slow append finished at once: $(cat "$WORK/invite.err")"
# ... and meanwhile reads that call the coordinator answer at once.
for path in /v1/invitations "/v1/projects/$PROJECT/ledger" /v1/status; do
	T=$(ms)
	node_api bank admin GET "$path"
	[ "$CODE" = 200 ] || fail "$path: HTTP $CODE $BODY_OUT"
	[ $(($(ms) - T)) -lt 1500 ] || fail "$path took $(($(ms) - T)) ms behind the slow append"
	ok
done
contains "$BODY_OUT" '"org_id"'
node_api bank admin GET "/v1/projects/$PROJECT/ledger"
contains "$BODY_OUT" '"next_seq":1'   # the coordinator's, before the invite lands
kill -0 "$INVITE" 2>/dev/null || fail "the reads were not served while the append waited"
wait "$INVITE" || fail "the slow append failed: $(cat "$WORK/invite.err")"
[ $(($(ms) - T0)) -ge 2900 ] || fail "the append did not wait for the slow coordinator"
ok
finish
