// SQLite persistence for rules, settings and the audit log.
#include "store.h"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>

#include "absl/container/flat_hash_set.h"

namespace floodgate {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS rules (
  kind TEXT NOT NULL,
  prefix TEXT NOT NULL,
  origin INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, prefix)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  origin INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  prefixes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS announcements (
  prefix TEXT NOT NULL,
  provider TEXT NOT NULL,
  blackhole INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  since INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  withdraw_asked INTEGER NOT NULL,
  PRIMARY KEY (prefix, provider, blackhole)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flowspec (
  rule TEXT NOT NULL,
  provider TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  since INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (rule, provider)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS baselines (
  iface TEXT NOT NULL,
  hour INTEGER NOT NULL,
  vector INTEGER NOT NULL,
  pps REAL NOT NULL,
  bps REAL NOT NULL,
  samples INTEGER NOT NULL,
  PRIMARY KEY (iface, hour, vector)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  opened_at INTEGER NOT NULL,
  closed_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS timeline (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
  incident INTEGER NOT NULL,
  item TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  checked_by TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (incident, item)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  result TEXT NOT NULL
);
)sql";

const char* kind_name(RuleKind k) { return k == RuleKind::kBlock ? "block" : "allow"; }
RuleKind kind_of(const std::string& name) {
  return name == "allow" ? RuleKind::kAllow : RuleKind::kBlock;
}

// Requests at least this large whose records differ only in the prefix are stored as one
// row of rule_batches: a row per prefix made a 100k-prefix block take ~170 ms in SQLite.
constexpr size_t kBatchMin = 256;

// A batch's prefixes: 16 address bytes (IPv4-mapped, as the maps have them), the length,
// and 4 or 6, per prefix.
constexpr size_t kPackedPrefix = 18;

void pack(const Prefix& p, std::string* out) {
  out->append(reinterpret_cast<const char*>(p.addr.w), sizeof(p.addr.w));
  out->push_back(static_cast<char>(p.len));
  out->push_back(p.v4 ? 4 : 6);
}

Prefix unpack(const unsigned char* b) {
  Prefix p;
  std::memcpy(p.addr.w, b, sizeof(p.addr.w));
  p.len = b[16];
  p.v4 = b[17] == 4;
  return p;
}

bool same_but_prefix(const RuleRecord& a, const RuleRecord& b) {
  return a.kind == b.kind && a.origin == b.origin && a.reason == b.reason &&
         a.created_by == b.created_by && a.created_at == b.created_at &&
         a.expires_at == b.expires_at;
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), -1, SQLITE_TRANSIENT);
  }
  void int64(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  std::string col_text(int i) const {
    const auto* t = sqlite3_column_text(s_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return failed_precondition("cannot open the state database " + path + ": " + msg +
                               "; check [daemon] state_db in the config and the directory's "
                               "permissions");
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Store> store(new Store(db));
  if (auto s = store->exec(kSchema); !s)
    return failed_precondition("state database " + path + ": " + s.error().message);
  if (auto s = store->load_where(); !s)
    return failed_precondition("state database " + path + ": " + s.error().message);
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Status Store::transaction(const std::string& failed, const std::function<Status()>& body) {
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  Status s = body();
  if (s) s = exec("COMMIT");
  if (s) return Ok{};
  (void)exec("ROLLBACK");  // the error reported is the first one
  return internal_error(failed + ": " + s.error().message);
}

Status Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) == SQLITE_OK) return Ok{};
  std::string msg = err ? err : "unknown error";
  sqlite3_free(err);
  return internal_error("sqlite: " + msg);
}

Status Store::load_where() {
  auto all = rules_with_location();
  if (!all.ok()) return all.error();
  where_.clear();
  where_.reserve(all->size());
  for (const auto& [r, loc] : *all) where_[{r.kind, r.prefix}] = loc;
  return Ok{};
}

Status Store::put_rules(const std::vector<RuleRecord>& rules) {
  if (rules.empty()) return Ok{};
  std::lock_guard lock(mu_);
  bool batch = rules.size() >= kBatchMin;
  for (size_t i = 1; batch && i < rules.size(); i++) batch = same_but_prefix(rules[0], rules[i]);
  std::vector<RuleKey> keys;
  keys.reserve(rules.size());
  for (const RuleRecord& r : rules) keys.push_back({r.kind, r.prefix});
  int64_t batch_id = 0;
  if (auto s = transaction("storing rules failed (nothing was stored)",
                           [&]() -> Status {
                             if (auto u = unstore(keys); !u) return u;
                             if (!batch) return put_singles(rules);
                             if (auto b = put_batch(rules); !b) return b;
                             batch_id = static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
                             return Ok{};
                           });
      !s)
    return s;
  where_.reserve(where_.size() + keys.size());  // one rehash, not one per doubling
  for (const RuleKey& k : keys) where_[k] = batch_id;
  return Ok{};
}

Status Store::put_singles(const std::vector<RuleRecord>& rules) {
  Stmt st(db_,
          "INSERT OR REPLACE INTO rules (kind, prefix, origin, reason, created_by, created_at, "
          "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const RuleRecord& r : rules) {
    st.text(1, kind_name(r.kind));
    st.text(2, r.prefix.str());
    st.int64(3, r.origin);
    st.text(4, r.reason);
    st.text(5, r.created_by);
    st.int64(6, r.created_at);
    st.int64(7, r.expires_at);
    if (!st || sqlite3_step(st.get()) != SQLITE_DONE) return internal_error(sqlite3_errmsg(db_));
    sqlite3_reset(st.get());
  }
  return Ok{};
}

Status Store::put_batch(const std::vector<RuleRecord>& rules) {
  std::string packed;
  packed.reserve(rules.size() * kPackedPrefix);
  for (const RuleRecord& r : rules) pack(r.prefix, &packed);
  const RuleRecord& r = rules[0];
  Stmt st(db_,
          "INSERT INTO rule_batches (kind, origin, reason, created_by, created_at, expires_at, "
          "prefixes) VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.text(1, kind_name(r.kind));
  st.int64(2, r.origin);
  st.text(3, r.reason);
  st.text(4, r.created_by);
  st.int64(5, r.created_at);
  st.int64(6, r.expires_at);
  st.blob(7, packed);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE) return internal_error(sqlite3_errmsg(db_));
  return Ok{};
}

Status Store::unstore(const std::vector<RuleKey>& keys) {
  Stmt del(db_, "DELETE FROM rules WHERE kind = ? AND prefix = ?");
  absl::flat_hash_map<int64_t, absl::flat_hash_set<Prefix, PrefixHash>> from_batches;
  for (const RuleKey& k : keys) {
    auto it = where_.find(k);
    if (it == where_.end()) continue;
    if (it->second > 0) {
      from_batches[it->second].insert(k.prefix);
      continue;
    }
    del.text(1, kind_name(k.kind));
    del.text(2, k.prefix.str());
    if (!del || sqlite3_step(del.get()) != SQLITE_DONE) return internal_error(sqlite3_errmsg(db_));
    sqlite3_reset(del.get());
  }
  // A batch loses some prefixes: rewritten without them, or deleted when none are left.
  for (const auto& [id, gone] : from_batches) {
    Stmt get(db_, "SELECT prefixes FROM rule_batches WHERE id = ?");
    get.int64(1, id);
    if (!get || sqlite3_step(get.get()) != SQLITE_ROW) return internal_error(sqlite3_errmsg(db_));
    const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(get.get(), 0));
    const size_t n = static_cast<size_t>(sqlite3_column_bytes(get.get(), 0)) / kPackedPrefix;
    std::string kept;
    kept.reserve(n * kPackedPrefix);
    for (size_t i = 0; i < n; i++)
      if (const Prefix p = unpack(b + i * kPackedPrefix); !gone.count(p)) pack(p, &kept);
    Stmt put(db_, kept.empty() ? "DELETE FROM rule_batches WHERE id = ?"
                               : "UPDATE rule_batches SET prefixes = ? WHERE id = ?");
    if (kept.empty()) {
      put.int64(1, id);
    } else {
      put.blob(1, kept);
      put.int64(2, id);
    }
    if (!put || sqlite3_step(put.get()) != SQLITE_DONE) return internal_error(sqlite3_errmsg(db_));
  }
  return Ok{};
}

