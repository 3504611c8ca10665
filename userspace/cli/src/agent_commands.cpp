#include "agent_commands.h"

#include "dfaas/duration.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include "agent_client.h"

namespace dfaas::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

int guarded(const std::function<int()> &body) {
    try {
        return body();
    } catch (const CommandError &e) {
        std::cerr << "dfaasctl: " << e.message << '\n';
        return e.code;
    } catch (const nlohmann::json::exception &e) {
        // An agent of another version, or not an agent: its document lacks what the table shows.
        std::cerr << "dfaasctl: the agent's answer is not the document this dfaasctl reads ("
                  << e.what() << "; -o json prints it as it is)\n";
        return kFailure;
    }
}

std::string num(double v, int decimals = 1) {
    if (!std::isfinite(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string ago(double unix_s) {
    if (unix_s <= 0) return "never";
    double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    return format_duration_ns(uint64_t(std::max(0.0, now - unix_s) * 1e9)) + " ago";
}

std::string str(const json &j, const char *key, const std::string &fallback = "-") {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (j[key].is_string()) return j[key].get<std::string>();
    return j[key].dump();
}

// "local 60, 10.0.0.2 40, reject 0" from a policy object.
std::string weights_of(const json &p) {
    if (p.is_null()) return "-";
    std::string out = "local " + std::to_string(p.value("local", 0));
    const json peers = p.value("peers", json::object());  // named: items() must not outlive it
    for (const auto &[peer, w] : peers.items())
        out += ", " + peer + " " + std::to_string(w.get<int>());
    if (p.value("reject", 0)) out += ", reject " + std::to_string(p.value("reject", 0));
    // Recalc's shape: local up to the cap, then the overflow weights (reject when none).
    if (p.value("local_cap", 0)) {
        out += " (cap " + std::to_string(p.value("local_cap", 0)) + "/s, then ";
        const json overflow = p.value("overflow", json::object());
        std::string then;
        for (const auto &[peer, w] : overflow.items())
            then += (then.empty() ? "" : ", ") + peer + " " + std::to_string(w.get<int>());
        out += (then.empty() ? "reject" : then) + ")";
    }
    return out;
}

std::string pairs_of(const json &m) {
    std::string out;
    for (const auto &[k, v] : m.items())
        out += (out.empty() ? "" : " ") + k + "=" + v.dump();
    return out.empty() ? "-" : out;
}

// ---- status -------------------------------------------------------------------------------------

void print_status(const json &s) {
    Table t({"FIELD", "VALUE"});
    t.add(
        {"node", str(s, "node_id") + " (" + str(s, "node_ip") + ", " + str(s, "node_type") + ")"});
    t.add({"strategy", str(s, "strategy") + ", period " + num(s.value("period_s", 0.0), 0) + "s" +
                           (str(s, "strategy") != str(s, "configured_strategy")
                                ? " (configured: " + str(s, "configured_strategy") + ")"
                                : "")});
    const auto &r = s["last_recalc"];
    t.add({"last recalculation", r.value("iterations", 0) == 0
                                     ? "none yet"
                                     : ago(r.value("at_unix", 0.0)) + ", step " + str(r, "step") +
                                           ", " + num(r.value("duration_ms", 0.0), 2) + " ms, " +
                                           str(r, "iterations") + " steps so far"});
    if (r.contains("degraded")) t.add({"degraded", str(r, "degraded")});
    const auto &d = s["dataplane"];
    if (d.is_null()) {
        t.add({"data plane", "unknown"});
    } else {
        t.add({"data plane",
               std::string(d.value("attached", false) ? "attached" : "NOT attached") + " on " +
                   str(d, "interface") + " since " +
                   format_unix_time(uint64_t(d.value("attached_since_unix", 0.0) * 1e9))});
        t.add({"conntrack", str(d, "conntrack_entries") + " / " + str(d, "conntrack_capacity")});
    }
    std::string ready = s.value("ready", false) ? "yes" : "NO";
    for (const auto &reason : s.value("not_ready_reasons", json::array()))
        ready += "; " + reason.get<std::string>();
    t.add({"ready", ready});
    const auto &p = s["peers"];
    t.add({"peers", str(p, "up", "0") + " up, " + str(p, "down", "0") + " down"});
    t.add({"functions", str(s, "functions")});
    t.add({"policy updates", str(s, "policy_updates")});
    t.add({"version", str(s, "version") + " (" + str(s, "git") + ")"});
    t.print(std::cout);
}

// ---- functions ----------------------------------------------------------------------------------

void print_functions(const json &list) {
    Table t({"NAME", "PORT", "MAXRATE", "GROUP", "REPLICAS", "WEIGHTS", "USER RPS", "LOCAL RPS",
             "FORWARDED RPS", "REJECTS/S"});
    for (const auto &f : list) {
        const auto &r = f["rates"];
        double forwarded = 0;
        const json to_peer = r.value("to_peer_rps", json::object());
        for (const auto &[peer, rps] : to_peer.items())
            forwarded += rps.get<double>();
        // A function only peers run has no replica here: the column says so.
        const bool remote_only = f.value("remote_only", false);
        t.add({str(f, "name") + (f.value("override", false) ? " (override)" : ""), str(f, "port"),
               str(f, "maxrate"), str(f, "group"),
               remote_only ? std::string("remote-only")
                           : str(f, "available_replicas", "0") + "/" + str(f, "replicas", "0"),
               weights_of(f["policy"]), num(r.value("user_rps", 0.0)),
               num(r.value("local_rps", 0.0)), num(forwarded), num(r.value("reject_cps", 0.0))});
    }
    t.print(std::cout);
}

// ---- peers --------------------------------------------------------------------------------------

void print_peers(const json &list) {
    Table t({"ID", "ADDRESS", "STATE", "LAST SEEN", "FUNCTIONS", "REPORTED"});
    for (const auto &p : list) {
        std::string functions;
        for (const auto &f : p.value("functions", json::array()))
            functions += (functions.empty() ? "" : ",") +
                         (f.is_object() ? str(f, "name") : f.get<std::string>());
        t.add({str(p, "id"), str(p, "address"), str(p, "state"),
               ago(p.value("last_seen_unix", 0.0)), functions.empty() ? "-" : functions,
               str(p, "reported_summary")});
    }
    t.print(std::cout);
}

// ---- policies -----------------------------------------------------------------------------------

// The feedback guard's routes of one policy: "10.0.0.2 (503s), local (timeouts)", or "-" (also
// from agents that predate the guard).
std::string guarded_routes(const json &policy) {
    std::string out;
    for (const auto &g : policy.value("guarded", json::array())) {
        if (!out.empty()) out += ", ";
        out += g.value("route", std::string("?")) + " (" + g.value("cause", std::string("?")) + ")";
    }
    return out.empty() ? "-" : out;
}

void print_policies(const json &policies) {
    Table t({"FUNCTION", "SOURCE", "LOCAL", "PEERS", "REJECT", "LOCAL-CAP", "OVERFLOW", "LIMIT-IN",
             "EXPIRES", "GUARD"});
    for (const auto &[name, p] : policies.items()) {
        t.add({name, str(p, "source"), str(p, "local"), pairs_of(p.value("peers", json::object())),
               str(p, "reject"), p.value("local_cap", 0) ? str(p, "local_cap") : "-",
               pairs_of(p.value("overflow", json::object())),
               pairs_of(p.value("limit_in", json::object())),
               p.contains("override_expires_unix")
                   ? format_unix_time(uint64_t(p["override_expires_unix"].get<double>() * 1e9))
                   : "-",
               guarded_routes(p)});
    }
    t.print(std::cout);
}

// ---- stats --------------------------------------------------------------------------------------

// One row per (function, path) with totals and the rate since the previous sample, and what
// the data plane measured of the path's HTTP/1.x responses (since the function or peer was
// added; no HTTP figures on the reject paths, nor before a path's first response).
struct PathRow {
    std::string function, path;
    uint64_t connections = 0, requests = 0;
    double conn_rate = NAN, req_rate = NAN;
    bool has_http = false;
    uint64_t responses = 0, timed = 0;  // final responses; those timed
    double p50_s = NAN, p99_s = NAN, error_ratio = NAN;
};

double number_or_nan(const json &doc, const char *key) {
    return doc.contains(key) && doc[key].is_number() ? doc[key].get<double>() : NAN;
}

// The route's entry of a function's "http" object (absent on agents before issue 19).
void read_http(PathRow &row, const json &http) {
    if (!http.is_object()) return;
    row.has_http = true;
    row.responses = http.value("responses", uint64_t{0});
    row.timed = http.value("timed", uint64_t{0});
    row.p50_s = number_or_nan(http, "p50_s");
    row.p99_s = number_or_nan(http, "p99_s");
    row.error_ratio = number_or_nan(http, "error_ratio");
}

// 3 figures at most: 85us, 6.1ms, 1.25s.
std::string latency(double seconds) {
    if (!std::isfinite(seconds)) return "-";
    char buf[32];
    if (seconds < 1e-3)
        std::snprintf(buf, sizeof(buf), "%.0fus", seconds * 1e6);
    else if (seconds < 1)
        std::snprintf(buf, sizeof(buf), "%.1fms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof(buf), "%.2fs", seconds);
    return buf;
}

std::string percent(double ratio) {
    return std::isfinite(ratio) ? num(ratio * 100, 1) + "%" : "-";
}

std::vector<PathRow> rows_of(const json &stats, const std::string &only) {
    std::vector<PathRow> rows;
    if (!stats.contains("stats") || stats["stats"].is_null()) return rows;
    for (const auto &f : stats["stats"]["functions"]) {
        std::string name = f["name"];
        if (!only.empty() && name != only) continue;
        const json none;
        const json &http = f.contains("http") ? f["http"] : none;
        auto http_of = [&](const char *route, const std::string &peer = "") -> const json & {
            if (!http.is_object() || !http.contains(route)) return none;
            if (peer.empty()) return http[route];
            return http[route].contains(peer) ? http[route][peer] : none;
        };
        auto add = [&](const std::string &path, const json &c, const json &h) {
            rows.push_back(PathRow{name, path, c.value("connections", uint64_t{0}),
                                   c.value("requests", uint64_t{0})});
            read_http(rows.back(), h);
        };
        add("local", f["local"], http_of("local"));
        for (const auto &[peer, c] : f["to_peer"].items())
            add("peer " + peer, c, http_of("to_peer", peer));
        add("reject", f["reject"], none);
        add("forwarded-in", f["forwarded_in"], http_of("forwarded_in"));
        add("forwarded-in reject", f["forwarded_in_reject"], none);
    }
    return rows;
}

void print_stats_rows(const std::vector<PathRow> &rows, bool with_rates) {
    std::vector<std::string> headers{"FUNCTION", "PATH"};
    if (with_rates) headers.insert(headers.end(), {"CONN/S", "REQ/S"});
    // RESPONSES: final HTTP responses; P50/P99: latency of the timed ones; ERRORS: (429 + 5xx)
    // over final responses.
    headers.insert(headers.end(), {"CONNS", "REQUESTS", "RESPONSES", "P50", "P99", "ERRORS"});
    Table t(headers);
    for (const auto &r : rows) {
        std::vector<std::string> row{r.function, r.path};
        if (with_rates) row.insert(row.end(), {num(r.conn_rate), num(r.req_rate)});
        row.insert(row.end(), {format_count(r.connections), format_count(r.requests),
                               r.has_http ? format_count(r.responses) : "-", latency(r.p50_s),
                               latency(r.p99_s), percent(r.error_ratio)});
        t.add(std::move(row));
    }
    t.print(std::cout);
}

json rows_json(const std::vector<PathRow> &rows, double at_unix) {
    json out = json::array();
    for (const auto &r : rows) {
        json j{{"function", r.function},
               {"path", r.path},
               {"connections", r.connections},
               {"requests", r.requests}};
        if (std::isfinite(r.conn_rate)) j["connections_per_second"] = r.conn_rate;
        if (std::isfinite(r.req_rate)) j["requests_per_second"] = r.req_rate;
        if (r.has_http) {
            j["responses"] = r.responses;
            j["timed"] = r.timed;
            auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
            j["p50_s"] = number(r.p50_s);
            j["p99_s"] = number(r.p99_s);
            j["error_ratio"] = number(r.error_ratio);
        }
        out.push_back(j);
    }
    return json{{"at_unix", at_unix}, {"paths", out}};
}

int watch_stats(const GlobalOptions &g, const AgentClient &client, const std::string &only,
                std::chrono::milliseconds interval, uint64_t count) {
    bool tty = isatty(STDOUT_FILENO);
    std::vector<PathRow> previous;
    auto previous_at = std::chrono::steady_clock::now();
    for (uint64_t n = 0; count == 0 || n < count; ++n) {
        if (n > 0) std::this_thread::sleep_for(interval);
        auto rows = rows_of(client.get("/v1/stats"), only);
        auto now = std::chrono::steady_clock::now();
        double seconds = std::chrono::duration<double>(now - previous_at).count();
        for (auto &r : rows)
            for (const auto &p : previous)
                if (p.function == r.function && p.path == r.path && seconds > 0) {
                    r.conn_rate =
                        double(r.connections - std::min(r.connections, p.connections)) / seconds;
                    r.req_rate = double(r.requests - std::min(r.requests, p.requests)) / seconds;
                }
        double at = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
        if (g.format == Format::Yaml) {
            // One YAML document per refresh, each opened with "---".
            std::cout << "---\n" << to_yaml(rows_json(rows, at)) << std::flush;
        } else if (g.format == Format::Json) {
            std::cout << rows_json(rows, at).dump() << std::endl;  // one JSON document per line
        } else {
            if (tty) std::cout << "\033[H\033[2J";  // redraw in place on a terminal
            std::cout << format_unix_time(uint64_t(at * 1e9))
                      << (n == 0 ? "  (rates from the next refresh on)" : "") << '\n';
            print_stats_rows(rows, true);
            if (!tty) std::cout << '\n';
            std::cout.flush();
        }
        previous = rows;
        previous_at = now;
    }
    return kOk;
}

// The shared duration grammar (dfaas/duration.h; plain seconds too): "5m", "1h30m", "500ms",
// "2". At least 1ms, whole milliseconds.
std::chrono::milliseconds parse_duration(const std::string &text, const std::string &option) {
    auto parsed = dfaas::parse_duration(text, dfaas::BareNumber::Seconds);
    if (!parsed) throw CommandError{dfaas::duration_error(option, text, parsed.reason), kUsage};
    if (*parsed < std::chrono::milliseconds(1))
        throw CommandError{dfaas::duration_error(option, text, "is shorter than the minimum 1ms"),
                           kUsage};
    if (*parsed % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0))
        throw CommandError{
            dfaas::duration_error(option, text, "is finer than a millisecond (the smallest unit)"),
            kUsage};
    return std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
}

std::map<std::string, uint32_t> parse_weights(const std::vector<std::string> &items,
                                              const std::string &option) {
    std::map<std::string, uint32_t> out;
    for (const auto &item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw CommandError{
                option + " expects NODE=N (node id or address), got \"" + item + "\"", kUsage};
        try {
            size_t used = 0;
            unsigned long n = std::stoul(item.substr(eq + 1), &used);
            // Above 32 bits the value would wrap when narrowed: refused like any non-number.
            if (used != item.size() - eq - 1 || n > 0xffffffffu) throw std::invalid_argument("");
            out[item.substr(0, eq)] = uint32_t(n);
        } catch (const std::exception &) {
            throw CommandError{option + ": \"" + item.substr(eq + 1) + "\" is not a number",
                               kUsage};
        }
    }
    return out;
}

// What every agent subcommand registers against: the global options, the agent's address (read
// when the command runs, after parsing) and the action slot main() runs after parsing.
struct AgentContext {
    GlobalOptions &g;
    AgentOptions &agent;
    std::function<int()> &run;

    AgentClient client() const { return AgentClient(agent); }

    // The document as is with -o json or yaml, else as the table `table` prints.
    int emit(const json &doc, void (*table)(const json &)) const {
        if (is_document(g.format))
            print_document(std::cout, g.format, doc);
        else
            table(doc);
        return int(kOk);
    }

    // When `cmd` is chosen on the command line, the action becomes `body`, guarded.
    void on_run(CLI::App *cmd, std::function<int()> body) const {
        auto &slot = run;
        cmd->callback([&slot, body = std::move(body)] { slot = [body] { return guarded(body); }; });
    }
};

// A read command: GET `path` and print it with `table` (or as JSON).
void add_get(CLI::App &app, const AgentContext &ctx, const char *name, const char *help,
             const char *path, void (*table)(const json &)) {
    ctx.on_run(app.add_subcommand(name, help),
               [ctx, path, table] { return ctx.emit(ctx.client().get(path), table); });
}

void add_policies(CLI::App &app, const AgentContext &ctx) {
    auto function = std::make_shared<std::string>();
    auto *c = app.add_subcommand("policies", "Installed policies (strategy or override)");
    c->add_option("function", *function, "Only this function");
    ctx.on_run(c, [ctx, function] {
        std::string path = "/v1/policies" + (function->empty() ? "" : "/" + *function);
        return ctx.emit(ctx.client().get(path), print_policies);
    });
}

void add_stats(CLI::App &app, const AgentContext &ctx) {
    struct Args {
        std::string function, watch;
        uint64_t count = 0;
    };
    auto args = std::make_shared<Args>();
    auto *c = app.add_subcommand(
        "stats",
        "Connections, requests, HTTP responses, p50/p99 latency and error ratio per function "
        "and path");
    c->add_option("function", args->function, "Only this function");
    c->add_option("--watch", args->watch,
                  "Refresh every interval (e.g. 1s), with rates between refreshes");
    c->add_option("--count", args->count, "With --watch: stop after N refreshes");
    ctx.on_run(c, [ctx, args] {
        AgentClient cl = ctx.client();
        if (!args->watch.empty())
            return watch_stats(ctx.g, cl, args->function, parse_duration(args->watch, "--watch"),
                               args->count);
        auto stats = cl.get("/v1/stats");
        auto rows = rows_of(stats, args->function);
        if (!args->function.empty() && rows.empty())
            throw CommandError{"function " + args->function + " not found", kNotFound};
        // Rates: the agent's last control tick (per second).
        for (auto &r : rows) {
            const auto &rates = stats["rates_per_second"];
            if (!rates.contains(r.function)) continue;
            const auto &fr = rates[r.function];
            if (r.path == "local") r.req_rate = fr.value("local_rps", NAN);
            if (r.path == "reject") r.conn_rate = fr.value("reject_cps", NAN);
            if (r.path == "forwarded-in") r.req_rate = fr.value("forwarded_in_rps", NAN);
            if (r.path.rfind("peer ", 0) == 0)
                r.req_rate = fr["to_peer_rps"].value(r.path.substr(5), NAN);
        }
        if (is_document(ctx.g.format)) {
            print_document(
                std::cout, ctx.g.format,
                rows_json(rows,
                          std::chrono::duration<double>(Clock::now().time_since_epoch()).count()));
        } else {
            print_stats_rows(rows, true);
        }
        return int(kOk);
    });
}

void add_recalc(CLI::App &app, const AgentContext &ctx) {
    auto *c =
        app.add_subcommand("recalc", "Recalculate the policies now (all steps of the strategy)");
    ctx.on_run(c, [ctx] {
        auto r = ctx.client().post("/v1/recalc", json::object());
        if (is_document(ctx.g.format))
            print_document(std::cout, ctx.g.format, r);
        else
            std::cerr << "recalculation requested\n";
        return int(kOk);
    });
}

void add_policy_set(CLI::App &policy, const AgentContext &ctx) {
    struct Args {
        std::string function, ttl;
        uint32_t local = 0, reject = 0, local_cap = 0;
        std::vector<std::string> peers, overflow, limit_in;
    };
    auto args = std::make_shared<Args>();
    auto *c =
        policy.add_subcommand("set", "Override the strategy for a function (until --ttl or clear)");
    c->add_option("function", args->function, "Function name")->required();
    c->add_option("--local", args->local, "Weight of local processing (0-100)")
        ->check(CLI::Range(0, 100));
    c->add_option("--peer", args->peers,
                  "Weight of a peer, NODE=W (node id or address; repeatable)");
    c->add_option("--reject", args->reject, "Weight of reject (0-100)")->check(CLI::Range(0, 100));
    c->add_option("--local-cap", args->local_cap, "Local new connections per second (0 = no cap)");
    c->add_option("--overflow", args->overflow,
                  "Overflow weight of a peer over the local cap, NODE=W");
    c->add_option("--limit-in", args->limit_in, "Forwarded-in cap from a peer, NODE=N conn/s");
    c->add_option("--ttl", args->ttl,
                  "Expire the override after this long (e.g. 5m); default: until cleared");
    ctx.on_run(c, [ctx, args] {
        json body{{"local", args->local},
                  {"reject", args->reject},
                  {"local_cap", args->local_cap},
                  {"peers", parse_weights(args->peers, "--peer")},
                  {"overflow", parse_weights(args->overflow, "--overflow")},
                  {"limit_in", parse_weights(args->limit_in, "--limit-in")}};
        if (!args->ttl.empty())
            body["ttl_s"] =
                std::chrono::duration<double>(parse_duration(args->ttl, "--ttl")).count();
        return ctx.emit(ctx.client().put("/v1/policies/" + args->function, body), print_policies);
    });
}

void add_policy_clear(CLI::App &policy, const AgentContext &ctx) {
    auto function = std::make_shared<std::string>();
    auto *c =
        policy.add_subcommand("clear", "Remove the override: the strategy's policy applies again");
    c->add_option("function", *function, "Function name")->required();
    ctx.on_run(c, [ctx, function] {
        return ctx.emit(ctx.client().del("/v1/policies/" + *function), print_policies);
    });
}

void add_snapshot(CLI::App &app, const AgentContext &ctx) {
    auto *c = app.add_subcommand(
        "snapshot", "Print the agent's last strategy snapshot (for dfaasctl simulate)");
    ctx.on_run(c, [ctx] {
        // A document in any case (the input of dfaasctl simulate): JSON unless -o yaml.
        print_document(std::cout, ctx.g.format == Format::Yaml ? Format::Yaml : Format::Json,
                       ctx.client().get("/v1/snapshot"));
        return int(kOk);
    });
}

}  // namespace

void add_agent_commands(CLI::App &app, GlobalOptions &g, AgentOptions &agent,
                        std::function<int()> &run) {
    const AgentContext ctx{g, agent, run};
    add_get(app, ctx, "status", "Node, strategy, last recalculation, data plane, readiness, peers",
            "/v1/status", print_status);
    add_get(app, ctx, "functions", "Functions: ports, maxrate, weights, measured rates",
            "/v1/functions", print_functions);
    add_get(app, ctx, "peers", "Peers: state, last seen, functions, what they last reported",
            "/v1/peers", print_peers);
    add_policies(app, ctx);
    add_stats(app, ctx);
    add_recalc(app, ctx);

    auto *policy = app.add_subcommand("policy", "Operator overrides of a function's policy");
    policy->require_subcommand(1);
    add_policy_set(*policy, ctx);
    add_policy_clear(*policy, ctx);

    add_snapshot(app, ctx);
}

}  // namespace dfaas::cli
