// `lstrace-bpf export --format chrome TRACE.jsonl -o OUT.json` (ChromeExporter).
#include "commands/export.hpp"

#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/trace_reader.hpp"
#include "output/trace_output.hpp"
#include "report/chrome_export.hpp"

namespace lstrace {

int run_export(const ExportOptions& options)
{
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
