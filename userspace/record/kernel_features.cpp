#include "record/kernel_features.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <memory>

#include "base/errors.hpp"
#include "record/bpf_session.hpp"

namespace lstrace {
namespace {

struct BtfDeleter {
    void operator()(btf* b) const noexcept { btf__free(b); }
};

// The number of arguments a BTF-enabled tracepoint passes (its
// btf_trace_<name> typedef is a pointer to a prototype whose first
// parameter is the probe's private data), or -1 if there is no such
// tracepoint.
int tracepoint_arguments(const btf* b, const char* name)
{
    const std::string typedef_name = std::string("btf_trace_") + name;
    const int id = btf__find_by_name_kind(b, typedef_name.c_str(), BTF_KIND_TYPEDEF);
    if (id < 0)
        return -1;
    const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
    while (t && (btf_is_typedef(t) || btf_is_ptr(t)))
        t = btf__type_by_id(b, t->type);
    if (!t || !btf_is_func_proto(t))
        return -1;
    return static_cast<int>(btf_vlen(t)) - 1;
}

// Whether `struct_name` has a member called `member`.
bool has_member(const btf* b, const char* struct_name, const char* member)
{
    const int id = btf__find_by_name_kind(b, struct_name, BTF_KIND_STRUCT);
    if (id < 0)
        return false;
    const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m)
        if (std::string(btf__name_by_offset(b, m->name_off)) == member)
            return true;
    return false;
}

}  // namespace

KernelFeatures probe_kernel_features(const std::string& btf_path)
{
    std::unique_ptr<btf, BtfDeleter> b(btf_path.empty() ? btf__load_vmlinux_btf()
                                                        : btf__parse(btf_path.c_str(), nullptr));
    if (!b)
        throw FatalError(ExitCode::no_btf,
                         "cannot read the kernel's BTF" +
                             (btf_path.empty() ? std::string() : " at " + btf_path) + ": " +
                             libbpf_error_text(-errno));
    KernelFeatures f;
    f.exit_tracepoint_has_group_dead = tracepoint_arguments(b.get(), "sched_process_exit") >= 2;
    f.rss_cached_per_task = has_member(b.get(), "task_struct", "rss_stat");
    return f;
}

}  // namespace lstrace
