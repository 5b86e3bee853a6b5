// The correlator's event records, from synthetic POINT / SPAN_DROPPED
// events: what each probe becomes, propagation across components,
// transformation pairing, min-duration drops and the max_open bound.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "correlate/correlator.hpp"
#include "lstrace/probe_abi.h"

using namespace lstrace;

namespace {

lstrace_event_header header(std::uint16_t type, std::uint64_t span, std::uint64_t ts,
                            std::uint32_t tid = 101)
{
    lstrace_event_header h{};
    h.type = type;
    h.version = LSTRACE_ABI_VERSION;
    h.tgid = 100;
    h.tid = tid;
    h.ts_ns = ts;
    h.span_id = span;
    return h;
}

void copy(char* dst, std::size_t n, const std::string& src)
{
    std::memset(dst, 0, n);
    std::memcpy(dst, src.data(), std::min(n - 1, src.size()));
}

lstrace_span_begin_event begin(std::uint64_t span, std::uint64_t parent, const char* component,
                               std::uint64_t ts = 10)
{
    lstrace_span_begin_event e{};
    e.hdr = header(LSTRACE_EV_SPAN_BEGIN, span, ts);
    e.parent_span_id = parent;
    e.trace_id_hi = 1;
    e.trace_id_lo = 2;
    copy(e.component, sizeof(e.component), component);
    copy(e.operation, sizeof(e.operation), std::string(component) + "_op");
    return e;
}

lstrace_span_end_event end(std::uint64_t span, std::uint32_t status = LSTRACE_STATUS_OK)
{
    lstrace_span_end_event e{};
    e.hdr = header(LSTRACE_EV_SPAN_END, span, 50);
    e.status = status;
    return e;
}

// A POINT event is ~2 KiB: built on the heap.
std::unique_ptr<lstrace_point_event> point(std::uint32_t kind, std::uint64_t span,
                                           std::vector<std::string> strs,
                                           std::vector<std::int64_t> nums = {})
{
    auto e = std::make_unique<lstrace_point_event>();
    std::memset(e.get(), 0, sizeof(*e));
    e->hdr = header(LSTRACE_EV_POINT, span, 20);
    e->trace_id_hi = 1;
    e->trace_id_lo = 2;
    e->kind = kind;
    for (std::size_t i = 0; i < strs.size(); ++i)
        copy(e->str[i], sizeof(e->str[i]), strs[i]);
    for (std::size_t i = 0; i < nums.size(); ++i)
        e->num[i] = nums[i];
    return e;
}

const TagValue* tag(const EventRecord& r, const std::string& key)
{
    for (const Tag& t : r.tags)
        if (t.key == key)
            return &t.value;
    return nullptr;
}

std::string str(const EventRecord& r, const std::string& key)
{
    const TagValue* v = tag(r, key);
    REQUIRE(v);
    return std::get<std::string>(*v);
}

struct Harness {
    std::vector<SpanRecord> spans;
    std::vector<EventRecord> events;
    Correlator c{[this](const SpanRecord& r) { spans.push_back(r); }, nullptr,
                 [this](const EventRecord& e) { events.push_back(e); }};

    template <typename E>
    void feed(const E& e)
    {
        c.consume(&e, sizeof(e));
    }
    void feed(const std::unique_ptr<lstrace_point_event>& e) { c.consume(e.get(), sizeof(*e)); }
};

}  // namespace

TEST_CASE("component events become records linked to the current span", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, "memory"));
    h.feed(point(LSTRACE_POINT_COMPONENT_INIT, 7, {"memory", "backend,path"}, {42}));
    h.feed(point(LSTRACE_POINT_STATE_CHANGE, 7, {"memory", "cold", "ready", ""}));
    h.feed(point(LSTRACE_POINT_CONFIG_CHANGE, 7, {"memory", "capacity", "16", "64"}));
    REQUIRE(h.events.size() == 3);
    CHECK(h.events[0].record_type == "component_init");
    CHECK(str(h.events[0], "config_keys") == "backend,path");
    CHECK(std::get<std::int64_t>(*tag(h.events[0], "config_size")) == 42);
    CHECK(h.events[0].span_id == 7);
    CHECK(h.events[0].trace_id_lo == 2);
    CHECK(h.events[1].description == "State change: cold \u2192 ready");
    CHECK(tag(h.events[1], "reason") == nullptr);  // empty reason: no tag
    CHECK(str(h.events[2], "new_value") == "64");
    CHECK(h.c.stats().events_recorded == 3);
}

