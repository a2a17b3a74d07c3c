// Baselines, thresholds, flood start/end and classification.
#include "detector.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace floodgate {
namespace {

constexpr double kSpoofedMinSamples = 30;
constexpr double kSpoofedDistinctShare = 0.5;  // distinct sources / samples
constexpr double kSpoofedTopShare = 0.05;      // the heaviest source's share of samples

}  // namespace

std::string human_rate(double v, const std::string& unit) {
  std::ostringstream o;
  o.precision(3);
  if (v >= 1e9)
    o << v / 1e9 << "G";
  else if (v >= 1e6)
    o << v / 1e6 << "M";
  else if (v >= 1e3)
    o << v / 1e3 << "k";
  else
    o << std::llround(v);
  if (!unit.empty()) o << " " << unit;
  return o.str();
}

const char* attack_type_name(fg_traffic_vector v) {
  switch (v) {
    case FG_TV_SYN:
      return "syn-flood";
    case FG_TV_UDP:
      return "udp-flood";
    case FG_TV_ICMP:
      return "icmp-flood";
    case FG_TV_FRAGMENT:
      return "fragment-flood";
    case FG_TV_REFLECTION:
      return "reflection";
    case FG_TV_TOTAL:
    case FG_TV_MAX:
      break;
  }
  return "volumetric";
}

int local_hour(int64_t unix_s) {
  tm t{};
  const time_t tt = static_cast<time_t>(unix_s);
  localtime_r(&tt, &t);
  return t.tm_hour;
}

void Detector::load(const std::vector<BaselineRow>& rows) {
  for (const BaselineRow& r : rows)
    if (r.hour >= 0 && r.hour < 24 && r.vector >= 0 && r.vector < FG_TV_MAX)
      iface(r.iface).base[r.hour][r.vector] = r.cell;
}

std::vector<BaselineRow> Detector::baselines() const {
  std::vector<BaselineRow> out;
  for (const auto& [name, f] : ifaces_)
    for (int h = 0; h < 24; h++)
      for (int v = 0; v < FG_TV_MAX; v++)
        if (f.base[h][v].samples) out.push_back({name, h, v, f.base[h][v]});
  return out;
}

BaselineCell Detector::baseline(const std::string& name, int hour, fg_traffic_vector v) const {
  auto it = ifaces_.find(name);
  if (it == ifaces_.end() || hour < 0 || hour >= 24) return {};
  return it->second.base[hour][v];
}

bool Detector::learned(const std::string& name, int hour) const {
  for (int v = 0; v < FG_TV_MAX; v++)
    if (baseline(name, hour, static_cast<fg_traffic_vector>(v)).samples < cfg_.learn_samples)
      return false;
  return true;
}

Threshold1 Detector::threshold(const std::string& name, int hour, fg_traffic_vector v) const {
  if (cfg_.static_pps[v] > 0) return {cfg_.static_pps[v], "static"};
  const BaselineCell b = baseline(name, hour, v);
  const double from_base = cfg_.factor * b.pps;
  if (b.samples >= cfg_.learn_samples && from_base > cfg_.floor_pps[v])
    return {from_base, "baseline"};
  return {cfg_.floor_pps[v], "floor"};
}

std::optional<Rates> Detector::rates(const std::string& name) const {
  auto it = ifaces_.find(name);
  if (it == ifaces_.end() || !it->second.primed) return std::nullopt;
  return it->second.rates;
}

std::optional<Rates> Detector::ewma(const std::string& name) const {
  auto it = ifaces_.find(name);
  if (it == ifaces_.end() || !it->second.primed) return std::nullopt;
  return it->second.ewma;
}

bool Detector::in_flood(const std::string& name) const {
  auto it = ifaces_.find(name);
  return it != ifaces_.end() && it->second.flood;
}

void Detector::resume_flood(const std::string& name) {
  Iface& f = iface(name);
  f.flood = true;
  f.below = 0;
}

