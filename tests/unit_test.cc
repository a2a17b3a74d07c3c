// Pure logic: prefix parsing and printing, rate-limit conversion, defaults, names.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "bucket.h"
#include "config.h"
#include "defaults.h"
#include "notify.h"
#include "packet_builder.h"
#include "prefix.h"
#include "prefix_lens.h"
#include "preflight.h"
#include "samples.h"

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

TEST(Prefix, ListsEveryBadOneWithItsLabelUpToTen) {
  auto label = [](size_t i) { return "line " + std::to_string(i + 1); };
  auto ok = parse_prefixes({"192.0.2.1", "2001:db8::/32"}, label);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[1].str(), "2001:db8::/32");
  const std::string two =
      parse_prefixes({"192.0.2.1", "bad", "192.0.2.1/24"}, label).error().message;
  EXPECT_EQ(two.find("2 of 3 prefixes are not valid; nothing was applied"), 0u) << two;
  EXPECT_NE(two.find("line 2: 'bad' is not"), std::string::npos) << two;
  EXPECT_NE(two.find("line 3: '192.0.2.1/24' has host bits set"), std::string::npos) << two;
  std::vector<std::string> many(25, "nope");
  const std::string m = parse_prefixes(many, label).error().message;
  EXPECT_NE(m.find("line 10:"), std::string::npos) << m;
  EXPECT_EQ(m.find("line 11:"), std::string::npos) << m;
  EXPECT_NE(m.find("... and 15 more"), std::string::npos) << m;
  // One text: its own message, no label.
  EXPECT_EQ(parse_prefixes({"bad"}, label).error().message, parse_prefix("bad").error().message);
  EXPECT_NE(parse_prefix("::/0").error().message.find("every IPv6 address"), std::string::npos);
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
  // Each length's netmask, network order: /128 all ones, /120 (an IPv4 /24) and /48.
  const uint32_t ones = 0xffffffffu;
  for (int w = 0; w < 4; w++) EXPECT_EQ(e.mask[0][w], ones) << w;
  EXPECT_EQ(e.mask[1][2], ones);
  EXPECT_EQ(e.mask[1][3], htonl(0xffffff00u));
  EXPECT_EQ(e.mask[2][0], ones);
  EXPECT_EQ(e.mask[2][1], htonl(0xffff0000u));
  EXPECT_EQ(e.mask[2][2], 0u);
  EXPECT_EQ(e.mask[2][3], 0u);
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

fg_sample sample_of(const std::vector<uint8_t>& frame, uint32_t reason) {
  fg_sample s{};
  s.reason = reason;
  s.pkt_len = static_cast<uint32_t>(frame.size());
  s.cap_len = static_cast<uint32_t>(std::min<size_t>(frame.size(), FG_SAMPLE_BYTES));
  std::memcpy(s.data, frame.data(), s.cap_len);
  return s;
}

TEST(Samples, ParsesSourceProtocolAndPort) {
  using test::PacketBuilder;
  auto v4 = parse_sample(sample_of(
      PacketBuilder().ipv4("198.18.0.7", "198.19.0.1").tcp(1, 443).bytes(), FG_R_SYN_RATE));
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->source.str(), "198.18.0.7/32");
  EXPECT_EQ(v4->l4proto, 6);
  EXPECT_EQ(v4->dport, 443);
  EXPECT_EQ(v4->reason, static_cast<uint32_t>(FG_R_SYN_RATE));
  auto v6 = parse_sample(sample_of(PacketBuilder()
                                       .ipv6("2001:db8::9", "2001:db8::1")
                                       .vlan(0x88a8)
                                       .vlan()
                                       .udp(123, 53)
                                       .payload(400)
                                       .bytes(),
                                   FG_R_REFLECTION));
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->source.str(), "2001:db8::9/128");
  EXPECT_EQ(v6->l4proto, 17);
  EXPECT_EQ(v6->dport, 53);
  EXPECT_EQ(v6->bytes, 14u + 8 + 40 + 8 + 400);
  auto frag = parse_sample(
      sample_of(PacketBuilder().udp(1, 53).fragment(10, false).bytes(), FG_R_FRAGMENT));
  ASSERT_TRUE(frag.has_value());
  EXPECT_EQ(frag->dport, 0) << "a later fragment has no port";
  EXPECT_FALSE(
      parse_sample(sample_of(PacketBuilder().ethertype(0x0806).bytes(), FG_R_PASS)).has_value());
  fg_sample cut = sample_of(PacketBuilder().udp(1, 53).bytes(), FG_R_POLICY);
  cut.cap_len = 20;
  EXPECT_FALSE(parse_sample(cut).has_value());
}

