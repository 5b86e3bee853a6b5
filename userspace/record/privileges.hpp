// Dropping privileges once the BPF programs are loaded and attached.
//
// After setup the recorder only reads its ring buffer and maps (through
// file descriptors it already holds), signals and reaps its own child, and
// finally renames its trace into place.  It keeps CAP_DAC_OVERRIDE for that
// rename (the output directory may belong to another user) and gives up
// every other capability: effective, permitted, inheritable, ambient and
// the bounding set, with no_new_privs so nothing can bring them back.
#pragma once

namespace lstrace {

// `keep_attach`: --follow attaches to the new image of a process that
// execs, so it also keeps CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE (to read
// that process's /proc entries) and CAP_SYS_ADMIN (the kernel asked for it
// when creating uprobes at run time); still no_new_privs and a reduced
// bounding set.  `keep_proc_access` keeps CAP_SYS_PTRACE alone, to read
// the maps, environment and descriptors of processes found later (stack
// traces, include_environment, process samples).  Throws FatalError(ExitCode::permission)
// if the drop fails or does not hold: a recorder that cannot shed its
// privileges does not run.
void drop_capabilities(bool keep_attach, bool keep_proc_access = false);

}  // namespace lstrace
