// Formats finished records and writes them to the trace file, in the order
// they are given: on the caller's thread, or on a thread of its own once
// start_thread() was called (the recorder does when its ring consumer falls
// behind).
//
// The recorder's ring consumer is one thread: when it also formats every
// record (about half of its user time) and copies it into the page cache
// (write(2), most of its system time), that thread alone caps the spans
// per second a recording keeps up with.  Threaded, the consumer reads the
// ring, correlates and redacts, and hands copies of the records over in
// batches; the writer thread formats and writes them exactly as the
// consumer did (same bytes, same order, flush_interval counted the same).
// The queue is bounded: a writer that falls behind (a slow disk) holds the
// consumer back, and the ring buffer's loss counters tell, as before.
//
// A write error (a full disk) ends the writer: TraceOutput has kept what
// it could and composed the message; the consumer's next call rethrows it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "config/tracing_config.hpp"
#include "correlate/span_record.hpp"
#include "output/json_buffer.hpp"
#include "output/trace_output.hpp"

namespace lstrace {

class RecordWriter {
public:
    // `threaded`: start_thread() now.  Writes the json format's "[".
    RecordWriter(const TracingConfig& config, TraceOutput& output, std::int64_t realtime_offset_ns,
                 bool threaded);
    // From now on records are formatted and written on a thread of its own
    // (once; until then each call writes before it returns).  Threads cost
    // more CPU in all (records cross cores): worth it only when one thread
    // cannot keep up.
    void start_thread();
    // Writes what it was given (joining the thread); errors are left to
    // finish(), whose caller reports them.
    ~RecordWriter();
    RecordWriter(const RecordWriter&) = delete;
    RecordWriter& operator=(const RecordWriter&) = delete;

    void span(SpanRecord r);
    void event(const EventRecord& r);
    // A process_info record (its text line carries the details JSON).
    void process_info(const EventRecord& r);
    // Threaded: the records given so far go to the writer thread now (the
    // recorder calls it after each ring drain, so a quiet recording's last
    // records do not wait for a batch to fill).
    void hand_over();
    // Everything written, the json format's "]" too; throws the writer's
    // error, if it had one.
    void finish();

    // CPU time the writer thread used, once finish() has joined it (0
    // inline); benchmarks report the pipeline's stages with it.
    std::uint64_t thread_cpu_ns() const noexcept { return thread_cpu_ns_; }

private:
    enum class Kind { span, event, process_info };
    struct Item {
        Kind kind;
        std::variant<SpanRecord, EventRecord> record;
    };
    using Batch = std::vector<Item>;

    void add(Item item);
    void write_item(const Item& item);
    void write_line(std::string_view line);
    void run();
    void stop_thread();

    const TracingConfig& config_;
    TraceOutput& output_;
    std::int64_t realtime_offset_ns_;
    // Used by whichever thread writes (the writer thread when there is one).
    JsonBuffer record_;
    std::string line_;
    std::uint64_t written_ = 0;

    // Threaded only.  The consumer fills batch_; queue_ is shared.
    Batch batch_;
    std::mutex mutex_;
    std::condition_variable work_;  // the writer waits for a batch
    std::condition_variable room_;  // the consumer waits for queue space
    std::deque<Batch> queue_;
    bool closing_ = false;
    std::exception_ptr failure_;       // set when the writer stopped on it
    std::uint64_t thread_cpu_ns_ = 0;  // set by the thread as it ends
    std::thread thread_;
};

}  // namespace lstrace
