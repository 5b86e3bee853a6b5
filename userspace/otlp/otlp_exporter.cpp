#include "otlp/otlp_exporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace lstrace::otlp {

Exporter::Exporter(const Config& config, MappingSettings settings,
                   std::unique_ptr<Transport> transport, WhenFull when_full)
    : config_(config),
      mapper_(std::move(settings)),
      transport_(std::move(transport)),
      destination_(transport_->describe()),
      when_full_(when_full)
{}

void Exporter::start()
{
    if (!worker_.joinable())
        worker_ = std::thread([this] { run(); });
}

Exporter::~Exporter()
{
    if (!worker_.joinable())
        return;
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
        stop_deadline_ = Clock::now();
    }
    abort_ = true;
    work_cv_.notify_all();
    space_cv_.notify_all();
    worker_.join();
}

void Exporter::offer_line(std::string line, bool is_span)
{
    offer(Item{std::move(line), {}, is_span});
}

void Exporter::offer_record(nlohmann::json record, bool is_span)
{
    offer(Item{{}, std::move(record), is_span});
}

void Exporter::offer(Item item)
{
    std::unique_lock<std::mutex> lk(mu_);
    std::size_t& queued = item.is_span ? queued_spans_ : queued_events_;
    if (item.is_span)
        offered_.fetch_add(1, std::memory_order_relaxed);
    if (queued >= config_.max_queue_size) {
        if (when_full_ == WhenFull::wait)
            space_cv_.wait(lk, [&] { return queued < config_.max_queue_size || stopping_; });
        if (queued >= config_.max_queue_size || stopping_) {
            (item.is_span ? dropped_ : events_dropped_).fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    ++queued;
    const bool batch_full = item.is_span && queued_spans_ % config_.max_batch_size == 0;
    queue_.push_back(std::move(item));
    lk.unlock();
    if (batch_full)
        work_cv_.notify_one();
}

void Exporter::pause(Clock::time_point until)
{
    std::unique_lock<std::mutex> lk(mu_);
    // finish() may move the deadline before `until`: it notifies, and the
    // end is worked out again.
    while (!abort_) {
        const Clock::time_point end = stopping_ ? std::min(until, stop_deadline_) : until;
        if (Clock::now() >= end)
            return;
        work_cv_.wait_until(lk, end);
    }
}

void Exporter::send_batch()
{
    const std::size_t spans = mapper_.batched_spans();
    if (spans == 0)
        return;
    const pb_collector::ExportTraceServiceRequest request = mapper_.take_request();
    auto backoff = std::chrono::milliseconds(500);
    for (int attempt = 1;; ++attempt) {
        Clock::time_point deadline = Clock::now() + config_.timeout;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stopping_)
                deadline = std::min(deadline, stop_deadline_);
        }
        if (abort_ || Clock::now() >= deadline) {
            (attempt == 1 ? dropped_ : failed_) += spans;  // out of time before or while retrying
            return;
        }
        requests_.fetch_add(1, std::memory_order_relaxed);
        SendOutcome out;
        try {
            out = transport_->send(request, deadline, abort_);
        } catch (const std::exception& e) {  // encoding or compression: the batch cannot go
            out.kind = SendOutcome::rejected;
            out.message = e.what();
        }
        if (out.kind == SendOutcome::accepted) {
            const std::uint64_t rejected = std::min<std::uint64_t>(
                spans, static_cast<std::uint64_t>(std::max<std::int64_t>(0, out.rejected_spans)));
            sent_ += spans - rejected;
            failed_ += rejected;
            if (rejected && !warned_partial_) {
                warned_partial_ = true;
                spdlog::warn("OTLP receiver {} rejected {} of {} spans: {}", destination_, rejected,
                             spans, out.message);
            }
            return;
        }
        if (out.kind == SendOutcome::rejected) {
            failed_ += spans;
            if (!warned_rejected_) {
                warned_rejected_ = true;
                spdlog::warn("OTLP receiver {} refused a request ({}); its {} spans are counted "
                             "failed, not retried (further refusals are only counted)",
                             destination_, out.message, spans);
            }
            return;
        }
        if (!warned_unreachable_) {
            warned_unreachable_ = true;
            spdlog::warn("OTLP receiver {}: {}; retrying (the recording goes on; spans that "
                         "cannot be sent are counted in the summary)",
                         destination_, out.message);
        }
        if (attempt >= kMaxAttempts) {
            failed_ += spans;
            if (!warned_gave_up_) {
                warned_gave_up_ = true;
                spdlog::warn("OTLP receiver {}: gave up on {} spans after {} attempts ({})",
                             destination_, spans, attempt, out.message);
            }
            return;
        }
        const auto wait = out.retry_after.count() >= 0 ? out.retry_after : backoff;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(16000));
        pause(Clock::now() + wait);
    }
}

