// floodgated end to end: the real daemon on a veth in a test namespace, driven through
// floodgatectl and the gRPC API over its Unix socket, with real datagrams.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <thread>

#include "daemon_lab.h"
#include "test_util.h"

namespace floodgate::test {
namespace {

constexpr uint16_t kPort = 9999;
constexpr int kCount = 30;

class DaemonTest : public ::testing::Test {
 protected:
  virtual DaemonOptions options() const { return {}; }

  void SetUp() override {
    ASSERT_TRUE(have_bpf());
    ASSERT_TRUE(lab_.ok()) << "could not build the namespace lab";
    daemon_ = std::make_unique<DaemonLab>(lab_, options());
    ASSERT_TRUE(daemon_->start()) << "floodgated did not come up:\n" << daemon_->log();
    in_netns(lab_.ns_b, [&] { rx_ = udp_socket(NetnsLab::kAddrB, kPort); });
  }
  void TearDown() override {
    if (rx_ >= 0) close(rx_);
    if (HasFailure() && daemon_) std::printf("daemon log:\n%s\n", daemon_->log().c_str());
    daemon_.reset();
  }

  std::map<std::string, int> exchange() {
    send_datagrams(lab_.ns_a, {NetnsLab::kAddrA, NetnsLab::kAddrA2}, NetnsLab::kAddrB, kPort,
                   kCount);
    return receive_by_source(rx_);
  }

  std::string ctl_ok(const std::string& args) {
    std::string out;
    EXPECT_EQ(daemon_->ctl(args, &out), 0) << "floodgatectl " << args << ":\n" << out;
    return out;
  }

  NetnsLab lab_;
  std::unique_ptr<DaemonLab> daemon_;
  int rx_ = -1;
};

TEST_F(DaemonTest, BlockDropsTheSourceAndOnlyIt) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 10m --reason test");
  auto got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), 0);
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), kCount);
  const std::string list = ctl_ok("list");
  EXPECT_NE(list.find("198.18.100.1/32"), std::string::npos) << list;
  EXPECT_NE(list.find("test"), std::string::npos) << list;
  const std::string stats = ctl_ok("stats --json");
  EXPECT_NE(stats.find("\"blocked\""), std::string::npos);
  const std::string per = ctl_ok("stats --per-interface");
  EXPECT_NE(per.find(lab_.if_b + ":\nREASON"), std::string::npos) << per;
  EXPECT_NE(per.rfind("blocked                     0           30"), std::string::npos) << per;

  ctl_ok(std::string("unblock ") + NetnsLab::kAddrA);
  got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), kCount);
}

TEST_F(DaemonTest, StatsGiveRatesInTotalAndPerInterface) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // a sample before the traffic
  exchange();
  v1::GetStatsResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().GetStats(&ctx, {}, &r).ok());
  ASSERT_EQ(r.interfaces_size(), 1);
  EXPECT_EQ(r.interfaces(0).name(), lab_.if_b);
  double total = -1, per = -2;
  for (const auto& s : r.reasons())
    if (s.reason() == "blocked") total = s.packets_per_second();
  for (const auto& s : r.interfaces(0).reasons())
    if (s.reason() == "blocked") {
      per = s.packets_per_second();
      EXPECT_EQ(s.drop_packets(), static_cast<uint64_t>(kCount));
    }
  EXPECT_GT(total, 0.0);
  EXPECT_DOUBLE_EQ(per, total) << "one interface: its rate is the total";
}

TEST_F(DaemonTest, MonitorModeCountsAndProtectOnDrops) {
  ctl_ok(std::string("block ") + NetnsLab::kAddrA);
  auto got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), kCount) << "monitor mode must not drop";
  std::string out = ctl_ok("status");
  EXPECT_NE(out.find("monitor"), std::string::npos) << out;
  out = ctl_ok("protect on");
  EXPECT_NE(out.find("enforce (was monitor)"), std::string::npos) << out;
  got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), 0);
  ctl_ok("mode monitor");
  got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), kCount);
}

