// Helpers shared by the tests that need the real kernel: root/bpffs checks and
// BPF_PROG_TEST_RUN on a frame.
#pragma once

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "datapath.h"

namespace floodgate::test {

constexpr long kBpfFsMagic = 0xcafe4a11;

// Tests that need BPF fail loudly without it; they never pass by skipping.
inline ::testing::AssertionResult have_bpf() {
  if (geteuid() != 0)
    return ::testing::AssertionFailure() << "this test needs root (BPF, XDP); run it as root";
  struct statfs fs {};
  if (statfs("/sys/fs/bpf", &fs) != 0 || static_cast<long>(fs.f_type) != kBpfFsMagic) {
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0)
      return ::testing::AssertionFailure()
             << "bpffs is not mounted at /sys/fs/bpf and mounting it failed: "
             << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

// Small maps: tests must not need the production 1M-entry sizes.
inline MapSizes test_map_sizes() {
  MapSizes s;
  s.block_entries = 4096;
  s.allow_entries = 1024;
  s.src_entries = 4096;
  s.protected_entries = 16;
  s.events_bytes = 1 << 16;
  return s;
}

// Loads the program with test_map_sizes() into `out`, or says why it could not.
inline ::testing::AssertionResult load_test_datapath(std::unique_ptr<Datapath>& out) {
  if (auto bpf = have_bpf(); !bpf) return bpf;
  auto dp = Datapath::load(test_map_sizes());
  if (!dp.ok()) return ::testing::AssertionFailure() << dp.error().message;
  out = std::move(dp.value());
  return ::testing::AssertionSuccess();
}

// Runs the program once on `frame`; returns the XDP action, or -errno.
inline int run_xdp(int prog_fd, const std::vector<uint8_t>& frame) {
  std::vector<uint8_t> in = frame;
  std::vector<uint8_t> out(frame.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err != 0) return -errno;
  return static_cast<int>(opts.retval);
}

// The program reads the coarse monotonic clock: it may lag CLOCK_MONOTONIC by one
// jiffy (10 ms at HZ=100, the slowest tick Linux has).
constexpr uint64_t kCoarseClockSlackNs = 10'000'000;

inline uint64_t packets(const fg_counters& c) { return c.pass_packets + c.drop_packets; }

}  // namespace floodgate::test
