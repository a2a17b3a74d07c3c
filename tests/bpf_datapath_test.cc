// Table-driven tests of the XDP program on the real kernel (BPF_PROG_TEST_RUN): every
// reason and pass path, IPv4/IPv6, VLAN tags, malformed frames, in enforce and monitor
// mode, each asserting the verdict and the exact counter deltas.
#include <linux/bpf.h>

#include <algorithm>
#include <memory>

#include "packet_builder.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

using PB = PacketBuilder;

struct Case {
  const char* name;
  std::vector<uint8_t> frame;
  fg_reason reason;
  bool default_drop = false;  // policy default for UDP and other protocols: drop
};

// The fixture's rules (see SetUp); sources not listed here are unknown.
constexpr const char* kSrc = "198.18.0.1";
constexpr const char* kDst = "198.19.0.1";
constexpr const char* kSrc6 = "2001:db8:1::1";
constexpr const char* kDst6 = "2001:db8:2::1";

std::vector<uint8_t> cut(std::vector<uint8_t> f, size_t n) {
  f.resize(n);
  return f;
}

std::vector<Case> cases() {
  const size_t ip4 = 14, ip6 = 14;
  return {
      // Pass paths.
      {"v4 udp", PB().udp(40000, 9).bytes(), FG_R_PASS},
      {"v4 tcp syn", PB().tcp(40000, 80).bytes(), FG_R_PASS},
      {"v4 tcp ack", PB().tcp(40000, 80, PB::kAck).bytes(), FG_R_PASS},
      {"v4 tcp with options", PB().tcp(40000, 80).tcp_doff(10).bytes(), FG_R_PASS},
      {"v4 icmp echo", PB().icmp(8).bytes(), FG_R_PASS},
      {"v4 options", PB().ihl(8).udp(40000, 9).bytes(), FG_R_PASS},
      {"v4 gre (other proto)", PB().l4proto(47).bytes(), FG_R_PASS},
      {"v6 udp", PB().ipv6(kSrc6, kDst6).udp(40000, 9).bytes(), FG_R_PASS},
      {"v6 tcp syn", PB().ipv6(kSrc6, kDst6).tcp(40000, 443).bytes(), FG_R_PASS},
      {"v6 icmp6 echo", PB().ipv6(kSrc6, kDst6).icmp(128).bytes(), FG_R_PASS},
      {"v6 hop+routing+dstopts", PB().ipv6(kSrc6, kDst6).ext(0).ext(43).ext(60).udp(1, 9).bytes(),
       FG_R_PASS},
      {"v6 six ext headers",
       PB().ipv6(kSrc6, kDst6).ext(0).ext(60).ext(60).ext(60).ext(60).ext(43).tcp(1, 80).bytes(),
       FG_R_PASS},
      {"vlan v4", PB().vlan().udp(40000, 9).bytes(), FG_R_PASS},
      {"qinq v4", PB().vlan(0x88a8).vlan().tcp(40000, 80).bytes(), FG_R_PASS},
      {"qinq v6", PB().ipv6(kSrc6, kDst6).vlan(0x88a8).vlan().udp(40000, 9).bytes(), FG_R_PASS},
      {"arp", PB().ethertype(0x0806).bytes(), FG_R_PASS_NON_IP},
      {"lldp", PB().ethertype(0x88cc).bytes(), FG_R_PASS_NON_IP},
      {"vlan arp", PB().vlan().ethertype(0x0806).bytes(), FG_R_PASS_NON_IP},
      {"allowed beats policy", PB().ipv4("198.18.55.9", kDst).tcp(1, 23).bytes(), FG_R_PASS_ALLOW},
      {"allowed beats block", PB().ipv4("198.18.55.66", kDst).udp(1, 9).bytes(), FG_R_PASS_ALLOW},
      {"v6 allowed", PB().ipv6("2001:db8:55::7", kDst6).tcp(1, 23).bytes(), FG_R_PASS_ALLOW},
      {"expired block", PB().ipv4("198.18.66.2", kDst).udp(1, 9).bytes(), FG_R_PASS},
      {"udp to an offered service from port 53", PB().udp(53, 53).bytes(), FG_R_PASS},
      {"v4 udp first fragment", PB().udp(40000, 9).fragment(0, true).bytes(), FG_R_PASS},
      {"v4 udp later fragment", PB().udp(40000, 9).fragment(10, false).bytes(), FG_R_PASS},
      {"v6 udp later fragment", PB().ipv6(kSrc6, kDst6).udp(1, 9).fragment(10, false).bytes(),
       FG_R_PASS},
      {"frame padding after the ip packet",
       [] {
         auto f = PB().udp(40000, 9).payload(0).bytes();
         f.resize(60, 0);  // Ethernet minimum frame
         return f;
       }(),
       FG_R_PASS},
      // Block list.
      {"blocked host", PB().ipv4("198.18.66.1", kDst).tcp(1, 80, PB::kAck).bytes(), FG_R_BLOCKED},
      {"blocked prefix", PB().ipv4("198.18.77.200", kDst).udp(1, 9).bytes(), FG_R_BLOCKED},
      {"v6 blocked host", PB().ipv6("2001:db8:66::1", kDst6).udp(1, 9).bytes(), FG_R_BLOCKED},
      {"v6 blocked prefix", PB().ipv6("2001:db8:77:1::9", kDst6).udp(1, 9).bytes(), FG_R_BLOCKED},
      {"vlan blocked", PB().vlan().ipv4("198.18.66.1", kDst).udp(1, 9).bytes(), FG_R_BLOCKED},
      {"auto-blocked", PB().ipv4("198.18.88.1", kDst).udp(1, 9).bytes(), FG_R_REPUTATION},
      // Port/protocol policy.
      {"tcp denied port", PB().tcp(40000, 23).bytes(), FG_R_POLICY},
      {"v6 tcp denied port", PB().ipv6(kSrc6, kDst6).tcp(40000, 23).bytes(), FG_R_POLICY},
      {"udp default drop", PB().udp(40000, 7777).bytes(), FG_R_POLICY, true},
      {"udp allowed port under default drop", PB().udp(40000, 443).bytes(), FG_R_PASS, true},
      {"icmp denied type", PB().icmp(13).bytes(), FG_R_POLICY},
      {"icmp6 denied type", PB().ipv6(kSrc6, kDst6).icmp(139).bytes(), FG_R_POLICY},
      {"sctp denied protocol (v6)", PB().ipv6(kSrc6, kDst6).l4proto(132).bytes(), FG_R_POLICY,
       true},
      // Reflection and fragments.
      {"ntp reflection", PB().udp(123, 40000).bytes(), FG_R_REFLECTION},
      {"dns reflection", PB().udp(53, 9).bytes(), FG_R_REFLECTION},
      {"v6 memcached reflection", PB().ipv6(kSrc6, kDst6).udp(11211, 9).bytes(), FG_R_REFLECTION},
      {"v4 tcp first fragment", PB().tcp(40000, 80).fragment(0, true).bytes(), FG_R_FRAGMENT},
      {"v4 tcp later fragment", PB().tcp(40000, 80).fragment(20, false).bytes(), FG_R_FRAGMENT},
      {"v6 tcp fragment", PB().ipv6(kSrc6, kDst6).tcp(1, 80).fragment(0, true).bytes(),
       FG_R_FRAGMENT},
      // Malformed: every truncation point and inconsistent length.
      {"cut in vlan tag", cut(PB().vlan().udp(1, 9).bytes(), 16), FG_R_MALFORMED},
      {"three vlan tags", PB().vlan(0x88a8).vlan().vlan().udp(1, 9).bytes(), FG_R_MALFORMED},
      {"cut in ipv4 header", cut(PB().udp(1, 9).bytes(), ip4 + 19), FG_R_MALFORMED},
      {"cut in ipv4 options", cut(PB().ihl(8).udp(1, 9).bytes(), ip4 + 30), FG_R_MALFORMED},
      {"ihl 4", PB().ihl(4).udp(1, 9).bytes(), FG_R_MALFORMED},
      {"ip version 6 in an ipv4 frame", PB().ipv6(kSrc6, kDst6).ethertype(0x0800).bytes(),
       FG_R_MALFORMED},
      {"total length past the frame", PB().udp(1, 9).ip_len_delta(1).bytes(), FG_R_MALFORMED},
      {"total length below the header", PB().udp(1, 9).payload(0).ip_len_delta(-9).bytes(),
       FG_R_MALFORMED},
      {"tcp cut by ip length", PB().tcp(1, 80).payload(0).ip_len_delta(-1).bytes(), FG_R_MALFORMED},
      {"tcp cut by frame", cut(PB().tcp(1, 80).payload(0).bytes(), ip4 + 20 + 19), FG_R_MALFORMED},
      {"tcp doff 4", PB().tcp(1, 80).tcp_doff(4).bytes(), FG_R_MALFORMED},
      {"tcp options past the packet",
       PB().tcp(1, 80).tcp_doff(15).payload(0).ip_len_delta(-20).bytes(), FG_R_MALFORMED},
      {"udp cut", PB().udp(1, 9).payload(0).ip_len_delta(-1).bytes(), FG_R_MALFORMED},
      {"udp length below 8", PB().udp(1, 9).udp_len(7).bytes(), FG_R_MALFORMED},
      {"icmp cut", PB().icmp(8).payload(0).ip_len_delta(-4).bytes(), FG_R_MALFORMED},
      {"cut in ipv6 header", cut(PB().ipv6(kSrc6, kDst6).udp(1, 9).bytes(), ip6 + 39),
       FG_R_MALFORMED},
      {"ipv6 payload past the frame", PB().ipv6(kSrc6, kDst6).udp(1, 9).ip_len_delta(1).bytes(),
       FG_R_MALFORMED},
      {"ipv6 payload length 0",
       PB().ipv6(kSrc6, kDst6).udp(1, 9).payload(0).ip_len_delta(-8).bytes(), FG_R_MALFORMED},
      {"ipv6 ext header cut",
       cut(PB().ipv6(kSrc6, kDst6).ext(0).udp(1, 9).payload(0).bytes(), ip6 + 40 + 7),
       FG_R_MALFORMED},
      {"ipv6 seven ext headers",
       PB().ipv6(kSrc6, kDst6)
           .ext(0)
           .ext(60)
           .ext(60)
           .ext(60)
           .ext(60)
           .ext(60)
           .ext(43)
           .udp(1, 9)
           .bytes(),
       FG_R_MALFORMED},
      {"icmp6 cut", PB().ipv6(kSrc6, kDst6).icmp(128).payload(0).ip_len_delta(-1).bytes(),
       FG_R_MALFORMED},
  };
}