TEST_F(DaemonTest, AllowListWinsOverBlocks) {
  ctl_ok("protect on");
  ctl_ok("block 198.18.100.0/24 --force");
  ctl_ok(std::string("allow ") + NetnsLab::kAddrA2 + " --reason monitoring");
  {
    v1::GetStatusResponse st;
    grpc::ClientContext ctx;
    ASSERT_TRUE(daemon_->api().GetStatus(&ctx, {}, &st).ok());
    EXPECT_EQ(st.block_rules(), 1u);
    EXPECT_EQ(st.allow_rules(), 1u);
  }
  auto got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), 0);
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), kCount);
  ctl_ok(std::string("disallow ") + NetnsLab::kAddrA2);
  got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), 0);
  // Allowing a range that holds blocks says which blocks it overrides.
  ctl_ok("block 198.18.255.255 198.19.0.0 198.17.255.255 2001:db8::1");
  const std::string out = ctl_ok("allow 198.18.0.0/16");
  EXPECT_NE(out.find("2 block(s) inside what you allowed now drop nothing (allow wins): "
                     "198.18.100.0/24, 198.18.255.255/32\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(ctl_ok("allow 2001:db8::/64").find("198."), std::string::npos);
}

// "Why is this source dropped?": explain names the deciding rule, what else covers the
// source, and its rate-limit and reputation state as the program keeps it.
TEST_F(DaemonTest, ExplainSaysWhichRuleDecidesAndWhatTheLimitsSee) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --reason 'incident 7'");
  ctl_ok("block 198.18.0.0/16 --ttl 10m");
  std::string out = ctl_ok(std::string("explain ") + NetnsLab::kAddrA);
  EXPECT_NE(out.find("verdict:      DROPPED by the block list (198.18.100.1/32)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"incident 7\""), std::string::npos) << out;
  EXPECT_NE(out.find("198.18.0.0/16 (by "), std::string::npos) << out;
  EXPECT_NE(out.find("floodgatectl unblock 198.18.100.1/32 198.18.0.0/16"), std::string::npos)
      << out;
  ctl_ok("unblock 198.18.100.1 198.18.0.0/16");
  // A source over its UDP limit: one packet a second, burst one.
  ctl_ok("threshold udp-packets --rate 1 --burst 1");
  std::string before;
  ASSERT_EQ(daemon_->ctl(std::string("explain ") + NetnsLab::kAddrA2, &before), 0);
  EXPECT_NE(before.find("verdict:      not on any list"), std::string::npos) << before;
  const auto got = exchange();
  EXPECT_LT(count_of(got, NetnsLab::kAddrA2), kCount);
  out = ctl_ok(std::string("explain ") + NetnsLab::kAddrA2);
  EXPECT_NE(out.find("counted as 198.18.100.3/32; OVER the udp_packets limit now"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(std::to_string(kCount - count_of(got, NetnsLab::kAddrA2)) + " so far"),
            std::string::npos)
      << "every dropped datagram was one violation:\n"
      << out;
  // An allow entry decides before anything else.
  ctl_ok("allow 198.18.100.0/24");
  out = ctl_ok(std::string("explain ") + NetnsLab::kAddrA2);
  EXPECT_NE(out.find("PASSES: allow-listed by 198.18.100.0/24"), std::string::npos) << out;
  std::string bad;
  EXPECT_EQ(daemon_->ctl("explain 198.18.0.0/16", &bad), 1);
  EXPECT_NE(bad.find("give one address"), std::string::npos) << bad;
}

// A partner allowed for the incident only: when the allow entry expires, the block
// behind it drops again.
TEST_F(DaemonTest, ATemporaryAllowExpiresAndTheBlockBehindItDropsAgain) {
  ctl_ok("protect on");
  ctl_ok("block 198.18.100.0/24 --force");
  const std::string out = ctl_ok(std::string("allow ") + NetnsLab::kAddrA2 + " --ttl 2s");
  EXPECT_NE(out.find("allowed 198.18.100.3/32 (expires in "), std::string::npos) << out;
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), kCount);
  std::string bad;
  EXPECT_EQ(daemon_->ctl("allow 198.18.7.7 --ttl 30d", &bad), 1);
  EXPECT_NE(bad.find("exceeds the maximum 7d"), std::string::npos) << bad;
  bool gone = false;
  for (int i = 0; i < 60 && !gone; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = ctl_ok("list --allow").find("198.18.100.3/32") == std::string::npos;
  }
  EXPECT_TRUE(gone) << "the allow entry did not expire";
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), 0);
}

// A new amplification vector (here UDP from port 37810) is added at run time, survives a
// restart, and can be taken out again.
TEST_F(DaemonTest, ReflectionPortsChangeAtRunTimeAndSurviveARestart) {
  ctl_ok("protect on");
  auto from_37810 = [&] {
    send_datagrams(lab_.ns_a, {NetnsLab::kAddrA}, NetnsLab::kAddrB, kPort, kCount, 37810);
    return count_of(receive_by_source(rx_), NetnsLab::kAddrA);
  };
  EXPECT_EQ(from_37810(), kCount) << "37810 is not an amplifier port by default";
  std::string out = ctl_ok("reflection add 37810");
  EXPECT_NE(out.find("reflection filter: on; UDP from source ports 19,53,"), std::string::npos)
      << out;
  EXPECT_NE(out.find(",11211,37810 is dropped"), std::string::npos) << out;
  EXPECT_EQ(from_37810(), 0);
  daemon_->kill_daemon(SIGTERM);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_NE(ctl_ok("reflection").find(",37810 is dropped"), std::string::npos);
  EXPECT_EQ(from_37810(), 0) << "the port survives a restart";
  ctl_ok("reflection remove 37810");
  EXPECT_EQ(from_37810(), kCount);
  ctl_ok("reflection add 37810");
  ctl_ok("reflection off");
  EXPECT_EQ(from_37810(), kCount) << "the filter is off";
  ctl_ok("reflection on");
  EXPECT_EQ(from_37810(), 0);
  std::string bad;
  EXPECT_EQ(daemon_->ctl("reflection add 70000", &bad), 1);
  EXPECT_NE(bad.find("not a UDP port"), std::string::npos) << bad;
  EXPECT_EQ(daemon_->ctl("reflection add", &bad), 2);
  EXPECT_NE(ctl_ok("policy").find("37810"), std::string::npos);
}

TEST_F(DaemonTest, BlocksExpireAfterTheirTtl) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 2s");
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0);
  bool gone = false;
  for (int i = 0; i < 60 && !gone; i++) {  // the daemon expires rules once a second
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = ctl_ok("list").find("198.18.100.1/32") == std::string::npos;
  }
  EXPECT_TRUE(gone) << "the expired block is still listed";
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), kCount);
}

TEST_F(DaemonTest, BatchOf100kIsAppliedWhole) {
  const std::string file = daemon_->dir() + "/batch.txt";
  {
    std::ofstream f(file);
    f << "# the batch, one prefix a line\n";
    for (uint32_t i = 0; i < 100'000; i++)
      f << "10." << (i >> 16) << "." << ((i >> 8) & 255) << "." << (i & 255) << "  # host " << i
        << "\n";
    f << NetnsLab::kAddrA << "\n";
  }
  ctl_ok("protect on");
  const std::string out = ctl_ok("block --file " + file + " --ttl 1h");
  EXPECT_NE(out.find("blocked 100001 prefixes"), std::string::npos) << out;
  v1::GetStatusResponse st;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().GetStatus(&ctx, {}, &st).ok());
  EXPECT_EQ(st.block_rules(), 100'001u);
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0);
}

