// Time-dependent behaviour of the XDP program on the real kernel clock: expiry, token
// buckets (burst, refill), prefix aggregation, aggregate limits, reputation and sampling.
// Margins are chosen so that only a stall of tens of milliseconds could disturb them;
// nothing asserts how long anything took.
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <chrono>
#include <memory>
#include <thread>

#include "bucket.h"
#include "packet_builder.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

using PB = PacketBuilder;
using namespace std::chrono_literals;

class TimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(load_test_datapath(dp_));
    cfg_ = dp_->config();
    cfg_.mode = FG_MODE_ENFORCE;
    cfg_.rep_threshold = 0;  // tests that want reputation switch it on
    for (auto& b : cfg_.src) b = {};
    apply();
  }

  void apply() { ASSERT_TRUE(dp_->set_config(cfg_).ok()); }
  int run(const std::vector<uint8_t>& f) { return run_xdp(dp_->prog_fd(), f); }
  uint64_t count(fg_reason r) { return packets(dp_->counters()[r]); }

  // Sends `n` frames; returns how many passed.
  int passed_of(int n, const std::vector<uint8_t>& f) {
    int passed = 0;
    for (int i = 0; i < n; i++) passed += run(f) == XDP_PASS;
    return passed;
  }

  // An aggregate SYN limit of 1/s with `burst` on 198.19.0.0/24, per-source limits that
  // never trip; syn()/ack() make the handshake's packets to 198.19.0.9.
  void protect_with_syn_aggregate(uint64_t burst) {
    cfg_.agg[FG_VEC_SYN] = bucket_config({1, burst});
    cfg_.agg_on = 1;
    cfg_.src[FG_VEC_SYN] = bucket_config({1000, 1000});
    apply();
    ASSERT_TRUE(dp_->add_protected(*parse_prefix("198.19.0.0/24"), 0).ok());
  }
  static std::vector<uint8_t> syn(const std::string& src) {
    return PB().ipv4(src, "198.19.0.9").tcp(40000, 80).bytes();
  }
  static std::vector<uint8_t> ack(const std::string& src) {
    return PB().ipv4(src, "198.19.0.9").tcp(40000, 80, PB::kAck).bytes();
  }

  std::unique_ptr<Datapath> dp_;
  fg_config cfg_{};
};

