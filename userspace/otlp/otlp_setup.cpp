#include "otlp/otlp_setup.hpp"

#include <spdlog/spdlog.h>

#include "output/environment_info.hpp"

namespace lstrace::otlp {
namespace {

MappingSettings mapping_settings(const Config& config, std::string host)
{
    MappingSettings m;
    m.service_name = config.service_name;
    m.resource_attributes = config.resource_attributes;
    m.genai = config.genai;
    m.host_name = std::move(host);
    return m;
}

bool endpoint_in_environment()
{
    for (const char* name : {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"})
        if (const char* v = process_env(name); v && *v)
            return true;
    return false;
}

}  // namespace

void warn_unexported_events(const Exporter& exporter)
{
    const ExportCounts c = exporter.counts();
    if (c.events_dropped)
        spdlog::warn("OTLP: {} events dropped (the export queue was full)", c.events_dropped);
    if (c.mapping.events_unmatched)
        spdlog::warn("OTLP: {} events not exported: their span was not (still open at the end, "
                     "dropped, or failed to be recorded)",
                     c.mapping.events_unmatched);
}

std::unique_ptr<Exporter> make_record_exporter(const RecordOptions& options)
{
    if (!options.otlp.enabled)
        return nullptr;
    const Config config = resolve_config(options.otlp);
    // The host's name for processes without a process_info record; the
    // recorder sends one per process (command line, host) all the same.
    return std::make_unique<Exporter>(config, mapping_settings(config, host_name()),
                                      make_http_transport(config), Exporter::WhenFull::drop);
}

std::unique_ptr<Exporter> make_export_exporter(const ExportOptions& options,
                                               std::optional<TraceOutput>& file)
{
    const Config config = resolve_config(options.otlp);
    const bool http =
        !options.otlp.endpoint.empty() || (!options.output_given && endpoint_in_environment());
    std::unique_ptr<Transport> transport;
    if (http) {
        transport = make_http_transport(config);
    } else {
        file.emplace(options.output, /*overwrite=*/true);
        transport = make_file_transport(*file);
    }
    // Reading a file can wait for the network: nothing is dropped.  The
    // host of the recording is only known from its process_info records.
    auto exporter = std::make_unique<Exporter>(config, mapping_settings(config, ""),
                                               std::move(transport), Exporter::WhenFull::wait);
    exporter->start();
    return exporter;
}

}  // namespace lstrace::otlp
