// The preparation checklist (PROCEDURE.md article 4, attachment 1) as checks on this
// host and config. Pure: the daemon gathers the facts, this judges them.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "diversion.h"

namespace floodgate {

enum class CheckResult { kPass, kWarn, kFail };

struct Check {
  std::string name;
  CheckResult result = CheckResult::kPass;
  std::string detail;
  std::string fix;
};

struct PreflightFacts {
  struct Iface {
    std::string name;
    bool attached = false;
    bool native = false;
    bool dispatcher = false;
  };
  std::vector<Iface> interfaces;
  fg_config datapath{};
  std::vector<ProviderStatus> providers;  // with their session states
  bool metrics_reachable = false;
  bool detection_on = false;
  std::vector<std::string> unlearned;  // interfaces whose baseline for this hour is not learned
  uint32_t learn_seconds = 0;
};

std::vector<Check> preflight(const DaemonConfig& cfg, const PreflightFacts& facts);

}  // namespace floodgate
