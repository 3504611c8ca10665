#include "dfaas/loadgen/cli.h"

#include <CLI/CLI.hpp>

#include "dfaas/loadgen/ramp.h"
#include "dfaas/loadgen/vegeta_targets.h"
#include "dfaas/version.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace dfaas::loadgen {
namespace {

constexpr const char *kDescription =
    "dfaas-loadgen: open-loop HTTP load at a constant (or staged) arrival rate.\n"
    "Requests leave at scheduled times whatever the server does; several --target URLs are\n"
    "used round-robin (request i goes to target i mod N). Only http:// is supported.\n";

constexpr const char *kAllowedMethods[] = {"GET",    "POST", "PUT",    "PATCH",
                                           "DELETE", "HEAD", "OPTIONS"};

// Everything as text, so each value gets a message naming its flag rather than CLI11's generic one.
struct RawFlags {
    std::string rate;
    std::string duration;
    std::string stages;
    std::string ramp;
    std::string stages_file;
    std::string start_rate;
    std::vector<std::string> targets;
    std::string targets_file;
    std::string method;  // empty: GET
    std::string body;
    std::string body_file;
    std::vector<std::string> headers;
    bool keepalive = false;
    std::string connections;
    std::string timeout = "5s";
    bool json = false;
    bool quiet = false;
    std::string timeline;
    std::string output;
};

void define_flags(CLI::App &app, RawFlags &raw) {
    app.add_option("--rate", raw.rate, "Requests per second, e.g. 250 or 0.5");
    app.add_option("--duration", raw.duration, "How long to send at --rate, e.g. 30s, 5m, 1h30m");
    app.add_option("--stages", raw.stages,
                   "Piecewise-constant rates instead of --rate/--duration, e.g. "
                   "\"0-5m:100,5-10m:300\" (contiguous from 0; rate 0 pauses)");
    app.add_option(
        "--ramp", raw.ramp,
        "Linear ramps as k6 stages, DURATION:TARGET items, e.g. \"30s:200,1m:200,30s:0\" "
        "(from the previous target, 0 or --start-rate at first)");
    app.add_option("--stages-file", raw.stages_file,
                   "Read k6 stages from a k6 script (literal stages: [{duration, target}, ...], "
                   "startRate, timeUnit) or their JSON form");
    app.add_option("--start-rate", raw.start_rate,
                   "With --ramp: the rate the first stage ramps from (k6 startRate, default 0)");
    // One value per occurrence: "--target A --target B".
    app.add_option("--target", raw.targets, "http://host[:port]/path; repeat for round-robin")
        ->allow_extra_args(false);
    app.add_option("--targets-file", raw.targets_file,
                   "Read the targets from a vegeta targets file (METHOD URL lines, optional "
                   "headers and @body lines), round-robin; instead of --target");
    app.add_option("--method", raw.method,
                   "GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
    app.add_option("--body", raw.body, "Request body text");
    app.add_option("--body-file", raw.body_file, "Read the request body from this file");
    app.add_option("--header", raw.headers, "Extra request header 'Name: value'; repeatable")
        ->allow_extra_args(false);
    app.add_flag("--keepalive", raw.keepalive,
                 "Reuse connections (an idle one, else a new one); default: one per request");
    app.add_option("--connections", raw.connections,
                   "Idle keep-alive connections kept per target (default 10000)");
    app.add_option("--timeout", raw.timeout, "Per request, connect included (default 5s)");
    app.add_flag("--json", raw.json, "Print the report as one JSON object");
    app.add_option("--timeline", raw.timeline, "Write a per-second CSV timeline to this file");
    app.add_option("--output", raw.output, "Write the report to this file instead of stdout");
    app.add_flag("--quiet", raw.quiet, "No progress line on stderr");
}

double parse_rate(const std::string &text) {
    size_t used = 0;
    double rate = 0;
    try {
        rate = std::stod(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (text.empty() || used != text.size()) {
        throw UsageError("invalid --rate '" + text + "': expected requests per second, e.g. 250");
    }
    return rate;
}

Schedule build_schedule(const RawFlags &raw) {
    int forms = !raw.stages.empty() + !raw.ramp.empty() + !raw.stages_file.empty();
    if (forms > 1) throw UsageError("give one of --stages, --ramp and --stages-file");
    if (forms == 1 && (!raw.rate.empty() || !raw.duration.empty())) {
        throw UsageError(std::string(!raw.stages.empty() ? "--stages"
                                     : !raw.ramp.empty() ? "--ramp"
                                                         : "--stages-file") +
                         " replaces --rate and --duration; give one or the other");
    }
    if (!raw.start_rate.empty() && raw.ramp.empty()) {
        throw UsageError("--start-rate applies only with --ramp (a stages file has startRate)");
    }
    if (!raw.stages.empty()) return Schedule::staged(parse_stages(raw.stages));
    if (!raw.ramp.empty() || !raw.stages_file.empty()) {
        RampPlan plan =
            raw.ramp.empty() ? read_k6_stages_file(raw.stages_file) : parse_ramp_list(raw.ramp);
        if (!raw.start_rate.empty()) {
            try {
                plan.start_rate = parse_rate(raw.start_rate);
            } catch (const UsageError &) {
                throw UsageError("invalid --start-rate '" + raw.start_rate +
                                 "': expected requests per second, e.g. 100");
            }
        }
        try {
            return Schedule::staged(ramp_schedule_stages(plan));
        } catch (const UsageError &e) {
            throw UsageError((raw.ramp.empty() ? "--stages-file '" + raw.stages_file + "': "
                                               : std::string("--ramp: ")) +
                             e.what());
        }
    }
    if (raw.rate.empty()) throw UsageError("missing --rate (or --stages, --ramp, --stages-file)");
    if (raw.duration.empty()) throw UsageError("missing --duration (or --stages)");
    double rate = parse_rate(raw.rate);
    Nanos duration = 0;
    try {
        duration = parse_duration(raw.duration);
    } catch (const UsageError &e) {
        throw UsageError(std::string("--duration: ") + e.what());
    }
    return Schedule::constant(rate, duration);
}

std::string read_body_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError("cannot read --body-file '" + path + "': " + std::strerror(errno));
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string uppercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

size_t parse_connections(const std::string &text) {
    bool digits =
        !text.empty() && text.size() <= 9 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(text) == 0) {
        throw UsageError("invalid --connections '" + text + "': expected a whole number >= 1");
    }
    return std::stoul(text);
}

// The targets of a vegeta targets file, each with its own method, headers and body.
std::vector<Target> targets_from_file(const RawFlags &raw) {
    if (!raw.targets.empty()) throw UsageError("give --target or --targets-file, not both");
    for (const auto &[flag, given] :
         {std::pair{"--method", !raw.method.empty()}, std::pair{"--body", !raw.body.empty()},
          std::pair{"--body-file", !raw.body_file.empty()}}) {
        if (given) {
            throw UsageError(std::string(flag) +
                             " does not apply with --targets-file (the file gives each target's "
                             "method and body)");
        }
    }
    std::vector<Target> targets;
    for (VegetaTarget &entry : read_vegeta_targets_file(raw.targets_file)) {
        Target target;
        try {
            target = resolve_target(entry.url);
        } catch (const UsageError &e) {
            throw UsageError("--targets-file '" + raw.targets_file + "' line " +
                             std::to_string(entry.line) + ": " + e.what());
        }
        target.request =
            TargetRequest{std::move(entry.method), std::move(entry.headers), std::move(entry.body)};
        targets.push_back(std::move(target));
    }
    return targets;
}

RunConfig build_config(const RawFlags &raw) {
    RunConfig config;
    config.schedule = build_schedule(raw);
    if (!raw.targets_file.empty()) {
        config.targets = targets_from_file(raw);
    } else {
        if (raw.targets.empty()) {
            throw UsageError("missing --target URL (at least one is required) or --targets-file");
        }
        for (const std::string &url : raw.targets)
            config.targets.push_back(resolve_target(url));
    }

    config.method = raw.method.empty() ? "GET" : uppercase(raw.method);
    if (std::find(std::begin(kAllowedMethods), std::end(kAllowedMethods), config.method) ==
        std::end(kAllowedMethods)) {
        throw UsageError("invalid --method '" + raw.method +
                         "': expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
    }
    if (!raw.body.empty() && !raw.body_file.empty()) {
        throw UsageError("--body and --body-file are mutually exclusive");
    }
    config.body = raw.body_file.empty() ? raw.body : read_body_file(raw.body_file);
    for (const std::string &header : raw.headers) {
        config.headers.push_back(parse_header_flag(header));
    }
    config.keepalive = raw.keepalive;
    if (!raw.connections.empty()) {
        if (!raw.keepalive) throw UsageError("--connections applies only with --keepalive");
        config.pool_size = parse_connections(raw.connections);
    }
    try {
        config.timeout = parse_duration(raw.timeout);
    } catch (const UsageError &e) {
        throw UsageError(std::string("--timeout: ") + e.what());
    }
    if (config.timeout <= 0) throw UsageError("--timeout must be greater than 0");
    return config;
}

}  // namespace

bool is_allowed_method(std::string_view method) {
    return std::find(std::begin(kAllowedMethods), std::end(kAllowedMethods), method) !=
           std::end(kAllowedMethods);
}

std::pair<std::string, std::string> parse_header_flag(const std::string &text) {
    size_t colon = text.find(':');
    std::string name = colon == std::string::npos ? "" : text.substr(0, colon);
    bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    if (!name_ok) {
        throw UsageError("invalid --header '" + text + "': expected 'Name: value'");
    }
    std::string value = text.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (value.find_first_of("\r\n") != std::string::npos) {
        throw UsageError("invalid --header '" + name + "': the value contains a line break");
    }
    std::string lower = lowercase(name);
    if (lower == "content-length" || lower == "transfer-encoding") {
        throw UsageError("--header '" + name + "' is set by dfaas-loadgen from the body");
    }
    if (lower == "connection") {
        throw UsageError("--header 'Connection' is set by dfaas-loadgen (use --keepalive)");
    }
    return {name, value};
}

CommandLine parse_command_line(int argc, const char *const *argv) {
    CLI::App app{kDescription, "dfaas-loadgen"};
    RawFlags raw;
    define_flags(app, raw);
    app.set_version_flag("--version",
                         std::string("dfaas-loadgen ") + DFAAS_VERSION + " (" + DFAAS_GIT + ")",
                         "Print the version and exit");
    CommandLine result;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &) {
        result.exit_now = true;
        result.message = app.help();
        return result;
    } catch (const CLI::CallForVersion &e) {
        result.exit_now = true;
        result.message = std::string(e.what()) + "\n";
        return result;
    } catch (const CLI::ParseError &e) {
        throw UsageError(e.what());
    }
    result.options.config = build_config(raw);
    result.options.json = raw.json;
    result.options.quiet = raw.quiet;
    result.options.timeline_path = raw.timeline;
    result.options.output_path = raw.output;
    return result;
}

}  // namespace dfaas::loadgen
