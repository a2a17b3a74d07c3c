// Incidents (PROCEDURE.md articles 5 and 6): opened by the detector or an operator, one
// per attack; a timeline of everything done and by whom; the procedure's checklists; the
// playbook run for the attack's type and undone on recovery; notifications; evidence
// (pcap of the sampled packets, counter snapshots); and the closing report.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "detector.h"
#include "diversion.h"
#include "engine.h"
#include "evidence.h"
#include "notify.h"
#include "preflight.h"
#include "samples.h"
#include "store.h"

namespace floodgate {

// One line of the procedure's checklists (attachments 1, 3 and 5).
struct ChecklistItem {
  const char* id;    // "A3.evidence"
  const char* text;  // what the procedure asks
  bool automatic;    // Floodgate checks it itself when it can see it is done
};
const std::vector<ChecklistItem>& checklist();

struct IncidentSummary {
  int64_t id = 0;
  int64_t opened_at = 0, closed_at = 0;
  std::string type, category, opened_by;
  double peak_pps = 0, peak_bps = 0;
};

class Incidents {
 public:
  // `diversion` may be null (no BGP); `preflight` gives attachment 1's state at opening.
  Incidents(const DaemonConfig& cfg, Store& store, Engine& engine, Diversion* diversion,
            TopTalkers& top, std::function<uint32_t()> sample_every,
            std::function<std::vector<Check>()> preflight);
  ~Incidents();

  // Picks up an incident left open by an earlier run (evidence appended, sampling on).
  void start(int64_t now_unix);

  // The detector's flood start/end. Returns lines for the log.
  std::vector<std::string> on_detection(const DetectorEvent& e);
  // Once a second with the detector's rates per interface: peaks, counter snapshots,
  // the deferred source classification and block_top steps, automatic checks.
  void tick(int64_t now_unix, const std::vector<std::pair<std::string, Rates>>& rates);
  // Every sampled packet (any thread); written to the open incident's pcap.
  void on_sample(const fg_sample& s);

  Result<int64_t> open(const std::string& type, const std::string& note, const Caller& c);
  Status note(int64_t id, const std::string& text, const Caller& c);
  Status check(int64_t id, const std::string& item, const std::string& note, const Caller& c);
  // Undoes the playbook's changes, withdraws diversion after its hold-down, closes.
  Status close(int64_t id, const std::string& note, const Caller& c);
  Result<std::string> report(int64_t id, const std::string& format);  // "md" or "json"
  Result<std::vector<IncidentSummary>> list(size_t limit);
  // What the playbook would do for `type` now, one line per step, nothing done.
  std::vector<std::string> plan(const std::string& type);
  std::optional<int64_t> open_id() const;
  // The interface the open incident's flood was detected on ("" = none or by hand).
  std::string open_iface() const;

 private:
  struct Open;  // the open incident's live state
  using json = nlohmann::json;

  Result<int64_t> open_locked(const std::string& type, const std::string& category,
                              const std::string& why, const Caller& c);
  void close_locked(int64_t now, const std::string& note, const Caller& c);
  void timeline(int64_t id, const std::string& actor, const std::string& kind,
                const std::string& text);
  void auto_check(const std::string& item, const std::string& note);
  void notify(const std::string& what, const json& extra = json::object());
  void save_locked();
  // Runs the playbook's steps for the open incident; block_top waits for `with_sources`.
  void run_playbook(bool with_sources);
  // One step; the text starts with "did: " when something was changed.
  std::string run_step(const PlaybookStep& s, bool dry, json& data, int64_t id);
  std::string upstream_step(const PlaybookStep& s, bool dry, json& data, int64_t id);
  void classify_sources(int64_t now);
  void evidence_on(int64_t id);
  void evidence_off();

  const DaemonConfig& cfg_;
  Store& store_;
  Engine& engine_;
  Diversion* diversion_;
  TopTalkers& top_;
  std::function<uint32_t()> sample_every_;
  std::function<std::vector<Check>()> preflight_;
  std::unique_ptr<Notifier> notifier_;

  mutable std::mutex mu_;
  std::unique_ptr<Open> open_;
  PcapWriter pcap_;               // written from the sampler thread
  int64_t withdraw_pending_ = 0;  // a closed incident whose diversion is being withdrawn
};

}  // namespace floodgate
