#!/usr/bin/env python3
"""Writes the compliance demo's InSpec reports, in InSpec's own formats, for the hosts of the simulated estate.

The demo (scripts/demo.sh, through packaging/demo/compliance.before.sh) and tests/compliance_e2e use it. The
reports are what `inspec exec PROFILE --target-id HOST --reporter json:HOST.json` writes (InSpec 5.22), for an
invented profile of ours, `estate-linux-baseline`; one host gets the `automate` reporter's envelope instead, to
be POSTed to /data-collector/v0/. Times are relative to --now, so the story is the same whenever it runs:

  pgdb-main01     a critical control fails (ssh-01, root may log in over SSH)    -> critical control failing
  web-front02     a waiver (run: false) on ssh-02 expires in 3 days               -> waiver expiring
  iex-zk02        its last report is 3 days old                                   -> stale report
  batch-worker01  its report was cut off half-way (not valid JSON)                -> report unparseable
  hv-lenovo-01    audit-01 raised an exception with a backtrace                   -> controls erroring
  hv-smc-01       the dependency profile estate-ipmi-hardening was skipped        -> profile skipped
  monitoring01    pushes its report with the automate envelope (--push-out)
  every other host passes, apart from not-applicable controls.

usage: make_reports.py --out DIR [--push-out FILE] [--now UNIX_SECONDS]
Prints one line per file written. Exit status 0, or 2 on bad arguments.
"""
import argparse
import datetime
import hashlib
import json
import os
import sys
import time
import uuid

INSPEC_VERSION = "5.22.3"
PROFILE = "estate-linux-baseline"
PROFILE_VERSION = "1.4.0"

# id, title, impact, doc link, code_desc of its one check, tags
CONTROLS = [
    ("ssh-01", "Root may not log in over SSH", 1.0, "https://man.openbsd.org/sshd_config#PermitRootLogin",
     "SSH Configuration PermitRootLogin is expected to eq \"no\"", {"cis": "5.2.10", "nist": ["AC-6"]}),
    ("ssh-02", "SSH password authentication is off", 0.7,
     "https://man.openbsd.org/sshd_config#PasswordAuthentication",
     "SSH Configuration PasswordAuthentication is expected to eq \"no\"", {"cis": "5.2.12", "nist": ["IA-2"]}),
    ("fs-01", "/etc/shadow is not readable by others", 0.7,
     "https://manpages.debian.org/bookworm/passwd/shadow.5.en.html",
     "File /etc/shadow is expected not to be readable by other", {"cis": "6.1.3"}),
    ("audit-01", "auditd is running", 0.7, "https://manpages.debian.org/bookworm/auditd/auditd.8.en.html",
     "Service auditd is expected to be running", {"cis": "4.1.1.2", "nist": ["AU-12"]}),
    ("pkg-01", "Security updates install unattended", 0.5, "https://wiki.debian.org/UnattendedUpgrades",
     "System Package unattended-upgrades is expected to be installed", {"cis": "1.9"}),
    ("net-01", "IPv4 forwarding is off", 0.5, "https://docs.kernel.org/networking/ip-sysctl.html",
     "Kernel Parameter net.ipv4.ip_forward value is expected to eq 0", {"cis": "3.1.1"}),
    ("time-01", "The clock is synchronised", 0.3,
     "https://manpages.debian.org/bookworm/systemd-timesyncd/systemd-timesyncd.service.8.en.html",
     "Command timedatectl show -p NTPSynchronized --value stdout is expected to eq \"yes\\n\"", {}),
    ("gui-01", "No display manager is installed", 0.0, "https://wiki.debian.org/DisplayManager",
     "System Package gdm3 is expected not to be installed", {"cis": "1.8.1"}),
]

# The demo's hosts (tools/simestate/estate.demo.yml and its storage model): the five hypervisors and some guests.
HYPERVISORS = ["hv-hpe-01", "hv-dell-01", "hv-lenovo-01", "hv-ilo4-01", "hv-smc-01"]
GUESTS = ["pgdb-main01", "web-front01", "web-front02", "iex-fokpp01", "iex-zk02", "batch-worker01"]
PUSH_HOST = "monitoring01"


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def control(cid, title, impact, doc, code_desc, tags, start, outcome="passed", waiver=None):
    """One control as the json reporter writes it. outcome: passed | failed | error | skipped."""
    result = {"status": "passed", "code_desc": code_desc, "run_time": 0.004217, "start_time": rfc3339(start),
              "resource_class": code_desc.split(" ")[0].lower()}
    if outcome == "failed":
        result["status"] = "failed"
        result["message"] = "\nexpected: \"no\"\n     got: \"yes\"\n\n(compared using ==)\n"
    elif outcome == "error":
        # A broken check: an exception with a backtrace (InSpec still writes status "failed").
        result["status"] = "failed"
        result["code_desc"] = "Control Source Code Error controls/audit.rb:12"
        result["message"] = "undefined method `running?' for nil:NilClass"
        result["exception"] = "NoMethodError"
        result["backtrace"] = ["controls/audit.rb:12:in `block (2 levels) in load_with_context'",
                               "lib/inspec/rule.rb:112:in `instance_eval'"]
    elif outcome == "skipped":
        result["status"] = "skipped"
        result["skip_message"] = "Skipped control due to waiver condition: " + waiver["justification"]
    return {
        "id": cid, "title": title, "desc": title + ".", "descriptions": [{"label": "default", "data": title + "."}],
        "impact": impact, "refs": [{"url": doc}], "tags": dict(tags),
        "code": "control '%s' do\n  impact %.1f\n  title '%s'\n  ...\nend\n" % (cid, impact, title),
        "source_location": {"ref": "controls/%s.rb" % cid.split("-")[0], "line": 3},
        "waiver_data": waiver or {}, "results": [result],
    }


