// Events for `floodgatectl watch`: rule changes, expiries, auto-blocks, mode changes and
// sustained drops, fanned out to every subscriber. Publishing never blocks: a slow
// subscriber loses its oldest events (and is told how many).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace floodgate {

enum class EventKind {
  kBlock,
  kUnblock,
  kExpire,
  kAutoBlock,
  kAllow,
  kDisallow,
  kMode,
  kDrops,
  kPolicy,
  kBgpSession,
  kIncident,
};

struct Event {
  int64_t at = 0;  // Unix seconds
  EventKind kind = EventKind::kBlock;
  std::string subject;  // a prefix, a mode, a rate
  std::string detail;
  std::string actor;
};

class EventBus {
 public:
  using Sink = std::function<void(const Event&)>;
  // The sink is called on the publisher's thread and must not block.
  int subscribe(Sink sink);
  void unsubscribe(int id);
  void publish(const Event& e);

 private:
  std::mutex mu_;
  int next_ = 1;
  std::map<int, Sink> sinks_;
};

}  // namespace floodgate
