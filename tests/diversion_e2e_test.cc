// Diversion end to end: floodgated supervises its own gobgpd in the edge namespace and
// peers with a second gobgpd playing the scrubbing provider; every assertion about what
// is announced is read from the provider's own RIB.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "diversion_lab.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

class DiversionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_bpf());
    ASSERT_TRUE(lab_.ok());
    div_ = std::make_unique<DiversionLab>(lab_);
    ASSERT_TRUE(div_->ok()) << "the provider session did not come up:\n"
                            << (div_->daemon ? div_->daemon->log() : "");
  }
  void TearDown() override {
    if (HasFailure() && div_ && div_->daemon)
      std::printf("daemon log:\n%s\n", div_->daemon->log().c_str());
    div_.reset();
  }
  std::vector<BgpRoute> provider_rib() { return div_->provider_rib(); }
  bool provider_has(const std::string& p, std::vector<uint32_t> c) {
    return div_->provider_has(p, c);
  }
  std::string ctl_ok(const std::string& args) {
    std::string out;
    EXPECT_EQ(div_->daemon->ctl(args, &out), 0) << "floodgatectl " << args << ":\n" << out;
    return out;
  }

  NetnsLab lab_;
  std::unique_ptr<DiversionLab> div_;
};

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
  // `status`, the first command anyone runs, says so too.
  out = ctl_ok("status");
  EXPECT_NE(out.find("diversion:  provider scrubber, BGP session established"), std::string::npos)
      << out;
  EXPECT_NE(out.find("DIVERTED 198.51.100.0/24 to scrubber since "), std::string::npos) << out;
  t = Clock::now();
  ctl_ok("divert off 198.51.100.0/24 --now");
  EXPECT_TRUE(eventually([&] { return provider_rib().empty(); }, std::chrono::seconds(5)));
  std::printf("divert off --now -> gone: %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
}

