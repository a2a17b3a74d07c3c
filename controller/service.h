// The gRPC service floodgate.v1.FloodgateService (callback API): translates between the
// protobuf messages and the engine's types, and errors to grpc::Status, in one place.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detector.h"
#include "diversion.h"
#include "engine.h"
#include "events.h"
#include "floodgate/v1/floodgate.grpc.pb.h"
#include "incidents.h"
#include "peers.h"
#include "preflight.h"
#include "samples.h"

namespace floodgate {

// What the service reports about the daemon beyond the engine.
struct DaemonInfo {
  std::function<std::vector<const Attachment*>()> attachments;
  std::function<std::vector<std::string>()> interface_names;  // same order
  std::function<Counters()> counters;
  std::function<std::vector<Counters>()> interface_counters;  // in interface_names order
  std::function<std::vector<std::string>()> unload;           // detaches and unpins; returns names
  const PeerRegistry* peers = nullptr;  // kernel-verified callers on the Unix socket
  TopTalkers* top = nullptr;
  Diversion* diversion = nullptr;
  std::function<std::vector<Check>()> preflight;
  EventBus* events = nullptr;
  std::function<uint32_t()> sample_every;
  bool adopted = false;
  int64_t started_at = 0;
  // Detection: the detector is driven by the ticker; readers take detector_mu.
  const Detector* detector = nullptr;
  std::mutex* detector_mu = nullptr;
  Incidents* incidents = nullptr;
  bool incidents_dry_run = false;  // playbook.dry_run
};

grpc::Status to_grpc(const Error& e);

class Service final : public v1::FloodgateService::CallbackService {
 public:
  Service(Engine& engine, DaemonInfo info);

