#include "dp_commands.h"

#include <cerrno>
#include <iostream>
#include <memory>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"
#include "dfaas/dataplane/json.h"

namespace dfaas::cli {

namespace {

using dp::Dataplane;
using nlohmann::json;

// Runs a command body, turning library errors into a one-line message and an exit code.
int guarded(const std::function<int()> &body) {
    try {
        return body();
    } catch (const dp::Error &e) {
        std::cerr << "dfaasctl: " << e.what() << '\n';
        return exit_code_for(e);
    } catch (const CommandError &e) {
        std::cerr << "dfaasctl: " << e.message << '\n';
        return e.code;
    } catch (const std::exception &e) {  // a bug or an exhausted resource, never a crash
        std::cerr << "dfaasctl: unexpected error: " << e.what() << '\n';
        return kFailure;
    }
}

Ipv4 parse_ip(const std::string &text, const std::string &what) {
    auto ip = Ipv4::parse(text);
    if (!ip) throw CommandError{what + ": \"" + text + "\" is not an IPv4 address", kUsage};
    return *ip;
}

// "IP=N" pairs for --peer, --overflow and --limit-in.
std::map<Ipv4, uint32_t> parse_pairs(const std::vector<std::string> &items,
                                     const std::string &option) {
    std::map<Ipv4, uint32_t> out;
    for (const auto &item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos)
            throw CommandError{option + " expects IP=N, got \"" + item + "\"", kUsage};
        Ipv4 ip = parse_ip(item.substr(0, eq), option);
        try {
            size_t used = 0;
            unsigned long n = std::stoul(item.substr(eq + 1), &used);
            if (used != item.size() - eq - 1 || n > 0xffffffffu) throw std::out_of_range("");
            out[ip] = static_cast<uint32_t>(n);
        } catch (const std::exception &) {
            throw CommandError{option + ": \"" + item.substr(eq + 1) + "\" is not a number",
                               kUsage};
        }
    }
    return out;
}

// A function name as the data plane stores it (1..63 bytes): checked before any map is opened,
// so a bad name never leaves a half-done change.
const std::string &checked_function(const std::string &name) {
    if (name.empty() || name.size() >= DFAAS_FUNCTION_NAME_LEN)
        throw CommandError{"function name \"" + name.substr(0, DFAAS_FUNCTION_NAME_LEN) +
                               (name.size() > DFAAS_FUNCTION_NAME_LEN ? "..." : "") +
                               "\" must be 1 to " + std::to_string(DFAAS_FUNCTION_NAME_LEN - 1) +
                               " characters",
                           kUsage};
    return name;
}

std::string weights_text(const std::map<Ipv4, uint32_t> &weights) {
    std::string text;
    for (const auto &[a, w] : weights)
        text += (text.empty() ? "" : " ") + a.str() + "=" + std::to_string(w);
    return text.empty() ? "-" : text;
}

void print_status(const GlobalOptions &g, const dp::Status &st) {
    if (is_document(g.format)) return print_document(std::cout, g.format, dp::to_json(st));
    Table t({"FIELD", "VALUE"});
    t.add({"interface", st.interface.empty()
                            ? "ifindex " + std::to_string(st.ifindex) + " (not in this netns)"
                            : st.interface});
    t.add({"ingress", st.ingress_attached
                          ? "attached (prog " + std::to_string(st.ingress_prog_id) + ")"
                          : "not attached"});
    t.add({"egress", st.egress_attached
                         ? "attached (prog " + std::to_string(st.egress_prog_id) + ")"
                         : "not attached"});
    for (const auto &a : st.interfaces)
        t.add({a.uplink ? "uplink" : "client interface",
               (a.name.empty() ? "ifindex " + std::to_string(a.ifindex) : a.name) +
                   " (ingress prog " + std::to_string(a.ingress_prog_id) + ", egress prog " +
                   std::to_string(a.egress_prog_id) + ")"});
    t.add({"attached since", format_unix_time(st.attached_unix_ns)});
    t.add({"node", st.settings.node.str()});
    t.add({"gateway", st.settings.gateway.str()});
    t.add({"reject mode", std::string(to_string(st.settings.reject_mode))});
    t.add({"mtu", std::to_string(st.settings.mtu)});
    t.add({"steering", st.settings.enabled ? "enabled" : "disabled (all traffic passes)"});
    t.add({"http stats", st.settings.http_stats ? "recorded" : "off (requests counted only)"});
    t.add({"conntrack capacity", std::to_string(st.ct_capacity)});
    t.add({"half-open capacity", std::to_string(st.ct_half_open_capacity)});
    t.add({"pin directory", st.bpffs});
    t.add({"abi version", std::to_string(st.abi_version)});
    t.print(std::cout);
}

void print_stats(const GlobalOptions &g, const dp::Stats &st) {
    if (is_document(g.format)) return print_document(std::cout, g.format, dp::to_json(st));
    Table f({"FUNCTION", "PATH", "CONNS", "REQUESTS", "PACKETS", "BYTES"});
    auto row = [&](const std::string &fn, const std::string &path, const dp::PathCounters &c) {
        if (c.connections == 0 && c.packets == 0) return;
        f.add({fn, path, format_count(c.connections), format_count(c.requests),
               format_count(c.packets), format_bytes(c.bytes)});
    };
    for (const auto &fs : st.functions) {
        row(fs.name, "local", fs.local);
        for (const auto &[peer, c] : fs.to_peer)
            row(fs.name, "peer " + peer.str(), c);
        row(fs.name, "reject", fs.reject);
        row(fs.name, "forwarded-in", fs.forwarded_in);
        row(fs.name, "forwarded-in reject", fs.forwarded_in_reject);
    }
    if (!f.empty()) {
        f.print(std::cout);
        std::cout << '\n';
    }
    Table r({"REASON", "COUNT"});
    for (const auto &[name, v] : st.reasons)
        if (v) r.add({name, std::to_string(v)});
    r.print(std::cout);
    if (!st.peers.empty()) {
        std::cout << '\n';
        Table p({"PEER", "SYN-FORWARDED", "SYNACK-RETURNED", "RST-RETURNED", "FORWARDED-IN"});
        for (const auto &pc : st.peers)
            p.add({pc.addr.str(), std::to_string(pc.syn_forwarded),
                   std::to_string(pc.synack_returned), std::to_string(pc.rst_returned),
                   std::to_string(pc.forwarded_in_connections)});
        p.print(std::cout);
    }
}

void print_ct(const GlobalOptions &g, const std::vector<dp::CtEntry> &entries) {
    if (is_document(g.format)) {
        json arr = json::array();
        for (const auto &e : entries)
            arr.push_back(dp::to_json(e));
        return print_document(std::cout, g.format, arr);
    }
    Table t({"CLIENT", "SERVICE", "FUNCTION", "PATH", "STATE", "PEER", "AGE", "IDLE"});
    for (const auto &e : entries)
        t.add({e.client.str() + ":" + std::to_string(e.client_port),
               e.service.str() + ":" + std::to_string(e.service_port), e.function,
               to_string(e.path), to_string(e.state), e.peer.is_unspecified() ? "-" : e.peer.str(),
               format_duration_ns(e.age.count()), format_duration_ns(e.idle.count())});
    t.print(std::cout);
}

void print_policies(const GlobalOptions &g, Dataplane &dp, const std::string &only) {
    json out = json::object();
    Table t(
        {"FUNCTION", "VERSION", "LOCAL", "PEERS", "REJECT", "LOCAL-CAP", "OVERFLOW", "LIMIT-IN"});
    bool found = false;
    for (const auto &[id, name] : dp.functions()) {
        if (!only.empty() && name != only) continue;
        auto p = dp.policy(name);
        found |= name == only;
        if (!p) {
            out[name] = nullptr;
            t.add({name, "-", "(no policy: connections pass to the stack)"});
            continue;
        }
        json j = dp::policy_to_json(p->policy);
        j["version"] = p->version;
        out[name] = j;
        t.add({name, std::to_string(p->version), std::to_string(p->policy.local),
               weights_text(p->policy.peers), std::to_string(p->policy.reject),
               p->policy.local_cap ? std::to_string(p->policy.local_cap) : "-",
               weights_text(p->policy.overflow), weights_text(p->policy.limit_in)});
    }
    if (!only.empty() && !found) throw CommandError{"function " + only + " not found", kNotFound};
    if (is_document(g.format))
        print_document(std::cout, g.format, out);
    else
        t.print(std::cout);
}

// When `cmd` is chosen on the command line, `run` becomes `body`, guarded. The options of `cmd`
// are bound to state the body shares (shared_ptr), so it outlives the registration function.
void on_run(CLI::App *cmd, std::function<int()> &run, std::function<int()> body) {
    cmd->callback([&run, body = std::move(body)] { run = [body] { return guarded(body); }; });
}

// Conntrack table sizes accepted on the command line: the agent's range for
// dataplane.ct_entries and dataplane.ct_half_open_entries (docs/config-reference.md).
constexpr uint32_t kMinCtEntries = 1024;
constexpr uint32_t kMaxCtEntries = 16 * 1024 * 1024;

void add_attach(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto attach = std::make_shared<dp::AttachOptions>();
    auto node_ip = std::make_shared<std::string>();
    auto gateway = std::make_shared<std::string>();
    auto reject = std::make_shared<std::string>("rst");
    auto ifaces = std::make_shared<std::vector<std::string>>();
    auto *c = dp_cmd.add_subcommand("attach", "Load and attach the programs (replaces atomically)");
    c->add_option("--iface", *ifaces,
                  "Interfaces to attach to, repeatable or a comma list: the first is the uplink "
                  "(peers), the others client interfaces such as a CNI bridge (at most " +
                      std::to_string(dp::kMaxInterfaces) + ")")
        ->required()
        ->delimiter(',');
    c->add_option("--node-ip", *node_ip, "This node's address (function ports live here)")
        ->required();
    c->add_option("--gateway", *gateway, "Local gateway IP:PORT (DNAT target)")->required();
    c->add_option("--reject-mode", *reject, "rst or drop")->check(CLI::IsMember({"rst", "drop"}));
    c->add_option("--mtu", attach->settings.mtu, "Path MTU towards peers (0 = interface MTU)");
    c->add_flag("!--no-http-stats", attach->settings.http_stats,
                "Do not record HTTP response codes and latencies (requests are still counted)");
    c->add_option("--ct-entries", attach->ct_entries,
                  "Capacity of the established-connection table")
        ->check(CLI::Range(kMinCtEntries, kMaxCtEntries));
    c->add_option("--ct-half-open-entries", attach->ct_half_open_entries,
                  "Capacity of the half-open (handshake not confirmed) connection table")
        ->check(CLI::Range(kMinCtEntries, kMaxCtEntries));
    on_run(c, run, [&g, attach, node_ip, gateway, reject, ifaces] {
        attach->bpffs = g.bpffs;
        if (ifaces->size() > dp::kMaxInterfaces)
            throw CommandError{"--iface: " + std::to_string(ifaces->size()) +
                                   " interfaces named, at most " +
                                   std::to_string(dp::kMaxInterfaces),
                               kUsage};
        attach->interface = ifaces->front();
        attach->client_interfaces.assign(ifaces->begin() + 1, ifaces->end());
        attach->settings.node = parse_ip(*node_ip, "--node-ip");
        auto gw = Endpoint::parse(*gateway);
        if (!gw) throw CommandError{"--gateway: \"" + *gateway + "\" is not IP:PORT", kUsage};
        attach->settings.gateway = *gw;
        attach->settings.reject_mode = *parse_reject_mode(*reject);
        auto d = Dataplane::attach(*attach);
        print_status(g, d->status());
        return kOk;
    });
}

void add_detach(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto *c = dp_cmd.add_subcommand("detach", "Detach the programs and unpin every map");
    on_run(c, run, [&g] {
        bool removed = Dataplane::detach(g.bpffs);
        std::cerr << (removed ? "detached; maps under " + g.bpffs + " unpinned"
                              : "nothing attached under " + g.bpffs)
                  << '\n';
        return kOk;
    });
}

void add_status(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto *c = dp_cmd.add_subcommand("status", "Where the data plane is attached and its settings");
    on_run(c, run, [&g] {
        print_status(g, Dataplane::open(g.bpffs)->status());
        return kOk;
    });
}

void add_service_add(CLI::App &svc, GlobalOptions &g, std::function<int()> &run) {
    struct Args {
        uint16_t port = 0;
        std::string function, addr;
        bool peer_port = false;
    };
    auto args = std::make_shared<Args>();
    auto *c = svc.add_subcommand("add", "Map PORT on this node (or --addr) to FUNCTION");
    c->add_option("port", args->port, "Function port")->required()->check(CLI::Range(1, 65535));
    c->add_option("function", args->function, "Function name")->required();
    c->add_option("--addr", args->addr, "Address of the port (default: this node's address)");
    c->add_flag("--peer-port", args->peer_port,
                "The port belongs to a peer (forwarded-in traffic)");
    on_run(c, run, [&g, args] {
        std::optional<Ipv4> addr;
        if (!args->addr.empty()) addr = parse_ip(args->addr, "--addr");
        dp::Service s;
        s.function = checked_function(args->function);
        s.port = args->port;
        s.local = !args->peer_port;
        auto d = Dataplane::open(g.bpffs);
        s.addr = addr ? *addr : d->settings().node;
        d->set_service(s);
        return kOk;
    });
}

void add_service_del(CLI::App &svc, GlobalOptions &g, std::function<int()> &run) {
    struct Args {
        uint16_t port = 0;
        std::string addr;
    };
    auto args = std::make_shared<Args>();
    auto *c = svc.add_subcommand("del", "Remove a function port");
    c->add_option("port", args->port, "Function port")->required()->check(CLI::Range(1, 65535));
    c->add_option("--addr", args->addr, "Address of the port (default: this node's address)");
    on_run(c, run, [&g, args] {
        std::optional<Ipv4> given;
        if (!args->addr.empty()) given = parse_ip(args->addr, "--addr");
        auto d = Dataplane::open(g.bpffs);
        Ipv4 addr = given ? *given : d->settings().node;
        if (!d->delete_service(addr, args->port))
            throw CommandError{"no service at " + addr.str() + ":" + std::to_string(args->port),
                               kNotFound};
        return kOk;
    });
}

void add_service_list(CLI::App &svc, GlobalOptions &g, std::function<int()> &run) {
    auto *c = svc.add_subcommand("list", "List function ports");
    on_run(c, run, [&g] {
        auto list = Dataplane::open(g.bpffs)->services();
        if (is_document(g.format)) {
            json arr = json::array();
            for (const auto &s : list)
                arr.push_back(dp::to_json(s));
            print_document(std::cout, g.format, arr);
            return kOk;
        }
        Table t({"ADDRESS", "PORT", "FUNCTION", "OWNER"});
        for (const auto &s : list)
            t.add(
                {s.addr.str(), std::to_string(s.port), s.function, s.local ? "this node" : "peer"});
        t.print(std::cout);
        return kOk;
    });
}

void add_peer_add(CLI::App &peer, GlobalOptions &g, std::function<int()> &run) {
    auto ip = std::make_shared<std::string>();
    auto *c = peer.add_subcommand("add", "Add a peer");
    c->add_option("ip", *ip, "Peer address")->required();
    on_run(c, run, [&g, ip] {
        Ipv4 addr = parse_ip(*ip, "peer");
        uint32_t idx = Dataplane::open(g.bpffs)->add_peer(addr);
        if (is_document(g.format))
            print_document(std::cout, g.format, json{{"addr", *ip}, {"index", idx}});
        return kOk;
    });
}

void add_peer_del(CLI::App &peer, GlobalOptions &g, std::function<int()> &run) {
    auto ip = std::make_shared<std::string>();
    auto *c = peer.add_subcommand("del", "Remove a peer (and its weights from every policy)");
    c->add_option("ip", *ip, "Peer address")->required();
    on_run(c, run, [&g, ip] {
        Ipv4 addr = parse_ip(*ip, "peer");
        if (!Dataplane::open(g.bpffs)->remove_peer(addr))
            throw CommandError{"peer " + *ip + " not found", kNotFound};
        return kOk;
    });
}

void add_peer_list(CLI::App &peer, GlobalOptions &g, std::function<int()> &run) {
    auto *c = peer.add_subcommand("list", "List peers");
    on_run(c, run, [&g] {
        auto list = Dataplane::open(g.bpffs)->peers();
        if (is_document(g.format)) {
            json arr = json::array();
            for (const auto &p : list)
                arr.push_back(json{{"addr", p.addr.str()}, {"index", p.index}});
            print_document(std::cout, g.format, arr);
            return kOk;
        }
        Table t({"PEER", "INDEX"});
        for (const auto &p : list)
            t.add({p.addr.str(), std::to_string(p.index)});
        t.print(std::cout);
        return kOk;
    });
}

void add_policy_set(CLI::App &pol, GlobalOptions &g, std::function<int()> &run) {
    struct Args {
        std::string function;
        uint32_t local = 0, reject = 0, local_cap = 0;
        std::vector<std::string> peers, overflow, limit_in;
    };
    auto args = std::make_shared<Args>();
    auto *c = pol.add_subcommand("set", "Install a policy (atomic; counters untouched)");
    c->add_option("function", args->function, "Function name")->required();
    c->add_option("--local", args->local, "Weight of the local gateway (0-100)")
        ->check(CLI::Range(0, 100));
    c->add_option("--peer", args->peers, "Weight of a peer, IP=W (repeatable)");
    c->add_option("--reject", args->reject, "Weight of reject (0-100)")->check(CLI::Range(0, 100));
    c->add_option("--local-cap", args->local_cap, "Local new connections per second (0 = no cap)");
    c->add_option("--overflow", args->overflow,
                  "Overflow weight of a peer when the local cap is reached, IP=W");
    c->add_option("--limit-in", args->limit_in, "Forwarded-in cap from a peer in conn/s, IP=N");
    on_run(c, run, [&g, args] {
        FunctionPolicy p;
        p.local = args->local;
        p.reject = args->reject;
        p.peers = parse_pairs(args->peers, "--peer");
        p.local_cap = args->local_cap;
        p.overflow = parse_pairs(args->overflow, "--overflow");
        p.limit_in = parse_pairs(args->limit_in, "--limit-in");
        if (auto err = p.validate()) throw CommandError{*err, kUsage};
        // Checked on a line of its own: in open()->set_policy(checked(...)), open() runs first.
        const std::string &function = checked_function(args->function);
        Dataplane::open(g.bpffs)->set_policy(function, p);
        return kOk;
    });
}

void add_policy_show(CLI::App &pol, GlobalOptions &g, std::function<int()> &run) {
    auto function = std::make_shared<std::string>();
    auto *c = pol.add_subcommand("show", "Show installed policies");
    c->add_option("function", *function, "Only this function");
    on_run(c, run, [&g, function] {
        if (!function->empty()) checked_function(*function);
        auto d = Dataplane::open(g.bpffs);
        print_policies(g, *d, *function);
        return kOk;
    });
}

void add_policy_clear(CLI::App &pol, GlobalOptions &g, std::function<int()> &run) {
    auto function = std::make_shared<std::string>();
    auto *c = pol.add_subcommand("clear", "Uninstall a function's policy");
    c->add_option("function", *function, "Function name")->required();
    on_run(c, run, [&g, function] {
        checked_function(*function);
        auto d = Dataplane::open(g.bpffs);
        if (!d->function_id(*function))
            throw CommandError{"function " + *function + " not found", kNotFound};
        d->clear_policy(*function);
        return kOk;
    });
}

void add_stats(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto *c = dp_cmd.add_subcommand("stats", "Counters per function and path, reasons, peers");
    on_run(c, run, [&g] {
        print_stats(g, Dataplane::open(g.bpffs)->stats());
        return kOk;
    });
}

void add_ct(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto limit = std::make_shared<size_t>(1000);
    auto *c = dp_cmd.add_subcommand("ct", "Tracked connections");
    c->add_option("--limit", *limit, "At most this many entries (1 to 16777216)")
        ->check(CLI::Range(size_t(1), size_t(16) * 1024 * 1024));
    on_run(c, run, [&g, limit] {
        print_ct(g, Dataplane::open(g.bpffs)->conntrack(*limit));
        return kOk;
    });
}

void add_gc(CLI::App &dp_cmd, GlobalOptions &g, std::function<int()> &run) {
    auto *c = dp_cmd.add_subcommand("gc", "Delete expired conntrack entries now");
    on_run(c, run, [&g] {
        auto r = Dataplane::open(g.bpffs)->collect_garbage();
        if (is_document(g.format))
            print_document(std::cout, g.format,
                           json{{"scanned", r.scanned}, {"expired", r.expired}, {"live", r.live}});
        else
            std::cout << "scanned " << r.scanned << ", expired " << r.expired << ", live " << r.live
                      << '\n';
        return kOk;
    });
}

}  // namespace

