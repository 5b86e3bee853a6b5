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
  qemu-system-x86 busybox-static      # the tests boot Debian 12's stock kernel in a VM
  libcurl4-openssl-dev                # OTLP/HTTP export (HTTPS with the system CA store)
  libprotobuf-dev protobuf-compiler   # the OTLP protobuf messages (userspace/otlp/proto)
  clang-format                        # tools/check-format.sh
  python3-dev python3-pytest          # the Python package's extension (python/) and its tests
  python3-psutil                      # bench/python_bench.sh: the seed's psutil ResourceMonitor row
)
# The OTLP tests' receiver runs on Node.js; a nodejs that is already there
# (Debian's, or one that brings its own npm) is used as it is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

# The OTLP test receiver's npm packages (OpenTelemetry's protobuf code),
# pinned by tests/otlp/package-lock.json, into tests/otlp/node_modules.
root=$(cd "$(dirname "$0")/.." && pwd)
install_test_receiver() {
  local dir=$root/tests/otlp stamp=$root/tests/otlp/node_modules/.lstrace-lock
  if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
    return 0
  fi
  echo "install-deps: installing the OTLP test receiver's npm packages (tests/otlp)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Debian 12's stock kernel for the stock-kernel test: downloaded and
# unpacked (never installed) by tests/stock_kernel/fetch_kernel.sh.
stock_kernel() {
  [ "$(id -u)" -eq 0 ] || return 0
  "$(dirname "$0")/../tests/stock_kernel/fetch_kernel.sh" >/dev/null
}

if [ ${#missing[@]} -eq 0 ]; then
  stock_kernel
  install_test_receiver
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
stock_kernel
install_test_receiver
