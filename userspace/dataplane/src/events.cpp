// Monitor events: the lease in dfaas_event_config and the reader of the dfaas_events ring
// (bpf/lib/events.h is the writer).
#include <arpa/inet.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"
#include "maps.h"

// The layouts the program writes (the ABI header is shared; these pin what this file reads).
static_assert(sizeof(struct dfaas_event) == 40);
static_assert(offsetof(struct dfaas_event, reason) == 20);
static_assert(offsetof(struct dfaas_event, type) == 30);
static_assert(sizeof(struct dfaas_event_config) == 24);
static_assert(sizeof(struct dfaas_event_state) == 16);
static_assert(dfaas::dp::kMonitorMaxRatePerCpu <= 1000000, "bpf/lib/events.h caps the rate");

namespace dfaas::dp {

namespace {

// The data plane's clock (lib/common.h: dfaas_now()).
uint64_t monotonic_coarse_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct TypeName {
    uint32_t type;
    const char *name;
};
constexpr TypeName kTypes[] = {
    {DFAAS_EVENT_NEW_CONNECTION, "new"},
    {DFAAS_EVENT_REJECT, "reject"},
    {DFAAS_EVENT_FORWARD_IN, "forward-in"},
};

std::string type_name(uint32_t type) {
    for (const auto &t : kTypes)
        if (t.type == type) return t.name;
    return "type_" + std::to_string(type);
}

std::string decision_name(uint32_t action) {
    switch (action) {
        case DFAAS_ACTION_LOCAL:
            return "local";
        case DFAAS_ACTION_PEER:
            return "peer";
        case DFAAS_ACTION_REJECT:
            return "reject";
        default:
            return "none";
    }
}

std::string reason_name(uint32_t reason) {
    const auto &names = reason_names();
    return reason < names.size() ? names[reason] : "reason_" + std::to_string(reason);
}

int open_pin(const std::string &bpffs, const char *name) {
    std::string path = bpffs + "/" + name;
    int fd = bpf_obj_get(path.c_str());
    if (fd >= 0) return fd;
    int err = errno;
    throw Error(describe("open pinned map " + path +
                             (err == ENOENT ? " (no monitor events there: is the data plane "
                                              "attached, by this version? `dfaasctl dp attach` "
                                              "adds them)"
                                            : ""),
                         err),
                err);
}

}  // namespace

std::optional<uint32_t> monitor_event_type_bit(const std::string &name) {
    for (const auto &t : kTypes)
        if (name == t.name) return DFAAS_EVENT_BIT(t.type);
    return std::nullopt;
}

std::unique_ptr<EventMonitor> EventMonitor::start(const std::string &bpffs,
                                                  const MonitorOptions &options) {
    if (options.sample_every > kMonitorMaxSampleEvery)
        throw Error("sample 1 in " + std::to_string(options.sample_every) + ": at most 1 in " +
                        std::to_string(kMonitorMaxSampleEvery),
                    EINVAL);
    if (options.rate_per_cpu > kMonitorMaxRatePerCpu)
        throw Error("rate " + std::to_string(options.rate_per_cpu) + " events/s per CPU: at most " +
                        std::to_string(kMonitorMaxRatePerCpu),
                    EINVAL);
    int config_fd = open_pin(bpffs, "dfaas_event_config");
    int ring_fd = -1;
    try {
        ring_fd = open_pin(bpffs, "dfaas_events");
    } catch (...) {
        close(config_fd);
        throw;
    }
    std::unique_ptr<EventMonitor> m(new EventMonitor(ring_fd, config_fd, options));

    // One monitor at a time: two readers of one ring would each see part of the events.
    uint32_t zero = 0;
    dfaas_event_config held{};
    if (map_lookup(config_fd, zero, held) && held.expires_ns > monotonic_coarse_ns() &&
        held.owner_pid != 0 && held.owner_pid != uint32_t(getpid()) &&
        (kill(pid_t(held.owner_pid), 0) == 0 || errno == EPERM)) {
        m->released_ = true;  // not ours to clear
        throw Error("another monitor (pid " + std::to_string(held.owner_pid) +
                        ") holds the event lease of " + bpffs,
                    EBUSY);
    }

    m->ring_ = ring_buffer__new(ring_fd, &EventMonitor::on_record, m.get(), nullptr);
    if (!m->ring_) {
        int err = errno;
        m->released_ = true;
        throw Error(describe("open the event ring " + bpffs + "/dfaas_events", err), err);
    }
    // Whatever an earlier monitor left unread is not this one's.
    ring_buffer__consume(m->ring_);
    m->renew();
    return m;
}

EventMonitor::EventMonitor(int ring_fd, int config_fd, MonitorOptions options)
    : ring_fd_(ring_fd), config_fd_(config_fd), options_(options) {}

EventMonitor::~EventMonitor() {
    try {
        release();
    } catch (...) {
        // The lease expires by itself (DFAAS_EVENT_LEASE_NS).
    }
    if (ring_) ring_buffer__free(ring_);
    if (ring_fd_ >= 0) close(ring_fd_);
    if (config_fd_ >= 0) close(config_fd_);
}

void EventMonitor::write_lease(uint64_t expires_ns) {
    dfaas_event_config cfg{};
    if (expires_ns != 0) {
        cfg.expires_ns = expires_ns;
        cfg.sample_every = options_.sample_every;
        cfg.rate_per_cpu = options_.rate_per_cpu;
        cfg.type_mask = options_.type_mask;
        cfg.owner_pid = uint32_t(getpid());
    }
    map_update(config_fd_, uint32_t{0}, cfg, BPF_ANY, "write the event lease");
}

void EventMonitor::renew() {
    released_ = false;
    write_lease(monotonic_coarse_ns() + DFAAS_EVENT_LEASE_NS);
}

void EventMonitor::release() {
    if (released_) return;
    released_ = true;
    write_lease(0);
}

int EventMonitor::on_record(void *self, void *data, size_t size) {
    auto *m = static_cast<EventMonitor *>(self);
    if (!m->handler_) return 0;  // draining what an earlier monitor left
    if (size != sizeof(dfaas_event)) {
        ++m->malformed_;
        return 0;
    }
    dfaas_event raw{};
    std::memcpy(&raw, data, sizeof(raw));
    MonitorEvent ev;
    ev.time_ns = raw.time_ns;
    ev.type = type_name(raw.type);
    ev.decision = decision_name(raw.decision);
    ev.function_id = raw.function_id;
    ev.client = Endpoint{Ipv4::from_network(raw.client_addr), ntohs(raw.client_port)};
    ev.service = Endpoint{Ipv4::from_network(raw.service_addr), ntohs(raw.service_port)};
    if (raw.peer_addr != 0) ev.peer = Ipv4::from_network(raw.peer_addr);
    ev.reason = reason_name(raw.reason);
    (*m->handler_)(ev);
    return 0;
}

int EventMonitor::poll(int timeout_ms, const std::function<void(const MonitorEvent &)> &handler) {
    handler_ = &handler;
    int n = ring_buffer__poll(ring_, timeout_ms);
    handler_ = nullptr;
    if (n < 0 && n != -EINTR) throw Error(describe("read the event ring", n), -n);
    return n < 0 ? 0 : n;
}

}  // namespace dfaas::dp