int exit_code_for(const dp::Error &e) {
    switch (e.error_number()) {
        case EPERM:
        case EACCES:
            return kPermission;
        case ENOENT:
            return kNotFound;
        default:
            return kFailure;
    }
}

void add_dp_commands(CLI::App &app, GlobalOptions &g, std::function<int()> &run) {
    auto *dp_cmd = app.add_subcommand("dp", "Operate the data plane's pinned maps directly (root)");
    dp_cmd->require_subcommand(1);
    add_attach(*dp_cmd, g, run);
    add_detach(*dp_cmd, g, run);
    add_status(*dp_cmd, g, run);

    auto *svc = dp_cmd->add_subcommand("service", "Function ports");
    svc->require_subcommand(1);
    add_service_add(*svc, g, run);
    add_service_del(*svc, g, run);
    add_service_list(*svc, g, run);

    auto *peer = dp_cmd->add_subcommand("peer", "Peers (who may forward to us; policy targets)");
    peer->require_subcommand(1);
    add_peer_add(*peer, g, run);
    add_peer_del(*peer, g, run);
    add_peer_list(*peer, g, run);

    auto *pol = dp_cmd->add_subcommand("policy", "Per-function policies");
    pol->require_subcommand(1);
    add_policy_set(*pol, g, run);
    add_policy_show(*pol, g, run);
    add_policy_clear(*pol, g, run);

    add_stats(*dp_cmd, g, run);
    add_ct(*dp_cmd, g, run);
    add_gc(*dp_cmd, g, run);
}

}  // namespace dfaas::cli
