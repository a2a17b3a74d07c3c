// Loading, map access and libxdp attachment for the XDP program.
#include "datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>

#include "defaults.h"
#include "floodgate_bpf.skel.h"

namespace floodgate {
namespace {

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

// What a failed map update with errno `err` means for the caller.
Error update_error(int err, const char* what) {
  if (err == E2BIG || err == ENOMEM || err == ENOSPC)
    return resource_exhausted(std::string(what) +
                              " map is full; remove entries or raise its size in the config");
  return internal_error(std::string("updating ") + what + ": " + errno_text(err));
}

Status map_update(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0) return Ok{};
  return update_error(errno, what);
}

Status map_delete(int fd, const void* key, const std::string& what) {
  if (bpf_map_delete_elem(fd, key) == 0) return Ok{};
  const int err = errno;
  if (err == ENOENT) return not_found(what + " is not in the map");
  return internal_error("deleting " + what + ": " + errno_text(err));
}

constexpr const char* kListNames[] = {"allow", "block", "protected"};  // by fg_list

}  // namespace

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<Datapath>> Datapath::load(const MapSizes& sizes,
                                                 const std::string& pin_dir) {
  ::floodgate_bpf* skel = floodgate_bpf__open();
  if (!skel) return internal_error("opening the embedded BPF object: " + errno_text(errno));
  auto set_size = [](bpf_map* m, uint32_t n) { return bpf_map__set_max_entries(m, n); };
  const uint32_t allow_shift = ListFilter::shift_for(sizes.allow_entries);
  const uint32_t block_shift = ListFilter::shift_for(sizes.block_entries);
  if (set_size(skel->maps.filter, ListFilter::words_for(allow_shift, block_shift)) ||
      set_size(skel->maps.block, sizes.block_entries) ||
      set_size(skel->maps.allow, sizes.allow_entries) ||
      set_size(skel->maps.src_state, sizes.src_entries) ||
      set_size(skel->maps.protected_dsts, sizes.protected_entries) ||
      set_size(skel->maps.agg_state, sizes.protected_entries) ||
      set_size(skel->maps.events, sizes.events_bytes)) {
    floodgate_bpf__destroy(skel);
    return invalid_argument(
        "map sizes rejected (events_bytes must be a power of two and a "
        "multiple of the page size)");
  }
  bool adopted = false;
  if (!pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(pin_dir, ec);
    adopted = std::filesystem::exists(pin_dir + "/config", ec);
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, skel->obj) {
      bpf_map__set_pin_path(m, (pin_dir + "/" + bpf_map__name(m)).c_str());
    }
  }
  // What to do about pins this build cannot adopt.
  const std::string change_over =
      "; to change over without a gap, remove only the pins (rm -r " + pin_dir +
      "): the attached program keeps filtering until this daemon starts and swaps in its "
      "own, with every rule from its store (`floodgated --unload` works too, but filtering "
      "stops until the next start)";
  if (int err = floodgate_bpf__load(skel); err != 0) {
    floodgate_bpf__destroy(skel);
    if (adopted)
      return failed_precondition(
          "the maps pinned in " + pin_dir +
          " do not fit this build (other sizes or layout: " + errno_text(err) + ")" + change_over);
    return failed_precondition("loading the XDP program failed (" + errno_text(err) +
                               "); run as root on a kernel with BPF, or see the libbpf log above");
  }
  std::unique_ptr<Datapath> dp(new Datapath(skel));
  dp->adopted_ = adopted;
  auto filter = ListFilter::map(bpf_map__fd(skel->maps.filter), allow_shift, block_shift);
  if (!filter.ok()) return filter.error();
  dp->filter_ = std::move(*filter);
  dp->last_rebuild_ns_ = monotonic_ns();
  if (adopted) {
    const fg_config cfg = dp->config();
    if (cfg.layout_version != FG_LAYOUT_VERSION)
      return failed_precondition("the maps pinned in " + pin_dir + " have layout version " +
                                 std::to_string(cfg.layout_version) + ", this build needs " +
                                 std::to_string(FG_LAYOUT_VERSION) + change_over);
    // The adopted maps may hold entries whose bits are stale or missing (a filter map
    // new to this build): the filter is rebuilt from them before the program relies on
    // it, in the same read of the lists as the lengths in use (a million blocks read
    // twice took ~0.4 s more of a restart).
    if (auto s = dp->rebuild_from_lists(true); !s) return s.error();
    if (auto s = dp->set_config(cfg); !s) return s.error();
    return dp;
  }
  if (auto s = dp->set_config(default_config()); !s) return s.error();
  if (auto s = dp->set_portset(FG_PORTSET_REFLECTION, default_reflection_ports()); !s)
    return s.error();
  return dp;
}

