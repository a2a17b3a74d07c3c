// Diversion guards, announcements and their lifecycle.
#include "diversion.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace floodgate {
namespace {

constexpr uint32_t kBlackhole = 0xffff029a;  // 65535:666, RFC 7999

bool same(const AnnouncementRecord& a, const AnnouncementRecord& b) {
  return a.prefix == b.prefix && a.provider == b.provider && a.blackhole == b.blackhole;
}

std::string names(const std::vector<Provider>& ps) {
  std::string out;
  for (const Provider& p : ps) out += (out.empty() ? "" : ", ") + p.name;
  return out.empty() ? "none" : out;
}

}  // namespace

Diversion::Diversion(const DaemonConfig& cfg, Store& store, EventBus* events)
    : cfg_(cfg), store_(store), events_(events) {}

namespace {

std::string pid_file(const DaemonConfig& cfg) {
  return (std::filesystem::path(cfg.state_db).parent_path() / "gobgpd.pid").string();
}

}  // namespace

Diversion::~Diversion() {
  if (proc_) proc_->release();
}

void Diversion::stop_speaker(const DaemonConfig& cfg) {
  std::ifstream in(pid_file(cfg));
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 1) return;
  // Only if that pid is still a gobgpd (pids are reused).
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (comm >> name && name == "gobgpd") kill(pid, SIGTERM);
  std::filesystem::remove(pid_file(cfg));
}

bool Diversion::speaker_alive() {
  if (proc_) return proc_->alive();
  return loopback_port_open(cfg_.bgp_api_port);
}

void Diversion::audit(const Caller& c, const std::string& action, const std::string& detail,
                      const std::string& result) {
  (void)store_.audit({unix_now(), c.who, action, detail, result});
}

const Provider* Diversion::provider(const std::string& name) const {
  for (const Provider& p : cfg_.providers)
    if (p.name == name) return &p;
  return nullptr;
}

Result<std::vector<const Provider*>> Diversion::targets(const std::string& name) const {
  std::vector<const Provider*> out;
  for (const Provider& p : cfg_.providers)
    if (name.empty() || p.name == name) out.push_back(&p);
  if (out.empty())
    return name.empty()
               ? failed_precondition("no [[providers]] are configured")
               : not_found("no provider '" + name + "'; configured: " + names(cfg_.providers));
  return out;
}

Result<int64_t> Diversion::ttl_of(int64_t requested) const {
  const int64_t ttl = requested <= 0 ? 3600 : requested;
  if (ttl > cfg_.max_ttl_s)
    return invalid_argument("the TTL exceeds rules.max_ttl_seconds = " +
                            std::to_string(cfg_.max_ttl_s));
  return ttl;
}

bool Diversion::inside_divertable(const Prefix& p) const {
  return std::any_of(cfg_.divertable.begin(), cfg_.divertable.end(),
                     [&](const DivertablePrefix& d) { return contains(d.prefix, p); });
}

BgpRoute Diversion::route_of(const AnnouncementRecord& a) const {
  BgpRoute r;
  r.prefix = a.prefix;
  if (const Provider* p = provider(a.provider)) {
    r.next_hop = p->next_hop;
    if (a.blackhole) {
      r.communities.push_back(kBlackhole);
      if (p->blackhole_community) r.communities.push_back(*p->blackhole_community);
    } else {
      r.communities = p->communities;
    }
  }
  return r;
}

Status Diversion::connect_speaker() {
  // A supervised gobgpd left running by the previous daemon is adopted, so its
  // sessions (and the provider's routes) never went down.
  bool adopted = false;
  if (cfg_.bgp_speaker == "supervise") {
    proc_.reset();
    adopted = loopback_port_open(cfg_.bgp_api_port);
    if (!adopted) {
      auto p = GobgpProcess::start(
          cfg_.gobgpd, cfg_.bgp_api_port,
          (std::filesystem::path(cfg_.state_db).parent_path() / "gobgpd.log").string());
      if (!p.ok()) return p.error();
      proc_ = std::move(*p);
      std::ofstream(pid_file(cfg_)) << proc_->pid() << "\n";
    }
  }
  bgp_ = std::make_unique<GobgpClient>(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(cfg_.bgp_api_port), grpc::InsecureChannelCredentials()));
  if (cfg_.bgp_speaker == "supervise" && !adopted) {
    if (auto s = bgp_->start(cfg_.bgp_asn, cfg_.bgp_router_id, cfg_.bgp_listen_port); !s) return s;
    for (const Provider& p : cfg_.providers)
      if (auto s = bgp_->add_peer(p.neighbor, p.peer_asn, /*flowspec=*/true); !s) return s;
  }
  // Re-announce what is active (a fresh gobgpd has an empty RIB).
  for (const AnnouncementRecord& a : active_)
    if (auto s = bgp_->announce(route_of(a)); !s) return s;
  for (const FlowRecord& f : flows_)
    if (auto r = parse_flow_rule(f.rule); r.ok())
      if (auto s = bgp_->announce(*r); !s) return s;
  return Ok{};
}

