// Webhooks with libcurl, hooks with fork/exec; both retried with backoff.
#include "notify.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

namespace floodgate {
namespace {

constexpr long kTimeoutMs = 3000;

std::chrono::milliseconds backoff(int attempt) {
  return std::chrono::milliseconds(250 << std::min(attempt, 4));
}

}  // namespace

Notifier::Notifier(std::vector<Target> targets, std::string hook_command, uint32_t retries,
                   std::function<void(const Delivery&)> done)
    : hook_(std::move(hook_command)), retries_(retries), done_(std::move(done)) {
  for (Target& t : targets)
    if (!t.webhook.empty()) targets_.push_back(std::move(t));
  curl_global_init(CURL_GLOBAL_DEFAULT);
  worker_ = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
  curl_global_cleanup();
}

void Notifier::send(Notification n) {
  if (!has_targets()) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(n));
  }
  cv_.notify_all();
}

void Notifier::run() {
  for (;;) {
    Notification n;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      n = std::move(queue_.front());
      queue_.pop_front();
    }
    for (const Target& t : targets_) done_(post(t, n));
    if (!hook_.empty()) done_(hook(n));
  }
}

Delivery Notifier::post(const Target& t, const Notification& n) const {
  Delivery d{n.incident, n.what, "webhook " + t.name + " (" + t.webhook + ")"};
  for (uint32_t attempt = 0; attempt <= retries_ && !(attempt && stopping_); attempt++) {
    if (attempt) std::this_thread::sleep_for(backoff(static_cast<int>(attempt)));
    d.attempts = static_cast<int>(attempt) + 1;
    CURL* c = curl_easy_init();
    if (!c) {
      d.error = "curl_easy_init failed";
      continue;
    }
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, t.webhook.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, n.json.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(n.json.size()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kTimeoutMs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        c, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK && status >= 200 && status < 300) {
      d.ok = true;
      d.error.clear();
      return d;
    }
    d.error = rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(status);
  }
  return d;
}

Delivery Notifier::hook(const Notification& n) const {
  Delivery d{n.incident, n.what, "hook " + hook_};
  for (uint32_t attempt = 0; attempt <= retries_ && !(attempt && stopping_); attempt++) {
    if (attempt) std::this_thread::sleep_for(backoff(static_cast<int>(attempt)));
    d.attempts = static_cast<int>(attempt) + 1;
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
      d.error = "pipe failed";
      continue;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);  // its own process group: a timeout kills whatever it started too
      dup2(in[0], STDIN_FILENO);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks SIGTERM for sigwait
      execl("/bin/sh", "sh", "-c", hook_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    if (pid > 0) setpgid(pid, pid);  // also here: the kill below must not race the child
    if (pid < 0) {
      close(in[1]);
      d.error = "fork failed";
      continue;
    }
    signal(SIGPIPE, SIG_IGN);
    // Like a webhook, a hook gets kTimeoutMs: a hung paging script must not hold up the
    // notifications after it, nor the daemon's shutdown. The body is written without
    // blocking, so a hook that never reads its stdin cannot hang us either.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t sent = 0;
    int status = 0;
    bool exited = false;
    while (!(exited = waitpid(pid, &status, WNOHANG) == pid) &&
           std::chrono::steady_clock::now() < deadline) {
      if (in[1] >= 0 && sent < n.json.size()) {
        const ssize_t w = write(in[1], n.json.data() + sent, n.json.size() - sent);
        if (w > 0) sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) close(in[1]), in[1] = -1;  // it closed its stdin
      }
      if (in[1] >= 0 && sent == n.json.size()) close(in[1]), in[1] = -1;  // EOF for the hook
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (in[1] >= 0) close(in[1]);
    if (!exited) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      d.error = "timed out after " + std::to_string(kTimeoutMs / 1000) + " s (killed)";
      continue;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      d.ok = true;
      d.error.clear();
      return d;
    }
    d.error = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                : "killed by a signal";
  }
  return d;
}

}  // namespace floodgate
