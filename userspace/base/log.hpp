// Logging: spdlog to stderr; libbpf's own messages are routed through it
// (libbpf debug output appears only with -v).
#pragma once

#include <optional>
#include <string>

namespace lstrace {

void setup_logging(bool verbose);

// The verifier's verdict on the last BPF program the kernel refused, as
// libbpf reported it: the program's name and the log's last lines.
struct VerifierRejection {
    std::string program;
    std::string last_lines;  // "; "-joined, the verdict last
};

// The rejection in one message of libbpf's (its verifier-log dump), if it
// is one.
std::optional<VerifierRejection> parse_verifier_rejection(const std::string& libbpf_message);

// Takes the rejection libbpf reported since the last call, if any.
std::optional<VerifierRejection> take_verifier_rejection();

}  // namespace lstrace
