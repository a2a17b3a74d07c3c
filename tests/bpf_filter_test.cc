// The allow and block lists' prefilters on the real program: a key with a clear bit is
// never probed, so every way an entry gets into a map (one by one, in a batch, by the
// program's own auto-block, adopted from pins) must leave its bit set, and no rebuild may
// clear the bit of an entry that is still there. Each test checks the verdict of real
// packets, not only the bits.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bucket.h"
#include "packet_builder.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

using PB = PacketBuilder;

std::string v4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::vector<uint8_t> udp_from(const std::string& src) {
  return PB().ipv4(src, "198.19.0.1").udp(40000, 9).bytes();
}

// A frame from the host address of a /32 (Prefix::str() says "a.b.c.d/32").
std::vector<uint8_t> udp_from(const Prefix& host) {
  const std::string s = host.str();
  return udp_from(s.substr(0, s.find('/')));
}

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(load_test_datapath(dp_));
    fg_config cfg = dp_->config();
    cfg.mode = FG_MODE_ENFORCE;
    cfg.rep_threshold = 0;
    for (auto& b : cfg.src) b = {};
    ASSERT_TRUE(dp_->set_config(cfg).ok());
  }
  int run(const std::vector<uint8_t>& f) { return run_xdp(dp_->prog_fd(), f); }
  bool maybe_block(const std::string& p) {
    return dp_->filter_maybe(FG_LIST_BLOCK, *parse_prefix(p));
  }

  std::unique_ptr<Datapath> dp_;
};

