// SPDX-License-Identifier: MIT
//
// events.hpp - component and error tracing (C++ API), the standard's
// ComponentTracer and ErrorTracer.  Every event is linked to the calling
// thread's current span.  With no recorder listening, the ComponentTracer
// calls cost a semaphore load and allocate nothing (string_view
// parameters); trace_error's ErrorInfo is built by the caller, so on a hot
// path guard it with `if (LSTRACE_EVENT_ENABLED(error))`.  Included by
// lstrace.hpp.
//
//     lstrace::ComponentTracer memory("memory");
//     memory.trace_initialization({"backend", "max_rows"}, config_text.size());
//     memory.trace_state_change("cold", "ready", "index loaded");
//
//     auto id = lstrace::trace_error({"RateLimitError", "429 Too Many Requests",
//                                     "langswarm.llm", "warning", "network",
//                                     {{"model", "claude"}, {"attempt", "1"}}});
//     lstrace::trace_error_recovery(id, "RateLimitError", "retry_with_backoff", true);
//     lstrace::trace_error_resolved(id, "succeeded on attempt 2");
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define LSTRACE_HAVE_CXXABI 1
#endif

#include "lstrace.h"

namespace lstrace {

class ComponentTracer {
public:
    explicit ComponentTracer(std::string component) : component_(std::move(component)) {}

    const std::string& component() const noexcept { return component_; }

    // The component was set up with a configuration: its keys and size.
    void trace_initialization(std::initializer_list<std::string_view> config_keys,
                              std::int64_t config_size) const
    {
        if (LSTRACE_EVENT_ENABLED(component_init))
            send_initialization(config_keys.begin(), config_keys.end(), config_size);
    }
    void trace_initialization(const std::vector<std::string>& config_keys,
                              std::int64_t config_size) const
    {
        if (LSTRACE_EVENT_ENABLED(component_init))
            send_initialization(config_keys.begin(), config_keys.end(), config_size);
    }

    void trace_state_change(std::string_view from_state, std::string_view to_state,
                            std::string_view reason = {}) const
    {
        if (LSTRACE_EVENT_ENABLED(state_change))
            lstrace_state_change(component_.c_str(), std::string(from_state).c_str(),
                                 std::string(to_state).c_str(), std::string(reason).c_str());
    }

    void trace_config_change(std::string_view key, std::string_view old_value,
                             std::string_view new_value) const
    {
        if (LSTRACE_EVENT_ENABLED(config_change))
            lstrace_config_change(component_.c_str(), std::string(key).c_str(),
                                  std::string(old_value).c_str(), std::string(new_value).c_str());
    }

private:
    template <typename It>
    void send_initialization(It first, It last, std::int64_t config_size) const
    {
        std::string keys;
        for (; first != last; ++first)
            (keys += keys.empty() ? "" : ",") += std::string_view(*first);
        lstrace_component_init(component_.c_str(), keys.c_str(), config_size);
    }

    std::string component_;
};

// Identifies one error occurrence across its handling, recovery and
// resolution events (0: not recorded).
using ErrorId = std::uint64_t;

struct ErrorInfo {
    std::string type;
    std::string message;
    std::string module;
    std::string severity;  // "critical", "error", "warning", "info"
    std::string category;  // "network", "configuration", ...
    std::vector<std::pair<std::string, std::string>> context;  // context_<key> tags
};

inline ErrorId trace_error(const ErrorInfo& info)
{
    if (!LSTRACE_EVENT_ENABLED(error))
        return 0;
    std::string context;
    for (const auto& [key, value] : info.context) {
        if (!context.empty())
            context += LSTRACE_CONTEXT_SEPARATOR;
        context += key + "=" + value;
    }
    const lstrace_error_info raw{info.type.c_str(),     info.message.c_str(),  info.module.c_str(),
                                 info.severity.c_str(), info.category.c_str(), context.c_str()};
    return lstrace_error(&raw);
}

// The dynamic type's name of an exception, demangled where possible.
inline std::string exception_type_name(const std::exception& e)
{
    const char* mangled = typeid(e).name();
#ifdef LSTRACE_HAVE_CXXABI
    int status = 0;
    char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    if (status == 0 && demangled) {
        std::string name(demangled);
        std::free(demangled);
        return name;
    }
#endif
    return mangled;
}

// An exception as an error occurrence: its dynamic type and what().
inline ErrorId trace_error(const std::exception& e, std::string severity = "error",
                           std::string category = std::string(),
                           std::vector<std::pair<std::string, std::string>> context = {})
{
    if (!LSTRACE_EVENT_ENABLED(error))
        return 0;
    return trace_error(ErrorInfo{exception_type_name(e), e.what(), std::string(),
                                 std::move(severity), std::move(category), std::move(context)});
}

inline void trace_error_handled(ErrorId id, std::string_view handler)
{
    if (LSTRACE_EVENT_ENABLED(error_handled))
        lstrace_error_handled(id, std::string(handler).c_str());
}

inline void trace_error_recovery(ErrorId id, std::string_view original_error,
                                 std::string_view strategy, bool success)
{
    if (LSTRACE_EVENT_ENABLED(error_recovery))
        lstrace_error_recovery(id, std::string(original_error).c_str(),
                               std::string(strategy).c_str(), success);
}

inline void trace_error_resolved(ErrorId id, std::string_view detail = {})
{
    if (LSTRACE_EVENT_ENABLED(error_resolution))
        lstrace_error_resolution(id, LSTRACE_ERROR_RESOLVED, std::string(detail).c_str());
}

inline void trace_error_escalated(ErrorId id, std::string_view detail = {})
{
    if (LSTRACE_EVENT_ENABLED(error_resolution))
        lstrace_error_resolution(id, LSTRACE_ERROR_ESCALATED, std::string(detail).c_str());
}

}  // namespace lstrace
