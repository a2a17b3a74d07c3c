// Policy validation and encoding.
#include "policy.h"

#include <algorithm>
#include <sstream>

namespace floodgate {
namespace {

std::string join(const std::vector<uint16_t>& v) {
  std::string out;
  for (uint16_t x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

std::optional<std::vector<uint16_t>> split(const std::string& s) {
  std::vector<uint16_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    try {
      const unsigned long v = std::stoul(item);
      if (v > 65535) return std::nullopt;
      out.push_back(static_cast<uint16_t>(v));
    } catch (...) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

const char* proto_name(fg_proto p) {
  switch (p) {
    case FG_PROTO_TCP:
      return "tcp";
    case FG_PROTO_UDP:
      return "udp";
    case FG_PROTO_ICMP:
      return "icmp";
    case FG_PROTO_ICMP6:
      return "icmpv6";
    case FG_PROTO_OTHER:
      return "other";
    case FG_PROTO_MAX:
      break;
  }
  return "?";
}

Result<ProtocolPolicy> validate_policy(fg_proto proto, ProtocolPolicy p,
                                       const std::vector<uint16_t>& management_ports, bool force) {
  const std::string name = proto_name(proto);
  if (p.default_action != FG_ACT_PASS && p.default_action != FG_ACT_DROP)
    return invalid_argument(name + ": the default action must be pass or drop");
  if (proto == FG_PROTO_OTHER && (!p.allow.empty() || !p.deny.empty()))
    return invalid_argument("other protocols have no ports: give only a default action");
  const unsigned max = proto == FG_PROTO_ICMP || proto == FG_PROTO_ICMP6 ? 255 : 65535;
  for (auto* list : {&p.allow, &p.deny}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
    for (uint16_t port : *list)
      if (port > max)
        return invalid_argument(name + ": " + std::to_string(port) + " is out of range (0.." +
                                std::to_string(max) + (max == 255 ? ", ICMP types" : "") + ")");
  }
  for (uint16_t port : p.allow)
    if (std::binary_search(p.deny.begin(), p.deny.end(), port))
      return invalid_argument(name + " port " + std::to_string(port) +
                              " is on both the allow and the deny list; pick one");
  if (proto == FG_PROTO_TCP && p.default_action == FG_ACT_DROP && !force) {
    std::vector<uint16_t> locked;
    for (uint16_t m : management_ports)
      if (!std::binary_search(p.allow.begin(), p.allow.end(), m)) locked.push_back(m);
    if (!locked.empty())
      return failed_precondition("a TCP default of drop without allowing " + join(locked) +
                                 " would cut off remote management of this host "
                                 "(rules.management_ports); add it to the allowed ports, or "
                                 "give --force");
  }
  return p;
}

std::string encode_policy(const ProtocolPolicy& p) {
  return std::string(p.default_action == FG_ACT_DROP ? "drop" : "pass") + ";" + join(p.allow) +
         ";" + join(p.deny);
}

std::optional<ProtocolPolicy> decode_policy(const std::string& s) {
  const auto a = s.find(';');
  const auto b = a == std::string::npos ? a : s.find(';', a + 1);
  if (b == std::string::npos) return std::nullopt;
  ProtocolPolicy p;
  const std::string action = s.substr(0, a);
  if (action != "pass" && action != "drop") return std::nullopt;
  p.default_action = action == "drop" ? FG_ACT_DROP : FG_ACT_PASS;
  auto allow = split(s.substr(a + 1, b - a - 1));
  auto deny = split(s.substr(b + 1));
  if (!allow || !deny) return std::nullopt;
  p.allow = *allow;
  p.deny = *deny;
  return p;
}

}  // namespace floodgate
