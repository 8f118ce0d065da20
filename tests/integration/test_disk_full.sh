#!/usr/bin/env bash
# Durability is never assumed (issue 16): every SQLite write of a node can
# fail, and the node neither loses an event nor runs ahead of its disk nor
# accuses anyone of tampering; it says why in project show and its log,
# and resumes by itself once writes succeed again.
#
# Nodes are built as sealroom-test, whose SQLite writes fail as the file
# named by SEALROOM_TEST_DB_FAULT says (src/base/db.h): "full" fails every
# write (a full disk), N fails the N-th write after that content appeared.
#  1. a full disk at one node while the other proposes many jobs (the
#     issue's finding: 73 events in memory, 30 on disk, then a false
#     "node.db edited?" after a restart);
#  2. every write in turn: round K fails the K-th write of both nodes
#     during a proposal, its approvals (appends), the follower's syncs,
#     the job's local state, access log and result; after each round the
#     ledgers verify, both nodes hold every event of the coordinator with
#     the same head, and nothing stopped following;
#  3. a restart after all that: no event refused;
#  0. first, the coordinator's disk full: a clear 5xx naming coord.db and
#     the cause, and nothing changes.
# The same with a real full file system: test_disk_full_tmpfs.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"
: "${SEALROOM_TEST:?SEALROOM_TEST must point at the sealroom-test binary}"

# Whatever the umask, what the services write is their owner's only.
umask 000
SEALROOM=$SEALROOM_TEST
SEALROOM_TEST_DB_FAULT="$WORK/coord.fault" coord_start
for o in bank shop; do org_init "$o"; done
/usr/bin/python3 - "$WORK" <<'PY'
import sys
for name, rows in (("bank", 300), ("shop", 200)):
    with open("%s/%s.csv" % (sys.argv[1], name), "w") as f:
        f.write("customer_id,amount\n")
        for i in range(rows):
            f.write("C%06d,%d\n" % (i, (i * 37) % 1000))
PY
cat >"$WORK/pol.json" <<JSON
{"columns": {"customer_id": {"class": "id"}, "amount": {"class": "sa", "bounds": [0, 1000]}},
 "receivers": ["${ORG_ID[bank]}"]}
JSON
sr dataset import accounts "$WORK/bank.csv" --policy "$WORK/pol.json" --home "$WORK/bank" >/dev/null
sr dataset import orders "$WORK/shop.csv" --policy "$WORK/pol.json" --home "$WORK/shop" >/dev/null
start() {   # start ORG: a node whose writes obey $WORK/ORG.fault
	SEALROOM_TEST_DB_FAULT="$WORK/$1.fault" node_start "$1"
}
for o in bank shop; do start "$o"; done
project_setup bank shop
as bank steward dataset publish accounts --project "$PROJECT" >/dev/null
as shop steward dataset publish orders --project "$PROJECT" >/dev/null
cat >"$WORK/spec.json" <<JSON
{"kind": "test_sum",
 "inputs": [{"dataset": "bank.accounts", "column": "amount"},
            {"dataset": "shop.orders", "column": "amount"}],
 "receivers": ["${ORG_ID[bank]}"]}
JSON

