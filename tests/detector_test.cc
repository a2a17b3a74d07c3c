// The detector's pure logic with synthetic counters: baselines by hour, thresholds,
// sustain and hold-down, and classification by attachment 4.
#include "detector.h"

#include <gtest/gtest.h>

namespace floodgate {
namespace {

// Feeds `secs` seconds at the given packets/s per vector (bytes = 100 per packet).
class Feeder {
 public:
  explicit Feeder(Detector& d) : d_(d) { d_.tick(t_, 10, 1, {{"eth0", c_}}); }
  std::vector<DetectorEvent> run(int secs, PerVector pps, int hour = 10) {
    std::vector<DetectorEvent> all;
    for (int i = 0; i < secs; i++) {
      for (int v = 0; v < FG_TV_MAX; v++) {
        c_.packets[v] += static_cast<uint64_t>(pps[v]);
        c_.bytes[v] += static_cast<uint64_t>(pps[v]) * 100;
      }
      auto ev = d_.tick(++t_, hour, 1, {{"eth0", c_}});
      all.insert(all.end(), ev.begin(), ev.end());
    }
    return all;
  }

 private:
  Detector& d_;
  fg_traffic c_{};
  int64_t t_ = 1000;
};

PerVector quiet() { return {1000, 50, 300, 10, 0, 0}; }
PerVector syn_flood() { return {60000, 59000, 300, 10, 0, 0}; }

DetectionConfig small() {
  DetectionConfig c;
  c.learn_samples = 5;
  c.floor_pps = {2000, 100, 500, 100, 100, 100};  // quiet() stays below
  c.sustain_s = 2;
  c.hold_down_s = 3;
  return c;
}

TEST(Detector, LearnsTheMeanOfNormalSecondsPerHourAndThresholdsFollowIt) {
  Detector d(small());
  Feeder f(d);
  EXPECT_FALSE(d.learned("eth0", 10));
  EXPECT_EQ(d.threshold("eth0", 10, FG_TV_TOTAL).basis, "floor");
  f.run(5, quiet());
  EXPECT_TRUE(d.learned("eth0", 10));
  EXPECT_FALSE(d.learned("eth0", 11));  // another hour of the day
  EXPECT_DOUBLE_EQ(d.baseline("eth0", 10, FG_TV_TOTAL).pps, 1000);
  EXPECT_DOUBLE_EQ(d.baseline("eth0", 10, FG_TV_TOTAL).bps, 800000);
  EXPECT_DOUBLE_EQ(d.threshold("eth0", 10, FG_TV_TOTAL).pps, 3000);
  EXPECT_EQ(d.threshold("eth0", 10, FG_TV_TOTAL).basis, "baseline");
  EXPECT_EQ(d.threshold("eth0", 10, FG_TV_ICMP).basis, "floor");  // 3 x 10 < floor 100
  EXPECT_DOUBLE_EQ(d.threshold("eth0", 11, FG_TV_TOTAL).pps, 2000);
}

TEST(Detector, StaticOverridesWin) {
  DetectionConfig c = small();
  c.static_pps[FG_TV_SYN] = 7777;
  Detector d(c);
  Feeder f(d);
  f.run(5, quiet());
  EXPECT_DOUBLE_EQ(d.threshold("eth0", 10, FG_TV_SYN).pps, 7777);
  EXPECT_EQ(d.threshold("eth0", 10, FG_TV_SYN).basis, "static");
}

TEST(Detector, AFloodStartsAfterSustainAndEndsAfterHoldDown) {
  Detector d(small());
  Feeder f(d);
  f.run(5, quiet());
  EXPECT_TRUE(f.run(1, syn_flood()).empty());  // one second is not yet sustained
  auto ev = f.run(1, syn_flood());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, DetectorEvent::kStart);
  EXPECT_NE(std::find(ev[0].vectors.begin(), ev[0].vectors.end(), FG_TV_SYN), ev[0].vectors.end());
  EXPECT_TRUE(d.in_flood("eth0"));
  EXPECT_TRUE(f.run(5, syn_flood()).empty());  // still the same flood
  EXPECT_TRUE(f.run(2, quiet()).empty());      // below for less than the hold-down
  EXPECT_TRUE(f.run(1, syn_flood()).empty());  // back up: the hold-down restarts
  EXPECT_TRUE(f.run(2, quiet()).empty());
  ev = f.run(1, quiet());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, DetectorEvent::kEnd);
  EXPECT_DOUBLE_EQ(ev[0].peak.pps[FG_TV_SYN], 59000);
  EXPECT_FALSE(d.in_flood("eth0"));
}