Status Datapath::unpin(const std::string& pin_dir) {
  std::error_code ec;
  std::filesystem::remove_all(pin_dir, ec);
  if (ec) return internal_error("removing " + pin_dir + ": " + ec.message());
  return Ok{};
}

Datapath::~Datapath() { floodgate_bpf__destroy(skel_); }

int Datapath::prog_fd() const { return bpf_program__fd(skel_->progs.floodgate_xdp); }
int Datapath::events_fd() const { return bpf_map__fd(skel_->maps.events); }

Status Datapath::set_config(const fg_config& cfg) {
  const bool rep = cfg.rep_threshold > 0;
  for (const bool v6 : {false, true}) {
    PrefixLens& lens = lens_[FG_LENS_INDEX(FG_LIST_BLOCK, v6)];
    const unsigned len = v6 ? cfg.src_prefix_v6 : 96u + cfg.src_prefix_v4;
    if (!lens.set_reserved(rep ? std::vector<unsigned>{len} : std::vector<unsigned>{}))
      return resource_exhausted(
          "reputation needs the block list to match /" + std::to_string(v6 ? len : len - 96) +
          " prefixes, but it already uses " + std::to_string(FG_MAX_PREFIX_LENS) +
          " prefix lengths (" + lens.describe(v6) + "); remove some blocks first");
    if (auto s = write_lens(FG_LIST_BLOCK, v6); !s) return s;
  }
  const uint32_t zero = 0;
  return map_update(bpf_map__fd(skel_->maps.config), &zero, &cfg, "config");
}

fg_config Datapath::config() const {
  const uint32_t zero = 0;
  fg_config cfg{};
  bpf_map_lookup_elem(bpf_map__fd(skel_->maps.config), &zero, &cfg);
  return cfg;
}

bpf_map* Datapath::list_map(fg_list list) const {
  switch (list) {
    case FG_LIST_ALLOW:
      return skel_->maps.allow;
    case FG_LIST_BLOCK:
      return skel_->maps.block;
    case FG_LIST_PROTECTED:
      return skel_->maps.protected_dsts;
    case FG_LIST_MAX:
      break;
  }
  return nullptr;
}

Status Datapath::write_lens(fg_list list, bool v6) {
  const uint32_t key = FG_LENS_INDEX(list, v6);
  const fg_prefix_lens v = lens_[key].encode();
  return map_update(bpf_map__fd(skel_->maps.prefix_lens), &key, &v, "prefix_lens");
}

bool Datapath::lookup_prefix(fg_list list, const Prefix& p, void* old) const {
  const fg_lpm_key key = p.lpm_key();
  return bpf_map_lookup_elem(bpf_map__fd(list_map(list)), &key, old) == 0;
}

Error Datapath::lens_exhausted(fg_list list, const Prefix& p, const PrefixLens& lens) {
  return resource_exhausted(std::string("the ") + kListNames[list] + " list already uses " +
                            std::to_string(FG_MAX_PREFIX_LENS) + " " + (p.v4 ? "IPv4" : "IPv6") +
                            " prefix lengths (" + lens.describe(!p.v4) + "); express " + p.str() +
                            " with one of those lengths");
}

Status Datapath::put_prefix(fg_list list, const Prefix& p, const void* value, bool existed) {
  const fg_lpm_key key = p.lpm_key();
  PrefixLens& lens = lens_[FG_LENS_INDEX(list, !p.v4)];
  if (!existed && !lens.can_add(key.prefixlen)) return lens_exhausted(list, p, lens);
  if (auto s = map_update(bpf_map__fd(list_map(list)), &key, value, kListNames[list]); !s) return s;
  filter_.add(list, key);  // after the entry: see ListFilter
  if (existed || !lens.add(key.prefixlen)) return Ok{};
  return write_lens(list, !p.v4);
}

Status Datapath::remove_prefix(fg_list list, const Prefix& p) {
  const fg_lpm_key key = p.lpm_key();
  if (auto s = map_delete(bpf_map__fd(list_map(list)), &key,
                          std::string(kListNames[list]) + " " + p.str());
      !s)
    return s;
  removed_++;  // its filter bit stays until the next rebuild
  if (!lens_[FG_LENS_INDEX(list, !p.v4)].remove(key.prefixlen)) return Ok{};
  return write_lens(list, !p.v4);
}

