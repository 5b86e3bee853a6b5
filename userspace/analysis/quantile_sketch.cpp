#include "analysis/quantile_sketch.hpp"

#include <algorithm>
#include <cmath>

#include "analysis/trace_summary.hpp"

namespace lstrace {
namespace {

const double kGamma =
    (1 + QuantileSketch::kRelativeAccuracy) / (1 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

}  // namespace

int QuantileSketch::bucket_of(double v) const
{
    return static_cast<int>(std::ceil(std::log(v) / kLogGamma));
}

// The point of the bucket whose relative distance to both ends is the same.
double QuantileSketch::value_of(int bucket) const
{
    return 2.0 * std::pow(kGamma, bucket) / (kGamma + 1.0);
}

void QuantileSketch::add_to_buckets(double v)
{
    if (v <= 0 || !std::isfinite(v))
        ++zeros_;
    else
        ++buckets_[bucket_of(v)];
}

void QuantileSketch::add(double v)
{
    max_ = count_ == 0 ? v : std::max(max_, v);
    ++count_;
    if (exact()) {
        exact_.push_back(v);
        if (exact_.size() <= kExactLimit)
            return;
        for (double x : exact_)
            add_to_buckets(x);
        exact_.clear();
        exact_.shrink_to_fit();
        return;
    }
    add_to_buckets(v);
}

double QuantileSketch::quantile(double p) const
{
    if (count_ == 0)
        return 0.0;
    if (exact())
        return percentile(exact_, p);
    const double rank_d = std::ceil(p / 100.0 * static_cast<double>(count_));
    const std::uint64_t rank = rank_d < 1 ? 1 : static_cast<std::uint64_t>(rank_d);
    std::uint64_t seen = zeros_;
    if (seen >= rank)
        return 0.0;
    for (const auto& [bucket, n] : buckets_) {
        seen += n;
        if (seen >= rank)
            return std::min(value_of(bucket), max_);
    }
    return max_;
}

}  // namespace lstrace
