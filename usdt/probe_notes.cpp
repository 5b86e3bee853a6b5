#include "usdt/probe_notes.hpp"

#include <fcntl.h>
#include <gelf.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/elf_file.hpp"
#include "base/proc_files.hpp"
#include "base/unique_fd.hpp"

namespace lstrace::usdt {
namespace {

constexpr std::uint32_t kStapsdtNoteType = 3;

// Reads one address-sized field of a note descriptor.
std::uint64_t read_addr(const char* p, bool is64)
{
    if (is64) {
        std::uint64_t v;
        std::memcpy(&v, p, sizeof(v));
        return v;
    }
    std::uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

// Parses the descriptor of one stapsdt note: pc, base, semaphore, then
// three NUL-terminated strings.  Returns false when it is malformed.
bool parse_note(const char* desc, std::size_t size, bool is64, ProbeNote& out)
{
    const std::size_t addr = is64 ? 8 : 4;
    if (size < 3 * addr)
        return false;
    out.pc = read_addr(desc, is64);
    out.semaphore = read_addr(desc + 2 * addr, is64);
    const char* p = desc + 3 * addr;
    const char* end = desc + size;
    std::string* fields[] = {&out.provider, &out.name, &out.arguments};
    for (std::string* f : fields) {
        const void* nul = std::memchr(p, '\0', static_cast<std::size_t>(end - p));
        if (!nul)
            return false;
        f->assign(p, static_cast<const char*>(nul));
        p = static_cast<const char*>(nul) + 1;
    }
    return true;
}

}  // namespace

Result<std::vector<ProbeNote>> read_probe_notes(const std::string& path)
{
    auto file = ElfFile::open(path);
    if (!file)
        return file.error();
    Elf* const elf = file->get();
    const bool is64 = gelf_getclass(elf) == ELFCLASS64;
    std::size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return Error{path + ": malformed ELF section headers"};

    // Allocated sections, to turn a semaphore's address into a file offset.
    std::vector<GElf_Shdr> alloc_sections;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_ALLOC) && shdr.sh_type != SHT_NOBITS)
            alloc_sections.push_back(shdr);
    }
    const auto file_offset = [&](std::uint64_t addr) -> std::uint64_t {
        for (const GElf_Shdr& sh : alloc_sections)
            if (addr >= sh.sh_addr && addr < sh.sh_addr + sh.sh_size)
                return addr - sh.sh_addr + sh.sh_offset;
        return 0;
    };

    std::vector<ProbeNote> notes;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
            continue;
        const char* sname = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (!sname || std::strcmp(sname, ".note.stapsdt") != 0)
            continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data)
            continue;
        std::size_t offset = 0, name_off = 0, desc_off = 0;
        GElf_Nhdr nhdr;
        while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
            const char* base = static_cast<const char*>(data->d_buf);
            if (nhdr.n_type != kStapsdtNoteType || nhdr.n_namesz != sizeof("stapsdt") ||
                std::memcmp(base + name_off, "stapsdt", sizeof("stapsdt")) != 0)
                continue;
            ProbeNote note;
            if (!parse_note(base + desc_off, nhdr.n_descsz, is64, note))
                return Error{path + ": malformed .note.stapsdt entry"};
            note.pc_file_offset = file_offset(note.pc);
            if (note.semaphore)
                note.semaphore_file_offset = file_offset(note.semaphore);
            notes.push_back(std::move(note));
        }
    }
    return notes;
}

Result<std::vector<std::pair<std::uint64_t, unsigned short>>> read_semaphores(
    int pid, const std::string& mapped_path, const std::vector<ProbeNote>& notes)
{
    auto all_maps = read_maps(pid);
    if (!all_maps)
        return all_maps.error();
    std::vector<MapEntry> maps;
    for (MapEntry& m : all_maps.value())
        if (m.path == mapped_path)
            maps.push_back(std::move(m));
    const std::string mem_path = proc_dir(pid) + "/mem";
    UniqueFd mem(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!mem.valid())
        return Error{"cannot open " + mem_path + ": " + std::strerror(errno)};
    std::vector<std::pair<std::uint64_t, unsigned short>> values;
    for (const ProbeNote& n : notes) {
        if (!n.semaphore_file_offset)
            continue;
        for (const MapEntry& m : maps) {
            if (n.semaphore_file_offset < m.offset ||
                n.semaphore_file_offset >= m.offset + (m.end - m.start))
                continue;
            unsigned short v = 0;
            const auto addr = static_cast<off_t>(m.start + (n.semaphore_file_offset - m.offset));
            if (::pread(mem.get(), &v, sizeof(v), addr) != static_cast<ssize_t>(sizeof(v)))
                return Error{"cannot read the semaphores of PID " + std::to_string(pid) + ": " +
                             std::strerror(errno)};
            values.emplace_back(n.semaphore, v);
            break;
        }
    }
    return values;
}

std::vector<std::string> probe_names(const std::vector<ProbeNote>& notes,
                                     const std::string& provider)
{
    std::vector<std::string> names;
    for (const ProbeNote& n : notes)
        if (provider.empty() || n.provider == provider)
            names.push_back(n.provider + ":" + n.name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace lstrace::usdt
