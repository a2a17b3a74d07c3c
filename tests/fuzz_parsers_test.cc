// Fuzzing the parsers that read untrusted input in user space, built with AddressSanitizer
// and UndefinedBehaviorSanitizer (see tests/CMakeLists.txt): sampled packet bytes from the
// ring buffer (whatever came off the wire, with any capture length), and the prefixes
// operators and files give. No input may read out of bounds; what parses must round-trip.
#include <gtest/gtest.h>
#include <sanitizer/asan_interface.h>

#include <random>
#include <string>

#include "packet_builder.h"
#include "prefix.h"
#include "samples.h"

namespace floodgate {
namespace {

using test::PacketBuilder;

TEST(FuzzParsers, SampledBytesNeverReadPastTheCapture) {
  const std::vector<std::vector<uint8_t>> seeds = {
      PacketBuilder().ipv4("198.18.1.1", "198.18.0.1").udp(53, 9).payload(80).bytes(),
      PacketBuilder().vlan().vlan().ipv4("198.18.1.2", "198.18.0.1").tcp(1, 2).bytes(),
      PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").ext(0).udp(1, 2).bytes(),
      PacketBuilder().ipv4("198.18.1.3", "198.18.0.1").ihl(15).udp(1, 2).bytes(),
  };
  std::mt19937 rng(20261205);
  uint64_t parsed = 0;
  for (int run = 0; run < 200000; run++) {
    fg_sample s{};
    const auto& seed = seeds[rng() % seeds.size()];
    const size_t n = std::min(seed.size(), sizeof(s.data));
    std::memcpy(s.data, seed.data(), n);
    for (int i = 0, flips = static_cast<int>(rng() % 6); i < flips; i++)
      s.data[rng() % sizeof(s.data)] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0)
      for (uint8_t& c : s.data) c = static_cast<uint8_t>(rng());
    s.cap_len = rng() % 300;  // the daemon must not trust the kernel's length either
    s.pkt_len = static_cast<uint32_t>(rng());
    // Bytes past the capture are poisoned: reading one is an AddressSanitizer error.
    auto heap = std::make_unique<fg_sample>(s);
    const size_t captured = std::min<size_t>(s.cap_len, sizeof(s.data));
    ASAN_POISON_MEMORY_REGION(heap->data + captured, sizeof(s.data) - captured);
    const auto info = parse_sample(*heap);
    ASAN_UNPOISON_MEMORY_REGION(heap->data, sizeof(s.data));
    if (info) {
      parsed++;
      EXPECT_EQ(info->source.v4, info->destination.v4);
      EXPECT_TRUE(info->source.is_host());
    }
  }
  EXPECT_GT(parsed, 1000u) << "the seeds should mostly still parse";
}

TEST(FuzzParsers, PrefixTextsEitherFailOrRoundTrip) {
  const std::string alphabet = "0123456789abcdefABCDEF:./ x%-";
  std::mt19937 rng(20261205);
  uint64_t ok = 0;
  for (int run = 0; run < 200000; run++) {
    std::string t;
    for (size_t i = 0, n = rng() % 48; i < n; i++) t += alphabet[rng() % alphabet.size()];
    if (rng() % 3 == 0)
      t = std::to_string(rng() % 300) + "." + std::to_string(rng() % 300) + "." +
          std::to_string(rng() % 300) + "." + std::to_string(rng() % 300) +
          (rng() % 2 ? "/" + std::to_string(rng() % 40) : "");
    auto p = parse_prefix(t);
    if (!p.ok()) {
      EXPECT_FALSE(p.error().message.empty()) << t;
      continue;
    }
    ok++;
    auto again = parse_prefix(p->str());
    ASSERT_TRUE(again.ok()) << t << " -> " << p->str();
    EXPECT_EQ(*again, *p) << t;
    EXPECT_EQ(p->truncated(p->len), *p) << "no host bits: " << t;
  }
  EXPECT_GT(ok, 1000u);
}

}  // namespace
}  // namespace floodgate
