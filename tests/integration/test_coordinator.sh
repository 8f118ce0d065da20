#!/usr/bin/env bash
# sealroom coordinator: starts, answers on loopback, refuses bad requests
# with clear 4xx answers, and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

"$SEALROOM" coordinator --listen 127.0.0.1:0 --data "$WORK/coord" >"$WORK/coord.out" 2>"$WORK/coord.err" &
pid=$!
for _ in $(seq 1 50); do
	grep -q "listening on" "$WORK/coord.out" 2>/dev/null && break
	sleep 0.1
done
url=$(sed -n 's/^coordinator listening on \(http:[^ ]*\).*/\1/p' "$WORK/coord.out")
[ -n "$url" ] || fail "coordinator did not start: $(cat "$WORK/coord.err")"
ok

out=$(curl -s "$url/v1/health")
contains "$out" '"ok":true'
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST --data-binary '{"event": 1}' "$url/v1/events")
[ "$code" = 400 ] || fail "malformed event: HTTP $code $(cat "$WORK/body")"
ok
contains "$(cat "$WORK/body")" '"error"'
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST --data-binary '{"a": tru' "$url/v1/events")
[ "$code" = 400 ] || fail "malformed JSON: HTTP $code"
ok
code=$(head -c 9000000 /dev/zero | curl -s -o "$WORK/body" -w '%{http_code}' -X POST --data-binary @- "$url/v1/events")
[ "$code" = 413 ] || fail "oversized body: HTTP $code"
ok
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$url/v1/projects/prj_none/head")
[ "$code" = 404 ] || fail "unknown project: HTTP $code"
ok
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$url/v1/nothing")
[ "$code" = 404 ] || fail "unknown endpoint: HTTP $code"
ok

kill -TERM "$pid"
wait "$pid" || fail "coordinator exited with $?"
ok
[ -f "$WORK/coord/coord.db" ] || fail "no database"
ok
run_expect 2 sr coordinator --listen 127.0.0.1:0
contains "$ERR" "--data DIR is required"
run_expect 1 sr coordinator --listen nonsense --data "$WORK/c2"
contains "$ERR" "expected HOST:PORT"
run_expect 0 sr coordinator --help
finish
