// Catch2 checks shared by the integration tests.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "process_helpers.hpp"

namespace lstrace::test {

// Bad input: exactly one line on stderr, "lstrace-bpf: error: ...", naming
// `needle`, and no crash.
inline void check_one_line_error(const RunResult& r, const std::string& needle)
{
    INFO("stderr: " << r.err);
    CHECK(r.signal == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("lstrace-bpf: error: ", 0) == 0);
    CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace lstrace::test
