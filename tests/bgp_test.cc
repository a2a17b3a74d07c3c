// Diversion's BGP speaker for real: two gobgpd in two test namespaces, ours (AS 65001)
// and one playing the scrubbing provider (AS 65000). What we announce is asserted from
// the provider's own RIB, through its own API.
#include <grpcpp/create_channel_posix.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "gobgp.h"
#include "grpc_netns.h"
#include "netns_lab.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

class BgpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_bpf());  // root: namespaces
    ASSERT_TRUE(lab_.ok());
    char tmpl[] = "/tmp/fgbgp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (auto [ns, proc] :
         {std::pair{lab_.ns_b, &ours_proc_}, std::pair{lab_.ns_a, &provider_proc_}}) {
      in_netns(ns, [&, ns = ns, proc = proc] {
        auto p = GobgpProcess::start("/usr/bin/gobgpd", kApiPort, dir_ + "/" + ns + ".log");
        if (!p.ok()) throw std::runtime_error(p.error().message);
        *proc = std::move(*p);
      });
    }
    ours_ = std::make_unique<GobgpClient>(channel_in(lab_.ns_b, kApiPort));
    provider_ = std::make_unique<GobgpClient>(channel_in(lab_.ns_a, kApiPort));
    ASSERT_TRUE(ours_->start(65001, NetnsLab::kAddrB).ok());
    ASSERT_TRUE(provider_->start(65000, NetnsLab::kAddrA).ok());
    ASSERT_TRUE(ours_->add_peer(NetnsLab::kAddrA, 65000, true).ok());
    ASSERT_TRUE(provider_->add_peer(NetnsLab::kAddrB, 65001, true, /*passive=*/true).ok());
    const bool up = eventually(
        [&] {
          auto s = ours_->session_state(NetnsLab::kAddrA);
          return s.ok() && *s == BgpSessionState::kEstablished;
        },
        std::chrono::seconds(20));
    ASSERT_TRUE(up) << "the BGP session did not come up";
  }
  void TearDown() override {
    ours_.reset();
    provider_.reset();
    ours_proc_.reset();
    provider_proc_.reset();
    sh("rm -rf " + dir_);
  }

  bool provider_has(const BgpRoute& want) {
    auto rib = provider_->rib(!want.prefix.v4);
    if (!rib.ok()) return false;
    for (const BgpRoute& r : *rib)
      if (r == want) return true;
    return false;
  }
  bool provider_lacks(const Prefix& p) {
    auto rib = provider_->rib(!p.v4);
    if (!rib.ok()) return false;
    for (const BgpRoute& r : *rib)
      if (r.prefix == p) return false;
    return true;
  }

  NetnsLab lab_;
  std::string dir_;
  std::unique_ptr<GobgpProcess> ours_proc_, provider_proc_;
  std::unique_ptr<GobgpClient> ours_, provider_;
};

