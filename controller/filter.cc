// The prefilters' user-space side: see filter.h.
#include "filter.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace floodgate {

uint32_t ListFilter::shift_for(uint32_t entries) {
  const uint64_t bits = std::bit_ceil(static_cast<uint64_t>(entries) * 8);
  const auto shift = static_cast<uint32_t>(std::countr_zero(bits));
  return std::clamp<uint32_t>(shift, FG_FILTER_MIN_SHIFT, FG_FILTER_MAX_SHIFT);
}

uint32_t ListFilter::words_for(uint32_t allow_shift, uint32_t block_shift) {
  return 1 + 2 * ((1u << allow_shift) >> 6) + 2 * ((1u << block_shift) >> 6);
}

Result<ListFilter> ListFilter::map(int fd, uint32_t allow_shift, uint32_t block_shift) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t bytes =
      (static_cast<size_t>(words_for(allow_shift, block_shift)) * 8 + page - 1) / page * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return internal_error(std::string("mapping the list filter into memory: ") +
                          std::strerror(errno));
  ListFilter f;
  f.words_ = static_cast<uint64_t*>(p);
  f.bytes_ = bytes;
  const uint64_t header = (static_cast<uint64_t>(allow_shift) << (8 + 8 * FG_LIST_ALLOW)) |
                          (static_cast<uint64_t>(block_shift) << (8 + 8 * FG_LIST_BLOCK));
  const uint64_t now = __atomic_load_n(&f.words_[0], __ATOMIC_ACQUIRE);
  if ((now & ~1ull) != header) {
    // While the header says "no filter" the program probes every key: clear first.
    __atomic_store_n(&f.words_[0], 0, __ATOMIC_RELEASE);
    std::memset(f.words_ + 1, 0, static_cast<size_t>(words_for(allow_shift, block_shift) - 1) * 8);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    // Both halves are empty and keys go in both; the active one is picked by rebuild.
    __atomic_store_n(&f.words_[0], header, __ATOMIC_RELEASE);
  }
  return f;
}

ListFilter::ListFilter(ListFilter&& o) noexcept
    : words_(std::exchange(o.words_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

ListFilter& ListFilter::operator=(ListFilter&& o) noexcept {
  std::swap(words_, o.words_);
  std::swap(bytes_, o.bytes_);
  return *this;
}

ListFilter::~ListFilter() {
  if (words_) munmap(words_, bytes_);
}

uint32_t ListFilter::shift(fg_list list) const {
  return FG_FILTER_SHIFT(__atomic_load_n(&words_[0], __ATOMIC_ACQUIRE), list);
}

uint32_t ListFilter::active() const {
  return static_cast<uint32_t>(__atomic_load_n(&words_[0], __ATOMIC_ACQUIRE) & 1);
}

uint64_t* ListFilter::word(fg_list list, uint32_t half, uint64_t bit) const {
  return &words_[fg_filter_word(__atomic_load_n(&words_[0], __ATOMIC_ACQUIRE), list, half, bit)];
}

ListFilter::Slot ListFilter::slot(fg_list list, uint32_t half, const fg_lpm_key& key) const {
  const uint64_t bit = fg_filter_bit(&key, shift(list));
  return {word(list, half, bit), 1ull << (bit & 63)};
}

void ListFilter::add(fg_list list, const fg_lpm_key& key) {
  if (!words_ || list == FG_LIST_PROTECTED) return;
  for (uint32_t half = 0; half < 2; half++) {
    const Slot s = slot(list, half, key);
    __atomic_fetch_or(s.word, s.mask, __ATOMIC_SEQ_CST);
  }
}

void ListFilter::begin_rebuild() {
  if (!words_) return;
  const uint32_t inactive = active() ^ 1;
  for (const fg_list list : {FG_LIST_ALLOW, FG_LIST_BLOCK}) {
    uint64_t* w = word(list, inactive, 0);
    for (uint32_t i = 0; i < half_words(list); i++) __atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
  }
  // The maps are read only after the clear: a key inserted after the read passed it sets
  // its bit after the clear.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void ListFilter::rebuild_add(fg_list list, const fg_lpm_key& key) {
  if (!words_ || list == FG_LIST_PROTECTED) return;
  const Slot s = slot(list, active() ^ 1, key);
  __atomic_fetch_or(s.word, s.mask, __ATOMIC_RELAXED);
}

void ListFilter::finish_rebuild() {
  if (!words_) return;
  __atomic_fetch_xor(&words_[0], 1ull, __ATOMIC_SEQ_CST);
}

double ListFilter::fill(fg_list list) const {
  if (!words_ || list == FG_LIST_PROTECTED) return 1.0;
  const uint64_t* w = word(list, active(), 0);
  const uint32_t n = half_words(list);
  uint64_t set = 0;
  for (uint32_t i = 0; i < n; i++) set += std::popcount(__atomic_load_n(&w[i], __ATOMIC_RELAXED));
  return static_cast<double>(set) / (static_cast<double>(n) * 64);
}

bool ListFilter::maybe(fg_list list, const fg_lpm_key& key) const {
  if (!words_ || list == FG_LIST_PROTECTED) return true;
  const Slot s = slot(list, active(), key);
  return (__atomic_load_n(s.word, __ATOMIC_RELAXED) & s.mask) != 0;
}

}  // namespace floodgate
