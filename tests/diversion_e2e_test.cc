// Diversion end to end: floodgated supervises its own gobgpd in the edge namespace and
// peers with a second gobgpd playing the scrubbing provider; every assertion about what
// is announced is read from the provider's own RIB.
#include <grpcpp/create_channel_posix.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "daemon_lab.h"
#include "gobgp.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kApiPort = 50051;

std::shared_ptr<grpc::Channel> channel_in(const std::string& ns, int port) {
  int fd = -1;
  in_netns(ns, [&] {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      throw std::runtime_error("cannot reach gobgpd's API in " + ns);
  });
  return grpc::CreateInsecureChannelFromFd("gobgpd", fd);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

class DiversionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_bpf());
    ASSERT_TRUE(lab_.ok());
    in_netns(lab_.ns_a, [&] {
      auto p = GobgpProcess::start("/usr/bin/gobgpd", kApiPort,
                                   "/tmp/fgdiv-provider-" + lab_.ns_a + ".log");
      if (!p.ok()) throw std::runtime_error(p.error().message);
      provider_proc_ = std::move(*p);
    });
    provider_ = std::make_unique<GobgpClient>(channel_in(lab_.ns_a, kApiPort));
    ASSERT_TRUE(provider_->start(65000, NetnsLab::kAddrA).ok());
    ASSERT_TRUE(provider_->add_peer(NetnsLab::kAddrB, 65001).ok());
    DaemonOptions o;
    o.sections =
        std::string("[bgp]\nspeaker = \"supervise\"\nasn = 65001\nrouter_id = \"") +
        NetnsLab::kAddrB + "\"\n[[providers]]\nname = \"scrubber\"\nneighbor = \"" +
        NetnsLab::kAddrA + "\"\npeer_asn = 65000\ncommunities = [\"65000:100\"]\n" +
        "next_hop = \"" + NetnsLab::kAddrB + "\"\nblackhole_community = \"65000:666\"\n" +
        "[diversion]\nmax_announcements = 3\nhold_down_seconds = 3\nquiet_pps = 1000000\n" +
        "prefixes = [{ prefix = \"198.51.100.0/24\", min_length = 24, max_length = 24 }]\n";
    daemon_ = std::make_unique<DaemonLab>(lab_, o);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_TRUE(established()) << "the provider session did not come up:\n" << daemon_->log();
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::printf("daemon log:\n%s\n", daemon_->log().c_str());
    daemon_.reset();  // --unload stops our gobgpd
    provider_.reset();
    provider_proc_.reset();
    std::remove(("/tmp/fgdiv-provider-" + lab_.ns_a + ".log").c_str());
  }

  bool established() {
    return eventually(
        [&] {
          v1::GetDiversionResponse r;
          grpc::ClientContext ctx;
          return daemon_->api().GetDiversion(&ctx, {}, &r).ok() && r.providers_size() == 1 &&
                 r.providers(0).session_state() == "established";
        },
        std::chrono::seconds(30));
  }
  std::vector<BgpRoute> provider_rib() {
    auto rib = provider_->rib(false);
    return rib.ok() ? *rib : std::vector<BgpRoute>{};
  }
  bool provider_has(const std::string& prefix, std::vector<uint32_t> communities) {
    for (const BgpRoute& r : provider_rib())
      if (r.prefix.str() == prefix && r.next_hop == NetnsLab::kAddrB &&
          r.communities == communities)
        return true;
    return false;
  }
  std::string ctl_ok(const std::string& args) {
    std::string out;
    EXPECT_EQ(daemon_->ctl(args, &out), 0) << "floodgatectl " << args << ":\n" << out;
    return out;
  }

  NetnsLab lab_;
  std::unique_ptr<GobgpProcess> provider_proc_;
  std::unique_ptr<GobgpClient> provider_;
  std::unique_ptr<DaemonLab> daemon_;
};

const uint32_t k65000_100 = 65000u << 16 | 100;
const uint32_t kBlackhole = 65535u << 16 | 666;
const uint32_t k65000_666 = 65000u << 16 | 666;

