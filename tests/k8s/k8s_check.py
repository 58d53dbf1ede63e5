#!/usr/bin/env python3
"""Checks the Kubernetes manifests of packaging/kubernetes (CTest label k8s).

1. The files generate.py writes (PrometheusRules, dashboard ConfigMaps) are up to date.
2. Every base and every overlay renders with `kubectl kustomize` (Debian 12's kubectl 1.20 with kustomize
   v2.0.3, and newer ones), and the output parses as YAML objects with apiVersion, kind and name.
3. Each PrometheusRule holds exactly its alerts/<name>.rules.yml, and its groups pass `promtool check rules`;
   each dashboard ConfigMap has the Grafana sidecar label and holds exactly its dashboards/<name>.json.
4. Every container and init container runs as non-root (runAsNonRoot, a non-zero runAsUser if one is set),
   with a read-only root filesystem, no privilege escalation, capabilities drop ALL and the RuntimeDefault
   seccomp profile; has CPU and memory requests and limits; the exporters have a liveness probe on /-/healthy
   and a readiness probe on /-/ready.
5. Wiring: the config's *_file, state_file and spool_dir paths lie under the container's mounts (state paths
   under a writable one); every ServiceMonitor selects a Service of the same output on a port it has, and
   every Service selects pods; the hardware StatefulSet's replicas equal its --shard.total, with
   --shard.index=auto and POD_NAME from metadata.name; an overlay with a namespace puts every object in it.

kubectl: --kubectl, else $KUBECTL, else kubectl on PATH. Without one, after check 1, the test is skipped
(exit 77). promtool: --promtool, else $PROMTOOL, else promtool on PATH.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SKIP = 77
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


class Checker:
    def __init__(self):
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{where}: {msg}")


def pod_spec(obj):
    kind = obj["kind"]
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"].get("spec") or {}
    return obj["spec"]["template"].get("spec") or {}


def effective(container, pod, key):
    """A securityContext setting of the container, else of the pod (where Kubernetes allows it there)."""
    csc = container.get("securityContext") or {}
    if key in csc:
        return csc[key]
    return (pod.get("securityContext") or {}).get(key)


def check_containers(c, where, obj):
    pod = pod_spec(obj)
    containers = [("container", x) for x in pod.get("containers") or []]
    containers += [("initContainer", x) for x in pod.get("initContainers") or []]
    if not containers:
        c.fail(where, "no containers")
    for kind, ctr in containers:
        w = f"{where} {kind} {ctr.get('name')}"
        sc = ctr.get("securityContext") or {}
        if effective(ctr, pod, "runAsNonRoot") is not True:
            c.fail(w, "runAsNonRoot is not true")
        uid = effective(ctr, pod, "runAsUser")
        if uid is not None and int(uid) == 0:
            c.fail(w, "runAsUser is 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            c.fail(w, "readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            c.fail(w, "allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            c.fail(w, "privileged")
        drop = ((sc.get("capabilities") or {}).get("drop")) or []
        if "ALL" not in drop:
            c.fail(w, "capabilities.drop does not contain ALL")
        if (sc.get("capabilities") or {}).get("add"):
            c.fail(w, "adds capabilities")
        seccomp = effective(ctr, pod, "seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            c.fail(w, "seccompProfile is not RuntimeDefault")
        res = ctr.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    c.fail(w, f"no resources.{part}.{r}")
        if kind == "container":
            for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
                got = ((ctr.get(probe) or {}).get("httpGet") or {}).get("path")
                if got != path:
                    c.fail(w, f"{probe} is not an httpGet of {path} (got {got!r})")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            c.fail(where, f"{flag} is set")


def config_paths(node, prefix=""):
    """(yaml path, value) of every key in the exporter config that names a file or directory it uses."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, str) and (k.endswith("_file") or k in ("state_file", "spool_dir", "file")):
                out.append((p, k, v))
            elif k == "files" and isinstance(v, list):
                out += [(f"{p}[{i}]", k, x) for i, x in enumerate(v) if isinstance(x, str)]
            else:
                out += config_paths(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += config_paths(v, f"{prefix}[{i}]")
    return out


def under(path, mount):
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def check_wiring(c, where, objs):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    configmaps = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
    workloads = [o for o in objs if o["kind"] in WORKLOADS]
    services = by_kind.get("Service", [])

    for w in workloads:
        wn = f"{where} {w['kind']}/{w['metadata']['name']}"
        pod = pod_spec(w)
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        template_labels = (w["spec"]["template"].get("metadata") or {}).get("labels") or {}
        for ctr in pod.get("containers") or []:
            mounts = ctr.get("volumeMounts") or []
            for m in mounts:
                if m["name"] not in volumes:
                    c.fail(wn, f"mount of undeclared volume {m['name']}")
            args = ctr.get("args") or []
            # The config: the ConfigMap file mounted at --config.file.
            cfg_path = next((a.split("=", 1)[1] for a in args if a.startswith("--config.file=")), None)
            if cfg_path is None:
                c.fail(wn, "no --config.file")
                continue
            mount = next((m for m in mounts if m["mountPath"] == cfg_path), None)
            vol = volumes.get(mount["name"]) if mount else None
            if not vol or "configMap" not in vol:
                c.fail(wn, f"--config.file={cfg_path} is not a mounted ConfigMap file")
                continue
            cm = configmaps.get(vol["configMap"]["name"])
            if cm is None:
                c.fail(wn, f"ConfigMap {vol['configMap']['name']} is not in the output")
                continue
            text = (cm.get("data") or {}).get(mount.get("subPath") or os.path.basename(cfg_path))
            if text is None:
                c.fail(wn, f"ConfigMap {cm['metadata']['name']} has no key for {cfg_path}")
                continue
            config = yaml.safe_load(text)
            for ypath, key, value in config_paths(config):
                m = max((m for m in mounts if under(value, m["mountPath"])), key=lambda m: len(m["mountPath"]),
                        default=None)
                if m is None:
                    c.fail(wn, f"config {ypath}: {value} is under no volume mount")
                elif key in ("state_file", "spool_dir") and (m.get("readOnly") or
                                                             "emptyDir" not in volumes[m["name"]] and
                                                             "persistentVolumeClaim" not in volumes[m["name"]]):
                    c.fail(wn, f"config {ypath}: {value} is not on a writable emptyDir or PVC")
            # The hardware exporter's shards.
            if "estate-hardware-exporter" in " ".join(ctr.get("command") or []):
                total = [a.split("=", 1)[1] for a in args if a.startswith("--shard.total=")]
                if w["kind"] != "StatefulSet":
                    c.fail(wn, "the hardware exporter is not a StatefulSet")
                if len(total) != 1 or int(total[0]) != int(w["spec"].get("replicas", 1)):
                    c.fail(wn, f"replicas {w['spec'].get('replicas')} != --shard.total {total}")
                if "--shard.index=auto" not in args:
                    c.fail(wn, "no --shard.index=auto")
                env = {e["name"]: e for e in ctr.get("env") or []}
                ref = ((env.get("POD_NAME") or {}).get("valueFrom") or {}).get("fieldRef") or {}
                if ref.get("fieldPath") != "metadata.name":
                    c.fail(wn, "POD_NAME does not come from metadata.name")
                svc = next((s for s in services if s["metadata"]["name"] == w["spec"].get("serviceName")), None)
                if not svc or svc["spec"].get("clusterIP") != "None":
                    c.fail(wn, f"serviceName {w['spec'].get('serviceName')} is not a headless Service here")
        for s in services:
            sel = s["spec"].get("selector") or {}
            if sel and all(template_labels.get(k) == v for k, v in sel.items()):
                ports = {p.get("name") for c_ in pod.get("containers") or [] for p in c_.get("ports") or []}
                for p in s["spec"].get("ports") or []:
                    if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                        c.fail(where, f"Service/{s['metadata']['name']} targets port {p['targetPort']}, "
                                      f"which {wn} does not name")

    for s in services:
        sel = s["spec"].get("selector") or {}
        if not any(all(((w["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(k) == v
                       for k, v in sel.items()) for w in workloads):
            c.fail(where, f"Service/{s['metadata']['name']} selects no pods of the output")

    for sm in by_kind.get("ServiceMonitor", []):
        name = f"{where} ServiceMonitor/{sm['metadata']['name']}"
        match = (sm["spec"].get("selector") or {}).get("matchLabels") or {}
        chosen = [s for s in services
                  if all((s["metadata"].get("labels") or {}).get(k) == v for k, v in match.items())]
        if len(chosen) != 1:
            c.fail(name, f"selects {len(chosen)} Services (want 1)")
            continue
        port_names = {p.get("name") for p in chosen[0]["spec"].get("ports") or []}
        for ep in sm["spec"].get("endpoints") or []:
            if ep.get("port") not in port_names:
                c.fail(name, f"endpoint port {ep.get('port')!r} is not a port of Service/"
                             f"{chosen[0]['metadata']['name']}")


def check_rules_and_dashboards(c, where, objs, root, promtool, tmp):
    for o in objs:
        name = o["metadata"]["name"]
        if o["kind"] == "PrometheusRule":
            m = re.fullmatch(r"estate-(.+)-exporter", name)
            src = os.path.join(root, "alerts", f"{m.group(1)}.rules.yml") if m else None
            if not src or not os.path.exists(src):
                c.fail(where, f"PrometheusRule/{name} has no alerts/<name>.rules.yml")
                continue
            with open(src, encoding="utf-8") as f:
                if yaml.safe_load(f) != o["spec"]:
                    c.fail(where, f"PrometheusRule/{name} differs from {os.path.relpath(src, root)}")
            path = os.path.join(tmp, f"{where.replace('/', '_')}-{name}.rules.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump({"groups": o["spec"]["groups"]}, f, sort_keys=False)
            r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
            if r.returncode != 0:
                c.fail(where, f"PrometheusRule/{name}: promtool check rules: {r.stdout}{r.stderr}")
        elif o["kind"] == "ConfigMap" and name.endswith("-dashboard"):
            labels = o["metadata"].get("labels") or {}
            if labels.get("grafana_dashboard") != "1":
                c.fail(where, f"ConfigMap/{name} lacks the label grafana_dashboard: \"1\"")
            for key, text in (o.get("data") or {}).items():
                src = os.path.join(root, "dashboards", key[len("estate-"):] if key.startswith("estate-") else key)
                if not os.path.exists(src):
                    c.fail(where, f"ConfigMap/{name}: {key} has no dashboards/ file")
                    continue
                with open(src, encoding="utf-8") as f:
                    if json.loads(text) != json.load(f):
                        c.fail(where, f"ConfigMap/{name}: {key} differs from {os.path.relpath(src, root)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    parser.add_argument("--kubectl", default=os.environ.get("KUBECTL") or shutil.which("kubectl"))
    parser.add_argument("--promtool", default=os.environ.get("PROMTOOL") or shutil.which("promtool") or "promtool")
    args = parser.parse_args()
    root = args.root
    k8s = os.path.join(root, "packaging", "kubernetes")

    # 1. Generated files: needs only python3-yaml, so it runs even where kubectl is missing.
    r = subprocess.run([sys.executable, os.path.join(k8s, "generate.py"), "--check", "--root", root])
    if r.returncode != 0:
        print("FAIL: generated files are out of date (run packaging/kubernetes/generate.py)")
        return 1

    if not args.kubectl or not shutil.which(args.kubectl):
        print("SKIP: kubectl not found (Debian package kubernetes-client); set KUBECTL or --kubectl")
        return SKIP
    version = subprocess.run([args.kubectl, "version", "--client"], capture_output=True, text=True)
    print(f"kubectl: {args.kubectl}: {version.stdout.strip().splitlines()[0] if version.stdout else '?'}")

    dirs = []
    for group in ("base", "overlays"):
        for d in sorted(os.listdir(os.path.join(k8s, group))):
            if os.path.exists(os.path.join(k8s, group, d, "kustomization.yaml")):
                dirs.append(f"{group}/{d}")
    c = Checker()
    with tempfile.TemporaryDirectory() as tmp:
        for d in dirs:
            r = subprocess.run([args.kubectl, "kustomize", os.path.join(k8s, d)], capture_output=True, text=True)
            if r.returncode != 0:
                c.fail(d, f"kubectl kustomize failed: {r.stderr.strip()}")
                continue
            try:
                objs = [o for o in yaml.safe_load_all(r.stdout) if o is not None]
            except yaml.YAMLError as e:
                c.fail(d, f"output is not YAML: {e}")
                continue
            bad = [o for o in objs if not isinstance(o, dict) or not o.get("apiVersion") or not o.get("kind")
                   or not (o.get("metadata") or {}).get("name")]
            if bad or not objs:
                c.fail(d, f"{len(bad)} objects without apiVersion, kind or name; {len(objs)} objects")
                continue
            with open(os.path.join(k8s, d, "kustomization.yaml"), encoding="utf-8") as f:
                namespace = (yaml.safe_load(f) or {}).get("namespace")
            if namespace:
                for o in objs:
                    if o["metadata"].get("namespace") != namespace:
                        c.fail(d, f"{o['kind']}/{o['metadata']['name']} is not in namespace {namespace}")
            for o in objs:
                if o["kind"] in WORKLOADS:
                    where = f"{d} {o['kind']}/{o['metadata']['name']}"
                    check_containers(c, where, o)
                    # The bases name the image estate-exporters, so that one `images:` entry retargets them all.
                    for ctr in pod_spec(o).get("containers") or []:
                        image = re.split(r"[:@]", ctr.get("image", ""))[0]
                        if d.startswith("base/") and image != "estate-exporters":
                            c.fail(where, f"image {ctr.get('image')!r} is not estate-exporters[:tag]")
            check_wiring(c, d, objs)
            check_rules_and_dashboards(c, d, objs, root, args.promtool, tmp)
            kinds = {}
            for o in objs:
                kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
            print(f"{d}: {len(objs)} objects ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    for e in c.errors:
        print(f"FAIL: {e}")
    if c.errors:
        return 1
    print(f"PASS: {len(dirs)} kustomizations rendered and checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
