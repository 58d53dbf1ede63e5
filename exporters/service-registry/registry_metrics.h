// The service-registry exporter's metric families (names and labels as docs/service-registry.md lists them).
// From the join (RenderView):
//   estate_registry_app_vms{app,colour}                      VMs per app and colour ("a", "b", "")
//   estate_registry_app_registered{app}                      1 registered, 0 not (absent until CMDB data
//   exists) estate_registry_app_info{app,sys_id,name,owner,support_group,install_status}   1 per app with a
//   CMDB record estate_registry_unregistered_app_info{app,reason,hypervisor_teams,pipeline_users}   1 per
//   unregistered app;
//       teams and users comma-joined, users at most top_users, most runs first
//   estate_registry_unregistered_app_first_seen_timestamp_seconds{app}
//   estate_registry_unregistered_apps, estate_registry_apps, estate_registry_vms,
//   estate_registry_unmatched_vms estate_registry_app_hypervisor_team_vms{app,team}        ("unknown" when no
//   source names a team) estate_registry_registered_app_missing_owner{app,field}  field = owner |
//   support_group
// From the source jobs (SourceFamilies): estate_registry_source_partial{source} and the request counters
//   estate_registry_gocd_requests_total, estate_registry_servicenow_requests_total{status},
//   estate_registry_servicenow_rate_limited_total.
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>

#include "estate/metrics.h"
#include "registry_join.h"

namespace estate::registry {

metrics::Families RenderView(const RegistryView& view);

// The partial flag of a source job (1 when its last refresh kept part of the old data).
metrics::Family SourcePartialFamily(const std::string& source, bool partial);

// Request counters of the upstream clients since start.
struct RequestCounters {
  double gocd_requests = 0;
  std::map<std::string, double> servicenow_requests;  // by HTTP status ("200", "429", "error", ...)
  double servicenow_rate_limited = 0;
};
metrics::Families GocdCounterFamilies(const RequestCounters& counters);
metrics::Families ServiceNowCounterFamilies(const RequestCounters& counters);

// "a,b,c"
std::string CommaJoin(const std::vector<std::string>& items);

}  // namespace estate::registry
