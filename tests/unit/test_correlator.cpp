#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/wait_status.hpp"
#include "correlate/correlator.hpp"
#include "lstrace/probe_abi.h"

using namespace lstrace;

namespace {

template <std::size_t N>
void set_str(char (&dst)[N], const char* src)
{
    std::memset(dst, 0, N);
    std::memcpy(dst, src, std::min(N - 1, std::strlen(src)));
}

lstrace_event_header header(std::uint16_t type, std::uint64_t span, std::uint64_t ts,
                            std::uint32_t tgid = 100, std::uint32_t tid = 101)
{
    lstrace_event_header h{};
    h.type = type;
    h.version = LSTRACE_ABI_VERSION;
    h.tgid = tgid;
    h.tid = tid;
    h.ts_ns = ts;
    h.span_id = span;
    return h;
}

lstrace_span_begin_event begin(std::uint64_t span, std::uint64_t parent, std::uint64_t ts,
                               const char* op, std::uint32_t tgid = 100)
{
    lstrace_span_begin_event e{};
    e.hdr = header(LSTRACE_EV_SPAN_BEGIN, span, ts, tgid);
    e.parent_span_id = parent;
    e.trace_id_hi = 1;
    e.trace_id_lo = 2;
    set_str(e.tracer, "t");
    set_str(e.component, "comp");
    set_str(e.operation, op);
    set_str(e.description, "desc");
    return e;
}

lstrace_span_end_event end(std::uint64_t span, std::uint64_t ts, std::uint32_t status = 0,
                           std::uint32_t tgid = 100)
{
    lstrace_span_end_event e{};
    e.hdr = header(LSTRACE_EV_SPAN_END, span, ts, tgid);
    e.status = status;
    e.delta.oncpu_ns = 5;
    e.delta.write_bytes = 8192;
    e.rss_end_bytes = 1 << 20;
    return e;
}

lstrace_span_tag_event tag(std::uint64_t span, const char* key, std::uint32_t type,
                           std::int64_t num, const char* str = "")
{
    lstrace_span_tag_event e{};
    e.hdr = header(LSTRACE_EV_SPAN_TAG, span, 0);
    e.value_type = type;
    e.num = num;
    set_str(e.key, key);
    set_str(e.str, str);
    return e;
}

struct Harness {
    std::vector<SpanRecord> out;
    Correlator c{[this](const SpanRecord& r) { out.push_back(r); }};

    template <typename E>
    void feed(const E& e)
    {
        c.consume(&e, sizeof(e));
    }
};

}  // namespace

TEST_CASE("begin, tags and end become one record", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 1000, "op"));
    h.feed(tag(7, "model", LSTRACE_TAG_STRING, 0, "small"));
    h.feed(tag(7, "tokens", LSTRACE_TAG_INT, 128));
    double d = 0.75;
    std::int64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    h.feed(tag(7, "temperature", LSTRACE_TAG_DOUBLE, bits));
    h.feed(tag(7, "stream", LSTRACE_TAG_BOOL, 1));
    REQUIRE(h.out.empty());
    CHECK(h.c.open_spans() == 1);
    h.feed(end(7, 5000));
    REQUIRE(h.out.size() == 1);
    const SpanRecord& r = h.out[0];
    CHECK(r.span_id == 7);
    CHECK(r.begin_ns == 1000);
    CHECK(r.end_ns == 5000);
    CHECK(r.operation == "op");
    REQUIRE(r.tags.size() == 4);
    CHECK(std::get<std::string>(r.tags[0].value) == "small");
    CHECK(std::get<std::int64_t>(r.tags[1].value) == 128);
    CHECK(std::get<double>(r.tags[2].value) == 0.75);
    CHECK(std::get<bool>(r.tags[3].value) == true);
    CHECK(r.resources.write_bytes == 8192);
    CHECK(r.rss_end_bytes == 1 << 20);
    CHECK(h.c.open_spans() == 0);
    CHECK(h.c.stats().spans_recorded == 1);
}

TEST_CASE("a span's CPU time is capped at its wall time", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 1000, "short"));
    lstrace_span_end_event e = end(7, 13000);
    e.delta.oncpu_ns = 12040;  // 40 ns over the 12000 ns the span lasted
    h.feed(e);
    h.feed(begin(8, 0, 20000, "long"));
    lstrace_span_end_event f = end(8, 30000);
    f.delta.oncpu_ns = 9000;
    h.feed(f);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[0].resources.oncpu_ns == 12000);
    CHECK(h.out[1].resources.oncpu_ns == 9000);
}

