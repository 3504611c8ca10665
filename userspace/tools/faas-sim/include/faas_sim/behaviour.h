// What a simulated function does with one request: its service cost and its answer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "faas_sim/function_spec.h"

namespace faas_sim {

// The request as the function sees it (the classic watchdog's view).
struct InvocationInput {
    std::string_view method;
    std::string_view path;   // what follows /function/<name>: "" or "/a/b"
    std::string_view query;  // raw query string, without '?'
    std::string_view body;
    const httplib::Headers *headers = nullptr;
};

struct InvocationOutput {
    std::string body;
    std::string content_type;
};

// Burns `cpu_ms` of this thread's CPU time with real arithmetic, so that it competes for cores
// like a real function (wall time grows when cores are contended). Returns early when `stop`
// becomes true.
void burn_cpu(double cpu_ms, const std::atomic<bool> &stop);

// Waits `sleep_ms` without using CPU; returns early when `stop` becomes true.
void sleep_interruptibly(double sleep_ms, const std::atomic<bool> &stop);

// Runs the function: its behaviour's answer plus its cpu_ms and sleep_ms cost.
InvocationOutput invoke(const FunctionSpec &spec, const InvocationInput &input,
                        const std::atomic<bool> &stop);

// "<hex SHA-512>  -\n", what `sha512sum` prints for its standard input.
std::string sha512sum_output(std::string_view data);

}  // namespace faas_sim
