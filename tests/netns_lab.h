// A two-namespace lab for tests: namespaces "a" and "b" joined by one veth pair, with
// unique names, removed in the destructor even when the test failed. Traffic stays
// between the two namespaces (198.18.100.0/24, the benchmarking range).
#pragma once

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace floodgate::test {

inline int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// Runs fn on a thread that has joined network namespace `ns` (sockets it opens and
// interfaces it names belong to that namespace).
inline void in_netns(const std::string& ns, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
        throw std::runtime_error("cannot enter network namespace " + ns);
      close(fd);
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

class NetnsLab {
 public:
  NetnsLab() {
    const std::string id = std::to_string(getpid());
    ns_a = "fgt" + id + "a";
    ns_b = "fgt" + id + "b";
    if_a = "fgv" + id + "a";
    if_b = "fgv" + id + "b";
    ok_ = sh("ip netns add " + ns_a) == 0 && sh("ip netns add " + ns_b) == 0 &&
          sh("ip link add " + if_a + " netns " + ns_a + " type veth peer name " + if_b + " netns " +
             ns_b) == 0 &&
          sh("ip -n " + ns_a + " addr add " + kAddrA + "/24 dev " + if_a) == 0 &&
          sh("ip -n " + ns_a + " addr add " + kAddrA2 + "/24 dev " + if_a) == 0 &&
          sh("ip -n " + ns_b + " addr add " + kAddrB + "/24 dev " + if_b) == 0 &&
          sh("ip -n " + ns_a + " link set " + if_a + " up") == 0 &&
          sh("ip -n " + ns_b + " link set " + if_b + " up") == 0 &&
          sh("ip -n " + ns_a + " link set lo up") == 0 &&
          sh("ip -n " + ns_b + " link set lo up") == 0;
  }
  ~NetnsLab() {
    sh("ip netns del " + ns_a + " 2>/dev/null");
    sh("ip netns del " + ns_b + " 2>/dev/null");
  }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  bool ok() const { return ok_; }
  int ifindex_b() const {
    int idx = 0;
    in_netns(ns_b, [&] { idx = static_cast<int>(if_nametoindex(if_b.c_str())); });
    return idx;
  }

  static constexpr const char* kAddrA = "198.18.100.1";
  static constexpr const char* kAddrA2 = "198.18.100.3";
  static constexpr const char* kAddrB = "198.18.100.2";
  std::string ns_a, ns_b, if_a, if_b;

 private:
  bool ok_ = false;
};

}  // namespace floodgate::test
