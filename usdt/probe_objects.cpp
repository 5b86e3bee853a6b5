#include "usdt/probe_objects.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/elf_file.hpp"
#include "base/proc_files.hpp"
#include "base/unique_fd.hpp"
#include "usdt/probe_notes.hpp"

namespace lstrace::usdt {
namespace {

// PT_INTERP of an ELF executable, empty when it has none (static).
Result<std::string> interpreter_of(const std::string& path)
{
    auto elf = ElfFile::open(path);
    if (!elf)
        return elf.error();
    size_t count = 0;
    if (elf_getphdrnum(elf.value().get(), &count) != 0)
        return Error{path + " is not an ELF file"};
    for (size_t i = 0; i < count; ++i) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf.value().get(), static_cast<int>(i), &ph) || ph.p_type != PT_INTERP)
            continue;
        std::string interp(ph.p_filesz, '\0');
        if (::pread(elf.value().fd(), interp.data(), interp.size(),
                    static_cast<off_t>(ph.p_offset)) != static_cast<ssize_t>(interp.size()))
            return Error{path + ": cannot read PT_INTERP"};
        interp.resize(std::strlen(interp.c_str()));
        return interp;
    }
    return std::string();
}

// Runs argv, returns its standard output (killed after 10 s).
Result<std::string> capture(const std::vector<std::string>& argv)
{
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return Error{std::string("pipe2: ") + std::strerror(errno)};
    UniqueFd rd(out[0]), wr(out[1]);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return Error{std::string("fork: ") + std::strerror(errno)};
    if (pid == 0) {
        ::dup2(wr.get(), 1);
        const int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    wr.reset();
    std::string text;
    char buf[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        pollfd pfd{rd.get(), POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            ::kill(pid, SIGKILL);
            break;
        }
        const ssize_t n = ::read(rd.get(), buf, sizeof(buf));
        if (n <= 0)
            break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Error{argv[0] + " --list " + argv.back() + " failed"};
    return text;
}

}  // namespace

Result<std::vector<std::string>> mapped_files(int pid)
{
    auto maps = read_maps(pid);
    if (!maps)
        return maps.error();
    std::vector<std::string> files;
    for (const MapEntry& m : maps.value())
        if (m.file_backed && std::find(files.begin(), files.end(), m.path) == files.end())
            files.push_back(m.path);
    return files;
}

Result<std::vector<std::string>> needed_libraries(const std::string& executable)
{
    auto interp = interpreter_of(executable);
    if (!interp)
        return interp.error();
    if (interp->empty())
        return std::vector<std::string>{};
    auto listing = capture({interp.value(), "--list", executable});
    if (!listing)
        return listing.error();
    // "\tlibfoo.so.1 => /usr/lib/libfoo.so.1 (0x00007f...)" and
    // "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    std::vector<std::string> libs;
    std::istringstream lines(listing.value());
    std::string line;
    while (std::getline(lines, line)) {
        auto arrow = line.find("=> ");
        std::string path = line.substr(arrow == std::string::npos ? 0 : arrow + 3);
        path.erase(0, path.find_first_not_of(" \t"));
        path = path.substr(0, path.find(" ("));
        if (!path.empty() && path[0] == '/')
            libs.push_back(path);
    }
    return libs;
}

}  // namespace lstrace::usdt
