// GoBGP API calls and the gobgpd child process.
#include "gobgp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "attribute.pb.h"
#include "gobgp.grpc.pb.h"

namespace floodgate {
namespace {

constexpr auto kTimeout = std::chrono::seconds(5);

std::unique_ptr<grpc::ClientContext> context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + kTimeout);
  return ctx;
}

Status status_of(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return Ok{};
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE)
    return failed_precondition("gobgpd is not reachable for " + what + ": " + s.error_message());
  return internal_error("gobgpd refused " + what + ": " + s.error_message());
}

apipb::Family family(bool v6, bool flowspec = false) {
  apipb::Family f;
  f.set_afi(v6 ? apipb::Family::AFI_IP6 : apipb::Family::AFI_IP);
  f.set_safi(flowspec ? apipb::Family::SAFI_FLOW_SPEC_UNICAST : apipb::Family::SAFI_UNICAST);
  return f;
}

std::string address_text(const Prefix& p) {
  const std::string s = p.str();
  return s.substr(0, s.find('/'));
}

apipb::Path to_path(const BgpRoute& r) {
  apipb::Path path;
  apipb::IPAddressPrefix nlri;
  nlri.set_prefix_len(r.prefix.len);
  nlri.set_prefix(address_text(r.prefix));
  path.mutable_nlri()->PackFrom(nlri);
  apipb::OriginAttribute origin;
  origin.set_origin(0);  // IGP
  path.add_pattrs()->PackFrom(origin);
  if (r.prefix.v4) {
    apipb::NextHopAttribute nh;
    nh.set_next_hop(r.next_hop);
    path.add_pattrs()->PackFrom(nh);
  } else {
    // IPv6 reachability travels in MP_REACH_NLRI with its own next hop.
    apipb::MpReachNLRIAttribute mp;
    *mp.mutable_family() = family(true);
    mp.add_next_hops(r.next_hop);
    mp.add_nlris()->PackFrom(nlri);
    path.add_pattrs()->PackFrom(mp);
  }
  if (!r.communities.empty()) {
    apipb::CommunitiesAttribute c;
    for (uint32_t x : r.communities) c.add_communities(x);
    path.add_pattrs()->PackFrom(c);
  }
  *path.mutable_family() = family(!r.prefix.v4);
  return path;
}

// RFC 8955 component types and the numeric operator for "equals".
enum : uint32_t { kFsDst = 1, kFsSrc = 2, kFsProto = 3, kFsDstPort = 5, kFsSrcPort = 6 };
constexpr uint32_t kOpEq = 0x01;

void add_component(apipb::FlowSpecNLRI& nlri, uint32_t type, const std::vector<uint64_t>& values) {
  if (values.empty()) return;
  apipb::FlowSpecComponent c;
  c.set_type(type);
  for (uint64_t v : values) {  // OR of equalities; gobgpd sets the end-of-list bit
    auto* item = c.add_items();
    item->set_op(kOpEq);
    item->set_value(v);
  }
  nlri.add_rules()->PackFrom(c);
}

void add_prefix_rule(apipb::FlowSpecNLRI& nlri, uint32_t type, const Prefix& p) {
  apipb::FlowSpecIPPrefix r;
  r.set_type(type);
  r.set_prefix_len(p.len);
  r.set_prefix(address_text(p));
  nlri.add_rules()->PackFrom(r);
}

apipb::Path to_path(const FlowRule& f) {
  apipb::FlowSpecNLRI nlri;
  add_prefix_rule(nlri, kFsDst, f.dst);
  if (f.src) add_prefix_rule(nlri, kFsSrc, *f.src);
  if (f.protocol) add_component(nlri, kFsProto, {f.protocol});
  add_component(nlri, kFsDstPort, {f.dst_ports.begin(), f.dst_ports.end()});
  add_component(nlri, kFsSrcPort, {f.src_ports.begin(), f.src_ports.end()});
  apipb::Path path;
  path.mutable_nlri()->PackFrom(nlri);
  apipb::OriginAttribute origin;
  path.add_pattrs()->PackFrom(origin);
  apipb::MpReachNLRIAttribute mp;  // FlowSpec has no next hop: 0.0.0.0
  *mp.mutable_family() = family(false, true);
  mp.add_next_hops("0.0.0.0");
  mp.add_nlris()->PackFrom(nlri);
  path.add_pattrs()->PackFrom(mp);
  apipb::TrafficRateExtended rate;  // RFC 8955 traffic-rate-bytes: 0 discards
  rate.set_rate(f.rate);
  apipb::ExtendedCommunitiesAttribute ext;
  ext.add_communities()->PackFrom(rate);
  path.add_pattrs()->PackFrom(ext);
  *path.mutable_family() = family(false, true);
  return path;
}

}  // namespace

