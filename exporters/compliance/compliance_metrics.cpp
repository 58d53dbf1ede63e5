#include "compliance_metrics.h"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>
#include <utility>

#include "estate/rendered_writer.h"
#include "estate/url.h"

namespace estate::compliance {
namespace {

enum Id {
  kControls,
  kRatio,
  kControlStatus,
  kControlInfo,
  kWaiverExpiry,
  kReportTimestamp,
  kReportDuration,
  kHostInfo,
  kProfileInfo,
  kReportAge,
  kFileUp,
  kFileParseErrors,
  kFileLastSuccess,
  kFamilyCount
};

struct Def {
  Id id;
  const char* name;
  const char* type;
  const char* labels;
  const char* help;
};

// The one table of every family this exporter renders (the push counters are the push handler's).
constexpr std::array<Def, kFamilyCount> kDefs = {{
    {kControls, "estate_compliance_controls", "gauge", "host,profile,status,severity",
     "Leaf controls of the latest report of a host and profile, by status (passed, failed, error, "
     "not_applicable, not_reviewed, waived) and severity. Every status of every severity the profile has is "
     "present, zeros included."},
    {kRatio, "estate_compliance_ratio", "gauge", "host,profile",
     "Compliance ratio as MITRE SAF defines it: passed / (passed + failed + error + not_reviewed). Absent "
     "when "
     "that sum is 0."},
    {kControlStatus, "estate_compliance_control_status", "gauge",
     "host,profile,control,severity,status,waived",
     "1 for each control that is not passing (failed, error, not_reviewed, waived), above the configured "
     "severity floor and in the profile allow-list. waived=\"true\" on a failed control means a waiver "
     "applies "
     "but the control was run and still fails."},
    {kControlInfo, "estate_compliance_control_info", "gauge", "profile,control,severity,title,doc_url",
     "1 for each control that has a control_status series: its title and documentation link (from the "
     "control's refs and tags, else links.doc_url_templates)."},
    {kWaiverExpiry, "estate_compliance_waiver_expiry_timestamp_seconds", "gauge", "host,profile,control",
     "Unix time when the waiver of a control expires (expired waivers included: the control then evaluates "
     "normally)."},
    {kReportTimestamp, "estate_compliance_report_timestamp_seconds", "gauge", "host,profile",
     "The report's own time (its end time; the file's mtime when the report has none)."},
    {kReportDuration, "estate_compliance_report_duration_seconds", "gauge", "host,profile",
     "How long the scan that produced the report took, when the report says."},
    {kHostInfo, "estate_compliance_host_info", "gauge", "host,report_url,platform,platform_release",
     "1 for each host with a report: its HTML report URL and platform."},
    {kProfileInfo, "estate_compliance_profile_info", "gauge",
     "host,profile,version,status,tool,tool_version,format",
     "1 for each profile of a host's latest report. status: loaded, skipped or failed (a profile that failed "
     "to "
     "load or was skipped)."},
    {kReportAge, "estate_compliance_report_age_seconds", "gauge", "host,profile",
     "Age of the latest report of a host and profile as of the last scan."},
    {kFileUp, "estate_compliance_file_up", "gauge", "file",
     "1 when the last read of a result file parsed, 0 when it did not (its last good report is kept)."},
    {kFileParseErrors, "estate_compliance_file_parse_errors_total", "counter", "file",
     "Reads of a result file that failed (each failing version counted once) since start."},
    {kFileLastSuccess, "estate_compliance_file_last_success_timestamp_seconds", "gauge", "file",
     "Unix time of the last read of a result file that parsed (0 = never since start)."},
}};

class Writer : public RenderedWriter {
 public:
  using RenderedWriter::RenderedWriter;
  void Begin(Id id) { RenderedWriter::Begin(kDefs[id].name, kDefs[id].help, kDefs[id].type); }
};

bool Passing(Status s) { return s == Status::kPassed || s == Status::kNotApplicable; }

// One (host, profile) and the report it comes from: the newest report that has the profile.
struct Row {
  const StoredReport* report = nullptr;
  const std::string* profile = nullptr;
  const StoredReport::Counts* counts = nullptr;  // null: a listed profile without leaf controls
};

// Every (host, profile) of the snapshot, sorted by host then profile, each from the newest report having it
// (snapshot.reports is sorted by host, newest first). Profiles are those with leaf controls and those listed.
std::vector<Row> Rows(const StoreSnapshot& snap) {
  std::vector<Row> rows;
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& r : snap.reports) {
    for (const auto& c : r->counts) {
      if (seen.emplace(r->host, c.profile).second) rows.push_back({r.get(), &c.profile, &c});
    }
    for (const auto& p : r->report.profiles) {
      if (seen.emplace(r->host, p.name).second) rows.push_back({r.get(), &p.name, nullptr});
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.report->host, *a.profile) < std::tie(b.report->host, *b.profile);
  });
  return rows;
}

}  // namespace

