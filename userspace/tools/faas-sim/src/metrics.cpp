#include "faas_sim/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

namespace faas_sim {
namespace {

constexpr Outcome kAllOutcomes[] = {
    Outcome::Ok,          Outcome::TooManyRequests, Outcome::InternalError,
    Outcome::Unavailable, Outcome::ExecTimeout,     Outcome::QueueTimeout};
static_assert(std::size(kAllOutcomes) == kOutcomeCount);

// Buckets are upper-inclusive (le): the first bound >= seconds; the last index is +Inf.
size_t bucket_index(double seconds) {
    auto bound =
        std::lower_bound(kLatencyBucketBounds.begin(), kLatencyBucketBounds.end(), seconds);
    return static_cast<size_t>(bound - kLatencyBucketBounds.begin());
}

// Label values need `\`, `"` and newlines escaped; function names never have them, but the
// exposition must stay valid whatever a functions file contains.
std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

void family_header(std::string &out, std::string_view name, std::string_view type,
                   std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Two gateway names break promtool's lint for their declared types: the counter
// gateway_function_invocation_started lacks `_total`, and the gauge gateway_service_count ends in
// `_count`, which the lint reserves for histograms and summaries. The names are what clients
// query, so they stay, and both families are declared untyped: Prometheus stores and queries
// untyped samples exactly like counters and gauges.
constexpr std::string_view kLintSafeType = "untyped";

void render_started(std::string &out, std::span<const FunctionMetricsView> functions) {
    family_header(out, "gateway_function_invocation_started", kLintSafeType,
                  "The total number of function HTTP requests started.");
    for (const auto &function : functions) {
        fmt::format_to(std::back_inserter(out),
                       "gateway_function_invocation_started{{function_name=\"{}\"}} {}\n",
                       escape_label_value(function.qualified_name), function.stats->started());
    }
}

void add_to(LatencyHistogram::Snapshot &sum, const LatencyHistogram::Snapshot &part) {
    for (size_t i = 0; i < sum.cumulative.size(); ++i)
        sum.cumulative[i] += part.cumulative[i];
    sum.sum_seconds += part.sum_seconds;
}

// One function's answers by status code: the outcomes' (in their usual order) and then those
// of injected faults, an injected code that an outcome also answers (a 503, a 429) added to the
// outcome's series so that every (function, code) pair is one series.
std::vector<std::pair<int, LatencyHistogram::Snapshot>> snapshots_by_code(
    const FunctionStats &stats) {
    std::vector<std::pair<int, LatencyHistogram::Snapshot>> out;
    for (Outcome outcome : kAllOutcomes)
        out.emplace_back(status_code(outcome), stats.histogram(outcome).snapshot());
    for (int code = kFirstInjectableStatus; code <= kLastInjectableStatus; ++code) {
        const LatencyHistogram *injected = stats.injected_histogram(code);
        if (injected == nullptr) break;  // no fault was ever set: no injected answers at all
        LatencyHistogram::Snapshot snapshot = injected->snapshot();
        if (snapshot.count() == 0) continue;
        auto same = std::find_if(out.begin(), out.end(),
                                 [code](const auto &entry) { return entry.first == code; });
        if (same != out.end())
            add_to(same->second, snapshot);
        else
            out.emplace_back(code, snapshot);
    }
    return out;
}

void render_invocation_total(std::string &out, std::span<const FunctionMetricsView> functions) {
    family_header(out, "gateway_function_invocation_total", "counter", "Function metrics");
    for (const auto &function : functions) {
        std::string name = escape_label_value(function.qualified_name);
        for (const auto &[code, snapshot] : snapshots_by_code(*function.stats)) {
            if (snapshot.count() == 0) continue;  // like client_golang: only label sets observed
            fmt::format_to(std::back_inserter(out),
                           "gateway_function_invocation_total{{code=\"{}\",function_name=\"{}\"}} "
                           "{}\n",
                           code, name, snapshot.count());
        }
    }
}

void render_histogram_series(std::string &out, std::string_view labels,
                             const LatencyHistogram::Snapshot &snapshot) {
    for (size_t i = 0; i < kLatencyBucketBounds.size(); ++i) {
        fmt::format_to(std::back_inserter(out),
                       "gateway_functions_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                       kLatencyBucketBounds[i], snapshot.cumulative[i]);
    }
    fmt::format_to(std::back_inserter(out),
                   "gateway_functions_seconds_bucket{{{},le=\"+Inf\"}} {}\n"
                   "gateway_functions_seconds_sum{{{}}} {}\n"
                   "gateway_functions_seconds_count{{{}}} {}\n",
                   labels, snapshot.count(), labels, snapshot.sum_seconds, labels,
                   snapshot.count());
}

void render_seconds(std::string &out, std::span<const FunctionMetricsView> functions) {
    family_header(out, "gateway_functions_seconds", "histogram", "Function time taken");
    for (const auto &function : functions) {
        std::string name = escape_label_value(function.qualified_name);
        for (const auto &[code, snapshot] : snapshots_by_code(*function.stats)) {
            if (snapshot.count() == 0) continue;
            std::string labels = fmt::format("code=\"{}\",function_name=\"{}\"", code, name);
            render_histogram_series(out, labels, snapshot);
        }
    }
}

template <typename Value>
void render_per_function(std::string &out, std::string_view metric, std::string_view type,
                         std::string_view help, std::span<const FunctionMetricsView> functions,
                         Value value_of) {
    family_header(out, metric, type, help);
    for (const auto &function : functions) {
        fmt::format_to(std::back_inserter(out), "{}{{function_name=\"{}\"}} {}\n", metric,
                       escape_label_value(function.qualified_name), value_of(function));
    }
}

// node-exporter's names, so that the agent's default node_cpu_query and node_ram_query (and the
// reference's QueryCPUusage) read the model as they would read a VM.
void render_node(std::string &out, const NodeMetricsView &node,
                 std::span<const FunctionMetricsView> functions) {
    family_header(out, "node_cpu_seconds_total", "counter",
                  "Seconds the virtual CPUs spent in each mode (node model).");
    for (size_t cpu = 0; cpu < node.cpus.size(); ++cpu) {
        fmt::format_to(std::back_inserter(out),
                       "node_cpu_seconds_total{{cpu=\"{}\",mode=\"idle\"}} {:.6f}\n"
                       "node_cpu_seconds_total{{cpu=\"{}\",mode=\"user\"}} {:.6f}\n",
                       cpu, node.cpus[cpu].idle_seconds, cpu, node.cpus[cpu].busy_seconds);
    }
    family_header(out, "node_memory_MemTotal_bytes", "gauge", "Memory of the node (node model).");
    fmt::format_to(std::back_inserter(out), "node_memory_MemTotal_bytes {}\n",
                   node.memory_total_bytes);
    family_header(out, "node_memory_MemAvailable_bytes", "gauge",
                  "Memory not used by the base system, the replicas and the requests admitted.");
    fmt::format_to(std::back_inserter(out), "node_memory_MemAvailable_bytes {}\n",
                   node.memory_available_bytes);
    // cAdvisor's names, as the kubelet exposes them for the function's containers and the
    // machine: what the agent's default function_cpu_query and node_cores_query read (the
    // reference's observation divides the first by the second).
    family_header(out, "container_cpu_usage_seconds_total", "counter",
                  "Virtual CPU seconds the function's requests held (node model; mimics "
                  "cAdvisor's series of the function's container).");
    for (const auto &function : node.function_cpu) {
        const std::string container = escape_label_value(function.name);
        fmt::format_to(std::back_inserter(out),
                       "container_cpu_usage_seconds_total{{container=\"{}\",namespace=\"{}\","
                       "pod=\"{}-sim\"}} {:.6f}\n",
                       container, escape_label_value(function.namespace_name), container,
                       function.seconds);
    }
    family_header(out, "machine_cpu_cores", "gauge",
                  "Virtual CPUs of the node model (mimics cAdvisor's machine_cpu_cores).");
    fmt::format_to(std::back_inserter(out), "machine_cpu_cores {}\n", node.cpus.size());
    family_header(out, "faas_sim_node_cpus", "gauge", "Virtual CPUs of the node model.");
    fmt::format_to(std::back_inserter(out), "faas_sim_node_cpus {}\n", node.cpus.size());
    family_header(out, "faas_sim_node_busy_cpus", "gauge", "Virtual CPUs running a request now.");
    fmt::format_to(std::back_inserter(out), "faas_sim_node_busy_cpus {}\n", node.busy_cpus);
    family_header(out, "faas_sim_node_peak_busy_cpus", "gauge",
                  "The most virtual CPUs ever busy at once since the start.");
    fmt::format_to(std::back_inserter(out), "faas_sim_node_peak_busy_cpus {}\n",
                   node.peak_busy_cpus);
    render_per_function(out, "faas_sim_function_running_requests", "gauge",
                        "Requests of the function holding a virtual CPU now.", functions,
                        [](const FunctionMetricsView &f) { return f.running; });
    render_per_function(out, "faas_sim_function_queued_requests", "gauge",
                        "Requests of the function waiting for a virtual CPU now.", functions,
                        [](const FunctionMetricsView &f) { return f.queued; });
}

}  // namespace

int status_code(Outcome outcome) {
    switch (outcome) {
        case Outcome::Ok:
            return 200;
        case Outcome::TooManyRequests:
            return 429;
        case Outcome::InternalError:
            return 500;
        case Outcome::Unavailable:
            return 503;
        case Outcome::ExecTimeout:
            return 408;
        case Outcome::QueueTimeout:
            return 502;
    }
    return 500;
}

void LatencyHistogram::observe(std::chrono::nanoseconds duration) {
    double seconds = std::chrono::duration<double>(duration).count();
    counts_[bucket_index(seconds)].fetch_add(1, std::memory_order_relaxed);
    sum_nanoseconds_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, duration.count())),
                               std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
    Snapshot snapshot;
    uint64_t running = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        snapshot.cumulative[i] = running;
    }
    snapshot.sum_seconds =
        static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
    return snapshot;
}

