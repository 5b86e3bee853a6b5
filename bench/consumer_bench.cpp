// SPDX-License-Identifier: MIT
//
// consumer_bench - the recorder's userspace cost per span, without BPF.
//
// Feeds synthetic ring-buffer events (the bytes BPF would send: a span's
// begin, its tags, its end) through the recorder's own consumer stages,
// the Correlator, the RecordSink (redaction, formatting) and the
// TraceOutput (the buffered file), exactly as `lstrace-bpf record` wires
// them, and times the consumer thread's CPU (user + system,
// CLOCK_THREAD_CPUTIME_ID, and getrusage for the split).  The result is the
// records per second one consumer core sustains: what decides how many
// producers one consumer thread keeps up with (docs/performance.md has the
// model).  No root, no kernel: the figure is the consumer alone, so it
// holds on any machine this runs on.
//
// Each span is span_bench's (`trace_operation("bench", "op", "benchmark
// span")` plus `set_tag("i", i)`), with realistic figures; --tags K gives
// it K tags (int, string, double, bool in turn) and --errors adds one
// recorded error to every tenth span.  Spans are nested --depth deep on
// --threads threads of one process, ending in LIFO order.
//
// Usage: consumer_bench [-n SPANS] [-r RUNS] [-o FILE] [--format jsonl|json|text]
//                       [--tags K] [--errors] [--depth D] [--threads T]
//                       [--no-redact] [--inline]
//
//   -n SPANS   spans per run (default 1,000,000; rounded up to whole
//              chunks of 8192, the events replayed with new ids and times)
//   -r RUNS    runs; the median is reported (default 3)
//   -o FILE    the trace (default: a file in $TMPDIR, removed after each
//              run); "-" writes to standard output
//   --inline   format and write on the consumer thread, as the recorder
//              does until it falls behind; by default the pipeline it then
//              switches to (RecordSink::go_parallel: a record writer thread
//              and a file writer thread)
//
// Prints one JSON line: spans, runs, median and every run's consumer
// thread CPU ns per span (user, system), the record writer thread's and
// the file writer thread's (TraceOutput), the whole process's, the records
// per second the slowest of the threads keeps up with on a core of its
// own, and the bytes per record.  Exit status 0,
// 2 on a usage error.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/cli.hpp"
#include "correlate/correlator.hpp"
#include "lstrace/probe_abi.h"
#include "lstrace_abi.h"
#include "output/record_sink.hpp"
#include "output/trace_output.hpp"

namespace {

struct Options {
    std::uint64_t spans = 1000000;
    int runs = 3;
    std::string output;  // empty: a temporary file
    lstrace::OutputFormat format = lstrace::OutputFormat::jsonl;
    int tags = 1;
    bool errors = false;
    int depth = 1;
    int threads = 1;
    bool redact = true;
    bool parallel = true;  // --inline: format and write on the consumer thread
};

[[noreturn]] void usage(const char* why)
{
    std::fprintf(stderr,
                 "consumer_bench: %s\nusage: consumer_bench [-n SPANS] [-r RUNS] [-o FILE] "
                 "[--format jsonl|json|text] [--tags K] [--errors] [--depth D] [--threads T] "
                 "[--no-redact] [--inline]\n",
                 why);
    std::exit(2);
}

long long number(const char* s, long long min, long long max)
{
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        usage((std::string("bad number '") + s + "'").c_str());
    return v;
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto next = [&]() -> const char* {
            if (i + 1 >= argc)
                usage(("missing value after " + a).c_str());
            return argv[++i];
        };
        if (a == "-n")
            o.spans = static_cast<std::uint64_t>(number(next(), 1, 1LL << 40));
        else if (a == "-r")
            o.runs = static_cast<int>(number(next(), 1, 1000));
        else if (a == "-o")
            o.output = next();
        else if (a == "--format") {
            const auto f = lstrace::parse_output_format(next());
            if (!f)
                usage("--format: jsonl, json or text");
            o.format = *f;
        } else if (a == "--tags")
            o.tags = static_cast<int>(number(next(), 0, 64));
        else if (a == "--errors")
            o.errors = true;
        else if (a == "--depth")
            o.depth = static_cast<int>(number(next(), 1, 64));
        else if (a == "--threads")
            o.threads = static_cast<int>(number(next(), 1, 4096));
        else if (a == "--no-redact")
            o.redact = false;
        else if (a == "--inline")
            o.parallel = false;
        else
            usage(("unknown argument '" + a + "'").c_str());
    }
    return o;
}

