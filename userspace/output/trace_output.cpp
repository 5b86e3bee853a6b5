#include "output/trace_output.hpp"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/clock.hpp"
#include "base/errors.hpp"

namespace lstrace {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

// Page cache a recording keeps of its own file: written windows older than
// the newest whole one are written back and dropped.
constexpr std::uint64_t kDropWindowBytes = 8 << 20;

// Chunks queued for the writer thread before the caller waits: with
// flush_interval's 100 records a chunk is ~100 KB, at most kBufferBytes.
constexpr std::size_t kQueuedChunks = 8;

[[noreturn]] void output_error(const std::string& what, const std::string& path)
{
    throw FatalError(ExitCode::output, what + " " + path + ": " + std::strerror(errno));
}

// The user behind sudo, who should own the trace (SUDO_UID/SUDO_GID).
bool sudo_user(uid_t& uid, gid_t& gid)
{
    const char* u = std::getenv("SUDO_UID");
    const char* g = std::getenv("SUDO_GID");
    if (!u || !g || ::geteuid() != 0)
        return false;
    char* end = nullptr;
    const unsigned long uv = std::strtoul(u, &end, 10);
    if (*u == '\0' || *end != '\0')
        return false;
    const unsigned long gv = std::strtoul(g, &end, 10);
    if (*g == '\0' || *end != '\0')
        return false;
    uid = static_cast<uid_t>(uv);
    gid = static_cast<gid_t>(gv);
    return true;
}

const char* file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

}  // namespace

