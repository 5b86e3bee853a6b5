#!/usr/bin/env bash
# Downloads Debian 12's stock kernel (the package linux-image-amd64 depends
# on) and unpacks it, without installing it, into KERNEL_CACHE (default
# /var/cache/lstrace-bpf/stock-kernel).  The QEMU test boots it.  Prints the
# path of the vmlinuz.  Idempotent: a kernel already unpacked is reused.
set -euo pipefail
cache=${KERNEL_CACHE:-/var/cache/lstrace-bpf/stock-kernel}
existing=$(ls "$cache"/root/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -n "$existing" ]; then
  echo "$existing"
  exit 0
fi
# The versioned package behind the metapackage: linux-image-6.1.0-NN-amd64.
versioned() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1
}
package=$(versioned)
if [ -z "$package" ]; then
  apt-get update -qq >&2
  package=$(versioned)
fi
if [ -z "$package" ]; then
  echo "fetch_kernel: apt-cache does not know linux-image-amd64 (run apt-get update)" >&2
  exit 1
fi
mkdir -p "$cache/download"
# apt's sandbox user must be able to write the download folder.
chmod 0777 "$cache/download"
(cd "$cache/download" && apt-get download -qq "$package")
deb=$(ls "$cache"/download/"$package"_*.deb | head -n 1)
rm -rf "$cache/root.tmp"
# Only the kernel image and its config are needed (no modules: the test
# runs from an initramfs and the kernel has what BPF needs built in).
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache" --transform 's,^\./,root.tmp/,' \
  --wildcards './boot/vmlinuz-*' './boot/config-*'
mv "$cache/root.tmp" "$cache/root"
rm -f "$deb"
ls "$cache"/root/boot/vmlinuz-* | head -n 1
