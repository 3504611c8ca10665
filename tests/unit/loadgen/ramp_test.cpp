// Linear ramps (k6 stages): the rate at any time, the exact open-loop schedule they give, and the
// k6 scripts and JSON files they are read from, with every malformed input refused by name.
#include "dfaas/loadgen/ramp.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dfaas/loadgen/schedule.h"

namespace dfaas::loadgen {
namespace {

namespace fs = std::filesystem;
constexpr Nanos kSecond = kNanosPerSecond;
constexpr Nanos kMilli = kNanosPerMilli;

Schedule ramp(std::string_view text) {
    return Schedule::staged(ramp_schedule_stages(parse_ramp_list(text)));
}

std::string error_of(const std::function<void()> &action) {
    try {
        action();
    } catch (const UsageError &e) {
        return e.what();
    }
    return "(no error)";
}

// Requests of the schedule due in [from, to).
uint64_t due_between(const Schedule &schedule, Nanos from, Nanos to) {
    uint64_t count = 0;
    for (uint64_t k = 0; k < schedule.total_requests(); ++k) {
        Nanos due = schedule.due_offset(k);
        if (due >= from && due < to) ++count;
    }
    return count;
}

// The integral of the configured rate over [from, to), by the trapezoid rule per millisecond
// (exact for piecewise-linear rates whose breakpoints fall on milliseconds).
double integral(const Schedule &schedule, Nanos from, Nanos to) {
    double sum = 0;
    for (Nanos t = from; t < to; t += kMilli) {
        sum += (schedule.rate_at(t) + schedule.rate_at(std::min(t + kMilli, to) - 1)) / 2 * 0.001;
    }
    return sum;
}

TEST(Ramp, RateMovesLinearlyFromThePreviousTarget) {
    Schedule schedule = ramp("10s:100,20s:100,10s:0");
    ASSERT_EQ(schedule.stages().size(), 3u);
    EXPECT_DOUBLE_EQ(schedule.rate_at(0), 0);  // k6 starts at 0 unless startRate says otherwise
    EXPECT_DOUBLE_EQ(schedule.rate_at(5 * kSecond), 50);
    EXPECT_DOUBLE_EQ(schedule.rate_at(7500 * kMilli), 75);
    // A target equal to the previous one holds the rate.
    EXPECT_FALSE(schedule.stages()[1].ramp_to.has_value());
    EXPECT_DOUBLE_EQ(schedule.rate_at(10 * kSecond), 100);
    EXPECT_DOUBLE_EQ(schedule.rate_at(29 * kSecond), 100);
    // Ramp down to 0.
    EXPECT_DOUBLE_EQ(schedule.rate_at(35 * kSecond), 50);
    EXPECT_DOUBLE_EQ(schedule.rate_at(40 * kSecond), 0);  // after the end
    EXPECT_EQ(schedule.duration(), 40 * kSecond);
    // 500 up, 2000 held, 500 down: each stage holds the integral of its rate.
    EXPECT_EQ(schedule.total_requests(), 3000u);
    EXPECT_EQ(due_between(schedule, 0, 10 * kSecond), 500u);
    EXPECT_EQ(schedule.due_offset(0), 0);
    EXPECT_EQ(due_between(schedule, 10 * kSecond, 30 * kSecond), 2000u);
    EXPECT_EQ(due_between(schedule, 30 * kSecond, 40 * kSecond), 500u);
}

TEST(Ramp, StartRateAndZeroDurationStagesMoveTheRate) {
    RampPlan plan = parse_ramp_list("0s:300,10s:100");
    Schedule jump = Schedule::staged(ramp_schedule_stages(plan));
    ASSERT_EQ(jump.stages().size(), 1u);  // the 0s stage only sets the rate the next one starts at
    EXPECT_DOUBLE_EQ(jump.rate_at(0), 300);
    EXPECT_EQ(jump.total_requests(), 2000u);

    plan = parse_ramp_list("10s:100");
    plan.start_rate = 100;
    Schedule held = Schedule::staged(ramp_schedule_stages(plan));
    EXPECT_FALSE(held.stages()[0].ramp_to.has_value());
    EXPECT_EQ(held.total_requests(), 1000u);
}

TEST(Ramp, RequestsFollowTheIntegralOfTheRateAtEverySecond) {
    // Up, hold, down to 0, up from 0, down to a non-zero rate: at every second boundary the
    // requests due so far are the integral of the rate so far, rounded up (+-1).
    Schedule schedule = ramp("7s:300,3s:300,5s:0,4s:123.5,6s:40");
    Nanos t = 0;
    uint64_t k = 0;
    double so_far = 0;
    for (Nanos second = kSecond; second <= schedule.duration(); second += kSecond) {
        while (k < schedule.total_requests() && schedule.due_offset(k) < second)
            ++k;
        so_far += integral(schedule, t, second);
        t = second;
        EXPECT_NEAR(static_cast<double>(k), so_far, 1.0 + 1e-6) << "at " << second / kSecond << "s";
    }
    // Offsets never go backwards and never leave their stage.
    for (uint64_t i = 1; i < schedule.total_requests(); ++i)
        ASSERT_GE(schedule.due_offset(i), schedule.due_offset(i - 1)) << i;
    EXPECT_LT(schedule.due_offset(schedule.total_requests() - 1), schedule.duration());
}

TEST(Ramp, EveryRampHoldsItsIntegralPlusOrMinusOne) {
    std::mt19937 random(20261207);
    std::uniform_real_distribution<double> rate(0, 2000);
    std::uniform_int_distribution<Nanos> millis(1, 20'000);
    for (int i = 0; i < 200; ++i) {
        double from = rate(random);
        double to = i % 4 == 0 ? 0 : rate(random);
        Nanos length = millis(random) * kMilli;
        Schedule schedule = Schedule::staged({Stage{0, length, from, to}});
        double exact = (from + to) / 2 * static_cast<double>(length) / kSecond;
        EXPECT_NEAR(static_cast<double>(schedule.total_requests()), exact, 1.0)
            << from << " -> " << to << " over " << length;
        // Every request is due inside the stage, the last before its end.
        EXPECT_LT(schedule.due_offset(schedule.total_requests() - 1), length);
        // Half-way in time, the requests due match the integral of the first half.
        uint64_t first_half = due_between(schedule, 0, length / 2);
        double half = (from + schedule.rate_at(length / 2)) / 2 * (length / 2) / kSecond;
        EXPECT_NEAR(static_cast<double>(first_half), half, 1.0 + 1e-6) << from << " -> " << to;
    }
}

TEST(Ramp, InlineListIsBoundedAndNamesTheBadStage) {
    std::string longest;
    for (size_t i = 0; i < kMaxStages; ++i)
        longest += (i ? "," : "") + std::string("1s:") + std::to_string(i % 7);
    EXPECT_EQ(ramp(longest).stages().size(), kMaxStages);
    EXPECT_NE(error_of([&] { ramp(longest + ",1s:3"); }).find("at most 10000"), std::string::npos);

    EXPECT_NE(error_of([] { ramp("30s:100,5x:200"); }).find("stage 2 '5x:200'"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("30s:abc"); }).find("target is not a number"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("30s"); }).find("DURATION:TARGET"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("30s:10,"); }).find("stage 2"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("1s:10,1s:-5"); }).find("stage 2: rate must be >= 0"),
              std::string::npos);
    EXPECT_NE(error_of([] { ramp("1s:2e6"); }).find("stage 1: rate must be"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("0s:10"); }).find("no stage has a duration"), std::string::npos);
    EXPECT_NE(error_of([] { ramp("100h:1,100h:1"); }).find("stage 2: the stages last longer"),
              std::string::npos);
    EXPECT_NE(error_of([] { ramp("30:10"); }).find("stage 1"), std::string::npos);  // no unit
}