TEST(Samples, TopTalkersRankByCountWithinTheWindow) {
  TopTalkers top(std::chrono::seconds(10));
  const auto t0 = TopTalkers::Clock::now();
  auto info = [](const char* src, uint16_t port, uint32_t reason) {
    SampleInfo s;
    s.source = *parse_prefix(src);
    s.l4proto = 17;
    s.dport = port;
    s.reason = reason;
    return s;
  };
  for (int i = 0; i < 5; i++) top.add(info("198.18.0.1", 53, FG_R_BLOCKED), t0);
  for (int i = 0; i < 3; i++)
    top.add(info("198.18.0.2", 80, FG_R_UDP_RATE), t0 + std::chrono::seconds(5));
  top.add(info("198.18.0.2", 81, FG_R_POLICY), t0 + std::chrono::seconds(5));
  auto r = top.top(10, 64, t0 + std::chrono::seconds(6));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].source, "198.18.0.1/32");
  EXPECT_EQ(r[0].samples, 5u);
  EXPECT_DOUBLE_EQ(r[0].packets_per_second, 5.0 * 64 / 10);
  EXPECT_EQ(r[1].top_reason, static_cast<uint32_t>(FG_R_UDP_RATE));
  EXPECT_EQ(r[1].top_dport, 80);
  EXPECT_EQ(top.top(1, 64, t0 + std::chrono::seconds(6)).size(), 1u);
  r = top.top(10, 64, t0 + std::chrono::seconds(12));  // the first five left the window
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].source, "198.18.0.2/32");
}

TEST(Samples, SummaryRanksDestinationsAndPortsBySamples) {
  TopTalkers top(std::chrono::seconds(10));
  const auto t0 = TopTalkers::Clock::now();
  auto info = [](const char* dst, uint16_t sport) {
    SampleInfo s;
    s.source = *parse_prefix("198.18.0.1");
    s.destination = *parse_prefix(dst);
    s.l4proto = 17;
    s.sport = sport;
    s.reason = FG_R_REFLECTION;
    return s;
  };
  for (int i = 0; i < 2; i++) top.add(info("198.51.100.7", 123), t0);
  for (int i = 0; i < 3; i++) top.add(info("2001:db8::9", 53), t0);
  const SampleSummary sum = top.summary(1, 1, t0);
  ASSERT_EQ(sum.top_destinations.size(), 1u) << "limited to the first";
  EXPECT_EQ(sum.top_destinations[0].first, "2001:db8::9/128");
  EXPECT_EQ(sum.top_destinations[0].second, 3u);
  ASSERT_EQ(sum.top_source_ports.size(), 1u);
  EXPECT_EQ(sum.top_source_ports[0].first, 53);
  EXPECT_EQ(sum.top_protocol, 17);
  EXPECT_EQ(sum.samples, 5u);
}