Status Store::delete_rules(RuleKind kind, const std::vector<Prefix>& prefixes) {
  std::lock_guard lock(mu_);
  std::vector<RuleKey> keys;
  keys.reserve(prefixes.size());
  for (const Prefix& p : prefixes) keys.push_back({kind, p});
  if (auto s =
          transaction("deleting rules failed (nothing was deleted)", [&] { return unstore(keys); });
      !s)
    return s;
  for (const RuleKey& k : keys) where_.erase(k);
  return Ok{};
}

Result<std::vector<RuleRecord>> Store::rules() const {
  std::lock_guard lock(mu_);
  auto all = rules_with_location();
  if (!all.ok()) return all.error();
  std::vector<RuleRecord> out;
  out.reserve(all->size());
  for (auto& [r, loc] : *all) out.push_back(std::move(r));
  return out;
}

Result<std::vector<std::pair<RuleRecord, int64_t>>> Store::rules_with_location() const {
  std::vector<std::pair<RuleRecord, int64_t>> out;
  Stmt st(db_,
          "SELECT kind, prefix, origin, reason, created_by, created_at, expires_at FROM rules");
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    RuleRecord r;
    r.kind = kind_of(st.col_text(0));
    auto p = parse_prefix(st.col_text(1));
    if (!p.ok()) return internal_error("state database holds a bad prefix: " + p.error().message);
    r.prefix = *p;
    r.origin = static_cast<uint32_t>(sqlite3_column_int64(st.get(), 2));
    r.reason = st.col_text(3);
    r.created_by = st.col_text(4);
    r.created_at = sqlite3_column_int64(st.get(), 5);
    r.expires_at = sqlite3_column_int64(st.get(), 6);
    out.emplace_back(std::move(r), 0);
  }
  Stmt bt(db_,
          "SELECT id, kind, origin, reason, created_by, created_at, expires_at, prefixes "
          "FROM rule_batches");
  if (!bt) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  while (sqlite3_step(bt.get()) == SQLITE_ROW) {
    RuleRecord r;
    const int64_t id = sqlite3_column_int64(bt.get(), 0);
    r.kind = kind_of(bt.col_text(1));
    r.origin = static_cast<uint32_t>(sqlite3_column_int64(bt.get(), 2));
    r.reason = bt.col_text(3);
    r.created_by = bt.col_text(4);
    r.created_at = sqlite3_column_int64(bt.get(), 5);
    r.expires_at = sqlite3_column_int64(bt.get(), 6);
    const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(bt.get(), 7));
    const size_t n = static_cast<size_t>(sqlite3_column_bytes(bt.get(), 7)) / kPackedPrefix;
    for (size_t i = 0; i < n; i++) {
      r.prefix = unpack(b + i * kPackedPrefix);
      out.emplace_back(r, id);
    }
  }
  return out;
}

