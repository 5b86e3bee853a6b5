// lstrace-bpf: entry point.  A user error (FatalError) is one line on stderr
// and its documented exit code; anything else is an internal error (exit 1).
#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>

#include "base/errors.hpp"
#include "base/log.hpp"
#include "commands/analyze.hpp"
#include "commands/compare.hpp"
#include "commands/export.hpp"
#include "commands/list.hpp"
#include "commands/report.hpp"
#include "commands/summary.hpp"
#include "commands/top.hpp"
#include "commands/trend.hpp"
#include "config/cli.hpp"
#include "record/recorder.hpp"

#ifndef LSTRACE_VERSION
#define LSTRACE_VERSION "unknown"
#endif

int main(int argc, char** argv)
{
    using namespace lstrace;
    try {
        const CommandLine cl = parse_command_line(argc, argv);
        setup_logging(cl.verbose);
        switch (cl.subcommand) {
        case Subcommand::help:
            std::fputs(help_text(), stdout);
            return 0;
        case Subcommand::version:
            std::printf("lstrace-bpf %s\n", LSTRACE_VERSION);
            return 0;
        case Subcommand::list:
            return run_list(cl.list);
        case Subcommand::summary:
            return run_summary(cl.summary_path);
        case Subcommand::analyze:
            return run_analyze(cl.analyze);
        case Subcommand::report:
            return run_report(cl.report);
        case Subcommand::export_trace:
            return run_export(cl.export_trace);
        case Subcommand::compare:
            return run_compare(cl.compare);
        case Subcommand::trend:
            return run_trend(cl.trend);
        case Subcommand::top:
            return run_top(cl.top);
        case Subcommand::record:
            return run_record(cl.record);
        }
    } catch (const FatalError& e) {
        std::fprintf(stderr, "lstrace-bpf: error: %s\n", e.what());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lstrace-bpf: internal error: %s\n", e.what());
        return static_cast<int>(ExitCode::internal);
    }
    return static_cast<int>(ExitCode::internal);
}
