// The data-plane control library: the only code that touches BPF. It loads and attaches the TC
// programs, reuses pinned maps across restarts and upgrades, writes services, peers, policies and
// settings, and reads counters and conntrack.
//
// Threading: one Dataplane object is not thread-safe; use one per thread or lock around it.
// Several processes may open the same pinned maps (the agent and `dfaasctl dp`); writes of a
// single policy are atomic, but concurrent writers of function ids or peer slots race, so when
// the agent runs, operators should go through its API.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/dataplane/types.h"

struct ring_buffer;  // libbpf: the event ring reader of EventMonitor

namespace dfaas::dp {

class Maps;  // pinned map file descriptors

class Dataplane {
  public:
    // Loads the programs, reusing the maps pinned under opts.bpffs when they exist (counters,
    // rate windows and conntrack survive), writes the settings, and attaches the ingress and
    // egress programs to opts.interface with clsact. An existing attachment is replaced
    // atomically, so established connections never see a gap.
    static std::unique_ptr<Dataplane> attach(const AttachOptions &opts);

    // Opens the pinned maps of a data plane attached earlier (no program is loaded).
    static std::unique_ptr<Dataplane> open(const std::string &bpffs);

    // Removes the programs from the recorded interface and unpins every map. Idempotent: a
    // missing pin directory is not an error. Returns false when there was nothing to remove.
    static bool detach(const std::string &bpffs);

    ~Dataplane();
    Dataplane(const Dataplane &) = delete;
    Dataplane &operator=(const Dataplane &) = delete;

    Status status() const;
    Settings settings() const;
    void update_settings(const Settings &settings);

    // Functions get a small id (the index of their counters). Ids are reused after removal,
    // with their counters zeroed first.
    uint32_t ensure_function(const std::string &name);
    std::optional<uint32_t> function_id(const std::string &name) const;
    std::vector<std::pair<uint32_t, std::string>> functions() const;
    // Removes the function's services and policy and frees its id.
    void remove_function(const std::string &name);

    void set_service(const Service &service);
    bool delete_service(Ipv4 addr, uint16_t port);
    std::vector<Service> services() const;

    // Peers: who may send forwarded-in traffic, and the targets policies can name.
    uint32_t add_peer(Ipv4 addr);
    // Removes the peer from every policy (rewritten atomically) and from the table.
    bool remove_peer(Ipv4 addr);
    std::vector<Peer> peers() const;

    // Compiles and installs a policy atomically (one BPF_F_LOCK write): every peer it names must
    // be in the peer table. Counters and rate windows are untouched.
    void set_policy(const std::string &function, const FunctionPolicy &policy);
    std::optional<InstalledPolicy> policy(const std::string &function) const;
    // Uninstalls the policy: new connections to the function's ports pass to the stack.
    void clear_policy(const std::string &function);
    // The local cap shared with a connection the data plane does not see (the entry port's):
    // when the function's local rate window (the one the programs check a SYN against) is below
    // `cap`, counts one connection in it and returns true; false when the cap is reached. An
    // unknown function has no window: true. Read and write are one BPF_F_LOCK copy each, not one
    // atomic step: a program's count between them is lost (the window under-counts by the
    // connections confirmed in those microseconds).
    bool admit_local(const std::string &function, uint32_t cap);

    Stats stats() const;
    // The per-peer counters alone (what stats() reports in `peers`): a few map reads, cheap
    // enough for the failure detector's several readings per control tick.
    std::vector<PeerCounters> peer_counters() const;
    std::vector<CtEntry> conntrack(size_t limit = SIZE_MAX) const;
    // Deletes expired connections (timeouts by TCP state, from the settings).
    GcResult collect_garbage();

  private:
    explicit Dataplane(std::unique_ptr<Maps> maps, std::string bpffs);
    // Function names by id and peer indexes by address are cached: a policy write must cost a
    // couple of syscalls, not a scan of every map. Lookups that miss re-read the maps (another
    // process may have added an entry); listings always re-read.
    const std::vector<std::string> &function_names(bool refresh = true) const;
    std::optional<uint32_t> cached_function_id(const std::string &name) const;
    const std::map<Ipv4, uint32_t> &peer_indexes(bool refresh) const;
    void zero_function_counters(uint32_t id);
    void zero_peer_counters(uint32_t index);
    void write_policy(uint32_t id, const FunctionPolicy &policy);