TEST_F(TimeTest, BlockStopsDroppingOnceExpired) {
  const auto frame = PB().ipv4("198.18.3.3", "198.19.0.1").udp(1, 9).bytes();
  const Prefix p = *parse_prefix("198.18.3.3");
  ASSERT_TRUE(dp_->add_block(p, {monotonic_ns() + 300'000'000, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  EXPECT_EQ(run(frame), XDP_DROP);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(run(frame), XDP_PASS);
  EXPECT_EQ(count(FG_R_BLOCKED), 1u);
  EXPECT_EQ(dp_->find_block(p)->hits, 1u) << "an expired entry must not count hits";
}

TEST_F(TimeTest, LongestUnexpiredMatchDecides) {
  const auto frame = PB().ipv4("198.18.4.4", "198.19.0.1").udp(1, 9).bytes();
  // An expired host block in front of a live /24: the /24 still drops.
  ASSERT_TRUE(dp_->add_block(*parse_prefix("198.18.4.4"),
                             {monotonic_ns() - kCoarseClockSlackNs, 0, FG_ORIGIN_OPERATOR, 0})
                  .ok());
  ASSERT_TRUE(dp_->add_block(*parse_prefix("198.18.4.0/24"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  ASSERT_TRUE(dp_->add_block(*parse_prefix("198.18.0.0/16"), {0, 0, FG_ORIGIN_REPUTATION, 0}).ok());
  EXPECT_EQ(run(frame), XDP_DROP);
  EXPECT_EQ(count(FG_R_BLOCKED), 1u) << "the /24 (operator) is longer than the /16 (reputation)";
  EXPECT_EQ(dp_->find_block(*parse_prefix("198.18.4.0/24"))->hits, 1u);
  EXPECT_EQ(dp_->find_block(*parse_prefix("198.18.0.0/16"))->hits, 0u);
  ASSERT_TRUE(dp_->remove_block(*parse_prefix("198.18.4.0/24")).ok());
  EXPECT_EQ(run(frame), XDP_DROP);
  EXPECT_EQ(count(FG_R_REPUTATION), 1u);
}

TEST_F(TimeTest, SynBucketPassesExactlyBurstThenDrops) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 5});
  apply();
  const auto syn = PB().tcp(40000, 80).bytes();
  EXPECT_EQ(passed_of(5, syn), 5);
  EXPECT_EQ(run(syn), XDP_DROP);
  EXPECT_EQ(count(FG_R_SYN_RATE), 1u);
  // Established traffic from the same source is not new connections.
  EXPECT_EQ(run(PB().tcp(40000, 80, PB::kAck).bytes()), XDP_PASS);
}

TEST_F(TimeTest, BucketRefillsAfterItsInterval) {
  cfg_.src[FG_VEC_ICMP] = bucket_config({10, 3});  // one token per 100 ms
  apply();
  const auto ping = PB().icmp(8).bytes();
  EXPECT_EQ(passed_of(4, ping), 3);
  std::this_thread::sleep_for(110ms);
  EXPECT_EQ(run(ping), XDP_PASS);
  EXPECT_EQ(run(ping), XDP_DROP);
  std::this_thread::sleep_for(320ms);  // three tokens back, never more than the burst
  EXPECT_EQ(passed_of(4, ping), 3);
  EXPECT_EQ(count(FG_R_ICMP_RATE), 3u);
}

TEST_F(TimeTest, UdpByteBucketCountsBytes) {
  const auto frame = PB().udp(40000, 9).payload(200 - 42).bytes();  // 200 bytes on the wire
  ASSERT_EQ(frame.size(), 200u);
  cfg_.src[FG_VEC_UDP_BYTES] = bucket_config({1, 1000});
  apply();
  EXPECT_EQ(passed_of(6, frame), 5);
  EXPECT_EQ(count(FG_R_UDP_BYTES), 1u);
  cfg_.src[FG_VEC_UDP_BYTES] = {};
  cfg_.src[FG_VEC_UDP_PKTS] = bucket_config({1, 2});
  apply();
  EXPECT_EQ(passed_of(3, frame), 2);
  EXPECT_EQ(count(FG_R_UDP_RATE), 1u);
}

TEST_F(TimeTest, SourcesAreAggregatedByPrefix) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 3});
  cfg_.src_prefix_v4 = 24;
  apply();
  int passed = 0;
  for (int i = 1; i <= 6; i++)
    passed += run(PB().ipv4("198.18.5." + std::to_string(i), "198.19.0.1").tcp(1, 80).bytes()) ==
              XDP_PASS;
  EXPECT_EQ(passed, 3) << "six sources in one /24 share one bucket";
  EXPECT_EQ(run(PB().ipv4("198.18.6.1", "198.19.0.1").tcp(1, 80).bytes()), XDP_PASS)
      << "the next /24 has its own bucket";
  // IPv6 by /64 (the default): low bits rotate, the bucket stays the same.
  passed = 0;
  for (int i = 1; i <= 6; i++)
    passed +=
        run(PB().ipv6("2001:db8:9:1::" + std::to_string(i), "2001:db8::1").tcp(1, 80).bytes()) ==
        XDP_PASS;
  EXPECT_EQ(passed, 3);
  fg_addr key = parse_prefix("198.18.5.0/24")->addr;
  ASSERT_TRUE(dp_->source_state(key).has_value()) << "state is keyed by the masked source";
  EXPECT_EQ(dp_->source_state(key)->violations, 3u);
}

TEST_F(TimeTest, AggregateLimitCapsManySourcesToOneDestination) {
  cfg_.agg[FG_VEC_SYN] = bucket_config({1, 4});
  cfg_.agg_on = 1;
  cfg_.src[FG_VEC_SYN] = bucket_config({1000, 1000});
  apply();
  ASSERT_TRUE(dp_->add_protected(*parse_prefix("198.19.0.0/24"), 0).ok());
  int passed = 0;
  for (int i = 1; i <= 20; i++)
    passed += run(PB().ipv4("198.18.7." + std::to_string(i), "198.19.0.9").tcp(1, 80).bytes()) ==
              XDP_PASS;
  EXPECT_EQ(passed, 4);
  EXPECT_EQ(count(FG_R_AGG_SYN), 16u);
  EXPECT_EQ(count(FG_R_SYN_RATE), 0u);
  EXPECT_EQ(run(PB().ipv4("198.18.7.1", "198.19.1.9").tcp(1, 80).bytes()), XDP_PASS)
      << "an unprotected destination has no aggregate limit";
}

