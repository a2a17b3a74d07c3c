// Incidents: lifecycle, playbook, checklists, notifications, evidence and reports.
#include "incidents.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace floodgate {
namespace {

const Caller kFloodgate{"floodgate", std::nullopt};
constexpr int64_t kSourceWindowS = 2;       // samples gathered before naming the top sources
constexpr double kHeavySourceShare = 0.05;  // block_top: at least this share of the samples

std::string iso(int64_t unix_s) {
  if (unix_s <= 0) return "";
  char buf[32];
  tm t{};
  const time_t tt = static_cast<time_t>(unix_s);
  gmtime_r(&tt, &t);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}

std::string duration(int64_t s) {
  std::ostringstream o;
  if (s >= 3600) o << s / 3600 << "h";
  if (s >= 60) o << (s % 3600) / 60 << "m";
  o << s % 60 << "s";
  return o.str();
}

// The rate-limit vectors a flood type tightens.
std::vector<fg_vector> limits_of(const std::string& type) {
  if (type == "syn-flood") return {FG_VEC_SYN};
  if (type == "udp-flood" || type == "reflection") return {FG_VEC_UDP_PKTS, FG_VEC_UDP_BYTES};
  if (type == "icmp-flood") return {FG_VEC_ICMP};
  return {};
}

// Steps that name sources or destinations wait for the samples (kSourceWindowS).
bool needs_sources(const std::string& action) {
  return action == "block_top" || action == "flowspec" || action == "rtbh";
}

}  // namespace

const std::vector<ChecklistItem>& checklist() {
  static const std::vector<ChecklistItem> items = {
      {"A1.prepared", "Preparation checklist (attachment 1) passed when the incident opened", true},
      {"A3.report-internal", "Internal reporting chain and DDoS contacts notified", true},
      {"A3.report-external",
       "Filed in the securities and futures market cyber-security incident reporting system "
       "(and with the police if warranted)",
       false},
      {"A3.analysed", "Attack type determined (bandwidth or resource consumption)", true},
      {"A3.backup", "Important business data on the attacked systems backed up", false},
      {"A3.evidence", "Attack packets captured and kept as evidence", true},
      {"A3.mitigated", "Damage control for the attack type applied (playbook)", true},
      {"A3.scrubbing", "Scrubbing / diversion service switched on (if needed)", false},
      {"A3.cloud", "Cloud standby brought up and its DDoS defences used (if any)", false},
      {"A5.restored", "Settings changed for the incident restored", true},
      {"A5.diversion-withdrawn", "Diversion withdrawn after traffic stayed clean", true},
      {"A5.monitoring", "Traffic and equipment watched closely after the attack", false},
      {"A5.recorded", "Cause, method, measures and follow-up items recorded", false},
      {"A5.report-closed", "External incident report closed with the handling and solution", false},
  };
  return items;
}

// What the open incident needs between calls; the store holds the rest.
struct Incidents::Open {
  int64_t id = 0;
  int64_t opened_at = 0;
  json data;
  int64_t sources_at = 0;  // when to classify sources and run the deferred steps
  bool sources_done = false;
  int64_t last_save = 0;
  std::ofstream counters;              // JSON lines, one per interface and second
  DetectorEvent event;                 // the detection that classified it
  std::set<std::string> auto_checked;  // automatic items already settled
};

Incidents::Incidents(const DaemonConfig& cfg, Store& store, Engine& engine, Diversion* diversion,
                     TopTalkers& top, std::function<uint32_t()> sample_every,
                     std::function<std::vector<Check>()> preflight)
    : cfg_(cfg),
      store_(store),
      engine_(engine),
      diversion_(diversion),
      top_(top),
      sample_every_(std::move(sample_every)),
      preflight_(std::move(preflight)) {
  std::vector<Notifier::Target> targets;
  for (const Contact& c : cfg.contacts) targets.push_back({c.name, c.webhook});
  notifier_ = std::make_unique<Notifier>(
      std::move(targets), cfg.hook_command, cfg.notify_retries, [this](const Delivery& d) {
        std::string text =
            d.what + " -> " + d.target + ": " +
            (d.ok ? "delivered"
                  : "FAILED after " + std::to_string(d.attempts) + " attempt(s): " + d.error);
        if (d.ok && d.attempts > 1) text += " (after " + std::to_string(d.attempts) + " attempts)";
        timeline(d.incident, "floodgate", "notify", text);
        if (d.ok) {
          std::lock_guard lock(mu_);
          if (open_ && open_->id == d.incident)
            auto_check("A3.report-internal", "notification delivered to " + d.target);
        }
      });
}

Incidents::~Incidents() {
  notifier_.reset();  // sends what is queued first
  evidence_off();
}

std::optional<int64_t> Incidents::open_id() const {
  std::lock_guard lock(mu_);
  return open_ ? std::optional<int64_t>(open_->id) : std::nullopt;
}

std::string Incidents::open_iface() const {
  std::lock_guard lock(mu_);
  return open_ ? open_->data.value("iface", "") : "";
}

void Incidents::timeline(int64_t id, const std::string& actor, const std::string& kind,
                         const std::string& text) {
  (void)store_.add_timeline(id, {unix_now(), actor, kind, text});
}