// A batch that expires together goes in one store transaction with one audit line (one
// commit per prefix used to hold every command up for seconds per 10k prefixes).
TEST_F(DaemonTest, ABatchExpiresTogetherInOneAuditLine) {
  v1::BlockRequest req;
  for (int i = 0; i < 5000; i++)
    req.add_prefixes("10.60." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  req.mutable_ttl()->set_seconds(2);
  v1::BlockResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().Block(&ctx, req, &resp).ok());
  uint64_t left = 1;
  for (int i = 0; i < 100 && left; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    v1::GetStatusResponse st;
    grpc::ClientContext c2;
    ASSERT_TRUE(daemon_->api().GetStatus(&c2, {}, &st).ok());
    left = st.block_rules();
  }
  ASSERT_EQ(left, 0u) << "the batch did not expire";
  sqlite3* db = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2((daemon_->dir() + "/state.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT count(*), max(detail) FROM audit WHERE action = 'expire'", -1,
                         &st, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);
  const auto* detail = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  EXPECT_NE(std::string(detail ? detail : "").find("... and 4990 more"), std::string::npos);
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_EQ(daemon_->log().find("expired 10.60."), std::string::npos) << "one line, not 5000";
}

// The expiry index keeps a rule's old second when it is renewed or lifted and blocked
// again; neither may expire at the old time.
TEST_F(DaemonTest, ARenewedBlockDoesNotExpireAtItsOldTime) {
  // 5000 lifted rules leave 5000 stale entries: the next block rebuilds the index.
  const std::string file = daemon_->dir() + "/5000.txt";
  {
    std::ofstream f(file);
    for (int i = 0; i < 5000; i++) f << "10.70." << i / 256 << "." << i % 256 << "\n";
  }
  ctl_ok("block --file " + file + " --ttl 1h");
  ctl_ok("unblock --file " + file);
  ctl_ok("block 198.18.9.1 198.18.9.2 198.18.9.3 --ttl 2s");
  ctl_ok("block 198.18.9.1 --ttl 1h");                           // renewed
  ctl_ok("unblock 198.18.9.2");                                  // lifted ...
  ctl_ok("block 198.18.9.2 --ttl 1h");                           // ... and blocked again
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past the old second
  const std::string out = ctl_ok("list --block");
  EXPECT_NE(out.find("198.18.9.1/32"), std::string::npos) << out;
  EXPECT_NE(out.find("198.18.9.2/32"), std::string::npos) << out;
  EXPECT_EQ(out.find("198.18.9.3/32"), std::string::npos) << "this one was due:\n" << out;
}

TEST_F(DaemonTest, BadBatchAppliesNothing) {
  v1::BlockRequest req;
  for (int i = 1; i <= 1000; i++)
    req.add_prefixes("10.9." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  req.add_prefixes("10.9.0.0/15");  // host bits set: the whole request must fail
  v1::BlockResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status s = daemon_->api().Block(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("#1001: '10.9.0.0/15' has host bits set; did you mean "
                                   "10.8.0.0/15?"),
            std::string::npos)
      << s.error_message();
  v1::ListRulesResponse list;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(daemon_->api().ListRules(&ctx2, {}, &list).ok());
  EXPECT_EQ(list.rules_size(), 0);
  // Unblocking thousands that are not there: the message names a few and counts them all
  // (listing every one made a status too big for gRPC's header limit, and the operator
  // saw only "received initial metadata size exceeds limit").
  v1::UnblockRequest un;
  for (int i = 0; i < 2000; i++)
    un.add_prefixes("10.9." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  v1::UnblockResponse un_resp;
  grpc::ClientContext ctx3;
  const grpc::Status missing = daemon_->api().Unblock(&ctx3, un, &un_resp);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
  EXPECT_NE(missing.error_message().find("2000 of 2000 prefixes have no block: 10.9.0.0/32 "),
            std::string::npos)
      << missing.error_message();
  EXPECT_NE(missing.error_message().find("... and 1990 more; nothing was removed"),
            std::string::npos)
      << missing.error_message();
  // A feed sync lifts what is there and skips the rest.
  ctl_ok("block 10.9.0.1 10.9.0.2");
  std::string out;
  ASSERT_EQ(daemon_->ctl("unblock 10.9.0.1 10.9.0.2 10.9.0.3", &out), 1) << out;
  EXPECT_NE(out.find("--ignore-missing lifts the others"), std::string::npos) << out;
  ASSERT_EQ(daemon_->ctl("unblock 10.9.0.1 10.9.0.2 10.9.0.3 --ignore-missing", &out), 0) << out;
  EXPECT_NE(out.find("unblocked 2 prefix(es)\nskipped 1 that had no block (e.g. 10.9.0.3/32)"),
            std::string::npos)
      << out;
  ASSERT_EQ(daemon_->ctl("unblock 10.9.0.1 --ignore-missing", &out), 0) << out;
  EXPECT_NE(out.find("unblocked 0 prefix(es)"), std::string::npos) << out;
  EXPECT_EQ(ctl_ok("list --block").find("10.9.0."), std::string::npos);
}

struct Refusal {
  const char* name;
  std::function<grpc::Status(v1::FloodgateService::Stub&)> call;
  grpc::StatusCode code;
  const char* message_part;
};

grpc::Status block(v1::FloodgateService::Stub& api, std::vector<std::string> prefixes,
                   int64_t ttl = 0, bool force = false) {
  v1::BlockRequest req;
  for (auto& p : prefixes) req.add_prefixes(p);
  if (ttl) req.mutable_ttl()->set_seconds(ttl);
  req.set_force(force);
  v1::BlockResponse resp;
  grpc::ClientContext ctx;
  return api.Block(&ctx, req, &resp);
}

TEST_F(DaemonTest, EveryRefusalHasItsCodeAndAMessageThatSaysWhatToDo) {
  {
    v1::AllowRequest req;
    req.add_prefixes("198.18.200.0/24");
    v1::AllowResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(daemon_->api().Allow(&ctx, req, &resp).ok());
  }
  using C = grpc::StatusCode;
  const std::vector<Refusal> cases = {
      {"not an address", [](auto& a) { return block(a, {"eth0"}); }, C::INVALID_ARGUMENT,
       "is not an IPv4 or IPv6 address"},
      {"host bits", [](auto& a) { return block(a, {"198.18.100.5/24"}); }, C::INVALID_ARGUMENT,
       "did you mean 198.18.100.0/24?"},
      {"length", [](auto& a) { return block(a, {"198.18.0.0/33"}); }, C::INVALID_ARGUMENT, "0..32"},
      {"/0", [](auto& a) { return block(a, {"0.0.0.0/0"}, 0, true); }, C::INVALID_ARGUMENT,
       "every IPv4 address"},
      {"v6 /0", [](auto& a) { return block(a, {"::/0"}, 0, true); }, C::INVALID_ARGUMENT,
       "every IPv6 address"},
      {"too short", [](auto& a) { return block(a, {"10.0.0.0/8"}); }, C::INVALID_ARGUMENT,
       "give --force"},
      {"ttl above max", [](auto& a) { return block(a, {"198.18.9.9"}, 30 * 86400); },
       C::INVALID_ARGUMENT, "exceeds the maximum 7d"},
      {"inside allow", [](auto& a) { return block(a, {"198.18.200.7"}); }, C::FAILED_PRECONDITION,
       "floodgatectl disallow 198.18.200.0/24"},
      {"empty", [](auto& a) { return block(a, {}); }, C::INVALID_ARGUMENT, "at least one prefix"},
      {"unblock missing",
       [](auto& a) {
         v1::UnblockRequest req;
         req.add_prefixes("198.18.77.77");
         v1::UnblockResponse resp;
         grpc::ClientContext ctx;
         return a.Unblock(&ctx, req, &resp);
       },
       C::NOT_FOUND, "no block for 198.18.77.77/32"},
      {"disallow missing",
       [](auto& a) {
         v1::DisallowRequest req;
         req.add_prefixes("198.18.77.0/24");
         v1::DisallowResponse resp;
         grpc::ClientContext ctx;
         return a.Disallow(&ctx, req, &resp);
       },
       C::NOT_FOUND, "no allow entry"},
      {"mode unspecified",
       [](auto& a) {
         v1::SetModeRequest req;
         v1::SetModeResponse resp;
         grpc::ClientContext ctx;
         return a.SetMode(&ctx, req, &resp);
       },
       C::INVALID_ARGUMENT, "MODE_MONITOR or MODE_ENFORCE"},
      {"mode unknown value",
       [](auto& a) {
         v1::SetModeRequest req;
         req.set_mode(static_cast<v1::Mode>(42));
         v1::SetModeResponse resp;
         grpc::ClientContext ctx;
         return a.SetMode(&ctx, req, &resp);
       },
       C::INVALID_ARGUMENT, "MODE_MONITOR or MODE_ENFORCE"},
      {"list kind unknown",
       [](auto& a) {
         v1::ListRulesRequest req;
         req.set_kind(static_cast<v1::RuleKind>(9));
         v1::ListRulesResponse resp;
         grpc::ClientContext ctx;
         return a.ListRules(&ctx, req, &resp);
       },
       C::INVALID_ARGUMENT, "unknown rule kind"},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.name);
    const grpc::Status s = c.call(daemon_->api());
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_NE(s.error_message().find(c.message_part), std::string::npos) << s.error_message();
  }
  // --force is the expert override where it makes sense.
  EXPECT_TRUE(block(daemon_->api(), {"10.0.0.0/8"}, 0, true).ok());
  // The CLI prints the server's message and exits 1; bad usage exits 2.
  std::string out;
  EXPECT_EQ(daemon_->ctl("block 198.18.100.5/24", &out), 1);
  EXPECT_NE(out.find("did you mean 198.18.100.0/24?"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("block 198.18.1.1 --ttl soon", &out), 2);
  EXPECT_NE(out.find("not a duration"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("mode loud", &out), 2);
  // A file is checked whole before anything is sent: every bad line by its number.
  const std::string file = daemon_->dir() + "/bad-lines.txt";
  std::ofstream(file) << "# incident 7\n198.18.7.1\n\nnot-an-address  # typo\n198.18.7.0/16\n";
  EXPECT_EQ(daemon_->ctl("block --file " + file, &out), 1);
  EXPECT_NE(out.find("2 of 3 prefixes are not valid"), std::string::npos) << out;
  EXPECT_NE(out.find(file + ":4: 'not-an-address'"), std::string::npos) << out;
  EXPECT_NE(out.find(file + ":5: '198.18.7.0/16' has host bits set"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("block --file " + daemon_->dir() + "/missing.txt", &out), 2);
  EXPECT_NE(out.find("No such file"), std::string::npos) << out;
  std::ofstream(daemon_->dir() + "/empty.txt") << "# nothing yet\n";
  EXPECT_EQ(daemon_->ctl("block --file " + daemon_->dir() + "/empty.txt", &out), 2);
  EXPECT_NE(out.find("holds no prefixes"), std::string::npos) << out;
  v1::GetStatusResponse st;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().GetStatus(&ctx, {}, &st).ok());
  EXPECT_EQ(st.block_rules(), 1u) << "only the forced 10.0.0.0/8";
}

TEST_F(DaemonTest, KillNineNeverLetsABlockedSourceThroughAndRestartRestoresRules) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 1h");
  ctl_ok("block 198.18.50.0/24 --ttl 2h");
  // The blocked source sends throughout the crash and the restart.
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    while (!stop) send_datagrams(lab_.ns_a, {NetnsLab::kAddrA}, NetnsLab::kAddrB, kPort, 10);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  daemon_->kill_daemon(SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const bool restarted = daemon_->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  sender.join();
  ASSERT_TRUE(restarted) << daemon_->log();
  EXPECT_EQ(count_of(receive_by_source(rx_), NetnsLab::kAddrA), 0)
      << "a packet from the blocked source got through during crash or restart";
  v1::ListRulesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().ListRules(&ctx, {}, &list).ok());
  ASSERT_EQ(list.rules_size(), 2);
  const int64_t now = std::time(nullptr);
  for (const auto& r : list.rules()) {
    const int64_t left = r.expires_at().seconds() - now;
    const int64_t ttl = r.prefix() == "198.18.50.0/24" ? 7200 : 3600;
    EXPECT_GT(left, ttl - 60) << r.prefix();
    EXPECT_LE(left, ttl) << r.prefix();
  }
  EXPECT_GT(list.rules(0).hits() + list.rules(1).hits(), 0u) << "hit counters survive";
  std::string out = ctl_ok("status");
  EXPECT_NE(out.find("adopted"), std::string::npos) << out;
  EXPECT_NE(out.find("enforce"), std::string::npos) << "the mode survives a restart:\n" << out;
}

// After a reboot the kernel has forgotten the maps: the store puts every rule back.
TEST_F(DaemonTest, AfterARebootTheStorePutsEveryRuleBack) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 1h");
  ctl_ok("block 198.18.60.0/24");
  ctl_ok("allow 198.18.100.3");
  daemon_->kill_daemon(SIGTERM);
  ASSERT_EQ(daemon_->unload(), 0);
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), kCount) << "nothing filters now";
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_NE(daemon_->log().find("re-added 2 blocks missing from the maps"), std::string::npos)
      << daemon_->log();
  const auto got = exchange();
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA), 0) << "the block is back";
  EXPECT_EQ(count_of(got, NetnsLab::kAddrA2), kCount);
  const std::string out = ctl_ok(std::string("explain ") + NetnsLab::kAddrA2);
  EXPECT_NE(out.find("allow-listed by 198.18.100.3/32"), std::string::npos) << out;
  EXPECT_NE(ctl_ok("status").find("mode:       enforce"), std::string::npos);
}