TEST_F(FilterTest, EveryEntryIsProbedAndAbsentKeysMostlyAreNot) {
  // One by one, in a batch, and a prefix; and an allow entry.
  ASSERT_TRUE(dp_->add_block(*parse_prefix("198.18.0.1"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  std::vector<std::pair<Prefix, fg_block>> batch;
  for (uint32_t i = 0; i < 1000; i++)
    batch.push_back({*parse_prefix(v4(0x0a000000u + i * 7)), {0, 0, FG_ORIGIN_OPERATOR, 0}});
  ASSERT_TRUE(dp_->add_new_blocks(batch).ok());
  ASSERT_TRUE(dp_->add_block(*parse_prefix("11.1.2.0/24"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  ASSERT_TRUE(dp_->add_allow(*parse_prefix("10.0.0.7")).ok());

  EXPECT_EQ(run(udp_from("198.18.0.1")), XDP_DROP);
  EXPECT_EQ(run(udp_from("11.1.2.200")), XDP_DROP);
  EXPECT_EQ(run(udp_from("10.0.0.7")), XDP_PASS);  // allowed, though also blocked
  for (const auto& [p, v] : batch) {
    ASSERT_TRUE(dp_->filter_maybe(FG_LIST_BLOCK, p)) << p.str();
    if (p.str() != "10.0.0.7/32") {
      ASSERT_EQ(run(udp_from(p)), XDP_DROP) << p.str();
    }
  }
  EXPECT_TRUE(dp_->filter_maybe(FG_LIST_ALLOW, *parse_prefix("10.0.0.7")));

  // Keys no entry has: with 1002 entries in 32768 bits about 3 % share a bit. A broken
  // hash or a filter that sets everything would let far more through to the probe.
  int probed = 0;
  for (uint32_t i = 0; i < 2000; i++) probed += maybe_block(v4(0x0c000000u + i * 13));
  EXPECT_LT(probed, 200) << "of 2000 absent keys";
  EXPECT_GT(dp_->filter_fill(FG_LIST_BLOCK), 0.0);
  EXPECT_LT(dp_->filter_fill(FG_LIST_BLOCK), 0.05);
}

TEST_F(FilterTest, RemovedEntriesKeepTheirBitUntilARebuildClearsIt) {
  const Prefix gone = *parse_prefix("198.18.1.1");
  const Prefix kept = *parse_prefix("198.18.1.2");
  for (const Prefix& p : {gone, kept})
    ASSERT_TRUE(dp_->add_block(p, {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  ASSERT_TRUE(dp_->remove_block(gone).ok());
  EXPECT_TRUE(dp_->filter_maybe(FG_LIST_BLOCK, gone)) << "stale until the rebuild";
  EXPECT_EQ(run(udp_from(gone)), XDP_PASS);  // the probe misses: still right

  ASSERT_TRUE(dp_->rebuild_filters().ok());
  EXPECT_FALSE(dp_->filter_maybe(FG_LIST_BLOCK, gone));
  EXPECT_TRUE(dp_->filter_maybe(FG_LIST_BLOCK, kept));
  EXPECT_EQ(run(udp_from(kept)), XDP_DROP);
  // A second rebuild builds the other half: still complete.
  ASSERT_TRUE(dp_->rebuild_filters().ok());
  EXPECT_EQ(run(udp_from(kept)), XDP_DROP);
  EXPECT_EQ(run(udp_from(gone)), XDP_PASS);
}

TEST_F(FilterTest, TidyRebuildsOnceManyEntriesWentAndNotForOne) {
  std::vector<std::pair<Prefix, fg_block>> batch;
  for (uint32_t i = 0; i < 4100; i++)
    batch.push_back({*parse_prefix(v4(0x0a000000u + i)), {0, 0, FG_ORIGIN_OPERATOR, 0}});
  MapSizes sizes = test_map_sizes();
  sizes.block_entries = 8192;
  auto big = Datapath::load(sizes);
  ASSERT_TRUE(big.ok()) << big.error().message;
  Datapath& dp = **big;
  fg_config cfg = dp.config();
  cfg.mode = FG_MODE_ENFORCE;
  ASSERT_TRUE(dp.set_config(cfg).ok());
  ASSERT_TRUE(dp.add_new_blocks(batch).ok());
  ASSERT_TRUE(dp.remove_block(batch[0].first).ok());
  ASSERT_TRUE(dp.tidy_filters().ok());
  EXPECT_TRUE(dp.filter_maybe(FG_LIST_BLOCK, batch[0].first)) << "one removal is not worth a read";
  for (size_t i = 1; i < 4096; i++) ASSERT_TRUE(dp.remove_block(batch[i].first).ok());
  ASSERT_TRUE(dp.tidy_filters().ok());
  EXPECT_FALSE(dp.filter_maybe(FG_LIST_BLOCK, batch[0].first));
  for (size_t i = 4096; i < batch.size(); i++) {
    EXPECT_TRUE(dp.filter_maybe(FG_LIST_BLOCK, batch[i].first));
    EXPECT_EQ(run_xdp(dp.prog_fd(), udp_from(batch[i].first)), XDP_DROP);
  }
}

TEST_F(FilterTest, TheProgramsAutoBlocksSetTheirBitAndOutliveRebuilds) {
  fg_config cfg = dp_->config();
  cfg.src[FG_VEC_SYN] = bucket_config({1, 1});
  cfg.rep_threshold = 2 * FG_REP_ONE;
  cfg.rep_per_violation = FG_REP_ONE;
  cfg.rep_half_life_ns = 60'000'000'000ull;
  cfg.rep_block_ttl_ns = 30'000'000'000ull;
  ASSERT_TRUE(dp_->set_config(cfg).ok());
  const auto syn = PB().ipv4("198.18.8.1", "198.19.0.1").tcp(1, 80).bytes();
  for (int i = 0; i < 3; i++) run(syn);  // pass, violation, violation: auto-block
  ASSERT_TRUE(dp_->find_block(*parse_prefix("198.18.8.1")).has_value());
  EXPECT_TRUE(maybe_block("198.18.8.1"));
  EXPECT_EQ(run(udp_from("198.18.8.1")), XDP_DROP);
  for (int i = 0; i < 2; i++) {  // both halves
    ASSERT_TRUE(dp_->rebuild_filters().ok());
    EXPECT_EQ(run(udp_from("198.18.8.1")), XDP_DROP) << "after rebuild " << i + 1;
  }
}

TEST(FilterAdoptTest, AdoptedMapsGetTheirFilterRebuiltEvenWhenItIsNew) {
  ASSERT_TRUE(have_bpf());
  const std::string pins = "/sys/fs/bpf/fg-filter-test-" + std::to_string(getpid());
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{pins};
  {
    auto dp = Datapath::load(test_map_sizes(), pins);
    ASSERT_TRUE(dp.ok()) << dp.error().message;
    fg_config cfg = (*dp)->config();
    cfg.mode = FG_MODE_ENFORCE;
    ASSERT_TRUE((*dp)->set_config(cfg).ok());
    ASSERT_TRUE((*dp)->add_block(*parse_prefix("198.18.2.1"), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  }
  // As after an upgrade from a build without filters: the filter map is not there.
  std::filesystem::remove(pins + "/filter");
  auto dp = Datapath::load(test_map_sizes(), pins);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  ASSERT_TRUE((*dp)->adopted());
  EXPECT_TRUE((*dp)->filter_maybe(FG_LIST_BLOCK, *parse_prefix("198.18.2.1")));
  EXPECT_EQ(run_xdp((*dp)->prog_fd(), udp_from("198.18.2.1")), XDP_DROP);
}

}  // namespace
}  // namespace floodgate::test
