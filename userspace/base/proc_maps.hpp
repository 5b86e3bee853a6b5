// /proc/PID/maps, parsed: which file is mapped where.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace lstrace {

struct MapEntry {
    std::uint64_t start = 0, end = 0;  // addresses
    std::uint64_t offset = 0;          // file offset of `start`
    std::string path;                  // empty for anonymous memory
    bool file_backed = false;          // a real file (not [heap], [vdso], ...)
};

Result<std::vector<MapEntry>> read_maps(int pid);

}  // namespace lstrace
