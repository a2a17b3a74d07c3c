// Detection (PROCEDURE.md 4.4): once a second the daemon hands the detector what arrived
// on each interface (fg_traffic counters); the detector keeps the rates per vector, a
// short EWMA, and a baseline per hour of day learned from normal traffic, derives the
// thresholds, and says when a flood starts and when it is over. Pure logic: no clock,
// no kernel, no store (the caller persists baselines()).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "floodgate.h"
#include "samples.h"

namespace floodgate {

using PerVector = std::array<double, FG_TV_MAX>;

struct DetectionConfig {
  bool enabled = true;
  double factor = 3.0;  // threshold = factor x the baseline of this hour of day
  // Thresholds never go below these (packets/s); before an hour's baseline is learned,
  // they are the thresholds.
  PerVector floor_pps = {50000, 2000, 20000, 2000, 2000, 2000};
  PerVector static_pps = {};      // > 0: a fixed threshold for that vector, baseline ignored
  uint32_t learn_samples = 3600;  // seconds of normal traffic before an hour counts as learned
  double learn_rate = 0.001;      // weight of one second once learned (slow: days)
  double ewma_alpha = 0.3;        // the short-term level shown next to the rate
  uint32_t sustain_s = 2;         // above threshold this many seconds in a row: a flood
  uint32_t hold_down_s = 60;      // below every threshold this long: over
  double link_mbps = 0;           // 0 = unknown
  double bandwidth_share = 0.5;   // bits/s above this share of the link: bandwidth attack
};

struct Rates {
  PerVector pps{};
  PerVector bps{};
};

struct BaselineCell {
  double pps = 0;
  double bps = 0;
  uint64_t samples = 0;
};

struct BaselineRow {  // as the store keeps it
  std::string iface;
  int hour = 0;  // 0..23, local time
  int vector = 0;
  BaselineCell cell;
};

struct Threshold1 {
  double pps = 0;
  std::string basis;  // "baseline", "floor", "static"
};

struct DetectorEvent {
  enum Kind { kStart, kEnd } kind = kStart;
  std::string iface;
  int64_t at = 0;
  std::vector<fg_traffic_vector> vectors;  // above threshold (start) / seen during (end)
  Rates rates;                             // this second
  Rates peak;                              // since the flood started
  PerVector thresholds{};
};

class Detector {
 public:
  explicit Detector(DetectionConfig cfg) : cfg_(cfg) {}

  // Starts from stored baselines (a restart does not forget).
  void load(const std::vector<BaselineRow>& rows);
  std::vector<BaselineRow> baselines() const;

  // One sample per interface: cumulative counters read now; dt_s since the last call.
  // The first call per interface only primes it. `hour` is the local hour of day.
  std::vector<DetectorEvent> tick(int64_t now_unix, int hour, double dt_s,
                                  const std::vector<std::pair<std::string, fg_traffic>>& counters);

  Threshold1 threshold(const std::string& iface, int hour, fg_traffic_vector v) const;
  BaselineCell baseline(const std::string& iface, int hour, fg_traffic_vector v) const;
  bool learned(const std::string& iface, int hour) const;  // every vector of that hour
  std::optional<Rates> rates(const std::string& iface) const;
  std::optional<Rates> ewma(const std::string& iface) const;
  bool in_flood(const std::string& iface) const;
  // After a restart with an incident still open: treat `iface` as flooded, so the end of
  // the flood (hold-down below every threshold) is still reported.
  void resume_flood(const std::string& iface);
  const DetectionConfig& config() const { return cfg_; }

 private:
  struct Iface {
    bool primed = false;
    fg_traffic last{};
    Rates rates, ewma, peak;
    std::array<uint32_t, FG_TV_MAX> above{};  // consecutive seconds above threshold
    uint32_t below = 0;                       // consecutive seconds below all (in a flood)
    bool flood = false;
    std::array<bool, FG_TV_MAX> seen{};  // vectors above threshold during this flood
    std::array<std::array<BaselineCell, FG_TV_MAX>, 24> base{};
  };
  Iface& iface(const std::string& name) { return ifaces_[name]; }

  DetectionConfig cfg_;
  std::map<std::string, Iface> ifaces_;
};

// Procedure attachment 4: bandwidth consumption (UDP/ICMP floods, reflection, fragments,
// or bits/s near the link's capacity) vs resource consumption (SYN floods).
struct Classification {
  std::string type;      // "syn-flood", "udp-flood", "reflection", "icmp-flood", ...
  std::string category;  // "bandwidth-consumption" or "resource-consumption"
  fg_traffic_vector vector = FG_TV_TOTAL;
  bool spoofed = false;  // many sources, each sending little
  uint64_t distinct_sources = 0;
  std::vector<TopSource> top_sources;
  std::vector<std::pair<uint16_t, uint64_t>> top_ports;  // destination port, samples
  std::string why;                                       // one line, for the timeline
};

Classification classify(const DetectorEvent& e, const SampleSummary& samples,
                        const DetectionConfig& cfg);

const char* attack_type_name(fg_traffic_vector v);

// 20000 -> "20k pkt/s", 8.85e7 -> "88.5M bit/s" (unit "" -> just the number).
std::string human_rate(double v, const std::string& unit);

// The local hour of day (0..23) of a Unix time: baselines follow the operator's day.
int local_hour(int64_t unix_s);

}  // namespace floodgate