fault() {   # fault ORG CONTENT: a new fault file (its content counts from now)
	printf '%s\n' "$2" >"$WORK/$1.fault.tmp"
	mv "$WORK/$1.fault.tmp" "$WORK/$1.fault"
}
faults_hit() {   # how many writes the hook failed at ORG so far
	grep -c 'db: test fault' "$WORK/$1.node.err" || true
}
# state ORG: "EVENTS HEAD COORD_NEXT COORD_HEAD STOPPED STORAGE" from the
# node's own re-verification of node.db and its project state.
state() {
	local url
	url=$(cat "$WORK/$1/node.url")
	curl -s -H "Authorization: Bearer ${TOKEN[$1.admin]}" "$url/v1/projects/$PROJECT/ledger" \
		>"$WORK/$1.ledger.json"
	curl -s -H "Authorization: Bearer ${TOKEN[$1.admin]}" "$url/v1/projects/$PROJECT" \
		>"$WORK/$1.project.json"
	/usr/bin/python3 - "$WORK/$1.ledger.json" "$WORK/$1.project.json" <<'PY'
import json, sys
led = json.load(open(sys.argv[1]))
proj = json.load(open(sys.argv[2]))
s, c, sync = led.get("summary") or {}, led.get("coordinator") or {}, proj.get("sync") or {}
print(s.get("events", -1) if led.get("verified") else "unverified", s.get("head", "-"),
      c.get("next_seq", -1), c.get("head", "-"),
      "stopped" if sync.get("error") else "following",
      "storage-error" if sync.get("storage_error") else "stored",
      sync.get("next_seq", -1))
PY
}
# converged WHAT: both nodes verify, hold the coordinator's chain (memory
# and disk alike), follow the project and have no storage error.
converged() {
	local i b s
	for i in $(seq 1 150); do
		b=$(state bank)
		s=$(state shop)
		read -r be bh bc bch bf bst bm <<<"$b"
		read -r se sh sc sch sf sst sm <<<"$s"
		if [ "$be" = "$bc" ] && [ "$se" = "$sc" ] && [ "$bh" = "$bch" ] &&
			[ "$sh" = "$sch" ] && [ "$bh" = "$sh" ] && [ "$bm" = "$be" ] &&
			[ "$sm" = "$se" ] && [ "$bf$sf" = followingfollowing ] &&
			[ "$bst$sst" = storedstored ]; then
			ok
			return 0
		fi
		sleep 0.2
	done
	echo "bank: $b" >&2
	echo "shop: $s" >&2
	tail -20 "$WORK/bank.node.err" "$WORK/shop.node.err" >&2
	fail "$1: the nodes did not converge"
}
no_false_tampering() {
	! grep -h 'does not verify\|stopped following\|refuses' "$WORK/bank.node.err" \
		"$WORK/shop.node.err" >&2 || fail "$1: a node reported tampering or stopped following"
	ok
}
converged "before any fault"

# --- 0. the coordinator's disk is full ------------------------------------------
fault coord full
run_expect 3 as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json"
contains "$ERR" "coord.db: store event: disk full"
rm -f "$WORK/coord.fault"
converged "after the coordinator's disk was full"
no_false_tampering "coordinator disk full"

# --- 1. a full disk at the shop while the bank proposes 25 jobs -------------
as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json >"$WORK/prop.json"
FIRST=$(json_get "$WORK/prop.json" job_id)
converged "after a proposal"
fault shop full
for i in $(seq 1 25); do
	as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" >/dev/null
done
sleep 1
read -r se sh sc sch sf sst sm <<<"$(state shop)"
[ "$sst" = storage-error ] || fail "the shop's node does not report its failed writes ($sst)"
ok
[ "$sm" = "$se" ] || fail "the shop's node folded $sm events in memory but node.db holds $se"
ok
[ "$sc" -ge $((se + 25)) ] || fail "the shop stored events it could not ($se of $sc)"
ok
[ "$sf" = following ] || fail "a full disk made the shop stop following"
ok
as shop admin project show "$PROJECT" >"$WORK/show.txt"
contains "$(cat "$WORK/show.txt")" "cannot store new events (it retries by itself)"
contains "$(cat "$WORK/show.txt")" "disk full"
contains "$(cat "$WORK/shop.node.err")" "cannot store new events, will retry"
# An append while the disk is full: the chain may take it, the node says
# it cannot store it, and nothing is lost either way.
run_expect 3 as shop steward job approve "$FIRST"
contains "$ERR" "disk full"
rm -f "$WORK/shop.fault"
converged "after the disk has room again"
no_false_tampering "full disk"

