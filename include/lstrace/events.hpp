// SPDX-License-Identifier: MIT
//
// events.hpp - component and error tracing (C++ API), the standard's
// ComponentTracer and ErrorTracer.  Every event is linked to the calling
// thread's current span; each costs one semaphore load when no recorder
// listens.  Included by lstrace.hpp.
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
    void trace_initialization(std::initializer_list<std::string> config_keys,
                              std::int64_t config_size) const
    {
        trace_initialization(std::vector<std::string>(config_keys), config_size);
    }
    void trace_initialization(const std::vector<std::string>& config_keys,
                              std::int64_t config_size) const
    {
        if (!LSTRACE_EVENT_ENABLED(component_init))
            return;
        std::string keys;
        for (const std::string& k : config_keys)
            keys += (keys.empty() ? "" : ",") + k;
        lstrace_component_init(component_.c_str(), keys.c_str(), config_size);
    }

    void trace_state_change(const std::string& from_state, const std::string& to_state,
                            const std::string& reason = std::string()) const
    {
        if (LSTRACE_EVENT_ENABLED(state_change))
            lstrace_state_change(component_.c_str(), from_state.c_str(), to_state.c_str(),
                                 reason.c_str());
    }

    void trace_config_change(const std::string& key, const std::string& old_value,
                             const std::string& new_value) const
    {
        if (LSTRACE_EVENT_ENABLED(config_change))
            lstrace_config_change(component_.c_str(), key.c_str(), old_value.c_str(),
                                  new_value.c_str());
    }

private:
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
    const lstrace_error_info raw{info.type.c_str(),     info.message.c_str(),
                                 info.module.c_str(),   info.severity.c_str(),
                                 info.category.c_str(), context.c_str()};
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

inline void trace_error_handled(ErrorId id, const std::string& handler)
{
    if (LSTRACE_EVENT_ENABLED(error_handled))
        lstrace_error_handled(id, handler.c_str());
}

inline void trace_error_recovery(ErrorId id, const std::string& original_error,
                                 const std::string& strategy, bool success)
{
    if (LSTRACE_EVENT_ENABLED(error_recovery))
        lstrace_error_recovery(id, original_error.c_str(), strategy.c_str(), success);
}

inline void trace_error_resolved(ErrorId id, const std::string& detail = std::string())
{
    if (LSTRACE_EVENT_ENABLED(error_resolution))
        lstrace_error_resolution(id, LSTRACE_ERROR_RESOLVED, detail.c_str());
}

inline void trace_error_escalated(ErrorId id, const std::string& detail = std::string())
{
    if (LSTRACE_EVENT_ENABLED(error_resolution))
        lstrace_error_resolution(id, LSTRACE_ERROR_ESCALATED, detail.c_str());
}

}  // namespace lstrace
