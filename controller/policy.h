// The port/protocol policy in operator terms, its validation and its stored form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "floodgate.h"
#include "result.h"

namespace floodgate {

struct ProtocolPolicy {
  uint8_t default_action = FG_ACT_PASS;  // enum fg_action
  std::vector<uint16_t> allow;           // ports (ICMP: types)
  std::vector<uint16_t> deny;
  bool operator==(const ProtocolPolicy&) const = default;
};

using Policy = std::array<ProtocolPolicy, FG_PROTO_MAX>;  // by enum fg_proto

const char* proto_name(fg_proto p);  // "tcp", "udp", "icmp", "icmpv6", "other"

// Sorts and dedupes the lists; refuses ports out of range, a port on both lists, ports
// for "other", and a TCP default of drop that leaves a management port unallowed
// (unless force).
Result<ProtocolPolicy> validate_policy(fg_proto proto, ProtocolPolicy p,
                                       const std::vector<uint16_t>& management_ports, bool force);

// "drop;22,80,443;23" <-> ProtocolPolicy, for the store's settings table.
std::string encode_policy(const ProtocolPolicy& p);
std::optional<ProtocolPolicy> decode_policy(const std::string& s);

}  // namespace floodgate
