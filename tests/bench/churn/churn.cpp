// dfaas-bench-churn: what a policy update costs through the control library, and a policy churn
// driver for the benchmarks (scripts/bench.sh). It opens the pinned maps of a data plane that is
// already attached (dfaasctl dp attach) and writes policies as the agent will, with
// Dataplane::set_policy.
//
//   dfaas-bench-churn cost  --bpffs DIR --peer IP [--functions 250] [--writes 1000]
//                           [--single 20000] [--repeat 20]
//       Time of one set_policy call (the policy is visible to the next SYN when it returns) and
//       of a batch of --writes policy writes spread round-robin over --functions functions
//       (the data plane holds at most DFAAS_MAX_FUNCTIONS = 256). The functions are created
//       before timing and removed afterwards. Then the agent's per-tick read (Dataplane::stats(),
//       --repeat times) with those functions, before and after each gets three rows in
//       dfaas_http_stats (local, forwarded-in, one peer): the read cost of HTTP stats per tick.
//   dfaas-bench-churn churn --bpffs DIR --function NAME --peer IP [--interval-ms 100]
//                           [--duration-s 30]
//       Rewrites NAME's policy every interval for the duration, cycling the local/peer weights
//       through 100/0, 70/30, 50/50, 30/70, 0/100, ... while the benchmark runs load through it.
//
// Output: key=value lines on stdout (times in ns), one figure per line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string command;
    std::string bpffs;
    std::string function = "echo";
    dfaas::Ipv4 peer;
    int functions = 250;
    int writes = 1000;
    int single = 20000;
    int repeat = 20;
    int interval_ms = 100;
    double duration_s = 30;
};

[[noreturn]] void usage_error(const std::string &message) {
    std::cerr << "dfaas-bench-churn: " << message << "\n"
              << "usage: dfaas-bench-churn cost --bpffs DIR --peer IP [--functions N] [--writes N]"
                 " [--single N] [--repeat N]\n"
              << "       dfaas-bench-churn churn --bpffs DIR --function NAME --peer IP"
                 " [--interval-ms N] [--duration-s S]\n";
    std::exit(2);
}

int to_int(const std::string &flag, const std::string &text, int min, int max) {
    char *end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < min || v > max)
        usage_error(flag + " must be an integer from " + std::to_string(min) + " to " +
                    std::to_string(max) + ", got '" + text + "'");
    return int(v);
}

Options parse(int argc, char **argv) {
    if (argc < 2) usage_error("missing command");
    Options o;
    o.command = argv[1];
    if (o.command != "cost" && o.command != "churn") usage_error("unknown command " + o.command);
    bool have_peer = false;
    for (int i = 2; i < argc; ++i) {
        std::string flag = argv[i];
        if (i + 1 >= argc) usage_error(flag + " needs a value");
        std::string value = argv[++i];
        if (flag == "--bpffs") {
            o.bpffs = value;
        } else if (flag == "--function") {
            o.function = value;
        } else if (flag == "--peer") {
            auto ip = dfaas::Ipv4::parse(value);
            if (!ip) usage_error("--peer: not an IPv4 address: " + value);
            o.peer = *ip;
            have_peer = true;
        } else if (flag == "--functions") {
            o.functions = to_int(flag, value, 1, 250);
        } else if (flag == "--writes") {
            o.writes = to_int(flag, value, 1, 10000000);
        } else if (flag == "--single") {
            o.single = to_int(flag, value, 1, 100000000);
        } else if (flag == "--repeat") {
            o.repeat = to_int(flag, value, 1, 100000);
        } else if (flag == "--interval-ms") {
            o.interval_ms = to_int(flag, value, 1, 60000);
        } else if (flag == "--duration-s") {
            o.duration_s = to_int(flag, value, 1, 86400);
        } else {
            usage_error("unknown flag " + flag);
        }
    }
    if (o.bpffs.empty()) usage_error("--bpffs is required");
    if (!have_peer) usage_error("--peer is required");
    return o;
}

// A policy splitting new connections between the local gateway and one peer.
dfaas::FunctionPolicy split(uint32_t local, dfaas::Ipv4 peer) {
    dfaas::FunctionPolicy p;
    p.local = local;
    p.peers[peer] = 100 - local;
    return p;
}

int64_t ns_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

// Prints NAME_min, NAME_p50, NAME_p99, NAME_max of the samples (ns).
void print_stats(const std::string &name, std::vector<int64_t> samples) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[size_t(q * double(samples.size() - 1) + 0.5)]; };
    std::cout << name << "_min=" << samples.front() << "\n"
              << name << "_p50=" << at(0.50) << "\n"
              << name << "_p99=" << at(0.99) << "\n"
              << name << "_max=" << samples.back() << "\n";
}

