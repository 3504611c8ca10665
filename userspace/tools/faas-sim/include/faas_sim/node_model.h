// The node model: a node of `cpus` virtual CPUs shared by its functions, with a watchdog-like
// queue per function. A request holds one virtual CPU for its function's cost_ms of wall time
// (a sleep, so that several simulated nodes fit on a small machine); requests that find no free
// CPU, or whose function has no free slot (replicas x max_inflight), wait in their function's
// queue in arrival order across the node. A full queue refuses (429); a request still waiting
// timeout_ms after its arrival gives up (502, the gateway's upstream timeout); a request whose
// cost_ms is longer than timeout_ms is cut at timeout_ms after its start (408, the watchdog's
// exec_timeout).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "faas_sim/function_spec.h"

namespace faas_sim {

class SimFunction;

// What the Prometheus exposition shows of the node: node-exporter's names, which the agent's
// default node queries read.
struct NodeMetricsView {
    struct Cpu {
        double busy_seconds = 0;  // node_cpu_seconds_total{mode="user"}
        double idle_seconds = 0;  // node_cpu_seconds_total{mode="idle"}
    };
    std::vector<Cpu> cpus;
    // The virtual CPU seconds each function's requests held, under cAdvisor's names
    // (container_cpu_usage_seconds_total): what the agent's function_cpu_query reads.
    struct FunctionCpu {
        std::string name;            // container="<name>"
        std::string namespace_name;  // namespace="<namespace>"
        double seconds = 0;
    };
    std::vector<FunctionCpu> function_cpu;  // in the order of the functions given to metrics()
    uint64_t memory_total_bytes = 0;
    uint64_t memory_available_bytes = 0;
    uint32_t busy_cpus = 0;
    uint32_t peak_busy_cpus = 0;
};

class NodeModel {
  public:
    using Clock = std::chrono::steady_clock;

    enum class Result {
        Started,          // the request holds a CPU: call finish() when done
        QueueFull,        // the function's queue was full: 429
        TimedOutInQueue,  // timeout_ms passed before a CPU was free: 502
        Stopping,         // the server is stopping
    };
    struct Admission {
        Result result = Result::Stopping;
        uint32_t cpu = 0;  // the CPU held, when Started
        // When the CPU was given: the request's cost counts from here, not from when its thread
        // woke up, so that wake-up delays do not lower the node's capacity.
        Clock::time_point started;
    };

    explicit NodeModel(NodeSpec spec);
    NodeModel(const NodeModel &) = delete;
    NodeModel &operator=(const NodeModel &) = delete;

    const NodeSpec &spec() const { return spec_; }

    // Waits for a CPU for one request of `function` that arrived at `arrival`; the wait ends at
    // arrival + timeout_ms when the function has a timeout.
    Admission acquire(SimFunction &function, Clock::time_point arrival);
    // Frees the CPU of a started request and gives it to the first eligible waiter.
    void finish(SimFunction &function, uint32_t cpu);
    // More replicas may let waiters of a function at its concurrency start.
    void replicas_changed();
    // Wakes every waiter, which then answers Stopping; later acquire() calls do too.
    void stop();

    // `functions` for the memory in use: base + replicas x memory_mb + admitted x request memory.
    NodeMetricsView metrics(const std::vector<const SimFunction *> &functions) const;

  private:
    struct Waiter {
        SimFunction *function = nullptr;
        std::condition_variable wake;
        bool granted = false;
        uint32_t cpu = 0;
        Clock::time_point started;
    };

    bool has_free_slot(const SimFunction &function) const;
    // Requires a free CPU and the lock.
    uint32_t take_cpu(const SimFunction &function, Clock::time_point now);
    void dispatch(Clock::time_point now);  // requires the lock

    const NodeSpec spec_;
    const Clock::time_point started_;
    mutable std::mutex mutex_;
    std::list<Waiter *> waiters_;  // arrival order across the node
    std::vector<uint32_t> free_cpus_;
    std::vector<Clock::duration> busy_total_;  // per CPU, finished requests
    std::vector<Clock::time_point> busy_since_;
    std::vector<bool> busy_;
    // The function whose request holds each busy CPU, and the CPU time of each function's
    // finished requests; a request in progress counts as it progresses (metrics() adds the time
    // since it started), as busy_total_ does for the CPUs, so the functions' seconds add up to
    // the node's busy seconds.
    std::vector<const SimFunction *> holder_;
    std::map<const SimFunction *, Clock::duration> function_busy_total_;
    uint32_t peak_busy_ = 0;
    bool stopping_ = false;
};

}  // namespace faas_sim
