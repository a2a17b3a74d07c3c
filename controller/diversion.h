// Diversion: announcing protected prefixes to scrubbing providers over BGP (and
// blackholing single addresses, RFC 7999), behind guards that cannot be bypassed, with
// every announcement in the store so a restart re-establishes exactly what was active.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.h"
#include "engine.h"
#include "events.h"
#include "gobgp.h"
#include "store.h"

namespace floodgate {

struct DivertParams {
  std::vector<std::string> prefixes;
  bool all = false;      // every diversion.prefixes entry
  std::string provider;  // empty: every provider
  bool dry_run = false;
  std::string reason;
};

struct ProviderStatus {
  std::string name, neighbor;
  BgpSessionState state = BgpSessionState::kUnknown;
  bool always_on = false;
};

struct DiversionStatus {
  bool speaker_on = false;
  std::vector<ProviderStatus> providers;
  std::vector<AnnouncementRecord> announcements;
  std::vector<FlowRecord> flows;
  int64_t hold_down_s = 0;
};

class Diversion {
 public:
  Diversion(const DaemonConfig& cfg, Store& store, EventBus* events);
  // Leaves a supervised gobgpd running: announcements outlive the daemon, like the
  // XDP filter does. `floodgated --unload` stops it (stop_speaker).
  ~Diversion();
  // Stops the gobgpd a supervising daemon started (by its pid file); the provider then
  // withdraws every announcement as the session closes.
  static void stop_speaker(const DaemonConfig& cfg);

  // Starts or connects to the speaker, configures it and announces again what the store
  // says is active (what expired meanwhile is dropped). No-op when [bgp] speaker is off.
  Result<std::vector<std::string>> start(int64_t now_unix);

  Result<std::vector<AnnouncementRecord>> divert(const DivertParams& p, const Caller& c);
  // With now: withdrawn at once (audited). Without: withdrawn once traffic has stayed
  // below diversion.quiet_pps for hold_down_seconds; returns what is now pending.
  Result<std::vector<AnnouncementRecord>> undivert(const std::vector<std::string>& prefixes,
                                                   bool all, bool now, const Caller& c);
  Result<std::vector<AnnouncementRecord>> blackhole(const std::string& address, int64_t ttl_s,
                                                    const std::string& provider,
                                                    const std::string& reason, const Caller& c);
  Result<std::vector<AnnouncementRecord>> remove_blackhole(const std::string& address,
                                                           const Caller& c);
  // FlowSpec (RFC 8955): a rule whose destination lies inside diversion.prefixes, always
  // with a TTL (default 1 h).
  Result<std::vector<FlowRecord>> add_flow(const std::string& rule, int64_t ttl_s,
                                           const std::string& provider, const std::string& reason,
                                           const Caller& c);
  Result<std::vector<FlowRecord>> remove_flow(const std::string& rule, const Caller& c);
  DiversionStatus status();
  // The last session state seen per provider (polled each tick); cheap, for metrics.
  std::vector<ProviderStatus> sessions();
  // Each second: hold-down withdrawals, blackhole expiry, a dead gobgpd restarted.
  std::vector<std::string> tick(int64_t now_unix, uint64_t drop_pps);

  BgpRoute route_of(const AnnouncementRecord& a) const;

 private:
  const Provider* provider(const std::string& name) const;
  // The providers a request names (empty: all), or NOT_FOUND naming the configured ones.
  Result<std::vector<const Provider*>> targets(const std::string& name) const;
  // Default 1 h; at most rules.max_ttl_seconds.
  Result<int64_t> ttl_of(int64_t requested) const;
  // Inside some diversion.prefixes entry (any length).
  bool inside_divertable(const Prefix& p) const;
  // Everything that counts against max_announcements: routes and FlowSpec rules.
  size_t announced() const { return active_.size() + flows_.size(); }
  Status connect_speaker();
  bool speaker_alive();
  Status withdraw_locked(const AnnouncementRecord& a, const std::string& why,
                         const std::string& who);
  void audit(const Caller& c, const std::string& action, const std::string& detail,
             const std::string& result);

  const DaemonConfig& cfg_;
  Store& store_;
  EventBus* events_;
  std::mutex mu_;
  std::unique_ptr<GobgpProcess> proc_;
  std::unique_ptr<GobgpClient> bgp_;
  std::vector<AnnouncementRecord> active_;
  std::vector<FlowRecord> flows_;
  int64_t quiet_since_ = 0;
  // Per provider: the last session state seen, and when it changed recently.
  std::map<std::string, BgpSessionState> sessions_;
  std::map<std::string, std::vector<int64_t>> changes_;
};

}  // namespace floodgate