# --- 2. every write in turn ------------------------------------------------------
# one_round LABEL FAULT: arm FAULT at both nodes, propose a job, approve it,
# let it run, disarm, then check: converged, no tampering, the job ended
# (finished with the plaintext sum, or failed).  Sets HITS (writes failed).
one_round() {
	local st="" i o
	hits_before=$(($(faults_hit bank) + $(faults_hit shop)))
	fault bank "$2"
	fault shop "$2"
	JOB=""
	if as bank analyst job propose --project "$PROJECT" --spec "$WORK/spec.json" --json \
		>"$WORK/prop.json" 2>"$WORK/prop.err"; then
		JOB=$(json_get "$WORK/prop.json" job_id)
	else
		grep -q 'disk full' "$WORK/prop.err" || { cat "$WORK/prop.err" >&2; fail "$1: propose failed without naming the cause"; }
		ok
	fi
	if [ -n "$JOB" ]; then
		for o in shop bank; do
			for i in $(seq 1 50); do
				as "$o" steward job approve "$JOB" >/dev/null 2>"$WORK/approve.err" && break
				grep -q 'already approved\|not waiting' "$WORK/approve.err" && break
				sleep 0.1
			done
		done
	fi
	# Let the job run (or fail) with the fault armed.
	[ -n "$JOB" ] && for i in $(seq 1 50); do
		st=$(as bank analyst job show "$JOB" --json 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true)
		case "$st" in finished|failed) break ;; esac
		sleep 0.2
	done
	rm -f "$WORK/bank.fault" "$WORK/shop.fault"
	converged "$1"
	no_false_tampering "$1"
	if [ -n "$JOB" ]; then
		for i in $(seq 1 100); do
			st=$(as bank analyst job show "$JOB" --json 2>/dev/null |
				/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true)
			case "$st" in finished|failed) break ;; esac
			sleep 0.2
		done
		case "$st" in
		finished|failed) ok ;;
		*) fail "$1: job $JOB stuck in state '$st'" ;;
		esac
		if [ "$st" = finished ]; then
			as bank analyst job result "$JOB" --json >"$WORK/result.json" ||
				fail "$1: finished job without a readable result"
			/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); want=sum((i*37)%1000 for n in (300, 200) for i in range(n)); assert r["rows"] == [[want, 500]], (r, want)' \
				"$WORK/result.json" || fail "$1: the result is not the plaintext sum"
			ok
		fi
	fi
	hits_after=$(($(faults_hit bank) + $(faults_hit shop)))
	echo "$1: job ${JOB:0:12} ${st:-none}, $((hits_after - hits_before)) writes failed" >&2
	HITS=$((hits_after - hits_before))
}
# Round K fails the K-th write of each node from the start of the round;
# it ends when rounds no longer reach K writes at either node.
k=1
misses=0
while :; do
	one_round "round $k" "$k"
	# The writes of a round vary a little (how the events are batched,
	# progress updates): stop after three rounds in a row that hit nothing.
	if [ "$HITS" -gt 0 ]; then misses=0; else misses=$((misses + 1)); fi
	[ "$misses" -lt 3 ] || break
	k=$((k + 1))
	[ "$k" -le 80 ] || fail "more than 80 writes in one round: the loop does not end"
done
# Since a round's writes vary, each kind of write once more by name.
for what in "store event" commit "job state" "access log" result; do
	one_round "write '$what'" "$what"
	[ "$HITS" -gt 0 ] || fail "no '$what' write in a round"
	ok
done
# The rounds reached every kind of write: sync and append (begin, store
# event, commit), the job's local state, its access log and its result.
grep -ho 'db: test fault: write [0-9]* ([a-z ]*)' "$WORK/bank.node.err" "$WORK/shop.node.err" |
	sed 's/.*(\(.*\))/\1/' | sort | uniq -c >"$WORK/kinds.txt"
cat "$WORK/kinds.txt" >&2
for what in begin "store event" commit "job state" "access log" result; do
	grep -q " $what\$" "$WORK/kinds.txt" || fail "no round failed a '$what' write"
	ok
done

# --- 3. a restart replays node.db without refusing anything ---------------------
for o in bank shop; do node_stop "$o"; done
for o in bank shop; do start "$o"; done
converged "after a restart"
no_false_tampering "restart"

# --- 4. files are 0600 (directories 0700) under umask 000 ------------------------
# Public files excepted: identity.pub and the coordinator's certificate.
find "$WORK/coord" "$WORK/bank" "$WORK/shop" -perm /077 ! -name identity.pub \
	! -name '*.crt' ! -name '*cert*' >"$WORK/open-files.txt"
[ ! -s "$WORK/open-files.txt" ] || { ls -l $(cat "$WORK/open-files.txt") >&2; fail "files readable by others under umask 000"; }
ok
ls "$WORK/bank/node.db-wal" "$WORK/coord/coord.db-wal" >/dev/null ||
	fail "no WAL files to check (the services are running: they should be there)"
ok
finish
