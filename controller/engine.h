// The rule engine: validates operator requests, writes them to the store before the
// data path, and keeps the two in step (start-up reconcile, expiry, auto-blocks).
// Plain C++ over the DataPlane and Store interfaces; the gRPC layer translates to it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "bucket.h"
#include "config.h"
#include "datapath.h"
#include "events.h"
#include "policy.h"
#include "store.h"

namespace floodgate {

// Who asked: a name for the audit log, and the peer's address when it has one (TCP).
struct Caller {
  std::string who;
  std::optional<Prefix> address;
};

struct BlockParams {
  std::vector<std::string> prefixes;
  std::optional<int64_t> ttl_s;  // unset or 0: the configured default
  std::string reason;
  bool force = false;
};

enum class Scope { kPerSource, kPerDestination };

struct Threshold {
  fg_vector vector = FG_VEC_SYN;
  Scope scope = Scope::kPerSource;
  RateLimit limit;
};

struct PolicyView {
  Policy protocols;
  std::vector<Threshold> thresholds;
  bool reflection_filter = true;
  std::vector<uint16_t> reflection_ports;
};

struct RuleView {
  RuleRecord rule;
  uint64_t hits = 0;
};

// Why one source's packets pass or drop (Engine::explain).
struct Explanation {
  Prefix address;  // the host prefix asked about
  fg_config cfg;
  uint64_t now_mono = 0;
  std::vector<RuleView> allows;  // covering it, longest first
  struct Block {
    RuleView view;  // an unrecorded auto-block gets a record made up from its entry
    bool expired = false;
  };
  std::vector<Block> blocks;  // covering it, longest first
  std::string verdict;        // "allowed", "blocked" or "not listed"
  std::string deciding;       // the prefix that decides it
  Prefix source_key;          // what rate limits and reputation track it as
  std::optional<fg_src_state> source;
};

class Engine {
 public:
  // 'a' or 'b', the 16 address bytes, the length: sorts like `floodgatectl list`.
  using RuleKey = std::array<uint8_t, 18>;
  // Byte order, compared as two big-endian words and a short: a batch of 100k puts
  // ~2M comparisons through the maps below, and memcmp calls were a sixth of its time.
  struct RuleKeyLess {
    static uint64_t word(const uint8_t* p) {
      uint64_t w;
      std::memcpy(&w, p, sizeof(w));
      return __builtin_bswap64(w);
    }
    bool operator()(const RuleKey& a, const RuleKey& b) const {
      if (const uint64_t x = word(a.data()), y = word(b.data()); x != y) return x < y;
      if (const uint64_t x = word(a.data() + 8), y = word(b.data() + 8); x != y) return x < y;
      return (a[16] << 8 | a[17]) < (b[16] << 8 | b[17]);
    }
  };

  // `events` may be null (no one watches).
  Engine(DataPlane& dp, Store& store, const DaemonConfig& cfg, EventBus* events = nullptr);

  // Applies the configured data path settings and the stored mode, then reconciles the
  // store with the maps: expired rules are removed, rules missing from the maps are
  // re-added, auto-blocks the program made meanwhile are recorded, and operator entries
  // the store does not know are removed. Returns lines for the log.
  Result<std::vector<std::string>> start(int64_t now_unix);

  Result<std::vector<RuleRecord>> block(const BlockParams& p, const Caller& c);
  // All listed blocks exist, or nothing is removed; with ignore_missing, those that exist
  // are lifted and the others are put in *missing.
  Result<std::vector<Prefix>> unblock(const std::vector<std::string>& prefixes, const Caller& c,
                                      bool ignore_missing = false,
                                      std::vector<Prefix>* missing = nullptr);
  // ttl_s 0: until disallowed.
  Result<std::vector<RuleRecord>> allow(const std::vector<std::string>& prefixes,
                                        const std::string& reason, const Caller& c,
                                        int64_t ttl_s = 0);
  Result<std::vector<Prefix>> disallow(const std::vector<std::string>& prefixes, const Caller& c);
  // Recorded blocks inside `outer` (which an allow entry for it overrides): the first
  // `limit` of them, and how many there are in all.
  std::pair<std::vector<Prefix>, size_t> blocks_inside(const Prefix& outer, size_t limit) const;
  // Returns the previous mode.
  Result<fg_mode> set_mode(fg_mode mode, const Caller& c);
  fg_mode mode() const;

