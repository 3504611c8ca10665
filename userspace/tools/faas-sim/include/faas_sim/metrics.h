// Per-function counters and the gateway's Prometheus exposition. Lock-free on the request path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "faas_sim/node_model.h"

namespace faas_sim {

// client_golang's DefBuckets, which the gateway's gateway_functions_seconds uses.
inline constexpr std::array<double, 11> kLatencyBucketBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,   1,    2.5,   5,    10};

// The outcomes an invocation can have here; each is counted under its HTTP status code.
enum class Outcome : uint8_t {
    Ok,               // 200
    TooManyRequests,  // 429: over capacity, as the watchdog's max_inflight
    InternalError,    // 500: the behaviour failed
    Unavailable,      // 503: no replicas
    ExecTimeout,      // 408: the node model's timeout_ms passed while running (watchdog)
    QueueTimeout,     // 502: the node model's timeout_ms passed in the queue (gateway)
};
inline constexpr size_t kOutcomeCount = 6;
int status_code(Outcome outcome);

// Latency histogram of one (function, code) pair.
class LatencyHistogram {
  public:
    struct Snapshot {
        std::array<uint64_t, kLatencyBucketBounds.size() + 1> cumulative{};  // last is +Inf
        double sum_seconds = 0;
        uint64_t count() const { return cumulative.back(); }
    };

    void observe(std::chrono::nanoseconds duration);
    // The count is derived from the buckets read, so it always equals the +Inf bucket.
    Snapshot snapshot() const;

  private:
    std::array<std::atomic<uint64_t>, kLatencyBucketBounds.size() + 1> counts_{};  // not cumulative
    std::atomic<uint64_t> sum_nanoseconds_{0};
};

// The statuses a fault can make a function answer (POST /system/fault/{name}): 4xx and 5xx.
inline constexpr int kFirstInjectableStatus = 400;
inline constexpr int kLastInjectableStatus = 599;
inline constexpr size_t kInjectableStatusCount = kLastInjectableStatus - kFirstInjectableStatus + 1;

class FunctionStats {
  public:
    void record_started() { started_.fetch_add(1, std::memory_order_relaxed); }
    void record_completed(Outcome outcome, std::chrono::nanoseconds duration) {
        by_outcome_[static_cast<size_t>(outcome)].observe(duration);
    }
    // Makes room for the answers of an injected fault. Called when a fault is set, before any
    // request can be answered with it; the room is kept until the stats are destroyed, so the
    // request path and the exposition read it without a lock.
    void prepare_injected();
    // An answer of an injected fault; `status` in kFirstInjectableStatus..kLastInjectableStatus
    // and prepare_injected() called before (else it is not counted).
    void record_injected(int status, std::chrono::nanoseconds duration);

    uint64_t started() const { return started_.load(std::memory_order_relaxed); }
    // Completed invocations of every outcome, what the gateway reports as invocationCount.
    uint64_t completed() const;
    const LatencyHistogram &histogram(Outcome outcome) const {
        return by_outcome_[static_cast<size_t>(outcome)];
    }
    // The injected answers with `status`; nullptr when no fault was ever set or the status is
    // not injectable.
    const LatencyHistogram *injected_histogram(int status) const;

  private:
    using InjectedHistograms = std::array<LatencyHistogram, kInjectableStatusCount>;
    std::atomic<uint64_t> started_{0};
    std::array<LatencyHistogram, kOutcomeCount> by_outcome_{};
    // Allocated by the first prepare_injected() only: 200 histograms (about 20 KiB) per function
    // would cost every function of a 300-function file, and every scrape, for a test-only feature.
    std::mutex injected_mu_;  // serialises prepare_injected()
    std::unique_ptr<InjectedHistograms> injected_storage_;
    std::atomic<InjectedHistograms *> injected_{nullptr};
};

// What the exposition needs to know about one function.
struct FunctionMetricsView {
    std::string qualified_name;  // "<name>.<namespace>"
    const FunctionStats *stats = nullptr;
    uint64_t replicas = 0;
    uint64_t inflight = 0;
    std::optional<uint64_t> capacity;  // concurrent requests admitted; nullopt = unlimited
    uint64_t running = 0;              // node model: requests holding a virtual CPU
    uint64_t queued = 0;               // node model: requests waiting for one
    int fault_status = 0;              // the status an injected fault answers; 0 = none
};

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The Prometheus text exposition of the gateway metrics plus faas_sim_* extras. Functions
// appear in the order given. With a node model, also the node's CPU and memory under
// node-exporter's names, each function's CPU and the node's CPUs under cAdvisor's, and the
// model's own gauges.
std::string render_metrics(std::span<const FunctionMetricsView> functions,
                           const NodeMetricsView *node = nullptr);

}  // namespace faas_sim