Result<std::vector<std::string>> Diversion::start(int64_t now_unix) {
  std::lock_guard lock(mu_);
  std::vector<std::string> log;
  if (cfg_.bgp_speaker == "off") return log;
  auto stored = store_.announcements();
  if (!stored.ok()) return stored.error();
  active_.clear();
  for (const AnnouncementRecord& a : *stored) {
    if (a.expires_at > 0 && a.expires_at <= now_unix) {
      (void)store_.delete_announcement(a);
      log.push_back("expired while stopped: " + a.prefix.str() + " to " + a.provider);
      continue;
    }
    active_.push_back(a);
  }
  auto flows = store_.flows();
  if (!flows.ok()) return flows.error();
  flows_.clear();
  for (const FlowRecord& f : *flows) {
    if (f.expires_at <= now_unix) {
      (void)store_.delete_flow(f);
      log.push_back("FlowSpec rule expired while stopped: " + f.rule);
      continue;
    }
    flows_.push_back(f);
  }
  if (auto s = connect_speaker(); !s) return s.error();
  log.push_back("BGP speaker " + cfg_.bgp_speaker +
                "d on 127.0.0.1:" + std::to_string(cfg_.bgp_api_port) + "; " +
                std::to_string(active_.size()) + " announcement(s) restored");
  return log;
}

Result<std::vector<AnnouncementRecord>> Diversion::divert(const DivertParams& req,
                                                          const Caller& c) {
  auto refuse = [&](Error e) -> Result<std::vector<AnnouncementRecord>> {
    audit(c, req.dry_run ? "divert (dry run)" : "divert",
          std::to_string(req.prefixes.size()) + " prefix(es)", e.message);
    return e;
  };
  if (cfg_.bgp_speaker == "off" || !bgp_)
    return refuse(failed_precondition(
        "diversion needs a BGP speaker: set [bgp] speaker, asn, router_id and a [[providers]] "
        "entry in the config"));
  auto targets = this->targets(req.provider);
  if (!targets.ok()) return refuse(targets.error());
  std::vector<Prefix> prefixes;
  if (req.all) {
    for (const DivertablePrefix& d : cfg_.divertable) prefixes.push_back(d.prefix);
  } else {
    for (const std::string& t : req.prefixes) {
      auto p = parse_prefix(t);
      if (!p.ok()) return refuse(p.error());
      prefixes.push_back(*p);
    }
  }
  if (prefixes.empty())
    return refuse(invalid_argument(
        cfg_.divertable.empty() ? "no prefixes may be diverted: configure [diversion] prefixes"
                                : "give prefixes, or --all for every diversion.prefixes entry"));
  for (const Prefix& p : prefixes) {
    if (p.len == 0) return refuse(invalid_argument("a default route is never announced"));
    const bool allowed =
        std::any_of(cfg_.divertable.begin(), cfg_.divertable.end(), [&](const DivertablePrefix& d) {
          return contains(d.prefix, p) && p.len >= d.min_length && p.len <= d.max_length;
        });
    if (!allowed) {
      std::string list;
      for (const DivertablePrefix& d : cfg_.divertable)
        list += (list.empty() ? "" : ", ") + d.prefix.str() + " (/" + std::to_string(d.min_length) +
                "../" + std::to_string(d.max_length) + ")";
      return refuse(failed_precondition(p.str() + " is not one you may announce; allowed: " +
                                        (list.empty() ? "none configured" : list) +
                                        " (diversion.prefixes)"));
    }
  }
  const int64_t now = unix_now();
  std::vector<AnnouncementRecord> records;
  for (const Prefix& p : prefixes)
    for (const Provider* t : *targets)
      records.push_back({p, t->name, false, req.reason, c.who, now, 0, 0});
  std::lock_guard lock(mu_);
  size_t fresh = 0;
  for (const AnnouncementRecord& r : records)
    fresh += std::none_of(active_.begin(), active_.end(), [&](auto& a) { return same(a, r); });
  if (announced() + fresh > cfg_.max_announcements)
    return refuse(resource_exhausted(
        std::to_string(announced()) + " announcements are active and this adds " +
        std::to_string(fresh) +
        ", above diversion.max_announcements = " + std::to_string(cfg_.max_announcements) +
        "; withdraw some first (floodgatectl divert off)"));
  if (req.dry_run) {
    audit(c, "divert (dry run)", std::to_string(records.size()) + " announcement(s)", "ok");
    return records;
  }
  for (AnnouncementRecord& r : records) {
    // An announcement already active keeps its start; a pending withdrawal is cancelled.
    auto it = std::find_if(active_.begin(), active_.end(), [&](auto& a) { return same(a, r); });
    if (it != active_.end()) r.since = it->since;
    if (auto s = store_.put_announcement(r); !s) return refuse(s.error());
    if (auto s = bgp_->announce(route_of(r)); !s) {
      if (it == active_.end()) (void)store_.delete_announcement(r);
      return refuse(s.error());
    }
    if (it != active_.end())
      *it = r;
    else
      active_.push_back(r);
    if (events_)
      events_->publish(
          {now, EventKind::kPolicy, "divert " + r.prefix.str(), "to " + r.provider, c.who});
  }
  audit(c, "divert", std::to_string(records.size()) + " announcement(s)", "ok");
  return records;
}

