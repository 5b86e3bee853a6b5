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
//
// Also here: component and error events (events.hpp), data flow
// (data_flow.hpp), trace context across threads and processes
// (context.hpp), and LSTRACE_TRACE_METHOD() for a method's span.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "context.hpp"
#include "data_flow.hpp"
#include "events.hpp"
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

    // A span whose names are computed by `names()` (returning an object
    // with component, operation and description strings) only if a
    // recorder is attached: for names that cost something to build.
    template <typename NameFn, typename = decltype(std::declval<NameFn&>()().component)>
    Span(const char* tracer, NameFn&& names)
    {
        raw_.span_id = 0;  // not recorded unless begun below
        raw_.status = LSTRACE_STATUS_OK;
        if (!LSTRACE_ENABLED())
            return;  // no second look at the gate
        const auto n = names();
        lstrace_span_begin_traced(&raw_, tracer, n.component.c_str(), n.operation.c_str(),
                                  n.description.c_str());
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
    // Not value-initialised: zeroing the tag buffer would cost every span,
    // traced or not; lstrace_span_begin_traced() sets what is read.
    lstrace_span raw_;
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

// The standard's DataFlowTracer: each call is its own span
// ("<operation>_input", "_output", "_transform") carrying the data event.
class DataFlowTracer {
public:
    explicit DataFlowTracer(Tracer tracer) : tracer_(std::move(tracer)) {}

    template <typename T>
    void trace_data_input(std::string_view component, std::string_view operation,
                          const T& data) const
    {
        Span span(tracer_.name().c_str(), [&] {
            const std::string op(operation);
            return Names{std::string(component), op + "_input", "Data input for " + op};
        });
        data_input(data);
    }

    template <typename T>
    void trace_data_output(std::string_view component, std::string_view operation,
                           const T& data) const
    {
        Span span(tracer_.name().c_str(), [&] {
            const std::string op(operation);
            return Names{std::string(component), op + "_output", "Data output for " + op};
        });
        data_output(data);
    }

    template <typename In, typename Out>
    void trace_data_transformation(std::string_view component, std::string_view operation,
                                   const In& input, const Out& output) const
    {
        Span span(tracer_.name().c_str(), [&] {
            const std::string op(operation);
            return Names{std::string(component), op + "_transform",
                         "Data transformation for " + op};
        });
        data_transformation(input, output);
    }

private:
    struct Names {
        std::string component, operation, description;
    };
    Tracer tracer_;
};

namespace method_detail {

// Class, method and parameter count from __PRETTY_FUNCTION__, e.g.
// "std::string ns::Agent::run(const Task&, int) const" -> "Agent", "run", 2.
struct MethodName {
    std::string component, operation, description;
    int args = 0;
};

// The parameter list "(...)" at the end of a signature: the positions of
// its parentheses; false if there is none.
inline bool parameter_list(std::string_view sig, std::size_t& open, std::size_t& close)
{
    close = sig.rfind(')');
    if (close == std::string_view::npos)
        return false;
    open = close;
    for (int depth = 0; open-- > 0;) {
        const char c = sig[open];
        if (c == ')')
            ++depth;
        else if (c == '(' && depth-- == 0)
            return true;
    }
    return false;
}

// Back from `end` to the start of a name: a space (or * &) or "::" outside
// template brackets; `scope_end` gets the position of that "::" (npos if
// the name is unqualified).
inline std::size_t name_start(std::string_view sig, std::size_t end, std::size_t& scope_end)
{
    scope_end = std::string_view::npos;
    int depth = 0;
    for (std::size_t i = end; i > 0; --i) {
        const char c = sig[i - 1];
        if (c == '>')
            ++depth;
        else if (c == '<')
            --depth;
        else if (depth == 0 && (c == ' ' || c == '*' || c == '&'))
            return i;
        else if (depth == 0 && c == ':' && i >= 2 && sig[i - 2] == ':') {
            scope_end = i - 2;
            return i;
        }
    }
    return 0;
}

inline MethodName parse_pretty_function(std::string_view pretty)
{
    MethodName m;
    // GCC appends " [with T = ...]" for templates
    if (const auto with = pretty.rfind(" [with "); with != std::string_view::npos)
        pretty = pretty.substr(0, with);
    std::size_t open = 0, close = 0;
    if (!parameter_list(pretty, open, close))
        return MethodName{"", std::string(pretty), std::string(pretty), 0};
    const std::string_view params = pretty.substr(open + 1, close - open - 1);
    if (!params.empty() && params != "void") {
        m.args = 1;
        int depth = 0;
        for (const char c : params) {
            if (c == '<' || c == '(' || c == '[')
                ++depth;
            else if (c == '>' || c == ')' || c == ']')
                --depth;
            else if (c == ',' && depth == 0)
                ++m.args;
        }
    }
    // A lambda is named after the function it is in: GCC writes
    // "ns::A::f()::<lambda(int)>", clang "ns::A::f()::(anonymous class)::operator()".
    std::string suffix;
    for (const char* marker : {"::<lambda", "::(anonymous class)", "::(lambda"}) {
        const auto at = pretty.find(marker);
        if (at != std::string_view::npos) {
            pretty = pretty.substr(0, at);
            suffix = ".<lambda>";
            if (!parameter_list(pretty, open, close))
                return MethodName{"", std::string(pretty), std::string(pretty), m.args};
            break;
        }
    }
    // The method's name: an operator is a name of its own ("operator()",
    // "operator<", "operator bool"), anything else ends at "::" or a space.
    std::size_t method_start = 0, scope_end = std::string_view::npos;
    const auto op = pretty.rfind("operator", open);
    if (op != std::string_view::npos &&
        (op == 0 || pretty[op - 1] == ':' || pretty[op - 1] == ' ')) {
        method_start = op;
        if (op >= 2 && pretty.substr(op - 2, 2) == "::")
            scope_end = op - 2;
    } else {
        method_start = name_start(pretty, open, scope_end);
    }
    const std::string method(pretty.substr(method_start, open - method_start));
    std::string_view klass;
    if (scope_end != std::string_view::npos) {
        std::size_t unused = 0;
        klass = pretty.substr(0, scope_end);
        klass = klass.substr(name_start(klass, klass.size(), unused));
        if (const auto lt = klass.find('<'); lt != std::string_view::npos)
            klass = klass.substr(0, lt);
    }
    m.component = std::string(klass);
    m.operation = (klass.empty() ? method : m.component + "." + method) + suffix;
    m.description = "Executing " + m.operation;
    return m;
}

template <typename T, typename = void>
struct has_trace_state : std::false_type {};
template <typename T>
struct has_trace_state<T,
                       std::void_t<decltype(std::string(std::declval<const T&>().trace_state()))>>
    : std::true_type {};

}  // namespace method_detail

// The span of one method call: the standard's trace_component_method
// decorator.  Component = the class, operation = "Class.method", tags
// args_count and, if the class has `std::string trace_state() const`,
// component_state.  Use through LSTRACE_TRACE_METHOD().
class MethodSpan {
public:
    template <typename Self>
    MethodSpan(const char* pretty_function, const Self* self)
        : span_("", [&] { return names(pretty_function); })
    {
        if (!span_.recording())
            return;
        span_.set_tag("args_count", args_);
        if constexpr (method_detail::has_trace_state<Self>::value)
            span_.set_tag("component_state", std::string(self->trace_state()));
    }

    Span& span() noexcept { return span_; }

private:
    method_detail::MethodName names(const char* pretty)
    {
        method_detail::MethodName m = method_detail::parse_pretty_function(pretty);
        args_ = m.args;
        return m;
    }

    int args_ = 0;  // before span_: set while span_ is being constructed
    Span span_;
};

}  // namespace lstrace

// Opens the span of the enclosing method (see MethodSpan) until it returns.
#define LSTRACE_TRACE_METHOD() ::lstrace::MethodSpan lstrace_method_span_(__PRETTY_FUNCTION__, this)

// The same for a free function or static method (component as given).
#define LSTRACE_TRACE_FUNCTION(component)                                              \
    ::lstrace::Span lstrace_function_span_("", [&] {                                   \
        auto m = ::lstrace::method_detail::parse_pretty_function(__PRETTY_FUNCTION__); \
        m.component = (component);                                                     \
        return m;                                                                      \
    })
