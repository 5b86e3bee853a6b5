#include "output/trace_output.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/errors.hpp"

namespace lstrace {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

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

}  // namespace

TraceOutput::TraceOutput(std::string path, bool overwrite)
    : path_(std::move(path)), overwrite_(overwrite)
{
    if (path_ == "-") {
        file_ = stdout;
        return;
    }
    struct stat st;
    if (!overwrite_ && ::lstat(path_.c_str(), &st) == 0) {
        errno = EEXIST;
        throw FatalError(ExitCode::output,
                         "cannot create " + path_ + ": it exists (use --force to replace it)");
    }
    std::string templ = path_ + ".tmp.XXXXXX";
    // mkostemp: O_CREAT|O_EXCL, mode 0600, never follows a planted symlink
    const int fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0)
        output_error("cannot create", path_);
    tmp_path_ = templ;
    uid_t uid;
    gid_t gid;
    if (sudo_user(uid, gid) && ::fchown(fd, uid, gid) != 0) {
        ::close(fd);
        ::unlink(tmp_path_.c_str());
        output_error("cannot hand the trace to the sudo user:", path_);
    }
    file_ = ::fdopen(fd, "w");
    if (!file_) {
        ::close(fd);
        ::unlink(tmp_path_.c_str());
        output_error("cannot open", path_);
    }
    // glibc ignores the size when it is to allocate the buffer itself (it
    // keeps st_blksize, 4 KiB): hand it one
    buffer_ = std::make_unique<char[]>(kBufferBytes);
    std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
}

TraceOutput::~TraceOutput()
{
    if (file_ && file_ != stdout)
        std::fclose(file_);
    if (!committed_ && !tmp_path_.empty())
        ::unlink(tmp_path_.c_str());
}

void TraceOutput::write(std::string_view data)
{
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size())
        output_error("cannot write", path_);
}

void TraceOutput::flush()
{
    if (std::fflush(file_) != 0)
        output_error("cannot write", path_);
}

void TraceOutput::commit()
{
    if (std::fflush(file_) != 0)
        output_error("cannot write", path_);
    if (file_ == stdout) {
        committed_ = true;
        return;
    }
    if (::fsync(::fileno(file_)) != 0)
        output_error("cannot sync", path_);
    if (std::fclose(file_) != 0) {
        file_ = nullptr;
        output_error("cannot close", path_);
    }
    file_ = nullptr;
    const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, tmp_path_.c_str(), AT_FDCWD, path_.c_str(), flags) != 0)
        output_error("cannot rename the trace into", path_);
    committed_ = true;
}

}  // namespace lstrace
