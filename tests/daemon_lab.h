// A real floodgated in a test namespace: config, state and pins in unique temporary
// places, started with nsenter so it sees bpffs, reached over its real Unix socket.
// Everything is removed in the destructor, also when the test failed.
#pragma once

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "floodgate/v1/floodgate.grpc.pb.h"
#include "netns_lab.h"

namespace floodgate::test {

struct DaemonOptions {
  uint32_t block_entries = 200'000;
  uint32_t sample_every = 0;
  std::string daemon_extra;    // lines appended under [daemon]
  std::string datapath_extra;  // lines appended under [datapath]
  std::string sections;        // whole sections appended at the end
};

// GET http://127.0.0.1:9108/metrics from inside namespace ns; the whole response.
inline std::string scrape_metrics(const std::string& ns) {
  std::string text;
  in_netns(ns, [&] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(9108);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      (void)!write(fd, req.data(), req.size());
      char buf[8192];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
    }
    close(fd);
  });
  return text;
}

class DaemonLab {
 public:
  explicit DaemonLab(const NetnsLab& lab, DaemonOptions opts = {}) : lab_(lab) {
    char tmpl[] = "/tmp/fgd-XXXXXX";
    dir_ = mkdtemp(tmpl);
    pin_dir_ = "/sys/fs/bpf/fgtest-" + lab.ns_b;
    socket_ = dir_ + "/floodgate.sock";
    config_ = dir_ + "/floodgate.toml";
    std::ofstream(config_) << "[daemon]\ninterfaces = [\"" << lab.if_b << "\"]\nsocket = \""
                           << socket_ << "\"\nstate_db = \"" << dir_ << "/state.db\"\npin_dir = \""
                           << pin_dir_ << "\"\n"
                           << opts.daemon_extra
                           << "\n[maps]\nblock_entries = " << opts.block_entries
                           << "\nsource_entries = 65536\n[datapath]\nsample_every = "
                           << opts.sample_every << "\n"
                           << opts.datapath_extra << "\n"
                           << opts.sections << "\n";
  }
  ~DaemonLab() {
    kill_daemon(SIGKILL);
    unload();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::remove_all(pin_dir_, ec);
  }
  DaemonLab(const DaemonLab&) = delete;
  DaemonLab& operator=(const DaemonLab&) = delete;

  // Starts floodgated and waits until it answers GetStatus (15 s at most).
  bool start() {
    // A daemon killed with SIGKILL leaves its socket file behind; wait for a new one.
    struct stat old {};
    const bool had_socket = ::stat(socket_.c_str(), &old) == 0;
    std::fflush(nullptr);  // a child that reopens stdout would write our buffer out again
    pid_ = fork();
    if (pid_ == 0) {
      const std::string net = "--net=/run/netns/" + lab_.ns_b;
      const std::string log = dir_ + "/daemon.log";
      freopen(log.c_str(), "a", stdout);
      freopen(log.c_str(), "a", stderr);
      execl("/usr/bin/nsenter", "nsenter", net.c_str(), FLOODGATED_PATH, "-c", config_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    auto socket_is_new = [&] {
      struct stat now {};
      return ::stat(socket_.c_str(), &now) == 0 && (!had_socket || now.st_ino != old.st_ino);
    };
    // A channel made before the socket exists backs off for seconds; wait for the file.
    for (int i = 0; i < 100 && !socket_is_new(); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Quick retries, but no short connect timeout: MIN_RECONNECT_BACKOFF is also gRPC's
    // minimum connect timeout, and on a loaded machine a handshake can take longer.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    args.SetMaxReceiveMessageSize(256 << 20);
    channel_ =
        grpc::CreateCustomChannel("unix:" + socket_, grpc::InsecureChannelCredentials(), args);
    stub_ = v1::FloodgateService::NewStub(channel_);
    grpc::Status last;
    for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
         std::chrono::steady_clock::now() < until;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::GetStatusResponse r;
      last = stub_->GetStatus(&ctx, v1::GetStatusRequest{}, &r);
      if (last.ok()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return pid_ = -1, false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "floodgated did not answer GetStatus in 15 s; last: %d %s\n",
                 static_cast<int>(last.error_code()), last.error_message().c_str());
    return false;
  }

  // `floodgated --unload`: detaches the program and removes the pins, as a reboot would.
  int unload() const {
    return sh("nsenter --net=/run/netns/" + lab_.ns_b + " " + FLOODGATED_PATH + " -c " + config_ +
              " --unload >/dev/null 2>&1");
  }

  // Where the daemon pins its program and maps.
  const std::string& pin_dir() const { return pin_dir_; }

  // Removes the pinned maps only: the attached program keeps running on its own maps.
  void remove_pins() const {
    std::error_code ec;
    std::filesystem::remove_all(pin_dir_, ec);
  }

  void kill_daemon(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Runs floodgatectl with `args`; returns its exit code, output in *out.
  int ctl(const std::string& args, std::string* out = nullptr) const {
    return run(std::string(FLOODGATECTL_PATH) + " --socket " + socket_ + " " + args, out);
  }

  // Runs floodgatectl inside the daemon's namespace with exactly `args` (no --socket).
  int ctl_in_netns(const std::string& args, std::string* out) const {
    return run("ip netns exec " + lab_.ns_b + " " + FLOODGATECTL_PATH + " " + args, out);
  }

  // Runs a shell command; its exit code, stdout and stderr in *out.
  static int run(const std::string& cmd, std::string* out) {
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
    const int status = pclose(p);
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string log() const {
    std::ifstream in(dir_ + "/daemon.log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  v1::FloodgateService::Stub& api() { return *stub_; }

  const std::string& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }

 private:
  const NetnsLab& lab_;
  std::string dir_, pin_dir_, socket_, config_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FloodgateService::Stub> stub_;
};

}  // namespace floodgate::test