std::string FlowRule::str() const {
  std::string out = "dst " + dst.str();
  if (src) out += " src " + src->str();
  if (protocol) out += " proto " + std::to_string(protocol);
  auto ports = [&](const char* name, const std::vector<uint16_t>& v) {
    if (v.empty()) return;
    out += std::string(" ") + name + " ";
    for (size_t i = 0; i < v.size(); i++) out += (i ? "," : "") + std::to_string(v[i]);
  };
  ports("dport", dst_ports);
  ports("sport", src_ports);
  char rate_text[32];
  std::snprintf(rate_text, sizeof(rate_text), "%.0f", static_cast<double>(rate));
  return out + " rate " + rate_text;
}

Result<FlowRule> parse_flow_rule(const std::string& text) {
  FlowRule f;
  bool have_dst = false;
  std::istringstream in(text);
  auto bad = [&](const std::string& why) -> Error {
    return invalid_argument("FlowSpec rule '" + text + "': " + why +
                            " (e.g. dst 198.51.100.0/24 proto 17 sport 123 rate 0)");
  };
  auto port_list = [](const std::string& v, std::vector<uint16_t>& out) {
    std::stringstream ss(v);
    for (std::string item; std::getline(ss, item, ',');) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end || n > 65535) return false;
      out.push_back(static_cast<uint16_t>(n));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return !out.empty();
  };
  for (std::string key, value; in >> key;) {
    if (!(in >> value)) return bad("'" + key + "' needs a value");
    if (key == "dst" || key == "src") {
      auto p = parse_prefix(value);
      if (!p.ok()) return bad(p.error().message);
      if (!p->v4) return bad("only IPv4 FlowSpec is supported");
      (key == "dst" ? f.dst : f.src.emplace()) = *p;
      have_dst |= key == "dst";
    } else if (key == "proto") {
      const std::map<std::string, uint8_t> names = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}};
      if (auto it = names.find(value); it != names.end()) {
        f.protocol = it->second;
      } else {
        char* end = nullptr;
        const unsigned long n = std::strtoul(value.c_str(), &end, 10);
        if (*end || n == 0 || n > 255) return bad("proto is tcp, udp, icmp or 1..255");
        f.protocol = static_cast<uint8_t>(n);
      }
    } else if (key == "dport" || key == "sport") {
      if (!port_list(value, key == "dport" ? f.dst_ports : f.src_ports))
        return bad(key + " is a comma-separated list of ports");
    } else if (key == "rate") {
      char* end = nullptr;
      const double r = std::strtod(value.c_str(), &end);
      if (*end || r < 0) return bad("rate is bytes per second, 0 to drop");
      f.rate = static_cast<float>(r);
    } else {
      return bad("unknown key '" + key + "'");
    }
  }
  if (!have_dst) return bad("a destination prefix (dst) is required");
  if ((!f.dst_ports.empty() || !f.src_ports.empty()) && f.protocol != 6 && f.protocol != 17)
    return bad("ports need proto tcp or udp");
  return f;
}

Result<uint32_t> parse_community(const std::string& text) {
  const auto colon = text.find(':');
  unsigned long asn = 0, value = 0;
  try {
    if (colon == std::string::npos) throw 0;
    size_t a = 0, b = 0;
    asn = std::stoul(text.substr(0, colon), &a);
    value = std::stoul(text.substr(colon + 1), &b);
    if (a != colon || b != text.size() - colon - 1) throw 0;
  } catch (...) {
    return invalid_argument("'" + text + "' is not a BGP community like 65000:100");
  }
  if (asn > 65535 || value > 65535)
    return invalid_argument("'" + text + "': both halves of a community are 0..65535");
  return static_cast<uint32_t>(asn << 16 | value);
}

std::string community_text(uint32_t c) {
  return std::to_string(c >> 16) + ":" + std::to_string(c & 0xffff);
}

