#include "log.hpp"

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
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof(buf), format, args);
    if (n < 0)
        return n;
    std::string msg(buf);
    while (!msg.empty() && msg.back() == '\n')
        msg.pop_back();
    switch (level) {
    case LIBBPF_WARN:
        spdlog::warn("libbpf: {}", msg);
        break;
    case LIBBPF_INFO:
        spdlog::info("libbpf: {}", msg);
        break;
    case LIBBPF_DEBUG:
        spdlog::debug("libbpf: {}", msg);
        break;
    }
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
