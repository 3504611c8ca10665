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

    Stats stats() const;
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
// prints warnings to stderr, and debug output too when DFAAS_LIBBPF_DEBUG is set.
enum class LogLevel { Debug, Info, Warn };
void set_libbpf_log_sink(std::function<void(LogLevel, const std::string &)> sink);

// Names of the drop/pass reasons, in the order of enum dfaas_reason.
const std::vector<std::string> &reason_names();

}  // namespace dfaas::dp
