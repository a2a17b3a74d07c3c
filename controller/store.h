// The daemon's durable state in one SQLite file: rules with their TTLs, settings (mode)
// and the audit log. Every mutation is one transaction, committed before the API
// acknowledges it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "detector.h"
#include "prefix.h"
#include "result.h"

struct sqlite3;

namespace floodgate {

enum class RuleKind { kBlock, kAllow };

struct RuleRecord {
  RuleKind kind = RuleKind::kBlock;
  Prefix prefix;
  uint32_t origin = FG_ORIGIN_OPERATOR;  // enum fg_block_origin
  std::string reason;
  std::string created_by;
  int64_t created_at = 0;  // Unix seconds
  int64_t expires_at = 0;  // Unix seconds; 0 = never
};

struct AuditRecord {
  int64_t at = 0;  // Unix seconds
  std::string who;
  std::string action;
  std::string detail;
  std::string result;  // "ok" or the error message
};

// One route Floodgate announces (diversion or blackhole), as the store keeps it.
struct AnnouncementRecord {
  Prefix prefix;
  std::string provider;
  bool blackhole = false;  // RTBH, else diversion to scrubbing
  std::string reason;
  std::string created_by;
  int64_t since = 0;           // Unix seconds
  int64_t expires_at = 0;      // 0 = until withdrawn
  int64_t withdraw_asked = 0;  // `divert off` without --now: withdrawn after the hold-down
};

// A FlowSpec rule Floodgate announces, as the store keeps it (rule = FlowRule::str()).
struct FlowRecord {
  std::string rule;
  std::string provider;
  std::string reason;
  std::string created_by;
  int64_t since = 0;
  int64_t expires_at = 0;  // FlowSpec rules always expire
};

// An incident: the columns the store indexes, the rest as a JSON document that the
// incident manager owns (classification, peaks, what to restore, evidence files).
struct IncidentRow {
  int64_t id = 0;
  int64_t opened_at = 0;
  int64_t closed_at = 0;  // 0 = open
  std::string data;       // JSON
};

struct TimelineEntry {
  int64_t at = 0;
  std::string actor;  // "floodgate" for the detector and playbook, else the caller
  std::string kind;   // detection, classification, action, undo, note, check, notify, ...
  std::string text;
};

struct CheckRecord {
  std::string item;  // e.g. "A3.evidence"
  int64_t checked_at = 0;
  std::string checked_by;
  std::string note;
};

class Store {
 public:
  // Creates the file (and its directory) when missing.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Inserts or replaces every record, all in one transaction. A large request whose
  // records share everything but the prefix (one `block --file`) is one row of its own.
  Status put_rules(const std::vector<RuleRecord>& rules);
  // Deletes these rules in one transaction; missing ones are ignored.
  Status delete_rules(RuleKind kind, const std::vector<Prefix>& prefixes);
  Result<std::vector<RuleRecord>> rules() const;

  Status put_announcement(const AnnouncementRecord& a);
  Status delete_announcement(const AnnouncementRecord& a);
  Result<std::vector<AnnouncementRecord>> announcements() const;

  Status put_flow(const FlowRecord& f);
  Status delete_flow(const FlowRecord& f);
  Result<std::vector<FlowRecord>> flows() const;

  Status set_setting(const std::string& key, const std::string& value);
  // Several settings, all or none.
  Status set_settings(const std::vector<std::pair<std::string, std::string>>& kv);
  std::optional<std::string> setting(const std::string& key) const;

  // Inserts these baseline rows, replacing those with the same (iface, hour, vector), in
  // one transaction.
  Status put_baselines(const std::vector<BaselineRow>& rows);
  Result<std::vector<BaselineRow>> baselines() const;

  Result<int64_t> create_incident(int64_t opened_at, const std::string& data);
  Status update_incident(const IncidentRow& row);
  // Newest first; `id` > 0: only that one.
  Result<std::vector<IncidentRow>> incidents(int64_t id = 0, size_t limit = 100) const;
  Status add_timeline(int64_t incident, const TimelineEntry& e);
  Result<std::vector<TimelineEntry>> timeline(int64_t incident) const;
  Status put_check(int64_t incident, const CheckRecord& c);
  Result<std::vector<CheckRecord>> checks(int64_t incident) const;

  Status audit(const AuditRecord& r);
  Result<std::vector<AuditRecord>> audit_log(size_t last_n) const;

 private:
  // Where a rule lives: a row of `rules` (0) or the id of its row in `rule_batches`.
  struct RuleKey {
    RuleKind kind;
    Prefix prefix;
    bool operator==(const RuleKey& o) const { return kind == o.kind && prefix == o.prefix; }
  };
  struct RuleKeyHash {
    size_t operator()(const RuleKey& k) const {
      return PrefixHash{}(k.prefix) ^ static_cast<size_t>(k.kind);
    }
  };
  using Where = absl::flat_hash_map<RuleKey, int64_t, RuleKeyHash>;

  explicit Store(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  // Runs `body` in one transaction: committed when it succeeds; rolled back, its error
  // prefixed with `failed`, when it or the commit fails. Callers hold mu_.
  Status transaction(const std::string& failed, const std::function<Status()>& body);
  Status load_where();
  Result<std::vector<std::pair<RuleRecord, int64_t>>> rules_with_location() const;
  // Inside a transaction: removes these rules from wherever they are stored.
  Status unstore(const std::vector<RuleKey>& keys);
  Status put_batch(const std::vector<RuleRecord>& rules);
  Status put_singles(const std::vector<RuleRecord>& rules);

  mutable std::mutex mu_;  // one connection, used from the API threads and the ticker
  sqlite3* db_;
  Where where_;  // every stored rule; changed only after its transaction committed
};

}  // namespace floodgate
