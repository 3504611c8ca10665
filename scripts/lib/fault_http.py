#!/usr/bin/env python3
"""HTTP attack and fault tools of the fault-injection suite (scripts/faults.sh).

  fault_http.py body --host H --port P --path PATH --kind gzip|chunked|oversized
                [--gzip-file F] [--bytes N] [--method M] [--timeout S]
      one hostile request body; prints a JSON line: how the server answered (status, or the
      number of bytes it took before closing or resetting).
  fault_http.py slowloris --host H --port P --connections N --duration S
      N connections that each send one header byte a second, reopened when the server closes
      them; prints a JSON line: connections opened, closed by the server, refused.
  fault_http.py keepalive --host H --port P --path PATH --connections N --interval S
                --duration S [--ready-file F]
      N established HTTP/1.1 keep-alive connections, each sending one request every interval;
      prints a JSON line: requests ok / failed, connections reset, closed, reopened.
  fault_http.py gateway --listen IP:PORT [--node NAME]
      a stand-in function gateway (one thread, asyncio): answers every request 200 "ok" with
      DFaaS-Node-ID: NAME, keeping connections alive; cheap with thousands of keep-alive clients
      (the simulator serves a connection per thread).
  fault_http.py junk-server --listen IP:PORT
      an HTTP server that answers every request with garbage (rotating: random bytes, JSON of
      the wrong shape, deeply nested JSON, 8 MiB of junk, a 500, a truncated body).

Only standard library; all traffic goes where --host / --listen say (the lab's namespaces).
"""
import argparse
import asyncio
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import time


def emit(obj):
    print(json.dumps(obj), flush=True)


