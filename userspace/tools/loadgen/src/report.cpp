#include "dfaas/loadgen/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>
#include <sstream>
#include <vector>

namespace dfaas::loadgen {
namespace {

std::string fixed(double value, int decimals = 2) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

std::string percent(double ratio) {
    return fixed(ratio * 100.0) + "%";
}

double milliseconds(Nanos ns) {
    return static_cast<double>(ns) / kNanosPerMilli;
}

// vegeta's layout: a label, the bracketed field names, then the values.
void line(std::ostringstream &out, const std::string &label, const std::string &fields,
          const std::string &values) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-13s %-34s ", label.c_str(), ("[" + fields + "]").c_str());
    out << buf << values << "\n";
}

std::string join_durations(std::initializer_list<Nanos> values) {
    std::string text;
    for (Nanos value : values) {
        if (!text.empty()) text += ", ";
        text += format_duration(value);
    }
    return text;
}

std::string status_code_list(const Tally &totals) {
    std::string text;
    auto add = [&](const std::string &item) { text += (text.empty() ? "" : "  ") + item; };
    if (totals.errors > 0) add("0:" + std::to_string(totals.errors));
    for (const auto &[code, count] : totals.status_codes) {
        add(std::to_string(code) + ":" + std::to_string(count));
    }
    return text.empty() ? "-" : text;
}

std::string error_list(const RunResult &result) {
    std::string text;
    for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
        uint64_t count = result.totals.error_kinds[kind];
        if (count == 0) continue;
        if (!text.empty()) text += "\n" + std::string(49, ' ');
        text += std::string(error_kind_name(static_cast<ErrorKind>(kind))) + ":" +
                std::to_string(count) + " (" + result.error_examples[kind] + ")";
    }
    return text.empty() ? "-" : text;
}

std::string served_by_list(const Tally &totals) {
    std::string text;
    auto add = [&](const std::string &item) { text += (text.empty() ? "" : "  ") + item; };
    for (const auto &[node, count] : totals.served_by)
        add(node + ":" + std::to_string(count));
    if (totals.no_node_id > 0) add("(no header):" + std::to_string(totals.no_node_id));
    return text.empty() ? "-" : text;
}

uint64_t mean_bytes(uint64_t total, uint64_t requests) {
    return requests ? total / requests : 0;
}

std::string csv_field(const std::string &text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

// Latency columns stay empty for a second without responses: no value, rather than a fake 0.
std::string latency_cell(const TimelineRow &row, Nanos value) {
    return row.tally.responses ? fixed(milliseconds(value), 3) : "";
}

}  // namespace

std::string format_text_report(const RunResult &result) {
    const Tally &totals = result.totals;
    const Histogram &latency = totals.latency;
    std::ostringstream out;
    line(out, "Requests", "total, rate, throughput",
         std::to_string(totals.issued) + ", " + fixed(result.rate()) + ", " +
             fixed(result.throughput()));
    line(out, "Duration", "total, attack, wait",
         join_durations({result.duration(), result.attack, result.wait}));
    line(out, "Latencies", "min, mean, 50, 90, 95, 99, max",
         join_durations({latency.min(), latency.mean(), latency.percentile(50),
                         latency.percentile(90), latency.percentile(95), latency.percentile(99),
                         latency.max()}));
    line(out, "Send lag", "mean, 99, max",
         join_durations({totals.lag.mean(), totals.lag.percentile(99), totals.lag.max()}));
    line(out, "Bytes In", "total, mean",
         std::to_string(totals.bytes_in) + ", " +
             std::to_string(mean_bytes(totals.bytes_in, totals.issued)));
    line(out, "Bytes Out", "total, mean",
         std::to_string(totals.bytes_out) + ", " +
             std::to_string(mean_bytes(totals.bytes_out, totals.issued)));
    line(out, "Success", "ratio 200-399, ratio 200",
         percent(result.success_ratio()) + ", " + percent(result.http_200_ratio()));
    line(out, "Status Codes", "code:count", status_code_list(totals));
    line(out, "Error Set", "kind:count (first message)", error_list(result));
    line(out, "Served By", "node:count", served_by_list(totals));
    line(out, "Schedule", "target rate, scheduled, planned",
         fixed(result.target_rate) + "/s, " + std::to_string(result.scheduled) + ", " +
             format_duration(result.planned_duration));
    line(out, "Connections", "opened, retried",
         std::to_string(result.connections_opened) + ", " + std::to_string(result.retries));
    if (result.interrupted) {
        out << "Interrupted: stopped early by a signal; " << totals.issued << " of "
            << result.scheduled << " scheduled requests were sent.\n";
    }
    return out.str();
}