Status Diversion::withdraw_locked(const AnnouncementRecord& a, const std::string& why,
                                  const std::string& who) {
  if (bgp_)
    if (auto s = bgp_->withdraw(route_of(a)); !s) return s;
  if (auto s = store_.delete_announcement(a); !s) return s;
  active_.erase(std::remove_if(active_.begin(), active_.end(), [&](auto& x) { return same(x, a); }),
                active_.end());
  (void)store_.audit({unix_now(), who, a.blackhole ? "blackhole off" : "divert off",
                      a.prefix.str() + " to " + a.provider + " (" + why + ")", "ok"});
  if (events_)
    events_->publish({unix_now(), EventKind::kPolicy, "withdraw " + a.prefix.str(),
                      "from " + a.provider + ": " + why, who});
  return Ok{};
}

Result<std::vector<AnnouncementRecord>> Diversion::undivert(const std::vector<std::string>& texts,
                                                            bool all, bool now, const Caller& c) {
  std::vector<Prefix> prefixes;
  for (const std::string& t : texts) {
    auto p = parse_prefix(t);
    if (!p.ok()) return p.error();
    prefixes.push_back(*p);
  }
  if (prefixes.empty() && !all) return invalid_argument("give prefixes, or --all");
  std::lock_guard lock(mu_);
  std::vector<AnnouncementRecord> matched;
  for (const AnnouncementRecord& a : active_)
    if (!a.blackhole &&
        (all || std::find(prefixes.begin(), prefixes.end(), a.prefix) != prefixes.end()))
      matched.push_back(a);
  if (matched.empty())
    return not_found("nothing of that is diverted; `floodgatectl divert status` shows what is");
  for (AnnouncementRecord& a : matched) {
    if (now) {
      if (auto s = withdraw_locked(a, "--now", c.who); !s) return s.error();
      continue;
    }
    a.withdraw_asked = unix_now();
    if (auto s = store_.put_announcement(a); !s) return s.error();
    for (AnnouncementRecord& x : active_)
      if (same(x, a)) x.withdraw_asked = a.withdraw_asked;
  }
  audit(c, now ? "divert off --now" : "divert off (hold-down)",
        std::to_string(matched.size()) + " announcement(s)", "ok");
  return matched;
}