template <std::size_t N>
void put(char (&field)[N], const char* s)
{
    std::strncpy(field, s, N - 1);
}

lstrace_event_header header(std::uint16_t type, std::uint32_t tid, std::uint64_t ts,
                            std::uint64_t span_id)
{
    // type, version, flags, tgid, tid, ts_ns, span_id
    return lstrace_event_header{type, LSTRACE_ABI_VERSION, 0, 4242, tid, ts, span_id};
}

// The events of one run, in the order a ring buffer would hold them.
class EventStream {
public:
    explicit EventStream(const Options& o) : o_(o) {}

    template <typename Event>
    void add(const Event& e)
    {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&e);
        offsets_.push_back(bytes_.size());
        bytes_.insert(bytes_.end(), p, p + sizeof(Event));
    }

    // `spans` spans' events; returns the time they take.
    std::uint64_t build(std::uint64_t spans)
    {
        std::uint64_t ts = 1'000'000'000'000;
        std::uint64_t next_id = 0x1000;
        std::uint64_t made = 0;
        while (made < spans) {
            for (int t = 0; t < o_.threads && made < spans; ++t) {
                const std::uint32_t tid = 4242 + static_cast<std::uint32_t>(t);
                const int depth = static_cast<int>(std::min<std::uint64_t>(o_.depth, spans - made));
                std::vector<std::uint64_t> ids;
                for (int d = 0; d < depth; ++d) {
                    ids.push_back(next_id++);
                    begin(tid, ts += 700, ids.back(), d ? ids[d - 1] : 0);
                    for (int k = 0; k < o_.tags; ++k)
                        tag(tid, ts += 200, ids.back(), k, made + d);
                    if (o_.errors && (made + d) % 10 == 0)
                        error(tid, ts += 300, ids.back());
                }
                for (int d = depth - 1; d >= 0; --d)
                    end(tid, ts += 900, ids[d], (made + d) % 10 == 0 && o_.errors);
                made += depth;
            }
        }
        return ts + 1000 - 1'000'000'000'000;
    }

    // The same spans again, later and with new ids (the correlator keys
    // open spans by id, and a replay must not look like a repeated begin).
    void shift(std::uint64_t ids, std::uint64_t ns)
    {
        for (std::size_t off : offsets_) {
            lstrace_event_header h;
            std::memcpy(&h, bytes_.data() + off, sizeof(h));
            h.span_id += ids;
            h.ts_ns += ns;
            std::memcpy(bytes_.data() + off, &h, sizeof(h));
            if (h.type == LSTRACE_EV_SPAN_BEGIN) {
                lstrace_span_begin_event b;
                std::memcpy(&b, bytes_.data() + off, sizeof(b));
                if (b.parent_span_id)
                    b.parent_span_id += ids;
                std::memcpy(bytes_.data() + off, &b, sizeof(b));
            }
        }
    }

    template <typename F>
    void for_each(F&& f) const
    {
        for (std::size_t i = 0; i < offsets_.size(); ++i) {
            const std::size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size();
            f(bytes_.data() + offsets_[i], end - offsets_[i]);
        }
    }

