#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, test and benchmark.
# Idempotent: it calls apt-get only when a package is missing, so the README
# commands can run it every time at no cost. Debian 12 (bookworm) is the target.
#
#   tools/install-deps.sh            what building and testing need
#   tools/install-deps.sh --papers   also what papers/ needs to draw its figures
set -euo pipefail

packages=(
  build-essential   # g++ and make
  cmake
  ninja-build
  ccache
  git
  python3
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  librapidcheck-dev
  librocksdb-dev    # storage/: RocksDB 7.8 with its CMake package
  capnproto         # net/wire/: the capnp schema compiler
  libcapnp-dev      # net/wire/: Cap'n Proto 0.9 with its CMake package
  clang             # tools/fuzz.sh: libFuzzer targets are built with clang 14
  libclang-rt-14-dev  # tools/fuzz.sh: libFuzzer, ASan and UBSan runtimes for clang 14
  libboost1.74-dev  # net/server/: Boost.Asio (headers only)
  libboost-program-options1.74-dev  # net/server/: sluiced flags
  libyaml-cpp-dev   # net/server/: sluiced YAML configuration
  curl              # tools/cluster.sh: waits for /readyz, and its examples use it
  nlohmann-json3-dev  # net/http/: JSON for the REST API
)
if [ "${1:-}" = "--papers" ]; then
  packages+=(python3-matplotlib)  # papers/*/plot.py, run with /usr/bin/python3
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