TEST(K6Stages, ReadsTheScriptFragmentWithItsScenarioOptions) {
    const char *script = R"(import http from 'k6/http';
// stages: this comment is not the list
export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 60, /* per minute */
      timeUnit: '1m',
      preAllocatedVUs: 100,
      stages: [
        { duration: '30s', target: 600 },
        { target: 600, duration: "1m30s" },  // hold
        { duration: '0s', target: 120 },
        { duration: `10s`, target: 0, },
      ],
    },
  },
};
export default function () { http.get('http://127.0.0.1/'); }
)";
    RampPlan plan = parse_k6_stages(script, "t.js");
    ASSERT_EQ(plan.stages.size(), 4u);
    EXPECT_TRUE(plan.start_rate_given);
    EXPECT_DOUBLE_EQ(plan.start_rate, 1);  // 60 per minute
    EXPECT_EQ(plan.stages[1].duration, 90 * kSecond);
    EXPECT_DOUBLE_EQ(plan.stages[1].target, 10);
    Schedule schedule = Schedule::staged(ramp_schedule_stages(plan));
    ASSERT_EQ(schedule.stages().size(), 3u);
    EXPECT_DOUBLE_EQ(schedule.rate_at(15 * kSecond), 5.5);  // 1 -> 10 over 30 s
    EXPECT_DOUBLE_EQ(schedule.rate_at(120 * kSecond), 2);   // after the jump to 2/s, down to 0
    EXPECT_EQ(schedule.total_requests(), 165u + 900u + 10u);
}