Result<std::optional<fg_block>> Datapath::add_block(const Prefix& p, const fg_block& value) {
  fg_block old{};
  fg_block v = value;
  const bool existed = lookup_prefix(FG_LIST_BLOCK, p, &old);
  if (existed) v.hits = old.hits;
  if (auto s = put_prefix(FG_LIST_BLOCK, p, &v, existed); !s) return s.error();
  return existed ? std::optional<fg_block>{old} : std::nullopt;
}

Status Datapath::add_new_blocks(const std::vector<std::pair<Prefix, fg_block>>& entries) {
  if (entries.empty()) return Ok{};
  // Prefix lengths first, on copies: nothing changes unless every entry fits.
  PrefixLens lens[2] = {lens_[FG_LENS_INDEX(FG_LIST_BLOCK, 0)],
                        lens_[FG_LENS_INDEX(FG_LIST_BLOCK, 1)]};
  bool changed[2] = {false, false};
  std::vector<fg_lpm_key> keys;
  std::vector<fg_block> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& [p, v] : entries) {
    const fg_lpm_key key = p.lpm_key();
    PrefixLens& pl = lens[p.v4 ? 0 : 1];
    if (!pl.can_add(key.prefixlen)) return lens_exhausted(FG_LIST_BLOCK, p, pl);
    changed[p.v4 ? 0 : 1] |= pl.add(key.prefixlen);
    keys.push_back(key);
    values.push_back(v);
  }
  // One syscall for the lot; on failure the kernel says how many went in, and those go.
  const int fd = bpf_map__fd(skel_->maps.block);
  auto count = static_cast<uint32_t>(keys.size());
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) != 0) {
    const int err = errno;
    uint32_t added = count;
    if (added && bpf_map_delete_batch(fd, keys.data(), &added, nullptr) != 0)
      for (uint32_t i = 0; i < count; i++) bpf_map_delete_elem(fd, &keys[i]);
    return update_error(err, "block");
  }
  for (const fg_lpm_key& key : keys) filter_.add(FG_LIST_BLOCK, key);
  for (int v6 = 0; v6 < 2; v6++) {
    lens_[FG_LENS_INDEX(FG_LIST_BLOCK, v6)] = lens[v6];
    if (changed[v6])
      if (auto s = write_lens(FG_LIST_BLOCK, v6); !s) return s;
  }
  return Ok{};
}

Status Datapath::remove_block(const Prefix& p) { return remove_prefix(FG_LIST_BLOCK, p); }

std::optional<fg_block> Datapath::find_block(const Prefix& p) const {
  const fg_lpm_key key = p.lpm_key();
  fg_block v{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.block), &key, &v) != 0) return std::nullopt;
  return v;
}

std::optional<fg_src_state> Datapath::find_source(const fg_addr& key) const {
  fg_src_state v{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.src_state), &key, &v) != 0) return std::nullopt;
  return v;
}

std::vector<BlockEntry> Datapath::blocks() const {
  return read_blocks([](const fg_block&) { return true; });
}

std::vector<BlockEntry> Datapath::auto_blocks() const {
  return read_blocks([](const fg_block& b) { return b.origin == FG_ORIGIN_REPUTATION; });
}

namespace {

// Reads a prefix map (allow or block) whole, in batches: a million entries take a few
// hundred syscalls, not two million. `take` gets each batch. Returns 0 once the map was
// read to its end, else the errno that stopped it (what was taken is then incomplete).
int read_prefix_map(int fd,
                    const std::function<void(const fg_lpm_key*, const fg_block*, uint32_t)>& take) {
  constexpr uint32_t kChunk = 8192;
  std::vector<fg_lpm_key> keys(kChunk);
  std::vector<fg_block> values(kChunk);  // the larger of the lists' value types
  static_assert(sizeof(fg_block) >= sizeof(fg_allow));
  uint32_t token = 0;
  for (bool first = true;; first = false) {
    uint32_t count = kChunk;
    const int rc = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(),
                                        values.data(), &count, nullptr);
    const int err = rc == 0 ? 0 : errno;
    take(keys.data(), values.data(), count);
    if (rc != 0) return err == ENOENT ? 0 : err;
  }
}

}  // namespace

