// The OTLP exporter: a bounded queue of trace records, and a worker thread
// that maps them (SpanMapper), batches them (by size and by time) and sends
// them (Transport), retrying with exponential backoff.
//
// Design: the recorder's ring-buffer consumer must never wait for the
// network.  It only appends a record's JSON line to the queue under a
// mutex the worker holds just long enough to take a batch; parsing,
// mapping, encoding, compression and HTTP all happen on the worker.  When
// the queue is full (the collector is slow, down or hanging) the record is
// dropped and counted: the local trace file, if any, still has it.
// `export` offers with `wait` instead: reading a file can wait.
//
// Every span offered ends in exactly one count:
//   sent    - the receiver accepted it (2xx; less the spans a partial
//             success says it rejected)
//   failed  - it was in a request that was refused (a non-retryable
//             status, a partial-success rejection), whose retries ran out,
//             or that was still being retried when the time to flush ran out
//   dropped - it never went out: the queue was full, or it was still
//             queued when the time to flush ran out
// so sent + failed + dropped = spans offered (= spans recorded).
//
// Retries: 429, 502, 503, 504 and transport errors (refused, not
// resolved, timed out), at most kMaxAttempts per request, waiting
// Retry-After when the receiver gives one, else 0.5 s doubling to 16 s.
// At finish() the worker gets Config::timeout more to send what is left.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "otlp/otlp_config.hpp"
#include "otlp/otlp_http.hpp"
#include "otlp/otlp_mapping.hpp"
#include "output/record_sink.hpp"

namespace lstrace::otlp {

struct ExportCounts {
    std::uint64_t offered = 0;
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    std::uint64_t dropped = 0;
    std::uint64_t events_dropped = 0;  // queue full
    std::uint64_t requests = 0;        // HTTP requests made, retries included
    MappingCounts mapping;
};

class Exporter final : public RecordTap {
public:
    enum class WhenFull { drop, wait };
    Exporter(const Config& config, MappingSettings settings, std::unique_ptr<Transport> transport,
             WhenFull when_full);
    // Starts the worker thread.  Records offered before wait in the queue.
    // The recorder starts it after dropping its capabilities, which are
    // per thread: a thread made before would keep them.
    void start();
    // Stops the worker at once (without finish(): an error path).
    ~Exporter() override;
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // A record's JSON line (record sink), parsed on the worker.
    void offer_line(std::string line, bool is_span) override;
    // A parsed record (export).
    void offer_record(nlohmann::json record, bool is_span);

    // Sends what is left (for at most Config::timeout), stops the worker
    // (starting it first if need be).
    // Counts are final afterwards.
    void finish();
    ExportCounts counts() const;
    std::string destination() const { return destination_; }
    // "OTLP to URL: 59 sent, 0 failed, 0 dropped"
    std::string summary() const;

private:
    struct Item {
        std::string line;       // or
        nlohmann::json record;  // when line is empty
        bool is_span = false;
    };
    void offer(Item item);
    void run();
    void send_batch();
    // Waits until `until`, or less when finish's deadline or the abort comes first.
    void pause(Clock::time_point until);

    static constexpr int kMaxAttempts = 6;

    Config config_;
    SpanMapper mapper_;  // worker only
    std::unique_ptr<Transport> transport_;
    std::string destination_;
    WhenFull when_full_;

    mutable std::mutex mu_;
    std::condition_variable work_cv_;   // worker: a batch is full, or stop
    std::condition_variable space_cv_;  // offer (wait mode): room in the queue
    std::deque<Item> queue_;
    std::size_t queued_spans_ = 0;
    std::size_t queued_events_ = 0;
    bool stopping_ = false;
    bool finished_ = false;  // finish() ran (caller's thread only)
    Clock::time_point stop_deadline_{};
    std::atomic<bool> abort_{false};

    std::atomic<std::uint64_t> offered_{0}, sent_{0}, failed_{0}, dropped_{0}, events_dropped_{0},
        requests_{0};
    MappingCounts mapping_counts_;  // copied from the worker's mapper when it ends
    bool warned_rejected_ = false, warned_unreachable_ = false, warned_gave_up_ = false,
         warned_partial_ = false;
    std::thread worker_;  // last: joined before the members it uses go
};

}  // namespace lstrace::otlp
