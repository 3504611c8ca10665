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
  values-schema  the chart's values.schema.json: valid draft-07, values.yaml and every value set
               the deploy tests render pass it, its config keys and enums are the agent's, limits
               pass and limit + 1 is refused naming the key, deploy/render.sh refuses before
               rendering
  package      deploy/render.sh --package without helm: the archive's layout is helm package's
               and the packaged chart renders like the directory
  function-labels  docs/function-labels.md lists exactly the dfaas.* labels the agent reads, with
               the parser's ranges, and its faas-cli/stack.yml examples use valid values
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

EXTERNAL_SECRETS = ("basic-auth", "dfaas-cluster-key", "fed-key")


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
    "existing-secret": ["--set", "clusterKey.existingSecret=fed-key"],
}
KEEP = ("helm.sh/resource-policy", "keep")
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
                secrets = dl.find(docs, "Secret")
                t.check(len(secrets) == 1, "defaults: a cluster-key Secret is generated")
                t.check(all((s["metadata"].get("annotations") or {}).get(KEEP[0]) == KEEP[1] for s in secrets),
                        "defaults: the generated cluster key carries helm.sh/resource-policy: keep")
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
                secrets = dl.find(docs, "Secret")
                t.check(len(secrets) == 2, "seeds+token: cluster key and API token Secrets")
                t.check(all((s["metadata"].get("annotations") or {}).get(KEEP[0]) == KEEP[1] for s in secrets),
                        "seeds+token: both generated Secrets carry helm.sh/resource-policy: keep")
                t.check("AUTODETECT_INTERFACE" not in env and cfg["dataplane"]["interface"] == "ens3",
                        "seeds+token: an explicit interface disables the detection")
                t.check(any(m["name"] == "models" for m in agent["volumeMounts"]), "seeds+token: extra volume mounted")
            if name == "no-openfaas-auth":
                t.check(not any(m["name"] == "openfaas-auth" for m in agent["volumeMounts"]),
                        "no-openfaas-auth: no basic-auth Secret mounted")
            if name == "existing-secret":
                t.check(not dl.find(docs, "Secret"), "existing-secret: no Secret rendered (the key is not generated)")
                vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
                key_vol = vols.get("cluster-key", {}).get("secret", {})
                t.check(key_vol.get("secretName") == "fed-key" and
                        [i["key"] for i in key_vol.get("items", [])] == ["cluster-key"],
                        "existing-secret: the pod mounts the named Secret's cluster-key")
                t.check(any(m["name"] == "cluster-key" and
                            m["mountPath"] == os.path.dirname(cfg["peers"]["cluster_key_file"]) for m in agent["volumeMounts"]),
                        "existing-secret: mounted where peers.cluster_key_file points")
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
    docs_a = dl.parse_docs(dl.render("--namespace", "openfaas")[1])
    docs_b = dl.parse_docs(dl.render("--namespace", "openfaas", "--set", "config.strategy.period=20s")[1])
    a, b = dl.daemonset(docs_a), dl.daemonset(docs_b)
    # What docs/deploy.md tells GitOps users: without a cluster to look the old Secret up in (helm
    # template), every render generates another key.
    keys = [dl.secret_data(dl.find(d, "Secret")[0])["cluster-key"] for d in (docs_a, docs_b)]
    t.check(keys[0] != keys[1] and len(keys[0]) == 48, "each render without a cluster generates a new cluster key (GitOps: existingSecret)")
    ca = a["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    cb = b["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    t.check(ca != cb, "a configuration change changes checksum/config (pods roll)")
    return None


# ---- values.schema.json -------------------------------------------------------------------------

SCHEMA = os.path.join(dl.CHART, "values.schema.json")
# Wrong values, each refused through deploy/render.sh (what a user runs) naming the key.
REFUSED_BY_RENDER = {
    "a typo'd key": (["--set", "config.peers.listen_prot=29090"],
                     "config.peers.listen_prot: unknown key (did you mean 'listen_port'?)"),
    "a port 70000": (["--set", "config.peers.listen_port=70000"],
                     "config.peers.listen_port: 70000 is greater than the maximum of 65535"),
    "a strategy not in the enum": (["--set", "config.strategy.name=recalcc"],
                                   "config.strategy.name: 'recalcc' is not one of"),
}
# Limit and limit + 1 (checked in process, against the merged values).
AT_THE_LIMIT = {
    "peer port 65535": ["--set", "config.peers.listen_port=65535"],
    "peer port 1": ["--set", "config.peers.listen_port=1"],
    "api.listen port 65535": ["--set", "config.api.listen=0.0.0.0:65535"],
    "function ports 1-65535": ["--set", "config.dataplane.function_ports=1-65535"],
    "ct_entries 1024": ["--set", "config.dataplane.ct_entries=1024"],
    "ct_entries 16777216": ["--set", "config.dataplane.ct_entries=16777216"],
    "mtu 0": ["--set", "config.dataplane.mtu=0"],
    "mtu 576": ["--set", "config.dataplane.mtu=576"],
    "duration 1h30m": ["--set", "config.strategy.period=1h30m"],
    "duration 2.5 (seconds)": ["--set", "config.strategy.period=2.5"],
    "duration 1.5s": ["--set", "config.peers.control_tick=1.5s"],
    "reference strategy name": ["--set", "config.strategy.name=rlagentstrategy"],
    "node type 2": ["--set", "config.node.type=2"],
    "empty = the agent's default": ["--set", "config.dataplane.ct_entries=", "--set", "config.strategy.period="],
    "existing cluster-key Secret": ["--set", "clusterKey.existingSecret=fed-key"],
}
BEYOND_THE_LIMIT = {
    "peer port 65536": (["--set", "config.peers.listen_port=65536"], "config.peers.listen_port"),
    "peer port 0": (["--set", "config.peers.listen_port=0"], "config.peers.listen_port"),
    "api.listen port 65536": (["--set", "config.api.listen=0.0.0.0:65536"], "config.api.listen"),
    "function ports 1-65536": (["--set", "config.dataplane.function_ports=1-65536"], "config.dataplane.function_ports"),
    "ct_entries 1023": (["--set", "config.dataplane.ct_entries=1023"], "config.dataplane.ct_entries"),
    "ct_entries 16777217": (["--set", "config.dataplane.ct_entries=16777217"], "config.dataplane.ct_entries"),
    "mtu 575": (["--set", "config.dataplane.mtu=575"], "config.dataplane.mtu"),
    "duration 10x": (["--set", "config.strategy.period=10x"], "config.strategy.period"),
    "duration 1h30": (["--set", "config.strategy.period=1h30"], "config.strategy.period"),
    "negative duration": (["--set", "config.strategy.period=-3"], "config.strategy.period"),
    "seed without a port": (["--set", "config.peers.seeds={10.0.0.2}"], "config.peers.seeds[0]"),
    "log level verbose": (["--set", "config.log.level=verbose"], "config.log.level"),
    "unknown section": (["--set", "config.peer.listen_port=1"], "config.peer: unknown key (did you mean 'peers'?)"),
    "top-level typo": (["--set", "clusterkey.value=x"], "clusterkey: unknown key (did you mean 'clusterKey'?)"),
    "pullPolicy always": (["--set", "image.pullPolicy=always"], "image.pullPolicy"),
    "reject ratio 1.5": (["--set", "prometheusRule.rejectRatio=1.5"], "prometheusRule.rejectRatio"),
    "alert duration 5 minutes": (["--set", "prometheusRule.peerDownFor=5 minutes"], "prometheusRule.peerDownFor"),
    "probe typo": (["--set", "probes.liveness.periodSecond=5"], "probes.liveness.periodSecond: unknown key"),
    "Secret name with capitals": (["--set", "clusterKey.existingSecret=Fed-Key"], "clusterKey.existingSecret"),
}


# Durations the schema and the agent's parser must judge alike (positive, whole milliseconds: the
# minimums and the resolution are the agent's to check, not the schema's).
DURATION_SAMPLES = ["10s", "1h30m", "30s1m", "1.5s", ".5s", "5.", "500ms", "1000us", "1000µs",
                    "1000000ns", "2h", "10", "2.5", "+10s", "0" * 62 + "1s", "0" * 63 + "1s",
                    "10x", "1h30", "s", "1 s", "1h 30m", "1.2.3s", "1.5.5", ".", "-3s", "10S", "1d"]


def agent_accepts_duration(sample):
    """Whether dfaas-agent's configuration parser takes `sample` as a duration (it may refuse it
    for other reasons, e.g. against another key: only the grammar counts here)."""
    agent = os.path.join(dl.build_dir(), "bin", "dfaas-agent")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as cfg:
        cfg.write("{}\n")
        cfg.flush()
        r = subprocess.run([agent, "--config", cfg.name, "--check-config"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "AGENT_NODE_IP": "10.0.0.1",
                                "DFAAS_DATAPLANE_CT_TIMEOUTS_CLOSING": sample})
    grammar = ("is not a duration", "is negative", "not a positive duration", "too long", "finer than")
    return not any("ct_timeouts.closing" in line and any(g in line for g in grammar)
                   for line in (r.stdout + r.stderr).splitlines())


def schema_leaves(node, prefix=""):
    """Dotted paths of the leaves of the schema's properties: {path: leaf schema}."""
    out = {}
    for key, sub in (node.get("properties") or {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            out.update(schema_leaves(sub, path + "."))
        else:
            out[path] = sub
    return out


def schema_enum(leaf):
    """The strings a leaf's enum (or its alternatives' enums) allow, "" (unset) left out."""
    names = set()
    for part in [leaf] + leaf.get("anyOf", []):
        names |= {v for v in part.get("enum", []) if isinstance(v, str)}
    return names - {""}


def schema_refs(leaf):
    """The definitions a leaf uses ($ref directly or in allOf/anyOf)."""
    refs = set()
    for part in [leaf] + leaf.get("allOf", []) + leaf.get("anyOf", []):
        if "$ref" in part:
            refs.add(part["$ref"].rsplit("/", 1)[1])
    return refs


def test_values_schema(t):
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is not installed (scripts/setup.sh --profile deploy installs it)")
        return dl.SKIP
    with open(SCHEMA) as f:
        schema = json.load(f)
    try:
        jsonschema.Draft7Validator.check_schema(schema)
        ok = True
    except jsonschema.SchemaError as e:
        ok, schema_error = False, e
    if not t.check(ok, "values.schema.json is a valid draft-07 schema" + ("" if ok else f": {schema_error.message}")):
        return None
    validator = jsonschema.Draft7Validator(schema)

    def problems(values):
        return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(values)]

    values = dl.load_values()
    errs = problems(values)
    t.check(not errs, f"values.yaml matches values.schema.json ({errs[:3]})")
    t.check(schema.get("additionalProperties") is False, "unknown top-level values are refused (typos)")
    top = set(schema["properties"])
    t.check(top == set(values), f"the schema describes exactly values.yaml's top-level keys "
            f"(schema only {sorted(top - set(values))}, values only {sorted(set(values) - top)})")
    # config: one to one with the agent's keys, enums and kinds from the agent's key table.
    keys = {k["path"]: k for k in dl.config_keys()}
    leaves = schema_leaves(schema["properties"]["config"])
    t.check(set(leaves) == set(keys), f"schema's config keys = the agent's (schema only {sorted(set(leaves) - set(keys))}, "
            f"agent only {sorted(set(keys) - set(leaves))})")
    def open_objects(node, path):
        """Objects of the schema that list their properties but accept others too."""
        found = []
        if "properties" in node and node.get("additionalProperties") is not False:
            found.append(path)
        for key, sub in (node.get("properties") or {}).items():
            found += open_objects(sub, f"{path}.{key}" if path else key)
        for name, sub in (node.get("definitions") or {}).items():
            found += open_objects(sub, f"definitions.{name}")
        return found
    unclosed = open_objects(schema, "")
    t.check(not unclosed, f"every object the schema describes key by key refuses unknown keys ({unclosed})")
    for path, key in keys.items():
        leaf = leaves.get(path)
        if leaf is None:
            continue
        kind = key["type"]
        if kind.startswith("enum: "):
            canonical = set(re.split(r"[|\s()]+", kind[len("enum: "):])) - {"", "or"}
            got = schema_enum(leaf) or set()
            aliases = got - canonical
            undocumented = {a for a in aliases if a not in key["description"]}
            t.check(canonical <= got and not undocumented,
                    f"{path}: enum {sorted(got)} has the agent's names {sorted(canonical)}, other names only "
                    f"the aliases its description gives ({sorted(undocumented)} not)")
        want_ref = {"duration": "duration", "port": "port", "ip:port": "endpoint", "URL": "url"}.get(kind)
        if want_ref:
            t.check(want_ref in schema_refs(leaf), f"{path} ({kind}) uses definitions/{want_ref} ({sorted(schema_refs(leaf))})")

    duration = jsonschema.Draft7Validator({"$ref": "#/definitions/duration", "definitions": schema["definitions"]})
    differ = [f"{d!r}: schema {duration.is_valid(d)}, agent {agent_accepts_duration(d)}"
              for d in DURATION_SAMPLES if duration.is_valid(d) != agent_accepts_duration(d)]
    t.check(not differ, f"definitions/duration takes the {len(DURATION_SAMPLES)} sample durations as the agent's parser does ({differ})")

    if not dl.renderer_available():
        return None
    # Every value set the deploy tests render is valid (the template's own refusals included:
    # their messages are the ones users should see, not a schema error).
    import monitoring_test  # noqa: E402 (imports this module: not at the top)
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/seeds.yaml", "w") as f:
            f.write(SEEDS_VALUES)
        sets = {"manifests/values.yaml": ["-f", os.path.join(dl.REPO, "deploy", "manifests", "values.yaml")]}
        sets.update({f"render: {n}": [a.replace("{tmp}", tmp) for a in args] for n, args in VARIANTS.items()})
        sets.update({f"render, refused by the template: {n}": args for n, (args, _) in INVALID.items()})
        sets.update(monitoring_test.VALUE_SETS)
        sets.update({f"limit: {n}": args for n, args in AT_THE_LIMIT.items()})
        for name, args in sets.items():
            errs = problems(dl.merged_values(*args))
            t.check(not errs, f"{name}: valid ({errs[:3]})")
    # The lines deploy/tools/check_values.py prints (in process: one python start for all).
    sys.path.insert(0, os.path.join(dl.REPO, "deploy", "tools"))
    import check_values  # noqa: E402
    for name, (args, where) in BEYOND_THE_LIMIT.items():
        lines = [line for e in validator.iter_errors(dl.merged_values(*args)) for line in check_values.describe(e, schema)]
        t.check(any(line.startswith(where) for line in lines), f"refused: {name}, naming {where} ({'; '.join(lines)[:160]})")
    for name, (args, message) in REFUSED_BY_RENDER.items():
        rc, out, err = dl.render("--namespace", "openfaas", *args, check_schema=True)
        t.check(rc != 0 and message in err and not out.strip(),
                f"deploy/render.sh refuses {name} before rendering ({err.strip()[:160]})")
    return None


# ---- packaging ----------------------------------------------------------------------------------

def test_package(t):
    import tarfile
    if not dl.renderer_available():
        return dl.SKIP
    with open(os.path.join(dl.CHART, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    for field in ("name", "version", "appVersion", "description", "maintainers"):
        t.check(bool(meta.get(field)), f"Chart.yaml has {field}")
    t.check(all(m.get("name") for m in meta.get("maintainers") or [{}]), "every maintainer has a name")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DFAAS_NO_HELM": "1"}
        r = subprocess.run([dl.RENDER, "--package", tmp], capture_output=True, text=True, env=env)
        archive = os.path.join(tmp, f"{meta['name']}-{meta['version']}.tgz")
        if not t.check(r.returncode == 0 and os.path.isfile(archive),
                       f"deploy/render.sh --package writes {os.path.basename(archive)} without helm ({r.stderr.strip()[-300:]})"):
            return None
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            t.check(all(n.startswith("dfaas/") for n in names), "every entry under the chart's folder dfaas/")
            t.check(names[:3] == ["dfaas/Chart.yaml", "dfaas/values.yaml", "dfaas/values.schema.json"],
                    f"Chart.yaml first, then values.yaml and values.schema.json, as helm package ({names[:3]})")
            templates = [n for n in names if n.startswith("dfaas/templates/")]
            first_other = next((i for i, n in enumerate(names[3:], 3) if not n.startswith("dfaas/templates/")), len(names))
            t.check(names[3:3 + len(templates)] == sorted(templates) and first_other == 3 + len(templates),
                    "then the templates in lexical order, then the other files")
            t.check(all(m.isreg() and m.mode == 0o644 for m in members), "regular files only, mode 0644 (no links, no directories)")
            want = set()
            for dirpath, _, files in os.walk(dl.CHART, followlinks=True):
                want |= {"dfaas/" + os.path.relpath(os.path.join(dirpath, f), dl.CHART) for f in files}
            t.check(set(names) == want and len(names) == len(set(names)), f"every chart file once "
                    f"(missing {sorted(want - set(names))}, extra {sorted(set(names) - want)})")
            dash = tar.extractfile("dfaas/dashboards/dfaas.json").read()
            with open(os.path.join(dl.REPO, "deploy", "grafana", "dfaas.json"), "rb") as f:
                t.check(dash == f.read(), "the dashboard link is stored as the file it points to")
            tar.extractall(os.path.join(tmp, "x"))
        packaged = os.path.join(tmp, "x", "dfaas")
        bin_path = subprocess.run([dl.RENDER, "--build"], check=True, capture_output=True, text=True).stdout.strip()
        for name, args in (("defaults", []), ("monitoring on", ["--set", "metrics.podMonitor.enabled=true",
                                                                "--set", "grafanaDashboard.enabled=true"])):
            outs = [subprocess.run([bin_path, "--chart", c, "--namespace", "openfaas", "--set", "clusterKey.value=" + "k" * 32,
                                    *args], capture_output=True, text=True) for c in (dl.CHART, packaged)]
            t.check(outs[0].returncode == 0 and outs[0].stdout == outs[1].stdout,
                    f"{name}: the packaged chart renders like the directory" + ("" if outs[0].stdout == outs[1].stdout else f": {outs[1].stderr[:200]}"))
        # .helmignore applies (its *.bak rule, Helm's hidden files under templates/); a rule this
        # packager does not implement is refused, not ignored.
        copy = os.path.join(tmp, "copy", "dfaas")
        shutil.copytree(dl.CHART, copy)
        for junk in ("values.yaml.bak", "templates/.daemonset.yaml.swp", "templates/old.tmp"):
            with open(os.path.join(copy, junk), "w") as f:
                f.write("junk\n")
        packager = os.path.join(dl.REPO, "deploy", "tools", "package_chart.py")
        r = subprocess.run(["/usr/bin/python3", packager, copy, os.path.join(tmp, "out")], capture_output=True, text=True)
        if t.check(r.returncode == 0, f"package a copy with junk files ({r.stderr.strip()})"):
            with tarfile.open(os.path.join(tmp, "out", archive.rsplit("/", 1)[1]), "r:gz") as tar:
                junk = [n for n in tar.getnames() if n.endswith((".bak", ".swp", ".tmp"))]
            t.check(not junk, f".helmignore and Helm's hidden-file rule leave junk out ({junk})")
        with open(os.path.join(copy, ".helmignore"), "a") as f:
            f.write("!keep.bak\n")
        r = subprocess.run(["/usr/bin/python3", packager, copy, os.path.join(tmp, "out")], capture_output=True, text=True)
        t.check(r.returncode == 1 and "'!keep.bak'" in r.stderr, f"a .helmignore rule not implemented is refused ({r.stderr.strip()})")
    return None


# ---- docs/function-labels.md --------------------------------------------------------------------

LABEL_SOURCES = ("userspace/clients/include/dfaas/clients/openfaas.h", "strategies/include/dfaas/strategy/types.h")


def label_rules():
    """The dfaas.* labels the code reads, with the parser's rule for each value:
    {label: (kind, min, max) or ("enum", names)}, taken from userspace/clients/src/openfaas_parse.cpp."""
    names = set()
    for rel in LABEL_SOURCES:
        with open(os.path.join(dl.REPO, rel)) as f:
            names |= set(re.findall(r'kLabel\w+\s*=\s*"(dfaas\.[a-z_]+)"', f.read()))
    with open(os.path.join(dl.REPO, "userspace", "clients", "src", "openfaas_parse.cpp")) as f:
        parser = f.read()
    constants = {}
    with open(os.path.join(dl.REPO, LABEL_SOURCES[0])) as f:
        for const, label in re.findall(r'(kLabel\w+)\s*=\s*"(dfaas\.[a-z_]+)"', f.read()):
            constants[const] = label
    rules = {}
    for const, minimum, reason in re.findall(r'read_unsigned_label\(labels,\s*(kLabel\w+),\s*(\d+),\s*"([^"]*)"', parser):
        rules[constants[const]] = ("unsigned", int(minimum), reason)
    # The group names, wherever the parsers spell them (strategies, clients, common).
    groups = set()
    for top in ("strategies", os.path.join("userspace", "clients"), os.path.join("userspace", "common")):
        for dirpath, _, files in os.walk(os.path.join(dl.REPO, top)):
            for name in files:
                if name.endswith((".cpp", ".h")) and "test" not in name:
                    with open(os.path.join(dirpath, name)) as f:
                        groups |= set(re.findall(r'"([A-Z]+_USAGE)"', f.read()))
    rules["dfaas.group"] = ("enum", sorted(groups))
    return names, rules


def test_function_labels(t):
    path = os.path.join(dl.REPO, "docs", "function-labels.md")
    with open(path) as f:
        page = f.read()
    names, rules = label_rules()
    t.check(len(names) >= 4, f"the agent reads {sorted(names)}")
    listed = set(re.findall(r"^\| `(dfaas\.[a-z_]+)` \|", page, re.M))
    t.check(listed == names, f"the reference lists every label the agent reads (missing {sorted(names - listed)}, "
            f"extra {sorted(listed - names)})")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(dfaas\.[a-z_]+)` \|.*$", page, re.M)}
    for label, rule in rules.items():
        row = rows.get(label, "")
        if rule[0] == "unsigned":
            rng = re.search(r"in (\d+\.\.\d+)", rule[2]).group(1)
            t.check(f"`{rng}`" in row and rng.startswith(str(rule[1])), f"{label}: the page gives the parser's range {rng}")
        else:
            t.check(len(rule[1]) == 3 and all(f"`{g}`" in row for g in rule[1]), f"{label}: the page names the groups {rule[1]}")
    # The examples: every dfaas.* label they set is one the agent reads, with a value it accepts.
    blocks = re.findall(r"```(\w+)\n(.*?)```", page, re.S)
    examples = []
    for lang, body in blocks:
        if lang == "yaml":
            stack = yaml.safe_load(body)
            for fn, spec in stack["functions"].items():
                for k, v in (spec.get("labels") or {}).items():
                    t.check(isinstance(v, str), f"stack.yml {fn}: {k} is a string (faas-cli wants string labels)")
                    examples.append((f"stack.yml {fn}", k, str(v)))
        elif lang == "sh":
            examples += [("faas-cli", k, v) for k, v in re.findall(r"--label (dfaas\.[a-z_]+)=(\S+)", body)]
    t.check(len(examples) >= 6 and any(src == "faas-cli" for src, _, _ in examples),
            f"the page has faas-cli --label and stack.yml examples ({len(examples)} labels)")
    for src, k, v in examples:
        rule = rules.get(k)
        if rule is None:
            t.check(False, f"{src}: {k} is not a label the agent reads")
        elif rule[0] == "unsigned":
            hi = int(re.search(r"\.\.(\d+)", rule[2]).group(1))
            t.check(v.isdigit() and rule[1] <= int(v) <= hi, f"{src}: {k}={v} is in {rule[1]}..{hi}")
        else:
            t.check(v in rule[1], f"{src}: {k}={v} is one of {rule[1]}")
        if k == "dfaas.port":
            lo, hi = (int(x) for x in dl.load_values()["config"]["dataplane"]["function_ports"].split("-"))
            t.check(lo <= int(v) <= hi, f"{src}: dfaas.port {v} is inside the chart's function ports {lo}-{hi}")
    with open(os.path.join(dl.REPO, "docs", "deploy.md")) as f:
        t.check("(function-labels.md)" in f.read(), "docs/deploy.md links the page")
    return None


# ---- schema check against python3-kubernetes' API models ----------------------------------------

def test_schema(t):
    try:
        from kubernetes import client  # noqa: F401
        from kubernetes.client import models
    except ImportError:
        print("python3-kubernetes is not installed (scripts/setup.sh --profile deploy installs it)")
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
             "config-keys": test_config_keys, "dashboard": test_dashboard,
             "values-schema": test_values_schema, "package": test_package,
             "function-labels": test_function_labels}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}", file=sys.stderr)
        sys.exit(2)
    t = dl.Failures()
    if tests[sys.argv[1]](t) == dl.SKIP:
        sys.exit(dl.SKIP)
    t.finish()


if __name__ == "__main__":
    main()
