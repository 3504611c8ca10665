#include "dfaas/loadgen/schedule.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace dfaas::loadgen {
namespace {

std::string describe(const Stage &stage) {
    return format_duration(stage.start) + "-" + format_duration(stage.end);
}

void check_rate(double rate, bool zero_allowed, std::string_view what) {
    if (!std::isfinite(rate) || rate < 0 || (rate == 0 && !zero_allowed) || rate > kMaxRate) {
        throw UsageError(std::string(what) + ": rate must be " + (zero_allowed ? ">= 0" : "> 0") +
                         " and at most " + std::to_string(static_cast<long>(kMaxRate)) + "/s");
    }
}

// Number of k >= 0 with k/rate < length: ceil(length*rate), computed so that floating-point
// noise around an integer (100/s for exactly 2 s = 200) never adds or drops a request.
uint64_t requests_in(Nanos length, double rate) {
    long double exact = static_cast<long double>(length) * rate / kNanosPerSecond;
    long double nearest = std::round(exact);
    if (std::fabs(exact - nearest) < 1e-6L) return static_cast<uint64_t>(nearest);
    return static_cast<uint64_t>(std::ceil(exact));
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

std::string_view trailing_unit(std::string_view duration) {
    size_t pos = duration.size();
    while (pos > 0 && std::isalpha(static_cast<unsigned char>(duration[pos - 1])))
        --pos;
    return duration.substr(pos);
}

bool is_bare_number(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
}

Stage parse_stage(std::string_view item) {
    auto fail = [&](std::string_view why) -> UsageError {
        return UsageError("invalid stage '" + std::string(item) + "': " + std::string(why) +
                          " (expected START-END:RATE, e.g. 0-5m:100)");
    };
    size_t colon = item.rfind(':');
    if (colon == std::string_view::npos) throw fail("missing ':RATE'");
    std::string_view range = trim(item.substr(0, colon));
    std::string rate_text(trim(item.substr(colon + 1)));
    size_t dash = range.find('-');
    if (dash == std::string_view::npos) throw fail("missing '-' between start and end");
    std::string_view start_text = trim(range.substr(0, dash));
    std::string_view end_text = trim(range.substr(dash + 1));
    std::string start_with_unit(start_text);
    if (is_bare_number(start_text) && start_text != "0") {
        start_with_unit += trailing_unit(end_text);
    }

    Stage stage;
    try {
        stage.start = parse_duration(start_with_unit);
        stage.end = parse_duration(end_text);
    } catch (const UsageError &e) {
        throw fail(e.what());
    }
    size_t used = 0;
    try {
        stage.rate = std::stod(rate_text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (rate_text.empty() || used != rate_text.size()) throw fail("rate is not a number");
    check_rate(stage.rate, true, "stage " + describe(stage));
    return stage;
}

}  // namespace

Schedule Schedule::constant(double rate, Nanos duration) {
    check_rate(rate, false, "--rate");
    if (duration <= 0) throw UsageError("--duration must be greater than 0");
    return staged({Stage{0, duration, rate}});
}

Schedule Schedule::staged(std::vector<Stage> stages) {
    if (stages.empty()) throw UsageError("no stages given");
    Schedule schedule;
    Nanos expected_start = 0;
    for (const Stage &stage : stages) {
        if (stage.start != expected_start) {
            throw UsageError("stage " + describe(stage) + " must start at " +
                             format_duration(expected_start) +
                             " (stages start at 0 and are contiguous)");
        }
        if (stage.end <= stage.start) {
            throw UsageError("stage " + describe(stage) + " must end after it starts");
        }
        check_rate(stage.rate, true, "stage " + describe(stage));
        schedule.first_index_.push_back(schedule.total_);
        schedule.total_ += requests_in(stage.end - stage.start, stage.rate);
        expected_start = stage.end;
    }
    schedule.stages_ = std::move(stages);
    return schedule;
}

Nanos Schedule::due_offset(uint64_t index) const {
    // The last stage whose first request is at or before index; a stage with rate 0 owns no index,
    // so upper_bound skips past it.
    auto it = std::upper_bound(first_index_.begin(), first_index_.end(), index);
    size_t stage_index = static_cast<size_t>(it - first_index_.begin()) - 1;
    const Stage &stage = stages_[stage_index];
    long double k = static_cast<long double>(index - first_index_[stage_index]);
    return stage.start + static_cast<Nanos>(k * kNanosPerSecond / stage.rate);
}

double Schedule::mean_rate() const {
    Nanos length = duration();
    return length > 0 ? static_cast<double>(total_) * kNanosPerSecond / length : 0.0;
}

std::vector<Stage> parse_stages(std::string_view text) {
    std::vector<Stage> stages;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string_view item = trim(text.substr(pos, comma - pos));
        if (item.empty())
            throw UsageError("invalid --stages '" + std::string(text) + "': empty stage");
        stages.push_back(parse_stage(item));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return stages;
}

}  // namespace dfaas::loadgen
