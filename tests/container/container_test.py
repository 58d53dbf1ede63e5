#!/usr/bin/env python3
"""The container image (packaging/container) end to end, under podman.

Checks, against an image that is already built (bash packaging/container/build.sh):
  * every exporter binary runs in it (--version) and the image runs as a non-root user (65532);
  * the hardware exporter, in the container with a read-only root, --network=host, its config mounted at
    /etc/estate and TLS on /metrics (the OpenSSL name shim), scrapes the simulated estate (estate-simestate with tools/simestate/estate.demo.yml, ports 0)
    and /metrics shows every simulated BMC up, the flat battery and the failed disk of hv-hpe-01;
  * a new named volume on a state directory (/var/lib/estate-compliance) is writable by that user;
  * the default command serves on a port published on podman's bridge network, and SIGHUP reloads it.
Skips (exit 77) when podman is missing or the image is not built; ESTATE_CONTAINER_BUILD=1 builds it first.
Run options for podman that this host needs (e.g. another runtime, lower ulimits) are found by trying a few
(see packaging/container/README.md); ESTATE_PODMAN_RUN_OPTS overrides them.

Usage: container_test.py --simestate PATH --source-dir DIR [--image estate-exporters:latest]
"""
import argparse
import json
import os
import re
import resource
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
EXPORTERS = ["estate-hardware-exporter", "estate-storage-mapping-exporter", "estate-compliance-exporter",
             "estate-service-registry-exporter"]
TARGETS = ["hv-hpe-01-ilo", "hv-dell-01-idrac", "hv-lenovo-01-xcc", "hv-ilo4-01-ilo", "hv-smc-01-bmc"]


def log(msg):
    print(f"container_test: {msg}", flush=True)


