"""Shared helpers of the deployment tests (tests/deploy/): rendering the chart, loading manifests
and the agent's key table, the structural checks of the rendered objects, and a small emulation
of what the kubelet does with the DaemonSet's pod (files of volumes, environment, command).

Runs with Debian's /usr/bin/python3 and python3-yaml only.
"""
import base64
import json
import os
import re
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHART = os.path.join(REPO, "deploy", "helm", "dfaas")
MANIFESTS = os.path.join(REPO, "deploy", "manifests", "dfaas.yaml")
RENDER = os.path.join(REPO, "deploy", "render.sh")
# ctest SKIP_RETURN_CODE when a tool is missing; in CI (CI, or DFAAS_TESTS_REQUIRE_ROOT=1 as
# scripts/test.sh sets it) a missing tool fails instead, as scripts/lib/require_tools.sh does.
SKIP = 1 if os.environ.get("CI") or os.environ.get("DFAAS_TESTS_REQUIRE_ROOT") == "1" else 77

# Variables the chart sets that are not agent keys: read by the entrypoint.
ENTRYPOINT_ENV = {"AUTODETECT_INTERFACE"}
ENTRYPOINT = "/usr/local/bin/dfaas-entrypoint"
NODEPORT_RANGE = (30000, 32767)


class Failures:
    """Collects check results; prints one line per check, TAP-like."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok   - {what}")
        else:
            self.failed += 1
            print(f"FAIL - {what}")
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


# ---- inputs -------------------------------------------------------------------------------------

def build_dir():
    return os.environ.get("DFAAS_BUILD_DIR", os.path.join(REPO, "build"))


def config_keys():
    """The agent's key table: [{path, env, default, type, description}] from dfaas-config-keys."""
    tool = os.environ.get("DFAAS_CONFIG_KEYS",
                          os.path.join(build_dir(), "userspace", "agent", "config", "dfaas-config-keys"))
    out = subprocess.run([tool, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def leaf_paths(tree, prefix=""):
    """Dotted paths of the leaves of a nested mapping (lists and scalars are leaves)."""
    paths = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.update(leaf_paths(value, path + "."))
        else:
            paths[path] = value
    return paths


def load_values():
    with open(os.path.join(CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def renderer_available():
    r = subprocess.run([RENDER, "--build"], capture_output=True, text=True)
    if r.returncode == 0:
        return True
    if r.returncode == 77:  # render.sh: Go or the sprig/yaml.v2 sources missing
        print(r.stderr.strip() + " (scripts/setup.sh --profile deploy installs them)")
        return False
    raise RuntimeError("building the renderer failed:\n" + r.stderr)


def render(*args, check_schema=False):
    """Renders the chart (deploy/render.sh -- ARGS); returns (returncode, stdout, stderr).
    The values are checked against values.schema.json only with check_schema (a python start
    per render: deploy.values-schema checks every test's value sets in one process instead)."""
    env = dict(os.environ)
    if check_schema:
        env.pop("DFAAS_RENDER_SKIP_SCHEMA", None)
    else:
        env["DFAAS_RENDER_SKIP_SCHEMA"] = "1"
    r = subprocess.run([RENDER, "--", *args], capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr


_renderer = None


def merged_values(*args):
    """The values the chart would be rendered with (defaults, -f files, --set), as Helm merges
    them: what Helm checks against values.schema.json. Needs the renderer."""
    global _renderer
    if _renderer is None:
        _renderer = subprocess.run([RENDER, "--build"], check=True, capture_output=True, text=True).stdout.strip()
    r = subprocess.run([_renderer, "--chart", CHART, *args, "--print-values"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"merging values {args}: {r.stderr}")
    return json.loads(r.stdout)


def parse_docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def load_manifests(path=MANIFESTS):
    with open(path) as f:
        return parse_docs(f.read())


def find(docs, kind, name=None):
    found = [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def daemonset(docs):
    ds = find(docs, "DaemonSet")
    assert len(ds) == 1, f"expected one DaemonSet, found {len(ds)}"
    return ds[0]


def agent_container(ds):
    return next(c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "agent")


def agent_config(docs, ds):
    """The agent.yaml of the ConfigMap the DaemonSet mounts at DFAAS_CONFIG's directory."""
    c = agent_container(ds)
    cfg_path = config_arg(c)
    mount = next(m for m in c["volumeMounts"] if cfg_path.startswith(m["mountPath"].rstrip("/") + "/"))
    vol = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    cm = find(docs, "ConfigMap", vol["configMap"]["name"])[0]
    key = os.path.relpath(cfg_path, mount["mountPath"])
    return yaml.safe_load(cm["data"][key])


def config_arg(container):
    """The file given to --config in the container's arguments."""
    args = list(container.get("command", [])) + list(container.get("args", []))
    return args[args.index("--config") + 1]


def secret_data(secret):
    out = {}
    for k, v in (secret.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode()
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = v
    return out


# ---- structural checks --------------------------------------------------------------------------

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
API_VERSIONS = {"ServiceAccount": "v1", "Secret": "v1", "ConfigMap": "v1", "DaemonSet": "apps/v1",
                "Service": "v1", "ClusterRole": "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding": "rbac.authorization.k8s.io/v1", "Job": "batch/v1"}


def port_of(hostport):
    return int(str(hostport).rsplit(":", 1)[1])


def check_manifests(docs, keys, t, label, external_secrets=(), defaults_policy=False):
    """Checks the objects of one render against each other, the agent's key table and the
    Kubernetes fields they use. external_secrets: Secrets expected to exist in the cluster."""
    env_names = {e for k in keys for e in k["env"]}
    names = {}
    for d in docs:
        kind = d.get("kind")
        meta = d.get("metadata") or {}
        t.check(kind in API_VERSIONS and d.get("apiVersion") == API_VERSIONS[kind],
                f"{label}: {kind} {meta.get('name')} has a known kind and apiVersion {d.get('apiVersion')}")
        t.check(bool(meta.get("name")) and DNS1123.match(meta["name"]) and len(meta["name"]) <= 63,
                f"{label}: {kind} name {meta.get('name')!r} is a DNS-1123 label")
        t.check(bool(meta.get("namespace")), f"{label}: {kind} {meta.get('name')} has a namespace")
        for lk, lv in (meta.get("labels") or {}).items():
            if not (isinstance(lv, str) and len(lv) <= 63):
                t.check(False, f"{label}: label {lk}={lv!r} is a string of at most 63 characters")
        names.setdefault(kind, set()).add(meta.get("name"))
        if kind == "Secret":
            try:
                secret_data(d)
                ok = True
            except Exception:  # noqa: BLE001
                ok = False
            t.check(ok, f"{label}: Secret {meta.get('name')} data is base64")

    ds = daemonset(docs)
    pod = ds["spec"]["template"]
    spec = pod["spec"]
    sel = ds["spec"]["selector"]["matchLabels"]
    t.check(all(pod["metadata"]["labels"].get(k) == v for k, v in sel.items()),
            f"{label}: selector matches the pod template's labels")
    t.check(spec.get("hostNetwork") is True, f"{label}: hostNetwork")
    t.check(spec.get("dnsPolicy") == "ClusterFirstWithHostNet",
            f"{label}: dnsPolicy ClusterFirstWithHostNet (cluster names resolve with host network)")
    t.check(spec.get("serviceAccountName") in names.get("ServiceAccount", set()) | {"default"},
            f"{label}: serviceAccountName {spec.get('serviceAccountName')} exists")
    grace = spec.get("terminationGracePeriodSeconds")
    t.check(isinstance(grace, int) and grace >= 5, f"{label}: terminationGracePeriodSeconds {grace}")
    t.check(ds["spec"].get("updateStrategy", {}).get("type") == "RollingUpdate",
            f"{label}: rolling update")
    t.check(any(tol.get("operator") == "Exists" for tol in spec.get("tolerations") or []),
            f"{label}: tolerates every taint (one agent per node)")

    volumes = {v["name"]: v for v in spec["volumes"]}
    t.check(len(volumes) == len(spec["volumes"]), f"{label}: volume names unique")
    containers = spec.get("initContainers", []) + spec["containers"]
    used = set()
    for c in containers:
        sc = c.get("securityContext") or {}
        privileged = sc.get("privileged") is True
        for m in c.get("volumeMounts", []):
            used.add(m["name"])
            t.check(m["name"] in volumes, f"{label}: {c['name']} mount {m['name']} has a volume")
            if m.get("mountPropagation") == "Bidirectional":
                t.check(privileged, f"{label}: {c['name']}: Bidirectional propagation only when privileged")
        t.check(c["command"][0] == ENTRYPOINT, f"{label}: {c['name']} runs the image's entrypoint")
    t.check(used == set(volumes), f"{label}: every volume is mounted ({sorted(set(volumes) - used)} unused)")
    for name, v in volumes.items():
        if "configMap" in v:
            t.check(v["configMap"]["name"] in names.get("ConfigMap", set()),
                    f"{label}: volume {name}: ConfigMap {v['configMap']['name']} is rendered")
        if "secret" in v:
            sname = v["secret"]["secretName"]
            rendered = find(docs, "Secret", sname)
            if rendered:
                data = secret_data(rendered[0])
                for item in v["secret"].get("items", []):
                    t.check(item["key"] in data, f"{label}: Secret {sname} has key {item['key']}")
            else:
                t.check(sname in external_secrets,
                        f"{label}: volume {name}: Secret {sname} rendered or expected in the cluster")
        if "hostPath" in v:
            # The pin directory alone is unchecked when the init container creates it (the kubelet
            # checks types before init containers run).
            unchecked_ok = name == "bpf-pins" and "initContainers" in spec
            t.check(v["hostPath"].get("type") in ("Directory", "DirectoryOrCreate") or
                    (unchecked_ok and v["hostPath"].get("type") == ""),
                    f"{label}: hostPath {v['hostPath']['path']} has a type")

    agent = agent_container(ds)
    cfg = agent_config(docs, ds)
    sc = agent.get("securityContext") or {}
    if sc.get("privileged"):
        t.check(True, f"{label}: agent privileged")
    else:
        caps = sc.get("capabilities") or {}
        t.check(caps.get("drop") == ["ALL"], f"{label}: agent drops all capabilities")
        t.check({"BPF", "NET_ADMIN", "PERFMON"} <= set(caps.get("add") or []),
                f"{label}: agent adds BPF, NET_ADMIN, PERFMON ({caps.get('add')})")
        t.check(sc.get("allowPrivilegeEscalation") is False, f"{label}: allowPrivilegeEscalation false")
        if "initContainers" in spec:
            init = spec["initContainers"][0]
            t.check((init.get("securityContext") or {}).get("privileged") is True,
                    f"{label}: bpffs init container is privileged (mount + Bidirectional)")

    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}

    def mounted_file(path, what):
        """path must be mountPath/item of a secret or a file under a mounted volume."""
        for mp, m in mounts.items():
            if path.startswith(mp.rstrip("/") + "/"):
                v = volumes[m["name"]]
                rel = os.path.relpath(path, mp)
                if "secret" in v and "items" in v["secret"]:
                    ok = rel in [i["path"] for i in v["secret"]["items"]]
                    return t.check(ok, f"{label}: {what} {path} is an item of Secret {v['secret']['secretName']}")
                return t.check(True, f"{label}: {what} {path} is under the mount {mp}")
        return t.check(False, f"{label}: {what} {path} is inside a mounted volume")

    mounted_file(cfg["dataplane"]["bpffs"] + "/x", "dataplane.bpffs")
    pins = cfg["dataplane"]["bpffs"]
    bpf_mount = next(mp for mp in mounts if pins == mp or pins.startswith(mp + "/"))
    t.check(volumes[mounts[bpf_mount]["name"]].get("hostPath", {}).get("path") == bpf_mount,
            f"{label}: the bpffs directory is the host's ({bpf_mount}), so pins outlive the pod")
    t.check(bpf_mount == cfg["dataplane"]["bpffs"],
            f"{label}: the agent mounts only its pin directory of the host's bpffs ({bpf_mount})")
    t.check("/sys/kernel/btf" in mounts and mounts["/sys/kernel/btf"].get("readOnly") is True,
            f"{label}: /sys/kernel/btf mounted read-only")
    mounted_file(cfg["node"]["id_file"], "node.id_file")
    t.check("hostPath" in volumes[mounts[os.path.dirname(cfg["node"]["id_file"])]["name"]]
            if os.path.dirname(cfg["node"]["id_file"]) in mounts else False,
            f"{label}: node.id_file's directory is a hostPath (the id survives restarts)")
    for key in (("peers", "cluster_key_file"), ("openfaas", "password_file"), ("api", "token_file")):
        value = cfg[key[0]][key[1]]
        if value:
            mounted_file(value, ".".join(key))

    env = agent.get("env", [])
    seen = []
    for e in env:
        n = e["name"]
        if n.startswith(("DFAAS_", "AGENT_")):
            t.check(n in env_names or n in ENTRYPOINT_ENV, f"{label}: env {n} is an agent key's variable")
        for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value") or ""):
            t.check(ref in seen, f"{label}: env {n} refers to $({ref}) defined before it")
        seen.append(n)
    node_ip = next((e for e in env if e["name"] == "AGENT_NODE_IP"), None)
    t.check(node_ip is not None and node_ip.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.hostIP",
            f"{label}: AGENT_NODE_IP from the downward API status.hostIP")
    cfg_file = config_arg(agent)
    t.check(os.path.dirname(cfg_file) in mounts and "configMap" in volumes[mounts[os.path.dirname(cfg_file)]["name"]],
            f"{label}: --config {cfg_file} is a file of the mounted ConfigMap")

    api_port = port_of(cfg["api"]["listen"])
    peer_port = int(cfg["peers"]["listen_port"])
    # The probes go to the health listener (its own threads): a flood on the API cannot fail them.
    health_port = port_of(cfg["api"]["health_listen"])
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        p = agent.get(probe, {}).get("httpGet", {})
        t.check(p.get("path") == path and int(p.get("port", 0)) == health_port,
                f"{label}: {probe} GET {path} on the health port {health_port}")
    ports = {p["name"]: p for p in agent.get("ports", [])}
    t.check(int(ports.get("api", {}).get("containerPort", 0)) == api_port, f"{label}: container port api = {api_port}")
    t.check(int(ports.get("peers", {}).get("containerPort", 0)) == peer_port, f"{label}: container port peers = {peer_port}")
    entry = cfg.get("entry") or {}
    if entry.get("enabled", True):
        t.check(int(ports.get("entry", {}).get("containerPort", 0)) == int(entry.get("port", 30080)),
                f"{label}: container port entry = {entry.get('port', 30080)}")
    else:
        t.check("entry" not in ports, f"{label}: no entry container port while the entry is off")
    ann = pod["metadata"].get("annotations") or {}
    if ann.get("prometheus.io/scrape") == "true":
        t.check(ann.get("prometheus.io/port") == str(api_port) and ann.get("prometheus.io/path") == "/metrics",
                f"{label}: Prometheus scrape annotations point at {api_port}/metrics")
    t.check(re.fullmatch(r"[0-9a-f]{64}", str(ann.get("checksum/config", ""))) is not None,
            f"{label}: checksum/config annotation rolls pods on config changes")
    limits = (agent.get("resources") or {}).get("limits") or {}
    t.check("cpu" not in limits, f"{label}: no CPU limit on the data-plane controller")

    first, last = (int(x) for x in str(cfg["dataplane"]["function_ports"]).split("-"))
    for name, port in (("api", api_port), ("peers", peer_port)):
        t.check(not first <= port <= last, f"{label}: {name} port {port} outside function ports {first}-{last}")
    if defaults_policy:
        lo, hi = NODEPORT_RANGE
        for name, (a, b) in (("api", (api_port, api_port)), ("peers", (peer_port, peer_port)),
                             ("function ports", (first, last))):
            t.check(b < lo or a > hi, f"{label}: {name} {a}-{b} outside the NodePort range {lo}-{hi}")
    return cfg


# ---- kubelet emulation --------------------------------------------------------------------------

def emulate_pod(docs, root, node_ip, node_name, external_secrets, identity_paths=("/sys/kernel/btf",)):
    """Lays out the agent container's volumes under root the way the kubelet would mount them,
    and returns what is needed to run the container here:
      {"env": {..}, "command": [..], "init_command": [..] or None, "capabilities": [..],
       "privileged": bool, "config": path of the agent.yaml written, "map": {mountPath: dir}}
    Container paths inside mounted volumes are rewritten to their place under root (config values
    and environment values alike). hostPath volumes in identity_paths are used as they are.
    external_secrets: {secretName: {key: value}} for Secrets not in the render."""
    ds = daemonset(docs)
    spec = ds["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    agent = agent_container(ds)
    mapping = {}
    for m in agent["volumeMounts"]:
        v = volumes[m["name"]]
        mp = m["mountPath"]
        if "hostPath" in v and v["hostPath"]["path"] in identity_paths:
            mapping[mp] = v["hostPath"]["path"]
            continue
        target = os.path.join(root, mp.lstrip("/"))
        if "hostPath" in v:
            target = os.path.join(root, "host", v["hostPath"]["path"].lstrip("/"))
        mapping[mp] = target
        os.makedirs(target, exist_ok=True)

    def remap(value):
        if not isinstance(value, str):
            return value
        for mp in sorted(mapping, key=len, reverse=True):
            if value == mp or value.startswith(mp.rstrip("/") + "/"):
                return mapping[mp] + value[len(mp):]
        return value

    def remap_tree(tree):
        if isinstance(tree, dict):
            return {k: remap_tree(v) for k, v in tree.items()}
        if isinstance(tree, list):
            return [remap_tree(v) for v in tree]
        return remap(tree)

    config_written = None
    for m in agent["volumeMounts"]:
        v = volumes[m["name"]]
        target = mapping[m["mountPath"]]
        if "configMap" in v:
            cm = find(docs, "ConfigMap", v["configMap"]["name"])[0]
            for key, text in cm["data"].items():
                content = yaml.safe_load(text)
                path = os.path.join(target, key)
                with open(path, "w") as f:
                    yaml.safe_dump(remap_tree(content), f, sort_keys=False)
                config_written = path
        elif "secret" in v:
            sname = v["secret"]["secretName"]
            rendered = find(docs, "Secret", sname)
            data = secret_data(rendered[0]) if rendered else external_secrets[sname]
            items = v["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                path = os.path.join(target, item["path"])
                with open(path, "w") as f:
                    f.write(data[item["key"]])
                os.chmod(path, v["secret"].get("defaultMode", 0o644))

    fields = {"status.hostIP": node_ip, "spec.nodeName": node_name, "status.podIP": node_ip}
    env = {}
    for e in agent.get("env", []):
        if "valueFrom" in e:
            value = fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                           lambda mt: env.get(mt.group(1), mt.group(0)), e.get("value") or "")
        env[e["name"]] = remap(value)

    def command_of(c):
        cmd = list(c.get("command", [])) + list(c.get("args", []))
        return [remap(x) for x in cmd]

    init = spec.get("initContainers") or []
    init_cmd = None
    if init:
        # The init container mounts the bpffs volume; its paths map like the agent's.
        init_map = {}
        for m in init[0].get("volumeMounts", []):
            v = volumes[m["name"]]
            init_map[m["mountPath"]] = (os.path.join(root, "host", v["hostPath"]["path"].lstrip("/"))
                                        if "hostPath" in v else os.path.join(root, m["mountPath"].lstrip("/")))
        def init_remap(x):
            if x in init_map:
                return init_map[x]
            # A path inside a mount (the pin directory inside the bpffs mount).
            for mp, target in init_map.items():
                if x.startswith(mp.rstrip("/") + "/"):
                    return target + x[len(mp.rstrip("/")):]
            return x
        init_cmd = [init_remap(x) for x in init[0]["command"] + init[0].get("args", [])]
    sc = agent.get("securityContext") or {}
    return {
        "env": env,
        "command": command_of(agent),
        "init_command": init_cmd,
        "capabilities": list((sc.get("capabilities") or {}).get("add") or []),
        "privileged": bool(sc.get("privileged")),
        "config": config_written,
        "map": mapping,
    }
