#include "commands/analyze.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "analysis/trace_analyzer.hpp"
#include "base/terminal_text.hpp"

namespace lstrace {

int run_analyze(const AnalyzeOptions& options)
{
    const auto started = std::chrono::steady_clock::now();
    TraceAnalyzer::Limits limits;
    if (options.top)
        limits.top_traces = limits.top_spans = *options.top;
    TraceAnalyzer analyzer(options.component, limits);
    analyzer.add_file(options.path);
    if (options.component && analyzer.operations().empty() && analyzer.state_changes().empty())
        throw FatalError(ExitCode::bad_input,
                         options.path + ": no records of component '" + *options.component + "'");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    struct stat st {};
    const double bytes = ::stat(options.path.c_str(), &st) == 0 ? double(st.st_size) : 0.0;
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const double peak_rss = double(ru.ru_maxrss) * 1024.0;
    if (options.json) {
        nlohmann::json j = analyzer.to_json();
        j["analysis"] = {{"file", options.path},
                         {"bytes", bytes},
                         {"seconds", seconds},
                         {"peak_rss_bytes", peak_rss}};
        std::puts(j.dump(2).c_str());
    } else {
        std::fputs(terminal_text(analyzer.text()).c_str(), stdout);
        std::printf("\nanalyzed %s (%s) in %.2f s, peak RSS %s\n", options.path.c_str(),
                    human_bytes(bytes).c_str(), seconds, human_bytes(peak_rss).c_str());
    }
    return std::ferror(stdout) ? static_cast<int>(ExitCode::output) : 0;
}

}  // namespace lstrace
