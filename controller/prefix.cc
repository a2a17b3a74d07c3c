// Parsing and printing of the prefixes operators type.
#include "prefix.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace floodgate {
namespace {

constexpr uint32_t kMappedV4Word = 0x0000ffff;  // ::ffff:0:0/96, host order

bool is_mapped_v4(const fg_addr& a) {
  return a.w[0] == 0 && a.w[1] == 0 && a.w[2] == htonl(kMappedV4Word);
}

// Clears the bits after `mapped_len` (a length in the 128-bit mapped space).
fg_addr masked(fg_addr a, unsigned mapped_len) {
  const fg_addr m = netmask(mapped_len);
  for (unsigned i = 0; i < 4; i++) a.w[i] &= m.w[i];
  return a;
}

}  // namespace

fg_addr netmask(unsigned mapped_len) {
  fg_addr m{};
  for (unsigned i = 0; i < 4; i++) {
    const unsigned bits = mapped_len > 32 * i ? std::min(mapped_len - 32 * i, 32u) : 0;
    m.w[i] = htonl(bits == 0 ? 0 : ~0u << (32 - bits));
  }
  return m;
}

std::string Prefix::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4)
    inet_ntop(AF_INET, &addr.w[3], buf, sizeof(buf));
  else
    inet_ntop(AF_INET6, addr.w, buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(len);
}

Prefix Prefix::truncated(unsigned to) const {
  Prefix p = *this;
  p.len = std::min(to, len);
  p.addr = masked(addr, p.lpm_len());
  return p;
}

Result<Prefix> parse_prefix(std::string_view text) {
  std::string_view addr_text = text;
  std::string_view len_text;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    len_text = text.substr(slash + 1);
  }
  Prefix p;
  std::string addr_str(addr_text);
  in6_addr v6{};
  if (inet_pton(AF_INET, addr_str.c_str(), &p.addr.w[3]) == 1) {
    p.addr.w[2] = htonl(kMappedV4Word);
    p.v4 = true;
  } else if (inet_pton(AF_INET6, addr_str.c_str(), &v6) == 1) {
    std::memcpy(p.addr.w, &v6, sizeof(v6));
    p.v4 = false;
    if (is_mapped_v4(p.addr))
      return invalid_argument("'" + std::string(text) +
                              "' is an IPv4-mapped IPv6 address; write the IPv4 form instead");
  } else {
    return invalid_argument("'" + std::string(text) +
                            "' is not an IPv4 or IPv6 address or prefix (e.g. 192.0.2.0/24, "
                            "2001:db8::/32)");
  }
  const unsigned max = p.v4 ? 32 : 128;
  p.len = max;
  if (!len_text.empty() || text.find('/') != std::string_view::npos) {
    unsigned len = 0;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc() || end != len_text.data() + len_text.size() || len > max)
      return invalid_argument("'" + std::string(text) + "': prefix length must be 0.." +
                              std::to_string(max));
    p.len = len;
  }
  // IPv4 lives in ::ffff:0:0/96 of the data path's keys; an IPv6 prefix covering that
  // range would silently match IPv4 traffic too.
  if (!p.v4 && p.len <= 96) {
    fg_addr mapped_range{};
    mapped_range.w[2] = htonl(kMappedV4Word);
    const fg_addr a = masked(p.addr, p.len), b = masked(mapped_range, p.len);
    if (p.len == 0)
      return invalid_argument("'" + std::string(text) +
                              "' is every IPv6 address (and to the data path every IPv4 "
                              "address too); give a longer prefix");
    if (std::memcmp(&a, &b, sizeof(a)) == 0)
      return invalid_argument("'" + std::string(text) +
                              "' covers the IPv4-mapped range ::ffff:0:0/96; give IPv4 prefixes "
                              "in IPv4 form and IPv6 prefixes outside that range");
  }
  fg_addr net = masked(p.addr, p.lpm_len());
  if (std::memcmp(&net, &p.addr, sizeof(net)) != 0) {
    Prefix meant = p;
    meant.addr = net;
    return invalid_argument("'" + std::string(text) + "' has host bits set; did you mean " +
                            meant.str() + "?");
  }
  return p;
}

Result<std::vector<Prefix>> parse_prefixes(const std::vector<std::string>& texts,
                                           const std::function<std::string(size_t)>& label) {
  constexpr size_t kListed = 10;
  std::vector<Prefix> out;
  out.reserve(texts.size());
  std::string listed;
  size_t bad = 0;
  for (size_t i = 0; i < texts.size(); i++) {
    auto p = parse_prefix(texts[i]);
    if (p.ok()) {
      out.push_back(*p);
      continue;
    }
    if (texts.size() == 1) return p.error();
    if (bad++ < kListed) listed += "\n  " + label(i) + ": " + p.error().message;
  }
  if (bad == 0) return out;
  if (bad > kListed) listed += "\n  ... and " + std::to_string(bad - kListed) + " more";
  return invalid_argument(std::to_string(bad) + " of " + std::to_string(texts.size()) +
                          " prefixes are not valid; nothing was applied:" + listed);
}

bool contains(const Prefix& outer, const Prefix& inner) {
  if (outer.v4 != inner.v4 || outer.len > inner.len) return false;
  const fg_addr m = masked(inner.addr, outer.lpm_len());
  return std::memcmp(&m, &outer.addr, sizeof(m)) == 0;
}

Prefix prefix_from_key(const fg_lpm_key& key) {
  Prefix p;
  p.addr = key.addr;
  p.v4 = is_mapped_v4(key.addr) && key.prefixlen >= 96;
  p.len = p.v4 ? key.prefixlen - 96 : key.prefixlen;
  return p;
}

}  // namespace floodgate
