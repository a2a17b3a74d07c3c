// gRPC to a server inside a test's network namespace (gRPC's own threads are not in it),
// and polling until a condition holds.
#pragma once

#include <grpcpp/create_channel_posix.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "netns_lab.h"

namespace floodgate::test {

using Clock = std::chrono::steady_clock;
constexpr int kApiPort = 50051;  // gobgpd's API in each lab namespace

std::shared_ptr<grpc::Channel> channel_in(const std::string& ns, int port) {
  int fd = -1;
  in_netns(ns, [&] {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      throw std::runtime_error("cannot reach gobgpd's API in " + ns);
  });
  return grpc::CreateInsecureChannelFromFd("gobgpd", fd);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

}  // namespace floodgate::test
