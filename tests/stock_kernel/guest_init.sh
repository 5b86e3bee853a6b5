#!/bin/sh
# /init of the stock-kernel test VM: mounts what the recorder and the tests
# need, runs the command in /lstrace-guest/command, prints its exit status
# on the console (the host's runner reads it) and powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# busybox's applets, where no real program of that name was copied in
/usr/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# / is the initramfs, already in memory: /tmp stays a plain folder there
# (a tmpfs over it would hide a build that lives under /tmp)
chmod 1777 /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname lstrace-guest
ip link set lo up 2>/dev/null
echo "lstrace-guest: kernel $(uname -r), $(nproc) CPUs, BTF $( [ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
cd /tmp
/bin/sh /lstrace-guest/command
echo "lstrace-guest-exit: $?"
sync
poweroff -f
