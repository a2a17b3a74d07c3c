// IPv4/IPv6 prefixes as the data path stores them (IPv4-mapped, network byte order).
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "floodgate.h"
#include "result.h"

namespace floodgate {

struct Prefix {
  fg_addr addr{};
  unsigned len = 0;  // in the family's own terms: 0..32 for IPv4, 0..128 for IPv6
  bool v4 = true;

  unsigned lpm_len() const { return v4 ? 96 + len : len; }  // in the mapped space
  bool is_host() const { return len == (v4 ? 32u : 128u); }
  fg_lpm_key lpm_key() const { return fg_lpm_key{lpm_len(), addr}; }
  // The prefix of length `len` (family terms) that covers this one.
  Prefix truncated(unsigned len) const;
  std::string str() const;
  // Inline: hash sets of a million prefixes call it once per lookup.
  bool operator==(const Prefix& o) const {
    return v4 == o.v4 && len == o.len && std::memcmp(&addr, &o.addr, sizeof(addr)) == 0;
  }
};

// For unordered containers of prefixes (batches of 100k are checked for duplicates).
struct PrefixHash {
  size_t operator()(const Prefix& p) const {
    uint64_t h = p.len;
    for (uint32_t w : p.addr.w) h = (h ^ w) * 0x100000001b3ull;  // FNV-1a over words
    // splitmix64's finalizer: every input bit reaches the low bits too, which flat hash
    // tables (absl) use to pick a slot's tag.
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

// Parses "192.0.2.1", "192.0.2.0/24", "2001:db8::/32". A bare address is a host prefix.
// Host bits set ("192.0.2.1/24") is an error that names the prefix meant.
Result<Prefix> parse_prefix(std::string_view text);

// Parses every text, in order. When some are not prefixes, the one error lists the first
// ten, each after label(i) (e.g. "#3" or "blocklist.txt:12"), and says how many there are,
// so that a long list is fixed in one pass. A single text's error is parse_prefix's.
Result<std::vector<Prefix>> parse_prefixes(const std::vector<std::string>& texts,
                                           const std::function<std::string(size_t)>& label);

// True when `outer` covers all of `inner` (same family, shorter or equal length).
bool contains(const Prefix& outer, const Prefix& inner);

// The netmask of a length in the 128-bit mapped space (IPv4 /n is 96 + n), network order.
fg_addr netmask(unsigned mapped_len);

// The prefix an fg_lpm_key (or a host fg_addr) stands for.
Prefix prefix_from_key(const fg_lpm_key& key);

}  // namespace floodgate
