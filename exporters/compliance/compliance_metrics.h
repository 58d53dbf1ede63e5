// The compliance exporter's metric families, all declared in one table (compliance_metrics.cpp) with their
// HELP text, rendered straight to exposition text from a store snapshot. Two renders, one per job:
//
//   RenderReports (job "reports", re-rendered only when the store's data changed):
//     estate_compliance_controls{host,profile,status,severity}       every status for every severity the
//                                                                     (host, profile) has, zeros included
//     estate_compliance_ratio{host,profile}                           passed /
//     (passed+failed+error+not_reviewed)
//     estate_compliance_control_status{host,profile,control,severity,status,waived} 1, controls not passing,
//                                                                     above the floor, in the allow-list
//     estate_compliance_control_info{profile,control,severity,title,doc_url} 1, one per control above
//     estate_compliance_waiver_expiry_timestamp_seconds{host,profile,control}
//     estate_compliance_report_timestamp_seconds{host,profile}, estate_compliance_report_duration_seconds
//     estate_compliance_host_info{host,report_url,platform,platform_release} 1
//     estate_compliance_profile_info{host,profile,version,status,tool,tool_version,format} 1
//   RenderFiles (job "scan", after every scan):
//     estate_compliance_report_age_seconds{host,profile}              as of the scan
//     estate_compliance_file_up{file}, estate_compliance_file_parse_errors_total{file},
//     estate_compliance_file_last_success_timestamp_seconds{file}
//
// A (host, profile) found in several kept reports (two profile sets sharing a profile) comes from the newest.
// Nothing is remembered between renders, so a control passing again, a deleted report and a host past
// retention leave no series behind. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compliance_config.h"
#include "compliance_model.h"
#include "estate/refresher.h"
#include "report_store.h"

namespace estate::compliance {

struct MetricsOptions {
  ControlSeries control_series = ControlSeries::kNotPassing;
  int severity_floor = 0;             // SeverityRank; 0 = every severity
  std::vector<std::string> profiles;  // allow-list for per-control series; empty = all
  std::string report_base_url;        // "" = relative
  std::map<std::string, std::string> doc_url_templates;
};
MetricsOptions MetricsOptionsFrom(const ComplianceConfig& config);

RenderedData RenderReports(const StoreSnapshot& snapshot, const MetricsOptions& options);
RenderedData RenderFiles(const StoreSnapshot& snapshot);

// Whether a control gets a control_status series.
// <base>/report/<host, percent-encoded>; "/report/<host>" without a base.
std::string ReportUrl(const std::string& base, const std::string& host);
// The control's own doc link, else the first of its ids (in order) with a template ({id} replaced by the
// percent-encoded id), else "".
std::string DocUrl(const Control& control, const std::map<std::string, std::string>& templates);
// Whether a control gets a control_status series.
bool WantsControlSeries(const Control& control, const MetricsOptions& options);

struct FamilyDef {
  std::string name;
  std::string type;
  std::string labels;  // comma-separated
  std::string help;
};
// Every family this exporter renders, in table order (for docs and tests).
std::vector<FamilyDef> FamilyDefs();

}  // namespace estate::compliance