TEST(Config, PolicySectionSeedsThePolicy) {
  auto c = parse_config(
      "[policy]\ntcp = { default = \"drop\", allow = [443, 22, 22] }\n"
      "icmp = { deny = [13] }\nother = { default = \"drop\" }\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->policy[FG_PROTO_TCP].default_action, FG_ACT_DROP);
  EXPECT_EQ(c->policy[FG_PROTO_TCP].allow, (std::vector<uint16_t>{22, 443})) << "sorted, deduped";
  EXPECT_EQ(c->policy[FG_PROTO_ICMP].deny, std::vector<uint16_t>{13});
  EXPECT_EQ(c->policy[FG_PROTO_OTHER].default_action, FG_ACT_DROP);
  EXPECT_EQ(c->policy[FG_PROTO_UDP].default_action, FG_ACT_PASS);
}

TEST(Config, ErrorsNameFileLineAndColumn) {
  struct Bad {
    const char* toml;
    const char* where;
    const char* what;
  };
  for (const Bad& b : std::vector<Bad>{
           {"[policy]\ntcp = { default = \"drop\" }\n", "t.toml:2:", "remote management"},
           {"[policy]\nudp = { allow = [53], deny = [53] }\n", "t.toml:2:", "both the allow"},
           {"[policy]\nudp = { alow = [53] }\n", "t.toml:2:", "unknown setting policy.udp.alow"},
           {"[policy]\nsctp = { default = \"drop\" }\n", "t.toml:2:1",
            "unknown setting policy.sctp"},
           {"[datapath]\nmode = \"block\"\n", "t.toml:2:8", "monitor\" or \"enforce"},
           {"[metrics]\nlisten = \"0.0.0.0:9108\"\n", "t.toml:2:10", "loopback"},
           {"[daemon]\ninterfaces = \"eth0\"\n", "t.toml:2:14", "array of strings"},
           {"[daemon\n", "t.toml:1:", "expected"},
           {"[rules]\nmin_prefix_v4 = -1\n", "t.toml:2:17", "integer from 0"},
           // Values that parse but cannot work together.
           {"[rules]\nmax_ttl_seconds = 600\n", "t.toml:2:19",
            "default_ttl_seconds must be at most"},
           {"[rules]\nmax_ttl_seconds = 0\n", "t.toml:2:19", "at least 1"},
           {"[maps]\nevents_bytes = 100000\n", "t.toml:2:16", "power of two"},
           {"[maps]\nblock_entries = 0\n", "t.toml:2:17", "block_entries must be at least 1"},
       }) {
    auto c = parse_config(b.toml, "t.toml");
    ASSERT_FALSE(c.ok()) << b.toml;
    EXPECT_EQ(c.error().message.rfind(b.where, 0), 0u) << c.error().message;
    EXPECT_NE(c.error().message.find(b.what), std::string::npos) << c.error().message;
  }
}

TEST(Config, TheExampleFileIsValidAndMatchesTheDefaults) {
  auto c = load_config(FLOODGATE_SOURCE_DIR "/config/floodgate.example.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const fg_config d = default_config();
  EXPECT_EQ(std::memcmp(&c->datapath, &d, sizeof(d)), 0) << "example and defaults disagree";
  EXPECT_EQ(c->default_ttl_s, DaemonConfig{}.default_ttl_s);
  EXPECT_EQ(c->metrics_listen, DaemonConfig{}.metrics_listen);
  const DetectionConfig dd;
  EXPECT_EQ(c->detection.floor_pps, dd.floor_pps);
  EXPECT_EQ(c->detection.factor, dd.factor);
  EXPECT_EQ(c->detection.sustain_s, dd.sustain_s);
  EXPECT_EQ(c->detection.hold_down_s, dd.hold_down_s);
  EXPECT_EQ(c->detection.learn_samples, dd.learn_samples);
  EXPECT_EQ(c->evidence_sample_every, DaemonConfig{}.evidence_sample_every);
  const Playbook p = default_playbook();
  ASSERT_EQ(c->playbook.steps.size(), p.steps.size());
  for (const auto& [type, steps] : p.steps) {
    ASSERT_EQ(c->playbook.steps.at(type).size(), steps.size()) << type;
    for (size_t i = 0; i < steps.size(); i++) {
      EXPECT_EQ(c->playbook.steps.at(type)[i].action, steps[i].action) << type;
      EXPECT_EQ(c->playbook.steps.at(type)[i].min_share, steps[i].min_share) << type;
    }
  }
}

TEST(Config, DetectionAndPlaybookErrorsSayWhereAndWhat) {
  auto bad = [](const std::string& text) {
    auto c = parse_config(text, "t.toml");
    return c.ok() ? std::string("accepted") : c.error().message;
  };
  EXPECT_NE(bad("[detection]\nfactor = 0.5\n")
                .find("t.toml:2:10: detection.factor must be a "
                      "number from 1"),
            std::string::npos)
      << bad("[detection]\nfactor = 0.5\n");
  EXPECT_NE(
      bad("[detection]\nfloor_pps = { sin = 5 }\n").find("unknown setting detection.floor_pps.sin"),
      std::string::npos);
  EXPECT_NE(bad("[playbook]\nsyn-flood = [{ action = \"nuke\" }]\n").find("action must be enforce"),
            std::string::npos);
  EXPECT_NE(bad("[playbook]\nsyn-flood = \"enforce\"\n").find("must be a list"), std::string::npos);
  auto ok = parse_config("[detection]\nstatic_pps = { syn = 5000 }\n[playbook]\ndry_run = true\n",
                         "t.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->detection.static_pps[FG_TV_SYN], 5000);
  EXPECT_TRUE(ok->playbook.dry_run);
  EXPECT_EQ(ok->playbook.steps.count("syn-flood"), 1u) << "the defaults stay for unlisted types";
}

TEST(Preflight, AnEmptySetupFailsWithWhatToFix) {
  DaemonConfig cfg;
  PreflightFacts facts;
  facts.datapath = default_config();
  const auto checks = preflight(cfg, facts);
  auto find = [&](const std::string& name) {
    for (const Check& c : checks)
      if (c.name == name) return c;
    return Check{"missing", CheckResult::kFail, "", ""};
  };
  EXPECT_EQ(find("filter attached").result, CheckResult::kFail);
  EXPECT_EQ(find("contacts").result, CheckResult::kFail);
  EXPECT_NE(find("contacts").fix.find("[[contacts]]"), std::string::npos);
  EXPECT_EQ(find("scrubbing provider").result, CheckResult::kFail);
  EXPECT_EQ(find("protected prefixes").result, CheckResult::kFail);
  EXPECT_EQ(find("rate limits").result, CheckResult::kPass) << "the defaults set limits";
  EXPECT_EQ(find("baseline").result, CheckResult::kWarn);
  for (const Check& c : checks) {
    if (c.result != CheckResult::kPass) {
      EXPECT_FALSE(c.fix.empty()) << c.name;
    }
  }
}

TEST(Preflight, GenericModeAndADownSessionFail) {
  DaemonConfig cfg;
  cfg.contacts.push_back({"NOC", "network", "Example", "+1 555 0100", "noc@example.com", ""});
  cfg.bgp_speaker = "supervise";
  cfg.providers.push_back({"scrubber", "192.0.2.254", 65000, {}, "192.0.2.1", std::nullopt, false});
  cfg.protected_prefixes = {"198.51.100.0/24"};
  PreflightFacts facts;
  facts.datapath = default_config();
  facts.interfaces = {{"eth0", true, false, false}};
  facts.providers = {{"scrubber", "192.0.2.254", BgpSessionState::kActive, false}};
  facts.metrics_reachable = true;
  int fails = 0;
  for (const Check& c : preflight(cfg, facts)) {
    if (c.result != CheckResult::kFail) continue;
    fails++;
    EXPECT_TRUE(c.name == "filter on eth0" || c.name == "BGP session to scrubber") << c.name;
  }
  EXPECT_EQ(fails, 2);
  facts.interfaces[0].native = true;
  facts.providers[0].state = BgpSessionState::kEstablished;
  for (const Check& c : preflight(cfg, facts)) {
    EXPECT_NE(c.result, CheckResult::kFail) << c.name;
  }
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

// A hung paging script is killed after the webhook timeout: the notifications after it,
// and the daemon's shutdown, do not wait for it.
TEST(Notifier, AHookThatHangsIsKilledAndTheNextOneStillRuns) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Delivery> got;
  const auto start = std::chrono::steady_clock::now();
  {
    Notifier n({}, "read line; case \"$line\" in *hang*) sleep 60;; esac", 0,
               [&](const Delivery& d) {
                 std::lock_guard lock(mu);
                 got.push_back(d);
                 cv.notify_all();
               });
    n.send({1, "{\"event\":\"hang\"}\n", "open"});
    n.send({1, "{\"event\":\"close\"}\n", "close"});
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return got.size() == 2; }));
  }
  EXPECT_FALSE(got[0].ok);
  EXPECT_NE(got[0].error.find("timed out"), std::string::npos) << got[0].error;
  EXPECT_TRUE(got[1].ok) << got[1].error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

}  // namespace
}  // namespace floodgate
