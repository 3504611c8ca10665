#include "monitor_command.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"
#include "dfaas/duration.h"

namespace dfaas::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The types --type accepts: the data plane's and the agent's.
const std::set<std::string> kDataplaneTypes = {"new", "reject", "forward-in"};
const std::set<std::string> kAgentTypes = {"peer", "policy"};

struct MonitorFlags {
    std::vector<std::string> types;
    std::string function;
    uint32_t sample = 1;
    uint32_t rate = 0;
    uint64_t count = 0;
    std::string duration;
};

// SIGINT/SIGTERM end the stream; the loop sees the flag within one poll (100 ms).
volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) {
    g_stop = 1;
}

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the ring's epoll_wait returns at once
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

uint64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// "2026-12-07T02:13:29.123Z"
std::string rfc3339_ms(uint64_t unix_ns) {
    time_t t = static_cast<time_t>(unix_ns / 1000000000ull);
    tm utc{};
    gmtime_r(&t, &utc);
    char buf[40];
    size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buf + n, sizeof(buf) - n, ".%03uZ", unsigned(unix_ns / 1000000ull % 1000));
    return buf;
}

// One line of the stream, whatever its source.
struct Line {
    uint64_t unix_ns = 0;
    std::string source;  // "dataplane", "agent"
    std::string type, function, client, decision, reason;
    json doc;  // the JSON line
};

class Printer {
  public:
    explicit Printer(Format format) : format_(format) {}
    void print(const Line &line) {
        if (format_ == Format::Json) {
            std::cout << line.doc.dump() << std::endl;  // a line at a time, for pipes
            return;
        }
        if (!header_done_) {
            std::printf("%-12s %-16s %-16s %-21s %-24s %s\n", "TIME", "TYPE", "FUNCTION", "CLIENT",
                        "DECISION", "REASON");
            header_done_ = true;
        }
        std::string time = rfc3339_ms(line.unix_ns).substr(11, 12);  // HH:MM:SS.mmm
        std::printf("%-12s %-16s %-16s %-21s %-24s %s\n", time.c_str(), line.type.c_str(),
                    line.function.c_str(), line.client.c_str(), line.decision.c_str(),
                    line.reason.c_str());
        std::fflush(stdout);
    }

  private:
    Format format_;
    bool header_done_ = false;
};

// Function names by id, re-read when an id is new (a function added while monitoring).
class FunctionNames {
  public:
    explicit FunctionNames(dp::Dataplane *dp) : dp_(dp) { refresh(); }
    std::string name(uint32_t id) {
        auto it = names_.find(id);
        if (it == names_.end()) {
            refresh();
            it = names_.find(id);
        }
        return it == names_.end() ? "#" + std::to_string(id) : it->second;
    }

  private:
    void refresh() {
        if (!dp_) return;
        names_.clear();
        for (auto &[id, name] : dp_->functions())
            names_[id] = name;
    }
    dp::Dataplane *dp_;
    std::map<uint32_t, std::string> names_;
};

Line dataplane_line(const dp::MonitorEvent &e, const std::string &function, uint64_t mono_now,
                    uint64_t unix_now) {
    Line l;
    // The data plane stamps with the monotonic clock: placed on the wall clock by its age.
    l.unix_ns = unix_now - std::min(unix_now, mono_now > e.time_ns ? mono_now - e.time_ns : 0);
    l.source = "dataplane";
    l.type = e.type;
    l.function = function;
    l.client = e.client.str();
    l.reason = e.reason;
    l.decision = e.decision;
    if (e.peer) l.decision += (e.type == "forward-in" ? " from " : " ") + e.peer->str();
    l.doc = {{"time", rfc3339_ms(l.unix_ns)}, {"source", l.source}, {"type", e.type},
             {"function", function},          {"client", l.client}, {"service", e.service.str()},
             {"decision", e.decision},        {"reason", e.reason}};
    if (e.peer) l.doc["peer"] = e.peer->str();
    return l;
}

Line agent_line(const json &e) {
    Line l;
    l.unix_ns = e.value("unix_ms", uint64_t(0)) * 1000000ull;
    l.source = "agent";
    l.type = e.value("type", "");
    l.function = e.value("function", "-");
    l.client = e.value("peer", "-");
    l.decision = e.value("detail", "");
    l.reason = "-";
    l.doc = {{"time", rfc3339_ms(l.unix_ns)},
             {"source", "agent"},
             {"seq", e.value("seq", 0)},
             {"type", l.type},
             {"detail", l.decision}};
    if (e.contains("function")) l.doc["function"] = e["function"];
    if (e.contains("peer")) l.doc["peer"] = e["peer"];
    return l;
}

