// The probe header's own logic, exercised directly (no recorder needed).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <set>

#include <lstrace/lstrace.hpp>

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