  // Replaces one protocol's policy; returns the previous one. Persisted in the store.
  Result<ProtocolPolicy> set_policy(fg_proto proto, const ProtocolPolicy& p, bool force,
                                    const Caller& c);
  // All or none; persisted in the store.
  Status set_thresholds(const std::vector<Threshold>& t, const Caller& c);
  // The reflection filter on/off (nullopt: as it is) and its amplifier source ports.
  // Persisted; returns the new view.
  Result<PolicyView> set_reflection(std::optional<bool> on, const std::vector<uint32_t>& add,
                                    const std::vector<uint32_t>& remove, const Caller& c);
  PolicyView policy() const;

  std::vector<RuleView> rules(std::optional<RuleKind> kind) const;
  Result<Explanation> explain(const std::string& address) const;
  size_t count(RuleKind kind) const;

  // While an incident is open: also sample 1 in `every` passed packets (0 = off).
  Status set_evidence_sampling(uint32_t every);

  // Once a second: removes expired rules; records new auto-blocks. Returns log lines.
  std::vector<std::string> tick(int64_t now_unix);
  // How often tick() has read the whole block map for auto-blocks (metrics).
  uint64_t block_map_scans() const { return block_map_scans_; }

 private:
  // unblock and disallow: all listed rules exist, or nothing is removed.
  Result<std::vector<Prefix>> remove_rules(RuleKind kind, const std::vector<std::string>& texts,
                                           const Caller& c, bool ignore_missing = false,
                                           std::vector<Prefix>* missing_out = nullptr);
  Result<std::vector<Prefix>> parse_all(const std::vector<std::string>& texts) const;
  // The allow entries that cover p, in rules_ order. Callers hold mu_.
  std::vector<const RuleRecord*> allows_covering(const Prefix& p) const;
  // A rule's lifetime in seconds (0 = none): not negative, not above rules.max_ttl_seconds.
  Status check_ttl(int64_t ttl_s) const;
  // The map value for r; now_mono: monotonic_ns() read once for a whole batch (0: read it).
  fg_block block_value(const RuleRecord& r, int64_t now_unix, uint64_t now_mono = 0) const;
  void audit(const Caller& c, const std::string& action, const std::string& detail,
             const std::string& result);
  void publish(EventKind kind, const std::string& subject, const std::string& detail,
               const std::string& actor);
  // Records `autos` (DataPlane::auto_blocks()) that the store does not have yet.
  // An error when the store could not take them (they stay in the map, unrecorded).
  Result<std::vector<std::string>> record_auto_blocks(int64_t now_unix,
                                                      const std::vector<BlockEntry>& autos);
  // tick()'s first half: removes what is due.
  std::vector<std::string> expire(int64_t now_unix);
  // rules_ and expiries_ change together, through these two only.
  void put_rule(RuleRecord r);
  void drop_rule(const RuleKey& key);
  void rebuild_expiries();
  Status apply_policy(fg_proto proto, const ProtocolPolicy& p, fg_config& cfg);
  // Aggregate limits run when some aggregate bucket is set and prefixes are protected.
  void set_agg_on(fg_config& cfg) const;

  DataPlane& dp_;
  Store& store_;
  const DaemonConfig& cfg_;
  EventBus* events_;
  mutable std::mutex mu_;  // one writer at a time over store + maps
  // Mirror of the store's rules, by rule_key(): kind, then address, then length.
  // A B-tree: a 100k batch went into std::map's red-black tree at ~270 ns a rule.
  absl::btree_map<RuleKey, RuleRecord, RuleKeyLess> rules_;
  // Keys of the rules that expire, by expiry second: tick() finds what is due without a
  // walk over a million rules every second, and a 100k batch costs 100k push_backs, not
  // 100k tree inserts. Entries of rules since dropped or re-timed stay until their second
  // comes (tick skips them) or until they outnumber the live ones (rebuild_expiries).
  std::map<int64_t, std::vector<RuleKey>> expiries_;
  std::map<int64_t, std::vector<RuleKey>>::iterator last_bucket_ = expiries_.end();
  size_t timed_rules_ = 0;    // rules_ entries with an expiry
  size_t index_entries_ = 0;  // entries in expiries_, stale ones included
  Policy policy_{};
  std::vector<uint16_t> reflection_ports_;  // sorted; what the reflection portset holds
  unsigned ticks_ = 0;
  // Per-source limit violations (the only thing that makes the program auto-block) as
  // counted when the block map was last read for auto-blocks.
  // kUnscanned: read at the next chance (the last read's auto-blocks were not stored).
  static constexpr uint64_t kUnscanned = ~uint64_t{0};
  uint64_t scanned_violations_ = kUnscanned;
  std::atomic<uint64_t> block_map_scans_{0};
};

// Unix seconds now.
int64_t unix_now();

}  // namespace floodgate