bool agent_type_wanted(const std::set<std::string> &wanted, const std::string &type) {
    if (wanted.empty()) return true;
    if (type.rfind("peer-", 0) == 0) return wanted.count("peer") > 0;
    return wanted.count(type) > 0;
}

// Options the library refuses (EINVAL: out of range) are usage errors here; the rest as `dp`.
int error_code(const dp::Error &e) {
    return e.error_number() == EINVAL ? kUsage : exit_code_for(e);
}

// The agent's side of the stream: polled once a second from the last sequence seen. Unreachable:
// said once, then retried quietly every 5 s.
class AgentStream {
  public:
    explicit AgentStream(AgentOptions options)
        : url_(options.url), client_(shortened(std::move(options))) {}

    void poll(const std::function<void(const json &)> &each) {
        auto now = Clock::now();
        if (now < next_try_) return;
        try {
            if (!since_) {
                // Live events only: start where the log is now.
                since_ = client_.get("/v1/events?limit=0").value("last_seq", uint64_t(0));
                std::cerr << "dfaasctl monitor: listening for agent events of " << url_
                          << std::endl;
            }
            for (int page = 0; page < 8; ++page) {
                auto answer = client_.get("/v1/events?since=" + std::to_string(*since_));
                if (answer.value("missed", uint64_t(0)) > 0)
                    std::cerr << "dfaasctl monitor: " << answer["missed"]
                              << " agent events were overwritten before they were read\n";
                for (const auto &e : answer["events"]) {
                    since_ = e.value("seq", *since_);
                    each(e);
                }
                if (!answer.value("more", false)) break;
            }
            if (down_) std::cerr << "dfaasctl monitor: the agent answers again\n";
            down_ = false;
            next_try_ = now + std::chrono::seconds(1);
        } catch (const CommandError &e) {
            if (!down_ && !said_)
                std::cerr << "dfaasctl monitor: " << e.message
                          << "; showing data-plane events only\n";
            said_ = true;
            down_ = true;
            next_try_ = now + std::chrono::seconds(5);
        }
    }

  private:
    // One second at most per request: the data plane's ring is read on the same thread.
    static AgentOptions shortened(AgentOptions o) {
        o.timeout_ms = std::min(o.timeout_ms, 1000);
        return o;
    }
    std::string url_;
    AgentClient client_;
    std::optional<uint64_t> since_;
    Clock::time_point next_try_{};
    bool down_ = false, said_ = false;
};

