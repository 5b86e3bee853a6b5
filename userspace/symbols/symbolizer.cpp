#include "symbols/symbolizer.hpp"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/proc_files.hpp"

namespace lstrace {
namespace {

const MapEntry* find_in(const std::vector<MapEntry>& maps, std::uint64_t address)
{
    for (const MapEntry& m : maps)
        if (address >= m.start && address < m.end)
            return &m;
    return nullptr;
}

}  // namespace

std::string demangle(const std::string& name)
{
    if (name.compare(0, 2, "_Z") != 0)
        return name;
    struct Free {
        void operator()(char* p) const noexcept { std::free(p); }
    };
    int status = 0;
    std::unique_ptr<char, Free> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status));
    return status == 0 && out ? std::string(out.get()) : name;
}

std::string to_string(const Frame& f)
{
    char buf[40];
    std::string s;
    if (!f.function.empty()) {
        std::snprintf(buf, sizeof(buf), "+0x%llx",
                      static_cast<unsigned long long>(f.function_offset));
        s = f.function + buf;
    } else {
        std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(f.address));
        s = buf;
    }
    return s + " (" + (f.object.empty() ? "[anon]" : f.object) + ")";
}

bool Symbolizer::snapshot(int pid)
{
    auto maps = read_maps(pid);
    // an exiting process's maps read as empty: keep what was seen before
    if (!maps || maps.value().empty())
        return false;
    maps_[pid] = std::move(maps.value());
    return true;
}

void Symbolizer::forget(int pid)
{
    maps_.erase(pid);
}

const MapEntry* Symbolizer::find_mapping(int pid, std::uint64_t address)
{
    auto it = maps_.find(pid);
    if (it != maps_.end())
        if (const MapEntry* m = find_in(it->second, address))
            return m;
    // not mapped when we looked (dlopen since), or never looked: look again;
    // a process that has exited keeps the map we had
    if (!snapshot(pid))
        return nullptr;
    return find_in(maps_[pid], address);
}

const ElfSymbols* Symbolizer::symbols(const std::string& object, int pid)
{
    auto it = objects_.find(object);
    if (it != objects_.end())
        return it->second.get();
    // the process's view of its files first (containers), then ours
    auto loaded = pid > 0 ? ElfSymbols::load(proc_dir(pid) + "/root" + object)
                          : Result<ElfSymbols>(Error{""});
    if (!loaded)
        loaded = ElfSymbols::load(object);
    auto& slot = objects_[object];
    if (loaded)
        slot = std::make_unique<ElfSymbols>(std::move(loaded.value()));
    return slot.get();
}

const FramePointerReport* Symbolizer::frame_pointers(const std::string& object, int pid)
{
    const ElfSymbols* s = symbols(object, pid);
    return s ? &s->frame_pointers() : nullptr;
}

Frame Symbolizer::lookup(int pid, std::uint64_t address, std::uint64_t lookup_address)
{
    Frame f;
    f.address = address;
    const MapEntry* m = find_mapping(pid, lookup_address);
    if (!m)
        return f;
    f.object = m->path;
    if (!m->file_backed)
        return f;
    f.file_offset = lookup_address - m->start + m->offset;
    const ElfSymbols* syms = symbols(m->path, pid);
    std::uint64_t vaddr = 0;
    if (!syms || !syms->file_offset_to_address(f.file_offset, vaddr))
        return f;
    if (const FunctionSymbol* fn = syms->find(vaddr)) {
        f.function = demangle(fn->name);
        f.function_offset = vaddr - fn->address + (address - lookup_address);
    }
    if (address != lookup_address)
        f.file_offset += address - lookup_address;
    return f;
}

Frame Symbolizer::symbolize(int pid, std::uint64_t address)
{
    return lookup(pid, address, address);
}

std::vector<Frame> Symbolizer::symbolize_stack(int pid, const std::vector<std::uint64_t>& addresses)
{
    std::vector<Frame> frames;
    frames.reserve(addresses.size());
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const std::uint64_t a = addresses[i];
        frames.push_back(lookup(pid, a, i == 0 || a == 0 ? a : a - 1));
    }
    return frames;
}

}  // namespace lstrace