def skip(reason):
    log(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(msg):
    log(f"FAIL: {msg}")
    sys.exit(1)


def run(cmd, timeout=120, check=False):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and p.returncode != 0:
        fail(f"{shlex.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p


def run_option_candidates():
    """podman run options to try, plainest first. On a cgroup v1/v2 hybrid host crun refuses every container
    ("cgroups in hybrid mode not supported"), and without CAP_SYS_RESOURCE podman's default ulimits
    (nofile 1048576, nproc 4194304) cannot be set; runc and ulimits within the hard limits get around both."""
    if os.environ.get("ESTATE_PODMAN_RUN_OPTS"):
        return [shlex.split(os.environ["ESTATE_PODMAN_RUN_OPTS"])]
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 65536 if nofile == resource.RLIM_INFINITY else min(nofile, 65536)
    ulimits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=8192:8192"]
    candidates = [[], ulimits]
    if shutil.which("runc"):
        candidates += [["--runtime", "runc"], ["--runtime", "runc"] + ulimits]
    return candidates


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5, cafile=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simestate", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--image", default=os.environ.get("ESTATE_IMAGE", "estate-exporters:latest"))
    args = ap.parse_args()
    started = time.monotonic()

    podman = shutil.which(os.environ.get("PODMAN", "podman"))
    if not podman:
        skip("podman is not installed (apt-get install podman)")
    if run([podman, "image", "exists", args.image]).returncode != 0:
        if os.environ.get("ESTATE_CONTAINER_BUILD") == "1":
            log(f"building {args.image} (ESTATE_CONTAINER_BUILD=1): bash packaging/container/build.sh")
            p = subprocess.run(["bash", os.path.join(args.source_dir, "packaging/container/build.sh")],
                               env=dict(os.environ, ESTATE_IMAGE=args.image))
            if p.returncode != 0:
                fail("packaging/container/build.sh failed")
        else:
            skip(f"image {args.image} is not built; run `bash packaging/container/build.sh` "
                 "(or set ESTATE_CONTAINER_BUILD=1 to build it from this test)")
    if not os.access(args.simestate, os.X_OK):
        fail(f"{args.simestate} is not built")

    # --- which podman run options work on this host ---------------------------------------------------------
    opts, errors = None, []
    for cand in run_option_candidates():
        p = run([podman, "run", "--rm", *cand, args.image, "estate-hardware-exporter", "--version"])
        if p.returncode == 0:
            opts = cand
            break
        errors.append(f"podman run {shlex.join(cand)}: exit {p.returncode}: {p.stdout.strip()}")
    if opts is None:
        fail("no podman run options work here:\n  " + "\n  ".join(errors))
    if opts:
        log(f"this host needs `podman run {shlex.join(opts)}` ({len(errors)} plainer option sets failed: "
            f"{errors[-1] if errors else ''})")
    prun = [podman, "run", "--rm", *opts]

    # --- every binary, the user ------------------------------------------------------------------------------
    for exe in EXPORTERS:
        out = run(prun + [args.image, exe, "--version"], check=True).stdout
        if not out.startswith(f"{exe}, version "):
            fail(f"{exe} --version printed {out!r}")
        log(f"ok: {out.splitlines()[0]}")
    user = run([podman, "image", "inspect", "--format", "{{.Config.User}}", args.image], check=True).stdout.strip()
    uid = run(prun + [args.image, "id", "-u"], check=True).stdout.strip()
    if user in ("", "0", "root") or uid != "65532":
        fail(f"the image should run as 65532, not root: User={user!r}, id -u={uid!r}")
    log(f"ok: image user {user}, id -u {uid}")
    cmd = run([podman, "image", "inspect", "--format", "{{json .Config.Cmd}}", args.image], check=True).stdout
    if "estate-hardware-exporter" not in cmd:
        fail(f"default command is {cmd}")

    tmp = tempfile.mkdtemp(prefix="estate-container-test.")
    containers = []
    sim = None
    try:
        # --- the simulated estate -----------------------------------------------------------------------------
        src = args.source_dir
        text = open(os.path.join(src, "tools/simestate/estate.demo.yml")).read()
        text = re.sub(r"\bport: \d+", "port: 0", text)
        text = text.replace("data: data/", f"data: {src}/tools/simestate/data/")
        with open(os.path.join(tmp, "estate.yml"), "w") as f:
            f.write(text)
        ports_file = os.path.join(tmp, "ports.json")
        sim_log = open(os.path.join(tmp, "simestate.log"), "w")
        sim = subprocess.Popen([args.simestate, f"--config.file={tmp}/estate.yml", f"--ports.file={ports_file}"],
                               stdout=sim_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(ports_file):
            if time.monotonic() > deadline or sim.poll() is not None:
                fail("simestate wrote no ports file:\n" + open(os.path.join(tmp, "simestate.log")).read())
            time.sleep(0.1)
        ports = json.load(open(ports_file))

        # --- the config directory, mounted read-only at /etc/estate (readable by uid 65532) ---------------
        etc = os.path.join(tmp, "etc")
        os.mkdir(etc)
        cfg = open(os.path.join(src, "packaging/demo/hardware.yml")).read()
        cfg = cfg.replace("{{source_dir}}/tools/simestate/data/bmc-credentials/monitor.password",
                          "/etc/estate/bmc-monitor.password")
        for name, port in ports.items():
            cfg = cfg.replace("{{simestate:" + name + "}}", f"127.0.0.1:{port}")
        if "{{" in cfg:
            fail(f"unrendered placeholder in hardware.yml:\n{cfg}")
        with open(os.path.join(etc, "hardware.yml"), "w") as f:
            f.write(cfg)
        shutil.copy(os.path.join(src, "tools/simestate/data/bmc-credentials/monitor.password"),
                    os.path.join(etc, "bmc-monitor.password"))
        # TLS on /metrics: the OpenSSL name shim in /usr/lib/estate-exporters must be found by civetweb.
        p = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", os.path.join(etc, "tls.key"), "-out", os.path.join(etc, "tls.crt"), "-days", "1",
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        if p.returncode != 0:
            fail(f"openssl req failed: {p.stdout}")
        with open(os.path.join(etc, "web.yml"), "w") as f:
            f.write("tls_server_config:\n  cert_file: /etc/estate/tls.crt\n  key_file: /etc/estate/tls.key\n")
        # As docs/configuration.md says: secrets 0640 root:<exporter group>, the rest world-readable.
        for p in (tmp, etc):
            os.chmod(p, 0o755)
        for p in os.listdir(etc):
            secret = p in ("bmc-monitor.password", "tls.key")
            os.chmod(os.path.join(etc, p), 0o640 if secret else 0o644)
            if secret:
                os.chown(os.path.join(etc, p), 0, 65532)

        # --- the hardware exporter in the container, read-only root, host network ------------------------
        port = free_port()
        name = f"estate-container-test-{os.getpid()}"
        p = run([podman, "run", "-d", "--name", name, *opts, "--network=host", "--read-only",
                 "-v", f"{etc}:/etc/estate:ro", args.image, "estate-hardware-exporter",
                 "--config.file=/etc/estate/hardware.yml", "--web.config.file=/etc/estate/web.yml",
                 f"--web.listen-address=127.0.0.1:{port}"], check=True)
        containers.append(name)
        ro = run([podman, "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name], check=True).stdout.strip()
        if ro != "true":
            fail(f"container is not read-only: ReadonlyRootfs={ro}")

        def container_log():
            return run([podman, "logs", name]).stdout

        want_up = [f'estate_hardware_source_up{{target="{t}",group="{g}"}} 1' for t in TARGETS
                   for g in ("fast", "slow")]
        want = want_up + [
            'estate_hardware_battery_health{target="hv-hpe-01-ilo",battery="smart_storage_battery_1",controller=""} 2',
            'estate_hardware_drive_health{target="hv-hpe-01-ilo",controller="Slot 0",drive="1I:3:2"} 2',
        ]
        deadline = time.monotonic() + 90
        body, missing = "", want
        while True:
            state = run([podman, "inspect", "--format", "{{.State.Status}}", name]).stdout.strip()
            if state != "running":
                fail(f"the exporter container is {state}:\n{container_log()}")
            status, body = http_get(f"https://127.0.0.1:{port}/metrics", cafile=f"{etc}/tls.crt")
            if status == 200:
                lines = set(body.splitlines())
                missing = [w for w in want if w not in lines]
                if not missing:
                    break
            if time.monotonic() > deadline:
                ups = "\n".join(l for l in body.splitlines() if l.startswith("estate_hardware_source_up"))
                fail(f"after 90 s /metrics (status {status}) still lacks:\n  " + "\n  ".join(missing) +
                     f"\nsource_up:\n{ups}\nexporter log:\n{container_log()}")
            time.sleep(1)
        log(f"ok: https /metrics of the containerised hardware exporter: all {len(TARGETS)} simulated BMCs up, "
            "hv-hpe-01's flat battery and failed disk")
        status, _ = http_get(f"https://127.0.0.1:{port}/-/healthy", cafile=f"{etc}/tls.crt")
        if status != 200:
            fail(f"/-/healthy answered {status}")
        # The root is mounted read-only; /tmp is a writable tmpfs (podman's --read-only-tmpfs).
        p = run([podman, "exec", name, "sh", "-c", "awk '$2 == \"/\" {print $4}' /proc/mounts; touch /tmp/x && echo tmp-ok"])
        root_opts = p.stdout.split()[0] if p.stdout.split() else ""
        if not root_opts.startswith("ro") or "tmp-ok" not in p.stdout:
            fail(f"read-only root check: {p.stdout}")
        log(f"ok: https /-/healthy 200 (TLS through the sslcompat shim); / mounted {root_opts.split(',')[0]}, /tmp writable")

        # --- state directories as volumes: a new named volume takes the image directory's owner (65532) ----
        vol = f"estate-container-test-{os.getpid()}"
        run([podman, "volume", "create", vol], check=True)
        try:
            p = run(prun + ["--read-only", "-v", f"{vol}:/var/lib/estate-compliance", args.image, "sh", "-c",
                            "touch /var/lib/estate-compliance/probe && ls -ln /var/lib/estate-compliance"])
            if p.returncode != 0 or "65532" not in p.stdout:
                fail(f"a named volume at /var/lib/estate-compliance is not writable by 65532: {p.stdout}")
        finally:
            run([podman, "volume", "rm", "-f", vol])
        log("ok: a new named volume at /var/lib/estate-compliance is writable by uid 65532 under --read-only")

        # --- the default command, a published port on podman's bridge network, SIGHUP reload --------------
        etc2 = os.path.join(tmp, "etc-empty")
        os.mkdir(etc2, 0o755)
        with open(os.path.join(etc2, "hardware.yml"), "w") as f:
            f.write("allow_empty: true\ntargets: []\n")
        os.chmod(os.path.join(etc2, "hardware.yml"), 0o644)
        port2 = free_port()
        name2 = f"estate-container-test-{os.getpid()}-bridge"
        run([podman, "run", "-d", "--name", name2, *opts, "--read-only", "-p", f"127.0.0.1:{port2}:9840",
             "-v", f"{etc2}:/etc/estate:ro", args.image], check=True)
        containers.append(name2)
        deadline = time.monotonic() + 20
        while (status := http_get(f"http://127.0.0.1:{port2}/-/healthy")[0]) != 200:
            if time.monotonic() > deadline:
                fail(f"default command on -p {port2}:9840: /-/healthy {status}\n{run([podman, 'logs', name2]).stdout}")
            time.sleep(0.5)
        run([podman, "kill", "--signal", "HUP", name2], check=True)
        deadline = time.monotonic() + 10
        while "trigger=SIGHUP" not in (logs := run([podman, "logs", name2]).stdout):
            if time.monotonic() > deadline:
                fail(f"no reload after SIGHUP:\n{logs}")
            time.sleep(0.5)
        log("ok: the default command (hardware exporter, /etc/estate/hardware.yml) on a published port; "
            "SIGHUP reloads")
    finally:
        for c in containers:
            run([podman, "rm", "-f", "-t", "2", c])
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(10)
            except subprocess.TimeoutExpired:
                sim.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"PASS in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
