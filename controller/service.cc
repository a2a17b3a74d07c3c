// Proto <-> domain translation and the RPC handlers.
#include "service.h"

#include <google/protobuf/util/time_util.h>
#include <grpc/grpc_security_constants.h>

#include <deque>
#include <mutex>
#include <set>

namespace floodgate {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kRateWindow = 5;         // seconds of history behind packets_per_second
constexpr size_t kMaxRulesEchoed = 1000;  // BlockResponse.rules (see the proto)

grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
  auto* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

// Who is calling, for the audit log and events: on the Unix socket the kernel's peer
// credentials; on TCP the peer's address (protected from being blocked by mistake).
Caller caller_of(const grpc::CallbackServerContext* ctx, const PeerRegistry* peers) {
  Caller c;
  const std::string peer = ctx->peer();
  if (peers)
    if (auto cred = peers->find(peer)) {
      c.who = PeerRegistry::describe(*cred);
      return c;
    }
  c.who = peer;
  // Over mutual TLS: the client certificate's subject.
  if (auto auth = ctx->auth_context(); auth && auth->IsPeerAuthenticated()) {
    auto subject = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (subject.empty()) subject = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    if (!subject.empty())
      c.who = std::string(subject[0].data(), subject[0].size()) + " from " + peer;
  }
  // ipv4:198.18.0.1:5000 / ipv6:[2001:db8::1]:5000 carry an address to protect.
  for (const char* scheme : {"ipv4:", "ipv6:"}) {
    if (peer.rfind(scheme, 0) != 0) continue;
    std::string a = peer.substr(5);
    a = a.substr(0, a.rfind(':'));
    if (!a.empty() && a.front() == '[') a = a.substr(1, a.size() - 2);
    if (auto p = parse_prefix(a); p.ok()) c.address = *p;
  }
  return c;
}

v1::RuleOrigin origin_of(uint32_t o) {
  switch (o) {
    case FG_ORIGIN_OPERATOR:
      return v1::RULE_ORIGIN_OPERATOR;
    case FG_ORIGIN_REPUTATION:
      return v1::RULE_ORIGIN_REPUTATION;
    case FG_ORIGIN_DETECTOR:
      return v1::RULE_ORIGIN_DETECTOR;
    default:
      return v1::RULE_ORIGIN_UNSPECIFIED;
  }
}

void to_proto(const RuleRecord& r, uint64_t hits, v1::Rule* out) {
  out->set_prefix(r.prefix.str());
  out->set_kind(r.kind == RuleKind::kBlock ? v1::RULE_KIND_BLOCK : v1::RULE_KIND_ALLOW);
  out->set_origin(origin_of(r.origin));
  out->set_reason(r.reason);
  out->set_created_by(r.created_by);
  *out->mutable_created_at() = TimeUtil::SecondsToTimestamp(r.created_at);
  if (r.expires_at > 0) *out->mutable_expires_at() = TimeUtil::SecondsToTimestamp(r.expires_at);
  out->set_hits(hits);
}

v1::Mode mode_to_proto(fg_mode m) {
  return m == FG_MODE_ENFORCE ? v1::MODE_ENFORCE : v1::MODE_MONITOR;
}

// A TTL in whole seconds, a started second counting whole; nullopt when negative.
std::optional<int64_t> whole_seconds(const google::protobuf::Duration& d) {
  if (d.seconds() < 0 || d.nanos() < 0) return std::nullopt;
  return d.seconds() + (d.nanos() > 0 ? 1 : 0);
}

std::vector<std::string> strings(const google::protobuf::RepeatedPtrField<std::string>& f) {
  return {f.begin(), f.end()};
}

v1::EventKind kind_to_proto(EventKind k) {
  switch (k) {
    case EventKind::kBlock:
      return v1::EVENT_KIND_BLOCK;
    case EventKind::kUnblock:
      return v1::EVENT_KIND_UNBLOCK;
    case EventKind::kExpire:
      return v1::EVENT_KIND_EXPIRE;
    case EventKind::kAutoBlock:
      return v1::EVENT_KIND_AUTO_BLOCK;
    case EventKind::kAllow:
      return v1::EVENT_KIND_ALLOW;
    case EventKind::kDisallow:
      return v1::EVENT_KIND_DISALLOW;
    case EventKind::kMode:
      return v1::EVENT_KIND_MODE;
    case EventKind::kDrops:
      return v1::EVENT_KIND_DROPS;
    case EventKind::kPolicy:
      return v1::EVENT_KIND_POLICY;
    case EventKind::kBgpSession:
      return v1::EVENT_KIND_BGP_SESSION;
    case EventKind::kIncident:
      return v1::EVENT_KIND_INCIDENT;
  }
  return v1::EVENT_KIND_UNSPECIFIED;
}

std::optional<fg_proto> proto_from(v1::Protocol p) {
  switch (p) {
    case v1::PROTOCOL_TCP:
      return FG_PROTO_TCP;
    case v1::PROTOCOL_UDP:
      return FG_PROTO_UDP;
    case v1::PROTOCOL_ICMP:
      return FG_PROTO_ICMP;
    case v1::PROTOCOL_ICMPV6:
      return FG_PROTO_ICMP6;
    case v1::PROTOCOL_OTHER:
      return FG_PROTO_OTHER;
    default:
      return std::nullopt;
  }
}

v1::Protocol proto_to(fg_proto p) {
  switch (p) {
    case FG_PROTO_TCP:
      return v1::PROTOCOL_TCP;
    case FG_PROTO_UDP:
      return v1::PROTOCOL_UDP;
    case FG_PROTO_ICMP:
      return v1::PROTOCOL_ICMP;
    case FG_PROTO_ICMP6:
      return v1::PROTOCOL_ICMPV6;
    default:
      return v1::PROTOCOL_OTHER;
  }
}

void policy_to(fg_proto proto, const ProtocolPolicy& p, v1::ProtocolPolicy* out) {
  out->set_protocol(proto_to(proto));
  out->set_default_action(p.default_action == FG_ACT_DROP ? v1::ACTION_DROP : v1::ACTION_PASS);
  for (uint16_t x : p.allow) out->add_allowed_ports(x);
  for (uint16_t x : p.deny) out->add_denied_ports(x);
}

void announcement_to(const AnnouncementRecord& a, const BgpRoute& route, v1::Announcement* out) {
  out->set_prefix(a.prefix.str());
  out->set_provider(a.provider);
  out->set_blackhole(a.blackhole);
  out->set_reason(a.reason);
  out->set_created_by(a.created_by);
  *out->mutable_since() = TimeUtil::SecondsToTimestamp(a.since);
  if (a.expires_at) *out->mutable_expires_at() = TimeUtil::SecondsToTimestamp(a.expires_at);
  if (a.withdraw_asked)
    *out->mutable_withdraw_requested_at() = TimeUtil::SecondsToTimestamp(a.withdraw_asked);
  for (uint32_t c : route.communities) out->add_communities(community_text(c));
  out->set_next_hop(route.next_hop);
}

void flow_to(const FlowRecord& f, v1::FlowSpecRule* out) {
  out->set_rule(f.rule);
  out->set_provider(f.provider);
  out->set_reason(f.reason);
  out->set_created_by(f.created_by);
  *out->mutable_since() = TimeUtil::SecondsToTimestamp(f.since);
  *out->mutable_expires_at() = TimeUtil::SecondsToTimestamp(f.expires_at);
}

// One WatchEvents stream: events queue up here (bounded) and are written one at a time,
// as the callback API allows a single outstanding write.
class WatchReactor : public grpc::ServerWriteReactor<v1::WatchEventsResponse> {
 public:
  explicit WatchReactor(EventBus& bus) : bus_(bus) {
    id_ = bus_.subscribe([this](const Event& e) { enqueue(e); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    queue_.pop_front();
    if (!ok) return finish_locked();
    write_next_locked();
  }
  void OnCancel() override {
    std::lock_guard lock(mu_);
    finish_locked();
  }
  void OnDone() override {
    bus_.unsubscribe(id_);
    delete this;
  }

 private:
  static constexpr size_t kMaxQueued = 10'000;

  void enqueue(const Event& e) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (queue_.size() >= kMaxQueued) {
      lost_++;
      return;
    }
    v1::WatchEventsResponse m;
    auto* ev = m.mutable_event();
    *ev->mutable_time() = TimeUtil::SecondsToTimestamp(e.at);
    ev->set_kind(kind_to_proto(e.kind));
    ev->set_subject(e.subject);
    ev->set_detail(e.detail);
    ev->set_actor(e.actor);
    m.set_lost(lost_);
    lost_ = 0;
    queue_.push_back(std::move(m));
    if (queue_.size() == 1) write_next_locked();
  }
  void write_next_locked() {
    if (!queue_.empty() && !finished_) StartWrite(&queue_.front());
  }
  void finish_locked() {
    if (finished_) return;
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  EventBus& bus_;
  int id_ = 0;
  std::mutex mu_;
  std::deque<v1::WatchEventsResponse> queue_;  // front() is being written
  uint64_t lost_ = 0;
  bool finished_ = false;
};

}  // namespace

grpc::Status to_grpc(const Error& e) {
  // The message travels in a response header, and a client refuses headers over its
  // limit (8 KiB by default) with an error that says nothing of ours: keep it well below.
  constexpr size_t kMax = 4096;
  std::string m = e.message;
  if (m.size() > kMax) m = m.substr(0, kMax) + " ... (cut)";
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, m};
    case ErrorCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, m};
    case ErrorCode::kAlreadyExists:
      return {grpc::StatusCode::ALREADY_EXISTS, m};
    case ErrorCode::kResourceExhausted:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, m};
    case ErrorCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, m};
    case ErrorCode::kInternal:
      break;
  }
  return {grpc::StatusCode::INTERNAL, m};
}

