#!/usr/bin/python3
"""Monitoring with the Prometheus Operator (issue 16): the chart's PodMonitor, ServiceMonitor,
PrometheusRule and Grafana dashboard ConfigMap.

  - off by default: the default render has none of them;
  - on: the monitors select the agent pods and scrape the container port named api; the
    Service behind the ServiceMonitor selects the same pods; extra labels (the Prometheus'
    selector) are passed; a loopback api.listen is refused (Prometheus could not scrape it);
  - the dashboard ConfigMap carries the sidecar label and exactly deploy/grafana/dfaas.json;
  - the rules: `promtool check rules`, every metric they use is exported by the agent, thresholds
    come from the values, and `promtool test rules` with tests/deploy/alerts_test.yaml fires
    every alert of the chart on synthetic series (and checks near-misses that must not fire).

Exit 77 (skipped) when the renderer (Go + sprig) or promtool is missing.
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
from chart_test import exported_metrics  # noqa: E402

import yaml  # noqa: E402

ALL_ON = ["--set", "metrics.podMonitor.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
          "--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true"]
LABELS_AND_THRESHOLDS = ALL_ON + [
    "--set", "metrics.podMonitor.labels.release=kps", "--set", "metrics.serviceMonitor.labels.release=kps",
    "--set", "prometheusRule.labels.release=kps", "--set", "prometheusRule.rejectRatio=0.5",
    "--set", "grafanaDashboard.namespace=monitoring"]
LOOPBACK_API = {monitor: ["--set", f"metrics.{monitor}.enabled=true", "--set", "config.api.listen=127.0.0.1:9080"]
                for monitor in ("podMonitor", "serviceMonitor")}
# Every value set this test renders (deploy.values-schema checks them against values.schema.json).
VALUE_SETS = {"monitoring: all on": ALL_ON, "monitoring: labels and thresholds": LABELS_AND_THRESHOLDS,
              **{f"monitoring: {m} with a loopback API": a for m, a in LOOPBACK_API.items()}}
MONITORING_KINDS = ("PodMonitor", "ServiceMonitor", "PrometheusRule", "Service")
ALERT_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alerts_test.yaml")


def render_docs(t, what, *args):
    rc, out, err = dl.render("--namespace", "openfaas", *args)
    if not t.check(rc == 0, f"render {what}" + ("" if rc == 0 else f": {err.strip()[:300]}")):
        return None
    return dl.parse_docs(out)


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_objects(t, docs):
    ds = dl.daemonset(docs)
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p["containerPort"] for p in dl.agent_container(ds)["ports"]}
    pm = dl.find(docs, "PodMonitor")
    if t.check(len(pm) == 1, "one PodMonitor"):
        spec = pm[0]["spec"]
        t.check(pm[0]["apiVersion"] == "monitoring.coreos.com/v1", "PodMonitor apiVersion monitoring.coreos.com/v1")
        t.check(selects(spec["selector"]["matchLabels"], pod_labels), "PodMonitor selects the agent pods")
        t.check(spec["namespaceSelector"]["matchNames"] == ["openfaas"], "PodMonitor looks in the release namespace")
        ep = spec["podMetricsEndpoints"][0]
        t.check(ep["port"] in ports and ep["path"] == "/metrics", f"PodMonitor scrapes /metrics on port {ep['port']!r}")
    sm = dl.find(docs, "ServiceMonitor")
    svc = dl.find(docs, "Service")
    if t.check(len(sm) == 1 and len(svc) == 1, "one ServiceMonitor and its Service"):
        s = svc[0]
        t.check(s["spec"].get("clusterIP") == "None", "the metrics Service is headless (no proxying)")
        t.check(selects(s["spec"]["selector"], pod_labels), "the metrics Service selects the agent pods")
        sp = s["spec"]["ports"][0]
        t.check(sp["targetPort"] in ports and sp["port"] == ports[sp["targetPort"]],
                f"the Service's port targets the container port {sp['targetPort']!r}")
        spec = sm[0]["spec"]
        t.check(selects(spec["selector"]["matchLabels"], s["metadata"]["labels"]), "ServiceMonitor selects the Service")
        ep = spec["endpoints"][0]
        t.check(ep["port"] == sp["name"] and ep["path"] == "/metrics", "ServiceMonitor scrapes /metrics on the Service's port")
    cms = [c for c in dl.find(docs, "ConfigMap") if "dfaas.json" in c.get("data", {})]
    if t.check(len(cms) == 1, "one dashboard ConfigMap"):
        cm = cms[0]
        t.check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", "the dashboard ConfigMap has the sidecar label grafana_dashboard=1")
        with open(os.path.join(dl.REPO, "deploy", "grafana", "dfaas.json")) as f:
            want = json.load(f)
        t.check(json.loads(cm["data"]["dfaas.json"]) == want, "the ConfigMap holds deploy/grafana/dfaas.json")
    rules = dl.find(docs, "PrometheusRule")
    t.check(len(rules) == 1, "one PrometheusRule")
    return rules[0] if rules else None


def check_rules(t, rule, promtool):
    groups = rule["spec"]["groups"]
    alerts = [r["alert"] for g in groups for r in g["rules"] if "alert" in r]
    for want in ("DfaasAgentNotReady", "DfaasPeerDown", "DfaasPeerBadSignatures", "DfaasRejectRatioHigh",
                 "DfaasConntrackNearFull", "DfaasDataPlaneDetached"):
        t.check(want in alerts, f"alert {want}")
    used = set()
    for g in groups:
        for r in g["rules"]:
            used |= set(re.findall(r"\b(dfaas_[a-z0-9_]+)", r["expr"]))
    unknown = sorted(used - exported_metrics())
    t.check(not unknown, f"every metric the alerts use is exported by the agent ({unknown})")
    with open(ALERT_TESTS) as f:
        tests = yaml.safe_load(f)
    fired = {a["alertname"] for tc in tests["tests"] for a in tc.get("alert_rule_test", []) if a.get("exp_alerts")}
    untested = sorted(set(alerts) - fired)
    t.check(not untested, f"every alert fires in tests/deploy/alerts_test.yaml ({untested})")
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "rules.yaml"), "w") as f:
            yaml.safe_dump({"groups": groups}, f, sort_keys=False)
        shutil.copy(ALERT_TESTS, tmp)
        r = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=tmp, capture_output=True, text=True)
        t.check(r.returncode == 0, "promtool check rules" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        r = subprocess.run([promtool, "test", "rules", os.path.basename(ALERT_TESTS)], cwd=tmp,
                           capture_output=True, text=True)
        t.check(r.returncode == 0, "promtool test rules tests/deploy/alerts_test.yaml"
                + ("" if r.returncode == 0 else ":\n" + r.stdout[-4000:] + r.stderr[-2000:]))


def main():
    promtool = shutil.which("promtool")
    if promtool is None:
        print("promtool not installed (Debian package prometheus; scripts/setup.sh installs it)")
        sys.exit(dl.SKIP)
    if not dl.renderer_available():
        sys.exit(dl.SKIP)
    t = dl.Failures()
    docs = render_docs(t, "defaults")
    if docs is not None:
        kinds = sorted({d["kind"] for d in docs} & set(MONITORING_KINDS))
        t.check(not kinds, f"defaults: no monitoring objects ({kinds})")
        t.check(not any("dfaas.json" in c.get("data", {}) for c in dl.find(docs, "ConfigMap")),
                "defaults: no dashboard ConfigMap")
    docs = render_docs(t, "all monitoring on", *ALL_ON)
    rule = check_objects(t, docs) if docs is not None else None
    if rule is not None:
        check_rules(t, rule, promtool)
    docs = render_docs(t, "selector labels and thresholds", *LABELS_AND_THRESHOLDS)
    if docs is not None:
        for kind in ("PodMonitor", "ServiceMonitor", "PrometheusRule"):
            t.check(dl.find(docs, kind)[0]["metadata"]["labels"].get("release") == "kps", f"{kind} carries the extra label release=kps")
        exprs = [r["expr"] for g in dl.find(docs, "PrometheusRule")[0]["spec"]["groups"] for r in g["rules"]
                 if r.get("alert") == "DfaasRejectRatioHigh"]
        t.check(len(exprs) == 1 and "> 0.5" in exprs[0], "prometheusRule.rejectRatio sets the alert's threshold")
        cms = [c for c in dl.find(docs, "ConfigMap") if "dfaas.json" in c.get("data", {})]
        t.check(len(cms) == 1 and cms[0]["metadata"]["namespace"] == "monitoring", "grafanaDashboard.namespace places the ConfigMap")
    for monitor in ("podMonitor", "serviceMonitor"):
        rc, out, err = dl.render("--namespace", "openfaas", *LOOPBACK_API[monitor])
        t.check(rc != 0 and "is loopback" in err, f"refused: metrics.{monitor} with a loopback api.listen ({err.strip()[:120]})")
    t.finish()


if __name__ == "__main__":
    main()
