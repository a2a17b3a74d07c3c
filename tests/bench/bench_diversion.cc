// Diversion benchmark (not a test): time from `divert on` returning to the route being in
// the provider's RIB, and from `divert off --now` returning to its removal, median over
// 20 runs, with real gobgpd on both sides in namespaces this program creates.
#include <algorithm>
#include <cstdio>

#include "diversion_lab.h"

using namespace floodgate;
using namespace floodgate::test;

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 20;
  NetnsLab lab;
  if (!lab.ok()) return std::fprintf(stderr, "cannot build the namespace lab (root?)\n"), 1;
  DiversionLab div(lab);
  if (!div.ok()) return std::fprintf(stderr, "the BGP session did not come up\n"), 1;
  std::vector<double> on_ms, off_ms;
  for (int i = 0; i < runs; i++) {
    std::string out;
    if (div.daemon->ctl("divert on 198.51.100.0/24", &out) != 0)
      return std::fprintf(stderr, "divert on failed: %s\n", out.c_str()), 1;
    auto t = Clock::now();
    if (!eventually([&] { return div.provider_has("198.51.100.0/24", {k65000_100}); },
                    std::chrono::seconds(10), std::chrono::milliseconds(2)))
      return std::fprintf(stderr, "the route never arrived\n"), 1;
    on_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (div.daemon->ctl("divert off 198.51.100.0/24 --now", &out) != 0)
      return std::fprintf(stderr, "divert off failed: %s\n", out.c_str()), 1;
    t = Clock::now();
    if (!eventually([&] { return div.provider_rib().empty(); }, std::chrono::seconds(10),
                    std::chrono::milliseconds(2)))
      return std::fprintf(stderr, "the route was never withdrawn\n"), 1;
    off_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  auto report = [](const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-44s median %6.1f ms  (min %.1f, max %.1f, %zu runs)\n", what, v[v.size() / 2],
                v.front(), v.back(), v.size());
  };
  std::printf("(the provider's RIB is polled every 2 ms through its API)\n");
  report("divert on returned -> in the provider's RIB", on_ms);
  report("divert off --now returned -> removed", off_ms);
  return 0;
}