def profile(name, version, controls, status="loaded", status_message="", depends=None, parent=None):
    p = {"name": name, "version": version, "sha256": sha256(name + version), "title": name.replace("-", " "),
         "maintainer": "estate-exporters", "summary": "Demo profile written for estate-exporters",
         "license": "Apache-2.0", "copyright": "estate-exporters", "copyright_email": "demo@estate.invalid",
         "supports": [{"platform-family": "linux"}], "attributes": [], "groups": [], "controls": controls,
         "status": status, "depends": depends or []}
    if status != "loaded":
        p["status_message"] = status_message
        p["skip_message"] = status_message
    if parent:
        p["parent_profile"] = parent
    return p


def report(host, start, outcomes=None, waivers=None, extra_profiles=None, depends=None, release="12.8"):
    """An exec JSON report of estate-linux-baseline on host, each check started one second after the last."""
    outcomes, waivers = outcomes or {}, waivers or {}
    controls = []
    for i, (cid, title, impact, doc, code_desc, tags) in enumerate(CONTROLS):
        controls.append(control(cid, title, impact, doc, code_desc, tags, start + i, outcomes.get(cid, "passed"),
                                waivers.get(cid)))
    profiles = [profile(PROFILE, PROFILE_VERSION, controls, depends=depends)] + (extra_profiles or [])
    return {"platform": {"name": "debian", "release": release, "target_id": host}, "profiles": profiles,
            "statistics": {"duration": float(len(CONTROLS)) + 0.4}, "version": INSPEC_VERSION}


def automate_envelope(host, start, end):
    """What `inspec exec --reporter automate` POSTs: the json-automate report plus the envelope's keys."""
    r = report(host, start, outcomes={"time-01": "failed"})
    node_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, host + ".estate.invalid"))
    end_time = datetime.datetime.fromtimestamp(end, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    r["platform"]["target_id"] = node_uuid
    r.update({"type": "inspec_report", "end_time": end_time, "node_uuid": node_uuid,
              "report_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, end_time + node_uuid)),
              "job_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "estate-demo-job")), "node_name": host,
              "environment": "demo", "roles": [], "recipes": [], "other_checks": []})
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory for the report files (created)")
    parser.add_argument("--push-out", help="where to write the automate envelope of " + PUSH_HOST)
    parser.add_argument("--now", type=float, default=time.time(), help="the time the reports end (default now)")
    args = parser.parse_args()
    now = int(args.now)
    start = now - 20  # a scan takes about ten seconds
    os.makedirs(args.out, exist_ok=True)

    waiver_expires = datetime.datetime.fromtimestamp(now + 3 * 86400, datetime.timezone.utc).strftime("%Y-%m-%d")
    skipped = profile("estate-ipmi-hardening", "0.3.1", [], status="skipped",
                      status_message="Skipping profile: 'estate-ipmi-hardening' on unsupported platform: "
                                     "'debian/12.8'.", parent=PROFILE)
    ipmi_dep = [{"name": "estate-ipmi-hardening", "path": "../estate-ipmi-hardening", "status": "skipped",
                 "status_message": skipped["status_message"]}]
    reports = {
        "pgdb-main01": report("pgdb-main01", start, outcomes={"ssh-01": "failed"}),
        "web-front02": report("web-front02", start, outcomes={"ssh-02": "skipped"}, waivers={"ssh-02": {
            "justification": "Deploy keys are being rolled out (CHG-2211)", "run": False,
            "skipped_due_to_waiver": True, "message": "", "expiration_date": waiver_expires}}),
        "iex-zk02": report("iex-zk02", now - 3 * 86400),
        "hv-lenovo-01": report("hv-lenovo-01", start, outcomes={"audit-01": "error"}),
        "hv-smc-01": report("hv-smc-01", start, extra_profiles=[skipped], depends=ipmi_dep),
    }
    for host in HYPERVISORS + GUESTS:
        reports.setdefault(host, report(host, start))

    for host, r in sorted(reports.items()):
        text = json.dumps(r, indent=2) + "\n"
        if host == "batch-worker01":
            text = text[: len(text) // 2]  # the disk filled up while InSpec wrote it
        path = os.path.join(args.out, host + ".json")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)  # the exporter never sees a half-written file (except this one's)
        print(path)
    if args.push_out:
        with open(args.push_out, "w") as f:
            json.dump(automate_envelope(PUSH_HOST, start, now), f)
        print(args.push_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
