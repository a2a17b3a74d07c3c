// floodgated: loads and pins the XDP program, attaches it to the configured interfaces,
// keeps its maps in step with the store and serves the gRPC API on a Unix socket.
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_posix.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <xdp/libxdp.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "detector.h"
#include "diversion.h"
#include "engine.h"
#include "incidents.h"
#include "metrics.h"
#include "peers.h"
#include "preflight.h"
#include "samples.h"
#include "service.h"

using namespace floodgate;

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

bool ensure_bpffs() {
  struct statfs fs {};
  if (statfs("/sys/fs/bpf", &fs) == 0 && static_cast<long>(fs.f_type) == kBpfFsMagic) return true;
  return mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) == 0;
}

// libbpf's and libxdp's messages go to the log. While an interface is being attached they
// are held back instead: libxdp first tries its multi-program dispatcher, and on kernels
// that cannot load it (no freplace) both libraries print permission warnings although the
// single-program fallback then works. Held lines are logged at debug level when the
// attach succeeds (the "attached" line says which mode is in effect) and as warnings
// when it fails.
std::mutex g_lib_log_mu;
std::vector<std::string>* g_lib_log_held = nullptr;

void lib_log(bool warning, const char* fmt, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, args);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  std::lock_guard lock(g_lib_log_mu);
  if (g_lib_log_held && warning) return g_lib_log_held->push_back(std::move(line));
  // Their info lines (e.g. about sections libbpf skips) are noise for an operator.
  spdlog::log(warning ? spdlog::level::warn : spdlog::level::debug, "{}", line);
}

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_DEBUG) lib_log(level == LIBBPF_WARN, fmt, args);
  return 0;
}

int libxdp_log(enum libxdp_print_level level, const char* fmt, va_list args) {
  if (level != LIBXDP_DEBUG) lib_log(level == LIBXDP_WARN, fmt, args);
  return 0;
}

// Holds back the libraries' warnings for its lifetime (see lib_log); release() logs them.
class HeldLibraryLog {
 public:
  HeldLibraryLog() {
    std::lock_guard lock(g_lib_log_mu);
    g_lib_log_held = &lines_;
  }
  ~HeldLibraryLog() { release(spdlog::level::debug); }
  void release(spdlog::level::level_enum level) {
    std::lock_guard lock(g_lib_log_mu);
    g_lib_log_held = nullptr;
    for (const std::string& line : lines_) spdlog::log(level, "{}", line);
    lines_.clear();
  }

 private:
  std::vector<std::string> lines_;
};

// Detaches our program from the configured interfaces and removes the pins.
int unload(const DaemonConfig& cfg) {
  int rc = 0;
  for (const std::string& name : cfg.interfaces) {
    const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) continue;
    auto r = Datapath::detach_ours(ifindex);
    if (!r.ok()) {
      spdlog::error("{}: {}", name, r.error().message);
      rc = 1;
    } else if (*r) {
      spdlog::info("detached from {}", name);
    } else {
      spdlog::info("{}: no Floodgate program attached (anything else there is left alone)", name);
    }
  }
  if (cfg.bgp_speaker == "supervise") {
    Diversion::stop_speaker(cfg);
    spdlog::info("stopped the supervised gobgpd (the providers withdraw our routes)");
  }
  if (auto s = Datapath::unpin(cfg.pin_dir); !s) {
    spdlog::error("{}", s.error().message);
    rc = 1;
  } else {
    spdlog::info("removed pinned maps in {}", cfg.pin_dir);
  }
  return rc;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Server credentials that require and verify a client certificate from tls_client_ca.