// Times `repeat` reads of every counter, as the agent's control tick does once per second.
std::vector<int64_t> time_stats_reads(const dfaas::dp::Dataplane &dp, int repeat) {
    std::vector<int64_t> samples;
    for (int r = 0; r < repeat; ++r) {
        auto start = Clock::now();
        auto stats = dp.stats();
        samples.push_back(ns_since(start));
        if (stats.functions.empty()) throw std::runtime_error("stats(): no function read");
    }
    return samples;
}

// Gives each function rows in dfaas_http_stats for the routes a busy function has (local,
// forwarded-in, its first peer slot), as traffic would create them. Returns the rows written.
int fill_http_rows(const std::string &bpffs, const dfaas::dp::Dataplane &dp,
                   const std::vector<std::string> &names) {
    int fd = bpf_obj_get((bpffs + "/dfaas_http_stats").c_str());
    if (fd < 0) throw std::runtime_error("dfaas_http_stats not pinned under " + bpffs);
    std::vector<dfaas_http_stats> zero(static_cast<size_t>(libbpf_num_possible_cpus()));
    int rows = 0;
    for (const auto &n : names) {
        auto id = dp.function_id(n);
        if (!id) continue;
        for (uint32_t route : {uint32_t(DFAAS_STAT_LOCAL), uint32_t(DFAAS_STAT_FORWARDED_IN),
                               uint32_t(DFAAS_STAT_PEER_BASE)}) {
            uint32_t key = *id * DFAAS_STAT_PATHS + route;
            if (bpf_map_update_elem(fd, &key, zero.data(), BPF_ANY) == 0) ++rows;
        }
    }
    close(fd);
    return rows;
}

int cost(const Options &o) {
    auto dp = dfaas::dp::Dataplane::open(o.bpffs);
    std::vector<std::string> names;
    for (int i = 0; i < o.functions; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "bench-policy-%03d", i);
        names.push_back(name);
    }
    // Creating a function (id, zeroed counters) is not a policy update: do it before timing.
    for (const auto &n : names)
        dp->set_policy(n, split(100, o.peer));
    const auto a = split(30, o.peer), b = split(70, o.peer);

    std::vector<int64_t> single;
    single.reserve(size_t(o.single));
    for (int i = 0; i < o.single; ++i) {
        auto start = Clock::now();
        dp->set_policy(names[0], (i & 1) ? a : b);
        single.push_back(ns_since(start));
    }

    std::vector<int64_t> batch;
    for (int r = 0; r < o.repeat; ++r) {
        auto start = Clock::now();
        for (int w = 0; w < o.writes; ++w)
            dp->set_policy(names[size_t(w) % names.size()], ((w + r) & 1) ? a : b);
        batch.push_back(ns_since(start));
    }

    auto reads = time_stats_reads(*dp, o.repeat);
    const int http_rows = fill_http_rows(o.bpffs, *dp, names);
    auto reads_http = time_stats_reads(*dp, o.repeat);
    for (const auto &n : names)
        dp->remove_function(n);

    std::cout << "functions=" << o.functions << "\nsingle_samples=" << o.single
              << "\nbatch_writes=" << o.writes << "\nbatch_repeat=" << o.repeat
              << "\nhttp_rows=" << http_rows << "\n";
    print_stats("single_write_ns", single);
    print_stats("batch_ns", batch);
    print_stats("stats_read_ns", reads);
    print_stats("stats_read_http_ns", reads_http);
    return 0;
}

int churn(const Options &o) {
    auto dp = dfaas::dp::Dataplane::open(o.bpffs);
    if (!dp->function_id(o.function)) {
        std::cerr << "dfaas-bench-churn: no function " << o.function << " in " << o.bpffs << "\n";
        return 1;
    }
    static const uint32_t kLocalWeights[] = {100, 70, 50, 30, 0, 30, 50, 70};
    const auto interval = std::chrono::milliseconds(o.interval_ms);
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.duration_s));
    std::vector<int64_t> writes;
    int64_t late = 0;
    auto next = start;
    for (size_t i = 0; next < end; ++i) {
        std::this_thread::sleep_until(next);
        if (Clock::now() - next > interval / 2) ++late;
        auto t0 = Clock::now();
        dp->set_policy(o.function, split(kLocalWeights[i % std::size(kLocalWeights)], o.peer));
        writes.push_back(ns_since(t0));
        next += interval;
    }
    auto installed = dp->policy(o.function);
    std::cout << "updates=" << writes.size() << "\nlate_ticks=" << late
              << "\nelapsed_ns=" << ns_since(start)
              << "\nfinal_version=" << (installed ? installed->version : 0) << "\n";
    print_stats("write_ns", writes);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    Options o = parse(argc, argv);
    try {
        return o.command == "cost" ? cost(o) : churn(o);
    } catch (const std::exception &e) {
        std::cerr << "dfaas-bench-churn: " << e.what() << "\n";
        return 1;
    }
}
