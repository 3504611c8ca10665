#include "dfaas/loadgen/schedule.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "dfaas/text.h"

namespace dfaas::loadgen {
namespace {

std::string describe(const Stage &stage) {
    return format_duration(stage.start) + "-" + format_duration(stage.end);
}

std::string describe(const Stage &stage, size_t index) {
    return "stage " + std::to_string(index + 1) + " (" + describe(stage) + ")";
}

void check_rate(double rate, bool zero_allowed, std::string_view what) {
    if (!std::isfinite(rate) || rate < 0 || (rate == 0 && !zero_allowed) || rate > kMaxRate) {
        throw UsageError(std::string(what) + ": rate must be " + (zero_allowed ? ">= 0" : "> 0") +
                         " and at most " + std::to_string(static_cast<long>(kMaxRate)) + "/s");
    }
}

// Requests a stage holds: the number of k >= 0 whose due time is before the end, i.e.
// ceil(integral of the rate over the stage), computed so that floating-point noise around an
// integer (100/s for exactly 2 s = 200) never adds or drops a request.
uint64_t requests_in(const Stage &stage) {
    long double seconds = static_cast<long double>(stage.end - stage.start) / kNanosPerSecond;
    long double exact = seconds * (static_cast<long double>(stage.rate) + stage.end_rate()) / 2;
    long double nearest = std::round(exact);
    if (std::fabs(exact - nearest) < 1e-6L) return static_cast<uint64_t>(nearest);
    return static_cast<uint64_t>(std::ceil(exact));
}

// Seconds from the stage's start at which the integral of its rate reaches k. For a ramp,
// r0*t + a*t^2/2 = k with a = (r1 - r0)/length, solved as 2k / (r0 + sqrt(r0^2 + 2ak)): the
// form without the cancellation of (-r0 + sqrt(...))/a, valid for ramps up and down alike.
long double seconds_to_request(const Stage &stage, long double k) {
    long double r0 = stage.rate;
    long double r1 = stage.end_rate();
    if (k == 0) return 0;
    if (r0 == r1) return k / r0;
    long double length = static_cast<long double>(stage.end - stage.start) / kNanosPerSecond;
    long double accel = (r1 - r0) / length;
    long double discriminant = std::max(0.0L, r0 * r0 + 2 * accel * k);
    return 2 * k / (r0 + std::sqrt(discriminant));
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
    std::string_view range = trim_space(item.substr(0, colon));
    std::string rate_text(trim_space(item.substr(colon + 1)));
    size_t dash = range.find('-');
    if (dash == std::string_view::npos) throw fail("missing '-' between start and end");
    std::string_view start_text = trim_space(range.substr(0, dash));
    std::string_view end_text = trim_space(range.substr(dash + 1));
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

std::string max_schedule_text() {
    return std::to_string(kMaxScheduleDuration / (3600 * kNanosPerSecond)) + "h";
}

Schedule Schedule::constant(double rate, Nanos duration) {
    check_rate(rate, false, "--rate");
    if (duration <= 0) throw UsageError("--duration must be greater than 0");
    if (duration > kMaxScheduleDuration) {
        throw UsageError("--duration must be at most " + max_schedule_text());
    }
    return staged({Stage{0, duration, rate}});
}

Schedule Schedule::staged(std::vector<Stage> stages) {
    if (stages.empty()) throw UsageError("no stages given");
    if (stages.size() > kMaxStages) {
        throw UsageError(std::to_string(stages.size()) + " stages: at most " +
                         std::to_string(kMaxStages) + " are accepted");
    }
    Schedule schedule;
    Nanos expected_start = 0;
    for (size_t i = 0; i < stages.size(); ++i) {
        const Stage &stage = stages[i];
        if (stage.start != expected_start) {
            throw UsageError(describe(stage, i) + " must start at " +
                             format_duration(expected_start) +
                             " (stages start at 0 and are contiguous)");
        }
        if (stage.end <= stage.start) {
            throw UsageError(describe(stage, i) + " must end after it starts");
        }
        if (stage.end > kMaxScheduleDuration) {
            throw UsageError(describe(stage, i) + " ends after " + max_schedule_text() +
                             ", the longest schedule accepted");
        }
        check_rate(stage.rate, true, describe(stage, i));
        if (stage.ramp_to) check_rate(*stage.ramp_to, true, describe(stage, i) + " ramp target");
        schedule.first_index_.push_back(schedule.total_);
        schedule.total_ += requests_in(stage);
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
    auto offset = static_cast<Nanos>(seconds_to_request(stage, k) * kNanosPerSecond);
    // Rounding can never move a request of this stage to the next one.
    return stage.start + std::min(offset, stage.end - stage.start - 1);
}

double Schedule::rate_at(Nanos offset) const {
    auto it = std::upper_bound(stages_.begin(), stages_.end(), offset,
                               [](Nanos value, const Stage &stage) { return value < stage.end; });
    if (offset < 0 || it == stages_.end()) return 0;
    if (!it->ramp_to) return it->rate;
    long double fraction = static_cast<long double>(offset - it->start) / (it->end - it->start);
    return static_cast<double>(it->rate + (*it->ramp_to - it->rate) * fraction);
}

double Schedule::mean_rate() const {
    Nanos length = duration();
    return length > 0 ? static_cast<double>(total_) * kNanosPerSecond / length : 0.0;
}

std::vector<Stage> parse_stages(std::string_view text) {
    // Counted before anything is parsed or allocated.
    auto count = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
    if (count > kMaxStages) {
        throw UsageError("--stages has " + std::to_string(count) + " stages: at most " +
                         std::to_string(kMaxStages) + " are accepted");
    }
    std::vector<Stage> stages;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string_view item = trim_space(text.substr(pos, comma - pos));
        if (item.empty())
            throw UsageError("invalid --stages '" + std::string(text) + "': empty stage");
        stages.push_back(parse_stage(item));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return stages;
}

}  // namespace dfaas::loadgen