// A spoofed flood that the aggregate caps makes no per-source state: a million spoofed
// addresses would otherwise fill the LRU and evict real clients' state, handshake marks
// included, which is what lets them past the SYN aggregate during the flood.
TEST_F(TimeTest, SourcesTheAggregateDropsGetNoStateAndVerifiedClientsKeepTheirs) {
  ASSERT_NO_FATAL_FAILURE(protect_with_syn_aggregate(2));
  ASSERT_EQ(run(syn("198.18.50.1")), XDP_PASS);  // a client: one of the two tokens
  ASSERT_EQ(run(ack("198.18.50.1")), XDP_PASS);  // its handshake completes
  int passed = 0, with_state = 0;
  for (int i = 0; i < 500; i++) {
    const std::string src = "100.64." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    passed += run(syn(src)) == XDP_PASS;
    with_state += dp_->source_state(parse_prefix(src)->addr).has_value();
  }
  EXPECT_EQ(passed, 1) << "the aggregate's last token";
  EXPECT_EQ(with_state, 1) << "only the source the aggregate let through has state";
  EXPECT_EQ(count(FG_R_AGG_SYN), 499u);
  EXPECT_EQ(passed_of(3, syn("198.18.50.1")), 3) << "the verified client still gets through";
}

// SYN authentication by handshake: a source that sent a SYN and then an ACK skips the
// aggregate SYN limit; one that only sends SYNs (a spoofed address) does not.
TEST_F(TimeTest, SourcesThatCompleteHandshakesSkipTheSynAggregate) {
  ASSERT_NO_FATAL_FAILURE(protect_with_syn_aggregate(1));
  ASSERT_EQ(run(syn("198.18.8.1")), XDP_PASS);  // spends the aggregate's one token
  EXPECT_EQ(run(syn("198.18.8.2")), XDP_DROP);  // the aggregate is empty
  EXPECT_EQ(run(syn("198.18.8.1")), XDP_DROP) << "not verified yet";
  ASSERT_EQ(run(ack("198.18.8.1")), XDP_PASS);  // completes its handshake
  EXPECT_EQ(passed_of(5, syn("198.18.8.1")), 5) << "verified: the aggregate no longer applies";
  EXPECT_EQ(run(syn("198.18.8.2")), XDP_DROP) << "others still meet the aggregate";
  EXPECT_EQ(run(ack("198.18.8.3")), XDP_PASS);  // an ACK alone creates no state ...
  EXPECT_EQ(run(syn("198.18.8.3")), XDP_DROP) << "... and verifies nothing";
  auto key = parse_prefix("198.18.8.1");
  ASSERT_TRUE(key.ok());
  auto st = dp_->source_state(key->addr);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->flags & FG_SRC_VERIFIED, FG_SRC_VERIFIED);
}

TEST_F(TimeTest, ReputationAutoBlocksAfterConfiguredViolations) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 1});
  cfg_.rep_threshold = 3 * FG_REP_ONE;
  cfg_.rep_per_violation = FG_REP_ONE;
  cfg_.rep_half_life_ns = 60'000'000'000ull;
  cfg_.rep_block_ttl_ns = 30'000'000'000ull;
  apply();
  const auto syn = PB().ipv4("198.18.8.1", "198.19.0.1").tcp(1, 80).bytes();
  const Prefix src = *parse_prefix("198.18.8.1");
  EXPECT_EQ(run(syn), XDP_PASS);
  EXPECT_EQ(run(syn), XDP_DROP);  // violation 1
  EXPECT_EQ(run(syn), XDP_DROP);  // violation 2
  EXPECT_FALSE(dp_->find_block(src).has_value());
  const uint64_t before = monotonic_ns();
  EXPECT_EQ(run(syn), XDP_DROP);  // violation 3: auto-block
  auto b = dp_->find_block(src);
  ASSERT_TRUE(b.has_value()) << "auto-block must appear in the block map";
  EXPECT_EQ(b->origin, static_cast<uint32_t>(FG_ORIGIN_REPUTATION));
  EXPECT_GE(b->expires_ns, before - kCoarseClockSlackNs + cfg_.rep_block_ttl_ns);
  EXPECT_LE(b->expires_ns, monotonic_ns() + cfg_.rep_block_ttl_ns);
  // Now dropped by the block, even a packet no limit would stop.
  EXPECT_EQ(run(PB().ipv4("198.18.8.1", "198.19.0.1").udp(1, 9).bytes()), XDP_DROP);
  EXPECT_EQ(count(FG_R_REPUTATION), 1u);
  // The daemon lifts it like any block.
  ASSERT_TRUE(dp_->remove_block(src).ok());
  EXPECT_EQ(run(PB().ipv4("198.18.8.1", "198.19.0.1").udp(1, 9).bytes()), XDP_PASS);
}