Result<std::vector<AnnouncementRecord>> Diversion::blackhole(const std::string& address,
                                                             int64_t ttl_s, const std::string& prov,
                                                             const std::string& reason,
                                                             const Caller& c) {
  if (cfg_.bgp_speaker == "off" || !bgp_)
    return failed_precondition("blackholing needs a BGP speaker: set [bgp] and [[providers]]");
  auto p = parse_prefix(address);
  if (!p.ok()) return p.error();
  if (!p->is_host())
    return invalid_argument("RTBH takes one address (/32 or /128), not " + p->str());
  if (!inside_divertable(*p))
    return failed_precondition(p->str() +
                               " is not inside the prefixes you may announce (diversion.prefixes)");
  auto ttl = ttl_of(ttl_s);
  if (!ttl.ok()) return ttl.error();
  auto targets = this->targets(prov);
  if (!targets.ok()) return targets.error();
  const int64_t now = unix_now();
  std::lock_guard lock(mu_);
  // Counted before anything is sent, so a refusal announces nothing; a blackhole that
  // is already active is replaced (new TTL), not counted twice.
  size_t fresh = 0;
  for (const Provider* t : *targets)
    fresh += std::none_of(active_.begin(), active_.end(), [&](const AnnouncementRecord& a) {
      return a.blackhole && a.prefix == *p && a.provider == t->name;
    });
  if (announced() + fresh > cfg_.max_announcements)
    return resource_exhausted(
        "diversion.max_announcements = " + std::to_string(cfg_.max_announcements) +
        " reached; withdraw something first (floodgatectl divert status)");
  std::vector<AnnouncementRecord> out;
  for (const Provider* t : *targets) {
    AnnouncementRecord r{*p, t->name, true, reason, c.who, now, now + *ttl, 0};
    if (auto s = store_.put_announcement(r); !s) return s.error();
    if (auto s = bgp_->announce(route_of(r)); !s) {
      (void)store_.delete_announcement(r);
      return s.error();
    }
    active_.erase(
        std::remove_if(active_.begin(), active_.end(), [&](auto& x) { return same(x, r); }),
        active_.end());
    active_.push_back(r);
    out.push_back(r);
  }
  audit(c, "blackhole", p->str() + " ttl " + std::to_string(*ttl) + "s", "ok");
  return out;
}

Result<std::vector<AnnouncementRecord>> Diversion::remove_blackhole(const std::string& address,
                                                                    const Caller& c) {
  auto p = parse_prefix(address);
  if (!p.ok()) return p.error();
  std::lock_guard lock(mu_);
  std::vector<AnnouncementRecord> matched;
  for (const AnnouncementRecord& a : active_)
    if (a.blackhole && a.prefix == *p) matched.push_back(a);
  if (matched.empty()) return not_found("no blackhole for " + p->str());
  for (const AnnouncementRecord& a : matched)
    if (auto s = withdraw_locked(a, "removed", c.who); !s) return s.error();
  return matched;
}

Result<std::vector<FlowRecord>> Diversion::add_flow(const std::string& text, int64_t ttl_s,
                                                    const std::string& prov,
                                                    const std::string& reason, const Caller& c) {
  if (cfg_.bgp_speaker == "off" || !bgp_)
    return failed_precondition("FlowSpec needs a BGP speaker: set [bgp] and [[providers]]");
  auto rule = parse_flow_rule(text);
  if (!rule.ok()) return rule.error();
  if (!inside_divertable(rule->dst))
    return failed_precondition("the rule's destination " + rule->dst.str() +
                               " is not inside the prefixes you may announce (diversion.prefixes)");
  auto ttl = ttl_of(ttl_s);
  if (!ttl.ok()) return ttl.error();
  auto targets = this->targets(prov);
  if (!targets.ok()) return targets.error();
  const int64_t now = unix_now();
  std::lock_guard lock(mu_);
  if (announced() + targets->size() > cfg_.max_announcements)
    return resource_exhausted(
        "diversion.max_announcements = " + std::to_string(cfg_.max_announcements) + " reached");
  std::vector<FlowRecord> out;
  for (const Provider* t : *targets) {
    FlowRecord f{rule->str(), t->name, reason, c.who, now, now + *ttl};
    if (auto s = store_.put_flow(f); !s) return s.error();
    if (auto s = bgp_->announce(*rule); !s) {
      (void)store_.delete_flow(f);
      return s.error();
    }
    flows_.erase(
        std::remove_if(flows_.begin(), flows_.end(),
                       [&](auto& x) { return x.rule == f.rule && x.provider == f.provider; }),
        flows_.end());
    flows_.push_back(f);
    out.push_back(f);
  }
  audit(c, "flowspec", rule->str() + " ttl " + std::to_string(*ttl) + "s", "ok");
  return out;
}

Result<std::vector<FlowRecord>> Diversion::remove_flow(const std::string& text, const Caller& c) {
  auto rule = parse_flow_rule(text);
  if (!rule.ok()) return rule.error();
  std::lock_guard lock(mu_);
  std::vector<FlowRecord> matched;
  for (const FlowRecord& f : flows_)
    if (f.rule == rule->str()) matched.push_back(f);
  if (matched.empty())
    return not_found("no FlowSpec rule '" + rule->str() +
                     "'; `floodgatectl divert status` lists them");
  if (bgp_)
    if (auto s = bgp_->withdraw(*rule); !s) return s.error();
  for (const FlowRecord& f : matched) {
    (void)store_.delete_flow(f);
    std::erase_if(flows_, [&](auto& x) { return x.rule == f.rule && x.provider == f.provider; });
  }
  audit(c, "flowspec off", rule->str(), "ok");
  return matched;
}

