// Pure logic: prefix parsing and printing, rate-limit conversion, defaults, names.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bucket.h"
#include "defaults.h"
#include "prefix.h"
#include "prefix_lens.h"

namespace floodgate {
namespace {

TEST(Prefix, ParsesAddressesAndPrefixes) {
  EXPECT_EQ(parse_prefix("192.0.2.1")->str(), "192.0.2.1/32");
  EXPECT_EQ(parse_prefix("192.0.2.0/24")->str(), "192.0.2.0/24");
  EXPECT_EQ(parse_prefix("2001:db8::/32")->str(), "2001:db8::/32");
  EXPECT_EQ(parse_prefix("2001:db8::1")->str(), "2001:db8::1/128");
  EXPECT_EQ(parse_prefix("0.0.0.0/0")->lpm_len(), 96u);
  EXPECT_TRUE(parse_prefix("192.0.2.1")->is_host());
  EXPECT_FALSE(parse_prefix("192.0.2.0/31")->is_host());
  EXPECT_EQ(parse_prefix("10.0.0.0/8")->lpm_len(), 104u);
}

TEST(Prefix, ErrorsSayWhatToChange) {
  auto r = parse_prefix("192.0.2.1/24");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("did you mean 192.0.2.0/24?"), std::string::npos)
      << r.error().message;
  EXPECT_NE(parse_prefix("2001:db8::1/64").error().message.find("2001:db8::/64"),
            std::string::npos);
  EXPECT_NE(parse_prefix("192.0.2.0/33").error().message.find("0..32"), std::string::npos);
  EXPECT_NE(parse_prefix("2001:db8::/129").error().message.find("0..128"), std::string::npos);
  for (const char* bad : {"", "/24", "192.0.2.0/", "192.0.2.0/x", "192.0.2.0/24/1", "host.example",
                          "192.0.2.256", "1.2.3.4 "}) {
    EXPECT_FALSE(parse_prefix(bad).ok()) << bad;
  }
  EXPECT_NE(parse_prefix("::ffff:192.0.2.1").error().message.find("IPv4 form"), std::string::npos);
}

TEST(Prefix, RoundTripsThroughLpmKeys) {
  for (const char* text :
       {"192.0.2.0/24", "198.18.0.1/32", "2001:db8:1::/48", "64:ff9b::/96", "0.0.0.0/0"}) {
    const Prefix p = *parse_prefix(text);
    EXPECT_EQ(prefix_from_key(p.lpm_key()), p) << text;
  }
}

TEST(PrefixLens, EncodesLengthsInUseLongestFirst) {
  PrefixLens l;
  EXPECT_EQ(l.encode().count, 0);
  EXPECT_TRUE(l.add(120));
  EXPECT_TRUE(l.add(128));
  EXPECT_FALSE(l.add(128)) << "a second /128 does not change the set";
  EXPECT_TRUE(l.add(48));
  fg_prefix_lens e = l.encode();
  ASSERT_EQ(e.count, 3);
  EXPECT_EQ(e.len[0], 128);
  EXPECT_EQ(e.len[1], 120);
  EXPECT_EQ(e.len[2], 48);
  EXPECT_FALSE(l.remove(128));
  EXPECT_EQ(l.encode().count, 3) << "one /128 entry is left";
  EXPECT_TRUE(l.remove(128));
  EXPECT_EQ(l.encode().count, 2);
  EXPECT_FALSE(l.remove(128));  // more removals than adds never underflow
  l.add(128);
  EXPECT_EQ(l.encode().len[0], 128);
}

TEST(PrefixLens, LimitsDistinctLengthsCountingReserved) {
  PrefixLens l;
  ASSERT_TRUE(l.set_reserved({128, 64}));
  for (unsigned len = 0; len < FG_MAX_PREFIX_LENS - 2; len++) {
    ASSERT_TRUE(l.can_add(len)) << len;
    l.add(len);
  }
  EXPECT_FALSE(l.can_add(100));
  EXPECT_TRUE(l.can_add(128)) << "reserved lengths are in use already";
  EXPECT_TRUE(l.can_add(3)) << "lengths in use always fit";
  EXPECT_FALSE(l.set_reserved({128, 64, 100})) << "a further reserved length does not fit";
  EXPECT_EQ(l.encode().count, FG_MAX_PREFIX_LENS);
  EXPECT_FALSE(l.can_add(129));
  EXPECT_EQ(l.describe(true).substr(0, 10), "/128, /64,") << l.describe(true);
  PrefixLens v4;
  v4.add(128);
  v4.add(120);
  EXPECT_EQ(v4.describe(false), "/32, /24");
  EXPECT_EQ(PrefixLens().describe(false), "none");
}

TEST(Bucket, ConvertsRateAndBurst) {
  const fg_bucket_cfg c = bucket_config({100, 10});
  EXPECT_EQ(c.interval_fp, (10'000'000ull << FG_FP_SHIFT));  // 10 ms per packet
  EXPECT_EQ(c.burst_ns, 100'000'000ull);
  EXPECT_EQ(bucket_config({0, 10}).interval_fp, 0u) << "rate 0 = no limit";
  EXPECT_EQ(bucket_config({1, 0}).burst_ns, 1'000'000'000ull) << "burst at least 1";
  for (RateLimit l : {RateLimit{1, 1}, RateLimit{200, 400}, RateLimit{20'000'000, 4'000'000},
                      RateLimit{3, 7}, RateLimit{1'000'000, 1}}) {
    const RateLimit back = rate_limit_of(bucket_config(l));
    EXPECT_EQ(back.rate, l.rate);
    EXPECT_EQ(back.burst, l.burst);
  }
}

TEST(Defaults, MatchTheDocumentedValues) {
  const fg_config c = default_config();
  EXPECT_EQ(c.layout_version, static_cast<uint32_t>(FG_LAYOUT_VERSION));
  EXPECT_EQ(c.mode, FG_MODE_MONITOR);
  EXPECT_EQ(c.malformed_action, FG_ACT_DROP);
  EXPECT_EQ(c.src_prefix_v4, 32);
  EXPECT_EQ(c.src_prefix_v6, 64);
  EXPECT_EQ(rate_limit_of(c.src[FG_VEC_SYN]).rate, 200u);
  const std::set<uint16_t> ports(default_reflection_ports().begin(),
                                 default_reflection_ports().end());
  for (uint16_t p : {19, 53, 111, 123, 137, 161, 389, 1900, 3702, 5353, 11211})
    EXPECT_TRUE(ports.count(p)) << p;
}

TEST(Reasons, EveryReasonHasAUniqueName) {
  std::set<std::string> names;
  for (int r = 0; r < FG_R_MAX; r++) {
    const std::string n = fg_reason_name(static_cast<fg_reason>(r));
    EXPECT_NE(n, "unknown");
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

TEST(Layout, SharedStructsKeepTheirSizes) {
  EXPECT_LE(sizeof(fg_src_state), 64u) << "budget: 64 bytes of state per tracked source";
  EXPECT_EQ(sizeof(fg_lpm_key), 20u);
  EXPECT_EQ(sizeof(fg_portset), 8192u);
}

}  // namespace
}  // namespace floodgate
