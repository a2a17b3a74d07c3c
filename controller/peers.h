// Who is on the other end of each Unix-socket connection, from the kernel (SO_PEERCRED).
// gRPC does not expose peer credentials, so floodgated accepts connections itself,
// records their credentials here and hands each fd to gRPC; handlers find the record
// by the call's peer string ("fd:N").
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace floodgate {

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class PeerRegistry {
 public:
  void set(int fd, PeerCred c);
  std::optional<PeerCred> find(const std::string& grpc_peer) const;
  // "alice (uid 1000, pid 4242)"
  static std::string describe(const PeerCred& c);

 private:
  mutable std::mutex mu_;
  std::map<int, PeerCred> by_fd_;  // an fd number is reused only after a new accept()
};

}  // namespace floodgate
