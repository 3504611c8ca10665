#include "dfaas/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dfaas::loadgen {
namespace {
constexpr uint64_t kSubBuckets = uint64_t{1} << Histogram::kSubBucketBits;
}

size_t Histogram::bucket_count() {
    return kSubBuckets + (kMaxBits - kSubBucketBits) * kSubBuckets;
}

// Bucket layout: [0, kSubBuckets) hold the exact values 0..kSubBuckets-1; after that, octave e
// (values in [2^(bits+e), 2^(bits+e+1))) holds kSubBuckets buckets of width 2^e.
size_t Histogram::bucket_of(uint64_t value) {
    if (value < kSubBuckets) return static_cast<size_t>(value);
    unsigned magnitude = static_cast<unsigned>(std::bit_width(value)) - 1;
    unsigned octave = magnitude - kSubBucketBits;
    size_t bucket = kSubBuckets + octave * kSubBuckets + ((value >> octave) - kSubBuckets);
    return std::min(bucket, bucket_count() - 1);
}

uint64_t Histogram::bucket_low(size_t bucket) {
    if (bucket < kSubBuckets) return bucket;
    size_t octave = (bucket - kSubBuckets) / kSubBuckets;
    uint64_t sub = kSubBuckets + (bucket - kSubBuckets) % kSubBuckets;
    return sub << octave;
}

uint64_t Histogram::bucket_width(size_t bucket) {
    if (bucket < kSubBuckets) return 1;
    return uint64_t{1} << ((bucket - kSubBuckets) / kSubBuckets);
}

void Histogram::record(Nanos value) {
    value = std::max<Nanos>(value, 0);
    if (counts_.empty()) counts_.assign(bucket_count(), 0);
    ++counts_[bucket_of(static_cast<uint64_t>(value))];
    if (count_ == 0 || value < min_) min_ = value;
    if (count_ == 0 || value > max_) max_ = value;
    ++count_;
    sum_ += value;
}

void Histogram::merge(const Histogram &other) {
    if (other.count_ == 0) return;
    if (counts_.empty()) counts_.assign(bucket_count(), 0);
    for (size_t i = 0; i < counts_.size(); ++i)
        counts_[i] += other.counts_[i];
    min_ = count_ ? std::min(min_, other.min_) : other.min_;
    max_ = count_ ? std::max(max_, other.max_) : other.max_;
    count_ += other.count_;
    sum_ += other.sum_;
}

Nanos Histogram::mean() const {
    return count_ ? static_cast<Nanos>(std::llround(sum_ / count_)) : 0;
}

Nanos Histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    if (rank <= 1) return min_;
    if (rank >= count_) return max_;
    uint64_t seen = 0;
    for (size_t bucket = 0; bucket < counts_.size(); ++bucket) {
        seen += counts_[bucket];
        if (seen >= rank) {
            auto midpoint = static_cast<Nanos>(bucket_low(bucket) + bucket_width(bucket) / 2);
            return std::clamp(midpoint, min_, max_);
        }
    }
    return max_;
}

}  // namespace dfaas::loadgen
