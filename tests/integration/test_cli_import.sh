#!/usr/bin/env bash
# Bringing real files in: CSV shape options on sklearn's bundled CSVs (a
# metadata line, no header, space-delimited), Latin-1, declared null
# tokens and the warning about undeclared ones, values named in type
# errors; every bad option a one-line error that imports nothing.
. "$(dirname "$0")/lib.sh"

SK=/usr/lib/python3/dist-packages/sklearn/datasets/data
[ -f "$SK/iris.csv" ] || fail "$SK/iris.csv is missing: scripts/install-deps installs python3-sklearn"

H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test

nothing_imported() {
	run_expect 0 sr dataset list --json --home "$H"
	case "$OUT" in *"\"$1\""*) fail "dataset $1 was imported" ;; esac
	ok
}
one_line() {
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "not one line: $ERR"
	ok
}

# breast_cancer.csv: a metadata line (4 fields), no header, 31 fields.
run_expect 1 sr dataset import bc "$SK/breast_cancer.csv" --classify-by-name --home "$H"
contains "$ERR" "breast_cancer.csv: line 2, column 5: expected 4 fields, got 31; if line 1 is not the header, skip it with --skip-lines"
one_line
nothing_imported bc

# iris.csv: skip the metadata line, name the columns.
cat >"$WORK/iris.json" <<'JSON'
{"columns": {"sepal_length": {"class": "sa", "bounds": [0, 10]},
             "sepal_width": {"class": "sa"}, "petal_length": {"class": "sa"},
             "petal_width": {"class": "sa"}, "species": {"class": "qi", "domain": [0, 1, 2]}}}
JSON
run_expect 0 sr dataset import iris "$SK/iris.csv" --skip-lines 1 \
	--header sepal_length,sepal_width,petal_length,petal_width,species --policy "$WORK/iris.json" --home "$H"
contains "$OUT" "imported iris: 150 rows, 5 columns"
run_expect 0 sr dataset export iris --columns species --home "$H"
[ "$(grep -c '^2$' "$WORK/out")" -eq 50 ] || fail "iris: expected 50 rows of species 2"
ok
# A wrong --header count: one line, nothing imported.
run_expect 1 sr dataset import iris2 "$SK/iris.csv" --skip-lines 1 --header a,b,c --policy "$WORK/iris.json" --home "$H"
contains "$ERR" "iris.csv: line 2, column 4: expected 3 fields (the names in --header), got 5"
one_line
nothing_imported iris2

# boston_house_prices.csv: a metadata line, then a quoted header.
run_expect 1 sr dataset import boston "$SK/boston_house_prices.csv" --skip-lines 1 --classify-by-name --home "$H"
contains "$ERR" "  CRIM"
contains "$ERR" "  MEDV"
contains "$ERR" "columns are not classified by name: classify them in a policy file; 'sealroom policy init' writes one to start from"

# linnerud: space-delimited with a header.
cat >"$WORK/lin.json" <<'JSON'
{"columns": {"Chins": {"class": "sa"}, "Situps": {"class": "sa"}, "Jumps": {"class": "sa"}}}
JSON
run_expect 0 sr dataset import lin "$SK/linnerud_exercise.csv" --delimiter ' ' --policy "$WORK/lin.json" --home "$H"
contains "$OUT" "imported lin: 20 rows, 3 columns"

# Semicolons, single quotes and Latin-1 (a European spreadsheet export).
printf 'customer_id;city;amount\nC1;K\xf6ln;3\nC2;'"'"'Saint; Denis'"'"';4\n' >"$WORK/eu.csv"
run_expect 1 sr dataset import eu "$WORK/eu.csv" --delimiter ';' --classify-by-name --home "$H"
contains "$ERR" "invalid UTF-8"
run_expect 0 sr dataset import eu "$WORK/eu.csv" --delimiter ';' --quote "'" --encoding latin1 --classify-by-name --home "$H"
run_expect 0 sr dataset export eu --columns city --home "$H"
contains "$OUT" "Köln"
contains "$OUT" "Saint; Denis"
run_expect 2 sr dataset import eu2 "$WORK/eu.csv" --encoding ebcdic --classify-by-name --home "$H"
contains "$ERR" "--encoding: unknown encoding 'ebcdic' (expected utf8 or latin1)"
nothing_imported eu2
run_expect 2 sr dataset import eu2 "$WORK/eu.csv" --delimiter ';;' --classify-by-name --home "$H"
contains "$ERR" "--delimiter: expected one character"

# An R export: NA for missing.  Undeclared, it turns numbers into strings
# and a warning names the column and the count; declared, it is NULL.
printf 'customer_id,age,income\n1,34,1200.5\n2,NA,NA\n3,NA,800\n4,51,"NA"\n' >"$WORK/r.csv"
run_expect 0 sr dataset import r "$WORK/r.csv" --classify-by-name --home "$H"
contains "$ERR" "warning: $WORK/r.csv: column age: read as string, not int64, because of 2 values 'NA'; if they mean missing, declare them: --null 'NA', or \"nulls\" in the policy"
run_expect 0 sr dataset import r "$WORK/r.csv" --classify-by-name --null NA --home "$H"
[ -z "$ERR" ] || fail "warnings with NA declared: $ERR"
ok
run_expect 0 sr dataset show r --json --home "$H"
contains "$OUT" '"nulls": ['
run_expect 0 sr dataset export r --home "$H"
contains "$OUT" "2,,"
# income has a quoted "NA": a value, so the column stays a string.
contains "$OUT" '4,51,NA'
run_expect 1 sr dataset import r2 "$WORK/r.csv" --classify-by-name --null 'N,A' --home "$H"
contains "$ERR" "--null: null token 'N,A' holds the delimiter ','"
one_line
nothing_imported r2
run_expect 1 sr dataset import r2 "$WORK/r.csv" --classify-by-name --null '' --home "$H"
contains "$ERR" "--null: a null token cannot be empty"
nothing_imported r2

