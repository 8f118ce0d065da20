#!/usr/bin/python3
"""anon_verify.py - an independent check of an anonymized release.

Written apart from src/anon/ (standard library only): it reads the released
CSV, the release's report and a spec of what was asked, and recomputes from
them alone that

  * every quasi-identifier column is generalized to one level of its
    hierarchy (full-domain): every value is a label of that level;
  * every equivalence class (rows equal on all QIs) has at least k rows;
  * every class satisfies each SA's l-diversity (distinct, entropy,
    recursive (c,l)) and t-closeness (EMD, equal or ordered distance)
    against the input distribution the report states, and that
    distribution is consistent with the released rows;
  * the suppressed rows are within the limit, and the report's rows,
    suppressed rows and classes are those of the file.

usage: anon_verify.py SPEC.json RELEASE.csv REPORT.json
       anon_verify.py --result POLICY.json RESULT.json
SPEC: {"k": 5, "max_suppression": 0.05,
       "qi": {"age": {"type": "int64", "generalize": {...}}, ...},
       "sa": {"occupation": {"ldiv": "recursive", "l": 3, "c": 4,
                             "t": 0.2, "emd": "equal"}, ...}}
With --result, the release is the anonymize kind's result envelope
(columns, rows, meta.models, meta.report) and the hierarchies come from
the dataset's stored policy (or `sealroom dataset show --json`, whose
"policy" key holds it); a t model without "emd" uses the kind's default,
ordered for an unmasked int64, float64 or date column, else equal.
Numbers may be decimal strings, as in job specs.

Exit status 0 when the release passes, 1 (and the reasons) when it does not.
"""
import csv
import json
import math
import re
import sys

EPS = 1e-6


class Fail(Exception):
    pass


def number_text(x, integral):
    if integral:
        return str(int(x))
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def level_labels_explicit(gen, level):
    """The set of labels of an explicit hierarchy at a level >= 1."""
    out = set()
    for path in gen["hierarchy"].values():
        if level - 1 < len(path):
            out.add(path[level - 1])
    return out


def hier_levels(gen):
    if "intervals" in gen:
        return len(gen["intervals"]) + 2
    if "cuts" in gen:
        return len(gen["cuts"]) + 2
    if "date" in gen:
        return len(gen["date"]) + 2
    if "prefix" in gen:
        p = gen["prefix"]
        return len(p) + (1 if p and p[-1] == 0 else 2)
    paths = list(gen["hierarchy"].values())
    n = len(paths[0])
    return n + (1 if n and paths[0][-1] == "*" else 2)


INTERVAL = re.compile(r"^\[(-inf|-?[0-9.e+-]+), (inf|-?[0-9.e+-]+)\)$")


def check_label(name, col, value, level, height):
    """Raise Fail unless value is a label of level for the QI."""
    gen = col["generalize"]
    typ = col.get("type", "string")
    where = "%s: level %d: value %r" % (name, level, value)
    if level == height - 1:
        if value != "*":
            raise Fail(where + ": expected *")
        return
    if value == "":
        return  # NULL generalizes like a value below the top
    if level == 0:
        if "hierarchy" in gen and value not in gen["hierarchy"]:
            raise Fail(where + ": not a value of the hierarchy")
        if typ == "int64" and not re.match(r"^-?[0-9]+$", value):
            raise Fail(where + ": expected an integer")
        return
    d = level - 1
    if "intervals" in gen:
        m = INTERVAL.match(value)
        if not m:
            raise Fail(where + ": expected an interval [lo, hi)")
        lo, hi = float(m.group(1)), float(m.group(2))
        w = float(gen["intervals"][d])
        origin = float(gen.get("origin", 0))
        q = (lo - origin) / w
        if abs(hi - lo - w) > EPS * max(1, w) or abs(q - round(q)) > EPS:
            raise Fail(where + ": not an interval of width %g from %g" % (w, origin))
    elif "cuts" in gen:
        cuts = gen["cuts"][d]
        integral = typ == "int64" and all(float(c).is_integer() for c in cuts)
        ends = ["-inf"] + [number_text(c, integral) for c in cuts] + ["inf"]
        ok = {"[%s, %s)" % (ends[i], ends[i + 1]) for i in range(len(ends) - 1)}
        if value not in ok:
            raise Fail(where + ": not an interval of the cuts")
    elif "date" in gen:
        unit = gen["date"][d]
        pat = {"month": r"^[0-9]{4}-[0-9]{2}$", "quarter": r"^[0-9]{4}-Q[1-4]$",
               "year": r"^[0-9]{4}$"}[unit]
        if not re.match(pat, value):
            raise Fail(where + ": not a " + unit)
    elif "prefix" in gen:
        keep = gen["prefix"][d]
        if value.endswith("*"):
            if len(value) - 1 != keep:
                raise Fail(where + ": expected %d characters and *" % keep)
        elif len(value) > keep:
            raise Fail(where + ": longer than the prefix %d" % keep)
    else:
        if value not in level_labels_explicit(gen, level):
            raise Fail(where + ": not a label of this level")