MetricsOptions MetricsOptionsFrom(const ComplianceConfig& c) {
  MetricsOptions o;
  o.control_series = c.control_series;
  o.severity_floor = c.severity_floor;
  o.profiles = c.profiles;
  o.report_base_url = c.report_base_url;
  o.doc_url_templates = c.doc_url_templates;
  return o;
}

std::string ReportUrl(const std::string& base, const std::string& host) {
  return base + "/report/" + url::EncodeComponent(host);
}

std::string DocUrl(const Control& control, const std::map<std::string, std::string>& templates) {
  if (!control.doc_url.empty()) return control.doc_url.str();
  for (const auto& [kind, id] : control.ids) {
    auto it = templates.find(kind);
    if (it == templates.end() || id.empty()) continue;
    std::string out = it->second;
    const std::string encoded = url::EncodeComponent(id);
    for (std::size_t pos = out.find("{id}"); pos != std::string::npos;
         pos = out.find("{id}", pos + encoded.size())) {
      out.replace(pos, 4, encoded);
    }
    return out;
  }
  return "";
}

bool WantsControlSeries(const Control& c, const MetricsOptions& o) {
  if (o.control_series == ControlSeries::kNone || Passing(c.status)) return false;
  if (o.severity_floor > 0 && SeverityRank(c.severity) < o.severity_floor) return false;
  if (!o.profiles.empty() && std::find(o.profiles.begin(), o.profiles.end(), c.profile) == o.profiles.end()) {
    return false;
  }
  return true;
}

