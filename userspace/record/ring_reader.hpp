// Owns a libbpf ring_buffer reading the `events` map and hands every
// record to a callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

struct ring_buffer;

namespace lstrace {

class RingReader {
public:
    using Callback = std::function<void(const void* data, std::size_t size)>;

    // Throws FatalError(ExitCode::bpf).
    RingReader(int map_fd, Callback callback);
    ~RingReader();
    RingReader(const RingReader&) = delete;
    RingReader& operator=(const RingReader&) = delete;

    // Readable when records are waiting.
    int epoll_fd() const;

    // Consumes the records available now, at most `max_records` (BPF may
    // produce faster than we consume: an unbounded drain would never return
    // to the event loop); returns how many.  An exception thrown by the
    // callback is rethrown here (it must not unwind through libbpf's C
    // frames).
    std::size_t drain(std::size_t max_records = SIZE_MAX);

private:
    static int on_record(void* ctx, void* data, std::size_t size);

    struct Deleter {
        void operator()(ring_buffer* rb) const noexcept;
    };
    Callback callback_;
    std::exception_ptr failure_;
    std::size_t budget_ = 0;  // records left in this drain
    std::unique_ptr<ring_buffer, Deleter> rb_;
};

}  // namespace lstrace
