// The one owner of kernel state: loads the XDP program, owns its maps, attaches it with
// libxdp. Everything above this talks in Prefix/fg_config terms and never sees an fd
// except through here.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "filter.h"
#include "floodgate.h"
#include "prefix.h"
#include "prefix_lens.h"
#include "result.h"

struct floodgate_bpf;  // generated skeleton (floodgate_bpf.skel.h)
struct xdp_program;    // libxdp
struct bpf_map;        // libbpf

namespace floodgate {

struct MapSizes {
  uint32_t block_entries = FG_DEFAULT_BLOCK_ENTRIES;  // addresses and prefixes together
  uint32_t allow_entries = FG_DEFAULT_ALLOW_ENTRIES;
  uint32_t src_entries = FG_DEFAULT_SRC_ENTRIES;
  uint32_t protected_entries = FG_DEFAULT_PROTECTED;
  uint32_t events_bytes = FG_DEFAULT_EVENTS_BYTES;
};

using Counters = std::array<fg_counters, FG_R_MAX>;

struct BlockEntry {
  Prefix prefix;
  fg_block value;
};

enum class AttachMode { kNative, kGeneric };

// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns() and of fg_block.expires_ns.
uint64_t monotonic_ns();

// The program attached to one interface. Destroying it does NOT detach: protection
// outlives the daemon on purpose; detach() is the explicit way out.
class Attachment {
 public:
  Attachment(xdp_program* prog, int ifindex, AttachMode mode, bool dispatcher, bool adopted);
  ~Attachment();
  Status detach();
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  int ifindex() const { return ifindex_; }
  AttachMode mode() const { return mode_; }
  // True when libxdp's multi-program dispatcher is in use; false when it fell back to
  // attaching our program alone (kernels without freplace support).
  bool dispatcher() const { return dispatcher_; }
  // True when the same program was found attached already (a restarted daemon).
  bool adopted() const { return adopted_; }
  std::string describe() const;

 private:
  xdp_program* prog_;
  int ifindex_;
  AttachMode mode_;
  bool dispatcher_;
  bool adopted_;
  bool attached_ = true;
};

// What the rule engine needs of the data path; Datapath is the real one, unit tests of
// pure logic may use a fake.
class DataPlane {
 public:
  virtual ~DataPlane() = default;
  virtual Status set_config(const fg_config& cfg) = 0;
  virtual fg_config config() const = 0;
  // Adds or replaces the block for exactly p, keeping the hit counter of an entry it
  // replaces; returns that entry's previous value.
  virtual Result<std::optional<fg_block>> add_block(const Prefix& p, const fg_block& value) = 0;
  // Adds blocks for prefixes that have no entry yet (new rules) in one batched update, all
  // or none. An entry that is there after all (an auto-block not yet recorded) is
  // replaced, hit counter included, and on failure removed with the rest.
  virtual Status add_new_blocks(const std::vector<std::pair<Prefix, fg_block>>& entries) = 0;
  virtual Status remove_block(const Prefix& p) = 0;
  virtual std::optional<fg_block> find_block(const Prefix& p) const = 0;
  virtual std::vector<BlockEntry> blocks() const = 0;
  // Only the entries the program made itself (origin FG_ORIGIN_REPUTATION): read from
  // the whole map, without a vector of a million entries.
  virtual std::vector<BlockEntry> auto_blocks() const = 0;
  // Clears the list prefilters' stale bits (of removed entries) when there are enough of
  // them to matter, by reading the lists' maps. Never takes a rule's effect away.
  virtual Status tidy_filters() = 0;
  virtual Status add_allow(const Prefix& p) = 0;
  virtual Status remove_allow(const Prefix& p) = 0;
  virtual std::vector<Prefix> allows() const = 0;
  virtual Status set_portset(uint32_t index, const std::vector<uint16_t>& ports) = 0;
  virtual Status add_protected(const Prefix& p, uint32_t agg_index) = 0;
  virtual Counters counters() const = 0;
  // The rate-limit and reputation state kept for a source key (the source masked to
  // config().src_prefix_v4/v6 in the mapped space), if any.
  virtual std::optional<fg_src_state> find_source(const fg_addr& key) const = 0;
};

class Datapath : public DataPlane {
 public:
  // Opens the embedded object, sizes its maps and loads it. Without pin_dir the maps
  // are private and start with default_config() and the default reflection ports. With
  // pin_dir the maps are pinned there; maps an earlier run pinned are adopted as they
  // are (rules, state, config), after checking their layout version.
  static Result<std::unique_ptr<Datapath>> load(const MapSizes& sizes = {},
                                                const std::string& pin_dir = "");
  // Removes the pinned maps (the kernel frees them once nothing uses them).
  static Status unpin(const std::string& pin_dir);
  // Detaches the XDP program at ifindex only if it is Floodgate's (by program name);
  // another program there is left alone. True when something was detached.
  static Result<bool> detach_ours(int ifindex);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  int prog_fd() const;