std::vector<BlockEntry> Datapath::read_blocks(bool (*keep)(const fg_block&)) const {
  std::vector<BlockEntry> out;
  const int err = read_prefix_map(bpf_map__fd(skel_->maps.block),
                                  [&](const fg_lpm_key* keys, const fg_block* values, uint32_t n) {
                                    for (uint32_t i = 0; i < n; i++)
                                      if (keep(values[i]))
                                        out.push_back({prefix_from_key(keys[i]), values[i]});
                                  });
  if (err != 0) out.clear();  // a partial list would look like missing rules
  return out;
}

Status Datapath::tidy_filters() {
  // Due when removed entries' bits may be a good part of the set ones, or a minute after
  // any removal: a full read of a million-entry map costs ~0.3 s, so not every tick.
  const uint64_t removed = removed_.load();
  if (removed == 0 || (removed < 4096 && monotonic_ns() - last_rebuild_ns_ < 60'000'000'000ull))
    return Ok{};
  return rebuild_filters();
}

Status Datapath::rebuild_filters() { return rebuild_from_lists(false); }

Status Datapath::rebuild_from_lists(bool lens) {
  std::lock_guard lock(rebuild_mu_);
  removed_ = 0;
  filter_.begin_rebuild();
  if (lens)
    for (auto& l : lens_) l.clear();
  for (const fg_list list : {FG_LIST_ALLOW, FG_LIST_BLOCK}) {
    const int err = read_prefix_map(
        bpf_map__fd(list_map(list)), [&](const fg_lpm_key* keys, const fg_block*, uint32_t n) {
          for (uint32_t i = 0; i < n; i++) {
            filter_.rebuild_add(list, keys[i]);
            if (lens)
              lens_[FG_LENS_INDEX(list, !prefix_from_key(keys[i]).v4)].add(keys[i].prefixlen);
          }
        });
    // The half being built is not in use: after an error it is not made the active one.
    if (err != 0)
      return internal_error(std::string("reading the ") + kListNames[list] + " list to rebuild " +
                            (lens ? "its filter and lengths: " : "its filter: ") + errno_text(err));
  }
  filter_.finish_rebuild();
  last_rebuild_ns_ = monotonic_ns();
  if (!lens) return Ok{};
  const int fd = bpf_map__fd(list_map(FG_LIST_PROTECTED));  // small, and has no filter
  fg_lpm_key key{};
  for (const void* cur = nullptr; bpf_map_get_next_key(fd, cur, &key) == 0; cur = &key)
    lens_[FG_LENS_INDEX(FG_LIST_PROTECTED, !prefix_from_key(key).v4)].add(key.prefixlen);
  for (const fg_list list : {FG_LIST_ALLOW, FG_LIST_BLOCK, FG_LIST_PROTECTED})
    for (const bool v6 : {false, true})
      if (auto s = write_lens(list, v6); !s) return s;
  return Ok{};
}

Status Datapath::add_allow(const Prefix& p) {
  fg_allow v{};
  const bool existed = lookup_prefix(FG_LIST_ALLOW, p, &v);  // keeps its hits
  return put_prefix(FG_LIST_ALLOW, p, &v, existed);
}

Status Datapath::remove_allow(const Prefix& p) { return remove_prefix(FG_LIST_ALLOW, p); }

std::vector<Prefix> Datapath::allows() const {
  std::vector<Prefix> out;
  const int fd = bpf_map__fd(skel_->maps.allow);
  fg_lpm_key key{};
  for (const void* cur = nullptr; bpf_map_get_next_key(fd, cur, &key) == 0; cur = &key)
    out.push_back(prefix_from_key(key));
  return out;
}

Status Datapath::set_portset(uint32_t index, const std::vector<uint16_t>& ports) {
  if (index >= FG_PORTSET_MAX)
    return invalid_argument("portset index " + std::to_string(index) + " out of range");
  auto set = std::make_unique<fg_portset>();
  for (uint16_t port : ports) set->bits[port >> 6] |= 1ull << (port & 63);
  return map_update(bpf_map__fd(skel_->maps.portsets), &index, set.get(), "portsets");
}

Status Datapath::add_protected(const Prefix& p, uint32_t agg_index) {
  if (agg_index >= bpf_map__max_entries(skel_->maps.agg_state))
    return invalid_argument("aggregate index " + std::to_string(agg_index) + " out of range");
  fg_protected old{};
  const bool existed = lookup_prefix(FG_LIST_PROTECTED, p, &old);
  const fg_protected v{agg_index, 0};
  return put_prefix(FG_LIST_PROTECTED, p, &v, existed);
}

namespace {

void add_counters(fg_counters& to, const fg_counters& c) {
  to.pass_packets += c.pass_packets;
  to.pass_bytes += c.pass_bytes;
  to.drop_packets += c.drop_packets;
  to.drop_bytes += c.drop_bytes;
  to.samples += c.samples;
  to.samples_lost += c.samples_lost;
}

}  // namespace

// One lookup returns every CPU's fg_slot_stats for the slot (zeros when it fails).
std::vector<fg_slot_stats> Datapath::slot_stats(uint32_t slot) const {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0 || slot > FG_MAX_IFACES) return {};
  std::vector<fg_slot_stats> per_cpu(static_cast<size_t>(ncpu));
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &slot, per_cpu.data()) != 0) return {};
  return per_cpu;
}

