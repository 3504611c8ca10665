#!/usr/bin/python3
"""Offline checks of the chart, the plain manifests, the agent configuration they carry and the
Grafana dashboard. One ctest test per subcommand (tests/deploy/CMakeLists.txt):

  manifests    deploy/manifests/dfaas.yaml: parsed, structural checks against the Kubernetes
               fields used and the agent's key table
  render       the chart rendered with deploy/render.sh (Helm's template engine): the manifests
               are up to date, several value sets render and pass the same checks, and invalid
               values are refused
  schema       every rendered object validated field by field against the Kubernetes API models
               of python3-kubernetes (unknown fields, wrong types, missing required fields)
  config-keys  values.yaml's config section, the ConfigMap's agent.yaml and dfaas-config-keys
               --json hold the same keys; the agent accepts the rendered configuration
               (dfaas-agent --check-config) and its effective values are the chart's
  dashboard    deploy/grafana/dfaas.json: valid dashboard JSON whose queries use only metrics the
               agent exports
Exit 77 (skipped) when a tool a subcommand needs is missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploylib as dl  # noqa: E402

import yaml  # noqa: E402

EXTERNAL_SECRETS = ("basic-auth", "dfaas-cluster-key")


def test_manifests(t):
    docs = dl.load_manifests()
    t.check(len(docs) >= 3, f"deploy/manifests/dfaas.yaml holds {len(docs)} objects")
    kinds = sorted(d["kind"] for d in docs)
    t.check(kinds == ["ConfigMap", "DaemonSet", "ServiceAccount"] or
            kinds == ["ConfigMap", "DaemonSet", "Secret", "ServiceAccount"],
            f"kinds {kinds}")
    t.check(not dl.find(docs, "Secret", "dfaas-cluster-key"),
            "no cluster key in the committed manifests (users create the Secret)")
    dl.check_manifests(docs, dl.config_keys(), t, "manifests", EXTERNAL_SECRETS, defaults_policy=True)


VARIANTS = {
    "defaults": [],
    "privileged": ["--set", "privileged=true"],
    "bpffs-init": ["--set", "bpffsInit.enabled=true"],
    "seeds+token": ["-f", "{tmp}/seeds.yaml"],
    "no-openfaas-auth": ["--set", "openfaasAuth.secretName=", "--set", "config.openfaas.username=",
                         "--set", "config.openfaas.password_file="],
    "other-release": ["--release", "edge", "--namespace", "dfaas-system",
                      "--set", "clusterKey.value=0123456789abcdef0123456789abcdef"],
}
SEEDS_VALUES = """
config:
  peers:
    seeds: [10.0.0.2:29090, 10.0.0.3:29090]
  api:
    token_file: /var/secrets/dfaas-api/token
  dataplane:
    interface: ens3
  strategy:
    name: nodemargin
extraVolumes:
  - name: models
    hostPath: {path: /opt/dfaas/models, type: Directory}
extraVolumeMounts:
  - name: models
    mountPath: /usr/share/dfaas/forecaster
    readOnly: true
