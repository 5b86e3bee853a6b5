// Reading /proc/PID files robustly.  They report size 0 (so they are read to
// EOF, not by size), can come back in several short reads, vanish with their
// process at any moment, and /proc/PID/stat puts a command name that may
// hold spaces and parentheses ("(my (odd) name)") in the middle of the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace lstrace {

// "/proc/PID".
std::string proc_dir(int pid);

// The whole file; nullopt when it cannot be opened or read (errno tells
// why: ENOENT or ESRCH once the process is gone, EACCES without access).
std::optional<std::string> read_proc_file(const std::string& path);

// /proc/PID/stat or /proc/PID/task/TID/stat, split.  The comm is what is
// between the first '(' and the *last* ')'; fields are numbered as in
// proc(5): 1 pid, 2 comm, 3 state, 14 utime, 15 stime, 20 num_threads,
// 39 processor.
class StatLine {
public:
    static std::optional<StatLine> parse(const std::string& text);

    const std::string& comm() const { return comm_; }
    char state() const { return state_; }
    // Field `number` (>= 3) as an unsigned number; nullopt if absent.
    std::optional<std::uint64_t> number(int number) const;

private:
    std::string comm_;
    char state_ = '?';
    std::vector<std::string> fields_;  // fields_[0] is field 3
};

// The value of "Key:\tvalue" in a /proc status file, trimmed.
std::optional<std::string> status_value(const std::string& status, const std::string& key);

// "a\0b\0\0c\0" -> {"a", "b", "", "c"}: the final NUL ends the last string,
// it does not start an empty one.
std::vector<std::string> split_nul(const std::string& data);

// Names of the entries of a /proc directory (without "." and ".."); nullopt
// when it cannot be read (errno tells why).
std::optional<std::vector<std::string>> list_proc_dir(const std::string& path);

// One line of /proc/PID/maps: which file is mapped where.
struct MapEntry {
    std::uint64_t start = 0, end = 0;  // addresses
    std::uint64_t offset = 0;          // file offset of `start`
    std::string path;                  // empty for anonymous memory
    bool file_backed = false;          // a real file (not [heap], [vdso], ...)
};

// /proc/PID/maps; lines that do not parse are skipped.
Result<std::vector<MapEntry>> read_maps(int pid);
std::vector<MapEntry> parse_maps(const std::string& text);

}  // namespace lstrace