Service::Service(Engine& engine, DaemonInfo info) : engine_(engine), info_(std::move(info)) {}

Service::CounterSample Service::sample_now() const {
  CounterSample c{std::chrono::steady_clock::now(), info_.counters(), {}};
  if (info_.interface_counters) c.per_interface = info_.interface_counters();
  return c;
}

void Service::sample_counters() {
  CounterSample c = sample_now();
  std::lock_guard lock(rates_mu_);
  history_.push_back(std::move(c));
  if (history_.size() > kRateWindow + 1) history_.pop_front();
}

grpc::ServerUnaryReactor* Service::GetStatus(grpc::CallbackServerContext* ctx,
                                             const v1::GetStatusRequest*,
                                             v1::GetStatusResponse* resp) {
  resp->set_mode(mode_to_proto(engine_.mode()));
  const auto atts = info_.attachments();
  const auto names = info_.interface_names();
  for (size_t i = 0; i < atts.size() && i < names.size(); i++) {
    auto* itf = resp->add_interfaces();
    itf->set_name(names[i]);
    itf->set_ifindex(atts[i]->ifindex());
    itf->set_attach_mode(atts[i]->mode() == AttachMode::kNative ? "native" : "generic");
    itf->set_dispatcher(atts[i]->dispatcher());
  }
  resp->set_block_rules(engine_.count(RuleKind::kBlock));
  resp->set_allow_rules(engine_.count(RuleKind::kAllow));
  resp->set_version(FLOODGATE_VERSION);
  *resp->mutable_started_at() = TimeUtil::SecondsToTimestamp(info_.started_at);
  resp->set_adopted(info_.adopted);
  return finish(ctx, grpc::Status::OK);
}

