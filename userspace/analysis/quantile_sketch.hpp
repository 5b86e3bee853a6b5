// Quantiles in bounded memory.  The first kExactLimit values are kept and
// quantiles are exact (nearest rank, as `summary` computes them); past that
// the values move into a logarithmic-bucket sketch (the DDSketch idea:
// bucket i holds values in (gamma^(i-1), gamma^i]) whose quantiles are
// within kRelativeAccuracy of the true value, whatever the distribution,
// in a few hundred buckets for durations from nanoseconds to hours.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace lstrace {

class QuantileSketch {
public:
    static constexpr std::size_t kExactLimit = 4096;
    static constexpr double kRelativeAccuracy = 0.005;

    void add(double value);
    // Nearest-rank quantile, p in 0..100; 0 when empty.
    double quantile(double p) const;
    double max() const noexcept { return max_; }
    std::uint64_t count() const noexcept { return count_; }
    bool exact() const noexcept { return buckets_.empty() && zeros_ == 0; }

private:
    void add_to_buckets(double value);
    int bucket_of(double value) const;
    double value_of(int bucket) const;

    std::vector<double> exact_;
    std::map<int, std::uint64_t> buckets_;
    std::uint64_t zeros_ = 0;  // values <= 0 once in bucket mode
    std::uint64_t count_ = 0;
    double max_ = 0;
};

}  // namespace lstrace
