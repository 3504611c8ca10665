#include "maps.h"

#include <unistd.h>

namespace dfaas::dp {

std::string describe(const std::string &what, int err) {
    if (err < 0) err = -err;
    return what + ": " + std::strerror(err);
}

const std::vector<std::string> &Maps::names() {
    static const std::vector<std::string> kNames = {
        "dfaas_config",       "dfaas_services",   "dfaas_functions",   "dfaas_policies",
        "dfaas_peers",        "dfaas_peer_addrs", "dfaas_peer_stats",  "dfaas_stats",
        "dfaas_fwd_in_stats", "dfaas_reasons",    "dfaas_rate_local",  "dfaas_rate_fwd_in",
        "dfaas_rate_syn",     "dfaas_ct",         "dfaas_ct_half_open"};
    return kNames;
}

int *Maps::slot(const std::string &name) {
    if (name == "dfaas_config") return &config;
    if (name == "dfaas_services") return &services;
    if (name == "dfaas_functions") return &functions;
    if (name == "dfaas_policies") return &policies;
    if (name == "dfaas_peers") return &peers;
    if (name == "dfaas_peer_addrs") return &peer_addrs;
    if (name == "dfaas_peer_stats") return &peer_stats;
    if (name == "dfaas_stats") return &stats;
    if (name == "dfaas_fwd_in_stats") return &fwd_in_stats;
    if (name == "dfaas_reasons") return &reasons;
    if (name == "dfaas_rate_local") return &rate_local;
    if (name == "dfaas_rate_fwd_in") return &rate_fwd_in;
    if (name == "dfaas_rate_syn") return &rate_syn;
    if (name == "dfaas_ct") return &ct;
    if (name == "dfaas_ct_half_open") return &ct_half_open;
    return nullptr;
}

std::unique_ptr<Maps> Maps::open_pinned(const std::string &dir) {
    std::unique_ptr<Maps> maps(new Maps());
    for (const auto &name : names()) {
        std::string path = dir + "/" + name;
        int fd = bpf_obj_get(path.c_str());
        if (fd < 0) {
            int err = errno;
            throw Error(describe("open pinned map " + path +
                                     (err == ENOENT ? " (is the data plane attached? "
                                                      "run `dfaasctl dp attach`)"
                                                    : ""),
                                 err),
                        err);
        }
        *maps->slot(name) = fd;
    }
    return maps;
}

Maps::~Maps() {
    for (int fd : {config, services, functions, policies, peers, peer_addrs, peer_stats, stats,
                   fwd_in_stats, reasons, rate_local, rate_fwd_in, rate_syn, ct, ct_half_open})
        if (fd >= 0) close(fd);
}

int possible_cpus() {
    static const int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

}  // namespace dfaas::dp