std::vector<DetectorEvent> Detector::tick(
    int64_t now_unix, int hour, double dt_s,
    const std::vector<std::pair<std::string, fg_traffic>>& counters) {
  std::vector<DetectorEvent> out;
  hour = std::clamp(hour, 0, 23);
  for (const auto& [name, cur] : counters) {
    Iface& f = iface(name);
    if (!f.primed || dt_s <= 0) {
      f.primed = true;
      f.last = cur;
      continue;
    }
    PerVector thr{};
    bool any_above = false;
    std::vector<fg_traffic_vector> started;
    for (int v = 0; v < FG_TV_MAX; v++) {
      // Counters only grow; a smaller value means the maps were recreated.
      const uint64_t dp =
          cur.packets[v] >= f.last.packets[v] ? cur.packets[v] - f.last.packets[v] : 0;
      const uint64_t db = cur.bytes[v] >= f.last.bytes[v] ? cur.bytes[v] - f.last.bytes[v] : 0;
      f.rates.pps[v] = static_cast<double>(dp) / dt_s;
      f.rates.bps[v] = static_cast<double>(db) * 8 / dt_s;
      f.ewma.pps[v] += cfg_.ewma_alpha * (f.rates.pps[v] - f.ewma.pps[v]);
      f.ewma.bps[v] += cfg_.ewma_alpha * (f.rates.bps[v] - f.ewma.bps[v]);
      thr[v] = threshold(name, hour, static_cast<fg_traffic_vector>(v)).pps;
      const bool above = f.rates.pps[v] > thr[v];
      f.above[v] = above ? f.above[v] + 1 : 0;
      any_above |= above;
      if (f.above[v] >= std::max<uint32_t>(cfg_.sustain_s, 1)) {
        if (!f.seen[v]) started.push_back(static_cast<fg_traffic_vector>(v));
        f.seen[v] = true;
      }
    }
    f.last = cur;
    const bool link_full = cfg_.link_mbps > 0 &&
                           f.rates.bps[FG_TV_TOTAL] >= cfg_.bandwidth_share * cfg_.link_mbps * 1e6;
    // Learn from normal seconds only: an attack must not raise its own threshold.
    if (!f.flood && !any_above && !link_full)
      for (int v = 0; v < FG_TV_MAX; v++) {
        BaselineCell& b = f.base[hour][v];
        const double w =
            std::max(1.0 / static_cast<double>(b.samples + 1), cfg_.learn_rate);  // mean first
        b.pps += w * (f.rates.pps[v] - b.pps);
        b.bps += w * (f.rates.bps[v] - b.bps);
        b.samples++;
      }
    if (f.flood || !started.empty())
      for (int v = 0; v < FG_TV_MAX; v++) {
        f.peak.pps[v] = std::max(f.peak.pps[v], f.rates.pps[v]);
        f.peak.bps[v] = std::max(f.peak.bps[v], f.rates.bps[v]);
      }
    if (!cfg_.enabled) continue;
    if (!f.flood && !started.empty()) {
      f.flood = true;
      f.below = 0;
      out.push_back({DetectorEvent::kStart, name, now_unix, started, f.rates, f.peak, thr});
      continue;
    }
    if (!f.flood) continue;
    f.below = any_above ? 0 : f.below + 1;
    if (f.below >= std::max<uint32_t>(cfg_.hold_down_s, 1)) {
      DetectorEvent e{DetectorEvent::kEnd, name, now_unix, {}, f.rates, f.peak, thr};
      for (int v = 0; v < FG_TV_MAX; v++)
        if (f.seen[v]) e.vectors.push_back(static_cast<fg_traffic_vector>(v));
      out.push_back(e);
      f.flood = false;
      f.seen = {};
      f.peak = {};
      f.above = {};
    }
  }
  return out;
}

Classification classify(const DetectorEvent& e, const SampleSummary& samples,
                        const DetectionConfig& cfg) {
  Classification c;
  // The most specific vector over its threshold: reflection is part of UDP, and the
  // total is what every vector adds up to.
  const auto has = [&](fg_traffic_vector v) {
    return std::find(e.vectors.begin(), e.vectors.end(), v) != e.vectors.end();
  };
  double best = -1;
  for (fg_traffic_vector v : {FG_TV_SYN, FG_TV_UDP, FG_TV_ICMP, FG_TV_FRAGMENT}) {
    const double ratio = e.rates.pps[v] / std::max(e.thresholds[v], 1.0);
    if ((has(v) || e.rates.pps[v] > e.thresholds[v]) && ratio > best) best = ratio, c.vector = v;
  }
  if (c.vector == FG_TV_TOTAL) {  // only the total: name its largest part
    for (fg_traffic_vector v : {FG_TV_SYN, FG_TV_UDP, FG_TV_ICMP, FG_TV_FRAGMENT})
      if (e.rates.pps[v] > best) best = e.rates.pps[v], c.vector = v;
  }
  if (c.vector == FG_TV_UDP && e.rates.pps[FG_TV_REFLECTION] >= 0.5 * e.rates.pps[FG_TV_UDP])
    c.vector = FG_TV_REFLECTION;
  c.type = attack_type_name(c.vector);

  const bool link_full =
      cfg.link_mbps > 0 && e.rates.bps[FG_TV_TOTAL] >= cfg.bandwidth_share * cfg.link_mbps * 1e6;
  c.category =
      c.vector == FG_TV_SYN && !link_full ? "resource-consumption" : "bandwidth-consumption";
  c.distinct_sources = samples.distinct_sources;
  c.top_sources = samples.top_sources;
  c.top_ports = samples.top_ports;
  const double n = static_cast<double>(samples.samples);
  const double top = samples.top_sources.empty() ? 0 : samples.top_sources[0].samples;
  c.spoofed = n >= kSpoofedMinSamples &&
              static_cast<double>(samples.distinct_sources) >= kSpoofedDistinctShare * n &&
              top < kSpoofedTopShare * n;

  std::ostringstream why;
  why << c.type << " (" << c.category << "): " << fg_traffic_vector_name(c.vector) << " at "
      << human_rate(e.rates.pps[c.vector], "pkt/s") << ", threshold "
      << human_rate(e.thresholds[c.vector], "") << "; total "
      << human_rate(e.rates.bps[FG_TV_TOTAL], "bit/s");
  if (link_full) why << " (>= " << cfg.bandwidth_share * 100 << "% of the link)";
  if (samples.samples)
    why << "; " << samples.distinct_sources << " sources in " << samples.samples << " samples"
        << (c.spoofed ? ", looks spoofed (many sources, each sending little)" : "");
  c.why = why.str();
  return c;
}

}  // namespace floodgate
