// Context for records (include_environment, include_thread_info): how a
// traced process was started and where it runs, and which thread a span ran
// on.  Everything comes from /proc and uname; results are JSON objects ready
// to embed in a record.
//
// The environment is read from an allow-list only (TracingConfig::
// environment_allowlist): it is where API keys live.  With a Redactor, an
// allow-listed variable whose name names a secret is written as
// "[REDACTED]", and secrets inside the other values and the command line
// ("--api-key=...", "--token VALUE", "password=...") are scrubbed.
//
// /proc/PID/environ is the environment the process was started with (the
// execve); later setenv() calls are not visible there.  Reading it and
// /proc/PID/cmdline of another user's process needs ptrace access, so do it
// before the recorder drops capabilities (or keep CAP_SYS_PTRACE).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lstrace {

class Redactor;

// argv of `pid` (empty for a kernel thread); nullopt if unreadable.
std::optional<std::vector<std::string>> read_command_line(int pid);

// Whether `name` is on the allow-list ("LC_*" matches by prefix).
bool environment_name_allowed(const std::string& name, const std::vector<std::string>& allowlist);

// The allow-listed variables of `pid`, in the order of its environment;
// nullopt if unreadable.
std::optional<std::vector<std::pair<std::string, std::string>>> read_environment(
    int pid, const std::vector<std::string>& allowlist);

std::string host_name();       // uname's nodename (of the recorder's UTS namespace)
std::string kernel_release();  // uname -r

// {"command_line": [...], "environment": {...}, "hostname": "...",
//  "kernel_release": "..."}; command_line and environment are omitted when
// unreadable (the process exited, or no access).
nlohmann::json environment_json(int pid, const std::vector<std::string>& allowlist,
                                const Redactor* redactor = nullptr);

}  // namespace lstrace
