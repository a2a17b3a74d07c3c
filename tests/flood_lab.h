// Floods and legitimate clients for end-to-end tests in a NetnsLab: trafgen runs in
// namespace a (bounded by `timeout -s INT`, so its workers stop too), fglab serves in
// namespace b and probes from a. Everything stays between the lab's two namespaces.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "netns_lab.h"

namespace floodgate::test {

// The MAC address of `dev` in namespace `ns`.
inline std::string mac_of(const std::string& ns, const std::string& dev) {
  std::string out;
  FILE* p = popen(("ip -n " + ns + " -br link show " + dev + " | awk '{print $3}'").c_str(), "r");
  char buf[64];
  while (p && fgets(buf, sizeof(buf), p)) out += buf;
  if (p) pclose(p);
  return out.substr(0, out.find('\n'));
}

// trafgen from a's veth to b's: each packet definition is sent in turn, after an
// Ethernet header addressed to b. Runs in the background until join().
class Flood {
 public:
  Flood(const NetnsLab& lab, const std::string& dir, const std::vector<std::string>& packets,
        int pps, int seconds, const std::string& l2 = "") {
    std::filesystem::create_directories(dir);
    const std::string cfg = dir + "/flood-" + std::to_string(next_id()) + ".cfg";
    std::ofstream out(cfg);
    const std::string eth =
        "eth(da=" + mac_of(lab.ns_b, lab.if_b) + ", sa=" + mac_of(lab.ns_a, lab.if_a) + "), " + l2;
    for (const std::string& p : packets) out << "{ " << eth << p << " }\n";
    out.close();
    const std::string cmd = "ip netns exec " + lab.ns_a + " timeout -s INT " +
                            std::to_string(seconds) + " trafgen -o " + lab.if_a + " -i " + cfg +
                            " -b " + std::to_string(pps) + "pps -P 1 -C >/dev/null 2>&1";
    thread_ = std::thread([cmd] { sh(cmd); });
  }
  ~Flood() { join(); }
  Flood(Flood&&) = default;
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  static int next_id() {
    static int n = 0;
    return n++;
  }
  std::thread thread_;
};

#ifdef FGLAB_PATH
// fglab serve ADDR PORT in namespace ns, stopped in the destructor.
class Service {
 public:
  Service(const std::string& ns, const std::string& addr, int port) {
    std::fflush(nullptr);  // the child reopens stdout, which would write our buffer again
    pid_ = fork();
    if (pid_ == 0) {
      freopen("/dev/null", "w", stdout);
      execlp("ip", "ip", "netns", "exec", ns.c_str(), FGLAB_PATH, "serve", addr.c_str(),
             std::to_string(port).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // listening
  }
  ~Service() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

 private:
  pid_t pid_ = -1;
};

// fglab probe from namespace ns for `seconds`: request/response exchanges every 100 ms.
class Probe {
 public:
  Probe(const std::string& ns, const std::string& addr, int port, int seconds) {
    const std::string cmd = "ip netns exec " + ns + " " + FGLAB_PATH + " probe " + addr + " " +
                            std::to_string(port) + " " + std::to_string(seconds);
    thread_ = std::thread([this, cmd] {
      FILE* p = popen(cmd.c_str(), "r");
      char buf[256];
      while (p && fgets(buf, sizeof(buf), p)) {
        int ok = 0, total = 0;
        if (std::sscanf(buf, "client summary: %d/%d", &ok, &total) == 2) ok_ = ok, total_ = total;
        if (std::strstr(buf, "median")) {
          double ms = 0;
          if (const char* m = std::strstr(buf, "median "); m && std::sscanf(m, "median %lf", &ms))
            medians_.push_back(ms);
        }
      }
      if (p) pclose(p);
    });
  }
  ~Probe() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int total() const { return total_; }
  double success() const { return total_ ? static_cast<double>(ok_) / total_ : 0; }
  // The median of the per-second median latencies, ms.
  double median_ms() {
    if (medians_.empty()) return 0;
    std::sort(medians_.begin(), medians_.end());
    return medians_[medians_.size() / 2];
  }

 private:
  std::thread thread_;
  int ok_ = 0, total_ = 0;
  std::vector<double> medians_;
};
#endif

}  // namespace floodgate::test