  // Also keeps the source-aggregation lengths among the block list's lengths while
  // reputation is on, so the program's auto-blocks are matched.
  Status set_config(const fg_config& cfg) override;
  fg_config config() const override;
  bool adopted() const { return adopted_; }

  // A full map, or a prefix length beyond the FG_MAX_PREFIX_LENS the list may use, is
  // RESOURCE_EXHAUSTED.
  Result<std::optional<fg_block>> add_block(const Prefix& p, const fg_block& value) override;
  Status add_new_blocks(const std::vector<std::pair<Prefix, fg_block>>& entries) override;
  Status remove_block(const Prefix& p) override;
  std::optional<fg_block> find_block(const Prefix& p) const override;
  std::optional<fg_src_state> find_source(const fg_addr& key) const override;
  std::vector<BlockEntry> blocks() const override;
  std::vector<BlockEntry> auto_blocks() const override;
  Status tidy_filters() override;
  // Rebuilds the prefilters now (tidy_filters() does when it is due).
  Status rebuild_filters();
  // Share of the active filter's bits set for the allow or block list (0..1).
  double filter_fill(fg_list list) const { return filter_.fill(list); }
  // Whether the program would probe `list`'s map for p (its filter bit is set).
  bool filter_maybe(fg_list list, const Prefix& p) const {
    return filter_.maybe(list, p.lpm_key());
  }

  Status add_allow(const Prefix& p) override;
  Status remove_allow(const Prefix& p) override;
  std::vector<Prefix> allows() const override;

  // Replaces portset `index` (FG_PORTSET(...)) with exactly `ports`.
  Status set_portset(uint32_t index, const std::vector<uint16_t>& ports) override;

  // A protected destination prefix sharing the aggregate buckets of `agg_index`.
  Status add_protected(const Prefix& p, uint32_t agg_index) override;

  // Summed over CPUs and interfaces.
  Counters counters() const override;
  // Summed over CPUs, for one interface slot (0 = interfaces without a slot).
  Counters counters_for_slot(uint32_t slot) const;
  // What arrived on one interface slot by traffic vector, summed over CPUs.
  fg_traffic traffic_for_slot(uint32_t slot) const;
  // Counts ifindex's packets under `slot` (1..FG_MAX_IFACES) from now on.
  Status assign_slot(int ifindex, uint32_t slot);

  std::optional<fg_src_state> source_state(const fg_addr& key) const;

  int events_fd() const;

  struct MapMemory {
    std::string name;
    uint32_t max_entries;
    uint64_t bytes;  // what the kernel charges for the map (fdinfo memlock)
  };
  std::vector<MapMemory> map_memory() const;

  // Attaches to ifindex, or adopts the identical program found attached there.
  Result<std::unique_ptr<Attachment>> attach(int ifindex, AttachMode mode);

 private:
  explicit Datapath(::floodgate_bpf* skel) : skel_(skel) {}
  ::bpf_map* list_map(fg_list list) const;
  // Reads the entry for exactly p into `old` (the list's value type); true if it exists.
  bool lookup_prefix(fg_list list, const Prefix& p, void* old) const;
  // RESOURCE_EXHAUSTED: p's length would be one more than the list may probe.
  static Error lens_exhausted(fg_list list, const Prefix& p, const PrefixLens& lens);
  // Writes the entry; `existed` from lookup_prefix decides whether a length is added.
  Status put_prefix(fg_list list, const Prefix& p, const void* value, bool existed);
  Status remove_prefix(fg_list list, const Prefix& p);
  // The block map's entries that `keep` accepts, read in batches.
  std::vector<BlockEntry> read_blocks(bool (*keep)(const fg_block&)) const;
  Status write_lens(fg_list list, bool v6);
  // One read of the allow and block lists: rebuilds the prefilters and, with `lens`
  // (after adopting maps), the prefix lengths in use of every list.
  Status rebuild_from_lists(bool lens);
  std::vector<fg_slot_stats> slot_stats(uint32_t slot) const;  // per CPU

  ::floodgate_bpf* skel_;
  std::array<PrefixLens, FG_LENS_MAX> lens_;  // by FG_LENS_INDEX(list, v6)
  ListFilter filter_;
  std::mutex rebuild_mu_;             // one filter rebuild at a time
  std::atomic<uint64_t> removed_{0};  // entries removed since the last rebuild
  std::atomic<uint64_t> last_rebuild_ns_{0};
  bool adopted_ = false;
};

}  // namespace floodgate
