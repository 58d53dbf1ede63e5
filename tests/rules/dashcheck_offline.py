#!/usr/bin/env python3
"""Offline checks of our Grafana dashboards, run by CTest (tests/rules/CMakeLists.txt).

For each dashboard JSON file given on the command line:
  * it is valid JSON with a `panels` list and a `schemaVersion`;
  * `templating` has a datasource variable for Prometheus;
  * every panel that is not a row has at least one target, and the panel and each of its targets use the
    `${datasource}` variable rather than a fixed data source;
  * panel ids are unique;
  * every range in rate()/irate()/increase()/... uses `$__rate_interval` (or another Grafana interval);
  * every PromQL expression (panel targets and label_values() variable queries) parses: Grafana variables are
    replaced by values promtool accepts, each expression becomes a recording rule in a temporary rules file,
    and `promtool check rules` must accept it.

Usage: dashcheck_offline.py [--promtool PATH] DASHBOARD.json...
Exits 0 when every file passes, 1 otherwise; prints one line per problem and a summary line.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DATASOURCE_REF = "${datasource}"

# Grafana's built-in interval variables, replaced by a duration of the same kind.
BUILTIN_DURATIONS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval_ms": "60000",
}
RANGE_FUNCTIONS = ("rate", "irate", "increase", "delta", "idelta", "deriv")


def walk_panels(panels):
    """Yields every panel, including panels nested in (collapsed) rows."""
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def substitute(expr):
    """Replaces Grafana variables so that the expression is plain PromQL."""
    def builtin_or_regex(match):
        name = match.group("name")
        return BUILTIN_DURATIONS.get(name, ".*")
    # A variable used as a whole range, e.g. [$window], needs a duration.
    expr = re.sub(r"\[\s*\$\{?(?P<name>\w+)(?::\w+)?\}?\s*\]",
                  lambda m: "[" + BUILTIN_DURATIONS.get(m.group("name"), "5m") + "]", expr)
    expr = re.sub(r"\$\{(?P<name>\w+)(?::\w+)?\}", builtin_or_regex, expr)
    expr = re.sub(r"\$(?P<name>\w+)", builtin_or_regex, expr)
    return expr


def datasource_uid(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds  # older dashboards use a plain string


def check_dashboard(path):
    """Returns (problems, expressions) for one dashboard file."""
    problems = []
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: not valid JSON: {e}"], []
    if not isinstance(dash, dict) or not isinstance(dash.get("panels"), list):
        return [f"{path}: no panels list"], []
    if not isinstance(dash.get("schemaVersion"), int):
        problems.append(f"{path}: no schemaVersion")

    variables = (dash.get("templating") or {}).get("list") or []
    if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in variables):
        problems.append(f"{path}: no datasource variable of type prometheus")

    expressions = []  # (where, expr)
    for v in variables:
        if v.get("type") != "query":
            continue
        if datasource_uid(v.get("datasource")) != DATASOURCE_REF:
            problems.append(f"{path}: variable {v.get('name')}: datasource is not {DATASOURCE_REF}")
        query = v.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", query)
        if m:
            expressions.append((f"variable {v.get('name')}", m.group(1)))
        elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", query):
            problems.append(f"{path}: variable {v.get('name')}: unsupported query {query!r}")

    seen_ids = set()
    for p in walk_panels(dash["panels"]):
        title = p.get("title", "?")
        pid = p.get("id")
        if pid in seen_ids:
            problems.append(f"{path}: panel id {pid} used twice")
        seen_ids.add(pid)
        if p.get("type") in ("row", "text"):
            continue
        if datasource_uid(p.get("datasource")) != DATASOURCE_REF:
            problems.append(f"{path}: panel {title!r}: datasource is not {DATASOURCE_REF}")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{path}: panel {title!r}: no targets")
        for t in targets:
            if datasource_uid(t.get("datasource")) != DATASOURCE_REF:
                problems.append(f"{path}: panel {title!r} target {t.get('refId')}: datasource is not "
                                f"{DATASOURCE_REF}")
            expr = t.get("expr")
            if not expr:
                problems.append(f"{path}: panel {title!r} target {t.get('refId')}: no expr")
                continue
            for fn, rng in re.findall(r"\b(" + "|".join(RANGE_FUNCTIONS) + r")\s*\([^\[]*\[([^\]]*)\]", expr):
                if not rng.strip().startswith("$"):
                    problems.append(f"{path}: panel {title!r}: {fn}() over a fixed range [{rng}]; "
                                    "use $__rate_interval")
            expressions.append((f"panel {title!r} target {t.get('refId')}", expr))
    return problems, expressions


def promtool_parse(promtool, path, expressions):
    """Runs promtool check rules on the expressions; returns problems naming the failing ones."""
    def rules_file(items):
        rules = [{"record": f"dashboard:expr_{i}", "expr": substitute(e)} for i, (_, e) in enumerate(items)]
        return {"groups": [{"name": "dashboard", "rules": rules}]}

    def run(items):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(rules_file(items), f)  # JSON is YAML
            name = f.name
        try:
            r = subprocess.run([promtool, "check", "rules", name], capture_output=True, text=True)
        finally:
            os.unlink(name)
        return r.returncode == 0, (r.stdout + r.stderr).strip()

    ok, _ = run(expressions)
    if ok:
        return []
    # Something does not parse: check one by one to name every culprit.
    problems = []
    for where, expr in expressions:
        ok, output = run([(where, expr)])
        if not ok:
            detail = " ".join(line.strip() for line in output.splitlines()[-2:])
            problems.append(f"{path}: {where}: does not parse: {expr}\n      {detail}")
    return problems or [f"{path}: promtool check rules failed on the generated rules file"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default=os.environ.get("PROMTOOL") or shutil.which("promtool"))
    parser.add_argument("dashboards", nargs="+")
    args = parser.parse_args()
    if not args.promtool:
        print("promtool not found in PATH; install the Debian package 'prometheus' or pass --promtool")
        return 1

    problems, total = [], 0
    for path in args.dashboards:
        file_problems, expressions = check_dashboard(path)
        total += len(expressions)
        if expressions:
            file_problems += promtool_parse(args.promtool, path, expressions)
        problems += file_problems
    for p in problems:
        print("  -", p)
    print(f"dashboards: {len(args.dashboards)} files, {total} queries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
