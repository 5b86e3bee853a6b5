// The trace file.  Records go to a partial file beside the target, named
// NAME.PID.partial (created O_EXCL|O_NOFOLLOW, mode 0600: traces can hold
// sensitive tags, and handed to the invoking user when run through sudo),
// through a 1 MiB buffer; commit() flushes, fsyncs and renames it into place,
// so the named file is always complete.  The data is never thrown away:
//   - the destination is checked before anything is recorded: only a
//     regular file is ever replaced (and only with `overwrite`, checked
//     again atomically at the rename); a directory, device, FIFO or socket
//     is refused;
//   - when the rename fails (the name was taken meanwhile, or replaced by
//     a directory), the complete trace stays in the partial file, named in
//     the error;
//   - when a write fails (a full disk), the partial file is cut back to its
//     last whole line, kept, and the error says how many lines it holds and
//     how many are missing;
//   - a recorder killed outright leaves its records in the partial file
//     (whole lines up to the last buffer it wrote).
// Only a partial file with nothing in it is removed.  "-" writes to
// standard output.
//
// A recording's file is written behind: every kDropWindowBytes the kernel is
// told to write back what came before and drop it from the page cache
// (POSIX_FADV_DONTNEED), so a long recording keeps a few windows cached
// instead of gigabytes that evict the traced application's own cache.  The
// recorder then pays the writeback's submission (the kernel's flusher threads
// paid it out of sight before) and reuses its own just-freed pages, which is
// cheaper than fresh ones where the page cache is large and cold (a VM's
// first touch of guest memory).
//
// A recording that falls behind writes from a thread of its own
// (start_writer_thread()): write(2) copying into the page cache is most of
// what a record costs the kernel, and the thread that formats records need
// not wait for it.  Buffers go to it through a short queue (a full queue
// makes the caller wait); its errors come back to the caller's next flush
// or commit, with the lines kept counted as above.  A recorder killed
// outright then loses what is still queued (a few buffers).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/unique_fd.hpp"

namespace lstrace {

class TraceOutput {
public:
    // Throws FatalError(ExitCode::output).  `recording`: what was written
    // before an error is kept (a trace cannot be made again); otherwise (a
    // report made from a trace) the partial file is removed.
    TraceOutput(std::string path, bool overwrite, bool recording = false);
    ~TraceOutput();
    TraceOutput(const TraceOutput&) = delete;
    TraceOutput& operator=(const TraceOutput&) = delete;

    // `record`: false for a format's framing ("[" of a JSON array), which
    // alone is not worth keeping after a failure.
    void write(std::string_view data, bool record = true);
    // One record that is exactly one line, newline included (write() counts
    // the lines of what it gets; a formatter that knows need not pay that).
    void write_line(std::string_view line);
    // Hands buffered records to the kernel (TracingConfig flush_interval).
    void flush();
    void commit();

    const std::string& path() const noexcept { return path_; }
    // Where records are written until commit() (empty for stdout).
    const std::string& partial_path() const noexcept { return partial_path_; }

    // From now on buffers are written by a thread of its own (once; the
    // caller stays the only one to call the other members).
    void start_writer_thread();
    // Whether a second thread can run beside this one (more than one CPU).
    static bool threads_help();
    // CPU time the writer thread used, once commit() has joined it (0:
    // none); benchmarks report the pipeline's stages with it.
    std::uint64_t io_cpu_ns() const noexcept { return io_cpu_ns_; }

private:
    // A buffer of records on its way to the file.
    struct Chunk {
        std::string data;
        std::uint64_t lines = 0;   // newlines in it
        std::size_t line_end = 0;  // just after its last line (0: none)
    };

    void drain();
    // Writes `chunk` at the end of the file: 0, or the errno of the failure
    // (the whole lines that reached the file are counted either way).
    int write_chunk(const Chunk& chunk);
    void drop_written_behind();
    void io_loop();
    // Waits for the writer thread to write what is queued; a failure it had
    // becomes write_failed() here.
    void settle();
    void stop_io();
    std::string spare_buffer();
    [[noreturn]] void write_failed(int err);

    std::string path_;
    std::string partial_path_;  // empty for stdout
    UniqueFd fd_;
    std::string buffer_;
    std::uint64_t written_bytes_ = 0;    // accepted by the kernel
    std::uint64_t last_line_end_ = 0;    // offset just after the last whole line written
    std::uint64_t lines_written_ = 0;    // whole lines accepted by the kernel
    std::uint64_t lines_offered_ = 0;    // whole lines handed to write()
    std::uint64_t buffered_lines_ = 0;   // lines in buffer_
    std::size_t buffered_line_end_ = 0;  // in buffer_, just after its last line (0: none)
    std::uint64_t dropped_below_ = 0;    // fadvised up to here (drop_written_behind)
    bool drop_behind_ = false;           // a recording into a regular file
    bool has_records_ = false;
    bool recording_ = false;
    bool keep_partial_ = false;  // committed, or kept after a failure
    bool overwrite_ = false;

    // The writer thread (start_writer_thread()).  While it runs
    // it alone writes fd_ and updates the written_/lines_/dropped_ counters.
    std::thread io_thread_;
    std::mutex io_mutex_;
    std::condition_variable io_work_;  // a chunk is queued, or closing
    std::condition_variable io_done_;  // a chunk was written, or failed
    std::deque<Chunk> io_queue_;
    std::vector<std::string> spare_buffers_;  // written chunks' buffers, reused
    bool io_busy_ = false;
    bool io_closing_ = false;
    int io_error_ = 0;
    std::uint64_t io_cpu_ns_ = 0;  // set by the thread as it ends
};

}  // namespace lstrace