// The pins are gone but the program is still attached (someone removed the pin
// directory, or bpffs was mounted again): a restarted daemon must not adopt that program,
// whose maps it no longer has (every later command would be ignored). It swaps in its
// own, on maps that the store refilled, without a gap.
TEST_F(DaemonTest, AProgramWhoseMapsAreNoLongerPinnedIsReplacedNotAdopted) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 1h");
  daemon_->kill_daemon(SIGTERM);
  daemon_->remove_pins();
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0) << "the program still filters";
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(daemon_->log().find("adopted from the previous run"), std::string::npos)
      << daemon_->log();
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0) << "the block is back";
  ctl_ok(std::string("unblock ") + NetnsLab::kAddrA);
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), kCount) << "the unblock took effect";
}

// A restarted daemon reconciles the pinned block map with its store: an operator entry
// nobody recorded (written while it was down) goes, an auto-block is kept and recorded,
// and the prefix lengths in use are read back from the maps.
TEST_F(DaemonTest, AtRestartUnrecordedBlocksGoAndAutoBlocksAreKept) {
  ctl_ok("protect on");
  ctl_ok("block 198.18.60.1 --ttl 1h");
  ctl_ok("block 198.18.100.0/24 --ttl 1h");  // a length of its own: the program must probe it
  daemon_->kill_daemon(SIGTERM);
  const int fd = bpf_obj_get((daemon_->pin_dir() + "/block").c_str());
  ASSERT_GE(fd, 0) << daemon_->pin_dir();
  const fg_lpm_key stray = parse_prefix("198.18.61.1")->lpm_key();
  const fg_lpm_key autob = parse_prefix("198.18.62.1")->lpm_key();
  const fg_block operator_entry{0, 0, FG_ORIGIN_OPERATOR, 0};
  const fg_block auto_entry{monotonic_ns() + 3600 * 1'000'000'000ull, 0, FG_ORIGIN_REPUTATION, 0};
  ASSERT_EQ(bpf_map_update_elem(fd, &stray, &operator_entry, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(fd, &autob, &auto_entry, BPF_ANY), 0);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  fg_block v{};
  const fg_lpm_key recorded = parse_prefix("198.18.60.1")->lpm_key();
  EXPECT_EQ(bpf_map_lookup_elem(fd, &recorded, &v), 0) << "the recorded block left the map";
  EXPECT_NE(bpf_map_lookup_elem(fd, &stray, &v), 0) << "the unrecorded entry is still in the map";
  EXPECT_EQ(bpf_map_lookup_elem(fd, &autob, &v), 0) << "the auto-block was removed";
  close(fd);
  EXPECT_NE(daemon_->log().find("removed unrecorded block 198.18.61.1/32"), std::string::npos)
      << daemon_->log();
  v1::ListRulesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().ListRules(&ctx, {}, &list).ok());
  std::map<std::string, v1::RuleOrigin> rules;
  for (const auto& r : list.rules()) rules[r.prefix()] = r.origin();
  EXPECT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules["198.18.60.1/32"], v1::RULE_ORIGIN_OPERATOR);
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0) << "the /24 block no longer drops";
  EXPECT_EQ(rules["198.18.62.1/32"], v1::RULE_ORIGIN_REPUTATION);
}