Counters Datapath::counters_for_slot(uint32_t slot) const {
  Counters total{};
  for (const fg_slot_stats& st : slot_stats(slot))
    for (uint32_t r = 0; r < FG_R_MAX; r++) add_counters(total[r], st.reason[r]);
  return total;
}

Counters Datapath::counters() const {
  Counters total{};
  for (uint32_t slot = 0; slot <= FG_MAX_IFACES; slot++) {
    const Counters c = counters_for_slot(slot);
    for (uint32_t r = 0; r < FG_R_MAX; r++) add_counters(total[r], c[r]);
  }
  return total;
}

fg_traffic Datapath::traffic_for_slot(uint32_t slot) const {
  fg_traffic total{};
  for (const fg_slot_stats& st : slot_stats(slot))
    for (int v = 0; v < FG_TV_MAX; v++) {
      total.packets[v] += st.traffic.packets[v];
      total.bytes[v] += st.traffic.bytes[v];
    }
  return total;
}

Status Datapath::assign_slot(int ifindex, uint32_t slot) {
  if (ifindex <= 0 || ifindex >= static_cast<int>(FG_MAX_IFINDEX))
    return invalid_argument("ifindex " + std::to_string(ifindex) + " is beyond the " +
                            std::to_string(FG_MAX_IFINDEX) +
                            " the per-interface counters cover; its packets count as 'other'");
  if (slot == 0 || slot > FG_MAX_IFACES)
    return invalid_argument("at most " + std::to_string(FG_MAX_IFACES) + " interfaces");
  const uint32_t key = static_cast<uint32_t>(ifindex);
  return map_update(bpf_map__fd(skel_->maps.ifslots), &key, &slot, "ifslots");
}

std::optional<fg_src_state> Datapath::source_state(const fg_addr& key) const {
  fg_src_state st{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.src_state), &key, &st) != 0) return std::nullopt;
  return st;
}

std::vector<Datapath::MapMemory> Datapath::map_memory() const {
  std::vector<MapMemory> out;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel_->obj) {
    uint64_t bytes = 0;
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(bpf_map__fd(m)));
    for (std::string line; std::getline(in, line);)
      if (line.rfind("memlock:", 0) == 0) bytes = std::stoull(line.substr(8));
    out.push_back({bpf_map__name(m), bpf_map__max_entries(m), bytes});
  }
  return out;
}

namespace {

// The program attached at ifindex outside any dispatcher, if any: its id, name, tag and
// the ids of the maps it uses.
struct AttachedProg {
  uint32_t id = 0;
  std::string name;
  std::array<uint8_t, 8> tag{};
  std::vector<uint32_t> map_ids;
};

std::optional<AttachedProg> attached_prog(int ifindex) {
  uint32_t id = 0;
  if (bpf_xdp_query_id(ifindex, 0, &id) != 0 || id == 0) return std::nullopt;
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return std::nullopt;
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  AttachedProg out;
  out.id = id;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
    out.name = info.name;
    std::memcpy(out.tag.data(), info.tag, out.tag.size());
    out.map_ids.resize(info.nr_map_ids);
    bpf_prog_info again{};
    again.nr_map_ids = info.nr_map_ids;
    again.map_ids = reinterpret_cast<uint64_t>(out.map_ids.data());
    len = sizeof(again);
    if (bpf_obj_get_info_by_fd(fd, &again, &len) != 0) out.map_ids.clear();
  }
  close(fd);
  return out;
}

uint32_t map_id(int map_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0 ? info.id : 0;
}

constexpr const char* kProgName = "floodgate_xdp";  // bpf_prog_info.name of ours

}  // namespace