namespace {

// One ReasonStats per reason; rates from `old` when there is one and time has passed.
void fill_reasons(const Counters& now, const Counters* old, double secs,
                  google::protobuf::RepeatedPtrField<v1::ReasonStats>* out) {
  for (uint32_t r = 0; r < FG_R_MAX; r++) {
    auto* s = out->Add();
    s->set_reason(fg_reason_name(static_cast<fg_reason>(r)));
    s->set_pass_packets(now[r].pass_packets);
    s->set_pass_bytes(now[r].pass_bytes);
    s->set_drop_packets(now[r].drop_packets);
    s->set_drop_bytes(now[r].drop_bytes);
    s->set_samples_lost(now[r].samples_lost);
    if (old && secs > 0.5) {
      const double d = static_cast<double>((now[r].pass_packets + now[r].drop_packets) -
                                           ((*old)[r].pass_packets + (*old)[r].drop_packets));
      s->set_packets_per_second(d / secs);
    }
  }
}

}  // namespace

grpc::ServerUnaryReactor* Service::GetStats(grpc::CallbackServerContext* ctx,
                                            const v1::GetStatsRequest*,
                                            v1::GetStatsResponse* resp) {
  const CounterSample now = sample_now();
  std::optional<CounterSample> oldest;
  {
    std::lock_guard lock(rates_mu_);
    if (!history_.empty()) oldest = history_.front();
  }
  const double secs = oldest ? std::chrono::duration<double>(now.at - oldest->at).count() : 0.0;
  fill_reasons(now.total, oldest ? &oldest->total : nullptr, secs, resp->mutable_reasons());
  *resp->mutable_window() = TimeUtil::MillisecondsToDuration(static_cast<int64_t>(secs * 1000));
  const auto names = info_.interface_names();
  for (size_t i = 0; i < now.per_interface.size() && i < names.size(); i++) {
    auto* itf = resp->add_interfaces();
    itf->set_name(names[i]);
    const bool have_old = oldest && i < oldest->per_interface.size();
    fill_reasons(now.per_interface[i], have_old ? &oldest->per_interface[i] : nullptr, secs,
                 itf->mutable_reasons());
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::ListRules(grpc::CallbackServerContext* ctx,
                                             const v1::ListRulesRequest* req,
                                             v1::ListRulesResponse* resp) {
  std::optional<RuleKind> kind;
  if (req->kind() == v1::RULE_KIND_BLOCK)
    kind = RuleKind::kBlock;
  else if (req->kind() == v1::RULE_KIND_ALLOW)
    kind = RuleKind::kAllow;
  else if (req->kind() != v1::RULE_KIND_UNSPECIFIED)
    return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                        "unknown rule kind " + std::to_string(req->kind())});
  for (const RuleView& v : engine_.rules(kind)) to_proto(v.rule, v.hits, resp->add_rules());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Explain(grpc::CallbackServerContext* ctx,
                                           const v1::ExplainRequest* req,
                                           v1::ExplainResponse* resp) {
  auto r = engine_.explain(req->address());
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  const Explanation& e = *r;
  resp->set_address(e.address.str());
  resp->set_mode(mode_to_proto(static_cast<fg_mode>(e.cfg.mode)));
  for (const RuleView& a : e.allows) to_proto(a.rule, a.hits, resp->add_allows());
  for (const Explanation::Block& b : e.blocks) {
    v1::ExplainedBlock* out = resp->add_blocks();
    to_proto(b.view.rule, b.view.hits, out->mutable_rule());
    out->set_expired(b.expired);
  }
  resp->set_lists_verdict(e.verdict);
  resp->set_deciding_prefix(e.deciding);
  v1::SourceState* src = resp->mutable_source();
  src->set_tracked_as(e.source_key.str());
  const uint32_t one = std::max<uint32_t>(e.cfg.rep_per_violation, 1);
  src->set_reputation_threshold(e.cfg.rep_threshold / one);
  if (const auto& st = e.source) {
    const uint64_t now = e.now_mono;
    src->set_tracked(true);
    src->set_reputation(
        static_cast<double>(fg_decay(st->score, now > st->score_ns ? now - st->score_ns : 0,
                                     e.cfg.rep_half_life_ns)) /
        one);
    src->set_violations(st->violations);
    src->set_completes_handshakes(st->flags & FG_SRC_VERIFIED);
    // Over the limit now: one more unit would reach past the burst (see fg_gcra()).
    for (int v = 0; v < FG_VEC_MAX; v++) {
      const fg_bucket_cfg& b = e.cfg.src[v];
      if (b.interval_fp && st->tat[v] > now &&
          st->tat[v] - now + (b.interval_fp >> FG_FP_SHIFT) > b.burst_ns)
        src->add_limited_now(fg_vector_name(static_cast<fg_vector>(v)));
    }
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Block(grpc::CallbackServerContext* ctx,
                                         const v1::BlockRequest* req, v1::BlockResponse* resp) {
  BlockParams p;
  p.prefixes = strings(req->prefixes());
  if (req->has_ttl()) {
    const auto ttl = whole_seconds(req->ttl());
    if (!ttl) return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT, "ttl must not be negative"});
    p.ttl_s = *ttl;
  }
  p.reason = req->reason();
  p.force = req->force();
  auto r = engine_.block(p, caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  resp->set_count(r->size());
  if (r->size() <= kMaxRulesEchoed)
    for (const RuleRecord& rec : *r) to_proto(rec, 0, resp->add_rules());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Unblock(grpc::CallbackServerContext* ctx,
                                           const v1::UnblockRequest* req,
                                           v1::UnblockResponse* resp) {
  std::vector<Prefix> missing;
  auto r = engine_.unblock(strings(req->prefixes()), caller_of(ctx, info_.peers),
                           req->ignore_missing(), &missing);
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const Prefix& p : *r) resp->add_prefixes(p.str());
  for (const Prefix& p : missing) resp->add_missing(p.str());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Allow(grpc::CallbackServerContext* ctx,
                                         const v1::AllowRequest* req, v1::AllowResponse* resp) {
  const auto ttl = whole_seconds(req->ttl());
  if (!ttl) return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT, "ttl must not be negative"});
  auto r =
      engine_.allow(strings(req->prefixes()), req->reason(), caller_of(ctx, info_.peers), *ttl);
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const RuleRecord& rec : *r) {
    to_proto(rec, 0, resp->add_rules());
    auto [inside, count] = engine_.blocks_inside(rec.prefix, 20);
    for (const Prefix& p : inside)
      if (resp->overridden_blocks_size() < 20) resp->add_overridden_blocks(p.str());
    resp->set_overridden_count(resp->overridden_count() + count);
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Disallow(grpc::CallbackServerContext* ctx,
                                            const v1::DisallowRequest* req,
                                            v1::DisallowResponse* resp) {
  auto r = engine_.disallow(strings(req->prefixes()), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const Prefix& p : *r) resp->add_prefixes(p.str());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::SetMode(grpc::CallbackServerContext* ctx,
                                           const v1::SetModeRequest* req,
                                           v1::SetModeResponse* resp) {
  fg_mode mode;
  if (req->mode() == v1::MODE_MONITOR)
    mode = FG_MODE_MONITOR;
  else if (req->mode() == v1::MODE_ENFORCE)
    mode = FG_MODE_ENFORCE;
  else
    return finish(ctx,
                  {grpc::StatusCode::INVALID_ARGUMENT,
                   "mode must be MODE_MONITOR or MODE_ENFORCE, not " + v1::Mode_Name(req->mode())});
  auto r = engine_.set_mode(mode, caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  resp->set_mode(mode_to_proto(mode));
  resp->set_previous_mode(mode_to_proto(*r));
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::SetProtection(grpc::CallbackServerContext* ctx,
                                                 const v1::SetProtectionRequest* req,
                                                 v1::SetProtectionResponse* resp) {
  const fg_mode mode = req->on() ? FG_MODE_ENFORCE : FG_MODE_MONITOR;
  auto r = engine_.set_mode(mode, caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  resp->set_mode(mode_to_proto(mode));
  resp->set_previous_mode(mode_to_proto(*r));
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::GetPolicy(grpc::CallbackServerContext* ctx,
                                             const v1::GetPolicyRequest*,
                                             v1::GetPolicyResponse* resp) {
  const PolicyView v = engine_.policy();
  for (uint32_t i = 0; i < FG_PROTO_MAX; i++)
    policy_to(static_cast<fg_proto>(i), v.protocols[i], resp->add_protocols());
  for (const Threshold& t : v.thresholds) {
    auto* o = resp->add_thresholds();
    o->set_vector(static_cast<v1::Vector>(t.vector + 1));
    o->set_scope(t.scope == Scope::kPerSource ? v1::SCOPE_PER_SOURCE : v1::SCOPE_PER_DESTINATION);
    o->set_rate(t.limit.rate);
    o->set_burst(t.limit.burst);
  }
  resp->set_reflection_filter(v.reflection_filter);
  for (uint16_t p : v.reflection_ports) resp->add_reflection_ports(p);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::SetPolicy(grpc::CallbackServerContext* ctx,
                                             const v1::SetPolicyRequest* req,
                                             v1::SetPolicyResponse* resp) {
  const auto proto = proto_from(req->policy().protocol());
  if (!proto)
    return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                        "protocol must be one of tcp, udp, icmp, icmpv6, other"});
  ProtocolPolicy p;
  switch (req->policy().default_action()) {
    case v1::ACTION_PASS:
      p.default_action = FG_ACT_PASS;
      break;
    case v1::ACTION_DROP:
      p.default_action = FG_ACT_DROP;
      break;
    default:
      return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                          "default_action must be ACTION_PASS or ACTION_DROP"});
  }
  using Ports = google::protobuf::RepeatedField<uint32_t>;
  for (auto [from, to] :
       {std::pair<const Ports*, std::vector<uint16_t>*>{&req->policy().allowed_ports(), &p.allow},
        std::pair<const Ports*, std::vector<uint16_t>*>{&req->policy().denied_ports(), &p.deny}})
    for (uint32_t port : *from) {
      if (port > 65535)
        return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                            "port " + std::to_string(port) + " is out of range (0..65535)"});
      to->push_back(static_cast<uint16_t>(port));
    }
  auto r = engine_.set_policy(*proto, p, req->force(), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  policy_to(*proto, engine_.policy().protocols[*proto], resp->mutable_policy());
  policy_to(*proto, *r, resp->mutable_previous());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::SetReflection(grpc::CallbackServerContext* ctx,
                                                 const v1::SetReflectionRequest* req,
                                                 v1::SetReflectionResponse* resp) {
  const std::vector<uint32_t> add(req->add_ports().begin(), req->add_ports().end());
  const std::vector<uint32_t> remove(req->remove_ports().begin(), req->remove_ports().end());
  auto v =
      engine_.set_reflection(req->has_filter() ? std::optional<bool>(req->filter()) : std::nullopt,
                             add, remove, caller_of(ctx, info_.peers));
  if (!v.ok()) return finish(ctx, to_grpc(v.error()));
  resp->set_filter(v->reflection_filter);
  for (uint16_t p : v->reflection_ports) resp->add_ports(p);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::SetThresholds(grpc::CallbackServerContext* ctx,
                                                 const v1::SetThresholdsRequest* req,
                                                 v1::SetThresholdsResponse* resp) {
  std::vector<Threshold> ts;
  for (const auto& t : req->thresholds()) {
    if (t.vector() < v1::VECTOR_SYN || t.vector() > v1::VECTOR_ICMP)
      return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                          "vector must be VECTOR_SYN, VECTOR_UDP_PACKETS, VECTOR_UDP_BYTES or "
                          "VECTOR_ICMP"});
    if (t.scope() != v1::SCOPE_PER_SOURCE && t.scope() != v1::SCOPE_PER_DESTINATION)
      return finish(ctx, {grpc::StatusCode::INVALID_ARGUMENT,
                          "scope must be SCOPE_PER_SOURCE or SCOPE_PER_DESTINATION"});
    ts.push_back({static_cast<fg_vector>(t.vector() - 1),
                  t.scope() == v1::SCOPE_PER_SOURCE ? Scope::kPerSource : Scope::kPerDestination,
                  {t.rate(), t.burst()}});
  }
  if (auto s = engine_.set_thresholds(ts, caller_of(ctx, info_.peers)); !s)
    return finish(ctx, to_grpc(s.error()));
  *resp->mutable_thresholds() = req->thresholds();
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Divert(grpc::CallbackServerContext* ctx,
                                          const v1::DivertRequest* req, v1::DivertResponse* resp) {
  DivertParams p{strings(req->prefixes()), req->all(), req->provider(), req->dry_run(),
                 req->reason()};
  auto r = info_.diversion->divert(p, caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const AnnouncementRecord& a : *r)
    announcement_to(a, info_.diversion->route_of(a), resp->add_announcements());
  resp->set_dry_run(req->dry_run());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Undivert(grpc::CallbackServerContext* ctx,
                                            const v1::UndivertRequest* req,
                                            v1::UndivertResponse* resp) {
  auto r = info_.diversion->undivert(strings(req->prefixes()), req->all(), req->now(),
                                     caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const AnnouncementRecord& a : *r)
    announcement_to(a, info_.diversion->route_of(a), resp->add_announcements());
  resp->set_now(req->now());
  *resp->mutable_hold_down() = TimeUtil::SecondsToDuration(info_.diversion->status().hold_down_s);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::GetDiversion(grpc::CallbackServerContext* ctx,
                                                const v1::GetDiversionRequest*,
                                                v1::GetDiversionResponse* resp) {
  const DiversionStatus st = info_.diversion->status();
  resp->set_speaker_on(st.speaker_on);
  for (const ProviderStatus& p : st.providers) {
    auto* o = resp->add_providers();
    o->set_name(p.name);
    o->set_neighbor(p.neighbor);
    o->set_session_state(session_state_name(p.state));
    o->set_always_on(p.always_on);
  }
  for (const AnnouncementRecord& a : st.announcements)
    announcement_to(a, info_.diversion->route_of(a), resp->add_announcements());
  *resp->mutable_hold_down() = TimeUtil::SecondsToDuration(st.hold_down_s);
  for (const FlowRecord& f : st.flows) flow_to(f, resp->add_flowspec());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::AddFlowSpec(grpc::CallbackServerContext* ctx,
                                               const v1::AddFlowSpecRequest* req,
                                               v1::AddFlowSpecResponse* resp) {
  auto r = info_.diversion->add_flow(req->rule(), req->has_ttl() ? req->ttl().seconds() : 0,
                                     req->provider(), req->reason(), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const FlowRecord& f : *r) flow_to(f, resp->add_rules());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::RemoveFlowSpec(grpc::CallbackServerContext* ctx,
                                                  const v1::RemoveFlowSpecRequest* req,
                                                  v1::RemoveFlowSpecResponse* resp) {
  auto r = info_.diversion->remove_flow(req->rule(), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const FlowRecord& f : *r) flow_to(f, resp->add_rules());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::AddBlackhole(grpc::CallbackServerContext* ctx,
                                                const v1::AddBlackholeRequest* req,
                                                v1::AddBlackholeResponse* resp) {
  auto r = info_.diversion->blackhole(req->address(), req->has_ttl() ? req->ttl().seconds() : 0,
                                      req->provider(), req->reason(), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const AnnouncementRecord& a : *r)
    announcement_to(a, info_.diversion->route_of(a), resp->add_announcements());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::RemoveBlackhole(grpc::CallbackServerContext* ctx,
                                                   const v1::RemoveBlackholeRequest* req,
                                                   v1::RemoveBlackholeResponse* resp) {
  auto r = info_.diversion->remove_blackhole(req->address(), caller_of(ctx, info_.peers));
  if (!r.ok()) return finish(ctx, to_grpc(r.error()));
  for (const AnnouncementRecord& a : *r)
    announcement_to(a, info_.diversion->route_of(a), resp->add_announcements());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::Preflight(grpc::CallbackServerContext* ctx,
                                             const v1::PreflightRequest*,
                                             v1::PreflightResponse* resp) {
  bool ready = true;
  for (const Check& c : info_.preflight()) {
    auto* o = resp->add_checks();
    o->set_name(c.name);
    o->set_result(c.result == CheckResult::kPass   ? v1::PreflightCheck::RESULT_PASS
                  : c.result == CheckResult::kWarn ? v1::PreflightCheck::RESULT_WARN
                                                   : v1::PreflightCheck::RESULT_FAIL);
    o->set_detail(c.detail);
    o->set_fix(c.fix);
    ready &= c.result != CheckResult::kFail;
  }
  resp->set_ready(ready);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::TopSources(grpc::CallbackServerContext* ctx,
                                              const v1::TopSourcesRequest* req,
                                              v1::TopSourcesResponse* resp) {
  const uint32_t every = info_.sample_every ? info_.sample_every() : 0;
  const size_t limit = req->limit() == 0 ? 10 : req->limit();
  if (info_.top) {
    for (const TopSource& t : info_.top->top(limit, every)) {
      auto* o = resp->add_sources();
      o->set_source(t.source);
      o->set_samples(t.samples);
      o->set_estimated_packets_per_second(t.packets_per_second);
      o->set_top_reason(fg_reason_name(static_cast<fg_reason>(t.top_reason)));
      o->set_protocol(t.l4proto);
      o->set_top_destination_port(t.top_dport);
    }
    *resp->mutable_window() = TimeUtil::SecondsToDuration(info_.top->window().count());
  }
  resp->set_sample_every(every);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::WatchEventsResponse>* Service::WatchEvents(
    grpc::CallbackServerContext*, const v1::WatchEventsRequest*) {
  return new WatchReactor(*info_.events);
}

grpc::ServerUnaryReactor* Service::Unload(grpc::CallbackServerContext* ctx,
                                          const v1::UnloadRequest*, v1::UnloadResponse* resp) {
  for (const std::string& n : info_.unload()) resp->add_detached_interfaces(n);
  return finish(ctx, grpc::Status::OK);
}

Result<int64_t> Service::incident_id(int64_t requested) const {
  if (!info_.incidents) return failed_precondition("incidents are not available");
  if (requested > 0) return requested;
  if (auto id = info_.incidents->open_id()) return *id;
  return not_found("no incident is open; give the incident's number (floodgatectl incident list)");
}

grpc::ServerUnaryReactor* Service::GetBaseline(grpc::CallbackServerContext* ctx,
                                               const v1::GetBaselineRequest*,
                                               v1::GetBaselineResponse* resp) {
  if (!info_.detector || !info_.detector_mu)
    return finish(ctx, to_grpc(failed_precondition("detection is not running")));
  std::lock_guard lock(*info_.detector_mu);
  const Detector& d = *info_.detector;
  const DetectionConfig& c = d.config();
  resp->set_factor(c.factor);
  resp->set_learn_seconds(c.learn_samples);
  resp->set_sustain_seconds(c.sustain_s);
  resp->set_hold_down_seconds(c.hold_down_s);
  const int hour = local_hour(unix_now());
  for (const std::string& name : info_.interface_names()) {
    auto* i = resp->add_interfaces();
    i->set_name(name);
    i->set_hour(hour);
    i->set_learned(d.learned(name, hour));
    i->set_in_flood(d.in_flood(name));
    const Rates now = d.rates(name).value_or(Rates{});
    const Rates ewma = d.ewma(name).value_or(Rates{});
    for (int v = 0; v < FG_TV_MAX; v++) {
      const auto vec = static_cast<fg_traffic_vector>(v);
      const BaselineCell b = d.baseline(name, hour, vec);
      const Threshold1 t = d.threshold(name, hour, vec);
      auto* o = i->add_vectors();
      o->set_vector(fg_traffic_vector_name(vec));
      o->set_packets_per_second(now.pps[v]);
      o->set_bits_per_second(now.bps[v]);
      o->set_ewma_packets_per_second(ewma.pps[v]);
      o->set_baseline_packets_per_second(b.pps);
      o->set_baseline_bits_per_second(b.bps);
      o->set_baseline_seconds(b.samples);
      o->set_threshold_packets_per_second(t.pps);
      o->set_threshold_basis(t.basis);
    }
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::OpenIncident(grpc::CallbackServerContext* ctx,
                                                const v1::OpenIncidentRequest* req,
                                                v1::OpenIncidentResponse* resp) {
  if (!info_.incidents)
    return finish(ctx, to_grpc(failed_precondition("incidents are not available")));
  static const std::set<std::string> kTypes = {"",           "syn-flood",        "udp-flood",
                                               "reflection", "icmp-flood",       "fragment-flood",
                                               "volumetric", "application-flood"};
  if (!kTypes.count(req->type()))
    return finish(ctx, to_grpc(invalid_argument(
                           "unknown attack type '" + req->type() +
                           "'; use syn-flood, udp-flood, reflection, icmp-flood, fragment-flood, "
                           "volumetric or application-flood, or leave it out")));
  auto id = info_.incidents->open(req->type(), req->note(), caller_of(ctx, info_.peers));
  if (!id.ok()) return finish(ctx, to_grpc(id.error()));
  resp->set_id(*id);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::AddIncidentNote(grpc::CallbackServerContext* ctx,
                                                   const v1::AddIncidentNoteRequest* req,
                                                   v1::AddIncidentNoteResponse* resp) {
  auto id = incident_id(req->id());
  if (!id.ok()) return finish(ctx, to_grpc(id.error()));
  if (auto s = info_.incidents->note(*id, req->text(), caller_of(ctx, info_.peers)); !s)
    return finish(ctx, to_grpc(s.error()));
  resp->set_id(*id);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::CheckIncidentItem(grpc::CallbackServerContext* ctx,
                                                     const v1::CheckIncidentItemRequest* req,
                                                     v1::CheckIncidentItemResponse* resp) {
  auto id = incident_id(req->id());
  if (!id.ok()) return finish(ctx, to_grpc(id.error()));
  if (auto s = info_.incidents->check(*id, req->item(), req->note(), caller_of(ctx, info_.peers));
      !s)
    return finish(ctx, to_grpc(s.error()));
  resp->set_id(*id);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::CloseIncident(grpc::CallbackServerContext* ctx,
                                                 const v1::CloseIncidentRequest* req,
                                                 v1::CloseIncidentResponse* resp) {
  if (!info_.incidents)
    return finish(ctx, to_grpc(failed_precondition("incidents are not available")));
  if (auto s = info_.incidents->close(req->id(), req->note(), caller_of(ctx, info_.peers)); !s)
    return finish(ctx, to_grpc(s.error()));
  resp->set_id(req->id());
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::ListIncidents(grpc::CallbackServerContext* ctx,
                                                 const v1::ListIncidentsRequest* req,
                                                 v1::ListIncidentsResponse* resp) {
  if (!info_.incidents)
    return finish(ctx, to_grpc(failed_precondition("incidents are not available")));
  auto list = info_.incidents->list(req->limit() ? req->limit() : 50);
  if (!list.ok()) return finish(ctx, to_grpc(list.error()));
  for (const IncidentSummary& s : *list) {
    auto* o = resp->add_incidents();
    o->set_id(s.id);
    o->set_opened_at(s.opened_at);
    o->set_closed_at(s.closed_at);
    o->set_type(s.type);
    o->set_category(s.category);
    o->set_opened_by(s.opened_by);
    o->set_peak_packets_per_second(s.peak_pps);
    o->set_peak_bits_per_second(s.peak_bps);
  }
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::GetIncidentReport(grpc::CallbackServerContext* ctx,
                                                     const v1::GetIncidentReportRequest* req,
                                                     v1::GetIncidentReportResponse* resp) {
  auto id = incident_id(req->id());
  if (!id.ok()) return finish(ctx, to_grpc(id.error()));
  auto text = info_.incidents->report(*id, req->format().empty() ? "md" : req->format());
  if (!text.ok()) return finish(ctx, to_grpc(text.error()));
  resp->set_id(*id);
  resp->set_text(*text);
  return finish(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* Service::PlanPlaybook(grpc::CallbackServerContext* ctx,
                                                const v1::PlanPlaybookRequest* req,
                                                v1::PlanPlaybookResponse* resp) {
  if (!info_.incidents)
    return finish(ctx, to_grpc(failed_precondition("incidents are not available")));
  if (req->type().empty())
    return finish(ctx, to_grpc(invalid_argument(
                           "name an attack type: syn-flood, udp-flood, reflection, icmp-flood, "
                           "fragment-flood")));
  for (const std::string& s : info_.incidents->plan(req->type())) resp->add_steps(s);
  resp->set_dry_run(info_.incidents_dry_run);
  return finish(ctx, grpc::Status::OK);
}

}  // namespace floodgate