void FunctionStats::prepare_injected() {
    std::lock_guard lock(injected_mu_);
    if (injected_storage_) return;
    injected_storage_ = std::make_unique<InjectedHistograms>();
    injected_.store(injected_storage_.get(), std::memory_order_release);
}

void FunctionStats::record_injected(int status, std::chrono::nanoseconds duration) {
    InjectedHistograms *injected = injected_.load(std::memory_order_acquire);
    if (injected == nullptr || status < kFirstInjectableStatus || status > kLastInjectableStatus)
        return;
    (*injected)[static_cast<size_t>(status - kFirstInjectableStatus)].observe(duration);
}

const LatencyHistogram *FunctionStats::injected_histogram(int status) const {
    const InjectedHistograms *injected = injected_.load(std::memory_order_acquire);
    if (injected == nullptr || status < kFirstInjectableStatus || status > kLastInjectableStatus)
        return nullptr;
    return &(*injected)[static_cast<size_t>(status - kFirstInjectableStatus)];
}

uint64_t FunctionStats::completed() const {
    uint64_t total = 0;
    for (const auto &histogram : by_outcome_)
        total += histogram.snapshot().count();
    if (const InjectedHistograms *injected = injected_.load(std::memory_order_acquire)) {
        for (const auto &histogram : *injected)
            total += histogram.snapshot().count();
    }
    return total;
}

