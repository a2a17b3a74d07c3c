// The values behind defaults.h; change them only together with the README's table.
#include "defaults.h"

#include "bucket.h"

namespace floodgate {

fg_config default_config() {
  fg_config c{};
  c.layout_version = FG_LAYOUT_VERSION;
  c.mode = FG_MODE_MONITOR;
  c.malformed_action = FG_ACT_DROP;
  c.frag_nonfirst_action = FG_ACT_PASS;
  c.frag_tcp_action = FG_ACT_DROP;
  c.reflection_on = 1;
  c.agg_on = 0;
  c.src_prefix_v4 = 32;
  c.src_prefix_v6 = 64;
  for (auto& d : c.policy_default) d = FG_ACT_PASS;
  c.sample_every = 64;
  c.rep_threshold = 100 * FG_REP_ONE;
  c.rep_per_violation = FG_REP_ONE;
  c.rep_half_life_ns = 60ull * 1'000'000'000;
  c.rep_block_ttl_ns = 600ull * 1'000'000'000;
  c.src[FG_VEC_SYN] = bucket_config({200, 400});
  c.src[FG_VEC_UDP_PKTS] = bucket_config({20'000, 40'000});
  c.src[FG_VEC_UDP_BYTES] = bucket_config({20'000'000, 4'000'000});
  c.src[FG_VEC_ICMP] = bucket_config({50, 100});
  return c;
}

const std::vector<uint16_t>& default_reflection_ports() {
  static const std::vector<uint16_t> ports = {19,  53,   111,  123,  137,  161,
                                              389, 1900, 3702, 5353, 11211};
  return ports;
}

}  // namespace floodgate
