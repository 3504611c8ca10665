// The DFaaS entry port (issue 18): `POST|GET /function/<name>[/...]` on one port of every node.
// One thread, one epoll loop. Per connection it reads the first request head (MSG_PEEK, bounded
// size and time), picks the route with the function's installed policy (routes.h), connects to
// the local gateway or to the chosen peer's entry port, sends the rewritten head, and then
// splices the two sockets in the kernel (sockhash + stream verdict, bpf/lib/splice.h): after the
// head, no byte of either direction passes through userspace. Every bad input is answered or
// closed with a counted reason; no exception leaves the thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "dfaas/net.h"
#include "dfaas/entry/routes.h"
#include "dfaas/policy.h"

namespace dfaas::entry {

// Why a connection was answered with an error or closed before it was spliced (and a few ends
// of spliced ones). The names are the `reason` label of dfaas_entry_refused_total.
enum class Refusal : size_t {
    HeadTooLarge,           // 431
    HeadTimeout,            // 408
    NotHttp,                // 400
    ClientClosedMidHead,    // closed
    UnknownFunction,        // 404
    BadFunctionName,        // 404
    NoFunctionPrefix,       // 404
    OverMaxConnections,     // closed at accept
    UpstreamConnectFailed,  // 502
    ForgedForward,          // X-DFaaS-Forwarded-By from a non-peer: ignored, steered as usual
    ClientHalfClosed,       // FIN before the splice: a sockhash takes only established sockets
    SpliceFailed,           // the sockhash refused a socket: 502
    DrainTimeout,           // a half-close waited too long for spliced bytes: shut anyway
    IdleTimeout,            // a spliced connection moved no byte for idle_timeout: closed
    InternalError,          // an exception while handling the connection: closed
    Count
};
const char *refusal_name(Refusal reason);

struct EntryOptions {
    Endpoint listen{Ipv4{0}, 30080};
    uint32_t max_connections = 4096;  // client connections; the sockhashes hold 2x
    std::chrono::milliseconds head_timeout{5000};
    size_t max_head_bytes = 8192;
    // A spliced connection that receives no byte on either socket for this long is closed
    // (checked once per period: closed between 1x and 2x after its last byte).
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds connect_timeout{3000};
    Endpoint gateway;              // route local: the OpenFaaS gateway
    uint16_t peer_entry_port = 0;  // route peer: every node's entry port (0 = listen.port)
    std::string node_id;           // sent as X-DFaaS-Forwarded-By
    std::chrono::milliseconds refresh_interval{1000};  // how often routing() is read again
    // The local cap's window (routes.h); empty = the entry counts its own local connections.
    LocalAdmission local_admission;
};

// What the entry routes with: every function this node knows (its own and remote-only ones)
// with its installed policy, and the peers whose forwarded connections are served here.
struct RoutingSnapshot {
    PolicySet policies;
    std::set<Ipv4> peers;
};
using RoutingSource = std::function<RoutingSnapshot()>;

struct EntryCounters {
    std::map<std::pair<std::string, std::string>, uint64_t> connections;  // (function, route)
    std::array<uint64_t, static_cast<size_t>(Refusal::Count)> refused{};
    uint64_t open_connections = 0;   // client connections now open (any state)
    uint64_t spliced = 0;            // connections handed to the kernel so far
    uint64_t splice_redirected = 0;  // skbs the verdict redirected (BPF counter)
    uint64_t splice_no_peer = 0;     // skbs dropped: the paired socket had closed

    uint64_t refused_count(Refusal r) const { return refused[static_cast<size_t>(r)]; }
};

class EntryServer {
  public:
    // Loads the splice program, binds the port and starts the loop thread. Throws
    // std::runtime_error naming what failed (the port is taken, BPF cannot be loaded).
    static std::unique_ptr<EntryServer> start(const EntryOptions &options, RoutingSource routing);
    ~EntryServer();
    EntryServer(const EntryServer &) = delete;
    EntryServer &operator=(const EntryServer &) = delete;

    void stop();
    EntryCounters counters() const;
    uint16_t port() const;  // the bound port (listen.port 0 picks one: tests)
    // Sockets in the splice maps now (leak checks).
    size_t splice_map_entries() const;

    class Impl;

  private:
    explicit EntryServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Prometheus text exposition of the counters (dfaas_entry_*), promtool-clean.
std::string render_entry_metrics(const EntryCounters &counters);

}  // namespace dfaas::entry
