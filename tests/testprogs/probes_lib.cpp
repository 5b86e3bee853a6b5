// A shared library carrying the langswarm probes, for an executable that
// has none of its own (tests/testprogs/lib_user.c): the recorder must find
// and attach the probes where they are.
#include <cstdint>

#include <lstrace/lstrace.hpp>

namespace {
const lstrace::Tracer tracer = lstrace::get_tracer("tests.lib");
}

// One span tagged with `seq`; returns 1 when it was recorded.
extern "C" __attribute__((visibility("default"))) int probes_lib_span(long seq)
{
    auto outer = tracer.trace_operation("lib", "outer", "span inside a shared library");
    outer.set_tag("seq", static_cast<std::int64_t>(seq));
    auto inner = tracer.trace_operation("lib", "inner", "nested, same library");
    return outer.recording() ? 1 : 0;
}
