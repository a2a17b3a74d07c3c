// Parsing sampled frames and ranking their sources.
#include "samples.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

namespace floodgate {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

std::optional<SampleInfo> parse_sample(const fg_sample& s) {
  const uint8_t* p = s.data;
  const size_t n = std::min<size_t>(s.cap_len, FG_SAMPLE_BYTES);
  size_t off = 12;
  if (n < off + 2) return std::nullopt;
  uint16_t proto = be16(p + off);
  off += 2;
  for (int i = 0; i < FG_MAX_VLAN_TAGS && (proto == 0x8100 || proto == 0x88a8); i++) {
    if (n < off + 4) return std::nullopt;
    proto = be16(p + off + 2);
    off += 4;
  }
  SampleInfo info;
  info.reason = s.reason;
  info.bytes = s.pkt_len;
  size_t l4 = 0;
  bool first_fragment = true;
  if (proto == 0x0800) {
    if (n < off + 20) return std::nullopt;
    const size_t ihl = (p[off] & 0x0f) * 4u;
    info.l4proto = p[off + 9];
    first_fragment = (be16(p + off + 6) & 0x1fff) == 0;
    info.source.v4 = true;
    info.source.len = 32;
    info.source.addr.w[2] = htonl(0xffff);
    std::memcpy(&info.source.addr.w[3], p + off + 12, 4);
    info.destination = info.source;
    std::memcpy(&info.destination.addr.w[3], p + off + 16, 4);
    l4 = off + ihl;
  } else if (proto == 0x86dd) {
    if (n < off + 40) return std::nullopt;
    info.l4proto = p[off + 6];
    info.source.v4 = false;
    info.source.len = 128;
    std::memcpy(info.source.addr.w, p + off + 8, 16);
    info.destination = info.source;
    std::memcpy(info.destination.addr.w, p + off + 24, 16);
    l4 = off + 40;
  } else {
    return std::nullopt;
  }
  const bool has_ports = info.l4proto == IPPROTO_TCP || info.l4proto == IPPROTO_UDP;
  if (first_fragment && has_ports && n >= l4 + 4) {
    info.sport = be16(p + l4);
    info.dport = be16(p + l4 + 2);
  }
  return info;
}

void TopTalkers::add(const SampleInfo& s, Clock::time_point at) {
  std::lock_guard lock(mu_);
  samples_.emplace_back(at, s);
  if (samples_.size() > max_samples_) samples_.pop_front();
  expire(at);
}

void TopTalkers::expire(Clock::time_point now) {
  while (!samples_.empty() && samples_.front().first < now - window_) samples_.pop_front();
}

SampleSummary TopTalkers::summary(size_t limit, uint32_t sample_every, Clock::time_point now,
                                  uint32_t reasons) {
  struct Acc {
    TopSource t;
    std::map<uint32_t, uint64_t> reasons;
    std::map<uint16_t, uint64_t> ports;
  };
  std::unordered_map<std::string, Acc> by_source;
  std::map<uint16_t, uint64_t> all_ports, all_sports;
  std::map<std::string, std::pair<Prefix, uint64_t>> dests;  // by address bytes, like sources
  std::map<uint8_t, uint64_t> protos;
  SampleSummary sum;
  {
    std::lock_guard lock(mu_);
    expire(now);
    for (const auto& [at, s] : samples_) {
      if (s.reason >= 32 || !(reasons >> s.reason & 1)) continue;
      sum.samples++;
      if (s.dport) all_ports[s.dport]++;
      if (s.sport) all_sports[s.sport]++;
      auto& d = dests[std::string(reinterpret_cast<const char*>(s.destination.addr.w),
                                  sizeof(s.destination.addr.w))];
      d.first = s.destination;
      d.second++;
      protos[s.l4proto]++;
      std::string key(reinterpret_cast<const char*>(s.source.addr.w), sizeof(s.source.addr.w));
      Acc& a = by_source[key];
      if (a.t.samples == 0) {
        a.t.source = s.source.str();
        a.t.l4proto = s.l4proto;
      }
      a.t.samples++;
      a.reasons[s.reason]++;
      a.ports[s.dport]++;
    }
  }
  sum.distinct_sources = by_source.size();
  std::vector<TopSource>& out = sum.top_sources;
  const double secs = static_cast<double>(window_.count());
  for (auto& [key, a] : by_source) {
    auto most = [](const auto& m) {
      return std::max_element(m.begin(), m.end(),
                              [](auto& x, auto& y) { return x.second < y.second; })
          ->first;
    };
    a.t.top_reason = most(a.reasons);
    a.t.top_dport = most(a.ports);
    a.t.packets_per_second =
        static_cast<double>(a.t.samples) * std::max<uint32_t>(sample_every, 1) / secs;
    out.push_back(a.t);
  }
  std::sort(out.begin(), out.end(), [](const TopSource& x, const TopSource& y) {
    return x.samples != y.samples ? x.samples > y.samples : x.source < y.source;
  });
  if (out.size() > limit) out.resize(limit);
  const auto rank = [limit](auto& v) {  // most samples first, the first `limit`
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    if (v.size() > limit) v.resize(limit);
  };
  const auto ranked = [&rank](auto& out, const auto& counts) {
    out.assign(counts.begin(), counts.end());
    rank(out);
  };
  ranked(sum.top_ports, all_ports);
  ranked(sum.top_source_ports, all_sports);
  std::vector<std::pair<Prefix, uint64_t>> top_dests;
  for (const auto& [key, d] : dests) top_dests.push_back(d);
  rank(top_dests);  // formatted below only for the few that are shown
  for (const auto& [prefix, n] : top_dests) sum.top_destinations.emplace_back(prefix.str(), n);
  std::vector<std::pair<uint8_t, uint64_t>> p;
  ranked(p, protos);
  if (!p.empty()) sum.top_protocol = p[0].first;
  return sum;
}

}  // namespace floodgate