TEST_F(DiversionTest, GuardsRefuseWithReasonsAndAnnounceNothing) {
  std::string out;
  EXPECT_EQ(div_->daemon->ctl("divert on 0.0.0.0/0", &out), 1);
  EXPECT_NE(out.find("default route is never announced"), std::string::npos) << out;
  EXPECT_EQ(div_->daemon->ctl("divert on 203.0.113.0/24", &out), 1);
  EXPECT_NE(out.find("not one you may announce; allowed: 198.51.100.0/24 (/24../24)"),
            std::string::npos)
      << out;
  EXPECT_EQ(div_->daemon->ctl("divert on 198.51.100.0/25", &out), 1) << "longer than max_length";
  EXPECT_EQ(div_->daemon->ctl("divert on 198.51.100.0/24 --provider nobody", &out), 1);
  EXPECT_NE(out.find("configured: scrubber"), std::string::npos) << out;
  EXPECT_EQ(div_->daemon->ctl("rtbh add 203.0.113.9", &out), 1);
  EXPECT_EQ(div_->daemon->ctl("rtbh add 198.51.100.0/24", &out), 1);
  EXPECT_NE(out.find("one address"), std::string::npos) << out;
  // Blocking the provider's BGP neighbour (198.18.100.1) would take the diversion down with its
  // session.
  EXPECT_EQ(div_->daemon->ctl("block 198.18.100.0/24", &out), 1);
  EXPECT_NE(out.find("BGP neighbour of scrubbing provider 'scrubber'"), std::string::npos) << out;
  out = ctl_ok("divert on --all --dry-run");
  EXPECT_NE(out.find("would announce 198.51.100.0/24"), std::string::npos) << out;
  // max_announcements = 3: a diversion and two blackholes fit, a third does not.
  ctl_ok("divert on --all");
  ctl_ok("rtbh add 198.51.100.1");
  ctl_ok("rtbh add 198.51.100.2");
  EXPECT_EQ(div_->daemon->ctl("rtbh add 198.51.100.3", &out), 1);
  EXPECT_NE(out.find("max_announcements"), std::string::npos) << out;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto rib = provider_rib();
  EXPECT_EQ(rib.size(), 3u) << "only the three accepted routes";
  for (const BgpRoute& r : rib) EXPECT_NE(r.prefix.str(), "198.51.100.3/32");
  EXPECT_TRUE(provider_has("198.51.100.1/32", {kBlackhole, k65000_666}));
  // Re-adding an active blackhole replaces it (new TTL); it is not a fourth.
  ctl_ok("rtbh add 198.51.100.1 --ttl 2h");
  // FlowSpec rules count too: with two blackholes and one rule, no diversion fits.
  ctl_ok("divert off --all --now");
  ctl_ok("flowspec add dst 198.51.100.0/24 proto udp sport 123");
  EXPECT_EQ(div_->daemon->ctl("divert on --all", &out), 1) << out;
  EXPECT_NE(out.find("max_announcements"), std::string::npos) << out;
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
  div_->daemon->kill_daemon(SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(provider_rib().size(), 2u) << "routes lost while the daemon was down";
  ASSERT_TRUE(div_->daemon->start()) << div_->daemon->log();
  std::string out = ctl_ok("divert status");
  EXPECT_NE(out.find("diverted  198.51.100.0/24"), std::string::npos) << out;
  EXPECT_NE(out.find("blackhole 198.51.100.7/32"), std::string::npos) << out;
  // 2. Daemon and gobgpd both die: the provider loses the routes, the restarted daemon
  // announces exactly them again.
  div_->daemon->kill_daemon(SIGKILL);
  sh("kill -KILL $(cat " + div_->daemon->dir() + "/gobgpd.pid) 2>/dev/null; true");  // ours only
  // Only once the provider has dropped the dead session's routes does their return prove
  // that the restarted daemon announced them again.
  ASSERT_TRUE(eventually([&] { return provider_rib().empty(); }, std::chrono::seconds(120)))
      << "the provider never noticed that our gobgpd was gone";
  ASSERT_TRUE(div_->daemon->start()) << div_->daemon->log();
  ASSERT_TRUE(eventually(
      [&] {
        return provider_has("198.51.100.0/24", {k65000_100}) &&
               provider_has("198.51.100.7/32", {kBlackhole, k65000_666}) &&
               provider_rib().size() == 2;
      },
      std::chrono::seconds(40)))
      << "after a full restart the provider should hold exactly the two routes";
}

TEST_F(DiversionTest, SessionChangesAppearInWatchAndMetrics) {
  ASSERT_TRUE(eventually(
      [&] {
        return scrape_metrics(lab_.ns_b).find(
                   "floodgate_bgp_session_up{provider=\"scrubber\"} 1") != std::string::npos;
      },
      std::chrono::seconds(5)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = div_->daemon->api().WatchEvents(&ctx, v1::WatchEventsRequest{});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  div_->stop_provider();  // the provider's speaker goes away
  v1::WatchEventsResponse m;
  bool seen = false;
  while (!seen && stream->Read(&m))
    seen = m.event().kind() == v1::EVENT_KIND_BGP_SESSION && m.event().subject() == "scrubber" &&
           m.event().detail().rfind("established -> ", 0) == 0;
  EXPECT_TRUE(seen) << "no session-down event";
  EXPECT_TRUE(eventually(
      [&] {
        return scrape_metrics(lab_.ns_b).find(
                   "floodgate_bgp_session_up{provider=\"scrubber\"} 0") != std::string::npos;
      },
      std::chrono::seconds(5)));
  ctx.TryCancel();
  stream->Finish();
}

TEST_F(DiversionTest, PreflightPassesWhenEverythingIsInPlace) {
  std::string out;
  EXPECT_EQ(div_->daemon->ctl("preflight", &out), 0) << out;
  EXPECT_NE(out.find("PASS  BGP session to scrubber"), std::string::npos) << out;
  EXPECT_NE(out.find("PASS  contacts"), std::string::npos) << out;
  EXPECT_NE(out.find("WARN  baseline"), std::string::npos) << out;
  EXPECT_NE(out.find("ready: nothing failed"), std::string::npos) << out;
}

TEST_F(DiversionTest, FlowSpecRulesReachTheProviderSurviveRestartsAndExpire) {
  std::string out = ctl_ok(
      "flowspec add dst 198.51.100.0/24 proto udp sport 123 --ttl 1h --reason ntp-reflection");
  EXPECT_NE(out.find("dst 198.51.100.0/24 proto 17 sport 123 rate 0"), std::string::npos) << out;
  const FlowRule want = *parse_flow_rule("dst 198.51.100.0/24 proto 17 sport 123 rate 0");
  auto provider_has_rule = [&](const FlowRule& r) {
    auto rib = div_->provider->flowspec_rib();
    return rib.ok() && std::find(rib->begin(), rib->end(), r) != rib->end();
  };
  ASSERT_TRUE(eventually([&] { return provider_has_rule(want); }, std::chrono::seconds(5)));
  EXPECT_EQ(div_->daemon->ctl("flowspec add dst 203.0.113.0/24 proto udp", &out), 1);
  EXPECT_NE(out.find("not inside the prefixes you may announce"), std::string::npos) << out;
  EXPECT_EQ(div_->daemon->ctl("flowspec add dst 198.51.100.0/24 dport 53", &out), 1);
  EXPECT_NE(out.find("ports need proto tcp or udp"), std::string::npos) << out;
  out = ctl_ok("divert status");
  EXPECT_NE(out.find("flowspec  dst 198.51.100.0/24 proto 17 sport 123 rate 0"), std::string::npos)
      << out;
  // Daemon and gobgpd die: the restarted daemon announces the rule again.
  div_->daemon->kill_daemon(SIGKILL);
  sh("kill -KILL $(cat " + div_->daemon->dir() + "/gobgpd.pid) 2>/dev/null; true");
  // Only once the provider has dropped the dead session's routes does their return
  // prove that the restarted daemon announced them again.
  ASSERT_TRUE(eventually([&] { return !provider_has_rule(want); }, std::chrono::seconds(120)))
      << "the provider never noticed that our gobgpd was gone";
  ASSERT_TRUE(div_->daemon->start()) << div_->daemon->log();
  ASSERT_TRUE(eventually([&] { return provider_has_rule(want); }, std::chrono::seconds(40)));
  ctl_ok("flowspec del dst 198.51.100.0/24 proto udp sport 123");
  EXPECT_TRUE(eventually([&] { return !provider_has_rule(want); }, std::chrono::seconds(5)));
  // A short TTL withdraws the rule by itself.
  ctl_ok("flowspec add dst 198.51.100.0/24 proto tcp dport 80 rate 1000000 --ttl 2s");
  const FlowRule web = *parse_flow_rule("dst 198.51.100.0/24 proto 6 dport 80 rate 1000000");
  ASSERT_TRUE(eventually([&] { return provider_has_rule(web); }, std::chrono::seconds(5)));
  EXPECT_TRUE(eventually([&] { return !provider_has_rule(web); }, std::chrono::seconds(8)));
}

TEST(DiversionConnectMode, DivertsThroughAGobgpdTheOperatorRuns) {
  ASSERT_TRUE(have_bpf());
  NetnsLab lab;
  ASSERT_TRUE(lab.ok());
  DiversionLab div(lab, /*connect_mode=*/true);
  ASSERT_TRUE(div.ok()) << (div.daemon ? div.daemon->log() : "");
  std::string out;
  ASSERT_EQ(div.daemon->ctl("divert on 198.51.100.0/24", &out), 0) << out;
  EXPECT_TRUE(eventually([&] { return div.provider_has("198.51.100.0/24", {k65000_100}); },
                         std::chrono::seconds(5)));
  ASSERT_EQ(div.daemon->ctl("divert off --all --now", &out), 0) << out;
  EXPECT_TRUE(eventually([&] { return div.provider_rib().empty(); }, std::chrono::seconds(5)));
  EXPECT_FALSE(std::filesystem::exists(div.daemon->dir() + "/gobgpd.pid"))
      << "in connect mode floodgated must not start (or later stop) a gobgpd of its own";
}

}  // namespace
}  // namespace floodgate::test
