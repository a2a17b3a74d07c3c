// Fuzzing the XDP program on the real kernel: valid frames of every kind, mutated (bytes
// flipped, cut short, lengthened with junk) or replaced by random bytes, each run through
// BPF_PROG_TEST_RUN. Whatever arrives, the program must give PASS or DROP, count the
// packet under exactly one reason (with its length), and give the verdict that reason
// means. A fixed seed makes a failure repeatable; the failing frame is printed.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

using PB = PacketBuilder;

std::vector<std::vector<uint8_t>> seeds() {
  return {
      PB().ipv4("198.18.1.1", "198.18.0.1").udp(5000, 53).payload(20).bytes(),
      PB().ipv4("198.18.66.1", "198.18.0.1").udp(123, 9).payload(40).bytes(),
      PB().ipv4("198.18.1.2", "198.18.0.1").tcp(40000, 443).bytes(),
      PB().ipv4("198.18.1.3", "198.18.0.1").icmp(8).payload(8).bytes(),
      PB().ipv4("198.18.1.4", "198.18.0.1").ihl(7).udp(1, 2).bytes(),
      PB().ipv4("198.18.1.5", "198.18.0.1").fragment(0, true).udp(1, 2).payload(16).bytes(),
      PB().ipv4("198.18.1.6", "198.18.0.1").fragment(3, false).udp(1, 2).bytes(),
      PB().vlan().vlan(0x88a8).ipv4("198.18.1.7", "198.18.0.1").tcp(1, 22).bytes(),
      PB().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 80).bytes(),
      PB().ipv6("2001:db8:66::1", "2001:db8::2").udp(53, 9).payload(30).bytes(),
      PB().ipv6("2001:db8::3", "2001:db8::2").ext(0).ext(43).ext(60).udp(1, 2).bytes(),
      PB().ipv6("2001:db8::4", "2001:db8::2").ext(44).tcp(1, 2).bytes(),
      PB().ipv6("2001:db8::5", "2001:db8::2").icmp(128).bytes(),
      PB().ethertype(0x0806).payload(28).bytes(),
  };
}

std::string hex(const std::vector<uint8_t>& f) {
  std::string s;
  char b[4];
  for (uint8_t c : f) std::snprintf(b, sizeof(b), "%02x", c), s += b;
  return s;
}

TEST(FuzzDatapath, AnyFrameGetsOneReasonOneCountAndItsVerdict) {
  std::unique_ptr<Datapath> dp;
  ASSERT_TRUE(load_test_datapath(dp));
  fg_config cfg = dp->config();
  cfg.mode = FG_MODE_ENFORCE;
  ASSERT_TRUE(dp->set_config(cfg).ok());
  for (const char* b : {"198.18.66.1", "2001:db8:66::1", "198.18.77.0/24"})
    ASSERT_TRUE(dp->add_block(*parse_prefix(b), fg_block{0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  ASSERT_TRUE(dp->add_allow(*parse_prefix("198.18.1.3")).ok());

  const auto base = seeds();
  std::mt19937 rng(20261205);
  auto below = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  constexpr int kRuns = 20000;
  for (int run = 0; run < kRuns; run++) {
    std::vector<uint8_t> f = base[below(base.size())];
    switch (below(4)) {
      case 0:  // flip a few bytes
        for (size_t i = 0, n = 1 + below(4); i < n; i++) f[below(f.size())] ^= 1 + below(255);
        break;
      case 1:  // cut short (XDP test runs need an Ethernet header)
        f.resize(14 + below(f.size() - 13));
        break;
      case 2:  // junk after it, and a flipped byte in the headers
        for (size_t i = 0, n = below(64); i < n; i++) f.push_back(static_cast<uint8_t>(rng()));
        f[below(std::min<size_t>(f.size(), 80))] ^= 1 + below(255);
        break;
      default:  // random bytes, keeping an IP ethertype half of the time
        f.resize(14 + below(120));
        for (uint8_t& c : f) c = static_cast<uint8_t>(rng());
        if (below(2)) f[12] = below(2) ? 0x08 : 0x86, f[13] = f[12] == 0x08 ? 0x00 : 0xdd;
    }
    const Counters before = dp->counters();
    const int verdict = run_xdp(dp->prog_fd(), f);
    const Counters after = dp->counters();
    ASSERT_TRUE(verdict == XDP_PASS || verdict == XDP_DROP) << verdict << " for " << hex(f);
    int counted = 0;
    for (uint32_t r = 0; r < FG_R_MAX; r++) {
      const uint64_t n = packets(after[r]) - packets(before[r]);
      if (n == 0) continue;
      counted++;
      const auto reason = static_cast<fg_reason>(r);
      ASSERT_EQ(n, 1u) << fg_reason_name(reason) << " for " << hex(f);
      const uint64_t bytes =
          after[r].pass_bytes + after[r].drop_bytes - before[r].pass_bytes - before[r].drop_bytes;
      ASSERT_EQ(bytes, f.size()) << fg_reason_name(reason) << " for " << hex(f);
      const int want = r < FG_R_FIRST_DROP ? XDP_PASS : XDP_DROP;  // enforce; malformed: drop
      ASSERT_EQ(verdict, want) << fg_reason_name(reason) << " for " << hex(f);
      ASSERT_EQ(after[r].drop_packets - before[r].drop_packets, verdict == XDP_DROP ? 1u : 0u)
          << fg_reason_name(reason) << " for " << hex(f);
    }
    ASSERT_EQ(counted, 1) << "run " << run << ": " << hex(f);
  }
}

}  // namespace
}  // namespace floodgate::test