Status Store::put_announcement(const AnnouncementRecord& a) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO announcements (prefix, provider, blackhole, reason, "
          "created_by, since, expires_at, withdraw_asked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  st.text(1, a.prefix.str());
  st.text(2, a.provider);
  st.int64(3, a.blackhole);
  st.text(4, a.reason);
  st.text(5, a.created_by);
  st.int64(6, a.since);
  st.int64(7, a.expires_at);
  st.int64(8, a.withdraw_asked);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("storing an announcement: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Status Store::delete_announcement(const AnnouncementRecord& a) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM announcements WHERE prefix = ? AND provider = ? AND blackhole = ?");
  st.text(1, a.prefix.str());
  st.text(2, a.provider);
  st.int64(3, a.blackhole);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("deleting an announcement: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<AnnouncementRecord>> Store::announcements() const {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT prefix, provider, blackhole, reason, created_by, since, expires_at, "
          "withdraw_asked FROM announcements ORDER BY prefix, provider");
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<AnnouncementRecord> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    auto p = parse_prefix(st.col_text(0));
    if (!p.ok()) return internal_error("state database holds a bad prefix: " + p.error().message);
    out.push_back({*p, st.col_text(1), sqlite3_column_int64(st.get(), 2) != 0, st.col_text(3),
                   st.col_text(4), sqlite3_column_int64(st.get(), 5),
                   sqlite3_column_int64(st.get(), 6), sqlite3_column_int64(st.get(), 7)});
  }
  return out;
}

