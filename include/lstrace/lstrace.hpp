// SPDX-License-Identifier: MIT
//
// lstrace.hpp - the C++ probe API of lstrace-bpf (provider "langswarm").
//
// Header-only (C++17): include it, link nothing.  It mirrors the LangSwarm
// tracing standard's vocabulary:
//
//     #include <lstrace/lstrace.hpp>
//     auto tracer = lstrace::get_tracer("langswarm.agent");
//     {
//         auto span = tracer.trace_operation("agent", "generate", "Generating a reply");
//         span.set_tag("model", "small");   // string, integer, double and bool values
//         span.set_tag("tokens", 128);
//         span.record_error("ConfigurationError", "Invalid configuration format");
//     }                                     // the span ends here (RAII)
//
// A span is recorded only if `lstrace-bpf record` was attached when it
// began; otherwise every call is one load and a not-taken branch.  A span
// that ends while an exception unwinds through it is recorded with
// success=false.  Spans nest per thread and must end in LIFO order on the
// thread that began them; a Span is neither copyable nor movable (the
// thread's span chain points at it), which C++17's guaranteed copy elision
// makes invisible in `auto span = tracer.trace_operation(...)`.
//
// Use span.recording() to skip computing expensive tag values when nobody
// listens.  Probe semantics: docs/probes.md.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "lstrace.h"

namespace lstrace {

class Span {
public:
    Span(const char* tracer, const char* component, const char* operation,
         const char* description) noexcept
    {
        lstrace_span_begin_traced(&raw_, tracer, component, operation, description);
        // only recorded spans pay for the exception bookkeeping (a libstdc++ call)
        if (raw_.span_id != 0)
            uncaught_at_begin_ = std::uncaught_exceptions();
    }

    ~Span()
    {
        if (raw_.span_id != 0 && raw_.status == LSTRACE_STATUS_OK &&
            std::uncaught_exceptions() > uncaught_at_begin_)
            raw_.status = LSTRACE_STATUS_EXCEPTION;
        lstrace_span_end(&raw_);
    }

    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    Span(Span&&) = delete;
    Span& operator=(Span&&) = delete;

    // True when a recorder is listening to this span's tags.
    bool recording() const noexcept { return lstrace_span_recording(&raw_) != 0; }

    Span& set_tag(const char* key, const char* value) noexcept
    {
        lstrace_tag_str(&raw_, key, value);
        return *this;
    }
    Span& set_tag(const char* key, const std::string& value) noexcept
    {
        if (recording())
            lstrace_tag_str(&raw_, key, value.c_str());
        return *this;
    }
    Span& set_tag(const char* key, bool value) noexcept
    {
        lstrace_tag_bool(&raw_, key, value ? 1 : 0);
        return *this;
    }
    template <typename Int,
              std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
    Span& set_tag(const char* key, Int value) noexcept
    {
        lstrace_tag_int(&raw_, key, static_cast<int64_t>(value));
        return *this;
    }
    Span& set_tag(const char* key, double value) noexcept
    {
        lstrace_tag_double(&raw_, key, value);
        return *this;
    }

    // Marks the span failed: tags success=false, error_type, error_message.
    Span& record_error(const char* error_type, const char* message) noexcept
    {
        lstrace_span_error(&raw_, error_type, message);
        return *this;
    }
    Span& record_error(const std::string& error_type, const std::string& message) noexcept
    {
        return record_error(error_type.c_str(), message.c_str());
    }

    // The underlying C span (for code mixing the C and C++ APIs).
    lstrace_span* raw() noexcept { return &raw_; }

private:
    lstrace_span raw_{};
    int uncaught_at_begin_ = 0;
};

// Names the source of spans (the standard's get_tracer(__name__)); the name
// is carried in each span's record as metadata.tracer.
class Tracer {
public:
    explicit Tracer(std::string name) : name_(std::move(name)) {}

    const std::string& name() const noexcept { return name_; }

    Span trace_operation(const char* component, const char* operation,
                         const char* description = "") const noexcept
    {
        return Span(name_.c_str(), component, operation, description);
    }
    Span trace_operation(const std::string& component, const std::string& operation,
                         const std::string& description = std::string()) const noexcept
    {
        return Span(name_.c_str(), component.c_str(), operation.c_str(), description.c_str());
    }

private:
    std::string name_;
};

inline Tracer get_tracer(std::string name)
{
    return Tracer(std::move(name));
}

// True while a recorder is attached to this process's probes.
inline bool enabled() noexcept
{
    return LSTRACE_ENABLED();
}

}  // namespace lstrace