TEST_CASE("JSON tags become JSON values; cut ones stay strings", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 1000, "op"));
    h.feed(tag(7, "stop", LSTRACE_TAG_JSON, 0, "[\"a\", 1, {\"b\": null}]"));
    h.feed(tag(7, "cut", LSTRACE_TAG_JSON, 0, "{\"a\": [1, 2"));
    h.feed(end(7, 5000));
    REQUIRE(h.out.size() == 1);
    REQUIRE(h.out[0].tags.size() == 2);
    CHECK(std::get<JsonText>(h.out[0].tags[0].value).text == "[\"a\",1,{\"b\":null}]");
    CHECK(std::get<std::string>(h.out[0].tags[1].value) == "{\"a\": [1, 2");
}

TEST_CASE("nested spans are emitted innermost first with their parent ids", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "outer"));
    h.feed(begin(2, 1, 20, "inner"));
    h.feed(end(2, 30));
    h.feed(end(1, 40));
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[0].operation == "inner");
    CHECK(h.out[0].parent_span_id == 1);
    CHECK(h.out[1].operation == "outer");
    CHECK(h.out[1].parent_span_id == 0);
}

TEST_CASE("a repeated tag key keeps the last value", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "op"));
    h.feed(tag(1, "k", LSTRACE_TAG_INT, 1));
    h.feed(tag(1, "k", LSTRACE_TAG_INT, 2));
    h.feed(end(1, 20));
    REQUIRE(h.out.size() == 1);
    REQUIRE(h.out[0].tags.size() == 1);
    CHECK(std::get<std::int64_t>(h.out[0].tags[0].value) == 2);
}

TEST_CASE("errors are attached to their span", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "op"));
    lstrace_span_error_event err{};
    err.hdr = header(LSTRACE_EV_SPAN_ERROR, 1, 15);
    set_str(err.error_type, "ConfigurationError");
    set_str(err.message, "Invalid configuration format");
    h.feed(err);
    h.feed(end(1, 20, LSTRACE_STATUS_ERROR));
    REQUIRE(h.out.size() == 1);
    REQUIRE(h.out[0].errors.size() == 1);
    CHECK(h.out[0].errors[0].type == "ConfigurationError");
    CHECK(h.out[0].status == LSTRACE_STATUS_ERROR);
}

TEST_CASE("same span id in two processes are two spans", "[correlator]")
{
    Harness h;
    h.feed(begin(9, 0, 10, "a", 100));
    h.feed(begin(9, 0, 11, "b", 200));
    h.feed(end(9, 20, 0, 200));
    h.feed(end(9, 30, 0, 100));
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[0].operation == "b");
    CHECK(h.out[1].operation == "a");
}

TEST_CASE("events of spans begun before the attach are counted, not recorded", "[correlator]")
{
    Harness h;
    h.feed(tag(5, "k", LSTRACE_TAG_INT, 1));
    h.feed(end(5, 20));
    CHECK(h.out.empty());
    CHECK(h.c.stats().ends_without_begin == 1);
    CHECK(h.c.stats().events_without_span == 1);
}

TEST_CASE("spans never ended stay open", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "op"));
    h.feed(begin(2, 1, 11, "op2"));
    h.feed(end(2, 12));
    CHECK(h.out.size() == 1);
    CHECK(h.c.open_spans() == 1);
}

TEST_CASE("malformed events are counted and ignored", "[correlator]")
{
    Harness h;
    char tiny[4] = {};
    h.c.consume(tiny, sizeof(tiny));
    auto b = begin(1, 0, 10, "op");
    h.c.consume(&b, sizeof(b) - 1);  // truncated
    auto wrong_version = begin(2, 0, 10, "op");
    wrong_version.hdr.version = 99;
    h.feed(wrong_version);
    auto unknown = begin(3, 0, 10, "op");
    unknown.hdr.type = 42;
    h.feed(unknown);
    CHECK(h.c.stats().malformed_events == 4);
    CHECK(h.c.open_spans() == 0);
}

TEST_CASE("strings that fill their whole field are not read past the end", "[correlator]")
{
    Harness h;
    auto b = begin(1, 0, 10, "op");
    std::memset(b.component, 'x', sizeof(b.component));  // no NUL: BPF cut it
    b.hdr.flags = LSTRACE_F_TRUNCATED;
    h.feed(b);
    h.feed(end(1, 20));
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].component == std::string(sizeof(b.component), 'x'));
    CHECK((h.out[0].flags & LSTRACE_F_TRUNCATED) != 0);
}

namespace {

lstrace_thread_exit_event thread_exit(std::uint32_t tid, bool group_dead, int code,
                                      std::uint64_t ts, std::uint32_t tgid = 100)
{
    lstrace_thread_exit_event e{};
    e.hdr = header(LSTRACE_EV_THREAD_EXIT, 0, ts, tgid, tid);
    e.exit_code = code;
    e.group_dead = group_dead ? 1 : 0;
    return e;
}

}  // namespace