// With mu_ held: checks an automatic item once.
void Incidents::auto_check(const std::string& item, const std::string& note) {
  if (!open_ || open_->auto_checked.count(item)) return;  // called every tick for some items
  open_->auto_checked.insert(item);
  auto done = store_.checks(open_->id);  // an operator may have checked it already
  if (done.ok())
    for (const CheckRecord& c : *done)
      if (c.item == item) return;
  (void)store_.put_check(open_->id, {item, unix_now(), "floodgate", note});
}

void Incidents::notify(const std::string& what, const json& extra) {
  if (!open_ || !notifier_->has_targets()) return;
  json body = {{"incident", open_->id},
               {"event", what},
               {"at", iso(unix_now())},
               {"type", open_->data.value("type", "")},
               {"category", open_->data.value("category", "")},
               {"summary", open_->data.value("why", "")}};
  for (const auto& [k, v] : extra.items()) body[k] = v;
  notifier_->send({open_->id, body.dump(), what});
}

void Incidents::save_locked() {
  if (!open_) return;
  (void)store_.update_incident({open_->id, open_->opened_at, 0, open_->data.dump()});
  open_->last_save = unix_now();
}

void Incidents::evidence_on(int64_t id) {
  const std::string base = cfg_.evidence_dir + "/incident-" + std::to_string(id);
  if (auto s = pcap_.open(base + ".pcap", uint64_t{cfg_.evidence_max_mb} << 20); !s)
    timeline(id, "floodgate", "evidence", s.error().message);
  if (open_) {
    open_->data["evidence"]["pcap"] = base + ".pcap";
    open_->data["evidence"]["counters"] = base + "-counters.jsonl";
    open_->counters.open(base + "-counters.jsonl", std::ios::app);
  }
  if (auto s = engine_.set_evidence_sampling(cfg_.evidence_sample_every); !s)
    timeline(id, "floodgate", "evidence", "cannot sample passed packets: " + s.error().message);
}

void Incidents::evidence_off() {
  (void)engine_.set_evidence_sampling(0);
  pcap_.close();
}

void Incidents::on_sample(const fg_sample& s) { pcap_.write(s); }

void Incidents::start(int64_t now_unix) {
  auto rows = store_.incidents(0, 20);
  if (!rows.ok()) return;
  for (const IncidentRow& r : *rows) {
    if (r.closed_at) continue;
    std::lock_guard lock(mu_);
    open_ = std::make_unique<Open>();
    open_->id = r.id;
    open_->opened_at = r.opened_at;
    open_->data = json::parse(r.data, nullptr, false);
    if (open_->data.is_discarded()) open_->data = json::object();
    open_->sources_done = open_->data.contains("sources");
    open_->sources_at = now_unix + kSourceWindowS;
    timeline(r.id, "floodgate", "restart", "floodgated restarted; the incident stays open");
    evidence_on(r.id);
    return;
  }
}

Result<int64_t> Incidents::open(const std::string& type, const std::string& note, const Caller& c) {
  std::lock_guard lock(mu_);
  if (open_)
    return failed_precondition("incident #" + std::to_string(open_->id) +
                               " is open; add to it with `floodgatectl incident note " +
                               std::to_string(open_->id) + " TEXT` or close it first");
  const std::string t = type.empty() ? "unclassified" : type;
  const std::string category = t == "syn-flood"      ? "resource-consumption"
                               : t == "unclassified" ? ""
                                                     : "bandwidth-consumption";
  auto id = open_locked(t, category, note.empty() ? "opened by hand" : note, c);
  if (!id.ok()) return id;
  if (!note.empty()) timeline(*id, c.who, "note", note);
  return id;
}

Result<int64_t> Incidents::open_locked(const std::string& type, const std::string& category,
                                       const std::string& why, const Caller& c) {
  const int64_t now = unix_now();
  json data = {{"type", type},
               {"category", category},
               {"why", why},
               {"opened_by", c.who},
               {"affected_service", cfg_.affected_service},
               {"protected", cfg_.protected_prefixes},
               {"peak_pps", json::object()},
               {"peak_bps", json::object()},
               {"actions", json::array()},
               {"restore", json::object()}};
  auto id = store_.create_incident(now, data.dump());
  if (!id.ok()) return id;
  open_ = std::make_unique<Open>();
  open_->id = *id;
  open_->opened_at = now;
  open_->data = std::move(data);
  open_->sources_at = now + kSourceWindowS;
  timeline(*id, c.who, "open", "incident opened: " + why);
  evidence_on(*id);
  if (preflight_) {
    std::string failed;
    for (const Check& ch : preflight_())
      if (ch.result == CheckResult::kFail) failed += (failed.empty() ? "" : ", ") + ch.name;
    if (failed.empty())
      auto_check("A1.prepared", "preflight passed at opening");
    else
      timeline(*id, "floodgate", "check", "preparation checklist failing at opening: " + failed);
  }
  if (!cfg_.providers.empty() && cfg_.bgp_speaker != "off")
    timeline(*id, "floodgate", "check", "scrubbing service configured: " + cfg_.providers[0].name);
  notify("open");
  save_locked();
  return *id;
}