    std::unique_ptr<Maps> maps_;
    std::string bpffs_;
    mutable std::vector<std::string> names_;
    mutable std::map<Ipv4, uint32_t> peer_index_;
    mutable bool peers_loaded_ = false;
};

// Where libbpf's messages go (the verifier log on a failed load, among others). The default sink
// prints warnings to stderr, and debug output too when DFAAS_LIBBPF_DEBUG is set. The levels are
// libbpf's (enum libbpf_print_level), not the agent's log.level.
enum class LibbpfPrintLevel { Debug, Info, Warn };
void set_libbpf_log_sink(std::function<void(LibbpfPrintLevel, const std::string &)> sink);

// Names of the drop/pass reasons, in the order of enum dfaas_reason.
const std::vector<std::string> &reason_names();

// ---- monitor events (`dfaasctl monitor`; bpf/lib/events.h) ----------------------------------

// What the data plane emits while a monitor holds the lease.
struct MonitorOptions {
    uint32_t sample_every = 1;  // keep 1 connection in N (by tuple hash); 1 = all
    uint32_t rate_per_cpu = 0;  // events/s per CPU (token bucket); 0 = unlimited
    uint32_t type_mask = 0;     // DFAAS_EVENT_BIT(type) of the types wanted; 0 = all
};
// Bounds the monitor accepts (and the program honours): larger values are refused.
constexpr uint32_t kMonitorMaxSampleEvery = 1000000;
constexpr uint32_t kMonitorMaxRatePerCpu = 1000000;

// One data-plane event, converted to host order.
struct MonitorEvent {
    uint64_t time_ns = 0;  // CLOCK_MONOTONIC_COARSE, as the data plane stamps it
    std::string type;      // "new", "reject", "forward-in"
    std::string decision;  // "local", "peer", "reject"
    uint32_t function_id = 0;
    Endpoint client;
    Endpoint service;          // the function address:port the client called
    std::optional<Ipv4> peer;  // new/peer: the target; forward-in: the forwarding node
    std::string reason;        // a reason counter's name (abi.h, struct dfaas_event)
};

// Holds the monitor lease of a data plane and reads its event ring. The lease (an expiry in
// dfaas_event_config) must be renewed at least every DFAAS_EVENT_LEASE_NS (5 s): a monitor that
// dies without releasing it stops the emission by itself. Not thread-safe.
class EventMonitor {
  public:
    // Opens the ring and the lease pinned under `bpffs` and takes the lease. Throws Error when
    // the data plane has no event maps (attached by an older binary: re-attach) or when another
    // live monitor holds the lease (EBUSY).
    static std::unique_ptr<EventMonitor> start(const std::string &bpffs,
                                               const MonitorOptions &options);
    ~EventMonitor();  // releases the lease
    EventMonitor(const EventMonitor &) = delete;
    EventMonitor &operator=(const EventMonitor &) = delete;

    // Extends the lease by DFAAS_EVENT_LEASE_NS from now.
    void renew();
    // Turns the emission off (idempotent); safe to call from a signal handler's aftermath.
    void release();
    // Waits up to timeout_ms for events and hands each to `handler`; returns how many. Records
    // of the wrong size (another binary's layout) are skipped and counted in malformed().
    int poll(int timeout_ms, const std::function<void(const MonitorEvent &)> &handler);
    uint64_t malformed() const { return malformed_; }

  private:
    EventMonitor(int ring_fd, int config_fd, MonitorOptions options);
    static int on_record(void *self, void *data, size_t size);
    void write_lease(uint64_t expires_ns);

    int ring_fd_ = -1, config_fd_ = -1;
    MonitorOptions options_;
    ::ring_buffer *ring_ = nullptr;
    const std::function<void(const MonitorEvent &)> *handler_ = nullptr;
    uint64_t malformed_ = 0;
    bool released_ = false;
};

// The event type names, for filters: "new", "reject", "forward-in" and their bit in type_mask.
std::optional<uint32_t> monitor_event_type_bit(const std::string &name);

}  // namespace dfaas::dp
