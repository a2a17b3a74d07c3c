// GCRA parameters: interval per unit in fixed point, burst as a time tolerance.
#include "bucket.h"

namespace floodgate {

namespace {
// Products of a rate-sized and a fixed-point value need 128 bits.
__extension__ typedef unsigned __int128 u128;
constexpr u128 kNsPerSec = 1'000'000'000;
}  // namespace

fg_bucket_cfg bucket_config(RateLimit limit) {
  if (limit.rate == 0) return fg_bucket_cfg{0, 0};
  const uint64_t burst = limit.burst == 0 ? 1 : limit.burst;
  const u128 interval_fp = (kNsPerSec << FG_FP_SHIFT) / limit.rate;
  // At least one unit of fixed point, so a huge rate never disables the bucket.
  const uint64_t ifp = interval_fp == 0 ? 1 : static_cast<uint64_t>(interval_fp);
  const u128 burst_ns = (static_cast<u128>(burst) * ifp) >> FG_FP_SHIFT;
  return fg_bucket_cfg{ifp, static_cast<uint64_t>(burst_ns)};
}

RateLimit rate_limit_of(const fg_bucket_cfg& cfg) {
  if (cfg.interval_fp == 0) return {};
  // Rounded to nearest and up respectively, undoing the truncations in bucket_config().
  const u128 ifp = cfg.interval_fp;
  const uint64_t rate = static_cast<uint64_t>(((kNsPerSec << FG_FP_SHIFT) + ifp / 2) / ifp);
  const uint64_t burst =
      static_cast<uint64_t>(((static_cast<u128>(cfg.burst_ns) << FG_FP_SHIFT) + ifp - 1) / ifp);
  return {rate, burst};
}

}  // namespace floodgate