TraceOutput::TraceOutput(std::string path, bool overwrite, bool recording)
    : path_(std::move(path)), recording_(recording), overwrite_(overwrite)
{
    buffer_.reserve(kBufferBytes);
    if (path_ == "-") {
        fd_ = UniqueFd(::dup(STDOUT_FILENO));
        if (!fd_.valid())
            output_error("cannot write to", "standard output");
        return;
    }
    struct stat st;
    if (::lstat(path_.c_str(), &st) == 0) {
        // --force replaces a trace, never a device node, FIFO or directory
        if (!S_ISREG(st.st_mode))
            throw FatalError(ExitCode::output, "cannot write the trace to " + path_ + ": it is " +
                                                   file_kind(st.st_mode) +
                                                   " (only a regular file is ever replaced)");
        if (!overwrite_)
            throw FatalError(ExitCode::output,
                             "cannot create " + path_ + ": it exists (use --force to replace it)");
    }
    partial_path_ = path_ + "." + std::to_string(::getpid()) + ".partial";
    // O_EXCL|O_NOFOLLOW: never follows a planted symlink, never shares a file
    fd_ = UniqueFd(
        ::open(partial_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_.valid()) {
        const std::string partial = std::move(partial_path_);
        partial_path_.clear();
        output_error("cannot create", partial);
    }
    uid_t uid;
    gid_t gid;
    if (sudo_user(uid, gid) && ::fchown(fd_.get(), uid, gid) != 0)
        output_error("cannot hand the trace to the sudo user:", path_);
    drop_behind_ = recording_;
}

void TraceOutput::start_writer_thread()
{
    // (what was drained before was written in order: the thread goes on)
    if (!io_thread_.joinable() && !keep_partial_ && !io_closing_)
        io_thread_ = std::thread([this] { io_loop(); });
}

bool TraceOutput::threads_help()
{
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    return ::sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1;
}

TraceOutput::~TraceOutput()
{
    if (partial_path_.empty() || keep_partial_) {
        stop_io();  // (standard output: after writing what is queued)
        return;
    }
    // An error ended the recording: what was written is kept and named.
    if (recording_ && has_records_) {
        try {
            drain();
            settle();
        } catch (const FatalError&) {
            return;  // write_failed() kept and named it
        }
    }
    stop_io();
    if (!recording_ || !has_records_ || written_bytes_ == 0) {
        ::unlink(partial_path_.c_str());
        return;
    }
    ::ftruncate(fd_.get(), static_cast<off_t>(last_line_end_));
    // (lstrace_core has no logger: the same shape as spdlog's warnings)
    std::fprintf(
        stderr,
        "lstrace-bpf: warning: the recording did not finish: its %llu lines so far are in %s\n",
        static_cast<unsigned long long>(lines_written_), partial_path_.c_str());
}

void TraceOutput::write(std::string_view data, bool record)
{
    has_records_ = has_records_ || record;
    const auto lines = static_cast<std::uint64_t>(std::count(data.begin(), data.end(), '\n'));
    lines_offered_ += lines;
    buffered_lines_ += lines;
    if (lines)
        buffered_line_end_ = buffer_.size() + data.rfind('\n') + 1;
    buffer_.append(data);
    if (buffer_.size() >= kBufferBytes)
        drain();
}

void TraceOutput::write_line(std::string_view line)
{
    has_records_ = true;
    ++lines_offered_;
    ++buffered_lines_;
    buffer_.append(line);
    buffered_line_end_ = buffer_.size();
    if (buffer_.size() >= kBufferBytes)
        drain();
}

void TraceOutput::drain()
{
    if (buffer_.empty())
        return;
    Chunk chunk{std::move(buffer_), buffered_lines_, buffered_line_end_};
    buffered_lines_ = 0;
    buffered_line_end_ = 0;
    if (!io_thread_.joinable()) {
        const int err = write_chunk(chunk);
        buffer_ = std::move(chunk.data);  // the grown buffer, reused
        buffer_.clear();
        if (err)
            write_failed(err);
        return;
    }
    buffer_ = spare_buffer();
    std::unique_lock lock(io_mutex_);
    io_done_.wait(lock, [this] { return io_queue_.size() < kQueuedChunks || io_error_; });
    if (io_error_) {
        lock.unlock();
        settle();  // throws
    }
    io_queue_.push_back(std::move(chunk));
    lock.unlock();
    io_work_.notify_one();
}

std::string TraceOutput::spare_buffer()
{
    std::string b;
    {
        std::lock_guard lock(io_mutex_);
        if (!spare_buffers_.empty()) {
            b = std::move(spare_buffers_.back());
            spare_buffers_.pop_back();
        }
    }
    b.clear();
    if (b.capacity() < kBufferBytes)
        b.reserve(kBufferBytes);
    return b;
}

void TraceOutput::io_loop()
{
    const ThreadCpuAtExit cpu_at_exit(io_cpu_ns_);
    for (;;) {
        Chunk chunk;
        {
            std::unique_lock lock(io_mutex_);
            io_work_.wait(lock, [this] { return !io_queue_.empty() || io_closing_; });
            if (io_queue_.empty())
                return;  // closing, and everything written
            chunk = std::move(io_queue_.front());
            io_queue_.pop_front();
            io_busy_ = true;
        }
        const int err = write_chunk(chunk);
        {
            std::lock_guard lock(io_mutex_);
            io_busy_ = false;
            if (spare_buffers_.size() < kQueuedChunks)
                spare_buffers_.push_back(std::move(chunk.data));
            if (err) {
                io_error_ = err;
                io_queue_.clear();  // lost: counted as offered, not written
            }
        }
        io_done_.notify_all();
        if (err)
            return;
    }
}

void TraceOutput::settle()
{
    if (!io_thread_.joinable())
        return;
    int err = 0;
    {
        std::unique_lock lock(io_mutex_);
        io_done_.wait(lock, [this] { return (io_queue_.empty() && !io_busy_) || io_error_; });
        err = io_error_;
    }
    if (err)
        write_failed(err);  // (stops the thread first)
}

void TraceOutput::stop_io()
{
    if (!io_thread_.joinable())
        return;
    {
        std::lock_guard lock(io_mutex_);
        io_closing_ = true;
    }
    io_work_.notify_one();
    io_thread_.join();
}

int TraceOutput::write_chunk(const Chunk& chunk)
{
    const std::string& data = chunk.data;
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : ENOSPC;
        if (done == 0 && static_cast<std::size_t>(n) == data.size()) {
            // all of it at once (the usual case): the lines are known
            lines_written_ += chunk.lines;
            if (chunk.line_end)
                last_line_end_ = written_bytes_ + chunk.line_end;
            written_bytes_ += static_cast<std::uint64_t>(n);
            break;
        }
        // whole lines that reached the file: what a failure keeps
        const std::string_view part(data.data() + done, static_cast<std::size_t>(n));
        const std::size_t last = part.rfind('\n');
        if (last != std::string_view::npos) {
            lines_written_ +=
                static_cast<std::uint64_t>(std::count(part.begin(), part.end(), '\n'));
            last_line_end_ = written_bytes_ + last + 1;
        }
        written_bytes_ += static_cast<std::uint64_t>(n);
        done += static_cast<std::size_t>(n);
    }
    if (drop_behind_ && written_bytes_ >= dropped_below_ + 2 * kDropWindowBytes)
        drop_written_behind();
    return 0;
}