std::vector<std::string> Incidents::on_detection(const DetectorEvent& e) {
  std::vector<std::string> log;
  std::lock_guard lock(mu_);
  std::string vectors;
  for (fg_traffic_vector v : e.vectors)
    vectors += (vectors.empty() ? "" : ", ") + std::string(fg_traffic_vector_name(v));
  if (e.kind == DetectorEvent::kEnd) {
    if (!open_ || open_->data.value("iface", "") != e.iface) return log;
    const std::string text = "flood over on " + e.iface +
                             ": every vector below its threshold for " +
                             std::to_string(cfg_.detection.hold_down_s) + " s";
    timeline(open_->id, "floodgate", "detection", text);
    log.push_back("incident #" + std::to_string(open_->id) + ": " + text + "; closing");
    close_locked(e.at, "closed automatically after the hold-down", kFloodgate);
    return log;
  }
  const Classification cl =
      classify(e, top_.summary(10, sample_every_ ? sample_every_() : 1), cfg_.detection);
  const std::string detected = "flood on " + e.iface + " (" + vectors + ")";
  if (open_ && open_->data.value("type", "") != "unclassified") {
    timeline(open_->id, "floodgate", "detection", "also: " + detected + ": " + cl.why);
    log.push_back("incident #" + std::to_string(open_->id) + " also: " + detected);
    return log;
  }
  if (!open_ && !cfg_.auto_open) {
    log.push_back(detected + ": " + cl.why + " (incidents.auto_open is off: no incident opened)");
    return log;
  }
  if (!open_) {
    auto id = open_locked(cl.type, cl.category, cl.why, kFloodgate);
    if (!id.ok()) return {"cannot open an incident: " + id.error().message};
  }
  Open& o = *open_;
  o.event = e;
  o.data["type"] = cl.type;
  o.data["category"] = cl.category;
  o.data["why"] = cl.why;
  o.data["iface"] = e.iface;
  o.data["vector"] = fg_traffic_vector_name(cl.vector);
  o.data["detected_at"] = e.at;
  o.data["detected_at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  for (int v = 0; v < FG_TV_MAX; v++) {
    const char* name = fg_traffic_vector_name(static_cast<fg_traffic_vector>(v));
    o.data["thresholds_pps"][name] = e.thresholds[v];
    o.data["peak_pps"][name] = std::max(o.data["peak_pps"].value(name, 0.0), e.rates.pps[v]);
    o.data["peak_bps"][name] = std::max(o.data["peak_bps"].value(name, 0.0), e.rates.bps[v]);
  }
  timeline(o.id, "floodgate", "detection", detected);
  timeline(o.id, "floodgate", "classification", cl.why);
  auto_check("A3.analysed", cl.type + ", " + cl.category);
  notify("classification", {{"vector", o.data["vector"]}, {"interface", e.iface}});
  log.push_back("incident #" + std::to_string(o.id) + ": " + cl.why);
  run_playbook(false);
  save_locked();
  return log;
}

void Incidents::tick(int64_t now_unix, const std::vector<std::pair<std::string, Rates>>& rates) {
  std::lock_guard lock(mu_);
  if (withdraw_pending_ && diversion_ && diversion_->status().announcements.empty()) {
    (void)store_.put_check(withdraw_pending_,
                           {"A5.diversion-withdrawn", now_unix, "floodgate", "withdrawn"});
    timeline(withdraw_pending_, "floodgate", "recovery", "diversion withdrawn");
    withdraw_pending_ = 0;
  }
  if (!open_) return;
  Open& o = *open_;
  for (const auto& [iface, r] : rates) {
    json line = {{"at", now_unix}, {"iface", iface}};
    for (int v = 0; v < FG_TV_MAX; v++) {
      const char* name = fg_traffic_vector_name(static_cast<fg_traffic_vector>(v));
      line["pps"][name] = std::llround(r.pps[v]);
      line["bps"][name] = std::llround(r.bps[v]);
      json& pp = o.data["peak_pps"][name];
      json& pb = o.data["peak_bps"][name];
      if (!pp.is_number() || pp.get<double>() < r.pps[v]) pp = r.pps[v];
      if (!pb.is_number() || pb.get<double>() < r.bps[v]) pb = r.bps[v];
    }
    if (o.counters) o.counters << line.dump() << '\n' << std::flush;
  }
  o.data["evidence"]["packets"] = pcap_.packets();
  if (const uint64_t skipped = pcap_.skipped()) {
    json& ev = o.data["evidence"];
    if (!ev.contains("skipped"))
      timeline(o.id, "floodgate", "evidence",
               "the pcap holds half of incidents.evidence_max_mb (" +
                   std::to_string(cfg_.evidence_max_mb) + " MB): from now on at most " +
                   std::to_string(pcap_.thin_per_second()) +
                   " samples a second are written, so that the rest lasts through a day of "
                   "flood; the others are counted");
    if (pcap_.full() && !ev.value("full", false)) {
      ev["full"] = true;
      timeline(o.id, "floodgate", "evidence",
               "the pcap reached incidents.evidence_max_mb (" +
                   std::to_string(cfg_.evidence_max_mb) +
                   " MB); later samples are counted, not written");
    }
    ev["skipped"] = skipped;
    ev["thinned_per_second"] = pcap_.thin_per_second();
  }
  if (o.data["evidence"]["packets"].get<uint64_t>() > 0)
    auto_check("A3.evidence", "sampled packets in " + o.data["evidence"].value("pcap", ""));
  if (!o.sources_done && now_unix >= o.sources_at) {
    classify_sources(now_unix);
    run_playbook(true);
    save_locked();  // what to undo must survive a crash
  }
  if (now_unix - o.last_save >= 5) save_locked();
}