TEST_F(DiversionTest, DivertOnReachesTheProviderAndOffNowWithdraws) {
  auto t = Clock::now();
  std::string out = ctl_ok("divert on 198.51.100.0/24 --reason 'volumetric UDP'");
  EXPECT_NE(out.find("announced 198.51.100.0/24"), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] { return provider_has("198.51.100.0/24", {k65000_100}); },
                         std::chrono::seconds(5)));
  std::printf("divert on -> provider RIB: %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  out = ctl_ok("divert status");
  EXPECT_NE(out.find("session established"), std::string::npos) << out;
  EXPECT_NE(out.find("diverted  198.51.100.0/24"), std::string::npos) << out;
  EXPECT_NE(out.find("volumetric UDP"), std::string::npos) << out;
  t = Clock::now();
  ctl_ok("divert off 198.51.100.0/24 --now");
  EXPECT_TRUE(eventually([&] { return provider_rib().empty(); }, std::chrono::seconds(5)));
  std::printf("divert off --now -> gone: %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
}

TEST_F(DiversionTest, GuardsRefuseWithReasonsAndAnnounceNothing) {
  std::string out;
  EXPECT_EQ(daemon_->ctl("divert on 0.0.0.0/0", &out), 1);
  EXPECT_NE(out.find("default route is never announced"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("divert on 203.0.113.0/24", &out), 1);
  EXPECT_NE(out.find("not one you may announce; allowed: 198.51.100.0/24 (/24../24)"),
            std::string::npos)
      << out;
  EXPECT_EQ(daemon_->ctl("divert on 198.51.100.0/25", &out), 1) << "longer than max_length";
  EXPECT_EQ(daemon_->ctl("divert on 198.51.100.0/24 --provider nobody", &out), 1);
  EXPECT_NE(out.find("configured: scrubber"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("rtbh add 203.0.113.9", &out), 1);
  EXPECT_EQ(daemon_->ctl("rtbh add 198.51.100.0/24", &out), 1);
  EXPECT_NE(out.find("one address"), std::string::npos) << out;
  out = ctl_ok("divert on --all --dry-run");
  EXPECT_NE(out.find("would announce 198.51.100.0/24"), std::string::npos) << out;
  // max_announcements = 3: a diversion and two blackholes fit, a third does not.
  ctl_ok("divert on --all");
  ctl_ok("rtbh add 198.51.100.1");
  ctl_ok("rtbh add 198.51.100.2");
  EXPECT_EQ(daemon_->ctl("rtbh add 198.51.100.3", &out), 1);
  EXPECT_NE(out.find("max_announcements"), std::string::npos) << out;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto rib = provider_rib();
  EXPECT_EQ(rib.size(), 3u) << "only the three accepted routes";
  for (const BgpRoute& r : rib) EXPECT_NE(r.prefix.str(), "198.51.100.3/32");
  EXPECT_TRUE(provider_has("198.51.100.1/32", {kBlackhole, k65000_666}));
}

TEST_F(DiversionTest, DivertOffWaitsForTheHoldDown) {
  ctl_ok("divert on --all");
  ASSERT_TRUE(eventually([&] { return provider_has("198.51.100.0/24", {k65000_100}); },
                         std::chrono::seconds(5)));
  const auto t = Clock::now();
  const std::string out = ctl_ok("divert off --all");
  EXPECT_NE(out.find("once traffic has stayed quiet for 3s"), std::string::npos) << out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(provider_has("198.51.100.0/24", {k65000_100})) << "withdrawn before the hold-down";
  EXPECT_TRUE(eventually([&] { return provider_rib().empty(); }, std::chrono::seconds(8)));
  std::printf("withdrawn %.1f s after divert off (hold-down 3 s)\n",
              std::chrono::duration<double>(Clock::now() - t).count());
}

TEST_F(DiversionTest, RestartsKeepAndReestablishExactlyWhatWasActive) {
  ctl_ok("divert on --all");
  ctl_ok("rtbh add 198.51.100.7 --ttl 1h");
  ASSERT_TRUE(eventually([&] { return provider_rib().size() == 2; }, std::chrono::seconds(5)));
  // 1. The daemon dies; its gobgpd lives on: the provider keeps both routes.
  daemon_->kill_daemon(SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(provider_rib().size(), 2u) << "routes lost while the daemon was down";
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  std::string out = ctl_ok("divert status");
  EXPECT_NE(out.find("diverted  198.51.100.0/24"), std::string::npos) << out;
  EXPECT_NE(out.find("blackhole 198.51.100.7/32"), std::string::npos) << out;
  // 2. Daemon and gobgpd both die: the provider loses the routes, the restarted daemon
  // announces exactly them again.
  daemon_->kill_daemon(SIGKILL);
  sh("kill -KILL $(cat " + daemon_->dir() + "/gobgpd.pid) 2>/dev/null; true");  // ours only
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  ASSERT_TRUE(eventually(
      [&] {
        return provider_has("198.51.100.0/24", {k65000_100}) &&
               provider_has("198.51.100.7/32", {kBlackhole, k65000_666}) &&
               provider_rib().size() == 2;
      },
      std::chrono::seconds(40)))
      << "after a full restart the provider should hold exactly the two routes";
}

}  // namespace
}  // namespace floodgate::test
