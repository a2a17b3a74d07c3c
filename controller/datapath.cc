// Loading, map access and libxdp attachment for the XDP program.
#include "datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "defaults.h"
#include "floodgate_bpf.skel.h"

namespace floodgate {
namespace {

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

Status map_update(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0) return Ok{};
  const int err = errno;
  if (err == E2BIG || err == ENOMEM || err == ENOSPC)
    return resource_exhausted(std::string(what) +
                              " map is full; remove entries or raise its size in the config");
  return internal_error(std::string("updating ") + what + ": " + errno_text(err));
}

Status map_delete(int fd, const void* key, const std::string& what) {
  if (bpf_map_delete_elem(fd, key) == 0) return Ok{};
  const int err = errno;
  if (err == ENOENT) return not_found(what + " is not in the map");
  return internal_error("deleting " + what + ": " + errno_text(err));
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<Datapath>> Datapath::load(const MapSizes& sizes) {
  ::floodgate_bpf* skel = floodgate_bpf__open();
  if (!skel) return internal_error("opening the embedded BPF object: " + errno_text(errno));
  auto set_size = [](bpf_map* m, uint32_t n) { return bpf_map__set_max_entries(m, n); };
  if (set_size(skel->maps.block_exact, sizes.block_entries) ||
      set_size(skel->maps.block_lpm, sizes.block_prefixes) ||
      set_size(skel->maps.allow_lpm, sizes.allow_prefixes) ||
      set_size(skel->maps.src_state, sizes.src_entries) ||
      set_size(skel->maps.protected_lpm, sizes.protected_entries) ||
      set_size(skel->maps.agg_state, sizes.protected_entries) ||
      set_size(skel->maps.events, sizes.events_bytes)) {
    floodgate_bpf__destroy(skel);
    return invalid_argument(
        "map sizes rejected (events_bytes must be a power of two and a "
        "multiple of the page size)");
  }
  if (int err = floodgate_bpf__load(skel); err != 0) {
    floodgate_bpf__destroy(skel);
    return failed_precondition("loading the XDP program failed (" + errno_text(err) +
                               "); run as root on a kernel with BPF, or see the libbpf log above");
  }
  std::unique_ptr<Datapath> dp(new Datapath(skel));
  if (auto s = dp->set_config(default_config()); !s) return s.error();
  if (auto s = dp->set_portset(FG_PORTSET_REFLECTION, default_reflection_ports()); !s)
    return s.error();
  return dp;
}

Datapath::~Datapath() { floodgate_bpf__destroy(skel_); }

int Datapath::prog_fd() const { return bpf_program__fd(skel_->progs.floodgate_xdp); }
int Datapath::events_fd() const { return bpf_map__fd(skel_->maps.events); }

Status Datapath::set_config(const fg_config& cfg) {
  const uint32_t zero = 0;
  return map_update(bpf_map__fd(skel_->maps.config), &zero, &cfg, "config");
}

fg_config Datapath::config() const {
  const uint32_t zero = 0;
  fg_config cfg{};
  bpf_map_lookup_elem(bpf_map__fd(skel_->maps.config), &zero, &cfg);
  return cfg;
}

Status Datapath::add_block(const Prefix& p, const fg_block& value) {
  if (p.is_host())
    return map_update(bpf_map__fd(skel_->maps.block_exact), &p.addr, &value, "block_exact");
  const fg_lpm_key key = p.lpm_key();
  return map_update(bpf_map__fd(skel_->maps.block_lpm), &key, &value, "block_lpm");
}

Status Datapath::remove_block(const Prefix& p) {
  if (p.is_host())
    return map_delete(bpf_map__fd(skel_->maps.block_exact), &p.addr, "block " + p.str());
  const fg_lpm_key key = p.lpm_key();
  return map_delete(bpf_map__fd(skel_->maps.block_lpm), &key, "block " + p.str());
}

std::optional<fg_block> Datapath::find_block(const Prefix& p) const {
  fg_block v{};
  int rc;
  if (p.is_host()) {
    rc = bpf_map_lookup_elem(bpf_map__fd(skel_->maps.block_exact), &p.addr, &v);
  } else {
    // An LPM lookup returns the longest match; only an entry of exactly this prefix counts.
    const fg_lpm_key key = p.lpm_key();
    fg_lpm_key next{};
    rc = -1;
    const int fd = bpf_map__fd(skel_->maps.block_lpm);
    for (const void* cur = nullptr; bpf_map_get_next_key(fd, cur, &next) == 0; cur = &next) {
      if (std::memcmp(&next, &key, sizeof(key)) == 0) {
        rc = bpf_map_lookup_elem(fd, &next, &v);
        break;
      }
    }
  }
  if (rc != 0) return std::nullopt;
  return v;
}

std::vector<BlockEntry> Datapath::blocks() const {
  std::vector<BlockEntry> out;
  const int exact = bpf_map__fd(skel_->maps.block_exact);
  fg_addr addr{};
  for (const void* cur = nullptr; bpf_map_get_next_key(exact, cur, &addr) == 0; cur = &addr) {
    fg_block v{};
    if (bpf_map_lookup_elem(exact, &addr, &v) == 0)
      out.push_back({prefix_from_key(fg_lpm_key{128, addr}), v});
  }
  const int lpm = bpf_map__fd(skel_->maps.block_lpm);
  fg_lpm_key key{};
  for (const void* cur = nullptr; bpf_map_get_next_key(lpm, cur, &key) == 0; cur = &key) {
    fg_block v{};
    if (bpf_map_lookup_elem(lpm, &key, &v) == 0) out.push_back({prefix_from_key(key), v});
  }
  return out;
}

Status Datapath::add_allow(const Prefix& p) {
  const fg_lpm_key key = p.lpm_key();
  const fg_allow v{};
  return map_update(bpf_map__fd(skel_->maps.allow_lpm), &key, &v, "allow_lpm");
}

Status Datapath::remove_allow(const Prefix& p) {
  const fg_lpm_key key = p.lpm_key();
  return map_delete(bpf_map__fd(skel_->maps.allow_lpm), &key, "allow " + p.str());
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
  const fg_lpm_key key = p.lpm_key();
  const fg_protected v{agg_index, 0};
  return map_update(bpf_map__fd(skel_->maps.protected_lpm), &key, &v, "protected_lpm");
}

Counters Datapath::counters() const {
  Counters total{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return total;
  std::vector<fg_counters> per_cpu(static_cast<size_t>(ncpu));
  const int fd = bpf_map__fd(skel_->maps.stats);
  for (uint32_t r = 0; r < FG_R_MAX; r++) {
    if (bpf_map_lookup_elem(fd, &r, per_cpu.data()) != 0) continue;
    for (const auto& c : per_cpu) {
      total[r].pass_packets += c.pass_packets;
      total[r].pass_bytes += c.pass_bytes;
      total[r].drop_packets += c.drop_packets;
      total[r].drop_bytes += c.drop_bytes;
      total[r].samples += c.samples;
      total[r].samples_lost += c.samples_lost;
    }
  }
  return total;
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

Result<std::unique_ptr<Attachment>> Datapath::attach(int ifindex, AttachMode mode) {
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
  return std::make_unique<Attachment>(prog, ifindex, mode, dispatcher);
}

Attachment::Attachment(xdp_program* prog, int ifindex, AttachMode mode, bool dispatcher)
    : prog_(prog), ifindex_(ifindex), mode_(mode), dispatcher_(dispatcher) {}

Attachment::~Attachment() {
  xdp_program__detach(prog_, ifindex_,
                      mode_ == AttachMode::kNative ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
  xdp_program__close(prog_);
}

std::string Attachment::describe() const {
  std::string s = mode_ == AttachMode::kNative ? "native" : "generic (slow path: fix the driver)";
  s += dispatcher_ ? ", libxdp dispatcher" : ", single program (libxdp dispatcher unavailable)";
  return s;
}

}  // namespace floodgate
