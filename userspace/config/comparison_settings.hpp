// What `compare`, `trend` and `report --baseline` call a real change (the
// options --confidence, --min-effect, --min-spans); see trace_comparison.hpp.
#pragma once

#include <cstddef>

namespace lstrace {

struct ComparisonSettings {
    double confidence = 0.95;   // a change needs p < 1 - confidence (two-sided)
    double min_effect = 0.05;   // ... and the median to move by at least this fraction
    std::size_t min_spans = 5;  // spans per side below which there is no verdict
};

}  // namespace lstrace
