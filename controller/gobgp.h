// GoBGP, the BGP speaker behind diversion: a typed client over gobgpd's own gRPC API
// (apipb, attributes packed in google.protobuf.Any), and a gobgpd child process whose
// API listens on loopback only.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prefix.h"
#include "result.h"

namespace floodgate {

// One unicast route as Floodgate announces it.
struct BgpRoute {
  Prefix prefix;
  std::string next_hop;               // IPv4 or IPv6 address
  std::vector<uint32_t> communities;  // ASN << 16 | value
  bool operator==(const BgpRoute&) const = default;
};

// A FlowSpec rule (RFC 8955) for IPv4: what to match, and a rate (0 = discard).
struct FlowRule {
  Prefix dst;  // must be set
  std::optional<Prefix> src;
  uint8_t protocol = 0;  // IPPROTO_*; 0 = any
  std::vector<uint16_t> dst_ports, src_ports;
  float rate = 0;  // bytes per second allowed; 0 = drop all
  bool operator==(const FlowRule&) const = default;
  // Canonical text, also its identity: "dst 198.51.100.0/24 proto 17 sport 123 rate 0".
  std::string str() const;
};
Result<FlowRule> parse_flow_rule(const std::string& text);

// "65000:100" -> 65000 << 16 | 100.
Result<uint32_t> parse_community(const std::string& text);
std::string community_text(uint32_t c);

enum class BgpSessionState {
  kUnknown,
  kIdle,
  kConnect,
  kActive,
  kOpenSent,
  kOpenConfirm,
  kEstablished
};
const char* session_state_name(BgpSessionState s);

class GobgpClient {
 public:
  explicit GobgpClient(std::shared_ptr<grpc::Channel> channel);
  ~GobgpClient();

  // The speaker's own identity; listen_port -1 = do not accept connections.
  Status start(uint32_t asn, const std::string& router_id, int32_t listen_port = 179);
  // A neighbour with IPv4 and IPv6 unicast (and FlowSpec when asked), tried again every
  // kConnectRetrySeconds while it is down. `passive`: wait for it to connect (a test's
  // provider, so that the two sides never connect at once and collide).
  static constexpr uint64_t kConnectRetrySeconds = 10;
  Status add_peer(const std::string& address, uint32_t peer_asn, bool flowspec = false,
                  bool passive = false);
  Result<BgpSessionState> session_state(const std::string& address);

  Status announce(const BgpRoute& r);
  Status withdraw(const BgpRoute& r);
  // The best paths of the global RIB for the route's family.
  Result<std::vector<BgpRoute>> rib(bool v6);

  Status announce(const FlowRule& r);
  Status withdraw(const FlowRule& r);
  Result<std::vector<FlowRule>> flowspec_rib();

 private:
  struct Stub;  // the generated apipb stub, kept out of this header
  std::unique_ptr<Stub> stub_;
};

// gobgpd started as a child process with its API on 127.0.0.1:api_port only (its
// default is every interface, unauthenticated). Stopped by the destructor unless
// released.
class GobgpProcess {
 public:
  static Result<std::unique_ptr<GobgpProcess>> start(const std::string& binary, int api_port,
                                                     const std::string& log_path);
  ~GobgpProcess();
  pid_t pid() const { return pid_; }
  bool alive();
  // Leaves gobgpd running when this object goes (diversion outlives the daemon).
  void release() { pid_ = -1; }
  std::string api_address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// True when something accepts TCP connections on 127.0.0.1:port (in the caller's
// network namespace).
bool loopback_port_open(int port);

}  // namespace floodgate
