// floodgated's configuration: one TOML file. Every setting has a default (see
// config/floodgate.example.toml); unknown keys are errors, so a typo never passes silently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datapath.h"
#include "policy.h"
#include "result.h"

namespace floodgate {

struct Contact {
  std::string name, role, organisation, phone, email, webhook;
};

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
};

// Parses TOML text; `origin` names the file in error messages, which carry the line and
// column of the offending value ("floodgate.toml:12:9: ...").
Result<DaemonConfig> parse_config(const std::string& text, const std::string& origin);
Result<DaemonConfig> load_config(const std::string& path);

}  // namespace floodgate