RANGE = re.compile(r"^\[(.+), (.+)\]$")


def check_local_label(name, col, value):
    """Mondrian: a value, a range [lo, hi] of the column's type, or a label
    of some level of the hierarchy."""
    gen = col["generalize"]
    typ = col.get("type", "string")
    where = "%s: value %r" % (name, value)
    if value in ("", "*"):
        return
    if typ in ("int64", "float64", "date"):
        m = RANGE.match(value)
        parts = [m.group(1), m.group(2)] if m else [value]
        conv = (lambda s: s) if typ == "date" else float
        try:
            vals = [conv(p) for p in parts]
        except ValueError:
            raise Fail(where + ": expected a value or a range [lo, hi]")
        if len(vals) == 2 and not vals[0] < vals[1]:
            raise Fail(where + ": an empty range")
        return
    if "hierarchy" in gen:
        if value in gen["hierarchy"]:
            return
        for level in range(1, hier_levels(gen) - 1):
            if value in level_labels_explicit(gen, level):
                return
        raise Fail(where + ": not a label of the hierarchy")


def entropy(counts, n):
    return -sum(c / n * math.log(c / n) for c in counts if c)


def check_sa(name, model, hist, size, ref, ref_total, ordered_values):
    ldiv = model.get("ldiv")
    counts = sorted((c for c in hist.values() if c), reverse=True)
    if ldiv == "distinct":
        if len(counts) < model["l"]:
            return "%d distinct values of %s, expected %d" % (len(counts), name, model["l"])
    elif ldiv == "entropy":
        if entropy(counts, size) < math.log(model["l"]) - EPS:
            return "entropy of %s below log(%g)" % (name, model["l"])
    elif ldiv == "recursive":
        l, c = int(model["l"]), model["c"]
        if len(counts) < l or not counts[0] < c * sum(counts[l - 1:]) + EPS:
            return "%s is not recursive (%g,%d)-diverse" % (name, c, l)
    t = model.get("t")
    if t is not None and t > 0:
        if model.get("emd", "equal") == "ordered":
            m = len(ordered_values)
            cum, emd = 0.0, 0.0
            for v in ordered_values:
                cum += hist.get(v, 0) / size - ref[v] / ref_total
                emd += abs(cum)
            emd = emd / (m - 1) if m > 1 else 0.0
        else:
            keys = set(ref) | set(hist)
            emd = sum(abs(hist.get(v, 0) / size - ref.get(v, 0) / ref_total)
                      for v in keys) / 2
        if emd > t + EPS:
            return "EMD of %s is %.6f, above t = %g" % (name, emd, t)
    return None


def sort_key(v):
    if v == "":
        return (0, 0.0, "")
    try:
        return (1, float(v), "")
    except ValueError:
        return (2, 0.0, v)


