#include "commands/trend.hpp"

#include <cstdio>

#include "analysis/trace_comparison.hpp"
#include "base/errors.hpp"

namespace lstrace {

int run_trend(const TrendOptions& options)
{
    const Trend trend = build_trend(trend_inputs(options.paths), options.settings, options.only);
    if (options.json)
        std::puts(trend_json(trend).dump(2).c_str());
    else
        std::fputs(trend_text(trend).c_str(), stdout);
    return std::ferror(stdout) ? static_cast<int>(ExitCode::output) : 0;
}

}  // namespace lstrace
