// The XDP program attached for real (libxdp, native mode) to a veth in a namespace the
// test creates: real datagrams from two sources, one of them blocked; the receiver's
// socket and the counters must agree.
#include <bpf/libbpf.h>

#include <map>
#include <memory>

#include "netns_lab.h"
#include "test_util.h"
#include "xdp_drop.skel.h"

namespace floodgate::test {
namespace {

constexpr uint16_t kPort = 9999;
constexpr int kPerSource = 50;

class VethTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lab_.ok()) << "could not build the namespace lab (ip netns / veth)";
    ASSERT_TRUE(load_test_datapath(dp_));
    in_netns(lab_.ns_b, [&] {
      auto a =
          dp_->attach(static_cast<int>(if_nametoindex(lab_.if_b.c_str())), AttachMode::kNative);
      if (!a.ok()) throw std::runtime_error(a.error().message);
      attachment_ = std::move(a.value());
      rx_ = udp_socket(NetnsLab::kAddrB, kPort);
    });
    std::printf("attached: %s\n", attachment_->describe().c_str());
  }

  void TearDown() override {
    // Detach inside the namespace: ifindex numbers are per namespace.
    if (attachment_) in_netns(lab_.ns_b, [&] { EXPECT_TRUE(attachment_->detach().ok()); });
    if (rx_ >= 0) close(rx_);
  }

  // Sends kPerSource datagrams from each of the lab's two addresses in namespace a and
  // returns how many the receiver got, by source address.
  // kPerSource datagrams from each of the lab's two addresses in namespace a; what the
  // receiver got, by source address.
  std::map<std::string, int> exchange() {
    send_datagrams(lab_.ns_a, {NetnsLab::kAddrA, NetnsLab::kAddrA2}, NetnsLab::kAddrB, kPort,
                   kPerSource);
    return receive_by_source(rx_);
  }

  void set_mode(fg_mode mode) {
    fg_config cfg = dp_->config();
    cfg.mode = mode;
    ASSERT_TRUE(dp_->set_config(cfg).ok());
  }

  NetnsLab lab_;
  std::unique_ptr<Datapath> dp_;
  std::unique_ptr<Attachment> attachment_;
  int rx_ = -1;
};

TEST_F(VethTest, BlockedSourceIsDroppedOtherArrives) {
  set_mode(FG_MODE_ENFORCE);
  ASSERT_TRUE(dp_->add_block(*parse_prefix(NetnsLab::kAddrA), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  EXPECT_EQ(attachment_->mode(), AttachMode::kNative);
  const auto got = exchange();
  EXPECT_EQ(got.count(NetnsLab::kAddrA), 0u) << "blocked source got through";
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), kPerSource);
  const Counters c = dp_->counters();
  EXPECT_EQ(c[FG_R_BLOCKED].drop_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_GE(c[FG_R_PASS].pass_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_GE(c[FG_R_PASS_NON_IP].pass_packets, 1u) << "ARP must pass";
}

TEST_F(VethTest, CountersAreKeptPerInterfaceSlot) {
  set_mode(FG_MODE_ENFORCE);
  ASSERT_TRUE(dp_->assign_slot(attachment_->ifindex(), 3).ok());
  ASSERT_TRUE(dp_->add_block(*parse_prefix(NetnsLab::kAddrA), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  exchange();
  EXPECT_EQ(dp_->counters_for_slot(3)[FG_R_BLOCKED].drop_packets,
            static_cast<uint64_t>(kPerSource));
  EXPECT_EQ(dp_->counters_for_slot(0)[FG_R_BLOCKED].drop_packets, 0u);
  EXPECT_EQ(dp_->counters()[FG_R_BLOCKED].drop_packets, static_cast<uint64_t>(kPerSource))
      << "the total sums every slot";
  EXPECT_FALSE(dp_->assign_slot(attachment_->ifindex(), FG_MAX_IFACES + 1).ok());
}

TEST_F(VethTest, MonitorModeCountsButPasses) {
  ASSERT_TRUE(dp_->add_block(*parse_prefix(NetnsLab::kAddrA), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  const auto got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), kPerSource);
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), kPerSource);
  const Counters c = dp_->counters();
  EXPECT_EQ(c[FG_R_BLOCKED].pass_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_EQ(c[FG_R_BLOCKED].drop_packets, 0u);
}

TEST_F(VethTest, UnloadDetachesOnlyFloodgatesProgram) {
  // Another XDP program on the other end of the pair (a minimal XDP_DROP).
  xdp_drop* other = xdp_drop__open_and_load();
  ASSERT_NE(other, nullptr);
  int ifindex_a = 0;
  in_netns(lab_.ns_a, [&] {
    ifindex_a = static_cast<int>(if_nametoindex(lab_.if_a.c_str()));
    ASSERT_EQ(bpf_xdp_attach(ifindex_a, bpf_program__fd(other->progs.xdp_drop), 0, nullptr), 0);
    auto r = Datapath::detach_ours(ifindex_a);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(*r) << "not ours: must stay";
    uint32_t id = 0;
    EXPECT_EQ(bpf_xdp_query_id(ifindex_a, 0, &id), 0);
    EXPECT_NE(id, 0u) << "the other program was detached";
    bpf_xdp_detach(ifindex_a, 0, nullptr);
  });
  xdp_drop__destroy(other);
  in_netns(lab_.ns_b, [&] {
    auto r = Datapath::detach_ours(attachment_->ifindex());
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(*r);
    uint32_t id = 1;
    EXPECT_EQ(bpf_xdp_query_id(attachment_->ifindex(), 0, &id), 0);
    EXPECT_EQ(id, 0u);
  });
  attachment_.reset();  // already detached
}

}  // namespace
}  // namespace floodgate::test
