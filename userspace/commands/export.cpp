// `lstrace-bpf export --format chrome TRACE.jsonl -o OUT.json` (ChromeExporter)
// and `export --format otlp [--endpoint URL | -o FILE] TRACE.jsonl` (otlp/).
#include "commands/export.hpp"

#include <cstdio>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/trace_reader.hpp"
#include "base/errors.hpp"
#include "otlp/otlp_setup.hpp"
#include "output/trace_output.hpp"
#include "report/chrome_export.hpp"

namespace lstrace {
namespace {

// Every span delivered: 0; otherwise the output exit code, after the summary.
int run_otlp_export(const ExportOptions& options)
{
    std::optional<TraceOutput> file;
    const auto exporter = otlp::make_export_exporter(options, file);
    std::uint64_t spans = 0, events = 0;
    read_trace_file(options.path, [&](const TraceLine& line) {
        const bool is_span = line.kind == RecordKind::span;
        (is_span ? spans : events) += 1;
        exporter->offer_record(line.json, is_span);
    });
    exporter->finish();
    if (file)
        file->commit();
    const otlp::ExportCounts c = exporter->counts();
    std::fprintf(stderr, "lstrace-bpf: %llu spans and %llu events read from %s; %s\n",
                 static_cast<unsigned long long>(spans), static_cast<unsigned long long>(events),
                 options.path.c_str(), exporter->summary().c_str());
    otlp::warn_unexported_events(*exporter);
    if (c.failed + c.dropped == 0)
        return static_cast<int>(ExitCode::ok);
    std::fprintf(stderr, "lstrace-bpf: error: %llu spans could not be delivered to %s\n",
                 static_cast<unsigned long long>(c.failed + c.dropped),
                 exporter->destination().c_str());
    return static_cast<int>(ExitCode::output);
}

}  // namespace

int run_export(const ExportOptions& options)
{
    if (options.format == "otlp")
        return run_otlp_export(options);
    TraceOutput out(options.output, /*overwrite=*/true);
    out.write("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"source\":\"lstrace-bpf\",\"trace\":");
    out.write(nlohmann::json(options.path).dump());
    out.write("},\"traceEvents\":[\n");
    ChromeExporter exporter;
    std::vector<nlohmann::json> events;
    bool first = true;
    read_trace_file(options.path, [&](const TraceLine& line) {
        events.clear();
        exporter.add(line, events);
        for (const nlohmann::json& e : events) {
            if (!first)
                out.write(",\n");
            first = false;
            out.write(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
    });
    out.write("\n]}\n");
    out.commit();
    return 0;
}

}  // namespace lstrace
