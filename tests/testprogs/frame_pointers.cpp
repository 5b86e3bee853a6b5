// Built twice, -O2 -g with and without -fomit-frame-pointer, for the
// symbolizer's unit tests: it prints the address of a known function, then
// waits until its standard input closes, so that a test can symbolize the
// address from its /proc/PID/maps (and again after it exited).
//   frame_pointers        -> "ADDRESS\n" (hex), exits when stdin closes
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace lstrace_test {

// Enough functions, each calling the next, that the prologue sample is not
// dominated by the C runtime's startup code.
#define LSTRACE_TEST_STEP(name, next)                       \
    __attribute__((noinline)) long name(long x)             \
    {                                                       \
        volatile long buf[4] = {x, x + 1, x + 2, x + 3};    \
        return next(buf[x & 3] * 3 + 1) + buf[(x + 1) & 3]; \
    }

__attribute__((noinline)) long fp_leaf(long x)
{
    volatile long v = x;
    return v * 7;
}
LSTRACE_TEST_STEP(fp_step_1, fp_leaf)
LSTRACE_TEST_STEP(fp_step_2, fp_step_1)
LSTRACE_TEST_STEP(fp_step_3, fp_step_2)
LSTRACE_TEST_STEP(fp_step_4, fp_step_3)
LSTRACE_TEST_STEP(fp_step_5, fp_step_4)
LSTRACE_TEST_STEP(fp_step_6, fp_step_5)
LSTRACE_TEST_STEP(fp_step_7, fp_step_6)
LSTRACE_TEST_STEP(fp_step_8, fp_step_7)

}  // namespace lstrace_test

int main(int argc, char**)
{
    const long r = lstrace_test::fp_step_8(argc);
    std::printf("%llx\n", static_cast<unsigned long long>(
                              reinterpret_cast<std::uintptr_t>(&lstrace_test::fp_leaf)));
    std::fflush(stdout);
    while (std::getchar() != EOF) {
    }
    return r == 0 ? 1 : 0;
}
