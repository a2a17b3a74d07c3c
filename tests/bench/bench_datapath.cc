// Data-path cost per packet through BPF_PROG_TEST_RUN with repeat, side by side with a
// minimal XDP_DROP program built in the same tree (the floor), and map memory at the
// production sizes. Prints a table of ns/packet and ratios; asserts nothing.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bucket.h"
#include "datapath.h"
#include "packet_builder.h"
#include "xdp_drop.skel.h"

using namespace floodgate;
using floodgate::test::PacketBuilder;

namespace {

// Average ns per run over `repeat` runs of one frame.
double ns_per_packet(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat, int* retval) {
  std::vector<uint8_t> in = frame;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_size_in = static_cast<uint32_t>(in.size()), .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    std::perror("bpf_prog_test_run_opts");
    std::exit(1);
  }
  *retval = static_cast<int>(opts.retval);
  return static_cast<double>(opts.duration);
}

fg_addr v4(uint32_t host_order) {
  fg_addr a{};
  a.w[2] = htonl(0xffff);
  a.w[3] = htonl(host_order);
  return a;
}

// kernel.bpf_stats_enabled adds two clock reads to every run (~34 ns here), which would
// hide the differences between lanes; it is off while this benchmark runs, then restored.
class BpfStatsOff {
 public:
  BpfStatsOff() {
    std::FILE* f = std::fopen(kPath, "r");
    if (f) {
      was_on_ = std::fgetc(f) == '1';
      std::fclose(f);
    }
    if (was_on_) write('0');
  }
  ~BpfStatsOff() {
    if (was_on_) write('1');
  }
  BpfStatsOff(const BpfStatsOff&) = delete;
  BpfStatsOff& operator=(const BpfStatsOff&) = delete;

 private:
  static constexpr const char* kPath = "/proc/sys/kernel/bpf_stats_enabled";
  static void write(char c) {
    if (std::FILE* f = std::fopen(kPath, "w")) {
      std::fputc(c, f);
      std::fclose(f);
    }
  }
  bool was_on_ = false;
};

struct Lane {
  const char* name;
  int prog_fd;
  std::vector<uint8_t> frame;
  int expect;
  std::vector<double> ns;
};

}  // namespace