void Incidents::classify_sources(int64_t now) {
  Open& o = *open_;
  o.sources_done = true;
  const uint32_t every = sample_every_ ? sample_every_() : 1;
  const SampleSummary sum = top_.summary(20, every);
  const Classification c = classify(o.event, sum, cfg_.detection);
  // Offenders, for block_top: sources of (would-)drops by limits, policy, reflection or
  // fragments. Passed packets are evidence, not offence: a busy legitimate client must
  // never be blocked for being seen often; blocked sources are blocked already.
  uint32_t offences = 0;
  for (uint32_t r = FG_R_FIRST_DROP; r < FG_R_MAX; r++)
    if (r != FG_R_BLOCKED && r != FG_R_REPUTATION) offences |= 1u << r;
  const SampleSummary off = top_.summary(20, every, TopTalkers::Clock::now(), offences);
  json offenders = json::array();
  for (const TopSource& t : off.top_sources)
    offenders.push_back({{"source", t.source}, {"samples", t.samples}});
  o.data["offenders"] = offenders;
  o.data["offender_samples"] = off.samples;
  json sources = json::array(), ports = json::array();
  for (const TopSource& t : sum.top_sources)
    sources.push_back({{"source", t.source}, {"samples", t.samples}});
  for (const auto& [port, n] : sum.top_ports) ports.push_back({{"port", port}, {"samples", n}});
  json dests = json::array(), sports = json::array();
  for (const auto& [host, n] : sum.top_destinations)
    dests.push_back({{"destination", host}, {"samples", n}});
  for (const auto& [port, n] : sum.top_source_ports)
    sports.push_back({{"port", port}, {"samples", n}});
  o.data["sources"] = sources;
  o.data["ports"] = ports;
  o.data["destinations"] = dests;
  o.data["source_ports"] = sports;
  o.data["protocol"] = sum.top_protocol;
  o.data["samples"] = sum.samples;
  o.data["distinct_sources"] = sum.distinct_sources;
  o.data["spoofed"] = c.spoofed;
  std::ostringstream text;
  text << sum.distinct_sources << " distinct sources in " << sum.samples << " samples";
  if (!sum.top_sources.empty())
    text << "; top " << sum.top_sources[0].source << " (" << sum.top_sources[0].samples << ")";
  if (!sum.top_ports.empty()) text << "; top destination port " << sum.top_ports[0].first;
  text << (c.spoofed ? "; sources look SPOOFED (many, each sending little)"
                     : "; sources do not look spoofed");
  timeline(o.id, "floodgate", "classification", text.str());
  (void)now;
  notify("sources", {{"spoofed", c.spoofed}, {"top_sources", sources}});
}

void Incidents::run_playbook(bool with_sources) {
  Open& o = *open_;
  const std::string type = o.data.value("type", "");
  auto it = cfg_.playbook.steps.find(type);
  if (it == cfg_.playbook.steps.end()) it = cfg_.playbook.steps.find("default");
  if (it == cfg_.playbook.steps.end()) return;
  bool acted = false;
  for (const PlaybookStep& s : it->second) {
    if (needs_sources(s.action) != with_sources) continue;
    const std::string text = run_step(s, cfg_.playbook.dry_run, o.data, o.id);
    const bool done = text.rfind("did: ", 0) == 0;
    acted |= done;
    const std::string kind = cfg_.playbook.dry_run          ? "plan"
                             : done                         ? "action"
                             : text.rfind("FAILED", 0) == 0 ? "failed"
                                                            : "skip";
    timeline(o.id, "floodgate", kind, s.action + ": " + text);
    o.data["actions"].push_back({{"at", unix_now()}, {"action", s.action}, {"result", text}});
    if (done) notify("action: " + s.action, {{"result", text}});
  }
  if (acted) auto_check("A3.mitigated", "playbook for " + type);
}

