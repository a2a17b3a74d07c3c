// floodgatectl: the operator's CLI. Speaks only the public gRPC API of floodgated.
// Exit codes: 0 done, 1 the daemon refused (its message is printed), 2 bad usage,
// 3 the daemon cannot be reached.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "floodgate/v1/floodgate.grpc.pb.h"
#include "prefix.h"

namespace v1 = floodgate::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

struct Options {
  std::string socket = "/run/floodgate/floodgate.sock";
  std::string address;  // HOST:PORT: TCP with mutual TLS instead of the socket
  std::string cert, key, ca;
  bool json = false;
  double timeout_s = 10;
};

std::string target_name(const Options& t) { return t.address.empty() ? t.socket : t.address; }

std::string slurp(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  if (!in) {
    std::cerr << "floodgatectl: cannot read " << path << "\n";
    std::exit(kExitUsage);
  }
  return {std::istreambuf_iterator<char>(in), {}};
}

class Client {
 public:
  explicit Client(const Options& o) : opts_(o) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(256 << 20);  // full rule lists, big batches
    args.SetMaxSendMessageSize(256 << 20);
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    std::string target = "unix:" + o.socket;
    if (!o.address.empty()) {
      grpc::SslCredentialsOptions tls;
      tls.pem_root_certs = slurp(o.ca);
      tls.pem_private_key = slurp(o.key);
      tls.pem_cert_chain = slurp(o.cert);
      creds = grpc::SslCredentials(tls);
      target = o.address;
    }
    stub_ = v1::FloodgateService::NewStub(grpc::CreateCustomChannel(target, creds, args));
  }

  // Calls one RPC; prints the daemon's message on failure and returns the exit code.
  v1::FloodgateService::Stub& stub() { return *stub_; }

  template <typename Req, typename Resp, typename Fn>
  int call(Fn fn, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(opts_.timeout_s * 1000)));
    const grpc::Status s = ((*stub_).*fn)(&ctx, req, resp);
    if (s.ok()) return 0;
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      std::cerr << "floodgatectl: cannot reach floodgated at " << target_name(opts_) << " ("
                << s.error_message() << ").\nIs it running? `systemctl status floodgated`; "
                << "another socket: --socket PATH; remote: --address HOST:PORT with --cert, "
                   "--key and --ca\n";
      return kExitUnreachable;
    }
    std::cerr << "error: " << s.error_message() << "\n";
    return kExitRefused;
  }

 private:
  Options opts_;
  std::unique_ptr<v1::FloodgateService::Stub> stub_;
};

// Runs one command on several daemons, one after the other: each one's output under a
// "== TARGET" line (with --json: one object per daemon, {"daemon", "exit", "response"}),
// then a summary on stderr. A usage error stops at once. Returns the worst exit code.
int run_on_each(const std::vector<Options>& targets, bool json,
                const std::function<int(const Options&)>& run) {
  int worst = 0;
  std::vector<std::string> failed;
  for (const Options& t : targets) {
    const std::string name = target_name(t);
    int rc;
    if (json) {
      std::ostringstream captured;
      std::streambuf* was = std::cout.rdbuf(captured.rdbuf());
      rc = run(t);
      std::cout.rdbuf(was);
      nlohmann::json head = {{"daemon", name}, {"exit", rc}};
      std::string text = head.dump();
      text.pop_back();  // '}': the response follows as it was printed
      std::cout << text << ",\"response\":" << (captured.str().empty() ? "null" : captured.str())
                << "}\n";
    } else {
      std::printf("== %s\n", name.c_str());
      std::fflush(stdout);
      rc = run(t);
      std::printf("\n");
    }
    std::cout.flush();
    std::fflush(stdout);
    if (rc == kExitUsage) return rc;
    if (rc != 0)
      failed.push_back(name + (rc == kExitUnreachable ? " (unreachable)" : " (refused)"));
    worst = std::max(worst, rc);
  }
  std::cerr << "floodgatectl: done on " << targets.size() - failed.size() << " of "
            << targets.size() << " daemons";
  for (size_t i = 0; i < failed.size(); i++) std::cerr << (i ? ", " : "; NOT on ") << failed[i];
  std::cerr << "\n";
  return worst;
}

void print_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  std::cout << out;
}

std::string mode_name(v1::Mode m) {
  return m == v1::MODE_ENFORCE ? "enforce" : m == v1::MODE_MONITOR ? "monitor" : "unknown";
}

std::string when(const google::protobuf::Timestamp& t) {
  const std::time_t s = static_cast<std::time_t>(t.seconds());
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&s));
  return buf;
}

