// The event fan-out.
#include "events.h"

namespace floodgate {

int EventBus::subscribe(Sink sink) {
  std::lock_guard lock(mu_);
  sinks_.emplace(next_, std::move(sink));
  return next_++;
}

void EventBus::unsubscribe(int id) {
  std::lock_guard lock(mu_);
  sinks_.erase(id);
}

void EventBus::publish(const Event& e) {
  std::lock_guard lock(mu_);
  for (auto& [id, sink] : sinks_) sink(e);
}

}  // namespace floodgate
