// Value types shared by every strategy: time, node types and thresholds, function groups, local
// functions and their labels.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/domain.h"

namespace dfaas::strategy {

// The library never reads a clock: the caller passes instants. Instants are wall-clock
// milliseconds since the Unix epoch (Recalc's phases are aligned to wall-clock multiples of P).
using Millis = std::chrono::milliseconds;
using Instant = std::chrono::sys_time<Millis>;

// NodeType (heavy, mid, light: the forecaster's node classes) and StrategyKind, with their names
// and parsers, are dfaas/domain.h's, shared with the agent's configuration.

// Node Margin thresholds ("MaxValues" in the reference): cpu in percent (100 = one core), ram in
// bytes, power in micro-watts. Defaults are the reference's Helm values.
struct Thresholds {
    double cpu = 120.0;
    double ram = 5.5e9;
    double power = 2.1e6;

    bool operator==(const Thresholds &) const = default;
};

// Function groups of the forecaster (resource profiles): one type with the agent and its
// configuration (dfaas/domain.h names them).
using Group = FunctionGroup;

// Request rate per group in req/s: the forecaster's input and the load a Node Margin peer reports.
struct GroupLoad {
    double high = 0.0;
    double low = 0.0;
    double medium = 0.0;

    double &operator[](Group group);
    double operator[](Group group) const;
    bool operator==(const GroupLoad &) const = default;
};

// Function name -> group, the content of the reference's group file.
using GroupTable = std::map<std::string, Group>;

// The reference default: HIGH eat-memory, nmap; LOW env, figlet, shasum; MEDIUM curl.
GroupTable reference_group_table();

// OpenFaaS labels the strategies read.
inline constexpr std::string_view kLabelMaxRate = "dfaas.maxrate";
inline constexpr std::string_view kLabelGroup = "dfaas.group";

// A function deployed on this node.
struct LocalFunction {
    std::string name;
    uint16_t port = 0;  // the function port the data plane serves it on
    std::map<std::string, std::string> labels;

    bool operator==(const LocalFunction &) const = default;
};

// Recalc capacity from the label dfaas.maxrate (an unsigned integer in req/s that fits 32 bits).
// Returns nullopt and appends a warning naming the function when the label is absent or invalid.
std::optional<uint32_t> max_rate_of(const LocalFunction &function,
                                    std::vector<std::string> &warnings);

// Group of a function: the label dfaas.group when present and valid, else the group table; nullopt
// when neither knows it (such functions are left out of group loads). An invalid label adds a
// warning and falls back to the table.
std::optional<Group> group_of(const LocalFunction &function, const GroupTable &groups,
                              std::vector<std::string> &warnings);

}  // namespace dfaas::strategy
