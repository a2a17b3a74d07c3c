// Prometheus /metrics: the data path's counters, rules, mode and attachments, read from
// the maps at scrape time (nothing is copied on the packet path or by a timer).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datapath.h"
#include "result.h"

namespace prometheus {
class Exposer;
}

namespace floodgate {

struct MetricsSource {
  std::function<Counters()> counters;
  std::function<size_t()> block_rules;
  std::function<size_t()> allow_rules;
  std::function<bool()> enforcing;
  // (interface name, "native"|"generic") per attachment.
  std::function<std::vector<std::pair<std::string, std::string>>()> interfaces;
  // (provider, session established?) and the number of routes announced.
  std::function<std::vector<std::pair<std::string, bool>>()> bgp_sessions;
  std::function<size_t()> announcements;
  // Detection: per interface and traffic vector, the last second's packets/s and the
  // threshold in force; and whether an incident is open.
  struct VectorRate {
    std::string iface, vector;
    double pps = 0, bps = 0, threshold_pps = 0;
  };
  std::function<std::vector<VectorRate>()> traffic;
  std::function<bool()> incident_open;
  // Share of the allow and block lists' prefilter bits set (0..1): about the share of
  // packets from unlisted sources that still pay for a hash probe.
  std::function<double(fg_list)> filter_fill;
  // Reads of the whole block map for the program's auto-blocks (Engine::tick).
  std::function<uint64_t()> block_map_scans;
};

class MetricsServer {
 public:
  // Serves http://ADDRESS/metrics; ADDRESS must be a loopback address with a port.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address,
                                                      MetricsSource source);
  ~MetricsServer();

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<class Collector> collector_;
};

}  // namespace floodgate
