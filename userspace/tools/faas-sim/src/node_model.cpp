#include "faas_sim/node_model.h"

#include <algorithm>

#include "faas_sim/function_table.h"

namespace faas_sim {
namespace {

constexpr uint64_t kBytesPerMb = 1024 * 1024;

double seconds(NodeModel::Clock::duration duration) {
    return std::chrono::duration<double>(duration).count();
}

}  // namespace

NodeModel::NodeModel(NodeSpec spec)
    : spec_(spec),
      started_(Clock::now()),
      busy_total_(spec.cpus, Clock::duration::zero()),
      busy_since_(spec.cpus),
      busy_(spec.cpus, false),
      holder_(spec.cpus, nullptr) {
    // Popped from the back: CPU 0 is taken first, as on an idle machine.
    for (uint32_t cpu = spec_.cpus; cpu > 0; --cpu)
        free_cpus_.push_back(cpu - 1);
}

bool NodeModel::has_free_slot(const SimFunction &function) const {
    const uint64_t per_replica = function.spec().max_inflight;
    return per_replica == 0 || function.running() < function.replicas() * per_replica;
}

uint32_t NodeModel::take_cpu(const SimFunction &function, Clock::time_point now) {
    const uint32_t cpu = free_cpus_.back();
    free_cpus_.pop_back();
    busy_[cpu] = true;
    holder_[cpu] = &function;
    busy_since_[cpu] = now;
    peak_busy_ = std::max(peak_busy_, spec_.cpus - static_cast<uint32_t>(free_cpus_.size()));
    return cpu;
}

void NodeModel::dispatch(Clock::time_point now) {
    for (auto it = waiters_.begin(); it != waiters_.end() && !free_cpus_.empty();) {
        Waiter *waiter = *it;
        if (!has_free_slot(*waiter->function)) {
            ++it;  // its function is at its concurrency; later arrivals of others may go first
            continue;
        }
        waiter->granted = true;
        waiter->cpu = take_cpu(*waiter->function, now);
        waiter->started = now;
        waiter->function->add_queued(-1);
        waiter->function->add_running(1);
        it = waiters_.erase(it);
        waiter->wake.notify_one();
    }
}

NodeModel::Admission NodeModel::acquire(SimFunction &function, Clock::time_point arrival) {
    std::unique_lock lock(mutex_);
    if (stopping_) return {Result::Stopping, 0, {}};
    // dispatch() runs after every change, so a free CPU here means every waiter's function is
    // at its concurrency: this request overtakes no one it could have waited behind.
    if (!free_cpus_.empty() && has_free_slot(function)) {
        function.add_running(1);
        const auto now = Clock::now();
        return {Result::Started, take_cpu(function, now), now};
    }
    if (function.queued() >= function.spec().queue) return {Result::QueueFull, 0, {}};

    Waiter waiter;
    waiter.function = &function;
    auto position = waiters_.insert(waiters_.end(), &waiter);
    function.add_queued(1);
    const uint64_t timeout_ms = function.spec().timeout_ms;
    if (timeout_ms == 0) {
        waiter.wake.wait(lock, [&] { return waiter.granted || stopping_; });
    } else {
        const auto deadline = arrival + std::chrono::milliseconds(timeout_ms);
        waiter.wake.wait_until(lock, deadline, [&] { return waiter.granted || stopping_; });
    }
    if (waiter.granted) return {Result::Started, waiter.cpu, waiter.started};
    waiters_.erase(position);
    function.add_queued(-1);
    return {stopping_ ? Result::Stopping : Result::TimedOutInQueue, 0, {}};
}

void NodeModel::finish(SimFunction &function, uint32_t cpu) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    busy_total_[cpu] += now - busy_since_[cpu];
    function_busy_total_[&function] += now - busy_since_[cpu];
    busy_[cpu] = false;
    holder_[cpu] = nullptr;
    free_cpus_.push_back(cpu);
    function.add_running(-1);
    dispatch(now);
}

void NodeModel::replicas_changed() {
    std::lock_guard lock(mutex_);
    dispatch(Clock::now());
}

void NodeModel::stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Waiter *waiter : waiters_)
        waiter->wake.notify_one();
}

NodeMetricsView NodeModel::metrics(const std::vector<const SimFunction *> &functions) const {
    NodeMetricsView view;
    {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        const double elapsed = seconds(now - started_);
        view.cpus.reserve(spec_.cpus);
        for (uint32_t cpu = 0; cpu < spec_.cpus; ++cpu) {
            auto busy = busy_total_[cpu];
            if (busy_[cpu]) busy += now - busy_since_[cpu];
            const double busy_seconds = seconds(busy);
            view.cpus.push_back({busy_seconds, std::max(0.0, elapsed - busy_seconds)});
        }
        view.function_cpu.reserve(functions.size());
        for (const SimFunction *function : functions) {
            auto held = Clock::duration::zero();
            if (auto it = function_busy_total_.find(function); it != function_busy_total_.end())
                held = it->second;
            for (uint32_t cpu = 0; cpu < spec_.cpus; ++cpu)
                if (busy_[cpu] && holder_[cpu] == function) held += now - busy_since_[cpu];
            view.function_cpu.push_back(
                {function->spec().name, function->spec().namespace_name, seconds(held)});
        }
        view.busy_cpus = spec_.cpus - static_cast<uint32_t>(free_cpus_.size());
        view.peak_busy_cpus = peak_busy_;
    }
    // In floating point: /system/scale-function may set any replica count.
    double used_mb = static_cast<double>(spec_.base_memory_mb);
    for (const SimFunction *function : functions) {
        used_mb += static_cast<double>(function->replicas()) *
                       static_cast<double>(function->spec().memory_mb) +
                   static_cast<double>(function->inflight()) *
                       static_cast<double>(function->spec().request_memory_mb);
    }
    const double total_mb = static_cast<double>(spec_.memory_mb);
    view.memory_total_bytes = spec_.memory_mb * kBytesPerMb;
    // Scaled past the node's memory, the node has none left (a real one would swap or OOM).
    view.memory_available_bytes =
        static_cast<uint64_t>(std::max(0.0, total_mb - used_mb) * double(kBytesPerMb));
    return view;
}

}  // namespace faas_sim
