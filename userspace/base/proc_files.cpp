#include "base/proc_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "base/unique_fd.hpp"

namespace lstrace {

std::string proc_dir(int pid)
{
    return "/proc/" + std::to_string(pid);
}

std::optional<std::string> read_proc_file(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return std::nullopt;
    std::string data;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return std::nullopt;
        if (n == 0)
            return data;
        data.append(buf, static_cast<std::size_t>(n));
    }
}

std::optional<StatLine> StatLine::parse(const std::string& text)
{
    // the comm can contain anything but is at most 16 bytes and comes
    // before every other parenthesis on the line, so the last ')' ends it
    const auto open = text.find('(');
    const auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    StatLine s;
    s.comm_ = text.substr(open + 1, close - open - 1);
    std::size_t pos = close + 1;
    while (pos < text.size()) {
        const auto start = text.find_first_not_of(" \n", pos);
        if (start == std::string::npos)
            break;
        const auto end = text.find_first_of(" \n", start);
        s.fields_.push_back(
            text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        pos = end == std::string::npos ? text.size() : end;
    }
    if (s.fields_.empty() || s.fields_[0].size() != 1)
        return std::nullopt;
    s.state_ = s.fields_[0][0];
    return s;
}

std::optional<std::uint64_t> StatLine::number(int number) const
{
    if (number < 3 || static_cast<std::size_t>(number - 3) >= fields_.size())
        return std::nullopt;
    const std::string& f = fields_[static_cast<std::size_t>(number - 3)];
    if (f.empty() || f[0] == '-')  // every field we read is unsigned
        return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(f.c_str(), &end, 10);
    if (errno != 0 || end != f.c_str() + f.size())
        return std::nullopt;
    return v;
}

std::optional<std::string> status_value(const std::string& status, const std::string& key)
{
    const std::string prefix = key + ":";
    std::size_t pos = 0;
    while (pos < status.size()) {
        auto eol = status.find('\n', pos);
        if (eol == std::string::npos)
            eol = status.size();
        if (status.compare(pos, prefix.size(), prefix) == 0) {
            const auto start = status.find_first_not_of(" \t", pos + prefix.size());
            if (start == std::string::npos || start >= eol)
                return std::string();
            const auto last = status.find_last_not_of(" \t", eol - 1);
            return status.substr(start, last + 1 - start);
        }
        pos = eol + 1;
    }
    return std::nullopt;
}

std::vector<std::string> split_nul(const std::string& data)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        auto nul = data.find('\0', pos);
        if (nul == std::string::npos)
            nul = data.size();  // truncated: keep what there is
        out.push_back(data.substr(pos, nul - pos));
        pos = nul + 1;
    }
    return out;
}

std::optional<std::vector<std::string>> list_proc_dir(const std::string& path)
{
    struct DirCloser {
        void operator()(DIR* d) const noexcept { ::closedir(d); }
    };
    std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
    if (!dir)
        return std::nullopt;
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(dir.get())) {
        const std::string name = e->d_name;
        if (name != "." && name != "..")
            names.push_back(name);
    }
    if (errno != 0)  // the process went away while we listed it
        return std::nullopt;
    return names;
}

namespace {

std::optional<std::uint64_t> parse_hex(const std::string& text)
{
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return v;
}

}  // namespace

std::vector<MapEntry> parse_maps(const std::string& text)
{
    std::vector<MapEntry> maps;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        // start-end perms offset dev inode   path
        std::istringstream ls(line);
        std::string range, perms, offset, dev, inode;
        MapEntry m;
        ls >> range >> perms >> offset >> dev >> inode;
        std::getline(ls >> std::ws, m.path);
        const auto dash = range.find('-');
        if (dash == std::string::npos)
            continue;
        const auto start = parse_hex(range.substr(0, dash));
        const auto end = parse_hex(range.substr(dash + 1));
        const auto file_offset = parse_hex(offset);
        if (!start || !end || !file_offset)
            continue;
        m.start = *start;
        m.end = *end;
        m.offset = *file_offset;
        m.file_backed = !m.path.empty() && m.path[0] == '/' && inode != "0";
        maps.push_back(std::move(m));
    }
    return maps;
}

Result<std::vector<MapEntry>> read_maps(int pid)
{
    const std::string path = proc_dir(pid) + "/maps";
    const auto text = read_proc_file(path);
    if (!text)
        return Error{"cannot read " + path};
    return parse_maps(*text);
}

}  // namespace lstrace