TEST(Detector, AttackSecondsDoNotRaiseTheBaseline) {
  Detector d(small());
  Feeder f(d);
  f.run(5, quiet());
  f.run(10, syn_flood());
  EXPECT_DOUBLE_EQ(d.baseline("eth0", 10, FG_TV_SYN).pps, 50);
}

TEST(Detector, BaselinesSurviveARestartThroughRows) {
  Detector a(small());
  Feeder f(a);
  f.run(5, quiet());
  Detector b(small());
  b.load(a.baselines());
  EXPECT_TRUE(b.learned("eth0", 10));
  EXPECT_DOUBLE_EQ(b.threshold("eth0", 10, FG_TV_TOTAL).pps, 3000);
}

TEST(Detector, AResumedFloodEndsAfterTheHoldDown) {
  Detector d(small());
  Feeder f(d);
  f.run(5, quiet());
  d.resume_flood("eth0");  // a restart with an incident open
  EXPECT_TRUE(d.in_flood("eth0"));
  EXPECT_TRUE(f.run(2, quiet()).empty());
  auto ev = f.run(1, quiet());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, DetectorEvent::kEnd);
}

TEST(Detector, DisabledLearnsButNeverDeclares) {
  DetectionConfig c = small();
  c.enabled = false;
  Detector d(c);
  Feeder f(d);
  f.run(5, quiet());
  EXPECT_TRUE(f.run(5, syn_flood()).empty());
}

DetectorEvent event(PerVector pps, std::vector<fg_traffic_vector> v, PerVector thr) {
  DetectorEvent e;
  e.vectors = std::move(v);
  e.rates.pps = pps;
  for (int i = 0; i < FG_TV_MAX; i++) e.rates.bps[i] = pps[i] * 800;
  e.thresholds = thr;
  return e;
}

SampleSummary few_sources() {
  SampleSummary s;
  s.samples = 100;
  s.distinct_sources = 3;
  s.top_sources = {{"198.18.1.1", 60}, {"198.18.1.2", 30}, {"198.18.1.3", 10}};
  s.top_ports = {{80, 100}};
  return s;
}

SampleSummary spoofed() {
  SampleSummary s;
  s.samples = 100;
  s.distinct_sources = 98;
  s.top_sources = {{"10.1.2.3", 2}};
  return s;
}

const PerVector kThr = {3000, 150, 900, 100, 100, 100};

TEST(Classify, SynFloodIsResourceConsumption) {
  auto c = classify(event(syn_flood(), {FG_TV_TOTAL, FG_TV_SYN}, kThr), few_sources(), small());
  EXPECT_EQ(c.type, "syn-flood");
  EXPECT_EQ(c.category, "resource-consumption");
  EXPECT_FALSE(c.spoofed);
  ASSERT_FALSE(c.top_ports.empty());
  EXPECT_EQ(c.top_ports[0].first, 80);
}

TEST(Classify, SpoofedSynFloodIsSaidSo) {
  auto c = classify(event(syn_flood(), {FG_TV_SYN}, kThr), spoofed(), small());
  EXPECT_EQ(c.type, "syn-flood");
  EXPECT_TRUE(c.spoofed);
  EXPECT_NE(c.why.find("spoofed"), std::string::npos) << c.why;
}

TEST(Classify, ReflectionBeatsPlainUdpWhenMostUdpComesFromAmplifierPorts) {
  auto c = classify(event({50000, 0, 49000, 0, 0, 45000}, {FG_TV_UDP, FG_TV_REFLECTION}, kThr),
                    few_sources(), small());
  EXPECT_EQ(c.type, "reflection");
  EXPECT_EQ(c.category, "bandwidth-consumption");
  auto u = classify(event({50000, 0, 49000, 0, 0, 100}, {FG_TV_UDP}, kThr), few_sources(), small());
  EXPECT_EQ(u.type, "udp-flood");
}

TEST(Classify, IcmpAndFragmentsAreBandwidth) {
  EXPECT_EQ(classify(event({9000, 0, 0, 9000, 0, 0}, {FG_TV_ICMP}, kThr), {}, small()).type,
            "icmp-flood");
  auto f = classify(event({9000, 0, 0, 0, 9000, 0}, {FG_TV_FRAGMENT}, kThr), {}, small());
  EXPECT_EQ(f.type, "fragment-flood");
  EXPECT_EQ(f.category, "bandwidth-consumption");
}

TEST(Classify, ASynFloodThatFillsTheLinkIsBandwidth) {
  DetectionConfig c = small();
  c.link_mbps = 10;  // syn_flood(): 60000 pkt/s x 800 bit = 48 Mbit/s
  EXPECT_EQ(classify(event(syn_flood(), {FG_TV_SYN}, kThr), {}, c).category,
            "bandwidth-consumption");
}

}  // namespace
}  // namespace floodgate
