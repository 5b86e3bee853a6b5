// Symbolizing user addresses and the frame-pointer heuristic, on this test
// process and on tests/testprogs/frame_pointers.cpp built with and without
// frame pointers.  No root needed.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "symbols/elf_symbols.hpp"
#include "symbols/symbolizer.hpp"

using namespace lstrace;

namespace symbolizer_test {

__attribute__((noinline)) int known_function(int x)
{
    volatile int v = x;
    return v * 3 + 1;
}

}  // namespace symbolizer_test

namespace {

std::string real_path(const char* path)
{
    char buf[PATH_MAX];
    return ::realpath(path, buf) ? std::string(buf) : std::string(path);
}

std::uint64_t address_of(const void* p)
{
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

// A frame_pointers test program, running until destroyed (its stdin closes).
struct Program {
    pid_t pid = -1;
    int to_child = -1;
    std::uint64_t leaf_address = 0;

    explicit Program(const char* path)
    {
        int in[2], out[2];
        REQUIRE(::pipe(in) == 0);
        REQUIRE(::pipe(out) == 0);
        pid = ::fork();
        if (pid == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[1]);
            ::close(out[0]);
            ::execl(path, path, static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        to_child = in[1];
        std::string line;
        char c;
        while (::read(out[0], &c, 1) == 1 && c != '\n')
            line += c;
        ::close(out[0]);
        leaf_address = std::strtoull(line.c_str(), nullptr, 16);
        REQUIRE(leaf_address != 0);
    }
    void finish()
    {
        if (pid <= 0)
            return;
        ::close(to_child);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -pid;  // remembered for after-exit checks, never waited again
    }
    ~Program() { finish(); }
};

}  // namespace

TEST_CASE("demangling", "[symbolizer]")
{
    CHECK(demangle("_ZN12lstrace_test7fp_leafEl") == "lstrace_test::fp_leaf(long)");
    CHECK(demangle("main") == "main");
    CHECK(demangle("_Znot_valid") == "_Znot_valid");
}

TEST_CASE("an address of this process: its function and object", "[symbolizer]")
{
    Symbolizer s;
    const int self = static_cast<int>(::getpid());
    const std::uint64_t fn =
        address_of(reinterpret_cast<const void*>(&symbolizer_test::known_function));
    const Frame f = s.symbolize(self, fn + 5);
    INFO(to_string(f));
    CHECK(f.address == fn + 5);
    CHECK(f.function == "symbolizer_test::known_function(int)");
    CHECK(f.function_offset == 5);
    CHECK(f.object == real_path("/proc/self/exe"));
    CHECK(f.file_offset > 0);
    CHECK(to_string(f) == "symbolizer_test::known_function(int)+0x5 (" + f.object + ")");

    // return addresses (all frames but the first) are looked up one byte
    // earlier: the start of a function is the end of the one before
    const auto stack = s.symbolize_stack(self, {fn + 5, fn + 1});
    REQUIRE(stack.size() == 2);
    CHECK(stack[1].address == fn + 1);
    CHECK(stack[1].function == "symbolizer_test::known_function(int)");
    CHECK(stack[1].function_offset == 1);

    // libc, through its own symbol table
    const Frame libc = s.symbolize(self, address_of(reinterpret_cast<const void*>(&::getpid)));
    INFO(to_string(libc));
    CHECK(libc.object.find("libc.so") != std::string::npos);
    CHECK(libc.function.find("getpid") != std::string::npos);
}

TEST_CASE("addresses outside any file: anonymous memory and nowhere", "[symbolizer]")
{
    Symbolizer s;
    const int self = static_cast<int>(::getpid());
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    const Frame anon = s.symbolize(self, address_of(page) + 8);
    ::munmap(page, 4096);
    CHECK(anon.object.empty());
    CHECK(anon.function.empty());
    CHECK(anon.file_offset == 0);
    const Frame nowhere = s.symbolize(self, 0x10);
    CHECK(nowhere.object.empty());
    CHECK(nowhere.function.empty());
    CHECK(to_string(nowhere) == "0x10 ([anon])");
}

TEST_CASE("a library loaded after the first look is found (maps read again)", "[symbolizer]")
{
    Symbolizer s;
    const int self = static_cast<int>(::getpid());
    REQUIRE(s.snapshot(self));
    void* lib = ::dlopen(PROBES_LIB, RTLD_NOW | RTLD_LOCAL);
    REQUIRE(lib);
    void* fn = ::dlsym(lib, "probes_lib_span");
    REQUIRE(fn);
    const Frame f = s.symbolize(self, address_of(fn) + 2);
    ::dlclose(lib);
    INFO(to_string(f));
    CHECK(f.object == real_path(PROBES_LIB));
    CHECK(f.function == "probes_lib_span");
    CHECK(f.function_offset == 2);
}

TEST_CASE("another process, before and after it exits", "[symbolizer]")
{
    Symbolizer s;
    Program p(WITH_FP_BIN);
    const int pid = p.pid;
    REQUIRE(s.snapshot(pid));
    const Frame live = s.symbolize(pid, p.leaf_address);
    INFO(to_string(live));
    CHECK(live.function == "lstrace_test::fp_leaf(long)");
    CHECK(live.function_offset == 0);
    CHECK(live.object == real_path(WITH_FP_BIN));

    p.finish();
    REQUIRE(::kill(pid, 0) != 0);  // gone and reaped
    const Frame after = s.symbolize(pid, p.leaf_address + 3);
    CHECK(after.function == "lstrace_test::fp_leaf(long)");
    CHECK(after.function_offset == 3);

    Symbolizer late;  // never saw it while it ran
    CHECK_FALSE(late.snapshot(pid));
    const Frame unknown = late.symbolize(pid, p.leaf_address);
    CHECK(unknown.object.empty());
    CHECK(unknown.function.empty());
}

TEST_CASE("the frame-pointer heuristic tells the two builds apart", "[symbolizer]")
{
    const auto with = check_frame_pointers(WITH_FP_BIN);
    const auto without = check_frame_pointers(WITHOUT_FP_BIN);
    REQUIRE(with.ok());
    REQUIRE(without.ok());
    INFO("with: " << with->with_frame_pointer << "/" << with->functions_checked << ", without: "
                  << without->with_frame_pointer << "/" << without->functions_checked);
    CHECK(with->functions_checked >= 10);
    CHECK(without->functions_checked >= 10);
    CHECK(with->fraction() >= 0.9);
    CHECK(without->fraction() <= 0.1);
    CHECK(with->likely_has_frame_pointers());
    CHECK_FALSE(without->likely_has_frame_pointers());

    // the Symbolizer gives the same answer, cached with the symbols
    Symbolizer s;
    const FramePointerReport* cached = s.frame_pointers(real_path(WITHOUT_FP_BIN));
    REQUIRE(cached);
    CHECK(cached->functions_checked == without->functions_checked);
    CHECK(s.frame_pointers("/nonexistent/object") == nullptr);
    CHECK_FALSE(check_frame_pointers("/nonexistent/object").ok());
    CHECK_FALSE(check_frame_pointers("/proc/self/status").ok());  // not ELF
}

TEST_CASE("a stripped object's symbols come from .dynsym", "[symbolizer]")
{
    const auto exe = ElfSymbols::load(real_path("/proc/self/exe"));
    REQUIRE(exe.ok());
    CHECK(exe->symbol_table() == ".symtab");
    CHECK_FALSE(exe->functions().empty());
    std::uint64_t vaddr = 0;
    CHECK_FALSE(exe->file_offset_to_address(~0ull, vaddr));

    // Debian's libc ships without .symtab
    Dl_info info{};
    REQUIRE(::dladdr(reinterpret_cast<const void*>(&::getpid), &info) != 0);
    const auto libc = ElfSymbols::load(real_path(info.dli_fname));
    REQUIRE(libc.ok());
    INFO(info.dli_fname << ": " << libc->symbol_table() << ", frame pointers in "
                        << libc->frame_pointers().with_frame_pointer << "/"
                        << libc->frame_pointers().functions_checked);
    CHECK((libc->symbol_table() == ".dynsym" || libc->symbol_table() == ".symtab"));
    CHECK(libc->functions().size() > 100);
}
