// `lstrace-bpf top`: a recording without a trace file whose spans feed a
// TopView (see analysis/top_view.hpp), redrawn every interval.
#include "commands/top.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "analysis/top_view.hpp"
#include "base/terminal_text.hpp"
#include "output/trace_format.hpp"
#include "record/recorder.hpp"

namespace lstrace {

int run_top(const TopOptions& options)
{
    RecordOptions rec;
    rec.pids = options.pids;
    rec.output.clear();  // no trace file: the spans go to the view only
    rec.buffer_mib = options.buffer_mib;
    rec.btf_path = options.btf_path;

    std::string target = "pid";
    for (std::size_t i = 0; i < options.pids.size(); ++i)
        target += (i ? "," : " ") + std::to_string(options.pids[i]);
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    TopView view;
    std::string line;
    const auto started = std::chrono::steady_clock::now();
    auto last = started;
    long long frames = 0;

    RecordHooks hooks;
    hooks.tick_ms = static_cast<int>(options.interval_s * 1000.0);
    hooks.on_span = [&](const SpanRecord& span, std::int64_t offset_ns) {
        // the record as the file would hold it, read back the one way
        // every analysis reads spans
        line.clear();
        append_json_line(line, span, offset_ns);
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded())
            view.add(span_facts(j));
    };
    hooks.on_tick = [&] {
        const auto now = std::chrono::steady_clock::now();
        const std::string frame =
            view.frame(target, std::chrono::duration<double>(now - started).count(),
                       std::chrono::duration<double>(now - last).count(), options.rows);
        last = now;
        if (tty)
            std::fputs("\x1b[H\x1b[2J", stdout);  // home, clear
        std::fputs(terminal_text(frame).c_str(), stdout);
        if (!tty)
            std::fputs("\n", stdout);
        std::fflush(stdout);
        ++frames;
        return !options.iterations || frames < *options.iterations;
    };
    return run_record(rec, hooks);
}

}  // namespace lstrace