TEST_CASE("a thread's exit aborts only that thread's open spans", "[correlator]")
{
    Harness h;
    auto on_101 = begin(1, 0, 10, "on-101");  // header() gives tid 101
    auto on_102 = begin(2, 0, 11, "on-102");
    on_102.hdr.tid = 102;
    h.feed(on_101);
    h.feed(on_102);
    h.feed(thread_exit(102, false, 0, 50));
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].operation == "on-102");
    CHECK(h.out[0].aborted);
    CHECK(h.out[0].abort_reason == "thread exited");
    CHECK(h.out[0].end_ns == 50);
    CHECK(h.c.open_spans() == 1);
    CHECK(h.c.stats().spans_aborted == 1);
}

TEST_CASE("a process's exit aborts all its open spans, innermost first", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "outer"));
    h.feed(begin(2, 1, 20, "inner"));
    h.feed(begin(3, 0, 30, "other-process", 200));
    h.feed(thread_exit(101, true, 3 << 8, 99));
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[0].operation == "inner");
    CHECK(h.out[1].operation == "outer");
    CHECK(h.out[1].abort_reason == "exit status 3");
    CHECK(h.c.open_spans() == 1);  // the other process's span is untouched
}

TEST_CASE("a span open across exec is aborted by the exec, not by a later exit", "[correlator]")
{
    Harness h;
    h.feed(begin(1, 0, 10, "before-exec"));
    h.feed(begin(3, 0, 30, "other-process", 200));
    lstrace_process_event exec{};
    exec.hdr = header(LSTRACE_EV_PROCESS_EXEC, 0, 40);
    h.feed(exec);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].operation == "before-exec");
    CHECK(h.out[0].aborted);
    CHECK(h.out[0].abort_reason == "the process exec'd another program");
    CHECK(h.out[0].end_ns == 40);
    h.feed(thread_exit(101, true, 0, 99));  // the new image exits: nothing left to abort
    CHECK(h.out.size() == 1);
    CHECK(h.c.open_spans() == 1);
    CHECK(h.c.stats().malformed_events == 0);
}

TEST_CASE("a repeated span_begin id writes the first span as aborted, not lost", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 10, "first"));
    h.feed(begin(7, 0, 20, "forged"));
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].operation == "first");
    CHECK(h.out[0].aborted);
    CHECK(h.out[0].abort_reason == "its span id was begun again");
    CHECK(h.c.stats().spans_aborted == 1);
    h.feed(end(7, 30));
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].operation == "forged");
    CHECK_FALSE(h.out[1].aborted);
}

TEST_CASE("wait statuses are described like a shell would", "[correlator]")
{
    CHECK(describe_wait_status(0) == "exit status 0");
    CHECK(describe_wait_status(3 << 8) == "exit status 3");
    CHECK(describe_wait_status(9) == "killed by signal SIGKILL");
    CHECK(describe_wait_status(11 | 0x80) == "killed by signal SIGSEGV (core dumped)");
}

TEST_CASE("spans whose end BPF lost are neither aborted nor still open", "[correlator]")
{
    std::vector<SpanRecord> out;
    Correlator c([&](const SpanRecord& r) { out.push_back(r); },
                 [](std::uint32_t, std::uint64_t span_id) { return span_id == 1 || span_id == 3; });
    auto feed = [&](const auto& e) { c.consume(&e, sizeof(e)); };
    feed(begin(1, 0, 10, "end-lost"));
    feed(begin(2, 0, 11, "really-open"));
    feed(thread_exit(101, false, 0, 20));
    REQUIRE(out.size() == 1);
    CHECK(out[0].operation == "really-open");
    CHECK(c.stats().spans_aborted == 1);

    feed(begin(3, 0, 30, "end-lost-too"));
    feed(begin(4, 0, 31, "open-at-finish"));
    c.discard_lost_ends();
    CHECK(c.open_spans() == 1);
}

namespace {

// A tag buffer as the header writes it (probe_abi.h).
struct TagBuffer {
    std::vector<std::uint8_t> bytes;

    TagBuffer& add(const std::string& key, std::uint32_t type, std::int64_t num,
                   const std::string& str = std::string())
    {
        const bool text = type == LSTRACE_TAG_STRING || type == LSTRACE_TAG_JSON;
        bytes.push_back(static_cast<std::uint8_t>(type));
        bytes.push_back(static_cast<std::uint8_t>(key.size()));
        bytes.push_back(static_cast<std::uint8_t>(text ? str.size() : LSTRACE_TAG_NUM_LEN));
        bytes.insert(bytes.end(), key.begin(), key.end());
        if (text) {
            bytes.insert(bytes.end(), str.begin(), str.end());
        } else {
            std::uint8_t raw[LSTRACE_TAG_NUM_LEN];
            std::memcpy(raw, &num, sizeof(raw));
            bytes.insert(bytes.end(), raw, raw + sizeof(raw));
        }
        return *this;
    }

