// Span and trace ids as records spell them.
#pragma once

#include <cstdint>
#include <string>

namespace lstrace {

// Lower-case hex, zero padded: 16 chars for a span id, 32 for a trace id.
std::string hex_id(std::uint64_t id);
std::string hex_trace_id(std::uint64_t hi, std::uint64_t lo);
// The 16 digits of hex_id() at `out`; returns the end.
char* write_hex_id(char* out, std::uint64_t id);

}  // namespace lstrace