class DatapathTest : public ::testing::TestWithParam<fg_mode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(load_test_datapath(dp_));
    fg_config cfg = dp_->config();
    cfg.mode = GetParam();
    cfg.policy_default[FG_PROTO_UDP] = FG_ACT_PASS;
    cfg.policy_default[FG_PROTO_OTHER] = FG_ACT_PASS;
    ASSERT_TRUE(dp_->set_config(cfg).ok());
    allow("198.18.55.0/24");
    allow("2001:db8:55::/48");
    block("198.18.55.66", 0);  // allow wins
    block("198.18.66.1", 0);
    block("2001:db8:66::1", 0);
    block("198.18.66.2", monotonic_ns() - kCoarseClockSlackNs);
    block("198.18.77.0/24", 0);
    block("2001:db8:77::/48", 0);
    block("198.18.88.1", 0, FG_ORIGIN_REPUTATION);
    ASSERT_TRUE(dp_->set_portset(FG_PORTSET(FG_PROTO_TCP, FG_PORTSET_DENY), {23}).ok());
    ASSERT_TRUE(dp_->set_portset(FG_PORTSET(FG_PROTO_UDP, FG_PORTSET_ALLOW), {53, 443}).ok());
    ASSERT_TRUE(dp_->set_portset(FG_PORTSET(FG_PROTO_ICMP, FG_PORTSET_DENY), {13}).ok());
    ASSERT_TRUE(dp_->set_portset(FG_PORTSET(FG_PROTO_ICMP6, FG_PORTSET_DENY), {139}).ok());
  }

  void allow(const char* text) {
    auto p = parse_prefix(text);
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_TRUE(dp_->add_allow(*p).ok());
  }

  void block(const char* text, uint64_t expires, uint32_t origin = FG_ORIGIN_OPERATOR) {
    auto p = parse_prefix(text);
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_TRUE(dp_->add_block(*p, fg_block{expires, 0, origin, 0}).ok());
  }

  // The policy default for UDP and other protocols, per case (Case::default_drop).
  void set_udp_default(fg_action a) {
    fg_config cfg = dp_->config();
    cfg.policy_default[FG_PROTO_UDP] = static_cast<uint8_t>(a);
    cfg.policy_default[FG_PROTO_OTHER] = static_cast<uint8_t>(a);
    ASSERT_TRUE(dp_->set_config(cfg).ok());
  }

  std::unique_ptr<Datapath> dp_;
};

