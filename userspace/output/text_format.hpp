// The "text" output format (TracingConfig output_format): one line per
// record for a person reading along, e.g.
//
//   2026-11-25T17:48:13.929062Z span  workflow/setup 0.064 ms cpu 0.064 ms ok pid 4259 tid 4259
//   trace c649a2b8 span f5dfedcb {"rows": 4} 2026-11-25T17:48:13.929089Z state_change MemoryStore:
//   State change: created -> ready {"from_state": "created", ...}
//
// JSONL is the machine format; this one is not meant to be parsed.
#pragma once

#include <cstdint>
#include <string>

#include "correlate/span_record.hpp"

namespace lstrace {

void append_text_line(std::string& out, const SpanRecord& span, std::int64_t realtime_offset_ns);
void append_event_text_line(std::string& out, const EventRecord& event,
                            std::int64_t realtime_offset_ns);

}  // namespace lstrace
