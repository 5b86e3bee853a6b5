// One resolved user-stack frame: what the symbolizer produces and an error
// record carries (--stack-traces).
#pragma once

#include <cstdint>
#include <string>

namespace lstrace {

struct Frame {
    std::uint64_t address = 0;
    std::string object;             // mapped file; "[vdso]", "[heap]", "" (anonymous) ...
    std::uint64_t file_offset = 0;  // of `address` in `object`; 0 when not file-backed
    std::string function;           // demangled; empty when unknown
    std::uint64_t function_offset = 0;
};

}  // namespace lstrace