std::shared_ptr<grpc::ServerCredentials> mtls_credentials(const DaemonConfig& cfg) {
  auto cert = read_file(cfg.tls_cert), key = read_file(cfg.tls_key),
       ca = read_file(cfg.tls_client_ca);
  if (!cert || !key || !ca) {
    spdlog::error("cannot read daemon.tls_cert, tls_key or tls_client_ca ({}, {}, {})",
                  cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca);
    return nullptr;
  }
  grpc::SslServerCredentialsOptions opts(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = *ca;
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(opts);
}

// True when HOST:PORT (IPv4 or localhost) accepts a TCP connection.
bool tcp_reachable(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = host_port.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  close(fd);
  return ok;
}

// The API socket, mode 0660: root and the socket's group may drive the daemon.
int listen_unix(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::filesystem::remove(path, ec);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path))
    return spdlog::error("socket path {} is too long", path), -1;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const mode_t old = umask(0117);
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
                  listen(fd, 128) == 0;
  umask(old);
  if (!ok) {
    spdlog::error("cannot listen on {}: {}", path, std::strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

int run(const DaemonConfig& cfg) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts: main waits for them

  if (!ensure_bpffs()) {
    spdlog::error("bpffs is not mounted at /sys/fs/bpf and mounting it failed: {}",
                  std::strerror(errno));
    return 1;
  }
  auto store = Store::open(cfg.state_db);
  if (!store.ok()) return spdlog::error("{}", store.error().message), 1;
  auto dp = Datapath::load(cfg.maps, cfg.pin_dir);
  if (!dp.ok()) return spdlog::error("{}", dp.error().message), 1;
  spdlog::info("{} the program's maps in {}", (*dp)->adopted() ? "adopted" : "pinned", cfg.pin_dir);

  EventBus events;
  TopTalkers top;
  Engine engine(**dp, **store, cfg, &events);
  auto started = engine.start(unix_now());
  if (!started.ok()) return spdlog::error("{}", started.error().message), 1;
  for (const std::string& line : *started) spdlog::info("reconcile: {}", line);

  std::vector<std::unique_ptr<Attachment>> atts;
  for (const std::string& name : cfg.interfaces) {
    const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0)
      return spdlog::error("interface {} does not exist (daemon.interfaces in the config)", name),
             1;
    if (atts.size() >= FG_MAX_IFACES)
      return spdlog::error("at most {} interfaces (daemon.interfaces)", FG_MAX_IFACES), 1;
    if (auto s = (*dp)->assign_slot(ifindex, static_cast<uint32_t>(atts.size() + 1)); !s)
      spdlog::warn("{}: {}", name, s.error().message);
    HeldLibraryLog held;
    auto a = (*dp)->attach(ifindex, cfg.attach_mode);
    if (!a.ok()) {
      held.release(spdlog::level::warn);
      return spdlog::error("{}: {}", name, a.error().message), 1;
    }
    if (cfg.attach_mode == AttachMode::kGeneric)
      spdlog::warn(
          "{}: GENERIC XDP mode: packets reach the filter only after the kernel has "
          "allocated them; use native mode on a capable driver",
          name);
    spdlog::info("{}: attached ({})", name, (*a)->describe());
    atts.push_back(std::move(*a));
  }
  spdlog::info("mode: {}", engine.mode() == FG_MODE_ENFORCE ? "enforce" : "monitor");

  // Diversion failing to come up must not take filtering down with it.
  Diversion diversion(cfg, **store, &events);
  if (auto d = diversion.start(unix_now()); !d.ok())
    spdlog::error("diversion unavailable: {}", d.error().message);
  else
    for (const std::string& line : *d) spdlog::info("diversion: {}", line);

  // Detection: baselines survive restarts through the store.
  Detector detector(cfg.detection);
  std::mutex detector_mu;
  if (auto rows = (*store)->baselines(); rows.ok())
    detector.load(*rows);
  else
    spdlog::warn("baselines not loaded: {}", rows.error().message);

  std::atomic<bool> unloaded{false};
  DaemonInfo info;
  info.attachments = [&] {
    std::vector<const Attachment*> v;
    for (const auto& a : atts) v.push_back(a.get());
    return v;
  };
  info.interface_names = [&] { return cfg.interfaces; };
  info.counters = [&] { return (*dp)->counters(); };
  info.interface_counters = [&] {
    std::vector<Counters> v;
    for (size_t i = 0; i < atts.size(); i++)
      v.push_back((*dp)->counters_for_slot(static_cast<uint32_t>(i + 1)));
    return v;
  };
  PeerRegistry peers;
  info.peers = &peers;
  info.top = &top;
  info.diversion = &diversion;
  info.preflight = [&] {
    PreflightFacts f;
    for (size_t i = 0; i < cfg.interfaces.size(); i++) {
      PreflightFacts::Iface itf{cfg.interfaces[i], i < atts.size(), false, false};
      if (i < atts.size()) {
        itf.native = atts[i]->mode() == AttachMode::kNative;
        itf.dispatcher = atts[i]->dispatcher();
      }
      f.interfaces.push_back(itf);
    }
    f.datapath = (*dp)->config();
    f.providers = diversion.status().providers;
    f.metrics_reachable = !cfg.metrics_listen.empty() && tcp_reachable(cfg.metrics_listen);
    f.detection_on = cfg.detection.enabled;
    f.learn_seconds = cfg.detection.learn_samples;
    {
      std::lock_guard lock(detector_mu);
      for (const std::string& name : cfg.interfaces)
        if (!detector.learned(name, local_hour(unix_now()))) f.unlearned.push_back(name);
    }
    return preflight(cfg, f);
  };
  info.events = &events;
  info.sample_every = [&] { return (*dp)->config().sample_every; };
  info.adopted = (*dp)->adopted();
  info.started_at = unix_now();
  info.unload = [&] {
    std::vector<std::string> names;
    for (size_t i = 0; i < atts.size(); i++)
      if (atts[i]->detach().ok()) names.push_back(cfg.interfaces[i]);
    (void)Datapath::unpin(cfg.pin_dir);
    if (cfg.bgp_speaker == "supervise") Diversion::stop_speaker(cfg);
    unloaded = true;
    kill(getpid(), SIGTERM);
    return names;
  };
  Incidents incidents(cfg, **store, engine, &diversion, top, info.sample_every, info.preflight);
  incidents.start(unix_now());
  if (auto id = incidents.open_id()) {
    spdlog::warn("incident #{} is open", *id);
    // It closes when its flood is over, even if that happened while we were down.
    if (const std::string iface = incidents.open_iface(); !iface.empty())
      detector.resume_flood(iface);
  }
  info.detector = &detector;
  info.detector_mu = &detector_mu;
  info.incidents = &incidents;
  info.incidents_dry_run = cfg.playbook.dry_run;
  Service service(engine, info);

  std::unique_ptr<MetricsServer> metrics;
  if (!cfg.metrics_listen.empty()) {
    MetricsSource src;
    src.counters = info.counters;
    src.block_rules = [&] { return engine.count(RuleKind::kBlock); };
    src.allow_rules = [&] { return engine.count(RuleKind::kAllow); };
    src.enforcing = [&] { return engine.mode() == FG_MODE_ENFORCE; };
    src.filter_fill = [&](fg_list list) { return (*dp)->filter_fill(list); };
    src.block_map_scans = [&] { return engine.block_map_scans(); };
    src.interfaces = [&] {
      std::vector<std::pair<std::string, std::string>> v;
      for (size_t i = 0; i < atts.size(); i++)
        v.emplace_back(cfg.interfaces[i],
                       atts[i]->mode() == AttachMode::kNative ? "native" : "generic");
      return v;
    };
    src.bgp_sessions = [&] {
      std::vector<std::pair<std::string, bool>> v;
      for (const ProviderStatus& p : diversion.sessions())
        v.emplace_back(p.name, p.state == BgpSessionState::kEstablished);
      return v;
    };
    src.announcements = [&] {
      const DiversionStatus st = diversion.status();
      return st.announcements.size() + st.flows.size();
    };
    src.traffic = [&] {
      std::vector<MetricsSource::VectorRate> v;
      std::lock_guard lock(detector_mu);
      const int hour = local_hour(unix_now());
      for (const std::string& name : cfg.interfaces) {
        const Rates r = detector.rates(name).value_or(Rates{});
        for (int i = 0; i < FG_TV_MAX; i++) {
          const auto vec = static_cast<fg_traffic_vector>(i);
          v.push_back({name, fg_traffic_vector_name(vec), r.pps[i], r.bps[i],
                       detector.threshold(name, hour, vec).pps});
        }
      }
      return v;
    };
    src.incident_open = [&] { return incidents.open_id().has_value(); };
    auto m = MetricsServer::start(cfg.metrics_listen, std::move(src));
    if (!m.ok()) return spdlog::error("{}", m.error().message), 1;
    metrics = std::move(*m);
    spdlog::info("metrics on http://{}/metrics", cfg.metrics_listen);
  }

  const int listen_fd = listen_unix(cfg.socket_path);
  if (listen_fd < 0) return 1;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  if (!cfg.tcp_listen.empty()) {
    auto creds = mtls_credentials(cfg);
    if (!creds) return 1;
    builder.AddListeningPort(cfg.tcp_listen, creds);
  }
  // Batches of a million prefixes and full rule listings exceed gRPC's 4 MB default.
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server)
    return spdlog::error(
               "cannot start the gRPC server{}",
               cfg.tcp_listen.empty() ? "" : " (is " + cfg.tcp_listen + " free and local?)"),
           1;
  spdlog::info("listening on unix:{}", cfg.socket_path);
  if (!cfg.tcp_listen.empty()) spdlog::info("listening on {} (mutual TLS)", cfg.tcp_listen);
  // Our own accept loop: it reads each caller's kernel credentials before gRPC sees the
  // connection (gRPC has no API for them).
  std::atomic<bool> accepting{true};
  std::thread acceptor([&] {
    while (accepting) {
      pollfd p{listen_fd, POLLIN, 0};
      if (poll(&p, 1, 200) != 1) continue;
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      ucred uc{};
      socklen_t len = sizeof(uc);
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
        peers.set(fd, {uc.pid, uc.uid, uc.gid});
      grpc::AddInsecureChannelFromFd(server.get(), fd);
    }
  });

  // Sampled packets feed `floodgatectl top`, classification and the incident's pcap.
  std::atomic<bool> stopping{false};
  struct Sinks {
    TopTalkers* top;
    Incidents* incidents;
  } sinks{&top, &incidents};
  auto on_sample = [](void* ctx, void* data, size_t size) -> int {
    if (size < sizeof(fg_sample)) return 0;
    const auto& sample = *static_cast<const fg_sample*>(data);
    auto* to = static_cast<Sinks*>(ctx);
    if (auto s = parse_sample(sample)) to->top->add(*s);
    to->incidents->on_sample(sample);
    return 0;
  };
  ring_buffer* rb = ring_buffer__new((*dp)->events_fd(), on_sample, &sinks, nullptr);
  if (!rb) return spdlog::error("cannot read the events ring buffer: {}", std::strerror(errno)), 1;
  std::thread sampler([&] {
    // The program submits without waking us (see bpf/stats.h): drain every 100 ms.
    while (!stopping) {
      ring_buffer__consume(rb);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // The main thread is the ticker and the signal handler.
  Counters last = (*dp)->counters();
  int64_t last_alert = 0;
  auto last_tick = std::chrono::steady_clock::now();
  int64_t last_baseline_save = unix_now();
  const auto save_baselines = [&] {
    std::vector<BaselineRow> rows;
    {
      std::lock_guard lock(detector_mu);
      rows = detector.baselines();
    }
    if (auto s = (*store)->put_baselines(rows); !s)
      spdlog::warn("baselines not saved: {}", s.error().message);
  };
  for (;;) {
    timespec one_second{1, 0};
    const int sig = sigtimedwait(&sigs, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    for (const std::string& line : engine.tick(unix_now())) spdlog::info("{}", line);
    service.sample_counters();
    // Detection: what arrived per interface since the last second.
    const auto tick_at = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(tick_at - last_tick).count();
    last_tick = tick_at;
    std::vector<std::pair<std::string, fg_traffic>> traffic;
    for (size_t i = 0; i < atts.size(); i++)
      traffic.emplace_back(cfg.interfaces[i],
                           (*dp)->traffic_for_slot(static_cast<uint32_t>(i + 1)));
    std::vector<DetectorEvent> floods;
    std::vector<std::pair<std::string, Rates>> rates;
    {
      std::lock_guard lock(detector_mu);
      floods = detector.tick(unix_now(), local_hour(unix_now()), dt, traffic);
      for (const auto& [name, t] : traffic)
        if (auto r = detector.rates(name)) rates.emplace_back(name, *r);
    }
    for (const DetectorEvent& e : floods) {
      std::string vectors;
      for (fg_traffic_vector v : e.vectors)
        vectors += (vectors.empty() ? "" : ",") + std::string(fg_traffic_vector_name(v));
      const bool start = e.kind == DetectorEvent::kStart;
      spdlog::warn("flood {} on {} ({})", start ? "detected" : "over", e.iface, vectors);
      for (const std::string& line : incidents.on_detection(e)) {
        spdlog::warn("{}", line);
        events.publish(
            {unix_now(), EventKind::kIncident, start ? "flood" : "flood over", line, "floodgate"});
      }
    }
    incidents.tick(unix_now(), rates);
    if (unix_now() - last_baseline_save >= 60) {
      save_baselines();
      last_baseline_save = unix_now();
    }
    // A sustained-drops event, at most every 10 s, naming the main reason.
    const Counters now = (*dp)->counters();
    uint64_t dropped = 0, top_count = 0;
    uint32_t top_reason = 0;
    for (uint32_t r = FG_R_FIRST_DROP; r < FG_R_MAX; r++) {
      const uint64_t d = (now[r].drop_packets + now[r].pass_packets) -
                         (last[r].drop_packets + last[r].pass_packets);
      dropped += d;
      if (d > top_count) top_count = d, top_reason = r;
    }
    last = now;
    for (const std::string& line : diversion.tick(unix_now(), dropped))
      spdlog::info("diversion: {}", line);
    if (cfg.drop_alert_pps && dropped > cfg.drop_alert_pps && unix_now() - last_alert >= 10) {
      last_alert = unix_now();
      const bool enforcing = engine.mode() == FG_MODE_ENFORCE;
      events.publish({unix_now(), EventKind::kDrops, std::to_string(dropped) + " pkt/s",
                      std::string(enforcing ? "dropping" : "would drop (monitor mode)") +
                          ", mostly " + fg_reason_name(static_cast<fg_reason>(top_reason)),
                      "floodgate"});
      spdlog::warn("{} {} packets/s, mostly {}", enforcing ? "dropping" : "would drop", dropped,
                   fg_reason_name(static_cast<fg_reason>(top_reason)));
    }
  }
  save_baselines();
  stopping = true;
  sampler.join();
  ring_buffer__free(rb);
  accepting = false;
  acceptor.join();
  close(listen_fd);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (unloaded)
    spdlog::info("unloaded: program detached, pins removed");
  else
    spdlog::info(
        "stopping; the program stays attached and keeps filtering (floodgated --unload removes "
        "it)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "floodgated: the Floodgate daemon. Loads the XDP filter, attaches it to the configured\n"
      "interfaces and serves floodgatectl. Stopping it leaves the filter in place."};
  std::string config_path = "/etc/floodgate/floodgate.toml";
  std::string check_path;
  std::string log_level;
  bool do_unload = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_option("--check-config", check_path,
                 "check FILE and report the first error with line and column, then exit");
  app.add_flag("--unload", do_unload,
               "detach the filter from the configured interfaces and remove its pinned maps");
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error (overrides the config)");
  CLI11_PARSE(app, argc, argv);

  if (!check_path.empty()) {
    auto cfg = load_config(check_path);
    if (!cfg.ok()) {
      std::cerr << cfg.error().message << "\n";
      return 1;
    }
    std::cout << check_path << ": ok (" << cfg->interfaces.size() << " interface(s), "
              << cfg->contacts.size() << " contact(s))\n";
    return 0;
  }
  auto cfg = load_config(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? cfg->log_level : log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  libbpf_set_print(libbpf_log);
  libxdp_set_print(libxdp_log);
  if (do_unload) return unload(*cfg);
  return run(*cfg);
}
