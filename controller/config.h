// floodgated's configuration: one TOML file. Every setting has a default (see
// config/floodgate.example.toml); unknown keys are errors, so a typo never passes silently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datapath.h"
#include "detector.h"
#include "policy.h"
#include "result.h"

namespace floodgate {

struct Contact {
  std::string name, role, organisation, phone, email, webhook;
};

struct Provider {
  std::string name;
  std::string neighbor;  // the provider's BGP address
  uint32_t peer_asn = 0;
  std::vector<uint32_t> communities;            // tell this provider to scrub
  std::string next_hop;                         // ours, as the provider should see it
  std::optional<uint32_t> blackhole_community;  // sent with 65535:666 on RTBH
  bool always_on = false;
};

struct DivertablePrefix {
  Prefix prefix;
  unsigned min_length = 0;  // announcements inside prefix, of these lengths
  unsigned max_length = 0;
};

// One playbook action (PROCEDURE.md attachment 4), in the order the playbook lists them.
struct PlaybookStep {
  std::string action;  // enforce, tighten, block_top, divert
  bool on = true;
  double factor = 0.5;   // tighten: the vector's limits x this
  uint32_t count = 10;   // block_top: this many of the top sources ...
  int64_t ttl_s = 600;   // ... for this long
  double min_share = 0;  // divert: only when bits/s >= this share of the link; 0 = always
};

// Attack type ("syn-flood", "udp-flood", "reflection", "icmp-flood", "fragment-flood",
// "volumetric") -> its steps. Types without an entry use "default".
struct Playbook {
  bool dry_run = false;  // record what would be done, do nothing
  std::map<std::string, std::vector<PlaybookStep>> steps;
};
Playbook default_playbook();

struct DaemonConfig {
  // [daemon]
  std::vector<std::string> interfaces;
  AttachMode attach_mode = AttachMode::kNative;
  std::string socket_path = "/run/floodgate/floodgate.sock";
  std::string state_db = "/var/lib/floodgate/floodgate.db";
  std::string pin_dir = "/sys/fs/bpf/floodgate";
  std::string log_level = "info";
  // Optional TCP listener, only with mutual TLS: all four or none.
  std::string tcp_listen;  // "HOST:PORT"
  std::string tls_cert, tls_key, tls_client_ca;
  // [metrics]: Prometheus /metrics on a loopback address; "" = off.
  std::string metrics_listen = "127.0.0.1:9108";
  // [events]: a `watch` event when drops exceed this many packets/s (0 = never).
  uint64_t drop_alert_pps = 1000;
  // [rules]
  int64_t default_ttl_s = 3600;  // for blocks given without --ttl; 0 = never expire
  int64_t max_ttl_s = 7 * 24 * 3600;
  unsigned min_prefix_v4 = 16;  // shorter blocks need --force
  unsigned min_prefix_v6 = 32;
  // TCP ports a policy may not cut off without --force (remote management).
  std::vector<uint16_t> management_ports = {22};
  // [policy.tcp] ... [policy.other]: the seed; `floodgatectl policy` changes persist.
  Policy policy{};
  // [maps]
  MapSizes maps;
  // [datapath]: starts from default_config()
  fg_config datapath{};
  std::vector<uint16_t> reflection_ports;
  std::vector<Contact> contacts;
  std::vector<std::string> protected_prefixes;
  // [bgp]: the speaker. "off", "supervise" (floodgated runs gobgpd) or "connect".
  std::string bgp_speaker = "off";
  std::string gobgpd = "/usr/bin/gobgpd";
  int bgp_api_port = 50051;  // gobgpd's API, always on 127.0.0.1
  uint32_t bgp_asn = 0;
  std::string bgp_router_id;
  int32_t bgp_listen_port = 179;
  std::vector<Provider> providers;
  // [diversion]
  std::vector<DivertablePrefix> divertable;
  uint32_t max_announcements = 16;
  int64_t hold_down_s = 300;
  uint64_t quiet_pps = 1000;  // drops below this count as quiet for the hold-down
  // [detection]
  DetectionConfig detection;
  // [playbook]
  Playbook playbook = default_playbook();
  // [incidents]
  bool auto_open = true;  // the detector opens an incident (else it only reports)
  std::string evidence_dir = "/var/lib/floodgate/evidence";
  uint32_t evidence_sample_every = 16;  // while open, sample 1 in N passed packets too
  uint32_t evidence_max_mb = 256;       // per incident's pcap; thinned past half (PcapWriter)
  std::string hook_command;             // run per notification, JSON on stdin
  uint32_t notify_retries = 3;
  std::string affected_service;  // for the external report form
};

// Parses TOML text; `origin` names the file in error messages, which carry the line and
// column of the offending value ("floodgate.toml:12:9: ...").
Result<DaemonConfig> parse_config(const std::string& text, const std::string& origin);
Result<DaemonConfig> load_config(const std::string& path);

}  // namespace floodgate
