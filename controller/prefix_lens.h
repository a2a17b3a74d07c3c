// The prefix lengths one list (allow, block, protected) uses, so that the program probes
// only those, longest first (struct fg_prefix_lens).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "floodgate.h"

namespace floodgate {

class PrefixLens {
 public:
  // True when an entry of this mapped-space length (0..128) fits: the length is already
  // in use, or fewer than FG_MAX_PREFIX_LENS lengths are.
  bool can_add(unsigned len) const;
  // Both return true when the encoded set changed (first entry of a length added, or
  // the last one removed), i.e. when prefix_lens must be rewritten.
  bool add(unsigned len);
  bool remove(unsigned len);
  // Lengths probed even without entries (the program's own auto-blocks). False, and
  // unchanged, when they would not fit beside the lengths in use.
  bool set_reserved(std::vector<unsigned> lens);
  void clear();

  fg_prefix_lens encode() const;
  // "/32, /24" for error messages: lengths of the family, longest first.
  std::string describe(bool v6) const;

 private:
  bool in_use(unsigned len) const;
  size_t distinct_with(const std::vector<unsigned>& reserved) const;

  std::array<uint32_t, 129> count_{};
  std::vector<unsigned> reserved_;
};

}  // namespace floodgate