// The block list's prefilter after many unblocks: the daemon's tick clears the removed
// entries' bits (the fill falls) and a block still in force keeps dropping.
TEST_F(DaemonTest, ManyUnblocksGetTheFilterTidiedAndRemainingBlocksStillDrop) {
  auto fill = [&] {
    const std::string m = scrape_metrics(lab_.ns_b);
    const std::string key = "floodgate_list_filter_fill{list=\"block\"} ";
    const size_t at = m.find(key);
    return at == std::string::npos ? -1.0 : std::stod(m.substr(at + key.size()));
  };
  const std::string hosts = daemon_->dir() + "/hosts.txt";
  {
    std::ofstream f(hosts);
    for (uint32_t i = 0; i < 5000; i++)
      f << "10.7." << ((i >> 8) & 255) << "." << (i & 255) << "\n";
  }
  ctl_ok("protect on");
  ctl_ok("block --file " + hosts + " --ttl 1h");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA);
  const double full = fill();
  ASSERT_GT(full, 0.0) << scrape_metrics(lab_.ns_b);
  ctl_ok("unblock --file " + hosts);
  // Tidied on a 5-second tick once 4096 entries went: wait for it, generously.
  double now = full;
  for (int i = 0; i < 300 && now >= full; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now = fill();
  }
  EXPECT_LT(now, full / 10) << "the removed entries' bits were not cleared";
  EXPECT_GT(now, 0.0) << "the block still in force has its bit";
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0);
}

