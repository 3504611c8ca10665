// What the agent depends on, behind small interfaces (issue 15): the data plane, the OpenFaaS and
// Prometheus clients, the peer link and the clock. Production builds the real ones
// (make_production_dependencies); unit tests inject fakes and drive the period step and the
// control tick by hand with a clock they advance themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/clients/openfaas.h"
#include "dfaas/clients/prometheus.h"
#include "dfaas/config/config.h"
#include "dfaas/entry/server.h"
#include "dfaas/dataplane/dataplane.h"
#include "dfaas/dataplane/types.h"
#include "dfaas/policy.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/peer_table.h"
#include "peer_link.h"

namespace dfaas::agent {

// Both clocks the agent reads: steady time measures rates and durations, system time stamps
// decisions, health and peer messages. The loops' threads sleep on the real clocks: a fake clock
// is for tests that call the period step and the control tick themselves.
class AgentClock {
  public:
    virtual ~AgentClock() = default;
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;
    virtual std::chrono::system_clock::time_point system_now() const = 0;
};

class SystemAgentClock final : public AgentClock {
  public:
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::now();
    }
    std::chrono::system_clock::time_point system_now() const override {
        return std::chrono::system_clock::now();
    }
};

inline strategy::Instant wall_instant(std::chrono::system_clock::time_point t) {
    return std::chrono::time_point_cast<strategy::Millis>(t);
}

// Exactly the dp::Dataplane calls the agent makes. Every call may throw (dp::Error).
class DataplaneControl {
  public:
    virtual ~DataplaneControl() = default;
    virtual dp::Status status() const = 0;
    virtual dp::Stats stats() const = 0;
    // What stats() reports in `peers`, read alone (the failure detector reads it often).
    virtual std::vector<dp::PeerCounters> peer_counters() const { return stats().peers; }
    virtual std::vector<std::pair<uint32_t, std::string>> functions() const = 0;
    virtual void remove_function(const std::string &name) = 0;
    virtual std::optional<dp::InstalledPolicy> policy(const std::string &function) const = 0;
    virtual void set_policy(const std::string &function, const FunctionPolicy &policy) = 0;
    virtual std::vector<dp::Service> services() const = 0;
    virtual void set_service(const dp::Service &service) = 0;
    virtual bool delete_service(Ipv4 addr, uint16_t port) = 0;
    virtual std::vector<dp::Peer> peers() const = 0;
    virtual uint32_t add_peer(Ipv4 addr) = 0;
    virtual bool remove_peer(Ipv4 addr) = 0;
    virtual dp::GcResult collect_garbage() = 0;
};

// The real data plane behind the interface.
std::unique_ptr<DataplaneControl> adapt_dataplane(std::unique_ptr<dp::Dataplane> dataplane);

// What the agent asks OpenFaaS.
class FunctionSource {
  public:
    virtual ~FunctionSource() = default;
    virtual Result<std::vector<FunctionInfo>> list_functions() const = 0;
};

// What the agent asks Prometheus.
class MetricsSource {
  public:
    virtual ~MetricsSource() = default;
    virtual Result<PromQueryResult> query(std::string_view promql) const = 0;
};

struct AgentDependencies {
    std::shared_ptr<const AgentClock> clock;  // null: the system clocks
    std::unique_ptr<FunctionSource> functions;
    std::unique_ptr<MetricsSource> metrics;
    // Called by start(): attaches (or reuses the pins of) the data plane; throws when it cannot.
    std::function<std::unique_ptr<DataplaneControl>(const dp::AttachOptions &)> attach_dataplane;
    // Called by start() when the peer protocol is on (peers.cluster_key_file set); throws when
    // the key cannot be read or the port cannot be bound. The link is started by the agent.
    std::function<std::unique_ptr<PeerNetwork>(const Config &, const std::string &node_id,
                                               strategy::Millis ttl,
                                               PeerNetwork::LocalHeartbeat local)>
        open_peer_link;
    // Called by start() when entry.enabled: the entry port's server (issue 18); throws when the
    // port cannot be bound or the splice program cannot be loaded. Empty: no entry port (tests).
    std::function<std::unique_ptr<entry::EntryServer>(const entry::EntryOptions &,
                                                      entry::RoutingSource)>
        start_entry;
};

// The real clients, data plane, peer link and clock for `cfg`.
AgentDependencies make_production_dependencies(const Config &cfg);

}  // namespace dfaas::agent
