// Counting entries per prefix length and encoding the lengths in use for the program.
#include "prefix_lens.h"

#include <algorithm>
#include <iterator>

#include "prefix.h"

namespace floodgate {

bool PrefixLens::in_use(unsigned len) const {
  return count_[len] > 0 || std::find(reserved_.begin(), reserved_.end(), len) != reserved_.end();
}

size_t PrefixLens::distinct_with(const std::vector<unsigned>& reserved) const {
  size_t n = 0;
  for (unsigned len = 0; len <= 128; len++)
    n += count_[len] > 0 || std::find(reserved.begin(), reserved.end(), len) != reserved.end();
  return n;
}

bool PrefixLens::can_add(unsigned len) const {
  return len <= 128 && (in_use(len) || distinct_with(reserved_) < FG_MAX_PREFIX_LENS);
}

bool PrefixLens::add(unsigned len) {
  if (len > 128) return false;
  const bool was = in_use(len);
  count_[len]++;
  return !was;
}

bool PrefixLens::remove(unsigned len) {
  if (len > 128 || count_[len] == 0) return false;
  count_[len]--;
  return !in_use(len);
}

bool PrefixLens::set_reserved(std::vector<unsigned> lens) {
  std::erase_if(lens, [](unsigned l) { return l > 128; });
  if (distinct_with(lens) > FG_MAX_PREFIX_LENS) return false;
  reserved_ = std::move(lens);
  return true;
}

void PrefixLens::clear() { count_.fill(0); }

fg_prefix_lens PrefixLens::encode() const {
  fg_prefix_lens out{};
  for (int len = 128; len >= 0 && out.count < FG_MAX_PREFIX_LENS; len--)
    if (in_use(static_cast<unsigned>(len))) {
      out.len[out.count] = static_cast<uint8_t>(len);
      const fg_addr m = netmask(static_cast<unsigned>(len));
      std::copy(std::begin(m.w), std::end(m.w), out.mask[out.count]);
      out.count++;
    }
  return out;
}

std::string PrefixLens::describe(bool v6) const {
  std::string out;
  for (int len = 128; len >= (v6 ? 0 : 96); len--) {
    if (!in_use(static_cast<unsigned>(len))) continue;
    out += (out.empty() ? "/" : ", /") + std::to_string(v6 ? len : len - 96);
  }
  return out.empty() ? "none" : out;
}

}  // namespace floodgate
