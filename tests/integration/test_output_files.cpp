// Tier 2 (root): the trace file survives anything.  --force never replaces
// what is not a regular file; a failed rename, a full disk or a SIGKILLed
// recorder keep the data under a documented name.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "checks.hpp"
#include "process_helpers.hpp"

using namespace lstrace::test;
using json = nlohmann::json;

namespace {

constexpr int kOutput = 7;

// Every line of `path` that ends in a newline parses as JSON; returns how many.
int whole_json_lines(const std::string& path)
{
    const std::string text = read_text(path);
    int lines = 0;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
        INFO("line " << lines + 1);
        CHECK_NOTHROW(json::parse(text.substr(at, nl - at)));
        ++lines;
    }
    CHECK(at == text.size());  // cut back to a whole line
    return lines;
}

std::string partial_of(const std::string& path, pid_t recorder)
{
    return path + "." + std::to_string(recorder) + ".partial";
}

// The one NAME.PID.partial file in `dir` (empty if none).
std::string kept_file(const std::string& dir)
{
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().string();
        if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0)
            return name;
    }
    return "";
}

}  // namespace

TEST_CASE("forcing never replaces a device node, a FIFO or a directory", "[root][bad-input]")
{
    TempDir tmp;
    const std::string dev = tmp.path("mynull"), fifo = tmp.path("fifo"), dir = tmp.path("dir");
    REQUIRE(mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(mkdir(dir.c_str(), 0755) == 0);
    for (const auto& [path, kind] :
         {std::pair{dev, "a device"}, std::pair{fifo, "a FIFO"}, std::pair{dir, "a directory"}}) {
        const auto started = std::chrono::steady_clock::now();
        RunResult r = run({LSTRACE_BIN, "record", "--force", "-o", path, "--", C_SPANS_BIN});
        INFO(r.err);
        CHECK(r.exit_code == kOutput);
        check_one_line_error(r, std::string("it is ") + kind);
        // refused before anything was loaded or recorded
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    }
    struct stat st;
    REQUIRE(stat(dev.c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    REQUIRE(stat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK(std::filesystem::is_empty(dir));
    // only the three files made here: no partial trace left behind
    CHECK(std::distance(std::filesystem::directory_iterator(tmp.path("")),
                        std::filesystem::directory_iterator()) == 3);
}

TEST_CASE("a trace whose name is taken during the recording is kept, and named",
          "[root][bad-input]")
{
    TempDir tmp;
    const std::string path = tmp.path("trace.jsonl");
    const pid_t app = spawn({WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    std::thread intruder([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        write_text(path, "someone else's\n");  // another user takes the name meanwhile
    });
    RunResult r = run({LSTRACE_BIN, "record", "-p", std::to_string(app), "-d", "2", "-o", path});
    intruder.join();
    kill(app, SIGTERM);
    wait_for(app, 10);
    INFO(r.err);
    CHECK(r.exit_code == kOutput);
    check_one_line_error(r, "the complete trace is kept in " + path + ".");
    CHECK(read_text(path) == "someone else's\n");
    const std::string kept = kept_file(tmp.path(""));
    REQUIRE(!kept.empty());
    CHECK(r.err.find(kept) != std::string::npos);
    CHECK(read_spans(kept).size() > 100);  // every span of the recording
    CHECK(whole_json_lines(kept) > 100);
}

TEST_CASE("a full disk keeps the trace's whole lines and counts the missing ones",
          "[root][bad-input]")
{
    TempDir tmp;
    const std::string dir = tmp.path("full");
    REQUIRE(mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") == 0);
    const std::string path = dir + "/trace.jsonl";
    RunResult r =
        run({LSTRACE_BIN, "record", "-o", path, "--", WORKLOADS_BIN, "loop", tmp.path("marker")});
    const bool final_absent = !std::filesystem::exists(path);
    const std::string kept = kept_file(dir);
    int lines = 0;
    if (!kept.empty())
        lines = whole_json_lines(kept);
    umount2(dir.c_str(), MNT_DETACH);
    INFO(r.err);
    CHECK(r.exit_code == kOutput);
    check_one_line_error(r, "No space left on device; its first ");
    CHECK(r.err.find(" lines are kept in " + kept) != std::string::npos);
    CHECK(r.err.find("are missing") != std::string::npos);
    CHECK(final_absent);
    CHECK(lines > 50);  // 256 KiB of whole records
}

TEST_CASE("a SIGKILLed recorder leaves its records under the documented name", "[root][bad-input]")
{
    TempDir tmp;
    const std::string path = tmp.path("trace.jsonl");
    const pid_t app = spawn({WORKLOADS_BIN, "loop", tmp.path("truth.json")});
    REQUIRE(wait_for_file(tmp.path("truth.json.ready"), 10));
    const pid_t recorder = spawn({LSTRACE_BIN, "record", "-p", std::to_string(app), "-o", path});
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    kill(recorder, SIGKILL);
    wait_for(recorder, 10);
    kill(app, SIGTERM);
    wait_for(app, 10);
    CHECK_FALSE(std::filesystem::exists(path));
    const std::string kept = partial_of(path, recorder);
    REQUIRE(std::filesystem::exists(kept));
    // flushed every 100 records (flush_interval): whole lines, ~500 spans a second
    const std::string text = read_text(kept);
    CHECK(std::count(text.begin(), text.end(), '\n') >= 100);
}
