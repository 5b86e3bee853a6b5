// The probe header's own logic, exercised directly (no recorder needed).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <lstrace/lstrace.hpp>

#include "correlate/correlator.hpp"

TEST_CASE("ids are random, non-zero and distinct", "[header]")
{
    std::set<std::uint64_t> ids;
    for (int i = 0; i < 10000; ++i) {
        const std::uint64_t id = lstrace__next_id();
        CHECK(id != 0);
        ids.insert(id);
    }
    CHECK(ids.size() == 10000);
}

TEST_CASE("a forked child does not repeat its parent's ids", "[header]")
{
    (void)lstrace__next_id();  // seeded (and the fork handler registered) before fork
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const std::uint64_t id = lstrace__next_id();
        const bool ok = write(fds[1], &id, sizeof(id)) == sizeof(id);
        _exit(ok ? 0 : 1);
    }
    const std::uint64_t parent_id = lstrace__next_id();
    std::uint64_t child_id = 0;
    REQUIRE(read(fds[0], &child_id, sizeof(child_id)) == sizeof(child_id));
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    CHECK(child_id != parent_id);
}

TEST_CASE("detached, spans record nothing and leave no thread state", "[header]")
{
    REQUIRE_FALSE(lstrace::enabled());  // no recorder attached to the unit tests
    auto tracer = lstrace::get_tracer("unit");
    {
        auto span = tracer.trace_operation("c", "o", "d");
        span.set_tag("k", 1).record_error("E", "m");
        CHECK_FALSE(span.recording());
        CHECK(span.raw()->span_id == 0);
        CHECK(lstrace_current_context().span_id == 0);
    }
    CHECK(lstrace_current_context().span_id == 0);
}

namespace {

// Raises the recording gate and the span_tag semaphore as an attached
// recorder would (the probe sites stay nops: nothing is attached), so the
// header records spans and fills their tag buffers.
struct FakeRecorder {
    FakeRecorder()
    {
        langswarm_recording_semaphore = 1;
        langswarm_span_tag_semaphore = 1;
    }
    ~FakeRecorder()
    {
        langswarm_recording_semaphore = 0;
        langswarm_span_tag_semaphore = 0;
    }
    FakeRecorder(const FakeRecorder&) = delete;
    FakeRecorder& operator=(const FakeRecorder&) = delete;
};

std::vector<lstrace::Tag> buffered(lstrace::Span& span)
{
    std::vector<lstrace::Tag> tags;
    CHECK(lstrace::decode_tag_buffer(span.raw()->tags_, span.raw()->tags_size_, tags));
    return tags;
}

}  // namespace

TEST_CASE("a recorded span's tags go into its buffer, every type exactly", "[header]")
{
    FakeRecorder recorder;
    auto span = lstrace::get_tracer("unit").trace_operation("c", "o", "d");
    REQUIRE(span.recording());
    span.set_tag("model", "small")
        .set_tag("tokens", 128)
        .set_tag("temperature", 0.1)
        .set_tag("stream", true)
        .set_tag("min", std::numeric_limits<std::int64_t>::min())
        .set_tag("empty", "")
        .set_tag("tokens", -7);  // again: the last value, at the first place
    CHECK(span.raw()->tags_overflow_ == 0);
    const auto tags = buffered(span);
    REQUIRE(tags.size() == 6);
    CHECK(tags[0].key == "model");
    CHECK(std::get<std::string>(tags[0].value) == "small");
    CHECK(tags[1].key == "tokens");
    CHECK(std::get<std::int64_t>(tags[1].value) == -7);
    CHECK(std::get<double>(tags[2].value) == 0.1);
    CHECK(std::get<bool>(tags[3].value) == true);
    CHECK(std::get<std::int64_t>(tags[4].value) == std::numeric_limits<std::int64_t>::min());
    CHECK(std::get<std::string>(tags[5].value).empty());
}

TEST_CASE("tags past the buffer, or too long for it, stay out of it", "[header]")
{
    FakeRecorder recorder;
    auto tracer = lstrace::get_tracer("unit");
    SECTION("more tags than the buffer holds")
    {
        auto span = tracer.trace_operation("c", "o", "d");
        int set = 0;
        while (span.raw()->tags_overflow_ == 0 && set < 100) {
            const std::string key = "k" + std::to_string(set);
            span.set_tag(key.c_str(), set++);
        }
        REQUIRE(span.raw()->tags_overflow_ == 1);
        const std::uint16_t size = span.raw()->tags_size_;
        span.set_tag("x", 1);  // would fit, but comes after an overflowed tag
        CHECK(span.raw()->tags_size_ == size);
        const auto tags = buffered(span);
        CHECK(tags.size() == static_cast<std::size_t>(set - 1));
        CHECK(size <= LSTRACE_TAG_BUF_LEN);
        CHECK(std::get<std::int64_t>(tags.back().value) == set - 2);
        CHECK(size + LSTRACE_TAG_ENTRY_HEAD + 3 + LSTRACE_TAG_NUM_LEN > LSTRACE_TAG_BUF_LEN);
    }
    SECTION("a value the probe would cut")
    {
        auto span = tracer.trace_operation("c", "o", "d");
        // exactly the buffer
        span.set_tag("short", std::string(LSTRACE_TAG_BUF_LEN - LSTRACE_TAG_ENTRY_HEAD - 5, 'a'));
        CHECK(span.raw()->tags_overflow_ == 0);
        CHECK(span.raw()->tags_size_ == LSTRACE_TAG_BUF_LEN);
        CHECK(std::get<std::string>(buffered(span).at(0).value).size() == 184);
        auto other = tracer.trace_operation("c", "o", "d");
        other.set_tag("long", std::string(LSTRACE_VALUE_LEN - 1, 'b'));
        CHECK(other.raw()->tags_overflow_ == 1);
        CHECK(other.raw()->tags_size_ == 0);
    }
    SECTION("a key the probe would cut")
    {
        auto span = tracer.trace_operation("c", "o", "d");
        span.set_tag(std::string(LSTRACE_NAME_LEN, 'k').c_str(), 1);
        CHECK(span.raw()->tags_overflow_ == 1);
        CHECK(span.raw()->tags_size_ == 0);
    }
}

TEST_CASE("the C API buffers the same tags", "[header]")
{
    FakeRecorder recorder;
    struct lstrace_span span;
    lstrace_span_begin(&span, "c", "o", "d");
    REQUIRE(span.span_id != 0);
    lstrace_tag_str(&span, "lang", "c");
    lstrace_tag_int(&span, "answer", 42);
    lstrace_tag_double(&span, "ratio", 0.5);
    lstrace_tag_bool(&span, "flag", 7);
    std::vector<lstrace::Tag> tags;
    REQUIRE(lstrace::decode_tag_buffer(span.tags_, span.tags_size_, tags));
    lstrace_span_end(&span);
    REQUIRE(tags.size() == 4);
    CHECK(std::get<std::string>(tags[0].value) == "c");
    CHECK(std::get<std::int64_t>(tags[1].value) == 42);
    CHECK(std::get<double>(tags[2].value) == 0.5);
    CHECK(std::get<bool>(tags[3].value) == true);
    CHECK(lstrace_current_context().span_id == 0);
}