TEST_F(DaemonTest, MetricsShowDropsRulesModeAndAttachment) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA);
  exchange();
  const std::string m = scrape_metrics(lab_.ns_b);
  ASSERT_NE(m.find("200 OK"), std::string::npos) << m;
  EXPECT_NE(m.find("floodgate_packets_total{reason=\"blocked\",verdict=\"drop\"} " +
                   std::to_string(kCount)),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("floodgate_rules{kind=\"block\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("floodgate_enforcing 1"), std::string::npos) << m;
  EXPECT_NE(m.find("floodgate_attached{interface=\"" + lab_.if_b + "\",mode=\"native\"} 1"),
            std::string::npos)
      << m;
  // Detection: the default floor is the SYN threshold until a baseline is learned.
  EXPECT_NE(m.find("floodgate_flood_threshold_packets_per_second{interface=\"" + lab_.if_b +
                   "\",vector=\"syn\"} 2000"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("floodgate_traffic_packets_per_second{interface=\"" + lab_.if_b +
                   "\",vector=\"udp\"}"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("floodgate_incident_open 0"), std::string::npos) << m;
}

TEST_F(DaemonTest, WatchStreamsRuleAndModeEventsInOrder) {
  grpc::ClientContext ctx;
  auto stream = daemon_->api().WatchEvents(&ctx, v1::WatchEventsRequest{});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // subscribed before acting
  ctl_ok(std::string("block ") + NetnsLab::kAddrA + " --ttl 1h --reason watch-test");
  ctl_ok(std::string("unblock ") + NetnsLab::kAddrA);
  ctl_ok("protect on");
  std::vector<v1::WatchEventsResponse> got(3);
  for (auto& m : got) ASSERT_TRUE(stream->Read(&m));
  EXPECT_EQ(got[0].event().kind(), v1::EVENT_KIND_BLOCK);
  EXPECT_EQ(got[0].event().subject(), "198.18.100.1/32");
  EXPECT_NE(got[0].event().detail().find("watch-test"), std::string::npos);
  // The actor is what the kernel says about the floodgatectl process (SO_PEERCRED).
  EXPECT_NE(got[0].event().actor().find("root (uid 0, pid "), std::string::npos)
      << got[0].event().actor();
  EXPECT_EQ(got[1].event().kind(), v1::EVENT_KIND_UNBLOCK);
  EXPECT_EQ(got[2].event().kind(), v1::EVENT_KIND_MODE);
  EXPECT_EQ(got[2].event().subject(), "enforce");
  ctx.TryCancel();
  stream->Finish();
}

TEST_F(DaemonTest, SocketIsForRootAndItsGroupOnly) {
  struct stat st {};
  ASSERT_EQ(stat((daemon_->dir() + "/floodgate.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(DaemonTest, PortPolicyDropsWhatIsNotOfferedAndSurvivesRestart) {
  ctl_ok("protect on");
  ctl_ok("policy udp --default drop --allow 9999");
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), kCount) << "9999 is allowed";
  std::string out = ctl_ok("policy udp --allow 53");
  EXPECT_NE(out.find("udp: default drop, allowed 53"), std::string::npos) << out;
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), 0) << "9999 is no longer offered";
  daemon_->kill_daemon(SIGTERM);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), 0) << "the policy survives a restart";
  out = ctl_ok("policy");
  EXPECT_NE(out.find("udp      drop     53"), std::string::npos) << out;
  const std::string stats = ctl_ok("stats --json");
  EXPECT_NE(stats.find("\"policy\""), std::string::npos);
}

TEST_F(DaemonTest, PolicyThatWouldCutOffManagementNeedsForce) {
  std::string out;
  EXPECT_EQ(daemon_->ctl("policy tcp --default drop --allow 443", &out), 1);
  EXPECT_NE(out.find("would cut off remote management"), std::string::npos) << out;
  EXPECT_NE(out.find("22"), std::string::npos) << out;
  ctl_ok("policy tcp --default drop --allow 22,443");
  ctl_ok("policy tcp --default drop --allow 443 --force");
  EXPECT_EQ(daemon_->ctl("policy icmp --allow 300", &out), 1);
  EXPECT_NE(out.find("out of range (0..255, ICMP types)"), std::string::npos) << out;
  EXPECT_EQ(daemon_->ctl("policy udp --allow 53 --deny 53", &out), 1);
  EXPECT_NE(out.find("on both the allow and the deny list"), std::string::npos) << out;
}

TEST_F(DaemonTest, ThresholdChangesApplyAtOnce) {
  ctl_ok("protect on");
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), kCount) << "default limits let this through";
  const std::string out = ctl_ok("threshold udp-packets --rate 10 --burst 5");
  EXPECT_NE(out.find("per source: 10/s, burst 5"), std::string::npos) << out;
  const int got = count_of(exchange(), NetnsLab::kAddrA2);
  EXPECT_GE(got, 5) << "the burst passes";
  EXPECT_LT(got, kCount) << "the rest is limited";
  const std::string policy = ctl_ok("policy");
  EXPECT_NE(policy.find("udp_packets  per source                   10              5"),
            std::string::npos)
      << policy;
}

// TCP connection attempts from `src` in namespace a to dst:port: one SYN each (the
// port is closed, so each attempt ends with a RST or a drop).
void syns(const std::string& ns, const char* src, const char* dst, uint16_t port, int count) {
  in_netns(ns, [&] {
    for (int i = 0; i < count; i++) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_in from{}, to{};
      from.sin_family = to.sin_family = AF_INET;
      inet_pton(AF_INET, src, &from.sin_addr);
      inet_pton(AF_INET, dst, &to.sin_addr);
      to.sin_port = htons(port);
      bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
      usleep(20'000);
      close(fd);
    }
  });
}

class ReputationDaemonTest : public DaemonTest {
 protected:
  DaemonOptions options() const override {
    return {200'000, 0, "",
            "syn = { rate = 1, burst = 1 }\nreputation_violations = 3\n"
            "reputation_block_seconds = 3600\nmode = \"enforce\""};
  }
};