// Everything but the newest window: DONTNEED starts the writeback of its
// dirty pages and drops the clean ones.  Pages still being written back stay
// cached, so each call asks again from the start (the walk skips what is no
// longer cached: cheap); a slow disk leaves more cached, never blocks the
// recorder.  Advice only: its errors are ignored.
void TraceOutput::drop_written_behind()
{
    const std::uint64_t below = written_bytes_ - kDropWindowBytes;
    ::posix_fadvise(fd_.get(), 0, static_cast<off_t>(below), POSIX_FADV_DONTNEED);
    dropped_below_ = below;
}

void TraceOutput::write_failed(int err)
{
    stop_io();  // the writer thread, if any, ends first: its counters are final
    buffer_.clear();
    buffered_lines_ = 0;
    buffered_line_end_ = 0;
    const std::string what = std::strerror(err);
    if (partial_path_.empty())
        throw FatalError(ExitCode::output, "cannot write to standard output: " + what);
    keep_partial_ = true;
    if (!recording_) {
        ::unlink(partial_path_.c_str());
        throw FatalError(ExitCode::output, "cannot write " + path_ + ": " + what);
    }
    if (::ftruncate(fd_.get(), static_cast<off_t>(last_line_end_)) != 0 || last_line_end_ == 0) {
        ::unlink(partial_path_.c_str());
        throw FatalError(ExitCode::output, "cannot write " + path_ + ": " + what +
                                               "; nothing of the trace could be kept");
    }
    throw FatalError(ExitCode::output, "cannot write " + path_ + ": " + what + "; its first " +
                                           std::to_string(lines_written_) + " lines are kept in " +
                                           partial_path_ + " (" +
                                           std::to_string(lines_offered_ - lines_written_) +
                                           " more were written after them and are missing)");
}

void TraceOutput::flush()
{
    drain();
}

void TraceOutput::commit()
{
    drain();
    settle();
    stop_io();
    if (partial_path_.empty()) {
        keep_partial_ = true;
        return;
    }
    keep_partial_ = true;  // from here on, whatever fails, the data stays
    if (::fsync(fd_.get()) != 0)
        output_error("cannot sync", partial_path_);
    // All of it is written back now.  A trace that was written behind (over
    // two windows) leaves none of itself cached; a small one stays for the
    // report that usually follows.
    if (dropped_below_ > 0)
        ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED);
    fd_.reset();
    const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, partial_path_.c_str(), AT_FDCWD, path_.c_str(), flags) != 0)
        throw FatalError(ExitCode::output, "cannot rename the trace into " + path_ + ": " +
                                               std::strerror(errno) +
                                               "; the complete trace is kept in " + partial_path_);
}

}  // namespace lstrace
