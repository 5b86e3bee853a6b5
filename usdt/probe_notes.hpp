// Reading the USDT probes an ELF file declares (.note.stapsdt), the way
// `readelf -n` shows them.  Used to check that a target carries langswarm
// probes before anything is loaded, and to list what it has otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace lstrace::usdt {

inline constexpr const char* kProvider = "langswarm";

// The probes a target must have (docs/probes.md), by name; the recorder
// attaches them in this order, the recording gate last.
inline constexpr const char* kProbeSpanEnd = "span_end";
inline constexpr const char* kProbeSpanTag = "span_tag";
inline constexpr const char* kProbeSpanError = "span_error";
inline constexpr const char* kProbeSpanBegin = "span_begin";
inline constexpr const char* kProbeRecording = "recording";
inline constexpr const char* kRequiredProbes[] = {kProbeSpanEnd, kProbeSpanTag, kProbeSpanError,
                                                  kProbeSpanBegin, kProbeRecording};

struct ProbeNote {
    std::string provider;
    std::string name;
    std::string arguments;                    // e.g. "-8@%rax 8@%rdx"
    std::uint64_t pc = 0;                     // link-time address of the probe's nop
    std::uint64_t pc_file_offset = 0;         // where that nop is in the file (0 if unknown)
    std::uint64_t semaphore = 0;              // link-time address of its semaphore, 0 if none
    std::uint64_t semaphore_file_offset = 0;  // where the semaphore is in the file (0 if none)
};

// All probe notes of the ELF file at `path`, in file order.
Result<std::vector<ProbeNote>> read_probe_notes(const std::string& path);

// The value of each semaphore in a running process: `mapped_path` is the
// file as /proc/PID/maps names it.  Keys are ProbeNote::semaphore.
Result<std::vector<std::pair<std::uint64_t, unsigned short>>> read_semaphores(
    int pid, const std::string& mapped_path, const std::vector<ProbeNote>& notes);

// The distinct "provider:name" strings of `notes` whose provider matches
// (all providers when `provider` is empty), sorted.
std::vector<std::string> probe_names(const std::vector<ProbeNote>& notes,
                                     const std::string& provider = std::string());

}  // namespace lstrace::usdt