def verify(spec, rows, header, report):
    k = spec["k"]
    qis = [q for q in spec["qi"]]
    sas = spec.get("sa", {})
    for name in qis + list(sas):
        if name not in header:
            raise Fail("%s: column missing from the release" % name)
    qidx = [header.index(q) for q in qis]
    mondrian = spec.get("algorithm") == "mondrian"
    if mondrian != (report.get("algorithm") == "mondrian"):
        raise Fail("the report's algorithm is not the one asked for")
    for name, i in zip(qis, qidx):
        if mondrian:
            for r in rows:
                check_local_label(name, spec["qi"][name], r[i])
            continue
        # Full-domain: one level per QI, every value a label of it.
        col = spec["qi"][name]
        height = hier_levels(col["generalize"])
        level = report["levels"][name]
        if not 0 <= level < height:
            raise Fail("%s: level %d outside the hierarchy's %d" % (name, level, height))
        for r in rows:
            check_label(name, col, r[i], level, height)
    classes = {}
    for r in rows:
        classes.setdefault(tuple(r[i] for i in qidx), []).append(r)
    rows_in = report["rows_in"]
    suppressed = rows_in - len(rows)
    limit = math.floor(spec.get("max_suppression", 0) * rows_in + 1e-9)
    if report["rows_out"] != len(rows):
        raise Fail("the report says %d released rows, the file has %d" %
                   (report["rows_out"], len(rows)))
    if report["suppressed"] != suppressed:
        raise Fail("the report says %d suppressed rows, the file implies %d" %
                   (report["suppressed"], suppressed))
    if suppressed < 0 or suppressed > limit:
        raise Fail("%d rows suppressed, the limit is %d" % (suppressed, limit))
    if report["classes"] != len(classes):
        raise Fail("the report says %d classes, the file has %d" %
                   (report["classes"], len(classes)))
    refs = {}
    for name, model in sas.items():
        if model.get("t") is not None and model["t"] > 0:
            ref = report.get("sa_input", {}).get(name)
            if ref is None:
                raise Fail("%s: the report has no input distribution" % name)
            if sum(ref.values()) != rows_in:
                raise Fail("%s: the input distribution counts %d rows, not %d" %
                           (name, sum(ref.values()), rows_in))
            released = {}
            for r in rows:
                v = r[header.index(name)]
                released[v] = released.get(v, 0) + 1
            for v, n in released.items():
                if n > ref.get(v, 0):
                    raise Fail("%s: %d released rows of %r, the input had %d" %
                               (name, n, v, ref.get(v, 0)))
            refs[name] = ref
    for key, members in classes.items():
        if len(members) < k:
            raise Fail("class %s: %d rows, expected at least %d" % (key, len(members), k))
        for name, model in sas.items():
            i = header.index(name)
            hist = {}
            for r in members:
                hist[r[i]] = hist.get(r[i], 0) + 1
            ref = refs.get(name, {})
            why = check_sa(name, model, hist, len(members), ref, rows_in,
                           sorted(ref, key=sort_key))
            if why:
                raise Fail("class %s: %s" % (key, why))


def number(v):
    return float(v) if isinstance(v, str) else v


def cell_text(v):
    """A result value as the release's text (the store's canonical form)."""
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        return number_text(v, v.is_integer())
    return str(v)


def from_result(policy_doc, result):
    """(spec, header, rows, report) of an anonymize result envelope."""
    policy = policy_doc.get("policy", policy_doc)
    cols = policy["columns"]
    meta = result["meta"]
    models = meta["models"]
    header = result["columns"]
    spec = {"k": int(models["k"]),
            "max_suppression": number(models.get("max_suppression", 0)),
            "algorithm": models.get("algorithm", "full-domain"), "qi": {}, "sa": {}}
    for name in header:
        col = cols[name]
        if col["class"] == "id":
            raise Fail("%s: an id column is in the release" % name)
        if col["class"] == "qi":
            spec["qi"][name] = {"type": col.get("type", "string"),
                                "generalize": col["generalize"]}
    for name, model in models.get("sa", {}).items():
        m = {k: number(v) if k in ("l", "c", "t") else v for k, v in model.items()}
        if "ldiv" not in m and "l" in m:
            m["ldiv"] = "distinct"
        if m.get("t") and "emd" not in m:
            ordered = cols[name].get("type") in ("int64", "float64", "date") and \
                "mask" not in cols[name]
            m["emd"] = "ordered" if ordered else "equal"
        spec["sa"][name] = m
    rows = [[cell_text(v) for v in r] for r in result["rows"]]
    return spec, header, rows, meta["report"]


def main(argv):
    if len(argv) == 4 and argv[1] == "--result":
        with open(argv[2]) as f:
            policy_doc = json.load(f)
        with open(argv[3]) as f:
            result = json.load(f)
        try:
            spec, header, rows, report = from_result(policy_doc, result)
            verify(spec, rows, header, report)
        except (Fail, KeyError, ValueError, TypeError) as e:
            print("anon_verify: FAIL: %s" % e, file=sys.stderr)
            return 1
        print("anon_verify: ok: %d rows, %d-anonymous" % (len(rows), spec["k"]))
        return 0
    if len(argv) != 4:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = json.load(f)
    with open(argv[2], newline="") as f:
        table = list(csv.reader(f))
    with open(argv[3]) as f:
        report = json.load(f)
    header, rows = table[0], table[1:]
    try:
        verify(spec, rows, header, report)
    except Fail as e:
        print("anon_verify: FAIL: %s" % e, file=sys.stderr)
        return 1
    print("anon_verify: ok: %d rows, %d-anonymous" % (len(rows), spec["k"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