Result<bool> Datapath::detach_ours(int ifindex) {
  const std::optional<AttachedProg> p = attached_prog(ifindex);
  if (!p || p->name != kProgName) return false;
  if (int err = bpf_xdp_detach(ifindex, 0, nullptr); err != 0)
    return internal_error("detaching from ifindex " + std::to_string(ifindex) + ": " +
                          errno_text(err));
  return true;
}

Result<std::unique_ptr<Attachment>> Datapath::attach(int ifindex, AttachMode mode) {
  bpf_prog_info mine{};
  uint32_t len = sizeof(mine);
  bpf_obj_get_info_by_fd(prog_fd(), &mine, &len);
  const std::optional<AttachedProg> existing = attached_prog(ifindex);
  // A restarted daemon finds its own program (same tag) attached, reading the maps it
  // just adopted: keep it, so there is not one packet without protection. The same code
  // on other maps (pins removed while it stayed attached) would ignore every rule from
  // now on: it is swapped like an older build.
  const uint32_t our_config = map_id(bpf_map__fd(skel_->maps.config));
  if (existing && existing->name == mine.name &&
      std::memcmp(existing->tag.data(), mine.tag, existing->tag.size()) == 0 &&
      std::find(existing->map_ids.begin(), existing->map_ids.end(), our_config) !=
          existing->map_ids.end()) {
    xdp_program* prog = xdp_program__from_id(existing->id);
    if (!libxdp_get_error(prog))
      return std::make_unique<Attachment>(prog, ifindex, mode, false, true);
  }
  // An older Floodgate, or one on other maps: swap atomically to this program.
  if (existing && existing->name == mine.name) {
    const int old_fd = bpf_prog_get_fd_by_id(existing->id);
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
    const uint32_t flags =
        XDP_FLAGS_REPLACE | (mode == AttachMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
    const int err = bpf_xdp_attach(ifindex, prog_fd(), flags, &opts);
    close(old_fd);
    if (err != 0)
      return failed_precondition("replacing the older Floodgate program on ifindex " +
                                 std::to_string(ifindex) + " failed: " + errno_text(err));
    xdp_program* prog = xdp_program__from_fd(prog_fd());
    return std::make_unique<Attachment>(prog, ifindex, mode, false, false);
  }
  xdp_program* prog = xdp_program__from_fd(prog_fd());
  if (long err = libxdp_get_error(prog); err != 0)
    return internal_error("libxdp could not use the loaded program: " +
                          errno_text(static_cast<int>(err)));
  const xdp_attach_mode xmode = mode == AttachMode::kNative ? XDP_MODE_NATIVE : XDP_MODE_SKB;
  if (int err = xdp_program__attach(prog, ifindex, xmode, 0); err != 0) {
    xdp_program__close(prog);
    return failed_precondition(
        "attaching XDP to ifindex " + std::to_string(ifindex) + " in " +
        (mode == AttachMode::kNative ? "native" : "generic") + " mode failed: " + errno_text(err) +
        (mode == AttachMode::kNative ? "; if the driver lacks native XDP, configure generic mode"
                                     : ""));
  }
  bool dispatcher = false;
  if (xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex); !libxdp_get_error(mp)) {
    dispatcher = !xdp_multiprog__is_legacy(mp);
    xdp_multiprog__close(mp);
  }
  return std::make_unique<Attachment>(prog, ifindex, mode, dispatcher, false);
}

Attachment::Attachment(xdp_program* prog, int ifindex, AttachMode mode, bool dispatcher,
                       bool adopted)
    : prog_(prog), ifindex_(ifindex), mode_(mode), dispatcher_(dispatcher), adopted_(adopted) {}

Attachment::~Attachment() { xdp_program__close(prog_); }

Status Attachment::detach() {
  if (!attached_) return Ok{};
  int err = xdp_program__detach(prog_, ifindex_,
                                mode_ == AttachMode::kNative ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
  if (err != 0) {
    // Adopted or swapped-in programs were not attached by this libxdp handle.
    auto r = Datapath::detach_ours(ifindex_);
    if (!r.ok()) return r.error();
  }
  attached_ = false;
  return Ok{};
}

std::string Attachment::describe() const {
  std::string s = mode_ == AttachMode::kNative ? "native" : "generic (slow path: fix the driver)";
  s += dispatcher_ ? ", libxdp dispatcher" : ", single program (libxdp dispatcher unavailable)";
  if (adopted_) s += ", adopted from the previous run";
  return s;
}

}  // namespace floodgate
