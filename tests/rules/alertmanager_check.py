#!/usr/bin/env python3
"""Checks the shipped Alertmanager example (packaging/alertmanager/), run by CTest (tests/rules/CMakeLists.txt).

  * `amtool check-config` accepts alertmanager.yml (which also parses the templates it names);
  * `amtool config routes test`: an alert with report="daily" reaches the daily receiver, anything else the
    default one;
  * the daily route groups by alertname only, with group_interval and repeat_interval 24h, and its receiver has
    a Slack and a webhook configuration;
  * `amtool template render` (Alertmanager >= 0.25) renders the Slack title and text and the plain-text template
    for a day's alerts written here: every firing app with its VM count, hypervisor teams and pipeline users,
    Slack's special characters escaped, resolved apps left out. Skipped (with a message) when this amtool has
    no `template render`.

Usage: alertmanager_check.py [--amtool PATH] [--dir packaging/alertmanager]
Exits 0 when everything passes, 1 on a problem, 77 (CTest's skip) when amtool is not installed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

SKIP = 77
DAILY_RECEIVER = "registry-daily"

# A day's notification: two new apps firing, one that was registered since (resolved).
ALERTS = [
    {
        "labels": {"alertname": "RegistryNewUnregisteredApp", "app": "xyz", "severity": "info", "report": "daily",
                   "job": "service-registry", "instance": "registry:9843"},
        "annotations": {
            "vms": "3", "first_seen": "2026-12-03 09:12:00 +0000 UTC", "reason": "no record",
            "hypervisor_teams": "compute-east, compute-west",
            "pipeline_users": "alice, Jane Doe <jane@example.com>, R&D-bot",
            "app_url": "http://registry:9843/api/registry/v1/apps/xyz",
            "report_url": "http://registry:9843/report",
            "runbook_url": "https://github.com/estate-exporters/estate-exporters/blob/main/docs/runbooks/"
                           "RegistryNewUnregisteredApp.md",
        },
        "status": "firing",
    },
    {
        "labels": {"alertname": "RegistryNewUnregisteredApp", "app": "ghi", "severity": "info", "report": "daily",
                   "job": "service-registry", "instance": "registry:9843"},
        "annotations": {
            "vms": "1", "first_seen": "2026-12-03 17:40:00 +0000 UTC", "reason": "install_status 7 (Retired)",
            "hypervisor_teams": "", "pipeline_users": "",
            "app_url": "http://registry:9843/api/registry/v1/apps/ghi",
            "report_url": "http://registry:9843/report",
            "runbook_url": "",
        },
        "status": "firing",
    },
    {
        "labels": {"alertname": "RegistryNewUnregisteredApp", "app": "def", "severity": "info", "report": "daily",
                   "job": "service-registry", "instance": "registry:9843"},
        "annotations": {"vms": "2", "hypervisor_teams": "compute-east", "pipeline_users": "carol",
                        "report_url": "http://registry:9843/report"},
        "status": "resolved",
    },
]


def template_data():
    alerts = []
    for i, a in enumerate(ALERTS):
        alerts.append(dict(a, startsAt="2026-12-03T09:22:00Z",
                           endsAt="0001-01-01T00:00:00Z" if a["status"] == "firing" else "2026-12-03T12:00:00Z",
                           generatorURL="http://prometheus:9090/graph", fingerprint=f"{i:016x}"))
    return {"receiver": DAILY_RECEIVER, "status": "firing", "alerts": alerts,
            "groupLabels": {"alertname": "RegistryNewUnregisteredApp"},
            "commonLabels": {"alertname": "RegistryNewUnregisteredApp", "severity": "info", "report": "daily"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093"}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amtool", default=os.environ.get("AMTOOL") or shutil.which("amtool"))
    parser.add_argument("--dir", default="packaging/alertmanager")
    args = parser.parse_args()
    if not args.amtool or not shutil.which(args.amtool):
        print("SKIP: amtool not found (Debian package prometheus-alertmanager)")
        return SKIP
    config = os.path.join(args.dir, "alertmanager.yml")
    problems = []

    rc, out = run([args.amtool, "check-config", config])
    if rc:
        problems.append(f"amtool check-config {config}: {out}")

    for labels, receiver in (
            (["alertname=RegistryNewUnregisteredApp", "report=daily", "severity=info", "app=xyz"], DAILY_RECEIVER),
            (["alertname=RegistrySourceDown", "severity=warning", "source=gocd"], "default")):
        rc, out = run([args.amtool, "config", "routes", "test", f"--config.file={config}",
                       f"--verify.receivers={receiver}", *labels])
        if rc:
            problems.append(f"{' '.join(labels)} should reach {receiver}: {out}")

    with open(config, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    daily = [r for r in cfg["route"].get("routes", []) if r.get("receiver") == DAILY_RECEIVER]
    if len(daily) != 1:
        problems.append(f"expected one route to {DAILY_RECEIVER}, found {len(daily)}")
    else:
        r = daily[0]
        for key, want in (("group_by", ["alertname"]), ("group_interval", "24h"), ("repeat_interval", "24h")):
            if r.get(key) != want:
                problems.append(f"daily route: {key} is {r.get(key)!r}, want {want!r}")
    receiver = next((r for r in cfg["receivers"] if r["name"] == DAILY_RECEIVER), {})
    for kind in ("slack_configs", "webhook_configs"):
        if not receiver.get(kind):
            problems.append(f"{DAILY_RECEIVER}: no {kind}")

    rc, _ = run([args.amtool, "template", "render", "--help"])
    if rc:
        print("template rendering skipped: this amtool has no `template render` (Alertmanager < 0.25)")
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(template_data(), f)
            data = f.name
        try:
            glob = os.path.join(args.dir, "templates", "*.tmpl")
            rendered = {}
            for name in ("registry.daily.slack.title", "registry.daily.slack.text", "registry.daily.text"):
                rc, out = run([args.amtool, "template", "render", f"--template.glob={glob}",
                               f"--template.text={{{{ template \"{name}\" . }}}}", f"--template.data={data}"])
                if rc:
                    problems.append(f"template {name} does not render: {out}")
                rendered[name] = out
        finally:
            os.unlink(data)
        expect = {
            "registry.daily.slack.title": ["2 new unregistered apps"],
            "registry.daily.slack.text": [
                "*xyz*: 3 VMs, first seen 2026-12-03 09:12:00 +0000 UTC (no record)",
                "hypervisor team(s): compute-east, compute-west",
                "pipeline users: alice, Jane Doe &lt;jane@example.com&gt;, R&amp;D-bot",
                "<http://registry:9843/api/registry/v1/apps/xyz|VMs>",
                "*ghi*: 1 VM, first seen 2026-12-03 17:40:00 +0000 UTC (install_status 7 (Retired))",
                "hypervisor team(s): unknown",
                "pipeline users: none found",
                "<http://registry:9843/report|report>",
            ],
            "registry.daily.text": [
                "- xyz: 3 VMs, first seen 2026-12-03 09:12:00 +0000 UTC (no record)",
                "pipeline users: alice, Jane Doe <jane@example.com>, R&D-bot",
                "- ghi: 1 VM",
                "All unregistered apps: http://registry:9843/report",
            ],
        }
        for name, needles in expect.items():
            for needle in needles:
                if needle not in rendered[name]:
                    problems.append(f"template {name}: {needle!r} missing from:\n{rendered[name]}")
            if "def" in rendered[name].replace("define", ""):
                problems.append(f"template {name}: the resolved app def is listed:\n{rendered[name]}")

    for p in problems:
        print("  -", p)
    print(f"alertmanager example: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
