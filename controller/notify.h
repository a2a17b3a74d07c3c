// Notifications to the configured contacts: a JSON POST to each contact's webhook and/or
// a command hook with the JSON on stdin. Sent from a worker thread with retries, so a
// dead endpoint never delays mitigation; every outcome is reported back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace floodgate {

struct Notification {
  int64_t incident = 0;
  std::string json;  // the body
  std::string what;  // a few words for the timeline ("open", "action: enforce", ...)
};

struct Delivery {
  int64_t incident = 0;
  std::string what;
  std::string target;  // "webhook ops (http://...)" or "hook /path"
  bool ok = false;
  int attempts = 0;
  std::string error;  // the last one when !ok
};

class Notifier {
 public:
  struct Target {
    std::string name;
    std::string webhook;  // http(s) URL; empty = none
  };
  // `done` is called on the worker thread once per target and notification.
  Notifier(std::vector<Target> targets, std::string hook_command, uint32_t retries,
           std::function<void(const Delivery&)> done);
  ~Notifier();  // sends what is queued (one attempt each), then stops
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void send(Notification n);  // never blocks on the network
  bool has_targets() const { return !targets_.empty() || !hook_.empty(); }

 private:
  void run();
  Delivery post(const Target& t, const Notification& n) const;
  Delivery hook(const Notification& n) const;

  std::vector<Target> targets_;
  std::string hook_;
  uint32_t retries_;
  std::function<void(const Delivery&)> done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Notification> queue_;
  std::atomic<bool> stopping_{false};  // then one attempt each, no retries: stop promptly
  std::thread worker_;
};

}  // namespace floodgate