int run_monitor(const GlobalOptions &global, const AgentOptions &agent, const MonitorFlags &f) {
    // Everything the command line says is checked before a map is opened.
    if (global.format != Format::Table && global.format != Format::Json)
        throw CommandError{"monitor prints table lines or JSON lines: -o table or -o json", kUsage};
    std::set<std::string> dp_types, agent_types;
    for (const auto &t : f.types) {
        if (kDataplaneTypes.count(t))
            dp_types.insert(t);
        else if (kAgentTypes.count(t))
            agent_types.insert(t);
        else
            throw CommandError{"--type: \"" + t +
                                   "\" is not an event type (new, reject, forward-in, peer, "
                                   "policy)",
                               kUsage};
    }
    if (f.sample < 1 || f.sample > dp::kMonitorMaxSampleEvery)
        throw CommandError{"--sample: expects 1.." + std::to_string(dp::kMonitorMaxSampleEvery),
                           kUsage};
    const uint64_t cpus = std::max(1u, std::thread::hardware_concurrency());
    if (uint64_t(f.rate) > uint64_t(dp::kMonitorMaxRatePerCpu) * cpus)
        throw CommandError{"--rate: at most " +
                               std::to_string(uint64_t(dp::kMonitorMaxRatePerCpu) * cpus) +
                               " events/s on this machine",
                           kUsage};
    std::optional<Clock::time_point> deadline;
    if (!f.duration.empty()) {
        auto d = parse_duration(f.duration, BareNumber::Seconds);
        if (!d) throw CommandError{duration_error("--duration", f.duration, d.reason), kUsage};
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(*d);
    }
    const bool want_dp = f.types.empty() || !dp_types.empty();
    const bool want_agent = f.types.empty() || !agent_types.empty();

    std::unique_ptr<dp::Dataplane> plane;
    std::unique_ptr<dp::EventMonitor> monitor;
    std::optional<uint32_t> function_id;
    if (want_dp) {
        plane = dp::Dataplane::open(global.bpffs);
        if (!f.function.empty()) {
            function_id = plane->function_id(f.function);
            if (!function_id)
                std::cerr << "dfaasctl monitor: the data plane has no function \"" << f.function
                          << "\" (yet): its events show once it has\n";
        }
        dp::MonitorOptions o;
        o.sample_every = f.sample;
        o.rate_per_cpu = f.rate ? uint32_t((f.rate + cpus - 1) / cpus) : 0;
        for (const auto &t : dp_types)
            o.type_mask |= *dp::monitor_event_type_bit(t);
        monitor = dp::EventMonitor::start(global.bpffs, o);
        // To stderr, so JSON lines stay clean; scripts wait for it before sending traffic.
        std::cerr << "dfaasctl monitor: listening for data-plane events of " << global.bpffs
                  << (f.sample > 1 ? ", 1 connection in " + std::to_string(f.sample) : "")
                  << (f.rate ? ", at most ~" + std::to_string(f.rate) + "/s" : "")
                  << " (Ctrl-C to stop)" << std::endl;
    }
    std::optional<AgentStream> agent_stream;
    if (want_agent) agent_stream.emplace(agent);

    install_stop_handlers();
    Printer printer(global.format);
    FunctionNames names(plane.get());
    uint64_t printed = 0;
    auto emit = [&](const Line &line) {
        if (f.count && printed >= f.count) return;
        printer.print(line);
        ++printed;
    };
    auto done = [&] {
        return g_stop || (f.count && printed >= f.count) || (deadline && Clock::now() >= *deadline);
    };
    auto next_renewal = Clock::now() + std::chrono::seconds(1);
    while (!done()) {
        if (monitor) {
            const uint64_t mono = clock_ns(CLOCK_MONOTONIC_COARSE),
                           unix_now = clock_ns(CLOCK_REALTIME);
            monitor->poll(100, [&](const dp::MonitorEvent &e) {
                if (!f.function.empty()) {
                    // A function created after the start gets its id now.
                    if (!function_id) function_id = plane->function_id(f.function);
                    if (!function_id || e.function_id != *function_id) return;
                }
                emit(dataplane_line(e, names.name(e.function_id), mono, unix_now));
            });
            if (Clock::now() >= next_renewal) {
                monitor->renew();
                next_renewal = Clock::now() + std::chrono::seconds(1);
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (agent_stream && !done())
            agent_stream->poll([&](const json &e) {
                if (!agent_type_wanted(agent_types, e.value("type", ""))) return;
                if (!f.function.empty() && e.value("function", "") != f.function) return;
                emit(agent_line(e));
            });
    }
    if (monitor) monitor->release();
    if (monitor && monitor->malformed())
        std::cerr << "dfaasctl monitor: " << monitor->malformed()
                  << " records of an unknown layout skipped\n";
    return kOk;
}

}  // namespace

void add_monitor_command(CLI::App &app, GlobalOptions &global, AgentOptions &agent,
                         std::function<int()> &run) {
    auto flags = std::make_shared<MonitorFlags>();
    auto *cmd = app.add_subcommand(
        "monitor",
        "Stream data-plane events (new connections and their decisions, rejects, forwarded-in "
        "connections) and the agent's peer and policy events (root)");
    cmd->add_option("--type", flags->types,
                    "Only these types: new, reject, forward-in, peer, policy (repeatable)")
        ->delimiter(',');
    cmd->add_option("--function", flags->function, "Only events of this function");
    cmd->add_option("--sample", flags->sample,
                    "Keep 1 connection in N (by tuple hash, in the data plane)")
        ->capture_default_str();
    cmd->add_option("--rate", flags->rate,
                    "At most about N data-plane events/s (token bucket per CPU); 0 = no limit")
        ->capture_default_str();
    cmd->add_option("--count", flags->count, "Stop after N events");
    cmd->add_option("--duration", flags->duration, "Stop after this long (e.g. 10s, 1m30s)");
    cmd->callback([&global, &agent, &run, flags] {
        run = [&global, &agent, flags] {
            try {
                return run_monitor(global, agent, *flags);
            } catch (const dp::Error &e) {
                std::cerr << "dfaasctl monitor: " << e.what() << '\n';
                return error_code(e);
            } catch (const CommandError &e) {
                std::cerr << "dfaasctl monitor: " << e.message << '\n';
                return e.code;
            }
        };
    });
}

}  // namespace dfaas::cli
