#!/usr/bin/env bash
# The query kind through real processes: three clinics (a coordinator and
# three nodes on loopback), each with its own store.
#  - job explain prints the plan before anything is proposed;
#  - a GROUP BY query with a threshold, proposed with `sealroom query`,
#    approved by the three owners, equals the plaintext answer on the
#    pooled CSVs (counts exactly, averages to 1e-9), and only the
#    receiver has the result;
#  - a query grouping by a column without a public domain is refused by
#    the checker, with the rule's message;
#  - MIN/MAX of a reveal column equal the pooled plaintext's;
#  - a DP query returns noise scales and intervals;
#  - budgets: job.finish records each owner's charge, a refused job's
#    job.fail its refund; job show and dataset show print spent and left;
#  - SIGKILL of a clinic while the receiver waits in secure aggregation:
#    the job fails and nothing is released.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mp.sh"

for o in clinica clinicb clinicc; do org_init "$o"; done
gen() {   # gen FILE SEED ROWS PREFIX
	/usr/bin/python3 - "$@" <<'PY'
import random, sys
r = random.Random(int(sys.argv[2]))
regions = ["north", "south", "east", "west"]
with open(sys.argv[1], "w") as f:
    f.write("pid,region,ward,age,cost\n")
    n = int(sys.argv[3])
    for i in range(n):
        region = "" if i % 19 == 0 else r.choice(regions if sys.argv[4] != "B" else regions[:2])
        cost = "" if i % 13 == 0 else "%.3f" % (r.randrange(0, 8000) / 8)
        f.write("%s%06d,%s,%d,%d,%s\n" % (sys.argv[4], r.randrange(n // 2 + 1), region,
                                         r.randint(1, 3), r.randint(1, 99), cost))
PY
}
gen "$WORK/a.csv" 1 4000 A
gen "$WORK/b.csv" 2 900 B
gen "$WORK/c.csv" 3 2500 C
policy() {   # policy FILE EXTRA
	cat >"$1" <<JSON
{"columns": {"pid": {"class": "id"},
             "region": {"class": "qi", "domain": ["north", "south", "east", "west"]},
             "ward": {"class": "public", "domain": [1, 2, 3]},
             "age": {"class": "qi"},
             "cost": {"class": "sa", "bounds": [0, 1000]}},
 "ids_partitioned": true, "min_group_size": 10,
 "receivers": ["${ORG_ID[clinica]}"${3:-}]$2}
JSON
}
policy "$WORK/a.pol" ""
policy "$WORK/b.pol" ""
policy "$WORK/c.pol" ""
policy "$WORK/dp.pol" ', "dp": {"epsilon_total": 2, "epsilon_max_per_job": 1, "delta": 1e-6}' ", \"${ORG_ID[clinicb]}\""
sr dataset import visits "$WORK/a.csv" --policy "$WORK/a.pol" --home "$WORK/clinica" >/dev/null
sr dataset import visits "$WORK/b.csv" --policy "$WORK/b.pol" --home "$WORK/clinicb" >/dev/null
sr dataset import visits "$WORK/c.csv" --policy "$WORK/c.pol" --home "$WORK/clinicc" >/dev/null
sr dataset import dpvisits "$WORK/a.csv" --policy "$WORK/dp.pol" --home "$WORK/clinica" >/dev/null
sr dataset import dpvisits "$WORK/c.csv" --policy "$WORK/dp.pol" --home "$WORK/clinicc" >/dev/null
coord_start
for o in clinica clinicb clinicc; do node_start "$o" --job-timeout 5; done
project_setup clinica clinicb clinicc
for o in clinica clinicb clinicc; do
	as "$o" steward dataset publish visits --project "$PROJECT" >/dev/null
done
as clinica steward dataset publish dpvisits --project "$PROJECT" >/dev/null
as clinicc steward dataset publish dpvisits --project "$PROJECT" >/dev/null
sleep 0.6

approve_all() {   # approve_all JOB ORG...
	local job=$1 o i
	shift
	for o in "$@"; do
		for i in $(seq 1 100); do
			as "$o" steward job approve "$job" >/dev/null 2>&1 && break
			sleep 0.2
		done
	done
}

SQL="SELECT region, COUNT(*) AS visits, SUM(cost), AVG(cost) FROM clinica.visits UNION ALL clinicb.visits UNION ALL clinicc.visits WHERE age >= 18 GROUP BY region ORDER BY region"

# --- the plan, before anything is proposed -----------------------------------
run_expect 0 as clinica analyst job explain --project "$PROJECT" "$SQL"
contains "$OUT" "secure aggregation"
contains "$OUT" "sum(cost) clamped to [0, 1000]"
contains "$OUT" "nothing was proposed"
as clinica analyst job list --project "$PROJECT" --json >"$WORK/jobs.json"
[ "$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/jobs.json")" = 0 ] ||
	fail "explain proposed a job"
ok

# --- a governed run ------------------------------------------------------------
# governed SQL RESULT: propose (accepted), every clinic approves, wait,
# the receiver's result in RESULT; sets JOB.
governed() {
	run_expect 0 as clinica analyst query --project "$PROJECT" "$1" --json
	echo "$OUT" >"$WORK/prop.json"
	contains "$OUT" '"accept": true'
	JOB=$(json_get "$WORK/prop.json" job_id)
	approve_all "$JOB" clinica clinicb clinicc
	wait_state clinica "$JOB" finished 60
	as clinica analyst job result "$JOB" --json >"$2"
}
governed "$SQL" "$WORK/result.json"
FIRST=$JOB
/usr/bin/python3 - "$WORK/result.json" "$WORK/a.csv" "$WORK/b.csv" "$WORK/c.csv" <<'PY' || fail "federated answer differs from the pooled plaintext"
import csv, json, sys
res = json.load(open(sys.argv[1]))
groups = {}
for path in sys.argv[2:]:
    for rec in csv.DictReader(open(path)):
        if int(rec["age"]) < 18:
            continue
        g = groups.setdefault(rec["region"] or None, {"rows": 0, "n": 0, "sum": 0.0, "ids": set()})
        g["rows"] += 1
        g["ids"].add(rec["pid"])
        if rec["cost"] != "":
            g["n"] += 1
            g["sum"] += float(rec["cost"])
want = []
for k in sorted(groups, key=lambda k: (k is not None, k)):
    g = groups[k]
    if len(g["ids"]) < 10:
        continue
    want.append([k, g["rows"], g["sum"], g["sum"] / g["n"]])
assert res["columns"] == ["region", "visits", "SUM(cost)", "AVG(cost)"], res["columns"]
assert len(res["rows"]) == len(want), (res["rows"], want)
for got, w in zip(res["rows"], want):
    assert got[0] == w[0] and got[1] == w[1], (got, w)
    for x, y in zip(got[2:], w[2:]):
        assert abs(x - y) <= 1e-9 * max(abs(x), abs(y)), (got, w)
m = res["meta"]
assert m["kind"] == "query" and m["min_group_size"] == 10, m
assert m["groups_suppressed"] == 0 and m["clamped"] == {"cost": 0}, m
PY
ok
# MIN and MAX of a reveal column: each clinic's extremes go to the
# receiver after secure aggregation (a second pipe through the relay).
MSQL="SELECT region, COUNT(*), MIN(ward), MAX(ward) FROM clinica.visits UNION ALL clinicb.visits UNION ALL clinicc.visits WHERE age >= 96 GROUP BY region ORDER BY region"
governed "$MSQL" "$WORK/mresult.json"
JOB=$FIRST
/usr/bin/python3 - "$WORK/mresult.json" "$WORK/a.csv" "$WORK/b.csv" "$WORK/c.csv" <<'PY' || fail "MIN/MAX differ from the pooled plaintext"
import csv, json, sys
res = json.load(open(sys.argv[1]))
groups = {}
for path in sys.argv[2:]:
    for rec in csv.DictReader(open(path)):
        if int(rec["age"]) < 96:
            continue
        g = groups.setdefault(rec["region"] or None, {"rows": 0, "wards": [], "ids": set()})
        g["rows"] += 1
        g["ids"].add(rec["pid"])
        g["wards"].append(int(rec["ward"]))
want = [[k, g["rows"], min(g["wards"]), max(g["wards"])]
        for k, g in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0]))
        if len(g["ids"]) >= 10]
