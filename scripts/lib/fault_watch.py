#!/usr/bin/env python3
"""Watches the dfaas-agent processes of the lab's nodes for the fault-injection suite.

  fault_watch.py --out FILE NODE=NETNS [NODE=NETNS ...]

Every 0.2 s: finds each node's dfaas-agent (a process named dfaas-agent whose network namespace
is NETNS) and reads its VmHWM (peak resident set) from /proc/PID/status. On SIGTERM or SIGINT it
writes FILE, per node: the highest VmHWM seen (KiB) over every agent process it saw, the pids
seen, and which of them are gone. VmHWM cannot be reset, so a peak is the running peak of that
process since it started (a restarted agent starts again from zero).
"""
import json
import os
import signal
import sys
import time


def netns_inode(name):
    try:
        return os.stat(f"/run/netns/{name}").st_ino
    except OSError:
        return None


def agents():
    """(pid, netns inode) of every process named dfaas-agent."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "dfaas-agent":
                    continue
            found.append((int(entry), os.stat(f"/proc/{entry}/ns/net").st_ino))
        except OSError:
            continue
    return found


def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    out = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--out" else None
    if not out:
        sys.exit("usage: fault_watch.py --out FILE NODE=NETNS ...")
    nodes = dict(arg.split("=", 1) for arg in sys.argv[3:])
    inodes = {name: netns_inode(ns) for name, ns in nodes.items()}
    state = {name: {"peak_kib": 0, "pids": {}} for name in nodes}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    def sample():
        for pid, ino in agents():
            for name, node_ino in inodes.items():
                if ino != node_ino:
                    continue
                peak = hwm_kib(pid)
                if peak is None:
                    continue
                st = state[name]
                st["pids"][str(pid)] = max(st["pids"].get(str(pid), 0), peak)
                st["peak_kib"] = max(st["peak_kib"], peak)

    while not stopping:
        sample()
        time.sleep(0.2)
    sample()
    result = {}
    for name, st in state.items():
        gone = [p for p in st["pids"] if not os.path.exists(f"/proc/{p}")]
        result[name] = {"peak_kib": st["peak_kib"], "pids": sorted(st["pids"], key=int),
                        "gone": sorted(gone, key=int)}
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