int expected_verdict(fg_mode mode, fg_reason r) {
  if (r < FG_R_FIRST_DROP) return XDP_PASS;
  if (r == FG_R_MALFORMED) return XDP_DROP;  // default malformed_action, in both modes
  return mode == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS;
}

TEST_P(DatapathTest, EveryCaseGetsItsVerdictAndExactlyItsCounter) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    set_udp_default(c.default_drop ? FG_ACT_DROP : FG_ACT_PASS);

    const Counters before = dp_->counters();
    const int verdict = run_xdp(dp_->prog_fd(), c.frame);
    const Counters after = dp_->counters();

    const int want = expected_verdict(GetParam(), c.reason);
    EXPECT_EQ(verdict, want) << "reason expected: " << fg_reason_name(c.reason);
    for (uint32_t r = 0; r < FG_R_MAX; r++) {
      const auto reason = static_cast<fg_reason>(r);
      const uint64_t dp = after[r].pass_packets - before[r].pass_packets;
      const uint64_t dd = after[r].drop_packets - before[r].drop_packets;
      const uint64_t bp = after[r].pass_bytes - before[r].pass_bytes;
      const uint64_t bd = after[r].drop_bytes - before[r].drop_bytes;
      if (reason == c.reason) {
        EXPECT_EQ(dp, want == XDP_PASS ? 1u : 0u) << fg_reason_name(reason);
        EXPECT_EQ(dd, want == XDP_DROP ? 1u : 0u) << fg_reason_name(reason);
        EXPECT_EQ(bp + bd, c.frame.size()) << fg_reason_name(reason);
      } else {
        EXPECT_EQ(dp + dd, 0u) << "unexpected count under " << fg_reason_name(reason);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, DatapathTest, ::testing::Values(FG_MODE_ENFORCE, FG_MODE_MONITOR),
                         [](const auto& info) {
                           return std::string(info.param == FG_MODE_ENFORCE ? "Enforce"
                                                                            : "Monitor");
                         });

// The detector's view: every packet counts under "total" and its vector, whatever the
// verdict (blocked and dropped packets are still offered load).
TEST_P(DatapathTest, TrafficVectorsCountWhatArrivesWhateverTheVerdict) {
  struct VecCase {
    const char* name;
    std::vector<uint8_t> frame;
    std::vector<fg_traffic_vector> vectors;  // besides FG_TV_TOTAL
  };
  const std::vector<VecCase> table = {
      {"syn", PB().tcp(40000, 80).bytes(), {FG_TV_SYN}},
      {"syn from a blocked host", PB().ipv4("198.18.66.1", kDst).tcp(1, 80).bytes(), {FG_TV_SYN}},
      {"ack", PB().tcp(40000, 80, PB::kAck).bytes(), {}},
      {"udp", PB().udp(40000, 9).bytes(), {FG_TV_UDP}},
      {"dns reflection", PB().udp(53, 40000).bytes(), {FG_TV_UDP, FG_TV_REFLECTION}},
      {"ntp reflection v6",
       PB().ipv6(kSrc6, kDst6).udp(123, 40000).bytes(),
       {FG_TV_UDP, FG_TV_REFLECTION}},
      {"icmp", PB().icmp(8).bytes(), {FG_TV_ICMP}},
      {"icmp6", PB().ipv6(kSrc6, kDst6).icmp(128).bytes(), {FG_TV_ICMP}},
      {"later fragment", PB().udp(53, 9).fragment(10, false).bytes(), {FG_TV_FRAGMENT}},
      {"vlan syn", PB().vlan().tcp(40000, 80).bytes(), {FG_TV_SYN}},
      {"arp", PB().ethertype(0x0806).bytes(), {}},
      {"malformed", PB().ihl(4).udp(1, 9).bytes(), {}},
  };
  for (const VecCase& c : table) {
    SCOPED_TRACE(c.name);
    const fg_traffic before = dp_->traffic_for_slot(0);
    ASSERT_GE(run_xdp(dp_->prog_fd(), c.frame), 0);
    const fg_traffic after = dp_->traffic_for_slot(0);
    for (int v = 0; v < FG_TV_MAX; v++) {
      const auto vec = static_cast<fg_traffic_vector>(v);
      const bool want =
          v == FG_TV_TOTAL || std::find(c.vectors.begin(), c.vectors.end(), vec) != c.vectors.end();
      EXPECT_EQ(after.packets[v] - before.packets[v], want ? 1u : 0u)
          << fg_traffic_vector_name(vec);
      EXPECT_EQ(after.bytes[v] - before.bytes[v], want ? c.frame.size() : 0u)
          << fg_traffic_vector_name(vec);
    }
  }
}

// Evidence: with sample_pass_every, passed packets are sampled too (drops always were).
TEST_P(DatapathTest, PassedPacketsAreSampledOnlyWhenAsked) {
  const auto sampled = [&] {
    uint64_t n = 0;
    for (const auto& c : dp_->counters()) n += c.samples;
    return n;
  };
  fg_config cfg = dp_->config();
  cfg.sample_every = 0;
  cfg.sample_pass_every = 0;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  uint64_t before = sampled();
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(run_xdp(dp_->prog_fd(), PB().udp(40000, 9).bytes()), XDP_PASS);
  EXPECT_EQ(sampled() - before, 0u);
  cfg.sample_pass_every = 1;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  before = sampled();
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(run_xdp(dp_->prog_fd(), PB().udp(40000, 9).bytes()), XDP_PASS);
  EXPECT_EQ(sampled() - before, 4u);
}

TEST_P(DatapathTest, MalformedVerdictIsConfigurable) {
  fg_config cfg = dp_->config();
  cfg.malformed_action = FG_ACT_PASS;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  const Counters before = dp_->counters();
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ihl(4).udp(1, 9).bytes()), XDP_PASS);
  const Counters after = dp_->counters();
  EXPECT_EQ(after[FG_R_MALFORMED].pass_packets - before[FG_R_MALFORMED].pass_packets, 1u);
}

