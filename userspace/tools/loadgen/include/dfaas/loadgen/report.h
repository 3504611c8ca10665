// Reports of a run: vegeta-style text, one JSON object (schema "dfaas-loadgen/report/v1", see
// docs/loadgen.md), the per-second CSV timeline and the live progress line.
#pragma once

#include <ostream>
#include <string>

#include "dfaas/loadgen/engine.h"

namespace dfaas::loadgen {

inline constexpr const char *kReportSchema = "dfaas-loadgen/report/v1";

std::string format_text_report(const RunResult &result);

// Durations are integer nanoseconds, as in vegeta's JSON report.
std::string format_json_report(const RunResult &result);

// One row per second of the schedule; fixed columns first, then code_<status>, error_<kind> and
// served_by_<node> columns for every status, error kind and node seen during the run.
void write_timeline_csv(const RunResult &result, std::ostream &out);

// One line without a newline, e.g.
// "[ 12s/300s] sent 2400 (200.0/s)  done 2390  success 99.5%  p99 12.3ms  in flight 10".
std::string format_progress_line(const Progress &progress);

}  // namespace dfaas::loadgen
