// A cpp-httplib server whose input is bounded before anything is allocated: the shared front
// door of the peer port, the API and the health listener.
//
//   at accept:        at most max_connections_per_source connections per source address and
//                     max_connections in total; the next one gets "503" and is closed at once
//                     (the worker pool has spare threads for these refusals, so a full listener
//                     still refuses quickly instead of queueing) -- unless it qualifies for the
//                     fast lane: a GET or HEAD whose whole request head is in within
//                     fast_lane_wait is served on one of fast_lane_connections extra places
//                     (one request, short deadlines, then closed). A slow-loris holding the
//                     budget, even from the same address as a scraper or a probe (everything on
//                     127.0.0.1), thus never starves clients that send whole requests, and the
//                     slow one gets its 503 after at most fast_lane_stall. Heads still arriving
//                     may hold only fast_lane_waiting_places() of the places: the rest are kept
//                     for requests already whole when first looked at, so a slow-loris that
//                     reconnects all the time cannot fill the fast lane with its own heads.
//   while reading:    every read waits at most read_timeout; the request line, headers and body
//                     must all arrive within request_deadline (a slow-loris is cut off) and may
//                     not exceed max_header_bytes + max_body bytes.
//   before the body:  screen() refuses any Content-Encoding but identity (415), any
//                     Transfer-Encoding (411: a length is required), a missing or malformed
//                     Content-Length on a request with a body (400/411), several Content-Length
//                     headers (400) and an announced length over max_body (413).
//
// Every refusal is counted under a named reason per listener; http_listener_snapshots() reads the
// counters of every live listener (for /metrics).
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dfaas::peers {

enum class HttpRefusal : uint8_t {
    ContentEncoding,       // 415: a Content-Encoding other than identity (a gzip bomb)
    TransferEncoding,      // 411: chunked or any other transfer coding
    BadContentLength,      // 400: not a number, or given twice
    LengthRequired,        // 411: a body-carrying method without Content-Length
    TooLarge,              // 413: announced length over the listener's cap
    RequestTooLarge,       // headers + body over the byte budget while reading
    RequestDeadline,       // the request did not arrive within the deadline (slow-loris)
    PerSourceConnections,  // 503 at accept: this source already has its share
    TotalConnections,      // 503 at accept: the listener is full
    Forbidden,             // 403: the API's token check, before the body
};
inline constexpr size_t kHttpRefusalCount = static_cast<size_t>(HttpRefusal::Forbidden) + 1;

std::string_view to_string(HttpRefusal reason);
int http_status(HttpRefusal reason);
const std::array<HttpRefusal, kHttpRefusalCount> &all_http_refusals();

struct GuardSettings {
    std::string listener = "http";  // the metric label: "peer", "api", "health"
    size_t max_body = 64 * 1024;
    size_t max_header_bytes = 16 * 1024;  // request line and headers
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds request_deadline{10000};
    std::chrono::seconds keep_alive_timeout{1};
    size_t max_connections_per_source = 8;
    size_t max_connections = 64;
    // The fast lane over the budget (0 = none): places, how long a whole head may take to
    // arrive, how long a partial head may make no progress, and the deadline of the request
    // served there (reading, handling, writing the reply).
    size_t fast_lane_connections = 16;
    std::chrono::milliseconds fast_lane_wait{100};
    std::chrono::milliseconds fast_lane_stall{20};
    std::chrono::milliseconds fast_lane_deadline{1000};
};

// The fast-lane places that connections whose head is still arriving may hold: all but a quarter
// (at least one) of fast_lane_connections. The reserved quarter only ever serves requests whose
// whole head was there when first looked at; a slow-loris's heads never hold it.
size_t fast_lane_waiting_places(const GuardSettings &settings);

// Plain data for the exporter: one listener's counters.
struct HttpListenerSnapshot {
    std::string listener;
    std::array<uint64_t, kHttpRefusalCount> refused{};
    uint64_t connections = 0;  // open now
    uint64_t accepted_connections = 0;
    uint64_t fast_lane_served = 0;  // connections over the budget served in the fast lane
    // Over the budget and refused the fast lane (both also count under their 503's reason):
    // the head was not whole yet and every waiting place was held by heads still arriving...
    uint64_t fast_lane_no_waiting_place = 0;
    // ...or the head was whole but every place was held.
    uint64_t fast_lane_no_place = 0;
    uint64_t fast_lane_waiting = 0;  // now: places held by heads still arriving
    uint64_t fast_lane_serving = 0;  // now: places held by requests being served
    uint64_t bytes_read = 0;

    uint64_t refused_for(HttpRefusal reason) const { return refused[static_cast<size_t>(reason)]; }
};

// The counters of every live GuardedServer, merged by listener name.
std::vector<HttpListenerSnapshot> http_listener_snapshots();

// The header checks alone (pure; the server's screen() counts and replies).
struct HeaderProblem {
    HttpRefusal reason;
    std::string detail;
};
std::optional<HeaderProblem> screen_headers(const httplib::Request &request, size_t max_body);

class GuardedServer : public httplib::Server {
  public:
    explicit GuardedServer(GuardSettings settings);
    ~GuardedServer() override;

    // The pre-routing handler (before the body is read): the header screening and the
    // listener's own checks (e.g. the API token; `listener_checks_first` when the listener counts
    // method, path and length under its own reasons). Either refusal closes the connection after
    // the reply. Replaces set_pre_routing_handler for this server.
    void set_guarded_pre_routing(HandlerWithResponse listener_checks,
                                 bool listener_checks_first = false);

    // Binds host:port (0 = any free port) with SO_REUSEADDR only (httplib's default adds
    // SO_REUSEPORT, which would let a second process share the port) and a full listen backlog
    // (httplib's is 5: a burst of clients would wait for SYN retransmissions). Returns the bound
    // port, or 0.
    int bind_listener(const std::string &host, int port);

    // Counts `reason` and writes {"error":<reason>,"detail":...} with its status.
    void refuse(HttpRefusal reason, const std::string &detail, httplib::Response &response);

    HttpListenerSnapshot snapshot() const;
    const GuardSettings &guard_settings() const { return settings_; }

    struct Counters;

  private:
    bool process_and_close_socket(socket_t sock) override;
    bool serve_connection(socket_t sock, const GuardSettings &settings, size_t max_requests);
    void drain(socket_t sock);
    // Takes a place for `source`, or says which limit refuses it (not counted here).
    std::optional<HttpRefusal> admit(const std::string &source);
    void release(const std::string &source);
    // Over the budget: true when a whole GET/HEAD head arrives and a fast-lane place is free for
    // it; the place is then held until release_fast_lane().
    bool take_fast_lane(socket_t sock);
    enum class PlaceUse : uint8_t { Serving, Waiting };
    bool claim_fast_lane_place(PlaceUse use);
    void end_waiting(bool keep_place);
    void release_fast_lane();
    void publish_fast_lane_locked();  // the gauges, under fast_lane_mutex_
    bool claim_arrival();
    void release_arrival();

    GuardSettings settings_;
    std::shared_ptr<Counters> counters_;
    std::mutex sources_mutex_;
    std::map<std::string, size_t> open_by_source_;
    size_t open_total_ = 0;
    GuardSettings fast_lane_settings_;  // settings_ with the fast lane's deadlines
    size_t fast_lane_waiting_places_ = 0;
    std::mutex fast_lane_mutex_;
    size_t fast_lane_held_ = 0;      // places held, serving or waiting
    size_t fast_lane_waiting_ = 0;   // of those, held by heads still arriving
    size_t fast_lane_arriving_ = 0;  // connections waiting for their first bytes, holding no place
};

}  // namespace dfaas::peers