def read_status(sock, timeout):
    """Reads a response's status line; None when the server closed without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data and len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None, "reset"
    except socket.timeout:
        return None, "timeout"
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1]), line
    return None, "closed" if not data else "garbage: " + line[:60]


def cmd_body(a):
    for kind in a.kind.split(","):
        a.kind = kind
        one_body(a)


def one_body(a):
    head = [f"{a.method} {a.path} HTTP/1.1", f"Host: {a.host}:{a.port}",
            "Content-Type: application/json", "Connection: close"]
    if a.kind == "gzip":
        with open(a.gzip_file, "rb") as f:
            body = f.read()
        head += ["Content-Encoding: gzip", f"Content-Length: {len(body)}"]
        total = len(body)
    elif a.kind == "chunked":
        # A small Content-Length next to chunked framing: a server that trusts the length
        # (or reads the chunks without a cap) is what this probes.
        head += ["Content-Length: 16", "Transfer-Encoding: chunked"]
        total = a.bytes
    else:
        head += [f"Content-Length: {a.bytes}"]
        total = a.bytes
    result = {"kind": a.kind, "port": a.port, "path": a.path, "body_bytes": total}
    began = time.monotonic()
    try:
        sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    except OSError as e:
        result.update(outcome="connect failed: " + e.strerror if e.strerror else str(e),
                      status=None, sent=0)
        emit(result)
        return
    sent = 0
    outcome = None
    deadline = time.monotonic() + a.timeout
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        if a.kind == "gzip":
            sock.sendall(body)
            sent = len(body)
        else:
            block = b"\0" * 65536
            chunk_frame = b"10000\r\n" + block + b"\r\n"
            while sent < total and time.monotonic() < deadline:
                sock.sendall(chunk_frame if a.kind == "chunked" else block)
                sent += len(block)
            if a.kind == "chunked":
                sock.sendall(b"0\r\n\r\n")
    except (ConnectionResetError, BrokenPipeError):
        outcome = "reset by the server"
    except socket.timeout:
        outcome = "send timed out (server stopped reading)"
    status, line = read_status(sock, max(1.0, deadline - time.monotonic()))
    sock.close()
    if status is not None:
        outcome = f"HTTP {status}" + (f" ({outcome})" if outcome else "")
    elif outcome is None:
        outcome = line
    result.update(status=status, sent=sent, outcome=outcome,
                  seconds=round(time.monotonic() - began, 2))
    emit(result)


async def loris_one(a, stats, stop_at):
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(a.host, a.port,
                                        local_addr=(a.source, 0) if a.source else None),
                timeout=2)
        except (OSError, asyncio.TimeoutError):
            stats["refused"] += 1
            await asyncio.sleep(1)
            continue
        stats["opened"] += 1
        stats["open"] += 1
        opened_at = time.monotonic()
        request = f"GET /healthz HTTP/1.1\r\nHost: {a.host}\r\nX-Slow: " + "a" * 100000
        closed = False
        for ch in request:
            if time.monotonic() >= stop_at:
                break
            try:
                writer.write(ch.encode())
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError, OSError):
                closed = True
                break
            # EOF from the server = it gave up on us (a header deadline).
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                if not data:
                    closed = True
                    break
            except asyncio.TimeoutError:
                pass
            except (ConnectionResetError, OSError):
                closed = True
                break
        stats["open"] -= 1
        writer.close()
        if closed:
            stats["closed_by_server"] += 1
            stats["held_s"].append(round(time.monotonic() - opened_at, 1))
            # A slow-loris comes back at its own slow pace, not in a tight loop.
            await asyncio.sleep(1)


async def slowloris(a):
    stats = {"opened": 0, "open": 0, "closed_by_server": 0, "refused": 0, "held_s": []}
    stop_at = time.monotonic() + a.duration
    await asyncio.gather(*(loris_one(a, stats, stop_at) for _ in range(a.connections)))
    held = sorted(stats.pop("held_s"))
    stats.pop("open")
    stats.update(port=a.port, connections=a.connections,
                 median_held_s=held[len(held) // 2] if held else None)
    emit(stats)


def cmd_slowloris(a):
    asyncio.run(slowloris(a))


async def read_response(reader):
    """Reads one HTTP/1.1 response with Content-Length or chunked framing; returns the status."""
    line = await reader.readline()
    if not line:
        raise EOFError("closed before a response")
    status = int(line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        h = await reader.readline()
        if not h:
            raise EOFError("closed in the headers")
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        k, v = k.strip().lower(), v.strip().lower()
        if k == "content-length":
            length = int(v)
        elif k == "transfer-encoding" and "chunked" in v:
            chunked = True
        elif k == "connection" and v == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def keepalive_one(a, i, stats, start_at, stop):
    # Connect within about 2 s (1,000 connections), then send at a phase of our own so the
    # requests spread evenly over the interval.
    await asyncio.sleep(i * 0.002)
    phase = i * a.interval / max(1, a.connections)
    request = (f"POST {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n"
               "Content-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\nDFaaS").encode()
    reader = writer = None
    while time.monotonic() < stop["at"]:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(a.host, a.port), timeout=5)
                stats["opened"] += 1
                stats["established"] += 1
            except (OSError, asyncio.TimeoutError):
                stats["connect_failed"] += 1
                await asyncio.sleep(a.interval)
                continue
            if phase is not None:
                await asyncio.sleep(max(0.0, start_at + 2.5 + phase - time.monotonic()))
                phase = None
        t0 = time.monotonic()
        try:
            writer.write(request)
            await writer.drain()
            status, close = await asyncio.wait_for(read_response(reader), timeout=5)
            if 200 <= status < 400:
                stats["ok"] += 1
            else:
                stats["http_error"] += 1
                stats["codes"][str(status)] = stats["codes"].get(str(status), 0) + 1
            if close:
                stats["closed"] += 1
                writer.close()
                writer = None
                stats["established"] -= 1
        except (ConnectionResetError, BrokenPipeError):
            stats["reset"] += 1
            stats["failed"] += 1
            writer.close()
            writer = None
            stats["established"] -= 1
        except (EOFError, asyncio.IncompleteReadError):
            stats["closed"] += 1
            stats["failed"] += 1
            writer.close()
            writer = None
            stats["established"] -= 1
        except (asyncio.TimeoutError, OSError, ValueError, IndexError):
            stats["timeout_or_error"] += 1
            stats["failed"] += 1
            writer.close()
            writer = None
            stats["established"] -= 1
        pause = max(0.0, a.interval - (time.monotonic() - t0))
        while pause > 0 and time.monotonic() < stop["at"]:
            await asyncio.sleep(min(pause, 0.5))
            pause -= 0.5
    if writer is not None:
        writer.close()


async def keepalive(a):
    stats = {"ok": 0, "http_error": 0, "failed": 0, "reset": 0, "closed": 0,
             "timeout_or_error": 0, "opened": 0, "connect_failed": 0, "established": 0,
             "codes": {}}
    start = time.monotonic()
    stop = {"at": start + a.duration}
    # SIGTERM ends the run early (each connection finishes its current request), with a report.
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, lambda: stop.update(at=time.monotonic()))
    stop_at = stop["at"]

    async def announce():
        # The ready file says when the connections are up (or 10 s of trying are over, with how
        # many are): the fault is injected after that.
        while stats["established"] < a.connections and time.monotonic() < min(stop_at, start + 10):
            await asyncio.sleep(0.2)
        if a.ready_file:
            with open(a.ready_file, "w") as f:
                f.write(str(stats["established"]))

    await asyncio.gather(announce(), *(keepalive_one(a, i, stats, start, stop)
                                       for i in range(a.connections)))
    stats["connections"] = a.connections
    stats.pop("established")
    emit(stats)


def cmd_keepalive(a):
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    asyncio.run(keepalive(a))


async def gateway_connection(reader, writer, node):
    try:
        while True:
            status, close, length = None, False, 0
            line = await reader.readline()
            if not line:
                break
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                k, v = k.strip().lower(), v.strip().lower()
                if k == "content-length":
                    length = int(v)
                elif k == "connection" and v == "close":
                    close = True
            if length:
                await reader.readexactly(min(length, 1 << 20))
            body = b"ok\n"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDFaaS-Node-ID: "
                         + node.encode() + b"\r\nContent-Length: 3\r\n"
                         + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body)
            await writer.drain()
            if close:
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def gateway(a):
    host, _, port = a.listen.rpartition(":")
    server = await asyncio.start_server(lambda r, w: gateway_connection(r, w, a.node),
                                        host, int(port), backlog=4096, reuse_address=True)
    print(f"gateway stand-in on {a.listen}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def cmd_gateway(a):
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    asyncio.run(gateway(a))


class JunkHandler(http.server.BaseHTTPRequestHandler):
    counter = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = JunkHandler.counter
        JunkHandler.counter += 1
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        kinds = ["bytes", "wrong_shape", "deep", "huge", "500", "truncated"]
        kind = kinds[n % len(kinds)]
        status, body = 200, b""
        if kind == "bytes":
            body = os.urandom(4096)
        elif kind == "wrong_shape":
            body = b'{"status":"success","data":{"resultType":"matrix","result":"nope"},"0":[1,2]}'
        elif kind == "deep":
            body = b"[" * 100000 + b"]" * 100000
        elif kind == "huge":
            body = b"{" + b"x" * (8 << 20)
        elif kind == "500":
            status, body = 500, b"internal error\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if kind == "truncated":
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'[{"name": "fig')
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_HEAD = answer


class JunkServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def cmd_junk(a):
    host, _, port = a.listen.rpartition(":")
    server = JunkServer((host, int(port)), JunkHandler)
    print(f"junk server on {a.listen}", file=sys.stderr, flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("body")
    b.add_argument("--host", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--path", default="/")
    b.add_argument("--method", default="POST")
    b.add_argument("--kind", required=True,
                   help="gzip, chunked, oversized, or several separated by commas (in turn)")
    b.add_argument("--gzip-file")
    b.add_argument("--bytes", type=int, default=256 << 20)
    b.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("slowloris")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--connections", type=int, default=64)
    s.add_argument("--duration", type=float, default=10)
    s.add_argument("--source", default="",
                   help="local address to connect from (default: the kernel's choice)")
    k = sub.add_parser("keepalive")
    k.add_argument("--host", required=True)
    k.add_argument("--port", type=int, required=True)
    k.add_argument("--path", default="/")
    k.add_argument("--connections", type=int, default=1000)
    k.add_argument("--interval", type=float, default=5)
    k.add_argument("--duration", type=float, default=20)
    k.add_argument("--ready-file")
    j = sub.add_parser("junk-server")
    j.add_argument("--listen", required=True)
    g = sub.add_parser("gateway")
    g.add_argument("--listen", required=True)
    g.add_argument("--node", default="gateway")
    a = p.parse_args()
    if a.cmd == "body":
        kinds = a.kind.split(",")
        if not set(kinds) <= {"gzip", "chunked", "oversized"}:
            p.error("--kind: gzip, chunked or oversized")
        if "gzip" in kinds and not a.gzip_file:
            p.error("--kind gzip needs --gzip-file")
    {"body": cmd_body, "slowloris": cmd_slowloris, "keepalive": cmd_keepalive,
     "junk-server": cmd_junk, "gateway": cmd_gateway}[a.cmd](a)


if __name__ == "__main__":
    main()