std::string Incidents::run_step(const PlaybookStep& s, bool dry, json& data, int64_t id) {
  if (s.action == "flowspec" || s.action == "rtbh") return upstream_step(s, dry, data, id);
  if (!s.on) return "off in the playbook";
  const Caller by{"floodgate playbook (incident #" + std::to_string(id) + ")", std::nullopt};
  const std::string type = data.value("type", "");
  if (s.action == "enforce") {
    if (engine_.mode() == FG_MODE_ENFORCE) return "already enforcing";
    if (dry) return "would switch to enforce";
    auto r = engine_.set_mode(FG_MODE_ENFORCE, by);
    if (!r.ok()) return "FAILED: " + r.error().message;
    if (!data["restore"].contains("mode")) data["restore"]["mode"] = "monitor";
    return "did: switched to enforce (was monitor)";
  }
  if (s.action == "tighten") {
    const std::vector<fg_vector> vecs = limits_of(type);
    if (vecs.empty()) return "no rate limit applies to " + type;
    std::vector<Threshold> before, after;
    for (const Threshold& t : engine_.policy().thresholds)
      if (t.limit.rate > 0 && std::find(vecs.begin(), vecs.end(), t.vector) != vecs.end()) {
        before.push_back(t);
        Threshold n = t;
        n.limit.rate = std::max<uint64_t>(1, static_cast<uint64_t>(t.limit.rate * s.factor));
        n.limit.burst = std::max<uint64_t>(1, static_cast<uint64_t>(t.limit.burst * s.factor));
        after.push_back(n);
      }
    if (before.empty())
      return "no limit is set for " + type + "; nothing to tighten (floodgatectl threshold)";
    std::string what;
    for (size_t i = 0; i < after.size(); i++)
      what +=
          (i ? ", " : "") +
          std::string(after[i].scope == Scope::kPerSource ? "per-source " : "per-destination ") +
          fg_vector_name(after[i].vector) + " " + std::to_string(before[i].limit.rate) + " -> " +
          std::to_string(after[i].limit.rate) + "/s";
    if (dry) return "would tighten " + what;
    if (!data["restore"].contains("thresholds")) {
      json old = json::array();
      for (const Threshold& t : before)
        old.push_back({{"vector", t.vector},
                       {"per_destination", t.scope == Scope::kPerDestination},
                       {"rate", t.limit.rate},
                       {"burst", t.limit.burst}});
      data["restore"]["thresholds"] = old;
    }
    if (auto r = engine_.set_thresholds(after, by); !r.ok()) return "FAILED: " + r.error().message;
    return "did: tightened " + what;
  }
  if (s.action == "block_top") {
    if (data.value("spoofed", false))
      return "not blocking: the sources look spoofed, so blocking them would not help (the "
             "aggregate limits and diversion do)";
    const double n = data.value("offender_samples", 0.0);
    std::vector<std::string> heavy;
    for (const json& src : data.value("offenders", json::array()))
      if (heavy.size() < s.count && n > 0 && src.value("samples", 0.0) >= kHeavySourceShare * n)
        heavy.push_back(src.value("source", ""));
    if (heavy.empty())
      return "no source stands out (none has 5% of the " + std::to_string(std::llround(n)) +
             " sampled drops by limits or policy; sources already blocked are not counted)";
    std::string list;
    for (const std::string& h : heavy) list += (list.empty() ? "" : ", ") + h;
    if (dry) return "would block " + list + " for " + duration(s.ttl_s);
    std::string blocked, failed;
    for (const std::string& h : heavy) {
      BlockParams p{
          {h}, s.ttl_s, "incident #" + std::to_string(id) + ": top source of " + type, false};
      auto r = engine_.block(p, by);
      if (r.ok()) {
        blocked += (blocked.empty() ? "" : ", ") + h;
        data["undo"]["blocks"].push_back(h);
      } else {
        failed += "; " + h + ": " + r.error().message;
      }
    }
    if (blocked.empty()) return "FAILED" + failed;
    return "did: blocked " + blocked + " for " + duration(s.ttl_s) + failed;
  }
  if (s.action == "divert") {
    if (!diversion_ || cfg_.bgp_speaker == "off" || cfg_.divertable.empty())
      return "no scrubbing provider configured ([bgp], [[providers]], [diversion] prefixes)";
    if (s.min_share > 0) {
      const double link = cfg_.detection.link_mbps * 1e6;
      if (link <= 0)
        return "not diverting: the link's capacity is unknown (detection.link_mbps), so " +
               std::to_string(std::llround(s.min_share * 100)) + "% of it cannot be judged";
      const double bps = data["peak_bps"].value("total", 0.0);
      if (bps < s.min_share * link)
        return "not diverting: " + human_rate(bps, "bit/s") + " is below " +
               std::to_string(std::llround(s.min_share * 100)) + "% of the link";
    }
    if (dry) return "would divert every configured prefix to the scrubbing provider";
    DivertParams p;
    p.all = true;
    p.reason = "incident #" + std::to_string(id) + ": " + type;
    auto r = diversion_->divert(p, by);
    if (!r.ok()) return "FAILED: " + r.error().message;
    data["undo"]["diverted"] = true;
    std::string what;
    for (const AnnouncementRecord& a : *r)
      what += (what.empty() ? "" : ", ") + a.prefix.str() + " to " + a.provider;
    auto_check("A3.scrubbing", "diverted by the playbook: " + what);
    return "did: diverted " + what;
  }
  return "unknown action";
}

