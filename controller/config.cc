// TOML parsing and validation of floodgated's configuration (toml++).
#include "config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "bucket.h"
#include "defaults.h"
#include "gobgp.h"

namespace floodgate {
namespace {

std::string where(const std::string& origin, const toml::source_region& src) {
  return origin + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

// Walks one table, checking for unknown keys and converting values; the first error wins.
class Reader {
 public:
  Reader(const toml::table& t, std::string origin, std::string path)
      : t_(t), origin_(std::move(origin)), path_(std::move(path)) {}

  template <typename T>
  void get(const char* key, T& out) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n || error) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = n->value<std::string>()) return void(out = *v);
      fail(*n, key, "a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = n->value<bool>()) return void(out = *v);
      fail(*n, key, "true or false");
    } else {
      auto v = n->value<int64_t>();
      if (v && *v >= 0 && static_cast<uint64_t>(*v) <= std::numeric_limits<T>::max())
        return void(out = static_cast<T>(*v));
      fail(*n, key, "an integer from 0 to " + std::to_string(std::numeric_limits<T>::max()));
    }
  }

  void real(const char* key, double& out, double min, double max) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n || error) return;
    auto v = n->value<double>();  // integers convert too
    if (v && *v >= min && *v <= max) return void(out = *v);
    std::ostringstream o;
    o << "a number from " << min << " to " << max;
    fail(*n, key, o.str());
  }

  // { total = N, syn = N, udp = N, icmp = N, fragment = N, reflection = N }, any subset.
  void per_vector(const char* key, PerVector& out) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n || error) return;
    const toml::table* t = n->as_table();
    if (!t) return fail(*n, key, "a table like { syn = 5000, udp = 20000 } (packets/s)");
    Reader r(*t, origin_, path_ + key + ".");
    for (int v = 0; v < FG_TV_MAX; v++)
      r.real(fg_traffic_vector_name(static_cast<fg_traffic_vector>(v)), out[v], 0, 1e12);
    if (!r.finish()) error = r.error;
  }

  void strings(const char* key, std::vector<std::string>& out) {
    array(key, out, "an array of strings",
          [](const toml::node& e) { return e.value<std::string>(); });
  }

  void ports(const char* key, std::vector<uint16_t>& out) {
    array(key, out, "port numbers from 0 to 65535", [](const toml::node& e) {
      auto v = e.value<int64_t>();
      return v && *v >= 0 && *v <= 65535 ? std::optional<uint16_t>(static_cast<uint16_t>(*v))
                                         : std::nullopt;
    });
  }

  // An array whose every element `convert` accepts.
  template <typename T, typename Convert>
  void array(const char* key, std::vector<T>& out, const std::string& expected, Convert convert) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n || error) return;
    const toml::array* a = n->as_array();
    if (!a) return fail(*n, key, expected);
    out.clear();
    for (const auto& e : *a) {
      std::optional<T> v = convert(e);
      if (!v) return fail(e, key, expected);
      out.push_back(*v);
    }
  }

  // A rate limit: { rate = N, burst = N }.
  void rate(const char* key, fg_bucket_cfg& out) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n || error) return;
    const toml::table* t = n->as_table();
    if (!t) return fail(*n, key, "a table like { rate = 200, burst = 400 } (rate 0 = off)");
    RateLimit l = rate_limit_of(out);
    Reader r(*t, origin_, path_ + key + ".");
    r.get("rate", l.rate);
    r.get("burst", l.burst);
    if (!r.finish()) return void(error = r.error);
    out = bucket_config(l);
  }

  void action(const char* key, uint8_t& out) {
    std::string s;
    const toml::node* n = t_.get(key);
    get(key, s);
    if (!n || error) return;
    if (s == "pass")
      out = FG_ACT_PASS;
    else if (s == "drop")
      out = FG_ACT_DROP;
    else
      fail(*n, key, "\"pass\" or \"drop\"");
  }

  // A check across values already read: fails at `key` (or at the first of `others`
  // that is in the file, so that the line shown is one the operator wrote).
  void require(bool ok, const char* key, const std::string& expected,
               std::initializer_list<const char*> others = {}) {
    if (ok || error) return;
    for (const char* k : others)
      if (!t_.get(key) && t_.get(k)) return fail(*t_.get(k), key, expected);
    if (const toml::node* n = t_.get(key)) return fail(*n, key, expected);
    error = invalid_argument(origin_ + ": " + path_ + key + " must be " + expected);
  }

  void fail(const toml::node& n, const std::string& key, const std::string& expected) {
    if (!error)
      error = invalid_argument(where(origin_, n.source()) + ": " + path_ + key + " must be " +
                               expected);
  }

  // Reports keys this reader was never asked for.
  bool finish() {
    if (error) return false;
    for (const auto& [k, v] : t_) {
      if (!seen_.count(std::string(k.str()))) {
        error = invalid_argument(where(origin_, k.source()) + ": unknown setting " + path_ +
                                 std::string(k.str()) +
                                 " (check the spelling; see "
                                 "config/floodgate.example.toml)");
        return false;
      }
    }
    return true;
  }

  std::optional<Error> error;

 private:
  const toml::table& t_;
  std::string origin_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace

