// The fd -> credentials registry.
#include "peers.h"

#include <pwd.h>

#include <charconv>

namespace floodgate {

void PeerRegistry::set(int fd, PeerCred c) {
  std::lock_guard lock(mu_);
  by_fd_[fd] = c;
}

std::optional<PeerCred> PeerRegistry::find(const std::string& grpc_peer) const {
  // gRPC names a channel made from an fd "fd:N" (sometimes with a suffix after N).
  if (grpc_peer.rfind("fd:", 0) != 0) return std::nullopt;
  int fd = -1;
  std::from_chars(grpc_peer.data() + 3, grpc_peer.data() + grpc_peer.size(), fd);
  std::lock_guard lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

std::string PeerRegistry::describe(const PeerCred& c) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  getpwuid_r(c.uid, &pw, buf, sizeof(buf), &found);
  return std::string(found ? found->pw_name : "?") + " (uid " + std::to_string(c.uid) + ", pid " +
         std::to_string(c.pid) + ")";
}

}  // namespace floodgate
