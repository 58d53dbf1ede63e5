// A small estate written for the tests (not recorded data): VMs with TLA host names, CMDB records and GoCD
// pipelines covering every case the join distinguishes —
//   xyz: redeploy in progress (xyz-web-a01, xyz-web-a02 on hv-hpe-01; xyz-web-b01 on hv-dell-01), no record;
//   pay: registered (owner and support group), one VM;
//   old: its record is retired (install_status 7), one VM;
//   iex: no colour (iex-fokpp01), no record, pipelines run by alice (3 runs) and bob (1);
//   new: registered, record without owner;
//   monitoring01, pgdb-main01: match no rule.
// Header-only; each function returns fresh values.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "registry_join.h"
#include "registry_model.h"

namespace estate::registry::test {

inline constexpr double kNow = 1764842400;  // 2025-12-04T10:00:00Z

inline Vm MakeVm(const std::string& name, const std::string& hypervisor,
                 const std::string& source = "nova:prod") {
  Vm vm;
  vm.id = "id-" + name;
  vm.name = name;
  vm.hypervisor = hypervisor;
  vm.project = "proj";
  vm.status = "ACTIVE";
  vm.source = source;
  return vm;
}

inline std::shared_ptr<const InventorySnapshot> Inventory() {
  auto inv = std::make_shared<InventorySnapshot>();
  inv->vms = {MakeVm("xyz-web-a01", "hv-hpe-01.example"),  MakeVm("xyz-web-a02", "hv-hpe-01.example"),
              MakeVm("xyz-web-b01", "hv-dell-01.example"), MakeVm("pay-api01", "hv-hpe-01.example"),
              MakeVm("old-app01", "hv-dell-01.example"),   MakeVm("iex-fokpp01", "hv-lenovo-01"),
              MakeVm("new-web01", "hv-hpe-01.example"),    MakeVm("monitoring01", "hv-hpe-01.example"),
              MakeVm("pgdb-main01", "hv-dell-01.example")};
  return inv;
}

inline CmdbRecord Record(const std::string& code, const std::string& status, bool registered,
                         const std::string& owner = "jdoe", const std::string& group = "Payments Ops") {
  CmdbRecord r;
  r.table = "cmdb_ci_business_app";
  r.sys_id = "sys-" + code;
  r.name = "App " + code;
  r.app_code = code;
  r.install_status = status;
  r.owner = owner;
  r.support_group = group;
  r.registered = registered;
  if (!registered) r.not_registered_reason = "install_status " + status + " (Retired)";
  return r;
}

inline std::shared_ptr<const CmdbSnapshot> Cmdb() {
  auto c = std::make_shared<CmdbSnapshot>();
  c->records = {Record("PAY", "1", true), Record("old", "7", false), Record("new", "1", true, "", "Web Ops")};
  c->server_support_groups = {{"hv-lenovo-01", "Lenovo Ops"}};
  return c;
}

inline PipelineRun Run(std::int64_t counter, double age_days, std::vector<std::string> users) {
  PipelineRun r;
  r.counter = counter;
  r.scheduled_unix = kNow - age_days * 86400;
  r.users = std::move(users);
  return r;
}

inline std::shared_ptr<const GocdSnapshot> Gocd() {
  auto g = std::make_shared<GocdSnapshot>();
  Pipeline build;
  build.name = "iex-build";
  build.group = "iex";
  build.runs = {Run(3, 1, {"alice", "bob"}), Run(2, 2, {"alice"}), Run(1, 40, {"carol"})};  // carol: too old
  Pipeline deploy;
  deploy.name = "deploy-prod";
  deploy.group = "IEX-deploys";
  deploy.runs = {Run(9, 0.5, {"alice"})};
  Pipeline other;
  other.name = "unrelated";
  other.group = "misc";
  other.runs = {Run(1, 0.1, {"mallory"})};
  g->pipelines = {build, deploy, other};
  return g;
}

inline std::shared_ptr<const std::vector<TeamRule>> Teams() {
  return std::make_shared<const std::vector<TeamRule>>(
      std::vector<TeamRule>{{"hv-hpe-*", "Compute HPE"}, {"hv-dell-01", "Compute Dell"}});
}

inline JoinInputs Inputs() {
  JoinInputs in;
  in.inventories = {Inventory()};
  in.cmdb = Cmdb();
  in.gocd = Gocd();
  in.team_rules = Teams();
  return in;
}

inline JoinOptions Options() {
  JoinOptions o;
  auto rule = NamingRule::Compile(kDefaultNamingRule);
  std::vector<NamingRule> rules;
  rules.push_back(std::move(*rule));
  o.rules = std::make_shared<const NamingRules>(std::move(rules));
  o.pipeline_patterns = {*CompilePipelinePattern("^{app}-"), *CompilePipelinePattern("^{app}-deploys$")};
  o.top_users = 5;
  return o;
}

}  // namespace estate::registry::test