private:
    void begin(std::uint32_t tid, std::uint64_t ts, std::uint64_t id, std::uint64_t parent)
    {
        lstrace_span_begin_event e{};
        e.hdr = header(LSTRACE_EV_SPAN_BEGIN, tid, ts, id);
        e.parent_span_id = parent;
        e.trace_id_hi = 0x0af7651916cd43dd;
        e.trace_id_lo = 0x8448eb211c80319c + tid;
        e.ns_tgid = 4242;
        e.ns_tid = tid;
        put(e.tracer, "span_bench");
        put(e.component, "bench");
        put(e.operation, "op");
        put(e.description, "benchmark span");
        e.cpu = 1;
        add(e);
    }

    void tag(std::uint32_t tid, std::uint64_t ts, std::uint64_t id, int k, std::uint64_t i)
    {
        lstrace_span_tag_event e{};
        e.hdr = header(LSTRACE_EV_SPAN_TAG, tid, ts, id);
        static const char* const keys[] = {"i", "model", "temperature", "cached"};
        const std::string key = k < 4 ? keys[k] : "tag_" + std::to_string(k);
        put(e.key, key.c_str());
        switch (k % 4) {
        case 0:
            e.value_type = LSTRACE_TAG_INT;
            e.num = static_cast<std::int64_t>(i);
            break;
        case 1:
            e.value_type = LSTRACE_TAG_STRING;
            put(e.str, "claude-3-haiku");
            break;
        case 2: {
            e.value_type = LSTRACE_TAG_DOUBLE;
            const double d = 0.7;
            std::memcpy(&e.num, &d, sizeof(d));
            break;
        }
        default:
            e.value_type = LSTRACE_TAG_BOOL;
            e.num = static_cast<std::int64_t>(i & 1);
        }
        add(e);
    }

    void error(std::uint32_t tid, std::uint64_t ts, std::uint64_t id)
    {
        lstrace_span_error_event e{};
        e.hdr = header(LSTRACE_EV_SPAN_ERROR, tid, ts, id);
        put(e.error_type, "RateLimitError");
        put(e.message, "429 Too Many Requests: retry after 2 s");
        add(e);
    }

    void end(std::uint32_t tid, std::uint64_t ts, std::uint64_t id, bool failed)
    {
        lstrace_span_end_event e{};
        e.hdr = header(LSTRACE_EV_SPAN_END, tid, ts, id);
        e.status = failed ? LSTRACE_STATUS_ERROR : LSTRACE_STATUS_OK;
        e.begin_tid = tid;
        e.delta.oncpu_ns = 1234 + (ts % 997);
        e.delta.minor_faults = ts % 3;
        e.delta.read_bytes = 4096;
        e.delta.read_syscalls = 1;
        e.delta.io.file_read_bytes = 4096;
        e.delta.io.io_wait_ns = 35000;
        e.rss_end_bytes = 7 << 20;
        e.peak_rss_bytes = 7 << 20;
        e.fds_open = 5;
        e.cpu = 1;
        add(e);
    }

    const Options& o_;
    std::vector<std::uint8_t> bytes_;
    std::vector<std::size_t> offsets_;
};

double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double tv_ns(const timeval& tv)
{
    return static_cast<double>(tv.tv_sec) * 1e9 + static_cast<double>(tv.tv_usec) * 1e3;
}

double process_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct RunResult {
    double cpu_ns = 0, user_ns = 0, sys_ns = 0;  // the consumer thread
    double process_ns = 0;                       // the consumer and the writer threads
    double format_ns = 0, io_ns = 0;             // the writer threads: records, file
    std::uint64_t records = 0, bytes = 0;
};

// Spans per replayed chunk of events: ~1 KiB of events each, so the
// chunk stays small while the run is as long as asked.
constexpr std::uint64_t kChunkSpans = 8192;

