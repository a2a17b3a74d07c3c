// API benchmark (not a test): Block RPC latency over floodgated's Unix socket (10k
// single-prefix calls, p50/p99), and the time to load 100k prefixes in one batch beside
// `nft add element` of the same 100k into an nftables set, in one run. The daemon and
// nft each run in a namespace this program creates. Prints figures; asserts nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "daemon_lab.h"

using namespace floodgate;
using namespace floodgate::test;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string addr(uint32_t base, uint32_t i) {
  const uint32_t a = base + i;
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 10'000;
  uint32_t batch = 100'000;
  if (argc == 3) {
    calls = std::atoi(argv[1]);
    batch = static_cast<uint32_t>(std::atoi(argv[2]));
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: %s [CALLS BATCH] (default 10000 100000)\n", argv[0]);
    return 2;
  }
  NetnsLab lab;
  if (!lab.ok()) return std::fprintf(stderr, "cannot build the namespace lab (root?)\n"), 1;
  DaemonLab daemon(lab, DaemonOptions{1u << 20, 0, ""});
  if (!daemon.start())
    return std::fprintf(stderr, "floodgated did not start:\n%s", daemon.log().c_str()), 1;

  // 1. Latency of single-prefix Block calls, one after another.
  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(calls));
  for (int i = 0; i < calls; i++) {
    v1::BlockRequest req;
    req.add_prefixes(addr(0x0a000000u, static_cast<uint32_t>(i)));
    v1::BlockResponse resp;
    grpc::ClientContext ctx;
    const auto t = Clock::now();
    const grpc::Status s = daemon.api().Block(&ctx, req, &resp);
    lat.push_back(ms_since(t));
    if (!s.ok()) return std::fprintf(stderr, "Block failed: %s\n", s.error_message().c_str()), 1;
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[static_cast<size_t>(p * static_cast<double>(lat.size() - 1))];
  };

  // 2. One batch of `batch` prefixes through the API.
  v1::BlockRequest big;
  for (uint32_t i = 0; i < batch; i++) big.add_prefixes(addr(0x0b000000u, i));
  v1::BlockResponse big_resp;
  grpc::ClientContext ctx;
  auto t = Clock::now();
  const grpc::Status s = daemon.api().Block(&ctx, big, &big_resp);
  const double floodgate_ms = ms_since(t);
  if (!s.ok()) return std::fprintf(stderr, "batch failed: %s\n", s.error_message().c_str()), 1;

  // 3. The same prefixes into an nftables set, in the lab's namespace.
  const std::string file = daemon.dir() + "/nft.txt";
  {
    std::ofstream f(file);
    f << "add table inet fgbench\nadd set inet fgbench attackers { type ipv4_addr; size "
      << batch * 2 << "; }\n";
  }
  if (sh("ip netns exec " + lab.ns_b + " nft -f " + file) != 0)
    return std::fprintf(stderr, "nft could not create the set\n"), 1;
  {
    std::ofstream f(file);
    f << "add element inet fgbench attackers { ";
    for (uint32_t i = 0; i < batch; i++) f << (i ? ", " : "") << addr(0x0b000000u, i);
    f << " }\n";
  }
  t = Clock::now();
  const int rc = sh("ip netns exec " + lab.ns_b + " nft -f " + file);
  const double nft_ms = ms_since(t);
  if (rc != 0) return std::fprintf(stderr, "nft add element failed\n"), 1;

  std::printf("Block RPC over the Unix socket, %d calls of one prefix each:\n", calls);
  std::printf("  p50 %.3f ms   p99 %.3f ms   max %.3f ms\n\n", pct(0.50), pct(0.99), lat.back());
  std::printf("%u prefixes in one batch:\n", batch);
  std::printf("  floodgate Block RPC (store + maps)   %8.1f ms\n", floodgate_ms);
  std::printf("  nft add element (one set, one file)  %8.1f ms\n", nft_ms);
  std::printf("  ratio nft / floodgate                %8.2fx\n", nft_ms / floodgate_ms);
  return 0;
}
