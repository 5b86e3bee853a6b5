#include "base/log.hpp"

#include <bpf/libbpf.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace lstrace {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args)
{
    // Verifier logs arrive as one message of many KiB: size it first.
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0)
        return n;
    std::string msg(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(msg.data(), msg.size(), format, args);
    msg.resize(static_cast<std::size_t>(n));
    while (!msg.empty() && msg.back() == '\n')
        msg.pop_back();
    // All of libbpf's output, its warnings included, is for -v: every
    // failure that matters reaches the user as one line of our own (with
    // libbpf_strerror's text), and a failed load would otherwise bury that
    // line under libbpf's.
    (void)level;
    spdlog::debug("libbpf: {}", msg);
    return n;
}

}  // namespace

void setup_logging(bool verbose)
{
    auto logger = spdlog::stderr_color_mt("lstrace-bpf");
    logger->set_pattern("lstrace-bpf: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    // libbpf's INFO lines are chatty (one per map and program); keep them
    // for -v along with DEBUG.
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
    libbpf_set_print(libbpf_print);
}

}  // namespace lstrace
