#include "faas_sim/function_table.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace faas_sim {
namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", utc);
}

// Go's omitempty: empty maps and strings are left out.
void put_if_not_empty(nlohmann::ordered_json &out, const char *key,
                      const std::map<std::string, std::string> &values) {
    if (!values.empty()) out[key] = values;
}

void put_if_not_zero(nlohmann::ordered_json &out, const char *key, uint64_t value) {
    if (value != 0) out[key] = value;
}

}  // namespace

SimFunction::SimFunction(FunctionSpec spec, std::chrono::system_clock::time_point created_at)
    : spec_(std::move(spec)),
      qualified_name_(spec_.qualified_name()),
      created_at_(rfc3339_utc(created_at)),
      replicas_(spec_.replicas) {}

std::optional<uint64_t> SimFunction::capacity() const {
    if (spec_.max_inflight == 0) return std::nullopt;
    return replicas() * spec_.max_inflight;
}

void SimFunction::set_fault_status(int status) {
    if (status != 0) stats_.prepare_injected();
    fault_status_.store(status, std::memory_order_release);
}

bool SimFunction::try_admit() {
    std::optional<uint64_t> limit = capacity();
    if (!limit) {
        inflight_.fetch_add(1, std::memory_order_acq_rel);
        return true;
    }
    // A compare-and-swap loop, so that a rejected request never inflates the count seen by
    // others (a fetch_add-then-undo could reject a request that would have fitted).
    uint64_t current = inflight_.load(std::memory_order_relaxed);
    do {
        if (current >= *limit) return false;
    } while (!inflight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
    return true;
}

nlohmann::ordered_json SimFunction::status(bool with_invocation_count) const {
    nlohmann::ordered_json out;
    out["name"] = spec_.name;
    out["image"] = spec_.image;
    out["namespace"] = spec_.namespace_name;
    if (!spec_.env_process.empty()) out["envProcess"] = spec_.env_process;
    put_if_not_empty(out, "envVars", spec_.env_vars);
    put_if_not_empty(out, "labels", spec_.labels);
    put_if_not_empty(out, "annotations", spec_.annotations);
    put_if_not_empty(out, "limits", spec_.limits);
    put_if_not_empty(out, "requests", spec_.requests);
    if (with_invocation_count) put_if_not_zero(out, "invocationCount", stats_.completed());
    uint64_t replicas = this->replicas();
    put_if_not_zero(out, "replicas", replicas);
    put_if_not_zero(out, "availableReplicas", replicas);  // simulated replicas are ready at once
    out["createdAt"] = created_at_;
    return out;
}

FunctionTable::FunctionTable(std::vector<FunctionSpec> specs,
                             std::chrono::system_clock::time_point created_at) {
    functions_.reserve(specs.size());
    for (FunctionSpec &spec : specs) {
        auto function = std::make_unique<SimFunction>(std::move(spec), created_at);
        by_name_.emplace(function->spec().name, function.get());
        by_name_.emplace(function->qualified_name(), function.get());
        functions_.push_back(std::move(function));
    }
}

SimFunction *FunctionTable::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

std::set<std::string> FunctionTable::namespaces() const {
    std::set<std::string> out;
    for (const auto &function : functions_)
        out.insert(function->spec().namespace_name);
    if (out.empty()) out.insert(std::string(kDefaultNamespace));
    return out;
}

std::vector<FunctionMetricsView> FunctionTable::metrics_views() const {
    std::vector<FunctionMetricsView> views;
    views.reserve(functions_.size());
    for (const auto &function : functions_) {
        views.push_back({function->qualified_name(), &function->stats(), function->replicas(),
                         function->inflight(), function->capacity()});
        views.back().fault_status = function->fault_status();
    }
    return views;
}

}  // namespace faas_sim
