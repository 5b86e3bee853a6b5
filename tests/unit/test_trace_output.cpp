#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "output/trace_output.hpp"
#include "unit/file_text.hpp"

using namespace lstrace;
using namespace lstrace::testing;

namespace {

bool on_tmpfs(const std::string& dir)
{
    struct statfs fs;
    return ::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

// A directory on a disk-backed file system: the test's working directory
// (the build tree) or /var/tmp (/tmp may be tmpfs, whose pages are never
// dropped).  `path` is empty when neither is.
struct ScratchDir {
    std::string path;
    ScratchDir()
    {
        for (const std::string& parent :
             {std::filesystem::current_path().string(), std::string("/var/tmp")}) {
            if (on_tmpfs(parent))
                continue;
            std::string tmpl = parent + "/trace-output-XXXXXX";
            REQUIRE(mkdtemp(tmpl.data()) != nullptr);
            path = tmpl;
            return;
        }
        WARN("no disk-backed directory to write in: page-cache checks not run");
    }
    ~ScratchDir()
    {
        if (!path.empty())
            std::filesystem::remove_all(path);
    }
};

// Bytes of `path` in the page cache (mincore over a read-only mapping).
std::uint64_t cached_bytes(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const off_t size = ::lseek(fd, 0, SEEK_END);
    std::uint64_t cached = 0;
    if (size > 0) {
        void* map = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
        REQUIRE(map != MAP_FAILED);
        const long page = ::sysconf(_SC_PAGESIZE);
        std::vector<unsigned char> resident((static_cast<std::size_t>(size) + page - 1) / page);
        REQUIRE(::mincore(map, static_cast<std::size_t>(size), resident.data()) == 0);
        for (unsigned char r : resident)
            cached += (r & 1) ? static_cast<std::uint64_t>(page) : 0;
        ::munmap(map, static_cast<std::size_t>(size));
    }
    ::close(fd);
    return cached;
}

// Numbered lines of about 1 KB, as a recording writes them.
std::string line_number(std::uint64_t i)
{
    std::string line = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
    line.append(1000 - line.size(), 'x');
    line += "\"}\n";
    return line;
}

}  // namespace

// Half of it written inline, the rest by the writer thread, started midway
// as the recorder starts it when it falls behind.
TEST_CASE("a long recording keeps only its newest windows cached, and all of its lines", "[output]")
{
    ScratchDir dir;
    if (dir.path.empty())
        return;
    const std::string path = dir.path + "/trace.jsonl";
    constexpr std::uint64_t kLines = 96 * 1024;  // 96 MiB of 1 KB lines
    std::uint64_t written = 0;
    std::uint64_t most_cached = 0;
    {
        TraceOutput out(path, /*overwrite=*/false, /*recording=*/true);
        for (std::uint64_t i = 0; i < kLines; ++i) {
            const std::string line = line_number(i);
            out.write_line(line);
            written += line.size();
            if (i % 100 == 99)
                out.flush();  // flush_interval's default
            if (i == kLines / 2)
                out.start_writer_thread();
            if (i % 16384 == 16383)
                most_cached = std::max(most_cached, cached_bytes(out.partial_path()));
        }
        out.commit();
    }
    INFO("most cached while recording: " << most_cached << " of " << written << " bytes");
    // written behind: a few 8 MiB windows (more while a slow or busy disk
    // still writes them back: under other tests' load once over half of
    // it), never the whole file
    CHECK(most_cached < written * 3 / 4);
    // committed (fsynced): none of it stays
    CHECK(cached_bytes(path) < (1u << 20));
    const std::string text = read_file(path);
    REQUIRE(text.size() == written);
    for (std::uint64_t i : {std::uint64_t{0}, kLines / 2, kLines - 1})
        CHECK(text.compare(i * line_number(0).size(), line_number(i).size(), line_number(i)) == 0);
}

TEST_CASE("a short recording's file stays cached for the report that follows", "[output]")
{
    ScratchDir dir;
    if (dir.path.empty())
        return;
    const std::string path = dir.path + "/trace.jsonl";
    std::string expected;
    {
        TraceOutput out(path, /*overwrite=*/false, /*recording=*/true);
        for (std::uint64_t i = 0; i < 1000; ++i) {
            expected += line_number(i);
            out.write_line(line_number(i));
        }
        out.commit();
    }
    CHECK(read_file(path) == expected);
    CHECK(cached_bytes(path) == expected.size() + (4096 - expected.size() % 4096) % 4096);
}