TEST_F(BgpTest, AnnouncedPrefixArrivesWithCommunitiesAndNextHopAndWithdrawRemovesIt) {
  BgpRoute r{*parse_prefix("198.51.100.0/24"),
             NetnsLab::kAddrB,
             {*parse_community("65000:100"), *parse_community("65001:7")}};
  auto t = Clock::now();
  ASSERT_TRUE(ours_->announce(r).ok());
  ASSERT_TRUE(eventually([&] { return provider_has(r); }, std::chrono::seconds(5)))
      << "the provider's RIB does not hold " << r.prefix.str() << " with next hop " << r.next_hop
      << " and communities 65000:100 65001:7";
  std::printf("announce -> in provider's RIB: %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  t = Clock::now();
  ASSERT_TRUE(ours_->withdraw(r).ok());
  ASSERT_TRUE(eventually([&] { return provider_lacks(r.prefix); }, std::chrono::seconds(5)));
  std::printf("withdraw -> gone from provider's RIB: %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
}

TEST_F(BgpTest, BlackholeCommunityArrivesOnAHostRoute) {
  BgpRoute r{*parse_prefix("198.51.100.77/32"), NetnsLab::kAddrB, {*parse_community("65535:666")}};
  ASSERT_TRUE(ours_->announce(r).ok());
  EXPECT_TRUE(eventually([&] { return provider_has(r); }, std::chrono::seconds(5)));
  EXPECT_EQ(community_text(r.communities[0]), "65535:666");
}

TEST_F(BgpTest, FlowSpecRuleArrivesAsSentAndWithdrawRemovesIt) {
  // "UDP from source port 123 to our /24": drop (rate 0); and a rate limit on DNS.
  const FlowRule ntp = *parse_flow_rule("dst 198.51.100.0/24 proto udp sport 123 rate 0");
  const FlowRule dns =
      *parse_flow_rule("dst 198.51.100.53/32 src 203.0.113.0/24 proto 17 dport 53 rate 125000");
  ASSERT_TRUE(ours_->announce(ntp).ok());
  ASSERT_TRUE(ours_->announce(dns).ok());
  auto has = [&](const FlowRule& want) {
    auto rib = provider_->flowspec_rib();
    return rib.ok() && std::find(rib->begin(), rib->end(), want) != rib->end();
  };
  EXPECT_TRUE(eventually([&] { return has(ntp) && has(dns); }, std::chrono::seconds(5)))
      << "the provider's FlowSpec RIB lacks " << ntp.str() << " or " << dns.str();
  ASSERT_TRUE(ours_->withdraw(ntp).ok());
  EXPECT_TRUE(eventually([&] { return !has(ntp) && has(dns); }, std::chrono::seconds(5)));
}

TEST(FlowRules, ParseCanonicalTextAndRefuseNonsense) {
  auto f = parse_flow_rule("dst 198.51.100.0/24 proto udp sport 123,19,123 rate 0");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->str(), "dst 198.51.100.0/24 proto 17 sport 19,123 rate 0");
  EXPECT_EQ(*parse_flow_rule(f->str()), *f) << "the text is its identity";
  for (const char* bad :
       {"", "proto udp", "dst 198.51.100.0/24 dport 53", "dst 2001:db8::/32", "dst 198.51.100.1/24",
        "dst 198.51.100.0/24 proto udp sport 70000", "dst 198.51.100.0/24 rate -1",
        "dst 198.51.100.0/24 color red", "dst 198.51.100.0/24 proto"})
    EXPECT_FALSE(parse_flow_rule(bad).ok()) << bad;
}

// Fuzzed rule texts from the grammar's own words (and some that are not): each either
// fails with a message or has a canonical text that parses back to the same rule.
TEST(FlowRules, FuzzedTextsFailOrRoundTrip) {
  const std::vector<std::string> words = {"dst",
                                          "src",
                                          "proto",
                                          "dport",
                                          "sport",
                                          "rate",
                                          "tcp",
                                          "udp",
                                          "icmp",
                                          "17",
                                          "6",
                                          "0",
                                          "53",
                                          "123,19",
                                          "65535",
                                          "70000",
                                          "-1",
                                          "1e9",
                                          "198.51.100.0/24",
                                          "198.51.100.1",
                                          "10.0.0.0/8",
                                          "2001:db8::/32",
                                          "0.0.0.0/0",
                                          ",",
                                          "x",
                                          "",
                                          "dst dst"};
  std::mt19937 rng(20261205);
  int ok = 0;
  for (int run = 0; run < 50000; run++) {
    std::string text;
    if (rng() % 2) text = "dst 198.51.100.0/24";
    for (int i = 0, n = static_cast<int>(rng() % 8); i < n; i++)
      text += " " + words[rng() % words.size()];
    auto f = parse_flow_rule(text);
    if (!f.ok()) {
      EXPECT_FALSE(f.error().message.empty()) << text;
      continue;
    }
    ok++;
    auto again = parse_flow_rule(f->str());
    ASSERT_TRUE(again.ok()) << text << " -> " << f->str() << ": " << again.error().message;
    EXPECT_EQ(*again, *f) << text << " -> " << f->str();
  }
  EXPECT_GT(ok, 1000);
}

TEST_F(BgpTest, GobgpdApiListensOnLoopbackOnly) {
  bool refused = false;
  in_netns(lab_.ns_a, [&] {  // from the provider's side, to our gobgpd's address
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kApiPort);
    inet_pton(AF_INET, NetnsLab::kAddrB, &sa.sin_addr);
    refused = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0;
    close(fd);
  });
  EXPECT_TRUE(refused) << "gobgpd's API answers on " << NetnsLab::kAddrB;
}

TEST(BgpCommunity, ParsesAndRefuses) {
  EXPECT_EQ(*parse_community("65535:666"), 0xffff029au);
  EXPECT_EQ(community_text(0xffff029au), "65535:666");
  for (const char* bad :
       {"", "65000", "65000:", ":1", "65536:1", "1:65536", "a:b", "1:2:3", "1 :2"})
    EXPECT_FALSE(parse_community(bad).ok()) << bad;
}

}  // namespace
}  // namespace floodgate::test
