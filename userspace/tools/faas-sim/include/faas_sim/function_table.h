// The functions a simulator serves, with their run-time state (replicas, requests in flight,
// statistics). The set of functions is fixed at start; everything mutable is atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "faas_sim/function_spec.h"
#include "faas_sim/metrics.h"

namespace faas_sim {

class SimFunction {
  public:
    SimFunction(FunctionSpec spec, std::chrono::system_clock::time_point created_at);

    const FunctionSpec &spec() const { return spec_; }
    const std::string &qualified_name() const { return qualified_name_; }

    uint64_t replicas() const { return replicas_.load(std::memory_order_relaxed); }
    void set_replicas(uint64_t replicas) { replicas_.store(replicas, std::memory_order_relaxed); }

    // replicas × max_inflight; nullopt when max_inflight is 0 (unlimited, the watchdog default).
    std::optional<uint64_t> capacity() const;
    uint64_t inflight() const { return inflight_.load(std::memory_order_relaxed); }

    // Takes one slot of capacity; false when the function is full (the caller answers 429).
    bool try_admit();
    // Counts one more request in flight without a limit (the node model limits by its queue).
    void enter() { inflight_.fetch_add(1, std::memory_order_acq_rel); }
    void release() { inflight_.fetch_sub(1, std::memory_order_acq_rel); }

    // The node model's view: requests holding a CPU and requests waiting for one. Changed only
    // under the NodeModel's lock; read without it for the metrics.
    uint64_t running() const { return running_.load(std::memory_order_relaxed); }
    uint64_t queued() const { return queued_.load(std::memory_order_relaxed); }
    void add_running(int64_t delta) {
        running_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
    }
    void add_queued(int64_t delta) {
        queued_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
    }

    // An injected fault (POST /system/fault/{name}): while not 0, every request is answered at
    // once with this status. set_fault_status() prepares the stats for it first, so no answer
    // goes uncounted.
    int fault_status() const { return fault_status_.load(std::memory_order_acquire); }
    void set_fault_status(int status);

    FunctionStats &stats() { return stats_; }
    const FunctionStats &stats() const { return stats_; }

    // The provider's FunctionStatus: zero values omitted, fields in the gateway's order.
    // invocationCount only when asked (the gateway adds it to the list, not to single lookups).
    nlohmann::ordered_json status(bool with_invocation_count) const;

  private:
    FunctionSpec spec_;
    std::string qualified_name_;
    std::string created_at_;  // RFC 3339, UTC
    std::atomic<uint64_t> replicas_;
    std::atomic<uint64_t> inflight_{0};
    std::atomic<uint64_t> running_{0};
    std::atomic<uint64_t> queued_{0};
    std::atomic<int> fault_status_{0};
    FunctionStats stats_;
};

// Holds an admitted request's capacity slot until the request is done.
class AdmissionSlot {
  public:
    explicit AdmissionSlot(SimFunction &function) : function_(&function) {}
    AdmissionSlot(const AdmissionSlot &) = delete;
    AdmissionSlot &operator=(const AdmissionSlot &) = delete;
    ~AdmissionSlot() { function_->release(); }

  private:
    SimFunction *function_;
};

class FunctionTable {
  public:
    explicit FunctionTable(
        std::vector<FunctionSpec> specs,
        std::chrono::system_clock::time_point created_at = std::chrono::system_clock::now());

    // Accepts "name" or "name.namespace", as the gateway does; nullptr when unknown.
    SimFunction *find(std::string_view name) const;

    const std::vector<std::unique_ptr<SimFunction>> &all() const { return functions_; }
    std::set<std::string> namespaces() const;
    std::vector<FunctionMetricsView> metrics_views() const;

  private:
    std::vector<std::unique_ptr<SimFunction>> functions_;
    // Transparent hashing lets find() look names up without building a string per request.
    struct NameHash {
        using is_transparent = void;
        size_t operator()(std::string_view name) const {
            return std::hash<std::string_view>{}(name);
        }
    };
    std::unordered_map<std::string, SimFunction *, NameHash, std::equal_to<>> by_name_;
};

}  // namespace faas_sim