// FlowSpec (RFC 8955) or RTBH (RFC 7999) toward the provider, for the attacked host (the
// top destination in the samples) or, for FlowSpec, the divertable prefix holding it.
std::string Incidents::upstream_step(const PlaybookStep& s, bool dry, json& data, int64_t id) {
  if (!diversion_ || cfg_.bgp_speaker == "off" || cfg_.divertable.empty() || cfg_.providers.empty())
    return "no provider configured for " + s.action + " ([bgp], [[providers]], [diversion])";
  const Caller by{"floodgate playbook (incident #" + std::to_string(id) + ")", std::nullopt};
  const std::string type = data.value("type", "");
  std::string target;
  for (const json& d : data.value("destinations", json::array())) {
    target = d.value("destination", "");
    break;
  }
  if (target.empty()) return "no attacked destination in the samples yet";
  const std::string reason = "incident #" + std::to_string(id) + ": " + type;
  if (s.action == "rtbh") {
    const std::string host = target.substr(0, target.find('/'));
    if (dry) return "would blackhole " + host + " upstream for " + duration(s.ttl_s);
    auto r = diversion_->blackhole(host, s.ttl_s, "", reason, by);
    if (!r.ok()) return "FAILED: " + r.error().message;
    data["undo"]["blackholes"].push_back(host);
    return "did: blackholed " + host + " upstream (RFC 7999) for " + duration(s.ttl_s);
  }
  // The rule: the attack's protocol and its signature port(s); discard.
  std::string match;
  if (type == "syn-flood") match = " proto tcp";
  if (type == "udp-flood" || type == "reflection") match = " proto udp";
  if (type == "icmp-flood") match = " proto icmp";
  if (type == "reflection") {
    std::string ports;
    const std::vector<uint16_t> amplifiers = engine_.policy().reflection_ports;
    for (const json& p : data.value("source_ports", json::array()))
      if (std::find(amplifiers.begin(), amplifiers.end(), p.value("port", 0)) != amplifiers.end())
        ports += (ports.empty() ? "" : ",") + std::to_string(p.value("port", 0));
    if (!ports.empty()) match += " sport " + ports;
  } else if ((type == "syn-flood" || type == "udp-flood") &&
             !data.value("ports", json::array()).empty()) {
    match += " dport " + std::to_string(data["ports"][0].value("port", 0));
  }
  if (match.empty()) return "no FlowSpec match for " + type;
  std::vector<std::string> dsts = {target};
  for (const DivertablePrefix& d : cfg_.divertable) dsts.push_back(d.prefix.str());
  std::string last_error;
  for (const std::string& dst : dsts) {
    const std::string rule = "dst " + dst + match + " rate 0";
    if (dry)
      return "would ask the provider to discard " + rule +
             " (first of: the attacked host, then the divertable prefixes)";
    auto r = diversion_->add_flow(rule, s.ttl_s, "", reason, by);
    if (r.ok()) {
      data["undo"]["flows"].push_back(r->front().rule);
      return "did: FlowSpec discard " + r->front().rule + " for " + duration(s.ttl_s);
    }
    last_error = r.error().message;
  }
  return "FAILED: " + last_error;
}

std::vector<std::string> Incidents::plan(const std::string& type) {
  std::lock_guard lock(mu_);
  json data = open_ ? open_->data : json{{"type", type}};
  data["type"] = type;
  const int64_t id = open_ ? open_->id : 0;
  auto it = cfg_.playbook.steps.find(type);
  const bool fallback = it == cfg_.playbook.steps.end();
  if (fallback) it = cfg_.playbook.steps.find("default");
  std::vector<std::string> out;
  if (it == cfg_.playbook.steps.end()) return {"no playbook for " + type + " and no default"};
  if (fallback) out.push_back("(no playbook for " + type + ": the default one)");
  for (const PlaybookStep& s : it->second) {
    std::string text = run_step(s, true, data, id);
    if (needs_sources(s.action) && !data.contains("sources"))
      text += " (names the top sources 2 s after detection, from the samples)";
    out.push_back(s.action + ": " + text);
  }
  return out;
}

Status Incidents::note(int64_t id, const std::string& text, const Caller& c) {
  if (text.empty()) return invalid_argument("the note is empty; write what happened or was done");
  auto rows = store_.incidents(id, 1);
  if (!rows.ok()) return rows.error();
  if (rows->empty())
    return not_found("no incident #" + std::to_string(id) + " (floodgatectl incident list)");
  timeline(id, c.who, "note", text);
  return Ok{};
}

Status Incidents::check(int64_t id, const std::string& item, const std::string& note,
                        const Caller& c) {
  auto rows = store_.incidents(id, 1);
  if (!rows.ok()) return rows.error();
  if (rows->empty())
    return not_found("no incident #" + std::to_string(id) + " (floodgatectl incident list)");
  std::vector<const ChecklistItem*> match;
  for (const ChecklistItem& ci : checklist()) {
    const std::string full = ci.id;
    if (full == item || full.substr(full.find('.') + 1) == item) match.push_back(&ci);
  }
  if (match.size() != 1) {
    std::string ids;
    for (const ChecklistItem& ci : checklist()) ids += std::string(ids.empty() ? "" : ", ") + ci.id;
    return invalid_argument("no checklist item '" + item + "'; the items are: " + ids);
  }
  if (auto s = store_.put_check(id, {match[0]->id, unix_now(), c.who, note}); !s) return s;
  timeline(id, c.who, "check",
           std::string(match[0]->id) + " " + match[0]->text + (note.empty() ? "" : ": " + note));
  return Ok{};
}

Status Incidents::close(int64_t id, const std::string& note, const Caller& c) {
  std::lock_guard lock(mu_);
  if (!open_) {
    auto rows = store_.incidents(id, 1);
    if (id && rows.ok() && !rows->empty())
      return failed_precondition("incident #" + std::to_string(id) + " is already closed");
    return not_found("no incident is open");
  }
  if (id && id != open_->id)
    return failed_precondition("incident #" + std::to_string(id) +
                               " is not the open one; the open one is #" +
                               std::to_string(open_->id));
  close_locked(unix_now(), note, c);
  return Ok{};
}

