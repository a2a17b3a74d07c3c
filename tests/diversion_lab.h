// A diversion lab: a provider gobgpd in namespace a, floodgated with its supervised gobgpd
// in namespace b, peered; shared by the diversion tests and the diversion benchmark.
#pragma once

#include <grpcpp/create_channel_posix.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "daemon_lab.h"
#include "gobgp.h"
#include "grpc_netns.h"

namespace floodgate::test {

const uint32_t k65000_100 = 65000u << 16 | 100;
const uint32_t kBlackhole = 65535u << 16 | 666;
const uint32_t k65000_666 = 65000u << 16 | 666;

// The provider side and floodgated, peered. ok() once the session is established.
class DiversionLab {
 public:
  // connect_mode: the operator runs our gobgpd (started and configured here) and
  // floodgated only connects to its API; otherwise floodgated supervises its own.
  // `extra`: more daemon settings (its sections are appended to the diversion ones).
  explicit DiversionLab(const NetnsLab& lab, bool connect_mode = false, DaemonOptions extra = {})
      : lab_(lab) {
    in_netns(lab_.ns_a, [&] {
      auto p = GobgpProcess::start("/usr/bin/gobgpd", kApiPort, log_path());
      if (!p.ok()) throw std::runtime_error(p.error().message);
      provider_proc_ = std::move(*p);
    });
    provider = std::make_unique<GobgpClient>(channel_in(lab_.ns_a, kApiPort));
    if (!provider->start(65000, NetnsLab::kAddrA).ok() ||
        !provider->add_peer(NetnsLab::kAddrB, 65001, true, /*passive=*/true).ok())
      return;
    if (connect_mode) {
      in_netns(lab_.ns_b, [&] {
        auto p = GobgpProcess::start("/usr/bin/gobgpd", kApiPort, log_path() + ".ours");
        if (!p.ok()) throw std::runtime_error(p.error().message);
        operator_proc_ = std::move(*p);
      });
      GobgpClient ours(channel_in(lab_.ns_b, kApiPort));
      if (!ours.start(65001, NetnsLab::kAddrB).ok() ||
          !ours.add_peer(NetnsLab::kAddrA, 65000, true).ok())
        return;
    }
    DaemonOptions o = extra;
    o.sections =
        extra.sections + "\n" + std::string("[bgp]\nspeaker = \"") +
        (connect_mode ? "connect" : "supervise") + "\"\nasn = 65001\nrouter_id = \"" +
        NetnsLab::kAddrB + "\"\n[[providers]]\nname = \"scrubber\"\nneighbor = \"" +
        NetnsLab::kAddrA + "\"\npeer_asn = 65000\ncommunities = [\"65000:100\"]\n" +
        "next_hop = \"" + NetnsLab::kAddrB + "\"\nblackhole_community = \"65000:666\"\n" +
        "[[contacts]]\nname = \"NOC\"\nrole = \"network\"\nphone = \"+1 555 0100\"\n" +
        "[diversion]\nmax_announcements = 3\nhold_down_seconds = 3\nquiet_pps = 1000000\n" +
        "prefixes = [{ prefix = \"198.51.100.0/24\", min_length = 24, max_length = 24 }]\n";
    daemon = std::make_unique<DaemonLab>(lab_, o);
    if (!daemon->start()) return;
    ok_ = eventually(
        [&] {
          v1::GetDiversionResponse r;
          grpc::ClientContext ctx;
          return daemon->api().GetDiversion(&ctx, {}, &r).ok() && r.providers_size() == 1 &&
                 r.providers(0).session_state() == "established";
        },
        std::chrono::seconds(30));
  }
  ~DiversionLab() {
    daemon.reset();  // --unload stops a supervised gobgpd
    provider.reset();
    provider_proc_.reset();
    operator_proc_.reset();
    std::remove(log_path().c_str());
    std::remove((log_path() + ".ours").c_str());
  }
  bool ok() const { return ok_; }
  void stop_provider() { provider_proc_.reset(); }

  std::vector<BgpRoute> provider_rib() {
    auto rib = provider->rib(false);
    return rib.ok() ? *rib : std::vector<BgpRoute>{};
  }
  bool provider_has(const std::string& prefix, const std::vector<uint32_t>& communities) {
    for (const BgpRoute& r : provider_rib())
      if (r.prefix.str() == prefix && r.next_hop == NetnsLab::kAddrB &&
          r.communities == communities)
        return true;
    return false;
  }

  std::unique_ptr<GobgpClient> provider;
  std::unique_ptr<DaemonLab> daemon;

 private:
  std::string log_path() const { return "/tmp/fgdiv-provider-" + lab_.ns_a + ".log"; }
  const NetnsLab& lab_;
  std::unique_ptr<GobgpProcess> provider_proc_;
  std::unique_ptr<GobgpProcess> operator_proc_;  // connect mode: "the operator's" gobgpd
  bool ok_ = false;
};

}  // namespace floodgate::test
