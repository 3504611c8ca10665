#include "dp_commands.h"

#include <cerrno>
#include <iostream>
#include <memory>

#include "dfaas/dataplane/dataplane.h"
#include "dfaas/dataplane/json.h"

namespace dfaas::cli {

namespace {

using dp::Dataplane;
using nlohmann::json;

int exit_code_for(const dp::Error &e) {
    switch (e.error_number()) {
        case EPERM:
        case EACCES:
            return kPermission;
        case ENOENT:
            return kNotFound;
        default:
            return kUsage;
    }
}

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

std::string weights_text(const std::map<Ipv4, uint32_t> &weights) {
    std::string text;
    for (const auto &[a, w] : weights)
        text += (text.empty() ? "" : " ") + a.str() + "=" + std::to_string(w);
    return text.empty() ? "-" : text;
}

void print_status(const GlobalOptions &g, const dp::Status &st) {
    if (g.format == Format::Json) return print_json(std::cout, dp::to_json(st));
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
    t.add({"attached since", format_unix_time(st.attached_unix_ns)});
    t.add({"node", st.settings.node.str()});
    t.add({"gateway", st.settings.gateway.str()});
    t.add({"reject mode", to_string(st.settings.reject_mode)});
    t.add({"mtu", std::to_string(st.settings.mtu)});
    t.add({"steering", st.settings.enabled ? "enabled" : "disabled (all traffic passes)"});
    t.add({"conntrack capacity", std::to_string(st.ct_capacity)});
    t.add({"pin directory", st.bpffs});
    t.add({"abi version", std::to_string(st.abi_version)});
    t.print(std::cout);
}

void print_stats(const GlobalOptions &g, const dp::Stats &st) {
    if (g.format == Format::Json) return print_json(std::cout, dp::to_json(st));
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
    if (g.format == Format::Json) {
        json arr = json::array();
        for (const auto &e : entries)
            arr.push_back(dp::to_json(e));
        return print_json(std::cout, arr);
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
    if (g.format == Format::Json)
        print_json(std::cout, out);
    else
        t.print(std::cout);
}

}  // namespace

void add_dp_commands(CLI::App &app, GlobalOptions &g, std::function<int()> &run) {
    auto *dp_cmd = app.add_subcommand("dp", "Operate the data plane's pinned maps directly (root)");
    dp_cmd->require_subcommand(1);

    // attach
    auto attach = std::make_shared<dp::AttachOptions>();
    auto node_ip = std::make_shared<std::string>();
    auto gateway = std::make_shared<std::string>();
    auto reject = std::make_shared<std::string>("rst");
    auto *c =
        dp_cmd->add_subcommand("attach", "Load and attach the programs (replaces atomically)");
    c->add_option("--iface", attach->interface, "Interface to attach to")->required();
    c->add_option("--node-ip", *node_ip, "This node's address (function ports live here)")
        ->required();
    c->add_option("--gateway", *gateway, "Local gateway IP:PORT (DNAT target)")->required();
    c->add_option("--reject-mode", *reject, "rst or drop")->check(CLI::IsMember({"rst", "drop"}));
    c->add_option("--mtu", attach->settings.mtu, "Path MTU towards peers (0 = interface MTU)");
    c->add_option("--ct-entries", attach->ct_entries, "Conntrack capacity");
    c->callback([&g, &run, attach, node_ip, gateway, reject] {
        run = [&g, attach, node_ip, gateway, reject] {
            return guarded([&] {
                attach->bpffs = g.bpffs;
                attach->settings.node = parse_ip(*node_ip, "--node-ip");
                auto gw = Endpoint::parse(*gateway);
                if (!gw)
                    throw CommandError{"--gateway: \"" + *gateway + "\" is not IP:PORT", kUsage};
                attach->settings.gateway = *gw;
                attach->settings.reject_mode = *dp::parse_reject_mode(*reject);
                auto d = Dataplane::attach(*attach);
                print_status(g, d->status());
                return kOk;
            });
        };
    });

    c = dp_cmd->add_subcommand("detach", "Detach the programs and unpin every map");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                bool removed = Dataplane::detach(g.bpffs);
                std::cerr << (removed ? "detached; maps under " + g.bpffs + " unpinned"
                                      : "nothing attached under " + g.bpffs)
                          << '\n';
                return kOk;
            });
        };
    });

    c = dp_cmd->add_subcommand("status", "Where the data plane is attached and its settings");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                print_status(g, Dataplane::open(g.bpffs)->status());
                return kOk;
            });
        };
    });

    // service add|del|list
    auto *svc = dp_cmd->add_subcommand("service", "Function ports");
    svc->require_subcommand(1);
    auto svc_port = std::make_shared<uint16_t>(0);
    auto svc_fn = std::make_shared<std::string>();
    auto svc_addr = std::make_shared<std::string>();
    auto svc_peer = std::make_shared<bool>(false);
    c = svc->add_subcommand("add", "Map PORT on this node (or --addr) to FUNCTION");
    c->add_option("port", *svc_port, "Function port")->required()->check(CLI::Range(1, 65535));
    c->add_option("function", *svc_fn, "Function name")->required();
    c->add_option("--addr", *svc_addr, "Address of the port (default: this node's address)");
    c->add_flag("--peer-port", *svc_peer, "The port belongs to a peer (forwarded-in traffic)");
    c->callback([&g, &run, svc_port, svc_fn, svc_addr, svc_peer] {
        run = [&g, svc_port, svc_fn, svc_addr, svc_peer] {
            return guarded([&] {
                auto d = Dataplane::open(g.bpffs);
                dp::Service s;
                s.addr = svc_addr->empty() ? d->settings().node : parse_ip(*svc_addr, "--addr");
                s.port = *svc_port;
                s.function = *svc_fn;
                s.local = !*svc_peer;
                d->set_service(s);
                return kOk;
            });
        };
    });
    c = svc->add_subcommand("del", "Remove a function port");
    c->add_option("port", *svc_port, "Function port")->required()->check(CLI::Range(1, 65535));
    c->add_option("--addr", *svc_addr, "Address of the port (default: this node's address)");
    c->callback([&g, &run, svc_port, svc_addr] {
        run = [&g, svc_port, svc_addr] {
            return guarded([&] {
                auto d = Dataplane::open(g.bpffs);
                Ipv4 addr = svc_addr->empty() ? d->settings().node : parse_ip(*svc_addr, "--addr");
                if (!d->delete_service(addr, *svc_port))
                    throw CommandError{
                        "no service at " + addr.str() + ":" + std::to_string(*svc_port), kNotFound};
                return kOk;
            });
        };
    });
    c = svc->add_subcommand("list", "List function ports");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                auto list = Dataplane::open(g.bpffs)->services();
                if (g.format == Format::Json) {
                    json arr = json::array();
                    for (const auto &s : list)
                        arr.push_back(dp::to_json(s));
                    print_json(std::cout, arr);
                    return kOk;
                }
                Table t({"ADDRESS", "PORT", "FUNCTION", "OWNER"});
                for (const auto &s : list)
                    t.add({s.addr.str(), std::to_string(s.port), s.function,
                           s.local ? "this node" : "peer"});
                t.print(std::cout);
                return kOk;
            });
        };
    });

    // peer add|del|list
    auto *peer = dp_cmd->add_subcommand("peer", "Peers (who may forward to us; policy targets)");
    peer->require_subcommand(1);
    auto peer_ip = std::make_shared<std::string>();
    c = peer->add_subcommand("add", "Add a peer");
    c->add_option("ip", *peer_ip, "Peer address")->required();
    c->callback([&g, &run, peer_ip] {
        run = [&g, peer_ip] {
            return guarded([&] {
                uint32_t idx = Dataplane::open(g.bpffs)->add_peer(parse_ip(*peer_ip, "peer"));
                if (g.format == Format::Json)
                    print_json(std::cout, json{{"addr", *peer_ip}, {"index", idx}});
                return kOk;
            });
        };
    });
    c = peer->add_subcommand("del", "Remove a peer (and its weights from every policy)");
    c->add_option("ip", *peer_ip, "Peer address")->required();
    c->callback([&g, &run, peer_ip] {
        run = [&g, peer_ip] {
            return guarded([&] {
                if (!Dataplane::open(g.bpffs)->remove_peer(parse_ip(*peer_ip, "peer")))
                    throw CommandError{"peer " + *peer_ip + " not found", kNotFound};
                return kOk;
            });
        };
    });
    c = peer->add_subcommand("list", "List peers");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                auto list = Dataplane::open(g.bpffs)->peers();
                if (g.format == Format::Json) {
                    json arr = json::array();
                    for (const auto &p : list)
                        arr.push_back(json{{"addr", p.addr.str()}, {"index", p.index}});
                    print_json(std::cout, arr);
                    return kOk;
                }
                Table t({"PEER", "INDEX"});
                for (const auto &p : list)
                    t.add({p.addr.str(), std::to_string(p.index)});
                t.print(std::cout);
                return kOk;
            });
        };
    });

    // policy set|show|clear
    auto *pol = dp_cmd->add_subcommand("policy", "Per-function policies");
    pol->require_subcommand(1);
    struct PolicyArgs {
        std::string function;
        uint32_t local = 0, reject = 0, local_cap = 0;
        std::vector<std::string> peers, overflow, limit_in;
    };
    auto pa = std::make_shared<PolicyArgs>();
    c = pol->add_subcommand("set", "Install a policy (atomic; counters untouched)");
    c->add_option("function", pa->function, "Function name")->required();
    c->add_option("--local", pa->local, "Weight of the local gateway (0-100)")
        ->check(CLI::Range(0, 100));
    c->add_option("--peer", pa->peers, "Weight of a peer, IP=W (repeatable)");
    c->add_option("--reject", pa->reject, "Weight of reject (0-100)")->check(CLI::Range(0, 100));
    c->add_option("--local-cap", pa->local_cap, "Local new connections per second (0 = no cap)");
    c->add_option("--overflow", pa->overflow,
                  "Overflow weight of a peer when the local cap is reached, IP=W");
    c->add_option("--limit-in", pa->limit_in, "Forwarded-in cap from a peer in conn/s, IP=N");
    c->callback([&g, &run, pa] {
        run = [&g, pa] {
            return guarded([&] {
                FunctionPolicy p;
                p.local = pa->local;
                p.reject = pa->reject;
                p.peers = parse_pairs(pa->peers, "--peer");
                p.local_cap = pa->local_cap;
                p.overflow = parse_pairs(pa->overflow, "--overflow");
                p.limit_in = parse_pairs(pa->limit_in, "--limit-in");
                if (auto err = p.validate()) throw CommandError{*err, kUsage};
                Dataplane::open(g.bpffs)->set_policy(pa->function, p);
                return kOk;
            });
        };
    });
    auto show_fn = std::make_shared<std::string>();
    c = pol->add_subcommand("show", "Show installed policies");
    c->add_option("function", *show_fn, "Only this function");
    c->callback([&g, &run, show_fn] {
        run = [&g, show_fn] {
            return guarded([&] {
                auto d = Dataplane::open(g.bpffs);
                print_policies(g, *d, *show_fn);
                return kOk;
            });
        };
    });
    c = pol->add_subcommand("clear", "Uninstall a function's policy");
    c->add_option("function", *show_fn, "Function name")->required();
    c->callback([&g, &run, show_fn] {
        run = [&g, show_fn] {
            return guarded([&] {
                auto d = Dataplane::open(g.bpffs);
                if (!d->function_id(*show_fn))
                    throw CommandError{"function " + *show_fn + " not found", kNotFound};
                d->clear_policy(*show_fn);
                return kOk;
            });
        };
    });

    c = dp_cmd->add_subcommand("stats", "Counters per function and path, reasons, peers");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                print_stats(g, Dataplane::open(g.bpffs)->stats());
                return kOk;
            });
        };
    });

    auto ct_limit = std::make_shared<size_t>(1000);
    c = dp_cmd->add_subcommand("ct", "Tracked connections");
    c->add_option("--limit", *ct_limit, "At most this many entries");
    c->callback([&g, &run, ct_limit] {
        run = [&g, ct_limit] {
            return guarded([&] {
                print_ct(g, Dataplane::open(g.bpffs)->conntrack(*ct_limit));
                return kOk;
            });
        };
    });

    c = dp_cmd->add_subcommand("gc", "Delete expired conntrack entries now");
    c->callback([&g, &run] {
        run = [&g] {
            return guarded([&] {
                auto r = Dataplane::open(g.bpffs)->collect_garbage();
                if (g.format == Format::Json)
                    print_json(
                        std::cout,
                        json{{"scanned", r.scanned}, {"expired", r.expired}, {"live", r.live}});
                else
                    std::cout << "scanned " << r.scanned << ", expired " << r.expired << ", live "
                              << r.live << '\n';
                return kOk;
            });
        };
    });
}

}  // namespace dfaas::cli
