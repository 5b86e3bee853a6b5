#include "record/privileges.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/errors.hpp"

namespace lstrace {
namespace {

[[noreturn]] void drop_failed(const std::string& what)
{
    throw FatalError(ExitCode::permission,
                     "cannot drop privileges (" + what + "): " + std::strerror(errno));
}

int last_capability()
{
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int last = CAP_LAST_CAP;
    in >> last;
    return last;
}

}  // namespace

void drop_capabilities(bool keep_attach, bool keep_proc_access)
{
    std::vector<int> keep = {CAP_DAC_OVERRIDE};
    if (keep_proc_access && !keep_attach)
        // /proc/PID/maps, environ, fd of other users' processes
        keep.push_back(CAP_SYS_PTRACE);
    if (keep_attach)
        // CAP_SYS_ADMIN too: creating a uprobe at run time was refused
        // with CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE alone (EACCES, seen
        // on 6.18)
        keep.insert(keep.end(), {CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYS_ADMIN});
    const auto kept = [&](int cap) {
        return std::find(keep.begin(), keep.end(), cap) != keep.end();
    };
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap) {
        if (kept(cap))
            continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            drop_failed("bounding set");
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        drop_failed("ambient set");
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        drop_failed("no_new_privs");

    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    for (int cap : keep) {
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
    }
    if (::syscall(SYS_capset, &header, data) != 0)
        drop_failed("capset");

    // Trust, but verify.
    __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, now) != 0)
        drop_failed("capget");
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
        if (now[i].effective != data[i].effective || now[i].permitted != data[i].permitted ||
            now[i].inheritable != 0) {
            errno = EPERM;
            drop_failed("capabilities still held after capset");
        }
    }
}

}  // namespace lstrace
