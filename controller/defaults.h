// Floodgate's documented defaults for the data path's settings.
#pragma once

#include <cstdint>
#include <vector>

#include "floodgate.h"

namespace floodgate {

// Monitor mode; malformed dropped; fragmented TCP dropped, other fragments passed;
// reflection filter on; sources tracked per /32 and /64; every port allowed; per-source
// SYN 200/s (burst 400), UDP 20k pkt/s (burst 40k) and 20 MB/s (burst 4 MB), ICMP 50/s
// (burst 100); aggregates off until protected prefixes exist; 1 in 64 drops sampled;
// 100 violations in a 60 s half-life auto-block the source for 10 minutes.
fg_config default_config();

// UDP source ports of common amplification vectors: chargen 19, DNS 53, portmap 111,
// NTP 123, NetBIOS 137, SNMP 161, CLDAP 389, SSDP 1900, WS-Discovery 3702, mDNS 5353,
// memcached 11211.
const std::vector<uint16_t>& default_reflection_ports();

}  // namespace floodgate
