// The store against a real SQLite file: large requests are one row of rule_batches, and
// replacing, deleting and reopening treat their prefixes exactly like single rules.
#include "store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

using namespace floodgate;

namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fgstore-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/state.db";
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = Store::open(path_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  // Rows of `table`, read with a connection of its own.
  int64_t rows(const char* table) const {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (std::string("SELECT COUNT(*) FROM ") + table).c_str(), -1, &st,
                       nullptr);
    const int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }
  // The stored rules by prefix text.
  std::map<std::string, RuleRecord> stored() const {
    std::map<std::string, RuleRecord> out;
    auto r = store_->rules();
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return out;
    for (const RuleRecord& x : *r)
      EXPECT_TRUE(out.emplace(x.prefix.str(), x).second) << "twice: " << x.prefix.str();
    return out;
  }
  static std::vector<RuleRecord> batch(uint32_t first, uint32_t n, const std::string& reason) {
    std::vector<RuleRecord> out;
    for (uint32_t i = first; i < first + n; i++) {
      RuleRecord r;
      r.prefix = *parse_prefix("10." + std::to_string(i >> 16) + "." +
                               std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255));
      r.reason = reason;
      r.created_by = "uid 0";
      r.created_at = 1000;
      r.expires_at = 5000;
      out.push_back(r);
    }
    return out;
  }

  std::string dir_, path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, ALargeRequestIsOneRowAndReadsBackWhole) {
  ASSERT_TRUE(store_->put_rules(batch(0, 1000, "list")).ok());
  EXPECT_EQ(rows("rule_batches"), 1);
  EXPECT_EQ(rows("rules"), 0);
  auto all = stored();
  ASSERT_EQ(all.size(), 1000u);
  const RuleRecord& r = all.at("10.0.3.231/32");
  EXPECT_EQ(r.reason, "list");
  EXPECT_EQ(r.created_by, "uid 0");
  EXPECT_EQ(r.expires_at, 5000);
  reopen();
  EXPECT_EQ(stored().size(), 1000u);
}

TEST_F(StoreTest, ASmallRequestOrMixedRecordsAreRowsOfTheirOwn) {
  ASSERT_TRUE(store_->put_rules(batch(0, 10, "few")).ok());
  auto mixed = batch(100, 1000, "mixed");
  mixed[7].expires_at = 9000;
  ASSERT_TRUE(store_->put_rules(mixed).ok());
  EXPECT_EQ(rows("rule_batches"), 0);
  EXPECT_EQ(rows("rules"), 1010);
  EXPECT_EQ(stored().at(mixed[7].prefix.str()).expires_at, 9000);
}

TEST_F(StoreTest, ReplacingAndDeletingPartOfABatchKeepTheRestAcrossReopens) {
  ASSERT_TRUE(store_->put_rules(batch(0, 1000, "list")).ok());
  // One prefix of the batch blocked again by hand: the new record wins, once.
  auto one = batch(5, 1, "by hand");
  ASSERT_TRUE(store_->put_rules(one).ok());
  auto all = stored();
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.at(one[0].prefix.str()).reason, "by hand");
  // A later, overlapping batch takes over the overlap.
  ASSERT_TRUE(store_->put_rules(batch(900, 300, "second")).ok());
  all = stored();
  ASSERT_EQ(all.size(), 1200u);
  EXPECT_EQ(all.at(batch(950, 1, "")[0].prefix.str()).reason, "second");
  EXPECT_EQ(all.at(batch(899, 1, "")[0].prefix.str()).reason, "list");
  // Deletions from the middle, then after a reopen (where each rule lives is reloaded).
  std::vector<Prefix> gone;
  for (const RuleRecord& r : batch(10, 20, "")) gone.push_back(r.prefix);
  gone.push_back(one[0].prefix);
  ASSERT_TRUE(store_->delete_rules(RuleKind::kBlock, gone).ok());
  EXPECT_EQ(stored().size(), 1179u);
  reopen();
  EXPECT_EQ(stored().size(), 1179u);
  EXPECT_EQ(stored().count(one[0].prefix.str()), 0u);
  std::vector<Prefix> rest;
  for (const auto& [text, r] : stored()) rest.push_back(r.prefix);
  ASSERT_TRUE(store_->delete_rules(RuleKind::kBlock, rest).ok());
  EXPECT_TRUE(stored().empty());
  EXPECT_EQ(rows("rule_batches"), 0) << "a batch with nothing left is deleted";
  EXPECT_EQ(rows("rules"), 0);
}

TEST_F(StoreTest, AllowAndBlockOfTheSamePrefixAreDifferentRules) {
  auto blocks = batch(0, 300, "b");
  auto allows = batch(0, 300, "a");
  for (RuleRecord& r : allows) r.kind = RuleKind::kAllow;
  ASSERT_TRUE(store_->put_rules(blocks).ok());
  ASSERT_TRUE(store_->put_rules(allows).ok());
  auto r = store_->rules();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 600u);
  ASSERT_TRUE(store_->delete_rules(RuleKind::kAllow, {allows[0].prefix}).ok());
  reopen();
  r = store_->rules();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 599u);
}

TEST_F(StoreTest, BaselineRowsAreUpsertedAndSurviveAReopen) {
  ASSERT_TRUE(
      store_->put_baselines({{"eth0", 3, 1, {1200.5, 9.6e6, 40}}, {"eth0", 4, 1, {800, 6.4e6, 12}}})
          .ok());
  ASSERT_TRUE(store_->put_baselines({{"eth0", 3, 1, {1300, 1e7, 41}}}).ok());
  reopen();
  auto rows = store_->baselines();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const BaselineRow& r : *rows) {
    EXPECT_EQ(r.iface, "eth0");
    if (r.hour == 3) {
      EXPECT_DOUBLE_EQ(r.cell.pps, 1300);
      EXPECT_EQ(r.cell.samples, 41u);
    } else {
      EXPECT_EQ(r.hour, 4);
      EXPECT_DOUBLE_EQ(r.cell.bps, 6.4e6);
    }
  }
}

}  // namespace
