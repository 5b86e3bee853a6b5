#include "base/hex_id.hpp"

namespace lstrace {

char* write_hex_id(char* out, std::uint64_t id)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, id >>= 4)
        out[i] = kDigits[id & 0xF];
    return out + 16;
}

std::string hex_id(std::uint64_t id)
{
    char buf[16];
    write_hex_id(buf, id);
    return std::string(buf, sizeof(buf));
}

std::string hex_trace_id(std::uint64_t hi, std::uint64_t lo)
{
    char buf[32];
    write_hex_id(buf, hi);
    write_hex_id(buf + 16, lo);
    return std::string(buf, sizeof(buf));
}

}  // namespace lstrace