void Incidents::close_locked(int64_t now, const std::string& note, const Caller& c) {
  Open& o = *open_;
  const Caller by{c.who == "floodgate" ? "floodgate (recovery)" : c.who, c.address};
  json& restore = o.data["restore"];
  std::string restored;
  if (restore.value("mode", "") == "monitor" && engine_.mode() == FG_MODE_ENFORCE) {
    auto r = engine_.set_mode(FG_MODE_MONITOR, by);
    timeline(o.id, by.who, "undo",
             r.ok() ? "back to monitor mode, as before the incident"
                    : "could not restore monitor mode: " + r.error().message);
    restored += "mode; ";
  }
  if (restore.contains("thresholds")) {
    std::vector<Threshold> ts;
    for (const json& t : restore["thresholds"])
      ts.push_back({static_cast<fg_vector>(t["vector"].get<int>()),
                    t["per_destination"].get<bool>() ? Scope::kPerDestination : Scope::kPerSource,
                    {t["rate"].get<uint64_t>(), t["burst"].get<uint64_t>()}});
    auto r = engine_.set_thresholds(ts, by);
    timeline(o.id, by.who, "undo",
             r.ok() ? "rate limits restored to their pre-incident values"
                    : "could not restore the rate limits: " + r.error().message);
    restored += "rate limits; ";
  }
  if (o.data.contains("undo") && o.data["undo"].contains("blocks")) {
    std::string lifted;
    for (const json& b : o.data["undo"]["blocks"])
      if (engine_.unblock({b.get<std::string>()}, by).ok())
        lifted += (lifted.empty() ? "" : ", ") + b.get<std::string>();
    timeline(o.id, by.who, "undo",
             lifted.empty() ? "the playbook's blocks had already expired"
                            : "lifted the playbook's blocks: " + lifted);
    restored += "blocks; ";
  }
  if (o.data.contains("undo") && diversion_) {
    for (const json& f : o.data["undo"].value("flows", json::array())) {
      auto r = diversion_->remove_flow(f.get<std::string>(), by);
      timeline(o.id, by.who, "undo",
               r.ok() ? "FlowSpec rule withdrawn: " + f.get<std::string>()
                      : "FlowSpec rule " + f.get<std::string>() + ": " + r.error().message);
    }
    for (const json& h : o.data["undo"].value("blackholes", json::array())) {
      auto r = diversion_->remove_blackhole(h.get<std::string>(), by);
      timeline(o.id, by.who, "undo",
               r.ok() ? "blackhole withdrawn: " + h.get<std::string>()
                      : "blackhole " + h.get<std::string>() + ": " + r.error().message);
    }
  }
  const bool diverted = o.data.contains("undo") && o.data["undo"].value("diverted", false);
  if (diverted && diversion_) {
    auto r = diversion_->undivert({}, true, false, by);
    timeline(o.id, by.who, "undo",
             r.ok() ? "diversion: withdrawal requested; it happens once drops stayed below " +
                          std::to_string(cfg_.quiet_pps) + " pkt/s for " +
                          std::to_string(cfg_.hold_down_s) + " s"
                    : "could not request the withdrawal: " + r.error().message);
    withdraw_pending_ = o.id;
  } else {
    auto_check("A5.diversion-withdrawn", "nothing was diverted");
  }
  auto_check("A5.restored", restored.empty() ? "nothing had been changed" : restored);
  timeline(o.id, c.who, "close", note.empty() ? "incident closed" : "incident closed: " + note);
  notify("close");
  o.data["evidence"]["packets"] = pcap_.packets();
  evidence_off();
  o.data["closed_by"] = c.who;
  (void)store_.update_incident({o.id, o.opened_at, now, o.data.dump()});
  open_.reset();
}

Result<std::vector<IncidentSummary>> Incidents::list(size_t limit) {
  auto rows = store_.incidents(0, limit);
  if (!rows.ok()) return rows.error();
  std::vector<IncidentSummary> out;
  for (const IncidentRow& r : *rows) {
    json d = json::parse(r.data, nullptr, false);
    if (d.is_discarded()) d = json::object();
    IncidentSummary s{r.id,
                      r.opened_at,
                      r.closed_at,
                      d.value("type", ""),
                      d.value("category", ""),
                      d.value("opened_by", "")};
    if (d.contains("peak_pps")) s.peak_pps = d["peak_pps"].value("total", 0.0);
    if (d.contains("peak_bps")) s.peak_bps = d["peak_bps"].value("total", 0.0);
    out.push_back(s);
  }
  return out;
}