TEST_P(DatapathTest, NonFirstFragmentRuleIsConfigurable) {
  fg_config cfg = dp_->config();
  cfg.frag_nonfirst_action = FG_ACT_DROP;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  const int want = GetParam() == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS;
  const Counters before = dp_->counters();
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().udp(1, 9).fragment(10, false).bytes()), want);
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ipv6(kSrc6, kDst6).udp(1, 9).fragment(10, false).bytes()),
            want);
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().udp(1, 9).fragment(0, true).bytes()), XDP_PASS);
  const Counters after = dp_->counters();
  EXPECT_EQ(packets(after[FG_R_FRAGMENT]) - packets(before[FG_R_FRAGMENT]), 2u);

  cfg.frag_tcp_action = FG_ACT_PASS;
  cfg.frag_nonfirst_action = FG_ACT_PASS;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().tcp(1, 80).fragment(0, true).bytes()), XDP_PASS);
}

TEST_P(DatapathTest, ReflectionFilterCanBeSwitchedOff) {
  fg_config cfg = dp_->config();
  cfg.reflection_on = 0;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().udp(123, 40000).bytes()), XDP_PASS);
}

TEST_P(DatapathTest, ListsChangeAtRunTimeWithoutReload) {
  const auto frame = PB().ipv4("198.18.99.1", kDst).udp(1, 9).bytes();
  const int drop = GetParam() == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS;
  const int prog = dp_->prog_fd();
  EXPECT_EQ(run_xdp(prog, frame), XDP_PASS);
  block("198.18.99.0/24", 0);
  EXPECT_EQ(run_xdp(prog, frame), drop);
  allow("198.18.99.1");
  EXPECT_EQ(run_xdp(prog, frame), XDP_PASS);
  ASSERT_TRUE(dp_->remove_allow(*parse_prefix("198.18.99.1")).ok());
  EXPECT_EQ(run_xdp(prog, frame), drop);
  ASSERT_TRUE(dp_->remove_block(*parse_prefix("198.18.99.0/24")).ok());
  EXPECT_EQ(run_xdp(prog, frame), XDP_PASS);
  EXPECT_EQ(dp_->prog_fd(), prog);
  auto b = dp_->find_block(*parse_prefix("198.18.66.1"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->hits, 0u);
  run_xdp(prog, PB().ipv4("198.18.66.1", kDst).udp(1, 9).bytes());
  EXPECT_EQ(dp_->find_block(*parse_prefix("198.18.66.1"))->hits, 1u);
}

// The program skips an empty list without calling its lookup; each list must still work
// when the other one of its family is empty. (Reputation keeps a length in the block
// lists, so it is off here.)
TEST_P(DatapathTest, EachListWorksWhileTheOtherIsEmpty) {
  fg_config cfg = dp_->config();
  cfg.rep_threshold = 0;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  for (const BlockEntry& e : dp_->blocks())
    EXPECT_TRUE(!e.prefix.v4 || dp_->remove_block(e.prefix).ok());
  for (const Prefix& p : dp_->allows()) EXPECT_TRUE(p.v4 || dp_->remove_allow(p).ok());
  const int drop = GetParam() == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS;
  // IPv4: allow entries only. An allowed source passes a port the policy denies.
  const auto allowed = PB().ipv4("198.18.55.9", kDst).tcp(1, 23).bytes();
  const Counters before = dp_->counters();
  EXPECT_EQ(run_xdp(dp_->prog_fd(), allowed), XDP_PASS);
  EXPECT_EQ(dp_->counters()[FG_R_PASS_ALLOW].pass_packets - before[FG_R_PASS_ALLOW].pass_packets,
            1u);
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ipv4("198.18.56.9", kDst).tcp(1, 23).bytes()), drop);
  // IPv6: block entries only.
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ipv6("2001:db8:66::1", kDst6).udp(1, 9).bytes()), drop);
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ipv6("2001:db8:66::2", kDst6).udp(1, 9).bytes()),
            XDP_PASS);
}