assert res["rows"] == want, (res["rows"], want)
assert len(want) >= 2 and res["meta"]["groups_suppressed"] == len(groups) - len(want), res["meta"]
PY
ok
run_expect 0 as clinica analyst job result "$JOB"
contains "$OUT" "groups suppressed: 0"
run_expect 0 as clinica analyst job result "$JOB" --csv
contains "$OUT" "region,visits,SUM(cost),AVG(cost)"
run_expect 1 as clinicb analyst job result "$JOB"
contains "$ERR" "no result"

# --- refused by the checker ------------------------------------------------------
run_expect 1 as clinica analyst query --project "$PROJECT" \
	"SELECT age, COUNT(*) FROM clinica.visits UNION ALL clinicb.visits GROUP BY age"
contains "$OUT" "query-group-domain"
contains "$OUT" "public domain for age"
contains "$ERR" "refused"

# --- differential privacy ---------------------------------------------------------
DPSQL="SELECT ward, COUNT(*), AVG(cost) FROM clinica.dpvisits UNION ALL clinicc.dpvisits GROUP BY ward"
run_expect 1 as clinica analyst query --project "$PROJECT" "$DPSQL"
contains "$OUT" "query-dp-parameters"
run_expect 0 as clinica analyst query --project "$PROJECT" "$DPSQL" --epsilon 0.9 --delta 1e-7 --json
echo "$OUT" >"$WORK/prop.json"
JOB=$(json_get "$WORK/prop.json" job_id)
approve_all "$JOB" clinica clinicc
wait_state clinica "$JOB" finished 60
as clinica analyst job result "$JOB" --json >"$WORK/dp.json"
/usr/bin/python3 - "$WORK/dp.json" <<'PY' || fail "dp result lacks its noise"
import json, sys
res = json.load(open(sys.argv[1]))
m = res["meta"]
assert m["dp"]["epsilon"] == 0.9 and "skellam" in m["dp"]["mechanism"], m
assert len(m["intervals"]) == len(res["rows"]) and len(res["rows"]) >= 3, res
for row, iv in zip(res["rows"], m["intervals"]):
    lo, hi = iv[1]
    assert lo <= row[1] <= hi, (row, iv)
