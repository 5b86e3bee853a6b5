// Logging: spdlog to stderr; libbpf's own messages are routed through it
// (libbpf debug output appears only with -v).
#pragma once

namespace lstrace {

void setup_logging(bool verbose);

}  // namespace lstrace