Status Store::put_flow(const FlowRecord& f) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO flowspec (rule, provider, reason, created_by, since, "
          "expires_at) VALUES (?, ?, ?, ?, ?, ?)");
  st.text(1, f.rule);
  st.text(2, f.provider);
  st.text(3, f.reason);
  st.text(4, f.created_by);
  st.int64(5, f.since);
  st.int64(6, f.expires_at);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("storing a FlowSpec rule: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Status Store::delete_flow(const FlowRecord& f) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM flowspec WHERE rule = ? AND provider = ?");
  st.text(1, f.rule);
  st.text(2, f.provider);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("deleting a FlowSpec rule: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<FlowRecord>> Store::flows() const {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT rule, provider, reason, created_by, since, expires_at FROM flowspec "
          "ORDER BY rule, provider");
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<FlowRecord> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back({st.col_text(0), st.col_text(1), st.col_text(2), st.col_text(3),
                   sqlite3_column_int64(st.get(), 4), sqlite3_column_int64(st.get(), 5)});
  return out;
}

Status Store::set_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)");
  st.text(1, key);
  st.text(2, value);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("storing setting ") + key + ": " + sqlite3_errmsg(db_));
  return Ok{};
}

Status Store::set_settings(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::lock_guard lock(mu_);
  return transaction("storing settings", [&]() -> Status {
    for (const auto& [key, value] : kv) {
      Stmt st(db_, "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)");
      st.text(1, key);
      st.text(2, value);
      if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
        return internal_error("setting " + key + ": " + sqlite3_errmsg(db_));
    }
    return Ok{};
  });
}

std::optional<std::string> Store::setting(const std::string& key) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT value FROM settings WHERE key = ?");
  st.text(1, key);
  if (st && sqlite3_step(st.get()) == SQLITE_ROW) return st.col_text(0);
  return std::nullopt;
}

Status Store::put_baselines(const std::vector<BaselineRow>& rows) {
  std::lock_guard lock(mu_);
  return transaction("storing baselines failed", [&]() -> Status {
    Stmt st(db_,
            "INSERT OR REPLACE INTO baselines (iface, hour, vector, pps, bps, samples) "
            "VALUES (?, ?, ?, ?, ?, ?)");
    for (const BaselineRow& r : rows) {
      st.text(1, r.iface);
      st.int64(2, r.hour);
      st.int64(3, r.vector);
      sqlite3_bind_double(st.get(), 4, r.cell.pps);
      sqlite3_bind_double(st.get(), 5, r.cell.bps);
      st.int64(6, static_cast<int64_t>(r.cell.samples));
      if (!st || sqlite3_step(st.get()) != SQLITE_DONE) return internal_error(sqlite3_errmsg(db_));
      sqlite3_reset(st.get());
    }
    return Ok{};
  });
}