RenderedData RenderReports(const StoreSnapshot& snap, const MetricsOptions& options) {
  RenderedData data;
  data.families.reserve(kReportAge);
  const std::vector<Row> rows = Rows(snap);
  Writer w(data);

  w.Begin(kControls);
  for (const Row& row : rows) {
    if (row.counts == nullptr) continue;
    for (Severity sev : kAllSeverities) {
      int total = 0;
      for (Status st : kAllStatuses) total += row.counts->n[static_cast<int>(st)][static_cast<int>(sev)];
      if (total == 0) continue;
      for (Status st : kAllStatuses) {
        w.Sample({{"host", row.report->host},
                  {"profile", *row.profile},
                  {"status", StatusName(st)},
                  {"severity", SeverityName(sev)}},
                 row.counts->n[static_cast<int>(st)][static_cast<int>(sev)]);
      }
    }
  }

  w.Begin(kRatio);
  for (const Row& row : rows) {
    if (row.counts == nullptr) continue;
    auto sum = [&](Status st) {
      int n = 0;
      for (int v : row.counts->n[static_cast<int>(st)]) n += v;
      return n;
    };
    const int passed = sum(Status::kPassed);
    const int denominator = passed + sum(Status::kFailed) + sum(Status::kError) + sum(Status::kNotReviewed);
    if (denominator == 0) continue;
    w.Sample({{"host", row.report->host}, {"profile", *row.profile}},
             static_cast<double>(passed) / denominator);
  }

  // The per-control series of each row, and the controls they name (newest report's title and link).
  struct Info {
    Severity severity;
    std::string title, doc_url;
  };
  std::map<std::pair<std::string, std::string>, Info> infos;
  w.Begin(kControlStatus);
  for (const Row& row : rows) {
    if (row.counts == nullptr) continue;
    std::set<std::string_view> done;
    for (const Control& c : row.report->report.controls) {
      if (c.profile != *row.profile || !WantsControlSeries(c, options) || !done.insert(c.id).second) continue;
      w.Sample({{"host", row.report->host},
                {"profile", c.profile},
                {"control", c.id},
                {"severity", SeverityName(c.severity)},
                {"status", StatusName(c.status)},
                {"waived", c.waived ? "true" : "false"}},
               1);
      auto key = std::make_pair(c.profile, c.id);
      if (infos.find(key) == infos.end()) {
        infos.emplace(std::move(key), Info{c.severity, c.title.str(), DocUrl(c, options.doc_url_templates)});
      }
    }
  }
  w.Begin(kControlInfo);
  for (const auto& [key, info] : infos) {
    w.Sample({{"profile", key.first},
              {"control", key.second},
              {"severity", SeverityName(info.severity)},
              {"title", info.title},
              {"doc_url", info.doc_url}},
             1);
  }

  w.Begin(kWaiverExpiry);
  for (const Row& row : rows) {
    if (row.counts == nullptr) continue;
    std::set<std::string_view> done;
    for (const Control& c : row.report->report.controls) {
      if (c.profile != *row.profile || c.waiver_expires_unix <= 0 || !done.insert(c.id).second) continue;
      w.Sample({{"host", row.report->host}, {"profile", c.profile}, {"control", c.id}},
               c.waiver_expires_unix);
    }
  }

  w.Begin(kReportTimestamp);
  for (const Row& row : rows) {
    w.Sample({{"host", row.report->host}, {"profile", *row.profile}}, row.report->time_unix);
  }
  w.Begin(kReportDuration);
  for (const Row& row : rows) {
    if (row.report->report.duration_seconds < 0) continue;
    w.Sample({{"host", row.report->host}, {"profile", *row.profile}}, row.report->report.duration_seconds);
  }

  w.Begin(kHostInfo);
  {
    const StoredReport* last = nullptr;
    for (const auto& r : snap.reports) {  // by host, newest first: the first of each host
      if (last != nullptr && last->host == r->host) continue;
      last = r.get();
      w.Sample({{"host", r->host},
                {"report_url", ReportUrl(options.report_base_url, r->host)},
                {"platform", r->report.platform_name},
                {"platform_release", r->report.platform_release}},
               1);
    }
  }

  w.Begin(kProfileInfo);
  for (const Row& row : rows) {
    const Report& rep = row.report->report;
    const Profile* p = nullptr;
    for (const auto& candidate : rep.profiles) {
      if (candidate.name == *row.profile) {
        p = &candidate;
        break;
      }
    }
    w.Sample({{"host", row.report->host},
              {"profile", *row.profile},
              {"version", p != nullptr ? std::string_view(p->version) : std::string_view()},
              {"status", p != nullptr && !p->status.empty() ? std::string_view(p->status) : "loaded"},
              {"tool", rep.tool},
              {"tool_version", rep.tool_version},
              {"format", FormatName(rep.format)}},
             1);
  }
  w.Finish();
  return data;
}

RenderedData RenderFiles(const StoreSnapshot& snap) {
  RenderedData data;
  Writer w(data);
  w.Begin(kReportAge);
  for (const Row& row : Rows(snap)) {
    w.Sample({{"host", row.report->host}, {"profile", *row.profile}},
             std::max(0.0, snap.scan_unix - row.report->time_unix));
  }
  w.Begin(kFileUp);
  for (const FileState& f : snap.files) w.Sample({{"file", f.path}}, f.up ? 1 : 0);
  w.Begin(kFileParseErrors);
  for (const FileState& f : snap.files) w.Sample({{"file", f.path}}, f.parse_errors);
  w.Begin(kFileLastSuccess);
  for (const FileState& f : snap.files) w.Sample({{"file", f.path}}, f.last_success_unix);
  w.Finish();
  return data;
}

std::vector<FamilyDef> FamilyDefs() {
  std::vector<FamilyDef> out;
  for (const Def& d : kDefs) out.push_back({d.name, d.type, d.labels, d.help});
  return out;
}

}  // namespace estate::compliance
