#include "unit/record_corpus.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "lstrace/probe_abi.h"

namespace lstrace::testing {

std::uint64_t CorpusRandom::next()
{
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

namespace {

const char* const kWords[] = {
    "agent",
    "llm.generate",
    "memory",
    "tool",
    "orchestrator",
    "Agent.build_prompt",
    "file_read",
    "Generating a reply",
    "benchmark span",
    "retry after 2 s",
    "model",
    "tokens",
    "prompt_tokens",
    "temperature",
    "path=/tmp/notes.txt",
    "x",
    "",
    " ",
    "a b\tc",
    // escapes JSON needs
    "say \"hi\"",
    "C:\\path\\to",
    "line1\nline2\r\n",
    "tab\there",
    "\b\f",
    "nul\0inside",  // a C string: cut at the NUL
    "\x01\x02\x1f\x7f",
    "\x1b[31mred\x1b[0m",
    // UTF-8: 2, 3 and 4 bytes, and the edges of validity
    "caf\xc3\xa9",
    "\xe2\x86\x92"
    " arrow",
    "\xf0\x9f\x98\x80"
    " grin",
    "\xe4\xb8\xad\xe6\x96\x87",
    "\xef\xbf\xbd",
    "\xf4\x8f\xbf\xbf",
    "\xc2\x80",
    "\xed\x9f\xbf",
    "\xee\x80\x80",
    // invalid UTF-8: lone continuation, overlong, surrogate, past U+10FFFF,
    // cut sequences, bytes never valid
    "\x80",
    "bad\xbf"
    "byte",
    "\xc0\xaf",
    "\xc1\xbf",
    "\xe0\x80\xaf",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\xf5\x80\x80\x80",
    "\xf8\x88\x80\x80\x80",
    "\xff\xfe",
    "cut\xe2\x86",
    "cut\xf0\x9f\x98",
    "cut\xc3",
    "\xe2\x28\xa1",
    // what the redactor looks for
    "api_key=sk-abcdefghijklmnopqrstuvwxyz012345",
    "Authorization: Bearer abcdef0123456789",
    "{\"password\": \"hunter2\"}",
    "postgres://user:s3cret@db.example.com/app",
    "--token abc123 --verbose",
    "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
    "AKIAIOSFODNN7EXAMPLE",
    "Cookie: session=abc; theme=dark",
    "max_tokens=256",
    "token_count=12",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
    "db_password = 'pa ss'",
    "X-Api-Key:\tkey-1234567890",
};

const char* const kKeys[] = {
    "i",
    "model",
    "tokens",
    "prompt_tokens",
    "temperature",
    "cached",
    "path",
    "history",
    "api_key",
    "openaiApiKey",
    "GITHUB_TOKEN",
    "token_count",
    "db_password",
    "X-Api-Key",
    // the recorder's own tag names: application values are replaced
    "success",
    "execution_time_category",
    "memory_category",
    "error_type",
    "error_message",
    "error_count",
    "exception_unwinding",
    "aborted",
    "abort_reason",
    // keys that need escaping
    "quote\"key",
    "back\\slash",
    "ctl\x01key",
    "\xc3\xa9"
    "t\xc3\xa9",
    "bad\xff"
    "key",
    "",
};

const char* const kJson[] = {
    "[]",
    "{}",
    "[\"hi\",\"hello\"]",
    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\\n\"}}",
    "[1.5,-2,3e10]",
    "{\"password\":\"hunter2\",\"n\":1}",
    "[\"caf\xc3\xa9\",\"\\u00e9\"]",
};

template <typename T, std::size_t N>
const T& pick(CorpusRandom& rnd, const T (&items)[N])
{
    return items[rnd.below(N)];
}

// A count or byte figure of any magnitude, the extremes included.
std::uint64_t figure(CorpusRandom& rnd)
{
    switch (rnd.below(8)) {
    case 0:
        return 0;
    case 1:
        return rnd.below(10);
    case 2:
        return rnd.below(100000);
    case 3:
        return rnd.below(1ULL << 40);
    case 4:
        return rnd.next();
    case 5:
        return std::numeric_limits<std::uint64_t>::max();
    case 6:
        return 1ULL << 63;
    default:
        return 4096 * rnd.below(1000);
    }
}

// Durations from nothing to days, so every float form appears: "0.0",
// "1e-06", "0.0123", "12.5", "1e+06", "86400000.0".
std::uint64_t duration_ns(CorpusRandom& rnd)
{
    switch (rnd.below(10)) {
    case 0:
        return 0;
    case 1:
        return 1 + rnd.below(999);
    case 2:
        return 1000 * rnd.below(1000);
    case 3:
        return rnd.below(1000000000);
    case 4:
        return rnd.below(100000000000ULL);
    case 5: {
        static const std::uint64_t round[] = {1,         10,         100,           1000,
                                              1000000,   10000000,   1000000000,    1000000000000,
                                              100000000, 1500000000, 86400000000000};
        return pick(rnd, round);
    }
    case 6:
        return rnd.below(1ULL << 50);
    default:
        return rnd.below(50000000);
    }
}

double double_value(CorpusRandom& rnd)
{
    switch (rnd.below(12)) {
    case 0:
        return 0.0;
    case 1:
        return -0.0;
    case 2:
        return std::numeric_limits<double>::quiet_NaN();
    case 3:
        return rnd.chance(50) ? std::numeric_limits<double>::infinity()
                              : -std::numeric_limits<double>::infinity();
    case 4:
        return std::numeric_limits<double>::denorm_min();
    case 5:
        return std::numeric_limits<double>::max();
    case 6:
        return static_cast<double>(rnd.below(1000));
    case 7:
        return 0.1 * static_cast<double>(rnd.below(100));
    case 8:
        return 1e300;
    case 9:
        return -1.5e-300;
    default: {
        double d;
        std::uint64_t bits = rnd.next();
        std::memcpy(&d, &bits, sizeof(d));
        return d;
    }
    }
}

std::int64_t int_value(CorpusRandom& rnd)
{
    switch (rnd.below(6)) {
    case 0:
        return 0;
    case 1:
        return std::numeric_limits<std::int64_t>::min();
    case 2:
        return std::numeric_limits<std::int64_t>::max();
    case 3:
        return -static_cast<std::int64_t>(rnd.below(100000));
    default:
        return static_cast<std::int64_t>(rnd.next());
    }
}

TagValue tag_value(CorpusRandom& rnd)
{
    switch (rnd.below(5)) {
    case 0:
        return corpus_string(rnd);
    case 1:
        return int_value(rnd);
    case 2:
        return double_value(rnd);
    case 3:
        return rnd.chance(50);
    default:
        return JsonText{pick(rnd, kJson)};
    }
}

std::string key(CorpusRandom& rnd)
{
    return rnd.chance(85) ? std::string(pick(rnd, kKeys)) : corpus_string(rnd, 63);
}

std::uint64_t id(CorpusRandom& rnd)
{
    switch (rnd.below(6)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return std::numeric_limits<std::uint64_t>::max();
    default:
        return rnd.next();
    }
}

}  // namespace

std::string corpus_string(CorpusRandom& rnd, std::size_t max_len)
{
    std::string s;
    switch (rnd.below(6)) {
    case 0:
        s = pick(rnd, kWords);
        break;
    case 1: {  // a few words, joined
        const std::size_t n = 1 + rnd.below(5);
        for (std::size_t i = 0; i < n; ++i) {
            if (i)
                s += rnd.chance(70) ? " " : "_";
            s += pick(rnd, kWords);
        }
        break;
    }
    case 2: {  // random bytes, any value
        const std::size_t n = rnd.below(40);
        for (std::size_t i = 0; i < n; ++i)
            s.push_back(static_cast<char>(1 + rnd.below(255)));
        break;
    }
    case 3: {  // cut at the probe's length, maybe inside a UTF-8 sequence
        while (s.size() < max_len)
            s += rnd.chance(50) ? "\xe2\x86\x92" : "lorem ipsum ";
        s.resize(max_len - rnd.below(3));
        break;
    }
    default:
        s = std::string(pick(rnd, kWords)) + std::to_string(rnd.below(1000));
    }
    if (s.size() > max_len)
        s.resize(max_len);
    // fields come from C strings: no NUL inside
    s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
    return s;
}

std::int64_t corpus_offset(std::size_t index)
{
    static const std::int64_t offsets[] = {
        1'764'000'000'000'000'000,  // 2025-11
        0,
        1'700'000'000'123'456'789,
        -1'000'000'000'000,         // before the epoch at the start of the corpus' clocks
        4'102'444'800'000'000'000,  // 2100-01-01
    };
    return offsets[index % (sizeof(offsets) / sizeof(offsets[0]))];
}

SpanRecord corpus_span(std::uint64_t seed, std::size_t index)
{
    CorpusRandom rnd(seed * 1000003 + index);
    SpanRecord s;
    s.tgid = static_cast<std::uint32_t>(rnd.chance(90) ? 1 + rnd.below(4194304) : rnd.next());
    s.tid = rnd.chance(50) ? s.tgid : static_cast<std::uint32_t>(rnd.next());
    if (rnd.chance(30)) {
        s.ns_tgid = static_cast<std::uint32_t>(rnd.below(100));
        s.ns_tid = rnd.chance(50) ? s.ns_tgid : static_cast<std::uint32_t>(rnd.below(1000));
    } else if (rnd.chance(50)) {
        s.ns_tgid = s.tgid;
        s.ns_tid = s.tid;
    }
    s.span_id = id(rnd);
    s.parent_span_id = id(rnd);
    s.trace_id_hi = rnd.chance(20) ? 0 : id(rnd);
    s.trace_id_lo = rnd.chance(20) ? 0 : id(rnd);
    s.begin_ns = rnd.chance(10) ? rnd.below(1000) : rnd.below(1ULL << 62);
    s.end_ns = rnd.chance(5) ? s.begin_ns - std::min<std::uint64_t>(s.begin_ns, rnd.below(100))
                             : s.begin_ns + duration_ns(rnd);
    s.tracer = rnd.chance(20) ? std::string() : corpus_string(rnd, 63);
    s.component = corpus_string(rnd, 63);
    s.operation = corpus_string(rnd, 63);
    s.description = corpus_string(rnd, 127);
    const std::size_t ntags = rnd.chance(20) ? 0 : rnd.below(rnd.chance(10) ? 40 : 6);
    for (std::size_t i = 0; i < ntags; ++i)
        s.tags.push_back(Tag{key(rnd), tag_value(rnd)});
    const std::size_t nerrors = rnd.chance(70) ? 0 : 1 + rnd.below(3);
    for (std::size_t i = 0; i < nerrors; ++i)
        s.errors.push_back(SpanError{corpus_string(rnd, 63), corpus_string(rnd)});
    static const std::uint32_t statuses[] = {LSTRACE_STATUS_OK, LSTRACE_STATUS_OK,
                                             LSTRACE_STATUS_ERROR, LSTRACE_STATUS_EXCEPTION, 7};
    s.status = pick(rnd, statuses);
    for (std::uint32_t bit = 0; bit < 10; ++bit)
        if (rnd.chance(12))
            s.flags |= 1u << bit;
    auto& r = s.resources;
    r.oncpu_ns = rnd.chance(60) ? duration_ns(rnd) : figure(rnd);
    r.vol_ctxsw = figure(rnd);
    r.invol_ctxsw = figure(rnd);
    r.minor_faults = figure(rnd);
    r.major_faults = figure(rnd);
    r.read_bytes = figure(rnd);
    r.write_bytes = figure(rnd);
    r.read_syscalls = figure(rnd);
    r.write_syscalls = figure(rnd);
    r.storage_read_bytes = figure(rnd);
    r.storage_write_bytes = figure(rnd);
    r.rss_bytes = static_cast<std::int64_t>(rnd.chance(50) ? figure(rnd) : -figure(rnd));
    r.io.file_read_bytes = figure(rnd);
    r.io.file_write_bytes = figure(rnd);
    r.io.net_read_bytes = figure(rnd);
    r.io.net_write_bytes = figure(rnd);
    r.io.other_read_bytes = figure(rnd);
    r.io.other_write_bytes = figure(rnd);
    r.io.io_wait_ns = rnd.chance(70) ? duration_ns(rnd) : figure(rnd);
    r.io.files_opened = figure(rnd);
    r.io.fds_closed = figure(rnd);
    r.io.sockets_connected = figure(rnd);
    r.io.sockets_accepted = figure(rnd);
    r.cpu_migrations = figure(rnd);
    s.rss_end_bytes = static_cast<std::int64_t>(figure(rnd));
    s.peak_rss_bytes = rnd.chance(20) ? -1 : static_cast<std::int64_t>(figure(rnd) >> 1);
    s.fds_open = static_cast<std::uint32_t>(rnd.chance(90) ? rnd.below(1000) : rnd.next());
    if (rnd.chance(40)) {
        s.thread_name = corpus_string(rnd, 15);
        if (s.thread_name.empty())
            s.thread_name = "worker";
    }
    s.begin_cpu = static_cast<std::uint32_t>(rnd.below(256));
    s.end_cpu = static_cast<std::uint32_t>(rnd.chance(95) ? rnd.below(256) : rnd.next());
    if (rnd.chance(10)) {
        s.aborted = true;
        static const char* const reasons[] = {"thread exited", "exit status 3",
                                              "killed by signal SIGKILL",
                                              "its span id was begun again", ""};
        s.abort_reason = pick(rnd, reasons);
    }
    s.redactions = rnd.chance(85) ? 0 : static_cast<int>(rnd.below(5)) - 1;
    return s;
}

EventRecord corpus_event(std::uint64_t seed, std::size_t index)
{
    CorpusRandom rnd(seed * 7919 + index + 17);
    EventRecord e;
    static const char* const types[] = {
        "component_init", "state_change",      "config_change",    "error",
        "error_handled",  "error_recovery",    "error_resolution", "data_flow",
        "data_transform", "error_propagation", "process_info",     "process_sample"};
    e.record_type = pick(rnd, types);
    e.tgid = static_cast<std::uint32_t>(1 + rnd.below(4194304));
    e.tid = rnd.chance(20) ? 0 : static_cast<std::uint32_t>(rnd.next());
    e.ts_ns = rnd.below(1ULL << 62);
    e.span_id = id(rnd);
    e.trace_id_hi = rnd.chance(30) ? 0 : id(rnd);
    e.trace_id_lo = rnd.chance(30) ? 0 : id(rnd);
    e.component = rnd.chance(20) ? std::string() : corpus_string(rnd, 63);
    e.description = corpus_string(rnd);
    const std::size_t ntags = rnd.below(8);
    for (std::size_t i = 0; i < ntags; ++i)
        e.tags.push_back(Tag{key(rnd), tag_value(rnd)});
    for (std::uint32_t bit = 0; bit < 8; ++bit)
        if (rnd.chance(10))
            e.flags |= 1u << bit;
    if (rnd.chance(30)) {
        const std::size_t nframes = rnd.below(6);
        for (std::size_t i = 0; i < nframes; ++i) {
            Frame f;
            f.address = rnd.next();
            f.object = rnd.chance(20) ? std::string("[vdso]") : corpus_string(rnd, 80);
            f.file_offset = figure(rnd);
            f.function = rnd.chance(30) ? std::string() : corpus_string(rnd, 80);
            f.function_offset = figure(rnd);
            e.frames.push_back(f);
        }
        if (rnd.chance(40))
            e.stack_note = corpus_string(rnd);
    }
    if (rnd.chance(15))
        e.details_json = pick(rnd, kJson);
    e.redactions = rnd.chance(85) ? 0 : static_cast<int>(rnd.below(4));
    return e;
}

}  // namespace lstrace::testing
