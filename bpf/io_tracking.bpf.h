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
 * thread's state (only threads that have hit a langswarm probe have one).
 *
 * Syscall numbers are x86-64's (the only architecture built for).
 */
#ifndef LSTRACE_IO_TRACKING_BPF_H
#define LSTRACE_IO_TRACKING_BPF_H

#include "common.bpf.h"
#include "thread_clock.bpf.h"
#include "thread_state.bpf.h"

enum sc_class {
	SC_NONE = 0,
	SC_READ = 1,  /* returns bytes read from the descriptor in arg 0 */
	SC_WRITE = 2, /* returns bytes written to the descriptor in arg 0 */
	SC_OPEN = 3,  /* returns a new descriptor */
	SC_CLOSE = 4,
	SC_CONNECT = 5,
	SC_ACCEPT = 6,	 /* returns a new descriptor */
	SC_SYNC = 7,	 /* fsync and friends: only the blocked time counts */
	SC_RECVMMSG = 8, /* returns messages; their lengths are in the msgvec (arg 1) */
	SC_SENDMMSG = 9,
	SC_SPLICE = 10,	  /* returns bytes moved from arg 0 to arg 2 */
	SC_SENDFILE = 11, /* returns bytes moved from arg 1 to arg 0 */
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
	case 299: /* recvmmsg */
		return SC_RECVMMSG;
	case 307: /* sendmmsg */
		return SC_SENDMMSG;
	case 275: /* splice */
		return SC_SPLICE;
	case 40: /* sendfile */
		return SC_SENDFILE;
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

/* Whether the kernel leaves syscall `nr`'s bytes out of task->ioac's
 * rchar/wchar: the socket calls (they bypass the VFS read/write paths) and
 * splice.  read/write/readv/writev on a socket and sendfile are counted. */
static __always_inline bool ioac_misses(long nr)
{
	switch (nr) {
	case 44:  /* sendto */
	case 45:  /* recvfrom */
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 299: /* recvmmsg */
	case 307: /* sendmmsg */
	case 275: /* splice */
		return true;
	default:
		return false;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long nr)
{
	__u32 cls = syscall_class(nr);
	if (cls == SC_NONE)
		return 0;
	struct thread_state *ts = current_thread_state();
	if (!ts)
		return 0;
	__u64 clock = 0;
	ts->sc_class = cls;
	ts->sc_enter_ns = bpf_ktime_get_ns();
	ts->sc_clock_known = thread_clock_ns(&clock);
	ts->sc_enter_oncpu_ns = clock;
	ts->sc_ioac_misses = ioac_misses(nr);
	ts->sc_fd_kind = FD_OTHER;
	ts->sc_fd_kind_out = FD_OTHER;
	ts->sc_msgvec = 0;
	switch (cls) {
	case SC_RECVMMSG:
		ts->sc_msgvec = BPF_CORE_READ(regs, si);
		/* fall through */
	case SC_READ:
		ts->sc_fd_kind = classify_fd(BPF_CORE_READ(regs, di));
		break;
	case SC_SENDMMSG:
		ts->sc_msgvec = BPF_CORE_READ(regs, si);
		/* fall through */
	case SC_WRITE:
		ts->sc_fd_kind_out = classify_fd(BPF_CORE_READ(regs, di));
		break;
	case SC_SPLICE:
		ts->sc_fd_kind = classify_fd(BPF_CORE_READ(regs, di));
		ts->sc_fd_kind_out = classify_fd(BPF_CORE_READ(regs, dx));
		break;
	case SC_SENDFILE:
		ts->sc_fd_kind = classify_fd(BPF_CORE_READ(regs, si));
		ts->sc_fd_kind_out = classify_fd(BPF_CORE_READ(regs, di));
		break;
	default:
		break;
	}
	return 0;
}

/* Messages of one recvmmsg/sendmmsg call whose lengths are added up. */
#define LSTRACE_MMSG_MAX 64

/* The bytes of the first `count` messages of the mmsghdr array at `vec`
 * (user memory): each entry's msg_len, set by the kernel. */
static __always_inline __u64 mmsg_bytes(__u64 vec, long count)
{
	__u64 total = 0;
	for (int i = 0; i < LSTRACE_MMSG_MAX && i < count; i++) {
		unsigned int len = 0;
		bpf_probe_read_user(&len, sizeof(len),
				    (const void *)(vec + i * sizeof(struct mmsghdr) +
						   __builtin_offsetof(struct mmsghdr, msg_len)));
		total += len;
	}
	return total;
}

static __always_inline void add_read(struct lstrace_thread_io *io, __u32 kind, __u64 n)
{
	if (kind == FD_FILE)
		io->file_read_bytes += n;
	else if (kind == FD_SOCKET)
		io->net_read_bytes += n;
	else
		io->other_read_bytes += n;
}

static __always_inline void add_write(struct lstrace_thread_io *io, __u32 kind, __u64 n)
{
	if (kind == FD_FILE)
		io->file_write_bytes += n;
	else if (kind == FD_SOCKET)
		io->net_write_bytes += n;
	else
		io->other_write_bytes += n;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct thread_state *ts = current_thread_state();
	if (!ts || ts->sc_class == SC_NONE)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 clock = 0;
	struct lstrace_thread_io *io = &ts->io;

	if (ts->sc_clock_known && thread_clock_ns(&clock)) {
		__u64 wall = now - ts->sc_enter_ns;
		__u64 oncpu = clock - ts->sc_enter_oncpu_ns;
		if ((__s64)oncpu >= 0 && wall > oncpu)
			io->io_wait_ns += wall - oncpu;
	}
	__u64 bytes = ret > 0 ? ret : 0;
	switch (ts->sc_class) {
	case SC_READ:
		add_read(io, ts->sc_fd_kind, bytes);
		if (ts->sc_ioac_misses)
			ts->uncounted_read_bytes += bytes;
		break;
	case SC_WRITE:
		add_write(io, ts->sc_fd_kind_out, bytes);
		if (ts->sc_ioac_misses)
			ts->uncounted_write_bytes += bytes;
		break;
	case SC_RECVMMSG:
		bytes = mmsg_bytes(ts->sc_msgvec, ret);
		add_read(io, ts->sc_fd_kind, bytes);
		ts->uncounted_read_bytes += bytes;
		break;
	case SC_SENDMMSG:
		bytes = mmsg_bytes(ts->sc_msgvec, ret);
		add_write(io, ts->sc_fd_kind_out, bytes);
		ts->uncounted_write_bytes += bytes;
		break;
	case SC_SPLICE:
	case SC_SENDFILE:
		/* the bytes were read from one descriptor and written to the
		 * other (the kernel counts sendfile's in rchar and wchar) */
		add_read(io, ts->sc_fd_kind, bytes);
		add_write(io, ts->sc_fd_kind_out, bytes);
		if (ts->sc_ioac_misses) {
			ts->uncounted_read_bytes += bytes;
			ts->uncounted_write_bytes += bytes;
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
