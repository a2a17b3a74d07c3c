#!/usr/bin/env bash
# Installs what is needed, builds Floodgate and runs every test (ctest). Run as root:
# the tests load BPF programs, attach XDP to veths and create network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
# bpffs for pinned objects and libxdp; the tests mount it too if it is missing.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
cd build
ctest --output-on-failure --timeout 300