Result<DaemonConfig> parse_config(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return invalid_argument(where(origin, e.source()) + ": " + std::string(e.description()));
  }
  DaemonConfig c;
  c.datapath = default_config();
  c.reflection_ports = default_reflection_ports();

  for (const char* section : {"daemon", "rules", "maps", "datapath", "network", "metrics", "events",
                              "policy", "bgp", "diversion"}) {
    const toml::node* n = root.get(section);
    if (n && !n->is_table())
      return invalid_argument(where(origin, n->source()) + ": [" + section + "] must be a table");
  }
  auto section = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    return n ? n->as_table() : nullptr;
  };

  static const toml::table kEmpty;
  {
    Reader r(section("daemon") ? *section("daemon") : kEmpty, origin, "daemon.");
    r.strings("interfaces", c.interfaces);
    std::string mode = "native";
    r.get("attach_mode", mode);
    r.get("socket", c.socket_path);
    r.get("state_db", c.state_db);
    r.get("pin_dir", c.pin_dir);
    r.get("log_level", c.log_level);
    r.get("tcp_listen", c.tcp_listen);
    r.get("tls_cert", c.tls_cert);
    r.get("tls_key", c.tls_key);
    r.get("tls_client_ca", c.tls_client_ca);
    if (!r.finish()) return *r.error;
    if (!c.tcp_listen.empty() &&
        (c.tls_cert.empty() || c.tls_key.empty() || c.tls_client_ca.empty()))
      return invalid_argument(where(origin, section("daemon")->get("tcp_listen")->source()) +
                              ": daemon.tcp_listen needs tls_cert, tls_key and tls_client_ca: "
                              "the TCP listener only speaks mutual TLS");
    if (mode == "generic")
      c.attach_mode = AttachMode::kGeneric;
    else if (mode != "native")
      return invalid_argument(where(origin, section("daemon")->get("attach_mode")->source()) +
                              ": daemon.attach_mode must be \"native\" or \"generic\"");
  }
  {
    Reader r(section("rules") ? *section("rules") : kEmpty, origin, "rules.");
    r.get("default_ttl_seconds", c.default_ttl_s);
    r.get("max_ttl_seconds", c.max_ttl_s);
    r.get("min_prefix_v4", c.min_prefix_v4);
    r.get("min_prefix_v6", c.min_prefix_v6);
    r.ports("management_ports", c.management_ports);
    r.require(c.max_ttl_s > 0, "max_ttl_seconds", "at least 1 (every --ttl is checked against it)");
    r.require(c.default_ttl_s <= c.max_ttl_s, "default_ttl_seconds",
              "at most rules.max_ttl_seconds (" + std::to_string(c.max_ttl_s) +
                  "), or every block without --ttl would be refused",
              {"max_ttl_seconds"});
    if (!r.finish()) return *r.error;
    if (c.min_prefix_v4 > 32 || c.min_prefix_v6 > 128)
      return invalid_argument(origin +
                              ": rules.min_prefix_v4 must be 0..32 and min_prefix_v6 0..128");
  }
  {
    Reader r(section("maps") ? *section("maps") : kEmpty, origin, "maps.");
    r.get("block_entries", c.maps.block_entries);
    r.get("allow_entries", c.maps.allow_entries);
    r.get("source_entries", c.maps.src_entries);
    r.get("protected_entries", c.maps.protected_entries);
    r.get("events_bytes", c.maps.events_bytes);
    for (auto [key, n] : {std::pair{"block_entries", c.maps.block_entries},
                          {"allow_entries", c.maps.allow_entries},
                          {"source_entries", c.maps.src_entries},
                          {"protected_entries", c.maps.protected_entries}})
      r.require(n > 0, key, "at least 1");
    const uint32_t ev = c.maps.events_bytes;
    r.require(ev >= 4096 && (ev & (ev - 1)) == 0, "events_bytes",
              "a power of two of at least 4096 (the kernel's ring buffer needs whole pages), "
              "e.g. 4194304");
    if (!r.finish()) return *r.error;
  }
  {
    Reader r(section("datapath") ? *section("datapath") : kEmpty, origin, "datapath.");
    fg_config& d = c.datapath;
    std::string mode = "monitor";
    r.get("mode", mode);
    r.action("malformed", d.malformed_action);
    r.action("tcp_fragments", d.frag_tcp_action);
    r.action("later_fragments", d.frag_nonfirst_action);
    bool refl = d.reflection_on;
    r.get("reflection_filter", refl);
    d.reflection_on = refl;
    r.ports("reflection_ports", c.reflection_ports);
    r.get("source_prefix_v4", d.src_prefix_v4);
    r.get("source_prefix_v6", d.src_prefix_v6);
    r.get("sample_every", d.sample_every);
    r.rate("syn", d.src[FG_VEC_SYN]);
    r.rate("udp_packets", d.src[FG_VEC_UDP_PKTS]);
    r.rate("udp_bytes", d.src[FG_VEC_UDP_BYTES]);
    r.rate("icmp", d.src[FG_VEC_ICMP]);
    r.rate("protected_syn", d.agg[FG_VEC_SYN]);
    r.rate("protected_udp_packets", d.agg[FG_VEC_UDP_PKTS]);
    r.rate("protected_udp_bytes", d.agg[FG_VEC_UDP_BYTES]);
    r.rate("protected_icmp", d.agg[FG_VEC_ICMP]);
    uint32_t rep_violations = d.rep_threshold / FG_REP_ONE;
    uint64_t half_life = d.rep_half_life_ns / 1'000'000'000,
             ttl = d.rep_block_ttl_ns / 1'000'000'000;
    r.get("reputation_violations", rep_violations);
    r.get("reputation_half_life_seconds", half_life);
    r.get("reputation_block_seconds", ttl);
    if (!r.finish()) return *r.error;
    if (mode == "enforce")
      d.mode = FG_MODE_ENFORCE;
    else if (mode == "monitor")
      d.mode = FG_MODE_MONITOR;
    else
      return invalid_argument(where(origin, section("datapath")->get("mode")->source()) +
                              ": datapath.mode must be \"monitor\" or \"enforce\"");
    if (d.src_prefix_v4 < 8 || d.src_prefix_v4 > 32 || d.src_prefix_v6 < 16 ||
        d.src_prefix_v6 > 128)
      return invalid_argument(origin +
                              ": datapath.source_prefix_v4 must be 8..32 and "
                              "source_prefix_v6 16..128");
    d.rep_threshold = rep_violations * FG_REP_ONE;
    d.rep_half_life_ns = half_life * 1'000'000'000;
    d.rep_block_ttl_ns = ttl * 1'000'000'000;
  }
  // [[contacts]] and protected = [...]
  if (const toml::node* n = root.get("contacts")) {
    const toml::array* a = n->as_array();
    if (!a)
      return invalid_argument(where(origin, n->source()) +
                              ": contacts must be [[contacts]] tables");
    for (const auto& e : *a) {
      const toml::table* t = e.as_table();
      if (!t) return invalid_argument(where(origin, e.source()) + ": each contact must be a table");
      Contact ct;
      Reader r(*t, origin, "contacts.");
      r.get("name", ct.name);
      r.get("role", ct.role);
      r.get("organisation", ct.organisation);
      r.get("phone", ct.phone);
      r.get("email", ct.email);
      r.get("webhook", ct.webhook);
      if (!r.finish()) return *r.error;
      if (ct.name.empty())
        return invalid_argument(where(origin, e.source()) + ": a contact needs a name");
      c.contacts.push_back(std::move(ct));
    }
  }
  {
    Reader r(section("network") ? *section("network") : kEmpty, origin, "network.");
    r.strings("protected", c.protected_prefixes);
    if (!r.finish()) return *r.error;
  }
  {
    const toml::table* t = section("metrics");
    Reader r(t ? *t : kEmpty, origin, "metrics.");
    r.get("listen", c.metrics_listen);
    if (!r.finish()) return *r.error;
    const std::string& l = c.metrics_listen;
    const bool loopback =
        l.rfind("127.", 0) == 0 || l.rfind("[::1]:", 0) == 0 || l.rfind("localhost:", 0) == 0;
    if (!l.empty() && (!loopback || l.find(':') == std::string::npos))
      return invalid_argument(where(origin, t->get("listen")->source()) +
                              ": metrics.listen must be a loopback address with a port, e.g. "
                              "\"127.0.0.1:9108\" (the metrics have no authentication); \"\" "
                              "turns them off");
  }
  if (const toml::table* pol = section("policy")) {
    Reader top(*pol, origin, "policy.");
    for (uint32_t i = 0; i < FG_PROTO_MAX; i++) {
      const auto proto = static_cast<fg_proto>(i);
      const char* name = proto_name(proto);
      const toml::node* n = pol->get(name);
      std::string dummy;
      top.get(name, dummy);  // marks the key as known
      top.error.reset();
      if (!n) continue;
      const toml::table* t = n->as_table();
      if (!t)
        return invalid_argument(where(origin, n->source()) + ": policy." + name +
                                " must be a table like { default = \"drop\", allow = [22, 443] }");
      ProtocolPolicy pp;
      Reader r(*t, origin, std::string("policy.") + name + ".");
      r.action("default", pp.default_action);
      r.ports("allow", pp.allow);
      r.ports("deny", pp.deny);
      if (!r.finish()) return *r.error;
      auto v = validate_policy(proto, pp, c.management_ports, false);
      if (!v.ok())
        return invalid_argument(where(origin, n->source()) + ": policy." + name + ": " +
                                v.error().message);
      c.policy[i] = *v;
    }
    if (!top.finish()) return *top.error;
  }
  {
    const toml::table* t = section("bgp");
    Reader r(t ? *t : kEmpty, origin, "bgp.");
    r.get("speaker", c.bgp_speaker);
    r.get("gobgpd", c.gobgpd);
    r.get("api_port", c.bgp_api_port);
    r.get("asn", c.bgp_asn);
    r.get("router_id", c.bgp_router_id);
    r.get("listen_port", c.bgp_listen_port);
    if (!r.finish()) return *r.error;
    if (c.bgp_speaker != "off" && c.bgp_speaker != "supervise" && c.bgp_speaker != "connect")
      return invalid_argument(where(origin, t->get("speaker")->source()) +
                              ": bgp.speaker must be \"off\", \"supervise\" or \"connect\"");
    if (c.bgp_speaker != "off" && (c.bgp_asn == 0 || !parse_prefix(c.bgp_router_id).ok()))
      return invalid_argument(where(origin, t->source()) +
                              ": [bgp] needs asn and router_id (an IPv4 address) when the "
                              "speaker is on");
  }
  if (const toml::node* n = root.get("providers")) {
    const toml::array* a = n->as_array();
    if (!a)
      return invalid_argument(where(origin, n->source()) +
                              ": providers must be [[providers]] tables");
    for (const auto& e : *a) {
      const toml::table* t = e.as_table();
      if (!t)
        return invalid_argument(where(origin, e.source()) + ": each provider must be a table");
      Provider p;
      std::vector<std::string> communities;
      std::string blackhole;
      Reader r(*t, origin, "providers.");
      r.get("name", p.name);
      r.get("neighbor", p.neighbor);
      r.get("peer_asn", p.peer_asn);
      r.strings("communities", communities);
      r.get("next_hop", p.next_hop);
      r.get("blackhole_community", blackhole);
      r.get("always_on", p.always_on);
      if (!r.finish()) return *r.error;
      if (p.name.empty() || !parse_prefix(p.neighbor).ok() || p.peer_asn == 0 ||
          !parse_prefix(p.next_hop).ok())
        return invalid_argument(where(origin, e.source()) +
                                ": a provider needs name, neighbor (address), peer_asn and "
                                "next_hop (address)");
      for (const std::string& text : communities) {
        auto v = parse_community(text);
        if (!v.ok()) return invalid_argument(where(origin, e.source()) + ": " + v.error().message);
        p.communities.push_back(*v);
      }
      if (!blackhole.empty()) {
        auto v = parse_community(blackhole);
        if (!v.ok()) return invalid_argument(where(origin, e.source()) + ": " + v.error().message);
        p.blackhole_community = *v;
      }
      c.providers.push_back(std::move(p));
    }
  }
  if (const toml::table* t = section("diversion")) {
    Reader r(*t, origin, "diversion.");
    r.get("max_announcements", c.max_announcements);
    r.get("hold_down_seconds", c.hold_down_s);
    r.get("quiet_pps", c.quiet_pps);
    std::string dummy;
    r.get("prefixes", dummy);  // read below
    r.error.reset();
    if (!r.finish()) return *r.error;
    if (const toml::node* n = t->get("prefixes")) {
      const toml::array* a = n->as_array();
      if (!a)
        return invalid_argument(where(origin, n->source()) +
                                ": diversion.prefixes must be an array of tables");
      for (const auto& e : *a) {
        const toml::table* pt = e.as_table();
        if (!pt)
          return invalid_argument(
              where(origin, e.source()) +
              ": write { prefix = \"198.51.100.0/24\", min_length = 24, max_length = 24 }");
        std::string text;
        DivertablePrefix d;
        Reader pr(*pt, origin, "diversion.prefixes.");
        pr.get("prefix", text);
        pr.get("min_length", d.min_length);
        pr.get("max_length", d.max_length);
        if (!pr.finish()) return *pr.error;
        auto p = parse_prefix(text);
        if (!p.ok()) return invalid_argument(where(origin, e.source()) + ": " + p.error().message);
        d.prefix = *p;
        const unsigned max = p->v4 ? 32 : 128;
        if (d.min_length == 0) d.min_length = p->len;
        if (d.max_length == 0) d.max_length = p->v4 ? 24 : 48;
        if (p->len == 0 || d.min_length < p->len || d.max_length < d.min_length ||
            d.max_length > max)
          return invalid_argument(where(origin, e.source()) + ": " + p->str() +
                                  ": need 0 < prefix length <= min_length <= max_length <= " +
                                  std::to_string(max) + " (a default route is never announced)");
        c.divertable.push_back(d);
      }
    }
  }
  {
    Reader r(section("events") ? *section("events") : kEmpty, origin, "events.");
    r.get("drop_alert_pps", c.drop_alert_pps);
    if (!r.finish()) return *r.error;
  }
  {
    Reader r(section("detection") ? *section("detection") : kEmpty, origin, "detection.");
    DetectionConfig& d = c.detection;
    r.get("enabled", d.enabled);
    r.real("factor", d.factor, 1, 1000);
    r.per_vector("floor_pps", d.floor_pps);
    r.per_vector("static_pps", d.static_pps);
    r.get("learn_seconds", d.learn_samples);
    r.real("learn_rate", d.learn_rate, 1e-7, 1);
    r.get("sustain_seconds", d.sustain_s);
    r.get("hold_down_seconds", d.hold_down_s);
    r.real("link_mbps", d.link_mbps, 0, 1e7);
    r.real("bandwidth_share", d.bandwidth_share, 0.01, 1);
    if (!r.finish()) return *r.error;
  }
  {
    Reader r(section("incidents") ? *section("incidents") : kEmpty, origin, "incidents.");
    r.get("auto_open", c.auto_open);
    r.get("evidence_dir", c.evidence_dir);
    r.get("evidence_sample_every", c.evidence_sample_every);
    r.get("evidence_max_mb", c.evidence_max_mb);
    r.require(c.evidence_max_mb > 0, "evidence_max_mb",
              "at least 1 (the cap on each incident's pcap, so that a flood cannot fill the "
              "disk)");
    r.get("hook_command", c.hook_command);
    r.get("notify_retries", c.notify_retries);
    r.get("affected_service", c.affected_service);
    if (!r.finish()) return *r.error;
  }
  if (const toml::table* pb = section("playbook")) {
    static const std::set<std::string> kActions = {"enforce", "tighten",  "block_top",
                                                   "divert",  "flowspec", "rtbh"};
    for (const auto& [k, v] : *pb) {
      const std::string type(k.str());
      if (type == "dry_run") {
        if (auto b = v.value<bool>()) {
          c.playbook.dry_run = *b;
          continue;
        }
        return invalid_argument(where(origin, v.source()) +
                                ": playbook.dry_run must be true or false");
      }
      const toml::array* a = v.as_array();
      if (!a)
        return invalid_argument(where(origin, v.source()) + ": playbook." + type +
                                " must be a list like [{ action = \"enforce\" }, { action = "
                                "\"block_top\", count = 10, ttl_seconds = 600 }]");
      std::vector<PlaybookStep> steps;
      for (const auto& e : *a) {
        const toml::table* t = e.as_table();
        if (!t)
          return invalid_argument(where(origin, e.source()) + ": each playbook." + type +
                                  " step must be a table like { action = \"enforce\" }");
        PlaybookStep st;
        Reader r(*t, origin, "playbook." + type + ".");
        r.get("action", st.action);
        r.get("on", st.on);
        r.real("factor", st.factor, 0.001, 1);
        r.get("count", st.count);
        r.get("ttl_seconds", st.ttl_s);
        r.real("min_share", st.min_share, 0, 1);
        if (!r.finish()) return *r.error;
        if (!kActions.count(st.action))
          return invalid_argument(where(origin, e.source()) + ": playbook." + type +
                                  ": action must be enforce, tighten, block_top, divert, "
                                  "flowspec or rtbh");
        steps.push_back(st);
      }
      c.playbook.steps[type] = std::move(steps);
    }
  }
  for (const auto& [k, v] : root) {
    static const std::set<std::string> kKnown = {
        "daemon", "rules", "maps",      "datapath",  "contacts",  "network",  "metrics",  "events",
        "policy", "bgp",   "providers", "diversion", "detection", "playbook", "incidents"};
    if (!kKnown.count(std::string(k.str())))
      return invalid_argument(where(origin, k.source()) + ": unknown section " +
                              std::string(k.str()) + " (see config/floodgate.example.toml)");
  }
  for (const std::string& p : c.protected_prefixes)
    if (auto r = parse_prefix(p); !r.ok())
      return invalid_argument(origin + ": network.protected: " + r.error().message);
  return c;
}

Playbook default_playbook() {
  Playbook p;
  const PlaybookStep enforce{"enforce"};
  const PlaybookStep tighten{"tighten", true, 0.5};
  const PlaybookStep block_top{"block_top", true, 0.5, 10, 600};
  PlaybookStep divert{"divert"};
  divert.min_share = 0.8;
  PlaybookStep flowspec{"flowspec", false};  // listed, off: upstream filtering is a contract
  flowspec.ttl_s = 3600;
  p.steps["syn-flood"] = {enforce, tighten, block_top};
  p.steps["udp-flood"] = {enforce, tighten, block_top, divert, flowspec};
  p.steps["reflection"] = {enforce, divert, flowspec};
  p.steps["icmp-flood"] = {enforce, tighten, block_top};
  p.steps["fragment-flood"] = {enforce, divert};
  p.steps["default"] = {enforce, divert};
  return p;
}

Result<DaemonConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return invalid_argument("cannot read config file " + path +
                            " (copy config/floodgate.example.toml there and edit it)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace floodgate
