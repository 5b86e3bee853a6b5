#include "symbols/elf_symbols.hpp"

#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>

#include "base/elf_file.hpp"

namespace lstrace {
namespace {

// More than enough for a stable fraction; bounds the time on huge objects.
constexpr std::size_t kFramePointerSample = 4096;

// Startup code from crt1.o/crtbegin.o that every executable links and that
// glibc and gcc build without frame pointers: counting it would make a
// small program built with them look half without.
const std::set<std::string>& runtime_startup_functions()
{
    static const std::set<std::string> names = {"_start",
                                                "_dl_relocate_static_pie",
                                                "deregister_tm_clones",
                                                "register_tm_clones",
                                                "__do_global_dtors_aux",
                                                "frame_dummy",
                                                "__libc_csu_init",
                                                "__libc_csu_fini"};
    return names;
}

// How far into a function gcc may move `mov %rsp,%rbp` from `push %rbp`:
// at -O2 it schedules a few independent instructions in between.
constexpr std::size_t kPrologueWindow = 32;

bool has_frame_pointer_prologue(const unsigned char* code, std::size_t size)
{
    static const unsigned char kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    static const unsigned char kMovRspRbp[] = {0x48, 0x89, 0xe5};
    constexpr unsigned char kPushRbp = 0x55;
    if (size >= sizeof(kEndbr64) && std::memcmp(code, kEndbr64, sizeof(kEndbr64)) == 0) {
        code += sizeof(kEndbr64);
        size -= sizeof(kEndbr64);
    }
    if (size < 1 + sizeof(kMovRspRbp) || code[0] != kPushRbp)
        return false;
    const unsigned char* end = code + std::min(size, kPrologueWindow);
    return std::search(code + 1, end, std::begin(kMovRspRbp), std::end(kMovRspRbp)) != end;
}

// Function symbols of the SHT_SYMTAB or SHT_DYNSYM section `scn`.
std::vector<FunctionSymbol> read_functions(Elf* elf, Elf_Scn* scn, const GElf_Shdr& shdr)
{
    std::vector<FunctionSymbol> out;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || shdr.sh_entsize == 0)
        return out;
    const std::size_t count = shdr.sh_size / shdr.sh_entsize;
    for (std::size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym))
            continue;
        const int type = GELF_ST_TYPE(sym.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
            sym.st_value == 0)
            continue;
        const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (!name || !*name)
            continue;
        out.push_back({sym.st_value, sym.st_size, name});
    }
    // one name per address (aliases such as a function and its __GI_ twin):
    // the first in table order, which is how the linker listed it
    std::stable_sort(out.begin(), out.end(), [](const FunctionSymbol& a, const FunctionSymbol& b) {
        return a.address < b.address;
    });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const FunctionSymbol& a, const FunctionSymbol& b) {
                              return a.address == b.address;
                          }),
              out.end());
    return out;
}

}  // namespace

Result<ElfSymbols> ElfSymbols::load(const std::string& path)
{
    auto file = ElfFile::open(path);
    if (!file)
        return file.error();
    Elf* const elf = file->get();
    GElf_Ehdr ehdr;
    if (!gelf_getehdr(elf, &ehdr))
        return Error{path + ": malformed ELF header"};

    ElfSymbols s;
    std::size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) != 0)
        return Error{path + ": malformed ELF program headers"};
    for (std::size_t i = 0; i < phnum; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            s.segments_.push_back({ph.p_offset, ph.p_filesz, ph.p_vaddr});
    }

    std::size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return Error{path + ": malformed ELF section headers"};
    Elf_Scn *symtab = nullptr, *dynsym = nullptr, *text = nullptr;
    GElf_Shdr symtab_hdr{}, dynsym_hdr{}, text_hdr{};
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr))
            continue;
        const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (shdr.sh_type == SHT_SYMTAB) {
            symtab = scn;
            symtab_hdr = shdr;
        } else if (shdr.sh_type == SHT_DYNSYM) {
            dynsym = scn;
            dynsym_hdr = shdr;
        } else if (name && std::strcmp(name, ".text") == 0 && shdr.sh_type == SHT_PROGBITS) {
            text = scn;
            text_hdr = shdr;
        }
    }
    if (symtab) {
        s.functions_ = read_functions(elf, symtab, symtab_hdr);
        s.table_ = ".symtab";
    }
    if (s.functions_.empty() && dynsym) {
        s.functions_ = read_functions(elf, dynsym, dynsym_hdr);
        s.table_ = ".dynsym";
    }

    if (text && ehdr.e_machine == EM_X86_64) {
        Elf_Data* code = elf_getdata(text, nullptr);
        std::vector<const FunctionSymbol*> candidates;
        for (const FunctionSymbol& f : s.functions_)
            if (f.address >= text_hdr.sh_addr && f.address < text_hdr.sh_addr + text_hdr.sh_size &&
                !runtime_startup_functions().count(f.name))
                candidates.push_back(&f);
        const std::size_t step = std::max<std::size_t>(1, candidates.size() / kFramePointerSample);
        for (std::size_t i = 0; code && code->d_buf && i < candidates.size(); i += step) {
            const std::uint64_t at = candidates[i]->address - text_hdr.sh_addr;
            if (at >= code->d_size)
                continue;
            const std::size_t available = static_cast<std::size_t>(code->d_size - at);
            const std::size_t size = candidates[i]->size
                                         ? std::min<std::size_t>(available, candidates[i]->size)
                                         : available;
            ++s.frame_pointers_.functions_checked;
            if (has_frame_pointer_prologue(static_cast<const unsigned char*>(code->d_buf) + at,
                                           size))
                ++s.frame_pointers_.with_frame_pointer;
        }
    }
    return s;
}

bool ElfSymbols::file_offset_to_address(std::uint64_t file_offset, std::uint64_t& address) const
{
    for (const Segment& seg : segments_) {
        if (file_offset >= seg.offset && file_offset < seg.offset + seg.file_size) {
            address = file_offset - seg.offset + seg.vaddr;
            return true;
        }
    }
    return false;
}

const FunctionSymbol* ElfSymbols::find(std::uint64_t address) const
{
    auto it =
        std::upper_bound(functions_.begin(), functions_.end(), address,
                         [](std::uint64_t a, const FunctionSymbol& f) { return a < f.address; });
    if (it == functions_.begin())
        return nullptr;
    --it;
    // a sizeless symbol (hand-written assembly) covers up to the next one
    if (it->size != 0 && address >= it->address + it->size)
        return nullptr;
    return &*it;
}

Result<FramePointerReport> check_frame_pointers(const std::string& path)
{
    auto symbols = ElfSymbols::load(path);
    if (!symbols)
        return symbols.error();
    return symbols->frame_pointers();
}

}  // namespace lstrace
