#include "process_helpers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lstrace::test {
namespace {

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The fields of /proc/PID/stat after the command name, which may hold
// spaces and parentheses: [0] is field 3 (the state).  Empty if unreadable.
std::vector<std::string> stat_fields(pid_t pid)
{
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    std::vector<std::string> fields;
    if (paren == std::string::npos)
        return fields;
    std::istringstream rest(stat.substr(paren + 1));
    for (std::string field; rest >> field;)
        fields.push_back(field);
    return fields;
}

std::vector<char*> c_argv(const std::vector<std::string>& argv)
{
    std::vector<char*> v;
    for (const auto& a : argv)
        v.push_back(const_cast<char*>(a.c_str()));
    v.push_back(nullptr);
    return v;
}

}  // namespace

double process_cpu_seconds(pid_t pid)
{
    const std::vector<std::string> f = stat_fields(pid);
    if (f.size() < 13)
        return -1;
    // utime and stime: fields 14 and 15, in clock ticks
    const unsigned long long ticks = std::stoull(f[11]) + std::stoull(f[12]);
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int wait_for(pid_t pid, int timeout_s)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return status;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

RunResult run(const std::vector<std::string>& argv, int timeout_s, int run_as_uid)
{
    TempDir tmp;
    const std::string out_path = tmp.path("stdout"), err_path = tmp.path("stderr");
    auto args = c_argv(argv);
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (run_as_uid >= 0) {
            if (setgroups(0, nullptr) != 0 || setgid(run_as_uid) != 0 || setuid(run_as_uid) != 0)
                _exit(126);
        }
        execv(args[0], args.data());
        _exit(127);
    }
    const int status = wait_for(pid, timeout_s);
    RunResult r;
    if (WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.signal = WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

pid_t spawn(const std::vector<std::string>& argv)
{
    auto args = c_argv(argv);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(args[0], args.data());
        _exit(127);
    }
    return pid;
}

TempDir::TempDir()
{
    char templ[] = "/tmp/lstrace-test-XXXXXX";
    if (!mkdtemp(templ))
        throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    chmod(dir_.c_str(), 0755);  // the not-root test runs a child as nobody
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::vector<nlohmann::json> read_jsonl(const std::string& path)
{
    std::vector<nlohmann::json> records;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        records.push_back(nlohmann::json::parse(line));  // throws on an invalid line
    return records;
}

std::vector<nlohmann::json> read_spans(const std::string& path)
{
    std::vector<nlohmann::json> spans;
    for (nlohmann::json& r : read_jsonl(path))
        if (r.value("record_type", "span") == "span")
            spans.push_back(std::move(r));
    return spans;
}

std::string read_text(const std::string& path)
{
    return slurp(path);
}

void write_text(const std::string& path, const std::string& text)
{
    std::ofstream out(path);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

nlohmann::json read_json(const std::string& path)
{
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

bool wait_for_file(const std::string& path, int timeout_s)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        if (access(path.c_str(), F_OK) == 0)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

std::vector<nlohmann::json> of_type(const std::vector<nlohmann::json>& records,
                                    const std::string& type)
{
    std::vector<nlohmann::json> out;
    for (const nlohmann::json& r : records)
        if (r.value("record_type", "span") == type)
            out.push_back(r);
    return out;
}

Recording record_command(TempDir& tmp, const std::vector<std::string>& command)
{
    Recording rec;
    std::vector<std::string> argv = {LSTRACE_BIN, "record", "-o", tmp.path("trace.jsonl"), "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    rec.result = run(argv, 120);
    rec.records = read_spans(tmp.path("trace.jsonl"));
    return rec;
}

const Recording& all_workloads()
{
    static TempDir tmp;
    static const Recording rec = [] {
        Recording r = record_command(tmp, {WORKLOADS_BIN, "all", tmp.path("truth.json")});
        r.truth = read_json(tmp.path("truth.json"));
        return r;
    }();
    return rec;
}

RunResult record_for(const TempDir& tmp, pid_t pid, const std::string& seconds)
{
    return run({LSTRACE_BIN, "record", "-p", std::to_string(pid), "-o", tmp.path("trace.jsonl"),
                "-d", seconds});
}

long seq_of(const nlohmann::json& r)
{
    return r["tags"].value("seq", -1L);
}

int recording_semaphore(pid_t pid)
{
    const RunResult r = run({LSTRACE_BIN, "list", "-p", std::to_string(pid)});
    const auto line = r.out.find("langswarm:recording");
    if (line == std::string::npos)
        return -1;
    const std::string rest = r.out.substr(line, r.out.find('\n', line) - line);
    if (rest.find("disabled") != std::string::npos)
        return 0;
    const auto at = rest.find("enabled (semaphore ");
    return at == std::string::npos ? -1 : std::atoi(rest.c_str() + at + 19);
}

bool wait_for_semaphore(pid_t pid, int value, int timeout_s)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        if (recording_semaphore(pid) == value)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

}  // namespace lstrace::test

namespace lstrace::test {
namespace {

char process_state(pid_t pid)
{
    const std::vector<std::string> f = stat_fields(pid);
    return f.empty() ? '?' : f[0][0];
}

}  // namespace

std::vector<pid_t> stopped_in_tree(pid_t root)
{
    std::vector<pid_t> stopped, pending{root};
    while (!pending.empty()) {
        const pid_t pid = pending.back();
        pending.pop_back();
        const char state = process_state(pid);
        if (state == 'T' || state == 't')
            stopped.push_back(pid);
        const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
        DIR* tasks = opendir(task_dir.c_str());
        if (!tasks)
            continue;
        while (const dirent* e = readdir(tasks)) {
            if (e->d_name[0] == '.')
                continue;
            std::ifstream children(task_dir + "/" + e->d_name + "/children");
            for (pid_t child; children >> child;)
                pending.push_back(child);
        }
        closedir(tasks);
    }
    return stopped;
}

}  // namespace lstrace::test
