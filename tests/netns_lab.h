// A two-namespace lab for tests: namespaces "a" and "b" joined by one veth pair, with
// unique names, removed in the destructor even when the test failed. Traffic stays
// between the two namespaces (198.18.100.0/24, the benchmarking range).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
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
  // `tag` (one character) tells apart several labs of one test process.
  explicit NetnsLab(const std::string& tag = "") {
    const std::string id = std::to_string(getpid()) + tag;
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

// A UDP socket bound to addr:port in the calling thread's namespace, 300 ms receive
// timeout.
inline int udp_socket(const char* addr, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    throw std::runtime_error(std::string("bind ") + addr + ": " + std::strerror(errno));
  timeval tv{0, 300'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// Sends `count` datagrams from each source address (in namespace ns) to dst:port, from
// source port `sport` (0: any).
inline void send_datagrams(const std::string& ns, const std::vector<std::string>& sources,
                           const char* dst, uint16_t port, int count, uint16_t sport = 0) {
  in_netns(ns, [&] {
    for (const std::string& src : sources) {
      const int fd = udp_socket(src.c_str(), sport);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      inet_pton(AF_INET, dst, &to.sin_addr);
      for (int i = 0; i < count; i++) {
        sendto(fd, "floodgate", 9, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        usleep(1000);
      }
      close(fd);
    }
  });
}

// Drains `fd` until 300 ms pass quietly; counts datagrams by source address.
inline std::map<std::string, int> receive_by_source(int fd) {
  std::map<std::string, int> got;
  char buf[64];
  sockaddr_in from{};
  socklen_t len = sizeof(from);
  while (recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) > 0) {
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
    got[addr]++;
    len = sizeof(from);
  }
  return got;
}

inline int count_of(const std::map<std::string, int>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace floodgate::test
