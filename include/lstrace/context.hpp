// SPDX-License-Identifier: MIT
//
// context.hpp - trace context across threads and processes (C++ API).
//
//     lstrace::Context ctx = lstrace::Context::current();       // in a span
//     std::thread worker([ctx] {
//         lstrace::ContextScope joined(ctx);                       // joins the trace
//         auto span = tracer.trace_operation("tool", "search");   // child of ctx's span
//     });
//
//     setenv("TRACEPARENT", ctx.traceparent().c_str(), 1);         // for a child process
//     ...
//     lstrace::ContextScope joined(lstrace::Context::from_environment());  // in the child
//
// Included by lstrace.hpp.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "lstrace.h"

namespace lstrace {

class Context {
public:
    Context() = default;
    explicit Context(const lstrace_context& raw) : raw_(raw) {}

    // The calling thread's current recorded span (empty if none).
    static Context current() noexcept { return Context(lstrace_current_context()); }

    // A W3C traceparent ("00-<trace id>-<span id>-01"); std::nullopt if
    // `text` is not a valid one.
    static std::optional<Context> from_traceparent(std::string_view text)
    {
        const std::string copy(text);  // NUL-terminated for the C parser
        lstrace_context raw{};
        if (!lstrace_context_from_traceparent(copy.c_str(), &raw))
            return std::nullopt;
        return Context(raw);
    }

    // The context in environment variable `name` (empty if unset or invalid).
    static Context from_environment(const char* name = "TRACEPARENT")
    {
        const char* value = std::getenv(name);
        if (!value)
            return Context();
        return from_traceparent(value).value_or(Context());
    }

    // True if there is a span to join (a recorder was attached when it began).
    bool valid() const noexcept { return raw_.span_id != 0; }

    // "" when !valid().
    std::string traceparent() const
    {
        char buf[LSTRACE_TRACEPARENT_LEN];
        lstrace_context_to_traceparent(raw_, buf);
        return buf;
    }

    const lstrace_context& raw() const noexcept { return raw_; }

private:
    lstrace_context raw_{};
};

// Makes `ctx` the calling thread's current span context for the scope:
// spans begun meanwhile are children of ctx's span, in its trace.  An
// invalid context changes nothing.
class ContextScope {
public:
    explicit ContextScope(const Context& ctx) noexcept : active_(ctx.valid())
    {
        if (active_)
            previous_ = lstrace_context_attach(ctx.raw());
    }
    ~ContextScope()
    {
        if (active_)
            lstrace_context_detach(previous_);
    }
    ContextScope(const ContextScope&) = delete;
    ContextScope& operator=(const ContextScope&) = delete;

private:
    bool active_;
    lstrace_context previous_{};
};

}  // namespace lstrace
