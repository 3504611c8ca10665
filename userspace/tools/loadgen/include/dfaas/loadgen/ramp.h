// Load stages with linear ramps, as k6's ramping-arrival-rate executor defines them: a list of
// {duration, target}; over each stage the rate moves linearly from the previous stage's target
// (the start rate, 0 unless given, for the first) to this one's. A stage whose target equals the
// previous one holds the rate; a stage of duration 0 jumps to its target.
//
// Written inline (--ramp "30s:200,1m:200,30s:0", k6's own --stage syntax) or read from a file as
// the reference's load files have them: a k6 script's literal `stages: [{ duration: '30s',
// target: 200 }, ...]` (with its scenario's startRate and timeUnit), or the same in JSON.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/loadgen/duration.h"
#include "dfaas/loadgen/schedule.h"

namespace dfaas::loadgen {

// Read before anything is parsed: a stages file larger than this is refused.
inline constexpr size_t kMaxStagesFileBytes = 1024 * 1024;

struct RampStage {
    Nanos duration = 0;
    double target = 0;  // requests per second at the end of the stage
};

struct RampPlan {
    double start_rate = 0;  // the rate the first stage ramps from (k6's startRate)
    bool start_rate_given = false;
    std::vector<RampStage> stages;
};

// "30s:200,1m:200,30s:0": DURATION:TARGET items, durations in the shared grammar. Throws
// UsageError naming the stage.
RampPlan parse_ramp_list(std::string_view text);

// The stages of a k6 script or its JSON form. A target is per timeUnit (default 1s) and is
// converted to per second. Only literal values are read: a list the script computes (in a loop,
// from a trace) is refused with a message saying so, as is an executor other than
// ramping-arrival-rate and a file with more than one stages list. `source` names the input in
// messages. Throws UsageError naming the stage and its line.
RampPlan parse_k6_stages(std::string_view text, std::string_view source);

// parse_k6_stages on a file, refused above kMaxStagesFileBytes.
RampPlan read_k6_stages_file(const std::string &path);

// Consecutive schedule stages from 0; duration-0 stages only move the rate. Throws UsageError
// when no stage has a duration or when a target is out of range.
std::vector<Stage> ramp_schedule_stages(const RampPlan &plan);

}  // namespace dfaas::loadgen
