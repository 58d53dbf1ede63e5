#include "registry_join.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "estate/config.h"
#include "estate/regex.h"

namespace estate::registry {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string ShortName(const std::string& s) { return s.substr(0, s.find('.')); }

// Regex metacharacters outside {app} are the user's; only the placeholder is replaced.
std::string ReplaceApp(const std::string& pattern, const std::string& with) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 5, "{app}") == 0) {
      out += with;
      i += 5;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<TeamRule>> ParseTeamsFile(const std::string& text, const std::string& origin) {
  auto node = config::ParseYaml(text, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, config::ParseOptions{false});
  std::vector<TeamRule> rules;
  // The short form: a mapping of glob -> team, in file order.
  if (node->IsMap() && !node->IsNull() && !(*node)["teams"]) {
    for (auto it = node->begin(); it != node->end(); ++it) {
      TeamRule t;
      if (!config::KeyText(it->first, &t.pattern) || !it->second.IsScalar() || t.pattern.empty()) {
        errors.Add(it->first.Mark(), t.pattern, "must be 'hypervisor glob': team");
        continue;
      }
      t.pattern = Lower(t.pattern);
      t.team = it->second.Scalar();
      if (t.team.empty()) errors.Add(it->second.Mark(), t.pattern, "the team must not be empty");
      rules.push_back(std::move(t));
    }
    if (!errors.empty()) return MakeError(errors.Text());
    return rules;
  }
  config::MapReader root(*node, "", errors);
  if (!root.Has("teams")) root.Error("teams", "is required (a list of {hypervisor, team})");
  for (auto& r : root.List("teams")) {
    TeamRule t;
    r.Require("hypervisor", t.pattern);
    r.Require("team", t.team);
    r.Finish();
    if (r.Has("hypervisor") && t.pattern.empty()) r.Error("hypervisor", "must not be empty");
    if (r.Has("team") && t.team.empty()) r.Error("team", "must not be empty");
    t.pattern = Lower(t.pattern);
    rules.push_back(std::move(t));
  }
  root.Finish();
  if (!errors.empty()) return MakeError(errors.Text());
  return rules;
}

Result<std::vector<TeamRule>> LoadTeamsFile(const std::string& path) {
  auto text = config::ReadFile(path);
  if (!text) return MakeError(text.error());
  return ParseTeamsFile(*text, path);
}

Result<std::regex> CompilePipelinePattern(const std::string& pattern) {
  if (pattern.find("{app}") == std::string::npos) return MakeError("has no {app}");
  if (pattern.size() > 1024) return MakeError("longer than 1024 characters");
  const std::string translated = ReplaceApp(pattern, "([A-Za-z0-9]+)");
  auto re = CompileRegex(translated, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
  if (!re) return MakeError("invalid regex: " + re.error());
  return re;
}

std::string PipelineFetchPattern(const std::string& pattern) { return ReplaceApp(pattern, "[A-Za-z0-9]+"); }

const App* RegistryView::Find(const std::string& tla) const {
  auto it = std::lower_bound(apps.begin(), apps.end(), tla,
                             [](const App& a, const std::string& t) { return a.tla < t; });
  return it != apps.end() && it->tla == tla ? &*it : nullptr;
}

std::string HypervisorTeam(const std::string& hypervisor, const JoinInputs& in,
                           const std::vector<std::string>& order) {
  if (hypervisor.empty()) return "";
  const std::string full = Lower(hypervisor);
  const std::string shrt = ShortName(full);
  for (const auto& source : order) {
    if (source == "file" && in.team_rules) {
      for (const auto& rule : *in.team_rules) {
        if (::fnmatch(rule.pattern.c_str(), full.c_str(), 0) == 0 ||
            ::fnmatch(rule.pattern.c_str(), shrt.c_str(), 0) == 0) {
          return rule.team;
        }
      }
    } else if (source == "aggregate") {
      for (const auto& key : {full, shrt}) {
        auto it = in.aggregate_teams.find(key);
        if (it != in.aggregate_teams.end() && !it->second.empty()) return it->second.front().team;
      }
    } else if (source == "servicenow" && in.cmdb) {
      for (const auto& key : {full, shrt}) {
        auto it = in.cmdb->server_support_groups.find(key);
        if (it != in.cmdb->server_support_groups.end() && !it->second.empty()) return it->second;
      }
    }
  }
  return "";
}

RegistryView Join(const JoinInputs& in, const JoinOptions& options, double now) {
  RegistryView view;
  view.generated_unix = now;
  view.cmdb = in.cmdb;
  view.gocd = in.gocd;
  view.registry_configured = in.registry_configured;
  view.registry_known = !in.registry_configured || in.cmdb != nullptr;

  // Apps from VMs, each VM once by host name.
  std::map<std::string, App> apps;
  std::unordered_set<std::string> seen;
  std::unordered_map<std::string, std::string> team_cache;  // hypervisor -> team
  for (const auto& inv : in.inventories) {
    if (!inv) continue;
    for (const auto& vm : inv->vms) {
      if (!seen.insert(Lower(vm.name)).second) continue;
      ++view.vms;
      auto match = options.rules ? options.rules->Match(vm.name) : std::nullopt;
      if (!match) {
        view.unmatched.push_back(vm);
        continue;
      }
      App& app = apps[match->app];
      app.tla = match->app;
      app.colours[match->colour].push_back(vm);
      auto cached = team_cache.find(vm.hypervisor);
      if (cached == team_cache.end()) {
        cached =
            team_cache.emplace(vm.hypervisor, HypervisorTeam(vm.hypervisor, in, options.team_order)).first;
      }
      const std::string team = cached->second.empty() ? "unknown" : cached->second;
      if (++view.team_vms[app.tla][team] == 1) app.hypervisor_teams.push_back(team);
    }
  }
  std::sort(view.unmatched.begin(), view.unmatched.end(),
            [](const Vm& a, const Vm& b) { return a.name < b.name; });
  for (auto& [tla, app] : apps) {
    for (auto& [colour, vms] : app.colours) {
      std::sort(vms.begin(), vms.end(), [](const Vm& a, const Vm& b) { return a.name < b.name; });
    }
  }

  // Registry: a registered record wins over a retired one of the same app code.
  if (in.cmdb) {
    for (const auto& rec : in.cmdb->records) {
      auto it = apps.find(Lower(rec.app_code));
      if (it == apps.end()) continue;
      App& app = it->second;
      if (app.record == nullptr || (rec.registered && !app.record->registered)) app.record = &rec;
    }
  }
  for (auto& [tla, app] : apps) {
    if (!view.registry_known) {
      app.not_registered_reason = "registry not collected yet";
    } else if (app.record != nullptr && app.record->registered) {
      app.registered = true;
    } else if (app.record != nullptr) {
      app.not_registered_reason = app.record->not_registered_reason.empty()
                                      ? "record not registered"
                                      : app.record->not_registered_reason;
    } else {
      app.not_registered_reason = in.registry_configured ? "no record" : "no registry configured";
    }
  }

  // Pipelines: each pipeline's name and group against every pattern; the captured TLA names the app.
  if (in.gocd) {
    const double since = now - options.window_seconds;
    std::map<std::string, std::map<std::string, int>> users;  // app -> user -> runs
    for (const auto& p : in.gocd->pipelines) {
      std::set<std::string> owners;
      for (const auto& re : options.pipeline_patterns) {
        for (const std::string* text : {&p.name, &p.group}) {
          std::smatch m;
          bool found = false;
          try {
            found = std::regex_search(*text, m, re);
          } catch (const std::exception&) {
            found = false;
          }
          if (found && m.size() > 1 && m[1].matched) owners.insert(Lower(m[1].str()));
        }
      }
      for (const auto& tla : owners) {
        auto it = apps.find(tla);
        if (it == apps.end()) continue;
        it->second.pipelines.push_back(p.name);
        for (const auto& run : p.runs) {
          if (run.scheduled_unix < since) continue;
          for (const auto& u : run.users) ++users[tla][u];
        }
      }
    }
    for (auto& [tla, counts] : users) {
      App& app = apps[tla];
      for (const auto& [user, runs] : counts) app.pipeline_users.push_back({user, runs});
      std::sort(app.pipeline_users.begin(), app.pipeline_users.end(),
                [](const UserCount& a, const UserCount& b) {
                  return a.runs != b.runs ? a.runs > b.runs : a.user < b.user;
                });
      if (app.pipeline_users.size() > static_cast<std::size_t>(std::max(0, options.top_users))) {
        app.pipeline_users.resize(static_cast<std::size_t>(std::max(0, options.top_users)));
      }
    }
    for (auto& [tla, app] : apps) std::sort(app.pipelines.begin(), app.pipelines.end());
  }

  view.apps.reserve(apps.size());
  for (auto& [tla, app] : apps) view.apps.push_back(std::move(app));
  return view;
}

}  // namespace estate::registry