PY
run_expect 0 as clinica analyst job result "$JOB"
contains "$OUT" "differential privacy: epsilon 0.9"
ok

# --- budgets: two jobs at once with room for one; exhaustion; refund ---------
dp_job() {   # dp_job SQL EPSILON -> JOB, approved by its owners
	as clinica analyst query --project "$PROJECT" "$1" --epsilon "$2" --delta 1e-7 --json >"$WORK/prop.json" ||
		fail "query not proposed: $(cat "$WORK/prop.json")"
	JOB=$(json_get "$WORK/prop.json" job_id)
}
ended() {   # ended ORG JOB -> prints finished or failed once it ends
	local i st
	for i in $(seq 1 300); do
		as "$1" analyst job show "$2" --json >"$WORK/e.json" 2>/dev/null || true
		st=$(json_get "$WORK/e.json" state 2>/dev/null || true)
		if [ "$st" = finished ] || [ "$st" = failed ]; then echo "$st"; return 0; fi
		sleep 0.2
	done
	fail "job $2 did not end"
}
# (a job has two parties at least: clinicc owns, clinica receives)
CSQL="SELECT ward, COUNT(*) FROM clinicc.dpvisits GROUP BY ward"
dp_job "$CSQL" 0.9; J1=$JOB
dp_job "$CSQL" 0.9; J2=$JOB
as clinicc steward job approve "$J1" >/dev/null &
APPROVER=$!
as clinicc steward job approve "$J2" >/dev/null
wait "$APPROVER"
S1=$(ended clinica "$J1"); S2=$(ended clinica "$J2")
[ "$S1 $S2" = "finished failed" ] || [ "$S1 $S2" = "failed finished" ] ||
	fail "two jobs against room for one: $S1 and $S2: $(as clinica analyst job show "$J1" --json | grep -o '"\(reason\|error\)": "[^"]*"') / $(as clinica analyst job show "$J2" --json | grep -o '"\(reason\|error\)": "[^"]*"')"
