// User-space addresses of a traced process -> frames (object, function).
//
// An address is found in the process's memory map (/proc/PID/maps, read by
// base/proc_files), which gives the mapped file and the file offset; the
// file's PT_LOAD segments turn that into the link-time address its symbol
// table uses (ElfSymbols), and C++ names are demangled.
//
// Caches: each object file is parsed once (by path) whatever the number of
// processes mapping it; each pid's map is read once and read again only when
// an address falls outside it (a library dlopen'ed since).  A stack taken
// just before the process exited is symbolized after it has gone if its map
// was cached while it ran: call snapshot(pid) at attach, and again whenever
// it may have loaded libraries if it can exit abruptly.
//
// Objects are opened through /proc/PID/root while the process lives, so a
// process in another mount namespace (a container) is symbolized from its
// own files.  Known limit: the object cache is keyed by path, so two
// different files with one path in two containers share an entry.
// Not thread-safe: one per consumer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/proc_files.hpp"
#include "symbols/elf_symbols.hpp"
#include "symbols/stack_frame.hpp"

namespace lstrace {

// "_ZN3foo3barEi" -> "foo::bar(int)"; other names unchanged.
std::string demangle(const std::string& name);

// "function+0x1a (object)" or "0xADDR (object)" for logs and text output.
std::string to_string(const Frame& frame);

class Symbolizer {
public:
    // Reads and caches the memory map of `pid` now; false if it cannot be
    // read (gone, or no access).
    bool snapshot(int pid);
    // Drops the cached map of `pid` (after it exited and its stacks are done).
    void forget(int pid);

    // One address.  Unknown parts stay empty; never fails.
    Frame symbolize(int pid, std::uint64_t address);

    // A user stack as bpf_get_stack returns it, innermost first.  Every
    // frame but the first holds a return address, just after its call
    // instruction, which may be the first byte of the next function: those
    // are looked up at address - 1.  Frames keep the original addresses.
    std::vector<Frame> symbolize_stack(int pid, const std::vector<std::uint64_t>& addresses);

    // The frame-pointer report of an object (as a Frame's `object` names
    // it), cached with its symbols; nullptr if it cannot be read.
    const FramePointerReport* frame_pointers(const std::string& object, int pid = 0);

private:
    const MapEntry* find_mapping(int pid, std::uint64_t address);
    const ElfSymbols* symbols(const std::string& object, int pid);
    Frame lookup(int pid, std::uint64_t address, std::uint64_t lookup_address);

    std::unordered_map<int, std::vector<MapEntry>> maps_;
    // nullptr: the object could not be read (not tried again)
    std::unordered_map<std::string, std::unique_ptr<ElfSymbols>> objects_;
};

}  // namespace lstrace
