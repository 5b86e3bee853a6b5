// `lstrace-bpf report TRACE.jsonl -o report.html`: one self-contained HTML
// page (no network needed): the analyzer's per-operation table, a timeline
// per process and thread with spans as nested bars colored by component,
// failed spans hatched red, event records as markers, and per-span resource
// bars; clicking a span shows its whole record.
//
// The page is report_template.html (embedded at build time) with the data
// as JSON in a <script type="application/json"> element.  After rendering,
// the page's script sets body[data-status] to "rendered" (or "error: ...")
// and body[data-rendered-spans], which the browser test reads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "config/cli.hpp"

namespace lstrace {

// The page template, with the placeholder /*LSTRACE_TRACE_DATA*/.
const char* report_template();

// The template with `data` in place; "</" is escaped so that no string in
// the trace can end the script element.
std::string render_report(const nlohmann::json& data);
// The same with the data already as JSON text.
std::string render_report_json(const std::string& json);

}  // namespace lstrace
