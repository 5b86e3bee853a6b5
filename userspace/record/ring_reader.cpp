#include "record/ring_reader.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>

#include "base/errors.hpp"
#include "record/bpf_session.hpp"

namespace lstrace {
namespace {

// Returned by the callback to stop ring_buffer__consume once the drain's
// budget is spent; libbpf passes it back from ring_buffer__consume.
constexpr int kBudgetSpent = -EAGAIN;

}  // namespace

void RingReader::Deleter::operator()(ring_buffer* rb) const noexcept
{
    ring_buffer__free(rb);
}

RingReader::RingReader(int map_fd, Callback callback) : callback_(std::move(callback))
{
    rb_.reset(ring_buffer__new(map_fd, &RingReader::on_record, this, nullptr));
    if (!rb_)
        throw FatalError(ExitCode::bpf,
                         "cannot map the BPF ring buffer: " + libbpf_error_text(-errno));
}

RingReader::~RingReader() = default;

int RingReader::on_record(void* ctx, void* data, std::size_t size)
{
    auto* self = static_cast<RingReader*>(ctx);
    try {
        self->callback_(data, size);
    } catch (...) {
        self->failure_ = std::current_exception();
        return -ECANCELED;  // stops ring_buffer__consume (this record counts as read)
    }
    return --self->budget_ == 0 ? kBudgetSpent : 0;
}

int RingReader::epoll_fd() const
{
    return ring_buffer__epoll_fd(rb_.get());
}

std::size_t RingReader::drain(std::size_t max_records)
{
    budget_ = max_records;
    const int n = ring_buffer__consume(rb_.get());
    if (failure_)
        std::rethrow_exception(std::exchange(failure_, nullptr));
    if (n == kBudgetSpent)
        return max_records;
    if (n < 0)
        throw InternalError("reading the BPF ring buffer failed: " + libbpf_error_text(n));
    return static_cast<std::size_t>(n);
}

}  // namespace lstrace