Result<std::vector<BaselineRow>> Store::baselines() const {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT iface, hour, vector, pps, bps, samples FROM baselines");
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<BaselineRow> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back({st.col_text(0),
                   static_cast<int>(sqlite3_column_int64(st.get(), 1)),
                   static_cast<int>(sqlite3_column_int64(st.get(), 2)),
                   {sqlite3_column_double(st.get(), 3), sqlite3_column_double(st.get(), 4),
                    static_cast<uint64_t>(sqlite3_column_int64(st.get(), 5))}});
  return out;
}

Result<int64_t> Store::create_incident(int64_t opened_at, const std::string& data) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO incidents (opened_at, closed_at, data) VALUES (?, 0, ?)");
  st.int64(1, opened_at);
  st.text(2, data);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("storing an incident: ") + sqlite3_errmsg(db_));
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Status Store::update_incident(const IncidentRow& row) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE incidents SET closed_at = ?, data = ? WHERE id = ?");
  st.int64(1, row.closed_at);
  st.text(2, row.data);
  st.int64(3, row.id);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("updating an incident: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<IncidentRow>> Store::incidents(int64_t id, size_t limit) const {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT id, opened_at, closed_at, data FROM incidents WHERE ? = 0 OR id = ? "
          "ORDER BY id DESC LIMIT ?");
  st.int64(1, id);
  st.int64(2, id);
  st.int64(3, static_cast<int64_t>(limit));
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<IncidentRow> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back({sqlite3_column_int64(st.get(), 0), sqlite3_column_int64(st.get(), 1),
                   sqlite3_column_int64(st.get(), 2), st.col_text(3)});
  return out;
}

Status Store::add_timeline(int64_t incident, const TimelineEntry& e) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO timeline (incident, at, actor, kind, text) VALUES (?, ?, ?, ?, ?)");
  st.int64(1, incident);
  st.int64(2, e.at);
  st.text(3, e.actor);
  st.text(4, e.kind);
  st.text(5, e.text);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("writing the incident timeline: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<TimelineEntry>> Store::timeline(int64_t incident) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT at, actor, kind, text FROM timeline WHERE incident = ? ORDER BY id");
  st.int64(1, incident);
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<TimelineEntry> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back(
        {sqlite3_column_int64(st.get(), 0), st.col_text(1), st.col_text(2), st.col_text(3)});
  return out;
}

Status Store::put_check(int64_t incident, const CheckRecord& c) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT OR REPLACE INTO checks (incident, item, checked_at, checked_by, note) "
          "VALUES (?, ?, ?, ?, ?)");
  st.int64(1, incident);
  st.text(2, c.item);
  st.int64(3, c.checked_at);
  st.text(4, c.checked_by);
  st.text(5, c.note);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("storing a checklist item: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<CheckRecord>> Store::checks(int64_t incident) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT item, checked_at, checked_by, note FROM checks WHERE incident = ?");
  st.int64(1, incident);
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<CheckRecord> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back(
        {st.col_text(0), sqlite3_column_int64(st.get(), 1), st.col_text(2), st.col_text(3)});
  return out;
}

Status Store::audit(const AuditRecord& r) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO audit (at, who, action, detail, result) VALUES (?, ?, ?, ?, ?)");
  st.int64(1, r.at);
  st.text(2, r.who);
  st.text(3, r.action);
  st.text(4, r.detail);
  st.text(5, r.result);
  if (!st || sqlite3_step(st.get()) != SQLITE_DONE)
    return internal_error(std::string("writing the audit log: ") + sqlite3_errmsg(db_));
  return Ok{};
}

Result<std::vector<AuditRecord>> Store::audit_log(size_t last_n) const {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT at, who, action, detail, result FROM (SELECT * FROM audit ORDER BY id DESC "
          "LIMIT ?) ORDER BY id");
  st.int64(1, static_cast<int64_t>(last_n));
  if (!st) return internal_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
  std::vector<AuditRecord> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW)
    out.push_back({sqlite3_column_int64(st.get(), 0), st.col_text(1), st.col_text(2),
                   st.col_text(3), st.col_text(4)});
  return out;
}

}  // namespace floodgate
