#!/usr/bin/env bash
# Installs, from Debian 12 packages, whatever lstrace-bpf needs to build,
# run and test that is not there yet.  Run as root.  Idempotent: when
# everything is present it only checks and prints nothing but one line.
set -euo pipefail

packages=(
  build-essential cmake pkg-config    # C/C++ toolchain
  clang llvm                          # BPF target compiler (clang 14), llvm-strip
  libbpf-dev bpftool                  # libbpf 1.1 and skeleton/vmlinux.h generation
  libelf-dev zlib1g-dev               # libbpf's dependencies; ELF note reader
  systemtap-sdt-dev                   # <sys/sdt.h> for the USDT probe header
  libspdlog-dev nlohmann-json3-dev    # logging and JSON
  catch2                              # tests (Catch2 2.13)
  chromium                            # the report page is tested in headless chromium
  bpftrace time                       # bench/run.sh: the bpftrace row, the recorder's CPU time
  clang-format                        # tools/check-format.sh
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all build dependencies are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 3
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