# A declared type names the failing value.
cat >"$WORK/r.json" <<'JSON'
{"columns": {"customer_id": {"class": "id"}, "age": {"class": "qi", "type": "int64"},
             "income": {"class": "sa"}}}
JSON
run_expect 1 sr dataset import r2 "$WORK/r.csv" --policy "$WORK/r.json" --home "$H"
contains "$ERR" "r.csv: line 3, column 2 (age): value 'NA' does not parse as int64, the type the policy declares; if it means missing, declare it: --null 'NA'"
one_line
nothing_imported r2

# policy init: a draft for a steward, refused until reviewed, then valid
# for the file it was made from (bounds rounded outward hold its values).
run_expect 0 sr policy init "$SK/iris.csv" --skip-lines 1 \
	--header sepal_length,sepal_width,petal_length,petal_width,species --output "$WORK/draft.json"
contains "$ERR" "wrote $WORK/draft.json"
contains "$(cat "$WORK/draft.json")" '"_review"'
contains "$(cat "$WORK/draft.json")" '"bounds"'
run_expect 1 sr dataset import iris3 "$SK/iris.csv" --skip-lines 1 \
	--header sepal_length,sepal_width,petal_length,petal_width,species --policy "$WORK/draft.json" --home "$H"
contains "$ERR" "draft.json: _review: this policy is a draft written by 'sealroom policy init'"
one_line
nothing_imported iris3
/usr/bin/python3 - "$WORK/draft.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
del p["_review"]
json.dump(p, open(sys.argv[1], "w"))
PY
run_expect 0 sr dataset import iris3 "$SK/iris.csv" --skip-lines 1 \
	--header sepal_length,sepal_width,petal_length,petal_width,species --policy "$WORK/draft.json" --home "$H"
run_expect 0 sr policy init "$WORK/r.csv" --null NA
contains "$OUT" '"nulls": ['
contains "$OUT" '"customer_id": {'
run_expect 0 sr policy init "$WORK/r.csv"
contains "$ERR" "column age holds 2 values such as NA or NULL that are not declared as nulls"
run_expect 1 sr policy init "$WORK/missing.csv"
contains "$ERR" "missing.csv: cannot open"
run_expect 2 sr policy init
run_expect 0 sr policy init --help
contains "$OUT" "example:"

# Bounds and domains hold: an error naming line, column, value and bound;
# --clamp clamps and says how many; dataset show prints them all.
printf 'customer_id,age,cut,income\n1,22,Good,10\n2,31,Fair,\n3,45,Good,5\n4,29,Ideal,7\n' >"$WORK/d.csv"
cat >"$WORK/d.json" <<'JSON'
{"columns": {"customer_id": {"class": "id", "mask": "hash"},
             "age": {"class": "qi", "bounds": [15, 30]},
             "cut": {"class": "qi", "domain": ["Fair", "Good", "Very Good", "Premium"]},
             "income": {"class": "sa", "bounds": [0, 100], "nulls": ["-"]}},
 "nulls": ["NA"], "min_group_size": 5, "row_filter": "age >= 18",
 "dp": {"epsilon_total": 3, "epsilon_max_per_job": 1}}
JSON
run_expect 1 sr dataset import d "$WORK/d.csv" --policy "$WORK/d.json" --home "$H"
contains "$ERR" "d.csv: line 3, column 2 (age): value '31' is outside the bounds [15, 30] of the policy (--clamp clamps such values to the bounds)"
one_line
nothing_imported d
run_expect 1 sr dataset import d "$WORK/d.csv" --policy "$WORK/d.json" --clamp --home "$H"
contains "$ERR" "d.csv: line 5, column 3 (cut): value 'Ideal' is not in the domain (4 values: 'Fair', 'Good', 'Premium', 'Very Good') of the policy"
nothing_imported d
sed -i 's/"Premium"\]/"Premium", "Ideal"]/' "$WORK/d.json"
run_expect 0 sr dataset import d "$WORK/d.csv" --policy "$WORK/d.json" --clamp --home "$H"
contains "$ERR" "column age: 2 values clamped to the bounds [15, 30]"
run_expect 0 sr dataset export d --columns age --home "$H"
[ "$(tr '\n' ' ' <"$WORK/out")" = "age 22 30 30 29 " ] || fail "clamped ages: $OUT"
ok
run_expect 0 sr dataset show d --home "$H"
contains "$OUT" "bounds  [15, 30]"
contains "$OUT" "domain  5 values: 'Fair', 'Good', 'Very Good', 'Premium', 'Ideal'"
contains "$OUT" "mask    'hash'"
contains "$OUT" "nulls   '-' (this column's own)"
contains "$OUT" "nulls: 'NA'"
contains "$OUT" "min group size: 5"
contains "$OUT" "differential privacy: epsilon_total 3, per job 1, delta 0"
contains "$OUT" "budget: epsilon 0 spent, 3 left (of 3)"
contains "$OUT" "row filter: age >= 18"

finish