std::string render_metrics(std::span<const FunctionMetricsView> functions,
                           const NodeMetricsView *node) {
    std::string out;
    out.reserve(1024 + functions.size() * 2048);
    render_invocation_total(out, functions);
    render_seconds(out, functions);
    render_started(out, functions);
    render_per_function(out, "gateway_service_count", kLintSafeType,
                        "Current count of replicas for function", functions,
                        [](const FunctionMetricsView &f) { return f.replicas; });
    render_per_function(out, "faas_sim_function_inflight_requests", "gauge",
                        "Requests being processed by the function now.", functions,
                        [](const FunctionMetricsView &f) { return f.inflight; });
    render_per_function(out, "faas_sim_function_fault_status", "gauge",
                        "The HTTP status an injected fault makes the function answer to every "
                        "request (POST /system/fault/{name}); 0 = none.",
                        functions, [](const FunctionMetricsView &f) { return f.fault_status; });
    render_per_function(
        out, "faas_sim_function_capacity_requests", "gauge",
        "Concurrent requests the function admits before answering 429 (+Inf: unlimited).",
        functions, [](const FunctionMetricsView &f) {
            return f.capacity ? std::to_string(*f.capacity) : std::string("+Inf");
        });
    if (node != nullptr) render_node(out, *node, functions);
    return out;
}

}  // namespace faas_sim