TEST_F(TimeTest, ReputationBlocksTheAggregatedPrefix) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 1});
  cfg_.src_prefix_v4 = 24;
  cfg_.rep_threshold = 2 * FG_REP_ONE;
  cfg_.rep_per_violation = FG_REP_ONE;
  cfg_.rep_block_ttl_ns = 30'000'000'000ull;
  apply();
  for (int i = 1; i <= 3; i++)
    run(PB().ipv4("198.18.9." + std::to_string(i), "198.19.0.1").tcp(1, 80).bytes());
  auto b = dp_->find_block(*parse_prefix("198.18.9.0/24"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(run(PB().ipv4("198.18.9.200", "198.19.0.1").udp(1, 9).bytes()), XDP_DROP);
}

TEST_F(TimeTest, ReputationScoreDecays) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 1});
  cfg_.rep_threshold = 3 * FG_REP_ONE;
  cfg_.rep_per_violation = FG_REP_ONE;
  cfg_.rep_half_life_ns = 40'000'000;  // 40 ms
  apply();
  const auto syn = PB().ipv4("198.18.10.1", "198.19.0.1").tcp(1, 80).bytes();
  run(syn);
  run(syn);
  run(syn);                            // two violations: score 2
  std::this_thread::sleep_for(250ms);  // six half-lives: score ~0.03
  run(syn);
  run(syn);  // two more: ~2.03 < 3
  EXPECT_FALSE(dp_->find_block(*parse_prefix("198.18.10.1")).has_value());
  run(syn);  // third in a row crosses
  EXPECT_TRUE(dp_->find_block(*parse_prefix("198.18.10.1")).has_value());
}

TEST_F(TimeTest, DropsAreSampledIntoTheRingBuffer) {
  cfg_.sample_every = 2;
  apply();
  ASSERT_TRUE(dp_->add_block(*parse_prefix("198.18.11.1"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  const auto frame = PB().ipv4("198.18.11.1", "198.19.0.1").udp(1, 9).payload(300).bytes();
  for (int i = 0; i < 6; i++) run(frame);
  run(PB().udp(1, 9).bytes());  // a pass: never sampled

  std::vector<fg_sample> got;
  auto on_sample = [](void* ctx, void* data, size_t size) -> int {
    if (size >= sizeof(fg_sample))
      static_cast<std::vector<fg_sample>*>(ctx)->push_back(*static_cast<fg_sample*>(data));
    return 0;
  };
  ring_buffer* rb = ring_buffer__new(dp_->events_fd(), on_sample, &got, nullptr);
  ASSERT_NE(rb, nullptr);
  ring_buffer__consume(rb);
  ring_buffer__free(rb);
  ASSERT_EQ(got.size(), 3u) << "1 in 2 of 6 drops";
  for (const auto& s : got) {
    EXPECT_EQ(s.reason, static_cast<uint32_t>(FG_R_BLOCKED));
    EXPECT_EQ(s.verdict, FG_ACT_DROP);
    EXPECT_EQ(s.pkt_len, frame.size());
    EXPECT_EQ(s.cap_len, static_cast<uint32_t>(FG_SAMPLE_BYTES));
    EXPECT_EQ(0, std::memcmp(s.data, frame.data(), FG_SAMPLE_BYTES));
  }
  EXPECT_EQ(dp_->counters()[FG_R_BLOCKED].samples, 3u);
}

TEST_F(TimeTest, ShortFramesAreSampledWhole) {
  cfg_.sample_every = 1;
  apply();
  const auto frame = PB().tcp(1, 23).payload(0).bytes();  // 54 bytes
  ASSERT_TRUE(dp_->set_portset(FG_PORTSET(FG_PROTO_TCP, FG_PORTSET_DENY), {23}).ok());
  run(frame);
  fg_sample got{};
  auto on_sample = [](void* ctx, void* data, size_t) -> int {
    *static_cast<fg_sample*>(ctx) = *static_cast<fg_sample*>(data);
    return 0;
  };
  ring_buffer* rb = ring_buffer__new(dp_->events_fd(), on_sample, &got, nullptr);
  ASSERT_NE(rb, nullptr);
  EXPECT_EQ(ring_buffer__consume(rb), 1);
  ring_buffer__free(rb);
  EXPECT_EQ(got.reason, static_cast<uint32_t>(FG_R_POLICY));
  EXPECT_EQ(got.cap_len, frame.size());
  EXPECT_EQ(0, std::memcmp(got.data, frame.data(), frame.size()));
}

TEST_F(TimeTest, ModeSwitchKeepsState) {
  cfg_.src[FG_VEC_SYN] = bucket_config({1, 2});
  cfg_.mode = FG_MODE_MONITOR;
  apply();
  const auto syn = PB().tcp(40000, 80).bytes();
  EXPECT_EQ(passed_of(3, syn), 3);  // the third is a would-drop
  EXPECT_EQ(dp_->counters()[FG_R_SYN_RATE].pass_packets, 1u);
  cfg_.mode = FG_MODE_ENFORCE;
  apply();
  EXPECT_EQ(run(syn), XDP_DROP) << "the bucket emptied in monitor mode stays empty";
}

}  // namespace
}  // namespace floodgate::test
