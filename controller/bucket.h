// Rate limits in operator terms (rate per second + burst) to the data path's GCRA form.
#pragma once

#include <cstdint>

#include "floodgate.h"

namespace floodgate {

struct RateLimit {
  uint64_t rate = 0;   // units (packets or bytes) per second; 0 = no limit
  uint64_t burst = 0;  // units let through at once; at least 1 when rate > 0
};

fg_bucket_cfg bucket_config(RateLimit limit);
RateLimit rate_limit_of(const fg_bucket_cfg& cfg);

}  // namespace floodgate
