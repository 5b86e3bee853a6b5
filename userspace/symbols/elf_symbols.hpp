// The function symbols of one ELF object, for symbolizing user stacks, and
// whether its code keeps frame pointers.
//
// Symbols come from .symtab (every function, static ones included) or, in
// a stripped object, from .dynsym (exported functions only).  Separate
// debug files (/usr/lib/debug/.build-id) are not read.
//
// Frame pointers matter because the kernel unwinds user stacks
// (bpf_get_stack with BPF_F_USER_STACK) by following %rbp only: in code
// built with -fomit-frame-pointer (gcc's default at -O1 and above) %rbp is
// an ordinary register, so the unwinder stops after the first frame or
// two, or wanders off.  Whether an object keeps them is read from its
// functions' first instructions: with frame pointers every function begins
//     push %rbp          55
// (after an endbr64, f3 0f 1e fa, under -fcf-protection) followed, within
// its first 32 bytes, by
//     mov %rsp,%rbp      48 89 e5
// (gcc -O2 schedules other instructions in between).  Without them a
// function may push %rbp as a saved register, but never copies %rsp into
// it right away.  The report is the
// fraction of a sample of .text functions that do; the C runtime's own
// startup functions, built without, are left out.  x86-64 only: elsewhere
// nothing is checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace lstrace {

struct FunctionSymbol {
    std::uint64_t address = 0;  // link-time virtual address
    std::uint64_t size = 0;     // 0 when the symbol does not say
    std::string name;           // as in the symbol table (mangled)
};

struct FramePointerReport {
    std::size_t functions_checked = 0;
    std::size_t with_frame_pointer = 0;

    double fraction() const
    {
        return functions_checked ? static_cast<double>(with_frame_pointer) /
                                       static_cast<double>(functions_checked)
                                 : 0.0;
    }
    // Most sampled functions keep %rbp (hand-written assembly and a few
    // compiler-generated stubs never do, so not all).  False when nothing
    // could be checked.
    bool likely_has_frame_pointers() const { return functions_checked > 0 && fraction() >= 0.5; }
};

class ElfSymbols {
public:
    // Reads the symbols, load segments and frame-pointer sample of `path`.
    static Result<ElfSymbols> load(const std::string& path);

    // The link-time virtual address at `file_offset` (through the PT_LOAD
    // segment that maps it); false if no segment maps it.
    bool file_offset_to_address(std::uint64_t file_offset, std::uint64_t& address) const;

    // The function whose code contains `address`, or nullptr.
    const FunctionSymbol* find(std::uint64_t address) const;

    const std::vector<FunctionSymbol>& functions() const
    {
        return functions_;
    }                                                           // sorted by address
    const std::string& symbol_table() const { return table_; }  // ".symtab", ".dynsym" or ""
    const FramePointerReport& frame_pointers() const { return frame_pointers_; }

private:
    struct Segment {
        std::uint64_t offset, file_size, vaddr;
    };
    std::vector<Segment> segments_;
    std::vector<FunctionSymbol> functions_;
    std::string table_;
    FramePointerReport frame_pointers_;
};

// The report for the object at `path`, loading it (the Symbolizer caches it).
Result<FramePointerReport> check_frame_pointers(const std::string& path);

}  // namespace lstrace
