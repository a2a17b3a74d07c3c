// The /metrics collector and its HTTP exposer (prometheus-cpp).
#include "metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

namespace floodgate {

class Collector : public prometheus::Collectable {
 public:
  explicit Collector(MetricsSource s) : s_(std::move(s)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::ClientMetric;
    using prometheus::MetricFamily;
    using prometheus::MetricType;
    const Counters c = s_.counters();
    MetricFamily packets{"floodgate_packets_total",
                         "Packets seen by the XDP filter, by reason and by what happened to them "
                         "(drop reasons count under verdict=\"pass\" in monitor mode)",
                         MetricType::Counter,
                         {}};
    MetricFamily bytes{"floodgate_bytes_total",
                       "Bytes seen by the XDP filter, by reason and verdict",
                       MetricType::Counter,
                       {}};
    MetricFamily lost{"floodgate_samples_lost_total",
                      "Packet samples lost because the events ring buffer was full",
                      MetricType::Counter,
                      {}};
    double samples_lost = 0;
    for (uint32_t r = 0; r < FG_R_MAX; r++) {
      const std::string reason = fg_reason_name(static_cast<fg_reason>(r));
      for (const bool drop : {false, true}) {
        ClientMetric pm, bm;
        pm.label = {{"reason", reason}, {"verdict", drop ? "drop" : "pass"}};
        bm.label = pm.label;
        pm.counter.value = static_cast<double>(drop ? c[r].drop_packets : c[r].pass_packets);
        bm.counter.value = static_cast<double>(drop ? c[r].drop_bytes : c[r].pass_bytes);
        packets.metric.push_back(pm);
        bytes.metric.push_back(bm);
      }
      samples_lost += static_cast<double>(c[r].samples_lost);
    }
    ClientMetric l;
    l.counter.value = samples_lost;
    lost.metric.push_back(l);

    MetricFamily rules{"floodgate_rules", "Rules in force, by kind", MetricType::Gauge, {}};
    ClientMetric rb, ra;
    rb.label = {{"kind", "block"}};
    rb.gauge.value = static_cast<double>(s_.block_rules());
    ra.label = {{"kind", "allow"}};
    ra.gauge.value = static_cast<double>(s_.allow_rules());
    rules.metric = {rb, ra};

    MetricFamily enforce{"floodgate_enforcing",
                         "1 in enforce mode (dropping), 0 in monitor mode",
                         MetricType::Gauge,
                         {}};
    ClientMetric e;
    e.gauge.value = s_.enforcing() ? 1 : 0;
    enforce.metric.push_back(e);

    MetricFamily attached{"floodgate_attached",
                          "1 per interface the filter is attached to, with its XDP mode "
                          "(generic is the slow path)",
                          MetricType::Gauge,
                          {}};
    for (const auto& [name, mode] : s_.interfaces()) {
      ClientMetric a;
      a.label = {{"interface", name}, {"mode", mode}};
      a.gauge.value = 1;
      attached.metric.push_back(a);
    }
    MetricFamily bgp{"floodgate_bgp_session_up",
                     "1 while the BGP session to the scrubbing provider is established",
                     MetricType::Gauge,
                     {}};
    if (s_.bgp_sessions)
      for (const auto& [provider, up] : s_.bgp_sessions()) {
        ClientMetric m;
        m.label = {{"provider", provider}};
        m.gauge.value = up ? 1 : 0;
        bgp.metric.push_back(m);
      }
    MetricFamily announced{"floodgate_announcements",
                           "Routes announced for diversion, blackholing and FlowSpec",
                           MetricType::Gauge,
                           {}};
    ClientMetric an;
    an.gauge.value = s_.announcements ? static_cast<double>(s_.announcements()) : 0;
    announced.metric.push_back(an);
    MetricFamily pps{"floodgate_traffic_packets_per_second",
                     "What arrived in the last second, per interface and vector",
                     MetricType::Gauge,
                     {}};
    MetricFamily bps{"floodgate_traffic_bits_per_second",
                     "What arrived in the last second, per interface and vector",
                     MetricType::Gauge,
                     {}};
    MetricFamily thr{"floodgate_flood_threshold_packets_per_second",
                     "The detector's threshold per interface and vector (baseline x factor, or "
                     "the floor, or static)",
                     MetricType::Gauge,
                     {}};
    if (s_.traffic)
      for (const MetricsSource::VectorRate& v : s_.traffic()) {
        ClientMetric m;
        m.label = {{"interface", v.iface}, {"vector", v.vector}};
        m.gauge.value = v.pps;
        pps.metric.push_back(m);
        m.gauge.value = v.bps;
        bps.metric.push_back(m);
        m.gauge.value = v.threshold_pps;
        thr.metric.push_back(m);
      }
    MetricFamily incident{
        "floodgate_incident_open", "1 while an incident is open", MetricType::Gauge, {}};
    ClientMetric io;
    io.gauge.value = s_.incident_open && s_.incident_open() ? 1 : 0;
    incident.metric.push_back(io);
    MetricFamily fill{"floodgate_list_filter_fill",
                      "Share of the list's prefilter bits set: about the share of packets from "
                      "sources not on the list that still pay for a map lookup",
                      MetricType::Gauge,
                      {}};
    if (s_.filter_fill)
      for (const fg_list list : {FG_LIST_ALLOW, FG_LIST_BLOCK}) {
        ClientMetric m;
        m.label = {{"list", list == FG_LIST_ALLOW ? "allow" : "block"}};
        m.gauge.value = s_.filter_fill(list);
        fill.metric.push_back(m);
      }
    MetricFamily scans{"floodgate_block_map_scans_total",
                       "Reads of the whole block map for the program's auto-blocks (made only "
                       "after per-source limit violations)",
                       MetricType::Counter,
                       {}};
    if (s_.block_map_scans) {
      ClientMetric m;
      m.counter.value = static_cast<double>(s_.block_map_scans());
      scans.metric.push_back(m);
    }
    return {packets,   bytes, lost, rules, enforce,  attached, bgp,
            announced, pps,   bps,  thr,   incident, fill,     scans};
  }

 private:
  MetricsSource s_;
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address,
                                                            MetricsSource source) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return failed_precondition("cannot serve metrics on " + address + ": " + e.what() +
                               " (metrics.listen in the config)");
  }
  m->collector_ = std::make_shared<Collector>(std::move(source));
  m->exposer_->RegisterCollectable(m->collector_);
  return m;
}

MetricsServer::~MetricsServer() = default;

}  // namespace floodgate
