#include "registry_metrics.h"

namespace estate::registry {

std::string CommaJoin(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

metrics::Families RenderView(const RegistryView& view) {
  auto vms =
      metrics::Gauge("estate_registry_app_vms", "VMs of an app by deployment colour (a, b, or empty).");
  auto registered = metrics::Gauge("estate_registry_app_registered",
                                   "1 when the app has a registered CMDB record, 0 when not.");
  auto info =
      metrics::Gauge("estate_registry_app_info", "The CMDB record of an app (1 per app with a record).");
  auto unreg =
      metrics::Gauge("estate_registry_unregistered_app_info",
                     "An app with VMs and no registered CMDB record, with owner hints: the teams owning "
                     "its hypervisors and its top GoCD pipeline users (comma-separated).");
  auto first_seen = metrics::Gauge("estate_registry_unregistered_app_first_seen_timestamp_seconds",
                                   "Unix time an unregistered app was first seen unregistered (kept across "
                                   "restarts).");
  auto unreg_count =
      metrics::Gauge("estate_registry_unregistered_apps", "Apps with VMs and no registered record.");
  auto apps = metrics::Gauge("estate_registry_apps", "Apps with VMs (registered or not).");
  auto team_vms = metrics::Gauge("estate_registry_app_hypervisor_team_vms",
                                 "VMs of an app by the team owning their hypervisor (unknown when none).");
  auto unmatched =
      metrics::Gauge("estate_registry_unmatched_vms", "VMs whose host name matches no naming rule.");
  auto all_vms = metrics::Gauge("estate_registry_vms", "VMs seen in every inventory source.");
  auto missing =
      metrics::Gauge("estate_registry_registered_app_missing_owner",
                     "1 when a registered app's record has no owner (field=owner) or no support group "
                     "(field=support_group).");
  double unregistered = 0;
  for (const auto& app : view.apps) {
    for (const auto& [colour, list] : app.colours) {
      metrics::Add(vms, {{"app", app.tla}, {"colour", colour}}, static_cast<double>(list.size()));
    }
    if (auto t = view.team_vms.find(app.tla); t != view.team_vms.end()) {
      for (const auto& [team, n] : t->second) metrics::Add(team_vms, {{"app", app.tla}, {"team", team}}, n);
    }
    if (app.record != nullptr) {
      const CmdbRecord& r = *app.record;
      metrics::Add(info,
                   {{"app", app.tla},
                    {"sys_id", r.sys_id},
                    {"name", r.name},
                    {"owner", r.owner},
                    {"support_group", r.support_group},
                    {"install_status", r.install_status}},
                   1);
    }
    if (!view.registry_known) continue;
    metrics::Add(registered, {{"app", app.tla}}, app.registered ? 1 : 0);
    if (app.registered) {
      if (app.record->owner.empty()) metrics::Add(missing, {{"app", app.tla}, {"field", "owner"}}, 1);
      if (app.record->support_group.empty())
        metrics::Add(missing, {{"app", app.tla}, {"field", "support_group"}}, 1);
      continue;
    }
    ++unregistered;
    std::vector<std::string> users;
    for (const auto& u : app.pipeline_users) users.push_back(u.user);
    metrics::Add(unreg,
                 {{"app", app.tla},
                  {"reason", app.not_registered_reason},
                  {"hypervisor_teams", CommaJoin(app.hypervisor_teams)},
                  {"pipeline_users", CommaJoin(users)}},
                 1);
    if (app.first_seen_unregistered_unix > 0) {
      metrics::Add(first_seen, {{"app", app.tla}}, app.first_seen_unregistered_unix);
    }
  }
  if (view.registry_known) metrics::Add(unreg_count, {}, unregistered);
  metrics::Add(apps, {}, static_cast<double>(view.apps.size()));
  metrics::Add(unmatched, {}, static_cast<double>(view.unmatched.size()));
  metrics::Add(all_vms, {}, static_cast<double>(view.vms));
  return {vms, registered, info, unreg, first_seen, unreg_count, apps, team_vms, unmatched, all_vms, missing};
}

metrics::Family SourcePartialFamily(const std::string& source, bool partial) {
  auto f = metrics::Gauge("estate_registry_source_partial",
                          "1 when the source's last refresh failed in part and kept part of its old data.");
  metrics::Add(f, {{"source", source}}, partial ? 1 : 0);
  return f;
}

metrics::Families GocdCounterFamilies(const RequestCounters& c) {
  auto f = metrics::Counter("estate_registry_gocd_requests_total", "Requests sent to GoCD since start.");
  metrics::Add(f, {}, c.gocd_requests);
  return {f};
}

metrics::Families ServiceNowCounterFamilies(const RequestCounters& c) {
  auto requests =
      metrics::Counter("estate_registry_servicenow_requests_total",
                       "Requests sent to ServiceNow since start, by HTTP status (error: no answer).");
  for (const auto& [status, n] : c.servicenow_requests) metrics::Add(requests, {{"status", status}}, n);
  auto limited = metrics::Counter("estate_registry_servicenow_rate_limited_total",
                                  "ServiceNow answers of 429 Too Many Requests since start.");
  metrics::Add(limited, {}, c.servicenow_rate_limited);
  return {requests, limited};
}

}  // namespace estate::registry