TEST_P(DatapathTest, PrefixLengthsBeyondTheLimitAreRefusedWithAUsableMessage) {
  // The fixture's IPv6 block list uses /128 and /48, and reputation adds /64: three
  // lengths. (IPv4 lengths are counted apart and do not take IPv6 room.)
  constexpr unsigned kFixtureLens = 3;
  unsigned added = 0;
  for (unsigned len = 8; len <= 17; len++)  // IPv4 lengths: no effect on IPv6 room
    ASSERT_TRUE(dp_->add_block(*parse_prefix("0.0.0.0/" + std::to_string(len)),
                               {0, 0, FG_ORIGIN_OPERATOR, 0})
                    .ok())
        << len;
  for (unsigned len = 16; added < FG_MAX_PREFIX_LENS - kFixtureLens; len++, added++)
    ASSERT_TRUE(dp_->add_block(*parse_prefix("2000::/" + std::to_string(len)),
                               {0, 0, FG_ORIGIN_OPERATOR, 0})
                    .ok())
        << len;
  auto s = dp_->add_block(*parse_prefix("2001:db8:abcd::/56"), {0, 0, FG_ORIGIN_OPERATOR, 0});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(s.error().message.find("2001:db8:abcd::/56"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("IPv6 prefix lengths (/128, /64, /48, /27"), std::string::npos)
      << s.error().message;
  // A length already in use still fits, and the refused entry is not there.
  EXPECT_TRUE(
      dp_->add_block(*parse_prefix("2001:db8:abcd::/48"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  EXPECT_FALSE(dp_->find_block(*parse_prefix("2001:db8:abcd::/56")).has_value());
  // Removing the last entry of a length frees it.
  ASSERT_TRUE(dp_->remove_block(*parse_prefix("2000::/16")).ok());
  EXPECT_TRUE(
      dp_->add_block(*parse_prefix("2001:db8:abcd::/56"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  EXPECT_EQ(run_xdp(dp_->prog_fd(), PB().ipv6("2001:db8:abcd:0:1::1", kDst6).udp(1, 9).bytes()),
            GetParam() == FG_MODE_ENFORCE ? XDP_DROP : XDP_PASS);
}

}  // namespace
}  // namespace floodgate::test