std::string format_json_report(const RunResult &result) {
    using nlohmann::json;
    const Tally &totals = result.totals;
    const Histogram &latency = totals.latency;
    json status_codes = json::object();
    if (totals.errors > 0) status_codes["0"] = totals.errors;
    for (const auto &[code, count] : totals.status_codes)
        status_codes[std::to_string(code)] = count;
    json error_kinds = json::object();
    json error_examples = json::object();
    for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
        std::string name(error_kind_name(static_cast<ErrorKind>(kind)));
        error_kinds[name] = totals.error_kinds[kind];
        if (totals.error_kinds[kind] > 0) error_examples[name] = result.error_examples[kind];
    }
    json served_by = json::object();
    for (const auto &[node, count] : totals.served_by)
        served_by[node] = count;

    json report = {
        {"schema", kReportSchema},
        {"started_at", result.started_at},
        {"targets", result.targets},
        {"method", result.method},
        {"keepalive", result.keepalive},
        {"timeout", result.timeout},
        {"target_rate", result.target_rate},
        {"scheduled", result.scheduled},
        {"planned_duration", result.planned_duration},
        {"requests", totals.issued},
        {"rate", result.rate()},
        {"throughput", result.throughput()},
        {"success", result.success_ratio()},
        {"http_200_ratio", result.http_200_ratio()},
        {"responses", totals.responses},
        {"errors", totals.errors},
        {"duration", result.duration()},
        {"attack", result.attack},
        {"wait", result.wait},
        {"latencies",
         {{"total", static_cast<uint64_t>(latency.total())},
          {"min", latency.min()},
          {"mean", latency.mean()},
          {"50th", latency.percentile(50)},
          {"90th", latency.percentile(90)},
          {"95th", latency.percentile(95)},
          {"99th", latency.percentile(99)},
          {"max", latency.max()}}},
        {"send_lag",
         {{"mean", totals.lag.mean()},
          {"99th", totals.lag.percentile(99)},
          {"max", totals.lag.max()}}},
        {"bytes_in",
         {{"total", totals.bytes_in}, {"mean", mean_bytes(totals.bytes_in, totals.issued)}}},
        {"bytes_out",
         {{"total", totals.bytes_out}, {"mean", mean_bytes(totals.bytes_out, totals.issued)}}},
        {"status_codes", status_codes},
        {"error_kinds", error_kinds},
        {"error_examples", error_examples},
        {"served_by", served_by},
        {"no_node_id", totals.no_node_id},
        {"connections_opened", result.connections_opened},
        {"retries", result.retries},
        {"interrupted", result.interrupted},
    };
    return report.dump(2) + "\n";
}

void write_timeline_csv(const RunResult &result, std::ostream &out) {
    std::set<int> codes;
    std::set<std::string> nodes;
    std::vector<size_t> kinds;
    for (const auto &[code, count] : result.totals.status_codes)
        codes.insert(code);
    for (const auto &[node, count] : result.totals.served_by)
        nodes.insert(node);
    for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
        if (result.totals.error_kinds[kind] > 0) kinds.push_back(kind);
    }
    bool any_without_node = result.totals.no_node_id > 0;

    out << "second,issued,completed,errors,success,http_200,p50_ms,p99_ms,lag_max_ms";
    for (int code : codes)
        out << ",code_" << code;
    for (size_t kind : kinds)
        out << ",error_" << error_kind_name(static_cast<ErrorKind>(kind));
    for (const std::string &node : nodes)
        out << "," << csv_field("served_by_" + node);
    if (any_without_node) out << ",no_node_id";
    std::vector<std::string> latency_nodes;
    for (const auto &[node, histogram] : result.totals.served_by_latency)
        latency_nodes.push_back(node);
    for (const std::string &node : latency_nodes)
        out << "," << csv_field("p50_ms_" + node) << "," << csv_field("p99_ms_" + node);
    out << "\n";

    for (const TimelineRow &row : result.timeline) {
        const Tally &tally = row.tally;
        out << row.second << "," << tally.issued << "," << tally.responses << "," << tally.errors
            << "," << tally.success << "," << tally.http_200 << "," << latency_cell(row, row.p50)
            << "," << latency_cell(row, row.p99) << ","
            << (tally.issued ? fixed(milliseconds(row.lag_max), 3) : "");
        for (int code : codes) {
            auto it = tally.status_codes.find(code);
            out << "," << (it == tally.status_codes.end() ? 0 : it->second);
        }
        for (size_t kind : kinds)
            out << "," << tally.error_kinds[kind];
        for (const std::string &node : nodes) {
            auto it = tally.served_by.find(node);
            out << "," << (it == tally.served_by.end() ? 0 : it->second);
        }
        if (any_without_node) out << "," << tally.no_node_id;
        for (const std::string &node : latency_nodes) {
            auto it = row.served_by_p50_p99.find(node);
            if (it == row.served_by_p50_p99.end()) {
                out << ",,";
            } else {
                out << "," << fixed(milliseconds(it->second.first), 3) << ","
                    << fixed(milliseconds(it->second.second), 3);
            }
        }
        out << "\n";
    }
}

std::string format_progress_line(const Progress &progress) {
    double elapsed_seconds = static_cast<double>(progress.elapsed) / kNanosPerSecond;
    double rate = elapsed_seconds > 0 ? progress.issued / elapsed_seconds : 0;
    double success = progress.completed ? 100.0 * progress.success / progress.completed : 0;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "[%4.0fs/%.0fs] sent %llu (%.1f/s)  done %llu  success %.1f%%  p99 %s  "
                  "in flight %llu",
                  elapsed_seconds, static_cast<double>(progress.planned) / kNanosPerSecond,
                  static_cast<unsigned long long>(progress.issued), rate,
                  static_cast<unsigned long long>(progress.completed), success,
                  format_duration(progress.p99).c_str(),
                  static_cast<unsigned long long>(progress.in_flight));
    return buf;
}

}  // namespace dfaas::loadgen
