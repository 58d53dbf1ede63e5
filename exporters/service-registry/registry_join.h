// The join of the service-registry exporter: VMs folded into apps through the naming rules, apps matched to
// their CMDB records, the hypervisor teams and the GoCD pipeline users of each app. Pure functions over the
// sources' latest snapshots; thread-safe.
//
//   - Apps: every VM whose host name matches a rule belongs to the app of its TLA, in the colour the rule
//   read
//     ("a", "b" or ""): a redeploy in progress (xyza-* and xyzb-* both up) is ONE app with two colours. A VM
//     listed by two sources under the same host name (Nova and a file) counts once (the first source's).
//     VMs matching no rule are counted and listed (RegistryView::unmatched), never dropped silently.
//   - Registry: a record matches an app when its app code equals the TLA (case-insensitive). The app is
//     registered when one of its records is (registry_model.h: install_status not retired/cancelled); else
//     the reason is the record's ("install_status 7 (Retired)") or "no record". Without CMDB data yet
//     (ServiceNow configured, never collected) registry_known is false: the apps are listed, but nothing is
//     said about registration (no false "new offenders" at start-up).
//   - Hypervisor teams: per VM, the sources in the configured order (file patterns, Nova aggregate metadata,
//     the ServiceNow server record's support group); the first that names a team for the VM's hypervisor
//     wins; "unknown" when none does. An app's teams are the distinct teams of its VMs in first-seen order.
//   - Pipelines: a pipeline belongs to an app when one of the patterns (with {app} standing for the TLA)
//     matches its name or its group. Its runs inside the window count per user; the app's users are the top
//     K, most runs first (ties by name).
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "estate/result.h"
#include "naming_rule.h"
#include "registry_model.h"

namespace estate::registry {

// One line of the hypervisor teams file: a glob (fnmatch, matched against the lower-cased hypervisor name,
// full and short) and the team.
struct TeamRule {
  std::string pattern;
  std::string team;
};

// teams:
//   - {hypervisor: 'hv-hpe-*', team: compute-hpe}
//   - {hypervisor: 'hv-dell-*.example', team: compute-dell}
// or, shorter, a mapping of glob -> team (in file order):
//   "hv-hpe-*": compute-hpe
// The first matching glob wins.
Result<std::vector<TeamRule>> ParseTeamsFile(const std::string& text, const std::string& origin);
Result<std::vector<TeamRule>> LoadTeamsFile(const std::string& path);

// An app-pipeline pattern with {app} replaced by a capturing group for a run of letters and digits
// ([A-Za-z0-9]+, matched case-insensitively); the TLA it captured names the app. An error when the pattern
// has no {app} or does not compile. Never throws.
Result<std::regex> CompilePipelinePattern(const std::string& pattern);
// The same pattern for choosing which pipelines to fetch at all (GocdOptions::pipeline_patterns): {app}
// becomes [A-Za-z0-9]+.
std::string PipelineFetchPattern(const std::string& pattern);

struct JoinInputs {
  std::vector<std::shared_ptr<const InventorySnapshot>> inventories;  // in source order (Nova clouds, files)
  bool registry_configured = true;
  std::shared_ptr<const CmdbSnapshot> cmdb;                 // null: not collected yet
  std::shared_ptr<const GocdSnapshot> gocd;                 // null: none (yet)
  std::shared_ptr<const std::vector<TeamRule>> team_rules;  // null: no teams file (yet)
  // Lower-cased hypervisor name (short and full) -> teams from Nova aggregate metadata.
  std::map<std::string, std::vector<TeamHint>> aggregate_teams;
};

struct JoinOptions {
  std::shared_ptr<const NamingRules> rules;
  std::vector<std::string> team_order = {"file", "aggregate", "servicenow"};
  std::vector<std::regex> pipeline_patterns;  // CompilePipelinePattern
  int top_users = 5;
  double window_seconds = 30 * 86400.0;
};

struct RegistryView {
  std::vector<App> apps;        // by TLA
  std::vector<Vm> unmatched;    // by name
  std::size_t vms = 0;          // distinct VMs seen
  bool registry_known = false;  // CMDB data present, or no registry configured
  bool registry_configured = true;
  // app -> team -> VMs ("unknown" for VMs without a team)
  std::map<std::string, std::map<std::string, int>> team_vms;
  std::shared_ptr<const CmdbSnapshot> cmdb;  // keeps App::record valid
  std::shared_ptr<const GocdSnapshot> gocd;
  double generated_unix = 0;

  const App* Find(const std::string& tla) const;
};

RegistryView Join(const JoinInputs& inputs, const JoinOptions& options, double now);

// The team of one hypervisor by the configured order, or "" when no source names one.
std::string HypervisorTeam(const std::string& hypervisor, const JoinInputs& inputs,
                           const std::vector<std::string>& order);

}  // namespace estate::registry