"""
INVALID = {
    "node.ip set": (["--set", "config.node.ip=10.0.0.1"], "config.node.ip must stay empty"),
    "node.id set": (["--set", "config.node.id=n1"], "config.node.id must stay empty"),
    "bpffs outside hostPaths.bpffs": (["--set", "config.dataplane.bpffs=/run/dfaas"], "must be inside hostPaths.bpffs"),
    "id_file outside hostPaths.state": (["--set", "config.node.id_file=/tmp/id"], "must be inside hostPaths.state"),
    "state_file outside hostPaths.state": (["--set", "config.node.state_file=/tmp/state.json"],
                                           "config.node.state_file (/tmp/state.json) must be inside hostPaths.state"),
}


def test_render(t):
    if not dl.renderer_available():
        return dl.SKIP
    r = subprocess.run([dl.RENDER, "--check"], capture_output=True, text=True)
    t.check(r.returncode == 0, "deploy/manifests/dfaas.yaml is what the chart renders" +
            ("" if r.returncode == 0 else ":\n" + r.stdout[-3000:] + r.stderr))
    keys = dl.config_keys()
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/seeds.yaml", "w") as f:
            f.write(SEEDS_VALUES)
        for name, args in VARIANTS.items():
            args = [a.replace("{tmp}", tmp) for a in args]
            if "--namespace" not in args:
                args = ["--namespace", "openfaas"] + args
            rc, out, err = dl.render(*args)
            if not t.check(rc == 0, f"render {name}" + ("" if rc == 0 else f": {err}")):
                continue
            docs = dl.parse_docs(out)
            cfg = dl.check_manifests(docs, keys, t, name, EXTERNAL_SECRETS, defaults_policy=(name == "defaults"))
            ds = dl.daemonset(docs)
            agent = dl.agent_container(ds)
            env = {e["name"]: e.get("value") for e in agent["env"]}
            if name == "defaults":
                t.check(len(dl.find(docs, "Secret")) == 1, "defaults: a cluster-key Secret is generated")
                t.check(env.get("DFAAS_DATAPLANE_GATEWAY") == "$(AGENT_NODE_IP):31112" and cfg["dataplane"]["gateway"] is None,
                        "defaults: the gateway goes through the environment with the node's IP")
                t.check(env.get("AUTODETECT_INTERFACE") == "1" and cfg["dataplane"]["interface"] is None,
                        "defaults: the interface is detected per node")
                t.check("initContainers" not in ds["spec"]["template"]["spec"],
                        "defaults: no (privileged) bpffs init container: hosts with a bpffs need none")
                sc = agent["securityContext"]
                t.check(sc.get("seccompProfile") == {"type": "Unconfined"},
                        "defaults: seccomp Unconfined (runtime default profiles refuse bpf() without CAP_SYS_ADMIN)")
                vols = ds["spec"]["template"]["spec"]["volumes"]
                t.check(not any(v.get("hostPath", {}).get("path") == "/sys/fs/bpf" for v in vols),
                        "defaults: the host's bpffs root is not mounted, only the pin directory")
            if name == "bpffs-init":
                spec = ds["spec"]["template"]["spec"]
                init = (spec.get("initContainers") or [{}])[0]
                t.check(init.get("name") == "mount-bpffs" and init["command"][-2:] == ["/sys/fs/bpf", "/sys/fs/bpf/dfaas"],
                        "bpffs-init: the init container mounts /sys/fs/bpf and creates the pin directory")
                t.check(not any(m["name"] == "bpffs-root" for m in agent["volumeMounts"]),
                        "bpffs-init: the agent container does not mount the bpffs root")
            if name == "privileged":
                sc = agent["securityContext"]
                t.check(sc.get("privileged") is True and "capabilities" not in sc, "privileged: privileged, no capability list")
                t.check("initContainers" not in ds["spec"]["template"]["spec"], "privileged: no init container")
                t.check("allowPrivilegeEscalation" not in sc,
                        "privileged: no allowPrivilegeEscalation (the API refuses it with privileged)")
            if name == "seeds+token":
                t.check(cfg["peers"]["seeds"] == ["10.0.0.2:29090", "10.0.0.3:29090"], "seeds: written to agent.yaml")
                t.check(len(dl.find(docs, "Secret")) == 2, "seeds+token: cluster key and API token Secrets")
                t.check("AUTODETECT_INTERFACE" not in env and cfg["dataplane"]["interface"] == "ens3",
                        "seeds+token: an explicit interface disables the detection")
                t.check(any(m["name"] == "models" for m in agent["volumeMounts"]), "seeds+token: extra volume mounted")
            if name == "no-openfaas-auth":
                t.check(not any(m["name"] == "openfaas-auth" for m in agent["volumeMounts"]),
                        "no-openfaas-auth: no basic-auth Secret mounted")
            if name == "other-release":
                t.check(ds["metadata"]["name"] == "edge-dfaas" and ds["metadata"]["namespace"] == "dfaas-system",
                        "other-release: names and namespace follow the release")
                sec = dl.find(docs, "Secret")[0]
                t.check(dl.secret_data(sec)["cluster-key"] == "0123456789abcdef0123456789abcdef",
                        "other-release: clusterKey.value is the Secret's content")
        for name, (args, message) in INVALID.items():
            rc, out, err = dl.render("--namespace", "openfaas", *args)
            t.check(rc != 0 and message in err, f"refused: {name} ({err.strip()[:120]})")
    rc, notes, err = dl.render("--namespace", "openfaas", "--show-only", "templates/NOTES.txt")
    t.check(rc == 0 and "dfaas-agent --config /etc/dfaas/agent.yaml --detach" in notes and "no value" not in notes,
            "NOTES.txt renders and tells how to detach before uninstalling" + ("" if rc == 0 else ": " + err))
    # The checksum follows the configuration.
    a = dl.daemonset(dl.parse_docs(dl.render("--namespace", "openfaas")[1]))
    b = dl.daemonset(dl.parse_docs(dl.render("--namespace", "openfaas", "--set", "config.strategy.period=20s")[1]))
    ca = a["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    cb = b["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    t.check(ca != cb, "a configuration change changes checksum/config (pods roll)")
    return None


# ---- schema check against python3-kubernetes' API models ----------------------------------------

def test_schema(t):
    try:
        from kubernetes import client  # noqa: F401
        from kubernetes.client import models
    except ImportError:
        print("python3-kubernetes is not installed: schema check skipped")
        return dl.SKIP
    renders = {"manifests": dl.load_manifests()}
    if dl.renderer_available():
        with tempfile.TemporaryDirectory() as tmp:
            with open(f"{tmp}/seeds.yaml", "w") as f:
                f.write(SEEDS_VALUES)
            for name, args in VARIANTS.items():
                args = [a.replace("{tmp}", tmp) for a in args]
                rc, out, err = dl.render(*(["--namespace", "openfaas"] + args if "--namespace" not in args else args))
                if rc == 0:
                    renders[name] = dl.parse_docs(out)
    api = client.ApiClient()
    kinds = {"ServiceAccount": "V1ServiceAccount", "Secret": "V1Secret", "ConfigMap": "V1ConfigMap",
             "DaemonSet": "V1DaemonSet"}

    def walk(obj, type_name, path, errors):
        if obj is None:
            return
        m = re.fullmatch(r"list\[(.+)\]", type_name)
        if m:
            if not isinstance(obj, list):
                errors.append(f"{path}: expected a list")
                return
            for i, x in enumerate(obj):
                walk(x, m.group(1), f"{path}[{i}]", errors)
            return
        m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
        if m:
            if not isinstance(obj, dict):
                errors.append(f"{path}: expected a map")
                return
            for k, x in obj.items():
                walk(x, m.group(1), f"{path}.{k}", errors)
            return
        if type_name == "str":
            # Quantities and similar strings are often written as numbers.
            if not isinstance(obj, (str, int, float)) or isinstance(obj, bool):
                errors.append(f"{path}: expected a string, got {obj!r}")
            return
        if type_name == "int":
            if not isinstance(obj, int) or isinstance(obj, bool):
                errors.append(f"{path}: expected an integer, got {obj!r}")
            return
        if type_name == "bool":
            if not isinstance(obj, bool):
                errors.append(f"{path}: expected a boolean, got {obj!r}")
            return
        if type_name in ("object", "float", "datetime", "date"):
            return
        cls = getattr(models, type_name)
        if not isinstance(obj, dict):
            errors.append(f"{path}: expected a {type_name} object")
            return
        fields = {json_name: py for py, json_name in cls.attribute_map.items()}
        for k, x in obj.items():
            if k not in fields:
                errors.append(f"{path}.{k}: unknown field of {type_name}")
                continue
            walk(x, cls.openapi_types[fields[k]], f"{path}.{k}", errors)

    for label, docs in renders.items():
        for d in docs:
            kind = d["kind"]
            errors = []
            walk(d, kinds[kind], kind, errors)
            try:
                # Builds the models: required fields missing raise ValueError.
                api._ApiClient__deserialize(d, kinds[kind])
            except ValueError as e:
                errors.append(str(e))
            t.check(not errors, f"{label}: {kind} {d['metadata']['name']} matches the API schema"
                    + ("" if not errors else ": " + "; ".join(errors[:5])))
    return None


# ---- values <-> agent keys ----------------------------------------------------------------------

def test_config_keys(t):
    keys = dl.config_keys()
    agent_paths = {k["path"] for k in keys}
    values_paths = set(dl.leaf_paths(dl.load_values()["config"]))
    t.check(values_paths - agent_paths == set(), f"no key only values.yaml knows ({sorted(values_paths - agent_paths)})")
    t.check(agent_paths - values_paths == set(), f"no key only the agent knows ({sorted(agent_paths - values_paths)})")
    docs = dl.load_manifests()
    ds = dl.daemonset(docs)
    cfg = dl.agent_config(docs, ds)
    cm_paths = set(dl.leaf_paths(cfg))
    t.check(cm_paths == agent_paths, "the ConfigMap's agent.yaml holds exactly the agent's keys"
            + ("" if cm_paths == agent_paths else f" (extra {sorted(cm_paths - agent_paths)}, missing {sorted(agent_paths - cm_paths)})"))
    sets = [("manifests", docs)]
    if dl.renderer_available():
        rc, out, err = dl.render("--namespace", "openfaas")
        if t.check(rc == 0, "render the chart's defaults"):
            rdocs = dl.parse_docs(out)
            rcfg = dl.agent_config(rdocs, dl.daemonset(rdocs))
            t.check(set(dl.leaf_paths(rcfg)) == agent_paths, "the rendered default agent.yaml holds exactly the agent's keys")
            sets.append(("defaults", rdocs))

    agent = os.path.join(dl.build_dir(), "bin", "dfaas-agent")
    values = dl.leaf_paths(dl.load_values()["config"])
    for label, d in sets:
        with tempfile.TemporaryDirectory() as root:
            pod = dl.emulate_pod(d, root, "10.0.0.7", "node-a",
                                 {"basic-auth": {"basic-auth-password": "pw\n"},
                                  "dfaas-cluster-key": {"cluster-key": "k" * 40}})
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **pod["env"]}
            r = subprocess.run([agent, "--config", pod["config"], "--check-config"], env=env,
                               capture_output=True, text=True)
            if not t.check(r.returncode == 0, f"{label}: dfaas-agent --check-config accepts the rendered configuration"
                           + ("" if r.returncode == 0 else ": " + r.stdout[-500:] + r.stderr[-1500:])):
                continue
            t.check("warning" not in r.stderr.lower(), f"{label}: no configuration warning ({r.stderr.strip()[:200]})")
            eff = dl.leaf_paths(yaml.safe_load(r.stdout))
            inv = {v: k for k, v in pod["map"].items()}
            mismatches = []
            for path, want in values.items():
                got = eff.get(path)
                if isinstance(got, str):
                    for real, mp in inv.items():
                        if got.startswith(real):
                            got = mp + got[len(real):]
                if want == "" or want is None:
                    continue  # the agent's default, or set per node below
                if isinstance(want, str) and "$(AGENT_NODE_IP)" in want:
                    want = want.replace("$(AGENT_NODE_IP)", "10.0.0.7")
                if isinstance(want, (int, float)) and not isinstance(want, bool):
                    try:
                        got = float(got)
                        want = float(want)
                    except (TypeError, ValueError):
                        pass
                if got != want:
                    mismatches.append(f"{path}: values {want!r}, effective {got!r}")
            t.check(not mismatches, f"{label}: the agent's effective configuration is the chart's values"
                    + ("" if not mismatches else ": " + "; ".join(mismatches)))
            t.check(eff.get("node.ip") == "10.0.0.7", f"{label}: node.ip from AGENT_NODE_IP")
    return None


# ---- dashboard ----------------------------------------------------------------------------------

def exported_metrics():
    src = open(os.path.join(dl.REPO, "userspace", "agent", "src", "metrics.cpp")).read()
    names = set(re.findall(r'"(dfaas_[a-z0-9_]+)"', src))
    hist = {n for n in names if n.endswith("_seconds") and "histogram" in src}
    for n in hist:
        names |= {n + "_bucket", n + "_sum", n + "_count"}
    return names


def test_dashboard(t):
    path = os.path.join(dl.REPO, "deploy", "grafana", "dfaas.json")
    with open(path) as f:
        dash = json.load(f)
    t.check(bool(dash.get("title")) and bool(dash.get("uid")) and isinstance(dash.get("panels"), list),
            "dashboard has a title, a uid and panels")
    t.check(isinstance(dash.get("schemaVersion"), int), "dashboard has a schemaVersion")
    panels = []

    def collect(ps):
        for p in ps:
            panels.append(p)
            collect(p.get("panels", []))
    collect(dash["panels"])
    ids = [p["id"] for p in panels]
    t.check(len(ids) == len(set(ids)), "panel ids unique")
    t.check(all("gridPos" in p and {"x", "y", "w", "h"} <= set(p["gridPos"]) for p in panels), "every panel has a gridPos")
    variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    t.check({"datasource", "instance", "function"} <= variables, f"variables datasource, instance, function ({sorted(variables)})")
    exprs = [tg["expr"] for p in panels for tg in p.get("targets", []) if "expr" in tg]
    exprs += [v.get("query", {}).get("query", "") if isinstance(v.get("query"), dict) else v.get("query", "")
              for v in dash["templating"]["list"] if v.get("type") == "query"]
    known = exported_metrics()
    used = set()
    for e in exprs:
        used |= set(re.findall(r"\b(dfaas_[a-z0-9_]+)", e))
    t.check(len(used) >= 8, f"dashboard queries {len(used)} dfaas_* metrics")
    unknown = sorted(used - known)
    t.check(not unknown, f"every dfaas_* metric queried is exported by the agent ({unknown})")
    for p in panels:
        if p.get("type") == "row":
            continue
        ds = p.get("datasource", {})
        t.check(isinstance(ds, dict) and ds.get("uid") == "${datasource}", f"panel {p['title']!r} uses the datasource variable")
        t.check(bool(p.get("targets")), f"panel {p['title']!r} has queries")
    promtool = shutil.which("promtool")
    if t.check(promtool is not None, "promtool available (Debian package prometheus) to parse the queries"):
        # label_values(SELECTOR, label) is Grafana's: check its selector.
        exprs = [re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", e) for e in exprs]
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query{i}",
             "expr": e.replace("$__rate_interval", "1m").replace("$instance", ".*").replace("$function", ".*")}
            for i, e in enumerate(exprs) if e]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        t.check(r.returncode == 0, f"every query is valid PromQL (promtool check rules){'' if r.returncode == 0 else ': ' + r.stdout + r.stderr}")
    titles = " ".join(p.get("title", "").lower() for p in panels)
    for topic in ("served", "reject", "peer", "recalculation"):
        t.check(topic in titles, f"a panel about {topic}")
    return None


def main():
    tests = {"manifests": test_manifests, "render": test_render, "schema": test_schema,
             "config-keys": test_config_keys, "dashboard": test_dashboard}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}", file=sys.stderr)
        sys.exit(2)
    t = dl.Failures()
    if tests[sys.argv[1]](t) == dl.SKIP:
        sys.exit(dl.SKIP)
    t.finish()


if __name__ == "__main__":
    main()
