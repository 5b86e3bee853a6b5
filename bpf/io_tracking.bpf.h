/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * io_tracking.bpf.h - I/O of traced threads split by descriptor kind, time
 * blocked in I/O syscalls, and descriptors opened, closed, connected and
 * accepted, from the raw syscall tracepoints.
 *
 * The kernel counts bytes per task (task->ioac) but not per kind of file,
 * and not the time a task spent blocked in I/O.  sys_enter remembers the
 * syscall and what its descriptor is; sys_exit adds the bytes returned to
 * that kind and the syscall's off-CPU time (wall time minus the thread's
 * CPU clock) to io_wait_ns.  Both tracepoints fire for every syscall on
 * the machine, so the first test is a switch on the syscall number (no map
 * lookup for the hundreds of syscalls that are not I/O), the second the
 * thread table (only threads that have hit a langswarm probe are there).
 *
 * Syscall numbers are x86-64's (the only architecture built for).
 */
#ifndef LSTRACE_IO_TRACKING_BPF_H
#define LSTRACE_IO_TRACKING_BPF_H

#include "common.bpf.h"
#include "thread_state.bpf.h"

enum sc_class {
	SC_NONE = 0,
	SC_READ = 1,  /* returns bytes read from the descriptor in arg 0 */
	SC_WRITE = 2, /* returns bytes written to the descriptor in arg 0 */
	SC_OPEN = 3,  /* returns a new descriptor */
	SC_CLOSE = 4,
	SC_CONNECT = 5,
	SC_ACCEPT = 6, /* returns a new descriptor */
	SC_SYNC = 7,   /* fsync and friends: only the blocked time counts */
};

enum fd_kind {
	FD_OTHER = 0,
	FD_FILE = 1, /* regular file or block device */
	FD_SOCKET = 2,
};

static __always_inline __u32 syscall_class(long nr)
{
	switch (nr) {
	case 0:	  /* read */
	case 17:  /* pread64 */
	case 19:  /* readv */
	case 45:  /* recvfrom */
	case 47:  /* recvmsg */
	case 295: /* preadv */
	case 327: /* preadv2 */
		return SC_READ;
	case 1:	  /* write */
	case 18:  /* pwrite64 */
	case 20:  /* writev */
	case 44:  /* sendto */
	case 46:  /* sendmsg */
	case 296: /* pwritev */
	case 328: /* pwritev2 */
		return SC_WRITE;
	case 2:	  /* open */
	case 85:  /* creat */
	case 257: /* openat */
	case 437: /* openat2 */
		return SC_OPEN;
	case 3: /* close */
		return SC_CLOSE;
	case 42: /* connect */
		return SC_CONNECT;
	case 43:  /* accept */
	case 288: /* accept4 */
		return SC_ACCEPT;
	case 74:  /* fsync */
	case 75:  /* fdatasync */
	case 277: /* sync_file_range */
		return SC_SYNC;
	default:
		return SC_NONE;
	}
}

#define LSTRACE_S_IFMT 0170000
#define LSTRACE_S_IFSOCK 0140000
#define LSTRACE_S_IFREG 0100000
#define LSTRACE_S_IFBLK 0060000

/* What descriptor `fd` of the current task is. */
static __always_inline __u32 classify_fd(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;

	if (fd < 0 || fd >= fdt->max_fds)
		return FD_OTHER;
	/* fdt->fd is a pointer to pointers: BTF-typed loads stop there */
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]) || !file)
		return FD_OTHER;
	__u16 mode = BPF_CORE_READ(file, f_inode, i_mode) & LSTRACE_S_IFMT;
	if (mode == LSTRACE_S_IFSOCK)
		return FD_SOCKET;
	if (mode == LSTRACE_S_IFREG || mode == LSTRACE_S_IFBLK)
		return FD_FILE;
	return FD_OTHER;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long nr)
{
	__u32 cls = syscall_class(nr);
	if (cls == SC_NONE)
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	ts->sc_class = cls;
	ts->sc_enter_ns = now;
	ts->sc_enter_oncpu_ns = clock_now(ts, now);
	ts->sc_fd_kind =
	    (cls == SC_READ || cls == SC_WRITE) ? classify_fd(BPF_CORE_READ(regs, di)) : FD_OTHER;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts || ts->sc_class == SC_NONE)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 wall = now - ts->sc_enter_ns;
	__u64 oncpu = clock_now(ts, now) - ts->sc_enter_oncpu_ns;
	struct lstrace_thread_io *io = &ts->io;

	if (wall > oncpu)
		io->io_wait_ns += wall - oncpu;
	switch (ts->sc_class) {
	case SC_READ:
		if (ret > 0) {
			if (ts->sc_fd_kind == FD_FILE)
				io->file_read_bytes += ret;
			else if (ts->sc_fd_kind == FD_SOCKET)
				io->net_read_bytes += ret;
			else
				io->other_read_bytes += ret;
		}
		break;
	case SC_WRITE:
		if (ret > 0) {
			if (ts->sc_fd_kind == FD_FILE)
				io->file_write_bytes += ret;
			else if (ts->sc_fd_kind == FD_SOCKET)
				io->net_write_bytes += ret;
			else
				io->other_write_bytes += ret;
		}
		break;
	case SC_OPEN:
		if (ret >= 0)
			io->files_opened++;
		break;
	case SC_CLOSE:
		if (ret == 0)
			io->fds_closed++;
		break;
	case SC_CONNECT:
		if (ret == 0 || ret == -115 /* EINPROGRESS */)
			io->sockets_connected++;
		break;
	case SC_ACCEPT:
		if (ret >= 0)
			io->sockets_accepted++;
		break;
	default:
		break;
	}
	ts->sc_class = SC_NONE;
	return 0;
}

/* Scratch for the open_fds bitmap: copied with one helper call, not one
 * call per 64 descriptors (16 calls at span end for a process that has had
 * 1024 descriptors). */
struct fd_bitmap {
	__u64 words[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fd_bitmap);
} fd_bitmap_scratch SEC(".maps");

/* Descriptors open in the current process: the bits set in the fd table's
 * open_fds bitmap (the first 4096 descriptors). */
static __always_inline __u32 open_fd_count(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	unsigned long *bits = fdt->open_fds;
	__u32 words = fdt->max_fds / 64;
	__u32 zero = 0;
	__u32 n = 0;

	if (words > 64)
		words = 64;
	if (words == 0)
		return 0;
	struct fd_bitmap *b = bpf_map_lookup_elem(&fd_bitmap_scratch, &zero);
	if (!b || bpf_probe_read_kernel(b->words, words * sizeof(__u64), bits))
		return 0;
	for (__u32 i = 0; i < 64 && i < words; i++) {
		__u64 w = b->words[i];
		/* population count, SWAR */
		w = w - ((w >> 1) & 0x5555555555555555ULL);
		w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
		w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
		n += (w * 0x0101010101010101ULL) >> 56;
	}
	return n;
}

#endif /* LSTRACE_IO_TRACKING_BPF_H */
