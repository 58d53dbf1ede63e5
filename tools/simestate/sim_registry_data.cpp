#include "sim_registry_data.h"

#include "estate/config.h"

namespace estate::simestate {
namespace {

// "age: 2h" -> now - 7200.
double Age(config::MapReader& r, const std::string& key, double now) {
  double age = 0;
  if (r.Has(key)) r.GetDuration(key, age, /*allow_zero=*/true);
  return now - age;
}

}  // namespace

Result<SimCmdbData> ParseSimCmdb(const std::string& yaml, const std::string& origin, double now) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin);
  config::MapReader root(*node, "", errors);
  SimCmdbData data;
  std::string domain;
  root.Get("domain", domain);
  for (auto& r : root.List("business_apps")) {
    SimBusinessApp a;
    r.Require("tla", a.tla);
    r.Require("name", a.name);
    r.Get("install_status", a.install_status);
    r.Get("owner", a.owner);
    r.Get("support_group", a.support_group);
    a.created_unix = Age(r, "created", now);
    r.Finish();
    data.apps.push_back(std::move(a));
  }
  for (auto& r : root.List("servers")) {
    SimServerRecord s;
    r.Require("name", s.name);
    r.Get("fqdn", s.fqdn);
    r.Get("support_group", s.support_group);
    r.Finish();
    if (s.fqdn.empty() && !domain.empty()) s.fqdn = s.name + "." + domain;
    data.servers.push_back(std::move(s));
  }
  root.Finish();
  if (!errors.empty()) return MakeError(errors.Text());
  return data;
}

Result<std::vector<SimPipelineData>> ParseSimPipelines(const std::string& yaml, const std::string& origin,
                                                       double now) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin);
  config::MapReader root(*node, "", errors);
  std::vector<SimPipelineData> out;
  for (auto& r : root.List("pipelines")) {
    SimPipelineData p;
    r.Require("name", p.name);
    r.Get("group", p.group);
    for (auto& rr : r.List("runs")) {
      SimPipelineRun run;
      run.scheduled_unix = Age(rr, "age", now);
      rr.Get("forced_by", run.forced_by);
      rr.Get("committers", run.committers);
      rr.Get("stage_approver", run.stage_approver);
      rr.Finish();
      if (!p.runs.empty() && run.scheduled_unix < p.runs.back().scheduled_unix) {
        rr.Error("age", "runs are listed oldest first");
      }
      p.runs.push_back(std::move(run));
    }
    if (r.Has("generate")) {
      config::MapReader g = r.Map("generate");
      long count = 0;
      g.Require("count", count);
      g.GetDuration("spacing", p.generate_spacing_seconds);
      g.Get("users", p.generate_users);
      g.Finish();
      if (count < 1 || count > 10000000) g.Error("count", "must be between 1 and 10000000");
      if (p.generate_users.empty()) g.Error("users", "name at least one user");
      p.generate_count = count;
    }
    r.Finish();
    out.push_back(std::move(p));
  }
  root.Finish();
  if (!errors.empty()) return MakeError(errors.Text());
  return out;
}

Result<SimCmdbData> LoadSimCmdb(const std::string& path, double now) {
  auto text = config::ReadFile(path);
  if (!text) return MakeError(text.error());
  return ParseSimCmdb(*text, path, now);
}

Result<std::vector<SimPipelineData>> LoadSimPipelines(const std::string& path, double now) {
  auto text = config::ReadFile(path);
  if (!text) return MakeError(text.error());
  return ParseSimPipelines(*text, path, now);
}

}  // namespace estate::simestate
