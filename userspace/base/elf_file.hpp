// An ELF file opened with libelf, owning its descriptor and handle (the
// handle is released before the descriptor it reads from).
#pragma once

#include <libelf.h>

#include <memory>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace lstrace {

struct ElfCloser {
    void operator()(Elf* e) const noexcept { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

class ElfFile {
public:
    // Opens `path` read-only (mmap'ed); an error unless it is an ELF file.
    static Result<ElfFile> open(const std::string& path);

    Elf* get() const noexcept { return elf_.get(); }
    int fd() const noexcept { return fd_.get(); }  // for pread of raw bytes

private:
    UniqueFd fd_;  // declared first: destroyed after elf_
    ElfPtr elf_;
};

}  // namespace lstrace
