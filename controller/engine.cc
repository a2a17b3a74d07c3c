// Rule validation, atomic batches, reconcile and expiry.
#include "engine.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace floodgate {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

std::string duration_text(int64_t s) {
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string join(const std::vector<Prefix>& v) {
  std::string out;
  for (const Prefix& p : v) out += (out.empty() ? "" : " ") + p.str();
  return out;
}

// The first ten of v, then how many more: for lines about thousands of prefixes.
std::string join_some(const std::vector<Prefix>& v) {
  constexpr size_t kShown = 10;
  if (v.size() <= kShown) return join(v);
  return join({v.begin(), v.begin() + kShown}) + " ... and " + std::to_string(v.size() - kShown) +
         " more";
}

// What an audit line says of a request's prefixes: the count, and the prefix when one.
std::string request_detail(const std::vector<std::string>& texts) {
  return std::to_string(texts.size()) + " prefix(es)" + (texts.size() == 1 ? ": " + texts[0] : "");
}

// Packets over a per-source limit (dropped, or passed in monitor mode): what makes the
// program's reputation auto-block a source.
uint64_t violations(const Counters& c) {
  uint64_t n = 0;
  for (uint32_t r = FG_R_SYN_RATE; r <= FG_R_ICMP_RATE; r++)
    n += c[r].pass_packets + c[r].drop_packets;
  return n;
}

// Orders rules by kind, then address, then length, and finds one in O(log n).

Engine::RuleKey rule_key(RuleKind k, const Prefix& p) {
  Engine::RuleKey key{};
  key[0] = k == RuleKind::kBlock ? 'b' : 'a';
  std::memcpy(key.data() + 1, p.addr.w, sizeof(p.addr.w));
  key[17] = static_cast<uint8_t>(p.len);
  return key;
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Engine::Engine(DataPlane& dp, Store& store, const DaemonConfig& cfg, EventBus* events)
    : dp_(dp), store_(store), cfg_(cfg), events_(events) {}

void Engine::publish(EventKind kind, const std::string& subject, const std::string& detail,
                     const std::string& actor) {
  if (events_) events_->publish({unix_now(), kind, subject, detail, actor});
}

fg_block Engine::block_value(const RuleRecord& r, int64_t now_unix, uint64_t now_mono) const {
  fg_block b{};
  b.origin = r.origin;
  if (r.expires_at > 0)  // wall-clock expiry to the program's monotonic clock
    b.expires_ns = (now_mono ? now_mono : monotonic_ns()) +
                   static_cast<uint64_t>(std::max<int64_t>(r.expires_at - now_unix, 0)) * kNsPerSec;
  return b;
}

void Engine::set_agg_on(fg_config& cfg) const {
  bool any = false;
  for (const fg_bucket_cfg& b : cfg.agg) any |= b.interval_fp != 0;
  cfg.agg_on = any && !cfg_.protected_prefixes.empty();
}

void Engine::audit(const Caller& c, const std::string& action, const std::string& detail,
                   const std::string& result) {
  // The audit log must not make a mitigation fail, so a write error is not returned.
  (void)store_.audit({unix_now(), c.who, action, detail, result});
}

Result<std::vector<std::string>> Engine::start(int64_t now_unix) {
  std::lock_guard lock(mu_);
  std::vector<std::string> log;
  fg_config cfg = cfg_.datapath;
  cfg.layout_version = FG_LAYOUT_VERSION;
  // Aggregate limits apply to the protected prefixes, each with its own buckets.
  for (uint32_t i = 0; i < cfg_.protected_prefixes.size(); i++) {
    auto p = parse_prefix(cfg_.protected_prefixes[i]);
    if (!p.ok()) return p.error();
    if (auto s = dp_.add_protected(*p, i); !s) return s.error();
  }
  // Policy and thresholds: the config seeds them, `floodgatectl policy|threshold` changes
  // stored since win.
  for (uint32_t i = 0; i < FG_PROTO_MAX; i++) {
    const auto proto = static_cast<fg_proto>(i);
    policy_[i] = cfg_.policy[i];
    if (auto stored = store_.setting(std::string("policy.") + proto_name(proto)))
      if (auto p = decode_policy(*stored)) policy_[i] = *p;
    if (auto s = apply_policy(proto, policy_[i], cfg); !s) return s.error();
  }
  for (uint32_t v = 0; v < FG_VEC_MAX; v++)
    for (const bool agg : {false, true}) {
      auto stored =
          store_.setting("threshold." + std::string(agg ? "dst." : "src.") + std::to_string(v));
      if (!stored) continue;
      unsigned long long rate = 0, burst = 0;
      if (std::sscanf(stored->c_str(), "%llu,%llu", &rate, &burst) == 2)
        (agg ? cfg.agg : cfg.src)[v] = bucket_config({rate, burst});
    }
  set_agg_on(cfg);
  // The operator's last `mode` command outlives restarts; the config file only seeds it.
  if (auto m = store_.setting("mode"))
    cfg.mode = *m == "enforce" ? FG_MODE_ENFORCE : FG_MODE_MONITOR;
  // Likewise `floodgatectl reflection`.
  reflection_ports_ = cfg_.reflection_ports;
  if (auto on = store_.setting("reflection.on")) cfg.reflection_on = *on == "1";
  if (auto ports = store_.setting("reflection.ports")) {
    reflection_ports_.clear();
    std::istringstream in(*ports);
    for (unsigned p; in >> p;) reflection_ports_.push_back(static_cast<uint16_t>(p));
  }
  std::sort(reflection_ports_.begin(), reflection_ports_.end());
  if (auto s = dp_.set_config(cfg); !s) return s.error();
  if (auto s = dp_.set_portset(FG_PORTSET_REFLECTION, reflection_ports_); !s) return s.error();

  auto stored = store_.rules();
  if (!stored.ok()) return stored.error();
  rules_.clear();
  expiries_.clear();
  last_bucket_ = expiries_.end();
  timed_rules_ = index_entries_ = 0;
  std::vector<Prefix> expired_blocks, expired_allows;
  for (RuleRecord& r : *stored) {
    if (r.expires_at > 0 && r.expires_at <= now_unix) {
      (r.kind == RuleKind::kBlock ? expired_blocks : expired_allows).push_back(r.prefix);
      continue;
    }
    put_rule(std::move(r));
  }
  for (auto [kind, list] : {std::pair{RuleKind::kBlock, &expired_blocks},
                            std::pair{RuleKind::kAllow, &expired_allows}}) {
    if (list->empty()) continue;
    if (auto s = store_.delete_rules(kind, *list); !s) return s.error();
    for (const Prefix& p : *list)
      (void)(kind == RuleKind::kBlock ? dp_.remove_block(p) : dp_.remove_allow(p));
    log.push_back("expired while stopped: " + join_some(*list));
  }
  // Store -> maps: re-add what is missing in one batch; what is there stays as it is,
  // hit counters included (the map is read once: a million lookups took seconds).
  const uint64_t violations_read = violations(dp_.counters());  // before the map: see tick()
  const std::vector<BlockEntry> in_map = dp_.blocks();
  absl::flat_hash_set<Prefix, PrefixHash> present;
  present.reserve(in_map.size());
  for (const BlockEntry& e : in_map) present.insert(e.prefix);
  std::vector<std::pair<Prefix, fg_block>> missing;
  absl::flat_hash_set<Prefix, PrefixHash> ruled;  // the block rules' prefixes, for below
  ruled.reserve(rules_.size());
  const uint64_t mono = monotonic_ns();
  for (const auto& [key, r] : rules_) {
    if (r.kind == RuleKind::kAllow) {
      if (auto s = dp_.add_allow(r.prefix); !s) return s.error();
      continue;
    }
    ruled.insert(r.prefix);
    if (!present.count(r.prefix)) missing.emplace_back(r.prefix, block_value(r, now_unix, mono));
  }
  if (auto s = dp_.add_new_blocks(missing); !s) return s.error();
  if (!missing.empty())
    log.push_back("re-added " + std::to_string(missing.size()) + " blocks missing from the maps");
  // Maps -> store: auto-blocks are kept; operator entries nobody acknowledged go. (A
  // hash set, not the B-tree: a million tree lookups took 0.4 s of a restart.)
  std::vector<BlockEntry> autos_in_map;
  for (const BlockEntry& e : in_map) {
    if (e.value.origin == FG_ORIGIN_REPUTATION) {
      autos_in_map.push_back(e);
      continue;
    }
    if (ruled.count(e.prefix)) continue;
    (void)dp_.remove_block(e.prefix);
    log.push_back("removed unrecorded block " + e.prefix.str());
  }
  for (const Prefix& p : dp_.allows()) {
    if (rules_.count(rule_key(RuleKind::kAllow, p))) continue;
    (void)dp_.remove_allow(p);
    log.push_back("removed unrecorded allow " + p.str());
  }
  // The auto-blocks of the same read (one more read of a million entries took 0.3 s);
  // later ones are found by tick().
  auto autos = record_auto_blocks(now_unix, autos_in_map);
  if (!autos.ok()) {
    scanned_violations_ = kUnscanned;
    log.push_back("auto-blocks not recorded (tried again in 5 s): " + autos.error().message);
    return log;
  }
  scanned_violations_ = violations_read;
  log.insert(log.end(), autos->begin(), autos->end());
  return log;
}

Result<std::vector<Prefix>> Engine::parse_all(const std::vector<std::string>& texts) const {
  if (texts.empty()) return invalid_argument("give at least one prefix, e.g. 192.0.2.0/24");
  auto parsed = parse_prefixes(texts, [](size_t i) { return "#" + std::to_string(i + 1); });
  if (!parsed.ok()) return parsed.error();
  std::vector<Prefix> out;
  out.reserve(parsed->size());
  absl::flat_hash_set<Prefix, PrefixHash> seen;
  seen.reserve(parsed->size());
  for (const Prefix& p : *parsed)
    if (seen.insert(p).second) out.push_back(p);
  return out;
}

std::vector<const RuleRecord*> Engine::allows_covering(const Prefix& p) const {
  // Allow rules sort first in rules_ ('a' < 'b'), and are few.
  std::vector<const RuleRecord*> out;
  for (auto it = rules_.begin(); it != rules_.end() && it->first[0] == 'a'; ++it)
    if (contains(it->second.prefix, p)) out.push_back(&it->second);
  return out;
}

Status Engine::check_ttl(int64_t ttl_s) const {
  if (ttl_s < 0) return invalid_argument("--ttl must be positive (e.g. 10m, 2h)");
  if (ttl_s > cfg_.max_ttl_s)
    return invalid_argument("--ttl " + duration_text(ttl_s) + " exceeds the maximum " +
                            duration_text(cfg_.max_ttl_s) +
                            " (rules.max_ttl_seconds); give a shorter --ttl");
  return Ok{};
}

Result<std::vector<RuleRecord>> Engine::block(const BlockParams& req, const Caller& c) {
  auto parsed = parse_all(req.prefixes);
  const std::string detail = request_detail(req.prefixes);
  auto refuse = [&](Error e) -> Result<std::vector<RuleRecord>> {
    audit(c, "block", detail, e.message);
    return e;
  };
  if (!parsed.ok()) return refuse(parsed.error());
  int64_t ttl = req.ttl_s.value_or(0);
  if (ttl == 0) ttl = cfg_.default_ttl_s;
  if (auto s = check_ttl(ttl); !s) return refuse(s.error());
  std::lock_guard lock(mu_);
  for (const Prefix& p : *parsed) {
    if (p.len == 0)
      return refuse(invalid_argument("refusing to block " + p.str() + ": that is every " +
                                     (p.v4 ? "IPv4" : "IPv6") + " address"));
    const unsigned min = p.v4 ? cfg_.min_prefix_v4 : cfg_.min_prefix_v6;
    if (p.len < min && !req.force)
      return refuse(invalid_argument(p.str() + " is shorter than /" + std::to_string(min) +
                                     " (rules.min_prefix_" + (p.v4 ? "v4" : "v6") +
                                     "); give --force if you mean to block that much"));
    if (const auto covering = allows_covering(p); !covering.empty()) {
      const Prefix& a = covering.front()->prefix;
      return refuse(failed_precondition(p.str() + " is inside allow-listed " + a.str() +
                                        ", which wins over blocks; run `floodgatectl disallow " +
                                        a.str() + "` first if it must be blocked"));
    }
    if (!req.force)
      for (const Provider& prov : cfg_.providers)
        if (auto n = parse_prefix(prov.neighbor); n.ok() && contains(p, *n))
          return refuse(failed_precondition(
              p.str() + " contains " + n->str() + ", the BGP neighbour of scrubbing provider '" +
              prov.name +
              "': its session would drop, and every diversion with it; give --force if you "
              "really mean it"));
    if (c.address && contains(p, *c.address) && !req.force)
      return refuse(failed_precondition(p.str() + " contains your own address " + c.address->str() +
                                        ": you would lock yourself out; give --force if you "
                                        "really mean it"));
  }
  const int64_t now = unix_now();
  std::vector<RuleRecord> records;
  records.reserve(parsed->size());
  for (const Prefix& p : *parsed)
    records.push_back(
        {RuleKind::kBlock, p, FG_ORIGIN_OPERATOR, req.reason, c.who, now, ttl > 0 ? now + ttl : 0});
  // Store first: nothing acknowledged may be lost. Then the maps, all or none: new
  // prefixes in one batched update, rules being replaced one by one (they keep their hit
  // counters and can be put back exactly).
  std::vector<RuleRecord> replaced;
  std::vector<std::pair<Prefix, fg_block>> fresh;
  std::vector<const RuleRecord*> again;
  fresh.reserve(records.size());
  const uint64_t mono = monotonic_ns();
  for (const RuleRecord& r : records) {
    if (auto it = rules_.find(rule_key(RuleKind::kBlock, r.prefix)); it != rules_.end()) {
      replaced.push_back(it->second);
      again.push_back(&r);
    } else {
      fresh.emplace_back(r.prefix, block_value(r, now, mono));
    }
  }
  if (auto s = store_.put_rules(records); !s) return refuse(s.error());
  auto undo_store = [&] {
    std::vector<Prefix> added;
    for (const RuleRecord& x : records) added.push_back(x.prefix);
    (void)store_.delete_rules(RuleKind::kBlock, added);
    (void)store_.put_rules(replaced);
  };
  if (auto s = dp_.add_new_blocks(fresh); !s) {
    undo_store();
    return refuse(
        Error{s.error().code, s.error().message + "; nothing of this request was applied"});
  }
  std::vector<std::pair<Prefix, std::optional<fg_block>>> applied;
  for (const RuleRecord* r : again) {
    auto old = dp_.add_block(r->prefix, block_value(*r, now, mono));
    if (!old.ok()) {
      const Error& e = old.error();
      for (auto& [p, prev] : applied)
        (void)(prev ? dp_.add_block(p, *prev).ok() : dp_.remove_block(p).ok());
      for (const auto& [p, v] : fresh) (void)dp_.remove_block(p);
      undo_store();
      return refuse(Error{e.code, e.message + "; nothing of this request was applied"});
    }
    applied.emplace_back(r->prefix, *old);
  }
  for (const RuleRecord& r : records) put_rule(r);
  audit(c, "block", detail + (ttl ? " ttl " + duration_text(ttl) : " no expiry"), "ok");
  publish(
      EventKind::kBlock,
      records.size() == 1 ? records[0].prefix.str() : std::to_string(records.size()) + " prefixes",
      (ttl ? "ttl " + duration_text(ttl) : "no expiry") +
          (req.reason.empty() ? "" : ", " + req.reason),
      c.who);
  return records;
}

Result<std::vector<Prefix>> Engine::unblock(const std::vector<std::string>& texts, const Caller& c,
                                            bool ignore_missing, std::vector<Prefix>* missing) {
  return remove_rules(RuleKind::kBlock, texts, c, ignore_missing, missing);
}

Result<std::vector<Prefix>> Engine::remove_rules(RuleKind kind,
                                                 const std::vector<std::string>& texts,
                                                 const Caller& c, bool ignore_missing,
                                                 std::vector<Prefix>* missing_out) {
  const bool block = kind == RuleKind::kBlock;
  const char* action = block ? "unblock" : "disallow";
  auto parsed = parse_all(texts);
  if (!parsed.ok()) return parsed.error();
  std::lock_guard lock(mu_);
  std::vector<Prefix> missing;
  for (const Prefix& p : *parsed)  // an unrecorded auto-block can be lifted too
    if (!rules_.count(rule_key(kind, p)) && !(block && dp_.find_block(p))) missing.push_back(p);
  if (ignore_missing && !missing.empty()) {
    const absl::flat_hash_set<Prefix, PrefixHash> gone(missing.begin(), missing.end());
    std::erase_if(*parsed, [&](const Prefix& p) { return gone.count(p) > 0; });
    if (missing_out) *missing_out = missing;
    if (parsed->empty()) {
      audit(c, action, "nothing (ignore missing)", "not found: " + join_some(missing));
      return *parsed;
    }
    missing.clear();
  }
  if (!missing.empty()) {
    // Lists of thousands are cut: a gRPC status message must fit in a header.
    audit(c, action, join_some(*parsed), "not found: " + join_some(missing));
    const std::string noun = block ? "block" : "allow entry";
    return not_found((missing.size() == 1 ? "no " + noun + " for "
                                          : std::to_string(missing.size()) + " of " +
                                                std::to_string(parsed->size()) +
                                                " prefixes have no " + noun + ": ") +
                     join_some(missing) + "; nothing was removed (`floodgatectl list" +
                     (block ? "` shows what there is; --ignore-missing lifts the others)"
                            : " --allow` shows what there is)"));
  }
  if (auto s = store_.delete_rules(kind, *parsed); !s) return s.error();
  for (const Prefix& p : *parsed) {
    (void)(block ? dp_.remove_block(p) : dp_.remove_allow(p));
    drop_rule(rule_key(kind, p));
  }
  audit(c, action, join_some(*parsed), "ok");
  publish(block ? EventKind::kUnblock : EventKind::kDisallow, join_some(*parsed), "", c.who);
  return *parsed;
}

Result<std::vector<RuleRecord>> Engine::allow(const std::vector<std::string>& texts,
                                              const std::string& reason, const Caller& c,
                                              int64_t ttl_s) {
  auto parsed = parse_all(texts);
  const std::string detail = request_detail(texts);
  auto refuse = [&](Error e) -> Result<std::vector<RuleRecord>> {
    audit(c, "allow", detail, e.message);
    return e;
  };
  if (!parsed.ok()) return refuse(parsed.error());
  for (const Prefix& p : *parsed)
    if (p.len == 0)
      return refuse(invalid_argument("refusing to allow-list " + p.str() +
                                     ": it would switch filtering off"));
  if (auto s = check_ttl(ttl_s); !s) return refuse(s.error());
  std::lock_guard lock(mu_);
  const int64_t now = unix_now();
  std::vector<RuleRecord> records;
  for (const Prefix& p : *parsed)
    records.push_back(
        {RuleKind::kAllow, p, FG_ORIGIN_OPERATOR, reason, c.who, now, ttl_s > 0 ? now + ttl_s : 0});
  if (auto s = store_.put_rules(records); !s) return s.error();
  std::vector<Prefix> added;
  for (const RuleRecord& r : records) {
    if (auto s = dp_.add_allow(r.prefix); !s) {
      for (const Prefix& p : added) (void)dp_.remove_allow(p);
      std::vector<Prefix> all;
      for (const RuleRecord& x : records) all.push_back(x.prefix);
      (void)store_.delete_rules(RuleKind::kAllow, all);
      audit(c, "allow", join_some(*parsed), s.error().message);
      return Error{s.error().code, s.error().message + "; nothing of this request was applied"};
    }
    added.push_back(r.prefix);
  }
  for (const RuleRecord& r : records) put_rule(r);
  audit(c, "allow", join_some(*parsed), "ok");
  publish(EventKind::kAllow, join_some(*parsed), reason, c.who);
  return records;
}

Result<std::vector<Prefix>> Engine::disallow(const std::vector<std::string>& texts,
                                             const Caller& c) {
  return remove_rules(RuleKind::kAllow, texts, c);
}

std::pair<std::vector<Prefix>, size_t> Engine::blocks_inside(const Prefix& outer,
                                                             size_t limit) const {
  // Keys order blocks by address (network byte order), so those inside `outer` are one
  // range: from its first address to its last.
  Prefix last = outer;
  for (unsigned bit = outer.lpm_len(); bit < 128; bit++)
    last.addr.w[bit / 32] |= htonl(1u << (31 - bit % 32));
  last.len = 0;
  RuleKey hi = rule_key(RuleKind::kBlock, last);
  hi[17] = 0xff;
  std::pair<std::vector<Prefix>, size_t> out{{}, 0};
  std::lock_guard lock(mu_);
  for (auto it = rules_.lower_bound(rule_key(RuleKind::kBlock, outer));
       it != rules_.end() && it->first <= hi; ++it) {
    if (!contains(outer, it->second.prefix)) continue;
    if (out.second++ < limit) out.first.push_back(it->second.prefix);
  }
  return out;
}

Result<fg_mode> Engine::set_mode(fg_mode mode, const Caller& c) {
  std::lock_guard lock(mu_);
  fg_config cfg = dp_.config();
  const auto previous = static_cast<fg_mode>(cfg.mode);
  const std::string name = mode == FG_MODE_ENFORCE ? "enforce" : "monitor";
  if (auto s = store_.set_setting("mode", name); !s) return s.error();
  cfg.mode = static_cast<uint8_t>(mode);
  if (auto s = dp_.set_config(cfg); !s) return s.error();
  audit(c, "mode", name, "ok");
  publish(EventKind::kMode, name,
          std::string("was ") + (previous == FG_MODE_ENFORCE ? "enforce" : "monitor"), c.who);
  return previous;
}

Status Engine::set_evidence_sampling(uint32_t every) {
  std::lock_guard lock(mu_);
  fg_config cfg = dp_.config();
  cfg.sample_pass_every = every;
  return dp_.set_config(cfg);
}

fg_mode Engine::mode() const { return static_cast<fg_mode>(dp_.config().mode); }

Status Engine::apply_policy(fg_proto proto, const ProtocolPolicy& p, fg_config& cfg) {
  if (proto != FG_PROTO_OTHER) {
    if (auto s = dp_.set_portset(FG_PORTSET(proto, FG_PORTSET_ALLOW), p.allow); !s) return s;
    if (auto s = dp_.set_portset(FG_PORTSET(proto, FG_PORTSET_DENY), p.deny); !s) return s;
  }
  cfg.policy_default[proto] = p.default_action;
  return Ok{};
}

Result<ProtocolPolicy> Engine::set_policy(fg_proto proto, const ProtocolPolicy& requested,
                                          bool force, const Caller& c) {
  auto p = validate_policy(proto, requested, cfg_.management_ports, force);
  const std::string subject = proto_name(proto);
  if (!p.ok()) {
    audit(c, "policy", subject, p.error().message);
    return p.error();
  }
  std::lock_guard lock(mu_);
  if (auto s = store_.set_setting("policy." + subject, encode_policy(*p)); !s) return s.error();
  fg_config cfg = dp_.config();
  if (auto s = apply_policy(proto, *p, cfg); !s) return s.error();
  if (auto s = dp_.set_config(cfg); !s) return s.error();
  const ProtocolPolicy previous = policy_[proto];
  policy_[proto] = *p;
  audit(c, "policy", subject + " " + encode_policy(*p), "ok");
  publish(EventKind::kPolicy, subject, encode_policy(*p), c.who);
  return previous;
}

Status Engine::set_thresholds(const std::vector<Threshold>& ts, const Caller& c) {
  if (ts.empty()) return invalid_argument("give at least one threshold");
  for (const Threshold& t : ts) {
    if (t.vector >= FG_VEC_MAX) return invalid_argument("unknown vector");
    if (t.limit.rate > 0 && t.limit.burst == 0)
      return invalid_argument("a rate needs a burst of at least 1 (how much may arrive at once)");
  }
  std::lock_guard lock(mu_);
  fg_config cfg = dp_.config();
  std::string detail;
  for (const Threshold& t : ts) {
    const bool agg = t.scope == Scope::kPerDestination;
    const std::string key =
        "threshold." + std::string(agg ? "dst." : "src.") + std::to_string(t.vector);
    if (auto s = store_.set_setting(
            key, std::to_string(t.limit.rate) + "," + std::to_string(t.limit.burst));
        !s)
      return s;
    (agg ? cfg.agg : cfg.src)[t.vector] = bucket_config(t.limit);
    detail += (detail.empty() ? "" : "; ") + std::string(agg ? "per-destination " : "per-source ") +
              std::to_string(t.vector) + " " + std::to_string(t.limit.rate) + "/s burst " +
              std::to_string(t.limit.burst);
  }
  set_agg_on(cfg);
  if (auto s = dp_.set_config(cfg); !s) return s;
  audit(c, "thresholds", detail, "ok");
  publish(EventKind::kPolicy, "thresholds", detail, c.who);
  return Ok{};
}

PolicyView Engine::policy() const {
  std::lock_guard lock(mu_);
  PolicyView v;
  v.protocols = policy_;
  const fg_config cfg = dp_.config();
  for (uint32_t i = 0; i < FG_VEC_MAX; i++) {
    v.thresholds.push_back(
        {static_cast<fg_vector>(i), Scope::kPerSource, rate_limit_of(cfg.src[i])});
    v.thresholds.push_back(
        {static_cast<fg_vector>(i), Scope::kPerDestination, rate_limit_of(cfg.agg[i])});
  }
  v.reflection_filter = cfg.reflection_on;
  v.reflection_ports = reflection_ports_;
  return v;
}

Result<PolicyView> Engine::set_reflection(std::optional<bool> on, const std::vector<uint32_t>& add,
                                          const std::vector<uint32_t>& remove, const Caller& c) {
  for (const auto* list : {&add, &remove})
    for (uint32_t p : *list)
      if (p == 0 || p > 65535)
        return invalid_argument("port " + std::to_string(p) + " is not a UDP port (1..65535)");
  {
    std::lock_guard lock(mu_);
    std::set<uint16_t> ports(reflection_ports_.begin(), reflection_ports_.end());
    for (uint32_t p : add) ports.insert(static_cast<uint16_t>(p));
    for (uint32_t p : remove) ports.erase(static_cast<uint16_t>(p));
    const std::vector<uint16_t> next(ports.begin(), ports.end());
    fg_config cfg = dp_.config();
    const bool now_on = on.value_or(cfg.reflection_on != 0);
    std::string text;
    for (uint16_t p : next) text += (text.empty() ? "" : " ") + std::to_string(p);
    if (auto s = store_.set_settings(
            {{"reflection.ports", text}, {"reflection.on", now_on ? "1" : "0"}});
        !s)
      return s.error();
    if (auto s = dp_.set_portset(FG_PORTSET_REFLECTION, next); !s) return s.error();
    cfg.reflection_on = now_on ? 1 : 0;
    if (auto s = dp_.set_config(cfg); !s) return s.error();
    reflection_ports_ = next;
    const std::string detail = std::string(now_on ? "on" : "off") + ", ports " + text;
    audit(c, "reflection", detail, "ok");
    publish(EventKind::kPolicy, "reflection", detail, c.who);
  }
  return policy();
}

std::vector<RuleView> Engine::rules(std::optional<RuleKind> kind) const {
  // Hit counters from one batched read of the map, before taking the lock: a lookup per
  // rule held every other command for seconds with a million blocks.
  absl::flat_hash_map<Prefix, uint64_t, PrefixHash> hits;
  if (kind != RuleKind::kAllow)
    for (const BlockEntry& e : dp_.blocks()) hits.emplace(e.prefix, e.value.hits);
  std::lock_guard lock(mu_);
  std::vector<RuleView> out;
  out.reserve(kind == RuleKind::kAllow ? 0 : rules_.size());
  for (const auto& [key, r] : rules_) {
    if (kind && r.kind != *kind) continue;
    RuleView v{r, 0};
    if (r.kind == RuleKind::kBlock)
      if (auto it = hits.find(r.prefix); it != hits.end()) v.hits = it->second;
    out.push_back(std::move(v));
  }
  return out;
}

Result<Explanation> Engine::explain(const std::string& text) const {
  auto parsed = parse_prefix(text);
  if (!parsed.ok()) return parsed.error();
  if (!parsed->is_host())
    return invalid_argument("give one address, not a prefix (" + parsed->str() +
                            "): explain follows one source's packets");
  Explanation e;
  e.address = *parsed;
  e.now_mono = monotonic_ns();
  std::lock_guard lock(mu_);
  e.cfg = dp_.config();
  for (const RuleRecord* a : allows_covering(e.address)) e.allows.push_back({*a, 0});
  std::sort(e.allows.begin(), e.allows.end(), [](const RuleView& a, const RuleView& b) {
    return a.rule.prefix.len > b.rule.prefix.len;
  });
  // Every length, longest first, as the program probes the lengths in use.
  for (int len = static_cast<int>(e.address.len); len >= 0; len--) {
    const Prefix p = e.address.truncated(static_cast<unsigned>(len));
    const auto value = dp_.find_block(p);
    if (!value) continue;
    RuleRecord r{RuleKind::kBlock, p, value->origin, "", "floodgate (reputation)", 0, 0};
    if (value->expires_ns > e.now_mono)
      r.expires_at =
          unix_now() + static_cast<int64_t>((value->expires_ns - e.now_mono) / kNsPerSec);
    if (auto it = rules_.find(rule_key(RuleKind::kBlock, p)); it != rules_.end()) r = it->second;
    const bool expired = value->expires_ns && value->expires_ns <= e.now_mono;
    e.blocks.push_back({{r, value->hits}, expired});
  }
  e.verdict = "not listed";
  if (!e.allows.empty()) {
    e.verdict = "allowed";
    e.deciding = e.allows.front().rule.prefix.str();
  } else {
    for (const Explanation::Block& b : e.blocks)
      if (!b.expired) {
        e.verdict = "blocked";
        e.deciding = b.view.rule.prefix.str();
        break;
      }
  }
  e.source_key = e.address.truncated(e.address.v4 ? e.cfg.src_prefix_v4 : e.cfg.src_prefix_v6);
  e.source = dp_.find_source(e.source_key.addr);
  return e;
}

size_t Engine::count(RuleKind kind) const {
  std::lock_guard lock(mu_);
  // Allow rules sort first and are few; walking only them keeps Status O(allows), not
  // O(rules) with a million blocks.
  const auto allows =
      static_cast<size_t>(std::distance(rules_.begin(), rules_.lower_bound(Engine::RuleKey{'b'})));
  return kind == RuleKind::kAllow ? allows : rules_.size() - allows;
}

Result<std::vector<std::string>> Engine::record_auto_blocks(int64_t now_unix,
                                                            const std::vector<BlockEntry>& autos) {
  std::vector<RuleRecord> found;
  const uint64_t mono = monotonic_ns();
  for (const BlockEntry& e : autos) {
    if (rules_.count(rule_key(RuleKind::kBlock, e.prefix))) continue;
    // Read without the lock: an operator may have lifted it since.
    if (auto now = dp_.find_block(e.prefix); !now || now->origin != FG_ORIGIN_REPUTATION) continue;
    const int64_t left = e.value.expires_ns > mono
                             ? static_cast<int64_t>((e.value.expires_ns - mono) / kNsPerSec) + 1
                             : 0;
    found.push_back({RuleKind::kBlock, e.prefix, FG_ORIGIN_REPUTATION,
                     "reputation score crossed the threshold", "floodgate (reputation)", now_unix,
                     e.value.expires_ns ? now_unix + left : 0});
  }
  if (found.empty()) return std::vector<std::string>{};
  if (auto s = store_.put_rules(found); !s) return s.error();
  std::vector<std::string> log;
  for (RuleRecord& r : found) {
    log.push_back("auto-block " + r.prefix.str() + " (reputation)");
    publish(EventKind::kAutoBlock, r.prefix.str(), r.reason, r.created_by);
    put_rule(std::move(r));
  }
  return log;
}

void Engine::put_rule(RuleRecord r) {
  const RuleKey key = rule_key(r.kind, r.prefix);
  const int64_t expires = r.expires_at;
  auto [it, fresh] = rules_.try_emplace(key, std::move(r));
  if (!fresh) {
    if (it->second.expires_at > 0) timed_rules_--;  // its index entry is stale now
    it->second = std::move(r);
  }
  if (expires <= 0) return;
  timed_rules_++;
  // A batch shares one expiry: its keys go to the same bucket, found once.
  if (last_bucket_ == expiries_.end() || last_bucket_->first != expires)
    last_bucket_ = expiries_.try_emplace(expires).first;
  last_bucket_->second.push_back(key);
  if (++index_entries_ > 2 * timed_rules_ + 4096) rebuild_expiries();
}

void Engine::drop_rule(const RuleKey& key) {
  auto it = rules_.find(key);
  if (it == rules_.end()) return;
  if (it->second.expires_at > 0) timed_rules_--;
  rules_.erase(it);
}

void Engine::rebuild_expiries() {
  expiries_.clear();
  last_bucket_ = expiries_.end();
  for (const auto& [key, r] : rules_)
    if (r.expires_at > 0) expiries_[r.expires_at].push_back(key);
  index_entries_ = timed_rules_;
}

std::vector<std::string> Engine::tick(int64_t now_unix) {
  std::vector<std::string> log = expire(now_unix);
  if (++ticks_ % 5 != 0) return log;
  if (auto s = dp_.tidy_filters(); !s) log.push_back("list filter: " + s.error().message);
  // Auto-blocks are found by reading the whole block map: every 5 s is soon enough. The
  // read (~0.3 s of a core with a million entries) holds nothing up, and runs only when
  // a per-source limit was exceeded since the last one: the program auto-blocks nothing
  // else. The counters are read first; the program counts a violation after its
  // auto-block went into the map, so the read that follows finds every block counted.
  const uint64_t v = violations(dp_.counters());
  if (v == scanned_violations_) return log;
  const std::vector<BlockEntry> found = dp_.auto_blocks();
  block_map_scans_++;
  std::lock_guard lock(mu_);
  auto autos = record_auto_blocks(now_unix, found);
  if (!autos.ok()) {  // read again next time
    log.push_back("auto-blocks not recorded (tried again in 5 s): " + autos.error().message);
    return log;
  }
  scanned_violations_ = v;
  log.insert(log.end(), autos->begin(), autos->end());
  return log;
}

std::vector<std::string> Engine::expire(int64_t now_unix) {
  std::lock_guard lock(mu_);
  std::vector<std::string> log;
  // The index holds only rules with an expiry, by second: no walk over every rule. An
  // entry whose rule is gone or has another expiry now is stale and skipped.
  std::vector<RuleKey> due;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now_unix; ++it)
    for (const RuleKey& key : it->second)
      if (auto r = rules_.find(key); r != rules_.end() && r->second.expires_at == it->first)
        due.push_back(key);
  std::sort(due.begin(), due.end(), RuleKeyLess{});  // a key may stand twice in a bucket
  due.erase(std::unique(due.begin(), due.end()), due.end());
  std::map<RuleKind, std::vector<Prefix>> expired;
  for (const RuleKey& key : due) {
    const RuleRecord& r = rules_.at(key);
    expired[r.kind].push_back(r.prefix);
  }
  bool all_gone = true;
  // A batch that expires together is one store transaction and one audit line, and one
  // log line and event once it is more than a few: a per-prefix commit held the engine
  // (and every command) for seconds per 10k prefixes.
  constexpr size_t kOneByOne = 10;
  for (auto& [kind, prefixes] : expired) {
    if (!store_.delete_rules(kind, prefixes).ok()) {
      all_gone = false;  // retried next tick
      continue;
    }
    const std::string what = kind == RuleKind::kBlock ? "block" : "allow";
    for (const Prefix& p : prefixes) {
      (void)(kind == RuleKind::kBlock ? dp_.remove_block(p) : dp_.remove_allow(p));
      drop_rule(rule_key(kind, p));
      if (prefixes.size() > kOneByOne) continue;
      log.push_back("expired " + p.str());
      publish(EventKind::kExpire, p.str(), what, "floodgate (expiry)");
    }
    if (prefixes.size() > kOneByOne) {
      const std::string n = std::to_string(prefixes.size()) + " prefixes";
      log.push_back("expired " + n + " (" + what + "s): " + join_some(prefixes));
      publish(EventKind::kExpire, n, what + "s: " + join_some(prefixes), "floodgate (expiry)");
    }
    (void)store_.audit(
        {now_unix, "floodgate (expiry)", "expire", what + " " + join_some(prefixes), "ok"});
  }
  if (all_gone)
    for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now_unix;) {
      index_entries_ -= it->second.size();
      if (it == last_bucket_) last_bucket_ = expiries_.end();
      it = expiries_.erase(it);
    }
  return log;
}

}  // namespace floodgate