const char* session_state_name(BgpSessionState s) {
  switch (s) {
    case BgpSessionState::kUnknown:
      return "unknown";
    case BgpSessionState::kIdle:
      return "idle";
    case BgpSessionState::kConnect:
      return "connect";
    case BgpSessionState::kActive:
      return "active";
    case BgpSessionState::kOpenSent:
      return "opensent";
    case BgpSessionState::kOpenConfirm:
      return "openconfirm";
    case BgpSessionState::kEstablished:
      return "established";
  }
  return "unknown";
}

struct GobgpClient::Stub {
  std::unique_ptr<apipb::GobgpApi::Stub> api;
  apipb::GobgpApi::Stub* operator->() { return api.get(); }
};

GobgpClient::GobgpClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(new Stub{apipb::GobgpApi::NewStub(std::move(channel))}) {}

GobgpClient::~GobgpClient() = default;

Status GobgpClient::start(uint32_t asn, const std::string& router_id, int32_t listen_port) {
  apipb::StartBgpRequest req;
  req.mutable_global()->set_asn(asn);
  req.mutable_global()->set_router_id(router_id);
  req.mutable_global()->set_listen_port(listen_port);
  google::protobuf::Empty resp;
  return status_of((*stub_)->StartBgp(context().get(), req, &resp), "StartBgp");
}

Status GobgpClient::add_peer(const std::string& address, uint32_t peer_asn, bool flowspec,
                             bool passive) {
  apipb::AddPeerRequest req;
  auto* peer = req.mutable_peer();
  peer->mutable_conf()->set_neighbor_address(address);
  peer->mutable_conf()->set_peer_asn(peer_asn);
  // GoBGP's default is 120 s: a session to the scrubbing provider that dropped could
  // stay down for two minutes of an attack before the next try.
  peer->mutable_timers()->mutable_config()->set_connect_retry(kConnectRetrySeconds);
  peer->mutable_transport()->set_passive_mode(passive);
  for (const bool v6 : {false, true})
    for (const bool fs : {false, true}) {
      if (fs && !flowspec) continue;
      auto* afi = peer->add_afi_safis()->mutable_config();
      *afi->mutable_family() = family(v6, fs);
      afi->set_enabled(true);
    }
  google::protobuf::Empty resp;
  return status_of((*stub_)->AddPeer(context().get(), req, &resp), "AddPeer " + address);
}

Result<BgpSessionState> GobgpClient::session_state(const std::string& address) {
  apipb::ListPeerRequest req;
  req.set_address(address);
  auto ctx = context();
  auto reader = (*stub_)->ListPeer(ctx.get(), req);
  apipb::ListPeerResponse resp;
  std::optional<BgpSessionState> state;
  while (reader->Read(&resp))
    state = static_cast<BgpSessionState>(resp.peer().state().session_state());
  if (auto s = status_of(reader->Finish(), "ListPeer"); !s) return s.error();
  if (!state) return not_found("no BGP neighbour " + address + " is configured");
  return *state;
}

Status GobgpClient::announce(const BgpRoute& r) {
  apipb::AddPathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_path() = to_path(r);
  apipb::AddPathResponse resp;
  return status_of((*stub_)->AddPath(context().get(), req, &resp), "announcing " + r.prefix.str());
}

Status GobgpClient::withdraw(const BgpRoute& r) {
  apipb::DeletePathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_family() = family(!r.prefix.v4);
  *req.mutable_path() = to_path(r);
  google::protobuf::Empty resp;
  return status_of((*stub_)->DeletePath(context().get(), req, &resp),
                   "withdrawing " + r.prefix.str());
}

Result<std::vector<BgpRoute>> GobgpClient::rib(bool v6) {
  apipb::ListPathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_family() = family(v6);
  auto ctx = context();
  auto reader = (*stub_)->ListPath(ctx.get(), req);
  apipb::ListPathResponse resp;
  std::vector<BgpRoute> out;
  while (reader->Read(&resp)) {
    for (const apipb::Path& path : resp.destination().paths()) {
      if (!path.best()) continue;
      BgpRoute r;
      apipb::IPAddressPrefix nlri;
      if (!path.nlri().UnpackTo(&nlri)) continue;
      auto p = parse_prefix(nlri.prefix() + "/" + std::to_string(nlri.prefix_len()));
      if (!p.ok()) continue;
      r.prefix = *p;
      for (const auto& attr : path.pattrs()) {
        apipb::NextHopAttribute nh;
        apipb::MpReachNLRIAttribute mp;
        apipb::CommunitiesAttribute c;
        if (attr.UnpackTo(&nh))
          r.next_hop = nh.next_hop();
        else if (attr.UnpackTo(&mp) && mp.next_hops_size() > 0)
          r.next_hop = mp.next_hops(0);
        else if (attr.UnpackTo(&c))
          r.communities.assign(c.communities().begin(), c.communities().end());
      }
      out.push_back(std::move(r));
    }
  }
  if (auto s = status_of(reader->Finish(), "ListPath"); !s) return s.error();
  return out;
}

