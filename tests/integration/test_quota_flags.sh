#!/usr/bin/env bash
# The coordinator's quotas end to end, with real processes (issue 16,
# findings 4 and 6; docs/operations.md "Quotas"): the flags are checked,
# and a node's requests past a quota fail with the coordinator's message,
# which names the quota and its flag, and change nothing.
#  - --org-projects 1: a second project of the same organization refused;
#  - --org-events-per-min 4: the fifth event of the minute refused (429);
#  - --disk-floor above the free space: mailbox deposits refused (507,
#    shown by the unit tests), while ledger events are still taken.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

# Settings out of range: usage errors naming the flag and its range.
run_expect 2 sr coordinator --data "$WORK/x" --org-projects 0
contains "$ERR" "--org-projects must be 1 to 100000"
run_expect 2 sr coordinator --data "$WORK/x" --org-mailbox-bytes 1M
contains "$ERR" "--org-mailbox-bytes must be 4M to 1024G"
run_expect 2 sr coordinator --data "$WORK/x" --org-open-jobs 65537
contains "$ERR" "--org-open-jobs must be 1 to 65536"
run_expect 2 sr coordinator --data "$WORK/x" --org-events-per-min x
contains "$ERR" "--org-events-per-min must be"
run_expect 2 sr coordinator --data "$WORK/x" --disk-floor 5X
contains "$ERR" "--disk-floor must be 0 to"
run_expect 0 sr coordinator --help
contains "$OUT" "--org-mailbox-bytes N"

# Not across a minute's turn: the events counter starts again there.
while [ $((10#$(date +%S))) -gt 45 ]; do sleep 1; done
coord_start --org-projects 1 --org-events-per-min 4 --disk-floor 1048576G
for o in bank shop ins broker; do org_init "$o"; done
node_start bank
# Event 1: the project (the disk floor does not stop ledger events).
as bank admin project create first --json >"$WORK/p.json"
PROJECT=$(json_get "$WORK/p.json" project)
ok
run_expect 1 as bank admin project create second
contains "$ERR" "created 1 projects, its quota (--org-projects)"
run_expect 0 as bank admin project list --json
contains "$OUT" "$PROJECT"
[ "$(printf '%s' "$OUT" | grep -o '"project"' | wc -l)" -eq 1 ] || fail "a second project: $OUT"
ok
# Events 2 to 4: invitations; the fifth is past the quota.
for o in shop ins broker; do as bank admin project invite "$PROJECT" "${ORG_ID[$o]}" >/dev/null; done
ok
run_expect 1 as bank admin project invite "$PROJECT" org_00000000000000000000000000000001
contains "$ERR" "events this minute, its quota (--org-events-per-min)"
node_api bank admin GET "/v1/projects/$PROJECT"
contains "$BODY_OUT" '"next_seq":4'
finish
