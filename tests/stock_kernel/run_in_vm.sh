#!/usr/bin/env bash
# Boots Debian 12's stock kernel (tests/stock_kernel/fetch_kernel.sh) in QEMU
# with an initramfs holding this build, runs a command in it as root, and
# exits with the command's status.
#
#   run_in_vm.sh BUILD_DIR [--timeout SECONDS] -- COMMAND...
#
# The build's files keep their absolute paths inside the VM, so the test
# binaries find the recorder and the test programs where CMake put them.
# KVM is used where it boots; otherwise (or if a KVM guest does not reach
# its init within KVM_BOOT_SECONDS) software emulation (TCG).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run_in_vm.sh BUILD_DIR [--timeout S] -- COMMAND...}" && pwd)
shift
timeout_s=1800
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_in_vm: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "run_in_vm: no command given" >&2; exit 2; }

kernel=$("$here/fetch_kernel.sh")
vm=$build/stock-kernel
root=$vm/root
rm -rf "$root"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,run,etc,lstrace-guest}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done

# Copies an ELF file and the shared libraries it loads (as ldd resolves them
# here) to the same paths in the VM; debug sections are dropped for size
# (symbol tables stay, the stack-trace tests symbolize with them).
copy_elf() {
  local f=$1
  [ -e "$root$f" ] && return 0
  mkdir -p "$root$(dirname "$f")"
  if ! objcopy --strip-debug "$f" "$root$f" 2>/dev/null; then cp -L "$f" "$root$f"; fi
  chmod --reference="$f" "$root$f"
  local lib
  for lib in $(ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^\t\(\/[^ ]*\) .*/\1/p'); do
    copy_elf "$lib"
  done
}
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' \n')" = '177ELF' ]; }

# The build's programs, shared libraries and data files (not its objects,
# archives, generated headers or CMake's files).
while IFS= read -r f; do
  if is_elf "$f"; then
    copy_elf "$f"
  else
    mkdir -p "$root$(dirname "$f")"
    cp -a "$f" "$root$f"
  fi
done < <(find "$build" -path "$build/stock-kernel" -prune -o -path '*/CMakeFiles' -prune -o \
  -path "$build/Testing" -prune -o -type f \
  ! -name '*.o' ! -name '*.a' ! -name '*.h' ! -name '*.cmake' ! -name 'Makefile' \
  ! -name 'CMakeCache.txt' ! -name '*.log' -print)
# Host tools the tests run.
for tool in /usr/sbin/bpftool /usr/bin/unshare /usr/bin/setpriv /usr/bin/taskset /usr/bin/nice \
            /usr/bin/env /usr/bin/timeout; do
  copy_elf "$(readlink -f "$tool")"
  [ "$(readlink -f "$tool")" = "$tool" ] || { mkdir -p "$root$(dirname "$tool")"; cp -a "$tool" "$root$tool" 2>/dev/null || true; }
done
# The sources' data files the tests read (fixtures, schemas) and the
# guest's own scripts.
for d in tests/fixtures tests/stock_kernel docs; do
  mkdir -p "$root$source_dir/$d"
  cp -a "$source_dir/$d/." "$root$source_dir/$d/"
done
# busybox for the shell and the basic commands (its other applets are
# linked by the VM's init: one process here instead of hundreds).
cp /bin/busybox "$root/usr/bin/busybox"
ln -s busybox "$root/usr/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf '127.0.0.1 localhost lstrace-guest\n' > "$root/etc/hosts"
cp "$here/guest_init.sh" "$root/init"
chmod 0755 "$root/init"
{
  printf 'cd /tmp\n'
  printf '%q ' "$@"
  printf '\n'
} > "$root/lstrace-guest/command"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) > "$vm/initramfs.cpio"
echo "run_in_vm: $(basename "$kernel"), initramfs $(( $(stat -c %s "$vm/initramfs.cpio") / 1048576 )) MiB"

log=$vm/console.log
boot() {  # boot ACCEL: runs the VM in the background, console to $log
  : > "$log"
  local cpu=max
  [ "$1" = kvm ] && cpu=host
  timeout "$timeout_s" qemu-system-x86_64 -machine q35,accel="$1" -cpu "$cpu" -smp 2 -m 3072 \
    -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$kernel" -initrd "$vm/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet rdinit=/init" > "$log" 2>&1 < /dev/null &
  qemu_pid=$!
}
started=$(date +%s)
accel=tcg
if [ -w /dev/kvm ]; then
  boot kvm
  for _ in $(seq "${KVM_BOOT_SECONDS:-60}"); do
    grep -q '^lstrace-guest: kernel' "$log" && break
    kill -0 "$qemu_pid" 2>/dev/null || break
    sleep 1
  done
  if grep -q '^lstrace-guest: kernel' "$log"; then
    accel=kvm
  else
    echo "run_in_vm: a KVM guest did not reach its init; using software emulation (TCG)"
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
fi
[ "$accel" = tcg ] && boot tcg
echo "run_in_vm: booting with $accel, timeout ${timeout_s}s"
# Stream the console while the VM runs.
tail -n +1 -f "$log" --pid="$qemu_pid" &
tail_pid=$!
wait "$qemu_pid" || true
wait "$tail_pid" 2>/dev/null || true
echo "run_in_vm: VM ran $(( $(date +%s) - started )) s"
status=$(sed -n 's/^lstrace-guest-exit: \([0-9]*\).*/\1/p' "$log" | tr -d '\r' | tail -n 1)
if [ -z "$status" ]; then
  echo "run_in_vm: the VM stopped without the command's exit status (timeout or crash); console: $log" >&2
  exit 1
fi
exit "$status"