std::string left(const google::protobuf::Timestamp& expires) {
  const int64_t s = expires.seconds() - static_cast<int64_t>(std::time(nullptr));
  if (s <= 0) return "expiring";
  if (s >= 86400) return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
  if (s >= 3600) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

// "90", "30s", "10m", "2h", "7d" -> seconds; -1 when malformed.
int64_t parse_duration(const std::string& text) {
  if (text.empty()) return -1;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    return -1;
  }
  const std::string unit = text.substr(used);
  if (n < 0) return -1;
  if (unit.empty() || unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return -1;
}

// Sets *out from a --ttl text; false (after saying why) when it is not a duration.
bool set_ttl(const std::string& text, google::protobuf::Duration* out) {
  if (text.empty()) return true;
  const int64_t ttl = parse_duration(text);
  if (ttl <= 0) {
    std::cerr << "floodgatectl: --ttl '" << text << "' is not a duration like 30s, 10m, 2h, 7d\n";
    return false;
  }
  out->set_seconds(ttl);
  return true;
}

// One prefix a line; '#' starts a comment. Every line is checked here, so that a bad file
// is reported with its line numbers (all of them, up to ten) before anything is sent.
// Returns an exit code: 0, kExitUsage when the file cannot be read, kExitRefused when
// lines are not prefixes.
int read_prefix_file(const std::string& path, std::vector<std::string>& out) {
  std::ifstream in(path == "-" ? "/dev/stdin" : path);
  if (!in) {
    std::cerr << "floodgatectl: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  const size_t first = out.size();
  std::vector<size_t> line_of;  // out[first + i] is on line line_of[i]
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    number++;
    line = line.substr(0, line.find('#'));
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    out.push_back(line);
    line_of.push_back(number);
  }
  const std::vector<std::string> lines(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  const std::string name = path == "-" ? "stdin" : path;
  auto checked = floodgate::parse_prefixes(
      lines, [&](size_t i) { return name + ":" + std::to_string(line_of[i]); });
  if (checked.ok()) return 0;
  const std::string& m = checked.error().message;
  std::cerr << "error: "
            << (lines.size() == 1 ? name + ":" + std::to_string(line_of[0]) + ": " : "") << m
            << "\n";
  return kExitRefused;
}

std::string human(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof(buf), "%.1fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.1fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

// "22,80,443", or `none` for an empty list.
std::string port_list(const google::protobuf::RepeatedField<uint32_t>& ports,
                      const char* none = "-") {
  std::string out;
  for (uint32_t p : ports) out += (out.empty() ? "" : ",") + std::to_string(p);
  return out.empty() ? none : out;
}

std::string rule_line(const v1::Rule& r) {
  std::string s = r.prefix() + " (";
  s += r.origin() == v1::RULE_ORIGIN_REPUTATION ? "auto-block by reputation"
                                                : "by " + r.created_by();
  s += r.has_expires_at() ? ", expires in " + left(r.expires_at()) : ", no expiry";
  if (r.kind() == v1::RULE_KIND_BLOCK) s += ", " + human(static_cast<double>(r.hits())) + " hits";
  if (!r.reason().empty()) s += ", \"" + r.reason() + "\"";
  return s + ")";
}

// floodgatectl explain: the lists' verdict and its rule first, then what else covers the
// address, then its rate limits and reputation, then how to change the outcome.
void print_explanation(const v1::ExplainResponse& r) {
  const bool enforce = r.mode() == v1::MODE_ENFORCE;
  const std::string& verdict = r.lists_verdict();
  std::printf("%s\n", r.address().c_str());
  if (verdict == "allowed")
    std::printf("  verdict:      PASSES: allow-listed by %s (no other stage sees it)\n",
                r.deciding_prefix().c_str());
  else if (verdict == "blocked")
    std::printf("  verdict:      %s by the block list (%s)\n",
                enforce ? "DROPPED" : "would be dropped (monitor mode counts only)",
                r.deciding_prefix().c_str());
  else
    std::printf("  verdict:      not on any list: the policy and the rate limits below decide\n");
  for (int i = 0; i < r.allows_size(); i++)
    std::printf("  %-13s %s\n", i ? "" : "allow list:", rule_line(r.allows(i)).c_str());
  if (r.allows().empty()) std::printf("  allow list:   no entry\n");
  for (int i = 0; i < r.blocks_size(); i++)
    std::printf("  %-13s %s%s\n", i ? "" : "block list:", rule_line(r.blocks(i).rule()).c_str(),
                r.blocks(i).expired() ? " EXPIRED, ignored" : "");
  if (r.blocks().empty()) std::printf("  block list:   no entry\n");
  const v1::SourceState& s = r.source();
  if (!s.tracked()) {
    std::printf("  rate limits:  no state kept for %s (not seen lately)\n", s.tracked_as().c_str());
  } else {
    std::string limited;
    for (const auto& v : s.limited_now()) limited += (limited.empty() ? "" : ", ") + v;
    std::printf("  rate limits:  counted as %s; %s\n", s.tracked_as().c_str(),
                limited.empty() ? "within every per-source limit now"
                                : ("OVER the " + limited + " limit now").c_str());
    if (s.reputation_threshold())
      std::printf("  reputation:   %.1f of %u violations (decaying), %u so far%s\n", s.reputation(),
                  s.reputation_threshold(), s.violations(),
                  s.completes_handshakes() ? "; completes TCP handshakes" : "");
    else
      std::printf("  reputation:   off; %u violations so far\n", s.violations());
  }
  if (verdict == "blocked") {
    std::printf("  to let it through: floodgatectl unblock");
    for (const auto& b : r.blocks())
      if (!b.expired()) std::printf(" %s", b.rule().prefix().c_str());
    std::printf("   (or: floodgatectl allow %s)\n", r.address().c_str());
  }
}

void print_stats(const v1::GetStatsResponse& r) {
  std::printf("%-16s %12s %12s %10s\n", "REASON", "PASSED", "DROPPED", "PKT/S");
  for (const auto& s : r.reasons()) {
    if (s.pass_packets() == 0 && s.drop_packets() == 0) continue;
    std::printf("%-16s %12s %12s %10s\n", s.reason().c_str(),
                human(static_cast<double>(s.pass_packets())).c_str(),
                human(static_cast<double>(s.drop_packets())).c_str(),
                human(s.packets_per_second()).c_str());
  }
}

void print_baseline(const v1::GetBaselineResponse& r) {
  std::printf(
      "thresholds: %.1f x the baseline of this hour (never below the floor); a flood after "
      "%u s above, over after %u s below\n",
      r.factor(), r.sustain_seconds(), r.hold_down_seconds());
  for (const auto& i : r.interfaces()) {
    std::printf("\n%s, hour %02d: %s%s\n", i.name().c_str(), i.hour(),
                i.learned() ? "baseline learned" : "still learning (the floors apply)",
                i.in_flood() ? "  ** FLOOD **" : "");
    std::printf("%-11s %10s %10s %10s %10s %12s %10s  %s\n", "VECTOR", "PKT/S", "EWMA", "BASE",
                "BASE BIT/S", "LEARNED", "THRESHOLD", "FROM");
    for (const auto& v : i.vectors()) {
      const uint64_t learned = std::min<uint64_t>(v.baseline_seconds(), r.learn_seconds());
      std::printf("%-11s %10s %10s %10s %10s %6llu/%-5u %10s  %s\n", v.vector().c_str(),
                  human(v.packets_per_second()).c_str(), human(v.ewma_packets_per_second()).c_str(),
                  human(v.baseline_packets_per_second()).c_str(),
                  human(v.baseline_bits_per_second()).c_str(),
                  static_cast<unsigned long long>(learned), r.learn_seconds(),
                  human(v.threshold_packets_per_second()).c_str(), v.threshold_basis().c_str());
    }
  }
}

std::string local_time(int64_t unix_s) {
  if (unix_s <= 0) return "-";
  char buf[32];
  std::tm t{};
  const std::time_t tt = unix_s;
  localtime_r(&tt, &t);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &t);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "floodgatectl: drive the Floodgate DDoS filter (floodgated).\n"
      "During an attack: `floodgatectl protect on` drops what monitor mode only counted;\n"
      "`floodgatectl block 203.0.113.7 --ttl 1h` drops one source; `floodgatectl stats`\n"
      "shows what is dropped and why; `floodgatectl incident show` what the detector saw\n"
      "and what its playbook did; `floodgatectl explain 198.51.100.23` why one source is\n"
      "dropped, and how to let it through."};
  app.require_subcommand(1);
  app.fallthrough();  // --json, --socket also after the subcommand
  Options o;
  if (const char* env = std::getenv("FLOODGATE_SOCKET")) o.socket = env;
  std::vector<std::string> sockets, addresses;
  app.add_option("--socket", sockets,
                 "daemon socket (env FLOODGATE_SOCKET; default " + o.socket +
                     "); repeat for several daemons")
      ->allow_extra_args(false);
  app.add_flag("--json", o.json, "print the API's JSON instead of a table");
  auto* addr = app.add_option("--address", addresses,
                              "a remote floodgated's TCP listener, HOST:PORT (mutual TLS); repeat "
                              "to run the command on several daemons, one after the other")
                   ->allow_extra_args(false);
  app.add_option("--cert", o.cert, "client certificate (PEM) for --address")->needs(addr);
  app.add_option("--key", o.key, "client key (PEM) for --address")->needs(addr);
  app.add_option("--ca", o.ca, "CA that signed the daemon's certificate, for --address")
      ->needs(addr);
  app.add_option("--timeout", o.timeout_s, "seconds to wait for the daemon")->capture_default_str();

  int rc = 0;
  auto* status = app.add_subcommand("status", "mode, interfaces, rule counts");
  auto* stats = app.add_subcommand("stats", "packets passed and dropped, per reason");
  bool watch = false;
  stats->add_flag("-w,--watch", watch, "refresh every second until Ctrl-C");
  bool per_interface = false;
  stats->add_flag("-i,--per-interface", per_interface, "also one table per interface");
  auto* top = app.add_subcommand("top", "the sources behind the most dropped packets (sampled)");
  unsigned top_limit = 10;
  top->add_option("-n,--limit", top_limit, "how many sources")->capture_default_str();
  top->add_flag("-w,--watch", watch, "refresh every second until Ctrl-C");
  auto* watch_cmd = app.add_subcommand("watch", "print events as they happen until Ctrl-C");
  auto* list = app.add_subcommand("list", "list rules (blocks and allows)");
  bool only_allow = false, only_block = false;
  list->add_flag("--allow", only_allow, "only allow-list entries");
  list->add_flag("--block", only_block, "only blocks");

  std::vector<std::string> prefixes;
  std::string file, ttl_text, reason;
  bool force = false;
  auto* block =
      app.add_subcommand("block", "drop everything from these sources (atomic: all or none)");
  block->add_option("prefix", prefixes, "addresses or prefixes, e.g. 203.0.113.7 198.51.100.0/24");
  block->add_option("-f,--file", file,
                    "read prefixes from FILE (one a line, # comments; - = stdin)");
  block->add_option("--ttl", ttl_text, "lifetime, e.g. 30s, 10m, 2h, 7d (default: the daemon's)");
  block->add_option("--reason", reason, "why, for the audit log and the list");
  block->add_flag(
      "--force", force,
      "block even very short prefixes, your own address or a scrubbing provider's BGP neighbour");
  auto* unblock = app.add_subcommand("unblock", "remove blocks");
  unblock->add_option("prefix", prefixes, "prefixes as listed by `floodgatectl list`");
  unblock->add_option("-f,--file", file, "read prefixes from FILE");
  bool ignore_missing = false;
  unblock->add_flag("--ignore-missing", ignore_missing,
                    "lift those that are blocked, skip the others (default: all or nothing)");
  auto* allow = app.add_subcommand("allow", "never filter these sources (wins over blocks)");
  allow->add_option("prefix", prefixes, "addresses or prefixes")->required();
  allow->add_option("--reason", reason, "why");
  allow->add_option("--ttl", ttl_text, "lifetime, e.g. 24h (default: until `disallow`)");
  auto* disallow = app.add_subcommand("disallow", "remove allow-list entries");
  disallow->add_option("prefix", prefixes, "prefixes")->required();
  std::string mode_arg;
  auto* mode = app.add_subcommand("mode", "monitor (count only) or enforce (drop)");
  mode->add_option("mode", mode_arg, "monitor|enforce")
      ->required()
      ->check(CLI::IsMember({"monitor", "enforce"}));
  std::string onoff;
  auto* protect =
      app.add_subcommand("protect", "on = enforce, off = monitor (nothing is detached)");
  protect->add_option("state", onoff, "on|off")->required()->check(CLI::IsMember({"on", "off"}));
  auto* policy = app.add_subcommand(
      "policy", "show the port/protocol policy and limits, or change one protocol's policy");
  std::string pol_proto, pol_default, pol_allow, pol_deny;
  bool pol_force = false;
  policy->add_option("protocol", pol_proto, "tcp|udp|icmp|icmpv6|other (omit to show all)")
      ->check(CLI::IsMember({"tcp", "udp", "icmp", "icmpv6", "other"}));
  policy->add_option("--default", pol_default, "pass|drop for ports on neither list")
      ->check(CLI::IsMember({"pass", "drop"}));
  policy->add_option("--allow", pol_allow,
                     "ports (ICMP: types) to allow, e.g. 22,80,443 (\"\" = none)");
  policy->add_option("--deny", pol_deny, "ports to drop, e.g. 23,445");
  policy->add_flag("--force", pol_force,
                   "allow a TCP default of drop that cuts off management ports");
  auto* reflection = app.add_subcommand(
      "reflection", "the amplifier source ports whose UDP is dropped (DNS, NTP, memcached ...)");
  std::string refl_action = "show";
  std::vector<uint32_t> refl_ports;
  reflection->add_option("action", refl_action, "show | add PORT... | remove PORT... | on | off")
      ->check(CLI::IsMember({"show", "add", "remove", "on", "off"}));
  reflection->add_option("port", refl_ports, "UDP source ports, e.g. 37810 10001");
  auto* threshold = app.add_subcommand("threshold", "change a rate limit (applied at once)");
  std::string th_vector;
  uint64_t th_rate = 0, th_burst = 0;
  bool th_dest = false;
  threshold->add_option("vector", th_vector, "syn|udp-packets|udp-bytes|icmp")
      ->required()
      ->check(CLI::IsMember({"syn", "udp-packets", "udp-bytes", "icmp"}));
  threshold->add_option("--rate", th_rate, "per second (0 = no limit)")->required();
  threshold->add_option("--burst", th_burst, "how much may arrive at once (default: 2 x rate)");
  threshold->add_flag("--per-destination", th_dest,
                      "limit all sources together per protected prefix (default: per source)");
  auto* divert =
      app.add_subcommand("divert", "steer protected prefixes to the scrubbing provider over BGP");
  divert->require_subcommand(1);
  std::vector<std::string> dv_prefixes;
  std::string dv_provider, dv_reason;
  bool dv_all = false, dv_dry = false, dv_now = false;
  auto* divert_on = divert->add_subcommand("on", "announce (with the provider's communities)");
  divert_on->add_option("prefix", dv_prefixes, "protected prefixes, e.g. 198.51.100.0/24");
  divert_on->add_flag("--all", dv_all, "every prefix of [diversion] prefixes");
  divert_on->add_option("--provider", dv_provider, "one provider (default: all)");
  divert_on->add_flag("--dry-run", dv_dry, "show what would be announced, announce nothing");
  divert_on->add_option("--reason", dv_reason, "why, for the audit log and status");
  auto* divert_off =
      divert->add_subcommand("off", "withdraw, after traffic stayed quiet for the hold-down");
  divert_off->add_option("prefix", dv_prefixes, "prefixes to withdraw");
  divert_off->add_flag("--all", dv_all, "everything diverted");
  divert_off->add_flag("--now", dv_now, "withdraw at once, without the hold-down (audited)");
  auto* divert_status = divert->add_subcommand("status", "BGP sessions and what is announced");
  auto* rtbh =
      app.add_subcommand("rtbh", "remotely triggered blackhole (RFC 7999) for one address");
  rtbh->require_subcommand(1);
  std::string rt_addr, rt_ttl;
  auto* rtbh_add = rtbh->add_subcommand("add", "announce ADDRESS with BLACKHOLE (65535:666)");
  rtbh_add->add_option("address", rt_addr, "one address inside the protected prefixes")->required();
  rtbh_add->add_option("--ttl", rt_ttl, "lifetime (default 1h), e.g. 30m");
  rtbh_add->add_option("--provider", dv_provider, "one provider (default: all)");
  rtbh_add->add_option("--reason", dv_reason, "why");
  auto* rtbh_del = rtbh->add_subcommand("del", "withdraw the blackhole for ADDRESS");
  rtbh_del->add_option("address", rt_addr, "the address")->required();
  auto* flowspec = app.add_subcommand(
      "flowspec", "ask the provider to drop or rate-limit traffic upstream (RFC 8955)");
  flowspec->require_subcommand(1);
  std::vector<std::string> fs_words;
  auto* flowspec_add =
      flowspec->add_subcommand("add",
                               "announce a rule: dst PREFIX [src PREFIX] [proto udp|tcp|icmp|N] "
                               "[dport P,..] [sport P,..] [rate BYTES/S]");
  flowspec_add
      ->add_option("rule", fs_words,
                   "the rule's words, e.g. dst 198.51.100.0/24 proto udp sport 123")
      ->required();
  flowspec_add->add_option("--ttl", rt_ttl, "lifetime (default 1h)");
  flowspec_add->add_option("--provider", dv_provider, "one provider (default: all)");
  flowspec_add->add_option("--reason", dv_reason, "why");
  auto* flowspec_del = flowspec->add_subcommand("del", "withdraw a rule (the same words)");
  flowspec_del->add_option("rule", fs_words, "the rule's words")->required();
  auto* preflight = app.add_subcommand(
      "preflight", "check the preparation checklist (procedure art. 4): exit 1 if anything fails");
  auto* baseline = app.add_subcommand(
      "baseline", "traffic per vector, this hour's learned baseline and the flood thresholds");
  auto* incident = app.add_subcommand(
      "incident", "the incident record: open, note, check, close, list, show, report");
  incident->require_subcommand(1);
  int64_t inc_id = 0;
  std::string inc_type, inc_text, inc_item, inc_format = "md", inc_out;
  auto* inc_open = incident->add_subcommand(
      "open", "open an incident by hand (the detector opens one by itself on a flood)");
  inc_open->add_option("--type", inc_type,
                       "syn-flood, udp-flood, reflection, icmp-flood, fragment-flood, "
                       "volumetric, application-flood");
  inc_open->add_option("--note", inc_text, "what you see, who reported it");
  auto* inc_note = incident->add_subcommand("note", "add TEXT to the timeline (with your name)");
  inc_note->add_option("text", inc_text, "what happened or was done")->required();
  auto* inc_check = incident->add_subcommand(
      "check", "tick a checklist item, e.g. `incident check backup` (see `incident show`)");
  inc_check->add_option("item", inc_item, "item, e.g. A3.backup or backup")->required();
  inc_check->add_option("--note", inc_text, "a note, e.g. the external report's number");
  auto* inc_close = incident->add_subcommand(
      "close", "undo the playbook's changes, withdraw diversion (after hold-down), close");
  inc_close->add_option("--note", inc_text, "how it ended");
  auto* inc_list = incident->add_subcommand("list", "incidents, newest first");
  auto* inc_show = incident->add_subcommand("show", "one incident's report (Markdown)");
  auto* inc_report = incident->add_subcommand("report", "the report: Markdown or JSON");
  inc_report->add_option("--format", inc_format, "md or json")->capture_default_str();
  inc_report->add_option("-o,--output", inc_out, "write to FILE instead of stdout");
  for (auto* sc : {inc_note, inc_check, inc_close, inc_show, inc_report})
    sc->add_option("--id", inc_id, "incident number (default: the open one)");
  std::string pb_type;
  bool pb_dry = false;
  auto* playbook = app.add_subcommand(
      "playbook", "show what the playbook would do now for an attack type (changes nothing)");
  playbook->add_option("type", pb_type, "syn-flood, udp-flood, reflection, icmp-flood, ...")
      ->required();
  playbook->add_flag("--dry-run", pb_dry, "required: this command never changes anything");
  bool yes = false;
  std::string ex_addr;
  auto* explain = app.add_subcommand(
      "explain", "why one source's packets pass or drop: its list entries, limits, reputation");
  explain->add_option("address", ex_addr, "one IPv4 or IPv6 address, e.g. 203.0.113.7")->required();
  auto* unload = app.add_subcommand("unload", "detach the filter everywhere and remove its maps");
  unload->add_flag("--yes", yes, "confirm: traffic will no longer be filtered");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  // The daemons to run the command on: every --socket and --address given, else the
  // default socket.
  std::vector<Options> targets;
  for (const std::string& path : sockets) targets.push_back(o), targets.back().socket = path;
  for (const std::string& a : addresses) targets.push_back(o), targets.back().address = a;
  if (targets.empty()) targets.push_back(o);
  if (targets.size() > 1 && (watch || watch_cmd->parsed())) {
    std::cerr << "floodgatectl: watching follows one daemon; give one --socket or --address\n";
    return kExitUsage;
  }
  if ((block->parsed() || unblock->parsed()) && !file.empty())
    if (int bad = read_prefix_file(file, prefixes)) return bad;
  using S = v1::FloodgateService::Stub;

  auto run = [&](Client& client) -> int {
    if (status->parsed()) {
      v1::GetStatusResponse r;
      if ((rc = client.call(&S::GetStatus, v1::GetStatusRequest{}, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf("mode:       %s%s\n", mode_name(r.mode()).c_str(),
                  r.mode() == v1::MODE_MONITOR
                      ? " (counting only; `floodgatectl protect on` to drop)"
                      : "");
      for (const auto& i : r.interfaces())
        std::printf("interface:  %s (ifindex %d), %s XDP%s%s\n", i.name().c_str(), i.ifindex(),
                    i.attach_mode().c_str(),
                    i.dispatcher() ? ", libxdp dispatcher" : ", single program",
                    i.attach_mode() == "generic"
                        ? "  <-- SLOW PATH: the kernel allocates every packet before the filter "
                          "sees it; use a driver with native XDP"
                        : "");
      std::printf("rules:      %llu blocks, %llu allows\n",
                  static_cast<unsigned long long>(r.block_rules()),
                  static_cast<unsigned long long>(r.allow_rules()));
      std::printf("daemon:     %s, up since %s%s\n", r.version().c_str(),
                  when(r.started_at()).c_str(), r.adopted() ? ", adopted the running filter" : "");
      // What the first command at 3 a.m. should also tell: is an incident open, is traffic
      // diverted. Best effort: an older daemon without these calls just leaves them out.
      grpc::ClientContext ictx;
      v1::ListIncidentsRequest ireq;
      ireq.set_limit(20);
      v1::ListIncidentsResponse inc;
      if (client.stub().ListIncidents(&ictx, ireq, &inc).ok()) {
        int open = 0;
        for (const auto& i : inc.incidents()) {
          if (i.closed_at() != 0) continue;
          open++;
          std::printf(
              "incident:   #%lld OPEN since %s: %s (%s), peak %s pkt/s; `floodgatectl "
              "incident show`\n",
              static_cast<long long>(i.id()), local_time(i.opened_at()).c_str(),
              i.type().empty() ? "not classified yet" : i.type().c_str(),
              i.category().empty() ? "-" : i.category().c_str(),
              human(i.peak_packets_per_second()).c_str());
        }
        if (!open) std::printf("incident:   none open\n");
      }
      grpc::ClientContext dctx;
      v1::GetDiversionResponse div;
      if (client.stub().GetDiversion(&dctx, v1::GetDiversionRequest{}, &div).ok()) {
        if (!div.speaker_on()) std::printf("diversion:  off (no BGP speaker configured)\n");
        for (const auto& p : div.providers())
          std::printf("diversion:  provider %s, BGP session %s\n", p.name().c_str(),
                      p.session_state().c_str());
        for (const auto& a : div.announcements())
          std::printf("            %s %s to %s since %s%s\n",
                      a.blackhole() ? "blackholed" : "DIVERTED", a.prefix().c_str(),
                      a.provider().c_str(), when(a.since()).c_str(),
                      a.has_withdraw_requested_at() ? " (withdraw pending: hold-down)" : "");
        if (!div.flowspec().empty())
          std::printf("            %d FlowSpec rule(s) upstream; `floodgatectl divert status`\n",
                      div.flowspec_size());
      }
      return 0;
    }
    if (stats->parsed()) {
      do {
        v1::GetStatsResponse r;
        if ((rc = client.call(&S::GetStats, v1::GetStatsRequest{}, &r))) return rc;
        if (o.json) {
          print_json(r);
        } else {
          if (watch) std::printf("\033[H\033[2J");
          print_stats(r);
          if (per_interface)
            for (const auto& itf : r.interfaces()) {
              std::printf("\n%s:\n", itf.name().c_str());
              v1::GetStatsResponse one;
              *one.mutable_reasons() = itf.reasons();
              print_stats(one);
            }
        }
        if (watch) std::this_thread::sleep_for(std::chrono::seconds(1));
      } while (watch);
      return 0;
    }
    if (top->parsed()) {
      do {
        v1::TopSourcesRequest req;
        req.set_limit(top_limit);
        v1::TopSourcesResponse r;
        if ((rc = client.call(&S::TopSources, req, &r))) return rc;
        if (o.json) {
          print_json(r);
        } else {
          if (watch) std::printf("\033[H\033[2J");
          if (r.sample_every() == 0)
            std::printf("sampling is off (datapath.sample_every = 0): no sources to show\n");
          std::printf("top sources of dropped packets, last %llds (1 in %u sampled)\n",
                      static_cast<long long>(r.window().seconds()), r.sample_every());
          std::printf("%-40s %10s %10s  %-14s %s\n", "SOURCE", "~PKT/S", "SAMPLES", "REASON",
                      "PROTO/PORT");
          for (const auto& t : r.sources()) {
            const char* proto = t.protocol() == 6    ? "tcp"
                                : t.protocol() == 17 ? "udp"
                                : t.protocol() == 1  ? "icmp"
                                : t.protocol() == 58 ? "icmp6"
                                                     : "ip";
            std::printf("%-40s %10s %10llu  %-14s %s/%u\n", t.source().c_str(),
                        human(t.estimated_packets_per_second()).c_str(),
                        static_cast<unsigned long long>(t.samples()), t.top_reason().c_str(), proto,
                        t.top_destination_port());
          }
          if (r.sources().empty()) std::printf("(no drops sampled in the window)\n");
        }
        if (watch) std::this_thread::sleep_for(std::chrono::seconds(1));
      } while (watch);
      return 0;
    }
    if (watch_cmd->parsed()) {
      grpc::ClientContext ctx;  // no deadline: runs until Ctrl-C
      auto stream = client.stub().WatchEvents(&ctx, v1::WatchEventsRequest{});
      v1::WatchEventsResponse m;
      if (!o.json) std::printf("watching events (Ctrl-C to stop)\n");
      while (stream->Read(&m)) {
        if (o.json) {
          print_json(m);
          std::printf("\n");
        } else {
          const auto& e = m.event();
          std::string kind = v1::EventKind_Name(e.kind()).substr(std::string("EVENT_KIND_").size());
          std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
          if (m.lost())
            std::printf("(%llu events lost: reading too slowly)\n",
                        static_cast<unsigned long long>(m.lost()));
          std::printf("%s  %-10s %-32s %s%s%s\n", when(e.time()).c_str(), kind.c_str(),
                      e.subject().c_str(), e.detail().c_str(), e.actor().empty() ? "" : "  by ",
                      e.actor().c_str());
        }
        std::fflush(stdout);
      }
      const grpc::Status s = stream->Finish();
      if (!s.ok()) {
        std::cerr << "floodgatectl: the event stream ended: " << s.error_message() << "\n";
        return s.error_code() == grpc::StatusCode::UNAVAILABLE ? kExitUnreachable : kExitRefused;
      }
      return 0;
    }
    if (list->parsed()) {
      v1::ListRulesRequest req;
      if (only_allow != only_block)
        req.set_kind(only_allow ? v1::RULE_KIND_ALLOW : v1::RULE_KIND_BLOCK);
      v1::ListRulesResponse r;
      if ((rc = client.call(&S::ListRules, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf("%-6s %-28s %-10s %-10s %12s  %s\n", "KIND", "PREFIX", "ORIGIN", "EXPIRES",
                  "HITS", "REASON / BY");
      for (const auto& rule : r.rules()) {
        const std::string origin = rule.origin() == v1::RULE_ORIGIN_REPUTATION ? "reputation"
                                   : rule.origin() == v1::RULE_ORIGIN_DETECTOR ? "detector"
                                                                               : "operator";
        std::printf(
            "%-6s %-28s %-10s %-10s %12s  %s / %s\n",
            rule.kind() == v1::RULE_KIND_ALLOW ? "allow" : "block", rule.prefix().c_str(),
            origin.c_str(), rule.has_expires_at() ? left(rule.expires_at()).c_str() : "never",
            rule.kind() == v1::RULE_KIND_ALLOW ? "-"
                                               : human(static_cast<double>(rule.hits())).c_str(),
            rule.reason().empty() ? "-" : rule.reason().c_str(), rule.created_by().c_str());
      }
      return 0;
    }
    if (block->parsed() || unblock->parsed()) {
      if (prefixes.empty()) {
        std::cerr << (file.empty() ? "floodgatectl: give prefixes or --file FILE\n"
                                   : "floodgatectl: " + file + " holds no prefixes\n");
        return kExitUsage;
      }
      if (unblock->parsed()) {
        v1::UnblockRequest req;
        for (const auto& p : prefixes) req.add_prefixes(p);
        req.set_ignore_missing(ignore_missing);
        v1::UnblockResponse r;
        if ((rc = client.call(&S::Unblock, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("unblocked %d prefix(es)\n", r.prefixes_size());
        if (r.missing_size() > 0)
          std::printf("skipped %d that had no block (e.g. %s)\n", r.missing_size(),
                      r.missing(0).c_str());
        return 0;
      }
      v1::BlockRequest req;
      for (const auto& p : prefixes) req.add_prefixes(p);
      if (!set_ttl(ttl_text, req.mutable_ttl())) return kExitUsage;
      if (ttl_text.empty()) req.clear_ttl();
      req.set_reason(reason);
      req.set_force(force);
      v1::BlockResponse r;
      if ((rc = client.call(&S::Block, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      if (r.rules_size() > 0 && r.rules_size() <= 20) {
        for (const auto& rule : r.rules())
          std::printf("blocked %s (%s)\n", rule.prefix().c_str(),
                      rule.has_expires_at() ? ("expires in " + left(rule.expires_at())).c_str()
                                            : "no expiry");
      } else {
        std::printf("blocked %llu prefixes\n", static_cast<unsigned long long>(r.count()));
      }
      return 0;
    }
    if (allow->parsed()) {
      v1::AllowRequest req;
      for (const auto& p : prefixes) req.add_prefixes(p);
      req.set_reason(reason);
      if (!set_ttl(ttl_text, req.mutable_ttl())) return kExitUsage;
      v1::AllowResponse r;
      if ((rc = client.call(&S::Allow, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      for (const auto& rule : r.rules())
        std::printf("allowed %s (%s)\n", rule.prefix().c_str(),
                    rule.has_expires_at() ? ("expires in " + left(rule.expires_at())).c_str()
                                          : "until disallowed");
      if (r.overridden_count() > 0) {
        std::string some;
        for (const auto& b : r.overridden_blocks()) some += (some.empty() ? "" : ", ") + b;
        if (r.overridden_count() > static_cast<uint64_t>(r.overridden_blocks_size()))
          some += ", ...";
        std::printf(
            "note: %llu block(s) inside what you allowed now drop nothing (allow wins): %s\n"
            "      `floodgatectl disallow` restores them; `floodgatectl unblock` tidies them "
            "away\n",
            static_cast<unsigned long long>(r.overridden_count()), some.c_str());
      }
      return 0;
    }
    if (disallow->parsed()) {
      v1::DisallowRequest req;
      for (const auto& p : prefixes) req.add_prefixes(p);
      v1::DisallowResponse r;
      if ((rc = client.call(&S::Disallow, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf("removed %d allow entr%s\n", r.prefixes_size(),
                  r.prefixes_size() == 1 ? "y" : "ies");
      return 0;
    }
    if (mode->parsed() || protect->parsed()) {
      v1::Mode prev, now;
      if (mode->parsed()) {
        v1::SetModeRequest req;
        req.set_mode(mode_arg == "enforce" ? v1::MODE_ENFORCE : v1::MODE_MONITOR);
        v1::SetModeResponse r;
        if ((rc = client.call(&S::SetMode, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        prev = r.previous_mode();
        now = r.mode();
      } else {
        v1::SetProtectionRequest req;
        req.set_on(onoff == "on");
        v1::SetProtectionResponse r;
        if ((rc = client.call(&S::SetProtection, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        prev = r.previous_mode();
        now = r.mode();
      }
      std::printf("mode: %s (was %s)%s\n", mode_name(now).c_str(), mode_name(prev).c_str(),
                  now == v1::MODE_ENFORCE ? ": dropping" : ": counting only, nothing is dropped");
      return 0;
    }
    if (policy->parsed()) {
      v1::GetPolicyResponse cur;
      if ((rc = client.call(&S::GetPolicy, v1::GetPolicyRequest{}, &cur))) return rc;
      auto proto_name = [](v1::Protocol p) {
        std::string n = v1::Protocol_Name(p).substr(std::string("PROTOCOL_").size());
        std::transform(n.begin(), n.end(), n.begin(), ::tolower);
        return n;
      };
      if (pol_proto.empty()) {
        if (o.json) return print_json(cur), 0;
        std::printf("%-8s %-8s %-30s %s\n", "PROTO", "DEFAULT", "ALLOWED", "DENIED");
        for (const auto& p : cur.protocols())
          std::printf("%-8s %-8s %-30s %s\n", proto_name(p.protocol()).c_str(),
                      p.default_action() == v1::ACTION_DROP ? "drop" : "pass",
                      port_list(p.allowed_ports()).c_str(), port_list(p.denied_ports()).c_str());
        std::printf("\nreflection filter: %s (UDP from ports %s)\n\n",
                    cur.reflection_filter() ? "on" : "off",
                    port_list(cur.reflection_ports()).c_str());
        std::printf("%-12s %-16s %14s %14s\n", "LIMIT", "SCOPE", "RATE/S", "BURST");
        for (const auto& t : cur.thresholds()) {
          std::string v = v1::Vector_Name(t.vector()).substr(std::string("VECTOR_").size());
          std::transform(v.begin(), v.end(), v.begin(), ::tolower);
          std::printf("%-12s %-16s %14s %14s\n", v.c_str(),
                      t.scope() == v1::SCOPE_PER_SOURCE ? "per source" : "per destination",
                      t.rate() ? std::to_string(t.rate()).c_str() : "off",
                      t.rate() ? std::to_string(t.burst()).c_str() : "-");
        }
        return 0;
      }
      // Change one protocol: start from what is in force, replace what was given.
      v1::SetPolicyRequest req;
      for (const auto& p : cur.protocols())
        if (proto_name(p.protocol()) == pol_proto) *req.mutable_policy() = p;
      auto parse_ports = [](const std::string& text,
                            google::protobuf::RepeatedField<uint32_t>* out) {
        out->Clear();
        std::stringstream ss(text);
        for (std::string item; std::getline(ss, item, ',');) {
          if (item.empty()) continue;
          try {
            out->Add(static_cast<uint32_t>(std::stoul(item)));
          } catch (...) {
            return false;
          }
        }
        return true;
      };
      if (!pol_default.empty())
        req.mutable_policy()->set_default_action(pol_default == "drop" ? v1::ACTION_DROP
                                                                       : v1::ACTION_PASS);
      if ((policy->count("--allow") &&
           !parse_ports(pol_allow, req.mutable_policy()->mutable_allowed_ports())) ||
          (policy->count("--deny") &&
           !parse_ports(pol_deny, req.mutable_policy()->mutable_denied_ports()))) {
        std::cerr << "floodgatectl: ports are numbers separated by commas, e.g. 22,80,443\n";
        return kExitUsage;
      }
      req.set_force(pol_force);
      v1::SetPolicyResponse r;
      if ((rc = client.call(&S::SetPolicy, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf("%s: default %s, allowed %s, denied %s\n", pol_proto.c_str(),
                  r.policy().default_action() == v1::ACTION_DROP ? "drop" : "pass",
                  port_list(r.policy().allowed_ports()).c_str(),
                  port_list(r.policy().denied_ports()).c_str());
      return 0;
    }
    if (threshold->parsed()) {
      v1::SetThresholdsRequest req;
      auto* t = req.add_thresholds();
      t->set_vector(th_vector == "syn"           ? v1::VECTOR_SYN
                    : th_vector == "udp-packets" ? v1::VECTOR_UDP_PACKETS
                    : th_vector == "udp-bytes"   ? v1::VECTOR_UDP_BYTES
                                                 : v1::VECTOR_ICMP);
      t->set_scope(th_dest ? v1::SCOPE_PER_DESTINATION : v1::SCOPE_PER_SOURCE);
      t->set_rate(th_rate);
      t->set_burst(threshold->count("--burst") ? th_burst : 2 * th_rate);
      v1::SetThresholdsResponse r;
      if ((rc = client.call(&S::SetThresholds, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf(
          "%s %s: %s\n", th_vector.c_str(), th_dest ? "per destination" : "per source",
          th_rate ? (std::to_string(th_rate) + "/s, burst " + std::to_string(t->burst())).c_str()
                  : "no limit");
      return 0;
    }
    if (preflight->parsed()) {
      v1::PreflightResponse r;
      if ((rc = client.call(&S::Preflight, v1::PreflightRequest{}, &r))) return rc;
      if (o.json) {
        print_json(r);
        return r.ready() ? 0 : kExitRefused;
      }
      for (const auto& c : r.checks()) {
        const char* mark = c.result() == v1::PreflightCheck::RESULT_PASS   ? "PASS"
                           : c.result() == v1::PreflightCheck::RESULT_WARN ? "WARN"
                                                                           : "FAIL";
        std::printf("%s  %-28s %s\n", mark, c.name().c_str(), c.detail().c_str());
        if (!c.fix().empty()) std::printf("      %-28s -> %s\n", "", c.fix().c_str());
      }
      std::printf("\n%s\n",
                  r.ready() ? "ready: nothing failed" : "NOT READY: fix the FAIL items above");
      return r.ready() ? 0 : kExitRefused;
    }
    if (flowspec->parsed()) {
      std::string rule;
      for (const auto& w : fs_words) rule += (rule.empty() ? "" : " ") + w;
      if (flowspec_add->parsed()) {
        v1::AddFlowSpecRequest req;
        req.set_rule(rule);
        if (!set_ttl(rt_ttl, req.mutable_ttl())) return kExitUsage;
        if (rt_ttl.empty()) req.clear_ttl();
        req.set_provider(dv_provider);
        req.set_reason(dv_reason);
        v1::AddFlowSpecResponse r;
        if ((rc = client.call(&S::AddFlowSpec, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        for (const auto& f : r.rules())
          std::printf("flowspec to %-12s %s (expires in %s)\n", f.provider().c_str(),
                      f.rule().c_str(), left(f.expires_at()).c_str());
        return 0;
      }
      v1::RemoveFlowSpecRequest req;
      req.set_rule(rule);
      v1::RemoveFlowSpecResponse r;
      if ((rc = client.call(&S::RemoveFlowSpec, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      for (const auto& f : r.rules())
        std::printf("withdrew flowspec %s from %s\n", f.rule().c_str(), f.provider().c_str());
      return 0;
    }
    if (divert->parsed() || rtbh->parsed()) {
      auto print_announcements = [&](const auto& list, const char* verb) {
        for (const v1::Announcement& a : list) {
          std::string comm;
          for (const auto& c : a.communities()) comm += (comm.empty() ? "" : " ") + c;
          std::printf("%s %-20s to %-12s communities %s, next hop %s%s\n", verb, a.prefix().c_str(),
                      a.provider().c_str(), comm.c_str(), a.next_hop().c_str(),
                      a.has_withdraw_requested_at() ? "  (withdraw pending: hold-down)" : "");
        }
      };
      if (divert_on->parsed()) {
        v1::DivertRequest req;
        for (const auto& p : dv_prefixes) req.add_prefixes(p);
        req.set_all(dv_all);
        req.set_provider(dv_provider);
        req.set_dry_run(dv_dry);
        req.set_reason(dv_reason);
        v1::DivertResponse r;
        if ((rc = client.call(&S::Divert, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        print_announcements(r.announcements(), dv_dry ? "would announce" : "announced");
        return 0;
      }
      if (divert_off->parsed()) {
        v1::UndivertRequest req;
        for (const auto& p : dv_prefixes) req.add_prefixes(p);
        req.set_all(dv_all);
        req.set_now(dv_now);
        v1::UndivertResponse r;
        if ((rc = client.call(&S::Undivert, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        if (dv_now) {
          print_announcements(r.announcements(), "withdrew");
        } else {
          print_announcements(r.announcements(), "will withdraw");
          std::printf("once traffic has stayed quiet for %llds (--now withdraws at once)\n",
                      static_cast<long long>(r.hold_down().seconds()));
        }
        return 0;
      }
      if (divert_status->parsed()) {
        v1::GetDiversionResponse r;
        if ((rc = client.call(&S::GetDiversion, v1::GetDiversionRequest{}, &r))) return rc;
        if (o.json) return print_json(r), 0;
        if (!r.speaker_on()) std::printf("BGP speaker: off ([bgp] speaker in the config)\n");
        for (const auto& p : r.providers())
          std::printf("provider %-12s neighbor %-16s session %s%s\n", p.name().c_str(),
                      p.neighbor().c_str(), p.session_state().c_str(),
                      p.always_on() ? " (always on)" : "");
        if (r.announcements().empty() && r.flowspec().empty()) std::printf("nothing announced\n");
        for (const auto& f : r.flowspec())
          std::printf("flowspec  %-40s to %-12s expires in %s, by %s%s\n", f.rule().c_str(),
                      f.provider().c_str(), left(f.expires_at()).c_str(), f.created_by().c_str(),
                      f.reason().empty() ? "" : (", " + f.reason()).c_str());
        for (const auto& a : r.announcements())
          std::printf("%-9s %-20s to %-12s since %s by %s%s%s\n",
                      a.blackhole() ? "blackhole" : "diverted", a.prefix().c_str(),
                      a.provider().c_str(), when(a.since()).c_str(), a.created_by().c_str(),
                      a.reason().empty() ? "" : (", " + a.reason()).c_str(),
                      a.has_withdraw_requested_at() ? "  (withdraw pending: hold-down)" : "");
        return 0;
      }
      if (rtbh_add->parsed()) {
        v1::AddBlackholeRequest req;
        req.set_address(rt_addr);
        if (!set_ttl(rt_ttl, req.mutable_ttl())) return kExitUsage;
        if (rt_ttl.empty()) req.clear_ttl();
        req.set_provider(dv_provider);
        req.set_reason(dv_reason);
        v1::AddBlackholeResponse r;
        if ((rc = client.call(&S::AddBlackhole, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        print_announcements(r.announcements(), "blackholed");
        return 0;
      }
      v1::RemoveBlackholeRequest req;
      req.set_address(rt_addr);
      v1::RemoveBlackholeResponse r;
      if ((rc = client.call(&S::RemoveBlackhole, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      print_announcements(r.announcements(), "withdrew");
      return 0;
    }
    if (baseline->parsed()) {
      v1::GetBaselineResponse r;
      if ((rc = client.call(&S::GetBaseline, v1::GetBaselineRequest{}, &r))) return rc;
      if (o.json) return print_json(r), 0;
      print_baseline(r);
      return 0;
    }
    if (playbook->parsed()) {
      if (!pb_dry) {
        std::cerr << "floodgatectl: the playbook runs by itself when the detector opens an "
                     "incident; add --dry-run to see what it would do now\n";
        return kExitUsage;
      }
      v1::PlanPlaybookRequest req;
      req.set_type(pb_type);
      v1::PlanPlaybookResponse r;
      if ((rc = client.call(&S::PlanPlaybook, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      std::printf("playbook for %s (dry run, nothing changed)%s:\n", pb_type.c_str(),
                  r.dry_run() ? "; playbook.dry_run is on: incidents only record these" : "");
      int n = 1;
      for (const auto& step : r.steps()) std::printf("%2d. %s\n", n++, step.c_str());
      return 0;
    }
    if (incident->parsed()) {
      if (inc_open->parsed()) {
        v1::OpenIncidentRequest req;
        req.set_type(inc_type);
        req.set_note(inc_text);
        v1::OpenIncidentResponse r;
        if ((rc = client.call(&S::OpenIncident, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("incident #%lld opened; contacts are being notified\n",
                    static_cast<long long>(r.id()));
        return 0;
      }
      if (inc_note->parsed()) {
        v1::AddIncidentNoteRequest req;
        req.set_id(inc_id);
        req.set_text(inc_text);
        v1::AddIncidentNoteResponse r;
        if ((rc = client.call(&S::AddIncidentNote, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("noted on incident #%lld\n", static_cast<long long>(r.id()));
        return 0;
      }
      if (inc_check->parsed()) {
        v1::CheckIncidentItemRequest req;
        req.set_id(inc_id);
        req.set_item(inc_item);
        req.set_note(inc_text);
        v1::CheckIncidentItemResponse r;
        if ((rc = client.call(&S::CheckIncidentItem, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("checked %s on incident #%lld\n", inc_item.c_str(),
                    static_cast<long long>(r.id()));
        return 0;
      }
      if (inc_close->parsed()) {
        v1::CloseIncidentRequest req;
        req.set_id(inc_id);
        req.set_note(inc_text);
        v1::CloseIncidentResponse r;
        if ((rc = client.call(&S::CloseIncident, req, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("incident closed; pre-incident settings restored (see `incident show`)\n");
        return 0;
      }
      if (inc_list->parsed()) {
        v1::ListIncidentsResponse r;
        if ((rc = client.call(&S::ListIncidents, v1::ListIncidentsRequest{}, &r))) return rc;
        if (o.json) return print_json(r), 0;
        std::printf("%-5s %-19s %-19s %-15s %-22s %9s %9s  %s\n", "ID", "OPENED", "CLOSED", "TYPE",
                    "CATEGORY", "PEAK PPS", "PEAK BPS", "BY");
        for (const auto& i : r.incidents())
          std::printf("%-5lld %-19s %-19s %-15s %-22s %9s %9s  %s\n",
                      static_cast<long long>(i.id()), local_time(i.opened_at()).c_str(),
                      i.closed_at() ? local_time(i.closed_at()).c_str() : "OPEN", i.type().c_str(),
                      i.category().c_str(), human(i.peak_packets_per_second()).c_str(),
                      human(i.peak_bits_per_second()).c_str(), i.opened_by().c_str());
        if (r.incidents().empty()) std::printf("(no incidents)\n");
        return 0;
      }
      v1::GetIncidentReportRequest req;
      req.set_id(inc_id);
      req.set_format(inc_report->parsed() ? inc_format : "md");
      v1::GetIncidentReportResponse r;
      if ((rc = client.call(&S::GetIncidentReport, req, &r))) return rc;
      if (o.json && !inc_report->parsed()) return print_json(r), 0;
      if (!inc_out.empty()) {
        std::ofstream out(inc_out);
        if (!(out << r.text())) {
          std::cerr << "floodgatectl: cannot write " << inc_out << "\n";
          return kExitUsage;
        }
        std::printf("wrote the report of incident #%lld to %s\n", static_cast<long long>(r.id()),
                    inc_out.c_str());
        return 0;
      }
      std::fputs(r.text().c_str(), stdout);
      return 0;
    }
    if (reflection->parsed()) {
      v1::SetReflectionRequest req;
      const bool ports_wanted = refl_action == "add" || refl_action == "remove";
      if (ports_wanted == refl_ports.empty()) {
        std::cerr << "floodgatectl: "
                  << (ports_wanted ? "give the ports to " + refl_action
                                   : refl_action + " takes no ports")
                  << ", e.g. `floodgatectl reflection add 37810`\n";
        return kExitUsage;
      }
      v1::SetReflectionResponse r;
      if (refl_action == "show") {
        v1::GetPolicyResponse cur;
        if ((rc = client.call(&S::GetPolicy, v1::GetPolicyRequest{}, &cur))) return rc;
        r.set_filter(cur.reflection_filter());
        *r.mutable_ports() = cur.reflection_ports();
      } else {
        if (refl_action == "on" || refl_action == "off") req.set_filter(refl_action == "on");
        for (uint32_t p : refl_ports)
          (refl_action == "add" ? req.add_add_ports(p) : req.add_remove_ports(p));
        if ((rc = client.call(&S::SetReflection, req, &r))) return rc;
      }
      if (o.json) return print_json(r), 0;
      const std::string list = port_list(r.ports(), "(none)");
      std::printf(
          "reflection filter: %s; UDP from source ports %s is dropped unless it goes "
          "to an allowed service\n",
          r.filter() ? "on" : "OFF", list.c_str());
      return 0;
    }
    if (explain->parsed()) {
      v1::ExplainRequest req;
      req.set_address(ex_addr);
      v1::ExplainResponse r;
      if ((rc = client.call(&S::Explain, req, &r))) return rc;
      if (o.json) return print_json(r), 0;
      print_explanation(r);
      return 0;
    }
    if (unload->parsed()) {
      if (!yes) {
        std::cerr
            << "floodgatectl: unload stops all filtering on every interface; repeat with --yes\n";
        return kExitUsage;
      }
      v1::UnloadResponse r;
      if ((rc = client.call(&S::Unload, v1::UnloadRequest{}, &r))) return rc;
      if (o.json) return print_json(r), 0;
      for (const auto& n : r.detached_interfaces()) std::printf("detached from %s\n", n.c_str());
      std::printf("unloaded; floodgated is stopping\n");
      return 0;
    }
    return kExitUsage;
  };

  if (targets.size() == 1) {
    Client client(targets[0]);
    return run(client);
  }
  return run_on_each(targets, o.json, [&](const Options& t) {
    Client client(t);
    return run(client);
  });
}
