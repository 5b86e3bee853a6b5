// The trace file.  Records go to a temporary file beside the target
// (created 0600: traces can hold sensitive tags) through a large buffer;
// commit() flushes, fsyncs and renames it into place, so the named file is
// always complete.  Without commit() the temporary file is removed.
// "-" writes straight to standard output.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace lstrace {

class TraceOutput {
public:
    // Throws FatalError(ExitCode::output).
    explicit TraceOutput(std::string path);
    ~TraceOutput();
    TraceOutput(const TraceOutput&) = delete;
    TraceOutput& operator=(const TraceOutput&) = delete;

    void write(std::string_view data);
    void commit();

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::string tmp_path_; // empty for stdout
    std::FILE* file_ = nullptr;
    bool committed_ = false;
};

}  // namespace lstrace