    lstrace_span_end_event end_event(std::uint64_t span, std::uint64_t ts) const
    {
        lstrace_span_end_event e = end(span, ts);
        REQUIRE(bytes.size() <= sizeof(e.tags));
        std::memcpy(e.tags, bytes.data(), bytes.size());
        e.tags_size = static_cast<std::uint32_t>(bytes.size());
        return e;
    }
};

std::int64_t bits_of(double d)
{
    std::int64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    return bits;
}

}  // namespace

TEST_CASE("tags carried by the end event become the span's tags, every type", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 1000, "op"));
    TagBuffer b;
    b.add("model", LSTRACE_TAG_STRING, 0, "small")
        .add("tokens", LSTRACE_TAG_INT, -128)
        .add("temperature", LSTRACE_TAG_DOUBLE, bits_of(0.75))
        .add("stream", LSTRACE_TAG_BOOL, 1)
        .add("stop", LSTRACE_TAG_JSON, 0, "[\"a\", 1, {\"b\": null}]")
        .add("cut", LSTRACE_TAG_JSON, 0, "{\"a\": [1");
    h.feed(b.end_event(7, 5000));
    REQUIRE(h.out.size() == 1);
    const auto& tags = h.out[0].tags;
    REQUIRE(tags.size() == 6);
    CHECK(tags[0].key == "model");
    CHECK(std::get<std::string>(tags[0].value) == "small");
    CHECK(std::get<std::int64_t>(tags[1].value) == -128);
    CHECK(std::get<double>(tags[2].value) == 0.75);
    CHECK(std::get<bool>(tags[3].value) == true);
    CHECK(std::get<JsonText>(tags[4].value).text == "[\"a\",1,{\"b\":null}]");
    CHECK(std::get<std::string>(tags[5].value) == "{\"a\": [1");
    CHECK(h.c.stats().malformed_events == 0);
}

TEST_CASE("buffered tags come before span_tag ones, which win on a repeated key", "[correlator]")
{
    // The header buffers tags until one does not fit; that one and every
    // later one come through span_tag, before the end: the record must be
    // what setting them in order gives.
    Harness h;
    h.feed(begin(7, 0, 1000, "op"));
    h.feed(tag(7, "overflow", LSTRACE_TAG_STRING, 0, "long"));
    h.feed(tag(7, "a", LSTRACE_TAG_INT, 3));
    TagBuffer b;
    b.add("a", LSTRACE_TAG_INT, 1).add("b", LSTRACE_TAG_INT, 2).add("a", LSTRACE_TAG_INT, 9);
    h.feed(b.end_event(7, 5000));
    REQUIRE(h.out.size() == 1);
    const auto& tags = h.out[0].tags;
    REQUIRE(tags.size() == 3);
    CHECK(tags[0].key == "a");
    CHECK(std::get<std::int64_t>(tags[0].value) == 3);
    CHECK(tags[1].key == "b");
    CHECK(tags[2].key == "overflow");
}

TEST_CASE("a damaged tag buffer keeps the tags before the damage and is counted", "[correlator]")
{
    Harness h;
    h.feed(begin(7, 0, 1000, "op"));
    TagBuffer b;
    b.add("good", LSTRACE_TAG_INT, 1).add("bad", LSTRACE_TAG_INT, 2);
    b.bytes[b.bytes.size() - LSTRACE_TAG_NUM_LEN - 3 - 1] = 5;  // "bad"'s value length
    lstrace_span_end_event e = b.end_event(7, 5000);
    h.feed(e);
    h.feed(begin(8, 0, 6000, "op"));
    lstrace_span_end_event f = TagBuffer{}.add("x", 9, 0, "").end_event(8, 7000);  // bad type
    h.feed(f);
    h.feed(begin(9, 0, 8000, "op"));
    lstrace_span_end_event g = TagBuffer{}.add("y", LSTRACE_TAG_INT, 1).end_event(9, 9000);
    g.tags_size = 1000;  // more than the event holds
    h.feed(g);
    REQUIRE(h.out.size() == 3);
    REQUIRE(h.out[0].tags.size() == 1);
    CHECK(h.out[0].tags[0].key == "good");
    CHECK(h.out[1].tags.empty());
    CHECK(h.out[2].tags.empty());
    CHECK(h.c.stats().malformed_events == 3);
}
