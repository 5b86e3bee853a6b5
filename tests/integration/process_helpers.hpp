// Running the recorder and test programs from the integration tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lstrace::test {

struct RunResult {
    int exit_code = -1;  // -1: killed by a signal (see signal)
    int signal = 0;
    std::string out;
    std::string err;
};

// Runs argv to completion (killed after timeout_s), capturing its output.
// With run_as_uid >= 0 the child drops to that uid/gid before exec.
RunResult run(const std::vector<std::string>& argv, int timeout_s = 60, int run_as_uid = -1);

// Starts argv in the background with stdout/stderr to /dev/null.
pid_t spawn(const std::vector<std::string>& argv);

// Waits for a spawned process (killed after timeout_s); returns its wait status.
int wait_for(pid_t pid, int timeout_s = 60);

// User plus system CPU time of a live process so far (/proc/PID/stat), in
// seconds; -1 if it cannot be read.
double process_cpu_seconds(pid_t pid);

// A fresh temporary directory, removed with its contents by the destructor.
class TempDir {
public:
    TempDir();
    ~TempDir();
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

private:
    std::string dir_;
};

std::vector<nlohmann::json> read_jsonl(const std::string& path);
// The span records of a trace (event records left out).
std::vector<nlohmann::json> read_spans(const std::string& path);
nlohmann::json read_json(const std::string& path);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
bool wait_for_file(const std::string& path, int timeout_s);

// The records of type `type` ("span" for a record without record_type).
std::vector<nlohmann::json> of_type(const std::vector<nlohmann::json>& records,
                                    const std::string& type);

// A launched command recorded into tmp/trace.jsonl, and its span records.
struct Recording {
    RunResult result;
    std::vector<nlohmann::json> records;
    nlohmann::json truth;  // what the test program measured, where it writes it
};
Recording record_command(TempDir& tmp, const std::vector<std::string>& command);

// The workloads of span_workloads "all", recorded once for several tests.
const Recording& all_workloads();

// Records process `pid` for `seconds` into tmp/trace.jsonl.
RunResult record_for(const TempDir& tmp, pid_t pid, const std::string& seconds);

// The "seq" tag of a record, -1 when it has none: a span that straddles a
// detach can lose the tags set after its tag probe went away.
long seq_of(const nlohmann::json& record);

// The `recording` semaphore of a running process, from `lstrace-bpf list -p`
// (-1 when unknown), and a wait until it has `value`.
int recording_semaphore(pid_t pid);
bool wait_for_semaphore(pid_t pid, int value, int timeout_s);

}  // namespace lstrace::test

namespace lstrace::test {

// The processes of `root`'s tree (itself and its descendants) that are
// stopped: state T (job control) or t (ptrace).
std::vector<pid_t> stopped_in_tree(pid_t root);

}  // namespace lstrace::test