RunResult run_once(const Options& o, EventStream& events, std::uint64_t chunk_ns, int run)
{
    lstrace::RecordOptions ro;
    ro.redact = o.redact;
    ro.config.output_format = o.format;
    ro.output = o.output.empty()
                    ? std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                          "/consumer_bench." + std::to_string(::getpid()) + "." +
                          std::to_string(run) + ".jsonl"
                    : o.output;
    ro.force = true;
    RunResult r;
    {
        auto output = std::make_unique<lstrace::TraceOutput>(ro.output, ro.force, true);
        lstrace::RecordSink sink(ro, output.get(), 0, o.parallel);
        lstrace::Correlator correlator([&](lstrace::SpanRecord& s) { sink.write_span(s); }, nullptr,
                                       [&](lstrace::EventRecord& e) { sink.write_event(e); });
        correlator.set_max_open(static_cast<std::size_t>(ro.config.max_trace_size));
        // Only the consumer is timed, not the replay's patching.
        rusage before{}, after{};
        const double process_start = process_cpu_ns();
        const double thread_start = thread_cpu_ns();
        for (std::uint64_t done = 0; done < o.spans; done += kChunkSpans) {
            const bool last = done + kChunkSpans >= o.spans;
            getrusage(RUSAGE_THREAD, &before);
            const double t0 = thread_cpu_ns();
            events.for_each(
                [&](const void* data, std::size_t size) { correlator.consume(data, size); });
            sink.hand_over();  // as the recorder does after each ring drain
            if (last) {
                sink.finish({});
                output->commit();
            }
            const double t1 = thread_cpu_ns();
            getrusage(RUSAGE_THREAD, &after);
            r.cpu_ns += t1 - t0;
            r.user_ns += tv_ns(after.ru_utime) - tv_ns(before.ru_utime);
            r.sys_ns += tv_ns(after.ru_stime) - tv_ns(before.ru_stime);
            events.shift(kChunkSpans, chunk_ns);
        }
        // the writer thread's CPU and the consumer's timed part (not the
        // replay's patching, done on this thread between the timed parts)
        const double untimed = thread_cpu_ns() - thread_start - r.cpu_ns;
        r.process_ns = process_cpu_ns() - process_start - untimed;
        r.format_ns = static_cast<double>(sink.writer_cpu_ns());
        r.io_ns = static_cast<double>(output->io_cpu_ns());
        r.records = correlator.stats().spans_recorded + correlator.stats().events_recorded;
        if (correlator.stats().spans_recorded != o.spans) {
            std::fprintf(stderr, "consumer_bench: recorded %llu spans of %llu\n",
                         static_cast<unsigned long long>(correlator.stats().spans_recorded),
                         static_cast<unsigned long long>(o.spans));
            std::exit(1);
        }
    }
    if (o.output != "-") {
        if (FILE* f = std::fopen(ro.output.c_str(), "rb")) {
            std::fseek(f, 0, SEEK_END);
            r.bytes = static_cast<std::uint64_t>(std::ftell(f));
            std::fclose(f);
        }
        if (o.output.empty())
            ::unlink(ro.output.c_str());
    }
    return r;
}

}  // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    Options rounded = o;  // whole chunks
    rounded.spans = (o.spans + kChunkSpans - 1) / kChunkSpans * kChunkSpans;
    EventStream events(rounded);
    const std::uint64_t chunk_ns = events.build(kChunkSpans);
    std::vector<RunResult> results;
    for (int i = 0; i < o.runs; ++i)
        results.push_back(run_once(rounded, events, chunk_ns, i));
    std::vector<std::size_t> order(results.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return results[a].cpu_ns < results[b].cpu_ns; });
    const RunResult& m = results[order[order.size() / 2]];
    const double n = static_cast<double>(rounded.spans);
    std::string all;
    for (const RunResult& r : results)
        all += (all.empty() ? "" : ",") + std::to_string(static_cast<long long>(r.cpu_ns / n));
    // The pipeline keeps up with the slowest of its threads.
    const double slowest = std::max({m.cpu_ns, m.format_ns, m.io_ns});
    std::printf("{\"spans\":%llu,\"runs\":%d,\"tags\":%d,\"errors\":%s,\"depth\":%d,\"threads\":%d,"
                "\"redact\":%s,\"parallel\":%s,\"cpu_ns_per_span\":%.1f,\"user_ns_per_span\":%.1f,"
                "\"sys_ns_per_span\":%.1f,\"format_thread_ns_per_span\":%.1f,"
                "\"io_thread_ns_per_span\":%.1f,\"process_cpu_ns_per_span\":%.1f,"
                "\"spans_per_cpu_s\":%.0f,"
                "\"bytes_per_record\":%.1f,\"all_cpu_ns_per_span\":[%s]}\n",
                static_cast<unsigned long long>(rounded.spans), o.runs, o.tags,
                o.errors ? "true" : "false", o.depth, o.threads, o.redact ? "true" : "false",
                o.parallel ? "true" : "false", m.cpu_ns / n, m.user_ns / n, m.sys_ns / n,
                m.format_ns / n, m.io_ns / n, m.process_ns / n, n * 1e9 / slowest,
                m.records ? static_cast<double>(m.bytes) / static_cast<double>(m.records) : 0.0,
                all.c_str());
    return 0;
}
