// Builds test frames: Ethernet, VLAN tags, IPv4 (options, fragments) or IPv6 (extension
// headers, fragment header), TCP/UDP/ICMP/ICMPv6, payload. Every length field is right
// unless a test bends it on purpose; truncation is done by the caller on the bytes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace floodgate::test {

class PacketBuilder {
 public:
  PacketBuilder& ipv4(const std::string& src, const std::string& dst) {
    v6_ = false;
    src_ = src;
    dst_ = dst;
    return *this;
  }
  PacketBuilder& ipv6(const std::string& src, const std::string& dst) {
    v6_ = true;
    src_ = src;
    dst_ = dst;
    return *this;
  }
  PacketBuilder& vlan(uint16_t tpid = 0x8100) {
    vlans_.push_back(tpid);
    return *this;
  }
  PacketBuilder& ethertype(uint16_t t) {
    ethertype_ = t;
    return *this;
  }
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = kSyn) {
    proto_ = IPPROTO_TCP;
    sport_ = sport;
    dport_ = dport;
    tcp_flags_ = flags;
    return *this;
  }
  PacketBuilder& udp(uint16_t sport, uint16_t dport) {
    proto_ = IPPROTO_UDP;
    sport_ = sport;
    dport_ = dport;
    return *this;
  }
  PacketBuilder& icmp(uint8_t type) {
    proto_ = static_cast<uint8_t>(v6_ ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    icmp_type_ = type;
    return *this;
  }
  PacketBuilder& l4proto(uint8_t proto) {
    proto_ = proto;
    return *this;
  }
  PacketBuilder& payload(size_t n) {
    payload_ = n;
    return *this;
  }
  // IPv4: ihl in 32-bit words (> 5 adds NOP options); offset in 8-byte units.
  PacketBuilder& ihl(uint8_t words) {
    ihl_ = words;
    return *this;
  }
  PacketBuilder& fragment(uint16_t offset_units, bool more) {
    frag_ = true;
    frag_offset_ = offset_units;
    frag_more_ = more;
    return *this;
  }
  // IPv6: extension headers before the fragment header / L4 (hop-by-hop first).
  PacketBuilder& ext(uint8_t type) {
    exts_.push_back(type);
    return *this;
  }
  PacketBuilder& tcp_doff(uint8_t words) {
    tcp_doff_ = words;
    return *this;
  }
  // Added to the IP length field (IPv4 total length / IPv6 payload length).
  PacketBuilder& ip_len_delta(int d) {
    ip_len_delta_ = d;
    return *this;
  }
  PacketBuilder& udp_len(uint16_t len) {
    udp_len_ = len;
    return *this;
  }

  static constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> l4 = build_l4();
    std::vector<uint8_t> l3 = v6_ ? build_v6(l4) : build_v4(l4);
    std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
    for (uint16_t tpid : vlans_) {
      put16(f, tpid);
      put16(f, 100);  // VLAN id 100
    }
    put16(f, ethertype_ ? ethertype_ : (v6_ ? 0x86dd : 0x0800));
    f.insert(f.end(), l3.begin(), l3.end());
    return f;
  }

  // Byte offset where the IP header starts.
  size_t l3_offset() const { return 14 + 4 * vlans_.size(); }

 private:
  static void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x >> 8));
    v.push_back(static_cast<uint8_t>(x));
  }

  std::vector<uint8_t> build_l4() const {
    std::vector<uint8_t> h;
    if (frag_ && frag_offset_ != 0) {  // a non-first fragment carries only payload
      h.assign(payload_, 0xab);
      return h;
    }
    if (proto_ == IPPROTO_TCP) {
      put16(h, sport_);
      put16(h, dport_);
      h.insert(h.end(), 8, 0);  // seq, ack
      h.push_back(static_cast<uint8_t>(tcp_doff_ << 4));
      h.push_back(tcp_flags_);
      put16(h, 65535);
      h.insert(h.end(), 4, 0);                                        // checksum, urgent
      if (tcp_doff_ > 5) h.insert(h.end(), (tcp_doff_ - 5) * 4u, 1);  // NOP options
    } else if (proto_ == IPPROTO_UDP) {
      put16(h, sport_);
      put16(h, dport_);
      put16(h, udp_len_ ? udp_len_ : static_cast<uint16_t>(8 + payload_));
      put16(h, 0);
    } else if (proto_ == IPPROTO_ICMP || proto_ == IPPROTO_ICMPV6) {
      h = {icmp_type_, 0, 0, 0, 0, 1, 0, 1};
    }
    h.insert(h.end(), payload_, 0xab);
    return h;
  }

  std::vector<uint8_t> build_v4(const std::vector<uint8_t>& l4) const {
    std::vector<uint8_t> h(ihl_ >= 5 ? ihl_ * 4u : 20u, 1);
    h[0] = static_cast<uint8_t>(0x40 | (ihl_ & 0x0f));
    h[1] = 0;
    const int tot = static_cast<int>(h.size() + l4.size()) + ip_len_delta_;
    h[2] = static_cast<uint8_t>(tot >> 8);
    h[3] = static_cast<uint8_t>(tot);
    h[4] = 0x12;
    h[5] = 0x34;
    const uint16_t frag =
        static_cast<uint16_t>((frag_more_ ? 0x2000 : 0) | (frag_offset_ & 0x1fff));
    h[6] = static_cast<uint8_t>(frag >> 8);
    h[7] = static_cast<uint8_t>(frag);
    h[8] = 64;
    h[9] = proto_;
    h[10] = h[11] = 0;
    inet_pton(AF_INET, src_.c_str(), &h[12]);
    inet_pton(AF_INET, dst_.c_str(), &h[16]);
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < h.size(); i += 2) sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    h[10] = static_cast<uint8_t>(~sum >> 8);
    h[11] = static_cast<uint8_t>(~sum);
    h.insert(h.end(), l4.begin(), l4.end());
    return h;
  }

  std::vector<uint8_t> build_v6(const std::vector<uint8_t>& l4) const {
    std::vector<uint8_t> chain;
    std::vector<uint8_t> types = exts_;
    if (frag_) types.push_back(IPPROTO_FRAGMENT);
    for (size_t i = 0; i < types.size(); i++) {
      const uint8_t next = i + 1 < types.size() ? types[i + 1] : proto_;
      if (types[i] == IPPROTO_FRAGMENT) {
        chain.push_back(next);
        chain.push_back(0);
        put16(chain, static_cast<uint16_t>(frag_offset_ << 3 | (frag_more_ ? 1 : 0)));
        chain.insert(chain.end(), {0, 0, 0, 1});
      } else {
        chain.push_back(next);
        chain.push_back(0);                             // 8 bytes in all
        chain.insert(chain.end(), {1, 4, 0, 0, 0, 0});  // PadN option
      }
    }
    std::vector<uint8_t> h(40, 0);
    h[0] = 0x60;
    const int plen = static_cast<int>(chain.size() + l4.size()) + ip_len_delta_;
    h[4] = static_cast<uint8_t>(plen >> 8);
    h[5] = static_cast<uint8_t>(plen);
    h[6] = types.empty() ? proto_ : types[0];
    h[7] = 64;
    inet_pton(AF_INET6, src_.c_str(), &h[8]);
    inet_pton(AF_INET6, dst_.c_str(), &h[24]);
    h.insert(h.end(), chain.begin(), chain.end());
    h.insert(h.end(), l4.begin(), l4.end());
    return h;
  }

  bool v6_ = false;
  std::string src_ = "198.18.0.1";
  std::string dst_ = "198.19.0.1";
  std::vector<uint16_t> vlans_;
  uint16_t ethertype_ = 0;
  uint8_t proto_ = IPPROTO_UDP;
  uint16_t sport_ = 40000;
  uint16_t dport_ = 9;
  uint8_t tcp_flags_ = kSyn;
  uint8_t tcp_doff_ = 5;
  uint8_t icmp_type_ = 8;
  size_t payload_ = 18;
  uint8_t ihl_ = 5;
  bool frag_ = false;
  uint16_t frag_offset_ = 0;
  bool frag_more_ = false;
  std::vector<uint8_t> exts_;
  int ip_len_delta_ = 0;
  uint16_t udp_len_ = 0;
};

}  // namespace floodgate::test