Result<std::string> Incidents::report(int64_t id, const std::string& format) {
  if (format != "md" && format != "json")
    return invalid_argument("unknown report format '" + format + "'; use md or json");
  json d;
  IncidentRow row;
  {
    std::lock_guard lock(mu_);
    if (open_ && open_->id == id) save_locked();
  }
  auto rows = store_.incidents(id, 1);
  if (!rows.ok()) return rows.error();
  if (rows->empty())
    return not_found("no incident #" + std::to_string(id) + " (floodgatectl incident list)");
  row = rows->front();
  d = json::parse(row.data, nullptr, false);
  if (d.is_discarded()) d = json::object();
  auto tl = store_.timeline(id);
  auto ck = store_.checks(id);
  if (!tl.ok()) return tl.error();
  if (!ck.ok()) return ck.error();

  json r;
  r["id"] = id;
  r["status"] = row.closed_at ? "closed" : "open";
  r["opened_at"] = iso(row.opened_at);
  r["closed_at"] = iso(row.closed_at);
  const int64_t end = row.closed_at ? row.closed_at : unix_now();
  r["duration_seconds"] = end - row.opened_at;
  for (const char* k : {"type", "category", "vector", "iface", "why", "opened_by", "closed_by"})
    r[k] = d.value(k, "");
  r["spoofed"] = d.value("spoofed", false);
  r["detected_at"] = iso(d.value("detected_at", int64_t{0}));
  r["detected_at_ms"] = d.value("detected_at_ms", int64_t{0});
  r["peak_pps"] = d.value("peak_pps", json::object());
  r["peak_bps"] = d.value("peak_bps", json::object());
  r["top_sources"] = d.value("sources", json::array());
  r["top_ports"] = d.value("ports", json::array());
  r["distinct_sources"] = d.value("distinct_sources", 0);
  r["evidence"] = d.value("evidence", json::object());
  json actions = json::array(), timeline_j = json::array();
  std::string measures;
  for (const TimelineEntry& e : *tl) {
    json j = {{"at", iso(e.at)}, {"actor", e.actor}, {"kind", e.kind}, {"text", e.text}};
    timeline_j.push_back(j);
    if (e.kind == "action" || e.kind == "undo" || (e.kind == "note" && e.actor != "floodgate")) {
      actions.push_back(j);
      if (e.kind == "action") measures += (measures.empty() ? "" : "; ") + e.text;
    }
  }
  r["actions"] = actions;
  r["timeline"] = timeline_j;
  json items = json::array();
  for (const ChecklistItem& ci : checklist()) {
    json j = {{"id", ci.id}, {"text", ci.text}, {"checked", false}, {"automatic", ci.automatic}};
    for (const CheckRecord& c : *ck)
      if (c.item == ci.id)
        j.update(
            {{"checked", true}, {"by", c.checked_by}, {"at", iso(c.checked_at)}, {"note", c.note}});
    items.push_back(j);
  }
  r["checklist"] = items;
  const double pps = r["peak_pps"].value("total", 0.0), bps = r["peak_bps"].value("total", 0.0);
  std::string service = d.value("affected_service", "");
  if (service.empty() && d.contains("protected") && !d["protected"].empty())
    service = "hosts in " + d["protected"].dump();
  r["report_form"] = {
      {"occurrence_time", iso(d.value("detected_at", row.opened_at))},
      {"affected_service", service.empty() ? "(set incidents.affected_service)" : service},
      {"attack_type", d.value("category", "") + " / " + d.value("type", "")},
      {"impact", "peak " + human_rate(pps, "pkt/s") + ", " + human_rate(bps, "bit/s") + " on " +
                     d.value("iface", "?") + " for " + duration(end - row.opened_at)},
      {"measures", measures.empty() ? "none recorded" : measures},
      {"recovery_time", iso(row.closed_at)}};
  if (format == "json") return r.dump(2);

  std::ostringstream md;
  md << "# Incident #" << id << ": " << r["type"].get<std::string>() << " ("
     << r["category"].get<std::string>() << ")\n\n"
     << "| | |\n|---|---|\n"
     << "| Status | " << r["status"].get<std::string>() << " |\n"
     << "| Opened | " << r["opened_at"].get<std::string>() << " by "
     << r["opened_by"].get<std::string>() << " |\n"
     << "| Closed | " << (row.closed_at ? r["closed_at"].get<std::string>() : "-") << " |\n"
     << "| Duration | " << duration(end - row.opened_at) << " |\n"
     << "| Interface | " << r["iface"].get<std::string>() << " |\n"
     << "| Peak | " << human_rate(pps, "pkt/s") << ", " << human_rate(bps, "bit/s") << " |\n"
     << "| Sources | " << r["distinct_sources"] << " distinct in the samples"
     << (r["spoofed"].get<bool>() ? ", look spoofed" : "") << " |\n\n"
     << "Classification: " << r["why"].get<std::string>() << "\n\n";
  md << "## Peak rates by vector\n\n| vector | pkt/s | bit/s |\n|---|---|---|\n";
  for (const auto& [k, v] : r["peak_pps"].items())
    md << "| " << k << " | " << human_rate(v.get<double>(), "") << " | "
       << human_rate(r["peak_bps"].value(k, 0.0), "") << " |\n";
  md << "\n## Top sources\n\n| source | samples |\n|---|---|\n";
  for (const json& s : r["top_sources"])
    md << "| " << s.value("source", "") << " | " << s.value("samples", 0) << " |\n";
  md << "\n## Top destination ports\n\n| port | samples |\n|---|---|\n";
  for (const json& p : r["top_ports"])
    md << "| " << p.value("port", 0) << " | " << p.value("samples", 0) << " |\n";
  md << "\n## Timeline\n\n| time (UTC) | who | what | |\n|---|---|---|---|\n";
  for (const json& e : timeline_j)
    md << "| " << e["at"].get<std::string>() << " | " << e["actor"].get<std::string>() << " | "
       << e["kind"].get<std::string>() << " | " << e["text"].get<std::string>() << " |\n";
  md << "\n## Checklists (attachments 1, 3, 5)\n\n| item | | by | when | note |\n|---|---|---|---|"
        "---|\n";
  for (const json& i : items)
    md << "| " << i["id"].get<std::string>() << " " << i["text"].get<std::string>() << " | "
       << (i["checked"].get<bool>() ? "done" : "OPEN") << " | " << i.value("by", "") << " | "
       << i.value("at", "") << " | " << i.value("note", "") << " |\n";
  md << "\n## Evidence\n\n";
  for (const auto& [k, v] : r["evidence"].items()) md << "- " << k << ": " << v.dump() << "\n";
  md << "\n## For the external incident report\n\n";
  for (const auto& [k, v] : r["report_form"].items())
    md << "- **" << k << "**: " << v.get<std::string>() << "\n";
  return md.str();
}

}  // namespace floodgate
