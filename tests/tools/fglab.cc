// fglab: the lab's legitimate service and client. `fglab serve ADDR PORT` answers each
// TCP connection's line with "ok"; `fglab probe ADDR PORT SECONDS` makes one small
// request/response exchange every 100 ms and prints, each second, how many succeeded
// and their median latency, then a summary line. Used by scripts/demo.sh and the lab.
// `fglab tap-sink DEV` creates tap device DEV and reads and discards every frame sent to
// it until killed: a device that costs its sender almost nothing to transmit to, for
// scripts/bench-compare's generator-only lane (trafgen spins on a tap nobody reads).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in address(const char* ip, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
    std::fprintf(stderr, "fglab: '%s' is not an IPv4 address\n", ip);
    std::exit(2);
  }
  return sa;
}

int serve(const char* ip, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa = address(ip, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
    std::perror("fglab serve");
    return 1;
  }
  for (;;) {
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c] {
      char buf[256];
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 2000) == 1 && read(c, buf, sizeof(buf)) > 0) (void)!write(c, "ok\n", 3);
      close(c);
    }).detach();
  }
}

// One exchange; its latency in ms, or a negative number on failure (1 s timeout).
double exchange(const sockaddr_in& sa) {
  const auto start = Clock::now();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  pollfd p{fd, POLLOUT, 0};
  double ms = -1;
  int err = 0;
  socklen_t len = sizeof(err);
  if (poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 &&
      write(fd, "ping\n", 5) == 5) {
    p.events = POLLIN;
    char buf[16];
    if (poll(&p, 1, 1000) == 1 && read(fd, buf, sizeof(buf)) >= 2)
      ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }
  close(fd);
  return ms;
}

int probe(const char* ip, int port, int seconds) {
  const sockaddr_in sa = address(ip, port);
  int total = 0, ok_total = 0;
  for (int s = 0; s < seconds; s++) {
    std::vector<double> lat;
    int tries = 0;
    const auto second_end = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < second_end) {
      const auto next = Clock::now() + std::chrono::milliseconds(100);
      tries++;
      if (double ms = exchange(sa); ms >= 0) lat.push_back(ms);
      std::this_thread::sleep_until(next);
    }
    std::sort(lat.begin(), lat.end());
    total += tries;
    ok_total += static_cast<int>(lat.size());
    std::printf("client: %2zu/%d requests ok, median %.2f ms\n", lat.size(), tries,
                lat.empty() ? 0.0 : lat[lat.size() / 2]);
    std::fflush(stdout);
  }
  std::printf("client summary: %d/%d ok (%.1f%%)\n", ok_total, total,
              total ? 100.0 * ok_total / total : 0.0);
  return 0;
}

}  // namespace

int tap_sink(const char* dev) {
  const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::fprintf(stderr, "fglab: cannot create tap %s: %s\n", dev, std::strerror(errno));
    return 1;
  }
  // Non-blocking reads and a 1 ms nap when the queue is empty: nobody ever waits on the
  // tap, so the sender never pays for waking a reader (that would be charged to it).
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::vector<char> frame(65536);
  for (;;) {
    while (read(fd, frame.data(), frame.size()) >= 0) {
    }
    if (errno != EAGAIN && errno != EINTR) return 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int main(int argc, char** argv) {
  if (argc == 4 && !std::strcmp(argv[1], "serve")) return serve(argv[2], std::atoi(argv[3]));
  if (argc == 5 && !std::strcmp(argv[1], "probe"))
    return probe(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (argc == 3 && !std::strcmp(argv[1], "tap-sink")) return tap_sink(argv[2]);
  std::fprintf(stderr,
               "usage: fglab serve ADDR PORT | fglab probe ADDR PORT SECONDS | fglab tap-sink "
               "DEV\n");
  return 2;
}
