// Sampled packets from the events ring buffer: parsing their header bytes in user space,
// and the top sources over a sliding window.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "floodgate.h"
#include "prefix.h"

namespace floodgate {

struct SampleInfo {
  Prefix source;        // host prefix
  Prefix destination;   // host prefix
  uint8_t l4proto = 0;  // IPPROTO_*
  uint16_t sport = 0;   // 0 when unknown (fragments, other protocols)
  uint16_t dport = 0;
  uint32_t reason = 0;  // enum fg_reason
  uint32_t bytes = 0;   // original length
};

// Ethernet, up to two VLAN tags, IPv4 or IPv6 (extension headers are not walked: the
// port is then 0). nullopt when the captured bytes hold no IP header.
std::optional<SampleInfo> parse_sample(const fg_sample& s);

struct TopSource {
  std::string source;
  uint64_t samples = 0;
  double packets_per_second = 0;  // samples scaled by the sampling rate
  uint32_t top_reason = 0;
  uint8_t l4proto = 0;
  uint16_t top_dport = 0;
};

// What the samples of a window say about a flood's sources and targets.
struct SampleSummary {
  uint64_t samples = 0;
  uint64_t distinct_sources = 0;
  std::vector<TopSource> top_sources;                    // most samples first
  std::vector<std::pair<uint16_t, uint64_t>> top_ports;  // destination port, samples
  std::vector<std::pair<uint16_t, uint64_t>> top_source_ports;
  std::vector<std::pair<std::string, uint64_t>> top_destinations;  // host, samples
  uint8_t top_protocol = 0;                                        // IPPROTO_*
};

// Keeps the samples of the last `window` and ranks their sources. Thread-safe.
class TopTalkers {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TopTalkers(std::chrono::seconds window = std::chrono::seconds(10),
                      size_t max_samples = 500'000)
      : window_(window), max_samples_(max_samples) {}

  void add(const SampleInfo& s, Clock::time_point at = Clock::now());
  // The sources of sampled drops and would-drops (passed packets sampled as evidence
  // are not offenders).
  std::vector<TopSource> top(size_t limit, uint32_t sample_every,
                             Clock::time_point now = Clock::now()) {
    return summary(limit, sample_every, now, ~((1u << FG_R_FIRST_DROP) - 1)).top_sources;
  }
  // Only samples whose reason's bit is set in `reasons` (bit r = enum fg_reason r).
  static constexpr uint32_t kAllReasons = ~0u;
  SampleSummary summary(size_t limit, uint32_t sample_every, Clock::time_point now = Clock::now(),
                        uint32_t reasons = kAllReasons);
  std::chrono::seconds window() const { return window_; }

 private:
  void expire(Clock::time_point now);

  std::mutex mu_;
  std::chrono::seconds window_;
  size_t max_samples_;
  std::deque<std::pair<Clock::time_point, SampleInfo>> samples_;
};

}  // namespace floodgate
