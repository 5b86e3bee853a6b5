// The C++ API compiles with -Wpedantic -Werror and supports every tag type.
#include <lstrace/lstrace.hpp>

#include <cstdint>
#include <string>

int lstrace_header_compiles_as_cpp();

int lstrace_header_compiles_as_cpp()
{
    auto tracer = lstrace::get_tracer("compile.cpp");
    auto span = tracer.trace_operation("compile", "cpp", "C++17 compile test");
    span.set_tag("str", "v").set_tag("string", std::string("v"));
    span.set_tag("int", 1).set_tag("u64", std::uint64_t{2}).set_tag("short", short{3});
    span.set_tag("double", 0.5).set_tag("float", 0.25f).set_tag("bool", true);
    span.record_error("E", "m").record_error(std::string("E"), std::string("m"));
    auto other = tracer.trace_operation(std::string("c"), std::string("o"));
    return lstrace::enabled() || span.recording() || other.recording();
}
