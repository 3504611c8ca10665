// The peer port: a GuardedServer (bounded connections per source, deadlines, no compressed or
// chunked bodies, the length cap before the body is read) that passes every request through a
// Receiver.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "dfaas/net.h"
#include "dfaas/peers/guarded_server.h"
#include "dfaas/peers/receiver.h"

namespace dfaas::peers {

struct ServerSettings {
    Ipv4 address{0};        // 0.0.0.0 = every interface
    uint16_t port = 30090;  // peers.listen_port; 0 = any free port (tests)
    Millis read_timeout{5000};
    Millis request_deadline{10000};  // the whole request (headers and body) within this
    size_t max_connections_per_source = 8;
    size_t max_connections = 64;
    std::function<Instant()> clock;  // empty = the system clock (tests inject one)
};

class PeerServer {
  public:
    // `receiver` must outlive the server.
    PeerServer(Receiver &receiver, ServerSettings settings);
    ~PeerServer();
    PeerServer(const PeerServer &) = delete;
    PeerServer &operator=(const PeerServer &) = delete;

    // Binds, then serves from a background thread. Throws Error naming the address when it cannot
    // bind ("peers.listen_port: cannot listen on 0.0.0.0:30090 (in use?)").
    void start();
    // Stops accepting and joins the thread (idempotent; the destructor calls it).
    void stop();

    uint16_t port() const { return port_; }  // the bound port (after start)
    bool running() const;
    // The listener's refusal and connection counters (listener "peer").
    HttpListenerSnapshot http_counters() const;

  private:
    struct Impl;
    Receiver &receiver_;
    ServerSettings settings_;
    std::unique_ptr<Impl> impl_;
    std::thread thread_;
    uint16_t port_ = 0;
};

}  // namespace dfaas::peers