int main(int argc, char** argv) {
  uint32_t repeat = 1'000'000;
  int rounds = 5;
  uint32_t xdp_filter_id = 0;  // scripts/bench-datapath loads xdp-filter and passes its id
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--xdp-filter-prog") && i + 1 < argc)
      xdp_filter_id = std::stoul(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: %s [--repeat N (default 1000000)] [--rounds N (default 5)]\n"
                   "          [--xdp-filter-prog ID (xdp-filter's program, 10.0.200.7 in its "
                   "deny list)]\n",
                   argv[0]);
      return 2;
    }
  }

  const BpfStatsOff stats_off;
  xdp_drop* floor_skel = xdp_drop__open_and_load();
  if (!floor_skel) {
    std::fprintf(stderr, "loading the floor program failed: run as root\n");
    return 1;
  }
  MapSizes sizes;
  sizes.src_entries = 1 << 17;
  auto loaded = Datapath::load(sizes);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return 1;
  }
  Datapath& dp = **loaded;

  // Every stage on: allow and block lists populated, policy and reflection on, all four
  // per-source limits and the aggregate limits on (rates high enough never to trip),
  // reputation on.
  constexpr uint32_t kBlocks = 100'000;
  for (uint32_t i = 0; i < kBlocks; i++) {
    Prefix p;
    p.addr = v4(0x0a000000u + i);  // 10.0.0.0 + i
    p.len = 32;
    if (!dp.add_block(p, {0, 0, FG_ORIGIN_OPERATOR, 0}).ok()) return 1;
  }
  for (int i = 0; i < 1000; i++) {
    Prefix p;
    p.addr = v4(0x0b000000u + (static_cast<uint32_t>(i) << 8));  // 11.x.y.0/24
    p.len = 24;
    if (!dp.add_block(p, {0, 0, FG_ORIGIN_OPERATOR, 0}).ok()) return 1;
  }
  for (int i = 0; i < 100; i++) {
    Prefix p;
    p.addr = v4(0x0c000000u + (static_cast<uint32_t>(i) << 16));  // 12.x.0.0/16
    p.len = 16;
    if (!dp.add_allow(p).ok()) return 1;
  }
  if (!dp.add_protected(*parse_prefix("198.19.0.0/16"), 0).ok()) return 1;
  if (!dp.set_portset(FG_PORTSET(FG_PROTO_TCP, FG_PORTSET_ALLOW), {80, 443}).ok()) return 1;
  if (!dp.set_portset(FG_PORTSET(FG_PROTO_UDP, FG_PORTSET_ALLOW), {53, 443}).ok()) return 1;
  fg_config cfg = dp.config();
  cfg.mode = FG_MODE_ENFORCE;
  cfg.policy_default[FG_PROTO_TCP] = FG_ACT_DROP;
  cfg.policy_default[FG_PROTO_UDP] = FG_ACT_DROP;
  for (auto& b : cfg.src) b = bucket_config({1'000'000'000'000ull, 1'000'000'000'000ull});
  for (auto& b : cfg.agg) b = bucket_config({1'000'000'000'000ull, 1'000'000'000'000ull});
  cfg.agg_on = 1;
  if (!dp.set_config(cfg).ok()) return 1;

  // The rate-limit lane: its own source whose SYN bucket is empty. Buckets are per
  // config, so this lane runs with a separate program instance.
  auto limited_loaded = Datapath::load(MapSizes{4096, 1024, 4096, 16, 1 << 16});
  if (!limited_loaded.ok()) return 1;
  Datapath& limited = **limited_loaded;
  fg_config lcfg = limited.config();
  lcfg.mode = FG_MODE_ENFORCE;
  lcfg.rep_threshold = 0;
  lcfg.src[FG_VEC_SYN] = bucket_config({1, 1});
  if (!limited.set_config(lcfg).ok()) return 1;

  const auto udp_pass = PacketBuilder().ipv4("198.18.0.1", "198.19.0.1").udp(40000, 53).bytes();
  const auto tcp_pass = PacketBuilder().ipv4("198.18.0.1", "198.19.0.1").tcp(40000, 443).bytes();
  const auto blocked = PacketBuilder().ipv4("10.0.200.7", "198.19.0.1").udp(40000, 53).bytes();
  const auto blocked_lpm = PacketBuilder().ipv4("11.0.3.9", "198.19.0.1").udp(40000, 53).bytes();
  const auto syn = PacketBuilder().ipv4("198.18.0.9", "198.19.0.1").tcp(40000, 443).bytes();
  int rv = 0;
  ns_per_packet(limited.prog_fd(), syn, 1, &rv);  // spend the only token

  std::vector<Lane> lanes = {
      {"floor: minimal XDP_DROP",
       bpf_program__fd(floor_skel->progs.xdp_drop),
       udp_pass,
       XDP_DROP,
       {}},
      {"pass path, all stages, UDP", dp.prog_fd(), udp_pass, XDP_PASS, {}},
      {"pass path, all stages, TCP SYN", dp.prog_fd(), tcp_pass, XDP_PASS, {}},
      {"block-list drop (exact, 100k entries)", dp.prog_fd(), blocked, XDP_DROP, {}},
      {"block-list drop (prefix, 1k /24s)", dp.prog_fd(), blocked_lpm, XDP_DROP, {}},
      {"rate-limit drop (SYN bucket empty)", limited.prog_fd(), syn, XDP_DROP, {}},
  };
  if (xdp_filter_id) {
    const int fd = bpf_prog_get_fd_by_id(xdp_filter_id);
    if (fd < 0) {
      std::fprintf(stderr, "no program with id %u (xdp-filter's)\n", xdp_filter_id);
      return 1;
    }
    // The same frame as the exact block-list lane, its source in xdp-filter's deny list.
    lanes.push_back({"xdp-filter drop (1 entry, same frame)", fd, blocked, XDP_DROP, {}});
  }
  // Rounds interleave the lanes so that machine noise hits them alike.
  for (int r = 0; r < rounds; r++) {
    for (Lane& l : lanes) {
      l.ns.push_back(ns_per_packet(l.prog_fd, l.frame, repeat, &rv));
      if (rv != l.expect) {
        std::fprintf(stderr, "lane '%s' returned verdict %d, expected %d\n", l.name, rv, l.expect);
        return 1;
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double floor_ns = median(lanes[0].ns);
  std::printf("BPF_PROG_TEST_RUN, repeat %u, %d interleaved rounds, median (min..max)\n\n", repeat,
              rounds);
  std::printf("| %-40s | %22s | %8s |\n", "lane", "ns/packet", "x floor");
  std::printf("|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(24, '-').c_str(),
              std::string(10, '-').c_str());
  for (const Lane& l : lanes) {
    const auto [lo, hi] = std::minmax_element(l.ns.begin(), l.ns.end());
    char range[64];
    std::snprintf(range, sizeof(range), "%.1f (%.0f..%.0f)", median(l.ns), *lo, *hi);
    std::printf("| %-40s | %22s | %7.2fx |\n", l.name, range, median(l.ns) / floor_ns);
  }

  // Memory at production sizes: 1M blocks, 1M sources (hash maps are preallocated, so
  // the kernel's charge is the full cost whether or not the entries are filled).
  auto full = Datapath::load(MapSizes{});
  if (!full.ok()) {
    std::fprintf(stderr, "%s\n", full.error().message.c_str());
    return 1;
  }
  std::printf("\nMap memory at default sizes (kernel memlock charge):\n\n");
  std::printf("| %-14s | %12s | %14s | %14s |\n", "map", "max entries", "bytes", "bytes/entry");
  std::printf("|%s|%s|%s|%s|\n", std::string(16, '-').c_str(), std::string(14, '-').c_str(),
              std::string(16, '-').c_str(), std::string(16, '-').c_str());
  for (const auto& m : (*full)->map_memory()) {
    std::printf("| %-14s | %12u | %14llu | %14.1f |\n", m.name.c_str(), m.max_entries,
                static_cast<unsigned long long>(m.bytes),
                static_cast<double>(m.bytes) / std::max<uint32_t>(m.max_entries, 1));
  }
  std::printf("\nstate per tracked source (value): %zu bytes; per block entry (value): %zu bytes\n",
              sizeof(fg_src_state), sizeof(fg_block));
  xdp_drop__destroy(floor_skel);
  return 0;
}