// The running daemon finds the program's auto-blocks (a map scan every 5 s, read without
// holding up commands, and only after per-source limit violations), records them, and
// explain names them.
TEST_F(ReputationDaemonTest, ARunningDaemonRecordsAutoBlocksAndExplainNamesThem) {
  auto scans = [&] {
    const std::string m = scrape_metrics(lab_.ns_b);
    const std::string key = "\nfloodgate_block_map_scans_total ";  // not # HELP's line
    const size_t at = m.find(key);
    return at == std::string::npos ? -1.0 : std::stod(m.substr(at + key.size()));
  };
  std::this_thread::sleep_for(std::chrono::seconds(6));  // at least one 5-second tick
  EXPECT_EQ(scans(), 0.0) << "the block map was read with no violation to look for";
  syns(lab_.ns_a, NetnsLab::kAddrA, NetnsLab::kAddrB, 7, 6);  // 1 passes, then 3 violations
  bool recorded = false;
  for (int i = 0; i < 80 && !recorded; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    v1::ListRulesResponse list;
    grpc::ClientContext ctx;
    ASSERT_TRUE(daemon_->api().ListRules(&ctx, {}, &list).ok());
    recorded = list.rules_size() == 1 && list.rules(0).origin() == v1::RULE_ORIGIN_REPUTATION;
  }
  ASSERT_TRUE(recorded) << "no auto-block recorded within 8 s\n" << daemon_->log();
  EXPECT_GE(scans(), 1.0);
  const std::string out = ctl_ok(std::string("explain ") + NetnsLab::kAddrA);
  EXPECT_NE(out.find("DROPPED by the block list (198.18.100.1/32)"), std::string::npos) << out;
  EXPECT_NE(out.find("auto-block by reputation"), std::string::npos) << out;
  EXPECT_NE(out.find("3 so far"), std::string::npos) << out;
}

TEST_F(ReputationDaemonTest, AutoBlocksMadeWhileTheDaemonIsDownAreKept) {
  daemon_->kill_daemon(SIGKILL);
  syns(lab_.ns_a, NetnsLab::kAddrA, NetnsLab::kAddrB, 7, 6);  // 1 passes, then 3 violations
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  v1::ListRulesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().ListRules(&ctx, {}, &list).ok());
  ASSERT_EQ(list.rules_size(), 1) << daemon_->log();
  EXPECT_EQ(list.rules(0).prefix(), "198.18.100.1/32");
  EXPECT_EQ(list.rules(0).origin(), v1::RULE_ORIGIN_REPUTATION);
  EXPECT_GT(list.rules(0).expires_at().seconds() - std::time(nullptr), 3500);
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), 0) << "the auto-block still drops";
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA2), kCount);
  ctl_ok("unblock 198.18.100.1");  // and the operator can lift it
  EXPECT_EQ(count_of(exchange(), NetnsLab::kAddrA), kCount);
}

TEST_F(DaemonTest, PreflightFailsAndSaysWhatToFix) {
  std::string out;
  EXPECT_EQ(daemon_->ctl("preflight", &out), 1) << out;
  EXPECT_NE(out.find("PASS  filter on " + lab_.if_b), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL  contacts"), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL  scrubbing provider"), std::string::npos) << out;
  EXPECT_NE(out.find("PASS  metrics"), std::string::npos) << out;
  EXPECT_NE(out.find("WARN  baseline"), std::string::npos) << out;
  EXPECT_NE(out.find("not learned yet for this hour on " + lab_.if_b), std::string::npos) << out;
  EXPECT_NE(out.find("NOT READY"), std::string::npos) << out;
}

