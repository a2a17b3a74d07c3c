#!/usr/bin/env bash
# Installs every Debian package Floodgate's build, tests, demo and benchmarks need.
# Idempotent: packages already present are left alone; `apt-get update` runs once per call.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang llvm clang-format
  libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  prometheus-cpp-dev libsqlite3-dev libpcap-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # run time, lab, tests and benchmarks
  iproute2 xdp-tools netsniff-ng nftables iptables procps util-linux openssl
  gobgpd golang-github-osrg-gobgp-dev gnuplot-nox
  # the verifier of Debian 12's kernel 6.1, in a VM (scripts/verify-kernel)
  qemu-system-x86 busybox-static cpio
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