DiversionStatus Diversion::status() {
  std::lock_guard lock(mu_);
  DiversionStatus st;
  st.speaker_on = bgp_ != nullptr;
  st.hold_down_s = cfg_.hold_down_s;
  for (const Provider& p : cfg_.providers) {
    ProviderStatus ps{p.name, p.neighbor, BgpSessionState::kUnknown, p.always_on};
    if (bgp_)
      if (auto s = bgp_->session_state(p.neighbor); s.ok()) ps.state = *s;
    st.providers.push_back(ps);
  }
  st.announcements = active_;
  st.flows = flows_;
  return st;
}

std::vector<ProviderStatus> Diversion::sessions() {
  std::lock_guard lock(mu_);
  std::vector<ProviderStatus> out;
  for (const Provider& p : cfg_.providers) {
    auto it = sessions_.find(p.name);
    out.push_back({p.name, p.neighbor,
                   it == sessions_.end() ? BgpSessionState::kUnknown : it->second, p.always_on});
  }
  return out;
}

std::vector<std::string> Diversion::tick(int64_t now, uint64_t drop_pps) {
  std::lock_guard lock(mu_);
  std::vector<std::string> log;
  if (!bgp_) return log;
  // Session changes: an event each, "flapping" after 3 within a minute.
  for (const Provider& p : cfg_.providers) {
    auto st = bgp_->session_state(p.neighbor);
    const BgpSessionState now_state = st.ok() ? *st : BgpSessionState::kUnknown;
    auto it = sessions_.find(p.name);
    const BgpSessionState before = it == sessions_.end() ? BgpSessionState::kUnknown : it->second;
    sessions_[p.name] = now_state;
    if (now_state == before) continue;
    auto& times = changes_[p.name];
    times.push_back(now);
    std::erase_if(times, [&](int64_t t) { return now - t > 60; });
    std::string detail =
        std::string(session_state_name(before)) + " -> " + session_state_name(now_state);
    if (times.size() >= 3)
      detail += " (flapping: " + std::to_string(times.size()) + " changes in a minute)";
    if (events_) events_->publish({now, EventKind::kBgpSession, p.name, detail, "floodgate"});
    log.push_back("BGP session to " + p.name + " (" + p.neighbor + "): " + detail);
  }
  if (drop_pps >= cfg_.quiet_pps)
    quiet_since_ = 0;
  else if (quiet_since_ == 0)
    quiet_since_ = now;
  if (cfg_.bgp_speaker == "supervise" && !speaker_alive()) {
    log.push_back("gobgpd exited; restarting it and announcing again");
    if (auto s = connect_speaker(); !s)
      log.push_back("restarting gobgpd failed: " + s.error().message);
  }
  for (const AnnouncementRecord& a : std::vector<AnnouncementRecord>(active_)) {
    std::string why;
    // Withdrawn once traffic has been quiet for the hold-down, counted from the request
    // at the earliest: an attack that resumes restarts the count.
    const int64_t from = std::max(a.withdraw_asked, quiet_since_);
    if (a.blackhole && a.expires_at > 0 && a.expires_at <= now)
      why = "expired";
    else if (!a.blackhole && a.withdraw_asked && quiet_since_ && now - from >= cfg_.hold_down_s)
      why = "quiet for the hold-down";
    if (why.empty()) continue;
    if (auto s = withdraw_locked(a, why, "floodgate (hold-down)"); s.ok())
      log.push_back("withdrew " + a.prefix.str() + " from " + a.provider + " (" + why + ")");
  }
  for (const FlowRecord& f : std::vector<FlowRecord>(flows_)) {
    if (f.expires_at > now) continue;
    auto rule = parse_flow_rule(f.rule);
    if (rule.ok() && bgp_->withdraw(*rule).ok() && store_.delete_flow(f).ok()) {
      std::erase_if(flows_, [&](auto& x) { return x.rule == f.rule && x.provider == f.provider; });
      (void)store_.audit({now, "floodgate (expiry)", "flowspec off", f.rule, "ok"});
      log.push_back("FlowSpec rule expired: " + f.rule);
    }
  }
  return log;
}

}  // namespace floodgate
