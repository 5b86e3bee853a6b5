// The trace file.  Records go to a temporary file beside the target
// (created O_EXCL, mode 0600: traces can hold sensitive tags, and handed to
// the invoking user when run through sudo) through a large buffer;
// commit() flushes, fsyncs and renames it into place, so the named file is
// always complete.  An existing file is never replaced unless `overwrite`
// (checked at open and again, atomically, at the rename).  Without
// commit() the temporary file is removed.  "-" writes to standard output.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace lstrace {

class TraceOutput {
public:
    // Throws FatalError(ExitCode::output).
    TraceOutput(std::string path, bool overwrite);
    ~TraceOutput();
    TraceOutput(const TraceOutput&) = delete;
    TraceOutput& operator=(const TraceOutput&) = delete;

    void write(std::string_view data);
    // Hands buffered records to the kernel (TracingConfig flush_interval).
    void flush();
    void commit();

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::string tmp_path_; // empty for stdout
    std::unique_ptr<char[]> buffer_;  // before file_'s users: outlives fclose
    std::FILE* file_ = nullptr;
    bool committed_ = false;
    bool overwrite_ = false;
};

}  // namespace lstrace
