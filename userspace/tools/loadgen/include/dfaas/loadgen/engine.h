// The open-loop engine: one thread, non-blocking sockets, epoll and an absolute timerfd. Requests
// are issued at the times the Schedule dictates whatever the server does; a late loop catches up
// by issuing every overdue request (measured as send lag), it never skips or delays the rest.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/loadgen/duration.h"
#include "dfaas/loadgen/histogram.h"
#include "dfaas/loadgen/schedule.h"
#include "dfaas/loadgen/target.h"

namespace dfaas::loadgen {

// Why a request ended without an HTTP response (reported as status code 0).
enum class ErrorKind : uint8_t {
    Refused,      // ECONNREFUSED: nothing listens on the port
    Reset,        // ECONNRESET / EPIPE: the peer reset the connection
    Timeout,      // no complete response within --timeout (connect included)
    Closed,       // the peer closed before the response was complete
    Protocol,     // the response is not valid HTTP/1.x
    Unreachable,  // no route to the host or network
    NoPort,       // EADDRNOTAVAIL: local ephemeral ports exhausted
    LocalLimit,   // EMFILE / ENFILE / ENOBUFS: out of descriptors or buffers
    Other,        // any other socket error
    Aborted,      // still in flight when a second SIGINT abandoned the run
};
inline constexpr size_t kErrorKindCount = 10;
std::string_view error_kind_name(ErrorKind kind);

// Most DFaaS-Node-ID values whose latency is kept apart (per second and for the run): a server
// inventing IDs cannot grow the histograms beyond that; responses of further IDs are still
// counted in served_by and in the overall latency.
inline constexpr size_t kMaxLatencyNodes = 32;

// Counts for the whole run or for one second of the timeline.
struct Tally {
    uint64_t issued = 0;
    uint64_t responses = 0;                // requests that received an HTTP response, any status
    uint64_t errors = 0;                   // requests that ended without one (status 0)
    uint64_t success = 0;                  // status 200-399, vegeta's definition
    uint64_t http_200 = 0;                 // status exactly 200, the experiments' success metric
    std::map<int, uint64_t> status_codes;  // HTTP statuses only; errors are counted apart
    std::array<uint64_t, kErrorKindCount> error_kinds{};
    std::map<std::string, uint64_t> served_by;  // DFaaS-Node-ID value -> responses
    uint64_t no_node_id = 0;                    // responses without the header
    uint64_t bytes_in = 0;                      // response body bytes
    uint64_t bytes_out = 0;                     // request body bytes
    Histogram latency;                          // responses only, from issue to last byte
    Histogram lag;                              // issue time minus scheduled time
    // Latency of the responses each node served, for the first kMaxLatencyNodes IDs seen.
    std::map<std::string, Histogram> served_by_latency;

    uint64_t completed() const { return responses + errors; }
};

// One row of the per-second timeline; the second is the one the request was scheduled in.
struct TimelineRow {
    uint64_t second = 0;
    Tally tally;  // its histograms are emptied once p50/p99/lag_max are taken
    Nanos p50 = 0;
    Nanos p99 = 0;
    Nanos lag_max = 0;
    std::map<std::string, std::pair<Nanos, Nanos>> served_by_p50_p99;  // per node that answered
};

struct RunConfig {
    std::vector<Target> targets;  // request i goes to targets[i % size]: round-robin
    std::string method = "GET";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool keepalive = false;
    size_t pool_size = 10'000;  // idle keep-alive connections kept per target
    Nanos timeout = 5 * kNanosPerSecond;
    // Connection-per-request mode waits this long for the server to close first (so the server,
    // not this client, holds TIME_WAIT) before resetting the connection.
    Nanos close_grace = 2 * kNanosPerSecond;
    Schedule schedule;
};

struct RunResult {
    std::vector<std::string> targets;
    std::string method;
    bool keepalive = false;
    Nanos timeout = 0;
    uint64_t scheduled = 0;  // requests the schedule holds
    double target_rate = 0;  // scheduled / planned_duration
    Nanos planned_duration = 0;
    std::string started_at;  // wall clock, RFC 3339 UTC

    Tally totals;
    Nanos attack = 0;  // first issue to last issue
    Nanos wait = 0;    // last issue to last completion
    uint64_t connections_opened = 0;
    uint64_t retries = 0;  // requests re-sent once because a reused connection had gone stale
    bool interrupted = false;
    std::array<std::string, kErrorKindCount> error_examples;  // first message seen per kind
    std::vector<TimelineRow> timeline;

    Nanos duration() const { return attack + wait; }
    // (requests - 1) / attack: exactly the target rate when every request left on time.
    double rate() const;
    // Successful (200-399) requests per second over the whole duration, as vegeta computes it.
    double throughput() const;
    double success_ratio() const;
    double http_200_ratio() const;
};

struct Progress {
    Nanos elapsed = 0;
    Nanos planned = 0;
    uint64_t issued = 0;
    uint64_t completed = 0;
    uint64_t success = 0;
    uint64_t in_flight = 0;
    Nanos p99 = 0;
};
using ProgressCallback = std::function<void(const Progress &)>;

class Engine;

class LoadGenerator {
  public:
    // Validates the config (throws UsageError) and builds the wire requests.
    explicit LoadGenerator(RunConfig config);
    ~LoadGenerator();
    LoadGenerator(const LoadGenerator &) = delete;
    LoadGenerator &operator=(const LoadGenerator &) = delete;

    // Runs the whole schedule on the calling thread, once; progress is called about once a
    // second. A run ends when the last request has finished, so a trailing rate-0 stage only adds
    // empty timeline rows.
    RunResult run(const ProgressCallback &progress = {});

    // Async-signal-safe. The first call stops issuing and lets in-flight requests finish (each is
    // still bounded by the timeout); a second call abandons them (kind "aborted").
    void request_stop() noexcept;

  private:
    std::unique_ptr<Engine> engine_;
};

}  // namespace dfaas::loadgen