void Exporter::run()
{
    Clock::time_point batch_started{};
    std::vector<Item> taken;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        const auto until = mapper_.batched_spans() ? batch_started + config_.schedule_delay
                                                   : Clock::now() + config_.schedule_delay;
        work_cv_.wait_until(lk, until, [&] {
            return stopping_ || queued_spans_ >= config_.max_batch_size ||
                   (mapper_.batched_spans() && Clock::now() >= until);
        });
        if (abort_ || (stopping_ && Clock::now() >= stop_deadline_))
            break;
        // At most a batch of spans (and the events before them) at a time:
        // the queue's bound is the bound on what waits.
        std::size_t spans = 0;
        while (!queue_.empty() && spans < config_.max_batch_size) {
            Item& item = queue_.front();
            if (item.is_span) {
                ++spans;
                --queued_spans_;
            } else {
                --queued_events_;
            }
            taken.push_back(std::move(item));
            queue_.pop_front();
        }
        const bool stopping = stopping_;
        const bool drained = queue_.empty();
        lk.unlock();
        space_cv_.notify_all();

        for (Item& item : taken) {
            if (!item.line.empty()) {
                item.record = nlohmann::json::parse(item.line, nullptr, false);
                if (item.record.is_discarded()) {
                    if (item.is_span)
                        dropped_.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
            }
            if (mapper_.batched_spans() == 0)
                batch_started = Clock::now();
            SpanMapper::Kind kind;
            try {
                kind = mapper_.add(item.record);
            } catch (const std::exception& e) {  // a record of an unexpected shape
                spdlog::debug("OTLP: record not mapped: {}", e.what());
                if (item.is_span)
                    dropped_.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            if (kind == SpanMapper::Kind::span && mapper_.batched_spans() >= config_.max_batch_size)
                send_batch();
        }
        taken.clear();
        if (mapper_.batched_spans() &&
            ((stopping && drained) || Clock::now() >= batch_started + config_.schedule_delay))
            send_batch();
        lk.lock();
        if (stopping_ && queue_.empty() && mapper_.batched_spans() == 0)
            break;
    }
    // Out of time (or aborted): what never went out is dropped.
    dropped_ += queued_spans_ + mapper_.batched_spans();
    events_dropped_ += queued_events_;
    queue_.clear();
    queued_spans_ = queued_events_ = 0;
    mapper_.finish();
    mapping_counts_ = mapper_.counts();
    lk.unlock();
    space_cv_.notify_all();
}

void Exporter::finish()
{
    if (finished_)
        return;
    finished_ = true;
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
        stop_deadline_ = Clock::now() + config_.timeout;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    start();
    worker_.join();
}

ExportCounts Exporter::counts() const
{
    ExportCounts c;
    c.offered = offered_;
    c.sent = sent_;
    c.failed = failed_;
    c.dropped = dropped_;
    c.events_dropped = events_dropped_;
    c.requests = requests_;
    std::lock_guard<std::mutex> lk(mu_);
    c.mapping = mapping_counts_;
    return c;
}

std::string Exporter::summary() const
{
    const ExportCounts c = counts();
    return "OTLP to " + destination_ + ": " + std::to_string(c.sent) + " sent, " +
           std::to_string(c.failed) + " failed, " + std::to_string(c.dropped) + " dropped";
}

}  // namespace lstrace::otlp
