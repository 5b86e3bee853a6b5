#include "ring_reader.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>

#include "bpf_session.hpp"
#include "errors.hpp"

namespace lstrace {

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
        return -ECANCELED;  // stops ring_buffer__consume
    }
    return 0;
}

int RingReader::epoll_fd() const
{
    return ring_buffer__epoll_fd(rb_.get());
}

std::size_t RingReader::drain()
{
    int n = ring_buffer__consume(rb_.get());
    if (failure_)
        std::rethrow_exception(std::exchange(failure_, nullptr));
    if (n < 0)
        throw FatalError(ExitCode::internal,
                         "reading the BPF ring buffer failed: " + libbpf_error_text(n));
    return static_cast<std::size_t>(n);
}

}  // namespace lstrace