TEST_CASE("an error takes its span's component and splits its context", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, "llm"));
    std::string context = std::string("model=m1") + LSTRACE_CONTEXT_SEPARATOR + "attempt=2" +
                          LSTRACE_CONTEXT_SEPARATOR + "expr=a=b";
    h.feed(point(LSTRACE_POINT_ERROR, 7,
                 {"RateLimitError", "429", "mod", "warning", "network", context}, {0x1234}));
    REQUIRE(h.events.size() == 1);
    const EventRecord& e = h.events[0];
    CHECK(e.component == "llm");
    CHECK(str(e, "error_id") == "0000000000001234");
    CHECK(str(e, "context_model") == "m1");
    CHECK(str(e, "context_attempt") == "2");
    CHECK(str(e, "context_expr") == "a=b");  // split at the first '='
    CHECK(str(e, "error_component") == "llm");
    CHECK(str(e, "error_operation") == "llm_op");

    // outside any known span: no component, still a record
    h.feed(point(LSTRACE_POINT_ERROR_RECOVERY, 0, {"RateLimitError", "retry"}, {0x1234, 1}));
    REQUIRE(h.events.size() == 2);
    CHECK(h.events[1].component.empty());
    CHECK(std::get<bool>(*tag(h.events[1], "recovery_success")) == true);
}

TEST_CASE("a failed span inside another component's span is an error propagation", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, "agent"));
    h.feed(begin(2, 1, "llm"));
    h.feed(begin(3, 2, "llm"));
    h.feed(end(3, LSTRACE_STATUS_ERROR));  // same component as its parent: no crossing
    CHECK(h.events.empty());
    h.feed(end(2, LSTRACE_STATUS_EXCEPTION));  // llm -> agent
    REQUIRE(h.events.size() == 1);
    const EventRecord& p = h.events[0];
    CHECK(p.record_type == "error_propagation");
    CHECK(str(p, "from_component") == "llm");
    CHECK(str(p, "to_component") == "agent");
    CHECK(str(p, "error_type") == "exception");
    CHECK(p.span_id == 1);
    h.feed(end(1, LSTRACE_STATUS_ERROR));  // a root: nowhere to propagate to
    CHECK(h.events.size() == 1);
}

TEST_CASE("a transformation's two halves become one record with the size change", "[correlator]")
{
    Harness h;
    h.feed(begin(5, 0, "text"));
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"str", "", "hello"},
                 {LSTRACE_DATA_TRANSFORM_INPUT, 100, 100, 0xab}));
    CHECK(h.events.empty());
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"list", "", "[...]"},
                 {LSTRACE_DATA_TRANSFORM_OUTPUT, 150, 3, 0xcd}));
    REQUIRE(h.events.size() == 1);
    const EventRecord& t = h.events[0];
    CHECK(t.record_type == "data_transform");
    CHECK(str(t, "input_type") == "str");
    CHECK(str(t, "output_type") == "list");
    CHECK(str(t, "output_fingerprint") == "00000000000000cd");
    CHECK(std::get<std::int64_t>(*tag(t, "size_change_bytes")) == 50);
    CHECK(std::get<double>(*tag(t, "size_change_ratio")) == Approx(1.5));
    // an output half without its input is counted, not invented
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"list"}, {LSTRACE_DATA_TRANSFORM_OUTPUT, 1, 1, 0}));
    CHECK(h.events.size() == 1);
    CHECK(h.c.stats().events_without_span == 1);
    // an input whose output was lost is replaced by the next input, not
    // paired with the next transformation's output
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"str"}, {LSTRACE_DATA_TRANSFORM_INPUT, 10, 10, 1}));
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"dict"}, {LSTRACE_DATA_TRANSFORM_INPUT, 20, 2, 2}));
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 5, {"list"}, {LSTRACE_DATA_TRANSFORM_OUTPUT, 40, 4, 3}));
    REQUIRE(h.events.size() == 2);
    CHECK(str(h.events[1], "input_type") == "dict");
    CHECK(std::get<std::int64_t>(*tag(h.events[1], "size_change_bytes")) == 20);
    CHECK(h.c.stats().events_without_span == 2);
}

TEST_CASE("unknown point kinds and directions are malformed, not records", "[correlator]")
{
    Harness h;
    h.feed(point(99, 0, {}));
    h.feed(point(LSTRACE_POINT_DATA_FLOW, 0, {"str"}, {7}));
    CHECK(h.events.empty());
    CHECK(h.c.stats().malformed_events == 2);
}

TEST_CASE("a span BPF dropped as too short is forgotten, not written", "[correlator]")
{
    Harness h;
    h.feed(begin(9, 0, "fast"));
    lstrace_span_dropped_event d{};
    d.hdr = header(LSTRACE_EV_SPAN_DROPPED, 9, 30);
    h.feed(d);
    CHECK(h.spans.empty());
    CHECK(h.c.open_spans() == 0);
    CHECK(h.c.stats().spans_dropped_short == 1);
}

TEST_CASE("max_open bounds the spans held in memory", "[correlator]")
{
    Harness h;
    h.c.set_max_open(100);
    for (std::uint64_t i = 1; i <= 250; ++i)
        h.feed(begin(i, 0, "c", i));
    CHECK(h.c.open_spans() <= 100);
    CHECK(h.c.stats().spans_evicted == 250 - h.c.open_spans());
    // the newest survive
    h.feed(end(250));
    CHECK(h.spans.size() == 1);
    h.feed(end(1));
    CHECK(h.c.stats().ends_without_begin == 1);
}
