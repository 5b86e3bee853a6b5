// Owns a libbpf ring_buffer reading the `events` map and hands every
// record to a callback.
#pragma once

#include <cstddef>
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

    // Consumes every record available now; returns how many.  An exception
    // thrown by the callback is rethrown here (it must not unwind through
    // libbpf's C frames).
    std::size_t drain();

private:
    static int on_record(void* ctx, void* data, std::size_t size);

    struct Deleter {
        void operator()(ring_buffer* rb) const noexcept;
    };
    Callback callback_;
    std::exception_ptr failure_;
    std::unique_ptr<ring_buffer, Deleter> rb_;
};

}  // namespace lstrace
