// The XDP program attached for real (libxdp, native mode) to a veth in a namespace the
// test creates: real datagrams from two sources, one of them blocked; the receiver's
// socket and the counters must agree.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <memory>

#include "netns_lab.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

constexpr uint16_t kPort = 9999;
constexpr int kPerSource = 50;

int udp_socket(const char* bind_addr, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, bind_addr, &sa.sin_addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    throw std::runtime_error(std::string("bind ") + bind_addr + ": " + std::strerror(errno));
  timeval tv{0, 300'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

class VethTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_bpf());
    ASSERT_TRUE(lab_.ok()) << "could not build the namespace lab (ip netns / veth)";
    auto dp = Datapath::load(test_map_sizes());
    ASSERT_TRUE(dp.ok()) << dp.error().message;
    dp_ = std::move(dp.value());
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
  std::map<std::string, int> exchange() {
    in_netns(lab_.ns_a, [&] {
      for (const char* src : {NetnsLab::kAddrA, NetnsLab::kAddrA2}) {
        const int fd = udp_socket(src, 0);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(kPort);
        inet_pton(AF_INET, NetnsLab::kAddrB, &dst.sin_addr);
        for (int i = 0; i < kPerSource; i++) {
          sendto(fd, "floodgate", 9, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
          usleep(1000);
        }
        close(fd);
      }
    });
    std::map<std::string, int> got;
    char buf[64];
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    while (recvfrom(rx_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) > 0) {
      char addr[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
      got[addr]++;
      len = sizeof(from);
    }
    return got;
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
  EXPECT_EQ(got.count(NetnsLab::kAddrA2) ? got.at(NetnsLab::kAddrA2) : 0, kPerSource);
  const Counters c = dp_->counters();
  EXPECT_EQ(c[FG_R_BLOCKED].drop_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_GE(c[FG_R_PASS].pass_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_GE(c[FG_R_PASS_NON_IP].pass_packets, 1u) << "ARP must pass";
}

TEST_F(VethTest, MonitorModeCountsButPasses) {
  ASSERT_TRUE(dp_->add_block(*parse_prefix(NetnsLab::kAddrA), {0, 0, FG_ORIGIN_OPERATOR, 0}).ok());
  const auto got = exchange();
  EXPECT_EQ(got.count(NetnsLab::kAddrA) ? got.at(NetnsLab::kAddrA) : 0, kPerSource);
  EXPECT_EQ(got.count(NetnsLab::kAddrA2) ? got.at(NetnsLab::kAddrA2) : 0, kPerSource);
  const Counters c = dp_->counters();
  EXPECT_EQ(c[FG_R_BLOCKED].pass_packets, static_cast<uint64_t>(kPerSource));
  EXPECT_EQ(c[FG_R_BLOCKED].drop_packets, 0u);
}

}  // namespace
}  // namespace floodgate::test
