// The C++ API's pure helpers: traceparent, __PRETTY_FUNCTION__ parsing and
// data descriptions (no recorder needed).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <lstrace/lstrace.hpp>

TEST_CASE("a context round-trips through a W3C traceparent", "[header]")
{
    lstrace_context raw{0x00f067aa0ba902b7ULL, 0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
    const lstrace::Context ctx(raw);
    CHECK(ctx.traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const auto back = lstrace::Context::from_traceparent(ctx.traceparent());
    REQUIRE(back);
    CHECK(back->raw().span_id == raw.span_id);
    CHECK(back->raw().trace_id_hi == raw.trace_id_hi);
    CHECK(back->raw().trace_id_lo == raw.trace_id_lo);
    CHECK(lstrace::Context().traceparent().empty());
}

TEST_CASE("invalid traceparents are rejected", "[header]")
{
    for (const char* bad :
         {"",
          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",      // no flags
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // upper case
          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace
          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero span
          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
          "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace
          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // trailing junk
          "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"}) {
        INFO(bad);
        CHECK_FALSE(lstrace::Context::from_traceparent(bad));
    }
    // a future version may append fields after a dash
    CHECK(lstrace::Context::from_traceparent(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST_CASE("method names come from __PRETTY_FUNCTION__", "[header]")
{
    using lstrace::method_detail::parse_pretty_function;
    auto m = parse_pretty_function(
        "std::string langswarm::Agent::run(const std::map<int, int>&, int) const");
    CHECK(m.component == "Agent");
    CHECK(m.operation == "Agent.run");
    CHECK(m.description == "Executing Agent.run");
    CHECK(m.args == 2);
    m = parse_pretty_function(
        "void Store<T>::put(T, std::function<void(int, int)>) [with T = int]");
    CHECK(m.component == "Store");
    CHECK(m.operation == "Store.put");
    CHECK(m.args == 2);
    m = parse_pretty_function("int main()");
    CHECK(m.component.empty());
    CHECK(m.operation == "main");
    CHECK(m.args == 0);
    m = parse_pretty_function("void Tool::call(void)");
    CHECK(m.args == 0);
    // lambdas are named after the method they are in (GCC, clang)
    m = parse_pretty_function("ns::Agent::lam()::<lambda(int)>");
    CHECK(m.component == "Agent");
    CHECK(m.operation == "Agent.lam.<lambda>");
    CHECK(m.args == 1);
    m = parse_pretty_function("auto ns::Agent::lam()::(anonymous class)::operator()(int) const");
    CHECK(m.component == "Agent");
    CHECK(m.operation == "Agent.lam.<lambda>");
    CHECK(m.args == 1);
    // operators are names of their own
    m = parse_pretty_function("ns::Agent::operator bool() const");
    CHECK(m.component == "Agent");
    CHECK(m.operation == "Agent.operator bool");
    m = parse_pretty_function("std::vector<int> ns::Agent::operator<(const ns::Agent&) const");
    CHECK(m.component == "Agent");
    CHECK(m.operation == "Agent.operator<");
    CHECK(m.args == 1);
    m = parse_pretty_function("int ns::Agent::operator()(int, int)");
    CHECK(m.operation == "Agent.operator()");
    CHECK(m.args == 2);
    m = parse_pretty_function("void ns::Outer<int>::Inner::f(int)");
    CHECK(m.component == "Inner");
}

TEST_CASE("data descriptions follow the standard's metadata", "[header]")
{
    const auto s = lstrace::describe(std::string("h\xc3\xa9llo"));
    CHECK(s.type == "str");
    CHECK(s.size_bytes == 6);
    CHECK(s.length == 5);  // characters, not bytes
    CHECK(s.fingerprint == lstrace_fingerprint("h\xc3\xa9llo", 6));

    const std::map<std::string, int> m = {{"b", 2}, {"a", 1}};
    const auto d = lstrace::describe(m);
    CHECK(d.type == "dict");
    CHECK(d.length == 2);
    CHECK(d.keys == "a,b");
    CHECK(d.preview == "{\"a\": 1, \"b\": 2}");
    CHECK(d.size_bytes == 16);
    // the same mapping, unordered: the same fingerprint
    const std::unordered_map<std::string, int> u = {{"a", 1}, {"b", 2}};
    CHECK(lstrace::describe(u).fingerprint == d.fingerprint);

    std::map<std::string, int> big;
    for (int i = 0; i < 12; ++i)
        big["k" + std::to_string(i)] = i;
    CHECK(lstrace::describe(big).keys == "12 keys");

    const auto l = lstrace::describe(std::vector<std::string>{"a\"b", "c"});
    CHECK(l.type == "list");
    CHECK(l.length == 2);
    CHECK(l.preview == "[\"a\\\"b\", \"c\"]");

    const std::string long_text = std::string(99, 'x') + "\xc3\xa9\xc3\xa9";
    CHECK(lstrace::describe(long_text).preview == std::string(99, 'x') + "\xc3\xa9");
    CHECK(lstrace::describe(42).type == "int");
    CHECK(lstrace::describe(true).type == "bool");
    CHECK(lstrace::describe(0.5).type == "float");
    // numbers as Python's json.dumps writes them; a null C string is ""
    CHECK(lstrace::describe(std::vector<double>{0.1, 1e300}).preview == "[0.1, 1e+300]");
    CHECK(lstrace::describe(static_cast<const char*>(nullptr)).size_bytes == 0);
    // a preview never exceeds what the probe carries, nor cuts a character
    const std::string wide = [] {
        std::string w;
        for (int i = 0; i < 100; ++i)
            w += "\xe4\xb8\xad";  // 3 bytes each
        return w;
    }();
    const auto wd = lstrace::describe(wide);
    CHECK(wd.preview.size() == 255);  // 85 whole characters
    CHECK(wd.length == 100);
}

TEST_CASE("detached, the event API sends nothing and returns no error id", "[header]")
{
    CHECK(lstrace::trace_error({"E", "m", "", "", "", {}}) == 0);
    lstrace::ComponentTracer("c").trace_state_change("a", "b");
    lstrace::data_input(std::string("x"));
    lstrace::Context ctx = lstrace::Context::current();
    CHECK_FALSE(ctx.valid());
    lstrace::ContextScope scope(ctx);  // invalid: changes nothing
    CHECK(lstrace_current_context().span_id == 0);
}