[ "$S1" = failed ] && FAILED=$J1 || FAILED=$J2
as clinica analyst job show "$FAILED" --json >"$WORK/f.json"
grep -q "budget short: the job needs epsilon 0.9, 0.2 of 2 is left" "$WORK/f.json" ||
	fail "the refusal does not say the budget left: $(grep -o '"reason": "[^"]*"' "$WORK/f.json")"
[ "$S1" = finished ] && DONE=$J1 || DONE=$J2
# job.finish records each owner's charge; job.fail of the refused one
# records its refund (it failed before its part was done).
as clinicc steward job show "$DONE" --json >"$WORK/d.json"
/usr/bin/python3 - "$WORK/d.json" "$WORK/f.json" "${ORG_ID[clinicc]}" <<'PY' || fail "the ledger's budget records are wrong: $(cat "$WORK/d.json")"
import json, sys
done, failed = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
r = done["receipt"]
assert r["epsilon_spent"] == "0.9" and r["delta_spent"] == "1e-7", r
assert r["charges"] == [{"dataset": "clinicc.dpvisits", "owner": sys.argv[3],
                         "epsilon": "0.9", "delta": "1e-7"}], r["charges"]
b = done["budget"]
assert len(b) == 1 and b[0]["state"] == "charged" and abs(b[0]["charged"] - 0.9) < 1e-12, b
assert abs(b[0]["spent"] - 1.8) < 1e-9 and abs(b[0]["left"] - 0.2) < 1e-9, b
assert failed["refunded"][0]["dataset"] == "clinicc.dpvisits", failed
assert "receipt" not in failed
PY
run_expect 0 as clinicc steward job show "$DONE"
contains "$OUT" "spent:     clinicc.dpvisits (clinicc): epsilon 0.9, delta 1e-7"
contains "$OUT" "budget:    clinicc.dpvisits: charged epsilon 0.9; budget 1.8 spent, 0.2 left of 2"
run_expect 0 sr dataset show dpvisits --home "$WORK/clinicc"
contains "$OUT" "budget: epsilon 1.8 spent, 0.2 left (of 2)"
run_expect 0 sr dataset show dpvisits --home "$WORK/clinicc" --json
contains "$OUT" '"epsilon_spent": 1.8'
ok
# clinicc.dpvisits has 0.2 left: a job over both datasets fails there, and
# clinica, which may have charged 0.5 already, is refunded.
dp_job "$DPSQL" 0.5
approve_all "$JOB" clinica clinicc
[ "$(ended clinica "$JOB")" = failed ] || fail "a job over an exhausted budget ran"
sleep 1
REFUNDED=$JOB
as clinica analyst job show "$REFUNDED" --json >"$WORK/r.json"
/usr/bin/python3 - "$WORK/r.json" <<'PY' || fail "the refund is not recorded: $(cat "$WORK/r.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert sorted(c["dataset"] for c in j["refunded"]) == ["clinica.dpvisits", "clinicc.dpvisits"], j
assert [b["state"] for b in j["budget"]] in (["refunded"], ["none"]), j["budget"]
assert abs(j["budget"][0]["spent"] - 0.9) < 1e-9, j["budget"]
PY
run_expect 0 as clinica analyst job show "$REFUNDED"
contains "$OUT" "refunded:  clinica.dpvisits (clinica): epsilon 0.5"
# clinica.dpvisits: 2 - 0.9 = 1.1 left only if the 0.5 came back.
as clinica analyst query --project "$PROJECT" "SELECT ward, COUNT(*) FROM clinica.dpvisits GROUP BY ward" \
	--receiver "${ORG_ID[clinicb]}" --epsilon 1 --delta 1e-7 --json >"$WORK/prop.json"
JOB=$(json_get "$WORK/prop.json" job_id)
approve_all "$JOB" clinica
[ "$(ended clinica "$JOB")" = finished ] || fail "the failed job's epsilon was not refunded: $(grep -o '"reason": "[^"]*"' "$WORK/e.json")"
ok

# --- SIGKILL of a clinic mid-aggregation ------------------------------------------
node_stop clinicb
gen "$WORK/big.csv" 4 1500000 B
sr dataset import big "$WORK/big.csv" --policy "$WORK/b.pol" --home "$WORK/clinicb" >/dev/null
node_start clinicb --job-timeout 5
as clinicb steward dataset publish big --project "$PROJECT" >/dev/null
sleep 0.6
run_expect 0 as clinica analyst query --project "$PROJECT" --json \
	"SELECT ward, COUNT(*), SUM(cost) FROM clinica.visits UNION ALL clinicb.big GROUP BY ward"
echo "$OUT" >"$WORK/prop.json"
JOB=$(json_get "$WORK/prop.json" job_id)
approve_all "$JOB" clinica clinicb
for i in $(seq 1 200); do
	as clinica analyst job show "$JOB" --json >"$WORK/j.json" 2>/dev/null || true
	grep -q '"secure aggregation' "$WORK/j.json" && break
	sleep 0.05
done
grep -q '"secure aggregation' "$WORK/j.json" || fail "the receiver never reached secure aggregation: $(cat "$WORK/j.json")"
as clinicb analyst job show "$JOB" --json >"$WORK/jb.json" 2>/dev/null || true
kill -KILL "${NODE_PID[clinicb]}"
wait "${NODE_PID[clinicb]}" 2>/dev/null || true
wait_state clinica "$JOB" failed 40
run_expect 1 as clinica analyst job result "$JOB"
run_expect 0 as clinica steward ledger verify "$PROJECT"
ok

finish
