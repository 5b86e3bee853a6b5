// A whole file as a string, for tests that compare what was written.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace lstrace::testing {

inline std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace lstrace::testing