TEST(K6Stages, ReadsTheJsonForms) {
    RampPlan object = parse_k6_stages(
        R"({"startRate": 10, "stages": [{"duration": "10s", "target": 30}, {"duration": "5s",
            "target": 30}]})",
        "s.json");
    Schedule schedule = Schedule::staged(ramp_schedule_stages(object));
    EXPECT_EQ(schedule.total_requests(), 200u + 150u);

    RampPlan list = parse_k6_stages(R"([{"duration": "1m", "target": 200}])", "l.json");
    ASSERT_EQ(list.stages.size(), 1u);
    EXPECT_FALSE(list.start_rate_given);
    EXPECT_EQ(Schedule::staged(ramp_schedule_stages(list)).total_requests(), 6000u);

    // The reference's constant-arrival-rate scripts: one held stage.
    RampPlan constant = parse_k6_stages(R"(export const options = { scenarios: { fixed_rate: {
        executor: 'constant-arrival-rate', rate: 110, timeUnit: '1s', duration: '3m',
        preAllocatedVUs: 3 } } };)",
                                        "c.js");
    Schedule held = Schedule::staged(ramp_schedule_stages(constant));
    EXPECT_EQ(held.total_requests(), 110u * 180u);
    EXPECT_FALSE(held.stages()[0].ramp_to.has_value());
}

TEST(K6Stages, RefusesWhatItCannotReadAndSaysWhere) {
    struct Case {
        std::string text;
        std::string message;
    };
    std::vector<Case> cases = {
        {"let stages = []; export const options = { stages: stages };",
         "line 1: stages is not a literal list"},
        {"{ stages: [\n { duration: '30s' },\n] }", "line 2: stage 1: missing target"},
        {"{ stages: [{ duration: '30s', target: 5 },\n { duration: '5x', target: 5 }] }",
         "line 2: stage 2 duration"},
        {"{ stages: [{ duration: '30s', target: Math.round(5) }] }",
         "stage 1 target is not a number literal ('Math.round')"},
        {"{ stages: [{ duration: 30, target: 5 }] }", "stage 1 duration is not a string"},
        {"{ stages: [{ duration: '1s', target: 5, vus: 2 }] }", "stage 1: unknown key 'vus'"},
        {"{ stages: [{ duration: '1s', target: 5 } { duration: '1s', target: 5 }] }",
         "expected ',' or ']' after stage 1"},
        {"{ stages: [{ duration: '1s', target: 5 }", "the stages list is not closed"},
        {"{ stages: [] }", "the stages list is empty"},
        {"{ stages: [{ duration: '1s, target: 5 }] }", "a string is not closed"},
        {"{ a: { stages: [{ duration: '1s', target: 5 }] },\n b: { stages: [] } }",
         "stages appears 2 times (lines 1 and 2)"},
        {"{ executor: 'ramping-vus', stages: [{ duration: '1s', target: 5 }] }",
         "executor 'ramping-vus'"},
        {"{ timeUnit: '0s', stages: [{ duration: '1s', target: 5 }] }",
         "timeUnit must be greater than 0"},
        {"{ startRate: nodeTrace[0], stages: [{ duration: '1s', target: 5 }] }",
         "startRate is not a number literal"},
        {"{ executor: 'constant-arrival-rate', rate: 5 }", "exactly one rate and one duration"},
        {"export default function () {}", "no stages list"},
        {"{ stages: [{ duration: '1s', target: 0x10 }] }", "not a number literal"},
    };
    for (const Case &c : cases) {
        std::string message =
            error_of([&] { ramp_schedule_stages(parse_k6_stages(c.text, "f.js")); });
        EXPECT_NE(message.find(c.message), std::string::npos) << c.text << "\n -> " << message;
        EXPECT_EQ(message.rfind("f.js", 0), 0u) << message;  // names the file first
    }
    // Values out of range are refused by stage too.
    EXPECT_NE(error_of([] {
                  ramp_schedule_stages(parse_k6_stages(
                      "{ stages: [{ duration: '1s', target: 5 }, { duration: '1s', target: -1 }] }",
                      "f.js"));
              }).find("stage 2: rate must be >= 0"),
              std::string::npos);
}

TEST(K6Stages, FilesAreBoundedBeforeTheyAreRead) {
    fs::path dir = fs::temp_directory_path() / ("loadgen-ramp-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::string list = "[";
    for (size_t i = 0; i <= kMaxStages; ++i)
        list += std::string(i ? "," : "") + "{\"duration\":\"1s\",\"target\":1}";
    list += "]";
    std::ofstream(dir / "too-many.json") << list;
    EXPECT_NE(error_of([&] {
                  read_k6_stages_file((dir / "too-many.json").string());
              }).find("more than 10000 stages"),
              std::string::npos);
    std::string huge(kMaxStagesFileBytes + 1, ' ');
    std::ofstream(dir / "huge.js") << huge;
    EXPECT_NE(error_of([&] {
                  read_k6_stages_file((dir / "huge.js").string());
              }).find("larger than 1048576 bytes"),
              std::string::npos);
    std::string fits(kMaxStagesFileBytes - 40, ' ');
    std::ofstream(dir / "fits.json") << fits << "[{\"duration\":\"1s\",\"target\":1}]";
    EXPECT_EQ(read_k6_stages_file((dir / "fits.json").string()).stages.size(), 1u);
    EXPECT_NE(error_of([&] {
                  read_k6_stages_file((dir / "missing.js").string());
              }).find("cannot read --stages-file"),
              std::string::npos);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace dfaas::loadgen
