#include "output/record_writer.hpp"

#include <utility>

#include "base/clock.hpp"
#include "output/text_format.hpp"
#include "output/trace_format.hpp"

namespace lstrace {
namespace {

// Records per hand-over: the queue's lock and the writer's wake-up are paid
// once per batch, not per record.
constexpr std::size_t kBatchRecords = 256;
// Batches waiting for the writer before the consumer waits too (~16k
// records, a few MiB of copies).
constexpr std::size_t kQueuedBatches = 64;

}  // namespace

RecordWriter::RecordWriter(const TracingConfig& config, TraceOutput& output,
                           std::int64_t realtime_offset_ns, bool threaded)
    : config_(config), output_(output), realtime_offset_ns_(realtime_offset_ns)
{
    if (config_.output_format == OutputFormat::json)
        output_.write("[\n", /*record=*/false);
    if (threaded)
        start_thread();
}

void RecordWriter::start_thread()
{
    // (what was given before was written in order: the thread goes on)
    if (thread_.joinable() || closing_)
        return;
    batch_.reserve(kBatchRecords);
    thread_ = std::thread([this] { run(); });
}

RecordWriter::~RecordWriter()
{
    try {
        hand_over();
    } catch (...) {
        // the writer failed; its error was (or will not be) reported by finish()
    }
    stop_thread();
}

void RecordWriter::span(SpanRecord r)
{
    add(Item{Kind::span, std::move(r)});
}

void RecordWriter::event(const EventRecord& r)
{
    add(Item{Kind::event, r});
}

void RecordWriter::process_info(const EventRecord& r)
{
    add(Item{Kind::process_info, r});
}

void RecordWriter::add(Item item)
{
    if (!thread_.joinable()) {
        write_item(item);
        return;
    }
    batch_.push_back(std::move(item));
    if (batch_.size() >= kBatchRecords)
        hand_over();
}

void RecordWriter::hand_over()
{
    if (!thread_.joinable())
        return;
    std::unique_lock lock(mutex_);
    room_.wait(lock, [this] { return queue_.size() < kQueuedBatches || failure_; });
    if (failure_)
        std::rethrow_exception(failure_);
    if (batch_.empty())
        return;
    queue_.push_back(std::exchange(batch_, Batch{}));
    batch_.reserve(kBatchRecords);
    lock.unlock();
    work_.notify_one();
}

void RecordWriter::finish()
{
    hand_over();
    stop_thread();
    if (failure_)
        std::rethrow_exception(failure_);
    if (config_.output_format == OutputFormat::json)
        output_.write(written_ ? "\n]\n" : "]\n", /*record=*/false);
}

void RecordWriter::stop_thread()
{
    if (!thread_.joinable())
        return;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    work_.notify_one();
    thread_.join();
}

void RecordWriter::run()
{
    const ThreadCpuAtExit cpu_at_exit(thread_cpu_ns_);
    for (;;) {
        Batch batch;
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [this] { return !queue_.empty() || closing_; });
            if (queue_.empty())
                return;  // closing, and all of it written
            batch = std::move(queue_.front());
            queue_.pop_front();
        }
        room_.notify_one();
        try {
            for (const Item& item : batch)
                write_item(item);
        } catch (...) {
            std::lock_guard lock(mutex_);
            failure_ = std::current_exception();
            queue_.clear();
            room_.notify_all();
            return;
        }
    }
}

void RecordWriter::write_item(const Item& item)
{
    const bool text = config_.output_format == OutputFormat::text;
    line_.clear();
    record_.clear();
    if (item.kind == Kind::span) {
        const auto& r = std::get<SpanRecord>(item.record);
        if (text)
            append_text_line(line_, r, realtime_offset_ns_);
        else
            format_span_json(record_, r, realtime_offset_ns_, config_.debug_mode);
    } else {
        const auto& r = std::get<EventRecord>(item.record);
        if (text) {
            append_event_text_line(line_, r, realtime_offset_ns_);
            if (item.kind == Kind::process_info)
                line_.insert(line_.size() - 1, " " + r.details_json);
        } else {
            format_event_json(record_, r, realtime_offset_ns_);
        }
    }
    write_line(text ? std::string_view(line_) : record_.view());
}

void RecordWriter::write_line(std::string_view line)
{
    if (config_.output_format == OutputFormat::json) {
        // one array element per line: "[\n" rec ",\n" rec ... "\n]\n"
        if (written_)
            output_.write(",\n");
        output_.write(line.substr(0, line.size() - 1));
    } else if (config_.output_format == OutputFormat::jsonl) {
        output_.write_line(line);  // exactly one line: JSON escapes newlines
    } else {
        output_.write(line);
    }
    ++written_;
    if (config_.flush_interval > 0 &&
        written_ % static_cast<std::uint64_t>(config_.flush_interval) == 0)
        output_.flush();
}

}  // namespace lstrace
