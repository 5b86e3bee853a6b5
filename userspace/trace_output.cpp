#include "trace_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "errors.hpp"

namespace lstrace {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

[[noreturn]] void output_error(const std::string& what, const std::string& path)
{
    throw FatalError(ExitCode::output, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

TraceOutput::TraceOutput(std::string path) : path_(std::move(path))
{
    if (path_ == "-") {
        file_ = stdout;
        return;
    }
    std::string templ = path_ + ".tmp.XXXXXX";
    const int fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0)
        output_error("cannot create", path_);
    tmp_path_ = templ;
    file_ = ::fdopen(fd, "w");
    if (!file_) {
        ::close(fd);
        ::unlink(tmp_path_.c_str());
        output_error("cannot open", path_);
    }
    std::setvbuf(file_, nullptr, _IOFBF, kBufferBytes);
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
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
        output_error("cannot rename the trace into", path_);
    committed_ = true;
}

}  // namespace lstrace
