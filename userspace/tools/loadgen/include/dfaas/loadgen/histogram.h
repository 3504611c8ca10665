// A log-linear (HDR-style) histogram of non-negative nanosecond values with bounded memory and a
// bounded relative error, so percentiles of an hour-long run cost the same as of a second.
#pragma once

#include <cstdint>
#include <vector>

#include "dfaas/loadgen/duration.h"

namespace dfaas::loadgen {

// Values below 2^kSubBucketBits ns are exact; above, every power-of-two range is split into
// 2^kSubBucketBits equal buckets. A percentile is reported as its bucket's midpoint, so it is
// within 1/2^(kSubBucketBits+1) (0.4 %) of a true sample value. min and max are exact.
class Histogram {
  public:
    static constexpr unsigned kSubBucketBits = 7;
    // Values at or above 2^kMaxBits ns (about 18 minutes) share the last bucket; max stays exact.
    static constexpr unsigned kMaxBits = 40;

    void record(Nanos value);
    void merge(const Histogram &other);

    uint64_t count() const { return count_; }
    Nanos min() const { return count_ ? min_ : 0; }
    Nanos max() const { return count_ ? max_ : 0; }
    Nanos mean() const;
    long double total() const { return sum_; }

    // Nearest-rank percentile, p in [0, 100]; 0 when empty.
    Nanos percentile(double p) const;

  private:
    static size_t bucket_of(uint64_t value);
    static uint64_t bucket_low(size_t bucket);
    static uint64_t bucket_width(size_t bucket);
    static size_t bucket_count();

    std::vector<uint64_t> counts_;  // allocated on first record: an empty histogram is tiny
    uint64_t count_ = 0;
    Nanos min_ = 0;
    Nanos max_ = 0;
    long double sum_ = 0;
};

}  // namespace dfaas::loadgen
