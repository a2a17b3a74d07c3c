// The allow and block lists' prefilters, as user space sees them: the program's `filter`
// map, mapped into memory (see FG_FILTER_SHIFT in floodgate.h for what the bits mean).
// Bits are set and cleared with atomic operations, because the program sets bits too
// (its auto-blocks) while user space works.
#pragma once
#include <cstddef>
#include <cstdint>

#include "floodgate.h"
#include "result.h"

namespace floodgate {

class ListFilter {
 public:
  // The log2 of the bits per half for a list of `entries`: 8 bits per entry, so a full
  // list still lets ~88 % of absent keys skip their probe.
  static uint32_t shift_for(uint32_t entries);
  // Words the map needs for these shifts (header included).
  static uint32_t words_for(uint32_t allow_shift, uint32_t block_shift);

  // Maps the filter map `fd` (words_for() entries). If its header does not carry these
  // shifts (a new map), the map is cleared and the header written. Maps that already
  // hold entries (adopted) need a rebuild before the program may trust the filter.
  static Result<ListFilter> map(int fd, uint32_t allow_shift, uint32_t block_shift);
  ListFilter() = default;
  ListFilter(ListFilter&& o) noexcept;
  ListFilter& operator=(ListFilter&& o) noexcept;
  ~ListFilter();

  // Sets `key`'s bit in both halves. Call after the entry went into the map.
  void add(fg_list list, const fg_lpm_key& key);
  // Rebuilding: clear the inactive half, add every key the maps hold to it, then make it
  // the active one. Keys added meanwhile by anyone go in both halves, so none is lost.
  void begin_rebuild();
  void rebuild_add(fg_list list, const fg_lpm_key& key);
  void finish_rebuild();
  // Share of the active half's bits that are set (0..1): about the share of absent keys
  // that still pay for a probe.
  double fill(fg_list list) const;
  // Whether the program would probe the map for `key` (its bit in the active half).
  bool maybe(fg_list list, const fg_lpm_key& key) const;

 private:
  uint64_t* word(fg_list list, uint32_t half, uint64_t bit) const;
  // The word of `half` that holds `key`'s bit, and that bit as a mask.
  struct Slot {
    uint64_t* word;
    uint64_t mask;
  };
  Slot slot(fg_list list, uint32_t half, const fg_lpm_key& key) const;
  uint32_t half_words(fg_list list) const { return (1u << shift(list)) >> 6; }
  uint32_t shift(fg_list list) const;
  uint32_t active() const;
  uint64_t* words_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace floodgate