Status GobgpClient::announce(const FlowRule& r) {
  apipb::AddPathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_path() = to_path(r);
  apipb::AddPathResponse resp;
  return status_of((*stub_)->AddPath(context().get(), req, &resp),
                   "announcing FlowSpec " + r.str());
}

Status GobgpClient::withdraw(const FlowRule& r) {
  apipb::DeletePathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_family() = family(false, true);
  *req.mutable_path() = to_path(r);
  google::protobuf::Empty resp;
  return status_of((*stub_)->DeletePath(context().get(), req, &resp),
                   "withdrawing FlowSpec " + r.str());
}

Result<std::vector<FlowRule>> GobgpClient::flowspec_rib() {
  apipb::ListPathRequest req;
  req.set_table_type(apipb::GLOBAL);
  *req.mutable_family() = family(false, true);
  auto ctx = context();
  auto reader = (*stub_)->ListPath(ctx.get(), req);
  apipb::ListPathResponse resp;
  std::vector<FlowRule> out;
  while (reader->Read(&resp)) {
    for (const apipb::Path& path : resp.destination().paths()) {
      if (!path.best()) continue;
      apipb::FlowSpecNLRI nlri;
      if (!path.nlri().UnpackTo(&nlri)) continue;
      FlowRule f;
      for (const auto& any : nlri.rules()) {
        apipb::FlowSpecIPPrefix pr;
        apipb::FlowSpecComponent c;
        if (any.UnpackTo(&pr)) {
          auto p = parse_prefix(pr.prefix() + "/" + std::to_string(pr.prefix_len()));
          if (!p.ok()) continue;
          (pr.type() == kFsDst ? f.dst : f.src.emplace()) = *p;
        } else if (any.UnpackTo(&c)) {
          for (const auto& item : c.items()) {
            if (c.type() == kFsProto) f.protocol = static_cast<uint8_t>(item.value());
            if (c.type() == kFsDstPort) f.dst_ports.push_back(static_cast<uint16_t>(item.value()));
            if (c.type() == kFsSrcPort) f.src_ports.push_back(static_cast<uint16_t>(item.value()));
          }
        }
      }
      for (const auto& attr : path.pattrs()) {
        apipb::ExtendedCommunitiesAttribute ext;
        if (!attr.UnpackTo(&ext)) continue;
        for (const auto& c : ext.communities()) {
          apipb::TrafficRateExtended rate;
          if (c.UnpackTo(&rate)) f.rate = rate.rate();
        }
      }
      out.push_back(std::move(f));
    }
  }
  if (auto s = status_of(reader->Finish(), "ListPath FlowSpec"); !s) return s.error();
  return out;
}

Result<std::unique_ptr<GobgpProcess>> GobgpProcess::start(const std::string& binary, int api_port,
                                                          const std::string& log_path) {
  std::unique_ptr<GobgpProcess> p(new GobgpProcess());
  p->port_ = api_port;
  const std::string hosts = "--api-hosts=127.0.0.1:" + std::to_string(api_port);
  p->pid_ = fork();
  if (p->pid_ < 0) return internal_error("fork for gobgpd failed");
  if (p->pid_ == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(binary.c_str(), binary.c_str(), hosts.c_str(), "--pprof-disable", "--log-plain",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the API accepts connections (a plain connect: it works in whatever network
  // namespace the caller is, where gRPC's own threads might not be).
  for (int i = 0; i < 100; i++) {
    int status = 0;
    if (waitpid(p->pid_, &status, WNOHANG) == p->pid_) {
      p->pid_ = -1;
      return failed_precondition("gobgpd (" + binary + ") exited at once; see " + log_path);
    }
    if (loopback_port_open(api_port)) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return failed_precondition("gobgpd did not open its API on " + p->api_address() + "; see " +
                             log_path);
}

bool loopback_port_open(int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool up = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  close(fd);
  return up;
}

bool GobgpProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

GobgpProcess::~GobgpProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; i++) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

}  // namespace floodgate
