// Judging the preparation checklist.
#include "preflight.h"

namespace floodgate {

std::vector<Check> preflight(const DaemonConfig& cfg, const PreflightFacts& f) {
  std::vector<Check> out;
  auto add = [&](std::string name, CheckResult r, std::string detail, std::string fix = "") {
    out.push_back({std::move(name), r, std::move(detail), std::move(fix)});
  };
  using R = CheckResult;

  // 4.2 / 4.5: the filter is in place on every interface, in the fast path.
  if (f.interfaces.empty())
    add("filter attached", R::kFail, "no interfaces are configured",
        "list the edge interfaces in [daemon] interfaces");
  for (const auto& i : f.interfaces) {
    if (!i.attached)
      add("filter on " + i.name, R::kFail, "not attached",
          "check the daemon log; restart floodgated");
    else if (!i.native)
      add("filter on " + i.name, R::kFail, "attached in generic mode: the slow path",
          "use a NIC driver with native XDP and set [daemon] attach_mode = \"native\"");
    else
      add("filter on " + i.name, R::kPass,
          std::string("native XDP, ") + (i.dispatcher ? "libxdp dispatcher" : "single program"));
  }
  // 4.5: always on (enforce) or on during an incident (monitor): both are choices.
  add("mode", R::kPass,
      f.datapath.mode == FG_MODE_ENFORCE
          ? "enforce: always on"
          : "monitor: counting only, `floodgatectl protect on` during an incident");
  // 4.2: connection-rate and packet-rate limits.
  bool any_limit = false;
  for (const fg_bucket_cfg& b : f.datapath.src) any_limit |= b.interval_fp != 0;
  if (any_limit)
    add("rate limits", R::kPass, "per-source limits are set");
  else
    add("rate limits", R::kFail, "no per-source limit is set",
        "set [datapath] syn, udp_packets, icmp or `floodgatectl threshold ...`");
  // 4.4: thresholds from a learned baseline.
  if (!f.detection_on) {
    add("baseline", R::kWarn, "detection is off ([detection] enabled = false)",
        "turn detection on so floods are noticed from your own traffic's averages");
  } else if (!f.unlearned.empty()) {
    std::string names;
    for (const std::string& n : f.unlearned) names += (names.empty() ? "" : ", ") + n;
    add("baseline", R::kWarn,
        "not learned yet for this hour on " + names + " (needs " + std::to_string(f.learn_seconds) +
            " s of normal traffic); the floors apply",
        "let floodgated run through normal traffic; `floodgatectl baseline` shows progress");
  } else {
    add("baseline", R::kPass, "learned for this hour on every interface");
  }
  // 4.1: contacts.
  if (cfg.contacts.empty())
    add("contacts", R::kFail, "no contacts are configured",
        "add [[contacts]] (name, role, organisation, phone, e-mail) for staff and vendors");
  else
    add("contacts", R::kPass, std::to_string(cfg.contacts.size()) + " contact(s)");
  // 4.6: scrubbing service and the path to it.
  if (cfg.providers.empty() || cfg.bgp_speaker == "off") {
    add("scrubbing provider", R::kFail,
        cfg.providers.empty() ? "no [[providers]] configured" : "[bgp] speaker is off",
        "configure [bgp] and [[providers]] for your scrubbing service");
  } else {
    for (const ProviderStatus& p : f.providers) {
      if (p.state == BgpSessionState::kEstablished)
        add("BGP session to " + p.name, R::kPass, "established with " + p.neighbor);
      else
        add("BGP session to " + p.name, R::kFail,
            std::string("session is ") + session_state_name(p.state) + " with " + p.neighbor,
            "check the neighbour address, ASNs and that TCP 179 is open both ways");
    }
  }
  if (cfg.divertable.empty() && cfg.protected_prefixes.empty())
    add("protected prefixes", R::kFail, "none configured",
        "list your prefixes in [diversion] prefixes (and [network] protected)");
  else
    add("protected prefixes", R::kPass,
        std::to_string(cfg.divertable.size()) + " divertable, " +
            std::to_string(cfg.protected_prefixes.size()) + " protected");
  // 4.4: monitoring.
  if (cfg.metrics_listen.empty())
    add("metrics", R::kWarn, "Prometheus metrics are off", "set [metrics] listen");
  else if (!f.metrics_reachable)
    add("metrics", R::kFail, "nothing answers on " + cfg.metrics_listen, "check the daemon log");
  else
    add("metrics", R::kPass, "http://" + cfg.metrics_listen + "/metrics answers");
  return out;
}

}  // namespace floodgate
