// The OTLP exporter for its two users: `record --otlp` (spans streamed
// while recording; the recorder owns the exporter) and `export --format
// otlp` (commands/export.cpp: a recorded trace sent, or written as OTLP/JSON
// lines).
#pragma once

#include <memory>
#include <optional>

#include "config/cli.hpp"
#include "otlp/otlp_exporter.hpp"
#include "output/trace_output.hpp"

namespace lstrace::otlp {

// The exporter for `export --format otlp`, started: to --endpoint (or an
// OTEL_EXPORTER_OTLP_*ENDPOINT without -o) over HTTP, else OTLP/JSON lines
// into `file`, which it opens.  Offers wait when its queue is full.
std::unique_ptr<Exporter> make_export_exporter(const ExportOptions& options,
                                               std::optional<TraceOutput>& file);

// The exporter for `record --otlp`, not started; nullptr without --otlp.
// Throws FatalError(ExitCode::usage) for bad flags or OTEL_* values, so
// call it before anything is loaded.
std::unique_ptr<Exporter> make_record_exporter(const RecordOptions& options);

// Warnings about events that could not go with their span (after finish()).
void warn_unexported_events(const Exporter& exporter);

}  // namespace lstrace::otlp
