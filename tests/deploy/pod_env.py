#!/usr/bin/python3
"""Prepares the DaemonSet's agent pod for a run on this machine (tests/deploy/entrypoint_e2e.sh):
lays out its volumes under ROOT as the kubelet would mount them (deploylib.emulate_pod) and
prints bash assignments:
  POD_ENV=(NAME=value ...)     the container's environment (downward API filled in)
  POD_CMD=(...)                the container's command and arguments (paths mapped under ROOT)
  POD_INIT_CMD=(...)           the bpffs init container's command, empty when there is none
  POD_CAPS=bpf,net_admin,...   capabilities added (setpriv names), POD_PRIVILEGED=0|1
  POD_CONFIG=...               the agent.yaml written, POD_API_PORT, POD_HOSTS (host names of the
                               configured OpenFaaS and Prometheus URLs), POD_STATE (node id dir)
usage: pod_env.py MANIFESTS ROOT NODE_IP NODE_NAME OPENFAAS_PASSWORD_FILE
"""
import os
import shlex
import sys
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploylib as dl  # noqa: E402


def main():
    manifests, root, node_ip, node_name, password_file = sys.argv[1:6]
    with open(manifests) as f:
        docs = dl.parse_docs(f.read())
    password = open(password_file).read()
    pod = dl.emulate_pod(docs, root, node_ip, node_name,
                         {"basic-auth": {"basic-auth-password": password},
                          "dfaas-cluster-key": {"cluster-key": "test-cluster-key-" + "x" * 32}})
    cfg = dl.agent_config(docs, dl.daemonset(docs))
    hosts = sorted({urlparse(cfg["openfaas"]["url"]).hostname, urlparse(cfg["prometheus"]["url"]).hostname})
    state = pod["map"][os.path.dirname(cfg["node"]["id_file"])]
    q = shlex.quote
    print("POD_ENV=(" + " ".join(q(f"{k}={v}") for k, v in pod["env"].items()) + ")")
    print("POD_CMD=(" + " ".join(q(x) for x in pod["command"]) + ")")
    print("POD_INIT_CMD=(" + " ".join(q(x) for x in pod["init_command"] or []) + ")")
    print("POD_CAPS=" + q(",".join("+" + c.lower() for c in pod["capabilities"])))
    print(f"POD_PRIVILEGED={1 if pod['privileged'] else 0}")
    print("POD_CONFIG=" + q(pod["config"]))
    print(f"POD_API_PORT={dl.port_of(cfg['api']['listen'])}")
    print("POD_HOSTS=" + q(" ".join(hosts)))
    print("POD_STATE=" + q(state))
    pins = cfg["dataplane"]["bpffs"]
    bpf_mount = next(mp for mp in pod["map"] if pins == mp or pins.startswith(mp + "/"))
    pin_dir = pod["map"][bpf_mount] + pins[len(bpf_mount):]
    # The agent container mounts only its pin directory; the host's bpffs is its parent (where
    # the init container, when there is one, mounts the bpffs).
    print("POD_BPFFS=" + q(os.path.dirname(pin_dir)))
    print("POD_PIN_DIR=" + q(pin_dir))
    print("POD_FUNCTION_PORTS=" + q(str(cfg["dataplane"]["function_ports"])))


if __name__ == "__main__":
    main()