class SampledDaemonTest : public DaemonTest {
 protected:
  DaemonOptions options() const override { return {200'000, 1, "", ""}; }
};

TEST_F(SampledDaemonTest, TopNamesTheBlockedSourceFromSamples) {
  ctl_ok("protect on");
  ctl_ok(std::string("block ") + NetnsLab::kAddrA);
  exchange();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the sampler polls every 250 ms
  v1::TopSourcesRequest req;
  v1::TopSourcesResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().TopSources(&ctx, req, &r).ok());
  ASSERT_GE(r.sources_size(), 1);
  EXPECT_EQ(r.sources(0).source(), "198.18.100.1/32");
  EXPECT_EQ(r.sources(0).samples(), static_cast<uint64_t>(kCount)) << "1 in 1 sampled";
  EXPECT_EQ(r.sources(0).top_reason(), "blocked");
  EXPECT_EQ(r.sources(0).protocol(), 17u);
  EXPECT_EQ(r.sources(0).top_destination_port(), kPort);
  EXPECT_EQ(r.sample_every(), 1u);
  const std::string out = ctl_ok("top");
  EXPECT_NE(out.find("198.18.100.1/32"), std::string::npos) << out;
  EXPECT_NE(out.find("udp/9999"), std::string::npos) << out;
}

// A CA, a server and a client certificate from it, and a client certificate from a
// second CA, made with openssl in a directory of their own.
class MtlsDaemonTest : public DaemonTest {
 protected:
  static std::string certs() {
    static const std::string dir = [] {
      const std::string d = "/tmp/fgtls-" + std::to_string(getpid());
      const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
      const std::string q = " >/dev/null 2>&1";
      sh("mkdir -p " + d + " && cd " + d + " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext" +
         " && openssl req -x509" + key +
         " -keyout ca.key -out ca.pem -days 1 -subj /CN=fg-test-ca" + q + " && openssl req -x509" +
         key + " -keyout other.key -out other.pem -days 1 -subj /CN=other-ca" + q +
         " && openssl req" + key + " -keyout server.key -out server.csr -subj /CN=floodgated" + q +
         " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1"
         " -extfile san.ext -out server.pem" +
         q + " && openssl req" + key +
         " -keyout alice.key -out alice.csr -subj /CN=operator-alice" + q +
         " && openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1"
         " -out alice.pem" +
         q + " && openssl req" + key + " -keyout mallory.key -out mallory.csr -subj /CN=mallory" +
         q +
         " && openssl x509 -req -in mallory.csr -CA other.pem -CAkey other.key -CAcreateserial"
         " -days 1 -out mallory.pem" +
         q);
      return d;
    }();
    return dir;
  }
  DaemonOptions options() const override {
    const std::string d = certs();
    return {200'000, 0,
            "tcp_listen = \"127.0.0.1:9443\"\ntls_cert = \"" + d + "/server.pem\"\ntls_key = \"" +
                d + "/server.key\"\ntls_client_ca = \"" + d + "/ca.pem\"",
            ""};
  }
  int remote(const std::string& client, const std::string& args, std::string* out) {
    const std::string d = certs();
    std::string creds = " --ca " + d + "/ca.pem";
    if (!client.empty())
      creds += " --cert " + d + "/" + client + ".pem --key " + d + "/" + client + ".key";
    return daemon_->ctl_in_netns("--address 127.0.0.1:9443 --timeout 3" + creds + " " + args, out);
  }
  void TearDown() override {
    DaemonTest::TearDown();
    sh("rm -rf " + certs());
  }
};

TEST_F(MtlsDaemonTest, OnlyClientsWithACertificateFromTheConfiguredCaGetIn) {
  std::string out;
  ASSERT_EQ(remote("alice", "status", &out), 0) << out << daemon_->log();
  EXPECT_NE(out.find("mode:"), std::string::npos) << out;
  EXPECT_EQ(remote("", "status", &out), 3) << "no client certificate:\n" << out;
  EXPECT_EQ(remote("mallory", "status", &out), 3) << "certificate from another CA:\n" << out;
  // Over TCP the caller has an address, and blocking it needs --force.
  EXPECT_EQ(remote("alice", "block 127.0.0.0/24 --force", &out), 0) << out;
  EXPECT_EQ(remote("alice", "unblock 127.0.0.0/24", &out), 0) << out;
  EXPECT_EQ(remote("alice", "block 127.0.0.1", &out), 1) << out;
  EXPECT_NE(out.find("your own address 127.0.0.1/32"), std::string::npos) << out;
  // The audit trail names the certificate's subject.
  ASSERT_EQ(remote("alice", "block 198.18.100.1 --reason remote", &out), 0) << out;
  ASSERT_EQ(remote("alice", "list --json", &out), 0) << out;
  EXPECT_NE(out.find("operator-alice"), std::string::npos) << out;
  // Several --address: done where reachable, and said where not (nothing listens on 9444).
  EXPECT_EQ(remote("alice", "--address 127.0.0.1:9444 block 198.18.100.7", &out), 3) << out;
  EXPECT_NE(out.find("done on 1 of 2 daemons; NOT on 127.0.0.1:9444 (unreachable)"),
            std::string::npos)
      << out;
  ASSERT_EQ(remote("alice", "list", &out), 0) << out;
  EXPECT_NE(out.find("198.18.100.7/32"), std::string::npos) << out;
}

// One command on several daemons: an operator with many edge servers blocks a source on
// all of them at once. Two real daemons, each in its own lab; a third socket has none.
TEST_F(DaemonTest, OneCommandRunsOnEveryDaemonGivenAndSaysWhereItFailed) {
  NetnsLab lab2("x");
  ASSERT_TRUE(lab2.ok());
  DaemonLab second(lab2);
  ASSERT_TRUE(second.start()) << second.log();
  const std::string both = std::string(FLOODGATECTL_PATH) + " --socket " + daemon_->socket() +
                           " --socket " + second.socket() + " ";
  std::string out;
  ASSERT_EQ(DaemonLab::run(both + "block 203.0.113.9 --ttl 1h --reason 'all edges'", &out), 0)
      << out;
  EXPECT_NE(out.find("== " + daemon_->socket() + "\nblocked 203.0.113.9/32"), std::string::npos)
      << out;
  EXPECT_NE(out.find("done on 2 of 2 daemons"), std::string::npos) << out;
  for (const DaemonLab* d : {daemon_.get(), &second}) {
    std::string list;
    ASSERT_EQ(d->ctl("list", &list), 0);
    EXPECT_NE(list.find("203.0.113.9/32"), std::string::npos) << list;
  }
  // A daemon that cannot be reached does not stop the others; the exit code says so.
  const std::string gone = second.dir() + "/nobody.sock";
  ASSERT_EQ(DaemonLab::run(both + "--socket " + gone + " block 203.0.113.10", &out), 3) << out;
  EXPECT_NE(out.find("done on 2 of 3 daemons; NOT on " + gone + " (unreachable)"),
            std::string::npos)
      << out;
  std::string list;
  ASSERT_EQ(second.ctl("list --json", &list), 0);
  EXPECT_NE(list.find("203.0.113.10/32"), std::string::npos) << list;
  // --json: one object per daemon.
  ASSERT_EQ(DaemonLab::run(both + "--json status 2>/dev/null", &out), 0) << out;
  size_t objects = 0;
  for (size_t at = 0; (at = out.find("{\"daemon\":", at)) != std::string::npos; at++) objects++;
  EXPECT_EQ(objects, 2u) << out;
  EXPECT_NE(out.find("\"blockRules\": \"2\""), std::string::npos) << out;
  // Following events is one daemon's business.
  EXPECT_EQ(DaemonLab::run(both + "watch", &out), 2) << out;
}

class SmallMapDaemonTest : public DaemonTest {
 protected:
  DaemonOptions options() const override { return {1000, 0, "", ""}; }
};

TEST_F(SmallMapDaemonTest, FullMapIsResourceExhaustedAndNothingPartial) {
  EXPECT_TRUE(block(daemon_->api(), {"198.18.1.1"}).ok());
  std::vector<std::string> many;
  for (int i = 0; i < 1500; i++)
    many.push_back("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  const grpc::Status s = block(daemon_->api(), many);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("nothing of this request was applied"), std::string::npos)
      << s.error_message();
  v1::ListRulesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(daemon_->api().ListRules(&ctx, {}, &list).ok());
  ASSERT_EQ(list.rules_size(), 1) << "only the earlier rule remains";
  EXPECT_EQ(list.rules(0).prefix(), "198.18.1.1/32");
  // The kernel took the first ~1000 of the batch before the map was full; they were taken
  // out again, so 900 others fit now.
  std::vector<std::string> fits;
  for (int i = 0; i < 900; i++)
    fits.push_back("10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  const grpc::Status ok = block(daemon_->api(), fits);
  EXPECT_TRUE(ok.ok()) << "entries of the refused batch were left in the map: "
                       << ok.error_message();
}

}  // namespace
}  // namespace floodgate::test
