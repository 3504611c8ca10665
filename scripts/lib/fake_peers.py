#!/usr/bin/env python3
"""Fake federation members for tests: signed heartbeats from N member ids, each sent from its own
source address (the address it claims, unless --claim-ip says otherwise), to one agent's peer
port. The wire format is the peer protocol's (docs/peer-protocol.md): a JSON envelope POSTed to
/v1/peer/message with X-Dfaas-Node, X-Dfaas-Timestamp and X-Dfaas-Signature =
hex(HMAC-SHA256(key, "POST\\n/v1/peer/message\\n<timestamp ms>\\n<body>")), the key being the key
file's content without surrounding whitespace.

The source addresses must exist on an interface of the network namespace the script runs in (the
caller adds them, e.g. `ip addr add 10.9.0.1/24 dev eth0`); each connection binds to its source.

Examples:
  fake_peers.py --key-file k --target 10.9.0.100:30090 --sources 10.9.0.1-40 \\
      --functions echo:31001,figlet:31002 --count 5 --interval 1
  fake_peers.py ... --sources 10.9.0.7 --claim-ip 10.9.0.8 --count 1   # identity mismatch

Prints one JSON line per round: {"round": i, "status": {"204": 40}, "reasons": {...},
"errors": {...}, "seconds": 0.2} (reasons: the receiver's "error" field of every 4xx/5xx reply, by reason;
errors: the replies that were not --expect, by reason); the exit status is 0 when every message
of the last round got the expected status (--expect, default 204), 1 otherwise. Also importable: sign(), heartbeat_envelope(), send_signed(), parse_sources().
"""

import argparse
import hashlib
import hmac
import http.client
import ipaddress
import json
import sys
import time

MESSAGE_PATH = "/v1/peer/message"
_last_seq = {}


def parse_sources(text):
    """'10.9.0.1-40' (last octet range), '10.9.0.1,10.9.0.5' or a mix: a list of addresses."""
    result = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = part.split("-", 1)
            base = ipaddress.IPv4Address(first)
            prefix = str(base).rsplit(".", 1)[0]
            start, end = int(str(base).rsplit(".", 1)[1]), int(last)
            if not 0 <= start <= end <= 255:
                raise ValueError("bad source range " + part)
            result += [f"{prefix}.{i}" for i in range(start, end + 1)]
        else:
            result.append(str(ipaddress.IPv4Address(part)))
    return result


def parse_functions(text, base_port=31001):
    """'echo:31001,figlet' -> [{"name": "echo", "port": 31001}, {"name": "figlet", "port": ...}]"""
    functions, used = [], set()
    next_port = base_port
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, port = part.partition(":")
        if port:
            port = int(port)
        else:
            while next_port in used:
                next_port += 1
            port = next_port
        used.add(port)
        functions.append({"name": name, "port": port})
    return functions


def sign(key, method, path, timestamp_ms, body):
    message = f"{method}\n{path}\n{timestamp_ms}\n".encode() + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def next_seq(sender_id):
    # Increasing per sender, across runs too (the receiver refuses a (sender, seq) seen within
    # its replay window): microseconds since the epoch, at least one more than the last.
    seq = max(int(time.time() * 1e6), _last_seq.get(sender_id, 0) + 1)
    _last_seq[sender_id] = seq
    return seq


def heartbeat_envelope(sender_id, sender_ip, sender_port, functions, sent_at_ms, seq,
                       strategy="recalc", period_ms=4000, node_type=1, peers=()):
    return {
        "v": 1,
        "type": "heartbeat",
        "sender_id": sender_id,
        "sender_ip": sender_ip,
        "sender_port": sender_port,
        "seq": seq,
        "sent_at": sent_at_ms,
        "body": {
            "node_type": node_type,
            "thresholds": {"cpu": 0.8, "ram": 0.8, "power": 0.8},
            "strategy": strategy,
            "period_ms": period_ms,
            "functions": sorted(functions, key=lambda f: f["name"]),
            "peers": list(peers),
        },
    }


def send_signed(key, target, envelope, source=None, timeout=3.0):
    """POSTs the envelope signed with `key` from `source` (an address of this namespace).
    Returns (status, reply body text); status 0 with the error text when no reply came."""
    host, port = target.rsplit(":", 1)
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = envelope["sent_at"]
    headers = {
        "Content-Type": "application/json",
        "X-Dfaas-Node": envelope["sender_id"],
        "X-Dfaas-Timestamp": str(timestamp),
        "X-Dfaas-Signature": sign(key, "POST", MESSAGE_PATH, timestamp, body),
    }
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("POST", MESSAGE_PATH, body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read().decode(errors="replace")
    except OSError as error:
        return 0, str(error)
    finally:
        conn.close()


def error_reason(text):
    try:
        return json.loads(text).get("error", "")
    except ValueError:
        return text[:80]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key-file", required=True, help="the cluster key file")
    parser.add_argument("--target", required=True, help="IP:PORT of the agent's peer port")
    parser.add_argument("--sources", required=True,
                        help="member addresses: 10.9.0.1-40 (last octet range) and/or a list")
    parser.add_argument("--functions", default="",
                        help="name[:port],... each member announces (ports default from 31001)")
    parser.add_argument("--count", type=int, default=1,
                        help="heartbeat rounds (0 = until interrupted)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--id-prefix", default="fake",
                        help="member ids are PREFIX-<a>-<b>-<c>-<d> of their address")
    parser.add_argument("--peer-port", type=int, default=30090,
                        help="the peer port each member claims to listen on")
    parser.add_argument("--claim-ip", help="sender_ip to claim instead of the source address")
    parser.add_argument("--strategy", default="recalc")
    parser.add_argument("--period-ms", type=int, default=4000)
    parser.add_argument("--expect", type=int, default=204,
                        help="the HTTP status every message should get (exit 1 otherwise)")
    parser.add_argument("--verbose", action="store_true", help="print each non-expected reply")
    args = parser.parse_args(argv)

    with open(args.key_file, "rb") as f:
        key = f.read().strip()
    sources = parse_sources(args.sources)
    functions = parse_functions(args.functions)
    ok = True
    round_index = 0
    try:
        while args.count == 0 or round_index < args.count:
            if round_index:
                time.sleep(args.interval)
            round_index += 1
            statuses, errors, reasons = {}, {}, {}
            started = time.monotonic()
            for source in sources:
                claimed = args.claim_ip or source
                sender_id = f"{args.id_prefix}-{source.replace('.', '-')}"
                now_ms = int(time.time() * 1000)
                envelope = heartbeat_envelope(sender_id, claimed, args.peer_port, functions,
                                              now_ms, next_seq(sender_id), args.strategy,
                                              args.period_ms)
                status, text = send_signed(key, args.target, envelope, source)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status >= 400:  # the receiver names its reason: {"error": ..., "detail": ...}
                    reason = error_reason(text)
                    reasons[reason] = reasons.get(reason, 0) + 1
                if status != args.expect:
                    reason = error_reason(text) if status else "no reply: " + text
                    errors[reason] = errors.get(reason, 0) + 1
                    if args.verbose:
                        print(f"{sender_id} from {source}: {status} {text}", file=sys.stderr)
            ok = not errors
            print(json.dumps({"round": round_index, "status": statuses, "reasons": reasons,
                              "errors": errors,
                              "seconds": round(time.monotonic() - started, 3)}), flush=True)
    except KeyboardInterrupt:
        pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
