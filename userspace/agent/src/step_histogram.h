// A cumulative histogram of strategy step durations, kept by the agent for the whole life of the
// process: observed once per step, so the exporter's _count and buckets only ever go up (what
// Prometheus' rate() and histogram_quantile() assume). It is a plain value (no lock of its own):
// the agent updates it under its mutex and copies it into the view.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace dfaas::agent {

struct StepDurationHistogram {
    // Upper bounds in seconds; a last bucket (+Inf) takes everything above the largest.
    static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
    // Per bucket (not cumulative): counts[i] holds samples in (kBounds[i-1], kBounds[i]];
    // counts[kBounds.size()] those above the largest bound.
    std::array<uint64_t, kBounds.size() + 1> counts{};
    uint64_t count = 0;
    double sum = 0;

    void observe(double seconds) {
        // A step duration comes from a steady clock, so it is finite and >= 0; anything else is
        // clamped to 0 rather than poisoning the sum for the rest of the process.
        if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
        size_t i = 0;
        while (i < kBounds.size() && seconds > kBounds[i])
            ++i;
        counts[i] += 1;
        count += 1;
        sum += seconds;
    }
    // Samples <= kBounds[i] (i == kBounds.size(): all of them), as the exposition format wants.
    uint64_t cumulative(size_t i) const {
        uint64_t n = 0;
        for (size_t j = 0; j <= i && j < counts.size(); ++j)
            n += counts[j];
        return n;
    }
};

}  // namespace dfaas::agent