  // Rates for GetStats: called once a second by the daemon's ticker.
  void sample_counters();

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext*, const v1::GetStatusRequest*,
                                      v1::GetStatusResponse*) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext*, const v1::GetStatsRequest*,
                                     v1::GetStatsResponse*) override;
  grpc::ServerUnaryReactor* ListRules(grpc::CallbackServerContext*, const v1::ListRulesRequest*,
                                      v1::ListRulesResponse*) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* ctx, const v1::ExplainRequest* req,
                                    v1::ExplainResponse* resp) override;
  grpc::ServerUnaryReactor* Block(grpc::CallbackServerContext*, const v1::BlockRequest*,
                                  v1::BlockResponse*) override;
  grpc::ServerUnaryReactor* Unblock(grpc::CallbackServerContext*, const v1::UnblockRequest*,
                                    v1::UnblockResponse*) override;
  grpc::ServerUnaryReactor* Allow(grpc::CallbackServerContext*, const v1::AllowRequest*,
                                  v1::AllowResponse*) override;
  grpc::ServerUnaryReactor* Disallow(grpc::CallbackServerContext*, const v1::DisallowRequest*,
                                     v1::DisallowResponse*) override;
  grpc::ServerUnaryReactor* SetMode(grpc::CallbackServerContext*, const v1::SetModeRequest*,
                                    v1::SetModeResponse*) override;
  grpc::ServerUnaryReactor* SetProtection(grpc::CallbackServerContext*,
                                          const v1::SetProtectionRequest*,
                                          v1::SetProtectionResponse*) override;
  grpc::ServerUnaryReactor* Unload(grpc::CallbackServerContext*, const v1::UnloadRequest*,
                                   v1::UnloadResponse*) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext*, const v1::GetPolicyRequest*,
                                      v1::GetPolicyResponse*) override;
  grpc::ServerUnaryReactor* SetPolicy(grpc::CallbackServerContext*, const v1::SetPolicyRequest*,
                                      v1::SetPolicyResponse*) override;
  grpc::ServerUnaryReactor* SetReflection(grpc::CallbackServerContext* ctx,
                                          const v1::SetReflectionRequest* req,
                                          v1::SetReflectionResponse* resp) override;
  grpc::ServerUnaryReactor* SetThresholds(grpc::CallbackServerContext*,
                                          const v1::SetThresholdsRequest*,
                                          v1::SetThresholdsResponse*) override;
  grpc::ServerUnaryReactor* Divert(grpc::CallbackServerContext*, const v1::DivertRequest*,
                                   v1::DivertResponse*) override;
  grpc::ServerUnaryReactor* Undivert(grpc::CallbackServerContext*, const v1::UndivertRequest*,
                                     v1::UndivertResponse*) override;
  grpc::ServerUnaryReactor* GetDiversion(grpc::CallbackServerContext*,
                                         const v1::GetDiversionRequest*,
                                         v1::GetDiversionResponse*) override;
  grpc::ServerUnaryReactor* AddBlackhole(grpc::CallbackServerContext*,
                                         const v1::AddBlackholeRequest*,
                                         v1::AddBlackholeResponse*) override;
  grpc::ServerUnaryReactor* RemoveBlackhole(grpc::CallbackServerContext*,
                                            const v1::RemoveBlackholeRequest*,
                                            v1::RemoveBlackholeResponse*) override;
  grpc::ServerUnaryReactor* AddFlowSpec(grpc::CallbackServerContext*, const v1::AddFlowSpecRequest*,
                                        v1::AddFlowSpecResponse*) override;
  grpc::ServerUnaryReactor* RemoveFlowSpec(grpc::CallbackServerContext*,
                                           const v1::RemoveFlowSpecRequest*,
                                           v1::RemoveFlowSpecResponse*) override;
  grpc::ServerUnaryReactor* Preflight(grpc::CallbackServerContext*, const v1::PreflightRequest*,
                                      v1::PreflightResponse*) override;
  grpc::ServerUnaryReactor* TopSources(grpc::CallbackServerContext*, const v1::TopSourcesRequest*,
                                       v1::TopSourcesResponse*) override;
  grpc::ServerWriteReactor<v1::WatchEventsResponse>* WatchEvents(
      grpc::CallbackServerContext*, const v1::WatchEventsRequest*) override;
  grpc::ServerUnaryReactor* GetBaseline(grpc::CallbackServerContext*, const v1::GetBaselineRequest*,
                                        v1::GetBaselineResponse*) override;
  grpc::ServerUnaryReactor* OpenIncident(grpc::CallbackServerContext*,
                                         const v1::OpenIncidentRequest*,
                                         v1::OpenIncidentResponse*) override;
  grpc::ServerUnaryReactor* AddIncidentNote(grpc::CallbackServerContext*,
                                            const v1::AddIncidentNoteRequest*,
                                            v1::AddIncidentNoteResponse*) override;
  grpc::ServerUnaryReactor* CheckIncidentItem(grpc::CallbackServerContext*,
                                              const v1::CheckIncidentItemRequest*,
                                              v1::CheckIncidentItemResponse*) override;
  grpc::ServerUnaryReactor* CloseIncident(grpc::CallbackServerContext*,
                                          const v1::CloseIncidentRequest*,
                                          v1::CloseIncidentResponse*) override;
  grpc::ServerUnaryReactor* ListIncidents(grpc::CallbackServerContext*,
                                          const v1::ListIncidentsRequest*,
                                          v1::ListIncidentsResponse*) override;
  grpc::ServerUnaryReactor* GetIncidentReport(grpc::CallbackServerContext*,
                                              const v1::GetIncidentReportRequest*,
                                              v1::GetIncidentReportResponse*) override;
  grpc::ServerUnaryReactor* PlanPlaybook(grpc::CallbackServerContext*,
                                         const v1::PlanPlaybookRequest*,
                                         v1::PlanPlaybookResponse*) override;

 private:
  Engine& engine_;
  DaemonInfo info_;
  std::mutex rates_mu_;
  struct CounterSample {
    std::chrono::steady_clock::time_point at;
    Counters total;
    std::vector<Counters> per_interface;  // in interface_names order
  };
  CounterSample sample_now() const;
  // 0 = the open incident; NOT_FOUND when none is open.
  Result<int64_t> incident_id(int64_t requested) const;
  std::deque<CounterSample> history_;  // the last kRateWindow seconds, oldest first
};

}  // namespace floodgate
