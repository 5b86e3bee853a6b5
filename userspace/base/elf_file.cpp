#include "base/elf_file.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace lstrace {

Result<ElfFile> ElfFile::open(const std::string& path)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return Error{"libelf: " + std::string(elf_errmsg(-1))};
    ElfFile f;
    f.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.fd_.valid())
        return Error{"cannot open " + path + ": " + std::strerror(errno)};
    f.elf_.reset(elf_begin(f.fd_.get(), ELF_C_READ_MMAP, nullptr));
    if (!f.elf_ || elf_kind(f.elf_.get()) != ELF_K_ELF)
        return Error{path + " is not an ELF file"};
    return f;
}

}  // namespace lstrace
